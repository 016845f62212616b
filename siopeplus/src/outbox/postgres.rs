//! The shared store for several instances: PostgreSQL (feature `postgres`).

use std::time::Duration;

use chrono::NaiveDateTime;
use pa_postgres::{Database, DbError, Migration, Migrations};

use super::{
    OrderState, OrderStatus, OutboxEntry, OutboxState, OutboxStore, StoredMessage, parse_tipo,
    tipo_str,
};
use crate::error::OutboxError;

/// The schema of [`PgOutbox`] (component `siopeplus`).
pub(crate) const MIGRATIONS: Migrations = Migrations::new(
    "siopeplus",
    &[
        Migration::new(
            1,
            "outbox with leases",
        "CREATE TABLE siopeplus_outbox (
             id                    BIGSERIAL PRIMARY KEY,
             identificativo_flusso TEXT NOT NULL UNIQUE,
             xml                   BYTEA NOT NULL,
             state                 TEXT NOT NULL,
             prog_flusso           BIGINT,
             attempted_at          TIMESTAMP,
             attempts              INTEGER NOT NULL DEFAULT 0,
             detail                TEXT,
             lease_owner           TEXT,
             lease_until           TIMESTAMPTZ,
             created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
             updated_at            TIMESTAMPTZ NOT NULL DEFAULT now()
         );
         CREATE INDEX siopeplus_outbox_open ON siopeplus_outbox (id)
             WHERE state NOT IN ('ack_ko', 'rifiutato', 'completed');
         CREATE TABLE siopeplus_outbox_messages (
             seq      BIGSERIAL,
             entry_id BIGINT NOT NULL REFERENCES siopeplus_outbox(id),
             kind     TEXT NOT NULL,
             location TEXT NOT NULL,
             xml      BYTEA NOT NULL,
             PRIMARY KEY (entry_id, kind, location)
         );",
        ),
        Migration::new(
            2,
            "one outbox per channel",
            "ALTER TABLE siopeplus_outbox ADD COLUMN channel TEXT NOT NULL DEFAULT '';
             ALTER TABLE siopeplus_outbox
                 DROP CONSTRAINT siopeplus_outbox_identificativo_flusso_key;
             ALTER TABLE siopeplus_outbox
                 ADD CONSTRAINT siopeplus_outbox_channel_flow UNIQUE (channel, identificativo_flusso);
             CREATE INDEX siopeplus_outbox_channel_open ON siopeplus_outbox (channel, id)
                 WHERE state NOT IN ('ack_ko', 'rifiutato', 'completed');",
        ),
        Migration::new(
            3,
            "orders of each flow, and the final state failed",
            "CREATE TABLE siopeplus_outbox_orders (
                 entry_id      BIGINT NOT NULL REFERENCES siopeplus_outbox(id),
                 tipo          TEXT NOT NULL,
                 numero        BIGINT NOT NULL,
                 esercizio     INTEGER NOT NULL,
                 importo_cents BIGINT,
                 state         TEXT NOT NULL,
                 esito         TEXT,
                 code          TEXT,
                 detail        TEXT,
                 seq           BIGSERIAL,
                 updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
                 PRIMARY KEY (entry_id, tipo, numero)
             );
             DROP INDEX siopeplus_outbox_open;
             CREATE INDEX siopeplus_outbox_open ON siopeplus_outbox (id)
                 WHERE state NOT IN ('ack_ko', 'rifiutato', 'completed', 'failed');
             DROP INDEX siopeplus_outbox_channel_open;
             CREATE INDEX siopeplus_outbox_channel_open ON siopeplus_outbox (channel, id)
                 WHERE state NOT IN ('ack_ko', 'rifiutato', 'completed', 'failed');",
        ),
    ],
);

/// The outbox in PostgreSQL, shared by every instance of the application.
///
/// Each instance may run [`crate::Outbox::process`]: entries are claimed with row leases
/// (`SELECT ... FOR UPDATE SKIP LOCKED` setting `lease_owner` and `lease_until`, on the
/// server's clock), so one flow is handled by one instance at a time, and the entries of an
/// instance that died are taken over when its leases run out. Every method commits before it
/// returns.
///
/// One database can hold the outboxes of many enti, each sending with its own A2A client
/// certificate: give each its [`channel`](PgOutbox::with_channel) (e.g. its A2A code), and an
/// outbox sees, claims and sends only its own channel's flows. Flow identifiers are unique per
/// channel.
#[derive(Debug, Clone)]
pub struct PgOutbox {
    db: Database,
    channel: String,
}

