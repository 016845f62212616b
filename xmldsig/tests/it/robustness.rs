//! The fuzz targets' entry points on random and mutated inputs (stable twin of `fuzz/`):
//! parse, C14N and verify never panic; whatever verifies has exactly the signed content; C14N
//! output re-parses and is a fixed point.

use proptest::prelude::*;
use xmldsig::{
    C14nAlgorithm, C14nOptions, Certificate, Document, NodeId, Placement, SignOptions, SigningKey,
    TrustedKey, VerifyOptions, canonicalize, sign_enveloped, verify, verify_element,
};

const ALGS: [C14nAlgorithm; 4] = [
    C14nAlgorithm::Inclusive,
    C14nAlgorithm::InclusiveWithComments,
    C14nAlgorithm::Exclusive,
    C14nAlgorithm::ExclusiveWithComments,
];

fn exercise(data: &[u8], trusted: &[TrustedKey]) {
    let Ok(doc) = Document::parse(data) else {
        return;
    };
    let mut out = Vec::new();
    for alg in ALGS {
        out.clear();
        canonicalize(&doc, NodeId::DOCUMENT, &C14nOptions::new(alg), &mut out);
        assert!(
            Document::parse(&out).is_ok(),
            "canonical form does not re-parse: {}",
            String::from_utf8_lossy(&out)
        );
        for e in doc.elements().take(32) {
            out.clear();
            canonicalize(
                &doc,
                e.id(),
                &C14nOptions::new(alg).with_prefix_list("a #default"),
                &mut out,
            );
        }
    }
    let opts = VerifyOptions::default().allow_inclusive_c14n();
    let _ = verify(&doc, trusted, &opts);
    for e in doc.elements().take(16) {
        let _ = verify_element(e, trusted, &opts);
        let _ = e.text_deep();
        let _ = e.in_scope_namespaces();
    }
}

struct Signed {
    xml: Vec<u8>,
    trusted: Vec<TrustedKey>,
    /// Exclusive C14N of the signed assertion without its signature.
    signed_c14n: Vec<u8>,
}

fn signed() -> &'static Signed {
    static S: std::sync::OnceLock<Signed> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        let key =
            SigningKey::from_pem(&crate::common::read_fixture("keys/rsa.key.pem")).expect("key");
        let cert =
            Certificate::from_pem(&crate::common::read_fixture("keys/rsa.crt.pem")).expect("cert");
        let opts = SignOptions::new("_assert1", &key)
            .certificate(&cert)
            .placement(Placement::after_saml_issuer());
        let xml =
            sign_enveloped(&crate::common::read_fixture("c14n/06-saml.xml"), &opts).expect("sign");
        let doc = Document::parse(&xml).expect("parse");
        let a = doc.element_by_id("_assert1").expect("a");
        let sig = a.child(xmldsig::DSIG_NS, "Signature").expect("sig");
        let signed_c14n =
            a.canonicalize(&C14nOptions::new(C14nAlgorithm::Exclusive).excluding(sig.id()));
        Signed {
            xml,
            trusted: vec![TrustedKey::from_certificate(cert)],
            signed_c14n,
        }
    })
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Duplicate(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (
            any::<usize>(),
            prop::sample::select(vec![
                b"<".to_vec(),
                b">".to_vec(),
                b"&amp;".to_vec(),
                b"<!-- x -->".to_vec(),
                b" ".to_vec(),
                b"<a/>".to_vec(),
                b"xmlns=\"urn:x\" ".to_vec(),
                b"ID=\"_assert1\" ".to_vec(),
                b"\r\n".to_vec(),
                b"<!DOCTYPE x>".to_vec(),
                b"]]>".to_vec(),
                b"&#xD;".to_vec(),
            ])
        )
            .prop_map(|(i, v)| Mutation::Insert(i, v)),
        (any::<usize>(), 1usize..64).prop_map(|(i, n)| Mutation::Delete(i, n)),
        (any::<usize>(), 1usize..400, any::<usize>())
            .prop_map(|(i, n, at)| Mutation::Duplicate(i, n, at)),
    ]
}

fn apply(src: &[u8], muts: &[Mutation]) -> Vec<u8> {
    let mut v = src.to_vec();
    for m in muts {
        if v.is_empty() {
            break;
        }
        let len = v.len();
        match m {
            Mutation::Flip(i, b) => v[i % len] ^= b | 1,
            Mutation::Insert(i, ins) => {
                let at = i % (len + 1);
                v.splice(at..at, ins.iter().copied());
            }
            Mutation::Delete(i, n) => {
                let at = i % len;
                let end = (at + n).min(len);
                v.drain(at..end);
            }
            Mutation::Duplicate(i, n, at) => {
                let start = i % len;
                let end = (start + n).min(len);
                let chunk = v[start..end].to_vec();
                let at = at % (v.len() + 1);
                v.splice(at..at, chunk);
            }
        }
    }
    v
}

