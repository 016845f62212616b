//! The protocol register in PostgreSQL, shared by several instances (feature `postgres`).

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use pa_postgres::tokio_postgres::{self, Row, error::SqlState};
use pa_postgres::{Database, DbError, Migration, Migrations};

use crate::error::RegistryError;
use crate::model::{Identificatore, NumeroRegistrazione};
use crate::register::{
    Register, Registration, RegistrationRecord, check_limit, identificatore, record_from_parts,
    replay, verso_str,
};
use crate::registry::RegistroKey;

/// The schema of [`PgRegister`] (component `protocollo`).
pub(crate) const MIGRATIONS: Migrations = Migrations::new(
    "protocollo",
    &[Migration::new(
        1,
        "register: counters and registrations",
        "CREATE TABLE protocollo_counter (
             amministrazione TEXT NOT NULL,
             aoo             TEXT NOT NULL,
             registro        TEXT NOT NULL,
             anno            INTEGER NOT NULL,
             ultimo          BIGINT NOT NULL CHECK (ultimo > 0),
             PRIMARY KEY (amministrazione, aoo, registro, anno)
         );
         CREATE TABLE protocollo_registrazione (
             amministrazione    TEXT NOT NULL,
             aoo                TEXT NOT NULL,
             registro           TEXT NOT NULL,
             anno               INTEGER NOT NULL,
             numero             BIGINT NOT NULL CHECK (numero > 0),
             data_registrazione DATE NOT NULL,
             registrata_il      TIMESTAMPTZ NOT NULL DEFAULT now(),
             verso              TEXT NOT NULL CHECK (verso IN ('arrivo', 'partenza')),
             oggetto            TEXT NOT NULL CHECK (oggetto <> ''),
             corrispondente     TEXT NOT NULL CHECK (corrispondente <> ''),
             impronta_algoritmo TEXT,
             impronta           BYTEA,
             segnatura          BYTEA,
             id_richiesta       TEXT,
             PRIMARY KEY (amministrazione, aoo, registro, anno, numero),
             FOREIGN KEY (amministrazione, aoo, registro, anno)
                 REFERENCES protocollo_counter (amministrazione, aoo, registro, anno),
             CHECK ((impronta_algoritmo IS NULL) = (impronta IS NULL))
         );
         CREATE UNIQUE INDEX protocollo_registrazione_richiesta
             ON protocollo_registrazione (amministrazione, aoo, registro, id_richiesta)
             WHERE id_richiesta IS NOT NULL;",
    )],
);

const RICHIESTA_INDEX: &str = "protocollo_registrazione_richiesta";

const COLS: &str = "numero, data_registrazione, registrata_il, verso, oggetto, corrispondente,
    impronta_algoritmo, impronta, segnatura, id_richiesta";

/// The protocol register in PostgreSQL: every instance of the application numbers the same
/// registers.
///
/// [`Register::register`] runs one transaction whose one statement advances the register's
/// counter row (`INSERT ... ON CONFLICT DO UPDATE SET ultimo = ultimo + 1 RETURNING ultimo`,
/// which keeps the row locked until the end) and inserts the record under the number it
/// returned; then the commit. A registration
/// that fails rolls the counter back with it, so no number is lost; concurrent registrations
/// in one register wait for each other on the row lock, across processes. If the connection
/// drops the server rolls the transaction back; only a drop during the commit leaves the
/// outcome unknown ([`RegistryError::Unavailable`]), which a retry with the same
/// [`id_richiesta`](RegistrationRecord::with_id_richiesta) resolves.
///
/// Two timeouts bound how long the counter row can be held: a registration waits at most
/// [`PgRegister::with_lock_timeout`] (default 30 s) for it, then fails with
/// [`RegistryError::Busy`]; and the server ends the session of an instance that stops in the
/// middle of a registration (frozen process, network partition) after
/// [`PgRegister::with_idle_timeout`] (default 5 s) of silence, rolling it back and releasing
/// the row. (A frozen instance may have several registrations queued on the row: each is
/// ended in turn, so the register is free again after at most its pool size times the idle
/// timeout; a registration that waits longer than its lock timeout gets `Busy`.)
#[derive(Debug, Clone)]
pub struct PgRegister {
    db: Database,
    lock_timeout: Duration,
    idle_timeout: Duration,
}

