//! Lollipop: requests signed as the IO app signs them, by software not written here
//! (`lollipop_sign.py`: `http-message-signatures`, `cryptography`, `jwcrypto`), are accepted;
//! each check gets the request it exists to refuse. With `CI` set a missing oracle fails.

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use appio::CodiceFiscale;
use appio::remote::lollipop::{LollipopError, LollipopVerifier};
use appio::remote::server::IoAuthentication;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::{Value, json};

use crate::common::cf;

const SCRIPT: &str = include_str!("lollipop_sign.py");
pub(crate) const URL: &str =
    "https://api-app.io.pagopa.it/api/v1/third-party-messages/01HQ5N7ZVQ5Y0W4X2M8Q9J3ABC";

pub(crate) fn python() -> Option<String> {
    let venv = format!("{}/../.venv/bin/python", env!("CARGO_MANIFEST_DIR"));
    let cands = [
        std::env::var("PA_PY").ok(),
        Some(venv),
        Some("python3".into()),
    ];
    for p in cands.into_iter().flatten() {
        let ok = Command::new(&p)
            .args([
                "-c",
                "import http_message_signatures, jwcrypto, cryptography, requests",
            ])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(p);
        }
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but no Python with http-message-signatures, jwcrypto, cryptography and \
         requests (PA_PY) was found"
    );
    eprintln!("skipping: no Python with http-message-signatures (set PA_PY)");
    None
}

