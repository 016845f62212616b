//! Revocation of `.p7m` signers (issue 18, item 3): a PKI made by `openssl ca` at test time
//! (`tests/fixtures/p7m/make-revocation.sh`), CRLs by `openssl ca -gencrl`, OCSP answers by
//! `openssl ocsp` as a responder on 127.0.0.1 (and offline, `-reqin`/`-respout`, for the
//! attack variants), verdicts cross-checked with `openssl ocsp -url`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::Utc;
use protocollo::*;

pub(crate) struct Pki {
    _dir: tempfile::TempDir,
    path: PathBuf,
    ocsp_port: u16,
    crl_port: u16,
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Makes the PKI once per run; None when openssl is absent outside CI.
pub(crate) fn pki() -> Option<&'static Pki> {
    static PKI: OnceLock<Option<Pki>> = OnceLock::new();
    PKI.get_or_init(|| {
        if Command::new("openssl").arg("version").output().is_err() {
            assert!(
                std::env::var_os("CI").is_none(),
                "openssl is required in CI"
            );
            eprintln!("openssl not found: revocation tests skipped");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rev");
        let (ocsp_port, crl_port) = (free_port(), free_port());
        let script =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/p7m/make-revocation.sh");
        let st = Command::new("bash")
            .arg(&script)
            .arg(&path)
            .arg(ocsp_port.to_string())
            .arg(crl_port.to_string())
            .output()
            .unwrap();
        assert!(
            st.status.success(),
            "{}",
            String::from_utf8_lossy(&st.stderr)
        );
        Some(Pki {
            _dir: dir,
            path,
            ocsp_port,
            crl_port,
        })
    })
    .as_ref()
}

pub(crate) fn p(name: &str) -> PathBuf {
    pki().unwrap().path.join(name)
}

pub(crate) fn rd(name: &str) -> Vec<u8> {
    std::fs::read(p(name)).unwrap()
}

fn verifier(o: RevocationOptions) -> P7mVerifier {
    P7mVerifier::new(load_certificates(&rd("ca.pem")).unwrap()).with_revocation(o)
}

pub(crate) fn with_crls(crls: &[&str]) -> RevocationOptions {
    RevocationOptions {
        crls: crls.iter().map(|c| rd(c)).collect(),
        ..RevocationOptions::default()
    }
}

fn unknown_reason(e: P7mError, subject: &str) -> String {
    match e {
        P7mError::RevocationUnknown { subject: s, reason } => {
            assert!(s.contains(subject), "{s}");
            reason
        }
        e => panic!("expected RevocationUnknown, got {e:?}"),
    }
}

/// `openssl ocsp` as an HTTP responder on a free 127.0.0.1 port, killed on drop (also used by
/// the seal tests).
pub(crate) struct Responder {
    child: Child,
    port: u16,
}

impl Responder {
    pub(crate) fn start(port: u16, rsigner: &str, rkey: &str) -> Responder {
        let mut child = Command::new("openssl")
            .args(["ocsp", "-index"])
            .arg(p("cadb/index.txt"))
            .arg("-port")
            .arg(port.to_string())
            .arg("-rsigner")
            .arg(p(rsigner))
            .arg("-rkey")
            .arg(p(rkey))
            .arg("-CA")
            .arg(p("ca.pem"))
            .args(["-ndays", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Ready when it says so (a probe connection would stall openssl 3.0's responder,
        // which serves one connection at a time).
        let mut err = std::io::BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        loop {
            line.clear();
            let n = std::io::BufRead::read_line(&mut err, &mut line).unwrap();
            assert!(n > 0, "openssl ocsp did not start on port {port}");
            if line.contains("waiting for OCSP client connections") {
                break;
            }
        }
        // Keep draining its log.
        std::thread::spawn(move || std::io::copy(&mut err, &mut std::io::sink()));
        Responder { child, port }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }
}

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Answers OCSP requests with `openssl ocsp -reqin -respout` (no network), signed by
/// `rsigner`, optionally replaying a fixed answer instead.
#[derive(Debug)]
struct OfflineResponder {
    rsigner: &'static str,
    rkey: &'static str,
    extra: Vec<&'static str>,
    replay: Option<Vec<u8>>,
    tamper: bool,
}

impl OfflineResponder {
    fn new(rsigner: &'static str, rkey: &'static str) -> Self {
        OfflineResponder {
            rsigner,
            rkey,
            extra: vec!["-ndays", "1"],
            replay: None,
            tamper: false,
        }
    }
}

fn answer_offline(req: &[u8], rsigner: &str, rkey: &str, extra: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (rq, rs) = (dir.path().join("req.der"), dir.path().join("resp.der"));
    std::fs::write(&rq, req).unwrap();
    let st = Command::new("openssl")
        .args(["ocsp", "-index"])
        .arg(p("cadb/index.txt"))
        .arg("-rsigner")
        .arg(p(rsigner))
        .arg("-rkey")
        .arg(p(rkey))
        .arg("-CA")
        .arg(p("ca.pem"))
        .args(extra)
        .arg("-reqin")
        .arg(&rq)
        .arg("-respout")
        .arg(&rs)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    std::fs::read(rs).unwrap()
}

/// An OCSP request made by `openssl ocsp -reqout` for `cert`.
fn openssl_request(cert: &str, nonce: bool) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let rq = dir.path().join("req.der");
    let mut c = Command::new("openssl");
    c.args(["ocsp", "-issuer"])
        .arg(p("ca.pem"))
        .arg("-cert")
        .arg(p(cert))
        .arg("-reqout")
        .arg(&rq);
    if !nonce {
        c.arg("-no_nonce");
    }
    assert!(c.output().unwrap().status.success());
    std::fs::read(rq).unwrap()
}

impl RevocationFetcher for OfflineResponder {
    fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        Err(format!("{url}: no CRL here"))
    }

    fn post(&self, _url: &str, ct: &str, body: &[u8]) -> Result<Vec<u8>, String> {
        assert_eq!(ct, "application/ocsp-request");
        if let Some(r) = &self.replay {
            return Ok(r.clone());
        }
        let mut r = answer_offline(body, self.rsigner, self.rkey, &self.extra);
        if self.tamper {
            // Flip a bit of the echoed nonce (signed data).
            let nonce = &body[body.len() - 16..];
            let at = r.windows(16).position(|w| w == nonce).unwrap();
            r[at] ^= 1;
        }
        Ok(r)
    }
}

fn ocsp_with(f: OfflineResponder) -> RevocationOptions {
    RevocationOptions {
        ocsp: true,
        ocsp_url: Some("http://ocsp.invalid/".into()),
        fetcher: Arc::new(f),
        ..RevocationOptions::default()
    }
}

// ------------------------------------------------------------------------------------ CRLs

#[test]
fn crl_file_decides_good_and_revoked_with_reason() {
    if pki().is_none() {
        return;
    }
    let v = verifier(with_crls(&["crl.der"]))
        .verify(&rd("good.p7m"))
        .unwrap();
    let s = &v.layers[0][0];
    assert_eq!(s.revocation.len(), 1, "the anchor itself is not checked");
    assert_eq!(s.revocation[0].status, RevocationStatus::Good);
    assert_eq!(s.revocation[0].source, Some(RevocationSource::GivenCrl(0)));
    assert!(s.revocation[0].subject.contains("Mario Rossi"));
    // PEM CRLs too.
    let v = verifier(with_crls(&["crl.pem"]))
        .verify(&rd("good.p7m"))
        .unwrap();
    assert_eq!(v.layers[0][0].revocation[0].status, RevocationStatus::Good);

    match verifier(with_crls(&["crl.der"])).verify(&rd("revoked.p7m")) {
        Err(P7mError::Revoked {
            subject,
            serial,
            reason,
            time,
            ..
        }) => {
            assert!(subject.contains("Anna Bianchi"), "{subject}");
            assert_eq!(serial, "1001");
            assert_eq!(reason.as_deref(), Some("keyCompromise"));
            assert!(time <= Utc::now());
        }
        other => panic!("expected Revoked, got {other:?}"),
    }
    // openssl agrees: the CRL check of `openssl verify -crl_check`.
    for (cert, ok) in [("good.pem", true), ("revoked.pem", false)] {
        let out = Command::new("openssl")
            .args(["verify", "-crl_check", "-CAfile"])
            .arg(p("ca.pem"))
            .arg("-CRLfile")
            .arg(p("crl.pem"))
            .arg(p(cert))
            .output()
            .unwrap();
        assert_eq!(out.status.success(), ok, "openssl verify {cert}");
    }
}

#[test]
fn no_information_fails_closed_and_soft_fail_reports_unknown() {
    if pki().is_none() {
        return;
    }
    let e = verifier(RevocationOptions::default())
        .verify(&rd("good.p7m"))
        .unwrap_err();
    let why = unknown_reason(e, "Mario Rossi");
    assert!(why.contains("no revocation information"), "{why}");
    let v = verifier(RevocationOptions {
        soft_fail: true,
        ..RevocationOptions::default()
    })
    .verify(&rd("good.p7m"))
    .unwrap();
    let r = &v.layers[0][0].revocation[0];
    assert_eq!(r.status, RevocationStatus::Unknown);
    assert_eq!(r.source, None);
    // Soft-fail never hides a revocation.
    let e = verifier(RevocationOptions {
        soft_fail: true,
        ..with_crls(&["crl.der"])
    })
    .verify(&rd("revoked.p7m"))
    .unwrap_err();
    assert!(matches!(e, P7mError::Revoked { .. }), "{e:?}");
}

#[test]
fn crl_attacks_are_refused() {
    if pki().is_none() {
        return;
    }
    // Same issuer name, another key: the signature does not verify.
    let why = unknown_reason(
        verifier(with_crls(&["fake-crl.der"]))
            .verify(&rd("revoked.p7m"))
            .unwrap_err(),
        "Anna Bianchi",
    );
    assert!(why.contains("CRL signature"), "{why}");
    // Another CA's CRL says nothing about this certificate.
    let why = unknown_reason(
        verifier(with_crls(&["other-crl.der"]))
            .verify(&rd("revoked.p7m"))
            .unwrap_err(),
        "Anna Bianchi",
    );
    assert!(why.contains("no revocation information"), "{why}");
    // Tampered: the revoked serial 0x1001 rewritten as 0x1002.
    let mut crl = rd("crl.der");
    let at = crl
        .windows(4)
        .position(|w| w == [0x02, 0x02, 0x10, 0x01])
        .unwrap();
    crl[at + 3] = 0x02;
    let why = unknown_reason(
        verifier(RevocationOptions {
            crls: vec![crl],
            ..RevocationOptions::default()
        })
        .verify(&rd("revoked.p7m"))
        .unwrap_err(),
        "Anna Bianchi",
    );
    assert!(why.contains("signature does not verify"), "{why}");
    // Stale: nextUpdate (7 days) before the time judged.
    let why = unknown_reason(
        verifier(with_crls(&["crl.der"]))
            .at(Utc::now() + chrono::Duration::days(8))
            .verify(&rd("good.p7m"))
            .unwrap_err(),
        "Mario Rossi",
    );
    assert!(why.contains("stale"), "{why}");
    // Garbage is a typed error, not a panic.
    let why = unknown_reason(
        verifier(RevocationOptions {
            crls: vec![vec![0x30, 0x03, 0x02, 0x01]],
            ..RevocationOptions::default()
        })
        .verify(&rd("good.p7m"))
        .unwrap_err(),
        "Mario Rossi",
    );
    assert!(why.contains("given CRL #1"), "{why}");
}

// ------------------------------------------------------------------------------------ OCSP

fn openssl_ocsp_verdict(cert: &str, url: &str) -> String {
    let out = Command::new("openssl")
        .args(["ocsp", "-issuer"])
        .arg(p("ca.pem"))
        .arg("-cert")
        .arg(p(cert))
        .arg("-url")
        .arg(url)
        .arg("-CAfile")
        .arg(p("ca.pem"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Response verify OK"),
        "{text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{}: ", p(cert).display())))
        .unwrap()
        .trim()
        .to_owned()
}

#[test]
fn ocsp_responder_on_localhost_agrees_with_openssl() {
    if pki().is_none() {
        return;
    }
    let r = Responder::start(free_port(), "responder.pem", "responder.key");
    for hash in [OcspHash::Sha1, OcspHash::Sha256] {
        let o = RevocationOptions {
            ocsp: true,
            ocsp_url: Some(r.url()),
            ocsp_hash: hash,
            ..RevocationOptions::default()
        };
        let v = verifier(o.clone()).verify(&rd("good.p7m")).unwrap();
        let rv = &v.layers[0][0].revocation[0];
        assert_eq!(rv.status, RevocationStatus::Good);
        assert_eq!(rv.source, Some(RevocationSource::Ocsp(r.url())));
        match verifier(o).verify(&rd("revoked.p7m")) {
            Err(P7mError::Revoked {
                reason, decided_by, ..
            }) => {
                assert_eq!(reason.as_deref(), Some("keyCompromise"));
                assert!(decided_by.contains("OCSP"), "{decided_by}");
            }
            other => panic!("expected Revoked, got {other:?}"),
        }
    }
    assert_eq!(openssl_ocsp_verdict("good.pem", &r.url()), "good");
    assert_eq!(openssl_ocsp_verdict("revoked.pem", &r.url()), "revoked");
    // Signed by the CA itself also authorised.
    let ca = Responder::start(free_port(), "ca.pem", "ca.key");
    let v = verifier(RevocationOptions {
        ocsp: true,
        ocsp_url: Some(ca.url()),
        ..RevocationOptions::default()
    })
    .verify(&rd("good.p7m"))
    .unwrap();
    assert_eq!(v.layers[0][0].revocation[0].status, RevocationStatus::Good);
}

/// A one-file HTTP server (CRL distribution point) on 127.0.0.1.
fn serve_once(port: u16, body: Vec<u8>) -> std::thread::JoinHandle<String> {
    let l = TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        let mut req = vec![0u8; 4096];
        let n = s.read(&mut req).unwrap();
        let head = String::from_utf8_lossy(&req[..n]).into_owned();
        let _ = write!(
            s,
            "HTTP/1.0 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let _ = s.write_all(&body);
        head
    })
}

