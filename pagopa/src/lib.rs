//! pagoPA for creditors (enti creditori).
//!
//! Notice numbers (numero avviso), IUVs, segregation and application codes and ISO 11649 RF
//! references, with their check digits ([`NoticeNumber`], [`Iuv`], [`RfReference`]).
//!
//! ```
//! use pagopa::{NoticeNumber, SegregationCode};
//!
//! let seg = SegregationCode::new(1).expect("two digits");
//! let notice = NoticeNumber::new_aux3(seg, 1)?;
//! assert_eq!(notice.as_str(), "301000000000000144");
//! assert_eq!(notice.iuv().as_str(), "01000000000000144");
//! # Ok::<(), pagopa::CodeError>(())
//! ```

mod alloc;
mod codes;
mod notice;

pub mod gpd;
pub mod node;
pub mod reporting;

pub use codes::{
    ApplicationCode, AuxDigit, CodeError, CodeKind, Iuv, IuvKind, MAX_BASE13, NoticeNumber,
    RfReference, SegregationCode,
};

#[cfg(feature = "sqlite")]
pub use alloc::SqliteSequence;
pub use alloc::{
    AllocError, IuvAllocator, MemorySequence, SequenceAllocator, SequenceBackend, SequenceKey,
};

pub use notice::{
    MAX_POSTE_CENTS, MAX_QR_CENTS, POSTE_PAYLOAD_LEN, PayloadError, PostalAccount,
    PosteDataMatrix, QrPayload, RenderError,
};
#[cfg(feature = "render")]
pub use notice::{
    DATAMATRIX_MODULE_MM, DATAMATRIX_QUIET_ZONE, DecodeError, QR_PRINT_SIZE_MM, QR_QUIET_ZONE,
    QR_VERSION, Symbol, Symbology,
};
