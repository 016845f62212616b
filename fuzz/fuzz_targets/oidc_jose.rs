//! The JOSE parsers of oidc-fed on arbitrary bytes: compact JWS decoding and verification, JWE
//! decryption (P-256 and ECDH-ES key management, every content encryption), JWK / JWK Set
//! parsing, signed JWK Sets, Entity Configurations, the callback query and the token endpoint
//! answer. Never panics; a JWS that verifies with the fixed key must decode to the same payload
//! unverified.
#![no_main]

use libfuzzer_sys::fuzz_target;
use oidc_fed::{
    Alg, CallbackParams, DecryptionKey, HttpResponse, Jwk, Jwks, SigningKey, Tokens,
    VerifyOptions,
};
use std::sync::OnceLock;

struct Keys {
    jwks: Jwks,
    dec: Vec<DecryptionKey>,
}

fn keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| {
        let sig = SigningKey::generate_es256().expect("key");
        Keys {
            jwks: Jwks {
                keys: vec![sig.public_jwk()],
            },
            dec: vec![DecryptionKey::generate_p256()],
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let k = keys();
    let _ = Tokens::from_response(&HttpResponse {
        status: 200,
        content_type: Some("application/json".into()),
        body: data.to_vec(),
    });
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = Jwk::from_json(&v);
        let _ = Jwks::from_json(&v);
    }
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    let _ = CallbackParams::from_query(s);
    let unverified = oidc_fed::decode_unverified(s);
    let opts = VerifyOptions {
        algs: &Alg::ALL,
        typ: None,
    };
    if let Ok(v) = oidc_fed::verify(s, &k.jwks, opts) {
        assert_eq!(unverified.map(|(_, p)| p).ok(), Some(v.payload));
    }
    let _ = oidc_fed::verify(
        s,
        &k.jwks,
        VerifyOptions {
            algs: &[Alg::ES256],
            typ: Some("entity-statement+jwt"),
        },
    );
    let _ = oidc_fed::decrypt(s, &k.dec);
    let _ = oidc_fed::verify_signed_jwks(s, "https://op.example.it", &k.jwks, &Alg::ALL, 0);
    let _ = oidc_fed::verify_entity_configuration(s, "https://op.example.it", &Alg::ALL, 0);
});
