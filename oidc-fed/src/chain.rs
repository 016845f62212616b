//! Trust Chains (OpenID Federation 1.0 §10): from an entity's Entity Configuration up to a
//! configured Trust Anchor through `authority_hints` and the superiors'
//! `federation_fetch_endpoint`s; the chain verification of §10.2 (each statement signed with a
//! key of the next one up, the Trust Anchor's Entity Configuration with the configured keys);
//! constraints (§6.2); the resolved metadata (§6.1.4); Trust Marks; the chain's expiry (the
//! lowest `exp`, §10.4); OP discovery through the Trust Anchor's `federation_list_endpoint`
//! (§8.2); a cache that keeps the last good chain while a refresh fails.

use crate::jose::{self, Alg, Jwks};
use crate::policy::{MetadataPolicy, PolicyError};
use crate::statement::{
    EntityStatement, StatementError, verify_entity_configuration, verify_statement,
};
use crate::trust_mark::{self, TrustMark, TrustMarkError};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

/// Largest HTTP body a [`Fetcher`] should return (bytes).
pub const MAX_BODY: usize = 1024 * 1024;

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// `Content-Type`, if any.
    pub content_type: Option<String>,
    /// Body.
    pub body: Vec<u8>,
}

/// Why an HTTP GET did not produce an answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("GET {url}: {reason}")]
pub struct FetchError {
    /// The URL.
    pub url: String,
    /// What went wrong.
    pub reason: String,
}

/// HTTP GET, as the chain resolver needs it. Implemented on reqwest by `ReqwestFetcher`
/// (feature `http`); tests and applications may bring their own.
#[async_trait::async_trait]
pub trait Fetcher: Send + Sync {
    /// GETs `url`.
    async fn get(&self, url: &str) -> Result<HttpResponse, FetchError>;
}

/// A configured Trust Anchor: its Entity Identifier and Federation Entity Keys.
#[derive(Debug, Clone)]
pub struct TrustAnchor {
    /// Entity Identifier.
    pub entity_id: String,
    /// The keys its Entity Configuration must be signed with.
    pub jwks: Jwks,
}

