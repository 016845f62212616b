//! CAdES (`.p7m`) verification: enveloping or detached CMS SignedData, possibly nested, with
//! several signers and countersignatures, read as real signers write it ([`crate::p7m_cms`]).

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, TimeZone, Utc};
use cms::signed_data::SignerIdentifier;
use der::asn1::{Ia5StringRef, ObjectIdentifier, OctetString, PrintableStringRef, Utf8StringRef};
use der::{Any, Decode, Encode, Sequence};
use ring::signature::{self, UnparsedPublicKey};
use thiserror::Error;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::revocation::{CertRevocation, Embedded, RevocationOptions, Times};
use crate::tsp::{OID_SIGNATURE_TIME_STAMP, P7mTimeStamp, TimeStampVerifier};

#[path = "p7m_cms.rs"]
pub(crate) mod p7m_cms;
use p7m_cms::{Attr, SignerInfoRef};

const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const OID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const OID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const OID_COUNTERSIGNATURE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.6");
const OID_SIGNING_CERT: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
const OID_SIGNING_CERT_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
const OID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const OID_RSA_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
const OID_RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const OID_RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const OID_RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_SKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");

/// `id-ri-ocsp-response` (RFC 5940): an OCSP response carried in `crls` as `[1] other`.
pub const OID_RI_OCSP_RESPONSE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.16.2");

/// Deepest `.p7m.p7m...` nesting accepted.
pub const MAX_P7M_NESTING: usize = 8;
/// Deepest chain of countersignatures (a countersignature of a countersignature ...).
pub const MAX_COUNTERSIGNATURE_DEPTH: usize = 4;
const MAX_CHAIN: usize = 10;
/// The smallest RSA modulus accepted without a [`LegacyPolicy`].
pub const MIN_RSA_BITS: usize = 2048;

/// Last instant (exclusive) at which SHA-1 was acceptable for qualified signatures in Italy:
/// 1 July 2011 00:00 CET. Deliberazione CNIPA n. 45 of 21 May 2009, as amended by the
/// Determinazione Commissariale DigitPA n. 69 of 28 July 2010, set 30 June 2011 as the last
/// day on which signatures could use SHA-1 instead of SHA-256 (and PKCS#7 instead of CAdES);
/// ETSI TS 102 176-1 (now TS 119 312) likewise retired SHA-1 for signature creation.
pub fn sha1_deadline() -> DateTime<Utc> {
    // 2011-07-01T00:00:00+02:00 (Rome, summer time).
    Utc.with_ymd_and_hms(2011, 6, 30, 22, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Last instant (exclusive) at which RSA keys below 2048 bits were acceptable for signature
/// creation: 1 January 2014 00:00 UTC. NIST SP 800-131A (January 2011) disallows RSA
/// signature generation with keys under 2048 bits after 31 December 2013; ETSI TS 119 312
/// (and its predecessor TS 102 176-1) and the Italian rules (DPCM 22 February 2013, which
/// refers to the ETSI algorithms) require 2048-bit keys for new signatures. A caller with a
/// stricter national date sets [`LegacyPolicy::rsa1024_deadline`].
pub fn rsa1024_deadline() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2014, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A deprecated algorithm a [`LegacyPolicy`] can accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LegacyAlgorithm {
    /// SHA-1 as the digest of the content, of the signed attributes or in the signing
    /// certificate reference (ESS `signingCertificate` v1).
    Sha1,
    /// An RSA key of 1024 to 2047 bits.
    Rsa1024,
}

impl std::fmt::Display for LegacyAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            LegacyAlgorithm::Sha1 => "SHA-1 digest",
            LegacyAlgorithm::Rsa1024 => "RSA key below 2048 bits",
        })
    }
}

/// Where the time a legacy algorithm was judged at came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LegacyTimeSource {
    /// [`LegacyPolicy::trusted_time`]: a time the caller established (a verified time-stamp,
    /// the protocol registration of the document).
    Trusted,
    /// The signer's own signing-time attribute, accepted with
    /// [`LegacyPolicy::trust_signing_time`].
    SigningTime,
}

/// A legacy algorithm accepted for a signer, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyAcceptance {
    /// The algorithm.
    pub algorithm: LegacyAlgorithm,
    /// The time the signature was judged at (before `deadline`).
    pub time: DateTime<Utc>,
    /// Where `time` came from.
    pub source: LegacyTimeSource,
    /// The deprecation date it predates.
    pub deadline: DateTime<Utc>,
}

impl std::fmt::Display for LegacyAcceptance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} accepted: {} {} is before the deprecation date {}",
            self.algorithm,
            match self.source {
                LegacyTimeSource::Trusted => "trusted time",
                LegacyTimeSource::SigningTime => "signed signing-time",
            },
            self.time,
            self.deadline
        )
    }
}

/// Accepting SHA-1 and RSA-1024 signatures made before those algorithms were retired.
///
/// A legacy algorithm is accepted only when allowed here **and** the signature is known to be
/// older than the deprecation date: by [`trusted_time`](Self::trusted_time), or, when
/// [`trust_signing_time`](Self::trust_signing_time) is set, by the signer's signing-time
/// attribute (a claim of the signer, not a proof).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyPolicy {
    /// Accept SHA-1.
    pub allow_sha1: bool,
    /// Accept RSA keys of 1024 to 2047 bits.
    pub allow_rsa1024: bool,
    /// Use the signed signing-time attribute when no trusted time is given.
    pub trust_signing_time: bool,
    /// A time the caller trusts the signature existed at (e.g. from a verified time-stamp).
    pub trusted_time: Option<DateTime<Utc>>,
    /// SHA-1 is accepted before this instant (default [`sha1_deadline`]).
    pub sha1_deadline: DateTime<Utc>,
    /// RSA-1024 is accepted before this instant (default [`rsa1024_deadline`]).
    pub rsa1024_deadline: DateTime<Utc>,
}

impl Default for LegacyPolicy {
    /// Nothing allowed, the published deadlines.
    fn default() -> Self {
        LegacyPolicy {
            allow_sha1: false,
            allow_rsa1024: false,
            trust_signing_time: false,
            trusted_time: None,
            sha1_deadline: sha1_deadline(),
            rsa1024_deadline: rsa1024_deadline(),
        }
    }
}

/// Options of a [`P7mVerifier`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Legacy algorithms accepted (None: refused).
    pub legacy: Option<LegacyPolicy>,
}

