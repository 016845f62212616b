//! Several processes run the sender on one PostgreSQL outbox against the A2A simulator (mutual
//! TLS on 127.0.0.1): every flow is uploaded exactly once, also when one of them is SIGKILLed
//! in the middle of an upload.
//!
//! The children are this test binary re-executed on [`child_sender`] with the role in the
//! environment.

use std::collections::BTreeMap;
use std::io::BufRead as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use siopeplus::simulator::{SimOptions, Simulator, TestPki};
use siopeplus::*;

use crate::a2a::{A2A, config, signed_flow_xml};

const ROLE: &str = "SIOPEPLUS_OUTBOX_CHILD";
const FLOWS: usize = 20;

/// Prints a line when an upload is about to be sent (the parent kills on it).
struct Announce;

impl FailPoints for Announce {
    fn check(&self, step: Step) -> Result<(), OutboxError> {
        if step == Step::BeforeUpload {
            println!("CHILD uploading");
        }
        Ok(())
    }
}

/// The sender role: runs `Outbox::process` until the outbox has no open entry. Does nothing
/// unless started by the tests below.
#[test]
fn child_sender() {
    let Ok(dir) = std::env::var(ROLE) else {
        return;
    };
    let dir = Path::new(&dir);
    let url = std::env::var("CHILD_DB").unwrap();
    let base = std::env::var("CHILD_SIM").unwrap();
    let owner = std::env::var("CHILD_OWNER").unwrap();
    let lease: u64 = std::env::var("CHILD_LEASE_MS").unwrap().parse().unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let read = |n: &str| std::fs::read(dir.join(n)).unwrap();
        let identity = ClientIdentity::from_pem_parts(&read("cert.pem"), &read("key.pem")).unwrap();
        let mut cfg = A2aConfig::new(
            base.parse().unwrap(),
            A2A.parse().unwrap(),
            "UF1234",
            identity,
            trust_roots_from_pem(&read("ca.pem")).unwrap(),
        );
        cfg.retry = RetryPolicy {
            max_attempts: 3,
            delay: Duration::from_millis(10),
            backoff: 2,
            max_delay: Duration::from_millis(50),
        };
        cfg.timeout = Duration::from_secs(10);
        let store = Arc::new(PgOutbox::connect(&url).await.unwrap());
        let o = Outbox::new(store.clone(), A2aClient::new(cfg).unwrap(), Duration::ZERO)
            .with_owner(owner)
            .with_lease(Duration::from_millis(lease))
            .with_claim_batch(1)
            .with_fail_points(Arc::new(Announce));
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            o.process().await.unwrap();
            if store.open_entries().await.unwrap().is_empty() {
                break;
            }
            assert!(Instant::now() < deadline, "open entries left");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        println!("CHILD done");
    });
}

struct Setup {
    _dir: tempfile::TempDir,
    dir: std::path::PathBuf,
    url: String,
    sim: Simulator,
    store: Arc<PgOutbox>,
}

async fn setup(upload_delay: Duration) -> Option<Setup> {
    let url = pa_postgres::testing::fresh_database().await.unwrap()?;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let pki = TestPki::generate("Test CA").unwrap();
    let sim = Simulator::start(&pki, SimOptions::default()).await.unwrap();
    sim.set_upload_delay(upload_delay);
    let (c, k) = pki.issue_client(A2A, -1, 1000).unwrap();
    std::fs::write(dir.join("cert.pem"), c).unwrap();
    std::fs::write(dir.join("key.pem"), k).unwrap();
    std::fs::write(dir.join("ca.pem"), pki.ca_pem()).unwrap();
    let store = Arc::new(PgOutbox::connect(&url).await.unwrap());
    let o = Outbox::new(
        store.clone(),
        A2aClient::new(config(&sim, &pki, pki.client_identity(A2A, 1000).unwrap())).unwrap(),
        Duration::ZERO,
    );
    for i in 0..FLOWS {
        let id = format!("FL-MP-{i:02}");
        o.enqueue(&id, &signed_flow_xml(&id, 1)).await.unwrap();
    }
    Some(Setup {
        _dir: tmp,
        dir,
        url,
        sim,
        store,
    })
}

/// A child and the lines of its stdout.
struct Sender {
    child: Child,
    lines: mpsc::Receiver<String>,
}

fn spawn(s: &Setup, owner: &str, lease: Duration) -> Sender {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "outbox_pg::child_sender",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(ROLE, &s.dir)
        .env("CHILD_DB", &s.url)
        .env("CHILD_SIM", s.sim.base_url().as_str())
        .env("CHILD_OWNER", owner)
        .env("CHILD_LEASE_MS", lease.as_millis().to_string())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for l in std::io::BufReader::new(out).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    Sender { child, lines }
}

