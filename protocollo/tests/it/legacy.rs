use protocollo::*;

use crate::common::xmllint;

const FIXTURE: &str = include_str!("../fixtures/segnatura2013/Segnatura.xml");

#[test]
fn fixture_is_valid_2013() {
    xmllint(FIXTURE, "segnatura_protocollo_2013.xsd");
}

#[test]
fn parses_2013_segnatura() {
    let s = Segnatura2013::from_xml(FIXTURE).unwrap();
    assert_eq!(s.identificatore.numero_registrazione, "0012345");
    assert_eq!(s.identificatore.codice_registro, "PG");
    assert_eq!(s.origine_indirizzo, "protocollo@pec.comune.ancona.it");
    assert_eq!(
        s.mittente.denominazione.as_deref(),
        Some("Comune di Ancona")
    );
    assert_eq!(s.mittente.codice_aoo.as_deref(), Some("AOO_ANCONA"));
    assert_eq!(s.mittente.persone, vec!["Anna Bianchi".to_owned()]);
    assert_eq!(s.destinazioni.len(), 1);
    assert!(s.destinazioni[0].conferma_ricezione);
    assert_eq!(
        s.destinazioni[0].destinatari[0]
            .codice_amministrazione
            .as_deref(),
        Some("r_marche")
    );
    assert!(!s.per_conoscenza[0].conferma_ricezione);
    assert_eq!(s.oggetto, "Trasmissione delibera & allegati");
    assert_eq!(s.classifiche, vec![vec!["VI".to_owned(), "3".to_owned()]]);
    let doc = s.documento.as_ref().unwrap();
    assert_eq!(doc.nome.as_deref(), Some("delibera.pdf"));
    doc.impronta
        .as_ref()
        .unwrap()
        .check("delibera.pdf", b"abc")
        .unwrap();
    assert_eq!(s.allegati.len(), 2);
    assert_eq!(s.allegati[1].nome.as_deref(), Some("allegato2.pdf"));
    let id = s.identificatore.to_2021().unwrap();
    assert_eq!(id.numero_registrazione.value(), 12_345);
}

#[test]
fn rejects_2021_as_2013_and_doctype() {
    assert!(matches!(
        Segnatura2013::from_xml(&crate::common::minimal_segnatura().to_xml().unwrap()),
        Err(Error::Parse(ParseError::UnexpectedRoot { .. }))
    ));
    let with_dtd = FIXTURE.replace(
        "<Segnatura ",
        "<!DOCTYPE Segnatura SYSTEM \"Segnatura.dtd\"><Segnatura ",
    );
    assert!(matches!(
        Segnatura2013::from_xml(&with_dtd),
        Err(Error::Xml(XmlError::Dtd { .. }))
    ));
}

#[test]
fn missing_destinazione_is_reported() {
    let start = FIXTURE.find("<Destinazione ").unwrap();
    let end = FIXTURE.find("</Destinazione>").unwrap() + "</Destinazione>".len();
    let broken = format!("{}{}", &FIXTURE[..start], &FIXTURE[end..]);
    let err = Segnatura2013::from_xml(&broken).unwrap_err();
    assert!(err.to_string().contains("Destinazione"), "{err}");
}

#[test]
fn older_producers_only_when_asked() {
    let old = FIXTURE
        .replace(" xmlns=\"http://www.digitPa.gov.it/protocollo/\"", "")
        .replace(
            "<Segnatura ",
            "<!DOCTYPE Segnatura SYSTEM \"Segnatura.dtd\">\n<Segnatura ",
        );
    assert!(Segnatura2013::from_xml(&old).is_err());
    assert!(
        Segnatura2013::from_xml_with(&old, ParseOptions::strict().allow_external_doctype())
            .is_err()
    );
    let s = Segnatura2013::from_xml_with(
        &old,
        ParseOptions::strict()
            .allow_external_doctype()
            .accept_unnamespaced_2013(),
    )
    .unwrap();
    assert_eq!(s, Segnatura2013::from_xml(FIXTURE).unwrap());
    // An internal subset (where entities live) is refused even then.
    let evil = old.replace(
        "\"Segnatura.dtd\">",
        "\"Segnatura.dtd\" [<!ENTITY x \"y\">]>",
    );
    assert!(matches!(
        Segnatura2013::from_xml_with(
            &evil,
            ParseOptions::strict()
                .allow_external_doctype()
                .accept_unnamespaced_2013()
        ),
        Err(Error::Xml(XmlError::Dtd { .. }))
    ));
}
