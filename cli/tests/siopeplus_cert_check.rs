//! `pa siopeplus cert-check --config FILE`: every ente's A2A certificate, soonest expiry first,
//! exit code the worst of them. Certificates are issued at test time by the test PKI.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

use siopeplus::simulator::TestPki;

struct Deployment {
    dir: tempfile::TempDir,
    pki: TestPki,
    enti: Vec<serde_json::Value>,
}

impl Deployment {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("certs")).unwrap();
        Deployment {
            dir,
            pki: TestPki::generate("Test CA").unwrap(),
            enti: Vec::new(),
        }
    }

    /// An ente whose certificate expires in `days` days (negative: expired).
    fn ente(&mut self, id: &str, a2a: &str, days: i64) -> &mut Self {
        let (cert, _) = self
            .pki
            .issue_client(&format!("Comune {a2a}"), -1100, days)
            .unwrap();
        std::fs::write(self.dir.path().join(format!("certs/{id}.crt")), cert).unwrap();
        self.with_file(id, a2a)
    }

    /// An ente pointing at `certs/{id}.crt` as it is (or missing).
    fn with_file(&mut self, id: &str, a2a: &str) -> &mut Self {
        self.enti.push(serde_json::json!({
            "id": id,
            "name": format!("Comune di {id}"),
            "ipa": "c_x000",
            "unknown_field": {"ignored": true},
            "siope": {"codice_a2a": a2a, "certificate_pem": format!("certs/{id}.crt"), "ente": "UF1"},
        }));
        self
    }

    fn without_siope(&mut self, id: &str) -> &mut Self {
        self.enti
            .push(serde_json::json!({"id": id, "name": format!("Comune di {id}")}));
        self
    }

    fn config(&self) -> PathBuf {
        let p = self.dir.path().join("deployment.json");
        std::fs::write(&p, serde_json::json!({"enti": self.enti}).to_string()).unwrap();
        p
    }
}

/// Runs `pa siopeplus cert-check` from another directory (relative paths must resolve against
/// the config's directory); returns exit code and stdout.
fn pa(args: &[&str]) -> (i32, String) {
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_pa"))
        .args(["siopeplus", "cert-check"])
        .args(args)
        .current_dir(cwd.path())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap() + &String::from_utf8(out.stderr).unwrap(),
    )
}

fn check(config: &Path, extra: &[&str]) -> (i32, String) {
    let c = config.to_str().unwrap();
    let mut args = vec!["--config", c];
    args.extend_from_slice(extra);
    pa(&args)
}

/// The ente ids in the order the report lists them.
fn order(out: &str) -> Vec<String> {
    out.lines()
        .skip(1)
        .filter(|l| !l.starts_with(' ') && !l.contains(" enti, "))
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect()
}

fn line<'a>(out: &'a str, id: &str) -> &'a str {
    out.lines()
        .find(|l| l.split_whitespace().next() == Some(id))
        .unwrap_or_else(|| panic!("{id} not listed:\n{out}"))
}

