//! CIE SP metadata (schema `saml-schema-metadata-sp-cie.xsd`).

use std::fmt::Write as _;

use spid::{Binding, Localized, SpCredentials};

use super::config::{CieLocation, CieSector, CieSpConfig};
use super::error::CieError;

pub(crate) const NS_MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub(crate) const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The namespace of the CIE metadata extensions.
pub const NS_CIE: &str = "https://www.cartaidentita.interno.gov.it/saml-extensions";
const NAMEID_TRANSIENT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient";
const ATTRNAME_BASIC: &str = "urn:oasis:names:tc:SAML:2.0:attrname-format:basic";

/// Escapes text content and attribute values.
pub(crate) fn esc(s: &str) -> String {
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
            esc(&l.lang),
            esc(&l.value)
        );
    }
}

fn location(out: &mut String, l: &CieLocation) {
    let _ = write!(
        out,
        "<cie:Municipality>{}</cie:Municipality>",
        esc(&l.municipality)
    );
    if let Some(p) = &l.province {
        let _ = write!(out, "<cie:Province>{}</cie:Province>", esc(p));
    }
    let country = l.country.as_deref().unwrap_or("IT");
    let _ = write!(out, "<cie:Country>{}</cie:Country>", esc(country));
}

fn contact_tail(out: &mut String, company: &str, email: &str, telephone: Option<&str>) {
    let _ = write!(
        out,
        "</md:Extensions><md:Company>{}</md:Company><md:EmailAddress>{}</md:EmailAddress>",
        esc(company),
        esc(email)
    );
    if let Some(t) = telephone {
        let _ = write!(out, "<md:TelephoneNumber>{}</md:TelephoneNumber>", esc(t));
    }
    out.push_str("</md:ContactPerson>");
}

/// The unsigned `md:EntityDescriptor` of a CIE SP with the given `ID`.
pub(crate) fn unsigned_metadata(config: &CieSpConfig, creds: &SpCredentials, id: &str) -> String {
    let mut o = String::with_capacity(4096);
    let _ = write!(
        o,
        "<md:EntityDescriptor xmlns:md=\"{NS_MD}\" xmlns:ds=\"{NS_DS}\" xmlns:cie=\"{NS_CIE}\" entityID=\"{}\" ID=\"{}\">",
        esc(&config.entity_id),
        esc(id)
    );
    o.push_str(
        "<md:SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\" \
         AuthnRequestsSigned=\"true\" WantAssertionsSigned=\"true\">",
    );
    let _ = write!(
        o,
        "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
        creds.certificate_base64()
    );
    for slo in &config.single_logout_services {
        let _ = write!(
            o,
            "<md:SingleLogoutService Binding=\"{}\" Location=\"{}\"/>",
            slo.binding.uri(),
            esc(&slo.location)
        );
    }
    let _ = write!(o, "<md:NameIDFormat>{NAMEID_TRANSIENT}</md:NameIDFormat>");
    let mut acs: Vec<_> = config.assertion_consumer_services.iter().collect();
    acs.sort_by_key(|a| a.index);
    for a in acs {
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
            esc(&a.location)
        );
    }
    for s in &config.attribute_consuming_services {
        let _ = write!(o, "<md:AttributeConsumingService index=\"{}\">", s.index);
        localized(&mut o, "ServiceName", &s.service_names);
        for a in &s.attributes {
            let _ = write!(
                o,
                "<md:RequestedAttribute Name=\"{}\" NameFormat=\"{ATTRNAME_BASIC}\"/>",
                a.name()
            );
        }
        o.push_str("</md:AttributeConsumingService>");
    }
    o.push_str("</md:SPSSODescriptor><md:Organization>");
    localized(&mut o, "OrganizationName", &config.organization.names);
    localized(
        &mut o,
        "OrganizationDisplayName",
        &config.organization.display_names,
    );
    localized(&mut o, "OrganizationURL", &config.organization.urls);
    o.push_str("</md:Organization>");

    // The SP itself: contactType administrative.
    o.push_str("<md:ContactPerson contactType=\"administrative\"><md:Extensions>");
    match &config.sector {
        CieSector::Public {
            ipa_code,
            ipa_category,
            vat_number,
            fiscal_code,
        } => {
            o.push_str("<cie:Public/>");
            let _ = write!(o, "<cie:IPACode>{}</cie:IPACode>", esc(ipa_code.as_str()));
            if let Some(c) = ipa_category {
                let _ = write!(o, "<cie:IPACategory>{}</cie:IPACategory>", esc(c));
            }
            if let Some(v) = vat_number {
                let _ = write!(o, "<cie:VATNumber>IT{}</cie:VATNumber>", esc(v.as_str()));
            }
            if let Some(f) = fiscal_code {
                let _ = write!(o, "<cie:FiscalCode>{}</cie:FiscalCode>", esc(f));
            }
        }
        CieSector::Private {
            vat_number,
            fiscal_code,
            nace2_code,
        } => {
            o.push_str("<cie:Private/>");
            let _ = write!(
                o,
                "<cie:VATNumber>IT{}</cie:VATNumber><cie:FiscalCode>{}</cie:FiscalCode><cie:NACE2Code>{}</cie:NACE2Code>",
                esc(vat_number.as_str()),
                esc(fiscal_code),
                esc(nace2_code)
            );
        }
    }
    location(&mut o, &config.administrative.location);
    contact_tail(
        &mut o,
        &config.company(),
        &config.administrative.email,
        config.administrative.telephone.as_deref(),
    );

    // The technology partner, when there is one: contactType technical.
    if let Some(t) = &config.technical {
        o.push_str("<md:ContactPerson contactType=\"technical\"><md:Extensions><cie:Private/>");
        let _ = write!(
            o,
            "<cie:VATNumber>IT{}</cie:VATNumber><cie:FiscalCode>{}</cie:FiscalCode><cie:NACE2Code>{}</cie:NACE2Code>",
            esc(t.vat_number.as_str()),
            esc(&t.fiscal_code),
            esc(&t.nace2_code)
        );
        location(&mut o, &t.location);
        contact_tail(&mut o, &t.company, &t.email, t.telephone.as_deref());
    }
    o.push_str("</md:EntityDescriptor>");
    o
}

/// Signs the metadata (enveloped, exc-c14n, RSA-SHA256, the signature first child of the root,
/// as the CIE schema requires).
pub(crate) fn sign(xml: &str, id: &str, creds: &SpCredentials) -> Result<String, CieError> {
    let key = xmldsig::SigningKey::from_pkcs8_der(creds.private_key_der())
        .map_err(|e| CieError::Sign(e.to_string()))?;
    let cert = xmldsig::Certificate::from_der(creds.certificate_der())
        .map_err(|e| CieError::Sign(e.to_string()))?;
    let opts = xmldsig::SignOptions::new(id, &key)
        .certificate(&cert)
        .placement(xmldsig::Placement::FirstChild);
    let signed = xmldsig::sign_enveloped(xml.as_bytes(), &opts)
        .map_err(|e| CieError::Sign(e.to_string()))?;
    String::from_utf8(signed).map_err(|e| CieError::Sign(e.to_string()))
}
