//! `pa pdf verify` on PDFs signed at test time by pyHanko (signers by openssl, a TSA by
//! `openssl ts` behind pyHanko's time-stamp client): exit 0 exactly when every signature is
//! valid, which must be when pyHanko's validator says so. Needs `$PA_PY` with pyHanko
//! (a missing one fails under CI).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn pa(args: &[&str]) -> (i32, String, String) {
    pa_testkit::exec(env!("CARGO_BIN_EXE_pa"), args)
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../protocollo/tests/fixtures")
}

fn python() -> Option<String> {
    pa_testkit::python_with("import pyhanko.sign, pyhanko_certvalidator", "pyhanko")
}

fn oracle(py: &str, dir: &Path, args: &[&str]) -> String {
    let out = Command::new(py)
        .arg(fixtures().join("pades/pyhanko_oracle.py"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn pdf_verify_exit_codes_follow_pyhanko() {
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (script, sub) in [("pades/make-signers.sh", "pki"), ("p7m/make-tsa.sh", "tsa")] {
        pa_testkit::fixture_script(&fixtures().join(script), &dir.join(sub), &[]);
    }
    std::fs::write(
        dir.join("doc.pdf"),
        pa_testkit::one_page_pdf("Protocollo 2026/42: Hello"),
    )
    .unwrap();
    let sign = |input: &str, output: &str, who: &str, field: &str, extra: &[&str]| {
        let (key, cert) = (format!("pki/{who}.key"), format!("pki/{who}.pem"));
        let mut args = vec![
            "sign", input, output, "--key", &key, "--cert", &cert, "--field", field,
        ];
        args.extend_from_slice(extra);
        oracle(&py, dir, &args);
    };
    sign("doc.pdf", "one.pdf", "alice", "Firma1", &[]);
    sign("one.pdf", "two.pdf", "bob", "Firma2", &[]);
    sign(
        "doc.pdf",
        "ts.pdf",
        "alice",
        "Firma1",
        &["--tsa-dir", "tsa"],
    );
    sign("doc.pdf", "mallory.pdf", "mallory", "Firma1", &[]);
    sign(
        "doc.pdf",
        "certified.pdf",
        "alice",
        "Autore",
        &["--certify", "1"],
    );
    oracle(&py, dir, &["add-content", "one.pdf", "content-added.pdf"]);
    oracle(
        &py,
        dir,
        &["annotate", "certified.pdf", "certified-annotated.pdf"],
    );
    let mut tampered = std::fs::read(dir.join("one.pdf")).unwrap();
    let at = tampered.windows(5).position(|w| w == b"Hello").unwrap();
    tampered[at] = b'J';
    std::fs::write(dir.join("tampered.pdf"), tampered).unwrap();

    let p = |n: &str| dir.join(n).to_string_lossy().into_owned();
    let (ca, tsa) = (p("pki/ca.pem"), p("tsa/tsa-ca.pem"));
    for (file, expect_valid) in [
        ("one.pdf", true),
        ("two.pdf", true),
        ("ts.pdf", true),
        ("certified.pdf", true),
        ("mallory.pdf", false),
        ("content-added.pdf", false),
        ("certified-annotated.pdf", false),
        ("tampered.pdf", false),
    ] {
        let theirs = oracle(
            &py,
            dir,
            &[
                "validate",
                file,
                "--root",
                "pki/ca.pem",
                "--tsa-root",
                "tsa/tsa-ca.pem",
            ],
        );
        let pyhanko_valid = theirs.lines().all(|l| l.contains("\"bottom_line\": true"));
        assert_eq!(pyhanko_valid, expect_valid, "{file}: pyHanko says {theirs}");
        let (code, out, err) = pa(&[
            "pdf",
            "verify",
            &p(file),
            "--trust",
            &ca,
            "--tsa-trust",
            &tsa,
        ]);
        assert_eq!(code == 0, expect_valid, "{file}: exit {code}\n{out}\n{err}");
        if expect_valid {
            assert!(out.contains("VALID") && !out.contains("NOT VALID"), "{out}");
        } else {
            assert!(
                out.contains("NOT VALID") && err.contains("NOT valid"),
                "{out}\n{err}"
            );
        }
    }
    // what is printed: the signer, the time-stamp, the later signature, the DocMDP breach
    let (_, out, _) = pa(&[
        "pdf",
        "verify",
        &p("ts.pdf"),
        "--trust",
        &ca,
        "--tsa-trust",
        &tsa,
    ]);
    assert!(
        out.contains("signer: SERIALNUMBER=TINIT-RSSLCA80A41H501U")
            && out.contains("[CF RSSLCA80A41H501U]"),
        "{out}"
    );
    assert!(out.contains("signature time-stamp"), "{out}");
    let (_, out, _) = pa(&["pdf", "verify", &p("two.pdf"), "--trust", &ca]);
    assert!(
        out.contains("revision 3: signature added in field Firma2"),
        "{out}"
    );
    let (_, out, _) = pa(&[
        "pdf",
        "verify",
        &p("certified-annotated.pdf"),
        "--trust",
        &ca,
    ]);
    assert!(out.contains("DocMDP violation"), "{out}");
    // without --trust: a warning, the chain not checked
    let (code, out, err) = pa(&["pdf", "verify", &p("mallory.pdf")]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        err.contains("NOT checked") && out.contains("chain NOT checked"),
        "{out}{err}"
    );
    // not a PDF, an unsigned PDF, a missing file: exit 1 with the reason
    let (code, _, err) = pa(&["pdf", "verify", &p("pki/ca.pem"), "--trust", &ca]);
    assert_eq!(code, 1);
    assert!(err.contains("not a readable PDF"), "{err}");
    let (code, _, err) = pa(&["pdf", "verify", &p("doc.pdf"), "--trust", &ca]);
    assert_eq!(code, 1);
    assert!(err.contains("no signatures"), "{err}");
    let (code, _, _) = pa(&["pdf", "verify", &p("missing.pdf")]);
    assert_eq!(code, 1);
}
