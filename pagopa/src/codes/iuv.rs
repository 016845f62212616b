//! The IUV (identificativo univoco di versamento).

use std::fmt;
use std::str::FromStr;

use super::digits::{self, mod93, pow10};
use super::error::{CodeError, CodeKind};
use super::notice::AuxDigit;
use super::rf::RfReference;
use super::segregation::{ApplicationCode, SegregationCode};

/// The shape of an [`Iuv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IuvKind {
    /// 15 digits: base 13 + check digits, the IUV of an aux-0 notice number.
    Digits15,
    /// 17 digits: the IUV of an aux-1, aux-2 or aux-3 notice number.
    Digits17,
    /// A legacy ISO 11649 RF creditor reference (up to 25 characters) used as IUV.
    Rf,
}

/// A structurally valid IUV: 15 digits, 17 digits, or an RF creditor reference (≤ 25 chars).
///
/// A numeric IUV cannot be fully verified alone: its check digits depend on the aux digit
/// (and, for aux 0, the application code) of its notice number. Use
/// [`Iuv::verify_as`] or build the [`NoticeNumber`](crate::NoticeNumber).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iuv {
    len: u8,
    bytes: [u8; 25],
}

impl Iuv {
    /// Parses an IUV: 15 or 17 ASCII digits, or an RF reference (verified, stored uppercase).
    ///
    /// # Errors
    /// [`CodeError::WrongLength`], [`CodeError::NonDigit`], or the RF reference's errors.
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        if s.len() >= 2 && s.as_bytes()[..2].eq_ignore_ascii_case(b"RF") {
            let rf = RfReference::parse(s)?;
            return Ok(Self::from_validated_digits(rf.as_str().as_bytes()));
        }
        if s.len() != 15 && s.len() != 17 {
            return Err(CodeError::WrongLength {
                what: CodeKind::Iuv,
                expected: "15 or 17 (or an RF reference)",
                found: s.chars().count(),
            });
        }
        digits::check_all_digits(s, s.as_bytes(), CodeKind::Iuv)?;
        Ok(Self::from_validated_digits(s.as_bytes()))
    }

    /// Caller guarantees `b` is a valid IUV body of at most 25 ASCII bytes.
    pub(crate) fn from_validated_digits(b: &[u8]) -> Self {
        let mut bytes = [0u8; 25];
        let len = b.len().min(25);
        bytes[..len].copy_from_slice(&b[..len]);
        Self {
            len: len as u8,
            bytes,
        }
    }

    /// Builds the 17-digit IUV of an aux-3 notice: segregation code + 13-digit base + check
    /// digits.
    ///
    /// # Errors
    /// [`CodeError::BaseOutOfRange`] if `base` has more than 13 digits.
    pub fn new_aux3(segregation: SegregationCode, base: u64) -> Result<Self, CodeError> {
        Ok(crate::NoticeNumber::new_aux3(segregation, base)?.iuv())
    }

    /// The IUV text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The IUV's shape.
    #[must_use]
    pub fn kind(&self) -> IuvKind {
        match (self.len, self.bytes[0]) {
            (15, b'0'..=b'9') => IuvKind::Digits15,
            (17, b'0'..=b'9') => IuvKind::Digits17,
            _ => IuvKind::Rf,
        }
    }

    /// The RF reference, when this IUV is one.
    #[must_use]
    pub fn as_rf(&self) -> Option<RfReference> {
        (self.kind() == IuvKind::Rf)
            .then(|| RfReference::parse(self.as_str()).ok())
            .flatten()
    }

    /// Verifies the check digits of a numeric IUV as part of a notice with the given aux digit
    /// (`application` is needed for aux 0 and ignored otherwise). Aux 1 has no check digits, so
    /// any 17-digit IUV passes.
    ///
    /// # Errors
    /// [`CodeError::IuvShape`] if the IUV's shape does not fit `aux` (or aux 0 without an
    /// application code); [`CodeError::CheckDigits`] with the IUV as subject.
    pub fn verify_as(
        &self,
        aux: AuxDigit,
        application: Option<ApplicationCode>,
    ) -> Result<(), CodeError> {
        let b = &self.bytes[..usize::from(self.len)];
        let shape = CodeError::IuvShape {
            aux: aux.value(),
            found: b.len(),
        };
        let n = match (aux, self.kind()) {
            (AuxDigit::Zero, IuvKind::Digits15) => {
                let app = application.ok_or(shape)?;
                u64::from(app.value()) * pow10(13) + digits::value(&b[..13])
            }
            (AuxDigit::One, IuvKind::Digits17) => return Ok(()),
            (AuxDigit::Two | AuxDigit::Three, IuvKind::Digits17) => {
                u64::from(aux.value()) * pow10(15) + digits::value(&b[..15])
            }
            _ => return Err(shape),
        };
        let found = (b[b.len() - 2] - b'0') * 10 + (b[b.len() - 1] - b'0');
        let expected = mod93(n);
        if expected == found {
            Ok(())
        } else {
            Err(CodeError::CheckDigits {
                what: CodeKind::Iuv,
                expected,
                found,
            })
        }
    }
}

impl fmt::Display for Iuv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Iuv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Iuv({})", self.as_str())
    }
}

impl AsRef<str> for Iuv {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl FromStr for Iuv {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, CodeError> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for Iuv {
    type Error = CodeError;
    fn try_from(s: &str) -> Result<Self, CodeError> {
        Self::parse(s)
    }
}

impl serde::Serialize for Iuv {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Iuv {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}
