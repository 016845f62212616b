//! Independent oracle: Python `jwcrypto` signs tokens we must accept (and we must refuse them
//! tampered), verifies tokens we sign, and computes RFC 7638 thumbprints. With `CI` set a missing
//! oracle fails the test.
use super::key;
use oidc_fed::{Alg, JoseError, Jwks, VerifyOptions, verify};
use std::io::Write as _;
use std::process::{Command, Stdio};

pub(crate) fn python() -> Option<String> {
    let cands = [
        std::env::var("PA_PY").ok(),
        Some("/tmp/jwtvenv/bin/python".into()),
    ];
    for p in cands.into_iter().flatten() {
        let ok = Command::new(&p)
            .args(["-c", "import jwcrypto"])
            .output()
            .is_ok_and(|o| o.status.success());
        if ok {
            return Some(p);
        }
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but no Python with jwcrypto (PA_PY) was found"
    );
    eprintln!("skipping: no Python with jwcrypto (set PA_PY)");
    None
}

const SCRIPT: &str = r#"
import sys, json
from jwcrypto import jwk, jws
req = json.load(sys.stdin)
if req["op"] == "sign":
    k = jwk.JWK.from_pem(req["pem"].encode())
    s = jws.JWS(req["payload"].encode())
    s.add_signature(k, None, json.dumps({"alg": req["alg"], "kid": req["kid"], "typ": "entity-statement+jwt"}))
    print(json.dumps({"token": s.serialize(compact=True), "thumbprint": k.thumbprint()}))
else:
    k = jwk.JWK(**req["jwk"])
    s = jws.JWS()
    s.deserialize(req["token"])
    try:
        s.verify(k)
        print(json.dumps({"ok": True, "payload": s.payload.decode()}))
    except Exception as e:
        print(json.dumps({"ok": False}))
"#;

fn run(py: &str, req: serde_json::Value) -> serde_json::Value {
    run_script(py, SCRIPT, req)
}

/// Runs a Python script with `req` as JSON on stdin; its stdout is JSON.
pub(crate) fn run_script(py: &str, script: &str, req: serde_json::Value) -> serde_json::Value {
    let mut c = Command::new(py)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin
        .take()
        .unwrap()
        .write_all(req.to_string().as_bytes())
        .unwrap();
    let out = c.wait_with_output().unwrap();
    assert!(out.status.success(), "jwcrypto script failed");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn jwcrypto_tokens_verify_here_and_ours_there() {
    let Some(py) = python() else { return };
    for alg in Alg::ALL {
        let (k, pem) = key(alg);
        let jwks = Jwks {
            keys: vec![k.public_jwk()],
        };
        let opts = VerifyOptions {
            algs: &[alg],
            typ: Some("entity-statement+jwt"),
        };
        let payload = r#"{"iss":"https://ta.example","sub":"https://rp.example"}"#;
        let r = run(
            &py,
            serde_json::json!({"op":"sign","pem":pem,"alg":alg.as_str(),"kid":k.kid(),"payload":payload}),
        );
        // thumbprint: ours is the kid, jwcrypto computes its own
        assert_eq!(
            r["thumbprint"].as_str().unwrap(),
            k.kid(),
            "{alg:?} thumbprint"
        );
        let token = r["token"].as_str().unwrap();
        let v = verify(token, &jwks, opts).unwrap();
        assert_eq!(v.payload, payload.as_bytes());
        // tampered jwcrypto token: refused
        let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
        parts[1] = base64_url(br#"{"iss":"https://evil.example"}"#);
        assert_eq!(
            verify(&parts.join("."), &jwks, opts).unwrap_err(),
            JoseError::BadSignature
        );

        // ours verified by jwcrypto, and a tampered one refused by it
        let ours = k
            .sign(Some("entity-statement+jwt"), payload.as_bytes())
            .unwrap();
        let r = run(
            &py,
            serde_json::json!({"op":"verify","jwk":k.public_jwk().to_json(),"token":ours}),
        );
        assert_eq!(r["ok"], true, "{alg:?}: jwcrypto refused our token");
        assert_eq!(r["payload"], payload);
        let mut parts: Vec<String> = ours.split('.').map(str::to_owned).collect();
        parts[1] = base64_url(b"{}");
        let r = run(
            &py,
            serde_json::json!({"op":"verify","jwk":k.public_jwk().to_json(),"token":parts.join(".")}),
        );
        assert_eq!(
            r["ok"], false,
            "{alg:?}: jwcrypto accepted a tampered token"
        );
    }
}

fn base64_url(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}
