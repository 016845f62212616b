//! Offline Trust Chain verification (OpenID Federation 1.0 §10.2) of a four-statement chain
//! (OP Entity Configuration RS256, the Intermediate's statement ES256, the Trust Anchor's
//! statement RS256, the Trust Anchor's configuration RS256) with metadata policy, and in the same
//! run the reference: Python jwcrypto (what spid-cie-oidc-django verifies with) deserializing and
//! verifying the same four JWSs and reading their claims, in a persistent worker process (one
//! pipe round trip per chain is included in its time), when PA_PY or the project venv has it.

use std::hint::black_box;
use std::process::Command;
use std::time::Duration;

use benches::pyworker::{Worker, python_with};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oidc_fed::{Alg, Jwks, SigningKey, TrustAnchor, verify_trust_chain};
use serde_json::{Value, json};

const NOW: i64 = 1_800_000_000;

fn rsa_key() -> SigningKey {
    let out = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .expect("openssl genpkey");
    SigningKey::from_pkcs8_pem(Alg::RS256, &String::from_utf8_lossy(&out.stdout)).expect("key")
}

fn jwks(k: &SigningKey) -> Value {
    Jwks {
        keys: vec![k.public_jwk()],
    }
    .to_json()
}

fn sign(k: &SigningKey, v: &Value) -> String {
    k.sign(Some("entity-statement+jwt"), v.to_string().as_bytes())
        .expect("sign")
}

/// The chain and the Trust Anchor's keys.
fn chain() -> (Vec<String>, Jwks) {
    let (ta, it, op) = (
        rsa_key(),
        SigningKey::generate_es256().expect("key"),
        rsa_key(),
    );
    let (ta_id, int_id, op_id) = (
        "https://ta.example.it",
        "https://int.example.it",
        "https://op.example.it",
    );
    let common = |iss: &str, sub: &str, keys: Value| json!({"iss": iss, "sub": sub, "iat": NOW - 10, "exp": NOW + 3600, "jwks": keys});
    let mut op_ec = common(op_id, op_id, jwks(&op));
    op_ec["authority_hints"] = json!([int_id]);
    op_ec["metadata"] = json!({"openid_provider": {
        "issuer": op_id,
        "scopes_supported": ["openid", "offline_access", "profile", "email"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "acr_values_supported": ["https://www.spid.gov.it/SpidL1", "https://www.spid.gov.it/SpidL2"]
    }});
    let mut int_about_op = common(int_id, op_id, jwks(&op));
    int_about_op["metadata_policy"] = json!({"openid_provider": {
        "contacts": {"add": ["ops@int.example.it"]},
        "acr_values_supported": {"superset_of": ["https://www.spid.gov.it/SpidL2"]}
    }});
    let mut ta_about_int = common(ta_id, int_id, jwks(&it));
    ta_about_int["metadata_policy"] = json!({"openid_provider": {
        "scopes_supported": {"subset_of": ["openid", "offline_access", "profile"]},
        "id_token_signing_alg_values_supported": {"subset_of": ["RS256", "ES256", "PS256"], "essential": true}
    }});
    let ta_ec = common(ta_id, ta_id, jwks(&ta));
    let statements = vec![
        sign(&op, &op_ec),
        sign(&it, &int_about_op),
        sign(&ta, &ta_about_int),
        sign(&ta, &ta_ec),
    ];
    (statements, Jwks::from_json(&jwks(&ta)).expect("jwks"))
}

const WORKER: &str = r#"
import sys, json
from jwcrypto import jwk, jws
req = json.loads(sys.stdin.readline())
chain, ta_keys = req["chain"], jwk.JWKSet.from_json(json.dumps(req["ta_jwks"]))
print("ready", flush=True)
for line in sys.stdin:
    # top-down as the spec lays out: each statement with a key of the one above it
    keys, out = ta_keys, []
    for tok in reversed(chain):
        s = jws.JWS()
        s.deserialize(tok)
        kid = s.jose_header["kid"]
        s.verify(keys.get_key(kid))
        claims = json.loads(s.payload)
        assert claims["exp"] > req["now"] and claims["iat"] <= req["now"] + 60
        keys = jwk.JWKSet.from_json(json.dumps(claims["jwks"]))
        out.append(claims)
    print("ok", flush=True)
"#;

fn bench(c: &mut Criterion) {
    let (statements, ta_keys) = chain();
    let anchors = [TrustAnchor {
        entity_id: "https://ta.example.it".into(),
        jwks: ta_keys.clone(),
    }];
    // the chain must verify before it is measured
    let resolved = verify_trust_chain(&statements, &anchors, &Alg::ALL, NOW).expect("chain");
    assert_eq!(
        resolved.metadata["openid_provider"]["scopes_supported"],
        json!(["openid", "offline_access", "profile"])
    );

    let mut g = c.benchmark_group("oidc_fed_chain");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("pa-rs: verify_trust_chain (4 statements, policy)", |b| {
        b.iter(|| {
            verify_trust_chain(black_box(&statements), &anchors, &Alg::ALL, NOW).expect("chain")
        })
    });

    if let Some(py) = python_with(&["jwcrypto"]) {
        let req = json!({"chain": statements, "ta_jwks": ta_keys.to_json(), "now": NOW});
        let mut worker = Worker::start(&py, WORKER, &req.to_string());
        assert_eq!(worker.answer(), "ready");
        g.bench_function(
            "reference: jwcrypto, same 4 JWS verified top-down (worker)",
            |b| b.iter(|| assert_eq!(worker.ask("go"), "ok", "jwcrypto refused the chain")),
        );
    } else {
        eprintln!("no Python with jwcrypto (PA_PY): reference not measured");
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
