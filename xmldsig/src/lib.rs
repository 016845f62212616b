//! Pure-Rust XML security core.
#![allow(missing_docs)]

mod c14n;
mod error;
mod tree;

pub use c14n::{C14nAlgorithm, C14nOptions, canonicalize, canonicalize_document};
pub use error::{
    Error, KeyError, ParseError, ParseErrorKind, RefTarget, Result, SignError, VerifyError,
};
pub use tree::{
    Attribute, Children, Document, Element, Node, NodeId, NodeKind, ParseOptions, Position, XML_NS,
};
