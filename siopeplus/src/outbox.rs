//! Durable outbox: a flow to send is persisted first, then uploaded, and followed through the
//! ACK, the treasurer's ricezione / rifiuto and the esiti applicativi.
//!
//! Rules:
//! * [`Outbox::enqueue`] returns only once the flow is durably stored; a flow it accepted is
//!   never lost (it stays in the store until it reaches a final state).
//! * Before an upload the entry is marked `Uploading` (durably). If the process stops before
//!   the answer is recorded, the outcome is unknown; the next [`Outbox::process`] first looks for
//!   the flow's ACK on the channel and uploads again only when none is found and the grace
//!   period has passed. So a flow that may have been accepted is never re-sent blindly.
//! * Every transition is one SQLite transaction (WAL, `synchronous=FULL`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{Local, NaiveDateTime};
use rusqlite::{Connection, OptionalExtension, params};

use crate::client::{A2aClient, ListKind, ListQuery};
use crate::error::{Error, OutboxError, TransportError};
use crate::messages::{AckSiope, EsitoApplicativo, Messaggio, StatoFlusso, parse_message};

/// Where an outbox entry stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OutboxState {
    /// Stored, not sent yet.
    Pending,
    /// An upload was started; its outcome is not recorded (unknown after a crash).
    Uploading,
    /// SIOPE+ answered 201 to the upload.
    Uploaded,
    /// ACK with `stato_flusso` OK or WARNING.
    AckOk,
    /// ACK KO: SIOPE+ refused the flow (final; the flow needs correcting and a new identifier).
    AckKo,
    /// The treasurer acknowledged receipt (`messaggio_ricezione_flusso`).
    Ricevuto,
    /// The treasurer refused the flow (`messaggio_rifiuto_flusso`, final).
    Rifiutato,
    /// Esiti applicativi received for the flow (final).
    Completed,
}

impl OutboxState {
    /// Stored spelling.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxState::Pending => "pending",
            OutboxState::Uploading => "uploading",
            OutboxState::Uploaded => "uploaded",
            OutboxState::AckOk => "ack_ok",
            OutboxState::AckKo => "ack_ko",
            OutboxState::Ricevuto => "ricevuto",
            OutboxState::Rifiutato => "rifiutato",
            OutboxState::Completed => "completed",
        }
    }

    fn parse(s: &str) -> Result<Self, OutboxError> {
        Ok(match s {
            "pending" => OutboxState::Pending,
            "uploading" => OutboxState::Uploading,
            "uploaded" => OutboxState::Uploaded,
            "ack_ok" => OutboxState::AckOk,
            "ack_ko" => OutboxState::AckKo,
            "ricevuto" => OutboxState::Ricevuto,
            "rifiutato" => OutboxState::Rifiutato,
            "completed" => OutboxState::Completed,
            other => return Err(OutboxError::Db(format!("unknown state {other:?}"))),
        })
    }

    /// No further work for the outbox.
    #[must_use]
    pub fn is_final(self) -> bool {
        matches!(
            self,
            OutboxState::AckKo | OutboxState::Rifiutato | OutboxState::Completed
        )
    }
}

/// One flow in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    /// Store id.
    pub id: i64,
    /// `identificativo_flusso`.
    pub identificativo_flusso: String,
    /// Current state.
    pub state: OutboxState,
    /// `progFlusso` from the upload answer.
    pub prog_flusso: Option<i64>,
    /// When the last upload attempt started.
    pub attempted_at: Option<NaiveDateTime>,
    /// Upload attempts started.
    pub attempts: u32,
    /// Last note (error text, ACK errors...).
    pub detail: Option<String>,
}

/// A message stored with an entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMessage {
    /// `ack`, `esitoflusso`, `esitoapplicativo`.
    pub kind: String,
    /// Where it was downloaded from.
    pub location: String,
    /// The XML.
    pub xml: Vec<u8>,
}

