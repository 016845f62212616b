//! The paForNode service: routes a SOAP request to the host, checks what it answers, stores
//! receipts before acknowledging them.

use std::collections::BTreeSet;

use async_trait::async_trait;

use super::codec::{
    NodeRequest, NodeResponse, Operation, RequestError, parse_request, sniff_operation,
    write_response, write_soap_fault,
};
use super::fault::{Fault, FaultCode};
use super::store::{PutOutcome, ReceiptStore, StoreError};
use super::types::*;

/// What the creditor's application answers. The service has already checked the caller's
/// identifiers; the host looks up positions and reports their state.
#[async_trait]
pub trait PaForNodeHost: Send + Sync {
    /// `paVerifyPaymentNotice`: describe the notice, or a fault such as
    /// [`FaultCode::PagamentoSconosciuto`] / [`FaultCode::PagamentoDuplicato`].
    ///
    /// # Errors
    /// The fault to answer with.
    async fn verify_payment_notice(
        &self,
        request: &VerifyPaymentNoticeRequest,
    ) -> Result<NoticeDescription, Fault>;

    /// `paGetPayment` / `paGetPaymentV2` (`operation` tells which; only V2 may return stamps):
    /// the payment data for activation.
    ///
    /// # Errors
    /// The fault to answer with.
    async fn get_payment(
        &self,
        operation: Operation,
        request: &GetPaymentRequest,
    ) -> Result<PaymentData, Fault>;

    /// Called once per receipt, after it has been stored durably (never for duplicates), for
    /// `KO` receipts too: mark the position paid only when [`Receipt::is_paid`] (outcome `OK`).
    /// The receipt is already safe: failures here do not change the
    /// answer to the node; reprocess from [`ReceiptStore::list`].
    async fn receipt_stored(&self, receipt: &Receipt) {
        let _ = receipt;
    }

    /// `paDemandPaymentNotice` (spontaneous payments). Default: `PAA_SEMANTICA`, not supported.
    ///
    /// # Errors
    /// The fault to answer with.
    async fn demand_payment_notice(
        &self,
        request: &DemandPaymentNoticeRequest,
    ) -> Result<DemandedNotice, Fault> {
        let _ = request;
        Err(Fault::new(FaultCode::Semantica)
            .with_description("spontaneous payments are not offered by this creditor"))
    }
}

/// How to answer a receipt that was already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DuplicateReceiptAnswer {
    /// Outcome `OK`, as for the first delivery (idempotent). Default.
    #[default]
    IdempotentOk,
    /// Outcome `KO` with `PAA_RECEIPT_DUPLICATA`.
    FaultReceiptDuplicata,
}

/// Who we are for the node: the creditors we answer for, our broker and stations.
#[derive(Debug, Clone)]
pub struct StationConfig {
    /// Accepted `idPA` values (creditor fiscal codes).
    pub creditors: BTreeSet<String>,
    /// Our `idBrokerPA`.
    pub broker: String,
    /// Accepted `idStation` values.
    pub stations: BTreeSet<String>,
    /// How duplicates are answered.
    pub duplicate_receipt: DuplicateReceiptAnswer,
    /// Largest request body accepted, in bytes (default 1 MiB).
    pub max_body_bytes: usize,
}

impl StationConfig {
    /// One creditor, its broker and one station.
    #[must_use]
    pub fn new(
        creditor: impl Into<String>,
        broker: impl Into<String>,
        station: impl Into<String>,
    ) -> StationConfig {
        StationConfig {
            creditors: BTreeSet::from([creditor.into()]),
            broker: broker.into(),
            stations: BTreeSet::from([station.into()]),
            duplicate_receipt: DuplicateReceiptAnswer::default(),
            max_body_bytes: 1 << 20,
        }
    }

    /// Adds a creditor served by the same broker.
    #[must_use]
    pub fn with_creditor(mut self, creditor: impl Into<String>) -> StationConfig {
        self.creditors.insert(creditor.into());
        self
    }
}

/// A SOAP answer: HTTP status, XML body, and the operation when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoapReply {
    /// HTTP status: 200 for every paForNode answer (also `KO`), 500 for a SOAP `Fault` when the
    /// operation cannot be told.
    pub status: u16,
    /// The SOAP envelope.
    pub body: String,
    /// The operation answered.
    pub operation: Option<Operation>,
    /// The fault code, for `KO` answers.
    pub fault: Option<FaultCode>,
}

/// The paForNode endpoint logic, independent of any web framework. Put it in an `Arc` and serve it
/// with `router` (feature `server`) or call [`PaForNodeService::handle`].
#[derive(Debug)]
pub struct PaForNodeService<H, S> {
    config: StationConfig,
    host: H,
    store: S,
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

impl<H: PaForNodeHost, S: ReceiptStore> PaForNodeService<H, S> {
    /// A service answering for `config` with `host`, storing receipts in `store`.
    pub fn new(config: StationConfig, host: H, store: S) -> Self {
        PaForNodeService {
            config,
            host,
            store,
        }
    }

