//! The payment notice QR code payload: `PAGOPA|002|<notice>|<creditor>|<amount in cents>`.

use std::fmt;
use std::str::FromStr;

use pa_types::{Amount, OrganizationFiscalCode};

use super::error::PayloadError;
use crate::codes::NoticeNumber;

/// Largest amount the payload carries: 11 digits of cents (999 999 999.99 euro).
pub const MAX_QR_CENTS: u64 = 99_999_999_999;

/// The content of a pagoPA payment notice QR code.
///
/// [`QrPayload::parse`] is lenient (surrounding whitespace, lowercase `pagopa`, 1-digit
/// amounts and leading zeros as found on real notices); [`Display`](fmt::Display) emits the
/// strict form (amount of at least two digits, no padding beyond that).
///
/// ```
/// use pagopa::QrPayload;
///
/// let p: QrPayload = "PAGOPA|002|301000000000000144|80016350821|1234".parse()?;
/// assert_eq!(p.amount().to_string(), "12.34");
/// assert_eq!(p.to_string(), "PAGOPA|002|301000000000000144|80016350821|1234");
/// # Ok::<(), pagopa::PayloadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QrPayload {
    notice: NoticeNumber,
    creditor: OrganizationFiscalCode,
    amount: Amount,
}

impl QrPayload {
    /// A payload for `notice` of `creditor` for `amount`.
    ///
    /// # Errors
    /// [`PayloadError::Amount`] for zero or more than 11 digits of cents.
    pub fn new(
        notice: NoticeNumber,
        creditor: OrganizationFiscalCode,
        amount: Amount,
    ) -> Result<Self, PayloadError> {
        check_amount(amount.cents())?;
        Ok(Self {
            notice,
            creditor,
            amount,
        })
    }

    /// Parses a payload leniently (see the type documentation).
    ///
    /// # Errors
    /// [`PayloadError::QrHeader`], [`PayloadError::QrFieldCount`], [`PayloadError::Notice`],
    /// [`PayloadError::FiscalCode`], [`PayloadError::Amount`].
    pub fn parse(s: &str) -> Result<Self, PayloadError> {
        let s = s.trim();
        let fields: Vec<&str> = s.split('|').collect();
        let header_ok = fields.len() >= 2
            && fields[0].trim().eq_ignore_ascii_case("PAGOPA")
            && fields[1].trim() == "002";
        if !header_ok {
            return Err(PayloadError::QrHeader {
                found: s.chars().take(16).collect(),
            });
        }
        if fields.len() != 5 {
            return Err(PayloadError::QrFieldCount {
                found: fields.len(),
            });
        }
        let notice = NoticeNumber::parse(fields[2].trim())?;
        let creditor = fields[3]
            .trim()
            .parse()
            .map_err(|source| PayloadError::FiscalCode {
                field: "creditor fiscal code",
                source,
            })?;
        let amount_text = fields[4].trim();
        if amount_text.is_empty()
            || amount_text.len() > 11
            || !amount_text.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(PayloadError::Amount {
                reason: "expected 1 to 11 digits of euro cents",
                found: amount_text.to_owned(),
            });
        }
        let cents: u64 = amount_text.parse().map_err(|_| PayloadError::Amount {
            reason: "expected 1 to 11 digits of euro cents",
            found: amount_text.to_owned(),
        })?;
        Self::new(notice, creditor, Amount::from_cents(cents))
    }

    /// The notice number.
    #[must_use]
    pub fn notice(&self) -> &NoticeNumber {
        &self.notice
    }

    /// The creditor's fiscal code.
    #[must_use]
    pub fn creditor(&self) -> &OrganizationFiscalCode {
        &self.creditor
    }

    /// The amount.
    #[must_use]
    pub fn amount(&self) -> Amount {
        self.amount
    }
}

pub(crate) fn check_amount(cents: u64) -> Result<(), PayloadError> {
    if cents == 0 {
        return Err(PayloadError::Amount {
            reason: "must be at least 1 cent",
            found: "0".into(),
        });
    }
    if cents > MAX_QR_CENTS {
        return Err(PayloadError::Amount {
            reason: "more than 11 digits of cents",
            found: cents.to_string(),
        });
    }
    Ok(())
}

impl fmt::Display for QrPayload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PAGOPA|002|{}|{}|{:02}",
            self.notice,
            self.creditor,
            self.amount.cents()
        )
    }
}

impl FromStr for QrPayload {
    type Err = PayloadError;
    fn from_str(s: &str) -> Result<Self, PayloadError> {
        Self::parse(s)
    }
}
