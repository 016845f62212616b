//! A local pagoPA node simulator (feature `simulator`): calls a paForNode server the way the
//! node does — verify, activate, then deliver the receipt, retrying the same receipt until it is
//! acknowledged. For tests and demos; it talks plain HTTP to the URL it is given.
//!
//! [`CheckoutSimulator`] is a local pagoPA Checkout built on it: it takes carts, shows a payment
//! page, pays through the creditor's paForNode endpoint and redirects the browser back.

mod checkout;

pub use checkout::{CartState, CheckoutConfig, CheckoutSimulator, SimulatedCart};

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use pa_types::Amount;

use crate::node::{
    Fault, FaultCode, GetPaymentRequest, NodeRequest, NodeResponse, NoticeDescription, Outcome,
    PaymentData, QrCode, Receipt, ReceiptTransfer, ReceiptTransferTarget, ReceiptVersion,
    RequestError, RequestIds, SendReceiptRequest, TransferTarget, TransferType,
    VerifyPaymentNoticeRequest, parse_response, write_request,
};

/// Why a simulated call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SimulatorError {
    /// The server could not be reached.
    #[error("transport: {0}")]
    Transport(String),
    /// The server answered with an HTTP status other than 200 and no paForNode response.
    #[error("HTTP {status}")]
    Http {
        /// Status.
        status: u16,
    },
    /// The answer is not a schema-conformant response to the operation.
    #[error("invalid response: {0}")]
    Response(#[from] RequestError),
    /// The creditor answered `KO`.
    #[error("fault: {0}")]
    Fault(Fault),
    /// The answer is valid but not what the operation returns.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
    /// The receipt was not acknowledged after every attempt.
    #[error("receipt not acknowledged after {attempts} attempts; last error: {last}")]
    GaveUp {
        /// Attempts made.
        attempts: u32,
        /// The last error.
        last: Box<SimulatorError>,
    },
}

/// The PSP data the simulator puts in receipts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PspInfo {
    /// `idPSP`.
    pub id_psp: String,
    /// `PSPCompanyName`.
    pub company_name: String,
    /// `idChannel`.
    pub id_channel: String,
    /// `channelDescription`.
    pub channel_description: String,
}

impl Default for PspInfo {
    fn default() -> Self {
        PspInfo {
            id_psp: "SIMPSP01".into(),
            company_name: "PSP simulato".into(),
            id_channel: "SIMPSP01_01".into(),
            channel_description: "simulator".into(),
        }
    }
}

/// How receipts are redelivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptRetry {
    /// Attempts in total (≥ 1).
    pub max_attempts: u32,
    /// Wait between attempts.
    pub backoff: Duration,
}

impl Default for ReceiptRetry {
    fn default() -> Self {
        ReceiptRetry {
            max_attempts: 5,
            backoff: Duration::from_millis(50),
        }
    }
}

/// The result of [`NodeSimulator::pay`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedPayment {
    /// What `paVerifyPaymentNotice` said.
    pub notice: NoticeDescription,
    /// What `paGetPayment(V2)` returned.
    pub data: PaymentData,
    /// The receipt delivered.
    pub receipt: Receipt,
    /// Delivery attempts until the receipt was acknowledged.
    pub attempts: u32,
}

/// Drives a paForNode endpoint like the pagoPA node.
#[derive(Debug, Clone)]
pub struct NodeSimulator {
    http: reqwest::Client,
    endpoint: String,
    ids: RequestIds,
    psp: PspInfo,
    retry: ReceiptRetry,
    v2: bool,
}

static RECEIPT_SEQ: AtomicU64 = AtomicU64::new(0);

impl NodeSimulator {
    /// A simulator calling `endpoint` (the paForNode URL) as `ids` (the creditor's idPA, broker
    /// and station). Uses the V2 operations by default.
    #[must_use]
    pub fn new(endpoint: impl Into<String>, ids: RequestIds) -> NodeSimulator {
        NodeSimulator {
            http: reqwest::Client::new(),
            endpoint: endpoint.into(),
            ids,
            psp: PspInfo::default(),
            retry: ReceiptRetry::default(),
            v2: true,
        }
    }

    /// Uses `paGetPayment` / `paSendRT` (V1) instead of V2.
    #[must_use]
    pub fn v1(mut self) -> NodeSimulator {
        self.v2 = false;
        self
    }

