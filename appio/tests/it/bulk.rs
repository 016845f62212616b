//! Bulk sending: skips, journal, resume after a crash, fault injection, ambiguity.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use appio::bulk::{
    AmbiguousPolicy, BulkReport, BulkRow, BulkSender, FailureReason, Journal, RowOutcome, RowState,
    SkipReason, SqliteJournal, Template, check_delivery, read_csv_from,
};
use appio::mock::{MockConfig, MockProfile, MockServer as IoMock};
use appio::{Error, IoClient, JournalError, MessageStatus, SubscriptionKey};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::{base, cf, client, fast_retry, notice};
use crate::schema::checked;

const TEMPLATE: &str = r#"{
  "subject": "Avviso TARI {{anno}} per {{nome}}",
  "markdown": "Gentile {{nome}}, le ricordiamo che e' disponibile l'avviso di pagamento della TARI {{anno}}. Importo: {{importo}} euro.",
  "due_date": "{{scadenza}}",
  "payment": {"notice_number": "{{avviso}}", "amount": "{{importo}}", "payee": "00488410010"}
}"#;

pub(crate) fn template() -> Template {
    Template::from_json(TEMPLATE).unwrap()
}

pub(crate) fn row(i: usize) -> BulkRow {
    BulkRow::new(format!("r{i}"), cf(i).as_str())
        .field("nome", format!("Cittadino {i}"))
        .field("anno", "2025")
        .field("importo", format!("{}.{:02}", 10 + i, i % 100))
        .field("scadenza", "2025-12-31T23:59:59+01:00")
        .field("avviso", notice(i as u64).as_str())
}

pub(crate) fn rows(n: usize) -> Vec<BulkRow> {
    (0..n).map(row).collect()
}

fn journal(path: &Path) -> Arc<dyn Journal> {
    Arc::new(SqliteJournal::open(path).unwrap())
}

fn entries(path: &Path) -> BTreeMap<String, appio::bulk::JournalEntry> {
    SqliteJournal::read_entries(path)
        .unwrap()
        .into_iter()
        .map(|e| (e.key.clone(), e))
        .collect()
}

#[tokio::test]
async fn sends_skips_and_records_then_a_rerun_sends_nothing() {
    let mock = IoMock::start(checked(MockConfig::default())).await.unwrap();
    mock.set_profile(cf(1), MockProfile::NotFound);
    mock.set_profile(cf(2), MockProfile::Blocked);
    mock.set_profile(cf(3), MockProfile::RecipientForbidden);
    let mut input = rows(12);
    input[4].fiscal_code = "NOTAFISCALCODE00".into();
    input[5].fields.insert("importo".into(), "12,50".into());
    let dir = tempfile::tempdir().unwrap();
    let jpath = dir.path().join("j.sqlite");

    let seen = Arc::new(AtomicUsize::new(0));
    let seen2 = seen.clone();
    let sender = BulkSender::new(client(&mock.base_url()), journal(&jpath), template())
        .concurrency(4)
        .on_progress(move |p| {
            assert_eq!(p.total, Some(12));
            seen2.fetch_max(p.done, Ordering::SeqCst);
        });
    let report = sender.run(input.clone()).await.unwrap();
    assert_eq!(seen.load(Ordering::SeqCst), 12);
    assert_eq!(report.total, 12);
    assert_eq!(report.sent, 7);
    assert_eq!(report.skipped.get(&SkipReason::NotOnIo), Some(&1));
    assert_eq!(report.skipped.get(&SkipReason::ServiceBlocked), Some(&1));
    assert_eq!(
        report.failed.get(&FailureReason::RecipientForbidden),
        Some(&1)
    );
    assert_eq!(report.failed.get(&FailureReason::Invalid), Some(&2));
    let invalid: Vec<_> = report
        .failures
        .iter()
        .filter(|f| f.1 == FailureReason::Invalid)
        .collect();
    assert!(
        invalid
            .iter()
            .any(|f| f.0 == "r4" && f.2.contains("fiscal_code")),
        "{invalid:?}"
    );
    assert!(
        invalid
            .iter()
            .any(|f| f.0 == "r5" && f.2.contains("payment.amount")),
        "{invalid:?}"
    );
    assert!(!report.is_complete_success());
    assert_eq!(mock.messages().len(), 7);

    // The message carries the filled-in template, with amount in cents and due date in UTC.
    let m = mock
        .messages()
        .into_iter()
        .find(|m| m.message.fiscal_code() == &cf(7))
        .unwrap();
    let v = serde_json::to_value(&m.message).unwrap();
    assert_eq!(v["content"]["subject"], "Avviso TARI 2025 per Cittadino 7");
    assert_eq!(v["content"]["payment_data"]["amount"], 1707);
    assert_eq!(v["content"]["due_date"], "2025-12-31T22:59:59.000Z");

    // Journal: one entry per row with its state.
    let j = entries(&jpath);
    assert_eq!(j.len(), 12);
    assert!(matches!(&j["r7"].state, RowState::Sent { message_id, .. } if *message_id == m.id));
    assert_eq!(j["r1"].state, RowState::Skipped(SkipReason::NotOnIo));

    // A rerun with the same journal sends nothing new.
    let requests_before = mock.request_count();
    let sender = BulkSender::new(client(&mock.base_url()), journal(&jpath), template());
    let again = sender.run(input).await.unwrap();
    assert_eq!(again.sent, 0);
    assert_eq!(again.already_sent, 7);
    assert_eq!(again.skipped.values().sum::<usize>(), 2);
    assert_eq!(again.failed.values().sum::<usize>(), 3);
    assert_eq!(mock.messages().len(), 7);
    assert_eq!(
        mock.request_count(),
        requests_before,
        "no request at all on a finished run"
    );

    // Delivery check: statuses recorded in the journal.
    mock.set_message_status(m.id.clone(), MessageStatus::Rejected);
    let d = check_delivery(&client(&mock.base_url()), &*journal(&jpath), 4)
        .await
        .unwrap();
    assert_eq!(d.checked, 7);
    assert_eq!(d.by_status.get("PROCESSED"), Some(&6));
    assert_eq!(d.by_status.get("REJECTED"), Some(&1));
    assert!(matches!(
        &entries(&jpath)["r7"].state,
        RowState::Sent {
            delivery: Some(MessageStatus::Rejected),
            ..
        }
    ));
}

