//! Trust chains over HTTP against a federation on 127.0.0.1, and every check fed the input it
//! exists to reject.
use super::fed::{ES_TYP, Fed, NOW, TM_OP, World, jwks, sign, tamper};
use oidc_fed::{
    ChainError, JoseError, PolicyErrorKind, SigningKey, StatementError, TrustAnchor,
    TrustChainCache, TrustChainResolver, TrustMarkError,
};
use serde_json::json;
use std::sync::Arc;

async fn setup() -> (Fed, World) {
    let fed = Fed::start().await;
    let w = World::new(&fed);
    w.publish(&fed);
    (fed, w)
}

fn statement_err(e: &ChainError) -> (&str, &StatementError) {
    match e {
        ChainError::Statement { entity, source } => (entity.as_str(), source),
        other => panic!("expected a statement error, got {other:?}"),
    }
}

#[tokio::test]
async fn resolves_op_through_intermediate() {
    let (fed, w) = setup().await;
    let chain = w.resolver(&fed).resolve(&fed.id("op"), NOW).await.unwrap();
    assert_eq!(chain.subject, fed.id("op"));
    assert_eq!(chain.trust_anchor, fed.id("ta"));
    assert_eq!(chain.statements.len(), 4);
    // the lowest exp: the TA's statement about the intermediate
    assert_eq!(chain.exp, NOW + 3600);
    assert_eq!(chain.jwks, jwks(&w.op));
    let op = chain.metadata_of("openid_provider").unwrap();
    // TA policy: subset_of trims; INT policy: add; INT metadata: op_policy_uri
    assert_eq!(op["subject_types_supported"], json!(["pairwise"]));
    assert_eq!(
        op["id_token_signing_alg_values_supported"],
        json!(["RS256", "ES256"])
    );
    assert_eq!(
        op["contacts"],
        json!(["ops@op.example.it", "helpdesk@int.example.it"])
    );
    assert_eq!(
        op["op_policy_uri"],
        json!(format!("{}/policy", fed.id("int")))
    );
    assert_eq!(chain.trust_marks.len(), 1);
    assert_eq!(chain.trust_marks[0].trust_mark_type, TM_OP);
    assert!(chain.rejected_trust_marks.is_empty());
    // the chain verifies again offline
    let again = oidc_fed::verify_trust_chain(
        &chain.statements,
        &[w.anchor(&fed)],
        &oidc_fed::Alg::ALL,
        NOW,
    )
    .unwrap();
    assert_eq!(again.metadata, chain.metadata);
    // and not once expired
    assert!(
        oidc_fed::verify_trust_chain(
            &chain.statements,
            &[w.anchor(&fed)],
            &oidc_fed::Alg::ALL,
            NOW + 3600
        )
        .is_err()
    );
}

#[tokio::test]
async fn tampered_statement_at_each_level_is_refused() {
    let (fed, w) = setup().await;
    let keys = [
        Fed::ec_key("op"),
        fed.fetch_key("int", "op"),
        Fed::ec_key("int"),
        fed.fetch_key("ta", "int"),
        Fed::ec_key("ta"),
    ];
    for k in keys {
        w.publish(&fed);
        let good = fed.get(&k);
        fed.put(
            &k,
            ES_TYP,
            &tamper(&good, |v| v["exp"] = json!(NOW + 999_999)),
        );
        let e = w
            .resolver(&fed)
            .resolve(&fed.id("op"), NOW)
            .await
            .unwrap_err();
        assert_eq!(
            statement_err(&e).1,
            &StatementError::Jose(JoseError::BadSignature),
            "{k}"
        );
    }
}

