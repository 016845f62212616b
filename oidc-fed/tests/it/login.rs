//! Login: the authorization request (checked by jwcrypto and Python's hashlib), the pending
//! login store, the token exchange with `private_key_jwt`, and ID Token validation with an
//! attack test for every check.
use super::key;
use super::oracle::{python, run_script};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use oidc_fed::{
    Alg, CallbackParams, FetchError, HttpResponse, IdTokenCheck, JoseError, LoginError,
    LoginOptions, MemoryPendingLoginStore, OidcHttp, PendingLogin, PendingLoginStore, Prompt,
    Provider, RelyingParty, SigningKey, acr_of, at_hash, validate_id_token,
};
use pa_types::AssuranceLevel;
use serde_json::{Value, json};
use std::sync::Mutex;

const OP: &str = "https://op.example.it";
const RP: &str = "https://rp.example.it";
const NOW: i64 = 1_800_000_000;

fn provider(op_key: &SigningKey) -> Provider {
    let m = json!({
        "issuer": OP,
        "authorization_endpoint": format!("{OP}/authorization"),
        "token_endpoint": format!("{OP}/token"),
        "userinfo_endpoint": format!("{OP}/userinfo"),
        "jwks": {"keys": [op_key.public_jwk().to_json()]},
    });
    Provider::from_metadata(OP, m.as_object().unwrap()).unwrap()
}

/// The RP and its public OIDC key (JSON).
fn rp() -> (RelyingParty, Value) {
    let (k, _) = key(Alg::RS256);
    let jwk = k.public_jwk().to_json();
    let m = json!({"client_id": RP, "redirect_uris": [format!("{RP}/callback")]});
    (
        RelyingParty::from_metadata(m.as_object().unwrap(), k).unwrap(),
        jwk,
    )
}

fn pending(state: &str, session: &str, exp: i64) -> PendingLogin {
    PendingLogin {
        state: state.into(),
        session: session.into(),
        nonce: "n".repeat(32),
        code_verifier: "v".repeat(43),
        op: OP.into(),
        redirect_uri: format!("{RP}/callback"),
        acr_values: vec![acr_of(AssuranceLevel::L2).into()],
        expires_at: exp,
    }
}

const VERIFY_PY: &str = r#"
import sys, json, hashlib, base64
from jwcrypto import jwk, jws
req = json.load(sys.stdin)
k = jwk.JWK(**req["jwk"])
s = jws.JWS()
s.deserialize(req["token"])
try:
    s.verify(k)
    ok = True
except Exception:
    ok = False
ch = base64.urlsafe_b64encode(hashlib.sha256(req["verifier"].encode()).digest()).rstrip(b"=").decode()
print(json.dumps({"ok": ok, "payload": json.loads(s.objects["payload"].decode()) if ok else None,
                  "alg": json.loads(s.objects["protected"])["alg"], "challenge": ch}))
"#;

#[test]
fn authorization_request_is_signed_and_complete() {
    let (op_key, _) = key(Alg::ES256);
    let op = provider(&op_key);
    let (rp, jwk) = rp();
    let opts = LoginOptions {
        levels: vec![AssuranceLevel::L2, AssuranceLevel::L3],
        prompt: Prompt::ConsentLogin,
        ..LoginOptions::default()
    };
    let r = rp.authorization_request(&op, &opts, "sess-1", NOW).unwrap();
    let u = url::Url::parse(&r.url).unwrap();
    assert!(r.url.starts_with(&format!("{OP}/authorization?")));
    let q: std::collections::HashMap<String, String> = u.query_pairs().into_owned().collect();
    assert_eq!(q["client_id"], RP);
    assert_eq!(q["response_type"], "code");
    assert_eq!(q["scope"], "openid");
    assert_eq!(q["code_challenge_method"], "S256");
    assert_eq!(q["request"], r.request_object);
    let p = &r.pending;
    assert!(p.state.len() >= 32 && p.nonce.len() >= 32 && p.code_verifier.len() >= 43);
    assert!(p.state != p.nonce && p.nonce != p.code_verifier);
    assert_eq!(p.session, "sess-1");
    assert_eq!(p.redirect_uri, format!("{RP}/callback"));

    let Some(py) = python() else { return };
    let v = run_script(
        &py,
        VERIFY_PY,
        json!({"jwk": jwk, "token": r.request_object, "verifier": p.code_verifier}),
    );
    assert_eq!(v["ok"], true, "jwcrypto refused our request object");
    assert_eq!(v["alg"], "RS256");
    assert_eq!(
        q["code_challenge"], v["challenge"],
        "PKCE S256 differs from hashlib"
    );
    let ro = &v["payload"];
    assert_eq!(ro["code_challenge"], v["challenge"]);
    for (k, want) in [
        ("iss", RP),
        ("client_id", RP),
        ("response_type", "code"),
        ("scope", "openid"),
        ("code_challenge_method", "S256"),
        ("prompt", "consent login"),
        (
            "acr_values",
            "https://www.spid.gov.it/SpidL2 https://www.spid.gov.it/SpidL3",
        ),
    ] {
        assert_eq!(ro[k], want, "request object {k}");
    }
    assert_eq!(ro["redirect_uri"], p.redirect_uri.as_str());
    assert_eq!(ro["state"], p.state.as_str());
    assert_eq!(ro["nonce"], p.nonce.as_str());
    assert_eq!(ro["aud"][0], OP);
    assert_eq!(ro["iat"], NOW);
    assert!(ro["exp"].as_i64().unwrap() > NOW);
    assert!(ro["jti"].as_str().unwrap().len() >= 32);
    assert_eq!(
        ro["claims"]["userinfo"]["https://attributes.eid.gov.it/fiscal_number"]["essential"],
        true
    );
    assert!(ro["claims"]["userinfo"]["family_name"].is_object());
}

