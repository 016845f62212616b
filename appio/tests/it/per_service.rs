//! One client per service: each row of a multi-ente job goes out with its ente's key.

use std::collections::BTreeMap;
use std::sync::Arc;

use appio::bulk::{BulkSender, FailureReason, Journal, RowOutcome, ServiceClients, SqliteJournal};
use appio::mock::{MockConfig, MockServer as IoMock};
use appio::{IoClient, SubscriptionKey};

use crate::bulk::{row, template};
use crate::common::fast_retry;
use crate::manage::{manage, payload};
use crate::schema::checked;

fn client(base: &str, key: &str) -> IoClient {
    IoClient::builder(SubscriptionKey::new(key))
        .base_url(base)
        .retry(fast_retry())
        .build()
        .unwrap()
}

#[tokio::test]
async fn each_row_is_sent_with_the_key_of_its_service() {
    let mock = IoMock::start(checked(MockConfig {
        accepted_keys: vec!["manage".into(), "default-key".into()],
        ..MockConfig::default()
    }))
    .await
    .unwrap();
    let m = manage(&mock.base_url(), "manage");
    let a = m.create_service(&payload("Comune A")).await.unwrap().id;
    let b = m.create_service(&payload("Comune B")).await.unwrap().id;
    let (ka, _) = mock.service_keys(a.as_str()).unwrap();
    let (_, kb) = mock.service_keys(b.as_str()).unwrap();
    let clients = ServiceClients::new()
        .column("ente")
        .with("comune-a", client(&mock.base_url(), &ka))
        .with("comune-b", client(&mock.base_url(), &kb));

    let mut rows = Vec::new();
    for i in 0..20 {
        rows.push(row(i).field("ente", if i % 3 == 0 { "comune-b" } else { "comune-a" }));
    }
    rows.push(row(20).field("ente", "comune-c")); // no key configured
    rows.push(row(21)); // no column
    let dir = tempfile::tempdir().unwrap();
    let jpath = dir.path().join("j.sqlite");
    let journal: Arc<dyn Journal> = Arc::new(SqliteJournal::open(&jpath).unwrap());
    let outcomes = Arc::new(std::sync::Mutex::new(BTreeMap::new()));
    let o2 = outcomes.clone();
    // The default client has a key IO accepts: it must still never be used for these rows.
    let sender = BulkSender::new(client(&mock.base_url(), "default-key"), journal, template())
        .per_service(clients.clone())
        .concurrency(6)
        .on_progress(move |p| {
            o2.lock()
                .unwrap()
                .insert(p.key.to_owned(), p.outcome.clone());
        });
    let report = sender.run(rows.clone()).await.unwrap();
    assert_eq!(report.sent, 20);
    assert_eq!(report.failed.get(&FailureReason::NoServiceKey), Some(&2));

    let by_cf: BTreeMap<String, Option<String>> = mock
        .messages()
        .into_iter()
        .map(|m| (m.message.fiscal_code().to_string(), m.sent_by))
        .collect();
    assert_eq!(by_cf.len(), 20);
    for (i, r) in rows.iter().enumerate().take(20) {
        let want = if i % 3 == 0 { &b } else { &a };
        assert_eq!(
            by_cf.get(&r.fiscal_code).unwrap().as_deref(),
            Some(want.as_str()),
            "row {i}"
        );
    }
    let out = outcomes.lock().unwrap().clone();
    assert!(matches!(
        &out["r20"],
        RowOutcome::Failed { reason: FailureReason::NoServiceKey, detail } if detail.contains("comune-c")
    ));
    assert!(matches!(
        &out["r21"],
        RowOutcome::Failed {
            reason: FailureReason::NoServiceKey,
            ..
        }
    ));

    // Once comune-c's key is configured, a rerun sends exactly the two missing rows.
    let c = m.create_service(&payload("Comune C")).await.unwrap().id;
    let (kc, _) = mock.service_keys(c.as_str()).unwrap();
    let mut rows2 = rows.clone();
    rows2[21] = row(21).field("ente", "comune-c");
    let journal: Arc<dyn Journal> = Arc::new(SqliteJournal::open(&jpath).unwrap());
    let report = BulkSender::new(client(&mock.base_url(), "default-key"), journal, template())
        .per_service(clients.with("comune-c", client(&mock.base_url(), &kc)))
        .run(rows2)
        .await
        .unwrap();
    assert_eq!(report.sent, 2, "{report:?}");
    assert_eq!(report.already_sent, 20);
    let sent_by_c = mock
        .messages()
        .iter()
        .filter(|m| m.sent_by.as_deref() == Some(c.as_str()))
        .count();
    assert_eq!(sent_by_c, 2);
    assert_eq!(mock.messages().len(), 22);
    assert!(
        mock.request_violations().is_empty(),
        "{:?}",
        mock.request_violations()
    );
}