impl VerifyOptions {
    /// Options accepting legacy algorithms under `policy`.
    pub fn legacy(policy: LegacyPolicy) -> Self {
        VerifyOptions {
            legacy: Some(policy),
        }
    }
}

/// Why a `.p7m` does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum P7mError {
    /// Not DER, PEM or base64 CMS.
    #[error("not a CMS structure: {0}")]
    Encoding(String),
    /// A CMS structure other than SignedData.
    #[error("the CMS content type is {0}, not SignedData")]
    NotSignedData(String),
    /// SignedData without the signed content (detached signature) and no content given.
    #[error("the signature is detached: the .p7m holds no content (give the signed document)")]
    Detached,
    /// The content given for a signature that already holds its content differs from it.
    #[error("the content given differs from the content inside the signature")]
    ContentMismatch,
    /// SignedData without signers.
    #[error("the SignedData has no signers")]
    NoSigners,
    /// More nesting than [`MAX_P7M_NESTING`].
    #[error("more than {MAX_P7M_NESTING} nested signature envelopes")]
    TooDeep,
    /// The signer's certificate is not in the file.
    #[error("signer {signer}: certificate not found in the SignedData")]
    CertificateNotFound {
        /// Signer index (0-based) in its layer.
        signer: usize,
    },
    /// A mandatory signed attribute is absent or malformed.
    #[error("signer {signer}: signed attribute {attribute} is missing or malformed")]
    SignedAttribute {
        /// Signer index.
        signer: usize,
        /// Attribute name.
        attribute: &'static str,
    },
    /// The content-type attribute differs from the encapsulated content type.
    #[error("signer {signer}: content-type attribute differs from the content's type")]
    ContentTypeMismatch {
        /// Signer index.
        signer: usize,
    },
    /// The content's digest differs from the message-digest attribute.
    #[error("signer {signer}: the content does not match the message-digest attribute")]
    MessageDigestMismatch {
        /// Signer index.
        signer: usize,
    },
    /// The signing-certificate-v2 attribute does not name the signer's certificate.
    #[error("signer {signer}: signing-certificate-v2 does not match the signer certificate")]
    SigningCertificateMismatch {
        /// Signer index.
        signer: usize,
    },
    /// An algorithm this verifier does not implement.
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// SHA-1 without a [`LegacyPolicy`] allowing it.
    #[error("signer {signer}: SHA-1 digest refused (deprecated since {}; see LegacyPolicy)", sha1_deadline().date_naive())]
    Sha1Refused {
        /// Signer index.
        signer: usize,
    },
    /// An RSA key below [`MIN_RSA_BITS`] without a [`LegacyPolicy`] allowing it (or below
    /// 1024 bits, never accepted).
    #[error("signer {signer}: RSA key of {bits} bits is below the {MIN_RSA_BITS}-bit minimum")]
    WeakRsaKey {
        /// Signer index.
        signer: usize,
        /// The modulus size.
        bits: usize,
    },
    /// The policy allows the legacy algorithm, but the signature is not known to predate
    /// its deprecation.
    #[error("signer {signer}: {algorithm} accepted only before {deadline}: {reason}")]
    LegacyTooLate {
        /// Signer index.
        signer: usize,
        /// The algorithm.
        algorithm: LegacyAlgorithm,
        /// Its deprecation date.
        deadline: DateTime<Utc>,
        /// Which time was missing or too late.
        reason: String,
    },
    /// The signature value does not verify.
    #[error("signer {signer}: the signature does not verify")]
    BadSignature {
        /// Signer index.
        signer: usize,
    },
    /// A certificate was not valid at the signing time.
    #[error("certificate `{subject}` was not valid at {at}")]
    CertificateNotValid {
        /// Subject of the certificate.
        subject: String,
        /// The time checked.
        at: DateTime<Utc>,
    },
    /// No path from the signer to a trust anchor.
    #[error("certificate `{subject}` does not chain to a trust anchor")]
    Untrusted {
        /// Subject of the last certificate reached.
        subject: String,
    },
    /// The certificate's key usage does not allow this use.
    #[error("certificate `{subject}` is not for {purpose} (key usage)")]
    KeyUsage {
        /// Subject of the certificate.
        subject: String,
        /// What it was used for.
        purpose: &'static str,
    },
    /// Reading trust anchors failed.
    #[error("cannot load trust anchors: {0}")]
    Trust(String),
    /// A certificate of the signer's chain is revoked (at or before the time it is judged).
    #[error("certificate `{subject}` (serial {serial}) is revoked since {time}{} ({by})", reason.as_ref().map(|r| format!(", reason {r}")).unwrap_or_default(), by = decided_by)]
    Revoked {
        /// Its subject.
        subject: String,
        /// Its serial number (hex).
        serial: String,
        /// The revocation time.
        time: DateTime<Utc>,
        /// The CRL reason, when given.
        reason: Option<String>,
        /// The source that said so.
        decided_by: String,
    },
    /// A malformed or refused time-stamp.
    #[error("time-stamp: {0}")]
    TimeStamp(String),
    /// The time-stamp's message imprint is not the digest of the data it should cover.
    #[error("time-stamp: the message imprint does not match the data (a time-stamp of other data)")]
    TimeStampImprint,
    /// The token's signer is not a time-stamping authority.
    #[error(
        "time-stamp: certificate `{subject}` is not a TSA's: {why} (RFC 3161 requires a critical extendedKeyUsage with id-kp-timeStamping only)"
    )]
    TsaUsage {
        /// Its subject.
        subject: String,
        /// What is wrong.
        why: &'static str,
    },
    /// The token's signature, attributes or TSA chain do not verify.
    #[error("time-stamp signer: {0}")]
    TimeStampSigner(Box<P7mError>),
    /// No revocation source decided a certificate's status (fail-closed; see
    /// [`RevocationOptions::soft_fail`]).
    #[error("certificate `{subject}`: revocation status unknown: {reason}")]
    RevocationUnknown {
        /// Its subject.
        subject: String,
        /// Why each source did not decide.
        reason: String,
    },
}

