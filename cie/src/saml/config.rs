//! The CIE Service Provider configuration (cie-eid-saml-docs, "Metadata SP").

use std::collections::BTreeSet;

use pa_types::{CodiceIpa, PartitaIva};
use serde::{Deserialize, Serialize};
use spid::{
    AssertionConsumerService, Binding, Comparison, Localized, Organization, SingleLogoutService,
    SpidAttribute,
};

use super::error::CieConfigError;
use super::level::{CieLevel, comparison_allowed};

/// An attribute CieID releases: the closed CIE set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CieAttribute {
    /// `name`.
    #[serde(rename = "name")]
    Name,
    /// `familyName`.
    #[serde(rename = "familyName")]
    FamilyName,
    /// `dateOfBirth` (`YYYY-MM-DD`).
    #[serde(rename = "dateOfBirth")]
    DateOfBirth,
    /// `fiscalNumber` (`TINIT-<codice fiscale>`).
    #[serde(rename = "fiscalNumber")]
    FiscalNumber,
}

impl CieAttribute {
    /// Every CIE attribute.
    pub const ALL: [CieAttribute; 4] = [
        CieAttribute::Name,
        CieAttribute::FamilyName,
        CieAttribute::DateOfBirth,
        CieAttribute::FiscalNumber,
    ];

    /// The SAML attribute name.
    pub fn name(self) -> &'static str {
        self.to_spid().name()
    }

    /// The same attribute in the SPID set (CIE uses the SPID names).
    pub fn to_spid(self) -> SpidAttribute {
        match self {
            CieAttribute::Name => SpidAttribute::Name,
            CieAttribute::FamilyName => SpidAttribute::FamilyName,
            CieAttribute::DateOfBirth => SpidAttribute::DateOfBirth,
            CieAttribute::FiscalNumber => SpidAttribute::FiscalNumber,
        }
    }

    /// The CIE attribute with this SAML name, if it is one.
    pub fn from_name(name: &str) -> Option<CieAttribute> {
        CieAttribute::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// An `AttributeConsumingService` of a CIE SP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CieAttributeService {
    /// `index`.
    pub index: u16,
    /// `ServiceName`s (1 to 255 characters each, `it` included).
    pub service_names: Vec<Localized>,
    /// The requested attributes (no duplicates).
    pub attributes: Vec<CieAttribute>,
}

/// Public administration or private subject, with the identifiers of the `cie:` contact
/// extensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "sector", rename_all = "lowercase")]
pub enum CieSector {
    /// A public administration (`cie:Public`, `cie:IPACode`).
    Public {
        /// IPA code (`cie:IPACode`).
        ipa_code: CodiceIpa,
        /// IPA category (`cie:IPACategory`), e.g. `L6` for municipalities.
        #[serde(default)]
        ipa_category: Option<String>,
        /// VAT number (`cie:VATNumber`, written `IT<digits>`).
        #[serde(default)]
        vat_number: Option<PartitaIva>,
        /// Fiscal code of the administration (`cie:FiscalCode`).
        #[serde(default)]
        fiscal_code: Option<String>,
    },
    /// A private subject (`cie:Private`, `cie:VATNumber`, `cie:FiscalCode`, `cie:NACE2Code`).
    Private {
        /// VAT number (`cie:VATNumber`, written `IT<digits>`).
        vat_number: PartitaIva,
        /// Fiscal code (`cie:FiscalCode`).
        fiscal_code: String,
        /// ATECO / NACE rev. 2 activity code (`cie:NACE2Code`), e.g. `62.01`.
        nace2_code: String,
    },
}

impl CieSector {
    /// `true` for a public administration.
    pub fn is_public(&self) -> bool {
        matches!(self, CieSector::Public { .. })
    }
}

/// Where a contact is: the `cie:Municipality`, `cie:Province`, `cie:Country` extensions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CieLocation {
    /// ISTAT code of the municipality (6 digits, e.g. `058091` for Roma).
    pub municipality: String,
    /// Province, 2 capital letters (Italian subjects).
    #[serde(default)]
    pub province: Option<String>,
    /// Country, ISO 3166-1 alpha-2 (default `IT` when absent).
    #[serde(default)]
    pub country: Option<String>,
}

/// The `administrative` contact: the SP itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CieContact {
    /// Institutional e-mail address.
    pub email: String,
    /// Telephone, international form without spaces (`+39...`).
    #[serde(default)]
    pub telephone: Option<String>,
    /// Seat of the SP.
    pub location: CieLocation,
}

