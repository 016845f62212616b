//! OCSP revocation of card certificates against `openssl ocsp` running as a responder on
//! 127.0.0.1, with the CA, the cards and the responder certificates made by `openssl` at test
//! time. Runs when `openssl` is installed; with the `CI` variable set, a missing `openssl` fails
//! the test.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Utc;
use cie::cns::{
    CardVerifier, CrlChecker, Error, FirstDecisive, IssuerList, OcspChecker, RevocationChecker,
    RevocationError, RevocationQuery, RevocationReason, RevocationStatus, VerifyError,
};

const CF: &str = "RSSMRA80A01H501U";
const GOOD: &str = "1001";
const REVOKED: &str = "1002";
const UNKNOWN: &str = "1003";

fn openssl_available() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var_os("CI").is_some() {
        panic!("openssl is required in CI for the OCSP tests");
    }
    if !ok {
        eprintln!("openssl not installed: OCSP test skipped");
    }
    ok
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A port nothing listens on (bound, then released).
fn unused_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn der_of(dir: &Path, pem: &str) -> Vec<u8> {
    let der = format!("{pem}.der");
    openssl(dir, &["x509", "-in", pem, "-outform", "DER", "-out", &der]);
    std::fs::read(dir.join(der)).unwrap()
}

/// The openssl-made PKI: a CA, cards 1001 (good), 1002 (revoked, keyCompromise) and 1003
/// (not in the responder's index), whose AIA names `http://127.0.0.1:<port>/`; an OCSP
/// responder certificate with `id-kp-OCSPSigning` and one without.
struct Pki {
    dir: tempfile::TempDir,
    port: u16,
    ca_pem: String,
    ca_der: Vec<u8>,
}

impl Pki {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let port = unused_port();
        openssl(
            d,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "3650",
                "-subj",
                "/C=IT/O=Regione Test/CN=Regione Test CA OCSP",
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
        let card_ext = format!(
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n\
             certificatePolicies=1.3.76.16.2.1\n\
             authorityInfoAccess=OCSP;URI:http://127.0.0.1:{port}/\n"
        );
        std::fs::write(d.join("card.ext"), card_ext).unwrap();
        for serial in [GOOD, REVOKED, UNKNOWN] {
            Self::issue(
                d,
                &format!("card{serial}"),
                &format!("/C=IT/O=Regione Test/serialNumber=TINIT-{CF}/CN=MARIO ROSSI {serial}"),
                serial,
                "card.ext",
            );
        }
        std::fs::write(
            d.join("responder.ext"),
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=OCSPSigning\n",
        )
        .unwrap();
        Self::issue(
            d,
            "responder",
            "/C=IT/CN=OCSP responder",
            "2001",
            "responder.ext",
        );
        std::fs::write(
            d.join("rogue.ext"),
            "keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
        )
        .unwrap();
        Self::issue(d, "rogue", "/C=IT/CN=Not a responder", "2002", "rogue.ext");
        // The responder's database (the `openssl ca` index format): 1003 is absent.
        let index = format!(
            "V\t361231235959Z\t\t{GOOD}\tunknown\t/CN=card {GOOD}\n\
             R\t361231235959Z\t260101120000Z,keyCompromise\t{REVOKED}\tunknown\t/CN=card {REVOKED}\n"
        );
        std::fs::write(d.join("index.txt"), index).unwrap();
        let ca_pem = std::fs::read_to_string(d.join("ca.pem")).unwrap();
        let ca_der = der_of(d, "ca.pem");
        Pki {
            dir,
            port,
            ca_pem,
            ca_der,
        }
    }