/// One `RevocationInfoChoice` found in a SignedData's `crls` field (reported, not used for
/// revocation checking by this verifier).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationInfo {
    /// A CRL.
    Crl {
        /// Its issuer (RFC 4514).
        issuer: String,
        /// 1 (no version field) or 2.
        version: u8,
        /// Its thisUpdate.
        this_update: DateTime<Utc>,
        /// The CRL (DER).
        der: Vec<u8>,
    },
    /// `[1] OtherRevocationInfoFormat`, e.g. [`OID_RI_OCSP_RESPONSE`].
    Other {
        /// `otherRevInfoFormat`.
        format: ObjectIdentifier,
        /// `otherRevInfo` (DER).
        info_der: Vec<u8>,
    },
}

/// A countersignature (unsigned attribute `id-countersignature`, RFC 5652 §11.4) of a
/// signer: a signature over the signer's signature value. Its failure does not fail the
/// signer it countersigns; it is reported here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct P7mCountersignature {
    /// The verified countersigner, or why it does not verify.
    pub result: Result<P7mSigner, P7mError>,
}

/// One verified signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct P7mSigner {
    /// Subject DN (RFC 4514).
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// The subject's `serialNumber` attribute (e.g. `TINIT-RSSMRA85T10A562S`).
    pub serial_number: Option<String>,
    /// The fiscal code from a `TINIT-` serial number (when it is a valid codice fiscale).
    pub codice_fiscale: Option<pa_types::CodiceFiscale>,
    /// The signing-time attribute.
    pub signing_time: Option<DateTime<Utc>>,
    /// Whether the chain to a trust anchor was checked (false only with
    /// [`P7mVerifier::insecure_without_chain_check`]).
    pub chain_verified: bool,
    /// The signer certificate (DER, as found in the file).
    pub certificate_der: Vec<u8>,
    /// Legacy algorithms accepted for this signer under a [`LegacyPolicy`], and why.
    pub legacy: Vec<LegacyAcceptance>,
    /// Countersignatures of this signer, each verified.
    pub countersignatures: Vec<P7mCountersignature>,
    /// Signature time-stamps (CAdES-T, unsigned attribute `id-aa-signatureTimeStampToken`),
    /// each verified over the signature value against [`P7mVerifier::with_tsa`].
    pub timestamps: Vec<P7mTimeStamp>,
    /// The time the signature is proven to have existed at: the earliest verified
    /// time-stamp (or the time-stamp of an enclosing `.tsd` / `.m7m`). Certificates, legacy
    /// algorithms and revocation are judged at it when present.
    pub trusted_time: Option<DateTime<Utc>>,
    /// Revocation status of each certificate of the chain but the trust anchor, signer
    /// first (empty when revocation is not checked: see [`P7mVerifier::with_revocation`]).
    pub revocation: Vec<CertRevocation>,
}

/// A verified `.p7m`: the innermost content and the signers of each envelope (outermost first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedP7m {
    /// The signed document.
    pub content: Vec<u8>,
    /// Signers per envelope, outermost first.
    pub layers: Vec<Vec<P7mSigner>>,
    /// Revocation information carried in the envelopes' `crls` fields, outermost first.
    pub revocation_info: Vec<RevocationInfo>,
}

impl VerifiedP7m {
    /// All signers of all envelopes.
    pub fn signers(&self) -> impl Iterator<Item = &P7mSigner> {
        self.layers.iter().flatten()
    }
}

/// Verifies CAdES `.p7m` files against trust anchors the caller provides.
#[derive(Debug, Clone)]
pub struct P7mVerifier {
    anchors: Vec<Certificate>,
    intermediates: Vec<Certificate>,
    check_chain: bool,
    now: Option<DateTime<Utc>>,
    options: VerifyOptions,
    revocation: Option<RevocationOptions>,
    tsa: Option<TimeStampVerifier>,
    trusted_time: Option<DateTime<Utc>>,
}

/// The legacy algorithms usable for one signer (policy and time both satisfied).
#[derive(Debug, Clone, Copy, Default)]
struct Allow {
    sha1: bool,
    rsa1024: bool,
}

struct Layer {
    content: Vec<u8>,
    signers: Vec<P7mSigner>,
    revocation_info: Vec<RevocationInfo>,
}

impl P7mVerifier {
    /// A verifier trusting `anchors` (e.g. [`load_certificates`] of a PEM bundle, or
    /// [`certificates_from_trusted_list`] of `TSL-IT.xml`).
    pub fn new(anchors: Vec<Certificate>) -> Self {
        P7mVerifier {
            anchors,
            intermediates: Vec::new(),
            check_chain: true,
            now: None,
            options: VerifyOptions::default(),
            revocation: None,
            tsa: None,
            trusted_time: None,
        }
    }

    /// A verifier that checks signatures and attributes but **not** the chain of trust: any
    /// certificate is accepted. Signers are reported with `chain_verified: false`.
    pub fn insecure_without_chain_check() -> Self {
        P7mVerifier {
            check_chain: false,
            ..P7mVerifier::new(Vec::new())
        }
    }

    /// Adds intermediate CA certificates usable to build chains.
    #[must_use]
    pub fn with_intermediates(mut self, certs: Vec<Certificate>) -> Self {
        self.intermediates.extend(certs);
        self
    }

