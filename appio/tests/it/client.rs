//! The client against wiremock: every documented status, retries, throttling.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use appio::{
    ActivationStatus, ApiError, Error, ForbiddenReason, IoClient, Markdown, MessageId,
    MessageStatus, NewMessage, NotificationStatus, RetryPolicy, Subject, SubscriptionKey,
    TransportError,
};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::common::{base, cf, client, fast_retry, text};

fn message(n: usize) -> NewMessage {
    NewMessage::builder(
        cf(n),
        Subject::new(text(20)).unwrap(),
        Markdown::new(text(100)).unwrap(),
    )
    .build()
    .unwrap()
}

fn problem(status: u16, title: &str, detail: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(serde_json::json!({
        "type": "about:blank", "title": title, "status": status, "detail": detail
    }))
}

/// Answers with the templates in turn, then repeats the last one; counts calls.
struct Sequence {
    answers: Vec<ResponseTemplate>,
    calls: Arc<AtomicUsize>,
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.calls.fetch_add(1, Ordering::SeqCst);
        self.answers[n.min(self.answers.len() - 1)].clone()
    }
}

async fn mount_sequence(
    server: &MockServer,
    m: &str,
    p: &str,
    answers: Vec<ResponseTemplate>,
) -> Arc<AtomicUsize> {
    let calls = Arc::new(AtomicUsize::new(0));
    Mock::given(method(m))
        .and(path(p))
        .respond_with(Sequence {
            answers,
            calls: calls.clone(),
        })
        .mount(server)
        .await;
    calls
}

#[tokio::test]
async fn get_profile_sends_key_and_body() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/profiles"))
        .and(header("Ocp-Apim-Subscription-Key", "test-key-123"))
        .and(body_json(
            serde_json::json!({"fiscal_code": cf(1).as_str()}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"sender_allowed": true, "preferred_languages": ["it_IT"]}),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let p = client(&base(&server)).get_profile(&cf(1)).await.unwrap();
    assert!(p.sender_allowed);
    assert_eq!(p.preferred_languages, vec!["it_IT".to_owned()]);
}

#[tokio::test]
async fn profile_not_found_and_blocked() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/v1/profiles"))
        .and(body_json(
            serde_json::json!({"fiscal_code": cf(1).as_str()}),
        ))
        .respond_with(problem(
            404,
            "Profile not found",
            "The profile you requested was not found in the system.",
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/profiles"))
        .and(body_json(
            serde_json::json!({"fiscal_code": cf(2).as_str()}),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"sender_allowed": false})),
        )
        .mount(&server)
        .await;
    let c = client(&base(&server));
    let err = c.get_profile(&cf(1)).await.unwrap_err();
    assert!(
        matches!(err, Error::Api(ApiError::ProfileNotFound { .. })),
        "{err}"
    );
    assert!(!c.get_profile(&cf(2)).await.unwrap().sender_allowed);
}

