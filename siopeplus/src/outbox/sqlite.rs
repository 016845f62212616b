//! The embedded default store: one SQLite file.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use chrono::NaiveDateTime;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{
    OrderState, OrderStatus, OutboxEntry, OutboxState, OutboxStore, StoredMessage, now, parse_tipo,
    tipo_str,
};
use crate::error::OutboxError;

/// The embedded default store: one SQLite file (WAL, `synchronous=FULL`).
///
/// Leases are implemented too (a claim is one `BEGIN IMMEDIATE` transaction), so several
/// processes on one machine may share the file and run the sender.
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

fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.code == rusqlite::ErrorCode::ConstraintViolation)
}

const TS: &str = "%Y-%m-%dT%H:%M:%S%.3f";

/// Milliseconds since the epoch (lease clock).
fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn lease_ms(lease: Duration) -> i64 {
    i64::try_from(lease.as_millis()).unwrap_or(i64::MAX / 2)
}

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
             PRAGMA foreign_keys=ON;
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
             );
             CREATE TABLE IF NOT EXISTS siopeplus_outbox_orders (
                 entry_id INTEGER NOT NULL REFERENCES siopeplus_outbox(id),
                 tipo TEXT NOT NULL,
                 numero INTEGER NOT NULL,
                 esercizio INTEGER NOT NULL,
                 importo_cents INTEGER,
                 state TEXT NOT NULL,
                 esito TEXT,
                 code TEXT,
                 detail TEXT,
                 seq INTEGER NOT NULL,
                 updated_at TEXT NOT NULL,
                 PRIMARY KEY (entry_id, tipo, numero)
             );",
        )
        .map_err(db)?;
        // Files made before leases existed get the two columns.
        let has_lease: bool = conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('siopeplus_outbox') WHERE name = 'lease_owner'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(db)?
            > 0;
        if !has_lease {
            conn.execute_batch(
                "ALTER TABLE siopeplus_outbox ADD COLUMN lease_owner TEXT;
                 ALTER TABLE siopeplus_outbox ADD COLUMN lease_until INTEGER;",
            )
            .map_err(db)?;
        }
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
const OPEN: &str = "state NOT IN ('ack_ko', 'rifiutato', 'completed', 'failed')";

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
            Err(e) if is_constraint(&e) => {
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
                "SELECT {COLS} FROM siopeplus_outbox WHERE {OPEN} ORDER BY id"
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
        match self.conn().execute(
            "INSERT OR IGNORE INTO siopeplus_outbox_messages (entry_id, kind, location, xml) VALUES (?1, ?2, ?3, ?4)",
            params![id, msg.kind, msg.location, msg.xml],
        ) {
            Ok(_) => Ok(()),
            // The only constraint left after OR IGNORE is the reference to the entry.
            Err(e) if is_constraint(&e) => Err(OutboxError::NotFound(id)),
            Err(e) => Err(db(e)),
        }
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

    async fn orders(&self, id: i64) -> Result<Vec<OrderStatus>, OutboxError> {
        let c = self.conn();
        let mut st = c
            .prepare(
                "SELECT tipo, numero, esercizio, importo_cents, state, esito, code, detail
                   FROM siopeplus_outbox_orders WHERE entry_id = ?1 ORDER BY seq",
            )
            .map_err(db)?;
        let rows = st
            .query_map([id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Option<i64>>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                ))
            })
            .map_err(db)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(db)?;
        rows.into_iter()
            .map(|(t, n, e, a, s, esito, code, detail)| {
                Ok(OrderStatus {
                    tipo: parse_tipo(&t)?,
                    numero: u64::try_from(n).unwrap_or(0),
                    esercizio: u16::try_from(e).unwrap_or(0),
                    importo: a
                        .and_then(|a| u64::try_from(a).ok())
                        .map(pa_types::Amount::from_cents),
                    state: OrderState::parse(&s)?,
                    esito,
                    code,
                    detail,
                })
            })
            .collect()
    }

    async fn put_order(&self, id: i64, o: &OrderStatus) -> Result<(), OutboxError> {
        let numero = i64::try_from(o.numero).map_err(|_| OutboxError::Db("order number".into()))?;
        let importo = o.importo.and_then(|a| i64::try_from(a.cents()).ok());
        match self.conn().execute(
            "INSERT INTO siopeplus_outbox_orders
                 (entry_id, tipo, numero, esercizio, importo_cents, state, esito, code, detail, seq, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,
                     (SELECT COUNT(*) FROM siopeplus_outbox_orders WHERE entry_id = ?1), ?10)
             ON CONFLICT (entry_id, tipo, numero) DO UPDATE SET
                 esercizio = excluded.esercizio,
                 importo_cents = COALESCE(excluded.importo_cents, importo_cents),
                 state = excluded.state, esito = excluded.esito, code = excluded.code,
                 detail = excluded.detail, updated_at = excluded.updated_at",
            params![
                id,
                tipo_str(o.tipo),
                numero,
                i64::from(o.esercizio),
                importo,
                o.state.as_str(),
                o.esito,
                o.code,
                o.detail,
                now().format(TS).to_string()
            ],
        ) {
            Ok(_) => Ok(()),
            Err(e) if is_constraint(&e) => Err(OutboxError::NotFound(id)),
            Err(e) => Err(db(e)),
        }
    }

    async fn recent_entries(&self, limit: usize) -> Result<Vec<OutboxEntry>, OutboxError> {
        let c = self.conn();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut st = c
            .prepare(&format!(
                "SELECT {COLS} FROM siopeplus_outbox ORDER BY id DESC LIMIT ?1"
            ))
            .map_err(db)?;
        let rows = st.query_map([limit], row_entry).map_err(db)?;
        let mut v = Vec::new();
        for r in rows {
            v.push(to_entry(r.map_err(db)?)?);
        }
        Ok(v)
    }

    async fn claim(
        &self,
        owner: &str,
        lease: Duration,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, OutboxError> {
        let mut c = self.conn();
        // IMMEDIATE: the write lock is taken before reading, so two processes on the file
        // cannot both see an entry as free.
        let tx = c
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(db)?;
        let t = now_ms();
        let until = t.saturating_add(lease_ms(lease));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = {
            let mut st = tx
                .prepare(&format!(
                    "SELECT {COLS} FROM siopeplus_outbox WHERE {OPEN} AND id > ?1
                     AND (lease_owner IS NULL OR lease_owner = ?2 OR lease_until IS NULL OR lease_until <= ?3)
                     ORDER BY id LIMIT ?4"
                ))
                .map_err(db)?;
            st.query_map(params![after_id, owner, t, limit], row_entry)
                .map_err(db)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db)?
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            tx.execute(
                "UPDATE siopeplus_outbox SET lease_owner = ?2, lease_until = ?3 WHERE id = ?1",
                params![r.0, owner, until],
            )
            .map_err(db)?;
            out.push(to_entry(r)?);
        }
        tx.commit().map_err(db)?;
        Ok(out)
    }

    async fn renew(&self, id: i64, owner: &str, lease: Duration) -> Result<bool, OutboxError> {
        let until = now_ms().saturating_add(lease_ms(lease));
        let n = self
            .conn()
            .execute(
                "UPDATE siopeplus_outbox SET lease_until = ?3 WHERE id = ?1 AND lease_owner = ?2",
                params![id, owner, until],
            )
            .map_err(db)?;
        Ok(n > 0)
    }

    async fn release(&self, id: i64, owner: &str) -> Result<(), OutboxError> {
        self.conn()
            .execute(
                "UPDATE siopeplus_outbox SET lease_owner = NULL, lease_until = NULL WHERE id = ?1 AND lease_owner = ?2",
                params![id, owner],
            )
            .map_err(db)?;
        Ok(())
    }
}