    /// The time used when a signer has no signing-time attribute (default: now).
    #[must_use]
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.now = Some(now);
        self
    }

    /// Sets the options (e.g. [`VerifyOptions::legacy`]).
    #[must_use]
    pub fn with_options(mut self, options: VerifyOptions) -> Self {
        self.options = options;
        self
    }

    /// Checks the revocation of every signer's chain (CRLs, OCSP, the values embedded in the
    /// signature; see [`RevocationOptions`]): a revoked certificate fails the signature, and
    /// so does an unknown status unless [`RevocationOptions::soft_fail`].
    #[must_use]
    pub fn with_revocation(mut self, options: RevocationOptions) -> Self {
        self.revocation = Some(options);
        self
    }

    /// Verifies signature time-stamps (CAdES-T) with `tsa`; a verified one's time becomes the
    /// signer's trusted time. Without it, time-stamps are reported as not checked.
    #[must_use]
    pub fn with_tsa(mut self, tsa: TimeStampVerifier) -> Self {
        self.tsa = Some(tsa);
        self
    }

    /// Verifies a `.p7m` whose existence at `time` is proven (a verified time-stamp over it,
    /// as in a `.tsd` or `.m7m`): every signer's trusted time.
    pub(crate) fn verify_at_trusted_time(
        &self,
        input: &[u8],
        time: DateTime<Utc>,
    ) -> Result<VerifiedP7m, P7mError> {
        let mut v = self.clone();
        v.trusted_time = Some(time);
        v.verify(input)
    }

    /// The content type and content of a SignedData, not verified.
    pub(crate) fn signed_content(
        &self,
        der: &[u8],
    ) -> Result<(ObjectIdentifier, Vec<u8>), P7mError> {
        let norm = normalize(der)?;
        let (ct, inner) = p7m_cms::content_info(&norm)?;
        if ct != OID_SIGNED_DATA {
            return Err(P7mError::NotSignedData(ct.to_string()));
        }
        let sd = p7m_cms::signed_data(&inner)?;
        Ok((
            sd.econtent_type,
            sd.econtent.ok_or(P7mError::Detached)?.to_vec(),
        ))
    }

    /// Verifies one SignedData envelope (no unwrapping).
    pub(crate) fn verify_single_layer(
        &self,
        der: &[u8],
    ) -> Result<(Vec<u8>, Vec<P7mSigner>), P7mError> {
        let l = self.verify_layer(der, None)?;
        Ok((l.content, l.signers))
    }

    /// Verifies a `.p7m` (DER, PEM or base64), unwrapping nested envelopes.
    ///
    /// # Errors
    /// [`P7mError`] saying which check failed and for which signer; [`P7mError::Detached`]
    /// for a signature without its content (use [`verify_detached`](Self::verify_detached)).
    pub fn verify(&self, input: &[u8]) -> Result<VerifiedP7m, P7mError> {
        self.verify_with(input, None)
    }

    /// Verifies a detached signature (`.p7s`) over `content`. The outer envelope must not
    /// hold content, or hold exactly `content`; inner envelopes (a signed `.p7m` given as the
    /// content) are unwrapped as by [`verify`](Self::verify).
    ///
    /// # Errors
    /// As [`verify`](Self::verify); [`P7mError::MessageDigestMismatch`] when `content` is not
    /// what was signed, [`P7mError::ContentMismatch`] when the signature holds other content.
    pub fn verify_detached(&self, input: &[u8], content: &[u8]) -> Result<VerifiedP7m, P7mError> {
        self.verify_with(input, Some(content))
    }

    fn verify_with(&self, input: &[u8], detached: Option<&[u8]>) -> Result<VerifiedP7m, P7mError> {
        let mut der = decode_input(input)?;
        let mut layers = Vec::new();
        let mut revocation_info = Vec::new();
        let mut given = detached;
        loop {
            if layers.len() >= MAX_P7M_NESTING {
                return Err(P7mError::TooDeep);
            }
            let layer = self.verify_layer(&der, given.take())?;
            layers.push(layer.signers);
            revocation_info.extend(layer.revocation_info);
            if is_signed_data(&layer.content) {
                der = layer.content;
            } else {
                return Ok(VerifiedP7m {
                    content: layer.content,
                    layers,
                    revocation_info,
                });
            }
        }
    }

    fn verify_layer(&self, der: &[u8], detached: Option<&[u8]>) -> Result<Layer, P7mError> {
        let norm = normalize(der)?;
        let (ct, inner) = p7m_cms::content_info(&norm)?;
        if ct != OID_SIGNED_DATA {
            return Err(P7mError::NotSignedData(ct.to_string()));
        }
        let sd = p7m_cms::signed_data(&inner)?;
        let content: Vec<u8> = match (sd.econtent, detached) {
            (Some(c), None) => c.to_vec(),
            (Some(c), Some(d)) if c == d => c.to_vec(),
            (Some(_), Some(_)) => return Err(P7mError::ContentMismatch),
            (None, Some(d)) => d.to_vec(),
            (None, None) => return Err(P7mError::Detached),
        };
        if sd.signer_infos.is_empty() {
            return Err(P7mError::NoSigners);
        }
        let mut embedded = Embedded::default();
        for r in &sd.revocation_info {
            match r {
                RevocationInfo::Crl { der, .. } => embedded.crls.push(der.clone()),
                RevocationInfo::Other { format, info_der } if *format == OID_RI_OCSP_RESPONSE => {
                    embedded.ocsp.push(info_der.clone());
                }
                RevocationInfo::Other { .. } => {}
            }
        }
        let ctx = Ctx {
            certs: &sd.certificates,
            embedded: &embedded,
        };
        let mut signers = Vec::new();
        for (i, si) in sd.signer_infos.iter().enumerate() {
            signers.push(self.verify_signer(i, si, Some(&sd.econtent_type), &content, &ctx, 0)?);
        }
        Ok(Layer {
            content,
            signers,
            revocation_info: sd.revocation_info,
        })
    }

    /// Which legacy algorithms the policy accepts at the signer's time, with the reason a
    /// refused one is refused.
    fn legacy_decision(
        &self,
        i: usize,
        algorithm: LegacyAlgorithm,
        signing_time: Option<DateTime<Utc>>,
        proven: Option<DateTime<Utc>>,
    ) -> Result<LegacyAcceptance, P7mError> {
        let refused = || match algorithm {
            LegacyAlgorithm::Sha1 => P7mError::Sha1Refused { signer: i },
            LegacyAlgorithm::Rsa1024 => P7mError::WeakRsaKey {
                signer: i,
                bits: 1024,
            },
        };
        let Some(p) = &self.options.legacy else {
            return Err(refused());
        };
        let (allowed, deadline) = match algorithm {
            LegacyAlgorithm::Sha1 => (p.allow_sha1, p.sha1_deadline),
            LegacyAlgorithm::Rsa1024 => (p.allow_rsa1024, p.rsa1024_deadline),
        };
        if !allowed {
            return Err(refused());
        }
        let too_late = |reason: String| P7mError::LegacyTooLate {
            signer: i,
            algorithm,
            deadline,
            reason,
        };
        let (time, source) = match (p.trusted_time.or(proven), signing_time) {
            (Some(t), _) => (t, LegacyTimeSource::Trusted),
            (None, Some(t)) if p.trust_signing_time => (t, LegacyTimeSource::SigningTime),
            (None, Some(_)) => {
                return Err(too_late(
                    "no trusted time, and the signing-time attribute is not trusted".into(),
                ));
            }
            (None, None) => {
                return Err(too_late(
                    "no trusted time and no signing-time attribute".into(),
                ));
            }
        };
        if time >= deadline {
            return Err(too_late(format!(
                "the {} {time} is not before it",
                match source {
                    LegacyTimeSource::Trusted => "trusted time",
                    LegacyTimeSource::SigningTime => "signing time",
                }
            )));
        }
        Ok(LegacyAcceptance {
            algorithm,
            time,
            source,
            deadline,
        })
    }

    #[allow(clippy::too_many_lines)]
    fn verify_signer(
        &self,
        i: usize,
        si: &SignerInfoRef<'_>,
        econtent_type: Option<&ObjectIdentifier>,
        content: &[u8],
        ctx: &Ctx<'_>,
        depth: usize,
    ) -> Result<P7mSigner, P7mError> {
        let certs = ctx.certs;
        let sa = |attribute: &'static str| P7mError::SignedAttribute {
            signer: i,
            attribute,
        };
        let (cert, cert_der) =
            find_signer_cert(&si.sid, certs).ok_or(P7mError::CertificateNotFound { signer: i })?;
        let attrs = si.signed_attrs.as_ref().ok_or(sa("signedAttrs"))?;
        let signed = si.signed_attrs_der.as_ref().ok_or(sa("signedAttrs"))?;
        let attr = |oid: ObjectIdentifier, name: &'static str| -> Result<&Any, P7mError> {
            single_value(attrs, oid).ok_or(sa(name))?.ok_or(sa(name))
        };
        // signing-time (optional), needed first: legacy algorithms are judged at a time.
        let signing_time = match single_value(attrs, OID_SIGNING_TIME) {
            None => None,
            Some(v) => {
                let v = v.ok_or(sa("signing-time"))?;
                let t = v
                    .to_der()
                    .ok()
                    .and_then(|d| x509_cert::time::Time::from_der(&d).ok())
                    .ok_or(sa("signing-time"))?;
                Some(to_chrono(t))
            }
        };
        // Signature time-stamps: the time the signature is proven to have existed at.
        let ts_tokens: Vec<&[u8]> = si
            .unsigned_attrs
            .iter()
            .filter(|a| a.oid == OID_SIGNATURE_TIME_STAMP)
            .flat_map(|a| a.values.iter().map(|v| v.raw))
            .collect();
        let timestamps =
            crate::tsp::signature_time_stamps(&ts_tokens, si.signature, self.tsa.as_ref());
        let trusted_time = timestamps
            .iter()
            .filter_map(|t| t.result.as_ref().ok().map(|v| v.gen_time))
            .chain(self.trusted_time)
            .min();
        // The algorithms, and the legacy ones the policy accepts at this time.
        let spki = &cert.tbs_certificate.subject_public_key_info;
        let algo = select_algorithm(spki, &si.signature_alg, Some(&si.digest_alg.oid))
            .map_err(|e| with_signer(e, i))?;
        let content_digest_sha1 = si.digest_alg.oid == OID_SHA1;
        let scv1 = single_value(attrs, OID_SIGNING_CERT).is_some()
            && single_value(attrs, OID_SIGNING_CERT_V2).is_none();
        let mut legacy = Vec::new();
        let mut allow = Allow::default();
        if algo.sha1 || content_digest_sha1 || scv1 {
            legacy.push(self.legacy_decision(
                i,
                LegacyAlgorithm::Sha1,
                signing_time,
                trusted_time,
            )?);
            allow.sha1 = true;
        }
        if let Some(bits) = algo.rsa_bits.filter(|b| *b < MIN_RSA_BITS) {
            if bits < 1024 {
                return Err(P7mError::WeakRsaKey { signer: i, bits });
            }
            legacy.push(
                self.legacy_decision(i, LegacyAlgorithm::Rsa1024, signing_time, trusted_time)
                    .map_err(|e| match e {
                        P7mError::WeakRsaKey { signer, .. } => {
                            P7mError::WeakRsaKey { signer, bits }
                        }
                        e => e,
                    })?,
            );
            allow.rsa1024 = true;
        }
        // content-type: present for a signer (and equal to the content's type), absent for a
        // countersigner (RFC 5652 §11.4).
        match econtent_type {
            Some(econtent_type) => {
                let ct: ObjectIdentifier = attr(OID_CONTENT_TYPE, "content-type")?
                    .decode_as()
                    .map_err(|_| sa("content-type"))?;
                if &ct != econtent_type {
                    return Err(P7mError::ContentTypeMismatch { signer: i });
                }
            }
            None => {
                if single_value(attrs, OID_CONTENT_TYPE).is_some() {
                    return Err(sa("content-type (forbidden in a countersignature)"));
                }
            }
        }
        // message-digest
        let md: OctetString = attr(OID_MESSAGE_DIGEST, "message-digest")?
            .decode_as()
            .map_err(|_| sa("message-digest"))?;
        let digest_alg = digest_for(&si.digest_alg.oid, allow.sha1)?;
        let actual = ring::digest::digest(digest_alg, content);
        if !ct_eq(actual.as_ref(), md.as_bytes()) {
            return Err(P7mError::MessageDigestMismatch { signer: i });
        }
        // signing-certificate-v2 (or v1, SHA-1, under the legacy policy)
        let (hash_alg, cert_hash) = if scv1 {
            let scv1: SigningCertificate = attr(OID_SIGNING_CERT, "signing-certificate")?
                .decode_as()
                .map_err(|_| sa("signing-certificate"))?;
            let first = scv1.certs.first().ok_or(sa("signing-certificate"))?;
            (
                &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
                first.cert_hash.clone(),
            )
        } else {
            let scv2: SigningCertificateV2 = attr(OID_SIGNING_CERT_V2, "signing-certificate-v2")?
                .decode_as()
                .map_err(|_| sa("signing-certificate-v2"))?;
            let first = scv2.certs.first().ok_or(sa("signing-certificate-v2"))?;
            let h = match &first.hash_algorithm {
                Some(a) => digest_for(&a.oid, allow.sha1)?,
                None => &ring::digest::SHA256,
            };
            (h, first.cert_hash.clone())
        };
        if !ct_eq(
            ring::digest::digest(hash_alg, cert_der).as_ref(),
            cert_hash.as_bytes(),
        ) {
            return Err(P7mError::SigningCertificateMismatch { signer: i });
        }
        // the signature over the DER SET OF signed attributes
        verify_with(&algo, spki, allow, signed, si.signature).map_err(|e| with_signer(e, i))?;
        check_signing_usage(cert)?;
        // certificate validity and chain at signing time
        let at = trusted_time
            .or(signing_time)
            .or(self.now)
            .unwrap_or_else(Utc::now);
        let mut pool: Vec<&Certificate> = certs.iter().map(|(c, _)| c).collect();
        pool.extend(self.intermediates.iter());
        let path = if self.check_chain {
            build_chain_with(cert, &pool, &self.anchors, at, allow)?
        } else {
            check_validity(cert, at)?;
            let mut path = vec![cert.clone()];
            if let Some(i) = pool.iter().find(|c| signed_by(cert, c, allow)) {
                path.push((*i).clone());
            }
            path
        };
        // revocation of each certificate but the anchor, judged at the trusted time or now
        let mut revocation = Vec::new();
        if let Some(ro) = &self.revocation {
            let now = self.now.unwrap_or_else(Utc::now);
            let times = Times {
                now,
                at: trusted_time.unwrap_or(now),
            };
            if path.len() < 2 && !(self.check_chain && self.anchors.contains(cert)) {
                return Err(P7mError::RevocationUnknown {
                    subject: cert.tbs_certificate.subject.to_string(),
                    reason: "its issuer certificate is not known".into(),
                });
            }
            for pair in path.windows(2) {
                revocation.push(crate::revocation::check(
                    &pair[0],
                    &pair[1],
                    ctx.embedded,
                    ro,
                    times,
                )?);
            }
        }
        // countersignatures: each over this signer's signature value
        let mut countersignatures = Vec::new();
        for a in si
            .unsigned_attrs
            .iter()
            .filter(|a| a.oid == OID_COUNTERSIGNATURE)
        {
            for v in &a.values {
                let result = if depth >= MAX_COUNTERSIGNATURE_DEPTH {
                    Err(P7mError::TooDeep)
                } else {
                    p7m_cms::signer_info(v).and_then(|csi| {
                        self.verify_signer(0, &csi, None, si.signature, ctx, depth + 1)
                    })
                };
                countersignatures.push(P7mCountersignature { result });
            }
        }
        let subject = cert.tbs_certificate.subject.to_string();
        let serial_number = subject_serial_number(cert);
        let codice_fiscale = serial_number
            .as_deref()
            .and_then(|s| s.strip_prefix("TINIT-"))
            .and_then(|cf| cf.parse().ok());
        Ok(P7mSigner {
            subject,
            issuer: cert.tbs_certificate.issuer.to_string(),
            serial_number,
            codice_fiscale,
            signing_time,
            chain_verified: self.check_chain,
            certificate_der: cert_der.clone(),
            legacy,
            countersignatures,
            timestamps,
            trusted_time,
            revocation,
        })
    }
}

