//! Keys, certificates and the raw sign/verify primitives.

use std::fmt;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use der::Decode as _;
use ring::rand::SystemRandom;
use ring::signature::{self, EcdsaKeyPair, KeyPair as _, RsaKeyPair};

use crate::error::KeyError;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A digest algorithm of XML-DSig.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// SHA-1 (`http://www.w3.org/2000/09/xmldsig#sha1`): refused unless explicitly allowed.
    Sha1,
    /// SHA-256 (`http://www.w3.org/2001/04/xmlenc#sha256`).
    Sha256,
    /// SHA-384 (`http://www.w3.org/2001/04/xmldsig-more#sha384`).
    Sha384,
    /// SHA-512 (`http://www.w3.org/2001/04/xmlenc#sha512`).
    Sha512,
}

impl DigestAlgorithm {
    /// The algorithm URI.
    pub fn uri(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha1 => "http://www.w3.org/2000/09/xmldsig#sha1",
            DigestAlgorithm::Sha256 => "http://www.w3.org/2001/04/xmlenc#sha256",
            DigestAlgorithm::Sha384 => "http://www.w3.org/2001/04/xmldsig-more#sha384",
            DigestAlgorithm::Sha512 => "http://www.w3.org/2001/04/xmlenc#sha512",
        }
    }

    /// The algorithm with this URI.
    pub fn from_uri(uri: &str) -> Option<DigestAlgorithm> {
        [Self::Sha1, Self::Sha256, Self::Sha384, Self::Sha512]
            .into_iter()
            .find(|a| a.uri() == uri)
    }

    /// Digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        ring::digest::digest(self.ring(), data).as_ref().to_vec()
    }

    pub(crate) fn ring(self) -> &'static ring::digest::Algorithm {
        match self {
            DigestAlgorithm::Sha1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
            DigestAlgorithm::Sha256 => &ring::digest::SHA256,
            DigestAlgorithm::Sha384 => &ring::digest::SHA384,
            DigestAlgorithm::Sha512 => &ring::digest::SHA512,
        }
    }
}

/// A signature algorithm of XML-DSig (also used by the SAML HTTP-Redirect binding's `SigAlg`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// RSA PKCS#1 v1.5 with SHA-1: verification only, and only when explicitly allowed.
    RsaSha1,
    /// RSA PKCS#1 v1.5 with SHA-256.
    RsaSha256,
    /// RSA PKCS#1 v1.5 with SHA-384.
    RsaSha384,
    /// RSA PKCS#1 v1.5 with SHA-512.
    RsaSha512,
    /// ECDSA with SHA-256 on a P-256 key; signature value is raw `r || s`.
    EcdsaSha256,
    /// ECDSA with SHA-384 on a P-384 key; signature value is raw `r || s`.
    EcdsaSha384,
}

impl SignatureAlgorithm {
    /// The algorithm URI.
    pub fn uri(self) -> &'static str {
        match self {
            SignatureAlgorithm::RsaSha1 => "http://www.w3.org/2000/09/xmldsig#rsa-sha1",
            SignatureAlgorithm::RsaSha256 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
            SignatureAlgorithm::RsaSha384 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha384",
            SignatureAlgorithm::RsaSha512 => "http://www.w3.org/2001/04/xmldsig-more#rsa-sha512",
            SignatureAlgorithm::EcdsaSha256 => {
                "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"
            }
            SignatureAlgorithm::EcdsaSha384 => {
                "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384"
            }
        }
    }

    /// The algorithm with this URI.
    pub fn from_uri(uri: &str) -> Option<SignatureAlgorithm> {
        [
            Self::RsaSha1,
            Self::RsaSha256,
            Self::RsaSha384,
            Self::RsaSha512,
            Self::EcdsaSha256,
            Self::EcdsaSha384,
        ]
        .into_iter()
        .find(|a| a.uri() == uri)
    }

    /// True for SHA-1 based algorithms.
    pub fn is_sha1(self) -> bool {
        self == SignatureAlgorithm::RsaSha1
    }
}

