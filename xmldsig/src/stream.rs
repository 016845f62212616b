//! A hardened streaming (pull) XML reader with the guarantees of [`Document::parse`](crate::Document::parse):
//! no DOCTYPE (so no entity declarations, no external entities, no billion laughs), only the
//! five predefined entities and character references, limits on total size, depth, attributes,
//! name and text length, namespace resolution of every element and attribute name, the
//! declared-encoding rule (UTF-8 by default with an optional byte-order mark; US-ASCII,
//! ISO-8859-1 and windows-1252 decoded as declared; anything else refused naming the encoding),
//! and line and column in every error.
//!
//! Memory is bounded by the largest single token (tag or run of text), the open elements and
//! the in-scope namespace declarations, never by the document: flows of any length are read
//! with constant memory.
//!
//! ```
//! use xmldsig::stream::{Event, Reader};
//!
//! let xml = br#"<f:flow xmlns:f="urn:example"><item n="1">caf&#233;</item><item n="2"/></f:flow>"#;
//! let mut r = Reader::new(&xml[..]);
//! let mut items = Vec::new();
//! loop {
//!     match r.next()? {
//!         Event::Start(s) if s.name().local == "item" => {
//!             items.push(s.attr("n").unwrap_or_default().to_owned());
//!         }
//!         Event::Start(s) => assert_eq!(s.name().namespace, "urn:example"),
//!         Event::Text(t) => assert_eq!(t, "caf\u{e9}"),
//!         Event::Eof => break,
//!         _ => {}
//!     }
//! }
//! assert_eq!(items, ["1", "2"]);
//! # Ok::<(), xmldsig::ParseError>(())
//! ```

use std::io::{self, BufRead};

use quick_xml::events::Event as QEvent;

use crate::encoding::{self, Encoding};
use crate::error::{ParseError, ParseErrorKind};
use crate::tree::{
    RawAttr, XML_NS, check_chars, check_name, check_ns_decl, is_ws, push_attr_value, push_eol,
    qname_parts, resolve_ref, scan_attribute,
};
use crate::{Attribute, Position};

/// Limits of a [`Reader`]. The defaults are safe for untrusted input: memory stays bounded
/// whatever the document.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamOptions {
    /// Most bytes read from the input (default 4 GiB).
    pub max_size: u64,
    /// Deepest element nesting (default 128).
    pub max_depth: usize,
    /// Most elements in the document (default: no limit other than the size).
    pub max_elements: u64,
    /// Most attributes, namespace declarations included, on one element (default 256).
    pub max_attributes: usize,
    /// Longest element, attribute or processing-instruction name in bytes (default 1024).
    pub max_name_len: usize,
    /// Longest run of text (one [`Event::Text`]) or comment in bytes (default 16 MiB).
    pub max_text_len: usize,
}

impl Default for StreamOptions {
    fn default() -> Self {
        StreamOptions {
            max_size: 4 << 30,
            max_depth: 128,
            max_elements: u64::MAX,
            max_attributes: 256,
            max_name_len: 1024,
            max_text_len: 16 << 20,
        }
    }
}

impl StreamOptions {
    /// Sets the most bytes read.
    #[must_use]
    pub fn with_max_size(mut self, max: u64) -> Self {
        self.max_size = max;
        self
    }
    /// Sets the deepest nesting.
    #[must_use]
    pub fn with_max_depth(mut self, max: usize) -> Self {
        self.max_depth = max;
        self
    }
    /// Sets the most elements.
    #[must_use]
    pub fn with_max_elements(mut self, max: u64) -> Self {
        self.max_elements = max;
        self
    }
    /// Sets the most attributes per element.
    #[must_use]
    pub fn with_max_attributes(mut self, max: usize) -> Self {
        self.max_attributes = max;
        self
    }
    /// Sets the longest name.
    #[must_use]
    pub fn with_max_name_len(mut self, max: usize) -> Self {
        self.max_name_len = max;
        self
    }
    /// Sets the longest run of text.
    #[must_use]
    pub fn with_max_text_len(mut self, max: usize) -> Self {
        self.max_text_len = max;
        self
    }
}

/// A resolved element name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Name<'a> {
    /// Prefix as written (empty when none).
    pub prefix: &'a str,
    /// Local name.
    pub local: &'a str,
    /// Namespace URI (empty when the element is in no namespace).
    pub namespace: &'a str,
}

impl Name<'_> {
    /// True when the name has this namespace URI and local name.
    #[must_use]
    pub fn is(&self, namespace: &str, local: &str) -> bool {
        self.local == local && self.namespace == namespace
    }
}

/// What [`Reader::next`] returns.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum Event<'a> {
    /// A start tag (also for `<a/>`, which is followed by its [`Event::End`]).
    Start(StartTag<'a>),
    /// An end tag (or the end of `<a/>`), with the name of the element it closes.
    End(Name<'a>),
    /// Character data inside the root element: one run of text, CDATA sections and references
    /// between two pieces of markup, with references resolved and line endings normalized.
    /// Comments and processing instructions end a run.
    Text(&'a str),
    /// A comment (content without `<!--` and `-->`).
    Comment(&'a str),
    /// A processing instruction.
    ProcessingInstruction {
        /// The target.
        target: &'a str,
        /// The data (may be empty).
        data: &'a str,
    },
    /// The end of the document (returned again on every later call).
    Eof,
}

/// A start tag: its resolved name and attributes.
#[derive(Clone, Copy)]
pub struct StartTag<'a> {
    name: Name<'a>,
    qname: &'a str,
    tag: &'a str,
    attrs: &'a [AttrRec],
    decls: &'a [Binding],
    scope: &'a str,
    empty: bool,
    span: (u64, u64),
}

impl std::fmt::Debug for StartTag<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartTag")
            .field("name", &self.name)
            .field("attributes", &self.attributes().collect::<Vec<_>>())
            .field("empty", &self.empty)
            .finish()
    }
}