const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(30);
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(5);

fn millis(d: Duration) -> u128 {
    d.as_millis().max(1)
}

fn db_err(e: DbError) -> RegistryError {
    // `is_connection` covers a closed connection and the server ending the session
    // (SQLSTATE class 08, 57P0x).
    if e.is_connection() {
        RegistryError::Unavailable(e.to_string())
    } else {
        RegistryError::Store(e.to_string())
    }
}

fn col<'a, T: tokio_postgres::types::FromSql<'a>>(
    r: &'a Row,
    i: usize,
) -> Result<T, RegistryError> {
    r.try_get(i)
        .map_err(|e| RegistryError::Store(format!("column {i} of a registration: {e}")))
}

fn to_registration(key: &RegistroKey, r: &Row) -> Result<Registration, RegistryError> {
    let numero: i64 = col(r, 0)?;
    let numero = u64::try_from(numero)
        .map_err(|_| RegistryError::Store("negative number in the database".into()))?;
    let date: NaiveDate = col(r, 1)?;
    let registrata_il: DateTime<Utc> = col(r, 2)?;
    let verso: String = col(r, 3)?;
    let impronta = match (col::<Option<String>>(r, 6)?, col::<Option<Vec<u8>>>(r, 7)?) {
        (Some(a), Some(v)) => Some((a, v)),
        (None, None) => None,
        _ => return Err(RegistryError::Store("half a digest in the database".into())),
    };
    Ok(Registration {
        identificatore: identificatore(key, numero, date),
        record: record_from_parts(
            &verso,
            col(r, 4)?,
            col(r, 5)?,
            impronta,
            col(r, 8)?,
            col(r, 9)?,
        )?,
        registrata_il,
    })
}

fn number(n: NumeroRegistrazione) -> Option<i64> {
    i64::try_from(n.value()).ok()
}

