//! The smart-card certificate reader (CNS / TS-CNS / CIE) on arbitrary DER: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(card) = cie::cns::CardIdentity::from_der(data) {
        let _ = card.to_citizen_identity();
    }
});
