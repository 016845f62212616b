//! Verification of a card certificate: chain to configured issuers, validity, usage, policy,
//! revocation.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use x509_parser::error::X509Error;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::X509Certificate;

use super::cert::{name_to_string, parse_der, to_utc};
use super::error::{CertRole, Error, VerifyError};
use super::identity::{CardIdentity, POLICY_CIE, POLICY_CNS, policies};
use super::revocation::{RevocationChecker, RevocationQuery, RevocationStatus, serial_of};
use super::trust::IssuerList;

/// The source of "now" for validity checks; inject a fixed clock in tests.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that always answers the same instant.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// Signature algorithms refused whatever the key: SHA-1 based.
const SHA1_SIGNATURES: [&str; 4] = [
    "1.2.840.113549.1.1.5", // sha1WithRSAEncryption
    "1.3.14.3.2.29",        // sha1WithRSA (OIW)
    "1.2.840.10045.4.1",    // ecdsa-with-SHA1
    "1.2.840.10040.4.3",    // dsa-with-sha1
];

/// Verifies card authentication certificates and returns the holder's identity.
///
/// Checks, in order: the card certificate chains (directly, or through intermediates the client
/// sent) to one of the configured [`IssuerList`] CAs with valid signatures (SHA-1 refused), every
/// certificate of the chain is within its validity period at the clock's "now", issuers are CAs
/// allowed to sign certificates within their path length, the card certificate is not a CA, has no
/// unknown critical extension, has `digitalSignature` key usage (when keyUsage is present) and
/// `clientAuth` extended key usage, carries the CNS or CIE certificate policy, carries a fiscal
/// code, and is not revoked according to the configured [`RevocationChecker`].
#[derive(Debug, Clone)]
pub struct CardVerifier {
    issuers: IssuerList,
    revocation: Arc<dyn RevocationChecker>,
    clock: Arc<dyn Clock>,
    accepted_policies: Option<Vec<String>>,
    require_eku: bool,
    max_intermediates: usize,
}

impl CardVerifier {
    /// A verifier trusting `issuers` and asking `revocation` about every card certificate. Uses the
    /// system clock, requires extendedKeyUsage clientAuth and the CNS or CIE policy.
    pub fn new(issuers: IssuerList, revocation: impl RevocationChecker + 'static) -> Self {
        CardVerifier {
            issuers,
            revocation: Arc::new(revocation),
            clock: Arc::new(SystemClock),
            accepted_policies: Some(vec![POLICY_CNS.to_owned(), POLICY_CIE.to_owned()]),
            require_eku: true,
            max_intermediates: 3,
        }
    }

    /// Uses `clock` for "now".
    #[must_use]
    pub fn with_clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Accepts certificates carrying any of these policies (dotted OIDs) instead of the CNS / CIE
    /// ones, for example "CNS-like" authentication certificates of a commercial CA.
    #[must_use]
    pub fn with_accepted_policies<I, S>(mut self, policies: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.accepted_policies = Some(policies.into_iter().map(Into::into).collect());
        self
    }

    /// Does not look at certificate policies at all (lenient, on purpose).
    #[must_use]
    pub fn accept_any_certificate_policy(mut self) -> Self {
        self.accepted_policies = None;
        self
    }

    /// Accepts card certificates without extendedKeyUsage (RFC 5280 reads an absent extension as
    /// "any purpose"); when the extension is present it must still include clientAuth.
    #[must_use]
    pub fn allow_missing_extended_key_usage(mut self) -> Self {
        self.require_eku = false;
        self
    }

    /// At most this many intermediate CAs between the card certificate and a configured issuer
    /// (default 3).
    #[must_use]
    pub fn with_max_intermediates(mut self, max: usize) -> Self {
        self.max_intermediates = max;
        self
    }

    /// The configured issuers.
    pub fn issuers(&self) -> &IssuerList {
        &self.issuers
    }

    /// The current time according to the verifier's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Verifies `card_der` (with the `intermediates` the client sent, possibly none) at the
    /// clock's now.
    ///
    /// # Errors
    /// [`Error`] saying which check failed.
    pub async fn verify(
        &self,
        card_der: &[u8],
        intermediates: &[&[u8]],
    ) -> Result<CardIdentity, Error> {
        self.verify_at(card_der, intermediates, self.clock.now())
            .await
    }

