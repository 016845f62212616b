//! A SPID test Identity Provider (feature `test-idp`): serves metadata and answers
//! AuthnRequests with signed responses for configurable users.
//!
//! Every field of the response is a plain value in [`ResponseTemplate`] /
//! [`AssertionTemplate`] (`None` omits it), so tests can build any malformed response the
//! conformance tool sends and check that the SP rejects it.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Duration, Utc};

use crate::attributes::SpidAttribute;
use crate::cert::SpCredentials;
use crate::config::Binding;
use crate::error::{KeyError, MetadataError};
use crate::idp::{Endpoint, IdpMetadata};
use crate::level::{Comparison, SpidLevel};
use crate::xml::{
    CM_BEARER, NAMEID_ENTITY, NAMEID_TRANSIENT, NS_DS, NS_MD, NS_SAML, NS_SAMLP, STATUS_SUCCESS,
    esc, instant, new_id,
};

/// A user of the test IdP: the SPID attributes it releases.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TestUser {
    /// Attribute values by SPID name.
    pub attributes: BTreeMap<SpidAttribute, String>,
}

impl TestUser {
    /// A complete example citizen (valid fiscal number, dates, gender).
    pub fn example() -> Self {
        let mut a = BTreeMap::new();
        for (k, v) in [
            (SpidAttribute::SpidCode, "TEST-0000001"),
            (SpidAttribute::Name, "Mario"),
            (SpidAttribute::FamilyName, "Rossi"),
            (SpidAttribute::FiscalNumber, "TINIT-RSSMRA85T10A562S"),
            (SpidAttribute::Email, "mario.rossi@example.org"),
            (SpidAttribute::DateOfBirth, "1985-12-10"),
            (SpidAttribute::Gender, "M"),
            (SpidAttribute::PlaceOfBirth, "A562"),
            (SpidAttribute::CountyOfBirth, "AR"),
            (SpidAttribute::MobilePhone, "+393331234567"),
        ] {
            a.insert(k, v.to_owned());
        }
        TestUser { attributes: a }
    }
}

/// An AuthnRequest as the test IdP received it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReceivedRequest {
    /// `ID`.
    pub id: String,
    /// `IssueInstant` as sent.
    pub issue_instant: String,
    /// The SP entityID (`Issuer`).
    pub issuer: String,
    /// `Issuer/@NameQualifier` (what the Audience must be).
    pub name_qualifier: String,
    /// `AssertionConsumerServiceURL`, when the request names it.
    pub acs_url: Option<String>,
    /// `AssertionConsumerServiceIndex`, when the request names it.
    pub acs_index: Option<u16>,
    /// Requested level.
    pub level: SpidLevel,
    /// Requested comparison.
    pub comparison: Comparison,
    /// RelayState received with the request.
    pub relay_state: Option<String>,
    /// The request XML.
    pub xml: String,
}

/// Why the test IdP could not read a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("test IdP: {0}")]
pub struct TestIdpError(pub String);

/// The assertion part of a response; `None` omits the attribute or element.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssertionTemplate {
    /// `ID`.
    pub id: Option<String>,
    /// `Version`.
    pub version: Option<String>,
    /// `IssueInstant`.
    pub issue_instant: Option<String>,
    /// `Issuer` text (`None` omits the element).
    pub issuer: Option<String>,
    /// `Issuer/@Format`.
    pub issuer_format: Option<String>,
    /// Whether `Subject` is present.
    pub subject: bool,
    /// `NameID` text (`None` omits the element).
    pub name_id: Option<String>,
    /// `NameID/@Format`.
    pub name_id_format: Option<String>,
    /// `NameID/@NameQualifier`.
    pub name_qualifier: Option<String>,
    /// Whether `SubjectConfirmation` is present.
    pub subject_confirmation: bool,
    /// `SubjectConfirmation/@Method`.
    pub confirmation_method: Option<String>,
    /// Whether `SubjectConfirmationData` is present.
    pub confirmation_data: bool,
    /// `SubjectConfirmationData/@Recipient`.
    pub recipient: Option<String>,
    /// `SubjectConfirmationData/@InResponseTo`.
    pub confirmation_in_response_to: Option<String>,
    /// `SubjectConfirmationData/@NotOnOrAfter`.
    pub confirmation_not_on_or_after: Option<String>,
    /// Whether `Conditions` is present.
    pub conditions: bool,
    /// `Conditions/@NotBefore`.
    pub not_before: Option<String>,
    /// `Conditions/@NotOnOrAfter`.
    pub not_on_or_after: Option<String>,
    /// Whether `AudienceRestriction` is present.
    pub audience_restriction: bool,
    /// `Audience` text (`None` omits the element).
    pub audience: Option<String>,
    /// Whether `AuthnStatement` is present.
    pub authn_statement: bool,
    /// `AuthnStatement/@SessionIndex`.
    pub session_index: Option<String>,
    /// `AuthnContextClassRef` text (`None` omits the element).
    pub authn_context_class_ref: Option<String>,
    /// Attributes (name, value; a `None` value writes an `Attribute` without `AttributeValue`).
    /// `None` omits the `AttributeStatement`; an empty list writes an empty one.
    pub attributes: Option<Vec<(String, Option<String>)>>,
    /// Sign the assertion.
    pub signed: bool,
}

