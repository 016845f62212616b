//! Aggregator metadata profiles (Avviso SPID n. 19 v4): the `spid:aggregator` and
//! `spid:aggregated` contacts, the kind element, the light kinds' validation certificate, the
//! activity code in the entityID; validated with xmllint against both metadata schemas and
//! signed; configurations breaking a rule are refused naming the field.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::Utc;
use spid::{AggregatorKind, AuthnOptions, SpConfig, TestUser};

use crate::{ACS, BASE, IDP_ENTITY, idp, other_creds, sp_creds, sp_with, xmllint};

/// An example configuration of `kind`, with the validation certificate light kinds need.
fn aggregated(kind: AggregatorKind) -> SpConfig {
    let mut c = SpConfig::example_aggregated(BASE, kind);
    if kind.is_light() {
        c.aggregator.as_mut().unwrap().validation_certificate =
            Some(other_creds().certificate_pem());
    }
    c
}

/// The text of the first `<tag ...>...</tag>` element whose start tag contains `marker`.
fn element_with<'a>(xml: &'a str, tag: &str, marker: &str) -> &'a str {
    let open = format!("<{tag} ");
    let close = format!("</{tag}>");
    let mut from = 0;
    while let Some(i) = xml[from..].find(&open) {
        let start = from + i;
        let end = start + xml[start..].find(&close).unwrap() + close.len();
        let start_tag_end = start + xml[start..].find('>').unwrap();
        if xml[start..start_tag_end].contains(marker) {
            return &xml[start..end];
        }
        from = end;
    }
    panic!("no <{tag}> with {marker} in {xml}");
}

#[test]
fn every_kind_has_aggregator_and_aggregated_contacts() {
    for kind in AggregatorKind::ALL {
        let config = aggregated(kind);
        config.validate().unwrap();
        let xml = sp_with(config.clone()).metadata().unwrap();
        let code = kind.activity_code();
        assert!(
            xml.contains(&format!("entityID=\"{BASE}/{code}/")),
            "{kind}: entityID without the activity code"
        );

        let aggregator = element_with(
            &xml,
            "md:ContactPerson",
            "spid:entityType=\"spid:aggregator\"",
        );
        assert!(aggregator.contains("contactType=\"other\""), "{aggregator}");
        assert!(
            aggregator.contains(&format!("<spid:{}/>", kind.element())),
            "{kind}: {aggregator}"
        );
        assert!(aggregator.contains("<spid:VATNumber>IT01234567897</spid:VATNumber>"));
        assert!(aggregator.contains("<md:Company>Partner Tecnologico S.p.A.</md:Company>"));
        assert!(
            aggregator
                .contains("<md:EmailAddress>spid@partner-tecnologico.example</md:EmailAddress>")
        );
        assert!(!aggregator.contains("<spid:Public/>") && !aggregator.contains("<spid:Private/>"));
        assert_eq!(
            aggregator.contains("<spid:KeyDescriptor use=\"spid:validation\">"),
            kind.is_light(),
            "{kind}: validation key only for light kinds"
        );
        if kind.is_light() {
            assert!(aggregator.contains(&other_creds().certificate_base64()));
        }

        let aggregated = element_with(
            &xml,
            "md:ContactPerson",
            "spid:entityType=\"spid:aggregated\"",
        );
        assert!(aggregated.contains("contactType=\"other\""));
        let org_name = &config.organization.names[0].value;
        assert!(
            aggregated.contains(&format!("<md:Company>{org_name}</md:Company>")),
            "the aggregated contact's Company is the OrganizationName"
        );
        if kind.is_public() {
            assert!(aggregated.contains("<spid:IPACode>c_h501</spid:IPACode><spid:Public/>"));
            assert!(!xml.contains("contactType=\"billing\""));
        } else {
            assert!(
                aggregated
                    .contains("<spid:VATNumber>IT12345678903</spid:VATNumber><spid:Private/>")
            );
            assert!(!aggregated.contains("IPACode"));
            let billing = element_with(&xml, "md:ContactPerson", "contactType=\"billing\"");
            assert!(billing.contains("<fpa:CessionarioCommittente>"));
        }
        // Exactly one contact of each entity type.
        assert_eq!(
            xml.matches("spid:entityType=\"spid:aggregated\"").count(),
            1
        );
        assert_eq!(
            xml.matches("contactType=\"other\" spid:entityType=\"spid:aggregator\"")
                .count(),
            1
        );

        let doc = xmldsig::Document::parse(xml.as_bytes()).unwrap();
        let cert = xmldsig::Certificate::from_der(sp_creds().certificate_der()).unwrap();
        let trusted = [xmldsig::TrustedKey::from_certificate(cert)];
        xmldsig::verify_element(doc.root(), &trusted, &xmldsig::VerifyOptions::default()).unwrap();

        if let Some(r) = xmllint(&xml, "saml-schema-metadata-aggregated-spid.xsd") {
            r.unwrap_or_else(|e| panic!("{kind}: aggregated schema: {e}"));
        }
        // The av29 schema allows two contacts: the public kinds (the profiles spid-sp-test
        // checks with it) fit; the private ones carry a third, billing, contact.
        if kind.is_public()
            && let Some(r) = xmllint(&xml, "saml-schema-metadata-sp-spid-av29.xsd")
        {
            r.unwrap_or_else(|e| panic!("{kind}: av29 schema: {e}"));
        }
    }
}

