//! The PAdES verifier (PDF revisions, signature fields, byte ranges, update comparison, the
//! CMS inside) on arbitrary bytes: never panics. Input without a `%PDF-` header gets one, so
//! the fuzzer spends its time past the header check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocollo::{P7mVerifier, PdfVerifier};

fuzz_target!(|data: &[u8]| {
    let verifier = PdfVerifier::new(P7mVerifier::insecure_without_chain_check());
    let input = if data.starts_with(b"%PDF-") {
        data.to_vec()
    } else {
        [b"%PDF-1.7\n".as_slice(), data].concat()
    };
    if let Ok(v) = verifier.verify(&input) {
        for s in &v.signatures {
            let _ = (s.is_valid(), s.failure());
        }
    }
});
