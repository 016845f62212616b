use protocollo::*;

use crate::common::{files, read};

fn trusted() -> P7mVerifier {
    P7mVerifier::new(load_certificates(&read("ca.pem")).unwrap())
}

const CONTENT: &[u8] = b"Documento firmato digitalmente per il protocollo.\n";

#[test]
fn valid_rsa_via_intermediate() {
    if files().is_none() {
        return;
    }
    let v = trusted().verify(&read("rsa.p7m")).unwrap();
    assert_eq!(v.content, CONTENT);
    assert_eq!(v.layers.len(), 1);
    let s = &v.layers[0][0];
    assert!(s.chain_verified);
    assert_eq!(s.serial_number.as_deref(), Some("TINIT-RSSMRA85T10A562S"));
    assert_eq!(
        s.codice_fiscale.as_ref().unwrap().as_str(),
        "RSSMRA85T10A562S"
    );
    assert!(s.signing_time.is_some());
    assert!(s.subject.contains("Mario Rossi"), "{}", s.subject);
}

#[test]
fn valid_ecdsa_and_pem_forms() {
    if files().is_none() {
        return;
    }
    let v = trusted().verify(&read("ec.p7m")).unwrap();
    assert_eq!(v.content, CONTENT);
    assert_eq!(
        v.layers[0][0].codice_fiscale.as_ref().unwrap().as_str(),
        "BNCNNA80A41H501R"
    );
    let pem = trusted().verify(&read("rsa.p7m.pem")).unwrap();
    assert_eq!(pem.content, CONTENT);
    // Bare base64 too.
    let b64: String = String::from_utf8(read("rsa.p7m.pem"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    assert_eq!(trusted().verify(b64.as_bytes()).unwrap().content, CONTENT);
}

#[test]
fn streamed_ber_p7m() {
    if files().is_none() {
        return;
    }
    let ber = read("ber.p7m");
    assert_eq!(
        &ber[..2],
        &[0x30, 0x80],
        "openssl -stream makes indefinite lengths"
    );
    let v = trusted().verify(&ber).unwrap();
    assert_eq!(v.content, CONTENT);
    // Tampering is still detected after normalization.
    let mut bad = ber.clone();
    let at = bad.windows(9).position(|w| w == b"Documento").unwrap();
    bad[at] = b'X';
    assert!(trusted().verify(&bad).is_err());
}

#[test]
fn nested_and_parallel() {
    if files().is_none() {
        return;
    }
    let v = trusted().verify(&read("nested.p7m.p7m")).unwrap();
    assert_eq!(v.content, CONTENT);
    assert_eq!(v.layers.len(), 2);
    assert!(v.layers[0][0].subject.contains("Anna Bianchi"));
    assert!(v.layers[1][0].subject.contains("Mario Rossi"));

    let v = trusted().verify(&read("parallel.p7m")).unwrap();
    assert_eq!(v.layers.len(), 1);
    assert_eq!(v.layers[0].len(), 2);
    assert_eq!(
        v.signers().filter(|s| s.codice_fiscale.is_some()).count(),
        2
    );
}

#[test]
fn tampered_content_is_refused() {
    if files().is_none() {
        return;
    }
    let mut der = read("rsa.p7m");
    let at = der.windows(9).position(|w| w == b"Documento").unwrap();
    der[at] = b'X';
    assert!(matches!(
        trusted().verify(&der),
        Err(P7mError::MessageDigestMismatch { signer: 0 })
    ));
}

#[test]
fn tampered_signed_attributes_are_refused() {
    if files().is_none() {
        return;
    }
    // Change one byte of the signing-time value (UTCTime digits) in the signed attributes.
    let mut der = read("ec.p7m");
    let oid = [
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x05,
    ];
    let at = der.windows(oid.len()).position(|w| w == oid).unwrap();
    // SET { UTCTime(0x17) len digits... }: flip the last seconds digit.
    let t = at + oid.len() + 2;
    assert_eq!(der[t], 0x17);
    let last = t + 2 + 11;
    der[last] = if der[last] == b'0' { b'1' } else { b'0' };
    assert!(matches!(
        trusted().verify(&der),
        Err(P7mError::BadSignature { signer: 0 })
    ));
}

#[test]
fn expired_signer_is_refused() {
    if files().is_none() {
        return;
    }
    let err = trusted().verify(&read("expired.p7m")).unwrap_err();
    assert!(matches!(err, P7mError::CertificateNotValid { .. }), "{err}");
}

#[test]
fn untrusted_chain_is_refused() {
    if files().is_none() {
        return;
    }
    let err = trusted().verify(&read("untrusted.p7m")).unwrap_err();
    assert!(matches!(err, P7mError::Untrusted { .. }), "{err}");
    // Trusting the other CA makes it valid.
    let v = P7mVerifier::new(load_certificates(&read("other-ca.pem")).unwrap())
        .verify(&read("untrusted.p7m"))
        .unwrap();
    assert_eq!(v.content, CONTENT);
    // Without trust anchors the chain is reported as not verified.
    let v = P7mVerifier::insecure_without_chain_check()
        .verify(&read("untrusted.p7m"))
        .unwrap();
    assert!(!v.layers[0][0].chain_verified);
}

#[test]
fn encryption_only_certificate_is_refused() {
    if files().is_none() {
        return;
    }
    assert!(matches!(
        trusted().verify(&read("wrongku.p7m")),
        Err(P7mError::KeyUsage { .. })
    ));
}

#[test]
fn missing_signing_certificate_v2_is_refused() {
    if files().is_none() {
        return;
    }
    assert!(matches!(
        trusted().verify(&read("nocades.p7m")),
        Err(P7mError::SignedAttribute {
            attribute: "signing-certificate-v2",
            ..
        })
    ));
}

#[test]
fn trust_from_directory_and_trusted_list() {
    if files().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("root.pem"), read("ca.pem")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"ignored").unwrap();
    let anchors = load_certificates_dir(dir.path()).unwrap();
    assert_eq!(anchors.len(), 1);
    P7mVerifier::new(anchors).verify(&read("ec.p7m")).unwrap();

    let pem = String::from_utf8(read("ca.pem")).unwrap();
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let tsl = format!(
        r#"<TrustServiceStatusList xmlns="http://uri.etsi.org/02231/v2#"><TrustServiceProviderList><TrustServiceProvider><TSPServices><TSPService><ServiceInformation><ServiceDigitalIdentity><DigitalId><X509Certificate>{b64}</X509Certificate></DigitalId></ServiceDigitalIdentity></ServiceInformation></TSPService></TSPServices></TrustServiceProvider></TrustServiceProviderList></TrustServiceStatusList>"#
    );
    let anchors = certificates_from_trusted_list(&tsl).unwrap();
    P7mVerifier::new(anchors).verify(&read("rsa.p7m")).unwrap();
}

#[test]
fn garbage_is_an_error_not_a_panic() {
    for input in [
        &b""[..],
        b"\x30\x03\x02\x01",
        b"not base64 !!",
        b"\x30\x80\x00\x00",
    ] {
        assert!(
            P7mVerifier::insecure_without_chain_check()
                .verify(input)
                .is_err()
        );
    }
}
