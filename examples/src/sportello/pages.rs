//! The portal's state, routes and pages: one [`Deployment`] of the partner serving several
//! enti, each with its own [`AppState`] and routes, chosen by host or by path prefix.

use std::collections::BTreeMap;
use std::path::Path as FsPath;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, RawQuery, State};
use axum::http::header::{CONTENT_TYPE, COOKIE, HOST, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{Local, Utc};
use pa_postgres::Database;
use pa_types::{Amount, CitizenIdentity, CodiceFiscale, LoginMethod};
use pagopa::checkout::{Cart, CartNotice, CheckoutClient, ReturnUrls};
use pagopa::node::{
    PaForNodeService, PgReceiptStore, PutOutcome, Receipt, ReceiptPage, ReceiptQuery, ReceiptStore,
    SqliteReceiptStore, StationConfig, StoreError,
};
use pagopa::simulator::{CheckoutConfig, CheckoutSimulator};
use pagopa::{
    AsyncIuvAllocator, BlockingAllocator, NoticeNumber, PgSequence, SequenceAllocator,
    SharedSequenceAllocator, SqliteSequence,
};
use protocollo::{PgRegister, Register, SqliteRegister};
use serde::Deserialize;
use spid::SessionStore;

use super::bulk::IoBulk;
use super::cns::CnsTarget;
use super::db::{Db, Request};
use super::html::{error_box, esc, fields};
use super::login::{CIE_SESSION_COOKIE, Login, LoginStores, Scheme, cie_citizen, spid_citizen};
use super::payment::{Station, Stations, mint, qr_svg};
use super::treasury::Treasury;

/// The reconciliation page (a child module: it reads this module's `AppState`).
#[path = "reconcile.rs"]
mod reconcile;
/// The municipal tax in installments (a child module: it reads this module's `AppState`).
#[path = "tributi.rs"]
mod tributi;
use super::{Config, Ente, EnteSetup, Route, StartError, component, io, protocol};

const COOKIE_NAME: &str = "sportello_sid";
/// The session cookie of [`spid::SpidWeb`] (its default name).
const SPID_COOKIE: &str = "spid_session";

type NodeService = PaForNodeService<Stations, SharedReceipts>;

/// The station's receipt store: SQLite, or PostgreSQL shared by instances.
pub(crate) struct SharedReceipts(Arc<dyn ReceiptStore>);

#[async_trait::async_trait]
impl ReceiptStore for SharedReceipts {
    async fn put(&self, receipt: &Receipt) -> Result<PutOutcome, StoreError> {
        self.0.put(receipt).await
    }

    async fn list(
        &self,
        fiscal_code: &pa_types::OrganizationFiscalCode,
    ) -> Result<Vec<Receipt>, StoreError> {
        self.0.list(fiscal_code).await
    }

    async fn list_page(&self, query: &ReceiptQuery) -> Result<ReceiptPage, StoreError> {
        self.0.list_page(query).await
    }

    async fn count(&self) -> Result<u64, StoreError> {
        self.0.count().await
    }
}

/// Everything the handlers of one ente share.
pub(crate) struct AppState {
    ente: Arc<Ente>,
    /// Path prefix of the ente's routes (`""` at the root of its host).
    prefix: String,
    db: Arc<Db>,
    login: Login,
    /// The SPID sessions (shared with the ente's [`spid::SpidWeb`]).
    sessions: Arc<dyn SessionStore>,
    registry: Arc<dyn Register>,
    allocator: Arc<dyn AsyncIuvAllocator>,
    node: Arc<NodeService>,
    /// pagoPA Checkout, where "Paga con pagoPA" sends the citizen.
    checkout: Arc<CheckoutClient>,
    /// The ente's absolute base URL (Checkout's return URLs).
    base_url: String,
    io: appio::IoClient,
    io_mock: Option<Arc<appio::mock::MockServer>>,
    treasury: Treasury,
    bulk: IoBulk,
    cns_url: std::sync::OnceLock<String>,
}

/// The partner's deployment: every ente's state, the shared paForNode station, the routing.
pub(crate) struct Deployment {
    enti: Vec<(Arc<AppState>, Route, String)>,
    /// The background workers (one per ente).
    workers: Vec<tokio::task::JoinHandle<()>>,
    /// This instance's name in leases.
    instance: String,
    node: Arc<NodeService>,
    /// Kept alive for the deployment's lifetime.
    _io_mock: Option<Arc<appio::mock::MockServer>>,
    /// The embedded Checkout, kept alive for the deployment's lifetime.
    _checkout: Option<CheckoutSimulator>,
}

/// One IO client per ente, with the key of the ente's own service (the embedded mock's key when
/// the ente has no real endpoint).
fn io_client(
    setup: &EnteSetup,
    io_mock: Option<&Arc<appio::mock::MockServer>>,
) -> Result<(appio::IoClient, Option<Arc<appio::mock::MockServer>>), StartError> {
    match &setup.io {
        Some(real) => Ok((
            appio::IoClient::builder(appio::SubscriptionKey::new(real.subscription_key.clone()))
                .base_url(real.base_url.clone())
                .build()
                .map_err(|e| component("App IO")(e.to_string()))?,
            None,
        )),
        None => {
            let mock = io_mock.ok_or_else(|| component("mock App IO")("not started".into()))?;
            let client =
                appio::IoClient::builder(appio::SubscriptionKey::new(mock_key(&setup.ente)))
                    .base_url(mock.base_url())
                    .build()
                    .map_err(|e| component("App IO")(e.to_string()))?;
            Ok((client, Some(Arc::clone(mock))))
        }
    }
}

fn state_err(path: &FsPath) -> impl Fn(String) -> StartError + '_ {
    move |message| StartError::State {
        path: path.to_owned(),
        message,
    }
}

