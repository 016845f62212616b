//! The SAML 2.0 metadata pieces that the `spid` and `cie` Service Providers share: the endpoint
//! and organization types of their configuration and the writer of the signed-requests
//! `md:SPSSODescriptor`, `md:Organization` and contact endings.
//!
//! **Internal crate.** It exists so that `spid` and `cie` write the same metadata without `spid`
//! exposing writing helpers in its public API; applications use `spid` (which re-exports the
//! configuration types) or `cie`, not this crate. It has no stability promise of its own.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
const ATTRNAME_BASIC: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic";

/// SAML binding URIs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Binding {
    /// `urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST`.
    #[serde(
        rename = "HTTP-POST",
        alias = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
    )]
    HttpPost,
    /// `urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect`.
    #[serde(
        rename = "HTTP-Redirect",
        alias = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
    )]
    HttpRedirect,
}

impl Binding {
    /// The binding URI.
    pub fn uri(self) -> &'static str {
        match self {
            Binding::HttpPost => "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
            Binding::HttpRedirect => "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect",
        }
    }

    /// Parses a binding URI.
    pub fn from_uri(uri: &str) -> Option<Binding> {
        match uri {
            "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" => Some(Binding::HttpPost),
            "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" => Some(Binding::HttpRedirect),
            _ => None,
        }
    }
}

/// A text with its language (`xml:lang`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Localized {
    /// Language code, e.g. `it`.
    pub lang: String,
    /// The text.
    pub value: String,
}

impl Localized {
    /// Italian text.
    pub fn it(value: impl Into<String>) -> Self {
        Localized {
            lang: "it".into(),
            value: value.into(),
        }
    }
}

/// An `AssertionConsumerService` endpoint (always HTTP-POST in SPID).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AssertionConsumerService {
    /// `index`; index 0 is the default one.
    pub index: u16,
    /// `Location` URL.
    pub location: String,
}

/// A `SingleLogoutService` endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SingleLogoutService {
    /// Binding.
    pub binding: Binding,
    /// `Location` URL.
    pub location: String,
}

/// The `md:Organization` element.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// `OrganizationName` per language.
    pub names: Vec<Localized>,
    /// `OrganizationDisplayName` per language.
    pub display_names: Vec<Localized>,
    /// `OrganizationURL` per language.
    pub urls: Vec<Localized>,
}

/// Escapes XML text content and attribute values (quotes included, so it fits both; CR, LF and
/// TAB as character references, so attribute values keep them).
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

fn localized(out: &mut String, element: &str, items: &[Localized]) {
    for l in items {
        let _ = write!(
            out,
            "<md:{element} xml:lang=\"{}\">{}</md:{element}>",
            xml_escape(&l.lang),
            xml_escape(&l.value)
        );
    }
}

/// Closes a contact's `md:Extensions` and writes its `md:Company`, `md:EmailAddress` and
/// `md:TelephoneNumber` (when given) and the `md:ContactPerson` end tag; shared by the SPID and
/// CIE metadata writers.
pub fn write_contact_end(out: &mut String, company: &str, email: &str, telephone: Option<&str>) {
    let _ = write!(
        out,
        "</md:Extensions><md:Company>{}</md:Company><md:EmailAddress>{}</md:EmailAddress>",
        xml_escape(company),
        xml_escape(email)
    );
    if let Some(t) = telephone {
        let _ = write!(
            out,
            "<md:TelephoneNumber>{}</md:TelephoneNumber>",
            xml_escape(t)
        );
    }
    out.push_str("</md:ContactPerson>");
}

/// One `md:AttributeConsumingService` of SP metadata: its index, service names and the names of
/// the requested attributes.
#[derive(Debug, Clone)]
pub struct RequestedAttributes<'a> {
    /// `index`.
    pub index: u16,
    /// `ServiceName`s.
    pub service_names: &'a [Localized],
    /// `RequestedAttribute/@Name`s.
    pub attributes: Vec<&'a str>,
}