    /// Verifies at an explicit instant.
    ///
    /// # Errors
    /// [`Error`] saying which check failed.
    pub async fn verify_at(
        &self,
        card_der: &[u8],
        intermediates: &[&[u8]],
        now: DateTime<Utc>,
    ) -> Result<CardIdentity, Error> {
        let (identity, issuer_der) = self.verify_offline(card_der, intermediates, now)?;
        let status = self
            .revocation
            .check(RevocationQuery::new(card_der, &issuer_der, now))
            .await?;
        match status {
            RevocationStatus::Good => Ok(identity),
            RevocationStatus::Revoked { revoked_at, reason } => Err(VerifyError::Revoked {
                serial: serial_of(card_der),
                revoked_at,
                reason,
            }
            .into()),
        }
    }

    /// Every check except revocation; returns the identity and the DER of the card's issuer.
    fn verify_offline(
        &self,
        card_der: &[u8],
        intermediates: &[&[u8]],
        now: DateTime<Utc>,
    ) -> Result<(CardIdentity, Vec<u8>), Error> {
        let card = parse_der(card_der, CertRole::Card)?;
        let mut inters = Vec::with_capacity(intermediates.len());
        for (i, der) in intermediates.iter().enumerate() {
            inters.push((parse_der(der, CertRole::Intermediate(i))?, *der));
        }

        let issuer_der = self.chain(&card, &inters, now)?;
        check_validity(&card, now)?;
        check_card_extensions(&card, self.require_eku)?;
        if let Some(accepted) = &self.accepted_policies {
            let found = policies(&card)?;
            if !found.iter().any(|p| accepted.contains(p)) {
                return Err(VerifyError::PolicyNotAccepted {
                    found,
                    accepted: accepted.clone(),
                }
                .into());
            }
        }
        let identity = CardIdentity::from_parsed(&card)?;
        Ok((identity, issuer_der))
    }

