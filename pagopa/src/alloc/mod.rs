//! IUV allocation that never hands out the same IUV twice.
//!
//! An [`IuvAllocator`] mints aux-3 [`NoticeNumber`]s for a creditor and segregation code. The
//! provided [`SequenceAllocator`] draws 13-digit bases from a [`SequenceBackend`]: a durable
//! counter per creditor + segregation code that reserves values *before* they are returned, so a
//! crash can leave a gap but never causes a value to be handed out again.
//!
//! Backends: [`SqliteSequence`] (a SQLite file, safe across threads and processes on one
//! machine; feature `sqlite`), `PgSequence` (PostgreSQL, shared by several machines, async;
//! feature `postgres`), [`MemorySequence`] (tests and one-shot tools; not durable), or
//! your own implementation of [`SequenceBackend`] or [`SharedSequenceBackend`] over a database
//! shared by several machines (one atomic `UPDATE … SET next = next + n RETURNING next` per
//! reservation, committed before returning).
//!
//! [`IuvAllocator`] and [`SequenceBackend`] are blocking. From async code use
//! [`AsyncIuvAllocator`]: [`BlockingAllocator`] runs a blocking allocator on tokio's blocking
//! pool, and [`SharedSequenceAllocator`] draws from an async [`SharedSequenceBackend`] (a
//! database shared by several machines).

mod memory;
#[cfg(feature = "postgres")]
mod postgres;
mod shared;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use pa_types::OrganizationFiscalCode;

use crate::codes::{MAX_BASE13, NoticeNumber, SegregationCode};

pub use memory::MemorySequence;
#[cfg(feature = "postgres")]
pub use postgres::PgSequence;
pub use shared::{
    AsyncIuvAllocator, BlockingAllocator, SharedSequenceAllocator, SharedSequenceBackend,
};
#[cfg(feature = "sqlite")]
pub use sqlite::SqliteSequence;

/// The scope within which IUVs must be unique: one creditor and one segregation code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SequenceKey {
    creditor: OrganizationFiscalCode,
    segregation: SegregationCode,
}

impl SequenceKey {
    /// The key of `creditor` + `segregation`.
    #[must_use]
    pub fn new(creditor: OrganizationFiscalCode, segregation: SegregationCode) -> Self {
        Self {
            creditor,
            segregation,
        }
    }

    /// The creditor's fiscal code.
    #[must_use]
    pub fn creditor(&self) -> &OrganizationFiscalCode {
        &self.creditor
    }

    /// The segregation code.
    #[must_use]
    pub fn segregation(&self) -> SegregationCode {
        self.segregation
    }
}

