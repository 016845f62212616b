use std::process::Command;

use protocollo::xmldsig::{Certificate as DsigCertificate, SigningKey};
use protocollo::*;

use crate::common::*;
use crate::revocation::{Responder, free_port, pki, rd, with_crls};
use crate::tsp::{openssl_verifies, stamp, tsa};
use chrono::Utc;

fn seal_key(name: &str) -> (SigningKey, DsigCertificate) {
    let key = SigningKey::from_pem(&read(&format!("{name}.key"))).unwrap();
    let cert = DsigCertificate::from_pem(&read(&format!("{name}.pem"))).unwrap();
    (key, cert)
}

fn anchors(name: &str) -> Vec<x509_cert::Certificate> {
    load_certificates(&read(name)).unwrap()
}

fn sealed(s: &SegnaturaInformatica) -> String {
    let (key, cert) = seal_key("seal");
    seal_segnatura(s, &key, &cert, &SealOptions::default()).unwrap()
}

#[test]
fn seal_round_trip_and_schema() {
    if files().is_none() {
        return;
    }
    let s = full_segnatura();
    let xml = sealed(&s);
    xmllint(&xml, "segnatura_protocollo.xsd");
    let v = verify_segnatura(
        xml.as_bytes(),
        &anchors("seal.pem"),
        &SealVerifyOptions::default(),
    )
    .unwrap();
    let mut got = v.segnatura.clone();
    fix_caps(&mut got);
    let mut expected = s;
    fix_caps(&mut expected);
    assert_eq!(got, expected);
    assert_eq!(v.root, RootNamespace::Protocollo);
    assert!(
        v.signer_subject.contains("Sigillo AOO"),
        "{}",
        v.signer_subject
    );
    // The plain parser sees the signature too.
    assert!(
        SegnaturaInformatica::parse_with(&xml, ParseOptions::strict())
            .unwrap()
            .has_signature
    );
}

#[test]
fn ecdsa_seal_chained_to_a_trusted_ca() {
    if files().is_none() {
        return;
    }
    let (key, cert) = seal_key("ec");
    let xml = seal_segnatura(&minimal_segnatura(), &key, &cert, &SealOptions::default()).unwrap();
    xmllint(&xml, "segnatura_protocollo.xsd");
    let v = verify_segnatura(
        xml.as_bytes(),
        &anchors("ca.pem"),
        &SealVerifyOptions::default(),
    )
    .unwrap();
    assert_eq!(v.segnatura, minimal_segnatura());
    // A CA that did not issue it is refused.
    let err = verify_segnatura(
        xml.as_bytes(),
        &anchors("other-ca.pem"),
        &SealVerifyOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.codice, CodiceAnomalia::ValidazioneFirma);
}

#[test]
fn tampered_segnatura_is_001() {
    if files().is_none() {
        return;
    }
    let xml = sealed(&minimal_segnatura()).replace(">Oggetto<", ">Oggetto modificato<");
    let err = verify_segnatura(
        xml.as_bytes(),
        &anchors("seal.pem"),
        &SealVerifyOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.codice, CodiceAnomalia::ValidazioneFirma);
    assert!(err.to_string().starts_with("001_ValidazioneFirma"), "{err}");
}

#[test]
fn tampered_signing_time_is_001() {
    if files().is_none() {
        return;
    }
    let xml = sealed(&minimal_segnatura());
    let i = xml.find("<xades:SigningTime>").unwrap() + "<xades:SigningTime>".len();
    let tampered = format!("{}1999{}", &xml[..i], &xml[i + 4..]);
    let err = verify_segnatura(
        tampered.as_bytes(),
        &anchors("seal.pem"),
        &SealVerifyOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.codice, CodiceAnomalia::ValidazioneFirma);
}

#[test]
fn foreign_qualifying_properties_target_is_001() {
    if files().is_none() {
        return;
    }
    let xml =
        sealed(&minimal_segnatura()).replace("Target=\"#segnatura-sigillo\"", "Target=\"#other\"");
    let err = verify_segnatura(
        xml.as_bytes(),
        &anchors("seal.pem"),
        &SealVerifyOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.codice, CodiceAnomalia::ValidazioneFirma);
}