pub(crate) fn now() -> i64 {
    i64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// A case with the defaults: EC key `k`, user cf(1), GET of [`URL`], created now, a nonce.
pub(crate) fn case(extra: Value) -> Value {
    let mut c = json!({
        "key": "k", "kty": "EC", "alg": "ecdsa-p256-sha256", "user": cf(1).as_str(),
        "method": "GET", "url": URL, "created": now(), "nonce": "b7a5c2e0-nonce",
    });
    for (k, v) in extra.as_object().unwrap() {
        c[k] = v.clone();
    }
    c
}

/// Signed requests, as header maps, in the order of `cases`.
pub(crate) fn sign(py: &str, cases: &[Value]) -> Vec<HeaderMap> {
    let mut c = Command::new(py)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin
        .take()
        .unwrap()
        .write_all(serde_json::to_string(cases).unwrap().as_bytes())
        .unwrap();
    let out = c.wait_with_output().unwrap();
    assert!(out.status.success(), "oracle failed");
    let v: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    v.into_iter()
        .map(|r| {
            let mut h = HeaderMap::new();
            for pair in r["headers"].as_array().unwrap() {
                h.append(
                    HeaderName::from_bytes(pair[0].as_str().unwrap().as_bytes()).unwrap(),
                    HeaderValue::from_str(pair[1].as_str().unwrap()).unwrap(),
                );
            }
            h
        })
        .collect()
}

pub(crate) fn set(h: &mut HeaderMap, name: &'static str, value: &str) {
    h.insert(name, HeaderValue::from_str(value).unwrap());
}

pub(crate) fn get(h: &HeaderMap, name: &str) -> String {
    h.get(name).unwrap().to_str().unwrap().to_owned()
}

async fn check(v: &LollipopVerifier, h: &HeaderMap, body: &[u8]) -> Result<(), LollipopError> {
    v.verify(h, body, &cf(1)).await.map(|_| ())
}

#[tokio::test]
async fn requests_signed_as_the_app_signs_them_are_accepted() {
    let Some(py) = python() else { return };
    let body = r#"{"message":"firma"}"#;
    let cases = [
        case(json!({})),
        case(json!({"der": true})),
        case(json!({"key": "r", "kty": "RSA", "alg": "rsa-pss-sha256"})),
        case(json!({"key": "r", "kty": "RSA", "alg": "rsa-pss-sha512"})),
        case(json!({"key": "r", "kty": "RSA", "alg": "rsa-v1_5-sha256"})),
        case(json!({"thumb_hash": "sha512", "keyid": null})),
        case(json!({"thumb_hash": "sha384", "method": "POST", "body": body})),
        case(json!({"method": "POST", "body": body, "digest": "sha-512", "der": true})),
        case(json!({"expires": now() + 60})),
    ];
    let signed = sign(&py, &cases);
    let v = LollipopVerifier::new();
    for (n, h) in signed.iter().enumerate() {
        let b = cases[n]["body"].as_str().unwrap_or("").as_bytes();
        let id = v
            .verify(h, b, &cf(1))
            .await
            .unwrap_or_else(|e| panic!("case {n}: {e}"));
        assert_eq!(id.user, cf(1));
        assert_eq!(id.original_url, URL);
        assert_eq!(id.nonce.as_deref(), Some("b7a5c2e0-nonce"));
        assert_eq!(id.assertion_ref, get(h, "x-pagopa-lollipop-assertion-ref"));
    }
    // The public key written in padded standard base64 is the same key.
    let mut h = signed[0].clone();
    let jwk = {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(get(&h, "x-pagopa-lollipop-public-key"))
            .unwrap()
    };
    set(&mut h, "x-pagopa-lollipop-public-key", &base64_encode(&jwk));
    check(&LollipopVerifier::new(), &h, b"").await.unwrap();
    // Two genuine requests may share the app's nonce (one per API client): both pass.
    let two = sign(
        &py,
        &[
            case(json!({"url": format!("{URL}/a")})),
            case(json!({"url": format!("{URL}/b")})),
        ],
    );
    for h in &two {
        check(&v, h, b"").await.unwrap();
    }
}

#[tokio::test]
async fn each_check_refuses_what_it_exists_to_refuse() {
    let Some(py) = python() else { return };
    let body = r#"{"message":"firma"}"#;
    let cases = [
        /* 0 */ case(json!({})),
        /* 1 */ case(json!({"key": "other"})),
        /* 2 */ case(json!({"method": "POST", "body": body})),
        /* 3 */ case(json!({"created": now() - 1000})),
        /* 4 */ case(json!({"created": now() + 1000})),
        /* 5 */ case(json!({"created": now() - 100, "expires": now() - 70})),
        /* 6 */ case(json!({"covered": ["x-pagopa-lollipop-original-method"]})),
        /* 7 */ case(json!({"covered": ["x-pagopa-lollipop-original-url"]})),
        /* 8 */
        case(json!({"extra": {"x-pagopa-lollipop-custom-tos": "abc"},
            "covered": ["x-pagopa-lollipop-original-method", "x-pagopa-lollipop-original-url",
                        "x-pagopa-lollipop-custom-tos"]})),
        /* 9 */ case(json!({"user": cf(2).as_str()})),
        /* 10 */ case(json!({"nonce": null})),
        /* 11 */
        case(
            json!({"covered": ["@method", "x-pagopa-lollipop-original-method",
                               "x-pagopa-lollipop-original-url"]}),
        ),
        /* 12 */ case(json!({"url": "http://api-app.io.pagopa.it/x"})),
        /* 13 */ case(json!({"key": "r", "kty": "RSA", "alg": "rsa-v1_5-sha256"})),
        /* 14 */ case(json!({"keyid": "sha256-somebodyelse"})),
        /* 15 */ case(json!({"key": "other", "keyid": null})),
    ];
    let s = sign(&py, &cases);
    let v = LollipopVerifier::new().without_replay_cache();
    let refused = |r: Result<(), LollipopError>| r.expect_err("accepted");

    // Bad signature: a flipped byte, or a covered header changed after signing.
    let mut h = s[0].clone();
    let mut raw = base64_decode_sig(&get(&h, "signature"));
    raw[10] ^= 1;
    set(
        &mut h,
        "signature",
        &format!("sig1=:{}:", base64_encode(&raw)),
    );
    assert!(matches!(
        err(&v, &h).await,
        LollipopError::BadSignature { .. }
    ));
    let h = with(&s[0], "x-pagopa-lollipop-original-url", &format!("{URL}X"));
    assert!(matches!(
        err(&v, &h).await,
        LollipopError::BadSignature { .. }
    ));
    let h = with(&s[0], "x-pagopa-lollipop-original-method", "DELETE");
    assert!(matches!(
        err(&v, &h).await,
        LollipopError::BadSignature { .. }
    ));
    // The signature parameters are signed too: a later `created` breaks it.
    let mut h = s[0].clone();
    let input = get(&h, "signature-input");
    let created = cases[0]["created"].as_i64().unwrap();
    set(
        &mut h,
        "signature-input",
        &input.replace(
            &format!("created={created}"),
            &format!("created={}", created + 1),
        ),
    );
    assert!(matches!(
        err(&v, &h).await,
        LollipopError::BadSignature { .. }
    ));

    // Key not matching the assertion ref: another key in the header...
    let mut h = with(
        &s[0],
        "x-pagopa-lollipop-public-key",
        &get(&s[1], "x-pagopa-lollipop-public-key"),
    );
    assert_eq!(err(&v, &h).await, LollipopError::KeyNotAssertion);
    // ... or another key with its own assertion ref: the keyid no longer matches ...
    take_key(&mut h, &s[1]);
    assert!(matches!(
        err(&v, &h).await,
        LollipopError::KeyIdMismatch { .. }
    ));
    // ... and without keyid the signature does not verify with that key.
    let mut h = s[15].clone();
    take_key(&mut h, &s[0]);
    assert!(matches!(
        err(&v, &h).await,
        LollipopError::BadSignature { .. }
    ));
    check(&v, &s[15], b"").await.unwrap();
    // A keyid other than the assertion ref.
    assert!(matches!(
        err(&v, &s[14]).await,
        LollipopError::KeyIdMismatch { .. }
    ));
    // An assertion ref with an unknown hash.
    let mut h = s[0].clone();
    let aref = get(&h, "x-pagopa-lollipop-assertion-ref");
    set(
        &mut h,
        "x-pagopa-lollipop-assertion-ref",
        &aref.replace("sha256-", "md5-"),
    );
    assert!(matches!(err(&v, &h).await, LollipopError::BadHeader { .. }));

    // Wrong digest: another body, a digest of another body, no digest at all.
    check(&v, &s[2], body.as_bytes()).await.unwrap();
    assert_eq!(
        refused(check(&v, &s[2], br#"{"message":"altro"}"#).await),
        LollipopError::DigestMismatch
    );
    let mut h = with(
        &s[2],
        "content-digest",
        "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:",
    );
    assert!(matches!(
        refused(check(&v, &h, body.as_bytes()).await),
        LollipopError::DigestMismatch | LollipopError::BadSignature { .. }
    ));
    set(&mut h, "content-digest", "md5=:AAAA:");
    assert_eq!(
        refused(check(&v, &h, body.as_bytes()).await),
        LollipopError::DigestUnsupported
    );
    let mut h = s[2].clone();
    h.remove("content-digest");
    assert_eq!(
        refused(check(&v, &h, body.as_bytes()).await),
        LollipopError::MissingHeader("content-digest")
    );
    // A body that no signature covers (digest not among the covered components).
    assert!(matches!(
        refused(check(&v, &s[0], body.as_bytes()).await),
        LollipopError::NotCovered(_)
    ));

    // Freshness: too old, from the future, past `expires`.
    assert!(matches!(
        err(&v, &s[3]).await,
        LollipopError::Expired { .. }
    ));
    assert!(matches!(
        err(&v, &s[4]).await,
        LollipopError::NotYetValid { .. }
    ));
    assert!(matches!(
        err(&v, &s[5]).await,
        LollipopError::Expired { .. }
    ));
    let lenient = LollipopVerifier::new()
        .without_replay_cache()
        .max_age(Duration::from_secs(3600));
    check(&lenient, &s[3], b"").await.unwrap();

    // Missing covered components.
    for n in [6, 7] {
        assert!(matches!(err(&v, &s[n]).await, LollipopError::NotCovered(_)));
    }
    check(&v, &s[8], b"").await.unwrap();
    let mut h = s[8].clone();
    h.remove("x-pagopa-lollipop-custom-tos");
    assert!(matches!(
        err(&v, &h).await,
        LollipopError::MissingComponent { .. }
    ));
    // Derived components are not the app's: refused.
    assert!(matches!(
        err(&v, &s[11]).await,
        LollipopError::UnsupportedComponent { .. }
    ));

    // User id mismatch.
    assert_eq!(err(&v, &s[9]).await, LollipopError::UserMismatch);
    check_as(&v, &s[9], &cf(2)).await;

    // Nonce required unless configured otherwise.
    assert!(matches!(
        err(&v, &s[10]).await,
        LollipopError::BadParameter { param: "nonce", .. }
    ));
    check(&v.clone().nonce_optional(), &s[10], b"")
        .await
        .unwrap();

    // Original URL: not https; not under the configured prefix.
    assert!(matches!(
        err(&v, &s[12]).await,
        LollipopError::BadHeader {
            header: "x-pagopa-lollipop-original-url",
            ..
        }
    ));
    let only_io = v
        .clone()
        .original_url_prefixes(["https://api-app.io.pagopa.it/api/v1/third-party-messages/"]);
    check(&only_io, &s[0], b"").await.unwrap();
    let only_other = v.clone().original_url_prefixes(["https://other.example/"]);
    assert!(matches!(
        err(&only_other, &s[0]).await,
        LollipopError::BadHeader { .. }
    ));

    // Algorithm that does not fit the key (the alg parameter is checked before the math).
    let mut h = s[0].clone();
    let input = get(&h, "signature-input");
    set(
        &mut h,
        "signature-input",
        &input.replace("ecdsa-p256-sha256", "rsa-v1_5-sha256"),
    );
    assert!(matches!(err(&v, &h).await, LollipopError::Algorithm { .. }));
    let mut h = s[13].clone();
    let input = get(&h, "signature-input");
    set(
        &mut h,
        "signature-input",
        &input.replace("rsa-v1_5-sha256", "hmac-sha256"),
    );
    assert!(matches!(err(&v, &h).await, LollipopError::Algorithm { .. }));
    // RSA-PSS with SHA-512 over a PKCS#1 v1.5 signature does not verify.
    let h = with(
        &s[13],
        "signature-input",
        &input.replace("rsa-v1_5-sha256", "rsa-pss-sha512"),
    );
    assert!(matches!(
        err(&v, &h).await,
        LollipopError::BadSignature { .. }
    ));

    // Every header: missing, and repeated.
    for name in [
        "x-pagopa-lollipop-original-method",
        "x-pagopa-lollipop-original-url",
        "x-pagopa-lollipop-public-key",
        "x-pagopa-lollipop-assertion-ref",
        "x-pagopa-lollipop-assertion-type",
        "x-pagopa-lollipop-user-id",
        "x-pagopa-lollipop-auth-jwt",
        "signature-input",
        "signature",
    ] {
        let mut h = s[0].clone();
        let value = h.remove(name).unwrap();
        assert_eq!(
            err(&v, &h).await,
            LollipopError::MissingHeader(match_static(name)),
            "{name}"
        );
        h.append(HeaderName::from_static(match_static(name)), value.clone());
        h.append(HeaderName::from_static(match_static(name)), value);
        assert_eq!(
            err(&v, &h).await,
            LollipopError::RepeatedHeader(match_static(name)),
            "{name}"
        );
    }
    // Malformed values.
    for (name, value) in [
        ("x-pagopa-lollipop-assertion-type", "KERBEROS"),
        ("x-pagopa-lollipop-original-method", "TRACE"),
        ("x-pagopa-lollipop-public-key", "not json!"),
        ("x-pagopa-lollipop-auth-jwt", " "),
        ("signature-input", "sig1=(\"unterminated"),
        ("signature", "sig1=\"not bytes\""),
    ] {
        let h = with(&s[0], match_static(name), value);
        assert!(
            matches!(err(&v, &h).await, LollipopError::BadHeader { .. }),
            "{name}"
        );
    }
    // A key that is neither P-256 nor RSA.
    let h = with(
        &s[0],
        "x-pagopa-lollipop-public-key",
        &base64url(
            br#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        ),
    );
    assert!(matches!(
        err(&v, &h).await,
        LollipopError::UnsupportedKey(_)
    ));
    // Signature and input not paired; repeated labels.
    let mut h = s[0].clone();
    let sig = get(&h, "signature");
    set(&mut h, "signature", &sig.replacen("sig1=", "sig2=", 1));
    assert!(matches!(err(&v, &h).await, LollipopError::Unpaired { .. }));
    set(&mut h, "signature", &format!("{sig}, {sig}"));
    assert!(matches!(err(&v, &h).await, LollipopError::BadHeader { .. }));
}

#[tokio::test]
async fn a_replayed_request_is_refused() {
    let Some(py) = python() else { return };
    let s = sign(&py, &[case(json!({})), case(json!({}))]);
    let v = LollipopVerifier::new();
    check(&v, &s[0], b"").await.unwrap();
    assert_eq!(
        check(&v, &s[0], b"").await.unwrap_err(),
        LollipopError::Replayed
    );
    // The same request signed again (same nonce, same second) is a new signature.
    check(&v, &s[1], b"").await.unwrap();
    // A refused request is not remembered: its genuine twin still passes once.
    let fresh = sign(&py, &[case(json!({}))]).remove(0);
    let mut tampered = fresh.clone();
    set(&mut tampered, "x-pagopa-lollipop-user-id", cf(2).as_str());
    assert!(check(&v, &tampered, b"").await.is_err());
    check(&v, &fresh, b"").await.unwrap();
    // A full cache fails closed.
    let tiny = LollipopVerifier::new()
        .replay_cache(Arc::new(appio::remote::lollipop::MemoryReplayCache::new(1)));
    let two = sign(&py, &[case(json!({})), case(json!({}))]);
    check(&tiny, &two[0], b"").await.unwrap();
    assert!(matches!(
        check(&tiny, &two[1], b"").await.unwrap_err(),
        LollipopError::ReplayCache(_)
    ));
}

#[tokio::test]
async fn the_router_requires_lollipop_when_configured() {
    let Some(py) = python() else { return };
    let auth = IoAuthentication::from_config(
        &appio::remote::AuthenticationConfig::api_key("X-Api-Key", "s3cr3t").unwrap(),
    )
    .unwrap()
    .lollipop(LollipopVerifier::new().exempt([cf(2)]));
    let (base, _h) = crate::remote::serve_with(auth).await;
    let s = sign(
        &py,
        &[
            case(json!({})),
            case(json!({"user": cf(2).as_str()})),
            case(json!({"created": now() - 1000})),
        ],
    );
    let call = |h: HeaderMap, user: CodiceFiscale, path: &'static str| {
        let url = format!("{base}{path}");
        async move { call_router(&url, &h, &user).await }
    };
    let (st, body) = call(s[0].clone(), cf(1), "/messages/m1").await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("Avviso di pagamento TARI"));
    // The same signed call again: a replay.
    let (st, body) = call(s[0].clone(), cf(1), "/messages/m1").await;
    assert_eq!(st, 403);
    assert!(body.contains("replay"), "{body}");
    assert!(!body.contains("Avviso"), "{body}");
    // Without Lollipop headers, expired, or for another user: 403.
    assert_eq!(call(HeaderMap::new(), cf(1), "/messages/m1").await.0, 403);
    assert_eq!(call(s[2].clone(), cf(1), "/messages/m1").await.0, 403);
    let (st, body) = call(s[1].clone(), cf(1), "/messages/m1").await;
    assert_eq!(st, 403);
    assert!(body.contains("fiscal_code"), "{body}");
    // An exempt citizen (disable_lollipop_for) may come without; with headers they count.
    assert_eq!(call(HeaderMap::new(), cf(2), "/messages/m2").await.0, 200);
    assert_eq!(call(s[1].clone(), cf(2), "/messages/m2").await.0, 200);
    assert_eq!(call(s[1].clone(), cf(2), "/messages/m2").await.0, 403);
    // The API key is still checked first.
    let r = reqwest::Client::new()
        .get(format!("{base}/messages/m1"))
        .header("fiscal_code", cf(1).as_str())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

/// Calls the remote-content router at `url` as IO does (API key `s3cr3t`), with the Lollipop
/// headers `h`, for `user`: the status and the body.
pub(crate) async fn call_router(url: &str, h: &HeaderMap, user: &CodiceFiscale) -> (u16, String) {
    let mut rb = reqwest::Client::new()
        .get(url)
        .header("X-Api-Key", "s3cr3t")
        .header("fiscal_code", user.as_str());
    for (k, v) in h {
        rb = rb.header(k.as_str(), v.as_bytes());
    }
    let r = rb.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Puts the public key and assertion ref of `from` into `h`.
fn take_key(h: &mut HeaderMap, from: &HeaderMap) {
    for k in [
        "x-pagopa-lollipop-public-key",
        "x-pagopa-lollipop-assertion-ref",
    ] {
        set(h, k, &get(from, k));
    }
}

/// The error of a request refused without a body.
async fn err(v: &LollipopVerifier, h: &HeaderMap) -> LollipopError {
    check(v, h, b"").await.expect_err("accepted")
}

/// `h` with the header `name` set to `value`.
fn with(h: &HeaderMap, name: &'static str, value: &str) -> HeaderMap {
    let mut h = h.clone();
    set(&mut h, name, value);
    h
}

async fn check_as(v: &LollipopVerifier, h: &HeaderMap, user: &CodiceFiscale) {
    v.verify(h, b"", user).await.unwrap();
}

fn match_static(name: &str) -> &'static str {
    [
        "x-pagopa-lollipop-original-method",
        "x-pagopa-lollipop-original-url",
        "x-pagopa-lollipop-public-key",
        "x-pagopa-lollipop-assertion-ref",
        "x-pagopa-lollipop-assertion-type",
        "x-pagopa-lollipop-user-id",
        "x-pagopa-lollipop-auth-jwt",
        "signature-input",
        "signature",
        "content-digest",
    ]
    .into_iter()
    .find(|n| *n == name)
    .unwrap()
}

fn base64_decode_sig(v: &str) -> Vec<u8> {
    use base64::Engine as _;
    let inner = v.trim_start_matches("sig1=:").trim_end_matches(':');
    base64::engine::general_purpose::STANDARD
        .decode(inner)
        .unwrap()
}

fn base64_encode(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

fn base64url(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}
