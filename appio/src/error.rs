//! Errors of the `appio` crate: one top-level [`Error`] made of focused enums.

use std::time::Duration;

use crate::types::ProblemJson;

/// Any failure of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A message or one of its parts breaks a rule of the IO Services API; nothing was sent.
    #[error("invalid message: {0}")]
    Validation(#[from] ValidationError),
    /// IO Services answered with an error.
    #[error("IO Services error: {0}")]
    Api(#[from] ApiError),
    /// The request could not be carried out over HTTP.
    #[error("transport error: {0}")]
    Transport(#[from] TransportError),
    /// The bulk-sending journal failed.
    #[error("journal error: {0}")]
    Journal(#[from] JournalError),
    /// The bulk input (CSV file, template) is unusable.
    #[error("bulk input error: {0}")]
    Input(#[from] InputError),
    /// A key rotation stopped before it was complete.
    #[error("key rotation: {0}")]
    Rotation(#[from] RotationError),
}

/// Why a key rotation ([`crate::rotate_keys`]) stopped. What was done before is safe: the
/// client always holds a key that IO accepts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RotationError {
    /// The client's key is neither the primary nor the secondary key of the service.
    #[error("the client's key is not one of the keys of service {service_id}")]
    KeyNotOfService {
        /// The service.
        service_id: String,
    },
    /// Requests written with the old key were still in flight at the deadline: the old key was
    /// not regenerated (the client already uses the new one).
    #[error("{in_flight} requests with the old key still in flight after {waited:?}; old key kept")]
    DrainTimeout {
        /// Requests still in flight.
        in_flight: usize,
        /// How long the rotation waited.
        waited: Duration,
    },
    /// A step of the rotation failed at IO.
    #[error("{step}: {source}")]
    Step {
        /// Which step (`get keys`, `regenerate secondary`, ...).
        step: &'static str,
        /// The failure.
        #[source]
        source: Box<Error>,
    },
}

/// Why bytes are not a logo IO accepts: the PNG is checked before it is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogoError {
    /// Empty input.
    #[error("the logo is empty")]
    Empty,
    /// Larger than allowed.
    #[error("the logo is {found} bytes, more than {max}")]
    TooLarge {
        /// Bytes allowed.
        max: usize,
        /// Bytes given.
        found: usize,
    },
    /// The first 8 bytes are not the PNG signature.
    #[error("not a PNG: the signature (89 50 4E 47 0D 0A 1A 0A) is missing")]
    NotPng,
    /// The file ends inside a chunk, or before `IEND`.
    #[error("PNG truncated at byte {offset}")]
    Truncated {
        /// Where the data ends.
        offset: usize,
    },
    /// The first chunk is not a 13-byte `IHDR`.
    #[error("PNG: the first chunk must be a 13-byte IHDR, found {found:?} of {length} bytes")]
    MissingIhdr {
        /// Type of the first chunk.
        found: String,
        /// Its length.
        length: u32,
    },
    /// A chunk's CRC does not match its data.
    #[error("PNG: CRC mismatch in chunk {chunk:?} at byte {offset}")]
    BadCrc {
        /// Chunk type.
        chunk: String,
        /// Offset of the chunk.
        offset: usize,
    },
    /// An IHDR field is outside what PNG allows.
    #[error("PNG IHDR: {reason}")]
    BadIhdr {
        /// What is wrong.
        reason: String,
    },
    /// The image size breaks the rules asked for ([`crate::LogoRules`]).
    #[error("logo is {width}x{height} pixels: {rule}")]
    Dimensions {
        /// Width.
        width: u32,
        /// Height.
        height: u32,
        /// The rule broken.
        rule: String,
    },
    /// Bytes after the `IEND` chunk.
    #[error("PNG: {extra} bytes after IEND")]
    TrailingData {
        /// Bytes after the end.
        extra: usize,
    },
    /// No `IDAT` chunk before `IEND`.
    #[error("PNG: no IDAT chunk (no image data)")]
    NoImageData,
}

/// A rule of the IO Services API that a message part breaks. `field` is the JSON path of the part
/// (for example `content.subject`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValidationError {
    /// A text is shorter or longer than allowed. Lengths are in UTF-16 code units, which is how
    /// the API (JavaScript `String.length`) counts them.
    #[error("{field} must be {min}..={max} characters long (UTF-16 units), found {found}")]
    Length {
        /// JSON path of the field.
        field: &'static str,
        /// Minimum length, inclusive.
        min: usize,
        /// Maximum length, inclusive.
        max: usize,
        /// Length of the value given.
        found: usize,
    },
    /// A number is outside its allowed range.
    #[error("{field} must be in {min}..={max}, found {found}")]
    Range {
        /// JSON path of the field.
        field: &'static str,
        /// Minimum, inclusive.
        min: u64,
        /// Maximum, inclusive.
        max: u64,
        /// Value given.
        found: u64,
    },
    /// A text does not have the required form.
    #[error("{field} must match {expected}, found {found:?}")]
    Format {
        /// JSON path of the field.
        field: &'static str,
        /// What the field must look like.
        expected: &'static str,
        /// The value given (never a secret).
        found: String,
    },
    /// A required field is missing.
    #[error("{field} is required")]
    Missing {
        /// JSON path of the field.
        field: &'static str,
    },
    /// A logo is not a PNG that IO accepts.
    #[error("logo: {0}")]
    Logo(#[from] LogoError),
    /// Two parts of a message cannot be combined.
    #[error("{field}: {reason}")]
    Incompatible {
        /// JSON path of the field.
        field: &'static str,
        /// Why the combination is not allowed.
        reason: &'static str,
    },
}

/// Why IO Services refused a request (403).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ForbiddenReason {
    /// "Recipient forbidden": a test key used for a fiscal code that is not in the service's test
    /// list (or, per the developer docs, a recipient that is not on IO).
    RecipientForbidden,
    /// "You are not allowed here": IP allow list or missing permission.
    NotAllowed,
    /// "Production call forbidden": the service may not issue production calls yet.
    ProductionCallForbidden,
    /// "Call forbidden": the service may not send messages with default addresses.
    DefaultAddressesForbidden,
    /// Another title, kept verbatim.
    Other(String),
}

impl std::fmt::Display for ForbiddenReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::RecipientForbidden => f.write_str("recipient forbidden"),
            Self::NotAllowed => f.write_str("not allowed (IP allow list or missing permission)"),
            Self::ProductionCallForbidden => f.write_str("production call forbidden"),
            Self::DefaultAddressesForbidden => f.write_str("default addresses forbidden"),
            Self::Other(t) => write!(f, "{t}"),
        }
    }
}

