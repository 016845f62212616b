//! `pa xmldsig verify --whole-document` on signatures made by xmlsec1 at test time (a
//! `URI=""` content reference and a reference to the signature's own KeyInfo, as xmlsec1 and
//! DSS write them), each verdict compared with `xmlsec1 --verify`. Skipped when xmlsec1 is
//! absent, except in CI.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn pa(args: &[&str]) -> (i32, String, String) {
    pa_testkit::exec(env!("CARGO_BIN_EXE_pa"), args)
}

fn have_xmlsec1() -> bool {
    pa_testkit::require("xmlsec1", &["--version"], "xmlsec1 comparisons")
}

fn key(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../xmldsig/tests/fixtures/keys/{name}"))
}

const TEMPLATE: &str = r##"<?xml version="1.0" encoding="UTF-8"?>
<flusso xmlns="urn:example:flusso"><importo>100.00</importo><causale>TARI 2026</causale>
<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>
<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
<ds:Reference URI=""><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>
<ds:Reference URI="#ki"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference>
</ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo Id="ki"><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature></flusso>
"##;

fn xmlsec1(dir: &Path, args: &[&str], xml: &str) -> (bool, String) {
    let f = dir.join("in.xml");
    let out_path = dir.join("out.xml");
    let _ = std::fs::remove_file(&out_path);
    std::fs::write(&f, xml).unwrap();
    let out = Command::new("xmlsec1")
        .args(args)
        .args(["--id-attr:Id", "http://www.w3.org/2000/09/xmldsig#:KeyInfo"])
        .arg("--output")
        .arg(&out_path)
        .arg(&f)
        .output()
        .unwrap();
    (
        out.status.success(),
        std::fs::read_to_string(&out_path).unwrap_or_default(),
    )
}

#[test]
fn whole_document_signature_with_signed_key_info_as_xmlsec1_writes_it() {
    if !have_xmlsec1() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let keys = format!(
        "{},{}",
        key("rsa.key.pem").display(),
        key("rsa.crt.pem").display()
    );
    let (ok, signed) = xmlsec1(dir.path(), &["--sign", "--privkey-pem", &keys], TEMPLATE);
    assert!(ok, "xmlsec1 --sign failed");
    let cert = key("rsa.crt.pem").display().to_string();
    let f = dir.path().join("signed.xml");
    let f_s = f.display().to_string();
    let verdicts = |xml: &str, extra: &[&str]| {
        std::fs::write(&f, xml).unwrap();
        let theirs = xmlsec1(dir.path(), &["--verify", "--pubkey-cert-pem", &cert], xml).0;
        let mut args = vec!["xmldsig", "verify", "--cert", &cert];
        args.extend_from_slice(extra);
        args.push(&f_s);
        let (code, out, err) = pa(&args);
        (theirs, code, out, err)
    };

    let (theirs, code, out, err) = verdicts(&signed, &["--whole-document"]);
    assert!(theirs, "xmlsec1 rejects its own signature");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("signed element: <flusso> ID=\"\" (whole document)"),
        "{out}"
    );

    // Without the flag the whole-document reference is refused.
    let (_, code, _, err) = verdicts(&signed, &[]);
    assert_eq!(code, 1);
    assert!(err.contains("URI"), "{err}");

    // Tampered content or tampered KeyInfo: both refuse.
    for (what, t) in [
        ("content", signed.replacen("100.00", "900.00", 1)),
        (
            "KeyInfo",
            signed.replacen(
                "<ds:X509Data>",
                "<ds:KeyName>x</ds:KeyName><ds:X509Data>",
                1,
            ),
        ),
    ] {
        assert_ne!(t, signed, "{what}");
        let (theirs, code, _, err) = verdicts(&t, &["--whole-document"]);
        assert!(!theirs, "xmlsec1 accepted changed {what}");
        assert_eq!(code, 1, "pa accepted changed {what}");
        assert!(err.contains("digest mismatch"), "{what}: {err}");
    }
}
