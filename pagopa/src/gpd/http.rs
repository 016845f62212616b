//! Pieces shared by the REST clients: the subscription key, retries, platform errors.
#![cfg_attr(not(feature = "client"), allow(dead_code))]

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

/// An `Ocp-Apim-Subscription-Key`. Prints as `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct SubscriptionKey(String);

impl SubscriptionKey {
    /// Wraps a key.
    #[must_use]
    pub fn new(key: impl Into<String>) -> SubscriptionKey {
        SubscriptionKey(key.into())
    }

    /// The secret value, for the request header.
    #[must_use]
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SubscriptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubscriptionKey([redacted])")
    }
}

/// Retries with exponential backoff, used only for idempotent calls (reads, `PUT`, `DELETE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = never retry).
    pub max_retries: u32,
    /// First wait; doubled at every retry.
    pub initial_backoff: Duration,
    /// Longest wait (also caps `Retry-After`).
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Never retry.
    #[must_use]
    pub fn none() -> RetryPolicy {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    pub(crate) fn backoff(&self, attempt: u32, retry_after: Option<Duration>) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(attempt));
        retry_after.unwrap_or(exp).min(self.max_backoff)
    }
}

/// The platform's own description of an error (GPD `ProblemJson`, FdR `ErrorResponse`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problem {
    /// Short title (`title` / `httpStatusDescription`).
    pub title: Option<String>,
    /// Details (`detail`, or the FdR `errors[].message` joined).
    pub detail: Option<String>,
    /// Application error code (FdR `appErrorCode`).
    pub code: Option<String>,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<&str> = [&self.code, &self.title, &self.detail]
            .into_iter()
            .filter_map(|s| s.as_deref())
            .collect();
        if parts.is_empty() {
            f.write_str("no details")
        } else {
            f.write_str(&parts.join(": "))
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawProblem {
    title: Option<String>,
    detail: Option<String>,
    message: Option<String>,
    http_status_description: Option<String>,
    app_error_code: Option<String>,
    #[serde(default)]
    errors: Vec<RawErrorMessage>,
}

#[derive(Deserialize)]
struct RawErrorMessage {
    path: Option<String>,
    message: Option<String>,
}

impl Problem {
    pub(crate) fn from_body(body: &[u8]) -> Problem {
        match serde_json::from_slice::<RawProblem>(body) {
            Ok(p) => {
                let errs: Vec<String> = p
                    .errors
                    .iter()
                    .filter_map(|e| match (&e.path, &e.message) {
                        (Some(p), Some(m)) => Some(format!("{p}: {m}")),
                        (None, Some(m)) => Some(m.clone()),
                        _ => None,
                    })
                    .collect();
                let detail = p
                    .detail
                    .or(p.message)
                    .or_else(|| (!errs.is_empty()).then(|| errs.join("; ")));
                Problem {
                    title: p.title.or(p.http_status_description),
                    detail,
                    code: p.app_error_code,
                }
            }
            Err(_) => {
                let text = String::from_utf8_lossy(body);
                let t = text.trim();
                Problem {
                    title: None,
                    detail: (!t.is_empty()).then(|| t.chars().take(500).collect()),
                    code: None,
                }
            }
        }
    }
}

/// An error answer or a transport failure from a pagoPA REST API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400: the platform refused the request.
    #[error("400 bad request: {0}")]
    BadRequest(Problem),
    /// 401: missing or wrong subscription key.
    #[error("401 unauthorized: check the subscription key")]
    Unauthorized,
    /// 403: the key is not enabled for this creditor or operation.
    #[error("403 forbidden: {0}")]
    Forbidden(Problem),
    /// 404.
    #[error("404 not found: {0}")]
    NotFound(Problem),
    /// 409: duplicate or state conflict.
    #[error("409 conflict: {0}")]
    Conflict(Problem),
    /// 429: throttled (after the retries allowed, if any).
    #[error("429 too many requests (retry after {retry_after:?})")]
    TooManyRequests {
        /// The server's `Retry-After`.
        retry_after: Option<Duration>,
    },
    /// 5xx (after the retries allowed, if any).
    #[error("{status} server error: {problem}")]
    Server {
        /// HTTP status.
        status: u16,
        /// Details.
        problem: Problem,
    },
    /// Any other status.
    #[error("unexpected HTTP status {status}: {problem}")]
    UnexpectedStatus {
        /// HTTP status.
        status: u16,
        /// Details.
        problem: Problem,
    },
    /// Connection, TLS or timeout failure.
    #[error("transport: {0}")]
    Transport(String),
    /// The answer could not be decoded.
    #[error("cannot decode the answer: {0}")]
    Decode(String),
    /// The base URL or a path parameter is not usable.
    #[error("bad URL: {0}")]
    Url(String),
}

impl ApiError {
    pub(crate) fn from_status(status: u16, retry_after: Option<Duration>, body: &[u8]) -> ApiError {
        let p = || Problem::from_body(body);
        match status {
            400 => ApiError::BadRequest(p()),
            401 => ApiError::Unauthorized,
            403 => ApiError::Forbidden(p()),
            404 => ApiError::NotFound(p()),
            409 => ApiError::Conflict(p()),
            429 => ApiError::TooManyRequests { retry_after },
            500..=599 => ApiError::Server {
                status,
                problem: p(),
            },
            _ => ApiError::UnexpectedStatus {
                status,
                problem: p(),
            },
        }
    }
}

#[cfg(feature = "client")]
pub(crate) use transport::{encode_segment, execute, join_url};

#[cfg(feature = "client")]
mod transport {
    use std::time::Duration;

    use super::{ApiError, RetryPolicy, SubscriptionKey};

    /// One HTTP answer that was a success (2xx).
    pub(crate) struct Call {
        pub(crate) body: Vec<u8>,
    }

    fn retryable(status: u16) -> bool {
        status == 429 || status == 500 || status == 502 || status == 503 || status == 504
    }

    fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
        h.get(reqwest::header::RETRY_AFTER)?
            .to_str()
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()
            .map(Duration::from_secs)
    }

    /// Percent-encodes one path segment.
    pub(crate) fn encode_segment(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
        out
    }

    pub(crate) fn join_url(base: &str, path: &str) -> String {
        format!(
            "{}/{}",
            base.trim_end_matches('/'),
            path.trim_start_matches('/')
        )
    }

    /// Sends the request built by `build`, retrying per `policy` when `idempotent`.
    pub(crate) async fn execute(
        http: &reqwest::Client,
        key: &SubscriptionKey,
        policy: &RetryPolicy,
        idempotent: bool,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Call, ApiError> {
        let max = if idempotent { policy.max_retries } else { 0 };
        let mut attempt = 0u32;
        loop {
            let req = build(http).header("Ocp-Apim-Subscription-Key", key.expose_secret());
            let result = req.send().await;
            let (err, wait) = match result {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let ra = retry_after(resp.headers());
                    let body = resp
                        .bytes()
                        .await
                        .map_err(|e| ApiError::Transport(e.to_string()))?
                        .to_vec();
                    if (200..300).contains(&status) {
                        return Ok(Call { body });
                    }
                    let e = ApiError::from_status(status, ra, &body);
                    if !retryable(status) {
                        return Err(e);
                    }
                    (e, ra)
                }
                Err(e) => (ApiError::Transport(e.to_string()), None),
            };
            if attempt >= max {
                return Err(err);
            }
            let d = policy.backoff(attempt, wait);
            tracing::warn!(error = %err, attempt, wait_ms = d.as_millis() as u64, "pagoPA API: retrying");
            tokio::time::sleep(d).await;
            attempt += 1;
        }
    }
}
