#![doc = include_str!("../README.md")]

mod builder;
mod error;
mod impronta;
mod legacy;
mod messages;
mod model;
mod parse;
mod registry;
mod textual;
mod write;
mod xml;

pub use builder::SegnaturaBuilder;
pub use error::{
    Error, ImprontaError, ParseError, RegistryError, TextualError, ValueError, WriteError,
    XmlError,
};
pub use impronta::{DigestAlgorithm, Impronta};
pub use legacy::*;
pub use messages::*;
pub use model::*;
pub use parse::{NS_DSIG, ParseOptions, ParsedSegnatura, RootNamespace};
pub use registry::*;
pub use textual::*;
pub use write::{NS_PEC, NS_PROTOCOLLO, NS_PROTOCOLLO_2013};