    /// Builds the path to a configured issuer; returns the DER of the card's direct issuer.
    fn chain(
        &self,
        card: &X509Certificate<'_>,
        inters: &[(X509Certificate<'_>, &[u8])],
        now: DateTime<Utc>,
    ) -> Result<Vec<u8>, VerifyError> {
        let mut current = card;
        let mut role = CertRole::Card;
        let mut used = vec![false; inters.len()];
        let mut card_issuer: Option<Vec<u8>> = None;
        let mut below = 0usize; // intermediate CAs between the current issuer and the card

        loop {
            let issuer_raw = current.issuer().as_raw();
            let mut name_matched = false;
            let mut last_sig_error = None;

            // 1. a configured issuer
            for anchor in self.issuers.by_subject(issuer_raw) {
                name_matched = true;
                let Ok(anchor_cert) = parse_der(&anchor.der, CertRole::Card) else {
                    continue;
                };
                match verify_signed_by(current, &anchor_cert, role) {
                    Ok(()) => {
                        check_issuer(&anchor_cert, below)?;
                        check_validity(&anchor_cert, now)?;
                        return Ok(card_issuer.unwrap_or_else(|| anchor.der.clone()));
                    }
                    Err(e) => last_sig_error = Some(e),
                }
            }

            // 2. an intermediate the client sent
            let mut next = None;
            for (i, (cand, der)) in inters.iter().enumerate() {
                if used[i] || cand.subject().as_raw() != issuer_raw {
                    continue;
                }
                name_matched = true;
                match verify_signed_by(current, cand, role) {
                    Ok(()) => {
                        next = Some((i, cand, *der));
                        break;
                    }
                    Err(e) => last_sig_error = Some(e),
                }
            }
            let Some((i, cand, der)) = next else {
                if name_matched && let Some(e) = last_sig_error {
                    return Err(e);
                }
                return Err(VerifyError::UnknownIssuer {
                    role,
                    issuer: name_to_string(current.issuer()),
                });
            };
            if below >= self.max_intermediates {
                return Err(VerifyError::ChainTooLong {
                    max: self.max_intermediates,
                });
            }
            check_issuer(cand, below)?;
            check_validity(cand, now)?;
            check_critical(cand, CertRole::Intermediate(i))?;
            used[i] = true;
            if card_issuer.is_none() {
                card_issuer = Some(der.to_vec());
            }
            below += 1;
            current = cand;
            role = CertRole::Intermediate(i);
        }
    }
}

/// Verifies that `issuer`'s key signed `cert`; SHA-1 refused.
fn verify_signed_by(
    cert: &X509Certificate<'_>,
    issuer: &X509Certificate<'_>,
    role: CertRole,
) -> Result<(), VerifyError> {
    if !signature_algorithms_match(cert.as_raw()) {
        return Err(VerifyError::SignatureAlgorithmMismatch { role });
    }
    let alg = cert.signature_algorithm.algorithm.to_id_string();
    if SHA1_SIGNATURES.contains(&alg.as_str()) {
        return Err(VerifyError::UnsupportedSignatureAlgorithm {
            role,
            algorithm: alg,
        });
    }
    match cert.verify_signature(Some(issuer.public_key())) {
        Ok(()) => Ok(()),
        Err(X509Error::SignatureUnsupportedAlgorithm) => {
            Err(VerifyError::UnsupportedSignatureAlgorithm {
                role,
                algorithm: alg,
            })
        }
        Err(_) => Err(VerifyError::BadSignature {
            role,
            issuer: name_to_string(issuer.subject()),
        }),
    }
}

/// An issuer must be a CA, allowed to sign certificates, within its path length constraint.
fn check_issuer(issuer: &X509Certificate<'_>, below: usize) -> Result<(), VerifyError> {
    let not_ca = || VerifyError::IssuerNotCa {
        subject: name_to_string(issuer.subject()),
    };
    let bc = issuer.basic_constraints().map_err(|_| not_ca())?;
    let Some(bc) = bc else {
        return Err(not_ca());
    };
    if !bc.value.ca {
        return Err(not_ca());
    }
    if let Some(max) = bc.value.path_len_constraint
        && below > max as usize
    {
        return Err(VerifyError::ChainTooLong { max: max as usize });
    }
    if let Ok(Some(ku)) = issuer.key_usage()
        && !ku.value.key_cert_sign()
    {
        return Err(not_ca());
    }
    Ok(())
}

fn check_validity(cert: &X509Certificate<'_>, now: DateTime<Utc>) -> Result<(), VerifyError> {
    let v = cert.validity();
    let not_before = to_utc(v.not_before);
    let not_after = to_utc(v.not_after);
    if now < not_before {
        return Err(VerifyError::NotYetValid {
            subject: name_to_string(cert.subject()),
            not_before,
            now,
        });
    }
    if now > not_after {
        return Err(VerifyError::Expired {
            subject: name_to_string(cert.subject()),
            not_after,
            now,
        });
    }
    Ok(())
}

/// Extensions this verifier enforces (or that carry no constraint), and so may be critical. Any
/// other critical extension, including name constraints and policy constraints, which are not
/// enforced here, makes the certificate unacceptable (RFC 5280 §4.2).
const ENFORCED_CRITICAL: [&str; 8] = [
    "2.5.29.14", // subjectKeyIdentifier
    "2.5.29.15", // keyUsage
    "2.5.29.17", // subjectAltName
    "2.5.29.19", // basicConstraints
    "2.5.29.31", // cRLDistributionPoints
    "2.5.29.32", // certificatePolicies
    "2.5.29.35", // authorityKeyIdentifier
    "2.5.29.37", // extKeyUsage
];

fn check_critical(cert: &X509Certificate<'_>, role: CertRole) -> Result<(), VerifyError> {
    for ext in cert.extensions() {
        if let ParsedExtension::ParseError { error } = ext.parsed_extension() {
            return Err(VerifyError::MalformedExtension {
                role,
                reason: format!("{}: {error}", ext.oid.to_id_string()),
            });
        }
        let oid = ext.oid.to_id_string();
        if ext.critical && !ENFORCED_CRITICAL.contains(&oid.as_str()) {
            return Err(VerifyError::UnknownCriticalExtension { role, oid });
        }
    }
    Ok(())
}

fn check_card_extensions(card: &X509Certificate<'_>, require_eku: bool) -> Result<(), VerifyError> {
    let role = CertRole::Card;
    check_critical(card, role)?;
    let malformed = |what: &str| VerifyError::MalformedExtension {
        role,
        reason: format!("{what} appears twice or does not decode"),
    };
    let bc = card
        .basic_constraints()
        .map_err(|_| malformed("basicConstraints"))?;
    if bc.is_some_and(|bc| bc.value.ca) {
        return Err(VerifyError::CardIsCa);
    }
    let ku = card.key_usage().map_err(|_| malformed("keyUsage"))?;
    if ku.is_some_and(|ku| !ku.value.digital_signature()) {
        return Err(VerifyError::KeyUsageNotDigitalSignature);
    }
    match card
        .extended_key_usage()
        .map_err(|_| malformed("extendedKeyUsage"))?
    {
        Some(eku) if !eku.value.client_auth => {
            let e = eku.value;
            let mut found: Vec<String> = [
                (e.any, "anyExtendedKeyUsage"),
                (e.server_auth, "serverAuth"),
                (e.code_signing, "codeSigning"),
                (e.email_protection, "emailProtection"),
                (e.time_stamping, "timeStamping"),
                (e.ocsp_signing, "OCSPSigning"),
            ]
            .into_iter()
            .filter(|(set, _)| *set)
            .map(|(_, name)| name.to_owned())
            .collect();
            found.extend(e.other.iter().map(|o| o.to_id_string()));
            Err(VerifyError::MissingClientAuthUsage { found })
        }
        None if require_eku => Err(VerifyError::MissingExtendedKeyUsage),
        _ => Ok(()),
    }
}

/// One DER TLV header: (tag, header length, content length); `None` for long-form tags,
/// indefinite or non-minimal lengths, or lengths past the input.
fn tlv(b: &[u8]) -> Option<(u8, usize, usize)> {
    let tag = *b.first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let first = *b.get(1)?;
    let (header, len) = if first < 0x80 {
        (2, first as usize)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 {
            return None;
        }
        let bytes = b.get(2..2 + n)?;
        if bytes[0] == 0 {
            return None;
        }
        let len = bytes.iter().fold(0usize, |acc, x| (acc << 8) | *x as usize);
        if len < 0x80 {
            return None;
        }
        (2 + n, len)
    };
    if b.len() < header + len {
        return None;
    }
    Some((tag, header, len))
}

/// The outer `signatureAlgorithm` is byte-for-byte the `signature` field of the signed TBS
/// certificate, and the outer structure is DER (SEQUENCE of SEQUENCE, SEQUENCE, BIT STRING of
/// whole octets, nothing after).
fn signature_algorithms_match(raw: &[u8]) -> bool {
    fn inner(raw: &[u8]) -> Option<bool> {
        let (t, h, l) = tlv(raw)?;
        if t != 0x30 || h + l != raw.len() {
            return Some(false);
        }
        let content = &raw[h..];
        let (t, th, tl) = tlv(content)?;
        if t != 0x30 {
            return Some(false);
        }
        let tbs_content = &content[th..th + tl];
        let rest = &content[th + tl..];
        let (t, ah, al) = tlv(rest)?;
        if t != 0x30 {
            return Some(false);
        }
        let outer_alg = &rest[..ah + al];
        let (t, bh, bl) = tlv(&rest[ah + al..])?;
        if t != 0x03 || ah + al + bh + bl != rest.len() {
            return Some(false);
        }
        // signatures are whole octets: the BIT STRING's unused-bits count must be 0
        if bl == 0 || rest[ah + al + bh] != 0 {
            return Some(false);
        }
        // TBSCertificate: [0] version OPTIONAL, serialNumber INTEGER, signature AlgorithmIdentifier
        let mut p = tbs_content;
        let (t, vh, vl) = tlv(p)?;
        if t == 0xa0 {
            p = &p[vh + vl..];
        }
        let (t, sh, sl) = tlv(p)?;
        if t != 0x02 {
            return Some(false);
        }
        p = &p[sh + sl..];
        let (_, ih, il) = tlv(p)?;
        Some(&p[..ih + il] == outer_alg)
    }
    inner(raw).unwrap_or(false)
}