#[test]
fn plain_sp_metadata_has_no_entity_types() {
    let xml = sp_with(SpConfig::example_public(BASE)).metadata().unwrap();
    assert!(!xml.contains("spid:entityType"));
    assert!(!xml.contains("Aggregator"));
}

#[tokio::test]
async fn aggregated_identity_issues_requests_under_its_entity_id() {
    let config = aggregated(AggregatorKind::PublicServicesFull);
    let entity_id = config.entity_id.clone();
    let sp = sp_with(config);
    let received = crate::login(&sp, "s1", Some(AuthnOptions::new(IDP_ENTITY, "s1"))).await;
    assert_eq!(received.issuer, entity_id);
    assert_eq!(received.name_qualifier, entity_id);
    // The test IdP answers with the aggregated entity as the Audience, and the SP accepts it.
    let template = idp().template(&received, ACS, &TestUser::example(), Utc::now());
    assert!(idp().render(&template).unwrap().contains(&entity_id));
    let b64 = B64.encode(idp().render(&template).unwrap());
    let done = sp.process_response(&b64, "s1").await.unwrap();
    assert_eq!(
        done.identity.fiscal_number.as_ref().unwrap().as_str(),
        "RSSMRA85T10A562S"
    );
}

#[test]
fn aggregator_rules_name_the_field() {
    let field = |c: SpConfig| c.validate().unwrap_err().field;

    // A public kind over a private entity, and the reverse.
    let mut c = aggregated(AggregatorKind::PublicServicesFull);
    c.sector = SpConfig::example_private(BASE).sector;
    assert_eq!(field(c), "aggregator.kind");
    let mut c = aggregated(AggregatorKind::PrivateServicesFull);
    c.sector = SpConfig::example_public(BASE).sector;
    assert_eq!(field(c), "aggregator.kind");

    // The activity code must be a path segment of the entityID, of the right kind.
    let mut c = aggregated(AggregatorKind::PublicServicesFull);
    c.entity_id = format!("{BASE}/spid/metadata");
    assert_eq!(field(c), "entity_id");
    let mut c = aggregated(AggregatorKind::PublicServicesFull);
    c.entity_id = format!("{BASE}/pub-ag-lite/c_h501");
    assert_eq!(field(c), "entity_id");
    let mut c = aggregated(AggregatorKind::PublicServicesFull);
    c.entity_id = "https://pub-ag-full.example/c_h501".into();
    assert_eq!(field(c), "entity_id", "a host name is not a path segment");
    let mut c = aggregated(AggregatorKind::PublicServicesFull);
    c.entity_id = format!("{BASE}/pub-ag-full/c_h501?tenant=1");
    assert_eq!(field(c), "entity_id");

    // Light kinds need a validation certificate, and it must be one.
    let mut c = aggregated(AggregatorKind::PublicServicesLight);
    c.aggregator.as_mut().unwrap().validation_certificate = None;
    let e = c.validate().unwrap_err();
    assert_eq!(e.field, "aggregator.validation_certificate");
    assert!(e.reason.contains("pub-ag-lite"), "{e}");
    let mut c = aggregated(AggregatorKind::PublicServicesLight);
    c.aggregator.as_mut().unwrap().validation_certificate = Some("not base64!".into());
    assert_eq!(field(c), "aggregator.validation_certificate");
    let mut c = aggregated(AggregatorKind::PublicServicesLight);
    c.aggregator.as_mut().unwrap().validation_certificate = Some("AAAA".into());
    assert_eq!(
        field(c),
        "aggregator.validation_certificate",
        "base64, but no certificate"
    );

    // The aggregator's own identifiers and contact.
    let mut c = aggregated(AggregatorKind::PublicServicesFull);
    c.aggregator.as_mut().unwrap().vat_number = None;
    assert_eq!(field(c), "aggregator.vat_number");
    let mut c = aggregated(AggregatorKind::PublicServicesFull);
    c.aggregator.as_mut().unwrap().email = "nobody".into();
    assert_eq!(field(c), "aggregator.email");
    let mut c = aggregated(AggregatorKind::PublicServicesFull);
    c.aggregator.as_mut().unwrap().telephone = Some("02 1234".into());
    assert_eq!(field(c), "aggregator.telephone");
    let mut c = aggregated(AggregatorKind::PublicServicesFull);
    c.aggregator.as_mut().unwrap().company = " ".into();
    assert_eq!(field(c), "aggregator.company");

    // The engine refuses what validate refuses.
    let mut c = aggregated(AggregatorKind::PublicServicesLight);
    c.aggregator.as_mut().unwrap().validation_certificate = None;
    assert!(spid::ServiceProvider::new(c, sp_creds()).is_err());
}

#[test]
fn loads_from_json_with_activity_codes() {
    let mut value = serde_json::to_value(aggregated(AggregatorKind::PublicServicesFull)).unwrap();
    assert_eq!(value["aggregator"]["kind"], "pub-ag-full");
    value["aggregator"]["kind"] = "PublicServicesFullAggregator".into();
    let back: SpConfig = serde_json::from_value(value.clone()).unwrap();
    assert_eq!(
        back.aggregator.unwrap().kind,
        AggregatorKind::PublicServicesFull
    );
    value["aggregator"]["kind"] = "pub-op-full".into();
    assert!(serde_json::from_value::<SpConfig>(value).is_err());
    for kind in AggregatorKind::ALL {
        assert_eq!(
            AggregatorKind::from_activity_code(kind.activity_code()),
            Some(kind)
        );
    }
    assert_eq!(AggregatorKind::from_activity_code("pub-op-full"), None);
}
