//! CIE SP metadata (schema `saml-schema-metadata-sp-cie.xsd`).

use std::fmt::Write as _;

use pa_saml::xml_escape as esc;
use pa_saml::{RequestedAttributes, write_contact_end, write_sp_descriptor};
use spid::SpCredentials;

use super::config::{CieLocation, CieSector, CieSpConfig};
use super::error::CieError;

pub(crate) const NS_MD: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
pub(crate) const NS_DS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The namespace of the CIE metadata extensions.
pub const NS_CIE: &str = "https://www.cartaidentita.interno.gov.it/saml-extensions";

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

/// The unsigned `md:EntityDescriptor` of a CIE SP with the given `ID`.
pub(crate) fn unsigned_metadata(config: &CieSpConfig, creds: &SpCredentials, id: &str) -> String {
    let mut o = String::with_capacity(4096);
    let _ = write!(
        o,
        "<md:EntityDescriptor xmlns:md=\"{NS_MD}\" xmlns:ds=\"{NS_DS}\" xmlns:cie=\"{NS_CIE}\" entityID=\"{}\" ID=\"{}\">",
        esc(&config.entity_id),
        esc(id)
    );
    let services: Vec<RequestedAttributes<'_>> = config
        .attribute_consuming_services
        .iter()
        .map(|s| RequestedAttributes {
            index: s.index,
            service_names: &s.service_names,
            attributes: s.attributes.iter().map(|a| a.name()).collect(),
        })
        .collect();
    write_sp_descriptor(
        &mut o,
        &creds.certificate_base64(),
        &config.single_logout_services,
        &config.assertion_consumer_services,
        &services,
        &config.organization,
    );

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
    write_contact_end(
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
        write_contact_end(&mut o, &t.company, &t.email, t.telephone.as_deref());
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
