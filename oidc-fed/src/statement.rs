//! Entity statements (OpenID Federation 1.0 §3): the self-signed Entity Configuration served at
//! `/.well-known/openid-federation` (§9) and subordinate statements issued by a superior (§3,
//! fetch endpoint §8.1). Signed JWTs with `typ` `entity-statement+jwt`.

use crate::jose::{self, Alg, JoseError, Jwks, SigningKey, VerifyOptions};
use serde_json::{Map, Value};

/// The `typ` of every entity statement.
pub const ENTITY_STATEMENT_TYP: &str = "entity-statement+jwt";
/// Allowed clock skew (seconds) when checking `iat`.
pub const CLOCK_SKEW: i64 = 60;

/// What is wrong with an entity statement.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatementError {
    /// The JWS failed a check.
    #[error("entity statement JWS: {0}")]
    Jose(#[from] JoseError),
    /// A claim is missing or has the wrong type.
    #[error("entity statement claim {0:?} missing or invalid")]
    Claim(&'static str),
    /// `iss` or `sub` is not the entity expected.
    #[error("{claim}: expected {expected:?}, found {found:?}")]
    WrongEntity {
        /// `iss` or `sub`.
        claim: &'static str,
        /// Expected entity id.
        expected: String,
        /// Found.
        found: String,
    },
    /// `exp` is past.
    #[error("statement expired at {exp} (now {now})")]
    Expired {
        /// Expiry.
        exp: i64,
        /// Now.
        now: i64,
    },
    /// `iat` is in the future.
    #[error("statement issued in the future: iat {iat} (now {now})")]
    IssuedInFuture {
        /// Issued-at.
        iat: i64,
        /// Now.
        now: i64,
    },
    /// An OIDC key is also a federation key (they must be separate).
    #[error("key {0:?} is both a federation key and an OIDC key")]
    KeysNotSeparate(String),
}

/// A verified entity statement.
#[derive(Debug, Clone)]
pub struct EntityStatement {
    /// Issuer entity id.
    pub iss: String,
    /// Subject entity id.
    pub sub: String,
    /// Issued at (seconds since the epoch).
    pub iat: i64,
    /// Expiry (seconds since the epoch).
    pub exp: i64,
    /// The subject's federation keys.
    pub jwks: Jwks,
    /// `authority_hints` (Entity Configurations only).
    pub authority_hints: Vec<String>,
    /// `metadata` by entity type.
    pub metadata: Map<String, Value>,
    /// `metadata_policy` by entity type (subordinate statements only).
    pub metadata_policy: Map<String, Value>,
    /// `trust_marks`, unverified.
    pub trust_marks: Vec<Value>,
    /// All claims.
    pub claims: Map<String, Value>,
    /// The `kid` that verified it.
    pub kid: String,
}

fn parse(payload: &[u8], kid: String) -> Result<EntityStatement, StatementError> {
    let claims: Map<String, Value> =
        serde_json::from_slice(payload).map_err(|_| StatementError::Claim("payload"))?;
    let s = |n: &'static str| {
        claims
            .get(n)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(StatementError::Claim(n))
    };
    let i = |n: &'static str| {
        claims
            .get(n)
            .and_then(Value::as_i64)
            .ok_or(StatementError::Claim(n))
    };
    let obj = |n: &'static str| match claims.get(n) {
        None => Ok(Map::new()),
        Some(Value::Object(o)) => Ok(o.clone()),
        Some(_) => Err(StatementError::Claim(n)),
    };
    let authority_hints = match claims.get("authority_hints") {
        None => Vec::new(),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or(StatementError::Claim("authority_hints"))?,
        Some(_) => return Err(StatementError::Claim("authority_hints")),
    };
    let trust_marks = match claims.get("trust_marks") {
        None => Vec::new(),
        Some(Value::Array(a)) => a.clone(),
        Some(_) => return Err(StatementError::Claim("trust_marks")),
    };
    let jwks = Jwks::from_json(claims.get("jwks").ok_or(StatementError::Claim("jwks"))?)?;
    Ok(EntityStatement {
        iss: s("iss")?,
        sub: s("sub")?,
        iat: i("iat")?,
        exp: i("exp")?,
        jwks,
        authority_hints,
        metadata: obj("metadata")?,
        metadata_policy: obj("metadata_policy")?,
        trust_marks,
        kid,
        claims,
    })
}

fn check(st: &EntityStatement, iss: &str, sub: &str, now: i64) -> Result<(), StatementError> {
    for (claim, expected, found) in [("iss", iss, &st.iss), ("sub", sub, &st.sub)] {
        if expected != found {
            return Err(StatementError::WrongEntity {
                claim,
                expected: expected.into(),
                found: found.clone(),
            });
        }
    }
    if st.exp <= now {
        return Err(StatementError::Expired { exp: st.exp, now });
    }
    if st.iat > now + CLOCK_SKEW {
        return Err(StatementError::IssuedInFuture { iat: st.iat, now });
    }
    Ok(())
}

