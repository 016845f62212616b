//! The streaming reader against the attacks the tree parser refuses, and declared encodings
//! against documents encoded by `iconv` and read back by `xmllint` (libxml2).

use std::io::Write as _;
use std::process::{Command, Stdio};

use xmldsig::stream::{Event, Reader, StreamOptions};
use xmldsig::{Document, ParseErrorKind};

use crate::common::in_ci;

/// All text of the document and the local names of its elements, through the stream reader.
fn stream_read(xml: &[u8]) -> Result<(String, Vec<String>), xmldsig::ParseError> {
    let mut r = Reader::new(xml);
    let mut text = String::new();
    let mut names = Vec::new();
    loop {
        match r.next()? {
            Event::Start(s) => names.push(s.name().local.to_owned()),
            Event::Text(t) => text.push_str(t),
            Event::Eof => return Ok((text, names)),
            _ => {}
        }
    }
}

fn stream_kind(xml: &[u8]) -> ParseErrorKind {
    stream_read(xml).expect_err("must be refused").kind
}

fn tool(name: &str) -> bool {
    let ok = Command::new(name)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        assert!(!in_ci(), "{name} is required when CI is set");
        eprintln!("{name} not found: skipping");
    }
    ok
}

/// `text` (UTF-8) converted by iconv to `to`.
fn iconv(text: &str, to: &str) -> Vec<u8> {
    let mut c = Command::new("iconv")
        .args(["-f", "UTF-8", "-t", to])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("iconv");
    c.stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write");
    let o = c.wait_with_output().expect("iconv output");
    assert!(o.status.success(), "iconv to {to} failed");
    o.stdout
}

/// The string value of the root element as libxml2 reads the file.
fn xmllint_string(xml: &[u8]) -> String {
    let mut f = tempfile::NamedTempFile::new().expect("tmp");
    f.write_all(xml).expect("write");
    let o = Command::new("xmllint")
        .args(["--xpath", "string(/*)"])
        .arg(f.path())
        .output()
        .expect("xmllint");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut s = String::from_utf8(o.stdout).expect("xmllint prints UTF-8");
    // Older libxml2 ends the value with a newline.
    if s.ends_with('\n') {
        s.pop();
    }
    s
}

const LAUGHS: &str = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<lolz>&lol3;</lolz>"#;

const XXE: &str = r#"<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<r>&x;</r>"#;

#[test]
fn dtds_and_entities_are_refused_by_both_readers() {
    for xml in [LAUGHS, XXE, "<!DOCTYPE r><r/>"] {
        assert_eq!(
            stream_kind(xml.as_bytes()),
            ParseErrorKind::Doctype,
            "{xml}"
        );
        assert_eq!(
            Document::parse(xml.as_bytes()).expect_err("tree").kind,
            ParseErrorKind::Doctype
        );
    }
    let e = stream_read(LAUGHS.as_bytes()).expect_err("laughs");
    assert_eq!(e.line, 2, "{e}");
    // Without a DTD only the predefined entities exist.
    assert_eq!(
        stream_kind(b"<r>&lol;</r>"),
        ParseErrorKind::UnknownEntity("lol".into())
    );
    assert!(matches!(
        stream_kind(b"<r>&#0;</r>"),
        ParseErrorKind::InvalidCharRef(_)
    ));
}

#[test]
fn nesting_attributes_and_names_are_bounded() {
    let n = 100_000;
    let deep = "<a>".repeat(n) + &"</a>".repeat(n);
    let e = stream_read(deep.as_bytes()).expect_err("deep");
    assert_eq!(e.kind, ParseErrorKind::TooDeep { limit: 128 });
    assert_eq!((e.line, e.column), (1, 128 * 3 + 1));
    let attrs: String = (0..100_000).map(|i| format!(" a{i}=\"{i}\"")).collect();
    assert_eq!(
        stream_kind(format!("<r{attrs}/>").as_bytes()),
        ParseErrorKind::TooManyAttributes { limit: 256 }
    );
    let ok: String = (0..10).map(|i| format!(" a{i}=\"{i}\"")).collect();
    let opts = StreamOptions::default().with_max_attributes(9);
    let ten = format!("<r{ok}/>");
    let mut r = Reader::with_options(ten.as_bytes(), opts);
    assert_eq!(
        r.next().expect_err("10 > 9").kind,
        ParseErrorKind::TooManyAttributes { limit: 9 }
    );
    let long = "x".repeat(5000);
    assert_eq!(
        stream_kind(format!("<r {long}=\"1\"/>").as_bytes()),
        ParseErrorKind::NameTooLong { limit: 1024 }
    );
    assert_eq!(
        Document::parse(format!("<{long}/>").as_bytes())
            .expect_err("tree")
            .kind,
        ParseErrorKind::NameTooLong { limit: 1024 }
    );
}

