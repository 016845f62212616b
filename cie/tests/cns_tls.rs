//! Smart-card login over a real TLS connection on 127.0.0.1: rustls server requesting a client
//! certificate, reqwest client with and without a card certificate.
#![allow(clippy::unwrap_used)]

mod cns_pki;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use cie::cns::axum::{CardLogin, serve_tls, server_config};
use cie::cns::{CardVerifier, CitizenIdentity, CrlChecker, FixedClock, IssuerList};
use cns_pki::*;
use rcgen::{CertificateParams, ExtendedKeyUsagePurpose, KeyPair};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const HOST: &str = "cns.test";

struct Server {
    addr: SocketAddr,
    server_ca_pem: String,
    cns_ca: Ca,
    cie_ca: Ca,
    _task: tokio::task::JoinHandle<()>,
}

async fn start() -> Server {
    // the portal's own TLS certificate
    let server_ca = root_ca("Portal test CA", "Comune di Test");
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![HOST.to_owned()]).unwrap();
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = p.signed_by(&key, &server_ca.issuer).unwrap();

    // card issuers and their CRLs: serial 66 of the CNS CA is revoked
    let cns_ca = root_ca("Regione Test CA Cittadini", "Regione Test");
    let cie_ca = root_ca(
        "Ministero dell'Interno CA CIE test",
        "Ministero dell'Interno",
    );
    let issuers = IssuerList::from_pem(format!("{}{}", cns_ca.pem, cie_ca.pem).as_bytes()).unwrap();
    let crls = CrlChecker::from_der_crls([
        crl(&cns_ca, &[66], (2026, 12, 31)).0,
        crl(&cie_ca, &[], (2026, 12, 31)).0,
    ])
    .unwrap();

    let tls = server_config(
        vec![CertificateDer::from(server_cert.der().to_vec())],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        &issuers,
    )
    .unwrap();
    let verifier = Arc::new(CardVerifier::new(issuers, crls).with_clock(FixedClock(now())));
    let app = Router::new()
        .route(
            "/login/cns",
            get(|CardLogin(card): CardLogin| async move {
                let citizen = CitizenIdentity::from(card.clone());
                format!(
                    "OK {} {} {:?}",
                    card.fiscal_code, card.profile, citizen.method
                )
            }),
        )
        .route(
            "/",
            get(|card: Option<CardLogin>| async move {
                match card {
                    Some(CardLogin(c)) => format!("card {}", c.fiscal_code),
                    None => "Entra con SPID, CIE o CNS".to_owned(),
                }
            }),
        )
        .with_state(verifier);

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(serve_tls(listener, Arc::new(tls), app));
    Server {
        addr,
        server_ca_pem: server_ca.pem,
        cns_ca,
        cie_ca,
        _task: task,
    }
}

fn client(server: &Server, card: Option<&Card>) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(
            reqwest::Certificate::from_pem(server.server_ca_pem.as_bytes()).unwrap(),
        )
        .resolve(HOST, server.addr)
        .no_proxy();
    if let Some(card) = card {
        b = b.identity(reqwest::Identity::from_pem(&card.identity_pem()).unwrap());
    }
    b.build().unwrap()
}

async fn get_login(server: &Server, card: Option<&Card>) -> (u16, String, String) {
    let url = format!("https://{HOST}:{}/login/cns", server.addr.port());
    let resp = client(server, card).get(url).send().await.unwrap();
    let status = resp.status().as_u16();
    let ctype = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, ctype, resp.text().await.unwrap())
}

#[tokio::test]
async fn no_card_gets_error_page() {
    let s = start().await;
    let (status, ctype, body) = get_login(&s, None).await;
    assert_eq!(status, 401);
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(body.contains("Nessuna carta presentata"), "{body}");
    // the same listener still serves pages that do not need a card
    let url = format!("https://{HOST}:{}/", s.addr.port());
    let body = client(&s, None)
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, "Entra con SPID, CIE o CNS");
}

