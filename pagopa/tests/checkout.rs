//! The Checkout EC client against wiremock; every body it sends is checked against
//! `CartRequestV2` of the official `checkout_v2.json` by the `jsonschema` crate.
#![cfg(feature = "client")]
#![allow(clippy::unwrap_used)]

mod openapi;

use pa_types::Amount;
use pagopa::checkout::{Cart, CartNotice, CheckoutClient, CheckoutError, ReturnUrls};
use pagopa::gpd::SubscriptionKey;
use pagopa::{NoticeNumber, SegregationCode};
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn notice_no(base: u64) -> NoticeNumber {
    NoticeNumber::new_aux3(SegregationCode::new(1).unwrap(), base).unwrap()
}

fn notice(base: u64, cents: u64) -> CartNotice {
    CartNotice {
        notice_number: notice_no(base),
        fiscal_code: "80016350821".parse().unwrap(),
        amount: Amount::from_cents(cents),
        company_name: "Comune di Prova".into(),
        description: "TARI 2026 - rata 1".into(),
    }
}

fn urls() -> ReturnUrls {
    ReturnUrls::new(
        "https://sportello.example.it/pagopa/ok?cart=42",
        "https://sportello.example.it/pagopa/annullato",
        "https://sportello.example.it/pagopa/errore",
    )
}

fn cart() -> Cart {
    Cart::new(vec![notice(1, 12050), notice(2, 2600)], urls())
        .with_id_cart("sportello-cart-42")
        .with_email_notice("mario.rossi@example.it")
}

type Edit = Box<dyn Fn(&mut Value)>;

fn cart_validator() -> jsonschema::Validator {
    openapi::validator("checkout_v2.json", "CartRequestV2")
}

#[test]
fn bodies_are_valid_against_the_official_schema() {
    let v = cart_validator();
    openapi::assert_valid(&v, &cart().to_json());
    // The smallest cart: one notice of one cent, no idCart, no e-mail.
    let one = Cart::new(vec![notice(1, 1)], urls());
    one.validate().unwrap();
    openapi::assert_valid(&v, &one.to_json());
    // The largest: five notices, texts at their longest.
    let mut five = Cart::new((1..=5).map(|i| notice(i, 100 * i)).collect(), urls());
    five.notices[4].description = "d".repeat(140);
    five.notices[4].company_name = "è".repeat(140);
    five.all_ccp = Some(true);
    five.validate().unwrap();
    openapi::assert_valid(&v, &five.to_json());
}

/// The oracle is not blind: it rejects what the client refuses too.
#[test]
fn the_schema_validator_rejects_bad_bodies() {
    let v = cart_validator();
    let good = cart().to_json();
    let cases: Vec<(&str, Edit)> = vec![
        (
            "six notices",
            Box::new(|b| {
                let n = b["paymentNotices"][0].clone();
                b["paymentNotices"] = Value::Array(vec![n; 6]);
            }),
        ),
        ("no notices", Box::new(|b| b["paymentNotices"] = json!([]))),
        (
            "amount 0",
            Box::new(|b| b["paymentNotices"][0]["amount"] = json!(0)),
        ),
        (
            "amount as text",
            Box::new(|b| b["paymentNotices"][0]["amount"] = json!("1.00")),
        ),
        (
            "17-digit notice",
            Box::new(|b| b["paymentNotices"][0]["noticeNumber"] = json!("30100000000000014")),
        ),
        (
            "10-digit fiscal code",
            Box::new(|b| b["paymentNotices"][0]["fiscalCode"] = json!("8001635082")),
        ),
        (
            "141-char description",
            Box::new(|b| b["paymentNotices"][0]["description"] = json!("x".repeat(141))),
        ),
        (
            "no waiting URL",
            Box::new(|b| {
                b["returnUrls"]
                    .as_object_mut()
                    .unwrap()
                    .remove("returnWaitingUrl");
            }),
        ),
        (
            "bad e-mail",
            Box::new(|b| b["emailNotice"] = json!("not an address")),
        ),
        (
            "no return URLs",
            Box::new(|b| {
                b.as_object_mut().unwrap().remove("returnUrls");
            }),
        ),
    ];
    for (what, edit) in cases {
        let mut b = good.clone();
        edit(&mut b);
        assert!(
            !openapi::errors(&v, &b).is_empty(),
            "the official schema accepted a cart with {what}"
        );
        // Our reader refuses it as well.
        assert!(
            Cart::from_json(&serde_json::to_vec(&b).unwrap()).is_err(),
            "Cart::from_json accepted a cart with {what}"
        );
    }
}