/// Storage of the outbox. Every method must be durable when it returns.
#[async_trait::async_trait]
pub trait OutboxStore: Send + Sync {
    /// Stores a new flow as `Pending`.
    ///
    /// # Errors
    /// [`OutboxError::Duplicate`] when the identifier is already stored, [`OutboxError::Db`].
    async fn insert(&self, identificativo_flusso: &str, xml: &[u8]) -> Result<i64, OutboxError>;
    /// One entry.
    ///
    /// # Errors
    /// [`OutboxError::NotFound`], [`OutboxError::Db`].
    async fn get(&self, id: i64) -> Result<OutboxEntry, OutboxError>;
    /// The stored XML of an entry.
    ///
    /// # Errors
    /// [`OutboxError::NotFound`], [`OutboxError::Db`].
    async fn xml(&self, id: i64) -> Result<Vec<u8>, OutboxError>;
    /// Entries not in a final state, oldest first.
    ///
    /// # Errors
    /// [`OutboxError::Db`].
    async fn open_entries(&self) -> Result<Vec<OutboxEntry>, OutboxError>;
    /// Marks an upload attempt as started at `at`.
    ///
    /// # Errors
    /// [`OutboxError::Db`].
    async fn begin_upload(&self, id: i64, at: NaiveDateTime) -> Result<(), OutboxError>;
    /// Moves an entry to `state`, recording `prog_flusso` (when `Some`) and a note.
    ///
    /// # Errors
    /// [`OutboxError::Db`].
    async fn transition(
        &self,
        id: i64,
        state: OutboxState,
        prog_flusso: Option<i64>,
        detail: Option<&str>,
    ) -> Result<(), OutboxError>;
    /// Stores a message downloaded for an entry (idempotent on kind + location).
    ///
    /// # Errors
    /// [`OutboxError::Db`].
    async fn save_message(&self, id: i64, msg: &StoredMessage) -> Result<(), OutboxError>;
    /// The messages stored for an entry.
    ///
    /// # Errors
    /// [`OutboxError::Db`].
    async fn messages(&self, id: i64) -> Result<Vec<StoredMessage>, OutboxError>;
}

/// The embedded default store: one SQLite file.
pub struct SqliteOutbox {
    conn: Mutex<Connection>,
}

impl std::fmt::Debug for SqliteOutbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteOutbox").finish_non_exhaustive()
    }
}

fn db(e: rusqlite::Error) -> OutboxError {
    OutboxError::Db(e.to_string())
}

const TS: &str = "%Y-%m-%dT%H:%M:%S%.3f";

impl SqliteOutbox {
    /// Opens (creating if needed) the outbox in the SQLite file at `path`.
    ///
    /// # Errors
    /// [`OutboxError::Db`].
    pub fn open(path: &Path) -> Result<Self, OutboxError> {
        Self::init(Connection::open(path).map_err(db)?)
    }

    /// An in-memory outbox (for tests and demos: not durable).
    ///
    /// # Errors
    /// [`OutboxError::Db`].
    pub fn in_memory() -> Result<Self, OutboxError> {
        Self::init(Connection::open_in_memory().map_err(db)?)
    }

