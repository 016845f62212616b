//! CieID metadata download (feature `idp-fetch`) against a wiremock server on 127.0.0.1.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use cie::{CieError, CieIdpEnvironment, CieMetadataFetcher, CieTestIdp};
use spid::SpCredentials;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn creds(name: &str) -> SpCredentials {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cie/keys");
    let key = std::fs::read_to_string(dir.join(format!("{name}.key"))).unwrap();
    let cert = std::fs::read_to_string(dir.join(format!("{name}.crt"))).unwrap();
    SpCredentials::from_pem(&key, &cert).unwrap()
}

async fn server_with(status: u16, body: Vec<u8>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/idp/shibboleth"))
        .respond_with(ResponseTemplate::new(status).set_body_bytes(body))
        .mount(&server)
        .await;
    server
}

#[test]
fn default_url_is_the_published_one() {
    let f = CieMetadataFetcher::new(CieIdpEnvironment::Production).unwrap();
    assert!(
        format!("{f:?}")
            .contains("https://idserver.servizicie.interno.gov.it/idp/shibboleth?Metadata")
    );
}

#[tokio::test]
async fn fetches_and_checks_the_environment() {
    let env = CieIdpEnvironment::PreProduction;
    let xml = CieTestIdp::posing_as(env, creds("idp"))
        .metadata_xml()
        .unwrap();
    let server = server_with(200, xml.into_bytes()).await;
    let url = format!("{}/idp/shibboleth?Metadata", server.uri());

    let idp = CieMetadataFetcher::new(env)
        .unwrap()
        .with_url(&url)
        .fetch()
        .await
        .unwrap();
    assert_eq!(idp.entity_id, env.entity_id());

    // Signed by the expected signer.
    let idp = CieMetadataFetcher::new(env)
        .unwrap()
        .with_url(&url)
        .with_signer(creds("idp").certificate_der().to_vec())
        .fetch()
        .await
        .unwrap();
    assert_eq!(idp.entity_id, env.entity_id());

    // Another signer: refused.
    let r = CieMetadataFetcher::new(env)
        .unwrap()
        .with_url(&url)
        .with_signer(creds("other").certificate_der().to_vec())
        .fetch()
        .await;
    assert!(matches!(r, Err(CieError::Engine(_))), "{r:?}");

    // The production fetcher does not accept the pre-production document.
    let r = CieMetadataFetcher::new(CieIdpEnvironment::Production)
        .unwrap()
        .with_url(&url)
        .fetch()
        .await;
    assert!(matches!(r, Err(CieError::IdpMetadata(_))), "{r:?}");
}

#[tokio::test]
async fn http_errors_and_oversized_documents_are_refused() {
    let env = CieIdpEnvironment::Production;
    let server = server_with(503, b"down".to_vec()).await;
    let r = CieMetadataFetcher::new(env)
        .unwrap()
        .with_url(format!("{}/idp/shibboleth", server.uri()))
        .fetch()
        .await;
    assert!(
        matches!(r, Err(CieError::IdpMetadata(ref m)) if m.contains("503")),
        "{r:?}"
    );

    let server = server_with(200, vec![b' '; 2 * 1024 * 1024]).await;
    let r = CieMetadataFetcher::new(env)
        .unwrap()
        .with_url(format!("{}/idp/shibboleth", server.uri()))
        .fetch()
        .await;
    assert!(
        matches!(r, Err(CieError::IdpMetadata(ref m)) if m.contains("too large")),
        "{r:?}"
    );

    // Nothing listening.
    let r = CieMetadataFetcher::new(env)
        .unwrap()
        .with_url("http://127.0.0.1:9/idp/shibboleth")
        .fetch()
        .await;
    assert!(matches!(r, Err(CieError::IdpMetadata(_))), "{r:?}");
}
