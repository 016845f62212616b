//! axum integration (feature `axum`): the Relying Party's routes, as the `spid` crate gives
//! them for SAML.
//!
//! [`OidcWeb::router`] serves, to nest where the RP's Entity Identifier points (e.g. the RP
//! `https://comune.example.it/oidc` nests it at `/oidc`):
//! - `GET /.well-known/openid-federation`: the RP's signed Entity Configuration
//!   (`application/entity-statement+jwt`);
//! - `GET /login`: without `op`, the chooser with the "Entra con SPID" button and the SPID OPs,
//!   and the "Entra con CIE" button (the OPs from the [`ProviderDirectory`], i.e. from their
//!   Trust Chains); with `op` (an OP's Entity Identifier among those) and optionally `level`
//!   (`1`, `2`, `3`; never below [`WebOptions::min_level`]) and `next`, the redirect to the OP
//!   with the signed request object;
//! - `GET /callback` (the `redirect_uri`): takes the pending login bound to the browser's login
//!   cookie, exchanges the code, validates the ID Token, reads the encrypted UserInfo and starts
//!   the session;
//! - `GET|POST /logout`: ends the session and revokes its tokens at the OP.
//!
//! [`OidcCitizen`] gives handlers the logged-in [`CitizenIdentity`].
//!
//! Cookies are `HttpOnly`, `Secure` (off only with [`WebOptions::insecure_http_cookies`], for
//! plain-HTTP development) and `SameSite=Lax`: the OP sends the browser back with a top-level
//! GET, which carries `Lax` cookies. The login cookie holds only a random binding (and the
//! page to return to); the session cookie a fresh random id after each login. Both only name
//! server-side state: a forged or altered value names nothing. Errors show
//! [`LoginError::citizen_message`]; details go to debug-level logs only.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, FromRequestParts, Query, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use pa_types::{AssuranceLevel, CitizenIdentity};
use ring::rand::SecureRandom as _;
use serde_json::Value;

use crate::chain::{Fetcher, TrustChainCache};
use crate::jwe::DecryptionKey;
use crate::login::{
    CallbackParams, LoginError, LoginOptions, OidcHttp, PENDING_LIFETIME, PendingLoginStore,
    Provider, RelyingParty, Scheme, TokenTypeHint, take_pending,
};
use crate::session::{OidcSession, OidcSessionStore};

/// An OP the citizen may choose.
#[derive(Debug, Clone)]
pub struct OpEntry {
    /// The OP's Entity Identifier (the `op` parameter of `/login`).
    pub entity_id: String,
    /// The name shown (its `federation_entity.organization_name`, else the identifier).
    pub name: String,
    /// SPID or CIE id.
    pub scheme: Scheme,
    /// Its endpoints and keys.
    pub provider: Provider,
}

/// The OPs a citizen may log in with.
#[async_trait::async_trait]
pub trait ProviderDirectory: Send + Sync {
    /// Every OP usable now (those whose chain or keys fail are left out).
    async fn providers(&self, now: i64) -> Vec<OpEntry>;
    /// The OP `entity_id`, if it is one of them.
    ///
    /// # Errors
    /// [`LoginError::Config`] for an OP that is not among them, or the error that makes it
    /// unusable.
    async fn provider(&self, entity_id: &str, now: i64) -> Result<OpEntry, LoginError>;
}

/// A fixed list of OPs (already resolved, e.g. in tests or when keys come from configuration).
#[derive(Debug, Clone, Default)]
pub struct StaticProviders(pub Vec<OpEntry>);

#[async_trait::async_trait]
impl ProviderDirectory for StaticProviders {
    async fn providers(&self, _now: i64) -> Vec<OpEntry> {
        self.0.clone()
    }
    async fn provider(&self, entity_id: &str, _now: i64) -> Result<OpEntry, LoginError> {
        self.0
            .iter()
            .find(|o| o.entity_id == entity_id)
            .cloned()
            .ok_or_else(|| LoginError::Config(format!("unknown OP {entity_id:?}")))
    }
}

