//! Property tests: parsers never panic, round trips hold.

use chrono::NaiveDate;
use proptest::prelude::*;
use protocollo::*;

use crate::common::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn xml_readers_never_panic(s in ".{0,400}") {
        let _ = SegnaturaInformatica::from_xml(&s);
        let _ = MessaggioAoo::from_xml(&s);
        let _ = Segnatura2013::from_xml(&s);
    }

    #[test]
    fn mutated_segnatura_never_panics(pos in 0usize..4000, byte in any::<u8>()) {
        let mut xml = full_segnatura().to_xml().unwrap().into_bytes();
        let i = pos % xml.len();
        xml[i] = byte;
        if let Ok(s) = String::from_utf8(xml) {
            let _ = SegnaturaInformatica::from_xml(&s);
            let _ = MessaggioAoo::from_xml(&s);
        }
    }

    #[test]
    fn p7m_reader_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = P7mVerifier::insecure_without_chain_check().verify(&bytes);
    }

    #[test]
    fn numero_round_trips(n in 0u64..10_000_000_000) {
        let s = NumeroRegistrazione::new(n).to_string();
        prop_assert!(s.len() >= 7);
        prop_assert_eq!(s.parse::<NumeroRegistrazione>().unwrap().value(), n);
    }

    #[test]
    fn textual_round_trips(
        n in 0u64..100_000_000,
        days in 0i64..40_000,
        amm in "[a-z_]{1,10}",
        reg in "[A-Z ]{1,12}",
        ufficio in "[A-Z]{1,5}",
        arrivo in any::<bool>(),
        fasc in "[0-9./A-Z]{1,20}",
    ) {
        let data = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap() + chrono::Duration::days(days);
        let mut v = SegnaturaTestuale::new(NumeroRegistrazione::new(n), data);
        v.amministrazione = Some(amm);
        v.registro = Some(reg);
        v.ufficio = Some(ufficio);
        v.verso = Some(if arrivo { Verso::Arrivo } else { Verso::Partenza });
        v.fascicolo = Some(fasc);
        let t = TextualTemplate::pipe_regionale();
        let text = t.format(&v).unwrap();
        prop_assert_eq!(t.parse(&text).unwrap(), v);
    }

    #[test]
    fn textual_parse_never_panics(s in ".{0,80}") {
        let _ = TextualTemplate::pipe_regionale().parse(&s);
        let _ = TextualTemplate::ministeriale().parse(&s);
    }

    #[test]
    fn oggetto_text_round_trips(oggetto in "[^\u{0}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{fffe}\u{ffff}]{0,60}") {
        let mut s = minimal_segnatura();
        s.intestazione.oggetto = oggetto;
        let xml = s.to_xml().unwrap();
        prop_assert_eq!(SegnaturaInformatica::from_xml(&xml).unwrap(), s);
    }
}
