//! `pa ts verify` on RFC 3161 tokens and `.tsr` responses made by `openssl ts -reply` at test
//! time (the TSA of `protocollo/tests/fixtures/p7m/make-tsa.sh`), each verdict compared with
//! `openssl ts -verify`, and on `.tsd` files built around those tokens. Skipped when openssl is
//! absent, except in CI.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn pa(args: &[&str]) -> (i32, String, String) {
    pa_testkit::exec(env!("CARGO_BIN_EXE_pa"), args)
}

/// The TSA made by make-tsa.sh into `dir/tsa`; None when openssl is absent outside CI.
fn tsa(dir: &Path) -> Option<PathBuf> {
    if !pa_testkit::require("openssl", &["version"], "openssl ts comparisons") {
        return None;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../protocollo/tests/fixtures/p7m/make-tsa.sh");
    let out = dir.join("tsa");
    pa_testkit::fixture_script(&script, &out, &[]);
    Some(out)
}

fn run_ok(c: &mut Command) {
    pa_testkit::run_ok(c);
}

/// `openssl ts -query` over `data` (digest `md`) and `-reply` by the TSA `section`: writes
/// `name.tsr` and `name.tok` (the bare token) in `dir`.
fn stamp(tsa: &Path, dir: &Path, data: &Path, md: &str, section: &str, name: &str) {
    let q = dir.join(format!("{name}.tsq"));
    run_ok(
        Command::new("openssl")
            .args(["ts", "-query", md, "-cert", "-data"])
            .arg(data)
            .arg("-out")
            .arg(&q),
    );
    for (ext, token) in [("tsr", false), ("tok", true)] {
        let mut c = Command::new("openssl");
        c.current_dir(tsa)
            .args(["ts", "-reply", "-config", "tsa.cnf", "-section", section])
            .arg("-queryfile")
            .arg(&q)
            .arg("-out")
            .arg(dir.join(format!("{name}.{ext}")));
        if token {
            c.arg("-token_out");
        }
        run_ok(&mut c);
    }
}

/// `openssl ts -verify` of `name.tsr` (or the bare token) over `data`, trusting the TSA root.
fn openssl_verifies(tsa: &Path, dir: &Path, data: &Path, name: &str, token: bool) -> bool {
    let mut c = Command::new("openssl");
    c.args(["ts", "-verify", "-data"]).arg(data).arg("-in");
    if token {
        c.arg(dir.join(format!("{name}.tok"))).arg("-token_in");
    } else {
        c.arg(dir.join(format!("{name}.tsr")));
    }
    c.arg("-CAfile").arg(tsa.join("tsa-ca.pem"));
    c.output().unwrap().status.success()
}

use pa_testkit::der_tlv as tlv;

/// A `.tsd` (RFC 5544 ContentInfo of TimeStampedData v1) holding `content` and `token`.
fn tsd(content: &[u8], token: &[u8]) -> Vec<u8> {
    // id-ct-timestampedData 1.2.840.113549.1.9.16.1.31
    let oid = [
        0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x1f,
    ];
    let evidence = tlv(0xa0, &tlv(0x30, token));
    let body = tlv(
        0x30,
        &[vec![0x02, 0x01, 0x01], tlv(0x04, content), evidence].concat(),
    );
    tlv(0x30, &[oid.to_vec(), tlv(0xa0, &body)].concat())
}

#[test]
fn tokens_and_responses_agree_with_openssl() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(tsa) = tsa(tmp.path()) else {
        return;
    };
    let dir = tmp.path();
    let s = |p: &Path| p.display().to_string();
    let data = dir.join("delibera.pdf");
    std::fs::write(&data, b"%PDF-1.7 delibera di giunta n. 12").unwrap();
    let other = dir.join("other.pdf");
    std::fs::write(&other, b"%PDF-1.7 delibera di giunta n. 13").unwrap();
    let root = s(&tsa.join("tsa-ca.pem"));
    stamp(&tsa, dir, &data, "-sha256", "tsa_main", "good");
    stamp(&tsa, dir, &data, "-sha512", "tsa_main", "sha512");
    stamp(&tsa, dir, &data, "-sha256", "tsa_other", "other-tsa");

    for (name, valid) in [("good", true), ("sha512", true), ("other-tsa", false)] {
        for (ext, token) in [("tsr", false), ("tok", true)] {
            let f = s(&dir.join(format!("{name}.{ext}")));
            let theirs = openssl_verifies(&tsa, dir, &data, name, token);
            assert_eq!(theirs, valid, "openssl on {name}.{ext}");
            let (code, out, err) = pa(&[
                "ts",
                "verify",
                &f,
                "--data",
                &s(&data),
                "--tsa-trust",
                &root,
            ]);
            assert_eq!(code == 0, valid, "pa on {name}.{ext}: {out}{err}");
            if valid {
                assert!(
                    out.starts_with("time-stamp ") && out.contains("Test Time Stamping Unit"),
                    "{out}"
                );
            } else {
                assert!(err.contains("error:"), "{err}");
            }
            // Over other data: both refuse.
            assert!(!openssl_verifies(&tsa, dir, &other, name, token));
            let (code, _, err) = pa(&[
                "ts",
                "verify",
                &f,
                "--data",
                &s(&other),
                "--tsa-trust",
                &root,
            ]);
            assert_eq!(code, 1, "pa accepted {name}.{ext} over other data");
            if valid {
                assert!(err.contains("imprint"), "{err}");
            }
        }
    }
    // The other TSA's root trusted instead: valid for it, not for ours.
    let other_root = s(&tsa.join("other-ca.pem"));
    let f = s(&dir.join("other-tsa.tok"));
    let (code, _, err) = pa(&[
        "ts",
        "verify",
        &f,
        "--data",
        &s(&data),
        "--tsa-trust",
        &other_root,
    ]);
    assert_eq!(code, 0, "{err}");
    let f = s(&dir.join("good.tok"));
    let (code, _, _) = pa(&[
        "ts",
        "verify",
        &f,
        "--data",
        &s(&data),
        "--tsa-trust",
        &other_root,
    ]);
    assert_eq!(code, 1);

    // A token needs its data; a file that is no time-stamp is refused; --tsa-trust is required.
    let (code, _, err) = pa(&["ts", "verify", &f, "--tsa-trust", &root]);
    assert_eq!(code, 1);
    assert!(err.contains("--data"), "{err}");
    let (code, _, _) = pa(&[
        "ts",
        "verify",
        &s(&data),
        "--data",
        &s(&data),
        "--tsa-trust",
        &root,
    ]);
    assert_eq!(code, 1);
    let (code, _, _) = pa(&["ts", "verify", &f, "--data", &s(&data)]);
    assert_eq!(code, 2);
}

