//! Oracle: a federation (TA → INT → OP, with metadata policy and a trust mark) built entirely by
//! Python jwcrypto — its own keys, JWKs, thumbprint kids and signatures (RS256, ES256, PS256) —
//! must resolve here, and each of its statements tampered must be refused.
use super::fed::{ES_TYP, Fed, NOW, TM_OP, tamper};
use super::oracle::{python, run_script};
use oidc_fed::{
    ChainError, JoseError, Jwks, ReqwestFetcher, StatementError, TrustAnchor, TrustChainResolver,
};
use serde_json::{Value, json};

const SCRIPT: &str = r#"
import sys, json
from jwcrypto import jwk, jws
req = json.load(sys.stdin)
base, now, tm_type = req["base"], req["now"], req["tm_type"]
def key(kty):
    k = jwk.JWK.generate(kty="RSA", size=2048) if kty == "RSA" else jwk.JWK.generate(kty="EC", crv="P-256")
    pub = k.export_public(as_dict=True)
    pub["kid"] = k.thumbprint()
    return k, pub
def sign(k, alg, claims, typ="entity-statement+jwt"):
    s = jws.JWS(json.dumps(claims).encode())
    s.add_signature(k, None, json.dumps({"alg": alg, "kid": k.thumbprint(), "typ": typ}))
    return s.serialize(compact=True)
ta, ta_pub = key("RSA")
it, it_pub = key("EC")
op, op_pub = key("RSA")
TA, INT, OP = base + "/ta", base + "/int", base + "/op"
tm = sign(ta, "RS256", {"iss": TA, "sub": OP, "trust_mark_type": tm_type, "iat": now - 5, "exp": now + 7200}, "trust-mark+jwt")
routes = {
  "/ta/.well-known/openid-federation": sign(ta, "RS256", {
    "iss": TA, "sub": TA, "iat": now - 5, "exp": now + 9000, "jwks": {"keys": [ta_pub]},
    "metadata": {"federation_entity": {"federation_fetch_endpoint": TA + "/fetch"}},
    "trust_mark_issuers": {tm_type: [TA]}}),
  "/int/.well-known/openid-federation": sign(it, "ES256", {
    "iss": INT, "sub": INT, "iat": now - 5, "exp": now + 9000, "jwks": {"keys": [it_pub]},
    "authority_hints": [TA],
    "metadata": {"federation_entity": {"federation_fetch_endpoint": INT + "/fetch"}}}),
  "/op/.well-known/openid-federation": sign(op, "PS256", {
    "iss": OP, "sub": OP, "iat": now - 5, "exp": now + 9000, "jwks": {"keys": [op_pub]},
    "authority_hints": [INT],
    "trust_marks": [{"trust_mark_type": tm_type, "trust_mark": tm}],
    "metadata": {"openid_provider": {
        "issuer": OP, "scopes_supported": ["openid", "offline_access", "profile"],
        "acr_values_supported": ["https://www.spid.gov.it/SpidL1", "https://www.spid.gov.it/SpidL2"]}}}),
  "/ta/fetch?sub=" + INT: sign(ta, "RS256", {
    "iss": TA, "sub": INT, "iat": now - 5, "exp": now + 4000, "jwks": {"keys": [it_pub]},
    "metadata_policy": {"openid_provider": {
        "scopes_supported": {"subset_of": ["openid", "profile", "email"], "superset_of": ["openid"]}}}}),
  "/int/fetch?sub=" + OP: sign(it, "ES256", {
    "iss": INT, "sub": OP, "iat": now - 5, "exp": now + 3000, "jwks": {"keys": [op_pub]},
    "metadata_policy": {"openid_provider": {
        "acr_values_supported": {"superset_of": ["https://www.spid.gov.it/SpidL2"]},
        "contacts": {"add": ["ops@int.example.it"]}}}}),
}
print(json.dumps({"ta_jwks": {"keys": [ta_pub]}, "routes": routes}))
"#;

fn resolver(fed: &Fed, ta_jwks: &Value) -> TrustChainResolver<ReqwestFetcher> {
    let anchor = TrustAnchor {
        entity_id: fed.id("ta"),
        jwks: Jwks::from_json(ta_jwks).unwrap(),
    };
    TrustChainResolver::new(Fed::fetcher(), vec![anchor]).require_trust_marks(vec![TM_OP.into()])
}

