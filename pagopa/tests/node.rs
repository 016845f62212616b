//! paForNode service: routing, caller checks, schema validity of every answer, durable and
//! idempotent receipts.
#![allow(clippy::unwrap_used)]

#[path = "node/common.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use common::*;
use pa_types::OrganizationFiscalCode;
use pagopa::node::*;

fn service() -> PaForNodeService<TestHost, MemoryReceiptStore> {
    PaForNodeService::new(config(), TestHost::default(), MemoryReceiptStore::new())
}

fn verify_req(notice: &str) -> String {
    write_request(&NodeRequest::VerifyPaymentNotice(
        VerifyPaymentNoticeRequest {
            ids: ids(),
            qr_code: qr(notice),
        },
    ))
}

fn get_req(v2: bool, notice: &str) -> String {
    let r = GetPaymentRequest {
        ids: ids(),
        qr_code: qr(notice),
        amount: Some(pa_types::Amount::from_cents(12050)),
        payment_note: None,
        transfer_type: Some(TransferType::PagoPa),
        due_date: None,
    };
    write_request(&if v2 {
        NodeRequest::GetPaymentV2(r)
    } else {
        NodeRequest::GetPayment(r)
    })
}

async fn call<H: PaForNodeHost, S: ReceiptStore>(
    s: &PaForNodeService<H, S>,
    action: Option<&str>,
    body: &str,
) -> SoapReply {
    let reply = s.handle(action, body.as_bytes()).await;
    if reply.operation.is_some() {
        assert_schema_valid(&reply.body);
    }
    reply
}

#[tokio::test]
async fn requests_we_write_follow_the_schema() {
    for body in [
        verify_req(NOTICE_OK),
        get_req(false, NOTICE_OK),
        get_req(true, NOTICE_OK),
        send_rt(ReceiptVersion::V1, "r1"),
        send_rt(ReceiptVersion::V2, "r1"),
    ] {
        assert_schema_valid(&body);
        let parsed = parse_request(None, body.as_bytes()).unwrap();
        assert_eq!(write_request(&parsed), body, "round trip");
    }
}

#[tokio::test]
async fn verify_ok_and_unknown() {
    let s = service();
    let r = call(&s, Some("paVerifyPaymentNotice"), &verify_req(NOTICE_OK)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.fault, None);
    match parse_response(Operation::VerifyPaymentNotice, r.body.as_bytes()).unwrap() {
        NodeResponse::Verify(n) => assert_eq!(n.payment_option.amount.cents(), 12050),
        other => panic!("{other:?}"),
    }
    let seg = pagopa::SegregationCode::new(1).unwrap();
    let unknown = pagopa::NoticeNumber::new_aux3(seg, 2).unwrap();
    let unknown = unknown.as_str();
    let r = call(&s, Some("\"paVerifyPaymentNotice\""), &verify_req(unknown)).await;
    assert_eq!(r.fault, Some(FaultCode::PagamentoSconosciuto));
    assert!(r.body.contains("<id>80016350821</id>"));
}

#[tokio::test]
async fn get_payment_v1_and_v2() {
    let s = service();
    let r = call(&s, Some("paGetPayment"), &get_req(false, NOTICE_OK)).await;
    assert_eq!(r.fault, None);
    match parse_response(Operation::GetPayment, r.body.as_bytes()).unwrap() {
        NodeResponse::Payment(d) => {
            assert_eq!(d.transfers.len(), 2);
            assert_eq!(
                d.transfers[0].remittance_information,
                "TARI 2026 & rifiuti <rata 1>"
            );
        }
        other => panic!("{other:?}"),
    }
    // V2 with a stamp.
    let r = call(&s, Some("paGetPaymentV2"), &get_req(true, NOTICE_STAMP)).await;
    assert_eq!(r.fault, None, "{}", r.body);
    assert!(r.body.contains("<richiestaMarcaDaBollo>"));
    // V1 cannot carry a stamp: the host's data is refused, the node gets PAA_SYSTEM_ERROR.
    let r = call(&s, Some("paGetPayment"), &get_req(false, NOTICE_STAMP)).await;
    assert_eq!(r.fault, Some(FaultCode::SystemError));
}

