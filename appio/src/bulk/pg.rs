//! The PostgreSQL bulk journal (feature `postgres`): many jobs in one database, shared by every
//! instance that sends them.

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use pa_postgres::tokio_postgres::Row;
use pa_postgres::{Database, Migration, Migrations};

use super::journal::{
    Claim, ClaimRequest, Journal, JournalEntry, RawRow, RowState, entry_from_raw, state_columns,
};
use crate::error::JournalError;

/// The schema of the PostgreSQL journal (component `appio`), applied by [`PgJournal::open`] or
/// by `pa db migrate`.
pub const PG_MIGRATIONS: Migrations = Migrations::new(
    "appio",
    &[
        Migration::new(
            1,
            "bulk journal",
            "CREATE TABLE appio_bulk_job (
            job        TEXT PRIMARY KEY,
            template   TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        );
        CREATE TABLE appio_bulk_row (
            job         TEXT NOT NULL,
            key         TEXT NOT NULL,
            seq         BIGINT NOT NULL,
            fiscal_code TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            state       TEXT NOT NULL,
            message_id  TEXT,
            reason      TEXT,
            detail      TEXT,
            delivery    TEXT,
            attempts    INTEGER NOT NULL DEFAULT 0,
            updated_at  TIMESTAMPTZ NOT NULL,
            worker      TEXT,
            lease_until TIMESTAMPTZ,
            PRIMARY KEY (job, key)
        );
        CREATE INDEX appio_bulk_row_holder ON appio_bulk_row (job, worker)
            WHERE worker IS NOT NULL;",
        ),
        Migration::new(
            2,
            "bulk journal: the service of each row",
            "ALTER TABLE appio_bulk_row ADD COLUMN service TEXT;",
        ),
    ],
);

const COLUMNS: &str = "key, seq, fiscal_code, fingerprint, state, message_id, reason, detail, \
                       delivery, attempts, updated_at, service";

/// One bulk job's journal in PostgreSQL. Every instance opening the same job (a name chosen by
/// the caller) on the same database shares it: rows are split between workers by
/// [`Journal::claim`], whose lease times come from the database's clock. Cheap to clone.
#[derive(Debug, Clone)]
pub struct PgJournal {
    db: Database,
    job: String,
}

