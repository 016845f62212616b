//! `pa db`: the PostgreSQL schema of the shared-state deployment.

use std::process::ExitCode;

use clap::Subcommand;
use pa_postgres::{Database, Migrations};

/// `pa db ...`
#[derive(Debug, Subcommand)]
pub(crate) enum Db {
    /// Apply every crate's schema migrations (idempotent; safe while other instances start).
    Migrate {
        /// `postgres://user[:password]@host[:port]/database[?sslmode=require[&sslrootcert=ca.pem]]`
        #[arg(long)]
        database_url: String,
        /// Only this component (crate name); repeatable. Default: all.
        #[arg(long = "component")]
        components: Vec<String>,
    },
    /// Show the applied migrations, per component.
    Status {
        /// As for `migrate`.
        #[arg(long)]
        database_url: String,
    },
}

/// Every component with a PostgreSQL schema, in the order they are applied.
fn all() -> Vec<Migrations> {
    vec![
        pagopa::PG_MIGRATIONS,
        appio::PG_MIGRATIONS,
        siopeplus::PG_MIGRATIONS,
        protocollo::PG_MIGRATIONS,
    ]
}

pub(crate) fn run(cmd: Db) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("pa db: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(async move {
        match cmd {
            Db::Migrate {
                database_url,
                components,
            } => migrate(&database_url, &components).await,
            Db::Status { database_url } => status(&database_url).await,
        }
    })
}

async fn migrate(url: &str, only: &[String]) -> ExitCode {
    let known = all();
    for c in only {
        if !known.iter().any(|m| m.component == c) {
            let names: Vec<&str> = known.iter().map(|m| m.component).collect();
            eprintln!(
                "pa db migrate: unknown component {c:?} (known: {})",
                names.join(", ")
            );
            return ExitCode::from(2);
        }
    }
    let db = match Database::connect(url).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("pa db migrate: {e}");
            return ExitCode::FAILURE;
        }
    };
    for m in known
        .iter()
        .filter(|m| only.is_empty() || only.iter().any(|c| c == m.component))
    {
        match db.migrate(m).await {
            Ok(r) if r.applied.is_empty() => {
                println!("{}: up to date (version {})", r.component, r.current);
            }
            Ok(r) => {
                let v: Vec<String> = r.applied.iter().map(u32::to_string).collect();
                println!(
                    "{}: applied {} (now version {})",
                    r.component,
                    v.join(", "),
                    r.current
                );
            }
            Err(e) => {
                eprintln!("pa db migrate: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

async fn status(url: &str) -> ExitCode {
    let db = match Database::connect(url).await {
        Ok(db) => db,
        Err(e) => {
            eprintln!("pa db status: {e}");
            return ExitCode::FAILURE;
        }
    };
    let client = match db.client().await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("pa db status: {e}");
            return ExitCode::FAILURE;
        }
    };
    let rows = match client
        .query(
            "SELECT component, max(version) FROM pa_schema_migrations GROUP BY component",
            &[],
        )
        .await
    {
        Ok(rows) => rows,
        // No table yet: nothing applied.
        Err(e) if e.code().map(|c| c.code()) == Some("42P01") => Vec::new(),
        Err(e) => {
            eprintln!("pa db status: {}", db.error(&e));
            return ExitCode::FAILURE;
        }
    };
    let mut behind = false;
    for m in all() {
        let have = rows
            .iter()
            .find(|r| r.get::<_, String>(0) == m.component)
            .map_or(0, |r| r.get::<_, i32>(1));
        let want = m.steps.len();
        let state = if usize::try_from(have).unwrap_or(0) >= want {
            "up to date"
        } else {
            behind = true;
            "migrations pending"
        };
        println!("{}: version {have} of {want}, {state}", m.component);
    }
    if behind {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
