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
    AckSiope, ContoEvidenza, ErroreAck, ErroreEsito, EsitoApplicativo, EsitoOperazione,
    EsitoOrdinativo, GiornaleDiCassa, Movimento, StatoFlusso, TestataMessaggio, TipoMovimento,
    TipoOperazioneMovimento, TipoOrdinativo,
};
use crate::model::{Ordinativo, Soggetto, Sospeso, TipoRiscossione};
use crate::reader::FlowReader;
use crate::sign::{FlowSigner, sign_document, verify_flow};
use crate::types::SignedAmount;
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
    /// Hold the execution of accepted orders until [`Simulator::execute_pending`]: the upload
    /// then produces only the ACK, the ricezione and the first esito applicativo (ACQUISITO /
    /// NON ACQUISITO per order). Default false: the giornale di cassa executing every
    /// accepted order is produced at once.
    pub defer_execution: bool,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            page_size: 50,
            codice_abi_bt: "03069".into(),
            verify_signatures: false,
            sign_messages: true,
            defer_execution: false,
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

/// Accepted orders of a flow waiting for [`Simulator::execute_pending`].
struct PendingExecution {
    testata: TestataMessaggio,
    id: String,
    prog: i64,
    esercizio: u16,
    orders: Vec<OrderOutcome>,
}

/// An order the treasurer will refuse (NON ACQUISITO with this code).
#[derive(Debug, Clone)]
struct Refusal {
    tipo: TipoOrdinativo,
    numero: u32,
    codice: u64,
    descrizione: String,
}

#[derive(Default)]
struct SimState {
    refusals: Vec<Refusal>,
    pending: Vec<PendingExecution>,
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
    signer: Option<Arc<FlowSigner>>,
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
            signer: signer.clone(),
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
        Ok(Simulator {
            addr,
            state,
            signer,
            task,
        })
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

    /// Makes the treasurer refuse the order `tipo` `numero` in every later flow: its esito is
    /// NON ACQUISITO with `codice` and `descrizione` in `lista_errori`, and it is never executed.
    pub fn refuse_order(
        &self,
        tipo: TipoOrdinativo,
        numero: u32,
        codice: u64,
        descrizione: impl Into<String>,
    ) {
        lock(&self.state).refusals.push(Refusal {
            tipo,
            numero,
            codice,
            descrizione: descrizione.into(),
        });
    }

    /// Executes the accepted orders held by [`SimOptions::defer_execution`]: for each flow a
    /// later esito applicativo (PAGATO / RISCOSSO, REGOLARIZZATO for a reversale covering
    /// provvisori) and a giornale di cassa page with the executed movements. Returns how many
    /// flows were executed.
    pub fn execute_pending(&self) -> usize {
        let now = Local::now().naive_local();
        let mut st = lock(&self.state);
        let pending = std::mem::take(&mut st.pending);
        let n = pending.len();
        for p in pending {
            let esiti = p
                .orders
                .iter()
                .map(|o| EsitoOrdinativo {
                    tipo: o.tipo,
                    identificativo_flusso: p.id.clone(),
                    esercizio: p.esercizio,
                    numero: u64::from(o.numero),
                    progressivo: None,
                    data: Some(o.data),
                    importo: Some(o.importo),
                    esito_operazione: match o.tipo {
                        TipoOrdinativo::Mandato => EsitoOperazione::Pagato,
                        TipoOrdinativo::Reversale if !o.sospesi.is_empty() => {
                            EsitoOperazione::Regolarizzato
                        }
                        TipoOrdinativo::Reversale => EsitoOperazione::Riscosso,
                    },
                    data_ora_esito_operazione: now,
                    errori: vec![],
                })
                .collect();
            let prog = st.next_prog;
            st.next_prog += 1;
            let esito = EsitoApplicativo {
                testata: p.testata.clone(),
                identificativo_flusso_bt: format!("EA-{prog:08}"),
                esiti,
                signed: false,
            };
            let xml = self.sign_xml(
                esito.to_xml(),
                "messaggi_esito_applicativo",
                format!("EA{prog}"),
            );
            st.produced.push(Produced {
                kind: "esitoapplicativo",
                prog,
                xml,
                data: now,
                downloaded: false,
            });
            let g = giornale_xml(&p.testata, &p.id, &p.orders, prog, now, p.esercizio);
            let xml = self.sign_xml(g, "flusso_giornale_di_cassa", format!("GDC{prog}"));
            st.produced.push(Produced {
                kind: "giornale",
                prog: p.prog,
                xml,
                data: now,
                downloaded: false,
            });
        }
        n
    }

