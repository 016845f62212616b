//! axum integration (feature `axum`): a router with the SP metadata, login (IdP chooser with
//! the "Entra con SPID" button and the IdP list), ACS, logout and Single Logout endpoints, and
//! a [`SpidUser`] extractor giving handlers the logged-in identity.
//!
//! Cookies are `HttpOnly` and `Secure` (switch off only for plain-HTTP development with
//! [`WebOptions::insecure_http_cookies`]). The short-lived login cookie that binds the IdP's
//! answer to the browser is `SameSite=None`, because the IdP posts the response cross-site; the
//! session cookie is `SameSite=Lax` and is a fresh random value after each login. The page
//! to return to after login (`next`) must be a same-site path: anything else becomes the
//! default page (no open redirect).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, FromRequestParts, Query, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use chrono::{Duration, Utc};

use crate::config::Binding;
use crate::error::{Error, ResponseError};
use crate::registry::known_idp;
use crate::session::{SessionStore, SpSession};
use crate::slo::{IncomingMessage, LogoutMessage};
use crate::sp::{AuthnOptions, AuthnRequestMessage, ServiceProvider};
use crate::xml::{esc, new_id};

/// Options of the web integration.
#[derive(Debug, Clone)]
pub struct WebOptions {
    /// Where the router is nested (e.g. `/spid`); the SP configuration's ACS and SLO URLs
    /// must point to `{base}/acs` and `{base}/slo`.
    pub base_path: String,
    /// Name of the session cookie.
    pub session_cookie: String,
    /// Name of the login cookie (binds a pending AuthnRequest to the browser).
    pub login_cookie: String,
    /// Session lifetime.
    pub session_ttl: Duration,
    /// Where to go after login/logout when no (valid) `next` was given.
    pub default_next: String,
    /// Binding used to send AuthnRequests and LogoutRequests.
    pub binding: Binding,
    /// `Path` of the cookies (default `/`). With several entities served from one host under
    /// different path prefixes, give each its prefix (or distinct cookie names) so that their
    /// cookies do not overwrite each other, and each its own session store (e.g. a
    /// [`RedisStore`](crate::RedisStore) key prefix per entity).
    pub cookie_path: String,
    secure: bool,
}

impl Default for WebOptions {
    fn default() -> Self {
        WebOptions {
            base_path: "/spid".into(),
            session_cookie: "spid_session".into(),
            login_cookie: "spid_login".into(),
            session_ttl: Duration::hours(1),
            default_next: "/".into(),
            binding: Binding::HttpRedirect,
            cookie_path: "/".into(),
            secure: true,
        }
    }
}

impl WebOptions {
    /// Drops the `Secure` cookie flag, for local development over plain HTTP only.
    ///
    /// Browsers refuse a `SameSite=None` cookie without `Secure`, so in this mode the login
    /// cookie is `SameSite=Lax`: the IdP's POST to the ACS then carries it only when the IdP is
    /// on the same site (a test IdP served by the same development host).
    #[must_use]
    pub fn insecure_http_cookies(mut self) -> Self {
        self.secure = false;
        self
    }
}

/// A metadata document served instead of the engine's SPID metadata.
type MetadataSource = Arc<dyn Fn() -> Result<String, String> + Send + Sync>;

/// The state of the SPID routes: the SP, the session store and the options.
#[derive(Clone)]
pub struct SpidWeb {
    sp: Arc<ServiceProvider>,
    sessions: Arc<dyn SessionStore>,
    opts: Arc<WebOptions>,
    metadata: Option<MetadataSource>,
}

