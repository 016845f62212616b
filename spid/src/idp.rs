//! IdP metadata: entityID, endpoints by binding, signing keys, `validUntil`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use xmldsig::{Document, Element};

use crate::config::Binding;
use crate::error::MetadataError;
use crate::xml::{NS_DS, NS_MD, parse_instant};

/// An endpoint of an IdP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Binding.
    pub binding: Binding,
    /// `Location`.
    pub location: String,
}

/// What the SP needs to know about one IdP, read from its metadata.
#[derive(Debug, Clone)]
pub struct IdpMetadata {
    /// The IdP entityID.
    pub entity_id: String,
    /// `SingleSignOnService` endpoints (HTTP-POST and HTTP-Redirect only).
    pub sso: Vec<Endpoint>,
    /// `SingleLogoutService` endpoints (HTTP-POST and HTTP-Redirect only).
    pub slo: Vec<Endpoint>,
    /// The signing certificates (DER) from `KeyDescriptor use="signing"` (or without `use`).
    pub signing_certificates: Vec<Vec<u8>>,
    /// `validUntil` of the descriptor, when present.
    pub valid_until: Option<DateTime<Utc>>,
}

impl IdpMetadata {
    /// The SSO location for a binding.
    pub fn sso_location(&self, binding: Binding) -> Option<&str> {
        self.sso
            .iter()
            .find(|e| e.binding == binding)
            .map(|e| e.location.as_str())
    }

    /// Parses metadata holding one IdP `EntityDescriptor` (or an `EntitiesDescriptor`, of which
    /// the first IdP is taken; use [`parse_all`](IdpMetadata::parse_all) for every one).
    ///
    /// # Errors
    /// [`MetadataError`] when the XML is malformed, has no IdP, an IdP has no usable signing
    /// certificate, or `validUntil` is malformed or past.
    pub fn parse(xml: &[u8]) -> Result<IdpMetadata, MetadataError> {
        IdpMetadata::parse_all(xml)?
            .into_iter()
            .next()
            .ok_or(MetadataError::NoIdp)
    }

    /// Parses every IdP `EntityDescriptor` of the document.
    ///
    /// # Errors
    /// As [`parse`](IdpMetadata::parse).
    pub fn parse_all(xml: &[u8]) -> Result<Vec<IdpMetadata>, MetadataError> {
        let doc = Document::parse(xml)?;
        entities(doc.root())
    }

    /// Like [`parse_all`](IdpMetadata::parse_all), for metadata that must carry a valid
    /// enveloped signature on its root element by the federation's signing certificate
    /// (`signer_der`, DER). Only the element the signature covers is read.
    ///
    /// # Errors
    /// [`MetadataError::Signature`] when the root is not signed by `signer_der`, and every
    /// error of [`parse_all`](IdpMetadata::parse_all).
    pub fn parse_all_verified(
        xml: &[u8],
        signer_der: &[u8],
    ) -> Result<Vec<IdpMetadata>, MetadataError> {
        let doc = Document::parse(xml)?;
        let cert = xmldsig::Certificate::from_der(signer_der)
            .map_err(|e| MetadataError::Signature(format!("signer certificate: {e}")))?;
        let trusted = [xmldsig::TrustedKey::from_certificate(cert)];
        let verified =
            xmldsig::verify_element(doc.root(), &trusted, &xmldsig::VerifyOptions::default())
                .map_err(|e| MetadataError::Signature(e.to_string()))?;
        entities(verified.element())
    }
}

fn entities(root: Element<'_>) -> Result<Vec<IdpMetadata>, MetadataError> {
    {
        let now = Utc::now();
        let mut out = Vec::new();
        let parent_valid = valid_until(&root)?;
        if root.is(NS_MD, "EntityDescriptor") {
            if let Some(idp) = entity(&root, parent_valid, now)? {
                out.push(idp);
            }
        } else if root.is(NS_MD, "EntitiesDescriptor") {
            for e in root
                .descendants()
                .filter(|e| e.is(NS_MD, "EntityDescriptor"))
            {
                if let Some(idp) = entity(&e, parent_valid, now)? {
                    out.push(idp);
                }
            }
        }
        if out.is_empty() {
            return Err(MetadataError::NoIdp);
        }
        Ok(out)
    }
}

fn valid_until(e: &Element<'_>) -> Result<Option<DateTime<Utc>>, MetadataError> {
    match e.attr("validUntil") {
        None => Ok(None),
        Some(v) => parse_instant(v)
            .or_else(|| {
                DateTime::parse_from_rfc3339(v)
                    .ok()
                    .map(|d| d.with_timezone(&Utc))
            })
            .map(Some)
            .ok_or_else(|| MetadataError::ValidUntil(v.to_owned())),
    }
}

fn entity(
    e: &Element<'_>,
    parent_valid: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<Option<IdpMetadata>, MetadataError> {
    let Some(idp) = e.child(NS_MD, "IDPSSODescriptor") else {
        return Ok(None);
    };
    let entity_id = e
        .attr("entityID")
        .filter(|s| !s.is_empty())
        .ok_or(MetadataError::Missing("EntityDescriptor/@entityID"))?
        .to_owned();
    let mut until = [parent_valid, valid_until(e)?, valid_until(&idp)?]
        .into_iter()
        .flatten()
        .min();
    if let Some(u) = until.take() {
        if u <= now {
            return Err(MetadataError::Expired {
                entity_id,
                valid_until: u.to_rfc3339(),
            });
        }
        until = Some(u);
    }
    let endpoints = |name: &str| {
        idp.children_named(NS_MD, name)
            .filter_map(|ep| {
                let binding = Binding::from_uri(ep.attr("Binding")?)?;
                let location = ep.attr("Location")?.to_owned();
                Some(Endpoint { binding, location })
            })
            .collect::<Vec<_>>()
    };
    let sso = endpoints("SingleSignOnService");
    let slo = endpoints("SingleLogoutService");
    let mut certs = Vec::new();
    for kd in idp.children_named(NS_MD, "KeyDescriptor") {
        if !matches!(kd.attr("use"), None | Some("signing")) {
            continue;
        }
        let Some(ki) = kd.child(NS_DS, "KeyInfo") else {
            continue;
        };
        for x509 in ki.children_named(NS_DS, "X509Data") {
            for c in x509.children_named(NS_DS, "X509Certificate") {
                let text: String = c.text().chars().filter(|c| !c.is_whitespace()).collect();
                let der =
                    B64.decode(text.as_bytes())
                        .map_err(|err| MetadataError::Certificate {
                            entity_id: entity_id.clone(),
                            detail: err.to_string(),
                        })?;
                xmldsig::Certificate::from_der(&der).map_err(|err| MetadataError::Certificate {
                    entity_id: entity_id.clone(),
                    detail: err.to_string(),
                })?;
                certs.push(der);
            }
        }
    }
    if certs.is_empty() {
        return Err(MetadataError::NoSigningKey(entity_id));
    }
    Ok(Some(IdpMetadata {
        entity_id,
        sso,
        slo,
        signing_certificates: certs,
        valid_until: until,
    }))
}