    fn init(conn: Connection) -> Result<Self, OutboxError> {
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=FULL;
             PRAGMA busy_timeout=5000;
             CREATE TABLE IF NOT EXISTS siopeplus_outbox (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 identificativo_flusso TEXT NOT NULL UNIQUE,
                 xml BLOB NOT NULL,
                 state TEXT NOT NULL,
                 prog_flusso INTEGER,
                 attempted_at TEXT,
                 attempts INTEGER NOT NULL DEFAULT 0,
                 detail TEXT,
                 created_at TEXT NOT NULL,
                 updated_at TEXT NOT NULL
             );
             CREATE TABLE IF NOT EXISTS siopeplus_outbox_messages (
                 entry_id INTEGER NOT NULL REFERENCES siopeplus_outbox(id),
                 kind TEXT NOT NULL,
                 location TEXT NOT NULL,
                 xml BLOB NOT NULL,
                 PRIMARY KEY (entry_id, kind, location)
             );",
        )
        .map_err(db)?;
        Ok(SqliteOutbox {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

fn now() -> NaiveDateTime {
    Local::now().naive_local()
}

type EntryRow = (
    i64,
    String,
    String,
    Option<i64>,
    Option<String>,
    u32,
    Option<String>,
);

fn row_entry(r: &rusqlite::Row<'_>) -> rusqlite::Result<EntryRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn to_entry(t: EntryRow) -> Result<OutboxEntry, OutboxError> {
    Ok(OutboxEntry {
        id: t.0,
        identificativo_flusso: t.1,
        state: OutboxState::parse(&t.2)?,
        prog_flusso: t.3,
        attempted_at: t.4.and_then(|s| NaiveDateTime::parse_from_str(&s, TS).ok()),
        attempts: t.5,
        detail: t.6,
    })
}

const COLS: &str = "id, identificativo_flusso, state, prog_flusso, attempted_at, attempts, detail";

#[async_trait::async_trait]
impl OutboxStore for SqliteOutbox {
    async fn insert(&self, identificativo_flusso: &str, xml: &[u8]) -> Result<i64, OutboxError> {
        let c = self.conn();
        let ts = now().format(TS).to_string();
        match c.execute(
            "INSERT INTO siopeplus_outbox (identificativo_flusso, xml, state, created_at, updated_at) VALUES (?1, ?2, 'pending', ?3, ?3)",
            params![identificativo_flusso, xml, ts],
        ) {
            Ok(_) => Ok(c.last_insert_rowid()),
            Err(rusqlite::Error::SqliteFailure(e, _)) if e.code == rusqlite::ErrorCode::ConstraintViolation => {
                Err(OutboxError::Duplicate(identificativo_flusso.to_owned()))
            }
            Err(e) => Err(db(e)),
        }
    }

    async fn get(&self, id: i64) -> Result<OutboxEntry, OutboxError> {
        let c = self.conn();
        let t = c
            .query_row(
                &format!("SELECT {COLS} FROM siopeplus_outbox WHERE id = ?1"),
                [id],
                row_entry,
            )
            .optional()
            .map_err(db)?
            .ok_or(OutboxError::NotFound(id))?;
        to_entry(t)
    }

    async fn xml(&self, id: i64) -> Result<Vec<u8>, OutboxError> {
        self.conn()
            .query_row(
                "SELECT xml FROM siopeplus_outbox WHERE id = ?1",
                [id],
                |r| r.get(0),
            )
            .optional()
            .map_err(db)?
            .ok_or(OutboxError::NotFound(id))
    }

    async fn open_entries(&self) -> Result<Vec<OutboxEntry>, OutboxError> {
        let c = self.conn();
        let mut st = c
            .prepare(&format!(
                "SELECT {COLS} FROM siopeplus_outbox WHERE state NOT IN ('ack_ko', 'rifiutato', 'completed') ORDER BY id"
            ))
            .map_err(db)?;
        let rows = st.query_map([], row_entry).map_err(db)?;
        let mut v = Vec::new();
        for r in rows {
            v.push(to_entry(r.map_err(db)?)?);
        }
        Ok(v)
    }

    async fn begin_upload(&self, id: i64, at: NaiveDateTime) -> Result<(), OutboxError> {
        let n = self
            .conn()
            .execute(
                "UPDATE siopeplus_outbox SET state = 'uploading', attempted_at = ?2, attempts = attempts + 1, updated_at = ?3 WHERE id = ?1",
                params![id, at.format(TS).to_string(), now().format(TS).to_string()],
            )
            .map_err(db)?;
        if n == 0 {
            return Err(OutboxError::NotFound(id));
        }
        Ok(())
    }

    async fn transition(
        &self,
        id: i64,
        state: OutboxState,
        prog_flusso: Option<i64>,
        detail: Option<&str>,
    ) -> Result<(), OutboxError> {
        let n = self
            .conn()
            .execute(
                "UPDATE siopeplus_outbox SET state = ?2, prog_flusso = COALESCE(?3, prog_flusso), detail = ?4, updated_at = ?5 WHERE id = ?1",
                params![id, state.as_str(), prog_flusso, detail, now().format(TS).to_string()],
            )
            .map_err(db)?;
        if n == 0 {
            return Err(OutboxError::NotFound(id));
        }
        Ok(())
    }

    async fn save_message(&self, id: i64, msg: &StoredMessage) -> Result<(), OutboxError> {
        self.conn()
            .execute(
                "INSERT OR IGNORE INTO siopeplus_outbox_messages (entry_id, kind, location, xml) VALUES (?1, ?2, ?3, ?4)",
                params![id, msg.kind, msg.location, msg.xml],
            )
            .map_err(db)?;
        Ok(())
    }

    async fn messages(&self, id: i64) -> Result<Vec<StoredMessage>, OutboxError> {
        let c = self.conn();
        let mut st = c
            .prepare("SELECT kind, location, xml FROM siopeplus_outbox_messages WHERE entry_id = ?1 ORDER BY rowid")
            .map_err(db)?;
        let rows = st
            .query_map([id], |r| {
                Ok(StoredMessage {
                    kind: r.get(0)?,
                    location: r.get(1)?,
                    xml: r.get(2)?,
                })
            })
            .map_err(db)?;
        rows.collect::<Result<Vec<_>, _>>().map_err(db)
    }
}

/// Steps at which a test can inject a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Step {
    /// The flow is stored; `enqueue` has not returned.
    AfterPersist,
    /// `Uploading` is recorded; the request is not sent.
    BeforeUpload,
    /// SIOPE+ answered 201; the answer is not recorded.
    AfterUpload,
    /// The ACK was downloaded; the state is not recorded.
    AfterAck,
    /// The ricezione / rifiuto was downloaded; the state is not recorded.
    AfterEsitoFlusso,
    /// The esiti applicativi were downloaded; the state is not recorded.
    AfterEsitoApplicativo,
}

impl Step {
    fn name(self) -> &'static str {
        match self {
            Step::AfterPersist => "after persist",
            Step::BeforeUpload => "before upload",
            Step::AfterUpload => "after upload",
            Step::AfterAck => "after ACK",
            Step::AfterEsitoFlusso => "after esito flusso",
            Step::AfterEsitoApplicativo => "after esito applicativo",
        }
    }
}

/// Failure injection for tests: return an error to simulate a crash at `step`.
pub trait FailPoints: Send + Sync {
    /// Called at each step.
    ///
    /// # Errors
    /// [`OutboxError::Injected`] to simulate a crash.
    fn check(&self, step: Step) -> Result<(), OutboxError>;
}

/// Fails once at the given step.
#[derive(Debug)]
pub struct FailOnce(Mutex<Option<Step>>);

impl FailOnce {
    /// Fails the first time `step` is reached.
    #[must_use]
    pub fn at(step: Step) -> Self {
        FailOnce(Mutex::new(Some(step)))
    }
}

impl FailPoints for FailOnce {
    fn check(&self, step: Step) -> Result<(), OutboxError> {
        let mut s = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *s == Some(step) {
            *s = None;
            return Err(OutboxError::Injected(step.name()));
        }
        Ok(())
    }
}

/// The outbox: a store and a client.
pub struct Outbox<S: OutboxStore> {
    store: Arc<S>,
    client: A2aClient,
    grace: Duration,
    faults: Option<Arc<dyn FailPoints>>,
}

impl<S: OutboxStore> std::fmt::Debug for Outbox<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("grace", &self.grace)
            .finish_non_exhaustive()
    }
}

