//! Lollipop (feature `remote-content`): checking that a call IO forwards was signed by the
//! citizen's app, with the key bound to the citizen's login.
//!
//! When a remote-content configuration has `is_lollipop_enabled`, the app signs its request to
//! IO with a key kept on the device, following HTTP Message Signatures (RFC 9421), and IO's
//! backend forwards the signature to the sender, adding what the sender needs to check it. The
//! headers, as in pagoPA's "LolliPoP Consumer" OpenAPI (io-functions-lollipop
//! `openapi/lollipop_first_consumer.yaml`) and the app's signer (io-app
//! `ts/features/lollipop`):
//!
//! | header | content |
//! | --- | --- |
//! | `x-pagopa-lollipop-original-method` | method of the app's request (`GET`, `POST`, `PUT`, `PATCH`, `DELETE`) |
//! | `x-pagopa-lollipop-original-url` | URL of the app's request (`https://…`) |
//! | `signature-input`, `signature` | RFC 9421 fields: the app's signature `sig1` and any further ones |
//! | `content-digest` | RFC 9530 digest of the body, when the app signed one |
//! | `x-pagopa-lollipop-public-key` | the app's public key: a JWK (EC P-256 or RSA), base64url |
//! | `x-pagopa-lollipop-assertion-ref` | `sha256-`, `sha384-` or `sha512-` and the RFC 7638 thumbprint of that key |
//! | `x-pagopa-lollipop-assertion-type` | `SAML` or `OIDC`: the kind of login assertion bound to the key |
//! | `x-pagopa-lollipop-user-id` | the citizen's fiscal code |
//! | `x-pagopa-lollipop-auth-jwt` | IO's token for fetching the login assertion |
//!
//! [`LollipopVerifier::verify`] checks, in order, and names the first failure
//! ([`LollipopError`]):
//! 1. every header above (but `content-digest`) is present exactly once and well formed;
//! 2. `x-pagopa-lollipop-user-id` is the request's `fiscal_code`;
//! 3. the public key is a P-256 or RSA (2048 to 8192 bits) JWK, and its thumbprint, with the
//!    hash named by the assertion ref, is the assertion ref: the key is the one IO bound to
//!    the login;
//! 4. `signature-input` and `signature` are RFC 8941 dictionaries with the same labels (at most
//!    eight), each signature input an inner list of lower-case header names, none repeated,
//!    with the parameters `created` (required), `expires`, `nonce` (required unless
//!    [`LollipopVerifier::nonce_optional`]), `alg` and `keyid` (when given, the assertion ref,
//!    as the app writes it);
//! 5. each signature is fresh: `created` not later than now plus the allowed clock skew and
//!    not older than the maximum age; `expires`, when given, not passed;
//! 6. one signature covers `x-pagopa-lollipop-original-method` and
//!    `x-pagopa-lollipop-original-url`, and `content-digest` too when the request has a body;
//! 7. `content-digest`, when present or when there is a body, holds a `sha-256` or `sha-512`
//!    digest and every one it holds of these matches the body;
//! 8. every signature verifies, with the algorithm its `alg` names (`ecdsa-p256-sha256`, the
//!    signature as RFC 9421's 64 bytes or as DER, which mobile key stores give;
//!    `rsa-pss-sha256`, which the app uses for RSA keys; `rsa-pss-sha512`; `rsa-v1_5-sha256`)
//!    and that fits the key, over the RFC 9421 signature base;
//! 9. the request was not seen before: with a [`ReplayCache`], a signature accepted once is
//!    refused afterwards for as long as it could still be fresh (it is used up when the checks
//!    pass, whatever the router then answers: IO retrying after a 500 needs a new signature
//!    from the app);
//! 10. with [`LollipopVerifier::login_assertion`], the login assertion behind the key: fetched
//!     from IO's Lollipop consumer API with `x-pagopa-lollipop-auth-jwt` and checked (IdP
//!     signature, `InResponseTo` bound to the key, fiscal number, period; see
//!     [`crate::remote::assertion`]). It comes after the replay check, so that copies of a
//!     request cost no call to IO.
//!
//! Replays are told by the signature, not by the nonce: RFC 9421 leaves the nonce's use to the
//! verifier, Lollipop does not require a nonce per request, and the app draws one when it
//! builds an API client and keeps it for the client's requests, so two genuine requests may
//! share a nonce. Signatures never repeat (ECDSA and RSA-PSS are randomized, and `created`
//! and the URL change), so an exact copy of an accepted request is what is refused.
//!
//! Without step 10 the thumbprint check binds the key to the assertion ref IO gives, and IO's
//! word is taken for the login behind it; with it, the identity provider's signature is.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ring::digest;
use ring::signature::{self as sig, RsaPublicKeyComponents, UnparsedPublicKey};

