//! Segnatura informatica: write + strict parse, XAdES seal and seal verification, CAdES `.p7m`
//! verification, each with a reference measured in the same run when the tool is installed:
//! `xmllint --schema` (schema-checked output), `xmlsec1 --verify` and `openssl cms -verify` as
//! processes. Keys and `.p7m` files are made by openssl (the crate's test script).

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group, criterion_main};
use protocollo::xmldsig::{Certificate, SigningKey};
use protocollo::*;

fn tool(name: &str) -> bool {
    Command::new(name).arg("--version").output().is_ok()
        || Command::new(name).arg("version").output().is_ok()
}

fn pki(dir: &Path) -> Option<PathBuf> {
    if !tool("openssl") {
        return None;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../protocollo/tests/fixtures/p7m/make-p7m.sh");
    let out = dir.join("pki");
    let ok = Command::new("bash")
        .arg(script)
        .arg(&out)
        .output()
        .is_ok_and(|o| o.status.success());
    ok.then_some(out)
}

/// A segnatura with a primary document and ten attachments (about 6 KB of XML).
fn segnatura() -> SegnaturaInformatica {
    let id = Identificatore::new(
        "c_h501",
        "A1B2C3D",
        "PROT".parse().expect("registro"),
        NumeroRegistrazione::new(341_944),
        NaiveDate::from_ymd_opt(2025, 3, 30).expect("date"),
    );
    let mut b = SegnaturaBuilder::new(
        id,
        "Richiesta di permesso di costruire",
        Classifica::flat("Edilizia privata", "6.3"),
        Soggetto::Amministrazione(Amministrazione::new("Comune di Roma", "c_h501")),
        Destinatario::new(Soggetto::Amministrazione(Amministrazione::new(
            "Regione Marche",
            "r_marche",
        ))),
        Documento::from_content("istanza.pdf", "application/pdf", b"%PDF istanza"),
    );
    for i in 0..10 {
        b = b.allegato(Documento::from_content(
            format!("allegato-{i}.pdf"),
            "application/pdf",
            format!("allegato {i}").as_bytes(),
        ));
    }
    b.build()
}

fn bench(c: &mut Criterion) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let s = segnatura();
    let xml = s.to_xml().expect("xml");

    let mut g = c.benchmark_group("segnatura_write_parse");
    g.bench_function("to_xml", |b| b.iter(|| black_box(&s).to_xml()));
    g.bench_function("from_xml", |b| {
        b.iter(|| SegnaturaInformatica::from_xml(black_box(&xml)))
    });
    g.finish();

    let Some(pki) = pki(tmp.path()) else {
        eprintln!("openssl not found: seal and .p7m benchmarks skipped");
        return;
    };
    let key =
        SigningKey::from_pem(&std::fs::read(pki.join("seal.key")).expect("key")).expect("key");
    let cert =
        Certificate::from_pem(&std::fs::read(pki.join("seal.pem")).expect("cert")).expect("cert");
    let trust = load_certificates(&std::fs::read(pki.join("seal.pem")).expect("pem")).expect("pem");
    let sealed = seal_segnatura(&s, &key, &cert, &SealOptions::default()).expect("seal");
    let sealed_path = tmp.path().join("Segnatura.xml");
    std::fs::write(&sealed_path, &sealed).expect("write");

    let mut g = c.benchmark_group("segnatura_seal");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("seal_segnatura (RSA-2048)", |b| {
        b.iter(|| seal_segnatura(black_box(&s), &key, &cert, &SealOptions::default()))
    });
    g.bench_function("verify_segnatura", |b| {
        b.iter(|| {
            verify_segnatura(
                black_box(sealed.as_bytes()),
                &trust,
                &SealVerifyOptions::default(),
            )
            .expect("verify")
        })
    });
    if tool("xmlsec1") {
        g.bench_function("reference: xmlsec1 --verify (process)", |b| {
            b.iter(|| {
                let st = Command::new("xmlsec1")
                    .args(["--verify", "--trusted-pem"])
                    .arg(pki.join("seal.pem"))
                    .args([
                        "--id-attr:Id",
                        "http://uri.etsi.org/01903/v1.3.2#:SignedProperties",
                    ])
                    .arg(&sealed_path)
                    .output()
                    .expect("xmlsec1");
                assert!(st.status.success());
            })
        });
    }
    if tool("xmllint") {
        let xsd = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../protocollo/tests/fixtures/schemas/segnatura_protocollo.xsd");
        g.bench_function("reference: xmllint --schema (process)", |b| {
            b.iter(|| {
                let st = Command::new("xmllint")
                    .args(["--noout", "--nonet", "--schema"])
                    .arg(&xsd)
                    .arg(&sealed_path)
                    .output()
                    .expect("xmllint");
                assert!(st.status.success());
            })
        });
    }
    g.finish();

    let p7m = std::fs::read(pki.join("rsa.p7m")).expect("p7m");
    let anchors = load_certificates(&std::fs::read(pki.join("ca.pem")).expect("ca")).expect("ca");
    let verifier = P7mVerifier::new(anchors);
    let mut g = c.benchmark_group("p7m_verify");
    g.bench_function("P7mVerifier::verify (RSA, chain of 2)", |b| {
        b.iter(|| verifier.verify(black_box(&p7m)).expect("p7m"))
    });
    g.bench_function("reference: openssl cms -verify (process)", |b| {
        b.iter(|| {
            let st = Command::new("openssl")
                .args(["cms", "-verify", "-binary", "-inform", "DER", "-in"])
                .arg(pki.join("rsa.p7m"))
                .arg("-CAfile")
                .arg(pki.join("ca.pem"))
                .args(["-out", "/dev/null"])
                .output()
                .expect("openssl");
            assert!(st.status.success());
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
