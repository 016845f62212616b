//! Revocation by OCSP (feature `ocsp`), on the `protocollo` crate's OCSP client.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use protocollo::{
    HttpFetcher, OcspError, OcspHash, OcspStatus, RevocationFetcher, RevocationOptions,
};

use super::error::RevocationError;
use super::revocation::{
    RevocationChecker, RevocationQuery, RevocationReason, RevocationStatus, serial_of,
};

/// Asks the OCSP responder (RFC 6960) named in the card certificate's authority information
/// access, or a configured one, about every card certificate.
///
/// The request carries a nonce (RFC 8954) that the response must echo; the response must be
/// signed by the card's issuing CA or by a responder certificate that CA issued with
/// `id-kp-OCSPSigning`, valid now; its `thisUpdate` / `nextUpdate` must cover now (5 minutes'
/// skew; without `nextUpdate`, at most a day old). `good` is [`RevocationStatus::Good`],
/// `revoked` is [`RevocationStatus::Revoked`] with the stated reason.
///
/// Fails closed by default: `unknown` is [`RevocationError::OcspUnknown`], an unreachable or
/// missing responder [`RevocationError::Unavailable`], an answer that does not verify
/// [`RevocationError::OcspInvalid`]. [`soft_fail`](Self::soft_fail) accepts the first two
/// (never an answer that does not verify). To fall back on CRLs, combine a fail-closed
/// checker with a CRL checker in [`FirstDecisive`](super::FirstDecisive).
///
/// The responder is asked over plain `http://` (what it answers is signed), on a blocking
/// thread (`tokio::task::spawn_blocking`), so checks must run inside a tokio runtime.
#[derive(Debug, Clone)]
pub struct OcspChecker {
    options: RevocationOptions,
    soft_fail: bool,
}

impl Default for OcspChecker {
    fn default() -> Self {
        Self::new()
    }
}

impl OcspChecker {
    /// A fail-closed checker asking the certificates' own responders, SHA-1 `CertID` (what
    /// RFC 5019 responders expect), 10 s per request, answers up to 16 MiB.
    pub fn new() -> Self {
        let options = RevocationOptions {
            ocsp: true,
            use_embedded: false,
            ..RevocationOptions::default()
        };
        OcspChecker {
            options,
            soft_fail: false,
        }
    }

    /// Asks this responder (`http://` URL) instead of the certificates' authority information
    /// access.
    #[must_use]
    pub fn with_responder_url(mut self, url: impl Into<String>) -> Self {
        self.options.ocsp_url = Some(url.into());
        self
    }

    /// Deadline for each request (connect, send, read the answer).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.options.fetcher = Arc::new(HttpFetcher {
            timeout,
            ..HttpFetcher::default()
        });
        self
    }

    /// Another transport for the requests (a proxy, a cache, a test double).
    #[must_use]
    pub fn with_fetcher(mut self, fetcher: Arc<dyn RevocationFetcher>) -> Self {
        self.options.fetcher = fetcher;
        self
    }

    /// SHA-256 instead of SHA-1 for the request's `CertID`.
    #[must_use]
    pub fn with_sha256_cert_id(mut self) -> Self {
        self.options.ocsp_hash = OcspHash::Sha256;
        self
    }

    /// Clock skew tolerated on the response's `thisUpdate` / `nextUpdate` (default 5 minutes).
    #[must_use]
    pub fn with_skew(mut self, skew: chrono::Duration) -> Self {
        self.options.skew = skew;
        self
    }

    /// Accepts a certificate ([`RevocationStatus::Good`]) when the responder cannot be reached,
    /// none is named, or it answers `unknown`. A stolen card then stays usable while its
    /// responder is unreachable; an answer that does not verify is still refused.
    #[must_use]
    pub fn soft_fail(mut self) -> Self {
        self.soft_fail = true;
        self
    }
}

#[async_trait]
impl RevocationChecker for OcspChecker {
    async fn check(&self, query: RevocationQuery<'_>) -> Result<RevocationStatus, RevocationError> {
        let cert = query.certificate_der.to_vec();
        let issuer = query.issuer_der.to_vec();
        let options = self.options.clone();
        let now = query.now;
        let answer = tokio::task::spawn_blocking(move || {
            protocollo::ocsp_status(&cert, &issuer, &options, now)
        })
        .await
        .map_err(|e| RevocationError::Unavailable {
            reason: format!("OCSP request task: {e}"),
        })?;
        let outcome = match answer {
            Ok(OcspStatus::Good) => Ok(RevocationStatus::Good),
            Ok(OcspStatus::Revoked { time, reason }) => Ok(RevocationStatus::Revoked {
                revoked_at: time,
                reason: reason.map(reason_of),
            }),
            Ok(OcspStatus::Unknown) => Err(RevocationError::OcspUnknown {
                serial: serial_of(query.certificate_der),
            }),
            Ok(_) => Err(RevocationError::OcspInvalid {
                url: self.options.ocsp_url.clone().unwrap_or_default(),
                reason: "an OCSP status this checker does not know".into(),
            }),
            Err(OcspError::Invalid { url, reason }) => {
                return Err(RevocationError::OcspInvalid { url, reason });
            }
            Err(OcspError::Certificate(reason)) => {
                return Err(RevocationError::OcspInvalid {
                    url: self.options.ocsp_url.clone().unwrap_or_default(),
                    reason,
                });
            }
            Err(e) => Err(RevocationError::Unavailable {
                reason: e.to_string(),
            }),
        };
        match outcome {
            Err(RevocationError::OcspUnknown { .. } | RevocationError::Unavailable { .. })
                if self.soft_fail =>
            {
                Ok(RevocationStatus::Good)
            }
            other => other,
        }
    }
}

fn reason_of(r: protocollo::CrlReason) -> RevocationReason {
    use protocollo::CrlReason as C;
    match r {
        C::Unspecified => RevocationReason::Unspecified,
        C::KeyCompromise => RevocationReason::KeyCompromise,
        C::CaCompromise => RevocationReason::CaCompromise,
        C::AffiliationChanged => RevocationReason::AffiliationChanged,
        C::Superseded => RevocationReason::Superseded,
        C::CessationOfOperation => RevocationReason::CessationOfOperation,
        C::CertificateHold => RevocationReason::CertificateHold,
        C::RemoveFromCrl => RevocationReason::RemoveFromCrl,
        C::PrivilegeWithdrawn => RevocationReason::PrivilegeWithdrawn,
        C::AaCompromise => RevocationReason::AaCompromise,
        C::Other(c) => RevocationReason::Other(c),
        _ => RevocationReason::Unspecified,
    }
}
