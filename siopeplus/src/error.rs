//! Errors of the crate: one `Error` composed of focused enums.

use std::fmt;

use crate::model::OrderRef;

/// Every error of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The flow breaks rules of OPI (totals, unique numbers, identifier formats...).
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// An XML document could not be read.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Writing failed.
    #[error("writing the flow: {0}")]
    Io(#[from] std::io::Error),
    /// The A2A channel failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A certificate or key could not be used.
    #[error(transparent)]
    Certificate(#[from] CertError),
    /// The outbox store failed.
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    /// Signing or verifying failed.
    #[error(transparent)]
    Signature(#[from] SignatureError),
}

/// Where a parse error happened and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path} (byte {position}): {kind}")]
pub struct ParseError {
    /// Element path, e.g. `flusso_ordinativi/mandato[3]/informazioni_beneficiario[1]/importo_beneficiario`.
    pub path: String,
    /// Byte offset in the input.
    pub position: u64,
    /// What was wrong.
    pub kind: ParseErrorKind,
}

/// What was wrong with the XML.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// Malformed XML.
    #[error("malformed XML: {0}")]
    Xml(String),
    /// A DOCTYPE declaration (refused: no DTDs, no entities).
    #[error("DOCTYPE is not allowed")]
    Dtd,
    /// Nesting deeper than the limit.
    #[error("nesting deeper than {0} elements")]
    TooDeep(usize),
    /// A unit larger than the limit.
    #[error("larger than {0} bytes")]
    TooLarge(u64),
    /// A required element is missing (or out of order).
    #[error("expected element {expected}, found {}", found.as_deref().unwrap_or("end of parent"))]
    Missing {
        /// The element expected.
        expected: String,
        /// The element found instead.
        found: Option<String>,
    },
    /// An element that the schema does not allow here.
    #[error("unexpected element {0}")]
    Unexpected(String),
    /// The root element is not the expected one.
    #[error("root element is {found}, expected {expected}")]
    WrongRoot {
        /// Expected root.
        expected: String,
        /// Root found.
        found: String,
    },
    /// A value that does not fit its type.
    #[error("invalid value {value:?}: {reason}")]
    Invalid {
        /// The value (truncated).
        value: String,
        /// Why.
        reason: String,
    },
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationError {
    /// The order concerned.
    pub order: OrderRef,
    /// The field, as an element path within the order, e.g.
    /// `informazioni_beneficiario[2]/classificazione`.
    pub field: String,
    /// What is wrong.
    pub problem: String,
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.order, self.field, self.problem)
    }
}

/// All the broken rules found (at least one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationErrors(pub Vec<ValidationError>);

impl ValidationErrors {
    /// The findings.
    #[must_use]
    pub fn errors(&self) -> &[ValidationError] {
        &self.0
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        write!(f, "{n} validation error{}", if n == 1 { "" } else { "s" })?;
        for e in self.0.iter().take(20) {
            write!(f, "\n  {e}")?;
        }
        if n > 20 {
            write!(f, "\n  ... and {} more", n - 20)?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}

/// The A2A channel failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// Configuration could not be used (base URL, trust roots, identity).
    #[error("A2A client configuration: {0}")]
    Config(String),
    /// Network or TLS failure.
    #[error("A2A request to {url} failed: {source}")]
    Http {
        /// The URL requested.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// SIOPE+ answered with an error status.
    #[error("SIOPE+ answered {status} to {url}: {body}")]
    Status {
        /// The URL requested.
        url: String,
        /// HTTP status.
        status: u16,
        /// The body (truncated).
        body: String,
    },
    /// Still throttled (429) or unavailable (503) after the configured retries.
    #[error("SIOPE+ still answers {status} to {url} after {attempts} attempts")]
    RetriesExhausted {
        /// The URL requested.
        url: String,
        /// Last status.
        status: u16,
        /// Attempts made.
        attempts: u32,
    },
    /// The answer could not be understood (JSON, zip).
    #[error("unexpected answer from {url}: {detail}")]
    BadAnswer {
        /// The URL requested.
        url: String,
        /// What was wrong.
        detail: String,
    },
}

/// A certificate or key could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The file could not be read.
    #[error("reading {path}: {detail}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        detail: String,
    },
    /// No certificate in the input.
    #[error("no certificate found")]
    NoCertificate,
    /// No private key in the input.
    #[error("no private key found")]
    NoKey,
    /// PKCS#12 could not be opened (wrong password or damaged file).
    #[error("PKCS#12: {0}")]
    Pkcs12(String),
    /// The certificate could not be parsed.
    #[error("certificate: {0}")]
    X509(String),
    /// PEM could not be parsed.
    #[error("PEM: {0}")]
    Pem(String),
}

/// The outbox store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutboxError {
    /// The database failed.
    #[error("outbox database: {0}")]
    Db(String),
    /// No entry with this id.
    #[error("no outbox entry {0}")]
    NotFound(i64),
    /// A flow with the same `identificativo_flusso` is already in the outbox.
    #[error("flow {0} is already in the outbox")]
    Duplicate(String),
    /// A failure injected by a test at the named step.
    #[error("injected failure at {0}")]
    Injected(&'static str),
    /// This instance's lease on the entry expired and another instance holds it now.
    #[error("outbox entry {0} is held by another instance")]
    LeaseLost(i64),
}

/// Signing or verifying failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The signature library refused.
    #[error("XML signature: {0}")]
    Xmldsig(String),
    /// A document that must be signed carries no signature.
    #[error("the document carries no ds:Signature")]
    Missing,
}
