//! Hardened XML parser producing an immutable arena tree.

use std::collections::HashMap;
use std::fmt;

use quick_xml::events::Event;

use crate::encoding::Encoding;
use crate::error::{ParseError, ParseErrorKind};

/// Namespace URI bound to the reserved `xml` prefix.
pub const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
pub(crate) const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";
const NONE: u32 = u32::MAX;

/// Limits and switches for [`Document::parse_with`].
///
/// The defaults are safe for untrusted input of the size SAML, OPI and segnatura documents have.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParseOptions {
    /// Maximum input size in bytes (default 32 MiB; at most 4 GiB - 1).
    pub max_size: usize,
    /// Maximum element nesting depth (default 128).
    pub max_depth: usize,
    /// Maximum number of elements in the document (default 1,000,000).
    pub max_elements: usize,
    /// Maximum number of attributes (namespace declarations included) on one element (default 256).
    pub max_attributes: usize,
    /// Longest element or attribute name, prefix included, in bytes (default 1024).
    pub max_name_len: usize,
    /// Unprefixed attribute names treated as IDs (default `ID`, `Id`, `id`). `xml:id` is
    /// always an ID. A value used twice is a parse error.
    pub id_attributes: Vec<String>,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_size: 32 * 1024 * 1024,
            max_depth: 128,
            max_elements: 1_000_000,
            max_attributes: 256,
            max_name_len: 1024,
            id_attributes: vec!["ID".into(), "Id".into(), "id".into()],
        }
    }
}

impl ParseOptions {
    /// Replaces the list of ID attribute names.
    #[must_use]
    pub fn with_id_attributes<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.id_attributes = names.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the maximum input size in bytes.
    #[must_use]
    pub fn with_max_size(mut self, max: usize) -> Self {
        self.max_size = max;
        self
    }

    /// Sets the maximum nesting depth.
    #[must_use]
    pub fn with_max_depth(mut self, max: usize) -> Self {
        self.max_depth = max;
        self
    }

    /// Sets the maximum number of elements.
    #[must_use]
    pub fn with_max_elements(mut self, max: usize) -> Self {
        self.max_elements = max;
        self
    }

    /// Sets the maximum number of attributes per element.
    #[must_use]
    pub fn with_max_attributes(mut self, max: usize) -> Self {
        self.max_attributes = max;
        self
    }

    /// Sets the longest accepted element or attribute name.
    #[must_use]
    pub fn with_max_name_len(mut self, max: usize) -> Self {
        self.max_name_len = max;
        self
    }
}

/// Identifier of a node in a [`Document`]. Only meaningful for the document that produced it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(pub(crate) u32);

impl NodeId {
    /// The document node (parent of the root element).
    pub const DOCUMENT: NodeId = NodeId(0);
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: u32,
    pub(crate) len: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Document,
    Element,
    Text,
    Comment,
    Pi,
}

#[derive(Debug, Clone)]
pub(crate) struct NodeData {
    pub(crate) kind: Kind,
    pub(crate) parent: u32,
    pub(crate) first_child: u32,
    pub(crate) last_child: u32,
    pub(crate) next_sibling: u32,
    pub(crate) prev_sibling: u32,
    /// Element: prefix. Text/comment: content. PI: target.
    pub(crate) a: Span,
    /// Element: local name. PI: data.
    pub(crate) b: Span,
    /// Element: namespace URI (empty = none).
    pub(crate) ns: Span,
    pub(crate) attrs: (u32, u32),
    pub(crate) ns_decls: (u32, u32),
    /// Source byte offsets: start of the node (`<` for elements).
    pub(crate) src_start: u32,
    /// Element: offset just after the start tag's `>`.
    pub(crate) start_tag_end: u32,
    /// Element: offset of the end tag's `<` (equal to `start_tag_end` for `<a/>`).
    pub(crate) end_tag_start: u32,
    /// Element: offset just after the end tag (or after `/>`).
    pub(crate) src_end: u32,
    pub(crate) self_closing: bool,
}

impl NodeData {
    fn new(kind: Kind, parent: u32, src_start: u32) -> Self {
        NodeData {
            kind,
            parent,
            first_child: NONE,
            last_child: NONE,
            next_sibling: NONE,
            prev_sibling: NONE,
            a: Span::default(),
            b: Span::default(),
            ns: Span::default(),
            attrs: (0, 0),
            ns_decls: (0, 0),
            src_start,
            start_tag_end: src_start,
            end_tag_start: src_start,
            src_end: src_start,
            self_closing: false,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct AttrData {
    pub(crate) prefix: Span,
    pub(crate) local: Span,
    pub(crate) ns: Span,
    pub(crate) value: Span,
    /// The value has none of the characters C14N escapes in attributes (`&`, `<`, `"`, tab,
    /// LF, CR), so it can be written as it is.
    pub(crate) plain: bool,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct NsDecl {
    /// Empty = default namespace.
    pub(crate) prefix: Span,
    /// Empty = undeclaration of the default namespace.
    pub(crate) uri: Span,
}

/// A parsed, immutable XML document.
///
/// Built by [`Document::parse`]; navigated through [`Element`] handles. Comments and processing
/// instructions are kept, entity and character references are resolved, line endings are
/// normalized as XML requires, and every element knows its resolved namespace, its in-scope
/// namespace declarations and its position in the source.
#[derive(Clone)]
pub struct Document {
    pub(crate) buf: String,
    pub(crate) nodes: Vec<NodeData>,
    pub(crate) attrs: Vec<AttrData>,
    pub(crate) ns_decls: Vec<NsDecl>,
    pub(crate) ids: HashMap<String, u32>,
    pub(crate) line_starts: Vec<u32>,
    pub(crate) root: u32,
}

impl fmt::Debug for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document")
            .field("nodes", &self.nodes.len())
            .field("root", &self.root().qname())
            .finish_non_exhaustive()
    }
}

/// A position in the source document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    /// 1-based line.
    pub line: u32,
    /// 1-based column, counted in bytes.
    pub column: u32,
    /// 0-based byte offset.
    pub offset: u32,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

fn line_starts(input: &[u8]) -> Vec<u32> {
    let mut v = Vec::with_capacity(input.len() / 64 + 1);
    v.push(0);
    v.extend(memchr::memchr_iter(b'\n', input).map(|i| i as u32 + 1));
    v
}

fn position_in(line_starts: &[u32], offset: u32) -> Position {
    let idx = match line_starts.binary_search(&offset) {
        Ok(i) => i,
        Err(i) => i.saturating_sub(1),
    };
    let start = line_starts.get(idx).copied().unwrap_or(0);
    Position {
        line: idx as u32 + 1,
        column: offset - start + 1,
        offset,
    }
}

fn position_of(input: &[u8], offset: usize) -> (u32, u32) {
    let offset = offset.min(input.len());
    let before = &input[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
    let col = match before.iter().rposition(|&b| b == b'\n') {
        Some(p) => offset - p,
        None => offset + 1,
    };
    (line, col as u32)
}

impl Document {
    /// Parses `input` with the default [`ParseOptions`].
    ///
    /// # Errors
    /// [`ParseError`] with line and column when the input is not well-formed XML, has a
    /// DOCTYPE, is not UTF-8, breaks a limit, or repeats an ID value.
    pub fn parse(input: &[u8]) -> Result<Document, ParseError> {
        Document::parse_with(input, &ParseOptions::default())
    }

    /// Parses `input` with the given options.
    ///
    /// # Errors
    /// As [`Document::parse`].
    pub fn parse_with(input: &[u8], opts: &ParseOptions) -> Result<Document, ParseError> {
        Parser::run(input, opts)
    }

    /// The root element.
    pub fn root(&self) -> Element<'_> {
        Element {
            doc: self,
            id: self.root,
        }
    }

    /// The element with the given ID value (see [`ParseOptions::id_attributes`]).
    pub fn element_by_id(&self, id: &str) -> Option<Element<'_>> {
        self.ids.get(id).map(|&n| Element { doc: self, id: n })
    }

    /// Handle to the element `id`, if `id` is an element of this document.
    pub fn element(&self, id: NodeId) -> Option<Element<'_>> {
        match self.nodes.get(id.0 as usize) {
            Some(n) if n.kind == Kind::Element => Some(Element {
                doc: self,
                id: id.0,
            }),
            _ => None,
        }
    }

