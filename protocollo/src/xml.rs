//! A small, hardened, namespace-aware XML tree and an escaping writer.
//!
//! The tree is built from the events of the shared hardened reader ([`xmldsig::stream`]), which
//! refuses DTDs (hence external and internal entities), bounds the input size and the nesting
//! depth, resolves only the five predefined entities and character references, and resolves
//! every element's and attribute's namespace. This module keeps only the mapping to the tree.

use xmldsig::ParseErrorKind;
use xmldsig::stream::{Event, Reader, StreamOptions};

use crate::error::XmlError;

/// Largest document accepted (bytes).
pub(crate) const MAX_INPUT: usize = 16 * 1024 * 1024;
/// Deepest element nesting accepted.
pub(crate) const MAX_DEPTH: usize = 64;

/// A parsed element: namespace, local name, attributes and children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Element {
    pub(crate) ns: Option<String>,
    pub(crate) name: String,
    pub(crate) attrs: Vec<Attr>,
    pub(crate) children: Vec<Node>,
    /// Byte offset of the start tag in the input.
    pub(crate) pos: u64,
}

/// A parsed attribute (namespace only when the attribute name is prefixed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attr {
    pub(crate) ns: Option<String>,
    pub(crate) name: String,
    pub(crate) value: String,
}

/// Element content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Node {
    Element(Element),
    Text(String),
}

impl Element {
    /// Child elements, in order.
    pub(crate) fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// Concatenated text content of this element (direct text children only).
    pub(crate) fn text(&self) -> String {
        let mut s = String::new();
        for n in &self.children {
            if let Node::Text(t) = n {
                s.push_str(t);
            }
        }
        s
    }

    /// True when this element is `{ns}name`.
    pub(crate) fn is(&self, ns: &str, name: &str) -> bool {
        self.name == name && self.ns.as_deref() == Some(ns)
    }

    /// Attribute value by namespace (None = unprefixed) and local name.
    pub(crate) fn attr(&self, ns: Option<&str>, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name == name && a.ns.as_deref() == ns)
            .map(|a| a.value.as_str())
    }
}

/// Parses a whole document into its root element (any DOCTYPE refused).
pub(crate) fn parse(input: &str) -> Result<Element, XmlError> {
    parse_with(input, false)
}

/// Parses a whole document; with `allow_external_doctype`, a DOCTYPE without internal subset
/// (`<!DOCTYPE Segnatura SYSTEM "Segnatura.dtd">`) is skipped, never loaded. A DOCTYPE with an
/// internal subset (`[...]`, where entities are declared) is always refused.
pub(crate) fn parse_with(input: &str, allow_external_doctype: bool) -> Result<Element, XmlError> {
    if input.len() > MAX_INPUT {
        return Err(XmlError::TooLarge { limit: MAX_INPUT });
    }
    let opts = StreamOptions::default()
        .with_max_size(MAX_INPUT as u64)
        .with_max_depth(MAX_DEPTH)
        .with_external_doctype_skipped(allow_external_doctype);
    let mut reader = Reader::with_options(input.as_bytes(), opts);
    let mut stack: Vec<Element> = Vec::new();
    loop {
        let ev = match reader.next() {
            Ok(ev) => ev,
            Err(e) => return Err(xml_error(reader.offset(), e)),
        };
        match ev {
            Event::Start(s) => {
                let n = s.name();
                let attrs = s
                    .attributes()
                    .map(|a| Attr {
                        ns: (!a.namespace.is_empty()).then(|| a.namespace.to_owned()),
                        name: a.local_name.to_owned(),
                        value: a.value.to_owned(),
                    })
                    .collect();
                stack.push(Element {
                    ns: (!n.namespace.is_empty()).then(|| n.namespace.to_owned()),
                    name: n.local.to_owned(),
                    attrs,
                    children: Vec::new(),
                    pos: s.offset(),
                });
            }
            Event::End(_) => {
                let Some(el) = stack.pop() else {
                    return Err(XmlError::Syntax {
                        position: reader.offset(),
                        message: "unbalanced end tag".into(),
                    });
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(el)),
                    // The reader refuses anything but white space, comments and processing
                    // instructions after the root.
                    None => return finish(reader, el),
                }
            }
            Event::Text(t) => {
                if let Some(parent) = stack.last_mut() {
                    if let Some(Node::Text(prev)) = parent.children.last_mut() {
                        prev.push_str(t);
                    } else {
                        parent.children.push(Node::Text(t.to_owned()));
                    }
                }
            }
            Event::Eof => {
                return Err(XmlError::Syntax {
                    position: reader.offset(),
                    message: "no root element".into(),
                });
            }
            _ => {}
        }
    }
}

