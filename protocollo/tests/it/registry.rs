use std::collections::BTreeSet;
use std::process::Command;
use std::sync::Arc;

use chrono::NaiveDate;
use protocollo::*;

fn key() -> RegistroKey {
    RegistroKey::new("c_h501", "A1B2C3D", "PROT".parse().unwrap())
}

#[test]
fn restarts_each_year_and_per_registry() {
    for reg in [
        Box::new(SqliteRegistry::in_memory().unwrap()) as Box<dyn RegistryCounter>,
        Box::new(MemoryRegistry::new()),
    ] {
        let k = key();
        let other = RegistroKey::new("c_h501", "A1B2C3D", "INTERNO".parse().unwrap());
        assert_eq!(reg.last_number(&k, 2025).unwrap(), None);
        assert_eq!(reg.next_number(&k, 2025).unwrap().value(), 1);
        assert_eq!(reg.next_number(&k, 2025).unwrap().value(), 2);
        assert_eq!(reg.next_number(&other, 2025).unwrap().value(), 1);
        assert_eq!(reg.next_number(&k, 2026).unwrap().value(), 1);
        assert_eq!(reg.next_number(&k, 2025).unwrap().value(), 3);
        assert_eq!(reg.last_number(&k, 2025).unwrap().unwrap().value(), 3);
        let id = reg
            .register(&k, NaiveDate::from_ymd_opt(2026, 12, 31).unwrap())
            .unwrap();
        assert_eq!(id.numero_registrazione.to_string(), "0000002");
        let id = reg
            .register(&k, NaiveDate::from_ymd_opt(2027, 1, 1).unwrap())
            .unwrap();
        assert_eq!(id.numero_registrazione.value(), 1);
    }
}

#[test]
fn durable_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reg.sqlite");
    {
        let r = SqliteRegistry::open(&path).unwrap();
        for _ in 0..5 {
            r.next_number(&key(), 2025).unwrap();
        }
    }
    let r = SqliteRegistry::open(&path).unwrap();
    assert_eq!(r.next_number(&key(), 2025).unwrap().value(), 6);
}

#[test]
fn concurrent_threads_never_share_a_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reg.sqlite");
    let shared = Arc::new(SqliteRegistry::open(&path).unwrap());
    let mut handles = Vec::new();
    for t in 0..8 {
        let shared = shared.clone();
        let path = path.clone();
        handles.push(std::thread::spawn(move || {
            // Half the threads share one connection, half open their own (as processes do).
            let own;
            let reg: &dyn RegistryCounter = if t % 2 == 0 {
                &*shared
            } else {
                own = SqliteRegistry::open(&path).unwrap();
                &own
            };
            (0..40)
                .map(|_| reg.next_number(&key(), 2025).unwrap().value())
                .collect::<Vec<_>>()
        }));
    }
    let mut all = BTreeSet::new();
    for h in handles {
        for n in h.join().unwrap() {
            assert!(all.insert(n), "number {n} handed out twice");
        }
    }
    assert_eq!(all, (1..=320).collect());
}

const CHILD_ENV: &str = "PROTOCOLLO_REGISTRY_CHILD_DB";

/// Worker run in child processes by `concurrent_processes_never_share_a_number`.
#[test]
fn registry_child_worker() {
    let Some(path) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    let reg = SqliteRegistry::open(path).unwrap();
    let nums: Vec<String> = (0..30)
        .map(|_| reg.next_number(&key(), 2025).unwrap().value().to_string())
        .collect();
    println!("NUMS:{}", nums.join(","));
}

#[test]
fn concurrent_processes_never_share_a_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reg.sqlite");
    SqliteRegistry::open(&path).unwrap();
    let exe = std::env::current_exe().unwrap();
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(&exe)
                .args([
                    "registry::registry_child_worker",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(CHILD_ENV, &path)
                .stdout(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut all = BTreeSet::new();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let line = text
            .split("NUMS:")
            .nth(1)
            .and_then(|s| s.lines().next())
            .unwrap();
        for n in line.split(',') {
            assert!(
                all.insert(n.parse::<u64>().unwrap()),
                "{n} handed out twice"
            );
        }
    }
    assert_eq!(all, (1..=120).collect());
}
