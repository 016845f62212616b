//! Login (issue 19, item 3) under the Italian profile (italia.github.io/spid-cie-oidc-docs):
//! the Authorization Request as a signed request object with PKCE S256, the pending login kept
//! in a [`PendingLoginStore`] bound to the browser session and used once, the token request
//! authenticated with `private_key_jwt`, and ID Token validation.

use crate::chain::{FetchError, HttpResponse, TrustChain};
use crate::jose::{self, Alg, JoseError, Jwks, SigningKey, VerifyOptions};
use crate::jwe::{self, DecryptionKey, JweError};
use crate::statement::CLOCK_SKEW;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use pa_types::{AssuranceLevel, CitizenIdentity, LoginMethod};
use ring::rand::SecureRandom as _;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::Mutex;

/// `client_assertion_type` of `private_key_jwt` (RFC 7523).
pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The fiscal number claim (`TINIT-` + codice fiscale).
pub const CLAIM_FISCAL_NUMBER: &str = "https://attributes.eid.gov.it/fiscal_number";
/// Lifetime (seconds) of the request object and of the client assertion.
pub const REQUEST_LIFETIME: i64 = 180;
/// How long (seconds) a pending login waits for the callback.
pub const PENDING_LIFETIME: i64 = 600;

/// The `acr` value of a SPID / CIE level (`https://www.spid.gov.it/SpidL1` ... `SpidL3`; CIE id
/// uses the same values).
pub fn acr_of(level: AssuranceLevel) -> &'static str {
    match level {
        AssuranceLevel::L1 => "https://www.spid.gov.it/SpidL1",
        AssuranceLevel::L2 => "https://www.spid.gov.it/SpidL2",
        _ => "https://www.spid.gov.it/SpidL3",
    }
}

/// The level of an `acr` value, if it is one of the three.
pub fn level_of_acr(acr: &str) -> Option<AssuranceLevel> {
    [AssuranceLevel::L1, AssuranceLevel::L2, AssuranceLevel::L3]
        .into_iter()
        .find(|l| acr_of(*l) == acr)
}

/// `prompt` as the profile allows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prompt {
    /// `consent`: the OP asks the citizen to consent to releasing the attributes.
    #[default]
    Consent,
    /// `consent login`: also forces a new authentication.
    ConsentLogin,
}

impl Prompt {
    /// The parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Prompt::Consent => "consent",
            Prompt::ConsentLogin => "consent login",
        }
    }
}

