//! Parsing the messages from SIOPE+ and the treasurer.

use siopeplus::*;

use crate::common::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("messages").join(name)).unwrap()
}

#[test]
fn fixtures_validate_against_their_schemas() {
    for (f, xsd) in [
        ("ack_ko.xml", "OPI_MSG_ACK_SIOPE_V_1_6_1.xsd"),
        ("ack_ok.xml", "OPI_MSG_ACK_SIOPE_V_1_6_1.xsd"),
        ("ricezione.xml", "OPI_MSG_RICEZIONE_FLUSSO_V_1_6_1.xsd"),
        ("rifiuto.xml", "OPI_MSG_RIFIUTO_FLUSSO_V_1_6_1.xsd"),
        (
            "esito_applicativo.xml",
            "OPI_MSG_ESITO_APPLICATIVO_V_1_6_1.xsd",
        ),
        ("giornale_di_cassa.xml", "OPI_GIORNALE_DI_CASSA_V_1_7_1.xsd"),
        (
            "disponibilita_liquide.xml",
            "OPI_DISPONIBILITA_LIQUIDE_V_1_7_1.xsd",
        ),
    ] {
        assert_schema_valid(&fixture(f), xsd);
    }
}

#[test]
fn ack_ko_with_errors_and_warnings() {
    let a = AckSiope::from_xml(&fixture("ack_ko.xml")).unwrap();
    assert_eq!(a.stato_flusso, StatoFlusso::Ko);
    assert_eq!(a.identificativo_flusso.as_deref(), Some("FL-2026-0001"));
    assert_eq!(a.esercizio, Some(2026));
    assert_eq!(a.testata.codice_ente.as_str(), "UF1234");
    assert_eq!(a.testata.descrizione_ente, "Comune di Roccasecca & Uniti");
    assert_eq!(a.errori.len(), 1);
    assert_eq!(a.errori[0].codice, 105);
    assert_eq!(
        a.errori[0].elemento.as_deref(),
        Some("/flusso_ordinativi/mandato[2]/importo_mandato")
    );
    assert_eq!(a.warning[0].codice, 9);
    assert_eq!(a.warning[0].elemento, None);
    // Our writer produces a schema-valid ACK that reads back the same.
    let xml = a.to_xml();
    assert_schema_valid(xml.as_bytes(), "OPI_MSG_ACK_SIOPE_V_1_6_1.xsd");
    assert_eq!(AckSiope::from_xml(xml.as_bytes()).unwrap(), a);
}

#[test]
fn unknown_codes_do_not_break_parsing() {
    let s = String::from_utf8(fixture("ack_ok.xml"))
        .unwrap()
        .replace(">OK<", ">PARZIALE<");
    let a = AckSiope::from_xml(s.as_bytes()).unwrap();
    assert_eq!(a.stato_flusso, StatoFlusso::Other("PARZIALE".into()));
    let s = String::from_utf8(fixture("esito_applicativo.xml"))
        .unwrap()
        .replace(">RISCOSSO<", ">RISCOSSO PARZIALMENTE<");
    let e = EsitoApplicativo::from_xml(s.as_bytes()).unwrap();
    assert_eq!(
        e.esiti[2].esito_operazione,
        EsitoOperazione::Other("RISCOSSO PARZIALMENTE".into())
    );
}

#[test]
fn ricezione_and_rifiuto() {
    let r = RicezioneFlusso::from_xml(&fixture("ricezione.xml")).unwrap();
    assert_eq!(r.identificativo_flusso, "FL-2026-0001");
    assert_eq!(r.identificativo_flusso_bt, "BT-2026-000981");
    assert!(r.signed);
    let r = RifiutoFlusso::from_xml(&fixture("rifiuto.xml")).unwrap();
    assert!(r.signed);
    assert_eq!(r.errori.len(), 2);
    assert_eq!(r.errori[0].codice, Some(12));
    assert_eq!(r.errori[1].codice, None);
    assert_eq!(
        r.errori[1].descrizione,
        "Identificativo flusso gia' trasmesso"
    );
}

