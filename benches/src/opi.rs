//! OPI flow inputs shared by the `siopeplus_flow` benchmark and the `opi_flow_memory`
//! example: the header, mandati with every common part filled in, and the writer settings.

use chrono::NaiveDate;
use pa_types::Amount;
use siopeplus::*;

fn eur(c: u64) -> Amount {
    Amount::from_cents(c)
}

/// The header of every benchmark flow.
pub fn testata() -> TestataFlusso {
    TestataFlusso {
        codice_abi_bt: "03069".parse().expect("abi"),
        identificativo_flusso: "FL-BENCH".parse().expect("id"),
        data_ora_creazione_flusso: NaiveDate::from_ymd_opt(2026, 3, 2)
            .and_then(|d| d.and_hms_opt(10, 0, 0))
            .expect("date"),
        codice_ente: "UF1234".parse().expect("ente"),
        descrizione_ente: "Comune di Esempio".into(),
        codice_istat_ente: "012058123".parse().expect("istat"),
        codice_fiscale_ente: "02438750586".into(),
        codice_tramite_ente: "A2A-12345678".parse().expect("a2a"),
        codice_tramite_bt: "A2A-87654321".parse().expect("a2a"),
        codice_ente_bt: "0001234".into(),
        riferimento_ente: None,
    }
}

/// Mandato number `n`: two beneficiaries (SEPA credit transfer with SIOPE classification,
/// invoice and ARCONET data; a pagoPA notice), about 2.9 KB of XML.
pub fn mandato(n: u32) -> Mandato {
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).expect("date");
    let mut sog = Soggetto::new(format!("Fornitore numero {n} S.r.l."));
    sog.indirizzo = Some("Via Roma 1".into());
    sog.cap = Some("00100".into());
    sog.localita = Some("Roma".into());
    sog.stato = Some("IT".into());
    sog.codice_fiscale = Some("RSSMRA85T10A562S".into());
    let amount = eur(100_000 + u64::from(n));
    let mut b1 = InformazioniBeneficiario::new(
        1,
        amount,
        TipoPagamento::SepaCreditTransfer,
        sog,
        format!("Fattura {n}/2026"),
    );
    b1.sepa_credit_transfer = Some(SepaCreditTransfer {
        iban: "IT60X0542811101000000123456".parse().expect("iban"),
        bic: None,
        identificativo_end_to_end: Some(format!("E2E-{n}")),
        category_purpose: None,
    });
    b1.classificazione = vec![ClassificazioneUscita {
        codice_cgu: "1030102".parse().expect("cgu"),
        codice_cup: Some("J41B04000070001".parse().expect("cup")),
        codice_cpv: None,
        importo: amount,
        dati_siope: DatiSiopeUscite {
            debiti: vec![DebitoUscita::Commerciale {
                cig: CigOEsclusione::Cig("Z1A2B3C4D5".parse().expect("cig")),
                fatture: vec![FatturaSiope {
                    codice_ipa_ente_siope: "UF1234".parse().expect("ipa"),
                    documento: DocumentoSiope::Elettronico {
                        identificativo_lotto_sdi: 1_000_000 + u64::from(n),
                    },
                    dati: DatiFatturaSiope {
                        numero_fattura: format!("{n}/2026"),
                        importo: amount.into(),
                        data_scadenza_pagam: day,
                        motivo_scadenza: None,
                        natura_spesa: NaturaSpesa::Corrente,
                        utilizzo_nota_di_credito: None,
                    },
                }],
            }],
            arconet: Some(ArconetUscite {
                codice_missione: "01".into(),
                codice_programma: "0103".into(),
                codice_economico: "1030102001".into(),
                importo_codice_economico: amount,
                codice_ue: "8".into(),
                codice_uscita: None,
                codice_cofog: "01.3".into(),
                importo_cofog: amount,
            }),
        },
    }];
    let mut sog2 = Soggetto::new("Agenzia delle Entrate-Riscossione");
    sog2.codice_fiscale = Some("13756881002".into());
    let mut b2 = InformazioniBeneficiario::new(
        2,
        eur(3550),
        TipoPagamento::AvvisoPagopa,
        sog2,
        "Tassa rifiuti",
    );
    b2.informazioni_aggiuntive = Some(InformazioniAggiuntive {
        lingua: None,
        riferimento_documento_esterno: None,
        avviso_pagopa: Some(AvvisoPagoPa {
            codice_identificativo_ente: 2_438_750_586,
            numero_avviso: 301_000_000_000_000_000 + u64::from(n),
        }),
    });
    Mandato::new(n, day, vec![b1, b2])
}

/// A whole flow of `mandati` written into `out` (no indentation, root `Id` `FLUSSO1`).
pub fn write_all(mandati: &[Mandato], out: Vec<u8>) -> Vec<u8> {
    let opts = WriterOptions {
        id: Some("FLUSSO1".into()),
        indent: false,
    };
    let mut w = FlowWriter::new(out, &testata(), 2026, opts).expect("header");
    for m in mandati {
        w.write_mandato(m).expect("valid");
    }
    w.finish().expect("finish")
}