#[tokio::test]
async fn host_data_breaking_the_rules_is_not_sent() {
    let s = service();
    let iban = || TransferTarget::Iban(IBAN.parse().unwrap());
    let mut bad_sum = payment_data(vec![transfer(1, 100, iban())]);
    bad_sum.payment_amount = pa_types::Amount::from_cents(101);
    let six = payment_data((1..=6).map(|i| transfer(i.min(5), 100, iban())).collect());
    let dup_id = payment_data(vec![transfer(1, 100, iban()), transfer(1, 100, iban())]);
    let mut long = payment_data(vec![transfer(1, 100, iban())]);
    long.description = "x".repeat(141);
    for bad in [bad_sum, six, dup_id, long] {
        *s.host().override_payment.lock().unwrap() = Some(bad);
        let r = call(&s, Some("paGetPaymentV2"), &get_req(true, NOTICE_OK)).await;
        assert_eq!(r.fault, Some(FaultCode::SystemError), "{}", r.body);
    }
}

#[tokio::test]
async fn wrong_caller_identifiers_get_matching_faults() {
    let s = service();
    let base = verify_req(NOTICE_OK);
    let cases = [
        (
            base.replace(">80016350821</idPA>", ">00000000000</idPA>"),
            FaultCode::IdDominioErrato,
        ),
        (
            base.replace(
                &format!(">{BROKER}</idBrokerPA>"),
                ">99999999999</idBrokerPA>",
            ),
            FaultCode::IdIntermediarioErrato,
        ),
        (
            base.replace(&format!(">{STATION}</idStation>"), ">other_01</idStation>"),
            FaultCode::StazioneIntErrata,
        ),
        // Our idPA, but a notice of another creditor.
        (
            base.replace(
                "<fiscalCode>80016350821</fiscalCode>",
                "<fiscalCode>00000000000</fiscalCode>",
            ),
            FaultCode::IdDominioErrato,
        ),
    ];
    for (body, code) in cases {
        assert_ne!(body, base);
        let r = call(&s, Some("paVerifyPaymentNotice"), &body).await;
        assert_eq!(r.fault, Some(code), "{}", r.body);
        assert_eq!(r.status, 200);
    }
}

