//! The async IO Services client: a thin reqwest (rustls) layer over [`crate::api`], with
//! retries, a shared pause on 429, a client-side rate limit and bounded concurrency.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use http::{Request, Response};
use rand::Rng;
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

use crate::api::{self, Operation};
use crate::deps::CodiceFiscale;
use crate::error::{ApiError, Error, TransportError};
use crate::message::NewMessage;
use crate::types::{
    Activation, ActivationStatus, CreatedMessage, LimitedProfile, MessageDetails, MessageId,
};

/// A service's subscription key. `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct SubscriptionKey(String);

impl SubscriptionKey {
    /// Wraps a key.
    pub fn new(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key itself, to put in the header.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SubscriptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SubscriptionKey([redacted])")
    }
}

impl fmt::Display for SubscriptionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// When and how long to wait before trying a request again.
///
/// Retried: 429 (after `Retry-After` when given, else the backoff; the pause applies to every
/// request of the client), 5xx, and failures to connect. A message submission is *not* retried
/// when its outcome is unknown (answer lost, 504 Gateway Timeout): the API has no idempotency
/// key, so a retry could deliver the message twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// Backoff before the first retry; doubles at each retry.
    pub initial_backoff: Duration,
    /// Cap of the backoff.
    pub max_backoff: Duration,
    /// Cap of a server's `Retry-After`.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 6,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Backoff before retry number `retry` (0-based): exponential with "equal jitter", that is
    /// a random value between half and all of `min(max_backoff, initial_backoff * 2^retry)`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .initial_backoff
            .checked_mul(1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX))
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff);
        let half = exp / 2;
        let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        let jitter = if nanos == 0 {
            0
        } else {
            rand::rng().random_range(0..=nanos)
        };
        half + Duration::from_nanos(jitter)
    }
}

/// Builder of an [`IoClient`].
#[derive(Debug, Clone)]
#[must_use]
pub struct IoClientBuilder {
    key: SubscriptionKey,
    base_url: String,
    retry: RetryPolicy,
    requests_per_second: Option<f64>,
    max_concurrency: usize,
    timeout: Duration,
    connect_timeout: Duration,
}

impl IoClientBuilder {
    /// Base URL, for example `http://127.0.0.1:8080/api/v1` (default: production).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }
    /// Retry policy.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }
    /// Client-side rate limit: at most this many requests per second, evenly spaced (`None`,
    /// the default, means no limit).
    pub fn rate_limit(mut self, requests_per_second: Option<f64>) -> Self {
        self.requests_per_second = requests_per_second.filter(|r| r.is_finite() && *r > 0.0);
        self
    }
    /// Most requests in flight at once (default 16; at least 1).
    pub fn max_concurrency(mut self, n: usize) -> Self {
        self.max_concurrency = n.max(1);
        self
    }
    /// Timeout of one request (default 30 s).
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }
    /// Connect timeout (default 10 s).
    pub fn connect_timeout(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    /// [`TransportError::Url`] for a base URL that is not `http(s)://...`;
    /// [`TransportError::Setup`] if the TLS backend cannot start.
    pub fn build(self) -> Result<IoClient, Error> {
        let uri: http::Uri = self
            .base_url
            .parse()
            .map_err(|e| TransportError::Url(format!("{}: {e}", self.base_url)))?;
        if !matches!(uri.scheme_str(), Some("http" | "https")) || uri.host().is_none() {
            return Err(TransportError::Url(format!(
                "{}: expected an http(s) URL with a host",
                self.base_url
            ))
            .into());
        }
        let http = reqwest::Client::builder()
            .timeout(self.timeout)
            .connect_timeout(self.connect_timeout)
            .build()
            .map_err(TransportError::Setup)?;
        Ok(IoClient {
            inner: Arc::new(Inner {
                http,
                base_url: self.base_url.trim_end_matches('/').to_owned(),
                key: RwLock::new(Arc::new(KeyInUse(self.key))),
                retry: self.retry,
                interval: self
                    .requests_per_second
                    .map(|r| Duration::from_secs_f64(1.0 / r)),
                next_slot: Mutex::new(Instant::now()),
                paused_until: Mutex::new(None),
                permits: Semaphore::new(self.max_concurrency),
            }),
        })
    }
}

