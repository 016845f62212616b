//! The CieID Identity Provider: its published entity IDs, endpoints and metadata addresses.

use spid::{Binding, IdpMetadata};

use super::error::CieError;

/// A CieID environment, as published in cie-eid-saml-docs ("Federazione", "Metadata IdP").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CieIdpEnvironment {
    /// Production: `idserver.servizicie.interno.gov.it`.
    Production,
    /// Pre-production (test): `preproduzione.idserver.servizicie.interno.gov.it`.
    PreProduction,
}

impl CieIdpEnvironment {
    /// Both environments.
    pub const ALL: [CieIdpEnvironment; 2] = [
        CieIdpEnvironment::Production,
        CieIdpEnvironment::PreProduction,
    ];

    fn host(self) -> &'static str {
        match self {
            CieIdpEnvironment::Production => "https://idserver.servizicie.interno.gov.it",
            CieIdpEnvironment::PreProduction => {
                "https://preproduzione.idserver.servizicie.interno.gov.it"
            }
        }
    }

    /// The IdP entityID (`…/idp/profile/SAML2/POST/SSO` on the environment's host).
    pub fn entity_id(self) -> &'static str {
        match self {
            CieIdpEnvironment::Production => {
                "https://idserver.servizicie.interno.gov.it/idp/profile/SAML2/POST/SSO"
            }
            CieIdpEnvironment::PreProduction => {
                "https://preproduzione.idserver.servizicie.interno.gov.it/idp/profile/SAML2/POST/SSO"
            }
        }
    }

    /// Where the IdP publishes its metadata (`…/idp/shibboleth?Metadata`).
    pub fn metadata_url(self) -> String {
        format!("{}/idp/shibboleth?Metadata", self.host())
    }

    /// The `SingleSignOnService` location for a binding.
    pub fn sso_location(self, binding: Binding) -> String {
        match binding {
            Binding::HttpPost => format!("{}/idp/profile/SAML2/POST/SSO", self.host()),
            Binding::HttpRedirect => format!("{}/idp/profile/SAML2/Redirect/SSO", self.host()),
        }
    }

    /// The `SingleLogoutService` location (HTTP-Redirect). CieID accepts logout requests
    /// there but sends no SAML answer back.
    pub fn slo_location(self) -> String {
        format!("{}/idp/profile/SAML2/Redirect/SLO", self.host())
    }

    /// The environment whose entityID this is.
    pub fn from_entity_id(entity_id: &str) -> Option<CieIdpEnvironment> {
        CieIdpEnvironment::ALL
            .into_iter()
            .find(|e| e.entity_id() == entity_id)
    }

    /// Reads this environment's IdP from its metadata document (as downloaded from
    /// [`metadata_url`](CieIdpEnvironment::metadata_url)), with the engine's metadata parser:
    /// the signing keys come from the document, `validUntil` is enforced. The document must
    /// describe this environment's entityID and have an HTTP-Redirect or HTTP-POST
    /// `SingleSignOnService` on the environment's host (a document for another IdP, or one
    /// that points the SSO elsewhere, is refused).
    ///
    /// # Errors
    /// [`CieError::Engine`] when the engine cannot parse the metadata, [`CieError::IdpMetadata`]
    /// when it is not this environment's CieID metadata.
    pub fn parse_metadata(self, xml: &[u8]) -> Result<IdpMetadata, CieError> {
        let all = IdpMetadata::parse_all(xml).map_err(|e| CieError::Engine(e.into()))?;
        self.select(all)
    }
}

impl CieIdpEnvironment {
    /// Like [`parse_metadata`](CieIdpEnvironment::parse_metadata), for a metadata document
    /// that must carry a valid enveloped signature by `signer_der` (DER certificate, obtained
    /// out of band); only the element the signature covers is read.
    ///
    /// # Errors
    /// [`CieError::Engine`] with a signature error when the document is not signed by
    /// `signer_der`; otherwise as [`parse_metadata`](CieIdpEnvironment::parse_metadata).
    pub fn parse_metadata_verified(
        self,
        xml: &[u8],
        signer_der: &[u8],
    ) -> Result<IdpMetadata, CieError> {
        let all = IdpMetadata::parse_all_verified(xml, signer_der)
            .map_err(|e| CieError::Engine(e.into()))?;
        self.select(all)
    }

    fn select(self, all: Vec<IdpMetadata>) -> Result<IdpMetadata, CieError> {
        let idp = all
            .into_iter()
            .find(|i| i.entity_id == self.entity_id())
            .ok_or_else(|| {
                CieError::IdpMetadata(format!("no IdP with entityID {}", self.entity_id()))
            })?;
        check_sso_hosts(&idp, self.host())?;
        Ok(idp)
    }
}

fn check_sso_hosts(idp: &IdpMetadata, host: &str) -> Result<(), CieError> {
    if idp.sso.is_empty() {
        return Err(CieError::IdpMetadata(format!(
            "{} has no SingleSignOnService for HTTP-POST or HTTP-Redirect",
            idp.entity_id
        )));
    }
    let prefix = format!("{host}/");
    for ep in &idp.sso {
        if !ep.location.starts_with(&prefix) {
            return Err(CieError::IdpMetadata(format!(
                "SingleSignOnService {} is not on {host}",
                ep.location
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_addresses() {
        let p = CieIdpEnvironment::Production;
        assert_eq!(
            p.entity_id(),
            "https://idserver.servizicie.interno.gov.it/idp/profile/SAML2/POST/SSO"
        );
        assert_eq!(
            p.metadata_url(),
            "https://idserver.servizicie.interno.gov.it/idp/shibboleth?Metadata"
        );
        assert_eq!(
            p.sso_location(Binding::HttpRedirect),
            "https://idserver.servizicie.interno.gov.it/idp/profile/SAML2/Redirect/SSO"
        );
        assert_eq!(p.sso_location(Binding::HttpPost), p.entity_id());
        let t = CieIdpEnvironment::PreProduction;
        assert_eq!(
            t.metadata_url(),
            "https://preproduzione.idserver.servizicie.interno.gov.it/idp/shibboleth?Metadata"
        );
        assert_eq!(
            CieIdpEnvironment::from_entity_id(t.entity_id()),
            Some(CieIdpEnvironment::PreProduction)
        );
        assert_eq!(
            CieIdpEnvironment::from_entity_id("https://demo.spid.gov.it"),
            None
        );
    }
}
