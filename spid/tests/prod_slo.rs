//! Single Logout: SP-initiated round trips with an IdP played by the test (both bindings),
//! IdP-initiated requests, and the attacks on each.
#![allow(clippy::unwrap_used)]

use std::io::Read as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{Duration, Utc};
use spid::{
    AuthnOptions, AuthnRequestMessage, Binding, Error, IncomingMessage, LogoutError, LogoutMessage,
    MemorySessionStore, ServiceProvider, SessionStore, SpConfig, SpCredentials, SpSession, TestIdp,
    TestUser, quote_plus,
};

const BASE: &str = "http://127.0.0.1:8000";
const ACS: &str = "http://127.0.0.1:8000/spid/acs";
const SLO: &str = "http://127.0.0.1:8000/spid/slo";
const IDP: &str = "https://idp.test.example";
const IDP_SLO: &str = "https://idp.test.example/sso";
const NS_SAMLP: &str = "urn:oasis:names:tc:SAML:2.0:protocol";

fn key_pem(name: &str) -> (String, String) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keys");
    (
        std::fs::read_to_string(dir.join(format!("{name}.key"))).unwrap(),
        std::fs::read_to_string(dir.join(format!("{name}.crt"))).unwrap(),
    )
}

fn creds(name: &str) -> SpCredentials {
    let (k, c) = key_pem(name);
    SpCredentials::from_pem(&k, &c).unwrap()
}

fn idp() -> TestIdp {
    TestIdp::new(IDP, IDP_SLO, creds("idp"))
}

fn sp() -> ServiceProvider {
    let mut sp = ServiceProvider::new(SpConfig::example_public(BASE), creds("sp")).unwrap();
    sp.add_idp(idp().metadata().unwrap()).unwrap();
    sp
}

/// A real login through the test IdP, kept as a session.
async fn logged_in(sp: &ServiceProvider, cookie: &str) -> SpSession {
    let AuthnRequestMessage::Redirect { url, .. } = sp
        .authn_request(AuthnOptions::new(IDP, cookie))
        .await
        .unwrap()
    else {
        panic!("redirect expected")
    };
    let req = idp().read_redirect(url.split_once('?').unwrap().1).unwrap();
    let t = idp().template(&req, ACS, &TestUser::example(), Utc::now());
    let b64 = idp().saml_response(&t).unwrap();
    let auth = sp.process_response(&b64, cookie).await.unwrap();
    SpSession::new(cookie, &auth, Utc::now(), Duration::hours(1))
}

/// Signs `xml` (root ID `id`) enveloped, as an IdP with key `name` would.
fn sign_as(name: &str, xml: &str, id: &str) -> String {
    let (k, c) = key_pem(name);
    let key = xmldsig::SigningKey::from_pem(k.as_bytes()).unwrap();
    let cert = xmldsig::Certificate::from_pem(c.as_bytes()).unwrap();
    let opts = xmldsig::SignOptions::new(id, &key)
        .certificate(&cert)
        .placement(xmldsig::Placement::after(
            "urn:oasis:names:tc:SAML:2.0:assertion",
            "Issuer",
        ));
    String::from_utf8(xmldsig::sign_enveloped(xml.as_bytes(), &opts).unwrap()).unwrap()
}

/// A Redirect-binding query for `field`=`xml` signed by key `name`.
fn redirect_query(name: &str, field: &str, xml: &str, relay: Option<&str>) -> String {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut enc, xml.as_bytes()).unwrap();
    let msg = B64.encode(enc.finish().unwrap());
    let mut q = format!("{field}={}", quote_plus(&msg));
    if let Some(r) = relay {
        q.push_str(&format!("&RelayState={}", quote_plus(r)));
    }
    q.push_str(&format!("&SigAlg={}", quote_plus(spid::RSA_SHA256)));
    let sig = creds(name).sign_rsa_sha256(q.as_bytes()).unwrap();
    format!("{q}&Signature={}", quote_plus(&B64.encode(sig)))
}

fn now_s() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn logout_response_xml(id: &str, in_response_to: &str, issuer: &str, status: &str) -> String {
    format!(
        "<samlp:LogoutResponse xmlns:samlp=\"{NS_SAMLP}\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{SLO}\" InResponseTo=\"{in_response_to}\">\
         <saml:Issuer Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:entity\">{issuer}</saml:Issuer>\
         <samlp:Status><samlp:StatusCode Value=\"urn:oasis:names:tc:SAML:2.0:status:{status}\"/></samlp:Status></samlp:LogoutResponse>",
        now_s()
    )
}

