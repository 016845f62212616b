//! Typed, serde-loadable Service Provider configuration (Avviso SPID n. 28 v2 / n. 29 v3).

use std::collections::BTreeSet;

use pa_types::{CodiceIpa, PartitaIva};
use serde::{Deserialize, Serialize};

use crate::attributes::SpidAttribute;
use crate::error::ConfigError;
use crate::level::{Comparison, SpidLevel};

/// SAML binding URIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Binding {
    /// `urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST`.
    #[serde(
        rename = "HTTP-POST",
        alias = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    )]
    HttpPost,
    /// `urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect`.
    #[serde(
        rename = "HTTP-Redirect",
        alias = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
    )]
    HttpRedirect,
}

impl Binding {
    /// The binding URI.
    pub fn uri(self) -> &'static str {
        match self {
            Binding::HttpPost => "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
            Binding::HttpRedirect => "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
        }
    }

    /// Parses a binding URI.
    pub fn from_uri(uri: &str) -> Option<Binding> {
        match uri {
            "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" => Some(Binding::HttpPost),
            "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" => Some(Binding::HttpRedirect),
            _ => None,
        }
    }
}

/// A text with its language (`xml:lang`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Localized {
    /// Language code, e.g. `it`.
    pub lang: String,
    /// The text.
    pub value: String,
}

impl Localized {
    /// Italian text.
    pub fn it(value: impl Into<String>) -> Self {
        Localized {
            lang: "it".into(),
            value: value.into(),
        }
    }
}

/// An `AssertionConsumerService` endpoint (always HTTP-POST in SPID).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssertionConsumerService {
    /// `index`; index 0 is the default one.
    pub index: u16,
    /// `Location` URL.
    pub location: String,
}

/// A `SingleLogoutService` endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SingleLogoutService {
    /// Binding.
    pub binding: Binding,
    /// `Location` URL.
    pub location: String,
}

/// An `AttributeConsumingService`: a set of attributes the SP asks for by index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributeConsumingService {
    /// `index`.
    pub index: u16,
    /// `ServiceName`s (at least one, `it` included).
    pub service_names: Vec<Localized>,
    /// The requested attributes (from the closed SPID set, no duplicates).
    pub attributes: Vec<SpidAttribute>,
}

/// The `md:Organization` element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// `OrganizationName` per language.
    pub names: Vec<Localized>,
    /// `OrganizationDisplayName` per language.
    pub display_names: Vec<Localized>,
    /// `OrganizationURL` per language.
    pub urls: Vec<Localized>,
}

/// Public or private sector, with the identifiers Avviso 28 v2 requires in the contact extensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "sector", rename_all = "lowercase")]
pub enum Sector {
    /// A public administration (`spid:Public`, `spid:IPACode`).
    Public {
        /// IPA code of the administration.
        ipa_code: CodiceIpa,
        /// Optional VAT number.
        #[serde(default)]
        vat_number: Option<PartitaIva>,
        /// Optional fiscal code.
        #[serde(default)]
        fiscal_code: Option<String>,
    },
    /// A private subject (`spid:Private`, `spid:VATNumber` and/or `spid:FiscalCode`).
    Private {
        /// VAT number (rendered `IT<digits>`).
        #[serde(default)]
        vat_number: Option<PartitaIva>,
        /// Fiscal code.
        #[serde(default)]
        fiscal_code: Option<String>,
        /// The billing contact with the invoicing data (mandatory for private SPs).
        billing: Box<BillingContact>,
    },
}

impl Sector {
    /// `true` for the public sector.
    pub fn is_public(&self) -> bool {
        matches!(self, Sector::Public { .. })
    }
}

/// The `other` contact person with the SPID extensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactPerson {
    /// An institutional e-mail address (not a person's).
    pub email: String,
    /// Telephone number, international form without spaces (`+39...`).
    #[serde(default)]
    pub telephone: Option<String>,
}

/// The `billing` contact of private SPs, with `fpa:CessionarioCommittente`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingContact {
    /// Billing e-mail address.
    pub email: String,
    /// Billing telephone number.
    #[serde(default)]
    pub telephone: Option<String>,
    /// Company name on invoices (`fpa:Denominazione`).
    pub company: String,
    /// VAT number of the invoiced subject (`fpa:IdFiscaleIVA`).
    #[serde(default)]
    pub vat_number: Option<PartitaIva>,
    /// Fiscal code of the invoiced subject (`fpa:CodiceFiscale`).
    #[serde(default)]
    pub fiscal_code: Option<String>,
    /// Street (`fpa:Indirizzo`).
    pub address: String,
    /// House number (`fpa:NumeroCivico`).
    #[serde(default)]
    pub street_number: Option<String>,
    /// Postal code, 5 digits (`fpa:CAP`).
    pub postal_code: String,
    /// Municipality (`fpa:Comune`).
    pub municipality: String,
    /// Province, 2 letters (`fpa:Provincia`).
    #[serde(default)]
    pub province: Option<String>,
    /// Nation, 2 letters (`fpa:Nazione`).
    pub nation: String,
}

