//! Durable, idempotent storage of receipts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Bound;
use std::str::FromStr;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::NaiveDate;
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
    ///
    /// Unbounded: for a creditor with many receipts use [`ReceiptStore::list_page`].
    async fn list(&self, fiscal_code: &OrganizationFiscalCode) -> Result<Vec<Receipt>, StoreError>;

    /// One page of a creditor's receipts whose listing date is within the query's bounds,
    /// ordered by (listing date, notice number, receipt id) — see [`ReceiptQuery`] — and
    /// continued by keyset from [`ReceiptQuery::after`], so that following
    /// [`ReceiptPage::next`] until it is `None` yields every matching receipt exactly once,
    /// even while receipts are added.
    ///
    /// The provided implementation reads [`ReceiptStore::list`] and sorts it (stores written
    /// before this method existed keep compiling); it dates a receipt without
    /// [`Receipt::payment_date`] 1970-01-01. The stores of this crate override it with an
    /// indexed query.
    ///
    /// # Errors
    /// [`StoreError::Backend`] or [`StoreError::Corrupt`].
    async fn list_page(&self, query: &ReceiptQuery) -> Result<ReceiptPage, StoreError> {
        let epoch = chrono::DateTime::UNIX_EPOCH.date_naive();
        let mut all: Vec<(ReceiptCursor, Receipt)> = self
            .list(&query.creditor)
            .await?
            .into_iter()
            .map(|r| (ReceiptCursor::of(&r, r.payment_date().unwrap_or(epoch)), r))
            .filter(|(c, _)| query.admits(c))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(ReceiptPage::from_rows(all, query.page_size()))
    }

    /// The number of receipts stored, all creditors.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    async fn count(&self) -> Result<u64, StoreError>;
}

/// Largest page [`ReceiptStore::list_page`] returns.
pub const MAX_PAGE_SIZE: u32 = 1000;

/// Which receipts [`ReceiptStore::list_page`] returns.
///
/// **Listing date.** A receipt is dated by [`Receipt::payment_date`] (the day of its
/// `paymentDateTime` as the node wrote it, else its `applicationDate`); a receipt carrying
/// neither is dated by the UTC day it was stored. Receipts are ordered by (listing date,
/// notice number, receipt id) within the creditor, the order of the index
/// `(fiscal_code, payment_date, notice_number, receipt_id)` that the SQL stores keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptQuery {
    /// The creditor whose receipts are listed.
    pub creditor: OrganizationFiscalCode,
    /// First listing date included (`None`: no lower bound).
    pub from: Option<NaiveDate>,
    /// Last listing date included (`None`: no upper bound).
    pub to: Option<NaiveDate>,
    /// Continue after this position ([`ReceiptPage::next`] of the previous page).
    pub after: Option<ReceiptCursor>,
    /// Most receipts in the page (clamped to 1 ..= [`MAX_PAGE_SIZE`]).
    pub limit: u32,
}

impl ReceiptQuery {
    /// The first page (100 receipts) of every receipt of `creditor`.
    #[must_use]
    pub fn new(creditor: OrganizationFiscalCode) -> Self {
        ReceiptQuery {
            creditor,
            from: None,
            to: None,
            after: None,
            limit: 100,
        }
    }

    /// Only receipts dated `from` ..= `to` (inclusive).
    #[must_use]
    pub fn between(mut self, from: NaiveDate, to: NaiveDate) -> Self {
        self.from = Some(from);
        self.to = Some(to);
        self
    }

    /// Pages of at most `limit` receipts.
    #[must_use]
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = limit;
        self
    }

    /// The same query continued after `cursor`.
    #[must_use]
    pub fn after(mut self, cursor: Option<ReceiptCursor>) -> Self {
        self.after = cursor;
        self
    }

    /// The effective page size.
    #[must_use]
    pub fn page_size(&self) -> u32 {
        self.limit.clamp(1, MAX_PAGE_SIZE)
    }

    /// Whether a receipt at `position` belongs to this query (creditor aside).
    pub(crate) fn admits(&self, position: &ReceiptCursor) -> bool {
        self.from.is_none_or(|f| position.date >= f)
            && self.to.is_none_or(|t| position.date <= t)
            && self.after.as_ref().is_none_or(|a| position > a)
    }
}

