//! Property tests: amounts and identifiers survive writing and reading; hostile text never
//! breaks the reader.

use proptest::prelude::*;
use siopeplus::*;

use crate::common::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn amounts_and_text_round_trip(
        a in 1u64..999_999_999_999_999,
        b in 1u64..1_000_000_000,
        causale in "[ -~àèéìòù€]{1,60}",
        numero in 1u32..=9_999_999,
    ) {
        prop_assume!(!causale.trim().is_empty());
        let mut m = mandato(numero);
        m.informazioni_beneficiario[0].importo_beneficiario = pa_types::Amount::from_cents(a);
        m.informazioni_beneficiario[0].classificazione.clear();
        m.informazioni_beneficiario[0].causale = causale.clone();
        m.informazioni_beneficiario[1].importo_beneficiario = pa_types::Amount::from_cents(b);
        m.informazioni_beneficiario[1].classificazione.clear();
        m.bilancio.clear();
        let total = a.checked_add(b).filter(|t| *t <= 999_999_999_999_999);
        prop_assume!(total.is_some());
        m.importo_mandato = pa_types::Amount::from_cents(total.unwrap_or(0));
        let f = FlussoOrdinativi {
            id: Some("P".into()),
            testata: testata("FL-PROP"),
            esercizio: 2026,
            ordinativi: vec![Ordinativo::Mandato(Box::new(m))],
        };
        let xml = write_flow(&f, Vec::new(), false).unwrap();
        let back = parse_flow(&xml).unwrap();
        prop_assert_eq!(back, f);
    }

    #[test]
    fn reader_never_panics_on_mutated_flows(cut in 0usize..4000, byte in any::<u8>()) {
        let xml = write_flow(&flow("FL-FUZZ", 1), Vec::new(), false).unwrap();
        let mut bad = xml.clone();
        let i = cut % bad.len();
        bad[i] = byte;
        let _ = parse_flow(&bad);
        let _ = parse_flow(&xml[..i]);
        let _ = parse_message(&bad);
    }
}
