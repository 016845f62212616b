//! The "sportello telematico" demo: every crate of the workspace in one citizen portal.
//!
//! A citizen logs in with SPID or CIE (in-process test IdPs), files a request, which is
//! protocolled (`protocollo`); a fee is minted as a pagoPA notice with its QR code (`pagopa`),
//! paid through the node simulator calling our paForNode endpoint, and an App IO message
//! confirms it (`appio`, against the IO mock). The operator page shows requests and receipts,
//! builds the day's OPI flow, signs it and sends it to the SIOPE+ A2A simulator (`siopeplus`),
//! and shows the client certificate's days left.
//!
//! Everything runs on embedded defaults: [`Config::default`] needs no setup. Each external
//! platform can be pointed at a real endpoint by configuration instead.

mod bulk;
mod cns;
mod db;
mod html;
mod io;
mod login;
mod oidc;
mod pages;
mod payment;
mod protocol;
mod treasury;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;

use pa_types::{Amount, CodiceFiscale, CodiceIpa, Iban, OrganizationFiscalCode};
use pagopa::SegregationCode;
use serde::Deserialize;

pub use cns::DemoCard;
pub use db::{Db, DbError, PG_MIGRATIONS, Request};

/// A public body served by the portal.
#[derive(Debug, Clone)]
pub struct Ente {
    /// Short identifier in the configuration (also its data directory and CNS login path).
    pub id: String,
    /// Name.
    pub name: String,
    /// IPA code.
    pub ipa: CodiceIpa,
    /// Code of the AOO (protocol).
    pub aoo: String,
    /// Code of the protocol register (`PG` by default).
    pub register: String,
    /// Fiscal code (pagoPA creditor).
    pub fiscal_code: OrganizationFiscalCode,
    /// pagoPA segregation code of the portal's notices.
    pub segregation: SegregationCode,
    /// Account credited by the fees.
    pub iban: Iban,
    /// pagoPA broker id (`idBrokerPA`): the partner's.
    pub broker: String,
    /// pagoPA station id (`idStation`): the partner's.
    pub station: String,
    /// The fee of a request.
    pub fee: Amount,
    /// Fiscal codes of the people allowed in the operator area.
    pub operators: BTreeSet<CodiceFiscale>,
    /// The ente's CBILL code (5 characters), printed on the pagoPA notice; without it no PDF
    /// notice is offered.
    pub cbill: Option<String>,
}

impl Ente {
    /// The demo's municipality; its operator is the test IdP's default citizen (Mario Rossi).
    ///
    /// # Errors
    /// Never with the embedded values; the codes are still parsed like any input.
    pub fn demo() -> Result<Ente, String> {
        let e = |e: pa_types::ParseError| e.to_string();
        Ok(Ente {
            id: "esempio".into(),
            name: "Comune di Esempio".into(),
            ipa: "c_x000".parse().map_err(e)?,
            aoo: "AOO_ESEMPIO".into(),
            register: "PG".into(),
            fiscal_code: "12345678903".parse().map_err(e)?,
            segregation: "01".parse().map_err(|e: pagopa::CodeError| e.to_string())?,
            iban: "IT60X0542811101000000123456".parse().map_err(e)?,
            broker: "12345678903".into(),
            station: "12345678903_01".into(),
            fee: Amount::from_cents(2500),
            operators: BTreeSet::from(["RSSMRA85T10A562S".parse().map_err(e)?]),
            cbill: Some("A1B2C".into()),
        })
    }
}

/// The technology partner running the deployment: the SPID aggregator, the pagoPA broker and
/// station of every ente it serves.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerConfig {
    /// Company name (the aggregator in SPID metadata).
    pub name: String,
    /// VAT number of the company (the aggregator's `VATNumber`).
    pub vat_number: String,
    /// Contact e-mail of the aggregator.
    pub email: String,
    /// pagoPA `idBrokerPA` (the partner's fiscal code as intermediario tecnologico).
    pub broker: String,
    /// pagoPA `idStation` of the partner's station.
    pub station: String,
    /// The partner as the `technical` contact of each ente's CIE metadata (company, VAT number,
    /// fiscal code, NACE2 code, e-mail, seat).
    #[serde(default)]
    pub cie_technical: Option<cie::CieTechnicalContact>,
}

