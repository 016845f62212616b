//! Public-API tests of the "Entra con CIE" SAML profile: metadata (schema, signature, `cie:`
//! extensions), configuration rules, AuthnRequest rules, responses from a CieID-like test IdP,
//! CieID metadata loading and the common identity.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Command;

use base64::Engine as _;
use chrono::Utc;
use cie::{
    AssuranceLevel, CieAttribute, CieError, CieIdpEnvironment, CieLevel, CieLocation,
    CieServiceProvider, CieSpConfig, CieTechnicalContact, CieTestIdp, CieTestUser, CitizenIdentity,
    LoginMethod,
};
use spid::{
    AuthnOptions, AuthnRequestMessage, Binding, Comparison, ReceivedRequest, SpCredentials,
    SpidErrorCode,
};

const BASE: &str = "http://127.0.0.1:8000";
const ACS: &str = "http://127.0.0.1:8000/spid/acs";
const IDP_ENTITY: &str = "https://cieid.test.example/idp/profile/SAML2/POST/SSO";

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cie")
}

fn creds(name: &str) -> SpCredentials {
    let dir = fixtures().join("keys");
    let key = std::fs::read_to_string(dir.join(format!("{name}.key"))).unwrap();
    let cert = std::fs::read_to_string(dir.join(format!("{name}.crt"))).unwrap();
    SpCredentials::from_pem(&key, &cert).unwrap()
}

fn idp() -> CieTestIdp {
    CieTestIdp::new(
        IDP_ENTITY,
        "https://cieid.test.example/idp/profile/SAML2/Redirect/SSO",
        creds("idp"),
    )
}

fn sp_with(config: CieSpConfig) -> CieServiceProvider {
    let mut sp = CieServiceProvider::new(config, creds("sp")).unwrap();
    sp.add_idp(idp().metadata().unwrap()).unwrap();
    sp
}

fn sp() -> CieServiceProvider {
    sp_with(CieSpConfig::example_public(BASE))
}

/// `true` when the external tool is installed; in CI (env `CI`) its absence is a failure.
fn oracle(bin: &str) -> bool {
    let present = Command::new(bin).arg("--version").output().is_ok();
    if !present && std::env::var_os("CI").is_some() {
        panic!("{bin} is required in CI");
    }
    present
}

/// xmllint against `saml-schema-metadata-sp-cie.xsd`; `None` when xmllint is absent outside CI.
fn xmllint_cie(xml: &str) -> Option<Result<(), String>> {
    if !oracle("xmllint") {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("metadata.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .current_dir(fixtures().join("schemas"))
        .args(["--noout", "--schema", "saml-schema-metadata-sp-cie.xsd"])
        .arg(&file)
        .output()
        .unwrap();
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    })
}

async fn login(sp: &CieServiceProvider, opts: AuthnOptions) -> ReceivedRequest {
    match sp.authn_request(opts).await.unwrap() {
        AuthnRequestMessage::Redirect { url, .. } => {
            idp().read_redirect(url.split_once('?').unwrap().1).unwrap()
        }
        AuthnRequestMessage::Post {
            saml_request,
            relay_state,
            ..
        } => idp().read_post(&saml_request, Some(&relay_state)).unwrap(),
        _ => unreachable!(),
    }
}

fn verify_metadata_signature(xml: &str, sp_creds: &SpCredentials) {
    let cert = xmldsig::Certificate::from_der(sp_creds.certificate_der()).unwrap();
    let trusted = [xmldsig::TrustedKey::from_certificate(cert)];
    let doc = xmldsig::Document::parse(xml.as_bytes()).unwrap();
    let verified = xmldsig::verify_element(doc.root(), &trusted, &Default::default()).unwrap();
    assert!(
        verified
            .element()
            .is("urn:oasis:names:tc:SAML:2.0:metadata", "EntityDescriptor")
    );
}

