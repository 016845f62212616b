//! Revocation checking: a pluggable [`RevocationChecker`] and a CRL-file implementation.

use std::path::Path;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

use super::cert::{name_to_string, pem_blocks, serial_hex, to_utc};
use super::error::RevocationError;

/// What a revocation checker is asked about: the card certificate and the CA that issued it
/// (already verified as its issuer), at time `now`.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct RevocationQuery<'a> {
    /// The certificate whose status is asked, DER.
    pub certificate_der: &'a [u8],
    /// Its issuer's certificate, DER (the key that must have signed the CRL or OCSP response).
    pub issuer_der: &'a [u8],
    /// The verification time.
    pub now: DateTime<Utc>,
}

impl<'a> RevocationQuery<'a> {
    /// A query about `certificate_der`, issued by `issuer_der`, at `now`.
    pub fn new(certificate_der: &'a [u8], issuer_der: &'a [u8], now: DateTime<Utc>) -> Self {
        RevocationQuery {
            certificate_der,
            issuer_der,
            now,
        }
    }
}

/// CRL reason codes (RFC 5280 §5.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum RevocationReason {
    /// unspecified (0)
    Unspecified,
    /// keyCompromise (1)
    KeyCompromise,
    /// cACompromise (2)
    CaCompromise,
    /// affiliationChanged (3)
    AffiliationChanged,
    /// superseded (4)
    Superseded,
    /// cessationOfOperation (5)
    CessationOfOperation,
    /// certificateHold (6): suspended
    CertificateHold,
    /// removeFromCRL (8)
    RemoveFromCrl,
    /// privilegeWithdrawn (9)
    PrivilegeWithdrawn,
    /// aACompromise (10)
    AaCompromise,
    /// A code not defined by RFC 5280.
    Other(u8),
}

impl RevocationReason {
    /// From the numeric CRL reason code.
    pub fn from_code(code: u8) -> Self {
        match code {
            0 => Self::Unspecified,
            1 => Self::KeyCompromise,
            2 => Self::CaCompromise,
            3 => Self::AffiliationChanged,
            4 => Self::Superseded,
            5 => Self::CessationOfOperation,
            6 => Self::CertificateHold,
            8 => Self::RemoveFromCrl,
            9 => Self::PrivilegeWithdrawn,
            10 => Self::AaCompromise,
            other => Self::Other(other),
        }
    }
}

impl std::fmt::Display for RevocationReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unspecified => f.write_str("unspecified"),
            Self::KeyCompromise => f.write_str("key compromise"),
            Self::CaCompromise => f.write_str("CA compromise"),
            Self::AffiliationChanged => f.write_str("affiliation changed"),
            Self::Superseded => f.write_str("superseded"),
            Self::CessationOfOperation => f.write_str("cessation of operation"),
            Self::CertificateHold => f.write_str("certificate hold (suspended)"),
            Self::RemoveFromCrl => f.write_str("remove from CRL"),
            Self::PrivilegeWithdrawn => f.write_str("privilege withdrawn"),
            Self::AaCompromise => f.write_str("AA compromise"),
            Self::Other(c) => write!(f, "reason code {c}"),
        }
    }
}

/// The answer of a revocation checker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationStatus {
    /// Not revoked according to a current, authentic source.
    Good,
    /// Revoked (or suspended).
    Revoked {
        /// When.
        revoked_at: DateTime<Utc>,
        /// Why, when stated.
        reason: Option<RevocationReason>,
    },
}

