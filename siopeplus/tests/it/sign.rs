//! Signing flows and verifying signed messages; interop with xmlsec1 both ways.

use std::process::Command;

use siopeplus::simulator::TestPki;
use siopeplus::*;

use crate::common::*;

fn xmlsec1_present() -> bool {
    if Command::new("xmlsec1").arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "xmlsec1 is required in CI (apt-get install xmlsec1)"
    );
    eprintln!("xmlsec1 not installed: interop check skipped");
    false
}

struct Ente {
    cert_pem: String,
    key_pem: String,
    signer: FlowSigner,
}

fn ente(pki: &TestPki, cn: &str) -> Ente {
    let (cert_pem, key_pem) = pki.issue_client(cn, -1, 1000).unwrap();
    let id = ClientIdentity::from_pem_parts(cert_pem.as_bytes(), key_pem.as_bytes()).unwrap();
    Ente {
        signer: FlowSigner::from_identity(&id).unwrap(),
        cert_pem,
        key_pem,
    }
}

fn unsigned_flow() -> Vec<u8> {
    write_flow(&flow("FL-SIGN", 2), Vec::new(), false).unwrap()
}

#[test]
fn signed_flow_validates_and_verifies() {
    let pki = TestPki::generate("Test CA").unwrap();
    let e = ente(&pki, "Comune A2A-12345678");
    let signed = sign_flow(&unsigned_flow(), &e.signer).unwrap();
    // The real signature makes the flow schema-valid on its own.
    assert_schema_valid(&signed, FLOW_XSD);
    let trusted = trusted_keys_from_pem(e.cert_pem.as_bytes()).unwrap();
    verify_flow(&signed, &trusted).unwrap();
    // The reader sees the signature and the same orders.
    let mut r = FlowReader::new(&signed[..]).unwrap();
    assert_eq!(r.by_ref().count(), 3);
    assert_eq!(r.signatures(), 1);
}

#[test]
fn tampering_wrong_key_and_missing_signature_are_refused() {
    let pki = TestPki::generate("Test CA").unwrap();
    let e = ente(&pki, "Comune");
    let other = ente(&pki, "Altro");
    let signed = String::from_utf8(sign_flow(&unsigned_flow(), &e.signer).unwrap()).unwrap();
    let trusted = trusted_keys_from_pem(e.cert_pem.as_bytes()).unwrap();
    let tampered = signed.replacen(
        "<importo_beneficiario>1220.00<",
        "<importo_beneficiario>9220.00<",
        1,
    );
    assert!(matches!(
        verify_flow(tampered.as_bytes(), &trusted),
        Err(Error::Signature(_))
    ));
    let wrong = trusted_keys_from_pem(other.cert_pem.as_bytes()).unwrap();
    assert!(matches!(
        verify_flow(signed.as_bytes(), &wrong),
        Err(Error::Signature(_))
    ));
    assert!(matches!(
        verify_flow(&unsigned_flow(), &trusted),
        Err(Error::Signature(SignatureError::Missing))
    ));
    // Signing twice is refused; a root without Id cannot be referenced.
    assert!(sign_flow(signed.as_bytes(), &e.signer).is_err());
    let no_id = String::from_utf8(unsigned_flow())
        .unwrap()
        .replace(" Id=\"FLUSSO1\"", "");
    let err = sign_flow(no_id.as_bytes(), &e.signer)
        .unwrap_err()
        .to_string();
    assert!(err.contains("no Id"), "{err}");
}

#[test]
fn a_signature_covering_only_part_of_the_document_is_refused() {
    let pki = TestPki::generate("Test CA").unwrap();
    let e = ente(&pki, "Comune");
    let trusted = trusted_keys_from_pem(e.cert_pem.as_bytes()).unwrap();
    // Sign an inner element only, then present the document as a signed flow.
    let xml = String::from_utf8(unsigned_flow()).unwrap().replacen(
        "<testata_flusso>",
        "<testata_flusso Id=\"T\">",
        1,
    );
    let partially = sign_inner(xml.as_bytes(), &e, "T");
    let err = verify_flow(&partially, &trusted).unwrap_err().to_string();
    assert!(err.contains("not the whole document"), "{err}");
}

