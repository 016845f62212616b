//! Identity extraction and verification of card certificates (no network).
#![allow(clippy::unwrap_used)]

mod cns_pki;

use cie::cns::{
    CardIdentity, CardProfile, CardVerifier, CertificateError, CitizenIdentity, CrlChecker, Error,
    FiscalCodeSource, FixedClock, IdentityError, InsecureNoRevocationCheck, IssuerList,
    IssuerListError, LoginMethod, RevocationError, RevocationReason, VerifyError,
};
use cns_pki::*;
use rcgen::{CustomExtension, DnType, ExtendedKeyUsagePurpose, KeyUsagePurpose};

fn cf(s: &str) -> pa_types::CodiceFiscale {
    s.parse().unwrap()
}

struct World {
    cns_ca: Ca,
    cie_ca: Ca,
}

fn world() -> World {
    World {
        cns_ca: root_ca("Regione Test CA Cittadini", "Regione Test"),
        cie_ca: root_ca(
            "Ministero dell'Interno CA CIE test",
            "Ministero dell'Interno",
        ),
    }
}

fn verifier(w: &World) -> CardVerifier {
    let issuers =
        IssuerList::from_pem(format!("{}{}", w.cns_ca.pem, w.cie_ca.pem).as_bytes()).unwrap();
    let crls = CrlChecker::from_der_crls([
        crl(&w.cns_ca, &[], (2026, 12, 31)).0,
        crl(&w.cie_ca, &[], (2026, 12, 31)).0,
    ])
    .unwrap();
    CardVerifier::new(issuers, crls).with_clock(FixedClock(now()))
}

fn verify_err(r: Result<CardIdentity, Error>) -> VerifyError {
    match r {
        Err(Error::Verify(e)) => e,
        other => panic!("expected a verification error, got {other:?}"),
    }
}

// ---------------------------------------------------------------- identity extraction

#[test]
fn cns_common_name_form() {
    let w = world();
    let card = issue(&w.cns_ca, &CardSpec::cns(1));
    let id = CardIdentity::from_der(&card.der).unwrap();
    assert_eq!(id.fiscal_code, cf(CF_ROSSI));
    assert_eq!(id.fiscal_code_source, FiscalCodeSource::CommonNameCns);
    assert_eq!(id.card_id.as_deref(), Some("7420000100012345"));
    assert_eq!(
        id.card_id_hash.as_deref(),
        Some("Y2FyZCBpZCBoYXNoIGZvciB0ZXN0cw==")
    );
    assert_eq!(id.dn_qualifier.as_deref(), Some("7420000100012345"));
    assert_eq!(id.given_name.as_deref(), Some("MARIO"));
    assert_eq!(id.family_name.as_deref(), Some("ROSSI"));
    assert_eq!(id.profile, CardProfile::Cns);
    assert_eq!(id.policies, vec!["1.3.76.16.2.1".to_owned()]);
    assert_eq!(
        id.issuer_common_name.as_deref(),
        Some("Regione Test CA Cittadini")
    );
    assert_eq!(id.issuer_organization.as_deref(), Some("Regione Test"));
    assert!(
        id.issuer.contains("Regione Test CA Cittadini"),
        "{}",
        id.issuer
    );
    assert_eq!(id.certificate_serial, "1C0001");
    assert_eq!(id.not_before.to_rfc3339(), "2025-01-01T00:00:00+00:00");
    assert_eq!(id.not_after.to_rfc3339(), "2030-01-01T00:00:00+00:00");
}

#[test]
fn ts_cns_health_card() {
    let w = world();
    let card = issue(&w.cns_ca, &CardSpec::ts_cns(2));
    let id = CardIdentity::from_pem(card.cert_pem.as_bytes()).unwrap();
    assert_eq!(id.fiscal_code, cf(CF_BIANCHI));
    assert_eq!(id.profile, CardProfile::Cns);
    assert_eq!(id.card_id.as_deref(), Some("8038000000123456"));
}

