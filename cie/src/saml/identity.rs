//! The typed CIE identity and its conversion into the common [`CitizenIdentity`] (the SPID
//! conversion lives in `spid`, the smart-card one in [`cns`](crate::cns)).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use pa_types::CodiceFiscale;
use serde::Serialize;

use super::config::CieAttribute;
use super::error::CieError;
use super::level::CieLevel;
use pa_types::{CitizenIdentity, LoginMethod};

/// The identity CieID released, typed.
///
/// The fiscal code is always there (a CieID login without `fiscalNumber` is refused); the other
/// CIE attributes are `None` when the SP did not request them. Attributes outside the CIE set
/// (no IdP should send them) are kept as text in [`other`](CieIdentity::other).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CieIdentity {
    /// `fiscalNumber`, without its `TINIT-` prefix.
    pub fiscal_code: CodiceFiscale,
    /// `name`.
    pub name: Option<String>,
    /// `familyName`.
    pub family_name: Option<String>,
    /// `dateOfBirth`.
    pub date_of_birth: Option<NaiveDate>,
    /// Attributes outside the CIE set, by name, as text.
    pub other: BTreeMap<String, String>,
}

impl CieIdentity {
    /// Builds the CIE identity from what the engine typed.
    ///
    /// # Errors
    /// [`CieError::MissingAttribute`] when `fiscalNumber` was not released.
    pub fn from_spid_identity(identity: &spid::SpidIdentity) -> Result<Self, CieError> {
        let fiscal_code = identity
            .fiscal_number
            .clone()
            .ok_or(CieError::MissingAttribute("fiscalNumber"))?;
        let mut other = BTreeMap::new();
        for (name, value) in identity.released() {
            if CieAttribute::from_name(&name).is_none() {
                other.insert(name, value);
            }
        }
        Ok(CieIdentity {
            fiscal_code,
            name: identity.name.clone(),
            family_name: identity.family_name.clone(),
            date_of_birth: identity.date_of_birth,
            other,
        })
    }
}

/// A successful "Entra con CIE" login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CieAuthenticated {
    /// The typed identity.
    pub identity: CieIdentity,
    /// The level CieID asserted.
    pub level: CieLevel,
    /// The IdP entityID.
    pub idp_entity_id: String,
    /// `AuthnStatement/@SessionIndex`, when sent.
    pub session_index: Option<String>,
    /// The transient `NameID`.
    pub name_id: String,
    /// `NameID/@NameQualifier`.
    pub name_id_qualifier: String,
    /// The assertion `ID` (recorded against replay).
    pub assertion_id: String,
    /// The request `ID` this response answered.
    pub request_id: String,
    /// The RelayState sent with the request.
    pub relay_state: Option<String>,
    /// `SubjectConfirmationData/@NotOnOrAfter`.
    pub not_on_or_after: DateTime<Utc>,
}

impl TryFrom<spid::Authenticated> for CieAuthenticated {
    type Error = CieError;

    fn try_from(a: spid::Authenticated) -> Result<Self, CieError> {
        Ok(CieAuthenticated {
            identity: CieIdentity::from_spid_identity(&a.identity)?,
            level: CieLevel::from_spid(a.level),
            idp_entity_id: a.idp_entity_id,
            session_index: a.session_index,
            name_id: a.name_id,
            name_id_qualifier: a.name_id_qualifier,
            assertion_id: a.assertion_id,
            request_id: a.request_id,
            relay_state: a.relay_state,
            not_on_or_after: a.not_on_or_after,
        })
    }
}

impl From<CieAuthenticated> for CitizenIdentity {
    fn from(a: CieAuthenticated) -> Self {
        CitizenIdentity::new(
            a.identity.fiscal_code,
            LoginMethod::CieId {
                level: a.level.assurance(),
            },
            a.idp_entity_id,
        )
        .with_names(a.identity.name, a.identity.family_name)
    }
}

impl From<&CieAuthenticated> for CitizenIdentity {
    fn from(a: &CieAuthenticated) -> Self {
        CitizenIdentity::from(a.clone())
    }
}