fn logout_request_xml(id: &str, issuer: &str, name_id: &str) -> String {
    format!(
        "<samlp:LogoutRequest xmlns:samlp=\"{NS_SAMLP}\" xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" Version=\"2.0\" IssueInstant=\"{}\" Destination=\"{SLO}\">\
         <saml:Issuer Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:entity\">{issuer}</saml:Issuer>\
         <saml:NameID Format=\"urn:oasis:names:tc:SAML:2.0:nameid-format:transient\" NameQualifier=\"{issuer}\">{name_id}</saml:NameID>\
         <samlp:SessionIndex>_idx</samlp:SessionIndex></samlp:LogoutRequest>",
        now_s()
    )
}

/// What the IdP does with the SP's Redirect LogoutRequest: check the query signature with the
/// SP certificate (independently of the engine) and read the XML.
fn idp_reads_redirect(url: &str) -> (String, Option<String>) {
    let query = url.split_once('?').unwrap().1;
    let (signed, sig) = query.rsplit_once("&Signature=").unwrap();
    let sig = B64.decode(urlencoding_decode(sig)).unwrap();
    let cert = xmldsig::Certificate::from_pem(key_pem("sp").1.as_bytes()).unwrap();
    cert.public_key()
        .verify(
            xmldsig::SignatureAlgorithm::RsaSha256,
            signed.as_bytes(),
            &sig,
        )
        .unwrap();
    let mut xml = String::new();
    let mut relay = None;
    for pair in signed.split('&') {
        let (k, v) = pair.split_once('=').unwrap();
        match k {
            "SAMLRequest" => {
                let raw = B64.decode(urlencoding_decode(v)).unwrap();
                flate2::read::DeflateDecoder::new(&raw[..])
                    .read_to_string(&mut xml)
                    .unwrap();
            }
            "RelayState" => relay = Some(urlencoding_decode(v)),
            _ => {}
        }
    }
    (xml, relay)
}

fn urlencoding_decode(s: &str) -> String {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                out.push(
                    u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap(), 16).unwrap(),
                );
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

fn request_id(xml: &str) -> String {
    let doc = xmldsig::Document::parse(xml.as_bytes()).unwrap();
    doc.root().attr("ID").unwrap().to_owned()
}

fn logout_err(r: Result<impl std::fmt::Debug, Error>) -> LogoutError {
    match r {
        Err(Error::Logout(e)) => e,
        other => panic!("expected a logout error, got {other:?}"),
    }
}

#[tokio::test]
async fn sp_initiated_redirect_round_trip() {
    let sp = sp();
    let session = logged_in(&sp, "cookie-1").await;
    let msg = sp
        .logout_request(&session, Binding::HttpRedirect, Some("back".into()))
        .await
        .unwrap();
    let LogoutMessage::Redirect { url, id } = msg else {
        panic!()
    };
    assert!(url.starts_with(IDP_SLO));
    let (xml, relay) = idp_reads_redirect(&url);
    assert_eq!(relay.as_deref(), Some("back"));
    assert_eq!(request_id(&xml), id);
    assert!(xml.contains(&format!(">{}</saml:NameID>", session.name_id)));
    assert!(xml.contains(&format!("Destination=\"{IDP_SLO}\"")));
    if let Some(idx) = &session.session_index {
        assert!(xml.contains(&format!("<samlp:SessionIndex>{idx}</samlp:SessionIndex>")));
    }

    // The IdP answers with a signed Redirect LogoutResponse.
    let resp = logout_response_xml("_r1", &id, IDP, "Success");
    let q = redirect_query("idp", "SAMLResponse", &resp, relay.as_deref());
    // Another session cannot complete it.
    let e = logout_err(
        sp.process_logout_response(IncomingMessage::Redirect { query: &q }, "cookie-2")
            .await,
    );
    assert!(matches!(e, LogoutError::UnknownRequest(_)));
    let done = sp
        .process_logout_response(IncomingMessage::Redirect { query: &q }, "cookie-1")
        .await
        .unwrap();
    assert_eq!(done.request_id, id);
    assert_eq!(done.relay_state.as_deref(), Some("back"));
    // Once only.
    let e = logout_err(
        sp.process_logout_response(IncomingMessage::Redirect { query: &q }, "cookie-1")
            .await,
    );
    assert!(matches!(e, LogoutError::UnknownRequest(_)));
}