#[test]
fn all_valid_exits_0_soonest_first() {
    let mut d = Deployment::new();
    d.ente("lontano", "A2A-11111111", 1000)
        .ente("vicino", "A2A-22222222", 200)
        .without_siope("senza")
        .ente("medio", "A2A-33333333", 500);
    let (code, out) = check(&d.config(), &[]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(
        order(&out),
        ["vicino", "medio", "lontano", "senza"],
        "{out}"
    );
    let l = line(&out, "vicino");
    assert!(
        l.contains("A2A-22222222") && l.contains("Comune di vicino") && l.ends_with("OK"),
        "{l}"
    );
    let days: i64 = l.split_whitespace().rev().nth(2).unwrap().parse().unwrap();
    assert!((198..=200).contains(&days), "{l}");
    assert!(
        line(&out, "senza").contains("no SIOPE+ certificate"),
        "{out}"
    );
    assert!(
        out.contains("4 enti, 3 with a SIOPE+ certificate; status: OK"),
        "{out}"
    );
}

#[test]
fn one_expiring_exits_1_and_the_window_is_configurable() {
    let mut d = Deployment::new();
    d.ente("sicuro", "A2A-11111111", 1000)
        .ente("scade", "A2A-22222222", 30)
        .without_siope("senza");
    let cfg = d.config();
    let (code, out) = check(&cfg, &[]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(order(&out), ["scade", "sicuro", "senza"], "{out}");
    assert!(
        line(&out, "scade").contains("EXPIRING (within 90 days)"),
        "{out}"
    );
    assert!(out.contains("status: EXPIRING"), "{out}");
    let (code, out) = check(&cfg, &["--warn-days", "20"]);
    assert_eq!(code, 0, "{out}");
}

#[test]
fn one_expired_exits_2_and_comes_first() {
    let mut d = Deployment::new();
    d.ente("scade", "A2A-22222222", 30)
        .ente("sicuro", "A2A-11111111", 1000)
        .ente("scaduto", "A2A-33333333", -5);
    let (code, out) = check(&d.config(), &[]);
    assert_eq!(code, 2, "{out}");
    assert_eq!(order(&out), ["scaduto", "scade", "sicuro"], "{out}");
    let l = line(&out, "scaduto");
    assert!(l.ends_with("EXPIRED") && l.contains(" -"), "{l}");
    assert!(out.contains("status: EXPIRED OR INVALID"), "{out}");
}

#[test]
fn unreadable_or_invalid_certificates_are_the_worst_status() {
    let mut d = Deployment::new();
    d.ente("scaduto", "A2A-33333333", -5)
        .ente("sicuro", "A2A-11111111", 1000)
        .with_file("mancante", "A2A-44444444")
        .with_file("rotto", "A2A-55555555");
    std::fs::write(d.dir.path().join("certs/rotto.crt"), "not a certificate").unwrap();
    let (code, out) = check(&d.config(), &[]);
    assert_eq!(code, 2, "{out}");
    let o = order(&out);
    assert_eq!(&o[2..], ["scaduto", "sicuro"], "{out}");
    assert!(
        o[..2].contains(&"mancante".to_owned()) && o[..2].contains(&"rotto".to_owned()),
        "{out}"
    );
    assert!(line(&out, "rotto").ends_with("INVALID"), "{out}");
    assert!(line(&out, "mancante").ends_with("INVALID"), "{out}");
    assert!(
        out.contains("mancante.crt"),
        "the reason names the file: {out}"
    );

    // An ente with a siope section but no certificate path is invalid too.
    let mut d = Deployment::new();
    d.ente("sicuro", "A2A-11111111", 1000);
    d.enti
        .push(serde_json::json!({"id": "vuoto", "siope": {"codice_a2a": "A2A-66666666"}}));
    let (code, out) = check(&d.config(), &[]);
    assert_eq!(code, 2, "{out}");
    assert_eq!(order(&out), ["vuoto", "sicuro"], "{out}");
}

#[test]
fn enti_without_siope_do_not_affect_the_exit_code() {
    let mut d = Deployment::new();
    d.without_siope("a").without_siope("b");
    let (code, out) = check(&d.config(), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 enti, 0 with a SIOPE+ certificate"), "{out}");
}

#[test]
fn a_config_that_cannot_be_read_exits_2() {
    let d = Deployment::new();
    let p = d.dir.path().join("bad.json");
    std::fs::write(&p, "{not json").unwrap();
    assert_eq!(check(&p, &[]).0, 2);
    std::fs::write(&p, r#"{"sportello": {}}"#).unwrap();
    let (code, out) = check(&p, &[]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("no \"enti\" array"), "{out}");
    assert_eq!(check(&d.dir.path().join("missing.json"), &[]).0, 2);
}

#[test]
fn the_single_certificate_form_still_works() {
    let mut d = Deployment::new();
    d.ente("uno", "A2A-11111111", 1000)
        .ente("due", "A2A-22222222", -3);
    let ok = d.dir.path().join("certs/uno.crt");
    let (code, out) = pa(&[ok.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("A2A code: A2A-11111111"), "{out}");
    let expired = d.dir.path().join("certs/due.crt");
    assert_eq!(pa(&[expired.to_str().unwrap()]).0, 2);
    // Neither a file nor --config, or both: usage error.
    assert_eq!(pa(&[]).0, 2);
    let cfg = d.config();
    assert_eq!(
        pa(&["--config", cfg.to_str().unwrap(), ok.to_str().unwrap()]).0,
        2
    );
}

#[test]
fn a_certificate_of_another_a2a_code_is_noted() {
    let mut d = Deployment::new();
    d.ente("giusto", "A2A-11111111", 1000);
    let (cert, _) = d.pki.issue_client("Comune A2A-99999999", -1, 1000).unwrap();
    std::fs::write(d.dir.path().join("certs/scambiato.crt"), cert).unwrap();
    d.with_file("scambiato", "A2A-22222222");
    let (code, out) = check(&d.config(), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("note: the certificate names A2A-99999999, the config A2A-22222222"),
        "{out}"
    );
    assert_eq!(out.matches("note:").count(), 1, "{out}");
}
