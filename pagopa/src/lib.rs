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

pub use codes::{
    ApplicationCode, AuxDigit, CodeError, CodeKind, Iuv, IuvKind, MAX_BASE13, NoticeNumber,
    RfReference, SegregationCode,
};

#[cfg(feature = "sqlite")]
pub use alloc::SqliteSequence;
pub use alloc::{
    AllocError, IuvAllocator, MemorySequence, SequenceAllocator, SequenceBackend, SequenceKey,
};
