//! A2A simulator for tests and demos (feature `simulator`): axum over mutual TLS on
//! 127.0.0.1 with a generated test PKI. It accepts flows, validates them, and produces ACKs,
//! ricezione / rifiuto messages and esiti applicativi that the client can list and download.
//!
//! Not a model of SIOPE+'s internal rules: it checks the schema-level structure and the rules of
//! [`crate::validate_flow`], refuses a second flow with the same `identificativo_flusso`, and
//! can inject 429 / 503 answers or lose the answer to an upload.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{Duration as ChronoDuration, Local, NaiveDateTime, Utc};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::Deserialize;
use tokio::net::TcpListener;
use url::Url;

use crate::cert::{CertInfo, ClientIdentity};
use crate::client::{ListItem, ListPage, unzip_one, zip_one};
use crate::messages::{
    AckSiope, ErroreAck, EsitoApplicativo, EsitoOperazione, EsitoOrdinativo, StatoFlusso,
    TestataMessaggio, TipoOrdinativo,
};
use crate::model::Ordinativo;
use crate::reader::FlowReader;
use crate::sign::{FlowSigner, sign_document, verify_flow};
use crate::validate::{FlowValidator, validate_testata};
use xmldsig::TrustedKey;

/// A test certification authority with a server certificate for `127.0.0.1` / `localhost`.
pub struct TestPki {
    ca_params: CertificateParams,
    ca_key: KeyPair,
    ca_pem: String,
    server_cert_pem: String,
    server_key_pem: String,
}

impl std::fmt::Debug for TestPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestPki").finish_non_exhaustive()
    }
}

fn ymd(d: chrono::DateTime<Utc>) -> (i32, u8, u8) {
    use chrono::Datelike;
    (d.year(), d.month() as u8, d.day() as u8)
}

impl TestPki {
    /// Generates a CA named `name` and a server certificate signed by it.
    ///
    /// # Errors
    /// When key generation or signing fails.
    pub fn generate(name: &str) -> Result<Self, rcgen::Error> {
        let ca_key = KeyPair::generate()?;
        let mut ca_params = CertificateParams::new(Vec::<String>::new())?;
        ca_params.distinguished_name.push(DnType::CommonName, name);
        ca_params
            .distinguished_name
            .push(DnType::OrganizationName, "pa-rs test PKI");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca = ca_params.self_signed(&ca_key)?;
        let issuer = Issuer::from_params(&ca_params, &ca_key);
        let server_key = KeyPair::generate()?;
        let mut sp = CertificateParams::new(vec!["localhost".to_owned()])?;
        sp.subject_alt_names
            .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
        sp.distinguished_name
            .push(DnType::CommonName, "siopeplus simulator");
        let server = sp.signed_by(&server_key, &issuer)?;
        Ok(TestPki {
            ca_pem: ca.pem(),
            server_cert_pem: server.pem(),
            server_key_pem: server_key.serialize_pem(),
            ca_params,
            ca_key,
        })
    }

    /// The CA certificate (PEM): the trust root for both the client and the server.
    #[must_use]
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The server's certificate (PEM): the simulator signs its messages with its key.
    #[must_use]
    pub fn server_cert_pem(&self) -> &str {
        &self.server_cert_pem
    }

    /// Issues a client certificate (PEM certificate, PEM PKCS#8 key) with common name `cn`,
    /// valid from `valid_from_days` to `valid_to_days` days from today (negative = past).
    ///
    /// # Errors
    /// When key generation or signing fails.
    pub fn issue_client(
        &self,
        cn: &str,
        valid_from_days: i64,
        valid_to_days: i64,
    ) -> Result<(String, String), rcgen::Error> {
        let key = KeyPair::generate()?;
        let mut p = CertificateParams::new(Vec::<String>::new())?;
        p.distinguished_name.push(DnType::CommonName, cn);
        p.distinguished_name
            .push(DnType::OrganizationName, "Ente di prova");
        let now = Utc::now();
        let (y, m, d) = ymd(now + ChronoDuration::days(valid_from_days));
        p.not_before = rcgen::date_time_ymd(y, m, d);
        let (y, m, d) = ymd(now + ChronoDuration::days(valid_to_days));
        p.not_after = rcgen::date_time_ymd(y, m, d);
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = p.signed_by(&key, &issuer)?;
        Ok((cert.pem(), key.serialize_pem()))
    }

