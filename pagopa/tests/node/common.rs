//! Shared helpers for the paForNode tests: a host with a few positions, sample messages, and the
//! xmllint schema check.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::NaiveDate;
use pa_types::{Amount, OrganizationFiscalCode};
use pagopa::NoticeNumber;
use pagopa::node::*;

pub(crate) const EC: &str = "80016350821";
pub(crate) const BROKER: &str = "15376371009";
pub(crate) const STATION: &str = "15376371009_01";
pub(crate) const IBAN: &str = "IT60X0542811101000000123456";
pub(crate) const NOTICE_OK: &str = "301000000000000144";
pub(crate) const NOTICE_STAMP: &str = "302123456789012356";

pub(crate) fn ec() -> OrganizationFiscalCode {
    EC.parse().unwrap()
}

pub(crate) fn ids() -> RequestIds {
    RequestIds {
        id_pa: EC.into(),
        id_broker_pa: BROKER.into(),
        id_station: STATION.into(),
    }
}

pub(crate) fn qr(notice: &str) -> QrCode {
    QrCode {
        fiscal_code: ec(),
        notice_number: NoticeNumber::parse(notice).unwrap(),
    }
}

pub(crate) fn transfer(id: u8, cents: u64, target: TransferTarget) -> Transfer {
    Transfer {
        id_transfer: id,
        amount: Amount::from_cents(cents),
        fiscal_code_pa: ec(),
        company_name: Some("Comune di Prova".into()),
        target,
        remittance_information: "TARI 2026 & rifiuti <rata 1>".into(),
        transfer_category: "9/0101101IM/".into(),
        metadata: vec![MapEntry {
            key: "capitolo".into(),
            value: "1234".into(),
        }],
    }
}

pub(crate) fn payment_data(transfers: Vec<Transfer>) -> PaymentData {
    let total = Amount::checked_sum(transfers.iter().map(|t| t.amount)).unwrap();
    let mut debtor = Subject::new(EntityType::F, "RSSMRA80A01H501U", "Mario Rossi");
    debtor.email = Some("mario.rossi@example.it".into());
    debtor.country = Some("IT".into());
    PaymentData {
        creditor_reference_id: "01000000000000144".into(),
        payment_amount: total,
        due_date: NaiveDate::from_ymd_opt(2026, 12, 31).unwrap(),
        retention_date: None,
        last_payment: Some(false),
        description: "TARI 2026".into(),
        company_name: Some("Comune di Prova".into()),
        office_name: None,
        debtor,
        transfers,
        metadata: vec![],
    }
}

/// A host with two positions: `NOTICE_OK` (two IBAN transfers, 120.50) and `NOTICE_STAMP`
/// (an IBAN transfer and a stamp, V2 only). It records the receipts it is told about.
#[derive(Default)]
pub(crate) struct TestHost {
    pub(crate) stored: Mutex<Vec<String>>,
    pub(crate) paid: Mutex<BTreeMap<String, bool>>,
    /// When set, `get_payment` returns this (used to feed invalid data).
    pub(crate) override_payment: Mutex<Option<PaymentData>>,
}

#[async_trait]
impl PaForNodeHost for TestHost {
    async fn verify_payment_notice(
        &self,
        r: &VerifyPaymentNoticeRequest,
    ) -> Result<NoticeDescription, Fault> {
        let n = r.qr_code.notice_number.as_str();
        if n != NOTICE_OK && n != NOTICE_STAMP {
            return Err(Fault::new(FaultCode::PagamentoSconosciuto));
        }
        if self.paid.lock().unwrap().get(n).copied().unwrap_or(false) {
            return Err(Fault::new(FaultCode::PagamentoDuplicato));
        }
        Ok(NoticeDescription {
            payment_option: PaymentOptionDescription {
                amount: Amount::from_cents(12050),
                options: AmountOption::Eq,
                due_date: NaiveDate::from_ymd_opt(2026, 12, 31),
                detail_description: Some("Rata unica".into()),
                all_ccp: false,
            },
            payment_description: "TARI 2026".into(),
            fiscal_code_pa: ec(),
            company_name: "Comune di Prova".into(),
            office_name: None,
        })
    }

    async fn get_payment(
        &self,
        _op: Operation,
        r: &GetPaymentRequest,
    ) -> Result<PaymentData, Fault> {
        if let Some(d) = self.override_payment.lock().unwrap().clone() {
            return Ok(d);
        }
        match r.qr_code.notice_number.as_str() {
            NOTICE_OK => Ok(payment_data(vec![
                transfer(1, 10000, TransferTarget::Iban(IBAN.parse().unwrap())),
                transfer(2, 2050, TransferTarget::Iban(IBAN.parse().unwrap())),
            ])),
            NOTICE_STAMP => Ok(payment_data(vec![
                transfer(1, 1000, TransferTarget::Iban(IBAN.parse().unwrap())),
                transfer(
                    2,
                    1600,
                    TransferTarget::Stamp(StampRequest {
                        hash_documento: "wHpFSLCGZjIvNSXxqtGbxg7275t446DRTk5ZrsdUQ6E=".into(),
                        tipo_bollo: "01".into(),
                        provincia_residenza: "RM".into(),
                    }),
                ),
            ])),
            _ => Err(Fault::new(FaultCode::PagamentoSconosciuto)),
        }
    }