/// An error answer of IO Services, after any retries.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400: the payload was refused.
    #[error("400 invalid payload{}", detail(.problem))]
    BadRequest {
        /// The ProblemJson body, when there was one.
        problem: Option<Box<ProblemJson>>,
    },
    /// 401: the subscription key is missing or wrong.
    #[error("401 unauthorized: check the subscription key{}", detail(.problem))]
    Unauthorized {
        /// The body, when it could be read as a problem.
        problem: Option<Box<ProblemJson>>,
    },
    /// 403: the request is forbidden.
    #[error("403 forbidden: {reason}{}", detail(.problem))]
    Forbidden {
        /// Which refusal this is.
        reason: ForbiddenReason,
        /// The ProblemJson body, when there was one.
        problem: Option<Box<ProblemJson>>,
    },
    /// 404 on a profile look-up: the citizen has no IO inbox.
    #[error("404 profile not found: the citizen is not on IO")]
    ProfileNotFound {
        /// The ProblemJson body, when there was one.
        problem: Option<Box<ProblemJson>>,
    },
    /// 409: the resource's state does not allow the action (for example updating a service
    /// under review, releasing a service not approved).
    #[error("409 conflict: the state of the resource does not allow this{}", detail(.problem))]
    Conflict {
        /// The ProblemJson body, when there was one.
        problem: Option<Box<ProblemJson>>,
    },
    /// 404 on another resource (message, activation).
    #[error("404 not found{}", detail(.problem))]
    NotFound {
        /// The ProblemJson body, when there was one.
        problem: Option<Box<ProblemJson>>,
    },
    /// 429 after every allowed retry.
    #[error("429 too many requests (retries exhausted; last Retry-After: {retry_after:?})")]
    Throttled {
        /// The last `Retry-After` given by the server.
        retry_after: Option<Duration>,
    },
    /// 5xx after every allowed retry (or a 5xx that is not safe to retry).
    #[error("{status} server error{}", detail(.problem))]
    Server {
        /// HTTP status.
        status: u16,
        /// The ProblemJson body, when there was one.
        problem: Option<Box<ProblemJson>>,
    },
    /// A status the API does not document for this operation.
    #[error("unexpected HTTP status {status}: {body}")]
    UnexpectedStatus {
        /// HTTP status.
        status: u16,
        /// Start of the body (at most 512 bytes).
        body: String,
    },
    /// A success status with a body that is not what the API documents.
    #[error("{operation}: malformed response body: {reason}")]
    MalformedResponse {
        /// Operation id (for example `getProfileByPOST`).
        operation: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl ApiError {
    /// Whether the request can be sent again without risk of doing something twice and with a
    /// chance of a different outcome (429 and 5xx).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Throttled { .. } | Self::Server { .. })
    }
}

