//! Full SPID response processing per second: base64 decode, parse, verify the Response and the
//! Assertion signatures (RSA-2048, IdP metadata key), every SPID check, typed identity, replay
//! store, on a ~7 KB response from the `spid` test IdP.
//!
//! References in the same run: `xmlsec1 --verify` as a process on the same response (how
//! pysaml2, and so most Python SPs and spid-sp-test, verify one signature), when xmlsec1 is
//! installed; and the bare `xmldsig` verification of the assertion signature alone, which shows
//! what the SPID checks add on top of the cryptography.
#![allow(clippy::unwrap_used, missing_docs)]

use std::process::Command;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spid::{
    AssertionStore, AuthnOptions, AuthnRequestMessage, PendingRequest, PendingRequestStore,
    ServiceProvider, SpConfig, SpCredentials, StoreError, TestIdp, TestUser,
};

const ACS: &str = "http://127.0.0.1:8000/spid/acs";

/// Keeps the one pending request forever, so the same response can be processed repeatedly.
struct FixedPending(std::sync::Mutex<Option<PendingRequest>>);

#[async_trait]
impl PendingRequestStore for FixedPending {
    async fn put(&self, request: PendingRequest) -> Result<(), StoreError> {
        *self.0.lock().unwrap() = Some(request);
        Ok(())
    }
    async fn take(
        &self,
        id: &str,
        session: &str,
        _now: DateTime<Utc>,
    ) -> Result<Option<PendingRequest>, StoreError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .clone()
            .filter(|r| r.id == id && r.session == session))
    }
}

/// Accepts every assertion (the bench repeats one); the in-memory store's cost is a map insert.
struct NoReplayCheck;

#[async_trait]
impl AssertionStore for NoReplayCheck {
    async fn consume(
        &self,
        _: &str,
        _: &str,
        _: DateTime<Utc>,
        _: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        Ok(true)
    }
}

fn creds(name: &str) -> SpCredentials {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../spid/tests/fixtures/keys/");
    let key = std::fs::read_to_string(format!("{dir}{name}.key")).unwrap();
    let cert = std::fs::read_to_string(format!("{dir}{name}.crt")).unwrap();
    SpCredentials::from_pem(&key, &cert).unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let idp = TestIdp::new(
        "https://idp.test.example",
        "https://idp.test.example/sso",
        creds("idp"),
    );
    let mut sp = ServiceProvider::with_stores(
        SpConfig::example_public("http://127.0.0.1:8000"),
        creds("sp"),
        Arc::new(FixedPending(std::sync::Mutex::new(None))),
        Arc::new(NoReplayCheck),
    )
    .unwrap();
    sp.add_idp(idp.metadata().unwrap()).unwrap();
    let AuthnRequestMessage::Redirect { url, .. } = rt
        .block_on(sp.authn_request(AuthnOptions::new("https://idp.test.example", "s")))
        .unwrap()
    else {
        unreachable!()
    };
    let req = idp.read_redirect(url.split_once('?').unwrap().1).unwrap();
    let template = idp.template(&req, ACS, &TestUser::example(), Utc::now());
    let xml = idp.render(&template).unwrap();
    let b64 = B64.encode(&xml);
    rt.block_on(sp.process_response(&b64, "s")).unwrap();

    let mut g = c.benchmark_group("spid_response");
    g.throughput(Throughput::Elements(1));
    g.bench_function(
        "pa-rs spid: full response processing (2 signatures + all checks)",
        |b| b.iter(|| rt.block_on(sp.process_response(&b64, "s")).unwrap()),
    );

    let cert =
        xmldsig::Certificate::from_der(idp.metadata().unwrap().signing_certificates[0].as_slice())
            .unwrap();
    let trusted = [xmldsig::TrustedKey::from_certificate(cert)];
    g.bench_function(
        "reference: xmldsig parse + verify assertion signature only",
        |b| {
            b.iter(|| {
                let doc = xmldsig::Document::parse(xml.as_bytes()).unwrap();
                let a = doc
                    .root()
                    .child("urn:oasis:names:tc:SAML:2.0:assertion", "Assertion")
                    .unwrap();
                xmldsig::verify_element(a, &trusted, &xmldsig::VerifyOptions::default()).unwrap();
            })
        },
    );

    if Command::new("xmlsec1").arg("--version").output().is_ok() {
        let dir = std::env::temp_dir().join(format!("spid-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("response.xml");
        let pem = dir.join("idp.crt");
        std::fs::write(&file, &xml).unwrap();
        std::fs::write(&pem, creds("idp").certificate_pem()).unwrap();
        g.bench_function(
            "reference: xmlsec1 --verify assertion (process, as pysaml2)",
            |b| {
                b.iter(|| {
                    let out = Command::new("xmlsec1")
                        .args([
                            "--verify",
                            "--id-attr:ID",
                            "urn:oasis:names:tc:SAML:2.0:assertion:Assertion",
                        ])
                        .args([
                            "--node-xpath",
                            "//*[local-name()='Assertion']/*[local-name()='Signature']",
                        ])
                        .arg("--pubkey-cert-pem")
                        .arg(&pem)
                        .arg(&file)
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                })
            },
        );
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("xmlsec1 not installed: reference skipped");
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
