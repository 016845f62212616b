//! One contract suite for `OutboxStore`, run against SQLite and PostgreSQL: the same test
//! functions, parameterised by backend. PostgreSQL runs when `PA_TEST_POSTGRES_URL` names a
//! server (required with `CI` set).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use siopeplus::*;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

/// One database; [`Fixture::open`] gives a new handle on it (another "process").
pub(crate) struct Fixture {
    _dir: tempfile::TempDir,
    sqlite: std::path::PathBuf,
    pg_url: Option<String>,
}

impl Fixture {
    pub(crate) async fn new(b: Backend) -> Option<Fixture> {
        let dir = tempfile::tempdir().unwrap();
        let sqlite = dir.path().join("outbox.sqlite");
        let pg_url = match b {
            Backend::Sqlite => None,
            Backend::Postgres => Some(pa_postgres::testing::fresh_database().await.unwrap()?),
        };
        Some(Fixture {
            _dir: dir,
            sqlite,
            pg_url,
        })
    }

    pub(crate) async fn open(&self) -> Arc<dyn OutboxStore> {
        match &self.pg_url {
            Some(u) => Arc::new(PgOutbox::connect(u).await.unwrap()),
            None => Arc::new(SqliteOutbox::open(&self.sqlite).unwrap()),
        }
    }
}

/// A store handle of either backend, for `Outbox<S>` (which needs a sized store).
#[derive(Clone)]
pub(crate) struct DynStore(pub(crate) Arc<dyn OutboxStore>);

#[async_trait::async_trait]
impl OutboxStore for DynStore {
    async fn insert(&self, i: &str, xml: &[u8]) -> Result<i64, OutboxError> {
        self.0.insert(i, xml).await
    }
    async fn get(&self, id: i64) -> Result<OutboxEntry, OutboxError> {
        self.0.get(id).await
    }
    async fn xml(&self, id: i64) -> Result<Vec<u8>, OutboxError> {
        self.0.xml(id).await
    }
    async fn open_entries(&self) -> Result<Vec<OutboxEntry>, OutboxError> {
        self.0.open_entries().await
    }
    async fn begin_upload(&self, id: i64, at: chrono::NaiveDateTime) -> Result<(), OutboxError> {
        self.0.begin_upload(id, at).await
    }
    async fn transition(
        &self,
        id: i64,
        state: OutboxState,
        prog: Option<i64>,
        detail: Option<&str>,
    ) -> Result<(), OutboxError> {
        self.0.transition(id, state, prog, detail).await
    }
    async fn save_message(&self, id: i64, m: &StoredMessage) -> Result<(), OutboxError> {
        self.0.save_message(id, m).await
    }
    async fn messages(&self, id: i64) -> Result<Vec<StoredMessage>, OutboxError> {
        self.0.messages(id).await
    }
    async fn orders(&self, id: i64) -> Result<Vec<OrderStatus>, OutboxError> {
        self.0.orders(id).await
    }
    async fn put_order(&self, id: i64, o: &OrderStatus) -> Result<(), OutboxError> {
        self.0.put_order(id, o).await
    }
    async fn recent_entries(&self, limit: usize) -> Result<Vec<OutboxEntry>, OutboxError> {
        self.0.recent_entries(limit).await
    }
    async fn claim(
        &self,
        owner: &str,
        lease: Duration,
        after: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, OutboxError> {
        self.0.claim(owner, lease, after, limit).await
    }
    async fn renew(&self, id: i64, owner: &str, lease: Duration) -> Result<bool, OutboxError> {
        self.0.renew(id, owner, lease).await
    }
    async fn release(&self, id: i64, owner: &str) -> Result<(), OutboxError> {
        self.0.release(id, owner).await
    }
}

/// `#[tokio::test]`s `sqlite::NAME` and `postgres::NAME` calling `NAME(Backend)` (PostgreSQL
/// skipped without a test server, required with `CI`).
macro_rules! by_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::outbox_store::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(crate::outbox_store::Backend::Postgres).await;
                }
            )*
        }
    };
}
pub(crate) use by_backend;

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let f = super::Fixture::new(super::Backend::Sqlite).await.unwrap();
                    super::$name(&f).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(f) = super::Fixture::new(super::Backend::Postgres).await else {
                        return;
                    };
                    super::$name(&f).await;
                }
            )*
        }
    };
}

