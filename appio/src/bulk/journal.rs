//! The bulk-sending journal: what happened to each row, persisted before it is acknowledged.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use tokio::sync::oneshot;

use crate::error::JournalError;
use crate::types::{MessageId, MessageStatus};

/// Why a row was not sent although it was valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum SkipReason {
    /// The citizen has no IO profile (404).
    NotOnIo,
    /// The citizen blocked this service (`sender_allowed: false`).
    ServiceBlocked,
}

impl SkipReason {
    /// Text used in the journal and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotOnIo => "not_on_io",
            Self::ServiceBlocked => "service_blocked",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "not_on_io" => Some(Self::NotOnIo),
            "service_blocked" => Some(Self::ServiceBlocked),
            _ => None,
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a row failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum FailureReason {
    /// The row does not make a valid message (never sent).
    Invalid,
    /// 403 "Recipient forbidden".
    RecipientForbidden,
    /// Another 403.
    Forbidden,
    /// 401: wrong subscription key.
    Unauthorized,
    /// 400: the API refused the payload.
    BadRequest,
    /// 429 after every retry.
    Throttled,
    /// 5xx after every retry.
    ServerError,
    /// Network failure before the request was sent.
    Transport,
    /// The row's content differs from the row an earlier run sent (or may have sent).
    ChangedSinceLastRun,
    /// The row names a service for which no client (key) is configured
    /// ([`ServiceClients`](super::ServiceClients)); never sent, tried again by a later run.
    NoServiceKey,
    /// Anything else.
    Other,
}

impl FailureReason {
    /// Text used in the journal and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invalid => "invalid",
            Self::RecipientForbidden => "recipient_forbidden",
            Self::Forbidden => "forbidden",
            Self::Unauthorized => "unauthorized",
            Self::BadRequest => "bad_request",
            Self::Throttled => "throttled",
            Self::ServerError => "server_error",
            Self::Transport => "transport",
            Self::ChangedSinceLastRun => "changed_since_last_run",
            Self::NoServiceKey => "no_service_key",
            Self::Other => "other",
        }
    }

    fn parse(s: &str) -> Self {
        match s {
            "invalid" => Self::Invalid,
            "recipient_forbidden" => Self::RecipientForbidden,
            "forbidden" => Self::Forbidden,
            "unauthorized" => Self::Unauthorized,
            "bad_request" => Self::BadRequest,
            "throttled" => Self::Throttled,
            "server_error" => Self::ServerError,
            "transport" => Self::Transport,
            "changed_since_last_run" => Self::ChangedSinceLastRun,
            "no_service_key" => Self::NoServiceKey,
            _ => Self::Other,
        }
    }

    /// Whether a later run tries the row again: the request surely did not create a message
    /// and another attempt may succeed (429, 5xx, network failure before sending).
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::Throttled | Self::ServerError | Self::Transport | Self::NoServiceKey
        )
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// State of a row in the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RowState {
    /// Taken by a worker ([`Journal::claim`]); nothing submitted yet. Left by a worker that
    /// died, it is taken over once the lease ends and processed as a new row.
    Claimed,
    /// Marked just before the message was submitted; no answer recorded yet. Found by another
    /// run once its holder's lease ended, it means that run stopped mid-request: the outcome is
    /// unknown.
    Sending,
    /// Submitted; IO gave this id.
    Sent {
        /// Message id.
        message_id: MessageId,
        /// Processing status from the last delivery check.
        delivery: Option<MessageStatus>,
    },
    /// Not sent, on purpose.
    Skipped(SkipReason),
    /// Not sent: an error.
    Failed {
        /// Kind of failure.
        reason: FailureReason,
        /// Details.
        detail: String,
    },
    /// The request was sent but its answer was lost: the message may or may not exist. Not
    /// resent unless the policy says so; an operator decides.
    Ambiguous {
        /// Details.
        detail: String,
    },
}

impl RowState {
    pub(super) fn code(&self) -> &'static str {
        match self {
            Self::Claimed => "claimed",
            Self::Sending => "sending",
            Self::Sent { .. } => "sent",
            Self::Skipped(_) => "skipped",
            Self::Failed { .. } => "failed",
            Self::Ambiguous { .. } => "ambiguous",
        }
    }
}

