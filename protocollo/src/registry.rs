//! Protocol numbering: a yearly counter per registry that never hands out a number twice.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use crate::error::RegistryError;
use crate::model::{CodiceRegistro, Identificatore, NumeroRegistrazione};

/// Which counter: administration, AOO and registry codes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RegistroKey {
    /// IPA code of the administration.
    pub codice_amministrazione: String,
    /// Code of the AOO.
    pub codice_aoo: String,
    /// Registry code.
    pub codice_registro: CodiceRegistro,
}

impl RegistroKey {
    /// A key.
    pub fn new(
        codice_amministrazione: impl Into<String>,
        codice_aoo: impl Into<String>,
        codice_registro: CodiceRegistro,
    ) -> Self {
        RegistroKey {
            codice_amministrazione: codice_amministrazione.into(),
            codice_aoo: codice_aoo.into(),
            codice_registro,
        }
    }
}

/// A protocol register counter (DPR 445/2000 art. 57: the number is progressive and restarts
/// every 1st of January).
///
/// Implementations must be durable (a number handed out is never handed out again, also after
/// a crash or restart) and safe to call concurrently. The calls block: in async code run them
/// with `spawn_blocking`.
///
/// A counter only hands out numbers: a number whose registration is then not stored (the
/// caller failed in between) is a gap in the register. For the protocol register itself use
/// [`crate::Register`], which stores the registration in the transaction that takes the number.
pub trait RegistryCounter: Send + Sync {
    /// Allocates the next number of `key` for `year` (the first is 1).
    ///
    /// # Errors
    /// [`RegistryError`] when the store fails or the counter is exhausted.
    fn next_number(
        &self,
        key: &RegistroKey,
        year: i32,
    ) -> Result<NumeroRegistrazione, RegistryError>;

    /// The last number allocated for `key` in `year`, if any.
    ///
    /// # Errors
    /// [`RegistryError`] when the store fails.
    fn last_number(
        &self,
        key: &RegistroKey,
        year: i32,
    ) -> Result<Option<NumeroRegistrazione>, RegistryError>;

    /// Registers a document on `date` (the registration's local date, which decides the year):
    /// allocates the number and returns the full identifier.
    ///
    /// # Errors
    /// As [`RegistryCounter::next_number`].
    fn register(
        &self,
        key: &RegistroKey,
        date: NaiveDate,
    ) -> Result<Identificatore, RegistryError> {
        let n = self.next_number(key, date.year())?;
        Ok(Identificatore::new(
            key.codice_amministrazione.clone(),
            key.codice_aoo.clone(),
            key.codice_registro.clone(),
            n,
            date,
        ))
    }
}

/// The embedded, durable default: a SQLite database (WAL, synchronous FULL), safe across
/// threads and processes sharing the file.
#[derive(Debug)]
pub struct SqliteRegistry {
    conn: Mutex<Connection>,
}

pub(crate) const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS protocollo_counter (
    amministrazione TEXT NOT NULL,
    aoo TEXT NOT NULL,
    registro TEXT NOT NULL,
    anno INTEGER NOT NULL,
    ultimo INTEGER NOT NULL,
    PRIMARY KEY (amministrazione, aoo, registro, anno)
)";

impl SqliteRegistry {
    /// Opens (creating if needed) the database file at `path`.
    ///
    /// # Errors
    /// [`RegistryError::Store`] when the file cannot be opened or initialised.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, RegistryError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute(SCHEMA, [])?;
        Ok(SqliteRegistry {
            conn: Mutex::new(conn),
        })
    }

    /// A private in-memory database (not durable: for tests and demos).
    ///
    /// # Errors
    /// [`RegistryError::Store`] when SQLite fails.
    pub fn in_memory() -> Result<Self, RegistryError> {
        let conn = Connection::open_in_memory()?;
        conn.execute(SCHEMA, [])?;
        Ok(SqliteRegistry {
            conn: Mutex::new(conn),
        })
    }
}

