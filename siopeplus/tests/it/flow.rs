//! Writing, validating and reading `flusso_ordinativi`.

use siopeplus::*;

use crate::common::*;

fn write(f: &FlussoOrdinativi) -> Vec<u8> {
    write_flow(f, Vec::new(), false).unwrap()
}

#[test]
fn written_flow_validates_against_the_official_schema() {
    let f = flow("FL-2026-0001", 3);
    validate_flow(&f).unwrap();
    let xml = write(&f);
    assert_schema_valid(&with_placeholder_signature(&xml), FLOW_XSD);
    // Indented output too.
    let pretty = write_flow(&f, Vec::new(), true).unwrap();
    assert_schema_valid(&with_placeholder_signature(&pretty), FLOW_XSD);
}

#[test]
fn every_optional_part_validates() {
    let mut f = flow("FL-FULL", 1);
    let Ordinativo::Mandato(m) = &mut f.ordinativi[0] else {
        unreachable!()
    };
    m.tipo_operazione = TipoOperazione::Sostituzione;
    m.estremi_provvedimento_autorizzativo = Some("Det. 12/2026".into());
    m.responsabile_provvedimento = Some("Dott. Verdi".into());
    m.ufficio_responsabile = Some("Ragioneria".into());
    m.funzionario_delegato = Some(FunzionarioDelegato {
        codice_funzionario_delegato: "1234567".into(),
        importo_funzionario_delegato: eur("10.00"),
        tipologia_pagamento_funzionario_delegato: "X".into(),
        numero_pagamento_funzionario_delegato: "1".into(),
    });
    m.dati_a_disposizione_ente = Some(DatiEnteMandato::Miur(MiurMandato {
        aggregato: 'A',
        descrizione_aggregato: "Funzionamento".into(),
        voce: 1,
        descrizione_voce: "Spese".into(),
        anno_provenienza: 2025,
        numero_impegno: "000123".into(),
    }));
    for (i, b) in m.informazioni_beneficiario.iter_mut().enumerate() {
        b.impignorabili = true;
        b.non_frazionabile = true;
        b.gestione_provvisoria = true;
        b.data_esecuzione_pagamento = Some(d(2026, 3, 5));
        b.data_scadenza_pagamento = Some(d(2026, 3, 31));
        b.destinazione = Some(Destinazione::Libera);
        b.tipo_contabilita_ente_ricevente = Some(TipoContabilita::Infruttifera);
        b.tipo_postalizzazione = Some(TipoPostalizzazione::RaccomandataAr);
        b.spese = Some(Spese {
            soggetto_destinatario: SoggettoSpese::ACaricoEnte,
            natura_pagamento: Some("".into()),
            causale_esenzione_spese: None,
        });
        b.delegato = vec![Delegato {
            anagrafica: "Verdi Luca".into(),
            indirizzo: None,
            cap: Some("00100".into()),
            localita: None,
            provincia: None,
            stato: Some("IT".into()),
            codice_fiscale: "VRDLCU80A01H501G".into(),
        }];
        b.creditore_effettivo = Some(Soggetto {
            partita_iva: Some("01114601006".into()),
            ..Soggetto::new("Creditore S.p.A.")
        });
        b.piazzatura = Some("000012345678".into());
        b.codice_versante = Some("A123456789".into());
        b.sospeso = vec![Sospeso {
            numero_provvisorio: 5,
            importo_provvisorio: eur("1.00"),
        }];
        b.ritenute = vec![Ritenuta {
            importo_ritenute: eur("2.00"),
            numero_reversale: 1,
            progressivo_versante: 1,
        }];
        b.sostituzione_mandato = Some(Sostituzione {
            numero_da_sostituire: 9,
            progressivo_da_sostituire: 1,
            esercizio_da_sostituire: 2025,
        });
        b.dati_a_disposizione_ente_beneficiario = Some(RawXml::new("<x>y</x>").unwrap());
        if i == 0 {
            let sct = b.sepa_credit_transfer.as_mut().unwrap();
            sct.category_purpose = Some(CategoryPurpose::Code(CategoryPurposeCode::Sala));
            b.classificazione[0].dati_siope.debiti.insert(
                0,
                DebitoUscita::NonCommerciale {
                    tipo: TipoDebitoNonCommerciale::Iva,
                    cig_fatture: Some((
                        CigOEsclusione::Esclusione(MotivoEsclusioneCig::AmministrazioneDiretta),
                        vec![FatturaSiope {
                            codice_ipa_ente_siope: "UF1234".parse().unwrap(),
                            documento: DocumentoSiope::Analogico {
                                tipo: TipoDocumentoAnalogico::FattAnalogica,
                                codice_fiscale_emittente: "01114601006".into(),
                                anno_emissione: 2026,
                            },
                            dati: DatiFatturaSiope {
                                numero_fattura: "A-1".into(),
                                importo: "-10.00".parse().unwrap(),
                                data_scadenza_pagam: d(2026, 4, 1),
                                motivo_scadenza: None,
                                natura_spesa: NaturaSpesa::Capitale,
                                utilizzo_nota_di_credito: Some(UtilizzoNotaCredito::SplitPayment),
                            },
                        }],
                    )),
                },
            );
        }
    }
    let Ordinativo::Reversale(r) = &mut f.ordinativi[1] else {
        unreachable!()
    };
    r.dati_a_disposizione_ente = Some(DatiEnteReversale::Miur(MiurReversale {
        aggregato: 2,
        descrizione_aggregato: "Contributi".into(),
        voce: 3,
        descrizione_voce: "Famiglie".into(),
        sottovoce: Some(1),
        descrizione_sottovoce: Some("Gite".into()),
        anno_provenienza: 2026,
        numero_accertamento: "000042".into(),
    }));
    let v = &mut r.informazioni_versante[0];
    v.tipo_riscossione = TipoRiscossione::PrelievoDaCcPostale;
    v.numero_ccp = Some(12345);
    v.tipo_entrata = Some(TipoEntrata::Infruttifero);
    v.destinazione = Some(Destinazione::Vincolata);
    v.informazioni_aggiuntive = Some(InformazioniAggiuntive {
        lingua: Some(Lingua::Tedesco),
        riferimento_documento_esterno: Some("DOC-1".into()),
        avviso_pagopa: None,
    });
    v.dati_a_disposizione_ente_versante = Some(RawXml::new("testo <b>libero</b>").unwrap());
    validate_flow(&f).unwrap();
    let xml = write(&f);
    assert_schema_valid(&with_placeholder_signature(&xml), FLOW_XSD);
    let back = parse_flow(&xml).unwrap();
    assert_eq!(back, f);
}

