//! IBAN, with the Italian BBAN parts (CIN, ABI, CAB, account number).

use core::str::FromStr;

use crate::cf::check_letter;
use crate::error::{Expected, Kind, ParseError, bad_char, check_len};
use crate::macros::string_newtype;

/// An IBAN (ISO 13616) whose checksum and country-specific BBAN format are valid.
///
/// Stored and displayed in the electronic form (no spaces, uppercase); parsing accepts the
/// printed form with spaces and lowercase letters. Validation is done by `iban_validate`; for
/// Italian IBANs the CIN check letter is verified too.
///
/// ```
/// use pa_types::Iban;
///
/// let iban: Iban = "IT60 X054 2811 1010 0000 0123 456".parse()?;
/// assert_eq!(iban.as_str(), "IT60X0542811101000000123456");
/// let it = iban.italian().expect("an Italian IBAN");
/// assert_eq!((it.cin(), it.abi(), it.cab()), ('X', "05428", "11101"));
/// assert_eq!(it.account(), "000000123456");
/// # Ok::<(), pa_types::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Iban(String);

string_newtype!(Iban);

impl FromStr for Iban {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const K: Kind = Kind::Iban;
        let compact: String = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        check_len(K, &compact, 15, 34)?;
        for (i, c) in compact.chars().enumerate() {
            let ok = match i {
                0 | 1 => c.is_ascii_uppercase(),
                2 | 3 => c.is_ascii_digit(),
                _ => c.is_ascii_alphanumeric(),
            };
            if !ok {
                let expected = match i {
                    0 | 1 => Expected::Letter,
                    2 | 3 => Expected::Digit,
                    _ => Expected::Alphanumeric,
                };
                return Err(bad_char(K, i, c, expected));
            }
        }
        let b = compact.as_bytes();
        let (c0, c1) = (char::from(b[0]), char::from(b[1]));
        match ::iban::Iban::from_str(&compact) {
            Ok(_) => {}
            Err(::iban::ParseIbanError::InvalidBaseIban { source }) => {
                return Err(match source {
                    ::iban::ParseBaseIbanError::InvalidChecksum => ParseError::IbanChecksum,
                    _ => ParseError::IbanBban(c0, c1),
                });
            }
            Err(::iban::ParseIbanError::InvalidBban(_)) => {
                return Err(ParseError::IbanBban(c0, c1));
            }
            Err(::iban::ParseIbanError::UnknownCountry(_)) => {
                return Err(ParseError::IbanCountry);
            }
        }
        if &b[..2] == b"IT" || &b[..2] == b"SM" {
            // BBAN = CIN(1) + ABI(5) + CAB(5) + account(12); CIN is the check letter of the rest.
            let expected = check_letter(&b[5..]).unwrap_or(b'?');
            if expected != b[4] {
                return Err(ParseError::CheckCharacter {
                    kind: K,
                    expected: char::from(expected),
                    found: char::from(b[4]),
                });
            }
        }
        Ok(Iban(compact))
    }
}

impl Iban {
    /// Parses an IBAN and requires it to be Italian (`IT`).
    ///
    /// # Errors
    /// Any error of [`Iban::from_str`], or [`ParseError::NotItalian`].
    pub fn parse_italian(s: &str) -> Result<Iban, ParseError> {
        let iban: Iban = s.parse()?;
        match iban.italian() {
            Some(_) => Ok(iban),
            None => {
                let b = iban.0.as_bytes();
                Err(ParseError::NotItalian(char::from(b[0]), char::from(b[1])))
            }
        }
    }

    /// The two-letter country code.
    #[must_use]
    pub fn country_code(&self) -> &str {
        &self.0[..2]
    }

    /// The printed form, in groups of four characters.
    #[must_use]
    pub fn to_grouped_string(&self) -> String {
        let mut out = String::with_capacity(self.0.len() + self.0.len() / 4);
        for (i, c) in self.0.chars().enumerate() {
            if i > 0 && i % 4 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    }

    /// The Italian BBAN parts, if this is an Italian IBAN.
    #[must_use]
    pub fn italian(&self) -> Option<ItalianBban<'_>> {
        (self.country_code() == "IT").then_some(ItalianBban(&self.0[4..]))
    }
}

/// The parts of an Italian BBAN: CIN, ABI (bank), CAB (branch) and account number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItalianBban<'a>(&'a str);

impl<'a> ItalianBban<'a> {
    /// The CIN check letter.
    #[must_use]
    pub fn cin(&self) -> char {
        char::from(self.0.as_bytes()[0])
    }

    /// The ABI code of the bank (5 digits).
    #[must_use]
    pub fn abi(&self) -> &'a str {
        &self.0[1..6]
    }

    /// The CAB code of the branch (5 digits).
    #[must_use]
    pub fn cab(&self) -> &'a str {
        &self.0[6..11]
    }

    /// The account number (12 characters).
    #[must_use]
    pub fn account(&self) -> &'a str {
        &self.0[11..]
    }

    /// Whether this account is held at Poste Italiane (ABI 07601), i.e. a postal account whose
    /// number can be printed on the postal part of a pagoPA notice.
    #[must_use]
    pub fn is_postal(&self) -> bool {
        self.abi() == "07601"
    }
}
