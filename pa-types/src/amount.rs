//! Euro amounts in exact integer cents, with the decimal (`1234.56`) and cents (`123456`) forms.

use core::fmt;
use core::str::FromStr;

use crate::error::{Expected, Kind, ParseError, bad_char, check_len};

/// An amount of euro, held as an exact, non-negative number of cents. No floating point anywhere.
///
/// Two textual forms exist on the platforms: the decimal form with two decimals (`1234.56`, as
/// in pagoPA SOAP and OPI) and the integer cents form (`123456`, as in GPD and App IO).
/// `Display` and [`FromStr`] use the decimal form; serde uses the cents form as a JSON integer by
/// default, and the [`decimal`] and [`cents`] modules choose a form explicitly.
///
/// ```
/// use pa_types::Amount;
///
/// let fee = Amount::parse_decimal("16.00")?;
/// let total = fee.checked_add(Amount::from_cents(250)).expect("no overflow");
/// assert_eq!(total.to_string(), "18.50");
/// assert_eq!(total.cents(), 1850);
/// assert!(Amount::parse_decimal("1.005").is_err()); // not exact cents
/// # Ok::<(), pa_types::ParseError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Amount(u64);

impl Amount {
    /// Zero euro.
    pub const ZERO: Amount = Amount(0);

    /// An amount of `cents` euro cents.
    #[must_use]
    pub const fn from_cents(cents: u64) -> Amount {
        Amount(cents)
    }

    /// An amount of whole euro, if it fits.
    #[must_use]
    pub const fn from_euros(euros: u64) -> Option<Amount> {
        match euros.checked_mul(100) {
            Some(c) => Some(Amount(c)),
            None => None,
        }
    }

    /// The number of cents.
    #[must_use]
    pub const fn cents(self) -> u64 {
        self.0
    }

    /// Whether the amount is zero.
    #[must_use]
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Parses the decimal form: digits, optionally a `.` and one or two decimal digits
    /// (`1234.56`, `1234.5`, `1234`). Signs, spaces, thousands separators and a decimal comma are
    /// rejected.
    ///
    /// # Errors
    /// [`ParseError`] naming the offending character, too many decimals, or overflow.
    pub fn parse_decimal(s: &str) -> Result<Amount, ParseError> {
        const K: Kind = Kind::Amount;
        check_len(K, s, 1, 40)?;
        let (int, frac) = match s.find('.') {
            Some(p) => (&s[..p], Some(&s[p + 1..])),
            None => (s, None),
        };
        if int.is_empty() {
            let c = s.chars().next().unwrap_or('.');
            return Err(bad_char(K, 0, c, Expected::Digit));
        }
        let mut euros: u64 = 0;
        for (i, c) in int.chars().enumerate() {
            let d = c.to_digit(10).ok_or(bad_char(K, i, c, Expected::Digit))?;
            euros = euros
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d)))
                .ok_or(ParseError::Overflow)?;
        }
        let mut cents: u64 = 0;
        if let Some(frac) = frac {
            let offset = int.chars().count() + 1;
            if frac.is_empty() {
                return Err(ParseError::Length {
                    kind: K,
                    min: offset + 1,
                    max: offset + 2,
                    found: offset,
                });
            }
            for (i, c) in frac.chars().enumerate() {
                let d = c
                    .to_digit(10)
                    .ok_or(bad_char(K, offset + i, c, Expected::Digit))?;
                if i >= 2 {
                    return Err(ParseError::TooManyDecimals {
                        found: frac.chars().count(),
                    });
                }
                cents += u64::from(d) * if i == 0 { 10 } else { 1 };
            }
        }
        euros
            .checked_mul(100)
            .and_then(|v| v.checked_add(cents))
            .map(Amount)
            .ok_or(ParseError::Overflow)
    }

    /// Parses the integer cents form (`123456` for 1234.56 euro).
    ///
    /// # Errors
    /// [`ParseError`] naming the offending character, or overflow.
    pub fn parse_cents(s: &str) -> Result<Amount, ParseError> {
        const K: Kind = Kind::Amount;
        check_len(K, s, 1, 20)?;
        let mut v: u64 = 0;
        for (i, c) in s.chars().enumerate() {
            let d = c.to_digit(10).ok_or(bad_char(K, i, c, Expected::Digit))?;
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(u64::from(d)))
                .ok_or(ParseError::Overflow)?;
        }
        Ok(Amount(v))
    }

    /// The decimal form with exactly two decimals, e.g. `1234.56`, `0.05`.
    #[must_use]
    pub fn to_decimal_string(self) -> String {
        self.to_string()
    }

    /// The cents form, e.g. `123456`.
    #[must_use]
    pub fn to_cents_string(self) -> String {
        self.0.to_string()
    }

    /// `self + other`, or `None` on overflow.
    #[must_use]
    pub const fn checked_add(self, other: Amount) -> Option<Amount> {
        match self.0.checked_add(other.0) {
            Some(v) => Some(Amount(v)),
            None => None,
        }
    }

    /// `self - other`, or `None` if the result would be negative.
    #[must_use]
    pub const fn checked_sub(self, other: Amount) -> Option<Amount> {
        match self.0.checked_sub(other.0) {
            Some(v) => Some(Amount(v)),
            None => None,
        }
    }

    /// `self * n`, or `None` on overflow.
    #[must_use]
    pub const fn checked_mul(self, n: u64) -> Option<Amount> {
        match self.0.checked_mul(n) {
            Some(v) => Some(Amount(v)),
            None => None,
        }
    }

    /// The sum of the amounts, or `None` on overflow.
    pub fn checked_sum<I: IntoIterator<Item = Amount>>(iter: I) -> Option<Amount> {
        iter.into_iter()
            .try_fold(Amount::ZERO, |acc, a| acc.checked_add(a))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

impl FromStr for Amount {
    type Err = ParseError;

    /// Parses the decimal form (see [`Amount::parse_decimal`]).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Amount::parse_decimal(s)
    }
}

impl TryFrom<&str> for Amount {
    type Error = ParseError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Amount::parse_decimal(s)
    }
}

impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        cents::serialize(self, s)
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        cents::deserialize(d)
    }
}

/// Serde adapter for the decimal string form (`"1234.56"`), for `#[serde(with = "pa_types::amount::decimal")]`.
///
/// Serializes as a string with two decimals; deserializes a string in the decimal form.
pub mod decimal {
    use super::Amount;

    /// Serializes as `"1234.56"`.
    ///
    /// # Errors
    /// Only the serializer's own errors.
    pub fn serialize<S: serde::Serializer>(a: &Amount, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(a)
    }

    /// Deserializes from `"1234.56"`.
    ///
    /// # Errors
    /// When the value is not a string in the decimal form.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
        Amount::parse_decimal(&s).map_err(serde::de::Error::custom)
    }
}

/// Serde adapter for the integer cents form (`123456`), for `#[serde(with = "pa_types::amount::cents")]`.
///
/// Serializes as an unsigned integer; deserializes an unsigned integer (negative numbers and
/// floats are rejected).
pub mod cents {
    use super::Amount;

    /// Serializes as an integer number of cents.
    ///
    /// # Errors
    /// Only the serializer's own errors.
    pub fn serialize<S: serde::Serializer>(a: &Amount, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(a.0)
    }

    /// Deserializes from an integer number of cents.
    ///
    /// # Errors
    /// When the value is not a non-negative integer.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
        <u64 as serde::Deserialize>::deserialize(d).map(Amount)
    }
}
