//! `pa pdf verify` on PDFs signed at test time by pyHanko (signers by openssl, a TSA by
//! `openssl ts` behind pyHanko's time-stamp client): exit 0 exactly when every signature is
//! valid, which must be when pyHanko's validator says so. Needs `$PA_PY` with pyHanko
//! (a missing one fails under CI).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

fn pa(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pa"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../protocollo/tests/fixtures")
}

fn python() -> Option<String> {
    let py = std::env::var("PA_PY").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import pyhanko.sign, pyhanko_certvalidator"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(py);
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI is set but {py} has no pyHanko (pip install pyhanko)"
    );
    eprintln!("{py} without pyHanko: skipped");
    None
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

/// A one-page PDF with a classic cross-reference table.
fn plain_pdf() -> Vec<u8> {
    let content = b"BT /F1 24 Tf 72 720 Td (Protocollo 2026/42: Hello) Tj ET";
    let mut stream = format!("<< /Length {} >>\nstream\n", content.len()).into_bytes();
    stream.extend_from_slice(content);
    stream.extend_from_slice(b"\nendstream");
    let objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
           /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_vec(),
        stream,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ];
    let mut out = b"%PDF-1.7\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

#[test]
fn pdf_verify_exit_codes_follow_pyhanko() {
    let Some(py) = python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    for (script, sub) in [("pades/make-signers.sh", "pki"), ("p7m/make-tsa.sh", "tsa")] {
        let st = Command::new("bash")
            .arg(fixtures().join(script))
            .arg(dir.join(sub))
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
    }
    std::fs::write(dir.join("doc.pdf"), plain_pdf()).unwrap();
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
