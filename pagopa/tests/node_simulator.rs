//! The node simulator against the axum paForNode server over HTTP on 127.0.0.1.
#![cfg(all(feature = "server", feature = "simulator", feature = "sqlite"))]
#![allow(clippy::unwrap_used)]

#[path = "node/common.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use common::*;
use pa_types::OrganizationFiscalCode;
use pagopa::node::*;
use pagopa::simulator::{NodeSimulator, ReceiptRetry, SimulatorError};

async fn serve<H, S>(service: Arc<PaForNodeService<H, S>>) -> String
where
    H: PaForNodeHost + 'static,
    S: ReceiptStore + 'static,
{
    let app = axum::Router::new().nest("/paForNode", router(service));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/paForNode")
}

fn fast() -> ReceiptRetry {
    ReceiptRetry {
        max_attempts: 5,
        backoff: Duration::from_millis(5),
    }
}

#[tokio::test]
async fn full_payment_over_http_with_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteReceiptStore::open(dir.path().join("r.db")).unwrap();
    let service = Arc::new(PaForNodeService::new(config(), TestHost::default(), store));
    let url = serve(Arc::clone(&service)).await;
    for sim in [
        NodeSimulator::new(&url, ids()).with_retry(fast()),
        NodeSimulator::new(&url, ids()).with_retry(fast()).v1(),
    ] {
        service.host().paid.lock().unwrap().clear();
        let paid = sim.pay(&qr(NOTICE_OK)).await.unwrap();
        assert_eq!(paid.attempts, 1);
        assert_eq!(paid.data.payment_amount.cents(), 12050);
        // The node redelivers the same receipt: acknowledged, not stored again.
        assert_eq!(sim.send_receipt(&paid.receipt).await.unwrap(), 1);
        assert_eq!(sim.send_receipt(&paid.receipt).await.unwrap(), 1);
        // Paid now.
        match sim.verify(&qr(NOTICE_OK)).await.unwrap_err() {
            SimulatorError::Fault(f) => assert_eq!(f.code, FaultCode::PagamentoDuplicato),
            e => panic!("{e:?}"),
        }
    }
    assert_eq!(service.store().count().await.unwrap(), 2);
    assert_eq!(service.host().stored.lock().unwrap().len(), 2);
}

struct FailOnce<S> {
    inner: S,
    left: AtomicUsize,
}

#[async_trait]
impl<S: ReceiptStore> ReceiptStore for FailOnce<S> {
    async fn put(&self, r: &Receipt) -> Result<PutOutcome, StoreError> {
        if self
            .left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(StoreError::Backend("injected failure".into()));
        }
        self.inner.put(r).await
    }
    async fn list(&self, f: &OrganizationFiscalCode) -> Result<Vec<Receipt>, StoreError> {
        self.inner.list(f).await
    }
    async fn count(&self) -> Result<u64, StoreError> {
        self.inner.count().await
    }
}

#[tokio::test]
async fn store_fails_once_node_retries_exactly_one_receipt() {
    let dir = tempfile::tempdir().unwrap();
    let store = FailOnce {
        inner: SqliteReceiptStore::open(dir.path().join("r.db")).unwrap(),
        left: AtomicUsize::new(1),
    };
    let service = Arc::new(PaForNodeService::new(config(), TestHost::default(), store));
    let url = serve(Arc::clone(&service)).await;
    let sim = NodeSimulator::new(&url, ids()).with_retry(fast());
    let paid = sim.pay(&qr(NOTICE_STAMP)).await.unwrap();
    assert_eq!(
        paid.attempts, 2,
        "first delivery got PAA_SYSTEM_ERROR, second stored"
    );
    assert_eq!(service.store().count().await.unwrap(), 1);
    assert_eq!(service.host().stored.lock().unwrap().len(), 1);
    let stored = service.store().list(&ec()).await.unwrap();
    assert_eq!(stored[0], paid.receipt);
}

#[tokio::test]
async fn store_down_the_node_gives_up_and_nothing_is_acknowledged() {
    let store = FailOnce {
        inner: MemoryReceiptStore::new(),
        left: AtomicUsize::new(usize::MAX),
    };
    let service = Arc::new(PaForNodeService::new(config(), TestHost::default(), store));
    let url = serve(Arc::clone(&service)).await;
    let sim = NodeSimulator::new(&url, ids()).with_retry(ReceiptRetry {
        max_attempts: 3,
        backoff: Duration::from_millis(1),
    });
    let e = sim.pay(&qr(NOTICE_OK)).await.unwrap_err();
    assert!(
        matches!(e, SimulatorError::GaveUp { attempts: 3, .. }),
        "{e}"
    );
    assert_eq!(service.store().count().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_identical_receipts_at_once_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteReceiptStore::open(dir.path().join("r.db")).unwrap();
    let service = Arc::new(PaForNodeService::new(config(), TestHost::default(), store));
    let url = serve(Arc::clone(&service)).await;
    let sim = NodeSimulator::new(&url, ids()).with_retry(fast());
    let data = sim
        .activate(&qr(NOTICE_OK), pa_types::Amount::from_cents(12050))
        .await
        .unwrap();
    for _ in 0..10 {
        let receipt = sim.receipt_for(&qr(NOTICE_OK), &data);
        let (a, b) = tokio::join!(sim.send_receipt(&receipt), sim.send_receipt(&receipt));
        assert_eq!(a.unwrap(), 1);
        assert_eq!(b.unwrap(), 1);
    }
    assert_eq!(service.store().count().await.unwrap(), 10);
    assert_eq!(service.host().stored.lock().unwrap().len(), 10);
}

#[tokio::test]
async fn raw_http_bad_requests() {
    let service = Arc::new(PaForNodeService::new(
        config(),
        TestHost::default(),
        MemoryReceiptStore::new(),
    ));
    let url = serve(service).await;
    let http = reqwest::Client::new();
    let r = http
        .post(&url)
        .header("SOAPAction", "\"paSendRTV2\"")
        .body("<soapenv:Envelope")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "text/xml; charset=utf-8"
    );
    let body = r.text().await.unwrap();
    assert!(body.contains("PAA_SINTASSI_EXTRAXSD"));
    assert_schema_valid(&body);
    let r = http.post(&url).body("<x/>").send().await.unwrap();
    assert_eq!(r.status(), 500);
    // An oversized body that tells no operation gets a SOAP Fault (not a plain-text 413).
    let big = vec![b'a'; 2 << 20];
    let r = http.post(&url).body(big).send().await.unwrap();
    assert_eq!(r.status(), 500);
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("<faultcode>soapenv:Client</faultcode>")
    );
    // With SOAPAction: the operation's own KO answer.
    let r = http
        .post(&url)
        .header("SOAPAction", "paSendRTV2")
        .body(vec![b' '; 2 << 20])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.contains("PAA_SINTASSI_EXTRAXSD"), "{body}");
    assert_schema_valid(&body);
}