/// The key the embedded IO mock accepts for the ente's service.
fn mock_key(ente: &Ente) -> String {
    format!("chiave-di-prova-{}", ente.id)
}

impl Deployment {
    pub(crate) async fn build(
        config: &Config,
        setups: &[EnteSetup],
        root_url: &str,
        own_url: &str,
        port: u16,
    ) -> Result<Deployment, StartError> {
        // Shared state: one pool for every store when a database URL is given.
        let shared = match &config.database_url {
            Some(url) => Some(
                Database::connect(url)
                    .await
                    .map_err(|e| component("PostgreSQL")(e.to_string()))?,
            ),
            None => None,
        };
        let single = config.enti.is_empty();
        let dir_of = |ente: &Ente| {
            if single {
                config.data_dir.clone()
            } else {
                config.data_dir.join(&ente.id)
            }
        };
        // One IO mock for every ente without a real endpoint, each with its own service key.
        let mock_keys: Vec<String> = setups
            .iter()
            .filter(|s| s.io.is_none())
            .map(|s| mock_key(&s.ente))
            .collect();
        let io_mock = if mock_keys.is_empty() {
            None
        } else {
            Some(Arc::new(
                appio::mock::MockServer::start(appio::mock::MockConfig {
                    accepted_keys: mock_keys,
                    ..appio::mock::MockConfig::default()
                })
                .await
                .map_err(|e| component("mock App IO")(e.to_string()))?,
            ))
        };
        // The partner's station: one paForNode endpoint and one receipt store for all enti.
        let receipts: Arc<dyn ReceiptStore> = match &shared {
            Some(db) => Arc::new(
                PgReceiptStore::open(db.clone())
                    .await
                    .map_err(|e| component("PostgreSQL")(e.to_string()))?,
            ),
            None => {
                let rt_path = config.data_dir.join("ricevute.sqlite");
                Arc::new(
                    SqliteReceiptStore::open(&rt_path)
                        .map_err(|e| state_err(&rt_path)(e.to_string()))?,
                )
            }
        };
        let mut dbs = Vec::new();
        for s in setups {
            let dir = dir_of(&s.ente);
            std::fs::create_dir_all(&dir).map_err(|e| state_err(&dir)(e.to_string()))?;
            let db = match &shared {
                Some(pg) => Db::postgres(pg.clone(), &s.ente.id)
                    .await
                    .map_err(|e| component("PostgreSQL")(e.to_string()))?,
                None => {
                    let db_path = dir.join("sportello.sqlite");
                    Db::open(&db_path).map_err(|e| state_err(&db_path)(e.to_string()))?
                }
            };
            let db = Arc::new(db);
            let io = io_client(s, io_mock.as_ref())?;
            dbs.push((Arc::new(s.ente.clone()), db, dir, io));
        }
        let first = &setups[0].ente;
        let mut station = StationConfig::new(
            first.fiscal_code.as_str(),
            first.broker.clone(),
            first.station.clone(),
        );
        for (ente, _, _, _) in &dbs {
            station.creditors.insert(ente.fiscal_code.to_string());
        }
        let positions = super::payment::open_positions(shared.as_ref(), &config.data_dir).await?;
        let node = Arc::new(PaForNodeService::new(
            station,
            Stations::new(dbs.iter().map(|(ente, db, _, (io, _))| Station {
                db: Arc::clone(db),
                ente: Arc::clone(ente),
                io: io.clone(),
                positions: Arc::clone(&positions),
            })),
            SharedReceipts(receipts),
        ));
        // pagoPA Checkout: the real one by configuration, else the embedded simulator, which
        // calls this instance's paForNode endpoint as the node would.
        let node_url = format!("{own_url}/pagopa/paForNode");
        let (checkout, checkout_sim) = match &config.checkout {
            Some(real) => (
                CheckoutClient::new(
                    real.base_url.clone(),
                    pagopa::gpd::SubscriptionKey::new(real.subscription_key.clone()),
                ),
                None,
            ),
            None => {
                let sim = CheckoutSimulator::start(CheckoutConfig::new(
                    node_url.clone(),
                    first.broker.clone(),
                    first.station.clone(),
                ))
                .await
                .map_err(|e| component("Checkout simulato")(e.to_string()))?;
                (CheckoutClient::without_key(sim.base_url()), Some(sim))
            }
        };
        let checkout = Arc::new(checkout);
        // This instance's name in leases (outbox flows, IO journal rows).
        let instance = format!(
            "sportello-{}",
            &uuid::Uuid::new_v4().simple().to_string()[..12]
        );
        let lease = std::time::Duration::from_millis(config.lease_ms.max(500));
        let mut enti = Vec::new();
        let mut workers = Vec::new();
        for (s, (ente, db, dir, (io, mock))) in setups.iter().zip(dbs) {
            let (prefix, base_url) = match &s.route {
                Route::Prefix(p) => (p.clone(), format!("{root_url}{p}")),
                Route::Hosts(hosts) => {
                    let host = &hosts[0];
                    let url = if host.contains(':') {
                        format!("http://{host}")
                    } else {
                        format!("http://{host}:{port}")
                    };
                    (String::new(), url)
                }
            };
            let parts = AppState::parts(
                ente,
                prefix,
                db,
                &dir,
                s,
                &base_url,
                (io, mock),
                (shared.as_ref(), config.redis_url.as_deref()),
            )
            .await?;
            let state = AppState::build(
                parts,
                (Arc::clone(&node), Arc::clone(&checkout)),
                shared.as_ref(),
                (&instance, lease),
            )
            .await?;
            // The instance's worker: the SIOPE+ outbox and App IO bulk jobs, including what
            // another instance left unfinished when it died.
            let worker = Arc::clone(&state);
            let every = std::time::Duration::from_millis(config.worker_interval_ms.max(50));
            workers.push(tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    if let Err(e) = worker.treasury.process_once().await {
                        eprintln!("sportello: outbox SIOPE+: {e}");
                    }
                    worker.bulk.run_open_jobs().await;
                }
            }));
            enti.push((state, s.route.clone(), base_url));
        }
        Ok(Deployment {
            _checkout: checkout_sim,
            enti,
            workers,
            instance,
            node,
            _io_mock: io_mock,
        })
    }

    /// Hands over what must live as long as the server (the embedded Checkout).
    pub(crate) fn take_keepalive(&mut self) -> Option<CheckoutSimulator> {
        self._checkout.take()
    }

    /// Hands the background workers over (to stop them with the server).
    pub(crate) fn take_workers(&mut self) -> Vec<tokio::task::JoinHandle<()>> {
        std::mem::take(&mut self.workers)
    }

    /// This instance's name in leases.
    pub(crate) fn instance(&self) -> &str {
        &self.instance
    }

    /// Each ente's id and base URL.
    pub(crate) fn urls(&self) -> Vec<(String, String)> {
        self.enti
            .iter()
            .map(|(st, _, url)| (st.ente.id.clone(), url.clone()))
            .collect()
    }

    /// Where a card login of each ente leads.
    pub(crate) fn cns_targets(&self) -> Vec<CnsTarget> {
        self.enti
            .iter()
            .map(|(st, _, url)| CnsTarget {
                id: st.ente.id.clone(),
                db: Arc::clone(&st.db),
                area_url: format!("{url}/area"),
                cookie_path: st.cookie_path().to_owned(),
            })
            .collect()
    }

    pub(crate) fn set_cns_url(&self, cns_base_url: &str) {
        let single = self.enti.len() == 1;
        for (st, _, _) in &self.enti {
            let url = if single {
                format!("{cns_base_url}/login/cns")
            } else {
                format!("{cns_base_url}/login/cns/{}", st.ente.id)
            };
            let _ = st.cns_url.set(url);
        }
    }

    /// The whole deployment's router: the station's paForNode endpoint at the root; each ente
    /// under its path prefix, or at the root of its hosts.
    pub(crate) fn router(self) -> Router {
        let mut by_path = Router::new().nest(
            "/pagopa/paForNode",
            pagopa::node::router(Arc::clone(&self.node)),
        );
        let mut by_host: BTreeMap<String, Router> = BTreeMap::new();
        let mut listed = Vec::new();
        let mut root_taken = false;
        for (st, route, url) in &self.enti {
            listed.push((st.ente.name.clone(), url.clone()));
            let r = router(Arc::clone(st));
            match route {
                Route::Prefix(p) if p.is_empty() => {
                    root_taken = true;
                    by_path = by_path.merge(r);
                }
                Route::Prefix(p) => {
                    // `/prefix/` (as links and people write it) leads to the ente's home.
                    let home = p.clone();
                    by_path = by_path.nest(p, r).route(
                        &format!("{p}/"),
                        get(move || async move { redirect(&home) }),
                    );
                }
                Route::Hosts(hosts) => {
                    for h in hosts {
                        by_host.insert(h.clone(), r.clone());
                    }
                }
            }
        }
        if !root_taken {
            let list = Arc::new(listed);
            by_path = by_path.route(
                "/",
                get(move || {
                    let list = Arc::clone(&list);
                    async move { partner_home(&list) }
                }),
            );
        }
        if by_host.is_empty() {
            return by_path;
        }
        let hosts = Arc::new(by_host);
        Router::new().fallback(move |req: axum::extract::Request| {
            let hosts = Arc::clone(&hosts);
            let by_path = by_path.clone();
            async move {
                use tower::ServiceExt as _;
                let host = req
                    .headers()
                    .get(HOST)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_ascii_lowercase);
                let target = host
                    .and_then(|h| {
                        hosts
                            .get(&h)
                            .or_else(|| hosts.get(h.split(':').next().unwrap_or_default()))
                            .cloned()
                    })
                    .unwrap_or(by_path);
                match target.oneshot(req).await {
                    Ok(r) => r,
                    Err(never) => match never {},
                }
            }
        })
    }
}