    fn issue(d: &Path, name: &str, subject: &str, serial: &str, ext: &str) {
        let (key, csr, pem) = (
            format!("{name}.key"),
            format!("{name}.csr"),
            format!("{name}.pem"),
        );
        openssl(
            d,
            &[
                "req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr,
                "-subj", subject,
            ],
        );
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                &format!("0x{serial}"),
                "-days",
                "365",
                "-extfile",
                ext,
                "-out",
                &pem,
            ],
        );
    }

    /// The CA's CRL (`openssl ca -gencrl` over the same index: 1002 revoked).
    fn crl_pem(&self) -> Vec<u8> {
        let d = self.dir.path();
        std::fs::write(
            d.join("ca.cnf"),
            "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\ncrlnumber = crlnumber\n\
             default_md = sha256\ndefault_crl_days = 1\n",
        )
        .unwrap();
        std::fs::write(d.join("crlnumber"), "01\n").unwrap();
        openssl(
            d,
            &[
                "ca", "-gencrl", "-config", "ca.cnf", "-keyfile", "ca.key", "-cert", "ca.pem",
                "-out", "crl.pem",
            ],
        );
        std::fs::read(d.join("crl.pem")).unwrap()
    }

    fn card(&self, serial: &str) -> Vec<u8> {
        der_of(self.dir.path(), &format!("card{serial}.pem"))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `openssl ocsp` answering on `port`, signing with `signer` (`responder` or `rogue`).
    fn responder(&self, port: u16, signer: &str) -> Responder {
        let mut child = Command::new("openssl")
            .arg("ocsp")
            .arg("-index")
            .arg(self.path("index.txt"))
            .args(["-port", &port.to_string()])
            .arg("-CA")
            .arg(self.path("ca.pem"))
            .arg("-rsigner")
            .arg(self.path(&format!("{signer}.pem")))
            .arg("-rkey")
            .arg(self.path(&format!("{signer}.key")))
            .args(["-ndays", "1"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Readiness from openssl's own message: it serves one connection at a time, and a
        // probe connection would hold it up.
        let stderr = child.stderr.take().unwrap();
        let responder = Responder(child);
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut ready = Some(ready_tx);
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line.contains("waiting for OCSP client connections")
                    && let Some(tx) = ready.take()
                {
                    let _ = tx.send(());
                }
            }
        });
        ready_rx
            .recv_timeout(Duration::from_secs(15))
            .expect("openssl ocsp did not start");
        responder
    }

    fn query<'a>(&'a self, card: &'a [u8]) -> RevocationQuery<'a> {
        RevocationQuery::new(card, &self.ca_der, Utc::now())
    }
}

/// Kills the responder when the test ends.
struct Responder(Child);

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn good_revoked_unknown_from_the_aia_responder() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::new();
    let _r = pki.responder(pki.port, "responder");
    let checker = OcspChecker::new();

    let good = pki.card(GOOD);
    assert_eq!(
        checker.check(pki.query(&good)).await.unwrap(),
        RevocationStatus::Good
    );

    let revoked = pki.card(REVOKED);
    match checker.check(pki.query(&revoked)).await {
        Ok(RevocationStatus::Revoked { revoked_at, reason }) => {
            assert_eq!(reason, Some(RevocationReason::KeyCompromise));
            assert_eq!(revoked_at.to_rfc3339(), "2026-01-01T12:00:00+00:00");
        }
        other => panic!("{other:?}"),
    }

    let unknown = pki.card(UNKNOWN);
    match checker.check(pki.query(&unknown)).await {
        Err(RevocationError::OcspUnknown { serial }) => assert_eq!(serial, "1003"),
        other => panic!("{other:?}"),
    }
    // Soft-fail accepts `unknown`, never `revoked`.
    let soft = OcspChecker::new().soft_fail();
    assert_eq!(
        soft.check(pki.query(&unknown)).await.unwrap(),
        RevocationStatus::Good
    );
    assert!(matches!(
        soft.check(pki.query(&revoked)).await,
        Ok(RevocationStatus::Revoked { .. })
    ));
    // The same answers with a SHA-256 CertID and a configured responder URL.
    let configured = OcspChecker::new()
        .with_sha256_cert_id()
        .with_responder_url(format!("http://127.0.0.1:{}/", pki.port));
    assert_eq!(
        configured.check(pki.query(&good)).await.unwrap(),
        RevocationStatus::Good
    );
    assert!(matches!(
        configured.check(pki.query(&revoked)).await,
        Ok(RevocationStatus::Revoked { .. })
    ));
}

