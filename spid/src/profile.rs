//! SAML profiles that run on this engine: SPID itself and "Entra con CIE" (CieID), whose rules
//! differ in a few places. The `cie` crate builds on [`Profile::Cie`].

use serde::{Deserialize, Serialize};

use crate::level::SpidLevel;

/// Which rule set a [`ServiceProvider`](crate::ServiceProvider) applies where SPID and CIE differ.
///
/// The default is [`Profile::Spid`]; everything not listed here is the same in both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Profile {
    /// SPID: `ForceAuthn="true"` above level 1; the assertion's `Issuer` must carry
    /// `Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity"`.
    #[default]
    Spid,
    /// "Entra con CIE" (cie-eid-saml-docs): `ForceAuthn="true"` at every level; the assertion's
    /// `Issuer` may omit `Format` (when present it must still be the entity format; an empty
    /// value is refused).
    Cie,
}

impl Profile {
    /// Whether an AuthnRequest at `level` carries `ForceAuthn="true"`.
    pub fn force_authn(self, level: SpidLevel) -> bool {
        match self {
            Profile::Spid => level > SpidLevel::L1,
            Profile::Cie => true,
        }
    }

    /// Whether the assertion's `Issuer` must carry the `Format` attribute.
    pub fn assertion_issuer_format_required(self) -> bool {
        match self {
            Profile::Spid => true,
            Profile::Cie => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_per_profile() {
        assert!(!Profile::Spid.force_authn(SpidLevel::L1));
        assert!(Profile::Spid.force_authn(SpidLevel::L2));
        assert!(Profile::Cie.force_authn(SpidLevel::L1));
        assert!(Profile::Spid.assertion_issuer_format_required());
        assert!(!Profile::Cie.assertion_issuer_format_required());
        assert_eq!(Profile::default(), Profile::Spid);
    }
}
