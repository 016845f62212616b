//! Configuration loading and validation.

use spid::{SpConfig, SpidAttribute};

use crate::BASE;

#[test]
fn serde_round_trip_and_validation() {
    for c in [
        SpConfig::example_public(BASE),
        SpConfig::example_private(BASE),
    ] {
        c.validate().unwrap();
        let json = serde_json::to_string(&c).unwrap();
        let back: SpConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
    }
}

#[test]
fn loads_from_json() {
    let json = r#"{
        "entity_id": "https://sp.example.it/metadata",
        "assertion_consumer_services": [{"index": 0, "location": "https://sp.example.it/acs"}],
        "single_logout_services": [{"binding": "HTTP-Redirect", "location": "https://sp.example.it/slo"}],
        "attribute_consuming_services": [{"index": 0, "service_names": [{"lang": "it", "value": "Servizi"}],
                                          "attributes": ["fiscalNumber", "name", "familyName"]}],
        "organization": {"names": [{"lang": "it", "value": "Comune"}],
                         "display_names": [{"lang": "it", "value": "Comune"}],
                         "urls": [{"lang": "it", "value": "https://www.comune.it"}]},
        "sector": "public", "ipa_code": "c_h501",
        "contact": {"email": "protocollo@comune.it", "telephone": "+39061234567"},
        "default_level": "L2"
    }"#;
    let c: SpConfig = serde_json::from_str(json).unwrap();
    c.validate().unwrap();
    assert_eq!(
        c.attribute_consuming_services[0].attributes[0],
        SpidAttribute::FiscalNumber
    );
    assert_eq!(c.clock_skew_secs, 60);
    // Names outside the closed SPID set do not load.
    let bad = json.replace("\"familyName\"", "\"nickname\"");
    assert!(serde_json::from_str::<SpConfig>(&bad).is_err());
    // Nor does an invalid IPA code.
    let bad = json.replace("c_h501", "!!");
    assert!(serde_json::from_str::<SpConfig>(&bad).is_err());
}

#[test]
fn rule_violations_name_the_field() {
    let mut c = SpConfig::example_public(BASE);
    c.assertion_consumer_services[0].index = 1;
    assert_eq!(
        c.validate().unwrap_err().field,
        "assertion_consumer_services"
    );

    let mut c = SpConfig::example_public(BASE);
    c.organization.names[0].lang = "en".into();
    assert_eq!(c.validate().unwrap_err().field, "organization");

    let mut c = SpConfig::example_public(BASE);
    c.contact.telephone = Some("+39 06 1234".into());
    assert_eq!(c.validate().unwrap_err().field, "contact.telephone");

    let mut c = SpConfig::example_public(BASE);
    c.attribute_consuming_services[0]
        .attributes
        .push(SpidAttribute::Name);
    assert!(c.validate().unwrap_err().reason.contains("duplicate"));

    let mut c = SpConfig::example_private(BASE);
    if let spid::Sector::Private {
        vat_number,
        fiscal_code,
        ..
    } = &mut c.sector
    {
        *vat_number = None;
        *fiscal_code = None;
    }
    assert_eq!(c.validate().unwrap_err().field, "vat_number");
}
