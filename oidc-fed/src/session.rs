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

#[cfg(test)]
mod tests {
    //! One contract for both stores: put/get, expiry, removal once, JSON round trip. The
    //! Redis store runs against REDIS_URL (with `CI` set a missing server fails).
    use super::*;
    use crate::login::Tokens;
    use pa_types::{AssuranceLevel, LoginMethod};

    fn session(id: &str, now: i64) -> OidcSession {
        let citizen = CitizenIdentity::new(
            "RSSMRA85T10A562S".parse().unwrap(),
            LoginMethod::Spid {
                level: AssuranceLevel::L2,
            },
            "https://op.example.it",
        )
        .with_names(Some("Mario".into()), Some("Rossi".into()));
        let tokens = Tokens {
            access_token: "AT".into(),
            id_token: "a.b.c".into(),
            refresh_token: Some("RT".into()),
            expires_in: None,
        };
        OidcSession::new(
            id,
            citizen,
            "https://op.example.it",
            "https://rp.example.it",
            &tokens,
            now,
            60,
        )
    }

    async fn contract(store: &dyn OidcSessionStore, tag: &str) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let id = format!("sess-{tag}-{now}");
        let s = session(&id, now);
        store.put_session(s.clone()).await.unwrap();
        assert_eq!(store.get_session(&id, now).await.unwrap(), Some(s.clone()));
        assert_eq!(
            store.get_session(&id, now + 61).await.unwrap(),
            None,
            "expired"
        );
        assert_eq!(store.get_session("other", now).await.unwrap(), None);
        assert_eq!(store.remove_session(&id).await.unwrap(), Some(s));
        assert_eq!(
            store.remove_session(&id).await.unwrap(),
            None,
            "removed once"
        );
        assert_eq!(store.get_session(&id, now).await.unwrap(), None);
    }

    #[test]
    fn json_round_trip_and_debug_redacts_tokens() {
        let s = session("id-1", 1000);
        assert_eq!(OidcSession::from_json(&s.to_json()), Some(s.clone()));
        let d = format!("{s:?}");
        assert!(
            !d.contains("AT") && !d.contains("a.b.c") && !d.contains("id-1"),
            "{d}"
        );
        let mut bad = s.to_json();
        bad["citizen"]["fiscal_code"] = "not a code".into();
        assert_eq!(OidcSession::from_json(&bad), None);
    }

    #[tokio::test]
    async fn memory_store_contract() {
        contract(&MemoryOidcSessionStore::new(), "mem").await;
    }

    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn redis_store_contract() {
        let Some(url) = std::env::var("REDIS_URL").ok() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but REDIS_URL is not"
            );
            eprintln!("skipping: REDIS_URL not set");
            return;
        };
        let store = crate::RedisPendingLoginStore::connect(&url, "pa-rs-test:")
            .await
            .unwrap();
        contract(&store, "redis").await;
    }
}
