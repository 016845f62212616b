//! A small in-process IO Services mock (feature `mock`), for demos, benchmarks and tests.
//!
//! It serves the operations this crate implements under `/api/v1` on `127.0.0.1`, validates
//! messages with the same rules as the client, records every message it accepts, and can inject
//! faults (429, 500, lost answers) at a configured rate. It keeps services created through the
//! management API with their own two keys (accepted for every call; a regenerated key is
//! refused at once), their lifecycle (review, [`MockServer::approve`], release) and history,
//! logos, subscriptions feeds ([`MockServer::set_feed`]) and remote-content configurations.
//! A [`RequestCheck`] sees every request before it is handled.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use appio::mock::{MockConfig, MockServer};
//! let mock = MockServer::start(MockConfig::default()).await?;
//! let base_url = mock.base_url(); // http://127.0.0.1:PORT/api/v1
//! // ... point an `IoClient` at `base_url`, send, then:
//! let received = mock.messages();
//! # let _ = (base_url, received);
//! # Ok(()) }
//! ```

// Handlers return early with ready-made responses; their size does not matter here.
#![allow(clippy::result_large_err)]

mod manage;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::deps::CodiceFiscale;
use crate::message::NewMessage;
use crate::types::{
    Activation, ActivationStatus, CreatedMessageWithContent, LimitedProfile, MessageDetails,
    MessageId, MessageStatus, NotificationStatus, NotificationStatuses, ProblemJson,
};

/// A check of every request the mock receives, before it is handled: method, path and query
/// (with the `/api/v1` base path, as in `/api/v1/manage/services?limit=20&offset=0`) and body. An `Err` is recorded
/// ([`MockServer::request_violations`]) and answered 400, so a client sending a body that the
/// check refuses fails. Tests plug a schema validator built from the API's OpenAPI here.
#[derive(Clone)]
pub struct RequestCheck(
    #[allow(clippy::type_complexity)]
    pub  Arc<dyn Fn(&http::Method, &str, &[u8]) -> Result<(), String> + Send + Sync>,
);

impl std::fmt::Debug for RequestCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RequestCheck(..)")
    }
}

/// Settings of a [`MockServer`].
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Subscription keys accepted besides the keys of the services created on the mock; when
    /// empty, any non-empty key is accepted. A key replaced by a regeneration is refused from
    /// then on.
    pub accepted_keys: Vec<String>,
    /// Check of every request (see [`RequestCheck`]).
    pub request_check: Option<RequestCheck>,
    /// Fraction (0.0..=1.0) of requests answered 429 before anything else happens.
    pub throttle_rate: f64,
    /// `Retry-After` seconds sent with injected 429s (`None`: no header).
    pub retry_after_secs: Option<u64>,
    /// Fraction of requests answered 500 before anything else happens.
    pub server_error_rate: f64,
    /// Fraction of accepted messages whose answer is "lost": the message is recorded, then the
    /// answer is delayed by `lost_answer_delay` (set it above the client's timeout).
    pub lost_answer_rate: f64,
    /// Delay of a lost answer.
    pub lost_answer_delay: Duration,
    /// Delay added before every answer (simulated network and processing time).
    pub latency: Duration,
    /// Seed of the fault injection.
    pub seed: u64,
    /// Service id reported in messages and activations.
    pub service_id: String,
}

impl Default for MockConfig {
    fn default() -> Self {
        Self {
            accepted_keys: Vec::new(),
            request_check: None,
            throttle_rate: 0.0,
            retry_after_secs: None,
            server_error_rate: 0.0,
            lost_answer_rate: 0.0,
            lost_answer_delay: Duration::from_secs(60),
            latency: Duration::ZERO,
            seed: 0x5eed,
            service_id: "01MOCKSERVICE0000000000000".to_owned(),
        }
    }
}

/// How the mock answers a profile look-up for one citizen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MockProfile {
    /// On IO and allowing the service (the default for citizens not configured).
    Allowed,
    /// On IO, blocked the service (`sender_allowed: false`).
    Blocked,
    /// Not on IO (404).
    NotFound,
    /// A test key used for a citizen outside the test list: 403 "Recipient forbidden" for
    /// profile look-ups and messages.
    RecipientForbidden,
}