/// The partner's landing page: the enti it serves.
fn partner_home(enti: &[(String, String)]) -> Response {
    let mut list = String::new();
    for (name, url) in enti {
        list.push_str(&format!(
            r#"<li><a href="{}/">{}</a></li>"#,
            esc(url),
            esc(name)
        ));
    }
    Html(super::html::page(
        "Sportello telematico",
        "/",
        "Scegli il tuo ente",
        &format!(r#"<ul id="enti">{list}</ul>"#),
    ))
    .into_response()
}

/// What [`AppState::build`] needs of one ente.
pub(crate) struct Parts {
    ente: Arc<Ente>,
    base_url: String,
    prefix: String,
    db: Arc<Db>,
    registry: Arc<dyn Register>,
    allocator: Arc<dyn AsyncIuvAllocator>,
    io: appio::IoClient,
    io_mock: Option<Arc<appio::mock::MockServer>>,
    login: Login,
    sessions: Arc<dyn SessionStore>,
    siope: Option<super::SiopeEndpoint>,
    dir: std::path::PathBuf,
}

impl AppState {
    #[allow(clippy::too_many_arguments)]
    async fn parts(
        ente: Arc<Ente>,
        prefix: String,
        db: Arc<Db>,
        dir: &FsPath,
        setup: &EnteSetup,
        base_url: &str,
        (io, io_mock): (appio::IoClient, Option<Arc<appio::mock::MockServer>>),
        (shared, redis): (Option<&Database>, Option<&str>),
    ) -> Result<Parts, StartError> {
        let pg = |e: String| component("PostgreSQL")(e);
        let (registry, allocator): (Arc<dyn Register>, Arc<dyn AsyncIuvAllocator>) = match shared {
            // Protocol numbers: reserved and registered in one transaction, gapless per
            // register and year across instances; IUVs: one shared sequence per creditor and
            // segregation code.
            Some(db) => (
                Arc::new(
                    PgRegister::open(db.clone())
                        .await
                        .map_err(|e| pg(e.to_string()))?,
                ),
                Arc::new(SharedSequenceAllocator::new(
                    PgSequence::open(db.clone())
                        .await
                        .map_err(|e| pg(e.to_string()))?,
                )),
            ),
            None => {
                let reg_path = dir.join("registro.sqlite");
                let iuv_path = dir.join("iuv.sqlite");
                (
                    Arc::new(
                        SqliteRegister::open(&reg_path)
                            .map_err(|e| state_err(&reg_path)(e.to_string()))?,
                    ),
                    Arc::new(BlockingAllocator::new(SequenceAllocator::new(
                        SqliteSequence::open(&iuv_path)
                            .map_err(|e| state_err(&iuv_path)(e.to_string()))?,
                    ))),
                )
            }
        };
        let stores = match redis {
            Some(url) => LoginStores::redis(url, &ente.id).await?,
            None => LoginStores::memory(),
        };
        let sessions = Arc::clone(&stores.sessions);
        let login = Login::build(
            &ente,
            base_url,
            &prefix,
            setup.partner.as_ref(),
            &stores,
            setup.oidc,
        )?;
        Ok(Parts {
            ente,
            base_url: base_url.to_owned(),
            prefix,
            db,
            registry,
            allocator,
            io,
            io_mock,
            login,
            sessions,
            siope: setup.siope.clone(),
            dir: dir.to_owned(),
        })
    }

    async fn build(
        p: Parts,
        (node, checkout): (Arc<NodeService>, Arc<CheckoutClient>),
        shared: Option<&Database>,
        (instance, lease): (&str, std::time::Duration),
    ) -> Result<Arc<AppState>, StartError> {
        let treasury = Treasury::start(
            p.siope.as_ref(),
            &p.dir,
            shared,
            (instance, lease),
            p.ente.fiscal_code.as_str(),
        )
        .await?;
        let bulk = IoBulk::new(
            Arc::clone(&p.db),
            p.io.clone(),
            p.dir.clone(),
            instance.to_owned(),
            lease,
        );
        Ok(Arc::new(AppState {
            ente: p.ente,
            prefix: p.prefix,
            db: p.db,
            login: p.login,
            sessions: p.sessions,
            registry: p.registry,
            allocator: p.allocator,
            node,
            checkout,
            base_url: p.base_url,
            io: p.io,
            io_mock: p.io_mock,
            treasury,
            bulk,
            cns_url: std::sync::OnceLock::new(),
        }))
    }

    /// A path of this ente (`/area` → `/roccaverde/area`).
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.prefix)
    }

    fn cookie_path(&self) -> &str {
        if self.prefix.is_empty() {
            "/"
        } else {
            &self.prefix
        }
    }

    /// A complete page with the ente's header.
    fn page(&self, title: &str, body: &str) -> String {
        super::html::page(&self.ente.name, &self.url("/"), title, body)
    }

    /// The logged-in citizen: a SPID session of the ente's [`spid::SpidWeb`], or a CIE / card
    /// session of the portal.
    async fn citizen(&self, headers: &HeaderMap) -> Option<CitizenIdentity> {
        if let Some(c) = self.login.oidc_citizen(headers).await {
            return Some(c);
        }
        if let Some(sid) = cookie(headers, SPID_COOKIE) {
            let entity = &self.login.sp.config().entity_id;
            if let Ok(Some(s)) = self.sessions.get_session(&sid, Utc::now()).await
                && s.belongs_to(entity)
            {
                return spid_citizen(&s);
            }
        }
        if let Some(sid) = cookie(headers, CIE_SESSION_COOKIE) {
            let entity = &self.login.cie_config.entity_id;
            if let Ok(Some(s)) = self.sessions.get_session(&sid, Utc::now()).await
                && s.belongs_to(entity)
            {
                return cie_citizen(&s);
            }
        }
        let sid = cookie(headers, COOKIE_NAME)?;
        let json = self.db.session(&sid).await.ok()??;
        serde_json::from_str(&json).ok()
    }

    /// The operator area's gate: a logged-in person on the ente's operator list, or 403.
    async fn operator(&self, headers: &HeaderMap) -> Result<CitizenIdentity, Response> {
        match self.citizen(headers).await {
            Some(c) if self.ente.operators.contains(&c.fiscal_code) => Ok(c),
            Some(c) => Err(self.forbidden(&format!(
                "{} non è tra gli operatori del {}.",
                c.fiscal_code, self.ente.name
            ))),
            None => Err(self.forbidden(
                "L'area operatore è riservata agli operatori dell'ente: accedi con SPID, CIE o CNS.",
            )),
        }
    }

    /// The logged-in citizen's request `id`: a redirect home without a login, 404 for a request
    /// of somebody else (the same answer as for an unknown id).
    async fn own_request(&self, headers: &HeaderMap, id: &str) -> Result<Request, Response> {
        let Some(c) = self.citizen(headers).await else {
            return Err(self.redirect("/"));
        };
        match self.db.request(id).await {
            Ok(Some(r)) if r.fiscal_code == c.fiscal_code.as_str() => Ok(r),
            Ok(_) => Err(self.problem(StatusCode::NOT_FOUND, "Istanza", "istanza non trovata")),
            Err(e) => Err(self.problem(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Archivio",
                &e.to_string(),
            )),
        }
    }

    fn forbidden(&self, message: &str) -> Response {
        (
            StatusCode::FORBIDDEN,
            Html(self.page(
                "Accesso negato",
                &format!(
                    r#"{}<p><a href="{}">Torna all'inizio</a></p>"#,
                    error_box(message),
                    esc(&self.url("/"))
                ),
            )),
        )
            .into_response()
    }

    fn problem(&self, status: StatusCode, title: &str, message: &str) -> Response {
        (
            status,
            Html(self.page(
                title,
                &format!(
                    r#"{}<p><a href="{}">Torna all'inizio</a></p>"#,
                    error_box(message),
                    esc(&self.url("/"))
                ),
            )),
        )
            .into_response()
    }

    fn redirect(&self, path: &str) -> Response {
        redirect(&self.url(path))
    }
}

