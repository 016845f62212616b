//! Smart-card login: the authentication certificate of a CNS / TS-CNS or CIE presented in TLS
//! client authentication ("Entra con CNS").
//!
//! CAD art. 64 lists SPID, CIE and CNS as the ways into public online services. With a CNS (the
//! regional health card TS-CNS is one) or a CIE in a reader, the browser presents the card's
//! authentication certificate during the TLS handshake; the portal reads the citizen's fiscal code
//! from it.
//!
//! * [`CardIdentity`] reads the identity from a certificate. The fiscal code is taken from the forms
//!   the profiles define: `serialNumber` `TINIT-<CF>` (ETSI EN 319 412-1 semantics identifier, newer
//!   profiles), `serialNumber` `IT:<CF>` (older Italian form), `commonName`
//!   `<CF>/<card id>.<hash>` (CNS authentication certificate profile) or a `commonName` that is the
//!   fiscal code alone (CIE). When several are present they must agree; a certificate with none is
//!   refused. The profile ([`CardProfile`]) comes from the certificate policies ([`POLICY_CNS`],
//!   [`POLICY_CIE`]).
//! * [`CardVerifier`] verifies before trusting: chain to the configured [`IssuerList`] (an input
//!   file: a PEM bundle, or the ETSI trusted list `TSL-IT.xml`, its signature verified with the
//!   pinned operator certificate, filtered on [`SERVICE_TYPE_IDV`] and the services' status;
//!   nothing is fetched at run time), validity at an injectable [`Clock`]'s now, key usage
//!   `digitalSignature` and extended key usage `clientAuth`, policy, and revocation through a
//!   pluggable [`RevocationChecker`] ([`CrlChecker`] reads CRL files; with the `crl-fetch`
//!   feature, `CrlFetcher` downloads the CRL named in the certificate and caches it; with the
//!   `ocsp` feature, `OcspChecker` asks the certificate's OCSP responder; [`FirstDecisive`]
//!   combines them, e.g. OCSP then CRL).
//! * [`CitizenIdentity`] is the common identity every login method converts into
//!   (`From<CardIdentity>`), with the [`LoginMethod`].
//! * With the `axum` feature, `cns::axum` has a rustls server configuration that *requests* (does
//!   not require) a client certificate, a TLS listener that hands the presented certificates to
//!   the application, and the `CardLogin` extractor that verifies them and answers with an error
//!   page when no card or a bad card is presented.
//!
//! ```
//! use cie::cns::{CardVerifier, CrlChecker, IssuerList};
//!
//! # async fn run(issuers_pem: &[u8], crl_pem: &[u8], card_der: &[u8]) -> Result<(), cie::cns::Error> {
//! let issuers = IssuerList::from_pem(issuers_pem)?;
//! let verifier = CardVerifier::new(issuers, CrlChecker::from_pem(crl_pem)?);
//! let card = verifier.verify(card_der, &[]).await?;
//! println!("{} ({})", card.fiscal_code, card.profile);
//! # Ok(()) }
//! ```
//!
//! # Security notes
//! * The TLS layer proves that the client holds the certificate's private key (the handshake
//!   signature is verified by rustls); *trust* in the certificate is decided by [`CardVerifier`] in
//!   the application, so that a bad card gets a readable error page instead of a handshake failure.
//!   A handler that does not use the extractor is therefore not authenticated.
//! * Only the card certificate's revocation is checked; intermediates sent by the client are
//!   checked for signature, CA flag, path length and validity.
//! * SHA-1 signatures are refused; RSA keys need at least 2048 bits.
//! * The unsigned outer encoding of a certificate must be DER and its `signatureAlgorithm` must be
//!   the signed one; only extensions the verifier enforces may be critical (name and policy
//!   constraints are refused rather than ignored).
//! * Revocation fails closed: no current, authentic CRL for the issuer, or no verified OCSP
//!   `good` / `revoked` answer, means an error (`OcspChecker::soft_fail` relaxes the latter).

mod cert;
mod error;
mod identity;
mod revocation;
mod trust;
mod verify;

#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "crl-fetch")]
mod fetch;
#[cfg(feature = "crl-fetch")]
pub use fetch::CrlFetcher;
#[cfg(feature = "ocsp")]
mod ocsp;
#[cfg(feature = "ocsp")]
pub use ocsp::OcspChecker;

pub use error::{
    CertRole, CertificateError, Error, FiscalCodeSource, IdentityError, IssuerListError,
    RevocationError, VerifyError,
};
pub use identity::{CardIdentity, CardProfile, POLICY_CIE, POLICY_CNS};
/// The common identity types live in `pa-types`, shared with SPID and CIE SAML logins.
pub use pa_types::{AssuranceLevel, CitizenIdentity, LoginMethod};
pub use revocation::{
    CrlChecker, FirstDecisive, InsecureNoRevocationCheck, RevocationChecker, RevocationQuery,
    RevocationReason, RevocationStatus,
};
pub use trust::{IssuerList, SERVICE_TYPE_CA_QC, SERVICE_TYPE_IDV, TSL_NS, TrustedListOptions};
pub use verify::{CardVerifier, Clock, FixedClock, SystemClock};
