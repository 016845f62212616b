//! The A2A client: REST over HTTPS with the ente's client certificate.

use std::io::{Cursor as IoCursor, Read, Write};
use std::sync::Arc;
use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;
use url::Url;

use crate::cert::{CertStatus, ClientIdentity, DEFAULT_WARN_DAYS};
use crate::error::{Error, TransportError};
use crate::types::CodiceA2a;

/// Largest XML accepted inside a downloaded zip.
pub const MAX_DOWNLOAD_XML: u64 = 256 * 1024 * 1024;

/// How to wait when SIOPE+ throttles (429) or is unavailable (503).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all (the Java peer makes up to 10).
    pub max_attempts: u32,
    /// Wait before the first retry (the Java peer waits 30 s).
    pub delay: Duration,
    /// Each further wait is multiplied by this (1 = constant).
    pub backoff: u32,
    /// Upper bound of one wait, also for a server's `Retry-After`.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 10,
            delay: Duration::from_secs(30),
            backoff: 1,
            max_delay: Duration::from_secs(300),
        }
    }
}

/// Configuration of the A2A client.
#[derive(Debug, Clone)]
pub struct A2aConfig {
    /// Base URL, e.g. `https://certa2a.siopeplus.it/v1` (test environment).
    pub base_url: Url,
    /// The ente's A2A code (`codice_tramite_ente`).
    pub codice_a2a: CodiceA2a,
    /// The ente's code in the paths (`.../PA/{codice_ente}`).
    pub codice_ente: String,
    /// The client certificate and key.
    pub identity: ClientIdentity,
    /// Trust roots for the server certificate (never "trust all").
    pub trust_roots: Vec<CertificateDer<'static>>,
    /// 429 / 503 handling.
    pub retry: RetryPolicy,
    /// Timeout of one request.
    pub timeout: Duration,
    /// Warn when the client certificate expires within this many days.
    pub warn_days: u32,
}

impl A2aConfig {
    /// A configuration with default retry policy, 120 s timeout and 90-day warning window.
    #[must_use]
    pub fn new(
        base_url: Url,
        codice_a2a: CodiceA2a,
        codice_ente: impl Into<String>,
        identity: ClientIdentity,
        trust_roots: Vec<CertificateDer<'static>>,
    ) -> Self {
        A2aConfig {
            base_url,
            codice_a2a,
            codice_ente: codice_ente.into(),
            identity,
            trust_roots,
            retry: RetryPolicy::default(),
            timeout: Duration::from_secs(120),
            warn_days: DEFAULT_WARN_DAYS,
        }
    }
}

/// Reads PEM trust roots.
///
/// # Errors
/// [`TransportError::Config`] when the PEM holds no certificate or is damaged.
pub fn trust_roots_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TransportError> {
    let v = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TransportError::Config(format!("trust roots: {e}")))?;
    if v.is_empty() {
        return Err(TransportError::Config(
            "trust roots: no certificate in PEM".into(),
        ));
    }
    Ok(v)
}

/// What is listed and downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ListKind {
    /// `flusso/ack/`: SIOPE+ ACKs.
    Ack,
    /// `flusso/esitoflusso/`: ricezione / rifiuto from the treasurer.
    EsitoFlusso,
    /// `esitoapplicativo/`: outcomes of orders.
    EsitoApplicativo,
    /// `giornale/`: cash book.
    Giornale,
}

impl ListKind {
    fn path(self) -> &'static str {
        match self {
            ListKind::Ack => "flusso/ack/",
            ListKind::EsitoFlusso => "flusso/esitoflusso/",
            ListKind::EsitoApplicativo => "esitoapplicativo/",
            ListKind::Giornale => "giornale/",
        }
    }
}

/// Filters of a list request. Dates are sent as `yyyy-MM-dd'T'HH:mm:ss.SSS`.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// `dataProduzioneDa`.
    pub data_produzione_da: Option<NaiveDateTime>,
    /// `dataProduzioneA`.
    pub data_produzione_a: Option<NaiveDateTime>,
    /// `dataUploadDa`.
    pub data_upload_da: Option<NaiveDateTime>,
    /// `dataUploadA`.
    pub data_upload_a: Option<NaiveDateTime>,
    /// `download`: only items already (true) or not yet (false) downloaded.
    pub download: Option<bool>,
    /// `pagina` (1-based).
    pub pagina: Option<u32>,
}