    /// Handle to any node.
    pub fn node(&self, id: NodeId) -> Option<Node<'_>> {
        if (id.0 as usize) < self.nodes.len() {
            Some(Node {
                doc: self,
                id: id.0,
            })
        } else {
            None
        }
    }

    /// All elements in document order.
    pub fn elements(&self) -> impl Iterator<Item = Element<'_>> + '_ {
        self.nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.kind == Kind::Element)
            .map(move |(i, _)| Element {
                doc: self,
                id: i as u32,
            })
    }

    /// Every element with the given namespace URI and local name, in document order.
    pub fn find_all<'a>(
        &'a self,
        namespace: &'a str,
        local_name: &'a str,
    ) -> impl Iterator<Item = Element<'a>> + 'a {
        self.elements().filter(move |e| e.is(namespace, local_name))
    }

    /// Children of the document node (root element, top-level comments and PIs).
    pub fn children(&self) -> Children<'_> {
        Children {
            doc: self,
            next: self.nodes[0].first_child,
        }
    }

    /// Source position of a byte offset.
    pub fn position_of_offset(&self, offset: u32) -> Position {
        position_in(&self.line_starts, offset)
    }

    #[inline]
    pub(crate) fn s(&self, span: Span) -> &str {
        let st = span.start as usize;
        self.buf.get(st..st + span.len as usize).unwrap_or("")
    }

    #[inline]
    pub(crate) fn b(&self, span: Span) -> &[u8] {
        let st = span.start as usize;
        self.buf
            .as_bytes()
            .get(st..st + span.len as usize)
            .unwrap_or(&[])
    }

    #[inline]
    pub(crate) fn n(&self, id: u32) -> &NodeData {
        &self.nodes[id as usize]
    }
}

/// Kind of a [`Node`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeKind<'a> {
    /// The document node.
    Document,
    /// An element.
    Element(Element<'a>),
    /// Character data (text and CDATA sections, references resolved).
    Text(&'a str),
    /// A comment (content without `<!--` and `-->`).
    Comment(&'a str),
    /// A processing instruction.
    ProcessingInstruction {
        /// The PI target.
        target: &'a str,
        /// The PI data (may be empty).
        data: &'a str,
    },
}

/// Any node of a document.
#[derive(Clone, Copy)]
pub struct Node<'a> {
    doc: &'a Document,
    id: u32,
}

impl fmt::Debug for Node<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Node({:?})", self.kind())
    }
}

impl PartialEq for Node<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.doc, other.doc) && self.id == other.id
    }
}
impl Eq for Node<'_> {}

impl<'a> Node<'a> {
    /// The node's id.
    pub fn id(&self) -> NodeId {
        NodeId(self.id)
    }

    /// What kind of node this is, with its content.
    pub fn kind(&self) -> NodeKind<'a> {
        let n = self.doc.n(self.id);
        match n.kind {
            Kind::Document => NodeKind::Document,
            Kind::Element => NodeKind::Element(Element {
                doc: self.doc,
                id: self.id,
            }),
            Kind::Text => NodeKind::Text(self.doc.s(n.a)),
            Kind::Comment => NodeKind::Comment(self.doc.s(n.a)),
            Kind::Pi => NodeKind::ProcessingInstruction {
                target: self.doc.s(n.a),
                data: self.doc.s(n.b),
            },
        }
    }

    /// The element, if this node is one.
    pub fn as_element(&self) -> Option<Element<'a>> {
        match self.doc.n(self.id).kind {
            Kind::Element => Some(Element {
                doc: self.doc,
                id: self.id,
            }),
            _ => None,
        }
    }

    /// The text content, if this is a text node.
    pub fn as_text(&self) -> Option<&'a str> {
        let n = self.doc.n(self.id);
        (n.kind == Kind::Text).then(|| self.doc.s(n.a))
    }

    /// Parent node (`None` for the document node).
    pub fn parent(&self) -> Option<Node<'a>> {
        let p = self.doc.n(self.id).parent;
        (p != NONE).then_some(Node {
            doc: self.doc,
            id: p,
        })
    }

    /// Source position where the node starts.
    pub fn position(&self) -> Position {
        self.doc.position_of_offset(self.doc.n(self.id).src_start)
    }
}

/// Iterator over the children of a node.
#[derive(Clone)]
pub struct Children<'a> {
    doc: &'a Document,
    next: u32,
}

impl<'a> Iterator for Children<'a> {
    type Item = Node<'a>;
    fn next(&mut self) -> Option<Node<'a>> {
        if self.next == NONE {
            return None;
        }
        let id = self.next;
        self.next = self.doc.n(id).next_sibling;
        Some(Node { doc: self.doc, id })
    }
}

/// A borrowed handle to an element of a [`Document`].
#[derive(Clone, Copy)]
pub struct Element<'a> {
    pub(crate) doc: &'a Document,
    pub(crate) id: u32,
}

impl PartialEq for Element<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.doc, other.doc) && self.id == other.id
    }
}
impl Eq for Element<'_> {}

impl fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{}> at {}", self.qname(), self.position())
    }
}

/// An attribute of an element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attribute<'a> {
    /// Prefix (empty when none).
    pub prefix: &'a str,
    /// Local name.
    pub local_name: &'a str,
    /// Namespace URI (empty for unprefixed attributes).
    pub namespace: &'a str,
    /// Normalized value, references resolved.
    pub value: &'a str,
}

