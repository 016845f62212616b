//! Several worker processes on one PostgreSQL bulk job, against one mock IO server run by the
//! test process: each row is sent exactly once; a worker killed with SIGKILL mid-job leaves
//! nothing lost and nothing doubled.
//!
//! The workers are this test binary run again (`--exact pg_workers::worker_process`) with
//! `APPIO_TEST_WORKER` set; without it that entry returns at once.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use appio::bulk::{BulkSender, Journal, PgJournal, RowState};
use appio::mock::{MockConfig, MockServer as IoMock};

use crate::bulk::{rows, template};
use crate::common::{cf, client};

const N: usize = 200;
const JOB: &str = "tari-2025-rate-1";
const LEASE: Duration = Duration::from_millis(1000);

/// Child entry point: runs one worker on the job named by the environment and prints its
/// report on one line.
#[tokio::test]
async fn worker_process() {
    let Ok(worker) = std::env::var("APPIO_TEST_WORKER") else {
        return;
    };
    let url = std::env::var("APPIO_TEST_PG").unwrap();
    let io = std::env::var("APPIO_TEST_IO").unwrap();
    let check_profile = std::env::var("APPIO_TEST_CHECK_PROFILE").is_ok();
    let journal = Arc::new(PgJournal::connect(&url, JOB).await.unwrap());
    let report = BulkSender::new(client(&io), journal, template())
        .worker_id(worker)
        .lease(LEASE)
        .concurrency(8)
        .check_profile(check_profile)
        .run(rows(N))
        .await
        .unwrap();
    let line = serde_json::json!({
        "total": report.total,
        "sent": report.sent,
        "already_sent": report.already_sent,
        "ambiguous": report.ambiguous,
        "failed": report.failed.values().sum::<usize>(),
        "skipped": report.skipped.values().sum::<usize>(),
        "not_processed": report.not_processed,
    });
    println!("WORKER-REPORT {line}");
}

fn spawn_worker(name: &str, url: &str, io: &str, check_profile: bool) -> Child {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "pg_workers::worker_process", "--nocapture"])
        .env("APPIO_TEST_WORKER", name)
        .env("APPIO_TEST_PG", url)
        .env("APPIO_TEST_IO", io)
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if check_profile {
        cmd.env("APPIO_TEST_CHECK_PROFILE", "1");
    }
    cmd.spawn().unwrap()
}

/// Waits for a worker without blocking the runtime (the mock serves on it), and reads its
/// report.
async fn report_of(child: Child) -> serde_json::Value {
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "worker failed: {:?}", out.status);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("WORKER-REPORT "))
        .unwrap_or_else(|| panic!("no report in {stdout}"));
    serde_json::from_str(line).unwrap()
}

fn deliveries(mock: &IoMock) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in mock.messages() {
        out.entry(m.message.fiscal_code().to_string())
            .or_default()
            .push(m.id.as_str().to_owned());
    }
    out
}

fn usize_of(v: &serde_json::Value, k: &str) -> usize {
    usize::try_from(v[k].as_u64().unwrap()).unwrap()
}

