//! Lollipop login assertions (feature `remote-content`): fetching, from IO's Lollipop consumer
//! API, the login assertion a Lollipop key is bound to, and checking it.
//!
//! The signature of a Lollipop request proves that the app holds the key of
//! `x-pagopa-lollipop-public-key`; what binds that key to the citizen is the login: when the
//! app logs in, the SAML `AuthnRequest` IO sends to the identity provider has as `ID` the
//! key's assertion ref (`sha256-` and the RFC 7638 thumbprint), so the IdP's signed assertion
//! answers `InResponseTo` that ref. The sender fetches that assertion from IO and checks it.
//!
//! # The consumer API
//! As in IO's "Lollipop Consumer API" OpenAPI (io-functions-lollipop `openapi/external.yaml`,
//! operation `getAssertion`), [`LollipopConsumerClient`] calls
//! `GET {base}/assertions/{assertion_ref}` with the header `x-pagopa-lollipop-auth:
//! Bearer {x-pagopa-lollipop-auth-jwt}` and the sender's subscription key in
//! `Ocp-Apim-Subscription-Key`; the production base is [`CONSUMER_API_BASE_URL`]. It answers
//! 200 with `{"response_xml": …}` (a signed SPID/CIE SAML `Response`) or `{"id_token": …,
//! "claims_token": …}` (OIDC), 400, 401, 403, 404, 410 (the key was revoked: the assertion is
//! gone) or 500, each a [`ConsumerApiError`].
//!
//! # The checks
//! [`AssertionVerifier::verify`] takes the request's Lollipop headers and checks, in order,
//! naming the first failure ([`AssertionError`]):
//! 1. the assertion type: `OIDC` is refused ([`AssertionError::OidcUnsupported`]: neither the
//!    OpenAPI nor pagoPA's consumer implementations say how an OIDC token binds the key —
//!    io-functions-lollipop answers "OIDC Claims not supported yet.", the Java consumer SDK
//!    throws `OidcAssertionNotSupported`); for `SAML`, the consumer API must answer with a
//!    SAML response ([`AssertionError::WrongType`] otherwise);
//! 2. the response is well formed XML (parsed by `xmldsig`'s hardened parser: no DTD, bounded),
//!    its root is `samlp:Response` with exactly one `saml:Assertion` child;
//! 3. the assertion's `Issuer` is an IdP of the configured trust (a [`spid::IdpRegistry`],
//!    or IdP metadata given one by one, e.g. CIE's), and the assertion carries an enveloped
//!    signature that verifies with one of that IdP's signing certificates (`xmldsig`, the
//!    engine of the `spid` crate: exclusive C14N, no SHA-1, a `KeyInfo` naming another
//!    certificate refused). Every later check reads through the signed element only;
//! 4. `Subject/SubjectConfirmation/SubjectConfirmationData/@InResponseTo` is an assertion ref
//!    (`sha256-`, `sha384-`, `sha512-`), equal to the thumbprint of the request's public key
//!    with the hash it names, and equal to `x-pagopa-lollipop-assertion-ref`;
//! 5. the `fiscalNumber` attribute (without its `TINIT-` prefix) is a fiscal code equal to
//!    `x-pagopa-lollipop-user-id`;
//! 6. `Conditions/@NotBefore` is not later than now (plus the allowed skew) and not older
//!    than the maximum age (365 days by default, the Java SDK's `assertionExpireInDays`): the
//!    assertion's own `NotOnOrAfter` is minutes after the login and is not what bounds a
//!    Lollipop key, which lives as long as the login session;
//! 7. with [`AssertionVerifier::audience`], the assertion's `AudienceRestriction` names it.
//!
//! Rules 4 to 6 are those of pagoPA's consumer implementations: io-functions-lollipop
//! `FirstLollipopConsumerSignedMessage/handler.ts` (InResponseTo against the key and the
//! header, fiscal number) and the Java Lollipop consumer SDK's `AssertionVerifierServiceImpl`
//! (the same, plus the period from `NotBefore` and the IdP signature on the assertion with the
//! certificates of the issuer's entity id).
//!
//! [`CachedAssertionSource`] keeps fetched assertions for a while, so that IO is not called
//! back for every request of the same app.
//!
//! Not done: IdP keys valid at the assertion's `IssueInstant` but since rotated out of the
//! registry (the Java SDK asks a history service for them); give such certificates with
//! [`AssertionVerifier::idp`].

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use ring::digest;
use xmldsig::{Document, Element};

