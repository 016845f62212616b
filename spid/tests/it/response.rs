//! Every rejected response case, fed directly to the engine (the same cases `spid-sp-test`
//! sends), plus the accepted ones.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{Duration, Utc};
use spid::{
    Authenticated, AuthnOptions, Comparison, Error, ResponseError, ResponseTemplate, SpidErrorCode,
    SpidLevel, TestUser,
};

use crate::{ACS, IDP_ENTITY, SP_ENTITY, idp, login, other_creds, sp};

const OLD_L1: &str = "urn:oasis:names:tc:SAML:2.0:ac:classes:SpidL1";

/// Runs a login, lets `mutate` change the IdP's correct answer, and processes the result.
async fn run(mutate: impl FnOnce(&mut ResponseTemplate)) -> Result<Authenticated, Error> {
    let sp = sp();
    let req = login(&sp, "session-1", None).await;
    let mut t = idp().template(&req, ACS, &TestUser::example(), Utc::now());
    mutate(&mut t);
    let b64 = B64.encode(idp().render(&t).unwrap());
    sp.process_response(&b64, "session-1").await
}

async fn run_xml(edit: impl FnOnce(String) -> String) -> Result<Authenticated, Error> {
    let sp = sp();
    let req = login(&sp, "session-1", None).await;
    let t = idp().template(&req, ACS, &TestUser::example(), Utc::now());
    let xml = edit(idp().render(&t).unwrap());
    sp.process_response(&B64.encode(xml), "session-1").await
}

fn reason(r: Result<Authenticated, Error>) -> ResponseError {
    match r {
        Err(Error::Response(e)) => e,
        Err(other) => panic!("expected a response error, got {other}"),
        Ok(a) => panic!("expected a rejection, got {a:?}"),
    }
}

fn a(t: &mut ResponseTemplate) -> &mut spid::AssertionTemplate {
    t.assertion.as_mut().unwrap()
}

