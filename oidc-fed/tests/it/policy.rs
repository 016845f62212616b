//! Metadata policy: each operator, each combination rule, each merge conflict, and the examples
//! of OpenID Federation 1.0 §6.1.
use oidc_fed::{MetadataPolicy, PolicyError, PolicyErrorKind};
use serde_json::{Map, Value, json};

const TA: &str = "https://ta.example.it";
const INT: &str = "https://int.example.it";
const RP: &str = "https://rp.example.it";

fn obj(v: Value) -> Map<String, Value> {
    v.as_object().unwrap().clone()
}

/// A policy for `openid_relying_party.<param>` with these operators.
fn pol(param: &str, ops: Value) -> Map<String, Value> {
    obj(json!({ "openid_relying_party": { param: ops } }))
}

fn parse(iss: &str, p: &Map<String, Value>) -> Result<MetadataPolicy, PolicyError> {
    MetadataPolicy::parse(iss, p, &[])
}

/// Applies a one-parameter policy to a one-parameter metadata (None = absent).
fn apply1(param: &str, ops: Value, input: Option<Value>) -> Result<Option<Value>, PolicyError> {
    let p = parse(TA, &pol(param, ops))?;
    let mut md = Map::new();
    if let Some(v) = input {
        md.insert(param.into(), v);
    }
    let out = p.apply(RP, &obj(json!({ "openid_relying_party": md })))?;
    Ok(out["openid_relying_party"].get(param).cloned())
}

fn kind(e: PolicyError) -> PolicyErrorKind {
    e.kind
}

#[test]
fn value_sets_overrides_and_removes() {
    let r = apply1("require_auth_time", json!({"value": true}), None).unwrap();
    assert_eq!(r, Some(json!(true)));
    let r = apply1(
        "require_auth_time",
        json!({"value": true}),
        Some(json!(false)),
    )
    .unwrap();
    assert_eq!(r, Some(json!(true)));
    let r = apply1(
        "initiate_login_uri",
        json!({"value": null}),
        Some(json!("https://rp.example.it/login")),
    )
    .unwrap();
    assert_eq!(r, None);
    // an object is not a value this implementation accepts
    let e = parse(TA, &pol("x", json!({"value": {"a": 1}}))).unwrap_err();
    assert_eq!(e.operator, "value");
    assert!(matches!(e.kind, PolicyErrorKind::BadOperatorValue(_)));
}

#[test]
fn add_appends_without_duplicates_and_initialises() {
    let ops = json!({"add": ["helpdesk@ta.example.it"]});
    assert_eq!(
        apply1("contacts", ops.clone(), None).unwrap(),
        Some(json!(["helpdesk@ta.example.it"]))
    );
    assert_eq!(
        apply1(
            "contacts",
            ops.clone(),
            Some(json!(["ops@rp.example.it", "helpdesk@ta.example.it"]))
        )
        .unwrap(),
        Some(json!(["ops@rp.example.it", "helpdesk@ta.example.it"]))
    );
    // on a string parameter: a typed error naming the subject, type, parameter, operator
    let e = apply1("contacts", ops, Some(json!("ops@rp.example.it"))).unwrap_err();
    assert_eq!(
        e,
        PolicyError {
            entity: RP.into(),
            entity_type: "openid_relying_party".into(),
            parameter: "contacts".into(),
            operator: "add",
            kind: PolicyErrorKind::BadParameterType("not an array"),
        }
    );
    // add must be an array
    let e = parse(TA, &pol("contacts", json!({"add": "a@b.it"}))).unwrap_err();
    assert_eq!(e.operator, "add");
    assert!(matches!(e.kind, PolicyErrorKind::BadOperatorValue(_)));
}

#[test]
fn default_only_when_absent() {
    let ops = json!({"default": "ES256"});
    assert_eq!(
        apply1("id_token_signed_response_alg", ops.clone(), None).unwrap(),
        Some(json!("ES256"))
    );
    assert_eq!(
        apply1("id_token_signed_response_alg", ops, Some(json!("RS256"))).unwrap(),
        Some(json!("RS256"))
    );
    let e = parse(TA, &pol("x", json!({"default": null}))).unwrap_err();
    assert_eq!(e.operator, "default");
}

