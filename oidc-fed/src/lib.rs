//! SPID / CIE id over OpenID Connect Federation 1.0 (issue 19): JOSE, entity statements,
//! metadata policy, trust chains and trust marks.
//!
//! JWS and JWK are implemented on `ring`, which the workspace already uses for every signature
//! (XML-DSig, SAML): RS256, PS256 and ES256 verification from raw JWK components, signing from
//! PKCS#8 keys, SHA-256 for RFC 7638 thumbprints. No new cryptographic dependency and no C library
//! beyond `ring`'s own primitives.
//!
//! Verification is strict: `alg: none` is never accepted, `alg` must be in the caller's allow-list,
//! `kid` must name a key of the trusted JWKS (keys come from configuration or from the superior's
//! statement, never from the token), the key type must fit `alg`, `crit` is refused and `typ` is
//! checked when the caller requires one (e.g. `entity-statement+jwt`).
//!
//! Trust: [`TrustChainResolver`] climbs from an entity's Entity Configuration through
//! `authority_hints` and the superiors' fetch endpoints to a configured [`TrustAnchor`],
//! [`verify_trust_chain`] checks the chain as OpenID Federation 1.0 §10.2 lays out, enforces the
//! constraints and resolves the metadata with [`MetadataPolicy`]; Trust Marks are verified
//! against the Trust Anchor's `trust_mark_issuers` / `trust_mark_owners`; [`TrustChainCache`]
//! keeps chains until they expire. HTTP goes through the [`Fetcher`] trait; feature `http`
//! provides `ReqwestFetcher` (rustls, HTTPS only) and `spawn_refresher`.
//!
//! Login (Italian profile, italia.github.io/spid-cie-oidc-docs): [`RelyingParty`] builds the
//! Authorization Request as a signed request object (`client_id`, `response_type=code`,
//! `scope=openid`, `redirect_uri`, `state`, `nonce`, PKCE S256, `acr_values` with
//! [`acr_of`] for levels 1–3, `claims.userinfo`, `prompt` `consent` / `consent login`); the
//! [`PendingLogin`] waits in a [`PendingLoginStore`] (memory, or Redis with feature `redis`)
//! bound to the browser session and is taken once by the callback; the code is exchanged with
//! `private_key_jwt`; [`validate_id_token`] checks the signature with the OP's `jwks` from its
//! Trust Chain, `iss`, `aud`/`azp`, `exp`, `iat`, `nonce`, `acr`, `at_hash`; [`read_userinfo`]
//! refuses a UserInfo that is not a JWE wrapping a JWT signed by the OP, and
//! [`citizen_identity`] maps it to `pa_types::CitizenIdentity`; tokens are revoked
//! (RFC 7009) at logout. [`LoginError::citizen_message`] gives what a citizen reads.
//!
//! Conformance with the official Python/Django implementation (spid-cie-oidc): `.ci/check-oidc.sh`
//! runs its Trust Anchor and OP on 127.0.0.1 and the `django_conformance` test onboards an RP
//! built with this crate and logs in there; the OPs are also discovered at the TA's list
//! endpoint. Three differences of that implementation are met here: its Trust Anchor publishes
//! `constraints` in its own Entity Configuration (accepted and enforced); it publishes the Trust
//! Marks it issued to a subordinate in its Subordinate Statement about it, as the Italian profile
//! lays out where OpenID Federation 1.0 keeps `trust_marks` to Entity Configurations (accepted,
//! and verified like the subject's own); and its OP signs a UserInfo without `iss` and `aud`
//! (accepted only with [`UserInfoIssAud::IfPresent`], see [`RelyingParty::userinfo_iss_aud`]).
//!
//! JWE ([`decrypt`]) needs what `ring` lacks: RSA decryption (`rsa`, RustCrypto, with blinding;
//! OAEP with SHA-1 from `sha1` and SHA-256), ECDH with a static private key (`p256`; ring's
//! agreement has only ephemeral keys, and `p256` refuses points off the curve) and the AES
//! block cipher for AES-CBC and AES key wrap (`aes`, the version the workspace already builds
//! for lopdf). AES-GCM, HMAC, SHA-2 and the Concat KDF hash stay on `ring`. All pure Rust.

mod chain;
mod jose;
mod jwe;
mod jwks_source;
mod login;
mod policy;
#[cfg(feature = "redis")]
mod redis_store;
mod session;
mod statement;
#[cfg(feature = "simulator")]
mod test_op;
mod trust_mark;
#[cfg(feature = "axum")]
mod web;

pub use statement::{
    CLOCK_SKEW, ENTITY_STATEMENT_TYP, EntityConfigurationBuilder, EntityStatement, StatementError,
    verify_entity_configuration, verify_statement,
};

pub use chain::{
    ChainError, FetchError, Fetcher, HttpResponse, MAX_BODY, TrustAnchor, TrustChain,
    TrustChainCache, TrustChainResolver, entity_configuration_url, verify_trust_chain,
};
#[cfg(feature = "http")]
pub use chain::{ReqwestFetcher, spawn_refresher};
pub use policy::{MetadataPolicy, OPERATORS, ParameterPolicy, PolicyError, PolicyErrorKind};
pub use trust_mark::{
    TRUST_MARK_DELEGATION_TYP, TRUST_MARK_TYP, TrustMark, TrustMarkError, check_issuer_trusted,
    peek_trust_mark, verify_trust_mark,
};

pub use jose::{
    Alg, JoseError, Jwk, Jwks, MAX_JWS_LEN, PublicKey, SigningKey, Verified, VerifyOptions,
    decode_unverified, verify,
};
pub use jwe::{Decrypted, DecryptionKey, JWE_ALGS, JWE_ENCS, JweError, MAX_JWE_LEN, decrypt};
pub use jwks_source::{SIGNED_JWKS_TYP, verify_signed_jwks};
pub use login::{
    AuthorizationRedirect, CLAIM_FISCAL_NUMBER, CLIENT_ASSERTION_TYPE, CallbackParams,
    ID_TOKEN_MAX_AGE, IdToken, IdTokenCheck, LoginError, LoginOptions, MemoryPendingLoginStore,
    OidcHttp, PENDING_LIFETIME, PendingLogin, PendingLoginStore, Prompt, Provider,
    REQUEST_LIFETIME, RelyingParty, Scheme, StoreError, TokenTypeHint, Tokens, UserInfoIssAud,
    acr_of, at_hash, citizen_identity, level_of_acr, pkce_s256, read_userinfo, read_userinfo_with,
    take_pending, validate_id_token,
};
#[cfg(feature = "redis")]
pub use redis_store::RedisPendingLoginStore;
pub use session::{MemoryOidcSessionStore, OidcSession, OidcSessionStore};
#[cfg(feature = "simulator")]
pub use test_op::{
    AuthorizationRequest, InProcess, TestCitizen, TestFederation, TestOpError, TestOpSpec,
};
#[cfg(feature = "axum")]
pub use web::{
    EntityConfigurationSource, FederationProviders, OidcCitizen, OidcWeb, OidcWebParts, OpEntry,
    ProviderDirectory, StaticProviders, WebOptions, safe_next,
};
