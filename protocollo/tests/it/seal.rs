use std::process::Command;

use protocollo::xmldsig::{Certificate as DsigCertificate, SigningKey};
use protocollo::*;

use crate::common::*;

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