pub(crate) fn router(state: Arc<AppState>) -> Router {
    let spid = state.login.spid_web.router();
    let cie = state.login.cie_web.router();
    let st = Arc::clone(&state);
    let router = Router::new()
        .route("/", get(home))
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
        .route("/area", get(area))
        .route("/logout", post(logout))
        .route("/richieste", post(new_request))
        .route("/richieste/{id}", get(show_request))
        .route("/richieste/{id}/paga", post(pay))
        .route("/richieste/{id}/avviso.pdf", get(notice_pdf))
        .route("/tributi", get(tributi::page))
        .route("/tributi/avviso.pdf", get(tributi::pdf))
        .route("/tributi/{notice}/paga", post(tributi::pay))
        .route("/operatore", get(operator))
        .route("/operatore/flusso", post(send_flow))
        .route("/operatore/io", post(send_io))
        .route("/operatore/riconciliazione", get(reconcile::page))
        .route(
            "/operatore/riconciliazione/reversali",
            post(reconcile::emit),
        )
        .with_state(state)
        .nest("/spid", spid)
        .nest("/cie", cie);
    st.login.mount_oidc(router)
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
        .filter(|v| !v.is_empty())
}

fn redirect(to: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// "SPID" / "CIE" / "CNS" and the level, as shown to the citizen.
fn method_label(m: &LoginMethod) -> String {
    match m {
        LoginMethod::Spid { level } => format!("SPID (livello {level:?})"),
        LoginMethod::CieId { level } => format!("CIE (livello {level:?})"),
        LoginMethod::Cns => "CNS (certificato)".into(),
        LoginMethod::CieCard => "CIE (certificato della carta)".into(),
        _ => "carta (certificato)".into(),
    }
}

// ---------- login ----------

async fn home(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if st.citizen(&headers).await.is_some() {
        return st.redirect("/area");
    }
    let spid_login = format!(
        "{}?next={}",
        st.url("/spid/login"),
        spid::quote_plus(&st.url("/area"))
    );
    Html(st.page(
        "Accedi ai servizi online",
        &format!(
            r#"<p>Per presentare un'istanza al {} accedi con la tua identità digitale.</p>
<div class="azioni">
<a class="italia-it-button italia-it-button-size-m button-spid bottone" id="entra-spid" href="{}"><span class="italia-it-button-icon" aria-hidden="true">SPID</span><span class="italia-it-button-text">Entra con SPID</span></a>
<a class="italia-it-button italia-it-button-size-m button-cie bottone" id="entra-cie" href="{}"><span class="italia-it-button-icon" aria-hidden="true">CIE</span><span class="italia-it-button-text">Entra con CIE</span></a>
<a class="bottone" id="entra-cns" href="{}">Entra con CNS</a>
</div>
{}
<p>Con la CNS (o la TS-CNS) il browser presenta il certificato della carta. Per provarlo senza
lettore, importa nel browser la carta di prova salvata nella cartella dei dati
(<code>carta-cns-demo.crt</code> e <code>.key</code>).</p>
<p><a href="{}">Area operatore</a></p>"#,
            esc(&st.ente.name),
            esc(&spid_login),
            esc(&format!(
                "{}?idp={}&next={}",
                st.url("/cie/login"),
                spid::quote_plus(st.login.cie_idp.entity_id()),
                spid::quote_plus(&st.url("/area"))
            )),
            esc(st.cns_url.get().map_or("/", String::as_str)),
            st.login.oidc_buttons(&st.url("/area")).await,
            esc(&st.url("/operatore")),
        ),
    ))
    .into_response()
}

async fn idp_metadata(State(st): State<Arc<AppState>>, scheme: Scheme) -> Response {
    let xml = match scheme {
        Scheme::Spid => st.login.idp.metadata_xml(),
        Scheme::Cie => st.login.cie_idp.metadata_xml(),
    };
    match xml {
        Ok(xml) => ([(CONTENT_TYPE, "application/samlmetadata+xml")], xml).into_response(),
        Err(e) => st.problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "Metadata",
            &e.to_string(),
        ),
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
        Err(e) => return st.problem(StatusCode::BAD_REQUEST, "Richiesta SAML non valida", &e),
    };
    let body = format!(
        r#"<p>Questo è l'<strong>Identity Provider {label} di prova</strong> incluso nella demo: scegli l'identità con cui entrare.</p>
<div class="scheda">{}</div>
<form method="post" action="{action}">
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
        action = esc(&st.url(&format!("/test-idp/{}/login", scheme.path()))),
    );
    Html(st.page(&format!("IdP {} di prova", scheme.label()), &body)).into_response()
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
            return st.problem(
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
        Err(e) => st.problem(StatusCode::BAD_REQUEST, "IdP di prova", &e),
    }
}

