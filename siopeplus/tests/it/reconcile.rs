//! Treasury reconciliation over several days: giornale di cassa pages (written with
//! `GiornaleDiCassa::to_xml`), reporting flows (written with `pagopa::reporting::write_flow`)
//! and receipts (stored in pagoPA's receipt store), every document schema-checked with xmllint
//! and read back by the crates' parsers before matching.

use std::collections::BTreeMap;
use std::path::PathBuf;

use chrono::NaiveDate;
use pa_types::{Amount, OrganizationFiscalCode};
use pagopa::node::{
    EntityType, MemoryReceiptStore, Outcome, Receipt, ReceiptStore, ReceiptTransfer,
    ReceiptTransferTarget, ReceiptVersion, Subject,
};
use pagopa::reporting::{
    FlowHeader, FlowPayment, Institution, OutcomeCode, PaymentKey, ReportedPayment, write_flow,
};
use siopeplus::reconcile::*;
use siopeplus::*;

use crate::common::{assert_schema_valid, d, eur};

pub(crate) const EC: &str = "80016350821";
pub(crate) const IMU: &str = "9/0101100IM/";
pub(crate) const SEG: &str = "9/0201105SE/";

pub(crate) fn ec() -> OrganizationFiscalCode {
    EC.parse().unwrap()
}

pub(crate) fn pagopa_xsd() -> PathBuf {
    if let Ok(d) = std::env::var("PA_SCHEMAS") {
        return PathBuf::from(d).join("pagopa/FlussoRiversamento_1_0_4.xsd");
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../pagopa/tests/fixtures/reporting/FlussoRiversamento_1_0_4.xsd")
}

fn xmllint_fdr(xml: &[u8]) {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("fdr.xml");
    std::fs::write(&f, xml).unwrap();
    match std::process::Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(pagopa_xsd())
        .arg(&f)
        .output()
    {
        Ok(o) => assert!(
            o.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&o.stderr),
            String::from_utf8_lossy(xml)
        ),
        Err(_) => assert!(std::env::var_os("CI").is_none(), "xmllint required in CI"),
    }
}

/// The notice of payment `n` (aux digit 3, segregation code 01, with its check digits).
pub(crate) fn notice(n: u32) -> pagopa::NoticeNumber {
    pagopa::NoticeNumber::new_aux3(
        pagopa::SegregationCode::parse("01").unwrap(),
        1_000_000 + u64::from(n),
    )
    .unwrap()
}

pub(crate) fn iuv(n: u32) -> String {
    notice(n).iuv().as_str().to_owned()
}

/// A receipt of one or more transfers to the ente.
pub(crate) fn receipt(n: u32, paid: NaiveDate, transfers: &[(&str, &str)]) -> Receipt {
    let iuv = iuv(n);
    Receipt {
        version: ReceiptVersion::V2,
        receipt_id: format!("rcp-{n}"),
        notice_number: notice(n),
        fiscal_code: ec(),
        outcome: Outcome::Ok,
        creditor_reference_id: iuv,
        payment_amount: Amount::from_cents(transfers.iter().map(|t| eur(t.1).cents()).sum()),
        description: format!("Pagamento {n}"),
        company_name: "Comune di Roccasecca".into(),
        office_name: None,
        debtor: Subject::new(EntityType::F, "RSSMRA85T10A562S", "Mario Rossi"),
        transfers: transfers
            .iter()
            .enumerate()
            .map(|(i, (service, amount))| ReceiptTransfer {
                id_transfer: u8::try_from(i + 1).unwrap(),
                amount: eur(amount),
                fiscal_code_pa: ec(),
                company_name: None,
                target: ReceiptTransferTarget::Iban("IT60X0542811101000000123456".into()),
                remittance_information: "pagamento".into(),
                transfer_category: (*service).into(),
                metadata: vec![],
            })
            .collect(),
        id_psp: "BCITITMM".into(),
        psp_fiscal_code: None,
        psp_partita_iva: None,
        psp_company_name: "PSP".into(),
        id_channel: "ch".into(),
        channel_description: "ch".into(),
        payer: None,
        payment_method: None,
        payment_note: None,
        fee: None,
        primary_ci_incurred_fee: None,
        id_bundle: None,
        id_ci_bundle: None,
        payment_date_time: Some(format!("{}T10:00:00", paid.format("%Y-%m-%d"))),
        application_date: None,
        transfer_date: None,
        metadata: vec![],
        stand_in: None,
    }
}

