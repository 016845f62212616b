//! One contract for every bulk journal: the same test functions run against SQLite (two
//! handles on one file, as two processes would open it) and PostgreSQL (two pools on one job).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use appio::bulk::{
    Claim, ClaimRequest, FailureReason, Journal, JournalEntry, RowState, SkipReason, SqliteJournal,
};
use appio::{JournalError, MessageId, MessageStatus};
use chrono::{DateTime, SubsecRound, Utc};

/// Two handles on one journal, as two workers see it.
pub(crate) struct Pair {
    a: Arc<dyn Journal>,
    b: Arc<dyn Journal>,
    _dir: Option<tempfile::TempDir>,
}

pub(crate) fn sqlite_pair() -> Pair {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    Pair {
        a: Arc::new(SqliteJournal::open(&path).unwrap()),
        b: Arc::new(SqliteJournal::open(&path).unwrap()),
        _dir: Some(dir),
    }
}

#[cfg(feature = "postgres")]
pub(crate) async fn pg_pair() -> Option<Pair> {
    let url = pa_postgres::testing::fresh_database().await.unwrap()?;
    let a = appio::bulk::PgJournal::connect(&url, "job-1")
        .await
        .unwrap();
    let b = appio::bulk::PgJournal::connect(&url, "job-1")
        .await
        .unwrap();
    Some(Pair {
        a: Arc::new(a),
        b: Arc::new(b),
        _dir: None,
    })
}

macro_rules! contract {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::sqlite_pair()).await;
                }
            )*
        }
        #[cfg(feature = "postgres")]
        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(pair) = super::pg_pair().await else { return };
                    super::$name(pair).await;
                }
            )*
        }
    };
}

contract!(
    binds_one_template,
    every_state_round_trips,
    a_claimed_row_belongs_to_one_worker_until_its_lease_ends,
    releasing_frees_only_the_holders_rows,
    renew_extends_only_that_workers_leases,
    concurrent_claims_have_one_winner_per_row,
    a_plain_put_overrides_and_releases,
);

const LONG: Duration = Duration::from_secs(30);

fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(0)
}

fn entry(key: &str, state: RowState) -> JournalEntry {
    let seq = key.trim_start_matches('r').parse().unwrap_or(0);
    JournalEntry {
        key: key.to_owned(),
        seq,
        fiscal_code: "RSSMRA85T10A562S".to_owned(),
        fingerprint: format!("fp-{key}"),
        state,
        attempts: 2,
        updated_at: now(),
        // Rows of a job sent per service record their service; the others none.
        service: (seq % 2 == 1).then(|| format!("servizio-{seq}")),
    }
}

fn req<'a>(key: &'a str, worker: &'a str, lease: Duration) -> ClaimRequest<'a> {
    ClaimRequest {
        key,
        seq: 7,
        fiscal_code: "RSSMRA85T10A562S",
        fingerprint: "fp",
        worker,
        lease,
    }
}

async fn binds_one_template(p: Pair) {
    p.a.bind_template("t1").await.unwrap();
    p.a.bind_template("t1").await.unwrap();
    p.b.bind_template("t1").await.unwrap();
    let err = p.b.bind_template("t2").await.unwrap_err();
    assert!(
        matches!(&err, JournalError::TemplateMismatch { found, expected } if found == "t1" && expected == "t2"),
        "{err}"
    );
}