#[test]
fn namespaces_and_tags_must_be_right() {
    let e = stream_read(b"<r xmlns:a=\"urn:a\">\n  <a:x/>\n  <b:y/>\n</r>").expect_err("unbound");
    assert_eq!(e.kind, ParseErrorKind::UnboundPrefix("b".into()));
    assert_eq!((e.line, e.column), (3, 3));
    // A prefix goes out of scope with its element.
    assert_eq!(
        stream_kind(b"<r><a:x xmlns:a=\"urn:a\"/><a:y/></r>"),
        ParseErrorKind::UnboundPrefix("a".into())
    );
    assert!(matches!(
        stream_kind(b"<r><x></y></r>"),
        ParseErrorKind::MismatchedEndTag { .. }
    ));
    assert!(matches!(
        stream_kind(b"<r xmlns:xmlns=\"urn:x\"/>"),
        ParseErrorKind::InvalidNamespace(_)
    ));
    assert!(matches!(
        stream_kind(b"<r xmlns:a=\"urn:a\" xmlns:b=\"urn:a\" a:x=\"1\" b:x=\"2\"/>"),
        ParseErrorKind::DuplicateAttribute(_)
    ));
    // Attribute and element names resolve to namespace + local name.
    let mut r = Reader::new(
        &b"<r xmlns=\"urn:d\" xmlns:a=\"urn:a\" a:x=\"1\" y=\"2\"><a:c xmlns:a=\"urn:b\"/></r>"[..],
    );
    let Event::Start(s) = r.next().expect("root") else {
        panic!("start")
    };
    assert!(s.name().is("urn:d", "r"));
    assert_eq!(s.attr_ns("urn:a", "x"), Some("1"));
    assert_eq!(s.attr("y"), Some("2"));
    assert_eq!(s.namespace_declarations().len(), 2);
    let Event::Start(c) = r.next().expect("child") else {
        panic!("start")
    };
    assert!(c.name().is("urn:b", "c"));
    assert!(c.is_empty_element());
    let Event::End(n) = r.next().expect("end") else {
        panic!("end")
    };
    assert!(n.is("urn:b", "c"));
}