/// A flow line: receipt number, transfer index, amount, outcome date.
pub(crate) fn line(n: u32, index: u8, amount: &str, date: NaiveDate) -> FlowPayment {
    FlowPayment {
        iuv: iuv(n),
        iur: format!("rcp-{n}"),
        transfer_index: index,
        amount: eur(amount),
        outcome: OutcomeCode::Executed,
        date,
    }
}

/// Writes a flow, checks it against the schema, reads it back.
pub(crate) fn flow(
    id: &str,
    psp: &str,
    settlement: &str,
    day: NaiveDate,
    lines: Vec<FlowPayment>,
) -> Flow {
    let total = Amount::from_cents(lines.iter().map(|l| l.amount.cents()).sum());
    let header = FlowHeader {
        version: "1.0".into(),
        flow_id: id.into(),
        flow_date_time: format!("{}T08:00:00", day.format("%Y-%m-%d")),
        settlement_id: settlement.into(),
        settlement_date: day,
        sender: Institution {
            id_type: "B".into(),
            id: psp.into(),
            name: Some(format!("PSP {psp}")),
        },
        bic: Some(psp.into()),
        receiver: Institution {
            id_type: "G".into(),
            id: EC.into(),
            name: Some("Comune di Roccasecca".into()),
        },
        total_count: lines.len() as u64,
        total_amount: total,
    };
    let xml = write_flow(&header, &lines);
    xmllint_fdr(xml.as_bytes());
    let f = Flow::from_xml(xml.as_bytes()).unwrap();
    assert_eq!(f.header, header);
    assert_eq!(f.payments, lines);
    f
}

fn party(name: &str) -> Soggetto {
    Soggetto::new(name)
}

/// A cash-book movement.
pub(crate) struct Mov {
    pub(crate) tipo_documento: &'static str,
    pub(crate) tipo_movimento: TipoMovimento,
    pub(crate) tipo_operazione: TipoOperazioneMovimento,
    pub(crate) numero: u64,
    pub(crate) importo: &'static str,
    pub(crate) causale: String,
    pub(crate) riferimento: Option<&'static str>,
    pub(crate) sospesi: Vec<Sospeso>,
}

pub(crate) fn sospeso(numero: u64, importo: &'static str, causale: &str) -> Mov {
    Mov {
        tipo_documento: "SOSPESO ENTRATA",
        tipo_movimento: TipoMovimento::Entrata,
        tipo_operazione: TipoOperazioneMovimento::Eseguito,
        numero,
        importo,
        causale: causale.into(),
        riferimento: None,
        sospesi: vec![],
    }
}

pub(crate) fn movimento(i: usize, day: NaiveDate, m: &Mov) -> Movimento {
    Movimento {
        identificativo_flusso: "GDC".into(),
        numero_movimento: 9000 + i as u64,
        tipo_movimento: m.tipo_movimento,
        tipo_documento: m.tipo_documento.into(),
        tipo_operazione: m.tipo_operazione.clone(),
        numero_documento: m.numero,
        sospeso_da_regolarizzare: (m.tipo_documento == "SOSPESO ENTRATA").then(|| {
            SospesoDaRegolarizzare {
                data_effettiva_sospeso: day,
                codice_gestionale_provvisorio: "3010".into(),
            }
        }),
        tipologia_pagamento_funzionario_delegato: None,
        numero_pagamento_funzionario_delegato: None,
        progressivo_documento: u64::from(m.tipo_documento != "SOSPESO ENTRATA"),
        importo: SignedAmount::from(eur(m.importo)),
        importo_ritenute: None,
        numero_bolletta_quietanza: None,
        numero_bolletta_quietanza_storno: None,
        data_movimento: day,
        data_movimento_siope: day,
        data_valuta_ente: Some(day),
        tipo_esecuzione: if m.tipo_documento == "MANDATO" {
            "SEPA CREDIT TRANSFER".into()
        } else {
            "ACCREDITO BANCA D'ITALIA".into()
        },
        coordinate: None,
        codice_riferimento_operazione: m.riferimento.map(Into::into),
        end_to_end_id: None,
        codice_riferimento_interno: None,
        tipo_contabilita: None,
        destinazione: None,
        assoggettamento_bollo: "ESENTE BOLLO".into(),
        importo_bollo: None,
        assoggettamento_spese: None,
        importo_spese: None,
        assoggettamento_commissioni: None,
        importo_commissioni: None,
        cliente: party("PSP pagoPA Servizio pagoPA"),
        delegato: None,
        creditore_effettivo: None,
        causale: m.causale.clone(),
        sospeso: m.sospesi.clone(),
        dati_a_disposizione_bt: None,
    }
}