#[tokio::test]
async fn superior_keys_must_verify_the_subordinate() {
    let (fed, mut w) = setup().await;
    // the intermediate states other keys for the OP than the OP signs with
    let stranger = SigningKey::generate_es256().unwrap();
    w.int_about_op["jwks"] = jwks(&stranger).to_json();
    w.publish(&fed);
    let e = w
        .resolver(&fed)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    let (entity, err) = statement_err(&e);
    assert_eq!(entity, fed.id("op"));
    assert!(matches!(
        err,
        StatementError::Jose(JoseError::UnknownKid(_))
    ));

    // the statement about the OP signed by the OP itself, not its superior
    let w = World::new(&fed);
    w.publish(&fed);
    fed.put(
        &fed.fetch_key("int", "op"),
        ES_TYP,
        &sign(&w.op, &w.int_about_op),
    );
    let e = w
        .resolver(&fed)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(
        statement_err(&e).1,
        StatementError::Jose(JoseError::UnknownKid(_))
    ));

    // the statement names another subject
    let mut w = World::new(&fed);
    w.int_about_op["sub"] = json!(fed.id("other"));
    w.publish(&fed);
    let e = w
        .resolver(&fed)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(
        statement_err(&e).1,
        StatementError::WrongEntity { claim: "sub", .. }
    ));
}

#[tokio::test]
async fn expired_statement_at_each_level_is_refused() {
    let fed = Fed::start().await;
    for level in 0..5 {
        let mut w = World::new(&fed);
        let st = match level {
            0 => &mut w.op_ec,
            1 => &mut w.int_about_op,
            2 => &mut w.int_ec,
            3 => &mut w.ta_about_int,
            _ => &mut w.ta_ec,
        };
        st["exp"] = json!(NOW - 1);
        w.publish(&fed);
        let e = w
            .resolver(&fed)
            .resolve(&fed.id("op"), NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(statement_err(&e).1, StatementError::Expired { .. }),
            "level {level}: {e}"
        );
    }
}

#[tokio::test]
async fn unknown_trust_anchor_is_refused() {
    let (fed, w) = setup().await;
    // configured with another anchor: the path ends at a TA we do not know
    let other = TrustAnchor {
        entity_id: fed.id("other-ta"),
        jwks: jwks(&w.ta),
    };
    let r = TrustChainResolver::new(Fed::fetcher(), vec![other]);
    let e = r.resolve(&fed.id("op"), NOW).await.unwrap_err();
    assert_eq!(
        e,
        ChainError::UnknownTrustAnchor {
            entity: fed.id("ta")
        }
    );
    // the right id with other keys: the TA's configuration is not signed by the configured key
    let fake = TrustAnchor {
        entity_id: fed.id("ta"),
        jwks: jwks(&SigningKey::generate_es256().unwrap()),
    };
    let r = TrustChainResolver::new(Fed::fetcher(), vec![fake.clone()]);
    let e = r.resolve(&fed.id("op"), NOW).await.unwrap_err();
    assert!(matches!(
        statement_err(&e),
        (_, StatementError::Jose(JoseError::UnknownKid(_)))
    ));
    // and offline: a chain ending at an unconfigured anchor
    let good = w.resolver(&fed).resolve(&fed.id("op"), NOW).await.unwrap();
    let e =
        oidc_fed::verify_trust_chain(&good.statements, &[], &oidc_fed::Alg::ALL, NOW).unwrap_err();
    assert!(matches!(e, ChainError::UnknownTrustAnchor { .. }));
}

#[tokio::test]
async fn loops_and_depth_are_refused() {
    let (fed, mut w) = setup().await;
    // INT names the OP as its superior: op -> int -> op
    w.int_ec["authority_hints"] = json!([fed.id("op")]);
    w.publish(&fed);
    let e = w
        .resolver(&fed)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ChainError::Loop {
            entity: fed.id("op")
        }
    );

    let w = World::new(&fed);
    w.publish(&fed);
    let e = w
        .resolver(&fed)
        .max_intermediates(0)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(e, ChainError::TooDeep { max: 0, .. }), "{e}");

    // through the intermediate takes four fetches above the OP
    let e = w
        .resolver(&fed)
        .max_fetches(3)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ChainError::TooManyFetches {
            subject: fed.id("op"),
            max: 3
        }
    );
    w.resolver(&fed)
        .max_fetches(4)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap();
}

