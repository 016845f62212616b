//! The Checkout simulator end to end, without a browser: a reqwest client posts a cart with
//! `CheckoutClient`, opens the payment page, presses a button; the simulator calls a real
//! paForNode router of this crate (axum, SQLite receipts) over HTTP.
#![cfg(all(feature = "server", feature = "simulator", feature = "sqlite"))]
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "node/common.rs"]
mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use pa_types::Amount;
use pagopa::checkout::{Cart, CartNotice, CheckoutClient, CheckoutError, ReturnUrls};
use pagopa::gpd::SubscriptionKey;
use pagopa::node::*;
use pagopa::simulator::{CartState, CheckoutConfig, CheckoutSimulator, ReceiptRetry};
use pagopa::{NoticeNumber, SegregationCode};

/// The test host, recording every call it gets: operation and `paymentNote`.
#[derive(Default)]
struct Recording {
    inner: TestHost,
    calls: Mutex<Vec<(String, Option<String>)>>,
}

#[async_trait]
impl PaForNodeHost for Recording {
    async fn verify_payment_notice(
        &self,
        r: &VerifyPaymentNoticeRequest,
    ) -> Result<NoticeDescription, Fault> {
        self.calls
            .lock()
            .unwrap()
            .push(("paVerifyPaymentNotice".into(), None));
        self.inner.verify_payment_notice(r).await
    }

    async fn get_payment(
        &self,
        op: Operation,
        r: &GetPaymentRequest,
    ) -> Result<PaymentData, Fault> {
        self.calls
            .lock()
            .unwrap()
            .push((op.soap_action().to_owned(), r.payment_note.clone()));
        self.inner.get_payment(op, r).await
    }

    async fn receipt_stored(&self, receipt: &Receipt) {
        self.calls.lock().unwrap().push((
            format!("receipt_stored {:?}", receipt.version),
            receipt.payment_note.clone(),
        ));
        self.inner.receipt_stored(receipt).await;
    }
}

type Service = PaForNodeService<Recording, SqliteReceiptStore>;