/// A position in a creditor's receipts: (listing date, notice number, receipt id) of the last
/// receipt of a page. Printed as `YYYY-MM-DD/notice/receipt-id` and parsed back, so that it
/// can travel in a URL.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ReceiptCursor {
    date: NaiveDate,
    notice_number: String,
    receipt_id: String,
}

impl ReceiptCursor {
    /// The position of a receipt listed on `date`.
    #[must_use]
    pub fn new(date: NaiveDate, notice_number: &str, receipt_id: &str) -> Self {
        ReceiptCursor {
            date,
            notice_number: notice_number.to_owned(),
            receipt_id: receipt_id.to_owned(),
        }
    }

    pub(crate) fn of(r: &Receipt, date: NaiveDate) -> Self {
        Self::new(date, r.notice_number.as_str(), &r.receipt_id)
    }

    /// The listing date.
    #[must_use]
    pub fn date(&self) -> NaiveDate {
        self.date
    }

    /// The notice number.
    #[must_use]
    pub fn notice_number(&self) -> &str {
        &self.notice_number
    }

    /// The receipt id.
    #[must_use]
    pub fn receipt_id(&self) -> &str {
        &self.receipt_id
    }
}

impl fmt::Display for ReceiptCursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}",
            self.date.format("%Y-%m-%d"),
            self.notice_number,
            self.receipt_id
        )
    }
}

/// A string that is not a [`ReceiptCursor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid receipt cursor: expected YYYY-MM-DD/notice-number/receipt-id")]
pub struct InvalidCursor;

impl FromStr for ReceiptCursor {
    type Err = InvalidCursor;

    fn from_str(s: &str) -> Result<Self, InvalidCursor> {
        let mut parts = s.splitn(3, '/');
        let (Some(d), Some(n), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(InvalidCursor);
        };
        let date = NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| InvalidCursor)?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || id.is_empty() {
            return Err(InvalidCursor);
        }
        Ok(ReceiptCursor::new(date, n, id))
    }
}

/// One page of [`ReceiptStore::list_page`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptPage {
    /// The receipts, in listing order.
    pub receipts: Vec<Receipt>,
    /// Where the next page starts; `None` when this page is the last.
    pub next: Option<ReceiptCursor>,
}

impl ReceiptPage {
    /// A page from up to `limit + 1` rows in order (the extra row only says there is more).
    pub(crate) fn from_rows(rows: Vec<(ReceiptCursor, Receipt)>, limit: u32) -> ReceiptPage {
        let limit = limit as usize;
        let more = rows.len() > limit;
        let mut receipts = Vec::with_capacity(rows.len().min(limit));
        let mut last = None;
        for (c, r) in rows.into_iter().take(limit) {
            last = Some(c);
            receipts.push(r);
        }
        ReceiptPage {
            receipts,
            next: if more { last } else { None },
        }
    }
}

/// The listing date of `r` stored now (see [`ReceiptQuery`]).
pub(crate) fn listing_date(r: &Receipt) -> NaiveDate {
    r.payment_date()
        .unwrap_or_else(|| chrono::Utc::now().date_naive())
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
    inner: Mutex<MemoryInner>,
}