fn injected(e: &Error) -> bool {
    matches!(e, Error::Outbox(OutboxError::Injected(_)))
}

/// Whether a failed upload certainly left nothing on the server.
fn certainly_not_processed(e: &Error) -> bool {
    match e {
        Error::Transport(TransportError::RetriesExhausted { .. } | TransportError::Config(_)) => {
            true
        }
        Error::Transport(TransportError::Status { status, .. }) => (400..500).contains(status),
        Error::Io(_) => true,
        _ => false,
    }
}

impl<S: OutboxStore> Outbox<S> {
    /// An outbox over `store` sending with `client`. `grace` is how long after an upload with
    /// unknown outcome the outbox waits for an ACK before uploading again.
    #[must_use]
    pub fn new(store: Arc<S>, client: A2aClient, grace: Duration) -> Self {
        Outbox {
            store,
            client,
            grace,
            faults: None,
        }
    }

    /// Injects failures (tests).
    #[must_use]
    pub fn with_fail_points(mut self, f: Arc<dyn FailPoints>) -> Self {
        self.faults = Some(f);
        self
    }

    /// The store.
    #[must_use]
    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    fn check(&self, step: Step) -> Result<(), Error> {
        match &self.faults {
            Some(f) => f.check(step).map_err(Error::from),
            None => Ok(()),
        }
    }

    /// Persists a flow to send. When this returns `Ok`, the flow is durably stored.
    ///
    /// # Errors
    /// [`OutboxError::Duplicate`] for an identifier already in the outbox, [`OutboxError::Db`].
    pub async fn enqueue(&self, identificativo_flusso: &str, xml: &[u8]) -> Result<i64, Error> {
        let id = self.store.insert(identificativo_flusso, xml).await?;
        self.check(Step::AfterPersist)?;
        Ok(id)
    }

