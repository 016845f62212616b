//! Bulk sending of 10,000 App IO messages to the local IO mock with 10% injected faults (5%
//! 429, 5% 500), journal on disk (SQLite, group commit), profile check on. Each iteration also
//! checks that no row was lost or sent twice.
//!
//! Reference in the same run: the same 10,000 submissions straight through the client with the
//! same concurrency, no profile check and no journal (what a fire-and-forget loop costs), so
//! the ratio shows what the journal and the profile check add.
#![allow(clippy::unwrap_used, missing_docs)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use appio::bulk::{BulkRow, BulkSender, RowState, SqliteJournal, Template};
use appio::mock::{MockConfig, MockServer};
use appio::{CodiceFiscale, IoClient, Markdown, NewMessage, RetryPolicy, Subject, SubscriptionKey};
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::task::JoinSet;

const N: usize = 10_000;
const CONCURRENCY: usize = 64;

const TEMPLATE: &str = r#"{
  "subject": "Avviso TARI {{anno}} per {{nome}}",
  "markdown": "Gentile {{nome}}, le ricordiamo che e' disponibile l'avviso di pagamento della TARI {{anno}}. Importo: {{importo}} euro.",
  "payment": {"notice_number": "{{avviso}}", "amount": "{{importo}}", "payee": "00488410010"}
}"#;

fn cf(n: usize) -> String {
    const ODD: [u32; 36] = [
        1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3,
        6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
    ];
    let mut letters = [b'A'; 6];
    let mut v = n;
    for l in letters.iter_mut().rev() {
        *l = b'A' + (v % 26) as u8;
        v /= 26;
    }
    let mut s = String::from_utf8(letters.to_vec()).unwrap();
    s.push_str("85T10A562");
    let mut sum = 0u32;
    for (i, c) in s.bytes().enumerate() {
        let idx = if c.is_ascii_digit() {
            c - b'0'
        } else {
            c - b'A' + 10
        } as usize;
        sum += if i % 2 == 0 {
            ODD[idx]
        } else if idx < 10 {
            idx as u32
        } else {
            idx as u32 - 10
        };
    }
    s.push(char::from(b'A' + (sum % 26) as u8));
    s
}

fn rows() -> Vec<BulkRow> {
    let seg = pagopa::SegregationCode::new(1).unwrap();
    (0..N)
        .map(|i| {
            BulkRow::new(format!("r{i}"), cf(i))
                .field("nome", format!("Cittadino {i}"))
                .field("anno", "2025")
                .field("importo", format!("{}.{:02}", 10 + i % 500, i % 100))
                .field(
                    "avviso",
                    pagopa::NoticeNumber::new_aux3(seg, i as u64)
                        .unwrap()
                        .as_str(),
                )
        })
        .collect()
}

fn faults() -> MockConfig {
    MockConfig {
        throttle_rate: 0.05,
        server_error_rate: 0.05,
        ..MockConfig::default()
    }
}

fn client(base: &str) -> IoClient {
    IoClient::builder(SubscriptionKey::new("bench-key"))
        .base_url(base)
        .max_concurrency(CONCURRENCY)
        .retry(RetryPolicy {
            max_retries: 12,
            initial_backoff: Duration::from_millis(5),
            max_backoff: Duration::from_millis(100),
            max_retry_after: Duration::from_secs(1),
        })
        .build()
        .unwrap()
}

async fn bulk_once(rows: &[BulkRow]) {
    let mock = MockServer::start(faults()).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let jpath = dir.path().join("journal.sqlite");
    let journal = Arc::new(SqliteJournal::open(&jpath).unwrap());
    let template = Template::from_json(TEMPLATE).unwrap();
    let report = BulkSender::new(client(&mock.base_url()), journal, template)
        .concurrency(CONCURRENCY)
        .run(rows.iter().cloned())
        .await
        .unwrap();
    // Zero lost, zero duplicated.
    assert_eq!(report.sent, N, "{report:?}");
    let mut per_cf: BTreeMap<String, usize> = BTreeMap::new();
    for m in mock.messages() {
        *per_cf
            .entry(m.message.fiscal_code().to_string())
            .or_default() += 1;
    }
    assert_eq!(per_cf.len(), N);
    assert!(per_cf.values().all(|&n| n == 1));
    let entries = SqliteJournal::read_entries(&jpath).unwrap();
    assert_eq!(entries.len(), N);
    assert!(
        entries
            .iter()
            .all(|e| matches!(e.state, RowState::Sent { .. }))
    );
    assert!(mock.fault_count() > 0);
}

async fn reference_once(messages: &[NewMessage]) {
    let mock = MockServer::start(faults()).await.unwrap();
    let c = client(&mock.base_url());
    let mut set = JoinSet::new();
    let sem = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
    for m in messages {
        let m = m.clone();
        let c = c.clone();
        let permit = sem.clone().acquire_owned().await.unwrap();
        set.spawn(async move {
            let r = c.submit_message(&m).await;
            drop(permit);
            r
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap().unwrap();
    }
    assert_eq!(mock.messages().len(), N);
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let rows = rows();
    let messages: Vec<NewMessage> = rows
        .iter()
        .map(|r| {
            NewMessage::builder(
                r.fiscal_code.parse::<CodiceFiscale>().unwrap(),
                Subject::new("Avviso TARI 2025 per un cittadino").unwrap(),
                Markdown::new("x".repeat(120)).unwrap(),
            )
            .build()
            .unwrap()
        })
        .collect();
    let mut g = c.benchmark_group("appio_bulk_10k_10pct_faults");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(30))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("bulk_sender_journal_profile_check", |b| {
        b.iter(|| rt.block_on(bulk_once(&rows)))
    });
    g.bench_function("reference_plain_submit_loop", |b| {
        b.iter(|| rt.block_on(reference_once(&messages)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
