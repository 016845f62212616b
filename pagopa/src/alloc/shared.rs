//! Async allocation for servers, and the async backend trait for a counter shared by several
//! machines.

use std::collections::BTreeMap;
use std::sync::Arc;

use pa_types::OrganizationFiscalCode;

use super::{AllocError, IuvAllocator, SequenceKey};
use crate::codes::{MAX_BASE13, NoticeNumber, SegregationCode};

/// A durable counter per [`SequenceKey`] shared by several machines, typically a table in a SQL
/// database reached through an async driver.
///
/// Same contract as [`SequenceBackend`](super::SequenceBackend): every reservation is atomic
/// across all callers and committed before it returns; values start at 1. In SQL:
///
/// ```sql
/// INSERT INTO pagopa_iuv_sequence (creditor, segregation, next) VALUES ($1, $2, 1 + $3)
/// ON CONFLICT (creditor, segregation) DO UPDATE SET next = pagopa_iuv_sequence.next + $3
/// RETURNING next - $3;
/// ```
#[async_trait::async_trait]
pub trait SharedSequenceBackend: Send + Sync {
    /// Reserves `count` (≥ 1) consecutive values for `key` and returns the first.
    ///
    /// # Errors
    /// [`AllocError::Storage`] when the store fails; [`AllocError::InvalidRequest`].
    async fn reserve(&self, key: &SequenceKey, count: u64) -> Result<u64, AllocError>;
}

/// Mints notice numbers from async code; never repeats one for a creditor and segregation code.
#[async_trait::async_trait]
pub trait AsyncIuvAllocator: Send + Sync {
    /// A fresh aux-3 notice number.
    ///
    /// # Errors
    /// [`AllocError::Exhausted`], [`AllocError::Storage`].
    async fn allocate(
        &self,
        creditor: &OrganizationFiscalCode,
        segregation: SegregationCode,
    ) -> Result<NoticeNumber, AllocError>;
}

/// Runs a blocking [`IuvAllocator`] (such as a [`SequenceAllocator`](super::SequenceAllocator)
/// over a [`SqliteSequence`](super::SqliteSequence)) on tokio's blocking pool.
///
/// Must be used inside a tokio runtime.
#[derive(Debug)]
pub struct BlockingAllocator<A>(Arc<A>);

impl<A> BlockingAllocator<A> {
    /// Wraps `allocator`.
    pub fn new(allocator: A) -> Self {
        Self(Arc::new(allocator))
    }

    /// The wrapped allocator.
    pub fn inner(&self) -> &A {
        &self.0
    }
}

impl<A> Clone for BlockingAllocator<A> {
    fn clone(&self) -> Self {
        Self(Arc::clone(&self.0))
    }
}

#[async_trait::async_trait]
impl<A: IuvAllocator + 'static> AsyncIuvAllocator for BlockingAllocator<A> {
    async fn allocate(
        &self,
        creditor: &OrganizationFiscalCode,
        segregation: SegregationCode,
    ) -> Result<NoticeNumber, AllocError> {
        let inner = Arc::clone(&self.0);
        let creditor = creditor.clone();
        tokio::task::spawn_blocking(move || inner.allocate(&creditor, segregation))
            .await
            .map_err(|e| AllocError::Storage(Box::new(e)))?
    }
}

/// An [`AsyncIuvAllocator`] over a [`SharedSequenceBackend`], reserving `block_size` values per
/// round trip (default 1; the unused rest of a block is skipped when the process stops, never
/// reused).
#[derive(Debug)]
pub struct SharedSequenceAllocator<B> {
    backend: B,
    block_size: u64,
    blocks: tokio::sync::Mutex<BTreeMap<SequenceKey, (u64, u64)>>,
}

impl<B: SharedSequenceBackend> SharedSequenceAllocator<B> {
    /// An allocator reserving one value per round trip.
    pub fn new(backend: B) -> Self {
        Self {
            backend,
            block_size: 1,
            blocks: tokio::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// Reserves `block_size` values per round trip (1 ..= 1 000 000).
    #[must_use]
    pub fn with_block_size(mut self, block_size: u64) -> Self {
        self.block_size = block_size.clamp(1, 1_000_000);
        self
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }
}

#[async_trait::async_trait]
impl<B: SharedSequenceBackend> AsyncIuvAllocator for SharedSequenceAllocator<B> {
    async fn allocate(
        &self,
        creditor: &OrganizationFiscalCode,
        segregation: SegregationCode,
    ) -> Result<NoticeNumber, AllocError> {
        let key = SequenceKey::new(creditor.clone(), segregation);
        let exhausted = || AllocError::Exhausted {
            creditor: creditor.clone(),
            segregation,
        };
        if self.block_size == 1 {
            // Nothing to cache: concurrent callers reserve in parallel, each its own value.
            let first = self.backend.reserve(&key, 1).await?;
            if first == 0 || first > MAX_BASE13 {
                return Err(exhausted());
            }
            return NoticeNumber::new_aux3(segregation, first).map_err(|_| exhausted());
        }
        let mut blocks = self.blocks.lock().await;
        let base = match blocks.get_mut(&key) {
            Some((next, end)) if *next < *end => {
                let v = *next;
                *next += 1;
                v
            }
            _ => {
                let first = self.backend.reserve(&key, self.block_size).await?;
                if first == 0 || first > MAX_BASE13 {
                    return Err(exhausted());
                }
                let end = first.saturating_add(self.block_size).min(MAX_BASE13 + 1);
                blocks.insert(key, (first + 1, end));
                first
            }
        };
        NoticeNumber::new_aux3(segregation, base).map_err(|_| exhausted())
    }
}