impl ListQuery {
    fn pairs(&self) -> Vec<(&'static str, String)> {
        let f = |d: &NaiveDateTime| d.format("%Y-%m-%dT%H:%M:%S%.3f").to_string();
        let mut v = Vec::new();
        for (k, d) in [
            ("dataProduzioneDa", &self.data_produzione_da),
            ("dataProduzioneA", &self.data_produzione_a),
            ("dataUploadDa", &self.data_upload_da),
            ("dataUploadA", &self.data_upload_a),
        ] {
            if let Some(d) = d {
                v.push((k, f(d)));
            }
        }
        if let Some(d) = self.download {
            v.push(("download", d.to_string()));
        }
        if let Some(p) = self.pagina {
            v.push(("pagina", p.to_string()));
        }
        v
    }
}

/// One page of a list answer.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListPage {
    /// `numRisultati`.
    #[serde(default)]
    pub num_risultati: u64,
    /// `numPagine`.
    #[serde(default)]
    pub num_pagine: u32,
    /// `risultatiPerPagina`.
    #[serde(default)]
    pub risultati_per_pagina: u32,
    /// `pagina`.
    #[serde(default)]
    pub pagina: u32,
    /// `risultati`.
    #[serde(default)]
    pub risultati: Vec<ListItem>,
}

/// One listed item.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListItem {
    /// `progFlusso`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prog_flusso: Option<i64>,
    /// `progEsitoApplicativo`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prog_esito_applicativo: Option<i64>,
    /// `progGiornale`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prog_giornale: Option<i64>,
    /// `dataProduzione`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_produzione: Option<String>,
    /// `dataUpload`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_upload: Option<String>,
    /// `download`: already downloaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download: Option<bool>,
    /// `location`: where to download it.
    pub location: String,
}

/// The answer to an upload (201).
#[derive(Debug, Clone, PartialEq)]
pub struct UploadReceipt {
    /// `progFlusso` when the answer carries it.
    pub prog_flusso: Option<i64>,
    /// `dataUpload` when the answer carries it.
    pub data_upload: Option<String>,
    /// The whole JSON answer.
    pub raw: serde_json::Value,
}

/// The A2A client.
#[derive(Debug, Clone)]
pub struct A2aClient {
    http: reqwest::Client,
    base: Url,
    retry: RetryPolicy,
}

impl A2aClient {
    /// Builds the client: mutual TLS with the ente's identity, server verified against the
    /// configured trust roots only. Logs a warning when the certificate is within the warning
    /// window, an error when it has expired.
    ///
    /// # Errors
    /// [`TransportError::Config`] for an unusable identity, trust roots or base URL.
    pub fn new(cfg: A2aConfig) -> Result<Self, TransportError> {
        if cfg.trust_roots.is_empty() {
            return Err(TransportError::Config("no trust roots configured".into()));
        }
        match cfg.identity.info() {
            Ok(info) => match info.status(Utc::now(), cfg.warn_days) {
                CertStatus::ExpiringSoon { days_left } => tracing::warn!(
                    subject = %info.subject,
                    not_after = %info.not_after,
                    days_left,
                    "the SIOPE+ client certificate expires soon: start the renewal now"
                ),
                CertStatus::Expired { days_ago } => tracing::error!(
                    subject = %info.subject,
                    not_after = %info.not_after,
                    days_ago,
                    "the SIOPE+ client certificate has expired: SIOPE+ will refuse every request"
                ),
                CertStatus::NotYetValid => {
                    tracing::warn!(subject = %info.subject, "the SIOPE+ client certificate is not valid yet")
                }
                CertStatus::Valid { .. } => {}
            },
            Err(e) => return Err(TransportError::Config(format!("client certificate: {e}"))),
        }
        let mut roots = rustls::RootCertStore::empty();
        for c in &cfg.trust_roots {
            roots
                .add(c.clone())
                .map_err(|e| TransportError::Config(format!("trust root: {e}")))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TransportError::Config(e.to_string()))?
            .with_root_certificates(roots)
            .with_client_auth_cert(
                cfg.identity.chain().to_vec(),
                cfg.identity.private_key().clone_key(),
            )
            .map_err(|e| TransportError::Config(format!("client identity: {e}")))?;
        let http = reqwest::Client::builder()
            .use_preconfigured_tls(tls)
            .timeout(cfg.timeout)
            .build()
            .map_err(|e| TransportError::Config(e.to_string()))?;
        let mut base = cfg.base_url.clone();
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        let base = base
            .join(&format!("{}/PA/{}/", cfg.codice_a2a, cfg.codice_ente))
            .map_err(|e| TransportError::Config(format!("base URL: {e}")))?;
        Ok(A2aClient {
            http,
            base,
            retry: cfg.retry,
        })
    }

