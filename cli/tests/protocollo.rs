//! `pa protocollo segnatura|verify` and `pa p7m verify`, with keys and `.p7m` files made by
//! openssl (skipped when openssl is absent, except in CI).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

fn pa(args: &[&str]) -> (i32, String, String) {
    pa_testkit::exec(env!("CARGO_BIN_EXE_pa"), args)
}

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../protocollo/tests/fixtures/p7m")
        .join(name)
}

fn have_openssl() -> bool {
    pa_testkit::require("openssl", &["version"], "openssl-made keys and signatures")
}

/// The signers and `.p7m` files of make-p7m.sh in `dir/pki`; None without openssl outside CI.
fn pki(dir: &Path) -> Option<PathBuf> {
    if !have_openssl() {
        return None;
    }
    let out = dir.join("pki");
    pa_testkit::fixture_script(&fixture("make-p7m.sh"), &out, &[]);
    Some(out)
}

/// The CA, CRLs and signers of make-revocation.sh in `dir/rev`, naming OCSP and CRL URLs on
/// two loopback ports where nobody listens: (directory, OCSP port).
fn revocation_pki(dir: &Path) -> (PathBuf, u16) {
    let (ocsp, crl) = (pa_testkit::free_port(), pa_testkit::free_port());
    let out = dir.join("rev");
    let args = [ocsp.to_string(), crl.to_string()];
    pa_testkit::fixture_script(&fixture("make-revocation.sh"), &out, &[&args[0], &args[1]]);
    (out, ocsp)
}

const JSON: &str = r#"{
  "intestazione": {
    "identificatore": {
      "codice_amministrazione": { "codice": "c_h501", "descrizione": "Comune di Roma" },
      "codice_aoo": { "codice": "A1B2C3D" },
      "codice_registro": "PROT",
      "numero_registrazione": "0000042",
      "data_registrazione": "2025-03-30",
      "ora_registrazione": "10:15:00+01:00"
    },
    "oggetto": "Istanza di accesso agli atti",
    "classifica": { "denominazione": "Affari generali", "codice": { "flat": "1.6" } }
  },
  "descrizione": {
    "mittente": { "amministrazione": {
      "denominazione": "Comune di Roma",
      "codice_ipa": { "codice": "c_h501" }
    } },
    "destinatari": [ { "soggetto": { "persona_fisica": {
      "nome": "Mario", "cognome": "Rossi", "codice_fiscale": "RSSMRA85T10A562S"
    } } } ],
    "documento_primario": { "nome_file": "istanza.pdf", "mime_type": "application/pdf",
      "impronta": { "algoritmo": "SHA-256", "valore": "AAAA" } },
    "allegati": [ { "nome_file": "allegato.txt", "mime_type": "text/plain",
      "impronta": { "algoritmo": "SHA-256", "valore": "AAAA" } } ]
  }
}"#;

