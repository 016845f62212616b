//! Codici fiscali: the 16-character personal code and the 11-digit numeric code.

use core::str::FromStr;

use crate::error::{Expected, Kind, ParseError, bad_char, check_len};
use crate::macros::string_newtype;
use crate::piva::luhn_check_digit;

/// A personal codice fiscale: 16 characters, uppercase, with a valid check character.
///
/// Omocodia variants (digits replaced by `LMNPQRSTUV` when two people would share a code) are
/// valid codes of their own and are accepted as they are; [`CodiceFiscale::base_form`] gives the
/// code with those letters turned back into digits.
///
/// Parsing trims surrounding whitespace and uppercases; it then checks the position of letters and
/// digits, that the encoded birth month and day exist, and the check character.
///
/// ```
/// use pa_types::CodiceFiscale;
///
/// let cf: CodiceFiscale = "rssmra85t10a562s".parse()?;
/// assert_eq!(cf.as_str(), "RSSMRA85T10A562S");
/// assert_eq!(cf.birth_month(), 12);
/// assert!(!cf.is_female());
/// # Ok::<(), pa_types::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodiceFiscale(String);

string_newtype!(CodiceFiscale);

/// Positions (0-based) that hold digits, where omocodia may substitute letters.
const DIGIT_POSITIONS: [usize; 7] = [6, 7, 9, 10, 12, 13, 14];
/// Omocodia substitution letters, indexed by the digit they replace.
const OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";
/// Month letters, indexed by month - 1.
const MONTHS: &[u8; 12] = b"ABCDEHLMPRST";
/// Values of the characters in odd (1-based) positions, `0-9` then `A-Z`.
const ODD: [u8; 36] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, // 0-9
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24,
    23, // A-Z
];

/// Computes the check letter used by the codice fiscale (and by the Italian IBAN's CIN) over
/// uppercase ASCII alphanumerics. Returns `None` if a byte is not `0-9`/`A-Z`.
pub(crate) fn check_letter(chars: &[u8]) -> Option<u8> {
    let mut sum: u32 = 0;
    for (i, &c) in chars.iter().enumerate() {
        let idx = match c {
            b'0'..=b'9' => c - b'0',
            b'A'..=b'Z' => c - b'A' + 10,
            _ => return None,
        };
        let value = if i % 2 == 0 {
            ODD[usize::from(idx)]
        } else if idx < 10 {
            idx
        } else {
            idx - 10
        };
        sum += u32::from(value);
    }
    // sum % 26 < 26, so the cast cannot truncate.
    Some(b'A' + (sum % 26) as u8)
}

fn digit_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        _ => OMOCODIA
            .iter()
            .position(|&l| l == c)
            .and_then(|p| u8::try_from(p).ok()),
    }
}

impl FromStr for CodiceFiscale {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const K: Kind = Kind::CodiceFiscale;
        let s = s.trim();
        check_len(K, s, 16, 16)?;
        let upper = s.to_ascii_uppercase();
        // Length in chars is 16; reject non-ASCII before indexing bytes.
        for (i, c) in upper.chars().enumerate() {
            if !c.is_ascii_alphanumeric() {
                return Err(bad_char(K, i, c, Expected::Alphanumeric));
            }
        }
        let b = upper.as_bytes();
        for (i, &c) in b.iter().enumerate() {
            let ok = if DIGIT_POSITIONS.contains(&i) {
                digit_value(c).is_some()
            } else if i == 8 {
                MONTHS.contains(&c)
            } else {
                c.is_ascii_uppercase()
            };
            if !ok {
                let expected = if DIGIT_POSITIONS.contains(&i) {
                    Expected::DigitOrOmocodia
                } else if i == 8 {
                    Expected::MonthLetter
                } else {
                    Expected::Letter
                };
                return Err(bad_char(K, i, char::from(c), expected));
            }
        }
        let month = MONTHS
            .iter()
            .position(|&m| m == b[8])
            .and_then(|p| u8::try_from(p + 1).ok())
            .unwrap_or(0);
        let day = digit_value(b[9]).unwrap_or(0) * 10 + digit_value(b[10]).unwrap_or(0);
        let day_of_month = if day > 40 { day - 40 } else { day };
        let max_day = match month {
            2 => 29,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        if day_of_month == 0 || day_of_month > max_day {
            return Err(ParseError::BirthDate { month, day });
        }
        let expected = check_letter(&b[..15]).unwrap_or(b'?');
        if expected != b[15] {
            return Err(ParseError::CheckCharacter {
                kind: K,
                expected: char::from(expected),
                found: char::from(b[15]),
            });
        }
        Ok(CodiceFiscale(upper))
    }
}

impl CodiceFiscale {
    fn bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    fn digit(&self, i: usize) -> u8 {
        digit_value(self.bytes()[i]).unwrap_or(0)
    }

    /// Whether this is an omocodia variant (some digits replaced by letters).
    #[must_use]
    pub fn is_omocode(&self) -> bool {
        DIGIT_POSITIONS
            .iter()
            .any(|&i| !self.bytes()[i].is_ascii_digit())
    }