#[tokio::test]
async fn responder_down_is_refused_unless_soft_fail() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::new();
    let good = pki.card(GOOD);
    // Nothing listens on the AIA port.
    let checker = OcspChecker::new().with_timeout(Duration::from_secs(3));
    match checker.check(pki.query(&good)).await {
        Err(RevocationError::Unavailable { reason }) => {
            assert!(reason.contains(&pki.port.to_string()), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        OcspChecker::new()
            .soft_fail()
            .check(pki.query(&good))
            .await
            .unwrap(),
        RevocationStatus::Good
    );
}

#[tokio::test]
async fn response_signed_by_an_unauthorised_responder_is_refused() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::new();
    let port = unused_port();
    // Issued by the card's CA, but without id-kp-OCSPSigning.
    let _r = pki.responder(port, "rogue");
    let url = format!("http://127.0.0.1:{port}/");
    let good = pki.card(GOOD);
    for checker in [
        OcspChecker::new().with_responder_url(&url),
        OcspChecker::new().with_responder_url(&url).soft_fail(),
    ] {
        match checker.check(pki.query(&good)).await {
            Err(RevocationError::OcspInvalid { url: u, reason }) => {
                assert_eq!(u, url);
                assert!(reason.contains("not authorised"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn card_verifier_with_ocsp_then_fallback() {
    if !openssl_available() {
        return;
    }
    let pki = Pki::new();
    let _r = pki.responder(pki.port, "responder");
    let issuers = IssuerList::from_pem(pki.ca_pem.as_bytes()).unwrap();

    let verifier = CardVerifier::new(issuers.clone(), OcspChecker::new());
    let card = verifier.verify(&pki.card(GOOD), &[]).await.unwrap();
    assert_eq!(card.fiscal_code.as_str(), CF);
    match verifier.verify(&pki.card(REVOKED), &[]).await {
        Err(Error::Verify(VerifyError::Revoked { serial, reason, .. })) => {
            assert_eq!(serial, "1002");
            assert_eq!(reason, Some(RevocationReason::KeyCompromise));
        }
        other => panic!("{other:?}"),
    }
    match verifier.verify(&pki.card(UNKNOWN), &[]).await {
        Err(Error::Revocation(RevocationError::OcspUnknown { .. })) => {}
        other => panic!("{other:?}"),
    }

    // A dead responder first, then the live one: the second decides.
    let dead = format!("http://127.0.0.1:{}/", unused_port());
    let chain =
        FirstDecisive::new(OcspChecker::new().with_responder_url(&dead)).then(OcspChecker::new());
    let verifier = CardVerifier::new(issuers.clone(), chain);
    assert!(verifier.verify(&pki.card(GOOD), &[]).await.is_ok());
    assert!(matches!(
        verifier.verify(&pki.card(REVOKED), &[]).await,
        Err(Error::Verify(VerifyError::Revoked { .. }))
    ));
    // OCSP down, then the CA's CRL decides.
    let crl = CrlChecker::from_pem(&pki.crl_pem()).unwrap();
    let verifier = CardVerifier::new(
        issuers.clone(),
        FirstDecisive::new(OcspChecker::new().with_responder_url(&dead)).then(crl),
    );
    assert!(verifier.verify(&pki.card(GOOD), &[]).await.is_ok());
    match verifier.verify(&pki.card(REVOKED), &[]).await {
        Err(Error::Verify(VerifyError::Revoked { reason, .. })) => {
            assert_eq!(reason, Some(RevocationReason::KeyCompromise));
        }
        other => panic!("{other:?}"),
    }
    // When none decides, every failure is reported and the card refused.
    let none =
        FirstDecisive::new(OcspChecker::new().with_responder_url(&dead)).then(OcspChecker::new());
    match CardVerifier::new(issuers, none)
        .verify(&pki.card(UNKNOWN), &[])
        .await
    {
        Err(Error::Revocation(RevocationError::NoSourceDecided(errors))) => {
            assert!(matches!(
                errors.as_slice(),
                [
                    RevocationError::Unavailable { .. },
                    RevocationError::OcspUnknown { .. }
                ]
            ));
        }
        other => panic!("{other:?}"),
    }
}
