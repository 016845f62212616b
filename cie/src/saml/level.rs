//! CIE levels of assurance and the comparisons CieID accepts.

use std::fmt;

use serde::{Deserialize, Serialize};
use spid::{Comparison, SpidLevel};

use pa_types::AssuranceLevel;

/// A CIE level of assurance.
///
/// CieID asks for and asserts levels with the SPID class references
/// (`https://www.spid.gov.it/SpidL1` .. `SpidL3`): level 1 is username and password (or the CieID
/// app), level 2 adds a second factor, level 3 is the card itself read over NFC with its PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum CieLevel {
    /// Level 1 ("basso").
    #[serde(rename = "L1", alias = "1")]
    L1,
    /// Level 2 ("significativo").
    #[serde(rename = "L2", alias = "2")]
    L2,
    /// Level 3 ("alto"): the physical card.
    #[serde(rename = "L3", alias = "3")]
    L3,
}

impl CieLevel {
    /// The `AuthnContextClassRef` URI of the level.
    pub fn uri(self) -> &'static str {
        self.to_spid().uri()
    }

    /// Parses an `AuthnContextClassRef` URI (only the `https://www.spid.gov.it/SpidLn` form).
    pub fn from_uri(uri: &str) -> Option<CieLevel> {
        SpidLevel::from_uri(uri).map(CieLevel::from_spid)
    }

    /// The engine's level with the same class reference.
    pub fn to_spid(self) -> SpidLevel {
        match self {
            CieLevel::L1 => SpidLevel::L1,
            CieLevel::L2 => SpidLevel::L2,
            CieLevel::L3 => SpidLevel::L3,
        }
    }

    /// The CIE level with the same class reference as an engine level.
    pub fn from_spid(level: SpidLevel) -> CieLevel {
        match level {
            SpidLevel::L1 => CieLevel::L1,
            SpidLevel::L2 => CieLevel::L2,
            SpidLevel::L3 => CieLevel::L3,
        }
    }

    /// The level as the common [`AssuranceLevel`].
    pub fn assurance(self) -> AssuranceLevel {
        match self {
            CieLevel::L1 => AssuranceLevel::L1,
            CieLevel::L2 => AssuranceLevel::L2,
            CieLevel::L3 => AssuranceLevel::L3,
        }
    }
}

impl fmt::Display for CieLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = match self {
            CieLevel::L1 => 1,
            CieLevel::L2 => 2,
            CieLevel::L3 => 3,
        };
        write!(f, "CieL{n}")
    }
}

/// Whether CieID accepts a `Comparison` in `RequestedAuthnContext`: only `exact` and `minimum`.
pub fn comparison_allowed(c: Comparison) -> bool {
    matches!(c, Comparison::Exact | Comparison::Minimum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_map_to_spid_class_refs() {
        assert_eq!(CieLevel::L1.uri(), "https://www.spid.gov.it/SpidL1");
        assert_eq!(CieLevel::L3.uri(), "https://www.spid.gov.it/SpidL3");
        assert_eq!(
            CieLevel::from_uri("https://www.spid.gov.it/SpidL2"),
            Some(CieLevel::L2)
        );
        assert_eq!(
            CieLevel::from_uri("urn:oasis:names:tc:SAML:2.0:ac:classes:SpidL2"),
            None
        );
        assert_eq!(CieLevel::L3.assurance(), AssuranceLevel::L3);
        assert!(comparison_allowed(Comparison::Exact));
        assert!(comparison_allowed(Comparison::Minimum));
        assert!(!comparison_allowed(Comparison::Better));
        assert!(!comparison_allowed(Comparison::Maximum));
    }
}
