//! Debt positions in PostgreSQL, shared by every instance (feature `postgres`).

use async_trait::async_trait;
use pa_postgres::{Database, DbError};
use pa_types::OrganizationFiscalCode;

use super::host::ReceiptEffect;
use super::store::{
    InstallmentRow, Phase, PositionError, PositionStore, StoredPosition, decode, duplicate_iupd,
    duplicate_notice, encode, notices,
};
use crate::NoticeNumber;

/// The tables of migration 2 of [`crate::PG_MIGRATIONS`].
pub(crate) const MIGRATION_SQL: &str = r#"CREATE TABLE pagopa_positions (
         creditor   TEXT COLLATE "C" NOT NULL,
         iupd       TEXT COLLATE "C" NOT NULL,
         phase      TEXT NOT NULL,
         body       TEXT NOT NULL,
         created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
         PRIMARY KEY (creditor, iupd)
     );
     CREATE TABLE pagopa_position_installments (
         creditor          TEXT COLLATE "C" NOT NULL,
         notice_number     TEXT COLLATE "C" NOT NULL,
         iupd              TEXT COLLATE "C" NOT NULL,
         option_index      INTEGER NOT NULL,
         installment_index INTEGER NOT NULL,
         state             TEXT NOT NULL,
         PRIMARY KEY (creditor, notice_number),
         FOREIGN KEY (creditor, iupd) REFERENCES pagopa_positions (creditor, iupd)
     );
     CREATE INDEX pagopa_position_installments_by_position
         ON pagopa_position_installments (creditor, iupd);"#;

/// Debt positions in PostgreSQL, for several instances of the application behind one database.
///
/// Inserting a position is one transaction (the position row and one row per installment;
/// the primary keys refuse a second position with the same IUPD or a notice another position
/// has). Applying a receipt is one transaction that first locks the position's row
/// (`SELECT … FOR UPDATE`), then reads the installments, pays and closes them and commits: two
/// instances applying receipts of one position (the single option on one, a rate on the other)
/// are serialised, and the second sees what the first did.
#[derive(Debug, Clone)]
pub struct PgPositions {
    db: Database,
}

fn backend(e: &DbError) -> PositionError {
    PositionError::Backend(e.to_string())
}

impl PgPositions {
    /// Connects to `url` and applies [`crate::PG_MIGRATIONS`].
    ///
    /// # Errors
    /// [`PositionError::Backend`] naming the server (never the password) when it cannot be
    /// reached, or when a migration fails.
    pub async fn connect(url: &str) -> Result<Self, PositionError> {
        let db = Database::connect(url).await.map_err(|e| backend(&e))?;
        Self::open(db).await
    }

    /// Uses `db`, applying [`crate::PG_MIGRATIONS`] first (safe when several instances start
    /// at once).
    ///
    /// # Errors
    /// [`PositionError::Backend`] when a migration fails.
    pub async fn open(db: Database) -> Result<Self, PositionError> {
        db.migrate(&crate::PG_MIGRATIONS)
            .await
            .map_err(|e| backend(&e))?;
        Ok(PgPositions { db })
    }

    /// The pool.
    #[must_use]
    pub fn database(&self) -> &Database {
        &self.db
    }

    async fn client(&self) -> Result<pa_postgres::Client, PositionError> {
        self.db.client().await.map_err(|e| backend(&e))
    }

    fn err(&self, e: &pa_postgres::tokio_postgres::Error) -> PositionError {
        backend(&self.db.error(e))
    }
}

fn index(i: usize) -> Result<i32, PositionError> {
    i32::try_from(i).map_err(|e| PositionError::Backend(e.to_string()))
}

/// Reads position `iupd` (locking its row when `lock`) and its installments.
async fn load(
    store: &PgPositions,
    c: &impl pa_postgres::tokio_postgres::GenericClient,
    creditor: &str,
    iupd: &str,
    lock: bool,
) -> Result<Option<StoredPosition>, PositionError> {
    let sql = if lock {
        "SELECT phase, body FROM pagopa_positions WHERE creditor = $1 AND iupd = $2 FOR UPDATE"
    } else {
        "SELECT phase, body FROM pagopa_positions WHERE creditor = $1 AND iupd = $2"
    };
    let Some(row) = c
        .query_opt(sql, &[&creditor, &iupd])
        .await
        .map_err(|e| store.err(&e))?
    else {
        return Ok(None);
    };
    let rows = c
        .query(
            "SELECT option_index, installment_index, state FROM pagopa_position_installments
             WHERE creditor = $1 AND iupd = $2",
            &[&creditor, &iupd],
        )
        .await
        .map_err(|e| store.err(&e))?
        .iter()
        .map(|r| InstallmentRow {
            option: i64::from(r.get::<_, i32>(0)),
            installment: i64::from(r.get::<_, i32>(1)),
            state: r.get(2),
        })
        .collect::<Vec<_>>();
    decode(row.get(0), row.get(1), &rows).map(Some)
}