#[test]
fn one_of_checks_presence_only() {
    let ops = json!({"one_of": ["ES256", "PS256"]});
    assert_eq!(
        apply1("alg", ops.clone(), Some(json!("PS256"))).unwrap(),
        Some(json!("PS256"))
    );
    assert_eq!(apply1("alg", ops.clone(), None).unwrap(), None);
    let e = apply1("alg", ops, Some(json!("RS256"))).unwrap_err();
    assert_eq!((e.entity.as_str(), e.operator), (RP, "one_of"));
    assert!(matches!(e.kind, PolicyErrorKind::Violation { .. }));
    let e = parse(TA, &pol("alg", json!({"one_of": []}))).unwrap_err();
    assert!(matches!(e.kind, PolicyErrorKind::BadOperatorValue(_)));
}

#[test]
fn subset_of_intersects_and_superset_of_checks() {
    let sub = json!({"subset_of": ["authorization_code", "refresh_token"]});
    assert_eq!(
        apply1(
            "grant_types",
            sub.clone(),
            Some(json!(["implicit", "authorization_code"]))
        )
        .unwrap(),
        Some(json!(["authorization_code"]))
    );
    assert_eq!(
        apply1("grant_types", sub.clone(), Some(json!(["implicit"]))).unwrap(),
        Some(json!([]))
    );
    assert_eq!(apply1("grant_types", sub, None).unwrap(), None);

    let sup = json!({"superset_of": ["authorization_code"]});
    assert_eq!(
        apply1(
            "grant_types",
            sup.clone(),
            Some(json!(["authorization_code", "refresh_token"]))
        )
        .unwrap(),
        Some(json!(["authorization_code", "refresh_token"]))
    );
    let e = apply1("grant_types", sup.clone(), Some(json!(["refresh_token"]))).unwrap_err();
    assert_eq!(e.operator, "superset_of");
    assert!(matches!(e.kind, PolicyErrorKind::Violation { .. }));
    assert_eq!(apply1("grant_types", sup, None).unwrap(), None);
}

#[test]
fn essential_requires_presence() {
    let e = apply1("redirect_uris", json!({"essential": true}), None).unwrap_err();
    assert_eq!(e.operator, "essential");
    assert!(matches!(e.kind, PolicyErrorKind::Violation { .. }));
    assert_eq!(
        apply1("redirect_uris", json!({"essential": false}), None).unwrap(),
        None
    );
    let e = parse(TA, &pol("redirect_uris", json!({"essential": "yes"}))).unwrap_err();
    assert_eq!(e.operator, "essential");
}

/// The table of §6.1.3.1.8: essential × subset_of [a,b,c] on different inputs.
#[test]
fn spec_table_essential_and_subset_of() {
    let cases = [
        (true, Some(json!(["a", "e"])), Ok(Some(json!(["a"])))),
        (false, Some(json!(["a", "e"])), Ok(Some(json!(["a"])))),
        (true, Some(json!(["d", "e"])), Ok(Some(json!([])))),
        (false, Some(json!(["d", "e"])), Ok(Some(json!([])))),
        (true, None, Err("essential")),
        (false, None, Ok(None)),
    ];
    for (essential, input, expected) in cases {
        let r = apply1(
            "x",
            json!({"essential": essential, "subset_of": ["a", "b", "c"]}),
            input.clone(),
        );
        match expected {
            Ok(v) => assert_eq!(r.unwrap(), v, "{essential} {input:?}"),
            Err(op) => assert_eq!(r.unwrap_err().operator, op),
        }
    }
}

