//! paForNode inputs shared by the `pagopa_node` and `shared_state` benchmarks: one creditor, its
//! station, a host that knows no notice, and `paSendRTV2` requests.

use async_trait::async_trait;
use pa_types::{Amount, OrganizationFiscalCode};
use pagopa::NoticeNumber;
use pagopa::node::{
    EntityType, Fault, FaultCode, GetPaymentRequest, NodeRequest, NoticeDescription, Operation,
    Outcome, PaForNodeHost, PaymentData, Receipt, ReceiptTransfer, ReceiptTransferTarget,
    ReceiptVersion, RequestIds, SendReceiptRequest, StationConfig, Subject,
    VerifyPaymentNoticeRequest, write_request,
};

/// Fiscal code of the creditor of every benchmark.
pub const EC: &str = "80016350821";
const BROKER: &str = "15376371009";
const STATION: &str = "15376371009_01";

/// A host without notices: the `paSendRTV2` benchmarks never ask it anything.
pub struct UnknownNotices;

#[async_trait]
impl PaForNodeHost for UnknownNotices {
    async fn verify_payment_notice(
        &self,
        _: &VerifyPaymentNoticeRequest,
    ) -> Result<NoticeDescription, Fault> {
        Err(Fault::new(FaultCode::PagamentoSconosciuto))
    }
    async fn get_payment(&self, _: Operation, _: &GetPaymentRequest) -> Result<PaymentData, Fault> {
        Err(Fault::new(FaultCode::PagamentoSconosciuto))
    }
}

/// The creditor's fiscal code.
pub fn ec() -> OrganizationFiscalCode {
    EC.parse().expect("valid")
}

/// The creditor's station behind its broker.
pub fn station() -> StationConfig {
    StationConfig::new(EC, BROKER, STATION)
}

/// A paid TARI receipt of 120.50 EUR in two transfers.
pub fn receipt(id: &str, notice: NoticeNumber) -> Receipt {
    let transfer = |i: u8, cents: u64| ReceiptTransfer {
        id_transfer: i,
        amount: Amount::from_cents(cents),
        fiscal_code_pa: ec(),
        company_name: None,
        target: ReceiptTransferTarget::Iban("IT60X0542811101000000123456".into()),
        remittance_information: "TARI 2026".into(),
        transfer_category: "9/0101101IM/".into(),
        metadata: vec![],
    };
    Receipt {
        version: ReceiptVersion::V2,
        receipt_id: id.into(),
        notice_number: notice,
        fiscal_code: ec(),
        outcome: Outcome::Ok,
        creditor_reference_id: notice.iuv().to_string(),
        payment_amount: Amount::from_cents(12050),
        description: "TARI 2026".into(),
        company_name: "Comune di Prova".into(),
        office_name: None,
        debtor: Subject::new(EntityType::F, "RSSMRA80A01H501U", "Mario Rossi"),
        transfers: vec![transfer(1, 10000), transfer(2, 2050)],
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
        payment_date_time: Some("2026-11-23T10:15:00".into()),
        application_date: None,
        transfer_date: None,
        metadata: vec![],
        stand_in: None,
    }
}

/// The SOAP body of a `paSendRTV2` carrying [`receipt`].
pub fn send_rt_request(id: &str, notice: NoticeNumber) -> String {
    write_request(&NodeRequest::SendRtV2(SendReceiptRequest {
        ids: RequestIds {
            id_pa: EC.into(),
            id_broker_pa: BROKER.into(),
            id_station: STATION.into(),
        },
        receipt: receipt(id, notice),
    }))
}