fn ts(d: Duration) -> String {
    (Utc::now() + d).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[tokio::test]
async fn correct_response_gives_typed_identity() {
    let auth = run(|_| {}).await.unwrap();
    assert_eq!(auth.level, SpidLevel::L2);
    assert_eq!(auth.idp_entity_id, IDP_ENTITY);
    let id = &auth.identity;
    assert_eq!(
        id.fiscal_number.as_ref().unwrap().as_str(),
        "RSSMRA85T10A562S"
    );
    assert_eq!(id.name.as_deref(), Some("Mario"));
    assert_eq!(id.family_name.as_deref(), Some("Rossi"));
    assert_eq!(id.date_of_birth.unwrap().to_string(), "1985-12-10");
    assert_eq!(id.gender, Some(spid::Gender::Male));
    assert_eq!(auth.session_index, None, "no SessionIndex at L2");
    assert!(!auth.name_id.is_empty());
}

#[tokio::test]
async fn accepted_variants() {
    // Issuer Format omitted on the Response (test 31).
    run(|t| t.issuer_format = None).await.unwrap();
    // IssueInstant with milliseconds (test 110).
    run(|t| t.issue_instant = Some(Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()))
        .await
        .unwrap();
    // Unsigned Response with a signed Assertion.
    run(|t| t.signed = false).await.unwrap();
    // Unknown attribute names are kept as strings.
    let auth = run(|t| {
        a(t).attributes
            .as_mut()
            .unwrap()
            .push(("nickname".into(), Some("mr".into())))
    })
    .await
    .unwrap();
    assert_eq!(auth.identity.other["nickname"], "mr");
    // NameID with whitespace around it (trimmed).
    let auth = run(|t| a(t).name_id = Some("\n   opaque-id  \n".into()))
        .await
        .unwrap();
    assert_eq!(auth.name_id, "opaque-id");
}

#[tokio::test]
async fn signature_rules() {
    // Nothing signed (test 2).
    let e = reason(
        run(|t| {
            t.signed = false;
            a(t).signed = false;
        })
        .await,
    );
    assert_eq!(e, ResponseError::AssertionNotSigned);
    // Response signed, Assertion not (test 3).
    assert_eq!(
        reason(run(|t| a(t).signed = false).await),
        ResponseError::AssertionNotSigned
    );
    // Signed with another key, that key's certificate in KeyInfo (tests 4, 5, 100).
    let sp = sp();
    let req = login(&sp, "s", None).await;
    let t = idp().template(&req, ACS, &TestUser::example(), Utc::now());
    let xml = idp().render_with(&t, &other_creds()).unwrap();
    let e = reason(sp.process_response(&B64.encode(xml), "s").await);
    assert!(matches!(e, ResponseError::Signature(_)), "{e}");
    // Assertion by another key, response by the IdP.
    let sp = sp_fresh();
    let req = login(&sp, "s", None).await;
    let mut t = idp().template(&req, ACS, &TestUser::example(), Utc::now());
    t.signed = false;
    let xml = idp().render_with(&t, &other_creds()).unwrap();
    let e = reason(sp.process_response(&B64.encode(xml), "s").await);
    assert!(matches!(e, ResponseError::Signature(_)), "{e}");
}

fn sp_fresh() -> spid::ServiceProvider {
    sp()
}

#[tokio::test]
async fn tampering_after_signing_is_detected() {
    let e = reason(run_xml(|x| x.replace("Rossi", "Bianchi")).await);
    assert!(matches!(e, ResponseError::Signature(_)), "{e}");
}

#[tokio::test]
async fn wrapping_attacks_are_rejected() {
    // XSW: an unsigned evil assertion next to the signed one.
    let e = reason(
        run_xml(|x| {
            let start = x.find("<saml:Assertion").unwrap();
            let end = x.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
            let signed = &x[start..end];
            let sig_start = signed.find("<ds:Signature").unwrap();
            let sig_end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
            let evil = format!("{}{}", &signed[..sig_start], &signed[sig_end..])
                .replace("RSSMRA85T10A562S", "BNCLGU80A01H501U")
                .replacen("ID=\"_", "ID=\"_evil", 1);
            format!("{}{}{}", &x[..start], evil, &x[start..])
        })
        .await,
    );
    assert!(
        matches!(
            e,
            ResponseError::Duplicate {
                element: "Assertion",
                ..
            }
        ),
        "{e}"
    );
    // XSW: the evil assertion wraps the signed one.
    let e = reason(
        run_xml(|x| {
            let start = x.find("<saml:Assertion").unwrap();
            let end = x.find("</saml:Assertion>").unwrap() + "</saml:Assertion>".len();
            let signed = x[start..end].to_owned();
            let sig_start = signed.find("<ds:Signature").unwrap();
            let sig_end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
            let evil = format!("{}{}", &signed[..sig_start], &signed[sig_end..])
                .replacen("ID=\"_", "ID=\"_evil", 1)
                .replace("</saml:Assertion>", &format!("{signed}</saml:Assertion>"));
            format!("{}{}{}", &x[..start], evil, &x[end..])
        })
        .await,
    );
    assert!(
        matches!(
            e,
            ResponseError::AssertionNotSigned | ResponseError::Signature(_)
        ),
        "{e}"
    );
}

#[tokio::test]
async fn xslt_transform_is_refused() {
    let e = reason(
        run_xml(|x| {
            x.replacen(
                "<ds:Transforms>",
                "<ds:Transforms><ds:Transform Algorithm=\"http://www.w3.org/TR/1999/REC-xslt-19991116\"/>",
                1,
            )
        })
        .await,
    );
    assert!(matches!(e, ResponseError::Signature(_)), "{e}");
}

#[tokio::test]
async fn doctype_is_refused() {
    let e = reason(
        run_xml(|x| format!("<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>{x}")).await,
    );
    assert!(matches!(e, ResponseError::Xml(_)), "{e}");
    let sp = sp();
    let e = reason(sp.process_response("***not base64***", "s").await);
    assert_eq!(e, ResponseError::Base64);
    let huge = "A".repeat(2 * 1024 * 1024);
    let e = reason(sp.process_response(&huge, "s").await);
    assert!(matches!(e, ResponseError::TooLarge { .. }), "{e:?}");
}

#[tokio::test]
async fn response_attributes() {
    use ResponseError::*;
    let missing = |attribute| MissingAttribute {
        element: "Response",
        attribute,
    };
    let empty = |attribute| EmptyAttribute {
        element: "Response",
        attribute,
    };
    // ID (tests 8, 9): without an ID the response cannot be signed.
    assert_eq!(
        reason(
            run(|t| {
                t.id = Some(String::new());
                t.signed = false
            })
            .await
        ),
        empty("ID")
    );
    assert_eq!(
        reason(
            run(|t| {
                t.id = None;
                t.signed = false
            })
            .await
        ),
        missing("ID")
    );
    // Version (test 10).
    assert!(matches!(
        reason(run(|t| t.version = Some("1.0".into())).await),
        Version {
            element: "Response",
            ..
        }
    ));
    // IssueInstant (tests 11-15).
    assert_eq!(
        reason(run(|t| t.issue_instant = Some(String::new())).await),
        empty("IssueInstant")
    );
    assert_eq!(
        reason(run(|t| t.issue_instant = None).await),
        missing("IssueInstant")
    );
    assert!(matches!(
        reason(run(|t| t.issue_instant = Some("2018-09-04".into())).await),
        BadInstant { .. }
    ));
    assert!(matches!(
        reason(run(|t| t.issue_instant = Some("2018-01-01T00:00:00Z".into())).await),
        IssuedBeforeRequest {
            element: "Response",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| t.issue_instant = Some("2099-01-01T00:00:00Z".into())).await),
        InFuture {
            element: "Response",
            ..
        }
    ));
    // InResponseTo (tests 16-18).
    assert_eq!(
        reason(run(|t| t.in_response_to = Some(String::new())).await),
        empty("InResponseTo")
    );
    assert_eq!(
        reason(run(|t| t.in_response_to = None).await),
        missing("InResponseTo")
    );
    assert!(matches!(
        reason(run(|t| t.in_response_to = Some("_other".into())).await),
        UnknownRequest(_)
    ));
    // Destination (tests 19-21).
    assert_eq!(
        reason(run(|t| t.destination = Some(String::new())).await),
        empty("Destination")
    );
    assert_eq!(
        reason(run(|t| t.destination = None).await),
        missing("Destination")
    );
    assert!(matches!(
        reason(run(|t| t.destination = Some("https://evil.example/acs".into())).await),
        WrongRecipient {
            element: "Response",
            ..
        }
    ));
}