/// wiremock responder: a seeded share of faults (429 or 500) before anything happens; on
/// success records one delivery per fiscal code. Answers after a small delay so that requests
/// are in flight when the run is interrupted.
struct FaultyIo {
    rng: Mutex<StdRng>,
    fault_rate: f64,
    delivered: Arc<Mutex<BTreeMap<String, Vec<String>>>>,
    next_id: AtomicUsize,
    delay: Duration,
}

impl Respond for FaultyIo {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let roll: f64 = self.rng.lock().unwrap().random();
        if roll < self.fault_rate / 2.0 {
            return ResponseTemplate::new(429).set_delay(self.delay);
        }
        if roll < self.fault_rate {
            return ResponseTemplate::new(500)
                .set_body_json(serde_json::json!({"title": "Internal server error", "status": 500}))
                .set_delay(self.delay);
        }
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        let cf = body["fiscal_code"].as_str().unwrap().to_owned();
        if req.url.path().ends_with("/profiles") {
            return ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"sender_allowed": true}))
                .set_delay(self.delay);
        }
        let n = self.next_id.fetch_add(1, Ordering::SeqCst);
        let id = format!("01FAULTY{n:018}");
        self.delivered
            .lock()
            .unwrap()
            .entry(cf)
            .or_default()
            .push(id.clone());
        ResponseTemplate::new(201)
            .set_body_json(serde_json::json!({"id": id}))
            .set_delay(self.delay)
    }
}

async fn faulty_server(
    fault_rate: f64,
    delay: Duration,
) -> (MockServer, Arc<Mutex<BTreeMap<String, Vec<String>>>>) {
    let server = MockServer::start().await;
    let delivered = Arc::new(Mutex::new(BTreeMap::new()));
    let responder = FaultyIo {
        rng: Mutex::new(StdRng::seed_from_u64(42)),
        fault_rate,
        delivered: delivered.clone(),
        next_id: AtomicUsize::new(0),
        delay,
    };
    Mock::given(method("POST"))
        .respond_with(responder)
        .mount(&server)
        .await;
    (server, delivered)
}