fn seconds(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn raw(r: &Row) -> RawRow {
    let attempts: i32 = r.get(9);
    RawRow {
        key: r.get(0),
        seq: r.get(1),
        fiscal_code: r.get(2),
        fingerprint: r.get(3),
        state: r.get(4),
        message_id: r.get(5),
        reason: r.get(6),
        detail: r.get(7),
        delivery: r.get(8),
        attempts: u32::try_from(attempts).unwrap_or(0),
        updated_at: r.get(10),
        service: r.get(11),
    }
}

fn attempts(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn seq(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl PgJournal {
    /// The journal of job `job` on `db`, applying [`PG_MIGRATIONS`] first.
    ///
    /// # Errors
    /// [`JournalError::Postgres`] when the database cannot be reached or migrated.
    pub async fn open(db: Database, job: impl Into<String>) -> Result<Self, JournalError> {
        db.migrate(&PG_MIGRATIONS).await?;
        Ok(Self::new(db, job))
    }

    /// Connects to `url` and opens job `job` (see [`PgJournal::open`]).
    ///
    /// # Errors
    /// As [`PgJournal::open`]; the error names host, port and database, never the password.
    pub async fn connect(url: &str, job: impl Into<String>) -> Result<Self, JournalError> {
        Self::open(Database::connect(url).await?, job).await
    }

    /// The journal of job `job` on `db`, whose schema is already migrated.
    pub fn new(db: Database, job: impl Into<String>) -> Self {
        Self {
            db,
            job: job.into(),
        }
    }

    /// The job's name.
    pub fn job(&self) -> &str {
        &self.job
    }

    /// The names of every job in the database, oldest first.
    ///
    /// # Errors
    /// [`JournalError::Postgres`].
    pub async fn jobs(db: &Database) -> Result<Vec<String>, JournalError> {
        let c = db.client().await?;
        let rows = c
            .query(
                "SELECT job FROM appio_bulk_job ORDER BY created_at, job",
                &[],
            )
            .await
            .map_err(db.query_error())?;
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Every entry of the job, in input order.
    ///
    /// # Errors
    /// [`JournalError`].
    pub async fn entries(&self) -> Result<Vec<JournalEntry>, JournalError> {
        let mut v: Vec<JournalEntry> = self.load().await?.into_values().collect();
        v.sort_by_key(|e| e.seq);
        Ok(v)
    }
}

#[async_trait]
impl Journal for PgJournal {
    async fn bind_template(&self, fingerprint: &str) -> Result<(), JournalError> {
        let db = &self.db;
        let c = db.client().await?;
        c.execute(
            "INSERT INTO appio_bulk_job (job, template) VALUES ($1, $2) ON CONFLICT (job) DO NOTHING",
            &[&self.job, &fingerprint],
        )
        .await
        .map_err(db.query_error())?;
        let row = c
            .query_one(
                "SELECT template FROM appio_bulk_job WHERE job = $1",
                &[&self.job],
            )
            .await
            .map_err(db.query_error())?;
        let found: String = row.get(0);
        if found == fingerprint {
            Ok(())
        } else {
            Err(JournalError::TemplateMismatch {
                found,
                expected: fingerprint.to_owned(),
            })
        }
    }

    async fn load(&self) -> Result<BTreeMap<String, JournalEntry>, JournalError> {
        let db = &self.db;
        let c = db.client().await?;
        let rows = c
            .query(
                &format!("SELECT {COLUMNS} FROM appio_bulk_row WHERE job = $1"),
                &[&self.job],
            )
            .await
            .map_err(db.query_error())?;
        let mut out = BTreeMap::new();
        for r in &rows {
            let e = entry_from_raw(raw(r))?;
            out.insert(e.key.clone(), e);
        }
        Ok(out)
    }

    async fn put(&self, e: JournalEntry) -> Result<(), JournalError> {
        let db = &self.db;
        let c = db.client().await?;
        let (message_id, reason, detail, delivery) = state_columns(&e.state);
        c.execute(
            "INSERT INTO appio_bulk_row
             (job, key, seq, fiscal_code, fingerprint, state, message_id, reason, detail,
              delivery, attempts, updated_at, worker, lease_until, service)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, NULL, $13)
             ON CONFLICT (job, key) DO UPDATE SET
               seq = EXCLUDED.seq, fiscal_code = EXCLUDED.fiscal_code,
               fingerprint = EXCLUDED.fingerprint, state = EXCLUDED.state,
               message_id = EXCLUDED.message_id, reason = EXCLUDED.reason,
               detail = EXCLUDED.detail, delivery = EXCLUDED.delivery,
               attempts = EXCLUDED.attempts, updated_at = EXCLUDED.updated_at,
               worker = NULL, lease_until = NULL, service = EXCLUDED.service",
            &[
                &self.job,
                &e.key,
                &seq(e.seq),
                &e.fiscal_code,
                &e.fingerprint,
                &e.state.code(),
                &message_id,
                &reason,
                &detail,
                &delivery,
                &attempts(e.attempts),
                &e.updated_at,
                &e.service,
            ],
        )
        .await
        .map_err(db.query_error())?;
        Ok(())
    }

    async fn claim(&self, req: &ClaimRequest<'_>) -> Result<Claim, JournalError> {
        let db = &self.db;
        let c = db.client().await?;
        // One statement: insert the row as claimed, or take it when it is free, expired or
        // already ours. The row lock taken by ON CONFLICT serializes concurrent claims.
        let taken = c
            .query_opt(
                &format!(
                    "INSERT INTO appio_bulk_row AS r
                     (job, key, seq, fiscal_code, fingerprint, state, attempts, updated_at,
                      worker, lease_until)
                     VALUES ($1, $2, $3, $4, $5, 'claimed', 0, now(), $6,
                             now() + $7::float8 * interval '1 second')
                     ON CONFLICT (job, key) DO UPDATE
                       SET worker = EXCLUDED.worker, lease_until = EXCLUDED.lease_until
                       WHERE r.state <> 'sent'
                         AND (r.worker IS NULL OR r.worker = EXCLUDED.worker
                              OR r.lease_until < now())
                     RETURNING {COLUMNS}"
                ),
                &[
                    &self.job,
                    &req.key,
                    &seq(req.seq),
                    &req.fiscal_code,
                    &req.fingerprint,
                    &req.worker,
                    &seconds(req.lease),
                ],
            )
            .await
            .map_err(db.query_error())?;
        if let Some(r) = taken {
            return Ok(Claim::Acquired(entry_from_raw(raw(&r))?));
        }
        let r = c
            .query_one(
                &format!(
                    "SELECT {COLUMNS}, worker, lease_until FROM appio_bulk_row
                     WHERE job = $1 AND key = $2"
                ),
                &[&self.job, &req.key],
            )
            .await
            .map_err(db.query_error())?;
        let entry = entry_from_raw(raw(&r))?;
        if matches!(entry.state, RowState::Sent { .. }) {
            return Ok(Claim::Sent(entry));
        }
        let worker: Option<String> = r.get(12);
        let until: Option<DateTime<Utc>> = r.get(13);
        Ok(Claim::Held {
            worker: worker.unwrap_or_default(),
            until: until.unwrap_or_default(),
        })
    }

    async fn put_held(
        &self,
        e: JournalEntry,
        worker: &str,
        hold: Option<Duration>,
    ) -> Result<bool, JournalError> {
        let db = &self.db;
        let c = db.client().await?;
        let (message_id, reason, detail, delivery) = state_columns(&e.state);
        let lease = hold.map(seconds);
        let n = c
            .execute(
                "UPDATE appio_bulk_row SET
                   seq = $3, fiscal_code = $4, fingerprint = $5, state = $6, message_id = $7,
                   reason = $8, detail = $9, delivery = $10, attempts = $11, updated_at = $12,
                   worker = CASE WHEN $13::float8 IS NULL THEN NULL ELSE worker END,
                   lease_until = now() + $13::float8 * interval '1 second',
                   service = $15
                 WHERE job = $1 AND key = $2 AND worker = $14",
                &[
                    &self.job,
                    &e.key,
                    &seq(e.seq),
                    &e.fiscal_code,
                    &e.fingerprint,
                    &e.state.code(),
                    &message_id,
                    &reason,
                    &detail,
                    &delivery,
                    &attempts(e.attempts),
                    &e.updated_at,
                    &lease,
                    &worker,
                    &e.service,
                ],
            )
            .await
            .map_err(db.query_error())?;
        Ok(n == 1)
    }

    async fn renew(&self, worker: &str, lease: Duration) -> Result<u64, JournalError> {
        let db = &self.db;
        let c = db.client().await?;
        let n = c
            .execute(
                "UPDATE appio_bulk_row SET lease_until = now() + $3::float8 * interval '1 second'
                 WHERE job = $1 AND worker = $2",
                &[&self.job, &worker, &seconds(lease)],
            )
            .await
            .map_err(db.query_error())?;
        Ok(n)
    }

    async fn release(&self, key: &str, worker: &str) -> Result<(), JournalError> {
        let db = &self.db;
        let c = db.client().await?;
        c.execute(
            "UPDATE appio_bulk_row SET worker = NULL, lease_until = NULL
             WHERE job = $1 AND key = $2 AND worker = $3",
            &[&self.job, &key, &worker],
        )
        .await
        .map_err(db.query_error())?;
        Ok(())
    }
}
