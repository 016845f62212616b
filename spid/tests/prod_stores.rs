//! Stores: the in-memory defaults and the Redis backend, run through the same checks.
//!
//! Redis tests use `REDIS_URL`; without it they are skipped, unless `CI` is set, in which
//! case they fail (CI must run them against its real server).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use chrono::{Duration, Utc};
use spid::{
    AssertionStore, Comparison, MemoryAssertionStore, MemoryPendingStore, MemorySessionStore,
    PendingRequest, PendingRequestStore, SessionStore, SpSession, SpidLevel,
};

fn pending(id: &str, session: &str, ttl: Duration) -> PendingRequest {
    let now = Utc::now();
    PendingRequest {
        id: id.into(),
        session: session.into(),
        idp_entity_id: "https://idp.test.example".into(),
        issue_instant: now,
        level: SpidLevel::L2,
        comparison: Comparison::Minimum,
        acs_url: "https://sp.example/acs".into(),
        attribute_service_index: 0,
        relay_state: Some("rs".into()),
        expires_at: now + ttl,
    }
}

fn session(id: &str, name_id: &str, ttl: Duration) -> SpSession {
    let json = serde_json::json!({
        "id": id,
        "identity": { "name": "Mario", "fiscal_number": "RSSMRA80A01H501U", "other": {} },
        "level": "L2",
        "idp_entity_id": "https://idp.test.example",
        "name_id": name_id,
        "name_id_qualifier": "https://idp.test.example",
        "session_index": "_idx",
        "created_at": Utc::now(),
        "expires_at": Utc::now() + ttl,
    });
    serde_json::from_value(json).unwrap()
}

#[test]
fn sessions_saved_before_entity_binding_still_load_and_bound_ones_belong_to_one_entity() {
    // `session` deserializes JSON without `sp_entity_id`, as stored by earlier versions.
    let old = session("s", "n", Duration::minutes(5));
    assert_eq!(old.sp_entity_id, "");
    assert!(old.belongs_to("https://a.example/spid/metadata"));
    let bound = old.for_sp("https://a.example/spid/metadata");
    assert!(bound.belongs_to("https://a.example/spid/metadata"));
    assert!(!bound.belongs_to("https://b.example/spid/metadata"));
    let json = serde_json::to_string(&bound).unwrap();
    let back: SpSession = serde_json::from_str(&json).unwrap();
    assert_eq!(back, bound);
}