async fn logout(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Some(sid) = cookie(&headers, COOKIE_NAME) {
        let _ = st.db.delete_session(&sid).await;
    }
    for name in [SPID_COOKIE, CIE_SESSION_COOKIE] {
        if let Some(sid) = cookie(&headers, name) {
            let _ = st.sessions.remove_session(&sid).await;
        }
    }
    let mut r = st.redirect("/");
    if let Some(clear) = st.login.oidc_logout(&headers).await {
        r.headers_mut().append(SET_COOKIE, clear);
    }
    for name in [COOKIE_NAME, SPID_COOKIE, CIE_SESSION_COOKIE] {
        if let Ok(v) = HeaderValue::from_str(&format!(
            "{name}=; Path={}; Max-Age=0; HttpOnly; SameSite=Lax",
            st.cookie_path()
        )) {
            r.headers_mut().append(SET_COOKIE, v);
        }
    }
    r
}

// ---------- the citizen's area ----------

async fn area(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(c) = st.citizen(&headers).await else {
        return st.redirect("/");
    };
    // The embedded IO mock knows the citizen from the first visit (a real IO profile exists
    // already).
    if let Some(mock) = &st.io_mock {
        mock.set_profile(c.fiscal_code.clone(), appio::mock::MockProfile::Allowed);
    }
    let mine: Vec<Request> = st
        .db
        .requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.fiscal_code == c.fiscal_code.as_str())
        .collect();
    let mut list = String::new();
    for r in &mine {
        list.push_str(&format!(
            r#"<li><a href="{}">{}</a> — {} ({})</li>"#,
            esc(&st.url(&format!("/richieste/{}", r.id))),
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
<form method="post" action="{new_request}">
<label for="oggetto">Oggetto</label>
<input id="oggetto" name="subject" required maxlength="200" value="Richiesta di accesso agli atti">
<label for="testo">Testo dell'istanza</label>
<textarea id="testo" name="body" rows="5" required>Chiedo di poter consultare gli atti del procedimento edilizio relativo al mio immobile.</textarea>
<p>Diritti di istruttoria: <strong>{fee} euro</strong>, da pagare con pagoPA.</p>
<div class="azioni"><button type="submit" id="invia-istanza">Invia istanza</button></div>
</form>
<h2>Le tue istanze</h2><ul id="istanze">{list}</ul>
<h2>Tributi</h2><p><a id="tributi" href="{tributi}">TARI 2026: paga per intero o in 3 rate</a></p>
<form method="post" action="{logout}"><button type="submit" id="esci">Esci</button></form>"#,
        name = esc(c.given_name.as_deref().unwrap_or_default()),
        family = esc(c.family_name.as_deref().unwrap_or_default()),
        identity = fields(&[
            ("Accesso", method_label(&c.method)),
            ("Rilasciata da", c.issuer.clone()),
            ("Codice fiscale", c.fiscal_code.to_string()),
            ("Nome", c.given_name.clone().unwrap_or_default()),
            ("Cognome", c.family_name.clone().unwrap_or_default()),
        ]),
        fee = st.ente.fee,
        new_request = esc(&st.url("/richieste")),
        tributi = esc(&st.url("/tributi")),
        logout = esc(&st.url("/logout")),
    );
    Html(st.page("Area personale", &body)).into_response()
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
    let Some(c) = st.citizen(&headers).await else {
        return st.redirect("/");
    };
    let subject = f.subject.trim().to_owned();
    if subject.is_empty() || subject.chars().count() > 200 {
        return st.problem(
            StatusCode::BAD_REQUEST,
            "Istanza non valida",
            "l'oggetto è obbligatorio (al massimo 200 caratteri)",
        );
    }
    let now = Local::now();
    let given = c.given_name.clone().unwrap_or_default();
    let family = c.family_name.clone().unwrap_or_default();
    let document = format!(
        "Istanza di {given} {family} ({})\nOggetto: {}\n\n{}\n",
        c.fiscal_code, subject, f.body
    );
    let request_id = new_token();
    let registered = protocol::register(
        st.registry.as_ref(),
        &st.ente,
        now.date_naive(),
        (&given, &family, Some(c.fiscal_code.clone())),
        &subject,
        document.as_bytes(),
        &request_id,
    )
    .await;
    let protocolled = match registered {
        Ok(p) => p,
        Err(e) => return st.problem(StatusCode::INTERNAL_SERVER_ERROR, "Protocollo", &e),
    };
    let minted = match mint(st.allocator.as_ref(), &st.ente).await {
        Ok(m) => m,
        Err(e) => return st.problem(StatusCode::INTERNAL_SERVER_ERROR, "pagoPA", &e),
    };
    let request = Request {
        id: request_id,
        created_at: now.to_rfc3339(),
        fiscal_code: c.fiscal_code.to_string(),
        full_name: format!("{given} {family}"),
        login: format!("{} · {}", method_label(&c.method), c.issuer),
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
    if let Err(e) = st.db.insert_request(&request).await {
        return st.problem(
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
            let _ = st.db.set_io_message(&request.id, &id).await;
        }
        Err(e) => tracing_warn(&e),
    }
    st.redirect(&format!("/richieste/{}", request.id))
}

fn tracing_warn(message: &str) {
    eprintln!("sportello: {message}");
}

async fn show_request(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    axum::extract::Query(q): axum::extract::Query<BTreeMap<String, String>>,
) -> Response {
    let r = match st.own_request(&headers, &id).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let notice: NoticeNumber = match r.notice_number.parse() {
        Ok(n) => n,
        Err(e) => return st.problem(StatusCode::INTERNAL_SERVER_ERROR, "Avviso", &format!("{e}")),
    };
    let amount = Amount::from_cents(r.amount_cents);
    // Back from pagoPA Checkout.
    let outcome = match q.get("esito").map(String::as_str) {
        Some("ok") if r.status == "pagata" => {
            r#"<div class="ok" role="status" id="esito-pagamento">Pagamento completato.</div>"#
        }
        Some("ok") => {
            r#"<div class="ok" role="status" id="esito-pagamento">Pagamento in corso di conferma: la ricevuta arriverà a breve.</div>"#
        }
        Some("annullato") => {
            r#"<div class="errore" role="alert" id="esito-pagamento">Pagamento annullato: non è stato addebitato nulla.</div>"#
        }
        Some("errore") => {
            r#"<div class="errore" role="alert" id="esito-pagamento">Il pagamento non è andato a buon fine. Puoi riprovare.</div>"#
        }
        _ => "",
    };
    let mut body = format!(
        r#"{outcome}<div class="ok" role="status">Istanza protocollata.</div>
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
            r#"<form method="post" action="{}"><div class="azioni">
<button type="submit" id="paga">Paga con pagoPA</button></div></form>
<p>Il pagamento passa da pagoPA Checkout: scegli come pagare, poi torni qui con la ricevuta.</p>{}"#,
            esc(&st.url(&format!("/richieste/{}/paga", r.id))),
            if st.ente.cbill.is_some() {
                format!(
                    r#"<p><a id="scarica-avviso" href="{}">Scarica l'avviso (PDF)</a></p>"#,
                    esc(&st.url(&format!("/richieste/{}/avviso.pdf", r.id)))
                )
            } else {
                String::new()
            }
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
    body.push_str(&format!(
        r#"<p><a href="{}">Torna all'area personale</a></p>"#,
        esc(&st.url("/area"))
    ));
    Html(st.page(&format!("Istanza {}", r.segnatura), &body)).into_response()
}

async fn pay(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let r = match st.own_request(&headers, &id).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    if r.status == "pagata" {
        return st.redirect(&format!("/richieste/{id}"));
    }
    let notice: NoticeNumber = match r.notice_number.parse() {
        Ok(n) => n,
        Err(e) => return st.problem(StatusCode::INTERNAL_SERVER_ERROR, "Avviso", &format!("{e}")),
    };
    // The cart for pagoPA Checkout: the notice, where to come back, and the request id as
    // idCart (it comes back to our paForNode endpoint as paymentNote).
    let back = |esito: &str| format!("{}/richieste/{id}?esito={esito}", st.base_url);
    let description: String = format!("Diritti di istruttoria pratica {}", r.segnatura)
        .chars()
        .take(140)
        .collect();
    let cart = Cart::new(
        vec![CartNotice {
            notice_number: notice,
            fiscal_code: st.ente.fiscal_code.clone(),
            amount: Amount::from_cents(r.amount_cents),
            company_name: st.ente.name.chars().take(140).collect(),
            description,
        }],
        ReturnUrls::new(back("ok"), back("annullato"), back("errore")),
    )
    .with_id_cart(r.id.clone());
    match st.checkout.post_cart(&cart).await {
        // To Checkout's payment page; the receipt reaches paForNode before the browser is
        // sent back, and the station confirms it through App IO.
        Ok(location) => redirect(&location),
        Err(e) => st.problem(
            StatusCode::BAD_GATEWAY,
            "Pagamento non avviato",
            &e.to_string(),
        ),
    }
}

/// The printable pagoPA notice of a request (PDF, the guide's layout).
async fn notice_pdf(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let r = match st.own_request(&headers, &id).await {
        Ok(r) => r,
        Err(page) => return page,
    };
    let cbill = match st.notice_cbill() {
        Ok(cbill) => cbill,
        Err(page) => return *page,
    };
    let due = chrono::DateTime::parse_from_rfc3339(&r.created_at)
        .map(|d| d.date_naive())
        .unwrap_or_else(|_| Local::now().date_naive())
        + chrono::Duration::days(30);
    let input = pagopa::avviso::AvvisoInput {
        subject: format!("Diritti di istruttoria {}", r.segnatura)
            .chars()
            .take(90)
            .collect(),
        creditor: notice_creditor(&st, "Sportello telematico", cbill),
        debtor: pagopa::avviso::DebtorInput {
            name: r.full_name.chars().take(70).collect(),
            fiscal_code: r.fiscal_code.clone(),
            address: None,
        },
        single: Some(pagopa::avviso::OptionInput {
            notice_number: r.notice_number.clone(),
            amount_cents: r.amount_cents,
            due_date: Some(due.format("%Y-%m-%d").to_string()),
        }),
        installments: Vec::new(),
    };
    notice_response(&st, &input, &r.notice_number)
}

impl AppState {
    /// The ente's CBILL code, or the page saying that without one there is no printable notice.
    fn notice_cbill(&self) -> Result<String, Box<Response>> {
        self.ente.cbill.clone().ok_or_else(|| {
            Box::new(self.problem(
                StatusCode::NOT_FOUND,
                "Avviso",
                "l'ente non ha un codice CBILL: l'avviso stampabile non è disponibile",
            ))
        })
    }
}

/// The ente as the creditor of a printable notice (its office `sector`), without a postal
/// account.
fn notice_creditor(st: &AppState, sector: &str, cbill: String) -> pagopa::avviso::CreditorInput {
    pagopa::avviso::CreditorInput {
        name: st.ente.name.clone(),
        sector: Some(sector.into()),
        info: None,
        fiscal_code: st.ente.fiscal_code.to_string(),
        cbill,
        // The sportello takes the payment itself ("Paga con pagoPA"): the guide's "Dove
        // pagare" then names its site.
        online_channel: Some(pagopa::avviso::OnlineChannel::Site),
        physical_channel: None,
        postal: None,
    }
}

/// The notice `input` as the guide's PDF, shown inline as `avviso-<name>.pdf`; the problem page
/// when the input is refused.
fn notice_response(st: &AppState, input: &pagopa::avviso::AvvisoInput, name: &str) -> Response {
    match pagopa::avviso::Avviso::try_from(input).and_then(|a| a.to_pdf()) {
        Ok(pdf) => (
            [
                (CONTENT_TYPE, "application/pdf".to_owned()),
                (
                    axum::http::header::CONTENT_DISPOSITION,
                    format!("inline; filename=\"avviso-{name}.pdf\""),
                ),
            ],
            pdf,
        )
            .into_response(),
        Err(e) => st.problem(StatusCode::INTERNAL_SERVER_ERROR, "Avviso", &e.to_string()),
    }
}

// ---------- operator ----------

async fn operator(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let who = match st.operator(&headers).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let requests = st.db.requests().await.unwrap_or_default();
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
        r#"<p id="operatore">Operatore: {who} ({ente})</p>
<p><a id="link-riconciliazione" href="{riconciliazione}">Riconciliazione di tesoreria</a></p>
<h2>Istanze</h2>
<table id="tabella-istanze"><thead><tr><th>Segnatura</th><th>Cittadino</th><th>Oggetto</th><th>Avviso</th><th>Importo</th><th>Stato</th></tr></thead><tbody>{rows}</tbody></table>
<h2>Ricevute pagoPA</h2>
<table id="tabella-ricevute"><thead><tr><th>Ricevuta</th><th>Avviso</th><th>IUV</th><th>Importo</th><th>Pagatore</th></tr></thead><tbody>{rt_rows}</tbody></table>
{treasury}{io}"#,
        treasury = st.treasury.section(&st.url("/operatore/flusso")).await,
        riconciliazione = esc(&st.url("/operatore/riconciliazione")),
        io = io_section(&st).await,
        who = esc(&format!(
            "{} {} {}",
            who.given_name.as_deref().unwrap_or_default(),
            who.family_name.as_deref().unwrap_or_default(),
            who.fiscal_code
        )),
        ente = esc(&st.ente.name),
    );
    Html(st.page("Area operatore", &body)).into_response()
}

async fn send_flow(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(r) = st.operator(&headers).await {
        return r;
    }
    let receipts = st
        .node
        .store()
        .list(&st.ente.fiscal_code)
        .await
        .unwrap_or_default();
    match st.treasury.send_today(&st.ente, &receipts).await {
        Ok(()) => st.redirect("/operatore"),
        Err(e) => st.problem(StatusCode::BAD_GATEWAY, "SIOPE+", &e),
    }
}

/// The operator page's App IO section: the form for a message to many citizens and the jobs.
async fn io_section(st: &AppState) -> String {
    let mut rows = String::new();
    for j in st.bulk.jobs().await {
        rows.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&j.job),
            esc(&j.subject),
            j.recipients.len(),
            if j.done { "concluso" } else { "in corso" }
        ));
    }
    format!(
        r#"<h2>App IO: messaggio a più cittadini</h2>
<form method="post" action="{}">
<label for="io-oggetto">Oggetto</label><input id="io-oggetto" name="subject" required value="Avviso del Comune per i cittadini">
<label for="io-testo">Testo (markdown)</label><textarea id="io-testo" name="markdown" rows="4" required>Gentile cittadina, gentile cittadino, ti informiamo che gli uffici comunali resteranno chiusi lunedì per la festa patronale.</textarea>
<label for="io-destinatari">Codici fiscali dei destinatari (uno per riga)</label><textarea id="io-destinatari" name="recipients" rows="4" required></textarea>
<div class="azioni"><button type="submit" id="invia-io">Invia con App IO</button></div></form>
<table id="tabella-io"><thead><tr><th>Invio</th><th>Oggetto</th><th>Destinatari</th><th>Stato</th></tr></thead><tbody>{rows}</tbody></table>"#,
        esc(&st.url("/operatore/io"))
    )
}

#[derive(Debug, Deserialize)]
struct IoForm {
    subject: String,
    markdown: String,
    recipients: String,
}

async fn send_io(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(f): Form<IoForm>,
) -> Response {
    if let Err(r) = st.operator(&headers).await {
        return r;
    }
    let mut recipients = Vec::new();
    for line in f
        .recipients
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
    {
        match line.parse::<CodiceFiscale>() {
            Ok(cf) => recipients.push(cf),
            Err(e) => {
                return st.problem(
                    StatusCode::BAD_REQUEST,
                    "Destinatari non validi",
                    &format!("{line}: {e}"),
                );
            }
        }
    }
    let job = match st.bulk.create(&f.subject, &f.markdown, &recipients).await {
        Ok(j) => j,
        Err(e) => return st.problem(StatusCode::BAD_REQUEST, "Messaggio App IO", &e),
    };
    // Recorded: the send runs in the background (this instance now, any instance's worker if
    // this one stops).
    let worker = Arc::clone(&st);
    tokio::spawn(async move {
        if let Some(j) = worker.bulk.jobs().await.into_iter().find(|j| j.job == job) {
            let _ = worker.bulk.run(&j).await;
        }
    });
    st.redirect("/operatore")
}
