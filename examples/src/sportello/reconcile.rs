//! The operator's reconciliation page: the treasurer's provvisori di entrata ↔ the PSPs'
//! reporting flows ↔ the stored pagoPA receipts (`siopeplus::reconcile`), with totals, and the
//! button that issues the reversali a copertura of the matched provvisori
//! (`siopeplus::coverage`) through the SIOPE+ outbox.
//!
//! The demo has no real PSP nor treasurer: what they would send is simulated from the stored
//! receipts, and labelled so on the page. Every PSP reports the receipts of one payment day in
//! one flow (written with `pagopa::reporting::write_flow` and read back by its parser, as a
//! downloaded flow is) and settles it with one transfer, which the treasurer books as a
//! provvisorio whose causale is `/PUR/LGPE-RIVERSAMENTO/URI/<flow id>` (a giornale di cassa page
//! written with `GiornaleDiCassa::to_xml` and read back). The giornale pages the SIOPE+ outbox
//! collected are read too: once a reversale a copertura is executed its provvisorio is closed.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::{Datelike, Local, NaiveDate};
use pa_types::Amount;
use pagopa::node::{Receipt, ReceiptStore};
use pagopa::reporting::{FlowHeader, FlowPayment, Institution, OutcomeCode, write_flow};
use siopeplus::coverage::{ClassificationRule, CoverageRules, reversali_a_copertura};
use siopeplus::reconcile::{Flow, Options, ProvvisoriBook, ReceiptLine, Report, reconcile};
use siopeplus::{
    ContoEvidenza, DatiSiopeEntrate, DebitoEntrata, GiornaleDiCassa, Movimento, SignedAmount,
    Soggetto, SospesoDaRegolarizzare, TestataMessaggio, TipoDebitoNonCommerciale, TipoMovimento,
    TipoOperazioneMovimento,
};

use super::super::html::{esc, fields};
use super::AppState;

/// The simulated PSPs' flows and the treasurer's page of provvisori for `receipts`.
fn simulate(
    st: &AppState,
    receipts: &[Receipt],
    today: NaiveDate,
) -> Result<(GiornaleDiCassa, Vec<Flow>), String> {
    let mut days: BTreeMap<(NaiveDate, String), Vec<FlowPayment>> = BTreeMap::new();
    for r in receipts {
        let day = r.payment_date().unwrap_or(today);
        let psp: String = r
            .id_psp
            .chars()
            .filter(char::is_ascii_alphanumeric)
            .take(16)
            .collect();
        for l in ReceiptLine::from_receipt(&st.ente.fiscal_code, r) {
            days.entry((day, psp.clone()))
                .or_default()
                .push(FlowPayment {
                    iuv: l.key.iuv,
                    iur: l.key.iur,
                    transfer_index: l.key.transfer_index,
                    amount: l.amount,
                    outcome: OutcomeCode::Executed,
                    date: day,
                });
        }
    }
    let mut flows = Vec::new();
    let mut movimenti = Vec::new();
    for (i, ((day, psp), payments)) in days.into_iter().enumerate() {
        let flow_id = format!("{}{psp}-S0001", day.format("%Y-%m-%d"));
        let total = Amount::from_cents(payments.iter().map(|p| p.amount.cents()).sum());
        let header = FlowHeader {
            version: "1.0".into(),
            flow_id: flow_id.clone(),
            flow_date_time: format!("{}T20:00:00", day.format("%Y-%m-%d")),
            settlement_id: format!("RIV-{psp}-{}", day.format("%Y%m%d")),
            settlement_date: day,
            sender: Institution {
                id_type: "B".into(),
                id: psp.clone(),
                name: Some(format!("PSP {psp} (simulato)")),
            },
            bic: None,
            receiver: Institution {
                id_type: "G".into(),
                id: st.ente.fiscal_code.to_string(),
                name: Some(st.ente.name.clone()),
            },
            total_count: payments.len() as u64,
            total_amount: total,
        };
        let xml = write_flow(&header, &payments);
        flows.push(Flow::from_xml(xml.as_bytes()).map_err(|e| format!("flusso {flow_id}: {e}"))?);
        // The provvisorio's number: the day and the PSP's place in it.
        let numero = u64::from(day.year().unsigned_abs()) * 100_000_000
            + u64::from(day.ordinal()) * 10_000
            + i as u64 % 10_000
            + 1;
        movimenti.push(Movimento {
            identificativo_flusso: "GDC-SIMULATO".into(),
            numero_movimento: numero,
            tipo_movimento: TipoMovimento::Entrata,
            tipo_documento: "SOSPESO ENTRATA".into(),
            tipo_operazione: TipoOperazioneMovimento::Eseguito,
            numero_documento: numero,
            sospeso_da_regolarizzare: Some(SospesoDaRegolarizzare {
                data_effettiva_sospeso: day,
                codice_gestionale_provvisorio: "3010".into(),
            }),
            tipologia_pagamento_funzionario_delegato: None,
            numero_pagamento_funzionario_delegato: None,
            progressivo_documento: 0,
            importo: SignedAmount::from(total),
            importo_ritenute: None,
            numero_bolletta_quietanza: None,
            numero_bolletta_quietanza_storno: None,
            data_movimento: day,
            data_movimento_siope: day,
            data_valuta_ente: Some(day),
            tipo_esecuzione: "ACCREDITO BANCA D'ITALIA".into(),
            coordinate: None,
            codice_riferimento_operazione: Some(header.settlement_id.clone()),
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
            cliente: Soggetto::new(format!("PSP {psp} Servizio pagoPA")),
            delegato: None,
            creditore_effettivo: None,
            causale: pagopa::reporting::settlement_causale(&flow_id),
            sospeso: Vec::new(),
            dati_a_disposizione_bt: None,
        });
    }
    let testata = TestataMessaggio {
        codice_abi_bt: "03069".parse().map_err(|e| format!("{e}"))?,
        data_ora_creazione_flusso: Local::now().naive_local(),
        codice_ente: "UF0001".parse().map_err(|e| format!("{e}"))?,
        descrizione_ente: st.ente.name.clone(),
        codice_istat_ente: "058091000".parse().map_err(|e| format!("{e}"))?,
        codice_fiscale_ente: st.ente.fiscal_code.to_string(),
        codice_tramite_ente: "A2A-12345678".parse().map_err(|e| format!("{e}"))?,
        codice_tramite_bt: "A2A-87654321".parse().map_err(|e| format!("{e}"))?,
        codice_ente_bt: "0001234".into(),
    };
    let page = GiornaleDiCassa {
        testata,
        identificativo_flusso_bt: format!("GDC-{}SIMULATO00#001#001", today.format("%Y%m%d")),
        pagina: 1,
        pagine_totali: 1,
        riferimento_ente: None,
        esercizio: u16::try_from(today.year()).unwrap_or(2026),
        data_riferimento: today,
        conti: vec![ContoEvidenza {
            conto_evidenza: "0000001".into(),
            descrizione: Some("Conto di tesoreria".into()),
            movimenti,
            saldo_precedente: None,
            totale_entrate: None,
            totale_uscite: None,
            saldo_finale: None,
        }],
        saldo_complessivo_precedente: None,
        totale_complessivo_entrate: None,
        totale_complessivo_uscite: None,
        saldo_complessivo_finale: None,
        totali_esercizio: None,
        totali_disponibilita_liquide: None,
        signed: false,
    };
    let page = GiornaleDiCassa::from_xml(page.to_xml().as_bytes())
        .map_err(|e| format!("giornale di cassa: {e}"))?;
    Ok((page, flows))
}