impl<'a> Element<'a> {
    fn d(&self) -> &'a NodeData {
        self.doc.n(self.id)
    }

    /// The node id of this element.
    pub fn id(&self) -> NodeId {
        NodeId(self.id)
    }

    /// The document this element belongs to.
    pub fn document(&self) -> &'a Document {
        self.doc
    }

    /// As a generic node.
    pub fn as_node(&self) -> Node<'a> {
        Node {
            doc: self.doc,
            id: self.id,
        }
    }

    /// Local name (without prefix).
    pub fn local_name(&self) -> &'a str {
        self.doc.s(self.d().b)
    }

    /// Prefix as written (empty when none).
    pub fn prefix(&self) -> &'a str {
        self.doc.s(self.d().a)
    }

    /// Resolved namespace URI (empty when the element is in no namespace).
    pub fn namespace(&self) -> &'a str {
        self.doc.s(self.d().ns)
    }

    /// Qualified name as written (`prefix:local` or `local`).
    pub fn qname(&self) -> String {
        let p = self.prefix();
        if p.is_empty() {
            self.local_name().to_owned()
        } else {
            format!("{p}:{}", self.local_name())
        }
    }

    /// True when the element has this namespace URI and local name.
    pub fn is(&self, namespace: &str, local_name: &str) -> bool {
        self.local_name() == local_name && self.namespace() == namespace
    }

    /// Source position of the start tag's `<`.
    pub fn position(&self) -> Position {
        self.doc.position_of_offset(self.d().src_start)
    }

    /// Byte range of the whole element (start tag to end tag) in the source.
    pub fn source_range(&self) -> std::ops::Range<usize> {
        let d = self.d();
        d.src_start as usize..d.src_end as usize
    }

    /// Parent element (`None` for the root element).
    pub fn parent(&self) -> Option<Element<'a>> {
        let p = self.d().parent;
        match self.doc.nodes.get(p as usize) {
            Some(n) if n.kind == Kind::Element => Some(Element {
                doc: self.doc,
                id: p,
            }),
            _ => None,
        }
    }

    /// All child nodes.
    pub fn children(&self) -> Children<'a> {
        Children {
            doc: self.doc,
            next: self.d().first_child,
        }
    }

    /// Child elements.
    pub fn child_elements(&self) -> impl Iterator<Item = Element<'a>> + 'a {
        self.children().filter_map(|n| n.as_element())
    }

    /// First child element with this namespace and local name.
    pub fn child(&self, namespace: &str, local_name: &str) -> Option<Element<'a>> {
        self.child_elements().find(|e| e.is(namespace, local_name))
    }

    /// Child elements with this namespace and local name.
    pub fn children_named<'n>(
        &self,
        namespace: &'n str,
        local_name: &'n str,
    ) -> impl Iterator<Item = Element<'a>> + 'n
    where
        'a: 'n,
    {
        self.child_elements()
            .filter(move |e| e.is(namespace, local_name))
    }

    /// All descendant elements in document order (not including `self`).
    pub fn descendants(&self) -> impl Iterator<Item = Element<'a>> + 'a {
        let doc = self.doc;
        let this = self.id;
        let mut cur = this;
        std::iter::from_fn(move || {
            loop {
                let n = doc.n(cur);
                if n.first_child != NONE {
                    cur = n.first_child;
                } else {
                    loop {
                        if cur == this {
                            return None;
                        }
                        let n = doc.n(cur);
                        if n.next_sibling != NONE {
                            cur = n.next_sibling;
                            break;
                        }
                        cur = n.parent;
                    }
                }
                if doc.n(cur).kind == Kind::Element {
                    return Some(Element { doc, id: cur });
                }
            }
        })
    }

    /// True when `self` is `other` or one of its descendants.
    pub fn is_inside(&self, other: &Element<'_>) -> bool {
        if !std::ptr::eq(self.doc, other.doc) {
            return false;
        }
        let mut cur = self.id;
        while cur != NONE {
            if cur == other.id {
                return true;
            }
            cur = self.doc.n(cur).parent;
        }
        false
    }

    /// Attributes (namespace declarations excluded), in source order.
    pub fn attributes(&self) -> impl ExactSizeIterator<Item = Attribute<'a>> + 'a {
        let (s, e) = self.d().attrs;
        let doc = self.doc;
        doc.attrs[s as usize..e as usize]
            .iter()
            .map(move |a| Attribute {
                prefix: doc.s(a.prefix),
                local_name: doc.s(a.local),
                namespace: doc.s(a.ns),
                value: doc.s(a.value),
            })
    }

    /// Value of the unprefixed attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&'a str> {
        self.attr_ns("", name)
    }

    /// Value of the attribute with this namespace URI and local name.
    pub fn attr_ns(&self, namespace: &str, local_name: &str) -> Option<&'a str> {
        self.attributes()
            .find(|a| a.local_name == local_name && a.namespace == namespace)
            .map(|a| a.value)
    }

    /// Namespace declarations written on this element, as `(prefix, uri)` (prefix empty for the
    /// default namespace; uri empty for `xmlns=""`).
    pub fn namespace_declarations(&self) -> impl ExactSizeIterator<Item = (&'a str, &'a str)> + 'a {
        let (s, e) = self.d().ns_decls;
        let doc = self.doc;
        doc.ns_decls[s as usize..e as usize]
            .iter()
            .map(move |d| (doc.s(d.prefix), doc.s(d.uri)))
    }

    /// Namespace bound to `prefix` at this element (`""` = default namespace).
    pub fn lookup_namespace(&self, prefix: &str) -> Option<&'a str> {
        if prefix == "xml" {
            return Some(XML_NS);
        }
        let mut cur = Some(*self);
        while let Some(e) = cur {
            if let Some((_, uri)) = e.namespace_declarations().find(|(p, _)| *p == prefix) {
                return if uri.is_empty() { None } else { Some(uri) };
            }
            cur = e.parent();
        }
        None
    }

    /// All namespace bindings in scope at this element, sorted by prefix (default first).
    pub fn in_scope_namespaces(&self) -> Vec<(&'a str, &'a str)> {
        let mut out: Vec<(&'a str, &'a str)> = Vec::new();
        let mut cur = Some(*self);
        while let Some(e) = cur {
            for (p, u) in e.namespace_declarations() {
                if !out.iter().any(|(q, _)| *q == p) {
                    out.push((p, u));
                }
            }
            cur = e.parent();
        }
        out.retain(|(_, u)| !u.is_empty());
        out.sort_unstable();
        out
    }

    /// Concatenated text of the direct text children.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for c in self.children() {
            if let Some(t) = c.as_text() {
                s.push_str(t);
            }
        }
        s
    }

    /// Concatenated text of all descendant text nodes.
    pub fn text_deep(&self) -> String {
        let mut s = String::new();
        let doc = self.doc;
        let this = self.id;
        let mut stack = vec![this];
        // Depth-first in document order.
        while let Some(id) = stack.pop() {
            let n = doc.n(id);
            if n.kind == Kind::Text {
                s.push_str(doc.s(n.a));
            }
            let mut kids = Vec::new();
            let mut c = n.first_child;
            while c != NONE {
                kids.push(c);
                c = doc.n(c).next_sibling;
            }
            stack.extend(kids.into_iter().rev());
        }
        s
    }

    /// The ID value of this element (first configured ID attribute present), if any.
    pub fn id_value(&self) -> Option<&'a str> {
        self.attributes()
            .map(|a| a.value)
            .find(|v| self.doc.ids.get(*v) == Some(&self.id))
    }
}

// ---------------------------------------------------------------------------------------------
// Parser

struct Parser<'i> {
    input: &'i str,
    opts: &'i ParseOptions,
    doc: Document,
    /// In-scope bindings, innermost last.
    scope: Vec<NsDecl>,
    /// For each open element: (node id, scope length before it).
    open: Vec<(u32, usize)>,
    elements: usize,
    /// Attributes of the current start tag: (value, plain, prefix, local name).
    raw_attrs: Vec<(Span, bool, &'i str, &'i str)>,
    id_first: HashMap<String, u32>,
    /// The whole input has only allowed characters: no per-node character checks needed.
    chars_ok: bool,
    /// The input contains no `]]>` at all: no per-text-node search needed.
    no_cdata_end: bool,
    /// The input contains no CR at all: no line-ending normalization needed anywhere.
    no_cr: bool,
    /// Span of [`XML_NS`] in the buffer, once pushed.
    xml_ns: Option<Span>,
    /// The encoding the input was decoded from.
    encoding: Encoding,
}

fn err(input: &[u8], offset: usize, kind: ParseErrorKind) -> ParseError {
    let (line, column) = position_of(input, offset);
    ParseError { kind, line, column }
}

pub(crate) fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

