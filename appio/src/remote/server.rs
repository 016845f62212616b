//! The sender's side of remote content (feature `remote-content`): an axum router that IO's
//! backend calls to fetch a third-party message's details, its attachments and its
//! precondition.
//!
//! Routes, as in IO's "Remote Content - Server implementation" OpenAPI (io-backend
//! `openapi/consumed/api_remote_content.yaml`) and the technical guide's chapter *OpenAPI
//! endpoint di recupero dei contenuti remotizzati* (docs.pagopa.it/io-guida-tecnica):
//!
//! - `GET /messages/{id}` → `RemoteContentDetails` (`details` with subject and markdown,
//!   `attachments` with `id`, `url`, `name`, `content_type`, `category`);
//! - `GET /messages/{id}/precondition` → `PreconditionContent` (`title`, `markdown`);
//! - `GET /messages/{id}/{attachment_url}` → the attachment's bytes.
//!
//! `{id}` is the `third_party_data.id` given when the message was sent. Every call carries the
//! recipient's fiscal code in the header `fiscal_code`; the guide asks the sender to check that
//! it is exactly the message's recipient. IO authenticates itself with the key of the
//! remote-content configuration (`details_authentication`: `key` in the header
//! `header_key_name`, type `API-KEY`).
//!
//! Checks, in order, each answered without revealing more than needed:
//! 1. the configured header holds the configured key (compared in constant time), else 401;
//! 2. `fiscal_code` is present and a valid fiscal code written in upper case, else 400;
//! 3. Lollipop: with [`IoAuthentication::lollipop`] (for a configuration with
//!    `is_lollipop_enabled`) every call must carry the citizen's signature, checked by a
//!    [`LollipopVerifier`] (signature, digest, key bound to the assertion ref, freshness,
//!    replay, user, and, when configured, the login assertion fetched from IO; see
//!    [`crate::remote::lollipop`]), else 403 naming the failed check (503 when IO's Lollipop
//!    consumer API failed or could not be reached);
//!    without it, Lollipop headers are not required, but a `x-pagopa-lollipop-user-id` other
//!    than `fiscal_code` is still refused with 403;
//! 4. the message exists and its recipient is that fiscal code, else 404 (the same answer as
//!    for an unknown id, so that ids of other citizens cannot be probed);
//! 5. an attachment is served only if its `url` is one the message lists, else 404.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use crate::deps::CodiceFiscale;
use crate::message::{Markdown, Subject};
use crate::remote::AuthenticationConfig;
use crate::remote::lollipop::LollipopVerifier;
use crate::types::ProblemJson;

/// The header in which IO sends the recipient's fiscal code.
pub const FISCAL_CODE_HEADER: &str = "fiscal_code";
/// The Lollipop header naming the user who signed the request.
pub const LOLLIPOP_USER_HEADER: &str = "x-pagopa-lollipop-user-id";

/// The visible content of a remote message (`details`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteDetails {
    /// Subject, 10..=120 characters.
    pub subject: Subject,
    /// Body, 80..=10000 characters.
    pub markdown: Markdown,
}

/// An attachment listed in a remote message (`RemoteContentAttachment`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoteAttachment {
    /// Id.
    pub id: String,
    /// MIME type; IO accepts `application/pdf` (PDF/A).
    pub content_type: String,
    /// File name shown in the app (with its `.pdf` extension).
    pub name: String,
    /// Path relative to `/messages/{id}/` from which IO downloads it.
    pub url: String,
}

/// A precondition shown before the message opens (`PreconditionContent`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Precondition {
    /// Title.
    pub title: String,
    /// Markdown text.
    pub markdown: String,
}

/// What the sender keeps for one remote message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMessage {
    /// The only citizen it may be shown to.
    pub recipient: CodiceFiscale,
    /// Details, when the message has remote content.
    pub details: Option<RemoteDetails>,
    /// Attachments.
    pub attachments: Vec<RemoteAttachment>,
    /// Precondition, when the message has one.
    pub precondition: Option<Precondition>,
}