#[test]
fn declared_encodings_are_decoded_or_refused_by_name() {
    if !tool("iconv") || !tool("xmllint") {
        return;
    }
    let text =
        "Citt\u{e0} di Forl\u{ec}: \u{e8}\u{e9}\u{f2}\u{f9} \u{c0}\u{c9} \u{ab}ok\u{bb} \u{b0}";
    for label in ["ISO-8859-1", "latin1"] {
        let doc =
            format!("<?xml version=\"1.0\" encoding=\"{label}\"?>\n<d n=\"{text}\">{text}</d>");
        let bytes = iconv(&doc, "ISO-8859-1");
        assert_ne!(bytes, doc.as_bytes(), "iconv must have re-encoded");
        let (t, _) = stream_read(&bytes).expect("latin1 stream");
        assert_eq!(t, text);
        assert_eq!(t, xmllint_string(&bytes));
        let d = Document::parse(&bytes).expect("latin1 tree");
        assert_eq!(d.root().text(), text);
        assert_eq!(d.root().attr("n"), Some(text));
    }
    let euro = "\u{20ac} 12,50 \u{2013} \u{201c}saldo\u{201d} \u{e0}";
    let doc = format!("<?xml version='1.0' encoding='windows-1252'?><d>{euro}</d>");
    let bytes = iconv(&doc, "WINDOWS-1252");
    let (t, _) = stream_read(&bytes).expect("1252 stream");
    assert_eq!(t, euro);
    assert_eq!(t, xmllint_string(&bytes));
    assert_eq!(
        Document::parse(&bytes).expect("1252 tree").root().text(),
        euro
    );

    // A byte windows-1252 does not define: iconv refuses it too.
    let undefined = b"<?xml version='1.0' encoding='windows-1252'?><d>\x81</d>";
    let mut c = Command::new("iconv")
        .args(["-f", "WINDOWS-1252", "-t", "UTF-8"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("iconv");
    c.stdin
        .take()
        .expect("stdin")
        .write_all(undefined)
        .expect("write");
    assert!(!c.wait().expect("iconv").success(), "iconv decoded 0x81");
    let want = ParseErrorKind::Undecodable {
        encoding: "windows-1252".into(),
        byte: 0x81,
    };
    assert_eq!(stream_kind(undefined), want);
    assert_eq!(Document::parse(undefined).expect_err("tree").kind, want);

    // Latin-1 bytes in a document that says (or defaults to) UTF-8.
    let latin = iconv("<d>Forl\u{ec}</d>", "ISO-8859-1");
    assert_eq!(stream_kind(&latin), ParseErrorKind::NotUtf8);
    assert_eq!(
        Document::parse(&latin).expect_err("tree").kind,
        ParseErrorKind::NotUtf8
    );

    // UTF-16 (made by iconv, with its byte-order mark) and unknown names are refused by name.
    let utf16 = iconv("<?xml version=\"1.0\" encoding=\"UTF-16\"?><d/>", "UTF-16");
    assert!(matches!(
        stream_kind(&utf16),
        ParseErrorKind::UnsupportedEncoding(n) if n.starts_with("UTF-16")
    ));
    for name in ["KOI8-R", "EBCDIC-CP-IT", "UTF-16"] {
        let doc = format!("<?xml version='1.0' encoding='{name}'?><d/>");
        let want = ParseErrorKind::UnsupportedEncoding(name.into());
        assert_eq!(stream_kind(doc.as_bytes()), want);
        assert_eq!(
            Document::parse(doc.as_bytes()).expect_err("tree").kind,
            want
        );
        assert!(want.to_string().contains(name));
    }
}

#[test]
fn stream_and_tree_read_the_same_text() {
    let xml = b"<?xml version=\"1.0\"?>\r\n<r xmlns=\"urn:r\"><a>one &amp; two\r\nthree</a><b><![CDATA[<x>]]>&#x263A;</b><c/></r>";
    let (text, names) = stream_read(xml).expect("stream");
    let d = Document::parse(xml).expect("tree");
    assert_eq!(text, d.root().text_deep());
    let tree_names: Vec<_> = std::iter::once(d.root())
        .chain(d.root().descendants())
        .map(|e| e.local_name().to_owned())
        .collect();
    assert_eq!(names, tree_names);
}

#[test]
fn a_reader_over_a_slow_source_sees_the_same_events() {
    // One byte per read: every token crosses buffer boundaries, the declaration included.
    struct Slow<'a>(&'a [u8]);
    impl std::io::Read for Slow<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.0.is_empty() || out.is_empty() {
                return Ok(0);
            }
            out[0] = self.0[0];
            self.0 = &self.0[1..];
            Ok(1)
        }
    }
    let xml = b"<?xml version='1.0' encoding='ISO-8859-1'?>\n<r a='\xe8'>\n <x>caf\xe9 &amp; t\xe8</x>\n <y/>\n</r>";
    let slow = std::io::BufReader::with_capacity(1, Slow(xml));
    let mut r = Reader::new(slow);
    let mut text = String::new();
    let mut lines = Vec::new();
    loop {
        match r.next().expect("slow") {
            Event::Start(s) => lines.push((s.name().local.to_owned(), r.position().line)),
            Event::Text(t) => text.push_str(t),
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(text, "\n caf\u{e9} & t\u{e8}\n \n");
    assert_eq!(
        lines,
        [
            ("r".to_owned(), 2),
            ("x".to_owned(), 3),
            ("y".to_owned(), 4)
        ]
    );
}

/// A source that hands out at most `n` bytes per read, so that tokens cross buffer ends.
struct Chunked<'a>(&'a [u8], usize);

impl std::io::Read for Chunked<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.len().min(out.len()).min(self.1);
        out[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}

/// Every event of the stream reader in a compact notation.
fn stream_events<R: std::io::BufRead>(r: R) -> Result<Vec<String>, xmldsig::ParseError> {
    let mut r = Reader::new(r);
    let mut v = Vec::new();
    loop {
        match r.next()? {
            Event::Start(s) => {
                let n = s.name();
                let mut e = format!("<{{{}}}{}", n.namespace, n.local);
                for a in s.attributes() {
                    e.push_str(&format!(
                        " {{{}}}{}={:?}",
                        a.namespace, a.local_name, a.value
                    ));
                }
                v.push(e);
            }
            Event::End(n) => v.push(format!("</{{{}}}{}", n.namespace, n.local)),
            Event::Text(t) => v.push(format!("t:{t:?}")),
            Event::Comment(c) => v.push(format!("c:{c:?}")),
            Event::ProcessingInstruction { target, data } => {
                v.push(format!("pi:{target}:{data:?}"))
            }
            Event::Eof => return Ok(v),
            _ => {}
        }
    }
}

