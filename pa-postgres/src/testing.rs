//! Test support: a fresh database per test on the server named by `PA_TEST_POSTGRES_URL`.
//!
//! `.ci/run` starts a throw-away cluster and exports `PA_TEST_POSTGRES_URL`. Without it a
//! PostgreSQL test is skipped with a message, except when `CI` is set: then it fails.

use crate::{Database, DbError, Options};

/// The environment variable naming the test server (a URL whose user may create databases).
pub const ENV: &str = "PA_TEST_POSTGRES_URL";

/// The test server's URL, or `None` (with a message on stderr) when it is not configured.
///
/// # Panics
/// When `CI` is set and [`ENV`] is not: PostgreSQL tests are required in CI.
#[must_use]
pub fn server_url() -> Option<String> {
    match std::env::var(ENV) {
        Ok(u) if !u.is_empty() => Some(u),
        _ => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{ENV} is not set, and PostgreSQL tests are required with CI set"
            );
            eprintln!("skipping: {ENV} is not set (PostgreSQL tests need a server)");
            None
        }
    }
}

fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    // postgres://user@host:port/db -> replace the path after the authority.
    let after_scheme = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[after_scheme..]
        .find('/')
        .map_or(base.len(), |i| after_scheme + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Creates an empty database with a unique name on the test server and returns its URL, or
/// `None` when no server is configured (see [`server_url`]).
///
/// # Errors
/// When the server refuses.
pub async fn fresh_database() -> Result<Option<String>, DbError> {
    let Some(url) = server_url() else {
        return Ok(None);
    };
    let admin = Database::connect_with(
        &url,
        Options {
            max_connections: 1,
            ..Options::default()
        },
    )
    .await?;
    let name = format!("pa_test_{}", uuid::Uuid::new_v4().simple());
    let client = admin.client().await?;
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .map_err(admin.query_error())?;
    Ok(Some(with_database(&url, &name)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_is_replaced_in_the_url() {
        assert_eq!(
            super::with_database("postgres://u@127.0.0.1:5433/postgres?sslmode=disable", "x"),
            "postgres://u@127.0.0.1:5433/x?sslmode=disable"
        );
        assert_eq!(
            super::with_database("postgres://u@h", "x"),
            "postgres://u@h/x"
        );
    }
}