/// An attachment's bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentContent {
    /// MIME type written in `Content-Type`.
    pub content_type: String,
    /// The file.
    pub bytes: Vec<u8>,
}

/// Where the router finds messages and attachments.
#[async_trait::async_trait]
pub trait RemoteContentStore: Send + Sync + 'static {
    /// The message IO knows by `id` (`third_party_data.id`), if any.
    async fn message(&self, id: &str) -> Result<Option<RemoteMessage>, String>;
    /// The bytes of the attachment of `id` at `url` (only asked for a `url` the message lists).
    async fn attachment(&self, id: &str, url: &str) -> Result<Option<AttachmentContent>, String>;
}

/// How the router authenticates IO: the remote-content configuration's key in its header,
/// and, when Lollipop is required, the citizen's signature.
#[derive(Clone)]
pub struct IoAuthentication {
    header: HeaderName,
    key: Vec<u8>,
    lollipop: Option<Arc<LollipopVerifier>>,
}

impl std::fmt::Debug for IoAuthentication {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IoAuthentication")
            .field("header", &self.header)
            .field("key", &"[redacted]")
            .field("lollipop", &self.lollipop)
            .finish()
    }
}

impl IoAuthentication {
    /// Requires every call to be Lollipop-signed and checked by `verifier` (for a
    /// configuration with `is_lollipop_enabled`; its `disable_lollipop_for` go to
    /// [`LollipopVerifier::exempt`]).
    #[must_use]
    pub fn lollipop(mut self, verifier: LollipopVerifier) -> Self {
        self.lollipop = Some(Arc::new(verifier));
        self
    }

    /// Lollipop not required (the default): only the user-id check of step 3.
    #[must_use]
    pub fn without_lollipop(mut self) -> Self {
        self.lollipop = None;
        self
    }

    /// From the configuration's `details_authentication`.
    ///
    /// # Errors
    /// [`crate::ValidationError::Format`] when the header name is not a valid HTTP name.
    pub fn from_config(c: &AuthenticationConfig) -> Result<Self, crate::ValidationError> {
        let header =
            HeaderName::from_bytes(c.header_key_name.as_str().as_bytes()).map_err(|_| {
                crate::ValidationError::Format {
                    field: "details_authentication.header_key_name",
                    expected: "an HTTP header name",
                    found: c.header_key_name.to_string(),
                }
            })?;
        Ok(Self {
            header,
            key: c.key.as_str().as_bytes().to_vec(),
            lollipop: None,
        })
    }

