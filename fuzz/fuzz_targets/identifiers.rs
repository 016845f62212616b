//! Every identifier, code and payload parser of pa-types and pagopa on arbitrary text: never
//! panics; whatever parses prints back to a form that parses to the same value.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(cf) = s.parse::<pa_types::CodiceFiscale>() {
        assert_eq!(cf.as_str().parse::<pa_types::CodiceFiscale>().ok(), Some(cf.clone()));
        let _ = cf.base_form();
    }
    let _ = s.parse::<pa_types::AnyFiscalCode>();
    let _ = s.parse::<pa_types::PartitaIva>();
    let _ = s.parse::<pa_types::Iban>();
    let _ = s.parse::<pa_types::Cup>();
    let _ = s.parse::<pa_types::Cig>();
    let _ = s.parse::<pa_types::CodiceIpa>();
    let _ = pa_types::parse_spid_fiscal_number(s);
    if let Ok(a) = pa_types::Amount::parse_decimal(s) {
        assert_eq!(pa_types::Amount::parse_decimal(&a.to_string()), Ok(a));
    }
    if let Ok(n) = pagopa::NoticeNumber::parse(s) {
        assert_eq!(pagopa::NoticeNumber::parse(n.as_str()).ok(), Some(n));
        let _ = pagopa::NoticeNumber::parse_print_format(&n.to_print_format());
    }
    let _ = pagopa::RfReference::parse(s);
    let _ = pagopa::QrPayload::parse(s);
    let _ = pagopa::PosteDataMatrix::parse(s);
});