#[test]
fn authorization_request_refuses_bad_options() {
    let (op_key, _) = key(Alg::ES256);
    let op = provider(&op_key);
    let (rp, _) = rp();
    let no_level = LoginOptions {
        levels: vec![],
        ..LoginOptions::default()
    };
    assert!(matches!(
        rp.authorization_request(&op, &no_level, "s", NOW),
        Err(LoginError::Config(_))
    ));
    let bad_uri = LoginOptions {
        redirect_uri_index: 5,
        ..LoginOptions::default()
    };
    assert!(matches!(
        rp.authorization_request(&op, &bad_uri, "s", NOW),
        Err(LoginError::Config(_))
    ));
    let m = json!({"client_id": RP, "redirect_uris": []});
    assert!(matches!(
        RelyingParty::from_metadata(m.as_object().unwrap(), key(Alg::ES256).0),
        Err(LoginError::Config(_))
    ));
    let m = json!({"issuer": OP, "token_endpoint": "x", "jwks": {"keys": []}});
    assert_eq!(
        Provider::from_metadata(OP, m.as_object().unwrap()).unwrap_err(),
        LoginError::ProviderMetadata("authorization_endpoint")
    );
}

#[tokio::test]
async fn pending_login_is_bound_to_the_session_and_single_use() {
    let store = MemoryPendingLoginStore::new();
    store.put(pending("st", "sess-a", NOW + 600)).await.unwrap();
    // another browser session cannot take it, and does not consume it
    assert_eq!(store.take("st", "sess-b", NOW).await.unwrap(), None);
    assert_eq!(store.take("nope", "sess-a", NOW).await.unwrap(), None);
    let p = store.take("st", "sess-a", NOW).await.unwrap().unwrap();
    assert_eq!(p.session, "sess-a");
    // replay
    assert_eq!(store.take("st", "sess-a", NOW).await.unwrap(), None);
    // expired
    store.put(pending("old", "sess-a", NOW + 10)).await.unwrap();
    assert_eq!(store.take("old", "sess-a", NOW + 10).await.unwrap(), None);
}

fn id_claims(nonce: &str, access_token: &str) -> Value {
    json!({
        "iss": OP, "sub": "abc", "aud": [RP], "iat": NOW - 5, "exp": NOW + 300,
        "nonce": nonce, "acr": acr_of(AssuranceLevel::L2), "at_hash": at_hash(access_token),
        "jti": "j1",
    })
}

fn sign(k: &SigningKey, claims: &Value) -> String {
    k.sign(None, claims.to_string().as_bytes()).unwrap()
}

/// What an attack case must fail with.
type Expect = fn(&LoginError) -> bool;