impl std::fmt::Debug for SpidWeb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SpidWeb")
            .field("sp", &self.sp)
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl SpidWeb {
    /// The SPID web state.
    pub fn new(
        sp: Arc<ServiceProvider>,
        sessions: Arc<dyn SessionStore>,
        opts: WebOptions,
    ) -> Self {
        SpidWeb {
            sp,
            sessions,
            opts: Arc::new(opts),
            metadata: None,
        }
    }

    /// Serves the document `source` makes at `/metadata` instead of the SPID metadata: for
    /// another profile of the same engine (the CIE SP of the `cie` crate uses it for its CIE
    /// metadata). An error becomes a 500 page; its text is logged at debug level only.
    #[must_use]
    pub fn with_metadata(
        mut self,
        source: impl Fn() -> Result<String, String> + Send + Sync + 'static,
    ) -> Self {
        self.metadata = Some(Arc::new(source));
        self
    }

    /// The SP of these routes.
    pub fn service_provider(&self) -> &ServiceProvider {
        &self.sp
    }

    /// The routes `/metadata`, `/login`, `/acs`, `/logout` and `/slo`, to nest at
    /// [`WebOptions::base_path`].
    pub fn router<S>(&self) -> Router<S> {
        Router::new()
            .route("/metadata", get(metadata))
            .route("/login", get(login))
            .route("/acs", axum::routing::post(acs))
            .route("/logout", get(logout).post(logout))
            .route("/slo", get(slo_get).post(slo_post))
            .with_state(self.clone())
    }

    fn cookie(&self, name: &str, value: &str, same_site: &str, max_age: i64) -> HeaderValue {
        let path = Some(self.opts.cookie_path.as_str())
            .filter(|p| p.starts_with('/') && !p.contains(';') && p.is_ascii())
            .unwrap_or("/");
        let mut c = format!(
            "{name}={value}; Path={path}; HttpOnly; SameSite={same_site}; Max-Age={max_age}"
        );
        if self.opts.secure {
            c.push_str("; Secure");
        }
        // Names are ours and values are hex/underscore tokens or empty.
        HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static(""))
    }

    /// `SameSite` of the login cookie: `None` (the IdP posts cross-site), `Lax` over plain HTTP.
    fn login_same_site(&self) -> &'static str {
        if self.opts.secure { "None" } else { "Lax" }
    }

    fn path(&self, tail: &str) -> String {
        format!("{}{tail}", self.opts.base_path.trim_end_matches('/'))
    }
}

/// Dispatches each request to the router of the entity named by its `Host` header: one
/// deployment serving many entities, each with its own [`SpidWeb`] (SP identity, sessions).
/// Hosts are compared lowercase, port included when the client sends one. Unknown hosts get
/// 404.
#[derive(Clone, Default)]
pub struct HostRouter {
    routes: std::collections::BTreeMap<String, Router>,
}

impl std::fmt::Debug for HostRouter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostRouter")
            .field("hosts", &self.routes.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl HostRouter {
    /// No hosts yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Serves `host` (e.g. `servizi.comune-a.it`) with `router`.
    #[must_use]
    pub fn host(mut self, host: &str, router: Router) -> Self {
        self.routes.insert(host.to_ascii_lowercase(), router);
        self
    }

    /// The dispatching router.
    pub fn into_router(self) -> Router {
        let routes = Arc::new(self.routes);
        Router::new().fallback(move |req: axum::extract::Request| {
            let routes = routes.clone();
            async move {
                let host = req
                    .headers()
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_ascii_lowercase);
                match host.and_then(|h| routes.get(&h).cloned()) {
                    Some(r) => {
                        use tower::ServiceExt as _;
                        match r.oneshot(req).await {
                            Ok(resp) => resp,
                            Err(never) => match never {},
                        }
                    }
                    None => StatusCode::NOT_FOUND.into_response(),
                }
            }
        })
    }
}

/// A same-site path to go to after login, or `None` (absolute URLs, scheme-relative `//host`,
/// backslashes and control characters are refused).
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

