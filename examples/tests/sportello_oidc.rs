//! SPID and CIE id over OpenID Connect Federation in the sportello (`oidc: true`), end to end
//! over HTTP as a browser goes: the home page's OIDC buttons (OPs from their Trust Chains), the
//! library's router at `/oidc`, the embedded test federation's OP at `/test-fed` (request object
//! checked, consent form, code, token, encrypted UserInfo), the citizen's area and operator page
//! on the OIDC session, the portal's logout revoking the tokens. Also under a partner's path
//! prefix, and off by default.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{http, input, set_cookie};
use examples::sportello::{self, Config, Running};
use reqwest::header::{COOKIE, LOCATION};
use serde_json::json;

const MARIO: &str = "RSSMRA85T10A562S";

async fn start(config: serde_json::Value) -> (tempfile::TempDir, Running) {
    let data = tempfile::tempdir().unwrap();
    let mut config: Config = serde_json::from_value(config).unwrap();
    config.port = 0;
    config.cns_port = 0;
    config.data_dir = data.path().to_owned();
    (data, sportello::start(config).await.unwrap())
}

fn unescape(s: &str) -> String {
    s.replace("&amp;", "&").replace("&quot;", "\"")
}

/// The link of the OIDC button of the OP `op` on the page.
fn button(page: &str, op: &str) -> String {
    let at = page
        .find(&format!("data-op=\"{op}\""))
        .unwrap_or_else(|| panic!("no button of {op} in {page}"));
    let rest = &page[at..];
    let h = rest.find("href=\"").unwrap() + 6;
    unescape(&rest[h..h + rest[h..].find('"').unwrap()])
}

fn origin(base: &str) -> String {
    let i = base.find("://").unwrap() + 3;
    let end = base[i..].find('/').map_or(base.len(), |e| i + e);
    base[..end].to_owned()
}

/// From the home page of the ente at `base` to its area, through the OP `op`
/// (`{base}/test-fed/op/{op}`); returns the session cookie and the callback URL used.
async fn oidc_login(base: &str, op: &str) -> (String, String) {
    let c = http();
    let home = c.get(base).send().await.unwrap().text().await.unwrap();
    assert!(home.contains("Entra con SPID") && home.contains("Entra con CIE"));
    let op_id = format!("{base}/test-fed/op/{op}");
    let start = format!("{}{}", origin(base), button(&home, &op_id));
    let r = c.get(&start).send().await.unwrap();
    assert_eq!(r.status(), 303, "{start}");
    let login_cookie = set_cookie(&r, "oidc_login").expect("login cookie");
    let to_op = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(
        to_op.starts_with(&format!("{op_id}/authorization?")),
        "{to_op}"
    );
    let page = c.get(&to_op).send().await.unwrap().text().await.unwrap();
    let token = input(&page, "token");
    let r = c
        .post(format!("{op_id}/consent"))
        .form(&[
            ("token", token.as_str()),
            ("given_name", "Mario"),
            ("family_name", "Rossi"),
            ("fiscal_code", MARIO),
            ("consent", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let callback = r.headers()[LOCATION].to_str().unwrap().to_owned();
    assert!(
        callback.starts_with(&format!("{base}/oidc/callback?")),
        "{callback}"
    );
    let r = c
        .get(&callback)
        .header(COOKIE, &login_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{:?}", r.text().await);
    assert_eq!(
        r.headers()[LOCATION].to_str().unwrap(),
        format!("{}/area", base.trim_start_matches(&origin(base)))
    );
    (
        set_cookie(&r, "oidc_session").expect("session cookie"),
        callback,
    )
}

#[tokio::test]
async fn citizen_logs_in_over_oidc_next_to_saml_and_out_again() {
    let (_d, app) = start(json!({"oidc": true})).await;
    let base = app.base_url.clone();

    // the RP's Entity Configuration, at its Entity Identifier
    let r = http()
        .get(format!("{base}/oidc/.well-known/openid-federation"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/entity-statement+jwt"
    );
    let ec = r.text().await.unwrap();
    let st = oidc_fed::verify_entity_configuration(
        &ec,
        &format!("{base}/oidc"),
        &oidc_fed::Alg::ALL,
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64,
    )
    .unwrap();
    assert_eq!(st.authority_hints, vec![format!("{base}/test-fed/ta")]);

    // SAML stays on the home page next to OIDC
    let home = common::page(&format!("{base}/"), "").await;
    assert!(home.contains("id=\"entra-spid\""), "{home}");

    let (session, callback) = oidc_login(&base, "spid").await;
    let area = common::page(&format!("{base}/area"), &session).await;
    assert!(area.contains("Mario") && area.contains("Rossi"), "{area}");
    // Mario Rossi is the demo ente's operator: the identity carries his fiscal code
    let r = http()
        .get(format!("{base}/operatore"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // the callback replayed (with no login cookie left) is refused
    let r = http().get(&callback).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("La sessione di accesso"));

    // the portal's logout ends the OIDC session too
    let r = http()
        .post(format!("{base}/logout"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(
        set_cookie(&r, "oidc_session").as_deref(),
        Some("oidc_session=")
    );
    let r = http()
        .get(format!("{base}/operatore"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "the old session id no longer logs in");

    // CIE id over OIDC
    let (session, _) = oidc_login(&base, "cie").await;
    let area = common::page(&format!("{base}/area"), &session).await;
    assert!(area.contains("Rossi"), "{area}");
}

#[tokio::test]
async fn oidc_under_a_partners_path_prefix() {
    let (_d, app) = start(json!({
        "oidc": true,
        "partner": {"name": "Partner S.p.A.", "vat_number": "01234567897",
            "email": "spid@partner.example", "broker": "01234567897",
            "station": "01234567897_01"},
        "enti": [{
            "id": "roccaverde", "name": "Comune di Roccaverde", "ipa": "c_r001",
            "fiscal_code": "00000000018", "segregation": "01",
            "iban": "IT25O0306909606100000012345", "fee_cents": 1600, "aoo": "AOO_RV",
            "path_prefix": "/roccaverde", "operators": [MARIO]
        }]
    }))
    .await;
    let base = app.ente_url("roccaverde").unwrap().to_owned();
    let (session, _) = oidc_login(&base, "spid").await;
    let r = http()
        .get(format!("{base}/operatore"))
        .header(COOKIE, &session)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn oidc_is_off_by_default() {
    let (_d, app) = start(json!({})).await;
    let base = app.base_url.clone();
    let home = common::page(&format!("{base}/"), "").await;
    assert!(!home.contains("data-op="), "{home}");
    let r = http()
        .get(format!("{base}/oidc/login"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}