/// The same notation from the tree parser's document.
fn tree_events(doc: &Document) -> Vec<String> {
    fn walk(n: xmldsig::Node<'_>, v: &mut Vec<String>) {
        match n.kind() {
            xmldsig::NodeKind::Element(e) => {
                let mut s = format!("<{{{}}}{}", e.namespace(), e.local_name());
                for a in e.attributes() {
                    s.push_str(&format!(
                        " {{{}}}{}={:?}",
                        a.namespace, a.local_name, a.value
                    ));
                }
                v.push(s);
                for c in e.children() {
                    walk(c, v);
                }
                v.push(format!("</{{{}}}{}", e.namespace(), e.local_name()));
            }
            xmldsig::NodeKind::Text(t) => v.push(format!("t:{t:?}")),
            xmldsig::NodeKind::Comment(c) => v.push(format!("c:{c:?}")),
            xmldsig::NodeKind::ProcessingInstruction { target, data } => {
                v.push(format!("pi:{target}:{data:?}"))
            }
            _ => {}
        }
    }
    let mut v = Vec::new();
    for n in doc.children() {
        walk(n, &mut v);
    }
    v
}

/// The tree parser (itself checked against libxml2 on the same mutants) as the reference:
/// the stream reader accepts the same documents (the tree also refuses duplicate IDs), reports
/// the same elements, attributes, text, comments and processing instructions, and does so
/// whatever the input's buffer boundaries.
#[test]
fn stream_and_tree_agree_on_corpus_mutants_at_any_buffer_size() {
    let cases = crate::wellformed_lxml::corpus_and_mutants();
    let (mut both, mut compared) = (0, 0);
    for case in &cases {
        let tree = Document::parse(case);
        let stream = stream_events(case.as_slice());
        for n in [1, 3, 7, 64] {
            let chunked = stream_events(std::io::BufReader::with_capacity(n, Chunked(case, n)));
            assert_eq!(
                chunked.as_ref().map_err(|e| e.kind.clone()),
                stream.as_ref().map_err(|e| e.kind.clone()),
                "buffer {n}: {:?}",
                String::from_utf8_lossy(case)
            );
        }
        match (&tree, &stream) {
            (Ok(d), Ok(events)) => {
                both += 1;
                assert_eq!(
                    events,
                    &tree_events(d),
                    "{:?}",
                    String::from_utf8_lossy(case)
                );
                compared += 1;
            }
            (Err(_), Err(_)) => {}
            (Err(e), Ok(_)) => assert!(
                matches!(e.kind, ParseErrorKind::DuplicateId { .. }),
                "tree refuses ({e}), stream accepts: {:?}",
                String::from_utf8_lossy(case)
            ),
            (Ok(_), Err(e)) => panic!(
                "tree accepts, stream refuses ({e}): {:?}",
                String::from_utf8_lossy(case)
            ),
        }
    }
    assert!(
        compared > cases.len() / 10,
        "{both} of {} accepted",
        cases.len()
    );
}

#[test]
fn an_external_doctype_is_skipped_only_when_allowed_and_never_with_a_subset() {
    let skip = StreamOptions::default().with_external_doctype_skipped(true);
    let read = |xml: &[u8], opts: StreamOptions| -> Result<Vec<String>, ParseErrorKind> {
        let mut r = Reader::with_options(xml, opts);
        let mut names = Vec::new();
        loop {
            match r.next().map_err(|e| e.kind)? {
                Event::Start(s) => names.push(s.name().local.to_owned()),
                Event::Eof => return Ok(names),
                _ => {}
            }
        }
    };
    let external =
        b"<?xml version=\"1.0\"?>\n<!DOCTYPE Segnatura SYSTEM \"Segnatura.dtd\">\n<Segnatura/>";
    assert_eq!(
        read(external, skip.clone()),
        Ok(vec!["Segnatura".to_owned()])
    );
    assert_eq!(
        read(external, StreamOptions::default()),
        Err(ParseErrorKind::Doctype)
    );
    // An internal subset declares entities: refused even when external ones are skipped.
    for bad in [
        LAUGHS.as_bytes(),
        XXE.as_bytes(),
        b"<!DOCTYPE a SYSTEM \"a.dtd\" [<!ENTITY e 'x'>]><a>&e;</a>",
        b"<!DOCTYPE a SYSTEM \"a.dtd\"><!DOCTYPE a SYSTEM \"b.dtd\"><a/>",
        b"<a/><!DOCTYPE a SYSTEM \"a.dtd\">",
    ] {
        assert_eq!(
            read(bad, skip.clone()),
            Err(ParseErrorKind::Doctype),
            "{}",
            String::from_utf8_lossy(bad)
        );
    }
    // A '[' inside a quoted system literal is not a subset.
    assert!(read(b"<!DOCTYPE a SYSTEM \"x[1].dtd\"><a/>", skip).is_ok());
}