/// What the signers of one envelope share.
struct Ctx<'a> {
    certs: &'a [(Certificate, Vec<u8>)],
    embedded: &'a Embedded,
}

/// The value of the single attribute `oid`: None when absent, Some(None) when repeated or
/// not single-valued.
fn single_value<'a>(attrs: &'a [Attr<'_>], oid: ObjectIdentifier) -> Option<Option<&'a Any>> {
    let mut found = attrs.iter().filter(|a| a.oid == oid);
    let a = found.next()?;
    if found.next().is_some() || a.values.len() != 1 {
        return Some(None);
    }
    Some(a.any.first())
}

fn with_signer(e: P7mError, i: usize) -> P7mError {
    match e {
        P7mError::BadSignature { .. } => P7mError::BadSignature { signer: i },
        e => e,
    }
}

fn normalize(der: &[u8]) -> Result<Vec<u8>, P7mError> {
    crate::ber::to_der(der).map_err(P7mError::Encoding)
}

#[derive(Debug, Clone, Sequence)]
struct EssCertId {
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<Any>,
}

#[derive(Debug, Clone, Sequence)]
struct SigningCertificate {
    certs: Vec<EssCertId>,
    #[asn1(optional = "true")]
    policies: Option<Any>,
}

#[derive(Debug, Clone, Sequence)]
struct EssCertIdV2 {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<Any>,
}

#[derive(Debug, Clone, Sequence)]
struct SigningCertificateV2 {
    certs: Vec<EssCertIdV2>,
    #[asn1(optional = "true")]
    policies: Option<Any>,
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn digest_for(
    oid: &ObjectIdentifier,
    allow_sha1: bool,
) -> Result<&'static ring::digest::Algorithm, P7mError> {
    match *oid {
        OID_SHA1 if allow_sha1 => Ok(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY),
        OID_SHA256 => Ok(&ring::digest::SHA256),
        OID_SHA384 => Ok(&ring::digest::SHA384),
        OID_SHA512 => Ok(&ring::digest::SHA512),
        ref o => Err(P7mError::UnsupportedAlgorithm(format!("digest {o}"))),
    }
}

pub(crate) fn to_chrono(t: x509_cert::time::Time) -> DateTime<Utc> {
    let d = t.to_unix_duration();
    DateTime::<Utc>::from_timestamp(
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        d.subsec_nanos(),
    )
    .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

pub(crate) fn is_signed_data(der: &[u8]) -> bool {
    normalize(der)
        .is_ok_and(|n| p7m_cms::content_info(&n).is_ok_and(|(ct, _)| ct == OID_SIGNED_DATA))
}

pub(crate) fn decode_input(input: &[u8]) -> Result<Vec<u8>, P7mError> {
    if input.first() == Some(&0x30) {
        return Ok(input.to_vec());
    }
    let text = std::str::from_utf8(input)
        .map_err(|_| P7mError::Encoding("neither DER nor base64/PEM text".into()))?;
    let body: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("-----"))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    STANDARD
        .decode(body)
        .map_err(|_| P7mError::Encoding("invalid base64".into()))
}

fn find_signer_cert<'a>(
    sid: &SignerIdentifier,
    certs: &'a [(Certificate, Vec<u8>)],
) -> Option<(&'a Certificate, &'a Vec<u8>)> {
    let found = match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => certs.iter().find(|(c, _)| {
            c.tbs_certificate.serial_number == ias.serial_number
                && c.tbs_certificate.issuer == ias.issuer
        }),
        SignerIdentifier::SubjectKeyIdentifier(ski) => certs.iter().find(|(c, _)| {
            c.tbs_certificate
                .extensions
                .as_ref()
                .and_then(|exts| exts.iter().find(|e| e.extn_id == OID_SKI))
                .and_then(|e| OctetString::from_der(e.extn_value.as_bytes()).ok())
                .is_some_and(|v| v.as_bytes() == ski.0.as_bytes())
        }),
    };
    found.map(|(c, d)| (c, d))
}

