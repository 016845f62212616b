//! Login: the portal as a SPID Service Provider through the library's own axum layer
//! ([`SpidWeb`]: metadata, the "Entra con SPID" IdP chooser, ACS, logout), as a CIE Service
//! Provider (`cie`), each with an in-process test IdP that lets the citizen pick who to be and
//! answers with a signed SAML Response. In a partner's deployment each ente is a SPID entity
//! aggregated by the partner (`pub-ag-full`), with its own entityID.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::Utc;
use pa_types::CitizenIdentity;
use spid::{
    Aggregator, AggregatorKind, AssertionStore, CertificateSubject, Localized,
    OrganizationIdentifier, PendingRequestStore, ReceivedRequest, ServiceProvider, SessionStore,
    SpConfig, SpCredentials, SpSession, SpidAttribute, SpidWeb, TestIdp, TestUser, WebOptions,
    certificate_for_key,
};

use super::oidc::OidcLogin;
use super::{Ente, PartnerConfig, StartError, component};

const SP_KEY: &[u8] = include_bytes!("../../fixtures/sportello/sp.pk8");
const SPID_IDP_KEY: &[u8] = include_bytes!("../../fixtures/sportello/spid-idp.pk8");
const CIE_IDP_KEY: &[u8] = include_bytes!("../../fixtures/sportello/cie-idp.pk8");

/// Which identity system a login goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// SPID.
    Spid,
    /// "Entra con CIE" (CieID).
    Cie,
}

impl Scheme {
    /// The path segment (`spid`, `cie`).
    pub(crate) fn path(self) -> &'static str {
        match self {
            Scheme::Spid => "spid",
            Scheme::Cie => "cie",
        }
    }

    /// The name shown to people.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Scheme::Spid => "SPID",
            Scheme::Cie => "CIE",
        }
    }
}

/// The session cookie of the CIE routes.
pub(crate) const CIE_SESSION_COOKIE: &str = "cie_session";

/// The citizen of a CIE session kept by the CIE [`SpidWeb`] (the same engine, the CIE checks).
pub(crate) fn cie_citizen(session: &SpSession) -> Option<CitizenIdentity> {
    let cf = session.identity.fiscal_number.clone()?;
    Some(
        CitizenIdentity::new(
            cf,
            pa_types::LoginMethod::CieId {
                level: session.level.into(),
            },
            session.idp_entity_id.clone(),
        )
        .with_names(
            session.identity.name.clone(),
            session.identity.family_name.clone(),
        ),
    )
}

/// The citizen of a SPID session kept by [`SpidWeb`].
pub(crate) fn spid_citizen(session: &SpSession) -> Option<CitizenIdentity> {
    let cf = session.identity.fiscal_number.clone()?;
    Some(
        CitizenIdentity::new(
            cf,
            pa_types::LoginMethod::Spid {
                level: session.level.into(),
            },
            session.idp_entity_id.clone(),
        )
        .with_names(
            session.identity.name.clone(),
            session.identity.family_name.clone(),
        ),
    )
}

/// Where the login state lives: in memory (one instance), or in Redis (shared by instances, so
/// that a login started on one completes on another).
#[derive(Clone)]
pub(crate) struct LoginStores {
    pub(crate) pending: Arc<dyn PendingRequestStore>,
    pub(crate) assertions: Arc<dyn AssertionStore>,
    pub(crate) sessions: Arc<dyn SessionStore>,
}

impl LoginStores {
    pub(crate) fn memory() -> LoginStores {
        LoginStores {
            pending: Arc::new(spid::MemoryPendingStore::new()),
            assertions: Arc::new(spid::MemoryAssertionStore::new()),
            sessions: Arc::new(spid::MemorySessionStore::new()),
        }
    }

    /// The stores of ente `id` in Redis at `url` (keys under `sportello:{id}:`).
    pub(crate) async fn redis(url: &str, id: &str) -> Result<LoginStores, StartError> {
        let store = Arc::new(
            spid::RedisStore::connect(url, format!("sportello:{id}:"))
                .await
                .map_err(|e| component("Redis")(e.to_string()))?,
        );
        Ok(LoginStores {
            pending: store.clone(),
            assertions: store.clone(),
            sessions: store,
        })
    }
}

/// The SPID and CIE Service Providers and their test IdPs.
pub(crate) struct Login {
    pub(crate) sp: Arc<ServiceProvider>,
    /// The SPID routes (`/spid/…`) of this ente.
    pub(crate) spid_web: SpidWeb,
    pub(crate) idp: TestIdp,
    /// The CIE routes (`/cie/…`): the `spid` crate's [`SpidWeb`] on the `cie` engine.
    pub(crate) cie_web: SpidWeb,
    pub(crate) cie_config: cie::CieSpConfig,
    pub(crate) cie_idp: cie::CieTestIdp,
    /// Requests the test IdPs received and have not answered yet, by a one-time token.
    received: Mutex<HashMap<String, (Scheme, ReceivedRequest)>>,
    /// SPID and CIE id over OpenID Connect, when configured (`oidc`).
    pub(crate) oidc: Option<OidcLogin>,
}

