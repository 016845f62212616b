//! Remote content: the configurations API on the spec-checked mock, and the sender's router
//! called as IO calls it, with an attack test for each of its checks.

use std::collections::BTreeMap;
use std::sync::Arc;

use appio::mock::{MockConfig, MockServer as IoMock};
use appio::remote::server::{
    AttachmentContent, IoAuthentication, Precondition, RemoteAttachment, RemoteContentStore,
    RemoteDetails, RemoteMessage, router,
};
use appio::remote::{
    AuthenticationConfig, ConfigurationId, NewConfiguration, ProdEnvironment, TestEnvironment,
};
use appio::services::NonEmptyText;
use appio::{ApiError, Error, HasPrecondition, Markdown, Subject, ValidationError};

use crate::common::{cf, text};
use crate::manage::manage;
use crate::schema::checked;

fn config(name: &str) -> NewConfiguration {
    let mut c = NewConfiguration::new(name, "Avvisi con allegati", HasPrecondition::Once).unwrap();
    c.disable_lollipop_for = vec![cf(9)];
    c.prod_environment = Some(ProdEnvironment {
        base_url: NonEmptyText::new("base_url", "https://rc.comune.example/io").unwrap(),
        details_authentication: AuthenticationConfig::api_key("X-Api-Key", "s3cr3t").unwrap(),
    });
    c.test_environment = Some(TestEnvironment {
        base_url: NonEmptyText::new("base_url", "https://rc-test.comune.example/io").unwrap(),
        details_authentication: AuthenticationConfig::api_key("X-Api-Key", "t3st").unwrap(),
        test_users: vec![cf(1)],
    });
    c
}