/// What went wrong in a login step.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoginError {
    /// The OP's Resolved Metadata lacks a member or has it in the wrong shape.
    #[error("OP metadata: {0:?} missing or invalid")]
    ProviderMetadata(&'static str),
    /// A configuration value is unusable.
    #[error("configuration: {0}")]
    Config(String),
    /// A JWS failed a check.
    #[error("JWS: {0}")]
    Jose(#[from] JoseError),
    /// The callback's `state` names no pending login of this browser session (unknown, expired,
    /// already used, or another session's).
    #[error("unknown, expired or already used state")]
    UnknownState,
    /// The OP answered the callback with an error.
    #[error("OP error {error:?}: {description:?}")]
    OpError {
        /// `error`.
        error: String,
        /// `error_description`.
        description: Option<String>,
    },
    /// The callback has no `code`.
    #[error("callback without code")]
    MissingCode,
    /// An HTTP exchange failed.
    #[error("HTTP: {0}")]
    Http(#[from] FetchError),
    /// The token endpoint refused the request or answered something else than JSON tokens.
    #[error("token endpoint: {0}")]
    TokenEndpoint(String),
    /// A claim is missing or has the wrong type.
    #[error("ID token claim {0:?} missing or invalid")]
    Claim(&'static str),
    /// `iss` is not the OP.
    #[error("iss: expected {expected:?}, found {found:?}")]
    WrongIssuer {
        /// The OP.
        expected: String,
        /// Found.
        found: String,
    },
    /// `aud` does not hold our `client_id`, or `azp` is not it.
    #[error("audience does not name client {0:?}")]
    WrongAudience(String),
    /// `exp` is past.
    #[error("ID token expired at {exp} (now {now})")]
    Expired {
        /// Expiry.
        exp: i64,
        /// Now.
        now: i64,
    },
    /// `iat` is in the future or too old.
    #[error("ID token iat {iat} outside the accepted window (now {now})")]
    IssuedAt {
        /// Issued at.
        iat: i64,
        /// Now.
        now: i64,
    },
    /// `nonce` differs from the one sent.
    #[error("nonce mismatch")]
    WrongNonce,
    /// `acr` is not among the values requested.
    #[error("acr {0:?} was not requested")]
    WrongAcr(String),
    /// `at_hash` does not match the access token.
    #[error("at_hash does not match the access token")]
    WrongAtHash,
    /// The UserInfo answer is not a JWE (plain JSON or a bare JWS): refused.
    #[error("UserInfo is not encrypted")]
    UserInfoNotEncrypted,
    /// The decrypted UserInfo is not a signed JWT: refused.
    #[error("UserInfo is not signed")]
    UserInfoNotSigned,
    /// The UserInfo JWE does not decrypt.
    #[error("UserInfo JWE: {0}")]
    Jwe(#[from] JweError),
    /// A UserInfo claim is missing, invalid or not the expected one.
    #[error("UserInfo claim {0:?} missing or invalid")]
    UserInfoClaim(&'static str),
    /// The OP's keys from its `signed_jwks_uri` or `jwks_uri` are unusable.
    #[error("OP keys from {origin}: {reason}")]
    Jwks {
        /// `signed_jwks_uri` or `jwks_uri`.
        origin: &'static str,
        /// What is wrong.
        reason: String,
    },
}

impl LoginError {
    /// The message a citizen sees (Italian), without technical detail.
    pub fn citizen_message(&self) -> &'static str {
        match self {
            LoginError::UnknownState => {
                "La sessione di accesso è scaduta o non è valida. Riprova ad accedere."
            }
            LoginError::OpError { error, .. } if error == "access_denied" => {
                "Accesso annullato: non hai dato il consenso o hai interrotto l'autenticazione."
            }
            LoginError::Http(_) | LoginError::TokenEndpoint(_) => {
                "Il gestore dell'identità non risponde correttamente. Riprova più tardi."
            }
            LoginError::Config(_) | LoginError::ProviderMetadata(_) => {
                "Il servizio di accesso non è al momento disponibile. Riprova più tardi."
            }
            LoginError::WrongAcr(_) => {
                "Il livello di sicurezza dell'autenticazione non è quello richiesto dal servizio."
            }
            _ => "Non è stato possibile completare l'accesso. Riprova ad accedere.",
        }
    }
}

/// What a Relying Party needs of an OpenID Provider, read from the OP's Trust Chain (its
/// Resolved Metadata `openid_provider`).
#[derive(Debug, Clone)]
pub struct Provider {
    /// `issuer` (the OP's Entity Identifier).
    pub issuer: String,
    /// `authorization_endpoint`.
    pub authorization_endpoint: String,
    /// `token_endpoint`.
    pub token_endpoint: String,
    /// `userinfo_endpoint`.
    pub userinfo_endpoint: Option<String>,
    /// `revocation_endpoint`.
    pub revocation_endpoint: Option<String>,
    /// `end_session_endpoint`.
    pub end_session_endpoint: Option<String>,
    /// The OP's OIDC keys (`jwks`): ID Tokens and UserInfo are verified with these only.
    pub jwks: Jwks,
}

impl Provider {
    /// From a verified Trust Chain whose subject is the OP.
    ///
    /// # Errors
    /// [`LoginError::ProviderMetadata`] naming the missing member (this one takes only an
    /// inline `jwks`; [`Provider::from_chain_fetching`] also `signed_jwks_uri` and `jwks_uri`).
    pub fn from_chain(chain: &TrustChain) -> Result<Provider, LoginError> {
        let m = chain
            .metadata_of("openid_provider")
            .ok_or(LoginError::ProviderMetadata("openid_provider"))?;
        Provider::from_metadata(&chain.subject, m)
    }

    /// From Resolved Metadata `openid_provider` of the entity `entity_id`.
    ///
    /// # Errors
    /// [`LoginError::ProviderMetadata`] naming the missing member.
    pub fn from_metadata(entity_id: &str, m: &Map<String, Value>) -> Result<Provider, LoginError> {
        crate::jwks_source::key_source(m)?;
        let jwks = Jwks::from_json(m.get("jwks").ok_or(LoginError::ProviderMetadata("jwks"))?)
            .map_err(|_| LoginError::ProviderMetadata("jwks"))?;
        Provider::from_metadata_with_jwks(entity_id, m, jwks)
    }

    /// From Resolved Metadata `openid_provider` and the OP's OIDC keys obtained apart (from
    /// its `signed_jwks_uri` or `jwks_uri`: see [`Provider::from_chain_fetching`]).
    ///
    /// # Errors
    /// [`LoginError::ProviderMetadata`] naming the missing member.
    pub fn from_metadata_with_jwks(
        entity_id: &str,
        m: &Map<String, Value>,
        jwks: Jwks,
    ) -> Result<Provider, LoginError> {
        let s = |n: &'static str| m.get(n).and_then(Value::as_str).map(str::to_owned);
        let req = |n: &'static str| s(n).ok_or(LoginError::ProviderMetadata(n));
        let issuer = s("issuer").unwrap_or_else(|| entity_id.to_owned());
        Ok(Provider {
            issuer,
            authorization_endpoint: req("authorization_endpoint")?,
            token_endpoint: req("token_endpoint")?,
            userinfo_endpoint: s("userinfo_endpoint"),
            revocation_endpoint: s("revocation_endpoint"),
            end_session_endpoint: s("end_session_endpoint"),
            jwks,
        })
    }
}

/// A login waiting for its callback: what the callback and the token exchange are checked
/// against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingLogin {
    /// `state` sent (the key of the store).
    pub state: String,
    /// The browser session it belongs to.
    pub session: String,
    /// `nonce` sent: the ID Token must carry it.
    pub nonce: String,
    /// PKCE `code_verifier` (its S256 challenge was sent).
    pub code_verifier: String,
    /// The OP's issuer.
    pub op: String,
    /// The `redirect_uri` sent.
    pub redirect_uri: String,
    /// The `acr` values asked for, in order of preference.
    pub acr_values: Vec<String>,
    /// When it stops waiting (seconds since the epoch).
    pub expires_at: i64,
}

/// Why a store could not answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("pending login store: {0}")]
pub struct StoreError(pub String);

/// Where pending logins wait between the redirect to the OP and the callback.
#[async_trait::async_trait]
pub trait PendingLoginStore: Send + Sync {
    /// Saves a pending login.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    async fn put(&self, login: PendingLogin) -> Result<(), StoreError>;

    /// Removes and returns the pending login `state` if it belongs to `session` and has not
    /// expired at `now`: each is used once. A login of another session is left in place and
    /// `None` is returned.
    ///
    /// # Errors
    /// [`StoreError`] if the backend fails.
    async fn take(
        &self,
        state: &str,
        session: &str,
        now: i64,
    ) -> Result<Option<PendingLogin>, StoreError>;
}

/// In-memory [`PendingLoginStore`] (one process).
#[derive(Debug, Default)]
pub struct MemoryPendingLoginStore {
    map: Mutex<HashMap<String, PendingLogin>>,
}

impl MemoryPendingLoginStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

#[async_trait::async_trait]
impl PendingLoginStore for MemoryPendingLoginStore {
    async fn put(&self, login: PendingLogin) -> Result<(), StoreError> {
        let mut m = self
            .map
            .lock()
            .map_err(|_| StoreError("lock poisoned".into()))?;
        let now = login.expires_at - PENDING_LIFETIME;
        m.retain(|_, p| p.expires_at > now);
        m.insert(login.state.clone(), login);
        Ok(())
    }

    async fn take(
        &self,
        state: &str,
        session: &str,
        now: i64,
    ) -> Result<Option<PendingLogin>, StoreError> {
        let mut m = self
            .map
            .lock()
            .map_err(|_| StoreError("lock poisoned".into()))?;
        match m.get(state) {
            Some(p) if p.session == session => {}
            _ => return Ok(None),
        }
        Ok(m.remove(state).filter(|p| p.expires_at > now))
    }
}

/// What a login asks for.
#[derive(Debug, Clone)]
pub struct LoginOptions {
    /// Levels accepted, in order of preference (sent as `acr_values`).
    pub levels: Vec<AssuranceLevel>,
    /// Claims asked in the UserInfo (sent in `claims.userinfo`, each essential).
    pub userinfo_claims: Vec<String>,
    /// `prompt`.
    pub prompt: Prompt,
    /// Which registered `redirect_uri` (index into the RP's list).
    pub redirect_uri_index: usize,
}

impl Default for LoginOptions {
    fn default() -> Self {
        LoginOptions {
            levels: vec![AssuranceLevel::L2],
            userinfo_claims: vec![
                CLAIM_FISCAL_NUMBER.into(),
                "given_name".into(),
                "family_name".into(),
            ],
            prompt: Prompt::Consent,
            redirect_uri_index: 0,
        }
    }
}

/// A started login: where to send the browser, and what to keep.
#[derive(Debug, Clone)]
pub struct AuthorizationRedirect {
    /// The authorization URL (GET, query string serialization).
    pub url: String,
    /// The signed request object (also in `url`).
    pub request_object: String,
    /// The pending login (already saved in the store by [`RelyingParty::start_login`]).
    pub pending: PendingLogin,
}

/// The OIDC side of a Relying Party: its `client_id`, registered `redirect_uris` (as in its
/// `openid_relying_party` metadata) and the OIDC signing key (not a federation key).
#[derive(Debug)]
pub struct RelyingParty {
    client_id: String,
    redirect_uris: Vec<String>,
    signing_key: SigningKey,
    userinfo_iss_aud: UserInfoIssAud,
}

/// Whether a signed UserInfo must carry `iss` and `aud` (see
/// [`RelyingParty::userinfo_iss_aud`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UserInfoIssAud {
    /// Both required, and checked (the default).
    #[default]
    Required,
    /// Checked when present; their absence accepted. OIDC Core §5.3.2 says a signed UserInfo
    /// SHOULD (not MUST) carry them, and the official spid-cie-oidc OP (1.6.x) signs only `sub`
    /// and the claims. The UserInfo is still refused unless it is encrypted to our key, signed
    /// by a key of the OP's Trust Chain and about the ID Token's `sub`.
    IfPresent,
}

fn random_token() -> Result<String, LoginError> {
    let mut b = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| LoginError::Config("system RNG failed".into()))?;
    Ok(B64.encode(b))
}

/// `BASE64URL(SHA-256(verifier))` (RFC 7636 §4.2).
pub fn pkce_s256(code_verifier: &str) -> String {
    B64.encode(ring::digest::digest(
        &ring::digest::SHA256,
        code_verifier.as_bytes(),
    ))
}

/// The left half of SHA-256 of the access token, base64url (OIDC Core §3.1.3.6, for RS256,
/// PS256 and ES256).
pub fn at_hash(access_token: &str) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, access_token.as_bytes());
    B64.encode(&d.as_ref()[..16])
}