    /// Sets the PSP data.
    #[must_use]
    pub fn with_psp(mut self, psp: PspInfo) -> NodeSimulator {
        self.psp = psp;
        self
    }

    /// Sets the receipt redelivery policy.
    #[must_use]
    pub fn with_retry(mut self, retry: ReceiptRetry) -> NodeSimulator {
        self.retry = retry;
        self
    }

    /// Sends one request and reads the answer (a `KO` is returned as [`NodeResponse::Fault`]).
    ///
    /// # Errors
    /// [`SimulatorError`] for transport failures, HTTP errors and invalid answers.
    pub async fn call(&self, request: &NodeRequest) -> Result<NodeResponse, SimulatorError> {
        let op = request.operation();
        let body = write_request(request);
        let resp = self
            .http
            .post(&self.endpoint)
            .header("SOAPAction", op.soap_action())
            .header("Content-Type", "text/xml; charset=utf-8")
            .body(body)
            .send()
            .await
            .map_err(|e| SimulatorError::Transport(e.to_string()))?;
        let status = resp.status().as_u16();
        let bytes = resp
            .bytes()
            .await
            .map_err(|e| SimulatorError::Transport(e.to_string()))?;
        if status != 200 {
            return Err(SimulatorError::Http { status });
        }
        Ok(parse_response(op, &bytes)?)
    }

    /// `paVerifyPaymentNotice`.
    ///
    /// # Errors
    /// [`SimulatorError::Fault`] for a `KO`, and the others.
    pub async fn verify(&self, qr_code: &QrCode) -> Result<NoticeDescription, SimulatorError> {
        let r = NodeRequest::VerifyPaymentNotice(VerifyPaymentNoticeRequest {
            ids: self.ids.clone(),
            qr_code: qr_code.clone(),
        });
        match self.call(&r).await? {
            NodeResponse::Verify(n) => Ok(n),
            NodeResponse::Fault(f) => Err(SimulatorError::Fault(f)),
            other => Err(SimulatorError::Unexpected(format!("{other:?}"))),
        }
    }

    /// `paGetPayment(V2)`: activation for `amount`.
    ///
    /// # Errors
    /// [`SimulatorError::Fault`] for a `KO`, and the others.
    pub async fn activate(
        &self,
        qr_code: &QrCode,
        amount: Amount,
    ) -> Result<PaymentData, SimulatorError> {
        self.activate_with_note(qr_code, amount, None).await
    }

    /// `paGetPayment(V2)` with a `paymentNote` (Checkout sends the cart's `idCart`).
    ///
    /// # Errors
    /// [`SimulatorError::Fault`] for a `KO`, and the others.
    pub async fn activate_with_note(
        &self,
        qr_code: &QrCode,
        amount: Amount,
        payment_note: Option<&str>,
    ) -> Result<PaymentData, SimulatorError> {
        let g = GetPaymentRequest {
            ids: self.ids.clone(),
            qr_code: qr_code.clone(),
            amount: Some(amount),
            payment_note: payment_note.map(str::to_owned),
            transfer_type: Some(TransferType::PagoPa),
            due_date: None,
        };
        let r = if self.v2 {
            NodeRequest::GetPaymentV2(g)
        } else {
            NodeRequest::GetPayment(g)
        };
        match self.call(&r).await? {
            NodeResponse::Payment(d) => Ok(*d),
            NodeResponse::Fault(f) => Err(SimulatorError::Fault(f)),
            other => Err(SimulatorError::Unexpected(format!("{other:?}"))),
        }
    }