/// A row of the journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JournalEntry {
    /// Row key.
    pub key: String,
    /// Order of the row in its input (for listings).
    pub seq: u64,
    /// The recipient as given.
    pub fiscal_code: String,
    /// Fingerprint of the row's content ([`BulkRow::fingerprint`](super::BulkRow::fingerprint)).
    pub fingerprint: String,
    /// State.
    pub state: RowState,
    /// Submissions attempted for this row over all runs.
    pub attempts: u32,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// The service whose key sends the row, when the job sends per service
    /// ([`ServiceClients`](super::ServiceClients)): the delivery check
    /// ([`check_delivery_per_service`](super::check_delivery_per_service)) reads the message
    /// with that service's key.
    pub service: Option<String>,
}

/// A worker's request to take a row ([`Journal::claim`]).
#[derive(Debug, Clone, Copy)]
pub struct ClaimRequest<'a> {
    /// Row key.
    pub key: &'a str,
    /// Order of the row in its input.
    pub seq: u64,
    /// The recipient as given.
    pub fiscal_code: &'a str,
    /// Fingerprint of the row's content.
    pub fingerprint: &'a str,
    /// Who asks (unique per running sender).
    pub worker: &'a str,
    /// How long the row stays the worker's without a renewal.
    pub lease: Duration,
}

/// Answer to [`Journal::claim`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// The worker now holds the row; here it is as stored (state [`RowState::Claimed`] with no
    /// attempts when the row is new).
    Acquired(JournalEntry),
    /// The row was sent: there is nothing left to do for any worker. It is not taken.
    Sent(JournalEntry),
    /// Another worker holds the row.
    Held {
        /// That worker.
        worker: String,
        /// Until when, unless it renews (the database's clock).
        until: DateTime<Utc>,
    },
}