impl RelyingParty {
    /// A Relying Party.
    ///
    /// # Errors
    /// [`LoginError::Config`] without a redirect URI.
    pub fn new(
        client_id: impl Into<String>,
        redirect_uris: Vec<String>,
        signing_key: SigningKey,
    ) -> Result<RelyingParty, LoginError> {
        if redirect_uris.is_empty() {
            return Err(LoginError::Config("no redirect_uris".into()));
        }
        Ok(RelyingParty {
            client_id: client_id.into(),
            redirect_uris,
            signing_key,
            userinfo_iss_aud: UserInfoIssAud::Required,
        })
    }

    /// Whether [`RelyingParty::userinfo`] requires `iss` and `aud` in the signed UserInfo
    /// ([`UserInfoIssAud::Required`] unless set).
    #[must_use]
    pub fn userinfo_iss_aud(mut self, rule: UserInfoIssAud) -> Self {
        self.userinfo_iss_aud = rule;
        self
    }

    /// From the RP's `openid_relying_party` metadata (`client_id`, `redirect_uris`).
    ///
    /// # Errors
    /// [`LoginError::Config`] naming the missing member.
    pub fn from_metadata(
        m: &Map<String, Value>,
        signing_key: SigningKey,
    ) -> Result<RelyingParty, LoginError> {
        let client_id = m
            .get("client_id")
            .and_then(Value::as_str)
            .ok_or_else(|| LoginError::Config("metadata has no client_id".into()))?;
        let uris = m
            .get("redirect_uris")
            .and_then(Value::as_array)
            .and_then(|a| {
                a.iter()
                    .map(|v| v.as_str().map(str::to_owned))
                    .collect::<Option<Vec<_>>>()
            })
            .ok_or_else(|| LoginError::Config("metadata has no redirect_uris".into()))?;
        RelyingParty::new(client_id, uris, signing_key)
    }