    /// Advances every open entry as far as the channel allows. Transport failures of one
    /// entry are recorded in its `detail` and do not stop the others.
    ///
    /// # Errors
    /// Store failures, and injected failures (tests).
    pub async fn process(&self) -> Result<Vec<OutboxEntry>, Error> {
        let mut cache: HashMap<(ListKind, String), (Messaggio, Vec<u8>)> = HashMap::new();
        let mut out = Vec::new();
        for e in self.store.open_entries().await? {
            if let Err(err) = self.advance(&e, &mut cache).await {
                if injected(&err) || matches!(err, Error::Outbox(_)) {
                    return Err(err);
                }
                tracing::warn!(flusso = %e.identificativo_flusso, error = %err, "outbox step failed");
                self.store
                    .transition(
                        e.id,
                        self.store.get(e.id).await?.state,
                        None,
                        Some(&err.to_string()),
                    )
                    .await?;
            }
            out.push(self.store.get(e.id).await?);
        }
        Ok(out)
    }

    async fn advance(
        &self,
        e: &OutboxEntry,
        cache: &mut HashMap<(ListKind, String), (Messaggio, Vec<u8>)>,
    ) -> Result<(), Error> {
        let mut state = e.state;
        let mut attempted_at = e.attempted_at;
        loop {
            match state {
                OutboxState::Pending => {
                    attempted_at = Some(self.upload(e.id, &e.identificativo_flusso).await?);
                    state = self.store.get(e.id).await?.state;
                    if state != OutboxState::Uploaded {
                        return Ok(());
                    }
                }
                OutboxState::Uploading => {
                    // Outcome unknown: look on the channel before sending again.
                    match self.find_ack(e, attempted_at, cache).await? {
                        Some(next) => state = next,
                        None => {
                            let since = attempted_at.map(|t| now() - t);
                            let waited =
                                since.is_none_or(|d| d.to_std().unwrap_or_default() >= self.grace);
                            if !waited {
                                return Ok(());
                            }
                            attempted_at = Some(self.upload(e.id, &e.identificativo_flusso).await?);
                            state = self.store.get(e.id).await?.state;
                            if state != OutboxState::Uploaded {
                                return Ok(());
                            }
                        }
                    }
                }
                OutboxState::Uploaded => match self.find_ack(e, attempted_at, cache).await? {
                    Some(next) => state = next,
                    None => return Ok(()),
                },
                OutboxState::AckOk => match self.find_esito_flusso(e, attempted_at, cache).await? {
                    Some(next) => state = next,
                    None => return Ok(()),
                },
                OutboxState::Ricevuto => match self.find_esiti(e, attempted_at, cache).await? {
                    Some(next) => state = next,
                    None => return Ok(()),
                },
                OutboxState::AckKo | OutboxState::Rifiutato | OutboxState::Completed => {
                    return Ok(());
                }
            }
        }
    }

    /// Marks `Uploading`, uploads, records the answer. Returns the attempt time.
    async fn upload(&self, id: i64, ident: &str) -> Result<NaiveDateTime, Error> {
        let xml = self.store.xml(id).await?;
        let at = now();
        self.store.begin_upload(id, at).await?;
        self.check(Step::BeforeUpload)?;
        match self.client.upload_flow(ident, &xml).await {
            Ok(r) => {
                self.check(Step::AfterUpload)?;
                self.store
                    .transition(id, OutboxState::Uploaded, r.prog_flusso, None)
                    .await?;
            }
            Err(err) if certainly_not_processed(&err) => {
                self.store
                    .transition(id, OutboxState::Pending, None, Some(&err.to_string()))
                    .await?;
                return Err(err);
            }
            Err(err) => {
                // Unknown outcome: stays `Uploading`; the next round checks the channel.
                self.store
                    .transition(id, OutboxState::Uploading, None, Some(&err.to_string()))
                    .await?;
                return Err(err);
            }
        }
        Ok(at)
    }

    async fn lookup(
        &self,
        kind: ListKind,
        since: Option<NaiveDateTime>,
        cache: &mut HashMap<(ListKind, String), (Messaggio, Vec<u8>)>,
        mut matches: impl FnMut(&Messaggio) -> bool,
    ) -> Result<Option<(String, Messaggio, Vec<u8>)>, Error> {
        let q = ListQuery {
            data_upload_da: since.map(|t| t - chrono::Duration::hours(1)),
            ..ListQuery::default()
        };
        for item in self.client.list_all(kind, &q).await? {
            let key = (kind, item.location.clone());
            if let Some((m, xml)) = cache.get(&key) {
                if matches(m) {
                    return Ok(Some((item.location, m.clone(), xml.clone())));
                }
                continue;
            }
            let xml = self.client.download(&item.location).await?;
            let Ok(m) = parse_message(&xml) else { continue };
            let hit = matches(&m);
            cache.insert(key, (m.clone(), xml.clone()));
            if hit {
                return Ok(Some((item.location, m, xml)));
            }
        }
        Ok(None)
    }

