//! GPD: rule checks before sending, every endpoint against wiremock, errors, retries.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use chrono::{TimeZone, Utc};
use pa_types::{Amount, OrganizationFiscalCode};
use pagopa::Iuv;
use pagopa::gpd::*;
use serde_json::json;
use wiremock::matchers::{body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ORG: &str = "80016350821";
const BASE: &str = "/organizations/80016350821/debtpositions";

fn org() -> OrganizationFiscalCode {
    ORG.parse().unwrap()
}

fn transfer(id: u8, cents: u64) -> Transfer {
    Transfer {
        id_transfer: id,
        amount: Amount::from_cents(cents),
        organization_fiscal_code: None,
        remittance_information: "TARI 2026".into(),
        category: Taxonomy::parse("9/0101101IM/").unwrap(),
        destination: Destination::Iban {
            iban: "IT60X0542811101000000123456".parse().unwrap(),
            postal_iban: None,
        },
        company_name: None,
        metadata: vec![],
    }
}

fn position() -> DebtPosition {
    let iuv = Iuv::parse("01000000000000144").unwrap();
    DebtPosition {
        iupd: "TARI-2026-0001".into(),
        debtor: Debtor::new(DebtorType::F, "RSSMRA80A01H501U", "Mario Rossi"),
        company_name: "Comune di Prova".into(),
        office_name: None,
        validity_date: None,
        switch_to_expired: false,
        pay_stand_in: true,
        payment_options: vec![PaymentOption {
            iuv,
            nav: Some(pagopa::NoticeNumber::parse("301000000000000144").unwrap()),
            amount: Amount::from_cents(12050),
            description: "TARI 2026".into(),
            is_partial_payment: false,
            due_date: Utc.with_ymd_and_hms(2099, 12, 31, 0, 0, 0).unwrap(),
            retention_date: None,
            fee: None,
            transfers: vec![transfer(1, 10000), transfer(2, 2050)],
            metadata: vec![],
        }],
    }
}

fn fast() -> RetryPolicy {
    RetryPolicy {
        max_retries: 2,
        initial_backoff: Duration::from_millis(1),
        max_backoff: Duration::from_millis(5),
    }
}

fn client(s: &MockServer) -> GpdClient {
    GpdClient::new(s.uri(), SubscriptionKey::new("super-secret-key")).with_retry(fast())
}

fn info_json() -> serde_json::Value {
    json!({"iupd": "TARI-2026-0001", "organizationFiscalCode": ORG, "status": "VALID",
           "paymentOption": [{"iuv": "01000000000000144", "nav": "301000000000000144",
                              "amount": 12050, "status": "PO_UNPAID",
                              "transfer": [{"idTransfer": "1", "amount": 10000, "status": "T_UNREPORTED"}]}]})
}

#[test]
fn key_is_redacted_in_debug() {
    let k = SubscriptionKey::new("super-secret-key");
    assert_eq!(format!("{k:?}"), "SubscriptionKey([redacted])");
    let c = GpdClient::new("http://127.0.0.1:1", k);
    assert!(!format!("{c:?}").contains("super-secret-key"));
}

#[test]
fn rules_are_checked_before_sending() {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 0, 0, 0).unwrap();
    assert_eq!(position().validate(now), Ok(()));
    type Edit = fn(&mut DebtPosition);
    let cases: Vec<(Edit, &str)> = vec![
        (
            |p| p.payment_options[0].transfers = (1..=6).map(|i| transfer(i.min(5), 1)).collect(),
            "transfer",
        ),
        (|p| p.payment_options[0].transfers.clear(), "transfer"),
        (
            |p| p.payment_options[0].amount = Amount::from_cents(12051),
            "transfer",
        ),
        (
            |p| p.payment_options[0].transfers[1].id_transfer = 1,
            "idTransfer",
        ),
        (
            |p| p.payment_options[0].transfers[1].id_transfer = 6,
            "idTransfer",
        ),
        (
            |p| p.payment_options[0].transfers[1].amount = Amount::ZERO,
            "amount",
        ),
        (
            |p| p.payment_options[0].due_date = Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap(),
            "dueDate",
        ),
        (
            |p| p.validity_date = Some(Utc.with_ymd_and_hms(2100, 1, 1, 0, 0, 0).unwrap()),
            "dueDate",
        ),
        (
            |p| {
                p.payment_options[0].retention_date =
                    Some(Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).unwrap())
            },
            "retentionDate",
        ),
        (
            |p| p.payment_options[0].description = "x".repeat(141),
            "description",
        ),
        (|p| p.company_name = "x".repeat(141), "companyName"),
        (
            |p| p.payment_options[0].transfers[0].remittance_information = "x".repeat(141),
            "remittanceInformation",
        ),
        (
            |p| {
                p.payment_options[0].nav =
                    Some(pagopa::NoticeNumber::parse("302123456789012356").unwrap())
            },
            "nav",
        ),
        (
            |p| {
                let o = p.payment_options[0].clone();
                p.payment_options.push(o);
            },
            "iuv",
        ),
        (|p| p.payment_options.clear(), "paymentOption"),
        (|p| p.iupd = "bad/iupd".into(), "iupd"),
        (|p| p.debtor.country = Some("it".into()), "country"),
        (
            |p| {
                p.payment_options[0].metadata = (0..11)
                    .map(|i| Metadata {
                        key: i.to_string(),
                        value: "v".into(),
                    })
                    .collect()
            },
            "paymentOptionMetadata",
        ),
        (
            |p| {
                p.payment_options[0].transfers[0].destination = Destination::Stamp(Stamp {
                    hash_document: "x".repeat(73),
                    stamp_type: "01".into(),
                    provincial_residence: "RM".into(),
                })
            },
            "hashDocument",
        ),
    ];
    for (edit, where_) in cases {
        let mut p = position();
        edit(&mut p);
        let e = p.validate(now).unwrap_err();
        assert!(e.path.contains(where_), "{e} (expected at {where_})");
    }
    for bad in [
        "0101101IM/",
        "9/",
        "9/0101101IM",
        "9//",
        "9/abc/",
        "x/0101101IM/",
    ] {
        assert!(Taxonomy::parse(bad).is_err(), "{bad}");
    }
    assert!(Taxonomy::parse("9/0301116TS/9/24B0060000000017").is_ok());
}