use super::assertion::{AssertionError, AssertionRequest, AssertionVerifier, LoginAssertion};
use super::sfv::{self, Bare, Item, Member};
use crate::deps::CodiceFiscale;

/// `x-pagopa-lollipop-original-method`.
pub const ORIGINAL_METHOD: &str = "x-pagopa-lollipop-original-method";
/// `x-pagopa-lollipop-original-url`.
pub const ORIGINAL_URL: &str = "x-pagopa-lollipop-original-url";
/// `x-pagopa-lollipop-public-key`.
pub const PUBLIC_KEY: &str = "x-pagopa-lollipop-public-key";
/// `x-pagopa-lollipop-assertion-ref`.
pub const ASSERTION_REF: &str = "x-pagopa-lollipop-assertion-ref";
/// `x-pagopa-lollipop-assertion-type`.
pub const ASSERTION_TYPE: &str = "x-pagopa-lollipop-assertion-type";
/// `x-pagopa-lollipop-user-id`.
pub const USER_ID: &str = "x-pagopa-lollipop-user-id";
/// `x-pagopa-lollipop-auth-jwt`.
pub const AUTH_JWT: &str = "x-pagopa-lollipop-auth-jwt";
/// `signature-input` (RFC 9421).
pub const SIGNATURE_INPUT: &str = "signature-input";
/// `signature` (RFC 9421).
pub const SIGNATURE: &str = "signature";
/// `content-digest` (RFC 9530).
pub const CONTENT_DIGEST: &str = "content-digest";

/// The most signatures a request may carry.
pub const MAX_SIGNATURES: usize = 8;
const MAX_HEADER: usize = 16 * 1024;

