//! AuthnRequest construction and the HTTP-Redirect / HTTP-POST bindings.

use std::fmt::Write as _;
use std::io::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::write::DeflateEncoder;

use crate::level::{Comparison, SpidLevel};
use crate::xml::{NAMEID_ENTITY, NAMEID_TRANSIENT, NS_SAML, NS_SAMLP, esc, instant};

/// RSA-SHA256 signature algorithm URI (SigAlg of the Redirect binding).
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/// The fields of one AuthnRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthnRequestFields<'a> {
    pub(crate) id: &'a str,
    pub(crate) issue_instant: DateTime<Utc>,
    pub(crate) destination: &'a str,
    pub(crate) sp_entity_id: &'a str,
    pub(crate) acs_index: u16,
    pub(crate) attribute_index: u16,
    pub(crate) level: SpidLevel,
    pub(crate) comparison: Comparison,
    /// `ForceAuthn="true"` (see [`Profile::force_authn`](crate::Profile::force_authn)).
    pub(crate) force_authn: bool,
}

/// The AuthnRequest XML (unsigned; the POST binding adds an enveloped signature after
/// `saml:Issuer`).
pub(crate) fn authn_request_xml(f: &AuthnRequestFields<'_>) -> String {
    let mut o = String::with_capacity(1024);
    let _ = write!(
        o,
        "<samlp:AuthnRequest xmlns:samlp=\"{NS_SAMLP}\" xmlns:saml=\"{NS_SAML}\" ID=\"{}\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}\"{} AssertionConsumerServiceIndex=\"{}\" AttributeConsumingServiceIndex=\"{}\">",
        esc(f.id),
        instant(f.issue_instant),
        esc(f.destination),
        if f.force_authn {
            " ForceAuthn=\"true\""
        } else {
            ""
        },
        f.acs_index,
        f.attribute_index,
    );
    let _ = write!(
        o,
        "<saml:Issuer Format=\"{NAMEID_ENTITY}\" NameQualifier=\"{0}\">{0}</saml:Issuer>",
        esc(f.sp_entity_id)
    );
    let _ = write!(o, "<samlp:NameIDPolicy Format=\"{NAMEID_TRANSIENT}\"/>");
    let _ = write!(
        o,
        "<samlp:RequestedAuthnContext Comparison=\"{}\"><saml:AuthnContextClassRef>{}</saml:AuthnContextClassRef></samlp:RequestedAuthnContext>",
        f.comparison.as_str(),
        f.level.uri()
    );
    o.push_str("</samlp:AuthnRequest>");
    o
}

/// Percent-encodes like Python's `urllib.parse.quote_plus` (what IdPs and `spid-sp-test` use
/// to rebuild the signed string): unreserved characters kept, space as `+`, the rest `%XX`.
pub fn quote_plus(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3 / 2);
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => {
                let _ = write!(out, "%{b:02X}");
            }
        }
    }
    out
}

/// DEFLATE (raw, RFC 1951) and base64, as the Redirect binding wants.
pub(crate) fn deflate_base64(xml: &str) -> String {
    let mut enc = DeflateEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(xml.as_bytes());
    let bytes = enc.finish().unwrap_or_default();
    B64.encode(bytes)
}

/// The string signed in the Redirect binding: `SAMLRequest=..&RelayState=..&SigAlg=..`, each
/// value encoded with [`quote_plus`].
pub(crate) fn redirect_signed_string(
    saml_request_b64: &str,
    relay_state: Option<&str>,
    sig_alg: &str,
) -> String {
    let mut s = format!("SAMLRequest={}", quote_plus(saml_request_b64));
    if let Some(rs) = relay_state {
        let _ = write!(s, "&RelayState={}", quote_plus(rs));
    }
    let _ = write!(s, "&SigAlg={}", quote_plus(sig_alg));
    s
}

/// An auto-submitting HTML form posting `SAMLRequest` (and `RelayState`) to `action`.
pub(crate) fn post_form(
    action: &str,
    field: &str,
    value_b64: &str,
    relay_state: Option<&str>,
) -> String {
    let mut o = String::with_capacity(value_b64.len() + 600);
    let _ = write!(
        o,
        "<!DOCTYPE html><html lang=\"it\"><head><meta charset=\"utf-8\"><title>SPID</title></head>\
         <body onload=\"document.forms[0].submit()\"><form method=\"post\" action=\"{}\">\
         <input type=\"hidden\" name=\"{}\" value=\"{}\"/>",
        esc(action),
        field,
        esc(value_b64)
    );
    if let Some(rs) = relay_state {
        let _ = write!(
            o,
            "<input type=\"hidden\" name=\"RelayState\" value=\"{}\"/>",
            esc(rs)
        );
    }
    o.push_str(
        "<noscript><button type=\"submit\">Continua</button></noscript></form></body></html>",
    );
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_plus_matches_python() {
        // urllib.parse.quote_plus("a b+c/d=e~f_g.h-i") == 'a+b%2Bc%2Fd%3De~f_g.h-i'
        assert_eq!(quote_plus("a b+c/d=e~f_g.h-i"), "a+b%2Bc%2Fd%3De~f_g.h-i");
        assert_eq!(
            quote_plus("http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"),
            "http%3A%2F%2Fwww.w3.org%2F2001%2F04%2Fxmldsig-more%23rsa-sha256"
        );
    }

    #[test]
    fn deflate_round_trip() {
        use std::io::Read as _;
        let b64 = deflate_base64("<a>hello</a>");
        let raw = B64.decode(b64).unwrap();
        let mut out = String::new();
        flate2::read::DeflateDecoder::new(&raw[..])
            .read_to_string(&mut out)
            .unwrap();
        assert_eq!(out, "<a>hello</a>");
    }
}