    /// `client_id`.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Builds the signed request object and the authorization URL, with fresh `state`, `nonce`
    /// and PKCE verifier (32 random bytes each), and the pending login bound to `session`.
    /// The caller saves `pending` (or uses [`RelyingParty::start_login`]).
    ///
    /// # Errors
    /// [`LoginError::Config`] for no level, an unknown redirect URI index, a bad endpoint URL;
    /// a signing failure.
    pub fn authorization_request(
        &self,
        op: &Provider,
        opts: &LoginOptions,
        session: &str,
        now: i64,
    ) -> Result<AuthorizationRedirect, LoginError> {
        if opts.levels.is_empty() {
            return Err(LoginError::Config("no acr level requested".into()));
        }
        let redirect_uri = self
            .redirect_uris
            .get(opts.redirect_uri_index)
            .ok_or_else(|| LoginError::Config("redirect_uri index out of range".into()))?
            .clone();
        let state = random_token()?;
        let nonce = random_token()?;
        let code_verifier = random_token()?;
        let acr_values: Vec<String> = opts.levels.iter().map(|l| acr_of(*l).into()).collect();
        let userinfo: Map<String, Value> = opts
            .userinfo_claims
            .iter()
            .map(|c| (c.clone(), json!({"essential": true})))
            .collect();
        let claims = json!({ "userinfo": userinfo });
        let code_challenge = pkce_s256(&code_verifier);
        let ro = json!({
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": [op.issuer, op.authorization_endpoint],
            "iat": now,
            "exp": now + REQUEST_LIFETIME,
            "jti": random_token()?,
            "client_id": self.client_id,
            "response_type": "code",
            "scope": "openid",
            "redirect_uri": redirect_uri,
            "state": state,
            "nonce": nonce,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
            "acr_values": acr_values.join(" "),
            "claims": claims,
            "prompt": opts.prompt.as_str(),
        });
        let request_object = self.signing_key.sign(None, ro.to_string().as_bytes())?;
        let mut url = url::Url::parse(&op.authorization_endpoint)
            .map_err(|e| LoginError::Config(format!("authorization_endpoint: {e}")))?;
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid")
            .append_pair("code_challenge", &code_challenge)
            .append_pair("code_challenge_method", "S256")
            .append_pair("request", &request_object);
        Ok(AuthorizationRedirect {
            url: url.into(),
            request_object,
            pending: PendingLogin {
                state,
                session: session.to_owned(),
                nonce,
                code_verifier,
                op: op.issuer.clone(),
                redirect_uri,
                acr_values,
                expires_at: now + PENDING_LIFETIME,
            },
        })
    }

    /// [`RelyingParty::authorization_request`], saving the pending login in `store`.
    ///
    /// # Errors
    /// As `authorization_request`, or [`LoginError::Config`] when the store fails.
    pub async fn start_login(
        &self,
        op: &Provider,
        opts: &LoginOptions,
        session: &str,
        store: &dyn PendingLoginStore,
        now: i64,
    ) -> Result<AuthorizationRedirect, LoginError> {
        let r = self.authorization_request(op, opts, session, now)?;
        store
            .put(r.pending.clone())
            .await
            .map_err(|e| LoginError::Config(e.to_string()))?;
        Ok(r)
    }

