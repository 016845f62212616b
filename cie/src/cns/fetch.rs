//! Revocation from CRLs downloaded from the certificate's distribution points (feature
//! `crl-fetch`).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

use super::cert::{name_to_string, pem_blocks, to_utc};
use super::error::RevocationError;
use super::revocation::{
    RevocationChecker, RevocationQuery, RevocationStatus, check_with_crls, crl_distribution_uris,
};

/// Downloads the CRL named in the card certificate's `cRLDistributionPoints` (http / https),
/// keeps it until its `nextUpdate`, and checks it exactly like [`CrlChecker`](super::CrlChecker)
/// (signature by the card's issuer, validity window, serial lookup).
///
/// The distribution point is read from the card certificate only after its chain has been
/// verified, so the URL is one the issuing CA signed. Failing downloads, non-2xx answers, bodies
/// over the size limit and CRLs that do not verify give [`RevocationError::Unavailable`] (fail
/// closed) unless a cached CRL is still current.
#[derive(Debug)]
pub struct CrlFetcher {
    client: reqwest::Client,
    cache: tokio::sync::Mutex<BTreeMap<String, Vec<u8>>>,
    max_bytes: usize,
    allow_stale: bool,
}

impl CrlFetcher {
    /// A fetcher with its own HTTP client (rustls, 10 s timeout, at most 3 redirects) and a 20 MiB
    /// limit per CRL.
    ///
    /// # Errors
    /// [`RevocationError::Unavailable`] when the HTTP client cannot be built.
    pub fn new() -> Result<Self, RevocationError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .map_err(|e| RevocationError::Unavailable {
                reason: format!("building the HTTP client: {e}"),
            })?;
        Ok(Self::with_client(client))
    }

    /// A fetcher using `client`.
    pub fn with_client(client: reqwest::Client) -> Self {
        CrlFetcher {
            client,
            cache: tokio::sync::Mutex::new(BTreeMap::new()),
            max_bytes: 20 * 1024 * 1024,
            allow_stale: false,
        }
    }

    /// Refuses CRLs larger than `bytes`.
    #[must_use]
    pub fn with_max_crl_size(mut self, bytes: usize) -> Self {
        self.max_bytes = bytes;
        self
    }

    /// Uses a cached CRL past its `nextUpdate` when a fresh one cannot be downloaded.
    #[must_use]
    pub fn allow_stale_crls(mut self) -> Self {
        self.allow_stale = true;
        self
    }

    async fn download(&self, url: &str) -> Result<Vec<u8>, String> {
        let mut resp = self
            .client
            .get(url)
            .send()
            .await
            .map_err(|e| format!("GET {url}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("GET {url}: HTTP {}", resp.status()));
        }
        if resp
            .content_length()
            .is_some_and(|l| l > self.max_bytes as u64)
        {
            return Err(format!(
                "GET {url}: CRL larger than {} bytes",
                self.max_bytes
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| format!("GET {url}: {e}"))? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(format!(
                    "GET {url}: CRL larger than {} bytes",
                    self.max_bytes
                ));
            }
            body.extend_from_slice(&chunk);
        }
        if !body.starts_with(&[0x30]) {
            let mut blocks = pem_blocks(&body, &["X509 CRL"])
                .map_err(|e| format!("GET {url}: neither DER nor PEM CRL: {e}"))?;
            body = blocks.swap_remove(0);
        }
        CertificateRevocationList::from_der(&body)
            .map_err(|e| format!("GET {url}: not a CRL: {e}"))?;
        Ok(body)
    }
}

fn is_current(der: &[u8], now: chrono::DateTime<chrono::Utc>) -> bool {
    CertificateRevocationList::from_der(der)
        .ok()
        .and_then(|(_, crl)| crl.next_update())
        .is_some_and(|next| to_utc(next) >= now)
}

#[async_trait]
impl RevocationChecker for CrlFetcher {
    async fn check(&self, query: RevocationQuery<'_>) -> Result<RevocationStatus, RevocationError> {
        let (_, cert) = X509Certificate::from_der(query.certificate_der).map_err(|e| {
            RevocationError::MalformedCrl {
                index: 0,
                reason: format!("certificate in query: {e}"),
            }
        })?;
        let urls: Vec<String> = crl_distribution_uris(&cert)
            .into_iter()
            .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
            .collect();
        if urls.is_empty() {
            return Err(RevocationError::Unavailable {
                reason: format!(
                    "certificate issued by `{}` names no http(s) CRL distribution point",
                    name_to_string(cert.issuer())
                ),
            });
        }
        let mut last_error = String::new();
        for url in urls {
            let cached = self.cache.lock().await.get(&url).cloned();
            let crl = match cached {
                Some(der) if is_current(&der, query.now) => der,
                cached => match self.download(&url).await {
                    Ok(der) => {
                        self.cache.lock().await.insert(url.clone(), der.clone());
                        der
                    }
                    Err(e) => match cached {
                        Some(der) if self.allow_stale => der,
                        _ => {
                            last_error = e;
                            continue;
                        }
                    },
                },
            };
            match check_with_crls(std::slice::from_ref(&crl), query, self.allow_stale) {
                Ok(status) => return Ok(status),
                Err(e) => last_error = format!("{url}: {e}"),
            }
        }
        Err(RevocationError::Unavailable { reason: last_error })
    }
}
