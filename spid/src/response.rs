//! SAML Response validation with every SPID rule.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use xmldsig::{Document, Element};

use crate::attributes::{SpidAttribute, SpidIdentity};
use crate::error::ResponseError;
use crate::error_code::SpidErrorCode;
use crate::idp::IdpMetadata;
use crate::level::SpidLevel;
use crate::store::PendingRequest;
use crate::xml::{
    CM_BEARER, NAMEID_ENTITY, NAMEID_TRANSIENT, NS_DS, NS_SAML, NS_SAMLP, STATUS_SUCCESS,
    parse_instant,
};

/// A successful SPID authentication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Authenticated {
    /// The typed identity.
    pub identity: SpidIdentity,
    /// The level the IdP asserted.
    pub level: SpidLevel,
    /// The IdP entityID.
    pub idp_entity_id: String,
    /// `AuthnStatement/@SessionIndex` (absent at L2/L3 with some IdPs).
    pub session_index: Option<String>,
    /// The transient `NameID` (trimmed), needed for Single Logout.
    pub name_id: String,
    /// `NameID/@NameQualifier`.
    pub name_id_qualifier: String,
    /// The assertion `ID`.
    pub assertion_id: String,
    /// The request `ID` this response answered.
    pub request_id: String,
    /// The RelayState sent with the request.
    pub relay_state: Option<String>,
    /// `SubjectConfirmationData/@NotOnOrAfter`: the assertion may not be used after it.
    pub not_on_or_after: DateTime<Utc>,
}

pub(crate) type R<T> = Result<T, ResponseError>;

/// What the checks need besides the document.
pub(crate) struct Context<'a> {
    pub(crate) sp_entity_id: &'a str,
    pub(crate) idp: &'a IdpMetadata,
    pub(crate) trusted: &'a [xmldsig::TrustedKey],
    pub(crate) request: &'a PendingRequest,
    pub(crate) now: DateTime<Utc>,
    pub(crate) skew: Duration,
    pub(crate) profile: crate::profile::Profile,
}

fn attr<'a>(e: &Element<'a>, element: &'static str, attribute: &'static str) -> R<&'a str> {
    match e.attr(attribute) {
        None => Err(ResponseError::MissingAttribute { element, attribute }),
        Some(v) if v.trim().is_empty() => Err(ResponseError::EmptyAttribute { element, attribute }),
        Some(v) => Ok(v),
    }
}

fn one_child<'a>(
    e: &Element<'a>,
    ns: &str,
    local: &'static str,
    parent: &'static str,
) -> R<Element<'a>> {
    let mut it = e.children_named(ns, local);
    let first = it.next().ok_or(ResponseError::MissingElement {
        parent,
        element: local,
    })?;
    let extra = it.count();
    if extra > 0 {
        return Err(ResponseError::Duplicate {
            parent,
            element: local,
            count: extra + 1,
        });
    }
    Ok(first)
}

fn instant_attr(
    e: &Element<'_>,
    element: &'static str,
    attribute: &'static str,
) -> R<DateTime<Utc>> {
    let v = attr(e, element, attribute)?;
    parse_instant(v).ok_or_else(|| ResponseError::BadInstant {
        element,
        attribute,
        value: v.to_owned(),
    })
}

fn trimmed_text(e: &Element<'_>) -> String {
    e.text().trim().to_owned()
}

fn check_version(e: &Element<'_>, element: &'static str) -> R<()> {
    let v = attr(e, element, "Version")?;
    if v != "2.0" {
        return Err(ResponseError::Version {
            element,
            found: v.to_owned(),
        });
    }
    Ok(())
}

fn check_issue_instant(e: &Element<'_>, element: &'static str, ctx: &Context<'_>) -> R<()> {
    let t = instant_attr(e, element, "IssueInstant")?;
    if t + ctx.skew < ctx.request.issue_instant {
        return Err(ResponseError::IssuedBeforeRequest {
            element,
            value: t.to_rfc3339(),
            request: ctx.request.issue_instant.to_rfc3339(),
        });
    }
    if t > ctx.now + ctx.skew {
        return Err(ResponseError::InFuture {
            element,
            attribute: "IssueInstant",
            value: t.to_rfc3339(),
        });
    }
    Ok(())
}

fn check_issuer(
    parent: &Element<'_>,
    element: &'static str,
    format_required: bool,
    ctx: &Context<'_>,
) -> R<()> {
    let parent_name = if element == "Response/Issuer" {
        "Response"
    } else {
        "Assertion"
    };
    let issuer = one_child(parent, NS_SAML, "Issuer", parent_name)?;
    let value = trimmed_text(&issuer);
    if value.is_empty() {
        return Err(ResponseError::EmptyElement(element));
    }
    if value != ctx.idp.entity_id {
        return Err(ResponseError::WrongIssuer {
            element,
            expected: ctx.idp.entity_id.clone(),
            found: value,
        });
    }
    match issuer.attr("Format") {
        Some(NAMEID_ENTITY) => Ok(()),
        None if !format_required => Ok(()),
        other => Err(ResponseError::IssuerFormat {
            element,
            found: other.unwrap_or_default().to_owned(),
        }),
    }
}

