//! "Entra con CIE".
//!
//! This crate covers the CieID SAML profile on the `spid` engine (CIE metadata, CieID IdP
//! endpoints, levels, attributes) and, in [`cns`], login with the authentication certificate of a
//! CNS / TS-CNS or CIE card presented in TLS client authentication ("Entra con CNS").

pub mod cns;
mod saml;

pub use pa_types::{AssuranceLevel, CitizenIdentity, LoginMethod};
pub use saml::config::{
    CieAttribute, CieAttributeService, CieContact, CieLocation, CieSector, CieSpConfig,
    CieTechnicalContact,
};
pub use saml::error::{CieConfigError, CieError};
pub use saml::identity::{CieAuthenticated, CieIdentity};
pub use saml::idp::CieIdpEnvironment;
pub use saml::level::{CieLevel, comparison_allowed};
pub use saml::metadata::NS_CIE;
pub use saml::sp::CieServiceProvider;
#[cfg(feature = "test-idp")]
pub use saml::test_idp::{CieTestIdp, CieTestUser};