/// The shared reader's error as this crate's, at byte `position`.
fn xml_error(position: u64, e: xmldsig::ParseError) -> XmlError {
    match e.kind {
        ParseErrorKind::Doctype => XmlError::Dtd { position },
        ParseErrorKind::UnknownEntity(name) => XmlError::Entity { position, name },
        ParseErrorKind::UnboundPrefix(prefix) => XmlError::UnknownPrefix { position, prefix },
        ParseErrorKind::TooDeep { limit } => XmlError::TooDeep { limit },
        ParseErrorKind::TooLarge { limit, .. } => XmlError::TooLarge { limit },
        _ => XmlError::Syntax {
            position,
            message: e.to_string(),
        },
    }
}

/// Reads the rest of the document after the root (the reader checks it) and returns the root.
fn finish(mut reader: Reader<&[u8]>, root: Element) -> Result<Element, XmlError> {
    loop {
        match reader.next() {
            Ok(Event::Eof) => return Ok(root),
            Ok(_) => {}
            Err(e) => return Err(xml_error(reader.offset(), e)),
        }
    }
}

/// Escapes text content.
pub(crate) fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
}

/// Escapes an attribute value (double-quoted).
pub(crate) fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
}

/// A minimal XML writer producing compact, prefixed, escaped output.
pub(crate) struct Writer {
    pub(crate) out: String,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Writer {
            out: String::with_capacity(4096),
        }
    }

    /// `<name a="v" ...>` (attributes given as already-qualified names).
    pub(crate) fn open(&mut self, name: &str, attrs: &[(&str, &str)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            escape_attr(v, &mut self.out);
            self.out.push('"');
        }
        self.out.push('>');
    }

    pub(crate) fn close(&mut self, name: &str) {
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// `<name attrs>text</name>`.
    pub(crate) fn leaf(&mut self, name: &str, attrs: &[(&str, &str)], text: &str) {
        self.open(name, attrs);
        escape_text(text, &mut self.out);
        self.close(name);
    }

    /// Optional leaf without attributes.
    pub(crate) fn opt_leaf(&mut self, name: &str, text: Option<&str>) {
        if let Some(t) = text {
            self.leaf(name, &[], t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_dtd() {
        let x = "<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY e \"boom\">]><a>&e;</a>";
        assert!(matches!(parse(x), Err(XmlError::Dtd { .. })));
    }

    #[test]
    fn refuses_unknown_entity() {
        assert!(matches!(parse("<a>&e;</a>"), Err(XmlError::Entity { .. })));
    }

    #[test]
    fn refuses_deep_nesting() {
        let x = "<a>".repeat(100) + &"</a>".repeat(100);
        assert!(matches!(parse(&x), Err(XmlError::TooDeep { .. })));
    }

    #[test]
    fn resolves_namespaces_and_refs() {
        let x = r#"<p:a xmlns:p="urn:x" p:k="1 &amp; 2"><p:b>x &lt; &#65;</p:b></p:a>"#;
        let e = parse(x).unwrap();
        assert!(e.is("urn:x", "a"));
        assert_eq!(e.attr(Some("urn:x"), "k"), Some("1 & 2"));
        assert_eq!(e.elements().next().unwrap().text(), "x < A");
    }

    #[test]
    fn refuses_trailing_root() {
        assert!(parse("<a/><b/>").is_err());
        assert!(parse("<a>").is_err());
        assert!(parse("").is_err());
    }
}