#[tokio::test]
async fn valid_cards_of_each_profile_log_in() {
    let s = start().await;
    for (card, expected) in [
        (
            issue(&s.cns_ca, &CardSpec::cns(1)),
            format!("OK {CF_ROSSI} CNS Cns"),
        ),
        (
            issue(&s.cns_ca, &CardSpec::ts_cns(2)),
            format!("OK {CF_BIANCHI} CNS Cns"),
        ),
        (
            issue(&s.cns_ca, &CardSpec::cns_tinit(3)),
            format!("OK {CF_VERDI} CNS Cns"),
        ),
        (
            issue(&s.cie_ca, &CardSpec::cie(4)),
            format!("OK {CF_NERI} CIE CieCard"),
        ),
    ] {
        let (status, _, body) = get_login(&s, Some(&card)).await;
        assert_eq!((status, body.as_str()), (200, expected.as_str()));
    }
    // Option<CardLogin> sees the card too
    let card = issue(&s.cns_ca, &CardSpec::cns(5));
    let url = format!("https://{HOST}:{}/", s.addr.port());
    let body = client(&s, Some(&card))
        .get(url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(body, format!("card {CF_ROSSI}"));
}

async fn assert_refused(s: &Server, card: &Card, message: &str, detail: &str) {
    let (status, ctype, body) = get_login(s, Some(card)).await;
    assert_eq!(status, 403, "{body}");
    assert!(ctype.starts_with("text/html"), "{ctype}");
    assert!(body.contains(message), "expected {message:?} in {body}");
    assert!(body.contains(detail), "expected {detail:?} in {body}");
}

#[tokio::test]
async fn expired_card_is_refused() {
    let s = start().await;
    let mut spec = CardSpec::cns(10);
    spec.not_before = (2019, 1, 1);
    spec.not_after = (2024, 1, 1);
    assert_refused(
        &s,
        &issue(&s.cns_ca, &spec),
        "è scaduto",
        "expired at 2024-01-01",
    )
    .await;
}

#[tokio::test]
async fn card_from_unknown_ca_is_refused() {
    let s = start().await;
    let rogue = root_ca("Rogue CA", "Nobody");
    assert_refused(
        &s,
        &issue(&rogue, &CardSpec::cns(11)),
        "non è stata rilasciata da un ente riconosciuto",
        "Rogue CA",
    )
    .await;
}

#[tokio::test]
async fn revoked_card_is_refused() {
    let s = start().await;
    assert_refused(
        &s,
        &issue(&s.cns_ca, &CardSpec::cns(66)),
        "revocato",
        "1C0042",
    )
    .await;
}

#[tokio::test]
async fn card_without_fiscal_code_is_refused() {
    let s = start().await;
    assert_refused(
        &s,
        &issue(&s.cns_ca, &CardSpec::no_fiscal_code(12)),
        "non riporta un codice fiscale",
        "no fiscal code",
    )
    .await;
}

#[tokio::test]
async fn wrong_key_usage_is_refused() {
    let s = start().await;
    let mut spec = CardSpec::cns(13);
    spec.eku = vec![ExtendedKeyUsagePurpose::EmailProtection];
    assert_refused(
        &s,
        &issue(&s.cns_ca, &spec),
        "non è un certificato di autenticazione",
        "clientAuth",
    )
    .await;
}

#[tokio::test]
async fn error_page_escapes_certificate_text() {
    let s = start().await;
    let mut spec = CardSpec::no_fiscal_code(14);
    spec.subject
        .retain(|(t, _)| *t != rcgen::DnType::CommonName);
    spec.subject.push((
        rcgen::DnType::CommonName,
        "<script>alert(1)</script>".into(),
    ));
    let (status, _, body) = get_login(&s, Some(&issue(&s.cns_ca, &spec))).await;
    assert_eq!(status, 403);
    assert!(!body.contains("<script>"), "{body}");
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{body}"
    );
}

