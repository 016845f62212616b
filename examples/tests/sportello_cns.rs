//! "Entra con CNS" on the sportello: a TLS client presenting the demo card certificate gets a
//! session on the portal with the identity read from the card; without a card, or with a card
//! of another issuer, it does not.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use examples::sportello::{self, Config, Running};

async fn start() -> (tempfile::TempDir, Running) {
    let data = tempfile::tempdir().unwrap();
    let app = sportello::start(Config {
        port: 0,
        cns_port: 0,
        data_dir: data.path().to_owned(),
        ..Config::default()
    })
    .await
    .unwrap();
    (data, app)
}

fn client(app: &Running, identity: Option<reqwest::Identity>) -> reqwest::Client {
    let ca = std::fs::read(&app.demo_card.ca).unwrap();
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .redirect(reqwest::redirect::Policy::none());
    if let Some(id) = identity {
        b = b.identity(id);
    }
    b.build().unwrap()
}

fn card_identity(app: &Running) -> reqwest::Identity {
    let mut pem = std::fs::read(&app.demo_card.certificate).unwrap();
    pem.extend(std::fs::read(&app.demo_card.key).unwrap());
    reqwest::Identity::from_pem(&pem).unwrap()
}

#[tokio::test]
async fn card_login_opens_a_session_with_the_card_identity() {
    let (_data, app) = start().await;
    let c = client(&app, Some(card_identity(&app)));
    let r = c
        .get(format!("{}/login/cns", app.cns_base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!("{}/area", app.base_url)
    );
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let sid = cookie.split(';').next().unwrap().to_owned();
    assert!(sid.starts_with("sportello_sid="));

    let area = reqwest::Client::new()
        .get(format!("{}/area", app.base_url))
        .header("cookie", &sid)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(area.contains("RSSMRA85T10A562S"), "{area}");
    assert!(area.contains("MARIO ROSSI"), "{area}");
    assert!(area.contains("CNS"), "{area}");
    assert!(area.contains("CA CNS di prova"), "{area}");
}

#[tokio::test]
async fn no_card_gets_an_error_page_and_no_session() {
    let (_data, app) = start().await;
    let r = client(&app, None)
        .get(format!("{}/login/cns", app.cns_base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().get("set-cookie").is_none());
}

#[tokio::test]
async fn a_card_of_another_issuer_is_refused() {
    let (_data, app) = start().await;
    // A second portal generates its own demo CA: its card is unknown to the first one.
    let (_other_data, other) = start().await;
    let r = client(&app, Some(card_identity(&other)))
        .get(format!("{}/login/cns", app.cns_base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("set-cookie").is_none());
}
