//! axum integration over loopback: chooser page, login → identity → logout with the test IdP,
//! IdP-initiated logout, error pages, open-redirect and cookie-flag checks.
#![cfg(feature = "axum")]
#![allow(clippy::unwrap_used)]

use std::io::Read as _;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::Utc;
use spid::{
    MemorySessionStore, ServiceProvider, SpConfig, SpCredentials, SpidErrorCode, SpidUser, SpidWeb,
    TestIdp, TestUser, WebOptions, quote_plus,
};

const IDP: &str = "https://idp.test.example";
const IDP_SSO: &str = "https://idp.test.example/sso";
const NAME_ID: &str = "_0123456789abcdef0123456789abcdef";
const NS_SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";

fn key_pem(name: &str) -> (String, String) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys");
    (
        std::fs::read_to_string(dir.join(format!("{name}.key"))).unwrap(),
        std::fs::read_to_string(dir.join(format!("{name}.crt"))).unwrap(),
    )
}

fn creds(name: &str) -> SpCredentials {
    let (k, c) = key_pem(name);
    SpCredentials::from_pem(&k, &c).unwrap()
}

fn idp() -> TestIdp {
    TestIdp::new(IDP, IDP_SSO, creds("idp"))
}

async fn private(SpidUser(s): SpidUser) -> String {
    format!(
        "hello {} {}",
        s.identity.name.unwrap_or_default(),
        s.identity
            .fiscal_number
            .map(|f| f.to_string())
            .unwrap_or_default()
    )
}

/// Everything logged at info level or above by any test of this binary.
static LOGS: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

struct Capture;

struct Fields<'a>(&'a mut String);

impl tracing::field::Visit for Fields<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!(" {}={:?}", field.name(), value));
    }
}

impl tracing::Subscriber for Capture {
    fn enabled(&self, m: &tracing::Metadata<'_>) -> bool {
        *m.level() <= tracing::Level::INFO
    }
    fn new_span(&self, a: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        let mut s = LOGS.lock().unwrap();
        s.push_str(&format!("\nspan {}", a.metadata().name()));
        a.record(&mut Fields(&mut s));
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, v: &tracing::span::Record<'_>) {
        v.record(&mut Fields(&mut LOGS.lock().unwrap()));
    }
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, e: &tracing::Event<'_>) {
        let mut s = LOGS.lock().unwrap();
        s.push_str(&format!("\n{}", e.metadata().level()));
        e.record(&mut Fields(&mut s));
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn capture_logs() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| tracing::subscriber::set_global_default(Capture).unwrap());
}

struct App {
    base: String,
    http: reqwest::Client,
}

/// One entity's app: the example public SP at `base` trusting the test IdP, its SPID routes
/// under `/spid` and a `/private` page behind [`SpidUser`].
fn entity_app(base: &str, sessions: Arc<MemorySessionStore>, opts: WebOptions) -> Router {
    let mut sp = ServiceProvider::new(SpConfig::example_public(base), creds("sp")).unwrap();
    sp.add_idp(idp().metadata().unwrap()).unwrap();
    let web = SpidWeb::new(Arc::new(sp), sessions, opts);
    Router::new()
        .route("/private", get(private))
        .nest("/spid", web.router())
        .with_state(web)
}

async fn start() -> App {
    capture_logs();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = entity_app(
        &base,
        Arc::new(MemorySessionStore::new()),
        WebOptions::default(),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    App { base, http }
}

fn set_cookies(r: &reqwest::Response) -> Vec<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect()
}

fn cookie_named<'a>(cookies: &'a [String], name: &str) -> &'a str {
    cookies
        .iter()
        .find(|c| c.starts_with(&format!("{name}=")))
        .unwrap()
}

fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

