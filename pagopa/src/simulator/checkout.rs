//! A local pagoPA Checkout (feature `simulator`): takes carts like `POST /carts` of the EC API
//! v2, shows a payment page, and on "pay" does what the node does for each notice — calls the
//! creditor's paForNode endpoint over HTTP (`paVerifyPaymentNotice`, `paGetPaymentV2` with
//! `paymentNote` = `idCart`, `paSendRTV2`) — then sends the browser back to the cart's return
//! URL.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use pagopa::checkout::CheckoutClient;
//! use pagopa::simulator::{CheckoutConfig, CheckoutSimulator};
//!
//! let sim = CheckoutSimulator::start(CheckoutConfig::new(
//!     "http://127.0.0.1:8080/pagopa/paForNode", // the creditor's paForNode endpoint
//!     "15376371009",                            // idBrokerPA
//!     "15376371009_01",                         // idStation
//! ))
//! .await?;
//! let checkout = CheckoutClient::without_key(sim.base_url());
//! // checkout.post_cart(&cart) -> the URL of the simulator's payment page.
//! # let _ = checkout; Ok(()) }
//! ```
//!
//! Pages: `GET /pay/{id}` (the cart and three buttons, `id="pay"`, `id="cancel"`, `id="error"`),
//! `POST /pay/{id}/pay|cancel|error` answering `303 See Other` to the return URL. A cart is
//! closed by its first button; later presses answer `409`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use pa_types::Amount;
use serde_json::json;

use super::{NodeSimulator, PspInfo, ReceiptRetry, SimulatedPayment};
use crate::checkout::Cart;
use crate::gpd::SubscriptionKey;
use crate::node::{QrCode, RequestIds};

/// Largest cart body accepted.
const MAX_CART_BODY: usize = 64 * 1024;

/// How the simulator reaches the creditor.
#[derive(Debug, Clone)]
pub struct CheckoutConfig {
    /// The creditor's paForNode URL (what the node would call).
    pub pa_for_node_url: String,
    /// `idBrokerPA` sent with every call (`idPA` is each notice's fiscal code).
    pub id_broker_pa: String,
    /// `idStation` sent with every call.
    pub id_station: String,
    /// When set, `POST /carts` needs this `Ocp-Apim-Subscription-Key` (header or
    /// `subscription-key` query parameter), else `401`.
    pub subscription_key: Option<SubscriptionKey>,
    /// PSP data in the receipts.
    pub psp: PspInfo,
    /// Receipt redelivery.
    pub retry: ReceiptRetry,
}

impl CheckoutConfig {
    /// Calls `pa_for_node_url` as broker `id_broker_pa`, station `id_station`.
    #[must_use]
    pub fn new(
        pa_for_node_url: impl Into<String>,
        id_broker_pa: impl Into<String>,
        id_station: impl Into<String>,
    ) -> CheckoutConfig {
        CheckoutConfig {
            pa_for_node_url: pa_for_node_url.into(),
            id_broker_pa: id_broker_pa.into(),
            id_station: id_station.into(),
            subscription_key: None,
            psp: PspInfo::default(),
            retry: ReceiptRetry::default(),
        }
    }

    /// Requires a subscription key on `POST /carts`.
    #[must_use]
    pub fn with_subscription_key(mut self, key: SubscriptionKey) -> CheckoutConfig {
        self.subscription_key = Some(key);
        self
    }

    /// Sets the receipt redelivery policy.
    #[must_use]
    pub fn with_retry(mut self, retry: ReceiptRetry) -> CheckoutConfig {
        self.retry = retry;
        self
    }
}

/// Where a simulated cart is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CartState {
    /// Waiting on its payment page.
    Open,
    /// "Pay" was pressed; the node calls are under way.
    Paying,
    /// Every notice was paid and its receipt acknowledged; the browser went to `returnOkUrl`.
    Paid,
    /// "Cancel" was pressed; nothing was paid; the browser went to `returnCancelUrl`.
    Cancelled,
    /// "Error" was pressed, or a node call failed; the browser went to `returnErrorUrl`.
    Failed {
        /// Why (`"error chosen on the payment page"` or the failed call).
        reason: String,
    },
}