/// Waits for a child to exit; returns its exit status and the lines it printed.
async fn finish(mut s: Sender) -> (std::process::ExitStatus, Vec<String>) {
    tokio::task::spawn_blocking(move || {
        let status = s.child.wait().unwrap();
        (status, s.lines.iter().collect())
    })
    .await
    .unwrap()
}

fn uploads_per_flow(sim: &Simulator) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for f in sim.received() {
        *m.entry(f.identificativo_flusso).or_insert(0) += 1;
    }
    m
}

async fn assert_each_flow_once_and_completed(s: &Setup) {
    let per = uploads_per_flow(&s.sim);
    assert_eq!(per.len(), FLOWS, "{per:?}");
    assert!(
        per.values().all(|n| *n == 1),
        "a flow was uploaded twice: {per:?}"
    );
    assert!(s.sim.received().iter().all(|f| f.accepted));
    assert!(s.store.open_entries().await.unwrap().is_empty());
    for id in 1..=i64::try_from(FLOWS).unwrap() {
        assert_eq!(s.store.get(id).await.unwrap().state, OutboxState::Completed);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_processes_upload_each_flow_exactly_once() {
    let Some(s) = setup(Duration::from_millis(100)).await else {
        return;
    };
    let lease = Duration::from_secs(10);
    let senders: Vec<Sender> = (0..3).map(|i| spawn(&s, &format!("p{i}"), lease)).collect();
    let mut workers = 0;
    for c in senders {
        let (status, lines) = finish(c).await;
        assert!(status.success(), "{status}: {lines:?}");
        assert!(lines.iter().any(|l| l == "CHILD done"), "{lines:?}");
        if lines.iter().any(|l| l == "CHILD uploading") {
            workers += 1;
        }
    }
    assert_each_flow_once_and_completed(&s).await;
    assert!(
        workers >= 2,
        "the uploads did not spread over the processes ({workers})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sender_killed_mid_upload_is_taken_over_without_a_second_upload() {
    // Slow answers: the victim is killed after the simulator has the flow and before the
    // answer arrives, so its entry is left `Uploading` with a lease nobody renews.
    let Some(s) = setup(Duration::from_millis(400)).await else {
        return;
    };
    let lease = Duration::from_millis(1500);
    let mut victim = spawn(&s, "victim", lease);
    let line = victim.lines.recv_timeout(Duration::from_secs(20)).ok();
    // The first lines are the test harness's; wait for the upload announcement.
    let mut seen = line.into_iter().collect::<Vec<_>>();
    while !seen.iter().any(|l| l == "CHILD uploading") {
        seen.push(victim.lines.recv_timeout(Duration::from_secs(20)).unwrap());
    }
    let others: Vec<Sender> = (0..2).map(|i| spawn(&s, &format!("p{i}"), lease)).collect();
    let c = s.store.database().client().await.unwrap();
    let victims_upload = async || -> Option<String> {
        let rows = c
            .query(
                "SELECT identificativo_flusso FROM siopeplus_outbox WHERE lease_owner = 'victim' AND state = 'uploading'",
                &[],
            )
            .await
            .unwrap();
        rows.first().map(|r| r.get(0))
    };
    // Kill once the simulator has just received the flow the victim is uploading (its answer
    // is 400 ms away).
    let deadline = Instant::now() + Duration::from_secs(20);
    let left = loop {
        assert!(Instant::now() < deadline, "the victim never uploaded");
        if let Some(x) = victims_upload().await {
            let now = chrono::Local::now().naive_local();
            let fresh = s.sim.received().iter().any(|f| {
                f.identificativo_flusso == x
                    && now - f.data_upload < chrono::Duration::milliseconds(150)
            });
            if fresh {
                victim.child.kill().unwrap();
                break x;
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let status = victim.child.wait().unwrap();
    assert!(!status.success());
    assert_eq!(
        victims_upload().await.as_deref(),
        Some(left.as_str()),
        "the victim was not killed mid-upload"
    );
    for c in others {
        let (status, lines) = finish(c).await;
        assert!(status.success(), "{status}: {lines:?}");
    }
    assert_each_flow_once_and_completed(&s).await;
    // The entry taken over was resolved from the ACK list, not uploaded again.
    let mut taken_over = None;
    for id in 1..=i64::try_from(FLOWS).unwrap() {
        let e = s.store.get(id).await.unwrap();
        if e.identificativo_flusso == left {
            taken_over = Some(e);
        }
    }
    let e = taken_over.unwrap();
    assert_eq!((e.attempts, e.state), (1, OutboxState::Completed), "{e:?}");
}
