//! Signatures whose `SignedInfo` also references their own `KeyInfo`, as xmlsec1 and DSS write
//! them: made by xmlsec1 at test time, verified by ours and by `xmlsec1 --verify`, and the
//! attacks the "exactly one content reference" rule exists for.

use std::process::Command;

use crate::common::{fixture, have_xmlsec1, read_fixture};
use xmldsig::{Certificate, Document, TrustedKey, VerifyError, VerifyOptions, verify};

const ASSERTION: &str = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion";
const EXC: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

fn trusted() -> Vec<TrustedKey> {
    vec![TrustedKey::from_certificate(
        Certificate::from_pem(&read_fixture("keys/rsa.crt.pem")).expect("cert"),
    )]
}

fn ours(xml: &str, opts: &VerifyOptions) -> Result<String, VerifyError> {
    let doc = Document::parse(xml.as_bytes()).map_err(|e| VerifyError::C14n(e.to_string()))?;
    verify(&doc, &trusted(), opts).map(|v| v.id().to_owned())
}

/// A `ds:Reference` with these transforms (c14n algorithm URIs) and an empty digest.
fn reference(uri: &str, transforms: &[&str]) -> String {
    let ts: String = transforms
        .iter()
        .map(|t| format!("<ds:Transform Algorithm=\"{t}\"/>"))
        .collect();
    let ts = if ts.is_empty() {
        String::new()
    } else {
        format!("<ds:Transforms>{ts}</ds:Transforms>")
    };
    format!(
        "<ds:Reference URI=\"{uri}\">{ts}<ds:DigestMethod Algorithm=\"http://www.w3.org/2001/04/xmlenc#sha256\"/>\
         <ds:DigestValue></ds:DigestValue></ds:Reference>"
    )
}

/// The SAML template of the xmlsec1 fixtures with `extra` references added after the content
/// one and `key_info_id` on its KeyInfo.
fn template(extra: &[String], key_info_id: Option<&str>) -> String {
    let s = String::from_utf8(read_fixture("xmlsec1/rsa-sha256.tmpl.xml")).expect("utf8");
    let s = s.replacen(
        "</ds:Reference>",
        &format!("</ds:Reference>{}", extra.concat()),
        1,
    );
    match key_info_id {
        Some(id) => s.replacen("<ds:KeyInfo>", &format!("<ds:KeyInfo Id=\"{id}\">"), 1),
        None => s,
    }
}

