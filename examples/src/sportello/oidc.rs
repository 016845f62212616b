//! SPID and CIE id over OpenID Connect Federation, next to SAML (configuration `oidc: true`,
//! or `--oidc`): the portal is a Relying Party through the library's own router
//! ([`oidc_fed::OidcWeb`] at `/oidc`: its Entity Configuration, the "Entra con SPID" / "Entra
//! con CIE" OP chooser, callback, logout), against the in-process test federation
//! ([`oidc_fed::TestFederation`] at `/test-fed`: a Trust Anchor, a SPID OP whose keys are behind
//! a `signed_jwks_uri`, a CIE id OP), each with its own keys. The RP resolves the OPs' Trust
//! Chains and calls their endpoints through the federation's in-process transport.
//!
//! The RP's keys are made at start and registered with the test Trust Anchor then; pending
//! logins and sessions are in memory, as the test OPs' codes and tokens are: an OIDC login
//! completes on the instance that started it.

use std::sync::Arc;

use oidc_fed::{
    DecryptionKey, EntityConfigurationBuilder, EntityConfigurationSource, FederationProviders,
    Jwks, MemoryOidcSessionStore, MemoryPendingLoginStore, OidcWeb, OidcWebParts, RelyingParty,
    Scheme, SigningKey, TestFederation, TrustChainCache, TrustChainResolver, WebOptions,
};
use serde_json::json;

use super::{Ente, StartError, component};

/// The ente's OIDC Relying Party and its test federation.
pub(crate) struct OidcLogin {
    /// The RP routes (`/oidc/…`).
    pub(crate) web: OidcWeb,
    /// The test federation (`/test-fed/…`).
    pub(crate) fed: TestFederation,
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

impl OidcLogin {
    /// The RP `{base_url}/oidc` of `ente`, served under `{prefix}/oidc`, and the federation
    /// `{base_url}/test-fed`.
    pub(crate) fn build(
        ente: &Ente,
        base_url: &str,
        prefix: &str,
    ) -> Result<OidcLogin, StartError> {
        let fail = component("OIDC");
        let key = |r: Result<SigningKey, oidc_fed::JoseError>| r.map_err(|e| fail(e.to_string()));
        let fed = TestFederation::new(&format!("{base_url}/test-fed"))
            .map_err(|e| fail(e.to_string()))?;
        let entity = format!("{base_url}/oidc");
        let callback = format!("{entity}/callback");
        let federation_keys = vec![key(SigningKey::generate_es256())?];
        let signing = key(SigningKey::generate_es256())?;
        let enc = DecryptionKey::generate_p256();
        let oidc_jwks = Jwks {
            keys: vec![signing.public_jwk(), enc.public_jwk()],
        };
        let ta = fed.trust_anchor_id();
        let ec: EntityConfigurationSource = {
            let (entity, callback, name) = (entity.clone(), callback.clone(), ente.name.clone());
            Arc::new(move |now| {
                let rp = json!({
                    "client_id": entity, "client_name": name, "redirect_uris": [callback],
                    "grant_types": ["authorization_code"], "response_types": ["code"],
                    "token_endpoint_auth_method": "private_key_jwt",
                    "client_registration_types": ["automatic"],
                    "id_token_signed_response_alg": "ES256",
                    "userinfo_signed_response_alg": "ES256",
                    "userinfo_encrypted_response_alg": "ECDH-ES",
                    "userinfo_encrypted_response_enc": "A256GCM",
                });
                let fe = json!({"organization_name": name});
                EntityConfigurationBuilder::new(&entity, &federation_keys, oidc_jwks.clone())
                    .rp_metadata(rp.as_object().cloned().unwrap_or_default())
                    .federation_entity(fe.as_object().cloned().unwrap_or_default())
                    .authority_hints(vec![ta.clone()])
                    .sign(now)
                    .map_err(|e| e.to_string())
            })
        };
        let configuration = ec(now()).map_err(&fail)?;
        fed.register_rp(&configuration)
            .map_err(|e| fail(e.to_string()))?;
        let transport = fed.transport();
        let resolver = TrustChainResolver::new(transport.clone(), vec![fed.trust_anchor()]);
        let cache = Arc::new(TrustChainCache::new(resolver, 300));
        let providers = FederationProviders::new(cache, Arc::new(transport.clone()))
            .op(fed.op_id("cie"), Scheme::Cie)
            .discover(fed.trust_anchor_id(), Scheme::Spid);
        let rp =
            RelyingParty::new(entity, vec![callback], signing).map_err(|e| fail(e.to_string()))?;
        // The demo is plain HTTP on loopback.
        let mut options = WebOptions::default().insecure_http_cookies();
        options.base_path = format!("{prefix}/oidc");
        options.default_next = format!("{prefix}/area");
        options.cookie_path = if prefix.is_empty() { "/" } else { prefix }.to_owned();
        let web = OidcWeb::new(OidcWebParts {
            rp,
            entity_configuration: ec,
            providers: Arc::new(providers),
            pending: Arc::new(MemoryPendingLoginStore::new()),
            sessions: Arc::new(MemoryOidcSessionStore::new()),
            http: Arc::new(transport),
            decryption_keys: vec![enc],
            options,
        });
        Ok(OidcLogin { web, fed })
    }

    /// The ente's routes with the RP at `/oidc` and the test federation at `/test-fed`.
    pub(crate) fn mount(&self, router: axum::Router) -> axum::Router {
        router
            .nest("/oidc", self.web.router())
            .nest("/test-fed", self.fed.router())
    }
}