/// Why a Lollipop check failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LollipopError {
    /// A required header is missing.
    #[error("header {0} is missing")]
    MissingHeader(&'static str),
    /// A header that must appear once appears more than once.
    #[error("header {0} appears more than once")]
    RepeatedHeader(&'static str),
    /// A header's value is malformed.
    #[error("header {header} is malformed: {reason}")]
    BadHeader {
        /// The header.
        header: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The Lollipop user is not the request's `fiscal_code`.
    #[error("the Lollipop user is not the fiscal_code of the request")]
    UserMismatch,
    /// The public key is of a kind not accepted.
    #[error("unsupported public key: {0}")]
    UnsupportedKey(String),
    /// The public key's thumbprint is not the assertion ref.
    #[error("the public key is not the one of the assertion ref")]
    KeyNotAssertion,
    /// A signature's `keyid` is not the assertion ref.
    #[error("signature {label}: keyid is not the assertion ref")]
    KeyIdMismatch {
        /// The signature's label.
        label: String,
    },
    /// A label of `signature-input` has no signature, or the other way round.
    #[error("signature {label} has no {missing}")]
    Unpaired {
        /// The label.
        label: String,
        /// `signature` or `signature-input`.
        missing: &'static str,
    },
    /// More signatures than [`MAX_SIGNATURES`].
    #[error("more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    /// A covered component is not a plain lower-case header name.
    #[error("signature {label}: covered component {component} is not supported")]
    UnsupportedComponent {
        /// The signature's label.
        label: String,
        /// The component as written.
        component: String,
    },
    /// A covered component is listed twice.
    #[error("signature {label}: covered component {component} is repeated")]
    RepeatedComponent {
        /// The signature's label.
        label: String,
        /// The component.
        component: String,
    },
    /// A covered header is absent from the request.
    #[error("signature {label}: covered header {component} is absent")]
    MissingComponent {
        /// The signature's label.
        label: String,
        /// The header.
        component: String,
    },
    /// No signature covers all the components the specification requires.
    #[error("no signature covers {0}")]
    NotCovered(&'static str),
    /// A signature parameter is missing or of the wrong type.
    #[error("signature {label}: parameter {param} is missing or malformed")]
    BadParameter {
        /// The signature's label.
        label: String,
        /// The parameter.
        param: &'static str,
    },
    /// `created` is later than now (beyond the allowed skew).
    #[error("signature {label} was created in the future")]
    NotYetValid {
        /// The signature's label.
        label: String,
    },
    /// The signature is older than the maximum age, or past its `expires`.
    #[error("signature {label} has expired")]
    Expired {
        /// The signature's label.
        label: String,
    },
    /// The algorithm is unknown, or does not fit the key.
    #[error("signature {label}: algorithm {alg} cannot be used with this key")]
    Algorithm {
        /// The signature's label.
        label: String,
        /// The algorithm named (or `none`).
        alg: String,
    },
    /// A signature does not verify.
    #[error("signature {label} does not verify")]
    BadSignature {
        /// The signature's label.
        label: String,
    },
    /// `content-digest` holds no `sha-256` or `sha-512` digest.
    #[error("content-digest holds no sha-256 or sha-512 digest")]
    DigestUnsupported,
    /// A digest in `content-digest` does not match the body.
    #[error("content-digest does not match the body")]
    DigestMismatch,
    /// The same signed request was accepted before.
    #[error("the request was already used (replay)")]
    Replayed,
    /// The replay cache could not be consulted.
    #[error("replay cache: {0}")]
    ReplayCache(String),
    /// The login assertion behind the key was not obtained or is refused (step 10).
    #[error("login assertion: {0}")]
    Assertion(#[from] AssertionError),
}

impl LollipopError {
    /// Whether the failure is IO's or the network's (the consumer API failed or could not be
    /// reached) rather than the request's.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Assertion(e) if e.is_unavailable())
    }
}

/// Remembers accepted signatures so that a copy is refused (step 9 of the checks).
#[async_trait::async_trait]
pub trait ReplayCache: Send + Sync + 'static {
    /// Records `id` (a SHA-256 of an accepted signature) until the Unix time `until`; `true`
    /// when it was not already recorded, `false` for a replay.
    ///
    /// # Errors
    /// A message when the cache cannot answer (the request is then refused).
    async fn first_use(&self, id: [u8; 32], until: i64, now: i64) -> Result<bool, String>;
}

/// An in-process [`ReplayCache`] holding at most `capacity` signatures; entries leave when they
/// can no longer be fresh. When it is full of live entries it refuses new requests rather than
/// forget one (fail closed). For several instances behind one address, use a shared cache.
#[derive(Debug)]
pub struct MemoryReplayCache {
    capacity: usize,
    seen: Mutex<HashMap<[u8; 32], i64>>,
}

impl MemoryReplayCache {
    /// A cache of at most `capacity` entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            seen: Mutex::new(HashMap::new()),
        }
    }
}

#[async_trait::async_trait]
impl ReplayCache for MemoryReplayCache {
    async fn first_use(&self, id: [u8; 32], until: i64, now: i64) -> Result<bool, String> {
        let mut seen = self
            .seen
            .lock()
            .map_err(|_| "replay cache poisoned".to_owned())?;
        if seen.get(&id).is_some_and(|t| *t >= now) {
            return Ok(false);
        }
        if seen.len() >= self.capacity {
            seen.retain(|_, t| *t >= now);
            if seen.len() >= self.capacity {
                return Err("replay cache full".to_owned());
            }
        }
        seen.insert(id, until);
        Ok(true)
    }
}

/// The login assertion type (`x-pagopa-lollipop-assertion-type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AssertionType {
    /// A SPID or CIE SAML assertion.
    Saml,
    /// An OpenID Connect ID token.
    Oidc,
}

/// What a verified request tells about its signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LollipopIdentity {
    /// The citizen.
    pub user: CodiceFiscale,
    /// The assertion ref (the key's thumbprint with its hash).
    pub assertion_ref: String,
    /// The kind of login assertion.
    pub assertion_type: AssertionType,
    /// IO's token for fetching the assertion.
    pub auth_jwt: String,
    /// Method of the app's request.
    pub original_method: String,
    /// URL of the app's request.
    pub original_url: String,
    /// `created` of the main signature (Unix seconds).
    pub created: i64,
    /// `nonce` of the main signature.
    pub nonce: Option<String>,
    /// The checked login assertion, with [`LollipopVerifier::login_assertion`].
    pub login: Option<LoginAssertion>,
}