#[tokio::test]
async fn constraints_are_enforced() {
    let fed = Fed::start().await;
    // the TA allows no intermediate below it
    let mut w = World::new(&fed);
    w.ta_about_int["constraints"] = json!({"max_path_length": 0});
    w.publish(&fed);
    let e = w
        .resolver(&fed)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ChainError::PathLength {
            issuer: fed.id("ta"),
            max: 0,
            found: 1
        }
    );
    // one is fine
    w.ta_about_int["constraints"] = json!({"max_path_length": 1});
    w.publish(&fed);
    w.resolver(&fed).resolve(&fed.id("op"), NOW).await.unwrap();

    // naming constraints: the loopback host excluded
    w.ta_about_int["constraints"] = json!({"naming_constraints": {"excluded": ["127.0.0.1"]}});
    w.publish(&fed);
    let e = w
        .resolver(&fed)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(e, ChainError::NamingConstraint { .. }), "{e}");
    w.ta_about_int["constraints"] = json!({"naming_constraints": {"permitted": [".example.it"]}});
    w.publish(&fed);
    let e = w
        .resolver(&fed)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(e, ChainError::NamingConstraint { .. }), "{e}");

    // allowed_entity_types drops the OP metadata
    w.ta_about_int["constraints"] = json!({"allowed_entity_types": ["openid_relying_party"]});
    w.publish(&fed);
    let c = w.resolver(&fed).resolve(&fed.id("op"), NOW).await.unwrap();
    assert!(c.metadata_of("openid_provider").is_none());
    assert!(c.metadata_of("federation_entity").is_some());
}

/// Italian profile (and the official spid-cie-oidc Trust Anchor): the Trust Anchor publishes the
/// federation's `constraints` in its own Entity Configuration. Accepted there, and enforced like
/// the constraints of the statements it issues; still refused in any other Entity Configuration.
#[tokio::test]
async fn trust_anchor_entity_configuration_constraints_are_enforced() {
    let fed = Fed::start().await;
    let mut w = World::new(&fed);
    w.ta_ec["constraints"] = json!({"max_path_length": 0});
    w.publish(&fed);
    let e = w
        .resolver(&fed)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    assert_eq!(
        e,
        ChainError::PathLength {
            issuer: fed.id("ta"),
            max: 0,
            found: 1
        }
    );
    w.ta_ec["constraints"] = json!({"max_path_length": 1});
    w.publish(&fed);
    let chain = w.resolver(&fed).resolve(&fed.id("op"), NOW).await.unwrap();
    assert!(chain.metadata_of("openid_provider").is_some());
    w.ta_ec["constraints"] = json!({"naming_constraints": {"excluded": ["127.0.0.1"]}});
    w.publish(&fed);
    let e = w
        .resolver(&fed)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(e, ChainError::NamingConstraint { .. }), "{e}");
    w.ta_ec["constraints"] = json!({"allowed_entity_types": ["openid_relying_party"]});
    w.publish(&fed);
    let c = w.resolver(&fed).resolve(&fed.id("op"), NOW).await.unwrap();
    assert!(c.metadata_of("openid_provider").is_none());
    // the same chain verified offline enforces them too
    let offline = oidc_fed::verify_trust_chain(
        &c.statements,
        w.resolver(&fed).anchors(),
        &oidc_fed::Alg::ALL,
        NOW,
    )
    .unwrap();
    assert!(offline.metadata_of("openid_provider").is_none());
    // constraints in an intermediate's or a leaf's Entity Configuration stay refused
    for leaf in [false, true] {
        let mut w = World::new(&fed);
        if leaf {
            w.op_ec["constraints"] = json!({"max_path_length": 1});
        } else {
            w.int_ec["constraints"] = json!({"max_path_length": 1});
        }
        w.publish(&fed);
        let e = w
            .resolver(&fed)
            .resolve(&fed.id("op"), NOW)
            .await
            .unwrap_err();
        assert!(
            format!("{e:?}").contains("is only for Subordinate Statements"),
            "{e:?}"
        );
    }
}

