//! The bulk-sending journal: what happened to each row, persisted before it is acknowledged.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::mpsc;

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
            _ => Self::Other,
        }
    }

    /// Whether a later run tries the row again: the request surely did not create a message
    /// and another attempt may succeed (429, 5xx, network failure before sending).
    pub fn is_retryable(self) -> bool {
        matches!(self, Self::Throttled | Self::ServerError | Self::Transport)
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
    /// Marked just before the message was submitted; no answer recorded yet. Found at start-up,
    /// it means the previous run stopped mid-request: the outcome is unknown.
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
    fn code(&self) -> &'static str {
        match self {
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
}

/// Storage of the journal. Implementations must make a write durable before `put` returns:
/// the sender acknowledges a row only after that.
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
    /// Writes (inserts or replaces) an entry durably.
    ///
    /// # Errors
    /// A storage error; the caller must then stop.
    async fn put(&self, entry: JournalEntry) -> Result<(), JournalError>;
}

enum Cmd {
    Put(JournalEntry, oneshot::Sender<Result<(), JournalError>>),
    Load(oneshot::Sender<Result<BTreeMap<String, JournalEntry>, JournalError>>),
    Bind(String, oneshot::Sender<Result<(), JournalError>>),
}

/// The embedded journal: a SQLite file (WAL, `synchronous=FULL`). Writes go through one writer
/// thread that commits every write waiting at that moment in a single transaction (group
/// commit), then acknowledges each: durability per row at the cost of one fsync per batch.
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

impl SqliteJournal {
    /// Opens (creating if needed) a journal file.
    ///
    /// # Errors
    /// [`JournalError::Sqlite`] if the file cannot be opened or set up.
    pub fn open(path: &Path) -> Result<Self, JournalError> {
        let conn = Connection::open(path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.busy_timeout(std::time::Duration::from_secs(10))?;
        conn.execute_batch(SCHEMA)?;
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
        self.call(|tx| Cmd::Put(entry, tx)).await
    }
}

fn writer(mut conn: Connection, rx: mpsc::Receiver<Cmd>) {
    while let Ok(first) = rx.recv() {
        let mut puts = Vec::new();
        let mut next = Some(first);
        while let Some(cmd) = next.take() {
            match cmd {
                Cmd::Put(e, tx) => puts.push((e, tx)),
                Cmd::Load(tx) => {
                    let _ = tx.send(load_all(&conn));
                }
                Cmd::Bind(f, tx) => {
                    let _ = tx.send(bind(&conn, &f));
                }
            }
            if puts.len() < 512 {
                next = rx.try_recv().ok();
            }
        }
        if puts.is_empty() {
            continue;
        }
        let result = write_batch(&mut conn, puts.iter().map(|(e, _)| e));
        for (_, tx) in puts {
            let _ = tx.send(match &result {
                Ok(()) => Ok(()),
                Err(e) => Err(JournalError::Write(e.to_string())),
            });
        }
    }
}

fn write_batch<'a>(
    conn: &mut Connection,
    entries: impl Iterator<Item = &'a JournalEntry>,
) -> Result<(), rusqlite::Error> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT OR REPLACE INTO rows
             (key, seq, fiscal_code, fingerprint, state, message_id, reason, detail, delivery, attempts, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        )?;
        for e in entries {
            let (message_id, reason, detail, delivery) = match &e.state {
                RowState::Sending => (None, None, None, None),
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
            };
            stmt.execute(params![
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
            ])?;
        }
    }
    tx.commit()
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
                "INSERT INTO meta (name, value) VALUES ('template', ?1)",
                [fingerprint],
            )?;
            Ok(())
        }
    }
}

fn load_all(conn: &Connection) -> Result<BTreeMap<String, JournalEntry>, JournalError> {
    let mut stmt = conn.prepare(
        "SELECT key, seq, fiscal_code, fingerprint, state, message_id, reason, detail, delivery, attempts, updated_at FROM rows",
    )?;
    type Raw = (
        String,
        i64,
        String,
        String,
        String,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        u32,
        String,
    );
    let raws = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
                r.get(8)?,
                r.get(9)?,
                r.get(10)?,
            ))
        })?
        .collect::<Result<Vec<Raw>, _>>()?;
    let mut out = BTreeMap::new();
    for (
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
        updated,
    ) in raws
    {
        let bad = |key: &str, state: &str| JournalError::UnknownState {
            row: key.to_owned(),
            state: state.to_owned(),
        };
        let st = match state.as_str() {
            "sending" => RowState::Sending,
            "sent" => RowState::Sent {
                message_id: message_id
                    .as_deref()
                    .and_then(|m| MessageId::new(m).ok())
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
        let updated_at = DateTime::parse_from_rfc3339(&updated)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        out.insert(
            key.clone(),
            JournalEntry {
                key,
                seq: u64::try_from(seq).unwrap_or(0),
                fiscal_code,
                fingerprint,
                state: st,
                attempts,
                updated_at,
            },
        );
    }
    Ok(out)
}
