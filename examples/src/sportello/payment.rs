//! pagoPA: minting the notice (IUV from the durable sequence, notice number, QR code), answering
//! the node as the creditor's station (`PaForNodeHost` over the demo's database), and paying
//! through the node simulator, which calls our paForNode endpoint over HTTP like the real node.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Duration, Local};
use pa_types::Amount;
use pa_types::OrganizationFiscalCode;
use pagopa::node::{
    AmountOption, EntityType, Fault, FaultCode, GetPaymentRequest, NoticeDescription, Operation,
    Outcome, PaForNodeHost, PaymentData, PaymentOptionDescription, QrCode, Receipt, Subject,
    Transfer, TransferTarget, VerifyPaymentNoticeRequest,
};
use pagopa::{AsyncIuvAllocator, NoticeNumber, QrPayload};

use super::Ente;
use super::db::{Db, Request};

/// A freshly minted notice.
#[derive(Debug, Clone)]
pub(crate) struct Minted {
    pub(crate) notice: NoticeNumber,
}

/// Allocates the next IUV of the ente's segregation code and builds the aux-3 notice number.
pub(crate) async fn mint(allocator: &dyn AsyncIuvAllocator, ente: &Ente) -> Result<Minted, String> {
    let notice = allocator
        .allocate(&ente.fiscal_code, ente.segregation)
        .await
        .map_err(|e| format!("allocazione IUV: {e}"))?;
    Ok(Minted { notice })
}

/// The QR code of a notice as an SVG image.
pub(crate) fn qr_svg(ente: &Ente, notice: &NoticeNumber, amount: Amount) -> Result<String, String> {
    let payload = QrPayload::new(*notice, ente.fiscal_code.clone(), amount)
        .map_err(|e| format!("QR code: {e}"))?;
    let symbol = payload.to_symbol().map_err(|e| format!("QR code: {e}"))?;
    Ok(symbol.to_svg())
}

/// The creditor's answers to the node, read from the demo's requests.
pub(crate) struct Station {
    pub(crate) db: Arc<Db>,
    pub(crate) ente: Arc<Ente>,
    /// The ente's IO service: the citizen is told when the receipt arrives.
    pub(crate) io: appio::IoClient,
}

impl Station {
    async fn lookup(&self, qr: &QrCode) -> Result<Request, Fault> {
        if qr.fiscal_code != self.ente.fiscal_code {
            return Err(Fault::new(FaultCode::IdDominioErrato));
        }
        let request = self
            .db
            .request_by_notice(qr.notice_number.as_str())
            .await
            .map_err(|e| Fault::new(FaultCode::SystemError).with_description(e.to_string()))?
            .ok_or_else(|| Fault::new(FaultCode::PagamentoSconosciuto))?;
        if request.status == "pagata" {
            return Err(Fault::new(FaultCode::PagamentoDuplicato));
        }
        Ok(request)
    }

    fn description(r: &Request) -> String {
        format!("Diritti di istruttoria pratica {}", r.segnatura)
            .chars()
            .take(140)
            .collect()
    }
}

#[async_trait]
impl PaForNodeHost for Station {
    async fn verify_payment_notice(
        &self,
        request: &VerifyPaymentNoticeRequest,
    ) -> Result<NoticeDescription, Fault> {
        let r = self.lookup(&request.qr_code).await?;
        Ok(NoticeDescription {
            payment_option: PaymentOptionDescription {
                amount: Amount::from_cents(r.amount_cents),
                options: AmountOption::Eq,
                due_date: Some((Local::now() + Duration::days(30)).date_naive()),
                detail_description: Some("Diritti di istruttoria".into()),
                all_ccp: false,
            },
            payment_description: Self::description(&r),
            fiscal_code_pa: self.ente.fiscal_code.clone(),
            company_name: self.ente.name.clone(),
            office_name: Some("Sportello telematico".into()),
        })
    }