/// The `technical` contact: the technology partner that runs the service for the SP, if any.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CieTechnicalContact {
    /// The partner's company name (`md:Company`).
    pub company: String,
    /// The partner's VAT number (`cie:VATNumber`).
    pub vat_number: PartitaIva,
    /// The partner's fiscal code (`cie:FiscalCode`).
    pub fiscal_code: String,
    /// The partner's ATECO / NACE rev. 2 code (`cie:NACE2Code`).
    pub nace2_code: String,
    /// E-mail address.
    pub email: String,
    /// Telephone, international form without spaces.
    #[serde(default)]
    pub telephone: Option<String>,
    /// Seat of the partner.
    pub location: CieLocation,
}

fn default_skew() -> u64 {
    60
}

fn default_request_ttl() -> u64 {
    600
}

/// The whole CIE SP configuration. Load it with serde and check it with
/// [`CieSpConfig::validate`] (done by [`CieServiceProvider::new`](crate::CieServiceProvider::new)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CieSpConfig {
    /// The SP entityID (an URL).
    pub entity_id: String,
    /// Assertion consumer services (HTTP-POST); index 0 is the default.
    pub assertion_consumer_services: Vec<AssertionConsumerService>,
    /// Single logout endpoints; at least one with HTTP-Redirect.
    pub single_logout_services: Vec<SingleLogoutService>,
    /// Attribute consuming services (at least one).
    pub attribute_consuming_services: Vec<CieAttributeService>,
    /// Organization (names, display names, URLs).
    pub organization: Organization,
    /// Sector and identifiers.
    #[serde(flatten)]
    pub sector: CieSector,
    /// The `administrative` contact.
    pub administrative: CieContact,
    /// The `technical` contact of a technology partner.
    #[serde(default)]
    pub technical: Option<CieTechnicalContact>,
    /// Level requested when the caller does not choose one.
    pub default_level: CieLevel,
    /// Comparison sent in `RequestedAuthnContext` (`exact` or `minimum`).
    #[serde(default)]
    pub comparison: Comparison,
    /// Allowed clock difference with the IdP, in seconds (default 60).
    #[serde(default = "default_skew")]
    pub clock_skew_secs: u64,
    /// How long a pending AuthnRequest waits for its response, in seconds (default 600).
    #[serde(default = "default_request_ttl")]
    pub request_ttl_secs: u64,
}

fn bad(field: &str, reason: impl Into<String>) -> Result<(), CieConfigError> {
    Err(CieConfigError {
        field: field.to_owned(),
        reason: reason.into(),
    })
}

fn check_location(field: &str, l: &CieLocation) -> Result<(), CieConfigError> {
    if l.municipality.len() != 6 || !l.municipality.bytes().all(|b| b.is_ascii_digit()) {
        return bad(
            &format!("{field}.municipality"),
            format!(
                "{:?}: the 6-digit ISTAT code of the municipality is expected",
                l.municipality
            ),
        );
    }
    let two_capitals = |v: &str| v.len() == 2 && v.bytes().all(|b| b.is_ascii_uppercase());
    if l.province.as_deref().is_some_and(|p| !two_capitals(p)) {
        return bad(&format!("{field}.province"), "2 capital letters expected");
    }
    if l.country.as_deref().is_some_and(|c| !two_capitals(c)) {
        return bad(
            &format!("{field}.country"),
            "ISO 3166 alpha-2 code expected",
        );
    }
    Ok(())
}

fn check_email(field: &str, v: &str) -> Result<(), CieConfigError> {
    let ok = match v.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && domain.contains('.') && !v.contains(char::is_whitespace)
        }
        None => false,
    };
    if ok {
        Ok(())
    } else {
        bad(field, format!("{v:?} is not an e-mail address"))
    }
}

fn check_phone(field: &str, v: &str) -> Result<(), CieConfigError> {
    if v.starts_with('+') && v.len() > 4 && v[1..].bytes().all(|b| b.is_ascii_digit()) {
        Ok(())
    } else {
        bad(
            field,
            format!("{v:?}: international form without spaces expected (+39...)"),
        )
    }
}