    async fn find_ack(
        &self,
        e: &OutboxEntry,
        since: Option<NaiveDateTime>,
        cache: &mut HashMap<(ListKind, String), (Messaggio, Vec<u8>)>,
    ) -> Result<Option<OutboxState>, Error> {
        let ident = e.identificativo_flusso.as_str();
        let Some((loc, m, xml)) = self
            .lookup(ListKind::Ack, since, cache, |m| {
                matches!(m, Messaggio::Ack(a) if a.identificativo_flusso.as_deref() == Some(ident))
            })
            .await?
        else {
            return Ok(None);
        };
        self.check(Step::AfterAck)?;
        let Messaggio::Ack(a) = m else {
            return Ok(None);
        };
        self.store
            .save_message(
                e.id,
                &StoredMessage {
                    kind: "ack".into(),
                    location: loc,
                    xml,
                },
            )
            .await?;
        let (state, detail) = ack_outcome(&a);
        self.store
            .transition(e.id, state, None, detail.as_deref())
            .await?;
        Ok(Some(state))
    }

    async fn find_esito_flusso(
        &self,
        e: &OutboxEntry,
        since: Option<NaiveDateTime>,
        cache: &mut HashMap<(ListKind, String), (Messaggio, Vec<u8>)>,
    ) -> Result<Option<OutboxState>, Error> {
        let ident = e.identificativo_flusso.as_str();
        let Some((loc, m, xml)) = self
            .lookup(ListKind::EsitoFlusso, since, cache, |m| match m {
                Messaggio::Ricezione(r) => r.identificativo_flusso == ident,
                Messaggio::Rifiuto(r) => r.identificativo_flusso == ident,
                _ => false,
            })
            .await?
        else {
            return Ok(None);
        };
        self.check(Step::AfterEsitoFlusso)?;
        self.store
            .save_message(
                e.id,
                &StoredMessage {
                    kind: "esitoflusso".into(),
                    location: loc,
                    xml,
                },
            )
            .await?;
        let (state, detail) = match m {
            Messaggio::Rifiuto(r) => (
                OutboxState::Rifiutato,
                Some(
                    r.errori
                        .iter()
                        .map(|e| e.descrizione.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
            ),
            _ => (OutboxState::Ricevuto, None),
        };
        self.store
            .transition(e.id, state, None, detail.as_deref())
            .await?;
        Ok(Some(state))
    }

    async fn find_esiti(
        &self,
        e: &OutboxEntry,
        since: Option<NaiveDateTime>,
        cache: &mut HashMap<(ListKind, String), (Messaggio, Vec<u8>)>,
    ) -> Result<Option<OutboxState>, Error> {
        let ident = e.identificativo_flusso.as_str();
        let Some((loc, m, xml)) = self
            .lookup(ListKind::EsitoApplicativo, since, cache, |m| {
                matches!(m, Messaggio::EsitoApplicativo(x) if x.esiti.iter().any(|o| o.identificativo_flusso == ident))
            })
            .await?
        else {
            return Ok(None);
        };
        self.check(Step::AfterEsitoApplicativo)?;
        self.store
            .save_message(
                e.id,
                &StoredMessage {
                    kind: "esitoapplicativo".into(),
                    location: loc,
                    xml,
                },
            )
            .await?;
        let detail = match &m {
            Messaggio::EsitoApplicativo(x) => Some(esiti_summary(x, ident)),
            _ => None,
        };
        self.store
            .transition(e.id, OutboxState::Completed, None, detail.as_deref())
            .await?;
        Ok(Some(OutboxState::Completed))
    }
}

fn ack_outcome(a: &AckSiope) -> (OutboxState, Option<String>) {
    let errs = a
        .errori
        .iter()
        .chain(&a.warning)
        .map(|e| format!("{} {}", e.codice, e.descrizione))
        .collect::<Vec<_>>()
        .join("; ");
    let detail = (!errs.is_empty()).then_some(errs);
    match a.stato_flusso {
        StatoFlusso::Ok | StatoFlusso::Warning => (OutboxState::AckOk, detail),
        _ => (OutboxState::AckKo, detail),
    }
}

fn esiti_summary(x: &EsitoApplicativo, ident: &str) -> String {
    x.esiti
        .iter()
        .filter(|o| o.identificativo_flusso == ident)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}