#[tokio::test]
async fn malformed_requests_get_sintassi_extraxsd() {
    let s = service();
    let good = verify_req(NOTICE_OK);
    let xxe = r#"<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>&x;</soapenv:Body></soapenv:Envelope>"#;
    let billion = format!(
        "<!DOCTYPE r [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]>{}",
        good.trim_start_matches(r#"<?xml version="1.0" encoding="UTF-8"?>"#)
    );
    let deep = format!("{}{}{}", "<a>".repeat(10_000), "x", "</a>".repeat(10_000));
    let cases: Vec<String> = vec![
        "not xml at all".into(),
        good[..good.len() / 2].to_owned(), // truncated
        good.replace("<idBrokerPA>", "<idbrokerpa>")
            .replace("</idBrokerPA>", "</idbrokerpa>"),
        good.replace(NOTICE_OK, "301000000000000145"), // bad check digits
        good.replace(NOTICE_OK, "30100000000000014"),  // 17 digits
        good.replace("<idPA>80016350821</idPA>", ""),  // missing
        good.replace("</qrCode>", "</qrCode><extra>1</extra>"), // unexpected
        good.replace("<idPA>", "<pafn:idPA>")
            .replace("</idPA>", "</pafn:idPA>"), // qualified
        xxe.into(),
        billion,
        deep,
        "\u{0}\u{1}<<<".into(),
        String::new(),
    ];
    for body in cases {
        let r = call(&s, Some("paVerifyPaymentNotice"), &body).await;
        assert_eq!(r.status, 200, "{body:.200}");
        assert_eq!(r.fault, Some(FaultCode::SintassiExtraxsd), "{}", r.body);
        assert!(!r.body.contains("root:"), "no file content leaks");
    }
    // SOAPAction disagrees with the body: answered for the body's operation.
    let r = call(&s, Some("paSendRT"), &good).await;
    assert_eq!(r.operation, Some(Operation::VerifyPaymentNotice));
    assert_eq!(r.fault, Some(FaultCode::SintassiExtraxsd));
    // Without SOAPAction the body decides.
    let r = call(&s, None, &good).await;
    assert_eq!(r.fault, None);
    // Nothing tells the operation: a SOAP Fault with HTTP 500.
    let r = s.handle(None, b"<x/>").await;
    assert_eq!(r.status, 500);
    assert!(r.body.contains("<faultcode>soapenv:Client</faultcode>"));
    // Over the size limit.
    let mut cfg = config();
    cfg.max_body_bytes = 100;
    let small = PaForNodeService::new(cfg, TestHost::default(), MemoryReceiptStore::new());
    let r = call(&small, Some("paVerifyPaymentNotice"), &good).await;
    assert_eq!(r.fault, Some(FaultCode::SintassiExtraxsd));
}

#[tokio::test]
async fn receipt_is_stored_once_and_duplicates_are_idempotent() {
    let s = service();
    for v in [ReceiptVersion::V1, ReceiptVersion::V2] {
        let action = if v == ReceiptVersion::V1 {
            "paSendRT"
        } else {
            "paSendRTV2"
        };
        let id = format!("token-{v:?}");
        let body = send_rt(v, &id);
        for _ in 0..3 {
            let r = call(&s, Some(action), &body).await;
            assert_eq!(r.fault, None, "{}", r.body);
            assert!(r.body.contains("<outcome>OK</outcome>"));
        }
    }
    assert_eq!(s.store().count().await.unwrap(), 2);
    assert_eq!(
        s.host().stored.lock().unwrap().len(),
        2,
        "host told once per receipt"
    );
    let listed = s.store().list(&ec()).await.unwrap();
    assert_eq!(listed[0], receipt(ReceiptVersion::V1, "token-V1"));
    // Once paid, verify says so.
    let r = call(&s, Some("paVerifyPaymentNotice"), &verify_req(NOTICE_OK)).await;
    assert_eq!(r.fault, Some(FaultCode::PagamentoDuplicato));
}

#[tokio::test]
async fn duplicate_can_be_answered_with_receipt_duplicata() {
    let mut cfg = config();
    cfg.duplicate_receipt = DuplicateReceiptAnswer::FaultReceiptDuplicata;
    let s = PaForNodeService::new(cfg, TestHost::default(), MemoryReceiptStore::new());
    let body = send_rt(ReceiptVersion::V2, "tok");
    assert_eq!(call(&s, Some("paSendRTV2"), &body).await.fault, None);
    let r = call(&s, Some("paSendRTV2"), &body).await;
    assert_eq!(r.fault, Some(FaultCode::ReceiptDuplicata));
    assert_eq!(s.store().count().await.unwrap(), 1);
}

#[tokio::test]
async fn same_key_different_content_is_refused_and_first_kept() {
    let s = service();
    let body = send_rt(ReceiptVersion::V1, "tok");
    assert_eq!(call(&s, Some("paSendRT"), &body).await.fault, None);
    let changed = body.replace("<paymentMethod>creditCard<", "<paymentMethod>cash<");
    assert_ne!(changed, body);
    let r = call(&s, Some("paSendRT"), &changed).await;
    assert_eq!(r.fault, Some(FaultCode::Semantica));
    let listed = s.store().list(&ec()).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].payment_method.as_deref(), Some("creditCard"));
}

