//! The portal's state, routes and pages.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, RawQuery, State};
use axum::http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::Local;
use pa_types::{Amount, CodiceFiscale};
use pagopa::node::{
    PaForNodeService, QrCode, ReceiptStore, RequestIds, SqliteReceiptStore, StationConfig,
};
use pagopa::simulator::NodeSimulator;
use pagopa::{IuvAllocator, NoticeNumber, SequenceAllocator, SqliteSequence};
use protocollo::{RegistryCounter, SqliteRegistry};
use serde::Deserialize;

use super::db::{Db, Request};
use super::html::{error_box, esc, fields, page};
use super::login::{Citizen, Login, Scheme};
use super::payment::{Station, mint, qr_svg};
use super::treasury::Treasury;
use super::{Config, Ente, StartError, component, io, protocol};

const COOKIE_NAME: &str = "sportello_sid";

type NodeService = PaForNodeService<Station, SqliteReceiptStore>;

/// Everything the handlers share.
pub(crate) struct AppState {
    ente: Arc<Ente>,
    db: Arc<Db>,
    login: Login,
    registry: Arc<dyn RegistryCounter>,
    allocator: Arc<dyn IuvAllocator>,
    node: Arc<NodeService>,
    simulator: NodeSimulator,
    io: appio::IoClient,
    io_mock: Option<appio::mock::MockServer>,
    treasury: Treasury,
    cns_url: std::sync::OnceLock<String>,
}

fn state_err(path: &std::path::Path) -> impl Fn(String) -> StartError + '_ {
    move |message| StartError::State {
        path: path.to_owned(),
        message,
    }
}

impl AppState {
    pub(crate) async fn build(
        config: &Config,
        base_url: &str,
    ) -> Result<Arc<AppState>, StartError> {
        let ente = Arc::new(Ente::demo().map_err(component("ente"))?);
        let dir = &config.data_dir;
        let db_path = dir.join("sportello.sqlite");
        let db = Arc::new(Db::open(&db_path).map_err(|e| state_err(&db_path)(e.to_string()))?);
        let reg_path = dir.join("protocollo.sqlite");
        let registry: Arc<dyn RegistryCounter> = Arc::new(
            SqliteRegistry::open(&reg_path).map_err(|e| state_err(&reg_path)(e.to_string()))?,
        );
        let iuv_path = dir.join("iuv.sqlite");
        let allocator: Arc<dyn IuvAllocator> = Arc::new(SequenceAllocator::new(
            SqliteSequence::open(&iuv_path).map_err(|e| state_err(&iuv_path)(e.to_string()))?,
        ));
        let rt_path = dir.join("ricevute.sqlite");
        let receipts =
            SqliteReceiptStore::open(&rt_path).map_err(|e| state_err(&rt_path)(e.to_string()))?;
        let station = StationConfig::new(
            ente.fiscal_code.as_str(),
            ente.broker.clone(),
            ente.station.clone(),
        );
        let node = Arc::new(PaForNodeService::new(
            station,
            Station {
                db: Arc::clone(&db),
                ente: Arc::clone(&ente),
            },
            receipts,
        ));
        let simulator = NodeSimulator::new(
            format!("{base_url}/pagopa/paForNode"),
            RequestIds {
                id_pa: ente.fiscal_code.to_string(),
                id_broker_pa: ente.broker.clone(),
                id_station: ente.station.clone(),
            },
        );
        let (io, io_mock) = match &config.io {
            Some(real) => (
                appio::IoClient::builder(appio::SubscriptionKey::new(
                    real.subscription_key.clone(),
                ))
                .base_url(real.base_url.clone())
                .build()
                .map_err(|e| component("App IO")(e.to_string()))?,
                None,
            ),
            None => {
                let mock = appio::mock::MockServer::start(appio::mock::MockConfig {
                    accepted_keys: vec!["chiave-di-prova".into()],
                    ..appio::mock::MockConfig::default()
                })
                .await
                .map_err(|e| component("mock App IO")(e.to_string()))?;
                let client = appio::IoClient::builder(appio::SubscriptionKey::new(
                    "chiave-di-prova".to_owned(),
                ))
                .base_url(mock.base_url())
                .build()
                .map_err(|e| component("App IO")(e.to_string()))?;
                (client, Some(mock))
            }
        };
        let treasury = Treasury::start(config.siope.as_ref(), dir).await?;
        let login = Login::build(&ente, base_url)?;
        Ok(Arc::new(AppState {
            ente,
            db,
            login,
            registry,
            allocator,
            node,
            simulator,
            io,
            io_mock,
            treasury,
            cns_url: std::sync::OnceLock::new(),
        }))
    }

