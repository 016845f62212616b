//! Signing flows and verifying the treasurer's messages, with `xmldsig`.
//!
//! A flow is signed with an enveloped XML-DSig signature as the last child of the root
//! (`Reference URI="#Id"` on the root's `Id`, exclusive C14N, SHA-256), carrying the ente's
//! certificate in `KeyInfo`. Verification accepts exclusive or inclusive C14N (Java peers
//! sign with inclusive C14N) and `Reference URI="#Id"` on the root or `URI=""` (the whole
//! document, as Java's XMLENVELOPED signers write), refuses SHA-1, and requires the signature to
//! cover the whole document: the signed element must be the root, so parsing the same bytes
//! afterwards reads exactly what was signed.

use std::path::Path;

use xmldsig::{
    Certificate, Document, ParseOptions, Placement, SignOptions, SigningKey, TrustedKey,
    VerifyOptions,
};

use crate::cert::ClientIdentity;
use crate::error::{Error, SignatureError};
use crate::messages::{Messaggio, parse_message};

/// Largest document signed or verified (flows of tens of thousands of orders fit).
pub const MAX_SIGNED_DOCUMENT: usize = 512 * 1024 * 1024;

fn xd(e: impl std::fmt::Display) -> SignatureError {
    SignatureError::Xmldsig(e.to_string())
}

fn parse_options() -> ParseOptions {
    ParseOptions::default()
        .with_id_attributes(["Id"])
        .with_max_size(MAX_SIGNED_DOCUMENT)
        .with_max_elements(100_000_000)
}

/// The ente's signing key and certificate.
pub struct FlowSigner {
    key: SigningKey,
    cert: Certificate,
}

impl std::fmt::Debug for FlowSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlowSigner")
            .field("certificate", &self.cert.subject())
            .field("key", &"[redacted]")
            .finish()
    }
}

impl FlowSigner {
    /// From the ente's identity (the same certificate used on the A2A channel, or another).
    ///
    /// # Errors
    /// [`SignatureError::Xmldsig`] when the key or certificate cannot be used.
    pub fn from_identity(id: &ClientIdentity) -> Result<Self, Error> {
        let key = SigningKey::from_der(id.private_key().secret_der()).map_err(xd)?;
        let cert = Certificate::from_der(id.certificate()).map_err(xd)?;
        if !key.matches(&cert) {
            return Err(xd("the private key does not match the certificate").into());
        }
        Ok(FlowSigner { key, cert })
    }

    /// From a PEM or PKCS#12 file.
    ///
    /// # Errors
    /// As [`ClientIdentity::load`] and [`FlowSigner::from_identity`].
    pub fn load(path: &Path, password: Option<&str>) -> Result<Self, Error> {
        Self::from_identity(&ClientIdentity::load(path, password)?)
    }

    /// The signing certificate.
    #[must_use]
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }
}

/// Signs a flow (as written by [`crate::FlowWriter`] with an `Id` on the root) and returns
/// it with the `ds:Signature` appended as the root's last child.
///
/// # Errors
/// [`SignatureError::Xmldsig`] when the root has no `Id`, is already signed, or the key
/// cannot sign.
pub fn sign_flow(xml: &[u8], signer: &FlowSigner) -> Result<Vec<u8>, Error> {
    let doc = Document::parse_with(xml, &parse_options()).map_err(xd)?;
    let root = doc.root();
    let id = root.attr("Id").ok_or_else(|| {
        xd("the root element has no Id attribute to reference (set WriterOptions::id)")
    })?;
    let opts = SignOptions::new(id, &signer.key)
        .certificate(&signer.cert)
        .placement(Placement::LastChild)
        .id_attributes(["Id"]);
    let mut opts = opts;
    opts.parse = parse_options();
    Ok(xmldsig::sign_enveloped(xml, &opts).map_err(xd)?)
}

/// Trusted keys from PEM certificates (the treasurer's, or the ente's for its own flows).
///
/// # Errors
/// [`SignatureError::Xmldsig`] when the PEM holds no usable certificate.
pub fn trusted_keys_from_pem(pem: &[u8]) -> Result<Vec<TrustedKey>, Error> {
    let certs = Certificate::chain_from_pem(pem).map_err(xd)?;
    if certs.is_empty() {
        return Err(xd("no certificate in PEM").into());
    }
    Ok(certs
        .into_iter()
        .map(TrustedKey::from_certificate)
        .collect())
}

fn verify_root(xml: &[u8], trusted: &[TrustedKey]) -> Result<(), Error> {
    let doc = Document::parse_with(xml, &parse_options()).map_err(xd)?;
    // `URI=""` is accepted for a signature that is a child of the root; either way the check
    // below requires the signed element to be the root.
    let opts = VerifyOptions::default()
        .allow_inclusive_c14n()
        .allow_whole_document_reference();
    let v = xmldsig::verify(&doc, trusted, &opts).map_err(|e| match e {
        xmldsig::VerifyError::NoSignature(_) => SignatureError::Missing,
        e => xd(e),
    })?;
    if v.element() != doc.root() {
        return Err(xd(format!(
            "the signature covers <{}>, not the whole document",
            v.element().local_name()
        ))
        .into());
    }
    Ok(())
}

/// Verifies the signature of a flow with the given trusted keys.
///
/// # Errors
/// [`SignatureError::Missing`] when unsigned, [`SignatureError::Xmldsig`] saying which rule
/// failed (wrong key, altered content, SHA-1, partial coverage...).
pub fn verify_flow(xml: &[u8], trusted: &[TrustedKey]) -> Result<(), Error> {
    verify_root(xml, trusted)
}

/// Verifies a signed message from the treasurer, then parses it. The signature must cover
/// the root (`Reference URI="#Id"` on the root, or `URI=""`), so every value returned was
/// signed.
///
/// # Errors
/// [`Error::Signature`] as [`verify_flow`], then [`Error::Parse`].
pub fn verify_message(xml: &[u8], trusted: &[TrustedKey]) -> Result<Messaggio, Error> {
    verify_root(xml, trusted)?;
    parse_message(xml)
}

/// Signs any document whose root has an `Id` (e.g. an esito applicativo in the simulator).
///
/// # Errors
/// As [`sign_flow`].
pub fn sign_document(xml: &[u8], signer: &FlowSigner) -> Result<Vec<u8>, Error> {
    sign_flow(xml, signer)
}