/// Storage of the journal. Implementations must make a write durable before it returns: the
/// sender acknowledges a row only after that.
///
/// Several workers (processes) may run on one journal. A worker takes a row with
/// [`claim`](Self::claim) before doing anything with it; only the holder may write it with
/// [`put_held`](Self::put_held), so only one worker ever moves a row to [`RowState::Sending`].
/// A holder that stops renewing ([`renew`](Self::renew)) loses its rows when the lease ends.
#[async_trait]
pub trait Journal: Send + Sync {
    /// Binds the journal to a template; fails if it was started with another one.
    ///
    /// # Errors
    /// [`JournalError::TemplateMismatch`], or a storage error.
    async fn bind_template(&self, fingerprint: &str) -> Result<(), JournalError>;
    /// Every entry, by key.
    ///
    /// # Errors
    /// A storage error.
    async fn load(&self) -> Result<BTreeMap<String, JournalEntry>, JournalError>;
    /// Writes (inserts or replaces) an entry durably, whoever holds the row, and releases it.
    ///
    /// # Errors
    /// A storage error; the caller must then stop.
    async fn put(&self, entry: JournalEntry) -> Result<(), JournalError>;
    /// Atomically takes a row for `req.worker`: a new row is recorded as
    /// [`RowState::Claimed`]; an existing one is taken when no one holds it, its holder's lease
    /// ended, or the worker already holds it. A sent row is returned, not taken.
    ///
    /// # Errors
    /// A storage error.
    async fn claim(&self, req: &ClaimRequest<'_>) -> Result<Claim, JournalError>;
    /// Writes `entry` only if `worker` holds its row. With `hold` the worker keeps the row,
    /// its lease renewed for that long; without, the row is released. Returns `false`, having
    /// written nothing, when the worker does not hold the row (its lease ended and another
    /// worker took it).
    ///
    /// # Errors
    /// A storage error; the caller must then stop.
    async fn put_held(
        &self,
        entry: JournalEntry,
        worker: &str,
        hold: Option<Duration>,
    ) -> Result<bool, JournalError>;
    /// Extends to `lease` from now every lease `worker` holds; returns how many.
    ///
    /// # Errors
    /// A storage error.
    async fn renew(&self, worker: &str, lease: Duration) -> Result<u64, JournalError>;
    /// Releases row `key` if `worker` holds it, leaving its state as it is.
    ///
    /// # Errors
    /// A storage error.
    async fn release(&self, key: &str, worker: &str) -> Result<(), JournalError>;
}

enum Op {
    Put(JournalEntry),
    PutHeld(JournalEntry, String, Option<Duration>),
    Claim {
        key: String,
        seq: u64,
        fiscal_code: String,
        fingerprint: String,
        worker: String,
        lease: Duration,
    },
    Renew(String, Duration),
    Release(String, String),
}

enum Done {
    Unit,
    Bool(bool),
    Count(u64),
    Claim(Claim),
}

enum Cmd {
    Write(Op, oneshot::Sender<Result<Done, JournalError>>),
    Load(oneshot::Sender<Result<BTreeMap<String, JournalEntry>, JournalError>>),
    Bind(String, oneshot::Sender<Result<(), JournalError>>),
}

/// The embedded journal: a SQLite file (WAL, `synchronous=FULL`). Writes go through one writer
/// thread that commits every write waiting at that moment in a single transaction (group
/// commit), then acknowledges each: durability per row at the cost of one fsync per batch.
/// Several processes may open one file: each batch is an immediate (write-locked) transaction,
/// so claims stay atomic across them.
#[derive(Debug)]
pub struct SqliteJournal {
    tx: mpsc::Sender<Cmd>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows (
    key TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    fiscal_code TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,
    message_id TEXT,
    reason TEXT,
    detail TEXT,
    delivery TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
";

const COLUMNS: &str = "key, seq, fiscal_code, fingerprint, state, message_id, reason, detail, delivery, attempts, updated_at, service";

impl SqliteJournal {
    /// Opens (creating if needed) a journal file. A file written by an earlier version gets
    /// the holder and service columns added.
    ///
    /// # Errors
    /// [`JournalError::Sqlite`] if the file cannot be opened or set up.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
        let has_worker: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('rows') WHERE name = 'worker'")?
            .exists([])?;
        if !has_worker {
            conn.execute_batch(
                "ALTER TABLE rows ADD COLUMN worker TEXT;
                 ALTER TABLE rows ADD COLUMN lease_until INTEGER;",
            )?;
        }
        let has_service: bool = conn
            .prepare("SELECT 1 FROM pragma_table_info('rows') WHERE name = 'service'")?
            .exists([])?;
        if !has_service {
            conn.execute_batch("ALTER TABLE rows ADD COLUMN service TEXT;")?;
        }
        let (tx, rx) = mpsc::channel::<Cmd>();
        std::thread::Builder::new()
            .name("appio-journal".to_owned())
            .spawn(move || writer(conn, rx))
            .map_err(|_| JournalError::WriterStopped)?;
        Ok(Self { tx })
    }

    /// Reads a journal file without the writer thread (for status listings).
    ///
    /// # Errors
    /// [`JournalError`] if the file cannot be read.
    pub fn read_entries(path: &Path) -> Result<Vec<JournalEntry>, JournalError> {
        let conn = Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let mut v: Vec<JournalEntry> = load_all(&conn)?.into_values().collect();
        v.sort_by_key(|e| e.seq);
        Ok(v)
    }

    async fn call<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, JournalError>>) -> Cmd,
    ) -> Result<T, JournalError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(make(tx))
            .map_err(|_| JournalError::WriterStopped)?;
        rx.await.map_err(|_| JournalError::WriterStopped)?
    }

    async fn write(&self, op: Op) -> Result<Done, JournalError> {
        self.call(|tx| Cmd::Write(op, tx)).await
    }
}

fn unexpected() -> JournalError {
    JournalError::Write("unexpected answer of the journal writer".to_owned())
}

#[async_trait]
impl Journal for SqliteJournal {
    async fn bind_template(&self, fingerprint: &str) -> Result<(), JournalError> {
        let f = fingerprint.to_owned();
        self.call(|tx| Cmd::Bind(f, tx)).await
    }

    async fn load(&self) -> Result<BTreeMap<String, JournalEntry>, JournalError> {
        self.call(Cmd::Load).await
    }

    async fn put(&self, entry: JournalEntry) -> Result<(), JournalError> {
        self.write(Op::Put(entry)).await.map(|_| ())
    }