    pub(crate) fn db(&self) -> Arc<Db> {
        Arc::clone(&self.db)
    }

    pub(crate) fn set_cns_url(&self, url: String) {
        let _ = self.cns_url.set(url);
    }

    fn citizen(&self, headers: &HeaderMap) -> Option<(String, Citizen)> {
        let sid = session_id(headers)?;
        let json = self.db.session(&sid).ok()??;
        let citizen = serde_json::from_str(&json).ok()?;
        Some((sid, citizen))
    }
}

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let node = pagopa::node::router(Arc::clone(&state.node));
    Router::new()
        .route("/", get(home))
        .route("/login/spid", get(|st| login(st, Scheme::Spid)))
        .route("/login/cie", get(|st| login(st, Scheme::Cie)))
        .route(
            "/test-idp/spid/sso",
            get(|st, q| idp_sso(st, q, Scheme::Spid)),
        )
        .route(
            "/test-idp/cie/sso",
            get(|st, q| idp_sso(st, q, Scheme::Cie)),
        )
        .route(
            "/test-idp/spid/login",
            post(|st, f| idp_login(st, f, Scheme::Spid)),
        )
        .route(
            "/test-idp/cie/login",
            post(|st, f| idp_login(st, f, Scheme::Cie)),
        )
        .route(
            "/test-idp/spid/metadata",
            get(|st| idp_metadata(st, Scheme::Spid)),
        )
        .route(
            "/test-idp/cie/metadata",
            get(|st| idp_metadata(st, Scheme::Cie)),
        )
        .route("/spid/metadata", get(|st| sp_metadata(st, Scheme::Spid)))
        .route("/cie/metadata", get(|st| sp_metadata(st, Scheme::Cie)))
        .route("/spid/acs", post(|st, h, f| acs(st, h, f, Scheme::Spid)))
        .route("/cie/acs", post(|st, h, f| acs(st, h, f, Scheme::Cie)))
        .route("/area", get(area))
        .route("/logout", post(logout))
        .route("/richieste", post(new_request))
        .route("/richieste/{id}", get(show_request))
        .route("/richieste/{id}/paga", post(pay))
        .route("/operatore", get(operator))
        .route("/operatore/flusso", post(send_flow))
        .with_state(state)
        .nest("/pagopa/paForNode", node)
}

fn session_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE_NAME)
        .map(|(_, v)| v.to_owned())
}

