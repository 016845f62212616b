//! Trust Marks (OpenID Federation 1.0 §7): signed JWTs (`typ` `trust-mark+jwt`) in the
//! `trust_marks` claim of an Entity Configuration, issued by an entity the Trust Anchor names in
//! its `trust_mark_issuers` claim.
//!
//! The type identifier is read from `trust_mark_type` (OpenID Federation 1.0), falling back to
//! `trust_mark_id` and `id` (earlier drafts, still issued in the Italian federations).

use crate::jose::{self, Alg, JoseError, Jwks, VerifyOptions};
use crate::statement::{CLOCK_SKEW, EntityStatement};
use serde_json::{Map, Value};

/// The `typ` of a Trust Mark JWT.
pub const TRUST_MARK_TYP: &str = "trust-mark+jwt";
/// The `typ` of a Trust Mark delegation JWT.
pub const TRUST_MARK_DELEGATION_TYP: &str = "trust-mark-delegation+jwt";

/// Why a Trust Mark is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TrustMarkError {
    /// The `trust_marks` entry or the JWT claims are not what §7 requires.
    #[error("malformed trust mark: {0}")]
    Malformed(&'static str),
    /// The JWS failed a check (signature, `typ`, `alg`, `kid`).
    #[error("trust mark JWS: {0}")]
    Jose(#[from] JoseError),
    /// The entry's type differs from the JWT's.
    #[error("trust mark type {entry:?} in the entry, {jwt:?} in the JWT")]
    TypeMismatch {
        /// The entry's `trust_mark_type` / `id`.
        entry: String,
        /// The JWT's.
        jwt: String,
    },
    /// `sub` is not the entity whose Entity Configuration carries the mark.
    #[error("trust mark for {found:?}, carried by {expected:?}")]
    WrongSubject {
        /// The carrying entity.
        expected: String,
        /// The mark's `sub`.
        found: String,
    },
    /// `exp` is past.
    #[error("trust mark expired at {exp} (now {now})")]
    Expired {
        /// Expiry.
        exp: i64,
        /// Now.
        now: i64,
    },
    /// `iat` is in the future.
    #[error("trust mark issued in the future: iat {iat} (now {now})")]
    IssuedInFuture {
        /// Issued-at.
        iat: i64,
        /// Now.
        now: i64,
    },
    /// The Trust Anchor does not list the issuer for this type (or does not know the type).
    #[error("{issuer:?} is not a trusted issuer of trust mark {trust_mark_type:?}")]
    IssuerNotTrusted {
        /// The mark's `iss`.
        issuer: String,
        /// The mark's type.
        trust_mark_type: String,
    },
    /// The type is in the Trust Anchor's `trust_mark_owners` but the mark has no `delegation`.
    #[error("trust mark {0:?} has an owner but the mark carries no delegation")]
    DelegationMissing(String),
    /// The `delegation` fails a check of §7.2.1.
    #[error("trust mark delegation: {0}")]
    DelegationInvalid(&'static str),
    /// The `delegation` JWS fails (signature by the owner, `typ`, `alg`, `kid`).
    #[error("trust mark delegation JWS: {0}")]
    DelegationJose(JoseError),
    /// The issuer's keys could not be established (no valid Trust Chain for it).
    #[error("trust mark issuer {issuer:?} not resolved: {reason}")]
    IssuerUnresolved {
        /// The issuer.
        issuer: String,
        /// Why.
        reason: String,
    },
}

/// A verified Trust Mark.
#[derive(Debug, Clone, PartialEq)]
pub struct TrustMark {
    /// Its type identifier.
    pub trust_mark_type: String,
    /// Issuer.
    pub iss: String,
    /// Subject (the entity it was issued to).
    pub sub: String,
    /// Issued at.
    pub iat: i64,
    /// Expiry, if any.
    pub exp: Option<i64>,
    /// All claims.
    pub claims: Map<String, Value>,
}

fn type_of(o: &Map<String, Value>) -> Option<&str> {
    ["trust_mark_type", "trust_mark_id", "id"]
        .iter()
        .find_map(|k| o.get(*k).and_then(Value::as_str))
}

/// A `trust_marks` entry read without verification: `(type, JWT, issuer)`.
///
/// # Errors
/// [`TrustMarkError::Malformed`] or the JWS decoding error.
pub fn peek_trust_mark(entry: &Value) -> Result<(String, String, String), TrustMarkError> {
    let o = entry
        .as_object()
        .ok_or(TrustMarkError::Malformed("entry is not an object"))?;
    let ty = type_of(o).ok_or(TrustMarkError::Malformed("entry has no trust_mark_type"))?;
    let jwt = o
        .get("trust_mark")
        .and_then(Value::as_str)
        .ok_or(TrustMarkError::Malformed("entry has no trust_mark"))?;
    let (_, payload) = jose::decode_unverified(jwt)?;
    let claims: Map<String, Value> = serde_json::from_slice(&payload)
        .map_err(|_| TrustMarkError::Malformed("payload is not a JSON object"))?;
    let iss = claims
        .get("iss")
        .and_then(Value::as_str)
        .ok_or(TrustMarkError::Malformed("no iss"))?;
    Ok((ty.to_owned(), jwt.to_owned(), iss.to_owned()))
}

/// Checks that the Trust Anchor (its verified Entity Configuration) trusts `issuer` for marks of
/// `trust_mark_type` (`trust_mark_issuers`; an empty list lets anyone issue, §3.1.3).
///
/// # Errors
/// [`TrustMarkError::IssuerNotTrusted`].
pub fn check_issuer_trusted(
    trust_anchor: &EntityStatement,
    trust_mark_type: &str,
    issuer: &str,
) -> Result<(), TrustMarkError> {
    let not_trusted = || TrustMarkError::IssuerNotTrusted {
        issuer: issuer.into(),
        trust_mark_type: trust_mark_type.into(),
    };
    let issuers = trust_anchor
        .claims
        .get("trust_mark_issuers")
        .and_then(|v| v.get(trust_mark_type))
        .and_then(Value::as_array)
        .ok_or_else(not_trusted)?;
    if !issuers.is_empty() && !issuers.iter().any(|i| i.as_str() == Some(issuer)) {
        return Err(not_trusted());
    }
    Ok(())
}

/// Validates a Trust Mark delegation (§7.2.1) against the owner the Trust Anchor names for the
/// type (`trust_mark_owners`: `sub` and `jwks`).
fn verify_delegation(
    delegation: &Value,
    owner: &Value,
    issuer: &str,
    trust_mark_type: &str,
    algs: &[Alg],
    now: i64,
) -> Result<(), TrustMarkError> {
    let bad = TrustMarkError::DelegationInvalid;
    let jwt = delegation
        .as_str()
        .ok_or(bad("delegation is not a string"))?;
    let owner_id = owner
        .get("sub")
        .and_then(Value::as_str)
        .ok_or(bad("the trust anchor's trust_mark_owners entry has no sub"))?;
    let owner_jwks = Jwks::from_json(owner.get("jwks").ok_or(bad(
        "the trust anchor's trust_mark_owners entry has no jwks",
    ))?)
    .map_err(TrustMarkError::DelegationJose)?;
    let v = jose::verify(
        jwt,
        &owner_jwks,
        VerifyOptions {
            algs,
            typ: Some(TRUST_MARK_DELEGATION_TYP),
        },
    )
    .map_err(TrustMarkError::DelegationJose)?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&v.payload).map_err(|_| bad("payload is not a JSON object"))?;
    let s = |n| claims.get(n).and_then(Value::as_str);
    if s("iss") != Some(owner_id) {
        return Err(bad("iss is not the trust mark owner"));
    }
    if s("sub") != Some(issuer) {
        return Err(bad("sub is not the trust mark issuer"));
    }
    if type_of(&claims) != Some(trust_mark_type) {
        return Err(bad("trust_mark_type differs from the trust mark's"));
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(bad("no numeric iat"))?;
    if iat > now + CLOCK_SKEW {
        return Err(bad("issued in the future"));
    }
    match claims.get("exp") {
        None => Ok(()),
        Some(e) => match e.as_i64() {
            Some(exp) if exp > now => Ok(()),
            Some(_) => Err(bad("expired")),
            None => Err(bad("exp is not a number")),
        },
    }
}

/// Verifies a `trust_marks` entry of the Entity Configuration of `subject` (§7.3): the issuer is
/// trusted by the Trust Anchor, the JWT (`typ` `trust-mark+jwt`) verifies with the issuer's
/// Federation Entity Keys `issuer_jwks`, the types agree, `sub` is `subject`, `iat` is not in the
/// future and `exp`, if present, is not past; when the Trust Anchor names an owner for the type
/// (`trust_mark_owners`) the mark must carry a `delegation` signed by that owner to this issuer.
///
/// # Errors
/// The [`TrustMarkError`] naming the first failed check.
pub fn verify_trust_mark(
    entry: &Value,
    subject: &str,
    trust_anchor: &EntityStatement,
    issuer_jwks: &Jwks,
    algs: &[Alg],
    now: i64,
) -> Result<TrustMark, TrustMarkError> {
    let (entry_type, jwt, iss) = peek_trust_mark(entry)?;
    check_issuer_trusted(trust_anchor, &entry_type, &iss)?;
    let v = jose::verify(
        &jwt,
        issuer_jwks,
        VerifyOptions {
            algs,
            typ: Some(TRUST_MARK_TYP),
        },
    )?;
    let claims: Map<String, Value> = serde_json::from_slice(&v.payload)
        .map_err(|_| TrustMarkError::Malformed("payload is not a JSON object"))?;
    let s = |n| claims.get(n).and_then(Value::as_str);
    let jwt_type = type_of(&claims).ok_or(TrustMarkError::Malformed("no trust_mark_type"))?;
    if jwt_type != entry_type {
        return Err(TrustMarkError::TypeMismatch {
            entry: entry_type,
            jwt: jwt_type.into(),
        });
    }
    let sub = s("sub").ok_or(TrustMarkError::Malformed("no sub"))?;
    if sub != subject {
        return Err(TrustMarkError::WrongSubject {
            expected: subject.into(),
            found: sub.into(),
        });
    }
    let iat = claims
        .get("iat")
        .and_then(Value::as_i64)
        .ok_or(TrustMarkError::Malformed("no numeric iat"))?;
    if iat > now + CLOCK_SKEW {
        return Err(TrustMarkError::IssuedInFuture { iat, now });
    }
    let exp = match claims.get("exp") {
        None => None,
        Some(e) => Some(
            e.as_i64()
                .ok_or(TrustMarkError::Malformed("exp is not a number"))?,
        ),
    };
    if let Some(exp) = exp
        && exp <= now
    {
        return Err(TrustMarkError::Expired { exp, now });
    }
    let owner = trust_anchor
        .claims
        .get("trust_mark_owners")
        .and_then(|o| o.get(&entry_type));
    match (owner, claims.get("delegation")) {
        (None, None) => {}
        (Some(_), None) => return Err(TrustMarkError::DelegationMissing(entry_type)),
        (None, Some(_)) => {
            return Err(TrustMarkError::DelegationInvalid(
                "the trust anchor names no owner for this type",
            ));
        }
        (Some(owner), Some(d)) => verify_delegation(d, owner, &iss, &entry_type, algs, now)?,
    }
    Ok(TrustMark {
        trust_mark_type: entry_type,
        iss,
        sub: sub.into(),
        iat,
        exp,
        claims,
    })
}
