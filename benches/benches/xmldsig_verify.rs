//! XML-DSig verification of a signed SAML response and parse + exclusive C14N throughput, with
//! references measured in the same run: raw RSA-2048 verification with ring (what
//! `openssl speed rsa2048` measures) and `xmlsec1 --verify` as a process (how pysaml2 and
//! spid-sp-test verify), when xmlsec1 is installed.

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use xmldsig::{
    C14nAlgorithm, C14nOptions, Certificate, Document, NodeId, Placement, SignOptions, SigningKey,
    TrustedKey, VerifyOptions, canonicalize, sign_enveloped, verify_element,
};

const SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../xmldsig/tests/fixtures")
        .join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).expect("fixture")
}

/// A SAML response of about 4.5 KB (signed, with the certificate in KeyInfo) with SPID attributes.
fn response_xml() -> String {
    let attrs: String = [
        ("spidCode", "TINIT-ABCD1234567890"),
        ("name", "Mario"),
        ("familyName", "Rossi"),
        ("fiscalNumber", "TINIT-RSSMRA80A01H501U"),
        ("dateOfBirth", "1980-01-01"),
    ]
    .iter()
    .map(|(n, v)| {
        format!(
            "\n      <saml:Attribute Name=\"{n}\" NameFormat=\"urn:oasis:names:tc:SAML:2.0:attrname-format:basic\"><saml:AttributeValue xsi:type=\"xs:string\">{v}</saml:AttributeValue></saml:Attribute>"
        )
    })
    .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_resp-7f3a9c2e4b1d" Version="2.0" IssueInstant="2026-11-23T10:00:00Z" Destination="https://sp.example.it/acs" InResponseTo="_req-91b2c3d4e5f6">
  <saml:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">https://idp.example.it</saml:Issuer>
  <samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>
  <saml:Assertion xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="_assert-5e6f7a8b9c0d" Version="2.0" IssueInstant="2026-11-23T10:00:00Z">
    <saml:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">https://idp.example.it</saml:Issuer>
    <saml:Subject>
      <saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient" NameQualifier="https://idp.example.it">_5b8e4d2a-1c3f-4e6a-9b7d-0f2e1a3c5d7e</saml:NameID>
      <saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="_req-91b2c3d4e5f6" NotOnOrAfter="2026-11-23T10:05:00Z" Recipient="https://sp.example.it/acs"/></saml:SubjectConfirmation>
    </saml:Subject>
    <saml:Conditions NotBefore="2026-11-23T09:59:00Z" NotOnOrAfter="2026-11-23T10:05:00Z"><saml:AudienceRestriction><saml:Audience>https://sp.example.it</saml:Audience></saml:AudienceRestriction></saml:Conditions>
    <saml:AuthnStatement AuthnInstant="2026-11-23T10:00:00Z" SessionIndex="_sess-0a1b2c3d"><saml:AuthnContext><saml:AuthnContextClassRef>https://www.spid.gov.it/SpidL2</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>
    <saml:AttributeStatement>{attrs}
    </saml:AttributeStatement>
  </saml:Assertion>
</samlp:Response>
"#
    )
}