/// A store that fails the first `failures` puts, then delegates.
struct FlakyStore<S> {
    inner: S,
    failures: AtomicUsize,
}

#[async_trait]
impl<S: ReceiptStore> ReceiptStore for FlakyStore<S> {
    async fn put(&self, r: &Receipt) -> Result<PutOutcome, StoreError> {
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Err(StoreError::Backend("disk full (injected)".into()));
        }
        self.inner.put(r).await
    }
    async fn list(&self, f: &OrganizationFiscalCode) -> Result<Vec<Receipt>, StoreError> {
        self.inner.list(f).await
    }
    async fn count(&self) -> Result<u64, StoreError> {
        self.inner.count().await
    }
}

#[tokio::test]
async fn store_failure_answers_system_error_and_retry_stores_exactly_once() {
    let store = FlakyStore {
        inner: MemoryReceiptStore::new(),
        failures: AtomicUsize::new(1),
    };
    let s = PaForNodeService::new(config(), TestHost::default(), store);
    let body = send_rt(ReceiptVersion::V2, "tok-flaky");
    let first = call(&s, Some("paSendRTV2"), &body).await;
    assert_eq!(first.fault, Some(FaultCode::SystemError));
    assert_eq!(
        s.store().count().await.unwrap(),
        0,
        "nothing stored, nothing acknowledged"
    );
    assert!(s.host().stored.lock().unwrap().is_empty());
    // The node retries the same receipt.
    let second = call(&s, Some("paSendRTV2"), &body).await;
    assert_eq!(second.fault, None);
    let third = call(&s, Some("paSendRTV2"), &body).await;
    assert_eq!(third.fault, None);
    assert_eq!(s.store().count().await.unwrap(), 1);
    assert_eq!(s.host().stored.lock().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_receipts_store_one_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("receipts.db");
    // Two service instances sharing one database file, as two processes would.
    let a = Arc::new(PaForNodeService::new(
        config(),
        TestHost::default(),
        SqliteReceiptStore::open(&path).unwrap(),
    ));
    let b = Arc::new(PaForNodeService::new(
        config(),
        TestHost::default(),
        SqliteReceiptStore::open(&path).unwrap(),
    ));
    for round in 0..20 {
        let body = send_rt(ReceiptVersion::V1, &format!("tok-{round}"));
        let (ra, rb) = {
            let (a, b) = (Arc::clone(&a), Arc::clone(&b));
            let (b1, b2) = (body.clone(), body.clone());
            let ta = tokio::spawn(async move { a.handle(Some("paSendRT"), b1.as_bytes()).await });
            let tb = tokio::spawn(async move { b.handle(Some("paSendRT"), b2.as_bytes()).await });
            (ta.await.unwrap(), tb.await.unwrap())
        };
        assert_eq!(ra.fault, None, "{}", ra.body);
        assert_eq!(rb.fault, None, "{}", rb.body);
        let told = a.host().stored.lock().unwrap().len() + b.host().stored.lock().unwrap().len();
        assert_eq!(told, round + 1, "exactly one instance stored round {round}");
    }
    assert_eq!(a.store().count().await.unwrap(), 20);
    // Durable: a fresh handle sees them.
    drop((a, b));
    let reopened = SqliteReceiptStore::open(&path).unwrap();
    assert_eq!(reopened.count().await.unwrap(), 20);
    assert_eq!(reopened.list(&ec()).await.unwrap().len(), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_identical_receipts_store_one_memory() {
    let s = Arc::new(service());
    let body = send_rt(ReceiptVersion::V2, "tok-c");
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let (s, b) = (Arc::clone(&s), body.clone());
        tasks.push(tokio::spawn(async move {
            s.handle(Some("paSendRTV2"), b.as_bytes()).await
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap().fault, None);
    }
    assert_eq!(s.store().count().await.unwrap(), 1);
    assert_eq!(s.host().stored.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn receipt_for_another_creditor_is_refused_not_stored() {
    let s = service();
    let body = send_rt(ReceiptVersion::V1, "tok").replace(
        "<fiscalCode>80016350821</fiscalCode>",
        "<fiscalCode>00000000000</fiscalCode>",
    );
    let r = call(&s, Some("paSendRT"), &body).await;
    assert_eq!(r.fault, Some(FaultCode::IdDominioErrato));
    assert_eq!(s.store().count().await.unwrap(), 0);
}

#[tokio::test]
async fn demand_payment_notice_defaults_to_semantica() {
    let s = service();
    let body = write_request(&NodeRequest::DemandPaymentNotice(
        DemandPaymentNoticeRequest {
            ids: ids(),
            id_servizio: "00001".into(),
            id_soggetto_servizio: "00002".into(),
            dati_specifici_servizio_base64: "PGEvPg==".into(),
        },
    ));
    assert_schema_valid(&body);
    let r = call(&s, Some("paDemandPaymentNotice"), &body).await;
    assert_eq!(r.fault, Some(FaultCode::Semantica));
}

#[tokio::test]
async fn node_fixture_with_prefixes_and_whitespace_is_read() {
    let body = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/node/paSendRTV2.xml"
    ))
    .unwrap();
    let req = parse_request(Some("paSendRTV2"), &body).unwrap();
    let NodeRequest::SendRtV2(r) = req else {
        panic!()
    };
    assert_eq!(r.receipt.receipt_id, "c110729d258c4ab1b765fe902aae41d6");
    assert_eq!(r.receipt.payment_amount.cents(), 12050);
    assert!(matches!(
        r.receipt.transfers[1].target,
        ReceiptTransferTarget::MbdAttachment(_)
    ));
    let s = service();
    let reply = s.handle(Some("paSendRTV2"), &body).await;
    assert_eq!(reply.fault, None, "{}", reply.body);
    assert_schema_valid(&reply.body);
}

mod fuzzish {
    use super::*;
    use proptest::prelude::*;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Arbitrary bytes never panic and always get a well-formed answer.
        #[test]
        fn arbitrary_bytes_get_an_answer(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let s = service();
            let r = rt().block_on(s.handle(Some("paSendRT"), &bytes));
            prop_assert_eq!(r.status, 200);
            prop_assert_eq!(r.fault, Some(FaultCode::SintassiExtraxsd));
            prop_assert!(parse_response(Operation::SendRt, r.body.as_bytes()).is_ok());
        }

        /// A valid receipt with bytes changed: either accepted or refused, never a panic, and
        /// the answer is always a response our own reader accepts.
        #[test]
        fn mutated_receipts_get_an_answer(pos in 0usize..4000, byte in any::<u8>()) {
            let s = service();
            let mut body = send_rt(ReceiptVersion::V2, "tok-m").into_bytes();
            let p = pos % body.len();
            body[p] = byte;
            let r = rt().block_on(s.handle(None, &body));
            if let Some(op) = r.operation {
                prop_assert!(parse_response(op, r.body.as_bytes()).is_ok(), "{}", r.body);
            } else {
                prop_assert_eq!(r.status, 500);
            }
        }

        /// Any text in free-text fields survives writing and reading.
        #[test]
        fn text_round_trips(desc in "[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}]{1,140}") {
            let xml_space = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
            prop_assume!(desc.trim_matches(xml_space) == desc);
            let mut r = receipt(ReceiptVersion::V2, "tok");
            r.description = desc.clone();
            let body = write_request(&NodeRequest::SendRtV2(SendReceiptRequest { ids: ids(), receipt: r }));
            let NodeRequest::SendRtV2(back) = parse_request(None, body.as_bytes()).unwrap() else {
                panic!("operation changed")
            };
            prop_assert_eq!(back.receipt.description, desc);
        }
    }
}