impl PgRegister {
    /// A register on `db`, whose schema must be migrated already ([`crate::PG_MIGRATIONS`]).
    #[must_use]
    pub fn new(db: Database) -> Self {
        PgRegister {
            db,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }

    /// How long a registration waits for the counter row held by another one before failing
    /// with [`RegistryError::Busy`] (default 30 s; at least 1 ms).
    #[must_use]
    pub fn with_lock_timeout(mut self, timeout: Duration) -> Self {
        self.lock_timeout = timeout;
        self
    }

    /// How long the server lets a registration's transaction sit idle (the instance stopped
    /// talking) before it ends the session and rolls it back (default 5 s; at least 1 ms).
    #[must_use]
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// A register on `db`, applying [`crate::PG_MIGRATIONS`] first (safe when several
    /// instances start at once).
    ///
    /// # Errors
    /// [`RegistryError::Unavailable`] when the server cannot be reached;
    /// [`RegistryError::Store`] when a migration fails.
    pub async fn open(db: Database) -> Result<Self, RegistryError> {
        db.migrate(&MIGRATIONS).await.map_err(db_err)?;
        Ok(PgRegister::new(db))
    }

    /// Connects to `url` (a `postgres://` URL; TLS with `sslmode=require`) and opens the
    /// register as [`PgRegister::open`] does.
    ///
    /// # Errors
    /// [`RegistryError::Unavailable`] naming host, port and database (never the password);
    /// [`RegistryError::Store`] for a malformed URL or a failed migration.
    pub async fn connect(url: &str) -> Result<Self, RegistryError> {
        let db = Database::connect(url).await.map_err(db_err)?;
        Self::open(db).await
    }

    /// The pool.
    #[must_use]
    pub fn database(&self) -> &Database {
        &self.db
    }

    async fn by_richiesta(
        &self,
        client: &pa_postgres::Client,
        key: &RegistroKey,
        id: &str,
    ) -> Result<Option<Registration>, RegistryError> {
        let row = client
            .query_opt(
                &format!(
                    "SELECT {COLS} FROM protocollo_registrazione
                     WHERE amministrazione = $1 AND aoo = $2 AND registro = $3
                       AND id_richiesta = $4"
                ),
                &[
                    &key.codice_amministrazione,
                    &key.codice_aoo,
                    &key.codice_registro.as_str(),
                    &id,
                ],
            )
            .await
            .map_err(|e| db_err(self.db.error(&e)))?;
        row.map(|r| to_registration(key, &r)).transpose()
    }
}

enum Attempt {
    Done(i64),
    /// The request id was registered meanwhile by a concurrent call.
    RequestIdTaken,
}

#[async_trait]
impl Register for PgRegister {
    async fn register(
        &self,
        key: &RegistroKey,
        date: NaiveDate,
        record: RegistrationRecord,
    ) -> Result<Identificatore, RegistryError> {
        let year = date.year();
        let mut client = self.db.client().await.map_err(db_err)?;
        if let Some(id) = record.id_richiesta()
            && let Some(existing) = self.by_richiesta(&client, key, id).await?
        {
            return replay(existing, &record);
        }
        let attempt = {
            let q = self.db.query_error();
            let tx = client.transaction().await.map_err(|e| db_err(q(e)))?;
            tx.batch_execute(&format!(
                "SET LOCAL lock_timeout = {}; SET LOCAL idle_in_transaction_session_timeout = {}",
                millis(self.lock_timeout),
                millis(self.idle_timeout)
            ))
            .await
            .map_err(|e| db_err(q(e)))?;
            let (alg, dig) = match record.impronta() {
                Some(i) => (Some(i.algoritmo.name()), Some(i.valore.as_slice())),
                None => (None, None),
            };
            // One statement, one round trip while the counter row is locked: advance the
            // counter and insert the record under the number it returns.
            let inserted = tx
                .query_one(
                    "WITH c AS (
                         INSERT INTO protocollo_counter (amministrazione, aoo, registro, anno, ultimo)
                         VALUES ($1, $2, $3, $4, 1)
                         ON CONFLICT (amministrazione, aoo, registro, anno)
                         DO UPDATE SET ultimo = protocollo_counter.ultimo + 1
                         RETURNING ultimo
                     )
                     INSERT INTO protocollo_registrazione (amministrazione, aoo, registro, anno,
                         numero, data_registrazione, verso, oggetto, corrispondente,
                         impronta_algoritmo, impronta, segnatura, id_richiesta)
                     SELECT $1, $2, $3, $4, c.ultimo, $5, $6, $7, $8, $9, $10, $11, $12 FROM c
                     RETURNING numero",
                    &[
                        &key.codice_amministrazione,
                        &key.codice_aoo,
                        &key.codice_registro.as_str(),
                        &year,
                        &date,
                        &verso_str(record.verso()),
                        &record.oggetto(),
                        &record.corrispondente(),
                        &alg,
                        &dig,
                        &record.segnatura(),
                        &record.id_richiesta(),
                    ],
                )
                .await;
            match inserted {
                Ok(row) => {
                    let n: i64 = col(&row, 0)?;
                    tx.commit().await.map_err(|e| db_err(q(e)))?;
                    Attempt::Done(n)
                }
                Err(e)
                    if e.code() == Some(&SqlState::UNIQUE_VIOLATION)
                        && e.as_db_error().and_then(|d| d.constraint())
                            == Some(RICHIESTA_INDEX) =>
                {
                    tx.rollback().await.map_err(|e| db_err(q(e)))?;
                    Attempt::RequestIdTaken
                }
                Err(e) => {
                    // The counter update is undone with the transaction.
                    let e = q(e);
                    let registro = key.codice_registro.to_string();
                    let err = match e.sqlstate() {
                        Some(c) if c == SqlState::NUMERIC_VALUE_OUT_OF_RANGE.code() => {
                            RegistryError::Exhausted { registro, year }
                        }
                        Some(c) if c == SqlState::LOCK_NOT_AVAILABLE.code() => {
                            RegistryError::Busy { registro, year }
                        }
                        _ => db_err(e),
                    };
                    let _ = tx.rollback().await;
                    return Err(err);
                }
            }
        };
        match attempt {
            Attempt::Done(n) => {
                let n = u64::try_from(n)
                    .map_err(|_| RegistryError::Store("negative counter in the database".into()))?;
                Ok(identificatore(key, n, date))
            }
            Attempt::RequestIdTaken => {
                let id = record.id_richiesta().unwrap_or_default();
                let existing = self.by_richiesta(&client, key, id).await?.ok_or_else(|| {
                    RegistryError::Store(format!("request id {id:?} taken but not found"))
                })?;
                replay(existing, &record)
            }
        }
    }