use super::lollipop::{AssertionType, PublicKey};
use crate::deps::CodiceFiscale;
use crate::types::ProblemJson;

/// The production base URL of IO's Lollipop consumer API.
pub const CONSUMER_API_BASE_URL: &str = "https://api.io.pagopa.it/lollipop/api/v1";
/// The header carrying `Bearer` and the auth JWT.
pub const LOLLIPOP_AUTH_HEADER: &str = "x-pagopa-lollipop-auth";
/// The header carrying the sender's subscription key.
pub const SUBSCRIPTION_KEY_HEADER: &str = "Ocp-Apim-Subscription-Key";

const NS_SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const NS_SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const MAX_BODY: usize = 1024 * 1024;

/// What the consumer API answers for an assertion ref (`LCUserInfo`).
#[derive(Clone, PartialEq, Eq)]
pub enum LcUserInfo {
    /// `SamlUserInfo`: the signed SPID/CIE SAML response of the login.
    Saml {
        /// The response, as XML text.
        response_xml: String,
    },
    /// `OidcUserInfo`: the tokens of an OpenID Connect login.
    Oidc {
        /// The ID token.
        id_token: String,
        /// The claims token.
        claims_token: String,
    },
}

impl fmt::Debug for LcUserInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Saml { response_xml } => f
                .debug_struct("Saml")
                .field(
                    "response_xml",
                    &format_args!("{} bytes", response_xml.len()),
                )
                .finish(),
            Self::Oidc { .. } => f.debug_struct("Oidc").finish_non_exhaustive(),
        }
    }
}

/// Why the consumer API gave no assertion.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConsumerApiError {
    /// The assertion ref or the auth JWT cannot be sent (not the API's format).
    #[error("cannot ask for the assertion: {0}")]
    BadInput(&'static str),
    /// 400: IO refused the request.
    #[error("consumer API: bad request{}", detail_suffix(.detail))]
    BadRequest {
        /// The problem's `detail`, if any.
        detail: Option<String>,
    },
    /// 401: the subscription key was refused.
    #[error("consumer API: unauthorized (subscription key refused)")]
    Unauthorized,
    /// 403: the auth JWT is not valid for this assertion ref.
    #[error("consumer API: forbidden (auth JWT not valid for this assertion ref)")]
    Forbidden,
    /// 404: no assertion for this assertion ref.
    #[error("consumer API: assertion not found{}", detail_suffix(.detail))]
    NotFound {
        /// The problem's `detail`, if any.
        detail: Option<String>,
    },
    /// 410: the assertion is gone (the key was revoked).
    #[error("consumer API: assertion gone (key revoked)")]
    Gone,
    /// 5xx: IO failed.
    #[error("consumer API: server error {status}{}", detail_suffix(.detail))]
    Server {
        /// The status.
        status: u16,
        /// The problem's `detail`, if any.
        detail: Option<String>,
    },
    /// A status the API does not define.
    #[error("consumer API: unexpected status {0}")]
    UnexpectedStatus(u16),
    /// A 200 whose body is not a `SamlUserInfo` or `OidcUserInfo`.
    #[error("consumer API: unreadable answer: {0}")]
    BadBody(String),
    /// The API could not be reached.
    #[error("consumer API unreachable: {0}")]
    Transport(String),
}

fn detail_suffix(d: &Option<String>) -> String {
    d.as_ref().map(|d| format!(": {d}")).unwrap_or_default()
}

impl ConsumerApiError {
    /// Whether the failure is IO's or the network's (trying later may succeed), rather than
    /// an answer about this request.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Server { .. } | Self::Transport(_))
    }
}

/// Where login assertions come from: [`LollipopConsumerClient`], or a cache in front of it.
#[async_trait::async_trait]
pub trait AssertionSource: Send + Sync + 'static {
    /// The assertion bound to `assertion_ref`, fetched with IO's `auth_jwt`.
    ///
    /// # Errors
    /// [`ConsumerApiError`] when there is none.
    async fn get_assertion(
        &self,
        assertion_ref: &str,
        auth_jwt: &str,
    ) -> Result<LcUserInfo, ConsumerApiError>;
}

