//! The portal's own state: sessions (CIE and card logins) and citizens' requests, in an
//! embedded SQLite file per ente, or in one PostgreSQL database shared by every instance and
//! ente (`--database-url`).

use std::path::Path;
use std::sync::Mutex;

use pa_postgres::{Database, Migration, Migrations};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// The PostgreSQL schema of the portal (component `sportello`).
pub const PG_MIGRATIONS: Migrations = Migrations::new(
    "sportello",
    &[
        Migration::new(
            1,
            "sessions and requests",
            "CREATE TABLE sportello_session (
            ente TEXT NOT NULL, id TEXT NOT NULL, identity TEXT NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (ente, id));
         CREATE TABLE sportello_request (
            ente TEXT NOT NULL, id TEXT NOT NULL, created_at TEXT NOT NULL,
            fiscal_code TEXT NOT NULL, full_name TEXT NOT NULL, login TEXT NOT NULL,
            subject TEXT NOT NULL, body TEXT NOT NULL, protocol_number BIGINT NOT NULL,
            segnatura TEXT NOT NULL, segnatura_xml TEXT NOT NULL, notice_number TEXT NOT NULL,
            iuv TEXT NOT NULL, amount_cents BIGINT NOT NULL, status TEXT NOT NULL,
            receipt_id TEXT, io_message_id TEXT,
            PRIMARY KEY (ente, id), UNIQUE (ente, notice_number));
         CREATE INDEX sportello_request_iuv ON sportello_request (ente, iuv);",
        ),
        Migration::new(
            2,
            "App IO bulk jobs",
            "CREATE TABLE sportello_io_job (
                ente TEXT NOT NULL, job TEXT NOT NULL, subject TEXT NOT NULL,
                markdown TEXT NOT NULL, recipients TEXT NOT NULL,
                created_at TIMESTAMPTZ NOT NULL DEFAULT now(), done BOOLEAN NOT NULL DEFAULT false,
                PRIMARY KEY (ente, job));",
        ),
    ],
);

/// An App IO message to many citizens, run by whichever instance's worker gets to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IoJob {
    /// Job id (also the journal's job name).
    pub job: String,
    /// Subject.
    pub subject: String,
    /// Markdown body.
    pub markdown: String,
    /// Recipients' fiscal codes.
    pub recipients: Vec<String>,
    /// Every row sent or resolved.
    pub done: bool,
}

/// A citizen's request as the demo keeps it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Request {
    /// Our identifier.
    pub id: String,
    /// When it was filed (RFC 3339).
    pub created_at: String,
    /// The citizen's fiscal code.
    pub fiscal_code: String,
    /// The citizen's full name.
    pub full_name: String,
    /// How the citizen logged in (SPID / CIE and the IdP).
    pub login: String,
    /// What is asked.
    pub subject: String,
    /// The request text.
    pub body: String,
    /// Protocol number.
    pub protocol_number: u64,
    /// Textual segnatura.
    pub segnatura: String,
    /// The segnatura informatica XML.
    pub segnatura_xml: String,
    /// pagoPA notice number.
    pub notice_number: String,
    /// IUV.
    pub iuv: String,
    /// Fee in cents.
    pub amount_cents: u64,
    /// `da pagare`, `pagata`.
    pub status: String,
    /// Receipt id once paid.
    pub receipt_id: Option<String>,
    /// App IO message id once sent.
    pub io_message_id: Option<String>,
}

/// The portal's database: SQLite (one file per ente) or PostgreSQL (shared).
#[derive(Debug)]
pub enum Db {
    /// Embedded.
    Sqlite(SqliteDb),
    /// Shared by instances; rows keyed by ente.
    Postgres {
        /// The pool.
        db: Database,
        /// The ente whose rows these are.
        ente: String,
    },
}

/// The embedded SQLite database of one ente.
#[derive(Debug)]
pub struct SqliteDb {
    conn: Mutex<Connection>,
}

/// A database error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// SQLite failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL failed (the message names the server, never the password).
    #[error("database: {0}")]
    Postgres(#[from] pa_postgres::DbError),
}

const PG_COLUMNS: &str = "id, created_at, fiscal_code, full_name, login, subject, body, \
    protocol_number, segnatura, segnatura_xml, notice_number, iuv, amount_cents, status, \
    receipt_id, io_message_id";