#[test]
fn public_metadata_is_signed_schema_valid_and_has_the_cie_extensions() {
    let sp = sp();
    let xml = sp.metadata().unwrap();
    verify_metadata_signature(&xml, sp.credentials());
    // Signature first, as the CIE schema wants.
    let sig = xml.find("<ds:Signature").unwrap();
    assert!(sig < xml.find("<md:SPSSODescriptor").unwrap());
    for needle in [
        "xmlns:cie=\"https://www.cartaidentita.interno.gov.it/saml-extensions\"",
        "<md:ContactPerson contactType=\"administrative\"><md:Extensions><cie:Public/>",
        "<cie:IPACode>c_h501</cie:IPACode>",
        "<cie:IPACategory>L6</cie:IPACategory>",
        "<cie:Municipality>058091</cie:Municipality>",
        "<cie:Province>RM</cie:Province>",
        "<cie:Country>IT</cie:Country>",
        "<md:Company>Comune di Esempio</md:Company>",
        "<md:SingleLogoutService Binding=\"urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect\"",
        "<md:RequestedAttribute Name=\"fiscalNumber\"",
        "<md:RequestedAttribute Name=\"dateOfBirth\"",
        "AuthnRequestsSigned=\"true\" WantAssertionsSigned=\"true\"",
        "<md:AssertionConsumerService index=\"0\" isDefault=\"true\"",
    ] {
        assert!(xml.contains(needle), "missing {needle} in {xml}");
    }
    // No SPID extensions, no contact types the CIE schema does not know.
    assert!(!xml.contains("spid:"));
    assert!(!xml.contains("contactType=\"other\""));
    assert!(!xml.contains("contactType=\"billing\""));
    assert!(!xml.contains('\n'));
    if let Some(r) = xmllint_cie(&xml) {
        r.unwrap();
    }
}

#[test]
fn private_metadata_with_a_technical_partner_is_schema_valid() {
    let mut config = CieSpConfig::example_private(BASE);
    config.technical = Some(CieTechnicalContact {
        company: "Partner Tecnologico S.p.A.".into(),
        vat_number: "12345678903".parse().unwrap(),
        fiscal_code: "12345678903".into(),
        nace2_code: "62.01".into(),
        email: "cie@partner.example".into(),
        telephone: Some("+390298765432".into()),
        location: CieLocation {
            municipality: "015146".into(),
            province: Some("MI".into()),
            country: None,
        },
    });
    let sp = sp_with(config);
    let xml = sp.metadata().unwrap();
    verify_metadata_signature(&xml, sp.credentials());
    for needle in [
        "<md:ContactPerson contactType=\"administrative\"><md:Extensions><cie:Private/>",
        "<cie:VATNumber>IT12345678903</cie:VATNumber>",
        "<cie:NACE2Code>62.01</cie:NACE2Code>",
        "<md:ContactPerson contactType=\"technical\"><md:Extensions><cie:Private/>",
        "<cie:Municipality>015146</cie:Municipality>",
        "<md:Company>Partner Tecnologico S.p.A.</md:Company>",
    ] {
        assert!(xml.contains(needle), "missing {needle}");
    }
    assert!(!xml.contains("<cie:IPACode>"));
    assert!(!xml.contains("<cie:Public/>"));
    if let Some(r) = xmllint_cie(&xml) {
        r.unwrap();
    }
}

#[test]
fn metadata_text_is_escaped() {
    let mut config = CieSpConfig::example_public(BASE);
    config.organization.names[0].value = "Comune di <Prova> & \"Test\"".into();
    config.organization.display_names[0].value = "Prova".into();
    let xml = sp_with(config).metadata().unwrap();
    assert!(xml.contains("Comune di &lt;Prova&gt; &amp; &quot;Test&quot;"));
    xmldsig::Document::parse(xml.as_bytes()).unwrap();
}