/// Reads every PEM block of `input` as `(label, DER bytes)`.
///
/// # Errors
/// [`KeyError::Pem`] when a block is not terminated, has encryption headers or bad base64.
pub fn pem_blocks(input: &[u8]) -> Result<Vec<(String, Vec<u8>)>, KeyError> {
    let text = std::str::from_utf8(input).map_err(|_| KeyError::Pem("not UTF-8 text".into()))?;
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim();
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut b64 = String::new();
        let mut closed = false;
        for l in lines.by_ref() {
            let l = l.trim();
            if l == end {
                closed = true;
                break;
            }
            if l.contains(':') {
                return Err(KeyError::Pem(format!(
                    "{label} has headers (encrypted PEM is not supported; use PKCS#8 or PKCS#12)"
                )));
            }
            b64.push_str(l);
        }
        if !closed {
            return Err(KeyError::Pem(format!("missing {end}")));
        }
        let der = B64
            .decode(b64.as_bytes())
            .map_err(|e| KeyError::Pem(format!("{label}: {e}")))?;
        out.push((label.to_owned(), der));
    }
    if out.is_empty() {
        return Err(KeyError::Pem("no PEM block found".into()));
    }
    Ok(out)
}

fn looks_like_pem(data: &[u8]) -> bool {
    data.windows(11).any(|w| w == b"-----BEGIN ")
}

// ---------------------------------------------------------------------------------------------
// Public keys

/// The type of a public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// RSA.
    Rsa,
    /// ECDSA on NIST P-256.
    EcP256,
    /// ECDSA on NIST P-384.
    EcP384,
}

impl KeyType {
    fn name(self) -> &'static str {
        match self {
            KeyType::Rsa => "RSA",
            KeyType::EcP256 => "EC P-256",
            KeyType::EcP384 => "EC P-384",
        }
    }
}

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";

/// A public key usable for verification (RSA or EC P-256/P-384).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct PublicKey {
    kind: KeyType,
    /// RSA: the PKCS#1 `RSAPublicKey` DER. EC: the uncompressed point.
    bytes: Vec<u8>,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PublicKey({}, {} bytes)",
            self.kind.name(),
            self.bytes.len()
        )
    }
}