/// Reads `Status`; `Ok(())` only for `Success`.
pub(crate) fn check_status(root: &Element<'_>) -> R<()> {
    let status = one_child(root, NS_SAMLP, "Status", "Response")?;
    let code = one_child(&status, NS_SAMLP, "StatusCode", "Status")?;
    let value = attr(&code, "StatusCode", "Value")?;
    if value == STATUS_SUCCESS {
        return Ok(());
    }
    let sub_status = code
        .children_named(NS_SAMLP, "StatusCode")
        .next()
        .and_then(|c| c.attr("Value").map(str::to_owned));
    let message = status
        .children_named(NS_SAMLP, "StatusMessage")
        .next()
        .map(|m| trimmed_text(&m));
    let error_code = message
        .as_deref()
        .and_then(SpidErrorCode::from_status_message);
    Err(ResponseError::Status {
        status: value.to_owned(),
        sub_status,
        message,
        error_code,
    })
}

/// Verifies the `ds:Signature` child of `element`, if any, and returns the handle that
/// verification gives back (the element the signature covers, which must be `element`).
fn verify_child_signature<'d>(
    element: &Element<'d>,
    what: &'static str,
    ctx: &Context<'_>,
) -> R<Option<Element<'d>>> {
    if element.children_named(NS_DS, "Signature").next().is_none() {
        return Ok(None);
    }
    let signed = crate::dsig::verify_element(*element, ctx.trusted)
        .map_err(|e| ResponseError::Signature(format!("{what}: {e}")))?;
    if signed.id() != element.id() {
        return Err(ResponseError::Signature(format!(
            "{what}: the signature covers another element (wrapping)"
        )));
    }
    Ok(Some(signed))
}

/// Every check of a response document, given the pending request it answers.
pub(crate) fn check_document(doc: &Document, ctx: &Context<'_>) -> R<Authenticated> {
    let root = doc.root();
    if !root.is(NS_SAMLP, "Response") {
        return Err(ResponseError::NotAResponse(root.qname()));
    }
    // --- Response (possibly unsigned: these checks only ever reject) ---
    attr(&root, "Response", "ID")?;
    check_version(&root, "Response")?;
    check_issue_instant(&root, "Response", ctx)?;
    let irt = attr(&root, "Response", "InResponseTo")?;
    if irt != ctx.request.id {
        return Err(ResponseError::InResponseTo {
            element: "Response",
            expected: ctx.request.id.clone(),
            found: irt.to_owned(),
        });
    }
    let dest = attr(&root, "Response", "Destination")?;
    if dest != ctx.request.acs_url {
        return Err(ResponseError::WrongRecipient {
            element: "Response",
            attribute: "Destination",
            expected: ctx.request.acs_url.clone(),
            found: dest.to_owned(),
        });
    }
    check_issuer(&root, "Response/Issuer", false, ctx)?;
    check_status(&root)?;

    // --- Signatures: the response's (optional) and the assertion's (mandatory) ---
    if root
        .children_named(NS_SAML, "EncryptedAssertion")
        .next()
        .is_some()
    {
        return Err(ResponseError::EncryptedAssertion);
    }
    let assertion_el = one_child(&root, NS_SAML, "Assertion", "Response")?;
    verify_child_signature(&root, "Response", ctx)?;
    let assertion = verify_child_signature(&assertion_el, "Assertion", ctx)?
        .ok_or(ResponseError::AssertionNotSigned)?;
    // From here on, read only through `assertion`, the handle the verification returned.
    check_assertion(&assertion, ctx)
}