/// OPs from their Trust Chains: the configured ones and those the Trust Anchors list
/// (`federation_list_endpoint`), each through the [`TrustChainCache`], with its keys from
/// [`Provider::from_chain_fetching`].
pub struct FederationProviders<F> {
    cache: Arc<TrustChainCache<F>>,
    keys_fetcher: Arc<dyn Fetcher>,
    configured: Vec<(String, Scheme)>,
    discover: Vec<(String, Scheme)>,
}

impl<F> std::fmt::Debug for FederationProviders<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FederationProviders")
            .field("configured", &self.configured)
            .field("discover", &self.discover)
            .finish_non_exhaustive()
    }
}

impl<F: Fetcher> FederationProviders<F> {
    /// No OP yet; `keys_fetcher` GETs `signed_jwks_uri` / `jwks_uri`.
    pub fn new(cache: Arc<TrustChainCache<F>>, keys_fetcher: Arc<dyn Fetcher>) -> Self {
        FederationProviders {
            cache,
            keys_fetcher,
            configured: Vec::new(),
            discover: Vec::new(),
        }
    }

    /// Offers the OP `entity_id` (of `scheme`).
    #[must_use]
    pub fn op(mut self, entity_id: impl Into<String>, scheme: Scheme) -> Self {
        self.configured.push((entity_id.into(), scheme));
        self
    }

    /// Offers every OP the Trust Anchor `ta` lists (as `scheme`: the SPID and CIE id
    /// federations have their own Trust Anchors).
    #[must_use]
    pub fn discover(mut self, ta: impl Into<String>, scheme: Scheme) -> Self {
        self.discover.push((ta.into(), scheme));
        self
    }

    async fn candidates(&self, now: i64) -> Vec<(String, Scheme)> {
        let mut out = self.configured.clone();
        for (ta, scheme) in &self.discover {
            match self
                .cache
                .resolver()
                .list_subordinates(ta, "openid_provider", now)
                .await
            {
                Ok(ids) => {
                    for id in ids {
                        if !out.iter().any(|(o, _)| *o == id) {
                            out.push((id, *scheme));
                        }
                    }
                }
                Err(e) => tracing::warn!(ta = %ta, error = %e, "OP list not available"),
            }
        }
        out
    }

    async fn entry(&self, id: &str, scheme: Scheme, now: i64) -> Result<OpEntry, LoginError> {
        let chain = self
            .cache
            .get(id, now)
            .await
            .map_err(|e| LoginError::Config(format!("trust chain of {id}: {e}")))?;
        let provider = Provider::from_chain_fetching(&chain, &*self.keys_fetcher, now).await?;
        let org = |t: &str| {
            chain
                .metadata_of(t)
                .and_then(|m| m.get("organization_name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        Ok(OpEntry {
            entity_id: id.to_owned(),
            name: org("federation_entity")
                .or_else(|| org("openid_provider"))
                .unwrap_or_else(|| id.to_owned()),
            scheme,
            provider,
        })
    }
}

#[async_trait::async_trait]
impl<F: Fetcher + 'static> ProviderDirectory for FederationProviders<F> {
    async fn providers(&self, now: i64) -> Vec<OpEntry> {
        let mut out = Vec::new();
        for (id, scheme) in self.candidates(now).await {
            match self.entry(&id, scheme, now).await {
                Ok(e) => out.push(e),
                Err(e) => {
                    tracing::warn!(op = %id, "OP left out of the chooser");
                    tracing::debug!(op = %id, error = %e, "OP left out: detail");
                }
            }
        }
        out
    }

    async fn provider(&self, entity_id: &str, now: i64) -> Result<OpEntry, LoginError> {
        let scheme = self
            .candidates(now)
            .await
            .into_iter()
            .find(|(id, _)| id == entity_id)
            .map(|(_, s)| s)
            .ok_or_else(|| LoginError::Config(format!("unknown OP {entity_id:?}")))?;
        self.entry(entity_id, scheme, now).await
    }
}

