//! The CMS parser and verifier of `.p7m` / `.p7s` files (BER and DER, nested envelopes,
//! countersignatures, embedded revocation values, time-stamp tokens) on arbitrary bytes: never
//! panics, enveloping or detached. The first byte chooses the mode; the detached case signs
//! nothing but the rest of the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocollo::P7mVerifier;

fuzz_target!(|data: &[u8]| {
    let verifier = P7mVerifier::insecure_without_chain_check();
    match data.split_first() {
        Some((mode, rest)) if mode % 2 == 1 => {
            let (cms, content) = rest.split_at(rest.len() / 2);
            let _ = verifier.verify_detached(cms, content);
        }
        _ => {
            let _ = verifier.verify(data);
        }
    }
});
