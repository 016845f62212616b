//! Attack tests: each verification check fed the input it must reject.
use super::key;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use oidc_fed::{Alg, JoseError, Jwks, VerifyOptions, verify};

const ES: VerifyOptions<'static> = VerifyOptions {
    algs: &Alg::ALL,
    typ: Some("entity-statement+jwt"),
};

fn jwks_of(keys: &[&oidc_fed::SigningKey]) -> Jwks {
    Jwks {
        keys: keys.iter().map(|k| k.public_jwk()).collect(),
    }
}

fn forge(header: &str, payload: &str, sig: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        B64.encode(header),
        B64.encode(payload),
        B64.encode(sig)
    )
}

#[test]
fn round_trip_every_alg_and_jwks_json() {
    for alg in Alg::ALL {
        let (k, _) = key(alg);
        let jwks = Jwks::from_json(&jwks_of(&[&k]).to_json()).unwrap();
        let t = k.sign(Some("entity-statement+jwt"), br#"{"a":1}"#).unwrap();
        let v = verify(&t, &jwks, ES).unwrap();
        assert_eq!(v.payload, br#"{"a":1}"#);
        assert_eq!(v.kid, k.kid());
        // application/ prefix and case are not significant in typ (RFC 7515 §4.1.9)
        let opts = VerifyOptions {
            algs: &[alg],
            typ: Some("application/Entity-Statement+JWT"),
        };
        verify(&t, &jwks, opts).unwrap();
    }
}

#[test]
fn alg_none_and_not_allowed() {
    let (k, _) = key(Alg::ES256);
    let jwks = jwks_of(&[&k]);
    let h = format!(
        r#"{{"alg":"none","kid":"{}","typ":"entity-statement+jwt"}}"#,
        k.kid()
    );
    assert_eq!(
        verify(&forge(&h, "{}", b""), &jwks, ES).unwrap_err(),
        JoseError::AlgNone
    );
    let t = k.sign(Some("entity-statement+jwt"), b"{}").unwrap();
    let rs_only = VerifyOptions {
        algs: &[Alg::RS256],
        typ: None,
    };
    assert_eq!(
        verify(&t, &jwks, rs_only).unwrap_err(),
        JoseError::AlgNotAllowed("ES256".into())
    );
    let h = format!(r#"{{"alg":"HS256","kid":"{}"}}"#, k.kid());
    assert!(matches!(
        verify(&forge(&h, "{}", b"x"), &jwks, ES).unwrap_err(),
        JoseError::AlgNotAllowed(_)
    ));
}

#[test]
fn kid_missing_or_not_in_jwks() {
    let (k, _) = key(Alg::ES256);
    let (other, _) = key(Alg::ES256);
    let t = k.sign(Some("entity-statement+jwt"), b"{}").unwrap();
    assert_eq!(
        verify(&t, &jwks_of(&[&other]), ES).unwrap_err(),
        JoseError::UnknownKid(k.kid().into())
    );
    // a key embedded in the header is never used
    let jwk = k.public_jwk().to_json().to_string();
    let h = format!(r#"{{"alg":"ES256","typ":"entity-statement+jwt","jwk":{jwk}}}"#);
    assert_eq!(
        verify(&forge(&h, "{}", &[0; 64]), &jwks_of(&[&k]), ES).unwrap_err(),
        JoseError::MissingKid
    );
}

#[test]
fn same_kid_other_key_is_bad_signature() {
    let (k, _) = key(Alg::ES256);
    let (attacker, _) = key(Alg::ES256);
    let attacker = attacker.with_kid(k.kid());
    let t = attacker.sign(Some("entity-statement+jwt"), b"{}").unwrap();
    assert_eq!(
        verify(&t, &jwks_of(&[&k]), ES).unwrap_err(),
        JoseError::BadSignature
    );
}

#[test]
fn tampered_payload_and_signature() {
    for alg in Alg::ALL {
        let (k, _) = key(alg);
        let jwks = jwks_of(&[&k]);
        let t = k
            .sign(Some("entity-statement+jwt"), br#"{"sub":"a"}"#)
            .unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        let t2 = format!(
            "{}.{}.{}",
            parts[0],
            B64.encode(br#"{"sub":"b"}"#),
            parts[2]
        );
        assert_eq!(verify(&t2, &jwks, ES).unwrap_err(), JoseError::BadSignature);
        let mut sig = B64.decode(parts[2]).unwrap();
        sig[5] ^= 1;
        let t3 = format!("{}.{}.{}", parts[0], parts[1], B64.encode(sig));
        assert_eq!(verify(&t3, &jwks, ES).unwrap_err(), JoseError::BadSignature);
    }
}

#[test]
fn key_type_must_fit_alg() {
    let (rsa, _) = key(Alg::RS256);
    let mut jwk = rsa.public_jwk();
    jwk.alg = None;
    let jwks = Jwks { keys: vec![jwk] };
    let h = format!(
        r#"{{"alg":"ES256","kid":"{}","typ":"entity-statement+jwt"}}"#,
        rsa.kid()
    );
    assert!(matches!(
        verify(&forge(&h, "{}", &[0; 64]), &jwks, ES).unwrap_err(),
        JoseError::KeyAlgMismatch { .. }
    ));
    // key bound to RS256 refuses PS256
    let ps = VerifyOptions {
        algs: &Alg::ALL,
        typ: None,
    };
    let h = format!(r#"{{"alg":"PS256","kid":"{}"}}"#, rsa.kid());
    assert!(matches!(
        verify(&forge(&h, "{}", &[0; 256]), &jwks_of(&[&rsa]), ps).unwrap_err(),
        JoseError::KeyAlgMismatch { .. }
    ));
}

#[test]
fn typ_crit_and_shape() {
    let (k, _) = key(Alg::ES256);
    let jwks = jwks_of(&[&k]);
    let t = k.sign(Some("JWT"), b"{}").unwrap();
    assert!(matches!(
        verify(&t, &jwks, ES).unwrap_err(),
        JoseError::WrongTyp { .. }
    ));
    let t = k.sign(None, b"{}").unwrap();
    assert!(matches!(
        verify(&t, &jwks, ES).unwrap_err(),
        JoseError::WrongTyp { found: None, .. }
    ));
    let h = format!(
        r#"{{"alg":"ES256","kid":"{}","crit":["exp"],"exp":1}}"#,
        k.kid()
    );
    let no_typ = VerifyOptions {
        algs: &Alg::ALL,
        typ: None,
    };
    assert_eq!(
        verify(&forge(&h, "{}", &[0; 64]), &jwks, no_typ).unwrap_err(),
        JoseError::UnsupportedCrit
    );
    assert!(matches!(
        verify("a.b", &jwks, ES).unwrap_err(),
        JoseError::Malformed(_)
    ));
    assert!(matches!(
        verify("a.b.c.d", &jwks, ES).unwrap_err(),
        JoseError::Malformed(_)
    ));
    assert_eq!(
        verify("e30=.e30.AA", &jwks, ES).unwrap_err(),
        JoseError::Base64("header")
    );
    let big = "a".repeat(oidc_fed::MAX_JWS_LEN + 1);
    assert!(matches!(
        verify(&big, &jwks, ES).unwrap_err(),
        JoseError::TooLarge(_)
    ));
    assert!(matches!(
        verify(&forge("[1]", "{}", b""), &jwks, ES).unwrap_err(),
        JoseError::Json { .. }
    ));
}

#[test]
fn jwk_parsing_refuses_private_and_weak_keys() {
    let (k, _) = key(Alg::RS256);
    let mut v = k.public_jwk().to_json();
    v["d"] = "AAAA".into();
    assert!(matches!(
        oidc_fed::Jwk::from_json(&v),
        Err(JoseError::InvalidJwk(_))
    ));
    let weak = serde_json::json!({"kty":"RSA","kid":"w","n":B64.encode([0xc1u8; 128]),"e":"AQAB"});
    assert!(matches!(
        oidc_fed::Jwk::from_json(&weak),
        Err(JoseError::InvalidJwk(_))
    ));
    let p384 = serde_json::json!({"kty":"EC","crv":"P-384","kid":"x","x":"AA","y":"AA"});
    assert!(matches!(
        oidc_fed::Jwk::from_json(&p384),
        Err(JoseError::InvalidJwk(_))
    ));
    let dup = serde_json::json!({"keys":[k.public_jwk().to_json(), k.public_jwk().to_json()]});
    assert!(matches!(
        Jwks::from_json(&dup),
        Err(JoseError::InvalidJwk(_))
    ));
}
