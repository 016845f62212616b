//! SP metadata generation (Avviso SPID n. 28 v2, schema `saml-schema-metadata-sp-spid-av29.xsd`).

use std::fmt::Write as _;

use crate::cert::SpCredentials;
use crate::config::{BillingContact, Sector, SpConfig};
use pa_saml::{RequestedAttributes, write_contact_end, write_sp_descriptor};
use pa_types::{CodiceIpa, PartitaIva};

use crate::xml::{NS_DS, NS_FPA, NS_MD, NS_SPID, esc};

fn billing_extensions(out: &mut String, b: &BillingContact) {
    out.push_str("<fpa:CessionarioCommittente><fpa:DatiAnagrafici>");
    if let Some(vat) = &b.vat_number {
        let _ = write!(
            out,
            "<fpa:IdFiscaleIVA><fpa:IdPaese>IT</fpa:IdPaese><fpa:IdCodice>{}</fpa:IdCodice></fpa:IdFiscaleIVA>",
            esc(vat.as_str())
        );
    }
    if let Some(cf) = &b.fiscal_code {
        let _ = write!(out, "<fpa:CodiceFiscale>{}</fpa:CodiceFiscale>", esc(cf));
    }
    let _ = write!(
        out,
        "<fpa:Anagrafica><fpa:Denominazione>{}</fpa:Denominazione></fpa:Anagrafica></fpa:DatiAnagrafici>",
        esc(&b.company)
    );
    let _ = write!(
        out,
        "<fpa:Sede><fpa:Indirizzo>{}</fpa:Indirizzo>",
        esc(&b.address)
    );
    if let Some(n) = &b.street_number {
        let _ = write!(out, "<fpa:NumeroCivico>{}</fpa:NumeroCivico>", esc(n));
    }
    let _ = write!(
        out,
        "<fpa:CAP>{}</fpa:CAP><fpa:Comune>{}</fpa:Comune>",
        esc(&b.postal_code),
        esc(&b.municipality)
    );
    if let Some(p) = &b.province {
        let _ = write!(out, "<fpa:Provincia>{}</fpa:Provincia>", esc(p));
    }
    let _ = write!(
        out,
        "<fpa:Nazione>{}</fpa:Nazione></fpa:Sede></fpa:CessionarioCommittente>",
        esc(&b.nation)
    );
}

/// `spid:IPACode`, `spid:VATNumber` (`IT` + digits), `spid:FiscalCode`, in the schema's order.
fn identifiers(
    out: &mut String,
    ipa: Option<&CodiceIpa>,
    vat: Option<&PartitaIva>,
    fiscal_code: Option<&str>,
) {
    if let Some(ipa) = ipa {
        let _ = write!(out, "<spid:IPACode>{}</spid:IPACode>", esc(ipa.as_str()));
    }
    if let Some(v) = vat {
        let _ = write!(
            out,
            "<spid:VATNumber>IT{}</spid:VATNumber>",
            esc(v.as_str())
        );
    }
    if let Some(cf) = fiscal_code {
        let _ = write!(out, "<spid:FiscalCode>{}</spid:FiscalCode>", esc(cf));
    }
}

/// Builds the SP's unsigned `md:EntityDescriptor` with the given `ID` (the signature references
/// it). No XML declaration, no newlines: the document starts with `<`.
pub(crate) fn unsigned_metadata(config: &SpConfig, creds: &SpCredentials, id: &str) -> String {
    let mut o = String::with_capacity(4096);
    let _ = write!(
        o,
        "<md:EntityDescriptor xmlns:md=\"{NS_MD}\" xmlns:ds=\"{NS_DS}\" xmlns:spid=\"{NS_SPID}\"{} entityID=\"{}\" ID=\"{}\">",
        if config.sector.is_public() {
            String::new()
        } else {
            format!(" xmlns:fpa=\"{NS_FPA}\"")
        },
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

    let company = config
        .organization
        .names
        .iter()
        .find(|l| l.lang == "it")
        .or_else(|| config.organization.names.first())
        .map(|l| l.value.clone())
        .unwrap_or_default();
    // The entity's own identifiers: the `other` contact of an SP, the `spid:aggregated` contact
    // when an aggregator publishes the metadata.
    let (ipa, vat, fc, sector_element) = match &config.sector {
        Sector::Public {
            ipa_code,
            vat_number,
            fiscal_code,
        } => (
            Some(ipa_code),
            vat_number.as_ref(),
            fiscal_code.as_deref(),
            "Public",
        ),
        Sector::Private {
            vat_number,
            fiscal_code,
            ..
        } => (None, vat_number.as_ref(), fiscal_code.as_deref(), "Private"),
    };
    let entity_type = |t: &str| {
        if config.aggregator.is_some() {
            format!(" spid:entityType=\"spid:{t}\"")
        } else {
            String::new()
        }
    };
    if let Some(ag) = &config.aggregator {
        let _ = write!(
            o,
            "<md:ContactPerson contactType=\"other\"{}><md:Extensions>",
            entity_type("aggregator")
        );
        identifiers(
            &mut o,
            ag.ipa_code.as_ref(),
            ag.vat_number.as_ref(),
            ag.fiscal_code.as_deref(),
        );
        let _ = write!(o, "<spid:{}/>", ag.kind.element());
        if let Some(cert) = ag.validation_certificate_base64() {
            let _ = write!(
                o,
                "<spid:KeyDescriptor use=\"spid:validation\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></spid:KeyDescriptor>",
                esc(&cert)
            );
        }
        write_contact_end(&mut o, &ag.company, &ag.email, ag.telephone.as_deref());
    }
    let _ = write!(
        o,
        "<md:ContactPerson contactType=\"other\"{}><md:Extensions>",
        entity_type("aggregated")
    );
    identifiers(&mut o, ipa, vat, fc);
    let _ = write!(o, "<spid:{sector_element}/>");
    write_contact_end(
        &mut o,
        &company,
        &config.contact.email,
        config.contact.telephone.as_deref(),
    );
    if let Sector::Private { billing, .. } = &config.sector {
        // The aggregated-metadata schema wants a spid:entityType on every contact: the billing
        // contact of a private aggregator is the aggregator's.
        let _ = write!(
            o,
            "<md:ContactPerson contactType=\"billing\"{}><md:Extensions>",
            entity_type("aggregator")
        );
        billing_extensions(&mut o, billing);
        write_contact_end(
            &mut o,
            &billing.company,
            &billing.email,
            billing.telephone.as_deref(),
        );
    }
    o.push_str("</md:EntityDescriptor>");
    o
}
