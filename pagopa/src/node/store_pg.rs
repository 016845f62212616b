//! Receipts in PostgreSQL, shared by every instance (feature `postgres`).

use async_trait::async_trait;
use pa_postgres::{Database, DbError, Migration, Migrations};
use pa_types::OrganizationFiscalCode;

use super::store::{
    PutOutcome, ReceiptCursor, ReceiptPage, ReceiptQuery, ReceiptStore, StoreError, decode, encode,
    listing_date,
};
use super::types::Receipt;

/// The schema of the `pagopa` crate (component `pagopa`): receipts and the IUV sequence (1),
/// debt positions (2, [`crate::position::PgPositions`]).
///
/// Text keys use the `"C"` collation, so that every backend orders receipts the same way
/// (byte order) whatever the database's locale.
pub(crate) const MIGRATIONS: Migrations = Migrations::new(
    "pagopa",
    &[
        Migration::new(
            1,
            "receipts and IUV sequence",
            r#"CREATE TABLE pagopa_receipts (
             fiscal_code   TEXT COLLATE "C" NOT NULL,
             notice_number TEXT COLLATE "C" NOT NULL,
             receipt_id    TEXT COLLATE "C" NOT NULL,
             iuv           TEXT NOT NULL,
             outcome       TEXT NOT NULL,
             amount_cents  BIGINT NOT NULL,
             payment_date  DATE NOT NULL,
             stored_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
             body          TEXT NOT NULL,
             PRIMARY KEY (fiscal_code, notice_number, receipt_id)
         );
         CREATE INDEX pagopa_receipts_by_date
             ON pagopa_receipts (fiscal_code, payment_date, notice_number, receipt_id);
         CREATE INDEX pagopa_receipts_iuv ON pagopa_receipts (fiscal_code, iuv);
         CREATE TABLE pagopa_iuv_sequence (
             creditor    TEXT NOT NULL,
             segregation SMALLINT NOT NULL,
             next        BIGINT NOT NULL,
             PRIMARY KEY (creditor, segregation)
         );"#,
        ),
        Migration::new(
            2,
            "debt positions with their installments",
            crate::position::PG_POSITIONS_SQL,
        ),
    ],
);

/// Receipts in PostgreSQL, for several instances of the application behind one database.
///
/// [`ReceiptStore::put`] is one `INSERT … ON CONFLICT DO NOTHING` (autocommitted, so the
/// receipt is durable when it returns `Stored`); when the key already exists the stored body
/// is compared: same → [`PutOutcome::Duplicate`], different → [`StoreError::Conflict`]. However
/// many instances receive the same receipt at once, the primary key makes exactly one of them
/// see `Stored`. A lost connection or an unreachable server is [`StoreError::Backend`]: the
/// paForNode service then answers `PAA_SYSTEM_ERROR` and the node retries; the pool opens a
/// fresh connection for the next request.
#[derive(Debug, Clone)]
pub struct PgReceiptStore {
    db: Database,
}

fn backend(e: &DbError) -> StoreError {
    StoreError::Backend(e.to_string())
}

impl PgReceiptStore {
    /// Connects to `url` and applies [`crate::PG_MIGRATIONS`].
    ///
    /// # Errors
    /// [`StoreError::Backend`] naming the server (never the password) when it cannot be
    /// reached, or when a migration fails.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let db = Database::connect(url).await.map_err(|e| backend(&e))?;
        Self::open(db).await
    }

    /// Uses `db`, applying [`crate::PG_MIGRATIONS`] first (safe when several instances start
    /// at once).
    ///
    /// # Errors
    /// [`StoreError::Backend`] when a migration fails.
    pub async fn open(db: Database) -> Result<Self, StoreError> {
        db.migrate(&MIGRATIONS).await.map_err(|e| backend(&e))?;
        Ok(PgReceiptStore { db })
    }

    /// Uses `db` as it is (its schema must be migrated already).
    #[must_use]
    pub fn new(db: Database) -> Self {
        PgReceiptStore { db }
    }

    /// The pool.
    #[must_use]
    pub fn database(&self) -> &Database {
        &self.db
    }

    async fn client(&self) -> Result<pa_postgres::Client, StoreError> {
        self.db.client().await.map_err(|e| backend(&e))
    }

    fn err(&self, e: &pa_postgres::tokio_postgres::Error) -> StoreError {
        backend(&self.db.error(e))
    }
}

