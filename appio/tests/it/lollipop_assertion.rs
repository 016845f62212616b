//! Lollipop login assertions: IO's consumer API mocked on 127.0.0.1 (wiremock) serves SAML
//! responses signed at test time by `xmlsec1` with an IdP key made by `openssl`; the IdP is
//! known through `spid::IdpRegistry` (metadata file written at test time); requests are signed
//! by the Python oracle of `lollipop.rs`. Each check gets the assertion it exists to refuse.
//! With `CI` set a missing tool fails.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use appio::remote::assertion::{
    AssertionError, AssertionVerifier, CachedAssertionSource, ConsumerApiError,
    LollipopConsumerClient,
};
use appio::remote::lollipop::{AssertionType, LollipopError, LollipopVerifier};
use appio::remote::server::IoAuthentication;
use axum::http::HeaderMap;
use chrono::{SecondsFormat, Utc};
use serde_json::json;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::cf;
use crate::lollipop::{call_router, case, get, python, set, sign};

const IDP: &str = "https://idp.test.example/";
const ROGUE: &str = "https://rogue.test.example/";
const SUB_KEY: &str = "lc-subscription-key";
const AUTH: &str = "x-pagopa-lollipop-auth-jwt";

/// The request-signing oracle's Python, when it, xmlsec1 and openssl are there (under `CI`
/// a missing one fails the test).
fn tools() -> Option<String> {
    let py = python()?;
    let what = "the lollipop login assertion tests";
    (pa_testkit::require("xmlsec1", &["--version"], what)
        && pa_testkit::require("openssl", &["version"], what))
    .then_some(py)
}

/// An RSA key and self-signed certificate made by openssl.
struct IdpKey {
    key: std::path::PathBuf,
    cert: std::path::PathBuf,
    cert_b64: String,
}

fn idp_key(dir: &std::path::Path, name: &str) -> IdpKey {
    let subject = format!("/CN={name}/O=Test IdP/C=IT");
    let (key, cert) = pa_testkit::openssl_self_signed(dir, name, &subject, 30);
    let pem = std::fs::read_to_string(&cert).unwrap();
    let cert_b64 = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    IdpKey {
        key,
        cert,
        cert_b64,
    }
}

/// The IdP registry: metadata of `IDP` (and of `ROGUE` with its own key), as the SPID
/// registry publishes it, read by `spid::IdpRegistry` from a file.
async fn registry(dir: &std::path::Path, idp: &IdpKey, rogue: &IdpKey) -> Arc<spid::IdpRegistry> {
    let entity = |id: &str, k: &IdpKey| {
        format!(
            r#"<md:EntityDescriptor entityID="{id}"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{id}sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#,
            k.cert_b64
        )
    };
    let xml = format!(
        r#"<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#">{}{}</md:EntitiesDescriptor>"#,
        entity(IDP, idp),
        entity(ROGUE, rogue)
    );
    let file = dir.join("idp-metadata.xml");
    std::fs::write(&file, xml).unwrap();
    let r = spid::IdpRegistry::new(spid::FileFetcher::new(file));
    assert_eq!(r.refresh().await.unwrap(), 2);
    Arc::new(r)
}

/// What goes into a SAML response.
#[derive(Clone)]
struct Saml {
    issuer: String,
    in_response_to: String,
    fiscal_number: String,
    not_before: chrono::DateTime<Utc>,
}

