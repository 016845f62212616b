//! Single Logout: SP-initiated `LogoutRequest` (HTTP-Redirect and HTTP-POST, signed),
//! `LogoutResponse` validation, and IdP-initiated `LogoutRequest` handling with a signed
//! `LogoutResponse`.
//!
//! Incoming messages are verified with the keys of the IdP's metadata only: an enveloped
//! signature covering the root (HTTP-POST) or the query-string signature (HTTP-Redirect, over
//! the parameters exactly as received). Every check reads the verified document.

use std::fmt::Write as _;
use std::io::Read as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Duration, Utc};
use xmldsig::{Document, Element, SignatureAlgorithm};

use crate::authn::{RSA_SHA256, deflate_base64, post_form, quote_plus};
use crate::config::Binding;
use crate::error::Error;
use crate::session::SpSession;
use crate::sp::ServiceProvider;
use crate::store::PendingRequest;
use crate::xml::{NAMEID_ENTITY, NAMEID_TRANSIENT, NS_SAML, NS_SAMLP, STATUS_SUCCESS, esc};
use crate::xml::{instant, new_id, parse_instant};

/// Largest incoming SLO message, in bytes (base64 and inflated XML alike).
const MAX_MESSAGE: usize = 256 * 1024;

/// A Single Logout failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LogoutError {
    /// The IdP has no `SingleLogoutService` for the binding.
    #[error("IdP {idp:?} has no SingleLogoutService for {binding}")]
    NoEndpoint {
        /// IdP entityID.
        idp: String,
        /// Binding URI.
        binding: &'static str,
    },
    /// The IdP is not trusted.
    #[error("IdP {0:?} is not trusted")]
    UnknownIdp(String),
    /// The RelayState is not an opaque token (at most 80 bytes, no URL).
    #[error("RelayState {0:?} is not an opaque token of at most 80 bytes")]
    RelayState(String),
    /// The message could not be decoded (base64, DEFLATE, size, query string).
    #[error("message encoding: {0}")]
    Encoding(String),
    /// The XML is not well-formed or breaks a parser limit.
    #[error("XML: {0}")]
    Xml(String),
    /// The root element is not the expected one.
    #[error("expected <{expected}>, found <{found}>")]
    WrongMessage {
        /// Expected local name.
        expected: &'static str,
        /// Found qualified name.
        found: String,
    },
    /// A required attribute or element is missing or empty.
    #[error("<{element}> lacks {what}")]
    Missing {
        /// Element.
        element: &'static str,
        /// Attribute or child.
        what: &'static str,
    },
    /// An attribute has a wrong value.
    #[error("<{element}> {attribute}={found:?}: {reason}")]
    Invalid {
        /// Element.
        element: &'static str,
        /// Attribute.
        attribute: &'static str,
        /// Value found.
        found: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The signature is missing, invalid, or made with a refused algorithm.
    #[error("signature: {0}")]
    Signature(String),
    /// `InResponseTo` names no logout request of this session.
    #[error("InResponseTo {0:?} names no pending LogoutRequest of this session")]
    UnknownRequest(String),
    /// The LogoutResponse comes from another IdP than the one asked.
    #[error("Issuer {found:?} is not the IdP {expected:?} the LogoutRequest was sent to")]
    WrongIssuer {
        /// Expected.
        expected: String,
        /// Found.
        found: String,
    },
    /// The IdP answered with a non-success status.
    #[error("IdP answered status {status:?}")]
    Status {
        /// Top-level status code.
        status: String,
    },
    /// A LogoutRequest with this ID was already processed.
    #[error("LogoutRequest {0:?} was already processed (replay)")]
    Replay(String),
}

/// An incoming SAML protocol message as received on the SLO endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncomingMessage<'a> {
    /// HTTP-Redirect: the raw query string (after `?`, still percent-encoded).
    Redirect {
        /// Query string.
        query: &'a str,
    },
    /// HTTP-POST: the `SAMLRequest`/`SAMLResponse` form field (base64) and `RelayState`.
    Post {
        /// The base64 message.
        message: &'a str,
        /// `RelayState`, when posted.
        relay_state: Option<&'a str>,
    },
}