contract!(
    insert_is_durable_and_reads_back,
    duplicate_identifier_is_refused,
    missing_ids_are_not_found,
    upload_attempts_and_transitions_are_recorded,
    open_entries_leave_out_final_states_oldest_first,
    messages_are_idempotent_and_kept_in_order,
    a_live_lease_keeps_other_owners_out,
    an_expired_lease_is_taken_over,
    claims_page_by_id_and_skip_final_entries,
    concurrent_claims_hand_each_entry_to_one_owner,
);

const LONG: Duration = Duration::from_secs(60);

async fn insert_is_durable_and_reads_back(f: &Fixture) {
    let s = f.open().await;
    let id = s.insert("FL-1", b"<flusso/>").await.unwrap();
    drop(s);
    // A new handle (a restarted process) sees it.
    let s = f.open().await;
    let e = s.get(id).await.unwrap();
    assert_eq!(e.identificativo_flusso, "FL-1");
    assert_eq!(e.state, OutboxState::Pending);
    assert_eq!(
        (e.attempts, e.prog_flusso, e.attempted_at, e.detail),
        (0, None, None, None)
    );
    assert_eq!(s.xml(id).await.unwrap(), b"<flusso/>");
    let id2 = s.insert("FL-2", b"<b/>").await.unwrap();
    assert!(id2 > id);
}

async fn duplicate_identifier_is_refused(f: &Fixture) {
    let s = f.open().await;
    let id = s.insert("FL-DUP", b"<first/>").await.unwrap();
    let other = f.open().await;
    match other.insert("FL-DUP", b"<second/>").await {
        Err(OutboxError::Duplicate(i)) => assert_eq!(i, "FL-DUP"),
        r => panic!("expected Duplicate, got {r:?}"),
    }
    assert_eq!(s.xml(id).await.unwrap(), b"<first/>");
    assert_eq!(s.open_entries().await.unwrap().len(), 1);
}

async fn missing_ids_are_not_found(f: &Fixture) {
    let s = f.open().await;
    let nf =
        |r: Result<(), OutboxError>| assert!(matches!(r, Err(OutboxError::NotFound(999))), "{r:?}");
    nf(s.get(999).await.map(|_| ()));
    nf(s.xml(999).await.map(|_| ()));
    nf(s.begin_upload(999, at()).await);
    nf(s.transition(999, OutboxState::Uploaded, None, None).await);
    nf(s.save_message(
        999,
        &StoredMessage {
            kind: "ack".into(),
            location: "l".into(),
            xml: b"<a/>".to_vec(),
        },
    )
    .await);
}

fn at() -> chrono::NaiveDateTime {
    NaiveDate::from_ymd_opt(2026, 3, 2)
        .unwrap()
        .and_hms_milli_opt(10, 11, 12, 345)
        .unwrap()
}

async fn upload_attempts_and_transitions_are_recorded(f: &Fixture) {
    let s = f.open().await;
    let id = s.insert("FL-T", b"<x/>").await.unwrap();
    s.begin_upload(id, at()).await.unwrap();
    let e = s.get(id).await.unwrap();
    assert_eq!(
        (e.state, e.attempts, e.attempted_at),
        (OutboxState::Uploading, 1, Some(at()))
    );
    s.transition(id, OutboxState::Uploaded, Some(7), Some("201"))
        .await
        .unwrap();
    let e = s.get(id).await.unwrap();
    assert_eq!(
        (e.state, e.prog_flusso, e.detail.as_deref()),
        (OutboxState::Uploaded, Some(7), Some("201"))
    );
    // No prog_flusso given: the recorded one stays; the note is replaced.
    s.transition(id, OutboxState::AckOk, None, None)
        .await
        .unwrap();
    let e = s.get(id).await.unwrap();
    assert_eq!(
        (e.state, e.prog_flusso, e.detail),
        (OutboxState::AckOk, Some(7), None)
    );
    s.begin_upload(id, at()).await.unwrap();
    assert_eq!(s.get(id).await.unwrap().attempts, 2);
}

async fn open_entries_leave_out_final_states_oldest_first(f: &Fixture) {
    let s = f.open().await;
    let mut ids = Vec::new();
    for (i, st) in [
        OutboxState::Pending,
        OutboxState::AckKo,
        OutboxState::Uploading,
        OutboxState::Rifiutato,
        OutboxState::Ricevuto,
        OutboxState::Completed,
        OutboxState::AckOk,
        OutboxState::Uploaded,
    ]
    .into_iter()
    .enumerate()
    {
        let id = s.insert(&format!("FL-{i}"), b"<x/>").await.unwrap();
        s.transition(id, st, None, None).await.unwrap();
        if !st.is_final() {
            ids.push(id);
        }
    }
    let open: Vec<i64> = s
        .open_entries()
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(open, ids);
}

