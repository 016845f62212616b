//! Parse arbitrary bytes; when they parse, canonicalize the document and every element subtree
//! with all four algorithms. Must never panic; canonical output must re-parse.
#![no_main]

use libfuzzer_sys::fuzz_target;
use xmldsig::{C14nAlgorithm, C14nOptions, Document, NodeId, canonicalize};

fuzz_target!(|data: &[u8]| {
    let Ok(doc) = Document::parse(data) else {
        return;
    };
    let mut out = Vec::new();
    for alg in [
        C14nAlgorithm::Inclusive,
        C14nAlgorithm::InclusiveWithComments,
        C14nAlgorithm::Exclusive,
        C14nAlgorithm::ExclusiveWithComments,
    ] {
        out.clear();
        canonicalize(&doc, NodeId::DOCUMENT, &C14nOptions::new(alg), &mut out);
        assert!(
            Document::parse(&out).is_ok(),
            "canonical form does not re-parse"
        );
        for e in doc.elements().take(64) {
            out.clear();
            let opts = C14nOptions::new(alg).with_prefix_list("a b #default");
            canonicalize(&doc, e.id(), &opts, &mut out);
        }
    }
});
