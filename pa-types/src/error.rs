//! The one parse error shared by every identifier and amount of this crate.

use core::fmt;

/// Which kind of value was being parsed when a [`ParseError`] happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Kind {
    /// A personal codice fiscale (16 characters).
    CodiceFiscale,
    /// A numeric codice fiscale (11 digits).
    NumericFiscalCode,
    /// A partita IVA (11 digits).
    PartitaIva,
    /// An organization fiscal code (11 digits).
    OrganizationFiscalCode,
    /// An IBAN.
    Iban,
    /// An IPA code of a public body.
    CodiceIpa,
    /// A "codice univoco ufficio" (6 characters).
    CodiceUnivocoUfficio,
    /// A CUP (Codice Unico di Progetto).
    Cup,
    /// A CIG (Codice Identificativo Gara).
    Cig,
    /// A euro amount.
    Amount,
    /// A SPID prefixed identifier (`TINIT-…`, `VATIT-…`).
    SpidPrefixed,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::CodiceFiscale => "codice fiscale",
            Kind::NumericFiscalCode => "numeric fiscal code",
            Kind::PartitaIva => "partita IVA",
            Kind::OrganizationFiscalCode => "organization fiscal code",
            Kind::Iban => "IBAN",
            Kind::CodiceIpa => "IPA code",
            Kind::CodiceUnivocoUfficio => "codice univoco ufficio",
            Kind::Cup => "CUP",
            Kind::Cig => "CIG",
            Kind::Amount => "amount",
            Kind::SpidPrefixed => "SPID prefixed identifier",
        })
    }
}

/// What a character at some position should have been.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Expected {
    /// An ASCII digit `0-9`.
    Digit,
    /// An ASCII letter `A-Z`.
    Letter,
    /// A digit or one of the omocodia letters `LMNPQRSTUV`.
    DigitOrOmocodia,
    /// One of the month letters `ABCDEHLMPRST`.
    MonthLetter,
    /// An ASCII letter or digit.
    Alphanumeric,
    /// A hexadecimal digit `0-9A-F`.
    HexDigit,
    /// A lowercase letter, digit or `_`.
    IpaCharacter,
    /// The decimal point `.`.
    DecimalPoint,
}

impl fmt::Display for Expected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Expected::Digit => "a digit",
            Expected::Letter => "a letter",
            Expected::DigitOrOmocodia => "a digit or an omocodia letter (LMNPQRSTUV)",
            Expected::MonthLetter => "a month letter (ABCDEHLMPRST)",
            Expected::Alphanumeric => "a letter or a digit",
            Expected::HexDigit => "a hexadecimal digit",
            Expected::IpaCharacter => "a lowercase letter, a digit or '_'",
            Expected::DecimalPoint => "'.'",
        })
    }
}

/// Why a string is not a valid identifier or amount.
///
/// Small and `Copy`, so it can be stored in other errors freely. Positions are 1-based, counted
/// in characters of the normalized input (spaces removed where the type allows them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The input was empty.
    #[error("{kind}: empty value")]
    Empty {
        /// What was being parsed.
        kind: Kind,
    },
    /// The input has the wrong length.
    #[error("{kind}: expected {} characters, found {found}", LenRange(*.min, *.max))]
    Length {
        /// What was being parsed.
        kind: Kind,
        /// Minimum length.
        min: usize,
        /// Maximum length.
        max: usize,
        /// Length found.
        found: usize,
    },
    /// A character is not allowed where it stands.
    #[error("{kind}: invalid character {found:?} at position {position}, expected {expected}")]
    Character {
        /// What was being parsed.
        kind: Kind,
        /// 1-based position of the character.
        position: usize,
        /// The character found.
        found: char,
        /// What was expected there.
        expected: Expected,
    },
    /// The check character (or check digits) does not match.
    #[error("{kind}: check character expected {expected:?} found {found:?}")]
    CheckCharacter {
        /// What was being parsed.
        kind: Kind,
        /// The check character computed from the rest of the value.
        expected: char,
        /// The check character in the value.
        found: char,
    },
    /// The IBAN checksum (ISO 13616 mod 97) is wrong.
    #[error("IBAN: checksum (mod 97) is not valid")]
    IbanChecksum,
    /// The IBAN country is unknown or its BBAN does not follow that country's format.
    #[error("IBAN: the BBAN does not follow the format of country {0}{1}")]
    IbanBban(char, char),
    /// The IBAN country code is not known.
    #[error("IBAN: unknown country code")]
    IbanCountry,
    /// The IBAN is not Italian where an Italian one is required.
    #[error("IBAN: expected an Italian (IT) IBAN, found country {0}{1}")]
    NotItalian(char, char),
    /// The birth date encoded in a codice fiscale does not exist.
    #[error("codice fiscale: day {day} of month {month} does not exist")]
    BirthDate {
        /// Month number 1-12.
        month: u8,
        /// Day of month as encoded (1-31; 41-71 for women before subtracting 40).
        day: u8,
    },
    /// An amount has more than two decimal digits.
    #[error("amount: at most 2 decimal digits are allowed (exact cents), found {found}")]
    TooManyDecimals {
        /// The number of decimal digits found.
        found: usize,
    },
    /// An amount does not fit in the representable range.
    #[error("amount: value too large")]
    Overflow,
    /// A SPID prefixed identifier has an unknown prefix.
    #[error("SPID prefixed identifier: expected prefix {expected}")]
    Prefix {
        /// The prefix that was expected.
        expected: &'static str,
    },
}

struct LenRange(usize, usize);

impl fmt::Display for LenRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == self.1 {
            write!(f, "{}", self.0)
        } else {
            write!(f, "{} to {}", self.0, self.1)
        }
    }
}

pub(crate) fn check_len(kind: Kind, s: &str, min: usize, max: usize) -> Result<(), ParseError> {
    let found = s.chars().count();
    if found == 0 {
        return Err(ParseError::Empty { kind });
    }
    if found < min || found > max {
        return Err(ParseError::Length {
            kind,
            min,
            max,
            found,
        });
    }
    Ok(())
}

pub(crate) fn bad_char(kind: Kind, index: usize, found: char, expected: Expected) -> ParseError {
    ParseError::Character {
        kind,
        position: index + 1,
        found,
        expected,
    }
}