async fn every_state_round_trips(p: Pair) {
    let states = [
        RowState::Claimed,
        RowState::Sending,
        RowState::Sent {
            message_id: MessageId::new("01BX9NSMKVXXS5PSP2FATZMYYY").unwrap(),
            delivery: None,
        },
        RowState::Sent {
            message_id: MessageId::as_given("not-a-ulid-123").unwrap(),
            delivery: Some(MessageStatus::Rejected),
        },
        RowState::Skipped(SkipReason::NotOnIo),
        RowState::Skipped(SkipReason::ServiceBlocked),
        RowState::Failed {
            reason: FailureReason::Throttled,
            detail: "429 after 6 retries".to_owned(),
        },
        RowState::Failed {
            reason: FailureReason::ChangedSinceLastRun,
            detail: String::new(),
        },
        RowState::Ambiguous {
            detail: "answer lost".to_owned(),
        },
    ];
    let mut expected = BTreeMap::new();
    for (i, s) in states.into_iter().enumerate() {
        let e = entry(&format!("r{i}"), s);
        p.a.put(e.clone()).await.unwrap();
        expected.insert(e.key.clone(), e);
    }
    assert_eq!(p.b.load().await.unwrap(), expected);
    // A put replaces the row.
    let e = entry("r0", RowState::Skipped(SkipReason::NotOnIo));
    p.b.put(e.clone()).await.unwrap();
    expected.insert("r0".to_owned(), e);
    assert_eq!(p.a.load().await.unwrap(), expected);
}

