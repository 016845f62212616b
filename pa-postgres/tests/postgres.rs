//! Against a real PostgreSQL server (`PA_TEST_POSTGRES_URL`; required when `CI` is set).

use pa_postgres::testing::fresh_database;
use pa_postgres::{Database, DbError, Migration, Migrations, Options};

const M1: Migrations = Migrations::new(
    "pa-postgres-test",
    &[
        Migration::new(
            1,
            "counter",
            "CREATE TABLE t_counter (k TEXT PRIMARY KEY, n BIGINT NOT NULL)",
        ),
        Migration::new(2, "seed", "INSERT INTO t_counter VALUES ('a', 0)"),
    ],
);

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn migrations_apply_once_when_many_instances_start_together() -> Result<(), DbError> {
    let Some(url) = fresh_database().await? else {
        return Ok(());
    };
    // Eight "instances", each with its own pool, migrate at the same moment.
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let db = Database::connect(&url).await?;
            db.migrate(&M1).await
        }));
    }
    let mut applied = Vec::new();
    for t in tasks {
        let report = t.await.expect("task")?;
        assert_eq!(report.current, 2);
        applied.extend(report.applied);
    }
    applied.sort_unstable();
    assert_eq!(
        applied,
        vec![1, 2],
        "each step applied by exactly one instance"
    );
    let db = Database::connect(&url).await?;
    let c = db.client().await?;
    let rows = c
        .query("SELECT n FROM t_counter", &[])
        .await
        .map_err(db.query_error())?;
    assert_eq!(rows.len(), 1, "the seed step ran once");
    // Applying again is a no-op.
    assert!(db.migrate(&M1).await?.applied.is_empty());
    Ok(())
}

#[tokio::test]
async fn a_migration_changed_after_it_was_applied_is_refused() -> Result<(), DbError> {
    let Some(url) = fresh_database().await? else {
        return Ok(());
    };
    let db = Database::connect(&url).await?;
    db.migrate(&M1).await?;
    const CHANGED: Migrations = Migrations::new(
        "pa-postgres-test",
        &[
            Migration::new(1, "counter", "CREATE TABLE t_counter (k TEXT PRIMARY KEY)"),
            Migration::new(2, "seed", "INSERT INTO t_counter VALUES ('a', 0)"),
        ],
    );
    match db.migrate(&CHANGED).await {
        Err(DbError::Migration {
            version: 1, reason, ..
        }) => assert!(reason.contains("changed"), "{reason}"),
        other => panic!("expected a refused migration, got {other:?}"),
    }
    // An older build (fewer steps) than the database is refused too.
    const OLDER: Migrations = Migrations::new(
        "pa-postgres-test",
        &[Migration::new(
            1,
            "counter",
            "CREATE TABLE t_counter (k TEXT PRIMARY KEY, n BIGINT NOT NULL)",
        )],
    );
    assert!(matches!(
        db.migrate(&OLDER).await,
        Err(DbError::Migration { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn a_failing_step_leaves_nothing_applied() -> Result<(), DbError> {
    let Some(url) = fresh_database().await? else {
        return Ok(());
    };
    let db = Database::connect(&url).await?;
    const BAD: Migrations = Migrations::new(
        "pa-postgres-bad",
        &[
            Migration::new(1, "ok", "CREATE TABLE t_ok (x INT)"),
            Migration::new(2, "broken", "CREATE TABLE t_bad (x NOSUCHTYPE)"),
        ],
    );
    match db.migrate(&BAD).await {
        Err(DbError::Migration {
            version: 2, reason, ..
        }) => assert!(reason.contains("nosuchtype"), "{reason}"),
        other => panic!("expected step 2 to fail, got {other:?}"),
    }
    let c = db.client().await?;
    let n: i64 = c
        .query_one(
            "SELECT count(*) FROM pg_tables WHERE tablename = 't_ok'",
            &[],
        )
        .await
        .map_err(db.query_error())?
        .get(0);
    assert_eq!(n, 0, "step 1 rolled back with step 2");
    const GAP: Migrations =
        Migrations::new("pa-postgres-gap", &[Migration::new(2, "x", "SELECT 1")]);
    assert!(matches!(
        db.migrate(&GAP).await,
        Err(DbError::Migration { .. })
    ));
    Ok(())
}

#[tokio::test]
async fn a_server_that_is_down_is_named_without_the_password() {
    // A port nobody listens on.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let url = format!("postgres://alice:TopSecret42@127.0.0.1:{port}/sportello");
    let err = Database::connect(&url)
        .await
        .expect_err("nothing listens there");
    let text = err.to_string();
    assert!(matches!(err, DbError::Unreachable { .. }), "{err:?}");
    assert!(err.is_connection());
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    assert!(text.contains("sportello"), "{text}");
    assert!(text.contains("alice"), "{text}");
    assert!(!text.contains("TopSecret42"), "{text}");
    assert!(!format!("{err:?}").contains("TopSecret42"));
}

#[tokio::test]
async fn a_wrong_database_is_reported_with_the_server_code() -> Result<(), DbError> {
    let Some(url) = pa_postgres::testing::server_url() else {
        return Ok(());
    };
    let url = url.replace("/postgres", "/no_such_database_here");
    let err = Database::connect(&url).await.expect_err("no such database");
    let text = err.to_string();
    assert!(
        text.contains("no_such_database_here") && text.contains("3D000"),
        "{text}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_pool_reconnects_after_its_connections_are_killed() -> Result<(), DbError> {
    let Some(url) = fresh_database().await? else {
        return Ok(());
    };
    let db = Database::connect_with(
        &url,
        Options {
            max_connections: 2,
            ..Options::default()
        },
    )
    .await?;
    {
        let c = db.client().await?;
        c.query_one("SELECT 1", &[])
            .await
            .map_err(db.query_error())?;
    }
    // Another session kills every connection of the pool (as a server restart would).
    let killer = Database::connect(&url).await?;
    let k = killer.client().await?;
    k.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
        &[],
    )
    .await
    .map_err(killer.query_error())?;
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // The first use may see the dead connection (a typed connection error) — never a panic;
    // within a couple of attempts the pool has a fresh connection.
    let mut ok = false;
    for _ in 0..3 {
        let c = db.client().await?;
        match c.query_one("SELECT 1", &[]).await {
            Ok(_) => {
                ok = true;
                break;
            }
            Err(e) => assert!(db.error(&e).is_connection(), "{e}"),
        }
    }
    assert!(ok, "the pool did not reconnect");
    Ok(())
}

#[tokio::test]
async fn tls_connection_verifies_the_server_certificate() -> Result<(), DbError> {
    let Some(url) = pa_postgres::testing::server_url() else {
        return Ok(());
    };
    let ca = match std::env::var("PA_TEST_POSTGRES_CA") {
        Ok(ca) => ca,
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "PA_TEST_POSTGRES_CA is required with CI"
            );
            eprintln!("skipping: PA_TEST_POSTGRES_CA not set");
            return Ok(());
        }
    };
    let sep = if url.contains('?') { '&' } else { '?' };
    let db = Database::connect(&format!("{url}{sep}sslmode=require&sslrootcert={ca}")).await?;
    assert!(db.target().tls);
    let c = db.client().await?;
    let ssl: bool = c
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(db.query_error())?
        .get(0);
    assert!(ssl, "the session is encrypted");
    // A server certificate that does not chain to the trusted roots is refused (here: only the
    // webpki roots, which do not include the test CA).
    let err = Database::connect(&format!("{url}{sep}sslmode=require"))
        .await
        .expect_err("untrusted server certificate");
    assert!(err.is_connection(), "{err}");
    Ok(())
}