#[tokio::test]
async fn submit_message_returns_id_and_location() {
    let server = MockServer::start().await;
    let m = message(5);
    Mock::given(method("POST"))
        .and(path("/api/v1/messages"))
        .and(body_json(serde_json::to_value(&m).unwrap()))
        .respond_with(
            ResponseTemplate::new(201)
                .insert_header("Location", "/api/v1/messages/X/01BX9NSMKVXXS5PSP2FATZMYYY")
                .set_body_json(serde_json::json!({"id": "01BX9NSMKVXXS5PSP2FATZMYYY"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let created = client(&base(&server)).submit_message(&m).await.unwrap();
    assert_eq!(created.id.as_str(), "01BX9NSMKVXXS5PSP2FATZMYYY");
    assert_eq!(
        created.location.as_deref(),
        Some("/api/v1/messages/X/01BX9NSMKVXXS5PSP2FATZMYYY")
    );
}

#[tokio::test]
async fn a_201_without_a_usable_id_is_a_malformed_response() {
    let server = MockServer::start().await;
    for body in [
        serde_json::json!({}),
        serde_json::json!({"id": ""}),
        serde_json::json!({"id": ".."}),
        serde_json::json!({"id": "a\u{0}b"}),
    ] {
        server.reset().await;
        mount_sequence(
            &server,
            "POST",
            "/api/v1/messages",
            vec![ResponseTemplate::new(201).set_body_json(body)],
        )
        .await;
        let err = client(&base(&server))
            .submit_message(&message(1))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Api(ApiError::MalformedResponse { .. })),
            "{err}"
        );
        // The message exists: a bulk sender must not send it again.
        assert!(err.may_have_been_delivered(), "{err}");
    }
}

#[tokio::test]
async fn a_201_with_an_id_that_is_not_a_ulid_keeps_the_id_as_given() {
    let server = MockServer::start().await;
    for id in ["not-a-ulid-123", "../../etc"] {
        server.reset().await;
        mount_sequence(
            &server,
            "POST",
            "/api/v1/messages",
            vec![ResponseTemplate::new(201).set_body_json(serde_json::json!({ "id": id }))],
        )
        .await;
        let created = client(&base(&server))
            .submit_message(&message(1))
            .await
            .unwrap();
        assert_eq!(created.id.as_str(), id);
        assert!(!created.id.is_well_formed());
        // Put in a URL path percent-encoded: it cannot leave its segment.
        let req = appio::api::get_message_request(
            "http://127.0.0.1:9/api/v1",
            &"RSSMRA85T10A562S".parse().unwrap(),
            &created.id,
        )
        .unwrap();
        let path = req.uri().path().to_owned();
        assert!(
            path.starts_with("/api/v1/messages/RSSMRA85T10A562S/"),
            "{path}"
        );
        assert_eq!(path.matches('/').count(), 5, "{path}");
    }
}

#[tokio::test]
async fn status_400_is_bad_request_with_the_problem() {
    let server = MockServer::start().await;
    let calls = mount_sequence(
        &server,
        "POST",
        "/api/v1/messages",
        vec![problem(400, "Invalid NewMessage", "value [\"x\"] at [root.content.markdown] is not a valid string of length >= 80 and < 10001")],
    )
    .await;
    let err = client(&base(&server))
        .submit_message(&message(1))
        .await
        .unwrap_err();
    match &err {
        Error::Api(ApiError::BadRequest { problem: Some(p) }) => {
            assert!(
                p.detail
                    .as_deref()
                    .unwrap()
                    .contains("root.content.markdown")
            );
        }
        other => panic!("{other}"),
    }
    assert!(err.to_string().contains("Invalid NewMessage"), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 1, "400 is not retried");
}

#[tokio::test]
async fn status_401_from_api_management() {
    let server = MockServer::start().await;
    let calls = mount_sequence(
        &server,
        "POST",
        "/api/v1/profiles",
        vec![ResponseTemplate::new(401).set_body_json(serde_json::json!({
            "statusCode": 401,
            "message": "Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."
        }))],
    )
    .await;
    let err = client(&base(&server))
        .get_profile(&cf(1))
        .await
        .unwrap_err();
    match &err {
        Error::Api(ApiError::Unauthorized { problem: Some(p) }) => {
            assert_eq!(p.status, Some(401));
            assert!(
                p.detail
                    .as_deref()
                    .unwrap()
                    .contains("invalid subscription key")
            );
        }
        other => panic!("{other}"),
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn status_403_recipient_forbidden_versus_not_allowed() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "POST",
        "/api/v1/messages",
        vec![problem(
            403,
            "Recipient forbidden",
            "You are not allowed to issue requests for the recipient.",
        )],
    )
    .await;
    mount_sequence(
        &server,
        "POST",
        "/api/v1/profiles",
        vec![problem(
            403,
            "You are not allowed here",
            "You do not have enough permission to complete the operation you requested",
        )],
    )
    .await;
    let c = client(&base(&server));
    let err = c.submit_message(&message(1)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Api(ApiError::Forbidden {
                reason: ForbiddenReason::RecipientForbidden,
                ..
            })
        ),
        "{err}"
    );
    let err = c.get_profile(&cf(1)).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Api(ApiError::Forbidden {
                reason: ForbiddenReason::NotAllowed,
                ..
            })
        ),
        "{err}"
    );
    // Other titles are kept verbatim; a bare 403 still parses.
    server.reset().await;
    mount_sequence(
        &server,
        "POST",
        "/api/v1/profiles",
        vec![problem(403, "Production call forbidden", "x")],
    )
    .await;
    let err = c.get_profile(&cf(1)).await.unwrap_err();
    assert!(matches!(
        err,
        Error::Api(ApiError::Forbidden {
            reason: ForbiddenReason::ProductionCallForbidden,
            ..
        })
    ));
    server.reset().await;
    mount_sequence(
        &server,
        "POST",
        "/api/v1/profiles",
        vec![ResponseTemplate::new(403)],
    )
    .await;
    let err = c.get_profile(&cf(1)).await.unwrap_err();
    assert!(matches!(
        err,
        Error::Api(ApiError::Forbidden {
            reason: ForbiddenReason::Other(_),
            problem: None
        })
    ));
}

