//! UserInfo: jwcrypto signs the UserInfo JWT with the OP's key and encrypts it to the RP's
//! keys with every key management / content encryption pair of the profile; we decrypt,
//! verify and map it to a `CitizenIdentity`, and refuse it tampered, unsigned or unencrypted.
use super::key;
use super::oracle::{python, run_script};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use oidc_fed::{
    Alg, DecryptionKey, IdToken, JWE_ALGS, JWE_ENCS, JoseError, JweError, LoginError, Provider,
    Scheme, UserInfoIssAud, acr_of, citizen_identity, read_userinfo, read_userinfo_with,
};
use pa_types::{AssuranceLevel, LoginMethod};
use serde_json::{Map, Value, json};

const OP: &str = "https://op.example.it";
const RP: &str = "https://rp.example.it";

const ENCRYPT_PY: &str = r#"
import sys, json
from jwcrypto import jwk, jws, jwe
req = json.load(sys.stdin)
op = jwk.JWK.from_pem(req["op_pem"].encode())
def signed(claims, key, kid):
    s = jws.JWS(json.dumps(claims).encode())
    s.add_signature(key, None, json.dumps({"alg": req["op_alg"], "kid": kid}))
    return s.serialize(compact=True)
def encrypt(plain, alg, enc):
    pub = jwk.JWK(**(req["rsa"] if alg.startswith("RSA") else req["ec"]))
    e = jwe.JWE(plain.encode(), json.dumps({"alg": alg, "enc": enc, "kid": pub["kid"], "cty": "JWT"}))
    e.add_recipient(pub)
    return e.serialize(compact=True)
out = {"pairs": []}
inner = signed(req["claims"], op, req["op_kid"])
for alg, enc in req["pairs"]:
    out["pairs"].append(encrypt(inner, alg, enc))
out["bare_jws"] = inner
out["unsigned"] = encrypt(json.dumps(req["claims"]), "RSA-OAEP-256", "A256CBC-HS512")
other = jwk.JWK.generate(kty="EC", crv="P-256")
out["other_signer"] = encrypt(signed(req["claims"], other, req["op_kid"]), "ECDH-ES", "A128GCM")
wrong_sub = dict(req["claims"], sub="someone-else")
out["wrong_sub"] = encrypt(signed(wrong_sub, op, req["op_kid"]), "RSA-OAEP", "A128GCM")
# as the official spid-cie-oidc OP signs it: sub and the claims, no iss, no aud
bare = {k: v for k, v in req["claims"].items() if k not in ("iss", "aud")}
out["no_iss_aud"] = encrypt(signed(bare, op, req["op_kid"]), "RSA-OAEP", "A256CBC-HS512")
wrong_iss = dict(bare, iss="https://another-op.example.it")
out["wrong_iss"] = encrypt(signed(wrong_iss, op, req["op_kid"]), "RSA-OAEP", "A256CBC-HS512")
print(json.dumps(out))
"#;

fn provider(op_key: &oidc_fed::SigningKey) -> Provider {
    let m = json!({
        "issuer": OP, "authorization_endpoint": format!("{OP}/auth"),
        "token_endpoint": format!("{OP}/token"), "userinfo_endpoint": format!("{OP}/userinfo"),
        "jwks": {"keys": [op_key.public_jwk().to_json()]},
    });
    Provider::from_metadata(OP, m.as_object().unwrap()).unwrap()
}

fn id_token(acr: &str) -> IdToken {
    IdToken {
        sub: "user-1".into(),
        acr: acr.into(),
        level: oidc_fed::level_of_acr(acr),
        exp: 0,
        claims: Map::new(),
    }
}

/// Replaces part `i` of a compact token by `f(part bytes)`.
fn tamper(token: &str, i: usize, f: impl Fn(&mut Vec<u8>)) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut b = B64.decode(&parts[i]).unwrap();
    f(&mut b);
    parts[i] = B64.encode(b);
    parts.join(".")
}

fn with_header(token: &str, f: impl Fn(&mut Map<String, Value>)) -> String {
    tamper(token, 0, |b| {
        let mut h: Map<String, Value> = serde_json::from_slice(b).unwrap();
        f(&mut h);
        *b = serde_json::to_vec(&h).unwrap();
    })
}