fn set_cookie(value: &str) -> HeaderValue {
    // HttpOnly and SameSite=Lax; the demo is plain http on loopback, so no `Secure`.
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={value}; Path=/; HttpOnly; SameSite=Lax"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("sportello_sid=; Path=/"))
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

fn problem(status: StatusCode, title: &str, message: &str) -> Response {
    (
        status,
        Html(page(
            title,
            &format!(
                r#"{}<p><a href="/">Torna all'inizio</a></p>"#,
                error_box(message)
            ),
        )),
    )
        .into_response()
}

fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

// ---------- login ----------

async fn home(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if st.citizen(&headers).is_some() {
        return redirect("/area");
    }
    Html(page(
        "Accedi ai servizi online",
        &format!(
            r#"<p>Per presentare un'istanza al {} accedi con la tua identità digitale.</p>
<div class="azioni">
<a class="bottone" id="entra-spid" href="/login/spid">Entra con SPID</a>
<a class="bottone" id="entra-cie" href="/login/cie">Entra con CIE</a>
<a class="bottone" id="entra-cns" href="{}">Entra con CNS</a>
</div>
<p>Con la CNS (o la TS-CNS) il browser presenta il certificato della carta. Per provarlo senza
lettore, importa nel browser la carta di prova salvata nella cartella dei dati
(<code>carta-cns-demo.crt</code> e <code>.key</code>).</p>
<p><a href="/operatore">Area operatore</a></p>"#,
            esc(&st.ente.name),
            esc(st.cns_url.get().map_or("/", String::as_str)),
        ),
    ))
    .into_response()
}

async fn login(State(st): State<Arc<AppState>>, scheme: Scheme) -> Response {
    let sid = new_token();
    match st.login.start(scheme, &sid).await {
        Ok(url) => {
            let mut r = redirect(&url);
            r.headers_mut().insert(SET_COOKIE, set_cookie(&sid));
            r
        }
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Accesso non riuscito",
            &e,
        ),
    }
}

async fn idp_metadata(State(st): State<Arc<AppState>>, scheme: Scheme) -> Response {
    let xml = match scheme {
        Scheme::Spid => st.login.idp.metadata_xml(),
        Scheme::Cie => st.login.cie_idp.metadata_xml(),
    };
    match xml {
        Ok(xml) => ([(CONTENT_TYPE, "application/samlmetadata+xml")], xml).into_response(),
        Err(e) => problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Metadata",
            &e.to_string(),
        ),
    }
}

async fn sp_metadata(State(st): State<Arc<AppState>>, scheme: Scheme) -> Response {
    let xml = match scheme {
        Scheme::Spid => st.login.sp.metadata().map_err(|e| e.to_string()),
        Scheme::Cie => st.login.cie_sp.metadata().map_err(|e| e.to_string()),
    };
    match xml {
        Ok(xml) => ([(CONTENT_TYPE, "application/samlmetadata+xml")], xml).into_response(),
        Err(e) => problem(StatusCode::INTERNAL_SERVER_ERROR, "Metadata", &e),
    }
}

async fn idp_sso(
    State(st): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    scheme: Scheme,
) -> Response {
    let query = query.unwrap_or_default();
    let (token, req) = match st.login.idp_receive(scheme, &query) {
        Ok(v) => v,
        Err(e) => return problem(StatusCode::BAD_REQUEST, "Richiesta SAML non valida", &e),
    };
    let body = format!(
        r#"<p>Questo è l'<strong>Identity Provider {label} di prova</strong> incluso nella demo: scegli l'identità con cui entrare.</p>
<div class="scheda">{}</div>
<form method="post" action="/test-idp/{path}/login">
<input type="hidden" name="token" value="{}">
<label for="nome">Nome</label><input id="nome" name="name" value="Mario" required>
<label for="cognome">Cognome</label><input id="cognome" name="family_name" value="Rossi" required>
<label for="cf">Codice fiscale</label><input id="cf" name="fiscal_code" value="RSSMRA85T10A562S" required>
<div class="azioni"><button type="submit" id="idp-accedi">Accedi</button></div>
</form>"#,
        fields(&[
            ("Fornitore di servizi", req.issuer.clone()),
            ("Livello richiesto", format!("{:?}", req.level)),
            ("ID richiesta", req.id.clone()),
        ]),
        esc(&token),
        label = scheme.label(),
        path = scheme.path(),
    );
    Html(page(&format!("IdP {} di prova", scheme.label()), &body)).into_response()
}

#[derive(Debug, Deserialize)]
struct IdpLoginForm {
    token: String,
    name: String,
    family_name: String,
    fiscal_code: String,
}