pub(crate) fn testata_messaggio() -> TestataMessaggio {
    TestataMessaggio {
        codice_abi_bt: "03069".parse().unwrap(),
        data_ora_creazione_flusso: d(2026, 3, 2).and_hms_opt(18, 0, 0).unwrap(),
        codice_ente: "UF1234".parse().unwrap(),
        descrizione_ente: "Comune di Roccasecca & Uniti".into(),
        codice_istat_ente: "012058123".parse().unwrap(),
        codice_fiscale_ente: "02438750586".into(),
        codice_tramite_ente: "A2A-12345678".parse().unwrap(),
        codice_tramite_bt: "A2A-87654321".parse().unwrap(),
        codice_ente_bt: "0001234".into(),
    }
}

pub(crate) fn placeholder_signature(xml: &str, root: &str) -> String {
    let sig = r#"<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI=""><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue>AAAA</ds:DigestValue></ds:Reference></ds:SignedInfo><ds:SignatureValue>AAAA</ds:SignatureValue></ds:Signature>"#;
    xml.replace(&format!("</{root}>"), &format!("{sig}</{root}>"))
}

/// Writes one giornale page, checks it against the OPI schema, reads it back.
pub(crate) fn giornale(day: NaiveDate, movs: &[Mov]) -> GiornaleDiCassa {
    let entrate: i64 = movs
        .iter()
        .filter(|m| m.tipo_movimento == TipoMovimento::Entrata)
        .map(|m| eur(m.importo).cents() as i64)
        .sum();
    let uscite: i64 = movs
        .iter()
        .filter(|m| m.tipo_movimento == TipoMovimento::Uscita)
        .map(|m| eur(m.importo).cents() as i64)
        .sum();
    let g = GiornaleDiCassa {
        testata: testata_messaggio(),
        identificativo_flusso_bt: format!("GDC-{}UF1234000001#001#001", day.format("%Y%m%d")),
        pagina: 1,
        pagine_totali: 1,
        riferimento_ente: None,
        esercizio: 2026,
        data_riferimento: day,
        conti: vec![ContoEvidenza {
            conto_evidenza: "0000001".into(),
            descrizione: Some("Conto ordinario".into()),
            movimenti: movs
                .iter()
                .enumerate()
                .map(|(i, m)| movimento(i, day, m))
                .collect(),
            saldo_precedente: None,
            totale_entrate: Some(SignedAmount::from_cents(entrate)),
            totale_uscite: Some(SignedAmount::from_cents(uscite)),
            saldo_finale: None,
        }],
        saldo_complessivo_precedente: None,
        totale_complessivo_entrate: Some(SignedAmount::from_cents(entrate)),
        totale_complessivo_uscite: Some(SignedAmount::from_cents(uscite)),
        saldo_complessivo_finale: None,
        totali_esercizio: None,
        totali_disponibilita_liquide: None,
        signed: false,
    };
    let xml = placeholder_signature(&g.to_xml(), "flusso_giornale_di_cassa");
    assert_schema_valid(xml.as_bytes(), "OPI_GIORNALE_DI_CASSA_V_1_7_1.xsd");
    let back = GiornaleDiCassa::from_xml(xml.as_bytes()).unwrap();
    assert!(back.signed);
    assert_eq!(
        GiornaleDiCassa {
            signed: false,
            ..back.clone()
        },
        g
    );
    back
}

pub(crate) async fn stored_lines(receipts: &[Receipt]) -> Vec<ReceiptLine> {
    let store = MemoryReceiptStore::new();
    for r in receipts {
        store.put(r).await.unwrap();
    }
    store
        .list(&ec())
        .await
        .unwrap()
        .iter()
        .flat_map(|r| ReceiptLine::from_receipt(&ec(), r))
        .collect()
}

