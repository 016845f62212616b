//! Debt positions in a SQLite file (feature `sqlite`), shared by the processes that open it.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pa_types::OrganizationFiscalCode;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::host::ReceiptEffect;
use super::store::{
    InstallmentRow, Phase, PositionError, PositionStore, StoredPosition, decode, duplicate_iupd,
    duplicate_notice, encode, notices,
};
use crate::NoticeNumber;

fn backend(e: impl std::fmt::Display) -> PositionError {
    PositionError::Backend(e.to_string())
}

const SCHEMA: &str = "
    CREATE TABLE IF NOT EXISTS pagopa_positions (
        creditor   TEXT NOT NULL,
        iupd       TEXT NOT NULL,
        phase      TEXT NOT NULL,
        body       TEXT NOT NULL,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        PRIMARY KEY (creditor, iupd)
    );
    CREATE TABLE IF NOT EXISTS pagopa_position_installments (
        creditor          TEXT NOT NULL,
        notice_number     TEXT NOT NULL,
        iupd              TEXT NOT NULL,
        option_index      INTEGER NOT NULL,
        installment_index INTEGER NOT NULL,
        state             TEXT NOT NULL,
        PRIMARY KEY (creditor, notice_number),
        FOREIGN KEY (creditor, iupd) REFERENCES pagopa_positions (creditor, iupd)
    );
    CREATE INDEX IF NOT EXISTS pagopa_position_installments_by_position
        ON pagopa_position_installments (creditor, iupd);";

/// Debt positions in a SQLite database (WAL, `synchronous=FULL`): a position inserted is on
/// disk when [`PositionStore::insert`] returns, and several processes may share the file.
/// Receipts are applied in an `IMMEDIATE` transaction (the database's write lock), so two
/// processes applying receipts of one position are serialised.
#[derive(Debug, Clone)]
pub struct SqlitePositions {
    conn: Arc<Mutex<Connection>>,
}

