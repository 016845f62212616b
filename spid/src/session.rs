//! SP sessions: what the SP remembers about a logged-in user between requests, and what
//! Single Logout needs (IdP, `NameID`, `SessionIndex`).

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::attributes::SpidIdentity;
use crate::error::StoreError;
use crate::level::SpidLevel;
use crate::response::Authenticated;

/// A logged-in user of the SP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SpSession {
    /// The session ID (an unguessable token, e.g. the cookie value).
    pub id: String,
    /// The identity released by the IdP.
    pub identity: SpidIdentity,
    /// The level the IdP asserted.
    pub level: SpidLevel,
    /// The IdP entityID.
    pub idp_entity_id: String,
    /// The transient `NameID` (needed for Single Logout).
    pub name_id: String,
    /// `NameID/@NameQualifier`.
    pub name_id_qualifier: String,
    /// `AuthnStatement/@SessionIndex`.
    pub session_index: Option<String>,
    /// When the session was created.
    pub created_at: DateTime<Utc>,
    /// When the session ends.
    pub expires_at: DateTime<Utc>,
    /// The entityID of the SP identity the user logged in to; empty when not bound (sessions
    /// made with [`SpSession::new`] alone). The axum integration binds every session it
    /// creates and honours a session only at the SP identity it belongs to, so that entities
    /// sharing a session store never accept each other's logins.
    #[serde(default)]
    pub sp_entity_id: String,
}

impl SpSession {
    /// A session for a successful login, lasting `ttl` from `now`.
    pub fn new(
        id: impl Into<String>,
        login: &Authenticated,
        now: DateTime<Utc>,
        ttl: Duration,
    ) -> Self {
        SpSession {
            id: id.into(),
            identity: login.identity.clone(),
            level: login.level,
            idp_entity_id: login.idp_entity_id.clone(),
            name_id: login.name_id.clone(),
            name_id_qualifier: login.name_id_qualifier.clone(),
            session_index: login.session_index.clone(),
            created_at: now,
            expires_at: now + ttl,
            sp_entity_id: String::new(),
        }
    }

    /// Binds the session to the SP identity `sp_entity_id` (see [`SpSession::sp_entity_id`]).
    #[must_use]
    pub fn for_sp(mut self, sp_entity_id: impl Into<String>) -> Self {
        self.sp_entity_id = sp_entity_id.into();
        self
    }

    /// `true` if the session may be honoured by the SP identity `sp_entity_id`: it is bound to
    /// that identity, or not bound at all.
    pub fn belongs_to(&self, sp_entity_id: &str) -> bool {
        self.sp_entity_id.is_empty() || self.sp_entity_id == sp_entity_id
    }
}

/// Where SP sessions are kept.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Saves (or replaces) a session until its `expires_at`.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    async fn put_session(&self, session: SpSession) -> Result<(), StoreError>;

    /// The session `id` if it exists and has not expired at `now`.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    async fn get_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SpSession>, StoreError>;

    /// Removes the session `id`, returning it if it was there.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    async fn remove_session(&self, id: &str) -> Result<Option<SpSession>, StoreError>;

    /// Removes every session of the subject `name_id` at the IdP `idp_entity_id` (IdP-initiated
    /// Single Logout) and returns how many were removed.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    async fn remove_subject(&self, idp_entity_id: &str, name_id: &str)
    -> Result<usize, StoreError>;
}

/// In-memory [`SessionStore`] for one process.
#[derive(Debug, Default)]
pub struct MemorySessionStore {
    inner: Mutex<HashMap<String, SpSession>>,
}

impl MemorySessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn poisoned() -> StoreError {
    StoreError("in-memory session store lock poisoned".into())
}

#[async_trait]
impl SessionStore for MemorySessionStore {
    async fn put_session(&self, session: SpSession) -> Result<(), StoreError> {
        let mut map = self.inner.lock().map_err(|_| poisoned())?;
        let now = Utc::now();
        map.retain(|_, s| s.expires_at > now);
        map.insert(session.id.clone(), session);
        Ok(())
    }

    async fn get_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SpSession>, StoreError> {
        let map = self.inner.lock().map_err(|_| poisoned())?;
        Ok(map.get(id).filter(|s| s.expires_at > now).cloned())
    }

    async fn remove_session(&self, id: &str) -> Result<Option<SpSession>, StoreError> {
        let mut map = self.inner.lock().map_err(|_| poisoned())?;
        Ok(map.remove(id))
    }

    async fn remove_subject(
        &self,
        idp_entity_id: &str,
        name_id: &str,
    ) -> Result<usize, StoreError> {
        let mut map = self.inner.lock().map_err(|_| poisoned())?;
        let before = map.len();
        map.retain(|_, s| !(s.idp_entity_id == idp_entity_id && s.name_id == name_id));
        Ok(before - map.len())
    }
}
