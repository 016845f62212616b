//! PostgreSQL plumbing shared by the pa-rs stores.
//!
//! The durable stores of the workspace (pagoPA receipts and IUV sequences, the App IO bulk
//! journal, the SIOPE+ outbox, the protocol registers) each have a PostgreSQL backend behind
//! their crate's `postgres` feature. They all sit on this crate:
//!
//! * [`Database`]: a bounded connection pool (deadpool over tokio-postgres) made from a
//!   `postgres://` URL. TLS (rustls, webpki roots plus the `sslrootcert=FILE` or
//!   [`Options::extra_roots_pem`] roots) is used exactly when the URL asks for it with
//!   `sslmode=require` (or `verify-ca` / `verify-full`): the server's chain and host name are
//!   always verified, stricter than libpq's `require`. Otherwise the connection is plain
//!   (`prefer`, the driver's default, does not silently try TLS).
//!   [`Database::connect`] checks one connection at once, so a database that is down at start
//!   is reported then, naming host, port, database and user — never the password.
//!   Connections found closed (server restarted) are dropped and re-opened by the pool.
//! * [`Migrations`]: versioned SQL shipped in each crate, applied in one transaction under a
//!   PostgreSQL advisory lock, so two instances starting at once apply each step once; the
//!   `pa_schema_migrations` table records component, version, name and a SHA-256 of the SQL,
//!   and a step whose SQL changed after it was applied is refused.
//!
//! ```no_run
//! # async fn demo() -> Result<(), pa_postgres::DbError> {
//! use pa_postgres::{Database, Migration, Migrations};
//!
//! const MIGRATIONS: Migrations = Migrations::new(
//!     "example",
//!     &[Migration::new(1, "counters", "CREATE TABLE example_counter (n BIGINT NOT NULL)")],
//! );
//! let db = Database::connect("postgres://pa@127.0.0.1/pa").await?;
//! db.migrate(&MIGRATIONS).await?;
//! let client = db.client().await?;
//! client.execute("INSERT INTO example_counter VALUES (1)", &[]).await.map_err(db.query_error())?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

pub use deadpool_postgres::{Object as Client, Transaction};
pub use tokio_postgres;
use tokio_postgres::config::{Host, SslMode};

#[cfg(feature = "testing")]
pub mod testing;

/// Where a [`Database`] points: everything needed to name it in a message, and no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name, address or socket directory.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Database name.
    pub database: String,
    /// User name.
    pub user: String,
    /// Whether the connection uses TLS.
    pub tls: bool,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}, database {:?} as user {:?}{}",
            self.host,
            self.port,
            self.database,
            self.user,
            if self.tls { " (TLS)" } else { "" }
        )
    }
}

/// Why a database operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    /// The URL is not a usable PostgreSQL connection string.
    #[error("invalid PostgreSQL URL: {0}")]
    Url(String),
    /// TLS was asked for and could not be configured.
    #[error("PostgreSQL TLS configuration: {0}")]
    Tls(String),
    /// No connection could be made (server down, refused, authentication failed, pool
    /// exhausted past its wait timeout).
    #[error("cannot connect to PostgreSQL at {target}: {reason}")]
    Unreachable {
        /// The database.
        target: Arc<Target>,
        /// What the driver said (it never includes the password).
        reason: String,
    },
    /// A statement failed.
    #[error("PostgreSQL error on {target}: {reason}")]
    Query {
        /// The database.
        target: Arc<Target>,
        /// SQLSTATE, when the server sent one.
        code: Option<String>,
        /// The server's or driver's message.
        reason: String,
        /// The connection was lost (the statement's effect is unknown or rolled back).
        connection_lost: bool,
    },
    /// A migration could not be applied.
    #[error("migration {component} v{version} ({name}): {reason}")]
    Migration {
        /// Which crate's migrations.
        component: String,
        /// The step.
        version: u32,
        /// The step's name.
        name: String,
        /// What went wrong.
        reason: String,
    },
}