/// A client of IO's Lollipop consumer API (`getAssertion`). `Debug` hides the key.
#[derive(Clone)]
pub struct LollipopConsumerClient {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl fmt::Debug for LollipopConsumerClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LollipopConsumerClient")
            .field("base", &self.base)
            .field("key", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl LollipopConsumerClient {
    /// A client of [`CONSUMER_API_BASE_URL`] with the sender's subscription key and a 10 s
    /// timeout.
    ///
    /// # Errors
    /// [`ConsumerApiError::Transport`] when the HTTP client cannot be built.
    pub fn new(subscription_key: impl Into<String>) -> Result<Self, ConsumerApiError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConsumerApiError::Transport(e.to_string()))?;
        Ok(Self {
            base: CONSUMER_API_BASE_URL.to_owned(),
            key: subscription_key.into(),
            http,
        })
    }

    /// Another base URL (UAT, or a mock on 127.0.0.1), without the trailing `/`.
    #[must_use]
    pub fn base_url(mut self, base: impl Into<String>) -> Self {
        self.base = base.into().trim_end_matches('/').to_owned();
        self
    }

    /// The `getAssertion` request (no I/O).
    ///
    /// # Errors
    /// [`ConsumerApiError::BadInput`] for an assertion ref that is not `sha256-`, `sha384-`
    /// or `sha512-` and base64url, or an auth JWT that is not a header value.
    pub fn get_assertion_request(
        &self,
        assertion_ref: &str,
        auth_jwt: &str,
    ) -> Result<http::Request<Vec<u8>>, ConsumerApiError> {
        if parse_assertion_ref(assertion_ref).is_none() {
            return Err(ConsumerApiError::BadInput("assertion ref"));
        }
        let jwt_ok = !auth_jwt.is_empty()
            && auth_jwt
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.=+/".contains(&c));
        if !jwt_ok {
            return Err(ConsumerApiError::BadInput("auth JWT"));
        }
        http::Request::builder()
            .method(http::Method::GET)
            .uri(format!("{}/assertions/{assertion_ref}", self.base))
            .header(LOLLIPOP_AUTH_HEADER, format!("Bearer {auth_jwt}"))
            .header(SUBSCRIPTION_KEY_HEADER, self.key.as_str())
            .header(http::header::ACCEPT, "application/json")
            .body(Vec::new())
            .map_err(|_| ConsumerApiError::BadInput("base URL or subscription key"))
    }

    /// Reads the answer to [`get_assertion_request`](Self::get_assertion_request).
    ///
    /// # Errors
    /// The [`ConsumerApiError`] of the status, or [`ConsumerApiError::BadBody`].
    pub fn parse_get_assertion(
        response: &http::Response<Vec<u8>>,
    ) -> Result<LcUserInfo, ConsumerApiError> {
        let body = response.body();
        let detail = || {
            serde_json::from_slice::<ProblemJson>(body)
                .ok()
                .and_then(|p| p.detail.or(p.title))
        };
        match response.status().as_u16() {
            200 => parse_user_info(body),
            400 => Err(ConsumerApiError::BadRequest { detail: detail() }),
            401 => Err(ConsumerApiError::Unauthorized),
            403 => Err(ConsumerApiError::Forbidden),
            404 => Err(ConsumerApiError::NotFound { detail: detail() }),
            410 => Err(ConsumerApiError::Gone),
            s @ 500..=599 => Err(ConsumerApiError::Server {
                status: s,
                detail: detail(),
            }),
            s => Err(ConsumerApiError::UnexpectedStatus(s)),
        }
    }
}

fn parse_user_info(body: &[u8]) -> Result<LcUserInfo, ConsumerApiError> {
    let v: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| ConsumerApiError::BadBody(format!("not JSON: {e}")))?;
    let text = |name: &str| {
        v.get(name)
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    if let Some(response_xml) = text("response_xml") {
        return Ok(LcUserInfo::Saml { response_xml });
    }
    match (text("id_token"), text("claims_token")) {
        (Some(id_token), Some(claims_token)) => Ok(LcUserInfo::Oidc {
            id_token,
            claims_token,
        }),
        _ => Err(ConsumerApiError::BadBody(
            "neither response_xml nor id_token and claims_token".to_owned(),
        )),
    }
}

