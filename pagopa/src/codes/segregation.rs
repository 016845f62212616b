//! Segregation and application codes: two-digit codes inside notice numbers.

use std::fmt;
use std::str::FromStr;

use super::digits;
use super::error::{CodeError, CodeKind};

macro_rules! two_digit_code {
    ($(#[$meta:meta])* $name:ident, $kind:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(u8);

        impl $name {
            /// The code from its numeric value, `None` above 99.
            #[must_use]
            pub const fn new(value: u8) -> Option<Self> {
                if value <= 99 { Some(Self(value)) } else { None }
            }

            /// The numeric value, 0..=99.
            #[must_use]
            pub const fn value(self) -> u8 {
                self.0
            }

            /// Parses exactly two ASCII digits.
            ///
            /// # Errors
            /// [`CodeError::WrongLength`] or [`CodeError::NonDigit`].
            pub fn parse(s: &str) -> Result<Self, CodeError> {
                let d: [u8; 2] = digits::ascii_digits(s, $kind, "2")?;
                Ok(Self((d[0] - b'0') * 10 + (d[1] - b'0')))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:02}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = CodeError;
            fn from_str(s: &str) -> Result<Self, CodeError> {
                Self::parse(s)
            }
        }

        impl TryFrom<&str> for $name {
            type Error = CodeError;
            fn try_from(s: &str) -> Result<Self, CodeError> {
                Self::parse(s)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

two_digit_code!(
    /// Segregation code (codice segregazione), assigned by pagoPA to a creditor's IUV range;
    /// part of every aux-3 notice number and IUV.
    SegregationCode,
    CodeKind::SegregationCode
);

two_digit_code!(
    /// Application code (codice applicazione) of legacy aux-0 notice numbers.
    ApplicationCode,
    CodeKind::ApplicationCode
);

impl SegregationCode {
    /// 99: reserved for the electronic identity card (CIE).
    pub const CIE: Self = Self(99);
    /// 98: reserved for ANPR certificates.
    pub const ANPR_CERTIFICATES: Self = Self(98);
    /// 97: reserved for SUAP.
    pub const SUAP: Self = Self(97);
    /// 96: reserved for the car tax (bollo auto).
    pub const CAR_TAX: Self = Self(96);
    /// 85: reserved for TARI/TEFA.
    pub const TARI_TEFA: Self = Self(85);
    /// 81: reserved for pagoPA.
    pub const PAGOPA: Self = Self(81);
    /// 47: reserved for Canone Unico.
    pub const CANONE_UNICO: Self = Self(47);

    /// Whether pagoPA reserves this code for a national service (CIE, ANPR, SUAP, ...).
    #[must_use]
    pub const fn is_reserved(self) -> bool {
        matches!(self.0, 99 | 98 | 97 | 96 | 85 | 81 | 47)
    }
}

impl ApplicationCode {
    pub(crate) fn ascii(self) -> [u8; 2] {
        [b'0' + self.0 / 10, b'0' + self.0 % 10]
    }
}
