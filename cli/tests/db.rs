//! `pa db migrate` / `pa db status` against a real PostgreSQL (`PA_TEST_POSTGRES_URL`;
//! required when `CI` is set).
#![allow(clippy::unwrap_used)]

use std::process::{Command, Output};

fn pa(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pa"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[tokio::test]
async fn migrate_from_several_processes_at_once_then_status() {
    let Some(url) = pa_postgres::testing::fresh_database().await.unwrap() else {
        return;
    };
    let st = pa(&["db", "status", "--database-url", &url]);
    assert_eq!(
        st.status.code(),
        Some(1),
        "nothing applied yet: {}",
        text(&st)
    );
    assert!(text(&st).contains("migrations pending"), "{}", text(&st));

    // Four instances start at the same moment and each migrates.
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_pa"))
                .args(["db", "migrate", "--database-url", &url])
                .output()
        })
        .collect();
    let mut applied_lines = 0;
    for c in children {
        let o = c.unwrap();
        assert!(o.status.success(), "{}", text(&o));
        applied_lines += text(&o).matches(": applied ").count();
    }
    // Each component's steps were applied by exactly one of the processes.
    let components = ["pagopa", "appio", "siopeplus", "protocollo"];
    assert!(applied_lines >= 1, "someone applied the migrations");
    let st = pa(&["db", "status", "--database-url", &url]);
    assert!(st.status.success(), "{}", text(&st));
    for c in components {
        assert!(
            text(&st).contains(&format!("{c}: version")),
            "{}",
            text(&st)
        );
    }
    assert!(!text(&st).contains("pending"), "{}", text(&st));

    let db = pa_postgres::Database::connect(&url).await.unwrap();
    let client = db.client().await.unwrap();
    let dup: i64 = client
        .query_one(
            "SELECT count(*) - count(DISTINCT (component, version)) FROM pa_schema_migrations",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(dup, 0);

    let again = pa(&["db", "migrate", "--database-url", &url]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(!text(&again).contains("applied"), "{}", text(&again));
}

#[test]
fn migrate_names_an_unreachable_server_without_its_password() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://ente:Pa55word!@127.0.0.1:{port}/sportello");
    let o = pa(&["db", "migrate", "--database-url", &url]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(
        t.contains(&format!("127.0.0.1:{port}")) && t.contains("sportello"),
        "{t}"
    );
    assert!(!t.contains("Pa55word"), "{t}");
}

#[test]
fn migrate_refuses_unknown_components_and_bad_urls() {
    let o = pa(&[
        "db",
        "migrate",
        "--database-url",
        "postgres://x@127.0.0.1:1/y",
        "--component",
        "nope",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("unknown component \"nope\""),
        "{}",
        text(&o)
    );
    let o = pa(&["db", "migrate", "--database-url", "mysql://x@y/z"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(text(&o).contains("postgres://"), "{}", text(&o));
}