#[test]
fn operators_apply_in_the_spec_order() {
    // value first, then add on top of it, then subset_of trims, then superset_of checks
    let r = apply1(
        "grant_types",
        json!({
            "superset_of": ["authorization_code"],
            "subset_of": ["authorization_code", "refresh_token"],
            "add": ["refresh_token"],
            "value": ["authorization_code", "refresh_token"],
        }),
        Some(json!(["implicit"])),
    )
    .unwrap();
    assert_eq!(r, Some(json!(["authorization_code", "refresh_token"])));
    // add before default: the default never applies once add initialised the parameter
    let r = apply1(
        "contacts",
        json!({"default": ["d@x.it"], "add": ["a@x.it"]}),
        None,
    )
    .unwrap();
    assert_eq!(r, Some(json!(["a@x.it"])));
    // default before one_of: the default is checked
    let r = apply1(
        "alg",
        json!({"default": "ES256", "one_of": ["ES256"]}),
        None,
    )
    .unwrap();
    assert_eq!(r, Some(json!("ES256")));
    // subset_of before superset_of: trimming can make the superset check fail
    let e = apply1(
        "x",
        json!({"subset_of": ["a", "b"], "superset_of": ["a"]}),
        Some(json!(["b", "c"])),
    )
    .unwrap_err();
    assert_eq!(e.operator, "superset_of");
}

#[test]
fn scope_is_a_space_separated_array() {
    let r = apply1(
        "scope",
        json!({"subset_of": ["openid", "profile", "email"], "superset_of": ["openid"]}),
        Some(json!("openid offline_access email")),
    )
    .unwrap();
    assert_eq!(r, Some(json!("openid email")));
    let r = apply1("scope", json!({"add": ["profile"]}), Some(json!("openid"))).unwrap();
    assert_eq!(r, Some(json!("openid profile")));
}

/// Every combination rule of §6.1.3.1, allowed and refused, within one parameter policy.
#[test]
fn combination_rules() {
    let ok = [
        json!({"value": ["a", "b"], "add": ["a"]}),
        json!({"value": "a", "default": "b"}),
        json!({"value": "a", "one_of": ["a", "b"]}),
        json!({"value": ["a"], "subset_of": ["a", "b"]}),
        json!({"value": ["a", "b"], "superset_of": ["a"]}),
        json!({"value": "a", "essential": true}),
        json!({"value": null, "essential": false}),
        json!({"add": ["a"], "default": ["b"]}),
        json!({"add": ["a"], "subset_of": ["a", "b"]}),
        json!({"add": ["z"], "superset_of": ["a"]}),
        json!({"add": ["a"], "essential": true}),
        json!({"default": "a", "one_of": ["a", "b"]}),
        json!({"default": ["a"], "subset_of": ["b"], "superset_of": []}),
        json!({"one_of": ["a"], "essential": true}),
        json!({"subset_of": ["a", "b"], "superset_of": ["a"]}),
        json!({"subset_of": ["a"], "superset_of": ["a"], "essential": true}),
    ];
    for ops in ok {
        parse(TA, &pol("x", ops.clone())).unwrap_or_else(|e| panic!("{ops}: {e}"));
    }
    let bad = [
        (json!({"value": ["a"], "add": ["z"]}), "add", Some("value")),
        (json!({"value": "a", "add": ["a"]}), "value", Some("add")),
        (json!({"value": null, "default": "a"}), "value", None),
        (
            json!({"value": "z", "one_of": ["a", "b"]}),
            "value",
            Some("one_of"),
        ),
        (
            json!({"value": ["a", "z"], "subset_of": ["a"]}),
            "value",
            Some("subset_of"),
        ),
        (
            json!({"value": ["z"], "superset_of": ["a"]}),
            "value",
            Some("superset_of"),
        ),
        (
            json!({"value": null, "essential": true}),
            "value",
            Some("essential"),
        ),
        (
            json!({"add": ["z"], "subset_of": ["a"]}),
            "add",
            Some("subset_of"),
        ),
        (
            json!({"subset_of": ["a"], "superset_of": ["a", "z"]}),
            "subset_of",
            Some("superset_of"),
        ),
        (json!({"one_of": ["a"], "add": ["a"]}), "one_of", None),
        (json!({"one_of": ["a"], "subset_of": ["a"]}), "one_of", None),
        (
            json!({"one_of": ["a"], "superset_of": ["a"]}),
            "one_of",
            None,
        ),
    ];
    for (ops, op, other) in bad {
        let e = parse(TA, &pol("x", ops.clone())).unwrap_err();
        assert_eq!(
            (e.entity.as_str(), &*e.entity_type, &*e.parameter),
            (TA, "openid_relying_party", "x"),
            "{ops}"
        );
        assert_eq!(e.operator, op, "{ops}");
        match (other, e.kind) {
            (Some(o), PolicyErrorKind::CombinationCondition { other, .. }) => {
                assert_eq!(other, o, "{ops}")
            }
            (None, PolicyErrorKind::NotCombinable(_)) => {}
            (_, k) => panic!("{ops}: unexpected {k:?}"),
        }
    }
}