/// One ente in a partner's configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnteConfig {
    /// Short identifier: lowercase letters, digits and `-` (its data directory, its CNS path).
    pub id: String,
    /// Name (e.g. `Comune di Roccaverde`).
    pub name: String,
    /// IPA code.
    pub ipa: String,
    /// Fiscal code (pagoPA creditor, `idPA`).
    pub fiscal_code: String,
    /// pagoPA segregation code (two digits) of the portal's notices.
    pub segregation: String,
    /// IBAN credited by the fees.
    pub iban: String,
    /// Fee of a request, in cents.
    pub fee_cents: u64,
    /// AOO code (protocol).
    pub aoo: String,
    /// Protocol register code (default `PG`).
    #[serde(default)]
    pub register: Option<String>,
    /// Host names (with port when not 80/443) that select this ente, e.g.
    /// `servizi.comune-roccaverde.it`.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Path prefix that selects this ente, e.g. `/roccaverde`; used when no host matches.
    #[serde(default)]
    pub path_prefix: Option<String>,
    /// IO Services endpoint and the key of the ente's service; `None` runs the embedded mock.
    #[serde(default)]
    pub io: Option<IoEndpoint>,
    /// SIOPE+ A2A endpoint with the ente's client certificate; `None` runs the simulator.
    #[serde(default)]
    pub siope: Option<SiopeEndpoint>,
    /// Fiscal codes of the ente's operators.
    #[serde(default)]
    pub operators: Vec<String>,
    /// CBILL code (5 uppercase letters or digits) for the printable pagoPA notice.
    #[serde(default)]
    pub cbill: Option<String>,
}

/// A bad configuration file: which ente and field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{ente}: {field}: {reason}")]
pub struct ConfigError {
    /// The ente's `id` (or `partner`, `enti`).
    pub ente: String,
    /// The field.
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

/// How requests reach an ente.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Served at the root of these hosts.
    Hosts(Vec<String>),
    /// Served under this path prefix (`""` for the root of the single-ente demo).
    Prefix(String),
}

impl EnteConfig {
    /// Checks every field and builds the ente under `partner`.
    ///
    /// # Errors
    /// [`ConfigError`] naming the ente and the field.
    pub fn to_ente(&self, partner: &PartnerConfig) -> Result<(Ente, Route), ConfigError> {
        let bad = |field: &str, reason: String| ConfigError {
            ente: self.id.clone(),
            field: field.to_owned(),
            reason,
        };
        let id_ok = !self.id.is_empty()
            && self.id.len() <= 40
            && self
                .id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            return Err(bad("id", "lowercase letters, digits and '-' only".into()));
        }
        if self.name.trim().is_empty() {
            return Err(bad("name", "empty".into()));
        }
        if self.fee_cents == 0 {
            return Err(bad("fee_cents", "must be more than zero".into()));
        }
        if let Some(c) = &self.cbill {
            let ok = c.len() == 5
                && c.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
            if !ok {
                return Err(bad(
                    "cbill",
                    format!("{c:?}: 5 uppercase letters or digits"),
                ));
            }
        }
        let mut operators = BTreeSet::new();
        for o in &self.operators {
            operators.insert(
                o.parse::<CodiceFiscale>()
                    .map_err(|e| bad("operators", format!("{o}: {e}")))?,
            );
        }
        let route = match (&self.hosts[..], &self.path_prefix) {
            ([], None) => return Err(bad("hosts", "give hosts or path_prefix".into())),
            ([], Some(p)) => {
                let ok = p.len() >= 2
                    && p.starts_with('/')
                    && !p.ends_with('/')
                    && p[1..]
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
                if !ok {
                    return Err(bad(
                        "path_prefix",
                        format!("{p:?}: one segment like \"/roccaverde\" expected"),
                    ));
                }
                Route::Prefix(p.clone())
            }
            (hosts, _) => {
                for h in hosts {
                    let ok = !h.is_empty()
                        && h.bytes().all(|b| {
                            b.is_ascii_lowercase() || b.is_ascii_digit() || b"-.:".contains(&b)
                        });
                    if !ok {
                        return Err(bad("hosts", format!("{h:?} is not a lowercase host name")));
                    }
                }
                Route::Hosts(hosts.to_vec())
            }
        };
        let ente = Ente {
            id: self.id.clone(),
            name: self.name.clone(),
            ipa: self.ipa.parse().map_err(|e| bad("ipa", format!("{e}")))?,
            aoo: self.aoo.clone(),
            register: self.register.clone().unwrap_or_else(|| "PG".into()),
            fiscal_code: self
                .fiscal_code
                .parse()
                .map_err(|e| bad("fiscal_code", format!("{e}")))?,
            segregation: self
                .segregation
                .parse()
                .map_err(|e| bad("segregation", format!("{e}")))?,
            iban: self.iban.parse().map_err(|e| bad("iban", format!("{e}")))?,
            broker: partner.broker.clone(),
            station: partner.station.clone(),
            fee: Amount::from_cents(self.fee_cents),
            operators,
            cbill: self.cbill.clone(),
        };
        Ok((ente, route))
    }
}

