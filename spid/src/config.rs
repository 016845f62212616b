//! Typed, serde-loadable Service Provider configuration (Avviso SPID n. 28 v2 / n. 29 v3).

use std::collections::BTreeSet;

use pa_types::{CodiceIpa, PartitaIva};
use serde::{Deserialize, Serialize};

pub use pa_saml::{
    AssertionConsumerService, Binding, Localized, Organization, SingleLogoutService,
};

use crate::attributes::SpidAttribute;
use crate::error::ConfigError;
use crate::level::{Comparison, SpidLevel};

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

/// The kind of aggregator (Avviso SPID n. 19 v4): who hosts the services of the aggregated entity
/// and whether it is public or private. Each kind has its activity code, which the aggregator's
/// entityIDs carry as a path segment (`https://aggregator.example/pub-ag-full/c_h501`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AggregatorKind {
    /// Public services, full: the aggregator hosts the aggregated administration's services
    /// (`spid:PublicServicesFullAggregator`, activity code `pub-ag-full`).
    #[serde(rename = "pub-ag-full", alias = "PublicServicesFullAggregator")]
    PublicServicesFull,
    /// Public services, light: the aggregator provides the SPID access only, the services stay
    /// with the administration (`spid:PublicServicesLightAggregator`, `pub-ag-lite`).
    #[serde(rename = "pub-ag-lite", alias = "PublicServicesLightAggregator")]
    PublicServicesLight,
    /// Private services, full (`spid:PrivateServicesFullAggregator`, `pri-ag-full`).
    #[serde(rename = "pri-ag-full", alias = "PrivateServicesFullAggregator")]
    PrivateServicesFull,
    /// Private services, light (`spid:PrivateServicesLightAggregator`, `pri-ag-lite`).
    #[serde(rename = "pri-ag-lite", alias = "PrivateServicesLightAggregator")]
    PrivateServicesLight,
}

impl AggregatorKind {
    /// Every kind, in the order of the schema.
    pub const ALL: [AggregatorKind; 4] = [
        AggregatorKind::PublicServicesFull,
        AggregatorKind::PublicServicesLight,
        AggregatorKind::PrivateServicesFull,
        AggregatorKind::PrivateServicesLight,
    ];

    /// The activity code that the entityID carries (`pub-ag-full`, ...).
    pub fn activity_code(self) -> &'static str {
        match self {
            AggregatorKind::PublicServicesFull => "pub-ag-full",
            AggregatorKind::PublicServicesLight => "pub-ag-lite",
            AggregatorKind::PrivateServicesFull => "pri-ag-full",
            AggregatorKind::PrivateServicesLight => "pri-ag-lite",
        }
    }

    /// The local name of the empty `spid:` element in the aggregator's contact extensions.
    pub fn element(self) -> &'static str {
        match self {
            AggregatorKind::PublicServicesFull => "PublicServicesFullAggregator",
            AggregatorKind::PublicServicesLight => "PublicServicesLightAggregator",
            AggregatorKind::PrivateServicesFull => "PrivateServicesFullAggregator",
            AggregatorKind::PrivateServicesLight => "PrivateServicesLightAggregator",
        }
    }

    /// Parses an activity code (`pub-ag-full`, ...).
    pub fn from_activity_code(code: &str) -> Option<AggregatorKind> {
        AggregatorKind::ALL
            .into_iter()
            .find(|k| k.activity_code() == code)
    }

    /// `true` for the kinds that aggregate public administrations (`spid:Public` aggregated).
    pub fn is_public(self) -> bool {
        matches!(
            self,
            AggregatorKind::PublicServicesFull | AggregatorKind::PublicServicesLight
        )
    }

    /// `true` for the light kinds, whose aggregator contact carries a `spid:KeyDescriptor`
    /// with `use="spid:validation"`.
    pub fn is_light(self) -> bool {
        matches!(
            self,
            AggregatorKind::PublicServicesLight | AggregatorKind::PrivateServicesLight
        )
    }
}

impl std::fmt::Display for AggregatorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.activity_code())
    }
}

/// The aggregator (the technology partner) that publishes the metadata of an aggregated entity.
///
/// With it, the SP metadata describes the aggregated entity (its `Organization`, its
/// [`Sector`] identifiers, its [`ContactPerson`]) as the `spid:aggregated` contact, and the
/// aggregator as the `spid:aggregator` contact, per Avviso SPID n. 19 v4 and
/// `saml-schema-metadata-aggregated-spid.xsd`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Aggregator {
    /// Public/private, full/light.
    pub kind: AggregatorKind,
    /// The aggregator's company name (`md:Company` of its contact).
    pub company: String,
    /// The aggregator's VAT number (rendered `IT<digits>`).
    #[serde(default)]
    pub vat_number: Option<PartitaIva>,
    /// The aggregator's fiscal code.
    #[serde(default)]
    pub fiscal_code: Option<String>,
    /// The aggregator's IPA code, when the aggregator is itself a public administration.
    #[serde(default)]
    pub ipa_code: Option<CodiceIpa>,
    /// The aggregator's contact e-mail address.
    pub email: String,
    /// The aggregator's telephone number (`+39...`).
    #[serde(default)]
    pub telephone: Option<String>,
    /// Light kinds: the aggregator's certificate for `spid:KeyDescriptor use="spid:validation"`,
    /// as PEM or base64 DER.
    #[serde(default)]
    pub validation_certificate: Option<String>,
}

