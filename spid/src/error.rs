//! Errors of the SPID engine.

use crate::attributes::AttributeValueError;
use crate::error_code::SpidErrorCode;
use crate::level::{Comparison, SpidLevel};

/// Every error of this crate.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The SP configuration breaks a rule.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// A key or certificate could not be used.
    #[error("key or certificate: {0}")]
    Key(#[from] KeyError),
    /// IdP metadata could not be read.
    #[error("IdP metadata: {0}")]
    Metadata(#[from] MetadataError),
    /// An AuthnRequest could not be built.
    #[error("AuthnRequest: {0}")]
    Request(#[from] RequestError),
    /// A SAML Response was rejected.
    #[error("SAML Response rejected: {0}")]
    Response(#[from] ResponseError),
    /// A store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A Single Logout message could not be built or was rejected.
    #[error("Single Logout: {0}")]
    Logout(#[from] crate::slo::LogoutError),
}

/// A configuration field breaks a rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ConfigError {
    /// The field.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

/// A key, certificate or signing failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// PEM/DER could not be decoded.
    #[error("invalid {what}: {detail}")]
    Decode {
        /// What was being decoded.
        what: &'static str,
        /// Detail.
        detail: String,
    },
    /// Key generation failed.
    #[error("key generation failed: {0}")]
    Generate(String),
    /// Certificate generation failed.
    #[error("certificate generation failed: {0}")]
    Certificate(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
}

/// IdP metadata could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MetadataError {
    /// Not well-formed or breaking a parser limit.
    #[error("XML: {0}")]
    Xml(#[from] xmldsig::ParseError),
    /// No `md:EntityDescriptor` with an `md:IDPSSODescriptor`.
    #[error("no IdP EntityDescriptor found")]
    NoIdp,
    /// A required element or attribute is missing.
    #[error("missing {0}")]
    Missing(&'static str),
    /// No signing certificate.
    #[error("IdP {0:?} has no signing certificate")]
    NoSigningKey(String),
    /// A certificate could not be decoded.
    #[error("certificate of IdP {entity_id:?}: {detail}")]
    Certificate {
        /// The IdP.
        entity_id: String,
        /// Detail.
        detail: String,
    },
    /// `validUntil` is malformed.
    #[error("validUntil {0:?} is not a valid dateTime")]
    ValidUntil(String),
    /// The metadata is past its `validUntil`.
    #[error("metadata of {entity_id:?} expired at {valid_until}")]
    Expired {
        /// The IdP.
        entity_id: String,
        /// The `validUntil` value.
        valid_until: String,
    },
    /// The metadata signature does not verify.
    #[error("signature: {0}")]
    Signature(String),
}

/// An AuthnRequest could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The IdP is not known.
    #[error("unknown IdP {0:?}")]
    UnknownIdp(String),
    /// The IdP has no SSO endpoint for the binding.
    #[error("IdP {idp:?} has no SingleSignOnService for {binding}")]
    NoEndpoint {
        /// The IdP.
        idp: String,
        /// The binding URI.
        binding: &'static str,
    },
    /// The attribute consuming service index is not configured.
    #[error("no AttributeConsumingService with index {0}")]
    UnknownAttributeService(u16),
    /// The assertion consumer service index is not configured.
    #[error("no AssertionConsumerService with index {0}")]
    UnknownAcs(u16),
    /// RelayState must not be an URL (SPID: not immediately intelligible) and at most 80 bytes.
    #[error("RelayState {0:?} is not allowed (max 80 bytes, no URL)")]
    RelayState(String),
    /// Signing failed.
    #[error("signing: {0}")]
    Sign(String),
}

/// A store operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// Why a SAML Response was rejected. Each case names the element and attribute at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// `SAMLResponse` is not valid base64.
    #[error("SAMLResponse is not valid base64")]
    Base64,
    /// `SAMLResponse` is larger than the limit.
    #[error("SAMLResponse of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Size received (base64 characters).
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not well-formed XML or a parser limit was hit.
    #[error("XML: {0}")]
    Xml(#[from] xmldsig::ParseError),
    /// The root is not `samlp:Response`.
    #[error("root element is <{0}>, expected samlp:Response")]
    NotAResponse(String),
    /// A required attribute is missing.
    #[error("<{element}> has no {attribute} attribute")]
    MissingAttribute {
        /// Element.
        element: &'static str,
        /// Attribute.
        attribute: &'static str,
    },
    /// A required attribute is empty.
    #[error("<{element}> has an empty {attribute} attribute")]
    EmptyAttribute {
        /// Element.
        element: &'static str,
        /// Attribute.
        attribute: &'static str,
    },
    /// A required element is missing.
    #[error("<{parent}> has no <{element}>")]
    MissingElement {
        /// Parent element.
        parent: &'static str,
        /// Missing element.
        element: &'static str,
    },
    /// A required element is empty.
    #[error("<{0}> is empty")]
    EmptyElement(&'static str),
    /// An element that must appear once appears more times.
    #[error("<{parent}> has {count} <{element}> elements, expected one")]
    Duplicate {
        /// Parent element.
        parent: &'static str,
        /// Element.
        element: &'static str,
        /// How many.
        count: usize,
    },
    /// `Version` is not 2.0.
    #[error("<{element}> Version is {found:?}, expected \"2.0\"")]
    Version {
        /// Element.
        element: &'static str,
        /// Value.
        found: String,
    },
    /// A dateTime attribute is not `YYYY-MM-DDThh:mm:ss[.fff]Z`.
    #[error("<{element}> {attribute} {value:?} is not a UTC xs:dateTime")]
    BadInstant {
        /// Element.
        element: &'static str,
        /// Attribute.
        attribute: &'static str,
        /// Value.
        value: String,
    },
    /// IssueInstant precedes the request's.
    #[error("<{element}> IssueInstant {value} precedes the AuthnRequest's {request}")]
    IssuedBeforeRequest {
        /// Element.
        element: &'static str,
        /// Value.
        value: String,
        /// The request's IssueInstant.
        request: String,
    },
    /// A time that must be in the past is in the future (NotBefore, IssueInstant).
    #[error("<{element}> {attribute} {value} is in the future")]
    InFuture {
        /// Element.
        element: &'static str,
        /// Attribute.
        attribute: &'static str,
        /// Value.
        value: String,
    },
    /// A time that must be in the future is past (NotOnOrAfter).
    #[error("<{element}> {attribute} {value} has passed")]
    Expired {
        /// Element.
        element: &'static str,
        /// Attribute.
        attribute: &'static str,
        /// Value.
        value: String,
    },
    /// No pending AuthnRequest with this ID for this session.
    #[error("InResponseTo {0:?} does not match a pending AuthnRequest of this session")]
    UnknownRequest(String),
    /// An InResponseTo differs from the request ID.
    #[error("<{element}> InResponseTo {found:?} differs from the request ID {expected:?}")]
    InResponseTo {
        /// Element.
        element: &'static str,
        /// Expected.
        expected: String,
        /// Found.
        found: String,
    },
    /// `Destination` or `Recipient` is not our ACS URL.
    #[error("<{element}> {attribute} {found:?} is not the ACS URL {expected:?}")]
    WrongRecipient {
        /// Element.
        element: &'static str,
        /// Attribute.
        attribute: &'static str,
        /// Expected.
        expected: String,
        /// Found.
        found: String,
    },
    /// The IdP answered with a non-success status.
    #[error("IdP status {status}{}{}", sub_status.as_ref().map(|s| format!(" / {s}")).unwrap_or_default(), error_code.as_ref().map(|c| format!(" ({c}: {})", c.user_message())).unwrap_or_default())]
    Status {
        /// Top-level StatusCode.
        status: String,
        /// Second-level StatusCode.
        sub_status: Option<String>,
        /// StatusMessage.
        message: Option<String>,
        /// The SPID anomaly, when StatusMessage is `ErrorCode nrNN`.
        error_code: Option<SpidErrorCode>,
    },
    /// Issuer differs from the IdP entityID.
    #[error("<{element}> {found:?} is not the IdP entityID {expected:?}")]
    WrongIssuer {
        /// Element.
        element: &'static str,
        /// Expected.
        expected: String,
        /// Found.
        found: String,
    },
    /// Issuer Format is wrong.
    #[error("<{element}> Format {found:?} is not urn:oasis:names:tc:SAML:2.0:nameid-format:entity")]
    IssuerFormat {
        /// Element.
        element: &'static str,
        /// Found.
        found: String,
    },
    /// The signature is missing, invalid or does not cover what it must.
    #[error("signature: {0}")]
    Signature(String),
    /// The assertion is not signed.
    #[error("the Assertion is not signed")]
    AssertionNotSigned,
    /// Encrypted assertions are not supported by SPID.
    #[error("EncryptedAssertion is not supported")]
    EncryptedAssertion,
    /// NameID Format is not transient.
    #[error("NameID Format {0:?} is not transient")]
    NameIdFormat(String),
    /// SubjectConfirmation Method is not bearer.
    #[error("SubjectConfirmation Method {0:?} is not bearer")]
    ConfirmationMethod(String),
    /// Audience is not our entityID.
    #[error("Audience {found:?} is not the SP entityID {expected:?}")]
    Audience {
        /// Expected.
        expected: String,
        /// Found.
        found: String,
    },
    /// AuthnContextClassRef is not a SPID level.
    #[error("AuthnContextClassRef {0:?} is not a SPID level")]
    UnknownLevel(String),
    /// The returned level does not satisfy the requested one.
    #[error("level {returned} does not satisfy {comparison} {requested}")]
    Level {
        /// Requested.
        requested: SpidLevel,
        /// Comparison.
        comparison: Comparison,
        /// Returned.
        returned: SpidLevel,
    },
    /// AttributeStatement without attributes, or an Attribute without value.
    #[error("attributes: {0}")]
    Attributes(String),
    /// An attribute value does not fit its type.
    #[error(transparent)]
    AttributeValue(#[from] AttributeValueError),
    /// The assertion was already consumed.
    #[error("Assertion {0:?} was already used (replay)")]
    Replay(String),
    /// The IdP is not trusted.
    #[error("IdP {0:?} is not trusted")]
    UnknownIdp(String),
    /// A store failed while checking the response.
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl ResponseError {
    /// The SPID anomaly code, when the IdP sent one.
    pub fn spid_error_code(&self) -> Option<&SpidErrorCode> {
        match self {
            ResponseError::Status { error_code, .. } => error_code.as_ref(),
            _ => None,
        }
    }
}