/// The last number of `key` in `year` in the SQLite counter table (`None` before the first).
pub(crate) fn sqlite_last(
    c: &Connection,
    key: &RegistroKey,
    year: i32,
) -> Result<Option<i64>, RegistryError> {
    Ok(c.query_row(
        "SELECT ultimo FROM protocollo_counter
         WHERE amministrazione = ?1 AND aoo = ?2 AND registro = ?3 AND anno = ?4",
        params![
            key.codice_amministrazione,
            key.codice_aoo,
            key.codice_registro.as_str(),
            year
        ],
        |r| r.get(0),
    )
    .optional()?)
}

/// Advances the SQLite counter of `key` in `year` by one and returns the new number. Call it
/// inside an immediate transaction: the caller commits.
pub(crate) fn sqlite_advance(
    c: &Connection,
    key: &RegistroKey,
    year: i32,
) -> Result<i64, RegistryError> {
    let next = sqlite_last(c, key, year)?
        .unwrap_or(0)
        .checked_add(1)
        .ok_or_else(|| RegistryError::Exhausted {
            registro: key.codice_registro.to_string(),
            year,
        })?;
    c.execute(
        "INSERT INTO protocollo_counter (amministrazione, aoo, registro, anno, ultimo)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (amministrazione, aoo, registro, anno) DO UPDATE SET ultimo = ?5",
        params![
            key.codice_amministrazione,
            key.codice_aoo,
            key.codice_registro.as_str(),
            year,
            next
        ],
    )?;
    Ok(next)
}

impl RegistryCounter for SqliteRegistry {
    fn next_number(
        &self,
        key: &RegistroKey,
        year: i32,
    ) -> Result<NumeroRegistrazione, RegistryError> {
        let mut conn = self
            .conn
            .lock()
            .map_err(|_| RegistryError::Store("connection mutex poisoned".into()))?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let next = sqlite_advance(&tx, key, year)?;
        tx.commit()?;
        u64::try_from(next)
            .map(NumeroRegistrazione::new)
            .map_err(|_| RegistryError::Store("negative counter in the database".into()))
    }

    fn last_number(
        &self,
        key: &RegistroKey,
        year: i32,
    ) -> Result<Option<NumeroRegistrazione>, RegistryError> {
        let conn = self
            .conn
            .lock()
            .map_err(|_| RegistryError::Store("connection mutex poisoned".into()))?;
        Ok(sqlite_last(&conn, key, year)?
            .map(|n| NumeroRegistrazione::new(n.max(0).unsigned_abs())))
    }
}

/// A process-local, non-durable counter (tests, demos).
#[derive(Debug, Default)]
pub struct MemoryRegistry {
    counters: Mutex<BTreeMap<(RegistroKey, i32), u64>>,
}

impl MemoryRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        MemoryRegistry::default()
    }
}

impl RegistryCounter for MemoryRegistry {
    fn next_number(
        &self,
        key: &RegistroKey,
        year: i32,
    ) -> Result<NumeroRegistrazione, RegistryError> {
        let mut m = self
            .counters
            .lock()
            .map_err(|_| RegistryError::Store("mutex poisoned".into()))?;
        let c = m.entry((key.clone(), year)).or_insert(0);
        *c = c.checked_add(1).ok_or_else(|| RegistryError::Exhausted {
            registro: key.codice_registro.to_string(),
            year,
        })?;
        Ok(NumeroRegistrazione::new(*c))
    }

    fn last_number(
        &self,
        key: &RegistroKey,
        year: i32,
    ) -> Result<Option<NumeroRegistrazione>, RegistryError> {
        let m = self
            .counters
            .lock()
            .map_err(|_| RegistryError::Store("mutex poisoned".into()))?;
        Ok(m.get(&(key.clone(), year))
            .copied()
            .map(NumeroRegistrazione::new))
    }
}
