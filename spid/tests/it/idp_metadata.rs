//! IdP metadata parsing.

use spid::{Binding, IdpMetadata, MetadataError};

use crate::fixtures;

#[test]
fn parses_spid_sp_test_idp() {
    let xml = std::fs::read(fixtures().join("spid-sp-test-idp.xml")).unwrap();
    let idp = IdpMetadata::parse(&xml).unwrap();
    assert_eq!(idp.entity_id, "https://localhost:8443");
    assert_eq!(
        idp.sso_location(Binding::HttpRedirect),
        Some("https://localhost:8443/samlsso")
    );
    assert_eq!(
        idp.sso_location(Binding::HttpPost),
        Some("https://localhost:8443/samlsso")
    );
    assert_eq!(idp.slo.len(), 2);
    assert_eq!(idp.signing_certificates.len(), 1);
    assert_eq!(idp.valid_until, None);
}

#[test]
fn test_idp_metadata_round_trips() {
    let xml = crate::idp().metadata_xml().unwrap();
    let idp = IdpMetadata::parse(xml.as_bytes()).unwrap();
    assert_eq!(idp.entity_id, crate::IDP_ENTITY);
    assert_eq!(
        idp.signing_certificates,
        crate::idp().metadata().unwrap().signing_certificates
    );
}

#[test]
fn rejections() {
    let xml =
        String::from_utf8(std::fs::read(fixtures().join("spid-sp-test-idp.xml")).unwrap()).unwrap();
    let expired = xml.replacen(
        "entityID=",
        "validUntil=\"2001-01-01T00:00:00Z\" entityID=",
        1,
    );
    assert!(matches!(
        IdpMetadata::parse(expired.as_bytes()),
        Err(MetadataError::Expired { .. })
    ));
    let bad_date = xml.replacen("entityID=", "validUntil=\"tomorrow\" entityID=", 1);
    assert!(matches!(
        IdpMetadata::parse(bad_date.as_bytes()),
        Err(MetadataError::ValidUntil(_))
    ));
    let future = xml.replacen(
        "entityID=",
        "validUntil=\"2999-01-01T00:00:00Z\" entityID=",
        1,
    );
    assert!(
        IdpMetadata::parse(future.as_bytes())
            .unwrap()
            .valid_until
            .is_some()
    );
    let start = xml.find("<ns0:KeyDescriptor").unwrap();
    let end = xml.find("</ns0:KeyDescriptor>").unwrap() + "</ns0:KeyDescriptor>".len();
    let nokey = format!("{}{}", &xml[..start], &xml[end..]);
    assert!(matches!(
        IdpMetadata::parse(nokey.as_bytes()),
        Err(MetadataError::NoSigningKey(_))
    ));
    let sp_md =
        "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" entityID=\"x\"/>";
    assert!(matches!(
        IdpMetadata::parse(sp_md.as_bytes()),
        Err(MetadataError::NoIdp)
    ));
    assert!(matches!(
        IdpMetadata::parse(b"<!DOCTYPE x><x/>"),
        Err(MetadataError::Xml(_))
    ));
}

#[test]
fn signed_metadata_is_verified_before_reading() {
    let idp = crate::idp();
    let xml = idp.metadata_xml().unwrap();
    let signer = idp.metadata().unwrap().signing_certificates[0].clone();
    let parsed = IdpMetadata::parse_all_verified(xml.as_bytes(), &signer).unwrap();
    assert_eq!(parsed[0].entity_id, crate::IDP_ENTITY);
    // Another signer, or a changed endpoint, is refused.
    let other = crate::other_creds().certificate_der().to_vec();
    assert!(matches!(
        IdpMetadata::parse_all_verified(xml.as_bytes(), &other),
        Err(MetadataError::Signature(_))
    ));
    let tampered = xml.replace("https://idp.test.example/sso", "https://evil.example/sso");
    assert!(matches!(
        IdpMetadata::parse_all_verified(tampered.as_bytes(), &signer),
        Err(MetadataError::Signature(_))
    ));
    // Unsigned metadata is refused by the verifying parser.
    let unsigned = std::fs::read(fixtures().join("spid-sp-test-idp.xml")).unwrap();
    assert!(matches!(
        IdpMetadata::parse_all_verified(&unsigned, &signer),
        Err(MetadataError::Signature(_))
    ));
}