/// A signed logout message ready to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogoutMessage {
    /// HTTP-Redirect binding: answer 302 with this `Location`.
    Redirect {
        /// The full URL with the message, `RelayState`, `SigAlg` and `Signature`.
        url: String,
        /// The message ID.
        id: String,
    },
    /// HTTP-POST binding: answer 200 with this auto-submitting HTML form.
    Post {
        /// The HTML page.
        html: String,
        /// Where the form posts.
        action: String,
        /// The base64 signed message.
        message: String,
        /// The RelayState.
        relay_state: Option<String>,
        /// The message ID.
        id: String,
    },
}

/// A completed SP-initiated logout.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LogoutCompleted {
    /// The IdP entityID.
    pub idp_entity_id: String,
    /// The LogoutRequest ID answered.
    pub request_id: String,
    /// The RelayState sent with the request.
    pub relay_state: Option<String>,
}

/// A verified IdP-initiated LogoutRequest.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdpLogoutRequest {
    /// The request `ID` (the response's `InResponseTo`).
    pub id: String,
    /// The IdP entityID.
    pub idp_entity_id: String,
    /// The subject's `NameID`.
    pub name_id: String,
    /// `SessionIndex` values (may be empty).
    pub session_indexes: Vec<String>,
    /// The RelayState received, to send back with the response.
    pub relay_state: Option<String>,
}

type L<T> = Result<T, LogoutError>;

fn check_relay_state(rs: Option<String>) -> L<Option<String>> {
    match rs {
        Some(rs) if rs.is_empty() || rs.len() > 80 || rs.contains("http") => {
            Err(LogoutError::RelayState(rs))
        }
        rs => Ok(rs),
    }
}

/// `name=value` pairs of a query string, values still encoded.
fn raw_params(query: &str) -> Vec<(&str, &str)> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| p.split_once('=').unwrap_or((p, "")))
        .collect()
}

/// Percent-decoding of a query value (`+` is a space).
fn percent_decode(s: &str) -> L<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| LogoutError::Encoding("bad percent-escape".into()))?;
                out.push(hex);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| LogoutError::Encoding("query value is not UTF-8".into()))
}

fn b64(s: &str) -> L<Vec<u8>> {
    if s.len() > MAX_MESSAGE {
        return Err(LogoutError::Encoding(format!(
            "message of {} bytes exceeds {MAX_MESSAGE}",
            s.len()
        )));
    }
    let compact: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    B64.decode(compact.as_bytes())
        .map_err(|_| LogoutError::Encoding("invalid base64".into()))
}

fn inflate(raw: &[u8]) -> L<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::DeflateDecoder::new(raw)
        .take(MAX_MESSAGE as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| LogoutError::Encoding(format!("DEFLATE: {e}")))?;
    if out.len() > MAX_MESSAGE {
        return Err(LogoutError::Encoding(format!(
            "inflated message exceeds {MAX_MESSAGE} bytes"
        )));
    }
    Ok(out)
}

/// A decoded incoming message: XML bytes, RelayState, and for Redirect the signed string,
/// algorithm and signature.
struct Decoded {
    xml: Vec<u8>,
    relay_state: Option<String>,
    redirect_sig: Option<(String, String, Vec<u8>)>,
}

fn decode(msg: &IncomingMessage<'_>, field: &'static str) -> L<Decoded> {
    match *msg {
        IncomingMessage::Post {
            message,
            relay_state,
        } => Ok(Decoded {
            xml: b64(message)?,
            relay_state: relay_state.map(str::to_owned),
            redirect_sig: None,
        }),
        IncomingMessage::Redirect { query } => {
            if query.len() > MAX_MESSAGE {
                return Err(LogoutError::Encoding("query string too long".into()));
            }
            let params = raw_params(query);
            let one = |name: &str| -> L<Option<&str>> {
                let mut it = params.iter().filter(|(k, _)| *k == name);
                let first = it.next().map(|(_, v)| *v);
                if it.next().is_some() {
                    return Err(LogoutError::Encoding(format!("{name} repeated")));
                }
                Ok(first)
            };
            let message = one(field)?.ok_or(LogoutError::Missing {
                element: "query",
                what: field,
            })?;
            let relay_raw = one("RelayState")?;
            let sig_alg_raw = one("SigAlg")?.ok_or_else(|| {
                LogoutError::Signature("HTTP-Redirect message without SigAlg".into())
            })?;
            let sig_raw = one("Signature")?.ok_or_else(|| {
                LogoutError::Signature("HTTP-Redirect message without Signature".into())
            })?;
            // The signed string is rebuilt from the parameters exactly as received.
            let mut signed = format!("{field}={message}");
            if let Some(rs) = relay_raw {
                let _ = write!(signed, "&RelayState={rs}");
            }
            let _ = write!(signed, "&SigAlg={sig_alg_raw}");
            let signature = b64(&percent_decode(sig_raw)?)?;
            let xml = inflate(&b64(&percent_decode(message)?)?)?;
            Ok(Decoded {
                xml,
                relay_state: relay_raw.map(percent_decode).transpose()?,
                redirect_sig: Some((signed, percent_decode(sig_alg_raw)?, signature)),
            })
        }
    }
}