    /// A `private_key_jwt` client assertion for `audience` (the endpoint URL): `iss` = `sub` =
    /// `client_id`, `aud`, `iat`, `exp`, `jti`.
    ///
    /// # Errors
    /// A signing failure.
    pub fn client_assertion(&self, audience: &str, now: i64) -> Result<String, LoginError> {
        let c = json!({
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": audience,
            "iat": now,
            "exp": now + REQUEST_LIFETIME,
            "jti": random_token()?,
        });
        Ok(self.signing_key.sign(None, c.to_string().as_bytes())?)
    }

    /// The form of the token request for `code` (grant `authorization_code`, `code_verifier`,
    /// `private_key_jwt`).
    ///
    /// # Errors
    /// A signing failure.
    pub fn token_request_form(
        &self,
        op: &Provider,
        code: &str,
        pending: &PendingLogin,
        now: i64,
    ) -> Result<Vec<(String, String)>, LoginError> {
        let assertion = self.client_assertion(&op.token_endpoint, now)?;
        Ok([
            ("grant_type", "authorization_code"),
            ("client_id", self.client_id.as_str()),
            ("code", code),
            ("code_verifier", pending.code_verifier.as_str()),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_assertion", assertion.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
    }

    /// Handles the callback: takes the pending login of `state` for `session` from the store
    /// (once), refuses an OP error, exchanges the code at the token endpoint and validates the
    /// ID Token.
    ///
    /// # Errors
    /// [`LoginError::UnknownState`] (unknown, replayed, expired, another session's state),
    /// [`LoginError::OpError`], [`LoginError::MissingCode`], an HTTP or token endpoint
    /// failure, or the ID Token check that failed.
    #[allow(clippy::too_many_arguments)]
    pub async fn complete_login(
        &self,
        op: &Provider,
        callback: &CallbackParams,
        session: &str,
        store: &dyn PendingLoginStore,
        http: &dyn OidcHttp,
        now: i64,
    ) -> Result<(Tokens, IdToken), LoginError> {
        let pending = take_pending(callback, session, store, now).await?;
        self.finish_login(op, &pending, callback, http, now).await
    }

    /// The second half of [`RelyingParty::complete_login`], for a pending login already
    /// taken with [`take_pending`] (e.g. to find the OP it names first): refuses an OP error,
    /// checks the OP, exchanges the code and validates the ID Token.
    ///
    /// # Errors
    /// As `complete_login`, but for [`LoginError::UnknownState`].
    pub async fn finish_login(
        &self,
        op: &Provider,
        pending: &PendingLogin,
        callback: &CallbackParams,
        http: &dyn OidcHttp,
        now: i64,
    ) -> Result<(Tokens, IdToken), LoginError> {
        if let Some(error) = &callback.error {
            return Err(LoginError::OpError {
                error: error.clone(),
                description: callback.error_description.clone(),
            });
        }
        if pending.op != op.issuer {
            return Err(LoginError::WrongIssuer {
                expected: pending.op.clone(),
                found: op.issuer.clone(),
            });
        }
        if let Some(iss) = &callback.iss
            && iss != &op.issuer
        {
            return Err(LoginError::WrongIssuer {
                expected: op.issuer.clone(),
                found: iss.clone(),
            });
        }
        let code = callback.code.as_deref().ok_or(LoginError::MissingCode)?;
        let form = self.token_request_form(op, code, pending, now)?;
        let resp = http.post_form(&op.token_endpoint, &form, None).await?;
        let tokens = Tokens::from_response(&resp)?;
        let id = validate_id_token(
            &tokens.id_token,
            op,
            &IdTokenCheck {
                client_id: &self.client_id,
                nonce: &pending.nonce,
                acr_values: &pending.acr_values,
                access_token: Some(&tokens.access_token),
            },
            now,
        )?;
        Ok((tokens, id))
    }
}

/// Takes (once) the pending login that the callback's `state` names for the browser session
/// `session`.
///
/// # Errors
/// [`LoginError::UnknownState`] without `state`, or for a state unknown, expired, already used
/// or of another session; [`LoginError::Config`] when the store fails.
pub async fn take_pending(
    callback: &CallbackParams,
    session: &str,
    store: &dyn PendingLoginStore,
    now: i64,
) -> Result<PendingLogin, LoginError> {
    let state = callback.state.as_deref().ok_or(LoginError::UnknownState)?;
    store
        .take(state, session, now)
        .await
        .map_err(|e| LoginError::Config(e.to_string()))?
        .ok_or(LoginError::UnknownState)
}

/// The query of the redirect back from the OP.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallbackParams {
    /// `code`.
    pub code: Option<String>,
    /// `state`.
    pub state: Option<String>,
    /// `iss` (RFC 9207), checked when present.
    pub iss: Option<String>,
    /// `error`.
    pub error: Option<String>,
    /// `error_description`.
    pub error_description: Option<String>,
}

impl CallbackParams {
    /// From a query string (`code=...&state=...`).
    pub fn from_query(q: &str) -> CallbackParams {
        let mut c = CallbackParams::default();
        for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
            let slot = match k.as_ref() {
                "code" => &mut c.code,
                "state" => &mut c.state,
                "iss" => &mut c.iss,
                "error" => &mut c.error,
                "error_description" => &mut c.error_description,
                _ => continue,
            };
            *slot = Some(v.into_owned());
        }
        c
    }
}

