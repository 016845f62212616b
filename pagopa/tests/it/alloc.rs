use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use pa_types::OrganizationFiscalCode;
use pagopa::{
    AllocError, IuvAllocator, MAX_BASE13, MemorySequence, NoticeNumber, SegregationCode,
    SequenceAllocator, SequenceBackend, SequenceKey, SqliteSequence,
};

const ENV_DB: &str = "PAGOPA_ALLOC_CHILD_DB";
const ENV_OUT: &str = "PAGOPA_ALLOC_CHILD_OUT";
const ENV_MODE: &str = "PAGOPA_ALLOC_CHILD_MODE";
const ENV_COUNT: &str = "PAGOPA_ALLOC_CHILD_COUNT";
const ENV_BLOCK: &str = "PAGOPA_ALLOC_CHILD_BLOCK";

fn creditor() -> OrganizationFiscalCode {
    "80016350821".parse().unwrap()
}

fn seg(n: u8) -> SegregationCode {
    SegregationCode::new(n).unwrap()
}

/// Allocates `count` notice numbers from `threads` threads, each with its own connection.
fn allocate_threads(db: &Path, threads: usize, count: usize, block: u64) -> Vec<NoticeNumber> {
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let db = db.to_path_buf();
            std::thread::spawn(move || {
                let alloc = SequenceAllocator::new(SqliteSequence::open(&db).unwrap())
                    .with_block_size(block);
                (0..count)
                    .map(|_| alloc.allocate(&creditor(), seg(1)).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect()
}

/// Not a test by itself: the body of the child processes spawned by the tests below (it does
/// nothing unless the parent set the environment).
#[test]
fn child_process_worker() {
    let Ok(db) = std::env::var(ENV_DB) else {
        return;
    };
    let out = PathBuf::from(std::env::var(ENV_OUT).unwrap());
    let count: usize = std::env::var(ENV_COUNT).unwrap().parse().unwrap();
    let block: u64 = std::env::var(ENV_BLOCK).unwrap().parse().unwrap();
    match std::env::var(ENV_MODE).unwrap().as_str() {
        "batch" => {
            let got = allocate_threads(Path::new(&db), 2, count, block);
            let text: String = got.iter().map(|n| format!("{n}\n")).collect();
            std::fs::write(out, text).unwrap();
        }
        "forever" => {
            // Record every number as soon as allocate() returns it, until killed.
            let alloc = SequenceAllocator::new(SqliteSequence::open(&db).unwrap());
            let mut f = std::fs::File::create(out).unwrap();
            loop {
                let n = alloc.allocate(&creditor(), seg(1)).unwrap();
                writeln!(f, "{n}").unwrap();
                f.flush().unwrap();
            }
        }
        other => panic!("unknown mode {other}"),
    }
}

fn spawn_child(db: &Path, out: &Path, mode: &str, count: usize, block: u64) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "alloc::child_process_worker",
            "--exact",
            "--test-threads=1",
            "--quiet",
        ])
        .env(ENV_DB, db)
        .env(ENV_OUT, out)
        .env(ENV_MODE, mode)
        .env(ENV_COUNT, count.to_string())
        .env(ENV_BLOCK, block.to_string())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn read_numbers(path: &Path) -> Vec<NoticeNumber> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| l.len() == 18) // a killed writer may leave a partial last line
        .map(|l| l.parse().unwrap())
        .collect()
}

#[test]
fn processes_and_threads_allocating_concurrently_never_collide() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("iuv.sqlite");
    const PER_THREAD: usize = 120;
    // 4 processes x 2 threads, half of them reserving blocks of 7, plus 2 threads here.
    let children: Vec<_> = (0..4)
        .map(|i| {
            let out = dir.path().join(format!("out{i}.txt"));
            let block = if i % 2 == 0 { 1 } else { 7 };
            (spawn_child(&db, &out, "batch", PER_THREAD, block), out)
        })
        .collect();
    let mut all = allocate_threads(&db, 2, PER_THREAD, 1);
    for (mut child, out) in children {
        assert!(child.wait().unwrap().success());
        let got = read_numbers(&out);
        assert_eq!(got.len(), 2 * PER_THREAD);
        all.extend(got);
    }
    assert_eq!(all.len(), 10 * PER_THREAD);
    let unique: BTreeSet<_> = all.iter().map(NoticeNumber::as_str).collect();
    assert_eq!(unique.len(), all.len(), "duplicate IUVs handed out");
    for n in &all {
        assert_eq!(n.segregation_code(), Some(seg(1)));
        n.iuv().verify_as(pagopa::AuxDigit::Three, None).unwrap();
    }
    // Every reservation is accounted for: the counter is past every value handed out.
    let seq = SqliteSequence::open(&db).unwrap();
    let max = all.iter().map(NoticeNumber::base).max().unwrap();
    assert!(
        seq.peek_next(&SequenceKey::new(creditor(), seg(1)))
            .unwrap()
            > max
    );
}

#[test]
fn a_killed_process_never_causes_reuse() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("iuv.sqlite");
    let out = dir.path().join("killed.txt");
    let mut child = spawn_child(&db, &out, "forever", 0, 1);
    let start = Instant::now();
    loop {
        let n = std::fs::read_to_string(&out)
            .map(|s| s.lines().count())
            .unwrap_or(0);
        if n >= 40 {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "child too slow");
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap(); // SIGKILL: no destructors, no clean shutdown
    child.wait().unwrap();
    let before: BTreeSet<_> = read_numbers(&out).into_iter().collect();
    assert!(before.len() >= 40);
    let alloc = SequenceAllocator::new(SqliteSequence::open(&db).unwrap());
    let max_before = before.iter().map(NoticeNumber::base).max().unwrap();
    for _ in 0..50 {
        let n = alloc.allocate(&creditor(), seg(1)).unwrap();
        assert!(!before.contains(&n), "{n} handed out twice");
        assert!(n.base() > max_before);
    }
}

