//! Errors of payment notice payloads and symbols.

use crate::codes::CodeError;

/// Why a QR code or Data Matrix payload could not be built or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The QR payload does not start with `PAGOPA|002|`.
    #[error("QR payload must start with \"PAGOPA|002|\", found {found:?}")]
    QrHeader {
        /// The first characters found (at most 16).
        found: String,
    },
    /// The QR payload does not have 5 `|`-separated fields.
    #[error("QR payload must have 5 fields separated by '|', found {found}")]
    QrFieldCount {
        /// The number of fields found.
        found: usize,
    },
    /// The notice number is invalid.
    #[error("notice number: {0}")]
    Notice(#[from] CodeError),
    /// A fiscal code is invalid.
    #[error("{field}: {source}")]
    FiscalCode {
        /// Which fiscal code (`"creditor fiscal code"`, `"debtor fiscal code"`).
        field: &'static str,
        /// What is wrong with it.
        source: pa_types::ParseError,
    },
    /// The amount does not fit the payload or is not a number of cents.
    #[error("amount: {reason}, found {found:?}")]
    Amount {
        /// What is wrong.
        reason: &'static str,
        /// The amount text or value found.
        found: String,
    },
    /// The postal account is not 1 to 12 digits.
    #[error("postal account must be 1 to 12 digits, found {found:?}")]
    PostalAccount {
        /// The value found.
        found: String,
    },
    /// A text field is longer than its slot.
    #[error("{field} is {found} characters long, at most {max} fit")]
    TooLong {
        /// The field.
        field: &'static str,
        /// Its maximum length.
        max: usize,
        /// Its length.
        found: usize,
    },
    /// A text field holds a character that the symbol cannot carry (printable ASCII only;
    /// accented Latin letters are transliterated).
    #[error("{field}: character {found:?} at position {position} cannot be encoded")]
    Unencodable {
        /// The field.
        field: &'static str,
        /// 1-based character position.
        position: usize,
        /// The character.
        found: char,
    },
    /// The Data Matrix payload has the wrong length.
    #[error("Data Matrix payload must be {expected} characters long, found {found}")]
    DataMatrixLength {
        /// The expected length.
        expected: usize,
        /// The length found.
        found: usize,
    },
    /// A fixed part of the Data Matrix payload is missing.
    #[error("Data Matrix payload: expected {expected:?} at position {position}")]
    DataMatrixMarker {
        /// The fixed text expected.
        expected: &'static str,
        /// 1-based position.
        position: usize,
    },
}

/// Why a symbol could not be drawn.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RenderError {
    /// The payload does not fit the symbol (QR version 4, ECC level M; Data Matrix ECC 200).
    #[error("payload does not fit the symbol: {0}")]
    Capacity(String),
    /// PNG encoding failed.
    #[error("PNG encoding failed: {0}")]
    Png(String),
}