impl<'a> StartTag<'a> {
    /// The resolved name.
    #[must_use]
    pub fn name(&self) -> Name<'a> {
        self.name
    }

    /// The qualified name as written (`prefix:local` or `local`).
    #[must_use]
    pub fn qname(&self) -> &'a str {
        self.qname
    }

    /// Byte offset of the tag's `<` (as [`Reader::offset`]).
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.span.0
    }

    /// Byte offset just after the tag's `>`.
    #[must_use]
    pub fn end_offset(&self) -> u64 {
        self.span.1
    }

    /// True for an empty-element tag (`<a/>`).
    #[must_use]
    pub fn is_empty_element(&self) -> bool {
        self.empty
    }

    /// The attributes (namespace declarations excluded), in source order, with values
    /// normalized and references resolved.
    pub fn attributes(&self) -> impl ExactSizeIterator<Item = Attribute<'a>> + 'a {
        let tag = self.tag;
        self.attrs.iter().map(move |a| Attribute {
            prefix: a.prefix.of(tag),
            local_name: a.local.of(tag),
            namespace: a.ns.of(tag),
            value: a.value.of(tag),
        })
    }

    /// Value of the unprefixed attribute `name`.
    #[must_use]
    pub fn attr(&self, name: &str) -> Option<&'a str> {
        self.attr_ns("", name)
    }

    /// Value of the attribute with this namespace URI and local name.
    #[must_use]
    pub fn attr_ns(&self, namespace: &str, local: &str) -> Option<&'a str> {
        self.attributes()
            .find(|a| a.local_name == local && a.namespace == namespace)
            .map(|a| a.value)
    }

    /// The namespace declarations written on this tag, as `(prefix, uri)` (prefix empty for the
    /// default namespace; uri empty for `xmlns=""`).
    pub fn namespace_declarations(&self) -> impl ExactSizeIterator<Item = (&'a str, &'a str)> + 'a {
        let scope = self.scope;
        self.decls
            .iter()
            .map(move |b| (b.prefix.of(scope), b.uri.of(scope)))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Rg(u32, u32);

impl Rg {
    fn of(self, s: &str) -> &str {
        s.get(self.0 as usize..self.1 as usize).unwrap_or("")
    }
    fn push(buf: &mut String, s: &str) -> Rg {
        let st = buf.len() as u32;
        buf.push_str(s);
        Rg(st, buf.len() as u32)
    }
}

#[derive(Debug, Clone, Copy)]
struct AttrRec {
    prefix: Rg,
    local: Rg,
    ns: Rg,
    value: Rg,
}

#[derive(Debug, Clone, Copy)]
struct Binding {
    prefix: Rg,
    uri: Rg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    None,
    Xml,
    Scope(Rg),
}

#[derive(Debug, Clone, Copy)]
struct Open {
    /// The qualified name in `names`.
    qname: Rg,
    /// Length of the prefix (0 when none).
    prefix_len: u32,
    ns: Ns,
    scope_len: usize,
    scope_buf_len: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    None,
    /// The top element's start tag was read after a run of text; emit it.
    Start,
    /// Emit the End of the top element (after `<a/>`, or an end tag read after text).
    End,
    /// The End of the top element was emitted: pop it.
    Pop,
    /// A comment or processing instruction was read after text; emit it.
    Aside,
    Eof,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Aside {
    Comment,
    Pi(usize),
}

/// The input below the tokenizer: replays the sniffed prefix, transcodes a declared
/// single-byte encoding to UTF-8, enforces the size limit and counts lines.
struct Source<R> {
    inner: R,
    encoding: Encoding,
    prefix: Vec<u8>,
    prefix_pos: usize,
    out: Vec<u8>,
    out_pos: usize,
    /// Bytes handed to the tokenizer (UTF-8, after transcoding).
    consumed: u64,
    /// Raw bytes read from `inner`, for the size limit.
    raw_read: u64,
    max: u64,
    /// Lines seen in the consumed bytes, and the offset where the current line starts.
    line: u32,
    line_start: u64,
    fault: Option<ParseErrorKind>,
}

fn fault(kind: ParseErrorKind) -> io::Error {
    io::Error::other(kind.to_string())
}

impl<R: BufRead> Source<R> {
    fn too_large(&mut self) -> io::Error {
        let k = ParseErrorKind::TooLarge {
            size: usize::try_from(self.raw_read).unwrap_or(usize::MAX),
            limit: usize::try_from(self.max).unwrap_or(usize::MAX),
        };
        self.fault = Some(k.clone());
        fault(k)
    }

