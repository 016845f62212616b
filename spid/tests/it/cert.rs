//! Avviso 29 v3 certificate content, read back with x509-parser.

use spid::{CertificateSubject, OrganizationIdentifier, RsaKeySize, SpCredentials};
use x509_parser::prelude::*;

use crate::{SP_ENTITY, sp_creds};

fn check(creds: &SpCredentials, org_id: &str, policy: &str) {
    let (_, cert) = X509Certificate::from_der(creds.certificate_der()).unwrap();
    assert_eq!(
        cert.signature_algorithm.algorithm.to_id_string(),
        "1.2.840.113549.1.1.11",
        "sha256WithRSA"
    );
    let subject = cert.subject();
    let get = |oid: &str| {
        subject
            .iter_attributes()
            .find(|a| a.attr_type().to_id_string() == oid)
            .map(|a| a.as_str().unwrap().to_owned())
    };
    assert_eq!(
        get("2.5.4.97").as_deref(),
        Some(org_id),
        "organizationIdentifier"
    );
    assert!(get("2.5.4.83").is_some(), "uri");
    assert!(get("2.5.4.3").is_some() && get("2.5.4.10").is_some() && get("2.5.4.7").is_some());
    assert_eq!(get("2.5.4.6").as_deref(), Some("IT"));
    for personal in ["2.5.4.42", "2.5.4.4", "2.5.4.43", "2.5.4.41", "2.5.4.65"] {
        assert!(
            get(personal).is_none(),
            "no personal name attribute {personal}"
        );
    }
    let mut saw = (false, false, false);
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::KeyUsage(ku) => {
                assert!(ext.critical, "keyUsage critical");
                assert!(ku.digital_signature() && ku.non_repudiation());
                assert!(!ku.key_encipherment() && !ku.data_encipherment() && !ku.key_agreement());
                assert!(!ku.key_cert_sign() && !ku.crl_sign());
                saw.0 = true;
            }
            ParsedExtension::BasicConstraints(bc) => {
                assert!(!ext.critical, "basicConstraints not critical");
                assert!(!bc.ca);
                saw.1 = true;
            }
            ParsedExtension::CertificatePolicies(p) => {
                assert!(!ext.critical);
                let oids: Vec<String> = p.iter().map(|i| i.policy_id.to_id_string()).collect();
                assert!(oids.contains(&spid::POLICY_AGID_CERT.to_owned()));
                assert!(oids.contains(&policy.to_owned()), "{oids:?}");
                saw.2 = true;
            }
            _ => {}
        }
    }
    assert_eq!(saw, (true, true, true));
    match cert.public_key().parsed().unwrap() {
        x509_parser::public_key::PublicKey::RSA(rsa) => assert!(rsa.key_size() >= 2048),
        other => panic!("not RSA: {other:?}"),
    }
}

#[test]
fn fixture_certificate_is_public_sector_compliant() {
    check(&sp_creds(), "PA:IT-c_h501", spid::POLICY_SPID_PUBLIC_SP);
}

#[test]
fn private_sector_certificate_from_existing_key() {
    let subject = CertificateSubject {
        common_name: "Servizi".into(),
        organization: "Esempio S.r.l.".into(),
        entity_id: SP_ENTITY.into(),
        organization_identifier: OrganizationIdentifier::Vat("12345678903".parse().unwrap()),
        locality: "Milano".into(),
        country: "IT".into(),
    };
    let key = sp_creds().private_key_der().to_vec();
    let creds = spid::certificate_for_key(&subject, key, 365).unwrap();
    check(&creds, "VATIT-12345678903", spid::POLICY_SPID_PRIVATE_SP);
    // PEM round trip.
    let again =
        SpCredentials::from_pem(&creds.private_key_pem(), &creds.certificate_pem()).unwrap();
    assert_eq!(again.certificate_der(), creds.certificate_der());
}

#[test]
fn fresh_key_generation() {
    let subject = CertificateSubject {
        common_name: "Servizi".into(),
        organization: "Mario Rossi impresa individuale".into(),
        entity_id: SP_ENTITY.into(),
        organization_identifier: OrganizationIdentifier::FiscalCode(
            "RSSMRA85T10A562S".parse().unwrap(),
        ),
        locality: "Arezzo".into(),
        country: "IT".into(),
    };
    let creds = spid::generate_sp_certificate(&subject, RsaKeySize::Rsa2048, 30).unwrap();
    check(
        &creds,
        "CF:IT-RSSMRA85T10A562S",
        spid::POLICY_SPID_PRIVATE_SP,
    );
}

#[test]
fn bad_pem_is_a_typed_error() {
    let e = SpCredentials::from_pem(
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        "x",
    )
    .unwrap_err();
    assert!(e.to_string().contains("label"), "{e}");
    assert!(format!("{:?}", sp_creds()).contains("[redacted]"));
}

#[test]
fn degenerate_pem_does_not_panic() {
    for pem in [
        "-----BEGIN CERTIFICATE-----END CERTIFICATE-----",
        "-----BEGIN CERTIFICATE-----",
        "-----BEGIN ",
        "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----",
        "",
    ] {
        assert!(SpCredentials::from_pem(pem, pem).is_err(), "{pem:?}");
    }
}