    async fn get_payment(
        &self,
        _operation: Operation,
        request: &GetPaymentRequest,
    ) -> Result<PaymentData, Fault> {
        let r = self.lookup(&request.qr_code).await?;
        let amount = Amount::from_cents(r.amount_cents);
        if request.amount.is_some_and(|a| a != amount) {
            return Err(Fault::new(FaultCode::Semantica).with_description("importo diverso"));
        }
        Ok(PaymentData {
            creditor_reference_id: r.iuv.clone(),
            payment_amount: amount,
            due_date: (Local::now() + Duration::days(30)).date_naive(),
            retention_date: None,
            last_payment: Some(true),
            description: Self::description(&r),
            company_name: Some(self.ente.name.clone()),
            office_name: Some("Sportello telematico".into()),
            debtor: Subject::new(EntityType::F, r.fiscal_code.clone(), r.full_name.clone()),
            transfers: vec![Transfer {
                id_transfer: 1,
                amount,
                fiscal_code_pa: self.ente.fiscal_code.clone(),
                company_name: Some(self.ente.name.clone()),
                target: TransferTarget::Iban(self.ente.iban.clone()),
                remittance_information: Self::description(&r),
                transfer_category: "9/0101100IM/".into(),
                metadata: Vec::new(),
            }],
            metadata: Vec::new(),
        })
    }

    async fn receipt_stored(&self, receipt: &Receipt) {
        // The receipt is already durable in the receipt store; mark the request paid. A failure
        // here is repaired from the store on the next start (see `reconcile`). A KO receipt
        // (the payment did not happen) leaves the request to pay.
        if receipt.outcome != Outcome::Ok {
            return;
        }
        let _ = self
            .db
            .mark_paid(&receipt.creditor_reference_id, &receipt.receipt_id)
            .await;
        // The confirmation through App IO, however the payment came (Checkout, the app, a PSP).
        let Ok(Some(r)) = self.db.request_by_iuv(&receipt.creditor_reference_id).await else {
            return;
        };
        let Ok(cf) = r.fiscal_code.parse() else {
            return;
        };
        match super::io::send_confirmation(
            &self.io,
            &cf,
            &r.segnatura,
            receipt.payment_amount,
            &receipt.receipt_id,
        )
        .await
        {
            Ok(id) => {
                let _ = self.db.set_io_message(&r.id, &id).await;
            }
            Err(e) => eprintln!("sportello: {e}"),
        }
    }
}

/// The partner's station: one paForNode endpoint for every ente, each request answered by the
/// ente named by its `idPA` / the notice's creditor fiscal code.
pub(crate) struct Stations {
    by_creditor: BTreeMap<String, Station>,
}

impl Stations {
    pub(crate) fn new(stations: impl IntoIterator<Item = Station>) -> Stations {
        Stations {
            by_creditor: stations
                .into_iter()
                .map(|s| (s.ente.fiscal_code.to_string(), s))
                .collect(),
        }
    }

    fn of(&self, creditor: &OrganizationFiscalCode) -> Result<&Station, Fault> {
        self.by_creditor
            .get(creditor.as_str())
            .ok_or_else(|| Fault::new(FaultCode::IdDominioErrato))
    }
}

#[async_trait]
impl PaForNodeHost for Stations {
    async fn verify_payment_notice(
        &self,
        request: &VerifyPaymentNoticeRequest,
    ) -> Result<NoticeDescription, Fault> {
        self.of(&request.qr_code.fiscal_code)?
            .verify_payment_notice(request)
            .await
    }

    async fn get_payment(
        &self,
        operation: Operation,
        request: &GetPaymentRequest,
    ) -> Result<PaymentData, Fault> {
        self.of(&request.qr_code.fiscal_code)?
            .get_payment(operation, request)
            .await
    }

    async fn receipt_stored(&self, receipt: &Receipt) {
        if let Ok(s) = self.of(&receipt.fiscal_code) {
            s.receipt_stored(receipt).await;
        }
    }
}