async fn owner(
    store: &PgPositions,
    c: &impl pa_postgres::tokio_postgres::GenericClient,
    creditor: &str,
    notice: &str,
) -> Result<Option<String>, PositionError> {
    Ok(c.query_opt(
        "SELECT iupd FROM pagopa_position_installments
         WHERE creditor = $1 AND notice_number = $2",
        &[&creditor, &notice],
    )
    .await
    .map_err(|e| store.err(&e))?
    .map(|r| r.get(0)))
}

#[async_trait]
impl PositionStore for PgPositions {
    async fn insert(&self, stored: &StoredPosition) -> Result<(), PositionError> {
        let body = encode(&stored.position)?;
        let creditor = stored.position.creditor.as_str();
        let iupd = stored.position.iupd.as_str();
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(|e| self.err(&e))?;
        let n = tx
            .execute(
                "INSERT INTO pagopa_positions (creditor, iupd, phase, body)
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[&creditor, &iupd, &stored.phase.as_str(), &body],
            )
            .await
            .map_err(|e| self.err(&e))?;
        if n == 0 {
            return Err(duplicate_iupd(iupd));
        }
        for (notice, i, j) in notices(&stored.position) {
            let n = tx
                .execute(
                    "INSERT INTO pagopa_position_installments
                     (creditor, notice_number, iupd, option_index, installment_index, state)
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                    &[
                        &creditor,
                        &notice.as_str(),
                        &iupd,
                        &index(i)?,
                        &index(j)?,
                        &stored.state[i][j].as_str(),
                    ],
                )
                .await
                .map_err(|e| self.err(&e))?;
            if n == 0 {
                let other = owner(self, &*tx, creditor, notice.as_str())
                    .await?
                    .unwrap_or_default();
                // Dropping the transaction rolls the position back.
                return Err(duplicate_notice(notice.as_str(), &other));
            }
        }
        tx.commit().await.map_err(|e| self.err(&e))
    }

    async fn by_notice(
        &self,
        creditor: &OrganizationFiscalCode,
        notice: &NoticeNumber,
    ) -> Result<Option<StoredPosition>, PositionError> {
        let c = self.client().await?;
        match owner(self, &**c, creditor.as_str(), notice.as_str()).await? {
            Some(iupd) => load(self, &**c, creditor.as_str(), &iupd, false).await,
            None => Ok(None),
        }
    }

    async fn by_iupd(
        &self,
        creditor: &OrganizationFiscalCode,
        iupd: &str,
    ) -> Result<Option<StoredPosition>, PositionError> {
        let c = self.client().await?;
        load(self, &**c, creditor.as_str(), iupd, false).await
    }

    async fn apply_paid(
        &self,
        creditor: &OrganizationFiscalCode,
        notice: &NoticeNumber,
    ) -> Result<ReceiptEffect, PositionError> {
        let creditor = creditor.as_str();
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(|e| self.err(&e))?;
        let Some(iupd) = owner(self, &*tx, creditor, notice.as_str()).await? else {
            return Ok(ReceiptEffect::Unknown);
        };
        // The position's row lock serialises every receipt of the position; the installments
        // are read after it is held, so they include what a concurrent transaction committed.
        let mut stored = load(self, &*tx, creditor, &iupd, true)
            .await?
            .ok_or_else(|| PositionError::Corrupt(format!("position {iupd} missing")))?;
        let (i, j) = stored.find(notice).ok_or_else(|| {
            PositionError::Corrupt(format!("notice {notice} not in position {iupd}"))
        })?;
        let (effect, changed) = stored.pay(i, j);
        for (k, q) in changed {
            tx.execute(
                "UPDATE pagopa_position_installments SET state = $5
                 WHERE creditor = $1 AND iupd = $2 AND option_index = $3
                   AND installment_index = $4",
                &[
                    &creditor,
                    &iupd,
                    &index(k)?,
                    &index(q)?,
                    &stored.state[k][q].as_str(),
                ],
            )
            .await
            .map_err(|e| self.err(&e))?;
        }
        tx.commit().await.map_err(|e| self.err(&e))?;
        Ok(effect)
    }

    async fn set_phase(
        &self,
        creditor: &OrganizationFiscalCode,
        iupd: &str,
        phase: Phase,
    ) -> Result<(), PositionError> {
        let creditor = creditor.as_str();
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(|e| self.err(&e))?;
        let stored = load(self, &*tx, creditor, iupd, true)
            .await?
            .ok_or_else(|| PositionError::UnknownPosition { iupd: iupd.into() })?;
        stored.check_phase(phase)?;
        tx.execute(
            "UPDATE pagopa_positions SET phase = $3 WHERE creditor = $1 AND iupd = $2",
            &[&creditor, &iupd, &phase.as_str()],
        )
        .await
        .map_err(|e| self.err(&e))?;
        tx.commit().await.map_err(|e| self.err(&e))
    }
}