#[tokio::test]
async fn policy_violation_and_conflict_are_refused() {
    let fed = Fed::start().await;
    let mut w = World::new(&fed);
    w.ta_about_int["metadata_policy"]["openid_provider"]["id_token_signing_alg_values_supported"]
        ["superset_of"] = json!(["PS256"]);
    w.publish(&fed);
    let e = w
        .resolver(&fed)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    let ChainError::Policy(p) = e else {
        panic!("{e}")
    };
    assert_eq!(
        (p.entity.as_str(), &*p.parameter, p.operator),
        (
            fed.id("op").as_str(),
            "id_token_signing_alg_values_supported",
            "superset_of"
        )
    );
    assert!(matches!(p.kind, PolicyErrorKind::Violation { .. }));

    // the intermediate's policy conflicts with the TA's
    let mut w = World::new(&fed);
    w.ta_about_int["metadata_policy"]["openid_provider"]["issuer"] = json!({"value": "a"});
    w.int_about_op["metadata_policy"]["openid_provider"]["issuer"] = json!({"value": "b"});
    w.publish(&fed);
    let e = w
        .resolver(&fed)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    let ChainError::Policy(p) = e else {
        panic!("{e}")
    };
    assert_eq!(
        (p.entity.as_str(), p.operator),
        (fed.id("int").as_str(), "value")
    );
    assert!(matches!(p.kind, PolicyErrorKind::MergeConflict { .. }));

    // a critical operator we do not implement
    let mut w = World::new(&fed);
    w.int_about_op["metadata_policy_crit"] = json!(["regexp"]);
    w.publish(&fed);
    let e = w
        .resolver(&fed)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    assert!(
        matches!(e, ChainError::Policy(ref p) if p.kind == PolicyErrorKind::UnsupportedCritical("regexp".into()))
    );
}

#[tokio::test]
async fn misplaced_and_critical_claims_are_refused() {
    let fed = Fed::start().await;
    type Edit = fn(&mut World, &Fed);
    let cases: [(&str, Edit); 3] = [
        ("crit", |w, _| {
            w.int_about_op["crit"] = json!(["jti"]);
            w.int_about_op["jti"] = json!("x");
        }),
        ("authority_hints", |w, f| {
            w.int_about_op["authority_hints"] = json!([f.id("ta")]);
        }),
        ("metadata_policy", |w, _| {
            w.op_ec["metadata_policy"] = json!({});
        }),
    ];
    for (claim, edit) in cases {
        let mut w = World::new(&fed);
        edit(&mut w, &fed);
        w.publish(&fed);
        let e = w
            .resolver(&fed)
            .resolve(&fed.id("op"), NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(&e, ChainError::Claim { claim: c, .. } if c == claim),
            "{claim}: {e}"
        );
    }
}

#[tokio::test]
async fn http_answers_are_checked() {
    let (fed, w) = setup().await;
    let k = Fed::ec_key("op");
    let good = fed.get(&k);
    fed.put(&k, "text/plain", &good);
    let e = w
        .resolver(&fed)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(e, ChainError::ContentType { .. }), "{e}");
    fed.put_status(&k, 500, ES_TYP, &good);
    let e = w
        .resolver(&fed)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(e, ChainError::Http { status: 500, .. }), "{e}");
    // no fetch endpoint at the intermediate
    let mut w = World::new(&fed);
    w.int_ec["metadata"] = json!({"federation_entity": {}});
    w.publish(&fed);
    let e = w
        .resolver(&fed)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(e, ChainError::NoEndpoint { .. }), "{e}");
    // plain HTTP refused by a fetcher not told to allow loopback HTTP
    let r = TrustChainResolver::new(
        oidc_fed::ReqwestFetcher::new().unwrap(),
        vec![w.anchor(&fed)],
    );
    let e = r.resolve(&fed.id("op"), NOW).await.unwrap_err();
    assert!(matches!(e, ChainError::Fetch(_)), "{e}");
}