/// Random well-formed XML from a small grammar heavy in namespace and escaping edge cases.
fn xml_tree() -> impl Strategy<Value = String> {
    let text = prop::sample::select(vec![
        "",
        "a",
        " ",
        "x&amp;y",
        "&lt;&gt;",
        "&#xD;",
        "\n",
        "\t t",
        "é€𝄞",
        "]]&gt;",
    ]);
    let leaf = (text.clone()).prop_map(|t| t.to_owned());
    let prefixes = prop::sample::select(vec!["", "a", "b"]);
    let uris = prop::sample::select(vec!["urn:1", "urn:2", ""]);
    leaf.prop_recursive(5, 40, 4, move |inner| {
        (
            prefixes.clone(),
            prop::collection::vec((prefixes.clone(), uris.clone()), 0..3),
            prop::collection::vec(
                (
                    prop::sample::select(vec!["x", "y", "Id"]),
                    prop::sample::select(vec!["1", "a\tb", "&quot;&#xA;", "&lt;"]),
                    any::<bool>(),
                ),
                0..3,
            ),
            prop::collection::vec(inner, 0..4),
            any::<bool>(),
        )
            .prop_map(|(prefix, decls, attrs, kids, comment)| {
                let mut s = String::from("<");
                let name = if prefix.is_empty() {
                    "e".to_owned()
                } else {
                    format!("{prefix}:e")
                };
                s.push_str(&name);
                // Always bind used prefixes; extra declarations may rebind or undeclare.
                let mut seen: Vec<&str> = Vec::new();
                for (p, u) in &decls {
                    if seen.contains(p) || (!p.is_empty() && u.is_empty()) {
                        continue;
                    }
                    seen.push(p);
                    if p.is_empty() {
                        s.push_str(&format!(" xmlns=\"{u}\""));
                    } else {
                        s.push_str(&format!(" xmlns:{p}=\"{u}\""));
                    }
                }
                for p in ["a", "b"] {
                    if !seen.contains(&p) {
                        s.push_str(&format!(" xmlns:{p}=\"urn:{p}\""));
                    }
                }
                let mut names = Vec::new();
                for (n, v, pre) in attrs {
                    let qn = if pre { format!("a:{n}") } else { n.to_owned() };
                    if n == "Id" || names.contains(&qn) {
                        continue;
                    }
                    s.push_str(&format!(" {qn}=\"{v}\""));
                    names.push(qn);
                }
                s.push('>');
                for k in kids {
                    s.push_str(&k);
                }
                if comment {
                    s.push_str("<!-- c --><?pi d?>");
                }
                s.push_str(&format!("</{name}>"));
                s
            })
    })
    .prop_map(|body| format!("<root xmlns:a=\"urn:a\" xmlns:b=\"urn:b\">{body}</root>"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(data in prop::collection::vec(any::<u8>(), 0..512)) {
        exercise(&data, &signed().trusted);
    }

    #[test]
    fn mutated_signed_documents(muts in prop::collection::vec(mutation(), 1..4)) {
        let s = signed();
        let data = apply(&s.xml, &muts);
        exercise(&data, &s.trusted);
        // Whatever still verifies carries exactly the signed content.
        if let Ok(doc) = Document::parse(&data)
            && let Ok(v) = verify(&doc, &s.trusted, &VerifyOptions::default()) {
                let got = v.element().canonicalize(&C14nOptions::new(C14nAlgorithm::Exclusive).excluding(v.signature().id()));
                prop_assert_eq!(got, s.signed_c14n.clone());
            }
    }

    #[test]
    fn c14n_is_a_fixed_point(xml in xml_tree()) {
        let doc = Document::parse(xml.as_bytes());
        prop_assert!(doc.is_ok(), "generated XML rejected: {xml}: {doc:?}");
        let doc = doc.expect("checked");
        for alg in ALGS {
            let once = xmldsig::canonicalize_document(&doc, alg);
            let again = Document::parse(&once).expect("canonical form re-parses");
            let twice = xmldsig::canonicalize_document(&again, alg);
            prop_assert_eq!(&once, &twice, "{:?} not idempotent on {}", alg, xml);
        }
        exercise(xml.as_bytes(), &signed().trusted);
    }
}