#[tokio::test]
async fn posts_a_valid_cart_and_returns_the_location() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/checkout/ec/v2/carts"))
        .and(header("Ocp-Apim-Subscription-Key", "k-123"))
        .respond_with(
            ResponseTemplate::new(302)
                .insert_header("Location", "https://checkout.example.it/c/abc?x=1"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let client = CheckoutClient::new(
        format!("{}/checkout/ec/v2/", server.uri()),
        SubscriptionKey::new("k-123"),
    );
    let loc = client.post_cart(&cart()).await.unwrap();
    assert_eq!(loc, "https://checkout.example.it/c/abc?x=1");
    let reqs = server.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&reqs[0].body).unwrap();
    openapi::assert_valid(&cart_validator(), &body);
    assert_eq!(body["idCart"], "sportello-cart-42");
    assert_eq!(body["paymentNotices"][1]["amount"], 2600);
    assert_eq!(
        body["paymentNotices"][0]["noticeNumber"],
        notice_no(1).as_str()
    );
}

#[tokio::test]
async fn invalid_carts_are_refused_before_sending() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "https://x.it/"))
        .expect(0)
        .mount(&server)
        .await;
    let client = CheckoutClient::without_key(server.uri());
    let mut cases: Vec<(&str, Cart)> = Vec::new();
    let mut c = cart();
    c.notices.clear();
    cases.push(("paymentNotices", c));
    let mut c = cart();
    c.notices = (1..=6).map(|i| notice(i, 1)).collect();
    cases.push(("paymentNotices", c));
    let mut c = cart();
    c.notices[1] = c.notices[0].clone();
    cases.push(("paymentNotices[1].noticeNumber", c));
    let mut c = cart();
    c.notices[0].amount = Amount::ZERO;
    cases.push(("paymentNotices[0].amount", c));
    let mut c = cart();
    c.notices[1].company_name = "x".repeat(141);
    cases.push(("paymentNotices[1].companyName", c));
    let mut c = cart();
    c.notices[0].description = "  ".into();
    cases.push(("paymentNotices[0].description", c));
    let mut c = cart();
    c.return_urls.ok = "www.comune.di.prova.it/ok".into();
    cases.push(("returnUrls.returnOkUrl", c));
    let mut c = cart();
    c.return_urls.cancel = "javascript:alert(1)".into();
    cases.push(("returnUrls.returnCancelUrl", c));
    let mut c = cart();
    c.return_urls.error = "https://a.it/x y".into();
    cases.push(("returnUrls.returnErrorUrl", c));
    let mut c = cart();
    c.return_urls.waiting = "https://".into();
    cases.push(("returnUrls.returnWaitingUrl", c));
    cases.push(("idCart", cart().with_id_cart("x".repeat(211))));
    cases.push(("idCart", cart().with_id_cart("")));
    cases.push(("emailNotice", cart().with_email_notice("mario@")));
    for (field, c) in cases {
        match client.post_cart(&c).await {
            Err(CheckoutError::Invalid(e)) => assert_eq!(e.path, field, "{e}"),
            other => panic!("{field}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn documented_error_answers_are_typed() {
    let server = MockServer::start().await;
    let problem = |status: u16| {
        json!({"type": "about:blank", "title": "Invalid cart", "status": status,
               "detail": "notice 301... unknown", "instance": "/carts/1"})
    };
    let client = CheckoutClient::without_key(server.uri());
    for (status, body, check) in [
        (400u16, Some(problem(400)), "bad"),
        (500, Some(problem(500)), "server"),
        (401, None, "unauthorized"),
        (503, None, "unexpected"),
        (302, None, "no-location"),
    ] {
        server.reset().await;
        let mut t = ResponseTemplate::new(status);
        if let Some(b) = body {
            t = t.set_body_json(b);
        } else if status == 503 {
            t = t.set_body_string("upstream down");
        }
        Mock::given(method("POST"))
            .respond_with(t)
            .mount(&server)
            .await;
        let err = client.post_cart(&cart()).await.unwrap_err();
        match (check, err) {
            ("bad", CheckoutError::BadRequest(p)) | ("server", CheckoutError::Server(p)) => {
                assert_eq!(p.title.as_deref(), Some("Invalid cart"));
                assert_eq!(p.status, Some(status));
                assert_eq!(p.instance.as_deref(), Some("/carts/1"));
                assert_eq!(p.problem_type.as_deref(), Some("about:blank"));
            }
            ("unauthorized", CheckoutError::Unauthorized) => {}
            (
                "unexpected",
                CheckoutError::UnexpectedStatus {
                    status: 503,
                    problem,
                },
            ) => {
                assert_eq!(problem.detail.as_deref(), Some("upstream down"));
            }
            ("no-location", CheckoutError::BadLocation(_)) => {}
            (c, e) => panic!("{c}: {e:?}"),
        }
    }
    // A Location that is not an absolute URL is not handed to the browser.
    server.reset().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(302).insert_header("Location", "javascript:x"))
        .mount(&server)
        .await;
    assert!(matches!(
        client.post_cart(&cart()).await,
        Err(CheckoutError::BadLocation(_))
    ));
}