    /// A client identity with common name `cn`, valid from yesterday for `days` days.
    ///
    /// # Errors
    /// When generation fails.
    pub fn client_identity(&self, cn: &str, days: i64) -> Result<ClientIdentity, crate::Error> {
        let (c, k) = self
            .issue_client(cn, -1, days)
            .map_err(|e| crate::CertError::X509(e.to_string()))?;
        Ok(ClientIdentity::from_pem_parts(c.as_bytes(), k.as_bytes())?)
    }
}

/// Options of the simulator.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Items per page in list answers.
    pub page_size: usize,
    /// The treasurer's `codice_ABI_BT` in the messages.
    pub codice_abi_bt: String,
    /// Verify each flow's signature with the certificate the client presented on TLS, and
    /// answer KO when it does not verify. Default false (tests may send placeholder signatures).
    pub verify_signatures: bool,
    /// Sign the ricezione and esito applicativo messages with the server's key (verify them
    /// with [`TestPki::server_cert_pem`]). Default true.
    pub sign_messages: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            page_size: 50,
            codice_abi_bt: "03069".into(),
            verify_signatures: false,
            sign_messages: true,
        }
    }
}

/// A fault to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer this status (e.g. 429, 503) without processing the request.
    Status(u16),
    /// Process an upload, then answer 500 as if the answer were lost.
    LoseUploadAnswer,
}

/// A flow received by the simulator.
#[derive(Debug, Clone)]
pub struct ReceivedFlow {
    /// `progFlusso`.
    pub prog: i64,
    /// `identificativo_flusso` (empty when unreadable).
    pub identificativo_flusso: String,
    /// The A2A code of the client certificate that sent it.
    pub sender: Option<String>,
    /// The XML.
    pub xml: Vec<u8>,
    /// Whether the ACK was OK.
    pub accepted: bool,
    /// When it was uploaded.
    pub data_upload: NaiveDateTime,
}

#[derive(Debug, Clone)]
struct Produced {
    kind: &'static str,
    prog: i64,
    xml: String,
    data: NaiveDateTime,
    downloaded: bool,
}

#[derive(Default)]
struct SimState {
    flows: Vec<ReceivedFlow>,
    produced: Vec<Produced>,
    faults: VecDeque<Fault>,
    next_prog: i64,
    upload_delay: std::time::Duration,
}

#[derive(Clone)]
struct App {
    state: Arc<Mutex<SimState>>,
    opts: SimOptions,
    base: String,
    signer: Option<Arc<FlowSigner>>,
}

#[derive(Clone)]
struct Peer {
    a2a: Option<String>,
    cert: Option<Vec<u8>>,
}

