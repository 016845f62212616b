//! AuthnRequest: every SPID rule, both bindings, signatures checked independently.

use std::io::Read as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use spid::{AuthnOptions, AuthnRequestMessage, Binding, Error, RequestError, SpidLevel};

use crate::{ACS, IDP_ENTITY, SP_ENTITY, sp, sp_creds, xmllint};

fn percent_decode(s: &str) -> String {
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

fn trusted_sp() -> Vec<xmldsig::TrustedKey> {
    vec![xmldsig::TrustedKey::from_certificate(
        xmldsig::Certificate::from_der(sp_creds().certificate_der()).unwrap(),
    )]
}

#[tokio::test]
async fn redirect_binding() {
    let sp = sp();
    let msg = sp
        .authn_request(AuthnOptions::new(IDP_ENTITY, "s"))
        .await
        .unwrap();
    let AuthnRequestMessage::Redirect { url, request_id } = msg else {
        panic!("not a redirect")
    };
    let (dest, query) = url.split_once('?').unwrap();
    assert_eq!(dest, "https://idp.test.example/sso");
    let params: Vec<(&str, &str)> = query
        .split('&')
        .map(|p| p.split_once('=').unwrap())
        .collect();
    let names: Vec<&str> = params.iter().map(|p| p.0).collect();
    assert_eq!(names, ["SAMLRequest", "RelayState", "SigAlg", "Signature"]);
    let relay = percent_decode(params[1].1);
    assert!(!relay.contains("http") && !relay.is_empty());
    assert_eq!(
        percent_decode(params[2].1),
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    );
    // The signed string is the query up to SigAlg, as sent.
    let signed = &query[..query.find("&Signature=").unwrap()];
    let sig = B64.decode(percent_decode(params[3].1)).unwrap();
    xmldsig::verify_bytes(
        &trusted_sp(),
        xmldsig::SignatureAlgorithm::RsaSha256,
        signed.as_bytes(),
        &sig,
        false,
    )
    .unwrap();
    // Tampering breaks it.
    let tampered = signed.replace("SigAlg=", "SigAlg=x");
    assert!(
        xmldsig::verify_bytes(
            &trusted_sp(),
            xmldsig::SignatureAlgorithm::RsaSha256,
            tampered.as_bytes(),
            &sig,
            false
        )
        .is_err()
    );

    let raw = B64.decode(percent_decode(params[0].1)).unwrap();
    let mut xml = String::new();
    flate2::read::DeflateDecoder::new(&raw[..])
        .read_to_string(&mut xml)
        .unwrap();
    check_request(&xml, &request_id, true);
    if let Some(r) = xmllint(&xml, "saml-schema-protocol-2.0.xsd") {
        r.unwrap();
    }
}

fn check_request(xml: &str, id: &str, force: bool) {
    let doc = xmldsig::Document::parse(xml.as_bytes()).unwrap();
    let r = doc.root();
    assert!(r.is("urn:oasis:names:tc:SAML:2.0:protocol", "AuthnRequest"));
    assert_eq!(r.attr("ID"), Some(id));
    assert_eq!(r.attr("Version"), Some("2.0"));
    assert!(r.attr("IssueInstant").unwrap().ends_with('Z'));
    assert_eq!(r.attr("Destination"), Some("https://idp.test.example/sso"));
    assert_eq!(r.attr("ForceAuthn"), force.then_some("true"));
    assert_eq!(r.attr("IsPassive"), None);
    assert_eq!(r.attr("AssertionConsumerServiceIndex"), Some("0"));
    assert_eq!(r.attr("AttributeConsumingServiceIndex"), Some("0"));
    let saml = "urn:oasis:names:tc:SAML:2.0:assertion";
    let issuer = r.child(saml, "Issuer").unwrap();
    assert_eq!(issuer.text(), SP_ENTITY);
    assert_eq!(issuer.attr("NameQualifier"), Some(SP_ENTITY));
    assert_eq!(
        issuer.attr("Format"),
        Some("urn:oasis:names:tc:SAML:2.0:nameid-format:entity")
    );
    let policy = r
        .child("urn:oasis:names:tc:SAML:2.0:protocol", "NameIDPolicy")
        .unwrap();
    assert_eq!(
        policy.attr("Format"),
        Some("urn:oasis:names:tc:SAML:2.0:nameid-format:transient")
    );
    assert_eq!(policy.attr("AllowCreate"), None);
    let rac = r
        .child(
            "urn:oasis:names:tc:SAML:2.0:protocol",
            "RequestedAuthnContext",
        )
        .unwrap();
    assert_eq!(rac.attr("Comparison"), Some("minimum"));
    assert_eq!(rac.children_named(saml, "AuthnContextClassRef").count(), 1);
}

#[tokio::test]
async fn post_binding_and_level_one() {
    let sp = sp();
    let mut opts = AuthnOptions::new(IDP_ENTITY, "s");
    opts.binding = Binding::HttpPost;
    opts.level = Some(SpidLevel::L1);
    opts.relay_state = Some("opaque-token".into());
    let AuthnRequestMessage::Post {
        html,
        action,
        saml_request,
        relay_state,
        request_id,
    } = sp.authn_request(opts).await.unwrap()
    else {
        panic!("not a POST")
    };
    assert_eq!(action, "https://idp.test.example/sso");
    assert_eq!(relay_state, "opaque-token");
    assert!(html.contains("document.forms[0].submit()"));
    assert!(
        html.contains("name=\"SAMLRequest\"")
            && html.contains("name=\"RelayState\" value=\"opaque-token\"")
    );
    let xml = String::from_utf8(B64.decode(&saml_request).unwrap()).unwrap();
    check_request(&xml, &request_id, false);
    // Enveloped signature right after saml:Issuer, verifying with the SP certificate.
    let doc = xmldsig::Document::parse(xml.as_bytes()).unwrap();
    let kids: Vec<String> = doc
        .root()
        .child_elements()
        .map(|e| e.local_name().to_owned())
        .collect();
    assert_eq!(kids[..2], ["Issuer".to_owned(), "Signature".to_owned()]);
    let v = xmldsig::verify_element(
        doc.root(),
        &trusted_sp(),
        &xmldsig::VerifyOptions::default(),
    )
    .unwrap();
    assert_eq!(v.element().attr("ID"), Some(request_id.as_str()));
    if let Some(r) = xmllint(&xml, "saml-schema-protocol-2.0.xsd") {
        r.unwrap();
    }
    // The test IdP reads it back.
    let req = crate::idp()
        .read_post(&saml_request, Some(&relay_state))
        .unwrap();
    assert_eq!(req.level, SpidLevel::L1);
    assert_eq!(req.name_qualifier, SP_ENTITY);
    let _ = ACS;
}

#[tokio::test]
async fn request_errors() {
    let sp = sp();
    let e = sp
        .authn_request(AuthnOptions::new("https://unknown.example", "s"))
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Request(RequestError::UnknownIdp(_))));
    let mut opts = AuthnOptions::new(IDP_ENTITY, "s");
    opts.relay_state = Some("https://evil.example/".into());
    assert!(matches!(
        sp.authn_request(opts).await.unwrap_err(),
        Error::Request(RequestError::RelayState(_))
    ));
    let mut opts = AuthnOptions::new(IDP_ENTITY, "s");
    opts.attribute_service_index = 7;
    assert!(matches!(
        sp.authn_request(opts).await.unwrap_err(),
        Error::Request(RequestError::UnknownAttributeService(7))
    ));
    let mut opts = AuthnOptions::new(IDP_ENTITY, "s");
    opts.acs_index = 3;
    assert!(matches!(
        sp.authn_request(opts).await.unwrap_err(),
        Error::Request(RequestError::UnknownAcs(3))
    ));
}

#[test]
fn quote_plus_is_python_compatible() {
    assert_eq!(spid::quote_plus("a b/c+d=e"), "a+b%2Fc%2Bd%3De");
}