fn uri(id: &str) -> String {
    format!("/PUR/LGPE-RIVERSAMENTO/URI/{id}")
}

struct World {
    pages: Vec<GiornaleDiCassa>,
    flows: Vec<(NaiveDate, Flow)>,
    lines: Vec<ReceiptLine>,
}

impl World {
    /// What is known at the end of `day`.
    fn report(&self, day: NaiveDate, as_of: NaiveDate) -> Report {
        let mut book = ProvvisoriBook::new();
        for g in self.pages.iter().filter(|g| g.data_riferimento <= day) {
            book.add(g);
        }
        let flows: Vec<Flow> = self
            .flows
            .iter()
            .filter(|(arrived, _)| *arrived <= day)
            .map(|(_, f)| f.clone())
            .collect();
        let lines: Vec<ReceiptLine> = self
            .lines
            .iter()
            .filter(|l| l.paid_on.is_some_and(|p| p <= day))
            .cloned()
            .collect();
        reconcile(&book, &flows, &lines, &Options::as_of(as_of))
    }
}

async fn world() -> World {
    let (d2, d3, d4, d5, d6) = (
        d(2026, 3, 2),
        d(2026, 3, 3),
        d(2026, 3, 4),
        d(2026, 3, 5),
        d(2026, 3, 6),
    );
    let receipts = vec![
        receipt(1, d2, &[(IMU, "100.00")]),
        receipt(2, d2, &[(IMU, "30.00"), (SEG, "20.00")]),
        receipt(3, d2, &[(SEG, "45.00")]),
        receipt(4, d2, &[(IMU, "55.00")]),
        receipt(5, d2, &[(IMU, "80.00")]),
        receipt(6, d3, &[(IMU, "60.00")]),
        receipt(7, d3, &[(SEG, "10.00")]),
        receipt(8, d3, &[(SEG, "15.00")]),
        receipt(10, d3, &[(IMU, "25.00")]),
    ];
    let lines = stored_lines(&receipts).await;
    let fa1 = flow(
        "2026-03-03PSPAITMM-S0001",
        "PSPAITMM",
        "A-TRN-1",
        d3,
        vec![
            line(1, 1, "100.00", d2),
            line(2, 1, "30.00", d2),
            line(2, 2, "20.00", d2),
        ],
    );
    let flows = vec![
        (d3, fa1.clone()),
        // One transfer settles two flows of the same PSP (same settlement reference).
        (
            d3,
            flow(
                "2026-03-03PSPBITMM-S0001",
                "PSPBITMM",
                "B-TRN-7",
                d3,
                vec![line(3, 1, "45.00", d2)],
            ),
        ),
        (
            d3,
            flow(
                "2026-03-03PSPBITMM-S0002",
                "PSPBITMM",
                "B-TRN-7",
                d3,
                vec![line(4, 1, "55.00", d2)],
            ),
        ),
        (
            d3,
            flow(
                "2026-03-03PSPCITMM-S0001",
                "PSPCITMM",
                "C-TRN-1",
                d3,
                vec![line(5, 1, "80.00", d2)],
            ),
        ),
        // The same flow downloaded twice.
        (d4, fa1),
        // Partial: only receipt 7 of PSP E's day, and a payment whose receipt never came.
        (
            d4,
            flow(
                "2026-03-04PSPEITMM-S0001",
                "PSPEITMM",
                "E-TRN-1",
                d4,
                vec![line(7, 1, "10.00", d3), line(9, 1, "5.00", d3)],
            ),
        ),
        // Never booked by the treasurer; reports receipt 10 with another amount.
        (
            d4,
            flow(
                "2026-03-04PSPFITMM-S0001",
                "PSPFITMM",
                "F-TRN-1",
                d4,
                vec![line(10, 1, "24.00", d3)],
            ),
        ),
        // Late: the transfer was booked on the 4th, the flow arrives on the 6th.
        (
            d6,
            flow(
                "2026-03-04PSPDITMM-S0001",
                "PSPDITMM",
                "D-TRN-1",
                d4,
                vec![line(6, 1, "60.00", d3)],
            ),
        ),
        // The rest of PSP E's payments, in a later flow.
        (
            d6,
            flow(
                "2026-03-05PSPEITMM-S0002",
                "PSPEITMM",
                "E-TRN-2",
                d5,
                vec![line(8, 1, "15.00", d3)],
            ),
        ),
    ];
    let pages = vec![
        giornale(
            d3,
            &[
                sospeso(101, "150.00", &uri("2026-03-03PSPAITMM-S0001")),
                Mov {
                    riferimento: Some("B-TRN-7"),
                    ..sospeso(102, "100.00", "BONIFICO PSP B SERVIZIO PAGOPA RIVERSAMENTO")
                },
                sospeso(103, "79.00", &uri("2026-03-03PSPCITMM-S0001")),
                sospeso(104, "12.00", "Rimborso spese di notifica"),
                Mov {
                    tipo_documento: "MANDATO",
                    tipo_movimento: TipoMovimento::Uscita,
                    numero: 7,
                    ..sospeso(0, "300.00", "Fornitura")
                },
            ],
        ),
        giornale(
            d4,
            &[
                sospeso(105, "60.00", &uri("2026-03-04PSPDITMM-S0001")),
                sospeso(
                    106,
                    "15.00",
                    &format!("ACCREDITO {}", uri("2026-03-04PSPEITMM-S0001")),
                ),
                // The treasurer booked PSP A's transfer a second time.
                sospeso(107, "150.00", &uri("2026-03-03PSPAITMM-S0001")),
                Mov {
                    tipo_operazione: TipoOperazioneMovimento::Stornato,
                    ..sospeso(104, "12.00", "Rimborso spese di notifica")
                },
            ],
        ),
        giornale(
            d6,
            &[
                sospeso(108, "15.00", &uri("2026-03-05PSPEITMM-S0002")),
                // The reversale a copertura of 101 was executed.
                Mov {
                    tipo_documento: "REVERSALE",
                    numero: 31,
                    sospesi: vec![Sospeso {
                        numero_provvisorio: 101,
                        importo_provvisorio: eur("150.00"),
                    }],
                    ..sospeso(31, "150.00", "Regolarizzazione provvisorio 101/2026")
                },
            ],
        ),
    ];
    World {
        pages,
        flows,
        lines,
    }
}

