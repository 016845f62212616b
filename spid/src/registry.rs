//! The SPID Identity Providers: the official list (entity IDs and display names as published
//! by AgID in the SPID registry) and a registry that loads and refreshes IdP metadata from a
//! configured source.
//!
//! The source is any [`MetadataFetcher`]: a file ([`FileFetcher`]), an HTTP URL
//! ([`HttpFetcher`], feature `http`) or your own. When a signing certificate for the registry
//! is configured, the document must carry a valid enveloped signature by it on its root and
//! only the signed element is read. `validUntil` of the document ends the copy's life;
//! `cacheDuration` (or the configured default) says when to fetch again. A failed refresh
//! (transport, bad signature, expired, malformed) keeps the last good copy while it is valid.

use std::path::PathBuf;
use std::sync::RwLock;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use xmldsig::Document;

use crate::error::MetadataError;
use crate::idp::IdpMetadata;
use crate::xml::parse_instant;

/// The aggregated, signed metadata of every SPID IdP published by AgID.
pub const SPID_REGISTRY_METADATA_URL: &str =
    "https://registry.spid.gov.it/metadata/idp/spid-entities-idps.xml";

/// An IdP of the SPID federation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownIdp {
    /// The SAML entityID.
    pub entity_id: &'static str,
    /// The name shown to citizens.
    pub display_name: &'static str,
    /// The short identifier of the official access button (`data-idp`, logo file names).
    pub button_id: &'static str,
}

/// The SPID IdPs in production, in the alphabetical order of the official access button.
pub const SPID_IDPS: &[KnownIdp] = &[
    KnownIdp {
        entity_id: "https://loginspid.aruba.it",
        display_name: "Aruba ID",
        button_id: "arubaid",
    },
    KnownIdp {
        entity_id: "https://id.eht.eu",
        display_name: "Etna ID",
        button_id: "ehtid",
    },
    KnownIdp {
        entity_id: "https://loginspid.infocamere.it",
        display_name: "ID InfoCamere",
        button_id: "infocamereid",
    },
    KnownIdp {
        entity_id: "https://identity.infocert.it",
        display_name: "InfoCert ID",
        button_id: "infocertid",
    },
    KnownIdp {
        entity_id: "https://idp.intesigroup.com",
        display_name: "Intesi Group SPID",
        button_id: "intesiid",
    },
    KnownIdp {
        entity_id: "https://id.lepida.it/idp/shibboleth",
        display_name: "Lepida ID",
        button_id: "lepidaid",
    },
    KnownIdp {
        entity_id: "https://idp.namirialtsp.com/idp",
        display_name: "Namirial ID",
        button_id: "namirialid",
    },
    KnownIdp {
        entity_id: "https://posteid.poste.it",
        display_name: "Poste ID",
        button_id: "posteid",
    },
    KnownIdp {
        entity_id: "https://identity.sieltecloud.it",
        display_name: "Sielte ID",
        button_id: "sielteid",
    },
    KnownIdp {
        entity_id: "https://spid.register.it",
        display_name: "SpidItalia Register.it",
        button_id: "spiditalia",
    },
    KnownIdp {
        entity_id: "https://spid.teamsystem.com/idp",
        display_name: "TeamSystem ID",
        button_id: "teamsystemid",
    },
    KnownIdp {
        entity_id: "https://login.id.tim.it/affwebservices/public/saml2sso",
        display_name: "TIM ID",
        button_id: "timid",
    },
];

/// The official IdP with this entityID.
pub fn known_idp(entity_id: &str) -> Option<&'static KnownIdp> {
    SPID_IDPS.iter().find(|i| i.entity_id == entity_id)
}

/// Fetching the metadata document failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("fetching IdP metadata from {source_name}: {detail}")]
pub struct FetchError {
    /// The source (path or URL).
    pub source_name: String,
    /// What went wrong.
    pub detail: String,
}