async fn idp_login(
    State(st): State<Arc<AppState>>,
    Form(f): Form<IdpLoginForm>,
    scheme: Scheme,
) -> Response {
    let cf: CodiceFiscale = match f.fiscal_code.parse() {
        Ok(cf) => cf,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "Codice fiscale non valido",
                &e.to_string(),
            );
        }
    };
    match st
        .login
        .idp_answer(scheme, &f.token, &f.name, &f.family_name, &cf)
    {
        Ok((acs, response, relay)) => {
            let relay = relay
                .map(|r| {
                    format!(
                        r#"<input type="hidden" name="RelayState" value="{}">"#,
                        esc(&r)
                    )
                })
                .unwrap_or_default();
            Html(format!(
                r#"<!DOCTYPE html><html lang="it"><head><meta charset="utf-8"><title>Ritorno al servizio</title></head>
<body onload="document.forms[0].submit()"><form method="post" action="{}">
<input type="hidden" name="SAMLResponse" value="{}">{}
<noscript><button type="submit">Continua</button></noscript></form></body></html>"#,
                esc(&acs),
                esc(&response),
                relay
            ))
            .into_response()
        }
        Err(e) => problem(StatusCode::BAD_REQUEST, "IdP di prova", &e),
    }
}

#[derive(Debug, Deserialize)]
struct AcsForm {
    #[serde(rename = "SAMLResponse")]
    saml_response: String,
}

async fn acs(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(f): Form<AcsForm>,
    scheme: Scheme,
) -> Response {
    let Some(pre) = session_id(&headers) else {
        return problem(
            StatusCode::BAD_REQUEST,
            "Accesso non riuscito",
            "sessione assente: riparti da \"Entra con SPID\" o \"Entra con CIE\"",
        );
    };
    let result = match scheme {
        Scheme::Spid => st.login.finish(&f.saml_response, &pre).await,
        Scheme::Cie => st.login.finish_cie(&f.saml_response, &pre).await,
    };
    match result {
        Ok(citizen) => {
            // A new session id after login (no session fixation).
            let sid = new_token();
            let json = serde_json::to_string(&citizen).unwrap_or_default();
            if let Err(e) = st.db.put_session(&sid, &json) {
                return problem(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Sessione",
                    &e.to_string(),
                );
            }
            if let Some(mock) = &st.io_mock {
                mock.set_profile(
                    citizen.fiscal_code.clone(),
                    appio::mock::MockProfile::Allowed,
                );
            }
            let mut r = redirect("/area");
            r.headers_mut().insert(SET_COOKIE, set_cookie(&sid));
            r
        }
        Err(e) => problem(StatusCode::FORBIDDEN, "Accesso non riuscito", &e),
    }
}

async fn logout(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(sid) = session_id(&headers) {
        let _ = st.db.delete_session(&sid);
    }
    let mut r = redirect("/");
    r.headers_mut().insert(
        SET_COOKIE,
        HeaderValue::from_static("sportello_sid=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax"),
    );
    r
}

// ---------- the citizen's area ----------

async fn area(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some((_, c)) = st.citizen(&headers) else {
        return redirect("/");
    };
    let mine: Vec<Request> = st
        .db
        .requests()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.fiscal_code == c.fiscal_code.as_str())
        .collect();
    let mut list = String::new();
    for r in &mine {
        list.push_str(&format!(
            r#"<li><a href="/richieste/{}">{}</a> — {} ({})</li>"#,
            esc(&r.id),
            esc(&r.segnatura),
            esc(&r.subject),
            esc(&r.status)
        ));
    }
    if list.is_empty() {
        list.push_str("<li>Nessuna istanza presentata.</li>");
    }
    let body = format!(
        r#"<p id="benvenuto">Benvenuta/o, <strong>{name} {family}</strong>.</p>
<h2>La tua identità</h2>
<div class="scheda" id="identita">{identity}</div>
<h2>Presenta un'istanza</h2>
<form method="post" action="/richieste">
<label for="oggetto">Oggetto</label>
<input id="oggetto" name="subject" required maxlength="200" value="Richiesta di accesso agli atti">
<label for="testo">Testo dell'istanza</label>
<textarea id="testo" name="body" rows="5" required>Chiedo di poter consultare gli atti del procedimento edilizio relativo al mio immobile.</textarea>
<p>Diritti di istruttoria: <strong>{fee} euro</strong>, da pagare con pagoPA.</p>
<div class="azioni"><button type="submit" id="invia-istanza">Invia istanza</button></div>
</form>
<h2>Le tue istanze</h2><ul id="istanze">{list}</ul>
<form method="post" action="/logout"><button type="submit" id="esci">Esci</button></form>"#,
        name = esc(&c.name),
        family = esc(&c.family_name),
        identity = fields(&[
            ("Accesso", format!("{} (livello {})", c.method, c.level)),
            ("Identity Provider", c.idp.clone()),
            ("Codice fiscale", c.fiscal_code.to_string()),
            ("Nome", c.name.clone()),
            ("Cognome", c.family_name.clone()),
            ("Email", c.email.clone().unwrap_or_default()),
            (
                "Data di nascita",
                c.date_of_birth.clone().unwrap_or_default()
            ),
        ]),
        fee = st.ente.fee,
    );
    Html(page("Area personale", &body)).into_response()
}