fn services(v: &[(Option<&str>, &str)]) -> BTreeMap<Option<String>, Amount> {
    v.iter().map(|(s, a)| (s.map(Into::into), eur(a))).collect()
}

fn numbers(r: &Report) -> Vec<u64> {
    r.matched.iter().map(|m| m.provvisorio.numero).collect()
}

fn key(n: u32, i: u8) -> PaymentKey {
    PaymentKey {
        iuv: iuv(n),
        iur: format!("rcp-{n}"),
        transfer_index: i,
    }
}

#[tokio::test]
async fn day_one_matches_one_flow_and_two_flows_of_one_transfer() {
    let w = world().await;
    let r = w.report(d(2026, 3, 3), d(2026, 3, 3));
    assert_eq!(numbers(&r), vec![101, 102]);
    assert_eq!(r.matched[0].flow_ids, vec!["2026-03-03PSPAITMM-S0001"]);
    assert_eq!(r.matched[0].payments, 3);
    assert_eq!(
        r.matched[0].by_service,
        services(&[(Some(IMU), "130.00"), (Some(SEG), "20.00")])
    );
    assert!(r.matched[0].fully_receipted());
    // 102's causale was cut: the settlement reference in codice_riferimento_operazione finds
    // both flows its transfer settled.
    assert_eq!(
        r.matched[1].flow_ids,
        vec!["2026-03-03PSPBITMM-S0001", "2026-03-03PSPBITMM-S0002"]
    );
    assert_eq!(
        r.matched[1].by_service,
        services(&[(Some(IMU), "55.00"), (Some(SEG), "45.00")])
    );
    // 103: the treasurer booked one euro less than the flow.
    assert_eq!(r.amount_differences.len(), 1);
    let a = &r.amount_differences[0];
    assert_eq!(a.provvisorio.numero, 103);
    assert_eq!(a.provvisorio.importo, eur("79.00"));
    assert_eq!(
        (a.flows_amount, a.payments_amount),
        (eur("80.00"), eur("80.00"))
    );
    // 104 is no pagoPA transfer.
    assert_eq!(r.unmatched_provvisori.len(), 1);
    assert_eq!(r.unmatched_provvisori[0].provvisorio.numero, 104);
    assert_eq!(r.unmatched_provvisori[0].reason, UnmatchedReason::NotPagoPa);
    assert!(r.unmatched_flows.is_empty());
    assert!(r.duplicates.is_empty());
    assert!(r.payments_without_receipt.is_empty());
    // Paid on the 3rd, not reported yet, not late.
    let pending: Vec<(PaymentKey, Option<i64>, bool)> = r
        .receipts_not_reported
        .iter()
        .map(|p| (p.line.key.clone(), p.days_waiting, p.late))
        .collect();
    assert_eq!(
        pending,
        vec![
            (key(6, 1), Some(0), false),
            (key(7, 1), Some(0), false),
            (key(8, 1), Some(0), false),
            (key(10, 1), Some(0), false),
        ]
    );
    assert_eq!(
        r.totals,
        Totals {
            provvisori: eur("341.00"),
            matched: eur("250.00"),
            unmatched_provvisori: eur("91.00"),
            flows: eur("330.00"),
            unmatched_flows: Amount::ZERO,
            receipts: eur("440.00"),
            receipts_not_reported: eur("110.00"),
        }
    );
    assert!(!r.is_clean());
}

