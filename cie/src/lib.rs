//! "Entra con CIE".
//!
//! This crate covers the CieID SAML profile on the `spid` engine (CIE metadata, CieID IdP
//! endpoints, levels, attributes) and, in [`cns`], login with the authentication certificate of a
//! CNS / TS-CNS or CIE card presented in TLS client authentication ("Entra con CNS").

pub mod cns;
