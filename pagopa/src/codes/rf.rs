//! ISO 11649 RF creditor references (legacy pagoPA IUV form).

use std::fmt;
use std::str::FromStr;

use super::error::{CodeError, CodeKind};

/// A verified ISO 11649 creditor reference: `RF` + 2 check digits (ISO 7064 mod 97-10) + 1 to
/// 21 alphanumeric characters. Parsing is case-insensitive; the value is kept uppercase and
/// displayed in electronic form (no spaces).
///
/// ```
/// use pagopa::RfReference;
///
/// let rf = RfReference::from_reference("539007547034")?;
/// assert_eq!(rf.as_str(), "RF18539007547034");
/// assert_eq!(rf.to_print_format(), "RF18 5390 0754 7034");
/// assert!("RF19539007547034".parse::<RfReference>().is_err());
/// # Ok::<(), pagopa::CodeError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RfReference {
    len: u8,
    bytes: [u8; 25],
}

const WHAT: CodeKind = CodeKind::RfReference;

/// Remainder mod 97 of the ISO 7064 number for `chars` (digits as themselves, letters as
/// 10..=35), continuing from `acc`.
fn mod97(acc: u32, chars: &[u8]) -> u32 {
    chars.iter().fold(acc, |r, c| match c {
        b'0'..=b'9' => (r * 10 + u32::from(c - b'0')) % 97,
        _ => (r * 100 + u32::from(c.to_ascii_uppercase() - b'A') + 10) % 97,
    })
}

/// Check digits (2..=98) for a reference body.
fn check_digits_for(body: &[u8]) -> u8 {
    let r = mod97(mod97(0, body), b"RF00");
    (98 - r) as u8
}

fn check_body(body: &[u8], offset: usize, original: &str) -> Result<(), CodeError> {
    for (i, b) in body.iter().enumerate() {
        if !b.is_ascii_alphanumeric() {
            let position = original.chars().count().min(offset + i + 1);
            let found = original.chars().nth(offset + i).unwrap_or(char::from(*b));
            return Err(CodeError::InvalidCharacter {
                what: WHAT,
                position,
                found,
            });
        }
    }
    Ok(())
}

impl RfReference {
    /// Parses and verifies an RF reference in electronic form (no spaces), any letter case.
    ///
    /// # Errors
    /// [`CodeError::MissingRfPrefix`], [`CodeError::WrongLength`] (5..=25),
    /// [`CodeError::NonDigit`] in the check digits, [`CodeError::InvalidCharacter`] in the
    /// reference, [`CodeError::CheckDigits`].
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        let b = s.as_bytes();
        if b.len() < 2 || !b[..2].eq_ignore_ascii_case(b"RF") {
            return Err(CodeError::MissingRfPrefix);
        }
        let n = s.chars().count();
        if !(5..=25).contains(&b.len()) || n != b.len() {
            return Err(CodeError::WrongLength {
                what: WHAT,
                expected: "5 to 25",
                found: n,
            });
        }
        for (i, c) in b[2..4].iter().enumerate() {
            if !c.is_ascii_digit() {
                return Err(CodeError::NonDigit {
                    what: WHAT,
                    position: i + 3,
                    found: char::from(*c),
                });
            }
        }
        let body = &b[4..];
        check_body(body, 4, s)?;
        let found = (b[2] - b'0') * 10 + (b[3] - b'0');
        let expected = check_digits_for(body);
        // 00, 01 and 99 are never produced: 01 ≡ 98 and 99 ≡ 02 (mod 97) would otherwise pass.
        if found != expected {
            return Err(CodeError::CheckDigits {
                what: WHAT,
                expected,
                found,
            });
        }
        let mut bytes = [0u8; 25];
        for (dst, src) in bytes.iter_mut().zip(b) {
            *dst = src.to_ascii_uppercase();
        }
        Ok(Self {
            len: b.len() as u8,
            bytes,
        })
    }

    /// Parses an RF reference that may contain spaces (the printed form, `RF18 5390 0754 7034`).
    ///
    /// # Errors
    /// As [`RfReference::parse`]; positions refer to the input without spaces.
    pub fn parse_print_format(s: &str) -> Result<Self, CodeError> {
        let compact: String = s.chars().filter(|c| *c != ' ').collect();
        Self::parse(&compact)
    }

    /// Builds an RF reference from its body (1 to 21 alphanumeric characters), computing the
    /// check digits.
    ///
    /// # Errors
    /// [`CodeError::WrongLength`] or [`CodeError::InvalidCharacter`] (positions within `reference`).
    pub fn from_reference(reference: &str) -> Result<Self, CodeError> {
        let b = reference.as_bytes();
        let n = reference.chars().count();
        if !(1..=21).contains(&b.len()) || n != b.len() {
            return Err(CodeError::WrongLength {
                what: WHAT,
                expected: "1 to 21 (reference part)",
                found: n,
            });
        }
        check_body(b, 0, reference)?;
        let cd = check_digits_for(b);
        let mut bytes = [0u8; 25];
        bytes[0] = b'R';
        bytes[1] = b'F';
        bytes[2] = b'0' + cd / 10;
        bytes[3] = b'0' + cd % 10;
        for (dst, src) in bytes[4..].iter_mut().zip(b) {
            *dst = src.to_ascii_uppercase();
        }
        Ok(Self {
            len: (b.len() + 4) as u8,
            bytes,
        })
    }

    /// The electronic form, uppercase, no spaces.
    #[must_use]
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes[..usize::from(self.len)]).unwrap_or_default()
    }

    /// The check digits, 2..=98.
    #[must_use]
    pub fn check_digits(&self) -> u8 {
        (self.bytes[2] - b'0') * 10 + (self.bytes[3] - b'0')
    }

    /// The reference part after `RFkk`.
    #[must_use]
    pub fn reference(&self) -> &str {
        self.as_str().get(4..).unwrap_or_default()
    }

    /// The printed form in groups of four characters: `RF18 5390 0754 7034`.
    #[must_use]
    pub fn to_print_format(&self) -> String {
        let mut out = String::with_capacity(32);
        for (i, chunk) in self.as_str().as_bytes().chunks(4).enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.extend(chunk.iter().map(|b| char::from(*b)));
        }
        out
    }
}

impl fmt::Display for RfReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for RfReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RfReference({})", self.as_str())
    }
}

impl AsRef<str> for RfReference {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl FromStr for RfReference {
    type Err = CodeError;
    fn from_str(s: &str) -> Result<Self, CodeError> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for RfReference {
    type Error = CodeError;
    fn try_from(s: &str) -> Result<Self, CodeError> {
        Self::parse(s)
    }
}

impl serde::Serialize for RfReference {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for RfReference {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}