/// A running simulator; stops when dropped.
pub struct Simulator {
    addr: SocketAddr,
    state: Arc<Mutex<SimState>>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Simulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn lock(s: &Mutex<SimState>) -> std::sync::MutexGuard<'_, SimState> {
    s.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Simulator {
    /// Starts on `127.0.0.1` (a free port), requiring client certificates issued by the PKI's CA.
    ///
    /// # Errors
    /// When the port cannot be bound or the TLS configuration is refused.
    pub async fn start(pki: &TestPki, opts: SimOptions) -> std::io::Result<Simulator> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let io = |e: String| std::io::Error::other(e);
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(pki.ca_pem.as_bytes()) {
            roots
                .add(c.map_err(|e| io(e.to_string()))?)
                .map_err(|e| io(e.to_string()))?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
            Arc::new(roots),
            provider.clone(),
        )
        .build()
        .map_err(|e| io(e.to_string()))?;
        let chain = CertificateDer::pem_slice_iter(pki.server_cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| io(e.to_string()))?;
        let key = PrivateKeyDer::from_pem_slice(pki.server_key_pem.as_bytes())
            .map_err(|e| io(e.to_string()))?;
        let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| io(e.to_string()))?
            .with_client_cert_verifier(verifier)
            .with_single_cert(chain, key)
            .map_err(|e| io(e.to_string()))?;
        cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
        let state = Arc::new(Mutex::new(SimState {
            next_prog: 1,
            ..SimState::default()
        }));
        let signer = if opts.sign_messages {
            let id = ClientIdentity::from_pem_parts(
                pki.server_cert_pem.as_bytes(),
                pki.server_key_pem.as_bytes(),
            )
            .map_err(|e| io(e.to_string()))?;
            Some(Arc::new(
                FlowSigner::from_identity(&id).map_err(|e| io(e.to_string()))?,
            ))
        } else {
            None
        };
        let app = App {
            signer,
            state: state.clone(),
            opts,
            base: format!("https://127.0.0.1:{}/v1", addr.port()),
        };
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let app = app.clone();
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let cert = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .map(|c| c.as_ref().to_vec());
                    let a2a = cert
                        .as_deref()
                        .and_then(|c| CertInfo::from_der(c).ok())
                        .and_then(|i| i.a2a_code.map(|a| a.to_string()));
                    let router = router(app).layer(axum::Extension(Peer { a2a, cert }));
                    let svc = hyper_util::service::TowerToHyperService::new(router);
                    let _ = hyper_util::server::conn::auto::Builder::new(
                        hyper_util::rt::TokioExecutor::new(),
                    )
                    .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                    .await;
                });
            }
        });
        Ok(Simulator { addr, state, task })
    }

    /// The base URL (`https://127.0.0.1:PORT/v1`).
    ///
    /// # Panics
    /// Never: the URL is built from a socket address.
    #[must_use]
    #[allow(clippy::missing_panics_doc)]
    pub fn base_url(&self) -> Url {
        #[allow(clippy::unwrap_used)]
        Url::parse(&format!("https://127.0.0.1:{}/v1", self.addr.port())).unwrap()
    }

    /// Queues faults for the next requests, in order.
    pub fn inject(&self, faults: &[Fault]) {
        lock(&self.state).faults.extend(faults.iter().copied());
    }

    /// Makes every later upload wait `delay` after the flow is recorded and before the answer
    /// is sent (a slow server: a client killed meanwhile has uploaded without knowing it).
    pub fn set_upload_delay(&self, delay: std::time::Duration) {
        lock(&self.state).upload_delay = delay;
    }

    /// The flows received so far.
    #[must_use]
    pub fn received(&self) -> Vec<ReceivedFlow> {
        lock(&self.state).flows.clone()
    }
}

fn router(app: App) -> Router {
    Router::new()
        .route("/v1/{a2a}/PA/{ente}/flusso/", post(upload))
        .route(
            "/v1/{a2a}/PA/{ente}/flusso/ack/",
            get(|s, p, q| list(s, p, q, "ack")),
        )
        .route(
            "/v1/{a2a}/PA/{ente}/flusso/esitoflusso/",
            get(|s, p, q| list(s, p, q, "esitoflusso")),
        )
        .route(
            "/v1/{a2a}/PA/{ente}/esitoapplicativo/",
            get(|s, p, q| list(s, p, q, "esitoapplicativo")),
        )
        .route(
            "/v1/{a2a}/PA/{ente}/giornale/",
            get(|s, p, q| list(s, p, q, "giornale")),
        )
        .route("/v1/{a2a}/PA/{ente}/download/{kind}/{prog}", get(download))
        .with_state(app)
}

fn take_fault(app: &App) -> Option<Fault> {
    lock(&app.state).faults.pop_front()
}

fn status_fault(app: &App) -> Option<Response> {
    let mut st = lock(&app.state);
    if let Some(Fault::Status(s)) = st.faults.front().copied() {
        st.faults.pop_front();
        let code = StatusCode::from_u16(s).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        return Some((code, [(header::RETRY_AFTER, "0")], "simulated").into_response());
    }
    None
}