impl PublicKey {
    fn from_spki(spki: &x509_cert::spki::SubjectPublicKeyInfoOwned) -> Result<Self, KeyError> {
        let oid = spki.algorithm.oid.to_string();
        let bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| KeyError::Certificate("public key bit string has unused bits".into()))?
            .to_vec();
        let kind = match oid.as_str() {
            OID_RSA => KeyType::Rsa,
            OID_EC => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<der::asn1::ObjectIdentifier>().ok())
                    .map(|o| o.to_string())
                    .unwrap_or_default();
                match curve.as_str() {
                    OID_P256 => KeyType::EcP256,
                    OID_P384 => KeyType::EcP384,
                    other => return Err(KeyError::UnsupportedKey(format!("EC curve {other}"))),
                }
            }
            other => return Err(KeyError::UnsupportedKey(other.to_owned())),
        };
        Ok(PublicKey { kind, bytes })
    }

    /// From a DER `SubjectPublicKeyInfo`.
    ///
    /// # Errors
    /// [`KeyError`] when the DER is invalid or the algorithm unsupported.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let spki = x509_cert::spki::SubjectPublicKeyInfoOwned::from_der(der)
            .map_err(|e| KeyError::Certificate(format!("SubjectPublicKeyInfo: {e}")))?;
        Self::from_spki(&spki)
    }

    /// From a `PUBLIC KEY` PEM block.
    ///
    /// # Errors
    /// [`KeyError`] when the PEM or the key is invalid.
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        for (label, der) in pem_blocks(pem)? {
            if label == "PUBLIC KEY" {
                return Self::from_spki_der(&der);
            }
        }
        Err(KeyError::PemLabel {
            found: "none".into(),
            expected: "PUBLIC KEY",
        })
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        self.kind
    }

    /// Verifies a raw signature (`r || s` for ECDSA) over `data`.
    ///
    /// SHA-1 is accepted here only with [`SignatureAlgorithm::RsaSha1`] explicitly; callers
    /// enforce their policy before calling.
    ///
    /// # Errors
    /// [`KeyError::AlgorithmMismatch`] if the algorithm does not fit the key;
    /// [`KeyError::BadSignature`] if the signature is invalid.
    pub fn verify(&self, alg: SignatureAlgorithm, data: &[u8], sig: &[u8]) -> Result<(), KeyError> {
        use SignatureAlgorithm as A;
        let ring_alg: &dyn signature::VerificationAlgorithm = match (self.kind, alg) {
            (KeyType::Rsa, A::RsaSha1) => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
            (KeyType::Rsa, A::RsaSha256) => &signature::RSA_PKCS1_2048_8192_SHA256,
            (KeyType::Rsa, A::RsaSha384) => &signature::RSA_PKCS1_2048_8192_SHA384,
            (KeyType::Rsa, A::RsaSha512) => &signature::RSA_PKCS1_2048_8192_SHA512,
            (KeyType::EcP256, A::EcdsaSha256) => &signature::ECDSA_P256_SHA256_FIXED,
            (KeyType::EcP384, A::EcdsaSha384) => &signature::ECDSA_P384_SHA384_FIXED,
            _ => {
                return Err(KeyError::AlgorithmMismatch {
                    algorithm: alg.uri(),
                    key: self.kind.name(),
                });
            }
        };
        signature::UnparsedPublicKey::new(ring_alg, &self.bytes)
            .verify(data, sig)
            .map_err(|_| KeyError::BadSignature)
    }

    fn fits(&self, alg: SignatureAlgorithm) -> bool {
        matches!(
            (self.kind, alg),
            (KeyType::Rsa, SignatureAlgorithm::RsaSha1)
                | (KeyType::Rsa, SignatureAlgorithm::RsaSha256)
                | (KeyType::Rsa, SignatureAlgorithm::RsaSha384)
                | (KeyType::Rsa, SignatureAlgorithm::RsaSha512)
                | (KeyType::EcP256, SignatureAlgorithm::EcdsaSha256)
                | (KeyType::EcP384, SignatureAlgorithm::EcdsaSha384)
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Certificates

/// An X.509 certificate (only what XML-DSig needs: the DER, the public key, names, validity).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Certificate {
    der: Vec<u8>,
    key: PublicKey,
    subject: String,
    issuer: String,
    serial: Vec<u8>,
    issuer_der: Vec<u8>,
    not_before: u64,
    not_after: u64,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("subject", &self.subject)
            .field("issuer", &self.issuer)
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// From DER.
    ///
    /// # Errors
    /// [`KeyError::Certificate`] when the DER is not a certificate; [`KeyError::UnsupportedKey`]
    /// when its key is not RSA or EC P-256/P-384.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        use der::Encode as _;
        let c = x509_cert::Certificate::from_der(der)
            .map_err(|e| KeyError::Certificate(e.to_string()))?;
        let tbs = &c.tbs_certificate;
        let key = PublicKey::from_spki(&tbs.subject_public_key_info)?;
        let v = &tbs.validity;
        Ok(Certificate {
            der: der.to_vec(),
            key,
            subject: tbs.subject.to_string(),
            issuer: tbs.issuer.to_string(),
            serial: tbs.serial_number.as_bytes().to_vec(),
            issuer_der: tbs
                .issuer
                .to_der()
                .map_err(|e| KeyError::Certificate(e.to_string()))?,
            not_before: v.not_before.to_unix_duration().as_secs(),
            not_after: v.not_after.to_unix_duration().as_secs(),
        })
    }

    /// From the first `CERTIFICATE` PEM block (or DER, if the input is not PEM).
    ///
    /// # Errors
    /// As [`Certificate::from_der`], plus PEM errors.
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        Self::chain_from_pem(pem)?
            .into_iter()
            .next()
            .ok_or_else(|| KeyError::Pem("no CERTIFICATE block".into()))
    }

    /// Every `CERTIFICATE` block of a PEM file, in order (or one certificate from DER input).
    ///
    /// # Errors
    /// As [`Certificate::from_der`], plus PEM errors.
    pub fn chain_from_pem(pem: &[u8]) -> Result<Vec<Self>, KeyError> {
        if !looks_like_pem(pem) {
            return Ok(vec![Self::from_der(pem)?]);
        }
        pem_blocks(pem)?
            .into_iter()
            .filter(|(l, _)| l == "CERTIFICATE")
            .map(|(_, d)| Self::from_der(&d))
            .collect()
    }

    /// From base64 text as found in `ds:X509Certificate` (whitespace ignored).
    ///
    /// # Errors
    /// [`KeyError::Certificate`] on bad base64 or DER.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let clean: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = B64
            .decode(clean)
            .map_err(|e| KeyError::Certificate(format!("base64: {e}")))?;
        Self::from_der(&der)
    }

    /// The DER encoding.
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// The DER encoding in base64 (one line), as written in `ds:X509Certificate`.
    pub fn to_base64(&self) -> String {
        B64.encode(&self.der)
    }

    /// PEM text.
    pub fn to_pem(&self) -> String {
        let b = self.to_base64();
        let mut s = String::from("-----BEGIN CERTIFICATE-----\n");
        for chunk in b.as_bytes().chunks(64) {
            s.push_str(std::str::from_utf8(chunk).unwrap_or_default());
            s.push('\n');
        }
        s.push_str("-----END CERTIFICATE-----\n");
        s
    }

    /// The subject public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// Subject distinguished name (RFC 4514 form).
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// Issuer distinguished name (RFC 4514 form).
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// DER of the issuer `Name`.
    pub fn issuer_der(&self) -> &[u8] {
        &self.issuer_der
    }

    /// Serial number (big-endian bytes as encoded).
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }

    /// Start of validity.
    pub fn not_before(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(self.not_before)
    }

    /// End of validity.
    pub fn not_after(&self) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(self.not_after)
    }

    /// Digest of the DER encoding (as used in XAdES `CertDigest`).
    pub fn digest(&self, alg: DigestAlgorithm) -> Vec<u8> {
        alg.digest(&self.der)
    }
}