#[tokio::test]
async fn configurations_are_created_listed_read_and_updated() {
    let mock = IoMock::start(checked(MockConfig::default())).await.unwrap();
    let m = manage(&mock.base_url(), "manage-key");
    let created = m
        .create_remote_configuration(&config("Configurazione TARI"))
        .await
        .unwrap();
    assert_eq!(created.config, config("Configurazione TARI"));
    let id = created.configuration_id.clone();
    let other = m
        .create_remote_configuration(&config("Seconda"))
        .await
        .unwrap();
    let list = m.remote_configurations().await.unwrap();
    assert_eq!(list.len(), 2);
    assert!(
        list.iter()
            .any(|c| c.configuration_id == other.configuration_id)
    );
    let mut changed = config("Configurazione TARI v2");
    changed.is_lollipop_enabled = true;
    m.update_remote_configuration(&id, &changed).await.unwrap();
    assert_eq!(m.remote_configuration(&id).await.unwrap().config, changed);
    let unknown = ConfigurationId::new("01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap();
    assert!(matches!(
        m.remote_configuration(&unknown).await.unwrap_err(),
        Error::Api(ApiError::NotFound { .. })
    ));
    assert!(
        mock.request_violations().is_empty(),
        "{:?}",
        mock.request_violations()
    );
    // The key never shows in Debug.
    assert!(!format!("{changed:?}").contains("s3cr3t"));
}

#[tokio::test]
async fn invalid_configurations_are_refused_before_sending() {
    let server = wiremock::MockServer::start().await;
    let m = manage(&crate::common::base(&server), "k");
    let mut c = config("x");
    c.prod_environment = None;
    c.test_environment = None;
    assert!(matches!(
        m.create_remote_configuration(&c).await.unwrap_err(),
        Error::Validation(ValidationError::Missing { .. })
    ));
    let mut c = config("x");
    c.has_precondition = HasPrecondition::Other("SOMETIMES".into());
    assert!(matches!(
        m.create_remote_configuration(&c).await.unwrap_err(),
        Error::Validation(ValidationError::Format {
            field: "has_precondition",
            ..
        })
    ));
    assert!(server.received_requests().await.unwrap().is_empty());
    assert!(NewConfiguration::new("", "d", HasPrecondition::Never).is_err());
    assert!(AuthenticationConfig::api_key("bad header", "k").is_err());
    assert!(AuthenticationConfig::api_key("X-Api-Key", "").is_err());
    assert!(ConfigurationId::new("not-a-ulid").is_err());
    assert!(ConfigurationId::new("81ARZ3NDEKTSV4RRFFQ69G5FAV").is_err());
}

struct Store(BTreeMap<String, RemoteMessage>);

#[async_trait::async_trait]
impl RemoteContentStore for Store {
    async fn message(&self, id: &str) -> Result<Option<RemoteMessage>, String> {
        if id == "broken" {
            return Err("disk on fire".into());
        }
        Ok(self.0.get(id).cloned())
    }
    async fn attachment(&self, id: &str, url: &str) -> Result<Option<AttachmentContent>, String> {
        Ok(
            (id == "m1" && url == "files/avviso.pdf").then(|| AttachmentContent {
                content_type: "application/pdf".into(),
                bytes: b"%PDF-1.7 fake".to_vec(),
            }),
        )
    }
}

async fn serve() -> (String, tokio::task::JoinHandle<()>) {
    let auth = config("x").prod_environment.unwrap().details_authentication;
    serve_with(IoAuthentication::from_config(&auth).unwrap()).await
}

/// The router over messages `m1` (of `cf(1)`, with an attachment and a precondition) and `m2`
/// (of `cf(2)`), authenticating IO with `auth`.
pub(crate) async fn serve_with(auth: IoAuthentication) -> (String, tokio::task::JoinHandle<()>) {
    let mut msgs = BTreeMap::new();
    msgs.insert(
        "m1".to_owned(),
        RemoteMessage {
            recipient: cf(1),
            details: Some(RemoteDetails {
                subject: Subject::new("Avviso di pagamento TARI").unwrap(),
                markdown: Markdown::new(text(120)).unwrap(),
            }),
            attachments: vec![RemoteAttachment {
                id: "a1".into(),
                content_type: "application/pdf".into(),
                name: "avviso.pdf".into(),
                url: "files/avviso.pdf".into(),
            }],
            precondition: Some(Precondition {
                title: "Prima di aprire".into(),
                markdown: "Il messaggio contiene dati sanitari.".into(),
            }),
        },
    );
    msgs.insert(
        "m2".to_owned(),
        RemoteMessage {
            recipient: cf(2),
            details: None,
            attachments: vec![],
            precondition: None,
        },
    );
    let app = router(Arc::new(Store(msgs)), auth);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let h = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, h)
}

/// Calls the router as IO does: API key header and the recipient's fiscal code.
async fn call(
    base: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, String, serde_json::Value) {
    let mut rb = reqwest::Client::new().get(format!("{base}{path}"));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = r.bytes().await.unwrap();
    let v = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::String(
        String::from_utf8_lossy(&bytes).into(),
    ));
    (status, ct, v)
}

#[tokio::test]
async fn the_router_serves_io_with_the_right_credentials() {
    let (base, _h) = serve().await;
    let cf1 = cf(1);
    let io = [("X-Api-Key", "s3cr3t"), ("fiscal_code", cf1.as_str())];
    let (s, _, v) = call(&base, "/messages/m1", &io).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["details"]["subject"], "Avviso di pagamento TARI");
    assert_eq!(v["attachments"][0]["url"], "files/avviso.pdf");
    assert_eq!(v["attachments"][0]["content_type"], "application/pdf");
    let (s, _, v) = call(&base, "/messages/m1/precondition", &io).await;
    assert_eq!(s, 200);
    assert_eq!(v["title"], "Prima di aprire");
    let (s, ct, v) = call(&base, "/messages/m1/files/avviso.pdf", &io).await;
    assert_eq!((s, ct.as_str()), (200, "application/pdf"));
    assert_eq!(v, "%PDF-1.7 fake");
    // Lollipop headers naming the same user are fine.
    let lolli = [
        ("X-Api-Key", "s3cr3t"),
        ("fiscal_code", cf1.as_str()),
        ("x-pagopa-lollipop-user-id", cf1.as_str()),
    ];
    assert_eq!(call(&base, "/messages/m1", &lolli).await.0, 200);
}