#[test]
fn newer_profile_serial_number_tinit() {
    let w = world();
    let card = issue(&w.cns_ca, &CardSpec::cns_tinit(3));
    let id = CardIdentity::from_der(&card.der).unwrap();
    assert_eq!(id.fiscal_code, cf(CF_VERDI));
    assert_eq!(id.fiscal_code_source, FiscalCodeSource::SerialNumberTinit);
    assert_eq!(id.common_name.as_deref(), Some("GIUSEPPE VERDI"));
    assert_eq!(id.card_id, None);
    assert_eq!(id.dn_qualifier.as_deref(), Some("WSREF-1234567"));
}

#[test]
fn older_serial_number_it_colon() {
    let w = world();
    let mut spec = CardSpec::no_fiscal_code(4);
    spec.subject.push((sn(), format!("IT:{CF_ROSSI}")));
    let id = CardIdentity::from_der(&issue(&w.cns_ca, &spec).der).unwrap();
    assert_eq!(id.fiscal_code, cf(CF_ROSSI));
    assert_eq!(id.fiscal_code_source, FiscalCodeSource::SerialNumberIt);
}

#[test]
fn cie_common_name_is_the_fiscal_code() {
    let w = world();
    let card = issue(&w.cie_ca, &CardSpec::cie(5));
    let id = CardIdentity::from_der(&card.der).unwrap();
    assert_eq!(id.fiscal_code, cf(CF_NERI));
    assert_eq!(id.fiscal_code_source, FiscalCodeSource::CommonName);
    assert_eq!(id.profile, CardProfile::Cie);
}

#[test]
fn agreeing_sources_are_fine() {
    let w = world();
    let mut spec = CardSpec::cns(6);
    spec.subject.push((sn(), format!("TINIT-{CF_ROSSI}")));
    let id = CardIdentity::from_der(&issue(&w.cns_ca, &spec).der).unwrap();
    assert_eq!(id.fiscal_code, cf(CF_ROSSI));
    assert_eq!(id.fiscal_code_source, FiscalCodeSource::SerialNumberTinit);
}

#[test]
fn rejects_certificate_without_fiscal_code() {
    let w = world();
    let err =
        CardIdentity::from_der(&issue(&w.cns_ca, &CardSpec::no_fiscal_code(7)).der).unwrap_err();
    assert!(
        matches!(err, Error::Identity(IdentityError::NoFiscalCode { .. })),
        "{err}"
    );
    // other semantics identifiers (passport) are not fiscal codes
    let mut spec = CardSpec::no_fiscal_code(8);
    spec.subject.push((sn(), "PASIT-YA1234567".into()));
    let err = CardIdentity::from_der(&issue(&w.cns_ca, &spec).der).unwrap_err();
    assert!(
        matches!(err, Error::Identity(IdentityError::NoFiscalCode { .. })),
        "{err}"
    );
}

#[test]
fn rejects_bad_check_character() {
    let w = world();
    let mut spec = CardSpec::cns(9);
    spec.subject.retain(|(t, _)| *t != DnType::CommonName);
    spec.subject.push((
        DnType::CommonName,
        "RSSMRA80A01H501X/7420000100012345.aGFzaA==".into(),
    ));
    let err = CardIdentity::from_der(&issue(&w.cns_ca, &spec).der).unwrap_err();
    match err {
        Error::Identity(IdentityError::InvalidFiscalCode {
            source_field,
            value,
            ..
        }) => {
            assert_eq!(source_field, FiscalCodeSource::CommonNameCns);
            assert_eq!(value, "RSSMRA80A01H501X");
        }
        other => panic!("{other:?}"),
    }
    let mut spec = CardSpec::no_fiscal_code(10);
    spec.subject.push((sn(), "TINIT-RSSMRA80A01H501X".into()));
    let err = CardIdentity::from_der(&issue(&w.cns_ca, &spec).der).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Identity(IdentityError::InvalidFiscalCode { .. })
        ),
        "{err}"
    );
}

