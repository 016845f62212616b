//! Error types.

use thiserror::Error;

/// The crate's error: one of the focused errors below.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// Malformed or refused XML.
    #[error(transparent)]
    Xml(#[from] XmlError),
    /// Well-formed XML that is not the expected document.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// A value that does not satisfy its format.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// A model that cannot be written as schema-valid XML.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// Digest computation or check failure.
    #[error(transparent)]
    Impronta(#[from] ImprontaError),
    /// Registry (protocol numbering) failure.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// Textual segnatura template or parse failure.
    #[error(transparent)]
    Textual(#[from] TextualError),
}

/// Malformed or refused XML input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum XmlError {
    /// Syntax error at a byte offset.
    #[error("XML syntax error at byte {position}: {message}")]
    Syntax {
        /// Byte offset in the input.
        position: u64,
        /// What is wrong.
        message: String,
    },
    /// A namespace prefix without a declaration.
    #[error("undeclared namespace prefix `{prefix}` at byte {position}")]
    UnknownPrefix {
        /// Byte offset in the input.
        position: u64,
        /// The prefix.
        prefix: String,
    },
    /// A document type declaration (refused: no DTDs, no entities).
    #[error("DOCTYPE declarations are refused (byte {position})")]
    Dtd {
        /// Byte offset in the input.
        position: u64,
    },
    /// A reference to an entity other than the five predefined ones.
    #[error("reference to undeclared entity `{name}` at byte {position}")]
    Entity {
        /// Byte offset in the input.
        position: u64,
        /// Entity name.
        name: String,
    },
    /// Input larger than the limit.
    #[error("document larger than {limit} bytes")]
    TooLarge {
        /// Limit in bytes.
        limit: usize,
    },
    /// Nesting deeper than the limit.
    #[error("elements nested deeper than {limit}")]
    TooDeep {
        /// Limit in levels.
        limit: usize,
    },
}

/// Well-formed XML that does not match the expected structure.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The root element is not one this parser reads.
    #[error("unexpected root element `{found}`, expected {expected}")]
    UnexpectedRoot {
        /// `{namespace}local` of the root found.
        found: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A mandatory element or attribute is missing.
    #[error("missing `{what}` in `{path}`")]
    Missing {
        /// Element path of the parent.
        path: String,
        /// The missing element or attribute.
        what: String,
    },
    /// An element that the schema does not allow at this place.
    #[error("unexpected element `{found}` in `{path}`")]
    Unexpected {
        /// Element path of the parent.
        path: String,
        /// `{namespace}local` of the element found.
        found: String,
    },
    /// A value that does not satisfy its type.
    #[error("invalid value in `{path}`: {reason}")]
    Invalid {
        /// Element or attribute path.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// A value that does not satisfy its format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ValueError {
    /// Empty where a value is required.
    #[error("{field} is empty")]
    Empty {
        /// Field name.
        field: &'static str,
    },
    /// Does not match the expected pattern.
    #[error("{field} must match {expected}")]
    Pattern {
        /// Field name.
        field: &'static str,
        /// The pattern, in words or as a regular expression.
        expected: &'static str,
    },
    /// A number too large to represent.
    #[error("{field} is out of range")]
    OutOfRange {
        /// Field name.
        field: &'static str,
    },
}

/// A model that cannot be written as schema-valid XML.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum WriteError {
    /// A schema constraint the model does not satisfy.
    #[error("cannot write `{path}`: {reason}")]
    Invalid {
        /// Element path.
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// Digest (`Impronta`) errors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ImprontaError {
    /// The algorithm is unknown or refused as weak (SHA-1, MD5).
    #[error("digest algorithm `{0}` is not supported (SHA-256, SHA-384, SHA-512 are)")]
    UnsupportedAlgorithm(String),
    /// The `Impronta` is not valid base64.
    #[error("Impronta is not valid base64")]
    Base64,
    /// The digest has the wrong length for its algorithm.
    #[error("Impronta has {found} bytes, {algorithm} digests have {expected}")]
    Length {
        /// Algorithm name.
        algorithm: &'static str,
        /// Expected length.
        expected: usize,
        /// Found length.
        found: usize,
    },
    /// The document's digest differs from the declared one.
    #[error("digest of `{nome_file}` does not match its Impronta")]
    Mismatch {
        /// The document's file name.
        nome_file: String,
    },
    /// Reading the document failed.
    #[error("cannot read `{nome_file}`: {message}")]
    Io {
        /// The document's file name.
        nome_file: String,
        /// The I/O error.
        message: String,
    },
}

/// Registry (protocol numbering and register) errors.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The backing store failed (a statement was refused, the data is not what was expected).
    #[error("registry store error: {0}")]
    Store(String),
    /// The store could not be reached, or the connection dropped during the call. When the
    /// call was a registration its outcome is unknown: retry it with the same
    /// [`id_richiesta`](crate::RegistrationRecord::with_id_richiesta), which returns the
    /// number already given if the first attempt was committed.
    #[error("registry store unavailable: {0}")]
    Unavailable(String),
    /// The counter reached its maximum.
    #[error("registry counter exhausted for {registro} {year}")]
    Exhausted {
        /// Registry code.
        registro: String,
        /// Year.
        year: i32,
    },
    /// A field of a [`RegistrationRecord`](crate::RegistrationRecord) is refused.
    #[error("registration record: {field} {reason}")]
    InvalidRecord {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// The request id was already used, in this register, for a different record.
    #[error(
        "request id {id_richiesta:?} already registered as number {numero} of {anno} with a different record"
    )]
    Conflict {
        /// The request id.
        id_richiesta: String,
        /// Year of the existing registration.
        anno: i32,
        /// Number of the existing registration.
        numero: u64,
    },
    /// Another registration held the register's counter longer than the lock timeout (a stuck
    /// instance, or a long transaction on the counter): nothing was registered.
    #[error("register {registro} {year} is locked by another registration (lock timeout)")]
    Busy {
        /// Registry code.
        registro: String,
        /// Year.
        year: i32,
    },
    /// A page size of zero, or larger than the maximum.
    #[error("page size {requested} is not in 1..={max}")]
    PageSize {
        /// What was asked for.
        requested: usize,
        /// The largest page.
        max: usize,
    },
}

impl From<rusqlite::Error> for RegistryError {
    fn from(e: rusqlite::Error) -> Self {
        RegistryError::Store(e.to_string())
    }
}

/// Textual segnatura errors.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TextualError {
    /// The template is malformed.
    #[error("template error at byte {position}: {reason}")]
    Template {
        /// Byte offset in the template.
        position: usize,
        /// What is wrong.
        reason: String,
    },
    /// The text does not follow the template.
    #[error("text does not match the template at byte {position}: expected {expected}")]
    Mismatch {
        /// Byte offset in the text.
        position: usize,
        /// What the template expected there.
        expected: String,
    },
    /// A field has an invalid value.
    #[error("field `{field}` is invalid: {reason}")]
    Field {
        /// Field name.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A field the template needs is absent from the values.
    #[error("the template needs `{0}`, which is not set")]
    MissingField(&'static str),
}
