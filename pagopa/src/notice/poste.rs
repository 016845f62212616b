//! The Poste Italiane Data Matrix of a payment notice (only when the creditor has a postal
//! account).
//!
//! Layout (256 characters): `codfase=NBPA;` + codeline + `1P1` + creditor fiscal code (11) +
//! debtor fiscal code (16, right padded) + debtor name (40) + causale (110) + 12 spaces + `A`,
//! where codeline = `18` + notice number (18) + `12` + postal account (12, zero padded) + `10`
//! + amount in cents (10, zero padded) + `3896`.

use std::fmt;

use pa_types::{Amount, AnyFiscalCode, OrganizationFiscalCode};

use super::error::PayloadError;
use crate::codes::NoticeNumber;

/// Length of the Data Matrix payload.
pub const POSTE_PAYLOAD_LEN: usize = 256;
/// Largest amount the Data Matrix carries: 10 digits of cents.
pub const MAX_POSTE_CENTS: u64 = 9_999_999_999;

const PREFIX: &str = "codfase=NBPA;";
const DEBTOR_NAME_LEN: usize = 40;
const CAUSALE_LEN: usize = 110;

/// A postal current account number (conto corrente postale), up to 12 digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PostalAccount(u64);

impl PostalAccount {
    /// Parses 1 to 12 digits.
    ///
    /// # Errors
    /// [`PayloadError::PostalAccount`].
    pub fn parse(s: &str) -> Result<Self, PayloadError> {
        let t = s.trim();
        if t.is_empty() || t.len() > 12 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(PayloadError::PostalAccount {
                found: s.to_owned(),
            });
        }
        t.parse()
            .map(Self)
            .map_err(|_| PayloadError::PostalAccount {
                found: s.to_owned(),
            })
    }
}

impl fmt::Display for PostalAccount {
    /// The 12-digit zero-padded form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012}", self.0)
    }
}

impl std::str::FromStr for PostalAccount {
    type Err = PayloadError;
    fn from_str(s: &str) -> Result<Self, PayloadError> {
        Self::parse(s)
    }
}

/// The content of the Poste Data Matrix of a payment notice.
///
/// Text fields are stored as given after transliterating accented Latin letters to ASCII
/// (`à` → `a`); any other non-printable-ASCII character is refused.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PosteDataMatrix {
    notice: NoticeNumber,
    postal_account: PostalAccount,
    amount: Amount,
    creditor: OrganizationFiscalCode,
    debtor: AnyFiscalCode,
    debtor_name: String,
    causale: String,
}

/// Maps accented Latin letters to ASCII; keeps printable ASCII; `None` otherwise.
fn to_ascii(c: char) -> Option<char> {
    if (' '..='~').contains(&c) {
        return Some(c);
    }
    let base = match c {
        'à' | 'á' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'À' | 'Á' | 'Â' | 'Ä' | 'Ã' | 'Å' => 'A',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'È' | 'É' | 'Ê' | 'Ë' => 'E',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
        'ò' | 'ó' | 'ô' | 'ö' | 'õ' => 'o',
        'Ò' | 'Ó' | 'Ô' | 'Ö' | 'Õ' => 'O',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
        'ç' => 'c',
        'Ç' => 'C',
        'ñ' => 'n',
        'Ñ' => 'N',
        '’' | '‘' => '\'',
        _ => return None,
    };
    Some(base)
}

fn text_field(field: &'static str, value: &str, max: usize) -> Result<String, PayloadError> {
    let mut out = String::with_capacity(value.len());
    for (i, c) in value.chars().enumerate() {
        match to_ascii(c) {
            Some(a) => out.push(a),
            None => {
                return Err(PayloadError::Unencodable {
                    field,
                    position: i + 1,
                    found: c,
                });
            }
        }
    }
    let out = out.trim_end().to_owned();
    if out.len() > max {
        return Err(PayloadError::TooLong {
            field,
            max,
            found: out.len(),
        });
    }
    Ok(out)
}

impl PosteDataMatrix {
    /// The Data Matrix content for a notice.
    ///
    /// # Errors
    /// [`PayloadError::Amount`] for zero or more than 10 digits of cents;
    /// [`PayloadError::TooLong`] (debtor name > 40, causale > 110 characters);
    /// [`PayloadError::Unencodable`].
    pub fn new(
        notice: NoticeNumber,
        postal_account: PostalAccount,
        amount: Amount,
        creditor: OrganizationFiscalCode,
        debtor: AnyFiscalCode,
        debtor_name: &str,
        causale: &str,
    ) -> Result<Self, PayloadError> {
        if amount.is_zero() {
            return Err(PayloadError::Amount {
                reason: "must be at least 1 cent",
                found: "0".into(),
            });
        }
        if amount.cents() > MAX_POSTE_CENTS {
            return Err(PayloadError::Amount {
                reason: "more than 10 digits of cents",
                found: amount.cents().to_string(),
            });
        }
        Ok(Self {
            notice,
            postal_account,
            amount,
            creditor,
            debtor,
            debtor_name: text_field("debtor name", debtor_name, DEBTOR_NAME_LEN)?,
            causale: text_field("causale", causale, CAUSALE_LEN)?,
        })
    }

