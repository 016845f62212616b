//! RFC 3161 time-stamps (issue 18, item 4): tokens made by `openssl ts -reply` at test time
//! (TSA from `tests/fixtures/p7m/make-tsa.sh`), verdicts cross-checked with
//! `openssl ts -verify`; CAdES-T attributes, `.tsd` and `.m7m` files built around them.

use std::path::PathBuf;
use std::process::Command;

use protocollo::*;

use crate::revocation::{p, pki, rd, with_crls};

fn tsa_dir() -> PathBuf {
    p("tsa")
}

pub(crate) fn tsa() -> TimeStampVerifier {
    TimeStampVerifier::new(load_certificates(&rd("tsa/tsa-ca.pem")).unwrap())
}

/// `openssl ts -query` then `-reply` over `data` by the TSA `section`: (`.tsr`, token). Also
/// used by the seal tests (XAdES-T).
pub(crate) fn stamp(data: &[u8], section: &str) -> (Vec<u8>, Vec<u8>) {
    // `openssl ts -reply` reads and rewrites the TSA's `serial` file: one at a time.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one_at_a_time = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = tempfile::tempdir().unwrap();
    let (f, q, r, t) = (
        dir.path().join("data"),
        dir.path().join("q.tsq"),
        dir.path().join("r.tsr"),
        dir.path().join("t.der"),
    );
    std::fs::write(&f, data).unwrap();
    let ok = |c: &mut Command| {
        let o = c.output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    };
    ok(Command::new("openssl")
        .args(["ts", "-query", "-sha256", "-cert", "-data"])
        .arg(&f)
        .arg("-out")
        .arg(&q));
    for (out, token) in [(&r, false), (&t, true)] {
        let mut c = Command::new("openssl");
        c.current_dir(tsa_dir())
            .args([
                "ts",
                "-reply",
                "-config",
                "tsa.cnf",
                "-section",
                section,
                "-queryfile",
            ])
            .arg(&q)
            .arg("-out")
            .arg(out);
        if token {
            c.arg("-token_out");
        }
        ok(&mut c);
    }
    (std::fs::read(r).unwrap(), std::fs::read(t).unwrap())
}

/// `openssl ts -verify -data` with the TSA root as the only trust.
pub(crate) fn openssl_verifies(data: &[u8], tsr: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let (f, r) = (dir.path().join("data"), dir.path().join("r.tsr"));
    std::fs::write(&f, data).unwrap();
    std::fs::write(&r, tsr).unwrap();
    let mut c = Command::new("openssl");
    c.args(["ts", "-verify", "-data"])
        .arg(&f)
        .arg("-in")
        .arg(&r)
        .arg("-CAfile")
        .arg(tsa_dir().join("tsa-ca.pem"));
    c.output().unwrap().status.success()
}

/// `openssl ts -verify -token_in`.
fn openssl_verifies_token(data: &[u8], token: &[u8]) -> bool {
    let dir = tempfile::tempdir().unwrap();
    let (f, r) = (dir.path().join("data"), dir.path().join("t.der"));
    std::fs::write(&f, data).unwrap();
    std::fs::write(&r, token).unwrap();
    Command::new("openssl")
        .args(["ts", "-verify", "-token_in", "-data"])
        .arg(&f)
        .arg("-in")
        .arg(&r)
        .arg("-CAfile")
        .arg(tsa_dir().join("tsa-ca.pem"))
        .output()
        .unwrap()
        .status
        .success()
}

