//! Interoperability with xmlsec1 in both directions, and tampered copies failing in both.

use std::path::Path;
use std::process::Command;

use crate::common::{fixture, have_xmlsec1, read_fixture};
use xmldsig::{
    C14nAlgorithm, Certificate, Document, Placement, SignOptions, SigningKey, TrustedKey,
    VerifyError, VerifyOptions, XadesOptions, sign_enveloped, verify,
};

const ASSERTION_ID: &str = "urn:oasis:names:tc:SAML:2.0:assertion:Assertion";

fn key_path(name: &str) -> String {
    fixture(&format!("keys/{name}"))
        .to_string_lossy()
        .into_owned()
}

fn trusted(name: &str) -> Vec<TrustedKey> {
    let c = Certificate::from_pem(&read_fixture(&format!("keys/{name}.crt.pem"))).expect("cert");
    vec![TrustedKey::from_certificate(c)]
}

fn ours(xml: &[u8], cert: &str, opts: &VerifyOptions) -> Result<String, VerifyError> {
    let doc = Document::parse(xml).map_err(|e| VerifyError::C14n(e.to_string()))?;
    verify(&doc, &trusted(cert), opts).map(|v| v.id().to_owned())
}

fn xmlsec1_sign(tmpl: &Path, key: &str, cert: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tmp");
    let out_path = dir.path().join("out.xml");
    let out = Command::new("xmlsec1")
        .arg("--sign")
        .arg("--privkey-pem")
        .arg(format!("{},{}", key_path(key), key_path(cert)))
        .arg("--id-attr:ID")
        .arg(ASSERTION_ID)
        .arg("--output")
        .arg(&out_path)
        .arg(tmpl)
        .output()
        .expect("run xmlsec1");
    assert!(
        out.status.success(),
        "xmlsec1 --sign failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(out_path).expect("read signed")
}

struct Case {
    name: &'static str,
    key: &'static str,
    opts: fn() -> VerifyOptions,
}

const CASES: &[Case] = &[
    Case {
        name: "rsa-sha256",
        key: "rsa",
        opts: VerifyOptions::default,
    },
    Case {
        name: "ecdsa-p256",
        key: "ec256",
        opts: VerifyOptions::default,
    },
    Case {
        name: "prefixlist",
        key: "rsa",
        opts: VerifyOptions::default,
    },
    Case {
        name: "inclusive",
        key: "rsa",
        opts: || VerifyOptions::default().allow_inclusive_c14n(),
    },
    Case {
        name: "rsa-sha1",
        key: "rsa",
        opts: || VerifyOptions::default().insecure_allow_sha1(),
    },
];

struct Tamper {
    what: &'static str,
    xml: Vec<u8>,
    /// xmlsec1 alone does not catch signature wrapping: it verifies whichever element the
    /// reference names, wherever it is; ours requires the signature to be enveloped in it.
    xmlsec1_rejects: bool,
}

fn cut_signature(s: &str) -> (String, String) {
    let a = s.find("<ds:Signature").expect("sig");
    let b = s.find("</ds:Signature>").expect("sig end") + "</ds:Signature>".len();
    (format!("{}{}", &s[..a], &s[b..]), s[a..b].to_owned())
}

/// Tampered variants of a signed SAML response (assertion `_assert1` signed with `key`).
fn tampered(xml: &[u8], key: &str) -> Vec<Tamper> {
    let s = String::from_utf8(xml.to_vec()).expect("utf8");
    let mut v = Vec::new();
    let mut push = |what, t: String, xmlsec1_rejects| {
        assert_ne!(t, s, "{what}: tampering changed nothing");
        v.push(Tamper {
            what,
            xml: t.into_bytes(),
            xmlsec1_rejects,
        });
    };
    // One byte in a signed value.
    push(
        "signed value changed",
        s.replacen("TINIT-RSSMRA80A01H501U", "TINIT-RSSMRA80A01H501V", 1),
        true,
    );
    // One byte in the SignatureValue.
    let sv = s.find("<ds:SignatureValue>").expect("sv") + "<ds:SignatureValue>".len() + 5;
    let mut t = s.clone();
    let c = if &s[sv..sv + 1] == "A" { "B" } else { "A" };
    t.replace_range(sv..sv + 1, c);
    push("SignatureValue byte changed", t, true);
    // An element moved inside the signed assertion.
    let sa = s.find("<saml:Subject>").expect("subject");
    let sb = s.find("</saml:Subject>").expect("subject end") + "</saml:Subject>".len();
    let subject = &s[sa..sb];
    let without = format!("{}{}", &s[..sa], &s[sb..]);
    push(
        "element moved inside the signed element",
        without.replacen(
            "</saml:Assertion>",
            &format!("{subject}</saml:Assertion>"),
            1,
        ),
        true,
    );
    // A signature swapped in from another document signed by the same key (same ID, other
    // content).
    let (unsigned, sig) = cut_signature(&s);
    let other = unsigned.replacen("TINIT-RSSMRA80A01H501U", "TINIT-BNCGNN80A01H501X", 1);
    let k = SigningKey::from_pem(&read_fixture(&format!("keys/{key}.key.pem"))).expect("key");
    let c = Certificate::from_pem(&read_fixture(&format!("keys/{key}.crt.pem"))).expect("cert");
    let other_signed = sign_enveloped(
        other.as_bytes(),
        &SignOptions::new("_assert1", &k)
            .certificate(&c)
            .placement(Placement::after_saml_issuer()),
    )
    .expect("sign other");
    let (_, other_sig) = cut_signature(&String::from_utf8(other_signed).expect("utf8"));
    push(
        "signature swapped from another document",
        s.replacen(&sig, &other_sig, 1),
        true,
    );
    // Signature wrapping: the signature moved into a forged assertion, the signed original
    // (without its signature) kept elsewhere.
    let a = unsigned.find("<saml:Assertion").expect("a");
    let b = unsigned.find("</saml:Assertion>").expect("b") + "</saml:Assertion>".len();
    let original = &unsigned[a..b];
    let forged = original
        .replace("_assert1", "_evil")
        .replace("TINIT-RSSMRA80A01H501U", "TINIT-BNCGNN80A01H501X");
    let forged_signed = forged.replacen("</saml:Issuer>", &format!("</saml:Issuer>{sig}"), 1);
    push(
        "signature wrapping (signature moved into a forged element)",
        format!(
            "{}{}<samlp:Extensions>{}</samlp:Extensions>{}",
            &unsigned[..a],
            forged_signed,
            original,
            &unsigned[b..]
        ),
        false,
    );
    v
}

#[test]
fn committed_xmlsec1_fixtures_verify_with_ours() {
    for case in CASES {
        let xml = read_fixture(&format!("xmlsec1/{}.signed.xml", case.name));
        assert_eq!(
            ours(&xml, case.key, &(case.opts)()).as_deref(),
            Ok("_assert1"),
            "{}",
            case.name
        );
        for t in tampered(&xml, case.key) {
            assert!(
                ours(&t.xml, case.key, &(case.opts)()).is_err(),
                "{}: {} accepted",
                case.name,
                t.what
            );
        }
    }
    // Default options refuse the SHA-1 and inclusive fixtures.
    let sha1 = read_fixture("xmlsec1/rsa-sha1.signed.xml");
    assert!(matches!(
        ours(&sha1, "rsa", &VerifyOptions::default()),
        Err(VerifyError::Sha1Refused(_))
    ));
    let inc = read_fixture("xmlsec1/inclusive.signed.xml");
    assert!(matches!(
        ours(&inc, "rsa", &VerifyOptions::default()),
        Err(VerifyError::AlgorithmNotAllowed { .. })
    ));
    // The moved-signature case is reported as not enveloped.
    let xml = read_fixture("xmlsec1/rsa-sha256.signed.xml");
    let moved = tampered(&xml, "rsa").pop().expect("moved");
    let doc = Document::parse(&moved.xml).expect("parse");
    let e = verify(&doc, &trusted("rsa"), &VerifyOptions::default()).expect_err("moved");
    assert!(matches!(e, VerifyError::NotEnveloped { .. }), "{e}");
}

#[test]
fn live_xmlsec1_signatures_verify_with_ours_and_tampering_fails_in_both() {
    if !have_xmlsec1() {
        return;
    }
    for case in CASES {
        let tmpl = fixture(&format!("xmlsec1/{}.tmpl.xml", case.name));
        let signed = xmlsec1_sign(
            &tmpl,
            &format!("{}.key.pem", case.key),
            &format!("{}.crt.pem", case.key),
        );
        assert_eq!(
            ours(&signed, case.key, &(case.opts)()).as_deref(),
            Ok("_assert1"),
            "{}",
            case.name
        );
        let (ok, err) = xmlsec1_verify_node(&signed, case.key, ASSERTION_ID);
        assert!(ok, "{}: xmlsec1 rejects its own output: {err}", case.name);
        for t in tampered(&signed, case.key) {
            assert!(
                ours(&t.xml, case.key, &(case.opts)()).is_err(),
                "{}: ours accepted {}",
                case.name,
                t.what
            );
            let (ok, _) = xmlsec1_verify_node(&t.xml, case.key, ASSERTION_ID);
            if t.xmlsec1_rejects {
                assert!(!ok, "{}: xmlsec1 accepted {}", case.name, t.what);
            } else {
                let verdict = if ok { "accepts" } else { "rejects" };
                eprintln!(
                    "{}: xmlsec1 {verdict} {} (ours rejects it)",
                    case.name, t.what
                );
            }
        }
    }
}

#[test]
fn our_signatures_verify_with_xmlsec1() {
    if !have_xmlsec1() {
        return;
    }
    let response = read_fixture("c14n/06-saml.xml");
    let response_node = "urn:oasis:names:tc:SAML:2.0:protocol:Response";
    for (k, c14n) in [
        ("rsa", C14nAlgorithm::Exclusive),
        ("ec256", C14nAlgorithm::Exclusive),
        ("ec384", C14nAlgorithm::Exclusive),
        ("rsa", C14nAlgorithm::Inclusive),
        ("rsa", C14nAlgorithm::ExclusiveWithComments),
    ] {
        let key = SigningKey::from_pem(&read_fixture(&format!("keys/{k}.key.pem"))).expect("key");
        let cert =
            Certificate::from_pem(&read_fixture(&format!("keys/{k}.crt.pem"))).expect("cert");
        for (id, node, placement) in [
            ("_assert1", ASSERTION_ID, Placement::after_saml_issuer()),
            ("_resp1", response_node, Placement::LastChild),
        ] {
            let opts = SignOptions::new(id, &key)
                .certificate(&cert)
                .placement(placement)
                .c14n(c14n);
            let signed = sign_enveloped(&response, &opts).expect("sign");
            let (ok, err) = xmlsec1_verify_node(&signed, k, node);
            assert!(
                ok,
                "xmlsec1 rejects our {k} {c14n:?} signature of {id}: {err}"
            );
            if id == "_assert1" {
                for t in tampered(&signed, k) {
                    if t.xmlsec1_rejects {
                        let ok = xmlsec1_verify_node(&t.xml, k, node).0;
                        assert!(!ok, "xmlsec1 accepted {}", t.what);
                    }
                }
            }
        }
    }
    // XAdES Baseline-B.
    let key = SigningKey::from_pem(&read_fixture("keys/rsa.key.pem")).expect("key");
    let cert = Certificate::from_pem(&read_fixture("keys/rsa.crt.pem")).expect("cert");
    let opts = SignOptions::new("_resp1", &key)
        .certificate(&cert)
        .xades(XadesOptions::default());
    let signed = sign_enveloped(&response, &opts).expect("sign");
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("x.xml");
    std::fs::write(&f, &signed).expect("write");
    let out = Command::new("xmlsec1")
        .args(["--verify", "--pubkey-cert-pem"])
        .arg(key_path("rsa.crt.pem"))
        .args([
            "--id-attr:ID",
            response_node,
            "--id-attr:Id",
            "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
        ])
        .arg(&f)
        .output()
        .expect("xmlsec1");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "xmlsec1 rejects our XAdES: {err}");
    assert!(err.contains("References (ok/all): 2/2"), "{err}");

    // Whole-document reference (URI=""), inclusive C14N, as Java XMLENVELOPED signers do.
    let flow =
        b"<?xml version=\"1.0\"?>\n<?app data?>\n<flusso xmlns=\"urn:opi\"><a>1</a></flusso>\n";
    let opts = SignOptions::new("", &key)
        .certificate(&cert)
        .c14n(C14nAlgorithm::Inclusive);
    let signed = sign_enveloped(flow, &opts).expect("sign");
    std::fs::write(&f, &signed).expect("write");
    let out = Command::new("xmlsec1")
        .args(["--verify", "--pubkey-cert-pem"])
        .arg(key_path("rsa.crt.pem"))
        .arg(&f)
        .output()
        .expect("xmlsec1");
    assert!(
        out.status.success(),
        "xmlsec1 rejects our URI=\"\" signature: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs `xmlsec1 --verify` with `--id-attr:ID node`; returns (success, stderr).
fn xmlsec1_verify_node(xml: &[u8], cert: &str, node: &str) -> (bool, String) {
    let dir = tempfile::tempdir().expect("tmp");
    let f = dir.path().join("doc.xml");
    std::fs::write(&f, xml).expect("write");
    let out = Command::new("xmlsec1")
        .arg("--verify")
        .arg("--pubkey-cert-pem")
        .arg(key_path(&format!("{cert}.crt.pem")))
        .arg("--id-attr:ID")
        .arg(node)
        .arg(&f)
        .output()
        .expect("run xmlsec1");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