fn default_skew() -> u64 {
    60
}

fn default_request_ttl() -> u64 {
    600
}

/// The whole SP configuration. Load it with serde (TOML, JSON, ...) and check it with
/// [`SpConfig::validate`] (done by [`ServiceProvider::new`](crate::ServiceProvider::new)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpConfig {
    /// The SP entityID (an URL).
    pub entity_id: String,
    /// Assertion consumer services; index 0 is the default.
    pub assertion_consumer_services: Vec<AssertionConsumerService>,
    /// Single logout endpoints (at least one).
    pub single_logout_services: Vec<SingleLogoutService>,
    /// Attribute consuming services (at least one).
    pub attribute_consuming_services: Vec<AttributeConsumingService>,
    /// Organization.
    pub organization: Organization,
    /// Sector and identifiers.
    #[serde(flatten)]
    pub sector: Sector,
    /// The `other` contact person.
    pub contact: ContactPerson,
    /// Level requested when the caller does not choose one.
    pub default_level: SpidLevel,
    /// Comparison sent in `RequestedAuthnContext`.
    #[serde(default)]
    pub comparison: Comparison,
    /// Allowed clock difference with the IdP, in seconds (default 60).
    #[serde(default = "default_skew")]
    pub clock_skew_secs: u64,
    /// How long a pending AuthnRequest waits for its response, in seconds (default 600).
    #[serde(default = "default_request_ttl")]
    pub request_ttl_secs: u64,
}

impl SpConfig {
    /// The default ACS (index 0, or the first one).
    pub fn default_acs(&self) -> Option<&AssertionConsumerService> {
        self.assertion_consumer_services
            .iter()
            .find(|a| a.index == 0)
            .or_else(|| self.assertion_consumer_services.first())
    }