#[tokio::test]
async fn status_404_on_a_message_is_not_found() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/api/v1/messages/{}/01BX9NSMKVXXS5PSP2FATZMYYY",
            cf(1)
        )))
        .respond_with(problem(
            404,
            "Message not found",
            "No message found for the provided ID.",
        ))
        .mount(&server)
        .await;
    let id = MessageId::new("01BX9NSMKVXXS5PSP2FATZMYYY").unwrap();
    let err = client(&base(&server))
        .get_message(&cf(1), &id)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Api(ApiError::NotFound { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn status_429_with_retry_after_is_honoured() {
    let server = MockServer::start().await;
    let calls = mount_sequence(
        &server,
        "POST",
        "/api/v1/profiles",
        vec![
            ResponseTemplate::new(429).insert_header("Retry-After", "1"),
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"sender_allowed": true})),
        ],
    )
    .await;
    let start = Instant::now();
    assert!(
        client(&base(&server))
            .get_profile(&cf(1))
            .await
            .unwrap()
            .sender_allowed
    );
    // Lower bound only: the retry waited at least the second the server asked for.
    assert!(start.elapsed() >= Duration::from_secs(1));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn status_429_pauses_other_requests_of_the_same_client() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "POST",
        "/api/v1/profiles",
        vec![
            ResponseTemplate::new(429).insert_header("Retry-After", "1"),
            ResponseTemplate::new(200).set_body_json(serde_json::json!({"sender_allowed": true})),
        ],
    )
    .await;
    let c = client(&base(&server));
    c.get_profile(&cf(1)).await.unwrap();
    // The pause is over; a later request goes straight through.
    let start = Instant::now();
    c.get_profile(&cf(2)).await.unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn status_429_without_retry_after_backs_off_then_gives_up() {
    let server = MockServer::start().await;
    let calls = mount_sequence(
        &server,
        "POST",
        "/api/v1/messages",
        vec![ResponseTemplate::new(429)],
    )
    .await;
    let c = IoClient::builder(SubscriptionKey::new("k"))
        .base_url(base(&server))
        .retry(RetryPolicy {
            max_retries: 3,
            ..fast_retry()
        })
        .build()
        .unwrap();
    let err = c.submit_message(&message(1)).await.unwrap_err();
    assert!(
        matches!(err, Error::Api(ApiError::Throttled { retry_after: None })),
        "{err}"
    );
    assert!(!err.may_have_been_delivered());
    assert_eq!(
        calls.load(Ordering::SeqCst),
        4,
        "first attempt and three retries"
    );
}