fn bench(c: &mut Criterion) {
    let key = SigningKey::from_pem(&read("keys/rsa.key.pem")).expect("key");
    let cert = Certificate::from_pem(&read("keys/rsa.crt.pem")).expect("cert");
    let opts = SignOptions::new("_assert-5e6f7a8b9c0d", &key)
        .certificate(&cert)
        .placement(Placement::after_saml_issuer());
    let signed = sign_enveloped(response_xml().as_bytes(), &opts).expect("sign");
    let trusted = [TrustedKey::from_certificate(cert.clone())];
    let vopts = VerifyOptions::default();
    eprintln!("signed SAML response: {} bytes", signed.len());

    let mut g = c.benchmark_group("xmldsig_verify");
    g.throughput(Throughput::Elements(1));
    g.bench_function("pa-rs: parse + verify assertion (RSA-2048)", |b| {
        b.iter(|| {
            let doc = Document::parse(black_box(&signed)).expect("parse");
            let a = doc.root().child(SAML, "Assertion").expect("assertion");
            let v = verify_element(a, &trusted, &vopts).expect("verify");
            black_box(v.id().len())
        })
    });

    // Reference: the bare RSA-2048 PKCS#1 SHA-256 verification with ring (openssl speed-like).
    let msg = b"<ds:SignedInfo>about the size of a canonical SignedInfo element, some hundred bytes of XML text to hash before the modular exponentiation</ds:SignedInfo>";
    let sig = key
        .sign(xmldsig::SignatureAlgorithm::RsaSha256, msg)
        .expect("raw sign");
    let spki = ring_public_key(&cert);
    g.bench_function("reference: ring raw RSA-2048 verify", |b| {
        b.iter(|| {
            ring::signature::UnparsedPublicKey::new(
                &ring::signature::RSA_PKCS1_2048_8192_SHA256,
                &spki,
            )
            .verify(black_box(msg), black_box(&sig))
            .expect("verify")
        })
    });

    let have_xmlsec1 = Command::new("xmlsec1")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if have_xmlsec1 {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("response.xml");
        std::fs::write(&f, &signed).expect("write");
        let cert_path = fixture("keys/rsa.crt.pem");
        g.sample_size(10);
        g.bench_function("reference: xmlsec1 --verify (process)", |b| {
            b.iter(|| {
                let out = Command::new("xmlsec1")
                    .arg("--verify")
                    .arg("--pubkey-cert-pem")
                    .arg(&cert_path)
                    .args([
                        "--id-attr:ID",
                        "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
                    ])
                    .arg(&f)
                    .output()
                    .expect("xmlsec1");
                assert!(out.status.success());
            })
        });
    } else {
        eprintln!("xmlsec1 not installed: reference skipped");
    }
    g.finish();

    // Parse + exclusive C14N throughput, on the response and on a ~1 MB document.
    let big = {
        let one = response_xml();
        let body_start = one.find("<saml:Assertion").expect("a");
        let body_end = one.find("</saml:Assertion>").expect("b") + "</saml:Assertion>".len();
        let mut s = String::from(&one[..body_start]);
        let mut i = 0;
        while s.len() < 1_000_000 {
            s.push_str(
                &one[body_start..body_end].replace("_assert-5e6f7a8b9c0d", &format!("_a{i}")),
            );
            s.push('\n');
            i += 1;
        }
        s.push_str(&one[body_end..]);
        s.into_bytes()
    };
    let mut g = c.benchmark_group("xmldsig_parse_c14n");
    for (name, input) in [
        ("signed response 4.6 KB", signed.as_slice()),
        ("document 1 MB", big.as_slice()),
    ] {
        g.throughput(Throughput::Bytes(input.len() as u64));
        let mut out = Vec::with_capacity(input.len() * 2);
        g.bench_function(format!("parse + exc-c14n, {name}"), |b| {
            b.iter(|| {
                let doc = Document::parse(black_box(input)).expect("parse");
                out.clear();
                canonicalize(
                    &doc,
                    NodeId::DOCUMENT,
                    &C14nOptions::new(C14nAlgorithm::Exclusive),
                    &mut out,
                );
                black_box(out.len())
            })
        });
        g.bench_function(format!("parse only, {name}"), |b| {
            b.iter(|| {
                black_box(
                    Document::parse(black_box(input))
                        .expect("parse")
                        .elements()
                        .count(),
                )
            })
        });
    }
    g.finish();
}

/// The RSAPublicKey DER inside the certificate's SubjectPublicKeyInfo, as ring wants it.
fn ring_public_key(cert: &Certificate) -> Vec<u8> {
    // Reuse the crate's parsing: sign/verify round trip proves the bytes; extract them by
    // re-parsing the SPKI BIT STRING from the DER (last BIT STRING before the extensions).
    let der = cert.der();
    // Find the rsaEncryption OID followed by NULL and the BIT STRING.
    let oid = [
        0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x01, 0x01, 0x05, 0x00,
    ];
    let pos = der
        .windows(oid.len())
        .position(|w| w == oid)
        .expect("rsa oid")
        + oid.len();
    assert_eq!(der[pos], 0x03, "BIT STRING");
    let (len, hdr) = match der[pos + 1] {
        l if l < 0x80 => (l as usize, 2),
        0x81 => (der[pos + 2] as usize, 3),
        0x82 => (((der[pos + 2] as usize) << 8) | der[pos + 3] as usize, 4),
        _ => panic!("length"),
    };
    // Skip the unused-bits byte.
    der[pos + hdr + 1..pos + hdr + len].to_vec()
}

criterion_group! {
    name = benches;
    config = Criterion::default().measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1));
    targets = bench
}
criterion_main!(benches);
