//! The bridge to `xmldsig`: enveloped signing of our messages and verification of the IdP's.

use xmldsig::{Element, Placement, SignOptions, TrustedKey, VerifyOptions};

use crate::cert::SpCredentials;
use crate::error::KeyError;
use crate::xml::NS_SAML;

/// Signs the element with ID `id` of `xml` (enveloped, exc-c14n, RSA-SHA256, SHA-256 digest,
/// certificate in `KeyInfo`). `after_issuer` puts the signature right after `saml:Issuer`
/// (SAML protocol messages); otherwise it is the first child (metadata).
pub(crate) fn sign_enveloped(
    xml: &str,
    id: &str,
    after_issuer: Option<&str>,
    creds: &SpCredentials,
) -> Result<String, KeyError> {
    let placement = if after_issuer.is_some() {
        Placement::after(NS_SAML, "Issuer")
    } else {
        Placement::FirstChild
    };
    let opts = SignOptions::new(id, creds.signing_key())
        .certificate(creds.certificate())
        .placement(placement);
    let signed = xmldsig::sign_enveloped(xml.as_bytes(), &opts)
        .map_err(|e| KeyError::Sign(e.to_string()))?;
    String::from_utf8(signed).map_err(|e| KeyError::Sign(e.to_string()))
}

/// Verifies the single `ds:Signature` child of `element` with the trusted keys and returns the
/// handle to the element the signature covers (checked to be `element` itself).
pub(crate) fn verify_element<'d>(
    element: Element<'d>,
    trusted: &[TrustedKey],
) -> Result<Element<'d>, String> {
    let opts = VerifyOptions::default();
    let verified = xmldsig::verify_element(element, trusted, &opts).map_err(|e| e.to_string())?;
    Ok(verified.element())
}
