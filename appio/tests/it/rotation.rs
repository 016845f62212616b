//! Key rotation under a running bulk send: nothing lost, nothing doubled, the old keys refused.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use appio::bulk::{BulkSender, Journal, SqliteJournal};
use appio::mock::{MockConfig, MockServer as IoMock};
use appio::services::KeyType;
use appio::{Error, IoClient, RotationError, SubscriptionKey, rotate_keys};

use crate::bulk::{rows, template};
use crate::common::{cf, fast_retry};
use crate::manage::{manage, payload};
use crate::schema::checked;

const MANAGE_KEY: &str = "the-manage-key";

async fn status_with(mock: &IoMock, key: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{}/profiles", mock.base_url()))
        .header("Ocp-Apim-Subscription-Key", key)
        .json(&serde_json::json!({"fiscal_code": cf(1).as_str()}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn rotating_keys_during_a_bulk_send_loses_and_doubles_nothing() {
    let mock = IoMock::start(checked(MockConfig {
        accepted_keys: vec![MANAGE_KEY.to_owned()],
        latency: Duration::from_millis(15),
        ..MockConfig::default()
    }))
    .await
    .unwrap();
    let m = manage(&mock.base_url(), MANAGE_KEY);
    let service = m.create_service(&payload("TARI")).await.unwrap().id;
    let (primary, secondary) = mock.service_keys(service.as_str()).unwrap();

    let client = IoClient::builder(SubscriptionKey::new(primary.clone()))
        .base_url(mock.base_url())
        .retry(fast_retry())
        .max_concurrency(12)
        // 480 requests at 400/s: the send lasts at least 1.2 s however fast the machine is,
        // so the rotation (four manage calls) happens while it runs.
        .rate_limit(Some(400.0))
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal: Arc<dyn Journal> =
        Arc::new(SqliteJournal::open(&dir.path().join("j.sqlite")).unwrap());
    let done = Arc::new(AtomicUsize::new(0));
    let done2 = done.clone();
    let sender = BulkSender::new(client.clone(), journal, template())
        .concurrency(12)
        .on_progress(move |p| {
            done2.store(p.done, Ordering::SeqCst);
        });
    const N: usize = 240;
    let run = tokio::spawn(async move { sender.run(rows(N)).await });

    // Rotate while the send is in full swing.
    while done.load(Ordering::SeqCst) < N / 4 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let rotation = rotate_keys(&m, &service, &client, Duration::from_secs(10))
        .await
        .unwrap();
    let during = done.load(Ordering::SeqCst);
    assert!(
        during < N,
        "the rotation ended after the send ({during} rows)"
    );
    assert_eq!(rotation.was_using, KeyType::Primary);
    assert_eq!(rotation.now_using, KeyType::Secondary);
    assert_eq!(&client.key(), rotation.keys.get(KeyType::Secondary));

    let report = run.await.unwrap().unwrap();
    assert!(report.is_complete_success(), "{report:?}");
    assert_eq!(report.sent, N);
    let msgs = mock.messages();
    assert_eq!(msgs.len(), N, "every row delivered exactly once");
    let distinct: BTreeSet<&str> = msgs
        .iter()
        .map(|m| m.message.fiscal_code().as_str())
        .collect();
    assert_eq!(distinct.len(), N);
    // No request was refused: the old primary was revoked only once nothing used it.
    assert_eq!(mock.unauthorized_count(), 0);

    // Both old keys are refused, the new ones accepted.
    assert_eq!(status_with(&mock, &primary).await, 401);
    assert_eq!(status_with(&mock, &secondary).await, 401);
    let (p2, s2) = mock.service_keys(service.as_str()).unwrap();
    assert_eq!(status_with(&mock, &p2).await, 200);
    assert_eq!(status_with(&mock, &s2).await, 200);
    assert_eq!(rotation.keys.primary.expose_secret(), p2);
    assert_eq!(client.key().expose_secret(), s2);

    // A second rotation goes back to the primary.
    let again = rotate_keys(&m, &service, &client, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(again.now_using, KeyType::Primary);
    assert_eq!(status_with(&mock, &s2).await, 401);
    client.get_profile(&cf(3)).await.unwrap();
    assert!(
        mock.request_violations().is_empty(),
        "{:?}",
        mock.request_violations()
    );
}

#[tokio::test]
async fn a_client_with_a_foreign_key_is_not_rotated() {
    let mock = IoMock::start(checked(MockConfig {
        accepted_keys: vec![MANAGE_KEY.to_owned(), "foreign".to_owned()],
        ..MockConfig::default()
    }))
    .await
    .unwrap();
    let m = manage(&mock.base_url(), MANAGE_KEY);
    let service = m.create_service(&payload("TARI")).await.unwrap().id;
    let before = mock.service_keys(service.as_str()).unwrap();
    let client = IoClient::builder(SubscriptionKey::new("foreign"))
        .base_url(mock.base_url())
        .build()
        .unwrap();
    let e = rotate_keys(&m, &service, &client, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Rotation(RotationError::KeyNotOfService { .. })),
        "{e}"
    );
    assert_eq!(mock.service_keys(service.as_str()).unwrap(), before);
}

#[tokio::test]
async fn a_drain_timeout_keeps_the_old_key_valid() {
    // Four loops keep a request in flight at every moment; a zero drain cannot wait for them.
    let mock = IoMock::start(MockConfig {
        accepted_keys: vec![MANAGE_KEY.to_owned()],
        latency: Duration::from_millis(100),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let m = manage(&mock.base_url(), MANAGE_KEY);
    let service = m.create_service(&payload("TARI")).await.unwrap().id;
    let (primary, _) = mock.service_keys(service.as_str()).unwrap();
    let client = IoClient::builder(SubscriptionKey::new(primary.clone()))
        .base_url(mock.base_url())
        .build()
        .unwrap();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut loops = Vec::new();
    for i in 0..4 {
        let (c, stop) = (client.clone(), stop.clone());
        loops.push(tokio::spawn(async move {
            let mut n = 0usize;
            while !stop.load(Ordering::SeqCst) {
                c.get_profile(&cf(i)).await?;
                n += 1;
            }
            Ok::<usize, Error>(n)
        }));
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    let r = rotate_keys(&m, &service, &client, Duration::ZERO).await;
    match r {
        Err(Error::Rotation(RotationError::DrainTimeout { in_flight, .. })) => {
            assert!(in_flight >= 1);
        }
        other => panic!("expected a drain timeout, got {other:?}"),
    }
    // The old primary still works: it was not regenerated.
    assert_eq!(status_with(&mock, &primary).await, 200);
    stop.store(true, Ordering::SeqCst);
    for l in loops {
        // Every request succeeded, before and after the switch.
        assert!(l.await.unwrap().unwrap() >= 1);
    }
    assert_eq!(mock.unauthorized_count(), 0);
    let (_, secondary) = mock.service_keys(service.as_str()).unwrap();
    assert_eq!(client.key().expose_secret(), secondary);
}