fn pg_row(r: &pa_postgres::tokio_postgres::Row) -> Request {
    let protocol: i64 = r.get(7);
    let cents: i64 = r.get(12);
    Request {
        id: r.get(0),
        created_at: r.get(1),
        fiscal_code: r.get(2),
        full_name: r.get(3),
        login: r.get(4),
        subject: r.get(5),
        body: r.get(6),
        protocol_number: u64::try_from(protocol).unwrap_or(0),
        segnatura: r.get(8),
        segnatura_xml: r.get(9),
        notice_number: r.get(10),
        iuv: r.get(11),
        amount_cents: u64::try_from(cents).unwrap_or(0),
        status: r.get(13),
        receipt_id: r.get(14),
        io_message_id: r.get(15),
    }
}

impl Db {
    /// Opens (creating) the SQLite file.
    ///
    /// # Errors
    /// When SQLite cannot open or initialise the file.
    pub fn open(path: &Path) -> Result<Db, DbError> {
        Ok(Db::Sqlite(SqliteDb::open(path)?))
    }

    /// The rows of `ente` in the shared PostgreSQL database (migrated first, safe when
    /// instances start at once).
    ///
    /// # Errors
    /// When a migration fails.
    pub async fn postgres(db: Database, ente: &str) -> Result<Db, DbError> {
        db.migrate(&PG_MIGRATIONS).await?;
        Ok(Db::Postgres {
            db,
            ente: ente.to_owned(),
        })
    }

    async fn pg_exec(
        db: &Database,
        sql: &str,
        params: &[&(dyn pa_postgres::tokio_postgres::types::ToSql + Sync)],
    ) -> Result<u64, DbError> {
        let c = db.client().await?;
        Ok(c.execute(sql, params).await.map_err(db.query_error())?)
    }

    async fn pg_query(
        db: &Database,
        sql: &str,
        params: &[&(dyn pa_postgres::tokio_postgres::types::ToSql + Sync)],
    ) -> Result<Vec<Request>, DbError> {
        let c = db.client().await?;
        let rows = c.query(sql, params).await.map_err(db.query_error())?;
        Ok(rows.iter().map(pg_row).collect())
    }

    /// Stores a session's identity (JSON).
    ///
    /// # Errors
    /// When the database fails.
    pub async fn put_session(&self, id: &str, identity_json: &str) -> Result<(), DbError> {
        match self {
            Db::Sqlite(s) => s.put_session(id, identity_json),
            Db::Postgres { db, ente } => Self::pg_exec(
                db,
                "INSERT INTO sportello_session (ente, id, identity) VALUES ($1, $2, $3)
                 ON CONFLICT (ente, id) DO UPDATE SET identity = EXCLUDED.identity",
                &[ente, &id, &identity_json],
            )
            .await
            .map(drop),
        }
    }

    /// A session's identity (JSON).
    ///
    /// # Errors
    /// When the database fails.
    pub async fn session(&self, id: &str) -> Result<Option<String>, DbError> {
        match self {
            Db::Sqlite(s) => s.session(id),
            Db::Postgres { db, ente } => {
                let c = db.client().await?;
                let row = c
                    .query_opt(
                        "SELECT identity FROM sportello_session WHERE ente = $1 AND id = $2",
                        &[ente, &id],
                    )
                    .await
                    .map_err(db.query_error())?;
                Ok(row.map(|r| r.get(0)))
            }
        }
    }

