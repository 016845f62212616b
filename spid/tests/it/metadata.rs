//! SP metadata: schema-valid (xmllint, av29 schema), signed (xmldsig and xmlsec1), SPID content.

use std::process::Command;

use spid::SpConfig;

use crate::{BASE, oracle, sp_creds, sp_with, xmllint};

fn verify_with_xmldsig(xml: &str) -> String {
    let doc = xmldsig::Document::parse(xml.as_bytes()).unwrap();
    let cert = xmldsig::Certificate::from_der(sp_creds().certificate_der()).unwrap();
    let trusted = [xmldsig::TrustedKey::from_certificate(cert)];
    let v =
        xmldsig::verify_element(doc.root(), &trusted, &xmldsig::VerifyOptions::default()).unwrap();
    v.element().local_name().to_owned()
}

#[test]
fn public_metadata() {
    let sp = sp_with(SpConfig::example_public(BASE));
    let xml = sp.metadata().unwrap();
    assert!(
        xml.starts_with("<md:EntityDescriptor"),
        "no leading newline or declaration"
    );
    assert!(!xml.contains('\n'));
    for needle in [
        "entityID=\"http://127.0.0.1:8000/spid/metadata\"",
        "AuthnRequestsSigned=\"true\"",
        "WantAssertionsSigned=\"true\"",
        "<md:KeyDescriptor use=\"signing\">",
        "<md:NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:transient</md:NameIDFormat>",
        "index=\"0\" isDefault=\"true\"",
        "<md:RequestedAttribute Name=\"fiscalNumber\"",
        "<spid:IPACode>c_h501</spid:IPACode><spid:Public/>",
        "<md:Company>Comune di Esempio</md:Company>",
        "<md:OrganizationName xml:lang=\"it\">",
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
    ] {
        assert!(xml.contains(needle), "missing {needle}");
    }
    assert!(!xml.contains("spid:Private"));
    assert_eq!(verify_with_xmldsig(&xml), "EntityDescriptor");
    if let Some(r) = xmllint(&xml, "saml-schema-metadata-sp-spid-av29.xsd") {
        r.unwrap();
    }
    xmlsec1_verify(&xml);
}

#[test]
fn private_metadata_has_billing_contact() {
    let sp = sp_with(SpConfig::example_private(BASE));
    let xml = sp.metadata().unwrap();
    for needle in [
        "<spid:VATNumber>IT12345678903</spid:VATNumber><spid:Private/>",
        "<md:ContactPerson contactType=\"billing\">",
        "<fpa:CessionarioCommittente>",
        "<fpa:IdPaese>IT</fpa:IdPaese><fpa:IdCodice>12345678903</fpa:IdCodice>",
        "<fpa:CAP>00100</fpa:CAP>",
    ] {
        assert!(xml.contains(needle), "missing {needle}");
    }
    assert!(!xml.contains("spid:IPACode"));
    assert_eq!(verify_with_xmldsig(&xml), "EntityDescriptor");
    if let Some(r) = xmllint(&xml, "saml-schema-metadata-sp-spid-av29.xsd") {
        r.unwrap();
    }
    xmlsec1_verify(&xml);
}

#[test]
fn text_is_escaped() {
    let mut c = SpConfig::example_public(BASE);
    c.organization.names[0].value = "Comune di A & B <test>".into();
    c.organization.display_names[0].value = "A \"B\"".into();
    let xml = sp_with(c).metadata().unwrap();
    assert!(xml.contains("Comune di A &amp; B &lt;test&gt;"));
    assert_eq!(verify_with_xmldsig(&xml), "EntityDescriptor");
    if let Some(r) = xmllint(&xml, "saml-schema-metadata-sp-spid-av29.xsd") {
        r.unwrap();
    }
}

fn xmlsec1_verify(xml: &str) {
    if !oracle("xmlsec1") {
        return;
    }
    let dir = std::env::temp_dir().join(format!(
        "spid-md-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("md.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmlsec1")
        .args([
            "--verify",
            "--insecure",
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor",
        ])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "xmlsec1: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