fn any_string(a: &Any) -> Option<String> {
    if let Ok(s) = Utf8StringRef::try_from(a) {
        return Some(s.as_str().to_owned());
    }
    if let Ok(s) = PrintableStringRef::try_from(a) {
        return Some(s.as_str().to_owned());
    }
    Ia5StringRef::try_from(a)
        .ok()
        .map(|s| s.as_str().to_owned())
}

fn subject_serial_number(cert: &Certificate) -> Option<String> {
    cert.tbs_certificate
        .subject
        .0
        .iter()
        .flat_map(|rdn| rdn.0.iter())
        .find(|atv| atv.oid == OID_SERIAL_NUMBER)
        .and_then(|atv| any_string(&atv.value))
}

/// A signature algorithm resolved for a key, with what makes it legacy.
struct Algo {
    ring: &'static dyn signature::VerificationAlgorithm,
    sha1: bool,
    rsa_bits: Option<usize>,
}

/// The bit length of an RSA public key's modulus (`RSAPublicKey ::= SEQUENCE { n, e }`).
fn rsa_modulus_bits(key: &[u8]) -> Option<usize> {
    let mut pos = 0;
    let seq = p7m_cms::read(key, &mut pos).ok()?;
    let n = *p7m_cms::children(seq.content).ok()?.first()?;
    let digits: &[u8] = {
        let skip = n.content.iter().take_while(|b| **b == 0).count();
        &n.content[skip..]
    };
    let first = digits.first()?;
    Some((digits.len() - 1) * 8 + (8 - first.leading_zeros() as usize))
}