    fn count_lines(&mut self, bytes: &[u8], at: u64) {
        let n = bytes.iter().filter(|&&b| b == b'\n').count();
        if n > 0 {
            self.line += n as u32;
            if let Some(last) = memchr::memrchr(b'\n', bytes) {
                self.line_start = at + last as u64 + 1;
            }
        }
    }
}

impl<R: BufRead> io::Read for Source<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let b = self.fill_buf()?;
        let n = b.len().min(out.len());
        out[..n].copy_from_slice(&b[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Source<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.raw_read > self.max {
            return Err(self.too_large());
        }
        // At most one byte past the limit is handed out, so that no token grows beyond it.
        let room =
            usize::try_from((self.max - self.raw_read).saturating_add(1)).unwrap_or(usize::MAX);
        if self.encoding == Encoding::Utf8 {
            if self.prefix_pos < self.prefix.len() {
                let end = self.prefix.len().min(self.prefix_pos.saturating_add(room));
                return Ok(&self.prefix[self.prefix_pos..end]);
            }
            let b = self.inner.fill_buf()?;
            let n = b.len().min(room);
            return Ok(&b[..n]);
        }
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
            let from_prefix = self.prefix_pos < self.prefix.len();
            let raw: &[u8] = if from_prefix {
                &self.prefix[self.prefix_pos..]
            } else {
                self.inner.fill_buf()?
            };
            let n = raw.len().min(room).min(64 * 1024);
            if let Err(i) = self.encoding.decode_into(&raw[..n], &mut self.out) {
                let k = ParseErrorKind::Undecodable {
                    encoding: self.encoding.name().into(),
                    byte: raw[i],
                };
                self.fault = Some(k.clone());
                return Err(fault(k));
            }
            if from_prefix {
                self.prefix_pos += n;
            } else {
                self.inner.consume(n);
            }
            self.raw_read += n as u64;
        }
        Ok(&self.out[self.out_pos..])
    }

    fn consume(&mut self, amt: usize) {
        let at = self.consumed;
        self.consumed += amt as u64;
        if self.encoding == Encoding::Utf8 {
            self.raw_read += amt as u64;
            if self.prefix_pos < self.prefix.len() {
                let end = (self.prefix_pos + amt).min(self.prefix.len());
                let chunk = std::mem::take(&mut self.prefix);
                self.count_lines(&chunk[self.prefix_pos..end], at);
                self.prefix = chunk;
                self.prefix_pos = end;
                return;
            }
            // The tokenizer consumes what the last `fill_buf` returned: the same bytes are
            // still at the front of the inner buffer.
            let n = match self.inner.fill_buf() {
                Ok(b) => {
                    let n = amt.min(b.len());
                    let nl = b[..n].iter().filter(|&&c| c == b'\n').count();
                    let last = if nl > 0 {
                        memchr::memrchr(b'\n', &b[..n])
                    } else {
                        None
                    };
                    (n, nl, last)
                }
                Err(_) => (amt, 0, None),
            };
            if n.1 > 0 {
                self.line += n.1 as u32;
                if let Some(last) = n.2 {
                    self.line_start = at + last as u64 + 1;
                }
            }
            self.inner.consume(n.0);
            return;
        }
        let end = (self.out_pos + amt).min(self.out.len());
        let chunk = std::mem::take(&mut self.out);
        self.count_lines(&chunk[self.out_pos..end], at);
        self.out = chunk;
        self.out_pos = end;
    }
}

/// A hardened pull reader over any buffered input; see the [module documentation](self).
pub struct Reader<R: BufRead> {
    xml: quick_xml::Reader<Source<R>>,
    opts: StreamOptions,
    started: bool,
    first_event: bool,
    seen_root: bool,
    elements: u64,
    buf: Vec<u8>,
    text: String,
    /// Comment text, or PI target + data, read after a run of text.
    aside: String,
    aside_kind: Aside,
    /// Normalized attribute values, names and namespaces of the last start tag.
    tag: String,
    attrs: Vec<AttrRec>,
    /// Qualified names of the open elements.
    names: String,
    open: Vec<Open>,
    scope: Vec<Binding>,
    scope_buf: String,
    pending: Pending,
    /// Offset of the BOM skipped before the tokenizer's first byte.
    bom: u64,
    /// Position of the current event's start.
    at: Position,
    /// Position of the first piece of the current run of text.
    text_at: Position,
    tag_at: Position,
    end_at: Position,
    aside_at: Position,
    tag_empty: bool,
    /// Offset just after the last start tag.
    tag_end: u64,
}

impl<R: BufRead> std::fmt::Debug for Reader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("position", &self.at)
            .field("depth", &self.open.len())
            .finish_non_exhaustive()
    }
}

impl<R: BufRead> Reader<R> {
    /// A reader with the default [`StreamOptions`].
    pub fn new(input: R) -> Reader<R> {
        Reader::with_options(input, StreamOptions::default())
    }

    /// A reader with the given limits.
    pub fn with_options(input: R, opts: StreamOptions) -> Reader<R> {
        let source = Source {
            inner: input,
            encoding: Encoding::Utf8,
            prefix: Vec::new(),
            prefix_pos: 0,
            out: Vec::new(),
            out_pos: 0,
            consumed: 0,
            raw_read: 0,
            max: opts.max_size,
            line: 1,
            line_start: 0,
            fault: None,
        };
        let mut xml = quick_xml::Reader::from_reader(source);
        {
            let c = xml.config_mut();
            c.check_end_names = false;
            c.check_comments = true;
            c.expand_empty_elements = false;
            c.trim_text(false);
            c.allow_unmatched_ends = false;
            c.allow_dangling_amp = false;
        }
        let start = Position {
            line: 1,
            column: 1,
            offset: 0,
        };
        Reader {
            xml,
            opts,
            started: false,
            first_event: true,
            seen_root: false,
            elements: 0,
            buf: Vec::with_capacity(4096),
            text: String::with_capacity(256),
            aside: String::new(),
            aside_kind: Aside::Comment,
            tag: String::with_capacity(256),
            attrs: Vec::with_capacity(8),
            names: String::with_capacity(256),
            open: Vec::with_capacity(16),
            scope: Vec::with_capacity(8),
            scope_buf: String::with_capacity(256),
            pending: Pending::None,
            bom: 0,
            at: start,
            text_at: start,
            tag_at: start,
            end_at: start,
            aside_at: start,
            tag_empty: false,
            tag_end: 0,
        }
    }