/// A real IO Services endpoint instead of the embedded mock.
#[derive(Debug, Clone, Deserialize)]
pub struct IoEndpoint {
    /// Base URL, e.g. `https://api.io.pagopa.it/api/v1`.
    pub base_url: String,
    /// The service's subscription key.
    pub subscription_key: String,
}

/// A real pagoPA Checkout endpoint instead of the embedded simulator.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckoutEndpoint {
    /// Base URL of the EC API, e.g. `https://api.platform.pagopa.it/checkout/ec/v1`.
    pub base_url: String,
    /// The subscription key (`Ocp-Apim-Subscription-Key`).
    pub subscription_key: String,
}

/// A real SIOPE+ A2A endpoint instead of the embedded simulator.
#[derive(Debug, Clone, Deserialize)]
pub struct SiopeEndpoint {
    /// Base URL of the A2A channel, e.g. `https://certa2a.siopeplus.it/v1`.
    pub base_url: String,
    /// The ente's A2A code (`A2A-…`), also the certificate's CN.
    pub codice_a2a: String,
    /// The ente's code in SIOPE+ (6 characters).
    pub codice_ente: String,
    /// PEM file with the client certificate (chain) of the ente.
    pub certificate_pem: PathBuf,
    /// PEM file with the client certificate's private key (also used to sign flows).
    pub key_pem: PathBuf,
    /// PEM file with the roots that the A2A server certificate must chain to.
    pub trust_roots_pem: PathBuf,
}

/// The demo's configuration. Every field has an embedded default.
///
/// Without `enti` it is the zero-configuration single ente ([`Ente::demo`], with `io` and
/// `siope`); with `enti` it is a partner's deployment: `partner` plus one entry per ente, each
/// chosen by host or by path prefix.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Port on 127.0.0.1 (0 picks a free one).
    pub port: u16,
    /// Port on 127.0.0.1 of the smart-card (CNS) login listener, TLS with client certificates
    /// (0 picks a free one).
    pub cns_port: u16,
    /// Where the SQLite files live (one subdirectory per ente in a partner's deployment).
    pub data_dir: PathBuf,
    /// IO Services endpoint of the single demo ente; `None` runs the embedded mock.
    pub io: Option<IoEndpoint>,
    /// SIOPE+ A2A endpoint of the single demo ente; `None` runs the embedded simulator.
    pub siope: Option<SiopeEndpoint>,
    /// The technology partner (required with `enti`).
    pub partner: Option<PartnerConfig>,
    /// The enti served; empty for the single demo ente.
    pub enti: Vec<EnteConfig>,
    /// pagoPA Checkout (EC API `POST /carts`); `None` runs the embedded Checkout simulator.
    pub checkout: Option<CheckoutEndpoint>,
    /// `postgres://…`: every durable store (requests and sessions, receipts, IUV sequences,
    /// protocol registers, SIOPE+ outbox) in this shared database instead of SQLite files, so
    /// that several instances serve the same enti.
    pub database_url: Option<String>,
    /// `redis://…`: SPID and CIE pending requests, replay cache and SPID sessions shared by
    /// instances (a login started on one completes on another).
    pub redis_url: Option<String>,
    /// The public URL of the deployment when it runs behind a load balancer (e.g.
    /// `https://servizi.partner.example`): SAML identities and links use it instead of this
    /// instance's own address, so that every instance is the same service provider.
    pub public_url: Option<String>,
    /// How often each instance's background workers look for work (the SIOPE+ outbox, App IO
    /// bulk jobs), in milliseconds.
    pub worker_interval_ms: u64,
    /// How long a worker's claim on a flow or a message lasts before another instance takes
    /// it over (when the holder died), in milliseconds.
    pub lease_ms: u64,
    /// Also offer SPID and CIE id over OpenID Connect Federation (next to SAML), against the
    /// embedded test federation (a Trust Anchor and test OPs at `/test-fed`).
    pub oidc: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 8000,
            cns_port: 8443,
            data_dir: PathBuf::from("sportello-data"),
            io: None,
            siope: None,
            partner: None,
            enti: Vec::new(),
            checkout: None,
            database_url: None,
            redis_url: None,
            public_url: None,
            worker_interval_ms: 1000,
            lease_ms: 30_000,
            oidc: false,
        }
    }
}

