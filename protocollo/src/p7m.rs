//! CAdES (`.p7m`) verification: enveloping CMS SignedData, possibly nested and with several
//! signers.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::asn1::{Ia5StringRef, ObjectIdentifier, OctetString, PrintableStringRef, Utf8StringRef};
use der::{Any, Decode, Encode, Sequence};
use ring::signature::{self, UnparsedPublicKey};
use thiserror::Error;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::spki::AlgorithmIdentifierOwned;

const OID_SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
const OID_CONTENT_TYPE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
const OID_MESSAGE_DIGEST: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
const OID_SIGNING_TIME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
const OID_SIGNING_CERT_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
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

/// Deepest `.p7m.p7m...` nesting accepted.
pub const MAX_P7M_NESTING: usize = 8;
const MAX_CHAIN: usize = 10;

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
    /// SignedData without the signed content (detached signature).
    #[error("the signature is detached: the .p7m holds no content")]
    Detached,
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
    /// An algorithm this verifier does not implement (or refuses, like SHA-1).
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(String),
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
    /// The signer certificate (DER).
    pub certificate_der: Vec<u8>,
}

/// A verified `.p7m`: the innermost content and the signers of each envelope (outermost first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedP7m {
    /// The signed document.
    pub content: Vec<u8>,
    /// Signers per envelope, outermost first.
    pub layers: Vec<Vec<P7mSigner>>,
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
        }
    }

    /// A verifier that checks signatures and attributes but **not** the chain of trust: any
    /// certificate is accepted. Signers are reported with `chain_verified: false`.
    pub fn insecure_without_chain_check() -> Self {
        P7mVerifier {
            anchors: Vec::new(),
            intermediates: Vec::new(),
            check_chain: false,
            now: None,
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

    /// Verifies a `.p7m` (DER, PEM or base64), unwrapping nested envelopes.
    ///
    /// # Errors
    /// [`P7mError`] saying which check failed and for which signer.
    pub fn verify(&self, input: &[u8]) -> Result<VerifiedP7m, P7mError> {
        let mut der = decode_input(input)?;
        let mut layers = Vec::new();
        loop {
            if layers.len() >= MAX_P7M_NESTING {
                return Err(P7mError::TooDeep);
            }
            let (content, signers) = self.verify_layer(&der)?;
            layers.push(signers);
            if is_signed_data(&content) {
                der = content;
            } else {
                return Ok(VerifiedP7m { content, layers });
            }
        }
    }

    fn verify_layer(&self, der: &[u8]) -> Result<(Vec<u8>, Vec<P7mSigner>), P7mError> {
        let ci = content_info(der)?;
        if ci.content_type != OID_SIGNED_DATA {
            return Err(P7mError::NotSignedData(ci.content_type.to_string()));
        }
        let sd: SignedData = ci
            .content
            .decode_as()
            .map_err(|e| P7mError::Encoding(e.to_string()))?;
        let econtent = sd
            .encap_content_info
            .econtent
            .as_ref()
            .ok_or(P7mError::Detached)?;
        let content = econtent
            .decode_as::<OctetString>()
            .map_err(|e| P7mError::Encoding(format!("eContent: {e}")))?
            .into_bytes();
        let certs: Vec<Certificate> = sd
            .certificates
            .as_ref()
            .map(|set| {
                set.0
                    .iter()
                    .filter_map(|c| match c {
                        CertificateChoices::Certificate(c) => Some(c.clone()),
                        CertificateChoices::Other(_) => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        if sd.signer_infos.0.is_empty() {
            return Err(P7mError::NoSigners);
        }
        let mut signers = Vec::new();
        for (i, si) in sd.signer_infos.0.iter().enumerate() {
            signers.push(self.verify_signer(
                i,
                si,
                &sd.encap_content_info.econtent_type,
                &content,
                &certs,
            )?);
        }
        Ok((content, signers))
    }

    fn verify_signer(
        &self,
        i: usize,
        si: &SignerInfo,
        econtent_type: &ObjectIdentifier,
        content: &[u8],
        certs: &[Certificate],
    ) -> Result<P7mSigner, P7mError> {
        let cert =
            find_signer_cert(&si.sid, certs).ok_or(P7mError::CertificateNotFound { signer: i })?;
        let attrs = si.signed_attrs.as_ref().ok_or(P7mError::SignedAttribute {
            signer: i,
            attribute: "signedAttrs",
        })?;
        let attr = |oid: ObjectIdentifier, name: &'static str| -> Result<&Any, P7mError> {
            let mut found = attrs.iter().filter(|a| a.oid == oid);
            let a = found.next().ok_or(P7mError::SignedAttribute {
                signer: i,
                attribute: name,
            })?;
            if found.next().is_some() || a.values.len() != 1 {
                return Err(P7mError::SignedAttribute {
                    signer: i,
                    attribute: name,
                });
            }
            a.values.iter().next().ok_or(P7mError::SignedAttribute {
                signer: i,
                attribute: name,
            })
        };
        // content-type
        let ct: ObjectIdentifier = attr(OID_CONTENT_TYPE, "content-type")?
            .decode_as()
            .map_err(|_| P7mError::SignedAttribute {
                signer: i,
                attribute: "content-type",
            })?;
        if &ct != econtent_type {
            return Err(P7mError::ContentTypeMismatch { signer: i });
        }
        // message-digest
        let md: OctetString = attr(OID_MESSAGE_DIGEST, "message-digest")?
            .decode_as()
            .map_err(|_| P7mError::SignedAttribute {
                signer: i,
                attribute: "message-digest",
            })?;
        let digest_alg = digest_for(&si.digest_alg.oid)?;
        let actual = ring::digest::digest(digest_alg, content);
        if !ct_eq(actual.as_ref(), md.as_bytes()) {
            return Err(P7mError::MessageDigestMismatch { signer: i });
        }
        // signing-certificate-v2
        let scv2: SigningCertificateV2 = attr(OID_SIGNING_CERT_V2, "signing-certificate-v2")?
            .decode_as()
            .map_err(|_| P7mError::SignedAttribute {
                signer: i,
                attribute: "signing-certificate-v2",
            })?;
        let cert_der = cert
            .to_der()
            .map_err(|e| P7mError::Encoding(e.to_string()))?;
        let first = scv2.certs.first().ok_or(P7mError::SignedAttribute {
            signer: i,
            attribute: "signing-certificate-v2",
        })?;
        let h = match &first.hash_algorithm {
            Some(a) => digest_for(&a.oid)?,
            None => &ring::digest::SHA256,
        };
        if !ct_eq(
            ring::digest::digest(h, &cert_der).as_ref(),
            first.cert_hash.as_bytes(),
        ) {
            return Err(P7mError::SigningCertificateMismatch { signer: i });
        }
        // signing-time (optional)
        let signing_time = match attrs.iter().find(|a| a.oid == OID_SIGNING_TIME) {
            Some(a) => {
                let v = a.values.iter().next().ok_or(P7mError::SignedAttribute {
                    signer: i,
                    attribute: "signing-time",
                })?;
                let t = v
                    .to_der()
                    .ok()
                    .and_then(|d| x509_cert::time::Time::from_der(&d).ok())
                    .ok_or(P7mError::SignedAttribute {
                        signer: i,
                        attribute: "signing-time",
                    })?;
                Some(to_chrono(t))
            }
            None => None,
        };
        // the signature over the DER SET OF signed attributes
        let signed = attrs
            .to_der()
            .map_err(|e| P7mError::Encoding(e.to_string()))?;
        verify_signature(
            &cert.tbs_certificate.subject_public_key_info,
            &si.signature_algorithm,
            Some(&si.digest_alg.oid),
            &signed,
            si.signature.as_bytes(),
        )
        .map_err(|e| match e {
            P7mError::BadSignature { .. } => P7mError::BadSignature { signer: i },
            e => e,
        })?;
        check_signing_usage(cert)?;
        // certificate validity and chain at signing time
        let at = signing_time.or(self.now).unwrap_or_else(Utc::now);
        if self.check_chain {
            let mut pool: Vec<&Certificate> = certs.iter().collect();
            pool.extend(self.intermediates.iter());
            build_chain(cert, &pool, &self.anchors, at)?;
        } else {
            check_validity(cert, at)?;
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
            certificate_der: cert_der,
        })
    }
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

fn digest_for(oid: &ObjectIdentifier) -> Result<&'static ring::digest::Algorithm, P7mError> {
    match *oid {
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

fn is_signed_data(der: &[u8]) -> bool {
    content_info(der).is_ok_and(|ci| ci.content_type == OID_SIGNED_DATA)
}

/// Reads a ContentInfo from DER, or from BER after normalization.
fn content_info(bytes: &[u8]) -> Result<ContentInfo, P7mError> {
    match ContentInfo::from_der(bytes) {
        Ok(ci) => Ok(ci),
        Err(e) => {
            let der = crate::ber::to_der(bytes).map_err(|_| P7mError::Encoding(e.to_string()))?;
            ContentInfo::from_der(&der).map_err(|e| P7mError::Encoding(e.to_string()))
        }
    }
}

fn decode_input(input: &[u8]) -> Result<Vec<u8>, P7mError> {
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
    certs: &'a [Certificate],
) -> Option<&'a Certificate> {
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => certs.iter().find(|c| {
            c.tbs_certificate.serial_number == ias.serial_number
                && c.tbs_certificate.issuer == ias.issuer
        }),
        SignerIdentifier::SubjectKeyIdentifier(ski) => certs.iter().find(|c| {
            c.tbs_certificate
                .extensions
                .as_ref()
                .and_then(|exts| exts.iter().find(|e| e.extn_id == OID_SKI))
                .and_then(|e| OctetString::from_der(e.extn_value.as_bytes()).ok())
                .is_some_and(|v| v.as_bytes() == ski.0.as_bytes())
        }),
    }
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

fn verify_signature(
    spki: &x509_cert::spki::SubjectPublicKeyInfoOwned,
    sig_alg: &AlgorithmIdentifierOwned,
    digest_hint: Option<&ObjectIdentifier>,
    msg: &[u8],
    sig: &[u8],
) -> Result<(), P7mError> {
    let key = spki.subject_public_key.raw_bytes();
    let unsupported = || {
        P7mError::UnsupportedAlgorithm(format!(
            "signature {} with key {}",
            sig_alg.oid, spki.algorithm.oid
        ))
    };
    let alg: &'static dyn signature::VerificationAlgorithm = if spki.algorithm.oid == OID_RSA {
        let digest = match sig_alg.oid {
            OID_RSA_SHA256 => OID_SHA256,
            OID_RSA_SHA384 => OID_SHA384,
            OID_RSA_SHA512 => OID_SHA512,
            OID_RSA => *digest_hint.ok_or_else(unsupported)?,
            _ => return Err(unsupported()),
        };
        match digest {
            OID_SHA256 => &signature::RSA_PKCS1_2048_8192_SHA256,
            OID_SHA384 => &signature::RSA_PKCS1_2048_8192_SHA384,
            OID_SHA512 => &signature::RSA_PKCS1_2048_8192_SHA512,
            _ => return Err(unsupported()),
        }
    } else if spki.algorithm.oid == OID_EC_PUBLIC_KEY {
        let curve: ObjectIdentifier = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as().ok())
            .ok_or_else(unsupported)?;
        match (curve, sig_alg.oid) {
            (OID_P256, OID_ECDSA_SHA256) => &signature::ECDSA_P256_SHA256_ASN1,
            (OID_P256, OID_ECDSA_SHA384) => &signature::ECDSA_P256_SHA384_ASN1,
            (OID_P384, OID_ECDSA_SHA256) => &signature::ECDSA_P384_SHA256_ASN1,
            (OID_P384, OID_ECDSA_SHA384) => &signature::ECDSA_P384_SHA384_ASN1,
            _ => return Err(unsupported()),
        }
    } else {
        return Err(unsupported());
    };
    UnparsedPublicKey::new(alg, key)
        .verify(msg, sig)
        .map_err(|_| P7mError::BadSignature { signer: 0 })
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
fn key_usage(cert: &Certificate) -> Option<KeyUsage> {
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

fn is_ca(cert: &Certificate) -> bool {
    cert.tbs_certificate
        .extensions
        .as_ref()
        .and_then(|exts| exts.iter().find(|e| e.extn_id == OID_BASIC_CONSTRAINTS))
        .and_then(|e| BasicConstraints::from_der(e.extn_value.as_bytes()).ok())
        .is_some_and(|bc| bc.ca)
        && key_usage(cert).is_none_or(|ku| ku.key_cert_sign())
}

fn signed_by(cert: &Certificate, issuer: &Certificate) -> bool {
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return false;
    }
    let Ok(tbs) = cert.tbs_certificate.to_der() else {
        return false;
    };
    verify_signature(
        &issuer.tbs_certificate.subject_public_key_info,
        &cert.signature_algorithm,
        None,
        &tbs,
        cert.signature.raw_bytes(),
    )
    .is_ok()
}

pub(crate) fn build_chain(
    signer: &Certificate,
    pool: &[&Certificate],
    anchors: &[Certificate],
    at: DateTime<Utc>,
) -> Result<(), P7mError> {
    let mut current = signer;
    for _ in 0..MAX_CHAIN {
        check_validity(current, at)?;
        if anchors.iter().any(|a| a == current) {
            return Ok(());
        }
        if let Some(a) = anchors.iter().find(|a| signed_by(current, a)) {
            check_validity(a, at)?;
            return Ok(());
        }
        match pool
            .iter()
            .find(|c| **c != current && is_ca(c) && signed_by(current, c))
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