async fn messages_are_idempotent_and_kept_in_order(f: &Fixture) {
    let s = f.open().await;
    let id = s.insert("FL-M", b"<x/>").await.unwrap();
    let m = |k: &str, l: &str| StoredMessage {
        kind: k.into(),
        location: l.into(),
        xml: format!("<{k}/>").into_bytes(),
    };
    s.save_message(id, &m("esitoflusso", "z")).await.unwrap();
    s.save_message(id, &m("ack", "a")).await.unwrap();
    s.save_message(id, &m("esitoflusso", "z")).await.unwrap();
    s.save_message(id, &m("esitoapplicativo", "b"))
        .await
        .unwrap();
    let got = f.open().await.messages(id).await.unwrap();
    assert_eq!(
        got,
        [
            m("esitoflusso", "z"),
            m("ack", "a"),
            m("esitoapplicativo", "b")
        ]
    );
}

fn ids(v: &[OutboxEntry]) -> Vec<i64> {
    v.iter().map(|e| e.id).collect()
}

async fn a_live_lease_keeps_other_owners_out(f: &Fixture) {
    let a = f.open().await;
    let b = f.open().await;
    let x = a.insert("FL-A", b"<x/>").await.unwrap();
    let y = a.insert("FL-B", b"<x/>").await.unwrap();
    assert_eq!(ids(&a.claim("A", LONG, 0, 10).await.unwrap()), [x, y]);
    assert!(b.claim("B", LONG, 0, 10).await.unwrap().is_empty());
    assert!(!b.renew(x, "B", LONG).await.unwrap(), "B does not hold x");
    // The holder may claim its own entries again.
    assert_eq!(ids(&a.claim("A", LONG, 0, 10).await.unwrap()), [x, y]);
    // Releasing by someone else changes nothing.
    b.release(x, "B").await.unwrap();
    assert!(b.claim("B", LONG, 0, 10).await.unwrap().is_empty());
    a.release(x, "A").await.unwrap();
    assert_eq!(ids(&b.claim("B", LONG, 0, 10).await.unwrap()), [x]);
    assert!(!a.renew(x, "A", LONG).await.unwrap(), "A released x");
    assert!(a.renew(y, "A", LONG).await.unwrap());
    assert!(b.renew(x, "B", LONG).await.unwrap());
}