#[test]
fn id_token_checks_each_refuse_their_attack() {
    let (op_key, _) = key(Alg::ES256);
    let (other, _) = key(Alg::ES256);
    let op = provider(&op_key);
    let nonce = "N".repeat(32);
    let acr = vec![acr_of(AssuranceLevel::L2).to_owned()];
    let check = IdTokenCheck {
        client_id: RP,
        nonce: &nonce,
        acr_values: &acr,
        access_token: Some("AT-1"),
    };
    let good = id_claims(&nonce, "AT-1");
    let id = validate_id_token(&sign(&op_key, &good), &op, &check, NOW).unwrap();
    assert_eq!(id.sub, "abc");
    assert_eq!(id.level, Some(AssuranceLevel::L2));

    let with = |k: &str, v: Value| {
        let mut c = good.clone();
        c[k] = v;
        sign(&op_key, &c)
    };
    let cases: Vec<(String, Expect)> = vec![
        (with("iss", json!("https://evil.example")), |e| {
            matches!(e, LoginError::WrongIssuer { .. })
        }),
        (with("aud", json!(["https://other.example"])), |e| {
            matches!(e, LoginError::WrongAudience(_))
        }),
        // several audiences and no azp naming us
        (with("aud", json!([RP, "https://other.example"])), |e| {
            matches!(e, LoginError::WrongAudience(_))
        }),
        (with("azp", json!("https://other.example")), |e| {
            matches!(e, LoginError::WrongAudience(_))
        }),
        (with("exp", json!(NOW)), |e| {
            matches!(e, LoginError::Expired { .. })
        }),
        (with("iat", json!(NOW + 3600)), |e| {
            matches!(e, LoginError::IssuedAt { .. })
        }),
        (with("iat", json!(NOW - 86_400)), |e| {
            matches!(e, LoginError::IssuedAt { .. })
        }),
        (with("nonce", json!("M".repeat(32))), |e| {
            *e == LoginError::WrongNonce
        }),
        (with("acr", json!(acr_of(AssuranceLevel::L1))), |e| {
            matches!(e, LoginError::WrongAcr(_))
        }),
        (with("at_hash", json!(at_hash("AT-2"))), |e| {
            *e == LoginError::WrongAtHash
        }),
        (with("at_hash", Value::Null), |e| {
            *e == LoginError::Claim("at_hash")
        }),
        (with("nonce", Value::Null), |e| {
            *e == LoginError::Claim("nonce")
        }),
        (with("aud", json!(7)), |e| *e == LoginError::Claim("aud")),
        // signed by a key that is not the OP's, under the OP key's kid
        (
            sign(&key(Alg::ES256).0.with_kid(op_key.kid()), &good),
            |e| *e == LoginError::Jose(JoseError::BadSignature),
        ),
        // signed by another key, its own kid
        (sign(&other, &good), |e| {
            matches!(e, LoginError::Jose(JoseError::UnknownKid(_)))
        }),
        // alg none
        (
            format!(
                "{}.{}.",
                B64.encode(format!(r#"{{"alg":"none","kid":"{}"}}"#, op_key.kid())),
                B64.encode(good.to_string())
            ),
            |e| *e == LoginError::Jose(JoseError::AlgNone),
        ),
    ];
    for (i, (token, ok)) in cases.iter().enumerate() {
        let e = validate_id_token(token, &op, &check, NOW).unwrap_err();
        assert!(ok(&e), "case {i}: unexpected {e:?}");
    }
    // several audiences with azp = us: accepted
    let mut c = good.clone();
    c["aud"] = json!([RP, "https://other.example"]);
    c["azp"] = json!(RP);
    validate_id_token(&sign(&op_key, &c), &op, &check, NOW).unwrap();
}

const SIGN_PY: &str = r#"
import sys, json, hashlib, base64
from jwcrypto import jwk, jws
req = json.load(sys.stdin)
k = jwk.JWK.from_pem(req["pem"].encode())
out = []
for c in req["claims"]:
    if "access_token" in req:
        d = hashlib.sha256(req["access_token"].encode()).digest()
        c.setdefault("at_hash", base64.urlsafe_b64encode(d[:16]).rstrip(b"=").decode())
    s = jws.JWS(json.dumps(c).encode())
    s.add_signature(k, None, json.dumps({"alg": req["alg"], "kid": req["kid"]}))
    out.append(s.serialize(compact=True))
print(json.dumps({"tokens": out}))
"#;

#[test]
fn id_tokens_signed_by_jwcrypto() {
    let Some(py) = python() else { return };
    for alg in Alg::ALL {
        let (op_key, pem) = key(alg);
        let op = provider(&op_key);
        let nonce = "N".repeat(40);
        let acr = vec![acr_of(AssuranceLevel::L3).to_owned()];
        let check = IdTokenCheck {
            client_id: RP,
            nonce: &nonce,
            acr_values: &acr,
            access_token: Some("access-token-xyz"),
        };
        let base = json!({"iss": OP, "sub": "s", "aud": RP, "iat": NOW, "exp": NOW + 60,
            "nonce": nonce, "acr": acr[0]});
        let mut wrong_hash = base.clone();
        wrong_hash["at_hash"] = json!("AAAAAAAAAAAAAAAAAAAAAA");
        let mut wrong_aud = base.clone();
        wrong_aud["aud"] = json!("https://evil.example");
        let r = run_script(
            &py,
            SIGN_PY,
            json!({"pem": pem, "alg": alg.as_str(), "kid": op_key.kid(),
                "access_token": "access-token-xyz", "claims": [base, wrong_hash, wrong_aud]}),
        );
        let t: Vec<&str> = r["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let id = validate_id_token(t[0], &op, &check, NOW).unwrap();
        assert_eq!(id.level, Some(AssuranceLevel::L3), "{alg:?}");
        assert_eq!(
            validate_id_token(t[1], &op, &check, NOW).unwrap_err(),
            LoginError::WrongAtHash
        );
        assert!(matches!(
            validate_id_token(t[2], &op, &check, NOW).unwrap_err(),
            LoginError::WrongAudience(_)
        ));
    }
}

/// A token endpoint in the test: records the forms, answers with the given ID Token.
struct FakeOp {
    forms: Mutex<Vec<Vec<(String, String)>>>,
    answer: Mutex<Option<HttpResponse>>,
}

#[async_trait::async_trait]
impl OidcHttp for FakeOp {
    async fn post_form(
        &self,
        _url: &str,
        form: &[(String, String)],
        _bearer: Option<&str>,
    ) -> Result<HttpResponse, FetchError> {
        self.forms.lock().unwrap().push(form.to_vec());
        Ok(self.answer.lock().unwrap().clone().unwrap())
    }
    async fn get_bearer(&self, url: &str, _token: &str) -> Result<HttpResponse, FetchError> {
        Err(FetchError {
            url: url.into(),
            reason: "not here".into(),
        })
    }
}

fn token_answer(id_token: &str, access_token: &str) -> HttpResponse {
    HttpResponse {
        status: 200,
        content_type: Some("application/json".into()),
        body: json!({"access_token": access_token, "token_type": "Bearer", "expires_in": 60,
            "id_token": id_token})
        .to_string()
        .into_bytes(),
    }
}

#[tokio::test]
async fn complete_login_with_private_key_jwt() {
    let (op_key, _) = key(Alg::ES256);
    let op = provider(&op_key);
    let (rp, rp_jwk) = rp();
    let store = MemoryPendingLoginStore::new();
    let r = rp
        .start_login(&op, &LoginOptions::default(), "sess", &store, NOW)
        .await
        .unwrap();
    let p = r.pending.clone();
    let fake = FakeOp {
        forms: Mutex::new(Vec::new()),
        answer: Mutex::new(Some(token_answer(
            &sign(&op_key, &id_claims(&p.nonce, "AT")),
            "AT",
        ))),
    };
    let cb = CallbackParams::from_query(&format!(
        "code=C1&state={}&iss={}",
        p.state,
        url::form_urlencoded::byte_serialize(OP.as_bytes()).collect::<String>()
    ));
    // the callback in another browser session: refused, and the login stays pending
    assert_eq!(
        rp.complete_login(&op, &cb, "other", &store, &fake, NOW)
            .await
            .unwrap_err(),
        LoginError::UnknownState
    );
    let (tokens, id) = rp
        .complete_login(&op, &cb, "sess", &store, &fake, NOW)
        .await
        .unwrap();
    assert_eq!(tokens.access_token, "AT");
    assert_eq!(id.sub, "abc");
    // replayed callback (same state and code): refused before any token request
    assert_eq!(
        rp.complete_login(&op, &cb, "sess", &store, &fake, NOW)
            .await
            .unwrap_err(),
        LoginError::UnknownState
    );
    let forms = fake.forms.lock().unwrap().clone();
    assert_eq!(forms.len(), 1, "one token request only");
    let f: std::collections::HashMap<_, _> = forms[0].iter().cloned().collect();
    assert_eq!(f["grant_type"], "authorization_code");
    assert_eq!(f["code"], "C1");
    assert_eq!(f["client_id"], RP);
    assert_eq!(f["code_verifier"], p.code_verifier);
    assert_eq!(
        f["client_assertion_type"],
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    );
    // the client assertion verifies in jwcrypto with the RP's public key
    if let Some(py) = python() {
        let v = run_script(
            &py,
            VERIFY_PY,
            json!({"jwk": rp_jwk, "token": f["client_assertion"], "verifier": ""}),
        );
        assert_eq!(v["ok"], true, "jwcrypto refused our client assertion");
        let c = &v["payload"];
        assert_eq!(c["iss"], RP);
        assert_eq!(c["sub"], RP);
        assert_eq!(c["aud"], format!("{OP}/token"));
        assert!(c["exp"].as_i64().unwrap() > NOW && c["jti"].is_string());
    }

    // an ID Token with another nonce (e.g. from another login) is refused
    let r = rp
        .start_login(&op, &LoginOptions::default(), "sess", &store, NOW)
        .await
        .unwrap();
    *fake.answer.lock().unwrap() = Some(token_answer(
        &sign(&op_key, &id_claims(&"x".repeat(43), "AT")),
        "AT",
    ));
    let cb = CallbackParams {
        code: Some("C2".into()),
        state: Some(r.pending.state.clone()),
        ..CallbackParams::default()
    };
    assert_eq!(
        rp.complete_login(&op, &cb, "sess", &store, &fake, NOW)
            .await
            .unwrap_err(),
        LoginError::WrongNonce
    );
    // a callback naming another issuer (mix-up) is refused
    let r = rp
        .start_login(&op, &LoginOptions::default(), "sess", &store, NOW)
        .await
        .unwrap();
    let cb = CallbackParams {
        code: Some("C3".into()),
        state: Some(r.pending.state.clone()),
        iss: Some("https://evil.example".into()),
        ..CallbackParams::default()
    };
    assert!(matches!(
        rp.complete_login(&op, &cb, "sess", &store, &fake, NOW)
            .await
            .unwrap_err(),
        LoginError::WrongIssuer { .. }
    ));
    // an OP error is reported, with its citizen message
    let r = rp
        .start_login(&op, &LoginOptions::default(), "sess", &store, NOW)
        .await
        .unwrap();
    let cb = CallbackParams::from_query(&format!("error=access_denied&state={}", r.pending.state));
    let e = rp
        .complete_login(&op, &cb, "sess", &store, &fake, NOW)
        .await
        .unwrap_err();
    assert!(matches!(e, LoginError::OpError { .. }));
    assert!(e.citizen_message().contains("consenso"));
    // a token endpoint error
    let r = rp
        .start_login(&op, &LoginOptions::default(), "sess", &store, NOW)
        .await
        .unwrap();
    *fake.answer.lock().unwrap() = Some(HttpResponse {
        status: 400,
        content_type: None,
        body: br#"{"error":"invalid_grant"}"#.to_vec(),
    });
    let cb = CallbackParams {
        code: Some("used".into()),
        state: Some(r.pending.state.clone()),
        ..CallbackParams::default()
    };
    assert!(matches!(
        rp.complete_login(&op, &cb, "sess", &store, &fake, NOW)
            .await
            .unwrap_err(),
        LoginError::TokenEndpoint(_)
    ));
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn redis_pending_login_is_bound_to_the_session_and_single_use() {
    let url = match std::env::var("REDIS_URL") {
        Ok(u) if !u.is_empty() => u,
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but REDIS_URL is not"
            );
            eprintln!("REDIS_URL not set: skipping");
            return;
        }
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let prefix = format!("oidc-fed-test-{now}-{}:", std::process::id());
    let store = oidc_fed::RedisPendingLoginStore::connect(&url, prefix)
        .await
        .unwrap();
    let mut p = pending("st-r", "sess-a", now + 600);
    p.acr_values.push(acr_of(AssuranceLevel::L3).into());
    store.put(p.clone()).await.unwrap();
    assert_eq!(store.take("st-r", "sess-b", now).await.unwrap(), None);
    assert_eq!(store.take("st-r", "sess-a", now).await.unwrap(), Some(p));
    assert_eq!(store.take("st-r", "sess-a", now).await.unwrap(), None);
    // one of two concurrent takes gets it
    store.put(pending("st-c", "s", now + 600)).await.unwrap();
    let (a, b) = tokio::join!(store.take("st-c", "s", now), store.take("st-c", "s", now));
    assert_eq!(
        usize::from(a.unwrap().is_some()) + usize::from(b.unwrap().is_some()),
        1
    );
    // expired by the caller's clock
    store.put(pending("st-e", "s", now + 600)).await.unwrap();
    assert_eq!(store.take("st-e", "s", now + 601).await.unwrap(), None);
}