/// Decides whether a card certificate is revoked. Implementations must fail closed: when the
/// status cannot be established from an authentic, current source, return an error, never
/// [`RevocationStatus::Good`].
#[async_trait]
pub trait RevocationChecker: Send + Sync + std::fmt::Debug {
    /// The status of `query.certificate_der` at `query.now`.
    ///
    /// # Errors
    /// [`RevocationError`] when the status cannot be established.
    async fn check(&self, query: RevocationQuery<'_>) -> Result<RevocationStatus, RevocationError>;
}

/// Skips revocation checking entirely: every certificate is reported [`RevocationStatus::Good`].
/// A stolen card stays usable until it expires; use only where revocation is handled elsewhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct InsecureNoRevocationCheck;

#[async_trait]
impl RevocationChecker for InsecureNoRevocationCheck {
    async fn check(
        &self,
        _query: RevocationQuery<'_>,
    ) -> Result<RevocationStatus, RevocationError> {
        Ok(RevocationStatus::Good)
    }
}

/// Revocation from CRL files loaded at start-up (refresh by building a new checker).
///
/// For each check: the CRLs named for the certificate's issuer are taken, their signature is
/// verified with the issuer's key, their validity window (`thisUpdate` ≤ now ≤ `nextUpdate`) is
/// enforced, and the certificate's serial is looked up. Partitioned CRLs
/// (`issuingDistributionPoint` with a distribution point) apply only to certificates whose
/// `cRLDistributionPoints` name the same URI; indirect CRLs, reason-partitioned CRLs and delta
/// CRLs are refused. No applicable CRL means an error (fail closed).
#[derive(Clone, Default)]
pub struct CrlChecker {
    crls: Vec<Vec<u8>>,
    allow_stale: bool,
}

impl std::fmt::Debug for CrlChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CrlChecker")
            .field("crls", &self.crls.len())
            .field("allow_stale", &self.allow_stale)
            .finish()
    }
}

const OID_DELTA_CRL_INDICATOR: &str = "2.5.29.27";

impl CrlChecker {
    /// A checker over DER CRLs; each is decoded now so that a broken file is reported at start-up.
    ///
    /// # Errors
    /// [`RevocationError::MalformedCrl`] for an entry that does not decode.
    pub fn from_der_crls<I, D>(crls: I) -> Result<Self, RevocationError>
    where
        I: IntoIterator<Item = D>,
        D: AsRef<[u8]>,
    {
        let mut out = Vec::new();
        for (index, der) in crls.into_iter().enumerate() {
            let der = der.as_ref();
            let (rest, _) = CertificateRevocationList::from_der(der).map_err(|e| {
                RevocationError::MalformedCrl {
                    index,
                    reason: e.to_string(),
                }
            })?;
            if !rest.is_empty() {
                return Err(RevocationError::MalformedCrl {
                    index,
                    reason: format!("{} bytes after the CRL", rest.len()),
                });
            }
            out.push(der.to_vec());
        }
        Ok(CrlChecker {
            crls: out,
            allow_stale: false,
        })
    }

    /// A checker over the `X509 CRL` blocks of a PEM input.
    ///
    /// # Errors
    /// [`RevocationError::MalformedCrl`] when no block is found or one does not decode.
    pub fn from_pem(pem: &[u8]) -> Result<Self, RevocationError> {
        let ders = pem_blocks(pem, &["X509 CRL"])
            .map_err(|reason| RevocationError::MalformedCrl { index: 0, reason })?;
        Self::from_der_crls(ders)
    }