#[derive(Debug, Default)]
struct MemoryInner {
    by_key: BTreeMap<Key, (String, NaiveDate)>,
    // (creditor, listing date, notice number, receipt id): the listing index
    by_date: BTreeSet<(String, ReceiptCursor)>,
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
        match m.by_key.get(&k) {
            Some((existing, _)) if *existing == body => Ok(PutOutcome::Duplicate),
            Some(_) => Err(StoreError::Conflict {
                receipt_id: k.2,
                notice_number: k.1,
            }),
            None => {
                let date = listing_date(receipt);
                m.by_date
                    .insert((k.0.clone(), ReceiptCursor::of(receipt, date)));
                m.by_key.insert(k, (body, date));
                Ok(PutOutcome::Stored)
            }
        }
    }

    async fn list(&self, fiscal_code: &OrganizationFiscalCode) -> Result<Vec<Receipt>, StoreError> {
        let m = self.inner.lock().map_err(poisoned)?;
        m.by_key
            .iter()
            .filter(|(k, _)| k.0 == fiscal_code.as_str())
            .map(|(_, v)| decode(&v.0))
            .collect()
    }

    async fn list_page(&self, query: &ReceiptQuery) -> Result<ReceiptPage, StoreError> {
        let m = self.inner.lock().map_err(poisoned)?;
        let fc = query.creditor.as_str().to_owned();
        let floor = (
            fc.clone(),
            ReceiptCursor::new(query.from.unwrap_or(NaiveDate::MIN), "", ""),
        );
        let start = match &query.after {
            Some(a) if (fc.clone(), a.clone()) >= floor => Bound::Excluded((fc.clone(), a.clone())),
            _ => Bound::Included(floor),
        };
        let limit = query.page_size();
        let mut rows = Vec::new();
        for (c, pos) in m.by_date.range((start, Bound::Unbounded)) {
            if *c != fc || query.to.is_some_and(|t| pos.date > t) || rows.len() > limit as usize {
                break;
            }
            let k = (c.clone(), pos.notice_number.clone(), pos.receipt_id.clone());
            let (body, _) = m
                .by_key
                .get(&k)
                .ok_or_else(|| StoreError::Corrupt("listing index out of step".into()))?;
            rows.push((pos.clone(), decode(body)?));
        }
        Ok(ReceiptPage::from_rows(rows, limit))
    }

    async fn count(&self) -> Result<u64, StoreError> {
        let m = self.inner.lock().map_err(poisoned)?;
        Ok(m.by_key.len() as u64)
    }
}

#[cfg(feature = "postgres")]
pub use super::store_pg::PgReceiptStore;
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteReceiptStore;

#[cfg(feature = "sqlite")]
mod sqlite {
    use std::path::Path;
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;
    use pa_types::OrganizationFiscalCode;
    use rusqlite::{Connection, OptionalExtension, params};