/// Verifies an Entity Configuration of `entity_id`: self-signed with a key of its own `jwks`,
/// `iss == sub == entity_id`, not expired, `typ` `entity-statement+jwt`.
///
/// # Errors
/// The [`StatementError`] naming the first failed check.
pub fn verify_entity_configuration(
    token: &str,
    entity_id: &str,
    algs: &[Alg],
    now: i64,
) -> Result<EntityStatement, StatementError> {
    let (_, payload) = jose::decode_unverified(token)?;
    let unverified = parse(&payload, String::new())?;
    verify_statement(token, &unverified.jwks, entity_id, entity_id, algs, now)
}

/// Verifies a statement issued by `iss` about `sub` with the issuer's keys `issuer_jwks`.
///
/// # Errors
/// The [`StatementError`] naming the first failed check.
pub fn verify_statement(
    token: &str,
    issuer_jwks: &Jwks,
    iss: &str,
    sub: &str,
    algs: &[Alg],
    now: i64,
) -> Result<EntityStatement, StatementError> {
    let opts = VerifyOptions {
        algs,
        typ: Some(ENTITY_STATEMENT_TYP),
    };
    let v = jose::verify(token, issuer_jwks, opts)?;
    let st = parse(&v.payload, v.kid)?;
    check(&st, iss, sub, now)?;
    Ok(st)
}

/// Builds and signs a Relying Party's Entity Configuration (§9): `jwks` holds the federation
/// keys only; `metadata.openid_relying_party.jwks` holds the OIDC keys, which must differ.
#[derive(Debug)]
pub struct EntityConfigurationBuilder<'k> {
    entity_id: String,
    federation_keys: &'k [SigningKey],
    oidc_jwks: Jwks,
    rp_metadata: Map<String, Value>,
    federation_entity: Map<String, Value>,
    authority_hints: Vec<String>,
    trust_marks: Vec<Value>,
    lifetime: i64,
}

impl<'k> EntityConfigurationBuilder<'k> {
    /// `federation_keys[0]` signs; all are published (rotation with overlap).
    pub fn new(
        entity_id: impl Into<String>,
        federation_keys: &'k [SigningKey],
        oidc_jwks: Jwks,
    ) -> Self {
        EntityConfigurationBuilder {
            entity_id: entity_id.into(),
            federation_keys,
            oidc_jwks,
            rp_metadata: Map::new(),
            federation_entity: Map::new(),
            authority_hints: Vec::new(),
            trust_marks: Vec::new(),
            lifetime: 86_400,
        }
    }
    /// `metadata.openid_relying_party` (its `jwks` is set from the OIDC keys).
    #[must_use]
    pub fn rp_metadata(mut self, m: Map<String, Value>) -> Self {
        self.rp_metadata = m;
        self
    }
    /// `metadata.federation_entity`.
    #[must_use]
    pub fn federation_entity(mut self, m: Map<String, Value>) -> Self {
        self.federation_entity = m;
        self
    }
    /// `authority_hints`.
    #[must_use]
    pub fn authority_hints(mut self, h: Vec<String>) -> Self {
        self.authority_hints = h;
        self
    }
    /// `trust_marks`.
    #[must_use]
    pub fn trust_marks(mut self, t: Vec<Value>) -> Self {
        self.trust_marks = t;
        self
    }
    /// Lifetime in seconds (`exp - iat`).
    #[must_use]
    pub fn lifetime(mut self, secs: i64) -> Self {
        self.lifetime = secs;
        self
    }
    /// Signs the Entity Configuration issued at `now`.
    ///
    /// # Errors
    /// [`StatementError::Claim`] with no federation key or no authority hint,
    /// [`StatementError::KeysNotSeparate`], or a signing failure.
    pub fn sign(self, now: i64) -> Result<String, StatementError> {
        let signer = self
            .federation_keys
            .first()
            .ok_or(StatementError::Claim("jwks"))?;
        if self.authority_hints.is_empty() {
            return Err(StatementError::Claim("authority_hints"));
        }
        let fed = Jwks {
            keys: self
                .federation_keys
                .iter()
                .map(SigningKey::public_jwk)
                .collect(),
        };
        for k in &self.oidc_jwks.keys {
            if fed
                .keys
                .iter()
                .any(|f| f.kid == k.kid || f.thumbprint() == k.thumbprint())
            {
                return Err(StatementError::KeysNotSeparate(k.kid.clone()));
            }
        }
        let mut rp = self.rp_metadata;
        rp.insert("jwks".into(), self.oidc_jwks.to_json());
        let claims = serde_json::json!({
            "iss": self.entity_id,
            "sub": self.entity_id,
            "iat": now,
            "exp": now + self.lifetime,
            "jwks": fed.to_json(),
            "authority_hints": self.authority_hints,
            "trust_marks": self.trust_marks,
            "metadata": {
                "openid_relying_party": rp,
                "federation_entity": self.federation_entity,
            },
        });
        Ok(signer.sign(Some(ENTITY_STATEMENT_TYP), claims.to_string().as_bytes())?)
    }
}