#[test]
fn urls_from_the_certificate_aia_and_crl_distribution_point() {
    let Some(pki) = pki() else {
        return;
    };
    let good = load_certificates(&rd("good.pem")).unwrap().remove(0);
    assert_eq!(
        ocsp_urls(&good),
        vec![format!("http://127.0.0.1:{}/", pki.ocsp_port)]
    );
    let crl_url = format!("http://127.0.0.1:{}/ca.crl", pki.crl_port);
    assert_eq!(crl_urls(&good), vec![crl_url.clone()]);
    {
        let _r = Responder::start(pki.ocsp_port, "responder.pem", "responder.key");
        let v = verifier(RevocationOptions {
            ocsp: true,
            ..RevocationOptions::default()
        })
        .verify(&rd("good.p7m"))
        .unwrap();
        assert_eq!(
            v.layers[0][0].revocation[0].source,
            Some(RevocationSource::Ocsp(ocsp_urls(&good).remove(0)))
        );
    }
    let server = serve_once(pki.crl_port, rd("crl.der"));
    let e = verifier(RevocationOptions {
        fetch_crls: true,
        ..RevocationOptions::default()
    })
    .verify(&rd("revoked.p7m"))
    .unwrap_err();
    match e {
        P7mError::Revoked { decided_by, .. } => assert!(decided_by.contains(&crl_url)),
        e => panic!("{e:?}"),
    }
    assert!(server.join().unwrap().starts_with("GET /ca.crl HTTP/1.0"));
    // Nobody listening: unreachable, fail closed naming the URL.
    let why = unknown_reason(
        verifier(RevocationOptions {
            ocsp: true,
            ocsp_url: Some(format!("http://127.0.0.1:{}/", free_port())),
            ..RevocationOptions::default()
        })
        .verify(&rd("good.p7m"))
        .unwrap_err(),
        "Mario Rossi",
    );
    assert!(why.contains("OCSP http://127.0.0.1:"), "{why}");
    // Size limit.
    let port = free_port();
    let server = serve_once(port, vec![0x30; 5000]);
    let f = HttpFetcher {
        timeout: Duration::from_secs(5),
        max_bytes: 1000,
    };
    let e = f.get(&format!("http://127.0.0.1:{port}/big")).unwrap_err();
    assert!(e.contains("larger than 1000"), "{e}");
    let _ = server.join();
    assert!(
        f.get("https://127.0.0.1/x")
            .unwrap_err()
            .contains("only http://")
    );
}