async fn rejected_mark(w: &World, fed: &Fed) -> TrustMarkError {
    w.publish(fed);
    let c = w.resolver(fed).resolve(&fed.id("op"), NOW).await.unwrap();
    assert!(c.trust_marks.is_empty());
    // required: the chain is refused
    let e = w
        .resolver(fed)
        .require_trust_marks(vec![TM_OP.into()])
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(e, ChainError::MissingTrustMark { .. }), "{e}");
    c.rejected_trust_marks[0].1.clone()
}

#[tokio::test]
async fn trust_marks_are_verified() {
    let fed = Fed::start().await;
    // valid and required
    let w = World::new(&fed);
    w.publish(&fed);
    let c = w
        .resolver(&fed)
        .require_trust_marks(vec![TM_OP.into()])
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap();
    assert_eq!(c.trust_marks[0].iss, fed.id("ta"));

    let mut w = World::new(&fed);
    w.tm["sub"] = json!(fed.id("someone-else"));
    assert!(matches!(
        rejected_mark(&w, &fed).await,
        TrustMarkError::WrongSubject { .. }
    ));

    let mut w = World::new(&fed);
    w.tm["exp"] = json!(NOW - 1);
    assert!(matches!(
        rejected_mark(&w, &fed).await,
        TrustMarkError::Expired { .. }
    ));

    let mut w = World::new(&fed);
    w.tm_typ = "JWT";
    assert!(matches!(
        rejected_mark(&w, &fed).await,
        TrustMarkError::Jose(JoseError::WrongTyp { .. })
    ));

    // signed by a key that is not the issuer's
    let mut w = World::new(&fed);
    w.tm_signer = Some(SigningKey::generate_es256().unwrap());
    assert!(matches!(
        rejected_mark(&w, &fed).await,
        TrustMarkError::Jose(JoseError::UnknownKid(_))
    ));

    // issued by the intermediate, which the TA does not list as an issuer
    let mut w = World::new(&fed);
    w.tm["iss"] = json!(fed.id("int"));
    w.tm_signer = Some(SigningKey::generate_es256().unwrap());
    assert_eq!(
        rejected_mark(&w, &fed).await,
        TrustMarkError::IssuerNotTrusted {
            issuer: fed.id("int"),
            trust_mark_type: TM_OP.into()
        }
    );

    // the entry's type differs from the JWT's
    let mut w = World::new(&fed);
    w.op_ec["trust_marks"] =
        json!([{"trust_mark_type": "https://other/", "trust_mark": w.trust_mark()}]);
    w.ta_ec["trust_mark_issuers"]["https://other/"] = json!([]);
    assert!(matches!(
        rejected_mark(&w, &fed).await,
        TrustMarkError::TypeMismatch { .. }
    ));

    // a type with an owner: the mark must carry a delegation
    let mut w = World::new(&fed);
    w.ta_ec["trust_mark_owners"] =
        json!({TM_OP: {"sub": fed.id("owner"), "jwks": jwks(&w.int).to_json()}});
    assert_eq!(
        rejected_mark(&w, &fed).await,
        TrustMarkError::DelegationMissing(TM_OP.into())
    );
    // a delegation with no owner named by the TA
    let mut w = World::new(&fed);
    w.tm["delegation"] = json!("x.y.z");
    assert!(matches!(
        rejected_mark(&w, &fed).await,
        TrustMarkError::DelegationInvalid(_)
    ));
}

/// A World whose TA names `owner` as the owner of [`TM_OP`] and whose mark carries a delegation
/// with these claims, signed by `signer` with `typ`.
fn delegated(
    fed: &Fed,
    owner: &SigningKey,
    signer: &SigningKey,
    claims: serde_json::Value,
    typ: &str,
) -> World {
    let mut w = World::new(fed);
    w.ta_ec["trust_mark_owners"] =
        json!({TM_OP: {"sub": fed.id("owner"), "jwks": jwks(owner).to_json()}});
    w.tm["delegation"] = json!(
        signer
            .sign(Some(typ), claims.to_string().as_bytes())
            .unwrap()
    );
    w
}