#[async_trait::async_trait]
impl AssertionSource for LollipopConsumerClient {
    async fn get_assertion(
        &self,
        assertion_ref: &str,
        auth_jwt: &str,
    ) -> Result<LcUserInfo, ConsumerApiError> {
        let req = self.get_assertion_request(assertion_ref, auth_jwt)?;
        let req = reqwest::Request::try_from(req)
            .map_err(|e| ConsumerApiError::Transport(e.to_string()))?;
        let mut resp = self
            .http
            .execute(req)
            .await
            .map_err(|e| ConsumerApiError::Transport(e.to_string()))?;
        let status = resp.status();
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| ConsumerApiError::Transport(e.to_string()))?
        {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(ConsumerApiError::BadBody("larger than 1 MiB".to_owned()));
            }
            body.extend_from_slice(&chunk);
        }
        let mut out = http::Response::new(body);
        *out.status_mut() = status;
        Self::parse_get_assertion(&out)
    }
}

/// An [`AssertionSource`] that keeps what another source answered, by assertion ref, for a
/// while: the login behind a key does not change, and without it every call IO forwards costs
/// a call back to IO (pagoPA's Java consumer SDK keeps assertions the same way). Only answers
/// are kept, never errors; what is kept is checked again against each request like a fresh
/// answer (signature, key, user, period). A revoked key is seen once the entry leaves.
pub struct CachedAssertionSource {
    inner: Arc<dyn AssertionSource>,
    ttl: Duration,
    capacity: usize,
    entries: std::sync::Mutex<std::collections::HashMap<String, (LcUserInfo, std::time::Instant)>>,
}

impl fmt::Debug for CachedAssertionSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedAssertionSource")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl CachedAssertionSource {
    /// Keeps the answers of `inner` for `ttl`, at most `capacity` of them (when full of live
    /// entries, new answers are passed on without being kept).
    pub fn new(inner: impl AssertionSource, ttl: Duration, capacity: usize) -> Self {
        Self {
            inner: Arc::new(inner),
            ttl,
            capacity: capacity.max(1),
            entries: std::sync::Mutex::new(std::collections::HashMap::new()),
        }
    }

    fn lookup(&self, assertion_ref: &str) -> Option<LcUserInfo> {
        let map = self.entries.lock().ok()?;
        map.get(assertion_ref)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(v, _)| v.clone())
    }

    fn keep(&self, assertion_ref: &str, info: &LcUserInfo) {
        let Ok(mut map) = self.entries.lock() else {
            return;
        };
        if map.len() >= self.capacity {
            map.retain(|_, (_, at)| at.elapsed() < self.ttl);
        }
        if map.len() < self.capacity || map.contains_key(assertion_ref) {
            map.insert(
                assertion_ref.to_owned(),
                (info.clone(), std::time::Instant::now()),
            );
        }
    }
}

#[async_trait::async_trait]
impl AssertionSource for CachedAssertionSource {
    async fn get_assertion(
        &self,
        assertion_ref: &str,
        auth_jwt: &str,
    ) -> Result<LcUserInfo, ConsumerApiError> {
        if let Some(hit) = self.lookup(assertion_ref) {
            return Ok(hit);
        }
        let info = self.inner.get_assertion(assertion_ref, auth_jwt).await?;
        self.keep(assertion_ref, &info);
        Ok(info)
    }
}