    /// Where the current event (the one last returned, or the error) starts.
    #[must_use]
    pub fn position(&self) -> Position {
        self.at
    }

    /// Byte offset of the current event's start (in the UTF-8 form of the input: for a
    /// document in a single-byte encoding, after decoding).
    #[must_use]
    pub fn offset(&self) -> u64 {
        u64::from(self.at.offset)
    }

    /// Byte offset just after the last event read.
    #[must_use]
    pub fn end_offset(&self) -> u64 {
        self.xml.buffer_position() + self.bom
    }

    /// Current nesting depth (open elements; the element of the last [`Event::Start`] counts).
    #[must_use]
    pub fn depth(&self) -> usize {
        self.open.len()
    }

    /// The encoding the document is read in (`"UTF-8"`, `"US-ASCII"`, `"ISO-8859-1"` or
    /// `"windows-1252"`); UTF-8 until the first event is read.
    #[must_use]
    pub fn encoding(&self) -> &'static str {
        self.xml.get_ref().encoding.name()
    }

    fn err(&self, kind: ParseErrorKind) -> ParseError {
        ParseError {
            kind,
            line: self.at.line,
            column: self.at.column,
        }
    }

    /// Reads the byte-order mark and the XML declaration to choose the decoding.
    fn start(&mut self) -> Result<(), ParseError> {
        self.started = true;
        let src = self.xml.get_mut();
        let mut prefix = Vec::new();
        loop {
            let b = match src.inner.fill_buf() {
                Ok(b) => b,
                Err(e) => return Err(self.err(ParseErrorKind::Io(e.to_string()))),
            };
            if b.is_empty() {
                break;
            }
            let want = encoding::PREFIX_LEN - prefix.len();
            let n = b.len().min(want);
            prefix.extend_from_slice(&b[..n]);
            src.inner.consume(n);
            let decl_open = b"\xEF\xBB\xBF<?xml";
            let body = prefix.strip_prefix(&decl_open[..3]).unwrap_or(&prefix);
            let may_be_decl = b"<?xml".starts_with(&body[..body.len().min(5)]);
            if prefix.len() >= encoding::PREFIX_LEN
                || !may_be_decl
                || memchr::memmem::find(&prefix, b"?>").is_some()
            {
                break;
            }
        }
        let sniffed = encoding::sniff(&prefix).map_err(|k| self.err(k))?;
        let src = self.xml.get_mut();
        src.encoding = sniffed.encoding;
        src.prefix_pos = sniffed.bom;
        src.raw_read = sniffed.bom as u64;
        src.prefix = prefix;
        self.bom = sniffed.bom as u64;
        Ok(())
    }

    fn here(&self, pos0: u64) -> Position {
        let src = self.xml.get_ref();
        let offset = pos0 + self.bom;
        let line_start = src.line_start.min(pos0);
        Position {
            line: src.line,
            column: u32::try_from(pos0 - line_start + 1).unwrap_or(u32::MAX),
            offset: u32::try_from(offset).unwrap_or(u32::MAX),
        }
    }

    fn map_xml_error(&mut self, e: &quick_xml::Error) -> ParseError {
        if let Some(k) = self.xml.get_mut().fault.take() {
            return self.err(k);
        }
        let kind = match e {
            quick_xml::Error::Io(io) => ParseErrorKind::Io(io.to_string()),
            other => {
                let msg = other.to_string();
                if msg.contains("DOCTYPE") {
                    ParseErrorKind::Doctype
                } else {
                    ParseErrorKind::Syntax(msg)
                }
            }
        };
        self.err(kind)
    }

    fn top_name(&self) -> Name<'_> {
        match self.open.last() {
            Some(o) => self.open_name(o),
            None => Name {
                prefix: "",
                local: "",
                namespace: "",
            },
        }
    }

    fn open_name(&self, o: &Open) -> Name<'_> {
        let q = o.qname.of(&self.names);
        let (prefix, local) = if o.prefix_len == 0 {
            ("", q)
        } else {
            (&q[..o.prefix_len as usize], &q[o.prefix_len as usize + 1..])
        };
        let namespace = match o.ns {
            Ns::None => "",
            Ns::Xml => XML_NS,
            Ns::Scope(r) => r.of(&self.scope_buf),
        };
        Name {
            prefix,
            local,
            namespace,
        }
    }

    fn start_tag(&self) -> StartTag<'_> {
        let o = self.open.last().copied().unwrap_or(Open {
            qname: Rg::default(),
            prefix_len: 0,
            ns: Ns::None,
            scope_len: 0,
            scope_buf_len: 0,
        });
        StartTag {
            name: self.open_name(&o),
            qname: o.qname.of(&self.names),
            tag: &self.tag,
            attrs: &self.attrs,
            decls: &self.scope[o.scope_len.min(self.scope.len())..],
            scope: &self.scope_buf,
            empty: self.tag_empty,
            span: (u64::from(self.tag_at.offset), self.tag_end),
        }
    }

    fn pop(&mut self) {
        if let Some(o) = self.open.pop() {
            self.names.truncate(o.qname.0 as usize);
            self.scope.truncate(o.scope_len);
            self.scope_buf.truncate(o.scope_buf_len);
        }
    }

    /// The next event.
    ///
    /// # Errors
    /// [`ParseError`] with line and column when the input is not well-formed namespaced XML,
    /// has a DOCTYPE, an unknown entity, bytes its encoding does not define, an unsupported
    /// encoding, or breaks a limit of [`StreamOptions`]. After an error the reader should not
    /// be used further.
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> Result<Event<'_>, ParseError> {
        match self.pending {
            Pending::None => {}
            Pending::Pop => {
                self.pop();
                self.pending = Pending::None;
            }
            Pending::Start => {
                self.at = self.tag_at;
                self.pending = if self.tag_empty {
                    Pending::End
                } else {
                    Pending::None
                };
                return Ok(self.event(Out::Start));
            }
            Pending::End => {
                self.at = self.end_at;
                self.pending = Pending::Pop;
                return Ok(self.event(Out::End));
            }
            Pending::Aside => {
                self.at = self.aside_at;
                self.pending = Pending::None;
                return Ok(self.event(Out::Aside));
            }
            Pending::Eof => return Ok(Event::Eof),
        }
        if !self.started {
            self.start()?;
        }
        self.text.clear();
        loop {
            let pos0 = self.xml.buffer_position();
            let here = self.here(pos0);
            self.at = here;
            let mut buf = std::mem::take(&mut self.buf);
            buf.clear();
            let r = match self.xml.read_event_into(&mut buf) {
                Ok(ev) => self.handle(ev, here),
                Err(e) => Err(self.map_xml_error(&e)),
            };
            self.buf = buf;
            if let Some(out) = r? {
                if out == Out::Text {
                    self.at = self.text_at;
                }
                return Ok(self.event(out));
            }
        }
    }

    fn event(&self, out: Out) -> Event<'_> {
        match out {
            Out::Text => Event::Text(&self.text),
            Out::Start => Event::Start(self.start_tag()),
            Out::End => Event::End(self.top_name()),
            Out::Aside => match self.aside_kind {
                Aside::Comment => Event::Comment(&self.aside),
                Aside::Pi(t) => Event::ProcessingInstruction {
                    target: &self.aside[..t],
                    data: &self.aside[t..],
                },
            },
            Out::Eof => Event::Eof,
        }
    }

    /// Emits `out` now, or the text read before it first (then `out` is pending).
    fn after_text(&mut self, out: Out, pending: Pending) -> Option<Out> {
        if self.text.is_empty() {
            Some(out)
        } else {
            self.pending = pending;
            Some(Out::Text)
        }
    }

    fn text_piece(&mut self, raw: &str, here: Position) -> Result<(), ParseError> {
        if self.text.is_empty() {
            self.text_at = here;
        }
        push_eol(&mut self.text, raw);
        if self.text.len() > self.opts.max_text_len {
            return Err(self.err(ParseErrorKind::TextTooLong {
                limit: self.opts.max_text_len,
            }));
        }
        Ok(())
    }

    fn handle(&mut self, ev: QEvent<'_>, here: Position) -> Result<Option<Out>, ParseError> {
        let first = std::mem::replace(&mut self.first_event, false);
        // Every piece is checked as UTF-8 once (transcoded input already is).
        match ev {
            QEvent::Text(t) => {
                let raw = as_str(&t).map_err(|k| self.err(k))?;
                if self.open.is_empty() {
                    if !raw.bytes().all(is_ws) {
                        let snippet: String = raw.chars().take(20).collect();
                        return Err(
                            self.err(ParseErrorKind::OutsideRoot(format!("text {snippet:?}")))
                        );
                    }
                    return Ok(None);
                }
                check_chars(raw).map_err(|k| self.err(k))?;
                if memchr::memmem::find(raw.as_bytes(), b"]]>").is_some() {
                    return Err(self.err(ParseErrorKind::Syntax("']]>' in text".into())));
                }
                self.text_piece(raw, here)?;
                Ok(None)
            }
            QEvent::GeneralRef(r) => {
                if self.open.is_empty() {
                    return Err(self.err(ParseErrorKind::OutsideRoot("entity reference".into())));
                }
                let name = as_str(&r).map_err(|k| self.err(k))?;
                let c = resolve_ref(name).map_err(|k| self.err(k))?;
                // A reference is character data as it is: `&#13;` stays a CR.
                if self.text.is_empty() {
                    self.text_at = here;
                }
                self.text.push(c);
                Ok(None)
            }
            QEvent::CData(t) => {
                if self.open.is_empty() {
                    return Err(self.err(ParseErrorKind::OutsideRoot("CDATA section".into())));
                }
                let raw = as_str(&t).map_err(|k| self.err(k))?;
                check_chars(raw).map_err(|k| self.err(k))?;
                self.text_piece(raw, here)?;
                Ok(None)
            }
            QEvent::Start(_) | QEvent::Empty(_) => {
                let (s, empty) = match ev {
                    QEvent::Empty(s) => (s, true),
                    QEvent::Start(s) => (s, false),
                    _ => return Ok(None),
                };
                let whole: &[u8] = &s;
                as_str(whole).map_err(|k| self.err(k))?;
                let name = as_str(s.name().into_inner()).map_err(|k| self.err(k))?;
                let attrs = as_str(s.attributes_raw()).map_err(|k| self.err(k))?;
                if self.open.is_empty() {
                    if self.seen_root {
                        return Err(
                            self.err(ParseErrorKind::OutsideRoot("second root element".into()))
                        );
                    }
                    self.seen_root = true;
                }
                self.read_start(name, attrs, here)?;
                self.tag_empty = empty;
                self.tag_end = self.xml.buffer_position() + self.bom;
                if self.text.is_empty() {
                    self.pending = if empty { Pending::End } else { Pending::None };
                    Ok(Some(Out::Start))
                } else {
                    self.pending = Pending::Start;
                    Ok(Some(Out::Text))
                }
            }
            QEvent::End(e) => {
                let found = as_str(e.name().into_inner()).map_err(|k| self.err(k))?;
                let Some(top) = self.open.last() else {
                    return Err(self.err(ParseErrorKind::Syntax(format!(
                        "end tag </{found}> without a start tag"
                    ))));
                };
                let expected = top.qname.of(&self.names);
                if expected != found {
                    return Err(self.err(ParseErrorKind::MismatchedEndTag {
                        expected: expected.to_owned(),
                        found: found.to_owned(),
                    }));
                }
                self.end_at = here;
                if self.text.is_empty() {
                    self.pending = Pending::Pop;
                    Ok(Some(Out::End))
                } else {
                    self.pending = Pending::End;
                    Ok(Some(Out::Text))
                }
            }
            QEvent::Comment(c) => {
                let raw = as_str(&c).map_err(|k| self.err(k))?;
                check_chars(raw).map_err(|k| self.err(k))?;
                if raw.ends_with('-') {
                    return Err(self.err(ParseErrorKind::Syntax("comment ends with '-'".into())));
                }
                if raw.len() > self.opts.max_text_len {
                    return Err(self.err(ParseErrorKind::TextTooLong {
                        limit: self.opts.max_text_len,
                    }));
                }
                self.aside.clear();
                push_eol(&mut self.aside, raw);
                self.aside_kind = Aside::Comment;
                self.aside_at = here;
                Ok(self.after_text(Out::Aside, Pending::Aside))
            }
            QEvent::PI(pi) => {
                let target = as_str(pi.target()).map_err(|k| self.err(k))?;
                if target.len() > self.opts.max_name_len {
                    return Err(self.err(ParseErrorKind::NameTooLong {
                        limit: self.opts.max_name_len,
                    }));
                }
                check_name(target).map_err(|k| self.err(k))?;
                if target.eq_ignore_ascii_case("xml") {
                    return Err(
                        self.err(ParseErrorKind::Syntax("misplaced XML declaration".into()))
                    );
                }
                let data = as_str(pi.content()).map_err(|k| self.err(k))?;
                let data = data.trim_start_matches([' ', '\t', '\n', '\r']);
                check_chars(data).map_err(|k| self.err(k))?;
                if data.len() > self.opts.max_text_len {
                    return Err(self.err(ParseErrorKind::TextTooLong {
                        limit: self.opts.max_text_len,
                    }));
                }
                self.aside.clear();
                self.aside.push_str(target);
                push_eol(&mut self.aside, data);
                self.aside_kind = Aside::Pi(target.len());
                self.aside_at = here;
                Ok(self.after_text(Out::Aside, Pending::Aside))
            }
            QEvent::Decl(d) => {
                if !first {
                    return Err(self.err(ParseErrorKind::Syntax(
                        "XML declaration not at the start".into(),
                    )));
                }
                // The raw declaration starts with its target, "xml".
                let declared = crate::wf::xml_decl(d.get(3..).unwrap_or_default())
                    .map_err(|m| self.err(ParseErrorKind::Syntax(m)))?;
                if let Some(label) = declared {
                    let e = Encoding::from_label(label).map_err(|k| self.err(k))?;
                    if e != self.xml.get_ref().encoding {
                        return Err(self.err(ParseErrorKind::UnsupportedEncoding(
                            String::from_utf8_lossy(label).into_owned(),
                        )));
                    }
                }
                Ok(None)
            }
            QEvent::DocType(_) => Err(self.err(ParseErrorKind::Doctype)),
            QEvent::Eof => {
                if let Some(o) = self.open.last() {
                    let q = o.qname.of(&self.names).to_owned();
                    return Err(self.err(ParseErrorKind::UnclosedElement(q)));
                }
                if !self.seen_root {
                    return Err(self.err(ParseErrorKind::NoRoot));
                }
                self.pending = Pending::Eof;
                Ok(Some(Out::Eof))
            }
        }
    }

    fn lookup(&self, prefix: &str) -> Option<Rg> {
        self.scope
            .iter()
            .rev()
            .find(|b| b.prefix.of(&self.scope_buf) == prefix)
            .map(|b| b.uri)
    }

    /// Checks and records a start tag: name, attributes, namespace declarations.
    fn read_start(
        &mut self,
        qname: &str,
        raw_attrs: &str,
        here: Position,
    ) -> Result<(), ParseError> {
        self.elements += 1;
        if self.elements > self.opts.max_elements {
            return Err(self.err(ParseErrorKind::TooManyElements {
                limit: usize::try_from(self.opts.max_elements).unwrap_or(usize::MAX),
            }));
        }
        if self.open.len() >= self.opts.max_depth {
            return Err(self.err(ParseErrorKind::TooDeep {
                limit: self.opts.max_depth,
            }));
        }
        if qname.len() > self.opts.max_name_len {
            return Err(self.err(ParseErrorKind::NameTooLong {
                limit: self.opts.max_name_len,
            }));
        }
        let (prefix, _local) = qname_parts(qname).map_err(|k| self.err(k))?;
        self.tag_at = here;
        let scope_len = self.scope.len();
        let scope_buf_len = self.scope_buf.len();
        self.tag.clear();
        self.attrs.clear();
        let mut count = 0usize;
        let mut i = 0usize;
        // Attributes with a prefix are resolved once all declarations of the tag are known.
        let mut prefixed = false;
        while let Some(RawAttr {
            key, parts, value, ..
        }) = scan_attribute(raw_attrs, &mut i).map_err(|k| self.err(k))?
        {
            count += 1;
            if count > self.opts.max_attributes {
                return Err(self.err(ParseErrorKind::TooManyAttributes {
                    limit: self.opts.max_attributes,
                }));
            }
            if key.len() > self.opts.max_name_len {
                return Err(self.err(ParseErrorKind::NameTooLong {
                    limit: self.opts.max_name_len,
                }));
            }
            let (ap, al) = match parts {
                Some(p) => p,
                None => qname_parts(key).map_err(|k| self.err(k))?,
            };
            check_chars(value).map_err(|k| self.err(k))?;
            if ap.is_empty() && al == "xmlns" || ap == "xmlns" {
                let p = if ap.is_empty() { "" } else { al };
                let pr = Rg::push(&mut self.scope_buf, p);
                let st = self.scope_buf.len();
                push_attr_value(&mut self.scope_buf, value).map_err(|k| self.err(k))?;
                let ur = Rg(st as u32, self.scope_buf.len() as u32);
                check_ns_decl(p, ur.of(&self.scope_buf)).map_err(|k| self.err(k))?;
                if self.scope[scope_len..]
                    .iter()
                    .any(|b| b.prefix.of(&self.scope_buf) == p)
                {
                    return Err(self.err(ParseErrorKind::DuplicateAttribute(key.to_owned())));
                }
                self.scope.push(Binding {
                    prefix: pr,
                    uri: ur,
                });
            } else {
                let pr = Rg::push(&mut self.tag, ap);
                let lr = Rg::push(&mut self.tag, al);
                let st = self.tag.len();
                push_attr_value(&mut self.tag, value).map_err(|k| self.err(k))?;
                let vr = Rg(st as u32, self.tag.len() as u32);
                prefixed |= !ap.is_empty();
                self.attrs.push(AttrRec {
                    prefix: pr,
                    local: lr,
                    ns: Rg::default(),
                    value: vr,
                });
            }
        }
        if prefixed {
            for n in 0..self.attrs.len() {
                let a = self.attrs[n];
                let ap = a.prefix.of(&self.tag);
                if ap.is_empty() {
                    continue;
                }
                let uri = if ap == "xml" {
                    XML_NS.to_owned()
                } else {
                    match self.lookup(ap) {
                        Some(u) => u.of(&self.scope_buf).to_owned(),
                        None => {
                            return Err(self.err(ParseErrorKind::UnboundPrefix(ap.to_owned())));
                        }
                    }
                };
                let nr = Rg::push(&mut self.tag, &uri);
                self.attrs[n].ns = nr;
            }
        }
        // Duplicate expanded names.
        for (n, a) in self.attrs.iter().enumerate() {
            for b in &self.attrs[..n] {
                if a.local.of(&self.tag) == b.local.of(&self.tag)
                    && a.ns.of(&self.tag) == b.ns.of(&self.tag)
                {
                    let q = if a.prefix.of(&self.tag).is_empty() {
                        a.local.of(&self.tag).to_owned()
                    } else {
                        format!("{}:{}", a.prefix.of(&self.tag), a.local.of(&self.tag))
                    };
                    return Err(self.err(ParseErrorKind::DuplicateAttribute(q)));
                }
            }
        }
        let ns = if prefix.is_empty() {
            match self.lookup("") {
                Some(r) if r.0 != r.1 => Ns::Scope(r),
                _ => Ns::None,
            }
        } else if prefix == "xml" {
            Ns::Xml
        } else if prefix == "xmlns" {
            return Err(self.err(ParseErrorKind::InvalidNamespace(
                "element with the xmlns prefix".into(),
            )));
        } else {
            match self.lookup(prefix) {
                Some(r) => Ns::Scope(r),
                None => return Err(self.err(ParseErrorKind::UnboundPrefix(prefix.to_owned()))),
            }
        };
        let qr = Rg::push(&mut self.names, qname);
        self.open.push(Open {
            qname: qr,
            prefix_len: prefix.len() as u32,
            ns,
            scope_len,
            scope_buf_len,
        });
        Ok(())
    }
}

