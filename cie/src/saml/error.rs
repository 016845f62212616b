//! Errors of the CIE SAML profile.

/// A CIE configuration rule is broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CIE configuration, {field}: {reason}")]
pub struct CieConfigError {
    /// The field at fault (dotted path).
    pub field: String,
    /// What is wrong.
    pub reason: String,
}

/// Why a CIE login step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CieError {
    /// The configuration breaks a CIE rule.
    #[error(transparent)]
    Config(#[from] CieConfigError),
    /// The SAML engine refused (request building, response checks, keys, stores).
    #[error(transparent)]
    Engine(#[from] spid::Error),
    /// The requested comparison is not one CieID accepts.
    #[error("Comparison {0} is not accepted by CieID (only exact or minimum)")]
    Comparison(spid::Comparison),
    /// The IdP metadata is not the CieID one expected.
    #[error("CieID metadata: {0}")]
    IdpMetadata(String),
    /// A successful response lacks an attribute the CIE identity needs.
    #[error("the CieID response has no {0} attribute")]
    MissingAttribute(&'static str),
    /// Signing the metadata failed.
    #[error("signing the CIE metadata: {0}")]
    Sign(String),
}

impl CieError {
    /// The SPID/CIE anomaly code of an IdP error response (`ErrorCode nrNN`), if this is one.
    pub fn error_code(&self) -> Option<&spid::SpidErrorCode> {
        match self {
            CieError::Engine(spid::Error::Response(e)) => e.spid_error_code(),
            _ => None,
        }
    }
}