/// Why an IUV could not be allocated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AllocError {
    /// Every 13-digit base of this creditor and segregation code has been used.
    #[error("IUV sequence exhausted for creditor {creditor}, segregation code {segregation}")]
    Exhausted {
        /// The creditor.
        creditor: OrganizationFiscalCode,
        /// The segregation code.
        segregation: SegregationCode,
    },
    /// A reservation request outside what a sequence can hold (zero values, or more than the
    /// 13-digit range).
    #[error("invalid IUV reservation: {0}")]
    InvalidRequest(&'static str),
    /// The storage behind the sequence failed; nothing was handed out.
    #[error("IUV sequence storage failed: {0}")]
    Storage(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// A durable counter per [`SequenceKey`], possibly shared by several processes or machines.
///
/// Implementations must make every reservation atomic (no two callers anywhere get overlapping
/// ranges) and durable before returning (after a crash or restart, the counter never goes
/// back). Values start at 1.
pub trait SequenceBackend: Send + Sync {
    /// Reserves `count` (≥ 1) consecutive values for `key` and returns the first.
    ///
    /// # Errors
    /// [`AllocError::Storage`] when the store fails (then nothing is reserved, or what was
    /// reserved is lost, never reused); [`AllocError::InvalidRequest`] for `count == 0`.
    fn reserve(&self, key: &SequenceKey, count: u64) -> Result<u64, AllocError>;
}

impl<T: SequenceBackend + ?Sized> SequenceBackend for Arc<T> {
    fn reserve(&self, key: &SequenceKey, count: u64) -> Result<u64, AllocError> {
        (**self).reserve(key, count)
    }
}

impl<T: SequenceBackend + ?Sized> SequenceBackend for &T {
    fn reserve(&self, key: &SequenceKey, count: u64) -> Result<u64, AllocError> {
        (**self).reserve(key, count)
    }
}

/// Mints notice numbers that are never repeated for a creditor and segregation code.
pub trait IuvAllocator: Send + Sync {
    /// A fresh aux-3 notice number (whose IUV is `segregation` + base + check digits).
    ///
    /// # Errors
    /// [`AllocError::Exhausted`] when the 13-digit range is used up; [`AllocError::Storage`].
    fn allocate(
        &self,
        creditor: &OrganizationFiscalCode,
        segregation: SegregationCode,
    ) -> Result<NoticeNumber, AllocError>;
}

/// Checks a `count` before reserving it.
pub(crate) fn check_count(count: u64) -> Result<(), AllocError> {
    if count == 0 {
        return Err(AllocError::InvalidRequest("cannot reserve zero values"));
    }
    if count > MAX_BASE13 {
        return Err(AllocError::InvalidRequest(
            "cannot reserve more than 10^13 - 1 values",
        ));
    }
    Ok(())
}

/// An [`IuvAllocator`] over a [`SequenceBackend`], reserving `block_size` values at a time.
///
/// With the default block size of 1 every IUV costs one durable reservation and no value is
/// ever skipped except by a crash between reservation and use. Larger blocks cut the store
/// round trips; the unused rest of a block is skipped (never reused) when the process stops.
#[derive(Debug)]
pub struct SequenceAllocator<B> {
    backend: B,
    block_size: u64,
    // next value and end (exclusive) of the block reserved for each key
    blocks: Mutex<BTreeMap<SequenceKey, (u64, u64)>>,
}

impl<B: SequenceBackend> SequenceAllocator<B> {
    /// An allocator reserving one value at a time.
    pub fn new(backend: B) -> Self {
        Self {
            backend,
            block_size: 1,
            blocks: Mutex::new(BTreeMap::new()),
        }
    }

    /// Reserves `block_size` values per round trip (at least 1).
    #[must_use]
    pub fn with_block_size(mut self, block_size: u64) -> Self {
        self.block_size = block_size.clamp(1, 1_000_000);
        self
    }

    /// The backend.
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// The next 13-digit base for `key`.
    ///
    /// # Errors
    /// As [`IuvAllocator::allocate`].
    pub fn next_base(&self, key: &SequenceKey) -> Result<u64, AllocError> {
        let mut blocks = self
            .blocks
            .lock()
            .map_err(|_| AllocError::Storage("allocator lock poisoned".into()))?;
        if let Some((next, end)) = blocks.get_mut(key)
            && *next < *end
        {
            let v = *next;
            *next += 1;
            return Ok(v);
        }
        let first = self.backend.reserve(key, self.block_size)?;
        if first == 0 || first > MAX_BASE13 {
            return Err(AllocError::Exhausted {
                creditor: key.creditor.clone(),
                segregation: key.segregation,
            });
        }
        let end = first.saturating_add(self.block_size).min(MAX_BASE13 + 1);
        blocks.insert(key.clone(), (first + 1, end));
        Ok(first)
    }
}

impl<B: SequenceBackend> IuvAllocator for SequenceAllocator<B> {
    fn allocate(
        &self,
        creditor: &OrganizationFiscalCode,
        segregation: SegregationCode,
    ) -> Result<NoticeNumber, AllocError> {
        let key = SequenceKey::new(creditor.clone(), segregation);
        let base = self.next_base(&key)?;
        NoticeNumber::new_aux3(segregation, base).map_err(|_| AllocError::Exhausted {
            creditor: creditor.clone(),
            segregation,
        })
    }
}