/// Options of the web integration.
#[derive(Debug, Clone)]
pub struct WebOptions {
    /// Where the router is nested (e.g. `/oidc`); the RP's `redirect_uris[0]` must be
    /// `{entity id}/callback` and the entity id must end with this path.
    pub base_path: String,
    /// Name of the session cookie.
    pub session_cookie: String,
    /// Name of the login cookie (binds a pending login to the browser).
    pub login_cookie: String,
    /// Session lifetime (seconds).
    pub session_ttl: i64,
    /// Where to go after login/logout when no (valid) `next` was given.
    pub default_next: String,
    /// `Path` of the cookies (default `/`).
    pub cookie_path: String,
    /// The lowest level a login may ask for (default L2); a lower `level` is raised to it.
    pub min_level: AssuranceLevel,
    /// What the login asks for (claims, `prompt`, `redirect_uri`); its levels are replaced by
    /// the one chosen.
    pub login: LoginOptions,
    secure: bool,
}

impl Default for WebOptions {
    fn default() -> Self {
        WebOptions {
            base_path: "/oidc".into(),
            session_cookie: "oidc_session".into(),
            login_cookie: "oidc_login".into(),
            session_ttl: 3600,
            default_next: "/".into(),
            cookie_path: "/".into(),
            min_level: AssuranceLevel::L2,
            login: LoginOptions::default(),
            secure: true,
        }
    }
}

impl WebOptions {
    /// Drops the `Secure` cookie flag, for local development over plain HTTP only.
    #[must_use]
    pub fn insecure_http_cookies(mut self) -> Self {
        self.secure = false;
        self
    }
}

/// Signs the RP's Entity Configuration issued at the given time (e.g. with
/// [`EntityConfigurationBuilder`](crate::EntityConfigurationBuilder)).
pub type EntityConfigurationSource = Arc<dyn Fn(i64) -> Result<String, String> + Send + Sync>;

/// What [`OidcWeb`] is made of.
pub struct OidcWebParts {
    /// The RP (its `client_id` is its Entity Identifier).
    pub rp: RelyingParty,
    /// Its Entity Configuration.
    pub entity_configuration: EntityConfigurationSource,
    /// The OPs offered.
    pub providers: Arc<dyn ProviderDirectory>,
    /// Pending logins.
    pub pending: Arc<dyn PendingLoginStore>,
    /// Sessions.
    pub sessions: Arc<dyn OidcSessionStore>,
    /// HTTP to the OPs (token, UserInfo, revocation).
    pub http: Arc<dyn OidcHttp>,
    /// The RP's encryption keys (UserInfo JWE).
    pub decryption_keys: Vec<DecryptionKey>,
    /// Options.
    pub options: WebOptions,
}

struct Inner {
    rp: RelyingParty,
    entity_configuration: EntityConfigurationSource,
    providers: Arc<dyn ProviderDirectory>,
    pending: Arc<dyn PendingLoginStore>,
    sessions: Arc<dyn OidcSessionStore>,
    http: Arc<dyn OidcHttp>,
    keys: Vec<DecryptionKey>,
    opts: WebOptions,
}

/// The state of the OIDC routes.
#[derive(Clone)]
pub struct OidcWeb {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for OidcWeb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcWeb")
            .field("client_id", &self.inner.rp.client_id())
            .field("opts", &self.inner.opts)
            .finish_non_exhaustive()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn random_id() -> Option<String> {
    let mut b = [0u8; 32];
    ring::rand::SystemRandom::new().fill(&mut b).ok()?;
    Some(B64.encode(b))
}

/// A same-site path to go to after login, or `None` (absolute URLs, scheme-relative `//host`,
/// backslashes, whitespace and control characters are refused). The same rule as
/// `spid::safe_next`.
pub fn safe_next(next: &str) -> Option<&str> {
    let ok = next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && next.len() <= 512
        && !next.chars().any(|c| c.is_control() || c.is_whitespace());
    ok.then_some(next)
}

fn cookie_value<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .filter(|v| !v.is_empty())
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"it\"><head><meta charset=\"utf-8\"><title>{t}</title></head><body><main><h1>{t}</h1>{body}</main></body></html>",
        t = esc(title)
    );
    (status, Html(html)).into_response()
}

fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// A short name of the error kind, safe to log (no token, no personal data).
fn error_kind(e: &LoginError) -> &'static str {
    match e {
        LoginError::UnknownState => "unknown_state",
        LoginError::OpError { .. } => "op_error",
        LoginError::Http(_) | LoginError::TokenEndpoint(_) => "op_unreachable",
        LoginError::Config(_) | LoginError::ProviderMetadata(_) | LoginError::Jwks { .. } => {
            "config"
        }
        LoginError::Jose(_) | LoginError::Jwe(_) => "crypto",
        _ => "claims",
    }
}

fn login_error(e: &LoginError) -> Response {
    tracing::warn!(kind = error_kind(e), "OIDC login refused");
    tracing::debug!(error = %e, "OIDC login refusal detail");
    let status = match e {
        LoginError::Http(_) | LoginError::TokenEndpoint(_) => StatusCode::BAD_GATEWAY,
        LoginError::Config(_) | LoginError::ProviderMetadata(_) => StatusCode::BAD_REQUEST,
        _ => StatusCode::FORBIDDEN,
    };
    page(
        status,
        "Accesso non riuscito",
        &format!("<p>{}</p>", esc(e.citizen_message())),
    )
}

fn internal(what: &str) -> Response {
    tracing::error!(what, "OIDC request failed");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Errore",
        "<p>Si è verificato un errore. Riprova più tardi.</p>",
    )
}

/// `true` when the browser says the request comes from another site.
fn cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"))
}

impl OidcWeb {
    /// The OIDC web state.
    pub fn new(parts: OidcWebParts) -> Self {
        OidcWeb {
            inner: Arc::new(Inner {
                rp: parts.rp,
                entity_configuration: parts.entity_configuration,
                providers: parts.providers,
                pending: parts.pending,
                sessions: parts.sessions,
                http: parts.http,
                keys: parts.decryption_keys,
                opts: parts.options,
            }),
        }
    }

    /// The Relying Party.
    pub fn relying_party(&self) -> &RelyingParty {
        &self.inner.rp
    }

    /// The options.
    pub fn options(&self) -> &WebOptions {
        &self.inner.opts
    }

    /// The routes `/.well-known/openid-federation`, `/login`, `/callback` and `/logout`, to
    /// nest at [`WebOptions::base_path`].
    pub fn router<S>(&self) -> Router<S> {
        Router::new()
            .route("/.well-known/openid-federation", get(entity_configuration))
            .route("/login", get(login))
            .route("/callback", get(callback))
            .route("/logout", get(logout).post(logout))
            .with_state(self.clone())
    }

    fn path(&self, tail: &str) -> String {
        format!("{}{tail}", self.inner.opts.base_path.trim_end_matches('/'))
    }

    fn cookie(&self, name: &str, value: &str, max_age: i64) -> HeaderValue {
        let path = Some(self.inner.opts.cookie_path.as_str())
            .filter(|p| p.starts_with('/') && !p.contains(';') && p.is_ascii())
            .unwrap_or("/");
        let mut c =
            format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}");
        if self.inner.opts.secure {
            c.push_str("; Secure");
        }
        // Names are ours; values are base64url tokens, dots or empty.
        HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// The session of the request's session cookie, if valid and of this RP.
    pub async fn session(&self, headers: &HeaderMap) -> Option<OidcSession> {
        let sid = cookie_value(headers, &self.inner.opts.session_cookie)?;
        match self.inner.sessions.get_session(sid, now()).await {
            Ok(Some(s)) if s.client_id == self.inner.rp.client_id() => Some(s),
            Ok(_) => None,
            Err(e) => {
                tracing::error!(error = %e, "OIDC session store failed");
                None
            }
        }
    }

    /// The "Entra con SPID" button with its menu of SPID OPs and the "Entra con CIE" button
    /// (links to `/login?op=…`), as an HTML fragment to place in a page; `next` travels along.
    pub async fn buttons(&self, next: Option<&str>) -> String {
        let ops = self.inner.providers.providers(now()).await;
        buttons_html(&self.path("/login"), &ops, next.and_then(safe_next))
    }
}

