//! Whole logins through the routes, as a browser goes: the RP's router and the test
//! federation's router (Trust Anchor, OPs) answer in process; the RP resolves the OPs' Trust
//! Chains and calls their token, UserInfo and revocation endpoints through the federation's
//! in-process transport. Attack cases: a callback with another browser's state, a replayed
//! callback, no login cookie, altered login and session cookies, cross-site logout.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::{
    EntityConfigurationBuilder, Jwks, MemoryOidcSessionStore, MemoryPendingLoginStore, SigningKey,
    TestFederation, TrustChainCache, TrustChainResolver,
};
use axum::body::Body;
use axum::http::{Method, Request};
use pa_types::LoginMethod;
use serde_json::json;
use std::collections::BTreeMap;
use tower::ServiceExt as _;

const RP: &str = "https://comune.example.it/oidc";
const RP_ORIGIN: &str = "https://comune.example.it";
const FED: &str = "https://fed.example.it";
const CF: &str = "RSSMRA85T10A562S";

struct World {
    fed: TestFederation,
    app: Router,
    fed_router: Router,
}

fn world() -> World {
    let fed = TestFederation::new(FED).unwrap();
    let rp_fed = vec![SigningKey::generate_es256().unwrap()];
    let rp_sig = SigningKey::generate_es256().unwrap();
    let enc = DecryptionKey::generate_p256();
    let oidc_jwks = Jwks {
        keys: vec![rp_sig.public_jwk(), enc.public_jwk()],
    };
    let ta = fed.trust_anchor_id();
    let callback = format!("{RP}/callback");
    let ec: EntityConfigurationSource = {
        let callback = callback.clone();
        Arc::new(move |now| {
            let m = json!({"client_id": RP, "redirect_uris": [callback],
                "grant_types": ["authorization_code"], "response_types": ["code"],
                "token_endpoint_auth_method": "private_key_jwt",
                "client_registration_types": ["automatic"]});
            EntityConfigurationBuilder::new(RP, &rp_fed, oidc_jwks.clone())
                .rp_metadata(m.as_object().cloned().unwrap_or_default())
                .authority_hints(vec![ta.clone()])
                .sign(now)
                .map_err(|e| e.to_string())
        })
    };
    fed.register_rp(&ec(now()).unwrap()).unwrap();
    let transport = fed.transport();
    let resolver = TrustChainResolver::new(transport.clone(), vec![fed.trust_anchor()]);
    let cache = Arc::new(TrustChainCache::new(resolver, 300));
    let providers = FederationProviders::new(cache, Arc::new(transport.clone()))
        .discover(fed.trust_anchor_id(), Scheme::Spid)
        .op(fed.op_id("cie"), Scheme::Cie);
    let web = OidcWeb::new(OidcWebParts {
        rp: RelyingParty::new(RP, vec![callback], rp_sig).unwrap(),
        entity_configuration: ec,
        providers: Arc::new(providers),
        pending: Arc::new(MemoryPendingLoginStore::new()),
        sessions: Arc::new(MemoryOidcSessionStore::new()),
        http: Arc::new(transport),
        decryption_keys: vec![enc],
        options: WebOptions {
            default_next: "/".into(),
            ..WebOptions::default()
        },
    });
    let app = Router::new()
        .route("/area", get(area))
        .with_state(web.clone())
        .nest("/oidc", web.router());
    World {
        fed_router: fed.router(),
        fed,
        app,
    }
}

async fn area(OidcCitizen(c): OidcCitizen) -> String {
    let level = match c.method {
        LoginMethod::Spid { level } => format!("SPID {level:?}"),
        LoginMethod::CieId { level } => format!("CIE {level:?}"),
        _ => "other".into(),
    };
    format!(
        "{} {} {level} {}",
        c.fiscal_code,
        c.family_name.unwrap_or_default(),
        c.issuer
    )
}

#[derive(Debug, Default, Clone)]
struct Jar(BTreeMap<String, String>);

impl Jar {
    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
    fn take(&mut self, h: &HeaderMap) {
        for c in h.get_all(header::SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (kv, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = kv.split_once('=').unwrap();
            if v.is_empty() || attrs.contains("Max-Age=0") {
                self.0.remove(k);
            } else {
                self.0.insert(k.into(), v.into());
            }
        }
    }
}

struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Resp {
    fn location(&self) -> String {
        self.headers[header::LOCATION].to_str().unwrap().to_owned()
    }
}

impl World {
    async fn send(&self, method: Method, url: &str, jar: &mut Jar, form: Option<String>) -> Resp {
        self.send_with(method, url, jar, form, &[]).await
    }

