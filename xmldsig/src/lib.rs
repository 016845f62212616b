#![doc = include_str!("../README.md")]

mod c14n;
mod dsig;
mod encoding;
mod error;
mod keys;
pub mod stream;
mod tree;
mod wf;

pub use c14n::{C14nAlgorithm, C14nOptions, canonicalize, canonicalize_document};
pub use dsig::{
    DSIG_NS, ENVELOPED_SIGNATURE, Placement, SignOptions, Verified, VerifyOptions, XADES_NS,
    XADES_SIGNED_PROPERTIES_TYPE, XadesInfo, XadesOptions, XadesPolicy, sign_bytes, sign_enveloped,
    verify, verify_bytes, verify_element, verify_signature,
};
pub use error::{
    Error, KeyError, ParseError, ParseErrorKind, RefTarget, Result, SignError, VerifyError,
};
pub use keys::{
    Certificate, DigestAlgorithm, KeyType, PublicKey, SignatureAlgorithm, SigningKey, TrustedKey,
    pem_blocks,
};
pub use tree::{
    Attribute, Children, Document, Element, Node, NodeId, NodeKind, ParseOptions, Position, XML_NS,
};