fn pg(e: DbError) -> OutboxError {
    OutboxError::Db(e.to_string())
}

const COLS: &str = "id, identificativo_flusso, state, prog_flusso, attempted_at, attempts, detail";
const OPEN: &str = "state NOT IN ('ack_ko', 'rifiutato', 'completed', 'failed')";

fn to_entry(r: &pa_postgres::tokio_postgres::Row) -> Result<OutboxEntry, OutboxError> {
    let state: String = r.get(2);
    let attempts: i32 = r.get(5);
    Ok(OutboxEntry {
        id: r.get(0),
        identificativo_flusso: r.get(1),
        state: OutboxState::parse(&state)?,
        prog_flusso: r.get(3),
        attempted_at: r.get(4),
        attempts: u32::try_from(attempts).unwrap_or(0),
        detail: r.get(6),
    })
}

fn secs(lease: Duration) -> f64 {
    lease.as_secs_f64()
}

impl PgOutbox {
    /// Connects to `url` and applies [`crate::PG_MIGRATIONS`].
    ///
    /// # Errors
    /// [`OutboxError::Db`] naming the server (never the password) when it cannot be reached,
    /// or when a migration fails.
    pub async fn connect(url: &str) -> Result<Self, OutboxError> {
        Self::open(Database::connect(url).await.map_err(pg)?).await
    }

    /// Uses `db`, applying [`crate::PG_MIGRATIONS`] first (safe when several instances
    /// start at once).
    ///
    /// # Errors
    /// [`OutboxError::Db`] when a migration fails.
    pub async fn open(db: Database) -> Result<Self, OutboxError> {
        db.migrate(&MIGRATIONS).await.map_err(pg)?;
        Ok(PgOutbox::new(db))
    }

    /// Uses `db` as it is (the schema must already be migrated), default channel (`""`).
    #[must_use]
    pub fn new(db: Database) -> Self {
        PgOutbox {
            db,
            channel: String::new(),
        }
    }

    /// The outbox of `channel` (one per ente sending with its own certificate).
    #[must_use]
    pub fn with_channel(mut self, channel: impl Into<String>) -> Self {
        self.channel = channel.into();
        self
    }

    /// The channel.
    #[must_use]
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The pool.
    #[must_use]
    pub fn database(&self) -> &Database {
        &self.db
    }

    async fn client(&self) -> Result<pa_postgres::Client, OutboxError> {
        self.db.client().await.map_err(pg)
    }

    fn err(&self, e: &pa_postgres::tokio_postgres::Error) -> OutboxError {
        pg(self.db.error(e))
    }
}

#[async_trait::async_trait]
impl OutboxStore for PgOutbox {
    async fn insert(&self, identificativo_flusso: &str, xml: &[u8]) -> Result<i64, OutboxError> {
        let c = self.client().await?;
        match c
            .query_one(
                "INSERT INTO siopeplus_outbox (identificativo_flusso, xml, state, channel) VALUES ($1, $2, 'pending', $3) RETURNING id",
                &[&identificativo_flusso, &xml, &self.channel],
            )
            .await
        {
            Ok(r) => Ok(r.get(0)),
            Err(e) => {
                let e = self.db.error(&e);
                if e.sqlstate() == Some("23505") {
                    Err(OutboxError::Duplicate(identificativo_flusso.to_owned()))
                } else {
                    Err(pg(e))
                }
            }
        }
    }

    async fn get(&self, id: i64) -> Result<OutboxEntry, OutboxError> {
        let c = self.client().await?;
        let r = c
            .query_opt(
                &format!("SELECT {COLS} FROM siopeplus_outbox WHERE id = $1 AND channel = $2"),
                &[&id, &self.channel],
            )
            .await
            .map_err(|e| self.err(&e))?
            .ok_or(OutboxError::NotFound(id))?;
        to_entry(&r)
    }