fn sign_inner(xml: &[u8], e: &Ente, id: &str) -> Vec<u8> {
    let key = xmldsig::SigningKey::from_pem(e.key_pem.as_bytes()).unwrap();
    let cert = xmldsig::Certificate::from_pem(e.cert_pem.as_bytes()).unwrap();
    let opts = xmldsig::SignOptions::new(id, &key)
        .certificate(&cert)
        .id_attributes(["Id"]);
    xmldsig::sign_enveloped(xml, &opts).unwrap()
}

#[test]
fn xmlsec1_verifies_our_signature() {
    if !xmlsec1_present() {
        return;
    }
    let pki = TestPki::generate("Test CA").unwrap();
    let e = ente(&pki, "Comune");
    let signed = sign_flow(&unsigned_flow(), &e.signer).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), &e.cert_pem).unwrap();
    std::fs::write(dir.path().join("signed.xml"), &signed).unwrap();
    let out = Command::new("xmlsec1")
        .args(["--verify", "--pubkey-cert-pem"])
        .arg(dir.path().join("cert.pem"))
        .args(["--id-attr:Id", "flusso_ordinativi"])
        .arg(dir.path().join("signed.xml"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xmlsec1: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And refuses it once altered.
    let bad = String::from_utf8(signed)
        .unwrap()
        .replacen("Rossi Mario", "Rossi Marco", 1);
    std::fs::write(dir.path().join("bad.xml"), bad).unwrap();
    let out = Command::new("xmlsec1")
        .args(["--verify", "--pubkey-cert-pem"])
        .arg(dir.path().join("cert.pem"))
        .args(["--id-attr:Id", "flusso_ordinativi"])
        .arg(dir.path().join("bad.xml"))
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn we_verify_xmlsec1_signatures() {
    if !xmlsec1_present() {
        return;
    }
    let pki = TestPki::generate("Test CA").unwrap();
    let e = ente(&pki, "Tesoriere");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), &e.cert_pem).unwrap();
    std::fs::write(dir.path().join("key.pem"), &e.key_pem).unwrap();
    for (c14n, uri) in [
        ("http://www.w3.org/2001/10/xml-exc-c14n#", "#FLUSSO1"),
        (
            "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
            "#FLUSSO1",
        ),
    ] {
        let template = String::from_utf8(unsigned_flow()).unwrap().replace(
            "</flusso_ordinativi>",
            &format!(
                r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{c14n}"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/><ds:Reference URI="{uri}"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="{c14n}"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature></flusso_ordinativi>"#
            ),
        );
        std::fs::write(dir.path().join("tmpl.xml"), template).unwrap();
        let key_arg = format!(
            "{},{}",
            dir.path().join("key.pem").display(),
            dir.path().join("cert.pem").display()
        );
        let out = Command::new("xmlsec1")
            .args([
                "--sign",
                "--privkey-pem",
                &key_arg,
                "--id-attr:Id",
                "flusso_ordinativi",
                "--output",
            ])
            .arg(dir.path().join("out.xml"))
            .arg(dir.path().join("tmpl.xml"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "xmlsec1 sign: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let signed = std::fs::read(dir.path().join("out.xml")).unwrap();
        let trusted = trusted_keys_from_pem(e.cert_pem.as_bytes()).unwrap();
        verify_flow(&signed, &trusted).unwrap_or_else(|err| panic!("{c14n} {uri:?}: {err}"));
        assert_schema_valid(&signed, FLOW_XSD);
    }
}

#[test]
fn treasurer_messages_are_verified_before_they_are_read() {
    let pki = TestPki::generate("Test CA").unwrap();
    let tesoriere = ente(&pki, "Tesoriere");
    let comune = ente(&pki, "Comune");
    let fixture =
        std::fs::read_to_string(fixtures().join("messages/esito_applicativo.xml")).unwrap();
    // Drop the placeholder signature and give the root an Id.
    let start = fixture.find("<ds:Signature").unwrap();
    let end = fixture.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let unsigned = format!("{}{}", &fixture[..start], &fixture[end..]).replace(
        "<messaggi_esito_applicativo>",
        "<messaggi_esito_applicativo Id=\"EA1\">",
    );
    let signed = sign_document(unsigned.as_bytes(), &tesoriere.signer).unwrap();
    assert_schema_valid(&signed, "OPI_MSG_ESITO_APPLICATIVO_V_1_6_1.xsd");
    let trusted = trusted_keys_from_pem(tesoriere.cert_pem.as_bytes()).unwrap();
    let Messaggio::EsitoApplicativo(m) = verify_message(&signed, &trusted).unwrap() else {
        panic!()
    };
    assert!(m.signed);
    assert_eq!(m.esiti.len(), 3);
    let wrong = trusted_keys_from_pem(comune.cert_pem.as_bytes()).unwrap();
    assert!(verify_message(&signed, &wrong).is_err());
    // The placeholder signature of the fixture is refused.
    assert!(verify_message(fixture.as_bytes(), &trusted).is_err());
}

#[test]
fn signer_from_pkcs12() {
    let pki = TestPki::generate("Test CA").unwrap();
    let e = ente(&pki, "Comune A2A-12345678");
    let p12 = crate::cert::make_p12(&e.cert_pem, &e.key_pem, "segreta");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ente.p12");
    std::fs::write(&path, p12).unwrap();
    let signer = FlowSigner::load(&path, Some("segreta")).unwrap();
    let signed = sign_flow(&unsigned_flow(), &signer).unwrap();
    verify_flow(
        &signed,
        &trusted_keys_from_pem(e.cert_pem.as_bytes()).unwrap(),
    )
    .unwrap();
    assert!(FlowSigner::load(&path, Some("sbagliata")).is_err());
}

/// The esito applicativo fixture without its placeholder signature (and without a root `Id`).
fn unsigned_esito() -> String {
    let fixture =
        std::fs::read_to_string(fixtures().join("messages/esito_applicativo.xml")).unwrap();
    let start = fixture.find("<ds:Signature").unwrap();
    let end = fixture.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    format!("{}{}", &fixture[..start], &fixture[end..])
}

fn assert_esito_verified(signed: &[u8], trusted: &[xmldsig::TrustedKey]) {
    let Messaggio::EsitoApplicativo(m) = verify_message(signed, trusted).unwrap() else {
        panic!("not an esito applicativo")
    };
    assert!(m.signed);
    assert_eq!(m.esiti.len(), 3);
    verify_flow(signed, trusted).unwrap();
}

fn assert_tampered_refused(signed: &[u8], trusted: &[xmldsig::TrustedKey]) {
    let text = String::from_utf8(signed.to_vec()).unwrap();
    let tampered = text.replacen("<importo>1255.50<", "<importo>9255.50<", 1);
    assert_ne!(tampered, text);
    let err = verify_message(tampered.as_bytes(), trusted).unwrap_err();
    assert!(matches!(err, Error::Signature(_)), "{err}");
    assert!(err.to_string().contains("digest mismatch"), "{err}");
}

#[test]
fn treasurer_message_signed_over_the_whole_document_verifies() {
    let pki = TestPki::generate("Test CA").unwrap();
    let tesoriere = ente(&pki, "Tesoriere");
    let key = xmldsig::SigningKey::from_pem(tesoriere.key_pem.as_bytes()).unwrap();
    let cert = xmldsig::Certificate::from_pem(tesoriere.cert_pem.as_bytes()).unwrap();
    // An empty id signs the whole document: Reference URI="".
    let opts = xmldsig::SignOptions::new("", &key).certificate(&cert);
    let signed = xmldsig::sign_enveloped(unsigned_esito().as_bytes(), &opts).unwrap();
    assert!(String::from_utf8_lossy(&signed).contains("<ds:Reference URI=\"\">"));
    assert_schema_valid(&signed, "OPI_MSG_ESITO_APPLICATIVO_V_1_6_1.xsd");
    let trusted = trusted_keys_from_pem(tesoriere.cert_pem.as_bytes()).unwrap();
    assert_esito_verified(&signed, &trusted);
    assert_tampered_refused(&signed, &trusted);
    // Still only with a configured key.
    let comune = ente(&pki, "Comune");
    let wrong = trusted_keys_from_pem(comune.cert_pem.as_bytes()).unwrap();
    assert!(verify_message(&signed, &wrong).is_err());
}

#[test]
fn we_verify_xmlsec1_whole_document_signatures() {
    if !xmlsec1_present() {
        return;
    }
    let pki = TestPki::generate("Test CA").unwrap();
    let e = ente(&pki, "Tesoriere");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), &e.cert_pem).unwrap();
    std::fs::write(dir.path().join("key.pem"), &e.key_pem).unwrap();
    let trusted = trusted_keys_from_pem(e.cert_pem.as_bytes()).unwrap();
    let key_arg = format!(
        "{},{}",
        dir.path().join("key.pem").display(),
        dir.path().join("cert.pem").display()
    );
    // Exclusive C14N, and inclusive C14N with only the enveloped transform (the Java default).
    for (c14n, extra) in [
        (
            "http://www.w3.org/2001/10/xml-exc-c14n#",
            r#"<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>"#,
        ),
        ("http://www.w3.org/TR/2001/REC-xml-c14n-20010315", ""),
    ] {
        let template = unsigned_esito().replace(
            "</messaggi_esito_applicativo>",
            &format!(
                r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="{c14n}"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"/><ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>{extra}</ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue></ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data/></ds:KeyInfo></ds:Signature></messaggi_esito_applicativo>"#
            ),
        );
        std::fs::write(dir.path().join("tmpl.xml"), template).unwrap();
        let out = Command::new("xmlsec1")
            .args(["--sign", "--privkey-pem", &key_arg, "--output"])
            .arg(dir.path().join("out.xml"))
            .arg(dir.path().join("tmpl.xml"))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "xmlsec1 sign: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let signed = std::fs::read(dir.path().join("out.xml")).unwrap();
        assert_esito_verified(&signed, &trusted);
        assert_tampered_refused(&signed, &trusted);
    }
}