impl DbError {
    /// The SQLSTATE of a failed statement (`23505` unique violation, `40001` serialization
    /// failure, ...).
    #[must_use]
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            DbError::Query { code, .. } => code.as_deref(),
            _ => None,
        }
    }

    /// The server could not be reached or the connection dropped.
    #[must_use]
    pub fn is_connection(&self) -> bool {
        matches!(
            self,
            DbError::Unreachable { .. }
                | DbError::Query {
                    connection_lost: true,
                    ..
                }
        )
    }

    fn from_pg(target: &Arc<Target>, e: &tokio_postgres::Error) -> DbError {
        let code = e.code().map(|c| c.code().to_owned());
        let reason = match e.as_db_error() {
            Some(db) => format!("{}: {}", db.code().code(), db.message()),
            None => e.to_string(),
        };
        DbError::Query {
            target: Arc::clone(target),
            // Closed by the driver, no server answer at all, or the server ending the session
            // (class 08 connection exception, 57P01..57P05 admin/crash shutdown, idle timeout).
            connection_lost: e.is_closed()
                || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
                || code
                    .as_deref()
                    .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
            code,
            reason,
        }
    }
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct Options {
    /// Most connections open at once (default 16).
    pub max_connections: usize,
    /// How long to wait for a free connection or a new one (default 10 s).
    pub wait_timeout: Duration,
    /// TCP connect timeout (default 5 s).
    pub connect_timeout: Duration,
    /// Extra trusted root certificates (PEM) for `sslmode=require`, beside the webpki roots.
    pub extra_roots_pem: Option<Vec<u8>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_connections: 16,
            wait_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            extra_roots_pem: None,
        }
    }
}

/// A bounded pool of connections to one PostgreSQL database. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pool: deadpool_postgres::Pool,
    target: Arc<Target>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Database")
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

fn target_of(cfg: &tokio_postgres::Config, tls: bool) -> Target {
    let host = match cfg.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    let user = cfg.get_user().unwrap_or("").to_owned();
    let database = cfg.get_dbname().unwrap_or(user.as_str()).to_owned();
    Target {
        host,
        port,
        database,
        user,
        tls,
    }
}

/// Removes `sslrootcert=...` (which tokio-postgres does not know) from a URL's query, returning
/// the path it named.
fn take_sslrootcert(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut kept = Vec::new();
    let mut root = None;
    for part in query.split('&') {
        match part.strip_prefix("sslrootcert=") {
            Some(p) => root = Some(p.to_owned()),
            // The driver knows disable/prefer/require; with rustls `require` always verifies
            // the chain and the host name, which is what libpq's verify-full means.
            None if part == "sslmode=verify-full" || part == "sslmode=verify-ca" => {
                kept.push("sslmode=require");
            }
            None => kept.push(part),
        }
    }
    if kept.is_empty() {
        (base.to_owned(), root)
    } else {
        (format!("{base}?{}", kept.join("&")), root)
    }
}