/// The buttons, as the `spid` crate's chooser lays out "Entra con SPID" (a menu of the SPID
/// OPs, each by its name) plus a direct "Entra con CIE" (the CIE id OP).
fn buttons_html(login: &str, ops: &[OpEntry], next: Option<&str>) -> String {
    let href = |op: &OpEntry| {
        let mut h = format!("{login}?op={}", enc(&op.entity_id));
        if let Some(n) = next {
            let _ = write!(h, "&next={}", enc(n));
        }
        h
    };
    let mut o = String::new();
    let spid: Vec<&OpEntry> = ops.iter().filter(|o| o.scheme == Scheme::Spid).collect();
    if !spid.is_empty() {
        o.push_str(
            "<div class=\"spid-button\">\
             <button type=\"button\" class=\"italia-it-button italia-it-button-size-m button-spid\" aria-haspopup=\"true\" aria-expanded=\"true\" aria-controls=\"spid-op-list\">\
             <span class=\"italia-it-button-icon\" aria-hidden=\"true\">SPID</span>\
             <span class=\"italia-it-button-text\">Entra con SPID</span></button>\
             <ul id=\"spid-op-list\" class=\"spid-idp-button-menu\" role=\"menu\" aria-label=\"Scegli il tuo gestore di identità SPID\">",
        );
        for op in spid {
            let _ = write!(
                o,
                "<li class=\"spid-idp-button-link\" role=\"menuitem\" data-op=\"{}\"><a href=\"{}\">{}</a></li>",
                esc(&op.entity_id),
                esc(&href(op)),
                esc(&op.name)
            );
        }
        o.push_str(
            "<li class=\"spid-idp-support-link\"><a href=\"https://www.spid.gov.it\">Maggiori informazioni</a></li>\
             <li class=\"spid-idp-support-link\"><a href=\"https://www.spid.gov.it/cos-e-spid/come-attivare-spid/\">Non hai SPID?</a></li>\
             <li class=\"spid-idp-support-link\"><a href=\"https://www.spid.gov.it/serve-aiuto\">Serve aiuto?</a></li>\
             </ul></div>",
        );
    }
    for op in ops.iter().filter(|o| o.scheme == Scheme::Cie) {
        let _ = write!(
            o,
            "<a class=\"italia-it-button italia-it-button-size-m button-cie\" data-op=\"{}\" href=\"{}\">\
             <span class=\"italia-it-button-icon\" aria-hidden=\"true\">CIE</span>\
             <span class=\"italia-it-button-text\">Entra con CIE</span></a>",
            esc(&op.entity_id),
            esc(&href(op))
        );
    }
    o
}

async fn entity_configuration(State(w): State<OidcWeb>) -> Response {
    match (w.inner.entity_configuration)(now()) {
        Ok(jwt) => (
            [(header::CONTENT_TYPE, "application/entity-statement+jwt")],
            jwt,
        )
            .into_response(),
        Err(e) => {
            tracing::debug!(error = %e, "Entity Configuration failure detail");
            internal("entity configuration")
        }
    }
}

fn parse_level(s: &str) -> Option<AssuranceLevel> {
    match s {
        "1" | "L1" => Some(AssuranceLevel::L1),
        "2" | "L2" => Some(AssuranceLevel::L2),
        "3" | "L3" => Some(AssuranceLevel::L3),
        _ => None,
    }
}