fn attr<'a>(e: &Element<'a>, element: &'static str, what: &'static str) -> L<&'a str> {
    match e.attr(what) {
        Some(v) if !v.trim().is_empty() => Ok(v),
        _ => Err(LogoutError::Missing { element, what }),
    }
}

fn issuer(root: &Element<'_>, element: &'static str) -> L<String> {
    let mut it = root.children_named(NS_SAML, "Issuer");
    let iss = it.next().ok_or(LogoutError::Missing {
        element,
        what: "saml:Issuer",
    })?;
    if it.next().is_some() {
        return Err(LogoutError::Invalid {
            element,
            attribute: "Issuer",
            found: "several".into(),
            reason: "exactly one saml:Issuer expected",
        });
    }
    let text = iss.text().trim().to_owned();
    if text.is_empty() {
        return Err(LogoutError::Missing {
            element,
            what: "saml:Issuer text",
        });
    }
    Ok(text)
}

impl ServiceProvider {
    /// Where the SP sends logout messages to `idp` with `binding`.
    fn idp_slo(&self, idp: &str, binding: Binding) -> L<String> {
        let (meta, _) = self
            .trusted_idp(idp)
            .ok_or_else(|| LogoutError::UnknownIdp(idp.to_owned()))?;
        meta.slo
            .iter()
            .find(|e| e.binding == binding)
            .map(|e| e.location.clone())
            .ok_or(LogoutError::NoEndpoint {
                idp: idp.to_owned(),
                binding: binding.uri(),
            })
    }

    fn encode_outgoing(
        &self,
        xml: &str,
        id: &str,
        field: &'static str,
        destination: &str,
        binding: Binding,
        relay_state: Option<String>,
    ) -> Result<LogoutMessage, Error> {
        match binding {
            Binding::HttpRedirect => {
                let msg = deflate_base64(xml);
                let mut signed = format!("{field}={}", quote_plus(&msg));
                if let Some(rs) = &relay_state {
                    let _ = write!(signed, "&RelayState={}", quote_plus(rs));
                }
                let _ = write!(signed, "&SigAlg={}", quote_plus(RSA_SHA256));
                let sig = self.credentials().sign_rsa_sha256(signed.as_bytes())?;
                let sep = if destination.contains('?') { '&' } else { '?' };
                Ok(LogoutMessage::Redirect {
                    url: format!(
                        "{destination}{sep}{signed}&Signature={}",
                        quote_plus(&B64.encode(sig))
                    ),
                    id: id.to_owned(),
                })
            }
            Binding::HttpPost => {
                let issuer_qname = "{urn:oasis:names:tc:SAML:2.0:assertion}Issuer";
                let signed =
                    crate::dsig::sign_enveloped(xml, id, Some(issuer_qname), self.credentials())?;
                let message = B64.encode(signed.as_bytes());
                Ok(LogoutMessage::Post {
                    html: post_form(destination, field, &message, relay_state.as_deref()),
                    action: destination.to_owned(),
                    message,
                    relay_state,
                    id: id.to_owned(),
                })
            }
        }
    }

    /// Starts an SP-initiated logout of `session` at its IdP: a signed `LogoutRequest` with
    /// the session's `NameID` and `SessionIndex`. The request is remembered (in the pending
    /// request store, bound to `session.id`) so that only the IdP's answer to it is accepted.
    ///
    /// # Errors
    /// [`LogoutError`] (unknown IdP, no endpoint, bad RelayState), [`Error::Key`] if signing
    /// fails, [`Error::Store`].
    pub async fn logout_request(
        &self,
        session: &SpSession,
        binding: Binding,
        relay_state: Option<String>,
    ) -> Result<LogoutMessage, Error> {
        self.logout_request_at(session, binding, relay_state, Utc::now())
            .await
    }