fn credentials(
    ente: &Ente,
    key: &[u8],
    common_name: &str,
    entity_id: &str,
) -> Result<SpCredentials, StartError> {
    let subject = CertificateSubject {
        common_name: common_name.to_owned(),
        organization: ente.name.clone(),
        entity_id: entity_id.to_owned(),
        organization_identifier: OrganizationIdentifier::PublicAdministration(ente.ipa.clone()),
        locality: "Roma".into(),
        country: "IT".into(),
    };
    certificate_for_key(&subject, key.to_vec(), 730).map_err(|e| component("chiavi")(e.to_string()))
}

impl Login {
    pub(crate) fn build(
        ente: &Ente,
        base_url: &str,
        prefix: &str,
        partner: Option<&PartnerConfig>,
        stores: &LoginStores,
        oidc: bool,
    ) -> Result<Login, StartError> {
        let oidc = if oidc {
            Some(OidcLogin::build(ente, base_url, prefix)?)
        } else {
            None
        };
        let mut config = match partner {
            None => SpConfig::example_public(base_url),
            Some(p) => {
                let mut c =
                    SpConfig::example_aggregated(base_url, AggregatorKind::PublicServicesFull);
                c.aggregator = Some(Aggregator {
                    kind: AggregatorKind::PublicServicesFull,
                    company: p.name.clone(),
                    vat_number: Some(
                        p.vat_number
                            .parse()
                            .map_err(|e| component("partner.vat_number")(format!("{e}")))?,
                    ),
                    fiscal_code: None,
                    ipa_code: None,
                    email: p.email.clone(),
                    telephone: None,
                    validation_certificate: None,
                });
                c.entity_id = format!(
                    "{base_url}/{}/{}",
                    AggregatorKind::PublicServicesFull.activity_code(),
                    ente.ipa
                );
                c
            }
        };
        config.sector = spid::Sector::Public {
            ipa_code: ente.ipa.clone(),
            vat_number: None,
            fiscal_code: None,
        };
        config.organization.names = vec![Localized::it(&ente.name)];
        config.organization.display_names = vec![Localized::it(&ente.name)];
        let sp_creds = credentials(ente, SP_KEY, "Sportello telematico", &config.entity_id)?;
        let idp_entity = format!("{base_url}/test-idp/spid");
        let idp_creds = credentials(ente, SPID_IDP_KEY, "IdP SPID di prova", &idp_entity)?;
        let idp = TestIdp::new(
            idp_entity,
            format!("{base_url}/test-idp/spid/sso"),
            idp_creds,
        );
        let mut sp = ServiceProvider::with_stores(
            config,
            sp_creds,
            Arc::clone(&stores.pending),
            Arc::clone(&stores.assertions),
        )
        .map_err(|e| component("SPID")(e.to_string()))?;
        let metadata = idp
            .metadata()
            .map_err(|e| component("IdP di prova")(e.to_string()))?;
        sp.add_idp(metadata)
            .map_err(|e| component("SPID")(e.to_string()))?;
        let sp = Arc::new(sp);
        let cookie_path = if prefix.is_empty() { "/" } else { prefix };
        // The demo is plain HTTP on loopback.
        let mut opts = WebOptions::default().insecure_http_cookies();
        opts.base_path = format!("{prefix}/spid");
        opts.default_next = format!("{prefix}/area");
        opts.cookie_path = cookie_path.to_owned();
        let spid_web = SpidWeb::new(Arc::clone(&sp), Arc::clone(&stores.sessions), opts);

        // CIE: its own entityID and ACS on the same portal, the CIE metadata extensions.
        let mut cie_config = cie::CieSpConfig::example_public(base_url);
        cie_config.entity_id = format!("{base_url}/cie/metadata");
        // The ente itself in the CIE metadata; the partner, when it runs the service, as the
        // `technical` contact.
        cie_config.sector = cie::CieSector::Public {
            ipa_code: ente.ipa.clone(),
            ipa_category: Some("L6".into()),
            vat_number: None,
            fiscal_code: Some(ente.fiscal_code.to_string()),
        };
        cie_config.organization.names = vec![Localized::it(&ente.name)];
        cie_config.organization.display_names = vec![Localized::it(&ente.name)];
        cie_config.technical = partner.and_then(|p| p.cie_technical.clone());
        for acs in &mut cie_config.assertion_consumer_services {
            acs.location = format!("{base_url}/cie/acs");
        }
        for slo in &mut cie_config.single_logout_services {
            slo.location = format!("{base_url}/cie/slo");
        }
        let cie_creds = credentials(ente, SP_KEY, "Sportello telematico", &cie_config.entity_id)?;
        let cie_idp_entity = format!("{base_url}/test-idp/cie");
        let cie_idp = cie::CieTestIdp::new(
            cie_idp_entity.clone(),
            format!("{base_url}/test-idp/cie/sso"),
            credentials(ente, CIE_IDP_KEY, "IdP CIE di prova", &cie_idp_entity)?,
        );
        let cie_config_kept = cie_config.clone();
        let mut cie_sp = cie::CieServiceProvider::with_stores(
            cie_config,
            cie_creds,
            Arc::clone(&stores.pending),
            Arc::clone(&stores.assertions),
        )
        .map_err(|e| component("CIE")(e.to_string()))?;
        cie_sp
            .add_idp(
                cie_idp
                    .metadata()
                    .map_err(|e| component("IdP CIE di prova")(e.to_string()))?,
            )
            .map_err(|e| component("CIE")(e.to_string()))?;
        let mut cie_opts = WebOptions::default().insecure_http_cookies();
        cie_opts.base_path = format!("{prefix}/cie");
        cie_opts.default_next = format!("{prefix}/area");
        cie_opts.cookie_path = cookie_path.to_owned();
        cie_opts.session_cookie = CIE_SESSION_COOKIE.into();
        cie_opts.login_cookie = "cie_login".into();
        let cie_web = cie_sp.into_web(Arc::clone(&stores.sessions), cie_opts);
        Ok(Login {
            sp,
            spid_web,
            idp,
            cie_web,
            cie_config: cie_config_kept,
            cie_idp,
            received: Mutex::new(HashMap::new()),
            oidc,
        })
    }

