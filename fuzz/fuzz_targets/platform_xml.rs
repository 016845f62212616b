//! The XML readers of the platform crates on arbitrary bytes: the paForNode SOAP request reader,
//! the reporting-flow stream parser, SIOPE+ messages and OPI flows, the 2013 and 2021 segnatura,
//! SPID IdP metadata. Each must answer with a value or a typed error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = pagopa::node::parse_request(None, data);
    if let Ok(mut flow) = pagopa::reporting::FlowParser::new(data) {
        for _ in 0..10_000 {
            match flow.next_payment() {
                Ok(Some(_)) => {}
                _ => break,
            }
        }
    }
    let _ = siopeplus::parse_message(data);
    if let Ok(reader) = siopeplus::FlowReader::new(data) {
        for order in reader.take(10_000) {
            if order.is_err() {
                break;
            }
        }
    }
    let _ = spid::IdpMetadata::parse(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = protocollo::SegnaturaInformatica::parse_with(s, protocollo::ParseOptions::strict());
        let _ = protocollo::Segnatura2013::from_xml(s);
    }
});