#[tokio::test]
async fn sp_initiated_post_round_trip() {
    let sp = sp();
    let session = logged_in(&sp, "cookie-p").await;
    let LogoutMessage::Post {
        message, html, id, ..
    } = sp
        .logout_request(&session, Binding::HttpPost, None)
        .await
        .unwrap()
    else {
        panic!()
    };
    assert!(html.contains("name=\"SAMLRequest\""));
    // Independent check of the enveloped signature with the SP certificate.
    let xml = B64.decode(&message).unwrap();
    let doc = xmldsig::Document::parse(&xml).unwrap();
    let cert = xmldsig::Certificate::from_pem(key_pem("sp").1.as_bytes()).unwrap();
    let trusted = [xmldsig::TrustedKey::from_certificate(cert)];
    let v =
        xmldsig::verify_element(doc.root(), &trusted, &xmldsig::VerifyOptions::default()).unwrap();
    assert_eq!(v.element().attr("ID"), Some(id.as_str()));

    let resp = sign_as(
        "idp",
        &logout_response_xml("_r2", &id, IDP, "Success"),
        "_r2",
    );
    let b64 = B64.encode(resp);
    let done = sp
        .process_logout_response(
            IncomingMessage::Post {
                message: &b64,
                relay_state: None,
            },
            "cookie-p",
        )
        .await
        .unwrap();
    assert_eq!(done.idp_entity_id, IDP);
}

#[tokio::test]
async fn logout_response_attacks_are_rejected() {
    let sp = sp();
    let session = logged_in(&sp, "c").await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        let LogoutMessage::Redirect { id, .. } = sp
            .logout_request(&session, Binding::HttpRedirect, None)
            .await
            .unwrap()
        else {
            panic!()
        };
        ids.push(id);
    }
    let post = |xml: String| B64.encode(xml);
    let run = |b64: String| {
        let sp = &sp;
        async move {
            logout_err(
                sp.process_logout_response(
                    IncomingMessage::Post {
                        message: &b64,
                        relay_state: None,
                    },
                    "c",
                )
                .await,
            )
        }
    };
    // Unsigned.
    let e = run(post(logout_response_xml("_a", &ids[0], IDP, "Success"))).await;
    assert!(matches!(e, LogoutError::Signature(_)), "{e}");
    // Signed by a key that is not the IdP's.
    let e = run(post(sign_as(
        "other",
        &logout_response_xml("_b", &ids[1], IDP, "Success"),
        "_b",
    )))
    .await;
    assert!(matches!(e, LogoutError::Signature(_)), "{e}");
    // Tampered after signing.
    let signed = sign_as(
        "idp",
        &logout_response_xml("_c", &ids[2], IDP, "Success"),
        "_c",
    );
    let e = run(post(signed.replace(SLO, "http://127.0.0.1:8000/spid/sl0"))).await;
    assert!(
        matches!(e, LogoutError::Signature(_) | LogoutError::Invalid { .. }),
        "{e}"
    );
    // Non-success status.
    let e = run(post(sign_as(
        "idp",
        &logout_response_xml("_d", &ids[3], IDP, "Requester"),
        "_d",
    )))
    .await;
    assert!(matches!(e, LogoutError::Status { .. }), "{e}");
    // Another issuer than the IdP asked.
    let e = run(post(sign_as(
        "idp",
        &logout_response_xml("_e", &ids[4], "https://evil.example", "Success"),
        "_e",
    )))
    .await;
    assert!(matches!(e, LogoutError::WrongIssuer { .. }), "{e}");
    // Redirect with a SHA-1 SigAlg is refused.
    let resp = logout_response_xml("_f", &ids[5], IDP, "Success");
    let q = redirect_query("idp", "SAMLResponse", &resp, None).replace(
        &quote_plus(spid::RSA_SHA256),
        &quote_plus("http://www.w3.org/2000/09/xmldsig#rsa-sha1"),
    );
    let e = logout_err(
        sp.process_logout_response(IncomingMessage::Redirect { query: &q }, "c")
            .await,
    );
    assert!(matches!(e, LogoutError::Signature(_)), "{e}");
    // Not base64 / not a LogoutResponse.
    let e = run("%%%".into()).await;
    assert!(matches!(e, LogoutError::Encoding(_)), "{e}");
    let e = run(post(logout_request_xml("_g", IDP, "n"))).await;
    assert!(matches!(e, LogoutError::WrongMessage { .. }), "{e}");
}