/// The report now, and the book it was made from.
async fn current(st: &AppState) -> Result<(Report, ProvvisoriBook), String> {
    let today = Local::now().date_naive();
    let receipts = st
        .node
        .store()
        .list(&st.ente.fiscal_code)
        .await
        .map_err(|e| format!("ricevute: {e}"))?;
    let (page, flows) = simulate(st, &receipts, today)?;
    let mut book = ProvvisoriBook::new();
    book.add(&page);
    for g in st.treasury.giornali().await {
        book.add(&g);
    }
    let lines: Vec<ReceiptLine> = receipts
        .iter()
        .flat_map(|r| ReceiptLine::from_receipt(&st.ente.fiscal_code, r))
        .collect();
    let report = reconcile(&book, &flows, &lines, &Options::as_of(today));
    Ok((report, book))
}

/// The demo's classification: every pagoPA collection on the CGE code the demo's flows use.
fn rules() -> Result<CoverageRules, String> {
    Ok(CoverageRules {
        fallback: Some(ClassificationRule {
            codice_cge: "3010201".parse().map_err(|e| format!("{e}"))?,
            codice_cup: None,
            dati_siope: DatiSiopeEntrate {
                debito: DebitoEntrata::NonCommerciale {
                    tipo: TipoDebitoNonCommerciale::NonCommerciale,
                    fatture: Vec::new(),
                },
                arconet: None,
            },
        }),
        ..CoverageRules::default()
    })
}

