//! The database going away under a running paForNode endpoint: the connection to PostgreSQL
//! runs through a TCP proxy that the test cuts. While it is cut, `paSendRTV2` is answered with
//! `PAA_SYSTEM_ERROR` (the node retries) and nothing is stored; once it is back the pool
//! reconnects by itself and the same receipt is stored and acknowledged.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use pagopa::node::*;
use tokio::net::{TcpListener, TcpStream};

use crate::{EC, receipt};

struct Host;

#[async_trait]
impl PaForNodeHost for Host {
    async fn verify_payment_notice(
        &self,
        _: &VerifyPaymentNoticeRequest,
    ) -> Result<NoticeDescription, Fault> {
        Err(Fault::new(FaultCode::PagamentoSconosciuto))
    }
    async fn get_payment(&self, _: Operation, _: &GetPaymentRequest) -> Result<PaymentData, Fault> {
        Err(Fault::new(FaultCode::PagamentoSconosciuto))
    }
}

/// A TCP proxy to `upstream` that can be cut (every open connection dropped, new ones
/// refused) and restored.
struct Proxy {
    addr: std::net::SocketAddr,
    up: Arc<AtomicBool>,
    conns: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicBool::new(true));
        let conns = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (up2, conns2) = (Arc::clone(&up), Arc::clone(&conns));
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !up2.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                conns2.lock().unwrap().push(tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                }));
            }
        });
        Proxy { addr, up, conns }
    }

    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

fn send_rt(r: &Receipt) -> String {
    write_request(&NodeRequest::SendRtV2(SendReceiptRequest {
        ids: RequestIds {
            id_pa: EC.into(),
            id_broker_pa: "15376371009".into(),
            id_station: "15376371009_01".into(),
        },
        receipt: r.clone(),
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_database_gets_system_error_and_nothing_is_acknowledged_until_it_is_back() {
    let Some(url) = crate::pg_url().await else {
        return;
    };
    // postgres://user@host:port/db → the same through the proxy.
    let (head, rest) = url.split_once('@').unwrap();
    let (hostport, tail) = rest.split_once('/').unwrap();
    let proxy = Proxy::start(hostport.to_owned()).await;
    let via = format!("{head}@{}/{tail}", proxy.addr);
    let db = pa_postgres::Database::connect_with(
        &via,
        pa_postgres::Options {
            max_connections: 2,
            wait_timeout: Duration::from_secs(2),
            connect_timeout: Duration::from_secs(2),
            ..pa_postgres::Options::default()
        },
    )
    .await
    .unwrap();
    let service = PaForNodeService::new(
        StationConfig::new(EC, "15376371009", "15376371009_01"),
        Host,
        PgReceiptStore::open(db).await.unwrap(),
    );
    let direct = PgReceiptStore::connect(&url).await.unwrap();

    // Working: stored and acknowledged.
    let first = receipt(EC, 1, "rt-before", Some(crate::day(3)));
    let ok = service
        .handle(Some("paSendRTV2"), send_rt(&first).as_bytes())
        .await;
    assert!(ok.fault.is_none(), "{:?}", ok.fault);

    // Cut: the node is told to retry, and nothing was stored.
    proxy.cut();
    let lost = receipt(EC, 2, "rt-during", Some(crate::day(3)));
    let answer = service
        .handle(Some("paSendRTV2"), send_rt(&lost).as_bytes())
        .await;
    assert_eq!(
        answer.fault,
        Some(FaultCode::SystemError),
        "{}",
        answer.body
    );
    assert!(answer.body.contains("PAA_SYSTEM_ERROR"), "{}", answer.body);
    assert_eq!(direct.count().await.unwrap(), 1);

    // Back: the pool reconnects by itself; the node's retry is stored and acknowledged.
    proxy.restore();
    let mut tries = 0;
    loop {
        tries += 1;
        let r = service
            .handle(Some("paSendRTV2"), send_rt(&lost).as_bytes())
            .await;
        if r.fault.is_none() {
            break;
        }
        assert!(tries < 5, "no reconnection: {:?}", r.fault);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(direct.count().await.unwrap(), 2);
}
