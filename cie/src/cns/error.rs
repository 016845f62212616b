//! Typed errors of smart-card login.

use chrono::{DateTime, Utc};

/// Everything that can go wrong in smart-card login, one focused enum per stage.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes are not a usable X.509 certificate.
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    /// The certificate is well formed but carries no usable identity.
    #[error(transparent)]
    Identity(#[from] IdentityError),
    /// The certificate does not pass verification (chain, validity, usage, policy, revocation).
    #[error(transparent)]
    Verify(#[from] VerifyError),
    /// The revocation status could not be established (the check fails closed).
    #[error(transparent)]
    Revocation(#[from] RevocationError),
    /// The configured list of issuer CAs could not be loaded.
    #[error(transparent)]
    IssuerList(#[from] IssuerListError),
}

/// Which certificate of a presented chain an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertRole {
    /// The card's authentication certificate (end entity).
    Card,
    /// The certificate at this position of the intermediates sent by the client (0-based).
    Intermediate(usize),
}

impl std::fmt::Display for CertRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CertRole::Card => f.write_str("card certificate"),
            CertRole::Intermediate(i) => write!(f, "intermediate certificate #{i}"),
        }
    }
}

/// The bytes are not a usable X.509 certificate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// No certificate was given.
    #[error("no certificate presented")]
    Missing,
    /// DER decoding failed.
    #[error("{role}: not a DER X.509 certificate: {reason}")]
    Malformed {
        /// Which certificate.
        role: CertRole,
        /// What the parser reported.
        reason: String,
    },
    /// Bytes follow the DER certificate.
    #[error("{role}: {count} unexpected bytes after the DER certificate")]
    TrailingData {
        /// Which certificate.
        role: CertRole,
        /// How many bytes follow.
        count: usize,
    },
    /// PEM input without a `CERTIFICATE` block, or a block that does not decode.
    #[error("PEM: {reason}")]
    Pem {
        /// What is wrong.
        reason: String,
    },
}

/// The subject attribute a fiscal code was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum FiscalCodeSource {
    /// `serialNumber` (2.5.4.5) with the ETSI EN 319 412-1 semantics identifier `TINIT-<CF>`.
    SerialNumberTinit,
    /// `serialNumber` (2.5.4.5) in the older Italian form `IT:<CF>` (CNIPA deliberation 45/2009).
    SerialNumberIt,
    /// `commonName` in the CNS form `<CF>/<card id>.<hash>`.
    CommonNameCns,
    /// `commonName` holding the fiscal code alone (CIE authentication certificates).
    CommonName,
}

impl std::fmt::Display for FiscalCodeSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FiscalCodeSource::SerialNumberTinit => "serialNumber (TINIT-)",
            FiscalCodeSource::SerialNumberIt => "serialNumber (IT:)",
            FiscalCodeSource::CommonNameCns => "commonName (<CF>/<card id>.<hash>)",
            FiscalCodeSource::CommonName => "commonName",
        })
    }
}

/// The certificate carries no usable personal identity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// No subject attribute carries a fiscal code in a form the CNS / CIE profiles define.
    #[error(
        "no fiscal code in the certificate subject `{subject}` (expected serialNumber TINIT-<CF> or IT:<CF>, or commonName <CF>/<card id>.<hash>)"
    )]
    NoFiscalCode {
        /// The subject, for the log.
        subject: String,
    },
    /// An attribute has the shape of a fiscal code field but the code is not valid.
    #[error("{source_field}: `{value}` is not a valid personal fiscal code: {reason}")]
    InvalidFiscalCode {
        /// Where it was read.
        source_field: FiscalCodeSource,
        /// The value found.
        value: String,
        /// Why the code was refused.
        reason: String,
    },
    /// Two attributes carry different fiscal codes.
    #[error(
        "the subject carries two different fiscal codes: `{first}` in {first_source} and `{second}` in {second_source}"
    )]
    ConflictingFiscalCodes {
        /// First code.
        first: String,
        /// Where the first was read.
        first_source: FiscalCodeSource,
        /// Second code.
        second: String,
        /// Where the second was read.
        second_source: FiscalCodeSource,
    },
    /// An attribute that identifies the holder appears more than once.
    #[error("subject attribute {attribute} appears {count} times; exactly one is allowed")]
    DuplicateAttribute {
        /// The attribute name.
        attribute: &'static str,
        /// How many times it appears.
        count: usize,
    },
    /// An attribute is not a readable string.
    #[error("subject attribute {attribute} is not a readable string")]
    UnreadableAttribute {
        /// The attribute name.
        attribute: &'static str,
    },
    /// A commonName in the CNS form lacks the card identifier after the `/`.
    #[error("commonName `{value}`: expected <CF>/<card id>.<hash>, the card id is missing")]
    MalformedCnsCommonName {
        /// The value found.
        value: String,
    },
}

