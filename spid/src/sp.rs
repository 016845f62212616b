//! The Service Provider: configuration, keys, trusted IdPs and stores put together.

use std::collections::BTreeMap;
use std::sync::Arc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Duration, Utc};

use crate::authn::{
    AuthnRequestFields, RSA_SHA256, authn_request_xml, deflate_base64, post_form, quote_plus,
    redirect_signed_string,
};
use crate::cert::SpCredentials;
use crate::config::{Binding, SpConfig};
use crate::error::{Error, RequestError, ResponseError};
use crate::idp::IdpMetadata;
use crate::level::{Comparison, SpidLevel};
use crate::profile::Profile;
use crate::response::{Authenticated, Context, check_document, check_status};
use crate::store::{
    AssertionStore, MemoryAssertionStore, MemoryPendingStore, PendingRequest, PendingRequestStore,
};
use crate::xml::{NS_SAMLP, new_id};

/// Largest `SAMLResponse` accepted, in base64 characters (real ones are 5-15 KB).
const MAX_RESPONSE_BASE64: usize = 1024 * 1024;

/// The options of one login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthnOptions {
    /// The IdP entityID.
    pub idp: String,
    /// The session the response must come back to (e.g. a cookie value).
    pub session: String,
    /// Binding used to send the request to the IdP.
    pub binding: Binding,
    /// Level; `None` uses the configured default.
    pub level: Option<SpidLevel>,
    /// Comparison; `None` uses the configured one.
    pub comparison: Option<Comparison>,
    /// Attribute consuming service index (default 0).
    pub attribute_service_index: u16,
    /// Assertion consumer service index (default 0).
    pub acs_index: u16,
    /// RelayState: an opaque token (no URL, at most 80 bytes). `None` generates one.
    pub relay_state: Option<String>,
}

impl AuthnOptions {
    /// Redirect binding, default level, indexes 0, generated RelayState.
    pub fn new(idp: impl Into<String>, session: impl Into<String>) -> Self {
        AuthnOptions {
            idp: idp.into(),
            session: session.into(),
            binding: Binding::HttpRedirect,
            level: None,
            comparison: None,
            attribute_service_index: 0,
            acs_index: 0,
            relay_state: None,
        }
    }
}

/// A signed AuthnRequest ready to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthnRequestMessage {
    /// HTTP-Redirect binding: answer 302 with this `Location`.
    Redirect {
        /// The full URL with `SAMLRequest`, `RelayState`, `SigAlg` and `Signature`.
        url: String,
        /// The request ID.
        request_id: String,
    },
    /// HTTP-POST binding: answer 200 with this auto-submitting HTML form.
    Post {
        /// The HTML page.
        html: String,
        /// The IdP SSO URL the form posts to.
        action: String,
        /// The base64 signed AuthnRequest.
        saml_request: String,
        /// The RelayState.
        relay_state: String,
        /// The request ID.
        request_id: String,
    },
}

/// A SPID Service Provider.
pub struct ServiceProvider {
    config: SpConfig,
    credentials: SpCredentials,
    idps: BTreeMap<String, (IdpMetadata, Vec<xmldsig::TrustedKey>)>,
    pending: Arc<dyn PendingRequestStore>,
    assertions: Arc<dyn AssertionStore>,
    profile: Profile,
}

