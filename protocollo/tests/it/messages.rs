use protocollo::*;

use crate::common::*;

fn ricevuto() -> MessaggioRicevuto {
    MessaggioRicevuto::of(&full_segnatura())
}

#[test]
fn conferma_ricezione_round_trips_and_validates() {
    let c = Conferma {
        identificatore: identificatore(12),
        messaggio_ricevuto: ricevuto(),
    };
    let xml = c.to_conferma_ricezione_xml();
    xmllint(&xml, "pec_message.xsd");
    assert_eq!(
        MessaggioAoo::from_xml(&xml).unwrap(),
        MessaggioAoo::ConfermaRicezione(c.clone())
    );
    let xml = c.to_aggiornamento_conferma_xml();
    xmllint(&xml, "pec_message.xsd");
    assert_eq!(
        MessaggioAoo::from_xml(&xml).unwrap(),
        MessaggioAoo::AggiornamentoConferma(c)
    );
}

#[test]
fn notifica_eccezione_round_trips_and_validates() {
    let n = NotificaEccezione::anomalia(
        ricevuto(),
        &CodiceAnomalia::AnomaliaImpronta,
        "Impronta di allegato.txt non corrispondente",
    );
    let xml = n.to_xml();
    xmllint(&xml, "pec_message.xsd");
    let MessaggioAoo::NotificaEccezione(back) = MessaggioAoo::from_xml(&xml).unwrap() else {
        panic!("wrong kind");
    };
    assert_eq!(back, n);
    assert_eq!(
        back.codice_anomalia(),
        Some(CodiceAnomalia::AnomaliaImpronta)
    );

    let n = NotificaEccezione {
        identificatore: Some(identificatore(3)),
        messaggio_ricevuto: MessaggioRicevuto::DescrizioneMessaggio("PEC del 1/2/2021".into()),
        motivo: "000_Irricevibile".into(),
    };
    let xml = n.to_xml();
    xmllint(&xml, "pec_message.xsd");
    assert_eq!(
        MessaggioAoo::from_xml(&xml).unwrap(),
        MessaggioAoo::NotificaEccezione(n)
    );
}

#[test]
fn annullamento_round_trips_and_validates() {
    let a = AnnullamentoProtocollazione {
        identificatore: identificatore(99),
        motivo: "Errata registrazione".into(),
        provvedimento: "Determina n. 5 del 2021".into(),
    };
    let xml = a.to_xml();
    xmllint(&xml, "pec_message.xsd");
    assert_eq!(
        MessaggioAoo::from_xml(&xml).unwrap(),
        MessaggioAoo::AnnullamentoProtocollazione(a)
    );
}

#[test]
fn dispatches_segnatura_and_rejects_unknown() {
    let xml = minimal_segnatura().to_xml().unwrap();
    assert!(matches!(
        MessaggioAoo::from_xml(&xml).unwrap(),
        MessaggioAoo::Segnatura(_)
    ));
    let err = MessaggioAoo::from_xml(
        r#"<pec:Altro xmlns:pec="http://www.agid.gov.it/protocollo/pec/" pec:versione="3.0.0" pec:lang="it"/>"#,
    )
    .unwrap_err();
    assert!(matches!(
        err,
        Error::Parse(ParseError::UnexpectedRoot { .. })
    ));
}

#[test]
fn rejects_conferma_without_messaggio_ricevuto() {
    let c = Conferma {
        identificatore: identificatore(12),
        messaggio_ricevuto: MessaggioRicevuto::DescrizioneMessaggio("x".into()),
    };
    let xml = c.to_conferma_ricezione_xml();
    let start = xml.find("<pec:MessaggioRicevuto>").unwrap();
    let end = xml.find("</pec:MessaggioRicevuto>").unwrap() + "</pec:MessaggioRicevuto>".len();
    let broken = format!("{}{}", &xml[..start], &xml[end..]);
    let err = MessaggioAoo::from_xml(&broken).unwrap_err();
    assert!(err.to_string().contains("MessaggioRicevuto"), "{err}");
}