fn rustls_connector(
    extra: Option<&[u8]>,
) -> Result<tokio_postgres_rustls::MakeRustlsConnect, DbError> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(pem) = extra {
        let mut n = 0;
        for c in CertificateDer::pem_slice_iter(pem) {
            let c = c.map_err(|e| DbError::Tls(format!("root certificate PEM: {e}")))?;
            roots
                .add(c)
                .map_err(|e| DbError::Tls(format!("root certificate: {e}")))?;
            n += 1;
        }
        if n == 0 {
            return Err(DbError::Tls("no certificate in the root PEM".into()));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| DbError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

impl Database {
    /// A pool for `url` with default [`Options`], checked by opening one connection.
    ///
    /// # Errors
    /// [`DbError::Url`], [`DbError::Tls`], or [`DbError::Unreachable`] naming the server when
    /// no connection can be made.
    pub async fn connect(url: &str) -> Result<Database, DbError> {
        Self::connect_with(url, Options::default()).await
    }

    /// A pool for `url`, checked by opening one connection.
    ///
    /// # Errors
    /// As [`Database::connect`].
    pub async fn connect_with(url: &str, options: Options) -> Result<Database, DbError> {
        let db = Self::lazy(url, options)?;
        drop(db.client().await?);
        Ok(db)
    }

    /// A pool for `url` that opens connections only when asked for one.
    ///
    /// # Errors
    /// [`DbError::Url`], [`DbError::Tls`].
    pub fn lazy(url: &str, options: Options) -> Result<Database, DbError> {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(DbError::Url(
                "expected a postgres:// or postgresql:// URL".into(),
            ));
        }
        let (url, root_path) = take_sslrootcert(url);
        let mut cfg: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| DbError::Url(e.to_string()))?;
        cfg.connect_timeout(options.connect_timeout);
        if cfg.get_application_name().is_none() {
            cfg.application_name("pa-rs");
        }
        let tls = cfg.get_ssl_mode() == SslMode::Require;
        let target = Arc::new(target_of(&cfg, tls));
        let manager_config = deadpool_postgres::ManagerConfig {
            recycling_method: deadpool_postgres::RecyclingMethod::Fast,
        };
        let manager = if tls {
            let extra = match (&options.extra_roots_pem, root_path) {
                (Some(p), _) => Some(p.clone()),
                (None, Some(path)) => Some(
                    std::fs::read(&path)
                        .map_err(|e| DbError::Tls(format!("sslrootcert {path}: {e}")))?,
                ),
                (None, None) => None,
            };
            deadpool_postgres::Manager::from_config(
                cfg,
                rustls_connector(extra.as_deref())?,
                manager_config,
            )
        } else {
            // Plain TCP: also for `sslmode=prefer` (the driver's default), which would
            // otherwise try TLS first; TLS is used when the URL requires it.
            cfg.ssl_mode(SslMode::Disable);
            deadpool_postgres::Manager::from_config(cfg, tokio_postgres::NoTls, manager_config)
        };
        let pool = deadpool_postgres::Pool::builder(manager)
            .max_size(options.max_connections.max(1))
            .runtime(deadpool_postgres::Runtime::Tokio1)
            .wait_timeout(Some(options.wait_timeout))
            .create_timeout(Some(options.connect_timeout))
            .recycle_timeout(Some(options.connect_timeout))
            .build()
            .map_err(|e| DbError::Url(e.to_string()))?;
        Ok(Database { pool, target })
    }

    /// Where this pool connects.
    #[must_use]
    pub fn target(&self) -> &Target {
        &self.target
    }

    /// A connection from the pool (opened if needed).
    ///
    /// # Errors
    /// [`DbError::Unreachable`].
    pub async fn client(&self) -> Result<Client, DbError> {
        self.pool.get().await.map_err(|e| {
            let reason = match &e {
                deadpool_postgres::PoolError::Backend(pg) => match pg.as_db_error() {
                    Some(db) => format!("{}: {}", db.code().code(), db.message()),
                    None => {
                        let mut s = pg.to_string();
                        let mut src = std::error::Error::source(pg);
                        while let Some(inner) = src {
                            s.push_str(": ");
                            s.push_str(&inner.to_string());
                            src = inner.source();
                        }
                        s
                    }
                },
                other => other.to_string(),
            };
            DbError::Unreachable {
                target: Arc::clone(&self.target),
                reason,
            }
        })
    }

    /// A closure turning a driver error into a [`DbError`] naming this database (for
    /// `map_err`).
    pub fn query_error(&self) -> impl Fn(tokio_postgres::Error) -> DbError + '_ {
        move |e| DbError::from_pg(&self.target, &e)
    }

    /// Converts a driver error.
    #[must_use]
    pub fn error(&self, e: &tokio_postgres::Error) -> DbError {
        DbError::from_pg(&self.target, e)
    }

    /// Applies the steps of `migrations` that are not applied yet (see [`Migrations`]).
    ///
    /// # Errors
    /// [`DbError::Migration`] when a step fails or was changed after it was applied;
    /// connection errors.
    pub async fn migrate(&self, migrations: &Migrations) -> Result<MigrateReport, DbError> {
        migrations.apply(self).await
    }
}

/// One versioned step of a crate's schema.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// Version, increasing from 1 without gaps.
    pub version: u32,
    /// Short name.
    pub name: &'static str,
    /// The SQL (several statements allowed).
    pub sql: &'static str,
}

impl Migration {
    /// A step.
    #[must_use]
    pub const fn new(version: u32, name: &'static str, sql: &'static str) -> Self {
        Migration { version, name, sql }
    }
}

/// The migrations of one component (crate), applied in version order.
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    /// Component name (recorded in `pa_schema_migrations`).
    pub component: &'static str,
    /// The steps, in version order.
    pub steps: &'static [Migration],
}

/// What [`Database::migrate`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrateReport {
    /// The component.
    pub component: &'static str,
    /// Versions applied by this call.
    pub applied: Vec<u32>,
    /// The schema version after the call.
    pub current: u32,
}

/// The advisory lock every migration run takes ("pa-rs mig" in ASCII).
const MIGRATION_LOCK: i64 = 0x7061_2d72_736d_6967;