#[tokio::test]
async fn trust_mark_delegations_are_verified() {
    let fed = Fed::start().await;
    let owner = SigningKey::generate_es256().unwrap();
    let good = json!({
        "iss": fed.id("owner"), "sub": fed.id("ta"), "trust_mark_type": TM_OP,
        "iat": NOW - 10, "exp": NOW + 3600
    });
    const DT: &str = "trust-mark-delegation+jwt";
    // valid: the owner delegates to the TA, which issued the mark
    let w = delegated(&fed, &owner, &owner, good.clone(), DT);
    w.publish(&fed);
    let c = w
        .resolver(&fed)
        .require_trust_marks(vec![TM_OP.into()])
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap();
    assert_eq!(c.trust_marks.len(), 1);

    let stranger = SigningKey::generate_es256().unwrap();
    let w = delegated(&fed, &owner, &stranger, good.clone(), DT);
    assert!(matches!(
        rejected_mark(&w, &fed).await,
        TrustMarkError::DelegationJose(JoseError::UnknownKid(_))
    ));
    let w = delegated(&fed, &owner, &owner, good.clone(), "JWT");
    assert!(matches!(
        rejected_mark(&w, &fed).await,
        TrustMarkError::DelegationJose(JoseError::WrongTyp { .. })
    ));
    let edits: [(&str, serde_json::Value, &str); 4] = [
        (
            "sub",
            json!(fed.id("int")),
            "sub is not the trust mark issuer",
        ),
        (
            "iss",
            json!(fed.id("ta")),
            "iss is not the trust mark owner",
        ),
        (
            "trust_mark_type",
            json!("https://other/"),
            "trust_mark_type differs from the trust mark's",
        ),
        ("exp", json!(NOW - 1), "expired"),
    ];
    for (claim, value, reason) in edits {
        let mut c = good.clone();
        c[claim] = value;
        let w = delegated(&fed, &owner, &owner, c, DT);
        assert_eq!(
            rejected_mark(&w, &fed).await,
            TrustMarkError::DelegationInvalid(reason),
            "{claim}"
        );
    }
}

/// A World whose OP carries no Trust Mark of its own: its mark (`w.tm`, signed as
/// [`World::trust_mark`] does) is in the intermediate's Subordinate Statement about it, as the
/// Italian profile and the official spid-cie-oidc Trust Anchor put it.
fn mark_in_subordinate_statement(fed: &Fed) -> World {
    let mut w = World::new(fed);
    w.op_ec["trust_marks"] = json!([]);
    w
}

fn publish_mark_in_statement(w: &mut World, fed: &Fed) {
    w.int_about_op["trust_marks"] = json!([{
        "trust_mark_type": w.tm["trust_mark_type"],
        "trust_mark": w.trust_mark()
    }]);
    w.publish(fed);
}

