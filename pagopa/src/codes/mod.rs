//! Notice numbers, IUVs, segregation/application codes and RF references with their check
//! digits.

mod digits;
mod error;
mod iuv;
mod notice;
mod rf;
mod segregation;

pub use error::{CodeError, CodeKind};
pub use iuv::{Iuv, IuvKind};
pub use notice::{AuxDigit, MAX_BASE13, NoticeNumber};
pub use rf::RfReference;
pub use segregation::{ApplicationCode, SegregationCode};