fn merged(ta: Value, int: Value) -> Result<MetadataPolicy, PolicyError> {
    let ta = pol("x", ta);
    let int = pol("x", int);
    MetadataPolicy::resolve([(TA, &ta, &[][..]), (INT, &int, &[][..])])
}

fn merged_ops(ta: Value, int: Value) -> oidc_fed::ParameterPolicy {
    merged(ta, int).unwrap().types["openid_relying_party"]["x"].clone()
}

#[test]
fn merge_rules() {
    // value: equal (arrays as sets) merges, different is refused
    assert_eq!(
        merged_ops(json!({"value": ["a", "b"]}), json!({"value": ["b", "a"]})).value,
        Some(json!(["a", "b"]))
    );
    // add: union
    assert_eq!(
        merged_ops(json!({"add": ["a"]}), json!({"add": ["b", "a"]})).add,
        Some(vec![json!("a"), json!("b")])
    );
    // default: equal merges
    assert_eq!(
        merged_ops(json!({"default": "a"}), json!({"default": "a"})).default,
        Some(json!("a"))
    );
    // one_of: intersection
    assert_eq!(
        merged_ops(
            json!({"one_of": ["a", "b", "c"]}),
            json!({"one_of": ["c", "b"]})
        )
        .one_of,
        Some(vec![json!("b"), json!("c")])
    );
    // subset_of: intersection, may be empty
    assert_eq!(
        merged_ops(
            json!({"subset_of": ["a", "b"]}),
            json!({"subset_of": ["b", "c"]})
        )
        .subset_of,
        Some(vec![json!("b")])
    );
    assert_eq!(
        merged_ops(json!({"subset_of": ["a"]}), json!({"subset_of": ["c"]})).subset_of,
        Some(vec![])
    );
    // superset_of: union
    assert_eq!(
        merged_ops(json!({"superset_of": ["a"]}), json!({"superset_of": ["b"]})).superset_of,
        Some(vec![json!("a"), json!("b")])
    );
    // essential: OR (a subordinate cannot relax it)
    assert_eq!(
        merged_ops(json!({"essential": true}), json!({"essential": false})).essential,
        Some(true)
    );
    assert_eq!(
        merged_ops(json!({"essential": false}), json!({"essential": true})).essential,
        Some(true)
    );
    // operators and parameters absent above are copied
    let m = merged_ops(json!({"essential": true}), json!({"one_of": ["a"]}));
    assert_eq!(
        (m.essential, m.one_of),
        (Some(true), Some(vec![json!("a")]))
    );
}