#[test]
fn configuration_rules() {
    let field = |c: CieSpConfig| match CieServiceProvider::new(c, creds("sp")) {
        Err(CieError::Config(e)) => e.field,
        other => panic!("expected a configuration error, got {other:?}"),
    };
    let mut c = CieSpConfig::example_public(BASE);
    c.single_logout_services[0].binding = Binding::HttpPost;
    assert_eq!(field(c), "single_logout_services");

    let mut c = CieSpConfig::example_public(BASE);
    c.comparison = Comparison::Better;
    assert_eq!(field(c), "comparison");

    let mut c = CieSpConfig::example_public(BASE);
    c.administrative.location.municipality = "Roma".into();
    assert_eq!(field(c), "administrative.location.municipality");

    let mut c = CieSpConfig::example_public(BASE);
    c.administrative.location.province = Some("Rm".into());
    assert_eq!(field(c), "administrative.location.province");

    let mut c = CieSpConfig::example_public(BASE);
    c.attribute_consuming_services[0].attributes = vec![CieAttribute::Name, CieAttribute::Name];
    assert_eq!(field(c), "attribute_consuming_services.attributes");

    let mut c = CieSpConfig::example_public(BASE);
    c.attribute_consuming_services[0].service_names[0].value = "x".repeat(256);
    assert_eq!(field(c), "attribute_consuming_services.service_names");

    let mut c = CieSpConfig::example_private(BASE);
    if let cie::CieSector::Private { nace2_code, .. } = &mut c.sector {
        nace2_code.clear();
    }
    assert_eq!(field(c), "nace2_code");

    let mut c = CieSpConfig::example_public(BASE);
    c.administrative.email = "not-an-address".into();
    assert_eq!(field(c), "administrative.email");

    // Engine rules still apply (ACS index 0 required).
    let mut c = CieSpConfig::example_public(BASE);
    c.assertion_consumer_services[0].index = 1;
    assert_eq!(field(c), "assertion_consumer_services");
}

#[test]
fn configuration_loads_from_json() {
    let c = CieSpConfig::example_private(BASE);
    let json = serde_json::to_string(&c).unwrap();
    let back: CieSpConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back, c);
    assert!(json.contains("\"sector\":\"private\""));
    assert!(json.contains("\"nace2_code\":\"62.01\""));
}