#[tokio::test]
async fn idp_initiated_logout_ends_sessions_and_answers_signed() {
    let sp = sp();
    let sessions = MemorySessionStore::new();
    let session = logged_in(&sp, "cookie-i").await;
    sessions.put_session(session.clone()).await.unwrap();

    let req = logout_request_xml("_idpreq1", IDP, &session.name_id);
    let q = redirect_query("idp", "SAMLRequest", &req, Some("idp-state"));
    let got = sp
        .process_idp_logout_request(IncomingMessage::Redirect { query: &q })
        .await
        .unwrap();
    assert_eq!(got.name_id, session.name_id);
    assert_eq!(got.session_indexes, vec!["_idx".to_owned()]);
    assert_eq!(got.relay_state.as_deref(), Some("idp-state"));
    assert_eq!(
        sessions
            .remove_subject(&got.idp_entity_id, &got.name_id)
            .await
            .unwrap(),
        1
    );
    assert!(
        sessions
            .get_session("cookie-i", Utc::now())
            .await
            .unwrap()
            .is_none()
    );

    // Replaying the same LogoutRequest is refused.
    let e = logout_err(
        sp.process_idp_logout_request(IncomingMessage::Redirect { query: &q })
            .await,
    );
    assert!(matches!(e, LogoutError::Replay(_)), "{e}");

    // The answer: a signed LogoutResponse to the IdP, in both bindings.
    let LogoutMessage::Post { message, .. } = sp.logout_response(&got, Binding::HttpPost).unwrap()
    else {
        panic!()
    };
    let xml = B64.decode(&message).unwrap();
    let doc = xmldsig::Document::parse(&xml).unwrap();
    let cert = xmldsig::Certificate::from_pem(key_pem("sp").1.as_bytes()).unwrap();
    let trusted = [xmldsig::TrustedKey::from_certificate(cert)];
    let v =
        xmldsig::verify_element(doc.root(), &trusted, &xmldsig::VerifyOptions::default()).unwrap();
    let root = v.element();
    assert!(root.is(NS_SAMLP, "LogoutResponse"));
    assert_eq!(root.attr("InResponseTo"), Some("_idpreq1"));
    assert_eq!(root.attr("Destination"), Some(IDP_SLO));
    let LogoutMessage::Redirect { url, .. } =
        sp.logout_response(&got, Binding::HttpRedirect).unwrap()
    else {
        panic!()
    };
    assert!(url.contains("SAMLResponse=") && url.contains("RelayState=idp-state"));
}

#[tokio::test]
async fn idp_logout_request_attacks_are_rejected() {
    let sp = sp();
    let run = |q: String| {
        let sp = &sp;
        async move {
            logout_err(
                sp.process_idp_logout_request(IncomingMessage::Redirect { query: &q })
                    .await,
            )
        }
    };
    // Signed by the wrong key.
    let e = run(redirect_query(
        "other",
        "SAMLRequest",
        &logout_request_xml("_x1", IDP, "n"),
        None,
    ))
    .await;
    assert!(matches!(e, LogoutError::Signature(_)), "{e}");
    // Unknown issuer.
    let e = run(redirect_query(
        "idp",
        "SAMLRequest",
        &logout_request_xml("_x2", "https://evil.example", "n"),
        None,
    ))
    .await;
    assert!(matches!(e, LogoutError::UnknownIdp(_)), "{e}");
    // No signature at all.
    let q = redirect_query(
        "idp",
        "SAMLRequest",
        &logout_request_xml("_x3", IDP, "n"),
        None,
    );
    let unsigned = q.split("&SigAlg=").next().unwrap().to_owned();
    let e = run(unsigned).await;
    assert!(matches!(e, LogoutError::Signature(_)), "{e}");
    // RelayState changed after signing.
    let q = redirect_query(
        "idp",
        "SAMLRequest",
        &logout_request_xml("_x4", IDP, "n"),
        Some("a"),
    );
    let e = run(q.replace("RelayState=a", "RelayState=b")).await;
    assert!(matches!(e, LogoutError::Signature(_)), "{e}");
    // Addressed to someone else.
    let other_dest = logout_request_xml("_x5", IDP, "n").replace(SLO, "https://other.example/slo");
    let e = run(redirect_query("idp", "SAMLRequest", &other_dest, None)).await;
    assert!(
        matches!(
            e,
            LogoutError::Invalid {
                attribute: "Destination",
                ..
            }
        ),
        "{e}"
    );
    // Unsigned POST.
    let b64 = B64.encode(logout_request_xml("_x6", IDP, "n"));
    let e = logout_err(
        sp.process_idp_logout_request(IncomingMessage::Post {
            message: &b64,
            relay_state: None,
        })
        .await,
    );
    assert!(matches!(e, LogoutError::Signature(_)), "{e}");
    // Signed POST is accepted.
    let b64 = B64.encode(sign_as("idp", &logout_request_xml("_x7", IDP, "n"), "_x7"));
    let ok = sp
        .process_idp_logout_request(IncomingMessage::Post {
            message: &b64,
            relay_state: None,
        })
        .await
        .unwrap();
    assert_eq!(ok.id, "_x7");
}
