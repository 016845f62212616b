//! The IUV sequence in PostgreSQL, shared by every instance (feature `postgres`).

use pa_postgres::{Database, DbError};

use super::{AllocError, SequenceKey, SharedSequenceBackend, check_count};

/// A [`SharedSequenceBackend`] in PostgreSQL (table `pagopa_iuv_sequence`, created by
/// [`crate::PG_MIGRATIONS`]).
///
/// Each reservation is one autocommitted upsert, `INSERT … ON CONFLICT DO UPDATE SET next =
/// next + n RETURNING next`: the row lock serialises concurrent reservations of one key across
/// every connection, process and machine, and the counter is committed before the values are
/// returned, so no two callers ever get overlapping ranges and a crash never moves it back.
/// Use it through a [`SharedSequenceAllocator`](super::SharedSequenceAllocator); a block size
/// above 1 trades one round trip per IUV for gaps when an instance stops.
#[derive(Debug, Clone)]
pub struct PgSequence {
    db: Database,
}

fn storage(e: DbError) -> AllocError {
    AllocError::Storage(Box::new(e))
}

/// Past this value the counter no longer advances (every 13-digit base is used).
const CEILING: i64 = 10_000_000_000_000;

impl PgSequence {
    /// Connects to `url` and applies [`crate::PG_MIGRATIONS`].
    ///
    /// # Errors
    /// [`AllocError::Storage`] (a [`DbError`] naming the server, never the password) when it
    /// cannot be reached or a migration fails.
    pub async fn connect(url: &str) -> Result<Self, AllocError> {
        Self::open(Database::connect(url).await.map_err(storage)?).await
    }

    /// Uses `db`, applying [`crate::PG_MIGRATIONS`] first (safe when several instances start at
    /// once).
    ///
    /// # Errors
    /// [`AllocError::Storage`] when a migration fails.
    pub async fn open(db: Database) -> Result<Self, AllocError> {
        db.migrate(&crate::PG_MIGRATIONS).await.map_err(storage)?;
        Ok(PgSequence { db })
    }

    /// Uses `db` as it is (its schema must be migrated already).
    #[must_use]
    pub fn new(db: Database) -> Self {
        PgSequence { db }
    }

    /// The pool.
    #[must_use]
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// The next value that a reservation for `key` would return.
    ///
    /// # Errors
    /// [`AllocError::Storage`].
    pub async fn peek_next(&self, key: &SequenceKey) -> Result<u64, AllocError> {
        let c = self.db.client().await.map_err(storage)?;
        let row = c
            .query_opt(
                "SELECT next FROM pagopa_iuv_sequence WHERE creditor = $1 AND segregation = $2",
                &[
                    &key.creditor().as_str(),
                    &i16::from(key.segregation().value()),
                ],
            )
            .await
            .map_err(|e| storage(self.db.error(&e)))?;
        Ok(row.map_or(1, |r| u64::try_from(r.get::<_, i64>(0)).unwrap_or(0)))
    }

    /// Moves the counter of `key` forward to at least `next` (never backwards), e.g. to start
    /// above the IUVs a previous system already issued.
    ///
    /// # Errors
    /// [`AllocError::Storage`]; [`AllocError::InvalidRequest`] if `next` exceeds the 13-digit
    /// range.
    pub async fn advance_to(&self, key: &SequenceKey, next: u64) -> Result<(), AllocError> {
        let n = i64::try_from(next).ok().filter(|n| *n <= CEILING).ok_or(
            AllocError::InvalidRequest("counter beyond the 13-digit range"),
        )?;
        let c = self.db.client().await.map_err(storage)?;
        c.execute(
            "INSERT INTO pagopa_iuv_sequence (creditor, segregation, next) VALUES ($1, $2, $3::BIGINT)
             ON CONFLICT (creditor, segregation)
             DO UPDATE SET next = GREATEST(pagopa_iuv_sequence.next, EXCLUDED.next)",
            &[
                &key.creditor().as_str(),
                &i16::from(key.segregation().value()),
                &n,
            ],
        )
        .await
        .map_err(|e| storage(self.db.error(&e)))?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl SharedSequenceBackend for PgSequence {
    async fn reserve(&self, key: &SequenceKey, count: u64) -> Result<u64, AllocError> {
        check_count(count)?;
        // check_count bounds count to 13 digits, so it fits an i64.
        let n = i64::try_from(count).map_err(|_| AllocError::InvalidRequest("count too large"))?;
        let c = self.db.client().await.map_err(storage)?;
        let st = c
            .prepare_cached(
                "INSERT INTO pagopa_iuv_sequence (creditor, segregation, next) VALUES ($1, $2, 1 + $3::BIGINT)
                 ON CONFLICT (creditor, segregation) DO UPDATE SET next =
                     CASE WHEN pagopa_iuv_sequence.next > $4::BIGINT THEN pagopa_iuv_sequence.next
                          ELSE pagopa_iuv_sequence.next + $3::BIGINT END
                 RETURNING next - $3::BIGINT",
            )
            .await
            .map_err(|e| storage(self.db.error(&e)))?;
        let first: i64 = c
            .query_one(
                &st,
                &[
                    &key.creditor().as_str(),
                    &i16::from(key.segregation().value()),
                    &n,
                    &CEILING,
                ],
            )
            .await
            .map_err(|e| storage(self.db.error(&e)))?
            .get(0);
        // Past the ceiling the first value is beyond 13 digits: the allocator reports Exhausted.
        Ok(u64::try_from(first).unwrap_or(0))
    }
}