/// A whole response; `None` omits the attribute or element.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ResponseTemplate {
    /// `ID`.
    pub id: Option<String>,
    /// `Version`.
    pub version: Option<String>,
    /// `IssueInstant`.
    pub issue_instant: Option<String>,
    /// `InResponseTo`.
    pub in_response_to: Option<String>,
    /// `Destination`.
    pub destination: Option<String>,
    /// `Issuer` text (`None` omits the element).
    pub issuer: Option<String>,
    /// `Issuer/@Format`.
    pub issuer_format: Option<String>,
    /// Top-level `StatusCode/@Value` (`None` omits `Status`).
    pub status: Option<String>,
    /// Second-level status code.
    pub sub_status: Option<String>,
    /// `StatusMessage`.
    pub status_message: Option<String>,
    /// The assertion (`None` omits it).
    pub assertion: Option<AssertionTemplate>,
    /// Sign the response.
    pub signed: bool,
}

/// The test Identity Provider.
#[derive(Debug, Clone)]
pub struct TestIdp {
    entity_id: String,
    sso_url: String,
    credentials: SpCredentials,
}

impl TestIdp {
    /// An IdP with this entityID, SSO URL (both bindings) and signing credentials.
    pub fn new(
        entity_id: impl Into<String>,
        sso_url: impl Into<String>,
        credentials: SpCredentials,
    ) -> Self {
        TestIdp {
            entity_id: entity_id.into(),
            sso_url: sso_url.into(),
            credentials,
        }
    }

    /// The entityID.
    pub fn entity_id(&self) -> &str {
        &self.entity_id
    }

    /// The IdP metadata document (`md:EntityDescriptor` with `md:IDPSSODescriptor`), signed.
    ///
    /// # Errors
    /// [`KeyError`] if signing fails.
    pub fn metadata_xml(&self) -> Result<String, KeyError> {
        let id = new_id();
        let mut o = String::new();
        let _ = write!(
            o,
            "<md:EntityDescriptor xmlns:md=\"{NS_MD}\" xmlns:ds=\"{NS_DS}\" entityID=\"{}\" ID=\"{id}\">\
             <md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\" WantAuthnRequestsSigned=\"true\">\
             <md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
            esc(&self.entity_id),
            self.credentials.certificate_base64()
        );
        for b in [Binding::HttpPost, Binding::HttpRedirect] {
            let _ = write!(
                o,
                "<md:SingleLogoutService Binding=\"{}\" Location=\"{}\"/>",
                b.uri(),
                esc(&self.sso_url)
            );
        }
        let _ = write!(o, "<md:NameIDFormat>{NAMEID_TRANSIENT}</md:NameIDFormat>");
        for b in [Binding::HttpPost, Binding::HttpRedirect] {
            let _ = write!(
                o,
                "<md:SingleSignOnService Binding=\"{}\" Location=\"{}\"/>",
                b.uri(),
                esc(&self.sso_url)
            );
        }
        o.push_str("</md:IDPSSODescriptor></md:EntityDescriptor>");
        crate::dsig::sign_enveloped(&o, &id, None, &self.credentials)
    }

    /// The parsed metadata, to give to [`ServiceProvider::add_idp`](crate::ServiceProvider::add_idp).
    ///
    /// # Errors
    /// [`MetadataError`] (never for a well-configured IdP).
    pub fn metadata(&self) -> Result<IdpMetadata, MetadataError> {
        let ep = |binding| Endpoint {
            binding,
            location: self.sso_url.clone(),
        };
        Ok(IdpMetadata {
            entity_id: self.entity_id.clone(),
            sso: vec![ep(Binding::HttpPost), ep(Binding::HttpRedirect)],
            slo: vec![ep(Binding::HttpPost), ep(Binding::HttpRedirect)],
            signing_certificates: vec![self.credentials.certificate_der().to_vec()],
            valid_until: None,
        })
    }

