//! Where an OP's OIDC keys come from: its metadata gives exactly one of `jwks` (inline),
//! `signed_jwks_uri` (a JWT signed with one of the entity's Federation Entity Keys, the keys
//! its Trust Chain establishes, `typ` `jwk-set+jwt`, OpenID Federation 1.0 §5.2.1) or
//! `jwks_uri` (a plain JWK Set over HTTPS, trusted only through the TLS of that URL).

use crate::chain::{Fetcher, TrustChain};
use crate::jose::{self, Alg, Jwks, VerifyOptions};
use crate::login::{LoginError, Provider};
use crate::statement::CLOCK_SKEW;
use serde_json::{Map, Value};

/// `typ` of a signed JWK Set.
pub const SIGNED_JWKS_TYP: &str = "jwk-set+jwt";

/// Which of the three the metadata uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeySource<'a> {
    Inline,
    Signed(&'a str),
    Uri(&'a str),
}

/// The key source of `openid_provider` metadata: exactly one of `jwks`, `signed_jwks_uri`,
/// `jwks_uri`.
pub(crate) fn key_source(m: &Map<String, Value>) -> Result<KeySource<'_>, LoginError> {
    let uri = |n: &'static str| match m.get(n) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(LoginError::ProviderMetadata(n)),
    };
    let signed = uri("signed_jwks_uri")?;
    let plain = uri("jwks_uri")?;
    let inline = m.contains_key("jwks");
    match (inline, signed, plain) {
        (true, None, None) => Ok(KeySource::Inline),
        (false, Some(s), None) => Ok(KeySource::Signed(s)),
        (false, None, Some(u)) => Ok(KeySource::Uri(u)),
        (false, None, None) => Err(LoginError::ProviderMetadata("jwks")),
        // OpenID Federation 1.0 §5.2.1: an entity using one of them must not use the others.
        _ => Err(LoginError::ProviderMetadata(
            "jwks (only one of jwks, jwks_uri, signed_jwks_uri)",
        )),
    }
}

/// Verifies a signed JWK Set of `entity_id`: signed with one of `federation_jwks` (the
/// entity's Federation Entity Keys as its Trust Chain establishes them, never keys the JWT
/// carries), `typ` `jwk-set+jwt`, `iss` and `sub` the entity, `iat` not in the future, `exp`
/// (when present) not past; returns its `keys`.
///
/// # Errors
/// [`LoginError::Jose`] for a signature that does not verify with a federation key (e.g. a
/// JWK Set signed with the OIDC key it publishes), [`LoginError::Jwks`] for the claims.
pub fn verify_signed_jwks(
    token: &str,
    entity_id: &str,
    federation_jwks: &Jwks,
    algs: &[Alg],
    now: i64,
) -> Result<Jwks, LoginError> {
    let v = jose::verify(
        token,
        federation_jwks,
        VerifyOptions {
            algs,
            typ: Some(SIGNED_JWKS_TYP),
        },
    )?;
    let bad = |reason: &str| LoginError::Jwks {
        origin: "signed_jwks_uri",
        reason: reason.into(),
    };
    let claims: Map<String, Value> =
        serde_json::from_slice(&v.payload).map_err(|_| bad("payload is not a JSON object"))?;
    if claims.get("iss").and_then(Value::as_str) != Some(entity_id) {
        return Err(bad("iss is not the entity"));
    }
    if claims.get("sub").and_then(Value::as_str) != Some(entity_id) {
        return Err(bad("sub is not the entity"));
    }
    match claims.get("iat") {
        None => {}
        Some(i) => match i.as_i64() {
            Some(iat) if iat <= now + CLOCK_SKEW => {}
            _ => return Err(bad("iat in the future or not a number")),
        },
    }
    match claims.get("exp") {
        None => {}
        Some(e) => match e.as_i64() {
            Some(exp) if exp > now => {}
            _ => return Err(bad("expired")),
        },
    }
    Jwks::from_json(&Value::Object(claims)).map_err(|e| bad(&e.to_string()))
}

fn media_type(ct: Option<&str>) -> String {
    ct.and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

impl Provider {
    /// From a verified Trust Chain whose subject is the OP, fetching its OIDC keys when the
    /// metadata gives `signed_jwks_uri` (verified with the Federation Entity Keys of the
    /// chain, [`verify_signed_jwks`]) or `jwks_uri` (an `application/json` JWK Set) instead of
    /// an inline `jwks`.
    ///
    /// # Errors
    /// [`LoginError::ProviderMetadata`] for missing members or several key sources,
    /// [`LoginError::Http`] when the fetch fails, [`LoginError::Jwks`] for a bad answer, the
    /// errors of [`verify_signed_jwks`].
    pub async fn from_chain_fetching(
        chain: &TrustChain,
        fetcher: &dyn Fetcher,
        now: i64,
    ) -> Result<Provider, LoginError> {
        let m = chain
            .metadata_of("openid_provider")
            .ok_or(LoginError::ProviderMetadata("openid_provider"))?;
        let (source, url) = match key_source(m)? {
            KeySource::Inline => return Provider::from_metadata(&chain.subject, m),
            KeySource::Signed(u) => ("signed_jwks_uri", u),
            KeySource::Uri(u) => ("jwks_uri", u),
        };
        let bad = |reason: String| LoginError::Jwks {
            origin: source,
            reason,
        };
        let r = fetcher.get(url).await?;
        if r.status != 200 {
            return Err(bad(format!("HTTP {}", r.status)));
        }
        let mt = media_type(r.content_type.as_deref());
        let jwks = if source == "signed_jwks_uri" {
            if mt != "application/jwk-set+jwt" {
                return Err(bad(format!(
                    "content type {mt:?}, expected application/jwk-set+jwt"
                )));
            }
            let body = std::str::from_utf8(&r.body).map_err(|_| bad("not UTF-8".into()))?;
            verify_signed_jwks(body.trim(), &chain.subject, &chain.jwks, &Alg::ALL, now)?
        } else {
            if mt != "application/json" && mt != "application/jwk-set+json" {
                return Err(bad(format!(
                    "content type {mt:?}, expected application/json"
                )));
            }
            let v: Value = serde_json::from_slice(&r.body).map_err(|_| bad("not JSON".into()))?;
            Jwks::from_json(&v).map_err(|e| bad(e.to_string()))?
        };
        if jwks.keys.is_empty() {
            return Err(bad("no keys".into()));
        }
        Provider::from_metadata_with_jwks(&chain.subject, m, jwks)
    }
}