#[test]
fn ocsp_attacks_are_refused() {
    if pki().is_none() {
        return;
    }
    let check = |f: OfflineResponder, file: &str, subject: &str, expect: &str| {
        let why = unknown_reason(
            verifier(ocsp_with(f)).verify(&rd(file)).unwrap_err(),
            subject,
        );
        assert!(why.contains(expect), "{expect}: {why}");
    };
    // The offline responder itself is fine.
    let v = verifier(ocsp_with(OfflineResponder::new(
        "responder.pem",
        "responder.key",
    )))
    .verify(&rd("good.p7m"))
    .unwrap();
    assert_eq!(v.layers[0][0].revocation[0].status, RevocationStatus::Good);
    // A certificate of the CA without id-kp-OCSPSigning.
    check(
        OfflineResponder::new("noeku.pem", "noeku.key"),
        "revoked.p7m",
        "Anna Bianchi",
        "no id-kp-OCSPSigning",
    );
    // Another CA's key.
    check(
        OfflineResponder::new("other-ca.pem", "other-ca.key"),
        "revoked.p7m",
        "Anna Bianchi",
        "is not issued by",
    );
    // Same name as the CA, another key.
    check(
        OfflineResponder::new("fake-ca.pem", "fake-ca.key"),
        "revoked.p7m",
        "Anna Bianchi",
        "signature",
    );
    // A replayed answer to another request (its own nonce).
    let mut replay = OfflineResponder::new("responder.pem", "responder.key");
    replay.replay = Some(answer_offline(
        &openssl_request("good.pem", true),
        "responder.pem",
        "responder.key",
        &["-ndays", "1"],
    ));
    check(replay, "good.p7m", "Mario Rossi", "nonce differs");
    // An answer without nonce.
    let mut replay = OfflineResponder::new("responder.pem", "responder.key");
    replay.replay = Some(answer_offline(
        &openssl_request("good.pem", false),
        "responder.pem",
        "responder.key",
        &["-ndays", "1"],
    ));
    check(replay, "good.p7m", "Mario Rossi", "nonce is not echoed");
    // An answer about another certificate.
    let mut replay = OfflineResponder::new("responder.pem", "responder.key");
    replay.replay = Some(answer_offline(
        &openssl_request("good.pem", true),
        "responder.pem",
        "responder.key",
        &["-ndays", "1"],
    ));
    check(
        replay,
        "revoked.p7m",
        "Anna Bianchi",
        "no response for this certificate",
    );
    // Tampered.
    let mut t = OfflineResponder::new("responder.pem", "responder.key");
    t.tamper = true;
    check(
        t,
        "revoked.p7m",
        "Anna Bianchi",
        "signature does not verify",
    );
    // Stale: nextUpdate in a day, judged in three.
    let why = unknown_reason(
        verifier(ocsp_with(OfflineResponder::new(
            "responder.pem",
            "responder.key",
        )))
        .at(Utc::now() + chrono::Duration::days(3))
        .verify(&rd("good.p7m"))
        .unwrap_err(),
        "Mario Rossi",
    );
    assert!(why.contains("stale"), "{why}");
    // Without nextUpdate, older than max_age.
    let mut f = OfflineResponder::new("responder.pem", "responder.key");
    f.extra = vec![];
    let why = unknown_reason(
        verifier(RevocationOptions {
            max_age: chrono::Duration::hours(1),
            ..ocsp_with(f)
        })
        .at(Utc::now() + chrono::Duration::hours(2))
        .verify(&rd("good.p7m"))
        .unwrap_err(),
        "Mario Rossi",
    );
    assert!(why.contains("without nextUpdate"), "{why}");
    // Garbage.
    let mut g = OfflineResponder::new("responder.pem", "responder.key");
    g.replay = Some(b"<html>proxy error</html>".to_vec());
    check(g, "good.p7m", "Mario Rossi", "OCSP http://ocsp.invalid/");
}

