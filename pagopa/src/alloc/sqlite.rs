//! A SQLite-file sequence, safe across threads and processes on one machine.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior, params};

use super::{AllocError, SequenceBackend, SequenceKey, check_count};

/// A durable [`SequenceBackend`] in a SQLite database file.
///
/// Each reservation is one `BEGIN IMMEDIATE` transaction that bumps the counter and commits
/// (WAL journal, `synchronous = FULL`) before the values are returned, so several threads and
/// processes can share the file and a crash never rolls the counter back. The table is
/// `pagopa_iuv_sequence(creditor, segregation, next)`.
#[derive(Debug)]
pub struct SqliteSequence {
    conn: Mutex<Connection>,
}

fn storage(e: rusqlite::Error) -> AllocError {
    AllocError::Storage(Box::new(e))
}

const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

impl SqliteSequence {
    /// Opens (creating if needed) the sequence database at `path`.
    ///
    /// # Errors
    /// [`AllocError::Storage`] if the file cannot be opened or initialised.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AllocError> {
        let conn = Connection::open(path).map_err(storage)?;
        Self::init(conn)
    }

    /// Wraps an open connection (creating the table if needed).
    ///
    /// # Errors
    /// [`AllocError::Storage`] if the connection cannot be configured.
    pub fn from_connection(conn: Connection) -> Result<Self, AllocError> {
        Self::init(conn)
    }

    fn init(conn: Connection) -> Result<Self, AllocError> {
        conn.busy_timeout(BUSY_TIMEOUT).map_err(storage)?;
        // Switching to WAL takes a lock; under contention retry until the busy timeout.
        let started = std::time::Instant::now();
        loop {
            let r = conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
                .and_then(|_| {
                    conn.execute_batch(
                        "PRAGMA synchronous = FULL;
                     CREATE TABLE IF NOT EXISTS pagopa_iuv_sequence (
                         creditor TEXT NOT NULL,
                         segregation INTEGER NOT NULL,
                         next INTEGER NOT NULL,
                         PRIMARY KEY (creditor, segregation)
                     );",
                    )
                });
            match r {
                Ok(()) => break,
                Err(rusqlite::Error::SqliteFailure(e, _))
                    if matches!(
                        e.code,
                        rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                    ) && started.elapsed() < BUSY_TIMEOUT =>
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err(e) => return Err(storage(e)),
            }
        }
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// The next value that [`SequenceBackend::reserve`] would return for `key`.
    ///
    /// # Errors
    /// [`AllocError::Storage`].
    pub fn peek_next(&self, key: &SequenceKey) -> Result<u64, AllocError> {
        let conn = self.lock()?;
        let next: Option<i64> = conn
            .query_row(
                "SELECT next FROM pagopa_iuv_sequence WHERE creditor = ?1 AND segregation = ?2",
                params![key.creditor().as_str(), key.segregation().value()],
                |r| r.get(0),
            )
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                e => Err(storage(e)),
            })?;
        Ok(next.map_or(1, |n| u64::try_from(n).unwrap_or(u64::MAX)))
    }

    /// Moves the counter of `key` forward to at least `next` (never backwards), e.g. to start
    /// above the IUVs a previous system already issued.
    ///
    /// # Errors
    /// [`AllocError::Storage`]; [`AllocError::InvalidRequest`] if `next` exceeds the 13-digit
    /// range.
    pub fn advance_to(&self, key: &SequenceKey, next: u64) -> Result<(), AllocError> {
        let n = i64::try_from(next)
            .ok()
            .filter(|n| *n <= 10_000_000_000_000)
            .ok_or(AllocError::InvalidRequest(
                "counter beyond the 13-digit range",
            ))?;
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(storage)?;
        tx.execute(
            "INSERT INTO pagopa_iuv_sequence (creditor, segregation, next) VALUES (?1, ?2, ?3)
             ON CONFLICT (creditor, segregation) DO UPDATE SET next = max(next, excluded.next)",
            params![key.creditor().as_str(), key.segregation().value(), n],
        )
        .map_err(storage)?;
        tx.commit().map_err(storage)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, AllocError> {
        self.conn
            .lock()
            .map_err(|_| AllocError::Storage("sequence connection lock poisoned".into()))
    }
}

impl SequenceBackend for SqliteSequence {
    fn reserve(&self, key: &SequenceKey, count: u64) -> Result<u64, AllocError> {
        check_count(count)?;
        // check_count bounds count to 13 digits, so it fits an i64.
        let c = i64::try_from(count).map_err(|_| AllocError::InvalidRequest("count too large"))?;
        let mut conn = self.lock()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(storage)?;
        let next: i64 = tx
            .query_row(
                "INSERT INTO pagopa_iuv_sequence (creditor, segregation, next) VALUES (?1, ?2, 1 + ?3)
                 ON CONFLICT (creditor, segregation) DO UPDATE SET next = CASE WHEN next > 10000000000000 THEN next ELSE next + ?3 END
                 RETURNING next",
                params![key.creditor().as_str(), key.segregation().value(), c],
                |r| r.get(0),
            )
            .map_err(storage)?;
        tx.commit().map_err(storage)?;
        Ok(u64::try_from(next - c).unwrap_or(0))
    }
}
