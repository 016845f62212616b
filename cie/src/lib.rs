//! "Entra con CIE".
//!
//! This crate covers the CieID SAML profile on the `spid` engine (CIE metadata, CieID IdP
//! endpoints, levels, attributes) and, in [`cns`], login with the authentication certificate of a
//! CNS / TS-CNS or CIE card presented in TLS client authentication ("Entra con CNS").
//!
//! Every login method ends in the same [`CitizenIdentity`] (from `pa-types`): a CIE SAML login
//! through `From<CieAuthenticated>`, a SPID one through `TryFrom<&spid::Authenticated>` (in
//! `spid`), a card through `From<cns::CardIdentity>`.
//!
//! # "Entra con CIE" (CieID SAML)
//!
//! [`CieServiceProvider`] runs the `spid` engine with [`spid::Profile::Cie`]: the SPID checks
//! (signatures read through the verified handle, wrapping, replay, session binding, times,
//! audience, levels) plus the CIE rules from cie-eid-saml-docs:
//!
//! * metadata with the `cie:` extensions (namespace [`NS_CIE`]) in an `administrative`
//!   contact (`Public` + `IPACode`, or `Private` + `VATNumber`, `FiscalCode`, `NACE2Code`;
//!   `Municipality` as ISTAT code, `Province`, `Country`) and optionally a `technical` contact
//!   for a technology partner, signed, valid against `saml-schema-metadata-sp-cie.xsd`, at
//!   least one HTTP-Redirect `SingleLogoutService`, the four CIE attributes only;
//! * requests with `ForceAuthn="true"` at every level and `Comparison` `exact` or `minimum`,
//!   levels L1–L3 as the SPID class references ([`CieLevel`]);
//! * responses whose assertion `Issuer` may omit `Format` (a present one must be the entity
//!   format), typed into [`CieIdentity`] with the fiscal code as
//!   [`CodiceFiscale`](pa_types::CodiceFiscale) (a login without `fiscalNumber` is refused);
//! * the CieID IdP's published entity IDs, endpoints and metadata addresses
//!   ([`CieIdpEnvironment`]), with a loader that accepts only that environment's metadata.
//!
//! ```
//! use cie::{CieIdpEnvironment, CieServiceProvider, CieSpConfig, CieTestIdp, CieTestUser};
//! use spid::{AuthnOptions, AuthnRequestMessage};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let config = CieSpConfig::example_public("https://servizi.comune.esempio.it");
//! # let key = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cie/keys/sp.key")).unwrap();
//! # let cert = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cie/keys/sp.crt")).unwrap();
//! // The SP key and Avviso-29 certificate (`spid::generate_sp_certificate` makes one).
//! let credentials = spid::SpCredentials::from_pem(&key, &cert)?;
//! let mut sp = CieServiceProvider::new(config, credentials)?;
//!
//! // Trust CieID: here a test IdP posing as pre-production; in a real deployment the document
//! // downloaded from `CieIdpEnvironment::PreProduction.metadata_url()`.
//! let env = CieIdpEnvironment::PreProduction;
//! # let idp_creds = spid::SpCredentials::from_pem(
//! #     &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cie/keys/idp.key")).unwrap(),
//! #     &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/cie/keys/idp.crt")).unwrap())?;
//! let idp = CieTestIdp::posing_as(env, idp_creds);
//! sp.add_idp(env.parse_metadata(idp.metadata_xml()?.as_bytes())?)?;
//!
//! // Publish the metadata, e.g. at /spid/metadata.
//! let metadata = sp.metadata()?;
//! assert!(metadata.contains("<cie:IPACode>"));
//!
//! // Login: redirect the browser to the signed AuthnRequest.
//! let AuthnRequestMessage::Redirect { url, .. } =
//!     sp.authn_request(AuthnOptions::new(env.entity_id(), "session-cookie")).await?
//! else { unreachable!() };
//!
//! // ... CieID authenticates the citizen and posts SAMLResponse to the ACS ...
//! let req = idp.read_redirect(url.split_once('?').unwrap().1)?;
//! let acs = "https://servizi.comune.esempio.it/spid/acs";
//! let response = idp.saml_response(&idp.template(&req, acs, &CieTestUser::example(), chrono::Utc::now()))?;
//!
//! let login = sp.process_response(&response, "session-cookie").await?;
//! assert_eq!(login.identity.fiscal_code.as_str(), "RSSMRA85T10A562S");
//! let citizen = cie::CitizenIdentity::from(login);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```
//!
//! Security notes: the IdP keys come from its metadata only (`KeyInfo` in a response is never
//! trusted); prefer [`CieIdpEnvironment::parse_metadata_verified`] when the metadata signer's
//! certificate is known; the pending-request and consumed-assertion stores must be shared by
//! every instance behind a load balancer ([`CieServiceProvider::with_stores`]). CieID answers
//! no SAML logout: end the local session yourself.

pub mod cns;
mod saml;

pub use pa_types::{AssuranceLevel, CitizenIdentity, LoginMethod};
pub use saml::config::{
    CieAttribute, CieAttributeService, CieContact, CieLocation, CieSector, CieSpConfig,
    CieTechnicalContact,
};
pub use saml::error::{CieConfigError, CieError};
#[cfg(feature = "idp-fetch")]
pub use saml::fetch::CieMetadataFetcher;
pub use saml::identity::{CieAuthenticated, CieIdentity};
pub use saml::idp::CieIdpEnvironment;
pub use saml::level::{CieLevel, comparison_allowed};
pub use saml::metadata::NS_CIE;
pub use saml::sp::CieServiceProvider;
#[cfg(feature = "test-idp")]
pub use saml::test_idp::{CieTestIdp, CieTestUser};