/// Checks Lollipop-signed requests (see the [module](self) documentation).
#[derive(Clone)]
pub struct LollipopVerifier {
    max_age: Duration,
    skew: Duration,
    require_nonce: bool,
    url_prefixes: Vec<String>,
    exempt: BTreeSet<CodiceFiscale>,
    replay: Option<Arc<dyn ReplayCache>>,
    assertion: Option<Arc<AssertionVerifier>>,
}

impl std::fmt::Debug for LollipopVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LollipopVerifier")
            .field("max_age", &self.max_age)
            .field("skew", &self.skew)
            .field("require_nonce", &self.require_nonce)
            .field("url_prefixes", &self.url_prefixes)
            .field("exempt", &self.exempt.len())
            .field("replay", &self.replay.is_some())
            .field("assertion", &self.assertion)
            .finish()
    }
}

impl Default for LollipopVerifier {
    fn default() -> Self {
        Self::new()
    }
}

impl LollipopVerifier {
    /// Signatures up to 5 minutes old, 60 s of clock skew, nonce required, any `https://`
    /// original URL, an in-process replay cache of 100 000 entries.
    pub fn new() -> Self {
        Self {
            max_age: Duration::from_secs(300),
            skew: Duration::from_secs(60),
            require_nonce: true,
            url_prefixes: vec!["https://".to_owned()],
            exempt: BTreeSet::new(),
            replay: Some(Arc::new(MemoryReplayCache::new(100_000))),
            assertion: None,
        }
    }

    /// The maximum age of a signature (from its `created`).
    #[must_use]
    pub fn max_age(mut self, d: Duration) -> Self {
        self.max_age = d;
        self
    }

    /// The clock skew allowed for `created` in the future and `expires` in the past.
    #[must_use]
    pub fn skew(mut self, d: Duration) -> Self {
        self.skew = d;
        self
    }

    /// Accepts signatures without `nonce`.
    #[must_use]
    pub fn nonce_optional(mut self) -> Self {
        self.require_nonce = false;
        self
    }

    /// Accepts only original URLs starting with one of these (for example
    /// `https://api-app.io.pagopa.it/`); each must itself start with `https://`.
    #[must_use]
    pub fn original_url_prefixes<I, S>(mut self, prefixes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.url_prefixes = prefixes
            .into_iter()
            .map(Into::into)
            .filter(|p| p.starts_with("https://"))
            .collect();
        self
    }

    /// Citizens for whom IO does not sign (the configuration's `disable_lollipop_for`): their
    /// requests without Lollipop headers are accepted; with them, they are checked.
    #[must_use]
    pub fn exempt<I: IntoIterator<Item = CodiceFiscale>>(mut self, users: I) -> Self {
        self.exempt = users.into_iter().collect();
        self
    }

    /// Uses another replay cache (a shared one, for several instances).
    #[must_use]
    pub fn replay_cache(mut self, cache: Arc<dyn ReplayCache>) -> Self {
        self.replay = Some(cache);
        self
    }

    /// No replay cache: copies of a fresh request are accepted until it expires.
    #[must_use]
    pub fn without_replay_cache(mut self) -> Self {
        self.replay = None;
        self
    }

    /// Also fetches and checks the login assertion behind the key (step 10): required for
    /// every request once configured.
    #[must_use]
    pub fn login_assertion(mut self, verifier: AssertionVerifier) -> Self {
        self.assertion = Some(Arc::new(verifier));
        self
    }

    /// Whether a request of `user` that carries no Lollipop header may go without.
    pub(crate) fn may_skip(&self, user: &CodiceFiscale, headers: &HeaderMap) -> bool {
        self.exempt.contains(user)
            && [SIGNATURE, SIGNATURE_INPUT, USER_ID, PUBLIC_KEY]
                .iter()
                .all(|h| !headers.contains_key(*h))
    }

