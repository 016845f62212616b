//! Parsing helpers shared by identity extraction and verification.

use chrono::{DateTime, Utc};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::time::ASN1Time;
use x509_parser::x509::X509Name;

use super::error::{CertRole, CertificateError};

/// Parses exactly one DER certificate, refusing trailing bytes.
pub(crate) fn parse_der(
    der: &[u8],
    role: CertRole,
) -> Result<X509Certificate<'_>, CertificateError> {
    if der.is_empty() {
        return Err(CertificateError::Missing);
    }
    let (rest, cert) = X509Certificate::from_der(der).map_err(|e| CertificateError::Malformed {
        role,
        reason: e.to_string(),
    })?;
    if !rest.is_empty() {
        return Err(CertificateError::TrailingData {
            role,
            count: rest.len(),
        });
    }
    Ok(cert)
}

/// Every `CERTIFICATE` block of a PEM input, decoded to DER.
pub(crate) fn pem_certificates(pem: &[u8]) -> Result<Vec<Vec<u8>>, CertificateError> {
    pem_blocks(pem, &["CERTIFICATE"]).map_err(|reason| CertificateError::Pem { reason })
}

/// Every PEM block with one of `labels`, decoded; blocks with other labels are skipped.
pub(crate) fn pem_blocks(pem: &[u8], labels: &[&str]) -> Result<Vec<Vec<u8>>, String> {
    let mut out = Vec::new();
    for (i, block) in x509_parser::pem::Pem::iter_from_buffer(pem).enumerate() {
        let block = block.map_err(|e| format!("block #{i}: {e}"))?;
        if labels.contains(&block.label.as_str()) {
            out.push(block.contents);
        }
    }
    if out.is_empty() {
        return Err(format!("no {} block found", labels.join(" / ")));
    }
    Ok(out)
}

/// `ASN1Time` as a chrono UTC instant.
pub(crate) fn to_utc(t: ASN1Time) -> DateTime<Utc> {
    DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// A distinguished name as text (RFC 4514 style, most significant first as encoded).
pub(crate) fn name_to_string(name: &X509Name<'_>) -> String {
    name.to_string()
}

/// The certificate serial as upper-case hex without separators.
pub(crate) fn serial_hex(raw: &[u8]) -> String {
    let mut s = String::with_capacity(raw.len() * 2);
    for b in raw {
        s.push_str(&format!("{b:02X}"));
    }
    s
}

/// All string values of the subject attributes with this dotted OID.
pub(crate) fn attr_values<'a>(
    name: &'a X509Name<'_>,
    oid: &'static str,
    attribute: &'static str,
) -> Result<Vec<&'a str>, super::error::IdentityError> {
    let mut out = Vec::new();
    for atv in name.iter_attributes() {
        if atv.attr_type().to_id_string() == oid {
            let v = atv
                .as_str()
                .map_err(|_| super::error::IdentityError::UnreadableAttribute { attribute })?;
            out.push(v);
        }
    }
    Ok(out)
}

/// The only value of an attribute, `None` if absent, an error if repeated.
pub(crate) fn single_attr<'a>(
    name: &'a X509Name<'_>,
    oid: &'static str,
    attribute: &'static str,
) -> Result<Option<&'a str>, super::error::IdentityError> {
    let values = attr_values(name, oid, attribute)?;
    match values.len() {
        0 => Ok(None),
        1 => Ok(values.into_iter().next()),
        count => Err(super::error::IdentityError::DuplicateAttribute { attribute, count }),
    }
}

/// Same as [`single_attr`] but an unreadable or repeated attribute yields `None` (for display-only
/// attributes of issuers).
pub(crate) fn first_attr_lossy(name: &X509Name<'_>, oid: &'static str) -> Option<String> {
    name.iter_attributes()
        .find(|a| a.attr_type().to_id_string() == oid)
        .and_then(|a| a.as_str().ok())
        .map(str::to_owned)
}

pub(crate) const OID_CN: &str = "2.5.4.3";
pub(crate) const OID_SURNAME: &str = "2.5.4.4";
pub(crate) const OID_SERIAL_NUMBER: &str = "2.5.4.5";
pub(crate) const OID_ORGANIZATION: &str = "2.5.4.10";
pub(crate) const OID_GIVEN_NAME: &str = "2.5.4.42";
pub(crate) const OID_DN_QUALIFIER: &str = "2.5.4.46";