#[tokio::test]
async fn trust_marks_in_the_subordinate_statement_are_verified() {
    let fed = Fed::start().await;
    // valid: accepted, and it satisfies a requirement
    let mut w = mark_in_subordinate_statement(&fed);
    publish_mark_in_statement(&mut w, &fed);
    let c = w
        .resolver(&fed)
        .require_trust_marks(vec![TM_OP.into()])
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap();
    assert_eq!(c.trust_marks.len(), 1);
    assert_eq!(c.trust_marks[0].iss, fed.id("ta"));
    assert_eq!(c.trust_marks[0].sub, fed.id("op"));
    assert!(c.rejected_trust_marks.is_empty());
    // the chain with such a statement verifies offline too
    oidc_fed::verify_trust_chain(&c.statements, &[w.anchor(&fed)], &oidc_fed::Alg::ALL, NOW)
        .unwrap();

    // the same mark (the same JWT) in the Entity Configuration and in the statement: checked
    // once
    let mut w = World::new(&fed);
    publish_mark_in_statement(&mut w, &fed);
    w.op_ec["trust_marks"] = w.int_about_op["trust_marks"].clone();
    w.publish(&fed);
    let c = w.resolver(&fed).resolve(&fed.id("op"), NOW).await.unwrap();
    assert_eq!((c.trust_marks.len(), c.rejected_trust_marks.len()), (1, 0));

    // each bad mark in the statement is rejected, and a requirement then refuses the chain
    type Edit = fn(&mut World, &Fed);
    let cases: [(&str, Edit); 6] = [
        ("for another entity", |w, fed| {
            w.tm["sub"] = json!(fed.id("int"))
        }),
        ("expired", |w, _| w.tm["exp"] = json!(NOW - 1)),
        ("issued in the future", |w, _| {
            w.tm["iat"] = json!(NOW + 3600)
        }),
        ("wrong typ", |w, _| w.tm_typ = "JWT"),
        ("signed by a key not the issuer's", |w, _| {
            w.tm_signer = Some(SigningKey::generate_es256().unwrap())
        }),
        ("issuer the TA does not list", |w, fed| {
            w.tm["iss"] = json!(fed.id("int"))
        }),
    ];
    for (what, edit) in cases {
        let mut w = mark_in_subordinate_statement(&fed);
        edit(&mut w, &fed);
        publish_mark_in_statement(&mut w, &fed);
        let c = w.resolver(&fed).resolve(&fed.id("op"), NOW).await.unwrap();
        assert!(c.trust_marks.is_empty(), "{what}");
        assert_eq!(c.rejected_trust_marks.len(), 1, "{what}");
        let e = w
            .resolver(&fed)
            .require_trust_marks(vec![TM_OP.into()])
            .resolve(&fed.id("op"), NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(e, ChainError::MissingTrustMark { .. }),
            "{what}: {e}"
        );
        let why = &c.rejected_trust_marks[0].1;
        let ok = match what {
            "for another entity" => matches!(why, TrustMarkError::WrongSubject { .. }),
            "expired" => matches!(why, TrustMarkError::Expired { .. }),
            "issued in the future" => matches!(why, TrustMarkError::IssuedInFuture { .. }),
            "wrong typ" => matches!(why, TrustMarkError::Jose(JoseError::WrongTyp { .. })),
            "signed by a key not the issuer's" => {
                matches!(why, TrustMarkError::Jose(JoseError::UnknownKid(_)))
            }
            _ => matches!(why, TrustMarkError::IssuerNotTrusted { .. }),
        };
        assert!(ok, "{what}: {why:?}");
    }

    // an entry that is no Trust Mark object is rejected, not trusted
    let mut w = mark_in_subordinate_statement(&fed);
    w.int_about_op["trust_marks"] = json!(["not-an-object", {"trust_mark_type": TM_OP}]);
    w.publish(&fed);
    let c = w.resolver(&fed).resolve(&fed.id("op"), NOW).await.unwrap();
    assert!(c.trust_marks.is_empty());
    assert!(
        c.rejected_trust_marks
            .iter()
            .all(|(_, e)| matches!(e, TrustMarkError::Malformed(_))),
        "{:?}",
        c.rejected_trust_marks
    );
    assert_eq!(c.rejected_trust_marks.len(), 2);
    // `trust_marks` that is not an array: the statement is refused
    let mut w = mark_in_subordinate_statement(&fed);
    w.int_about_op["trust_marks"] = json!({"trust_mark_type": TM_OP});
    w.publish(&fed);
    let e = w
        .resolver(&fed)
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap_err();
    let (_, st) = statement_err(&e);
    assert!(matches!(st, StatementError::Claim("trust_marks")), "{e:?}");
    // the other Entity Configuration claims stay refused in a Subordinate Statement
    for (claim, value) in [
        ("trust_mark_issuers", json!({})),
        ("trust_mark_owners", json!({})),
        ("authority_hints", json!([])),
    ] {
        let mut w = World::new(&fed);
        w.int_about_op[claim] = value;
        w.publish(&fed);
        let e = w
            .resolver(&fed)
            .resolve(&fed.id("op"), NOW)
            .await
            .unwrap_err();
        assert!(
            format!("{e:?}").contains("is only for Entity Configurations"),
            "{claim}: {e:?}"
        );
    }
}