    /// Checks a request of `user` with this body, now.
    ///
    /// # Errors
    /// The first check that fails.
    pub async fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        user: &CodiceFiscale,
    ) -> Result<LollipopIdentity, LollipopError> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        self.verify_at(headers, body, user, now).await
    }

    /// [`verify`](Self::verify) at the Unix time `now`.
    ///
    /// # Errors
    /// The first check that fails.
    pub async fn verify_at(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        user: &CodiceFiscale,
        now: i64,
    ) -> Result<LollipopIdentity, LollipopError> {
        // 1. Headers.
        let method = one(headers, ORIGINAL_METHOD)?;
        if !["GET", "POST", "PUT", "PATCH", "DELETE"].contains(&method) {
            return Err(bad(ORIGINAL_METHOD, "not GET, POST, PUT, PATCH or DELETE"));
        }
        let url = one(headers, ORIGINAL_URL)?;
        if !self
            .url_prefixes
            .iter()
            .any(|p| url.starts_with(p.as_str()))
        {
            return Err(bad(ORIGINAL_URL, "not an accepted https URL"));
        }
        let key_b64 = one(headers, PUBLIC_KEY)?;
        let aref = one(headers, ASSERTION_REF)?;
        let atype = match one(headers, ASSERTION_TYPE)? {
            "SAML" => AssertionType::Saml,
            "OIDC" => AssertionType::Oidc,
            _ => return Err(bad(ASSERTION_TYPE, "not SAML or OIDC")),
        };
        let uid = one(headers, USER_ID)?;
        let jwt = one(headers, AUTH_JWT)?;
        if jwt.trim().is_empty() {
            return Err(bad(AUTH_JWT, "empty"));
        }
        let sig_input = one(headers, SIGNATURE_INPUT)?;
        let sig_field = one(headers, SIGNATURE)?;
        // 2. User.
        if uid != user.as_str() {
            return Err(LollipopError::UserMismatch);
        }
        // 3. Key and assertion ref.
        let key = PublicKey::from_header(key_b64)?;
        let (hash, expected) = match aref.split_once('-') {
            Some(("sha256", t)) => (&digest::SHA256, t),
            Some(("sha384", t)) => (&digest::SHA384, t),
            Some(("sha512", t)) => (&digest::SHA512, t),
            _ => {
                return Err(bad(
                    ASSERTION_REF,
                    "not sha256-, sha384- or sha512- and a thumbprint",
                ));
            }
        };
        if key.thumbprint(hash) != expected {
            return Err(LollipopError::KeyNotAssertion);
        }
        // 4. Signature fields.
        let inputs = sfv::parse_dictionary(sig_input).map_err(|e| bad(SIGNATURE_INPUT, e.0))?;
        let values = sfv::parse_dictionary(sig_field).map_err(|e| bad(SIGNATURE, e.0))?;
        if inputs.len() > MAX_SIGNATURES || values.len() > MAX_SIGNATURES {
            return Err(LollipopError::TooManySignatures);
        }
        if inputs.is_empty() {
            return Err(bad(SIGNATURE_INPUT, "no signature"));
        }
        for (label, _) in &values {
            if !inputs.iter().any(|(l, _)| l == label) {
                return Err(LollipopError::Unpaired {
                    label: label.clone(),
                    missing: SIGNATURE_INPUT,
                });
            }
        }
        let mut parsed = Vec::with_capacity(inputs.len());
        for (label, member) in &inputs {
            let value = values
                .iter()
                .find(|(l, _)| l == label)
                .map(|(_, v)| v)
                .ok_or_else(|| LollipopError::Unpaired {
                    label: label.clone(),
                    missing: SIGNATURE,
                })?;
            let Member::Item(Item {
                bare: Bare::Bytes(signature),
                ..
            }) = value
            else {
                return Err(bad(SIGNATURE, "a signature is not a byte sequence"));
            };
            parsed.push(self.parse_one(label, member, signature, aref)?);
        }
        // 5. Freshness.
        let skew = secs(self.skew);
        let max_age = secs(self.max_age);
        for s in &parsed {
            if s.created > now.saturating_add(skew) {
                return Err(LollipopError::NotYetValid {
                    label: s.label.clone(),
                });
            }
            let too_old = now.saturating_sub(s.created) > max_age;
            let past = s.expires.is_some_and(|e| now > e.saturating_add(skew));
            if too_old || past {
                return Err(LollipopError::Expired {
                    label: s.label.clone(),
                });
            }
        }
        // 6. Coverage.
        let needs_digest = !body.is_empty();
        let main = parsed
            .iter()
            .find(|s| {
                s.covers(ORIGINAL_METHOD)
                    && s.covers(ORIGINAL_URL)
                    && (!needs_digest || s.covers(CONTENT_DIGEST))
            })
            .ok_or(if needs_digest {
                LollipopError::NotCovered(
                    "x-pagopa-lollipop-original-method, x-pagopa-lollipop-original-url and content-digest",
                )
            } else {
                LollipopError::NotCovered(
                    "x-pagopa-lollipop-original-method and x-pagopa-lollipop-original-url",
                )
            })?;
        // 7. Content digest.
        if needs_digest || headers.contains_key(CONTENT_DIGEST) {
            check_digest(one(headers, CONTENT_DIGEST)?, body)?;
        }
        // 8. Signatures.
        for s in &parsed {
            let base = s.base(headers)?;
            key.verify(&s.label, s.alg.as_deref(), base.as_bytes(), &s.signature)?;
        }
        // 9. Replay.
        if let Some(cache) = &self.replay {
            let id = digest::digest(&digest::SHA256, &main.signature);
            let mut arr = [0u8; 32];
            arr.copy_from_slice(id.as_ref());
            let until = main
                .created
                .saturating_add(max_age)
                .max(main.expires.unwrap_or(i64::MIN))
                .saturating_add(skew);
            match cache.first_use(arr, until, now).await {
                Ok(true) => {}
                Ok(false) => return Err(LollipopError::Replayed),
                Err(e) => return Err(LollipopError::ReplayCache(e)),
            }
        }
        // 10. Login assertion.
        let login = match &self.assertion {
            None => None,
            Some(av) => {
                let req = AssertionRequest {
                    public_key: key_b64,
                    assertion_ref: aref,
                    assertion_type: atype,
                    user,
                    auth_jwt: jwt,
                };
                let at = chrono::DateTime::from_timestamp(now, 0).unwrap_or_default();
                Some(av.verify_with_key(&req, &key, at).await?)
            }
        };
        Ok(LollipopIdentity {
            user: user.clone(),
            assertion_ref: aref.to_owned(),
            assertion_type: atype,
            auth_jwt: jwt.to_owned(),
            original_method: method.to_owned(),
            original_url: url.to_owned(),
            created: main.created,
            nonce: main.nonce.clone(),
            login,
        })
    }

    fn parse_one(
        &self,
        label: &str,
        member: &Member,
        signature: &[u8],
        aref: &str,
    ) -> Result<Parsed, LollipopError> {
        let Member::InnerList(items, params) = member else {
            return Err(bad(
                SIGNATURE_INPUT,
                "a signature input is not an inner list",
            ));
        };
        let mut covered: Vec<String> = Vec::with_capacity(items.len());
        for it in items {
            let Bare::String(name) = &it.bare else {
                return Err(LollipopError::UnsupportedComponent {
                    label: label.to_owned(),
                    component: format!("{:?}", it.bare),
                });
            };
            let plain = !name.is_empty()
                && it.params.is_empty()
                && name
                    .bytes()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || b"-_.".contains(&c));
            if !plain {
                return Err(LollipopError::UnsupportedComponent {
                    label: label.to_owned(),
                    component: name.clone(),
                });
            }
            if covered.contains(name) {
                return Err(LollipopError::RepeatedComponent {
                    label: label.to_owned(),
                    component: name.clone(),
                });
            }
            covered.push(name.clone());
        }
        let param = |name: &str| params.iter().find(|(k, _)| k == name).map(|(_, v)| v);
        let bad_param = |p: &'static str| LollipopError::BadParameter {
            label: label.to_owned(),
            param: p,
        };
        let created = match param("created") {
            Some(Bare::Integer(t)) => *t,
            _ => return Err(bad_param("created")),
        };
        let expires = match param("expires") {
            None => None,
            Some(Bare::Integer(t)) if *t >= created => Some(*t),
            Some(_) => return Err(bad_param("expires")),
        };
        let nonce = match param("nonce") {
            None if !self.require_nonce => None,
            Some(Bare::String(n)) if !n.is_empty() => Some(n.clone()),
            _ => return Err(bad_param("nonce")),
        };
        let alg = match param("alg") {
            None => None,
            Some(Bare::String(a)) => Some(a.clone()),
            Some(_) => return Err(bad_param("alg")),
        };
        match param("keyid") {
            None => {}
            Some(Bare::String(k)) if k == aref => {}
            Some(Bare::String(_)) => {
                return Err(LollipopError::KeyIdMismatch {
                    label: label.to_owned(),
                });
            }
            Some(_) => return Err(bad_param("keyid")),
        }
        Ok(Parsed {
            label: label.to_owned(),
            items: items.clone(),
            params: params.clone(),
            covered,
            created,
            expires,
            nonce,
            alg,
            signature: signature.to_vec(),
        })
    }
}