/// The certificate does not pass verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// No configured issuer CA (directly or through the intermediates sent) signed the certificate.
    #[error("{role}: issuer `{issuer}` is not among the configured CNS / CIE issuer CAs")]
    UnknownIssuer {
        /// Which certificate could not be chained.
        role: CertRole,
        /// Its issuer name.
        issuer: String,
    },
    /// The certificate names a configured issuer but its signature does not verify.
    #[error("{role}: signature does not verify with the key of `{issuer}`")]
    BadSignature {
        /// Which certificate.
        role: CertRole,
        /// The issuer whose key was tried.
        issuer: String,
    },
    /// The signature algorithm is refused (SHA-1) or not supported.
    #[error("{role}: signature algorithm {algorithm} is not accepted")]
    UnsupportedSignatureAlgorithm {
        /// Which certificate.
        role: CertRole,
        /// The algorithm OID.
        algorithm: String,
    },
    /// The unsigned outer signatureAlgorithm differs from the signed one in the TBS certificate
    /// (RFC 5280 §4.1.1.2), or the outer encoding is not DER.
    #[error("{role}: outer signatureAlgorithm does not match the signed one, or is not DER")]
    SignatureAlgorithmMismatch {
        /// Which certificate.
        role: CertRole,
    },
    /// The certificate is not valid yet.
    #[error("{subject}: not valid before {not_before} (now {now})")]
    NotYetValid {
        /// Whose validity.
        subject: String,
        /// Start of validity.
        not_before: DateTime<Utc>,
        /// The verification time.
        now: DateTime<Utc>,
    },
    /// The certificate has expired.
    #[error("{subject}: expired at {not_after} (now {now})")]
    Expired {
        /// Whose validity.
        subject: String,
        /// End of validity.
        not_after: DateTime<Utc>,
        /// The verification time.
        now: DateTime<Utc>,
    },
    /// A certificate used as an issuer is not a CA (basicConstraints cA) or may not sign certificates.
    #[error("`{subject}` is used as an issuer but is not a CA allowed to sign certificates")]
    IssuerNotCa {
        /// The would-be issuer.
        subject: String,
    },
    /// The chain is longer than the issuers' path length constraints or the configured maximum.
    #[error("certificate chain longer than allowed ({max} intermediates)")]
    ChainTooLong {
        /// The limit.
        max: usize,
    },
    /// The card certificate is itself a CA certificate.
    #[error("the presented certificate is a CA certificate, not a card certificate")]
    CardIsCa,
    /// keyUsage is present without digitalSignature.
    #[error("keyUsage lacks digitalSignature, required for TLS client authentication")]
    KeyUsageNotDigitalSignature,
    /// extendedKeyUsage is present without clientAuth.
    #[error("extendedKeyUsage lacks clientAuth (1.3.6.1.5.5.7.3.2); found {found:?}")]
    MissingClientAuthUsage {
        /// The purposes found.
        found: Vec<String>,
    },
    /// extendedKeyUsage is absent and the verifier requires it.
    #[error("extendedKeyUsage is absent; clientAuth is required")]
    MissingExtendedKeyUsage,
    /// None of the certificate's policies is an accepted CNS / CIE policy.
    #[error("certificate policies {found:?} include none of the accepted {accepted:?}")]
    PolicyNotAccepted {
        /// The policies found.
        found: Vec<String>,
        /// The accepted ones.
        accepted: Vec<String>,
    },
    /// A critical extension this verifier does not understand.
    #[error("{role}: unsupported critical extension {oid}")]
    UnknownCriticalExtension {
        /// Which certificate.
        role: CertRole,
        /// Its OID.
        oid: String,
    },
    /// An extension could not be decoded.
    #[error("{role}: malformed extension: {reason}")]
    MalformedExtension {
        /// Which certificate.
        role: CertRole,
        /// What is wrong.
        reason: String,
    },
    /// The certificate is revoked.
    #[error("certificate {serial} revoked at {revoked_at}{}", reason.map(|r| format!(" ({r})")).unwrap_or_default())]
    Revoked {
        /// Its serial number (hex).
        serial: String,
        /// When.
        revoked_at: DateTime<Utc>,
        /// Why, when the CRL says.
        reason: Option<crate::cns::RevocationReason>,
    },
}