async fn an_expired_lease_is_taken_over(f: &Fixture) {
    let a = f.open().await;
    let b = f.open().await;
    let x = a.insert("FL-X", b"<x/>").await.unwrap();
    let short = Duration::from_millis(400);
    assert_eq!(ids(&a.claim("A", short, 0, 10).await.unwrap()), [x]);
    assert!(b.claim("B", LONG, 0, 10).await.unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(700)).await;
    // A died (or stalled): B takes the entry over, and A learns it lost it.
    let got = b.claim("B", LONG, 0, 10).await.unwrap();
    assert_eq!(ids(&got), [x]);
    assert_eq!(got[0].state, OutboxState::Pending);
    assert!(!a.renew(x, "A", LONG).await.unwrap());
    a.release(x, "A").await.unwrap();
    assert!(
        f.open()
            .await
            .claim("C", LONG, 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn claims_page_by_id_and_skip_final_entries(f: &Fixture) {
    let s = f.open().await;
    let mut v = Vec::new();
    for i in 0..5 {
        v.push(s.insert(&format!("FL-P{i}"), b"<x/>").await.unwrap());
    }
    s.transition(v[1], OutboxState::Completed, None, None)
        .await
        .unwrap();
    s.transition(v[3], OutboxState::AckKo, None, None)
        .await
        .unwrap();
    assert_eq!(ids(&s.claim("A", LONG, 0, 2).await.unwrap()), [v[0], v[2]]);
    assert_eq!(ids(&s.claim("A", LONG, v[2], 10).await.unwrap()), [v[4]]);
    assert!(s.claim("A", LONG, v[4], 10).await.unwrap().is_empty());
}

async fn concurrent_claims_hand_each_entry_to_one_owner(f: &Fixture) {
    let s = f.open().await;
    let mut all = BTreeSet::new();
    for i in 0..40 {
        all.insert(s.insert(&format!("FL-C{i}"), b"<x/>").await.unwrap());
    }
    let mut tasks = Vec::new();
    for w in 0..6 {
        let h = f.open().await;
        tasks.push(tokio::spawn(async move {
            let owner = format!("W{w}");
            let mut mine = Vec::new();
            let mut after = 0;
            loop {
                let got = h.claim(&owner, LONG, after, 3).await.unwrap();
                let Some(last) = got.last() else {
                    break mine;
                };
                after = last.id;
                mine.extend(got.iter().map(|e| e.id));
                tokio::task::yield_now().await;
            }
        }));
    }
    let mut seen = BTreeSet::new();
    let mut total = 0;
    for t in tasks {
        let mine = t.await.unwrap();
        total += mine.len();
        seen.extend(mine);
    }
    assert_eq!(total, all.len(), "an entry went to two owners");
    assert_eq!(seen, all);
}

#[tokio::test]
async fn postgres_down_at_start_names_the_server_and_never_the_password() {
    let err = PgOutbox::connect("postgres://outbox:s3cret-pw@127.0.0.1:1/sportello_db")
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, OutboxError::Db(_)), "{msg}");
    assert!(
        msg.contains("127.0.0.1:1") && msg.contains("sportello_db"),
        "{msg}"
    );
    assert!(!msg.contains("s3cret-pw"), "{msg}");
}

#[tokio::test]
async fn nothing_is_acknowledged_when_postgres_is_unreachable() {
    let db = pa_postgres::Database::lazy(
        "postgres://pa@127.0.0.1:1/gone",
        pa_postgres::Options {
            connect_timeout: Duration::from_secs(1),
            wait_timeout: Duration::from_secs(1),
            ..pa_postgres::Options::default()
        },
    )
    .unwrap();
    let store = PgOutbox::new(db);
    let err = store.insert("FL-LOST", b"<x/>").await.unwrap_err();
    assert!(matches!(err, OutboxError::Db(_)), "{err}");
    assert!(store.claim("A", LONG, 0, 10).await.is_err());
}

#[tokio::test]
async fn the_pool_reconnects_after_the_server_dropped_its_connections() {
    let Some(url) = pa_postgres::testing::fresh_database().await.unwrap() else {
        return;
    };
    let store = PgOutbox::connect(&url).await.unwrap();
    let id = store.insert("FL-R", b"<x/>").await.unwrap();
    // The server drops every connection of this database (as on a restart).
    let admin = pa_postgres::Database::connect(&url).await.unwrap();
    let c = admin.client().await.unwrap();
    let killed = c
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    assert!(!killed.is_empty());
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut tries = 0;
    let e = loop {
        tries += 1;
        match store.get(id).await {
            Ok(e) => break e,
            Err(err) => {
                assert!(matches!(err, OutboxError::Db(_)), "{err}");
                assert!(tries < 3, "no reconnection: {err}");
            }
        }
    };
    assert_eq!(e.identificativo_flusso, "FL-R");
}

#[tokio::test]
async fn channels_on_one_database_never_see_each_others_flows() {
    let Some(url) = pa_postgres::testing::fresh_database().await.unwrap() else {
        return;
    };
    let db = pa_postgres::Database::connect(&url).await.unwrap();
    let a = PgOutbox::open(db.clone())
        .await
        .unwrap()
        .with_channel("A2A-11111111");
    let b = PgOutbox::new(db).with_channel("A2A-22222222");
    // The same flow identifier in two channels: two flows (unique per channel only).
    let ia = a.insert("FL-1", b"<a/>").await.unwrap();
    let ib = b.insert("FL-1", b"<b/>").await.unwrap();
    assert!(matches!(
        a.insert("FL-1", b"<a/>").await,
        Err(OutboxError::Duplicate(_))
    ));
    // Each lists, claims and reads only its own.
    let open: Vec<i64> = a
        .open_entries()
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(open, vec![ia]);
    let claimed: Vec<i64> = b
        .claim("B", LONG, 0, 10)
        .await
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    assert_eq!(claimed, vec![ib]);
    assert_eq!(a.xml(ia).await.unwrap(), b"<a/>");
    // Another channel's entry is not there for it, by id either.
    assert!(matches!(a.get(ib).await, Err(OutboxError::NotFound(_))));
    assert!(matches!(a.xml(ib).await, Err(OutboxError::NotFound(_))));
}
