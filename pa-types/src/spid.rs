//! SPID's prefixed identifier forms: `TINIT-<codice fiscale>` and `VATIT-<partita IVA>`.

use core::fmt;
use core::str::FromStr;

use crate::error::ParseError;
use crate::{AnyFiscalCode, CodiceFiscale, PartitaIva};

const TINIT: &str = "TINIT-";
const VATIT: &str = "VATIT-";

fn strip<'a>(s: &'a str, prefix: &'static str) -> Result<&'a str, ParseError> {
    let s = s.trim();
    match s.get(..prefix.len()) {
        Some(p) if p.eq_ignore_ascii_case(prefix) => Ok(&s[prefix.len()..]),
        _ => Err(ParseError::Prefix { expected: prefix }),
    }
}

/// Parses SPID's `fiscalNumber` attribute (`TINIT-` + a personal codice fiscale).
///
/// ```
/// let cf = pa_types::parse_spid_fiscal_number("TINIT-RSSMRA85T10A562S")?;
/// assert_eq!(cf.as_str(), "RSSMRA85T10A562S");
/// # Ok::<(), pa_types::ParseError>(())
/// ```
///
/// # Errors
/// [`ParseError::Prefix`] without the prefix, or the codice fiscale's own error.
pub fn parse_spid_fiscal_number(s: &str) -> Result<CodiceFiscale, ParseError> {
    strip(s, TINIT)?.parse()
}

/// Parses a `TINIT-` value holding either form of fiscal code (SPID's `companyFiscalNumber`
/// carries the 11-digit form).
///
/// # Errors
/// [`ParseError::Prefix`] without the prefix, or the fiscal code's own error.
pub fn parse_spid_any_fiscal_number(s: &str) -> Result<AnyFiscalCode, ParseError> {
    strip(s, TINIT)?.parse()
}

/// Parses SPID's `ivaCode` attribute (`VATIT-` + a partita IVA).
///
/// ```
/// let piva = pa_types::parse_spid_vat_number("VATIT-00488410010")?;
/// assert_eq!(piva.as_str(), "00488410010");
/// # Ok::<(), pa_types::ParseError>(())
/// ```
///
/// # Errors
/// [`ParseError::Prefix`] without the prefix, or the partita IVA's own error.
pub fn parse_spid_vat_number(s: &str) -> Result<PartitaIva, ParseError> {
    strip(s, VATIT)?.parse()
}

/// SPID's `fiscalNumber` attribute: a personal codice fiscale written `TINIT-<code>`.
///
/// `Display` and serde use the prefixed form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SpidFiscalNumber(CodiceFiscale);

impl SpidFiscalNumber {
    /// The codice fiscale without the prefix.
    #[must_use]
    pub fn codice_fiscale(&self) -> &CodiceFiscale {
        &self.0
    }

    /// Unwraps the codice fiscale.
    #[must_use]
    pub fn into_codice_fiscale(self) -> CodiceFiscale {
        self.0
    }
}

impl From<CodiceFiscale> for SpidFiscalNumber {
    fn from(cf: CodiceFiscale) -> Self {
        SpidFiscalNumber(cf)
    }
}

impl FromStr for SpidFiscalNumber {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_spid_fiscal_number(s).map(SpidFiscalNumber)
    }
}

impl fmt::Display for SpidFiscalNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{TINIT}{}", self.0)
    }
}

impl serde::Serialize for SpidFiscalNumber {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for SpidFiscalNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}