async fn login(State(w): State<OidcWeb>, Query(q): Query<HashMap<String, String>>) -> Response {
    let next = q.get("next").and_then(|n| safe_next(n));
    let t = now();
    let Some(op_id) = q.get("op") else {
        let ops = w.inner.providers.providers(t).await;
        let ops: Vec<OpEntry> = match q.get("scheme").map(String::as_str) {
            Some("spid") => ops
                .into_iter()
                .filter(|o| o.scheme == Scheme::Spid)
                .collect(),
            Some("cie") => ops
                .into_iter()
                .filter(|o| o.scheme == Scheme::Cie)
                .collect(),
            _ => ops,
        };
        if ops.is_empty() {
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Accesso non disponibile",
                &format!(
                    "<p>{}</p>",
                    esc(LoginError::Config(String::new()).citizen_message())
                ),
            );
        }
        let title = match (
            ops.iter().any(|o| o.scheme == Scheme::Spid),
            ops.iter().any(|o| o.scheme == Scheme::Cie),
        ) {
            (true, false) => "Entra con SPID",
            (false, true) => "Entra con CIE",
            _ => "Entra con SPID o CIE",
        };
        return page(
            StatusCode::OK,
            title,
            &buttons_html(&w.path("/login"), &ops, next),
        );
    };
    let level = match q.get("level") {
        None => w.inner.opts.min_level,
        Some(l) => match parse_level(l) {
            Some(l) => l.max(w.inner.opts.min_level),
            None => {
                return page(
                    StatusCode::BAD_REQUEST,
                    "Richiesta non valida",
                    "<p>Livello di sicurezza sconosciuto.</p>",
                );
            }
        },
    };
    let op = match w.inner.providers.provider(op_id, t).await {
        Ok(op) => op,
        Err(e) => {
            tracing::debug!(error = %e, "unknown or unusable OP");
            return page(
                StatusCode::BAD_REQUEST,
                "Gestore di identità sconosciuto",
                "<p>Scegli un gestore di identità dall'elenco.</p>",
            );
        }
    };
    let Some(binding) = random_id() else {
        return internal("system RNG");
    };
    let mut opts = w.inner.opts.login.clone();
    opts.levels = vec![level];
    let redirect = match w
        .inner
        .rp
        .start_login(&op.provider, &opts, &binding, &*w.inner.pending, t)
        .await
    {
        Ok(r) => r,
        Err(e) => return login_error(&e),
    };
    tracing::info!(op = %op.entity_id, level = ?level, "OIDC login started");
    let value = match next {
        // The next path travels base64url-encoded in the login cookie, never to the OP.
        Some(n) => format!("{binding}.{}", B64.encode(n)),
        None => binding,
    };
    let mut resp = see_other(&redirect.url);
    resp.headers_mut().append(
        header::SET_COOKIE,
        w.cookie(&w.inner.opts.login_cookie, &value, PENDING_LIFETIME),
    );
    resp
}

async fn callback(State(w): State<OidcWeb>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let params = CallbackParams::from_query(q.as_deref().unwrap_or(""));
    let Some(cookie) = cookie_value(&headers, &w.inner.opts.login_cookie) else {
        return login_error(&LoginError::UnknownState);
    };
    let (binding, next) = match cookie.split_once('.') {
        Some((b, n)) => (
            b,
            B64.decode(n).ok().and_then(|n| String::from_utf8(n).ok()),
        ),
        None => (cookie, None),
    };
    let t = now();
    let pending = match take_pending(&params, binding, &*w.inner.pending, t).await {
        Ok(p) => p,
        Err(e) => return login_error(&e),
    };
    let op = match w.inner.providers.provider(&pending.op, t).await {
        Ok(op) => op,
        Err(e) => return login_error(&e),
    };
    let http = &*w.inner.http;
    let rp = &w.inner.rp;
    let (tokens, id) = match rp
        .finish_login(&op.provider, &pending, &params, http, t)
        .await
    {
        Ok(v) => v,
        Err(e) => return login_error(&e),
    };
    let citizen = match rp
        .userinfo(&op.provider, &tokens, &id, &w.inner.keys, op.scheme, http)
        .await
    {
        Ok(c) => c,
        Err(e) => {
            // The tokens are of no use to us: the OP may drop them now.
            let _ = rp
                .revoke(
                    &op.provider,
                    &tokens.access_token,
                    TokenTypeHint::AccessToken,
                    http,
                    t,
                )
                .await;
            return login_error(&e);
        }
    };
    let Some(sid) = random_id() else {
        return internal("system RNG");
    };
    let session = OidcSession::new(
        sid.clone(),
        citizen,
        op.provider.issuer.clone(),
        rp.client_id(),
        &tokens,
        t,
        w.inner.opts.session_ttl,
    );
    if let Err(e) = w.inner.sessions.put_session(session).await {
        tracing::debug!(error = %e, "session store failure detail");
        return internal("session store");
    }
    tracing::info!(op = %op.entity_id, level = ?id.level, "OIDC login succeeded");
    let target = next
        .as_deref()
        .and_then(safe_next)
        .unwrap_or(&w.inner.opts.default_next)
        .to_owned();
    let mut resp = see_other(&target);
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        w.cookie(&w.inner.opts.session_cookie, &sid, w.inner.opts.session_ttl),
    );
    h.append(
        header::SET_COOKIE,
        w.cookie(&w.inner.opts.login_cookie, "", 0),
    );
    resp
}

