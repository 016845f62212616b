//! The 18-digit notice number (numero avviso, NAV).

use std::fmt;
use std::str::FromStr;

use super::digits::{self, mod93, pow10};
use super::error::{CodeError, CodeKind};
use super::iuv::Iuv;
use super::segregation::{ApplicationCode, SegregationCode};

/// The first digit of a notice number, which selects its layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AuxDigit {
    /// `0` + application code(2) + IUV(15 = base 13 + check digits 2). Deprecated.
    Zero,
    /// `1` + IUV(17), no check digits. Deprecated.
    One,
    /// `2` + IUV(17 = base 15 + check digits 2). Deprecated.
    Two,
    /// `3` + IUV(17 = segregation code 2 + base 13 + check digits 2). The current layout.
    Three,
}

impl AuxDigit {
    /// The digit, 0..=3.
    #[must_use]
    pub const fn value(self) -> u8 {
        match self {
            AuxDigit::Zero => 0,
            AuxDigit::One => 1,
            AuxDigit::Two => 2,
            AuxDigit::Three => 3,
        }
    }

    /// Whether notice numbers of this layout end with mod-93 check digits (all but aux 1).
    #[must_use]
    pub const fn has_check_digits(self) -> bool {
        !matches!(self, AuxDigit::One)
    }
}

impl fmt::Display for AuxDigit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.value())
    }
}

/// A validated 18-digit pagoPA notice number (numero avviso).
///
/// Parsing checks the length, the digits, the aux digit and, for aux 0, 2 and 3, the mod-93
/// check digits (the last two digits equal the first sixteen, read as a number, modulo 93).
///
/// ```
/// use pagopa::{NoticeNumber, SegregationCode};
///
/// let n: NoticeNumber = "301000000000000144".parse()?;
/// assert_eq!(n.segregation_code(), SegregationCode::new(1));
/// assert_eq!(n.iuv().as_str(), "01000000000000144");
/// assert_eq!(n.to_print_format(), "3010 0000 0000 0001 44");
///
/// let built = NoticeNumber::new_aux3(SegregationCode::new(1).unwrap(), 1)?;
/// assert_eq!(built, n);
/// assert!("301000000000000145".parse::<NoticeNumber>().is_err());
/// # Ok::<(), pagopa::CodeError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NoticeNumber([u8; 18]);

/// Largest 13-digit base of an aux-3 / aux-0 notice number.
pub const MAX_BASE13: u64 = pow10(13) - 1;