    /// Deletes a session.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn delete_session(&self, id: &str) -> Result<(), DbError> {
        match self {
            Db::Sqlite(s) => s.delete_session(id),
            Db::Postgres { db, ente } => Self::pg_exec(
                db,
                "DELETE FROM sportello_session WHERE ente = $1 AND id = $2",
                &[ente, &id],
            )
            .await
            .map(drop),
        }
    }

    /// Inserts a request.
    ///
    /// # Errors
    /// When the database fails (a notice number used twice among them).
    pub async fn insert_request(&self, r: &Request) -> Result<(), DbError> {
        match self {
            Db::Sqlite(s) => s.insert_request(r),
            Db::Postgres { db, ente } => {
                let protocol = i64::try_from(r.protocol_number).unwrap_or(i64::MAX);
                let cents = i64::try_from(r.amount_cents).unwrap_or(i64::MAX);
                Self::pg_exec(
                    db,
                    &format!(
                        "INSERT INTO sportello_request (ente, {PG_COLUMNS}) VALUES ($1, $2, $3, \
                         $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)"
                    ),
                    &[
                        ente,
                        &r.id,
                        &r.created_at,
                        &r.fiscal_code,
                        &r.full_name,
                        &r.login,
                        &r.subject,
                        &r.body,
                        &protocol,
                        &r.segnatura,
                        &r.segnatura_xml,
                        &r.notice_number,
                        &r.iuv,
                        &cents,
                        &r.status,
                        &r.receipt_id,
                        &r.io_message_id,
                    ],
                )
                .await
                .map(drop)
            }
        }
    }

    async fn pg_one(&self, column: &str, value: &str) -> Result<Option<Request>, DbError> {
        let Db::Postgres { db, ente } = self else {
            return Ok(None);
        };
        let sql =
            format!("SELECT {PG_COLUMNS} FROM sportello_request WHERE ente = $1 AND {column} = $2");
        Ok(Self::pg_query(db, &sql, &[ente, &value])
            .await?
            .into_iter()
            .next())
    }

    /// A request by id.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn request(&self, id: &str) -> Result<Option<Request>, DbError> {
        match self {
            Db::Sqlite(s) => s.request(id),
            Db::Postgres { .. } => self.pg_one("id", id).await,
        }
    }

    /// A request by notice number.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn request_by_notice(&self, notice: &str) -> Result<Option<Request>, DbError> {
        match self {
            Db::Sqlite(s) => s.request_by_notice(notice),
            Db::Postgres { .. } => self.pg_one("notice_number", notice).await,
        }
    }

    /// A request by IUV.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn request_by_iuv(&self, iuv: &str) -> Result<Option<Request>, DbError> {
        match self {
            Db::Sqlite(s) => s.request_by_iuv(iuv),
            Db::Postgres { .. } => self.pg_one("iuv", iuv).await,
        }
    }

    /// Every request, newest first.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn requests(&self) -> Result<Vec<Request>, DbError> {
        match self {
            Db::Sqlite(s) => s.requests(),
            Db::Postgres { db, ente } => {
                Self::pg_query(
                    db,
                    &format!(
                        "SELECT {PG_COLUMNS} FROM sportello_request WHERE ente = $1 \
                         ORDER BY created_at DESC, protocol_number DESC"
                    ),
                    &[ente],
                )
                .await
            }
        }
    }

    /// Marks a request paid with its receipt.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn mark_paid(&self, iuv: &str, receipt_id: &str) -> Result<(), DbError> {
        match self {
            Db::Sqlite(s) => s.mark_paid(iuv, receipt_id),
            Db::Postgres { db, ente } => Self::pg_exec(
                db,
                "UPDATE sportello_request SET status = 'pagata', receipt_id = $3
                 WHERE ente = $1 AND iuv = $2",
                &[ente, &iuv, &receipt_id],
            )
            .await
            .map(drop),
        }
    }

    /// Records the App IO message sent for a request.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn set_io_message(&self, id: &str, message_id: &str) -> Result<(), DbError> {
        match self {
            Db::Sqlite(s) => s.set_io_message(id, message_id),
            Db::Postgres { db, ente } => Self::pg_exec(
                db,
                "UPDATE sportello_request SET io_message_id = $3 WHERE ente = $1 AND id = $2",
                &[ente, &id, &message_id],
            )
            .await
            .map(drop),
        }
    }
}

