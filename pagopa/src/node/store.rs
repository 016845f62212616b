//! Durable, idempotent storage of receipts.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use pa_types::OrganizationFiscalCode;

use super::types::Receipt;

/// What happened to a receipt handed to [`ReceiptStore::put`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The receipt is new and is now stored durably.
    Stored,
    /// The same receipt (same creditor, notice number, receipt id and content) was already stored;
    /// nothing was written.
    Duplicate,
}

/// Why a receipt could not be stored or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The backend failed (I/O, database locked, ...). The receipt is NOT stored; the node must
    /// retry.
    #[error("receipt store backend failed: {0}")]
    Backend(String),
    /// A receipt with the same key but different content is already stored.
    #[error(
        "receipt {receipt_id} for notice {notice_number} is already stored with different content"
    )]
    Conflict {
        /// The receipt id.
        receipt_id: String,
        /// The notice number.
        notice_number: String,
    },
    /// A stored receipt could not be decoded.
    #[error("stored receipt is corrupt: {0}")]
    Corrupt(String),
}

/// Where receipts are kept. Implementations must make [`ReceiptStore::put`] atomic and
/// idempotent: a receipt is stored at most once, and `Ok(PutOutcome::Stored)` means it is durable.
///
/// The key is (creditor fiscal code, notice number, receipt id).
#[async_trait]
pub trait ReceiptStore: Send + Sync {
    /// Stores `receipt` unless the same receipt is already stored.
    ///
    /// # Errors
    /// [`StoreError::Backend`] if nothing could be written (the caller must answer
    /// `PAA_SYSTEM_ERROR`), [`StoreError::Conflict`] for a different receipt under the same key.
    async fn put(&self, receipt: &Receipt) -> Result<PutOutcome, StoreError>;

    /// All receipts of a creditor, in key order.
    ///
    /// # Errors
    /// [`StoreError::Backend`] or [`StoreError::Corrupt`].
    async fn list(&self, fiscal_code: &OrganizationFiscalCode) -> Result<Vec<Receipt>, StoreError>;

    /// The number of receipts stored, all creditors.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn count(&self) -> Result<u64, StoreError>;
}

pub(crate) fn encode(r: &Receipt) -> Result<String, StoreError> {
    serde_json::to_string(r).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn decode(s: &str) -> Result<Receipt, StoreError> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt(e.to_string()))
}

type Key = (String, String, String);

fn key(r: &Receipt) -> Key {
    (
        r.fiscal_code.as_str().to_owned(),
        r.notice_number.as_str().to_owned(),
        r.receipt_id.clone(),
    )
}

/// An in-memory store, for tests and demos (not durable across restarts).
#[derive(Debug, Default)]
pub struct MemoryReceiptStore {
    inner: Mutex<BTreeMap<Key, String>>,
}

impl MemoryReceiptStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> MemoryReceiptStore {
        MemoryReceiptStore::default()
    }
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Backend("lock poisoned".into())
}

#[async_trait]
impl ReceiptStore for MemoryReceiptStore {
    async fn put(&self, receipt: &Receipt) -> Result<PutOutcome, StoreError> {
        let body = encode(receipt)?;
        let mut m = self.inner.lock().map_err(poisoned)?;
        let k = key(receipt);
        match m.get(&k) {
            Some(existing) if *existing == body => Ok(PutOutcome::Duplicate),
            Some(_) => Err(StoreError::Conflict {
                receipt_id: k.2,
                notice_number: k.1,
            }),
            None => {
                m.insert(k, body);
                Ok(PutOutcome::Stored)
            }
        }
    }

    async fn list(&self, fiscal_code: &OrganizationFiscalCode) -> Result<Vec<Receipt>, StoreError> {
        let m = self.inner.lock().map_err(poisoned)?;
        m.iter()
            .filter(|(k, _)| k.0 == fiscal_code.as_str())
            .map(|(_, v)| decode(v))
            .collect()
    }

    async fn count(&self) -> Result<u64, StoreError> {
        let m = self.inner.lock().map_err(poisoned)?;
        Ok(m.len() as u64)
    }
}