    /// The code with every omocodia letter turned back into its digit and the check character
    /// recomputed. For a code that is not an omocodia variant this is the code itself.
    #[must_use]
    pub fn base_form(&self) -> CodiceFiscale {
        let mut b = self.bytes().to_vec();
        for &i in &DIGIT_POSITIONS {
            b[i] = b'0' + self.digit(i);
        }
        b[15] = check_letter(&b[..15]).unwrap_or(b'?');
        CodiceFiscale(String::from_utf8_lossy(&b).into_owned())
    }

    /// The last two digits of the birth year.
    #[must_use]
    pub fn birth_year_two_digits(&self) -> u8 {
        self.digit(6) * 10 + self.digit(7)
    }

    /// The birth month, 1 to 12.
    #[must_use]
    pub fn birth_month(&self) -> u8 {
        MONTHS
            .iter()
            .position(|&m| m == self.bytes()[8])
            .and_then(|p| u8::try_from(p + 1).ok())
            .unwrap_or(0)
    }

    /// The birth day of month, 1 to 31.
    #[must_use]
    pub fn birth_day(&self) -> u8 {
        let d = self.digit(9) * 10 + self.digit(10);
        if d > 40 { d - 40 } else { d }
    }

    /// Whether the code encodes a woman (day of birth + 40).
    #[must_use]
    pub fn is_female(&self) -> bool {
        self.digit(9) >= 4
    }

    /// The cadastral (Belfiore) code of the place of birth, e.g. `H501` for Rome, `Z…` for a
    /// foreign country, with omocodia letters turned back into digits.
    #[must_use]
    pub fn belfiore_code(&self) -> String {
        let b = self.bytes();
        let mut out = String::with_capacity(4);
        out.push(char::from(b[11]));
        for i in 12..15 {
            out.push(char::from(b'0' + self.digit(i)));
        }
        out
    }
}

/// An 11-digit numeric codice fiscale, as assigned to legal entities, public bodies and (as a
/// temporary code) to persons, with its check digit verified.
///
/// ```
/// use pa_types::NumericFiscalCode;
///
/// let cf: NumericFiscalCode = "80016350821".parse()?;
/// assert_eq!(cf.to_string(), "80016350821");
/// # Ok::<(), pa_types::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NumericFiscalCode(String);

string_newtype!(NumericFiscalCode);

impl FromStr for NumericFiscalCode {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_11_digits_checked(Kind::NumericFiscalCode, s).map(NumericFiscalCode)
    }
}

/// Parses 11 digits and verifies the check digit of partita IVA / numeric fiscal codes.
pub(crate) fn parse_11_digits_checked(kind: Kind, s: &str) -> Result<String, ParseError> {
    let digits = parse_digits(kind, s, 11, 11)?;
    let b = digits.as_bytes();
    let expected = luhn_check_digit(&b[..10]);
    if expected != b[10] {
        return Err(ParseError::CheckCharacter {
            kind,
            expected: char::from(expected),
            found: char::from(b[10]),
        });
    }
    Ok(digits)
}

/// Trims and checks that `s` is `min..=max` ASCII digits.
pub(crate) fn parse_digits(
    kind: Kind,
    s: &str,
    min: usize,
    max: usize,
) -> Result<String, ParseError> {
    let s = s.trim();
    check_len(kind, s, min, max)?;
    for (i, c) in s.chars().enumerate() {
        if !c.is_ascii_digit() {
            return Err(bad_char(kind, i, c, Expected::Digit));
        }
    }
    Ok(s.to_owned())
}

/// Either form of codice fiscale: the 16-character personal one or the 11-digit numeric one.
///
/// Chosen by length when parsing.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnyFiscalCode {
    /// A 16-character personal code.
    Personal(CodiceFiscale),
    /// An 11-digit numeric code.
    Numeric(NumericFiscalCode),
}

impl AnyFiscalCode {
    /// The code as a string slice.
    #[must_use]
    pub fn as_str(&self) -> &str {
        match self {
            AnyFiscalCode::Personal(c) => c.as_str(),
            AnyFiscalCode::Numeric(c) => c.as_str(),
        }
    }
}

impl FromStr for AnyFiscalCode {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        if t.chars().count() == 11 {
            t.parse().map(AnyFiscalCode::Numeric)
        } else {
            t.parse().map(AnyFiscalCode::Personal)
        }
    }
}

impl core::fmt::Display for AnyFiscalCode {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl AsRef<str> for AnyFiscalCode {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl serde::Serialize for AnyFiscalCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for AnyFiscalCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl From<CodiceFiscale> for AnyFiscalCode {
    fn from(c: CodiceFiscale) -> Self {
        AnyFiscalCode::Personal(c)
    }
}

impl From<NumericFiscalCode> for AnyFiscalCode {
    fn from(c: NumericFiscalCode) -> Self {
        AnyFiscalCode::Numeric(c)
    }
}