async fn a_claimed_row_belongs_to_one_worker_until_its_lease_ends(p: Pair) {
    // A new row is recorded as claimed, with no attempt.
    let Claim::Acquired(e) = p.a.claim(&req("r0", "w1", LONG)).await.unwrap() else {
        panic!("a new row is taken")
    };
    assert_eq!(
        (e.state.clone(), e.attempts, e.seq),
        (RowState::Claimed, 0, 7)
    );
    assert_eq!(e.fingerprint, "fp");
    assert_eq!(p.b.load().await.unwrap()["r0"].state, RowState::Claimed);
    // Another worker finds it held; the holder takes it again.
    match p.b.claim(&req("r0", "w2", LONG)).await.unwrap() {
        Claim::Held { worker, until } => {
            assert_eq!(worker, "w1");
            assert!(until > Utc::now(), "{until}");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        p.a.claim(&req("r0", "w1", LONG)).await.unwrap(),
        Claim::Acquired(_)
    ));
    // Only the holder may write it, so only one worker moves it to sending.
    let sending = JournalEntry {
        state: RowState::Sending,
        attempts: 1,
        ..e.clone()
    };
    assert!(
        !p.b.put_held(sending.clone(), "w2", Some(LONG))
            .await
            .unwrap()
    );
    assert_eq!(p.a.load().await.unwrap()["r0"].state, RowState::Claimed);
    assert!(p.a.put_held(sending, "w1", Some(LONG)).await.unwrap());
    assert_eq!(p.b.load().await.unwrap()["r0"].state, RowState::Sending);
    // Still held after the write (it kept the row).
    assert!(matches!(
        p.b.claim(&req("r0", "w2", LONG)).await.unwrap(),
        Claim::Held { .. }
    ));

    // A short lease that is not renewed ends: another worker takes the row, and the old holder
    // can no longer write it.
    let Claim::Acquired(e1) =
        p.a.claim(&req("r1", "w1", Duration::from_millis(100)))
            .await
            .unwrap()
    else {
        panic!()
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let Claim::Acquired(taken) = p.b.claim(&req("r1", "w2", LONG)).await.unwrap() else {
        panic!("an expired lease is taken over")
    };
    assert_eq!(taken.state, RowState::Claimed);
    let late = JournalEntry {
        state: RowState::Sending,
        ..e1.clone()
    };
    assert!(!p.a.put_held(late, "w1", Some(LONG)).await.unwrap());
    let sent = JournalEntry {
        state: RowState::Sent {
            message_id: MessageId::new("01SENT").unwrap(),
            delivery: None,
        },
        attempts: 1,
        service: Some("tari".to_owned()),
        ..e1
    };
    assert!(p.b.put_held(sent.clone(), "w2", None).await.unwrap());
    // A sent row is given back as sent to anyone, and not taken; the holder's write kept the
    // service it was sent with.
    match p.a.claim(&req("r1", "w1", LONG)).await.unwrap() {
        Claim::Sent(e) => {
            assert_eq!(e.state, sent.state);
            assert_eq!(e.service.as_deref(), Some("tari"));
        }
        other => panic!("{other:?}"),
    }
    assert!(!p.a.put_held(sent, "w1", None).await.unwrap());
}

async fn releasing_frees_only_the_holders_rows(p: Pair) {
    let Claim::Acquired(e) = p.a.claim(&req("r0", "w1", LONG)).await.unwrap() else {
        panic!()
    };
    // Someone else's release changes nothing.
    p.b.release("r0", "w2").await.unwrap();
    assert!(matches!(
        p.b.claim(&req("r0", "w2", LONG)).await.unwrap(),
        Claim::Held { .. }
    ));
    p.a.release("r0", "w1").await.unwrap();
    assert!(matches!(
        p.b.claim(&req("r0", "w2", LONG)).await.unwrap(),
        Claim::Acquired(_)
    ));
    // A write without `hold` releases too, and the next claim sees the state written.
    let failed = JournalEntry {
        state: RowState::Failed {
            reason: FailureReason::ServerError,
            detail: "500".to_owned(),
        },
        ..e
    };
    assert!(p.b.put_held(failed.clone(), "w2", None).await.unwrap());
    match p.a.claim(&req("r0", "w1", LONG)).await.unwrap() {
        Claim::Acquired(got) => {
            assert_eq!(got.state, failed.state);
            assert_eq!(got.fingerprint, "fp");
        }
        other => panic!("{other:?}"),
    }
}

async fn renew_extends_only_that_workers_leases(p: Pair) {
    let short = Duration::from_millis(300);
    for k in ["r0", "r1"] {
        assert!(matches!(
            p.a.claim(&req(k, "w1", short)).await.unwrap(),
            Claim::Acquired(_)
        ));
    }
    assert!(matches!(
        p.b.claim(&req("r2", "w2", short)).await.unwrap(),
        Claim::Acquired(_)
    ));
    assert_eq!(p.a.renew("w1", LONG).await.unwrap(), 2);
    assert_eq!(p.a.renew("nobody", LONG).await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    for k in ["r0", "r1"] {
        assert!(matches!(
            p.b.claim(&req(k, "w3", LONG)).await.unwrap(),
            Claim::Held { worker, .. } if worker == "w1"
        ));
    }
    assert!(matches!(
        p.b.claim(&req("r2", "w3", LONG)).await.unwrap(),
        Claim::Acquired(_)
    ));
}

async fn concurrent_claims_have_one_winner_per_row(p: Pair) {
    const KEYS: usize = 25;
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..8 {
        let j = if w % 2 == 0 { p.a.clone() } else { p.b.clone() };
        tasks.spawn(async move {
            let worker = format!("w{w}");
            let mut won = Vec::new();
            for k in 0..KEYS {
                let key = format!("r{k}");
                if let Claim::Acquired(_) = j.claim(&req(&key, &worker, LONG)).await.unwrap() {
                    won.push(key);
                }
            }
            won
        });
    }
    let mut winners: BTreeMap<String, usize> = BTreeMap::new();
    while let Some(won) = tasks.join_next().await {
        for k in won.unwrap() {
            *winners.entry(k).or_default() += 1;
        }
    }
    assert_eq!(winners.len(), KEYS, "{winners:?}");
    assert!(winners.values().all(|n| *n == 1), "{winners:?}");
}

async fn a_plain_put_overrides_and_releases(p: Pair) {
    let Claim::Acquired(e) = p.a.claim(&req("r0", "w1", LONG)).await.unwrap() else {
        panic!()
    };
    let amb = JournalEntry {
        state: RowState::Ambiguous {
            detail: "operator".to_owned(),
        },
        ..e
    };
    p.b.put(amb.clone()).await.unwrap();
    assert!(!p.a.put_held(amb.clone(), "w1", None).await.unwrap());
    match p.b.claim(&req("r0", "w2", LONG)).await.unwrap() {
        Claim::Acquired(got) => assert_eq!(got.state, amb.state),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_journal_file_of_an_earlier_version_is_upgraded() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("old.sqlite");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(
            "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
             CREATE TABLE rows (key TEXT PRIMARY KEY, seq INTEGER NOT NULL,
               fiscal_code TEXT NOT NULL, fingerprint TEXT NOT NULL, state TEXT NOT NULL,
               message_id TEXT, reason TEXT, detail TEXT, delivery TEXT,
               attempts INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL);
             INSERT INTO rows VALUES ('r0', 0, 'RSSMRA85T10A562S', 'fp', 'sending', NULL, NULL,
               NULL, NULL, 1, '2025-01-01T00:00:00.000Z');",
        )
        .unwrap();
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let j = SqliteJournal::open(&path).unwrap();
        // The row of the old run is free to take (no holder), and keeps its state; it has
        // no service recorded.
        match j.claim(&req("r0", "w1", LONG)).await.unwrap() {
            Claim::Acquired(e) => {
                assert_eq!(
                    (e.state, e.attempts, e.service),
                    (RowState::Sending, 1, None)
                );
            }
            other => panic!("{other:?}"),
        }
        let mut sent = entry("r1", RowState::Claimed);
        sent.service = Some("tari".to_owned());
        j.put(sent.clone()).await.unwrap();
        assert_eq!(j.load().await.unwrap()["r1"], sent);
    });
}

#[test]
fn an_unknown_state_in_the_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j.sqlite");
    drop(SqliteJournal::open(&path).unwrap());
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute(
        "INSERT INTO rows (key, seq, fiscal_code, fingerprint, state, attempts, updated_at)
         VALUES ('r0', 0, 'X', 'fp', 'teleported', 0, '2025-01-01T00:00:00.000Z')",
        [],
    )
    .unwrap();
    let err = SqliteJournal::read_entries(&path).unwrap_err();
    assert!(
        matches!(&err, JournalError::UnknownState { row, state } if row == "r0" && state == "teleported"),
        "{err}"
    );
}