#[tokio::test]
async fn trust_mark_issuer_is_resolved_through_its_own_chain() {
    let fed = Fed::start().await;
    let mut w = World::new(&fed);
    // the intermediate issues the mark and is listed by the TA: its keys come from its own chain
    w.tm["iss"] = json!(fed.id("int"));
    w.ta_ec["trust_mark_issuers"][TM_OP] = json!([fed.id("int")]);
    let tm = w
        .int
        .sign(Some("trust-mark+jwt"), w.tm.to_string().as_bytes())
        .unwrap();
    w.op_ec["trust_marks"] = json!([{"trust_mark_type": TM_OP, "trust_mark": tm}]);
    w.publish(&fed);
    let c = w
        .resolver(&fed)
        .require_trust_marks(vec![TM_OP.into()])
        .resolve(&fed.id("op"), NOW)
        .await
        .unwrap();
    assert_eq!(c.trust_marks[0].iss, fed.id("int"));
}

#[tokio::test]
async fn discovers_providers_from_the_list_endpoint() {
    let (fed, w) = setup().await;
    let found = w
        .resolver(&fed)
        .discover_providers(&fed.id("ta"), NOW)
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, fed.id("op"));
    assert!(found[0].1.is_ok());
    // a listed entity with no chain is reported, not hidden
    fed.put(
        "/ta/list?entity_type=openid_provider",
        "application/json",
        &json!([fed.id("op"), fed.id("ghost")]).to_string(),
    );
    let found = w
        .resolver(&fed)
        .discover_providers(&fed.id("ta"), NOW)
        .await
        .unwrap();
    assert!(found[1].1.is_err());
    // a list that is not an array of strings
    fed.put(
        "/ta/list?entity_type=openid_provider",
        "application/json",
        "[1]",
    );
    let e = w
        .resolver(&fed)
        .discover_providers(&fed.id("ta"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(e, ChainError::List { .. }));
    // only configured anchors are asked
    let e = w
        .resolver(&fed)
        .discover_providers(&fed.id("int"), NOW)
        .await
        .unwrap_err();
    assert!(matches!(e, ChainError::UnknownTrustAnchor { .. }));
}

#[tokio::test]
async fn cache_keeps_the_last_good_chain_until_it_expires() {
    let (fed, w) = setup().await;
    let cache = TrustChainCache::new(w.resolver(&fed), 600);
    let op = fed.id("op");
    let first = cache.get(&op, NOW).await.unwrap();
    // the federation breaks: a fresh chain is served from the cache without fetching
    fed.remove(&fed.fetch_key("int", "op"));
    let again = cache.get(&op, NOW + 10).await.unwrap();
    assert!(Arc::ptr_eq(&first, &again));
    assert!(cache.last_error(&op).is_none());
    // near expiry the refresh fails: the last good chain stays, the failure is recorded
    let near = cache.get(&op, NOW + 3300).await.unwrap();
    assert!(Arc::ptr_eq(&first, &near));
    assert!(matches!(
        cache.last_error(&op),
        Some(ChainError::Http { status: 404, .. })
    ));
    assert_eq!(cache.refresh_due(NOW + 3300).await, 1);
    // once expired it is gone
    let e = cache.get(&op, NOW + 3600).await.unwrap_err();
    assert!(matches!(e, ChainError::Http { status: 404, .. }));
    // the federation repaired (a new TA statement, longer-lived): a refresh replaces the chain
    let mut w2 = w;
    w2.ta_about_int["exp"] = json!(NOW + 7000);
    w2.publish(&fed);
    let c = cache.get(&op, NOW + 3600).await.unwrap();
    assert_eq!(c.exp, NOW + 5000);
    assert!(cache.last_error(&op).is_none());
}