#[test]
fn restart_continues_and_keys_are_independent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("iuv.sqlite");
    {
        let alloc = SequenceAllocator::new(SqliteSequence::open(&db).unwrap());
        assert_eq!(
            alloc.allocate(&creditor(), seg(1)).unwrap().as_str(),
            "301000000000000144"
        );
        assert_eq!(alloc.allocate(&creditor(), seg(1)).unwrap().base(), 2);
    }
    // A block allocator that stops early skips the rest of its block: never reused.
    {
        let alloc = SequenceAllocator::new(SqliteSequence::open(&db).unwrap()).with_block_size(10);
        assert_eq!(alloc.allocate(&creditor(), seg(1)).unwrap().base(), 3);
    }
    let alloc = SequenceAllocator::new(SqliteSequence::open(&db).unwrap());
    assert_eq!(alloc.allocate(&creditor(), seg(1)).unwrap().base(), 13);
    // another segregation code and another creditor have their own sequences
    assert_eq!(alloc.allocate(&creditor(), seg(2)).unwrap().base(), 1);
    let other: OrganizationFiscalCode = "00000000000".parse().unwrap();
    let n = alloc.allocate(&other, seg(1)).unwrap();
    assert_eq!(n.base(), 1);
    assert_eq!(n.segregation_code(), Some(seg(1)));
}

#[test]
fn advance_and_exhaustion() {
    let dir = tempfile::tempdir().unwrap();
    let seq = SqliteSequence::open(dir.path().join("iuv.sqlite")).unwrap();
    let key = SequenceKey::new(creditor(), seg(3));
    seq.advance_to(&key, 1_000).unwrap();
    seq.advance_to(&key, 10).unwrap(); // never backwards
    assert_eq!(seq.peek_next(&key).unwrap(), 1_000);
    assert!(seq.advance_to(&key, MAX_BASE13 + 2).is_err());
    seq.advance_to(&key, MAX_BASE13).unwrap();
    let alloc = SequenceAllocator::new(&seq);
    assert_eq!(
        alloc.allocate(&creditor(), seg(3)).unwrap().base(),
        MAX_BASE13
    );
    for _ in 0..3 {
        assert!(matches!(
            alloc.allocate(&creditor(), seg(3)),
            Err(AllocError::Exhausted { .. })
        ));
    }
    assert!(matches!(
        seq.reserve(&key, 0),
        Err(AllocError::InvalidRequest(_))
    ));
}

#[test]
fn storage_errors_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    // A directory is not a database file.
    assert!(matches!(
        SqliteSequence::open(dir.path()),
        Err(AllocError::Storage(_))
    ));
}

#[test]
fn memory_backend_shared_between_threads() {
    let alloc = Arc::new(SequenceAllocator::new(MemorySequence::new()).with_block_size(3));
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let alloc = Arc::clone(&alloc);
            std::thread::spawn(move || {
                (0..500)
                    .map(|_| alloc.allocate(&creditor(), seg(1)).unwrap())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let all: Vec<_> = handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect();
    let unique: BTreeSet<_> = all.iter().collect();
    assert_eq!(unique.len(), 2000);
    // block size 3 with one allocator: no gaps at all
    assert_eq!(all.iter().map(NoticeNumber::base).max(), Some(2000));
}

/// A database shared by several machines, simulated by a SQLite file reached through the async
/// trait (each "machine" is a separate allocator with its own connection and block cache).
struct SharedSqlite(Arc<SqliteSequence>);

#[async_trait::async_trait]
impl pagopa::SharedSequenceBackend for SharedSqlite {
    async fn reserve(&self, key: &SequenceKey, count: u64) -> Result<u64, AllocError> {
        let (seq, key) = (Arc::clone(&self.0), key.clone());
        tokio::task::spawn_blocking(move || seq.reserve(&key, count))
            .await
            .unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_machines_sharing_a_backend_never_collide() {
    use pagopa::{AsyncIuvAllocator, SharedSequenceAllocator};
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shared.sqlite");
    let machines: Vec<Arc<SharedSequenceAllocator<SharedSqlite>>> = (0..3)
        .map(|i| {
            let seq = Arc::new(SqliteSequence::open(&db).unwrap());
            Arc::new(SharedSequenceAllocator::new(SharedSqlite(seq)).with_block_size(1 + i * 4))
        })
        .collect();
    let mut tasks = Vec::new();
    for m in &machines {
        for _ in 0..3 {
            let m = Arc::clone(m);
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..40 {
                    got.push(m.allocate(&creditor(), seg(1)).await.unwrap());
                }
                got
            }));
        }
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: BTreeSet<_> = all.iter().collect();
    assert_eq!(unique.len(), 3 * 3 * 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_allocator_from_async_tasks() {
    use pagopa::{AsyncIuvAllocator, BlockingAllocator};
    let dir = tempfile::tempdir().unwrap();
    let alloc = BlockingAllocator::new(SequenceAllocator::new(
        SqliteSequence::open(dir.path().join("iuv.sqlite")).unwrap(),
    ));
    let tasks: Vec<_> = (0..4)
        .map(|_| {
            let alloc = alloc.clone();
            tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..25 {
                    got.push(alloc.allocate(&creditor(), seg(1)).await.unwrap());
                }
                got
            })
        })
        .collect();
    let mut all = BTreeSet::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    assert_eq!(all.len(), 100);
    assert_eq!(all.iter().map(NoticeNumber::base).max(), Some(100)); // block 1: no gaps
}