/// Every row is sent exactly once (journal id = the one delivery) or reported; nothing the
/// server received is unaccounted for.
fn assert_exactly_once_or_reported(
    n: usize,
    jpath: &Path,
    delivered: &BTreeMap<String, Vec<String>>,
) -> (usize, usize) {
    let j = entries(jpath);
    let (mut sent, mut reported) = (0, 0);
    for i in 0..n {
        let key = format!("r{i}");
        let got = delivered.get(cf(i).as_str()).cloned().unwrap_or_default();
        assert!(got.len() <= 1, "{key} delivered {} times", got.len());
        let e = j
            .get(&key)
            .unwrap_or_else(|| panic!("{key} lost: not in the journal"));
        match &e.state {
            RowState::Sent { message_id, .. } => {
                assert_eq!(got, vec![message_id.as_str().to_owned()], "{key}");
                sent += 1;
            }
            RowState::Ambiguous { .. } => reported += 1,
            RowState::Failed { .. } => {
                assert!(got.is_empty(), "{key} failed but was delivered");
                reported += 1;
            }
            other => panic!("{key}: unexpected final state {other:?}"),
        }
    }
    (sent, reported)
}

#[tokio::test]
async fn fault_injection_with_a_crash_mid_run_sends_each_row_at_most_once() {
    const N: usize = 300;
    let (server, delivered) = faulty_server(0.10, Duration::from_millis(5)).await;
    let dir = tempfile::tempdir().unwrap();
    let jpath = dir.path().join("j.sqlite");

    // First run: crash (abort every task) once about a third of the messages arrived.
    let sender = BulkSender::new(client(&base(&server)), journal(&jpath), template())
        .concurrency(16)
        .lease(Duration::from_millis(300));
    let run = tokio::spawn(async move { sender.run(rows(N)).await });
    loop {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let count: usize = delivered.lock().unwrap().values().map(Vec::len).sum();
        if count >= N / 3 {
            break;
        }
        assert!(
            !run.is_finished(),
            "run finished before the simulated crash"
        );
    }
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    // Let the journal writer of the aborted run drain (it is a separate thread, like a disk
    // flush that completes after the crash or not at all).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let after_crash: usize = delivered.lock().unwrap().values().map(Vec::len).sum();
    assert!(after_crash < N);

    // Resume with a fresh sender and journal handle, as after a restart: another worker id, so
    // the rows the crashed run held are taken over when its lease (300 ms) ends.
    let sender = BulkSender::new(client(&base(&server)), journal(&jpath), template())
        .concurrency(16)
        .lease(Duration::from_millis(300));
    let report = sender.run(rows(N)).await.unwrap();
    assert_eq!(report.total, N);
    assert!(!report.interrupted);
    let delivered = delivered.lock().unwrap().clone();
    let (sent, reported) = assert_exactly_once_or_reported(N, &jpath, &delivered);
    assert_eq!(sent + reported, N);
    assert_eq!(report.sent + report.already_sent, sent);
    assert_eq!(
        report.ambiguous.len() + report.failed.values().sum::<usize>(),
        reported
    );
    eprintln!(
        "crash test: delivered before crash {after_crash}, sent {sent}, reported {reported}, ambiguous {:?}, failed {:?}",
        report.ambiguous, report.failed
    );
    // Rows in flight at the crash are the only ones allowed to be ambiguous.
    assert!(report.ambiguous.len() <= 16, "{:?}", report.ambiguous);
    assert!(sent >= N - 16 - report.failed.values().sum::<usize>());
    // A third run changes nothing.
    let sender = BulkSender::new(client(&base(&server)), journal(&jpath), template());
    let third = sender.run(rows(N)).await.unwrap();
    assert_eq!(third.sent, 0);
    assert_eq!(third.already_sent, sent);
}

#[tokio::test]
async fn graceful_stop_then_resume_completes_without_duplicates() {
    const N: usize = 120;
    let (server, delivered) = faulty_server(0.10, Duration::from_millis(2)).await;
    let dir = tempfile::tempdir().unwrap();
    let jpath = dir.path().join("j.sqlite");
    let stop = Arc::new(tokio::sync::Notify::new());
    let stop2 = stop.clone();
    let sender = BulkSender::new(client(&base(&server)), journal(&jpath), template())
        .concurrency(8)
        .on_progress(move |p| {
            if p.done == 40 {
                stop2.notify_one();
            }
        });
    let report = sender
        .run_until(rows(N), async move { stop.notified().await })
        .await
        .unwrap();
    assert!(report.interrupted);
    assert!(report.not_processed > 0);
    assert_eq!(report.total, N);
    // A graceful stop finishes the rows in flight: nothing is ambiguous.
    assert!(report.ambiguous.is_empty());
    let processed = report.sent + report.failed.values().sum::<usize>();
    assert_eq!(processed + report.not_processed, N);

    let sender =
        BulkSender::new(client(&base(&server)), journal(&jpath), template()).concurrency(8);
    let report2 = sender.run(rows(N)).await.unwrap();
    assert!(report2.ambiguous.is_empty());
    let delivered = delivered.lock().unwrap().clone();
    let (sent, reported) = assert_exactly_once_or_reported(N, &jpath, &delivered);
    assert_eq!(sent + reported, N);
    assert_eq!(report2.already_sent, report.sent);
}