impl Db {
    /// Records a new App IO bulk job (before any message of it is sent).
    ///
    /// # Errors
    /// When the database fails.
    pub async fn insert_io_job(&self, job: &IoJob) -> Result<(), DbError> {
        let recipients = job.recipients.join("\n");
        match self {
            Db::Sqlite(s) => {
                s.conn().execute(
                    "INSERT INTO io_jobs (job, subject, markdown, recipients, created_at, done)
                     VALUES (?1, ?2, ?3, ?4, datetime('now'), ?5)",
                    params![job.job, job.subject, job.markdown, recipients, job.done],
                )?;
                Ok(())
            }
            Db::Postgres { db, ente } => Self::pg_exec(
                db,
                "INSERT INTO sportello_io_job (ente, job, subject, markdown, recipients, done)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    ente,
                    &job.job,
                    &job.subject,
                    &job.markdown,
                    &recipients,
                    &job.done,
                ],
            )
            .await
            .map(drop),
        }
    }

    /// Every App IO bulk job, oldest first.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn io_jobs(&self) -> Result<Vec<IoJob>, DbError> {
        let split = |r: String| -> Vec<String> {
            r.lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect()
        };
        match self {
            Db::Sqlite(s) => {
                let conn = s.conn();
                let mut stmt = conn.prepare(
                    "SELECT job, subject, markdown, recipients, done FROM io_jobs
                     ORDER BY created_at, job",
                )?;
                let rows = stmt.query_map([], |r| {
                    Ok(IoJob {
                        job: r.get(0)?,
                        subject: r.get(1)?,
                        markdown: r.get(2)?,
                        recipients: split(r.get(3)?),
                        done: r.get(4)?,
                    })
                })?;
                Ok(rows.collect::<Result<Vec<_>, _>>()?)
            }
            Db::Postgres { db, ente } => {
                let c = db.client().await?;
                let rows = c
                    .query(
                        "SELECT job, subject, markdown, recipients, done FROM sportello_io_job
                         WHERE ente = $1 ORDER BY created_at, job",
                        &[ente],
                    )
                    .await
                    .map_err(db.query_error())?;
                Ok(rows
                    .iter()
                    .map(|r| IoJob {
                        job: r.get(0),
                        subject: r.get(1),
                        markdown: r.get(2),
                        recipients: split(r.get(3)),
                        done: r.get(4),
                    })
                    .collect())
            }
        }
    }

    /// Marks a job finished.
    ///
    /// # Errors
    /// When the database fails.
    pub async fn finish_io_job(&self, job: &str) -> Result<(), DbError> {
        match self {
            Db::Sqlite(s) => {
                s.conn()
                    .execute("UPDATE io_jobs SET done = 1 WHERE job = ?1", params![job])?;
                Ok(())
            }
            Db::Postgres { db, ente } => Self::pg_exec(
                db,
                "UPDATE sportello_io_job SET done = true WHERE ente = $1 AND job = $2",
                &[ente, &job],
            )
            .await
            .map(drop),
        }
    }

    /// The shared pool, when the database is PostgreSQL.
    pub fn postgres_pool(&self) -> Option<&Database> {
        match self {
            Db::Postgres { db, .. } => Some(db),
            Db::Sqlite(_) => None,
        }
    }
}

impl SqliteDb {
    /// Opens (creating) the database file.
    ///
    /// # Errors
    /// When SQLite cannot open or initialise the file.
    pub fn open(path: &Path) -> Result<SqliteDb, DbError> {
        let conn = Connection::open(path)?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;
             CREATE TABLE IF NOT EXISTS sessions (
                id TEXT PRIMARY KEY, identity TEXT NOT NULL, created_at TEXT NOT NULL);
             CREATE TABLE IF NOT EXISTS requests (
                id TEXT PRIMARY KEY, created_at TEXT NOT NULL, fiscal_code TEXT NOT NULL,
                full_name TEXT NOT NULL, login TEXT NOT NULL, subject TEXT NOT NULL, body TEXT NOT NULL,
                protocol_number INTEGER NOT NULL, segnatura TEXT NOT NULL, segnatura_xml TEXT NOT NULL,
                notice_number TEXT NOT NULL UNIQUE, iuv TEXT NOT NULL, amount_cents INTEGER NOT NULL,
                status TEXT NOT NULL, receipt_id TEXT, io_message_id TEXT);
             CREATE TABLE IF NOT EXISTS io_jobs (
                job TEXT PRIMARY KEY, subject TEXT NOT NULL, markdown TEXT NOT NULL,
                recipients TEXT NOT NULL, created_at TEXT NOT NULL, done INTEGER NOT NULL DEFAULT 0);",
        )?;
        Ok(SqliteDb {
            conn: Mutex::new(conn),
        })
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Stores a session's identity (JSON).
    ///
    /// # Errors
    /// On SQLite errors.
    pub fn put_session(&self, id: &str, identity_json: &str) -> Result<(), DbError> {
        self.conn().execute(
            "INSERT OR REPLACE INTO sessions (id, identity, created_at) VALUES (?1, ?2, datetime('now'))",
            params![id, identity_json],
        )?;
        Ok(())
    }