#[tokio::test]
async fn invalid_position_is_never_sent() {
    let s = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201))
        .expect(0)
        .mount(&s)
        .await;
    let mut p = position();
    p.payment_options[0].amount = Amount::from_cents(1);
    let e = client(&s).create(&org(), &p, true).await.unwrap_err();
    assert!(matches!(e, GpdError::Invalid(_)), "{e}");
}

#[tokio::test]
async fn create_sends_the_gpd_body() {
    let s = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(BASE))
        .and(query_param("toPublish", "true"))
        .and(header("Ocp-Apim-Subscription-Key", "super-secret-key"))
        .and(body_partial_json(json!({
            "iupd": "TARI-2026-0001", "type": "F", "fiscalCode": "RSSMRA80A01H501U",
            "companyName": "Comune di Prova", "switchToExpired": false,
            "paymentOption": [{"iuv": "01000000000000144", "nav": "301000000000000144",
                "amount": 12050, "isPartialPayment": false, "dueDate": "2099-12-31T00:00:00.000Z",
                "transfer": [{"idTransfer": "1", "amount": 10000, "category": "9/0101101IM/",
                              "iban": "IT60X0542811101000000123456"},
                             {"idTransfer": "2", "amount": 2050}]}]
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(info_json()))
        .expect(1)
        .mount(&s)
        .await;
    let info = client(&s).create(&org(), &position(), true).await.unwrap();
    assert_eq!(info.status, Some(PositionStatus::Valid));
    assert_eq!(
        info.payment_option[0].amount,
        Some(Amount::from_cents(12050))
    );
}

#[tokio::test]
async fn create_conflict_bad_request_unauthorized_and_no_retry() {
    let s = MockServer::start().await;
    let c = client(&s);
    let mount = |status: u16, body: serde_json::Value, n: u64| {
        Mock::given(method("POST"))
            .and(path(BASE))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .up_to_n_times(1)
            .expect(n)
    };
    mount(
        409,
        json!({"title": "Conflict", "status": 409, "detail": "IUPD already exists"}),
        1,
    )
    .mount(&s)
    .await;
    match c.create(&org(), &position(), false).await.unwrap_err() {
        GpdError::Api(ApiError::Conflict(p)) => {
            assert_eq!(p.detail.as_deref(), Some("IUPD already exists"));
        }
        e => panic!("{e:?}"),
    }
    mount(
        400,
        json!({"title": "BAD REQUEST", "status": 400, "detail": "Invalid IBAN"}),
        1,
    )
    .mount(&s)
    .await;
    let e = c.create(&org(), &position(), false).await.unwrap_err();
    assert!(e.to_string().contains("Invalid IBAN"), "{e}");
    mount(401, json!({}), 1).mount(&s).await;
    assert_eq!(
        c.create(&org(), &position(), false).await.unwrap_err(),
        GpdError::Api(ApiError::Unauthorized)
    );
    // A POST is not repeated on 5xx: exactly one call.
    mount(500, json!({"title": "Internal"}), 1).mount(&s).await;
    assert!(matches!(
        c.create(&org(), &position(), false).await.unwrap_err(),
        GpdError::Api(ApiError::Server { status: 500, .. })
    ));
}

#[tokio::test]
async fn get_retries_429_and_5xx_then_succeeds() {
    let s = MockServer::start().await;
    let p = format!("{BASE}/TARI-2026-0001");
    Mock::given(method("GET"))
        .and(path(&p))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path(&p))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path(&p))
        .respond_with(ResponseTemplate::new(200).set_body_json(info_json()))
        .expect(1)
        .mount(&s)
        .await;
    let info = client(&s).get(&org(), "TARI-2026-0001").await.unwrap();
    assert_eq!(info.iupd, "TARI-2026-0001");
}

