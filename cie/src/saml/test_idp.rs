//! A CieID-like test IdP (feature `test-idp`): the `spid` test IdP answering as CieID does.

use chrono::{DateTime, Utc};
use spid::{
    AssertionTemplate, IdpMetadata, KeyError, MetadataError, ReceivedRequest, ResponseTemplate,
    SpCredentials, SpidAttribute, TestIdp, TestIdpError, TestUser,
};

use super::config::CieAttribute;
use super::idp::CieIdpEnvironment;

/// A citizen of the CIE test IdP: the four CIE attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CieTestUser {
    /// `name`.
    pub name: String,
    /// `familyName`.
    pub family_name: String,
    /// `dateOfBirth`, `YYYY-MM-DD`.
    pub date_of_birth: String,
    /// `fiscalNumber`, `TINIT-<codice fiscale>`.
    pub fiscal_number: String,
}

impl CieTestUser {
    /// An example citizen with a valid fiscal code.
    pub fn example() -> Self {
        CieTestUser {
            name: "Mario".into(),
            family_name: "Rossi".into(),
            date_of_birth: "1985-12-10".into(),
            fiscal_number: "TINIT-RSSMRA85T10A562S".into(),
        }
    }

    fn value(&self, a: CieAttribute) -> &str {
        match a {
            CieAttribute::Name => &self.name,
            CieAttribute::FamilyName => &self.family_name,
            CieAttribute::DateOfBirth => &self.date_of_birth,
            CieAttribute::FiscalNumber => &self.fiscal_number,
        }
    }

    /// The user as a SPID test user (same names and values).
    pub fn to_test_user(&self) -> TestUser {
        let mut u = TestUser::default();
        for a in CieAttribute::ALL {
            u.attributes.insert(a.to_spid(), self.value(a).to_owned());
        }
        u
    }
}

/// A test IdP that answers like CieID: its entityID and SSO address follow one of the CieID
/// environments' patterns on a test host, responses release only the CIE attributes and the
/// assertion `Issuer` carries no `Format`.
#[derive(Debug, Clone)]
pub struct CieTestIdp {
    inner: TestIdp,
}

impl CieTestIdp {
    /// A test IdP with this entityID, SSO URL and signing credentials.
    pub fn new(
        entity_id: impl Into<String>,
        sso_url: impl Into<String>,
        credentials: SpCredentials,
    ) -> Self {
        CieTestIdp {
            inner: TestIdp::new(entity_id, sso_url, credentials),
        }
    }

    /// A test IdP posing as a CieID environment (its published entityID and SSO address),
    /// signing with test credentials: for tests that exercise the real identifiers.
    pub fn posing_as(env: CieIdpEnvironment, credentials: SpCredentials) -> Self {
        CieTestIdp::new(
            env.entity_id(),
            env.sso_location(spid::Binding::HttpRedirect),
            credentials,
        )
    }

    /// The engine's test IdP underneath (to render malformed variants).
    pub fn inner(&self) -> &TestIdp {
        &self.inner
    }

    /// The entityID.
    pub fn entity_id(&self) -> &str {
        self.inner.entity_id()
    }

    /// The signed metadata document.
    ///
    /// # Errors
    /// [`KeyError`] if signing fails.
    pub fn metadata_xml(&self) -> Result<String, KeyError> {
        self.inner.metadata_xml()
    }

    /// The parsed metadata.
    ///
    /// # Errors
    /// [`MetadataError`] (never for a well-configured IdP).
    pub fn metadata(&self) -> Result<IdpMetadata, MetadataError> {
        self.inner.metadata()
    }

    /// Reads an HTTP-Redirect AuthnRequest from the query string.
    ///
    /// # Errors
    /// [`TestIdpError`] when the request cannot be decoded.
    pub fn read_redirect(&self, query: &str) -> Result<ReceivedRequest, TestIdpError> {
        self.inner.read_redirect(query)
    }

    /// Reads an HTTP-POST AuthnRequest.
    ///
    /// # Errors
    /// [`TestIdpError`] when the request cannot be decoded.
    pub fn read_post(
        &self,
        saml_request: &str,
        relay_state: Option<&str>,
    ) -> Result<ReceivedRequest, TestIdpError> {
        self.inner.read_post(saml_request, relay_state)
    }

    /// A correct CieID answer to `req` for `user`: signed response and assertion, the CIE
    /// attributes, assertion `Issuer` without `Format`.
    pub fn template(
        &self,
        req: &ReceivedRequest,
        acs_url: &str,
        user: &CieTestUser,
        now: DateTime<Utc>,
    ) -> ResponseTemplate {
        let mut t = self.inner.template(req, acs_url, &user.to_test_user(), now);
        if let Some(a) = t.assertion.as_mut() {
            cie_assertion(a, user);
        }
        t
    }

    /// Renders and signs a template: the `SAMLResponse` form value (base64).
    ///
    /// # Errors
    /// [`KeyError`] if signing fails.
    pub fn saml_response(&self, t: &ResponseTemplate) -> Result<String, KeyError> {
        self.inner.saml_response(t)
    }
}

fn cie_assertion(a: &mut AssertionTemplate, user: &CieTestUser) {
    a.issuer_format = None;
    a.attributes = Some(
        CieAttribute::ALL
            .into_iter()
            .map(|c| {
                let spid: SpidAttribute = c.to_spid();
                (spid.name().to_owned(), Some(user.value(c).to_owned()))
            })
            .collect(),
    );
}
