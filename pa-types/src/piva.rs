//! Partita IVA and the organization fiscal code used by pagoPA.

use core::str::FromStr;

use crate::cf::{parse_11_digits_checked, parse_digits};
use crate::error::{Kind, ParseError};
use crate::macros::string_newtype;

/// Computes the check digit (as an ASCII digit) of the first 10 digits of a partita IVA or
/// numeric fiscal code: digits in odd positions are added, digits in even positions are doubled
/// (minus 9 when above 9) and added; the check digit brings the sum to a multiple of 10.
pub(crate) fn luhn_check_digit(digits: &[u8]) -> u8 {
    let mut sum: u32 = 0;
    for (i, &c) in digits.iter().enumerate() {
        let d = u32::from(c.wrapping_sub(b'0'));
        if i % 2 == 0 {
            sum += d;
        } else {
            let dd = d * 2;
            sum += if dd > 9 { dd - 9 } else { dd };
        }
    }
    // The value is below 10, so the cast cannot truncate.
    b'0' + ((10 - sum % 10) % 10) as u8
}

/// An Italian VAT number (partita IVA): 11 digits whose last one is a check digit.
///
/// ```
/// use pa_types::PartitaIva;
///
/// let piva: PartitaIva = "00488410010".parse()?;
/// assert_eq!(piva.as_str(), "00488410010");
/// assert!("00488410011".parse::<PartitaIva>().is_err());
/// # Ok::<(), pa_types::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitaIva(String);

string_newtype!(PartitaIva);

impl FromStr for PartitaIva {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        // Accept the common "IT" country prefix, as on invoices.
        let s = s
            .strip_prefix("IT")
            .or_else(|| s.strip_prefix("it"))
            .unwrap_or(s);
        parse_11_digits_checked(Kind::PartitaIva, s).map(PartitaIva)
    }
}

/// The fiscal code of a creditor organization (ente creditore) as pagoPA uses it: 11 digits
/// (`stOrganizationFiscalCode`, `[0-9]{11}`).
///
/// The schema requires only the 11 digits, and the platform's test organizations do not all carry
/// a valid check digit, so parsing does not require one; [`OrganizationFiscalCode::has_valid_check_digit`]
/// tells whether the code also passes the partita IVA / numeric fiscal code check.
///
/// ```
/// use pa_types::OrganizationFiscalCode;
///
/// let ec: OrganizationFiscalCode = "80016350821".parse()?;
/// assert!(ec.has_valid_check_digit());
/// # Ok::<(), pa_types::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrganizationFiscalCode(String);

string_newtype!(OrganizationFiscalCode);

impl FromStr for OrganizationFiscalCode {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_digits(Kind::OrganizationFiscalCode, s, 11, 11).map(OrganizationFiscalCode)
    }
}

impl OrganizationFiscalCode {
    /// Whether the last digit is the partita IVA / numeric fiscal code check digit of the first ten.
    #[must_use]
    pub fn has_valid_check_digit(&self) -> bool {
        let b = self.0.as_bytes();
        luhn_check_digit(&b[..10]) == b[10]
    }
}

impl From<PartitaIva> for OrganizationFiscalCode {
    fn from(p: PartitaIva) -> Self {
        OrganizationFiscalCode(p.0)
    }
}

impl From<crate::NumericFiscalCode> for OrganizationFiscalCode {
    fn from(p: crate::NumericFiscalCode) -> Self {
        OrganizationFiscalCode(String::from(p))
    }
}
