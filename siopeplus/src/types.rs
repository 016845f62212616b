//! Small OPI value types: codes with the schema's patterns, enumerations, decimal amounts.

use std::fmt;
use std::str::FromStr;

use pa_types::Amount;

/// Why a value does not fit its OPI type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: expected {expected}, found {found:?}")]
pub struct InvalidValue {
    /// The OPI type or element that was being read.
    pub what: &'static str,
    /// What the schema allows.
    pub expected: &'static str,
    /// The value found (truncated to 80 characters).
    pub found: String,
}

impl InvalidValue {
    pub(crate) fn new(what: &'static str, expected: &'static str, found: &str) -> Self {
        let found: String = found.chars().take(80).collect();
        InvalidValue {
            what,
            expected,
            found,
        }
    }
}

macro_rules! code_newtype {
    ($(#[$m:meta])* $name:ident, $what:literal, $expected:literal, $check:expr) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The code as a string slice.
            #[must_use]
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl FromStr for $name {
            type Err = InvalidValue;
            fn from_str(s: &str) -> Result<Self, InvalidValue> {
                let check: fn(&str) -> bool = $check;
                if check(s) {
                    Ok($name(s.to_owned()))
                } else {
                    Err(InvalidValue::new($what, $expected, s))
                }
            }
        }

        impl TryFrom<&str> for $name {
            type Error = InvalidValue;
            fn try_from(s: &str) -> Result<Self, InvalidValue> {
                s.parse()
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

code_newtype!(
    /// ABI code of the treasurer bank (`stABI_CAB`: five digits).
    CodiceAbi,
    "codice ABI",
    "5 digits",
    |s| s.len() == 5 && all_digits(s)
);

code_newtype!(
    /// A2A code of a party on the SIOPE+ channel (`stCodiceA2A`: `A2A-` and eight digits).
    CodiceA2a,
    "codice A2A",
    "A2A- followed by 8 digits",
    |s| s.len() == 12 && s.starts_with("A2A-") && all_digits(&s[4..])
);

code_newtype!(
    /// Identifier of a flow, unique per ente (`stIdFlusso`: `[a-zA-Z0-9#_\-.]{1,70}`).
    IdentificativoFlusso,
    "identificativo_flusso",
    "1 to 70 characters among letters, digits, #, _, - and .",
    |s| (1..=70).contains(&s.len())
        && s
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'#' | b'_' | b'-' | b'.'))
);

code_newtype!(
    /// Code of the ente in SIOPE+ (`stCodiceIPA_Ente`: six upper-case letters or digits).
    CodiceEnte,
    "codice_ente",
    "6 characters A-Z or 0-9",
    |s| s.len() == 6
        && s
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
);

code_newtype!(
    /// ISTAT code of the ente (`stCodiceISTAT_Ente`: 9 to 15 digits).
    CodiceIstat,
    "codice_istat_ente",
    "9 to 15 digits",
    |s| (9..=15).contains(&s.len()) && all_digits(s)
);

code_newtype!(
    /// SIOPE management code (`stCodiceGestionaleSIOPE`: 4 to 10 digits), `codice_cgu` / `codice_cge`.
    CodiceGestionale,
    "codice gestionale SIOPE",
    "4 to 10 digits",
    |s| (4..=10).contains(&s.len()) && all_digits(s)
);

/// Defines a closed OPI enumeration with its exact schema spellings.
macro_rules! opi_enum {
    ($(#[$m:meta])* $name:ident, $what:literal { $($(#[$vm:meta])* $var:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vm])* $var),+
        }

        impl $name {
            /// Every value, in schema order.
            pub const ALL: &'static [$name] = &[$($name::$var),+];

            /// The spelling used in OPI XML.
            #[must_use]
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$var => $s),+
                }
            }
        }

        impl FromStr for $name {
            type Err = $crate::types::InvalidValue;
            fn from_str(s: &str) -> Result<Self, $crate::types::InvalidValue> {
                match s {
                    $($s => Ok($name::$var),)+
                    _ => Err($crate::types::InvalidValue::new($what, concat!("one of: " $(, $s, " ")+), s)),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use opi_enum;

/// A signed amount in euro cents, for balances and totals in the treasurer's messages (the
/// schemas allow negative values there, unlike the orders' `Amount`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SignedAmount(i64);

impl SignedAmount {
    /// Zero euro.
    pub const ZERO: SignedAmount = SignedAmount(0);

    /// From a number of cents.
    #[must_use]
    pub const fn from_cents(cents: i64) -> Self {
        SignedAmount(cents)
    }

    /// The number of cents.
    #[must_use]
    pub const fn cents(self) -> i64 {
        self.0
    }

    /// Adds, `None` on overflow.
    #[must_use]
    pub fn checked_add(self, other: SignedAmount) -> Option<SignedAmount> {
        self.0.checked_add(other.0).map(SignedAmount)
    }
}

impl fmt::Display for SignedAmount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

impl FromStr for SignedAmount {
    type Err = InvalidValue;
    fn from_str(s: &str) -> Result<Self, InvalidValue> {
        let (neg, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let cents = parse_decimal_cents(rest)
            .ok_or_else(|| InvalidValue::new("importo", DECIMAL_EXPECTED, s))?;
        let cents =
            i64::try_from(cents).map_err(|_| InvalidValue::new("importo", DECIMAL_EXPECTED, s))?;
        Ok(SignedAmount(if neg { -cents } else { cents }))
    }
}

impl From<Amount> for SignedAmount {
    fn from(a: Amount) -> Self {
        SignedAmount(i64::try_from(a.cents()).unwrap_or(i64::MAX))
    }
}

const DECIMAL_EXPECTED: &str = "a decimal number of euro with at most 2 decimals and 15 digits";

/// Parses an unsigned `xs:decimal` with at most two significant fraction digits and at most 15
/// digits in all (the OPI amount facets), into cents.
fn parse_decimal_cents(s: &str) -> Option<u64> {
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, f),
        None => (s, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > 2 {
        return None;
    }
    let int = int.trim_start_matches('0');
    if int.len() + 2 > 15 {
        return None;
    }
    let mut cents: u64 = 0;
    for b in int.bytes() {
        cents = cents * 10 + u64::from(b - b'0');
    }
    let mut f = frac.bytes();
    let d1 = f.next().map_or(0, |b| u64::from(b - b'0'));
    let d2 = f.next().map_or(0, |b| u64::from(b - b'0'));
    Some(cents * 100 + d1 * 10 + d2)
}

/// Parses an OPI amount (`xs:decimal`, ≤ 2 fraction digits, ≤ 15 digits, not negative).
pub(crate) fn parse_amount(s: &str) -> Result<Amount, InvalidValue> {
    let t = s.strip_prefix('+').unwrap_or(s);
    parse_decimal_cents(t)
        .map(Amount::from_cents)
        .ok_or_else(|| InvalidValue::new("importo", DECIMAL_EXPECTED, s))
}

/// Largest amount the OPI decimal facets allow (`totalDigits` 15, 2 fraction digits).
pub(crate) const MAX_OPI_CENTS: u64 = 999_999_999_999_999;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_forms() {
        assert_eq!(parse_amount("12").map(|a| a.cents()), Ok(1200));
        assert_eq!(parse_amount("12.5").map(|a| a.cents()), Ok(1250));
        assert_eq!(parse_amount("12.50").map(|a| a.cents()), Ok(1250));
        assert_eq!(parse_amount("12.500").map(|a| a.cents()), Ok(1250));
        assert_eq!(parse_amount(".05").map(|a| a.cents()), Ok(5));
        assert!(parse_amount("12.505").is_err());
        assert!(parse_amount("-1.00").is_err());
        assert!(parse_amount("1e3").is_err());
        assert!(parse_amount("").is_err());
        assert!(parse_amount(".").is_err());
        assert!(parse_amount("1234567890123456.00").is_err());
        assert_eq!("-3.10".parse::<SignedAmount>().map(|a| a.cents()), Ok(-310));
        assert_eq!(SignedAmount::from_cents(-5).to_string(), "-0.05");
    }

    #[test]
    fn codes() {
        assert!("A2A-12345678".parse::<CodiceA2a>().is_ok());
        assert!("A2A-1234567".parse::<CodiceA2a>().is_err());
        assert!("a2a-12345678".parse::<CodiceA2a>().is_err());
        assert!("03069".parse::<CodiceAbi>().is_ok());
        assert!("UFABCD".parse::<CodiceEnte>().is_ok());
        assert!("ufabcd".parse::<CodiceEnte>().is_err());
        assert!("FL#2026_01-a.b".parse::<IdentificativoFlusso>().is_ok());
        assert!("FL 1".parse::<IdentificativoFlusso>().is_err());
        assert!("<x>".parse::<IdentificativoFlusso>().is_err());
    }
}