    /// Reads an HTTP-Redirect AuthnRequest from the query string of the redirect URL (the part
    /// after `?`). The signature is not checked here.
    ///
    /// # Errors
    /// [`TestIdpError`] when the request cannot be decoded.
    pub fn read_redirect(&self, query: &str) -> Result<ReceivedRequest, TestIdpError> {
        let mut saml = None;
        let mut relay = None;
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = percent_decode(v);
            match k {
                "SAMLRequest" => saml = Some(v),
                "RelayState" => relay = Some(v),
                _ => {}
            }
        }
        let saml = saml.ok_or_else(|| TestIdpError("no SAMLRequest".into()))?;
        let raw = B64
            .decode(saml.as_bytes())
            .map_err(|e| TestIdpError(e.to_string()))?;
        let mut xml = String::new();
        flate2::read::DeflateDecoder::new(&raw[..])
            .read_to_string(&mut xml)
            .map_err(|e| TestIdpError(e.to_string()))?;
        read_request(xml, relay)
    }

    /// Reads an HTTP-POST AuthnRequest (`SAMLRequest` form field).
    ///
    /// # Errors
    /// [`TestIdpError`] when the request cannot be decoded.
    pub fn read_post(
        &self,
        saml_request: &str,
        relay_state: Option<&str>,
    ) -> Result<ReceivedRequest, TestIdpError> {
        let raw = B64
            .decode(saml_request.as_bytes())
            .map_err(|e| TestIdpError(e.to_string()))?;
        let xml = String::from_utf8(raw).map_err(|e| TestIdpError(e.to_string()))?;
        read_request(xml, relay_state.map(str::to_owned))
    }

    /// A correct, signed (response and assertion) answer to `req` for `user` at the requested
    /// level, as a template to adjust; `acs_url` is where the SP receives it.
    pub fn template(
        &self,
        req: &ReceivedRequest,
        acs_url: &str,
        user: &TestUser,
        now: DateTime<Utc>,
    ) -> ResponseTemplate {
        let issue = req.issue_instant.clone();
        let later = instant(now + Duration::minutes(5));
        ResponseTemplate {
            id: Some(new_id()),
            version: Some("2.0".into()),
            issue_instant: Some(issue.clone()),
            in_response_to: Some(req.id.clone()),
            destination: Some(acs_url.to_owned()),
            issuer: Some(self.entity_id.clone()),
            issuer_format: Some(NAMEID_ENTITY.into()),
            status: Some(STATUS_SUCCESS.into()),
            sub_status: None,
            status_message: None,
            assertion: Some(AssertionTemplate {
                id: Some(new_id()),
                version: Some("2.0".into()),
                issue_instant: Some(issue.clone()),
                issuer: Some(self.entity_id.clone()),
                issuer_format: Some(NAMEID_ENTITY.into()),
                subject: true,
                name_id: Some(new_id()),
                name_id_format: Some(NAMEID_TRANSIENT.into()),
                name_qualifier: Some(self.entity_id.clone()),
                subject_confirmation: true,
                confirmation_method: Some(CM_BEARER.into()),
                confirmation_data: true,
                recipient: Some(acs_url.to_owned()),
                confirmation_in_response_to: Some(req.id.clone()),
                confirmation_not_on_or_after: Some(later.clone()),
                conditions: true,
                not_before: Some(issue),
                not_on_or_after: Some(later),
                audience_restriction: true,
                audience: Some(req.name_qualifier.clone()),
                authn_statement: true,
                session_index: (req.level == SpidLevel::L1).then(new_id),
                authn_context_class_ref: Some(req.level.uri().into()),
                attributes: Some(
                    user.attributes
                        .iter()
                        .map(|(k, v)| (k.name().to_owned(), Some(v.clone())))
                        .collect(),
                ),
                signed: true,
            }),
            signed: true,
        }
    }

    /// An unsigned SPID anomaly response (`Responder` / `AuthnFailed` / `ErrorCode nrNN`).
    pub fn error_template(
        &self,
        req: &ReceivedRequest,
        acs_url: &str,
        code: &crate::SpidErrorCode,
    ) -> ResponseTemplate {
        let mut t = self.template(req, acs_url, &TestUser::default(), Utc::now());
        t.status = Some("urn:oasis:names:tc:SAML:2.0:status:Responder".into());
        t.sub_status = Some("urn:oasis:names:tc:SAML:2.0:status:AuthnFailed".into());
        t.status_message = Some(code.to_string());
        t.assertion = None;
        t.signed = false;
        t
    }

    /// Renders and signs a template into the response XML.
    ///
    /// # Errors
    /// [`KeyError`] if signing fails (e.g. a signed element without `ID`).
    pub fn render(&self, t: &ResponseTemplate) -> Result<String, KeyError> {
        self.render_with(t, &self.credentials)
    }

    /// Renders a template, signing with other credentials (signature-by-another-key tests).
    ///
    /// # Errors
    /// [`KeyError`] if signing fails.
    pub fn render_with(
        &self,
        t: &ResponseTemplate,
        creds: &SpCredentials,
    ) -> Result<String, KeyError> {
        let mut xml = render_xml(t);
        if let Some(a) = t.assertion.as_ref().filter(|a| a.signed) {
            let id = a.id.clone().unwrap_or_default();
            let place = a.issuer.as_ref().map(|_| "Issuer");
            xml = crate::dsig::sign_enveloped(&xml, &id, place, creds)?;
        }
        if t.signed {
            let id = t.id.clone().unwrap_or_default();
            let place = t.issuer.as_ref().map(|_| "Issuer");
            xml = crate::dsig::sign_enveloped(&xml, &id, place, creds)?;
        }
        Ok(xml)
    }

    /// Renders, signs and base64-encodes: the `SAMLResponse` form value.
    ///
    /// # Errors
    /// As [`render`](TestIdp::render).
    pub fn saml_response(&self, t: &ResponseTemplate) -> Result<String, KeyError> {
        Ok(B64.encode(self.render(t)?))
    }
}

