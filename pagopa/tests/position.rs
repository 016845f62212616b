//! Debt positions with several payment options: GPD's rules, GPD v3 bodies validated against
//! the official `gpd_v3.json` (the `jsonschema` crate), the v3 client against wiremock, and
//! installments paid through a real paForNode router with the node simulator.
#![allow(clippy::unwrap_used)]

mod openapi;

use chrono::{DateTime, Duration, Utc};
use pa_types::{Amount, OrganizationFiscalCode};
use pagopa::gpd::{Debtor, DebtorType, Destination, Metadata, Stamp, Taxonomy, Transfer};
use pagopa::position::{Installment, PaymentOption, Position};
use pagopa::{NoticeNumber, SegregationCode};
use serde_json::{Value, json};

const ORG: &str = "80016350821";
const BANK: &str = "IT60X0542811101000000123456";
const POSTAL: &str = "IT30O0760103200000012345678";
const POSTAL_2: &str = "IT92G0760101600000098765432";

fn org() -> OrganizationFiscalCode {
    ORG.parse().unwrap()
}

fn nav(base: u64) -> NoticeNumber {
    NoticeNumber::new_aux3(SegregationCode::new(1).unwrap(), base).unwrap()
}

fn transfer(id: u8, cents: u64, destination: Destination) -> Transfer {
    Transfer {
        id_transfer: id,
        amount: Amount::from_cents(cents),
        organization_fiscal_code: None,
        remittance_information: "TARI 2026".into(),
        category: Taxonomy::parse("9/0101101IM/").unwrap(),
        destination,
        company_name: None,
        metadata: vec![],
    }
}

fn bank(postal: bool) -> Destination {
    Destination::Iban {
        iban: BANK.parse().unwrap(),
        postal_iban: postal.then(|| POSTAL.parse().unwrap()),
    }
}

fn stamp() -> Destination {
    Destination::Stamp(Stamp {
        hash_document: "wHpFSLCGZjIvNSXxqtGbxg7275t446DRTk5ZrsdUQ6E=".into(),
        stamp_type: "01".into(),
        provincial_residence: "RM".into(),
    })
}

fn installment(
    base: u64,
    description: &str,
    due: DateTime<Utc>,
    transfers: Vec<Transfer>,
) -> Installment {
    let n = nav(base);
    Installment {
        iuv: n.iuv(),
        nav: Some(n),
        amount: Amount::checked_sum(transfers.iter().map(|t| t.amount)).unwrap(),
        description: description.into(),
        due_date: due,
        transfers,
        metadata: vec![Metadata {
            key: "rata".into(),
            value: description.into(),
        }],
    }
}

fn debtor() -> Debtor {
    let mut d = Debtor::new(DebtorType::F, "RSSMRA80A01H501U", "Mario Rossi");
    d.email = Some("mario.rossi@example.it".into());
    d.country = Some("IT".into());
    d
}

fn option(description: &str, installments: Vec<Installment>) -> PaymentOption {
    PaymentOption {
        description: Some(description.into()),
        debtor: debtor(),
        validity_date: None,
        retention_date: None,
        switch_to_expired: false,
        installments,
    }
}

fn days(n: i64) -> DateTime<Utc> {
    Utc::now() + Duration::days(n)
}

/// TARI 2026: 300.00 in one payment, or three rates of 100.00; bank accounts with a postal
/// alternative, the province's TEFA share on its own transfer.
fn tari(iupd: &str, base: u64) -> Position {
    let tefa = |id: u8, cents: u64| {
        let mut t = transfer(
            id,
            cents,
            Destination::Iban {
                iban: POSTAL_2.parse().unwrap(),
                postal_iban: None,
            },
        );
        t.organization_fiscal_code = Some("80011990639".parse().unwrap());
        t.remittance_information = "TEFA 2026".into();
        t.company_name = Some("Città metropolitana".into());
        t
    };
    Position {
        creditor: org(),
        iupd: iupd.into(),
        company_name: "Comune di Prova".into(),
        office_name: Some("Ufficio tributi".into()),
        pay_stand_in: true,
        options: vec![
            option(
                "Rata unica",
                vec![installment(
                    base,
                    "TARI 2026 rata unica",
                    days(30),
                    vec![transfer(1, 28500, bank(true)), tefa(2, 1500)],
                )],
            ),
            option(
                "Tre rate",
                (1..=3)
                    .map(|k| {
                        installment(
                            base + k,
                            &format!("TARI 2026 rata {k} di 3"),
                            days(30 * i64::try_from(k).unwrap()),
                            vec![transfer(1, 9500, bank(true)), tefa(2, 500)],
                        )
                    })
                    .collect(),
            ),
        ],
    }
}

fn position_validator() -> jsonschema::Validator {
    openapi::validator("gpd_v3.json", "PaymentPositionModelV3")
}

