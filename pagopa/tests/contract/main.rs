//! One contract suite for the durable stores of the `pagopa` crate: the same test functions
//! run against every backend (memory, SQLite and PostgreSQL for [`ReceiptStore`]; memory,
//! SQLite and PostgreSQL for [`SharedSequenceBackend`]), plus multi-process and fault tests
//! on PostgreSQL.
//!
//! PostgreSQL tests need `PA_TEST_POSTGRES_URL` (each makes its own database); without it they
//! are skipped with a message, except when `CI` is set: then they fail.
#![allow(clippy::unwrap_used)]

mod faults;
mod processes;
mod receipts;
mod sequence;

use chrono::NaiveDate;
use pa_types::{Amount, OrganizationFiscalCode};
use pagopa::node::*;
use pagopa::{NoticeNumber, SegregationCode};

pub(crate) const EC: &str = "80016350821";
pub(crate) const EC2: &str = "00488410010";

pub(crate) fn org(fc: &str) -> OrganizationFiscalCode {
    fc.parse().unwrap()
}

pub(crate) fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

/// A receipt of creditor `fc` for notice base `base` paid on `date` (`paymentDateTime`).
pub(crate) fn receipt(fc: &str, base: u64, id: &str, date: Option<NaiveDate>) -> Receipt {
    let notice = NoticeNumber::new_aux3(SegregationCode::new(1).unwrap(), base).unwrap();
    Receipt {
        version: ReceiptVersion::V2,
        receipt_id: id.into(),
        creditor_reference_id: notice.iuv().to_string(),
        notice_number: notice,
        fiscal_code: org(fc),
        outcome: Outcome::Ok,
        payment_amount: Amount::from_cents(12050),
        description: "TARI 2026".into(),
        company_name: "Comune di Prova".into(),
        office_name: None,
        debtor: Subject::new(EntityType::F, "RSSMRA80A01H501U", "Mario Rossi"),
        transfers: vec![ReceiptTransfer {
            id_transfer: 1,
            amount: Amount::from_cents(12050),
            fiscal_code_pa: org(fc),
            company_name: None,
            target: ReceiptTransferTarget::Iban("IT60X0542811101000000123456".into()),
            remittance_information: "TARI 2026".into(),
            transfer_category: "9/0101101IM/".into(),
            metadata: vec![],
        }],
        id_psp: "BCITITMM".into(),
        psp_fiscal_code: Some("00799960158".into()),
        psp_partita_iva: None,
        psp_company_name: "Intesa Sanpaolo".into(),
        id_channel: "00799960158_01".into(),
        channel_description: "app".into(),
        payer: None,
        payment_method: Some("creditCard".into()),
        payment_note: None,
        fee: Some(Amount::from_cents(150)),
        primary_ci_incurred_fee: None,
        id_bundle: None,
        id_ci_bundle: None,
        payment_date_time: date.map(|d| format!("{}T10:15:00+01:00", d.format("%Y-%m-%d"))),
        application_date: None,
        transfer_date: None,
        metadata: vec![],
        stand_in: None,
    }
}

/// A fresh PostgreSQL database URL, or `None` (skip) when no server is configured.
pub(crate) async fn pg_url() -> Option<String> {
    pa_postgres::testing::fresh_database().await.unwrap()
}

/// Declares one `#[tokio::test]` per backend running `$contract(store)`, for receipt stores.
macro_rules! receipt_contract {
    ($contract:ident) => {
        mod $contract {
            use std::sync::Arc;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn memory() {
                super::$contract(Arc::new(pagopa::node::MemoryReceiptStore::new())).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let dir = tempfile::tempdir().unwrap();
                let store =
                    pagopa::node::SqliteReceiptStore::open(dir.path().join("r.db")).unwrap();
                super::$contract(Arc::new(store)).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some(url) = crate::pg_url().await else {
                    return;
                };
                let store = pagopa::node::PgReceiptStore::connect(&url).await.unwrap();
                super::$contract(Arc::new(store)).await;
            }
        }
    };
}
pub(crate) use receipt_contract;