#[tokio::test]
async fn authn_request_follows_the_cie_rules() {
    let sp = sp();
    // ForceAuthn at level 1 too (SPID sets it only above L1).
    let mut opts = AuthnOptions::new(IDP_ENTITY, "s1");
    opts.level = Some(CieLevel::L1.to_spid());
    let req = login(&sp, opts).await;
    assert!(req.xml.contains("ForceAuthn=\"true\""), "{}", req.xml);
    assert!(
        req.xml
            .contains("Destination=\"https://cieid.test.example/idp/profile/SAML2/Redirect/SSO\"")
    );
    assert!(req.xml.contains("https://www.spid.gov.it/SpidL1"));
    assert!(req.xml.contains("Comparison=\"minimum\""));
    assert!(req.xml.contains(
        "<saml:Issuer Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:entity\" NameQualifier=\"http://127.0.0.1:8000/spid/metadata\">"
    ));

    // POST binding: the form goes to the POST SSO location.
    let mut opts = AuthnOptions::new(IDP_ENTITY, "s2");
    opts.binding = Binding::HttpPost;
    opts.level = Some(CieLevel::L3.to_spid());
    opts.comparison = Some(Comparison::Exact);
    let req = login(&sp, opts).await;
    assert!(req.xml.contains("https://www.spid.gov.it/SpidL3"));
    assert!(req.xml.contains("Comparison=\"exact\""));
    assert!(req.xml.contains("ForceAuthn=\"true\""));

    // Only exact and minimum.
    for c in [Comparison::Better, Comparison::Maximum] {
        let mut opts = AuthnOptions::new(IDP_ENTITY, "s3");
        opts.comparison = Some(c);
        match sp.authn_request(opts).await {
            Err(CieError::Comparison(got)) => assert_eq!(got, c),
            other => panic!("expected a comparison error, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_cieid_response_gives_a_typed_identity_and_a_citizen_identity() {
    let sp = sp();
    let req = login(&sp, AuthnOptions::new(IDP_ENTITY, "sess")).await;
    let t = idp().template(&req, ACS, &CieTestUser::example(), Utc::now());
    // As CieID answers: assertion Issuer without Format.
    assert_eq!(t.assertion.as_ref().unwrap().issuer_format, None);
    let auth = sp
        .process_response(&idp().saml_response(&t).unwrap(), "sess")
        .await
        .unwrap();
    assert_eq!(auth.identity.fiscal_code.as_str(), "RSSMRA85T10A562S");
    assert_eq!(auth.identity.name.as_deref(), Some("Mario"));
    assert_eq!(auth.identity.family_name.as_deref(), Some("Rossi"));
    assert_eq!(
        auth.identity.date_of_birth,
        chrono::NaiveDate::from_ymd_opt(1985, 12, 10)
    );
    assert!(auth.identity.other.is_empty());
    assert_eq!(auth.level, CieLevel::L2);
    assert_eq!(auth.idp_entity_id, IDP_ENTITY);

    let citizen = CitizenIdentity::from(&auth);
    assert_eq!(citizen.fiscal_code.as_str(), "RSSMRA85T10A562S");
    assert_eq!(citizen.given_name.as_deref(), Some("Mario"));
    assert_eq!(
        citizen.method,
        LoginMethod::CieId {
            level: AssuranceLevel::L2
        }
    );
    assert_eq!(citizen.issuer, IDP_ENTITY);

    // The same response again is a replay.
    let again = sp
        .process_response(&idp().saml_response(&t).unwrap(), "sess")
        .await;
    assert!(again.is_err());
}

#[tokio::test]
async fn assertion_issuer_format_when_present_must_be_entity() {
    let sp = sp();
    for (format, ok) in [
        (
            Some("urn:oasis:names:tc:SAML:2.0:nameid-format:entity"),
            true,
        ),
        (None, true),
        (Some(""), false),
        (
            Some("urn:oasis:names:tc:SAML:2.0:nameid-format:transient"),
            false,
        ),
    ] {
        let session = format!("f-{format:?}");
        let req = login(&sp, AuthnOptions::new(IDP_ENTITY, &session)).await;
        let mut t = idp().template(&req, ACS, &CieTestUser::example(), Utc::now());
        t.assertion.as_mut().unwrap().issuer_format = format.map(str::to_owned);
        let r = sp
            .process_response(&idp().saml_response(&t).unwrap(), &session)
            .await;
        assert_eq!(r.is_ok(), ok, "Format {format:?}: {r:?}");
        if !ok {
            assert!(matches!(
                r,
                Err(CieError::Engine(spid::Error::Response(
                    spid::ResponseError::IssuerFormat { .. }
                )))
            ));
        }
    }
}

#[tokio::test]
async fn a_response_without_fiscal_number_is_refused() {
    let sp = sp();
    let req = login(&sp, AuthnOptions::new(IDP_ENTITY, "nf")).await;
    let mut t = idp().template(&req, ACS, &CieTestUser::example(), Utc::now());
    let a = t.assertion.as_mut().unwrap();
    a.attributes = Some(vec![("name".into(), Some("Mario".into()))]);
    let r = sp
        .process_response(&idp().saml_response(&t).unwrap(), "nf")
        .await;
    assert!(matches!(r, Err(CieError::MissingAttribute("fiscalNumber"))));
}

#[tokio::test]
async fn a_malformed_fiscal_number_is_refused() {
    let sp = sp();
    let req = login(&sp, AuthnOptions::new(IDP_ENTITY, "bad-cf")).await;
    let mut user = CieTestUser::example();
    user.fiscal_number = "TINIT-RSSMRA85T10A562X".into();
    let t = idp().template(&req, ACS, &user, Utc::now());
    let r = sp
        .process_response(&idp().saml_response(&t).unwrap(), "bad-cf")
        .await;
    assert!(r.is_err(), "{r:?}");
}

#[tokio::test]
async fn a_response_signed_by_another_key_is_refused() {
    let sp = sp();
    let req = login(&sp, AuthnOptions::new(IDP_ENTITY, "other")).await;
    let t = idp().template(&req, ACS, &CieTestUser::example(), Utc::now());
    let xml = idp().inner().render_with(&t, &creds("other")).unwrap();
    let b64 = base64::engine::general_purpose::STANDARD.encode(xml);
    let r = sp.process_response(&b64, "other").await;
    assert!(matches!(
        r,
        Err(CieError::Engine(spid::Error::Response(
            spid::ResponseError::Signature(_)
        )))
    ));
}

#[tokio::test]
async fn level_below_the_requested_one_is_refused() {
    let sp = sp();
    let mut opts = AuthnOptions::new(IDP_ENTITY, "lvl");
    opts.level = Some(CieLevel::L3.to_spid());
    let req = login(&sp, opts).await;
    let mut t = idp().template(&req, ACS, &CieTestUser::example(), Utc::now());
    t.assertion.as_mut().unwrap().authn_context_class_ref = Some(CieLevel::L2.uri().into());
    let r = sp
        .process_response(&idp().saml_response(&t).unwrap(), "lvl")
        .await;
    assert!(matches!(
        r,
        Err(CieError::Engine(spid::Error::Response(
            spid::ResponseError::Level { .. }
        )))
    ));
}

#[tokio::test]
async fn an_idp_error_response_carries_its_code() {
    let sp = sp();
    let req = login(&sp, AuthnOptions::new(IDP_ENTITY, "err")).await;
    let t = idp().inner().error_template(
        &req,
        ACS,
        &SpidErrorCode::from_status_message("ErrorCode nr22").unwrap(),
    );
    let r = sp
        .process_response(&idp().saml_response(&t).unwrap(), "err")
        .await;
    let e = r.unwrap_err();
    assert_eq!(
        e.error_code(),
        SpidErrorCode::from_status_message("ErrorCode nr22").as_ref()
    );
}

#[tokio::test]
async fn spid_and_cie_logins_convert_into_one_citizen_type() {
    // A SPID login through the engine's own test IdP.
    let spid_idp = spid::TestIdp::new(
        "https://idp.test.example",
        "https://idp.test.example/sso",
        creds("idp"),
    );
    let mut spid_sp =
        spid::ServiceProvider::new(spid::SpConfig::example_public(BASE), creds("sp")).unwrap();
    spid_sp.add_idp(spid_idp.metadata().unwrap()).unwrap();
    let url = match spid_sp
        .authn_request(AuthnOptions::new("https://idp.test.example", "spid"))
        .await
        .unwrap()
    {
        AuthnRequestMessage::Redirect { url, .. } => url,
        _ => unreachable!(),
    };
    let req = spid_idp
        .read_redirect(url.split_once('?').unwrap().1)
        .unwrap();
    let t = spid_idp.template(&req, ACS, &spid::TestUser::example(), Utc::now());
    let spid_auth = spid_sp
        .process_response(&spid_idp.saml_response(&t).unwrap(), "spid")
        .await
        .unwrap();
    let from_spid = CitizenIdentity::try_from(&spid_auth).unwrap();

    // A CIE login of the same citizen.
    let sp = sp();
    let req = login(&sp, AuthnOptions::new(IDP_ENTITY, "cie")).await;
    let t = idp().template(&req, ACS, &CieTestUser::example(), Utc::now());
    let cie_auth = sp
        .process_response(&idp().saml_response(&t).unwrap(), "cie")
        .await
        .unwrap();
    let from_cie = CitizenIdentity::from(cie_auth);

    assert_eq!(from_spid.fiscal_code, from_cie.fiscal_code);
    assert_eq!(from_spid.given_name, from_cie.given_name);
    assert_eq!(from_spid.family_name, from_cie.family_name);
    assert!(matches!(from_spid.method, LoginMethod::Spid { .. }));
    assert!(matches!(from_cie.method, LoginMethod::CieId { .. }));
}

#[test]
fn cieid_metadata_loads_for_its_environment_only() {
    for env in CieIdpEnvironment::ALL {
        let posing = CieTestIdp::posing_as(env, creds("idp"));
        let xml = posing.metadata_xml().unwrap();
        let idp = env.parse_metadata(xml.as_bytes()).unwrap();
        assert_eq!(idp.entity_id, env.entity_id());
        assert_eq!(
            idp.sso_location(Binding::HttpRedirect),
            Some(env.sso_location(Binding::HttpRedirect).as_str())
        );
        assert_eq!(idp.signing_certificates.len(), 1);
        // The other environment's metadata is not this one's.
        let other = match env {
            CieIdpEnvironment::Production => CieIdpEnvironment::PreProduction,
            CieIdpEnvironment::PreProduction => CieIdpEnvironment::Production,
        };
        assert!(matches!(
            other.parse_metadata(xml.as_bytes()),
            Err(CieError::IdpMetadata(_))
        ));
    }
    // The right entityID with an SSO address on another host is refused.
    let rogue = CieTestIdp::new(
        CieIdpEnvironment::Production.entity_id(),
        "https://attacker.example/idp/profile/SAML2/Redirect/SSO",
        creds("idp"),
    );
    let xml = rogue.metadata_xml().unwrap();
    assert!(matches!(
        CieIdpEnvironment::Production.parse_metadata(xml.as_bytes()),
        Err(CieError::IdpMetadata(_))
    ));
    // A host that merely starts with the CieID host is another host.
    let lookalike = CieTestIdp::new(
        CieIdpEnvironment::Production.entity_id(),
        "https://idserver.servizicie.interno.gov.it.attacker.example/idp/profile/SAML2/Redirect/SSO",
        creds("idp"),
    );
    let xml = lookalike.metadata_xml().unwrap();
    assert!(
        CieIdpEnvironment::Production
            .parse_metadata(xml.as_bytes())
            .is_err()
    );
    // Not XML at all.
    assert!(matches!(
        CieIdpEnvironment::Production.parse_metadata(b"<md:EntityDescriptor"),
        Err(CieError::Engine(_))
    ));
}

#[test]
fn signed_cieid_metadata_is_verified_against_the_given_signer() {
    let env = CieIdpEnvironment::Production;
    let xml = CieTestIdp::posing_as(env, creds("idp"))
        .metadata_xml()
        .unwrap();
    let signer = creds("idp");
    let idp = env
        .parse_metadata_verified(xml.as_bytes(), signer.certificate_der())
        .unwrap();
    assert_eq!(idp.entity_id, env.entity_id());
    // Another signer: refused.
    assert!(matches!(
        env.parse_metadata_verified(xml.as_bytes(), creds("other").certificate_der()),
        Err(CieError::Engine(spid::Error::Metadata(_)))
    ));
    // Tampered after signing: refused.
    let tampered = xml.replace("SAML2/Redirect/SSO", "SAML2/Redirect/SSO2");
    assert!(
        env.parse_metadata_verified(tampered.as_bytes(), signer.certificate_der())
            .is_err()
    );
}

#[tokio::test]
async fn login_against_the_published_cieid_identifiers() {
    // A test IdP posing as pre-production CieID (test key), loaded through the CIE loader.
    let env = CieIdpEnvironment::PreProduction;
    let posing = CieTestIdp::posing_as(env, creds("idp"));
    let mut sp = CieServiceProvider::new(CieSpConfig::example_public(BASE), creds("sp")).unwrap();
    sp.add_idp(
        env.parse_metadata(posing.metadata_xml().unwrap().as_bytes())
            .unwrap(),
    )
    .unwrap();
    let url = match sp
        .authn_request(AuthnOptions::new(env.entity_id(), "pp"))
        .await
        .unwrap()
    {
        AuthnRequestMessage::Redirect { url, .. } => url,
        _ => unreachable!(),
    };
    assert!(url.starts_with(
        "https://preproduzione.idserver.servizicie.interno.gov.it/idp/profile/SAML2/Redirect/SSO?SAMLRequest="
    ));
    let req = posing
        .read_redirect(url.split_once('?').unwrap().1)
        .unwrap();
    let t = posing.template(&req, ACS, &CieTestUser::example(), Utc::now());
    let auth = sp
        .process_response(&posing.saml_response(&t).unwrap(), "pp")
        .await
        .unwrap();
    assert_eq!(auth.idp_entity_id, env.entity_id());
}