    /// The base of the ente's paths (`{base}/{A2A}/PA/{ente}/`).
    #[must_use]
    pub fn ente_url(&self) -> &Url {
        &self.base
    }

    fn url(&self, rel: &str) -> Result<Url, TransportError> {
        self.base
            .join(rel)
            .map_err(|e| TransportError::Config(format!("URL {rel}: {e}")))
    }

    async fn send(
        &self,
        make: impl Fn() -> reqwest::RequestBuilder,
        url: &Url,
    ) -> Result<reqwest::Response, TransportError> {
        let mut wait = self.retry.delay;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let resp = make().send().await.map_err(|source| TransportError::Http {
                url: url.to_string(),
                source,
            })?;
            let status = resp.status().as_u16();
            if status != 429 && status != 503 {
                return Ok(resp);
            }
            if attempt >= self.retry.max_attempts {
                return Err(TransportError::RetriesExhausted {
                    url: url.to_string(),
                    status,
                    attempts: attempt,
                });
            }
            let retry_after = resp
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let d = retry_after.unwrap_or(wait).min(self.retry.max_delay);
            tracing::info!(%url, status, attempt, wait_ms = d.as_millis() as u64, "SIOPE+ busy, retrying");
            tokio::time::sleep(d).await;
            wait = wait
                .saturating_mul(self.retry.backoff.max(1))
                .min(self.retry.max_delay);
        }
    }

    async fn check(
        resp: reqwest::Response,
        url: &Url,
    ) -> Result<reqwest::Response, TransportError> {
        if resp.status().is_success() {
            return Ok(resp);
        }
        let status = resp.status().as_u16();
        let body = resp.text().await.unwrap_or_default();
        Err(TransportError::Status {
            url: url.to_string(),
            status,
            body: body.chars().take(500).collect(),
        })
    }

    /// Uploads a flow: the XML goes in a zip with one entry named after the flow.
    /// 429 and 503 are retried (the request was not processed); any other failure is
    /// returned, and the outcome of the upload is then unknown (see [`crate::Outbox`]).
    ///
    /// # Errors
    /// [`TransportError`] of every kind.
    pub async fn upload_flow(
        &self,
        identificativo_flusso: &str,
        xml: &[u8],
    ) -> Result<UploadReceipt, Error> {
        let zip = zip_one(&format!("{identificativo_flusso}.xml"), xml)?;
        let url = self.url("flusso/")?;
        let resp = self
            .send(
                || {
                    self.http
                        .post(url.clone())
                        .header(reqwest::header::CONTENT_TYPE, "application/zip")
                        .body(zip.clone())
                },
                &url,
            )
            .await?;
        let resp = Self::check(resp, &url).await?;
        let text = resp.text().await.map_err(|source| TransportError::Http {
            url: url.to_string(),
            source,
        })?;
        let raw: serde_json::Value = if text.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&text).map_err(|e| TransportError::BadAnswer {
                url: url.to_string(),
                detail: format!("JSON: {e}"),
            })?
        };
        Ok(UploadReceipt {
            prog_flusso: raw.get("progFlusso").and_then(serde_json::Value::as_i64),
            data_upload: raw
                .get("dataUpload")
                .and_then(|v| v.as_str())
                .map(str::to_owned),
            raw,
        })
    }

    /// One page of a list.
    ///
    /// # Errors
    /// [`TransportError`] of every kind.
    pub async fn list(&self, kind: ListKind, query: &ListQuery) -> Result<ListPage, Error> {
        let mut url = self.url(kind.path())?;
        {
            let pairs = query.pairs();
            if !pairs.is_empty() {
                let mut q = url.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, &v);
                }
            }
        }
        let resp = self
            .send(
                || {
                    self.http
                        .get(url.clone())
                        .header(reqwest::header::ACCEPT, "application/json")
                },
                &url,
            )
            .await?;
        let resp = Self::check(resp, &url).await?;
        let bytes = resp.bytes().await.map_err(|source| TransportError::Http {
            url: url.to_string(),
            source,
        })?;
        Ok(
            serde_json::from_slice(&bytes).map_err(|e| TransportError::BadAnswer {
                url: url.to_string(),
                detail: format!("JSON: {e}"),
            })?,
        )
    }

    /// Every item of a list, following the pages.
    ///
    /// # Errors
    /// [`TransportError`] of every kind.
    pub async fn list_all(
        &self,
        kind: ListKind,
        query: &ListQuery,
    ) -> Result<Vec<ListItem>, Error> {
        let mut q = query.clone();
        let mut page = q.pagina.unwrap_or(1);
        let mut out = Vec::new();
        loop {
            q.pagina = Some(page);
            let p = self.list(kind, &q).await?;
            let empty = p.risultati.is_empty();
            out.extend(p.risultati);
            if empty || page >= p.num_pagine {
                return Ok(out);
            }
            page += 1;
        }
    }

    /// Downloads a listed item: `GET location` (absolute, or relative to the ente's base) with
    /// `Accept: application/zip`; returns the one XML inside.
    ///
    /// # Errors
    /// [`TransportError`] of every kind; [`TransportError::BadAnswer`] when the zip does not hold
    /// exactly one file or it is too large.
    pub async fn download(&self, location: &str) -> Result<Vec<u8>, Error> {
        let url = match Url::parse(location) {
            Ok(u) => u,
            Err(_) => self.url(location.trim_start_matches('/'))?,
        };
        if url.origin() != self.base.origin() {
            return Err(TransportError::BadAnswer {
                url: url.to_string(),
                detail: "location points outside the SIOPE+ host".into(),
            }
            .into());
        }
        let resp = self
            .send(
                || {
                    self.http
                        .get(url.clone())
                        .header(reqwest::header::ACCEPT, "application/zip")
                },
                &url,
            )
            .await?;
        let resp = Self::check(resp, &url).await?;
        let bytes = resp.bytes().await.map_err(|source| TransportError::Http {
            url: url.to_string(),
            source,
        })?;
        Ok(
            unzip_one(&bytes).map_err(|detail| TransportError::BadAnswer {
                url: url.to_string(),
                detail,
            })?,
        )
    }
}

/// A zip holding one file.
///
/// # Errors
/// [`Error::Io`] when the archive cannot be built.
pub fn zip_one(name: &str, data: &[u8]) -> Result<Vec<u8>, Error> {
    let mut w = zip::ZipWriter::new(IoCursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file(name, opts)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    w.write_all(data)?;
    let c = w
        .finish()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    Ok(c.into_inner())
}

/// The one file inside a zip, bounded in size.
///
/// # Errors
/// A description when the archive is damaged, holds other than one file, or is too large.
pub fn unzip_one(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut z = zip::ZipArchive::new(IoCursor::new(bytes)).map_err(|e| format!("zip: {e}"))?;
    if z.len() != 1 {
        return Err(format!("zip holds {} files, expected 1", z.len()));
    }
    let f = z.by_index(0).map_err(|e| format!("zip: {e}"))?;
    let mut out = Vec::new();
    f.take(MAX_DOWNLOAD_XML + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("zip: {e}"))?;
    if out.len() as u64 > MAX_DOWNLOAD_XML {
        return Err(format!("zipped file larger than {MAX_DOWNLOAD_XML} bytes"));
    }
    Ok(out)
}
