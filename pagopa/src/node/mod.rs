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
//! With the `server` feature, [`router`] serves the service with axum.
//!
//! Security: requests are parsed by a bounded reader (no DTDs, no external entities, depth and
//! size limits); malformed requests get `PAA_SINTASSI_EXTRAXSD`, never a panic.

mod codec;
mod fault;
#[cfg(feature = "server")]
mod server;
mod service;
mod store;
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
#[cfg(feature = "sqlite")]
pub use store::SqliteReceiptStore;
pub use store::{MemoryReceiptStore, PutOutcome, ReceiptStore, StoreError};
pub use types::{
    AmountOption, DemandPaymentNoticeRequest, DemandedNotice, EntityType, GetPaymentRequest,
    MAX_AMOUNT, MapEntry, MessageError, NoticeDescription, Outcome, PaymentData,
    PaymentOptionDescription, QrCode, Receipt, ReceiptTransfer, ReceiptTransferTarget,
    ReceiptVersion, RequestIds, SendReceiptRequest, StampRequest, Subject, Transfer,
    TransferTarget, TransferType, VerifyPaymentNoticeRequest,
};
pub use xml::XmlError;