/// Writes the parts of SP metadata that SPID and the CIE profile share: the signed-requests
/// `md:SPSSODescriptor` (signing `KeyDescriptor`, `SingleLogoutService`s, transient
/// `NameIDFormat`, `AssertionConsumerService`s with index 0 as default, attribute consuming
/// services) and `md:Organization`, with the SP's signing certificate (base64 DER). The caller writes the `EntityDescriptor` around it and its
/// own `ContactPerson` extensions.
pub fn write_sp_descriptor(
    o: &mut String,
    certificate_base64: &str,
    slo: &[SingleLogoutService],
    acs: &[AssertionConsumerService],
    services: &[RequestedAttributes<'_>],
    org: &Organization,
) {
    o.push_str(
        "<md:SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
         AuthnRequestsSigned=\"true\" WantAssertionsSigned=\"true\">",
    );
    let _ = write!(
        o,
        "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
        certificate_base64
    );
    for slo in slo {
        let _ = write!(
            o,
            "<md:SingleLogoutService Binding=\"{}\" Location=\"{}\"/>",
            slo.binding.uri(),
            xml_escape(&slo.location)
        );
    }
    let _ = write!(o, "<md:NameIDFormat>{NAMEID_TRANSIENT}</md:NameIDFormat>");
    let mut sorted: Vec<_> = acs.iter().collect();
    sorted.sort_by_key(|a| a.index);
    for a in sorted {
        let _ = write!(
            o,
            "<md:AssertionConsumerService index=\"{}\"{} Binding=\"{}\" Location=\"{}\"/>",
            a.index,
            if a.index == 0 {
                " isDefault=\"true\""
            } else {
                ""
            },
            Binding::HttpPost.uri(),
            xml_escape(&a.location)
        );
    }
    for s in services {
        let _ = write!(o, "<md:AttributeConsumingService index=\"{}\">", s.index);
        localized(o, "ServiceName", s.service_names);
        for a in &s.attributes {
            let _ = write!(
                o,
                "<md:RequestedAttribute Name=\"{}\" NameFormat=\"{ATTRNAME_BASIC}\"/>",
                a
            );
        }
        o.push_str("</md:AttributeConsumingService>");
    }
    o.push_str("</md:SPSSODescriptor><md:Organization>");
    localized(o, "OrganizationName", &org.names);
    localized(o, "OrganizationDisplayName", &org.display_names);
    localized(o, "OrganizationURL", &org.urls);
    o.push_str("</md:Organization>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_line_ends() {
        assert_eq!(
            xml_escape("a<b>&\"'\r\n\tz"),
            "a&lt;b&gt;&amp;&quot;&apos;&#13;&#10;&#9;z"
        );
    }

    #[test]
    fn descriptor_orders_endpoints_and_escapes_values() {
        let mut o = String::new();
        let names = [Localized::it("Servizio")];
        write_sp_descriptor(
            &mut o,
            "MIIC",
            &[SingleLogoutService {
                binding: Binding::HttpRedirect,
                location: "https://sp/slo?a=1&b=2".into(),
            }],
            &[
                AssertionConsumerService {
                    index: 1,
                    location: "https://sp/acs1".into(),
                },
                AssertionConsumerService {
                    index: 0,
                    location: "https://sp/acs0".into(),
                },
            ],
            &[RequestedAttributes {
                index: 0,
                service_names: &names,
                attributes: vec!["fiscalNumber"],
            }],
            &Organization {
                names: vec![Localized::it("Comune <di> Prova")],
                display_names: vec![Localized::it("Comune")],
                urls: vec![Localized::it("https://comune.example")],
            },
        );
        assert!(o.contains("<ds:X509Certificate>MIIC</ds:X509Certificate>"));
        assert!(o.contains("Location=\"https://sp/slo?a=1&amp;b=2\""));
        let first = o.find("acs0").expect("acs0");
        let second = o.find("acs1").expect("acs1");
        assert!(first < second, "index 0 first");
        assert!(o.contains("index=\"0\" isDefault=\"true\""));
        assert!(o.contains("Comune &lt;di&gt; Prova"));
        let mut c = String::new();
        write_contact_end(&mut c, "A&B", "x@y", None);
        assert_eq!(
            c,
            "</md:Extensions><md:Company>A&amp;B</md:Company><md:EmailAddress>x@y</md:EmailAddress></md:ContactPerson>"
        );
    }
}
