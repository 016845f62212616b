//! Codes of public bodies and public contracts: IPA code, codice univoco ufficio, CUP, CIG.

use core::str::FromStr;

use crate::error::{Expected, Kind, ParseError, bad_char, check_len};
use crate::macros::string_newtype;

/// The code of a public body in the IPA index (Indice dei domicili digitali della PA), e.g.
/// `c_h501` (Roma Capitale) or `agid`, as used in `spid:IPACode` and in pagoPA/GPD.
///
/// Normalized to lowercase; 2 to 30 characters among lowercase letters, digits and `_`.
///
/// ```
/// use pa_types::CodiceIpa;
///
/// let ipa: CodiceIpa = "C_H501".parse()?;
/// assert_eq!(ipa.as_str(), "c_h501");
/// # Ok::<(), pa_types::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodiceIpa(String);

string_newtype!(CodiceIpa);

impl FromStr for CodiceIpa {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const K: Kind = Kind::CodiceIpa;
        let s = s.trim().to_ascii_lowercase();
        check_len(K, &s, 2, 30)?;
        for (i, c) in s.chars().enumerate() {
            if !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
                return Err(bad_char(K, i, c, Expected::IpaCharacter));
            }
        }
        Ok(CodiceIpa(s))
    }
}

/// The "codice univoco ufficio" of an office of a public body in IPA: 6 uppercase letters or
/// digits (`stCodiceIPA_Ente` in OPI, the e-invoicing office code).
///
/// ```
/// use pa_types::CodiceUnivocoUfficio;
///
/// let cuu: CodiceUnivocoUfficio = "uf1a2b".parse()?;
/// assert_eq!(cuu.as_str(), "UF1A2B");
/// # Ok::<(), pa_types::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CodiceUnivocoUfficio(String);

string_newtype!(CodiceUnivocoUfficio);

impl FromStr for CodiceUnivocoUfficio {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const K: Kind = Kind::CodiceUnivocoUfficio;
        let s = s.trim().to_ascii_uppercase();
        check_len(K, &s, 6, 6)?;
        for (i, c) in s.chars().enumerate() {
            if !c.is_ascii_alphanumeric() {
                return Err(bad_char(K, i, c, Expected::Alphanumeric));
            }
        }
        Ok(CodiceUnivocoUfficio(s))
    }
}

/// A CUP (Codice Unico di Progetto): 15 characters, a letter, two digits, a letter and eleven
/// digits (e.g. `J41B04000070001`).
///
/// ```
/// use pa_types::Cup;
///
/// let cup: Cup = "j41b04000070001".parse()?;
/// assert_eq!(cup.as_str(), "J41B04000070001");
/// # Ok::<(), pa_types::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cup(String);

string_newtype!(Cup);

impl FromStr for Cup {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const K: Kind = Kind::Cup;
        let s = s.trim().to_ascii_uppercase();
        check_len(K, &s, 15, 15)?;
        for (i, c) in s.chars().enumerate() {
            let letter = i == 0 || i == 3;
            let ok = if letter {
                c.is_ascii_uppercase()
            } else {
                c.is_ascii_digit()
            };
            if !ok {
                let expected = if letter {
                    Expected::Letter
                } else {
                    Expected::Digit
                };
                return Err(bad_char(K, i, c, expected));
            }
        }
        Ok(Cup(s))
    }
}

/// A CIG (Codice Identificativo Gara): 10 characters, either seven digits and three hexadecimal
/// digits (the classic form) or a letter and nine hexadecimal digits (smart CIG `V`–`Z…`, and the
/// CIG issued by the national e-procurement platforms `A`–`U…`), as in OPI's `stTipoCodiceCIG`.
///
/// ```
/// use pa_types::Cig;
///
/// let cig: Cig = "Z1A2B3C4D5".parse()?;
/// assert_eq!(cig.as_str(), "Z1A2B3C4D5");
/// assert!("123456789G".parse::<Cig>().is_err());
/// # Ok::<(), pa_types::ParseError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cig(String);

string_newtype!(Cig);

impl FromStr for Cig {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const K: Kind = Kind::Cig;
        let s = s.trim().to_ascii_uppercase();
        check_len(K, &s, 10, 10)?;
        let first = s.chars().next().unwrap_or('0');
        let hex = |c: char| c.is_ascii_digit() || ('A'..='F').contains(&c);
        for (i, c) in s.chars().enumerate() {
            let (ok, expected) = match i {
                0 => (c.is_ascii_alphanumeric(), Expected::Alphanumeric),
                1..=6 if first.is_ascii_digit() => (c.is_ascii_digit(), Expected::Digit),
                _ => (hex(c), Expected::HexDigit),
            };
            if !ok {
                return Err(bad_char(K, i, c, expected));
            }
        }
        Ok(Cig(s))
    }
}