pub(crate) fn check_chars(s: &str) -> Result<(), ParseErrorKind> {
    // Fast path: only ASCII control characters can be invalid among ASCII; non-ASCII needs
    // a char-level check for U+FFFE/U+FFFF (surrogates cannot occur in a &str).
    let bytes = s.as_bytes();
    let mut flags = 0u8;
    for &b in bytes {
        flags |= u8::from(b < 0x20) | (u8::from(b >= 0x80) << 1);
    }
    if flags & 1 != 0
        && let Some(&b) = bytes
            .iter()
            .find(|&&b| b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r')
    {
        return Err(ParseErrorKind::InvalidChar(u32::from(b)));
    }
    if flags & 2 != 0 && s.chars().any(|c| !is_xml_char(c)) {
        let bad = s.chars().find(|c| !is_xml_char(*c)).map_or(0, |c| c as u32);
        return Err(ParseErrorKind::InvalidChar(bad));
    }
    Ok(())
}

pub(crate) fn resolve_ref(name: &str) -> Result<char, ParseErrorKind> {
    match name {
        "lt" => Ok('<'),
        "gt" => Ok('>'),
        "amp" => Ok('&'),
        "apos" => Ok('\''),
        "quot" => Ok('"'),
        _ => {
            if let Some(num) = name.strip_prefix('#') {
                let v = if let Some(hex) = num.strip_prefix('x') {
                    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                        None
                    } else {
                        u32::from_str_radix(hex, 16).ok()
                    }
                } else if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
                    None
                } else {
                    num.parse::<u32>().ok()
                };
                match v.and_then(char::from_u32) {
                    Some(c) if is_xml_char(c) => Ok(c),
                    _ => Err(ParseErrorKind::InvalidCharRef(name.to_owned())),
                }
            } else {
                Err(ParseErrorKind::UnknownEntity(name.to_owned()))
            }
        }
    }
}

/// Appends `raw` (no references inside) with end-of-line normalization.
pub(crate) fn push_eol(buf: &mut String, raw: &str) {
    if memchr::memchr(b'\r', raw.as_bytes()).is_none() {
        buf.push_str(raw);
        return;
    }
    let mut rest = raw;
    while let Some(p) = rest.find('\r') {
        buf.push_str(&rest[..p]);
        buf.push('\n');
        rest = &rest[p + 1..];
        if rest.starts_with('\n') {
            rest = &rest[1..];
        }
    }
    buf.push_str(rest);
}

/// Appends an attribute value with references resolved and whitespace normalized.
pub(crate) fn push_attr_value(buf: &mut String, raw: &str) -> Result<(), ParseErrorKind> {
    let bytes = raw.as_bytes();
    if !bytes
        .iter()
        .any(|&b| matches!(b, b'&' | b'<' | b'\t' | b'\n' | b'\r'))
    {
        buf.push_str(raw);
        return Ok(());
    }
    let mut i = 0;
    let mut run = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'<' => return Err(ParseErrorKind::Syntax("'<' in attribute value".into())),
            b'\r' => {
                buf.push_str(&raw[run..i]);
                buf.push(' ');
                i += 1;
                if bytes.get(i) == Some(&b'\n') {
                    i += 1;
                }
                run = i;
            }
            b'\n' | b'\t' => {
                buf.push_str(&raw[run..i]);
                buf.push(' ');
                i += 1;
                run = i;
            }
            b'&' => {
                buf.push_str(&raw[run..i]);
                let end = raw[i..]
                    .find(';')
                    .ok_or_else(|| ParseErrorKind::Syntax("unterminated reference".into()))?;
                let name = &raw[i + 1..i + end];
                buf.push(resolve_ref(name)?);
                i += end + 1;
                run = i;
            }
            _ => i += 1,
        }
    }
    buf.push_str(&raw[run..]);
    Ok(())
}

pub(crate) fn split_qname(q: &str) -> Result<(&str, &str), ParseErrorKind> {
    match q.find(':') {
        None => {
            if q.is_empty() {
                Err(ParseErrorKind::Syntax("empty name".into()))
            } else {
                Ok(("", q))
            }
        }
        Some(p) => {
            let (pre, loc) = (&q[..p], &q[p + 1..]);
            let starts_like_a_name = loc.chars().next().is_some_and(is_name_start_char);
            if pre.is_empty() || !starts_like_a_name || loc.contains(':') {
                Err(ParseErrorKind::Syntax(format!(
                    "invalid qualified name {q:?}"
                )))
            } else {
                Ok((pre, loc))
            }
        }
    }
}

/// `NameStartChar` of XML 1.0 (fifth edition) §2.3, without `:` (namespaces give it its own
/// role).
pub(crate) fn is_name_start_char(c: char) -> bool {
    matches!(c as u32,
        0x41..=0x5A | 0x5F | 0x61..=0x7A | 0xC0..=0xD6 | 0xD8..=0xF6 | 0xF8..=0x2FF
        | 0x370..=0x37D | 0x37F..=0x1FFF | 0x200C..=0x200D | 0x2070..=0x218F
        | 0x2C00..=0x2FEF | 0x3001..=0xD7FF | 0xF900..=0xFDCF | 0xFDF0..=0xFFFD
        | 0x10000..=0xEFFFF)
}

/// `NameChar` of XML 1.0 (fifth edition) §2.3, without `:`.
pub(crate) fn is_name_char(c: char) -> bool {
    is_name_start_char(c)
        || matches!(c as u32, 0x2D | 0x2E | 0x30..=0x39 | 0xB7 | 0x300..=0x36F | 0x203F..=0x2040)
}

pub(crate) fn check_name(q: &str) -> Result<(), ParseErrorKind> {
    let b = q.as_bytes();
    if let Some((&first, rest)) = b.split_first()
        && (first.is_ascii_alphabetic() || first == b'_' || first == b':')
        && rest
            .iter()
            .all(|&c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b':' | b'-' | b'.'))
    {
        return Ok(());
    }
    let ok = q.chars().enumerate().all(|(i, c)| {
        c == ':'
            || if i == 0 {
                is_name_start_char(c)
            } else {
                is_name_char(c)
            }
    });
    if ok && !q.is_empty() {
        Ok(())
    } else {
        Err(ParseErrorKind::Syntax(format!("invalid name {q:?}")))
    }
}

const fn name_table() -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.';
        i += 1;
    }
    t
}

/// ASCII name characters other than `:`.
pub(crate) static NAME_CHAR: [bool; 256] = name_table();

/// [`check_name`] and [`split_qname`] in one pass for the common all-ASCII names; any name
/// the fast path does not accept goes through both for the exact verdict and message.
#[inline]
pub(crate) fn qname_parts(q: &str) -> Result<(&str, &str), ParseErrorKind> {
    let b = q.as_bytes();
    if let Some((&first, rest)) = b.split_first()
        && (first.is_ascii_alphabetic() || first == b'_')
    {
        let mut colon = 0usize;
        let mut ok = true;
        for (i, &c) in rest.iter().enumerate() {
            if c == b':' {
                if colon != 0 {
                    ok = false;
                    break;
                }
                colon = i + 1;
            } else if !NAME_CHAR[c as usize] {
                ok = false;
                break;
            }
        }
        if ok {
            if colon == 0 {
                return Ok(("", q));
            }
            // The local part must start like a name too (not with a digit, '-' or '.').
            if colon + 1 < b.len() && (b[colon + 1].is_ascii_alphabetic() || b[colon + 1] == b'_') {
                return Ok((&q[..colon], &q[colon + 1..]));
            }
        }
    }
    check_name(q)?;
    split_qname(q)
}

/// One attribute of a start tag as written: the name (with its prefix and local part when the
/// fast name check accepted it), the raw value and its quote.
pub(crate) struct RawAttr<'s> {
    pub(crate) key: &'s str,
    pub(crate) parts: Option<(&'s str, &'s str)>,
    pub(crate) value: &'s str,
    pub(crate) quote: u8,
}