/// HTTP as the login needs it: a form POST (token, revocation endpoints) and a GET with a
/// bearer token (UserInfo). Implemented on reqwest by `ReqwestFetcher` (feature `http`).
#[async_trait::async_trait]
pub trait OidcHttp: Send + Sync {
    /// POSTs `form` (`application/x-www-form-urlencoded`) to `url`, with `bearer` as
    /// `Authorization: Bearer` when given.
    async fn post_form(
        &self,
        url: &str,
        form: &[(String, String)],
        bearer: Option<&str>,
    ) -> Result<HttpResponse, FetchError>;
    /// GETs `url` with `Authorization: Bearer <token>`.
    async fn get_bearer(&self, url: &str, token: &str) -> Result<HttpResponse, FetchError>;
}

/// The token endpoint's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    /// `access_token`.
    pub access_token: String,
    /// `id_token` (verified by [`validate_id_token`]).
    pub id_token: String,
    /// `refresh_token`, if any.
    pub refresh_token: Option<String>,
    /// `expires_in`, if any.
    pub expires_in: Option<i64>,
}

impl Tokens {
    /// Parses a token endpoint response (200, JSON, `token_type` Bearer).
    ///
    /// # Errors
    /// [`LoginError::TokenEndpoint`] saying what is wrong.
    pub fn from_response(r: &HttpResponse) -> Result<Tokens, LoginError> {
        let v: Value = serde_json::from_slice(&r.body)
            .map_err(|_| LoginError::TokenEndpoint(format!("status {}, not JSON", r.status)))?;
        if r.status != 200 {
            let e = v.get("error").and_then(Value::as_str).unwrap_or("?");
            return Err(LoginError::TokenEndpoint(format!(
                "status {}, error {e:?}",
                r.status
            )));
        }
        let s = |n: &str| v.get(n).and_then(Value::as_str).map(str::to_owned);
        if !s("token_type").is_some_and(|t| t.eq_ignore_ascii_case("bearer")) {
            return Err(LoginError::TokenEndpoint("token_type is not Bearer".into()));
        }
        Ok(Tokens {
            access_token: s("access_token")
                .ok_or_else(|| LoginError::TokenEndpoint("no access_token".into()))?,
            id_token: s("id_token")
                .ok_or_else(|| LoginError::TokenEndpoint("no id_token".into()))?,
            refresh_token: s("refresh_token"),
            expires_in: v.get("expires_in").and_then(Value::as_i64),
        })
    }
}

/// What an ID Token is checked against.
#[derive(Debug, Clone, Copy)]
pub struct IdTokenCheck<'a> {
    /// Our `client_id` (in `aud`; `azp` when `aud` has several).
    pub client_id: &'a str,
    /// The `nonce` sent.
    pub nonce: &'a str,
    /// The `acr` values asked for.
    pub acr_values: &'a [String],
    /// The access token issued with it (`at_hash` is then required and checked).
    pub access_token: Option<&'a str>,
}

/// A verified ID Token.
#[derive(Debug, Clone)]
pub struct IdToken {
    /// `sub`.
    pub sub: String,
    /// `acr`.
    pub acr: String,
    /// The level of `acr`, when it is a SPID/CIE level.
    pub level: Option<AssuranceLevel>,
    /// `exp`.
    pub exp: i64,
    /// All claims.
    pub claims: Map<String, Value>,
}

/// Oldest `iat` accepted for an ID Token (seconds before now).
pub const ID_TOKEN_MAX_AGE: i64 = 600;

/// Verifies an ID Token: signature by a key of the OP's `jwks` (RS256, PS256 or ES256; never
/// `none`), `iss` = the OP, `aud` holds `client_id` (and `azp` = it when `aud` has several),
/// `exp` not past, `iat` within [now - [`ID_TOKEN_MAX_AGE`], now + skew], `nonce` = the one
/// sent, `acr` among the requested, `at_hash` when an access token is given.
///
/// # Errors
/// The [`LoginError`] naming the first failed check.
pub fn validate_id_token(
    token: &str,
    op: &Provider,
    check: &IdTokenCheck<'_>,
    now: i64,
) -> Result<IdToken, LoginError> {
    let v = jose::verify(
        token,
        &op.jwks,
        VerifyOptions {
            algs: &Alg::ALL,
            typ: None,
        },
    )?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&v.payload).map_err(|_| LoginError::Claim("payload"))?;
    let s = |n: &'static str| {
        claims
            .get(n)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or(LoginError::Claim(n))
    };
    let i = |n: &'static str| {
        claims
            .get(n)
            .and_then(Value::as_i64)
            .ok_or(LoginError::Claim(n))
    };
    let iss = s("iss")?;
    if iss != op.issuer {
        return Err(LoginError::WrongIssuer {
            expected: op.issuer.clone(),
            found: iss,
        });
    }
    let aud: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(a)) => a
            .iter()
            .map(Value::as_str)
            .collect::<Option<Vec<_>>>()
            .ok_or(LoginError::Claim("aud"))?,
        _ => return Err(LoginError::Claim("aud")),
    };
    let wrong_aud = || LoginError::WrongAudience(check.client_id.to_owned());
    if !aud.contains(&check.client_id) {
        return Err(wrong_aud());
    }
    let azp = claims.get("azp").map(|a| a.as_str());
    if (aud.len() > 1 || azp.is_some()) && azp != Some(Some(check.client_id)) {
        return Err(wrong_aud());
    }
    let exp = i("exp")?;
    if exp <= now {
        return Err(LoginError::Expired { exp, now });
    }
    let iat = i("iat")?;
    if iat > now + CLOCK_SKEW || iat < now - ID_TOKEN_MAX_AGE {
        return Err(LoginError::IssuedAt { iat, now });
    }
    let nonce = s("nonce")?;
    if !constant_time_eq(nonce.as_bytes(), check.nonce.as_bytes()) {
        return Err(LoginError::WrongNonce);
    }
    let acr = s("acr")?;
    if !check.acr_values.contains(&acr) {
        return Err(LoginError::WrongAcr(acr));
    }
    if let Some(at) = check.access_token {
        let h = s("at_hash")?;
        if !constant_time_eq(h.as_bytes(), at_hash(at).as_bytes()) {
            return Err(LoginError::WrongAtHash);
        }
    }
    Ok(IdToken {
        sub: s("sub")?,
        level: level_of_acr(&acr),
        acr,
        exp,
        claims,
    })
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Which identity system the OP belongs to (the [`LoginMethod`] of the identity).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// SPID.
    Spid,
    /// CIE id.
    Cie,
}