fn select_algorithm(
    spki: &x509_cert::spki::SubjectPublicKeyInfoOwned,
    sig_alg: &AlgorithmIdentifierOwned,
    digest_hint: Option<&ObjectIdentifier>,
) -> Result<Algo, P7mError> {
    let unsupported = || {
        P7mError::UnsupportedAlgorithm(format!(
            "signature {} with key {}",
            sig_alg.oid, spki.algorithm.oid
        ))
    };
    if spki.algorithm.oid == OID_RSA {
        let digest = match sig_alg.oid {
            OID_RSA_SHA1 => OID_SHA1,
            OID_RSA_SHA256 => OID_SHA256,
            OID_RSA_SHA384 => OID_SHA384,
            OID_RSA_SHA512 => OID_SHA512,
            OID_RSA => *digest_hint.ok_or_else(unsupported)?,
            _ => return Err(unsupported()),
        };
        let bits = rsa_modulus_bits(spki.subject_public_key.raw_bytes())
            .ok_or_else(|| P7mError::Encoding("malformed RSA public key".into()))?;
        let ring: &'static dyn signature::VerificationAlgorithm = if bits >= MIN_RSA_BITS {
            match digest {
                OID_SHA1 => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
                OID_SHA256 => &signature::RSA_PKCS1_2048_8192_SHA256,
                OID_SHA384 => &signature::RSA_PKCS1_2048_8192_SHA384,
                OID_SHA512 => &signature::RSA_PKCS1_2048_8192_SHA512,
                _ => return Err(unsupported()),
            }
        } else {
            match digest {
                OID_SHA1 => &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
                OID_SHA256 => &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY,
                OID_SHA512 => &signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY,
                _ => return Err(unsupported()),
            }
        };
        Ok(Algo {
            ring,
            sha1: digest == OID_SHA1,
            rsa_bits: Some(bits),
        })
    } else if spki.algorithm.oid == OID_EC_PUBLIC_KEY {
        let curve: ObjectIdentifier = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as().ok())
            .ok_or_else(unsupported)?;
        let ring: &'static dyn signature::VerificationAlgorithm = match (curve, sig_alg.oid) {
            (OID_P256, OID_ECDSA_SHA256) => &signature::ECDSA_P256_SHA256_ASN1,
            (OID_P256, OID_ECDSA_SHA384) => &signature::ECDSA_P256_SHA384_ASN1,
            (OID_P384, OID_ECDSA_SHA256) => &signature::ECDSA_P384_SHA256_ASN1,
            (OID_P384, OID_ECDSA_SHA384) => &signature::ECDSA_P384_SHA384_ASN1,
            _ => return Err(unsupported()),
        };
        Ok(Algo {
            ring,
            sha1: false,
            rsa_bits: None,
        })
    } else {
        Err(unsupported())
    }
}

/// Verifies `sig` over `msg` with an algorithm the caller already judged allowed (`allow`
/// says which legacy ones are): a legacy algorithm not in `allow` is refused by name.
fn verify_with(
    algo: &Algo,
    spki: &x509_cert::spki::SubjectPublicKeyInfoOwned,
    allow: Allow,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), P7mError> {
    if algo.sha1 && !allow.sha1 {
        return Err(P7mError::Sha1Refused { signer: 0 });
    }
    if let Some(bits) = algo.rsa_bits
        && bits < MIN_RSA_BITS
        && (!allow.rsa1024 || bits < 1024)
    {
        return Err(P7mError::WeakRsaKey { signer: 0, bits });
    }
    UnparsedPublicKey::new(algo.ring, spki.subject_public_key.raw_bytes())
        .verify(msg, sig)
        .map_err(|_| P7mError::BadSignature { signer: 0 })
}

fn verify_signature(
    spki: &x509_cert::spki::SubjectPublicKeyInfoOwned,
    sig_alg: &AlgorithmIdentifierOwned,
    msg: &[u8],
    sig: &[u8],
    allow: Allow,
) -> Result<(), P7mError> {
    let algo = select_algorithm(spki, sig_alg, None)?;
    verify_with(&algo, spki, allow, msg, sig)
}

fn check_validity(cert: &Certificate, at: DateTime<Utc>) -> Result<(), P7mError> {
    let v = &cert.tbs_certificate.validity;
    if at < to_chrono(v.not_before) || at > to_chrono(v.not_after) {
        return Err(P7mError::CertificateNotValid {
            subject: cert.tbs_certificate.subject.to_string(),
            at,
        });
    }
    Ok(())
}