/// Scans the next attribute of `raw` (the text of a start tag after its name) from `*i`:
/// `(S Name S? '=' S? ('"' [^"]* '"' | "'" [^']* "'"))*`. `None` at the end.
pub(crate) fn scan_attribute<'s>(
    raw: &'s str,
    i: &mut usize,
) -> Result<Option<RawAttr<'s>>, ParseErrorKind> {
    let bytes = raw.as_bytes();
    let ws_start = *i;
    let mut j = *i;
    while j < bytes.len() && is_ws(bytes[j]) {
        j += 1;
    }
    if j == bytes.len() {
        *i = j;
        return Ok(None);
    }
    if j == ws_start {
        return Err(ParseErrorKind::Syntax(
            "missing whitespace before attribute".into(),
        ));
    }
    // The name runs to `=` or whitespace; scanning it also checks it as [`qname_parts`]' fast
    // path does (ASCII name characters, at most one `:`, not first or last).
    let ks = j;
    let mut simple = bytes[j].is_ascii_alphabetic() || bytes[j] == b'_';
    if simple {
        j += 1;
    }
    let mut colon = 0usize;
    while j < bytes.len() {
        let c = bytes[j];
        if c == b'=' || is_ws(c) {
            break;
        }
        if c == b':' {
            simple &= colon == 0;
            colon = j;
        } else {
            simple &= NAME_CHAR[c as usize];
        }
        j += 1;
    }
    let key = &raw[ks..j];
    let parts = if simple && colon == 0 {
        Some(("", key))
    } else if simple
        && colon + 1 < j
        && (bytes[colon + 1].is_ascii_alphabetic() || bytes[colon + 1] == b'_')
    {
        // The local part starts like a name as well.
        Some((&raw[ks..colon], &raw[colon + 1..j]))
    } else {
        None
    };
    while j < bytes.len() && is_ws(bytes[j]) {
        j += 1;
    }
    if bytes.get(j) != Some(&b'=') {
        return Err(ParseErrorKind::Syntax(format!(
            "expected '=' after attribute name {key:?}"
        )));
    }
    j += 1;
    while j < bytes.len() && is_ws(bytes[j]) {
        j += 1;
    }
    let quote = match bytes.get(j) {
        Some(&q @ (b'"' | b'\'')) => q,
        _ => {
            return Err(ParseErrorKind::Syntax(format!(
                "unquoted value of attribute {key:?}"
            )));
        }
    };
    j += 1;
    let vs = j;
    let Some(vlen) = memchr::memchr(quote, &bytes[vs..]) else {
        return Err(ParseErrorKind::Syntax(format!(
            "unterminated value of attribute {key:?}"
        )));
    };
    *i = vs + vlen + 1;
    Ok(Some(RawAttr {
        key,
        parts,
        value: &raw[vs..vs + vlen],
        quote,
    }))
}

/// The Namespaces in XML rules for a declaration of `prefix` (empty: the default namespace)
/// bound to `uri` (empty: undeclaration).
pub(crate) fn check_ns_decl(p: &str, u: &str) -> Result<(), ParseErrorKind> {
    if p == "xmlns" {
        return Err(ParseErrorKind::InvalidNamespace(
            "the xmlns prefix cannot be declared".into(),
        ));
    }
    if (p == "xml") != (u == XML_NS) {
        return Err(ParseErrorKind::InvalidNamespace(format!(
            "prefix {p:?} cannot be bound to {u:?}"
        )));
    }
    if u == XMLNS_NS {
        return Err(ParseErrorKind::InvalidNamespace(
            "the xmlns namespace cannot be bound".into(),
        ));
    }
    crate::wf::namespace_name(u).map_err(ParseErrorKind::InvalidNamespace)?;
    if !p.is_empty() && u.is_empty() {
        return Err(ParseErrorKind::InvalidNamespace(format!(
            "prefix {p:?} cannot be undeclared in XML 1.0"
        )));
    }
    Ok(())
}

/// True when `input` has none of the characters XML forbids (C0 controls other than tab, LF
/// and CR; U+FFFE; U+FFFF), so per-node [`check_chars`] calls can be skipped.
pub(crate) fn all_chars_allowed(input: &str) -> bool {
    let b = input.as_bytes();
    let bad_control = b.chunks(64).any(|c| {
        c.iter().fold(0u8, |acc, &x| {
            acc | u8::from(x < 0x20 && x != b'\t' && x != b'\n' && x != b'\r')
        }) != 0
    });
    if bad_control {
        return false;
    }
    // U+FFFE and U+FFFF are EF BF BE and EF BF BF in UTF-8.
    !memchr::memchr_iter(0xEF, b)
        .any(|i| b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF)))
}

#[inline]
pub(crate) fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

impl<'i> Parser<'i> {
    fn run(input_bytes: &[u8], opts: &ParseOptions) -> Result<Document, ParseError> {
        let limit = opts.max_size.min(u32::MAX as usize - 1);
        let too_large = || ParseError {
            kind: ParseErrorKind::TooLarge {
                size: input_bytes.len(),
                limit,
            },
            line: 1,
            column: 1,
        };
        if input_bytes.len() > limit {
            return Err(too_large());
        }
        let sniffed = crate::encoding::sniff(input_bytes).map_err(|k| err(input_bytes, 0, k))?;
        if sniffed.encoding == Encoding::Utf8 {
            let input = match std::str::from_utf8(input_bytes) {
                Ok(s) => s,
                Err(e) => return Err(err(input_bytes, e.valid_up_to(), ParseErrorKind::NotUtf8)),
            };
            return Parser::run_str(input, opts, sniffed.encoding);
        }
        // Declared ISO-8859-1, windows-1252 or US-ASCII: the document is decoded first and
        // positions count bytes of its UTF-8 form.
        let mut utf8 = Vec::with_capacity(input_bytes.len() + input_bytes.len() / 8);
        if let Err(at) = sniffed.encoding.decode_into(input_bytes, &mut utf8) {
            return Err(err(
                input_bytes,
                at,
                ParseErrorKind::Undecodable {
                    encoding: sniffed.encoding.name().into(),
                    byte: input_bytes[at],
                },
            ));
        }
        let input = String::from_utf8(utf8).map_err(|e| {
            err(
                input_bytes,
                e.utf8_error().valid_up_to(),
                ParseErrorKind::NotUtf8,
            )
        })?;
        if input.len() > limit {
            return Err(too_large());
        }
        Parser::run_str(&input, opts, sniffed.encoding)
    }

