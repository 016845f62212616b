//! The CIE Service Provider: the `spid` engine run with [`Profile::Cie`] and the CIE metadata.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use spid::{
    AssertionStore, AuthnOptions, AuthnRequestMessage, IdpMetadata, PendingRequestStore, Profile,
    ServiceProvider, SpCredentials,
};

use super::config::CieSpConfig;
use super::error::CieError;
use super::identity::CieAuthenticated;
use super::level::comparison_allowed;

/// An "Entra con CIE" Service Provider.
///
/// Requests and responses go through the `spid` engine with [`Profile::Cie`]: the same
/// signature, wrapping, replay, session-binding and time checks as SPID, plus the CIE rules
/// (`ForceAuthn` at every level, `Comparison` exact or minimum, assertion `Issuer` `Format`
/// optional, the identity typed as [`CieIdentity`](crate::CieIdentity) with a mandatory fiscal
/// code). The metadata is the CIE one ([`metadata`](CieServiceProvider::metadata)).
pub struct CieServiceProvider {
    config: CieSpConfig,
    engine: ServiceProvider,
}

impl std::fmt::Debug for CieServiceProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CieServiceProvider")
            .field("entity_id", &self.config.entity_id)
            .field("engine", &self.engine)
            .finish()
    }
}

impl CieServiceProvider {
    /// A CIE SP with in-memory stores.
    ///
    /// # Errors
    /// [`CieError::Config`] when the configuration breaks a CIE rule.
    pub fn new(config: CieSpConfig, credentials: SpCredentials) -> Result<Self, CieError> {
        Self::with_stores(
            config,
            credentials,
            Arc::new(spid::MemoryPendingStore::new()),
            Arc::new(spid::MemoryAssertionStore::new()),
        )
    }

    /// A CIE SP with the given stores (shared ones for several instances).
    ///
    /// # Errors
    /// [`CieError::Config`] when the configuration breaks a CIE rule.
    pub fn with_stores(
        config: CieSpConfig,
        credentials: SpCredentials,
        pending: Arc<dyn PendingRequestStore>,
        assertions: Arc<dyn AssertionStore>,
    ) -> Result<Self, CieError> {
        config.validate()?;
        let engine =
            ServiceProvider::with_stores(config.engine_config(), credentials, pending, assertions)?
                .with_profile(Profile::Cie);
        Ok(CieServiceProvider { config, engine })
    }

    /// Trusts an IdP (normally the CieID one, from
    /// [`CieIdpEnvironment::parse_metadata`](crate::CieIdpEnvironment::parse_metadata)). Its
    /// keys come from its metadata only.
    ///
    /// # Errors
    /// [`CieError::Engine`] when a certificate cannot be decoded.
    pub fn add_idp(&mut self, idp: IdpMetadata) -> Result<(), CieError> {
        Ok(self.engine.add_idp(idp)?)
    }

    /// The trusted IdPs.
    pub fn idps(&self) -> impl Iterator<Item = &IdpMetadata> {
        self.engine.idps()
    }

    /// The configuration.
    pub fn config(&self) -> &CieSpConfig {
        &self.config
    }

    /// The SP credentials.
    pub fn credentials(&self) -> &SpCredentials {
        self.engine.credentials()
    }

    /// The axum routes of this SP (feature `web`): the `spid` crate's [`spid::SpidWeb`] on the
    /// CIE engine — `/metadata` serving the CIE metadata, `/login?idp=…` sending the signed
    /// AuthnRequest, `/acs` running every CIE check, `/logout`, `/slo` — with the sessions in
    /// `sessions` (memory or Redis, as for SPID). Nest them at [`spid::WebOptions::base_path`].
    #[cfg(feature = "web")]
    pub fn into_web(
        self,
        sessions: Arc<dyn spid::SessionStore>,
        opts: spid::WebOptions,
    ) -> spid::SpidWeb {
        let config = self.config.clone();
        let creds = self.engine.credentials().clone();
        spid::SpidWeb::new(Arc::new(self.engine), sessions, opts).with_metadata(move || {
            let id = new_id();
            let xml = super::metadata::unsigned_metadata(&config, &creds, &id);
            super::metadata::sign(&xml, &id, &creds).map_err(|e| e.to_string())
        })
    }

    /// The signed CIE SP metadata, valid against `saml-schema-metadata-sp-cie.xsd`.
    ///
    /// # Errors
    /// [`CieError::Sign`] if signing fails.
    pub fn metadata(&self) -> Result<String, CieError> {
        let id = new_id();
        let xml = super::metadata::unsigned_metadata(&self.config, self.engine.credentials(), &id);
        super::metadata::sign(&xml, &id, self.engine.credentials())
    }

    /// Builds, signs and records an AuthnRequest for CieID (`opts.level` `None` uses the
    /// configured default level).
    ///
    /// # Errors
    /// [`CieError::Comparison`] for a comparison other than exact or minimum; otherwise as
    /// [`ServiceProvider::authn_request`].
    pub async fn authn_request(&self, opts: AuthnOptions) -> Result<AuthnRequestMessage, CieError> {
        self.authn_request_at(opts, Utc::now()).await
    }

    /// [`authn_request`](CieServiceProvider::authn_request) at a given time (tests).
    ///
    /// # Errors
    /// As [`authn_request`](CieServiceProvider::authn_request).
    pub async fn authn_request_at(
        &self,
        opts: AuthnOptions,
        now: DateTime<Utc>,
    ) -> Result<AuthnRequestMessage, CieError> {
        if let Some(c) = opts.comparison.filter(|c| !comparison_allowed(*c)) {
            return Err(CieError::Comparison(c));
        }
        Ok(self.engine.authn_request_at(opts, now).await?)
    }

    /// Validates the `SAMLResponse` posted to the ACS by `session` and types the CIE identity.
    ///
    /// # Errors
    /// [`CieError::Engine`] naming the failed check (an IdP error response carries its
    /// `ErrorCode`, see [`CieError::error_code`]); [`CieError::MissingAttribute`] when the
    /// verified assertion has no `fiscalNumber`.
    pub async fn process_response(
        &self,
        saml_response: &str,
        session: &str,
    ) -> Result<CieAuthenticated, CieError> {
        self.process_response_at(saml_response, session, Utc::now())
            .await
    }

    /// [`process_response`](CieServiceProvider::process_response) at a given time (tests).
    ///
    /// # Errors
    /// As [`process_response`](CieServiceProvider::process_response).
    pub async fn process_response_at(
        &self,
        saml_response: &str,
        session: &str,
        now: DateTime<Utc>,
    ) -> Result<CieAuthenticated, CieError> {
        let auth = self
            .engine
            .process_response_at(saml_response, session, now)
            .await?;
        CieAuthenticated::try_from(auth)
    }
}

/// A fresh XML ID: `_` and 32 random hex digits (an `xs:ID`).
fn new_id() -> String {
    use std::fmt::Write as _;
    let bytes: [u8; 16] = rand::random();
    let mut s = String::with_capacity(33);
    s.push('_');
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