#[tokio::test]
async fn retries_are_bounded() {
    let s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(BASE))
        .respond_with(ResponseTemplate::new(429))
        .expect(3)
        .mount(&s)
        .await;
    let e = client(&s)
        .list(&org(), &ListQuery::default())
        .await
        .unwrap_err();
    assert!(
        matches!(e, GpdError::Api(ApiError::TooManyRequests { .. })),
        "{e}"
    );
}

#[tokio::test]
async fn get_not_found_and_forbidden() {
    let s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/nope")))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"title": "Not found", "detail": "no position nope"})),
        )
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/forbidden")))
        .respond_with(ResponseTemplate::new(403).set_body_json(
            json!({"statusCode": 403, "message": "You are not allowed to access this resource."}),
        ))
        .mount(&s)
        .await;
    let c = client(&s);
    assert!(matches!(
        c.get(&org(), "nope").await.unwrap_err(),
        GpdError::Api(ApiError::NotFound(_))
    ));
    match c.get(&org(), "forbidden").await.unwrap_err() {
        GpdError::Api(ApiError::Forbidden(p)) => assert!(p.detail.unwrap().contains("not allowed")),
        e => panic!("{e:?}"),
    }
}

#[tokio::test]
async fn list_filters_and_pages() {
    let s = MockServer::start().await;
    for page in 0..2u32 {
        Mock::given(method("GET"))
            .and(path(BASE))
            .and(query_param("limit", "1"))
            .and(query_param("page", page.to_string()))
            .and(query_param("status", "VALID"))
            .and(query_param("due_date_from", "2026-01-01"))
            .and(query_param("orderby", "IUPD"))
            .and(query_param("ordering", "ASC"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "payment_position_list": [{"iupd": format!("P{page}"), "status": "VALID"}],
                "page_info": {"page": page, "limit": 1, "items_found": 1, "total_pages": 2}
            })))
            .expect(1)
            .mount(&s)
            .await;
    }
    let q = ListQuery {
        limit: 1,
        status: Some(PositionStatus::Valid),
        due_date_from: chrono::NaiveDate::from_ymd_opt(2026, 1, 1),
        order_by: Some(OrderBy::Iupd),
        ascending: true,
        ..ListQuery::default()
    };
    let all = client(&s).list_all(&org(), &q).await.unwrap();
    assert_eq!(
        all.iter().map(|p| p.iupd.as_str()).collect::<Vec<_>>(),
        ["P0", "P1"]
    );
    let bad = ListQuery {
        limit: 51,
        ..ListQuery::default()
    };
    assert!(matches!(
        client(&s).list(&org(), &bad).await.unwrap_err(),
        GpdError::Invalid(_)
    ));
}

