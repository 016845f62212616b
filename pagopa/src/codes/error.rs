//! Errors for notice numbers, IUVs, segregation/application codes and RF references.

use std::fmt;

/// Which code a [`CodeError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CodeKind {
    /// An 18-digit notice number (numero avviso).
    NoticeNumber,
    /// An IUV (identificativo univoco di versamento).
    Iuv,
    /// A two-digit segregation code.
    SegregationCode,
    /// A two-digit application code.
    ApplicationCode,
    /// An ISO 11649 RF creditor reference.
    RfReference,
}

impl fmt::Display for CodeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            CodeKind::NoticeNumber => "notice number",
            CodeKind::Iuv => "IUV",
            CodeKind::SegregationCode => "segregation code",
            CodeKind::ApplicationCode => "application code",
            CodeKind::RfReference => "RF reference",
        })
    }
}

/// Why a notice number, IUV, segregation/application code or RF reference was rejected.
///
/// Positions are 1-based character positions in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum CodeError {
    /// The input has the wrong number of characters.
    #[error("{what} must be {expected} characters long, found {found}")]
    WrongLength {
        /// The code being parsed.
        what: CodeKind,
        /// The accepted length(s), for humans, e.g. `"18"` or `"15 or 17"`.
        expected: &'static str,
        /// The number of characters found.
        found: usize,
    },
    /// A character that must be a digit is not one.
    #[error("{what}: non-digit {found:?} at position {position}")]
    NonDigit {
        /// The code being parsed.
        what: CodeKind,
        /// 1-based character position.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// A character outside the allowed alphabet (RF references: `A-Z`, `a-z`, `0-9`).
    #[error("{what}: invalid character {found:?} at position {position}")]
    InvalidCharacter {
        /// The code being parsed.
        what: CodeKind,
        /// 1-based character position.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// The check digits do not match the rest of the code.
    #[error("{what}: check digits expected {expected:02}, found {found:02}")]
    CheckDigits {
        /// The code being parsed.
        what: CodeKind,
        /// The check digits computed from the rest of the code.
        expected: u8,
        /// The check digits present in the input.
        found: u8,
    },
    /// The first digit of a notice number is not 0, 1, 2 or 3.
    #[error("notice number: aux digit {found:?} unknown (expected 0, 1, 2 or 3)")]
    UnknownAuxDigit {
        /// The aux digit found.
        found: char,
    },
    /// An RF reference does not start with `RF`.
    #[error("RF reference must start with \"RF\"")]
    MissingRfPrefix,
    /// A numeric base given to a builder has more digits than its slot.
    #[error("base {value} does not fit in {digits} digits")]
    BaseOutOfRange {
        /// The number of digits of the slot.
        digits: u8,
        /// The base given.
        value: u64,
    },
    /// An IUV does not have the shape required by the requested notice variant.
    #[error("a {found}-character IUV cannot form a notice number with aux digit {aux}")]
    IuvShape {
        /// The aux digit requested.
        aux: u8,
        /// The IUV length.
        found: usize,
    },
}
