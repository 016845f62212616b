//! Two sportello processes behind one public URL, sharing one PostgreSQL database and one
//! Redis: a login started on one completes on the other; notices and protocol numbers minted
//! concurrently on both never collide and stay gapless; a notice minted on one is paid through
//! the node calling the other; the same receipt delivered to both at once is stored once; one
//! instance killed with SIGKILL leaves the other serving the same sessions and data.
//!
//! Needs `PA_TEST_POSTGRES_URL` and `REDIS_URL` (`.ci/run` starts both); with `CI` set a missing
//! server fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{http, page, spid_answer, spid_login_via};
use pagopa::node::{QrCode, RequestIds};
use pagopa::simulator::NodeSimulator;

const MARIO: &str = "RSSMRA85T10A562S";
const ROCCAVERDE_CF: &str = "00000000018";

fn redis_url() -> Option<String> {
    match std::env::var("REDIS_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "REDIS_URL is not set, and the two-instance test is required with CI set"
            );
            eprintln!("skipping: REDIS_URL is not set");
            None
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn config_file(dir: &std::path::Path) -> std::path::PathBuf {
    let config = serde_json::json!({
        "partner": {
            "name": "Partner Tecnologico S.p.A.", "vat_number": "01234567897",
            "email": "spid@partner.example", "broker": "01234567897", "station": "01234567897_01"
        },
        "enti": [
            {"id": "roccaverde", "name": "Comune di Roccaverde", "ipa": "c_r001",
             "fiscal_code": ROCCAVERDE_CF, "segregation": "01",
             "iban": "IT25O0306909606100000012345", "fee_cents": 1600, "aoo": "AOO_RV",
             "path_prefix": "/roccaverde", "operators": [MARIO]},
            {"id": "valfonda", "name": "Comune di Valfonda", "ipa": "c_v002",
             "fiscal_code": "00000000026", "segregation": "02",
             "iban": "IT78T0760101600000000654321", "fee_cents": 3000, "aoo": "AOO_VF",
             "path_prefix": "/valfonda"}
        ]
    });
    let path = dir.join("partner.json");
    std::fs::write(&path, config.to_string()).unwrap();
    path
}

struct Instance {
    child: Child,
    url: String,
    /// The name it uses in leases.
    id: String,
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `sportello` on `port` and waits for its "listening" line.
fn instance(port: u16, public: &str, config: &std::path::Path, db: &str, redis: &str) -> Instance {
    instance_with(port, public, config, db, redis, &[])
}

fn instance_with(
    port: u16,
    public: &str,
    config: &std::path::Path,
    db: &str,
    redis: &str,
    extra: &[&str],
) -> Instance {
    let data = tempfile::tempdir().unwrap().keep();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sportello"))
        .args([
            "--port",
            &port.to_string(),
            "--cns-port",
            "0",
            "--public-url",
            public,
        ])
        .arg("--data-dir")
        .arg(&data)
        .arg("--config")
        .arg(config)
        .args(["--database-url", db, "--redis-url", redis])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let id = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(120))
            .expect("the instance did not start");
        if let Some(id) = line.strip_prefix("Istanza: ") {
            break id.trim().to_owned();
        }
    };
    Instance {
        child,
        url: format!("http://127.0.0.1:{port}"),
        id,
    }
}

/// The notice number of request `id` of Roccaverde, read from the shared database.
async fn notice_of(c: &pa_postgres::Client, id: &str) -> String {
    c.query_one(
        "SELECT notice_number FROM sportello_request WHERE ente = 'roccaverde' AND id = $1",
        &[&id],
    )
    .await
    .unwrap()
    .get(0)
}