/// One ente ready to start: who it is, where it is served, its external endpoints.
#[derive(Debug, Clone)]
pub struct EnteSetup {
    /// The ente.
    pub ente: Ente,
    /// How requests reach it.
    pub route: Route,
    /// Its IO Services endpoint (`None`: the embedded mock).
    pub io: Option<IoEndpoint>,
    /// Its SIOPE+ endpoint (`None`: the embedded simulator).
    pub siope: Option<SiopeEndpoint>,
    /// The partner when it is served as an aggregated entity.
    pub partner: Option<PartnerConfig>,
    /// SPID and CIE id over OpenID Connect too ([`Config::oidc`]).
    pub oidc: bool,
}

impl Config {
    /// Reads a JSON configuration file.
    ///
    /// # Errors
    /// A message naming the file and what is wrong in it.
    pub fn from_file(path: &std::path::Path) -> Result<Config, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let config: Config =
            serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        config
            .setups()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(config)
    }

    /// The enti to serve, each checked.
    ///
    /// # Errors
    /// [`ConfigError`] naming the ente and field: a bad code, `enti` without `partner`, two enti
    /// with the same id, fiscal code, host or prefix.
    pub fn setups(&self) -> Result<Vec<EnteSetup>, ConfigError> {
        let top = |field: &str, reason: &str| ConfigError {
            ente: "config".into(),
            field: field.into(),
            reason: reason.into(),
        };
        if self.enti.is_empty() {
            return Ok(vec![EnteSetup {
                ente: Ente::demo().map_err(|r| top("ente", &r))?,
                route: Route::Prefix(String::new()),
                io: self.io.clone(),
                siope: self.siope.clone(),
                partner: self.partner.clone(),
                oidc: self.oidc,
            }]);
        }
        let Some(partner) = &self.partner else {
            return Err(top("partner", "required when enti are configured"));
        };
        if self.io.is_some() || self.siope.is_some() {
            return Err(top("io", "with enti, give io and siope inside each ente"));
        }
        let mut out: Vec<EnteSetup> = Vec::new();
        let mut seen = BTreeSet::new();
        for e in &self.enti {
            let (ente, route) = e.to_ente(partner)?;
            let dup = |field: &str, v: &str| ConfigError {
                ente: e.id.clone(),
                field: field.into(),
                reason: format!("{v} is already used by another ente"),
            };
            for key in [
                format!("id:{}", ente.id),
                format!("cf:{}", ente.fiscal_code),
            ] {
                if !seen.insert(key.clone()) {
                    let (field, v) = key.split_once(':').unwrap_or(("id", &key));
                    return Err(dup(if field == "cf" { "fiscal_code" } else { "id" }, v));
                }
            }
            match &route {
                Route::Hosts(hosts) => {
                    for h in hosts {
                        if !seen.insert(format!("host:{h}")) {
                            return Err(dup("hosts", h));
                        }
                    }
                }
                Route::Prefix(p) => {
                    if !seen.insert(format!("prefix:{p}")) {
                        return Err(dup("path_prefix", p));
                    }
                }
            }
            out.push(EnteSetup {
                ente,
                route,
                io: e.io.clone(),
                siope: e.siope.clone(),
                partner: Some(partner.clone()),
                oidc: self.oidc,
            });
        }
        Ok(out)
    }
}