#[tokio::test]
async fn response_status_and_issuer() {
    use ResponseError::*;
    // Status (tests 22-26).
    assert!(matches!(
        reason(run(|t| t.status = None).await),
        MissingElement {
            element: "Status",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| t.status = Some(String::new())).await),
        EmptyAttribute {
            element: "StatusCode",
            ..
        }
    ));
    assert!(matches!(
        reason(
            run(|t| t.status =
                Some("urn:oasis:names:tc:SAML:2.0:status:statuscodenonvalido".into()))
            .await
        ),
        Status {
            error_code: None,
            ..
        }
    ));
    // Issuer (tests 27-30).
    assert_eq!(
        reason(run(|t| t.issuer = Some(" ".into())).await),
        EmptyElement("Response/Issuer")
    );
    assert!(matches!(
        reason(run(|t| t.issuer = None).await),
        MissingElement {
            element: "Issuer",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| t.issuer = Some("https://evil.example".into())).await),
        WrongIssuer {
            element: "Response/Issuer",
            ..
        }
    ));
    assert!(matches!(
        reason(
            run(|t| t.issuer_format =
                Some("urn:oasis:names:tc:SAML:2.0:nameid-format:transient".into()))
            .await
        ),
        IssuerFormat {
            element: "Response/Issuer",
            ..
        }
    ));
    // Success without assertion (test 32).
    assert!(matches!(
        reason(run(|t| t.assertion = None).await),
        MissingElement {
            element: "Assertion",
            ..
        }
    ));
}