struct World {
    service: Arc<Service>,
    sim: CheckoutSimulator,
    browser: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn world(key: Option<&str>) -> World {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteReceiptStore::open(dir.path().join("r.db")).unwrap();
    let service = Arc::new(PaForNodeService::new(config(), Recording::default(), store));
    let app = axum::Router::new().nest("/paForNode", router(Arc::clone(&service)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut cfg = CheckoutConfig::new(format!("http://{addr}/paForNode"), BROKER, STATION)
        .with_retry(ReceiptRetry {
            max_attempts: 3,
            backoff: Duration::from_millis(5),
        });
    if let Some(k) = key {
        cfg = cfg.with_subscription_key(SubscriptionKey::new(k));
    }
    let sim = CheckoutSimulator::start(cfg).await.unwrap();
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    World {
        service,
        sim,
        browser,
        _dir: dir,
    }
}

const OK_URL: &str = "https://sportello.example.it/pagopa/esito?cart=cart-42";
const CANCEL_URL: &str = "https://sportello.example.it/pagopa/annullato";
const ERROR_URL: &str = "https://sportello.example.it/pagopa/errore";

fn cart_notice(n: &str, cents: u64) -> CartNotice {
    CartNotice {
        notice_number: NoticeNumber::parse(n).unwrap(),
        fiscal_code: ec(),
        amount: Amount::from_cents(cents),
        company_name: "Comune di Prova".into(),
        description: "TARI 2026 <rata unica> & TEFA".into(),
    }
}

fn cart(notices: Vec<CartNotice>) -> Cart {
    Cart::new(notices, ReturnUrls::new(OK_URL, CANCEL_URL, ERROR_URL)).with_id_cart("cart-42")
}

/// What a browser does with the page: finds the form around the button `button_id` and submits
/// it. Returns the status and the `Location`.
async fn press(w: &World, page_url: &str, button_id: &str) -> (u16, String) {
    let html = w.browser.get(page_url).send().await.unwrap();
    assert_eq!(html.status(), 200);
    let html = html.text().await.unwrap();
    let button = html
        .find(&format!("id=\"{button_id}\""))
        .unwrap_or_else(|| panic!("no button {button_id} in {html}"));
    let form = html[..button].rfind("<form").unwrap();
    let action_start = form + html[form..].find("action=\"").unwrap() + 8;
    let action_end = action_start + html[action_start..].find('"').unwrap();
    let action = &html[action_start..action_end];
    let resp = w
        .browser
        .post(format!("{}{action}", w.sim.base_url()))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let loc = resp
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, loc)
}

fn calls(w: &World) -> Vec<(String, Option<String>)> {
    w.service.host().calls.lock().unwrap().clone()
}

#[tokio::test]
async fn pay_calls_the_creditor_like_the_node_and_returns_to_the_ok_url() {
    let w = world(Some("sim-key")).await;
    let client = CheckoutClient::new(w.sim.base_url(), SubscriptionKey::new("sim-key"));
    let c = cart(vec![
        cart_notice(NOTICE_OK, 12050),
        cart_notice(NOTICE_STAMP, 2600),
    ]);
    let page = client.post_cart(&c).await.unwrap();
    assert!(page.starts_with(w.sim.base_url()), "{page}");

    // The page shows the cart, escaped.
    let html = w
        .browser
        .get(&page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("3010 0000 0000 0001 44"), "{html}");
    assert!(
        html.contains("TARI 2026 &lt;rata unica&gt; &amp; TEFA"),
        "{html}"
    );
    assert!(html.contains("146,50 €"), "{html}");
    assert!(
        calls(&w).is_empty(),
        "nothing is called before the citizen pays"
    );

    let (status, loc) = press(&w, &page, "pay").await;
    assert_eq!((status, loc.as_str()), (303, OK_URL));

    // The creditor got, per notice, verify then paGetPaymentV2 with paymentNote = idCart, then
    // the V2 receipts, stored.
    let note = Some("cart-42".to_owned());
    assert_eq!(
        calls(&w),
        vec![
            ("paVerifyPaymentNotice".into(), None),
            ("paVerifyPaymentNotice".into(), None),
            ("paGetPaymentV2".into(), note.clone()),
            ("paGetPaymentV2".into(), note.clone()),
            ("receipt_stored V2".into(), note.clone()),
            ("receipt_stored V2".into(), note.clone()),
        ]
    );
    assert_eq!(w.service.store().count().await.unwrap(), 2);
    let sc = w.sim.cart_by_id_cart("cart-42").unwrap();
    assert_eq!(sc.state, CartState::Paid);
    assert_eq!(sc.payments.len(), 2);
    assert_eq!(sc.payments[0].receipt.notice_number.as_str(), NOTICE_OK);
    assert_eq!(sc.payments[0].receipt.outcome, Outcome::Ok);
    assert_eq!(w.sim.payments().len(), 2);
    // The stored receipt is the one the simulator delivered.
    let listed = w.service.store().list(&ec()).await.unwrap();
    let stored = listed
        .iter()
        .find(|r| r.receipt_id == sc.payments[1].receipt.receipt_id)
        .unwrap();
    assert_eq!(stored.payment_note.as_deref(), Some("cart-42"));
    assert_eq!(stored.notice_number.as_str(), NOTICE_STAMP);

    // A second press on a closed cart pays nothing more.
    let again = w.browser.post(format!("{page}/pay")).send().await.unwrap();
    assert_eq!(again.status(), 409);
    assert_eq!(w.service.store().count().await.unwrap(), 2);
}

#[tokio::test]
async fn cancel_and_error_pay_nothing() {
    let w = world(None).await;
    let client = CheckoutClient::without_key(w.sim.base_url());
    for (button, url) in [("cancel", CANCEL_URL), ("error", ERROR_URL)] {
        let page = client
            .post_cart(&cart(vec![cart_notice(NOTICE_OK, 12050)]))
            .await
            .unwrap();
        let (status, loc) = press(&w, &page, button).await;
        assert_eq!((status, loc.as_str()), (303, url));
        let id = page.rsplit('/').next().unwrap();
        let sc = w.sim.cart(id).unwrap();
        assert!(sc.payments.is_empty());
        match (button, sc.state) {
            ("cancel", CartState::Cancelled) | ("error", CartState::Failed { .. }) => {}
            (b, s) => panic!("{b}: {s:?}"),
        }
    }
    assert!(calls(&w).is_empty(), "{:?}", calls(&w));
    assert_eq!(w.service.store().count().await.unwrap(), 0);
    assert_eq!(w.sim.carts().len(), 2);
    assert!(w.sim.payments().is_empty());
}

#[tokio::test]
async fn a_notice_the_creditor_refuses_ends_on_the_error_url_with_nothing_paid() {
    let w = world(None).await;
    let client = CheckoutClient::without_key(w.sim.base_url());
    let unknown = NoticeNumber::new_aux3(SegregationCode::new(1).unwrap(), 999)
        .unwrap()
        .to_string();
    let page = client
        .post_cart(&cart(vec![
            cart_notice(NOTICE_OK, 12050),
            cart_notice(&unknown, 100),
        ]))
        .await
        .unwrap();
    let (status, loc) = press(&w, &page, "pay").await;
    assert_eq!((status, loc.as_str()), (303, ERROR_URL));
    let sc = w.sim.cart_by_id_cart("cart-42").unwrap();
    match &sc.state {
        CartState::Failed { reason } => {
            assert!(reason.contains("paVerifyPaymentNotice"), "{reason}");
            assert!(reason.contains("PAA_PAGAMENTO_SCONOSCIUTO"), "{reason}");
        }
        s => panic!("{s:?}"),
    }
    // Nothing was activated: verification failed before any paGetPaymentV2.
    assert!(
        calls(&w)
            .iter()
            .all(|(op, _)| op == "paVerifyPaymentNotice")
    );
    assert_eq!(w.service.store().count().await.unwrap(), 0);
}

#[tokio::test]
async fn the_simulator_checks_carts_and_keys_like_checkout() {
    let w = world(Some("right")).await;
    // Wrong key.
    let wrong = CheckoutClient::new(w.sim.base_url(), SubscriptionKey::new("wrong"));
    assert!(matches!(
        wrong
            .post_cart(&cart(vec![cart_notice(NOTICE_OK, 1)]))
            .await,
        Err(CheckoutError::Unauthorized)
    ));
    // The key as the query parameter the API also accepts.
    let body = cart(vec![cart_notice(NOTICE_OK, 1)]).to_json();
    let r = w
        .browser
        .post(format!("{}/carts?subscription-key=right", w.sim.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    // A body the client would not send: six notices, a relative URL, a bad notice number.
    let mut bad = Vec::new();
    let mut b = body.clone();
    b["paymentNotices"] = serde_json::Value::Array(vec![b["paymentNotices"][0].clone(); 6]);
    bad.push(b);
    let mut b = body.clone();
    b["returnUrls"]["returnOkUrl"] = "www.comune.it/ok".into();
    bad.push(b);
    let mut b = body.clone();
    b["paymentNotices"][0]["noticeNumber"] = "301000000000000145".into();
    bad.push(b);
    bad.push(serde_json::json!({"paymentNotices": "x"}));
    for b in bad {
        let r = w
            .browser
            .post(format!("{}/carts", w.sim.base_url()))
            .header("Ocp-Apim-Subscription-Key", "right")
            .json(&b)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{b}");
        let p: serde_json::Value = r.json().await.unwrap();
        assert_eq!(p["status"], 400);
        assert!(p["detail"].as_str().unwrap().len() > 3);
    }
    assert_eq!(w.sim.carts().len(), 1);
    // Unknown cart pages.
    let r = w
        .browser
        .get(format!("{}/pay/nope", w.sim.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