/// The TSTInfo of `token` signed again with `openssl cms -sign -econtent_type id-ct-TSTInfo`
/// by the certificate `name` of the TSA directory.
fn resign_tst_info(token: &[u8], name: &str) -> Vec<u8> {
    let (_, ci, _) = element(token, 0);
    let ci = kids(ci);
    let (_, explicit, _) = element(&ci[1], 0);
    let (_, sd, _) = element(explicit, 0);
    let eci = kids(sd).remove(2);
    let (_, eci, _) = element(&eci, 0);
    let econtent = kids(eci).remove(1);
    let (_, os, _) = element(&econtent, 0);
    let (_, tst_info, _) = element(os, 0);
    let dir = tempfile::tempdir().unwrap();
    let (i, o) = (dir.path().join("tst.der"), dir.path().join("token.der"));
    std::fs::write(&i, tst_info).unwrap();
    let out = Command::new("openssl")
        .current_dir(tsa_dir())
        .args([
            "cms",
            "-sign",
            "-binary",
            "-nodetach",
            "-cades",
            "-md",
            "sha256",
        ])
        .args([
            "-econtent_type",
            "1.2.840.113549.1.9.16.1.4",
            "-outform",
            "DER",
        ])
        .arg("-signer")
        .arg(format!("{name}.pem"))
        .arg("-inkey")
        .arg(format!("{name}.key"))
        .arg("-in")
        .arg(&i)
        .arg("-out")
        .arg(&o)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(o).unwrap()
}

const DATA: &[u8] = b"Documento da marcare temporalmente.\n";

#[test]
fn token_over_data_agrees_with_openssl() {
    if pki().is_none() {
        return;
    }
    let (tsr, token) = stamp(DATA, "tsa_main");
    let before = chrono::Utc::now() - chrono::Duration::minutes(5);
    for t in [&tsr, &token] {
        let v = tsa().verify(t, DATA).unwrap();
        assert!(v.gen_time > before && v.gen_time <= chrono::Utc::now());
        assert_eq!(v.policy.to_string(), "1.3.6.1.4.1.99999.1");
        assert!(
            v.tsa.subject.contains("Test Time Stamping Unit"),
            "{}",
            v.tsa.subject
        );
    }
    assert!(openssl_verifies(DATA, &tsr));
    // Over other data: both refuse.
    let other = b"Un altro documento.\n";
    assert_eq!(
        tsa().verify(&tsr, other).unwrap_err(),
        P7mError::TimeStampImprint
    );
    assert!(!openssl_verifies(other, &tsr));
}

#[test]
fn tsa_attacks_are_refused_as_openssl_does() {
    if pki().is_none() {
        return;
    }
    // A certificate of the trusted root without the timeStamping extended key usage
    // (`openssl ts -reply` refuses to sign with it, `openssl cms` signs the same TSTInfo).
    let (_, token) = stamp(DATA, "tsa_main");
    let tsr = resign_tst_info(&token, "noeku");
    let e = tsa().verify(&tsr, DATA).unwrap_err();
    assert!(
        matches!(&e, P7mError::TsaUsage { subject, .. } if subject.contains("Not A TSA")),
        "{e:?}"
    );
    assert!(!openssl_verifies_token(DATA, &tsr));
    // The same re-signing by the real TSA verifies (so the refusal is the key usage's).
    let good = resign_tst_info(&token, "tsa");
    tsa().verify(&good, DATA).unwrap();
    assert!(openssl_verifies_token(DATA, &good));
    // A TSA under another root.
    let (tsr, _) = stamp(DATA, "tsa_other");
    let e = tsa().verify(&tsr, DATA).unwrap_err();
    assert!(
        matches!(&e, P7mError::TimeStampSigner(inner) if matches!(**inner, P7mError::Untrusted { .. })),
        "{e:?}"
    );
    assert!(!openssl_verifies(DATA, &tsr));
    // Tampered: the policy OID's last arc in the signed TSTInfo.
    let (mut tsr, _) = stamp(DATA, "tsa_main");
    let policy = [0x2b, 0x06, 0x01, 0x04, 0x01, 0x86, 0x8d, 0x1f, 0x01];
    let at = tsr.windows(policy.len()).position(|w| w == policy).unwrap();
    tsr[at + policy.len() - 1] = 0x02;
    let e = tsa().verify(&tsr, DATA).unwrap_err();
    assert!(
        matches!(&e, P7mError::TimeStampSigner(inner) if matches!(**inner, P7mError::MessageDigestMismatch { .. })),
        "{e:?}"
    );
    assert!(!openssl_verifies(DATA, &tsr));
    // Garbage: typed errors.
    assert!(matches!(
        tsa().verify(b"\x30\x03\x02\x01\x00", DATA),
        Err(P7mError::TimeStamp(_) | P7mError::Encoding(_))
    ));
}

// ------------------------------------------------------------- DER helpers for the tests

use pa_testkit::der_tlv as tlv;