#[test]
fn userinfo_jwe_from_jwcrypto_every_pair() {
    let Some(py) = python() else { return };
    let (op_key, op_pem) = key(Alg::ES256);
    let op = provider(&op_key);
    let (_, rsa_pem) = key(Alg::RS256);
    let (_, ec_pem) = key(Alg::ES256);
    let keys = vec![
        DecryptionKey::from_pkcs8_pem(&rsa_pem).unwrap(),
        DecryptionKey::from_pkcs8_pem(&ec_pem).unwrap(),
    ];
    let claims = json!({
        "iss": OP, "aud": RP, "sub": "user-1", "iat": 1, "exp": 2,
        "https://attributes.eid.gov.it/fiscal_number": "TINIT-RSSMRA85T10A562S",
        "given_name": "Mario", "family_name": "Rossi", "email": "mario@example.it",
    });
    let pairs: Vec<(&str, &str)> = JWE_ALGS
        .iter()
        .flat_map(|a| JWE_ENCS.iter().map(move |e| (*a, *e)))
        .collect();
    let r = run_script(
        &py,
        ENCRYPT_PY,
        json!({"op_pem": op_pem, "op_alg": "ES256", "op_kid": op_key.kid(), "claims": claims,
            "rsa": keys[0].public_jwk().to_json(), "ec": keys[1].public_jwk().to_json(),
            "pairs": pairs}),
    );
    let tokens = r["pairs"].as_array().unwrap();
    assert_eq!(tokens.len(), 20);
    for ((alg, enc), t) in pairs.iter().zip(tokens) {
        let t = t.as_str().unwrap();
        let c = read_userinfo(t, &op, RP, "user-1", &keys)
            .unwrap_or_else(|e| panic!("{alg}/{enc}: {e:?}"));
        assert_eq!(c["email"], "mario@example.it", "{alg}/{enc}");
        // tampered ciphertext, tag, IV, protected header: refused
        let bad = [
            tamper(t, 3, |b| b[0] ^= 1),
            tamper(t, 4, |b| b[0] ^= 1),
            tamper(t, 2, |b| b[0] ^= 1),
            with_header(t, |h| {
                h.insert("x".into(), 1.into());
            }),
        ];
        for (i, b) in bad.iter().enumerate() {
            assert_eq!(
                read_userinfo(b, &op, RP, "user-1", &keys).unwrap_err(),
                LoginError::Jwe(JweError::Decrypt),
                "{alg}/{enc} tamper {i}"
            );
        }
        // a tampered encrypted key (RSA: random CEK, so still Decrypt; AES-KW: integrity check)
        if *alg != "ECDH-ES" {
            assert_eq!(
                read_userinfo(&tamper(t, 1, |b| b[3] ^= 1), &op, RP, "user-1", &keys).unwrap_err(),
                LoginError::Jwe(JweError::Decrypt),
                "{alg}/{enc} encrypted key"
            );
        }
        // another key of ours under the same kid cannot decrypt it
        let (_, other_pem) = key(if alg.starts_with("RSA") {
            Alg::RS256
        } else {
            Alg::ES256
        });
        let kid = keys[usize::from(!alg.starts_with("RSA"))].kid().to_owned();
        let other = vec![
            DecryptionKey::from_pkcs8_pem(&other_pem)
                .unwrap()
                .with_kid(kid),
        ];
        assert!(
            matches!(
                read_userinfo(t, &op, RP, "user-1", &other).unwrap_err(),
                LoginError::Jwe(JweError::Decrypt)
            ),
            "{alg}/{enc} other key"
        );
        if alg.starts_with("ECDH") {
            // an ephemeral key that is not a P-256 point (invalid-curve attack)
            let off = with_header(t, |h| {
                h["epk"]["y"] = B64.encode([1u8; 32]).into();
            });
            assert_eq!(
                read_userinfo(&off, &op, RP, "user-1", &keys).unwrap_err(),
                LoginError::Jwe(JweError::BadEpk)
            );
        }
    }
    let first = tokens[0].as_str().unwrap();
    let c = read_userinfo(first, &op, RP, "user-1", &keys).unwrap();
    let id =
        citizen_identity(&c, &id_token(acr_of(AssuranceLevel::L2)), Scheme::Spid, &op).unwrap();
    assert_eq!(id.fiscal_code.as_str(), "RSSMRA85T10A562S");
    assert_eq!(id.given_name.as_deref(), Some("Mario"));
    assert_eq!(id.family_name.as_deref(), Some("Rossi"));
    assert_eq!(
        id.method,
        LoginMethod::Spid {
            level: AssuranceLevel::L2
        }
    );
    assert_eq!(id.issuer, OP);
    let cie =
        citizen_identity(&c, &id_token(acr_of(AssuranceLevel::L3)), Scheme::Cie, &op).unwrap();
    assert_eq!(
        cie.method,
        LoginMethod::CieId {
            level: AssuranceLevel::L3
        }
    );
    assert!(matches!(
        citizen_identity(&c, &id_token("urn:other"), Scheme::Spid, &op),
        Err(LoginError::WrongAcr(_))
    ));
    let mut no_cf = c.clone();
    no_cf.insert(
        "https://attributes.eid.gov.it/fiscal_number".into(),
        "RSSMRA85T10A562S".into(),
    );
    assert_eq!(
        citizen_identity(
            &no_cf,
            &id_token(acr_of(AssuranceLevel::L2)),
            Scheme::Spid,
            &op
        )
        .unwrap_err(),
        LoginError::UserInfoClaim("fiscal_number")
    );

    // unencrypted: a bare JWS, plain JSON; unsigned: a JWE of plain JSON
    let bare = r["bare_jws"].as_str().unwrap();
    assert_eq!(
        read_userinfo(bare, &op, RP, "user-1", &keys).unwrap_err(),
        LoginError::UserInfoNotEncrypted
    );
    assert_eq!(
        read_userinfo(&claims.to_string(), &op, RP, "user-1", &keys).unwrap_err(),
        LoginError::UserInfoNotEncrypted
    );
    assert_eq!(
        read_userinfo(r["unsigned"].as_str().unwrap(), &op, RP, "user-1", &keys).unwrap_err(),
        LoginError::UserInfoNotSigned
    );
    // signed by a key that is not the OP's (under the OP's kid)
    assert_eq!(
        read_userinfo(
            r["other_signer"].as_str().unwrap(),
            &op,
            RP,
            "user-1",
            &keys
        )
        .unwrap_err(),
        LoginError::Jose(JoseError::BadSignature)
    );
    // another subject than the ID Token's, another audience
    assert_eq!(
        read_userinfo(r["wrong_sub"].as_str().unwrap(), &op, RP, "user-1", &keys).unwrap_err(),
        LoginError::UserInfoClaim("sub")
    );
    assert_eq!(
        read_userinfo(first, &op, "https://other-rp.example", "user-1", &keys).unwrap_err(),
        LoginError::UserInfoClaim("aud")
    );
    // without iss and aud (the official spid-cie-oidc OP): refused by default, read when
    // their absence is accepted; present and wrong, they are refused either way
    let bare = r["no_iss_aud"].as_str().unwrap();
    assert_eq!(
        read_userinfo(bare, &op, RP, "user-1", &keys).unwrap_err(),
        LoginError::UserInfoClaim("iss")
    );
    let lenient = UserInfoIssAud::IfPresent;
    let c = read_userinfo_with(bare, &op, RP, "user-1", &keys, lenient).unwrap();
    assert!(c.get("iss").is_none());
    assert_eq!(c["sub"], "user-1");
    assert_eq!(
        read_userinfo_with(
            r["wrong_iss"].as_str().unwrap(),
            &op,
            RP,
            "user-1",
            &keys,
            lenient
        )
        .unwrap_err(),
        LoginError::UserInfoClaim("iss")
    );
    assert_eq!(
        read_userinfo_with(
            first,
            &op,
            "https://other-rp.example",
            "user-1",
            &keys,
            lenient
        )
        .unwrap_err(),
        LoginError::UserInfoClaim("aud")
    );
    assert_eq!(
        read_userinfo_with(bare, &op, RP, "someone-else", &keys, lenient).unwrap_err(),
        LoginError::UserInfoClaim("sub")
    );
    // key management we do not do: dir, none; zip refused
    for (alg, want) in [
        ("dir", JweError::UnsupportedAlg("dir".into())),
        ("none", JweError::UnsupportedAlg("none".into())),
    ] {
        let t = with_header(first, |h| {
            h.insert("alg".into(), alg.into());
        });
        assert_eq!(
            read_userinfo(&t, &op, RP, "user-1", &keys).unwrap_err(),
            LoginError::Jwe(want)
        );
    }
    let t = with_header(first, |h| {
        h.insert("zip".into(), "DEF".into());
    });
    assert_eq!(
        read_userinfo(&t, &op, RP, "user-1", &keys).unwrap_err(),
        LoginError::Jwe(JweError::UnsupportedHeader("zip"))
    );
    let t = with_header(first, |h| {
        h.insert("kid".into(), "not-ours".into());
    });
    assert!(matches!(
        read_userinfo(&t, &op, RP, "user-1", &keys).unwrap_err(),
        LoginError::Jwe(JweError::NoKey(_))
    ));
}
