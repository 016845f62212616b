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
use pagopa::position::{PgPositions, PositionBook, PositionStore, SqlitePositions};
use pagopa::{AsyncIuvAllocator, NoticeNumber, QrPayload};

use super::db::{Db, Request};
use super::{Ente, StartError, component};

/// The partner's positions, one book for every ente (positions are keyed by creditor), with
/// several payment options each (the municipal taxes in installments, see `tributi`): SQLite,
/// PostgreSQL shared by instances, or memory.
pub(crate) type Positions = PositionBook<Arc<dyn PositionStore>>;

/// Opens the positions: in the shared PostgreSQL database when there is one, else in
/// `posizioni.sqlite` of the data directory.
pub(crate) async fn open_positions(
    shared: Option<&pa_postgres::Database>,
    data_dir: &std::path::Path,
) -> Result<Arc<Positions>, StartError> {
    let store: Arc<dyn PositionStore> = match shared {
        Some(db) => Arc::new(
            PgPositions::open(db.clone())
                .await
                .map_err(|e| component("PostgreSQL")(e.to_string()))?,
        ),
        None => {
            let path = data_dir.join("posizioni.sqlite");
            Arc::new(SqlitePositions::open(&path).map_err(|e| StartError::State {
                path: path.clone(),
                message: e.to_string(),
            })?)
        }
    };
    Ok(Arc::new(PositionBook::with_store(store)))
}

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
    /// The positions with several payment options (shared by every ente's station): a notice
    /// found there is answered by the [`PositionBook`] (each rate payable on its own, the first
    /// payment closing the other options).
    pub(crate) positions: Arc<Positions>,
}

impl Station {
    /// Whether the notice belongs to a position of the book (else it is a request's fee).
    async fn in_book(&self, creditor: &OrganizationFiscalCode, notice: &NoticeNumber) -> bool {
        matches!(self.positions.state(creditor, notice).await, Ok(Some(_)))
    }

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
        let qr = &request.qr_code;
        if self.in_book(&qr.fiscal_code, &qr.notice_number).await {
            return self.positions.verify_payment_notice(request).await;
        }
        let r = self.lookup(qr).await?;
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
        operation: Operation,
        request: &GetPaymentRequest,
    ) -> Result<PaymentData, Fault> {
        let qr = &request.qr_code;
        if self.in_book(&qr.fiscal_code, &qr.notice_number).await {
            return self.positions.get_payment(operation, request).await;
        }
        let r = self.lookup(qr).await?;
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
        if self
            .in_book(&receipt.fiscal_code, &receipt.notice_number)
            .await
        {
            // A rate or the single option of a position: the book pays it and closes the
            // other options (a failure is logged; the receipt stays in the store).
            self.positions.receipt_stored(receipt).await;
            return;
        }
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
    /// The positions of the ente with this fiscal code.
    pub(crate) fn positions(&self, creditor: &OrganizationFiscalCode) -> Option<&Arc<Positions>> {
        self.by_creditor
            .get(creditor.as_str())
            .map(|s| &s.positions)
    }

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