    /// Checks the rules that the types alone cannot express.
    ///
    /// # Errors
    /// [`ConfigError`] naming the field that breaks a rule.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field: &str, reason: &str| {
            Err(ConfigError {
                field: field.to_owned(),
                reason: reason.to_owned(),
            })
        };
        if !(self.entity_id.starts_with("https://") || self.entity_id.starts_with("http://")) {
            return bad("entity_id", "must be an http(s) URL");
        }
        if self.entity_id.len() > 1024 {
            return bad("entity_id", "longer than 1024 characters");
        }
        if !self
            .assertion_consumer_services
            .iter()
            .any(|a| a.index == 0)
        {
            return bad(
                "assertion_consumer_services",
                "an ACS with index 0 is required",
            );
        }
        let mut seen = BTreeSet::new();
        for a in &self.assertion_consumer_services {
            if !seen.insert(a.index) {
                return bad("assertion_consumer_services", "duplicate index");
            }
            if a.location.is_empty() {
                return bad("assertion_consumer_services", "empty location");
            }
        }
        if self.single_logout_services.is_empty() {
            return bad("single_logout_services", "at least one is required");
        }
        if self.attribute_consuming_services.is_empty() {
            return bad("attribute_consuming_services", "at least one is required");
        }
        let mut seen = BTreeSet::new();
        for s in &self.attribute_consuming_services {
            if !seen.insert(s.index) {
                return bad("attribute_consuming_services", "duplicate index");
            }
            if s.service_names.is_empty() || s.service_names.iter().any(|n| n.value.is_empty()) {
                return bad(
                    "attribute_consuming_services.service_names",
                    "a non-empty name is required",
                );
            }
            if s.attributes.is_empty() {
                return bad(
                    "attribute_consuming_services.attributes",
                    "at least one attribute",
                );
            }
            let set: BTreeSet<_> = s.attributes.iter().collect();
            if set.len() != s.attributes.len() {
                return bad(
                    "attribute_consuming_services.attributes",
                    "duplicate attribute",
                );
            }
        }
        let org = &self.organization;
        let langs = |v: &[Localized]| v.iter().map(|l| l.lang.clone()).collect::<BTreeSet<_>>();
        if org.names.is_empty() || org.display_names.is_empty() || org.urls.is_empty() {
            return bad("organization", "names, display names and URLs are required");
        }
        if langs(&org.names) != langs(&org.display_names) || langs(&org.names) != langs(&org.urls) {
            return bad(
                "organization",
                "names, display names and URLs must have the same languages",
            );
        }
        if !langs(&org.names).contains("it") {
            return bad("organization", "the it language is required");
        }
        check_email("contact.email", &self.contact.email)?;
        if let Some(t) = &self.contact.telephone {
            check_phone("contact.telephone", t)?;
        }
        match &self.sector {
            Sector::Public { .. } => {}
            Sector::Private {
                vat_number,
                fiscal_code,
                billing,
            } => {
                if vat_number.is_none() && fiscal_code.is_none() {
                    return bad(
                        "vat_number",
                        "a private SP needs a VAT number or a fiscal code",
                    );
                }
                check_email("billing.email", &billing.email)?;
                if let Some(t) = &billing.telephone {
                    check_phone("billing.telephone", t)?;
                }
                if billing.vat_number.is_none() && billing.fiscal_code.is_none() {
                    return bad(
                        "billing.vat_number",
                        "a VAT number or a fiscal code is required",
                    );
                }
                if billing.postal_code.len() != 5
                    || !billing.postal_code.bytes().all(|b| b.is_ascii_digit())
                {
                    return bad("billing.postal_code", "5 digits expected");
                }
                if billing.nation.len() != 2
                    || !billing.nation.bytes().all(|b| b.is_ascii_uppercase())
                {
                    return bad("billing.nation", "2 capital letters expected");
                }
            }
        }
        Ok(())
    }

    /// The requested attribute names of an attribute consuming service.
    pub fn attribute_service(&self, index: u16) -> Option<&AttributeConsumingService> {
        self.attribute_consuming_services
            .iter()
            .find(|s| s.index == index)
    }

    /// A complete example configuration for a public administration, handy for tests and
    /// demos: every URL derives from `base_url` (no trailing slash), `entityID` is
    /// `<base_url>/spid/metadata`, the ACS `<base_url>/spid/acs`.
    pub fn example_public(base_url: &str) -> SpConfig {
        SpConfig {
            entity_id: format!("{base_url}/spid/metadata"),
            assertion_consumer_services: vec![AssertionConsumerService {
                index: 0,
                location: format!("{base_url}/spid/acs"),
            }],
            single_logout_services: vec![SingleLogoutService {
                binding: Binding::HttpRedirect,
                location: format!("{base_url}/spid/slo"),
            }],
            attribute_consuming_services: vec![AttributeConsumingService {
                index: 0,
                service_names: vec![Localized::it("Servizi online")],
                attributes: vec![
                    SpidAttribute::SpidCode,
                    SpidAttribute::Name,
                    SpidAttribute::FamilyName,
                    SpidAttribute::FiscalNumber,
                    SpidAttribute::Email,
                    SpidAttribute::DateOfBirth,
                ],
            }],
            organization: Organization {
                names: vec![Localized::it("Comune di Esempio")],
                display_names: vec![Localized::it("Comune di Esempio")],
                urls: vec![Localized::it("https://www.comune.esempio.it")],
            },
            sector: Sector::Public {
                ipa_code: example_ipa_code(),
                vat_number: None,
                fiscal_code: None,
            },
            contact: ContactPerson {
                email: "protocollo@comune.esempio.it".into(),
                telephone: Some("+390612345678".into()),
            },
            default_level: SpidLevel::L2,
            comparison: Comparison::Minimum,
            clock_skew_secs: default_skew(),
            request_ttl_secs: default_request_ttl(),
        }
    }

    /// Like [`example_public`](SpConfig::example_public), for a private company.
    pub fn example_private(base_url: &str) -> SpConfig {
        let vat: Option<PartitaIva> = "12345678903".parse().ok();
        let mut c = SpConfig::example_public(base_url);
        c.organization = Organization {
            names: vec![Localized::it("Esempio S.r.l.")],
            display_names: vec![Localized::it("Esempio S.r.l.")],
            urls: vec![Localized::it("https://www.esempio.it")],
        };
        c.contact.email = "info@esempio.it".into();
        c.sector = Sector::Private {
            vat_number: vat.clone(),
            fiscal_code: None,
            billing: Box::new(BillingContact {
                email: "fatturazione@esempio.it".into(),
                telephone: Some("+390612345679".into()),
                company: "Esempio S.r.l.".into(),
                vat_number: vat,
                fiscal_code: None,
                address: "Via Roma".into(),
                street_number: Some("1".into()),
                postal_code: "00100".into(),
                municipality: "Roma".into(),
                province: Some("RM".into()),
                nation: "IT".into(),
            }),
        };
        c
    }
}

fn example_ipa_code() -> CodiceIpa {
    // A constant that is a valid IPA code (Roma Capitale's); parsing it cannot fail.
    #[allow(clippy::expect_used)]
    "c_h501".parse().expect("c_h501 is a valid IPA code")
}

fn check_email(field: &str, v: &str) -> Result<(), ConfigError> {
    let ok = match v.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !v.contains(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        Err(ConfigError {
            field: field.to_owned(),
            reason: format!("{v:?} is not an e-mail address"),
        })
    }
}

fn check_phone(field: &str, v: &str) -> Result<(), ConfigError> {
    let ok = v.starts_with('+') && v.len() > 4 && v[1..].bytes().all(|b| b.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ConfigError {
            field: field.to_owned(),
            reason: format!("{v:?}: international form without spaces expected (+39...)"),
        })
    }
}