#[tokio::test]
async fn spid_error_codes() {
    for (code, expected) in [
        ("ErrorCode nr19", SpidErrorCode::Nr19),
        ("ErrorCode nr20", SpidErrorCode::Nr20),
        ("ErrorCode nr21", SpidErrorCode::Nr21),
        ("ErrorCode nr22", SpidErrorCode::Nr22),
        ("ErrorCode nr23", SpidErrorCode::Nr23),
        ("ErrorCode nr25", SpidErrorCode::Nr25),
        ("ErrorCode nr30", SpidErrorCode::Nr30),
    ] {
        let sp = sp();
        let req = login(&sp, "s", None).await;
        let t = idp().error_template(
            &req,
            ACS,
            &SpidErrorCode::from_status_message(code).unwrap(),
        );
        // Unsigned, as the IdPs (and spid-sp-test) send them.
        let e = reason(
            sp.process_response(&idp().saml_response(&t).unwrap(), "s")
                .await,
        );
        assert_eq!(e.spid_error_code(), Some(&expected), "{code}");
        assert!(e.to_string().contains(expected.user_message()));
        assert!(matches!(e, ResponseError::Status { ref sub_status, .. }
            if sub_status.as_deref() == Some("urn:oasis:names:tc:SAML:2.0:status:AuthnFailed")));
    }
}

#[tokio::test]
async fn assertion_header() {
    use ResponseError::*;
    // ID (tests 33, 34): unsignable, so unsigned.
    assert!(matches!(
        reason(
            run(|t| {
                a(t).id = Some(String::new());
                a(t).signed = false
            })
            .await
        ),
        AssertionNotSigned
    ));
    assert!(matches!(
        reason(
            run(|t| {
                a(t).id = None;
                a(t).signed = false
            })
            .await
        ),
        AssertionNotSigned
    ));
    // Version (35).
    assert!(matches!(
        reason(run(|t| a(t).version = Some("1.0".into())).await),
        Version {
            element: "Assertion",
            ..
        }
    ));
    // IssueInstant (36-40).
    assert!(matches!(
        reason(run(|t| a(t).issue_instant = Some(String::new())).await),
        EmptyAttribute {
            element: "Assertion",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).issue_instant = None).await),
        MissingAttribute {
            element: "Assertion",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).issue_instant = Some("2018-09-06 16:00".into())).await),
        BadInstant { .. }
    ));
    assert!(matches!(
        reason(run(|t| a(t).issue_instant = Some("2000-01-01T12:00:00Z".into())).await),
        IssuedBeforeRequest {
            element: "Assertion",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).issue_instant = Some("2099-01-01T00:00:00Z".into())).await),
        InFuture {
            element: "Assertion",
            ..
        }
    ));
    // Issuer (68-72).
    assert!(matches!(
        reason(run(|t| a(t).issuer = None).await),
        MissingElement {
            element: "Issuer",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).issuer = Some("https://evil.example".into())).await),
        WrongIssuer { .. }
    ));
    assert!(matches!(
        reason(run(|t| a(t).issuer_format = None).await),
        IssuerFormat {
            element: "Assertion/Issuer",
            ..
        }
    ));
    assert!(matches!(
        reason(
            run(|t| a(t).issuer_format =
                Some("urn:oasis:names:tc:SAML:2.0:nameid-format:transient".into()))
            .await
        ),
        IssuerFormat { .. }
    ));
}

#[tokio::test]
async fn assertion_subject() {
    use ResponseError::*;
    assert!(matches!(
        reason(run(|t| a(t).subject = false).await),
        MissingElement {
            element: "Subject",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).name_id = None).await),
        MissingElement {
            element: "NameID",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).name_id_format = None).await),
        MissingAttribute {
            element: "NameID",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).name_id_format = Some(String::new())).await),
        EmptyAttribute {
            element: "NameID",
            ..
        }
    ));
    assert!(matches!(
        reason(
            run(|t| a(t).name_id_format =
                Some("urn:oasis:names:tc:SAML:2.0:nameid-format:persistent".into()))
            .await
        ),
        NameIdFormat(_)
    ));
    assert!(matches!(
        reason(run(|t| a(t).name_qualifier = None).await),
        MissingAttribute {
            attribute: "NameQualifier",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).name_qualifier = Some(String::new())).await),
        EmptyAttribute {
            attribute: "NameQualifier",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).subject_confirmation = false).await),
        MissingElement {
            element: "SubjectConfirmation",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).confirmation_method = None).await),
        MissingAttribute {
            attribute: "Method",
            ..
        }
    ));
    assert!(matches!(
        reason(
            run(|t| a(t).confirmation_method =
                Some("urn:oasis:names:tc:SAML:2.0:cm:holder-of-key".into()))
            .await
        ),
        ConfirmationMethod(_)
    ));
    assert!(matches!(
        reason(run(|t| a(t).confirmation_data = false).await),
        MissingElement {
            element: "SubjectConfirmationData",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).recipient = None).await),
        MissingAttribute {
            attribute: "Recipient",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).recipient = Some(String::new())).await),
        EmptyAttribute {
            attribute: "Recipient",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).recipient = Some("https://evil.example/acs".into())).await),
        WrongRecipient {
            attribute: "Recipient",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).confirmation_in_response_to = None).await),
        MissingAttribute {
            element: "SubjectConfirmationData",
            attribute: "InResponseTo"
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).confirmation_in_response_to = Some("_other".into())).await),
        InResponseTo {
            element: "SubjectConfirmationData",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).confirmation_not_on_or_after = None).await),
        MissingAttribute {
            attribute: "NotOnOrAfter",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).confirmation_not_on_or_after = Some("2000-01-01".into())).await),
        BadInstant { .. }
    ));
    assert!(matches!(
        reason(
            run(|t| a(t).confirmation_not_on_or_after = Some("2000-01-01T00:00:00Z".into())).await
        ),
        Expired {
            element: "SubjectConfirmationData",
            ..
        }
    ));
}

