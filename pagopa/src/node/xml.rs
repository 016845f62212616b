//! SOAP messages as a small bounded tree read by the shared hardened reader
//! ([`xmldsig::stream`]: no DTD, limits, namespaces, declared encodings), and writing helpers.

use std::fmt::Write as _;

use xmldsig::ParseErrorKind;
use xmldsig::stream::{Event, Reader, StreamOptions};

/// Maximum nesting depth accepted in a message.
pub(crate) const MAX_DEPTH: usize = 32;
/// Maximum number of elements accepted in a message.
pub(crate) const MAX_ELEMENTS: usize = 10_000;

/// An element of the parsed tree: namespace, local name, text and children.
#[derive(Debug, Clone)]
pub(crate) struct Element {
    pub(crate) ns: Option<String>,
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) children: Vec<Element>,
    /// Byte range of the element in the input (start tag to end tag).
    pub(crate) span: (usize, usize),
}

/// Why an XML document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    /// Not well-formed XML.
    #[error("malformed XML at byte {position}: {message}")]
    Malformed {
        /// Byte offset in the input.
        position: u64,
        /// What the XML reader reported.
        message: String,
    },
    /// A document type declaration (DTD) was present; DTDs are refused.
    #[error("DTDs are not allowed (byte {position})")]
    Dtd {
        /// Byte offset in the input.
        position: u64,
    },
    /// An entity reference other than the five predefined ones or a character reference.
    #[error("unknown entity &{name}; at byte {position}")]
    UnknownEntity {
        /// The entity name.
        name: String,
        /// Byte offset in the input.
        position: u64,
    },
    /// Nesting deeper than the limit.
    #[error("nesting deeper than {MAX_DEPTH} levels")]
    TooDeep,
    /// More elements than the limit.
    #[error("more than {MAX_ELEMENTS} elements")]
    TooManyElements,
    /// No root element.
    #[error("no root element")]
    NoRoot,
    /// Text outside the root element or a second root element.
    #[error("content after the root element")]
    TrailingContent,
}

fn malformed(pos: u64, e: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed {
        position: pos,
        message: e.to_string(),
    }
}

/// The shared reader's error as an [`XmlError`] (`position` = byte offset of the event).
pub(crate) fn from_stream(position: u64, e: xmldsig::ParseError) -> XmlError {
    match e.kind {
        ParseErrorKind::Doctype => XmlError::Dtd { position },
        ParseErrorKind::UnknownEntity(name) => XmlError::UnknownEntity {
            name: name.chars().take(64).collect(),
            position,
        },
        ParseErrorKind::TooDeep { .. } => XmlError::TooDeep,
        ParseErrorKind::TooManyElements { .. } => XmlError::TooManyElements,
        ParseErrorKind::NoRoot => XmlError::NoRoot,
        ParseErrorKind::OutsideRoot(_) => XmlError::TrailingContent,
        _ => malformed(position, e),
    }
}

/// Parses `input` into a tree of elements (text of mixed content is concatenated; leading and
/// trailing whitespace of each element's text is trimmed), with the shared hardened reader.
pub(crate) fn parse(input: &[u8]) -> Result<Element, XmlError> {
    let opts = StreamOptions::default()
        .with_max_depth(MAX_DEPTH)
        .with_max_elements(MAX_ELEMENTS as u64);
    let mut reader = Reader::with_options(input, opts);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let ev = match reader.next() {
            Ok(ev) => ev,
            Err(e) => return Err(from_stream(reader.offset(), e)),
        };
        match ev {
            Event::Start(s) => {
                let n = s.name();
                stack.push(Element {
                    ns: (!n.namespace.is_empty()).then(|| n.namespace.to_owned()),
                    name: n.local.to_owned(),
                    text: String::new(),
                    children: Vec::new(),
                    span: (usize::try_from(s.offset()).unwrap_or(usize::MAX), 0),
                });
            }
            Event::End(_) => {
                let mut el = stack
                    .pop()
                    .ok_or_else(|| malformed(reader.offset(), "unexpected end tag"))?;
                el.span.1 = usize::try_from(reader.end_offset()).unwrap_or(usize::MAX);
                let trimmed = el.text.trim_matches(is_xml_space);
                if trimmed.len() != el.text.len() {
                    el.text = trimmed.to_owned();
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(t);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    root.ok_or(XmlError::NoRoot)
}

/// XML whitespace (only these four; other Unicode spaces are data).
pub(crate) fn is_xml_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Appends `text` escaped for element content.
pub(crate) fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

/// Appends `<name>text</name>`.
pub(crate) fn leaf(out: &mut String, name: &str, text: &str) {
    let _ = write!(out, "<{name}>");
    push_escaped(out, text);
    let _ = write!(out, "</{name}>");
}

/// Appends `<name>text</name>` when `text` is present.
pub(crate) fn opt_leaf(out: &mut String, name: &str, text: Option<&str>) {
    if let Some(t) = text {
        leaf(out, name, t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_namespaces_and_entities() {
        let x = br#"<?xml version="1.0"?><a:r xmlns:a="urn:x"><b>1 &amp; 2 &#233;</b><c/></a:r>"#;
        let e = parse(x).unwrap();
        assert_eq!(e.ns.as_deref(), Some("urn:x"));
        assert_eq!(e.children[0].text, "1 & 2 \u{e9}");
        assert_eq!(e.children[1].name, "c");
        assert_eq!(&x[e.span.0..e.span.1], &x[21..]);
    }

    #[test]
    fn refuses_dtd_and_unknown_entities() {
        let x = br#"<!DOCTYPE r [<!ENTITY x "boom">]><r>&x;</r>"#;
        assert!(matches!(parse(x), Err(XmlError::Dtd { .. })));
        assert!(matches!(
            parse(b"<r>&x;</r>"),
            Err(XmlError::UnknownEntity { .. })
        ));
    }

    #[test]
    fn bounds_depth() {
        let mut s = String::new();
        for _ in 0..40 {
            s.push_str("<a>");
        }
        for _ in 0..40 {
            s.push_str("</a>");
        }
        assert_eq!(parse(s.as_bytes()).unwrap_err(), XmlError::TooDeep);
    }

    #[test]
    fn rejects_malformed() {
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"<a>").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(b"<a/><b/>").is_err());
    }
}