#[test]
fn rejects_conflicting_fiscal_codes() {
    let w = world();
    let mut spec = CardSpec::cns(11);
    spec.subject.push((sn(), format!("TINIT-{CF_VERDI}")));
    let err = CardIdentity::from_der(&issue(&w.cns_ca, &spec).der).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Identity(IdentityError::ConflictingFiscalCodes { .. })
        ),
        "{err}"
    );
}

#[test]
fn rejects_repeated_common_name() {
    let w = world();
    let mut spec = CardSpec::cie(12);
    // a second commonName (rcgen keeps one value per type, so spell the OID out)
    spec.subject
        .push((DnType::CustomDnType(vec![2, 5, 4, 3]), CF_ROSSI.into()));
    let err = CardIdentity::from_der(&issue(&w.cie_ca, &spec).der).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Identity(IdentityError::DuplicateAttribute {
                attribute: "commonName",
                count: 2
            })
        ),
        "{err}"
    );
}

#[test]
fn rejects_cns_common_name_without_card_id() {
    let w = world();
    for cn in [format!("{CF_ROSSI}/"), format!("{CF_ROSSI}/.aGFzaA==")] {
        let mut spec = CardSpec::cns(13);
        spec.subject.retain(|(t, _)| *t != DnType::CommonName);
        spec.subject.push((DnType::CommonName, cn));
        let err = CardIdentity::from_der(&issue(&w.cns_ca, &spec).der).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Identity(IdentityError::MalformedCnsCommonName { .. })
            ),
            "{err}"
        );
    }
}

#[test]
fn rejects_bytes_that_are_not_a_certificate() {
    assert!(matches!(
        CardIdentity::from_der(b""),
        Err(Error::Certificate(CertificateError::Missing))
    ));
    assert!(matches!(
        CardIdentity::from_der(b"\x30\x03\x02\x01\x01"),
        Err(Error::Certificate(CertificateError::Malformed { .. }))
    ));
    let w = world();
    let mut der = issue(&w.cns_ca, &CardSpec::cns(14)).der;
    der.extend_from_slice(b"junk");
    assert!(matches!(
        CardIdentity::from_der(&der),
        Err(Error::Certificate(CertificateError::TrailingData {
            count: 4,
            ..
        }))
    ));
    assert!(matches!(
        CardIdentity::from_pem(b"no pem here"),
        Err(Error::Certificate(CertificateError::Pem { .. }))
    ));
}

#[test]
fn converts_into_the_common_identity() {
    let w = world();
    let cns = CardIdentity::from_der(&issue(&w.cns_ca, &CardSpec::cns(15)).der).unwrap();
    let citizen: CitizenIdentity = cns.clone().into();
    assert_eq!(citizen.fiscal_code, cf(CF_ROSSI));
    assert_eq!(citizen.method, LoginMethod::Cns);
    assert_eq!(citizen.given_name.as_deref(), Some("MARIO"));
    assert_eq!(citizen.family_name.as_deref(), Some("ROSSI"));
    assert_eq!(citizen.issuer, cns.issuer);
    assert_eq!(cns.to_citizen_identity(), citizen);

    let cie = CardIdentity::from_der(&issue(&w.cie_ca, &CardSpec::cie(16)).der).unwrap();
    assert_eq!(CitizenIdentity::from(cie).method, LoginMethod::CieCard);

    // what a SPID login would build: same type
    let spid = CitizenIdentity::new(
        cf(CF_ROSSI),
        LoginMethod::Spid {
            level: cie::cns::AssuranceLevel::L2,
        },
        "https://idp.example.it",
    )
    .with_names(Some("MARIO".into()), Some("ROSSI".into()));
    assert_eq!(spid.fiscal_code, citizen.fiscal_code);
    let json = serde_json::to_string(&spid).unwrap();
    assert!(json.contains("\"RSSMRA80A01H501U\""), "{json}");
    let back: CitizenIdentity = serde_json::from_str(&json).unwrap();
    assert_eq!(back, spid);
    // the fiscal code is validated on the way in
    let tampered = json.replace("RSSMRA80A01H501U", "RSSMRA80A01H501X");
    assert!(serde_json::from_str::<CitizenIdentity>(&tampered).is_err());
}

