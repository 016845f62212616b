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

mod cns;
mod db;
mod html;
mod io;
mod login;
mod pages;
mod payment;
mod protocol;
mod treasury;

use std::net::SocketAddr;
use std::path::PathBuf;

use pa_types::{Amount, CodiceIpa, Iban, OrganizationFiscalCode};
use pagopa::SegregationCode;
use serde::Deserialize;

pub use cns::DemoCard;
pub use db::{Db, Request};

/// The public body running the portal.
#[derive(Debug, Clone)]
pub struct Ente {
    /// Name.
    pub name: String,
    /// IPA code.
    pub ipa: CodiceIpa,
    /// Code of the AOO (protocol).
    pub aoo: String,
    /// Fiscal code (pagoPA creditor).
    pub fiscal_code: OrganizationFiscalCode,
    /// pagoPA segregation code of the portal's notices.
    pub segregation: SegregationCode,
    /// Account credited by the fees.
    pub iban: Iban,
    /// pagoPA broker id (`idBrokerPA`).
    pub broker: String,
    /// pagoPA station id (`idStation`).
    pub station: String,
    /// The fee of a request.
    pub fee: Amount,
}

impl Ente {
    /// The demo's municipality.
    ///
    /// # Errors
    /// Never with the embedded values; the codes are still parsed like any input.
    pub fn demo() -> Result<Ente, String> {
        let e = |e: pa_types::ParseError| e.to_string();
        Ok(Ente {
            name: "Comune di Esempio".into(),
            ipa: "c_x000".parse().map_err(e)?,
            aoo: "AOO_ESEMPIO".into(),
            fiscal_code: "12345678903".parse().map_err(e)?,
            segregation: "01".parse().map_err(|e: pagopa::CodeError| e.to_string())?,
            iban: "IT60X0542811101000000123456".parse().map_err(e)?,
            broker: "12345678903".into(),
            station: "12345678903_01".into(),
            fee: Amount::from_cents(2500),
        })
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
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Port on 127.0.0.1 (0 picks a free one).
    pub port: u16,
    /// Port on 127.0.0.1 of the smart-card (CNS) login listener, TLS with client certificates
    /// (0 picks a free one).
    pub cns_port: u16,
    /// Where the SQLite files live.
    pub data_dir: PathBuf,
    /// IO Services endpoint; `None` runs the embedded mock.
    pub io: Option<IoEndpoint>,
    /// SIOPE+ A2A endpoint; `None` runs the embedded simulator.
    pub siope: Option<SiopeEndpoint>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            port: 8000,
            cns_port: 8443,
            data_dir: PathBuf::from("sportello-data"),
            io: None,
            siope: None,
        }
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
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// `https://127.0.0.1:CNS_PORT`, the smart-card login listener.
    pub cns_base_url: String,
    /// The demo card and its issuer CA, written to the data directory.
    pub demo_card: DemoCard,
    task: tokio::task::JoinHandle<()>,
}

impl Running {
    /// Waits until the server stops (it runs until the process ends).
    ///
    /// # Errors
    /// When the server task panicked or was cancelled.
    pub async fn wait(self) -> Result<(), tokio::task::JoinError> {
        self.task.await
    }

    /// Stops the server.
    pub fn stop(&self) {
        self.task.abort();
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
    let base_url = format!("http://{addr}");
    std::fs::create_dir_all(&config.data_dir).map_err(|e| StartError::State {
        path: config.data_dir.clone(),
        message: e.to_string(),
    })?;
    let state = pages::AppState::build(&config, &base_url).await?;
    let (cns_addr, demo_card) = cns::start(
        config.cns_port,
        &config.data_dir,
        state.db(),
        format!("{base_url}/area"),
    )
    .await?;
    let cns_base_url = format!("https://{cns_addr}");
    state.set_cns_url(format!("{cns_base_url}/login/cns"));
    let app = pages::router(state);
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(Running {
        addr,
        base_url,
        cns_base_url,
        demo_card,
        task,
    })
}