#[test]
fn round_trip_through_the_reader() {
    let f = flow("FL-RT", 5);
    let xml = write(&f);
    let back = parse_flow(&xml).unwrap();
    assert_eq!(back, f);
    // Signed form (signatures at the end) reads the same and counts the signature.
    let signed = with_placeholder_signature(&xml);
    let mut r = FlowReader::new(&signed[..]).unwrap();
    let n = r.by_ref().filter(|o| o.is_ok()).count();
    assert_eq!(n, 6);
    assert_eq!(r.signatures(), 1);
}

#[test]
fn totals_must_add_up_and_errors_name_order_and_field() {
    let mut f = flow("FL-BAD", 2);
    let Ordinativo::Mandato(m) = &mut f.ordinativi[1] else {
        unreachable!()
    };
    m.importo_mandato = eur("1.00");
    m.informazioni_beneficiario[0].classificazione[0].importo = eur("1000.00");
    let errs = validate_flow(&f).unwrap_err();
    let msgs: Vec<String> = errs.errors().iter().map(ToString::to_string).collect();
    assert!(
        msgs.iter().any(|m| m.starts_with(
            "mandato 2: importo_mandato: is 1.00 but the beneficiaries' amounts add up to 1255.50"
        )),
        "{msgs:?}"
    );
    assert!(
        msgs.iter().any(|m| m.starts_with("mandato 2: informazioni_beneficiario[1]/classificazione: amounts add up to 1000.00 but importo_beneficiario is 1220.00")),
        "{msgs:?}"
    );
    assert_eq!(errs.errors()[0].order, OrderRef::Mandato(2));
}

