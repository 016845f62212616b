//! A whole login over HTTP with `ReqwestFetcher` against an OP played by axum on 127.0.0.1:
//! token endpoint (form checked: PKCE verifier, `private_key_jwt` assertion verified with the
//! RP's key), UserInfo answered with a JWE that jwcrypto encrypted, revocation endpoint.
use super::key;
use super::oracle::{python, run_script};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use oidc_fed::{
    Alg, CallbackParams, DecryptionKey, Jwks, LoginError, LoginOptions, MemoryPendingLoginStore,
    Provider, RelyingParty, ReqwestFetcher, Scheme, SigningKey, TokenTypeHint, VerifyOptions,
    acr_of, at_hash,
};
use pa_types::{AssuranceLevel, LoginMethod};
use serde_json::json;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const RP: &str = "https://rp.example.it";
const NOW: i64 = 1_800_000_000;

#[derive(Default)]
struct OpState {
    issuer: String,
    nonce: String,
    verifier: String,
    rp_jwks: Jwks,
    userinfo: String,
    revoked: Vec<String>,
    codes_used: Vec<String>,
}

struct Op {
    key: SigningKey,
    st: Mutex<OpState>,
}

type Form = axum::Form<HashMap<String, String>>;

async fn token(State(op): State<Arc<Op>>, axum::Form(f): Form) -> impl IntoResponse {
    let mut st = op.st.lock().unwrap();
    let bad = |e: &str| (StatusCode::BAD_REQUEST, json!({"error": e}).to_string());
    let code = f.get("code").cloned().unwrap_or_default();
    if st.codes_used.contains(&code) {
        return bad("invalid_grant");
    }
    st.codes_used.push(code);
    let opts = VerifyOptions {
        algs: &[Alg::RS256],
        typ: None,
    };
    let assertion_ok = f
        .get("client_assertion")
        .and_then(|a| oidc_fed::verify(a, &st.rp_jwks, opts).ok())
        .and_then(|v| serde_json::from_slice::<serde_json::Value>(&v.payload).ok())
        .is_some_and(|c| c["iss"] == RP && c["aud"] == format!("{}/token", st.issuer));
    if !assertion_ok || f.get("code_verifier") != Some(&st.verifier) {
        return bad("invalid_client");
    }
    let id = json!({"iss": st.issuer, "sub": "user-1", "aud": RP, "iat": NOW, "exp": NOW + 60,
        "nonce": st.nonce, "acr": acr_of(AssuranceLevel::L2), "at_hash": at_hash("AT-9")});
    let id = op.key.sign(None, id.to_string().as_bytes()).unwrap();
    (
        StatusCode::OK,
        json!({"access_token": "AT-9", "token_type": "Bearer", "id_token": id}).to_string(),
    )
}

async fn userinfo(State(op): State<Arc<Op>>, h: HeaderMap) -> impl IntoResponse {
    if h.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer AT-9") {
        return (StatusCode::UNAUTHORIZED, String::new());
    }
    (StatusCode::OK, op.st.lock().unwrap().userinfo.clone())
}

async fn revoke(State(op): State<Arc<Op>>, axum::Form(f): Form) -> impl IntoResponse {
    let mut st = op.st.lock().unwrap();
    let ok = f.get("client_assertion").is_some_and(|a| {
        oidc_fed::verify(
            a,
            &st.rp_jwks,
            VerifyOptions {
                algs: &[Alg::RS256],
                typ: None,
            },
        )
        .is_ok()
    });
    if !ok {
        return StatusCode::UNAUTHORIZED;
    }
    st.revoked.push(f.get("token").cloned().unwrap_or_default());
    StatusCode::OK
}