// ---------------------------------------------------------------------------------------------
// Trusted keys

/// A key the caller trusts for verification: a public key, optionally with its certificate.
///
/// Trusted keys come from configuration (IdP metadata, a pinned certificate), never from the
/// message; `KeyInfo` in a message only selects among them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrustedKey {
    key: PublicKey,
    cert: Option<Certificate>,
    name: Option<String>,
}

impl TrustedKey {
    /// Trusts the key of this certificate (validity dates are not checked here).
    pub fn from_certificate(cert: Certificate) -> Self {
        TrustedKey {
            key: cert.key.clone(),
            cert: Some(cert),
            name: None,
        }
    }

    /// Trusts a bare public key.
    pub fn from_public_key(key: PublicKey) -> Self {
        TrustedKey {
            key,
            cert: None,
            name: None,
        }
    }

    /// From PEM (`CERTIFICATE` or `PUBLIC KEY`) or certificate DER.
    ///
    /// # Errors
    /// [`KeyError`] when nothing usable is found.
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        if !looks_like_pem(pem) {
            return Ok(Self::from_certificate(Certificate::from_der(pem)?));
        }
        for (label, der) in pem_blocks(pem)? {
            match label.as_str() {
                "CERTIFICATE" => return Ok(Self::from_certificate(Certificate::from_der(&der)?)),
                "PUBLIC KEY" => return Ok(Self::from_public_key(PublicKey::from_spki_der(&der)?)),
                _ => {}
            }
        }
        Err(KeyError::PemLabel {
            found: "none".into(),
            expected: "CERTIFICATE or PUBLIC KEY",
        })
    }

    /// Attaches a name used in error messages and in [`Verified`](crate::Verified).
    #[must_use]
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The public key.
    pub fn public_key(&self) -> &PublicKey {
        &self.key
    }

    /// The certificate, when the key was given as one.
    pub fn certificate(&self) -> Option<&Certificate> {
        self.cert.as_ref()
    }

    /// The name given with [`TrustedKey::with_name`].
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub(crate) fn fits(&self, alg: SignatureAlgorithm) -> bool {
        self.key.fits(alg)
    }
}

// ---------------------------------------------------------------------------------------------
// Signing keys

enum Inner {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair, KeyType),
}

/// A private key for signing (RSA, or ECDSA P-256/P-384). `Debug` never shows key material.
pub struct SigningKey {
    inner: Inner,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            Inner::Rsa(k) => write!(
                f,
                "SigningKey(RSA-{}, [redacted])",
                k.public().modulus_len() * 8
            ),
            Inner::Ec(_, t) => write!(f, "SigningKey({}, [redacted])", t.name()),
        }
    }
}

fn der_len(n: usize, out: &mut Vec<u8>) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes = n.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

pub(crate) fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(content.len() + 6);
    v.push(tag);
    der_len(content.len(), &mut v);
    v.extend_from_slice(content);
    v
}