async fn file_request(base: &str, session: &str, subject: &str) -> String {
    let r = http()
        .post(format!("{base}/richieste"))
        .header("cookie", session)
        .form(&[("subject", subject), ("body", "Testo")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    r.headers()["location"].to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_logins_numbers_and_receipts() {
    let Some(db_url) = pa_postgres::testing::fresh_database().await.unwrap() else {
        return;
    };
    let Some(redis) = redis_url() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = config_file(dir.path());
    let (pa, pb) = (free_port(), free_port());
    // A's address stands for the load balancer's public URL: both are the same SP.
    let public = format!("http://127.0.0.1:{pa}");
    let a = instance(pa, &public, &config, &db_url, &redis);
    let b = instance(pb, &public, &config, &db_url, &redis);
    let (ra, rb) = (
        format!("{}/roccaverde", a.url),
        format!("{}/roccaverde", b.url),
    );

    // A login started on A (AuthnRequest recorded in Redis) completes at B's ACS; the session
    // is valid on both.
    let session = spid_login_via(&ra, &rb, MARIO, "Mario", "Rossi").await;
    // The same answer posted to B and then replayed to A: A refuses it (one shared record of
    // pending requests and assertions).
    let answer = spid_answer(&ra, MARIO, "Mario", "Rossi").await;
    assert_eq!(answer.post_to(&rb).await.status(), 303);
    assert_eq!(answer.post_to(&ra).await.status(), 403);
    for base in [&ra, &rb] {
        let area = page(&format!("{base}/area"), &session).await;
        assert!(area.contains(MARIO), "{base}: {area}");
    }

    // 16 requests filed concurrently, half on each: distinct notices, protocol numbers 1..=16.
    const N: usize = 16;
    let mut tasks = Vec::new();
    for i in 0..N {
        let base = if i % 2 == 0 { ra.clone() } else { rb.clone() };
        let session = session.clone();
        tasks.push(tokio::spawn(async move {
            file_request(&base, &session, &format!("Istanza {i}")).await
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let pg = pa_postgres::Database::connect(&db_url).await.unwrap();
    let c = pg.client().await.unwrap();
    let rows = c
        .query(
            "SELECT notice_number, protocol_number FROM sportello_request WHERE ente = 'roccaverde'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(rows.len(), N);
    let notices: BTreeSet<String> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(notices.len(), N, "a notice number was minted twice");
    let numbers: BTreeSet<i64> = rows.iter().map(|r| r.get(1)).collect();
    assert_eq!(
        numbers,
        (1..=N as i64).collect(),
        "protocol numbers not gapless"
    );

    // A notice minted on A, paid through the node calling B: B answers from the shared rows,
    // and A shows the request paid.
    let on_a = file_request(&ra, &session, "Pagata tramite B").await;
    let root_a = a.url.clone();
    let shown = page(&format!("{root_a}{on_a}"), &session).await;
    let id = on_a.rsplit('/').next().unwrap();
    let notice = notice_of(&c, id).await;
    assert!(shown.contains(&notice[..4]), "{shown}");
    let ids = RequestIds {
        id_pa: ROCCAVERDE_CF.into(),
        id_broker_pa: "01234567897".into(),
        id_station: "01234567897_01".into(),
    };
    let qr = QrCode {
        fiscal_code: ROCCAVERDE_CF.parse().unwrap(),
        notice_number: notice.parse().unwrap(),
    };
    let node_b = NodeSimulator::new(format!("{}/pagopa/paForNode", b.url), ids.clone());
    node_b.pay(&qr).await.unwrap();
    let shown = page(&format!("{root_a}{on_a}"), &session).await;
    assert!(shown.contains("id=\"ricevuta\""), "{shown}");

    // The same receipt delivered to A and to B at once is stored once.
    let twice = file_request(&ra, &session, "Ricevuta doppia").await;
    let id = twice.rsplit('/').next().unwrap();
    let notice = notice_of(&c, id).await;
    let qr = QrCode {
        fiscal_code: ROCCAVERDE_CF.parse().unwrap(),
        notice_number: notice.parse().unwrap(),
    };
    let node_a = NodeSimulator::new(format!("{}/pagopa/paForNode", a.url), ids);
    let notice_desc = node_a.verify(&qr).await.unwrap();
    let data = node_a
        .activate(&qr, notice_desc.payment_option.amount)
        .await
        .unwrap();
    let receipt = node_a.receipt_for(&qr, &data);
    let (ra_, rb_) = tokio::join!(node_a.send_receipt(&receipt), node_b.send_receipt(&receipt));
    ra_.unwrap();
    rb_.unwrap();
    let stored: i64 = c
        .query_one(
            "SELECT count(*) FROM pagopa_receipts WHERE receipt_id = $1",
            &[&receipt.receipt_id],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 1);

    // B killed with SIGKILL: A goes on with the same session and data.
    drop(b);
    let area = page(&format!("{ra}/area"), &session).await;
    assert!(area.contains("Ricevuta doppia"), "{area}");
    drop(a);
}

#[tokio::test]
async fn an_unreachable_database_is_a_start_error_naming_the_server_not_the_password() {
    let data = tempfile::tempdir().unwrap();
    let port = free_port();
    let err = examples::sportello::start(examples::sportello::Config {
        port: 0,
        cns_port: 0,
        data_dir: data.path().to_owned(),
        database_url: Some(format!(
            "postgres://pa:s3cr3t-pw@127.0.0.1:{port}/sportello"
        )),
        ..examples::sportello::Config::default()
    })
    .await
    .expect_err("no server there");
    let msg = err.to_string();
    assert!(msg.contains(&format!("127.0.0.1:{port}")), "{msg}");
    assert!(msg.contains("sportello"), "{msg}");
    assert!(!msg.contains("s3cr3t"), "{msg}");
}

/// Sends a signal by name (`kill -STOP`, `-CONT`, `-KILL`).
fn signal(i: &Instance, name: &str) {
    let status = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(i.child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success(), "kill -{name}");
}

/// A valid fiscal code, different for each `i` (check character computed).
fn fiscal_code(i: usize) -> String {
    const ODD: [u32; 36] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3,
        6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
    ];
    let body = format!("BNCGLI80A41H{i:03}");
    let value = |c: char| -> usize {
        if c.is_ascii_digit() {
            (c as usize) - ('0' as usize)
        } else {
            (c as usize) - ('A' as usize) + 10
        }
    };
    let sum: u32 = body
        .chars()
        .enumerate()
        .map(|(n, c)| {
            let v = value(c);
            if n % 2 == 0 {
                ODD[v]
            } else if v >= 10 {
                (v - 10) as u32
            } else {
                v as u32
            }
        })
        .sum();
    format!("{body}{}", char::from(b'A' + (sum % 26) as u8))
}

/// The world outside both instances: one SIOPE+ A2A channel and one App IO, which both use.
struct Outside {
    _files: tempfile::TempDir,
    config: std::path::PathBuf,
    sim: siopeplus::simulator::Simulator,
    io: appio::mock::MockServer,
}

async fn outside() -> Outside {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let files = tempfile::tempdir().unwrap();
    let pki = siopeplus::simulator::TestPki::generate("canale A2A condiviso").unwrap();
    let sim =
        siopeplus::simulator::Simulator::start(&pki, siopeplus::simulator::SimOptions::default())
            .await
            .unwrap();
    let (cert, key) = pki.issue_client("A2A-99999999", -1, 400).unwrap();
    let write = |name: &str, body: &str| {
        let p = files.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let (cert, key, ca) = (
        write("ente.crt", &cert),
        write("ente.key", &key),
        write("ca.pem", pki.ca_pem()),
    );
    let io = appio::mock::MockServer::start(appio::mock::MockConfig {
        accepted_keys: vec!["chiave-servizio-roccaverde".into()],
        latency: Duration::from_millis(40),
        ..appio::mock::MockConfig::default()
    })
    .await
    .unwrap();
    let config = serde_json::json!({
        "worker_interval_ms": 200,
        "lease_ms": 2000,
        "partner": {
            "name": "Partner Tecnologico S.p.A.", "vat_number": "01234567897",
            "email": "spid@partner.example", "broker": "01234567897", "station": "01234567897_01"
        },
        "enti": [{
            "id": "roccaverde", "name": "Comune di Roccaverde", "ipa": "c_r001",
            "fiscal_code": ROCCAVERDE_CF, "segregation": "01",
            "iban": "IT25O0306909606100000012345", "fee_cents": 1600, "aoo": "AOO_RV",
            "path_prefix": "/roccaverde", "operators": [MARIO],
            "io": {"base_url": io.base_url(), "subscription_key": "chiave-servizio-roccaverde"},
            "siope": {"base_url": sim.base_url().to_string(), "codice_a2a": "A2A-99999999",
                      "codice_ente": "UF9999", "certificate_pem": cert, "key_pem": key,
                      "trust_roots_pem": ca}
        }]
    });
    let path = files.path().join("partner.json");
    std::fs::write(&path, config.to_string()).unwrap();
    Outside {
        _files: files,
        config: path,
        sim,
        io,
    }
}

async fn servers() -> Option<(String, String)> {
    let db = pa_postgres::testing::fresh_database().await.unwrap()?;
    Some((db, redis_url()?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_mid_upload_leaves_the_opi_flow_to_the_other_uploaded_once() {
    let Some((db_url, redis)) = servers().await else {
        return;
    };
    let out = outside().await;
    let (pa, pb) = (free_port(), free_port());
    let public = format!("http://127.0.0.1:{pa}");
    let a = instance(pa, &public, &out.config, &db_url, &redis);
    let b = instance(pb, &public, &out.config, &db_url, &redis);
    let ra = format!("{}/roccaverde", a.url);
    let session = spid_login_via(&ra, &ra, MARIO, "Mario", "Rossi").await;
    // A paid request, so that there is a receipt to send to the treasurer.
    let req = file_request(&ra, &session, "Istanza pagata").await;
    let id = req.rsplit('/').next().unwrap().to_owned();
    let pg = pa_postgres::Database::connect(&db_url).await.unwrap();
    let c = pg.client().await.unwrap();
    let notice: String = c
        .query_one(
            "SELECT notice_number FROM sportello_request WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .get(0);
    NodeSimulator::new(
        format!("{}/pagopa/paForNode", a.url),
        RequestIds {
            id_pa: ROCCAVERDE_CF.into(),
            id_broker_pa: "01234567897".into(),
            id_station: "01234567897_01".into(),
        },
    )
    .pay(&QrCode {
        fiscal_code: ROCCAVERDE_CF.parse().unwrap(),
        notice_number: notice.parse().unwrap(),
    })
    .await
    .unwrap();

    // The upload's answer takes 1.5 s: the uploader is killed while it waits for it.
    out.sim.set_upload_delay(Duration::from_millis(1500));
    let send = {
        let (ra, session) = (ra.clone(), session.clone());
        tokio::spawn(async move {
            let _ = http()
                .post(format!("{ra}/operatore/flusso"))
                .header("cookie", &session)
                .send()
                .await;
        })
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let (flow, owner) = loop {
        assert!(std::time::Instant::now() < deadline, "no upload started");
        if let Some(f) = out.sim.received().first() {
            let r = c
                .query_one(
                    "SELECT lease_owner, state FROM siopeplus_outbox WHERE identificativo_flusso = $1",
                    &[&f.identificativo_flusso],
                )
                .await
                .unwrap();
            let (owner, state): (Option<String>, String) = (r.get(0), r.get(1));
            assert_eq!(state, "uploading");
            break (f.identificativo_flusso.clone(), owner.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    // Kill the instance uploading it (SIGKILL: no clean shutdown).
    let (victim, survivor) = if owner == a.id { (a, b) } else { (b, a) };
    assert_eq!(owner, victim.id);
    signal(&victim, "KILL");
    drop(victim);
    let _ = send.await;
    // The survivor takes the flow over when the lease ends, finds it on the channel instead of
    // uploading it again, and follows it to its esiti.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let state: String = c
            .query_one(
                "SELECT state FROM siopeplus_outbox WHERE identificativo_flusso = $1",
                &[&flow],
            )
            .await
            .unwrap()
            .get(0);
        if state == "completed" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the survivor did not finish the flow: {state}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let uploads = out
        .sim
        .received()
        .iter()
        .filter(|f| f.identificativo_flusso == flow)
        .count();
    assert_eq!(uploads, 1, "the flow was uploaded {uploads} times");
    drop(survivor);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_mid_io_bulk_send_leaves_the_rest_to_the_other_nothing_sent_twice() {
    let Some((db_url, redis)) = servers().await else {
        return;
    };
    let out = outside().await;
    const N: usize = 60;
    let recipients: Vec<String> = (0..N).map(fiscal_code).collect();
    for cf in &recipients {
        out.io
            .set_profile(cf.parse().unwrap(), appio::mock::MockProfile::Allowed);
    }
    let (pa, pb) = (free_port(), free_port());
    let public = format!("http://127.0.0.1:{pa}");
    let a = instance(pa, &public, &out.config, &db_url, &redis);
    let b = instance(pb, &public, &out.config, &db_url, &redis);
    let ra = format!("{}/roccaverde", a.url);
    let session = spid_login_via(&ra, &ra, MARIO, "Mario", "Rossi").await;
    let r = http()
        .post(format!("{ra}/operatore/io"))
        .header("cookie", &session)
        .form(&[
            ("subject", "Chiusura degli uffici comunali"),
            (
                "markdown",
                "Gentile cittadina, gentile cittadino, gli uffici comunali resteranno chiusi \
                 lunedì per la festa patronale. Grazie per la comprensione.",
            ),
            ("recipients", recipients.join("\n").as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    let pg = pa_postgres::Database::connect(&db_url).await.unwrap();
    let c = pg.client().await.unwrap();
    // Once a quarter arrived, freeze A; kill it if it has requests in flight, else let it go on.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let in_flight: BTreeSet<String> = loop {
        assert!(
            std::time::Instant::now() < deadline,
            "A never had a message in flight"
        );
        if out.io.messages().len() >= N / 4 {
            signal(&a, "STOP");
            tokio::time::sleep(Duration::from_millis(150)).await;
            let rows = c
                .query(
                    "SELECT key FROM appio_bulk_row WHERE worker = $1 AND state = 'sending'",
                    &[&a.id],
                )
                .await
                .unwrap();
            if !rows.is_empty() {
                signal(&a, "KILL");
                break rows.iter().map(|r| r.get(0)).collect();
            }
            signal(&a, "CONT");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    drop(a);
    // B's worker finishes the job.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let done: bool = c
            .query_one("SELECT bool_and(done) FROM sportello_io_job", &[])
            .await
            .unwrap()
            .get(0);
        if done {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the job was not finished"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut delivered = std::collections::BTreeMap::<String, usize>::new();
    for m in out.io.messages() {
        *delivered
            .entry(m.message.fiscal_code().to_string())
            .or_default() += 1;
    }
    for cf in &recipients {
        let n = delivered.get(cf).copied().unwrap_or(0);
        assert!(n <= 1, "{cf} got {n} messages");
        if !in_flight.contains(cf) {
            assert_eq!(n, 1, "{cf} was not sent");
        }
    }
    // What A had in flight stays ambiguous in the journal: reported, never re-sent.
    let ambiguous: BTreeSet<String> = c
        .query(
            "SELECT key FROM appio_bulk_row WHERE state = 'ambiguous'",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(ambiguous, in_flight);
    drop(b);
}