#[test]
fn esito_applicativo_per_order() {
    let e = EsitoApplicativo::from_xml(&fixture("esito_applicativo.xml")).unwrap();
    assert_eq!(e.esiti.len(), 3);
    let m1 = &e.esiti[0];
    assert_eq!(
        (m1.tipo, m1.numero, m1.esito_operazione.clone()),
        (TipoOrdinativo::Mandato, 1, EsitoOperazione::Acquisito)
    );
    assert_eq!(m1.importo, Some(eur("1255.50")));
    let m2 = &e.esiti[1];
    assert!(m2.esito_operazione.is_negative());
    assert_eq!(m2.errori[0].codice_errore, Some(301));
    assert_eq!(m2.errori[0].progressivo, Some(1));
    let r1 = &e.esiti[2];
    assert_eq!(
        (r1.tipo, r1.esito_operazione.clone()),
        (TipoOrdinativo::Reversale, EsitoOperazione::Riscosso)
    );
    assert_eq!(r1.to_string(), "reversale 1/2026: RISCOSSO");
    // Writing then parsing gives the same values (signature aside).
    let mut unsigned = e.clone();
    unsigned.signed = false;
    assert_eq!(
        EsitoApplicativo::from_xml(unsigned.to_xml().as_bytes()).unwrap(),
        unsigned
    );
}

#[test]
fn giornale_di_cassa() {
    let g = GiornaleDiCassa::from_xml(&fixture("giornale_di_cassa.xml")).unwrap();
    assert_eq!((g.pagina, g.pagine_totali), (1, 1));
    assert_eq!(g.data_riferimento, d(2026, 3, 3));
    let c = &g.conti[0];
    assert_eq!(c.movimenti.len(), 2);
    let m = &c.movimenti[0];
    assert_eq!(m.tipo_movimento, TipoMovimento::Uscita);
    assert_eq!(m.tipo_operazione, TipoOperazioneMovimento::Eseguito);
    assert_eq!(m.importo.cents(), 122_000);
    assert_eq!(
        m.cliente.codice_fiscale.as_deref(),
        Some("RSSMRA85T10A562S")
    );
    let s = &c.movimenti[1];
    assert_eq!(
        s.sospeso_da_regolarizzare
            .as_ref()
            .unwrap()
            .codice_gestionale_provvisorio,
        "3010"
    );
    assert_eq!(
        s.dati_a_disposizione_bt.as_ref().unwrap().as_str(),
        "<nota>sportello 3</nota>"
    );
    assert_eq!(c.saldo_finale.unwrap().cents(), 4_888_000);
    let t = g.totali_esercizio.as_ref().unwrap();
    assert_eq!(t.totale_sospesi_uscita.cents(), 0);
    let d = g.totali_disponibilita_liquide.as_ref().unwrap();
    assert_eq!(d.voci["saldo_conti_correnti"].cents(), -12_050);
    assert_eq!(d.disponibilita().to_string(), "48759.50");
    assert!(g.signed);
}

#[test]
fn disponibilita_liquide() {
    let d = DisponibilitaLiquide::from_xml(&fixture("disponibilita_liquide.xml")).unwrap();
    let s = &d.segnalazioni[0];
    assert_eq!((s.anno_riferimento, s.mese_riferimento), (2026, 2));
    assert_eq!(s.voci.len(), 15);
    assert_eq!(s.voci[&1100].cents(), 4_888_000);
    assert_eq!(s.voci[&1450].cents(), -1230);
}

#[test]
fn parse_message_dispatches_on_root_and_refuses_others() {
    assert!(matches!(
        parse_message(&fixture("ack_ok.xml")).unwrap(),
        Messaggio::Ack(_)
    ));
    assert!(matches!(
        parse_message(&fixture("giornale_di_cassa.xml")).unwrap(),
        Messaggio::GiornaleDiCassa(_)
    ));
    assert!(matches!(
        parse_message(&fixture("disponibilita_liquide.xml")).unwrap(),
        Messaggio::DisponibilitaLiquide(_)
    ));
    let err = parse_message(b"<foo/>").unwrap_err().to_string();
    assert!(err.contains("root element is foo"), "{err}");
    let err = AckSiope::from_xml(&fixture("ricezione.xml"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("expected messaggio_ack_siope"), "{err}");
}

#[test]
fn hostile_messages_are_refused() {
    let xxe = br#"<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]><messaggio_ack_siope>&x;</messaggio_ack_siope>"#;
    let err = parse_message(xxe).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Parse(ParseError {
                kind: ParseErrorKind::Dtd,
                ..
            })
        ),
        "{err}"
    );
    let deep = format!(
        "<messaggio_ack_siope>{}{}</messaggio_ack_siope>",
        "<a>".repeat(100),
        "</a>".repeat(100)
    );
    let err = parse_message(deep.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("nesting deeper"), "{err}");
    let s = String::from_utf8(fixture("ack_ok.xml")).unwrap();
    let extra = s.replace(
        "</messaggio_ack_siope>",
        "<intruso>1</intruso></messaggio_ack_siope>",
    );
    let err = parse_message(extra.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("unexpected element intruso"), "{err}");
    let trailing = format!("{s}<second/>");
    assert!(parse_message(trailing.as_bytes()).is_err());
}