// ------------------------------------------------------------------------- embedded values

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// (tag, content, whole) of the element at `pos`.
fn element(b: &[u8], pos: usize) -> (u8, &[u8], usize) {
    let l = b[pos + 1];
    let (len, hdr) = if l < 0x80 {
        (usize::from(l), 2)
    } else {
        let n = usize::from(l & 0x7f);
        let mut v = 0usize;
        for i in 0..n {
            v = (v << 8) | usize::from(b[pos + 2 + i]);
        }
        (v, 2 + n)
    };
    (b[pos], &b[pos + hdr..pos + hdr + len], hdr + len)
}

fn kids(content: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < content.len() {
        let (_, _, n) = element(content, pos);
        out.push(content[pos..pos + n].to_vec());
        pos += n;
    }
    out
}

/// The .p7m with `crls [1]` holding `items` (RevocationInfoChoice encodings).
fn with_embedded(p7m: &[u8], items: &[Vec<u8>]) -> Vec<u8> {
    let (_, ci, _) = element(p7m, 0);
    let ci = kids(ci);
    let (_, explicit, _) = element(&ci[1], 0);
    let (_, sd, _) = element(explicit, 0);
    let mut sd = kids(sd);
    let last = sd.pop().unwrap();
    sd.push(tlv(0xa1, &items.concat()));
    sd.push(last);
    let sd = tlv(0x30, &sd.concat());
    tlv(0x30, &[ci[0].clone(), tlv(0xa0, &sd)].concat())
}