/// IO Services client. Cheap to clone; clones share the rate limit, the concurrency bound and
/// the 429 pause.
#[derive(Clone)]
pub struct IoClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    /// The key written on new requests. Each request holds its own `Arc` while it is written and
    /// its answer read, so the count of holders of a retired key tells whether any is in flight.
    key: RwLock<Arc<KeyInUse>>,
    retry: RetryPolicy,
    interval: Option<Duration>,
    next_slot: Mutex<Instant>,
    paused_until: Mutex<Option<Instant>>,
    permits: Semaphore,
}

impl fmt::Debug for IoClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IoClient")
            .field("base_url", &self.inner.base_url)
            .field("key", &"[redacted]")
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

impl IoClient {
    /// Starts a client with a subscription key; see [`IoClientBuilder`] for the defaults.
    pub fn builder(key: SubscriptionKey) -> IoClientBuilder {
        IoClientBuilder {
            key,
            base_url: api::PRODUCTION_BASE_URL.to_owned(),
            retry: RetryPolicy::default(),
            requests_per_second: None,
            max_concurrency: 16,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The subscription key written on new requests.
    pub fn key(&self) -> SubscriptionKey {
        self.current_key().0.clone()
    }

    fn current_key(&self) -> Arc<KeyInUse> {
        self.inner
            .key
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Switches every clone of this client to `key` at once: requests written from now on carry
    /// it, requests already in flight finish with the key they were written with. The returned
    /// [`RetiredKey`] tells when none of those is left, that is when the old key may be revoked
    /// ([`crate::rotate_keys`] does the whole rotation).
    pub fn set_key(&self, key: SubscriptionKey) -> RetiredKey {
        let new = Arc::new(KeyInUse(key));
        let mut cell = self
            .inner
            .key
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let old = std::mem::replace(&mut *cell, new);
        RetiredKey(old)
    }

    /// `getProfileByPOST`: whether the citizen is on IO and allows this service.
    ///
    /// # Errors
    /// [`ApiError::ProfileNotFound`] when the citizen has no IO inbox; other [`Error`]s for
    /// transport failures and error answers (after retries).
    pub async fn get_profile(&self, fiscal_code: &CodiceFiscale) -> Result<LimitedProfile, Error> {
        let req = api::get_profile_request(&self.inner.base_url, fiscal_code)?;
        self.execute(
            Operation::GetProfileByPost,
            req,
            api::parse_get_profile,
            None,
        )
        .await
    }

    /// `submitMessageforUserWithFiscalCodeInBody`: sends a message.
    ///
    /// # Errors
    /// [`Error`] for transport failures and error answers. When
    /// [`Error::may_have_been_delivered`] is true the message may exist although no id came
    /// back; do not resend it blindly.
    pub async fn submit_message(&self, message: &NewMessage) -> Result<CreatedMessage, Error> {
        let req = api::submit_message_request(&self.inner.base_url, message)?;
        self.execute(
            Operation::SubmitMessage,
            req,
            api::parse_submit_message,
            None,
        )
        .await
    }

    /// [`submit_message`](Self::submit_message) telling `hook` when each attempt is about to
    /// be written (after the rate limit, the shared 429 pause and the concurrency bound) and
    /// when an attempt surely created nothing and will be retried.
    pub(crate) async fn submit_message_with(
        &self,
        message: &NewMessage,
        hook: &mut dyn SubmitHook,
    ) -> Result<CreatedMessage, Error> {
        let req = api::submit_message_request(&self.inner.base_url, message)?;
        self.execute(
            Operation::SubmitMessage,
            req,
            api::parse_submit_message,
            Some(hook),
        )
        .await
    }

    /// `getMessage`: a sent message with its processing and notification status.
    ///
    /// # Errors
    /// [`ApiError::NotFound`] for an unknown id; other [`Error`]s as for every call.
    pub async fn get_message(
        &self,
        fiscal_code: &CodiceFiscale,
        id: &MessageId,
    ) -> Result<MessageDetails, Error> {
        let req = api::get_message_request(&self.inner.base_url, fiscal_code, id)?;
        self.execute(Operation::GetMessage, req, api::parse_get_message, None)
            .await
    }

    /// `getServiceActivationByPOST`: the activation of this (SPECIAL) service for a citizen.
    ///
    /// # Errors
    /// [`ApiError::NotFound`] when there is no activation; other [`Error`]s as for every call.
    pub async fn get_activation(&self, fiscal_code: &CodiceFiscale) -> Result<Activation, Error> {
        let req = api::get_activation_request(&self.inner.base_url, fiscal_code)?;
        self.execute(
            Operation::GetServiceActivationByPost,
            req,
            api::parse_get_activation,
            None,
        )
        .await
    }

    /// `upsertServiceActivation`: creates or changes the activation for a citizen.
    ///
    /// # Errors
    /// [`Error`]s as for every call.
    pub async fn upsert_activation(
        &self,
        fiscal_code: &CodiceFiscale,
        status: ActivationStatus,
    ) -> Result<Activation, Error> {
        let req = api::upsert_activation_request(&self.inner.base_url, fiscal_code, &status)?;
        self.execute(
            Operation::UpsertServiceActivation,
            req,
            api::parse_upsert_activation,
            None,
        )
        .await
    }

    pub(crate) async fn execute<T>(
        &self,
        op: Operation,
        req: Request<Vec<u8>>,
        parse: fn(&Response<Vec<u8>>) -> Result<T, ApiError>,
        mut hook: Option<&mut dyn SubmitHook>,
    ) -> Result<T, Error> {
        let policy = &self.inner.retry;
        let mut retry = 0u32;
        loop {
            let (outcome, used) = self.send_once(&req, reborrow(&mut hook)).await?;
            let (err, wait) = match outcome {
                Ok(resp) => match parse(&resp) {
                    Ok(v) => return Ok(v),
                    Err(e) => {
                        let wait = match &e {
                            // Refused with a key that was replaced meanwhile (a rotation):
                            // nothing was created, try again at once with the new key.
                            ApiError::Unauthorized { .. }
                                if !Arc::ptr_eq(&used, &self.current_key()) =>
                            {
                                Some(Duration::ZERO)
                            }
                            ApiError::Throttled { retry_after } => Some(
                                retry_after
                                    .map(|d| d.min(policy.max_retry_after))
                                    .unwrap_or_else(|| policy.backoff(retry)),
                            ),
                            ApiError::Server { status, .. }
                                if op.is_idempotent() || *status != 504 =>
                            {
                                Some(policy.backoff(retry))
                            }
                            _ => None,
                        };
                        if let (ApiError::Throttled { .. }, Some(w)) = (&e, wait)
                            && retry < policy.max_retries
                        {
                            self.pause_all(w).await;
                        }
                        (Error::Api(e), wait)
                    }
                },
                Err(TransportError::AnswerLost(e)) if op.is_idempotent() => (
                    Error::Transport(TransportError::AnswerLost(e)),
                    Some(policy.backoff(retry)),
                ),
                Err(TransportError::Connect(e)) => (
                    Error::Transport(TransportError::Connect(e)),
                    Some(policy.backoff(retry)),
                ),
                Err(e) => (Error::Transport(e), None),
            };
            match wait {
                Some(w) if retry < policy.max_retries => {
                    // Every retried answer says the attempt created nothing.
                    if let Some(h) = reborrow(&mut hook) {
                        h.not_sent().await?;
                    }
                    tracing::debug!(operation = op.id(), retry, wait_ms = w.as_millis() as u64, error = %err, "retrying");
                    tokio::time::sleep(w).await;
                    retry += 1;
                }
                _ => return Err(err),
            }
        }
    }

    async fn pause_all(&self, d: Duration) {
        let until = Instant::now() + d;
        let mut p = self.inner.paused_until.lock().await;
        if p.is_none_or(|cur| cur < until) {
            *p = Some(until);
        }
    }

    async fn is_paused(&self) -> bool {
        self.inner
            .paused_until
            .lock()
            .await
            .is_some_and(|until| until > Instant::now())
    }

    async fn wait_turn(&self) {
        let paused = *self.inner.paused_until.lock().await;
        if let Some(until) = paused {
            tokio::time::sleep_until(until).await;
        }
        if let Some(interval) = self.inner.interval {
            let slot = {
                let mut next = self.inner.next_slot.lock().await;
                let now = Instant::now();
                let slot = (*next).max(now);
                *next = slot + interval;
                slot
            };
            tokio::time::sleep_until(slot).await;
        }
    }

    async fn send_once(
        &self,
        req: &Request<Vec<u8>>,
        hook: Option<&mut dyn SubmitHook>,
    ) -> Result<(Result<Response<Vec<u8>>, TransportError>, Arc<KeyInUse>), Error> {
        let _permit = loop {
            self.wait_turn().await;
            let permit = self.inner.permits.acquire().await.ok();
            // A 429 may have paused the client while this request waited for its rate-limit
            // slot or a permit: then it waits too, and takes a new slot.
            if !self.is_paused().await {
                break permit;
            }
        };
        if let Some(h) = hook {
            h.before_send().await?;
        }
        let key = self.current_key();
        let out = self.write_request(req, &key.0).await;
        Ok((out, key))
    }

    async fn write_request(
        &self,
        req: &Request<Vec<u8>>,
        key: &SubscriptionKey,
    ) -> Result<Response<Vec<u8>>, TransportError> {
        let url = req.uri().to_string();
        let mut rb = self
            .inner
            .http
            .request(req.method().clone(), &url)
            .header(api::SUBSCRIPTION_KEY_HEADER, key.expose_secret());
        for (name, value) in req.headers() {
            rb = rb.header(name, value);
        }
        if !req.body().is_empty() {
            rb = rb.body(req.body().clone());
        }
        let resp = rb.send().await.map_err(classify)?;
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.bytes().await.map_err(TransportError::AnswerLost)?;
        let mut out = Response::new(body.to_vec());
        *out.status_mut() = status;
        *out.headers_mut() = headers;
        Ok(out)
    }
}

/// A key as some requests in flight hold it.
pub(crate) struct KeyInUse(SubscriptionKey);

/// A key that [`IoClient::set_key`] replaced; requests written with it may still be in flight.
#[must_use = "wait with `drained` before revoking the old key"]
pub struct RetiredKey(Arc<KeyInUse>);

impl fmt::Debug for RetiredKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetiredKey")
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

impl RetiredKey {
    /// Requests written with the old key whose answer has not been read yet.
    pub fn in_flight(&self) -> usize {
        Arc::strong_count(&self.0) - 1
    }

    /// The old key.
    pub fn key(&self) -> &SubscriptionKey {
        &self.0.0
    }

    /// Waits until no request written with the old key is in flight, at most `timeout`.
    /// Returns whether none is left.
    pub async fn drained(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.in_flight() == 0 {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// Told by [`IoClient::submit_message_with`] about each attempt of a submission.
#[async_trait::async_trait]
pub(crate) trait SubmitHook: Send {
    /// Just before the request is written. An error stops the submission unsent.
    async fn before_send(&mut self) -> Result<(), Error>;
    /// After an attempt that created nothing, before waiting to retry it. An error stops the
    /// submission.
    async fn not_sent(&mut self) -> Result<(), Error>;
}

fn reborrow<'b>(h: &'b mut Option<&mut dyn SubmitHook>) -> Option<&'b mut dyn SubmitHook> {
    match h {
        Some(h) => Some(&mut **h),
        None => None,
    }
}

fn classify(e: reqwest::Error) -> TransportError {
    if e.is_connect() {
        TransportError::Connect(e)
    } else if e.is_builder() {
        TransportError::Url(e.to_string())
    } else {
        TransportError::AnswerLost(e)
    }
}

impl Error {
    /// For a message submission: whether the message may exist although no id came back (the
    /// answer was lost, a 504 Gateway Timeout, or a 201 Created without a usable id). Such a
    /// send must not be repeated blindly.
    pub fn may_have_been_delivered(&self) -> bool {
        match self {
            Error::Transport(TransportError::AnswerLost(_))
            | Error::Api(ApiError::Server { status: 504, .. }) => true,
            // A submission's answer is read as JSON only when its status is 201.
            Error::Api(ApiError::MalformedResponse { operation, .. }) => {
                *operation == Operation::SubmitMessage.id()
            }
            _ => false,
        }
    }
}