#[tokio::test]
async fn retry_after_as_http_date() {
    let mut h = http::HeaderMap::new();
    h.insert(
        "retry-after",
        "Wed, 21 Oct 2015 07:28:30 GMT".parse().unwrap(),
    );
    let now = chrono::DateTime::parse_from_rfc3339("2015-10-21T07:28:00Z")
        .unwrap()
        .to_utc();
    assert_eq!(
        appio::api::retry_after(&h, now),
        Some(Duration::from_secs(30))
    );
    let later = chrono::DateTime::parse_from_rfc3339("2016-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    assert_eq!(appio::api::retry_after(&h, later), Some(Duration::ZERO));
    h.insert("retry-after", "soon".parse().unwrap());
    assert_eq!(appio::api::retry_after(&h, now), None);
}

#[tokio::test]
async fn status_5xx_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    let calls = mount_sequence(
        &server,
        "POST",
        "/api/v1/messages",
        vec![
            problem(
                500,
                "Internal server error",
                "The message cannot be delivered",
            ),
            ResponseTemplate::new(503),
            ResponseTemplate::new(201)
                .set_body_json(serde_json::json!({"id": "01BX9NSMKVXXS5PSP2FATZMYYY"})),
        ],
    )
    .await;
    let created = client(&base(&server))
        .submit_message(&message(1))
        .await
        .unwrap();
    assert_eq!(created.id.as_str(), "01BX9NSMKVXXS5PSP2FATZMYYY");
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn status_5xx_gives_up_after_the_cap() {
    let server = MockServer::start().await;
    let calls = mount_sequence(
        &server,
        "POST",
        "/api/v1/profiles",
        vec![problem(500, "Internal server error", "boom")],
    )
    .await;
    let c = IoClient::builder(SubscriptionKey::new("k"))
        .base_url(base(&server))
        .retry(RetryPolicy {
            max_retries: 2,
            ..fast_retry()
        })
        .build()
        .unwrap();
    let err = c.get_profile(&cf(1)).await.unwrap_err();
    assert!(
        matches!(err, Error::Api(ApiError::Server { status: 500, .. })),
        "{err}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_504_on_submit_is_not_retried_and_flagged_as_maybe_delivered() {
    let server = MockServer::start().await;
    let calls = mount_sequence(
        &server,
        "POST",
        "/api/v1/messages",
        vec![ResponseTemplate::new(504)],
    )
    .await;
    let err = client(&base(&server))
        .submit_message(&message(1))
        .await
        .unwrap_err();
    assert!(err.may_have_been_delivered(), "{err}");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // The same status on an idempotent look-up is retried.
    let calls = mount_sequence(
        &server,
        "POST",
        "/api/v1/profiles",
        vec![ResponseTemplate::new(504)],
    )
    .await;
    let c = IoClient::builder(SubscriptionKey::new("k"))
        .base_url(base(&server))
        .retry(RetryPolicy {
            max_retries: 2,
            ..fast_retry()
        })
        .build()
        .unwrap();
    assert!(c.get_profile(&cf(1)).await.is_err());
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_lost_answer_on_submit_is_not_retried() {
    let server = MockServer::start().await;
    let calls = mount_sequence(
        &server,
        "POST",
        "/api/v1/messages",
        vec![
            ResponseTemplate::new(201)
                .set_body_json(serde_json::json!({"id": "01BX9NSMKVXXS5PSP2FATZMYYY"}))
                .set_delay(Duration::from_secs(3)),
        ],
    )
    .await;
    let c = IoClient::builder(SubscriptionKey::new("k"))
        .base_url(base(&server))
        .retry(fast_retry())
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let err = c.submit_message(&message(1)).await.unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::AnswerLost(_))),
        "{err}"
    );
    assert!(err.may_have_been_delivered());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn connection_refused_is_a_connect_error() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let c = IoClient::builder(SubscriptionKey::new("k"))
        .base_url(format!("http://127.0.0.1:{port}/api/v1"))
        .retry(RetryPolicy {
            max_retries: 1,
            ..fast_retry()
        })
        .build()
        .unwrap();
    let err = c.submit_message(&message(1)).await.unwrap_err();
    assert!(
        matches!(err, Error::Transport(TransportError::Connect(_))),
        "{err}"
    );
    assert!(!err.may_have_been_delivered());
}

#[tokio::test]
async fn get_message_reads_statuses() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/api/v1/messages/{}/01BX9NSMKAAAS5PSP2FATZM6BQ",
            cf(1)
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "status": "PROCESSED",
            "message": {
                "id": "01BX9NSMKAAAS5PSP2FATZM6BQ",
                "fiscal_code": cf(1).as_str(),
                "time_to_live": 3600,
                "created_at": "2018-10-13T00:00:00.000Z",
                "content": {"subject": text(20), "markdown": text(90)},
                "sender_service_id": "01BX9NSMKVXXS5PSP2FATZM6QX",
                "feature_level_type": "ADVANCED"
            },
            "notification": {"email": "QUEUED", "webhook": "SENT"},
            "read_status": "UNREAD",
            "payment_status": "NOT_PAID"
        })))
        .mount(&server)
        .await;
    let id = MessageId::new("01BX9NSMKAAAS5PSP2FATZM6BQ").unwrap();
    let d = client(&base(&server))
        .get_message(&cf(1), &id)
        .await
        .unwrap();
    assert_eq!(d.status, Some(MessageStatus::Processed));
    let n = d.notification.unwrap();
    assert_eq!(n.email, Some(NotificationStatus::Other("QUEUED".into())));
    assert_eq!(n.webhook, Some(NotificationStatus::Sent));
    assert_eq!(d.read_status, Some(appio::ReadStatus::Unread));
    assert_eq!(d.payment_status, Some(appio::PaymentStatus::NotPaid));
    assert_eq!(
        d.message.feature_level_type,
        Some(appio::FeatureLevel::Advanced)
    );
}