#[test]
fn merge_conflicts_are_refused() {
    let conflicts = [
        (json!({"value": "a"}), json!({"value": "b"}), "value"),
        (
            json!({"value": ["a"]}),
            json!({"value": ["a", "b"]}),
            "value",
        ),
        (json!({"default": "a"}), json!({"default": "b"}), "default"),
        (json!({"one_of": ["a"]}), json!({"one_of": ["b"]}), "one_of"),
    ];
    for (ta, int, op) in conflicts {
        let e = merged(ta.clone(), int.clone()).unwrap_err();
        assert_eq!(e.entity, INT, "{ta} + {int}");
        assert_eq!(e.operator, op, "{ta} + {int}");
        assert!(
            matches!(e.kind, PolicyErrorKind::MergeConflict { .. }),
            "{ta} + {int}"
        );
    }
    // each side valid alone, the merge combines operators that may not meet
    let combos = [
        (json!({"one_of": ["a"]}), json!({"add": ["a"]}), "one_of"),
        (
            json!({"subset_of": ["a"]}),
            json!({"one_of": ["a"]}),
            "one_of",
        ),
        (json!({"value": "z"}), json!({"one_of": ["a"]}), "value"),
        (json!({"value": ["a"]}), json!({"add": ["b"]}), "add"),
        (json!({"value": null}), json!({"essential": true}), "value"),
        (json!({"value": null}), json!({"default": "a"}), "value"),
        (
            json!({"superset_of": ["a", "b"]}),
            json!({"subset_of": ["a"]}),
            "subset_of",
        ),
        (json!({"subset_of": ["a"]}), json!({"add": ["b"]}), "add"),
        (
            json!({"subset_of": ["a", "b"]}),
            json!({"value": ["c"]}),
            "value",
        ),
    ];
    for (ta, int, op) in combos {
        let e = merged(ta.clone(), int.clone()).unwrap_err();
        assert_eq!(
            (e.entity.as_str(), e.operator),
            (INT, op),
            "{ta} + {int}: {e}"
        );
    }
}

#[test]
fn critical_operators_and_bad_structure() {
    let p = pol("x", json!({"regexp": "^a", "essential": false}));
    // unknown operators are ignored ...
    let parsed = MetadataPolicy::parse(TA, &p, &[]).unwrap();
    assert_eq!(
        parsed.types["openid_relying_party"]["x"].essential,
        Some(false)
    );
    // ... unless critical
    let e = MetadataPolicy::parse(TA, &p, &["regexp".into()]).unwrap_err();
    assert_eq!(e.operator, "metadata_policy_crit");
    assert_eq!(
        e.kind,
        PolicyErrorKind::UnsupportedCritical("regexp".into())
    );
    let e = parse(TA, &obj(json!({"openid_relying_party": []}))).unwrap_err();
    assert_eq!(e.kind, PolicyErrorKind::NotAnObject);
    let e = parse(TA, &obj(json!({"openid_relying_party": {"x": 1}}))).unwrap_err();
    assert_eq!((&*e.parameter, e.kind), ("x", PolicyErrorKind::NotAnObject));
    // null metadata values are refused
    let p = parse(TA, &pol("x", json!({"essential": false}))).unwrap();
    let e = p
        .apply(RP, &obj(json!({"openid_relying_party": {"x": null}})))
        .unwrap_err();
    assert!(matches!(e.kind, PolicyErrorKind::BadParameterType(_)));
}

