//! The paForNode SOAP interface a creditor exposes to the pagoPA node.
//!
//! Typed messages for `paVerifyPaymentNotice`, `paGetPayment`, `paGetPaymentV2`, `paSendRT`,
//! `paSendRTV2` and `paDemandPaymentNotice` (SOAP 1.1, document/literal), the `PAA_*` faults, a
//! [`PaForNodeHost`] trait the creditor's application implements, and [`PaForNodeService`], which
//! routes requests, checks the caller (`idPA`, `idBrokerPA`, `idStation`), checks what the host
//! answers against the schema, and stores receipts in a [`ReceiptStore`] **before** answering
//! `OK`. A receipt delivered twice is stored once; a store failure answers `PAA_SYSTEM_ERROR` so
//! that the node retries.
//!
//! With the `server` feature, `router` serves the service with axum.
//!
//! ```
//! use async_trait::async_trait;
//! use pagopa::node::*;
//!
//! struct MyCreditor; // looks positions up in your database
//!
//! #[async_trait]
//! impl PaForNodeHost for MyCreditor {
//!     async fn verify_payment_notice(
//!         &self,
//!         _req: &VerifyPaymentNoticeRequest,
//!     ) -> Result<NoticeDescription, Fault> {
//!         Err(Fault::new(FaultCode::PagamentoSconosciuto))
//!     }
//!     async fn get_payment(
//!         &self,
//!         _op: Operation,
//!         _req: &GetPaymentRequest,
//!     ) -> Result<PaymentData, Fault> {
//!         Err(Fault::new(FaultCode::PagamentoSconosciuto))
//!     }
//!     async fn receipt_stored(&self, receipt: &Receipt) {
//!         // mark the position paid; the receipt is already durable
//!         let _ = &receipt.notice_number;
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let store = SqliteReceiptStore::open(dir.path().join("receipts.db"))?;
//! let service = PaForNodeService::new(
//!     StationConfig::new("80016350821", "15376371009", "15376371009_01"),
//!     MyCreditor,
//!     store,
//! );
//! let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! // What the node would send: an unknown notice.
//! let body = write_request(&NodeRequest::VerifyPaymentNotice(VerifyPaymentNoticeRequest {
//!     ids: RequestIds {
//!         id_pa: "80016350821".into(),
//!         id_broker_pa: "15376371009".into(),
//!         id_station: "15376371009_01".into(),
//!     },
//!     qr_code: QrCode {
//!         fiscal_code: "80016350821".parse()?,
//!         notice_number: "301000000000000144".parse()?,
//!     },
//! }));
//! let reply = rt.block_on(service.handle(Some("paVerifyPaymentNotice"), body.as_bytes()));
//! assert_eq!(reply.fault, Some(FaultCode::PagamentoSconosciuto));
//! // Garbage never panics: it gets PAA_SINTASSI_EXTRAXSD.
//! let reply = rt.block_on(service.handle(Some("paSendRT"), b"<oops"));
//! assert_eq!(reply.fault, Some(FaultCode::SintassiExtraxsd));
//! # Ok(()) }
//! ```
//!
//! Security: requests are parsed by a bounded reader (no DTDs, no external entities, depth and
//! size limits); malformed requests get `PAA_SINTASSI_EXTRAXSD`, never a panic.

mod codec;
mod fault;
#[cfg(feature = "server")]
mod server;
mod service;
mod store;
#[cfg(feature = "postgres")]
mod store_pg;
mod types;
pub(crate) mod xml;

pub use codec::{
    NodeRequest, NodeResponse, Operation, PA_FOR_NODE_NS, RequestError, SOAP_ENV_NS, parse_request,
    parse_response, sniff_operation, write_request, write_response, write_soap_fault,
};
pub use fault::{Fault, FaultCode};
#[cfg(feature = "server")]
pub use server::router;
pub use service::{
    DuplicateReceiptAnswer, PaForNodeHost, PaForNodeService, SoapReply, StationConfig,
};
#[cfg(feature = "postgres")]
pub use store::PgReceiptStore;
#[cfg(feature = "sqlite")]
pub use store::SqliteReceiptStore;
pub use store::{
    InvalidCursor, MAX_PAGE_SIZE, MemoryReceiptStore, PutOutcome, ReceiptCursor, ReceiptPage,
    ReceiptQuery, ReceiptStore, StoreError,
};
#[cfg(feature = "postgres")]
pub(crate) use store_pg::MIGRATIONS as PG_MIGRATIONS;
pub use types::{
    AmountOption, DemandPaymentNoticeRequest, DemandedNotice, EntityType, GetPaymentRequest,
    MAX_AMOUNT, MapEntry, MessageError, NoticeDescription, Outcome, PaymentData,
    PaymentOptionDescription, QrCode, Receipt, ReceiptTransfer, ReceiptTransferTarget,
    ReceiptVersion, RequestIds, SendReceiptRequest, StampRequest, Subject, Transfer,
    TransferTarget, TransferType, VerifyPaymentNoticeRequest,
};
pub use xml::XmlError;