    /// [`logout_request`](ServiceProvider::logout_request) at a given time (tests).
    ///
    /// # Errors
    /// As [`logout_request`](ServiceProvider::logout_request).
    #[tracing::instrument(name = "spid.slo.logout_request", skip_all)]
    pub async fn logout_request_at(
        &self,
        session: &SpSession,
        binding: Binding,
        relay_state: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<LogoutMessage, Error> {
        let relay_state = check_relay_state(relay_state)?;
        let destination = self.idp_slo(&session.idp_entity_id, binding)?;
        let id = new_id();
        let sp = &self.config().entity_id;
        let mut xml = format!(
            "<samlp:LogoutRequest xmlns:samlp=\"{NS_SAMLP}\" xmlns:saml=\"{NS_SAML}\" ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{ii}\" Destination=\"{dest}\">\
             <saml:Issuer Format=\"{NAMEID_ENTITY}\" NameQualifier=\"{sp}\">{sp}</saml:Issuer>\
             <saml:NameID NameQualifier=\"{nq}\" Format=\"{NAMEID_TRANSIENT}\">{nid}</saml:NameID>",
            ii = instant(now),
            dest = esc(&destination),
            sp = esc(sp),
            nq = esc(&session.name_id_qualifier),
            nid = esc(&session.name_id),
        );
        if let Some(idx) = &session.session_index {
            let _ = write!(xml, "<samlp:SessionIndex>{}</samlp:SessionIndex>", esc(idx));
        }
        xml.push_str("</samlp:LogoutRequest>");
        self.pending_store()
            .put(PendingRequest {
                id: id.clone(),
                session: session.id.clone(),
                idp_entity_id: session.idp_entity_id.clone(),
                issue_instant: now,
                level: session.level,
                comparison: crate::level::Comparison::Minimum,
                acs_url: destination.clone(),
                attribute_service_index: 0,
                relay_state: relay_state.clone(),
                expires_at: now + Duration::seconds(self.config().request_ttl_secs as i64),
            })
            .await?;
        self.encode_outgoing(&xml, &id, "SAMLRequest", &destination, binding, relay_state)
    }

    /// Verifies the signature of an incoming message from `idp` and returns the parsed document.
    fn verified_document(&self, d: &Decoded, idp: &str) -> L<Document> {
        let (_, trusted) = self
            .trusted_idp(idp)
            .ok_or_else(|| LogoutError::UnknownIdp(idp.to_owned()))?;
        let doc = Document::parse(&d.xml).map_err(|e| LogoutError::Xml(e.to_string()))?;
        match &d.redirect_sig {
            Some((signed, alg, sig)) => {
                let alg = SignatureAlgorithm::from_uri(alg)
                    .filter(|a| !a.is_sha1())
                    .ok_or_else(|| LogoutError::Signature(format!("SigAlg {alg:?} refused")))?;
                if !trusted
                    .iter()
                    .any(|k| k.public_key().verify(alg, signed.as_bytes(), sig).is_ok())
                {
                    return Err(LogoutError::Signature(
                        "query signature does not verify with the IdP's metadata keys".into(),
                    ));
                }
            }
            None => {
                let root = doc.root();
                if root.child(crate::xml::NS_DS, "Signature").is_none() {
                    return Err(LogoutError::Signature(
                        "HTTP-POST message is not signed".into(),
                    ));
                }
                let covered =
                    crate::dsig::verify_element(root, trusted).map_err(LogoutError::Signature)?;
                if covered.id() != root.id() {
                    return Err(LogoutError::Signature(
                        "signature does not cover the message".into(),
                    ));
                }
            }
        }
        Ok(doc)
    }

    fn check_common(&self, root: &Element<'_>, element: &'static str, now: DateTime<Utc>) -> L<()> {
        let version = attr(root, element, "Version")?;
        if version != "2.0" {
            return Err(LogoutError::Invalid {
                element,
                attribute: "Version",
                found: version.to_owned(),
                reason: "must be 2.0",
            });
        }
        attr(root, element, "ID")?;
        let ii = attr(root, element, "IssueInstant")?;
        let skew = Duration::seconds(self.config().clock_skew_secs as i64);
        let t = parse_instant(ii).ok_or_else(|| LogoutError::Invalid {
            element,
            attribute: "IssueInstant",
            found: ii.to_owned(),
            reason: "not a UTC xs:dateTime",
        })?;
        if t > now + skew
            || t < now - Duration::seconds(self.config().request_ttl_secs as i64) - skew
        {
            return Err(LogoutError::Invalid {
                element,
                attribute: "IssueInstant",
                found: ii.to_owned(),
                reason: "outside the accepted time window",
            });
        }
        if let Some(dest) = root.attr("Destination") {
            let ours = self
                .config()
                .single_logout_services
                .iter()
                .any(|s| s.location == dest);
            if !ours {
                return Err(LogoutError::Invalid {
                    element,
                    attribute: "Destination",
                    found: dest.to_owned(),
                    reason: "not one of the SP's SingleLogoutService locations",
                });
            }
        }
        Ok(())
    }

    /// Validates the IdP's `LogoutResponse` to an SP-initiated logout of `session_id`.
    ///
    /// The response must answer a pending LogoutRequest of this session (consumed now), come
    /// from the IdP it was sent to, be signed with that IdP's metadata keys, be addressed to
    /// one of our SLO locations and carry a success status.
    ///
    /// # Errors
    /// [`LogoutError`] naming the failed check, [`Error::Store`].
    pub async fn process_logout_response(
        &self,
        msg: IncomingMessage<'_>,
        session_id: &str,
    ) -> Result<LogoutCompleted, Error> {
        self.process_logout_response_at(msg, session_id, Utc::now())
            .await
    }

    /// [`process_logout_response`](ServiceProvider::process_logout_response) at a given time.
    ///
    /// # Errors
    /// As [`process_logout_response`](ServiceProvider::process_logout_response).
    #[tracing::instrument(name = "spid.slo.process_logout_response", skip_all)]
    pub async fn process_logout_response_at(
        &self,
        msg: IncomingMessage<'_>,
        session_id: &str,
        now: DateTime<Utc>,
    ) -> Result<LogoutCompleted, Error> {
        let d = decode(&msg, "SAMLResponse")?;
        // Read InResponseTo and Issuer before verification only to choose the keys.
        let (irt, iss) = {
            let doc = Document::parse(&d.xml).map_err(|e| LogoutError::Xml(e.to_string()))?;
            let root = doc.root();
            if !root.is(NS_SAMLP, "LogoutResponse") {
                return Err(LogoutError::WrongMessage {
                    expected: "samlp:LogoutResponse",
                    found: root.qname(),
                }
                .into());
            }
            (
                attr(&root, "LogoutResponse", "InResponseTo")?.to_owned(),
                issuer(&root, "LogoutResponse")?,
            )
        };
        let pending = self
            .pending_store()
            .take(&irt, session_id, now)
            .await?
            .ok_or_else(|| LogoutError::UnknownRequest(irt.clone()))?;
        if iss != pending.idp_entity_id {
            return Err(LogoutError::WrongIssuer {
                expected: pending.idp_entity_id,
                found: iss,
            }
            .into());
        }
        let doc = self.verified_document(&d, &pending.idp_entity_id)?;
        let root = doc.root();
        self.check_common(&root, "LogoutResponse", now)?;
        let status = root
            .child(NS_SAMLP, "Status")
            .and_then(|s| s.child(NS_SAMLP, "StatusCode"))
            .and_then(|c| c.attr("Value"))
            .ok_or(LogoutError::Missing {
                element: "LogoutResponse",
                what: "samlp:Status/samlp:StatusCode/@Value",
            })?;
        if status != STATUS_SUCCESS {
            return Err(LogoutError::Status {
                status: status.to_owned(),
            }
            .into());
        }
        Ok(LogoutCompleted {
            idp_entity_id: pending.idp_entity_id,
            request_id: irt,
            relay_state: pending.relay_state,
        })
    }

    /// Verifies an IdP-initiated `LogoutRequest`: a trusted Issuer, its signature with that
    /// IdP's metadata keys, version, time window, `NotOnOrAfter`, Destination, a `NameID`,
    /// and that its ID was not processed before. The caller then ends the subject's sessions
    /// and answers with [`logout_response`](ServiceProvider::logout_response).
    ///
    /// # Errors
    /// [`LogoutError`] naming the failed check, [`Error::Store`].
    pub async fn process_idp_logout_request(
        &self,
        msg: IncomingMessage<'_>,
    ) -> Result<IdpLogoutRequest, Error> {
        self.process_idp_logout_request_at(msg, Utc::now()).await
    }

    /// [`process_idp_logout_request`](ServiceProvider::process_idp_logout_request) at a given
    /// time.
    ///
    /// # Errors
    /// As [`process_idp_logout_request`](ServiceProvider::process_idp_logout_request).
    #[tracing::instrument(name = "spid.slo.process_idp_logout_request", skip_all)]
    pub async fn process_idp_logout_request_at(
        &self,
        msg: IncomingMessage<'_>,
        now: DateTime<Utc>,
    ) -> Result<IdpLogoutRequest, Error> {
        let d = decode(&msg, "SAMLRequest")?;
        let iss = {
            let doc = Document::parse(&d.xml).map_err(|e| LogoutError::Xml(e.to_string()))?;
            let root = doc.root();
            if !root.is(NS_SAMLP, "LogoutRequest") {
                return Err(LogoutError::WrongMessage {
                    expected: "samlp:LogoutRequest",
                    found: root.qname(),
                }
                .into());
            }
            issuer(&root, "LogoutRequest")?
        };
        let doc = self.verified_document(&d, &iss)?;
        let root = doc.root();
        self.check_common(&root, "LogoutRequest", now)?;
        if let Some(noa) = root.attr("NotOnOrAfter") {
            let t = parse_instant(noa).ok_or_else(|| LogoutError::Invalid {
                element: "LogoutRequest",
                attribute: "NotOnOrAfter",
                found: noa.to_owned(),
                reason: "not a UTC xs:dateTime",
            })?;
            if now >= t + Duration::seconds(self.config().clock_skew_secs as i64) {
                return Err(LogoutError::Invalid {
                    element: "LogoutRequest",
                    attribute: "NotOnOrAfter",
                    found: noa.to_owned(),
                    reason: "expired",
                }
                .into());
            }
        }
        let name_id = root
            .child(NS_SAML, "NameID")
            .map(|n| n.text().trim().to_owned())
            .filter(|t| !t.is_empty())
            .ok_or(LogoutError::Missing {
                element: "LogoutRequest",
                what: "saml:NameID",
            })?;
        let session_indexes = root
            .children_named(NS_SAMLP, "SessionIndex")
            .map(|s| s.text().trim().to_owned())
            .collect();
        let id = attr(&root, "LogoutRequest", "ID")?.to_owned();
        let keep = now + Duration::seconds(self.config().request_ttl_secs as i64 * 2);
        let fresh = self
            .assertion_store()
            .consume(&iss, &format!("logout-request:{id}"), keep, now)
            .await?;
        if !fresh {
            return Err(LogoutError::Replay(id).into());
        }
        Ok(IdpLogoutRequest {
            id,
            idp_entity_id: iss,
            name_id,
            session_indexes,
            relay_state: d.relay_state,
        })
    }

    /// The signed `LogoutResponse` (status Success) to an IdP-initiated logout, sent back with
    /// its RelayState.
    ///
    /// # Errors
    /// [`LogoutError::NoEndpoint`], [`Error::Key`] if signing fails.
    pub fn logout_response(
        &self,
        request: &IdpLogoutRequest,
        binding: Binding,
    ) -> Result<LogoutMessage, Error> {
        self.logout_response_at(request, binding, Utc::now())
    }

    /// [`logout_response`](ServiceProvider::logout_response) at a given time.
    ///
    /// # Errors
    /// As [`logout_response`](ServiceProvider::logout_response).
    #[tracing::instrument(name = "spid.slo.logout_response", skip_all)]
    pub fn logout_response_at(
        &self,
        request: &IdpLogoutRequest,
        binding: Binding,
        now: DateTime<Utc>,
    ) -> Result<LogoutMessage, Error> {
        let destination = self.idp_slo(&request.idp_entity_id, binding)?;
        let id = new_id();
        let sp = esc(&self.config().entity_id);
        let xml = format!(
            "<samlp:LogoutResponse xmlns:samlp=\"{NS_SAMLP}\" xmlns:saml=\"{NS_SAML}\" ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{}\" InResponseTo=\"{}\">\
             <saml:Issuer Format=\"{NAMEID_ENTITY}\" NameQualifier=\"{sp}\">{sp}</saml:Issuer>\
             <samlp:Status><samlp:StatusCode Value=\"{STATUS_SUCCESS}\"/></samlp:Status></samlp:LogoutResponse>",
            instant(now),
            esc(&destination),
            esc(&request.id),
        );
        self.encode_outgoing(
            &xml,
            &id,
            "SAMLResponse",
            &destination,
            binding,
            request.relay_state.clone(),
        )
    }
}