#[test]
fn tsd_files_around_openssl_tokens() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(tsa) = tsa(tmp.path()) else {
        return;
    };
    let dir = tmp.path();
    let s = |p: &Path| p.display().to_string();
    let content = b"Determina n. 7 del 2026".to_vec();
    let data = dir.join("determina.txt");
    std::fs::write(&data, &content).unwrap();
    let root = s(&tsa.join("tsa-ca.pem"));
    stamp(&tsa, dir, &data, "-sha256", "tsa_main", "t");
    assert!(openssl_verifies(&tsa, dir, &data, "t", true));
    let token = std::fs::read(dir.join("t.tok")).unwrap();

    let f = dir.join("determina.txt.tsd");
    std::fs::write(&f, tsd(&content, &token)).unwrap();
    let (code, out, err) = pa(&["ts", "verify", &s(&f), "--tsa-trust", &root]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Tsd file, 23 bytes"), "{out}");
    assert!(out.contains("Test Time Stamping Unit"), "{out}");
    // --data must be the data inside.
    let (code, _, _) = pa(&[
        "ts",
        "verify",
        &s(&f),
        "--data",
        &s(&data),
        "--tsa-trust",
        &root,
    ]);
    assert_eq!(code, 0);
    let other = dir.join("other.txt");
    std::fs::write(&other, b"something else").unwrap();
    let (code, _, err) = pa(&[
        "ts",
        "verify",
        &s(&f),
        "--data",
        &s(&other),
        "--tsa-trust",
        &root,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("not the --data file"), "{err}");

    // Content changed inside the .tsd: the token no longer covers it (openssl agrees).
    let changed = b"Determina n. 8 del 2026".to_vec();
    let cf = dir.join("changed.txt");
    std::fs::write(&cf, &changed).unwrap();
    assert!(!openssl_verifies(&tsa, dir, &cf, "t", true));
    std::fs::write(&f, tsd(&changed, &token)).unwrap();
    let (code, _, err) = pa(&["ts", "verify", &s(&f), "--tsa-trust", &root]);
    assert_eq!(code, 1);
    assert!(err.contains("imprint"), "{err}");
}