#[test]
fn duplicate_numbers_and_progressivi_are_refused() {
    let mut f = flow("FL-DUP", 2);
    let Ordinativo::Mandato(m) = &mut f.ordinativi[1] else {
        unreachable!()
    };
    m.numero_mandato = 1;
    m.informazioni_beneficiario[1].progressivo_beneficiario = 1;
    let errs = validate_flow(&f).unwrap_err();
    let e = errs.errors();
    assert!(
        e.iter()
            .any(|e| e.order == OrderRef::Mandato(1) && e.field == "numero_mandato"),
        "{errs}"
    );
    assert!(
        e.iter()
            .any(|e| e.field == "informazioni_beneficiario[2]/progressivo_beneficiario"),
        "{errs}"
    );
}

#[test]
fn streaming_writer_refuses_bad_orders_without_writing_them() {
    let mut w =
        FlowWriter::new(Vec::new(), &testata("FL-S"), 2026, WriterOptions::default()).unwrap();
    w.write_mandato(&mandato(1)).unwrap();
    let err = w.write_mandato(&mandato(1)).unwrap_err();
    assert!(matches!(err, Error::Validation(_)), "{err}");
    let mut bad = mandato(2);
    bad.informazioni_beneficiario[0].causale = "a\u{1}b".into();
    let err = w.write_mandato(&bad).unwrap_err();
    assert!(err.to_string().contains("U+0001"), "{err}");
    let mut bad = mandato(3);
    bad.informazioni_beneficiario[0].sepa_credit_transfer = None;
    let err = w.write_mandato(&bad).unwrap_err().to_string();
    assert!(
        err.contains("mandato 3: informazioni_beneficiario[1]/sepa_credit_transfer: is required"),
        "{err}"
    );
    w.write_reversale(&reversale(1)).unwrap();
    assert_eq!(w.orders_written(), 2);
    let xml = w.finish().unwrap();
    assert_schema_valid(&with_placeholder_signature(&xml), FLOW_XSD);
    assert_eq!(parse_flow(&xml).unwrap().ordinativi.len(), 2);
}

#[test]
fn identifier_formats_are_checked() {
    let mut f = flow("FL-ID", 1);
    f.testata.codice_fiscale_ente = "02438750587".into();
    let Ordinativo::Mandato(m) = &mut f.ordinativi[0] else {
        unreachable!()
    };
    m.informazioni_beneficiario[0].beneficiario.codice_fiscale = Some("RSSMRA85T10A562X".into());
    m.informazioni_beneficiario[1].beneficiario.partita_iva = Some("12345678901".into());
    let errs = validate_flow(&f).unwrap_err();
    let fields: Vec<&str> = errs.errors().iter().map(|e| e.field.as_str()).collect();
    assert!(
        fields.contains(&"testata_flusso/codice_fiscale_ente"),
        "{errs}"
    );
    assert!(
        fields.contains(&"informazioni_beneficiario[1]/beneficiario/codice_fiscale_beneficiario"),
        "{errs}"
    );
    assert!(
        fields.contains(&"informazioni_beneficiario[2]/beneficiario/partita_iva_beneficiario"),
        "{errs}"
    );
    // A foreign beneficiary's tax code is free-form.
    let Ordinativo::Mandato(m) = &mut f.ordinativi[0] else {
        unreachable!()
    };
    m.informazioni_beneficiario[0].beneficiario.stato = Some("DE".into());
    m.informazioni_beneficiario[0].beneficiario.codice_fiscale = Some("DE123456789".into());
    let errs = validate_flow(&f).unwrap_err();
    assert!(
        !errs
            .errors()
            .iter()
            .any(|e| e.field.contains("[1]/beneficiario")),
        "{errs}"
    );
}

