//! Redis backend for the SAML stores (feature `redis`): several SP instances behind a load
//! balancer share pending requests, consumed assertion IDs and sessions.
//!
//! Every operation that must happen once is a single atomic Redis command or Lua script:
//! consuming an assertion is `SET key 1 NX PX ttl` (only one of any number of concurrent
//! callers gets `OK`), taking a pending request is a script that reads, checks the session and
//! deletes in one step. Keys expire in Redis itself, so nothing has to be swept.
//!
//! The subject-logout script touches session keys it finds in the subject index, so it needs
//! a single Redis server (or a primary with replicas), not Redis Cluster.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use redis::aio::MultiplexedConnection;

use crate::error::StoreError;
use crate::session::{SessionStore, SpSession};
use crate::store::{AssertionStore, PendingRequest, PendingRequestStore};

/// Reads the pending request hash, checks the session and deletes it, atomically.
const TAKE_PENDING: &str = r"
local s = redis.call('HGET', KEYS[1], 'session')
if s == false or s ~= ARGV[1] then return false end
local v = redis.call('HGET', KEYS[1], 'data')
redis.call('DEL', KEYS[1])
return v
";

/// Stores a session and adds it to its subject index, atomically.
const PUT_SESSION: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
local ttl = redis.call('PTTL', KEYS[2])
if ttl < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 1
";

/// Deletes every session of a subject and the index, atomically; returns how many existed.
const REMOVE_SUBJECT: &str = r"
local ids = redis.call('SMEMBERS', KEYS[1])
local n = 0
for _, id in ipairs(ids) do
  n = n + redis.call('DEL', ARGV[1] .. id)
end
redis.call('DEL', KEYS[1])
return n
";

/// The Redis-backed [`PendingRequestStore`], [`AssertionStore`] and [`SessionStore`].
///
/// Cloning is cheap (one multiplexed connection shared by the clones).
#[derive(Clone)]
pub struct RedisStore {
    conn: MultiplexedConnection,
    prefix: String,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn err(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError(format!("redis {what}: {e}"))
}

/// Milliseconds from `now` to `until`, at least 1 (Redis refuses a zero TTL).
fn ttl_ms(until: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (until - now).num_milliseconds().max(1)
}

/// A key part that cannot run into the next one: its length, a colon, the text.
fn part(s: &str) -> String {
    format!("{}:{s}", s.len())
}

impl RedisStore {
    /// Connects to `url` (e.g. `redis://127.0.0.1:6379/`); every key starts with `prefix`
    /// (e.g. `"spid:"`, or one prefix per tenant).
    ///
    /// # Errors
    /// [`StoreError`] if the URL is invalid or the server does not answer.
    pub async fn connect(url: &str, prefix: impl Into<String>) -> Result<Self, StoreError> {
        let client = redis::Client::open(url).map_err(|e| err("URL", e))?;
        let conn = client
            .get_multiplexed_async_connection()
            .await
            .map_err(|e| err("connect", e))?;
        Ok(Self::from_connection(conn, prefix))
    }

    /// Uses an existing connection.
    pub fn from_connection(conn: MultiplexedConnection, prefix: impl Into<String>) -> Self {
        RedisStore {
            conn,
            prefix: prefix.into(),
        }
    }

    fn pending_key(&self, id: &str) -> String {
        format!("{}pending:{}", self.prefix, part(id))
    }

    fn assertion_key(&self, issuer: &str, id: &str) -> String {
        format!("{}assertion:{}:{}", self.prefix, part(issuer), part(id))
    }

    fn session_prefix(&self) -> String {
        format!("{}session:", self.prefix)
    }