#[test]
fn bodies_are_valid_against_gpd_v3() {
    let v = position_validator();
    let p = tari("TARI-2026-0001", 100);
    p.validate(Utc::now()).unwrap();
    openapi::assert_valid(&v, &p.to_gpd_v3_json());
    // A stamp transfer, a plan only (no single option), retention and validity dates, 5 transfers.
    let mut cert = tari("CERT-1", 200);
    cert.options.remove(0);
    cert.options[0].validity_date = Some(days(1));
    cert.options[0].retention_date = Some(days(400));
    cert.options[0].installments[0].transfers = vec![
        transfer(1, 1600, stamp()),
        transfer(2, 100, bank(false)),
        transfer(3, 100, bank(true)),
        transfer(4, 100, bank(false)),
        transfer(5, 100, bank(false)),
    ];
    cert.options[0].installments[0].amount = Amount::from_cents(2000);
    cert.validate(Utc::now()).unwrap();
    let body = cert.to_gpd_v3_json();
    openapi::assert_valid(&v, &body);
    assert_eq!(
        body["paymentOption"][0]["installments"][0]["transfer"][0]["stamp"]["stampType"],
        "01"
    );
    assert_eq!(
        body["paymentOption"][0]["installments"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
}

type Edit = Box<dyn Fn(&mut Value)>;

#[test]
fn the_gpd_v3_schema_rejects_bad_bodies() {
    let v = position_validator();
    let good = tari("TARI-2026-0001", 100).to_gpd_v3_json();
    let cases: Vec<(&str, Edit)> = vec![
        ("no options", Box::new(|b| b["paymentOption"] = json!([]))),
        (
            "no debtor",
            Box::new(|b| {
                b["paymentOption"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("debtor");
            }),
        ),
        (
            "idTransfer 6",
            Box::new(|b| {
                b["paymentOption"][0]["installments"][0]["transfer"][0]["idTransfer"] = json!("6");
            }),
        ),
        (
            "amount 0",
            Box::new(|b| b["paymentOption"][1]["installments"][2]["amount"] = json!(0)),
        ),
        (
            "IBAN with spaces",
            Box::new(|b| {
                b["paymentOption"][0]["installments"][0]["transfer"][0]["iban"] =
                    json!("IT60 X054");
            }),
        ),
        (
            "no installments",
            Box::new(|b| b["paymentOption"][1]["installments"] = json!([])),
        ),
        (
            "long description",
            Box::new(|b| {
                b["paymentOption"][0]["installments"][0]["description"] = json!("x".repeat(141));
            }),
        ),
        (
            "debtor type X",
            Box::new(|b| b["paymentOption"][0]["debtor"]["type"] = json!("X")),
        ),
    ];
    for (what, edit) in cases {
        let mut b = good.clone();
        edit(&mut b);
        assert!(
            !openapi::errors(&v, &b).is_empty(),
            "gpd_v3.json accepted a position with {what}"
        );
    }
}

#[test]
fn gpd_rules_are_checked_before_sending() {
    let now = Utc::now();
    let mut cases: Vec<(&str, Position)> = Vec::new();
    let mut p = tari("T", 100);
    p.options[1].installments[1].amount = Amount::from_cents(9999);
    cases.push(("paymentOption[1].installments[1].transfer", p));
    let mut p = tari("T", 100);
    let mut second_single = p.options[0].clone();
    second_single.installments[0] =
        installment(50, "altra", days(10), vec![transfer(1, 100, bank(false))]);
    p.options.push(second_single);
    cases.push(("paymentOption[2]", p));
    let mut p = tari("T", 100);
    p.options[0].installments[0].transfers =
        (1..=6).map(|i| transfer(i, 5000, bank(false))).collect();
    cases.push(("paymentOption[0].installments[0].transfer", p));
    let mut p = tari("T", 100);
    p.options[1].installments[0].transfers[1].id_transfer = 1;
    cases.push(("paymentOption[1].installments[0].transfer[1].idTransfer", p));
    let mut p = tari("T", 100);
    p.options[1].installments[2] = p.options[0].installments[0].clone();
    cases.push(("paymentOption[1].installments[2].iuv", p));
    let mut p = tari("T", 100);
    p.options[1].installments[0].nav = Some(nav(999));
    cases.push(("paymentOption[1].installments[0].nav", p));
    let mut p = tari("T", 100);
    p.options[0].installments[0].transfers[0].destination = Destination::Iban {
        iban: BANK.parse().unwrap(),
        postal_iban: Some(BANK.parse().unwrap()),
    };
    cases.push(("paymentOption[0].installments[0].transfer[0].postalIban", p));
    let mut p = tari("T", 100);
    if let Destination::Stamp(s) = &mut stamp() {
        s.hash_document = "not base64!".into();
        p.options[0].installments[0].transfers[0].destination = Destination::Stamp(s.clone());
    }
    cases.push((
        "paymentOption[0].installments[0].transfer[0].stamp.hashDocument",
        p,
    ));
    let mut p = tari("T", 100);
    if let Destination::Stamp(s) = &mut stamp() {
        s.provincial_residence = "rm".into();
        p.options[0].installments[0].transfers[0].destination = Destination::Stamp(s.clone());
    }
    cases.push((
        "paymentOption[0].installments[0].transfer[0].stamp.provincialResidence",
        p,
    ));
    let mut p = tari("T", 100);
    p.options[1].installments[0].due_date = now - Duration::days(1);
    cases.push(("paymentOption[1].installments[0].dueDate", p));
    let mut p = tari("T", 100);
    p.options[1].validity_date = Some(days(45));
    cases.push(("paymentOption[1].installments[0].dueDate", p));
    let mut p = tari("T", 100);
    p.options[1].retention_date = Some(days(40));
    cases.push(("paymentOption[1].retentionDate", p));
    let mut p = tari("T", 100);
    p.options.clear();
    cases.push(("paymentOption", p));
    let mut p = tari("T", 100);
    p.options[1].installments.clear();
    cases.push(("paymentOption[1].installments", p));
    let mut p = tari("T", 100);
    p.iupd = "bad/iupd".into();
    cases.push(("iupd", p));
    let mut p = tari("T", 100);
    p.options[0].debtor.full_name = " ".into();
    cases.push(("paymentOption[0].debtor.fullName", p));
    let mut p = tari("T", 100);
    p.options[0].installments[0].metadata = (0..11)
        .map(|i| Metadata {
            key: format!("k{i}"),
            value: "v".into(),
        })
        .collect();
    cases.push(("paymentOption[0].installments[0].installmentMetadata", p));
    for (field, p) in cases {
        let e = p.validate(now).unwrap_err();
        assert_eq!(e.path, field, "{e}");
    }
}

#[cfg(feature = "client")]
mod client {
    use super::*;
    use pagopa::gpd::{
        ApiError, GpdError, GpdV3Client, ListQuery, PositionStatus, RetryPolicy, SubscriptionKey,
    };
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    const BASE: &str = "/organizations/80016350821/debtpositions";

    fn client(s: &MockServer) -> GpdV3Client {
        GpdV3Client::new(s.uri(), SubscriptionKey::new("k")).with_retry(RetryPolicy::none())
    }

    /// An answer with everything a real one may carry, including values out of range in
    /// fields this crate does not use.
    fn answer() -> Value {
        json!({
            "iupd": "TARI-2026-0001", "organizationFiscalCode": ORG, "companyName": "Comune di Prova",
            "status": "UNPAYABLE", "insertedDate": "not a date", "publishDate": 12,
            "lastUpdatedDate": null, "newFieldFromTheFuture": {"x": [1, 2]},
            "paymentOption": [{
                "switchToExpired": false, "retentionDate": 3.5, "insertedDate": "x",
                "debtor": {"type": "Q", "fiscalCode": 7},
                "installments": [{
                    "iuv": nav(100).iuv().as_str(), "nav": nav(100).as_str(),
                    "amount": 30000, "fee": -5, "notificationFee": 1e30,
                    "status": "UNPAID", "dueDate": "2026-12-31T23:59:59",
                    "installmentMetadata": "not a list",
                    "transfer": [{"idTransfer": "9", "amount": -1, "status": "T_WHATEVER"}]
                }]
            }, {
                "installments": [{"iuv": nav(101).iuv().as_str(), "amount": -300, "status": "PAID",
                                   "idReceipt": "r-1", "paymentDate": "2026-01-31T10:00:00"}]
            }]
        })
    }

    #[tokio::test]
    async fn create_sends_a_schema_valid_body_and_reads_a_lenient_answer() {
        let s = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path(BASE))
            .and(query_param("toPublish", "true"))
            .and(header("Ocp-Apim-Subscription-Key", "k"))
            .respond_with(ResponseTemplate::new(201).set_body_json(answer()))
            .expect(1)
            .mount(&s)
            .await;
        let info = client(&s)
            .create(&tari("TARI-2026-0001", 100), true)
            .await
            .unwrap();
        let reqs = s.received_requests().await.unwrap();
        let body: Value = serde_json::from_slice(&reqs[0].body).unwrap();
        openapi::assert_valid(&position_validator(), &body);
        assert_eq!(info.iupd, "TARI-2026-0001");
        assert_eq!(info.status, Some(PositionStatus::Other("UNPAYABLE".into())));
        assert_eq!(info.options.len(), 2);
        let i0 = &info.options[0].installments[0];
        assert_eq!(i0.amount, Some(Amount::from_cents(30000)));
        assert_eq!(i0.nav.as_deref(), Some(nav(100).as_str()));
        // Out of range where it is used: dropped, not fatal.
        let i1 = &info.options[1].installments[0];
        assert_eq!(i1.amount, None);
        assert_eq!(i1.status.as_deref(), Some("PAID"));
        assert_eq!(i1.id_receipt.as_deref(), Some("r-1"));
    }

    #[tokio::test]
    async fn invalid_positions_are_not_sent() {
        let s = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(ResponseTemplate::new(201))
            .expect(0)
            .mount(&s)
            .await;
        let mut p = tari("T", 100);
        p.options[1].installments[1].amount = Amount::from_cents(1);
        assert!(matches!(
            client(&s).create(&p, false).await,
            Err(GpdError::Invalid(_))
        ));
        assert!(matches!(
            client(&s).update(&p, false).await,
            Err(GpdError::Invalid(_))
        ));
    }

    #[tokio::test]
    async fn get_update_publish_delete_and_list() {
        let s = MockServer::start().await;
        let one = format!("{BASE}/TARI%202026");
        Mock::given(method("GET"))
            .and(path(one.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer()))
            .mount(&s)
            .await;
        Mock::given(method("PUT"))
            .and(path(one.as_str()))
            .and(query_param("toPublish", "false"))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer()))
            .expect(1)
            .mount(&s)
            .await;
        Mock::given(method("POST"))
            .and(path(format!("{one}/publish")))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer()))
            .expect(1)
            .mount(&s)
            .await;
        Mock::given(method("DELETE"))
            .and(path(one.as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json("OK"))
            .expect(1)
            .mount(&s)
            .await;
        Mock::given(method("GET")).and(path(BASE)).and(query_param("limit", "100"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "payment_position_list": [answer(), answer()],
                "page_info": {"page": 0, "limit": 100, "items_found": 2, "total_pages": 99999999999u64}
            }))).mount(&s).await;
        let c = client(&s);
        assert_eq!(
            c.get(&org(), "TARI 2026").await.unwrap().iupd,
            "TARI-2026-0001"
        );
        c.update(&tari("TARI 2026", 100), false).await.unwrap();
        let reqs = s.received_requests().await.unwrap();
        let put = reqs.iter().find(|r| r.method.as_str() == "PUT").unwrap();
        openapi::assert_valid(
            &position_validator(),
            &serde_json::from_slice(&put.body).unwrap(),
        );
        c.publish(&org(), "TARI 2026").await.unwrap();
        c.delete(&org(), "TARI 2026").await.unwrap();
        let page = c
            .list(
                &org(),
                &ListQuery {
                    limit: 100,
                    ..ListQuery::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(page.positions.len(), 2);
        assert_eq!(page.page_info.items_found, 2);
        assert_eq!(page.page_info.total_pages, u32::MAX);
        // What the client does need must be there.
        Mock::given(method("GET"))
            .and(path(format!("{BASE}/broken")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"paymentOption": []})))
            .mount(&s)
            .await;
        assert!(matches!(
            c.get(&org(), "broken").await,
            Err(GpdError::Api(ApiError::Decode(_)))
        ));
    }
}

