//! Test support shared by the workspace's test suites, and only by them (a dev-dependency,
//! never a dependency of a library crate).
//!
//! The rule every suite follows for external oracles lives here once: a tool that is missing
//! makes the test fail when `CI` is set, and skip with a line on stderr otherwise. Besides that:
//! running commands and the openssl fixture scripts with their stderr in the failure, a
//! self-signed key and certificate made by openssl, loopback ports, and the few files the tests
//! write byte by byte (a classic cross-reference PDF, DER TLVs).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Whether the tests run under CI (`CI` set): then a missing oracle is a failure.
pub fn in_ci() -> bool {
    std::env::var_os("CI").is_some()
}

/// Whether `program args` runs and exits 0 (e.g. `openssl version`). When it does not: panics
/// under CI, and otherwise prints that `what` is skipped and returns false.
pub fn require(program: &str, args: &[&str], what: &str) -> bool {
    let ok = Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            !in_ci(),
            "CI is set but `{program}` is not available ({what})"
        );
        eprintln!("`{program}` is not available: {what} skipped");
    }
    ok
}

/// The Python of the tests (`$PA_PY`, default `python3`) when it runs `code` (the imports a
/// test needs); otherwise panics under CI (naming `pip`, what to install) or returns None.
pub fn python_with(code: &str, pip: &str) -> Option<String> {
    let py = std::env::var("PA_PY").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", code])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        return Some(py);
    }
    assert!(
        !in_ci(),
        "CI is set but {py} cannot run `{code}` (pip install {pip})"
    );
    eprintln!("{py} cannot run `{code}`: skipped");
    None
}

/// Runs `program args`: (exit code, or -1 when killed by a signal; stdout; stderr).
pub fn exec(program: impl AsRef<OsStr>, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(program).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `cmd`, failing the test with its stderr when it does not exit 0.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs the bash fixture `script` with `out` (the directory it fills) and `extra` arguments.
pub fn fixture_script(script: &Path, out: &Path, extra: &[&str]) {
    run_ok(Command::new("bash").arg(script).arg(out).args(extra));
}

/// An RSA-2048 key and a self-signed certificate of it, both made by `openssl req -x509`
/// (check first with `require("openssl", &["version"], …)`): `dir/<name>.key.pem` and
/// `dir/<name>.crt.pem`, subject `subject` (as `/C=IT/O=…/CN=…`), valid for `days` days.
/// Returns (key, certificate).
pub fn openssl_self_signed(dir: &Path, name: &str, subject: &str, days: u32) -> (PathBuf, PathBuf) {
    let key = dir.join(format!("{name}.key.pem"));
    let cert = dir.join(format!("{name}.crt.pem"));
    run_ok(
        Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes"])
            .args(["-days", &days.to_string(), "-subj", subject])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert),
    );
    (key, cert)
}

/// A TCP port on 127.0.0.1 that was free a moment ago (for a server the test starts, or one
/// that must be known to be closed).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A DER tag-length-value with the definite length form.
pub fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let n = content.len();
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let be = n.to_be_bytes();
        let skip = be.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (be.len() - skip) as u8);
        out.extend_from_slice(&be[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// A PDF 1.7 of the given object bodies (object `i + 1` is `objects[i]`, object 1 the
/// catalog) with a classic cross-reference table.
pub fn classic_pdf(objects: &[Vec<u8>]) -> Vec<u8> {
    let mut out = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, o) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(o);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    let size = objects.len() + 1;
    out.extend_from_slice(format!("xref\n0 {size}\n0000000000 65535 f \n").as_bytes());
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!("trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n").as_bytes(),
    );
    out
}

/// A one-page A4 PDF showing `text` (ASCII, no parentheses or backslashes) in Helvetica.
pub fn one_page_pdf(text: &str) -> Vec<u8> {
    let content = format!("BT /F1 24 Tf 72 720 Td ({text}) Tj ET");
    let stream = format!(
        "<< /Length {} >>\nstream\n{content}\nendstream",
        content.len()
    );
    classic_pdf(&[
        b"<< /Type /Catalog /Pages 2 0 R >>".to_vec(),
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_vec(),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R \
           /Resources << /Font << /F1 5 0 R >> >> >>"
            .to_vec(),
        stream.into_bytes(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths() {
        assert_eq!(der_tlv(0x04, b"ab"), [0x04, 2, b'a', b'b']);
        let long = der_tlv(0x04, &[0; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(long.len(), 304);
    }

    #[test]
    fn pdf_offsets_point_at_objects() {
        let pdf = one_page_pdf("Hello");
        let at_text = |off: usize, want: &str| pdf[off..].starts_with(want.as_bytes());
        let find = |needle: &[u8]| pdf.windows(needle.len()).rposition(|w| w == needle);
        let start = find(b"startxref\n").unwrap() + 10;
        let line_end = start + pdf[start..].iter().position(|b| *b == b'\n').unwrap();
        let at: usize = std::str::from_utf8(&pdf[start..line_end])
            .unwrap()
            .parse()
            .unwrap();
        assert!(at_text(at, "xref\n0 6\n"));
        let table = std::str::from_utf8(&pdf[at..]).unwrap();
        for (i, line) in table.lines().skip(3).take(5).enumerate() {
            let off: usize = line[..10].parse().unwrap();
            assert!(at_text(off, &format!("{} 0 obj\n", i + 1)), "{line}");
        }
    }
}
