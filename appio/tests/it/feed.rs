//! Subscriptions feed and organization logo, against the spec-checked mock and wiremock.

use appio::mock::{MockConfig, MockServer as IoMock};
use appio::{ApiError, Error, FiscalCodeHash, Logo, parse_date_utc};
use chrono::NaiveDate;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{base, cf, client, payee};
use crate::manage::png;
use crate::schema::checked;

/// SHA-256 by `sha256sum` (coreutils), an implementation nobody here wrote.
fn sha256sum(text: &str) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("sha256sum (coreutils) is required");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

#[test]
fn the_hash_is_sha256_of_the_upper_case_fiscal_code() {
    for i in [0, 1, 77] {
        let c = cf(i);
        assert_eq!(FiscalCodeHash::of(&c).as_str(), sha256sum(c.as_str()));
    }
    // The spec's example is the SHA-256 of the empty string.
    assert_eq!(
        sha256sum(""),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    FiscalCodeHash::new("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        .unwrap();
    assert!(
        FiscalCodeHash::new("E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855")
            .is_err()
    );
    assert!(FiscalCodeHash::new("e3b0c44298fc1c14").is_err());
    assert!(parse_date_utc("2019-9-03").is_err());
    assert!(parse_date_utc("2019-02-30").is_err());
    assert_eq!(
        parse_date_utc("2019-09-03").unwrap(),
        NaiveDate::from_ymd_opt(2019, 9, 3).unwrap()
    );
}

#[tokio::test]
async fn the_feed_of_a_day_is_read_and_checked() {
    let mock = IoMock::start(checked(MockConfig::default())).await.unwrap();
    let c = client(&mock.base_url());
    let day = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
    assert!(matches!(
        c.subscriptions_feed(day).await.unwrap_err(),
        Error::Api(ApiError::NotFound { .. })
    ));
    let subs = vec![
        FiscalCodeHash::of(&cf(1)).to_string(),
        FiscalCodeHash::of(&cf(2)).to_string(),
    ];
    mock.set_feed(
        "2025-03-01",
        subs.clone(),
        vec![FiscalCodeHash::of(&cf(3)).to_string()],
    );
    let feed = c.subscriptions_feed(day).await.unwrap();
    assert_eq!(feed.date, day);
    assert!(feed.subscriptions.contains(&FiscalCodeHash::of(&cf(2))));
    assert_eq!(feed.unsubscriptions, vec![FiscalCodeHash::of(&cf(3))]);
    // A bad hash in the feed is a malformed answer, not a silently wrong list.
    mock.set_feed("2025-03-02", vec!["XYZ".into()], vec![]);
    let e = c
        .subscriptions_feed(NaiveDate::from_ymd_opt(2025, 3, 2).unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Api(ApiError::MalformedResponse { .. })),
        "{e}"
    );
    assert!(
        mock.request_violations().is_empty(),
        "{:?}",
        mock.request_violations()
    );
}

#[tokio::test]
async fn a_feed_of_another_day_is_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/subscriptions-feed/2025-03-01"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "dateUTC": "2025-02-28", "subscriptions": [], "unsubscriptions": []
        })))
        .mount(&server)
        .await;
    let e = client(&base(&server))
        .subscriptions_feed(NaiveDate::from_ymd_opt(2025, 3, 1).unwrap())
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Api(ApiError::MalformedResponse { .. })),
        "{e}"
    );
}

#[tokio::test]
async fn the_organization_logo_is_uploaded() {
    let mock = IoMock::start(checked(MockConfig::default())).await.unwrap();
    let logo = Logo::png(png(200, 200)).unwrap();
    client(&mock.base_url())
        .upload_organization_logo(&payee(), &logo)
        .await
        .unwrap();
    assert_eq!(
        mock.organization_logo(payee().as_str()).unwrap(),
        logo.bytes()
    );
    assert!(
        mock.request_violations().is_empty(),
        "{:?}",
        mock.request_violations()
    );
}