    async fn claim(&self, req: &ClaimRequest<'_>) -> Result<Claim, JournalError> {
        match self
            .write(Op::Claim {
                key: req.key.to_owned(),
                seq: req.seq,
                fiscal_code: req.fiscal_code.to_owned(),
                fingerprint: req.fingerprint.to_owned(),
                worker: req.worker.to_owned(),
                lease: req.lease,
            })
            .await?
        {
            Done::Claim(c) => Ok(c),
            _ => Err(unexpected()),
        }
    }

    async fn put_held(
        &self,
        entry: JournalEntry,
        worker: &str,
        hold: Option<Duration>,
    ) -> Result<bool, JournalError> {
        match self
            .write(Op::PutHeld(entry, worker.to_owned(), hold))
            .await?
        {
            Done::Bool(b) => Ok(b),
            _ => Err(unexpected()),
        }
    }

    async fn renew(&self, worker: &str, lease: Duration) -> Result<u64, JournalError> {
        match self.write(Op::Renew(worker.to_owned(), lease)).await? {
            Done::Count(n) => Ok(n),
            _ => Err(unexpected()),
        }
    }

    async fn release(&self, key: &str, worker: &str) -> Result<(), JournalError> {
        self.write(Op::Release(key.to_owned(), worker.to_owned()))
            .await
            .map(|_| ())
    }
}

fn writer(mut conn: Connection, rx: mpsc::Receiver<Cmd>) {
    while let Ok(first) = rx.recv() {
        let mut ops = Vec::new();
        let mut next = Some(first);
        while let Some(cmd) = next.take() {
            match cmd {
                Cmd::Write(op, tx) => ops.push((op, tx)),
                Cmd::Load(tx) => {
                    let _ = tx.send(load_all(&conn));
                }
                Cmd::Bind(f, tx) => {
                    let _ = tx.send(bind(&conn, &f));
                }
            }
            if ops.len() < 512 {
                next = rx.try_recv().ok();
            }
        }
        if ops.is_empty() {
            continue;
        }
        match write_batch(&mut conn, ops.iter().map(|(op, _)| op)) {
            Ok(results) => {
                for ((_, tx), r) in ops.into_iter().zip(results) {
                    let _ = tx.send(r);
                }
            }
            Err(e) => {
                for (_, tx) in ops {
                    let _ = tx.send(Err(JournalError::Write(e.to_string())));
                }
            }
        }
    }
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn lease_end(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::days(3650))
}

/// The columns of a state: message id, reason, detail, delivery.
pub(super) type StateColumns = (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
);

pub(super) fn state_columns(state: &RowState) -> StateColumns {
    match state {
        RowState::Claimed | RowState::Sending => (None, None, None, None),
        RowState::Sent {
            message_id,
            delivery,
        } => (
            Some(message_id.as_str().to_owned()),
            None,
            None,
            delivery.as_ref().map(|d| d.as_str().to_owned()),
        ),
        RowState::Skipped(r) => (None, Some(r.as_str().to_owned()), None, None),
        RowState::Failed { reason, detail } => (
            None,
            Some(reason.as_str().to_owned()),
            Some(detail.clone()),
            None,
        ),
        RowState::Ambiguous { detail } => (None, None, Some(detail.clone()), None),
    }
}

fn write_batch<'a>(
    conn: &mut Connection,
    ops: impl Iterator<Item = &'a Op>,
) -> Result<Vec<Result<Done, JournalError>>, rusqlite::Error> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let mut out = Vec::new();
    for op in ops {
        out.push(apply(&tx, op)?);
    }
    tx.commit()?;
    Ok(out)
}