    /// The receipt store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The host.
    pub fn host(&self) -> &H {
        &self.host
    }

    /// The configuration.
    pub fn config(&self) -> &StationConfig {
        &self.config
    }

    fn reply(&self, op: Operation, id_pa: &str, response: NodeResponse) -> SoapReply {
        let (response, fault) = match response {
            NodeResponse::Fault(mut f) => {
                if f.id.is_empty() {
                    f.id = id_pa.to_owned();
                }
                let code = f.code.clone();
                (NodeResponse::Fault(f), Some(code))
            }
            other => (other, None),
        };
        SoapReply {
            status: 200,
            body: write_response(op, &response),
            operation: Some(op),
            fault,
        }
    }

    fn fault(&self, op: Operation, id_pa: &str, f: Fault) -> SoapReply {
        self.reply(op, id_pa, NodeResponse::Fault(f))
    }

    fn check_ids(&self, ids: &RequestIds) -> Result<(), Fault> {
        if !self.config.creditors.contains(&ids.id_pa) {
            return Err(Fault::new(FaultCode::IdDominioErrato)
                .with_description(format!("idPA {} is not served by this station", ids.id_pa)));
        }
        if ids.id_broker_pa != self.config.broker {
            return Err(Fault::new(FaultCode::IdIntermediarioErrato)
                .with_description(format!("idBrokerPA {} is not ours", ids.id_broker_pa)));
        }
        if !self.config.stations.contains(&ids.id_station) {
            return Err(Fault::new(FaultCode::StazioneIntErrata)
                .with_description(format!("idStation {} is not ours", ids.id_station)));
        }
        Ok(())
    }

    fn check_creditor(&self, fiscal_code: &str, what: &str) -> Result<(), Fault> {
        if self.config.creditors.contains(fiscal_code) {
            Ok(())
        } else {
            Err(
                Fault::new(FaultCode::IdDominioErrato).with_description(format!(
                    "{what} {fiscal_code} is not served by this station"
                )),
            )
        }
    }

    /// Handles one SOAP request. Never panics on input; every answer is a schema-valid
    /// paForNode response, or a SOAP `Fault` (HTTP 500) when the operation cannot be told.
    pub async fn handle(&self, soap_action: Option<&str>, body: &[u8]) -> SoapReply {
        let hinted = soap_action.and_then(Operation::from_soap_action);
        if body.len() > self.config.max_body_bytes {
            let msg = format!("request larger than {} bytes", self.config.max_body_bytes);
            tracing::warn!(
                limit = self.config.max_body_bytes,
                "paForNode: request too large"
            );
            return match hinted.or_else(|| sniff_prefix(body)) {
                Some(op) => self.fault(
                    op,
                    "",
                    Fault::new(FaultCode::SintassiExtraxsd).with_description(msg),
                ),
                None => soap_fault(&msg),
            };
        }
        let request = match parse_request(soap_action, body) {
            Ok(r) => r,
            Err(e) => return self.bad_request(hinted, body, &e),
        };
        let op = request.operation();
        let id_pa = request.ids().id_pa.clone();
        if let Err(f) = self.check_ids(request.ids()) {
            tracing::warn!(operation = op.soap_action(), fault = %f, "paForNode: caller identifiers refused");
            return self.fault(op, &id_pa, f);
        }
        let response = match request {
            NodeRequest::VerifyPaymentNotice(r) => self.verify(&r).await,
            NodeRequest::GetPayment(r) => self.get_payment(Operation::GetPayment, &r).await,
            NodeRequest::GetPaymentV2(r) => self.get_payment(Operation::GetPaymentV2, &r).await,
            NodeRequest::SendRt(r) | NodeRequest::SendRtV2(r) => self.send_rt(&r).await,
            NodeRequest::DemandPaymentNotice(r) => self.demand(&r).await,
        };
        self.reply(op, &id_pa, response)
    }

    fn bad_request(&self, hinted: Option<Operation>, body: &[u8], e: &RequestError) -> SoapReply {
        let op = match e {
            RequestError::ActionMismatch { .. } => sniff_operation(body),
            _ => hinted.or_else(|| sniff_operation(body)),
        };
        tracing::warn!(error = %e, "paForNode: request refused");
        match op {
            Some(op) => self.fault(
                op,
                "",
                Fault::new(FaultCode::SintassiExtraxsd)
                    .with_description(truncate(&e.to_string(), 500)),
            ),
            None => soap_fault(&truncate(&e.to_string(), 500)),
        }
    }