fn check_assertion(a: &Element<'_>, ctx: &Context<'_>) -> R<Authenticated> {
    let assertion_id = attr(a, "Assertion", "ID")?.to_owned();
    check_version(a, "Assertion")?;
    check_issue_instant(a, "Assertion", ctx)?;
    check_issuer(
        a,
        "Assertion/Issuer",
        ctx.profile.assertion_issuer_format_required(),
        ctx,
    )?;

    // Subject
    let subject = one_child(a, NS_SAML, "Subject", "Assertion")?;
    let name_id_el = one_child(&subject, NS_SAML, "NameID", "Subject")?;
    let format = attr(&name_id_el, "NameID", "Format")?;
    if format != NAMEID_TRANSIENT {
        return Err(ResponseError::NameIdFormat(format.to_owned()));
    }
    let name_id_qualifier = attr(&name_id_el, "NameID", "NameQualifier")?.to_owned();
    let name_id = trimmed_text(&name_id_el);
    if name_id.is_empty() {
        return Err(ResponseError::EmptyElement("NameID"));
    }
    let sc = one_child(&subject, NS_SAML, "SubjectConfirmation", "Subject")?;
    let method = attr(&sc, "SubjectConfirmation", "Method")?;
    if method != CM_BEARER {
        return Err(ResponseError::ConfirmationMethod(method.to_owned()));
    }
    let scd = one_child(
        &sc,
        NS_SAML,
        "SubjectConfirmationData",
        "SubjectConfirmation",
    )?;
    let recipient = attr(&scd, "SubjectConfirmationData", "Recipient")?;
    if recipient != ctx.request.acs_url {
        return Err(ResponseError::WrongRecipient {
            element: "SubjectConfirmationData",
            attribute: "Recipient",
            expected: ctx.request.acs_url.clone(),
            found: recipient.to_owned(),
        });
    }
    let irt = attr(&scd, "SubjectConfirmationData", "InResponseTo")?;
    if irt != ctx.request.id {
        return Err(ResponseError::InResponseTo {
            element: "SubjectConfirmationData",
            expected: ctx.request.id.clone(),
            found: irt.to_owned(),
        });
    }
    let not_on_or_after = instant_attr(&scd, "SubjectConfirmationData", "NotOnOrAfter")?;
    if not_on_or_after + ctx.skew <= ctx.now {
        return Err(ResponseError::Expired {
            element: "SubjectConfirmationData",
            attribute: "NotOnOrAfter",
            value: not_on_or_after.to_rfc3339(),
        });
    }

    // Conditions
    let cond = one_child(a, NS_SAML, "Conditions", "Assertion")?;
    let not_before = instant_attr(&cond, "Conditions", "NotBefore")?;
    if not_before > ctx.now + ctx.skew {
        return Err(ResponseError::InFuture {
            element: "Conditions",
            attribute: "NotBefore",
            value: not_before.to_rfc3339(),
        });
    }
    let cond_noa = instant_attr(&cond, "Conditions", "NotOnOrAfter")?;
    if cond_noa + ctx.skew <= ctx.now {
        return Err(ResponseError::Expired {
            element: "Conditions",
            attribute: "NotOnOrAfter",
            value: cond_noa.to_rfc3339(),
        });
    }
    let ar = one_child(&cond, NS_SAML, "AudienceRestriction", "Conditions")?;
    let mut audiences = ar.children_named(NS_SAML, "Audience").peekable();
    if audiences.peek().is_none() {
        return Err(ResponseError::MissingElement {
            parent: "AudienceRestriction",
            element: "Audience",
        });
    }
    let mut found = Vec::new();
    let mut ok = false;
    for au in audiences {
        let v = trimmed_text(&au);
        if v.is_empty() {
            return Err(ResponseError::EmptyElement("Audience"));
        }
        ok |= v == ctx.sp_entity_id;
        found.push(v);
    }
    if !ok {
        return Err(ResponseError::Audience {
            expected: ctx.sp_entity_id.to_owned(),
            found: found.join(" "),
        });
    }

    // AuthnStatement
    let st = one_child(a, NS_SAML, "AuthnStatement", "Assertion")?;
    let session_index = st.attr("SessionIndex").map(str::to_owned);
    let ac = one_child(&st, NS_SAML, "AuthnContext", "AuthnStatement")?;
    let acr_el = one_child(&ac, NS_SAML, "AuthnContextClassRef", "AuthnContext")?;
    let acr = trimmed_text(&acr_el);
    if acr.is_empty() {
        return Err(ResponseError::EmptyElement("AuthnContextClassRef"));
    }
    let level = SpidLevel::from_uri(&acr).ok_or(ResponseError::UnknownLevel(acr))?;
    if !ctx.request.comparison.accepts(ctx.request.level, level) {
        return Err(ResponseError::Level {
            requested: ctx.request.level,
            comparison: ctx.request.comparison,
            returned: level,
        });
    }

    // Attributes
    let mut identity = SpidIdentity::default();
    for stmt in a.children_named(NS_SAML, "AttributeStatement") {
        let mut count = 0;
        for at in stmt.children_named(NS_SAML, "Attribute") {
            count += 1;
            let name = attr(&at, "Attribute", "Name")?;
            let values: Vec<String> = at
                .children_named(NS_SAML, "AttributeValue")
                .map(|v| trimmed_text(&v))
                .collect();
            let Some(value) = values.first() else {
                return Err(ResponseError::Attributes(format!(
                    "attribute {name} has no AttributeValue"
                )));
            };
            match SpidAttribute::from_name(name) {
                Some(known) => identity.set(known, value)?,
                None => {
                    identity.other.insert(name.to_owned(), value.clone());
                }
            }
        }
        if count == 0 {
            return Err(ResponseError::Attributes(
                "AttributeStatement without Attribute".into(),
            ));
        }
    }

    Ok(Authenticated {
        identity,
        level,
        idp_entity_id: ctx.idp.entity_id.clone(),
        session_index,
        name_id,
        name_id_qualifier,
        assertion_id,
        request_id: ctx.request.id.clone(),
        relay_state: ctx.request.relay_state.clone(),
        not_on_or_after,
    })
}