#[async_trait]
impl ReceiptStore for PgReceiptStore {
    async fn put(&self, receipt: &Receipt) -> Result<PutOutcome, StoreError> {
        let body = encode(receipt)?;
        let fc = receipt.fiscal_code.as_str();
        let nn = receipt.notice_number.as_str();
        let id = receipt.receipt_id.as_str();
        let cents = i64::try_from(receipt.payment_amount.cents())
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        let date = listing_date(receipt);
        let c = self.client().await?;
        let inserted = c
            .execute(
                "INSERT INTO pagopa_receipts
                 (fiscal_code, notice_number, receipt_id, iuv, outcome, amount_cents, payment_date, body)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT DO NOTHING",
                &[
                    &fc,
                    &nn,
                    &id,
                    &receipt.creditor_reference_id,
                    &receipt.outcome.as_str(),
                    &cents,
                    &date,
                    &body,
                ],
            )
            .await
            .map_err(|e| self.err(&e))?;
        if inserted == 1 {
            return Ok(PutOutcome::Stored);
        }
        // The row exists (a concurrent insert waits for the other transaction, so it is
        // committed by now): compare what is stored.
        let existing = c
            .query_opt(
                "SELECT body FROM pagopa_receipts
                 WHERE fiscal_code = $1 AND notice_number = $2 AND receipt_id = $3",
                &[&fc, &nn, &id],
            )
            .await
            .map_err(|e| self.err(&e))?;
        match existing {
            Some(r) if r.get::<_, &str>(0) == body => Ok(PutOutcome::Duplicate),
            Some(_) => Err(StoreError::Conflict {
                receipt_id: id.to_owned(),
                notice_number: nn.to_owned(),
            }),
            None => Err(StoreError::Backend(
                "receipt neither inserted nor found (deleted concurrently?)".into(),
            )),
        }
    }

    async fn list(&self, fiscal_code: &OrganizationFiscalCode) -> Result<Vec<Receipt>, StoreError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT body FROM pagopa_receipts WHERE fiscal_code = $1
                 ORDER BY notice_number, receipt_id",
                &[&fiscal_code.as_str()],
            )
            .await
            .map_err(|e| self.err(&e))?;
        rows.iter().map(|r| decode(r.get(0))).collect()
    }

    async fn list_page(&self, query: &ReceiptQuery) -> Result<ReceiptPage, StoreError> {
        let limit = query.page_size();
        // Absent bounds become dates outside every receipt's, so the statement is always one
        // range scan of pagopa_receipts_by_date (keyset pagination, no OFFSET).
        // (Within PostgreSQL's date range: chrono's MIN and MAX are not.)
        let first = chrono::NaiveDate::from_ymd_opt(1, 1, 1).unwrap_or_default();
        let last = chrono::NaiveDate::from_ymd_opt(9999, 12, 31).unwrap_or_default();
        let from = query.from.unwrap_or(first);
        let to = query.to.unwrap_or(last);
        let (a_date, a_nn, a_id) = match &query.after {
            Some(a) => (a.date(), a.notice_number(), a.receipt_id()),
            None => (first, "", ""),
        };
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT payment_date, notice_number, receipt_id, body FROM pagopa_receipts
                 WHERE fiscal_code = $1 AND payment_date >= $2 AND payment_date <= $3
                   AND (payment_date, notice_number, receipt_id) > ($4, $5, $6)
                 ORDER BY payment_date, notice_number, receipt_id
                 LIMIT $7",
                &[
                    &query.creditor.as_str(),
                    &from,
                    &to,
                    &a_date,
                    &a_nn,
                    &a_id,
                    &(i64::from(limit) + 1),
                ],
            )
            .await
            .map_err(|e| self.err(&e))?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let cursor = ReceiptCursor::new(r.get(0), r.get(1), r.get(2));
            out.push((cursor, decode(r.get(3))?));
        }
        Ok(ReceiptPage::from_rows(out, limit))
    }

    async fn count(&self) -> Result<u64, StoreError> {
        let c = self.client().await?;
        let n: i64 = c
            .query_one("SELECT COUNT(*) FROM pagopa_receipts", &[])
            .await
            .map_err(|e| self.err(&e))?
            .get(0);
        u64::try_from(n).map_err(|e| StoreError::Backend(e.to_string()))
    }
}