    fn run_str<'j>(
        input: &'j str,
        opts: &'j ParseOptions,
        encoding: Encoding,
    ) -> Result<Document, ParseError> {
        let limit = opts.max_size.min(u32::MAX as usize - 1);
        let too_large = || ParseError {
            kind: ParseErrorKind::TooLarge {
                size: input.len(),
                limit,
            },
            line: 1,
            column: 1,
        };
        // The buffer starts as a copy of the input, so that names, and values and text that
        // need no normalization, are spans of it; anything rewritten is appended after it.
        let mut buf = String::with_capacity(input.len() + input.len() / 8 + 64);
        buf.push_str(input);
        let mut doc = Document {
            buf,
            nodes: Vec::with_capacity(input.len() / 24 + 4),
            attrs: Vec::with_capacity(input.len() / 64 + 4),
            ns_decls: Vec::with_capacity(8),
            ids: HashMap::new(),
            line_starts: line_starts(input.as_bytes()),
            root: NONE,
        };
        doc.nodes.push(NodeData::new(Kind::Document, NONE, 0));
        let mut p = Parser {
            input,
            opts,
            doc,
            scope: Vec::new(),
            open: Vec::new(),
            elements: 0,
            raw_attrs: Vec::new(),
            id_first: HashMap::new(),
            chars_ok: all_chars_allowed(input),
            no_cdata_end: memchr::memmem::find(input.as_bytes(), b"]]>").is_none(),
            no_cr: memchr::memchr(b'\r', input.as_bytes()).is_none(),
            xml_ns: None,
            encoding,
        };
        p.parse()?;
        // Spans are 32-bit: the buffer (the input and the text rewritten after it) must fit.
        if p.doc.buf.len() > u32::MAX as usize {
            return Err(too_large());
        }
        Ok(p.doc)
    }

    fn off(&self, s: &[u8]) -> usize {
        let base = self.input.as_ptr() as usize;
        let p = s.as_ptr() as usize;
        p.wrapping_sub(base)
    }

    fn sub(&self, s: &[u8]) -> &'i str {
        let o = self.off(s);
        self.input.get(o..o + s.len()).unwrap_or("")
    }

    fn e(&self, offset: usize, kind: ParseErrorKind) -> ParseError {
        let p = position_in(&self.doc.line_starts, offset.min(self.input.len()) as u32);
        ParseError {
            kind,
            line: p.line,
            column: p.column,
        }
    }

    /// Span of `s`, a slice of the input (whose copy starts the buffer).
    #[inline]
    fn span_of(&self, s: &str) -> Span {
        if s.is_empty() {
            return Span::default();
        }
        Span {
            start: self.off(s.as_bytes()) as u32,
            len: s.len() as u32,
        }
    }

    fn xml_ns_span(&mut self) -> Span {
        match self.xml_ns {
            Some(s) => s,
            None => {
                let s = self.push_str(XML_NS);
                self.xml_ns = Some(s);
                s
            }
        }
    }

    /// Span of a normalized attribute value: the source itself when nothing changes (then the
    /// flag is true).
    #[inline]
    fn attr_value(&mut self, raw: &'i str) -> Result<(Span, bool), ParseErrorKind> {
        // Branch-free scan; `< 0x20` covers tab, LF and CR (any other control character was
        // refused before).
        let special = raw
            .bytes()
            .fold(false, |acc, b| acc | (b < 0x20) | (b == b'&') | (b == b'<'));
        if !special {
            return Ok((self.span_of(raw), true));
        }
        let start = self.doc.buf.len();
        push_attr_value(&mut self.doc.buf, raw)?;
        Ok((
            Span {
                start: start as u32,
                len: (self.doc.buf.len() - start) as u32,
            },
            false,
        ))
    }

    /// Span of `raw` (text, comment or PI data) with line endings normalized.
    #[inline]
    fn eol_span(&mut self, raw: &'i str) -> Span {
        if self.no_cr || memchr::memchr(b'\r', raw.as_bytes()).is_none() {
            return self.span_of(raw);
        }
        let start = self.doc.buf.len() as u32;
        push_eol(&mut self.doc.buf, raw);
        Span {
            start,
            len: self.doc.buf.len() as u32 - start,
        }
    }

    fn push_str(&mut self, s: &str) -> Span {
        let start = self.doc.buf.len() as u32;
        self.doc.buf.push_str(s);
        Span {
            start,
            len: s.len() as u32,
        }
    }

    fn append_child(&mut self, node: NodeData) -> u32 {
        let parent = node.parent;
        let id = self.doc.nodes.len() as u32;
        let last = self.doc.nodes[parent as usize].last_child;
        self.doc.nodes.push(node);
        if last == NONE {
            self.doc.nodes[parent as usize].first_child = id;
        } else {
            self.doc.nodes[last as usize].next_sibling = id;
            self.doc.nodes[id as usize].prev_sibling = last;
        }
        self.doc.nodes[parent as usize].last_child = id;
        id
    }

    fn current_parent(&self) -> u32 {
        self.open.last().map_or(0, |o| o.0)
    }

    /// When the last child of `parent` is a text node, moves its content to the end of the
    /// buffer if it is not already there (so that more text can be appended to it) and returns
    /// its index.
    fn text_tail(&mut self, parent: u32) -> Option<usize> {
        let last = self.doc.nodes[parent as usize].last_child;
        if last == NONE {
            return None;
        }
        let ln = &self.doc.nodes[last as usize];
        if ln.kind != Kind::Text {
            return None;
        }
        let (st, len) = (ln.a.start as usize, ln.a.len as usize);
        if st + len != self.doc.buf.len() {
            let new_start = self.doc.buf.len() as u32;
            self.doc.buf.extend_from_within(st..st + len);
            self.doc.nodes[last as usize].a.start = new_start;
        }
        Some(last as usize)
    }

    fn outside_root_text(&self, offset: usize, text: &str) -> Result<(), ParseError> {
        // Outside the root: only whitespace is allowed, and it is not kept.
        if text.bytes().all(is_ws) {
            return Ok(());
        }
        let snippet: String = text.chars().take(20).collect();
        Err(self.e(
            offset,
            ParseErrorKind::OutsideRoot(format!("text {snippet:?}")),
        ))
    }

    /// Appends text that is a span of the input (needing no rewriting) to the current parent,
    /// merging with a preceding text node.
    fn add_text_span(&mut self, offset: usize, span: Span) -> Result<(), ParseError> {
        let parent = self.current_parent();
        if parent == 0 {
            return self.outside_root_text(offset, self.doc.s(span));
        }
        if span.len == 0 {
            return Ok(());
        }
        if let Some(last) = self.text_tail(parent) {
            let st = span.start as usize;
            self.doc.buf.extend_from_within(st..st + span.len as usize);
            self.doc.nodes[last].a.len += span.len;
            return Ok(());
        }
        let mut n = NodeData::new(Kind::Text, parent, offset as u32);
        n.a = span;
        self.append_child(n);
        Ok(())
    }

    /// Appends text written by `f` to the current parent, merging with a preceding text node.
    fn add_text(
        &mut self,
        offset: usize,
        f: impl FnOnce(&mut String) -> Result<(), ParseErrorKind>,
    ) -> Result<(), ParseError> {
        let parent = self.current_parent();
        let tail = if parent == 0 {
            None
        } else {
            self.text_tail(parent)
        };
        let start = self.doc.buf.len();
        if let Err(k) = f(&mut self.doc.buf) {
            return Err(self.e(offset, k));
        }
        let added = self.doc.buf.len() - start;
        if parent == 0 {
            let r = self.outside_root_text(offset, &self.doc.buf[start..]);
            self.doc.buf.truncate(start);
            return r;
        }
        if added == 0 {
            return Ok(());
        }
        if let Some(last) = tail {
            self.doc.nodes[last].a.len += added as u32;
            return Ok(());
        }
        let mut n = NodeData::new(Kind::Text, parent, offset as u32);
        n.a = Span {
            start: start as u32,
            len: added as u32,
        };
        self.append_child(n);
        Ok(())
    }

    fn lookup(&self, prefix: &str) -> Option<Span> {
        for d in self.scope.iter().rev() {
            if self.doc.b(d.prefix) == prefix.as_bytes() {
                return Some(d.uri);
            }
        }
        None
    }

    fn parse(&mut self) -> Result<(), ParseError> {
        let mut reader = quick_xml::Reader::from_str(self.input);
        {
            let c = reader.config_mut();
            c.check_end_names = true;
            c.check_comments = true;
            c.expand_empty_elements = false;
            c.trim_text(false);
            c.allow_unmatched_ends = false;
            c.allow_dangling_amp = false;
        }
        let mut seen_root = false;
        let mut first = true;
        loop {
            let pos = reader.buffer_position() as usize;
            let ev = match reader.read_event() {
                Ok(ev) => ev,
                Err(e) => {
                    let at = reader.error_position() as usize;
                    let msg = e.to_string();
                    if msg.contains("DOCTYPE")
                        || self
                            .input
                            .get(pos..)
                            .unwrap_or_default()
                            .trim_start()
                            .starts_with("<!DOCTYPE")
                    {
                        return Err(self.e(at, ParseErrorKind::Doctype));
                    }
                    return Err(self.e(at, ParseErrorKind::Syntax(msg)));
                }
            };
            let was_first = first;
            first = false;
            match ev {
                Event::Decl(d) => {
                    if !was_first {
                        return Err(self.e(
                            pos,
                            ParseErrorKind::Syntax("XML declaration not at the start".into()),
                        ));
                    }
                    // The raw declaration starts with its target, "xml".
                    let declared = crate::wf::xml_decl(d.get(3..).unwrap_or_default())
                        .map_err(|m| self.e(pos, ParseErrorKind::Syntax(m)))?;
                    if let Some(enc) = declared {
                        let e = Encoding::from_label(enc).map_err(|k| self.e(pos, k))?;
                        if e != self.encoding {
                            return Err(self.e(
                                pos,
                                ParseErrorKind::UnsupportedEncoding(
                                    String::from_utf8_lossy(enc).into_owned(),
                                ),
                            ));
                        }
                    }
                }
                Event::DocType(_) => return Err(self.e(pos, ParseErrorKind::Doctype)),
                Event::Start(s) => {
                    if self.open.is_empty() {
                        if seen_root {
                            return Err(self.e(
                                pos,
                                ParseErrorKind::OutsideRoot("second root element".into()),
                            ));
                        }
                        seen_root = true;
                    }
                    let end = reader.buffer_position() as usize;
                    self.start_element(&s, pos, end, false)?;
                }
                Event::Empty(s) => {
                    if self.open.is_empty() {
                        if seen_root {
                            return Err(self.e(
                                pos,
                                ParseErrorKind::OutsideRoot("second root element".into()),
                            ));
                        }
                        seen_root = true;
                    }
                    let end = reader.buffer_position() as usize;
                    self.start_element(&s, pos, end, true)?;
                    self.end_element(pos, end, end);
                }
                Event::End(_) => {
                    let end = reader.buffer_position() as usize;
                    let (id, _) = *self.open.last().ok_or_else(|| {
                        self.e(pos, ParseErrorKind::Syntax("unexpected end tag".into()))
                    })?;
                    let st = self.doc.nodes[id as usize].start_tag_end as usize;
                    self.end_element(pos.max(st), pos, end);
                }
                Event::Text(t) => {
                    let raw = self.sub(&t);
                    if !self.chars_ok
                        && let Err(k) = check_chars(raw)
                    {
                        return Err(self.e(pos, k));
                    }
                    if !self.no_cdata_end && memchr::memmem::find(raw.as_bytes(), b"]]>").is_some()
                    {
                        return Err(self.e(pos, ParseErrorKind::Syntax("']]>' in text".into())));
                    }
                    if self.no_cr || memchr::memchr(b'\r', raw.as_bytes()).is_none() {
                        let span = self.span_of(raw);
                        self.add_text_span(pos, span)?;
                    } else {
                        self.add_text(pos, |b| {
                            push_eol(b, raw);
                            Ok(())
                        })?;
                    }
                }
                Event::GeneralRef(r) => {
                    let name = self.sub(&r);
                    self.add_text(pos, |b| {
                        b.push(resolve_ref(name)?);
                        Ok(())
                    })?;
                }
                Event::CData(t) => {
                    let raw = self.sub(&t);
                    if !self.chars_ok
                        && let Err(k) = check_chars(raw)
                    {
                        return Err(self.e(pos, k));
                    }
                    if self.open.is_empty() {
                        return Err(
                            self.e(pos, ParseErrorKind::OutsideRoot("CDATA section".into()))
                        );
                    }
                    self.add_text(pos, |b| {
                        push_eol(b, raw);
                        Ok(())
                    })?;
                }
                Event::Comment(t) => {
                    let raw = self.sub(&t);
                    if !self.chars_ok
                        && let Err(k) = check_chars(raw)
                    {
                        return Err(self.e(pos, k));
                    }
                    if raw.ends_with('-') {
                        return Err(
                            self.e(pos, ParseErrorKind::Syntax("comment ends with '-'".into()))
                        );
                    }
                    let a = self.eol_span(raw);
                    let mut n = NodeData::new(Kind::Comment, self.current_parent(), pos as u32);
                    n.a = a;
                    self.append_child(n);
                }
                Event::PI(pi) => {
                    let target = self.sub(pi.target());
                    if let Err(k) = check_name(target) {
                        return Err(self.e(pos, k));
                    }
                    if target.eq_ignore_ascii_case("xml") {
                        return Err(self.e(
                            pos,
                            ParseErrorKind::Syntax("misplaced XML declaration".into()),
                        ));
                    }
                    let data = self.sub(pi.content());
                    let data = data.trim_start_matches([' ', '\t', '\n', '\r']);
                    if let Err(k) = check_chars(data) {
                        return Err(self.e(pos, k));
                    }
                    let a = self.span_of(target);
                    let b = self.eol_span(data);
                    let mut n = NodeData::new(Kind::Pi, self.current_parent(), pos as u32);
                    n.a = a;
                    n.b = b;
                    self.append_child(n);
                }
                Event::Eof => break,
            }
        }
        if let Some(&(id, _)) = self.open.last() {
            let name = self.doc.root_name_of(id);
            return Err(self.e(self.input.len(), ParseErrorKind::UnclosedElement(name)));
        }
        if !seen_root {
            return Err(self.e(self.input.len(), ParseErrorKind::NoRoot));
        }
        Ok(())
    }

    fn start_element(
        &mut self,
        s: &quick_xml::events::BytesStart<'_>,
        pos: usize,
        end: usize,
        empty: bool,
    ) -> Result<(), ParseError> {
        self.elements += 1;
        if self.elements > self.opts.max_elements {
            return Err(self.e(
                pos,
                ParseErrorKind::TooManyElements {
                    limit: self.opts.max_elements,
                },
            ));
        }
        if self.open.len() >= self.opts.max_depth {
            return Err(self.e(
                pos,
                ParseErrorKind::TooDeep {
                    limit: self.opts.max_depth,
                },
            ));
        }
        let qname = self.sub(s.name().as_ref());
        if qname.len() > self.opts.max_name_len {
            return Err(self.e(
                pos,
                ParseErrorKind::NameTooLong {
                    limit: self.opts.max_name_len,
                },
            ));
        }
        let (prefix, local) = qname_parts(qname).map_err(|k| self.e(pos, k))?;
        let scope_len = self.scope.len();

        // Attributes: `(S Name S? '=' S? ('"' [^"]* '"' | "'" [^']* "'"))*` after the name.
        self.raw_attrs.clear();
        let ns_start = self.doc.ns_decls.len() as u32;
        let mut count = 0usize;
        let raw_attrs = self.sub(s.attributes_raw());
        let mut i = 0usize;
        while let Some(RawAttr {
            key,
            parts: key_parts,
            value: raw,
            quote,
        }) = scan_attribute(raw_attrs, &mut i).map_err(|k| self.e(pos, k))?
        {
            if key.len() > self.opts.max_name_len {
                return Err(self.e(
                    pos,
                    ParseErrorKind::NameTooLong {
                        limit: self.opts.max_name_len,
                    },
                ));
            }
            count += 1;
            if count > self.opts.max_attributes {
                return Err(self.e(
                    pos,
                    ParseErrorKind::TooManyAttributes {
                        limit: self.opts.max_attributes,
                    },
                ));
            }
            let (ap, al) = match key_parts {
                Some(parts) => parts,
                None => qname_parts(key).map_err(|k| self.e(pos, k))?,
            };
            if !self.chars_ok {
                check_chars(raw).map_err(|k| self.e(pos, k))?;
            }
            if ap.is_empty() && al == "xmlns" || ap == "xmlns" {
                let pspan = if ap.is_empty() {
                    Span::default()
                } else {
                    self.span_of(al)
                };
                let (uspan, _) = self.attr_value(raw).map_err(|k| self.e(pos, k))?;
                let p = self.doc.s(pspan);
                let u = self.doc.s(uspan);
                check_ns_decl(p, u).map_err(|k| self.e(pos, k))?;
                let is_xml = p == "xml";
                let d = NsDecl {
                    prefix: pspan,
                    uri: uspan,
                };
                self.doc.ns_decls.push(d);
                if !is_xml {
                    self.scope.push(d);
                }
            } else {
                let (v, borrowed) = self.attr_value(raw).map_err(|k| self.e(pos, k))?;
                // A value from the source has no `&`, `<`, tab, LF or CR; only one in single
                // quotes can have a `"`.
                let plain =
                    borrowed && (quote == b'"' || memchr::memchr(b'"', raw.as_bytes()).is_none());
                self.raw_attrs.push((v, plain, ap, al));
            }
        }
        let ns_end = self.doc.ns_decls.len() as u32;

        // Resolve the element name.
        let ns = if prefix.is_empty() {
            self.lookup("").unwrap_or_default()
        } else if prefix == "xml" {
            self.xml_ns_span()
        } else if prefix == "xmlns" {
            return Err(self.e(
                pos,
                ParseErrorKind::InvalidNamespace("element with the xmlns prefix".into()),
            ));
        } else {
            match self.lookup(prefix) {
                Some(u) => u,
                None => return Err(self.e(pos, ParseErrorKind::UnboundPrefix(prefix.to_owned()))),
            }
        };
        let pspan = self.span_of(prefix);
        let lspan = self.span_of(local);

        let parent = self.current_parent();
        let id = self.doc.nodes.len() as u32;
        let attr_start = self.doc.attrs.len() as u32;
        for i in 0..self.raw_attrs.len() {
            let (value, plain, ap, al) = self.raw_attrs[i];
            let ans = if ap.is_empty() {
                Span::default()
            } else if ap == "xml" {
                self.xml_ns_span()
            } else {
                match self.lookup(ap) {
                    Some(u) => u,
                    None => return Err(self.e(pos, ParseErrorKind::UnboundPrefix(ap.to_owned()))),
                }
            };
            let a = AttrData {
                prefix: self.span_of(ap),
                local: self.span_of(al),
                ns: ans,
                value,
                plain,
            };
            // Duplicate expanded names.
            for prev in &self.doc.attrs[attr_start as usize..] {
                if self.doc.b(prev.local) == al.as_bytes() && self.doc.b(prev.ns) == self.doc.b(ans)
                {
                    let q = if ap.is_empty() {
                        al.to_owned()
                    } else {
                        format!("{ap}:{al}")
                    };
                    return Err(self.e(pos, ParseErrorKind::DuplicateAttribute(q)));
                }
            }
            self.doc.attrs.push(a);
            // IDs.
            let is_id = (ap.is_empty() && self.opts.id_attributes.iter().any(|n| n == al))
                || (ap == "xml" && al == "id");
            if is_id {
                let v = self.doc.s(value).to_owned();
                let line = position_in(&self.doc.line_starts, pos as u32).line;
                match self.id_first.get(&v) {
                    Some(&first_line) => {
                        // Same element carrying the same value in two ID attributes is fine.
                        if self.doc.ids.get(&v) != Some(&id) {
                            return Err(
                                self.e(pos, ParseErrorKind::DuplicateId { id: v, first_line })
                            );
                        }
                    }
                    None => {
                        self.id_first.insert(v.clone(), line);
                        self.doc.ids.insert(v, id);
                    }
                }
            }
        }
        let attr_end = self.doc.attrs.len() as u32;

        let mut n = NodeData::new(Kind::Element, parent, pos as u32);
        n.a = pspan;
        n.b = lspan;
        n.ns = ns;
        n.attrs = (attr_start, attr_end);
        n.ns_decls = (ns_start, ns_end);
        n.start_tag_end = end as u32;
        n.self_closing = empty;
        let nid = self.append_child(n);
        debug_assert_eq!(nid, id);
        if parent == 0 {
            self.doc.root = id;
        }
        self.open.push((id, scope_len));
        Ok(())
    }

    fn end_element(&mut self, _content_end: usize, end_tag_start: usize, end: usize) {
        if let Some((id, scope_len)) = self.open.pop() {
            self.scope.truncate(scope_len);
            let n = &mut self.doc.nodes[id as usize];
            n.end_tag_start = end_tag_start as u32;
            n.src_end = end as u32;
        }
    }
}

