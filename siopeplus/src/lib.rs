#![doc = include_str!("../README.md")]

mod cert;
mod client;
pub mod coverage;
mod error;
mod messages;
mod model;
mod outbox;
mod pull;
mod reader;
pub mod reconcile;
mod sign;
#[cfg(feature = "simulator")]
pub mod simulator;
mod types;
mod validate;
mod writer;
mod xml;

pub use cert::{CertInfo, CertStatus, ClientIdentity, DEFAULT_WARN_DAYS};
pub use client::{
    A2aClient, A2aConfig, ListItem, ListKind, ListPage, ListQuery, MAX_DOWNLOAD_XML, RetryPolicy,
    UploadReceipt, trust_roots_from_pem, unzip_one, zip_one,
};
pub use error::{
    CertError, Error, OutboxError, ParseError, ParseErrorKind, SignatureError, TransportError,
    ValidationError, ValidationErrors,
};
pub use messages::*;
pub use model::*;
#[cfg(feature = "postgres")]
pub use outbox::PgOutbox;
pub use outbox::{
    DEFAULT_LEASE, FailOnce, FailPoints, OrderState, OrderStatus, Outbox, OutboxEntry, OutboxState,
    OutboxStore, SqliteOutbox, Step, StoredMessage,
};

/// The PostgreSQL schema of [`PgOutbox`] (component `siopeplus`), for `pa db migrate` or
/// [`pa_postgres::Database::migrate`] at start.
#[cfg(feature = "postgres")]
pub const PG_MIGRATIONS: pa_postgres::Migrations = outbox::postgres::MIGRATIONS;
pub use reader::{FlowHeader, FlowReader, parse_flow};
pub use sign::{
    FlowSigner, MAX_SIGNED_DOCUMENT, sign_document, sign_flow, trusted_keys_from_pem, verify_flow,
    verify_message,
};
pub use types::{
    CodiceA2a, CodiceAbi, CodiceEnte, CodiceGestionale, CodiceIstat, IdentificativoFlusso,
    InvalidValue, SignedAmount,
};
pub use validate::{FlowValidator, validate_flow, validate_testata};
pub use writer::{FlowWriter, WriterOptions, write_flow};
pub use xml::XmlLimits;
pub use xmldsig::TrustedKey;