    fn accepts(&self, headers: &HeaderMap) -> bool {
        let mut values = headers.get_all(&self.header).iter();
        match (values.next(), values.next()) {
            (Some(v), None) => constant_time_eq(v.as_bytes(), &self.key),
            _ => false,
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

struct Ctx {
    store: Arc<dyn RemoteContentStore>,
    auth: IoAuthentication,
}

/// The router (mount it at the `base_url` given in the configuration).
pub fn router(store: Arc<dyn RemoteContentStore>, auth: IoAuthentication) -> Router {
    Router::new()
        .route("/messages/{id}", get(details))
        .route("/messages/{id}/precondition", get(precondition))
        .route("/messages/{id}/{*url}", get(attachment))
        .with_state(Arc::new(Ctx { store, auth }))
}

fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = ProblemJson {
        type_: None,
        title: Some(title.to_owned()),
        status: Some(status.as_u16()),
        detail: Some(detail.to_owned()),
        instance: None,
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        bytes,
    )
        .into_response()
}

fn not_found() -> Response {
    problem(
        StatusCode::NOT_FOUND,
        "Not found",
        "No message found for the provided ID.",
    )
}

/// Checks 1 to 4; returns the message.
async fn authorize(
    ctx: &Ctx,
    headers: &HeaderMap,
    body: &[u8],
    id: &str,
) -> Result<RemoteMessage, Response> {
    if !ctx.auth.accepts(headers) {
        return Err(problem(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "missing or wrong API key",
        ));
    }
    let raw = headers
        .get(FISCAL_CODE_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            problem(
                StatusCode::BAD_REQUEST,
                "Bad request",
                "the fiscal_code header is missing",
            )
        })?;
    let not_cf = || {
        problem(
            StatusCode::BAD_REQUEST,
            "Bad request",
            "the fiscal_code header is not an upper-case fiscal code",
        )
    };
    let cf: CodiceFiscale = raw.parse().map_err(|_| not_cf())?;
    // The API sends it "all upper case": another spelling is not the recipient's exact code.
    if cf.as_str() != raw {
        return Err(not_cf());
    }
    match &ctx.auth.lollipop {
        Some(v) if !v.may_skip(&cf, headers) => {
            if let Err(e) = v.verify(headers, body, &cf).await {
                if e.is_unavailable() {
                    tracing::warn!(error = %e, "Lollipop login assertion unavailable");
                    return Err(problem(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "Service unavailable",
                        "the Lollipop login assertion could not be obtained from IO",
                    ));
                }
                tracing::info!(error = %e, "Lollipop check failed");
                return Err(problem(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    &format!("Lollipop: {e}"),
                ));
            }
        }
        Some(_) => {}
        None => {
            if let Some(v) = headers.get(LOLLIPOP_USER_HEADER)
                && v.as_bytes() != cf.as_str().as_bytes()
            {
                return Err(problem(
                    StatusCode::FORBIDDEN,
                    "Forbidden",
                    "the Lollipop user is not the fiscal_code of the request",
                ));
            }
        }
    }
    let msg = ctx.store.message(id).await.map_err(|e| {
        tracing::warn!(error = %e, "remote content store failed");
        problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error",
            "the message could not be read",
        )
    })?;
    match msg {
        Some(m) if m.recipient == cf => Ok(m),
        _ => Err(not_found()),
    }
}

fn json<T: Serialize>(v: &T) -> Response {
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        bytes,
    )
        .into_response()
}

async fn details(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let m = match authorize(&ctx, &headers, &body, &id).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    #[derive(Serialize)]
    struct Out<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        details: Option<&'a RemoteDetails>,
        #[serde(skip_serializing_if = "<[_]>::is_empty")]
        attachments: &'a [RemoteAttachment],
    }
    json(&Out {
        details: m.details.as_ref(),
        attachments: &m.attachments,
    })
}

async fn precondition(
    State(ctx): State<Arc<Ctx>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match authorize(&ctx, &headers, &body, &id).await {
        Ok(RemoteMessage {
            precondition: Some(p),
            ..
        }) => json(&p),
        Ok(_) => problem(
            StatusCode::NOT_FOUND,
            "Not found",
            "No precondition for this message.",
        ),
        Err(r) => r,
    }
}

async fn attachment(
    State(ctx): State<Arc<Ctx>>,
    Path((id, url)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let m = match authorize(&ctx, &headers, &body, &id).await {
        Ok(m) => m,
        Err(r) => return r,
    };
    if !m.attachments.iter().any(|a| a.url == url) {
        return problem(
            StatusCode::NOT_FOUND,
            "Not found",
            "No attachment found at the provided url.",
        );
    }
    match ctx.store.attachment(&id, &url).await {
        Ok(Some(a)) => {
            let ct = HeaderValue::from_str(&a.content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream"));
            (StatusCode::OK, [(header::CONTENT_TYPE, ct)], a.bytes).into_response()
        }
        Ok(None) => problem(
            StatusCode::NOT_FOUND,
            "Not found",
            "No attachment found at the provided url.",
        ),
        Err(e) => {
            tracing::warn!(error = %e, "remote content store failed");
            problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal server error",
                "the attachment could not be read",
            )
        }
    }
}
