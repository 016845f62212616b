//! Why a payment notice could not be read, checked or drawn.

use crate::codes::CodeError;
use crate::notice::{PayloadError, RenderError};

/// What is wrong with a text field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextProblem {
    /// The field is empty or only spaces.
    #[error("must not be empty")]
    Empty,
    /// The field is longer than the guide allows.
    #[error("is {found} characters long, the guide allows at most {max}")]
    TooLong {
        /// The guide's maximum.
        max: usize,
        /// The length found.
        found: usize,
    },
    /// The field holds a control character (line breaks included).
    #[error("holds the control character {found:?} at position {position}")]
    Control {
        /// The character.
        found: char,
        /// 1-based character position.
        position: usize,
    },
    /// The embedded font has no glyph for a character of the field.
    #[error("the character {found:?} at position {position} has no glyph in the embedded font")]
    NoGlyph {
        /// The character.
        found: char,
        /// 1-based character position.
        position: usize,
    },
}

/// Why a payment notice ([`Avviso`](super::Avviso)) was refused or could not be drawn.
///
/// `field` names the place in the JSON input, e.g. `installments[1].notice_number`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AvvisoError {
    /// The input is not JSON of the expected shape (unknown or missing field, wrong type).
    #[error("notice JSON: {message} (line {line}, column {column})")]
    Json {
        /// What the JSON reader said.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A notice number is not 18 digits with a known aux digit and right check digits.
    #[error("{field}: {source}")]
    Notice {
        /// The field.
        field: String,
        /// What is wrong with it.
        source: CodeError,
    },
    /// A fiscal code is invalid.
    #[error("{field}: {source}")]
    FiscalCode {
        /// The field.
        field: String,
        /// What is wrong with it.
        source: pa_types::ParseError,
    },
    /// An amount is zero or larger than the notice can carry (999 999 999.99 euro).
    #[error("{field}: amount must be 1 to 99999999999 euro cents, found {cents}")]
    Amount {
        /// The field.
        field: String,
        /// The amount found, in cents.
        cents: u64,
    },
    /// A due date is not a calendar date in the form `YYYY-MM-DD`.
    #[error("{field}: expected a date YYYY-MM-DD, found {found:?}")]
    Date {
        /// The field.
        field: String,
        /// The text found.
        found: String,
    },
    /// A text field is empty, too long, or cannot be printed.
    #[error("{field} {problem}")]
    Text {
        /// The field.
        field: String,
        /// What is wrong.
        problem: TextProblem,
    },
    /// The CBILL code is not 5 uppercase letters or digits.
    #[error("creditor.cbill: expected 5 uppercase letters or digits, found {found:?}")]
    Cbill {
        /// The text found.
        found: String,
    },
    /// The postal account number is not 1 to 12 digits.
    #[error("creditor.postal.account: {0}")]
    PostalAccount(PayloadError),
    /// The notice has neither a single payment nor installments.
    #[error("the notice has no payment option: give `single`, `installments` or both")]
    NoPaymentOption,
    /// The number of installments is outside what the layout supports.
    #[error("installments: {found} given, the notice layout takes 2 to {max}")]
    InstallmentCount {
        /// The number given.
        found: usize,
        /// The largest number supported.
        max: usize,
    },
    /// The variant "Avviso con molte rate" was asked for with too few installments.
    #[error("installments: the notice with many installments takes at least {min}, {found} given")]
    ManyInstallments {
        /// The number given.
        found: usize,
        /// The fewest the variant takes.
        min: usize,
    },
    /// The same notice number appears twice.
    #[error("{field}: notice number {notice} is already used by {first}")]
    DuplicateNotice {
        /// The second field holding it.
        field: String,
        /// The first field holding it.
        first: String,
        /// The notice number.
        notice: String,
    },
    /// The Poste Data Matrix cannot carry a value (e.g. a character outside Latin-1 letters).
    #[error("{field}: {source}")]
    Payload {
        /// The field whose payload failed.
        field: String,
        /// What is wrong.
        source: PayloadError,
    },
    /// The creditor's logo cannot be embedded.
    #[error("logo: {0}")]
    Logo(super::logo::LogoProblem),
    /// A symbol could not be drawn.
    #[error("symbol: {0}")]
    Render(#[from] RenderError),
    /// The embedded font could not be read or subset (a bug, not an input problem).
    #[error("font: {0}")]
    Font(String),
}
