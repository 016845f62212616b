//! Reporting: streaming flow parser, reconciliation, FdR client.
#![allow(clippy::unwrap_used)]

use std::io::{BufReader, Read};
use std::process::Command;

use pa_types::Amount;
use pagopa::reporting::*;

const SMALL: &[u8] = include_bytes!("fixtures/reporting/flow_small.xml");

#[test]
fn parses_the_small_flow() {
    let (h, p) = parse_flow(SMALL).unwrap();
    assert_eq!(h.flow_id, "2026-11-24BCITITMM-S000000001");
    assert_eq!(h.sender.id, "BCITITMM");
    assert_eq!(h.sender.id_type, "B");
    assert_eq!(h.receiver.id, "80016350821");
    assert_eq!(h.total_count, 3);
    assert_eq!(h.total_amount, Amount::from_cents(13650));
    assert_eq!(h.bic.as_deref(), Some("BCITITMM"));
    assert_eq!(p.len(), 3);
    assert_eq!(p[1].transfer_index, 2);
    assert_eq!(p[1].amount, Amount::from_cents(2050));
    assert_eq!(p[2].transfer_index, 1, "absent index means 1");
    assert_eq!(p[2].outcome, OutcomeCode::StandIn);
}

#[test]
fn schema_valid_fixture_checked_with_xmllint() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/reporting/");
    match Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(format!("{dir}FlussoRiversamento_1_0_4.xsd"))
        .arg(format!("{dir}flow_schema_valid.xml"))
        .output()
    {
        Ok(o) => assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr)),
        Err(_) => assert!(std::env::var_os("CI").is_none(), "xmllint required in CI"),
    }
    let (_, p) =
        parse_flow(&std::fs::read(format!("{dir}flow_schema_valid.xml")).unwrap()).unwrap();
    assert_eq!(p[2].outcome, OutcomeCode::NoRpt);
}

#[test]
fn every_outcome_code() {
    for (d, o) in [
        (0, OutcomeCode::Executed),
        (3, OutcomeCode::Revoked),
        (4, OutcomeCode::StandIn),
        (8, OutcomeCode::StandInNoRpt),
        (9, OutcomeCode::NoRpt),
    ] {
        let x = String::from_utf8(SMALL.to_vec()).unwrap().replace(
            "<codiceEsitoSingoloPagamento>4<",
            &format!("<codiceEsitoSingoloPagamento>{d}<"),
        );
        let (_, p) = parse_flow(x.as_bytes()).unwrap();
        assert_eq!(p[2].outcome, o);
        assert_eq!(o.digit(), d);
    }
}

/// Generates a flow of `n` payments on the fly, without holding it in memory.
struct Generated {
    n: u64,
    i: u64,
    buf: Vec<u8>,
    pos: usize,
    done: bool,
}

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?><pay_i:FlussoRiversamento xmlns:pay_i="http://www.digitpa.gov.it/schemas/2011/Pagamenti/"><pay_i:versioneOggetto>1.0</pay_i:versioneOggetto><pay_i:identificativoFlusso>2026-11-24BCITITMM-S1</pay_i:identificativoFlusso><pay_i:dataOraFlusso>2026-11-24T08:00:00</pay_i:dataOraFlusso><pay_i:identificativoUnivocoRegolamento>R1</pay_i:identificativoUnivocoRegolamento><pay_i:dataRegolamento>2026-11-24</pay_i:dataRegolamento><pay_i:istitutoMittente><pay_i:identificativoUnivocoMittente><pay_i:tipoIdentificativoUnivoco>B</pay_i:tipoIdentificativoUnivoco><pay_i:codiceIdentificativoUnivoco>BCITITMM</pay_i:codiceIdentificativoUnivoco></pay_i:identificativoUnivocoMittente></pay_i:istitutoMittente><pay_i:istitutoRicevente><pay_i:identificativoUnivocoRicevente><pay_i:tipoIdentificativoUnivoco>G</pay_i:tipoIdentificativoUnivoco><pay_i:codiceIdentificativoUnivoco>80016350821</pay_i:codiceIdentificativoUnivoco></pay_i:identificativoUnivocoRicevente></pay_i:istitutoRicevente>"#;

