use protocollo::*;

use crate::common::*;

const CLOSE: &str = "</prot:SegnaturaInformatica>";

#[test]
fn full_segnatura_round_trips() {
    let s = full_segnatura();
    let xml = s.to_xml().unwrap();
    let parsed = SegnaturaInformatica::parse_with(&xml, ParseOptions::strict()).unwrap();
    assert!(!parsed.has_signature);
    assert_eq!(parsed.root, RootNamespace::Protocollo);
    // The 5-digit CAP is written in the schema's 6-digit form; everything else is identical.
    let mut expected = s.clone();
    fix_caps(&mut expected);
    let mut got = parsed.segnatura;
    fix_caps(&mut got);
    assert_eq!(got, expected);
}

#[test]
fn full_segnatura_is_schema_valid() {
    let xml = full_segnatura().to_xml().unwrap();
    xmllint(
        &with_dummy_signature(&xml, CLOSE),
        "segnatura_protocollo.xsd",
    );
}

#[test]
fn minimal_segnatura_is_schema_valid() {
    let xml = minimal_segnatura().to_xml().unwrap();
    assert!(xml.contains("<prot:NumeroRegistrazione>0000005</prot:NumeroRegistrazione>"));
    xmllint(
        &with_dummy_signature(&xml, CLOSE),
        "segnatura_protocollo.xsd",
    );
}

#[test]
fn pec_root_is_schema_valid_and_parses() {
    let xml = minimal_segnatura().to_xml().unwrap();
    let pec = xml
        .replace(
            "<prot:SegnaturaInformatica xmlns:prot=\"http://www.agid.gov.it/protocollo/\"",
            "<pec:SegnaturaInformatica xmlns:pec=\"http://www.agid.gov.it/protocollo/pec/\" \
             xmlns:prot=\"http://www.agid.gov.it/protocollo/\"",
        )
        .replace(CLOSE, "</pec:SegnaturaInformatica>");
    let signed = with_dummy_signature(&pec, "</pec:SegnaturaInformatica>");
    xmllint(&signed, "pec_message.xsd");
    let parsed = SegnaturaInformatica::parse_with(&signed, ParseOptions::strict()).unwrap();
    assert_eq!(parsed.root, RootNamespace::Pec);
    assert!(parsed.has_signature);
    assert_eq!(parsed.segnatura, minimal_segnatura());
}

#[test]
fn json_model_round_trips() {
    let s = full_segnatura();
    let json = serde_json::to_string_pretty(&s).unwrap();
    let back: SegnaturaInformatica = serde_json::from_str(&json).unwrap();
    assert_eq!(back, s);
    assert!(json.contains("\"numero_registrazione\": \"0341944\""));
}

#[test]
fn password_is_redacted_in_debug() {
    let s = full_segnatura();
    let dbg = format!("{s:?}");
    assert!(!dbg.contains("s3cret"));
    assert!(dbg.contains("[redacted]"));
}

#[test]
fn rejects_missing_classifica_with_path() {
    let xml = minimal_segnatura().to_xml().unwrap();
    let start = xml.find("<prot:Classifica>").unwrap();
    let end = xml.find("</prot:Classifica>").unwrap() + "</prot:Classifica>".len();
    let broken = format!("{}{}", &xml[..start], &xml[end..]);
    let err = SegnaturaInformatica::from_xml(&broken).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("SegnaturaInformatica/Intestazione"), "{msg}");
    assert!(msg.contains("Classifica"), "{msg}");
}

#[test]
fn rejects_short_protocol_number() {
    let xml = minimal_segnatura()
        .to_xml()
        .unwrap()
        .replace(">0000005<", ">12345<");
    let err = SegnaturaInformatica::from_xml(&xml).unwrap_err();
    assert!(err.to_string().contains("NumeroRegistrazione"), "{err}");
}

#[test]
fn rejects_unexpected_element() {
    let xml = minimal_segnatura()
        .to_xml()
        .unwrap()
        .replace("<prot:Oggetto>", "<prot:Intruso/><prot:Oggetto>");
    assert!(matches!(
        SegnaturaInformatica::from_xml(&xml),
        Err(Error::Parse(ParseError::Unexpected { .. }))
    ));
}

#[test]
fn unqualified_attributes_only_when_asked() {
    let xml = minimal_segnatura()
        .to_xml()
        .unwrap()
        .replace("prot:versione=", "versione=")
        .replace("prot:lang=", "lang=")
        .replace("prot:nomeFile=", "nomeFile=")
        .replace("prot:mimeType=", "mimeType=")
        .replace("prot:algoritmo=", "algoritmo=");
    assert!(SegnaturaInformatica::from_xml(&xml).is_err());
    let p = SegnaturaInformatica::parse_with(
        &xml,
        ParseOptions::strict().accept_unqualified_attributes(),
    )
    .unwrap();
    assert_eq!(p.segnatura, minimal_segnatura());
}

#[test]
fn rejects_wrong_version_and_root() {
    let xml = minimal_segnatura().to_xml().unwrap();
    assert!(SegnaturaInformatica::from_xml(&xml.replace("\"3.0.0\"", "\"2.0.0\"")).is_err());
    assert!(matches!(
        SegnaturaInformatica::from_xml("<a/>"),
        Err(Error::Parse(ParseError::UnexpectedRoot { .. }))
    ));
}

#[test]
fn refuses_entity_expansion_attack() {
    let bomb = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]>
<prot:SegnaturaInformatica xmlns:prot="http://www.agid.gov.it/protocollo/">&lol2;</prot:SegnaturaInformatica>"#;
    assert!(matches!(
        SegnaturaInformatica::from_xml(bomb),
        Err(Error::Xml(XmlError::Dtd { .. }))
    ));
}

#[test]
fn empty_destinatari_cannot_be_written() {
    let mut s = minimal_segnatura();
    s.descrizione.destinatari.clear();
    assert!(matches!(s.to_xml(), Err(WriteError::Invalid { .. })));
}

#[test]
fn impronta_of_documents() {
    let s = full_segnatura();
    s.descrizione
        .documento_primario
        .impronta
        .check("istanza.pdf", PRIMARY)
        .unwrap();
    let a = &s.descrizione.allegati[0];
    assert_eq!(a.impronta.algoritmo, DigestAlgorithm::Sha512);
    a.impronta.check("allegato.txt", ATTACHMENT).unwrap();
    assert!(a.impronta.check("allegato.txt", b"tampered").is_err());
}

#[test]
fn codice_uni_aoo_form() {
    assert!(CodiceIpa::new("A1B2C3D").is_codice_uni_aoo());
    assert!(!CodiceIpa::new("AOO_ANCONA").is_codice_uni_aoo());
    assert!(!CodiceIpa::new("B1B2C3D").is_codice_uni_aoo());
}

#[test]
fn a_fiscal_code_with_a_wrong_check_character_is_refused() {
    // The segnatura carries the shared `pa_types::CodiceFiscale`: a code that only matches the
    // schema's pattern but fails the check character is not a fiscal code.
    let xml = full_segnatura().to_xml().unwrap();
    assert!(xml.contains("RSSMRA85T10A562S"));
    let forged = xml.replace("RSSMRA85T10A562S", "RSSMRA85T10A562T");
    let err = SegnaturaInformatica::parse_with(&forged, ParseOptions::strict()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("CodiceFiscale"), "{msg}");
    assert!(msg.contains("expected 'S' found 'T'"), "{msg}");
}