impl Aggregator {
    /// The `validation_certificate` as base64 DER on one line (PEM armour and whitespace
    /// removed), if any.
    pub fn validation_certificate_base64(&self) -> Option<String> {
        self.validation_certificate.as_ref().map(|c| {
            c.lines()
                .filter(|l| !l.starts_with("-----"))
                .flat_map(|l| l.chars())
                .filter(|ch| !ch.is_whitespace())
                .collect()
        })
    }
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
    /// The `other` contact person (of the aggregated entity, when `aggregator` is set).
    pub contact: ContactPerson,
    /// Set when this SP identity is published by an aggregator on behalf of the entity that
    /// `organization`, `sector` and `contact` describe (Avviso SPID n. 19 v4).
    #[serde(default)]
    pub aggregator: Option<Aggregator>,
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
        if let Some(ag) = &self.aggregator {
            self.validate_aggregator(ag)?;
        }
        Ok(())
    }

    fn validate_aggregator(&self, ag: &Aggregator) -> Result<(), ConfigError> {
        let bad = |field: &str, reason: String| {
            Err(ConfigError {
                field: field.to_owned(),
                reason,
            })
        };
        if ag.kind.is_public() != self.sector.is_public() {
            return bad(
                "aggregator.kind",
                format!(
                    "{} aggregates {} entities, but the sector is {}",
                    ag.kind,
                    if ag.kind.is_public() {
                        "public"
                    } else {
                        "private"
                    },
                    if self.sector.is_public() {
                        "public"
                    } else {
                        "private"
                    }
                ),
            );
        }
        if self.entity_id.contains('?') {
            return bad(
                "entity_id",
                "an aggregator's entityID must not have a query string".to_owned(),
            );
        }
        let code = ag.kind.activity_code();
        let path = self
            .entity_id
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(&self.entity_id);
        if !path.split('/').skip(1).any(|segment| segment == code) {
            return bad(
                "entity_id",
                format!(
                    "an aggregator's entityID must carry the activity code as a path segment (https://aggregator.example/{code}/<aggregated>)"
                ),
            );
        }
        if ag.company.trim().is_empty() {
            return bad("aggregator.company", "must not be empty".to_owned());
        }
        if ag.vat_number.is_none() && ag.fiscal_code.is_none() {
            return bad(
                "aggregator.vat_number",
                "an aggregator needs a VAT number or a fiscal code".to_owned(),
            );
        }
        check_email("aggregator.email", &ag.email)?;
        if let Some(t) = &ag.telephone {
            check_phone("aggregator.telephone", t)?;
        }
        match ag.validation_certificate_base64() {
            Some(b64) => {
                use base64::Engine as _;
                let der = base64::engine::general_purpose::STANDARD
                    .decode(b64.as_bytes())
                    .map_err(|e| e.to_string())
                    .and_then(|der| {
                        xmldsig::Certificate::from_der(&der)
                            .map(|_| ())
                            .map_err(|e| e.to_string())
                    });
                if let Err(e) = der {
                    return bad(
                        "aggregator.validation_certificate",
                        format!("not a PEM or base64 DER X.509 certificate: {e}"),
                    );
                }
            }
            None if ag.kind.is_light() => {
                return bad(
                    "aggregator.validation_certificate",
                    format!(
                        "{} requires the aggregator's validation certificate",
                        ag.kind
                    ),
                );
            }
            None => {}
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
            aggregator: None,
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

impl SpConfig {
    /// An example SP identity published by an aggregator of the given kind: the aggregated
    /// entity is [`example_public`](SpConfig::example_public)'s administration (public kinds)
    /// or [`example_private`](SpConfig::example_private)'s company (private kinds); the entityID
    /// is `<base_url>/<activity code>/<IPA code or VAT number>`, the endpoints stay under
    /// `<base_url>/spid/`. Light kinds also need
    /// [`Aggregator::validation_certificate`] before the configuration validates.
    pub fn example_aggregated(base_url: &str, kind: AggregatorKind) -> SpConfig {
        let mut c = if kind.is_public() {
            SpConfig::example_public(base_url)
        } else {
            SpConfig::example_private(base_url)
        };
        let aggregated = match &c.sector {
            Sector::Public { ipa_code, .. } => ipa_code.as_str().to_owned(),
            Sector::Private { vat_number, .. } => vat_number
                .as_ref()
                .map(|v| v.as_str().to_owned())
                .unwrap_or_default(),
        };
        c.entity_id = format!("{base_url}/{}/{aggregated}", kind.activity_code());
        c.aggregator = Some(Aggregator {
            kind,
            company: "Partner Tecnologico S.p.A.".into(),
            vat_number: "01234567897".parse().ok(),
            fiscal_code: None,
            ipa_code: None,
            email: "spid@partner-tecnologico.example".into(),
            telephone: Some("+390298765432".into()),
            validation_certificate: None,
        });
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