    async fn xml(&self, id: i64) -> Result<Vec<u8>, OutboxError> {
        let c = self.client().await?;
        let r = c
            .query_opt(
                "SELECT xml FROM siopeplus_outbox WHERE id = $1 AND channel = $2",
                &[&id, &self.channel],
            )
            .await
            .map_err(|e| self.err(&e))?
            .ok_or(OutboxError::NotFound(id))?;
        Ok(r.get(0))
    }

    async fn open_entries(&self) -> Result<Vec<OutboxEntry>, OutboxError> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {COLS} FROM siopeplus_outbox WHERE channel = $1 AND {OPEN} ORDER BY id"
                ),
                &[&self.channel],
            )
            .await
            .map_err(|e| self.err(&e))?;
        rows.iter().map(to_entry).collect()
    }

    async fn begin_upload(&self, id: i64, at: NaiveDateTime) -> Result<(), OutboxError> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE siopeplus_outbox SET state = 'uploading', attempted_at = $2, attempts = attempts + 1, updated_at = now() WHERE id = $1",
                &[&id, &at],
            )
            .await
            .map_err(|e| self.err(&e))?;
        if n == 0 {
            return Err(OutboxError::NotFound(id));
        }
        Ok(())
    }

    async fn transition(
        &self,
        id: i64,
        state: OutboxState,
        prog_flusso: Option<i64>,
        detail: Option<&str>,
    ) -> Result<(), OutboxError> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE siopeplus_outbox SET state = $2, prog_flusso = COALESCE($3, prog_flusso), detail = $4, updated_at = now() WHERE id = $1",
                &[&id, &state.as_str(), &prog_flusso, &detail],
            )
            .await
            .map_err(|e| self.err(&e))?;
        if n == 0 {
            return Err(OutboxError::NotFound(id));
        }
        Ok(())
    }

    async fn save_message(&self, id: i64, msg: &StoredMessage) -> Result<(), OutboxError> {
        let c = self.client().await?;
        match c
            .execute(
                "INSERT INTO siopeplus_outbox_messages (entry_id, kind, location, xml) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (entry_id, kind, location) DO NOTHING",
                &[&id, &msg.kind, &msg.location, &msg.xml],
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => {
                let e = self.db.error(&e);
                if e.sqlstate() == Some("23503") {
                    Err(OutboxError::NotFound(id))
                } else {
                    Err(pg(e))
                }
            }
        }
    }

    async fn messages(&self, id: i64) -> Result<Vec<StoredMessage>, OutboxError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT kind, location, xml FROM siopeplus_outbox_messages WHERE entry_id = $1 ORDER BY seq",
                &[&id],
            )
            .await
            .map_err(|e| self.err(&e))?;
        Ok(rows
            .iter()
            .map(|r| StoredMessage {
                kind: r.get(0),
                location: r.get(1),
                xml: r.get(2),
            })
            .collect())
    }

    async fn orders(&self, id: i64) -> Result<Vec<OrderStatus>, OutboxError> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT r.tipo, r.numero, r.esercizio, r.importo_cents, r.state, r.esito, r.code, r.detail
                   FROM siopeplus_outbox_orders r JOIN siopeplus_outbox o ON o.id = r.entry_id
                  WHERE r.entry_id = $1 AND o.channel = $2 ORDER BY r.seq",
                &[&id, &self.channel],
            )
            .await
            .map_err(|e| self.err(&e))?;
        rows.iter()
            .map(|r| {
                let tipo: String = r.get(0);
                let numero: i64 = r.get(1);
                let esercizio: i32 = r.get(2);
                let importo: Option<i64> = r.get(3);
                let state: String = r.get(4);
                Ok(OrderStatus {
                    tipo: parse_tipo(&tipo)?,
                    numero: u64::try_from(numero).unwrap_or(0),
                    esercizio: u16::try_from(esercizio).unwrap_or(0),
                    importo: importo
                        .and_then(|a| u64::try_from(a).ok())
                        .map(pa_types::Amount::from_cents),
                    state: OrderState::parse(&state)?,
                    esito: r.get(5),
                    code: r.get(6),
                    detail: r.get(7),
                })
            })
            .collect()
    }

    async fn put_order(&self, id: i64, o: &OrderStatus) -> Result<(), OutboxError> {
        let numero = i64::try_from(o.numero).map_err(|_| OutboxError::Db("order number".into()))?;
        let importo = o.importo.and_then(|a| i64::try_from(a.cents()).ok());
        let c = self.client().await?;
        let n = c
            .execute(
                "INSERT INTO siopeplus_outbox_orders
                     (entry_id, tipo, numero, esercizio, importo_cents, state, esito, code, detail)
                 SELECT id, $2, $3, $4, $5, $6, $7, $8, $9 FROM siopeplus_outbox
                  WHERE id = $1 AND channel = $10
                 ON CONFLICT (entry_id, tipo, numero) DO UPDATE SET
                     esercizio = EXCLUDED.esercizio,
                     importo_cents = COALESCE(EXCLUDED.importo_cents, siopeplus_outbox_orders.importo_cents),
                     state = EXCLUDED.state, esito = EXCLUDED.esito, code = EXCLUDED.code,
                     detail = EXCLUDED.detail, updated_at = now()",
                &[
                    &id,
                    &tipo_str(o.tipo),
                    &numero,
                    &i32::from(o.esercizio),
                    &importo,
                    &o.state.as_str(),
                    &o.esito,
                    &o.code,
                    &o.detail,
                    &self.channel,
                ],
            )
            .await
            .map_err(|e| self.err(&e))?;
        if n == 0 {
            return Err(OutboxError::NotFound(id));
        }
        Ok(())
    }

    async fn recent_entries(&self, limit: usize) -> Result<Vec<OutboxEntry>, OutboxError> {
        let c = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = c
            .query(
                &format!(
                    "SELECT {COLS} FROM siopeplus_outbox WHERE channel = $1 ORDER BY id DESC LIMIT $2"
                ),
                &[&self.channel, &limit],
            )
            .await
            .map_err(|e| self.err(&e))?;
        rows.iter().map(to_entry).collect()
    }

    async fn claim(
        &self,
        owner: &str,
        lease: Duration,
        after_id: i64,
        limit: usize,
    ) -> Result<Vec<OutboxEntry>, OutboxError> {
        let c = self.client().await?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        // Rows another instance is claiming right now are skipped, not waited for; a row
        // whose claim committed meanwhile is re-checked against the lease condition.
        let rows = c
            .query(
                &format!(
                    "UPDATE siopeplus_outbox o
                        SET lease_owner = $2, lease_until = now() + make_interval(secs => $3)
                       FROM (SELECT id FROM siopeplus_outbox
                              WHERE channel = $5 AND {OPEN} AND id > $1
                                AND (lease_owner IS NULL OR lease_owner = $2
                                     OR lease_until IS NULL OR lease_until <= now())
                              ORDER BY id LIMIT $4
                              FOR UPDATE SKIP LOCKED) free
                      WHERE o.id = free.id
                  RETURNING o.id, o.identificativo_flusso, o.state, o.prog_flusso,
                            o.attempted_at, o.attempts, o.detail"
                ),
                &[&after_id, &owner, &secs(lease), &limit, &self.channel],
            )
            .await
            .map_err(|e| self.err(&e))?;
        let mut v = rows.iter().map(to_entry).collect::<Result<Vec<_>, _>>()?;
        v.sort_by_key(|e| e.id);
        Ok(v)
    }

    async fn renew(&self, id: i64, owner: &str, lease: Duration) -> Result<bool, OutboxError> {
        let c = self.client().await?;
        let n = c
            .execute(
                "UPDATE siopeplus_outbox SET lease_until = now() + make_interval(secs => $3)
                  WHERE id = $1 AND lease_owner = $2",
                &[&id, &owner, &secs(lease)],
            )
            .await
            .map_err(|e| self.err(&e))?;
        Ok(n > 0)
    }

    async fn release(&self, id: i64, owner: &str) -> Result<(), OutboxError> {
        let c = self.client().await?;
        c.execute(
            "UPDATE siopeplus_outbox SET lease_owner = NULL, lease_until = NULL
              WHERE id = $1 AND lease_owner = $2",
            &[&id, &owner],
        )
        .await
        .map_err(|e| self.err(&e))?;
        Ok(())
    }
}
