//! The citizen's identity after a login, whatever the method (SPID, CIE, smart card).

use crate::CodiceFiscale;

/// SPID / CIE assurance level (LoA).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[non_exhaustive]
pub enum AssuranceLevel {
    /// SpidL1 / CieL1.
    L1,
    /// SpidL2 / CieL2.
    L2,
    /// SpidL3 / CieL3.
    L3,
}

/// How a citizen logged in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum LoginMethod {
    /// SPID (SAML), with the level asserted by the identity provider.
    Spid {
        /// Asserted level.
        level: AssuranceLevel,
    },
    /// "Entra con CIE" (CieID SAML), with the asserted level.
    CieId {
        /// Asserted level.
        level: AssuranceLevel,
    },
    /// CNS or TS-CNS authentication certificate in TLS client authentication.
    Cns,
    /// CIE authentication certificate in TLS client authentication.
    CieCard,
    /// A "CNS-like" authentication certificate accepted on purpose (neither CNS nor CIE policy).
    OtherCard,
}

/// The citizen's identity after a login, whatever the method: the type SPID, CIE SAML and
/// smart-card logins all convert into, so that the rest of a portal handles one shape.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct CitizenIdentity {
    /// The citizen's fiscal code (the key every PA back office uses).
    pub fiscal_code: CodiceFiscale,
    /// Given name, when the method provides it.
    pub given_name: Option<String>,
    /// Family name, when the method provides it.
    pub family_name: Option<String>,
    /// How the citizen logged in.
    pub method: LoginMethod,
    /// Who vouched for the identity: the IdP entityID for SAML, the issuer CA name for cards.
    pub issuer: String,
}

impl CitizenIdentity {
    /// A new identity with no names.
    pub fn new(fiscal_code: CodiceFiscale, method: LoginMethod, issuer: impl Into<String>) -> Self {
        CitizenIdentity {
            fiscal_code,
            given_name: None,
            family_name: None,
            method,
            issuer: issuer.into(),
        }
    }

    /// Sets the names.
    #[must_use]
    pub fn with_names(mut self, given_name: Option<String>, family_name: Option<String>) -> Self {
        self.given_name = given_name;
        self.family_name = family_name;
        self
    }
}