/// Reads a UserInfo answer (Italian profile: a JWE whose plaintext is a JWT signed by the OP):
/// decrypts it with one of `keys`, verifies the inner JWS with the OP's `jwks`, and checks
/// `iss` = the OP, `aud` holds `client_id`, `sub` = the ID Token's.
///
/// # Errors
/// [`LoginError::UserInfoNotEncrypted`] for plain JSON or a bare JWS,
/// [`LoginError::UserInfoNotSigned`] when the plaintext is not a JWS, [`LoginError::Jwe`],
/// [`LoginError::Jose`], [`LoginError::UserInfoClaim`].
pub fn read_userinfo(
    body: &str,
    op: &Provider,
    client_id: &str,
    sub: &str,
    keys: &[DecryptionKey],
) -> Result<Map<String, Value>, LoginError> {
    read_userinfo_with(body, op, client_id, sub, keys, UserInfoIssAud::Required)
}

/// [`read_userinfo`], with `iss` and `aud` required or only checked when present.
///
/// # Errors
/// As [`read_userinfo`].
pub fn read_userinfo_with(
    body: &str,
    op: &Provider,
    client_id: &str,
    sub: &str,
    keys: &[DecryptionKey],
    iss_aud: UserInfoIssAud,
) -> Result<Map<String, Value>, LoginError> {
    let body = body.trim();
    if body.split('.').count() != 5 {
        return Err(LoginError::UserInfoNotEncrypted);
    }
    let d = jwe::decrypt(body, keys)?;
    let inner = std::str::from_utf8(&d.plaintext).map_err(|_| LoginError::UserInfoNotSigned)?;
    if inner.split('.').count() != 3 {
        return Err(LoginError::UserInfoNotSigned);
    }
    let v = jose::verify(
        inner,
        &op.jwks,
        VerifyOptions {
            algs: &Alg::ALL,
            typ: None,
        },
    )?;
    let claims: Map<String, Value> =
        serde_json::from_slice(&v.payload).map_err(|_| LoginError::UserInfoClaim("payload"))?;
    let lenient = iss_aud == UserInfoIssAud::IfPresent;
    let iss_ok = match claims.get("iss") {
        None => lenient,
        Some(i) => i.as_str() == Some(op.issuer.as_str()),
    };
    if !iss_ok {
        return Err(LoginError::UserInfoClaim("iss"));
    }
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => a == client_id,
        Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(client_id)),
        None => lenient,
        _ => false,
    };
    if !aud_ok {
        return Err(LoginError::UserInfoClaim("aud"));
    }
    if claims.get("sub").and_then(Value::as_str) != Some(sub) {
        return Err(LoginError::UserInfoClaim("sub"));
    }
    Ok(claims)
}

/// The citizen's identity from verified UserInfo claims: the fiscal number
/// (`https://attributes.eid.gov.it/fiscal_number`, `TINIT-` + codice fiscale), `given_name`,
/// `family_name`; the method with the level of the ID Token's `acr`; the OP as issuer.
///
/// # Errors
/// [`LoginError::UserInfoClaim`] for a missing or invalid fiscal number,
/// [`LoginError::WrongAcr`] when the ID Token's `acr` is no SPID/CIE level.
pub fn citizen_identity(
    claims: &Map<String, Value>,
    id: &IdToken,
    scheme: Scheme,
    op: &Provider,
) -> Result<CitizenIdentity, LoginError> {
    let cf = claims
        .get(CLAIM_FISCAL_NUMBER)
        .and_then(Value::as_str)
        .ok_or(LoginError::UserInfoClaim("fiscal_number"))?;
    let cf = pa_types::parse_spid_fiscal_number(cf)
        .map_err(|_| LoginError::UserInfoClaim("fiscal_number"))?;
    let level = id
        .level
        .ok_or_else(|| LoginError::WrongAcr(id.acr.clone()))?;
    let method = match scheme {
        Scheme::Spid => LoginMethod::Spid { level },
        Scheme::Cie => LoginMethod::CieId { level },
    };
    let s = |n: &str| claims.get(n).and_then(Value::as_str).map(str::to_owned);
    Ok(CitizenIdentity::new(cf, method, op.issuer.clone())
        .with_names(s("given_name"), s("family_name")))
}

