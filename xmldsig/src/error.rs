//! Error types.

use std::fmt;

/// Every error this crate returns.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The XML could not be parsed, or broke a parsing limit.
    #[error("XML parse error: {0}")]
    Parse(#[from] ParseError),
    /// A key or certificate could not be loaded or used.
    #[error("key error: {0}")]
    Key(#[from] KeyError),
    /// A signature did not verify, or broke one of the verification rules.
    #[error("signature verification failed: {0}")]
    Verify(#[from] VerifyError),
    /// A signature could not be produced.
    #[error("signing failed: {0}")]
    Sign(#[from] SignError),
}

/// A parse error with the position (1-based line and column, in bytes) where it was found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {kind}")]
pub struct ParseError {
    /// What went wrong.
    pub kind: ParseErrorKind,
    /// 1-based line number.
    pub line: u32,
    /// 1-based column (in bytes) within the line.
    pub column: u32,
}

/// What went wrong while parsing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// A `<!DOCTYPE` declaration was found; DTDs are never accepted (no entities, no XXE).
    #[error("DOCTYPE declarations are not allowed")]
    Doctype,
    /// The input is larger than [`ParseOptions::max_size`](crate::ParseOptions::max_size).
    #[error("document of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size of the input.
        size: usize,
        /// Configured limit.
        limit: usize,
    },
    /// Elements are nested deeper than the configured limit.
    #[error("element nesting exceeds the depth limit of {limit}")]
    TooDeep {
        /// Configured limit.
        limit: usize,
    },
    /// The document has more elements than the configured limit.
    #[error("document exceeds the limit of {limit} elements")]
    TooManyElements {
        /// Configured limit.
        limit: usize,
    },
    /// An element has more attributes than the configured limit.
    #[error("element has more than {limit} attributes")]
    TooManyAttributes {
        /// Configured limit.
        limit: usize,
    },
    /// The input is not valid UTF-8.
    #[error("input is not valid UTF-8")]
    NotUtf8,
    /// The document is in, or declares, an encoding that is not decoded here (UTF-8, US-ASCII,
    /// ISO-8859-1 and windows-1252 are).
    #[error(
        "unsupported encoding {0:?} (UTF-8, US-ASCII, ISO-8859-1 and windows-1252 are accepted)"
    )]
    UnsupportedEncoding(String),
    /// A byte that the declared encoding does not define (non-ASCII in US-ASCII; 0x81, 0x8D,
    /// 0x8F, 0x90 or 0x9D in windows-1252).
    #[error("byte 0x{byte:02X} is not a character in the declared encoding {encoding}")]
    Undecodable {
        /// The declared encoding.
        encoding: String,
        /// The byte.
        byte: u8,
    },
    /// An element or attribute name longer than the configured limit.
    #[error("name longer than {limit} bytes")]
    NameTooLong {
        /// Configured limit.
        limit: usize,
    },
    /// A run of text longer than the configured limit (streaming reader).
    #[error("text longer than {limit} bytes")]
    TextTooLong {
        /// Configured limit.
        limit: usize,
    },
    /// An end tag that does not close the open element.
    #[error("end tag </{found}> does not match the open element <{expected}>")]
    MismatchedEndTag {
        /// The open element.
        expected: String,
        /// The end tag found.
        found: String,
    },
    /// Reading the input failed (streaming reader).
    #[error("I/O error: {0}")]
    Io(String),
    /// The XML is not well-formed.
    #[error("malformed XML: {0}")]
    Syntax(String),
    /// A reference to an entity other than the five predefined ones.
    #[error("unknown entity &{0};")]
    UnknownEntity(String),
    /// A character reference to a character that XML does not allow.
    #[error("invalid character reference &{0};")]
    InvalidCharRef(String),
    /// A character that XML 1.0 does not allow.
    #[error("character U+{0:04X} is not allowed in XML")]
    InvalidChar(u32),
    /// A prefix is used without a namespace declaration in scope.
    #[error("namespace prefix {0:?} is not declared")]
    UnboundPrefix(String),
    /// A namespace declaration breaks the Namespaces in XML rules.
    #[error("invalid namespace declaration: {0}")]
    InvalidNamespace(String),
    /// An element has the same attribute twice (after namespace resolution).
    #[error("duplicate attribute {0:?}")]
    DuplicateAttribute(String),
    /// Two elements carry the same ID value.
    #[error("duplicate ID value {id:?} (first used on line {first_line})")]
    DuplicateId {
        /// The ID value.
        id: String,
        /// Line of the first element carrying it.
        first_line: u32,
    },
    /// The document has no root element.
    #[error("document has no root element")]
    NoRoot,
    /// A second root element, or non-whitespace text outside the root element.
    #[error("content after or outside the root element: {0}")]
    OutsideRoot(String),
    /// The input ended with unclosed elements.
    #[error("unexpected end of input: element <{0}> is not closed")]
    UnclosedElement(String),
}

/// A key or certificate could not be loaded or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The PEM text could not be read.
    #[error("invalid PEM: {0}")]
    Pem(String),
    /// The PEM has a label this crate does not accept here.
    #[error("unexpected PEM label {found:?} (expected {expected})")]
    PemLabel {
        /// Label found.
        found: String,
        /// What was expected.
        expected: &'static str,
    },
    /// The private key was rejected (bad encoding or unsupported algorithm/curve).
    #[error("private key rejected: {0}")]
    PrivateKey(String),
    /// The certificate could not be decoded.
    #[error("invalid X.509 certificate: {0}")]
    Certificate(String),
    /// The public key type is not supported (only RSA, EC P-256 and EC P-384 are).
    #[error("unsupported public key algorithm {0}")]
    UnsupportedKey(String),
    /// The PKCS#12 file could not be opened or has no key.
    #[error("PKCS#12: {0}")]
    Pkcs12(String),
    /// The algorithm cannot be used with this key.
    #[error("algorithm {algorithm} cannot be used with a {key} key")]
    AlgorithmMismatch {
        /// The algorithm URI.
        algorithm: &'static str,
        /// The key type.
        key: &'static str,
    },
    /// The raw signature did not verify with this key.
    #[error("signature does not verify with this key")]
    BadSignature,
    /// The signing operation failed.
    #[error("signing operation failed")]
    SigningFailed,
}