    async fn send_with(
        &self,
        method: Method,
        url: &str,
        jar: &mut Jar,
        form: Option<String>,
        extra: &[(&str, &str)],
    ) -> Resp {
        let (router, path) = if let Some(p) = url.strip_prefix(FED) {
            (self.fed_router.clone(), p.to_owned())
        } else if let Some(p) = url.strip_prefix(RP_ORIGIN) {
            (self.app.clone(), p.to_owned())
        } else {
            (self.app.clone(), url.to_owned())
        };
        let mut b = Request::builder().method(method).uri(path);
        if !jar.0.is_empty() {
            b = b.header(header::COOKIE, jar.header());
        }
        for (k, v) in extra {
            b = b.header(*k, *v);
        }
        let body = match form {
            Some(f) => {
                b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::from(f)
            }
            None => Body::empty(),
        };
        let r = router.oneshot(b.body(body).unwrap()).await.unwrap();
        let status = r.status();
        let headers = r.headers().clone();
        jar.take(&headers);
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        }
    }

    /// From `/oidc/login?op=…` to the OP's callback URL (not yet followed).
    async fn to_callback(&self, jar: &mut Jar, op: &str, consent: bool) -> String {
        let start = format!(
            "/oidc/login?op={}&next={}",
            enc(&self.fed.op_id(op)),
            enc("/area")
        );
        let r = self.send(Method::GET, &start, jar, None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        let auth = r.location();
        assert!(auth.starts_with(&format!("{}/authorization?", self.fed.op_id(op))));
        let r = self.send(Method::GET, &auth, jar, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let token = r
            .body
            .split("name=\"token\" value=\"")
            .nth(1)
            .and_then(|t| t.split('"').next())
            .unwrap()
            .to_owned();
        let form = format!(
            "token={}&given_name=Mario&family_name=Rossi&fiscal_code={CF}&consent={}",
            enc(&token),
            if consent { "yes" } else { "no" }
        );
        let r = self
            .send(
                Method::POST,
                &format!("{}/consent", self.fed.op_id(op)),
                jar,
                Some(form),
            )
            .await;
        assert_eq!(r.status, StatusCode::FOUND, "{}", r.body);
        let cb = r.location();
        assert!(cb.starts_with(&format!("{RP}/callback?")), "{cb}");
        cb
    }

    async fn login(&self, op: &str) -> Jar {
        let mut jar = Jar::default();
        let cb = self.to_callback(&mut jar, op, true).await;
        let r = self.send(Method::GET, &cb, &mut jar, None).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
        assert_eq!(r.location(), "/area");
        jar
    }
}

fn login_cookie_of(h: &HeaderMap) -> String {
    h.get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("oidc_login="))
        .unwrap()
}

#[tokio::test]
async fn entity_configuration_is_served_signed() {
    let w = world();
    let r = w
        .send(
            Method::GET,
            "/oidc/.well-known/openid-federation",
            &mut Jar::default(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.headers[header::CONTENT_TYPE],
        "application/entity-statement+jwt"
    );
    let st = crate::verify_entity_configuration(&r.body, RP, &crate::Alg::ALL, now()).unwrap();
    assert_eq!(st.authority_hints, vec![w.fed.trust_anchor_id()]);
    assert!(st.metadata.contains_key("openid_relying_party"));
}

#[tokio::test]
async fn chooser_lists_the_ops_of_the_trust_chains() {
    let w = world();
    let r = w
        .send(
            Method::GET,
            "/oidc/login?next=/area",
            &mut Jar::default(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Entra con SPID") && r.body.contains("Entra con CIE"));
    // names from the OPs' federation_entity metadata, links with the OP and next
    assert!(r.body.contains(">SPID di prova</a>"), "{}", r.body);
    for op in ["spid", "cie"] {
        let href = format!("/oidc/login?op={}&amp;next=%2Farea", enc(&w.fed.op_id(op)));
        assert!(r.body.contains(&href), "{href} in {}", r.body);
    }
    let only_cie = w
        .send(
            Method::GET,
            "/oidc/login?scheme=cie",
            &mut Jar::default(),
            None,
        )
        .await;
    assert!(
        !only_cie.body.contains("Entra con SPID"),
        "{}",
        only_cie.body
    );
    assert!(!only_cie.body.contains("button-spid"));
    assert!(only_cie.body.contains("Entra con CIE"));
}

#[tokio::test]
async fn full_login_spid_then_logout_revokes() {
    let w = world();
    let mut jar = Jar::default();
    let start = format!("/oidc/login?op={}&level=1", enc(&w.fed.op_id("spid")));
    let r = w.send(Method::GET, &start, &mut jar, None).await;
    let c = login_cookie_of(&r.headers);
    for attr in ["HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(c.contains(attr), "{attr} in {c}");
    }
    // level 1 is raised to the minimum (L2): the request object asks for SpidL2 only
    let url = url::Url::parse(&r.location()).unwrap();
    let ro = url
        .query_pairs()
        .find(|(k, _)| k == "request")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let (_, payload) = crate::decode_unverified(&ro).unwrap();
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(claims["acr_values"], "https://www.spid.gov.it/SpidL2");

    let mut jar = w.login("spid").await;
    let sc = jar.0.get("oidc_session").cloned().unwrap();
    assert!(!jar.0.contains_key("oidc_login"), "login cookie cleared");
    let r = w.send(Method::GET, "/area", &mut jar, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        format!("{CF} Rossi SPID L2 {}", w.fed.op_id("spid"))
    );

    // logout from another site: refused, the session lives on
    let r = w
        .send_with(
            Method::GET,
            "/oidc/logout",
            &mut jar,
            None,
            &[("sec-fetch-site", "cross-site")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        w.send(Method::GET, "/area", &mut jar, None).await.status,
        StatusCode::OK
    );
    assert!(w.fed.revoked_tokens().is_empty());

    let r = w
        .send(Method::POST, "/oidc/logout", &mut jar, Some(String::new()))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!jar.0.contains_key("oidc_session"));
    assert_eq!(
        w.fed.revoked_tokens().len(),
        1,
        "access token revoked at the OP"
    );
    // the old session id is dead even when sent again
    jar.0.insert("oidc_session".into(), sc);
    let r = w.send(Method::GET, "/area", &mut jar, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), "/oidc/login?next=%2Farea");
}

#[tokio::test]
async fn full_login_cie_inline_keys() {
    let w = world();
    let mut jar = w.login("cie").await;
    let r = w.send(Method::GET, "/area", &mut jar, None).await;
    assert_eq!(r.body, format!("{CF} Rossi CIE L2 {}", w.fed.op_id("cie")));
}

#[tokio::test]
async fn callback_with_another_browsers_state_is_refused() {
    let w = world();
    let mut alice = Jar::default();
    let mut bob = Jar::default();
    let _alice_cb = w.to_callback(&mut alice, "spid", true).await;
    let bob_cb = w.to_callback(&mut bob, "spid", true).await;
    // Bob's code and state arrive in Alice's browser (login CSRF / session fixation)
    let r = w.send(Method::GET, &bob_cb, &mut alice, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.body
            .contains("La sessione di accesso è scaduta o non è valida")
    );
    assert!(!alice.0.contains_key("oidc_session"));
    // Bob's own login is not spoiled by the attempt
    let r = w.send(Method::GET, &bob_cb, &mut bob, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(bob.0.contains_key("oidc_session"));
}

#[tokio::test]
async fn replayed_callback_is_refused() {
    let w = world();
    let mut jar = Jar::default();
    let cb = w.to_callback(&mut jar, "spid", true).await;
    let login_cookie = jar.0.get("oidc_login").cloned().unwrap();
    let r = w.send(Method::GET, &cb, &mut jar, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // the same callback again, with the login cookie the browser had
    let mut replay = Jar::default();
    replay.0.insert("oidc_login".into(), login_cookie);
    let r = w.send(Method::GET, &cb, &mut replay, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!replay.0.contains_key("oidc_session"));
}

#[tokio::test]
async fn callback_without_login_cookie_is_refused() {
    let w = world();
    let mut jar = Jar::default();
    let cb = w.to_callback(&mut jar, "spid", true).await;
    let r = w.send(Method::GET, &cb, &mut Jar::default(), None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.body
            .contains("La sessione di accesso è scaduta o non è valida")
    );
}

#[tokio::test]
async fn tampered_cookies_are_refused() {
    let w = world();
    let mut jar = Jar::default();
    let cb = w.to_callback(&mut jar, "spid", true).await;
    let good = jar.0.get("oidc_login").cloned().unwrap();
    let mut bad = good.clone().into_bytes();
    bad[3] = if bad[3] == b'A' { b'B' } else { b'A' };
    let mut tampered = Jar::default();
    tampered
        .0
        .insert("oidc_login".into(), String::from_utf8(bad).unwrap());
    let r = w.send(Method::GET, &cb, &mut tampered, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // the genuine cookie still completes
    let r = w.send(Method::GET, &cb, &mut jar, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // an altered session cookie names no session
    let mut s = jar.0.get("oidc_session").cloned().unwrap();
    s.push('x');
    jar.0.insert("oidc_session".into(), s);
    let r = w.send(Method::GET, "/area", &mut jar, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn refused_consent_shows_the_citizen_message() {
    let w = world();
    let mut jar = Jar::default();
    let cb = w.to_callback(&mut jar, "spid", false).await;
    let r = w.send(Method::GET, &cb, &mut jar, None).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Accesso annullato"), "{}", r.body);
}

#[tokio::test]
async fn unknown_op_and_bad_level_are_refused() {
    let w = world();
    let r = w
        .send(
            Method::GET,
            &format!("/oidc/login?op={}", enc("https://evil.example/op")),
            &mut Jar::default(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(!r.headers.contains_key(header::LOCATION));
    let r = w
        .send(
            Method::GET,
            &format!("/oidc/login?op={}&level=9", enc(&w.fed.op_id("spid"))),
            &mut Jar::default(),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn next_must_stay_on_site() {
    let w = world();
    let mut jar = Jar::default();
    let start = format!(
        "/oidc/login?op={}&next={}",
        enc(&w.fed.op_id("spid")),
        enc("//evil.example/")
    );
    let r = w.send(Method::GET, &start, &mut jar, None).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // no next kept: the cookie is the bare binding
    assert!(!jar.0["oidc_login"].contains('.'));
    for bad in ["https://evil.example/", "//evil", "/\\evil", "/a b"] {
        assert_eq!(safe_next(bad), None, "{bad}");
    }
}