/// Why a login assertion was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AssertionError {
    /// The consumer API gave no assertion.
    #[error(transparent)]
    Consumer(#[from] ConsumerApiError),
    /// The login is OIDC: not supported (see the [module](self) documentation).
    #[error("OIDC login assertions are not supported (the key binding of OIDC is unspecified)")]
    OidcUnsupported,
    /// The consumer API answered with another kind of assertion than the header names.
    #[error("the assertion is {found:?}, the header says {expected:?}")]
    WrongType {
        /// The type in `x-pagopa-lollipop-assertion-type`.
        expected: AssertionType,
        /// The type the API answered with.
        found: AssertionType,
    },
    /// The request's public key cannot be read (when checked alone, not through
    /// [`super::lollipop::LollipopVerifier`]).
    #[error("the public key is unusable: {0}")]
    Key(String),
    /// The SAML response is not well formed or is refused by the parser.
    #[error("the SAML response is not usable XML: {0}")]
    Xml(String),
    /// The root is not `samlp:Response`, or it has not exactly one `saml:Assertion` child.
    #[error("not a SAML response with one assertion: {0}")]
    Structure(&'static str),
    /// The assertion's issuer is not an IdP of the configured trust.
    #[error("the assertion's issuer {0} is not a trusted identity provider")]
    UnknownIdp(String),
    /// The assertion is not signed by its IdP (absent, broken, or by another key).
    #[error("the assertion's signature is not the IdP's: {0}")]
    Signature(String),
    /// A required element or attribute of the signed assertion is absent.
    #[error("the assertion has no {0}")]
    Missing(&'static str),
    /// `InResponseTo` is not an assertion ref.
    #[error("InResponseTo {0:?} is not an assertion ref")]
    NotAssertionRef(String),
    /// `InResponseTo` is not the thumbprint of the request's key, or not its assertion ref.
    #[error("the assertion was issued for another key (InResponseTo {in_response_to})")]
    OtherKey {
        /// The assertion's `InResponseTo`.
        in_response_to: String,
    },
    /// The `fiscalNumber` attribute is not a fiscal code.
    #[error("the fiscalNumber attribute is not a fiscal code: {0:?}")]
    BadFiscalNumber(String),
    /// The assertion is of another citizen than `x-pagopa-lollipop-user-id`.
    #[error("the assertion is of another citizen than the Lollipop user")]
    OtherUser,
    /// A date of the assertion is malformed.
    #[error("{field} is not an xs:dateTime: {value:?}")]
    BadInstant {
        /// The attribute.
        field: &'static str,
        /// Its value.
        value: String,
    },
    /// `NotBefore` is in the future.
    #[error("the assertion is not valid yet (NotBefore {0})")]
    NotYetValid(String),
    /// `NotBefore` is older than the maximum age.
    #[error("the assertion has expired (NotBefore {0})")]
    Expired(String),
    /// The audience is not the configured one.
    #[error("the assertion is not addressed to {0}")]
    Audience(String),
}

impl AssertionError {
    /// Whether the failure is IO's or the network's rather than the request's.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Consumer(e) if e.is_unavailable())
    }
}

/// What a checked login assertion says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginAssertion {
    /// The identity provider (the assertion's `Issuer`).
    pub idp: String,
    /// The assertion's `ID`.
    pub assertion_id: String,
    /// The citizen (`fiscalNumber`).
    pub user: CodiceFiscale,
    /// `Conditions/@NotBefore`.
    pub not_before: DateTime<Utc>,
    /// `AuthnStatement/AuthnContext/AuthnContextClassRef` (e.g. `https://www.spid.gov.it/SpidL2`).
    pub authn_context: Option<String>,
}

/// The request's Lollipop headers that an assertion is checked against.
#[derive(Debug, Clone, Copy)]
pub struct AssertionRequest<'a> {
    /// `x-pagopa-lollipop-public-key` (a JWK, base64url).
    pub public_key: &'a str,
    /// `x-pagopa-lollipop-assertion-ref`.
    pub assertion_ref: &'a str,
    /// `x-pagopa-lollipop-assertion-type`.
    pub assertion_type: AssertionType,
    /// `x-pagopa-lollipop-user-id`.
    pub user: &'a CodiceFiscale,
    /// `x-pagopa-lollipop-auth-jwt`.
    pub auth_jwt: &'a str,
}

/// Fetches and checks login assertions (see the [module](self) documentation).
#[derive(Clone)]
pub struct AssertionVerifier {
    source: Arc<dyn AssertionSource>,
    registry: Option<Arc<spid::IdpRegistry>>,
    idps: Vec<spid::IdpMetadata>,
    max_age: Duration,
    skew: Duration,
    audience: Option<String>,
}

