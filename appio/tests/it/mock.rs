//! The IO Services mock (feature `mock`) behaves like the API for the implemented operations.

use appio::mock::{MockConfig, MockProfile, MockServer};
use appio::{
    ActivationStatus, ApiError, Error, ForbiddenReason, IoClient, Markdown, NewMessage,
    RetryPolicy, Subject, SubscriptionKey,
};

use crate::common::{cf, client, text};
use crate::schema::checked;

fn message(n: usize) -> NewMessage {
    NewMessage::builder(
        cf(n),
        Subject::new(text(20)).unwrap(),
        Markdown::new(text(100)).unwrap(),
    )
    .build()
    .unwrap()
}

#[tokio::test]
async fn profiles_messages_and_activations() {
    let mock = MockServer::start(checked(MockConfig::default()))
        .await
        .unwrap();
    mock.set_profile(cf(2), MockProfile::Blocked);
    mock.set_profile(cf(3), MockProfile::NotFound);
    mock.set_profile(cf(4), MockProfile::RecipientForbidden);
    let c = client(&mock.base_url());
    assert!(c.get_profile(&cf(1)).await.unwrap().sender_allowed);
    assert!(!c.get_profile(&cf(2)).await.unwrap().sender_allowed);
    assert!(matches!(
        c.get_profile(&cf(3)).await.unwrap_err(),
        Error::Api(ApiError::ProfileNotFound { .. })
    ));
    assert!(matches!(
        c.submit_message(&message(4)).await.unwrap_err(),
        Error::Api(ApiError::Forbidden {
            reason: ForbiddenReason::RecipientForbidden,
            ..
        })
    ));

    let created = c.submit_message(&message(1)).await.unwrap();
    let got = mock.messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, created.id);
    assert_eq!(got[0].message, message(1));
    let d = c.get_message(&cf(1), &created.id).await.unwrap();
    assert_eq!(d.message.content.as_ref(), Some(message(1).content()));
    assert!(matches!(
        c.get_message(&cf(2), &created.id).await.unwrap_err(),
        Error::Api(ApiError::NotFound { .. })
    ));

    assert!(matches!(
        c.get_activation(&cf(1)).await.unwrap_err(),
        Error::Api(ApiError::NotFound { .. })
    ));
    let a = c
        .upsert_activation(&cf(1), ActivationStatus::Active)
        .await
        .unwrap();
    assert_eq!(a.version, 0);
    let a = c
        .upsert_activation(&cf(1), ActivationStatus::Inactive)
        .await
        .unwrap();
    assert_eq!(
        (a.version, a.status.clone()),
        (1, ActivationStatus::Inactive)
    );
    assert_eq!(c.get_activation(&cf(1)).await.unwrap(), a);
}

#[tokio::test]
async fn refuses_invalid_messages_and_wrong_keys() {
    // Unchecked: this test sends a bad body on purpose, to see the mock's own answer.
    let mock = MockServer::start(MockConfig {
        accepted_keys: vec!["good".into()],
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let bad_key = IoClient::builder(SubscriptionKey::new("bad"))
        .base_url(mock.base_url())
        .build()
        .unwrap();
    assert!(matches!(
        bad_key.get_profile(&cf(1)).await.unwrap_err(),
        Error::Api(ApiError::Unauthorized { .. })
    ));
    // A raw request with a too-short markdown is refused with a 400 naming the field.
    let body = serde_json::json!({"fiscal_code": cf(1).as_str(), "content": {"subject": text(20), "markdown": "short"}});
    let resp = reqwest::Client::new()
        .post(format!("{}/messages", mock.base_url()))
        .header("Ocp-Apim-Subscription-Key", "good")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    let p: serde_json::Value = resp.json().await.unwrap();
    assert!(
        p["detail"].as_str().unwrap().contains("content.markdown"),
        "{p}"
    );
    assert!(mock.messages().is_empty());
}

#[tokio::test]
async fn injected_faults_are_retried_by_the_client() {
    let mock = MockServer::start(checked(MockConfig {
        throttle_rate: 0.2,
        server_error_rate: 0.2,
        ..MockConfig::default()
    }))
    .await
    .unwrap();
    let c = IoClient::builder(SubscriptionKey::new("k"))
        .base_url(mock.base_url())
        .retry(RetryPolicy {
            max_retries: 20,
            ..crate::common::fast_retry()
        })
        .build()
        .unwrap();
    for i in 0..30 {
        c.submit_message(&message(i)).await.unwrap();
    }
    assert_eq!(mock.messages().len(), 30);
    assert!(mock.fault_count() > 0);
    assert_eq!(mock.request_count(), 30 + mock.fault_count());
}