/// A cart the simulator received, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedCart {
    /// The simulator's id (in the payment page URL).
    pub id: String,
    /// The cart as posted.
    pub cart: Cart,
    /// The payment page (the `Location` answered).
    pub payment_url: String,
    /// Where it is.
    pub state: CartState,
    /// The notices paid so far, in cart order, with the receipts delivered.
    pub payments: Vec<SimulatedPayment>,
}

struct Shared {
    config: CheckoutConfig,
    base_url: String,
    carts: Mutex<BTreeMap<String, SimulatedCart>>,
    seq: AtomicU64,
}

impl Shared {
    fn carts(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, SimulatedCart>> {
        self.carts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A running Checkout simulator on `127.0.0.1`. Stops when dropped.
pub struct CheckoutSimulator {
    shared: Arc<Shared>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for CheckoutSimulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckoutSimulator")
            .field("base_url", &self.shared.base_url)
            .finish_non_exhaustive()
    }
}

impl CheckoutSimulator {
    /// Starts a simulator on a free port of `127.0.0.1`.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start(config: CheckoutConfig) -> std::io::Result<CheckoutSimulator> {
        Self::start_on(config, 0).await
    }

    /// Starts a simulator on `127.0.0.1:port` (`0`: any free port).
    ///
    /// # Errors
    /// When the port cannot be bound.
    pub async fn start_on(config: CheckoutConfig, port: u16) -> std::io::Result<CheckoutSimulator> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            config,
            base_url: format!("http://{addr}"),
            carts: Mutex::new(BTreeMap::new()),
            seq: AtomicU64::new(1),
        });
        let app = Router::new()
            .route("/carts", post(post_cart))
            .route("/pay/{id}", get(page))
            .route("/pay/{id}/{action}", post(press))
            .layer(axum::extract::DefaultBodyLimit::max(MAX_CART_BODY))
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "Checkout simulator stopped");
            }
        });
        Ok(CheckoutSimulator { shared, task })
    }

    /// `http://127.0.0.1:<port>`: the base URL for [`crate::checkout::CheckoutClient`] (it posts
    /// to `<base>/carts`).
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// Every cart received, in order of arrival.
    #[must_use]
    pub fn carts(&self) -> Vec<SimulatedCart> {
        let mut v: Vec<SimulatedCart> = self.shared.carts().values().cloned().collect();
        v.sort_by_key(|c| c.id.split('-').next().and_then(|n| n.parse::<u64>().ok()));
        v
    }

    /// One cart by the simulator's id.
    #[must_use]
    pub fn cart(&self, id: &str) -> Option<SimulatedCart> {
        self.shared.carts().get(id).cloned()
    }

    /// The cart posted with this `idCart`, the latest if several.
    #[must_use]
    pub fn cart_by_id_cart(&self, id_cart: &str) -> Option<SimulatedCart> {
        self.carts()
            .into_iter()
            .rev()
            .find(|c| c.cart.id_cart.as_deref() == Some(id_cart))
    }

    /// Every notice paid through the simulator (receipts acknowledged by the creditor).
    #[must_use]
    pub fn payments(&self) -> Vec<SimulatedPayment> {
        self.carts().into_iter().flat_map(|c| c.payments).collect()
    }

    /// Stops the server.
    pub fn shutdown(self) {
        self.task.abort();
    }
}

impl Drop for CheckoutSimulator {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn problem(status: StatusCode, title: &str, detail: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        json!({
            "type": "about:blank",
            "title": title,
            "status": status.as_u16(),
            "detail": detail,
        })
        .to_string(),
    )
        .into_response()
}

