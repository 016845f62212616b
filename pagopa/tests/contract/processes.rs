//! Several processes on one PostgreSQL database: IUV reservations from every process and task
//! never overlap (blocks of 1 and of 7), and receipts that every process receives at once are
//! stored once (exactly one process is told `Stored` for each).
//!
//! The children are this test binary run again (`--exact processes::child`) with
//! `PAGOPA_PG_CHILD` set; without it that entry returns at once.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use pagopa::node::{PgReceiptStore, PutOutcome, ReceiptStore};
use pagopa::{AsyncIuvAllocator, PgSequence, SegregationCode, SharedSequenceAllocator};

use crate::{EC, org, receipt};

const PROCESSES: usize = 3;
const TASKS: usize = 4;
const EACH: usize = 25;
const RECEIPTS: u64 = 40;

/// Child entry point: reserves notices from `TASKS` tasks and puts the shared receipts, one
/// line per result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child() {
    let Ok(url) = std::env::var("PAGOPA_PG_CHILD") else {
        return;
    };
    let block: u64 = std::env::var("PAGOPA_PG_BLOCK").unwrap().parse().unwrap();
    let alloc = Arc::new(
        SharedSequenceAllocator::new(PgSequence::connect(&url).await.unwrap())
            .with_block_size(block),
    );
    let store = Arc::new(PgReceiptStore::connect(&url).await.unwrap());
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let alloc = Arc::clone(&alloc);
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..EACH {
                got.push(
                    alloc
                        .allocate(&org(EC), SegregationCode::new(1).unwrap())
                        .await
                        .unwrap(),
                );
            }
            got
        }));
    }
    let puts: Vec<_> = (1..=RECEIPTS)
        .map(|i| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let r = receipt(EC, i, &format!("rt-{i}"), Some(crate::day(5)));
                (i, store.put(&r).await.unwrap())
            })
        })
        .collect();
    // On a line of its own: the harness has printed "test ... " without a newline.
    let mut out = String::from("\n");
    for t in tasks {
        for n in t.await.unwrap() {
            out.push_str(&format!("NOTICE {n}\n"));
        }
    }
    for p in puts {
        let (i, outcome) = p.await.unwrap();
        let tag = match outcome {
            PutOutcome::Stored => "stored",
            PutOutcome::Duplicate => "duplicate",
        };
        out.push_str(&format!("PUT {i} {tag}\n"));
    }
    print!("{out}");
}

async fn run_children(url: &str, block: u64) -> Vec<String> {
    let mut children = Vec::new();
    for _ in 0..PROCESSES {
        children.push(
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "--exact",
                    "processes::child",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env("PAGOPA_PG_CHILD", url)
                .env("PAGOPA_PG_BLOCK", block.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        );
    }
    let mut lines = Vec::new();
    for c in children {
        // Read each child's output off the runtime, with a deadline: a stuck child fails the
        // test instead of hanging it.
        let out = tokio::time::timeout(
            Duration::from_secs(120),
            tokio::task::spawn_blocking(move || c.wait_with_output().unwrap()),
        )
        .await
        .expect("a child process did not finish")
        .unwrap();
        assert!(out.status.success(), "child failed: {:?}", out.status);
        lines.extend(
            String::from_utf8(out.stdout)
                .unwrap()
                .lines()
                .map(str::to_owned),
        );
    }
    lines
}

async fn processes_never_collide(block: u64) {
    let Some(url) = crate::pg_url().await else {
        return;
    };
    let lines = run_children(&url, block).await;
    let notices: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("NOTICE "))
        .collect();
    assert_eq!(notices.len(), PROCESSES * TASKS * EACH);
    let distinct: BTreeSet<&str> = notices.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        notices.len(),
        "a notice number was given twice"
    );
    // Every receipt: stored by exactly one process, a duplicate for the others.
    let mut stored: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
    for l in lines.iter().filter_map(|l| l.strip_prefix("PUT ")) {
        let (i, tag) = l.split_once(' ').unwrap();
        let e = stored.entry(i.parse().unwrap()).or_default();
        match tag {
            "stored" => e.0 += 1,
            "duplicate" => e.1 += 1,
            other => panic!("{other}"),
        }
    }
    assert_eq!(stored.len(), RECEIPTS as usize);
    for (i, (s, d)) in &stored {
        assert_eq!((*s, *d), (1, PROCESSES - 1), "receipt {i}");
    }
    let store = PgReceiptStore::connect(&url).await.unwrap();
    assert_eq!(store.count().await.unwrap(), RECEIPTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_reserving_one_at_a_time_never_collide() {
    processes_never_collide(1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_reserving_blocks_never_collide() {
    processes_never_collide(7).await;
}