#[derive(Debug, Deserialize)]
struct NewRequestForm {
    subject: String,
    body: String,
}

async fn new_request(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(f): Form<NewRequestForm>,
) -> Response {
    let Some((_, c)) = st.citizen(&headers) else {
        return redirect("/");
    };
    let subject = f.subject.trim().to_owned();
    if subject.is_empty() || subject.chars().count() > 200 {
        return problem(
            StatusCode::BAD_REQUEST,
            "Istanza non valida",
            "l'oggetto è obbligatorio (al massimo 200 caratteri)",
        );
    }
    let now = Local::now();
    let document = format!(
        "Istanza di {} {} ({})\nOggetto: {}\n\n{}\n",
        c.name, c.family_name, c.fiscal_code, subject, f.body
    );
    let registered = {
        let registry = Arc::clone(&st.registry);
        let ente = Arc::clone(&st.ente);
        let (name, family, cf) = (c.name.clone(), c.family_name.clone(), c.fiscal_code.clone());
        let subject = subject.clone();
        let date = now.date_naive();
        tokio::task::spawn_blocking(move || {
            protocol::register(
                &registry,
                &ente,
                date,
                (&name, &family, Some(cf)),
                &subject,
                document.as_bytes(),
            )
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()))
    };
    let protocolled = match registered {
        Ok(p) => p,
        Err(e) => return problem(StatusCode::INTERNAL_SERVER_ERROR, "Protocollo", &e),
    };
    let minted = match mint(st.allocator.as_ref(), &st.ente) {
        Ok(m) => m,
        Err(e) => return problem(StatusCode::INTERNAL_SERVER_ERROR, "pagoPA", &e),
    };
    let request = Request {
        id: new_token(),
        created_at: now.to_rfc3339(),
        fiscal_code: c.fiscal_code.to_string(),
        full_name: format!("{} {}", c.name, c.family_name),
        login: format!("{} · {}", c.method, c.idp),
        subject,
        body: f.body,
        protocol_number: protocolled.number,
        segnatura: protocolled.segnatura,
        segnatura_xml: protocolled.segnatura_xml,
        notice_number: minted.notice.to_string(),
        iuv: minted.notice.iuv().to_string(),
        amount_cents: st.ente.fee.cents(),
        status: "da pagare".into(),
        receipt_id: None,
        io_message_id: None,
    };
    if let Err(e) = st.db.insert_request(&request) {
        return problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Archivio",
            &e.to_string(),
        );
    }
    // The notice goes to the citizen's App IO too (with payment data). A failure to reach IO
    // does not undo the request: it is shown on the request's page.
    match io::send_notice(
        &st.io,
        &c.fiscal_code,
        &request.segnatura,
        &minted.notice,
        st.ente.fee,
        &st.ente.fiscal_code,
    )
    .await
    {
        Ok(id) => {
            let _ = st.db.set_io_message(&request.id, &id);
        }
        Err(e) => tracing_warn(&e),
    }
    redirect(&format!("/richieste/{}", request.id))
}