    /// The 256-character payload.
    #[must_use]
    pub fn to_payload(&self) -> String {
        format!(
            "{PREFIX}18{}12{}10{:010}38961P1{}{:<16}{:<40}{:<110}{:12}A",
            self.notice,
            self.postal_account,
            self.amount.cents(),
            self.creditor,
            self.debtor.as_str(),
            self.debtor_name,
            self.causale,
            "",
        )
    }

    /// The codeline: `18` + notice + `12` + postal account + `10` + amount + `3896`.
    #[must_use]
    pub fn codeline(&self) -> String {
        format!(
            "18{}12{}10{:010}3896",
            self.notice,
            self.postal_account,
            self.amount.cents()
        )
    }

    /// Parses a payload read from a Data Matrix (trailing spaces of text fields removed).
    ///
    /// # Errors
    /// [`PayloadError::DataMatrixLength`], [`PayloadError::DataMatrixMarker`], and the field
    /// errors of [`PosteDataMatrix::new`].
    pub fn parse(s: &str) -> Result<Self, PayloadError> {
        let n = s.chars().count();
        if s.len() != POSTE_PAYLOAD_LEN || n != POSTE_PAYLOAD_LEN {
            return Err(PayloadError::DataMatrixLength {
                expected: POSTE_PAYLOAD_LEN,
                found: n,
            });
        }
        let marker = |at: usize, expected: &'static str| -> Result<(), PayloadError> {
            if s.get(at..at + expected.len()) == Some(expected) {
                Ok(())
            } else {
                Err(PayloadError::DataMatrixMarker {
                    expected,
                    position: at + 1,
                })
            }
        };
        let field = |at: usize, len: usize| s.get(at..at + len).unwrap_or_default();
        marker(0, PREFIX)?;
        marker(13, "18")?;
        marker(33, "12")?;
        marker(47, "10")?;
        marker(59, "38961P1")?;
        marker(255, "A")?;
        if field(243, 12) != " ".repeat(12) {
            return Err(PayloadError::DataMatrixMarker {
                expected: "12 spaces",
                position: 244,
            });
        }
        let notice = NoticeNumber::parse(field(15, 18))?;
        let postal_account = PostalAccount::parse(field(35, 12))?;
        let amount_text = field(49, 10);
        let cents: u64 = if amount_text.bytes().all(|b| b.is_ascii_digit()) {
            amount_text.parse().unwrap_or(0)
        } else {
            return Err(PayloadError::Amount {
                reason: "expected 10 digits of euro cents",
                found: amount_text.to_owned(),
            });
        };
        let creditor = field(66, 11)
            .parse()
            .map_err(|source| PayloadError::FiscalCode {
                field: "creditor fiscal code",
                source,
            })?;
        let debtor =
            field(77, 16)
                .trim_end()
                .parse()
                .map_err(|source| PayloadError::FiscalCode {
                    field: "debtor fiscal code",
                    source,
                })?;
        Self::new(
            notice,
            postal_account,
            Amount::from_cents(cents),
            creditor,
            debtor,
            field(93, DEBTOR_NAME_LEN),
            field(133, CAUSALE_LEN),
        )
    }

    /// The notice number.
    #[must_use]
    pub fn notice(&self) -> &NoticeNumber {
        &self.notice
    }

    /// The postal account.
    #[must_use]
    pub fn postal_account(&self) -> PostalAccount {
        self.postal_account
    }

    /// The amount.
    #[must_use]
    pub fn amount(&self) -> Amount {
        self.amount
    }

    /// The creditor's fiscal code.
    #[must_use]
    pub fn creditor(&self) -> &OrganizationFiscalCode {
        &self.creditor
    }

    /// The debtor's fiscal code.
    #[must_use]
    pub fn debtor(&self) -> &AnyFiscalCode {
        &self.debtor
    }

    /// The debtor's name (ASCII, trailing spaces removed).
    #[must_use]
    pub fn debtor_name(&self) -> &str {
        &self.debtor_name
    }

    /// The causale (ASCII, trailing spaces removed).
    #[must_use]
    pub fn causale(&self) -> &str {
        &self.causale
    }
}

impl fmt::Display for PosteDataMatrix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_payload())
    }
}
