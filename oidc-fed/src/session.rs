//! Sessions of citizens logged in over OIDC: what the RP keeps between requests (the identity,
//! the OP, the tokens to revoke at logout), in an [`OidcSessionStore`] (memory, or Redis with
//! feature `redis`). The same shape as the `spid` crate's SAML sessions (a store trait with an
//! in-memory default and a Redis backend, the cookie holding only a random session id), with
//! OIDC's own contents.

use crate::login::StoreError;
use pa_types::CitizenIdentity;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Mutex;

/// A citizen logged in over OIDC.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OidcSession {
    /// The session id (random; the session cookie's value).
    pub id: String,
    /// Who logged in.
    pub citizen: CitizenIdentity,
    /// The OP's issuer.
    pub op: String,
    /// The `client_id` of the RP the citizen logged in to: a session is honoured only there.
    pub client_id: String,
    /// The access token (revoked at logout).
    pub access_token: String,
    /// The refresh token, if any (revoked at logout).
    pub refresh_token: Option<String>,
    /// The ID Token (an `id_token_hint`).
    pub id_token: String,
    /// When it was created (seconds since the epoch).
    pub created_at: i64,
    /// When it ends (seconds since the epoch).
    pub expires_at: i64,
}

impl std::fmt::Debug for OidcSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSession")
            .field("id", &"[redacted]")
            .field("citizen", &self.citizen)
            .field("op", &self.op)
            .field("client_id", &self.client_id)
            .field("tokens", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl OidcSession {
    /// A session.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: impl Into<String>,
        citizen: CitizenIdentity,
        op: impl Into<String>,
        client_id: impl Into<String>,
        tokens: &crate::login::Tokens,
        now: i64,
        ttl: i64,
    ) -> OidcSession {
        OidcSession {
            id: id.into(),
            citizen,
            op: op.into(),
            client_id: client_id.into(),
            access_token: tokens.access_token.clone(),
            refresh_token: tokens.refresh_token.clone(),
            id_token: tokens.id_token.clone(),
            created_at: now,
            expires_at: now + ttl,
        }
    }

    /// JSON for a store.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id, "citizen": serde_json::to_value(&self.citizen).unwrap_or(Value::Null),
            "op": self.op, "client_id": self.client_id, "access_token": self.access_token,
            "refresh_token": self.refresh_token, "id_token": self.id_token,
            "created_at": self.created_at, "expires_at": self.expires_at,
        })
    }

    /// From [`OidcSession::to_json`]'s shape; `None` if anything is missing or invalid.
    pub fn from_json(v: &Value) -> Option<OidcSession> {
        let s = |n: &str| v.get(n).and_then(Value::as_str).map(str::to_owned);
        Some(OidcSession {
            id: s("id")?,
            citizen: serde_json::from_value(v.get("citizen")?.clone()).ok()?,
            op: s("op")?,
            client_id: s("client_id")?,
            access_token: s("access_token")?,
            refresh_token: s("refresh_token"),
            id_token: s("id_token")?,
            created_at: v.get("created_at")?.as_i64()?,
            expires_at: v.get("expires_at")?.as_i64()?,
        })
    }
}

/// Where OIDC sessions are kept.
#[async_trait::async_trait]
pub trait OidcSessionStore: Send + Sync {
    /// Saves a session until its `expires_at`.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    async fn put_session(&self, session: OidcSession) -> Result<(), StoreError>;
    /// The session `id` if it exists and has not expired at `now`.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    async fn get_session(&self, id: &str, now: i64) -> Result<Option<OidcSession>, StoreError>;
    /// Removes the session `id`, returning it if it was there.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    async fn remove_session(&self, id: &str) -> Result<Option<OidcSession>, StoreError>;
}

/// In-memory [`OidcSessionStore`] (one process).
#[derive(Debug, Default)]
pub struct MemoryOidcSessionStore {
    map: Mutex<HashMap<String, OidcSession>>,
}

impl MemoryOidcSessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

fn poisoned() -> StoreError {
    StoreError("session store lock poisoned".into())
}

#[async_trait::async_trait]
impl OidcSessionStore for MemoryOidcSessionStore {
    async fn put_session(&self, session: OidcSession) -> Result<(), StoreError> {
        let mut m = self.map.lock().map_err(|_| poisoned())?;
        let now = session.created_at;
        m.retain(|_, s| s.expires_at > now);
        m.insert(session.id.clone(), session);
        Ok(())
    }

    async fn get_session(&self, id: &str, now: i64) -> Result<Option<OidcSession>, StoreError> {
        let m = self.map.lock().map_err(|_| poisoned())?;
        Ok(m.get(id).filter(|s| s.expires_at > now).cloned())
    }

    async fn remove_session(&self, id: &str) -> Result<Option<OidcSession>, StoreError> {
        let mut m = self.map.lock().map_err(|_| poisoned())?;
        Ok(m.remove(id))
    }
}