impl fmt::Debug for AssertionVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssertionVerifier")
            .field("registry", &self.registry.is_some())
            .field(
                "idps",
                &self.idps.iter().map(|i| &i.entity_id).collect::<Vec<_>>(),
            )
            .field("max_age", &self.max_age)
            .field("skew", &self.skew)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl AssertionVerifier {
    /// Assertions from `source`, trusting no IdP yet (add [`registry`](Self::registry) or
    /// [`idp`](Self::idp)); maximum age 365 days, 60 s of clock skew.
    pub fn new(source: impl AssertionSource) -> Self {
        Self::with_source(Arc::new(source))
    }

    /// [`new`](Self::new) with a shared source.
    pub fn with_source(source: Arc<dyn AssertionSource>) -> Self {
        Self {
            source,
            registry: None,
            idps: Vec::new(),
            max_age: Duration::from_secs(365 * 86_400),
            skew: Duration::from_secs(60),
            audience: None,
        }
    }

    /// Trusts the IdPs of this registry (SPID's), with their keys as it holds them when an
    /// assertion is checked (refresh it elsewhere).
    #[must_use]
    pub fn registry(mut self, registry: Arc<spid::IdpRegistry>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Trusts one more IdP (for example CIE's, from its metadata), looked up before the
    /// registry.
    #[must_use]
    pub fn idp(mut self, idp: spid::IdpMetadata) -> Self {
        self.idps.push(idp);
        self
    }

    /// How long after its `NotBefore` an assertion is accepted.
    #[must_use]
    pub fn max_age(mut self, d: Duration) -> Self {
        self.max_age = d;
        self
    }

    /// The clock skew allowed for `NotBefore` in the future.
    #[must_use]
    pub fn skew(mut self, d: Duration) -> Self {
        self.skew = d;
        self
    }

    /// Requires the assertion's `AudienceRestriction` to name this entity id (IO's SP).
    #[must_use]
    pub fn audience(mut self, entity_id: impl Into<String>) -> Self {
        self.audience = Some(entity_id.into());
        self
    }

    /// Fetches the assertion of `req` and checks it, now.
    ///
    /// # Errors
    /// The first check that fails.
    pub async fn verify(
        &self,
        req: &AssertionRequest<'_>,
    ) -> Result<LoginAssertion, AssertionError> {
        self.verify_at(req, Utc::now()).await
    }

    /// [`verify`](Self::verify) at `now`.
    ///
    /// # Errors
    /// The first check that fails.
    pub async fn verify_at(
        &self,
        req: &AssertionRequest<'_>,
        now: DateTime<Utc>,
    ) -> Result<LoginAssertion, AssertionError> {
        let key = PublicKey::from_header(req.public_key)
            .map_err(|e| AssertionError::Key(e.to_string()))?;
        self.verify_with_key(req, &key, now).await
    }

    pub(crate) async fn verify_with_key(
        &self,
        req: &AssertionRequest<'_>,
        key: &PublicKey,
        now: DateTime<Utc>,
    ) -> Result<LoginAssertion, AssertionError> {
        if req.assertion_type == AssertionType::Oidc {
            return Err(AssertionError::OidcUnsupported);
        }
        let info = self
            .source
            .get_assertion(req.assertion_ref, req.auth_jwt)
            .await?;
        let LcUserInfo::Saml { response_xml } = info else {
            return Err(AssertionError::WrongType {
                expected: req.assertion_type,
                found: AssertionType::Oidc,
            });
        };
        self.check_saml(response_xml.as_bytes(), req, key, now)
    }

    /// The checks 2 to 7 on a SAML response.
    fn check_saml(
        &self,
        xml: &[u8],
        req: &AssertionRequest<'_>,
        key: &PublicKey,
        now: DateTime<Utc>,
    ) -> Result<LoginAssertion, AssertionError> {
        // 2. Structure.
        let doc = Document::parse(xml).map_err(|e| AssertionError::Xml(e.to_string()))?;
        let root = doc.root();
        if !root.is(NS_SAMLP, "Response") {
            return Err(AssertionError::Structure("the root is not samlp:Response"));
        }
        let mut assertions = root.children_named(NS_SAML, "Assertion");
        let assertion = assertions
            .next()
            .ok_or(AssertionError::Structure("no saml:Assertion"))?;
        if assertions.next().is_some() {
            return Err(AssertionError::Structure("more than one saml:Assertion"));
        }
        // 3. Issuer and signature; afterwards only the signed element is read.
        let issuer = assertion
            .child(NS_SAML, "Issuer")
            .map(|e| e.text().trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or(AssertionError::Missing("Issuer"))?;
        let idp = self
            .find_idp(&issuer)
            .ok_or_else(|| AssertionError::UnknownIdp(issuer.clone()))?;
        let mut trusted = Vec::with_capacity(idp.signing_certificates.len());
        for der in &idp.signing_certificates {
            let cert = xmldsig::Certificate::from_der(der)
                .map_err(|e| AssertionError::Signature(format!("IdP certificate: {e}")))?;
            trusted.push(xmldsig::TrustedKey::from_certificate(cert));
        }
        let verified =
            xmldsig::verify_element(assertion, &trusted, &xmldsig::VerifyOptions::default())
                .map_err(|e| AssertionError::Signature(e.to_string()))?;
        let signed = verified.element();
        let assertion_id = signed
            .attr("ID")
            .ok_or(AssertionError::Missing("Assertion/@ID"))?
            .to_owned();
        // 4. Key binding.
        let irt = in_response_to(&signed)?;
        let Some((hash, thumb)) = parse_assertion_ref(&irt) else {
            return Err(AssertionError::NotAssertionRef(irt));
        };
        if key.thumbprint(hash) != thumb || irt != req.assertion_ref {
            return Err(AssertionError::OtherKey {
                in_response_to: irt,
            });
        }
        // 5. Citizen.
        let user = fiscal_number(&signed)?;
        if &user != req.user {
            return Err(AssertionError::OtherUser);
        }
        // 6. Period.
        let conditions = signed
            .child(NS_SAML, "Conditions")
            .ok_or(AssertionError::Missing("Conditions"))?;
        let nb_text = conditions
            .attr("NotBefore")
            .ok_or(AssertionError::Missing("Conditions/@NotBefore"))?;
        let not_before = DateTime::parse_from_rfc3339(nb_text.trim())
            .map(|d| d.with_timezone(&Utc))
            .map_err(|_| AssertionError::BadInstant {
                field: "Conditions/@NotBefore",
                value: nb_text.to_owned(),
            })?;
        let skew = chrono::Duration::from_std(self.skew).unwrap_or(chrono::Duration::MAX);
        let max_age = chrono::Duration::from_std(self.max_age).unwrap_or(chrono::Duration::MAX);
        if not_before
            > now
                .checked_add_signed(skew)
                .unwrap_or(DateTime::<Utc>::MAX_UTC)
        {
            return Err(AssertionError::NotYetValid(nb_text.to_owned()));
        }
        if now.signed_duration_since(not_before) > max_age {
            return Err(AssertionError::Expired(nb_text.to_owned()));
        }
        // 7. Audience.
        if let Some(aud) = &self.audience {
            let named = kids(&[conditions], "AudienceRestriction")
                .iter()
                .flat_map(|r| kids(&[*r], "Audience"))
                .any(|a| a.text().trim() == aud);
            if !named {
                return Err(AssertionError::Audience(aud.clone()));
            }
        }
        let authn_context = signed
            .child(NS_SAML, "AuthnStatement")
            .and_then(|s| s.child(NS_SAML, "AuthnContext"))
            .and_then(|c| c.child(NS_SAML, "AuthnContextClassRef"))
            .map(|r| r.text().trim().to_owned());
        Ok(LoginAssertion {
            idp: issuer,
            assertion_id,
            user,
            not_before,
            authn_context,
        })
    }

    fn find_idp(&self, entity_id: &str) -> Option<spid::IdpMetadata> {
        self.idps
            .iter()
            .find(|i| i.entity_id == entity_id)
            .cloned()
            .or_else(|| self.registry.as_ref().and_then(|r| r.get(entity_id)))
    }
}

/// The `saml:` children named `name` of each of `parents`.
fn kids<'d>(parents: &[Element<'d>], name: &str) -> Vec<Element<'d>> {
    parents
        .iter()
        .flat_map(|p| {
            p.child_elements()
                .filter(|e| e.is(NS_SAML, name))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The one `InResponseTo` of the assertion's subject confirmations.
fn in_response_to(assertion: &Element<'_>) -> Result<String, AssertionError> {
    let subject = assertion
        .child(NS_SAML, "Subject")
        .ok_or(AssertionError::Missing("Subject"))?;
    let mut found: Option<&str> = None;
    for data in kids(
        &kids(&[subject], "SubjectConfirmation"),
        "SubjectConfirmationData",
    ) {
        let v = data.attr("InResponseTo").ok_or(AssertionError::Missing(
            "SubjectConfirmationData/@InResponseTo",
        ))?;
        match found {
            Some(f) if f != v => {
                return Err(AssertionError::Structure(
                    "subject confirmations with different InResponseTo",
                ));
            }
            _ => found = Some(v),
        }
    }
    found
        .map(str::to_owned)
        .ok_or(AssertionError::Missing("SubjectConfirmationData"))
}

/// The one `fiscalNumber` attribute, without `TINIT-`.
fn fiscal_number(assertion: &Element<'_>) -> Result<CodiceFiscale, AssertionError> {
    let attributes: Vec<_> = kids(&kids(&[*assertion], "AttributeStatement"), "Attribute")
        .into_iter()
        .filter(|a| a.attr("Name") == Some("fiscalNumber"))
        .collect();
    let values = kids(&attributes, "AttributeValue");
    let mut values = values.into_iter();
    let value = values
        .next()
        .ok_or(AssertionError::Missing("fiscalNumber attribute"))?
        .text();
    if values.next().is_some() {
        return Err(AssertionError::Structure(
            "more than one fiscalNumber value",
        ));
    }
    let v = value.trim();
    let code = v.strip_prefix("TINIT-").unwrap_or(v);
    let cf: CodiceFiscale = code
        .parse()
        .map_err(|_| AssertionError::BadFiscalNumber(v.to_owned()))?;
    if cf.as_str() != code {
        return Err(AssertionError::BadFiscalNumber(v.to_owned()));
    }
    Ok(cf)
}

/// The hash and thumbprint of an assertion ref (`sha256-…`), as the OpenAPI's patterns.
pub(crate) fn parse_assertion_ref(s: &str) -> Option<(&'static digest::Algorithm, &str)> {
    let (alg, max, t) = match s.split_once('-')? {
        ("sha256", t) => (&digest::SHA256, 44, t),
        ("sha384", t) => (&digest::SHA384, 66, t),
        ("sha512", t) => (&digest::SHA512, 88, t),
        _ => return None,
    };
    let ok = (1..=max).contains(&t.len())
        && t.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_=".contains(&c));
    ok.then_some((alg, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(status: u16, body: &str) -> http::Response<Vec<u8>> {
        let mut r = http::Response::new(body.as_bytes().to_vec());
        *r.status_mut() = http::StatusCode::from_u16(status).unwrap();
        r
    }

    #[test]
    fn statuses_map_to_their_errors() {
        let p = LollipopConsumerClient::parse_get_assertion;
        let problem = r#"{"title":"Bad","detail":"assertion_ref malformed"}"#;
        assert_eq!(
            p(&resp(400, problem)).unwrap_err(),
            ConsumerApiError::BadRequest {
                detail: Some("assertion_ref malformed".into())
            }
        );
        assert_eq!(
            p(&resp(401, "")).unwrap_err(),
            ConsumerApiError::Unauthorized
        );
        assert_eq!(p(&resp(403, "")).unwrap_err(), ConsumerApiError::Forbidden);
        assert_eq!(
            p(&resp(404, "{}")).unwrap_err(),
            ConsumerApiError::NotFound { detail: None }
        );
        assert_eq!(p(&resp(410, "")).unwrap_err(), ConsumerApiError::Gone);
        assert!(p(&resp(503, "")).unwrap_err().is_unavailable());
        assert_eq!(
            p(&resp(302, "")).unwrap_err(),
            ConsumerApiError::UnexpectedStatus(302)
        );
        assert!(matches!(
            p(&resp(200, r#"{"other":1}"#)).unwrap_err(),
            ConsumerApiError::BadBody(_)
        ));
        assert!(matches!(
            p(&resp(200, "<xml/>")).unwrap_err(),
            ConsumerApiError::BadBody(_)
        ));
        assert_eq!(
            p(&resp(200, r#"{"id_token":"a.b.c","claims_token":"d.e.f"}"#)).unwrap(),
            LcUserInfo::Oidc {
                id_token: "a.b.c".into(),
                claims_token: "d.e.f".into()
            }
        );
    }

    #[test]
    fn the_request_is_built_as_the_openapi_says() {
        let c = LollipopConsumerClient::new("sub-key")
            .unwrap()
            .base_url("http://127.0.0.1:1/lollipop/api/v1/");
        let r = c.get_assertion_request("sha256-abc_-=", "x.y.z").unwrap();
        assert_eq!(
            r.uri().to_string(),
            "http://127.0.0.1:1/lollipop/api/v1/assertions/sha256-abc_-="
        );
        assert_eq!(r.headers()[LOLLIPOP_AUTH_HEADER], "Bearer x.y.z");
        assert_eq!(r.headers()[SUBSCRIPTION_KEY_HEADER], "sub-key");
        for bad in ["md5-abc", "sha256-", "sha256-a/../b", "sha256-a?x=1"] {
            assert_eq!(
                c.get_assertion_request(bad, "x.y.z").unwrap_err(),
                ConsumerApiError::BadInput("assertion ref"),
                "{bad}"
            );
        }
        assert_eq!(
            c.get_assertion_request("sha256-abc", "x y\r\n")
                .unwrap_err(),
            ConsumerApiError::BadInput("auth JWT")
        );
        assert!(!format!("{c:?}").contains("sub-key"));
    }
}