fn key_ok(shared: &Shared, headers: &HeaderMap, query: Option<&str>) -> bool {
    let Some(want) = &shared.config.subscription_key else {
        return true;
    };
    let header_key = headers
        .get("ocp-apim-subscription-key")
        .and_then(|v| v.to_str().ok());
    let query_key = query.and_then(|q| {
        q.split('&')
            .filter_map(|kv| kv.split_once('='))
            .find(|(k, _)| *k == "subscription-key")
            .map(|(_, v)| v)
    });
    header_key.or(query_key) == Some(want.expose_secret())
}

async fn post_cart(
    State(shared): State<Arc<Shared>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if !key_ok(&shared, &headers, uri.query()) {
        return problem(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "missing or wrong subscription key",
        );
    }
    let cart = match Cart::from_json(&body) {
        Ok(c) => c,
        Err(e) => {
            return problem(
                StatusCode::BAD_REQUEST,
                "Formally invalid input",
                &e.to_string(),
            );
        }
    };
    let n = shared.seq.fetch_add(1, Ordering::Relaxed);
    let nanos = chrono::Utc::now()
        .timestamp_nanos_opt()
        .unwrap_or_default()
        .unsigned_abs();
    let id = format!("{n}-{:x}", nanos ^ (n.rotate_left(32)));
    let payment_url = format!("{}/pay/{id}", shared.base_url);
    shared.carts().insert(
        id.clone(),
        SimulatedCart {
            id,
            cart,
            payment_url: payment_url.clone(),
            state: CartState::Open,
            payments: Vec::new(),
        },
    );
    (StatusCode::FOUND, [(header::LOCATION, payment_url)]).into_response()
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn euro(a: Amount) -> String {
    format!("{} €", a.to_decimal_string().replace('.', ","))
}

fn page_html(c: &SimulatedCart) -> String {
    let mut rows = String::new();
    for n in &c.cart.notices {
        let _ = write!(
            rows,
            "<tr class=\"notice\"><td class=\"notice-number\">{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td class=\"amount\">{}</td></tr>",
            esc(&n.notice_number.to_print_format()),
            esc(n.fiscal_code.as_str()),
            esc(&n.company_name),
            esc(&n.description),
            esc(&euro(n.amount)),
        );
    }
    let total = c.cart.total().map(euro).unwrap_or_default();
    let open = c.state == CartState::Open;
    let buttons = if open {
        format!(
            "<form method=\"post\" action=\"/pay/{id}/pay\"><button id=\"pay\" type=\"submit\">Paga {total}</button></form>\
             <form method=\"post\" action=\"/pay/{id}/cancel\"><button id=\"cancel\" type=\"submit\">Annulla</button></form>\
             <form method=\"post\" action=\"/pay/{id}/error\"><button id=\"error\" type=\"submit\">Simula un errore</button></form>",
            id = esc(&c.id),
            total = esc(&total),
        )
    } else {
        format!(
            "<p id=\"closed\">Carrello chiuso: {}</p>",
            esc(&format!("{:?}", c.state))
        )
    };
    format!(
        "<!DOCTYPE html><html lang=\"it\"><head><meta charset=\"utf-8\"><title>pagoPA Checkout (simulatore)</title></head>\
         <body><h1>pagoPA Checkout — simulatore</h1>\
         <p>Carrello <span id=\"id-cart\">{id_cart}</span></p>\
         <table><thead><tr><th>Codice avviso</th><th>Ente (CF)</th><th>Ente</th><th>Causale</th><th>Importo</th></tr></thead>\
         <tbody>{rows}</tbody></table><p>Totale: <strong id=\"total\">{total}</strong></p>{buttons}</body></html>",
        id_cart = esc(c.cart.id_cart.as_deref().unwrap_or("")),
        total = esc(&total),
    )
}

async fn page(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Response {
    match shared.carts().get(&id) {
        Some(c) => Html(page_html(c)).into_response(),
        None => (StatusCode::NOT_FOUND, Html("<p>Carrello sconosciuto</p>")).into_response(),
    }
}

fn see_other(url: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, url.to_owned())]).into_response()
}

