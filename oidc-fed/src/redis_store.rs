//! Redis [`PendingLoginStore`] (feature `redis`): several RP instances behind a load balancer
//! share the pending logins. Taking one is a Lua script that reads it, checks the browser
//! session and deletes it in one step, so a `state` is used at most once across instances;
//! keys expire in Redis itself.

use crate::login::{PendingLogin, PendingLoginStore, StoreError};
use redis::aio::MultiplexedConnection;
use serde_json::{Value, json};

/// Reads the hash, checks the session, deletes it: atomically.
const TAKE: &str = r"
local s = redis.call('HGET', KEYS[1], 'session')
if s == false or s ~= ARGV[1] then return false end
local v = redis.call('HGET', KEYS[1], 'data')
redis.call('DEL', KEYS[1])
return v
";

/// Redis-backed [`PendingLoginStore`]; clones share one multiplexed connection.
#[derive(Clone)]
pub struct RedisPendingLoginStore {
    conn: MultiplexedConnection,
    prefix: String,
}

impl std::fmt::Debug for RedisPendingLoginStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisPendingLoginStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn err(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("redis {what}: {e}"))
}

fn encode(p: &PendingLogin) -> String {
    json!({
        "state": p.state, "session": p.session, "nonce": p.nonce,
        "code_verifier": p.code_verifier, "op": p.op, "redirect_uri": p.redirect_uri,
        "acr_values": p.acr_values, "expires_at": p.expires_at,
    })
    .to_string()
}

fn decode(s: &str) -> Option<PendingLogin> {
    let v: Value = serde_json::from_str(s).ok()?;
    let f = |n: &str| v.get(n).and_then(Value::as_str).map(str::to_owned);
    Some(PendingLogin {
        state: f("state")?,
        session: f("session")?,
        nonce: f("nonce")?,
        code_verifier: f("code_verifier")?,
        op: f("op")?,
        redirect_uri: f("redirect_uri")?,
        acr_values: v
            .get("acr_values")?
            .as_array()?
            .iter()
            .map(|a| a.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()?,
        expires_at: v.get("expires_at")?.as_i64()?,
    })
}

impl RedisPendingLoginStore {
    /// Connects to `url` (e.g. `redis://127.0.0.1:6379/`); every key starts with `prefix`.
    ///
    /// # Errors
    /// [`StoreError`] if the URL is invalid or the server does not answer.
    pub async fn connect(url: &str, prefix: impl Into<String>) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| err("URL", e))?;
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| err("connect", e))?;
        Ok(RedisPendingLoginStore {
            conn,
            prefix: prefix.into(),
        })
    }

    fn key(&self, state: &str) -> String {
        format!("{}oidc-login:{state}", self.prefix)
    }
}

#[async_trait::async_trait]
impl PendingLoginStore for RedisPendingLoginStore {
    async fn put(&self, login: PendingLogin) -> Result<(), StoreError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let ttl = (login.expires_at - now).max(1);
        let key = self.key(&login.state);
        let mut conn = self.conn.clone();
        redis::pipe()
            .atomic()
            .cmd("DEL")
            .arg(&key)
            .ignore()
            .cmd("HSET")
            .arg(&key)
            .arg("session")
            .arg(&login.session)
            .arg("data")
            .arg(encode(&login))
            .ignore()
            .cmd("EXPIRE")
            .arg(&key)
            .arg(ttl)
            .ignore()
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| err("put", e))
    }

    async fn take(
        &self,
        state: &str,
        session: &str,
        now: i64,
    ) -> Result<Option<PendingLogin>, StoreError> {
        let mut conn = self.conn.clone();
        let data: Option<String> = redis::Script::new(TAKE)
            .key(self.key(state))
            .arg(session)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| err("take", e))?;
        let Some(data) = data else { return Ok(None) };
        let p =
            decode(&data).ok_or_else(|| StoreError("redis: undecodable pending login".into()))?;
        Ok(Some(p).filter(|p| p.expires_at > now))
    }
}

/// Reads and deletes a session in one step.
const TAKE_SESSION: &str = r"
local v = redis.call('GET', KEYS[1])
if v then redis.call('DEL', KEYS[1]) end
return v
";

impl RedisPendingLoginStore {
    fn session_key(&self, id: &str) -> String {
        format!("{}oidc-session:{id}", self.prefix)
    }
}

/// OIDC sessions in the same Redis, under `{prefix}oidc-session:`; each key expires with its
/// session.
#[async_trait::async_trait]
impl crate::session::OidcSessionStore for RedisPendingLoginStore {
    async fn put_session(&self, s: crate::session::OidcSession) -> Result<(), StoreError> {
        let ttl = (s.expires_at - s.created_at).max(1);
        let mut conn = self.conn.clone();
        redis::cmd("SET")
            .arg(self.session_key(&s.id))
            .arg(s.to_json().to_string())
            .arg("EX")
            .arg(ttl)
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| err("put session", e))
    }

    async fn get_session(
        &self,
        id: &str,
        now: i64,
    ) -> Result<Option<crate::session::OidcSession>, StoreError> {
        let mut conn = self.conn.clone();
        let v: Option<String> = redis::cmd("GET")
            .arg(self.session_key(id))
            .query_async(&mut conn)
            .await
            .map_err(|e| err("get session", e))?;
        decode_session(v).map(|s| s.filter(|s| s.expires_at > now))
    }

    async fn remove_session(
        &self,
        id: &str,
    ) -> Result<Option<crate::session::OidcSession>, StoreError> {
        let mut conn = self.conn.clone();
        let v: Option<String> = redis::Script::new(TAKE_SESSION)
            .key(self.session_key(id))
            .invoke_async(&mut conn)
            .await
            .map_err(|e| err("remove session", e))?;
        decode_session(v)
    }
}

fn decode_session(v: Option<String>) -> Result<Option<crate::session::OidcSession>, StoreError> {
    let Some(v) = v else { return Ok(None) };
    serde_json::from_str::<Value>(&v)
        .ok()
        .and_then(|v| crate::session::OidcSession::from_json(&v))
        .map(Some)
        .ok_or_else(|| StoreError("redis: undecodable OIDC session".into()))
}