/// Applies one write; the outer error aborts the batch, the inner one is this write's alone.
fn apply(
    tx: &rusqlite::Transaction<'_>,
    op: &Op,
) -> Result<Result<Done, JournalError>, rusqlite::Error> {
    let now = Utc::now();
    match op {
        Op::Put(e) => {
            let (message_id, reason, detail, delivery) = state_columns(&e.state);
            tx.prepare_cached(
                "INSERT OR REPLACE INTO rows
                 (key, seq, fiscal_code, fingerprint, state, message_id, reason, detail, delivery, attempts, updated_at, worker, lease_until, service)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, NULL, NULL, ?12)",
            )?
            .execute(params![
                e.key,
                i64::try_from(e.seq).unwrap_or(i64::MAX),
                e.fiscal_code,
                e.fingerprint,
                e.state.code(),
                message_id,
                reason,
                detail,
                delivery,
                e.attempts,
                crate::types::timestamp::format(&e.updated_at),
                e.service,
            ])?;
            Ok(Ok(Done::Unit))
        }
        Op::PutHeld(e, worker, hold) => {
            let (message_id, reason, detail, delivery) = state_columns(&e.state);
            let (keep, until) = match hold {
                Some(l) => (Some(worker.as_str()), Some(millis(lease_end(now, *l)))),
                None => (None, None),
            };
            let n = tx
                .prepare_cached(
                    "UPDATE rows SET seq = ?2, fiscal_code = ?3, fingerprint = ?4, state = ?5,
                     message_id = ?6, reason = ?7, detail = ?8, delivery = ?9, attempts = ?10,
                     updated_at = ?11, worker = ?12, lease_until = ?13, service = ?15
                     WHERE key = ?1 AND worker = ?14",
                )?
                .execute(params![
                    e.key,
                    i64::try_from(e.seq).unwrap_or(i64::MAX),
                    e.fiscal_code,
                    e.fingerprint,
                    e.state.code(),
                    message_id,
                    reason,
                    detail,
                    delivery,
                    e.attempts,
                    crate::types::timestamp::format(&e.updated_at),
                    keep,
                    until,
                    worker,
                    e.service,
                ])?;
            Ok(Ok(Done::Bool(n == 1)))
        }
        Op::Claim {
            key,
            seq,
            fiscal_code,
            fingerprint,
            worker,
            lease,
        } => {
            let until = lease_end(now, *lease);
            let found = tx
                .prepare_cached(&format!(
                    "SELECT {COLUMNS}, worker, lease_until FROM rows WHERE key = ?1"
                ))?
                .query_row([key], |r| {
                    Ok((
                        raw_row(r)?,
                        r.get::<_, Option<String>>(12)?,
                        r.get::<_, Option<i64>>(13)?,
                    ))
                })
                .optional()?;
            let Some((raw, holder, held_until)) = found else {
                tx.prepare_cached(
                    "INSERT INTO rows (key, seq, fiscal_code, fingerprint, state, attempts, updated_at, worker, lease_until)
                     VALUES (?1, ?2, ?3, ?4, 'claimed', 0, ?5, ?6, ?7)",
                )?
                .execute(params![
                    key,
                    i64::try_from(*seq).unwrap_or(i64::MAX),
                    fiscal_code,
                    fingerprint,
                    crate::types::timestamp::format(&now),
                    worker,
                    millis(until),
                ])?;
                return Ok(Ok(Done::Claim(Claim::Acquired(JournalEntry {
                    key: key.clone(),
                    seq: *seq,
                    fiscal_code: fiscal_code.clone(),
                    fingerprint: fingerprint.clone(),
                    state: RowState::Claimed,
                    attempts: 0,
                    updated_at: now,
                    service: None,
                }))));
            };
            let entry = match entry_from_raw(raw) {
                Ok(e) => e,
                Err(e) => return Ok(Err(e)),
            };
            if matches!(entry.state, RowState::Sent { .. }) {
                return Ok(Ok(Done::Claim(Claim::Sent(entry))));
            }
            if let (Some(h), Some(t)) = (&holder, held_until)
                && h != worker
                && t >= millis(now)
            {
                return Ok(Ok(Done::Claim(Claim::Held {
                    worker: h.clone(),
                    until: DateTime::from_timestamp_millis(t).unwrap_or_default(),
                })));
            }
            tx.prepare_cached("UPDATE rows SET worker = ?2, lease_until = ?3 WHERE key = ?1")?
                .execute(params![key, worker, millis(until)])?;
            Ok(Ok(Done::Claim(Claim::Acquired(entry))))
        }
        Op::Renew(worker, lease) => {
            let n = tx
                .prepare_cached("UPDATE rows SET lease_until = ?2 WHERE worker = ?1")?
                .execute(params![worker, millis(lease_end(now, *lease))])?;
            Ok(Ok(Done::Count(n as u64)))
        }
        Op::Release(key, worker) => {
            tx.prepare_cached(
                "UPDATE rows SET worker = NULL, lease_until = NULL WHERE key = ?1 AND worker = ?2",
            )?
            .execute(params![key, worker])?;
            Ok(Ok(Done::Unit))
        }
    }
}

