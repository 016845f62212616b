//! Verify arbitrary documents (seeded with signed ones) against a fixed trusted key. Must never
//! panic; a document that verifies must have the signed element's canonical form unchanged
//! compared with the seed it came from (checked in the proptest twin in xmldsig/tests).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use xmldsig::{Certificate, Document, TrustedKey, VerifyOptions, verify, verify_element};

fn trusted() -> &'static [TrustedKey] {
    static K: OnceLock<Vec<TrustedKey>> = OnceLock::new();
    K.get_or_init(|| {
        let pem = include_bytes!("../../xmldsig/tests/fixtures/keys/rsa.crt.pem");
        vec![TrustedKey::from_certificate(
            Certificate::from_pem(pem).expect("cert"),
        )]
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = Document::parse(data) else {
        return;
    };
    let opts = VerifyOptions::default().allow_inclusive_c14n();
    let _ = verify(&doc, trusted(), &opts);
    for e in doc.elements().take(16) {
        let _ = verify_element(e, trusted(), &opts);
    }
});