/// (tag, content, whole length) of the element at `pos`.
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

/// The single signer's signature value, and a function putting unsigned attributes on it.
fn with_unsigned_attr(p7m: &[u8], make: impl FnOnce(&[u8]) -> Vec<u8>) -> Vec<u8> {
    let (_, ci, _) = element(p7m, 0);
    let ci = kids(ci);
    let (_, explicit, _) = element(&ci[1], 0);
    let (_, sd, _) = element(explicit, 0);
    let mut sd = kids(sd);
    let sis = sd.pop().unwrap();
    let (_, sis, _) = element(&sis, 0);
    let si = kids(sis).remove(0);
    let (_, si, _) = element(&si, 0);
    let mut fields = kids(si);
    let sig = fields.iter().find(|f| f[0] == 0x04).unwrap().clone();
    let (_, sig_value, _) = element(&sig, 0);
    let attr = make(sig_value);
    // id-aa-signatureTimeStampToken
    let oid = [
        0x06, 0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x02, 0x0e,
    ];
    let attr = tlv(0x30, &[oid.to_vec(), tlv(0x31, &attr)].concat());
    fields.push(tlv(0xa1, &attr));
    sd.push(tlv(0x31, &tlv(0x30, &fields.concat())));
    let sd = tlv(0x30, &sd.concat());
    tlv(0x30, &[ci[0].clone(), tlv(0xa0, &sd)].concat())
}

fn signers_verifier() -> P7mVerifier {
    P7mVerifier::new(load_certificates(&rd("ca.pem")).unwrap())
}

#[test]
fn cades_t_signature_time_stamp_gives_the_trusted_time() {
    if pki().is_none() {
        return;
    }
    let mut token = Vec::new();
    let cades_t = with_unsigned_attr(&rd("good.p7m"), |sig| {
        token = stamp(sig, "tsa_main").1;
        token.clone()
    });
    let v = signers_verifier().with_tsa(tsa()).verify(&cades_t).unwrap();
    let s = &v.layers[0][0];
    let ts = s.timestamps[0].result.as_ref().unwrap();
    assert_eq!(s.trusted_time, Some(ts.gen_time));
    assert!(ts.tsa.subject.contains("Test Time Stamping Unit"));
    // Without TSA roots: reported, not used.
    let v = signers_verifier().verify(&cades_t).unwrap();
    assert!(v.layers[0][0].timestamps[0].result.is_err());
    assert_eq!(v.layers[0][0].trusted_time, None);
    // A time-stamp of other data gives no trusted time.
    let other = with_unsigned_attr(&rd("good.p7m"), |_| stamp(b"other", "tsa_main").1);
    let v = signers_verifier().with_tsa(tsa()).verify(&other).unwrap();
    assert_eq!(
        v.layers[0][0].timestamps[0].result,
        Err(P7mError::TimeStampImprint)
    );
    assert_eq!(v.layers[0][0].trusted_time, None);
    // The trusted time feeds the legacy policy: a time-stamp of today is too late for
    // RSA-1024, and the refusal names the trusted time, not the signing time.
    let crate_files = crate::common::files();
    if crate_files.is_some() {
        let old = crate::common::read("rsa1024.p7m");
        let stamped = with_unsigned_attr(&old, |sig| stamp(sig, "tsa_main").1);
        let v = P7mVerifier::new(load_certificates(&crate::common::read("ca.pem")).unwrap())
            .with_tsa(tsa())
            .with_options(VerifyOptions::legacy(LegacyPolicy {
                allow_rsa1024: true,
                ..LegacyPolicy::default()
            }));
        let e = v.verify(&stamped).unwrap_err();
        assert!(
            matches!(&e, P7mError::LegacyTooLate { reason, .. } if reason.contains("trusted time")),
            "{e:?}"
        );
    }
}

