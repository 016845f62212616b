//! Reporting (rendicontazione): the `FlussoRiversamento` flow, the FdR REST client, and
//! reconciliation of reported payments against stored receipts.
//!
//! - [`FlowParser`] reads a flow in constant memory, payment by payment, and checks the declared
//!   totals at the end. Outcome codes 0, 3, 9 (schema) and 4, 8 (stand-in) are understood.
//! - `FdrClient` (feature `client`) lists published flows and pages through their payments.
//! - [`write_flow`] writes a flow (simulators, tests).
//! - [`reconcile`] matches reported payments with received ones on IUV + IUR + transfer index and
//!   lists what is reported but not received, received but not reported, or differs in amount.

#[cfg(feature = "client")]
mod fdr;
mod flow;
mod reconcile;
mod write;

#[cfg(feature = "client")]
pub use fdr::{
    FDR_PRODUCTION_URL, FdrClient, FdrError, FdrPayment, FlowInfo, FlowSummary, FlowsQuery, Page,
    PayStatus,
};
pub use flow::{
    FLOW_NS, FlowError, FlowHeader, FlowParser, FlowPayment, Institution, OutcomeCode,
    flow_id_from_causale, parse_flow, settlement_causale,
};
pub use reconcile::{
    Mismatch, PaymentKey, ReceivedPayment, Reconciliation, ReportedPayment, reconcile,
};
pub use write::write_flow;