impl Generated {
    fn new(n: u64) -> Generated {
        let head = format!(
            "{HEAD}<pay_i:numeroTotalePagamenti>{n}</pay_i:numeroTotalePagamenti><pay_i:importoTotalePagamenti>{}</pay_i:importoTotalePagamenti>",
            Amount::from_cents(n * 101)
        );
        Generated {
            n,
            i: 0,
            buf: head.into_bytes(),
            pos: 0,
            done: false,
        }
    }
}

impl Read for Generated {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            self.buf.clear();
            self.pos = 0;
            if self.i < self.n {
                self.buf = format!(
                    "<pay_i:datiSingoliPagamenti><pay_i:identificativoUnivocoVersamento>{:017}</pay_i:identificativoUnivocoVersamento><pay_i:identificativoUnivocoRiscossione>iur{}</pay_i:identificativoUnivocoRiscossione><pay_i:indiceDatiSingoloPagamento>1</pay_i:indiceDatiSingoloPagamento><pay_i:singoloImportoPagato>1.01</pay_i:singoloImportoPagato><pay_i:codiceEsitoSingoloPagamento>0</pay_i:codiceEsitoSingoloPagamento><pay_i:dataEsitoSingoloPagamento>2026-11-23</pay_i:dataEsitoSingoloPagamento></pay_i:datiSingoliPagamenti>",
                    self.i, self.i
                )
                .into_bytes();
                self.i += 1;
            } else if !self.done {
                self.buf = b"</pay_i:FlussoRiversamento>".to_vec();
                self.done = true;
            } else {
                return Ok(0);
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[test]
fn streams_a_large_flow() {
    let n = 100_000;
    let mut p = FlowParser::new(BufReader::new(Generated::new(n))).unwrap();
    let mut count = 0u64;
    let mut sum = Amount::ZERO;
    for x in &mut p {
        let x = x.unwrap();
        count += 1;
        sum = sum.checked_add(x.amount).unwrap();
    }
    assert_eq!(count, n);
    assert_eq!(sum, Amount::from_cents(n * 101));
    assert_eq!(p.payments_read(), n);
}

#[test]
fn declared_totals_are_checked() {
    let x = String::from_utf8(SMALL.to_vec()).unwrap();
    for bad in [
        x.replace("<numeroTotalePagamenti>3<", "<numeroTotalePagamenti>4<"),
        x.replace(
            "<importoTotalePagamenti>136.50<",
            "<importoTotalePagamenti>136.51<",
        ),
    ] {
        let e = parse_flow(bad.as_bytes()).unwrap_err();
        assert!(matches!(e, FlowError::Totals { .. }), "{e}");
    }
}

#[test]
fn malformed_flows_are_refused_with_position() {
    let x = String::from_utf8(SMALL.to_vec()).unwrap();
    let cases = [
        x.replace("2011/Pagamenti/", "2011/Other/"),
        x.replace(
            "<singoloImportoPagato>20.50<",
            "<singoloImportoPagato>20.5<",
        ),
        x.replace(
            "<singoloImportoPagato>20.50<",
            "<singoloImportoPagato>-20.50<",
        ),
        x.replace(
            "<indiceDatiSingoloPagamento>2<",
            "<indiceDatiSingoloPagamento>6<",
        ),
        x.replace(
            "<codiceEsitoSingoloPagamento>4<",
            "<codiceEsitoSingoloPagamento>44<",
        ),
        x.replace(
            "<dataRegolamento>2026-11-24<",
            "<dataRegolamento>24/11/2026<",
        ),
        x.replace("<versioneOggetto>1.0</versioneOggetto>", ""),
        x.replace(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>",
        ),
        x.replace(
            "<denominazioneRicevente>Comune di Prova<",
            "<denominazioneRicevente>&e;<",
        ),
        x[..x.len() / 2].to_owned(),
        x.replace("</FlussoRiversamento>", "</FlussoRiversamento><x/>"),
        x.replace(
            "<datiSingoliPagamenti>",
            "<datiSingoliPagamenti><datiSingoliPagamenti>",
        ),
        format!("{}{}", "<a>".repeat(1000), "</a>".repeat(1000)),
        String::new(),
    ];
    for c in cases {
        let e = parse_flow(c.as_bytes()).unwrap_err();
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn settlement_causale_round_trip() {
    let c = settlement_causale("2026-11-24BCITITMM-S1");
    assert_eq!(c, "/PUR/LGPE-RIVERSAMENTO/URI/2026-11-24BCITITMM-S1");
    assert_eq!(
        flow_id_from_causale(&format!(" {c} ")),
        Some("2026-11-24BCITITMM-S1")
    );
    assert_eq!(flow_id_from_causale("/PUR/LGPE-RIVERSAMENTO/URI/"), None);
    assert_eq!(flow_id_from_causale("bonifico"), None);
}

fn key(iuv: &str, iur: &str, i: u8) -> PaymentKey {
    PaymentKey {
        iuv: iuv.into(),
        iur: iur.into(),
        transfer_index: i,
    }
}

#[test]
fn reconciliation_lists_every_kind_of_mismatch() {
    let (h, flow) = parse_flow(SMALL).unwrap();
    let mut reported: Vec<ReportedPayment> = flow
        .iter()
        .map(|p| ReportedPayment::from_flow(&h.flow_id, p))
        .collect();
    // A revocation of a received payment, and a duplicate line.
    reported.push(ReportedPayment {
        key: key("IUVREV", "tok-rev", 1),
        amount: Amount::from_cents(500),
        outcome: OutcomeCode::Revoked,
        flow_id: h.flow_id.clone(),
    });
    reported.push(reported[0].clone());
    let received = vec![
        ReceivedPayment {
            key: key("01000000000000144", "tok-1", 1),
            amount: Amount::from_cents(10000),
        },
        ReceivedPayment {
            key: key("01000000000000144", "tok-1", 2),
            amount: Amount::from_cents(2000), // differs
        },
        ReceivedPayment {
            key: key("01000000000000999", "tok-9", 1),
            amount: Amount::from_cents(700), // never reported
        },
        ReceivedPayment {
            key: key("IUVREV", "tok-rev", 1),
            amount: Amount::from_cents(500),
        },
    ];
    let r = reconcile(reported, received);
    assert_eq!(r.matched, 1);
    assert_eq!(r.revoked.len(), 1);
    assert!(!r.is_clean());
    assert_eq!(r.mismatches.len(), 4, "{:#?}", r.mismatches);
    assert!(r.mismatches.iter().any(|m| matches!(m,
        Mismatch::AmountDiffers { key, reported, received, .. }
            if key.transfer_index == 2 && reported.cents() == 2050 && received.cents() == 2000)));
    assert!(r.mismatches.iter().any(|m| matches!(m,
        Mismatch::ReportedNotReceived(p) if p.key.iur == "tok-2")));
    assert!(r.mismatches.iter().any(|m| matches!(m,
        Mismatch::ReceivedNotReported(p) if p.key.iur == "tok-9")));
    assert!(
        r.mismatches
            .iter()
            .any(|m| matches!(m, Mismatch::ReportedTwice(_)))
    );
    // Deterministic order.
    let again = reconcile(Vec::new(), Vec::new());
    assert!(again.is_clean());
}

#[test]
fn reconciliation_from_receipts() {
    use pagopa::node::*;
    let org: pa_types::OrganizationFiscalCode = "80016350821".parse().unwrap();
    let other: pa_types::OrganizationFiscalCode = "00000000000".parse().unwrap();
    let t = |id: u8, cents: u64, to: &pa_types::OrganizationFiscalCode| ReceiptTransfer {
        id_transfer: id,
        amount: Amount::from_cents(cents),
        fiscal_code_pa: to.clone(),
        company_name: None,
        target: ReceiptTransferTarget::Iban("IT60X0542811101000000123456".into()),
        remittance_information: "x".into(),
        transfer_category: "9/0101101IM/".into(),
        metadata: vec![],
    };
    let receipt = Receipt {
        version: ReceiptVersion::V2,
        receipt_id: "tok-1".into(),
        notice_number: pagopa::NoticeNumber::parse("301000000000000144").unwrap(),
        fiscal_code: org.clone(),
        outcome: Outcome::Ok,
        creditor_reference_id: "01000000000000144".into(),
        payment_amount: Amount::from_cents(12550),
        description: "d".into(),
        company_name: "c".into(),
        office_name: None,
        debtor: Subject::new(EntityType::F, "RSSMRA80A01H501U", "Mario Rossi"),
        transfers: vec![t(1, 10000, &org), t(2, 2050, &org), t(3, 500, &other)],
        id_psp: "BCITITMM".into(),
        psp_fiscal_code: None,
        psp_partita_iva: None,
        psp_company_name: "p".into(),
        id_channel: "c".into(),
        channel_description: "c".into(),
        payer: None,
        payment_method: None,
        payment_note: None,
        fee: None,
        primary_ci_incurred_fee: None,
        id_bundle: None,
        id_ci_bundle: None,
        payment_date_time: None,
        application_date: None,
        transfer_date: None,
        metadata: vec![],
        stand_in: None,
    };
    let received = ReceivedPayment::from_receipt(&org, &receipt);
    assert_eq!(
        received.len(),
        2,
        "the other creditor's transfer is theirs to reconcile"
    );
    let mut ko = receipt.clone();
    ko.outcome = Outcome::Ko;
    assert!(ReceivedPayment::from_receipt(&org, &ko).is_empty());
    let (h, flow) = parse_flow(SMALL).unwrap();
    let r = reconcile(
        flow.iter()
            .map(|p| ReportedPayment::from_flow(&h.flow_id, p)),
        received,
    );
    assert_eq!(r.matched, 2);
    assert_eq!(r.mismatches.len(), 1); // the stand-in payment has no receipt here
}

mod fdr {
    use std::time::Duration;

    use pa_types::Amount;
    use pagopa::gpd::{ApiError, RetryPolicy, SubscriptionKey};
    use pagopa::reporting::*;
    use serde_json::json;
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn client(server: &MockServer) -> FdrClient {
        FdrClient::new(server.uri(), SubscriptionKey::new("k-secret")).with_retry(RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
        })
    }

    #[tokio::test]
    async fn lists_flows_and_pages_payments() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/organizations/80016350821/fdrs"))
            .and(header("Ocp-Apim-Subscription-Key", "k-secret"))
            .and(query_param("pspId", "BCITITMM"))
            .and(query_param("page", "1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "metadata": {"pageSize": 1000, "pageNumber": 1, "totPage": 1},
                "count": 1,
                "data": [{"fdr": "2026-11-24BCITITMM-S1", "pspId": "BCITITMM", "revision": 1,
                          "published": "2026-11-24T09:00:00Z", "flowDate": "2026-11-24T08:00:00Z"}]
            })))
            .expect(1)
            .mount(&server)
            .await;
        let base =
            "/organizations/80016350821/fdrs/2026-11-24BCITITMM-S1/revisions/1/psps/BCITITMM";
        Mock::given(method("GET"))
            .and(path(base))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "status": "PUBLISHED", "revision": 1, "fdr": "2026-11-24BCITITMM-S1",
                "totPayments": 3, "sumPayments": 136.5, "computedSumPayments": 136.50
            })))
            .mount(&server)
            .await;
        for (page, items) in [
            (
                "1",
                json!([{"index": 1, "iuv": "01000000000000144", "iur": "tok-1", "idTransfer": 1,
                          "pay": 100.0, "payStatus": "EXECUTED", "payDate": "2026-11-23T10:00:00Z"},
                         {"index": 2, "iuv": "01000000000000144", "iur": "tok-1", "idTransfer": 2,
                          "pay": 20.5, "payStatus": "EXECUTED", "payDate": "2026-11-23T10:00:00Z"}]),
            ),
            (
                "2",
                json!([{"index": 3, "iuv": "01000000000000241", "iur": "tok-2", "idTransfer": 1,
                          "pay": 16.01, "payStatus": "STAND_IN", "payDate": "2026-11-23T10:00:00Z"}]),
            ),
        ] {
            Mock::given(method("GET"))
                .and(path(format!("{base}/payments")))
                .and(query_param("page", page))
                .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                    "metadata": {"pageSize": 2, "pageNumber": page.parse::<u32>().unwrap(), "totPage": 2},
                    "count": 3, "data": items
                })))
                .mount(&server)
                .await;
        }
        let c = client(&server);
        let q = FlowsQuery {
            psp_id: Some("BCITITMM".into()),
            ..FlowsQuery::default()
        };
        let flows = c.list_published("80016350821", &q).await.unwrap();
        assert_eq!(flows.items[0].revision, 1);
        let info = c
            .get_flow("80016350821", "2026-11-24BCITITMM-S1", 1, "BCITITMM")
            .await
            .unwrap();
        assert_eq!(info.sum_payments, Some(Amount::from_cents(13650)));
        let pays = c
            .flow_payments("80016350821", "2026-11-24BCITITMM-S1", 1, "BCITITMM")
            .await
            .unwrap();
        assert_eq!(pays.len(), 3);
        assert_eq!(pays[1].pay, Amount::from_cents(2050));
        assert_eq!(pays[2].pay, Amount::from_cents(1601));
        assert_eq!(pays[2].pay_status, PayStatus::StandIn);
        let rep = pays[2].to_reported("f");
        assert_eq!(rep.outcome, OutcomeCode::StandIn);
    }

    #[tokio::test]
    async fn errors_and_retries() {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path("/organizations/80016350821/fdrs/x/revisions/1/psps/P"))
            .respond_with(ResponseTemplate::new(404).set_body_json(json!({
                "httpStatusCode": 404, "httpStatusDescription": "Not Found",
                "appErrorCode": "FDR-0702", "errors": [{"message": "flow x not found"}]
            })))
            .expect(1)
            .mount(&server)
            .await;
        let c = client(&server);
        match c.get_flow("80016350821", "x", 1, "P").await.unwrap_err() {
            ApiError::NotFound(p) => {
                assert_eq!(p.code.as_deref(), Some("FDR-0702"));
                assert_eq!(p.detail.as_deref(), Some("flow x not found"));
            }
            e => panic!("{e:?}"),
        }
        // 500 then 200: the read is retried.
        Mock::given(method("GET"))
            .and(path("/organizations/80016350821/fdrs"))
            .respond_with(
                ResponseTemplate::new(500).set_body_json(json!({"appErrorCode": "FDR-0500"})),
            )
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method("GET"))
            .and(path("/organizations/80016350821/fdrs"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": []})))
            .expect(1)
            .mount(&server)
            .await;
        let flows = c
            .list_published("80016350821", &FlowsQuery::default())
            .await
            .unwrap();
        assert!(flows.items.is_empty());
        // An amount that is not exact cents is refused, not rounded.
        Mock::given(method("GET"))
            .and(path(
                "/organizations/80016350821/fdrs/y/revisions/1/psps/P/payments",
            ))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"data": [
                {"index": 1, "iuv": "a", "iur": "b", "idTransfer": 1, "pay": 1.005,
                 "payStatus": "EXECUTED", "payDate": "2026-11-23T10:00:00Z"}]})))
            .mount(&server)
            .await;
        assert!(matches!(
            c.flow_payments("80016350821", "y", 1, "P")
                .await
                .unwrap_err(),
            ApiError::Decode(_)
        ));
    }
}