    /// A session's identity (JSON).
    ///
    /// # Errors
    /// On SQLite errors.
    pub fn session(&self, id: &str) -> Result<Option<String>, DbError> {
        Ok(self
            .conn()
            .query_row(
                "SELECT identity FROM sessions WHERE id = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Deletes a session.
    ///
    /// # Errors
    /// On SQLite errors.
    pub fn delete_session(&self, id: &str) -> Result<(), DbError> {
        self.conn()
            .execute("DELETE FROM sessions WHERE id = ?1", params![id])?;
        Ok(())
    }

    /// Inserts a request.
    ///
    /// # Errors
    /// On SQLite errors.
    pub fn insert_request(&self, r: &Request) -> Result<(), DbError> {
        self.conn().execute(
            "INSERT INTO requests (id, created_at, fiscal_code, full_name, login, subject, body,
               protocol_number, segnatura, segnatura_xml, notice_number, iuv, amount_cents, status,
               receipt_id, io_message_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
            params![
                r.id,
                r.created_at,
                r.fiscal_code,
                r.full_name,
                r.login,
                r.subject,
                r.body,
                i64::try_from(r.protocol_number).unwrap_or(i64::MAX),
                r.segnatura,
                r.segnatura_xml,
                r.notice_number,
                r.iuv,
                i64::try_from(r.amount_cents).unwrap_or(i64::MAX),
                r.status,
                r.receipt_id,
                r.io_message_id
            ],
        )?;
        Ok(())
    }

    fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Request> {
        let protocol: i64 = r.get(7)?;
        let cents: i64 = r.get(12)?;
        Ok(Request {
            id: r.get(0)?,
            created_at: r.get(1)?,
            fiscal_code: r.get(2)?,
            full_name: r.get(3)?,
            login: r.get(4)?,
            subject: r.get(5)?,
            body: r.get(6)?,
            protocol_number: u64::try_from(protocol).unwrap_or(0),
            segnatura: r.get(8)?,
            segnatura_xml: r.get(9)?,
            notice_number: r.get(10)?,
            iuv: r.get(11)?,
            amount_cents: u64::try_from(cents).unwrap_or(0),
            status: r.get(13)?,
            receipt_id: r.get(14)?,
            io_message_id: r.get(15)?,
        })
    }

    const COLUMNS: &'static str = "id, created_at, fiscal_code, full_name, login, subject, body, \
        protocol_number, segnatura, segnatura_xml, notice_number, iuv, amount_cents, status, \
        receipt_id, io_message_id";

    /// A request by id.
    ///
    /// # Errors
    /// On SQLite errors.
    pub fn request(&self, id: &str) -> Result<Option<Request>, DbError> {
        let sql = format!("SELECT {} FROM requests WHERE id = ?1", Self::COLUMNS);
        Ok(self
            .conn()
            .query_row(&sql, params![id], Self::row)
            .optional()?)
    }

    /// A request by notice number.
    ///
    /// # Errors
    /// On SQLite errors.
    pub fn request_by_notice(&self, notice: &str) -> Result<Option<Request>, DbError> {
        let sql = format!(
            "SELECT {} FROM requests WHERE notice_number = ?1",
            Self::COLUMNS
        );
        Ok(self
            .conn()
            .query_row(&sql, params![notice], Self::row)
            .optional()?)
    }

    /// A request by IUV.
    ///
    /// # Errors
    /// On SQLite errors.
    pub fn request_by_iuv(&self, iuv: &str) -> Result<Option<Request>, DbError> {
        let sql = format!("SELECT {} FROM requests WHERE iuv = ?1", Self::COLUMNS);
        Ok(self
            .conn()
            .query_row(&sql, params![iuv], Self::row)
            .optional()?)
    }

    /// Every request, newest first.
    ///
    /// # Errors
    /// On SQLite errors.
    pub fn requests(&self) -> Result<Vec<Request>, DbError> {
        let sql = format!(
            "SELECT {} FROM requests ORDER BY created_at DESC, protocol_number DESC",
            Self::COLUMNS
        );
        let conn = self.conn();
        let mut stmt = conn.prepare(&sql)?;
        let rows = stmt.query_map([], Self::row)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Marks a request paid with its receipt.
    ///
    /// # Errors
    /// On SQLite errors.
    pub fn mark_paid(&self, iuv: &str, receipt_id: &str) -> Result<(), DbError> {
        self.conn().execute(
            "UPDATE requests SET status = 'pagata', receipt_id = ?2 WHERE iuv = ?1",
            params![iuv, receipt_id],
        )?;
        Ok(())
    }

    /// Records the App IO message sent for a request.
    ///
    /// # Errors
    /// On SQLite errors.
    pub fn set_io_message(&self, id: &str, message_id: &str) -> Result<(), DbError> {
        self.conn().execute(
            "UPDATE requests SET io_message_id = ?2 WHERE id = ?1",
            params![id, message_id],
        )?;
        Ok(())
    }
}