fn opt_attr(o: &mut String, name: &str, v: &Option<String>) {
    if let Some(v) = v {
        let _ = write!(o, " {name}=\"{}\"", esc(v));
    }
}

fn render_xml(t: &ResponseTemplate) -> String {
    let mut o = String::with_capacity(4096);
    let _ = write!(
        o,
        "<samlp:Response xmlns:samlp=\"{NS_SAMLP}\" xmlns:saml=\"{NS_SAML}\""
    );
    opt_attr(&mut o, "ID", &t.id);
    opt_attr(&mut o, "Version", &t.version);
    opt_attr(&mut o, "IssueInstant", &t.issue_instant);
    opt_attr(&mut o, "InResponseTo", &t.in_response_to);
    opt_attr(&mut o, "Destination", &t.destination);
    o.push('>');
    if let Some(i) = &t.issuer {
        o.push_str("<saml:Issuer");
        opt_attr(&mut o, "Format", &t.issuer_format);
        let _ = write!(o, ">{}</saml:Issuer>", esc(i));
    }
    if let Some(s) = &t.status {
        let _ = write!(o, "<samlp:Status><samlp:StatusCode Value=\"{}\"", esc(s));
        match &t.sub_status {
            Some(sub) => {
                let _ = write!(
                    o,
                    "><samlp:StatusCode Value=\"{}\"/></samlp:StatusCode>",
                    esc(sub)
                );
            }
            None => o.push_str("/>"),
        }
        if let Some(m) = &t.status_message {
            let _ = write!(o, "<samlp:StatusMessage>{}</samlp:StatusMessage>", esc(m));
        }
        o.push_str("</samlp:Status>");
    }
    if let Some(a) = &t.assertion {
        render_assertion(&mut o, a);
    }
    o.push_str("</samlp:Response>");
    o
}

