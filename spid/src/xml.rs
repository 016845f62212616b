//! Small helpers for writing XML text and reading the parsed tree.

use std::fmt::Write as _;

use chrono::{DateTime, SecondsFormat, Utc};

pub(crate) const NS_MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub(crate) const NS_SAML: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
pub(crate) const NS_SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
pub(crate) const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
pub(crate) const NS_SPID: &str = "https://spid.gov.it/saml-extensions";
pub(crate) const NS_FPA: &str = "https://spid.gov.it/invoicing-extensions";

pub(crate) const NAMEID_ENTITY: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:entity";
pub(crate) const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
pub(crate) const CM_BEARER: &str = "urn:oasis:names:tc:SAML:2.0:cm:bearer";
pub(crate) const STATUS_SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";

/// Escapes XML text content and attribute values (shared with the metadata writer).
pub(crate) use pa_saml::xml_escape as esc;

/// Formats an instant as SAML `xs:dateTime` in UTC with milliseconds.
pub(crate) fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses a SAML UTC `xs:dateTime`: `YYYY-MM-DDThh:mm:ss[.f+]Z` (strict: `T` and `Z` required).
pub(crate) fn parse_instant(s: &str) -> Option<DateTime<Utc>> {
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' || *b.last()? != b'Z' {
        return None;
    }
    let shape_ok = b[4] == b'-' && b[7] == b'-' && b[13] == b':' && b[16] == b':';
    if !shape_ok {
        return None;
    }
    if b.len() > 20
        && (b[19] != b'.' || b.len() == 21 || !b[20..b.len() - 1].iter().all(u8::is_ascii_digit))
    {
        return None;
    }
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|d| d.with_timezone(&Utc))
}

/// A fresh SAML ID: `_` followed by 32 random hex digits (starts with a letter-like char, as
/// `xs:ID` requires).
pub(crate) fn new_id() -> String {
    let mut bytes = [0u8; 16];
    // SystemRandom only fails when the OS has no randomness at all; fall back to rand then.
    if ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).is_err() {
        bytes = rand::random();
    }
    let mut s = String::with_capacity(33);
    s.push('_');
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants() {
        assert!(parse_instant("2024-01-01T10:00:00Z").is_some());
        assert!(parse_instant("2024-01-01T10:00:00.123456Z").is_some());
        assert!(parse_instant("2018-09-04").is_none());
        assert!(parse_instant("2018-09-06 16:00").is_none());
        assert!(parse_instant("2018-09-06T16:00:00+01:00").is_none());
        assert!(parse_instant("2018-09-06T16:00:00.Z").is_none());
        assert!(parse_instant("").is_none());
    }

    #[test]
    fn ids_are_unique_ncnames() {
        let a = new_id();
        assert_eq!(a.len(), 33);
        assert!(a.starts_with('_'));
        assert_ne!(a, new_id());
    }
}
