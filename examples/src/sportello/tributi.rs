//! A municipal tax in installments (TARI): one debt position per citizen in the partner's
//! [`PositionBook`](pagopa::position::PositionBook) with two payment options, the single
//! payment and a plan of three rates, each rate a notice of its own payable through pagoPA
//! Checkout or any PSP (the node asks our paForNode endpoint, which answers from the book). The
//! first payment chooses its option: paying the single payment closes the rates, paying a rate
//! closes the single payment (the node then gets `PAA_PAGAMENTO_DUPLICATO`). "Scarica l'avviso
//! (PDF)" prints the position as the guide's notice with the single payment and the rates.
//!
//! A child module of `pages`: it reads the ente's `AppState`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveTime, Utc};
use pa_types::{Amount, CitizenIdentity};
use pagopa::NoticeNumber;
use pagopa::checkout::{Cart, CartNotice, ReturnUrls};
use pagopa::gpd::{Debtor, DebtorType, Destination, Taxonomy, Transfer};
use pagopa::position::{Installment, InstallmentState, PaymentOption, Position, StoredPosition};

use super::super::html::{error_box, esc, fields};
use super::super::payment::Positions;
use super::{AppState, notice_creditor, notice_response, redirect};

/// The tax's subject, printed on the notice (`AVVISO.OGGETTO`).
const SUBJECT: &str = "TARI 2026 - Tassa sui rifiuti";
/// The yearly amount, in cents (paid at once or in [`RATES`] equal rates).
const TOTAL_CENTS: u64 = 18_600;
/// Rates of the plan.
const RATES: u64 = 3;
/// Taxonomy of the transfers (municipal taxes).
const TAXONOMY: &str = "9/0101101IM/";

/// The citizen's position id (IUPD).
fn iupd(c: &CitizenIdentity) -> String {
    format!("TARI-2026-{}", c.fiscal_code)
}

fn full_name(c: &CitizenIdentity) -> String {
    let name = format!(
        "{} {}",
        c.given_name.as_deref().unwrap_or_default(),
        c.family_name.as_deref().unwrap_or_default()
    );
    let name = name.trim();
    if name.is_empty() {
        c.fiscal_code.to_string()
    } else {
        name.chars().take(70).collect()
    }
}

fn positions(st: &AppState) -> Result<&Arc<Positions>, String> {
    st.node
        .host()
        .positions(&st.ente.fiscal_code)
        .ok_or_else(|| "l'ente non ha un archivio delle posizioni".to_owned())
}

/// End of the day `days` from today (UTC).
fn due(days: i64) -> DateTime<Utc> {
    let d = (Utc::now() + Duration::days(days)).date_naive();
    d.and_time(NaiveTime::from_hms_opt(23, 59, 59).unwrap_or_default())
        .and_utc()
}

/// One installment paid to the ente's account, its notice from the ente's IUV sequence.
async fn installment(
    st: &AppState,
    taxonomy: &Taxonomy,
    cents: u64,
    description: String,
    due_date: DateTime<Utc>,
) -> Result<Installment, String> {
    let notice = st
        .allocator
        .allocate(&st.ente.fiscal_code, st.ente.segregation)
        .await
        .map_err(|e| format!("allocazione IUV: {e}"))?;
    Ok(Installment {
        iuv: notice.iuv(),
        nav: Some(notice),
        amount: Amount::from_cents(cents),
        description: description.clone(),
        due_date,
        transfers: vec![Transfer {
            id_transfer: 1,
            amount: Amount::from_cents(cents),
            organization_fiscal_code: None,
            remittance_information: description,
            category: taxonomy.clone(),
            destination: Destination::Iban {
                iban: st.ente.iban.clone(),
                postal_iban: None,
            },
            company_name: None,
            metadata: Vec::new(),
        }],
        metadata: Vec::new(),
    })
}