    use super::{
        PutOutcome, ReceiptCursor, ReceiptPage, ReceiptQuery, ReceiptStore, StoreError, decode,
        encode, listing_date, poisoned,
    };
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
            payment_date  TEXT,
            PRIMARY KEY (fiscal_code, notice_number, receipt_id)
        );
        CREATE INDEX IF NOT EXISTS pagopa_receipts_iuv ON pagopa_receipts (fiscal_code, iuv);";

    /// The listing index, created once `payment_date` exists (files made before it get the
    /// column and a backfill first).
    const LISTING_INDEX: &str = "CREATE INDEX IF NOT EXISTS pagopa_receipts_by_date
        ON pagopa_receipts (fiscal_code, payment_date, notice_number, receipt_id);";

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

        fn init(mut conn: Connection) -> Result<SqliteReceiptStore, StoreError> {
            conn.execute_batch(SCHEMA).map_err(backend)?;
            Self::upgrade(&mut conn)?;
            conn.execute_batch(LISTING_INDEX).map_err(backend)?;
            Ok(SqliteReceiptStore {
                conn: Arc::new(Mutex::new(conn)),
            })
        }

        /// Adds and fills `payment_date` in a file written before listing by date existed.
        fn upgrade(conn: &mut Connection) -> Result<(), StoreError> {
            let tx = conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                .map_err(backend)?;
            let has: bool = tx
                .query_row(
                    "SELECT COUNT(*) > 0 FROM pragma_table_info('pagopa_receipts')
                     WHERE name = 'payment_date'",
                    [],
                    |r| r.get(0),
                )
                .map_err(backend)?;
            if !has {
                tx.execute_batch("ALTER TABLE pagopa_receipts ADD COLUMN payment_date TEXT")
                    .map_err(backend)?;
            }
            let todo: Vec<(String, String, String, String, String)> = {
                let mut st = tx
                    .prepare(
                        "SELECT fiscal_code, notice_number, receipt_id, body, substr(stored_at, 1, 10)
                         FROM pagopa_receipts WHERE payment_date IS NULL",
                    )
                    .map_err(backend)?;
                st.query_map([], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
                })
                .map_err(backend)?
                .collect::<Result<_, _>>()
                .map_err(backend)?
            };
            for (fc, nn, id, body, stored) in todo {
                let date = match decode(&body)?.payment_date() {
                    Some(d) => d.format("%Y-%m-%d").to_string(),
                    None => stored,
                };
                tx.execute(
                    "UPDATE pagopa_receipts SET payment_date = ?4
                     WHERE fiscal_code = ?1 AND notice_number = ?2 AND receipt_id = ?3",
                    params![fc, nn, id, date],
                )
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)
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
            let date = listing_date(receipt).format("%Y-%m-%d").to_string();
            self.with_conn(move |c| {
                let tx = c
                    .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
                    .map_err(backend)?;
                let n = tx
                    .execute(
                        "INSERT INTO pagopa_receipts
                         (fiscal_code, notice_number, receipt_id, iuv, outcome, amount_cents, body,
                          payment_date)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                         ON CONFLICT DO NOTHING",
                        params![fc, nn, id, iuv, outcome, cents, body, date],
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

        async fn list_page(&self, query: &ReceiptQuery) -> Result<ReceiptPage, StoreError> {
            let fc = query.creditor.as_str().to_owned();
            let day = |d: chrono::NaiveDate| d.format("%Y-%m-%d").to_string();
            // Absent bounds become values outside every date, so the statement is one range
            // scan of the index whatever the query.
            let from = query.from.map_or_else(|| "0000-00-00".to_owned(), day);
            let to = query.to.map_or_else(|| "9999-99-99".to_owned(), day);
            let (a_date, a_nn, a_id) = match &query.after {
                Some(a) => (
                    day(a.date()),
                    a.notice_number().to_owned(),
                    a.receipt_id().to_owned(),
                ),
                None => (String::new(), String::new(), String::new()),
            };
            let limit = query.page_size();
            self.with_conn(move |c| {
                // Keyset pagination on the listing index: no OFFSET, each page one range scan.
                let mut st = c
                    .prepare_cached(
                        "SELECT payment_date, notice_number, receipt_id, body FROM pagopa_receipts
                         WHERE fiscal_code = ?1 AND payment_date >= ?2 AND payment_date <= ?3
                           AND (payment_date, notice_number, receipt_id) > (?4, ?5, ?6)
                         ORDER BY payment_date, notice_number, receipt_id
                         LIMIT ?7",
                    )
                    .map_err(backend)?;
                let rows = st
                    .query_map(
                        params![fc, from, to, a_date, a_nn, a_id, i64::from(limit) + 1],
                        |r| {
                            Ok((
                                r.get::<_, String>(0)?,
                                r.get::<_, String>(1)?,
                                r.get::<_, String>(2)?,
                                r.get::<_, String>(3)?,
                            ))
                        },
                    )
                    .map_err(backend)?;
                let mut out = Vec::new();
                for r in rows {
                    let (d, nn, id, body) = r.map_err(backend)?;
                    let d = chrono::NaiveDate::parse_from_str(&d, "%Y-%m-%d")
                        .map_err(|e| StoreError::Corrupt(format!("payment_date {d:?}: {e}")))?;
                    out.push((ReceiptCursor::new(d, &nn, &id), decode(&body)?));
                }
                Ok(ReceiptPage::from_rows(out, limit))
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
