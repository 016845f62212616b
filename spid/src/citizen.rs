//! A SPID login as the common [`pa_types::CitizenIdentity`] (shared with CIE and smart-card
//! logins, so that a portal handles "logged-in citizen" once).

use pa_types::{AssuranceLevel, CitizenIdentity, LoginMethod};

use crate::level::SpidLevel;
use crate::response::Authenticated;

/// A SPID login that cannot become a [`CitizenIdentity`]: the IdP released no `fiscalNumber`
/// (the SP did not request it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the SPID login from {idp} carries no fiscalNumber: request it to identify the citizen")]
pub struct NoFiscalNumber {
    /// The IdP entityID.
    pub idp: String,
}

impl From<SpidLevel> for AssuranceLevel {
    fn from(level: SpidLevel) -> Self {
        match level {
            SpidLevel::L1 => AssuranceLevel::L1,
            SpidLevel::L2 => AssuranceLevel::L2,
            SpidLevel::L3 => AssuranceLevel::L3,
        }
    }
}

impl TryFrom<&Authenticated> for CitizenIdentity {
    type Error = NoFiscalNumber;

    fn try_from(a: &Authenticated) -> Result<Self, NoFiscalNumber> {
        let Some(cf) = a.identity.fiscal_number.clone() else {
            return Err(NoFiscalNumber {
                idp: a.idp_entity_id.clone(),
            });
        };
        Ok(CitizenIdentity::new(
            cf,
            LoginMethod::Spid {
                level: a.level.into(),
            },
            a.idp_entity_id.clone(),
        )
        .with_names(a.identity.name.clone(), a.identity.family_name.clone()))
    }
}

impl TryFrom<Authenticated> for CitizenIdentity {
    type Error = NoFiscalNumber;

    fn try_from(a: Authenticated) -> Result<Self, NoFiscalNumber> {
        CitizenIdentity::try_from(&a)
    }
}

impl Authenticated {
    /// The login as the common [`CitizenIdentity`] (`CitizenIdentity::try_from(&auth)`).
    ///
    /// # Errors
    /// [`NoFiscalNumber`] when the IdP released no `fiscalNumber`.
    pub fn citizen_identity(&self) -> Result<CitizenIdentity, NoFiscalNumber> {
        CitizenIdentity::try_from(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_one_to_one() {
        assert_eq!(AssuranceLevel::from(SpidLevel::L1), AssuranceLevel::L1);
        assert_eq!(AssuranceLevel::from(SpidLevel::L2), AssuranceLevel::L2);
        assert_eq!(AssuranceLevel::from(SpidLevel::L3), AssuranceLevel::L3);
    }
}
