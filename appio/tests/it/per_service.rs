//! One client per service: each row of a multi-ente job goes out with its ente's key.

use std::collections::BTreeMap;
use std::sync::Arc;

use appio::bulk::{
    BulkSender, FailureReason, Journal, RowOutcome, RowState, ServiceClients, SqliteJournal,
    check_delivery, check_delivery_per_service,
};
use appio::mock::{MockConfig, MockServer as IoMock};
use appio::{IoClient, MessageStatus, SubscriptionKey};

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

#[tokio::test]
async fn delivery_is_checked_with_the_key_of_the_service_that_sent_each_message() {
    let mock = IoMock::start(checked(MockConfig {
        accepted_keys: vec!["manage".into()],
        ..MockConfig::default()
    }))
    .await
    .unwrap();
    let m = manage(&mock.base_url(), "manage");
    let a = m.create_service(&payload("Comune A")).await.unwrap().id;
    let b = m.create_service(&payload("Comune B")).await.unwrap().id;
    let (ka, _) = mock.service_keys(a.as_str()).unwrap();
    let (kb, _) = mock.service_keys(b.as_str()).unwrap();
    let clients = ServiceClients::new()
        .column("ente")
        .with("comune-a", client(&mock.base_url(), &ka))
        .with("comune-b", client(&mock.base_url(), &kb));
    let rows: Vec<_> = (0..12)
        .map(|i| row(i).field("ente", if i % 3 == 0 { "comune-b" } else { "comune-a" }))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let jpath = dir.path().join("j.sqlite");
    let journal: Arc<dyn Journal> = Arc::new(SqliteJournal::open(&jpath).unwrap());
    let report = BulkSender::new(client(&mock.base_url(), &ka), journal.clone(), template())
        .per_service(clients.clone())
        .run(rows)
        .await
        .unwrap();
    assert_eq!(report.sent, 12);
    // The journal records each row's service.
    let entries = journal.load().await.unwrap();
    for (k, e) in &entries {
        let i: usize = k.trim_start_matches('r').parse().unwrap();
        let want = if i.is_multiple_of(3) {
            "comune-b"
        } else {
            "comune-a"
        };
        assert_eq!(e.service.as_deref(), Some(want), "{k}");
    }
    // IO reports comune-b's messages as rejected.
    for msg in mock.messages() {
        if msg.sent_by.as_deref() == Some(b.as_str()) {
            mock.set_message_status(msg.id.clone(), MessageStatus::Rejected);
        }
    }

    // One client for all: IO refuses to show comune-b's messages to comune-a's key.
    let single = check_delivery(&client(&mock.base_url(), &ka), journal.as_ref(), 4)
        .await
        .unwrap();
    assert_eq!(single.checked, 12);
    assert_eq!(single.by_status.get("PROCESSED"), Some(&8));
    assert_eq!(single.errors.len(), 4, "{single:?}");

    // Per service: every message read with its sender's key.
    let d = check_delivery_per_service(&clients, journal.as_ref(), 4)
        .await
        .unwrap();
    assert!(d.errors.is_empty(), "{d:?}");
    assert_eq!(d.checked, 12);
    assert_eq!(d.by_status.get("PROCESSED"), Some(&8));
    assert_eq!(d.by_status.get("REJECTED"), Some(&4));
    for e in journal.load().await.unwrap().values() {
        let RowState::Sent { delivery, .. } = &e.state else {
            panic!("{e:?}")
        };
        let want = if e.service.as_deref() == Some("comune-b") {
            MessageStatus::Rejected
        } else {
            MessageStatus::Processed
        };
        assert_eq!(delivery.as_ref(), Some(&want), "{}", e.key);
    }

    // A service without a client, or a row without a recorded service, is never read with
    // another service's key: reported instead.
    let mut gone = journal.load().await.unwrap()["r1"].clone();
    if let RowState::Sent { delivery, .. } = &mut gone.state {
        *delivery = None;
    }
    gone.service = Some("comune-z".into());
    journal.put(gone).await.unwrap();
    let mut old = journal.load().await.unwrap()["r2"].clone();
    if let RowState::Sent { delivery, .. } = &mut old.state {
        *delivery = None;
    }
    old.service = None;
    journal.put(old).await.unwrap();
    let before = mock.request_count();
    let d = check_delivery_per_service(&clients, journal.as_ref(), 4)
        .await
        .unwrap();
    assert_eq!(d.checked, 12);
    let mut errs: Vec<_> = d
        .errors
        .iter()
        .map(|(k, w)| (k.as_str(), w.as_str()))
        .collect();
    errs.sort_unstable();
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(errs[0].0, "r1");
    assert!(errs[0].1.contains("comune-z"), "{errs:?}");
    assert_eq!(errs[1].0, "r2");
    assert!(errs[1].1.contains("no service"), "{errs:?}");
    // Final statuses are not read again; the two rows were not read at all.
    assert_eq!(mock.request_count(), before);
    assert!(
        mock.request_violations().is_empty(),
        "{:?}",
        mock.request_violations()
    );
}