fn bind(conn: &Connection, fingerprint: &str) -> Result<(), JournalError> {
    let found: Option<String> = conn
        .query_row("SELECT value FROM meta WHERE name = 'template'", [], |r| {
            r.get(0)
        })
        .optional()?;
    match found {
        Some(f) if f != fingerprint => Err(JournalError::TemplateMismatch {
            found: f,
            expected: fingerprint.to_owned(),
        }),
        Some(_) => Ok(()),
        None => {
            conn.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES ('template', ?1)",
                [fingerprint],
            )?;
            // Another process may have bound it first.
            bind_check(conn, fingerprint)
        }
    }
}

fn bind_check(conn: &Connection, fingerprint: &str) -> Result<(), JournalError> {
    let f: String = conn.query_row("SELECT value FROM meta WHERE name = 'template'", [], |r| {
        r.get(0)
    })?;
    if f == fingerprint {
        Ok(())
    } else {
        Err(JournalError::TemplateMismatch {
            found: f,
            expected: fingerprint.to_owned(),
        })
    }
}

/// A row as stored, before its state is checked.
pub(super) struct RawRow {
    pub(super) key: String,
    pub(super) seq: i64,
    pub(super) fiscal_code: String,
    pub(super) fingerprint: String,
    pub(super) state: String,
    pub(super) message_id: Option<String>,
    pub(super) reason: Option<String>,
    pub(super) detail: Option<String>,
    pub(super) delivery: Option<String>,
    pub(super) attempts: u32,
    pub(super) updated_at: DateTime<Utc>,
    pub(super) service: Option<String>,
}

fn raw_row(r: &rusqlite::Row<'_>) -> Result<RawRow, rusqlite::Error> {
    let updated: String = r.get(10)?;
    Ok(RawRow {
        key: r.get(0)?,
        seq: r.get(1)?,
        fiscal_code: r.get(2)?,
        fingerprint: r.get(3)?,
        state: r.get(4)?,
        message_id: r.get(5)?,
        reason: r.get(6)?,
        detail: r.get(7)?,
        delivery: r.get(8)?,
        attempts: r.get(9)?,
        updated_at: DateTime::parse_from_rfc3339(&updated)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default(),
        service: r.get(11)?,
    })
}

pub(super) fn entry_from_raw(raw: RawRow) -> Result<JournalEntry, JournalError> {
    let RawRow {
        key,
        seq,
        fiscal_code,
        fingerprint,
        state,
        message_id,
        reason,
        detail,
        delivery,
        attempts,
        updated_at,
        service,
    } = raw;
    let bad = |key: &str, state: &str| JournalError::UnknownState {
        row: key.to_owned(),
        state: state.to_owned(),
    };
    let st = match state.as_str() {
        "claimed" => RowState::Claimed,
        "sending" => RowState::Sending,
        "sent" => RowState::Sent {
            message_id: message_id
                .as_deref()
                .and_then(|m| MessageId::as_given(m).ok())
                .ok_or_else(|| bad(&key, "sent without a valid message id"))?,
            delivery: delivery.as_deref().map(MessageStatus::from_api),
        },
        "skipped" => RowState::Skipped(
            reason
                .as_deref()
                .and_then(SkipReason::parse)
                .ok_or_else(|| bad(&key, "skipped without a known reason"))?,
        ),
        "failed" => RowState::Failed {
            reason: FailureReason::parse(reason.as_deref().unwrap_or("")),
            detail: detail.unwrap_or_default(),
        },
        "ambiguous" => RowState::Ambiguous {
            detail: detail.unwrap_or_default(),
        },
        other => return Err(bad(&key, other)),
    };
    Ok(JournalEntry {
        key,
        seq: u64::try_from(seq).unwrap_or(0),
        fiscal_code,
        fingerprint,
        state: st,
        attempts,
        updated_at,
        service,
    })
}

fn load_all(conn: &Connection) -> Result<BTreeMap<String, JournalEntry>, JournalError> {
    let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM rows"))?;
    let raws = stmt
        .query_map([], raw_row)?
        .collect::<Result<Vec<RawRow>, _>>()?;
    let mut out = BTreeMap::new();
    for raw in raws {
        let e = entry_from_raw(raw)?;
        out.insert(e.key.clone(), e);
    }
    Ok(out)
}