#[test]
fn whole_document_signature_outside_the_root_children_is_refused() {
    let pki = TestPki::generate("Test CA").unwrap();
    let e = ente(&pki, "Tesoriere");
    let key = xmldsig::SigningKey::from_pem(e.key_pem.as_bytes()).unwrap();
    let cert = xmldsig::Certificate::from_pem(e.cert_pem.as_bytes()).unwrap();
    let signed = String::from_utf8(
        xmldsig::sign_enveloped(
            unsigned_esito().as_bytes(),
            &xmldsig::SignOptions::new("", &key).certificate(&cert),
        )
        .unwrap(),
    )
    .unwrap();
    // Move the URI="" signature into an inner element: the enveloped transform still removes
    // it, but it no longer sits in the root it claims to cover.
    let start = signed.find("<ds:Signature").unwrap();
    let end = signed.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let sig = &signed[start..end];
    let moved = format!("{}{}", &signed[..start], &signed[end..]).replacen(
        "</testata_messaggio>",
        &format!("{sig}</testata_messaggio>"),
        1,
    );
    let trusted = trusted_keys_from_pem(e.cert_pem.as_bytes()).unwrap();
    let err = verify_message(moved.as_bytes(), &trusted).unwrap_err();
    assert!(matches!(err, Error::Signature(_)), "{err}");
    assert!(err.to_string().contains("not enveloped"), "{err}");
}