#[tokio::test]
async fn lost_answer_is_reported_as_ambiguous_and_resolved_by_policy() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/profiles"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"sender_allowed": true})),
        )
        .mount(&server)
        .await;
    let posts = Arc::new(AtomicUsize::new(0));
    struct Slow(Arc<AtomicUsize>);
    impl Respond for Slow {
        fn respond(&self, _: &Request) -> ResponseTemplate {
            let n = self.0.fetch_add(1, Ordering::SeqCst);
            let r = ResponseTemplate::new(201)
                .set_body_json(serde_json::json!({"id": format!("01LOST{n:020}")}));
            // The first answer comes too late for the client: lost.
            if n == 0 {
                r.set_delay(Duration::from_secs(3))
            } else {
                r
            }
        }
    }
    Mock::given(method("POST"))
        .and(path("/api/v1/messages"))
        .respond_with(Slow(posts.clone()))
        .mount(&server)
        .await;
    let c = IoClient::builder(SubscriptionKey::new("k"))
        .base_url(base(&server))
        .retry(fast_retry())
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let jpath = dir.path().join("j.sqlite");
    let report = BulkSender::new(c.clone(), journal(&jpath), template())
        .run(rows(1))
        .await
        .unwrap();
    assert_eq!(report.ambiguous, vec!["r0".to_owned()]);
    assert_eq!(posts.load(Ordering::SeqCst), 1);
    // Default policy: reported again, never resent.
    let report = BulkSender::new(c.clone(), journal(&jpath), template())
        .run(rows(1))
        .await
        .unwrap();
    assert_eq!(report.ambiguous, vec!["r0".to_owned()]);
    assert_eq!(posts.load(Ordering::SeqCst), 1);
    // Explicit policy: resend, accepting a possible duplicate.
    let report = BulkSender::new(c, journal(&jpath), template())
        .ambiguous_policy(AmbiguousPolicy::ResendAcceptingDuplicates)
        .run(rows(1))
        .await
        .unwrap();
    assert_eq!(report.sent, 1);
    assert_eq!(posts.load(Ordering::SeqCst), 2);
    let e = &entries(&jpath)["r0"];
    assert_eq!(e.attempts, 2);
}

#[tokio::test]
async fn a_row_marked_sending_by_a_crashed_run_is_ambiguous() {
    let mock = IoMock::start(checked(MockConfig::default())).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let jpath = dir.path().join("j.sqlite");
    {
        // What a run leaves behind when it dies between "sending" and the answer.
        let j = SqliteJournal::open(&jpath).unwrap();
        j.bind_template(&template().fingerprint()).await.unwrap();
        let r = row(0);
        j.put(appio::bulk::JournalEntry {
            key: r.key.clone(),
            seq: 0,
            fiscal_code: r.fiscal_code.clone(),
            fingerprint: r.fingerprint(),
            state: RowState::Sending,
            attempts: 1,
            updated_at: chrono::Utc::now(),
            service: None,
        })
        .await
        .unwrap();
    }
    let report = BulkSender::new(client(&mock.base_url()), journal(&jpath), template())
        .run(rows(3))
        .await
        .unwrap();
    assert_eq!(report.ambiguous, vec!["r0".to_owned()]);
    assert_eq!(report.sent, 2);
    assert!(
        mock.messages()
            .iter()
            .all(|m| m.message.fiscal_code() != &cf(0))
    );
    assert!(matches!(
        entries(&jpath)["r0"].state,
        RowState::Ambiguous { .. }
    ));
}