#[tokio::test]
async fn update_publish_invalidate_delete() {
    let s = MockServer::start().await;
    let one = format!("{BASE}/TARI-2026-0001");
    Mock::given(method("PUT"))
        .and(path(&one))
        .and(query_param("toPublish", "false"))
        .respond_with(ResponseTemplate::new(502))
        .up_to_n_times(1)
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("PUT"))
        .and(path(&one))
        .respond_with(ResponseTemplate::new(200).set_body_json(info_json()))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{one}/publish")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"iupd": "TARI-2026-0001", "status": "PUBLISHED"})),
        )
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("{one}/invalidate")))
        .respond_with(
            ResponseTemplate::new(409)
                .set_body_json(json!({"title": "Conflict", "detail": "position already paid"})),
        )
        .expect(1)
        .mount(&s)
        .await;
    // DELETE: first attempt times out server-side (500), the retry finds it gone (404) = done.
    Mock::given(method("DELETE"))
        .and(path(&one))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("DELETE"))
        .and(path(&one))
        .respond_with(ResponseTemplate::new(404))
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("DELETE"))
        .and(path(format!("{BASE}/other")))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"detail": "not found"})))
        .expect(1)
        .mount(&s)
        .await;
    let c = client(&s);
    c.update(&org(), &position(), false).await.unwrap();
    let p = c.publish(&org(), "TARI-2026-0001").await.unwrap();
    assert_eq!(p.status, Some(PositionStatus::Published));
    match c.invalidate(&org(), "TARI-2026-0001").await.unwrap_err() {
        GpdError::Api(ApiError::Conflict(p)) => {
            assert_eq!(p.detail.as_deref(), Some("position already paid"))
        }
        e => panic!("{e:?}"),
    }
    c.delete(&org(), "TARI-2026-0001").await.unwrap();
    assert!(matches!(
        c.delete(&org(), "other").await.unwrap_err(),
        GpdError::Api(ApiError::NotFound(_))
    ));
}

#[tokio::test]
async fn unknown_status_and_transport_errors() {
    let s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/x")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"iupd": "x", "status": "ARCHIVED"})),
        )
        .mount(&s)
        .await;
    let info = client(&s).get(&org(), "x").await.unwrap();
    assert_eq!(info.status, Some(PositionStatus::Other("ARCHIVED".into())));
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/garbage")))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>"))
        .mount(&s)
        .await;
    assert!(matches!(
        client(&s).get(&org(), "garbage").await.unwrap_err(),
        GpdError::Api(ApiError::Decode(_))
    ));
    // Nothing listens there.
    let dead = GpdClient::new("http://127.0.0.1:9", SubscriptionKey::new("k")).with_retry(fast());
    assert!(matches!(
        dead.get(&org(), "x").await.unwrap_err(),
        GpdError::Api(ApiError::Transport(_))
    ));
}