#[tokio::test]
async fn assertion_conditions() {
    use ResponseError::*;
    assert!(matches!(
        reason(run(|t| a(t).conditions = false).await),
        MissingElement {
            element: "Conditions",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).not_before = None).await),
        MissingAttribute {
            element: "Conditions",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).not_before = Some(String::new())).await),
        EmptyAttribute {
            element: "Conditions",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).not_before = Some("2018-09-06 16:00".into())).await),
        BadInstant { .. }
    ));
    assert!(matches!(
        reason(run(|t| a(t).not_before = Some(ts(Duration::hours(2)))).await),
        InFuture {
            element: "Conditions",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).not_on_or_after = None).await),
        MissingAttribute {
            attribute: "NotOnOrAfter",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).not_on_or_after = Some("x".into())).await),
        BadInstant { .. }
    ));
    assert!(matches!(
        reason(run(|t| a(t).not_on_or_after = Some(ts(Duration::hours(-2)))).await),
        Expired {
            element: "Conditions",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).audience_restriction = false).await),
        MissingElement {
            element: "AudienceRestriction",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).audience = None).await),
        MissingElement {
            element: "Audience",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).audience = Some(String::new())).await),
        EmptyElement("Audience")
    ));
    let e = reason(run(|t| a(t).audience = Some("https://other-sp.example".into())).await);
    assert_eq!(
        e,
        Audience {
            expected: SP_ENTITY.into(),
            found: "https://other-sp.example".into()
        }
    );
}

#[tokio::test]
async fn authn_statement_and_levels() {
    use ResponseError::*;
    assert!(matches!(
        reason(run(|t| a(t).authn_statement = false).await),
        MissingElement {
            element: "AuthnStatement",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).authn_context_class_ref = None).await),
        MissingElement {
            element: "AuthnContextClassRef",
            ..
        }
    ));
    assert!(matches!(
        reason(run(|t| a(t).authn_context_class_ref = Some(String::new())).await),
        EmptyElement("AuthnContextClassRef")
    ));
    assert!(matches!(
        reason(run(|t| a(t).authn_context_class_ref = Some(OLD_L1.into())).await),
        UnknownLevel(_)
    ));
    // Requested L2 "minimum": L1 refused, L3 accepted (tests 94-96).
    assert!(matches!(
        reason(run(|t| a(t).authn_context_class_ref = Some(SpidLevel::L1.uri().into())).await),
        Level {
            requested: SpidLevel::L2,
            returned: SpidLevel::L1,
            ..
        }
    ));
    let auth = run(|t| a(t).authn_context_class_ref = Some(SpidLevel::L3.uri().into()))
        .await
        .unwrap();
    assert_eq!(auth.level, SpidLevel::L3);
}