/// The revocation status could not be established.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// No CRL of this issuer is loaded.
    #[error("no CRL loaded for issuer `{issuer}`")]
    NoCrlForIssuer {
        /// The issuer.
        issuer: String,
    },
    /// The CRL signature does not verify with the issuer's key.
    #[error("CRL of `{issuer}`: signature does not verify")]
    CrlBadSignature {
        /// The issuer.
        issuer: String,
    },
    /// The CRL's nextUpdate has passed.
    #[error("CRL of `{issuer}` is stale: nextUpdate {next_update} is before now {now}")]
    CrlStale {
        /// The issuer.
        issuer: String,
        /// Its nextUpdate.
        next_update: DateTime<Utc>,
        /// The verification time.
        now: DateTime<Utc>,
    },
    /// The CRL's thisUpdate is in the future.
    #[error("CRL of `{issuer}` is not valid yet: thisUpdate {this_update} is after now {now}")]
    CrlNotYetValid {
        /// The issuer.
        issuer: String,
        /// Its thisUpdate.
        this_update: DateTime<Utc>,
        /// The verification time.
        now: DateTime<Utc>,
    },
    /// The CRL bytes do not decode.
    #[error("CRL #{index}: {reason}")]
    MalformedCrl {
        /// Position in the loaded input.
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// The CRL uses a feature this checker does not implement (delta CRLs, critical extensions).
    #[error("CRL of `{issuer}`: unsupported {feature}")]
    UnsupportedCrl {
        /// The issuer.
        issuer: String,
        /// What is unsupported.
        feature: String,
    },
    /// A CRL file could not be read.
    #[error("reading CRL file {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// A checker that talks to a remote service could not reach it.
    #[error("revocation status unavailable: {reason}")]
    Unavailable {
        /// What happened.
        reason: String,
    },
    /// The OCSP responder answered `unknown`: it does not know the certificate.
    #[error("OCSP responder does not know certificate {serial} (status unknown)")]
    OcspUnknown {
        /// The certificate's serial number (hex).
        serial: String,
    },
    /// The OCSP answer does not decode or does not verify (signature, responder
    /// authorisation, nonce, freshness, certificate identifier), or the responder refused.
    #[error("OCSP response from {url} refused: {reason}")]
    OcspInvalid {
        /// The responder.
        url: String,
        /// What is wrong.
        reason: String,
    },
    /// Every checker of a [`FirstDecisive`](crate::cns::FirstDecisive) failed.
    #[error("no revocation source decided: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    NoSourceDecided(Vec<RevocationError>),
}

/// The configured issuer list could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IssuerListError {
    /// The file could not be read.
    #[error("reading issuer list {path}: {reason}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// An entry does not decode.
    #[error("issuer list entry #{index}: {reason}")]
    Malformed {
        /// Position (0-based).
        index: usize,
        /// What is wrong.
        reason: String,
    },
    /// An entry is not a CA certificate.
    #[error("issuer list entry #{index} (`{subject}`) is not a CA certificate")]
    NotCa {
        /// Position (0-based).
        index: usize,
        /// Its subject.
        subject: String,
    },
    /// The list holds no certificate.
    #[error("the issuer list is empty")]
    Empty,
    /// The trusted list's signer (scheme operator) certificates given do not decode.
    #[error("trusted list operator certificate: {reason}")]
    Operator {
        /// What is wrong.
        reason: String,
    },
    /// The trusted list is not signed, or its signature does not verify with the operator
    /// certificates: none of its CAs is trusted.
    #[error("trusted list signature: {reason}")]
    Signature {
        /// What is wrong.
        reason: String,
    },
    /// The trusted list is past its `NextUpdate`, or closed.
    #[error("trusted list is not current: {reason}")]
    Stale {
        /// What is wrong.
        reason: String,
    },
}
