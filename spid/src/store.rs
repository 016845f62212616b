//! Stores for short-lived SAML state: pending AuthnRequests and consumed assertion IDs.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::StoreError;
use crate::level::{Comparison, SpidLevel};

/// An AuthnRequest waiting for its response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRequest {
    /// The request `ID` (the response's `InResponseTo`).
    pub id: String,
    /// The session the request belongs to (e.g. a cookie value).
    pub session: String,
    /// The chosen IdP's entityID.
    pub idp_entity_id: String,
    /// The request `IssueInstant`.
    pub issue_instant: DateTime<Utc>,
    /// Requested level.
    pub level: SpidLevel,
    /// Requested comparison.
    pub comparison: Comparison,
    /// The ACS URL the response must be sent to.
    pub acs_url: String,
    /// The attribute consuming service index asked for.
    pub attribute_service_index: u16,
    /// The RelayState sent with the request.
    pub relay_state: Option<String>,
    /// When the request stops waiting.
    pub expires_at: DateTime<Utc>,
}

/// Where pending AuthnRequests are kept between the login redirect and the ACS.
#[async_trait]
pub trait PendingRequestStore: Send + Sync {
    /// Saves a pending request.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    async fn put(&self, request: PendingRequest) -> Result<(), StoreError>;

    /// Removes and returns the pending request `id` if it belongs to `session` and has not
    /// expired at `now`. A request of another session is left in place and `None` is returned.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    async fn take(
        &self,
        id: &str,
        session: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingRequest>, StoreError>;
}

/// Where consumed assertion IDs are remembered, so that none is accepted twice.
#[async_trait]
pub trait AssertionStore: Send + Sync {
    /// Records `(issuer, assertion_id)` as consumed until `expires_at`. Returns `false` when it
    /// was already recorded (a replay). Must be atomic across instances sharing the backend.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    async fn consume(
        &self,
        issuer: &str,
        assertion_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}

fn poisoned() -> StoreError {
    StoreError("in-memory store lock poisoned".into())
}

/// In-memory [`PendingRequestStore`] for one process.
#[derive(Debug, Default)]
pub struct MemoryPendingStore {
    inner: Mutex<HashMap<String, PendingRequest>>,
}

impl MemoryPendingStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl PendingRequestStore for MemoryPendingStore {
    async fn put(&self, request: PendingRequest) -> Result<(), StoreError> {
        let mut map = self.inner.lock().map_err(|_| poisoned())?;
        let now = Utc::now();
        map.retain(|_, r| r.expires_at > now);
        map.insert(request.id.clone(), request);
        Ok(())
    }

    async fn take(
        &self,
        id: &str,
        session: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingRequest>, StoreError> {
        let mut map = self.inner.lock().map_err(|_| poisoned())?;
        match map.get(id) {
            Some(r) if r.session == session => {
                let r = map.remove(id);
                Ok(r.filter(|r| r.expires_at > now))
            }
            _ => Ok(None),
        }
    }
}

/// In-memory [`AssertionStore`] for one process.
#[derive(Debug, Default)]
pub struct MemoryAssertionStore {
    inner: Mutex<HashMap<(String, String), DateTime<Utc>>>,
}

impl MemoryAssertionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait]
impl AssertionStore for MemoryAssertionStore {
    async fn consume(
        &self,
        issuer: &str,
        assertion_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut map = self.inner.lock().map_err(|_| poisoned())?;
        map.retain(|_, exp| *exp > now);
        let key = (issuer.to_owned(), assertion_id.to_owned());
        if map.contains_key(&key) {
            return Ok(false);
        }
        map.insert(key, expires_at);
        Ok(true)
    }
}
