#![doc = include_str!("../README.md")]

mod error;
mod messages;
mod model;
mod reader;
mod types;
mod validate;
mod writer;
mod xml;

pub use error::{
    CertError, Error, OutboxError, ParseError, ParseErrorKind, SignatureError, TransportError,
    ValidationError, ValidationErrors,
};
pub use messages::*;
pub use model::*;
pub use reader::{FlowHeader, FlowReader, parse_flow};
pub use types::{
    CodiceA2a, CodiceAbi, CodiceEnte, CodiceGestionale, CodiceIstat, IdentificativoFlusso,
    InvalidValue, SignedAmount,
};
pub use validate::{FlowValidator, validate_flow, validate_testata};
pub use writer::{FlowWriter, WriterOptions, write_flow};
pub use xml::XmlLimits;
