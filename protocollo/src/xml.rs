//! A small, hardened, namespace-aware XML tree and an escaping writer.
//!
//! The reader refuses DTDs (hence external and internal entities), bounds the input size and the
//! nesting depth, resolves only the five predefined entities and character references, and keeps
//! every element's namespace URI and local name.

use quick_xml::NsReader;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;

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
    let mut reader = NsReader::from_str(input);
    reader.config_mut().check_end_names = true;
    reader.config_mut().expand_empty_elements = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let pos = reader.buffer_position();
        let (res, ev) = match reader.read_resolved_event() {
            Ok(x) => x,
            Err(e) => {
                return Err(XmlError::Syntax {
                    position: pos,
                    message: e.to_string(),
                });
            }
        };
        let ns = match res {
            ResolveResult::Bound(ns) => Some(String::from_utf8_lossy(ns.as_ref()).into_owned()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(p) => {
                return Err(XmlError::UnknownPrefix {
                    position: pos,
                    prefix: String::from_utf8_lossy(&p).into_owned(),
                });
            }
        };
        match ev {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(XmlError::TooDeep { limit: MAX_DEPTH });
                }
                if root.is_some() {
                    return Err(XmlError::Syntax {
                        position: pos,
                        message: "content after the root element".into(),
                    });
                }
                let name = utf8(e.local_name().as_ref(), pos)?;
                let mut attrs = Vec::new();
                for a in e.attributes() {
                    let a = a.map_err(|err| XmlError::Syntax {
                        position: pos,
                        message: err.to_string(),
                    })?;
                    let key = a.key;
                    if key.as_ref() == b"xmlns" || key.as_ref().starts_with(b"xmlns:") {
                        continue;
                    }
                    let (ares, local) = reader.resolve_attribute(key);
                    let ans = match ares {
                        ResolveResult::Bound(ns) => {
                            Some(String::from_utf8_lossy(ns.as_ref()).into_owned())
                        }
                        ResolveResult::Unbound => None,
                        ResolveResult::Unknown(p) => {
                            return Err(XmlError::UnknownPrefix {
                                position: pos,
                                prefix: String::from_utf8_lossy(&p).into_owned(),
                            });
                        }
                    };
                    let value = a.unescape_value().map_err(|err| XmlError::Syntax {
                        position: pos,
                        message: err.to_string(),
                    })?;
                    attrs.push(Attr {
                        ns: ans,
                        name: utf8(local.as_ref(), pos)?,
                        value: value.into_owned(),
                    });
                }
                stack.push(Element {
                    ns,
                    name,
                    attrs,
                    children: Vec::new(),
                    pos,
                });
            }
            Event::End(_) => {
                let el = stack.pop().ok_or(XmlError::Syntax {
                    position: pos,
                    message: "unbalanced end tag".into(),
                })?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Element(el)),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                let s = t.xml10_content().map_err(|err| XmlError::Syntax {
                    position: pos,
                    message: err.to_string(),
                })?;
                push_text(&mut stack, &s, pos)?;
            }
            Event::CData(t) => {
                let s = t.xml10_content().map_err(|err| XmlError::Syntax {
                    position: pos,
                    message: err.to_string(),
                })?;
                push_text(&mut stack, &s, pos)?;
            }
            Event::GeneralRef(r) => {
                let s = if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => {
                            return Err(XmlError::Syntax {
                                position: pos,
                                message: "invalid character reference".into(),
                            });
                        }
                    }
                } else {
                    match r.as_ref() {
                        b"amp" => "&".into(),
                        b"lt" => "<".into(),
                        b"gt" => ">".into(),
                        b"quot" => "\"".into(),
                        b"apos" => "'".into(),
                        other => {
                            return Err(XmlError::Entity {
                                position: pos,
                                name: String::from_utf8_lossy(other).into_owned(),
                            });
                        }
                    }
                };
                push_text(&mut stack, &s, pos)?;
            }
            Event::DocType(d) => {
                if !allow_external_doctype || d.as_ref().contains(&b'[') || root.is_some() {
                    return Err(XmlError::Dtd { position: pos });
                }
            }
            Event::Empty(_) => {
                // expand_empty_elements is on: never produced.
                return Err(XmlError::Syntax {
                    position: pos,
                    message: "unexpected empty element event".into(),
                });
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(XmlError::Syntax {
            position: input.len() as u64,
            message: "document ends inside an element".into(),
        });
    }
    root.ok_or(XmlError::Syntax {
        position: 0,
        message: "no root element".into(),
    })
}

fn push_text(stack: &mut [Element], s: &str, pos: u64) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(parent) => {
            if let Some(Node::Text(prev)) = parent.children.last_mut() {
                prev.push_str(s);
            } else {
                parent.children.push(Node::Text(s.to_owned()));
            }
            Ok(())
        }
        None if s.trim().is_empty() => Ok(()),
        None => Err(XmlError::Syntax {
            position: pos,
            message: "text outside the root element".into(),
        }),
    }
}

fn utf8(b: &[u8], pos: u64) -> Result<String, XmlError> {
    std::str::from_utf8(b)
        .map(str::to_owned)
        .map_err(|_| XmlError::Syntax {
            position: pos,
            message: "name is not UTF-8".into(),
        })
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