/// Why no Trust Chain could be established.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The HTTP request failed.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The answer's status is not 200.
    #[error("GET {url}: HTTP {status}")]
    Http {
        /// URL.
        url: String,
        /// Status.
        status: u16,
    },
    /// The answer's content type is not the one required.
    #[error("GET {url}: content type {found:?}, expected {expected}")]
    ContentType {
        /// URL.
        url: String,
        /// Expected.
        expected: &'static str,
        /// Found.
        found: Option<String>,
    },
    /// A statement of `entity` (issued by or about it) fails verification.
    #[error("statement of {entity}: {source}")]
    Statement {
        /// The entity the statement was expected from / about.
        entity: String,
        /// The failure.
        source: Box<StatementError>,
    },
    /// A claim the chain cannot honour (`crit`, or a claim in the wrong kind of statement).
    #[error("statement of {entity}: claim {claim:?} {reason}")]
    Claim {
        /// The statement's issuer.
        entity: String,
        /// The claim.
        claim: String,
        /// Why.
        reason: &'static str,
    },
    /// A superior publishes no `federation_fetch_endpoint` (or no list endpoint, for discovery).
    #[error("{entity} publishes no {endpoint}")]
    NoEndpoint {
        /// The superior.
        entity: String,
        /// `federation_fetch_endpoint` or `federation_list_endpoint`.
        endpoint: &'static str,
    },
    /// The path ends at an entity that has no superior and is not a configured Trust Anchor.
    #[error("{entity} is not a configured trust anchor and has no authority hints")]
    UnknownTrustAnchor {
        /// The last entity of the path.
        entity: String,
    },
    /// An authority hint leads back to an entity already on the path.
    #[error("authority hint loop at {entity}")]
    Loop {
        /// The entity met twice.
        entity: String,
    },
    /// More Intermediates than the resolver allows.
    #[error("more than {max} intermediates above {entity}")]
    TooDeep {
        /// The entity where the path got too long.
        entity: String,
        /// The limit.
        max: usize,
    },
    /// Resolving took more HTTP requests than the resolver allows (a hostile or broken
    /// federation with many authority hints).
    #[error("more than {max} statements fetched resolving {subject}")]
    TooManyFetches {
        /// The chain subject.
        subject: String,
        /// The limit.
        max: usize,
    },
    /// A `max_path_length` constraint is exceeded.
    #[error("{issuer} allows {max} intermediates below it, the chain has {found}")]
    PathLength {
        /// The statement's issuer.
        issuer: String,
        /// Its `max_path_length`.
        max: u64,
        /// Intermediates between it and the subject.
        found: u64,
    },
    /// A `naming_constraints` constraint excludes an entity.
    #[error("{issuer}'s naming constraints exclude {entity}")]
    NamingConstraint {
        /// The statement's issuer.
        issuer: String,
        /// The excluded entity.
        entity: String,
    },
    /// The metadata policy is bad, conflicts, or the metadata violates it.
    #[error(transparent)]
    Policy(#[from] Box<PolicyError>),
    /// None of the required Trust Marks verified.
    #[error("{subject} has no valid trust mark of the types required ({rejected:?})")]
    MissingTrustMark {
        /// The chain subject.
        subject: String,
        /// The marks it carries that failed, with why.
        rejected: Vec<(String, TrustMarkError)>,
    },
    /// The list endpoint's answer is not a JSON array of strings.
    #[error("list endpoint of {entity}: {reason}")]
    List {
        /// The Trust Anchor.
        entity: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// A chain handed over has the wrong shape.
    #[error("malformed trust chain: {0}")]
    Malformed(&'static str),
    /// Several authority hints were tried and all failed.
    #[error("no valid trust chain for {subject}: {errors:?}")]
    NoValidChain {
        /// The entity whose superiors were tried.
        subject: String,
        /// Each hint's failure.
        errors: Vec<ChainError>,
    },
}

fn st_err(entity: &str) -> impl FnOnce(StatementError) -> ChainError + '_ {
    move |e| ChainError::Statement {
        entity: entity.into(),
        source: Box::new(e),
    }
}

/// A verified Trust Chain and what it establishes about its subject.
#[derive(Debug, Clone)]
pub struct TrustChain {
    /// The chain subject.
    pub subject: String,
    /// The Trust Anchor it ends at.
    pub trust_anchor: String,
    /// The statements (compact JWS): the subject's Entity Configuration, the Subordinate
    /// Statements upwards, the Trust Anchor's Entity Configuration (§4).
    pub statements: Vec<String>,
    /// The lowest `exp` of the statements: the chain is not valid from then on.
    pub exp: i64,
    /// The subject's Resolved Metadata (all its Entity Types).
    pub metadata: Map<String, Value>,
    /// The subject's Federation Entity Keys, as its Immediate Superior states them.
    pub jwks: Jwks,
    /// The Trust Marks of the subject that verified: those of its Entity Configuration and
    /// those its Immediate Superior publishes in the Subordinate Statement about it.
    pub trust_marks: Vec<TrustMark>,
    /// The Trust Marks that did not, with why.
    pub rejected_trust_marks: Vec<(String, TrustMarkError)>,
}

impl TrustChain {
    /// The Resolved Metadata of one Entity Type (e.g. `openid_provider`).
    pub fn metadata_of(&self, entity_type: &str) -> Option<&Map<String, Value>> {
        self.metadata.get(entity_type).and_then(Value::as_object)
    }
}

/// Claims no statement may carry in this implementation (`crit`: we understand no extension)
/// and claims only one kind of statement may carry (§3.2). Two exceptions of the Italian SPID /
/// CIE profile, both met in the official spid-cie-oidc Trust Anchor:
/// - for `is_anchor`, a Trust Anchor's Entity Configuration may carry `constraints` (the
///   federation's `max_path_length`). They are enforced like the constraints of the statements
///   the Trust Anchor issues (see [`check_constraints`]), so accepting them only adds checks.
/// - a Subordinate Statement may carry `trust_marks`: the superior "publishes the Trust Marks it
///   issued" for its subordinate there (italia.github.io/spid-cie-oidc-docs, Entity Statement;
///   OpenID Federation 1.0 keeps them to Entity Configurations). They are verified exactly like
///   the subject's own (see [`TrustChainResolver::resolve`]) and never trusted unverified.
fn check_claims(st: &EntityStatement, is_ec: bool, is_anchor: bool) -> Result<(), ChainError> {
    let bad = |claim: &str, reason| {
        Err(ChainError::Claim {
            entity: st.iss.clone(),
            claim: claim.into(),
            reason,
        })
    };
    if st.claims.contains_key("crit") {
        return bad(
            "crit",
            "names extensions this implementation does not process",
        );
    }
    // `trust_marks` is no longer in the list: see above
    let ec_only = [
        "authority_hints",
        "trust_anchor_hints",
        "trust_mark_issuers",
        "trust_mark_owners",
    ];
    let ss_only = [
        "metadata_policy",
        "metadata_policy_crit",
        "constraints",
        "source_endpoint",
    ];
    let (forbidden, reason) = if is_ec {
        (&ss_only[..], "is only for Subordinate Statements")
    } else {
        (&ec_only[..], "is only for Entity Configurations")
    };
    for c in forbidden {
        if is_anchor && *c == "constraints" {
            continue;
        }
        if st.claims.contains_key(*c) {
            return bad(c, reason);
        }
    }
    if st.iss != st.sub && is_ec {
        return bad("sub", "differs from iss in an Entity Configuration");
    }
    if st.iss == st.sub && !is_ec {
        return bad("sub", "equals iss in a Subordinate Statement");
    }
    Ok(())
}

fn host_of(entity_id: &str) -> Option<String> {
    url::Url::parse(entity_id)
        .ok()
        .and_then(|u| u.host_str().map(str::to_ascii_lowercase))
}

/// RFC 5280 §4.2.1.10 domain name constraint: `.example.it` matches sub-domains only,
/// `host.example.it` that host only.
fn name_matches(host: &str, constraint: &str) -> bool {
    let c = constraint.to_ascii_lowercase();
    if c.starts_with('.') {
        host.ends_with(&c)
    } else {
        host == c
    }
}

fn check_constraints(chain: &[EntityStatement]) -> Result<(), ChainError> {
    // chain[j] for 1 <= j <= n-2 are Subordinate Statements; chain[j] is issued j levels above
    // the subject, with j-1 intermediates between issuer and subject. chain[n-1], the Trust
    // Anchor's Entity Configuration, may carry constraints too (Italian profile): they bind
    // like those of the statement the Trust Anchor issued, chain[n-2].
    let n = chain.len();
    for j in 1..n {
        let st = &chain[j];
        let Some(c) = st.claims.get("constraints") else {
            continue;
        };
        let j = j.min(n - 2);
        let bad = |reason| ChainError::Claim {
            entity: st.iss.clone(),
            claim: "constraints".into(),
            reason,
        };
        let c = c.as_object().ok_or_else(|| bad("is not an object"))?;
        if let Some(m) = c.get("max_path_length") {
            let max = m
                .as_u64()
                .ok_or_else(|| bad("max_path_length is not a non-negative integer"))?;
            let found = (j - 1) as u64;
            if found > max {
                return Err(ChainError::PathLength {
                    issuer: st.iss.clone(),
                    max,
                    found,
                });
            }
        }
        if let Some(nc) = c.get("naming_constraints") {
            let list = |k| -> Result<Vec<String>, ChainError> {
                match nc.get(k) {
                    None => Ok(Vec::new()),
                    Some(Value::Array(a)) => a
                        .iter()
                        .map(|v| v.as_str().map(str::to_owned))
                        .collect::<Option<Vec<_>>>()
                        .ok_or_else(|| bad("naming_constraints lists non-strings")),
                    Some(_) => Err(bad("naming_constraints is malformed")),
                }
            };
            let (permitted, excluded) = (list("permitted")?, list("excluded")?);
            // the entities below the issuer: the subject and the intermediates under it
            for below in &chain[..j] {
                let entity = &below.sub;
                let host = host_of(entity).unwrap_or_default();
                let excluded_hit = excluded.iter().any(|e| name_matches(&host, e));
                let permitted_ok =
                    permitted.is_empty() || permitted.iter().any(|p| name_matches(&host, p));
                if excluded_hit || !permitted_ok {
                    return Err(ChainError::NamingConstraint {
                        issuer: st.iss.clone(),
                        entity: entity.clone(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Applies the Immediate Superior's `metadata` (overriding parameters of the Entity Types the
/// subject has), the `allowed_entity_types` constraints, then the resolved metadata policy.
fn resolve_metadata(chain: &[EntityStatement]) -> Result<Map<String, Value>, ChainError> {
    let n = chain.len();
    let mut md = chain[0].metadata.clone();
    for (ty, over) in &chain[1].metadata {
        if let (Some(Value::Object(m)), Some(over)) = (md.get_mut(ty), over.as_object()) {
            for (k, v) in over {
                m.insert(k.clone(), v.clone());
            }
        }
    }
    // the Trust Anchor's Entity Configuration (chain[n-1]) may carry constraints too
    for st in &chain[1..n] {
        if let Some(allowed) = st
            .claims
            .get("constraints")
            .and_then(|c| c.get("allowed_entity_types"))
        {
            let allowed = allowed.as_array().ok_or_else(|| ChainError::Claim {
                entity: st.iss.clone(),
                claim: "constraints".into(),
                reason: "allowed_entity_types is not an array",
            })?;
            md.retain(|ty, _| {
                ty == "federation_entity" || allowed.iter().any(|a| a.as_str() == Some(ty))
            });
        }
    }
    let crits: Vec<Vec<String>> = chain[1..n - 1]
        .iter()
        .map(|st| match st.claims.get("metadata_policy_crit") {
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| v.as_str().unwrap_or("").to_owned())
                .collect(),
            Some(_) => vec![String::new()],
            None => Vec::new(),
        })
        .collect();
    // from the statement issued by the Trust Anchor down to the Immediate Superior's
    let steps = chain[1..n - 1]
        .iter()
        .zip(&crits)
        .rev()
        .map(|(st, crit)| (st.iss.as_str(), &st.metadata_policy, crit.as_slice()));
    let policy = MetadataPolicy::resolve(steps).map_err(Box::new)?;
    Ok(policy.apply(&chain[0].sub, &md).map_err(Box::new)?)
}

/// Verifies a Trust Chain given as compact JWSs (the subject's Entity Configuration, the
/// Subordinate Statements upwards, the Trust Anchor's Entity Configuration), as §10.2 lays out,
/// enforces the constraints and resolves the subject's metadata. Trust Marks are not looked at
/// (see [`TrustChainResolver`]).
///
/// # Errors
/// The [`ChainError`] of the first failed check.
pub fn verify_trust_chain(
    statements: &[String],
    anchors: &[TrustAnchor],
    algs: &[Alg],
    now: i64,
) -> Result<TrustChain, ChainError> {
    let n = statements.len();
    if n < 3 {
        return Err(ChainError::Malformed(
            "fewer than three statements (subject, superior, trust anchor)",
        ));
    }
    // the Trust Anchor's Entity Configuration, with the configured keys
    let (_, ta_payload) = jose::decode_unverified(&statements[n - 1])
        .map_err(|e| st_err("trust anchor")(e.into()))?;
    let ta_id = serde_json::from_slice::<Value>(&ta_payload)
        .ok()
        .and_then(|v| v.get("iss").and_then(Value::as_str).map(str::to_owned))
        .ok_or(ChainError::Malformed("trust anchor statement has no iss"))?;
    let anchor = anchors
        .iter()
        .find(|a| a.entity_id == ta_id)
        .ok_or_else(|| ChainError::UnknownTrustAnchor {
            entity: ta_id.clone(),
        })?;
    let mut verified: Vec<EntityStatement> = Vec::with_capacity(n);
    let ta = verify_statement(&statements[n - 1], &anchor.jwks, &ta_id, &ta_id, algs, now)
        .map_err(st_err(&ta_id))?;
    check_claims(&ta, true, true)?;
    verified.push(ta);
    // downwards: statements[j] verifies with a key of statements[j+1]'s jwks, and its iss is
    // the sub of statements[j+1]
    for j in (0..n - 1).rev() {
        let above = &verified[verified.len() - 1];
        let (_, payload) =
            jose::decode_unverified(&statements[j]).map_err(|e| st_err(&above.sub)(e.into()))?;
        let sub = serde_json::from_slice::<Value>(&payload)
            .ok()
            .and_then(|v| v.get("sub").and_then(Value::as_str).map(str::to_owned))
            .ok_or(ChainError::Malformed("statement has no sub"))?;
        let st = verify_statement(&statements[j], &above.jwks, &above.sub, &sub, algs, now)
            .map_err(st_err(&sub))?;
        check_claims(&st, j == 0, false)?;
        verified.push(st);
    }
    verified.reverse();
    // the subject's Entity Configuration is self-signed too, and names its superior
    let subject = verified[0].sub.clone();
    verify_entity_configuration(&statements[0], &subject, algs, now).map_err(st_err(&subject))?;
    if !verified[0].authority_hints.contains(&verified[1].iss) {
        return Err(ChainError::Claim {
            entity: subject,
            claim: "authority_hints".into(),
            reason: "does not name the issuer of the statement about it",
        });
    }
    check_constraints(&verified)?;
    let metadata = resolve_metadata(&verified)?;
    let exp = verified.iter().map(|s| s.exp).min().unwrap_or(i64::MIN);
    Ok(TrustChain {
        subject,
        trust_anchor: ta_id,
        statements: statements.to_vec(),
        exp,
        metadata,
        jwks: verified[1].jwks.clone(),
        trust_marks: Vec::new(),
        rejected_trust_marks: Vec::new(),
    })
}

/// The URL of an entity's Entity Configuration (§9).
pub fn entity_configuration_url(entity_id: &str) -> String {
    format!(
        "{}/.well-known/openid-federation",
        entity_id.trim_end_matches('/')
    )
}

fn media_type_is(ct: Option<&str>, expected: &str) -> bool {
    ct.and_then(|c| c.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case(expected))
}

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Builds and verifies Trust Chains over HTTP.
#[derive(Debug, Clone)]
pub struct TrustChainResolver<F> {
    fetcher: F,
    anchors: Vec<TrustAnchor>,
    algs: Vec<Alg>,
    max_intermediates: usize,
    max_hints: usize,
    max_fetches: usize,
    required_trust_marks: Vec<String>,
}

/// The state of one resolution: the entities on the current path and the fetches left.
struct Walk {
    subject: String,
    path: Vec<String>,
    fetches_left: usize,
}

impl<F: Fetcher> TrustChainResolver<F> {
    /// A resolver trusting `anchors`, accepting every implemented algorithm, at most 3
    /// Intermediates, 5 authority hints per entity and 32 statements fetched above the subject,
    /// no Trust Mark required.
    pub fn new(fetcher: F, anchors: Vec<TrustAnchor>) -> Self {
        TrustChainResolver {
            fetcher,
            anchors,
            algs: Alg::ALL.to_vec(),
            max_intermediates: 3,
            max_hints: 5,
            max_fetches: 32,
            required_trust_marks: Vec::new(),
        }
    }
    /// The most statements (Entity Configurations and Subordinate Statements of superiors)
    /// fetched while resolving one chain.
    #[must_use]
    pub fn max_fetches(mut self, n: usize) -> Self {
        self.max_fetches = n;
        self
    }
    /// Algorithms accepted for statements and Trust Marks.
    #[must_use]
    pub fn algs(mut self, algs: &[Alg]) -> Self {
        self.algs = algs.to_vec();
        self
    }
    /// The largest number of Intermediates between a subject and a Trust Anchor.
    #[must_use]
    pub fn max_intermediates(mut self, n: usize) -> Self {
        self.max_intermediates = n;
        self
    }
    /// Chains are refused unless the subject carries a valid Trust Mark of one of these types
    /// (e.g. the Italian federation's `…/openid_provider/public/`).
    #[must_use]
    pub fn require_trust_marks(mut self, types: Vec<String>) -> Self {
        self.required_trust_marks = types;
        self
    }
    /// The configured Trust Anchors.
    pub fn anchors(&self) -> &[TrustAnchor] {
        &self.anchors
    }

    async fn get_jwt(&self, url: &str) -> Result<String, ChainError> {
        let r = self.fetcher.get(url).await?;
        if r.status != 200 {
            return Err(ChainError::Http {
                url: url.into(),
                status: r.status,
            });
        }
        if !media_type_is(
            r.content_type.as_deref(),
            "application/entity-statement+jwt",
        ) {
            return Err(ChainError::ContentType {
                url: url.into(),
                expected: "application/entity-statement+jwt",
                found: r.content_type,
            });
        }
        String::from_utf8(r.body).map_err(|_| {
            st_err(url)(StatementError::Jose(jose::JoseError::Malformed(
                "not UTF-8",
            )))
        })
    }

    /// Fetches and verifies an Entity Configuration (with the configured keys for a Trust
    /// Anchor, with its own keys otherwise).
    async fn entity_configuration(
        &self,
        entity_id: &str,
        now: i64,
    ) -> Result<(String, EntityStatement), ChainError> {
        let jwt = self.get_jwt(&entity_configuration_url(entity_id)).await?;
        let st = match self.anchors.iter().find(|a| a.entity_id == entity_id) {
            Some(a) => verify_statement(&jwt, &a.jwks, entity_id, entity_id, &self.algs, now),
            None => verify_entity_configuration(&jwt, entity_id, &self.algs, now),
        }
        .map_err(st_err(entity_id))?;
        check_claims(
            &st,
            true,
            self.anchors.iter().any(|a| a.entity_id == entity_id),
        )?;
        Ok((jwt, st))
    }

    /// From `entity` (its verified EC) up to a Trust Anchor: the statements above it.
    fn climb<'a>(
        &'a self,
        entity: &'a EntityStatement,
        walk: &'a mut Walk,
        now: i64,
    ) -> BoxFut<'a, Result<Vec<String>, ChainError>> {
        Box::pin(async move {
            if entity.authority_hints.is_empty() {
                return Err(ChainError::UnknownTrustAnchor {
                    entity: entity.sub.clone(),
                });
            }
            let mut errors = Vec::new();
            for hint in entity.authority_hints.iter().take(self.max_hints) {
                if walk.path.contains(hint) {
                    errors.push(ChainError::Loop {
                        entity: hint.clone(),
                    });
                    continue;
                }
                walk.path.push(hint.clone());
                match self.climb_hint(entity, hint, walk, now).await {
                    Ok(up) => return Ok(up),
                    Err(e @ ChainError::TooManyFetches { .. }) => return Err(e),
                    Err(e) => errors.push(e),
                }
                walk.path.pop();
            }
            if errors.len() == 1 {
                Err(errors.remove(0))
            } else {
                Err(ChainError::NoValidChain {
                    subject: entity.sub.clone(),
                    errors,
                })
            }
        })
    }

    async fn climb_hint(
        &self,
        entity: &EntityStatement,
        hint: &str,
        walk: &mut Walk,
        now: i64,
    ) -> Result<Vec<String>, ChainError> {
        let is_anchor = self.anchors.iter().any(|a| a.entity_id == hint);
        // path = [subject, superiors..., hint]: if hint is no anchor it is intermediate number
        // path.len() - 1
        if !is_anchor && walk.path.len() - 1 > self.max_intermediates {
            return Err(ChainError::TooDeep {
                entity: entity.sub.clone(),
                max: self.max_intermediates,
            });
        }
        // two fetches: the superior's configuration and its statement about the entity
        walk.fetches_left =
            walk.fetches_left
                .checked_sub(2)
                .ok_or_else(|| ChainError::TooManyFetches {
                    subject: walk.subject.clone(),
                    max: self.max_fetches,
                })?;
        let (sup_jwt, sup) = self.entity_configuration(hint, now).await?;
        let endpoint = sup
            .metadata
            .get("federation_entity")
            .and_then(|f| f.get("federation_fetch_endpoint"))
            .and_then(Value::as_str)
            .ok_or_else(|| ChainError::NoEndpoint {
                entity: hint.into(),
                endpoint: "federation_fetch_endpoint",
            })?;
        let mut url = url::Url::parse(endpoint).map_err(|_| ChainError::NoEndpoint {
            entity: hint.into(),
            endpoint: "federation_fetch_endpoint",
        })?;
        url.query_pairs_mut().append_pair("sub", &entity.sub);
        let stmt_jwt = self.get_jwt(url.as_str()).await?;
        // checked here to stop early; verify_trust_chain checks everything again
        let stmt = verify_statement(&stmt_jwt, &sup.jwks, hint, &entity.sub, &self.algs, now)
            .map_err(st_err(&entity.sub))?;
        check_claims(&stmt, false, false)?;
        let mut up = vec![stmt_jwt];
        if is_anchor {
            up.push(sup_jwt);
        } else {
            up.extend(self.climb(&sup, walk, now).await?);
        }
        Ok(up)
    }

    /// Resolves and verifies a Trust Chain for `subject` (fetching its Entity Configuration),
    /// then verifies its Trust Marks: those of its Entity Configuration and those its Immediate
    /// Superior publishes in the Subordinate Statement about it (Italian profile). Each is
    /// checked as [`verify_trust_mark`](crate::verify_trust_mark) lays out; a mark that fails
    /// is listed in [`TrustChain::rejected_trust_marks`] and counts for nothing.
    ///
    /// # Errors
    /// The [`ChainError`] of the path tried (or [`ChainError::NoValidChain`] with each path's).
    pub async fn resolve(&self, subject: &str, now: i64) -> Result<TrustChain, ChainError> {
        self.resolve_inner(subject, now, true).await
    }

    fn resolve_inner<'a>(
        &'a self,
        subject: &'a str,
        now: i64,
        marks: bool,
    ) -> BoxFut<'a, Result<TrustChain, ChainError>> {
        Box::pin(async move {
            let jwt = self.get_jwt(&entity_configuration_url(subject)).await?;
            let ec = verify_entity_configuration(&jwt, subject, &self.algs, now)
                .map_err(st_err(subject))?;
            check_claims(&ec, true, false)?;
            let mut walk = Walk {
                subject: subject.to_owned(),
                path: vec![subject.to_owned()],
                fetches_left: self.max_fetches,
            };
            let mut statements = vec![jwt];
            statements.extend(self.climb(&ec, &mut walk, now).await?);
            let mut chain = verify_trust_chain(&statements, &self.anchors, &self.algs, now)?;
            if marks {
                self.check_trust_marks(&mut chain, &ec, now).await?;
            }
            Ok(chain)
        })
    }

    async fn check_trust_marks(
        &self,
        chain: &mut TrustChain,
        ec: &EntityStatement,
        now: i64,
    ) -> Result<(), ChainError> {
        let Some(ta_jwt) = chain.statements.last() else {
            return Ok(());
        };
        let anchor = self
            .anchors
            .iter()
            .find(|a| a.entity_id == chain.trust_anchor)
            .ok_or_else(|| ChainError::UnknownTrustAnchor {
                entity: chain.trust_anchor.clone(),
            })?;
        let ta = verify_statement(
            ta_jwt,
            &anchor.jwks,
            &anchor.entity_id,
            &anchor.entity_id,
            &self.algs,
            now,
        )
        .map_err(st_err(&anchor.entity_id))?;
        // the subject's own, then those its Immediate Superior publishes in the Subordinate
        // Statement about it (Italian profile); statements[1] is that statement, verified by
        // verify_trust_chain just before. A mark met in both is checked once.
        let from_superior = chain
            .statements
            .get(1)
            .and_then(|st| jose::decode_unverified(st).ok())
            .and_then(|(_, p)| serde_json::from_slice::<Value>(&p).ok())
            .and_then(|v| match v.get("trust_marks") {
                Some(Value::Array(a)) => Some(a.clone()),
                _ => None,
            })
            .unwrap_or_default();
        let mut seen = Vec::new();
        for entry in ec.trust_marks.iter().chain(&from_superior) {
            let jwt = entry.get("trust_mark").and_then(Value::as_str);
            if jwt.is_some() && seen.contains(&jwt) {
                continue;
            }
            seen.push(jwt);
            let r = self.check_trust_mark(entry, chain, &ta, now).await;
            match r {
                Ok(tm) => chain.trust_marks.push(tm),
                Err((ty, e)) => chain.rejected_trust_marks.push((ty, e)),
            }
        }
        if !self.required_trust_marks.is_empty()
            && !chain
                .trust_marks
                .iter()
                .any(|t| self.required_trust_marks.contains(&t.trust_mark_type))
        {
            return Err(ChainError::MissingTrustMark {
                subject: chain.subject.clone(),
                rejected: chain.rejected_trust_marks.clone(),
            });
        }
        Ok(())
    }

    async fn check_trust_mark(
        &self,
        entry: &Value,
        chain: &TrustChain,
        ta: &EntityStatement,
        now: i64,
    ) -> Result<TrustMark, (String, TrustMarkError)> {
        let (ty, _, iss) = trust_mark::peek_trust_mark(entry).map_err(|e| (String::new(), e))?;
        let fail = |e| (ty.clone(), e);
        // the issuer must be trusted before its keys are even looked for
        trust_mark::check_issuer_trusted(ta, &ty, &iss).map_err(fail)?;
        let issuer_jwks = if iss == ta.sub {
            ta.jwks.clone()
        } else if iss == chain.subject {
            chain.jwks.clone()
        } else {
            // trust in the issuer: a Trust Chain of its own, to the same Trust Anchor
            let c = self.resolve_inner(&iss, now, false).await.map_err(|e| {
                fail(TrustMarkError::IssuerUnresolved {
                    issuer: iss.clone(),
                    reason: e.to_string(),
                })
            })?;
            if c.trust_anchor != chain.trust_anchor {
                return Err(fail(TrustMarkError::IssuerUnresolved {
                    issuer: iss.clone(),
                    reason: format!("its chain ends at {}", c.trust_anchor),
                }));
            }
            c.jwks
        };
        trust_mark::verify_trust_mark(entry, &chain.subject, ta, &issuer_jwks, &self.algs, now)
            .map_err(fail)
    }

    /// The Entity Identifiers the Trust Anchor `ta` lists at its `federation_list_endpoint`
    /// for `entity_type` (e.g. `openid_provider`), its Entity Configuration verified with the
    /// configured keys.
    ///
    /// # Errors
    /// [`ChainError`] if the Trust Anchor is not configured, or its configuration or list fail.
    pub async fn list_subordinates(
        &self,
        ta: &str,
        entity_type: &str,
        now: i64,
    ) -> Result<Vec<String>, ChainError> {
        if !self.anchors.iter().any(|a| a.entity_id == ta) {
            return Err(ChainError::UnknownTrustAnchor { entity: ta.into() });
        }
        let (_, ec) = self.entity_configuration(ta, now).await?;
        let no_list = || ChainError::NoEndpoint {
            entity: ta.into(),
            endpoint: "federation_list_endpoint",
        };
        let endpoint = ec
            .metadata
            .get("federation_entity")
            .and_then(|f| f.get("federation_list_endpoint"))
            .and_then(Value::as_str)
            .ok_or_else(no_list)?;
        let mut url = url::Url::parse(endpoint).map_err(|_| no_list())?;
        url.query_pairs_mut()
            .append_pair("entity_type", entity_type);
        let r = self.fetcher.get(url.as_str()).await?;
        if r.status != 200 {
            return Err(ChainError::Http {
                url: url.into(),
                status: r.status,
            });
        }
        if !media_type_is(r.content_type.as_deref(), "application/json") {
            return Err(ChainError::ContentType {
                url: url.into(),
                expected: "application/json",
                found: r.content_type,
            });
        }
        let list: Vec<Value> = serde_json::from_slice(&r.body).map_err(|_| ChainError::List {
            entity: ta.into(),
            reason: "not a JSON array",
        })?;
        list.into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(ChainError::List {
                    entity: ta.into(),
                    reason: "an element is not a string",
                }),
            })
            .collect()
    }

    /// OP discovery (Italian profile, "Metadata retrieval"): the OPs the Trust Anchor lists,
    /// each with its Trust Chain or why it has none.
    ///
    /// # Errors
    /// As [`TrustChainResolver::list_subordinates`].
    pub async fn discover_providers(
        &self,
        ta: &str,
        now: i64,
    ) -> Result<Vec<(String, Result<TrustChain, ChainError>)>, ChainError> {
        let ids = self.list_subordinates(ta, "openid_provider", now).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let r = self.resolve(&id, now).await.and_then(|c| {
                if c.metadata_of("openid_provider").is_some() {
                    Ok(c)
                } else {
                    Err(ChainError::Claim {
                        entity: id.clone(),
                        claim: "metadata".into(),
                        reason: "has no openid_provider metadata",
                    })
                }
            });
            out.push((id, r));
        }
        Ok(out)
    }
}

#[derive(Debug)]
struct Entry {
    chain: Arc<TrustChain>,
    last_error: Option<ChainError>,
}

/// Trust Chains cached until they expire. A chain is refreshed when less than `refresh_before`
/// seconds of it remain; if the refresh fails, the last good chain stays in use until its own
/// expiry (and the failure is kept for [`TrustChainCache::last_error`]).
#[derive(Debug)]
pub struct TrustChainCache<F> {
    resolver: TrustChainResolver<F>,
    refresh_before: i64,
    entries: Mutex<HashMap<String, Entry>>,
}

impl<F: Fetcher> TrustChainCache<F> {
    /// A cache over `resolver`, refreshing chains `refresh_before` seconds before they expire.
    pub fn new(resolver: TrustChainResolver<F>, refresh_before: i64) -> Self {
        TrustChainCache {
            resolver,
            refresh_before,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The resolver.
    pub fn resolver(&self) -> &TrustChainResolver<F> {
        &self.resolver
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The cached chain for `subject` if it is still fresh, else a refreshed one.
    ///
    /// # Errors
    /// The resolution error when there is no chain still valid at `now`.
    pub async fn get(&self, subject: &str, now: i64) -> Result<Arc<TrustChain>, ChainError> {
        if let Some(e) = self.entries().get(subject)
            && now < e.chain.exp - self.refresh_before
        {
            return Ok(e.chain.clone());
        }
        self.refresh(subject, now).await
    }

    /// Resolves `subject` again. On failure the previous chain is returned (and kept) while it
    /// has not expired.
    ///
    /// # Errors
    /// The resolution error when there is no previous chain valid at `now`.
    pub async fn refresh(&self, subject: &str, now: i64) -> Result<Arc<TrustChain>, ChainError> {
        match self.resolver.resolve(subject, now).await {
            Ok(c) => {
                let c = Arc::new(c);
                self.entries().insert(
                    subject.into(),
                    Entry {
                        chain: c.clone(),
                        last_error: None,
                    },
                );
                Ok(c)
            }
            Err(err) => {
                let mut entries = self.entries();
                match entries.get_mut(subject) {
                    Some(e) if now < e.chain.exp => {
                        e.last_error = Some(err);
                        Ok(e.chain.clone())
                    }
                    _ => {
                        entries.remove(subject);
                        Err(err)
                    }
                }
            }
        }
    }

    /// Refreshes every cached chain that is due; returns how many refreshes failed.
    pub async fn refresh_due(&self, now: i64) -> usize {
        let due: Vec<String> = self
            .entries()
            .iter()
            .filter(|(_, e)| now >= e.chain.exp - self.refresh_before)
            .map(|(k, _)| k.clone())
            .collect();
        let mut failed = 0;
        for s in due {
            let r = self.refresh(&s, now).await;
            if r.is_err() || self.last_error(&s).is_some() {
                failed += 1;
            }
        }
        failed
    }

    /// Why the last refresh of `subject` failed, if it did and the old chain is still in use.
    pub fn last_error(&self, subject: &str) -> Option<ChainError> {
        self.entries()
            .get(subject)
            .and_then(|e| e.last_error.clone())
    }
}

#[cfg(feature = "http")]
mod http {
    use super::{FetchError, Fetcher, HttpResponse, MAX_BODY, TrustChainCache};
    use std::sync::Arc;
    use std::time::Duration;

    /// [`Fetcher`] on reqwest with rustls: HTTPS only (plain HTTP only to loopback addresses when
    /// allowed, for tests), no redirects, a timeout, bodies capped at [`MAX_BODY`].
    #[derive(Debug, Clone)]
    pub struct ReqwestFetcher {
        client: reqwest::Client,
        allow_loopback_http: bool,
    }

    impl ReqwestFetcher {
        /// A fetcher with a 10 s timeout.
        ///
        /// # Errors
        /// [`FetchError`] if the TLS client cannot be built.
        pub fn new() -> Result<Self, FetchError> {
            let client = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .map_err(|e| FetchError {
                    url: String::new(),
                    reason: e.to_string(),
                })?;
            Ok(ReqwestFetcher {
                client,
                allow_loopback_http: false,
            })
        }
        /// A fetcher that also trusts the CA certificates in `pem` (one or more PEM
        /// `CERTIFICATE` blocks) besides the built-in roots: a private federation's CA, or a
        /// test CA for servers on 127.0.0.1.
        ///
        /// # Errors
        /// [`FetchError`] if `pem` holds no readable certificate or the client cannot be built.
        pub fn with_root_certificates_pem(pem: &[u8]) -> Result<Self, FetchError> {
            let fail = |reason: String| FetchError {
                url: String::new(),
                reason,
            };
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| fail(format!("root certificates: {e}")))?;
            if certs.is_empty() {
                return Err(fail("root certificates: no PEM CERTIFICATE block".into()));
            }
            let mut builder = reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10));
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
            let client = builder.build().map_err(|e| fail(e.to_string()))?;
            Ok(ReqwestFetcher {
                client,
                allow_loopback_http: false,
            })
        }
        /// Also allows `http://127.0.0.1`, `http://[::1]` and `http://localhost` (tests).
        #[must_use]
        pub fn allow_loopback_http(mut self) -> Self {
            self.allow_loopback_http = true;
            self
        }
    }

    #[async_trait::async_trait]
    impl Fetcher for ReqwestFetcher {
        async fn get(&self, url: &str) -> Result<HttpResponse, FetchError> {
            let fail = |reason: String| FetchError {
                url: url.into(),
                reason,
            };
            let u = url::Url::parse(url).map_err(|e| fail(e.to_string()))?;
            let loopback = matches!(u.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
            match u.scheme() {
                "https" => {}
                "http" if self.allow_loopback_http && loopback => {}
                s => return Err(fail(format!("scheme {s:?} not allowed"))),
            }
            let mut r = self
                .client
                .get(u)
                .send()
                .await
                .map_err(|e| fail(e.to_string()))?;
            let status = r.status().as_u16();
            let content_type = r
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let mut body = Vec::new();
            while let Some(chunk) = r.chunk().await.map_err(|e| fail(e.to_string()))? {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(fail(format!("body larger than {MAX_BODY} bytes")));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(HttpResponse {
                status,
                content_type,
                body,
            })
        }
    }

    impl ReqwestFetcher {
        fn check_url(&self, url: &str) -> Result<url::Url, FetchError> {
            let fail = |reason: String| FetchError {
                url: url.into(),
                reason,
            };
            let u = url::Url::parse(url).map_err(|e| fail(e.to_string()))?;
            let loopback = matches!(u.host_str(), Some("127.0.0.1" | "[::1]" | "localhost"));
            match u.scheme() {
                "https" => Ok(u),
                "http" if self.allow_loopback_http && loopback => Ok(u),
                s => Err(fail(format!("scheme {s:?} not allowed"))),
            }
        }

        async fn read(url: &str, mut r: reqwest::Response) -> Result<HttpResponse, FetchError> {
            let fail = |reason: String| FetchError {
                url: url.into(),
                reason,
            };
            let status = r.status().as_u16();
            let content_type = r
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let mut body = Vec::new();
            while let Some(chunk) = r.chunk().await.map_err(|e| fail(e.to_string()))? {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(fail(format!("body larger than {MAX_BODY} bytes")));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(HttpResponse {
                status,
                content_type,
                body,
            })
        }
    }

    #[async_trait::async_trait]
    impl crate::login::OidcHttp for ReqwestFetcher {
        async fn post_form(
            &self,
            url: &str,
            form: &[(String, String)],
            bearer: Option<&str>,
        ) -> Result<HttpResponse, FetchError> {
            let u = self.check_url(url)?;
            let body: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(form)
                .finish();
            let mut req = self
                .client
                .post(u)
                .header(
                    reqwest::header::CONTENT_TYPE,
                    "application/x-www-form-urlencoded",
                )
                .body(body);
            if let Some(t) = bearer {
                req = req.bearer_auth(t);
            }
            let r = req.send().await.map_err(|e| FetchError {
                url: url.into(),
                reason: e.to_string(),
            })?;
            Self::read(url, r).await
        }

        async fn get_bearer(&self, url: &str, token: &str) -> Result<HttpResponse, FetchError> {
            let u = self.check_url(url)?;
            let r = self
                .client
                .get(u)
                .bearer_auth(token)
                .send()
                .await
                .map_err(|e| FetchError {
                    url: url.into(),
                    reason: e.to_string(),
                })?;
            Self::read(url, r).await
        }
    }

    /// Spawns a tokio task that calls [`TrustChainCache::refresh_due`] every `every`, with the
    /// system clock.
    pub fn spawn_refresher<F: Fetcher + 'static>(
        cache: Arc<TrustChainCache<F>>,
        every: Duration,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
                cache.refresh_due(now).await;
            }
        })
    }
}

#[cfg(feature = "http")]
pub use http::{ReqwestFetcher, spawn_refresher};