    fn subject_key(&self, idp: &str, name_id: &str) -> String {
        format!("{}subject:{}:{}", self.prefix, part(idp), part(name_id))
    }
}

#[async_trait]
impl PendingRequestStore for RedisStore {
    async fn put(&self, request: PendingRequest) -> Result<(), StoreError> {
        let data = serde_json::to_string(&request).map_err(|e| err("encode", e))?;
        let key = self.pending_key(&request.id);
        let ttl = ttl_ms(request.expires_at, Utc::now());
        let mut conn = self.conn.clone();
        redis::pipe()
            .atomic()
            .cmd("DEL")
            .arg(&key)
            .ignore()
            .cmd("HSET")
            .arg(&key)
            .arg("session")
            .arg(&request.session)
            .arg("data")
            .arg(&data)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(ttl)
            .ignore()
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| err("put pending", e))
    }

    async fn take(
        &self,
        id: &str,
        session: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PendingRequest>, StoreError> {
        let mut conn = self.conn.clone();
        let data: Option<String> = redis::Script::new(TAKE_PENDING)
            .key(self.pending_key(id))
            .arg(session)
            .invoke_async(&mut conn)
            .await
            .map_err(|e| err("take pending", e))?;
        let Some(data) = data else { return Ok(None) };
        let request: PendingRequest =
            serde_json::from_str(&data).map_err(|e| err("decode pending", e))?;
        Ok(Some(request).filter(|r| r.expires_at > now))
    }
}

#[async_trait]
impl AssertionStore for RedisStore {
    async fn consume(
        &self,
        issuer: &str,
        assertion_id: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut conn = self.conn.clone();
        let set: Option<String> = redis::cmd("SET")
            .arg(self.assertion_key(issuer, assertion_id))
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms(expires_at, now))
            .query_async(&mut conn)
            .await
            .map_err(|e| err("consume assertion", e))?;
        Ok(set.is_some())
    }
}

#[async_trait]
impl SessionStore for RedisStore {
    async fn put_session(&self, session: SpSession) -> Result<(), StoreError> {
        let data = serde_json::to_string(&session).map_err(|e| err("encode", e))?;
        let mut conn = self.conn.clone();
        redis::Script::new(PUT_SESSION)
            .key(format!("{}{}", self.session_prefix(), session.id))
            .key(self.subject_key(&session.idp_entity_id, &session.name_id))
            .arg(data)
            .arg(ttl_ms(session.expires_at, Utc::now()))
            .arg(&session.id)
            .invoke_async::<()>(&mut conn)
            .await
            .map_err(|e| err("put session", e))
    }

    async fn get_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SpSession>, StoreError> {
        let mut conn = self.conn.clone();
        let data: Option<String> = redis::cmd("GET")
            .arg(format!("{}{id}", self.session_prefix()))
            .query_async(&mut conn)
            .await
            .map_err(|e| err("get session", e))?;
        let Some(data) = data else { return Ok(None) };
        let s: SpSession = serde_json::from_str(&data).map_err(|e| err("decode session", e))?;
        Ok(Some(s).filter(|s| s.expires_at > now))
    }

    async fn remove_session(&self, id: &str) -> Result<Option<SpSession>, StoreError> {
        let mut conn = self.conn.clone();
        let data: Option<String> = redis::cmd("GETDEL")
            .arg(format!("{}{id}", self.session_prefix()))
            .query_async(&mut conn)
            .await
            .map_err(|e| err("remove session", e))?;
        let Some(data) = data else { return Ok(None) };
        let s: SpSession = serde_json::from_str(&data).map_err(|e| err("decode session", e))?;
        Ok(Some(s))
    }

    async fn remove_subject(
        &self,
        idp_entity_id: &str,
        name_id: &str,
    ) -> Result<usize, StoreError> {
        let mut conn = self.conn.clone();
        let n: usize = redis::Script::new(REMOVE_SUBJECT)
            .key(self.subject_key(idp_entity_id, name_id))
            .arg(self.session_prefix())
            .invoke_async(&mut conn)
            .await
            .map_err(|e| err("remove subject", e))?;
        Ok(n)
    }
}