fn check_code(field: &str, v: &str) -> Result<(), CieConfigError> {
    if v.trim().is_empty() || v.trim() != v || v.len() > 64 {
        bad(
            field,
            "a non-empty value without surrounding spaces expected",
        )
    } else {
        Ok(())
    }
}

impl CieSpConfig {
    /// Checks the CIE rules that the types alone cannot express.
    ///
    /// # Errors
    /// [`CieConfigError`] naming the field that breaks a rule.
    pub fn validate(&self) -> Result<(), CieConfigError> {
        if !(self.entity_id.starts_with("https://") || self.entity_id.starts_with("http://")) {
            return bad("entity_id", "must be an http(s) URL");
        }
        if self.entity_id.len() > 1024 {
            return bad("entity_id", "longer than 1024 characters");
        }
        if !self
            .single_logout_services
            .iter()
            .any(|s| s.binding == Binding::HttpRedirect)
        {
            return bad(
                "single_logout_services",
                "CIE requires a SingleLogoutService with the HTTP-Redirect binding",
            );
        }
        if !comparison_allowed(self.comparison) {
            return bad(
                "comparison",
                format!("{}: CieID accepts only exact or minimum", self.comparison),
            );
        }
        if self.attribute_consuming_services.is_empty() {
            return bad("attribute_consuming_services", "at least one is required");
        }
        let mut seen = BTreeSet::new();
        for s in &self.attribute_consuming_services {
            if !seen.insert(s.index) {
                return bad("attribute_consuming_services", "duplicate index");
            }
            if s.service_names.is_empty()
                || s.service_names
                    .iter()
                    .any(|n| n.value.is_empty() || n.value.chars().count() > 255)
            {
                return bad(
                    "attribute_consuming_services.service_names",
                    "a name of 1 to 255 characters is required",
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
        check_email("administrative.email", &self.administrative.email)?;
        if let Some(t) = &self.administrative.telephone {
            check_phone("administrative.telephone", t)?;
        }
        check_location("administrative.location", &self.administrative.location)?;
        match &self.sector {
            CieSector::Public {
                ipa_category,
                fiscal_code,
                ..
            } => {
                if let Some(c) = ipa_category {
                    check_code("ipa_category", c)?;
                }
                if let Some(f) = fiscal_code {
                    check_code("fiscal_code", f)?;
                }
            }
            CieSector::Private {
                fiscal_code,
                nace2_code,
                ..
            } => {
                check_code("fiscal_code", fiscal_code)?;
                check_code("nace2_code", nace2_code)?;
            }
        }
        if let Some(t) = &self.technical {
            check_code("technical.company", &t.company)?;
            check_code("technical.fiscal_code", &t.fiscal_code)?;
            check_code("technical.nace2_code", &t.nace2_code)?;
            check_email("technical.email", &t.email)?;
            if let Some(p) = &t.telephone {
                check_phone("technical.telephone", p)?;
            }
            check_location("technical.location", &t.location)?;
        }
        // The rest (ACS indexes, organization languages) is the engine's rule set.
        self.engine_config().validate().map_err(|e| CieConfigError {
            field: e.field,
            reason: e.reason,
        })
    }

    /// The engine configuration: the same endpoints, attributes and levels. Its sector part
    /// only feeds SPID metadata, which a CIE SP never publishes (see
    /// [`CieServiceProvider::metadata`](crate::CieServiceProvider::metadata)); a private SP is
    /// given the SPID billing contact its rules require, filled from the CIE data.
    pub(crate) fn engine_config(&self) -> spid::SpConfig {
        let company = self.company();
        let sector = match &self.sector {
            CieSector::Public {
                ipa_code,
                vat_number,
                fiscal_code,
                ..
            } => spid::Sector::Public {
                ipa_code: ipa_code.clone(),
                vat_number: vat_number.clone(),
                fiscal_code: fiscal_code.clone(),
            },
            CieSector::Private {
                vat_number,
                fiscal_code,
                ..
            } => spid::Sector::Private {
                vat_number: Some(vat_number.clone()),
                fiscal_code: Some(fiscal_code.clone()),
                billing: Box::new(spid::BillingContact {
                    email: self.administrative.email.clone(),
                    telephone: self.administrative.telephone.clone(),
                    company: company.clone(),
                    vat_number: Some(vat_number.clone()),
                    fiscal_code: Some(fiscal_code.clone()),
                    address: "-".into(),
                    street_number: None,
                    postal_code: "00000".into(),
                    municipality: self.administrative.location.municipality.clone(),
                    province: self.administrative.location.province.clone(),
                    nation: self
                        .administrative
                        .location
                        .country
                        .clone()
                        .unwrap_or_else(|| "IT".into()),
                }),
            },
        };
        spid::SpConfig {
            entity_id: self.entity_id.clone(),
            assertion_consumer_services: self.assertion_consumer_services.clone(),
            single_logout_services: self.single_logout_services.clone(),
            attribute_consuming_services: self
                .attribute_consuming_services
                .iter()
                .map(|s| spid::AttributeConsumingService {
                    index: s.index,
                    service_names: s.service_names.clone(),
                    attributes: s.attributes.iter().map(|a| a.to_spid()).collect(),
                })
                .collect(),
            organization: self.organization.clone(),
            sector,
            contact: spid::ContactPerson {
                email: self.administrative.email.clone(),
                telephone: self.administrative.telephone.clone(),
            },
            aggregator: None,
            default_level: self.default_level.to_spid(),
            comparison: self.comparison,
            clock_skew_secs: self.clock_skew_secs,
            request_ttl_secs: self.request_ttl_secs,
        }
    }

    /// `md:Company` of the administrative contact: the Italian `OrganizationName`.
    pub(crate) fn company(&self) -> String {
        self.organization
            .names
            .iter()
            .find(|l| l.lang == "it")
            .or_else(|| self.organization.names.first())
            .map(|l| l.value.clone())
            .unwrap_or_default()
    }

    /// A complete example configuration for a municipality, handy for tests and demos: every
    /// URL derives from `base_url` (no trailing slash), entityID `<base_url>/spid/metadata`,
    /// ACS `<base_url>/spid/acs`, SLO `<base_url>/spid/slo` (HTTP-Redirect).
    pub fn example_public(base_url: &str) -> CieSpConfig {
        let spid = spid::SpConfig::example_public(base_url);
        let ipa_code = match spid.sector {
            spid::Sector::Public { ipa_code, .. } => ipa_code,
            spid::Sector::Private { .. } => example_ipa_code(),
        };
        CieSpConfig {
            entity_id: spid.entity_id,
            assertion_consumer_services: spid.assertion_consumer_services,
            single_logout_services: vec![SingleLogoutService {
                binding: Binding::HttpRedirect,
                location: format!("{base_url}/spid/slo"),
            }],
            attribute_consuming_services: vec![CieAttributeService {
                index: 0,
                service_names: vec![Localized::it("Servizi online")],
                attributes: CieAttribute::ALL.to_vec(),
            }],
            organization: spid.organization,
            sector: CieSector::Public {
                ipa_code,
                ipa_category: Some("L6".into()),
                vat_number: None,
                fiscal_code: Some("02438750586".into()),
            },
            administrative: CieContact {
                email: "protocollo@comune.esempio.it".into(),
                telephone: Some("+390612345678".into()),
                location: CieLocation {
                    municipality: "058091".into(),
                    province: Some("RM".into()),
                    country: Some("IT".into()),
                },
            },
            technical: None,
            default_level: CieLevel::L2,
            comparison: Comparison::Minimum,
            clock_skew_secs: default_skew(),
            request_ttl_secs: default_request_ttl(),
        }
    }

    /// Like [`example_public`](CieSpConfig::example_public), for a private company.
    pub fn example_private(base_url: &str) -> CieSpConfig {
        let spid = spid::SpConfig::example_private(base_url);
        let mut c = CieSpConfig::example_public(base_url);
        c.organization = spid.organization;
        let vat = match spid.sector {
            spid::Sector::Private {
                vat_number: Some(v),
                ..
            } => v,
            _ => example_vat(),
        };
        c.sector = CieSector::Private {
            fiscal_code: vat.as_str().to_owned(),
            vat_number: vat,
            nace2_code: "62.01".into(),
        };
        c.administrative.email = "info@esempio.it".into();
        c
    }
}

fn example_ipa_code() -> CodiceIpa {
    // A constant that is a valid IPA code; parsing it cannot fail.
    #[allow(clippy::expect_used)]
    "c_h501".parse().expect("c_h501 is a valid IPA code")
}

fn example_vat() -> PartitaIva {
    // A constant with a valid check digit; parsing it cannot fail.
    #[allow(clippy::expect_used)]
    "12345678903".parse().expect("a valid VAT number")
}
