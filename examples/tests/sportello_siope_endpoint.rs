//! The sportello pointed at a SIOPE+ endpoint by configuration instead of its embedded simulator:
//! the client identity, codes and trust roots come from the configured files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use examples::sportello::{self, Config, SiopeEndpoint};
use siopeplus::simulator::{SimOptions, Simulator, TestPki};

#[tokio::test]
async fn the_configured_a2a_identity_is_used() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Another A2A channel, standing for the real one, with its own PKI and an ente certificate.
    let pki = TestPki::generate("altro canale A2A").unwrap();
    let channel = Simulator::start(&pki, SimOptions::default()).await.unwrap();
    let (cert_pem, key_pem) = pki.issue_client("A2A-99999999", -1, 400).unwrap();
    let files = tempfile::tempdir().unwrap();
    let write = |name: &str, body: &str| {
        let p = files.path().join(name);
        std::fs::write(&p, body).unwrap();
        p
    };
    let data = tempfile::tempdir().unwrap();
    let app = sportello::start(Config {
        port: 0,
        cns_port: 0,
        data_dir: data.path().to_owned(),
        siope: Some(SiopeEndpoint {
            base_url: channel.base_url().to_string(),
            codice_a2a: "A2A-99999999".into(),
            codice_ente: "UF9999".into(),
            certificate_pem: write("ente.crt", &cert_pem),
            key_pem: write("ente.key", &key_pem),
            trust_roots_pem: write("ca.pem", pki.ca_pem()),
        }),
        ..Config::default()
    })
    .await
    .unwrap();
    // The operator area needs the demo's operator (the test IdP's default citizen).
    let session = common::spid_login(&app.base_url, "RSSMRA85T10A562S", "Mario", "Rossi").await;
    let page = common::http()
        .get(format!("{}/operatore", app.base_url))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("CN=A2A-99999999"), "{page}");
    // Issued for 400 days: the page counts the days left of this certificate, not the default one.
    assert!(
        page.contains("<dd>399</dd>") || page.contains("<dd>400</dd>"),
        "{page}"
    );

    // A missing key file is a start-up error naming the file, not a panic.
    let err = sportello::start(Config {
        port: 0,
        cns_port: 0,
        data_dir: data.path().join("other"),
        siope: Some(SiopeEndpoint {
            base_url: channel.base_url().to_string(),
            codice_a2a: "A2A-99999999".into(),
            codice_ente: "UF9999".into(),
            certificate_pem: files.path().join("ente.crt"),
            key_pem: files.path().join("missing.key"),
            trust_roots_pem: files.path().join("ca.pem"),
        }),
        ..Config::default()
    })
    .await
    .expect_err("missing key");
    assert!(err.to_string().contains("missing.key"), "{err}");
}