fn location(r: &reqwest::Response) -> String {
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// Logs in through the chooser link with `next`; returns the ACS answer.
async fn login(app: &App, next: &str) -> reqwest::Response {
    let r = app
        .http
        .get(format!(
            "{}/spid/login?idp={}&next={}",
            app.base,
            quote_plus(IDP),
            quote_plus(next)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let login_cookie = cookie_named(&set_cookies(&r), "spid_login").to_owned();
    for flag in ["HttpOnly", "Secure", "SameSite=None"] {
        assert!(login_cookie.contains(flag), "{login_cookie}");
    }
    let loc = location(&r);
    assert!(loc.starts_with(IDP_SSO));
    let req = idp().read_redirect(loc.split_once('?').unwrap().1).unwrap();
    let mut t = idp().template(
        &req,
        &format!("{}/spid/acs", app.base),
        &TestUser::example(),
        Utc::now(),
    );
    t.assertion.as_mut().unwrap().name_id = Some(NAME_ID.into());
    let saml = idp().saml_response(&t).unwrap();
    app.http
        .post(format!("{}/spid/acs", app.base))
        .header("cookie", pair(&login_cookie))
        .form(&[
            ("SAMLResponse", saml.as_str()),
            ("RelayState", req.relay_state.as_deref().unwrap_or("")),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn chooser_lists_idps_with_the_spid_button() {
    let app = start().await;
    let r = app
        .http
        .get(format!("{}/spid/login?next=/private", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(html.contains("Entra con SPID"));
    assert!(html.contains("spid-idp-button-link"));
    assert!(html.contains(&format!("idp={}", quote_plus(IDP))));
    assert!(html.contains("next=%2Fprivate"));
    let md = app
        .http
        .get(format!("{}/spid/metadata", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(md.status(), 200);
    assert!(md.text().await.unwrap().contains("md:EntityDescriptor"));
}

#[tokio::test]
async fn login_identity_logout() {
    let app = start().await;
    // Not logged in: sent to the login page, remembering where to come back.
    let r = app
        .http
        .get(format!("{}/private", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/spid/login?next=%2Fprivate");

    let r = login(&app, "/private").await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/private");
    let cookies = set_cookies(&r);
    let session = cookie_named(&cookies, "spid_session").to_owned();
    for flag in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(flag), "{session}");
    }
    assert!(cookie_named(&cookies, "spid_login").contains("Max-Age=0"));
    let session = pair(&session);

    let r = app
        .http
        .get(format!("{}/private", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "hello Mario RSSMRA85T10A562S");

    // Logout: the local session ends and a signed LogoutRequest goes to the IdP.
    let r = app
        .http
        .get(format!("{}/spid/logout", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let loc = location(&r);
    assert!(loc.starts_with(IDP_SSO) && loc.contains("SAMLRequest="));
    let r = app
        .http
        .get(format!("{}/private", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "session ended locally");

    // The IdP answers; the SP accepts it for this browser and clears the cookie.
    let req_id = logout_request_id(&loc);
    let resp = format!(
        "<samlp:LogoutResponse xmlns:samlp=\"{NS_SAMLP}\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_lr\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}/spid/slo\" InResponseTo=\"{req_id}\">\
         <saml:Issuer>{IDP}</saml:Issuer><samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:Success\"/></samlp:Status></samlp:LogoutResponse>",
        now_s(),
        app.base
    );
    let q = redirect_query("SAMLResponse", &resp, None);
    let r = app
        .http
        .get(format!("{}/spid/slo?{q}", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(cookie_named(&set_cookies(&r), "spid_session").contains("Max-Age=0"));

    // Each step was logged at info level, and no personal data or assertion content was.
    let logs = LOGS.lock().unwrap().clone();
    for step in [
        "SPID login started",
        "SPID login succeeded",
        "SPID logout started",
        "SPID logout confirmed",
    ] {
        assert!(logs.contains(step), "{step} missing in {logs}");
    }
    for secret in [
        "Mario",
        "Rossi",
        "RSSMRA85T10A562S",
        "mario.rossi",
        NAME_ID,
        "SAMLResponse",
        "Assertion",
    ] {
        assert!(!logs.contains(secret), "{secret} logged: {logs}");
    }
}

#[tokio::test]
async fn next_cannot_redirect_off_site() {
    let app = start().await;
    for evil in [
        "https://evil.example/",
        "//evil.example/x",
        "/\\evil.example",
    ] {
        let r = login(&app, evil).await;
        assert_eq!(r.status(), 303);
        assert_eq!(location(&r), "/", "{evil}");
    }
}

#[tokio::test]
async fn acs_without_the_login_cookie_or_with_an_error_code_shows_an_error_page() {
    let app = start().await;
    // A valid response posted without the browser's login cookie (login CSRF) is refused.
    let r = app
        .http
        .get(format!("{}/spid/login?idp={}", app.base, quote_plus(IDP)))
        .send()
        .await
        .unwrap();
    let loc = location(&r);
    let login_cookie = pair(cookie_named(&set_cookies(&r), "spid_login"));
    let req = idp().read_redirect(loc.split_once('?').unwrap().1).unwrap();
    let acs = format!("{}/spid/acs", app.base);
    let t = idp().template(&req, &acs, &TestUser::example(), Utc::now());
    let saml = idp().saml_response(&t).unwrap();
    let r = app
        .http
        .post(&acs)
        .header("cookie", "spid_login=_someoneelse")
        .form(&[("SAMLResponse", saml.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(set_cookies(&r).is_empty());

    // The IdP reports ErrorCode nr22: AgID's message is shown.
    let t = idp().error_template(&req, &acs, &SpidErrorCode::Nr22);
    let saml = B64.encode(idp().render(&t).unwrap());
    let r = app
        .http
        .post(&acs)
        .header("cookie", &login_cookie)
        .form(&[("SAMLResponse", saml.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(&esc_html(SpidErrorCode::Nr22.user_message())),
        "{html}"
    );
}

#[tokio::test]
async fn idp_initiated_logout_ends_the_session() {
    let app = start().await;
    let r = login(&app, "/private").await;
    let session = pair(cookie_named(&set_cookies(&r), "spid_session"));
    let name_id = NAME_ID;
    let req = format!(
        "<samlp:LogoutRequest xmlns:samlp=\"{NS_SAMLP}\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"_idpl\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}/spid/slo\">\
         <saml:Issuer>{IDP}</saml:Issuer><saml:NameID Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:transient\" NameQualifier=\"{IDP}\">{name_id}</saml:NameID></samlp:LogoutRequest>",
        now_s(),
        app.base
    );
    let q = redirect_query("SAMLRequest", &req, Some("st"));
    let r = app
        .http
        .get(format!("{}/spid/slo?{q}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let loc = location(&r);
    assert!(
        loc.starts_with(IDP_SSO) && loc.contains("SAMLResponse=") && loc.contains("RelayState=st")
    );
    let r = app
        .http
        .get(format!("{}/private", app.base))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "session ended by the IdP");

    // A forged (unsigned) request is refused.
    let q = redirect_query("SAMLRequest", &req.replace("_idpl", "_idpl2"), None);
    let forged = q.split("&SigAlg=").next().unwrap();
    let r = app
        .http
        .get(format!("{}/spid/slo?{forged}", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

fn esc_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

fn now_s() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn redirect_query(field: &str, xml: &str, relay: Option<&str>) -> String {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, xml.as_bytes()).unwrap();
    let msg = B64.encode(enc.finish().unwrap());
    let mut q = format!("{field}={}", quote_plus(&msg));
    if let Some(r) = relay {
        q.push_str(&format!("&RelayState={}", quote_plus(r)));
    }
    q.push_str(&format!("&SigAlg={}", quote_plus(spid::RSA_SHA256)));
    let sig = creds("idp").sign_rsa_sha256(q.as_bytes()).unwrap();
    format!("{q}&Signature={}", quote_plus(&B64.encode(sig)))
}

fn logout_request_id(url: &str) -> String {
    let q = url.split_once('?').unwrap().1;
    let v = q
        .split('&')
        .find_map(|p| p.strip_prefix("SAMLRequest="))
        .unwrap();
    let v = v
        .replace("%2B", "+")
        .replace("%2F", "/")
        .replace("%3D", "=");
    let raw = B64.decode(v).unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&raw[..])
        .read_to_string(&mut xml)
        .unwrap();
    let doc = xmldsig::Document::parse(xml.as_bytes()).unwrap();
    doc.root().attr("ID").unwrap().to_owned()
}

/// Two entities (municipalities) served by one deployment under the path prefixes `/comune-a`
/// and `/comune-b`, each with its own SP identity. With `shared_store` they share one session
/// store and the default cookie path (the worst case for mixing sessions up); otherwise each
/// has its own store and cookie path.
async fn tenants_by_path(shared_store: bool) -> (App, App) {
    capture_logs();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = format!("http://{}", listener.local_addr().unwrap());
    let store = Arc::new(MemorySessionStore::new());
    let mut app: Router = Router::new();
    for tenant in ["comune-a", "comune-b"] {
        let base = format!("{host}/{tenant}");
        let mut opts = WebOptions::default();
        opts.base_path = format!("/{tenant}/spid");
        let sessions = if shared_store {
            store.clone()
        } else {
            opts.cookie_path = format!("/{tenant}");
            Arc::new(MemorySessionStore::new())
        };
        app = app.nest(&format!("/{tenant}"), entity_app(&base, sessions, opts));
    }
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    (
        App {
            base: format!("{host}/comune-a"),
            http: http.clone(),
        },
        App {
            base: format!("{host}/comune-b"),
            http,
        },
    )
}

/// Two entities under path prefixes, each with its own SP identity, session store and cookie
/// path.
#[tokio::test]
async fn two_tenants_by_path_keep_sessions_apart() {
    let (a, _) = tenants_by_path(false).await;
    let host = a.base.trim_end_matches("/comune-a").to_owned();
    let http = a.http.clone();
    // Each tenant publishes its own metadata.
    for tenant in ["comune-a", "comune-b"] {
        let md = http
            .get(format!("{host}/{tenant}/spid/metadata"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            md.contains(&format!("entityID=\"{host}/{tenant}/spid/metadata\"")),
            "{md}"
        );
    }

    // Log in at tenant A.
    let r = http
        .get(format!(
            "{host}/comune-a/spid/login?idp={}&next=/comune-a/private",
            quote_plus(IDP)
        ))
        .send()
        .await
        .unwrap();
    let login_cookie = cookie_named(&set_cookies(&r), "spid_login").to_owned();
    assert!(login_cookie.contains("Path=/comune-a;"), "{login_cookie}");
    let req = idp()
        .read_redirect(location(&r).split_once('?').unwrap().1)
        .unwrap();
    let acs = format!("{host}/comune-a/spid/acs");
    let t = idp().template(&req, &acs, &TestUser::example(), Utc::now());
    let saml = idp().saml_response(&t).unwrap();
    let r = http
        .post(&acs)
        .header("cookie", pair(&login_cookie))
        .form(&[("SAMLResponse", saml.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/comune-a/private");
    let session = pair(cookie_named(&set_cookies(&r), "spid_session"));

    let ok = http
        .get(format!("{host}/comune-a/private"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    // The same cookie presented to tenant B is not a session there.
    let other = http
        .get(format!("{host}/comune-b/private"))
        .header("cookie", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 303);
    assert_eq!(
        location(&other),
        "/comune-b/spid/login?next=%2Fcomune-b%2Fprivate"
    );
}

/// Two entities served by host name from one listener.
#[tokio::test]
async fn two_tenants_by_host() {
    capture_logs();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let mut hosts = spid::HostRouter::new();
    for tenant in ["comune-a.example", "comune-b.example"] {
        let base = format!("http://{tenant}");
        let r = entity_app(
            &base,
            Arc::new(MemorySessionStore::new()),
            WebOptions::default(),
        );
        hosts = hosts.host(tenant, r);
    }
    let app = hosts.into_router();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = reqwest::Client::new();
    for tenant in ["comune-a.example", "Comune-B.example"] {
        let md = http
            .get(format!("http://{addr}/spid/metadata"))
            .header("host", tenant)
            .send()
            .await
            .unwrap();
        assert_eq!(md.status(), 200);
        let md = md.text().await.unwrap();
        let entity = format!(
            "entityID=\"http://{}/spid/metadata\"",
            tenant.to_ascii_lowercase()
        );
        assert!(md.contains(&entity), "{md}");
    }
    let unknown = http
        .get(format!("http://{addr}/spid/metadata"))
        .header("host", "evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

async fn get_with(app: &App, path: &str, cookie: &str) -> reqwest::Response {
    app.http
        .get(format!("{}{path}", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_session_is_honoured_only_by_the_entity_it_was_made_for() {
    let (a, b) = tenants_by_path(true).await;
    let r = login(&a, "/comune-a/private").await;
    assert_eq!(r.status(), 303);
    let session = pair(cookie_named(&set_cookies(&r), "spid_session"));
    assert_eq!(get_with(&a, "/private", &session).await.status(), 200);

    // Entity B finds the session in the shared store, but it is A's: B asks for a login.
    let r = get_with(&b, "/private", &session).await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        location(&r),
        "/comune-b/spid/login?next=%2Fcomune-b%2Fprivate"
    );

    // B's logout does not end A's session.
    let r = get_with(&b, "/spid/logout", &session).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/");
    assert_eq!(get_with(&a, "/private", &session).await.status(), 200);

    // A's does.
    let r = get_with(&a, "/spid/logout", &session).await;
    assert_eq!(r.status(), 302);
    assert!(location(&r).starts_with(IDP_SSO));
    assert_eq!(get_with(&a, "/private", &session).await.status(), 303);
}

#[tokio::test]
async fn another_site_cannot_log_the_user_out() {
    let app = start().await;
    let r = login(&app, "/private").await;
    let session = pair(cookie_named(&set_cookies(&r), "spid_session"));

    // A link or an auto-submitted form on another site: refused, the session goes on.
    for method in [reqwest::Method::GET, reqwest::Method::POST] {
        let r = app
            .http
            .request(method.clone(), format!("{}/spid/logout", app.base))
            .header("cookie", &session)
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{method}");
        let html = r.text().await.unwrap();
        assert!(html.contains("action=\"/spid/logout\""), "{html}");
        let r = get_with(&app, "/private", &session).await;
        assert_eq!(r.status(), 200, "{method}: the session survived");
    }

    // The same request from the site itself (the page's "Esci" button) logs out.
    let r = app
        .http
        .post(format!("{}/spid/logout", app.base))
        .header("cookie", &session)
        .header("sec-fetch-site", "same-origin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert!(location(&r).starts_with(IDP_SSO));
    assert_eq!(get_with(&app, "/private", &session).await.status(), 303);
}