impl NoticeNumber {
    /// Parses and verifies an 18-digit notice number (no spaces; see
    /// [`NoticeNumber::parse_print_format`] for the grouped form).
    ///
    /// # Errors
    /// [`CodeError::WrongLength`], [`CodeError::NonDigit`], [`CodeError::UnknownAuxDigit`] or
    /// [`CodeError::CheckDigits`].
    #[inline]
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        let d: [u8; 18] = digits::ascii_digits(s, CodeKind::NoticeNumber, "18")?;
        Self::verify(d)
    }

    /// Parses a notice number that may contain spaces, such as the grouped form printed on
    /// notices (`3010 0000 0000 0001 44`). Error positions refer to the input without spaces.
    ///
    /// # Errors
    /// As [`NoticeNumber::parse`].
    pub fn parse_print_format(s: &str) -> Result<Self, CodeError> {
        if s.contains(' ') {
            let compact: String = s.chars().filter(|c| *c != ' ').collect();
            Self::parse(&compact)
        } else {
            Self::parse(s)
        }
    }

    #[inline]
    fn verify(d: [u8; 18]) -> Result<Self, CodeError> {
        match d[0] {
            b'1' => Ok(Self(d)),
            b'0' | b'2' | b'3' => {
                let expected = mod93(digits::value(&d[..16]));
                let found = (d[16] - b'0') * 10 + (d[17] - b'0');
                if expected == found {
                    Ok(Self(d))
                } else {
                    Err(CodeError::CheckDigits {
                        what: CodeKind::NoticeNumber,
                        expected,
                        found,
                    })
                }
            }
            other => Err(CodeError::UnknownAuxDigit {
                found: char::from(other),
            }),
        }
    }

    /// Builds an aux-3 notice number from a segregation code and a 13-digit base
    /// (`0..=9_999_999_999_999`), computing the check digits. This is the layout to generate.
    ///
    /// # Errors
    /// [`CodeError::BaseOutOfRange`] if `base` has more than 13 digits.
    #[inline]
    pub fn new_aux3(segregation: SegregationCode, base: u64) -> Result<Self, CodeError> {
        if base > MAX_BASE13 {
            return Err(CodeError::BaseOutOfRange {
                digits: 13,
                value: base,
            });
        }
        let n = 3 * pow10(15) + u64::from(segregation.value()) * pow10(13) + base;
        let mut d = [0u8; 18];
        digits::write_padded(n, &mut d[..16]);
        digits::write_padded(u64::from(mod93(n)), &mut d[16..]);
        Ok(Self(d))
    }

    /// Builds the notice number of an IUV with aux digit 1, 2 or 3 (`aux` + IUV). The IUV must
    /// have 17 digits; for aux 2 and 3 its check digits are verified.
    ///
    /// # Errors
    /// [`CodeError::IuvShape`] for a 15-digit or RF IUV or `aux` 0 (use
    /// [`NoticeNumber::from_iuv_aux0`]); [`CodeError::CheckDigits`] if they do not match.
    pub fn from_iuv(aux: AuxDigit, iuv: &Iuv) -> Result<Self, CodeError> {
        let b = iuv.as_str().as_bytes();
        if aux == AuxDigit::Zero || b.len() != 17 || !b.iter().all(u8::is_ascii_digit) {
            return Err(CodeError::IuvShape {
                aux: aux.value(),
                found: b.len(),
            });
        }
        let mut d = [0u8; 18];
        d[0] = b'0' + aux.value();
        d[1..].copy_from_slice(b);
        Self::verify(d)
    }

    /// Builds a legacy aux-0 notice number: `0` + application code + 15-digit IUV, verifying the
    /// IUV's check digits.
    ///
    /// # Errors
    /// [`CodeError::IuvShape`] unless the IUV has 15 digits; [`CodeError::CheckDigits`].
    pub fn from_iuv_aux0(application: ApplicationCode, iuv: &Iuv) -> Result<Self, CodeError> {
        let b = iuv.as_str().as_bytes();
        if b.len() != 15 || !b.iter().all(u8::is_ascii_digit) {
            return Err(CodeError::IuvShape {
                aux: 0,
                found: b.len(),
            });
        }
        let mut d = [0u8; 18];
        d[0] = b'0';
        d[1..3].copy_from_slice(&application.ascii());
        d[3..].copy_from_slice(b);
        Self::verify(d)
    }

    /// The 18 digits.
    #[must_use]
    #[inline]
    pub fn as_str(&self) -> &str {
        // Always ASCII digits by construction.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The aux digit (layout).
    #[must_use]
    pub fn aux_digit(&self) -> AuxDigit {
        match self.0[0] {
            b'0' => AuxDigit::Zero,
            b'1' => AuxDigit::One,
            b'2' => AuxDigit::Two,
            _ => AuxDigit::Three,
        }
    }

    /// The segregation code (aux 3 only).
    #[must_use]
    pub fn segregation_code(&self) -> Option<SegregationCode> {
        (self.0[0] == b'3')
            .then(|| SegregationCode::new(self.two(1)))
            .flatten()
    }

    /// The application code (aux 0 only).
    #[must_use]
    pub fn application_code(&self) -> Option<ApplicationCode> {
        (self.0[0] == b'0')
            .then(|| ApplicationCode::new(self.two(1)))
            .flatten()
    }

    /// The check digits, 0..=92 (all layouts but aux 1).
    #[must_use]
    pub fn check_digits(&self) -> Option<u8> {
        (self.0[0] != b'1').then(|| self.two(16))
    }

    /// The numeric base between the code and the check digits: 13 digits for aux 0 and 3,
    /// 15 for aux 2, 17 for aux 1.
    #[must_use]
    pub fn base(&self) -> u64 {
        match self.0[0] {
            b'1' => digits::value(&self.0[1..]),
            b'2' => digits::value(&self.0[1..16]),
            _ => digits::value(&self.0[3..16]),
        }
    }

    /// The IUV inside the notice number: 15 digits for aux 0, 17 otherwise.
    #[must_use]
    pub fn iuv(&self) -> Iuv {
        let start = if self.0[0] == b'0' { 3 } else { 1 };
        Iuv::from_validated_digits(&self.0[start..])
    }

    /// The notice number in groups of four digits, as printed on payment notices:
    /// `3010 0000 0000 0001 44`.
    #[must_use]
    pub fn to_print_format(&self) -> String {
        let mut out = String::with_capacity(22);
        for (i, chunk) in self.as_str().as_bytes().chunks(4).enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.extend(chunk.iter().map(|b| char::from(*b)));
        }
        out
    }

    fn two(&self, at: usize) -> u8 {
        (self.0[at] - b'0') * 10 + (self.0[at + 1] - b'0')
    }
}

impl fmt::Display for NoticeNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for NoticeNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "NoticeNumber({})", self.as_str())
    }
}

impl AsRef<str> for NoticeNumber {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl FromStr for NoticeNumber {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, CodeError> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for NoticeNumber {
    type Error = CodeError;
    fn try_from(s: &str) -> Result<Self, CodeError> {
        Self::parse(s)
    }
}

impl serde::Serialize for NoticeNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for NoticeNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}