/// Wraps a SEC1 `ECPrivateKey` into PKCS#8 for the given curve OID (DER of the OID TLV).
fn sec1_to_pkcs8(sec1: &[u8], curve_oid_tlv: &[u8]) -> Vec<u8> {
    const EC_OID: &[u8] = &[0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
    let mut alg = EC_OID.to_vec();
    alg.extend_from_slice(curve_oid_tlv);
    let mut body = vec![0x02, 0x01, 0x00];
    body.extend(der_tlv(0x30, &alg));
    body.extend(der_tlv(0x04, sec1));
    der_tlv(0x30, &body)
}

const P256_OID_TLV: &[u8] = &[0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
const P384_OID_TLV: &[u8] = &[0x06, 0x05, 0x2B, 0x81, 0x04, 0x00, 0x22];

impl SigningKey {
    /// From a PKCS#8 DER `PrivateKeyInfo` (RSA or EC P-256/P-384).
    ///
    /// # Errors
    /// [`KeyError::PrivateKey`] when ring rejects the key.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        if let Ok(k) = RsaKeyPair::from_pkcs8(der) {
            return Ok(SigningKey {
                inner: Inner::Rsa(k),
            });
        }
        if let Ok(k) =
            EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, der, &rng)
        {
            return Ok(SigningKey {
                inner: Inner::Ec(k, KeyType::EcP256),
            });
        }
        match EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P384_SHA384_FIXED_SIGNING, der, &rng) {
            Ok(k) => Ok(SigningKey {
                inner: Inner::Ec(k, KeyType::EcP384),
            }),
            Err(e) => Err(KeyError::PrivateKey(format!(
                "PKCS#8 key is not a usable RSA (>= 2048 bits) or EC P-256/P-384 key: {e}"
            ))),
        }
    }

    /// From a PKCS#1 DER `RSAPrivateKey`.
    ///
    /// # Errors
    /// [`KeyError::PrivateKey`] when ring rejects the key.
    pub fn from_pkcs1_der(der: &[u8]) -> Result<Self, KeyError> {
        RsaKeyPair::from_der(der)
            .map(|k| SigningKey {
                inner: Inner::Rsa(k),
            })
            .map_err(|e| KeyError::PrivateKey(format!("PKCS#1 RSA key: {e}")))
    }

    /// From a SEC1 DER `ECPrivateKey` (P-256 or P-384; the public key must be included).
    ///
    /// # Errors
    /// [`KeyError::PrivateKey`] when ring rejects the key.
    pub fn from_sec1_der(der: &[u8]) -> Result<Self, KeyError> {
        let rng = SystemRandom::new();
        if let Ok(k) = EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &sec1_to_pkcs8(der, P256_OID_TLV),
            &rng,
        ) {
            return Ok(SigningKey {
                inner: Inner::Ec(k, KeyType::EcP256),
            });
        }
        EcdsaKeyPair::from_pkcs8(
            &signature::ECDSA_P384_SHA384_FIXED_SIGNING,
            &sec1_to_pkcs8(der, P384_OID_TLV),
            &rng,
        )
        .map(|k| SigningKey {
            inner: Inner::Ec(k, KeyType::EcP384),
        })
        .map_err(|e| KeyError::PrivateKey(format!("SEC1 EC key: {e}")))
    }

    /// From DER of any supported form (PKCS#8, PKCS#1, SEC1).
    ///
    /// # Errors
    /// [`KeyError::PrivateKey`] when no form fits.
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        Self::from_pkcs8_der(der)
            .or_else(|_| Self::from_pkcs1_der(der))
            .or_else(|_| Self::from_sec1_der(der))
            .map_err(|_| KeyError::PrivateKey("not a PKCS#8, PKCS#1 or SEC1 private key".into()))
    }

    /// From PEM (`PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`), or DER.
    ///
    /// # Errors
    /// [`KeyError`] when no private key block is found or the key is rejected.
    pub fn from_pem(pem: &[u8]) -> Result<Self, KeyError> {
        if !looks_like_pem(pem) {
            return Self::from_der(pem);
        }
        let mut found = Vec::new();
        for (label, der) in pem_blocks(pem)? {
            match label.as_str() {
                "PRIVATE KEY" => return Self::from_pkcs8_der(&der),
                "RSA PRIVATE KEY" => return Self::from_pkcs1_der(&der),
                "EC PRIVATE KEY" => return Self::from_sec1_der(&der),
                _ => found.push(label),
            }
        }
        Err(KeyError::PemLabel {
            found: found.join(", "),
            expected: "PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY",
        })
    }

    /// From a PKCS#12 (`.p12`/`.pfx`) file: the first private key and its certificate chain
    /// (end-entity certificate first).
    ///
    /// # Errors
    /// [`KeyError::Pkcs12`] on a wrong password, a damaged file, or no key inside.
    pub fn from_pkcs12(data: &[u8], password: &str) -> Result<(Self, Vec<Certificate>), KeyError> {
        let ks = p12_keystore::KeyStore::from_pkcs12(
            data,
            password,
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .map_err(|e| KeyError::Pkcs12(e.to_string()))?;
        let (_, chain) = ks
            .private_key_chain()
            .ok_or_else(|| KeyError::Pkcs12("no private key in the file".into()))?;
        let key = Self::from_pkcs8_der(chain.key().as_der())?;
        let mut certs = chain
            .certs()
            .iter()
            .map(|c| Certificate::from_der(c.as_der()))
            .collect::<Result<Vec<_>, _>>()?;
        // End-entity certificate (the one matching the key) first.
        if let Some(pos) = certs.iter().position(|c| key.matches(c)) {
            let ee = certs.remove(pos);
            certs.insert(0, ee);
        }
        Ok((key, certs))
    }

    /// The key type.
    pub fn key_type(&self) -> KeyType {
        match &self.inner {
            Inner::Rsa(_) => KeyType::Rsa,
            Inner::Ec(_, t) => *t,
        }
    }

    /// The algorithm used by default: RSA-SHA256, ECDSA-SHA256 on P-256, ECDSA-SHA384 on P-384.
    pub fn default_algorithm(&self) -> SignatureAlgorithm {
        match self.key_type() {
            KeyType::Rsa => SignatureAlgorithm::RsaSha256,
            KeyType::EcP256 => SignatureAlgorithm::EcdsaSha256,
            KeyType::EcP384 => SignatureAlgorithm::EcdsaSha384,
        }
    }

    /// The public key.
    pub fn public_key(&self) -> PublicKey {
        match &self.inner {
            Inner::Rsa(k) => PublicKey {
                kind: KeyType::Rsa,
                bytes: k.public().as_ref().to_vec(),
            },
            Inner::Ec(k, t) => PublicKey {
                kind: *t,
                bytes: k.public_key().as_ref().to_vec(),
            },
        }
    }

    /// True when `cert` carries this key's public key.
    pub fn matches(&self, cert: &Certificate) -> bool {
        cert.public_key() == &self.public_key()
    }

    /// Signs `data` (the raw primitive, e.g. for the SAML HTTP-Redirect binding). ECDSA
    /// signatures are raw `r || s`, as XML-DSig and the Redirect binding use.
    ///
    /// # Errors
    /// [`KeyError::AlgorithmMismatch`] when the algorithm does not fit the key (ECDSA keys sign
    /// only with their default algorithm; SHA-1 is never used for signing).
    pub fn sign(&self, alg: SignatureAlgorithm, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        match &self.inner {
            Inner::Rsa(k) => {
                let pad: &'static dyn signature::RsaEncoding = match alg {
                    SignatureAlgorithm::RsaSha256 => &signature::RSA_PKCS1_SHA256,
                    SignatureAlgorithm::RsaSha384 => &signature::RSA_PKCS1_SHA384,
                    SignatureAlgorithm::RsaSha512 => &signature::RSA_PKCS1_SHA512,
                    _ => {
                        return Err(KeyError::AlgorithmMismatch {
                            algorithm: alg.uri(),
                            key: "RSA",
                        });
                    }
                };
                let mut sig = vec![0u8; k.public().modulus_len()];
                k.sign(pad, &rng, data, &mut sig)
                    .map_err(|_| KeyError::SigningFailed)?;
                Ok(sig)
            }
            Inner::Ec(k, t) => {
                if alg != self.default_algorithm() {
                    return Err(KeyError::AlgorithmMismatch {
                        algorithm: alg.uri(),
                        key: t.name(),
                    });
                }
                k.sign(&rng, data)
                    .map(|s| s.as_ref().to_vec())
                    .map_err(|_| KeyError::SigningFailed)
            }
        }
    }
}