    async fn verify(&self, r: &VerifyPaymentNoticeRequest) -> NodeResponse {
        if let Err(f) = self.check_creditor(r.qr_code.fiscal_code.as_str(), "qrCode/fiscalCode") {
            return NodeResponse::Fault(f);
        }
        match self.host.verify_payment_notice(r).await {
            Ok(n) => match n.check("paVerifyPaymentNoticeRes") {
                Ok(()) => NodeResponse::Verify(n),
                Err(e) => host_bug(&e),
            },
            Err(f) => NodeResponse::Fault(f),
        }
    }

    async fn get_payment(&self, op: Operation, r: &GetPaymentRequest) -> NodeResponse {
        if let Err(f) = self.check_creditor(r.qr_code.fiscal_code.as_str(), "qrCode/fiscalCode") {
            return NodeResponse::Fault(f);
        }
        match self.host.get_payment(op, r).await {
            Ok(d) => match d.check(
                &format!("{}/data", op.response_element()),
                op == Operation::GetPaymentV2,
            ) {
                Ok(()) => NodeResponse::Payment(Box::new(d)),
                Err(e) => host_bug(&e),
            },
            Err(f) => NodeResponse::Fault(f),
        }
    }

    async fn demand(&self, r: &DemandPaymentNoticeRequest) -> NodeResponse {
        match self.host.demand_payment_notice(r).await {
            Ok(d) => match d.notice.check("paDemandPaymentNoticeResponse") {
                Ok(()) => NodeResponse::Demand(d),
                Err(e) => host_bug(&e),
            },
            Err(f) => NodeResponse::Fault(f),
        }
    }

    async fn send_rt(&self, r: &SendReceiptRequest) -> NodeResponse {
        let receipt = &r.receipt;
        if let Err(f) = self.check_creditor(receipt.fiscal_code.as_str(), "receipt/fiscalCode") {
            return NodeResponse::Fault(f);
        }
        match self.store.put(receipt).await {
            Ok(PutOutcome::Stored) => {
                tracing::info!(
                    receipt_id = %receipt.receipt_id,
                    notice = %receipt.notice_number,
                    "paForNode: receipt stored"
                );
                self.host.receipt_stored(receipt).await;
                NodeResponse::ReceiptAccepted
            }
            Ok(PutOutcome::Duplicate) => {
                tracing::info!(receipt_id = %receipt.receipt_id, "paForNode: duplicate receipt");
                match self.config.duplicate_receipt {
                    DuplicateReceiptAnswer::IdempotentOk => NodeResponse::ReceiptAccepted,
                    DuplicateReceiptAnswer::FaultReceiptDuplicata => NodeResponse::Fault(
                        Fault::new(FaultCode::ReceiptDuplicata).with_description(format!(
                            "receipt {} already received",
                            receipt.receipt_id
                        )),
                    ),
                }
            }
            Err(e @ StoreError::Conflict { .. }) => {
                tracing::error!(error = %e, "paForNode: conflicting receipt");
                NodeResponse::Fault(
                    Fault::new(FaultCode::Semantica).with_description(e.to_string()),
                )
            }
            Err(e) => {
                tracing::error!(error = %e, "paForNode: receipt NOT stored, asking the node to retry");
                NodeResponse::Fault(
                    Fault::new(FaultCode::SystemError)
                        .with_description("receipt could not be stored, please retry"),
                )
            }
        }
    }
}

fn host_bug(e: &MessageError) -> NodeResponse {
    tracing::error!(error = %e, "paForNode: host returned data that does not follow the schema");
    NodeResponse::Fault(
        Fault::new(FaultCode::SystemError)
            .with_description(truncate(&format!("invalid creditor data: {e}"), 500)),
    )
}

/// The operation of a request that may be cut short (too large to parse): the first element,
/// within the first 64 KiB, whose local name is a paForNode request element.
fn sniff_prefix(body: &[u8]) -> Option<Operation> {
    let head = &body[..body.len().min(64 * 1024)];
    let mut rest = head;
    while let Some(i) = rest.iter().position(|&b| b == b'<') {
        rest = &rest[i + 1..];
        let end = rest
            .iter()
            .position(|&b| !(b.is_ascii_alphanumeric() || b"_:.-".contains(&b)))
            .unwrap_or(rest.len());
        let name = std::str::from_utf8(&rest[..end]).unwrap_or_default();
        let local = name.rsplit(':').next().unwrap_or_default();
        if let Some(op) = Operation::from_request_element(local) {
            return Some(op);
        }
    }
    None
}

fn soap_fault(msg: &str) -> SoapReply {
    SoapReply {
        status: 500,
        body: write_soap_fault(msg),
        operation: None,
        fault: Some(FaultCode::SintassiExtraxsd),
    }
}