    /// A checker over CRL files, each PEM (one or more `X509 CRL` blocks) or DER.
    ///
    /// # Errors
    /// [`RevocationError::Io`] when a file cannot be read, otherwise as [`CrlChecker::from_der_crls`].
    pub fn from_files<I, P>(paths: I) -> Result<Self, RevocationError>
    where
        I: IntoIterator<Item = P>,
        P: AsRef<Path>,
    {
        let mut ders = Vec::new();
        for path in paths {
            let path = path.as_ref();
            let bytes = std::fs::read(path).map_err(|e| RevocationError::Io {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?;
            if bytes.starts_with(&[0x30]) {
                ders.push(bytes);
            } else {
                let blocks = pem_blocks(&bytes, &["X509 CRL"]).map_err(|reason| {
                    RevocationError::MalformedCrl {
                        index: ders.len(),
                        reason: format!("{}: {reason}", path.display()),
                    }
                })?;
                ders.extend(blocks);
            }
        }
        Self::from_der_crls(ders)
    }

    /// Accepts CRLs whose `nextUpdate` has passed (the last known list still says something).
    /// Off by default: a stale CRL is an error.
    #[must_use]
    pub fn allow_stale_crls(mut self) -> Self {
        self.allow_stale = true;
        self
    }

    /// Number of CRLs loaded.
    pub fn len(&self) -> usize {
        self.crls.len()
    }

    /// `true` when no CRL is loaded.
    pub fn is_empty(&self) -> bool {
        self.crls.is_empty()
    }
}

/// The status of `query`'s certificate according to `crls` (see [`CrlChecker`]).
pub(crate) fn check_with_crls(
    crls: &[Vec<u8>],
    query: RevocationQuery<'_>,
    allow_stale: bool,
) -> Result<RevocationStatus, RevocationError> {
    let malformed = |reason: String| RevocationError::MalformedCrl { index: 0, reason };
    let (_, cert) = X509Certificate::from_der(query.certificate_der)
        .map_err(|e| malformed(format!("certificate in query: {e}")))?;
    let (_, issuer) = X509Certificate::from_der(query.issuer_der)
        .map_err(|e| malformed(format!("issuer in query: {e}")))?;
    let issuer_name = name_to_string(cert.issuer());
    let cert_dps = crl_distribution_uris(&cert);

    let mut applicable = 0usize;
    let mut bad_signature = false;
    for (index, der) in crls.iter().enumerate() {
        let (_, crl) = CertificateRevocationList::from_der(der).map_err(|e| {
            RevocationError::MalformedCrl {
                index,
                reason: e.to_string(),
            }
        })?;
        if crl.issuer().as_raw() != cert.issuer().as_raw() {
            continue;
        }
        if crl.verify_signature(issuer.public_key()).is_err() {
            bad_signature = true;
            continue;
        }
        if !crl_covers(&crl, &cert_dps, &issuer_name)? {
            continue;
        }
        let this_update = to_utc(crl.last_update());
        if this_update > query.now {
            return Err(RevocationError::CrlNotYetValid {
                issuer: issuer_name,
                this_update,
                now: query.now,
            });
        }
        if let Some(next) = crl.next_update().map(to_utc)
            && next < query.now
            && !allow_stale
        {
            return Err(RevocationError::CrlStale {
                issuer: issuer_name,
                next_update: next,
                now: query.now,
            });
        }
        applicable += 1;
        for revoked in crl.iter_revoked_certificates() {
            if revoked.raw_serial() == cert.raw_serial() {
                let reason = revoked
                    .reason_code()
                    .map(|(_, rc)| RevocationReason::from_code(rc.0));
                if reason == Some(RevocationReason::RemoveFromCrl) {
                    continue;
                }
                return Ok(RevocationStatus::Revoked {
                    revoked_at: to_utc(revoked.revocation_date),
                    reason,
                });
            }
        }
    }
    if applicable == 0 {
        if bad_signature {
            return Err(RevocationError::CrlBadSignature {
                issuer: issuer_name,
            });
        }
        return Err(RevocationError::NoCrlForIssuer {
            issuer: issuer_name,
        });
    }
    Ok(RevocationStatus::Good)
}

#[async_trait]
impl RevocationChecker for CrlChecker {
    async fn check(&self, query: RevocationQuery<'_>) -> Result<RevocationStatus, RevocationError> {
        check_with_crls(&self.crls, query, self.allow_stale)
    }
}

/// The URIs in the certificate's cRLDistributionPoints.
pub(crate) fn crl_distribution_uris(cert: &X509Certificate<'_>) -> Vec<String> {
    let mut out = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::CRLDistributionPoints(dps) = ext.parsed_extension() {
            for dp in &dps.points {
                if let Some(DistributionPointName::FullName(names)) = &dp.distribution_point {
                    out.extend(uris(names));
                }
            }
        }
    }
    out
}

fn uris(names: &[GeneralName<'_>]) -> Vec<String> {
    names
        .iter()
        .filter_map(|n| match n {
            GeneralName::URI(u) => Some((*u).to_owned()),
            _ => None,
        })
        .collect()
}

/// Whether this (signature-verified) CRL is a complete list for end-entity certificates that
/// includes `cert`; errors for CRL kinds this checker does not implement.
fn crl_covers(
    crl: &CertificateRevocationList<'_>,
    cert_dps: &[String],
    issuer: &str,
) -> Result<bool, RevocationError> {
    let unsupported = |feature: &str| RevocationError::UnsupportedCrl {
        issuer: issuer.to_owned(),
        feature: feature.to_owned(),
    };
    for ext in crl.extensions() {
        if ext.oid.to_id_string() == OID_DELTA_CRL_INDICATOR {
            return Err(unsupported("delta CRL"));
        }
        match ext.parsed_extension() {
            ParsedExtension::IssuingDistributionPoint(idp) => {
                if idp.indirect_crl {
                    return Err(unsupported("indirect CRL"));
                }
                if idp.only_some_reasons.is_some() {
                    return Err(unsupported("CRL partitioned by reason (onlySomeReasons)"));
                }
                if idp.only_contains_ca_certs || idp.only_contains_attribute_certs {
                    return Ok(false);
                }
                if let Some(dp) = &idp.distribution_point {
                    let DistributionPointName::FullName(names) = dp else {
                        return Err(unsupported("issuingDistributionPoint relative name"));
                    };
                    let scope = uris(names);
                    if !scope.iter().any(|u| cert_dps.contains(u)) {
                        return Ok(false);
                    }
                }
            }
            other if ext.critical && other.unsupported() => {
                return Err(unsupported(&format!(
                    "critical extension {}",
                    ext.oid.to_id_string()
                )));
            }
            _ => {}
        }
    }
    Ok(true)
}

/// Hex serial for messages.
pub(crate) fn serial_of(der: &[u8]) -> String {
    X509Certificate::from_der(der)
        .map(|(_, c)| serial_hex(c.raw_serial()))
        .unwrap_or_default()
}

/// Asks several checkers in turn, the first that decides ([`RevocationStatus::Good`] or
/// [`RevocationStatus::Revoked`]) winning: "OCSP, then the CRL" is
/// `FirstDecisive::new(ocsp).then(crl)`. When every checker fails the errors are returned
/// together ([`RevocationError::NoSourceDecided`]), so the combination fails closed when its
/// members do. A soft-failing member decides [`RevocationStatus::Good`] and ends the search:
/// put soft-failing checkers last.
#[derive(Debug, Clone)]
pub struct FirstDecisive {
    checkers: Vec<std::sync::Arc<dyn RevocationChecker>>,
}

impl FirstDecisive {
    /// A combination asking `first` first.
    pub fn new(first: impl RevocationChecker + 'static) -> Self {
        FirstDecisive {
            checkers: vec![std::sync::Arc::new(first)],
        }
    }

    /// Asks `next` when the checkers before it did not decide.
    #[must_use]
    pub fn then(mut self, next: impl RevocationChecker + 'static) -> Self {
        self.checkers.push(std::sync::Arc::new(next));
        self
    }
}

#[async_trait]
impl RevocationChecker for FirstDecisive {
    async fn check(&self, query: RevocationQuery<'_>) -> Result<RevocationStatus, RevocationError> {
        let mut errors = Vec::new();
        for checker in &self.checkers {
            match checker.check(query).await {
                Ok(status) => return Ok(status),
                Err(e) => errors.push(e),
            }
        }
        Err(RevocationError::NoSourceDecided(errors))
    }
}