// ---------------------------------------------------------------- verification

#[tokio::test]
async fn verifies_each_profile() {
    let w = world();
    let v = verifier(&w);
    for (ca, spec, expected, profile) in [
        (&w.cns_ca, CardSpec::cns(20), CF_ROSSI, CardProfile::Cns),
        (
            &w.cns_ca,
            CardSpec::ts_cns(21),
            CF_BIANCHI,
            CardProfile::Cns,
        ),
        (
            &w.cns_ca,
            CardSpec::cns_tinit(22),
            CF_VERDI,
            CardProfile::Cns,
        ),
        (&w.cie_ca, CardSpec::cie(23), CF_NERI, CardProfile::Cie),
    ] {
        let card = issue(ca, &spec);
        let id = v.verify(&card.der, &[]).await.unwrap();
        assert_eq!(id.fiscal_code, cf(expected));
        assert_eq!(id.profile, profile);
    }
}

#[tokio::test]
async fn rejects_expired_card() {
    let w = world();
    let mut spec = CardSpec::cns(30);
    spec.not_before = (2019, 1, 1);
    spec.not_after = (2024, 12, 31);
    let card = issue(&w.cns_ca, &spec);
    match verify_err(verifier(&w).verify(&card.der, &[]).await) {
        VerifyError::Expired {
            not_after, now: n, ..
        } => {
            assert_eq!(not_after.to_rfc3339(), "2024-12-31T00:00:00+00:00");
            assert_eq!(n, now());
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn rejects_card_not_yet_valid() {
    let w = world();
    let mut spec = CardSpec::cns(31);
    spec.not_before = (2027, 1, 1);
    let card = issue(&w.cns_ca, &spec);
    assert!(matches!(
        verify_err(verifier(&w).verify(&card.der, &[]).await),
        VerifyError::NotYetValid { .. }
    ));
}

#[tokio::test]
async fn clock_is_injectable() {
    let w = world();
    let card = issue(&w.cns_ca, &CardSpec::cns(32));
    let later = chrono::DateTime::parse_from_rfc3339("2031-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let issuers = IssuerList::from_der_certificates([&w.cns_ca.der]).unwrap();
    let v = CardVerifier::new(issuers, InsecureNoRevocationCheck).with_clock(FixedClock(later));
    assert_eq!(v.now(), later);
    assert!(matches!(
        verify_err(v.verify(&card.der, &[]).await),
        VerifyError::Expired { .. }
    ));
    // and verify_at takes an explicit instant
    assert!(v.verify_at(&card.der, &[], now()).await.is_ok());
}

#[tokio::test]
async fn rejects_unknown_ca() {
    let w = world();
    let rogue = root_ca("Rogue CA", "Nobody");
    let card = issue(&rogue, &CardSpec::cns(40));
    match verify_err(verifier(&w).verify(&card.der, &[]).await) {
        VerifyError::UnknownIssuer { issuer, .. } => assert!(issuer.contains("Rogue CA")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn rejects_ca_impersonating_a_configured_issuer_name() {
    // same subject name as the trusted CA, different key
    let w = world();
    let fake = root_ca("Regione Test CA Cittadini", "Regione Test");
    let card = issue(&fake, &CardSpec::cns(41));
    assert!(matches!(
        verify_err(verifier(&w).verify(&card.der, &[]).await),
        VerifyError::BadSignature { .. }
    ));
}

#[tokio::test]
async fn rejects_tampered_certificate() {
    let w = world();
    let card = issue(&w.cns_ca, &CardSpec::cns(42));
    // change one byte of the subject (the CF's last letter) inside the signed part
    let mut der = card.der.clone();
    let pos = der
        .windows(CF_ROSSI.len())
        .position(|win| win == CF_ROSSI.as_bytes())
        .unwrap();
    der[pos] = b'B'; // BSSMRA...: still parses, signature no longer matches
    assert!(matches!(
        verify_err(verifier(&w).verify(&der, &[]).await),
        VerifyError::BadSignature { .. }
    ));
}

#[tokio::test]
async fn chains_through_intermediate_sent_by_client() {
    let w = world();
    let sub = sub_ca(&w.cns_ca, "Regione Test CA Sub", "Regione Test");
    let card = issue(&sub, &CardSpec::cns(43));
    let v = verifier(&w);
    // without the intermediate: unknown issuer
    assert!(matches!(
        verify_err(v.verify(&card.der, &[]).await),
        VerifyError::UnknownIssuer { .. }
    ));
    // with it: revocation is asked of the sub-CA, for which no CRL is loaded (fail closed)
    let err = v.verify(&card.der, &[&sub.der]).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Revocation(RevocationError::NoCrlForIssuer { .. })
        ),
        "{err}"
    );
    // with the sub-CA's CRL it passes
    let crls = CrlChecker::from_der_crls([crl(&sub, &[], (2026, 12, 31)).0]).unwrap();
    let v = CardVerifier::new(v.issuers().clone(), crls).with_clock(FixedClock(now()));
    let id = v.verify(&card.der, &[&sub.der]).await.unwrap();
    assert_eq!(id.fiscal_code, cf(CF_ROSSI));
    // a chain longer than allowed
    let v = v.with_max_intermediates(0);
    assert!(matches!(
        verify_err(v.verify(&card.der, &[&sub.der]).await),
        VerifyError::ChainTooLong { max: 0 }
    ));
}

#[tokio::test]
async fn rejects_non_ca_intermediate() {
    let w = world();
    // a card certificate (not a CA) used to sign another certificate
    let mut p = CardSpec::cns(44).params();
    p.distinguished_name = {
        let mut d = rcgen::DistinguishedName::new();
        d.push(DnType::CommonName, "Not a CA");
        d
    };
    let not_ca = sub_ca_with(&w.cns_ca, p);
    let card = issue(&not_ca, &CardSpec::cns(45));
    assert!(matches!(
        verify_err(verifier(&w).verify(&card.der, &[&not_ca.der]).await),
        VerifyError::IssuerNotCa { .. }
    ));
}

#[tokio::test]
async fn rejects_expired_issuer() {
    let mut params = ca_params_pub("Old Region CA", "Regione Vecchia");
    params.not_after = rcgen::date_time_ymd(2025, 6, 1);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let old = Ca {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        issuer: rcgen::Issuer::new(params, key),
    };
    let card = issue(&old, &CardSpec::cns(46));
    let v = CardVerifier::new(
        IssuerList::from_pem(old.pem.as_bytes()).unwrap(),
        InsecureNoRevocationCheck,
    )
    .with_clock(FixedClock(now()));
    match verify_err(v.verify(&card.der, &[]).await) {
        VerifyError::Expired { subject, .. } => {
            assert!(subject.contains("Old Region CA"), "{subject}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn rejects_wrong_extended_key_usage() {
    let w = world();
    let mut spec = CardSpec::cns(50);
    spec.eku = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::EmailProtection,
    ];
    let card = issue(&w.cns_ca, &spec);
    match verify_err(verifier(&w).verify(&card.der, &[]).await) {
        VerifyError::MissingClientAuthUsage { found } => {
            assert_eq!(
                found,
                vec!["serverAuth".to_owned(), "emailProtection".to_owned()]
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn missing_extended_key_usage_is_refused_unless_allowed() {
    let w = world();
    let mut spec = CardSpec::cns(51);
    spec.eku.clear();
    let card = issue(&w.cns_ca, &spec);
    assert!(matches!(
        verify_err(verifier(&w).verify(&card.der, &[]).await),
        VerifyError::MissingExtendedKeyUsage
    ));
    let id = verifier(&w)
        .allow_missing_extended_key_usage()
        .verify(&card.der, &[])
        .await
        .unwrap();
    assert_eq!(id.fiscal_code, cf(CF_ROSSI));
}

#[tokio::test]
async fn rejects_key_usage_without_digital_signature() {
    let w = world();
    let mut spec = CardSpec::cns(52);
    spec.key_usages = vec![KeyUsagePurpose::KeyEncipherment];
    let card = issue(&w.cns_ca, &spec);
    assert!(matches!(
        verify_err(verifier(&w).verify(&card.der, &[]).await),
        VerifyError::KeyUsageNotDigitalSignature
    ));
}

#[tokio::test]
async fn rejects_ca_certificate_as_card() {
    let w = world();
    let mut spec = CardSpec::cns(53);
    spec.is_ca = true;
    let card = issue(&w.cns_ca, &spec);
    assert!(matches!(
        verify_err(verifier(&w).verify(&card.der, &[]).await),
        VerifyError::CardIsCa
    ));
}

#[tokio::test]
async fn policy_must_be_cns_or_cie_unless_configured() {
    let w = world();
    let mut spec = CardSpec::cns(54);
    spec.policies = vec![&[1, 3, 6, 1, 4, 1, 99999, 1]];
    let card = issue(&w.cns_ca, &spec);
    match verify_err(verifier(&w).verify(&card.der, &[]).await) {
        VerifyError::PolicyNotAccepted { found, .. } => {
            assert_eq!(found, vec!["1.3.6.1.4.1.99999.1".to_owned()])
        }
        other => panic!("{other:?}"),
    }
    let id = verifier(&w)
        .with_accepted_policies(["1.3.6.1.4.1.99999.1"])
        .verify(&card.der, &[])
        .await
        .unwrap();
    assert_eq!(id.profile, CardProfile::Other);
    assert_eq!(CitizenIdentity::from(id).method, LoginMethod::OtherCard);

    spec.policies.clear();
    let card = issue(&w.cns_ca, &spec);
    assert!(matches!(
        verify_err(verifier(&w).verify(&card.der, &[]).await),
        VerifyError::PolicyNotAccepted { .. }
    ));
    assert!(
        verifier(&w)
            .accept_any_certificate_policy()
            .verify(&card.der, &[])
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn rejects_unknown_critical_extension() {
    let w = world();
    let mut spec = CardSpec::cns(55);
    let mut ext =
        CustomExtension::from_oid_content(&[1, 3, 6, 1, 4, 1, 99999, 7], vec![0x05, 0x00]);
    ext.set_criticality(true);
    spec.extra.push(ext);
    let card = issue(&w.cns_ca, &spec);
    match verify_err(verifier(&w).verify(&card.der, &[]).await) {
        VerifyError::UnknownCriticalExtension { oid, .. } => assert_eq!(oid, "1.3.6.1.4.1.99999.7"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn rejects_verified_card_without_fiscal_code() {
    let w = world();
    let card = issue(&w.cns_ca, &CardSpec::no_fiscal_code(56));
    let err = verifier(&w).verify(&card.der, &[]).await.unwrap_err();
    assert!(
        matches!(err, Error::Identity(IdentityError::NoFiscalCode { .. })),
        "{err}"
    );
}

// ---------------------------------------------------------------- revocation

#[tokio::test]
async fn rejects_revoked_card() {
    let w = world();
    let card = issue(&w.cns_ca, &CardSpec::cns(60));
    let ok = issue(&w.cns_ca, &CardSpec::cns(61));
    let (crl_der, _) = crl(&w.cns_ca, &[60, 99], (2026, 12, 31));
    let issuers = IssuerList::from_der_certificates([&w.cns_ca.der]).unwrap();
    let v = CardVerifier::new(issuers, CrlChecker::from_der_crls([crl_der]).unwrap())
        .with_clock(FixedClock(now()));
    match verify_err(v.verify(&card.der, &[]).await) {
        VerifyError::Revoked {
            serial,
            revoked_at,
            reason,
        } => {
            assert_eq!(serial, "1C003C");
            assert_eq!(revoked_at.to_rfc3339(), "2026-02-01T00:00:00+00:00");
            assert_eq!(reason, Some(RevocationReason::KeyCompromise));
        }
        other => panic!("{other:?}"),
    }
    assert!(v.verify(&ok.der, &[]).await.is_ok());
}

#[tokio::test]
async fn missing_crl_fails_closed() {
    let w = world();
    let card = issue(&w.cie_ca, &CardSpec::cie(62));
    let issuers =
        IssuerList::from_pem(format!("{}{}", w.cns_ca.pem, w.cie_ca.pem).as_bytes()).unwrap();
    // only the CNS CA's CRL is loaded
    let crls = CrlChecker::from_der_crls([crl(&w.cns_ca, &[], (2026, 12, 31)).0]).unwrap();
    let err = CardVerifier::new(issuers, crls)
        .with_clock(FixedClock(now()))
        .verify(&card.der, &[])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Revocation(RevocationError::NoCrlForIssuer { .. })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn stale_crl_fails_closed_unless_allowed() {
    let w = world();
    let card = issue(&w.cns_ca, &CardSpec::cns(63));
    let issuers = IssuerList::from_der_certificates([&w.cns_ca.der]).unwrap();
    let stale = crl(&w.cns_ca, &[], (2026, 3, 1)).0;
    let v = CardVerifier::new(
        issuers.clone(),
        CrlChecker::from_der_crls([&stale]).unwrap(),
    )
    .with_clock(FixedClock(now()));
    let err = v.verify(&card.der, &[]).await.unwrap_err();
    assert!(
        matches!(err, Error::Revocation(RevocationError::CrlStale { .. })),
        "{err}"
    );
    let v = CardVerifier::new(
        issuers,
        CrlChecker::from_der_crls([&stale])
            .unwrap()
            .allow_stale_crls(),
    )
    .with_clock(FixedClock(now()));
    assert!(v.verify(&card.der, &[]).await.is_ok());
}

#[tokio::test]
async fn crl_not_signed_by_the_issuer_is_ignored_and_fails_closed() {
    let w = world();
    let card = issue(&w.cns_ca, &CardSpec::cns(64));
    // a forged CRL with the right issuer name but another key, claiming nothing is revoked
    let fake = root_ca("Regione Test CA Cittadini", "Regione Test");
    let forged = crl(&fake, &[], (2026, 12, 31)).0;
    let issuers = IssuerList::from_der_certificates([&w.cns_ca.der]).unwrap();
    let v = CardVerifier::new(issuers, CrlChecker::from_der_crls([forged]).unwrap())
        .with_clock(FixedClock(now()));
    let err = v.verify(&card.der, &[]).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Revocation(RevocationError::CrlBadSignature { .. })
        ),
        "{err}"
    );
}

#[tokio::test]
async fn crl_files_pem_and_der() {
    let w = world();
    let dir = tempfile::tempdir().unwrap();
    let (der, pem) = crl(&w.cns_ca, &[70], (2026, 12, 31));
    let (cie_der, _) = crl(&w.cie_ca, &[], (2026, 12, 31));
    std::fs::write(dir.path().join("cns.pem"), pem).unwrap();
    std::fs::write(dir.path().join("cie.crl"), cie_der).unwrap();
    let checker =
        CrlChecker::from_files([dir.path().join("cns.pem"), dir.path().join("cie.crl")]).unwrap();
    assert_eq!(checker.len(), 2);
    let issuers_path = dir.path().join("issuers.pem");
    std::fs::write(&issuers_path, format!("{}{}", w.cns_ca.pem, w.cie_ca.pem)).unwrap();
    let v = CardVerifier::new(IssuerList::from_file(&issuers_path).unwrap(), checker)
        .with_clock(FixedClock(now()));
    assert!(matches!(
        verify_err(
            v.verify(&issue(&w.cns_ca, &CardSpec::cns(70)).der, &[])
                .await
        ),
        VerifyError::Revoked { .. }
    ));
    assert!(
        v.verify(&issue(&w.cie_ca, &CardSpec::cie(71)).der, &[])
            .await
            .is_ok()
    );
    let _ = der;

    assert!(matches!(
        CrlChecker::from_files([dir.path().join("missing.crl")]),
        Err(RevocationError::Io { .. })
    ));
    assert!(matches!(
        CrlChecker::from_der_crls([b"\x30\x00".as_slice()]),
        Err(RevocationError::MalformedCrl { index: 0, .. })
    ));
}

// ---------------------------------------------------------------- issuer list

#[test]
fn issuer_list_loading() {
    let w = world();
    let list =
        IssuerList::from_pem(format!("{}{}", w.cns_ca.pem, w.cie_ca.pem).as_bytes()).unwrap();
    assert_eq!(list.len(), 2);
    assert_eq!(list.subject_names_der().count(), 2);
    assert!(list.subjects().any(|s| s.contains("Ministero")));

    let card = issue(&w.cns_ca, &CardSpec::cns(80));
    assert!(matches!(
        IssuerList::from_pem(card.cert_pem.as_bytes()),
        Err(IssuerListError::NotCa { index: 0, .. })
    ));
    assert!(matches!(
        IssuerList::from_der_certificates(Vec::<Vec<u8>>::new()),
        Err(IssuerListError::Empty)
    ));
    assert!(matches!(
        IssuerList::from_pem(b"nothing"),
        Err(IssuerListError::Malformed { .. })
    ));
    assert!(matches!(
        IssuerList::from_file("/nonexistent/issuers.pem"),
        Err(IssuerListError::Io { .. })
    ));
}

// The signed ETSI trusted list input is tested in cns_tsl.rs (against xmlsec1).

#[tokio::test]
async fn rejects_change_to_the_unsigned_outer_algorithm() {
    // the signature covers the TBS only; the outer signatureAlgorithm must equal the signed one
    let w = world();
    let card = issue(&w.cns_ca, &CardSpec::cns(95));
    let alg = [
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
    ]; // ecdsa-with-SHA256
    let pos = card
        .der
        .windows(alg.len())
        .rposition(|win| win == alg)
        .unwrap();
    let mut der = card.der.clone();
    der[pos + 2] = 0x00; // OID tag of the outer copy
    assert!(matches!(
        verify_err(verifier(&w).verify(&der, &[]).await),
        VerifyError::SignatureAlgorithmMismatch { .. }
    ));
}

#[tokio::test]
async fn rejects_intermediate_with_unenforced_critical_name_constraints() {
    let w = world();
    let mut params = ca_params_pub("Constrained Sub CA", "Regione Test");
    params.name_constraints = Some(rcgen::NameConstraints {
        permitted_subtrees: vec![rcgen::GeneralSubtree::DnsName("example.it".into())],
        excluded_subtrees: vec![],
    });
    let sub = sub_ca_with(&w.cns_ca, params);
    let card = issue(&sub, &CardSpec::cns(96));
    match verify_err(verifier(&w).verify(&card.der, &[&sub.der]).await) {
        VerifyError::UnknownCriticalExtension { oid, role } => {
            assert_eq!(oid, "2.5.29.30");
            assert_eq!(role, cie::cns::CertRole::Intermediate(0));
        }
        other => panic!("{other:?}"),
    }
}