impl RelyingParty {
    /// GETs the OP's UserInfo with the access token, reads it with [`read_userinfo`] and maps
    /// it with [`citizen_identity`].
    ///
    /// # Errors
    /// [`LoginError::ProviderMetadata`] without `userinfo_endpoint`, an HTTP failure, or the
    /// errors of `read_userinfo` and `citizen_identity`.
    #[allow(clippy::too_many_arguments)]
    pub async fn userinfo(
        &self,
        op: &Provider,
        tokens: &Tokens,
        id: &IdToken,
        keys: &[DecryptionKey],
        scheme: Scheme,
        http: &dyn OidcHttp,
    ) -> Result<CitizenIdentity, LoginError> {
        let url = op
            .userinfo_endpoint
            .as_deref()
            .ok_or(LoginError::ProviderMetadata("userinfo_endpoint"))?;
        let r = http.get_bearer(url, &tokens.access_token).await?;
        if r.status != 200 {
            return Err(LoginError::TokenEndpoint(format!(
                "UserInfo status {}",
                r.status
            )));
        }
        let body = std::str::from_utf8(&r.body).map_err(|_| LoginError::UserInfoNotEncrypted)?;
        let claims = read_userinfo_with(
            body,
            op,
            &self.client_id,
            &id.sub,
            keys,
            self.userinfo_iss_aud,
        )?;
        citizen_identity(&claims, id, scheme, op)
    }
}

/// `token_type_hint` of a revocation request (RFC 7009 §2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenTypeHint {
    /// `access_token`.
    AccessToken,
    /// `refresh_token`.
    RefreshToken,
}

impl RelyingParty {
    /// The form of a revocation request (RFC 7009) for `token`, authenticated with
    /// `private_key_jwt` (audience: the revocation endpoint).
    ///
    /// # Errors
    /// [`LoginError::ProviderMetadata`] without `revocation_endpoint`, a signing failure.
    pub fn revocation_form(
        &self,
        op: &Provider,
        token: &str,
        hint: TokenTypeHint,
        now: i64,
    ) -> Result<Vec<(String, String)>, LoginError> {
        let url = op
            .revocation_endpoint
            .as_deref()
            .ok_or(LoginError::ProviderMetadata("revocation_endpoint"))?;
        let assertion = self.client_assertion(url, now)?;
        let hint = match hint {
            TokenTypeHint::AccessToken => "access_token",
            TokenTypeHint::RefreshToken => "refresh_token",
        };
        Ok([
            ("token", token),
            ("token_type_hint", hint),
            ("client_id", self.client_id.as_str()),
            ("client_assertion_type", CLIENT_ASSERTION_TYPE),
            ("client_assertion", assertion.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
    }

    /// Revokes `token` at the OP (the profile's logout: the RP revokes the tokens of the
    /// session). The OP answers 200 also for a token it does not know (RFC 7009 §2.2).
    ///
    /// # Errors
    /// As [`RelyingParty::revocation_form`], an HTTP failure, or
    /// [`LoginError::TokenEndpoint`] for an answer other than 200.
    pub async fn revoke(
        &self,
        op: &Provider,
        token: &str,
        hint: TokenTypeHint,
        http: &dyn OidcHttp,
        now: i64,
    ) -> Result<(), LoginError> {
        let form = self.revocation_form(op, token, hint, now)?;
        let url = op
            .revocation_endpoint
            .as_deref()
            .ok_or(LoginError::ProviderMetadata("revocation_endpoint"))?;
        let r = http.post_form(url, &form, None).await?;
        if r.status != 200 {
            return Err(LoginError::TokenEndpoint(format!(
                "revocation status {}",
                r.status
            )));
        }
        Ok(())
    }

    /// The RP-initiated logout URL (OpenID Connect RP-Initiated Logout 1.0) at the OP's
    /// `end_session_endpoint`: `id_token_hint`, `client_id`, `post_logout_redirect_uri` when
    /// given, and `state`.
    ///
    /// # Errors
    /// [`LoginError::ProviderMetadata`] without `end_session_endpoint` or with a bad URL.
    pub fn logout_url(
        &self,
        op: &Provider,
        id_token: &str,
        post_logout_redirect_uri: Option<&str>,
        state: &str,
    ) -> Result<String, LoginError> {
        let e = op
            .end_session_endpoint
            .as_deref()
            .ok_or(LoginError::ProviderMetadata("end_session_endpoint"))?;
        let mut u =
            url::Url::parse(e).map_err(|_| LoginError::ProviderMetadata("end_session_endpoint"))?;
        {
            let mut q = u.query_pairs_mut();
            q.append_pair("id_token_hint", id_token)
                .append_pair("client_id", &self.client_id);
            if let Some(p) = post_logout_redirect_uri {
                q.append_pair("post_logout_redirect_uri", p);
            }
            q.append_pair("state", state);
        }
        Ok(u.into())
    }
}