#[tokio::test]
async fn the_router_refuses_each_bad_call() {
    let (base, _h) = serve().await;
    let (cf1, cf2) = (cf(1), cf(2));
    fn right(c: &str) -> [(&str, &str); 2] {
        [("X-Api-Key", "s3cr3t"), ("fiscal_code", c)]
    }
    let (cf1s, cf2s) = (cf1.as_str(), cf2.as_str());
    // 1. API key: missing, wrong, longer, in another header, sent twice.
    for h in [
        vec![("fiscal_code", cf1s)],
        vec![("X-Api-Key", "s3cr3x"), ("fiscal_code", cf1s)],
        vec![("X-Api-Key", "s3cr3tt"), ("fiscal_code", cf1s)],
        vec![("Authorization", "s3cr3t"), ("fiscal_code", cf1s)],
        vec![
            ("X-Api-Key", "s3cr3t"),
            ("X-Api-Key", "other"),
            ("fiscal_code", cf1s),
        ],
    ] {
        for p in [
            "/messages/m1",
            "/messages/m1/precondition",
            "/messages/m1/files/avviso.pdf",
        ] {
            let (s, _, v) = call(&base, p, &h).await;
            assert_eq!(s, 401, "{p} {h:?}: {v}");
            assert!(!v.to_string().contains("Avviso"), "{v}");
        }
    }
    // The test environment's key is not the production one.
    assert_eq!(
        call(
            &base,
            "/messages/m1",
            &[("X-Api-Key", "t3st"), ("fiscal_code", cf1s)]
        )
        .await
        .0,
        401
    );
    // 2. fiscal_code: missing, malformed, lower case.
    assert_eq!(
        call(&base, "/messages/m1", &[("X-Api-Key", "s3cr3t")])
            .await
            .0,
        400
    );
    assert_eq!(
        call(&base, "/messages/m1", &right("RSSMRA85T10A562X"))
            .await
            .0,
        400
    );
    let lower = cf1s.to_lowercase();
    assert_eq!(call(&base, "/messages/m1", &right(&lower)).await.0, 400);
    // 3. Lollipop user different from fiscal_code.
    let h = [
        ("X-Api-Key", "s3cr3t"),
        ("fiscal_code", cf1s),
        ("x-pagopa-lollipop-user-id", cf2s),
    ];
    assert_eq!(call(&base, "/messages/m1", &h).await.0, 403);
    // 4. Another citizen's message answers as an unknown one.
    let (s, _, v) = call(&base, "/messages/m1", &right(cf2s)).await;
    assert_eq!(s, 404);
    assert!(!v.to_string().contains("Avviso"), "{v}");
    let unknown = call(&base, "/messages/nope", &right(cf2s)).await;
    assert_eq!((s, v.clone()), (unknown.0, unknown.2));
    assert_eq!(
        call(&base, "/messages/m1/precondition", &right(cf2s))
            .await
            .0,
        404
    );
    assert_eq!(
        call(&base, "/messages/m1/files/avviso.pdf", &right(cf2s))
            .await
            .0,
        404
    );
    // A message without precondition; a store failure is a 500 without its words.
    assert_eq!(
        call(&base, "/messages/m2/precondition", &right(cf2s))
            .await
            .0,
        404
    );
    let (s, _, v) = call(&base, "/messages/broken", &right(cf2s)).await;
    assert_eq!(s, 500);
    assert!(!v.to_string().contains("fire"), "{v}");
    // 5. Only listed attachment urls: another path, traversal, encoded traversal.
    for p in ["/messages/m1/files/other.pdf", "/messages/m1/..%2Fm2"] {
        let (s, _, v) = call(&base, p, &right(cf1s)).await;
        assert_ne!(s, 200, "{p}: {v}");
    }
}