#[cfg(all(feature = "server", feature = "simulator", feature = "sqlite"))]
mod paid_through_pa_for_node {
    use std::sync::Arc;
    use std::time::Duration as StdDuration;

    use super::*;
    use pagopa::gpd::PositionStatus;
    use pagopa::node::*;
    use pagopa::position::{
        InstallmentState, Phase, PositionBook, PositionError, PositionStore, ReceiptEffect,
        SqlitePositions,
    };
    use pagopa::simulator::{NodeSimulator, ReceiptRetry, SimulatorError};

    type Service<S> = PaForNodeService<PositionBook<S>, SqliteReceiptStore>;

    async fn serve<S: PositionStore + 'static>(
        book: PositionBook<S>,
    ) -> (Arc<Service<S>>, NodeSimulator, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteReceiptStore::open(dir.path().join("r.db")).unwrap();
        let cfg = StationConfig::new(ORG, "15376371009", "15376371009_01");
        let service = Arc::new(PaForNodeService::new(cfg, book, store));
        let app = axum::Router::new().nest("/paForNode", router(Arc::clone(&service)));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let sim = NodeSimulator::new(
            format!("http://{addr}/paForNode"),
            RequestIds {
                id_pa: ORG.into(),
                id_broker_pa: "15376371009".into(),
                id_station: "15376371009_01".into(),
            },
        )
        .with_retry(ReceiptRetry {
            max_attempts: 2,
            backoff: StdDuration::from_millis(5),
        });
        (service, sim, dir)
    }

    fn qr(n: NoticeNumber) -> QrCode {
        QrCode {
            fiscal_code: org(),
            notice_number: n,
        }
    }

    fn fault(e: SimulatorError) -> FaultCode {
        match e {
            SimulatorError::Fault(f) => f.code,
            e => panic!("{e:?}"),
        }
    }

    /// A fresh PostgreSQL database URL, or `None` (skip outside CI) when no server is set.
    pub(super) async fn pg_url() -> Option<String> {
        pa_postgres::testing::fresh_database().await.unwrap()
    }

    /// One `#[tokio::test]` per position store running `$scenario(book)`.
    macro_rules! every_store {
        ($scenario:ident) => {
            mod $scenario {
                use super::*;

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn memory() {
                    super::$scenario(PositionBook::new()).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let dir = tempfile::tempdir().unwrap();
                    let store = SqlitePositions::open(dir.path().join("p.db")).unwrap();
                    super::$scenario(PositionBook::with_store(store)).await;
                }

                #[cfg(feature = "postgres")]
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let Some(url) = pg_url().await else { return };
                    let store = pagopa::position::PgPositions::connect(&url).await.unwrap();
                    super::$scenario(PositionBook::with_store(store)).await;
                }
            }
        };
    }

    every_store!(each_rate_pays_on_its_own_and_closes_the_single_option);
    async fn each_rate_pays_on_its_own_and_closes_the_single_option<S: PositionStore + 'static>(
        book: PositionBook<S>,
    ) {
        book.insert(tari("TARI-A", 100)).await.unwrap();
        assert_eq!(
            book.status(&org(), "TARI-A").await.unwrap(),
            Some(PositionStatus::Valid)
        );
        assert_eq!(book.status(&org(), "nope").await.unwrap(), None);
        let (service, sim, _dir) = serve(book).await;
        // Before any payment every notice verifies, each with its own amount and due date.
        let single = sim.verify(&qr(nav(100))).await.unwrap();
        assert_eq!(single.payment_option.amount.cents(), 30000);
        let rate2 = sim.verify(&qr(nav(102))).await.unwrap();
        assert_eq!(rate2.payment_option.amount.cents(), 10000);
        assert_eq!(
            rate2.payment_option.detail_description.as_deref(),
            Some("Rata 2 di 3 - Tre rate")
        );
        assert!(
            rate2.payment_option.all_ccp,
            "every transfer has a postal account"
        );

        // Rata 1 is paid: the single option closes, the other rates stay payable.
        let paid = sim.pay(&qr(nav(101))).await.unwrap();
        assert_eq!(paid.data.payment_amount.cents(), 10000);
        assert_eq!(paid.data.last_payment, Some(false));
        assert_eq!(
            paid.data.transfers[1].fiscal_code_pa.as_str(),
            "80011990639"
        );
        // GPD's paForNode answers DUPLICATO for a PARTIALLY_PAID / PAID position.
        assert_eq!(
            fault(sim.verify(&qr(nav(100))).await.unwrap_err()),
            FaultCode::PagamentoDuplicato
        );
        assert_eq!(
            fault(sim.verify(&qr(nav(101))).await.unwrap_err()),
            FaultCode::PagamentoDuplicato
        );
        let host = service.host();
        assert_eq!(
            host.state(&org(), &nav(100)).await.unwrap(),
            Some(InstallmentState::Closed)
        );
        assert!(!host.is_settled(&org(), "TARI-A").await.unwrap());
        assert_eq!(
            host.status(&org(), "TARI-A").await.unwrap(),
            Some(PositionStatus::PartiallyPaid)
        );
        // Rates 3 and 2, in any order, each on its own.
        let last = sim.pay(&qr(nav(103))).await.unwrap();
        assert_eq!(last.data.last_payment, Some(true));
        sim.pay(&qr(nav(102))).await.unwrap();
        assert!(host.is_settled(&org(), "TARI-A").await.unwrap());
        assert_eq!(
            host.status(&org(), "TARI-A").await.unwrap(),
            Some(PositionStatus::Paid)
        );
        assert_eq!(service.store().count().await.unwrap(), 3);
        // The closed single option cannot be activated either.
        assert_eq!(
            fault(
                sim.activate(&qr(nav(100)), Amount::from_cents(30000))
                    .await
                    .unwrap_err()
            ),
            FaultCode::PagamentoDuplicato
        );
        // Reconciled with its reporting flow: REPORTED, still DUPLICATO for the node.
        host.mark_reported(&org(), "TARI-A").await.unwrap();
        assert_eq!(
            host.status(&org(), "TARI-A").await.unwrap(),
            Some(PositionStatus::Reported)
        );
        assert_eq!(
            fault(sim.verify(&qr(nav(102))).await.unwrap_err()),
            FaultCode::PagamentoDuplicato
        );
    }

    every_store!(paying_the_single_option_closes_every_rate);
    async fn paying_the_single_option_closes_every_rate<S: PositionStore + 'static>(
        book: PositionBook<S>,
    ) {
        book.insert(tari("TARI-B", 300)).await.unwrap();
        let (service, sim, _dir) = serve(book).await;
        let paid = sim.pay(&qr(nav(300))).await.unwrap();
        assert_eq!(paid.data.payment_amount.cents(), 30000);
        for k in 1..=3 {
            assert_eq!(
                fault(sim.verify(&qr(nav(300 + k))).await.unwrap_err()),
                FaultCode::PagamentoDuplicato
            );
            assert_eq!(
                service.host().state(&org(), &nav(300 + k)).await.unwrap(),
                Some(InstallmentState::Closed)
            );
        }
        assert!(service.host().is_settled(&org(), "TARI-B").await.unwrap());
        assert_eq!(
            service.host().status(&org(), "TARI-B").await.unwrap(),
            Some(PositionStatus::Paid)
        );
    }

    every_store!(a_ko_receipt_pays_nothing);
    async fn a_ko_receipt_pays_nothing<S: PositionStore + 'static>(book: PositionBook<S>) {
        book.insert(tari("TARI-C", 400)).await.unwrap();
        let (service, sim, _dir) = serve(book).await;
        let data = sim
            .activate(&qr(nav(401)), Amount::from_cents(10000))
            .await
            .unwrap();
        let mut receipt = sim.receipt_for(&qr(nav(401)), &data);
        receipt.outcome = Outcome::Ko;
        sim.send_receipt(&receipt).await.unwrap();
        // Stored (it is the node's record), but nothing is paid and nothing closes.
        assert_eq!(service.store().count().await.unwrap(), 1);
        assert_eq!(
            service.host().state(&org(), &nav(401)).await.unwrap(),
            Some(InstallmentState::Unpaid)
        );
        assert_eq!(
            service.host().apply_receipt(&receipt).await.unwrap(),
            ReceiptEffect::NotPaid
        );
        sim.verify(&qr(nav(400))).await.unwrap();
        sim.verify(&qr(nav(401))).await.unwrap();
    }

    every_store!(the_gpd_states_answer_the_node);
    /// DRAFT → SCONOSCIUTO until published; INVALID → ANNULLATO; PUBLISHED before the validity
    /// date → SCONOSCIUTO; past the due date with switchToExpired → SCADUTO and EXPIRED.
    async fn the_gpd_states_answer_the_node<S: PositionStore + 'static>(book: PositionBook<S>) {
        book.insert_in(tari("DRAFT-1", 1100), Phase::Draft)
            .await
            .unwrap();
        book.insert(tari("CANC-1", 1200)).await.unwrap();
        let mut later = tari("LATER-1", 1300);
        for o in &mut later.options {
            o.validity_date = Some(Utc::now() + Duration::days(10));
        }
        book.insert(later).await.unwrap();
        let mut old = tari("OLD-1", 1400);
        for o in &mut old.options {
            o.switch_to_expired = true;
        }
        book.insert(old).await.unwrap();
        let book = book.with_clock(|| Utc::now() + Duration::days(200));
        let status = |s| Some(s);
        assert_eq!(
            book.status(&org(), "DRAFT-1").await.unwrap(),
            status(PositionStatus::Draft)
        );
        assert_eq!(
            book.status(&org(), "OLD-1").await.unwrap(),
            status(PositionStatus::Expired)
        );
        let (service, sim, _dir) = serve(book).await;
        let host = service.host();
        assert_eq!(
            fault(sim.verify(&qr(nav(1100))).await.unwrap_err()),
            FaultCode::PagamentoSconosciuto
        );
        host.publish(&org(), "DRAFT-1").await.unwrap();
        sim.verify(&qr(nav(1101))).await.unwrap();

        host.invalidate(&org(), "CANC-1").await.unwrap();
        assert_eq!(
            host.status(&org(), "CANC-1").await.unwrap(),
            status(PositionStatus::Invalid)
        );
        for k in 0..=3 {
            assert_eq!(
                fault(sim.verify(&qr(nav(1200 + k))).await.unwrap_err()),
                FaultCode::PagamentoAnnullato
            );
        }
        // Every rate is past due (the clock is 200 days on) and the options expire.
        for k in 0..=3 {
            assert_eq!(
                fault(sim.verify(&qr(nav(1400 + k))).await.unwrap_err()),
                FaultCode::PagamentoScaduto
            );
        }
        // Not yet valid 200 days on? The validity date is 10 days from the real now, so the
        // 200-days clock sees it valid; a clock before it sees it PUBLISHED.
        sim.verify(&qr(nav(1301))).await.unwrap();

        // Transitions the position's life does not have.
        assert!(matches!(
            host.publish(&org(), "CANC-1").await,
            Err(PositionError::Transition {
                from: Phase::Invalid,
                to: Phase::Published,
                ..
            })
        ));
        assert!(matches!(
            host.mark_reported(&org(), "DRAFT-1").await,
            Err(PositionError::Transition {
                to: Phase::Reported,
                ..
            })
        ));
        assert!(matches!(
            host.invalidate(&org(), "nope").await,
            Err(PositionError::UnknownPosition { .. })
        ));
        // A paid position cannot be cancelled.
        sim.pay(&qr(nav(1101))).await.unwrap();
        assert!(matches!(
            host.invalidate(&org(), "DRAFT-1").await,
            Err(PositionError::Transition {
                to: Phase::Invalid,
                ..
            })
        ));
    }

    #[tokio::test]
    async fn published_before_the_validity_date() {
        let mut later = tari("LATER-2", 1500);
        for o in &mut later.options {
            o.validity_date = Some(Utc::now() + Duration::days(10));
        }
        let book = PositionBook::new();
        book.insert(later).await.unwrap();
        assert_eq!(
            book.status(&org(), "LATER-2").await.unwrap(),
            Some(PositionStatus::Published)
        );
        let (_service, sim, _dir) = serve(book).await;
        assert_eq!(
            fault(sim.verify(&qr(nav(1500))).await.unwrap_err()),
            FaultCode::PagamentoSconosciuto
        );
    }

    #[tokio::test]
    async fn postal_accounts_stamps_and_v1() {
        let mut p = tari("CERT-1", 500);
        p.options[0].installments[0].transfers =
            vec![transfer(1, 1600, stamp()), transfer(2, 28400, bank(true))];
        p.options[0].installments[0].amount = Amount::from_cents(30000);
        let book = PositionBook::new();
        book.insert(p).await.unwrap();
        let (_service, sim, _dir) = serve(book).await;
        // V2 carries the stamp; a Poste PSP gets the postal account.
        let g = GetPaymentRequest {
            ids: RequestIds {
                id_pa: ORG.into(),
                id_broker_pa: "15376371009".into(),
                id_station: "15376371009_01".into(),
            },
            qr_code: qr(nav(500)),
            amount: Some(Amount::from_cents(30000)),
            payment_note: None,
            transfer_type: Some(TransferType::Postal),
            due_date: None,
        };
        match sim
            .call(&NodeRequest::GetPaymentV2(g.clone()))
            .await
            .unwrap()
        {
            NodeResponse::Payment(d) => {
                assert!(matches!(d.transfers[0].target, TransferTarget::Stamp(_)));
                match &d.transfers[1].target {
                    TransferTarget::Iban(i) => assert_eq!(i.as_str(), POSTAL),
                    t => panic!("{t:?}"),
                }
            }
            r => panic!("{r:?}"),
        }
        // V1 cannot carry a stamp.
        match sim.call(&NodeRequest::GetPayment(g.clone())).await.unwrap() {
            NodeResponse::Fault(f) => assert_eq!(f.code, FaultCode::Semantica),
            r => panic!("{r:?}"),
        }
        // A wrong amount is refused.
        let mut wrong = g;
        wrong.amount = Some(Amount::from_cents(1));
        match sim.call(&NodeRequest::GetPaymentV2(wrong)).await.unwrap() {
            NodeResponse::Fault(f) => assert_eq!(f.code, FaultCode::Semantica),
            r => panic!("{r:?}"),
        }
        // Unknown notice.
        assert_eq!(
            fault(sim.verify(&qr(nav(999))).await.unwrap_err()),
            FaultCode::PagamentoSconosciuto
        );
    }

    every_store!(the_book_refuses_duplicates_and_expires);
    async fn the_book_refuses_duplicates_and_expires<S: PositionStore + 'static>(
        book: PositionBook<S>,
    ) {
        book.insert(tari("TARI-D", 600)).await.unwrap();
        let path = |e: PositionError| match e {
            PositionError::Invalid(v) => v.path,
            e => panic!("{e:?}"),
        };
        assert_eq!(
            path(book.insert(tari("TARI-D", 700)).await.unwrap_err()),
            "iupd"
        );
        assert_eq!(
            path(book.insert(tari("TARI-E", 600)).await.unwrap_err()),
            "paymentOption"
        );
        // Nothing of the refused position was kept: its other notices are free.
        assert_eq!(book.position(&org(), "TARI-E").await.unwrap(), None);
        assert_eq!(book.state(&org(), &nav(701)).await.unwrap(), None);
        let mut p = tari("TARI-F", 800);
        p.options[1].switch_to_expired = true;
        let book = book.with_clock(|| Utc::now() + Duration::days(45));
        book.insert(p).await.unwrap();
        let req = |n| VerifyPaymentNoticeRequest {
            ids: RequestIds {
                id_pa: ORG.into(),
                id_broker_pa: "b".into(),
                id_station: "s".into(),
            },
            qr_code: qr(n),
        };
        // 45 days on: rata 1 (due in 30) expired, rata 2 (due in 60) payable.
        match book.verify_payment_notice(&req(nav(801))).await {
            Err(f) => assert_eq!(f.code, FaultCode::PagamentoScaduto),
            Ok(n) => panic!("{n:?}"),
        }
        book.verify_payment_notice(&req(nav(802))).await.unwrap();
    }

    #[tokio::test]
    async fn sqlite_positions_survive_a_restart_and_are_shared() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("positions.db");
        let original = tari("TARI-G", 900);
        {
            let book = PositionBook::with_store(SqlitePositions::open(&file).unwrap());
            book.insert(original.clone()).await.unwrap();
        }
        // Two instances on the file after the restart: what one pays, the other sees.
        let one = PositionBook::with_store(SqlitePositions::open(&file).unwrap());
        let two = PositionBook::with_store(SqlitePositions::open(&file).unwrap());
        let stored = two.position(&org(), "TARI-G").await.unwrap().unwrap();
        assert_eq!(stored.position, original);
        let (service, sim, _dir) = serve(one).await;
        sim.pay(&qr(nav(901))).await.unwrap();
        assert_eq!(service.store().count().await.unwrap(), 1);
        assert_eq!(
            two.state(&org(), &nav(900)).await.unwrap(),
            Some(InstallmentState::Closed)
        );
        assert_eq!(
            two.status(&org(), "TARI-G").await.unwrap(),
            Some(PositionStatus::PartiallyPaid)
        );
        assert_eq!(
            two.insert(tari("TARI-G", 950))
                .await
                .map_err(|e| e.to_string()),
            Err("iupd: position TARI-G already exists".into())
        );
    }

    fn ids() -> RequestIds {
        RequestIds {
            id_pa: ORG.into(),
            id_broker_pa: "15376371009".into(),
            id_station: "15376371009_01".into(),
        }
    }

    /// The `OK` receipt the node would send for `notice` once paid (built by the node
    /// simulator from the position's own payment data).
    async fn paid_receipt<S: PositionStore + 'static>(
        book: &PositionBook<S>,
        notice: NoticeNumber,
    ) -> Receipt {
        let request = GetPaymentRequest {
            ids: ids(),
            qr_code: qr(notice),
            amount: None,
            payment_note: None,
            transfer_type: None,
            due_date: None,
        };
        let data = book
            .get_payment(Operation::GetPaymentV2, &request)
            .await
            .unwrap();
        NodeSimulator::new("http://127.0.0.1:9/unused", ids()).receipt_for(&qr(notice), &data)
    }

    /// Runs `sql` on the SQLite file with Python's own sqlite3 module (`$PA_PY`, default
    /// `python3`): a database edited by another program. `None` outside CI without Python.
    fn edit_sqlite(file: &std::path::Path, sql: &str) -> Option<()> {
        let py = std::env::var("PA_PY").unwrap_or_else(|_| "python3".into());
        let out = std::process::Command::new(&py)
            .args([
                "-c",
                "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()",
                file.to_str().unwrap(),
                sql,
            ])
            .output();
        match out {
            Ok(o) => {
                assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
                Some(())
            }
            Err(e) => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "{py} is required in CI: {e}"
                );
                eprintln!("{py} not found: skipping");
                None
            }
        }
    }

    #[tokio::test]
    async fn corrupt_rows_are_typed_errors_and_the_node_gets_a_system_error() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("positions.db");
        let book = PositionBook::with_store(SqlitePositions::open(&file).unwrap());
        for (iupd, base) in [("BAD-1", 1600), ("BAD-2", 1700), ("BAD-3", 1800)] {
            book.insert(tari(iupd, base)).await.unwrap();
        }
        let edits = [
            "UPDATE pagopa_positions SET phase = 'ARCHIVED' WHERE iupd = 'BAD-1';",
            "UPDATE pagopa_position_installments SET state = 'HALF' WHERE iupd = 'BAD-2';",
            "UPDATE pagopa_position_installments SET option_index = 7 WHERE iupd = 'BAD-3' \
             AND option_index = 1 AND installment_index = 0;",
        ];
        for sql in edits {
            if edit_sqlite(&file, sql).is_none() {
                return;
            }
        }
        for (iupd, what) in [
            ("BAD-1", "phase"),
            ("BAD-2", "installment state"),
            ("BAD-3", "installment (7, 0)"),
        ] {
            match book.position(&org(), iupd).await {
                Err(PositionError::Corrupt(m)) => assert!(m.contains(what), "{m}"),
                r => panic!("{iupd}: {r:?}"),
            }
        }
        let body = "UPDATE pagopa_positions SET body = '{\"iupd\": 1}' WHERE iupd = 'BAD-1';";
        edit_sqlite(&file, body).unwrap();
        assert!(matches!(
            book.position(&org(), "BAD-1").await,
            Err(PositionError::Corrupt(m)) if m.contains("position body")
        ));
        // The node gets PAA_SYSTEM_ERROR (it retries) instead of a wrong answer.
        let (_service, sim, _dir) = serve(book).await;
        assert_eq!(
            fault(sim.verify(&qr(nav(1700))).await.unwrap_err()),
            FaultCode::SystemError
        );
    }

    /// Receipts for rata 1 and for the single option of one position applied at once by two
    /// instances: exactly one chooses its option; the other is counted as paid on a closed
    /// option, and the states are those of the winner's choice.
    async fn race_once<A: PositionStore + 'static, B: PositionStore + 'static>(
        one: &PositionBook<A>,
        two: &PositionBook<B>,
        iupd: &str,
        base: u64,
    ) -> bool {
        let original = tari(iupd, base);
        one.insert(original.clone()).await.unwrap();
        let single = paid_receipt(one, nav(base)).await;
        let rate = paid_receipt(two, nav(base + 1)).await;
        let (a, b) = tokio::join!(one.apply_receipt(&single), two.apply_receipt(&rate));
        let (a, b) = (a.unwrap(), b.unwrap());
        let closed_flag = |e: &ReceiptEffect| match e {
            ReceiptEffect::Paid { was_closed, .. } => *was_closed,
            e => panic!("{e:?}"),
        };
        assert_ne!(closed_flag(&a), closed_flag(&b), "{a:?} / {b:?}");
        let single_won = !closed_flag(&a);
        let p = two.position(&org(), iupd).await.unwrap().unwrap();
        assert_eq!(p.position, original);
        use InstallmentState::{Closed, Paid, Unpaid};
        if single_won {
            assert_eq!(p.state, vec![vec![Paid], vec![Paid, Closed, Closed]]);
            assert!(matches!(&a, ReceiptEffect::Paid { closed, .. } if closed.len() == 3));
            assert_eq!(p.status(Utc::now()), PositionStatus::Paid);
        } else {
            assert_eq!(p.state, vec![vec![Paid], vec![Paid, Unpaid, Unpaid]]);
            assert!(matches!(&b, ReceiptEffect::Paid { closed, .. } if closed.len() == 1));
            // The single option's money arrived too: paid in full (and owed a refund).
            assert_eq!(p.status(Utc::now()), PositionStatus::Paid);
        }
        // Applying them again changes nothing.
        assert_eq!(
            one.apply_receipt(&rate).await.unwrap(),
            ReceiptEffect::AlreadyPaid
        );
        assert_eq!(
            two.apply_receipt(&single).await.unwrap(),
            ReceiptEffect::AlreadyPaid
        );
        single_won
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite_two_instances_race_single_option_and_rate() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("positions.db");
        let one = PositionBook::with_store(SqlitePositions::open(&file).unwrap());
        let two = PositionBook::with_store(SqlitePositions::open(&file).unwrap());
        let mut wins = [0, 0];
        for k in 0..20 {
            let single_won = race_once(&one, &two, &format!("RACE-{k}"), 2000 + 10 * k).await;
            wins[usize::from(single_won)] += 1;
        }
        eprintln!(
            "single option chosen {} times, rate {} times",
            wins[1], wins[0]
        );
    }

    #[cfg(feature = "postgres")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres_two_instances_race_single_option_and_rate() {
        use pagopa::position::PgPositions;
        let Some(url) = pg_url().await else { return };
        // Two instances: two pools on one database, each migrating at start.
        let (a, b) = tokio::join!(PgPositions::connect(&url), PgPositions::connect(&url));
        let one = PositionBook::with_store(a.unwrap());
        let two = PositionBook::with_store(b.unwrap());
        let mut wins = [0, 0];
        for k in 0..40 {
            let single_won = race_once(&one, &two, &format!("RACE-{k}"), 3000 + 10 * k).await;
            wins[usize::from(single_won)] += 1;
        }
        eprintln!(
            "single option chosen {} times, rate {} times",
            wins[1], wins[0]
        );
        // Restart: a third instance reads what the two left.
        let three = PositionBook::with_store(PgPositions::connect(&url).await.unwrap());
        for k in 0..40 {
            let p = three
                .position(&org(), &format!("RACE-{k}"))
                .await
                .unwrap()
                .unwrap();
            assert_eq!(p.position.iupd, format!("RACE-{k}"));
            // Both receipts counted, whichever won.
            assert_eq!(p.state[0], vec![InstallmentState::Paid]);
            assert_eq!(p.state[1][0], InstallmentState::Paid);
        }
    }
}