/// A refresh of the registry failed; the last good copy (if any) stays in use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The document could not be fetched.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The document was fetched but refused (signature, expiry, content).
    #[error("IdP metadata refused: {0}")]
    Metadata(#[from] MetadataError),
}

/// Where the registry gets its metadata document from.
#[async_trait]
pub trait MetadataFetcher: Send + Sync {
    /// The raw document.
    ///
    /// # Errors
    /// [`FetchError`] when the source cannot be read.
    async fn fetch(&self) -> Result<Vec<u8>, FetchError>;
}

/// Reads the metadata from a file.
#[derive(Debug, Clone)]
pub struct FileFetcher {
    path: PathBuf,
}

impl FileFetcher {
    /// A fetcher reading `path` at each refresh.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileFetcher { path: path.into() }
    }
}

#[async_trait]
impl MetadataFetcher for FileFetcher {
    async fn fetch(&self) -> Result<Vec<u8>, FetchError> {
        std::fs::read(&self.path).map_err(|e| FetchError {
            source_name: self.path.display().to_string(),
            detail: e.to_string(),
        })
    }
}

/// Downloads the metadata over HTTP(S) (feature `http`).
#[cfg(feature = "http")]
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    client: reqwest::Client,
    url: String,
}

#[cfg(feature = "http")]
impl HttpFetcher {
    /// A fetcher for `url` (e.g. [`SPID_REGISTRY_METADATA_URL`]) with a 30 s timeout.
    ///
    /// # Errors
    /// [`FetchError`] if the HTTP client cannot be built.
    pub fn new(url: impl Into<String>) -> Result<Self, FetchError> {
        let url = url.into();
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| FetchError {
                source_name: url.clone(),
                detail: e.to_string(),
            })?;
        Ok(HttpFetcher { client, url })
    }
}

/// Largest metadata document accepted (the SPID aggregate is well under 1 MB).
#[cfg(feature = "http")]
const MAX_DOCUMENT: usize = 16 * 1024 * 1024;

#[cfg(feature = "http")]
#[async_trait]
impl MetadataFetcher for HttpFetcher {
    async fn fetch(&self) -> Result<Vec<u8>, FetchError> {
        let err = |detail: String| FetchError {
            source_name: self.url.clone(),
            detail,
        };
        let resp = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(|e| err(e.to_string()))?;
        if !resp.status().is_success() {
            return Err(err(format!("HTTP status {}", resp.status())));
        }
        let body = resp.bytes().await.map_err(|e| err(e.to_string()))?;
        if body.len() > MAX_DOCUMENT {
            return Err(err(format!(
                "document of {} bytes is too large",
                body.len()
            )));
        }
        Ok(body.to_vec())
    }
}

/// One accepted copy of the metadata.
#[derive(Debug, Clone)]
struct Snapshot {
    idps: Vec<IdpMetadata>,
    fetched_at: DateTime<Utc>,
    valid_until: Option<DateTime<Utc>>,
    cache_duration: Option<Duration>,
}

/// The IdP metadata of the federation, refreshed from a [`MetadataFetcher`].
pub struct IdpRegistry {
    fetcher: Box<dyn MetadataFetcher>,
    signer_der: Option<Vec<u8>>,
    default_refresh: Duration,
    current: RwLock<Option<Snapshot>>,
}

impl std::fmt::Debug for IdpRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdpRegistry")
            .field("signed", &self.signer_der.is_some())
            .field("default_refresh", &self.default_refresh)
            .finish_non_exhaustive()
    }
}

