//! SPID authentication levels and the `Comparison` of `RequestedAuthnContext`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A SPID level of assurance (`https://www.spid.gov.it/SpidL1` .. `SpidL3`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SpidLevel {
    /// Level 1: single factor.
    #[serde(rename = "L1", alias = "1", alias = "SpidL1")]
    L1,
    /// Level 2: two factors.
    #[serde(rename = "L2", alias = "2", alias = "SpidL2")]
    L2,
    /// Level 3: two factors, one of them a hardware token.
    #[serde(rename = "L3", alias = "3", alias = "SpidL3")]
    L3,
}

impl SpidLevel {
    /// The `AuthnContextClassRef` URI of the level.
    pub fn uri(self) -> &'static str {
        match self {
            SpidLevel::L1 => "https://www.spid.gov.it/SpidL1",
            SpidLevel::L2 => "https://www.spid.gov.it/SpidL2",
            SpidLevel::L3 => "https://www.spid.gov.it/SpidL3",
        }
    }

    /// Parses an `AuthnContextClassRef` URI. Only the current `https://www.spid.gov.it/SpidLn`
    /// form is accepted: the old `urn:oasis:names:tc:SAML:2.0:ac:classes:SpidLn` is refused.
    pub fn from_uri(uri: &str) -> Option<SpidLevel> {
        match uri {
            "https://www.spid.gov.it/SpidL1" => Some(SpidLevel::L1),
            "https://www.spid.gov.it/SpidL2" => Some(SpidLevel::L2),
            "https://www.spid.gov.it/SpidL3" => Some(SpidLevel::L3),
            _ => None,
        }
    }

    /// Level number (1, 2 or 3).
    pub fn number(self) -> u8 {
        match self {
            SpidLevel::L1 => 1,
            SpidLevel::L2 => 2,
            SpidLevel::L3 => 3,
        }
    }
}

impl fmt::Display for SpidLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpidL{}", self.number())
    }
}

/// The `Comparison` attribute of `RequestedAuthnContext`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Comparison {
    /// The returned level must equal the requested one.
    Exact,
    /// The returned level must be at least the requested one (the SPID default).
    #[default]
    Minimum,
    /// The returned level must be above the requested one.
    Better,
    /// The returned level must be at most the requested one.
    Maximum,
}

impl Comparison {
    /// The attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::Exact => "exact",
            Comparison::Minimum => "minimum",
            Comparison::Better => "better",
            Comparison::Maximum => "maximum",
        }
    }

    /// Whether `returned` satisfies a request for `requested` under this comparison.
    pub fn accepts(self, requested: SpidLevel, returned: SpidLevel) -> bool {
        match self {
            Comparison::Exact => returned == requested,
            Comparison::Minimum => returned >= requested,
            Comparison::Better => returned > requested,
            Comparison::Maximum => returned <= requested,
        }
    }
}

impl FromStr for Comparison {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "exact" => Ok(Comparison::Exact),
            "minimum" => Ok(Comparison::Minimum),
            "better" => Ok(Comparison::Better),
            "maximum" => Ok(Comparison::Maximum),
            _ => Err(()),
        }
    }
}

impl fmt::Display for Comparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_class_refs_are_refused() {
        assert_eq!(
            SpidLevel::from_uri("urn:oasis:names:tc:SAML:2.0:ac:classes:SpidL1"),
            None
        );
        assert_eq!(
            SpidLevel::from_uri("https://www.spid.gov.it/SpidL2"),
            Some(SpidLevel::L2)
        );
    }

    #[test]
    fn comparison_rules() {
        use SpidLevel::*;
        assert!(Comparison::Minimum.accepts(L2, L3));
        assert!(!Comparison::Minimum.accepts(L2, L1));
        assert!(Comparison::Exact.accepts(L2, L2));
        assert!(!Comparison::Exact.accepts(L2, L3));
        assert!(!Comparison::Better.accepts(L2, L2));
        assert!(Comparison::Better.accepts(L2, L3));
        assert!(Comparison::Maximum.accepts(L2, L1));
        assert!(!Comparison::Maximum.accepts(L2, L3));
    }
}