fn tracing_warn(message: &str) {
    eprintln!("sportello: {message}");
}

async fn show_request(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some((_, c)) = st.citizen(&headers) else {
        return redirect("/");
    };
    let r = match st.db.request(&id) {
        Ok(Some(r)) if r.fiscal_code == c.fiscal_code.as_str() => r,
        Ok(_) => return problem(StatusCode::NOT_FOUND, "Istanza", "istanza non trovata"),
        Err(e) => {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Archivio",
                &e.to_string(),
            );
        }
    };
    let notice: NoticeNumber = match r.notice_number.parse() {
        Ok(n) => n,
        Err(e) => return problem(StatusCode::INTERNAL_SERVER_ERROR, "Avviso", &format!("{e}")),
    };
    let amount = Amount::from_cents(r.amount_cents);
    let mut body = format!(
        r#"<div class="ok" role="status">Istanza protocollata.</div>
<h2>Protocollo</h2>
<div class="scheda">{}</div>
<details><summary>Segnatura informatica (XML)</summary><pre id="segnatura-xml">{}</pre></details>"#,
        fields(&[
            ("Numero di protocollo", format!("{:07}", r.protocol_number)),
            ("Segnatura", r.segnatura.clone()),
            ("Oggetto", r.subject.clone()),
        ]),
        esc(&r.segnatura_xml)
    );
    body.push_str(&format!(
        r#"<h2>Avviso di pagamento pagoPA</h2>
<div class="scheda">{}<div class="qr" role="img" aria-label="QR code dell'avviso {}">{}</div></div>"#,
        fields(&[
            ("Ente creditore", format!("{} ({})", st.ente.name, st.ente.fiscal_code)),
            ("Codice avviso", notice.to_print_format()),
            ("IUV", r.iuv.clone()),
            ("Importo", format!("{amount} euro")),
            ("Stato", r.status.clone()),
        ]),
        esc(notice.as_str()),
        qr_svg(&st.ente, &notice, amount).unwrap_or_else(|e| esc(&e))
    ));
    if r.status == "pagata" {
        let receipt = st
            .node
            .store()
            .list(&st.ente.fiscal_code)
            .await
            .unwrap_or_default()
            .into_iter()
            .find(|rt| Some(&rt.receipt_id) == r.receipt_id.as_ref());
        body.push_str(r#"<h2>Ricevuta</h2><div class="ok" role="status" id="ricevuta">"#);
        match receipt {
            Some(rt) => body.push_str(&fields(&[
                ("Identificativo ricevuta", rt.receipt_id.clone()),
                ("Esito", format!("{:?}", rt.outcome)),
                ("Importo", format!("{} euro", rt.payment_amount)),
                ("Codice avviso", rt.notice_number.to_string()),
                ("Pagatore", rt.debtor.full_name.clone()),
            ])),
            None => body.push_str("Pagamento registrato."),
        }
        body.push_str("</div>");
    } else {
        body.push_str(&format!(
            r#"<form method="post" action="/richieste/{}/paga"><div class="azioni">
<button type="submit" id="paga">Paga con pagoPA</button></div></form>
<p>Il pagamento passa dal nodo pagoPA simulato: verifica dell'avviso, attivazione, ricevuta.</p>"#,
            esc(&r.id)
        ));
    }
    if let Some(mock) = &st.io_mock {
        let messages: Vec<_> = mock
            .messages()
            .into_iter()
            .filter(|m| m.message.fiscal_code().as_str() == r.fiscal_code)
            .filter(|m| {
                m.message
                    .content()
                    .subject()
                    .as_str()
                    .contains(&r.segnatura)
            })
            .collect();
        body.push_str(r#"<h2>Messaggi App IO ricevuti</h2><ul id="messaggi-io">"#);
        for m in &messages {
            body.push_str(&format!(
                "<li><strong>{}</strong><br>{}</li>",
                esc(m.message.content().subject().as_str()),
                esc(m.message.content().markdown().as_str())
            ));
        }
        if messages.is_empty() {
            body.push_str("<li>Nessun messaggio.</li>");
        }
        body.push_str("</ul>");
    }
    body.push_str(r#"<p><a href="/area">Torna all'area personale</a></p>"#);
    Html(page(&format!("Istanza {}", r.segnatura), &body)).into_response()
}

async fn pay(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let Some((_, c)) = st.citizen(&headers) else {
        return redirect("/");
    };
    let r = match st.db.request(&id) {
        Ok(Some(r)) if r.fiscal_code == c.fiscal_code.as_str() => r,
        Ok(_) => return problem(StatusCode::NOT_FOUND, "Istanza", "istanza non trovata"),
        Err(e) => {
            return problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Archivio",
                &e.to_string(),
            );
        }
    };
    if r.status == "pagata" {
        return redirect(&format!("/richieste/{id}"));
    }
    let notice: NoticeNumber = match r.notice_number.parse() {
        Ok(n) => n,
        Err(e) => return problem(StatusCode::INTERNAL_SERVER_ERROR, "Avviso", &format!("{e}")),
    };
    let qr = QrCode {
        fiscal_code: st.ente.fiscal_code.clone(),
        notice_number: notice,
    };
    let paid = match st.simulator.pay(&qr).await {
        Ok(p) => p,
        Err(e) => {
            return problem(
                StatusCode::BAD_GATEWAY,
                "Pagamento non riuscito",
                &e.to_string(),
            );
        }
    };
    // The receipt is stored by the paForNode service before it answered OK, and the host
    // marked the request paid; confirm through App IO.
    match io::send_confirmation(
        &st.io,
        &c.fiscal_code,
        &r.segnatura,
        paid.receipt.payment_amount,
        &paid.receipt.receipt_id,
    )
    .await
    {
        Ok(mid) => {
            let _ = st.db.set_io_message(&r.id, &mid);
        }
        Err(e) => tracing_warn(&e),
    }
    redirect(&format!("/richieste/{id}"))
}

// ---------- operator ----------

async fn operator(State(st): State<Arc<AppState>>) -> Response {
    let requests = st.db.requests().unwrap_or_default();
    let mut rows = String::new();
    for r in &requests {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.segnatura),
            esc(&r.full_name),
            esc(&r.subject),
            esc(&r.notice_number),
            esc(&Amount::from_cents(r.amount_cents).to_string()),
            esc(&r.status)
        ));
    }
    let receipts = st
        .node
        .store()
        .list(&st.ente.fiscal_code)
        .await
        .unwrap_or_default();
    let mut rt_rows = String::new();
    for rt in &receipts {
        rt_rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&rt.receipt_id),
            esc(rt.notice_number.as_str()),
            esc(&rt.creditor_reference_id),
            esc(&rt.payment_amount.to_string()),
            esc(&rt.debtor.full_name)
        ));
    }
    let body = format!(
        r#"<h2>Istanze</h2>
<table id="tabella-istanze"><thead><tr><th>Segnatura</th><th>Cittadino</th><th>Oggetto</th><th>Avviso</th><th>Importo</th><th>Stato</th></tr></thead><tbody>{rows}</tbody></table>
<h2>Ricevute pagoPA</h2>
<table id="tabella-ricevute"><thead><tr><th>Ricevuta</th><th>Avviso</th><th>IUV</th><th>Importo</th><th>Pagatore</th></tr></thead><tbody>{rt_rows}</tbody></table>
{treasury}"#,
        treasury = st.treasury.section().await,
    );
    Html(page("Area operatore", &body)).into_response()
}

async fn send_flow(State(st): State<Arc<AppState>>) -> Response {
    let receipts = st
        .node
        .store()
        .list(&st.ente.fiscal_code)
        .await
        .unwrap_or_default();
    match st.treasury.send_today(&st.ente, &receipts).await {
        Ok(()) => redirect("/operatore"),
        Err(e) => problem(StatusCode::BAD_GATEWAY, "SIOPE+", &e),
    }
}