/// The key usage extension, when present (None = absent: any use).
pub(crate) fn key_usage(cert: &Certificate) -> Option<KeyUsage> {
    cert.tbs_certificate
        .extensions
        .as_ref()
        .and_then(|exts| exts.iter().find(|e| e.extn_id == OID_KEY_USAGE))
        .and_then(|e| KeyUsage::from_der(e.extn_value.as_bytes()).ok())
}

/// A signer certificate must allow signatures (digitalSignature or nonRepudiation).
pub(crate) fn check_signing_usage(cert: &Certificate) -> Result<(), P7mError> {
    match key_usage(cert) {
        Some(ku) if !ku.digital_signature() && !ku.non_repudiation() => Err(P7mError::KeyUsage {
            subject: cert.tbs_certificate.subject.to_string(),
            purpose: "signing",
        }),
        _ => Ok(()),
    }
}

pub(crate) fn is_ca(cert: &Certificate) -> bool {
    cert.tbs_certificate
        .extensions
        .as_ref()
        .and_then(|exts| exts.iter().find(|e| e.extn_id == OID_BASIC_CONSTRAINTS))
        .and_then(|e| BasicConstraints::from_der(e.extn_value.as_bytes()).ok())
        .is_some_and(|bc| bc.ca)
        && key_usage(cert).is_none_or(|ku| ku.key_cert_sign())
}

/// Verifies a signature (no legacy algorithm) with `spki` (CRLs, OCSP responses, tokens).
pub(crate) fn verify_plain(
    spki: &x509_cert::spki::SubjectPublicKeyInfoOwned,
    sig_alg: &AlgorithmIdentifierOwned,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), P7mError> {
    verify_signature(spki, sig_alg, msg, sig, Allow::default())
}

/// Whether `issuer` signed `cert` (no legacy algorithm).
pub(crate) fn signed_by_plain(cert: &Certificate, issuer: &Certificate) -> bool {
    signed_by(cert, issuer, Allow::default())
}

fn signed_by(cert: &Certificate, issuer: &Certificate, allow: Allow) -> bool {
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return false;
    }
    let Ok(tbs) = cert.tbs_certificate.to_der() else {
        return false;
    };
    verify_signature(
        &issuer.tbs_certificate.subject_public_key_info,
        &cert.signature_algorithm,
        &tbs,
        cert.signature.raw_bytes(),
        allow,
    )
    .is_ok()
}

pub(crate) fn build_chain(
    signer: &Certificate,
    pool: &[&Certificate],
    anchors: &[Certificate],
    at: DateTime<Utc>,
) -> Result<(), P7mError> {
    build_chain_with(signer, pool, anchors, at, Allow::default()).map(|_| ())
}

/// [`build_chain`] accepting in certificate signatures the legacy algorithms accepted for
/// the signer.
fn build_chain_with(
    signer: &Certificate,
    pool: &[&Certificate],
    anchors: &[Certificate],
    at: DateTime<Utc>,
    allow: Allow,
) -> Result<Vec<Certificate>, P7mError> {
    let mut current = signer;
    let mut path = Vec::new();
    for _ in 0..MAX_CHAIN {
        check_validity(current, at)?;
        path.push(current.clone());
        if anchors.iter().any(|a| a == current) {
            return Ok(path);
        }
        if let Some(a) = anchors.iter().find(|a| signed_by(current, a, allow)) {
            check_validity(a, at)?;
            path.push(a.clone());
            return Ok(path);
        }
        match pool
            .iter()
            .find(|c| **c != current && is_ca(c) && signed_by(current, c, allow))
        {
            Some(next) => current = next,
            None => {
                return Err(P7mError::Untrusted {
                    subject: current.tbs_certificate.subject.to_string(),
                });
            }
        }
    }
    Err(P7mError::Untrusted {
        subject: current.tbs_certificate.subject.to_string(),
    })
}

/// Reads certificates from PEM (one or more `CERTIFICATE` blocks) or a single DER certificate.
///
/// # Errors
/// [`P7mError::Trust`] when nothing decodes.
pub fn load_certificates(bytes: &[u8]) -> Result<Vec<Certificate>, P7mError> {
    if bytes.first() == Some(&0x30) {
        return Certificate::from_der(bytes)
            .map(|c| vec![c])
            .map_err(|e| P7mError::Trust(e.to_string()));
    }
    let certs = Certificate::load_pem_chain(bytes).map_err(|e| P7mError::Trust(e.to_string()))?;
    if certs.is_empty() {
        return Err(P7mError::Trust("no certificate found".into()));
    }
    Ok(certs)
}

/// Reads every `.pem`, `.crt`, `.cer` and `.der` file of a directory.
///
/// # Errors
/// [`P7mError::Trust`] when the directory or a file cannot be read or decoded.
pub fn load_certificates_dir(dir: &Path) -> Result<Vec<Certificate>, P7mError> {
    let mut out = Vec::new();
    let entries =
        std::fs::read_dir(dir).map_err(|e| P7mError::Trust(format!("{}: {e}", dir.display())))?;
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for p in paths {
        let ext = p
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        if matches!(ext.as_deref(), Some("pem" | "crt" | "cer" | "der")) {
            let bytes =
                std::fs::read(&p).map_err(|e| P7mError::Trust(format!("{}: {e}", p.display())))?;
            out.extend(
                load_certificates(&bytes)
                    .map_err(|e| P7mError::Trust(format!("{}: {e}", p.display())))?,
            );
        }
    }
    Ok(out)
}

/// Extracts the certificates of a trusted list (ETSI TS 119 612, e.g. AgID's `TSL-IT.xml`):
/// every `X509Certificate` element's base64 content. Which services to trust (qualified
/// signature CAs with status granted) is the caller's policy; this returns them all.
///
/// # Errors
/// [`P7mError::Trust`] for malformed XML or a certificate that does not decode.
pub fn certificates_from_trusted_list(xml: &str) -> Result<Vec<Certificate>, P7mError> {
    let root = crate::xml::parse(xml).map_err(|e| P7mError::Trust(e.to_string()))?;
    let mut out = Vec::new();
    let mut stack = vec![&root];
    while let Some(e) = stack.pop() {
        if e.name == "X509Certificate" {
            let der = crate::impronta::decode_b64(&e.text())
                .map_err(|_| P7mError::Trust("X509Certificate is not base64".into()))?;
            out.push(Certificate::from_der(&der).map_err(|err| P7mError::Trust(err.to_string()))?);
        }
        stack.extend(e.elements());
    }
    Ok(out)
}
