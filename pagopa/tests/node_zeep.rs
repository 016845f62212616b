//! The paForNode router driven by a SOAP client nobody here wrote: zeep (Python) built from
//! the official `paForNode.wsdl`. Needs `$PA_PY` (default `python3`) with zeep; under `CI` a
//! missing zeep fails the test.
#![cfg(all(feature = "server", feature = "sqlite"))]
#![allow(clippy::unwrap_used)]

#[allow(dead_code)]
#[path = "node/common.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::*;
use pagopa::node::*;
use serde_json::Value;

const LIMIT: usize = 64 * 1024;

fn python_with_zeep() -> Option<String> {
    let py = std::env::var("PA_PY").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import zeep"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(py)
    } else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{py} with zeep is required when CI is set"
        );
        eprintln!("{py} with zeep not found: SOAP client check skipped");
        None
    }
}

/// The official WSDL with the schemas it imports laid out beside it (`xsd/`).
fn wsdl_dir() -> tempfile::TempDir {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let official = manifest.join("../../shared/schemas/pagopa/paForNode.wsdl");
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(&official, dir.path().join("paForNode.wsdl"))
        .unwrap_or_else(|e| panic!("official WSDL {} is required: {e}", official.display()));
    std::fs::create_dir(dir.path().join("xsd")).unwrap();
    for f in ["paForNode.xsd", "sac-common-types-1.0.xsd"] {
        std::fs::copy(
            manifest.join("tests/fixtures/node/xsd").join(f),
            dir.path().join("xsd").join(f),
        )
        .unwrap();
    }
    dir
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/node/zeep_call.py")
}

async fn zeep(py: &str, wsdl: &Path, url: &str, notice: &str, pad: usize) -> Value {
    let mut cmd = Command::new(py);
    cmd.arg(script())
        .arg(wsdl)
        .arg(url)
        .arg(notice)
        .arg(pad.to_string());
    let out = tokio::task::spawn_blocking(move || cmd.output())
        .await
        .unwrap()
        .unwrap();
    assert!(
        out.status.success(),
        "zeep failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn zeep_reads_every_answer_including_an_oversized_request() {
    let Some(py) = python_with_zeep() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteReceiptStore::open(dir.path().join("r.db")).unwrap();
    let mut cfg = config();
    cfg.max_body_bytes = LIMIT;
    let service = Arc::new(PaForNodeService::new(cfg, TestHost::default(), store));
    let app = axum::Router::new().nest("/paForNode", router(service));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let url = format!("http://{addr}/paForNode");
    let wsdl = wsdl_dir();
    let wsdl = wsdl.path().join("paForNode.wsdl");

    // Within the limit: a normal answer.
    let ok = zeep(&py, &wsdl, &url, NOTICE_OK, 0).await;
    assert_eq!(ok["outcome"], "OK", "{ok}");
    assert_eq!(ok["amount"], "120.50", "{ok}");
    // A small padding header is still within the limit.
    let ok = zeep(&py, &wsdl, &url, NOTICE_OK, LIMIT / 2).await;
    assert_eq!(ok["outcome"], "OK", "{ok}");
    // Over the limit (2x and 10x): the operation's own KO answer, which zeep reads.
    for pad in [2 * LIMIT, 10 * LIMIT] {
        let ko = zeep(&py, &wsdl, &url, NOTICE_OK, pad).await;
        assert_eq!(ko["outcome"], "KO", "{ko}");
        assert_eq!(ko["faultCode"], "PAA_SINTASSI_EXTRAXSD", "{ko}");
        assert!(
            ko["description"].as_str().unwrap().contains("larger than"),
            "{ko}"
        );
    }
}

/// The same over plain HTTP, checked against the schema with xmllint: also without
/// `SOAPAction` (the operation is read from the start of the body) and with nothing that tells
/// the operation (a SOAP Fault).
#[tokio::test]
async fn oversized_requests_get_a_soap_answer() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteReceiptStore::open(dir.path().join("r.db")).unwrap();
    let mut cfg = config();
    cfg.max_body_bytes = LIMIT;
    let service = Arc::new(PaForNodeService::new(cfg, TestHost::default(), store));
    let app = axum::Router::new().nest("/paForNode", router(service));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let url = format!("http://{addr}/paForNode");
    let good = write_request(&NodeRequest::VerifyPaymentNotice(
        VerifyPaymentNoticeRequest {
            ids: ids(),
            qr_code: qr(NOTICE_OK),
        },
    ));
    // Padding inside the body element, after its start: only the start is needed.
    let at = good.find("<idPA>").unwrap();
    let big = format!(
        "{}<!--{}-->{}",
        &good[..at],
        "x".repeat(3 * LIMIT),
        &good[at..]
    );
    let http = reqwest::Client::new();
    for action in [Some("paVerifyPaymentNotice"), None] {
        let mut req = http
            .post(&url)
            .header("Content-Type", "text/xml; charset=utf-8")
            .body(big.clone());
        if let Some(a) = action {
            req = req.header("SOAPAction", a);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 200);
        assert!(
            resp.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/xml")
        );
        let body = resp.text().await.unwrap();
        assert!(body.contains("paVerifyPaymentNoticeRes"), "{body}");
        assert!(body.contains("PAA_SINTASSI_EXTRAXSD"), "{body}");
        assert_schema_valid(&body);
    }
    let resp = http
        .post(&url)
        .body(vec![b'x'; 3 * LIMIT])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 500);
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("<faultcode>soapenv:Client</faultcode>"),
        "{body}"
    );
    // Within the limit nothing changes.
    let resp = http
        .post(&url)
        .header("SOAPAction", "paVerifyPaymentNotice")
        .body(good)
        .send()
        .await
        .unwrap();
    let body = resp.text().await.unwrap();
    assert!(body.contains("<outcome>OK</outcome>"), "{body}");
}