/// Which reference a digest or transform error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefTarget {
    /// The `URI` attribute of the `ds:Reference`.
    pub uri: String,
    /// Qualified name of the referenced element, when it was found.
    pub element: Option<String>,
}

impl fmt::Display for RefTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.element {
            Some(e) => write!(f, "reference {:?} (element <{}>)", self.uri, e),
            None => write!(f, "reference {:?}", self.uri),
        }
    }
}

/// Why a signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No `ds:Signature` element where one was required.
    #[error("no ds:Signature element found{0}")]
    NoSignature(String),
    /// More than one `ds:Signature` where exactly one was expected.
    #[error("{count} ds:Signature elements found{context}; expected exactly one")]
    MultipleSignatures {
        /// How many were found.
        count: usize,
        /// Where.
        context: String,
    },
    /// The node given is not a `ds:Signature` element.
    #[error("node is not a ds:Signature element")]
    NotASignature,
    /// A required element of the signature is missing.
    #[error("missing <{expected}> in <{parent}>")]
    MissingElement {
        /// Local name of the parent.
        parent: &'static str,
        /// Local name of the missing child.
        expected: &'static str,
    },
    /// An element that the strict profile does not allow.
    #[error("unexpected element <{found}> in <{parent}>")]
    UnexpectedElement {
        /// Local name of the parent.
        parent: &'static str,
        /// Qualified name found.
        found: String,
    },
    /// Non-whitespace text inside the signature's structure.
    #[error("unexpected text inside <{0}>")]
    UnexpectedText(&'static str),
    /// A required attribute is missing.
    #[error("missing attribute {attribute} on <{element}>")]
    MissingAttribute {
        /// Local name of the element.
        element: &'static str,
        /// Attribute name.
        attribute: &'static str,
    },
    /// An algorithm that is not allowed by the verification options.
    #[error("{what} algorithm {uri:?} is not allowed")]
    AlgorithmNotAllowed {
        /// Which algorithm slot (canonicalization, signature, digest, transform).
        what: &'static str,
        /// The algorithm URI.
        uri: String,
    },
    /// SHA-1 was used and is refused by default.
    #[error("SHA-1 based algorithm {0:?} is refused")]
    Sha1Refused(String),
    /// The transforms of a reference are not the allowed ones.
    #[error("{target}: transforms not allowed: {detail}")]
    Transforms {
        /// The reference.
        target: RefTarget,
        /// What is wrong.
        detail: String,
    },
    /// `SignedInfo` has the wrong number of references.
    #[error("SignedInfo has {found} references to signed content; exactly one is required")]
    ReferenceCount {
        /// How many content references were found.
        found: usize,
    },
    /// A `Reference/@URI` that is not a same-document `#id` reference.
    #[error("reference URI {0:?} is not allowed (only \"#id\" references are)")]
    ReferenceUri(String),
    /// The referenced ID does not exist in the document.
    #[error("reference {0:?} does not resolve to any element")]
    ReferenceNotFound(String),
    /// The signature is not a child of the element its reference points to.
    #[error("the signature is not enveloped in the referenced element <{element}> with ID {id:?}")]
    NotEnveloped {
        /// Qualified name of the referenced element.
        element: String,
        /// The ID.
        id: String,
    },
    /// The signed element is not the one the caller asked about.
    #[error("the signature covers element with ID {signed_id:?}, not the expected element")]
    WrongElement {
        /// The ID of the element the signature covers.
        signed_id: String,
    },
    /// The computed digest differs from `DigestValue`.
    #[error("digest mismatch for {0}")]
    DigestMismatch(RefTarget),
    /// `SignatureValue` does not verify over `SignedInfo` with the selected key.
    #[error("SignatureValue is invalid for SignedInfo with the trusted key{0}")]
    SignatureInvalid(String),
    /// Base64 content could not be decoded.
    #[error("invalid base64 in <{0}>")]
    Base64(&'static str),
    /// No trusted key was given, or none fits the signature algorithm.
    #[error("no trusted key usable for algorithm {0:?}")]
    NoUsableKey(String),
    /// `KeyInfo` names a certificate that is not among the trusted keys.
    #[error("the certificate in KeyInfo is not among the trusted keys")]
    UntrustedKeyInfo,
    /// XAdES signed properties are missing or wrong.
    #[error("XAdES: {0}")]
    Xades(String),
    /// Canonicalization failed (for example an unsupported InclusiveNamespaces list).
    #[error("canonicalization failed: {0}")]
    C14n(String),
}

/// Why signing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// No element carries the requested ID.
    #[error("no element with ID {0:?}")]
    IdNotFound(String),
    /// The child after which the signature should go does not exist.
    #[error("element with ID {id:?} has no child <{child}>")]
    PlacementChildNotFound {
        /// The ID of the element to sign.
        id: String,
        /// The qualified name that was looked for.
        child: String,
    },
    /// The element already has a signature child.
    #[error("element with ID {0:?} already has a ds:Signature child")]
    AlreadySigned(String),
    /// The options cannot be honoured.
    #[error("invalid signing options: {0}")]
    InvalidOptions(String),
    /// The signed output could not be re-read (internal consistency check).
    #[error("internal error while building the signature: {0}")]
    Internal(String),
}

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
