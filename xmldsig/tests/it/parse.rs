//! Parser hardening and tree behaviour.

use xmldsig::{
    C14nAlgorithm, C14nOptions, Document, NodeKind, ParseErrorKind, ParseOptions,
    canonicalize_document,
};

fn kind(xml: &str) -> ParseErrorKind {
    Document::parse(xml.as_bytes()).expect_err("must fail").kind
}

#[test]
fn rejects_doctype_and_entities() {
    assert_eq!(
        kind("<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>"),
        ParseErrorKind::Doctype
    );
    assert_eq!(
        kind("<?xml version=\"1.0\"?>\n<!DOCTYPE a SYSTEM \"file:///etc/passwd\"><a/>"),
        ParseErrorKind::Doctype
    );
    // Billion laughs needs a DTD: refused before any expansion.
    let bl =
        "<!DOCTYPE lolz [<!ENTITY lol \"lol\"><!ENTITY lol2 \"&lol;&lol;\">]><lolz>&lol2;</lolz>";
    assert_eq!(kind(bl), ParseErrorKind::Doctype);
    assert!(matches!(kind("<a>&nbsp;</a>"), ParseErrorKind::UnknownEntity(e) if e == "nbsp"));
    assert!(matches!(
        kind("<a b=\"&x;\"/>"),
        ParseErrorKind::UnknownEntity(_)
    ));
    assert!(matches!(
        kind("<a>&#0;</a>"),
        ParseErrorKind::InvalidCharRef(_)
    ));
}

#[test]
fn limits_are_enforced() {
    let deep = format!("{}{}", "<a>".repeat(20), "</a>".repeat(20));
    let e = Document::parse_with(deep.as_bytes(), &ParseOptions::default().with_max_depth(10))
        .expect_err("deep");
    assert_eq!(e.kind, ParseErrorKind::TooDeep { limit: 10 });
    let many = format!("<r>{}</r>", "<b/>".repeat(50));
    let e = Document::parse_with(
        many.as_bytes(),
        &ParseOptions::default().with_max_elements(10),
    )
    .expect_err("many");
    assert_eq!(e.kind, ParseErrorKind::TooManyElements { limit: 10 });
    let attrs: String = (0..20).map(|i| format!(" a{i}=\"x\"")).collect();
    let e = Document::parse_with(
        format!("<r{attrs}/>").as_bytes(),
        &ParseOptions::default().with_max_attributes(5),
    )
    .expect_err("attrs");
    assert_eq!(e.kind, ParseErrorKind::TooManyAttributes { limit: 5 });
    let e = Document::parse_with(
        b"<r>0123456789</r>",
        &ParseOptions::default().with_max_size(8),
    )
    .expect_err("size");
    assert!(matches!(
        e.kind,
        ParseErrorKind::TooLarge { size: 17, limit: 8 }
    ));
    // Default depth limit protects against stack-like nesting attacks.
    let very_deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    assert!(matches!(kind(&very_deep), ParseErrorKind::TooDeep { .. }));
}

#[test]
fn duplicate_ids_are_an_error() {
    let e = Document::parse(b"<r>\n<a ID=\"x\"/>\n<b Id=\"x\"/></r>").expect_err("dup");
    assert_eq!(
        e.kind,
        ParseErrorKind::DuplicateId {
            id: "x".into(),
            first_line: 2
        }
    );
    assert_eq!((e.line, e.column), (3, 1));
    // Only configured names count.
    let opts = ParseOptions::default().with_id_attributes(["AssertionID"]);
    assert!(Document::parse_with(b"<r><a ID=\"x\"/><b ID=\"x\"/></r>", &opts).is_ok());
    assert!(
        Document::parse_with(
            b"<r><a AssertionID=\"x\"/><b AssertionID=\"x\"/></r>",
            &opts
        )
        .is_err()
    );
    // xml:id always counts.
    assert!(Document::parse(b"<r><a xml:id=\"x\"/><b ID=\"x\"/></r>").is_err());
    // A prefixed attribute called ID is not an ID.
    let d = Document::parse(b"<r xmlns:p=\"urn:p\"><a p:ID=\"x\"/><b ID=\"x\"/></r>").expect("ok");
    assert_eq!(d.element_by_id("x").map(|e| e.local_name()), Some("b"));
}

#[test]
fn namespace_rules() {
    assert!(matches!(kind("<p:a/>"), ParseErrorKind::UnboundPrefix(p) if p == "p"));
    assert!(matches!(
        kind("<a xmlns:p=\"urn:p\"><b p:x=\"1\" xmlns:q=\"urn:p\" q:x=\"2\"/></a>"),
        ParseErrorKind::DuplicateAttribute(_)
    ));
    assert!(matches!(
        kind("<a xmlns:p=\"\"/>"),
        ParseErrorKind::InvalidNamespace(_)
    ));
    assert!(matches!(
        kind("<a xmlns:xml=\"urn:other\"/>"),
        ParseErrorKind::InvalidNamespace(_)
    ));
    assert!(matches!(
        kind("<a xmlns:xmlns=\"urn:x\"/>"),
        ParseErrorKind::InvalidNamespace(_)
    ));
    let d = Document::parse(b"<a xmlns=\"urn:d\" xmlns:p=\"urn:p\"><b xmlns=\"\"><p:c xmlns:p=\"urn:p2\" x=\"1\" p:y=\"2\"/></b></a>").expect("ok");
    let root = d.root();
    assert_eq!(root.namespace(), "urn:d");
    let b = root.child_elements().next().expect("b");
    assert_eq!(b.namespace(), "");
    let c = b.child_elements().next().expect("c");
    assert_eq!(
        (c.prefix(), c.local_name(), c.namespace()),
        ("p", "c", "urn:p2")
    );
    assert_eq!(c.attr("x"), Some("1"));
    assert_eq!(c.attr_ns("urn:p2", "y"), Some("2"));
    assert_eq!(c.lookup_namespace(""), None);
    assert_eq!(c.in_scope_namespaces(), vec![("p", "urn:p2")]);
}

