//! "Entra con CIE": the CieID SAML 2.0 profile on the `spid` engine.

pub(crate) mod config;
pub(crate) mod error;
#[cfg(feature = "idp-fetch")]
pub(crate) mod fetch;
pub(crate) mod identity;
pub(crate) mod idp;
pub(crate) mod level;
pub(crate) mod metadata;
pub(crate) mod sp;
#[cfg(feature = "test-idp")]
pub(crate) mod test_idp;