#[test]
fn m7m_time_stamped_before_revocation_is_valid() {
    if pki().is_none() {
        return;
    }
    let revocation = || signers_verifier().with_revocation(with_crls(&["crl2.der"]));
    // The .p7m alone: its signer is revoked now.
    let e = revocation().verify(&rd("later.p7m")).unwrap_err();
    assert!(matches!(e, P7mError::Revoked { .. }), "{e:?}");
    // With the time-stamp made before the revocation (.m7m): valid, revoked later.
    let m7m = rd("later.m7m");
    assert!(is_timestamped(&m7m));
    let v = tsa().verify_timestamped(&m7m, &revocation()).unwrap();
    assert_eq!(v.format, TimeStampedFormat::M7m);
    assert_eq!(v.data, rd("later.p7m"));
    let signed = v.p7m.as_ref().unwrap();
    let s = &signed.layers[0][0];
    assert_eq!(s.trusted_time, Some(v.timestamps[0].gen_time));
    match &s.revocation[0].status {
        RevocationStatus::RevokedLater { time, reason } => {
            assert!(*time > v.timestamps[0].gen_time);
            assert_eq!(*reason, Some(CrlReason::Superseded));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        v.content(),
        b"Documento firmato digitalmente per il protocollo.\n"
    );
    assert!(openssl_verifies(&rd("later.p7m"), &rd("later.tsr")));
    // The time-stamp part swapped for one over other data.
    let tsr_b64 = base64_lines(&rd("later.tsr"));
    let other_b64 = base64_lines(&stamp(b"other", "tsa_main").0);
    let forged = String::from_utf8(m7m.clone())
        .unwrap()
        .replace(&tsr_b64, &other_b64);
    assert_ne!(forged.as_bytes(), m7m.as_slice());
    let e = tsa()
        .verify_timestamped(forged.as_bytes(), &revocation())
        .unwrap_err();
    assert_eq!(e, P7mError::TimeStampImprint);
    // Without the time-stamp part.
    let cut = String::from_utf8(m7m).unwrap().replace(&tsr_b64, "");
    assert!(
        tsa()
            .verify_timestamped(cut.as_bytes(), &revocation())
            .is_err()
    );
}

/// `openssl base64` output with CRLF line ends, as in the .m7m.
fn base64_lines(b: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("x");
    std::fs::write(&f, b).unwrap();
    let o = Command::new("openssl")
        .args(["base64", "-in"])
        .arg(&f)
        .output()
        .unwrap();
    String::from_utf8(o.stdout)
        .unwrap()
        .lines()
        .map(|l| format!("{l}\r\n"))
        .collect::<String>()
        .trim_end()
        .to_owned()
}

/// A `.tsd` (RFC 5544) holding `content` and `token`.
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

fn token_of_tsr(tsr: &[u8]) -> Vec<u8> {
    let (_, c, _) = element(tsr, 0);
    kids(c).remove(1)
}

#[test]
fn tsd_with_an_openssl_token() {
    if pki().is_none() {
        return;
    }
    let token = token_of_tsr(&rd("later.tsr"));
    let file = tsd(&rd("later.p7m"), &token);
    assert!(is_timestamped(&file));
    let revocation = || signers_verifier().with_revocation(with_crls(&["crl2.der"]));
    let v = tsa().verify_timestamped(&file, &revocation()).unwrap();
    assert_eq!(v.format, TimeStampedFormat::Tsd);
    assert!(matches!(
        v.p7m.as_ref().unwrap().layers[0][0].revocation[0].status,
        RevocationStatus::RevokedLater { .. }
    ));
    // Plain data time-stamped: no .p7m inside.
    let (_, t) = stamp(DATA, "tsa_main");
    let v = tsa()
        .verify_timestamped(&tsd(DATA, &t), &revocation())
        .unwrap();
    assert!(v.p7m.is_none());
    assert_eq!(v.content(), DATA);
    // Content replaced: the token no longer covers it.
    let e = tsa()
        .verify_timestamped(&tsd(b"altro", &t), &revocation())
        .unwrap_err();
    assert_eq!(e, P7mError::TimeStampImprint);
    // The .p7m is still verified: an untrusted signer inside fails.
    let e = tsa()
        .verify_timestamped(
            &file,
            &P7mVerifier::new(load_certificates(&rd("other-ca.pem")).unwrap()),
        )
        .unwrap_err();
    assert!(matches!(e, P7mError::Untrusted { .. }), "{e:?}");
    // Not a .tsd.
    assert!(!is_timestamped(&rd("later.p7m")));
}
