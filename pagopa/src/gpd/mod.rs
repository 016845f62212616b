//! GPD (Gestione Posizioni Debitorie): typed debt positions that are checked against GPD's
//! rules before sending, and the REST clients (feature `client`): debt positions
//! (`GpdClient`) and the receipts GPD keeps (`GpdReceiptsClient`).
//!
//! The subscription key is a [`SubscriptionKey`], which prints as `[redacted]`.

#[cfg(feature = "client")]
mod client;
pub(crate) mod http;
mod model;
#[cfg(feature = "client")]
mod receipts;

#[cfg(feature = "client")]
pub use client::{GPD_PRODUCTION_URL, GPD_UAT_URL, GpdClient, GpdError, ListQuery, OrderBy};
pub use http::{ApiError, Problem, RetryPolicy, SubscriptionKey};
pub use model::{
    DebtPosition, DebtPositionInfo, Debtor, DebtorType, Destination, Metadata, PageInfo,
    PaymentOption, PaymentOptionInfo, PositionStatus, PositionsPage, Stamp, Taxonomy, Transfer,
    TransferInfo, ValidationError,
};
#[cfg(feature = "client")]
pub use receipts::{GpdReceiptsClient, ReceiptSummary, ReceiptsPage, ReceiptsQuery};
