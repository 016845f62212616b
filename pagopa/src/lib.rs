//! pagoPA for creditors (enti creditori).
//!
//! ## Payment notice codes and symbols
//! - [`NoticeNumber`] (numero avviso, 18 digits), [`Iuv`], [`SegregationCode`],
//!   [`ApplicationCode`] and ISO 11649 [`RfReference`]: parsed and verified (mod-93 check digits
//!   for aux 0, 2 and 3; mod 97-10 for RF), built from parts (aux 3 is the layout to generate;
//!   aux 0, 1, 2 are parse-and-verify), with [`CodeError`] saying what is wrong and where.
//! - [`IuvAllocator`]: IUVs that are never handed out twice for a creditor and segregation
//!   code, across threads, processes and restarts ([`SequenceAllocator`] over a
//!   [`SequenceBackend`]: [`SqliteSequence`] on one machine, your own database for several).
//! - [`QrPayload`] (`PAGOPA|002|notice|creditor|cents`) and [`PosteDataMatrix`], drawn as a
//!   [`Symbol`] in SVG or PNG (QR version 4, ECC level M, 4-module quiet zone, 25 mm).
//!
//! ```
//! use pa_types::{Amount, OrganizationFiscalCode};
//! use pagopa::{IuvAllocator, MemorySequence, QrPayload, SegregationCode, SequenceAllocator};
//!
//! let creditor: OrganizationFiscalCode = "80016350821".parse()?;
//! let seg = SegregationCode::new(1).expect("two digits");
//! // In production: SqliteSequence::open("iuv.sqlite")? (durable, multi-process).
//! let allocator = SequenceAllocator::new(MemorySequence::new());
//! let notice = allocator.allocate(&creditor, seg)?;
//! assert_eq!(notice.as_str(), "301000000000000144");
//! assert_eq!(notice.iuv().as_str(), "01000000000000144");
//! assert_eq!(notice.to_print_format(), "3010 0000 0000 0001 44");
//!
//! let qr = QrPayload::new(notice, creditor, Amount::parse_decimal("12.34")?)?;
//! assert_eq!(qr.to_string(), "PAGOPA|002|301000000000000144|80016350821|1234");
//! let symbol = qr.to_symbol()?;
//! assert_eq!(symbol.width(), 33);
//! let svg: String = symbol.to_svg();
//! let png: Vec<u8> = symbol.to_png(8)?;
//! # let _ = (svg, png);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! ## Talking to the platform
//! - [`checkout`]: carts of 1 to 5 notices posted to pagoPA Checkout (EC API v2), checked
//!   before sending, and the redirect for the citizen's browser (client: feature `client`).
//! - [`gpd`]: typed debt positions checked against GPD's rules before sending, and the GPD REST
//!   client (feature `client`; subscription key redacted in `Debug`; retries only where
//!   idempotent).
//! - [`position`]: debt positions with several payment options (single payment and installment
//!   plans), one model for GPD v3 and for the paForNode host ([`position::PositionBook`]).
//! - [`node`]: the paForNode SOAP interface a creditor exposes (verify, activate, receipts), with
//!   durable, idempotent receipt storage (SQLite by default) and an axum router (feature
//!   `server`).
//! - [`reporting`]: streaming `FlussoRiversamento` parser, FdR client, reconciliation of reported
//!   payments against received receipts.
//! - `simulator` (feature `simulator`): a local pagoPA node that drives a paForNode server, and
//!   `CheckoutSimulator`, a local Checkout that takes carts, shows a payment page and pays through
//!   the creditor's paForNode endpoint.
//! - [`avviso`] (feature `avviso`): the printable payment notice as a PDF, in pagoPA's layout.

mod alloc;
mod codes;
mod notice;

#[cfg(feature = "avviso")]
pub mod avviso;
pub mod checkout;
pub mod gpd;
pub mod node;
pub mod position;
pub mod reporting;
#[cfg(feature = "simulator")]
pub mod simulator;

pub use codes::{
    ApplicationCode, AuxDigit, CodeError, CodeKind, Iuv, IuvKind, MAX_BASE13, NoticeNumber,
    RfReference, SegregationCode,
};

#[cfg(feature = "postgres")]
pub use alloc::PgSequence;
#[cfg(feature = "sqlite")]
pub use alloc::SqliteSequence;

/// The PostgreSQL schema of this crate (component `pagopa`): the receipts of
/// [`node::PgReceiptStore`] (with the listing index by creditor and payment date) and the IUV
/// sequence of [`PgSequence`]. Apply it with `pa_postgres::Database::migrate` (the stores'
/// `connect`/`open` do it at start), or with `pa db migrate`.
#[cfg(feature = "postgres")]
pub const PG_MIGRATIONS: pa_postgres::Migrations = node::PG_MIGRATIONS;
pub use alloc::{
    AllocError, AsyncIuvAllocator, BlockingAllocator, IuvAllocator, MemorySequence,
    SequenceAllocator, SequenceBackend, SequenceKey, SharedSequenceAllocator,
    SharedSequenceBackend,
};

#[cfg(feature = "render")]
pub use notice::{
    DATAMATRIX_MODULE_MM, DATAMATRIX_QUIET_ZONE, DecodeError, QR_PRINT_SIZE_MM, QR_QUIET_ZONE,
    QR_VERSION, Symbol, Symbology,
};
pub use notice::{
    MAX_POSTE_CENTS, MAX_QR_CENTS, POSTE_PAYLOAD_LEN, PayloadError, PostalAccount, PosteDataMatrix,
    QrPayload, RenderError,
};
