//! GPD (Gestione Posizioni Debitorie): typed debt positions that are checked against GPD's
//! rules before sending, and the REST clients (feature `client`): debt positions
//! (`GpdClient`, v1), positions with several payment options (`GpdV3Client`, v3, on the
//! [`crate::position`] model) and the receipts GPD keeps (`GpdReceiptsClient`).
//!
//! The subscription key is a [`SubscriptionKey`], which prints as `[redacted]`.

#[cfg(feature = "client")]
mod client;
pub(crate) mod http;
mod model;
#[cfg(feature = "client")]
mod receipts;
#[cfg(feature = "client")]
mod v3;

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
#[cfg(feature = "client")]
pub use v3::{
    GPD_V3_PRODUCTION_URL, GPD_V3_UAT_URL, GpdV3Client, InstallmentInfo, PaymentOptionInfoV3,
    PositionInfoV3, PositionsPageV3,
};