/// Why the demo could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The port could not be bound.
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind {
        /// The port.
        port: u16,
        /// The cause.
        source: std::io::Error,
    },
    /// The data directory or a database could not be opened.
    #[error("state in {path}: {message}")]
    State {
        /// The file or directory.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The configuration is not usable.
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    /// A component could not be set up.
    #[error("{component}: {message}")]
    Component {
        /// Which one.
        component: &'static str,
        /// What failed.
        message: String,
    },
}

pub(crate) fn component(component: &'static str) -> impl Fn(String) -> StartError {
    move |message| StartError::Component { component, message }
}

/// A running demo.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on.
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`, followed by the first ente's path prefix when it has one.
    pub base_url: String,
    /// `https://127.0.0.1:CNS_PORT`, the smart-card login listener.
    pub cns_base_url: String,
    /// The demo card and its issuer CA, written to the data directory.
    pub demo_card: DemoCard,
    /// Each ente served: its id and its base URL (`http://127.0.0.1:PORT/prefix`, or
    /// `http://HOST:PORT` for an ente chosen by host).
    pub enti: Vec<(String, String)>,
    /// This instance's name in the leases it takes on shared state.
    pub instance: String,
    task: tokio::task::JoinHandle<()>,
    workers: Vec<tokio::task::JoinHandle<()>>,
    /// The embedded pagoPA Checkout (stops when this is dropped).
    _checkout: Option<pagopa::simulator::CheckoutSimulator>,
}

impl Running {
    /// Waits until the server stops (it runs until the process ends).
    ///
    /// # Errors
    /// When the server task panicked or was cancelled.
    pub async fn wait(self) -> Result<(), tokio::task::JoinError> {
        self.task.await
    }

    /// Stops the server and its background workers.
    pub fn stop(&self) {
        self.task.abort();
        for w in &self.workers {
            w.abort();
        }
    }

    /// The base URL of the ente `id`.
    pub fn ente_url(&self, id: &str) -> Option<&str> {
        self.enti
            .iter()
            .find(|(e, _)| e == id)
            .map(|(_, u)| u.as_str())
    }
}

/// Starts the demo on `127.0.0.1:config.port`.
///
/// # Errors
/// [`StartError`] naming the component that could not start.
pub async fn start(config: Config) -> Result<Running, StartError> {
    // The TLS clients (A2A, IO, node simulator) use rustls with `ring`; when a host application
    // links another provider too, rustls cannot pick one by itself. An already installed
    // provider is kept.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let setups = config.setups()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", config.port))
        .await
        .map_err(|source| StartError::Bind {
            port: config.port,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        port: config.port,
        source,
    })?;
    let own_url = format!("http://{addr}");
    let root_url = config
        .public_url
        .as_deref()
        .map_or_else(|| own_url.clone(), |u| u.trim_end_matches('/').to_owned());
    std::fs::create_dir_all(&config.data_dir).map_err(|e| StartError::State {
        path: config.data_dir.clone(),
        message: e.to_string(),
    })?;
    let mut deployment =
        pages::Deployment::build(&config, &setups, &root_url, &own_url, addr.port()).await?;
    let workers = deployment.take_workers();
    let checkout = deployment.take_keepalive();
    let instance = deployment.instance().to_owned();
    let (cns_addr, demo_card) =
        cns::start(config.cns_port, &config.data_dir, deployment.cns_targets()).await?;
    let cns_base_url = format!("https://{cns_addr}");
    deployment.set_cns_url(&cns_base_url);
    let enti = deployment.urls();
    let base_url = enti
        .first()
        .map_or_else(|| root_url.clone(), |(_, u)| u.clone());
    let app = deployment.router();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Running {
        addr,
        base_url,
        cns_base_url,
        demo_card,
        enti,
        instance,
        task,
        workers,
        _checkout: checkout,
    })
}