/// The citizen's position, created on the first visit: IUVs from the ente's sequence, the
/// single payment due in 30 days, the rates in 30, 90 and 150 days.
async fn position_of(st: &AppState, c: &CitizenIdentity) -> Result<StoredPosition, String> {
    let book = positions(st)?;
    let id = iupd(c);
    if let Some(p) = book
        .position(&st.ente.fiscal_code, &id)
        .await
        .map_err(|e| e.to_string())?
    {
        return Ok(p);
    }
    let taxonomy = Taxonomy::parse(TAXONOMY).map_err(|e| e.to_string())?;
    let single = installment(
        st,
        &taxonomy,
        TOTAL_CENTS,
        format!("{SUBJECT} - rata unica"),
        due(30),
    )
    .await?;
    let mut rates = Vec::new();
    for k in 0..RATES {
        let days = 30 + 60 * i64::try_from(k).unwrap_or(0);
        rates.push(
            installment(
                st,
                &taxonomy,
                TOTAL_CENTS / RATES,
                format!("{SUBJECT} - rata {} di {RATES}", k + 1),
                due(days),
            )
            .await?,
        );
    }
    let debtor = Debtor::new(DebtorType::F, c.fiscal_code.to_string(), full_name(c));
    let option = |description: &str, installments| PaymentOption {
        description: Some(description.to_owned()),
        debtor: debtor.clone(),
        validity_date: None,
        retention_date: None,
        switch_to_expired: false,
        installments,
    };
    let position = Position {
        creditor: st.ente.fiscal_code.clone(),
        iupd: id.clone(),
        company_name: st.ente.name.chars().take(140).collect(),
        office_name: Some("Ufficio tributi".into()),
        pay_stand_in: false,
        options: vec![
            option("Rata unica", vec![single]),
            option("Tre rate", rates),
        ],
    };
    if let Err(e) = book.insert(position).await {
        // Another request (or instance) created it at the same time: use that one.
        return match book.position(&st.ente.fiscal_code, &id).await {
            Ok(Some(p)) => Ok(p),
            _ => Err(e.to_string()),
        };
    }
    book.position(&st.ente.fiscal_code, &id)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| "posizione non trovata dopo l'inserimento".to_owned())
}

fn state_label(s: InstallmentState) -> &'static str {
    match s {
        InstallmentState::Unpaid => "da pagare",
        InstallmentState::Paid => "pagata",
        InstallmentState::Closed => "non più pagabile: hai scelto l'altra opzione",
    }
}

/// `GET /tributi`: the citizen's TARI, its options and their states.
pub(super) async fn page(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let Some(c) = st.citizen(&headers).await else {
        return st.redirect("/");
    };
    let p = match position_of(&st, &c).await {
        Ok(p) => p,
        Err(e) => return st.problem(StatusCode::INTERNAL_SERVER_ERROR, "Tributi", &e),
    };
    let outcome = match q.get("esito").map(String::as_str) {
        Some("ok") => {
            r#"<div class="ok" role="status" id="esito-pagamento">Pagamento completato.</div>"#
        }
        Some("annullato") => {
            r#"<div class="errore" role="alert" id="esito-pagamento">Pagamento annullato: non è stato addebitato nulla.</div>"#
        }
        Some("errore") => {
            r#"<div class="errore" role="alert" id="esito-pagamento">Il pagamento non è andato a buon fine. Puoi riprovare.</div>"#
        }
        _ => "",
    };
    let mut rows = String::new();
    for (i, option) in p.position.options.iter().enumerate() {
        for (j, inst) in option.installments.iter().enumerate() {
            let Some(notice) = inst.notice_number() else {
                continue;
            };
            let state = p.state[i][j];
            let (id, label) = if option.is_single() {
                ("opzione-unica".to_owned(), "Rata unica".to_owned())
            } else {
                (
                    format!("rata-{}", j + 1),
                    format!("Rata {} di {}", j + 1, option.installments.len()),
                )
            };
            let action = if state == InstallmentState::Unpaid {
                format!(
                    r#"<form method="post" action="{}"><button type="submit" id="paga-{id}">Paga con pagoPA</button></form>"#,
                    esc(&st.url(&format!("/tributi/{notice}/paga")))
                )
            } else {
                String::new()
            };
            rows.push_str(&format!(
                r#"<tr id="{id}" data-notice="{}" data-state="{}"><td>{}</td><td>{}</td><td>{} euro</td><td>{}</td><td>{}</td><td>{action}</td></tr>"#,
                esc(notice.as_str()),
                state.as_str(),
                esc(&label),
                esc(&notice.to_print_format()),
                inst.amount,
                inst.due_date.format("%d/%m/%Y"),
                state_label(state),
            ));
        }
    }
    let pdf = if st.ente.cbill.is_some() {
        format!(
            r#"<p><a id="scarica-avviso" href="{}">Scarica l'avviso (PDF)</a></p>"#,
            esc(&st.url("/tributi/avviso.pdf"))
        )
    } else {
        String::new()
    };
    let body = format!(
        r#"{outcome}<h2>{subject}</h2>
<p>Puoi pagare per intero o in {RATES} rate. Il primo pagamento sceglie l'opzione: pagata la rata unica le rate non sono più pagabili, e pagata una rata non lo è più la rata unica.</p>
<div class="scheda">{info}</div>
<table id="opzioni"><thead><tr><th>Opzione</th><th>Codice avviso</th><th>Importo</th><th>Scadenza</th><th>Stato</th><th></th></tr></thead><tbody>{rows}</tbody></table>
{pdf}<p><a href="{area}">Torna all'area personale</a></p>"#,
        subject = esc(SUBJECT),
        info = fields(&[
            (
                "Ente creditore",
                format!("{} ({})", st.ente.name, st.ente.fiscal_code)
            ),
            ("Posizione", p.position.iupd.clone()),
            ("Stato", p.status(Utc::now()).as_str().to_owned()),
        ]),
        area = esc(&st.url("/area")),
    );
    Html(st.page("Tributi", &body)).into_response()
}