impl SqlitePositions {
    /// Opens (creating if needed) the database at `path`; it may be the file of a
    /// [`SqliteReceiptStore`](crate::node::SqliteReceiptStore).
    ///
    /// # Errors
    /// [`PositionError::Backend`] if the database cannot be opened or initialised.
    pub fn open(path: impl AsRef<Path>) -> Result<SqlitePositions, PositionError> {
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
    /// [`PositionError::Backend`] if SQLite fails.
    pub fn open_in_memory() -> Result<SqlitePositions, PositionError> {
        Self::init(Connection::open_in_memory().map_err(backend)?)
    }

    fn init(conn: Connection) -> Result<SqlitePositions, PositionError> {
        conn.execute_batch(SCHEMA).map_err(backend)?;
        Ok(SqlitePositions {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, PositionError> + Send + 'static,
    ) -> Result<T, PositionError> {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut c = conn
                .lock()
                .map_err(|_| PositionError::Backend("connection lock poisoned".into()))?;
            f(&mut c)
        })
        .await
        .map_err(backend)?
    }
}

/// Reads the position `iupd` and the state of its installments.
fn load(
    c: &Connection,
    creditor: &str,
    iupd: &str,
) -> Result<Option<StoredPosition>, PositionError> {
    let row: Option<(String, String)> = c
        .query_row(
            "SELECT phase, body FROM pagopa_positions WHERE creditor = ?1 AND iupd = ?2",
            params![creditor, iupd],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(backend)?;
    let Some((phase, body)) = row else {
        return Ok(None);
    };
    let mut st = c
        .prepare(
            "SELECT option_index, installment_index, state FROM pagopa_position_installments
             WHERE creditor = ?1 AND iupd = ?2",
        )
        .map_err(backend)?;
    let rows = st
        .query_map(params![creditor, iupd], |r| {
            Ok(InstallmentRow {
                option: r.get(0)?,
                installment: r.get(1)?,
                state: r.get(2)?,
            })
        })
        .map_err(backend)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(backend)?;
    decode(&phase, &body, &rows).map(Some)
}

fn index(i: usize) -> Result<i64, PositionError> {
    i64::try_from(i).map_err(backend)
}

#[async_trait]
impl PositionStore for SqlitePositions {
    async fn insert(&self, stored: &StoredPosition) -> Result<(), PositionError> {
        let body = encode(&stored.position)?;
        let creditor = stored.position.creditor.as_str().to_owned();
        let iupd = stored.position.iupd.clone();
        let phase = stored.phase.as_str();
        let rows: Vec<(String, usize, usize, &'static str)> = notices(&stored.position)
            .into_iter()
            .map(|(n, i, j)| (n.as_str().to_owned(), i, j, stored.state[i][j].as_str()))
            .collect();
        self.with_conn(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let n = tx
                .execute(
                    "INSERT INTO pagopa_positions (creditor, iupd, phase, body)
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                    params![creditor, iupd, phase, body],
                )
                .map_err(backend)?;
            if n == 0 {
                return Err(duplicate_iupd(&iupd));
            }
            for (notice, i, j, state) in rows {
                let owner: Option<String> = tx
                    .query_row(
                        "SELECT iupd FROM pagopa_position_installments
                         WHERE creditor = ?1 AND notice_number = ?2",
                        params![creditor, notice],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(backend)?;
                if let Some(owner) = owner {
                    // Dropping the transaction rolls the position back.
                    return Err(duplicate_notice(&notice, &owner));
                }
                tx.execute(
                    "INSERT INTO pagopa_position_installments
                     (creditor, notice_number, iupd, option_index, installment_index, state)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![creditor, notice, iupd, index(i)?, index(j)?, state],
                )
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)
        })
        .await
    }

    async fn by_notice(
        &self,
        creditor: &OrganizationFiscalCode,
        notice: &NoticeNumber,
    ) -> Result<Option<StoredPosition>, PositionError> {
        let creditor = creditor.as_str().to_owned();
        let notice = notice.as_str().to_owned();
        self.with_conn(move |c| {
            let iupd: Option<String> = c
                .query_row(
                    "SELECT iupd FROM pagopa_position_installments
                     WHERE creditor = ?1 AND notice_number = ?2",
                    params![creditor, notice],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            match iupd {
                Some(iupd) => load(c, &creditor, &iupd),
                None => Ok(None),
            }
        })
        .await
    }

    async fn by_iupd(
        &self,
        creditor: &OrganizationFiscalCode,
        iupd: &str,
    ) -> Result<Option<StoredPosition>, PositionError> {
        let creditor = creditor.as_str().to_owned();
        let iupd = iupd.to_owned();
        self.with_conn(move |c| load(c, &creditor, &iupd)).await
    }

    async fn apply_paid(
        &self,
        creditor: &OrganizationFiscalCode,
        notice: &NoticeNumber,
    ) -> Result<ReceiptEffect, PositionError> {
        let creditor = creditor.as_str().to_owned();
        let notice = *notice;
        self.with_conn(move |c| {
            // IMMEDIATE: the write lock first, so the state read below is the one updated.
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let iupd: Option<String> = tx
                .query_row(
                    "SELECT iupd FROM pagopa_position_installments
                     WHERE creditor = ?1 AND notice_number = ?2",
                    params![creditor, notice.as_str()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(backend)?;
            let Some(iupd) = iupd else {
                return Ok(ReceiptEffect::Unknown);
            };
            let mut stored = load(&tx, &creditor, &iupd)?
                .ok_or_else(|| PositionError::Corrupt(format!("position {iupd} missing")))?;
            let (i, j) = stored.find(&notice).ok_or_else(|| {
                PositionError::Corrupt(format!("notice {notice} not in position {iupd}"))
            })?;
            let (effect, changed) = stored.pay(i, j);
            for (k, q) in changed {
                tx.execute(
                    "UPDATE pagopa_position_installments SET state = ?5
                     WHERE creditor = ?1 AND iupd = ?2 AND option_index = ?3
                       AND installment_index = ?4",
                    params![
                        creditor,
                        iupd,
                        index(k)?,
                        index(q)?,
                        stored.state[k][q].as_str()
                    ],
                )
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)?;
            Ok(effect)
        })
        .await
    }

    async fn set_phase(
        &self,
        creditor: &OrganizationFiscalCode,
        iupd: &str,
        phase: Phase,
    ) -> Result<(), PositionError> {
        let creditor = creditor.as_str().to_owned();
        let iupd = iupd.to_owned();
        self.with_conn(move |c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(backend)?;
            let stored = load(&tx, &creditor, &iupd)?
                .ok_or_else(|| PositionError::UnknownPosition { iupd: iupd.clone() })?;
            stored.check_phase(phase)?;
            tx.execute(
                "UPDATE pagopa_positions SET phase = ?3 WHERE creditor = ?1 AND iupd = ?2",
                params![creditor, iupd, phase.as_str()],
            )
            .map_err(backend)?;
            tx.commit().map_err(backend)
        })
        .await
    }
}
