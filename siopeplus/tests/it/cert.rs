//! Certificate watch: PEM and PKCS#12, days left, status thresholds.

use chrono::{Duration, Utc};
use siopeplus::simulator::TestPki;
use siopeplus::*;

pub(crate) fn make_p12(cert_pem: &str, key_pem: &str, password: &str) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    let cert = rustls_pki_types::CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap();
    let key = rustls_pki_types::PrivatePkcs8KeyDer::from_pem_slice(key_pem.as_bytes()).unwrap();
    let chain = p12_keystore::PrivateKeyChain::new(
        b"1".to_vec(),
        p12_keystore::PrivateKey::from_der(key.secret_pkcs8_der()).unwrap(),
        vec![p12_keystore::Certificate::from_der(&cert).unwrap()],
    );
    let mut ks = p12_keystore::KeyStore::new();
    ks.add_entry("ente", p12_keystore::KeyStoreEntry::PrivateKeyChain(chain));
    ks.writer(password).write().unwrap()
}

#[test]
fn pem_and_pkcs12_report_subject_a2a_issuer_expiry() {
    let pki = TestPki::generate("CA di prova SIOPE").unwrap();
    let (c, k) = pki
        .issue_client("Comune di Roccasecca A2A-12345678", -10, 400)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let pem = dir.path().join("ente.pem");
    std::fs::write(&pem, format!("{c}{k}")).unwrap();
    let info = CertInfo::load(&pem, None).unwrap();
    assert!(
        info.subject.contains("Comune di Roccasecca"),
        "{}",
        info.subject
    );
    assert!(info.issuer.contains("CA di prova SIOPE"), "{}", info.issuer);
    assert_eq!(
        info.a2a_code.as_ref().map(ToString::to_string).as_deref(),
        Some("A2A-12345678")
    );
    let days = info.days_left(Utc::now());
    assert!((398..=400).contains(&days), "{days}");
    assert!(matches!(
        info.status(Utc::now(), 90),
        CertStatus::Valid { .. }
    ));

    let p12 = dir.path().join("ente.p12");
    std::fs::write(&p12, make_p12(&c, &k, "segreta")).unwrap();
    let from_p12 = CertInfo::load(&p12, Some("segreta")).unwrap();
    assert_eq!(from_p12, info);
    assert!(matches!(
        CertInfo::load(&p12, Some("sbagliata")),
        Err(CertError::Pkcs12(_))
    ));
    let id = ClientIdentity::load(&p12, Some("segreta")).unwrap();
    assert_eq!(
        format!("{id:?}"),
        "ClientIdentity { certificates: 1, key: \"[redacted]\" }"
    );
}

#[test]
fn thresholds() {
    let pki = TestPki::generate("CA").unwrap();
    let now = Utc::now();
    let info = |from: i64, to: i64| {
        let (c, _) = pki.issue_client("X", from, to).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.pem");
        std::fs::write(&p, c).unwrap();
        CertInfo::load(&p, None).unwrap()
    };
    assert!(
        matches!(info(-1, 30).status(now, 90), CertStatus::ExpiringSoon { days_left } if (28..=30).contains(&days_left))
    );
    assert!(matches!(
        info(-1, 30).status(now, 10),
        CertStatus::Valid { .. }
    ));
    assert!(
        matches!(info(-1000, -3).status(now, 90), CertStatus::Expired { days_ago } if (2..=4).contains(&days_ago))
    );
    assert!(matches!(
        info(5, 500).status(now, 90),
        CertStatus::NotYetValid
    ));
    // Exactly at the edge of the window: a certificate expiring in N days warns when N < window.
    let c = info(-1, 100);
    let at = c.not_after - Duration::days(90) + Duration::hours(1);
    assert!(matches!(
        c.status(at, 90),
        CertStatus::ExpiringSoon { days_left: 89 }
    ));
}

#[test]
fn bad_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.pem");
    std::fs::write(&p, "nothing here").unwrap();
    assert!(matches!(
        CertInfo::load(&p, None),
        Err(CertError::NoCertificate)
    ));
    assert!(matches!(
        CertInfo::load(&dir.path().join("missing.pem"), None),
        Err(CertError::Read { .. })
    ));
    std::fs::write(&p, [0x30, 0x82, 0x00]).unwrap();
    assert!(CertInfo::load(&p, None).is_err());
    let pki = TestPki::generate("CA").unwrap();
    let (c, _) = pki.issue_client("X", -1, 10).unwrap();
    assert!(matches!(
        ClientIdentity::from_pem(c.as_bytes()),
        Err(CertError::NoKey)
    ));
}