    /// The citizen of an OIDC session of this ente's RP.
    pub(crate) async fn oidc_citizen(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Option<CitizenIdentity> {
        Some(self.oidc.as_ref()?.web.session(headers).await?.citizen)
    }

    /// The OIDC "Entra con SPID" / "Entra con CIE" buttons for the home page (empty without
    /// OIDC).
    pub(crate) async fn oidc_buttons(&self, next: &str) -> String {
        match &self.oidc {
            Some(o) => format!(
                "<h2>Oppure con OpenID Connect</h2><div class=\"azioni\" id=\"oidc\">{}</div>",
                o.web.buttons(Some(next)).await
            ),
            None => String::new(),
        }
    }

    /// Ends the OIDC session of the request (tokens revoked at the OP): the `Set-Cookie`
    /// clearing its cookie, when OIDC is on.
    pub(crate) async fn oidc_logout(
        &self,
        headers: &axum::http::HeaderMap,
    ) -> Option<axum::http::HeaderValue> {
        let o = self.oidc.as_ref()?;
        let _ = o.web.end_session(headers).await;
        Some(o.web.clear_session_cookie())
    }

    /// The ente's routes, with `/oidc` and `/test-fed` when OIDC is on.
    pub(crate) fn mount_oidc(&self, router: axum::Router) -> axum::Router {
        match &self.oidc {
            Some(o) => o.mount(router),
            None => router,
        }
    }

    /// A test IdP receives a Redirect-binding AuthnRequest; returns a one-time token.
    pub(crate) fn idp_receive(
        &self,
        scheme: Scheme,
        query: &str,
    ) -> Result<(String, ReceivedRequest), String> {
        let req = match scheme {
            Scheme::Spid => self.idp.read_redirect(query),
            Scheme::Cie => self.cie_idp.read_redirect(query),
        }
        .map_err(|e| e.0)?;
        let token = uuid::Uuid::new_v4().simple().to_string();
        self.received
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(token.clone(), (scheme, req.clone()));
        Ok((token, req))
    }

    /// The test IdP answers the request `token` for the given user: the auto-submit form values
    /// (ACS URL, SAMLResponse, RelayState).
    pub(crate) fn idp_answer(
        &self,
        scheme: Scheme,
        token: &str,
        name: &str,
        family_name: &str,
        fiscal_code: &pa_types::CodiceFiscale,
    ) -> Result<(String, String, Option<String>), String> {
        let (issued_by, req) = self
            .received
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(token)
            .ok_or("richiesta sconosciuta o già usata")?;
        if issued_by != scheme {
            return Err("la richiesta appartiene a un altro IdP".into());
        }
        if scheme == Scheme::Cie {
            let acs = self
                .cie_config
                .assertion_consumer_services
                .first()
                .map(|a| a.location.clone())
                .ok_or("nessun AssertionConsumerService")?;
            let mut user = cie::CieTestUser::example();
            user.name = name.to_owned();
            user.family_name = family_name.to_owned();
            user.fiscal_number = format!("TINIT-{fiscal_code}");
            let template = self.cie_idp.template(&req, &acs, &user, Utc::now());
            let response = self
                .cie_idp
                .saml_response(&template)
                .map_err(|e| e.to_string())?;
            return Ok((acs, response, req.relay_state));
        }
        let acs = self
            .sp
            .config()
            .default_acs()
            .map(|a| a.location.clone())
            .ok_or("nessun AssertionConsumerService")?;
        let mut user = TestUser::example();
        user.attributes.insert(SpidAttribute::Name, name.to_owned());
        user.attributes
            .insert(SpidAttribute::FamilyName, family_name.to_owned());
        user.attributes
            .insert(SpidAttribute::FiscalNumber, format!("TINIT-{fiscal_code}"));
        let template = self.idp.template(&req, &acs, &user, Utc::now());
        let response = self
            .idp
            .saml_response(&template)
            .map_err(|e| e.to_string())?;
        Ok((acs, response, req.relay_state))
    }
}
