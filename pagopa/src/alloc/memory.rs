//! In-memory sequence: for tests and one-shot tools. Not durable.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{AllocError, SequenceBackend, SequenceKey, check_count};

/// A [`SequenceBackend`] in process memory. Unique within the process only and forgotten on
/// exit: never use it where IUVs must survive a restart.
#[derive(Debug, Default)]
pub struct MemorySequence {
    next: Mutex<BTreeMap<SequenceKey, u64>>,
}

impl MemorySequence {
    /// An empty sequence (every key starts at 1).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }
}

impl SequenceBackend for MemorySequence {
    fn reserve(&self, key: &SequenceKey, count: u64) -> Result<u64, AllocError> {
        check_count(count)?;
        let mut map = self
            .next
            .lock()
            .map_err(|_| AllocError::Storage("sequence lock poisoned".into()))?;
        let next = map.entry(key.clone()).or_insert(1);
        let first = *next;
        *next = next.saturating_add(count);
        Ok(first)
    }
}