#[cfg(feature = "sqlite")]
pub use sqlite::SqliteReceiptStore;

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::path::Path;
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;
    use pa_types::OrganizationFiscalCode;
    use rusqlite::{Connection, OptionalExtension, params};

    use super::{PutOutcome, ReceiptStore, StoreError, decode, encode, poisoned};
    use crate::node::types::Receipt;

    fn backend(e: impl std::fmt::Display) -> StoreError {
        StoreError::Backend(e.to_string())
    }

    /// A durable store in a SQLite database (WAL, `synchronous=FULL`): when
    /// [`ReceiptStore::put`] returns, the receipt is on disk. Several processes may share the file.
    #[derive(Debug, Clone)]
    pub struct SqliteReceiptStore {
        conn: Arc<Mutex<Connection>>,
    }

    const SCHEMA: &str = "
        CREATE TABLE IF NOT EXISTS pagopa_receipts (
            fiscal_code   TEXT NOT NULL,
            notice_number TEXT NOT NULL,
            receipt_id    TEXT NOT NULL,
            iuv           TEXT NOT NULL,
            outcome       TEXT NOT NULL,
            amount_cents  INTEGER NOT NULL,
            stored_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
            body          TEXT NOT NULL,
            PRIMARY KEY (fiscal_code, notice_number, receipt_id)
        );
        CREATE INDEX IF NOT EXISTS pagopa_receipts_iuv ON pagopa_receipts (fiscal_code, iuv);";

    impl SqliteReceiptStore {
        /// Opens (creating if needed) the database at `path`.
        ///
        /// # Errors
        /// [`StoreError::Backend`] if the database cannot be opened or initialised.
        pub fn open(path: impl AsRef<Path>) -> Result<SqliteReceiptStore, StoreError> {
            let conn = Connection::open(path).map_err(backend)?;
            conn.busy_timeout(std::time::Duration::from_secs(10))
                .map_err(backend)?;
            conn.pragma_update(None, "journal_mode", "WAL")
                .map_err(backend)?;
            conn.pragma_update(None, "synchronous", "FULL")
                .map_err(backend)?;
            Self::init(conn)
        }

        /// An in-memory database (tests).
        ///
        /// # Errors
        /// [`StoreError::Backend`] if SQLite fails.
        pub fn open_in_memory() -> Result<SqliteReceiptStore, StoreError> {
            Self::init(Connection::open_in_memory().map_err(backend)?)
        }

        fn init(conn: Connection) -> Result<SqliteReceiptStore, StoreError> {
            conn.execute_batch(SCHEMA).map_err(backend)?;
            Ok(SqliteReceiptStore {
                conn: Arc::new(Mutex::new(conn)),
            })
        }

        async fn with_conn<T: Send + 'static>(
            &self,
            f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
        ) -> Result<T, StoreError> {
            let conn = Arc::clone(&self.conn);
            tokio::task::spawn_blocking(move || {
                let mut c = conn.lock().map_err(poisoned)?;
                f(&mut c)
            })
            .await
            .map_err(backend)?
        }
    }

    #[async_trait]
    impl ReceiptStore for SqliteReceiptStore {
        async fn put(&self, receipt: &Receipt) -> Result<PutOutcome, StoreError> {
            let body = encode(receipt)?;
            let fc = receipt.fiscal_code.as_str().to_owned();
            let nn = receipt.notice_number.as_str().to_owned();
            let id = receipt.receipt_id.clone();
            let iuv = receipt.creditor_reference_id.clone();
            let outcome = receipt.outcome.as_str();
            let cents = i64::try_from(receipt.payment_amount.cents()).map_err(backend)?;
            self.with_conn(move |c| {
                let tx = c
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(backend)?;
                let n = tx
                    .execute(
                        "INSERT INTO pagopa_receipts
                         (fiscal_code, notice_number, receipt_id, iuv, outcome, amount_cents, body)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                         ON CONFLICT DO NOTHING",
                        params![fc, nn, id, iuv, outcome, cents, body],
                    )
                    .map_err(backend)?;
                let out = if n == 1 {
                    PutOutcome::Stored
                } else {
                    let existing: Option<String> = tx
                        .query_row(
                            "SELECT body FROM pagopa_receipts
                             WHERE fiscal_code = ?1 AND notice_number = ?2 AND receipt_id = ?3",
                            params![fc, nn, id],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(backend)?;
                    if existing.as_deref() == Some(body.as_str()) {
                        PutOutcome::Duplicate
                    } else {
                        return Err(StoreError::Conflict {
                            receipt_id: id,
                            notice_number: nn,
                        });
                    }
                };
                tx.commit().map_err(backend)?;
                Ok(out)
            })
            .await
        }

        async fn list(
            &self,
            fiscal_code: &OrganizationFiscalCode,
        ) -> Result<Vec<Receipt>, StoreError> {
            let fc = fiscal_code.as_str().to_owned();
            self.with_conn(move |c| {
                let mut st = c
                    .prepare(
                        "SELECT body FROM pagopa_receipts WHERE fiscal_code = ?1
                         ORDER BY notice_number, receipt_id",
                    )
                    .map_err(backend)?;
                let rows = st
                    .query_map(params![fc], |r| r.get::<_, String>(0))
                    .map_err(backend)?;
                let mut out = Vec::new();
                for r in rows {
                    out.push(decode(&r.map_err(backend)?)?);
                }
                Ok(out)
            })
            .await
        }

        async fn count(&self) -> Result<u64, StoreError> {
            self.with_conn(|c| {
                let n: i64 = c
                    .query_row("SELECT COUNT(*) FROM pagopa_receipts", [], |r| r.get(0))
                    .map_err(backend)?;
                u64::try_from(n).map_err(backend)
            })
            .await
        }
    }
}