fn as_str(b: &[u8]) -> Result<&str, ParseErrorKind> {
    std::str::from_utf8(b).map_err(|_| ParseErrorKind::NotUtf8)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Out {
    Text,
    Start,
    End,
    Aside,
    Eof,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The events of `xml` in a compact notation, or the error.
    fn events(xml: &[u8]) -> Result<Vec<String>, ParseError> {
        let mut r = Reader::new(xml);
        let mut v = Vec::new();
        loop {
            match r.next()? {
                Event::Start(s) => {
                    let n = s.name();
                    let mut e = format!("<{{{}}}{}", n.namespace, n.local);
                    for a in s.attributes() {
                        e.push_str(&format!(" {{{}}}{}={}", a.namespace, a.local_name, a.value));
                    }
                    v.push(e);
                }
                Event::End(n) => v.push(format!("</{}", n.local)),
                Event::Text(t) => v.push(format!("t:{t}")),
                Event::Comment(c) => v.push(format!("c:{c}")),
                Event::ProcessingInstruction { target, data } => {
                    v.push(format!("pi:{target}:{data}"))
                }
                Event::Eof => return Ok(v),
            }
        }
    }

    fn kind(xml: &[u8]) -> ParseErrorKind {
        events(xml).expect_err("must fail").kind
    }

    #[test]
    fn events_namespaces_and_text() {
        let v = events(
            b"<?xml version='1.0'?>\n<p:a xmlns:p='urn:p' xmlns='urn:d' p:x='1&amp;2' y=\"3\"><b>x &lt; y<![CDATA[<z>]]>&#233;</b><!--c--><c/>t\r\nu&#13;</p:a>\n",
        )
        .expect("parse");
        assert_eq!(
            v,
            [
                "<{urn:p}a {urn:p}x=1&2 {}y=3",
                "<{urn:d}b",
                "t:x < y<z>\u{e9}",
                "</b",
                "c:c",
                "<{urn:d}c",
                "</c",
                "t:t\nu\r",
                "</a"
            ]
        );
    }

    #[test]
    fn refusals() {
        assert_eq!(
            kind(b"<!DOCTYPE a [<!ENTITY x 'y'>]><a>&x;</a>"),
            ParseErrorKind::Doctype
        );
        assert_eq!(
            kind(b"<a>&x;</a>"),
            ParseErrorKind::UnknownEntity("x".into())
        );
        assert!(matches!(kind(b"<p:a/>"), ParseErrorKind::UnboundPrefix(p) if p == "p"));
        assert!(matches!(
            kind(b"<a xmlns:q='urn:q' q:x='1' q:x='2'/>"),
            ParseErrorKind::DuplicateAttribute(_)
        ));
        assert!(matches!(
            kind(b"<a><b></a>"),
            ParseErrorKind::MismatchedEndTag { expected, found } if expected == "b" && found == "a"
        ));
        assert!(matches!(kind(b"<a>"), ParseErrorKind::UnclosedElement(_)));
        assert!(matches!(kind(b"<a/><b/>"), ParseErrorKind::OutsideRoot(_)));
        assert!(matches!(kind(b"<a/>x"), ParseErrorKind::OutsideRoot(_)));
        assert_eq!(kind(b""), ParseErrorKind::NoRoot);
        assert_eq!(kind(b"<a>\xff</a>"), ParseErrorKind::NotUtf8);
        assert_eq!(kind(b"<a>\x01</a>"), ParseErrorKind::InvalidChar(1));
        assert!(matches!(
            kind(b"<a x='1'y='2'/>"),
            ParseErrorKind::Syntax(_)
        ));
    }

    #[test]
    fn limits() {
        let deep = "<a>".repeat(200) + &"</a>".repeat(200);
        assert_eq!(
            kind(deep.as_bytes()),
            ParseErrorKind::TooDeep { limit: 128 }
        );
        let attrs: String = (0..300).map(|i| format!(" a{i}='x'")).collect();
        assert_eq!(
            kind(format!("<a{attrs}/>").as_bytes()),
            ParseErrorKind::TooManyAttributes { limit: 256 }
        );
        let long = "n".repeat(2000);
        assert_eq!(
            kind(format!("<{long}/>").as_bytes()),
            ParseErrorKind::NameTooLong { limit: 1024 }
        );
        let mut r = Reader::with_options(
            &b"<a>0123456789</a>"[..],
            StreamOptions::default().with_max_text_len(5),
        );
        assert!(matches!(r.next(), Ok(Event::Start(_))));
        assert_eq!(
            r.next().expect_err("text").kind,
            ParseErrorKind::TextTooLong { limit: 5 }
        );
        let big = format!("<a>{}</a>", "x".repeat(10_000));
        let mut r =
            Reader::with_options(big.as_bytes(), StreamOptions::default().with_max_size(1000));
        let e = loop {
            match r.next() {
                Ok(Event::Eof) => panic!("limit not applied"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert!(
            matches!(e.kind, ParseErrorKind::TooLarge { limit: 1000, .. }),
            "{e:?}"
        );
    }

    #[test]
    fn positions() {
        let e = events(b"<a>\n  <b>\n  </c>\n</a>").expect_err("mismatch");
        assert_eq!((e.line, e.column), (3, 3));
        let e = events(b"<a\n x='1'>\n<!-- two\nlines -->\n  <p:b/></a>").expect_err("unbound");
        assert_eq!((e.line, e.column), (5, 3));
        let e = events(b"\xEF\xBB\xBF<a>\n &bad;</a>").expect_err("entity");
        assert_eq!((e.line, e.column), (2, 2));
    }

    #[test]
    fn encodings() {
        let v = events(b"<?xml version='1.0' encoding='ISO-8859-1'?><a b='\xe8'>\xe0\x80</a>")
            .expect("latin1");
        assert_eq!(v, ["<{}a {}b=\u{e8}", "t:\u{e0}\u{80}", "</a"]);
        let v = events(b"<?xml version='1.0' encoding='windows-1252'?><a>\x80</a>").expect("1252");
        assert_eq!(v[1], "t:\u{20ac}");
        assert_eq!(
            kind(b"<?xml version='1.0' encoding='windows-1252'?><a>\x81</a>"),
            ParseErrorKind::Undecodable {
                encoding: "windows-1252".into(),
                byte: 0x81
            }
        );
        assert_eq!(
            kind(b"<?xml version='1.0' encoding='Shift_JIS'?><a/>"),
            ParseErrorKind::UnsupportedEncoding("Shift_JIS".into())
        );
        assert_eq!(
            kind(b"<?xml version='1.0' encoding='UTF-8'?><a>\xe0</a>"),
            ParseErrorKind::NotUtf8
        );
    }
}