#[tokio::test]
async fn activations() {
    let server = MockServer::start().await;
    let act = serde_json::json!({"service_id": "S1", "fiscal_code": cf(1).as_str(), "status": "ACTIVE", "version": 2});
    Mock::given(method("POST"))
        .and(path("/api/v1/activations/"))
        .and(body_json(
            serde_json::json!({"fiscal_code": cf(1).as_str()}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(act.clone()))
        .mount(&server)
        .await;
    Mock::given(method("PUT"))
        .and(path("/api/v1/activations/"))
        .and(body_json(serde_json::json!({"fiscal_code": cf(1).as_str(), "status": "INACTIVE"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            serde_json::json!({"service_id": "S1", "fiscal_code": cf(1).as_str(), "status": "INACTIVE", "version": 3}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/activations/"))
        .respond_with(problem(
            404,
            "Not found",
            "No user activation found for the provided fiscal code.",
        ))
        .mount(&server)
        .await;
    let c = client(&base(&server));
    let a = c.get_activation(&cf(1)).await.unwrap();
    assert_eq!((a.status.clone(), a.version), (ActivationStatus::Active, 2));
    let a = c
        .upsert_activation(&cf(1), ActivationStatus::Inactive)
        .await
        .unwrap();
    assert_eq!(
        (a.status.clone(), a.version),
        (ActivationStatus::Inactive, 3)
    );
    let err = c.get_activation(&cf(2)).await.unwrap_err();
    assert!(
        matches!(err, Error::Api(ApiError::NotFound { .. })),
        "{err}"
    );
}

#[tokio::test]
async fn unexpected_status_keeps_the_body() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "POST",
        "/api/v1/profiles",
        vec![ResponseTemplate::new(418).set_body_string("teapot")],
    )
    .await;
    let err = client(&base(&server))
        .get_profile(&cf(1))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Api(ApiError::UnexpectedStatus { status: 418, body }) if body == "teapot"),
        "{err}"
    );
}

#[tokio::test]
async fn client_side_rate_limit_spaces_requests() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "POST",
        "/api/v1/profiles",
        vec![ResponseTemplate::new(200).set_body_json(serde_json::json!({"sender_allowed": true}))],
    )
    .await;
    let c = IoClient::builder(SubscriptionKey::new("k"))
        .base_url(base(&server))
        .rate_limit(Some(20.0))
        .build()
        .unwrap();
    let start = Instant::now();
    let futs: Vec<_> = (0..6)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.get_profile(&cf(i)).await })
        })
        .collect();
    for f in futs {
        f.await.unwrap().unwrap();
    }
    // Six requests at 20/s: the last one starts at least 5 intervals (250 ms) after the first.
    assert!(start.elapsed() >= Duration::from_millis(250));
}

#[tokio::test]
async fn concurrency_bound_serializes_requests() {
    let server = MockServer::start().await;
    mount_sequence(
        &server,
        "POST",
        "/api/v1/profiles",
        vec![
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"sender_allowed": true}))
                .set_delay(Duration::from_millis(100)),
        ],
    )
    .await;
    let c = IoClient::builder(SubscriptionKey::new("k"))
        .base_url(base(&server))
        .max_concurrency(1)
        .build()
        .unwrap();
    let start = Instant::now();
    let futs: Vec<_> = (0..4)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move { c.get_profile(&cf(i)).await })
        })
        .collect();
    for f in futs {
        f.await.unwrap().unwrap();
    }
    assert!(start.elapsed() >= Duration::from_millis(400));
}

#[test]
fn subscription_key_is_redacted() {
    let key = SubscriptionKey::new("super-secret-key");
    assert_eq!(format!("{key:?}"), "SubscriptionKey([redacted])");
    assert_eq!(key.to_string(), "[redacted]");
    let c = IoClient::builder(key).build().unwrap();
    let dbg = format!("{c:?}");
    assert!(!dbg.contains("super-secret-key"), "{dbg}");
    assert!(dbg.contains("api.io.pagopa.it"));
}

#[test]
fn base_url_must_be_http() {
    for bad in ["ftp://x/api", "not a url", "/relative"] {
        let err = IoClient::builder(SubscriptionKey::new("k"))
            .base_url(bad)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, Error::Transport(TransportError::Url(_))),
            "{bad}: {err}"
        );
    }
}

#[test]
fn backoff_is_jittered_and_capped() {
    let p = RetryPolicy {
        max_retries: 10,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(1000),
        max_retry_after: Duration::from_secs(1),
    };
    for retry in 0..20 {
        let d = p.backoff(retry);
        let exp = (100u64 << retry.min(20)).min(1000);
        assert!(
            d >= Duration::from_millis(exp / 2) && d <= Duration::from_millis(exp),
            "{retry}: {d:?}"
        );
    }
}