#[test]
fn signature_without_id_is_001() {
    if files().is_none() {
        return;
    }
    // The Id of ds:Signature is outside SignedInfo and removed by the enveloped transform, so
    // dropping it leaves the signature value valid; without it QualifyingProperties/@Target
    // points to nothing.
    let xml = sealed(&minimal_segnatura()).replace(" Id=\"segnatura-sigillo\"", "");
    assert!(!xml.contains(" Id=\"segnatura-sigillo\""));
    let err = verify_segnatura(
        xml.as_bytes(),
        &anchors("seal.pem"),
        &SealVerifyOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.codice, CodiceAnomalia::ValidazioneFirma);
    assert!(err.dettaglio.contains("no Id"), "{err}");
}

#[test]
fn signature_not_last_child_is_001() {
    if files().is_none() {
        return;
    }
    // The enveloped transform removes the signature wherever it is in the root, so moving it
    // keeps the signature value valid; the placement rule is protocollo's.
    let xml = sealed(&minimal_segnatura());
    let start = xml.find("<ds:Signature").unwrap();
    let end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let sig = &xml[start..end];
    let moved = format!("{}{}", &xml[..start], &xml[end..]).replacen(
        "<prot:Intestazione>",
        &format!("{sig}<prot:Intestazione>"),
        1,
    );
    assert_ne!(moved, xml);
    let err = verify_segnatura(
        moved.as_bytes(),
        &anchors("seal.pem"),
        &SealVerifyOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.codice, CodiceAnomalia::ValidazioneFirma);
    assert!(err.dettaglio.contains("last child"), "{err}");
}

#[test]
fn untrusted_seal_is_001_even_with_certificate_in_key_info() {
    if files().is_none() {
        return;
    }
    let xml = sealed(&minimal_segnatura());
    let err = verify_segnatura(
        xml.as_bytes(),
        &anchors("ca.pem"),
        &SealVerifyOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.codice, CodiceAnomalia::ValidazioneFirma);
}

#[test]
fn unsigned_or_wrapped_is_refused() {
    if files().is_none() {
        return;
    }
    let trust = anchors("seal.pem");
    let unsigned = minimal_segnatura().to_xml().unwrap();
    assert_eq!(
        verify_segnatura(unsigned.as_bytes(), &trust, &SealVerifyOptions::default())
            .unwrap_err()
            .codice,
        CodiceAnomalia::ValidazioneFirma
    );
    // A second signature (signature wrapping attempt) is refused.
    let xml = sealed(&minimal_segnatura());
    let sig_start = xml.find("<ds:Signature").unwrap();
    let sig_end = xml.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
    let sig = &xml[sig_start..sig_end];
    let doubled = xml.replace("<prot:Intestazione>", &format!("<prot:Intestazione>{sig}"));
    assert!(verify_segnatura(doubled.as_bytes(), &trust, &SealVerifyOptions::default()).is_err());
    // Not a segnatura at all: 000.
    assert_eq!(
        verify_segnatura(b"<a/>", &trust, &SealVerifyOptions::default())
            .unwrap_err()
            .codice,
        CodiceAnomalia::Irricevibile
    );
}

#[test]
fn document_digests_give_002_and_003() {
    if files().is_none() {
        return;
    }
    let xml = sealed(&full_segnatura());
    let v = verify_segnatura(
        xml.as_bytes(),
        &anchors("seal.pem"),
        &SealVerifyOptions::default(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("istanza.pdf"), PRIMARY).unwrap();
    std::fs::write(dir.path().join("allegato.txt"), ATTACHMENT).unwrap();
    assert!(v.check_documents_in_dir(dir.path()).is_empty());

    std::fs::write(dir.path().join("allegato.txt"), b"altered").unwrap();
    let a = v.check_documents_in_dir(dir.path());
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].codice, CodiceAnomalia::AnomaliaImpronta);
    let n = a[0].notifica(MessaggioRicevuto::of(&v.segnatura));
    assert_eq!(n.codice_anomalia(), Some(CodiceAnomalia::AnomaliaImpronta));
    xmllint(&n.to_xml(), "pec_message.xsd");

    std::fs::remove_file(dir.path().join("allegato.txt")).unwrap();
    let a = v.check_documents_in_dir(dir.path());
    assert_eq!(a[0].codice, CodiceAnomalia::DocumentoAllegatiNonLeggibili);
}