/// Parses an `xs:duration` such as `PT48H` or `P1DT12H` (years count 365 days, months 30).
fn parse_duration(s: &str) -> Option<Duration> {
    let rest = s.strip_prefix('P')?;
    let (date, time) = match rest.split_once('T') {
        Some((d, t)) if !t.is_empty() => (d, Some(t)),
        Some(_) => return None,
        None => (rest, None),
    };
    let mut total = Duration::zero();
    let mut any = false;
    let mut scan = |part: &str, units: &[(char, i64)]| -> Option<()> {
        let mut num = String::new();
        let mut idx = 0;
        for c in part.chars() {
            if c.is_ascii_digit() || c == '.' {
                num.push(c);
                continue;
            }
            let pos = units[idx..].iter().position(|(u, _)| *u == c)?;
            idx += pos + 1;
            let v: f64 = num.parse().ok()?;
            total += Duration::milliseconds((v * units[idx - 1].1 as f64 * 1000.0) as i64);
            num.clear();
            any = true;
        }
        num.is_empty().then_some(())
    };
    scan(
        date,
        &[('Y', 365 * 86_400), ('M', 30 * 86_400), ('D', 86_400)],
    )?;
    if let Some(t) = time {
        scan(t, &[('H', 3600), ('M', 60), ('S', 1)])?;
    }
    any.then_some(total)
}

impl IdpRegistry {
    /// A registry reading from `fetcher`, refreshing every 24 hours unless the document's
    /// `cacheDuration` says otherwise. Nothing is loaded until [`refresh`](Self::refresh).
    pub fn new(fetcher: impl MetadataFetcher + 'static) -> Self {
        IdpRegistry {
            fetcher: Box::new(fetcher),
            signer_der: None,
            default_refresh: Duration::hours(24),
            current: RwLock::new(None),
        }
    }

    /// Requires every document to be signed on its root by this certificate (DER).
    #[must_use]
    pub fn with_signing_certificate(mut self, der: impl Into<Vec<u8>>) -> Self {
        self.signer_der = Some(der.into());
        self
    }

    /// Refresh interval used when the document has no `cacheDuration`.
    #[must_use]
    pub fn with_default_refresh(mut self, every: Duration) -> Self {
        self.default_refresh = every;
        self
    }

    /// Fetches, verifies and parses the document; on success it replaces the current copy.
    /// On failure the last good copy stays and the error says why.
    ///
    /// # Errors
    /// [`RegistryError`] when the fetch fails or the document is refused.
    pub async fn refresh(&self) -> Result<usize, RegistryError> {
        self.refresh_at(Utc::now()).await
    }

    /// [`refresh`](Self::refresh) at a given time.
    ///
    /// # Errors
    /// As [`refresh`](Self::refresh).
    #[tracing::instrument(name = "spid.registry.refresh", skip_all)]
    pub async fn refresh_at(&self, now: DateTime<Utc>) -> Result<usize, RegistryError> {
        let result = match self.fetcher.fetch().await {
            Ok(bytes) => self.accept(&bytes, now).map_err(RegistryError::from),
            Err(e) => Err(e.into()),
        };
        let snapshot = match result {
            Ok(s) => s,
            Err(e) => {
                let kept = self.current.read().map(|c| c.is_some()).unwrap_or(false);
                tracing::warn!(error = %e, last_good_copy_kept = kept, "IdP metadata refresh failed");
                return Err(e);
            }
        };
        let n = snapshot.idps.len();
        tracing::info!(idps = n, valid_until = ?snapshot.valid_until, "IdP metadata refreshed");
        if let Ok(mut cur) = self.current.write() {
            *cur = Some(snapshot);
        }
        Ok(n)
    }