/// A message the mock accepted.
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    /// Id given to it.
    pub id: MessageId,
    /// The message as received.
    pub message: NewMessage,
    /// When.
    pub received_at: DateTime<Utc>,
    /// The service created on the mock whose key the message came with (`None` for a key of
    /// [`MockConfig::accepted_keys`] or any key of an open mock). As at IO, `getMessage` answers
    /// 403 for such a message to a key of any other service.
    pub sent_by: Option<String>,
}

struct Shared {
    config: MockConfig,
    rng: Mutex<StdRng>,
    profiles: Mutex<BTreeMap<CodiceFiscale, MockProfile>>,
    messages: Mutex<Vec<ReceivedMessage>>,
    statuses: Mutex<BTreeMap<MessageId, MessageStatus>>,
    activations: Mutex<BTreeMap<CodiceFiscale, Activation>>,
    next_id: AtomicU64,
    requests: AtomicU64,
    faults: AtomicU64,
    unauthorized: AtomicU64,
    manage: Mutex<manage::ManageState>,
    violations: Mutex<Vec<String>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A running mock. Stops when dropped.
pub struct MockServer {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl std::fmt::Debug for MockServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockServer")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl MockServer {
    /// Binds `127.0.0.1` on a free port and serves in a background task.
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub async fn start(config: MockConfig) -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Binds the given address (for example a fixed port of a demo) and serves in a background
    /// task. The mock has no authentication worth the name: bind loopback addresses only.
    ///
    /// # Errors
    /// When the address cannot be bound.
    pub async fn start_on(addr: SocketAddr, config: MockConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            rng: Mutex::new(StdRng::seed_from_u64(config.seed)),
            config,
            profiles: Mutex::new(BTreeMap::new()),
            messages: Mutex::new(Vec::new()),
            statuses: Mutex::new(BTreeMap::new()),
            activations: Mutex::new(BTreeMap::new()),
            next_id: AtomicU64::new(1),
            requests: AtomicU64::new(0),
            faults: AtomicU64::new(0),
            unauthorized: AtomicU64::new(0),
            manage: Mutex::new(manage::ManageState::default()),
            violations: Mutex::new(Vec::new()),
        });
        let app = router(shared.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = rx.await;
                })
                .await;
        });
        Ok(Self {
            addr,
            shared,
            shutdown: Some(tx),
        })
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Base URL for [`IoClient`](crate::IoClient): `http://127.0.0.1:PORT/api/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    /// Sets how a citizen's profile look-up is answered.
    pub fn set_profile(&self, fiscal_code: CodiceFiscale, profile: MockProfile) {
        lock(&self.shared.profiles).insert(fiscal_code, profile);
    }

    /// Sets the processing status `getMessage` reports for a message (default `PROCESSED`).
    pub fn set_message_status(&self, id: MessageId, status: MessageStatus) {
        lock(&self.shared.statuses).insert(id, status);
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<ReceivedMessage> {
        lock(&self.shared.messages).clone()
    }

    /// Number of requests received (all endpoints, faults included).
    pub fn request_count(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Number of injected faults (429, 500, lost answers).
    pub fn fault_count(&self) -> u64 {
        self.shared.faults.load(Ordering::Relaxed)
    }

    /// Number of requests answered 401 (missing, unknown or revoked key).
    pub fn unauthorized_count(&self) -> u64 {
        self.shared.unauthorized.load(Ordering::Relaxed)
    }

    /// What the [`RequestCheck`] refused so far: `METHOD path: reason`.
    pub fn request_violations(&self) -> Vec<String> {
        lock(&self.shared.violations).clone()
    }

    /// Approves a service under review (what PagoPA's review does); a service sent to review
    /// with `auto_publish` is published too. Returns false for an unknown service or one not
    /// under review.
    pub fn approve(&self, service_id: &str) -> bool {
        use crate::services::{HistoryKind, HistoryStatus, LifecycleStatus, PublicationStatus};
        let mut m = lock(&self.shared.manage);
        let Some(s) = m.services.get_mut(service_id) else {
            return false;
        };
        if s.status != LifecycleStatus::Submitted {
            return false;
        }
        s.status = LifecycleStatus::Approved;
        s.last_update = Utc::now();
        s.history.push((
            HistoryKind::Lifecycle,
            HistoryStatus::Approved,
            s.last_update,
        ));
        if s.auto_publish {
            s.publication = Some(PublicationStatus::Published);
            s.history.push((
                HistoryKind::Publication,
                HistoryStatus::Published,
                s.last_update,
            ));
        }
        true
    }

    /// Rejects a service under review with a reason.
    pub fn reject(&self, service_id: &str, reason: &str) -> bool {
        use crate::services::{HistoryKind, HistoryStatus, LifecycleStatus};
        let mut m = lock(&self.shared.manage);
        let Some(s) = m.services.get_mut(service_id) else {
            return false;
        };
        if s.status != LifecycleStatus::Submitted {
            return false;
        }
        s.status = LifecycleStatus::Rejected;
        s.reason = Some(reason.to_owned());
        s.last_update = Utc::now();
        s.history.push((
            HistoryKind::Lifecycle,
            HistoryStatus::Rejected,
            s.last_update,
        ));
        true
    }

    /// The keys of a service created on the mock: `(primary, secondary)`.
    pub fn service_keys(&self, service_id: &str) -> Option<(String, String)> {
        lock(&self.shared.manage)
            .services
            .get(service_id)
            .map(|s| (s.primary.clone(), s.secondary.clone()))
    }

    /// The logo uploaded for a service (the PNG bytes).
    pub fn service_logo(&self, service_id: &str) -> Option<Vec<u8>> {
        lock(&self.shared.manage)
            .services
            .get(service_id)
            .and_then(|s| s.logo.clone())
    }

    /// The logo uploaded for an organization (the PNG bytes).
    pub fn organization_logo(&self, organization_fiscal_code: &str) -> Option<Vec<u8>> {
        lock(&self.shared.manage)
            .org_logos
            .get(organization_fiscal_code)
            .cloned()
    }

    /// Sets the subscriptions feed of a day (`YYYY-MM-DD`): the hashes given as they are.
    pub fn set_feed(&self, date: &str, subscriptions: Vec<String>, unsubscriptions: Vec<String>) {
        lock(&self.shared.manage)
            .feeds
            .insert(date.to_owned(), (subscriptions, unsubscriptions));
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/api/v1/profiles", post(profile_by_post))
        .route("/api/v1/profiles/{fiscal_code}", get(profile_by_path))
        .route("/api/v1/messages", post(submit_message))
        .route("/api/v1/messages/{fiscal_code}/{id}", get(get_message))
        .route(
            "/api/v1/activations/",
            post(get_activation).put(upsert_activation),
        )
        .merge(manage::routes())
        .layer(axum::middleware::from_fn_with_state(
            shared.clone(),
            check_request,
        ))
        .with_state(shared)
}

/// Runs the configured [`RequestCheck`] on every request.
async fn check_request(
    State(s): State<Arc<Shared>>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let Some(check) = s.config.request_check.clone() else {
        return next.run(req).await;
    };
    let (parts, body) = req.into_parts();
    let bytes = match axum::body::to_bytes(body, 16 << 20).await {
        Ok(b) => b,
        Err(e) => return problem(StatusCode::BAD_REQUEST, "Unreadable body", &e.to_string()),
    };
    let target = parts
        .uri
        .path_and_query()
        .map_or(parts.uri.path(), |pq| pq.as_str());
    if let Err(reason) = (check.0)(&parts.method, target, &bytes) {
        let v = format!("{} {}: {reason}", parts.method, parts.uri.path());
        lock(&s.violations).push(v.clone());
        return problem(StatusCode::BAD_REQUEST, "Request violates the schema", &v);
    }
    next.run(axum::extract::Request::from_parts(
        parts,
        axum::body::Body::from(bytes),
    ))
    .await
}

fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = ProblemJson {
        type_: None,
        title: Some(title.to_owned()),
        status: Some(status.as_u16()),
        detail: Some(detail.to_owned()),
        instance: None,
    };
    json(status, &body)
}

fn json<T: Serialize>(status: StatusCode, body: &T) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

/// Key check, latency and fault injection shared by every endpoint.
async fn gate(shared: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    if !shared.config.latency.is_zero() {
        tokio::time::sleep(shared.config.latency).await;
    }
    gate_now(shared, headers)
}

fn gate_now(shared: &Shared, headers: &HeaderMap) -> Result<(), Response> {
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let key = headers
        .get(crate::api::SUBSCRIPTION_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let keys = &shared.config.accepted_keys;
    let refused = {
        let m = lock(&shared.manage);
        let of_service = m
            .services
            .values()
            .any(|s| s.primary == key || s.secondary == key);
        let open = keys.is_empty();
        key.is_empty()
            || m.revoked.iter().any(|k| k == key)
            || !(open || of_service || keys.iter().any(|k| k == key))
    };
    if refused {
        shared.unauthorized.fetch_add(1, Ordering::Relaxed);
        let body = serde_json::json!({
            "statusCode": 401,
            "message": "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."
        });
        return Err(json(StatusCode::UNAUTHORIZED, &body));
    }
    let roll: f64 = lock(&shared.rng).random();
    let c = &shared.config;
    if roll < c.throttle_rate {
        shared.faults.fetch_add(1, Ordering::Relaxed);
        let mut r = problem(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "Rate limit exceeded",
        );
        if let Some(s) = c.retry_after_secs {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        return Err(r);
    }
    if roll < c.throttle_rate + c.server_error_rate {
        shared.faults.fetch_add(1, Ordering::Relaxed);
        return Err(problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
            "Injected fault",
        ));
    }
    Ok(())
}

fn parse_fiscal_code_body(body: &[u8]) -> Result<CodiceFiscale, Response> {
    #[derive(serde::Deserialize)]
    struct P {
        fiscal_code: CodiceFiscale,
    }
    serde_json::from_slice::<P>(body)
        .map(|p| p.fiscal_code)
        .map_err(|e| problem(StatusCode::BAD_REQUEST, "Invalid payload", &e.to_string()))
}

fn profile_answer(shared: &Shared, cf: &CodiceFiscale) -> Response {
    let p = lock(&shared.profiles)
        .get(cf)
        .cloned()
        .unwrap_or(MockProfile::Allowed);
    match p {
        MockProfile::Allowed | MockProfile::Blocked => json(
            StatusCode::OK,
            &LimitedProfile {
                sender_allowed: p == MockProfile::Allowed,
                preferred_languages: vec!["it_IT".to_owned()],
            },
        ),
        MockProfile::NotFound => problem(
            StatusCode::NOT_FOUND,
            "Profile not found",
            "The profile you requested was not found in the system.",
        ),
        MockProfile::RecipientForbidden => recipient_forbidden(),
    }
}

fn recipient_forbidden() -> Response {
    problem(
        StatusCode::FORBIDDEN,
        "Recipient forbidden",
        "You are not allowed to issue requests for the recipient.",
    )
}

async fn profile_by_post(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = gate(&s, &headers).await {
        return r;
    }
    match parse_fiscal_code_body(&body) {
        Ok(cf) => profile_answer(&s, &cf),
        Err(r) => r,
    }
}

async fn profile_by_path(
    State(s): State<Arc<Shared>>,
    Path(cf): Path<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&s, &headers).await {
        return r;
    }
    match cf.parse::<CodiceFiscale>() {
        Ok(cf) => profile_answer(&s, &cf),
        Err(e) => problem(
            StatusCode::BAD_REQUEST,
            "Invalid fiscal code",
            &e.to_string(),
        ),
    }
}

fn new_id(shared: &Shared) -> MessageId {
    const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let n = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let mut id = *b"01MOCK00000000000000000000";
    let mut v = n;
    for slot in id[6..].iter_mut().rev() {
        *slot = CROCKFORD[(v % 32) as usize];
        v /= 32;
    }
    // Built from ASCII letters and digits only, as `MessageId` requires.
    MessageId::from_trusted(String::from_utf8_lossy(&id).into_owned())
}

async fn submit_message(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = gate(&s, &headers).await {
        return r;
    }
    let message: NewMessage = match serde_json::from_slice(&body) {
        Ok(m) => m,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "Invalid NewMessage",
                &e.to_string(),
            );
        }
    };
    let profile = lock(&s.profiles).get(message.fiscal_code()).cloned();
    if profile == Some(MockProfile::RecipientForbidden) {
        return recipient_forbidden();
    }
    let id = new_id(&s);
    let sent_by = caller_service(&s, &headers);
    lock(&s.messages).push(ReceivedMessage {
        id: id.clone(),
        message,
        received_at: Utc::now(),
        sent_by,
    });
    let lost: bool = {
        let roll: f64 = lock(&s.rng).random();
        roll < s.config.lost_answer_rate
    };
    if lost {
        s.faults.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(s.config.lost_answer_delay).await;
    }
    let mut r = json(StatusCode::CREATED, &serde_json::json!({ "id": id }));
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/messages/{id}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// The managed service whose primary or secondary key the request carries.
fn caller_service(s: &Shared, headers: &HeaderMap) -> Option<String> {
    let key = headers
        .get(crate::api::SUBSCRIPTION_KEY_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    lock(&s.manage)
        .services
        .iter()
        .find(|(_, sv)| sv.primary == key || sv.secondary == key)
        .map(|(id, _)| id.clone())
}

async fn get_message(
    State(s): State<Arc<Shared>>,
    Path((cf, id)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = gate(&s, &headers).await {
        return r;
    }
    let found = lock(&s.messages)
        .iter()
        .find(|m| m.id.as_str() == id && m.message.fiscal_code().as_str() == cf)
        .cloned();
    let Some(m) = found else {
        return problem(
            StatusCode::NOT_FOUND,
            "Message not found",
            "No message found for the provided ID.",
        );
    };
    // As IO does: a service reads only the messages it sent.
    if m.sent_by.is_some() && caller_service(&s, &headers) != m.sent_by {
        return problem(
            StatusCode::FORBIDDEN,
            "You are not allowed here",
            "You do not have enough permission to complete the operation you requested",
        );
    }
    let status = lock(&s.statuses)
        .get(&m.id)
        .cloned()
        .unwrap_or(MessageStatus::Processed);
    let details = MessageDetails {
        message: CreatedMessageWithContent {
            id: m.id.clone(),
            fiscal_code: m.message.fiscal_code().clone(),
            time_to_live: Some(m.message.time_to_live().map_or(3600, |t| t.secs())),
            created_at: m.received_at,
            content: Some(m.message.content().clone()),
            sender_service_id: s.config.service_id.clone(),
            feature_level_type: Some(m.message.feature_level()),
        },
        notification: Some(NotificationStatuses {
            email: Some(NotificationStatus::Sent),
            webhook: Some(NotificationStatus::Sent),
        }),
        read_status: None,
        payment_status: None,
        status: Some(status),
    };
    json(StatusCode::OK, &details)
}

async fn get_activation(State(s): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(r) = gate(&s, &headers).await {
        return r;
    }
    let cf = match parse_fiscal_code_body(&body) {
        Ok(cf) => cf,
        Err(r) => return r,
    };
    match lock(&s.activations).get(&cf) {
        Some(a) => json(StatusCode::OK, a),
        None => problem(
            StatusCode::NOT_FOUND,
            "Not found",
            "No user activation found for the provided fiscal code.",
        ),
    }
}

async fn upsert_activation(
    State(s): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = gate(&s, &headers).await {
        return r;
    }
    #[derive(serde::Deserialize)]
    struct P {
        fiscal_code: CodiceFiscale,
        status: ActivationStatus,
    }
    let p: P = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return problem(StatusCode::BAD_REQUEST, "Invalid payload", &e.to_string()),
    };
    if let ActivationStatus::Other(v) = &p.status {
        return problem(
            StatusCode::BAD_REQUEST,
            "Invalid payload",
            &format!("unknown status {v}"),
        );
    }
    let mut acts = lock(&s.activations);
    let version = acts.get(&p.fiscal_code).map_or(0, |a| a.version + 1);
    let a = Activation {
        service_id: s.config.service_id.clone(),
        fiscal_code: p.fiscal_code.clone(),
        status: p.status,
        version,
    };
    acts.insert(p.fiscal_code, a.clone());
    json(StatusCode::OK, &a)
}
