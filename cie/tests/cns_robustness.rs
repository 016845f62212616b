//! Hostile input never panics: random bytes and mutated card certificates through parsing and
//! verification.
#![allow(clippy::unwrap_used)]

mod cns_pki;

use cie::cns::{CardIdentity, CardVerifier, FixedClock, InsecureNoRevocationCheck, IssuerList};
use cns_pki::*;
use proptest::prelude::*;
use std::sync::OnceLock;

struct Fixture {
    card: Vec<u8>,
    ca_der: Vec<u8>,
    verifier: CardVerifier,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let ca = root_ca("Regione Test CA Cittadini", "Regione Test");
        let card = issue(&ca, &CardSpec::cns(1)).der;
        let verifier = CardVerifier::new(
            IssuerList::from_der_certificates([&ca.der]).unwrap(),
            InsecureNoRevocationCheck,
        )
        .with_clock(FixedClock(now()));
        Fixture {
            card,
            ca_der: ca.der.clone(),
            verifier,
        }
    })
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_do_not_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let _ = CardIdentity::from_der(&bytes);
        let _ = CardIdentity::from_pem(&bytes);
        let _ = IssuerList::from_pem(&bytes);
        let _ = IssuerList::from_trusted_list_xml(
            &bytes,
            &fixture().ca_der,
            &cie::cns::TrustedListOptions::new([cie::cns::SERVICE_TYPE_IDV]),
        );
        let _ = cie::cns::CrlChecker::from_pem(&bytes);
        let _ = block_on(fixture().verifier.verify(&bytes, &[&bytes]));
    }

    #[test]
    fn mutated_certificates_do_not_panic_nor_verify(pos in any::<prop::sample::Index>(), val in any::<u8>()) {
        let f = fixture();
        let mut der = f.card.clone();
        let i = pos.index(der.len());
        prop_assume!(der[i] != val);
        der[i] = val;
        let _ = CardIdentity::from_der(&der);
        // any change to the signed certificate must make verification fail, except changes to
        // the unsigned outer encoding that decode to the same content (none for DER)
        let r = block_on(f.verifier.verify(&der, &[]));
        prop_assert!(r.is_err(), "mutation at {} accepted", i);
    }
}

#[test]
fn every_single_byte_mutation_is_rejected() {
    // exhaustive over positions, a few values each: deterministic counterpart of the proptest
    let f = fixture();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for i in 0..f.card.len() {
        for val in [0x00u8, 0x01, 0x07, 0x80, 0xff, f.card[i] ^ 0x01] {
            if f.card[i] == val {
                continue;
            }
            let mut der = f.card.clone();
            der[i] = val;
            let r = rt.block_on(f.verifier.verify(&der, &[]));
            assert!(r.is_err(), "byte {i} set to {val:#04x} still verifies");
        }
    }
}