#[tokio::test]
async fn day_two_partial_flow_missing_flow_duplicates_and_a_cancelled_provvisorio() {
    let w = world().await;
    let r = w.report(d(2026, 3, 4), d(2026, 3, 4));
    assert_eq!(numbers(&r), vec![101, 102, 106]);
    // 106: partial flow with a payment whose receipt never came.
    assert_eq!(
        r.matched[2].by_service,
        services(&[(None, "5.00"), (Some(SEG), "10.00")])
    );
    assert!(!r.matched[2].fully_receipted());
    assert_eq!(
        r.payments_without_receipt,
        vec![ReportedPayment {
            key: key(9, 1),
            amount: eur("5.00"),
            outcome: OutcomeCode::Executed,
            flow_id: "2026-03-04PSPEITMM-S0001".into(),
        }]
    );
    // 105 names a flow that has not arrived; 104 was cancelled (STORNATO).
    assert_eq!(r.unmatched_provvisori.len(), 1);
    assert_eq!(r.unmatched_provvisori[0].provvisorio.numero, 105);
    assert_eq!(
        r.unmatched_provvisori[0].reason,
        UnmatchedReason::FlowsMissing(vec!["2026-03-04PSPDITMM-S0001".into()])
    );
    assert_eq!(
        r.duplicates,
        vec![
            Duplicate::Flow {
                flow_id: "2026-03-03PSPAITMM-S0001".into(),
                identical: true
            },
            Duplicate::FlowInTwoProvvisori {
                flow_id: "2026-03-03PSPAITMM-S0001".into(),
                provvisori: vec![(2026, 101), (2026, 107)],
            },
        ]
    );
    assert_eq!(r.unmatched_flows.len(), 1);
    let f = &r.unmatched_flows[0];
    assert_eq!(
        (f.flow_id.as_str(), f.amount, f.days_waiting, f.late),
        ("2026-03-04PSPFITMM-S0001", eur("24.00"), 0, false)
    );
    assert_eq!(r.payment_amount_differences.len(), 1);
    let p = &r.payment_amount_differences[0];
    assert_eq!(
        (&p.key, p.reported, p.received),
        (&key(10, 1), eur("24.00"), eur("25.00"))
    );
    let pending: Vec<PaymentKey> = r
        .receipts_not_reported
        .iter()
        .map(|p| p.line.key.clone())
        .collect();
    assert_eq!(pending, vec![key(6, 1), key(8, 1)]);
    assert_eq!(r.totals.provvisori, eur("554.00"));
    assert_eq!(r.totals.matched, eur("265.00"));
    assert_eq!(r.totals.unmatched_provvisori, eur("139.00"));
    assert_eq!(r.totals.flows, eur("369.00"));
    assert_eq!(r.totals.unmatched_flows, eur("24.00"));
    assert_eq!(r.totals.receipts_not_reported, eur("75.00"));
}