#[tokio::test]
async fn comparison_exact_and_maximum() {
    for (comparison, returned, ok) in [
        (Comparison::Exact, SpidLevel::L3, false),
        (Comparison::Exact, SpidLevel::L2, true),
        (Comparison::Maximum, SpidLevel::L1, true),
        (Comparison::Maximum, SpidLevel::L3, false),
        (Comparison::Better, SpidLevel::L2, false),
        (Comparison::Better, SpidLevel::L3, true),
    ] {
        let sp = sp();
        let mut opts = AuthnOptions::new(IDP_ENTITY, "s");
        opts.comparison = Some(comparison);
        let req = login(&sp, "s", Some(opts)).await;
        assert_eq!(req.comparison, comparison);
        let mut t = idp().template(&req, ACS, &TestUser::example(), Utc::now());
        a(&mut t).authn_context_class_ref = Some(returned.uri().into());
        let r = sp
            .process_response(&idp().saml_response(&t).unwrap(), "s")
            .await;
        assert_eq!(r.is_ok(), ok, "{comparison} {returned}: {r:?}");
    }
}

#[tokio::test]
async fn attributes() {
    use ResponseError::*;
    // AttributeStatement without Attribute (test 98) and Attribute without value (test 99).
    assert!(matches!(
        reason(run(|t| a(t).attributes = Some(vec![])).await),
        Attributes(_)
    ));
    assert!(matches!(
        reason(run(|t| a(t).attributes = Some(vec![("spidCode".into(), None)])).await),
        Attributes(_)
    ));
    // A malformed fiscal number.
    let e = reason(
        run(|t| {
            a(t).attributes = Some(vec![(
                "fiscalNumber".into(),
                Some("TINIT-RSSMRA85T10A562X".into()),
            )])
        })
        .await,
    );
    assert!(matches!(e, AttributeValue(_)), "{e}");
    // No AttributeStatement at all: accepted, empty identity.
    let auth = run(|t| a(t).attributes = None).await.unwrap();
    assert!(auth.identity.released().is_empty());
}

#[tokio::test]
async fn in_response_to_is_bound_to_the_session() {
    let sp = sp();
    let req = login(&sp, "alice", None).await;
    let t = idp().template(&req, ACS, &TestUser::example(), Utc::now());
    let b64 = idp().saml_response(&t).unwrap();
    // Another session cannot use Alice's pending request...
    let e = reason(sp.process_response(&b64, "mallory").await);
    assert!(matches!(e, ResponseError::UnknownRequest(_)));
    // ...nor consume it: Alice still can, once.
    sp.process_response(&b64, "alice").await.unwrap();
    let e = reason(sp.process_response(&b64, "alice").await);
    assert!(matches!(e, ResponseError::UnknownRequest(_)));
}

#[tokio::test]
async fn a_consumed_assertion_is_never_accepted_again() {
    let sp = sp();
    let req1 = login(&sp, "s", None).await;
    let t1 = idp().template(&req1, ACS, &TestUser::example(), Utc::now());
    let assertion_id = t1.assertion.as_ref().unwrap().id.clone();
    sp.process_response(&idp().saml_response(&t1).unwrap(), "s")
        .await
        .unwrap();
    // A second, otherwise valid response to a new request reusing the assertion ID.
    let req2 = login(&sp, "s", None).await;
    let mut t2 = idp().template(&req2, ACS, &TestUser::example(), Utc::now());
    a(&mut t2).id = assertion_id.clone();
    let e = reason(
        sp.process_response(&idp().saml_response(&t2).unwrap(), "s")
            .await,
    );
    assert_eq!(e, ResponseError::Replay(assertion_id.unwrap()));
}

#[tokio::test]
async fn expired_pending_request_is_refused() {
    let sp = sp();
    let past = Utc::now() - Duration::hours(1);
    let opts = AuthnOptions::new(IDP_ENTITY, "s");
    let msg = sp.authn_request_at(opts, past).await.unwrap();
    let spid::AuthnRequestMessage::Redirect { url, .. } = msg else {
        unreachable!()
    };
    let req = idp().read_redirect(url.split_once('?').unwrap().1).unwrap();
    let t = idp().template(&req, ACS, &TestUser::example(), Utc::now());
    let e = reason(
        sp.process_response(&idp().saml_response(&t).unwrap(), "s")
            .await,
    );
    assert!(matches!(e, ResponseError::UnknownRequest(_)));
}