#[tokio::test]
async fn jwcrypto_federation_resolves_and_tampering_fails() {
    let Some(py) = python() else { return };
    let fed = Fed::start().await;
    let out = run_script(
        &py,
        SCRIPT,
        json!({"base": fed.base, "now": NOW, "tm_type": TM_OP}),
    );
    let routes = out["routes"].as_object().unwrap();
    let publish = || {
        for (k, v) in routes {
            fed.put(k, ES_TYP, v.as_str().unwrap());
        }
    };
    publish();
    let chain = resolver(&fed, &out["ta_jwks"])
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap();
    assert_eq!(chain.exp, NOW + 3000);
    assert_eq!(chain.statements.len(), 4);
    assert_eq!(chain.trust_marks[0].iss, fed.id("ta"));
    let op = chain.metadata_of("openid_provider").unwrap();
    assert_eq!(op["scopes_supported"], json!(["openid", "profile"]));
    assert_eq!(op["contacts"], json!(["ops@int.example.it"]));

    for k in routes.keys() {
        publish();
        let good = fed.get(k);
        fed.put(k, ES_TYP, &tamper(&good, |v| v["iat"] = json!(NOW - 6)));
        let e = resolver(&fed, &out["ta_jwks"])
            .resolve(&fed.id("op"), NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(
                &e,
                ChainError::Statement { source, .. }
                    if **source == StatementError::Jose(JoseError::BadSignature)
            ),
            "{k}: {e}"
        );
    }

    // jwcrypto's trust mark verifies with the TA keys, and tampered it does not
    publish();
    let k = "/op/.well-known/openid-federation";
    let ec = fed.get(k);
    let mut claims: Value = {
        use base64::Engine as _;
        let p = ec.split('.').nth(1).unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(p)
                .unwrap(),
        )
        .unwrap()
    };
    let tm = claims["trust_marks"][0]["trust_mark"]
        .as_str()
        .unwrap()
        .to_owned();
    claims["trust_marks"][0]["trust_mark"] = json!(tamper(&tm, |v| v["exp"] = json!(NOW + 1)));
    let ta_ec = oidc_fed::verify_statement(
        &fed.get("/ta/.well-known/openid-federation"),
        &Jwks::from_json(&out["ta_jwks"]).unwrap(),
        &fed.id("ta"),
        &fed.id("ta"),
        &oidc_fed::Alg::ALL,
        NOW,
    )
    .unwrap();
    let ta_keys = Jwks::from_json(&out["ta_jwks"]).unwrap();
    let r = oidc_fed::verify_trust_mark(
        &claims["trust_marks"][0],
        &fed.id("op"),
        &ta_ec,
        &ta_keys,
        &oidc_fed::Alg::ALL,
        NOW,
    );
    assert_eq!(
        r.unwrap_err(),
        oidc_fed::TrustMarkError::Jose(JoseError::BadSignature)
    );
    let untampered = json!({"trust_mark_type": TM_OP, "trust_mark": tm});
    oidc_fed::verify_trust_mark(
        &untampered,
        &fed.id("op"),
        &ta_ec,
        &ta_keys,
        &oidc_fed::Alg::ALL,
        NOW,
    )
    .unwrap();
}

const VERIFY_CHAIN: &str = r#"
import sys, json
from jwcrypto import jwk, jws
req = json.load(sys.stdin)
keys, subs = jwk.JWKSet.from_json(json.dumps(req["ta_jwks"])), []
try:
    # top-down: each statement with a key of the statement above it
    for tok in reversed(req["chain"]):
        s = jws.JWS()
        s.deserialize(tok)
        assert s.jose_header["typ"] == "entity-statement+jwt"
        s.verify(keys.get_key(s.jose_header["kid"]))
        claims = json.loads(s.payload)
        assert claims["iat"] <= req["now"] + 60 < claims["exp"] + 60
        keys = jwk.JWKSet.from_json(json.dumps(claims["jwks"]))
        subs.append(claims["sub"])
    print(json.dumps({"ok": True, "subs": subs}))
except Exception as e:
    print(json.dumps({"ok": False, "error": str(e)}))
"#;

/// The other direction: a chain our signer built, as our resolver assembled it, verifies in
/// jwcrypto statement by statement; tampered, jwcrypto refuses it too.
#[tokio::test]
async fn our_chain_verifies_in_jwcrypto() {
    let Some(py) = python() else { return };
    let fed = Fed::start().await;
    let w = super::fed::World::new(&fed);
    w.publish(&fed);
    let chain = w.resolver(&fed).resolve(&fed.id("op"), NOW).await.unwrap();
    let ta_jwks = w.anchor(&fed).jwks.to_json();
    let r = run_script(
        &py,
        VERIFY_CHAIN,
        json!({"chain": chain.statements, "ta_jwks": ta_jwks, "now": NOW}),
    );
    assert_eq!(r["ok"], true, "{r}");
    assert_eq!(
        r["subs"],
        json!([fed.id("ta"), fed.id("int"), fed.id("op"), fed.id("op")])
    );
    for i in 0..chain.statements.len() {
        let mut bad = chain.statements.clone();
        bad[i] = tamper(&bad[i], |v| v["exp"] = json!(NOW + 1));
        let r = run_script(
            &py,
            VERIFY_CHAIN,
            json!({"chain": bad, "ta_jwks": ta_jwks, "now": NOW}),
        );
        assert_eq!(r["ok"], false, "jwcrypto accepted statement {i} tampered");
    }
}