    fn sign_xml(&self, xml: String, root: &str, id: String) -> String {
        sign_with(self.signer.as_deref(), xml, root, &id)
    }
}

fn sign_with(signer: Option<&FlowSigner>, xml: String, root: &str, id: &str) -> String {
    let Some(signer) = signer else {
        return xml;
    };
    let with_id = xml.replacen(&format!("<{root}>"), &format!("<{root} Id=\"{id}\">"), 1);
    sign_document(with_id.as_bytes(), signer)
        .ok()
        .and_then(|v| String::from_utf8(v).ok())
        .unwrap_or(xml)
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
        sign_with(app.signer.as_deref(), xml, root, &id)
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
            let esercizio = ack.esercizio.unwrap_or(0);
            let refusals = st.refusals.clone();
            let refused = |o: &OrderOutcome| {
                refusals
                    .iter()
                    .find(|r| r.tipo == o.tipo && r.numero == o.numero)
                    .cloned()
            };
            let esiti: Vec<EsitoOrdinativo> = orders
                .iter()
                .map(|o| {
                    let refusal = refused(o);
                    EsitoOrdinativo {
                        tipo: o.tipo,
                        identificativo_flusso: id.clone(),
                        esercizio,
                        numero: u64::from(o.numero),
                        progressivo: None,
                        data: Some(o.data),
                        importo: Some(o.importo),
                        esito_operazione: if refusal.is_some() {
                            EsitoOperazione::NonAcquisito
                        } else {
                            EsitoOperazione::Acquisito
                        },
                        data_ora_esito_operazione: now,
                        errori: refusal
                            .map(|r| ErroreEsito {
                                progressivo: None,
                                codice_errore: Some(r.codice),
                                descrizione: r.descrizione,
                                elemento: None,
                            })
                            .into_iter()
                            .collect(),
                    }
                })
                .collect();
            let accepted: Vec<OrderOutcome> = orders
                .iter()
                .filter(|o| refused(o).is_none())
                .cloned()
                .collect();
            let esito = EsitoApplicativo {
                testata: t.clone(),
                identificativo_flusso_bt: format!("EA-{prog:08}"),
                esiti,
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
            if app.opts.defer_execution {
                st.pending.push(PendingExecution {
                    testata: t.clone(),
                    id: id.clone(),
                    prog,
                    esercizio,
                    orders: accepted,
                });
            } else {
                let giornale = giornale_xml(t, &id, &accepted, prog, now, esercizio);
                st.produced.push(Produced {
                    kind: "giornale",
                    prog,
                    xml: sign(giornale, "flusso_giornale_di_cassa", format!("GDC{prog}")),
                    data: now,
                    downloaded: false,
                });
            }
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

/// What the simulator keeps of an order it read.
#[derive(Debug, Clone)]
struct OrderOutcome {
    tipo: TipoOrdinativo,
    numero: u32,
    importo: pa_types::Amount,
    data: chrono::NaiveDate,
    /// The provvisori a reversale covers.
    sospesi: Vec<Sospeso>,
}

/// One page of cash book with a movement per order, executed the day it is produced; a
/// reversale covering provvisori lists them in `sospeso`.
fn giornale_xml(
    t: &TestataMessaggio,
    id: &str,
    orders: &[OrderOutcome],
    prog: i64,
    now: NaiveDateTime,
    esercizio: u16,
) -> String {
    let day = now.date();
    let (mut entrate, mut uscite) = (0i64, 0i64);
    let movimenti = orders
        .iter()
        .enumerate()
        .map(|(i, o)| {
            let cents = i64::try_from(o.importo.cents()).unwrap_or(i64::MAX);
            let (mov, doc, who) = match o.tipo {
                TipoOrdinativo::Mandato => {
                    uscite = uscite.saturating_add(cents);
                    (TipoMovimento::Uscita, "MANDATO", "Beneficiario mandato")
                }
                TipoOrdinativo::Reversale => {
                    entrate = entrate.saturating_add(cents);
                    (TipoMovimento::Entrata, "REVERSALE", "Versante reversale")
                }
            };
            Movimento {
                identificativo_flusso: id.to_owned(),
                numero_movimento: u64::try_from(prog).unwrap_or(0) * 100_000 + i as u64 + 1,
                tipo_movimento: mov,
                tipo_documento: doc.into(),
                tipo_operazione: if o.sospesi.is_empty() {
                    TipoOperazioneMovimento::Eseguito
                } else {
                    TipoOperazioneMovimento::Regolarizzato
                },
                numero_documento: u64::from(o.numero),
                sospeso_da_regolarizzare: None,
                tipologia_pagamento_funzionario_delegato: None,
                numero_pagamento_funzionario_delegato: None,
                progressivo_documento: 1,
                importo: SignedAmount::from(o.importo),
                importo_ritenute: None,
                numero_bolletta_quietanza: None,
                numero_bolletta_quietanza_storno: None,
                data_movimento: day,
                data_movimento_siope: day,
                data_valuta_ente: None,
                tipo_esecuzione: "CASSA".into(),
                coordinate: None,
                codice_riferimento_operazione: None,
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
                cliente: Soggetto::new(format!("{who} {}", o.numero)),
                delegato: None,
                creditore_effettivo: None,
                causale: "Esecuzione simulata".into(),
                sospeso: o.sospesi.clone(),
                dati_a_disposizione_bt: None,
            }
        })
        .collect();
    GiornaleDiCassa {
        testata: t.clone(),
        identificativo_flusso_bt: format!(
            "GDC-{}{}{:010}#001#001",
            day.format("%Y%m%d"),
            t.codice_ente,
            prog
        ),
        pagina: 1,
        pagine_totali: 1,
        riferimento_ente: None,
        esercizio,
        data_riferimento: day,
        conti: vec![ContoEvidenza {
            conto_evidenza: "0000001".into(),
            descrizione: None,
            movimenti,
            saldo_precedente: None,
            totale_entrate: Some(SignedAmount::from_cents(entrate)),
            totale_uscite: Some(SignedAmount::from_cents(uscite)),
            saldo_finale: None,
        }],
        saldo_complessivo_precedente: None,
        totale_complessivo_entrate: None,
        totale_complessivo_uscite: None,
        saldo_complessivo_finale: None,
        totali_esercizio: None,
        totali_disponibilita_liquide: None,
        signed: false,
    }
    .to_xml()
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
                                OrderOutcome {
                                    tipo: TipoOrdinativo::Mandato,
                                    numero: m.numero_mandato,
                                    importo: m.importo_mandato,
                                    data: m.data_mandato,
                                    sospesi: vec![],
                                },
                            ),
                            Ordinativo::Reversale(rv) => (
                                fv.check_reversale(rv),
                                OrderOutcome {
                                    tipo: TipoOrdinativo::Reversale,
                                    numero: rv.numero_reversale,
                                    importo: rv.importo_reversale,
                                    data: rv.data_reversale,
                                    sospesi: rv
                                        .informazioni_versante
                                        .iter()
                                        .filter(|v| {
                                            v.tipo_riscossione == TipoRiscossione::Regolarizzazione
                                        })
                                        .flat_map(|v| v.sospeso.iter().copied())
                                        .collect(),
                                },
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