fn unique(tag: &str) -> String {
    format!("{tag}-{}-{}", std::process::id(), rand_suffix())
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

async fn check_pending(store: &dyn PendingRequestStore) {
    let id = unique("_req");
    store
        .put(pending(&id, "cookie-a", Duration::minutes(5)))
        .await
        .unwrap();
    // Another session cannot take it, and does not destroy it.
    assert!(
        store
            .take(&id, "cookie-b", Utc::now())
            .await
            .unwrap()
            .is_none()
    );
    let got = store.take(&id, "cookie-a", Utc::now()).await.unwrap();
    assert_eq!(got.unwrap().relay_state.as_deref(), Some("rs"));
    // Taken once only.
    assert!(
        store
            .take(&id, "cookie-a", Utc::now())
            .await
            .unwrap()
            .is_none()
    );
    // Expired (logically, at a later `now`).
    let id2 = unique("_req");
    store
        .put(pending(&id2, "cookie-a", Duration::minutes(5)))
        .await
        .unwrap();
    let later = Utc::now() + Duration::minutes(6);
    assert!(store.take(&id2, "cookie-a", later).await.unwrap().is_none());
}

async fn check_assertions(store: &dyn AssertionStore) {
    let id = unique("_a");
    let now = Utc::now();
    let exp = now + Duration::minutes(5);
    assert!(store.consume("idp1", &id, exp, now).await.unwrap());
    assert!(!store.consume("idp1", &id, exp, now).await.unwrap());
    // Same ID from another issuer is another assertion.
    assert!(store.consume("idp2", &id, exp, now).await.unwrap());
    // Keys cannot collide through separators.
    let a = unique("x");
    assert!(store.consume("i:d", &a, exp, now).await.unwrap());
    assert!(
        store
            .consume("i", &format!("d:{a}"), exp, now)
            .await
            .unwrap()
    );
}

async fn check_sessions(store: &dyn SessionStore) {
    let name_id = unique("_nameid");
    let s1 = unique("sess");
    let s2 = unique("sess");
    store
        .put_session(session(&s1, &name_id, Duration::minutes(30)))
        .await
        .unwrap();
    store
        .put_session(session(&s2, &name_id, Duration::minutes(30)))
        .await
        .unwrap();
    let got = store.get_session(&s1, Utc::now()).await.unwrap().unwrap();
    assert_eq!(got.identity.name.as_deref(), Some("Mario"));
    assert_eq!(
        got.identity.fiscal_number.unwrap().as_str(),
        "RSSMRA80A01H501U"
    );
    assert!(
        store
            .get_session(&s1, Utc::now() + Duration::minutes(31))
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.remove_session(&s1).await.unwrap().is_some());
    assert!(store.remove_session(&s1).await.unwrap().is_none());
    assert!(store.get_session(&s1, Utc::now()).await.unwrap().is_none());
    // IdP-initiated logout removes every remaining session of the subject.
    let other = unique("sess");
    store
        .put_session(session(&other, &unique("_nameid"), Duration::minutes(30)))
        .await
        .unwrap();
    assert_eq!(
        store
            .remove_subject("https://idp.test.example", &name_id)
            .await
            .unwrap(),
        1
    );
    assert!(store.get_session(&s2, Utc::now()).await.unwrap().is_none());
    assert!(
        store
            .get_session(&other, Utc::now())
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn memory_stores() {
    check_pending(&MemoryPendingStore::new()).await;
    check_assertions(&MemoryAssertionStore::new()).await;
    check_sessions(&MemorySessionStore::new()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_consume_once_concurrently() {
    let store = Arc::new(MemoryAssertionStore::new());
    let accepted = race(store.clone(), store).await;
    assert_eq!(accepted, 1);
}

/// Many concurrent consumers of one assertion ID, alternating between two stores; returns how
/// many were accepted.
async fn race(a: Arc<dyn AssertionStore>, b: Arc<dyn AssertionStore>) -> usize {
    let id = unique("_race");
    let exp = Utc::now() + Duration::minutes(5);
    let mut tasks = Vec::new();
    for i in 0..32 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        let id = id.clone();
        tasks.push(tokio::spawn(async move {
            store.consume("idp", &id, exp, Utc::now()).await.unwrap()
        }));
    }
    let mut accepted = 0;
    for t in tasks {
        if t.await.unwrap() {
            accepted += 1;
        }
    }
    accepted
}

#[cfg(feature = "redis")]
mod redis_backend {
    use super::*;
    use spid::RedisStore;

    fn redis_url() -> Option<String> {
        super::redis_backend_url()
    }

    async fn store(url: &str) -> RedisStore {
        RedisStore::connect(url, format!("spid-test:{}:", std::process::id()))
            .await
            .expect("Redis at REDIS_URL must answer")
    }

    #[tokio::test]
    async fn redis_stores() {
        let Some(url) = redis_url() else { return };
        let s = store(&url).await;
        check_pending(&s).await;
        check_assertions(&s).await;
        check_sessions(&s).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_instances_accept_an_assertion_at_most_once() {
        let Some(url) = redis_url() else { return };
        // Two independent connections, as two SP instances would have.
        let a: Arc<dyn AssertionStore> = Arc::new(store(&url).await);
        let b: Arc<dyn AssertionStore> = Arc::new(store(&url).await);
        for _ in 0..5 {
            assert_eq!(race(a.clone(), b.clone()).await, 1);
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_instances_take_a_pending_request_at_most_once() {
        let Some(url) = redis_url() else { return };
        let a = Arc::new(store(&url).await);
        let b = Arc::new(store(&url).await);
        let id = unique("_req");
        a.put(pending(&id, "c", Duration::minutes(5)))
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for i in 0..16 {
            let s = if i % 2 == 0 { a.clone() } else { b.clone() };
            let id = id.clone();
            tasks.push(tokio::spawn(async move {
                s.take(&id, "c", Utc::now()).await.unwrap().is_some()
            }));
        }
        let mut n = 0;
        for t in tasks {
            n += usize::from(t.await.unwrap());
        }
        assert_eq!(n, 1);
    }

    #[tokio::test]
    async fn redis_keys_expire() {
        let Some(url) = redis_url() else { return };
        let s = store(&url).await;
        let now = Utc::now();
        let id = unique("_exp");
        let exp = now + Duration::milliseconds(300);
        assert!(s.consume("idp", &id, exp, now).await.unwrap());
        assert!(!s.consume("idp", &id, exp, Utc::now()).await.unwrap());
        let req = unique("_req");
        s.put(pending(&req, "c", Duration::milliseconds(300)))
            .await
            .unwrap();
        let sess = unique("sess");
        s.put_session(session(&sess, "_n", Duration::milliseconds(300)))
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(700)).await;
        // Gone from Redis itself: a fresh consume is accepted, and even with an old `now`
        // the pending request and session are not found.
        let then = now;
        assert!(s.consume("idp", &id, exp, Utc::now()).await.unwrap());
        assert!(s.take(&req, "c", then).await.unwrap().is_none());
        assert!(s.get_session(&sess, then).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn unreachable_redis_is_an_error() {
        let r = RedisStore::connect("redis://127.0.0.1:1/", "x:").await;
        assert!(r.is_err());
        assert!(RedisStore::connect("not a url", "x:").await.is_err());
    }
}

/// Two SP engines (two instances behind a load balancer) sharing one Redis.
#[cfg(feature = "redis")]
mod two_engines {
    use super::*;
    use spid::{
        AuthnOptions, AuthnRequestMessage, Error, ResponseError, ServiceProvider, SpConfig,
        SpCredentials, TestIdp, TestUser,
    };

    const BASE: &str = "http://127.0.0.1:8000";
    const ACS: &str = "http://127.0.0.1:8000/spid/acs";
    const IDP: &str = "https://idp.test.example";

    fn creds(name: &str) -> SpCredentials {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys");
        let key = std::fs::read_to_string(dir.join(format!("{name}.key"))).unwrap();
        let cert = std::fs::read_to_string(dir.join(format!("{name}.crt"))).unwrap();
        SpCredentials::from_pem(&key, &cert).unwrap()
    }

    fn idp() -> TestIdp {
        TestIdp::new(IDP, "https://idp.test.example/sso", creds("idp"))
    }

    async fn engine(url: &str, prefix: &str) -> ServiceProvider {
        let store = Arc::new(RedisStore::connect(url, prefix).await.unwrap());
        let mut sp = ServiceProvider::with_stores(
            SpConfig::example_public(BASE),
            creds("sp"),
            store.clone(),
            store,
        )
        .unwrap();
        sp.add_idp(idp().metadata().unwrap()).unwrap();
        sp
    }

    use spid::RedisStore;

    /// Starts a login on `sp` and returns the IdP's signed response.
    async fn response_for(sp: &ServiceProvider, session: &str) -> String {
        let AuthnRequestMessage::Redirect { url, .. } = sp
            .authn_request(AuthnOptions::new(IDP, session))
            .await
            .unwrap()
        else {
            panic!("redirect expected")
        };
        let req = idp().read_redirect(url.split_once('?').unwrap().1).unwrap();
        let t = idp().template(&req, ACS, &TestUser::example(), Utc::now());
        idp().saml_response(&t).unwrap()
    }

    fn redis_url() -> Option<String> {
        super::redis_backend_url()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn login_started_on_one_instance_completes_on_the_other_once() {
        let Some(url) = redis_url() else { return };
        let prefix = format!("spid-test-engines:{}:", unique("p"));
        let a = engine(&url, &prefix).await;
        let b = engine(&url, &prefix).await;
        let resp = response_for(&a, "cookie-1").await;
        let auth = b.process_response(&resp, "cookie-1").await.unwrap();
        assert_eq!(auth.identity.name.as_deref(), Some("Mario"));
        // Replayed to the other instance: refused (the pending request is gone).
        assert!(a.process_response(&resp, "cookie-1").await.is_err());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_same_response_given_to_both_instances_concurrently_is_accepted_once() {
        let Some(url) = redis_url() else { return };
        let prefix = format!("spid-test-engines:{}:", unique("p"));
        let a = Arc::new(engine(&url, &prefix).await);
        let b = Arc::new(engine(&url, &prefix).await);
        for round in 0..5 {
            let session = format!("cookie-{round}");
            let resp = response_for(&a, &session).await;
            let mut tasks = Vec::new();
            for i in 0..8 {
                let sp = if i % 2 == 0 { a.clone() } else { b.clone() };
                let (resp, session) = (resp.clone(), session.clone());
                tasks.push(tokio::spawn(async move {
                    sp.process_response(&resp, &session).await
                }));
            }
            let mut ok = 0;
            for t in tasks {
                match t.await.unwrap() {
                    Ok(_) => ok += 1,
                    Err(Error::Response(
                        ResponseError::UnknownRequest(_) | ResponseError::Replay(_),
                    )) => {}
                    Err(e) => panic!("unexpected error {e}"),
                }
            }
            assert_eq!(ok, 1);
        }
    }
}

/// `REDIS_URL`, or `None` to skip outside CI (shared by the modules above).
#[cfg(feature = "redis")]
fn redis_backend_url() -> Option<String> {
    match std::env::var("REDIS_URL") {
        Ok(u) if !u.is_empty() => Some(u),
        _ if std::env::var_os("CI").is_some() => {
            panic!("CI is set but REDIS_URL is not: the Redis tests must run in CI")
        }
        _ => {
            eprintln!("REDIS_URL not set: skipping Redis tests");
            None
        }
    }
}