async fn logout(State(w): State<OidcWeb>, headers: HeaderMap) -> Response {
    // Another site must not log the citizen out (logout CSRF).
    if cross_site(&headers) {
        tracing::warn!("OIDC logout refused: cross-site request");
        return page(
            StatusCode::FORBIDDEN,
            "Uscita non eseguita",
            &format!(
                "<p>La richiesta di uscita proviene da un altro sito.</p>\
                 <form method=\"post\" action=\"{}\"><button type=\"submit\">Esci</button></form>",
                esc(&w.path("/logout"))
            ),
        );
    }
    if let Err(e) = w.end_session(&headers).await {
        tracing::debug!(error = %e, "session store failure detail");
        return internal("session store");
    }
    let mut resp = see_other(&w.inner.opts.default_next);
    resp.headers_mut()
        .append(header::SET_COOKIE, w.clear_session_cookie());
    resp
}

impl OidcWeb {
    /// Ends the session of the request's cookie (if it is one of this RP) and revokes its
    /// tokens at the OP (a failed revocation is logged: the local session is over anyway).
    /// What `/logout` does, for an application's own logout; send
    /// [`OidcWeb::clear_session_cookie`] with the answer.
    ///
    /// # Errors
    /// [`StoreError`](crate::StoreError) when the session store fails.
    pub async fn end_session(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<OidcSession>, crate::StoreError> {
        let Some(s) = self.session(headers).await else {
            return Ok(None);
        };
        let Some(s) = self.inner.sessions.remove_session(&s.id).await? else {
            return Ok(None);
        };
        let t = now();
        // The session is over here; the OP is asked to drop its tokens (the profile's logout).
        match self.inner.providers.provider(&s.op, t).await {
            Ok(op) => {
                let rp = &self.inner.rp;
                let http = &*self.inner.http;
                let mut tokens = vec![(s.access_token.as_str(), TokenTypeHint::AccessToken)];
                if let Some(r) = &s.refresh_token {
                    tokens.push((r.as_str(), TokenTypeHint::RefreshToken));
                }
                for (tok, hint) in tokens {
                    if let Err(e) = rp.revoke(&op.provider, tok, hint, http, t).await {
                        tracing::warn!(op = %s.op, kind = error_kind(&e), "token revocation failed");
                    }
                }
                tracing::info!(op = %s.op, "OIDC logout");
            }
            Err(e) => tracing::warn!(op = %s.op, kind = error_kind(&e), "OP unknown at logout"),
        }
        Ok(Some(s))
    }

    /// The `Set-Cookie` that removes the session cookie.
    pub fn clear_session_cookie(&self) -> HeaderValue {
        self.cookie(&self.inner.opts.session_cookie, "", 0)
    }
}

/// The logged-in citizen, for handlers: `async fn page(OidcCitizen(c): OidcCitizen)`. Without
/// a valid session of this RP the request is redirected to the chooser (with `next`).
#[derive(Debug, Clone)]
pub struct OidcCitizen(pub CitizenIdentity);

impl<S> FromRequestParts<S> for OidcCitizen
where
    S: Send + Sync,
    OidcWeb: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let w = OidcWeb::from_ref(state);
        if let Some(s) = w.session(&parts.headers).await {
            return Ok(OidcCitizen(s.citizen));
        }
        let mut l = w.path("/login");
        let uri = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or(&parts.uri, |o| &o.0);
        let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
        if let Some(n) = safe_next(target) {
            let _ = write!(l, "?next={}", enc(n));
        }
        Err(see_other(&l))
    }
}

#[cfg(all(test, feature = "simulator"))]
mod tests;