    async fn get(
        &self,
        key: &RegistroKey,
        year: i32,
        numero: NumeroRegistrazione,
    ) -> Result<Option<Registration>, RegistryError> {
        let Some(n) = number(numero) else {
            return Ok(None);
        };
        let client = self.db.client().await.map_err(db_err)?;
        let row = client
            .query_opt(
                &format!(
                    "SELECT {COLS} FROM protocollo_registrazione
                     WHERE amministrazione = $1 AND aoo = $2 AND registro = $3 AND anno = $4
                       AND numero = $5"
                ),
                &[
                    &key.codice_amministrazione,
                    &key.codice_aoo,
                    &key.codice_registro.as_str(),
                    &year,
                    &n,
                ],
            )
            .await
            .map_err(|e| db_err(self.db.error(&e)))?;
        row.map(|r| to_registration(key, &r)).transpose()
    }

    async fn list(
        &self,
        key: &RegistroKey,
        year: i32,
        after: Option<NumeroRegistrazione>,
        limit: usize,
    ) -> Result<Vec<Registration>, RegistryError> {
        check_limit(limit)?;
        let after = after.map_or(0, |n| number(n).unwrap_or(i64::MAX));
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.db.client().await.map_err(db_err)?;
        let rows = client
            .query(
                &format!(
                    "SELECT {COLS} FROM protocollo_registrazione
                     WHERE amministrazione = $1 AND aoo = $2 AND registro = $3 AND anno = $4
                       AND numero > $5
                     ORDER BY numero LIMIT $6"
                ),
                &[
                    &key.codice_amministrazione,
                    &key.codice_aoo,
                    &key.codice_registro.as_str(),
                    &year,
                    &after,
                    &limit,
                ],
            )
            .await
            .map_err(|e| db_err(self.db.error(&e)))?;
        rows.iter().map(|r| to_registration(key, r)).collect()
    }

    async fn last_number(
        &self,
        key: &RegistroKey,
        year: i32,
    ) -> Result<Option<NumeroRegistrazione>, RegistryError> {
        let client = self.db.client().await.map_err(db_err)?;
        let row = client
            .query_opt(
                "SELECT ultimo FROM protocollo_counter
                 WHERE amministrazione = $1 AND aoo = $2 AND registro = $3 AND anno = $4",
                &[
                    &key.codice_amministrazione,
                    &key.codice_aoo,
                    &key.codice_registro.as_str(),
                    &year,
                ],
            )
            .await
            .map_err(|e| db_err(self.db.error(&e)))?;
        row.map(|r| {
            let n: i64 = col(&r, 0)?;
            u64::try_from(n)
                .map(NumeroRegistrazione::new)
                .map_err(|_| RegistryError::Store("negative counter in the database".into()))
        })
        .transpose()
    }
}
