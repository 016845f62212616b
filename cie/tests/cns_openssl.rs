//! Cross-check of verification verdicts against `openssl verify -purpose sslclient -crl_check`.
//! Runs when `openssl` is installed; with the `CI` variable set, a missing `openssl` fails the test.
#![allow(clippy::unwrap_used)]

mod cns_pki;

use std::path::Path;
use std::process::Command;

use cie::cns::{CardVerifier, CrlChecker, FixedClock, IssuerList};
use cns_pki::*;
use rcgen::ExtendedKeyUsagePurpose;

fn openssl_available() -> bool {
    let ok = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok && std::env::var_os("CI").is_some() {
        panic!("openssl is required in CI for the cross-check");
    }
    ok
}

fn openssl_verify(dir: &Path, card_pem: &str, untrusted: Option<&str>) -> bool {
    let card = dir.join("card.pem");
    std::fs::write(&card, card_pem).unwrap();
    let mut cmd = Command::new("openssl");
    cmd.arg("verify")
        .args(["-attime", &now().timestamp().to_string()])
        .args(["-purpose", "sslclient", "-crl_check"])
        .arg("-CAfile")
        .arg(dir.join("ca.pem"))
        .arg("-CRLfile")
        .arg(dir.join("crl.pem"));
    if let Some(u) = untrusted {
        let p = dir.join("untrusted.pem");
        std::fs::write(&p, u).unwrap();
        cmd.arg("-untrusted").arg(p);
    }
    let out = cmd.arg(&card).output().unwrap();
    out.status.success()
}

#[tokio::test]
async fn verdicts_match_openssl() {
    if !openssl_available() {
        eprintln!("openssl not installed: cross-check skipped");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ca = root_ca("Regione Test CA Cittadini", "Regione Test");
    let sub = sub_ca(&ca, "Regione Test CA Sub", "Regione Test");
    let rogue = root_ca("Rogue CA", "Nobody");
    let (ca_crl_der, ca_crl_pem) = crl(&ca, &[3], (2026, 12, 31));
    let (sub_crl_der, sub_crl_pem) = crl(&sub, &[], (2026, 12, 31));
    std::fs::write(dir.path().join("ca.pem"), &ca.pem).unwrap();
    std::fs::write(
        dir.path().join("crl.pem"),
        format!("{ca_crl_pem}{sub_crl_pem}"),
    )
    .unwrap();
    let verifier = CardVerifier::new(
        IssuerList::from_pem(ca.pem.as_bytes()).unwrap(),
        CrlChecker::from_der_crls([ca_crl_der, sub_crl_der]).unwrap(),
    )
    .with_clock(FixedClock(now()));

    let expired = {
        let mut s = CardSpec::cns(4);
        s.not_before = (2019, 1, 1);
        s.not_after = (2024, 1, 1);
        s
    };
    let future = {
        let mut s = CardSpec::cns(5);
        s.not_before = (2027, 1, 1);
        s
    };
    let email_only = {
        let mut s = CardSpec::cns(6);
        s.eku = vec![ExtendedKeyUsagePurpose::EmailProtection];
        s
    };
    let cases: Vec<(&str, Card, Option<&Ca>, bool)> = vec![
        ("valid CNS", issue(&ca, &CardSpec::cns(1)), None, true),
        ("valid TS-CNS", issue(&ca, &CardSpec::ts_cns(2)), None, true),
        ("revoked", issue(&ca, &CardSpec::cns(3)), None, false),
        ("expired", issue(&ca, &expired), None, false),
        ("not yet valid", issue(&ca, &future), None, false),
        ("wrong EKU", issue(&ca, &email_only), None, false),
        ("unknown CA", issue(&rogue, &CardSpec::cns(7)), None, false),
        (
            "through intermediate",
            issue(&sub, &CardSpec::cns(8)),
            Some(&sub),
            true,
        ),
    ];
    for (name, card, inter, expected) in cases {
        let ours = match inter {
            Some(i) => verifier.verify(&card.der, &[&i.der]).await,
            None => verifier.verify(&card.der, &[]).await,
        };
        let theirs = openssl_verify(dir.path(), &card.cert_pem, inter.map(|i| i.pem.as_str()));
        assert_eq!(ours.is_ok(), expected, "{name}: ours {ours:?}");
        assert_eq!(theirs, expected, "{name}: openssl disagrees");
    }
}