fn detail(problem: &Option<Box<ProblemJson>>) -> String {
    match problem {
        Some(p) => {
            let mut s = String::new();
            if let Some(t) = &p.title {
                s.push_str(": ");
                s.push_str(t);
            }
            if let Some(d) = &p.detail {
                s.push_str(" (");
                s.push_str(d);
                s.push(')');
            }
            s
        }
        None => String::new(),
    }
}

/// The HTTP exchange failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The request never reached the server (connection refused, DNS, TLS handshake): it is safe
    /// to send again.
    #[error("could not connect: {0}")]
    Connect(#[source] reqwest::Error),
    /// The request may have reached the server but no answer was read (timeout, connection reset
    /// mid-exchange). For a message submission the outcome is unknown: the message may exist.
    #[error("request sent, answer lost: {0}")]
    AnswerLost(#[source] reqwest::Error),
    /// The base URL or a path built from it is invalid.
    #[error("invalid URL: {0}")]
    Url(String),
    /// The HTTP client could not be built.
    #[error("HTTP client setup: {0}")]
    Setup(#[source] reqwest::Error),
}

/// The bulk journal failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    /// SQLite failed.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A batch of journal writes failed (the message is the SQLite error).
    #[error("journal write failed: {0}")]
    Write(String),
    /// The journal writer thread stopped.
    #[error("the journal writer stopped")]
    WriterStopped,
    /// The journal holds a state this version does not know.
    #[error("journal row {row}: unknown state {state:?}")]
    UnknownState {
        /// Row key.
        row: String,
        /// State text found.
        state: String,
    },
    /// The worker no longer holds the row (its lease ended and another worker took it).
    #[error("journal row {row}: held by another worker now")]
    LeaseLost {
        /// Row key.
        row: String,
    },
    /// PostgreSQL failed.
    #[cfg(feature = "postgres")]
    #[error("postgres: {0}")]
    Postgres(#[from] pa_postgres::DbError),
    /// The journal was written for a different template.
    #[error("journal belongs to another template (fingerprint {found}, expected {expected})")]
    TemplateMismatch {
        /// Fingerprint stored in the journal.
        found: String,
        /// Fingerprint of the current template.
        expected: String,
    },
}

/// Bulk input (CSV, template) that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The CSV file could not be read.
    #[error("CSV: {0}")]
    Csv(#[from] csv::Error),
    /// A required CSV column is missing.
    #[error("CSV has no column {0:?}")]
    MissingColumn(String),
    /// Two rows have the same key.
    #[error("CSV rows {first} and {second} have the same key {key:?}")]
    DuplicateKey {
        /// Key.
        key: String,
        /// First line (1-based, header is line 1).
        first: u64,
        /// Second line.
        second: u64,
    },
    /// The template file is not valid.
    #[error("template: {0}")]
    Template(String),
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// File path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}