async fn press(
    State(shared): State<Arc<Shared>>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    // Take the cart out of Open under the lock, so that one press wins.
    let cart = {
        let mut carts = shared.carts();
        let Some(c) = carts.get_mut(&id) else {
            return (StatusCode::NOT_FOUND, Html("<p>Carrello sconosciuto</p>")).into_response();
        };
        if c.state != CartState::Open {
            return (
                StatusCode::CONFLICT,
                Html(format!(
                    "<p>Carrello già chiuso: {}</p>",
                    esc(&format!("{:?}", c.state))
                )),
            )
                .into_response();
        }
        let urls = c.cart.return_urls.clone();
        match action.as_str() {
            "cancel" => {
                c.state = CartState::Cancelled;
                return see_other(&urls.cancel);
            }
            "error" => {
                c.state = CartState::Failed {
                    reason: "error chosen on the payment page".into(),
                };
                return see_other(&urls.error);
            }
            "pay" => {
                c.state = CartState::Paying;
                c.cart.clone()
            }
            _ => return (StatusCode::NOT_FOUND, Html("<p>Azione sconosciuta</p>")).into_response(),
        }
    };
    let outcome = pay_cart(&shared, &id, &cart).await;
    let mut carts = shared.carts();
    let Some(c) = carts.get_mut(&id) else {
        return see_other(&cart.return_urls.error);
    };
    match outcome {
        Ok(()) => {
            c.state = CartState::Paid;
            see_other(&cart.return_urls.ok)
        }
        Err(reason) => {
            tracing::warn!(cart = %id, %reason, "Checkout simulator: payment failed");
            c.state = CartState::Failed { reason };
            see_other(&cart.return_urls.error)
        }
    }
}

/// As the node: verify every notice, activate every notice (`paymentNote` = `idCart`), then
/// deliver every receipt. Payments are recorded as their receipts are acknowledged.
async fn pay_cart(shared: &Shared, id: &str, cart: &Cart) -> Result<(), String> {
    let cfg = &shared.config;
    let node_for = |fiscal_code: &str| {
        NodeSimulator::new(
            cfg.pa_for_node_url.clone(),
            RequestIds {
                id_pa: fiscal_code.to_owned(),
                id_broker_pa: cfg.id_broker_pa.clone(),
                id_station: cfg.id_station.clone(),
            },
        )
        .with_psp(cfg.psp.clone())
        .with_retry(cfg.retry)
    };
    let mut verified = Vec::with_capacity(cart.notices.len());
    for n in &cart.notices {
        let qr = QrCode {
            fiscal_code: n.fiscal_code.clone(),
            notice_number: n.notice_number,
        };
        let node = node_for(n.fiscal_code.as_str());
        let notice = node
            .verify(&qr)
            .await
            .map_err(|e| format!("paVerifyPaymentNotice {}: {e}", n.notice_number))?;
        verified.push((node, qr, notice));
    }
    let mut activated = Vec::with_capacity(verified.len());
    for (node, qr, notice) in verified {
        let data = node
            .activate_with_note(&qr, notice.payment_option.amount, cart.id_cart.as_deref())
            .await
            .map_err(|e| format!("paGetPaymentV2 {}: {e}", qr.notice_number))?;
        activated.push((node, qr, notice, data));
    }
    for (node, qr, notice, data) in activated {
        let mut receipt = node.receipt_for(&qr, &data);
        receipt.payment_note.clone_from(&cart.id_cart);
        let attempts = node
            .send_receipt(&receipt)
            .await
            .map_err(|e| format!("paSendRTV2 {}: {e}", qr.notice_number))?;
        if let Some(c) = shared.carts().get_mut(id) {
            c.payments.push(SimulatedPayment {
                notice,
                data,
                receipt,
                attempts,
            });
        }
    }
    Ok(())
}
