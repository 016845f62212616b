//! Shared state for many instances (issue 16), all figures from one run:
//!
//! - `shared_state_send_rt`: `paSendRTV2` handled end to end (parse, checks, durable store,
//!   SOAP answer) with receipts on PostgreSQL, against SQLite (WAL, `synchronous=FULL`) and the
//!   in-memory store as references.
//! - `shared_state_iuv`: IUV reservations on PostgreSQL with blocks of 1 (one round trip per
//!   notice) and of 100, against SQLite.
//! - `shared_state_instances`: 64 receipts stored concurrently by one instance, or by two
//!   instances (two services, each with its own connection pool, as two processes behind a load
//!   balancer) sharing one PostgreSQL database.
//!
//! PostgreSQL comes from `PA_TEST_POSTGRES_URL` (`.ci/lib/postgres.sh` starts one); each run
//! gets a fresh database. Without it the PostgreSQL cases are not timed and this says so.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pagopa::node::*;

use benches::node::{UnknownNotices as Host, ec, send_rt_request, station as config};
use pagopa::{
    AsyncIuvAllocator, BlockingAllocator, NoticeNumber, PgSequence, SegregationCode,
    SequenceAllocator, SharedSequenceAllocator, SqliteSequence,
};

fn request(id: &str, n: u64) -> String {
    let notice = NoticeNumber::new_aux3(
        SegregationCode::new(1).expect("01"),
        n % 9_999_999_999_999 + 1,
    )
    .expect("notice");
    send_rt_request(id, notice)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn pg_url(rt: &tokio::runtime::Runtime) -> Option<String> {
    let url = rt
        .block_on(pa_postgres::testing::fresh_database())
        .expect("PostgreSQL");
    if url.is_none() {
        eprintln!("PA_TEST_POSTGRES_URL is not set: the PostgreSQL cases are not timed");
    }
    url
}

static SEQ: AtomicU64 = AtomicU64::new(0);

fn next_id(tag: &str) -> (String, u64) {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    (format!("{tag}{n}"), n)
}

fn send_rt(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let sqlite = PaForNodeService::new(
        config(),
        Host,
        SqliteReceiptStore::open(dir.path().join("receipts.db")).expect("open"),
    );
    let memory = PaForNodeService::new(config(), Host, MemoryReceiptStore::new());
    let pg = pg_url(&rt).map(|url| {
        let store = rt
            .block_on(PgReceiptStore::connect(&url))
            .expect("pg store");
        PaForNodeService::new(config(), Host, store)
    });
    let mut g = c.benchmark_group("shared_state_send_rt");
    g.throughput(Throughput::Elements(1));
    g.sample_size(30);
    if let Some(pg) = &pg {
        g.bench_function("postgres_new_receipt", |b| {
            b.iter(|| {
                let (id, n) = next_id("p");
                let r = rt.block_on(pg.handle(Some("paSendRTV2"), request(&id, n).as_bytes()));
                assert!(r.fault.is_none(), "{:?}", r.fault);
                black_box(r)
            })
        });
    }
    g.bench_function("reference_sqlite_new_receipt", |b| {
        b.iter(|| {
            let (id, n) = next_id("s");
            let r = rt.block_on(sqlite.handle(Some("paSendRTV2"), request(&id, n).as_bytes()));
            assert!(r.fault.is_none());
            black_box(r)
        })
    });
    g.bench_function("reference_memory_store", |b| {
        b.iter(|| {
            let (id, n) = next_id("m");
            black_box(rt.block_on(memory.handle(Some("paSendRTV2"), request(&id, n).as_bytes())))
        })
    });
    g.finish();
}

fn iuv(c: &mut Criterion) {
    let rt = runtime();
    let dir = tempfile::tempdir().expect("tempdir");
    let seg = SegregationCode::new(1).expect("01");
    let creditor = ec();
    let sqlite = BlockingAllocator::new(SequenceAllocator::new(
        SqliteSequence::open(dir.path().join("iuv.db")).expect("open"),
    ));
    let mut g = c.benchmark_group("shared_state_iuv");
    g.throughput(Throughput::Elements(1));
    g.sample_size(30);
    if let Some(url) = pg_url(&rt) {
        let one = rt
            .block_on(PgSequence::connect(&url))
            .map(SharedSequenceAllocator::new)
            .expect("pg sequence");
        let hundred = rt
            .block_on(PgSequence::connect(&url))
            .map(|s| SharedSequenceAllocator::new(s).with_block_size(100))
            .expect("pg sequence");
        g.bench_function("postgres_block_1", |b| {
            b.iter(|| black_box(rt.block_on(one.allocate(&creditor, seg)).expect("iuv")))
        });
        g.bench_function("postgres_block_100", |b| {
            b.iter(|| black_box(rt.block_on(hundred.allocate(&creditor, seg)).expect("iuv")))
        });
    }
    g.bench_function("reference_sqlite", |b| {
        b.iter(|| black_box(rt.block_on(sqlite.allocate(&creditor, seg)).expect("iuv")))
    });
    g.finish();
}

/// Stores `total` receipts concurrently, spread round-robin over `services`.
async fn burst<S: ReceiptStore + 'static>(
    services: &[Arc<PaForNodeService<Host, S>>],
    total: usize,
) -> Duration {
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let s = Arc::clone(&services[i % services.len()]);
        let (id, n) = next_id("b");
        tasks.push(tokio::spawn(async move {
            let r = s
                .handle(Some("paSendRTV2"), request(&id, n).as_bytes())
                .await;
            assert!(r.fault.is_none(), "{:?}", r.fault);
        }));
    }
    for t in tasks {
        t.await.expect("task");
    }
    start.elapsed()
}

fn instances(c: &mut Criterion) {
    const BURST: usize = 64;
    let rt = runtime();
    let Some(url) = pg_url(&rt) else {
        return;
    };
    let service = || {
        let store = rt
            .block_on(PgReceiptStore::connect(&url))
            .expect("pg store");
        Arc::new(PaForNodeService::new(config(), Host, store))
    };
    let one = vec![service()];
    let two = vec![service(), service()];
    let mut g = c.benchmark_group("shared_state_instances");
    g.throughput(Throughput::Elements(BURST as u64));
    g.sample_size(20);
    g.bench_function("two_instances", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| rt.block_on(burst(&two, BURST))).sum())
    });
    g.bench_function("reference_one_instance", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| rt.block_on(burst(&one, BURST))).sum())
    });
    g.finish();
}

criterion_group!(benches, send_rt, iuv, instances);
criterion_main!(benches);