#[cfg(feature = "postgres")]
mod postgres_only {
    use super::*;
    use appio::bulk::PgJournal;

    #[tokio::test]
    async fn jobs_in_one_database_are_separate() {
        let Some(url) = pa_postgres::testing::fresh_database().await.unwrap() else {
            return;
        };
        let db = pa_postgres::Database::connect(&url).await.unwrap();
        db.migrate(&appio::PG_MIGRATIONS).await.unwrap();
        let a = PgJournal::new(db.clone(), "tari-2025");
        let b = PgJournal::open(db.clone(), "imu-2025").await.unwrap();
        a.bind_template("ta").await.unwrap();
        b.bind_template("tb").await.unwrap();
        a.put(entry("r0", RowState::Sending)).await.unwrap();
        assert!(b.load().await.unwrap().is_empty());
        assert!(matches!(
            b.claim(&req("r0", "w2", LONG)).await.unwrap(),
            Claim::Acquired(e) if e.state == RowState::Claimed
        ));
        assert!(matches!(
            a.claim(&req("r0", "w1", LONG)).await.unwrap(),
            Claim::Acquired(e) if e.state == RowState::Sending
        ));
        assert_eq!(
            PgJournal::jobs(&db).await.unwrap(),
            vec!["tari-2025".to_owned(), "imu-2025".to_owned()]
        );
        assert_eq!(a.entries().await.unwrap().len(), 1);
        // Migrating again applies nothing.
        assert!(
            db.migrate(&appio::PG_MIGRATIONS)
                .await
                .unwrap()
                .applied
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_database_that_is_down_is_named_without_the_password() {
        let err = PgJournal::connect("postgres://pa:s3cret@127.0.0.1:1/jobs", "j")
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, JournalError::Postgres(_)), "{text}");
        assert!(text.contains("127.0.0.1:1"), "{text}");
        assert!(text.contains("jobs"), "{text}");
        assert!(!text.contains("s3cret"), "{text}");
    }
}
