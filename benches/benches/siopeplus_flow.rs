//! OPI flows: write and parse a flow of 10,000 mandati (two beneficiaries each, with SIOPE
//! classification, invoice, ARCONET data, SEPA and pagoPA payment data), against `xmllint`
//! parsing the same file as a process (`--noout --stream`, how an ente's pipeline usually
//! checks a flow) timed in the same run.
//!
//! Targets (issue 10): write ≤ 100 ms, parse ≥ 100 MB/s, constant memory (the writer and the
//! reader hold one order at a time).

use std::hint::black_box;
use std::io::Write as _;
use std::process::Command;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pa_types::Amount;
use siopeplus::*;

const N: u32 = 10_000;

fn eur(c: u64) -> Amount {
    Amount::from_cents(c)
}

fn testata() -> TestataFlusso {
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

fn mandato(n: u32) -> Mandato {
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

fn write_all(mandati: &[Mandato], out: Vec<u8>) -> Vec<u8> {
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

fn bench(c: &mut Criterion) {
    let mandati: Vec<Mandato> = (1..=N).map(mandato).collect();
    let xml = write_all(&mandati, Vec::new());
    eprintln!("flow of {N} mandati: {} bytes", xml.len());

    let mut g = c.benchmark_group("siopeplus_flow");
    g.sample_size(20);
    g.throughput(Throughput::Bytes(xml.len() as u64));
    g.bench_function("write_10k_mandati", |b| {
        b.iter(|| {
            black_box(write_all(
                black_box(&mandati),
                Vec::with_capacity(xml.len()),
            ))
        })
    });
    g.bench_function("parse_10k_mandati", |b| {
        b.iter(|| {
            let mut r = FlowReader::new(black_box(&xml[..])).expect("header");
            let mut n = 0u32;
            while let Some(o) = r.next_ordinativo().expect("order") {
                black_box(&o);
                n += 1;
            }
            assert_eq!(n, N);
        })
    });
    // The shared reader alone (every event, nothing mapped): what the flow parse is built on.
    g.bench_function("stream_events_10k_mandati", |b| {
        b.iter(|| {
            let mut r = xmldsig::stream::Reader::new(black_box(&xml[..]));
            let mut n = 0u64;
            loop {
                match r.next().expect("event") {
                    xmldsig::stream::Event::Start(_) => n += 1,
                    xmldsig::stream::Event::Eof => break,
                    _ => {}
                }
            }
            black_box(n)
        })
    });
    g.bench_function("parse_and_validate_10k_mandati", |b| {
        b.iter(|| {
            let mut r = FlowReader::new(black_box(&xml[..])).expect("header");
            let mut v = FlowValidator::new();
            while let Some(o) = r.next_ordinativo().expect("order") {
                if let Ordinativo::Mandato(m) = &o {
                    v.check_mandato(m).expect("valid");
                }
            }
        })
    });
    if Command::new("xmllint").arg("--version").output().is_ok() {
        let mut f = tempfile::NamedTempFile::new().expect("tmp");
        f.write_all(&xml).expect("write");
        let path = f.path().to_path_buf();
        g.bench_function("reference_xmllint_stream_parse", |b| {
            b.iter(|| {
                let st = Command::new("xmllint")
                    .args(["--noout", "--stream"])
                    .arg(&path)
                    .status()
                    .expect("xmllint");
                assert!(st.success());
            })
        });
    } else {
        eprintln!("xmllint not installed: reference not timed");
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