#[tokio::test]
async fn receipts_list_and_detail() {
    let s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/payments/80016350821/receipts"))
        .and(query_param("debtor", "RSSMRA80A01H501U"))
        .and(header("Ocp-Apim-Subscription-Key", "super-secret-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "receipts_list": [{"organizationFiscalCode": ORG, "iuv": "01000000000000144",
                               "debtor": "RSSMRA80A01H501U", "paymentDateTime": "2026-11-23T10:15:00",
                               "status": "PAID"}],
            "page_info": {"page": 0, "limit": 50, "items_found": 1, "total_pages": 1}
        })))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/payments/80016350821/receipts/01000000000000144"))
        .and(header("Accept", "application/xml"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .expect(1)
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/payments/80016350821/receipts/01000000000000144"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<receipt>ok</receipt>"))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path("/payments/80016350821/receipts/none"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"title": "Not found", "detail": "No receipt found"})),
        )
        .mount(&s)
        .await;
    let c = GpdReceiptsClient::new(s.uri(), SubscriptionKey::new("super-secret-key"))
        .with_retry(fast());
    let q = ReceiptsQuery {
        debtor: Some("RSSMRA80A01H501U".into()),
        ..ReceiptsQuery::default()
    };
    let page = c.list(ORG, &q).await.unwrap();
    assert_eq!(page.receipts_list[0].iuv, "01000000000000144");
    assert_eq!(page.page_info.unwrap().total_pages, 1);
    assert_eq!(
        c.get_xml(ORG, "01000000000000144").await.unwrap(),
        "<receipt>ok</receipt>"
    );
    assert!(matches!(
        c.get_xml(ORG, "none").await.unwrap_err(),
        ApiError::NotFound(_)
    ));
}

/// Out-of-range values in fields the client does not need (a negative amount, a fee beyond
/// `i64`, a date that is a number, a transfer that is not an object, unknown fields) do not fail
/// the answer; what it needs is still read, and missing when it is required.
#[tokio::test]
async fn answers_with_out_of_range_fields_still_decode() {
    let s = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/odd")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "iupd": "odd", "organizationFiscalCode": 80016350821u64, "status": 7,
            "paymentDate": 1.5, "fee": -1, "unknownField": {"a": [1]},
            "paymentOption": [{
                "iuv": "01000000000000144", "nav": null, "amount": -12050,
                "fee": 1e40, "dueDate": 20261231, "status": "PO_UNPAID",
                "transfer": [
                    "not an object",
                    {"idTransfer": 1, "amount": 10000.5, "status": "T_UNREPORTED", "iban": false},
                    {"idTransfer": "2", "amount": 2050}
                ]
            }]
        })))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path(BASE))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "payment_position_list": [],
            "page_info": {"page": -1, "limit": 50, "items_found": 0, "total_pages": 1e12}
        })))
        .mount(&s)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/no-iuv")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"iupd": "no-iuv", "paymentOption": [{"amount": 1}]})),
        )
        .mount(&s)
        .await;
    let c = client(&s);
    let p = c.get(&org(), "odd").await.unwrap();
    assert_eq!(p.iupd, "odd");
    assert_eq!(p.organization_fiscal_code, None);
    assert_eq!(p.status, None);
    assert_eq!(p.payment_date, None);
    let po = &p.payment_option[0];
    assert_eq!(po.iuv, "01000000000000144");
    assert_eq!(po.amount, None);
    assert_eq!(po.due_date, None);
    assert_eq!(po.status.as_deref(), Some("PO_UNPAID"));
    assert_eq!(po.transfer.len(), 2);
    assert_eq!(po.transfer[0].id_transfer, None);
    assert_eq!(po.transfer[0].amount, None);
    assert_eq!(po.transfer[0].status.as_deref(), Some("T_UNREPORTED"));
    assert_eq!(po.transfer[1].amount, Some(Amount::from_cents(2050)));
    let page = c.list(&org(), &ListQuery::default()).await.unwrap();
    assert_eq!(page.page_info.page, 0);
    assert_eq!(page.page_info.total_pages, 0);
    assert!(matches!(
        c.get(&org(), "no-iuv").await,
        Err(GpdError::Api(ApiError::Decode(_)))
    ));
}