struct Parsed {
    label: String,
    items: Vec<Item>,
    params: sfv::Params,
    covered: Vec<String>,
    created: i64,
    expires: Option<i64>,
    nonce: Option<String>,
    alg: Option<String>,
    signature: Vec<u8>,
}

impl Parsed {
    fn covers(&self, h: &str) -> bool {
        self.covered.iter().any(|c| c == h)
    }

    /// The signature base (RFC 9421 §2.5).
    fn base(&self, headers: &HeaderMap) -> Result<String, LollipopError> {
        let mut out = String::new();
        for name in &self.covered {
            let mut values = Vec::new();
            for v in headers.get_all(name.as_str()) {
                let s = v.to_str().map_err(|_| LollipopError::MissingComponent {
                    label: self.label.clone(),
                    component: name.clone(),
                })?;
                values.push(s.trim_matches(|c| c == ' ' || c == '\t'));
            }
            if values.is_empty() {
                return Err(LollipopError::MissingComponent {
                    label: self.label.clone(),
                    component: name.clone(),
                });
            }
            out.push('"');
            out.push_str(name);
            out.push_str("\": ");
            out.push_str(&values.join(", "));
            out.push('\n');
        }
        out.push_str("\"@signature-params\": ");
        out.push_str(&sfv::serialize_inner_list(&self.items, &self.params));
        Ok(out)
    }
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn bad(header: &'static str, reason: &str) -> LollipopError {
    LollipopError::BadHeader {
        header,
        reason: reason.to_owned(),
    }
}

/// The value of a header that must appear exactly once.
fn one<'a>(headers: &'a HeaderMap, name: &'static str) -> Result<&'a str, LollipopError> {
    let mut all = headers.get_all(name).iter();
    let v = all.next().ok_or(LollipopError::MissingHeader(name))?;
    if all.next().is_some() {
        return Err(LollipopError::RepeatedHeader(name));
    }
    if v.len() > MAX_HEADER {
        return Err(bad(name, "too long"));
    }
    v.to_str().map_err(|_| bad(name, "not visible ASCII"))
}

fn check_digest(value: &str, body: &[u8]) -> Result<(), LollipopError> {
    let dict = sfv::parse_dictionary(value).map_err(|e| bad(CONTENT_DIGEST, e.0))?;
    let mut checked = 0;
    for (alg, member) in &dict {
        let algorithm = match alg.as_str() {
            "sha-256" => &digest::SHA256,
            "sha-512" => &digest::SHA512,
            _ => continue,
        };
        let Member::Item(Item {
            bare: Bare::Bytes(d),
            ..
        }) = member
        else {
            return Err(bad(CONTENT_DIGEST, "a digest is not a byte sequence"));
        };
        if digest::digest(algorithm, body).as_ref() != d.as_slice() {
            return Err(LollipopError::DigestMismatch);
        }
        checked += 1;
    }
    if checked == 0 {
        return Err(LollipopError::DigestUnsupported);
    }
    Ok(())
}

/// The app's public key.
pub(crate) enum PublicKey {
    /// P-256: the JWK's `x` and `y` as written, and the uncompressed point.
    Ec {
        x: String,
        y: String,
        point: Vec<u8>,
    },
    /// RSA: the JWK's `n` and `e` as written, and their bytes.
    Rsa {
        n: String,
        e: String,
        n_bytes: Vec<u8>,
        e_bytes: Vec<u8>,
    },
}

fn b64url_field(jwk: &serde_json::Value, name: &str) -> Result<(String, Vec<u8>), LollipopError> {
    let s = jwk
        .get(name)
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| LollipopError::UnsupportedKey(format!("member {name} is missing")))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| LollipopError::UnsupportedKey(format!("member {name} is not base64url")))?;
    Ok((s.to_owned(), bytes))
}

