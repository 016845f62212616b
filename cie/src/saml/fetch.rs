//! Downloading the CieID IdP metadata (feature `idp-fetch`): a thin HTTP layer over
//! [`CieIdpEnvironment::parse_metadata`] / [`CieIdpEnvironment::parse_metadata_verified`].

use std::time::Duration;

use spid::IdpMetadata;

use super::error::CieError;
use super::idp::CieIdpEnvironment;

/// Largest metadata document accepted (the CieID one is a few KB).
const MAX_METADATA_BYTES: usize = 1024 * 1024;

/// Downloads and checks one CieID environment's metadata.
///
/// The URL defaults to the published one
/// ([`CieIdpEnvironment::metadata_url`]); [`with_url`](CieMetadataFetcher::with_url) points it
/// elsewhere (a mirror, or a test server).
#[derive(Debug, Clone)]
pub struct CieMetadataFetcher {
    env: CieIdpEnvironment,
    url: String,
    client: reqwest::Client,
    signer_der: Option<Vec<u8>>,
}

impl CieMetadataFetcher {
    /// A fetcher for `env` with a 10-second timeout and no redirects.
    ///
    /// # Errors
    /// [`CieError::IdpMetadata`] if the HTTP client cannot be built.
    pub fn new(env: CieIdpEnvironment) -> Result<Self, CieError> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| CieError::IdpMetadata(format!("HTTP client: {e}")))?;
        Ok(CieMetadataFetcher {
            env,
            url: env.metadata_url(),
            client,
            signer_der: None,
        })
    }

    /// Downloads from `url` instead of the published address.
    #[must_use]
    pub fn with_url(mut self, url: impl Into<String>) -> Self {
        self.url = url.into();
        self
    }

    /// Requires the document to be signed by this certificate (DER).
    #[must_use]
    pub fn with_signer(mut self, signer_der: Vec<u8>) -> Self {
        self.signer_der = Some(signer_der);
        self
    }

    /// Downloads the metadata and reads this environment's IdP from it.
    ///
    /// # Errors
    /// [`CieError::IdpMetadata`] for a transport failure, a non-200 answer or an oversized
    /// document; otherwise as [`CieIdpEnvironment::parse_metadata`].
    pub async fn fetch(&self) -> Result<IdpMetadata, CieError> {
        let err = |what: String| CieError::IdpMetadata(format!("{}: {what}", self.url));
        let resp = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(|e| err(e.to_string()))?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(err(format!("HTTP {}", resp.status())));
        }
        if resp
            .content_length()
            .is_some_and(|n| n > MAX_METADATA_BYTES as u64)
        {
            return Err(err("document too large".into()));
        }
        let body = resp.bytes().await.map_err(|e| err(e.to_string()))?;
        if body.len() > MAX_METADATA_BYTES {
            return Err(err("document too large".into()));
        }
        match &self.signer_der {
            Some(signer) => self.env.parse_metadata_verified(&body, signer),
            None => self.env.parse_metadata(&body),
        }
    }
}