#[test]
fn seal_then_verify_segnatura() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(pki) = pki(tmp.path()) else { return };
    let docs = tmp.path().join("docs");
    std::fs::create_dir(&docs).unwrap();
    std::fs::write(docs.join("istanza.pdf"), b"%PDF istanza").unwrap();
    std::fs::write(docs.join("allegato.txt"), b"allegato").unwrap();
    let json = tmp.path().join("s.json");
    std::fs::write(&json, JSON).unwrap();
    let sealed = tmp.path().join("Segnatura.xml");
    let p = |n: &str| pki.join(n).display().to_string();
    let (code, _, err) = pa(&[
        "protocollo",
        "segnatura",
        "--in",
        json.to_str().unwrap(),
        "--key",
        &p("seal.key"),
        "--cert",
        &p("seal.pem"),
        "--documents",
        docs.to_str().unwrap(),
        "--out",
        sealed.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let xml = std::fs::read_to_string(&sealed).unwrap();
    assert!(xml.contains("<ds:Signature"));

    let (code, out, err) = pa(&[
        "protocollo",
        "verify",
        sealed.to_str().unwrap(),
        "--trust",
        &p("seal.pem"),
        "--documents",
        docs.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("seal OK: c_h501 A1B2C3D PROT n. 0000042"),
        "{out}"
    );
    assert!(out.contains("2 Impronta OK"), "{out}");

    // An altered attachment: 002, and the NotificaEccezione is written.
    std::fs::write(docs.join("allegato.txt"), b"altered").unwrap();
    let ecc = tmp.path().join("Eccezione.xml");
    let (code, out, _) = pa(&[
        "protocollo",
        "verify",
        sealed.to_str().unwrap(),
        "--trust",
        &p("seal.pem"),
        "--documents",
        docs.to_str().unwrap(),
        "--eccezione",
        ecc.to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(out.contains("002_AnomaliaImpronta"), "{out}");
    let n = std::fs::read_to_string(&ecc).unwrap();
    assert!(n.contains("pec:NotificaEccezione") && n.contains("002_AnomaliaImpronta"));

    // A seal from an untrusted key: 001.
    let (code, out, _) = pa(&[
        "protocollo",
        "verify",
        sealed.to_str().unwrap(),
        "--trust",
        &p("ca.pem"),
    ]);
    assert_eq!(code, 1);
    assert!(out.starts_with("001_ValidazioneFirma"), "{out}");
}

#[test]
fn bad_json_is_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(pki) = pki(tmp.path()) else { return };
    let json = tmp.path().join("s.json");
    std::fs::write(&json, JSON.replace("0000042", "42")).unwrap();
    let (code, _, err) = pa(&[
        "protocollo",
        "segnatura",
        "--in",
        json.to_str().unwrap(),
        "--key",
        pki.join("seal.key").to_str().unwrap(),
        "--cert",
        pki.join("seal.pem").to_str().unwrap(),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("NumeroRegistrazione"), "{err}");
}

#[test]
fn p7m_verify_and_extract() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(pki) = pki(tmp.path()) else { return };
    let p = |n: &str| pki.join(n).display().to_string();
    let out_file = tmp.path().join("doc.txt");
    let (code, out, err) = pa(&[
        "p7m",
        "verify",
        &p("nested.p7m.p7m"),
        "--trust",
        &p("ca.pem"),
        "--extract",
        out_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("[CF BNCNNA80A41H501R]"), "{out}");
    assert!(out.contains("[CF RSSMRA85T10A562S]"), "{out}");
    assert!(out.contains("envelope 2"), "{out}");
    assert_eq!(
        std::fs::read(&out_file).unwrap(),
        b"Documento firmato digitalmente per il protocollo.\n"
    );

    let (code, _, err) = pa(&[
        "p7m",
        "verify",
        &p("untrusted.p7m"),
        "--trust",
        &p("ca.pem"),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("does not chain"), "{err}");

    let (code, out, err) = pa(&["p7m", "verify", &p("untrusted.p7m")]);
    assert_eq!(code, 0);
    assert!(err.contains("NOT checked") && out.contains("chain NOT checked"));

    let (code, _, err) = pa(&["p7m", "verify", &p("expired.p7m"), "--trust", &p("ca.pem")]);
    assert_eq!(code, 1);
    assert!(err.contains("was not valid"), "{err}");
}

#[test]
fn p7m_verify_detached_and_legacy_flags() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(pki) = pki(tmp.path()) else { return };
    let p = |n: &str| pki.join(n).display().to_string();
    let trust = p("ca.pem");
    let (code, out, err) = pa(&[
        "p7m",
        "verify",
        &p("detached.p7s"),
        "--content",
        &p("doc.txt"),
        "--trust",
        &trust,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Mario Rossi"), "{out}");
    // Content swapped under the detached signature.
    let (code, _, err) = pa(&[
        "p7m",
        "verify",
        &p("detached.p7s"),
        "--content",
        &p("ca.pem"),
        "--trust",
        &trust,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("message-digest"), "{err}");
    let (code, _, err) = pa(&["p7m", "verify", &p("detached.p7s"), "--trust", &trust]);
    assert_eq!(code, 1);
    assert!(err.contains("detached"), "{err}");

    // RSA-1024: refused by default, naming the key size.
    let (code, _, err) = pa(&["p7m", "verify", &p("rsa1024.p7m"), "--trust", &trust]);
    assert_eq!(code, 1);
    assert!(
        err.contains("RSA key of 1024 bits is below the 2048-bit minimum"),
        "{err}"
    );
    // Allowed, but signed now: too late.
    let (code, _, err) = pa(&[
        "p7m",
        "verify",
        &p("rsa1024.p7m"),
        "--trust",
        &trust,
        "--allow-legacy",
        "--trust-signing-time",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("accepted only before"), "{err}");
    // With a trusted time before the deadline.
    let (code, out, err) = pa(&[
        "p7m",
        "verify",
        &p("rsa1024.p7m"),
        "--trust",
        &trust,
        "--allow-legacy",
        "--trusted-time",
        "2013-06-01T00:00:00Z",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("legacy: RSA key below 2048 bits accepted"),
        "{out}"
    );
    // SHA-1 by default.
    let (code, _, err) = pa(&["p7m", "verify", &p("sha1.p7m"), "--trust", &trust]);
    assert_eq!(code, 1);
    assert!(err.contains("SHA-1 digest refused"), "{err}");
    // --trust-signing-time needs --allow-legacy.
    let (code, _, _) = pa(&["p7m", "verify", &p("sha1.p7m"), "--trust-signing-time"]);
    assert_eq!(code, 2);
}

#[test]
fn p7m_verify_revocation_flags() {
    if !have_openssl() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (pki, ocsp_port) = revocation_pki(tmp.path());
    let p = |n: &str| pki.join(n).display().to_string();
    let (trust, crl) = (p("ca.pem"), p("crl.der"));

    let (code, out, err) = pa(&[
        "p7m",
        "verify",
        &p("good.p7m"),
        "--trust",
        &trust,
        "--crl",
        &crl,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("revocation: `CN=Mario Rossi"), "{out}");
    assert!(out.contains("good by given CRL #1"), "{out}");

    let (code, _, err) = pa(&[
        "p7m",
        "verify",
        &p("revoked.p7m"),
        "--trust",
        &trust,
        "--crl",
        &crl,
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("is revoked since") && err.contains("keyCompromise"),
        "{err}"
    );

    // A CRL of another CA does not decide; the responder is unreachable: fail closed ...
    let args = [
        "p7m",
        "verify",
        &p("good.p7m"),
        "--trust",
        &trust,
        "--crl",
        &p("other-crl.der"),
        "--ocsp",
    ];
    let (code, _, err) = pa(&args);
    assert_eq!(code, 1);
    assert!(err.contains("revocation status unknown"), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{ocsp_port}")), "{err}");
    // ... unless told to soft-fail, which says so.
    let mut soft = args.to_vec();
    soft.push("--soft-fail");
    let (code, out, err) = pa(&soft);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("status UNKNOWN (soft-fail)"), "{out}");
    // Soft-fail does not hide a revocation.
    let (code, _, _) = pa(&[
        "p7m",
        "verify",
        &p("revoked.p7m"),
        "--trust",
        &trust,
        "--crl",
        &crl,
        "--soft-fail",
    ]);
    assert_eq!(code, 1);
    // Revocation needs the issuers.
    let (code, _, err) = pa(&["p7m", "verify", &p("good.p7m"), "--crl", &crl]);
    assert_eq!(code, 1);
    assert!(err.contains("needs --trust"), "{err}");
    let (_, help, _) = pa(&["p7m", "verify", "--help"]);
    assert!(
        help.contains("--soft-fail") && help.contains("--crl"),
        "{help}"
    );
}

#[test]
fn p7m_verify_m7m_with_tsa_trust() {
    if !have_openssl() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // Ports 1 and 2: revocation is not looked up here.
    let pki = tmp.path().join("rev");
    pa_testkit::fixture_script(&fixture("make-revocation.sh"), &pki, &["1", "2"]);
    let p = |n: &str| pki.join(n).display().to_string();
    let (trust, tsa) = (p("ca.pem"), p("tsa/tsa-ca.pem"));
    // Time-stamped before its signer's revocation: valid, and said so.
    let args = [
        "p7m",
        "verify",
        &p("later.m7m"),
        "--trust",
        &trust,
        "--crl",
        &p("crl2.der"),
    ];
    let mut with_tsa = args.to_vec();
    with_tsa.extend(["--tsa-trust", &tsa]);
    let (code, out, err) = pa(&with_tsa);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("time-stamp") && out.contains("Test Time Stamping Unit"),
        "{out}"
    );
    assert!(out.contains("revoked later"), "{out}");
    // Without TSA roots: refused.
    let (code, _, err) = pa(&args);
    assert_eq!(code, 1);
    assert!(err.contains("--tsa-trust"), "{err}");
    // The .p7m alone: revoked.
    let (code, _, err) = pa(&[
        "p7m",
        "verify",
        &p("later.p7m"),
        "--trust",
        &trust,
        "--crl",
        &p("crl2.der"),
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("is revoked"), "{err}");
}

#[test]
fn segnatura_verify_checks_the_seal_certificate_revocation() {
    if !have_openssl() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (pki, ocsp_port) = revocation_pki(tmp.path());
    let p = |n: &str| pki.join(n).display().to_string();
    let json = tmp.path().join("s.json");
    std::fs::write(&json, JSON).unwrap();
    // Seals by the PKI's signers (the JSON's Impronta values are not checked here).
    let seal = |signer: &str| {
        let out = tmp.path().join(format!("{signer}.xml"));
        let (code, _, err) = pa(&[
            "protocollo",
            "segnatura",
            "--in",
            json.to_str().unwrap(),
            "--key",
            &p(&format!("{signer}.key")),
            "--cert",
            &p(&format!("{signer}.pem")),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{err}");
        out.display().to_string()
    };
    let (good, revoked) = (seal("good"), seal("revoked"));
    let (trust, crl) = (p("ca.pem"), p("crl.der"));
    let verify = |file: &str, extra: &[&str]| {
        let mut args = vec!["protocollo", "verify", file, "--trust", &trust];
        args.extend_from_slice(extra);
        pa(&args)
    };

    let (code, out, err) = verify(&good, &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("revocation: not checked"), "{out}");
    let (code, out, err) = verify(&good, &["--crl", &crl]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("revocation: `CN=Mario Rossi") && out.contains("good by given CRL #1"),
        "{out}"
    );
    let (code, out, _) = verify(&revoked, &["--crl", &crl]);
    assert_eq!(code, 1);
    assert!(
        out.contains("001_ValidazioneFirma") && out.contains("keyCompromise"),
        "{out}"
    );
    // The responder named in the certificate is not running: fail closed, unless soft-fail.
    let (code, out, _) = verify(&good, &["--ocsp"]);
    assert_eq!(code, 1);
    assert!(out.contains("revocation status unknown"), "{out}");
    assert!(out.contains(&format!("127.0.0.1:{ocsp_port}")), "{out}");
    let (code, out, err) = verify(&good, &["--ocsp", "--soft-fail"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("status UNKNOWN (soft-fail)"), "{out}");
    // A Baseline-B seal has no time-stamp: --tsa-trust finds none and changes nothing.
    let (code, out, err) = verify(&good, &["--tsa-trust", &p("tsa/tsa-ca.pem")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(!out.contains("XAdES-T"), "{out}");
}