impl Document {
    fn root_name_of(&self, id: u32) -> String {
        Element { doc: self, id }.qname()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c14n::{C14nAlgorithm, canonicalize_document};

    fn c14n(xml: &str) -> String {
        let doc = Document::parse(xml.as_bytes()).expect("parse");
        String::from_utf8(canonicalize_document(&doc, C14nAlgorithm::Exclusive)).expect("utf8")
    }

    #[test]
    fn attributes_need_whitespace_between_them() {
        let e = Document::parse(br#"<a x="1"y="2"/>"#).expect_err("no whitespace");
        assert!(matches!(e.kind, ParseErrorKind::Syntax(_)), "{e:?}");
        assert!(Document::parse(b"<a x=\"1\"\n\ty = '2'/>").is_ok());
    }

    #[test]
    fn text_pieces_merge_into_one_node() {
        let doc = Document::parse(b"<a>x &amp; y<![CDATA[<z>]]>w&#x41;</a>").expect("parse");
        let kids: Vec<_> = doc.root().children().collect();
        assert_eq!(kids.len(), 1);
        assert_eq!(kids[0].as_text(), Some("x & y<z>wA"));
        // A comment splits the text; each part keeps its own content.
        let doc = Document::parse(b"<a>p&lt;q<!--c-->r<b/>s</a>").expect("parse");
        let texts: Vec<_> = doc.root().children().filter_map(|n| n.as_text()).collect();
        assert_eq!(texts, ["p<q", "r", "s"]);
    }

    #[test]
    fn line_endings_and_attribute_values() {
        assert_eq!(
            c14n("<a b='say \"hi\"' c=\"x&#9;y\r\nz\">1\r\n2\r3</a>"),
            "<a b=\"say &quot;hi&quot;\" c=\"x&#x9;y z\">1\n2\n3</a>"
        );
        assert_eq!(
            c14n("<p:a xmlns:p=\"u\" p:b=\"v\">&gt;</p:a>"),
            "<p:a xmlns:p=\"u\" p:b=\"v\">&gt;</p:a>"
        );
    }

    #[test]
    fn forbidden_characters_are_refused_wherever_they_are() {
        for xml in [
            "<a>\u{1}</a>",
            "<a b=\"\u{1}\"/>",
            "<a><!--\u{1}--></a>",
            "<a>\u{FFFE}</a>",
            "<a b=\"\u{FFFF}\"/>",
        ] {
            let e = Document::parse(xml.as_bytes()).expect_err(xml);
            assert!(
                matches!(e.kind, ParseErrorKind::InvalidChar(_)),
                "{xml:?}: {e:?}"
            );
        }
        assert!(Document::parse(b"<a>]]></a>").is_err());
    }
}
