//! Entity statements: RP Entity Configuration round trip and the checks it must fail.
use super::key;
use oidc_fed::{
    Alg, EntityConfigurationBuilder, Jwks, StatementError, verify_entity_configuration,
    verify_statement,
};
use serde_json::{Map, json};

const RP: &str = "https://rp.example.it";
const NOW: i64 = 1_800_000_000;

fn ec(fed: &[oidc_fed::SigningKey], oidc: Jwks) -> Result<String, StatementError> {
    let mut rp = Map::new();
    rp.insert("client_id".into(), json!(RP));
    EntityConfigurationBuilder::new(RP, fed, oidc)
        .rp_metadata(rp)
        .authority_hints(vec!["https://ta.example.it".into()])
        .lifetime(3600)
        .sign(NOW)
}

#[test]
fn rp_entity_configuration_round_trip_and_attacks() {
    let (fed, _) = key(Alg::ES256);
    let (oidc, _) = key(Alg::RS256);
    let oidc_jwks = Jwks {
        keys: vec![oidc.public_jwk()],
    };
    let t = ec(std::slice::from_ref(&fed), oidc_jwks.clone()).unwrap();
    let st = verify_entity_configuration(&t, RP, &Alg::ALL, NOW).unwrap();
    assert_eq!(st.iss, RP);
    assert_eq!(st.exp, NOW + 3600);
    assert_eq!(st.jwks.keys, vec![fed.public_jwk()]);
    assert_eq!(
        st.metadata["openid_relying_party"]["jwks"],
        oidc_jwks.to_json()
    );
    assert_eq!(
        st.authority_hints,
        vec!["https://ta.example.it".to_string()]
    );

    // expired, future, other entity id
    assert!(matches!(
        verify_entity_configuration(&t, RP, &Alg::ALL, NOW + 3600),
        Err(StatementError::Expired { .. })
    ));
    assert!(matches!(
        verify_entity_configuration(&t, RP, &Alg::ALL, NOW - 3600),
        Err(StatementError::IssuedInFuture { .. })
    ));
    assert!(matches!(
        verify_entity_configuration(&t, "https://other.example.it", &Alg::ALL, NOW),
        Err(StatementError::WrongEntity { claim: "iss", .. })
    ));
    // a superior's statement check with keys that did not sign it
    let (other, _) = key(Alg::ES256);
    let other_jwks = Jwks {
        keys: vec![other.public_jwk()],
    };
    assert!(matches!(
        verify_statement(&t, &other_jwks, RP, RP, &Alg::ALL, NOW),
        Err(StatementError::Jose(oidc_fed::JoseError::UnknownKid(_)))
    ));
    // federation and OIDC keys must differ
    let same = Jwks {
        keys: vec![fed.public_jwk()],
    };
    assert!(matches!(
        ec(std::slice::from_ref(&fed), same),
        Err(StatementError::KeysNotSeparate(_))
    ));
    // wrong typ: a plain JWT with the same claims is not an entity statement
    let (_, payload) = oidc_fed::decode_unverified(&t).unwrap();
    let jwt = fed.sign(Some("JWT"), &payload).unwrap();
    assert!(matches!(
        verify_entity_configuration(&jwt, RP, &Alg::ALL, NOW),
        Err(StatementError::Jose(oidc_fed::JoseError::WrongTyp { .. }))
    ));
    // missing jwks claim
    let bad = fed
        .sign(Some("entity-statement+jwt"), br#"{"iss":"x","sub":"x"}"#)
        .unwrap();
    assert_eq!(
        verify_entity_configuration(&bad, "x", &Alg::ALL, NOW).unwrap_err(),
        StatementError::Claim("jwks")
    );
}