fn xmlsec1(args: &[&str], xml: &str) -> (bool, String, String) {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("in.xml");
    let out_path = dir.path().join("out.xml");
    std::fs::write(&f, xml).expect("write");
    let out = Command::new("xmlsec1")
        .args(args)
        .args(["--id-attr:ID", ASSERTION])
        .args([
            "--id-attr:ID",
            "urn:oasis:names:tc:SAML:2.0:assertion:Subject",
        ])
        .args(["--id-attr:Id", "http://www.w3.org/2000/09/xmldsig#:KeyInfo"])
        .arg("--output")
        .arg(&out_path)
        .arg(&f)
        .output()
        .expect("run xmlsec1");
    (
        out.status.success(),
        std::fs::read_to_string(&out_path).unwrap_or_default(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn xmlsec1_sign(tmpl: &str) -> String {
    let keys = format!(
        "{},{}",
        fixture("keys/rsa.key.pem").display(),
        fixture("keys/rsa.crt.pem").display()
    );
    let (ok, out, err) = xmlsec1(&["--sign", "--privkey-pem", &keys], tmpl);
    assert!(ok, "xmlsec1 --sign: {err}");
    out
}

fn xmlsec1_verifies(xml: &str) -> bool {
    let cert = fixture("keys/rsa.crt.pem").display().to_string();
    xmlsec1(&["--verify", "--pubkey-cert-pem", &cert], xml).0
}

#[test]
fn signature_that_also_signs_its_key_info_verifies() {
    if !have_xmlsec1() {
        return;
    }
    let signed = xmlsec1_sign(&template(&[reference("#ki1", &[EXC])], Some("ki1")));
    assert!(signed.contains("URI=\"#ki1\""));
    assert!(xmlsec1_verifies(&signed), "xmlsec1 rejects its own output");
    assert_eq!(
        ours(&signed, &VerifyOptions::default()).as_deref(),
        Ok("_assert1")
    );

    // KeyInfo reference first, content reference second: order does not matter.
    let tmpl = template(&[], Some("ki1")).replacen(
        "<ds:Reference URI=\"#_assert1\">",
        &format!(
            "{}<ds:Reference URI=\"#_assert1\">",
            reference("#ki1", &[EXC])
        ),
        1,
    );
    let signed = xmlsec1_sign(&tmpl);
    assert!(xmlsec1_verifies(&signed));
    assert_eq!(
        ours(&signed, &VerifyOptions::default()).as_deref(),
        Ok("_assert1")
    );

    // Without transforms the KeyInfo reference is inclusive C14N: only when it is allowed.
    let signed = xmlsec1_sign(&template(&[reference("#ki1", &[])], Some("ki1")));
    assert!(xmlsec1_verifies(&signed));
    let e = ours(&signed, &VerifyOptions::default()).expect_err("inclusive by default");
    assert!(matches!(e, VerifyError::Transforms { .. }), "{e}");
    assert_eq!(
        ours(&signed, &VerifyOptions::default().allow_inclusive_c14n()).as_deref(),
        Ok("_assert1")
    );
}

#[test]
fn key_info_reference_attacks_are_refused() {
    if !have_xmlsec1() {
        return;
    }
    let opts = VerifyOptions::default();

    // Two content references (the same element twice): xmlsec1 accepts, ours refuses.
    let signed = xmlsec1_sign(&template(
        &[reference(
            "#_assert1",
            &["http://www.w3.org/2000/09/xmldsig#enveloped-signature", EXC],
        )],
        None,
    ));
    assert!(xmlsec1_verifies(&signed));
    let e = ours(&signed, &opts).expect_err("two content references");
    assert!(matches!(e, VerifyError::ReferenceCount { found: 2 }), "{e}");

    // Two content references and a KeyInfo one: the KeyInfo one does not hide the extra.
    let signed = xmlsec1_sign(&template(
        &[
            reference("#ki1", &[EXC]),
            reference(
                "#_assert1",
                &["http://www.w3.org/2000/09/xmldsig#enveloped-signature", EXC],
            ),
        ],
        Some("ki1"),
    ));
    assert!(xmlsec1_verifies(&signed));
    let e = ours(&signed, &opts).expect_err("two content references and KeyInfo");
    assert!(matches!(e, VerifyError::ReferenceCount { found: 2 }), "{e}");

    // The signed KeyInfo changed after signing (another key hint): its digest fails in both.
    let signed = xmlsec1_sign(&template(&[reference("#ki1", &[EXC])], Some("ki1")));
    let changed = signed.replacen(
        "<ds:X509Data>",
        "<ds:KeyName>someone else</ds:KeyName><ds:X509Data>",
        1,
    );
    assert_ne!(changed, signed);
    assert!(
        !xmlsec1_verifies(&changed),
        "xmlsec1 accepted a changed KeyInfo"
    );
    match ours(&changed, &opts) {
        Err(VerifyError::DigestMismatch(t)) => {
            assert_eq!(t.uri, "#ki1");
            assert_eq!(t.element.as_deref(), Some("ds:KeyInfo"));
        }
        other => panic!("expected a KeyInfo digest mismatch, got {other:?}"),
    }

    // A reference to another element disguised as KeyInfo: a ds:KeyInfo with that Id outside
    // the signature (in the unsigned part of the response). xmlsec1 verifies whatever is
    // referenced; ours counts it as a second content reference.
    let decoy = "<ds:KeyInfo xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" Id=\"ki1\"><ds:KeyName>decoy</ds:KeyName></ds:KeyInfo>";
    let tmpl = template(&[reference("#ki1", &[EXC])], None).replacen(
        "</samlp:Status>",
        &format!("</samlp:Status>{decoy}"),
        1,
    );
    let signed = xmlsec1_sign(&tmpl);
    assert!(xmlsec1_verifies(&signed));
    let e = ours(&signed, &opts).expect_err("decoy KeyInfo");
    assert!(matches!(e, VerifyError::ReferenceCount { found: 2 }), "{e}");
    // ... and another element of the signed content carrying the Id.
    let tmpl = template(&[reference("#ki1", &[EXC])], None).replacen(
        "<saml:Subject>",
        "<saml:Subject ID=\"ki1\">",
        1,
    );
    assert!(tmpl.contains("<saml:Subject ID=\"ki1\">"));
    let signed = xmlsec1_sign(&tmpl);
    assert!(xmlsec1_verifies(&signed));
    let e = ours(&signed, &opts).expect_err("Subject as KeyInfo");
    assert!(matches!(e, VerifyError::ReferenceCount { found: 2 }), "{e}");

    // Two references to the signature's KeyInfo: the second counts as content.
    let signed = xmlsec1_sign(&template(
        &[reference("#ki1", &[EXC]), reference("#ki1", &[EXC])],
        Some("ki1"),
    ));
    assert!(xmlsec1_verifies(&signed));
    let e = ours(&signed, &opts).expect_err("two KeyInfo references");
    assert!(matches!(e, VerifyError::ReferenceCount { found: 2 }), "{e}");

    // A KeyInfo reference with the enveloped-signature transform too is not a c14n one.
    let signed = xmlsec1_sign(&template(
        &[reference(
            "#ki1",
            &["http://www.w3.org/2000/09/xmldsig#enveloped-signature", EXC],
        )],
        Some("ki1"),
    ));
    let e = ours(&signed, &opts).expect_err("two transforms");
    assert!(matches!(e, VerifyError::Transforms { .. }), "{e}");
}