/// The citizen's position and the installment with this notice, if it is theirs.
async fn own_installment(
    st: &AppState,
    headers: &HeaderMap,
    notice: &str,
) -> Result<(StoredPosition, usize, usize, NoticeNumber), Response> {
    let Some(c) = st.citizen(headers).await else {
        return Err(st.redirect("/"));
    };
    let not_found = || st.problem(StatusCode::NOT_FOUND, "Tributi", "avviso non trovato");
    let Ok(notice) = NoticeNumber::parse(notice) else {
        return Err(not_found());
    };
    let p = position_of(st, &c)
        .await
        .map_err(|e| st.problem(StatusCode::INTERNAL_SERVER_ERROR, "Tributi", &e))?;
    let (i, j) = p.find(&notice).ok_or_else(not_found)?;
    Ok((p, i, j, notice))
}

/// `POST /tributi/{notice}/paga`: the installment's cart for pagoPA Checkout.
pub(super) async fn pay(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(notice): Path<String>,
) -> Response {
    let (p, i, j, notice) = match own_installment(&st, &headers, &notice).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if p.state[i][j] != InstallmentState::Unpaid {
        return (
            StatusCode::CONFLICT,
            Html(st.page(
                "Tributi",
                &format!(
                    r#"{}<p><a href="{}">Torna ai tributi</a></p>"#,
                    error_box(&format!(
                        "L'avviso {} non è pagabile: {}.",
                        notice.to_print_format(),
                        state_label(p.state[i][j])
                    )),
                    esc(&st.url("/tributi"))
                ),
            )),
        )
            .into_response();
    }
    let inst = &p.position.options[i].installments[j];
    let back = |esito: &str| format!("{}/tributi?esito={esito}", st.base_url);
    let cart = Cart::new(
        vec![CartNotice {
            notice_number: notice,
            fiscal_code: st.ente.fiscal_code.clone(),
            amount: inst.amount,
            company_name: st.ente.name.chars().take(140).collect(),
            description: inst.description.chars().take(140).collect(),
        }],
        ReturnUrls::new(back("ok"), back("annullato"), back("errore")),
    )
    .with_id_cart(notice.to_string());
    match st.checkout.post_cart(&cart).await {
        Ok(location) => redirect(&location),
        Err(e) => st.problem(
            StatusCode::BAD_GATEWAY,
            "Pagamento non avviato",
            &e.to_string(),
        ),
    }
}

fn option_input(i: &Installment) -> Option<pagopa::avviso::OptionInput> {
    Some(pagopa::avviso::OptionInput {
        notice_number: i.notice_number()?.to_string(),
        amount_cents: i.amount.cents(),
        due_date: Some(i.due_date.format("%Y-%m-%d").to_string()),
    })
}

/// `GET /tributi/avviso.pdf`: the position as the guide's notice, the single payment and the
/// rates of the plan.
pub(super) async fn pdf(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(c) = st.citizen(&headers).await else {
        return st.redirect("/");
    };
    let cbill = match st.notice_cbill() {
        Ok(cbill) => cbill,
        Err(page) => return *page,
    };
    let p = match position_of(&st, &c).await {
        Ok(p) => p,
        Err(e) => return st.problem(StatusCode::INTERNAL_SERVER_ERROR, "Tributi", &e),
    };
    let single = p
        .position
        .options
        .iter()
        .find(|o| o.is_single())
        .and_then(|o| option_input(&o.installments[0]));
    let installments: Vec<_> = p
        .position
        .options
        .iter()
        .find(|o| !o.is_single())
        .map(|o| o.installments.iter().filter_map(option_input).collect())
        .unwrap_or_default();
    let input = pagopa::avviso::AvvisoInput {
        subject: SUBJECT.into(),
        creditor: notice_creditor(&st, "Ufficio tributi", cbill),
        debtor: pagopa::avviso::DebtorInput {
            name: full_name(&c),
            fiscal_code: c.fiscal_code.to_string(),
            address: None,
        },
        single,
        installments,
    };
    notice_response(&st, &input, &p.position.iupd)
}