fn render_assertion(o: &mut String, a: &AssertionTemplate) {
    o.push_str("<saml:Assertion");
    opt_attr(o, "ID", &a.id);
    opt_attr(o, "Version", &a.version);
    opt_attr(o, "IssueInstant", &a.issue_instant);
    o.push('>');
    if let Some(i) = &a.issuer {
        o.push_str("<saml:Issuer");
        opt_attr(o, "Format", &a.issuer_format);
        let _ = write!(o, ">{}</saml:Issuer>", esc(i));
    }
    if a.subject {
        o.push_str("<saml:Subject>");
        if let Some(n) = &a.name_id {
            o.push_str("<saml:NameID");
            opt_attr(o, "Format", &a.name_id_format);
            opt_attr(o, "NameQualifier", &a.name_qualifier);
            let _ = write!(o, ">{}</saml:NameID>", esc(n));
        }
        if a.subject_confirmation {
            o.push_str("<saml:SubjectConfirmation");
            opt_attr(o, "Method", &a.confirmation_method);
            o.push('>');
            if a.confirmation_data {
                o.push_str("<saml:SubjectConfirmationData");
                opt_attr(o, "InResponseTo", &a.confirmation_in_response_to);
                opt_attr(o, "NotOnOrAfter", &a.confirmation_not_on_or_after);
                opt_attr(o, "Recipient", &a.recipient);
                o.push_str("/>");
            }
            o.push_str("</saml:SubjectConfirmation>");
        }
        o.push_str("</saml:Subject>");
    }
    if a.conditions {
        o.push_str("<saml:Conditions");
        opt_attr(o, "NotBefore", &a.not_before);
        opt_attr(o, "NotOnOrAfter", &a.not_on_or_after);
        o.push('>');
        if a.audience_restriction {
            o.push_str("<saml:AudienceRestriction>");
            if let Some(au) = &a.audience {
                let _ = write!(o, "<saml:Audience>{}</saml:Audience>", esc(au));
            }
            o.push_str("</saml:AudienceRestriction>");
        }
        o.push_str("</saml:Conditions>");
    }
    if a.authn_statement {
        let _ = write!(
            o,
            "<saml:AuthnStatement AuthnInstant=\"{}\"",
            instant(Utc::now())
        );
        opt_attr(o, "SessionIndex", &a.session_index);
        o.push_str("><saml:AuthnContext>");
        if let Some(c) = &a.authn_context_class_ref {
            let _ = write!(
                o,
                "<saml:AuthnContextClassRef>{}</saml:AuthnContextClassRef>",
                esc(c)
            );
        }
        o.push_str("</saml:AuthnContext></saml:AuthnStatement>");
    }
    if let Some(attrs) = &a.attributes {
        o.push_str("<saml:AttributeStatement>");
        for (name, value) in attrs {
            let _ = write!(o, "<saml:Attribute Name=\"{}\">", esc(name));
            if let Some(v) = value {
                let _ = write!(o, "<saml:AttributeValue>{}</saml:AttributeValue>", esc(v));
            }
            o.push_str("</saml:Attribute>");
        }
        o.push_str("</saml:AttributeStatement>");
    }
    o.push_str("</saml:Assertion>");
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn read_request(xml: String, relay_state: Option<String>) -> Result<ReceivedRequest, TestIdpError> {
    let err = |s: &str| TestIdpError(s.to_owned());
    let doc = xmldsig::Document::parse(xml.as_bytes()).map_err(|e| TestIdpError(e.to_string()))?;
    let root = doc.root();
    if !root.is(NS_SAMLP, "AuthnRequest") {
        return Err(err("not an AuthnRequest"));
    }
    let issuer = root
        .child(NS_SAML, "Issuer")
        .ok_or_else(|| err("no Issuer"))?;
    let rac = root
        .child(NS_SAMLP, "RequestedAuthnContext")
        .ok_or_else(|| err("no RequestedAuthnContext"))?;
    let level = rac
        .child(NS_SAML, "AuthnContextClassRef")
        .and_then(|c| SpidLevel::from_uri(c.text().trim()))
        .ok_or_else(|| err("no SPID level"))?;
    let comparison = rac
        .attr("Comparison")
        .unwrap_or("exact")
        .parse()
        .map_err(|()| err("bad Comparison"))?;
    let req = ReceivedRequest {
        id: root.attr("ID").ok_or_else(|| err("no ID"))?.to_owned(),
        issue_instant: root
            .attr("IssueInstant")
            .ok_or_else(|| err("no IssueInstant"))?
            .to_owned(),
        issuer: issuer.text().trim().to_owned(),
        name_qualifier: issuer.attr("NameQualifier").unwrap_or_default().to_owned(),
        acs_url: root.attr("AssertionConsumerServiceURL").map(str::to_owned),
        acs_index: root
            .attr("AssertionConsumerServiceIndex")
            .and_then(|v| v.parse().ok()),
        level,
        comparison,
        relay_state,
        xml: String::new(),
    };
    Ok(ReceivedRequest { xml, ..req })
}