impl std::fmt::Debug for ServiceProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceProvider")
            .field("entity_id", &self.config.entity_id)
            .field("idps", &self.idps.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl ServiceProvider {
    /// A Service Provider with in-memory stores.
    ///
    /// # Errors
    /// [`Error::Config`] when the configuration breaks a rule.
    pub fn new(config: SpConfig, credentials: SpCredentials) -> Result<Self, Error> {
        Self::with_stores(
            config,
            credentials,
            Arc::new(MemoryPendingStore::new()),
            Arc::new(MemoryAssertionStore::new()),
        )
    }

    /// A Service Provider with the given stores (e.g. shared ones for several instances).
    ///
    /// # Errors
    /// [`Error::Config`] when the configuration breaks a rule.
    pub fn with_stores(
        config: SpConfig,
        credentials: SpCredentials,
        pending: Arc<dyn PendingRequestStore>,
        assertions: Arc<dyn AssertionStore>,
    ) -> Result<Self, Error> {
        config.validate()?;
        Ok(ServiceProvider {
            config,
            credentials,
            idps: BTreeMap::new(),
            pending,
            assertions,
            profile: Profile::Spid,
        })
    }

    /// Trusts an IdP. Its keys come from its metadata only.
    ///
    /// # Errors
    /// [`Error::Metadata`] when a certificate cannot be decoded.
    pub fn add_idp(&mut self, idp: IdpMetadata) -> Result<(), Error> {
        let mut certs = Vec::new();
        for der in &idp.signing_certificates {
            let cert = xmldsig::Certificate::from_der(der).map_err(|e| {
                crate::error::MetadataError::Certificate {
                    entity_id: idp.entity_id.clone(),
                    detail: e.to_string(),
                }
            })?;
            certs
                .push(xmldsig::TrustedKey::from_certificate(cert).with_name(idp.entity_id.clone()));
        }
        self.idps.insert(idp.entity_id.clone(), (idp, certs));
        Ok(())
    }

    /// A trusted IdP and its metadata keys.
    pub(crate) fn trusted_idp(
        &self,
        entity_id: &str,
    ) -> Option<(&IdpMetadata, &[xmldsig::TrustedKey])> {
        self.idps.get(entity_id).map(|(m, k)| (m, k.as_slice()))
    }

    /// The pending request store (also keeps SP-initiated LogoutRequests).
    pub(crate) fn pending_store(&self) -> &dyn PendingRequestStore {
        self.pending.as_ref()
    }

    /// The consumed-ID store (also keeps processed IdP LogoutRequest IDs).
    pub(crate) fn assertion_store(&self) -> &dyn AssertionStore {
        self.assertions.as_ref()
    }

    /// The trusted IdPs.
    pub fn idps(&self) -> impl Iterator<Item = &IdpMetadata> {
        self.idps.values().map(|(m, _)| m)
    }

    /// Selects the rule set where SPID and CIE differ (default [`Profile::Spid`]).
    #[must_use]
    pub fn with_profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// The rule set in use.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The configuration.
    pub fn config(&self) -> &SpConfig {
        &self.config
    }

    /// The SP credentials.
    pub fn credentials(&self) -> &SpCredentials {
        &self.credentials
    }

    /// The signed SP metadata (`md:EntityDescriptor`), valid against the SPID av29 schema.
    ///
    /// # Errors
    /// [`Error::Key`] if signing fails.
    pub fn metadata(&self) -> Result<String, Error> {
        let id = new_id();
        let xml = crate::metadata::unsigned_metadata(&self.config, &self.credentials, &id);
        Ok(crate::dsig::sign_enveloped(
            &xml,
            &id,
            None,
            &self.credentials,
        )?)
    }

    /// Builds, signs and records an AuthnRequest.
    ///
    /// # Errors
    /// [`Error::Request`] for an unknown IdP or index, a bad RelayState, a signing failure;
    /// [`Error::Store`] if the pending request cannot be saved.
    pub async fn authn_request(&self, opts: AuthnOptions) -> Result<AuthnRequestMessage, Error> {
        self.authn_request_at(opts, Utc::now()).await
    }

    /// [`authn_request`](ServiceProvider::authn_request) at a given time (tests).
    ///
    /// # Errors
    /// As [`authn_request`](ServiceProvider::authn_request).
    pub async fn authn_request_at(
        &self,
        opts: AuthnOptions,
        now: DateTime<Utc>,
    ) -> Result<AuthnRequestMessage, Error> {
        let (idp, _) = self
            .idps
            .get(&opts.idp)
            .ok_or_else(|| RequestError::UnknownIdp(opts.idp.clone()))?;
        let destination = idp
            .sso_location(opts.binding)
            .ok_or(RequestError::NoEndpoint {
                idp: idp.entity_id.clone(),
                binding: opts.binding.uri(),
            })?;
        let acs = self
            .config
            .assertion_consumer_services
            .iter()
            .find(|a| a.index == opts.acs_index)
            .ok_or(RequestError::UnknownAcs(opts.acs_index))?;
        if self
            .config
            .attribute_service(opts.attribute_service_index)
            .is_none()
        {
            return Err(RequestError::UnknownAttributeService(opts.attribute_service_index).into());
        }
        let relay_state = match opts.relay_state {
            Some(rs) => {
                if rs.len() > 80 || rs.contains("http") || rs.is_empty() {
                    return Err(RequestError::RelayState(rs).into());
                }
                rs
            }
            None => new_id(),
        };
        let level = opts.level.unwrap_or(self.config.default_level);
        let comparison = opts.comparison.unwrap_or(self.config.comparison);
        let id = new_id();
        let fields = AuthnRequestFields {
            id: &id,
            issue_instant: now,
            destination,
            sp_entity_id: &self.config.entity_id,
            acs_index: acs.index,
            attribute_index: opts.attribute_service_index,
            level,
            comparison,
            force_authn: self.profile.force_authn(level),
        };
        let xml = authn_request_xml(&fields);
        self.pending
            .put(PendingRequest {
                id: id.clone(),
                session: opts.session,
                idp_entity_id: idp.entity_id.clone(),
                issue_instant: truncate_millis(now),
                level,
                comparison,
                acs_url: acs.location.clone(),
                attribute_service_index: opts.attribute_service_index,
                relay_state: Some(relay_state.clone()),
                expires_at: now + Duration::seconds(self.config.request_ttl_secs as i64),
            })
            .await?;
        match opts.binding {
            Binding::HttpRedirect => {
                let saml_request = deflate_base64(&xml);
                let signed = redirect_signed_string(&saml_request, Some(&relay_state), RSA_SHA256);
                let sig = self
                    .credentials
                    .sign_rsa_sha256(signed.as_bytes())
                    .map_err(|e| RequestError::Sign(e.to_string()))?;
                let sep = if destination.contains('?') { '&' } else { '?' };
                let url = format!(
                    "{destination}{sep}{signed}&Signature={}",
                    quote_plus(&B64.encode(sig))
                );
                Ok(AuthnRequestMessage::Redirect {
                    url,
                    request_id: id,
                })
            }
            Binding::HttpPost => {
                let issuer_qname = "{urn:oasis:names:tc:SAML:2.0:assertion}Issuer";
                let signed =
                    crate::dsig::sign_enveloped(&xml, &id, Some(issuer_qname), &self.credentials)
                        .map_err(|e| RequestError::Sign(e.to_string()))?;
                let saml_request = B64.encode(signed.as_bytes());
                let html = post_form(
                    destination,
                    "SAMLRequest",
                    &saml_request,
                    Some(&relay_state),
                );
                Ok(AuthnRequestMessage::Post {
                    html,
                    action: destination.to_owned(),
                    saml_request,
                    relay_state,
                    request_id: id,
                })
            }
        }
    }

    /// Validates the `SAMLResponse` form field posted to the ACS by `session`.
    ///
    /// The pending request named by `InResponseTo` must belong to `session`; it is consumed. A
    /// non-success status becomes [`ResponseError::Status`] with the SPID error code (such
    /// responses may be unsigned: they can only ever produce an error). A success must carry a
    /// signed assertion that verifies with the IdP's metadata keys; every SPID check follows,
    /// then the assertion ID is recorded so that it cannot be replayed.
    ///
    /// # Errors
    /// [`Error::Response`] naming the failed check.
    pub async fn process_response(
        &self,
        saml_response: &str,
        session: &str,
    ) -> Result<Authenticated, Error> {
        self.process_response_at(saml_response, session, Utc::now())
            .await
    }

    /// [`process_response`](ServiceProvider::process_response) at a given time (tests, benches).
    ///
    /// # Errors
    /// As [`process_response`](ServiceProvider::process_response).
    pub async fn process_response_at(
        &self,
        saml_response: &str,
        session: &str,
        now: DateTime<Utc>,
    ) -> Result<Authenticated, Error> {
        if saml_response.len() > MAX_RESPONSE_BASE64 {
            return Err(ResponseError::TooLarge {
                size: saml_response.len(),
                limit: MAX_RESPONSE_BASE64,
            }
            .into());
        }
        let compact: String = saml_response
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        let bytes = B64
            .decode(compact.as_bytes())
            .map_err(|_| ResponseError::Base64)?;
        let doc = xmldsig::Document::parse(&bytes).map_err(ResponseError::from)?;
        let root = doc.root();
        if !root.is(NS_SAMLP, "Response") {
            return Err(ResponseError::NotAResponse(root.qname()).into());
        }
        let irt = match root.attr("InResponseTo") {
            None => {
                return Err(ResponseError::MissingAttribute {
                    element: "Response",
                    attribute: "InResponseTo",
                }
                .into());
            }
            Some(v) if v.trim().is_empty() => {
                return Err(ResponseError::EmptyAttribute {
                    element: "Response",
                    attribute: "InResponseTo",
                }
                .into());
            }
            Some(v) => v,
        };
        let Some(request) = self.pending.take(irt, session, now).await? else {
            // Still report the IdP's anomaly code when there is one: the user sees why.
            check_status(&root)?;
            return Err(ResponseError::UnknownRequest(irt.to_owned()).into());
        };
        let (idp, trusted) = self
            .idps
            .get(&request.idp_entity_id)
            .ok_or_else(|| ResponseError::UnknownIdp(request.idp_entity_id.clone()))?;
        let ctx = Context {
            sp_entity_id: &self.config.entity_id,
            idp,
            trusted,
            request: &request,
            now,
            skew: Duration::seconds(self.config.clock_skew_secs as i64),
            profile: self.profile,
        };
        let auth = check_document(&doc, &ctx)?;
        let keep_until = auth.not_on_or_after + ctx.skew;
        let fresh = self
            .assertions
            .consume(&auth.idp_entity_id, &auth.assertion_id, keep_until, now)
            .await
            .map_err(ResponseError::from)?;
        if !fresh {
            return Err(ResponseError::Replay(auth.assertion_id).into());
        }
        Ok(auth)
    }
}

fn truncate_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    crate::xml::parse_instant(&crate::xml::instant(t)).unwrap_or(t)
}