const JWE_PY: &str = r#"
import sys, json
from jwcrypto import jwk, jws, jwe
req = json.load(sys.stdin)
s = jws.JWS(json.dumps(req["claims"]).encode())
s.add_signature(jwk.JWK.from_pem(req["op_pem"].encode()), None, json.dumps({"alg": "ES256", "kid": req["op_kid"]}))
pub = jwk.JWK(**req["enc"])
e = jwe.JWE(s.serialize(compact=True).encode(), json.dumps({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": pub["kid"], "cty": "JWT"}))
e.add_recipient(pub)
print(json.dumps({"jwe": e.serialize(compact=True)}))
"#;

#[tokio::test]
async fn full_login_over_http() {
    let Some(py) = python() else { return };
    let (op_key, op_pem) = key(Alg::ES256);
    let (rp_key, _) = key(Alg::RS256);
    let (_, enc_pem) = key(Alg::RS256);
    let enc = DecryptionKey::from_pkcs8_pem(&enc_pem).unwrap();
    let rp_jwks = Jwks {
        keys: vec![rp_key.public_jwk()],
    };
    let op_jwk = op_key.public_jwk().to_json();
    let op_kid = op_key.kid().to_owned();
    let op = Arc::new(Op {
        key: op_key,
        st: Mutex::new(OpState {
            rp_jwks,
            ..OpState::default()
        }),
    });
    let app = axum::Router::new()
        .route("/token", axum::routing::post(token))
        .route("/userinfo", axum::routing::get(userinfo))
        .route("/revoke", axum::routing::post(revoke))
        .with_state(op.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });

    let m = json!({
        "issuer": base, "authorization_endpoint": format!("{base}/auth"),
        "token_endpoint": format!("{base}/token"), "userinfo_endpoint": format!("{base}/userinfo"),
        "revocation_endpoint": format!("{base}/revoke"),
        "end_session_endpoint": format!("{base}/logout"),
        "jwks": {"keys": [op_jwk]},
    });
    let provider = Provider::from_metadata(&base, m.as_object().unwrap()).unwrap();
    let claims = json!({"iss": base, "aud": RP, "sub": "user-1",
        "https://attributes.eid.gov.it/fiscal_number": "TINIT-RSSMRA85T10A562S",
        "given_name": "Maria", "family_name": "Bianchi"});
    let r = run_script(
        &py,
        JWE_PY,
        json!({"claims": claims, "op_pem": op_pem, "op_kid": op_kid,
            "enc": enc.public_jwk().to_json()}),
    );
    let mm = json!({"client_id": RP, "redirect_uris": [format!("{RP}/cb")]});
    let rp = RelyingParty::from_metadata(mm.as_object().unwrap(), rp_key).unwrap();
    let store = MemoryPendingLoginStore::new();
    let start = rp
        .start_login(&provider, &LoginOptions::default(), "sess", &store, NOW)
        .await
        .unwrap();
    {
        let mut st = op.st.lock().unwrap();
        st.issuer = base.clone();
        st.nonce = start.pending.nonce.clone();
        st.verifier = start.pending.code_verifier.clone();
        st.userinfo = r["jwe"].as_str().unwrap().to_owned();
    }
    let http = ReqwestFetcher::new().unwrap().allow_loopback_http();
    let cb = CallbackParams::from_query(&format!("code=K1&state={}", start.pending.state));
    let (tokens, id) = rp
        .complete_login(&provider, &cb, "sess", &store, &http, NOW)
        .await
        .unwrap();
    let who = rp
        .userinfo(&provider, &tokens, &id, &[enc], Scheme::Spid, &http)
        .await
        .unwrap();
    assert_eq!(who.fiscal_code.as_str(), "RSSMRA85T10A562S");
    assert_eq!(who.family_name.as_deref(), Some("Bianchi"));
    assert_eq!(
        who.method,
        LoginMethod::Spid {
            level: AssuranceLevel::L2
        }
    );
    // without our decryption key the UserInfo is refused
    let (_, other_pem) = key(Alg::RS256);
    let other = DecryptionKey::from_pkcs8_pem(&other_pem).unwrap();
    assert!(matches!(
        rp.userinfo(&provider, &tokens, &id, &[other], Scheme::Spid, &http)
            .await
            .unwrap_err(),
        LoginError::Jwe(_)
    ));

    // the same code presented again (a second login whose callback replays it): the OP
    // refuses it and the RP reports the token endpoint error
    let again = rp
        .start_login(&provider, &LoginOptions::default(), "sess", &store, NOW)
        .await
        .unwrap();
    let cb = CallbackParams::from_query(&format!("code=K1&state={}", again.pending.state));
    assert!(matches!(
        rp.complete_login(&provider, &cb, "sess", &store, &http, NOW)
            .await
            .unwrap_err(),
        LoginError::TokenEndpoint(_)
    ));

    // logout: the access token revoked at the OP with private_key_jwt
    rp.revoke(
        &provider,
        &tokens.access_token,
        TokenTypeHint::AccessToken,
        &http,
        NOW,
    )
    .await
    .unwrap();
    assert_eq!(op.st.lock().unwrap().revoked, vec!["AT-9".to_owned()]);
    let form = rp
        .revocation_form(&provider, "AT-9", TokenTypeHint::AccessToken, NOW)
        .unwrap();
    let f: HashMap<_, _> = form.into_iter().collect();
    assert_eq!(f["token_type_hint"], "access_token");
    assert_eq!(
        f["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    let out = rp
        .logout_url(
            &provider,
            &tokens.id_token,
            Some(&format!("{RP}/bye")),
            "s1",
        )
        .unwrap();
    let u = url::Url::parse(&out).unwrap();
    assert_eq!(u.path(), "/logout");
    let q: HashMap<_, _> = u.query_pairs().into_owned().collect();
    assert_eq!(q["id_token_hint"], tokens.id_token);
    assert_eq!(q["post_logout_redirect_uri"], format!("{RP}/bye"));
    assert_eq!(q["client_id"], RP);
    // an OP without a revocation endpoint
    let mut no_rev = provider.clone();
    no_rev.revocation_endpoint = None;
    assert_eq!(
        rp.revoke(&no_rev, "AT-9", TokenTypeHint::AccessToken, &http, NOW)
            .await
            .unwrap_err(),
        LoginError::ProviderMetadata("revocation_endpoint")
    );
}