    /// The receipt the node would write for a payment of `data`.
    #[must_use]
    pub fn receipt_for(&self, qr_code: &QrCode, data: &PaymentData) -> Receipt {
        let seq = RECEIPT_SEQ.fetch_add(1, Ordering::Relaxed);
        let now = Utc::now();
        let nanos = now.timestamp_nanos_opt().unwrap_or_default();
        Receipt {
            version: if self.v2 {
                ReceiptVersion::V2
            } else {
                ReceiptVersion::V1
            },
            receipt_id: format!("{nanos:x}{seq:08x}"),
            notice_number: qr_code.notice_number,
            fiscal_code: qr_code.fiscal_code.clone(),
            outcome: Outcome::Ok,
            creditor_reference_id: data.creditor_reference_id.clone(),
            payment_amount: data.payment_amount,
            description: data.description.clone(),
            company_name: data
                .company_name
                .clone()
                .unwrap_or_else(|| "Ente creditore".into()),
            office_name: data.office_name.clone(),
            debtor: data.debtor.clone(),
            transfers: data
                .transfers
                .iter()
                .map(|t| ReceiptTransfer {
                    id_transfer: t.id_transfer,
                    amount: t.amount,
                    fiscal_code_pa: t.fiscal_code_pa.clone(),
                    company_name: if self.v2 {
                        t.company_name.clone()
                    } else {
                        None
                    },
                    target: match &t.target {
                        TransferTarget::Iban(i) => ReceiptTransferTarget::Iban(i.as_str().into()),
                        TransferTarget::Stamp(s) => {
                            ReceiptTransferTarget::MbdAttachment(s.hash_documento.clone())
                        }
                    },
                    remittance_information: t.remittance_information.clone(),
                    transfer_category: t.transfer_category.clone(),
                    metadata: t.metadata.clone(),
                })
                .collect(),
            id_psp: self.psp.id_psp.clone(),
            psp_fiscal_code: None,
            psp_partita_iva: None,
            psp_company_name: self.psp.company_name.clone(),
            id_channel: self.psp.id_channel.clone(),
            channel_description: self.psp.channel_description.clone(),
            payer: None,
            payment_method: Some("simulated".into()),
            payment_note: None,
            fee: Some(Amount::ZERO),
            primary_ci_incurred_fee: None,
            id_bundle: None,
            id_ci_bundle: None,
            payment_date_time: Some(now.format("%Y-%m-%dT%H:%M:%S").to_string()),
            application_date: Some(now.date_naive()),
            transfer_date: Some(now.date_naive()),
            metadata: Vec::new(),
            stand_in: Some(false),
        }
    }

    /// Delivers a receipt, retrying the same receipt on `PAA_SYSTEM_ERROR`, HTTP and transport
    /// errors, as the node does. `PAA_RECEIPT_DUPLICATA` counts as delivered. Returns the number
    /// of attempts.
    ///
    /// # Errors
    /// [`SimulatorError::GaveUp`] after the last attempt; a fault other than the retried ones at
    /// once.
    pub async fn send_receipt(&self, receipt: &Receipt) -> Result<u32, SimulatorError> {
        let req = SendReceiptRequest {
            ids: self.ids.clone(),
            receipt: receipt.clone(),
        };
        let req = match receipt.version {
            ReceiptVersion::V1 => NodeRequest::SendRt(req),
            ReceiptVersion::V2 => NodeRequest::SendRtV2(req),
        };
        let max = self.retry.max_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let err = match self.call(&req).await {
                Ok(NodeResponse::ReceiptAccepted) => return Ok(attempt),
                Ok(NodeResponse::Fault(f)) if f.code == FaultCode::ReceiptDuplicata => {
                    return Ok(attempt);
                }
                Ok(NodeResponse::Fault(f)) if f.code == FaultCode::SystemError => {
                    SimulatorError::Fault(f)
                }
                Ok(NodeResponse::Fault(f)) => return Err(SimulatorError::Fault(f)),
                Ok(other) => return Err(SimulatorError::Unexpected(format!("{other:?}"))),
                Err(e @ (SimulatorError::Transport(_) | SimulatorError::Http { .. })) => e,
                Err(e) => return Err(e),
            };
            if attempt >= max {
                return Err(SimulatorError::GaveUp {
                    attempts: attempt,
                    last: Box::new(err),
                });
            }
            tokio::time::sleep(self.retry.backoff).await;
        }
    }

    /// A whole payment: verify, activate for the notice amount, deliver the receipt.
    ///
    /// # Errors
    /// The first step that fails.
    pub async fn pay(&self, qr_code: &QrCode) -> Result<SimulatedPayment, SimulatorError> {
        let notice = self.verify(qr_code).await?;
        let data = self.activate(qr_code, notice.payment_option.amount).await?;
        let receipt = self.receipt_for(qr_code, &data);
        let attempts = self.send_receipt(&receipt).await?;
        Ok(SimulatedPayment {
            notice,
            data,
            receipt,
            attempts,
        })
    }
}