impl PublicKey {
    pub(crate) fn from_header(v: &str) -> Result<Self, LollipopError> {
        let trimmed = v.trim_end_matches('=');
        let json = URL_SAFE_NO_PAD
            .decode(trimmed)
            .or_else(|_| STANDARD.decode(v))
            .map_err(|_| bad(PUBLIC_KEY, "not base64url"))?;
        let jwk: serde_json::Value =
            serde_json::from_slice(&json).map_err(|_| bad(PUBLIC_KEY, "not a JSON JWK"))?;
        match jwk.get("kty").and_then(serde_json::Value::as_str) {
            Some("EC") => {
                if jwk.get("crv").and_then(serde_json::Value::as_str) != Some("P-256") {
                    return Err(LollipopError::UnsupportedKey(
                        "EC keys must be on P-256".to_owned(),
                    ));
                }
                let (x, xb) = b64url_field(&jwk, "x")?;
                let (y, yb) = b64url_field(&jwk, "y")?;
                if xb.len() != 32 || yb.len() != 32 {
                    return Err(LollipopError::UnsupportedKey(
                        "P-256 coordinates are 32 bytes".to_owned(),
                    ));
                }
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(&xb);
                point.extend_from_slice(&yb);
                Ok(Self::Ec { x, y, point })
            }
            Some("RSA") => {
                let (n, n_bytes) = b64url_field(&jwk, "n")?;
                let (e, e_bytes) = b64url_field(&jwk, "e")?;
                let bits = n_bytes.iter().skip_while(|b| **b == 0).count() * 8;
                if !(2048..=8192).contains(&bits) {
                    return Err(LollipopError::UnsupportedKey(
                        "RSA keys are 2048 to 8192 bits".to_owned(),
                    ));
                }
                Ok(Self::Rsa {
                    n,
                    e,
                    n_bytes,
                    e_bytes,
                })
            }
            _ => Err(LollipopError::UnsupportedKey(
                "kty is not EC or RSA".to_owned(),
            )),
        }
    }