async fn job_db() -> Option<(String, pa_postgres::Database)> {
    let url = pa_postgres::testing::fresh_database().await.unwrap()?;
    let db = pa_postgres::Database::connect(&url).await.unwrap();
    db.migrate(&appio::PG_MIGRATIONS).await.unwrap();
    Some((url, db))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_worker_processes_on_one_job_send_each_row_exactly_once() {
    let Some((url, db)) = job_db().await else {
        return;
    };
    let mock = IoMock::start(MockConfig {
        latency: Duration::from_millis(15),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let started = Instant::now();
    let a = spawn_worker("worker-a", &url, &mock.base_url(), true);
    let b = spawn_worker("worker-b", &url, &mock.base_url(), true);
    let (ra, rb) = (report_of(a).await, report_of(b).await);
    let elapsed = started.elapsed();

    let delivered = deliveries(&mock);
    assert_eq!(delivered.len(), N);
    for i in 0..N {
        let got = &delivered[cf(i).as_str()];
        assert_eq!(got.len(), 1, "row {i} sent {} times", got.len());
    }
    // The workers split the rows, and each accounts for all of them.
    let (sa, sb) = (usize_of(&ra, "sent"), usize_of(&rb, "sent"));
    assert_eq!(sa + sb, N, "{ra} {rb}");
    assert!(sa > 0 && sb > 0, "both workers sent: {ra} {rb}");
    for r in [&ra, &rb] {
        assert_eq!(usize_of(r, "total"), N);
        assert_eq!(usize_of(r, "sent") + usize_of(r, "already_sent"), N, "{r}");
        assert_eq!(r["ambiguous"], serde_json::json!([]));
        assert_eq!(usize_of(r, "not_processed"), 0);
    }
    // The journal holds each row as sent, with the id the server gave.
    let entries = PgJournal::new(db, JOB).load().await.unwrap();
    assert_eq!(entries.len(), N);
    for i in 0..N {
        let e = &entries[&format!("r{i}")];
        match &e.state {
            RowState::Sent { message_id, .. } => {
                assert_eq!(
                    delivered[cf(i).as_str()],
                    vec![message_id.as_str().to_owned()]
                );
            }
            other => panic!("r{i}: {other:?}"),
        }
        assert_eq!(e.attempts, 1);
    }
    eprintln!("two workers, {N} rows: worker-a sent {sa}, worker-b sent {sb}, {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_is_finished_by_the_other_without_loss_or_duplicates() {
    let Some((url, db)) = job_db().await else {
        return;
    };
    // A slow server (100 ms an answer) makes the job last over a second, long against the
    // scheduling delays of a loaded machine.
    let mock = IoMock::start(MockConfig {
        latency: Duration::from_millis(100),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    // worker-b starts once worker-a has sent a few rows: on a loaded machine a process can
    // take longer to start than the other takes to send the whole job, and then there is no
    // worker-a left to kill.
    let mut a = spawn_worker("worker-a", &url, &mock.base_url(), false);
    let deadline = Instant::now() + Duration::from_secs(60);
    while mock.messages().len() < 8 {
        assert!(Instant::now() < deadline, "worker-a sent nothing");
        if let Some(status) = a.try_wait().unwrap() {
            panic!("worker-a ended before sending: {status}");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let b = spawn_worker("worker-b", &url, &mock.base_url(), false);
    // SIGKILL worker-a once about a third of the messages arrived, while it has requests in
    // flight (rows it marked sending). To make "in flight" certain rather than a race with the
    // mock's answers, worker-a is frozen with SIGSTOP first; a statement it sent just before
    // stopping still runs on the server, so the rows are read after a pause (its leases last
    // at least two thirds of a second more, so worker-b has not touched them yet). Only when
    // rows are sending is it killed; otherwise it resumes and the test tries again.
    let client = db.client().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let held = loop {
        assert!(Instant::now() < deadline, "no progress");
        if let Some(status) = a.try_wait().unwrap() {
            panic!(
                "worker-a ended before the kill ({status}), {} of {N} delivered",
                mock.messages().len()
            );
        }
        if mock.messages().len() >= N / 3 {
            signal(&a, "STOP");
            tokio::time::sleep(Duration::from_millis(150)).await;
            let held = client
                .query(
                    "SELECT key, state FROM appio_bulk_row WHERE job = $1 AND worker = 'worker-a'",
                    &[&JOB],
                )
                .await
                .unwrap();
            let sending = held
                .iter()
                .filter(|r| r.get::<_, String>(1) == "sending")
                .count();
            if sending >= 1 {
                a.kill().unwrap();
                a.wait().unwrap();
                break held;
            }
            signal(&a, "CONT");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let mut in_flight = BTreeSet::new();
    let mut claimed = BTreeSet::new();
    for r in &held {
        let (key, state): (String, String) = (r.get(0), r.get(1));
        match state.as_str() {
            "sending" => in_flight.insert(key),
            "claimed" => claimed.insert(key),
            other => panic!("worker-a held {key} in state {other}"),
        };
    }
    assert!(
        !in_flight.is_empty(),
        "worker-a was killed between requests"
    );
    let delivered_at_kill = mock.messages().len();

    let rb = report_of(b).await;
    let delivered = deliveries(&mock);
    let entries = PgJournal::new(db, JOB).load().await.unwrap();
    assert_eq!(entries.len(), N, "every row is in the journal");
    // Exactly the rows worker-a was sending are ambiguous (reported, not re-sent); every other
    // row is sent exactly once, with the id the server gave.
    let ambiguous: BTreeSet<String> = rb["ambiguous"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ambiguous, in_flight, "{rb}");
    let mut in_flight_delivered = 0;
    for i in 0..N {
        let key = format!("r{i}");
        let got = delivered.get(cf(i).as_str()).cloned().unwrap_or_default();
        match &entries[&key].state {
            RowState::Sent { message_id, .. } => {
                assert!(!in_flight.contains(&key));
                assert_eq!(got, vec![message_id.as_str().to_owned()], "{key}");
            }
            RowState::Ambiguous { .. } => {
                assert!(in_flight.contains(&key), "{key}");
                assert!(got.len() <= 1, "{key} delivered {} times", got.len());
                in_flight_delivered += got.len();
            }
            other => panic!("{key}: {other:?}"),
        }
    }
    // The rows worker-a had only claimed were taken over and sent.
    for key in &claimed {
        assert!(matches!(entries[key].state, RowState::Sent { .. }), "{key}");
    }
    assert_eq!(usize_of(&rb, "total"), N);
    assert_eq!(
        usize_of(&rb, "sent") + usize_of(&rb, "already_sent") + ambiguous.len(),
        N,
        "{rb}"
    );
    assert_eq!(usize_of(&rb, "failed"), 0);
    assert_eq!(usize_of(&rb, "not_processed"), 0);
    let total: usize = delivered.values().map(Vec::len).sum();
    assert_eq!(total, N - in_flight.len() + in_flight_delivered);
    eprintln!(
        "kill test: {delivered_at_kill} delivered once the kill settled, worker-a had {} sending and {} \
         claimed; worker-b sent {}, already sent {}, ambiguous {} (of which {} reached the server)",
        in_flight.len(),
        claimed.len(),
        rb["sent"],
        rb["already_sent"],
        ambiguous.len(),
        in_flight_delivered
    );

    // A restart changes nothing: no message is sent again.
    let journal = Arc::new(PgJournal::connect(&url, JOB).await.unwrap());
    let again = BulkSender::new(client_for(&mock), journal, template())
        .check_profile(false)
        .run(rows(N))
        .await
        .unwrap();
    assert_eq!(again.sent, 0);
    assert_eq!(again.ambiguous.len(), in_flight.len());
    assert_eq!(mock.messages().len(), total);
}

/// Sends a signal by name to a child process (`kill -STOP`, `kill -CONT`).
fn signal(child: &Child, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name} failed");
}

fn client_for(mock: &IoMock) -> appio::IoClient {
    client(&mock.base_url())
}