async fn upload(
    State(app): State<App>,
    axum::Extension(Peer { a2a: peer, cert }): axum::Extension<Peer>,
    Path((a2a, _ente)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Some(r) = status_fault(&app) {
        return r;
    }
    if peer.as_deref() != Some(a2a.as_str()) {
        return (
            StatusCode::FORBIDDEN,
            "client certificate does not match the A2A code",
        )
            .into_response();
    }
    if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        != Some("application/zip")
    {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected application/zip",
        )
            .into_response();
    }
    let Ok(xml) = unzip_one(&body) else {
        return (StatusCode::BAD_REQUEST, "expected a zip with one XML").into_response();
    };
    let lose = matches!(
        lock(&app.state).faults.front(),
        Some(Fault::LoseUploadAnswer)
    );
    if lose {
        take_fault(&app);
    }
    let now = Local::now().naive_local();
    let (mut ack, orders, id) = check_flow(&xml, &app.opts, now);
    if app.opts.verify_signatures && ack.stato_flusso == StatoFlusso::Ok {
        let trusted: Vec<TrustedKey> = cert
            .as_deref()
            .and_then(|c| xmldsig::Certificate::from_der(c).ok())
            .map(TrustedKey::from_certificate)
            .into_iter()
            .collect();
        if let Err(e) = verify_flow(&xml, &trusted) {
            ack.stato_flusso = StatoFlusso::Ko;
            ack.errori.push(ErroreAck {
                codice: 5,
                descrizione: format!("firma non valida: {e}"),
                elemento: Some("/flusso_ordinativi/Signature".into()),
            });
        }
    }
    let sign = |xml: String, root: &str, id: String| -> String {
        let Some(signer) = &app.signer else {
            return xml;
        };
        let with_id = xml.replacen(&format!("<{root}>"), &format!("<{root} Id=\"{id}\">"), 1);
        sign_document(with_id.as_bytes(), signer)
            .ok()
            .and_then(|v| String::from_utf8(v).ok())
            .unwrap_or(xml)
    };
    let (prog, delay) = {
        let mut st = lock(&app.state);
        let duplicate = !id.is_empty()
            && st
                .flows
                .iter()
                .any(|f| f.identificativo_flusso == id && f.accepted);
        if duplicate {
            ack.stato_flusso = StatoFlusso::Ko;
            ack.errori.push(ErroreAck {
                codice: 3,
                descrizione: "identificativo_flusso gia' trasmesso".into(),
                elemento: Some("/flusso_ordinativi/testata_flusso/identificativo_flusso".into()),
            });
        }
        let prog = st.next_prog;
        st.next_prog += 1;
        let accepted = ack.stato_flusso == StatoFlusso::Ok;
        st.flows.push(ReceivedFlow {
            prog,
            identificativo_flusso: id.clone(),
            sender: peer,
            xml,
            accepted,
            data_upload: now,
        });
        st.produced.push(Produced {
            kind: "ack",
            prog,
            xml: ack.to_xml(),
            data: now,
            downloaded: false,
        });
        if accepted {
            let t = &ack.testata;
            st.produced.push(Produced {
                kind: "esitoflusso",
                prog,
                xml: sign(
                    ricezione_xml(t, &id, prog, ack.esercizio.unwrap_or(0)),
                    "messaggio_ricezione_flusso",
                    format!("RF{prog}"),
                ),
                data: now,
                downloaded: false,
            });
            let giornale = giornale_xml(t, &id, &orders, prog, now, ack.esercizio.unwrap_or(0));
            st.produced.push(Produced {
                kind: "giornale",
                prog,
                xml: sign(giornale, "flusso_giornale_di_cassa", format!("GDC{prog}")),
                data: now,
                downloaded: false,
            });
            let esito = EsitoApplicativo {
                testata: t.clone(),
                identificativo_flusso_bt: format!("EA-{prog:08}"),
                esiti: orders
                    .into_iter()
                    .map(|(tipo, numero, importo, data)| EsitoOrdinativo {
                        tipo,
                        identificativo_flusso: id.clone(),
                        esercizio: ack.esercizio.unwrap_or(0),
                        numero: u64::from(numero),
                        progressivo: None,
                        data: Some(data),
                        importo: Some(importo),
                        esito_operazione: EsitoOperazione::Acquisito,
                        data_ora_esito_operazione: now,
                        errori: vec![],
                    })
                    .collect(),
                signed: false,
            };
            st.produced.push(Produced {
                kind: "esitoapplicativo",
                prog,
                xml: sign(
                    esito.to_xml(),
                    "messaggi_esito_applicativo",
                    format!("EA{prog}"),
                ),
                data: now,
                downloaded: false,
            });
        }
        (prog, st.upload_delay)
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    if lose {
        return (StatusCode::INTERNAL_SERVER_ERROR, "simulated lost answer").into_response();
    }
    let body = serde_json::json!({
        "progFlusso": prog,
        "dataUpload": now.format("%Y-%m-%dT%H:%M:%S%.3f").to_string(),
    });
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

type OrderOutcome = (TipoOrdinativo, u32, pa_types::Amount, chrono::NaiveDate);

/// One page of cash book with a movement per order of the flow, executed the day of upload.
fn giornale_xml(
    t: &TestataMessaggio,
    id: &str,
    orders: &[OrderOutcome],
    prog: i64,
    now: NaiveDateTime,
    esercizio: u16,
) -> String {
    use std::fmt::Write as _;
    let ack = AckSiope {
        testata: t.clone(),
        identificativo_flusso: None,
        identificativo_flusso_bt: None,
        esercizio: None,
        stato_flusso: StatoFlusso::Ok,
        errori: vec![],
        warning: vec![],
    }
    .to_xml();
    let start = ack.find("<testata_messaggio>").unwrap_or(0);
    let end = ack
        .find("</testata_messaggio>")
        .map_or(ack.len(), |i| i + "</testata_messaggio>".len());
    let day = now.date().format("%Y-%m-%d").to_string();
    let mut s = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><flusso_giornale_di_cassa>{}\
<identificativo_flusso_BT>GDC-{}{}{:010}#001#001</identificativo_flusso_BT>\
<pagina>1</pagina><pagine_totali>1</pagine_totali><esercizio>{esercizio}</esercizio>\
<data_riferimento_GdC>{day}</data_riferimento_GdC><informazioni_conto_evidenza>\
<conto_evidenza>0000001</conto_evidenza>",
        &ack[start..end],
        now.date().format("%Y%m%d"),
        t.codice_ente,
        prog
    );
    let (mut entrate, mut uscite) = (0u64, 0u64);
    for (i, (tipo, numero, importo, _)) in orders.iter().enumerate() {
        let (mov, doc) = match tipo {
            TipoOrdinativo::Mandato => {
                uscite += importo.cents();
                ("USCITA", "MANDATO")
            }
            TipoOrdinativo::Reversale => {
                entrate += importo.cents();
                ("ENTRATA", "REVERSALE")
            }
        };
        let _ = write!(
            s,
            "<movimento_conto_evidenza><identificativo_flusso>{}</identificativo_flusso>\
<numero_movimento>{}</numero_movimento><tipo_movimento>{mov}</tipo_movimento>\
<tipo_documento>{doc}</tipo_documento><tipo_operazione>ESEGUITO</tipo_operazione>\
<numero_documento>{numero}</numero_documento><progressivo_documento>1</progressivo_documento>\
<importo>{}</importo><data_movimento>{day}</data_movimento><data_movimento_siope>{day}</data_movimento_siope>\
<tipo_esecuzione>CASSA</tipo_esecuzione><assoggettamento_bollo>ESENTE BOLLO</assoggettamento_bollo>\
<cliente><anagrafica_cliente>{} {numero}</anagrafica_cliente></cliente>\
<causale>Esecuzione simulata</causale></movimento_conto_evidenza>",
            quick_xml::escape::escape(id),
            prog * 100_000 + i as i64 + 1,
            importo.to_decimal_string(),
            if *tipo == TipoOrdinativo::Mandato {
                "Beneficiario mandato"
            } else {
                "Versante reversale"
            },
        );
    }
    let eur = |c: u64| pa_types::Amount::from_cents(c).to_decimal_string();
    let _ = write!(
        s,
        "<totale_entrate_conto_evidenza>{}</totale_entrate_conto_evidenza>\
<totale_uscite_conto_evidenza>{}</totale_uscite_conto_evidenza></informazioni_conto_evidenza>\
</flusso_giornale_di_cassa>",
        eur(entrate),
        eur(uscite)
    );
    s
}

fn check_flow(
    xml: &[u8],
    opts: &SimOptions,
    now: NaiveDateTime,
) -> (AckSiope, Vec<OrderOutcome>, String) {
    let mut errori = Vec::new();
    let mut orders = Vec::new();
    let fallback = TestataMessaggio {
        codice_abi_bt: opts
            .codice_abi_bt
            .parse()
            .unwrap_or_else(|_| fallback_abi()),
        data_ora_creazione_flusso: now,
        codice_ente: fallback_ente(),
        descrizione_ente: "sconosciuto".into(),
        codice_istat_ente: fallback_istat(),
        codice_fiscale_ente: "00000000000".into(),
        codice_tramite_ente: fallback_a2a(),
        codice_tramite_bt: fallback_a2a(),
        codice_ente_bt: "0".into(),
    };
    let mut testata = fallback;
    let mut id = String::new();
    let mut esercizio = None;
    match FlowReader::new(xml) {
        Err(e) => errori.push(ErroreAck {
            codice: 2,
            descrizione: e.kind.to_string(),
            elemento: Some(format!("/{}", e.path)),
        }),
        Ok(mut r) => {
            let h = r.header().clone();
            id = h.testata.identificativo_flusso.to_string();
            esercizio = Some(h.esercizio);
            testata = TestataMessaggio {
                codice_abi_bt: h.testata.codice_abi_bt.clone(),
                data_ora_creazione_flusso: now,
                codice_ente: h.testata.codice_ente.clone(),
                descrizione_ente: h.testata.descrizione_ente.clone(),
                codice_istat_ente: h.testata.codice_istat_ente.clone(),
                codice_fiscale_ente: h.testata.codice_fiscale_ente.clone(),
                codice_tramite_ente: h.testata.codice_tramite_ente.clone(),
                codice_tramite_bt: h.testata.codice_tramite_bt.clone(),
                codice_ente_bt: h.testata.codice_ente_bt.clone(),
            };
            if let Err(e) = validate_testata(&h.testata, h.esercizio) {
                for v in e.0 {
                    errori.push(ErroreAck {
                        codice: 1,
                        descrizione: v.problem,
                        elemento: Some(format!("/flusso_ordinativi/{}", v.field)),
                    });
                }
            }
            let mut fv = FlowValidator::new();
            loop {
                match r.next_ordinativo() {
                    Ok(None) => break,
                    Ok(Some(o)) => {
                        let (res, out) = match &o {
                            Ordinativo::Mandato(m) => (
                                fv.check_mandato(m),
                                (
                                    TipoOrdinativo::Mandato,
                                    m.numero_mandato,
                                    m.importo_mandato,
                                    m.data_mandato,
                                ),
                            ),
                            Ordinativo::Reversale(rv) => (
                                fv.check_reversale(rv),
                                (
                                    TipoOrdinativo::Reversale,
                                    rv.numero_reversale,
                                    rv.importo_reversale,
                                    rv.data_reversale,
                                ),
                            ),
                        };
                        if let Err(e) = res {
                            for v in e.0 {
                                errori.push(ErroreAck {
                                    codice: 1,
                                    descrizione: v.problem,
                                    elemento: Some(format!("{} {}", v.order, v.field)),
                                });
                            }
                        }
                        orders.push(out);
                    }
                    Err(e) => {
                        errori.push(ErroreAck {
                            codice: 2,
                            descrizione: e.kind.to_string(),
                            elemento: Some(format!("/{}", e.path)),
                        });
                        break;
                    }
                }
            }
            if r.signatures() == 0 {
                errori.push(ErroreAck {
                    codice: 4,
                    descrizione: "il flusso non e' firmato".into(),
                    elemento: Some("/flusso_ordinativi/Signature".into()),
                });
            }
        }
    }
    let ack = AckSiope {
        testata,
        identificativo_flusso: if id.is_empty() {
            None
        } else {
            Some(id.clone())
        },
        identificativo_flusso_bt: None,
        esercizio,
        stato_flusso: if errori.is_empty() {
            StatoFlusso::Ok
        } else {
            StatoFlusso::Ko
        },
        errori,
        warning: vec![],
    };
    (ack, orders, id)
}

#[allow(clippy::unwrap_used)]
fn fallback_abi() -> crate::CodiceAbi {
    "00000".parse().unwrap()
}
#[allow(clippy::unwrap_used)]
fn fallback_ente() -> crate::CodiceEnte {
    "000000".parse().unwrap()
}
#[allow(clippy::unwrap_used)]
fn fallback_istat() -> crate::CodiceIstat {
    "000000000".parse().unwrap()
}
#[allow(clippy::unwrap_used)]
fn fallback_a2a() -> crate::CodiceA2a {
    "A2A-00000000".parse().unwrap()
}

fn ricezione_xml(t: &TestataMessaggio, id: &str, prog: i64, esercizio: u16) -> String {
    // Reuse the ACK writer's testata, then the ricezione body.
    let ack = AckSiope {
        testata: t.clone(),
        identificativo_flusso: None,
        identificativo_flusso_bt: None,
        esercizio: None,
        stato_flusso: StatoFlusso::Ok,
        errori: vec![],
        warning: vec![],
    }
    .to_xml();
    let start = ack.find("<testata_messaggio>").unwrap_or(0);
    let end = ack
        .find("</testata_messaggio>")
        .map_or(ack.len(), |i| i + "</testata_messaggio>".len());
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><messaggio_ricezione_flusso>{}<identificativo_flusso>{}</identificativo_flusso><identificativo_flusso_BT>BT-{prog:08}</identificativo_flusso_BT><esercizio>{esercizio}</esercizio></messaggio_ricezione_flusso>",
        &ack[start..end],
        quick_xml::escape::escape(id)
    )
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListParams {
    data_produzione_da: Option<String>,
    data_produzione_a: Option<String>,
    data_upload_da: Option<String>,
    data_upload_a: Option<String>,
    download: Option<bool>,
    pagina: Option<usize>,
}

fn parse_dt(s: &Option<String>) -> Option<NaiveDateTime> {
    s.as_deref()
        .and_then(|s| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.3f").ok())
}

async fn list(
    State(app): State<App>,
    Path((a2a, ente)): Path<(String, String)>,
    Query(q): Query<ListParams>,
    kind: &'static str,
) -> Response {
    if let Some(r) = status_fault(&app) {
        return r;
    }
    let st = lock(&app.state);
    let (pda, pa, uda, ua) = (
        parse_dt(&q.data_produzione_da),
        parse_dt(&q.data_produzione_a),
        parse_dt(&q.data_upload_da),
        parse_dt(&q.data_upload_a),
    );
    let items: Vec<&Produced> = st
        .produced
        .iter()
        .filter(|p| p.kind == kind)
        .filter(|p| pda.is_none_or(|d| p.data >= d) && pa.is_none_or(|d| p.data <= d))
        .filter(|p| uda.is_none_or(|d| p.data >= d) && ua.is_none_or(|d| p.data <= d))
        .filter(|p| q.download.is_none_or(|d| p.downloaded == d))
        .collect();
    let size = app.opts.page_size.max(1);
    let pages = items.len().div_ceil(size).max(1);
    let page = q.pagina.unwrap_or(1).max(1);
    let risultati = items
        .iter()
        .skip((page - 1) * size)
        .take(size)
        .map(|p| ListItem {
            prog_flusso: Some(p.prog),
            prog_esito_applicativo: (kind == "esitoapplicativo").then_some(p.prog),
            prog_giornale: (kind == "giornale").then_some(p.prog),
            data_produzione: Some(p.data.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()),
            data_upload: Some(p.data.format("%Y-%m-%dT%H:%M:%S%.3f").to_string()),
            download: Some(p.downloaded),
            location: format!("{}/{a2a}/PA/{ente}/download/{kind}/{}", app.base, p.prog),
        })
        .collect();
    let body = ListPage {
        num_risultati: items.len() as u64,
        num_pagine: pages as u32,
        risultati_per_pagina: size as u32,
        pagina: page as u32,
        risultati,
    };
    axum::Json(body).into_response()
}

async fn download(
    State(app): State<App>,
    Path((_a2a, _ente, kind, prog)): Path<(String, String, String, i64)>,
) -> Response {
    if let Some(r) = status_fault(&app) {
        return r;
    }
    let mut st = lock(&app.state);
    let Some(p) = st
        .produced
        .iter_mut()
        .find(|p| p.kind == kind && p.prog == prog)
    else {
        return (StatusCode::NOT_FOUND, "no such item").into_response();
    };
    p.downloaded = true;
    let name = format!("{kind}-{prog}.xml");
    match zip_one(&name, p.xml.as_bytes()) {
        Ok(z) => ([(header::CONTENT_TYPE, "application/zip")], z).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