#[test]
fn path_traversal_in_nome_file_is_refused() {
    let mut s = minimal_segnatura();
    s.descrizione.documento_primario.nome_file = "../secret.pdf".into();
    let dir = tempfile::tempdir().unwrap();
    let inner = dir.path().join("docs");
    std::fs::create_dir(&inner).unwrap();
    std::fs::write(dir.path().join("secret.pdf"), PRIMARY).unwrap();
    let a = check_documents_in_dir(&s, &inner);
    assert_eq!(a.len(), 1);
    assert_eq!(a[0].codice, CodiceAnomalia::DocumentoAllegatiNonLeggibili);
}

fn xmlsec1() -> bool {
    if Command::new("xmlsec1").arg("--version").output().is_err() {
        assert!(
            std::env::var_os("CI").is_none(),
            "xmlsec1 is required in CI"
        );
        eprintln!("xmlsec1 not found: interop test skipped");
        return false;
    }
    true
}

const XADES_ID: &str = "--id-attr:Id";
const XADES_NODE: &str = "http://uri.etsi.org/01903/v1.3.2#:SignedProperties";

#[test]
fn xmlsec1_verifies_our_seal() {
    if files().is_none() || !xmlsec1() {
        return;
    }
    let dir = files().unwrap();
    let xml = sealed(&full_segnatura());
    let tmp = tempfile::tempdir().unwrap();
    let f = tmp.path().join("Segnatura.xml");
    std::fs::write(&f, &xml).unwrap();
    let out = Command::new("xmlsec1")
        .args(["--verify", "--trusted-pem"])
        .arg(dir.join("seal.pem"))
        .args([XADES_ID, XADES_NODE])
        .arg(&f)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xmlsec1: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // And xmlsec1 refuses it once tampered (the check is real).
    std::fs::write(
        &f,
        xml.replace("Richiesta di permesso", "Richiesta di condono"),
    )
    .unwrap();
    let out = Command::new("xmlsec1")
        .args(["--verify", "--trusted-pem"])
        .arg(dir.join("seal.pem"))
        .args([XADES_ID, XADES_NODE])
        .arg(&f)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn we_verify_an_xmlsec1_seal() {
    if files().is_none() || !xmlsec1() {
        return;
    }
    let dir = files().unwrap();
    // Our sealed document with digests and signature value blanked is an xmlsec1 template.
    let xml = sealed(&minimal_segnatura());
    let mut template = String::new();
    let mut rest = xml.as_str();
    for tag in ["DigestValue", "DigestValue", "SignatureValue"] {
        let open = format!("<ds:{tag}>");
        let i = rest.find(&open).unwrap() + open.len();
        let j = i + rest[i..].find('<').unwrap();
        template.push_str(&rest[..i]);
        rest = &rest[j..];
    }
    template.push_str(rest);
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().join("template.xml");
    std::fs::write(&t, &template).unwrap();
    let signed = tmp.path().join("signed.xml");
    let key = format!(
        "{},{}",
        dir.join("seal.key").display(),
        dir.join("seal.pem").display()
    );
    let out = Command::new("xmlsec1")
        .args([
            "--sign",
            "--privkey-pem",
            &key,
            XADES_ID,
            XADES_NODE,
            "--output",
        ])
        .arg(&signed)
        .arg(&t)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "xmlsec1: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed = std::fs::read(&signed).unwrap();
    let v = verify_segnatura(&signed, &anchors("seal.pem"), &SealVerifyOptions::default()).unwrap();
    assert_eq!(v.segnatura, minimal_segnatura());
}

#[test]
fn seal_certificate_must_be_valid_at_validation_time() {
    if files().is_none() {
        return;
    }
    let xml = sealed(&minimal_segnatura());
    let opts = SealVerifyOptions::default().at(chrono::Utc::now() + chrono::Duration::days(3650));
    let err = verify_segnatura(xml.as_bytes(), &anchors("seal.pem"), &opts).unwrap_err();
    assert_eq!(err.codice, CodiceAnomalia::ValidazioneFirma);
    assert!(err.dettaglio.contains("not valid"), "{err}");
}

// ------------------------------------------------ XAdES-T time-stamps and seal revocation
//
// Seals by the revocation test PKI's signers (`openssl ca`), time-stamps by `openssl ts -reply`
// over the `ds:SignatureValue` canonicalized by lxml (an independent C14N), OCSP answers by
// `openssl ocsp` on 127.0.0.1; the PKI and TSA are the revocation and time-stamp tests' own.

const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

fn rev_seal(name: &str) -> String {
    let key = SigningKey::from_pem(&rd(&format!("{name}.key"))).unwrap();
    let cert = DsigCertificate::from_pem(&rd(&format!("{name}.pem"))).unwrap();
    seal_segnatura(&minimal_segnatura(), &key, &cert, &SealOptions::default()).unwrap()
}

fn rev_anchors() -> Vec<x509_cert::Certificate> {
    load_certificates(&rd("ca.pem")).unwrap()
}

/// The `ds:SignatureValue` element of `xml` canonicalized by lxml (exclusive or inclusive
/// C14N 1.0). Panics under CI when `$PA_PY` has no lxml; None outside CI.
fn lxml_signature_value(xml: &str, exclusive: bool) -> Option<Vec<u8>> {
    let py = std::env::var("PA_PY").unwrap_or_else(|_| "python3".into());
    if !Command::new(&py)
        .args(["-c", "import lxml.etree"])
        .output()
        .is_ok_and(|o| o.status.success())
    {
        assert!(
            std::env::var_os("CI").is_none(),
            "{py} with lxml is required in CI"
        );
        eprintln!("lxml not found: XAdES-T tests skipped");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("seal.xml");
    std::fs::write(&f, xml).unwrap();
    let out = Command::new(&py)
        .arg("-c")
        .arg(
            "import sys\nfrom lxml import etree\n\
             doc = etree.parse(sys.argv[1])\n\
             sv = doc.find('.//{http://www.w3.org/2000/09/xmldsig#}SignatureValue')\n\
             sys.stdout.buffer.write(etree.tostring(sv, method='c14n', exclusive=sys.argv[2] == '1'))",
        )
        .arg(&f)
        .arg(if exclusive { "1" } else { "0" })
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(out.stdout)
}

fn b64(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(b)
}

/// `xml` with `unsigned` (UnsignedSignatureProperties content) added to its QualifyingProperties.
fn with_unsigned(xml: &str, unsigned: &str) -> String {
    xml.replacen(
        "</xades:QualifyingProperties>",
        &format!(
            "<xades:UnsignedProperties><xades:UnsignedSignatureProperties>{unsigned}\
             </xades:UnsignedSignatureProperties></xades:UnsignedProperties></xades:QualifyingProperties>"
        ),
        1,
    )
}

fn time_stamp_element(token: &[u8], c14n: Option<&str>) -> String {
    let cm = c14n
        .map(|a| format!("<ds:CanonicalizationMethod xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" Algorithm=\"{a}\"/>"))
        .unwrap_or_default();
    format!(
        "<xades:SignatureTimeStamp Id=\"ts-1\">{cm}<xades:EncapsulatedTimeStamp>{}</xades:EncapsulatedTimeStamp></xades:SignatureTimeStamp>",
        b64(token)
    )
}

fn verify_rev(xml: &str, o: SealVerifyOptions) -> Result<VerifiedSegnatura, Anomalia> {
    verify_segnatura(xml.as_bytes(), &rev_anchors(), &o)
}

#[test]
fn xades_t_time_stamp_over_the_signature_value_agrees_with_openssl() {
    if pki().is_none() {
        return;
    }
    let xml = rev_seal("good");
    for (exclusive, c14n) in [(true, Some(EXC_C14N)), (false, None)] {
        let Some(data) = lxml_signature_value(&xml, exclusive) else {
            return;
        };
        let (tsr, token) = stamp(&data, "tsa_main");
        assert!(openssl_verifies(&data, &tsr), "openssl rejects its token");
        let stamped = with_unsigned(&xml, &time_stamp_element(&token, c14n));
        let v = verify_rev(&stamped, SealVerifyOptions::default().with_tsa(tsa())).unwrap();
        assert_eq!(v.time_stamps.len(), 1);
        let ts = v.time_stamps[0].result.as_ref().unwrap();
        assert!(ts.tsa.subject.contains("Test Time Stamping Unit"), "{ts}");
        assert_eq!(v.trusted_time, Some(ts.gen_time));
        assert!((Utc::now() - ts.gen_time).num_minutes().abs() < 10);

        // The trusted time is when the seal certificate is judged: two years on the seal
        // certificate has expired, but the time-stamp proves the seal existed before.
        let later = Utc::now() + chrono::Duration::days(730);
        let e = verify_rev(&stamped, SealVerifyOptions::default().at(later)).unwrap_err();
        assert_eq!(e.codice, CodiceAnomalia::ValidazioneFirma);
        let v = verify_rev(
            &stamped,
            SealVerifyOptions::default().at(later).with_tsa(tsa()),
        )
        .unwrap();
        assert!(v.trusted_time.is_some());
        // Without TSA trust the time-stamp is reported, not used.
        let v = verify_rev(&stamped, SealVerifyOptions::default()).unwrap();
        assert_eq!(v.trusted_time, None);
        assert!(v.time_stamps[0].result.is_err());
    }
}

#[test]
fn xades_t_attacks_are_refused() {
    if pki().is_none() {
        return;
    }
    let xml = rev_seal("good");
    let Some(data) = lxml_signature_value(&xml, true) else {
        return;
    };
    let o = || SealVerifyOptions::default().with_tsa(tsa());
    let refused = |x: &str, what: &str| {
        let e = verify_rev(x, o()).expect_err(what);
        assert_eq!(e.codice, CodiceAnomalia::ValidazioneFirma, "{what}");
        e.dettaglio
    };

    // A token over other data (another seal's SignatureValue): openssl agrees it does not fit.
    let other = rev_seal("revoked");
    let other_data = lxml_signature_value(&other, true).unwrap();
    assert_ne!(other_data, data);
    let (tsr, token) = stamp(&other_data, "tsa_main");
    assert!(!openssl_verifies(&data, &tsr));
    let d = refused(
        &with_unsigned(&xml, &time_stamp_element(&token, Some(EXC_C14N))),
        "token over other data",
    );
    assert!(d.contains("SignatureTimeStamp"), "{d}");

    // The right data, canonicalized otherwise than the element says.
    let (_, token) = stamp(&data, "tsa_main");
    refused(
        &with_unsigned(&xml, &time_stamp_element(&token, None)),
        "c14n differs",
    );

    // A TSA under a root that is not trusted.
    let (tsr, other_token) = stamp(&data, "tsa_other");
    assert!(!openssl_verifies(&data, &tsr), "openssl accepts tsa_other");
    refused(
        &with_unsigned(&xml, &time_stamp_element(&other_token, Some(EXC_C14N))),
        "untrusted TSA",
    );

    // Not base64; two tokens in one element; a QualifyingProperties of another signature.
    refused(
        &with_unsigned(
            &xml,
            "<xades:SignatureTimeStamp><xades:EncapsulatedTimeStamp>!!</xades:EncapsulatedTimeStamp></xades:SignatureTimeStamp>",
        ),
        "not base64",
    );
    let t = format!(
        "<xades:EncapsulatedTimeStamp>{}</xades:EncapsulatedTimeStamp>",
        b64(&token)
    );
    refused(
        &with_unsigned(
            &xml,
            &format!("<xades:SignatureTimeStamp>{t}{t}</xades:SignatureTimeStamp>"),
        ),
        "two tokens",
    );
    let good = with_unsigned(&xml, &time_stamp_element(&token, Some(EXC_C14N)));
    assert!(verify_rev(&good, o()).is_ok());
    let retargeted = good.replacen("Target=\"#", "Target=\"#other-", 1);
    assert_ne!(retargeted, good);
    refused(&retargeted, "Target of another signature");
}

#[test]
fn seal_revocation_with_crls_and_an_openssl_ocsp_responder() {
    if pki().is_none() {
        return;
    }
    let good = rev_seal("good");
    let revoked = rev_seal("revoked");
    // Not checked unless asked.
    let v = verify_rev(&revoked, SealVerifyOptions::default()).unwrap();
    assert_eq!(v.revocation, None);

    // Given CRL.
    let v = verify_rev(
        &good,
        SealVerifyOptions::default().with_revocation(with_crls(&["crl.der"])),
    )
    .unwrap();
    let r = v.revocation.unwrap();
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].status, RevocationStatus::Good);
    assert_eq!(r[0].source, Some(RevocationSource::GivenCrl(0)));
    let e = verify_rev(
        &revoked,
        SealVerifyOptions::default().with_revocation(with_crls(&["crl.der"])),
    )
    .unwrap_err();
    assert_eq!(e.codice, CodiceAnomalia::ValidazioneFirma);
    assert!(e.dettaglio.contains("keyCompromise"), "{}", e.dettaglio);

    // No information: fail closed; soft-fail says unknown; a CRL of another CA decides nothing.
    let e = verify_rev(
        &good,
        SealVerifyOptions::default().with_revocation(with_crls(&["other-crl.der"])),
    )
    .unwrap_err();
    assert!(
        e.dettaglio.contains("revocation status unknown"),
        "{}",
        e.dettaglio
    );
    let soft = RevocationOptions {
        soft_fail: true,
        ..with_crls(&["other-crl.der"])
    };
    let v = verify_rev(&good, SealVerifyOptions::default().with_revocation(soft)).unwrap();
    assert_eq!(v.revocation.unwrap()[0].status, RevocationStatus::Unknown);
    // A CRL with the CA's name signed by another key does not decide either.
    assert!(
        verify_rev(
            &good,
            SealVerifyOptions::default().with_revocation(with_crls(&["fake-crl.der"]))
        )
        .is_err()
    );

    // OCSP: openssl ocsp as the responder on 127.0.0.1.
    let r = Responder::start(free_port(), "responder.pem", "responder.key");
    let ocsp = RevocationOptions {
        ocsp: true,
        ocsp_url: Some(r.url()),
        ..RevocationOptions::default()
    };
    let v = verify_rev(
        &good,
        SealVerifyOptions::default().with_revocation(ocsp.clone()),
    )
    .unwrap();
    let rv = &v.revocation.unwrap()[0];
    assert_eq!(rv.status, RevocationStatus::Good);
    assert_eq!(rv.source, Some(RevocationSource::Ocsp(r.url())));
    let e = verify_rev(&revoked, SealVerifyOptions::default().with_revocation(ocsp)).unwrap_err();
    assert!(
        e.dettaglio.contains("revoked") && e.dettaglio.contains("OCSP"),
        "{}",
        e.dettaglio
    );
    // A responder nobody runs: fail closed.
    let gone = RevocationOptions {
        ocsp: true,
        ocsp_url: Some(format!("http://127.0.0.1:{}/", free_port())),
        ..RevocationOptions::default()
    };
    assert!(verify_rev(&good, SealVerifyOptions::default().with_revocation(gone)).is_err());

    // XAdES-LT: the CRL embedded in the seal's RevocationValues decides first.
    let lt = |x: &str| {
        with_unsigned(
            x,
            &format!(
                "<xades:RevocationValues><xades:CRLValues><xades:EncapsulatedCRLValue>{}</xades:EncapsulatedCRLValue></xades:CRLValues></xades:RevocationValues>",
                b64(&rd("crl.der"))
            ),
        )
    };
    let v = verify_rev(
        &lt(&good),
        SealVerifyOptions::default().with_revocation(RevocationOptions::default()),
    )
    .unwrap();
    assert_eq!(
        v.revocation.unwrap()[0].source,
        Some(RevocationSource::EmbeddedCrl)
    );
    assert!(
        verify_rev(
            &lt(&revoked),
            SealVerifyOptions::default().with_revocation(RevocationOptions::default())
        )
        .is_err()
    );
    // The seal certificate itself trusted (an anchor): nothing to check.
    let own = load_certificates(&rd("good.pem")).unwrap();
    let v = verify_segnatura(
        good.as_bytes(),
        &own,
        &SealVerifyOptions::default().with_revocation(RevocationOptions::default()),
    )
    .unwrap();
    assert_eq!(v.revocation, Some(Vec::new()));
}