    /// RFC 7638 thumbprint, base64url.
    pub(crate) fn thumbprint(&self, hash: &'static digest::Algorithm) -> String {
        let canonical = match self {
            Self::Ec { x, y, .. } => {
                format!(r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#)
            }
            Self::Rsa { n, e, .. } => format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#),
        };
        URL_SAFE_NO_PAD.encode(digest::digest(hash, canonical.as_bytes()))
    }

    fn verify(
        &self,
        label: &str,
        alg: Option<&str>,
        base: &[u8],
        signature: &[u8],
    ) -> Result<(), LollipopError> {
        let wrong = || LollipopError::Algorithm {
            label: label.to_owned(),
            alg: alg.unwrap_or("none").to_owned(),
        };
        let ok = match self {
            Self::Ec { point, .. } => {
                if !matches!(alg, None | Some("ecdsa-p256-sha256")) {
                    return Err(wrong());
                }
                let algorithm: &'static dyn sig::VerificationAlgorithm = if signature.len() == 64 {
                    &sig::ECDSA_P256_SHA256_FIXED
                } else {
                    &sig::ECDSA_P256_SHA256_ASN1
                };
                UnparsedPublicKey::new(algorithm, point)
                    .verify(base, signature)
                    .is_ok()
            }
            Self::Rsa {
                n_bytes, e_bytes, ..
            } => {
                let params: &sig::RsaParameters = match alg {
                    Some("rsa-pss-sha256") => &sig::RSA_PSS_2048_8192_SHA256,
                    Some("rsa-pss-sha512") => &sig::RSA_PSS_2048_8192_SHA512,
                    Some("rsa-v1_5-sha256") => &sig::RSA_PKCS1_2048_8192_SHA256,
                    _ => return Err(wrong()),
                };
                RsaPublicKeyComponents {
                    n: n_bytes.as_slice(),
                    e: e_bytes.as_slice(),
                }
                .verify(params, base, signature)
                .is_ok()
            }
        };
        if ok {
            Ok(())
        } else {
            Err(LollipopError::BadSignature {
                label: label.to_owned(),
            })
        }
    }
}