    async fn receipt_stored(&self, receipt: &Receipt) {
        self.stored.lock().unwrap().push(receipt.receipt_id.clone());
        self.paid
            .lock()
            .unwrap()
            .insert(receipt.notice_number.as_str().to_owned(), true);
    }
}

#[allow(dead_code)]
pub(crate) fn receipt(version: ReceiptVersion, receipt_id: &str) -> Receipt {
    let mut payer = Subject::new(EntityType::F, "RSSMRA80A01H501U", "Mario Rossi");
    payer.city = Some("Roma".into());
    Receipt {
        version,
        receipt_id: receipt_id.into(),
        notice_number: NoticeNumber::parse(NOTICE_OK).unwrap(),
        fiscal_code: ec(),
        outcome: Outcome::Ok,
        creditor_reference_id: "01000000000000144".into(),
        payment_amount: Amount::from_cents(12050),
        description: "TARI 2026".into(),
        company_name: "Comune di Prova".into(),
        office_name: None,
        debtor: Subject::new(EntityType::F, "RSSMRA80A01H501U", "Mario Rossi"),
        transfers: vec![
            ReceiptTransfer {
                id_transfer: 1,
                amount: Amount::from_cents(10000),
                fiscal_code_pa: ec(),
                company_name: None,
                target: ReceiptTransferTarget::Iban(IBAN.into()),
                remittance_information: "TARI 2026".into(),
                transfer_category: "9/0101101IM/".into(),
                metadata: vec![],
            },
            ReceiptTransfer {
                id_transfer: 2,
                amount: Amount::from_cents(2050),
                fiscal_code_pa: ec(),
                company_name: None,
                target: ReceiptTransferTarget::Iban(IBAN.into()),
                remittance_information: "TEFA 2026".into(),
                transfer_category: "9/0101101IM/".into(),
                metadata: vec![],
            },
        ],
        id_psp: "BCITITMM".into(),
        psp_fiscal_code: Some("00799960158".into()),
        psp_partita_iva: None,
        psp_company_name: "Intesa Sanpaolo".into(),
        id_channel: "00799960158_01".into(),
        channel_description: "app".into(),
        payer: Some(payer),
        payment_method: Some("creditCard".into()),
        payment_note: None,
        fee: Some(Amount::from_cents(150)),
        primary_ci_incurred_fee: None,
        id_bundle: None,
        id_ci_bundle: None,
        payment_date_time: Some("2026-11-23T10:15:00".into()),
        application_date: NaiveDate::from_ymd_opt(2026, 11, 23),
        transfer_date: NaiveDate::from_ymd_opt(2026, 11, 24),
        metadata: vec![],
        stand_in: Some(false),
    }
}

#[allow(dead_code)]
pub(crate) fn send_rt(version: ReceiptVersion, receipt_id: &str) -> String {
    let r = SendReceiptRequest {
        ids: ids(),
        receipt: receipt(version, receipt_id),
    };
    write_request(&match version {
        ReceiptVersion::V1 => NodeRequest::SendRt(r),
        ReceiptVersion::V2 => NodeRequest::SendRtV2(r),
    })
}

pub(crate) fn config() -> StationConfig {
    StationConfig::new(EC, BROKER, STATION)
}

fn xsd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/node/xsd")
}

/// Extracts the paForNode element (it carries its own namespace declaration) from an envelope.
pub(crate) fn payload(envelope: &str) -> &str {
    let start = envelope.find("<pafn:").expect("a pafn element");
    let name_end = start + envelope[start..].find([' ', '>']).unwrap();
    let close = format!("</{}>", &envelope[start + 1..name_end]);
    let end = envelope.rfind(&close).expect("closing tag") + close.len();
    &envelope[start..end]
}

/// Validates the paForNode payload of `envelope` against paForNode.xsd with xmllint. Runs when
/// xmllint is installed; fails when it is not and `CI` is set.
pub(crate) fn assert_schema_valid(envelope: &str) {
    if Command::new("xmllint").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "xmllint (libxml2-utils) is required in CI"
        );
        eprintln!("xmllint not installed: schema check skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("msg.xml");
    std::fs::write(&f, payload(envelope)).unwrap();
    let out = Command::new("xmllint")
        .arg("--noout")
        .arg("--nonet")
        .arg("--schema")
        .arg(xsd_dir().join("paForNode.xsd"))
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "schema validation failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        payload(envelope)
    );
}