fn render(st: &AppState, r: &Report, book: &ProvvisoriBook) -> String {
    let eur = |a: Amount| format!("{} euro", a.to_decimal_string());
    let t = &r.totals;
    let mut out = format!(
        r#"<p class="nota">Flussi di rendicontazione e provvisori del tesoriere simulati dalle ricevute archiviate.</p>
<h2>Totali</h2><div class="scheda" id="totali">{}</div>"#,
        fields(&[
            ("Provvisori aperti", eur(t.provvisori)),
            ("Abbinati", eur(t.matched)),
            ("Non abbinati", eur(t.unmatched_provvisori)),
            ("Flussi di rendicontazione", eur(t.flows)),
            ("Flussi senza provvisorio", eur(t.unmatched_flows)),
            ("Ricevute", eur(t.receipts)),
            ("Ricevute non rendicontate", eur(t.receipts_not_reported)),
        ])
    );
    out.push_str(
        r#"<h2>Provvisori abbinati</h2><table id="abbinati"><thead><tr><th>Provvisorio</th><th>Importo</th><th>Flussi</th><th>Pagamenti</th></tr></thead><tbody>"#,
    );
    for m in &r.matched {
        out.push_str(&format!(
            "<tr><td>{}/{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            m.provvisorio.numero,
            m.provvisorio.esercizio,
            esc(&m.provvisorio.importo.to_decimal_string()),
            esc(&m.flow_ids.join(" ")),
            m.payments
        ));
    }
    out.push_str("</tbody></table>");
    out.push_str(
        r#"<h2>Non abbinati</h2><table id="non-abbinati"><thead><tr><th>Cosa</th><th>Riferimento</th><th>Importo</th><th>Motivo</th></tr></thead><tbody>"#,
    );
    for u in &r.unmatched_provvisori {
        out.push_str(&format!(
            "<tr><td>provvisorio</td><td>{}/{}</td><td>{}</td><td>{}</td></tr>",
            u.provvisorio.numero,
            u.provvisorio.esercizio,
            esc(&u.provvisorio.importo.to_decimal_string()),
            esc(&format!("{:?}", u.reason))
        ));
    }
    for a in &r.amount_differences {
        out.push_str(&format!(
            "<tr><td>provvisorio</td><td>{}/{}</td><td>{}</td><td>importo diverso dai flussi ({})</td></tr>",
            a.provvisorio.numero,
            a.provvisorio.esercizio,
            esc(&a.provvisorio.importo.to_decimal_string()),
            esc(&a.flows_amount.to_decimal_string())
        ));
    }
    for f in &r.unmatched_flows {
        out.push_str(&format!(
            "<tr><td>flusso</td><td>{}</td><td>{}</td><td>nessun provvisorio{}</td></tr>",
            esc(&f.flow_id),
            esc(&f.amount.to_decimal_string()),
            if f.late { " (in ritardo)" } else { "" }
        ));
    }
    for p in &r.receipts_not_reported {
        out.push_str(&format!(
            "<tr><td>ricevuta</td><td>{} {}</td><td>{}</td><td>non rendicontata{}</td></tr>",
            esc(&p.line.key.iuv),
            esc(&p.line.key.iur),
            esc(&p.line.amount.to_decimal_string()),
            if p.late { " (in ritardo)" } else { "" }
        ));
    }
    for p in &r.payments_without_receipt {
        out.push_str(&format!(
            "<tr><td>pagamento</td><td>{} {}</td><td>{}</td><td>senza ricevuta</td></tr>",
            esc(&p.key.iuv),
            esc(&p.key.iur),
            esc(&p.amount.to_decimal_string())
        ));
    }
    out.push_str("</tbody></table>");
    let closed: Vec<String> = book.closed().map(|(y, n)| format!("{n}/{y}")).collect();
    out.push_str(&format!(
        r#"<h2>Provvisori regolarizzati</h2><p id="regolarizzati">{}</p>"#,
        if closed.is_empty() {
            "nessuno".to_owned()
        } else {
            esc(&closed.join(", "))
        }
    ));
    if !r.matched.is_empty() {
        out.push_str(&format!(
            r#"<form method="post" action="{}"><div class="azioni"><button type="submit" id="emetti-reversali">Emetti le reversali a copertura</button></div></form>"#,
            esc(&st.url("/operatore/riconciliazione/reversali"))
        ));
    }
    out
}

/// `GET /operatore/riconciliazione`.
pub(super) async fn page(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(r) = st.operator(&headers).await {
        return r;
    }
    match current(&st).await {
        Ok((report, book)) => {
            Html(st.page("Riconciliazione di tesoreria", &render(&st, &report, &book)))
                .into_response()
        }
        Err(e) => st.problem(StatusCode::INTERNAL_SERVER_ERROR, "Riconciliazione", &e),
    }
}

/// `POST /operatore/riconciliazione/reversali`: one reversale a copertura per matched
/// provvisorio, in one flow signed and sent through the SIOPE+ outbox.
pub(super) async fn emit(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(r) = st.operator(&headers).await {
        return r;
    }
    let result = async {
        let (report, _) = current(&st).await?;
        if report.matched.is_empty() {
            return Err("nessun provvisorio abbinato da regolarizzare".to_owned());
        }
        let now = Local::now();
        let esercizio = u16::try_from(now.year()).unwrap_or(2026);
        // Numbers unique in the esercizio for the demo: day of year and time of day.
        let first =
            now.ordinal() * 10_000 + now.format("%H%M").to_string().parse::<u32>().unwrap_or(0);
        let first = first % 9_000_000 + 1;
        let reversali = reversali_a_copertura(
            &report.matched,
            &rules()?,
            esercizio,
            first,
            now.date_naive(),
        )
        .map_err(|e| e.to_string())?;
        let flow_id = format!("COPERTURA-{}", now.format("%Y%m%d-%H%M%S%3f"));
        st.treasury
            .send_reversali(&st.ente, &flow_id, &reversali)
            .await
    }
    .await;
    match result {
        Ok(_) => st.redirect("/operatore/riconciliazione"),
        Err(e) => st.problem(StatusCode::BAD_GATEWAY, "Reversali a copertura", &e),
    }
}