fn instant(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The unsigned response: an assertion with a signature template for xmlsec1.
fn saml_template(s: &Saml) -> String {
    let nb = instant(s.not_before);
    let na = instant(s.not_before + chrono::Duration::minutes(5));
    format!(
        r##"<?xml version="1.0" encoding="UTF-8"?>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_resp1" Version="2.0" IssueInstant="{nb}" InResponseTo="{irt}" Destination="https://app-backend.io.italia.it/assertionConsumerService"><saml:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{iss}</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status><saml:Assertion ID="_assertion1" Version="2.0" IssueInstant="{nb}"><saml:Issuer Format="urn:oasis:names:tc:SAML:2.0:nameid-format:entity">{iss}</saml:Issuer><ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/><ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/><ds:Reference URI="#_assertion1"><ds:Transforms><ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/><ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/></ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/><ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/><ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo></ds:Signature><saml:Subject><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient" NameQualifier="{iss}">_nameid1</saml:NameID><saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData InResponseTo="{irt}" NotOnOrAfter="{na}" Recipient="https://app-backend.io.italia.it/assertionConsumerService"/></saml:SubjectConfirmation></saml:Subject><saml:Conditions NotBefore="{nb}" NotOnOrAfter="{na}"><saml:AudienceRestriction><saml:Audience>https://app-backend.io.italia.it</saml:Audience></saml:AudienceRestriction></saml:Conditions><saml:AuthnStatement AuthnInstant="{nb}" SessionIndex="_s1"><saml:AuthnContext><saml:AuthnContextClassRef>https://www.spid.gov.it/SpidL2</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement><saml:AttributeStatement><saml:Attribute Name="fiscalNumber" NameFormat="urn:oasis:names:tc:SAML:2.0:attrname-format:basic"><saml:AttributeValue xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="xs:string">{fc}</saml:AttributeValue></saml:Attribute></saml:AttributeStatement></saml:Assertion></samlp:Response>"##,
        irt = s.in_response_to,
        iss = s.issuer,
        fc = s.fiscal_number,
    )
}

/// The response with its assertion signed by xmlsec1 with `k`.
fn xmlsec_sign(dir: &std::path::Path, xml: &str, k: &IdpKey) -> String {
    let input = dir.join("unsigned.xml");
    let output = dir.join("signed.xml");
    std::fs::write(&input, xml).unwrap();
    let keys = format!("{},{}", k.key.display(), k.cert.display());
    let id_attr = [
        "--id-attr:ID",
        "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
    ];
    pa_testkit::run_ok(
        Command::new("xmlsec1")
            .args(["--sign", "--privkey-pem", &keys])
            .args(id_attr)
            .arg("--output")
            .arg(&output)
            .arg(&input),
    );
    let signed = std::fs::read_to_string(&output).unwrap();
    // The independent check: xmlsec1 verifies what it signed with the registry's certificate.
    pa_testkit::run_ok(
        Command::new("xmlsec1")
            .args(["--verify", "--pubkey-cert-pem"])
            .arg(&k.cert)
            .args(id_attr)
            .arg(&output),
    );
    signed
}

/// The consumer API: answers `body` with `status` to the auth JWT `jwt` only, with the
/// subscription key, for the assertion ref `aref`.
async fn serve(server: &MockServer, aref: &str, jwt: &str, status: u16, body: serde_json::Value) {
    Mock::given(method("GET"))
        .and(path(format!("/lollipop/api/v1/assertions/{aref}")))
        .and(header("x-pagopa-lollipop-auth", format!("Bearer {jwt}")))
        .and(header("Ocp-Apim-Subscription-Key", SUB_KEY))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

struct World {
    dir: tempfile::TempDir,
    idp: IdpKey,
    stranger: IdpKey,
    server: MockServer,
    registry: Arc<spid::IdpRegistry>,
    verifier: AssertionVerifier,
    /// Signed requests: [0] with key "k", [1] with key "other".
    signed: Vec<HeaderMap>,
}

impl World {
    async fn new(py: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let idp = idp_key(dir.path(), "idp");
        let rogue = idp_key(dir.path(), "rogue");
        let stranger = idp_key(dir.path(), "stranger");
        let reg = registry(dir.path(), &idp, &rogue).await;
        let server = MockServer::start().await;
        let client = LollipopConsumerClient::new(SUB_KEY)
            .unwrap()
            .base_url(format!("{}/lollipop/api/v1", server.uri()));
        let verifier = AssertionVerifier::new(client).registry(reg.clone());
        let signed = sign(py, &[case(json!({})), case(json!({"key": "other"}))]);
        Self {
            dir,
            idp,
            stranger,
            server,
            registry: reg,
            verifier,
            signed,
        }
    }

    /// The genuine login of request 0: IDP, its key's ref, cf(1), an hour ago.
    fn login(&self) -> Saml {
        Saml {
            issuer: IDP.to_owned(),
            in_response_to: get(&self.signed[0], "x-pagopa-lollipop-assertion-ref"),
            fiscal_number: format!("TINIT-{}", cf(1).as_str()),
            not_before: Utc::now() - chrono::Duration::hours(1),
        }
    }

    fn signed_by(&self, s: &Saml, k: &IdpKey) -> String {
        xmlsec_sign(self.dir.path(), &saml_template(s), k)
    }

    /// The signed request `signed` with auth JWT `jwt`, for which the consumer API answers
    /// the assertion ref `aref` with `xml`.
    async fn request_for(&self, signed: &HeaderMap, aref: &str, jwt: &str, xml: &str) -> HeaderMap {
        let mut h = signed.clone();
        set(&mut h, AUTH, jwt);
        serve(&self.server, aref, jwt, 200, json!({ "response_xml": xml })).await;
        h
    }

    /// Request 0 with auth JWT `jwt`, whose assertion the consumer API answers with `xml`.
    async fn request_with(&self, jwt: &str, xml: &str) -> HeaderMap {
        let aref = get(&self.signed[0], "x-pagopa-lollipop-assertion-ref");
        self.request_for(&self.signed[0], &aref, jwt, xml).await
    }

    /// Why `v` refuses request 0 carrying the login `s` signed with `k` (auth JWT `jwt`).
    async fn refusal(
        &self,
        v: &LollipopVerifier,
        jwt: &str,
        s: &Saml,
        k: &IdpKey,
    ) -> AssertionError {
        let h = self.request_with(jwt, &self.signed_by(s, k)).await;
        refused(v, &h).await
    }
}

fn lollipop(av: AssertionVerifier) -> LollipopVerifier {
    LollipopVerifier::new()
        .without_replay_cache()
        .login_assertion(av)
}

async fn refused(v: &LollipopVerifier, h: &HeaderMap) -> AssertionError {
    match v.verify(h, b"", &cf(1)).await {
        Err(LollipopError::Assertion(e)) => e,
        other => panic!("expected an assertion error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_login_signed_by_a_registry_idp_and_bound_to_the_key_is_accepted() {
    let Some(py) = tools() else { return };
    let w = World::new(&py).await;
    let xml = w.signed_by(&w.login(), &w.idp);
    let h = w.request_with("jwt-good", &xml).await;
    let v = lollipop(w.verifier.clone());
    let id = v.verify(&h, b"", &cf(1)).await.unwrap();
    let login = id.login.expect("login assertion checked");
    assert_eq!(login.user, cf(1));
    assert_eq!(login.idp, IDP);
    assert_eq!(login.assertion_id, "_assertion1");
    assert_eq!(
        login.authn_context.as_deref(),
        Some("https://www.spid.gov.it/SpidL2")
    );
    // The audience, when configured, is read from the signed assertion.
    let v2 = lollipop(
        w.verifier
            .clone()
            .audience("https://app-backend.io.italia.it"),
    );
    v2.verify(&h, b"", &cf(1)).await.unwrap();
    let v3 = lollipop(w.verifier.clone().audience("https://other-sp.example"));
    assert!(matches!(
        refused(&v3, &h).await,
        AssertionError::Audience(_)
    ));
    // An RSA key's request with its own login passes too.
    let rsa = sign(
        &py,
        &[case(
            json!({"key": "r", "kty": "RSA", "alg": "rsa-pss-sha256", "thumb_hash": "sha512"}),
        )],
    )
    .remove(0);
    let mut s = w.login();
    s.in_response_to = get(&rsa, "x-pagopa-lollipop-assertion-ref");
    assert!(s.in_response_to.starts_with("sha512-"));
    let xml = w.signed_by(&s, &w.idp);
    let h = w
        .request_for(&rsa, &s.in_response_to, "jwt-rsa", &xml)
        .await;
    v.verify(&h, b"", &cf(1)).await.unwrap();
}

#[tokio::test]
async fn each_assertion_check_refuses_what_it_exists_to_refuse() {
    let Some(py) = tools() else { return };
    let w = World::new(&py).await;
    let v = lollipop(w.verifier.clone());
    let genuine = w.login();

    // Issued for another key: InResponseTo is the other key's ref.
    let mut s = genuine.clone();
    s.in_response_to = get(&w.signed[1], "x-pagopa-lollipop-assertion-ref");
    assert!(matches!(
        w.refusal(&v, "jwt-other-key", &s, &w.idp).await,
        AssertionError::OtherKey { .. }
    ));
    // InResponseTo that is no assertion ref at all (an ordinary SPID request id).
    let mut s = genuine.clone();
    s.in_response_to = "_2d2a89e99c7583e221b4".into();
    assert!(matches!(
        w.refusal(&v, "jwt-not-ref", &s, &w.idp).await,
        AssertionError::NotAssertionRef(_)
    ));
    // Another citizen's login.
    let mut s = genuine.clone();
    s.fiscal_number = format!("TINIT-{}", cf(2).as_str());
    assert_eq!(
        w.refusal(&v, "jwt-other-cf", &s, &w.idp).await,
        AssertionError::OtherUser
    );
    // A fiscal number that is not a fiscal code.
    let mut s = genuine.clone();
    s.fiscal_number = "TINIT-NOTACODE".into();
    assert!(matches!(
        w.refusal(&v, "jwt-bad-cf", &s, &w.idp).await,
        AssertionError::BadFiscalNumber(_)
    ));
    // Expired (older than 365 days), and from the future.
    let mut s = genuine.clone();
    s.not_before = Utc::now() - chrono::Duration::days(366);
    let h = w
        .request_with("jwt-expired", &w.signed_by(&s, &w.idp))
        .await;
    assert!(matches!(refused(&v, &h).await, AssertionError::Expired(_)));
    let lenient = lollipop(
        w.verifier
            .clone()
            .max_age(Duration::from_secs(400 * 86_400)),
    );
    lenient.verify(&h, b"", &cf(1)).await.unwrap();
    let mut s = genuine.clone();
    s.not_before = Utc::now() + chrono::Duration::hours(1);
    assert!(matches!(
        w.refusal(&v, "jwt-future", &s, &w.idp).await,
        AssertionError::NotYetValid(_)
    ));
    // Signed by a key not in the registry, in the name of the registry's IdP.
    assert!(matches!(
        w.refusal(&v, "jwt-stranger", &genuine, &w.stranger).await,
        AssertionError::Signature(_)
    ));
    // An issuer the registry does not know.
    let mut s = genuine.clone();
    s.issuer = "https://unknown-idp.example/".into();
    assert_eq!(
        w.refusal(&v, "jwt-unknown", &s, &w.stranger).await,
        AssertionError::UnknownIdp("https://unknown-idp.example/".into())
    );
    // Tampered after signing: the fiscal number, the NotBefore, the InResponseTo.
    let xml = w.signed_by(&genuine, &w.idp);
    let other_cf = xml.replace(cf(1).as_str(), cf(2).as_str());
    let later = xml.replace(
        &format!("Conditions NotBefore=\"{}", instant(genuine.not_before)),
        &format!(
            "Conditions NotBefore=\"{}",
            instant(genuine.not_before + chrono::Duration::seconds(1))
        ),
    );
    assert_ne!(later, xml);
    for (n, t) in [other_cf, later].iter().enumerate() {
        let h = w.request_with(&format!("jwt-tampered-{n}"), t).await;
        assert!(
            matches!(refused(&v, &h).await, AssertionError::Signature(_)),
            "{n}"
        );
    }
    // Signature wrapping: an unsigned assertion of another citizen next to the signed one.
    let extra = format!(
        "<saml:Assertion ID=\"_evil\" Version=\"2.0\"><saml:Issuer>{IDP}</saml:Issuer></saml:Assertion></samlp:Response>"
    );
    let wrapped = xml.replace("</samlp:Response>", &extra);
    let h = w.request_with("jwt-wrapped", &wrapped).await;
    assert!(matches!(
        refused(&v, &h).await,
        AssertionError::Structure(_)
    ));
    // Not XML, and no assertion.
    let h = w.request_with("jwt-not-xml", "<samlp:Response").await;
    assert!(matches!(refused(&v, &h).await, AssertionError::Xml(_)));
    let h = w
        .request_with(
            "jwt-empty",
            r#"<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>"#,
        )
        .await;
    assert!(matches!(
        refused(&v, &h).await,
        AssertionError::Structure(_)
    ));
    // The genuine one passes with the same verifier.
    let h = w.request_with("jwt-genuine", &xml).await;
    v.verify(&h, b"", &cf(1)).await.unwrap();
}

#[tokio::test]
async fn consumer_api_failures_and_wrong_types_are_typed() {
    let Some(py) = tools() else { return };
    let w = World::new(&py).await;
    let v = lollipop(w.verifier.clone());
    let aref = get(&w.signed[0], "x-pagopa-lollipop-assertion-ref");
    let problem = json!({"title": "Not found", "detail": "no assertion for this ref"});
    for (jwt, status) in [
        ("jwt-401", 401),
        ("jwt-403", 403),
        ("jwt-404", 404),
        ("jwt-410", 410),
        ("jwt-500", 500),
    ] {
        serve(&w.server, &aref, jwt, status, problem.clone()).await;
    }
    let mut expect = vec![
        ("jwt-401", ConsumerApiError::Unauthorized),
        ("jwt-403", ConsumerApiError::Forbidden),
        (
            "jwt-404",
            ConsumerApiError::NotFound {
                detail: Some("no assertion for this ref".into()),
            },
        ),
        ("jwt-410", ConsumerApiError::Gone),
        (
            "jwt-500",
            ConsumerApiError::Server {
                status: 500,
                detail: Some("no assertion for this ref".into()),
            },
        ),
    ];
    for (jwt, e) in expect.drain(..) {
        let mut h = w.signed[0].clone();
        set(&mut h, AUTH, jwt);
        let got = refused(&v, &h).await;
        assert_eq!(got, AssertionError::Consumer(e.clone()), "{jwt}");
        assert_eq!(got.is_unavailable(), jwt == "jwt-500", "{jwt}");
    }
    // A JWT the mock does not know: wiremock answers 404 (IO would say 403).
    let mut h = w.signed[0].clone();
    set(&mut h, AUTH, "jwt-unknown");
    assert!(matches!(
        refused(&v, &h).await,
        AssertionError::Consumer(ConsumerApiError::NotFound { .. })
    ));
    // The consumer API unreachable.
    let dead = AssertionVerifier::new(
        LollipopConsumerClient::new(SUB_KEY)
            .unwrap()
            .base_url("http://127.0.0.1:9/lollipop/api/v1"),
    );
    let e = refused(&lollipop(dead), &w.signed[0]).await;
    assert!(matches!(
        e,
        AssertionError::Consumer(ConsumerApiError::Transport(_))
    ));
    assert!(e.is_unavailable());

    // Wrong type: the header says SAML, the API answers with OIDC tokens.
    serve(
        &w.server,
        &aref,
        "jwt-oidc",
        200,
        json!({"id_token": "a.b.c", "claims_token": "d.e.f"}),
    )
    .await;
    let mut h = w.signed[0].clone();
    set(&mut h, AUTH, "jwt-oidc");
    assert_eq!(
        refused(&v, &h).await,
        AssertionError::WrongType {
            expected: AssertionType::Saml,
            found: AssertionType::Oidc
        }
    );
    // The header says OIDC: refused before any call (its key binding is unspecified).
    let xml = w.signed_by(&w.login(), &w.idp);
    let mut h = w.request_with("jwt-saml-for-oidc", &xml).await;
    set(&mut h, "x-pagopa-lollipop-assertion-type", "OIDC");
    assert_eq!(refused(&v, &h).await, AssertionError::OidcUnsupported);
    set(&mut h, "x-pagopa-lollipop-assertion-type", "SAML");
    v.verify(&h, b"", &cf(1)).await.unwrap();
}

#[tokio::test]
async fn the_router_requires_the_login_assertion_when_configured() {
    let Some(py) = tools() else { return };
    let w = World::new(&py).await;
    let auth = IoAuthentication::from_config(
        &appio::remote::AuthenticationConfig::api_key("X-Api-Key", "s3cr3t").unwrap(),
    )
    .unwrap()
    .lollipop(LollipopVerifier::new().login_assertion(w.verifier.clone()));
    let (base, _h) = crate::remote::serve_with(auth).await;
    let url = format!("{base}/messages/m1");
    let s = sign(&py, &[case(json!({})), case(json!({})), case(json!({}))]);
    let aref = get(&s[0], "x-pagopa-lollipop-assertion-ref");
    // Genuine: 200 (these requests come from another run of the oracle: other keys).
    let mut login = w.login();
    login.in_response_to = aref.clone();
    let xml = w.signed_by(&login, &w.idp);
    let h = w.request_for(&s[0], &aref, "jwt-ok", &xml).await;
    let (st, body) = call_router(&url, &h, &cf(1)).await;
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("Avviso di pagamento TARI"));
    // The login of another citizen: 403 naming the check, no content.
    let mut other = login.clone();
    other.fiscal_number = format!("TINIT-{}", cf(2).as_str());
    let xml = w.signed_by(&other, &w.idp);
    let h = w.request_for(&s[1], &aref, "jwt-other", &xml).await;
    let (st, body) = call_router(&url, &h, &cf(1)).await;
    assert_eq!(st, 403, "{body}");
    assert!(body.contains("another citizen"), "{body}");
    assert!(!body.contains("Avviso"), "{body}");
    // IO failing: 503, not 403.
    serve(&w.server, &aref, "jwt-500", 500, json!({"title": "boom"})).await;
    let mut h = s[2].clone();
    set(&mut h, AUTH, "jwt-500");
    let (st, body) = call_router(&url, &h, &cf(1)).await;
    assert_eq!(st, 503, "{body}");
}

#[tokio::test]
async fn a_cached_assertion_is_fetched_once_and_checked_for_each_request() {
    let Some(py) = tools() else { return };
    let w = World::new(&py).await;
    // Three requests with one key: two of cf(1), one of cf(2).
    let s = sign(
        &py,
        &[
            case(json!({})),
            case(json!({})),
            case(json!({"user": cf(2).as_str()})),
        ],
    );
    let aref = get(&s[0], "x-pagopa-lollipop-assertion-ref");
    let mut login = w.login();
    login.in_response_to = aref.clone();
    let xml = w.signed_by(&login, &w.idp);
    let route = || {
        Mock::given(method("GET"))
            .and(path(format!("/lollipop/api/v1/assertions/{aref}")))
            .and(header("x-pagopa-lollipop-auth", "Bearer jwt-cached"))
    };
    // IO fails once, then answers; the answer is asked for exactly once.
    route()
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&w.server)
        .await;
    route()
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({ "response_xml": xml })))
        .expect(1)
        .mount(&w.server)
        .await;
    let client = LollipopConsumerClient::new(SUB_KEY)
        .unwrap()
        .base_url(format!("{}/lollipop/api/v1", w.server.uri()));
    let cached = CachedAssertionSource::new(client, Duration::from_secs(300), 100);
    let av = AssertionVerifier::new(cached).registry(w.registry.clone());
    let v = lollipop(av);
    let req = |n: usize| {
        let mut h = s[n].clone();
        set(&mut h, AUTH, "jwt-cached");
        h
    };
    // The failure is not kept.
    assert!(refused(&v, &req(0)).await.is_unavailable());
    v.verify(&req(0), b"", &cf(1)).await.unwrap();
    v.verify(&req(1), b"", &cf(1)).await.unwrap();
    // The kept assertion is still checked against each request: another citizen is refused.
    match v.verify(&req(2), b"", &cf(2)).await {
        Err(LollipopError::Assertion(AssertionError::OtherUser)) => {}
        other => panic!("{other:?}"),
    }
    drop(v);
    // The mock checks `expect(1)` when it is dropped with the world.
}
