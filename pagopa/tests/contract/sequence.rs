//! The [`SharedSequenceBackend`] contract (and [`SharedSequenceAllocator`] on it).

use std::collections::BTreeSet;
use std::sync::Arc;

use pagopa::*;

use crate::{EC, EC2, org};

type Backend = Arc<dyn SharedSequenceBackend>;

/// A blocking [`SequenceBackend`] (memory, SQLite) reached through the async trait.
pub(crate) struct Blocking<B>(pub(crate) Arc<B>);

#[async_trait::async_trait]
impl<B: SequenceBackend + 'static> SharedSequenceBackend for Blocking<B> {
    async fn reserve(&self, key: &SequenceKey, count: u64) -> Result<u64, AllocError> {
        let (b, key) = (Arc::clone(&self.0), key.clone());
        tokio::task::spawn_blocking(move || b.reserve(&key, count))
            .await
            .unwrap()
    }
}

struct Shared(Backend);

#[async_trait::async_trait]
impl SharedSequenceBackend for Shared {
    async fn reserve(&self, key: &SequenceKey, count: u64) -> Result<u64, AllocError> {
        self.0.reserve(key, count).await
    }
}

fn seg(n: u8) -> SegregationCode {
    SegregationCode::new(n).unwrap()
}

fn key(fc: &str, s: u8) -> SequenceKey {
    SequenceKey::new(org(fc), seg(s))
}

macro_rules! sequence_contract {
    ($contract:ident) => {
        mod $contract {
            use std::sync::Arc;

            use super::Blocking;

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn memory() {
                let b = Blocking(Arc::new(pagopa::MemorySequence::new()));
                super::$contract(Arc::new(b)).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("seq.db");
                // Two connections to one file, used alternately: two processes' worth.
                let b = Blocking(Arc::new(pagopa::SqliteSequence::open(&path).unwrap()));
                super::$contract(Arc::new(b)).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                let Some(url) = crate::pg_url().await else {
                    return;
                };
                let b = pagopa::PgSequence::connect(&url).await.unwrap();
                super::$contract(Arc::new(b)).await;
            }
        }
    };
}

async fn reservations_are_consecutive_from_one_per_key(b: Backend) {
    assert_eq!(b.reserve(&key(EC, 1), 1).await.unwrap(), 1);
    assert_eq!(b.reserve(&key(EC, 1), 5).await.unwrap(), 2);
    assert_eq!(b.reserve(&key(EC, 1), 1).await.unwrap(), 7);
    assert_eq!(b.reserve(&key(EC, 2), 1).await.unwrap(), 1);
    assert_eq!(b.reserve(&key(EC2, 1), 3).await.unwrap(), 1);
    assert_eq!(b.reserve(&key(EC2, 1), 1).await.unwrap(), 4);
    assert!(matches!(
        b.reserve(&key(EC, 1), 0).await,
        Err(AllocError::InvalidRequest(_))
    ));
    assert!(matches!(
        b.reserve(&key(EC, 1), MAX_BASE13 + 1).await,
        Err(AllocError::InvalidRequest(_))
    ));
    // refused requests reserved nothing
    assert_eq!(b.reserve(&key(EC, 1), 1).await.unwrap(), 8);
}
sequence_contract!(reservations_are_consecutive_from_one_per_key);

async fn allocators_on_one_backend_never_collide(b: Backend) {
    // Two "instances" (allocators with their own block caches), block 1 and block 100,
    // 8 tasks each.
    let one = Arc::new(SharedSequenceAllocator::new(Shared(Arc::clone(&b))));
    let hundred =
        Arc::new(SharedSequenceAllocator::new(Shared(Arc::clone(&b))).with_block_size(100));
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (one, hundred) = (Arc::clone(&one), Arc::clone(&hundred));
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            for _ in 0..40 {
                let n = if i % 2 == 0 {
                    one.allocate(&org(EC), seg(3)).await.unwrap()
                } else {
                    hundred.allocate(&org(EC), seg(3)).await.unwrap()
                };
                got.push(n);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let bases: BTreeSet<u64> = all.iter().map(NoticeNumber::base).collect();
    assert_eq!(bases.len(), 640, "every notice number distinct");
    // block 1 takes 320 values, block 100 takes 4 blocks: nothing beyond 720 was reserved.
    assert!(*bases.last().unwrap() <= 720);
}
sequence_contract!(allocators_on_one_backend_never_collide);

async fn an_exhausted_sequence_stays_exhausted(b: Backend) {
    let k = key(EC, 4);
    assert_eq!(b.reserve(&k, MAX_BASE13 - 1).await.unwrap(), 1);
    let alloc = SharedSequenceAllocator::new(Shared(b));
    let last = alloc.allocate(&org(EC), seg(4)).await.unwrap();
    assert_eq!(last.base(), MAX_BASE13);
    for _ in 0..3 {
        assert!(matches!(
            alloc.allocate(&org(EC), seg(4)).await,
            Err(AllocError::Exhausted { .. })
        ));
    }
    // another key is unaffected
    assert_eq!(alloc.allocate(&org(EC), seg(5)).await.unwrap().base(), 1);
}
sequence_contract!(an_exhausted_sequence_stays_exhausted);

#[tokio::test]
async fn pg_sequence_advance_and_peek() {
    let Some(url) = crate::pg_url().await else {
        return;
    };
    let s = PgSequence::connect(&url).await.unwrap();
    let k = key(EC, 1);
    assert_eq!(s.peek_next(&k).await.unwrap(), 1);
    s.advance_to(&k, 500).await.unwrap();
    s.advance_to(&k, 100).await.unwrap(); // never backwards
    assert_eq!(s.peek_next(&k).await.unwrap(), 500);
    assert_eq!(s.reserve(&k, 1).await.unwrap(), 500);
    assert!(matches!(
        s.advance_to(&k, MAX_BASE13 + 2).await,
        Err(AllocError::InvalidRequest(_))
    ));
}