// ------------------------------------------------------------ possession of the card's key

mod raw_client {
    use std::sync::Arc;

    use rustls::client::ResolvesClientCert;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
    use rustls::sign::CertifiedKey;
    use rustls::{RootCertStore, SignatureScheme};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// Presents `cert` signed with `key`, whether or not they belong together.
    #[derive(Debug)]
    struct Fixed(Arc<CertifiedKey>);

    impl ResolvesClientCert for Fixed {
        fn resolve(&self, _: &[&[u8]], _: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
            Some(self.0.clone())
        }
        fn has_certs(&self) -> bool {
            true
        }
    }

    /// GET /login/cns with a hand-built rustls client; returns what the server sent (empty when
    /// the connection was torn down).
    pub(super) async fn get(
        addr: std::net::SocketAddr,
        server_ca_der: &[u8],
        cert_der: &[u8],
        key_pkcs8: Vec<u8>,
    ) -> String {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let key = provider
            .key_provider
            .load_private_key(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_pkcs8)))
            .unwrap();
        let certified = CertifiedKey::new(vec![CertificateDer::from(cert_der.to_vec())], key);
        let mut roots = RootCertStore::empty();
        roots
            .add(CertificateDer::from(server_ca_der.to_vec()))
            .unwrap();
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_client_cert_resolver(Arc::new(Fixed(Arc::new(certified))));
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        let Ok(mut tls) = connector
            .connect(ServerName::try_from(super::HOST).unwrap(), tcp)
            .await
        else {
            return String::new();
        };
        let req = format!(
            "GET /login/cns HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
            super::HOST
        );
        if tls.write_all(req.as_bytes()).await.is_err() {
            return String::new();
        }
        let mut out = Vec::new();
        let _ = tls.read_to_end(&mut out).await;
        String::from_utf8_lossy(&out).into_owned()
    }
}

#[tokio::test]
async fn certificate_without_its_private_key_is_refused_at_the_handshake() {
    let s = start().await;
    let server_ca_der = {
        let pem = s.server_ca_pem.as_bytes();
        let (_, der) = x509_parser::pem::parse_x509_pem(pem).unwrap();
        der.contents
    };
    // the victim's card certificate is public (it is sent in every handshake)
    let victim = issue(&s.cns_ca, &CardSpec::cns(90));
    let victim_key = rustls_pki_types::pem::PemObject::from_pem_slice(victim.key_pem.as_bytes())
        .map(|k: PrivatePkcs8KeyDer<'static>| k.secret_pkcs8_der().to_vec())
        .unwrap();
    // positive control: the holder of the key logs in through the same raw client
    let ok = raw_client::get(s.addr, &server_ca_der, &victim.der, victim_key).await;
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
    assert!(ok.contains(CF_ROSSI), "{ok}");
    // the attacker presents it with a key of their own
    let attacker_key = KeyPair::generate().unwrap().serialize_der();
    let stolen = raw_client::get(s.addr, &server_ca_der, &victim.der, attacker_key).await;
    assert!(!stolen.contains("HTTP/1.1"), "server answered: {stolen}");
}

#[tokio::test]
async fn works_over_tls_1_2_too() {
    let s = start().await;
    let card = issue(&s.cie_ca, &CardSpec::cie(91));
    let c = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .max_tls_version(reqwest::tls::Version::TLS_1_2)
        .add_root_certificate(reqwest::Certificate::from_pem(s.server_ca_pem.as_bytes()).unwrap())
        .identity(reqwest::Identity::from_pem(&card.identity_pem()).unwrap())
        .resolve(HOST, s.addr)
        .no_proxy()
        .build()
        .unwrap();
    let resp = c
        .get(format!("https://{HOST}:{}/login/cns", s.addr.port()))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_11);
    assert_eq!(
        resp.text().await.unwrap(),
        format!("OK {CF_NERI} CIE CieCard")
    );
}