fn page(status: StatusCode, title: &str, body: &str) -> Response {
    let html = format!(
        "<!DOCTYPE html><html lang=\"it\"><head><meta charset=\"utf-8\"><title>{}</title></head><body><main><h1>{}</h1>{body}</main></body></html>",
        esc(title),
        esc(title)
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

fn internal(e: &Error) -> Response {
    // Details stay out of the page (they may name internals) and out of info-level logs.
    tracing::error!(kind = error_kind(e), "SPID request failed");
    tracing::debug!(error = %e, "SPID request failure detail");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Errore",
        "<p>Si è verificato un errore. Riprova più tardi.</p>",
    )
}

/// A short name of the error kind, safe to log (no message contents, no personal data).
fn error_kind(e: &Error) -> &'static str {
    match e {
        Error::Config(_) => "config",
        Error::Key(_) => "key",
        Error::Metadata(_) => "metadata",
        Error::Request(_) => "request",
        Error::Response(_) => "response",
        Error::Store(_) => "store",
        Error::Logout(_) => "logout",
        // Kept for variants added later to the crate's error enum.
        #[allow(unreachable_patterns)]
        _ => "other",
    }
}

/// The login error page: AgID's message for the SPID error code when the IdP sent one.
fn login_error(e: &Error) -> Response {
    let code = match e {
        Error::Response(r) => r.spid_error_code().map(|c| c.code().to_owned()),
        _ => None,
    };
    tracing::warn!(kind = error_kind(e), spid_error_code = ?code, "SPID login refused");
    // The detail may quote attribute values: debug level only.
    tracing::debug!(error = %e, "SPID login refusal detail");
    let message = match e {
        Error::Response(r) => r
            .spid_error_code()
            .map(|c| c.user_message())
            .unwrap_or(match r {
                ResponseError::Replay(_) | ResponseError::UnknownRequest(_) => {
                    "La richiesta di accesso è scaduta o è già stata usata. Riprova l'accesso."
                }
                _ => "Autenticazione non riuscita.",
            }),
        Error::Store(_) => return internal(e),
        _ => "Autenticazione non riuscita.",
    };
    page(
        StatusCode::FORBIDDEN,
        "Accesso con SPID non riuscito",
        &format!("<p>{}</p>", esc(message)),
    )
}