#[tokio::test]
async fn retryable_failures_are_retried_on_the_next_run() {
    let mock = IoMock::start(checked(MockConfig {
        server_error_rate: 1.0,
        ..MockConfig::default()
    }))
    .await
    .unwrap();
    let c = IoClient::builder(SubscriptionKey::new("k"))
        .base_url(mock.base_url())
        .retry(appio::RetryPolicy {
            max_retries: 1,
            ..fast_retry()
        })
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let jpath = dir.path().join("j.sqlite");
    let r = BulkSender::new(c, journal(&jpath), template())
        .run(rows(2))
        .await
        .unwrap();
    assert_eq!(r.failed.get(&FailureReason::ServerError), Some(&2));
    let healthy = IoMock::start(checked(MockConfig::default())).await.unwrap();
    let r = BulkSender::new(client(&healthy.base_url()), journal(&jpath), template())
        .run(rows(2))
        .await
        .unwrap();
    assert_eq!(r.sent, 2);
}

#[tokio::test]
async fn a_changed_row_is_not_resent_and_another_template_is_refused() {
    let mock = IoMock::start(checked(MockConfig::default())).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let jpath = dir.path().join("j.sqlite");
    BulkSender::new(client(&mock.base_url()), journal(&jpath), template())
        .run(rows(2))
        .await
        .unwrap();
    let mut changed = rows(2);
    changed[1].fields.insert("importo".into(), "99.00".into());
    let r = BulkSender::new(client(&mock.base_url()), journal(&jpath), template())
        .run(changed)
        .await
        .unwrap();
    assert_eq!(r.already_sent, 1);
    assert_eq!(r.failed.get(&FailureReason::ChangedSinceLastRun), Some(&1));
    assert_eq!(mock.messages().len(), 2);
    // The journal still says what was sent.
    assert!(matches!(entries(&jpath)["r1"].state, RowState::Sent { .. }));

    // A failed row corrected in the input is processed again.
    let mut bad = rows(3);
    bad[2].fields.insert("importo".into(), "abc".into());
    let r = BulkSender::new(client(&mock.base_url()), journal(&jpath), template())
        .run(bad)
        .await
        .unwrap();
    assert_eq!(r.failed.get(&FailureReason::Invalid), Some(&1));
    let r = BulkSender::new(client(&mock.base_url()), journal(&jpath), template())
        .run(rows(3))
        .await
        .unwrap();
    assert_eq!((r.sent, r.already_sent), (1, 2));
    assert_eq!(mock.messages().len(), 3);

    let other = Template::from_json(&TEMPLATE.replace("Avviso TARI", "Promemoria TARI")).unwrap();
    let err = BulkSender::new(client(&mock.base_url()), journal(&jpath), other)
        .run(rows(2))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Journal(JournalError::TemplateMismatch { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn duplicate_keys_in_an_iterator_are_reported_once() {
    let mock = IoMock::start(checked(MockConfig::default())).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut input = rows(2);
    input.push(row(0));
    let r: BulkReport = BulkSender::new(
        client(&mock.base_url()),
        journal(&dir.path().join("j")),
        template(),
    )
    .run(input)
    .await
    .unwrap();
    assert_eq!(r.sent, 2);
    assert_eq!(r.failed.get(&FailureReason::Other), Some(&1));
    assert_eq!(mock.messages().len(), 2);
}

#[test]
fn csv_input_and_template_columns() {
    let csv = "id,fiscal_code,nome,anno,importo,scadenza,avviso\n\
               a1, RSSMRA85T10A562S ,Mario,2025,12.00,2025-12-31T00:00:00Z,301000000000000144\n\
               ,RSSMRA85T10A562S,Anna,2025,1.00,2025-12-31T00:00:00Z,301000000000000144\n";
    let (header, rows) = read_csv_from(csv.as_bytes()).unwrap();
    template().check_columns(&header).unwrap();
    assert_eq!(rows[0].key, "a1");
    assert_eq!(rows[0].fiscal_code, "RSSMRA85T10A562S");
    assert_eq!(rows[1].key, "line-3");
    let m = template().render(&rows[0]).unwrap();
    assert_eq!(m.content().payment_data().unwrap().amount().cents(), 1200);

    let err = read_csv_from("nome\nx\n".as_bytes()).unwrap_err();
    assert!(matches!(err, appio::InputError::MissingColumn(c) if c == "fiscal_code"));
    let err = read_csv_from("id,fiscal_code\nk,A\nk,B\n".as_bytes()).unwrap_err();
    assert!(
        matches!(
            err,
            appio::InputError::DuplicateKey {
                first: 2,
                second: 3,
                ..
            }
        ),
        "{err}"
    );
    let err = template()
        .check_columns(&["fiscal_code".to_owned(), "nome".to_owned()])
        .unwrap_err();
    assert!(matches!(err, appio::InputError::MissingColumn(_)));
}

#[test]
fn template_file_errors() {
    for bad in [
        r#"{"subject": "x"}"#,
        r#"{"subject": "x", "markdown": "y", "colour": 1}"#,
        r#"{"subject": "{{a", "markdown": "y"}"#,
        r#"{"subject": "{{ }}", "markdown": "y"}"#,
        r#"{"subject": "x", "markdown": "y", "feature_level": "GOLD"}"#,
        r#"{"subject": "x", "markdown": "y", "time_to_live": 10}"#,
    ] {
        assert!(Template::from_json(bad).is_err(), "{bad}");
    }
}

#[test]
fn row_errors_name_the_field() {
    let t = template();
    let mut r = row(1);
    r.fields.insert("scadenza".into(), "31/12/2025".into());
    assert!(
        t.render(&r)
            .unwrap_err()
            .to_string()
            .starts_with("due_date")
    );
    let mut r = row(1);
    r.fields.insert("avviso".into(), "123".into());
    assert!(
        t.render(&r)
            .unwrap_err()
            .to_string()
            .starts_with("payment.notice_number")
    );
    let mut r = row(1);
    r.fields.insert("importo".into(), "0.00".into());
    assert!(
        t.render(&r)
            .unwrap_err()
            .to_string()
            .contains("content.payment_data.amount")
    );
    let mut r = row(1);
    r.fields.insert("nome".into(), String::new());
    r.fields.insert("anno".into(), String::new());
    let short =
        Template::from_json(r#"{"subject": "{{nome}}{{anno}}x", "markdown": "y"}"#).unwrap();
    assert!(
        short
            .render(&r)
            .unwrap_err()
            .to_string()
            .contains("content.subject")
    );
}

#[allow(dead_code)]
fn _outcome_is_public(o: RowOutcome) -> RowOutcome {
    o
}

/// A journal that fails every write after the first `ok` ones (a full disk).
struct FailingJournal {
    inner: SqliteJournal,
    ok: usize,
    puts: AtomicUsize,
    sending_refused: Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl Journal for FailingJournal {
    async fn bind_template(&self, f: &str) -> Result<(), JournalError> {
        self.inner.bind_template(f).await
    }
    async fn load(&self) -> Result<BTreeMap<String, appio::bulk::JournalEntry>, JournalError> {
        self.inner.load().await
    }
    async fn put(&self, e: appio::bulk::JournalEntry) -> Result<(), JournalError> {
        self.fail(&e)?;
        self.inner.put(e).await
    }
    async fn claim(
        &self,
        r: &appio::bulk::ClaimRequest<'_>,
    ) -> Result<appio::bulk::Claim, JournalError> {
        self.inner.claim(r).await
    }
    async fn put_held(
        &self,
        e: appio::bulk::JournalEntry,
        worker: &str,
        hold: Option<Duration>,
    ) -> Result<bool, JournalError> {
        self.fail(&e)?;
        self.inner.put_held(e, worker, hold).await
    }
    async fn renew(&self, worker: &str, lease: Duration) -> Result<u64, JournalError> {
        self.inner.renew(worker, lease).await
    }
    async fn release(&self, key: &str, worker: &str) -> Result<(), JournalError> {
        self.inner.release(key, worker).await
    }
}

impl FailingJournal {
    fn fail(&self, e: &appio::bulk::JournalEntry) -> Result<(), JournalError> {
        if self.puts.fetch_add(1, Ordering::SeqCst) >= self.ok {
            if e.state == RowState::Sending {
                self.sending_refused
                    .lock()
                    .unwrap()
                    .push(e.fiscal_code.clone());
            }
            return Err(JournalError::Write("disk full".into()));
        }
        Ok(())
    }
}

#[tokio::test]
async fn a_failing_journal_stops_the_run_and_nothing_unrecorded_is_sent() {
    let mock = IoMock::start(checked(MockConfig::default())).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let j = Arc::new(FailingJournal {
        inner: SqliteJournal::open(&dir.path().join("j")).unwrap(),
        ok: 7,
        puts: AtomicUsize::new(0),
        sending_refused: Mutex::new(Vec::new()),
    });
    let err = BulkSender::new(client(&mock.base_url()), j.clone(), template())
        .concurrency(2)
        .run(rows(50))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Journal(JournalError::Write(_))),
        "{err}"
    );
    let received: Vec<String> = mock
        .messages()
        .iter()
        .map(|m| m.message.fiscal_code().to_string())
        .collect();
    // The run stopped early, and no row whose "sending" mark failed was submitted.
    assert!(received.len() < 10, "{}", received.len());
    for cf in j.sending_refused.lock().unwrap().iter() {
        assert!(
            !received.contains(cf),
            "{cf} was sent without a journal mark"
        );
    }
    // Every message that did reach the server is in the journal as sending or sent.
    let entries = j.inner.load().await.unwrap();
    for cf in &received {
        let e = entries
            .values()
            .find(|e| &e.fiscal_code == cf)
            .expect("recorded");
        assert!(
            matches!(e.state, RowState::Sending | RowState::Sent { .. }),
            "{e:?}"
        );
    }
}

/// wiremock responder for submissions: the first `throttled` requests get 429 with
/// `Retry-After: 1`; the others 201 with `id` (or a numbered ULID-like id). Counts POSTs per
/// fiscal code.
struct Strict {
    throttled: usize,
    id: Option<serde_json::Value>,
    calls: AtomicUsize,
    per_cf: Arc<Mutex<BTreeMap<String, usize>>>,
}

impl Respond for Strict {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        if n < self.throttled {
            return ResponseTemplate::new(429)
                .insert_header("Retry-After", "1")
                .set_body_json(serde_json::json!({"title": "Too many requests", "status": 429}));
        }
        let body: serde_json::Value = serde_json::from_slice(&req.body).unwrap();
        let cf = body["fiscal_code"].as_str().unwrap().to_owned();
        *self.per_cf.lock().unwrap().entry(cf).or_default() += 1;
        let body = match &self.id {
            Some(v) => v.clone(),
            None => serde_json::json!({"id": format!("01STRICT{n:018}")}),
        };
        ResponseTemplate::new(201).set_body_json(body)
    }
}

async fn strict_server(
    throttled: usize,
    id: Option<serde_json::Value>,
) -> (MockServer, Arc<Mutex<BTreeMap<String, usize>>>) {
    let server = MockServer::start().await;
    let per_cf = Arc::new(Mutex::new(BTreeMap::new()));
    Mock::given(method("POST"))
        .and(path("/api/v1/messages"))
        .respond_with(Strict {
            throttled,
            id,
            calls: AtomicUsize::new(0),
            per_cf: per_cf.clone(),
        })
        .mount(&server)
        .await;
    (server, per_cf)
}

#[tokio::test]
async fn rows_waiting_on_the_rate_limit_or_a_429_pause_are_not_marked_sending() {
    // The first submission is answered 429 Retry-After 1 s: every request of the client pauses,
    // and the rate limit (4/s) spaces the rest. A crash during the wait must leave no row
    // "sending": none of them was written.
    let (server, per_cf) = strict_server(1, None).await;
    let dir = tempfile::tempdir().unwrap();
    let jpath = dir.path().join("j.sqlite");
    let c = IoClient::builder(SubscriptionKey::new("k"))
        .base_url(base(&server))
        .retry(fast_retry())
        .rate_limit(Some(4.0))
        .build()
        .unwrap();
    let sender = BulkSender::new(c, journal(&jpath), template())
        .check_profile(false)
        .concurrency(4)
        .worker_id("first")
        .lease(Duration::from_millis(200));
    let run = tokio::spawn(async move { sender.run(rows(4)).await });
    // Wait for the 429, then look at the journal while everyone waits.
    for _ in 0..200 {
        if !server.received_requests().await.unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let during = entries(&jpath);
    assert_eq!(during.len(), 4, "{during:?}");
    for (k, e) in &during {
        assert_eq!(e.state, RowState::Claimed, "{k} is marked while waiting");
    }
    // The throttled attempt was counted when it was written, then put back.
    assert_eq!(during.values().map(|e| e.attempts).sum::<u32>(), 1);
    assert!(per_cf.lock().unwrap().is_empty());
    // Crash now; another worker takes the rows over once the lease ends: nothing is ambiguous.
    run.abort();
    assert!(run.await.unwrap_err().is_cancelled());
    tokio::time::sleep(Duration::from_millis(50)).await;
    let report = BulkSender::new(client(&base(&server)), journal(&jpath), template())
        .check_profile(false)
        .worker_id("second")
        .lease(Duration::from_millis(200))
        .run(rows(4))
        .await
        .unwrap();
    assert!(report.ambiguous.is_empty(), "{report:?}");
    assert_eq!(report.sent, 4, "{report:?}");
    let per_cf = per_cf.lock().unwrap().clone();
    assert_eq!(per_cf.len(), 4);
    assert!(per_cf.values().all(|n| *n == 1), "{per_cf:?}");
}

#[tokio::test]
async fn a_throttled_run_finishes_with_every_row_sent_once() {
    // Three 429s with Retry-After, then success: no row ends failed or ambiguous.
    let (server, per_cf) = strict_server(3, None).await;
    let dir = tempfile::tempdir().unwrap();
    let jpath = dir.path().join("j.sqlite");
    let c = IoClient::builder(SubscriptionKey::new("k"))
        .base_url(base(&server))
        .retry(fast_retry())
        .rate_limit(Some(50.0))
        .build()
        .unwrap();
    let report = BulkSender::new(c, journal(&jpath), template())
        .check_profile(false)
        .run(rows(6))
        .await
        .unwrap();
    assert_eq!(report.sent, 6, "{report:?}");
    assert!(report.is_complete_success());
    assert!(per_cf.lock().unwrap().values().all(|n| *n == 1));
    let j = entries(&jpath);
    assert_eq!(j.values().map(|e| e.attempts).sum::<u32>(), 9);
}

#[tokio::test]
async fn a_201_whose_id_is_not_a_ulid_is_recorded_as_sent_with_that_id() {
    let (server, per_cf) =
        strict_server(0, Some(serde_json::json!({"id": "not-a-ulid-123"}))).await;
    let dir = tempfile::tempdir().unwrap();
    let jpath = dir.path().join("j.sqlite");
    let report = BulkSender::new(client(&base(&server)), journal(&jpath), template())
        .check_profile(false)
        .run(rows(1))
        .await
        .unwrap();
    assert_eq!(report.sent, 1, "{report:?}");
    assert!(report.failed.is_empty());
    match &entries(&jpath)["r0"].state {
        RowState::Sent { message_id, .. } => assert_eq!(message_id.as_str(), "not-a-ulid-123"),
        other => panic!("{other:?}"),
    }
    // Read back from the file, a rerun knows it was sent and sends nothing.
    let again = BulkSender::new(client(&base(&server)), journal(&jpath), template())
        .check_profile(false)
        .run(rows(1))
        .await
        .unwrap();
    assert_eq!((again.sent, again.already_sent), (0, 1));
    assert_eq!(per_cf.lock().unwrap().values().sum::<usize>(), 1);
}

#[tokio::test]
async fn a_201_without_a_usable_id_is_ambiguous_not_failed() {
    let (server, per_cf) = strict_server(0, Some(serde_json::json!({"message": "ok"}))).await;
    let dir = tempfile::tempdir().unwrap();
    let jpath = dir.path().join("j.sqlite");
    for _ in 0..2 {
        let report = BulkSender::new(client(&base(&server)), journal(&jpath), template())
            .check_profile(false)
            .run(rows(1))
            .await
            .unwrap();
        assert_eq!(report.ambiguous, vec!["r0".to_owned()], "{report:?}");
        assert!(report.failed.is_empty());
    }
    // Never sent again: the message exists.
    assert_eq!(per_cf.lock().unwrap().values().sum::<usize>(), 1);
}

#[tokio::test]
async fn two_senders_on_one_sqlite_file_split_the_rows() {
    const N: usize = 60;
    let mock = IoMock::start(checked(MockConfig {
        latency: Duration::from_millis(3),
        ..MockConfig::default()
    }))
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let jpath = dir.path().join("j.sqlite");
    let a = BulkSender::new(client(&mock.base_url()), journal(&jpath), template()).concurrency(4);
    let b = BulkSender::new(client(&mock.base_url()), journal(&jpath), template()).concurrency(4);
    let (ra, rb) = tokio::join!(a.run(rows(N)), b.run(rows(N)));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.sent + rb.sent, N, "{ra:?} {rb:?}");
    assert_eq!(ra.sent + ra.already_sent, N);
    assert_eq!(rb.sent + rb.already_sent, N);
    let mut per_cf: BTreeMap<String, usize> = BTreeMap::new();
    for m in mock.messages() {
        *per_cf
            .entry(m.message.fiscal_code().to_string())
            .or_default() += 1;
    }
    assert_eq!(per_cf.len(), N);
    assert!(per_cf.values().all(|n| *n == 1), "{per_cf:?}");
}