/// The worked example of §6.1.5: Trust Anchor and Intermediate policies, their merge, and the
/// resolved RP metadata.
#[test]
fn spec_example() {
    let ta = obj(json!({
      "openid_relying_party": {
        "grant_types": {
          "default": ["authorization_code"],
          "subset_of": ["authorization_code", "refresh_token"],
          "superset_of": ["authorization_code"]
        },
        "token_endpoint_auth_method": {
          "one_of": ["private_key_jwt", "self_signed_tls_client_auth"],
          "essential": true
        },
        "token_endpoint_auth_signing_alg": { "one_of": ["PS256", "ES256"] },
        "subject_type": { "value": "pairwise" },
        "contacts": { "add": ["helpdesk@federation.example.org"] }
      }
    }));
    let int = obj(json!({
      "openid_relying_party": {
        "grant_types": { "subset_of": ["authorization_code"] },
        "token_endpoint_auth_method": { "one_of": ["self_signed_tls_client_auth"] },
        "contacts": { "add": ["helpdesk@org.example.org"] }
      }
    }));
    let merged = MetadataPolicy::resolve([(TA, &ta, &[][..]), (INT, &int, &[][..])]).unwrap();
    let expected = MetadataPolicy::parse(
        "expected",
        &obj(json!({
          "openid_relying_party": {
            "grant_types": {
              "default": ["authorization_code"],
              "superset_of": ["authorization_code"],
              "subset_of": ["authorization_code"]
            },
            "token_endpoint_auth_method": {
              "one_of": ["self_signed_tls_client_auth"],
              "essential": true
            },
            "token_endpoint_auth_signing_alg": { "one_of": ["PS256", "ES256"] },
            "subject_type": { "value": "pairwise" },
            "contacts": {
              "add": ["helpdesk@federation.example.org", "helpdesk@org.example.org"]
            }
          }
        })),
        &[],
    )
    .unwrap();
    assert_eq!(merged, expected);

    // the leaf's metadata, with the Intermediate's `metadata` for it already applied
    let leaf = obj(json!({
      "openid_relying_party": {
        "redirect_uris": ["https://rp.example.org/callback"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "self_signed_tls_client_auth",
        "contacts": ["rp_admins@rp.example.org"],
        "sector_identifier_uri": "https://org.example.org/sector-ids.json",
        "policy_uri": "https://org.example.org/policy.html"
      }
    }));
    let out = merged.apply(RP, &leaf).unwrap();
    assert_eq!(
        Value::Object(out["openid_relying_party"].as_object().unwrap().clone()),
        json!({
          "redirect_uris": ["https://rp.example.org/callback"],
          "grant_types": ["authorization_code"],
          "response_types": ["code"],
          "token_endpoint_auth_method": "self_signed_tls_client_auth",
          "subject_type": "pairwise",
          "sector_identifier_uri": "https://org.example.org/sector-ids.json",
          "policy_uri": "https://org.example.org/policy.html",
          "contacts": [
            "rp_admins@rp.example.org",
            "helpdesk@federation.example.org",
            "helpdesk@org.example.org"
          ]
        })
    );

    // the same leaf with private_key_jwt breaks the merged one_of
    let mut bad = leaf.clone();
    bad["openid_relying_party"]["token_endpoint_auth_method"] = json!("private_key_jwt");
    let e = merged.apply(RP, &bad).unwrap_err();
    assert_eq!(
        (e.entity.as_str(), &*e.parameter, e.operator),
        (RP, "token_endpoint_auth_method", "one_of")
    );
    // and without the essential parameter
    let mut bad = leaf;
    bad["openid_relying_party"]
        .as_object_mut()
        .unwrap()
        .remove("token_endpoint_auth_method");
    let e = merged.apply(RP, &bad).unwrap_err();
    assert_eq!(e.operator, "essential");
}

/// The §6.1.2 example: `default` with `one_of`.
#[test]
fn spec_structure_example() {
    let p = obj(json!({
      "openid_relying_party": {
        "id_token_signed_response_alg": {
          "default": "ES256",
          "one_of": ["ES256", "ES384", "ES512"]
        }
      }
    }));
    let p = parse(TA, &p).unwrap();
    let out = p
        .apply(
            RP,
            &obj(json!({"openid_relying_party": {}, "federation_entity": {}})),
        )
        .unwrap();
    assert_eq!(
        out["openid_relying_party"]["id_token_signed_response_alg"],
        "ES256"
    );
    let e = p
        .apply(
            RP,
            &obj(json!({"openid_relying_party": {"id_token_signed_response_alg": "RS256"}})),
        )
        .unwrap_err();
    assert_eq!(
        kind(e),
        PolicyErrorKind::Violation {
            found: "\"RS256\"".into()
        }
    );
    // a policy for an Entity Type the subject does not have does nothing
    let out = p.apply(RP, &obj(json!({"openid_provider": {}}))).unwrap();
    assert_eq!(Value::Object(out), json!({"openid_provider": {}}));
}