#[test]
fn malformed_input_reports_position() {
    let e = Document::parse(b"<a>\n  <b>\n</a>").expect_err("mismatch");
    assert!(matches!(e.kind, ParseErrorKind::Syntax(_)));
    assert_eq!(e.line, 3);
    assert!(matches!(kind("<a>"), ParseErrorKind::UnclosedElement(n) if n == "a"));
    assert!(matches!(kind("<a/><b/>"), ParseErrorKind::OutsideRoot(_)));
    assert!(matches!(kind("<a/>text"), ParseErrorKind::OutsideRoot(_)));
    assert!(matches!(kind(""), ParseErrorKind::NoRoot));
    assert!(matches!(kind("<a b=\"<\"/>"), ParseErrorKind::Syntax(_)));
    assert!(matches!(
        kind("<a>\u{1}</a>"),
        ParseErrorKind::InvalidChar(1)
    ));
    assert_eq!(
        Document::parse(b"<a>\xff</a>").expect_err("utf8").kind,
        ParseErrorKind::NotUtf8
    );
    assert!(matches!(
        kind("<?xml version=\"1.0\" encoding=\"KOI8-R\"?><a/>"),
        ParseErrorKind::UnsupportedEncoding(n) if n == "KOI8-R"
    ));
    // ISO-8859-1 is decoded as declared.
    let d = Document::parse(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xe0</a>")
        .expect("latin1");
    assert_eq!(d.root().text(), "\u{e0}");
}

#[test]
fn keeps_comments_pis_and_positions() {
    let d = Document::parse(b"<?xml version=\"1.0\"?>\n<!--top-->\n<a>\r\n<?pi data?><!--c-->x&amp;y<![CDATA[<z>]]></a>").expect("ok");
    let kids: Vec<_> = d.children().map(|n| n.kind()).collect();
    assert!(matches!(kids[0], NodeKind::Comment("top")));
    let a = d.root();
    assert_eq!(a.position().line, 3);
    let ks: Vec<_> = a.children().map(|n| n.kind()).collect();
    assert!(matches!(ks[0], NodeKind::Text("\n")));
    assert!(matches!(
        ks[1],
        NodeKind::ProcessingInstruction {
            target: "pi",
            data: "data"
        }
    ));
    assert!(matches!(ks[2], NodeKind::Comment("c")));
    assert!(matches!(ks[3], NodeKind::Text("x&y<z>")));
    assert_eq!(a.text(), "\nx&y<z>");
    let c = canonicalize_document(&d, C14nAlgorithm::InclusiveWithComments);
    assert_eq!(
        String::from_utf8_lossy(&c),
        "<!--top-->\n<a>\n<?pi data?><!--c-->x&amp;y&lt;z&gt;</a>"
    );
}

#[test]
fn exclusive_default_in_prefix_list_follows_spec() {
    let d = Document::parse(b"<p:a xmlns=\"urn:d\" xmlns:p=\"urn:p\"><p:b/></p:a>").expect("ok");
    let b = d.root().child_elements().next().expect("b");
    let plain = b.canonicalize(&C14nOptions::new(C14nAlgorithm::Exclusive));
    assert_eq!(
        String::from_utf8_lossy(&plain),
        "<p:b xmlns:p=\"urn:p\"></p:b>"
    );
    let with_default =
        b.canonicalize(&C14nOptions::new(C14nAlgorithm::Exclusive).with_prefix_list("#default"));
    assert_eq!(
        String::from_utf8_lossy(&with_default),
        "<p:b xmlns=\"urn:d\" xmlns:p=\"urn:p\"></p:b>"
    );
}

#[test]
fn exclude_subtree() {
    let d = Document::parse(b"<a ID=\"i\"><x/><sig><y/></sig><z/></a>").expect("ok");
    let sig = d.root().child_elements().nth(1).expect("sig");
    let out = d
        .root()
        .canonicalize(&C14nOptions::new(C14nAlgorithm::Exclusive).excluding(sig.id()));
    assert_eq!(
        String::from_utf8_lossy(&out),
        "<a ID=\"i\"><x></x><z></z></a>"
    );
}

#[test]
fn fuzz_regressions() {
    // Found by the libFuzzer targets: a BOM followed by malformed markup.
    for input in [&b"\xef\xbb\xbf <e:apos\"<a "[..], b"\xef\xbb\xbf <?ml"] {
        assert!(Document::parse(input).is_err());
    }
    let ok = Document::parse(b"\xef\xbb\xbf<a/>").expect("BOM is fine");
    assert_eq!(ok.root().local_name(), "a");
}