#[tokio::test]
async fn days_later_the_late_flows_match_and_a_regularised_provvisorio_leaves() {
    let w = world().await;
    let r = w.report(d(2026, 3, 6), d(2026, 3, 7));
    // 101 was covered by reversale 31: gone, and its flow stays its own (107 is still a
    // duplicate booking, not a match).
    assert_eq!(numbers(&r), vec![102, 105, 106, 108]);
    assert_eq!(r.matched[1].flow_ids, vec!["2026-03-04PSPDITMM-S0001"]);
    assert_eq!(r.matched[3].flow_ids, vec!["2026-03-05PSPEITMM-S0002"]);
    assert!(r.unmatched_provvisori.is_empty());
    assert!(r.duplicates.contains(&Duplicate::FlowInTwoProvvisori {
        flow_id: "2026-03-03PSPAITMM-S0001".into(),
        provvisori: vec![(2026, 101), (2026, 107)],
    }));
    assert!(r.receipts_not_reported.is_empty());
    // The flow nobody booked is now late (settled on the 4th, three days ago).
    assert_eq!(r.unmatched_flows.len(), 1);
    assert_eq!(
        (r.unmatched_flows[0].days_waiting, r.unmatched_flows[0].late),
        (3, true)
    );
}

#[tokio::test]
async fn a_receipt_unreported_past_d_plus_2_is_late_and_reported_twice_is_a_duplicate() {
    let d2 = d(2026, 3, 2);
    let lines = stored_lines(&[
        receipt(1, d2, &[(IMU, "10.00")]),
        receipt(2, d2, &[(IMU, "20.00")]),
    ])
    .await;
    let f1 = flow(
        "F-1",
        "PSPAITMM",
        "T-1",
        d(2026, 3, 3),
        vec![line(1, 1, "10.00", d2)],
    );
    let f2 = flow(
        "F-2",
        "PSPAITMM",
        "T-2",
        d(2026, 3, 3),
        vec![line(1, 1, "10.00", d2)],
    );
    let mut book = ProvvisoriBook::new();
    book.add(&giornale(
        d(2026, 3, 3),
        &[sospeso(1, "10.00", &uri("F-1"))],
    ));
    // The same number booked again with another amount.
    book.add(&giornale(
        d(2026, 3, 4),
        &[sospeso(1, "11.00", &uri("F-1"))],
    ));
    let r = reconcile(&book, &[f1, f2], &lines, &Options::as_of(d(2026, 3, 5)));
    assert_eq!(numbers(&r), vec![1]);
    assert_eq!(r.matched[0].provvisorio.importo, eur("10.00"));
    assert_eq!(
        r.duplicates,
        vec![
            Duplicate::Provvisorio {
                esercizio: 2026,
                numero: 1
            },
            Duplicate::Payment(ReportedPayment {
                key: key(1, 1),
                amount: eur("10.00"),
                outcome: OutcomeCode::Executed,
                flow_id: "F-2".into(),
            }),
        ]
    );
    assert_eq!(r.receipts_not_reported.len(), 1);
    assert_eq!(r.receipts_not_reported[0].line.key, key(2, 1));
    assert_eq!(r.receipts_not_reported[0].days_waiting, Some(3));
    assert!(r.receipts_not_reported[0].late);
}

#[test]
fn a_flow_with_wrong_totals_is_refused_before_matching() {
    let header = FlowHeader {
        version: "1.0".into(),
        flow_id: "F-X".into(),
        flow_date_time: "2026-03-03T08:00:00".into(),
        settlement_id: "T".into(),
        settlement_date: d(2026, 3, 3),
        sender: Institution {
            id_type: "B".into(),
            id: "PSPAITMM".into(),
            name: None,
        },
        bic: None,
        receiver: Institution {
            id_type: "G".into(),
            id: EC.into(),
            name: None,
        },
        total_count: 1,
        total_amount: eur("99.00"),
    };
    let xml = write_flow(&header, &[line(1, 1, "10.00", d(2026, 3, 2))]);
    xmllint_fdr(xml.as_bytes());
    let e = Flow::from_xml(xml.as_bytes()).unwrap_err();
    assert!(
        e.to_string()
            .contains("declared 1 payments totalling 99.00"),
        "{e}"
    );
}