    fn accept(&self, bytes: &[u8], now: DateTime<Utc>) -> Result<Snapshot, MetadataError> {
        let doc = Document::parse(bytes)?;
        let (root_valid, cache) = match &self.signer_der {
            Some(der) => {
                let cert = xmldsig::Certificate::from_der(der)
                    .map_err(|e| MetadataError::Signature(format!("signer certificate: {e}")))?;
                let trusted = [xmldsig::TrustedKey::from_certificate(cert)];
                let verified = xmldsig::verify_element(
                    doc.root(),
                    &trusted,
                    &xmldsig::VerifyOptions::default(),
                )
                .map_err(|e| MetadataError::Signature(e.to_string()))?;
                let root = verified.element();
                (
                    root.attr("validUntil").map(str::to_owned),
                    root.attr("cacheDuration").map(str::to_owned),
                )
            }
            None => {
                let root = doc.root();
                (
                    root.attr("validUntil").map(str::to_owned),
                    root.attr("cacheDuration").map(str::to_owned),
                )
            }
        };
        let valid_until = match root_valid {
            None => None,
            Some(v) => Some(parse_instant(&v).ok_or(MetadataError::ValidUntil(v))?),
        };
        if let Some(u) = valid_until.filter(|u| *u <= now) {
            return Err(MetadataError::Expired {
                entity_id: "(metadata document)".into(),
                valid_until: u.to_rfc3339(),
            });
        }
        let cache_duration = match cache {
            None => None,
            Some(c) => Some(parse_duration(&c).ok_or(MetadataError::Missing(
                "a valid xs:duration in cacheDuration",
            ))?),
        };
        let idps = match &self.signer_der {
            Some(der) => IdpMetadata::parse_all_verified(bytes, der)?,
            None => IdpMetadata::parse_all(bytes)?,
        };
        Ok(Snapshot {
            idps,
            fetched_at: now,
            valid_until,
            cache_duration,
        })
    }

    /// The IdPs of the current copy, or none when there is no copy or it expired at `now`
    /// (an IdP whose own `validUntil` passed is left out too).
    pub fn idps_at(&self, now: DateTime<Utc>) -> Vec<IdpMetadata> {
        let Ok(cur) = self.current.read() else {
            return Vec::new();
        };
        match cur.as_ref() {
            Some(s) if s.valid_until.is_none_or(|u| u > now) => s
                .idps
                .iter()
                .filter(|i| i.valid_until.is_none_or(|u| u > now))
                .cloned()
                .collect(),
            _ => Vec::new(),
        }
    }

    /// [`idps_at`](Self::idps_at) now.
    pub fn idps(&self) -> Vec<IdpMetadata> {
        self.idps_at(Utc::now())
    }

    /// One IdP of the current copy.
    pub fn get(&self, entity_id: &str) -> Option<IdpMetadata> {
        self.idps().into_iter().find(|i| i.entity_id == entity_id)
    }

    /// When the next refresh is due: after `cacheDuration` (or the default interval) from the
    /// last good fetch, and no later than `validUntil`; `None` when nothing is loaded yet
    /// (refresh now).
    pub fn next_refresh(&self) -> Option<DateTime<Utc>> {
        let cur = self.current.read().ok()?;
        let s = cur.as_ref()?;
        let due = s.fetched_at + s.cache_duration.unwrap_or(self.default_refresh);
        Some(s.valid_until.map_or(due, |u| due.min(u)))
    }

    /// Whether a refresh is due at `now`.
    pub fn needs_refresh_at(&self, now: DateTime<Utc>) -> bool {
        self.next_refresh().is_none_or(|t| t <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("PT48H"), Some(Duration::hours(48)));
        assert_eq!(
            parse_duration("P1DT30M"),
            Some(Duration::days(1) + Duration::minutes(30))
        );
        assert_eq!(parse_duration("PT0.5S"), Some(Duration::milliseconds(500)));
        assert_eq!(parse_duration("P"), None);
        assert_eq!(parse_duration("PT"), None);
        assert_eq!(parse_duration("48H"), None);
        assert_eq!(parse_duration("PT5X"), None);
        assert_eq!(parse_duration("PT5"), None);
    }

    #[test]
    fn official_list_is_consistent() {
        let mut ids: Vec<_> = SPID_IDPS.iter().map(|i| i.entity_id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), SPID_IDPS.len());
        assert!(
            SPID_IDPS
                .iter()
                .all(|i| i.entity_id.starts_with("https://"))
        );
        assert_eq!(
            known_idp("https://posteid.poste.it").map(|i| i.display_name),
            Some("Poste ID")
        );
    }
}