#[test]
fn empty_flow_is_refused() {
    let w = FlowWriter::new(Vec::new(), &testata("FL-E"), 2026, WriterOptions::default()).unwrap();
    assert!(matches!(w.finish(), Err(Error::Validation(_))));
}

#[test]
fn reader_reports_path_and_position() {
    let xml = write(&flow("FL-P", 2));
    let s = String::from_utf8(xml).unwrap();
    let bad = s.replacen(
        "<importo_beneficiario>35.50</importo_beneficiario>",
        "<importo_beneficiario>35.505</importo_beneficiario>",
        1,
    );
    let err = parse_flow(bad.as_bytes()).unwrap_err();
    let Error::Parse(p) = err else {
        panic!("{err}")
    };
    assert_eq!(
        p.path,
        "flusso_ordinativi/mandato[1]/informazioni_beneficiario[2]/importo_beneficiario"
    );
    assert!(p.position > 0);
    let bad = s.replacen("<causale>Tassa rifiuti</causale>", "", 1);
    let err = parse_flow(bad.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("expected element causale"), "{err}");
}

#[test]
fn reader_refuses_dtd_and_entities() {
    let xml = br#"<?xml version="1.0"?><!DOCTYPE flusso_ordinativi [<!ENTITY x "boom">]><flusso_ordinativi>&x;</flusso_ordinativi>"#;
    let err = FlowReader::new(&xml[..]).unwrap_err();
    assert_eq!(err.kind, ParseErrorKind::Dtd);
    let s = String::from_utf8(write(&flow("FL-X", 1))).unwrap();
    let bad = s.replacen(
        "<causale>Tassa rifiuti</causale>",
        "<causale>&ext;</causale>",
        1,
    );
    let err = parse_flow(bad.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("unknown entity"), "{err}");
}

#[test]
fn reader_bounds_depth_and_order_size() {
    let s = String::from_utf8(write(&flow("FL-D", 1))).unwrap();
    let deep = format!("{}{}", "<a>".repeat(200), "</a>".repeat(200));
    let bad = s.replacen("<protocollo", &format!("{deep}<protocollo"), 1);
    let err = parse_flow(bad.as_bytes()).unwrap_err().to_string();
    assert!(err.contains("nesting deeper"), "{err}");
    let limits = XmlLimits {
        max_depth: 64,
        max_unit_bytes: 1000,
    };
    let mut r = FlowReader::with_limits(s.as_bytes(), limits).unwrap();
    let err = r.next_ordinativo().unwrap_err();
    assert!(matches!(err.kind, ParseErrorKind::TooLarge(1000)), "{err}");
}

#[test]
fn ten_thousand_mandati_stream_and_validate() {
    // Generated on the fly: the writer holds one order at a time.
    let mut out = Vec::new();
    {
        let mut w =
            FlowWriter::new(&mut out, &testata("FL-10K"), 2026, WriterOptions::default()).unwrap();
        for n in 1..=10_000 {
            w.write_mandato(&mandato(n)).unwrap();
        }
        w.finish().unwrap();
    }
    let mut r = FlowReader::new(&out[..]).unwrap();
    let mut total = 0u64;
    for o in r.by_ref() {
        let Ordinativo::Mandato(m) = o.unwrap() else {
            panic!()
        };
        total += m.importo_mandato.cents();
    }
    assert_eq!(total, 10_000 * 125_550);
    assert_schema_valid(&with_placeholder_signature(&out), FLOW_XSD);
}