fn embedded_ocsp(cert: &str) -> Vec<u8> {
    let resp = answer_offline(
        &openssl_request(cert, false),
        "responder.pem",
        "responder.key",
        &["-ndays", "1"],
    );
    // [1] OtherRevocationInfoFormat { id-ri-ocsp-response, OCSPResponse }
    let oid = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x10, 0x02];
    tlv(0xa1, &[oid.to_vec(), resp].concat())
}

#[test]
fn embedded_values_are_used_first() {
    if pki().is_none() {
        return;
    }
    // An embedded CRL decides before the (failing) online OCSP is asked.
    let failing = RevocationOptions {
        ocsp: true,
        ocsp_url: Some(format!("http://127.0.0.1:{}/", free_port())),
        ..RevocationOptions::default()
    };
    let good = with_embedded(&rd("good.p7m"), &[rd("crl.der")]);
    let v = verifier(failing.clone()).verify(&good).unwrap();
    let r = &v.layers[0][0].revocation[0];
    assert_eq!(r.source, Some(RevocationSource::EmbeddedCrl));
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    let revoked = with_embedded(&rd("revoked.p7m"), &[rd("crl.der")]);
    let e = verifier(failing.clone()).verify(&revoked).unwrap_err();
    assert!(
        matches!(&e, P7mError::Revoked { decided_by, .. } if decided_by == "embedded CRL"),
        "{e:?}"
    );
    // An embedded OCSP response (CAdES-LT), before the embedded CRL.
    let good = with_embedded(&rd("good.p7m"), &[embedded_ocsp("good.pem"), rd("crl.der")]);
    let v = verifier(failing.clone()).verify(&good).unwrap();
    assert_eq!(
        v.layers[0][0].revocation[0].source,
        Some(RevocationSource::EmbeddedOcsp)
    );
    let revoked = with_embedded(&rd("revoked.p7m"), &[embedded_ocsp("revoked.pem")]);
    let e = verifier(failing.clone()).verify(&revoked).unwrap_err();
    assert!(
        matches!(&e, P7mError::Revoked { decided_by, .. } if decided_by == "embedded OCSP response"),
        "{e:?}"
    );
    // Not used when told so: then the unreachable responder leaves it unknown.
    let why = unknown_reason(
        verifier(RevocationOptions {
            use_embedded: false,
            ..failing.clone()
        })
        .verify(&good)
        .unwrap_err(),
        "Mario Rossi",
    );
    assert!(why.contains("OCSP"), "{why}");
    // A forged embedded CRL (fake CA) does not decide.
    let forged = with_embedded(&rd("revoked.p7m"), &[rd("fake-crl.der")]);
    let why = unknown_reason(
        verifier(failing).verify(&forged).unwrap_err(),
        "Anna Bianchi",
    );
    assert!(why.contains("embedded CRL: CRL signature"), "{why}");
}