fn send(msg_redirect: Option<String>, html: Option<String>) -> Response {
    match (msg_redirect, html) {
        (Some(url), _) => {
            let mut r = StatusCode::FOUND.into_response();
            if let Ok(v) = HeaderValue::from_str(&url) {
                r.headers_mut().insert(header::LOCATION, v);
            }
            r
        }
        (None, Some(html)) => Html(html).into_response(),
        (None, None) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

fn send_logout(m: LogoutMessage) -> Response {
    match m {
        LogoutMessage::Redirect { url, .. } => send(Some(url), None),
        LogoutMessage::Post { html, .. } => send(None, Some(html)),
    }
}

#[tracing::instrument(name = "spid.web.metadata", skip_all)]
async fn metadata(State(w): State<SpidWeb>) -> Response {
    if let Some(source) = &w.metadata {
        return match source() {
            Ok(xml) => (
                [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
                xml,
            )
                .into_response(),
            Err(e) => {
                tracing::error!("SP metadata could not be made");
                tracing::debug!(error = %e, "SP metadata failure detail");
                page(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Errore",
                    "<p>Si è verificato un errore. Riprova più tardi.</p>",
                )
            }
        };
    }
    match w.sp.metadata() {
        Ok(xml) => (
            [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
            xml,
        )
            .into_response(),
        Err(e) => internal(&e),
    }
}

/// The IdP chooser with the "Entra con SPID" button layout.
fn chooser(w: &SpidWeb, next: Option<&str>) -> String {
    let mut o = String::from(
        "<!DOCTYPE html><html lang=\"it\"><head><meta charset=\"utf-8\"><title>Entra con SPID</title></head><body><main>\
         <div class=\"spid-button\">\
         <button type=\"button\" class=\"italia-it-button italia-it-button-size-m button-spid\" aria-haspopup=\"true\" aria-expanded=\"true\" aria-controls=\"spid-idp-list\">\
         <span class=\"italia-it-button-icon\" aria-hidden=\"true\">SPID</span>\
         <span class=\"italia-it-button-text\">Entra con SPID</span></button>\
         <ul id=\"spid-idp-list\" class=\"spid-idp-button-menu\" role=\"menu\" aria-label=\"Scegli il tuo gestore di identità SPID\">",
    );
    let login = w.path("/login");
    for idp in w.sp.idps() {
        let (name, button) = known_idp(&idp.entity_id)
            .map(|k| (k.display_name.to_owned(), k.button_id))
            .unwrap_or_else(|| (idp.entity_id.clone(), ""));
        let mut href = format!("{login}?idp={}", crate::authn::quote_plus(&idp.entity_id));
        if let Some(n) = next {
            let _ = write!(href, "&next={}", crate::authn::quote_plus(n));
        }
        let _ = write!(
            o,
            "<li class=\"spid-idp-button-link\" role=\"menuitem\" data-idp=\"{}\"><a href=\"{}\"><span class=\"spid-sr-only\">{}</span>{}</a></li>",
            esc(button),
            esc(&href),
            esc(&name),
            esc(&name)
        );
    }
    o.push_str(
        "<li class=\"spid-idp-support-link\"><a href=\"https://www.spid.gov.it\">Maggiori informazioni</a></li>\
         <li class=\"spid-idp-support-link\"><a href=\"https://www.spid.gov.it/cos-e-spid/come-attivare-spid/\">Non hai SPID?</a></li>\
         <li class=\"spid-idp-support-link\"><a href=\"https://www.spid.gov.it/serve-aiuto\">Serve aiuto?</a></li>\
         </ul></div></main></body></html>",
    );
    o
}

#[tracing::instrument(name = "spid.web.login", skip_all)]
async fn login(State(w): State<SpidWeb>, Query(q): Query<HashMap<String, String>>) -> Response {
    let next = q.get("next").and_then(|n| safe_next(n));
    let Some(idp) = q.get("idp") else {
        tracing::debug!("IdP chooser shown");
        return Html(chooser(&w, next)).into_response();
    };
    tracing::info!(idp = %idp, "SPID login started");
    let login_id = new_id();
    let mut opts = AuthnOptions::new(idp.clone(), login_id.clone());
    opts.binding = w.opts.binding;
    let msg = match w.sp.authn_request(opts).await {
        Ok(m) => m,
        Err(Error::Request(_)) => {
            return page(
                StatusCode::BAD_REQUEST,
                "Gestore di identità sconosciuto",
                "<p>Scegli un gestore di identità dall'elenco.</p>",
            );
        }
        Err(e) => return internal(&e),
    };
    let mut resp = match msg {
        AuthnRequestMessage::Redirect { url, .. } => send(Some(url), None),
        AuthnRequestMessage::Post { html, .. } => send(None, Some(html)),
    };
    let ttl = w.sp.config().request_ttl_secs as i64;
    let value = match next {
        // The next path travels hex-encoded inside the login cookie, never to the IdP.
        Some(n) => format!("{login_id}.{}", hex(n.as_bytes())),
        None => login_id,
    };
    resp.headers_mut().append(
        header::SET_COOKIE,
        w.cookie(&w.opts.login_cookie, &value, w.login_same_site(), ttl),
    );
    resp
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

fn unhex(s: &str) -> Option<String> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

#[tracing::instrument(name = "spid.web.acs", skip_all)]
async fn acs(
    State(w): State<SpidWeb>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let Some(cookie) = cookie_value(&headers, &w.opts.login_cookie) else {
        return login_error(&Error::Response(ResponseError::UnknownRequest(
            "(no login cookie)".into(),
        )));
    };
    let (login_id, next) = match cookie.split_once('.') {
        Some((id, n)) => (id, unhex(n)),
        None => (cookie, None),
    };
    let Some(saml) = form.get("SAMLResponse") else {
        return page(
            StatusCode::BAD_REQUEST,
            "Richiesta non valida",
            "<p>Manca SAMLResponse.</p>",
        );
    };
    let auth = match w.sp.process_response(saml, login_id).await {
        Ok(a) => a,
        Err(e) => return login_error(&e),
    };
    tracing::info!(idp = %auth.idp_entity_id, level = ?auth.level, "SPID login succeeded");
    let session = SpSession::new(new_id(), &auth, Utc::now(), w.opts.session_ttl)
        .for_sp(w.sp.config().entity_id.clone());
    let sid = session.id.clone();
    if let Err(e) = w.sessions.put_session(session).await {
        return internal(&Error::Store(e));
    }
    let target = next
        .as_deref()
        .and_then(safe_next)
        .unwrap_or(&w.opts.default_next)
        .to_owned();
    let mut resp = see_other(&target);
    let h = resp.headers_mut();
    h.append(
        header::SET_COOKIE,
        w.cookie(
            &w.opts.session_cookie,
            &sid,
            "Lax",
            w.opts.session_ttl.num_seconds(),
        ),
    );
    h.append(
        header::SET_COOKIE,
        w.cookie(&w.opts.login_cookie, "", w.login_same_site(), 0),
    );
    resp
}

/// `true` when the browser says the request comes from another site (`Sec-Fetch-Site:
/// cross-site`, sent by current browsers on every request).
fn cross_site(headers: &HeaderMap) -> bool {
    headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("cross-site"))
}

#[tracing::instrument(name = "spid.web.logout", skip_all)]
async fn logout(State(w): State<SpidWeb>, headers: HeaderMap) -> Response {
    // Another site must not log the user out (logout CSRF): a link or form elsewhere leads here
    // only to a page with the button.
    if cross_site(&headers) {
        tracing::warn!("SPID logout refused: cross-site request");
        let action = esc(&w.path("/logout"));
        return page(
            StatusCode::FORBIDDEN,
            "Uscita non eseguita",
            &format!(
                "<p>La richiesta di uscita proviene da un altro sito.</p>\
                 <form method=\"post\" action=\"{action}\"><button type=\"submit\">Esci</button></form>"
            ),
        );
    }
    let Some(sid) = cookie_value(&headers, &w.opts.session_cookie) else {
        return see_other(&w.opts.default_next);
    };
    let entity_id = &w.sp.config().entity_id;
    // Only a session of this SP identity is ended here.
    match w.sessions.get_session(sid, Utc::now()).await {
        Ok(Some(s)) if s.belongs_to(entity_id) => {}
        Ok(_) => return see_other(&w.opts.default_next),
        Err(e) => return internal(&Error::Store(e)),
    }
    let session = match w.sessions.remove_session(sid).await {
        Ok(Some(s)) => s,
        Ok(None) => return see_other(&w.opts.default_next),
        Err(e) => return internal(&Error::Store(e)),
    };
    tracing::info!(idp = %session.idp_entity_id, "SPID logout started");
    // The local session ends now; the cookie stays until the IdP answers (it binds the answer).
    match w.sp.logout_request(&session, w.opts.binding, None).await {
        Ok(m) => send_logout(m),
        Err(e) => internal(&e),
    }
}

#[tracing::instrument(name = "spid.web.slo_get", skip_all)]
async fn slo_get(State(w): State<SpidWeb>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let q = q.unwrap_or_default();
    let is_response = q.split('&').any(|p| p.starts_with("SAMLResponse="));
    slo(
        w,
        headers,
        IncomingMessage::Redirect { query: &q },
        is_response,
    )
    .await
}

#[tracing::instrument(name = "spid.web.slo_post", skip_all)]
async fn slo_post(
    State(w): State<SpidWeb>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let relay = form.get("RelayState").map(String::as_str);
    match (form.get("SAMLResponse"), form.get("SAMLRequest")) {
        (Some(m), _) => {
            let msg = IncomingMessage::Post {
                message: m,
                relay_state: relay,
            };
            slo(w, headers, msg, true).await
        }
        (None, Some(m)) => {
            let msg = IncomingMessage::Post {
                message: m,
                relay_state: relay,
            };
            slo(w, headers, msg, false).await
        }
        (None, None) => page(
            StatusCode::BAD_REQUEST,
            "Richiesta non valida",
            "<p>Manca il messaggio SAML.</p>",
        ),
    }
}

async fn slo(w: SpidWeb, headers: HeaderMap, msg: IncomingMessage<'_>, response: bool) -> Response {
    let binding = match msg {
        IncomingMessage::Redirect { .. } => Binding::HttpRedirect,
        IncomingMessage::Post { .. } => Binding::HttpPost,
    };
    if response {
        let sid = cookie_value(&headers, &w.opts.session_cookie).unwrap_or("");
        let mut resp = match w.sp.process_logout_response(msg, sid).await {
            Ok(done) => {
                tracing::info!(idp = %done.idp_entity_id, "SPID logout confirmed by the IdP");
                see_other(&w.opts.default_next)
            }
            Err(Error::Store(e)) => return internal(&Error::Store(e)),
            Err(e) => {
                tracing::warn!(kind = error_kind(&e), "SPID LogoutResponse refused");
                tracing::debug!(error = %e, "LogoutResponse refusal detail");
                page(
                    StatusCode::BAD_REQUEST,
                    "Uscita da SPID non confermata",
                    "<p>La sessione locale è chiusa, ma il gestore di identità non ha confermato l'uscita.</p>",
                )
            }
        };
        resp.headers_mut().append(
            header::SET_COOKIE,
            w.cookie(&w.opts.session_cookie, "", "Lax", 0),
        );
        return resp;
    }
    let req = match w.sp.process_idp_logout_request(msg).await {
        Ok(r) => r,
        Err(Error::Store(e)) => return internal(&Error::Store(e)),
        Err(e) => {
            tracing::warn!(kind = error_kind(&e), "IdP LogoutRequest refused");
            tracing::debug!(error = %e, "IdP LogoutRequest refusal detail");
            return page(
                StatusCode::BAD_REQUEST,
                "Richiesta di uscita non valida",
                "<p>La richiesta di uscita non è stata accettata.</p>",
            );
        }
    };
    match w
        .sessions
        .remove_subject(&req.idp_entity_id, &req.name_id)
        .await
    {
        Ok(n) => tracing::info!(idp = %req.idp_entity_id, sessions = n, "IdP-initiated logout"),
        Err(e) => return internal(&Error::Store(e)),
    }
    match w.sp.logout_response(&req, binding) {
        Ok(m) => send_logout(m),
        Err(e) => internal(&e),
    }
}

/// The logged-in user, for handlers: `async fn page(SpidUser(session): SpidUser)`. Without a
/// valid session the request is redirected to the login page.
#[derive(Debug, Clone)]
pub struct SpidUser(pub SpSession);

impl<S> FromRequestParts<S> for SpidUser
where
    S: Send + Sync,
    SpidWeb: FromRef<S>,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let w = SpidWeb::from_ref(state);
        let login = {
            let mut l = w.path("/login");
            // Inside nested routers the URI lacks the prefix; the original one has it.
            let uri = parts
                .extensions
                .get::<axum::extract::OriginalUri>()
                .map_or(&parts.uri, |o| &o.0);
            let target = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
            if let Some(n) = safe_next(target) {
                let _ = write!(l, "?next={}", crate::authn::quote_plus(n));
            }
            l
        };
        let Some(sid) = cookie_value(&parts.headers, &w.opts.session_cookie) else {
            return Err(see_other(&login));
        };
        match w.sessions.get_session(sid, Utc::now()).await {
            Ok(Some(s)) if s.belongs_to(&w.sp.config().entity_id) => Ok(SpidUser(s)),
            Ok(_) => Err(see_other(&login)),
            Err(e) => Err(internal(&Error::Store(e))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_must_be_a_same_site_path() {
        assert_eq!(safe_next("/servizi?x=1"), Some("/servizi?x=1"));
        for bad in [
            "https://evil.example/",
            "//evil.example",
            "/\\evil.example",
            "evil",
            "",
            "/a\nb",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_next(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn hex_round_trip() {
        assert_eq!(
            unhex(&hex("/pàth?q".as_bytes())).as_deref(),
            Some("/pàth?q")
        );
        assert_eq!(unhex("zz"), None);
        assert_eq!(unhex("abc"), None);
    }
}