fn checksum(sql: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, sql.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

impl Migrations {
    /// A component's migrations.
    #[must_use]
    pub const fn new(component: &'static str, steps: &'static [Migration]) -> Self {
        Migrations { component, steps }
    }

    async fn apply(&self, db: &Database) -> Result<MigrateReport, DbError> {
        let fail = |m: &Migration, reason: String| DbError::Migration {
            component: self.component.to_owned(),
            version: m.version,
            name: m.name.to_owned(),
            reason,
        };
        for (i, m) in self.steps.iter().enumerate() {
            if m.version as usize != i + 1 {
                return Err(fail(m, format!("expected version {}", i + 1)));
            }
        }
        let mut client = db.client().await?;
        let tx = client.transaction().await.map_err(db.query_error())?;
        // One migrator at a time across every instance; released at commit or rollback.
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await
            .map_err(db.query_error())?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS pa_schema_migrations (
                component  TEXT NOT NULL,
                version    INTEGER NOT NULL,
                name       TEXT NOT NULL,
                checksum   TEXT NOT NULL,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
                PRIMARY KEY (component, version)
            )",
        )
        .await
        .map_err(db.query_error())?;
        let rows = tx
            .query(
                "SELECT version, checksum FROM pa_schema_migrations WHERE component = $1",
                &[&self.component],
            )
            .await
            .map_err(db.query_error())?;
        let mut done = std::collections::BTreeMap::new();
        for r in rows {
            let v: i32 = r.get(0);
            let c: String = r.get(1);
            done.insert(v, c);
        }
        let mut applied = Vec::new();
        for m in self.steps {
            let sum = checksum(m.sql);
            let v = i32::try_from(m.version).map_err(|e| fail(m, e.to_string()))?;
            match done.get(&v) {
                Some(c) if *c == sum => continue,
                Some(_) => {
                    return Err(fail(
                        m,
                        "its SQL changed after it was applied (checksum differs)".into(),
                    ));
                }
                None => {}
            }
            tx.batch_execute(m.sql)
                .await
                .map_err(|e| fail(m, db.error(&e).to_string()))?;
            tx.execute(
                "INSERT INTO pa_schema_migrations (component, version, name, checksum)
                 VALUES ($1, $2, $3, $4)",
                &[&self.component, &v, &m.name, &sum],
            )
            .await
            .map_err(db.query_error())?;
            applied.push(m.version);
        }
        if let Some(max) = done.keys().max()
            && usize::try_from(*max).unwrap_or(usize::MAX) > self.steps.len()
        {
            return Err(DbError::Migration {
                component: self.component.to_owned(),
                version: u32::try_from(*max).unwrap_or(0),
                name: String::new(),
                reason: "the database has a newer schema than this build knows".into(),
            });
        }
        tx.commit().await.map_err(db.query_error())?;
        Ok(MigrateReport {
            component: self.component,
            applied,
            current: u32::try_from(self.steps.len()).unwrap_or(u32::MAX),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslrootcert_is_taken_out_of_the_query() {
        let (u, r) = take_sslrootcert("postgres://a@h/db?sslmode=require&sslrootcert=/x/ca.pem");
        assert_eq!(u, "postgres://a@h/db?sslmode=require");
        assert_eq!(r.as_deref(), Some("/x/ca.pem"));
        let (u, _) = take_sslrootcert("postgres://a@h/db?sslmode=verify-full");
        assert_eq!(u, "postgres://a@h/db?sslmode=require");
        let (u, r) = take_sslrootcert("postgres://a@h/db");
        assert_eq!(u, "postgres://a@h/db");
        assert_eq!(r, None);
    }

    #[test]
    fn target_never_shows_the_password() {
        let db = Database::lazy(
            "postgres://alice:s3cret@db.example:6543/sportello",
            Options::default(),
        )
        .expect("lazy pool");
        let shown = format!("{} {:?}", db.target(), db);
        assert!(shown.contains("db.example:6543"), "{shown}");
        assert!(shown.contains("sportello"), "{shown}");
        assert!(!shown.contains("s3cret"), "{shown}");
    }

    #[test]
    fn non_postgres_urls_are_refused() {
        assert!(matches!(
            Database::lazy("mysql://x@y/z", Options::default()),
            Err(DbError::Url(_))
        ));
    }
}
