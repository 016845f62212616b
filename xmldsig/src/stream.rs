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

use std::cell::Cell;
use std::io::BufRead;

use crate::encoding::{self, Encoding};
use crate::error::{ParseError, ParseErrorKind};
use crate::tree::{
    XML_NS, check_chars, check_name, check_ns_decl, is_ws, push_eol, qname_parts, resolve_ref,
};
use crate::{Attribute, Position};

/// Bytes read from the input at a time (more when one token is longer).
const CHUNK: usize = 64 * 1024;
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
    /// Skip (never load) one document type declaration before the root when it has no
    /// internal subset, as `<!DOCTYPE Segnatura SYSTEM "Segnatura.dtd">` (default false: any
    /// DOCTYPE is refused). One with an internal subset (`[...]`, where entities are declared)
    /// is always refused.
    pub allow_external_doctype: bool,
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
            allow_external_doctype: false,
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
    /// Sets whether a DOCTYPE without internal subset is skipped (see
    /// [`StreamOptions::allow_external_doctype`]).
    #[must_use]
    pub fn with_external_doctype_skipped(mut self, allow: bool) -> Self {
        self.allow_external_doctype = allow;
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
    /// The reader's window (names and values written as they are).
    win: &'a str,
    /// Attribute values that needed normalization.
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
        let (win, tag, scope) = (self.win, self.tag, self.scope);
        self.attrs.iter().map(move |a| Attribute {
            prefix: a.prefix.of(win),
            local_name: a.local.of(win),
            namespace: a.ns.of(scope),
            value: a.value.of(win, tag),
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
        let (win, tag, scope) = (self.win, self.tag, self.scope);
        self.attrs
            .iter()
            .find(|a| a.local.of(win) == local && a.ns.of(scope) == namespace)
            .map(|a| a.value.of(win, tag))
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

/// A byte range of one of the reader's buffers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Rg(usize, usize);

impl Rg {
    #[inline]
    fn of(self, s: &str) -> &str {
        s.get(self.0..self.1).unwrap_or("")
    }
    #[inline]
    fn push(buf: &mut String, s: &str) -> Rg {
        let st = buf.len();
        buf.push_str(s);
        Rg(st, buf.len())
    }
}

/// A piece of content: a range of the window (as written) or of an owned buffer (rewritten).
#[derive(Debug, Clone, Copy, Default)]
struct Src {
    own: bool,
    r: Rg,
}

impl Src {
    #[inline]
    fn of<'s>(self, win: &'s str, own: &'s str) -> &'s str {
        self.r.of(if self.own { own } else { win })
    }
}

/// A namespace: none, the `xml` one, or a URI of the scope buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ns {
    None,
    Xml,
    Scope(Rg),
}

impl Ns {
    #[inline]
    fn of(self, scope: &str) -> &str {
        match self {
            Ns::None => "",
            Ns::Xml => XML_NS,
            Ns::Scope(r) => r.of(scope),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct AttrRec {
    prefix: Rg,
    local: Rg,
    ns: Ns,
    value: Src,
}

#[derive(Debug, Clone, Copy)]
struct Binding {
    prefix: Rg,
    uri: Rg,
}

#[derive(Debug, Clone, Copy)]
struct Open {
    /// The qualified name in `names`.
    qname: Rg,
    /// Length of the prefix (0 when none).
    prefix_len: usize,
    ns: Ns,
    /// The default namespace in scope inside the element.
    dflt: Ns,
    scope_len: usize,
    scope_buf_len: usize,
}

/// An attribute as scanned: name and raw value, ranges of the window.
#[derive(Debug, Clone, Copy)]
struct RawRec {
    key: Rg,
    /// As [`scan_qname`] returns it.
    colon: Option<usize>,
    value: Rg,
}

/// A start tag as scanned.
#[derive(Debug, Clone, Copy)]
struct StartScan {
    name_end: usize,
    colon: Option<usize>,
    empty: bool,
    /// Index just after the `>`.
    end: usize,
}

/// The prefix and local part of the name at `r` of `win`, with `colon` as [`scan_qname`]
/// found it.
#[inline(always)]
fn split_at_colon(win: &str, r: Rg, colon: Option<usize>) -> Result<(&str, &str), ParseErrorKind> {
    let q = r.of(win);
    match colon {
        Some(0) => Ok(("", q)),
        Some(c) => Ok((
            win.get(r.0..c).unwrap_or(""),
            win.get(c + 1..r.1).unwrap_or(""),
        )),
        None => qname_parts(q),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    None,
    /// Emit the End of the top element (after `<a/>`).
    End,
    /// The End of the top element was emitted: pop it.
    Pop,
    Eof,
}

/// The event last returned, with where its content is.
#[derive(Debug, Clone, Copy)]
enum Cur {
    Text(Src),
    Start,
    End,
    Comment(Src),
    Pi(Src, Src),
    Eof,
}

/// What a scan of the window found.
enum Scan<T> {
    Done(T),
    /// The token goes on past the window: read more and scan again.
    More,
}

/// Character classes of the bytes of text and attribute values.
const C_CTRL: u8 = 1; // below 0x20 (tab, LF and CR included)
const C_AMP: u8 = 2;
const C_LT: u8 = 4;
const C_RSQB: u8 = 8;
const C_HIGH: u8 = 16;
const C_CR: u8 = 32;

#[inline]
fn classes(s: &[u8]) -> u8 {
    let mut f = 0u8;
    for &b in s {
        f |= u8::from(b < 0x20)
            | (u8::from(b == b'&') << 1)
            | (u8::from(b == b'<') << 2)
            | (u8::from(b == b']') << 3)
            | (u8::from(b >= 0x80) << 4)
            | (u8::from(b == b'\r') << 5);
    }
    f
}

/// True when `s` needs [`check_chars`] (a control character other than tab, LF and CR, or
/// non-ASCII).
#[inline]
fn needs_char_check(s: &[u8], f: u8) -> bool {
    f & C_HIGH != 0
        || (f & C_CTRL != 0
            && s.iter()
                .any(|&b| b < 0x20 && !matches!(b, b'\n' | b'\t' | b'\r')))
}

/// Line feeds in `b` (counted in blocks that the compiler vectorizes).
fn count_newlines(b: &[u8]) -> usize {
    b.chunks(128)
        .map(|c| usize::from(c.iter().fold(0u8, |n, &x| n + u8::from(x == b'\n'))))
        .sum()
}

const fn name_classes() -> [u8; 256] {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        let c = i as u8;
        t[i] = if c.is_ascii_alphanumeric() || c == b'_' || c == b'-' || c == b'.' {
            1
        } else if c == b':' {
            2
        } else if c >= 0x80 {
            3
        } else {
            0
        };
        i += 1;
    }
    t
}

/// Bytes of names: 1 ASCII name character, 2 `:`, 3 non-ASCII (checked later), 0 others.
static NAME_CLASS: [u8; 256] = name_classes();

/// Scans name bytes from `i` (ASCII name characters, `:` and any non-ASCII byte): returns
/// where the name ends and, when it is an ASCII `NCName` or `QName` (checked here as
/// [`qname_parts`]' fast path does), the index of its colon (0 when none). `None`: the name
/// needs [`qname_parts`] for the verdict.
#[inline]
fn scan_qname(b: &[u8], mut i: usize) -> (usize, Option<usize>) {
    let mut simple = b
        .get(i)
        .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_');
    let mut colon = 0;
    loop {
        let rest = b.get(i..).unwrap_or_default();
        i += rest
            .iter()
            .position(|&c| NAME_CLASS[c as usize] != 1)
            .unwrap_or(rest.len());
        match b.get(i).map(|&c| NAME_CLASS[c as usize]) {
            Some(2) => {
                simple &= colon == 0;
                colon = i;
            }
            Some(3) => simple = false,
            _ => break,
        }
        i += 1;
    }
    if simple
        && colon != 0
        && !(colon + 1 < i && b[colon + 1].is_ascii_alphabetic() || b.get(colon + 1) == Some(&b'_'))
    {
        simple = false;
    }
    (i, simple.then_some(colon))
}

/// Byte equality of two short strings (names) without a call to `memcmp`: eight bytes at a
/// time, then the rest byte by byte.
#[inline]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        let x = u64::from_ne_bytes(x.try_into().unwrap_or([0; 8]));
        let y = u64::from_ne_bytes(y.try_into().unwrap_or([0; 8]));
        if x != y {
            return false;
        }
    }
    let (ra, rb) = (ca.remainder(), cb.remainder());
    let mut diff = 0u8;
    for i in 0..ra.len().min(rb.len()) {
        diff |= ra[i] ^ rb[i];
    }
    diff == 0
}

/// The input below the tokenizer: a window of UTF-8 text (transcoded from a declared
/// single-byte encoding, checked once as it is read), the size limit, and line counting.
struct Input {
    encoding: Encoding,
    /// The window: text read and not yet discarded.
    buf: String,
    /// Stream offset (UTF-8, byte-order mark excluded) of `buf[0]`.
    base: u64,
    /// An incomplete UTF-8 sequence at the end of the last read.
    carry: Vec<u8>,
    /// Transcoding output.
    scratch: Vec<u8>,
    eof: bool,
    /// What stops reading (invalid bytes, the size limit, an I/O error), reported when the
    /// tokenizer needs bytes beyond the window.
    fault: Option<ParseErrorKind>,
    raw_read: u64,
    max: u64,
    /// Line at `buf[0]` and stream offset of that line's start.
    line0: u32,
    line_start0: u64,
    /// Lines counted in the window: up to this index, that line, and its start.
    counted: Cell<(usize, u32, u64)>,
}

impl Input {
    fn set_fault(&mut self, k: ParseErrorKind) {
        if self.fault.is_none() {
            self.fault = Some(k);
        }
    }

    /// Appends `bytes` (raw input) decoded; returns how many were taken (fewer at the size
    /// limit).
    fn push_raw(&mut self, bytes: &[u8]) -> usize {
        let allowed = usize::try_from(self.max.saturating_sub(self.raw_read)).unwrap_or(usize::MAX);
        let n = bytes.len().min(allowed);
        self.raw_read += n as u64;
        self.decode(&bytes[..n]);
        if n < bytes.len() {
            self.set_fault(ParseErrorKind::TooLarge {
                size: usize::try_from(self.raw_read + 1).unwrap_or(usize::MAX),
                limit: usize::try_from(self.max).unwrap_or(usize::MAX),
            });
        }
        n
    }

    fn decode(&mut self, bytes: &[u8]) {
        if self.encoding != Encoding::Utf8 {
            self.scratch.clear();
            let r = self.encoding.decode_into(bytes, &mut self.scratch);
            match std::str::from_utf8(&self.scratch) {
                Ok(s) => self.buf.push_str(s),
                Err(_) => self.set_fault(ParseErrorKind::NotUtf8),
            }
            if let Err(i) = r {
                self.set_fault(ParseErrorKind::Undecodable {
                    encoding: self.encoding.name().into(),
                    byte: bytes[i],
                });
            }
            return;
        }
        let mut b = bytes;
        while !self.carry.is_empty() && !b.is_empty() {
            self.carry.push(b[0]);
            b = &b[1..];
            match std::str::from_utf8(&self.carry) {
                Ok(s) => {
                    self.buf.push_str(s);
                    self.carry.clear();
                }
                Err(e) if e.error_len().is_some() || self.carry.len() >= 4 => {
                    self.set_fault(ParseErrorKind::NotUtf8);
                    return;
                }
                Err(_) => {}
            }
        }
        // The SIMD check first: valid input (the usual case) is pushed without the scalar
        // validation; on an error the standard library's check finds where it is.
        if let Ok(s) = simdutf8::basic::from_utf8(b) {
            self.buf.push_str(s);
            return;
        }
        match std::str::from_utf8(b) {
            Ok(s) => self.buf.push_str(s),
            Err(e) => {
                let valid = e.valid_up_to();
                if let Ok(s) = std::str::from_utf8(&b[..valid]) {
                    self.buf.push_str(s);
                }
                if e.error_len().is_none() {
                    self.carry.extend_from_slice(&b[valid..]);
                } else {
                    self.set_fault(ParseErrorKind::NotUtf8);
                }
            }
        }
    }

    /// Counts the lines of `buf[..idx]` from the last count (or from the window's start).
    fn lines_to(&self, idx: usize) -> (u32, u64) {
        let idx = idx.min(self.buf.len());
        let (ci, cl, cs) = self.counted.get();
        let (from, mut line, mut start) = if ci <= idx {
            (ci, cl, cs)
        } else {
            (0, self.line0, self.line_start0)
        };
        let chunk = &self.buf.as_bytes()[from..idx];
        let n = count_newlines(chunk);
        if n > 0 {
            line = line.saturating_add(u32::try_from(n).unwrap_or(u32::MAX));
            if let Some(last) = memchr::memrchr(b'\n', chunk) {
                start = self.base + (from + last + 1) as u64;
            }
        }
        self.counted.set((idx, line, start));
        (line, start)
    }

    /// Discards `buf[..keep]` and reads at least as much again as the window then holds.
    /// `Ok(false)` at the end of the input.
    fn fill<R: BufRead>(&mut self, inner: &mut R, keep: usize) -> Result<bool, ParseErrorKind> {
        if let Some(k) = &self.fault {
            return Err(k.clone());
        }
        if self.eof {
            return Ok(false);
        }
        if keep > 0 && self.buf.is_char_boundary(keep) {
            let (line, start) = self.lines_to(keep);
            self.line0 = line;
            self.line_start0 = start;
            self.buf.drain(..keep);
            self.base += keep as u64;
            self.counted.set((0, line, start));
        }
        let want = CHUNK.max(self.buf.len());
        let before = self.buf.len();
        let mut taken = 0usize;
        while taken < want && self.fault.is_none() {
            let chunk = match inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.set_fault(ParseErrorKind::Io(e.to_string()));
                    break;
                }
            };
            if chunk.is_empty() {
                self.eof = true;
                if !self.carry.is_empty() {
                    self.set_fault(ParseErrorKind::NotUtf8);
                }
                break;
            }
            let n = chunk.len().min(want - taken);
            let used = self.push_raw(&chunk[..n]);
            inner.consume(used);
            taken += used;
            if used < n {
                break;
            }
        }
        if self.buf.len() > before {
            return Ok(true);
        }
        match &self.fault {
            Some(k) => Err(k.clone()),
            None => Ok(false),
        }
    }
}

/// A hardened pull reader over any buffered input; see the [module documentation](self).
pub struct Reader<R: BufRead> {
    inner: R,
    input: Input,
    opts: StreamOptions,
    /// Index in the window of the next byte to read.
    pos: usize,
    started: bool,
    seen_root: bool,
    seen_doctype: bool,
    elements: u64,
    /// Text, comment and PI content that needed rewriting.
    text: String,
    /// Normalized attribute values of the last start tag.
    tag: String,
    attrs: Vec<AttrRec>,
    raw: Vec<RawRec>,
    /// Qualified names of the open elements.
    names: String,
    open: Vec<Open>,
    scope: Vec<Binding>,
    scope_buf: String,
    pending: Pending,
    cur: Cur,
    /// Offset of the BOM skipped before the window's first byte.
    bom: u64,
    /// Stream offset of the current event's start.
    at: u64,
    tag_empty: bool,
    /// Stream offset just after the last start tag.
    tag_end: u64,
    tag_at: u64,
}

impl<R: BufRead> std::fmt::Debug for Reader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("offset", &self.offset())
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
        let inner = input;
        let input = Input {
            encoding: Encoding::Utf8,
            buf: String::new(),
            base: 0,
            carry: Vec::new(),
            scratch: Vec::new(),
            eof: false,
            fault: None,
            raw_read: 0,
            max: opts.max_size,
            line0: 1,
            line_start0: 0,
            counted: Cell::new((0, 1, 0)),
        };
        Reader {
            inner,
            input,
            opts,
            pos: 0,
            started: false,
            seen_root: false,
            seen_doctype: false,
            elements: 0,
            text: String::with_capacity(256),
            tag: String::with_capacity(256),
            attrs: Vec::with_capacity(8),
            raw: Vec::with_capacity(8),
            names: String::with_capacity(256),
            open: Vec::with_capacity(16),
            scope: Vec::with_capacity(8),
            scope_buf: String::with_capacity(256),
            pending: Pending::None,
            cur: Cur::Eof,
            bom: 0,
            at: 0,
            tag_empty: false,
            tag_end: 0,
            tag_at: 0,
        }
    }

    /// Where the current event (the one last returned, or the error) starts.
    #[must_use]
    pub fn position(&self) -> Position {
        self.position_of(self.at)
    }

    fn position_of(&self, at: u64) -> Position {
        let inp = &self.input;
        let (line, start) = if at >= inp.base {
            inp.lines_to(usize::try_from(at - inp.base).unwrap_or(usize::MAX))
        } else {
            (inp.line0, inp.line_start0.min(at))
        };
        Position {
            line,
            column: u32::try_from(at.saturating_sub(start) + 1).unwrap_or(u32::MAX),
            offset: u32::try_from(at + self.bom).unwrap_or(u32::MAX),
        }
    }

    /// Byte offset of the current event's start (in the UTF-8 form of the input: for a
    /// document in a single-byte encoding, after decoding).
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.at + self.bom
    }

    /// Byte offset just after the last event read.
    #[must_use]
    pub fn end_offset(&self) -> u64 {
        self.input.base + self.pos as u64 + self.bom
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
        self.input.encoding.name()
    }

    fn err(&self, kind: ParseErrorKind) -> ParseError {
        self.err_at(self.at, kind)
    }

    fn err_at(&self, at: u64, kind: ParseErrorKind) -> ParseError {
        let p = self.position_of(at);
        ParseError {
            kind,
            line: p.line,
            column: p.column,
        }
    }

    /// Stream offset of window index `i`.
    fn off(&self, i: usize) -> u64 {
        self.input.base + i as u64
    }

    /// Reads more input, keeping the window from the current event's start (the window is
    /// compacted: `self.pos` moves). `Ok(false)` at the end of the input.
    fn more(&mut self) -> Result<bool, ParseError> {
        let keep = usize::try_from(self.at.saturating_sub(self.input.base))
            .unwrap_or(0)
            .min(self.pos);
        let base = self.input.base;
        let r = self.input.fill(&mut self.inner, keep);
        let moved = usize::try_from(self.input.base - base).unwrap_or(0);
        self.pos -= moved.min(self.pos);
        r.map_err(|k| self.err(k))
    }

    /// Reads the byte-order mark and the XML declaration to choose the decoding.
    fn start(&mut self) -> Result<(), ParseError> {
        self.started = true;
        let mut prefix = Vec::new();
        loop {
            let b = match self.inner.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.err(ParseErrorKind::Io(e.to_string()))),
            };
            if b.is_empty() {
                break;
            }
            let want = encoding::PREFIX_LEN - prefix.len();
            let n = b.len().min(want);
            prefix.extend_from_slice(&b[..n]);
            self.inner.consume(n);
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
        self.input.encoding = sniffed.encoding;
        self.bom = sniffed.bom as u64;
        self.input.raw_read = 0;
        let bom = sniffed.bom.min(prefix.len());
        self.input.raw_read = bom as u64;
        self.input.push_raw(&prefix[bom..]);
        Ok(())
    }

    fn pop(&mut self) {
        if let Some(o) = self.open.pop() {
            self.names.truncate(o.qname.0);
            self.scope.truncate(o.scope_len);
            self.scope_buf.truncate(o.scope_buf_len);
        }
    }

    /// The name of the innermost open element: after a [`Event::Start`], that element (also
    /// for an empty-element tag, until its [`Event::End`] has been read past); after an
    /// [`Event::End`], the element that ended. Lets a caller that keeps the last start tag's
    /// name for later compare it here instead of copying it.
    #[inline]
    pub fn current_name(&self) -> Name<'_> {
        self.top_name()
    }

    #[inline(always)]
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

    #[inline(always)]
    fn open_name(&self, o: &Open) -> Name<'_> {
        let q = o.qname.of(&self.names);
        let (prefix, local) = if o.prefix_len == 0 {
            ("", q)
        } else {
            (
                q.get(..o.prefix_len).unwrap_or(""),
                q.get(o.prefix_len + 1..).unwrap_or(""),
            )
        };
        Name {
            prefix,
            local,
            namespace: o.ns.of(&self.scope_buf),
        }
    }

    #[inline(always)]
    fn event(&self) -> Event<'_> {
        let win = self.input.buf.as_str();
        match self.cur {
            Cur::Text(s) => Event::Text(s.of(win, &self.text)),
            Cur::Comment(s) => Event::Comment(s.of(win, &self.text)),
            Cur::Pi(t, d) => Event::ProcessingInstruction {
                target: t.of(win, &self.text),
                data: d.of(win, &self.text),
            },
            Cur::End => Event::End(self.top_name()),
            Cur::Eof => Event::Eof,
            Cur::Start => {
                let o = self.open.last().copied().unwrap_or(Open {
                    qname: Rg::default(),
                    prefix_len: 0,
                    ns: Ns::None,
                    dflt: Ns::None,
                    scope_len: 0,
                    scope_buf_len: 0,
                });
                Event::Start(StartTag {
                    name: self.open_name(&o),
                    qname: o.qname.of(&self.names),
                    win,
                    tag: &self.tag,
                    attrs: &self.attrs,
                    decls: self.scope.get(o.scope_len..).unwrap_or(&[]),
                    scope: &self.scope_buf,
                    empty: self.tag_empty,
                    span: (self.tag_at + self.bom, self.tag_end + self.bom),
                })
            }
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
            Pending::End => {
                self.at = self.tag_at;
                self.pending = Pending::Pop;
                self.cur = Cur::End;
                return Ok(self.event());
            }
            Pending::Eof => {
                self.cur = Cur::Eof;
                return Ok(Event::Eof);
            }
        }
        if !self.started {
            self.start()?;
        }
        loop {
            self.at = self.off(self.pos);
            if self.pos >= self.input.buf.len() && !self.more()? {
                return self.eof();
            }
            let b = self.input.buf.as_bytes()[self.pos];
            let done = if b == b'<' {
                self.markup()?
            } else {
                self.text_run()?
            };
            if done {
                return Ok(self.event());
            }
        }
    }

    fn eof(&mut self) -> Result<Event<'_>, ParseError> {
        if let Some(o) = self.open.last() {
            let q = o.qname.of(&self.names).to_owned();
            return Err(self.err(ParseErrorKind::UnclosedElement(q)));
        }
        if !self.seen_root {
            return Err(self.err(ParseErrorKind::NoRoot));
        }
        self.pending = Pending::Eof;
        self.cur = Cur::Eof;
        Ok(Event::Eof)
    }

    /// Makes sure `n` bytes from `self.pos` are in the window (fewer only at the end of the
    /// input). `self.pos` may move (the window is compacted).
    fn ensure(&mut self, n: usize) -> Result<(), ParseError> {
        while self.input.buf.len() - self.pos < n {
            if !self.more()? {
                break;
            }
        }
        Ok(())
    }

    fn syntax(&self, at: usize, msg: &str) -> ParseError {
        self.err_at(self.off(at), ParseErrorKind::Syntax(msg.into()))
    }

    /// Runs `scan` on the window until it has the whole token; `Ok(None)` when the input ends
    /// first.
    fn scan<T>(
        &mut self,
        mut scan: impl FnMut(&mut Self) -> Result<Scan<T>, ParseError>,
    ) -> Result<Option<T>, ParseError> {
        // After the input ends the scan runs once more, to see the window as final.
        let mut ended = false;
        loop {
            match scan(self)? {
                Scan::Done(t) => return Ok(Some(t)),
                Scan::More if ended => return Ok(None),
                Scan::More => ended = !self.more()?,
            }
        }
    }

    /// Index of `needle` at or after `from` in the window.
    fn find(&self, from: usize, needle: &[u8]) -> Option<usize> {
        let b = self.input.buf.as_bytes();
        let hay = b.get(from..)?;
        let at = if needle.len() == 1 {
            memchr::memchr(needle[0], hay)
        } else {
            memchr::memmem::find(hay, needle)
        };
        at.map(|i| from + i)
    }

    /// A token starting with `<` at `self.pos`. True when it is an event to return.
    fn markup(&mut self) -> Result<bool, ParseError> {
        self.ensure(9)?;
        let b = &self.input.buf.as_bytes()[self.pos..];
        match b.get(1).copied() {
            Some(b'/') => self.end_tag(),
            Some(b'?') => self.pi(),
            Some(b'!') => {
                if b.starts_with(b"<!--") {
                    self.comment()
                } else if b.starts_with(b"<![CDATA[") {
                    self.text_run()
                } else if b.starts_with(b"<!DOCTYPE") {
                    self.doctype()
                } else {
                    Err(self.syntax(self.pos, "unknown markup after '<!'"))
                }
            }
            Some(_) => self.start_tag(),
            None => Err(self.syntax(self.pos, "unexpected end of input after '<'")),
        }
    }

    /// A DOCTYPE: refused, or skipped when the options allow one without internal subset
    /// before the root.
    fn doctype(&mut self) -> Result<bool, ParseError> {
        if !self.opts.allow_external_doctype || self.seen_root || self.seen_doctype {
            return Err(self.err(ParseErrorKind::Doctype));
        }
        // The end: the first '>' outside quotes; an internal subset ('[') is refused.
        let end = self.scan(|r| {
            let b = &r.input.buf.as_bytes()[r.pos..];
            let mut quote = 0u8;
            for (i, &c) in b.iter().enumerate().skip(9) {
                if quote != 0 {
                    if c == quote {
                        quote = 0;
                    }
                } else if c == b'"' || c == b'\'' {
                    quote = c;
                } else if c == b'[' {
                    return Err(r.err(ParseErrorKind::Doctype));
                } else if c == b'>' {
                    return Ok(Scan::Done(r.pos + i + 1));
                }
            }
            if b.len() > 4096 {
                return Err(r.err(ParseErrorKind::Doctype));
            }
            Ok(Scan::More)
        })?;
        let Some(end) = end else {
            return Err(self.syntax(self.pos, "unterminated DOCTYPE"));
        };
        let body = self.input.buf.get(self.pos + 9..end - 1).unwrap_or("");
        if !body.starts_with([' ', '\t', '\n', '\r']) || body.trim().is_empty() {
            return Err(self.syntax(self.pos, "malformed DOCTYPE"));
        }
        self.seen_doctype = true;
        self.pos = end;
        Ok(false)
    }

    fn end_tag(&mut self) -> Result<bool, ParseError> {
        // Fast path: `</` and the open element's name right before `>` (what the general
        // path below accepts too, as a name has no `>`).
        if let Some(top) = self.open.last() {
            let q = top.qname.of(&self.names).as_bytes();
            let b = self.input.buf.as_bytes();
            let s = self.pos + 2;
            if b.get(s + q.len()) == Some(&b'>') && same_bytes(&b[s..s + q.len()], q) {
                self.pos = s + q.len() + 1;
                self.pending = Pending::Pop;
                self.cur = Cur::End;
                return Ok(true);
            }
        }
        let Some(gt) = self.scan(|r| {
            Ok(match r.find(r.pos + 2, b">") {
                Some(i) => Scan::Done(i),
                None if r.input.buf.len() - r.pos > r.opts.max_name_len + 64 => {
                    return Err(r.syntax(r.pos, "unterminated end tag"));
                }
                None => Scan::More,
            })
        })?
        else {
            return Err(self.syntax(self.pos, "unterminated end tag"));
        };
        let win = &self.input.buf;
        let content = win.get(self.pos + 2..gt).unwrap_or("");
        let found = content.trim_end_matches([' ', '\t', '\n', '\r']);
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
        self.pos = gt + 1;
        self.pending = Pending::Pop;
        self.cur = Cur::End;
        Ok(true)
    }

    fn comment(&mut self) -> Result<bool, ParseError> {
        let limit = self.opts.max_text_len;
        let Some(end) = self.scan(|r| {
            Ok(match r.find(r.pos + 4, b"-->") {
                Some(i) => Scan::Done(i),
                None if r.input.buf.len() - r.pos > limit.saturating_add(7) => {
                    return Err(r.err(ParseErrorKind::TextTooLong { limit }));
                }
                None => Scan::More,
            })
        })?
        else {
            return Err(self.syntax(self.pos, "unterminated comment"));
        };
        self.text.clear();
        let start = self.pos + 4;
        let raw = self.input.buf.get(start..end).unwrap_or("");
        let f = classes(raw.as_bytes());
        if needs_char_check(raw.as_bytes(), f) {
            check_chars(raw).map_err(|k| self.err(k))?;
        }
        if memchr::memmem::find(raw.as_bytes(), b"--").is_some() {
            return Err(self.err(ParseErrorKind::Syntax("'--' in comment".into())));
        }
        if raw.ends_with('-') {
            return Err(self.err(ParseErrorKind::Syntax("comment ends with '-'".into())));
        }
        if raw.len() > limit {
            return Err(self.err(ParseErrorKind::TextTooLong { limit }));
        }
        let src = self.eol(Rg(start, end), f);
        self.pos = end + 3;
        self.cur = Cur::Comment(src);
        Ok(true)
    }

    /// `r` of the window, with line endings normalized into `self.text` when it has a CR.
    fn eol(&mut self, r: Rg, f: u8) -> Src {
        let raw = r.of(&self.input.buf);
        if f & C_CR == 0 {
            return Src { own: false, r };
        }
        let st = self.text.len();
        push_eol(&mut self.text, raw);
        Src {
            own: true,
            r: Rg(st, self.text.len()),
        }
    }

    fn pi(&mut self) -> Result<bool, ParseError> {
        let limit = self.opts.max_text_len;
        let Some(end) = self.scan(|r| {
            Ok(match r.find(r.pos + 2, b"?>") {
                Some(i) => Scan::Done(i),
                None if r.input.buf.len() - r.pos
                    > limit.saturating_add(r.opts.max_name_len).saturating_add(8) =>
                {
                    return Err(r.err(ParseErrorKind::TextTooLong { limit }));
                }
                None => Scan::More,
            })
        })?
        else {
            return Err(self.syntax(self.pos, "unterminated processing instruction"));
        };
        self.text.clear();
        let start = self.pos + 2;
        let win = &self.input.buf;
        let body = win.get(start..end).unwrap_or("");
        let tlen = body.bytes().position(is_ws).unwrap_or(body.len());
        let target = &body[..tlen];
        let first = self.at == 0;
        if target == "xml" && first {
            let declared = crate::wf::xml_decl(&body.as_bytes()[3..])
                .map_err(|m| self.err(ParseErrorKind::Syntax(m)))?;
            if let Some(label) = declared {
                let e = Encoding::from_label(label).map_err(|k| self.err(k))?;
                if e != self.input.encoding {
                    return Err(self.err(ParseErrorKind::UnsupportedEncoding(
                        String::from_utf8_lossy(label).into_owned(),
                    )));
                }
            }
            self.pos = end + 2;
            return Ok(false);
        }
        if target.len() > self.opts.max_name_len {
            return Err(self.err(ParseErrorKind::NameTooLong {
                limit: self.opts.max_name_len,
            }));
        }
        check_name(target).map_err(|k| self.err(k))?;
        if target.eq_ignore_ascii_case("xml") {
            return Err(self.err(ParseErrorKind::Syntax(if target == "xml" {
                "XML declaration not at the start".into()
            } else {
                "misplaced XML declaration".into()
            })));
        }
        let data = body[tlen..].trim_start_matches([' ', '\t', '\n', '\r']);
        let ds = end - data.len();
        let f = classes(data.as_bytes());
        if needs_char_check(data.as_bytes(), f) {
            check_chars(data).map_err(|k| self.err(k))?;
        }
        if data.len() > limit {
            return Err(self.err(ParseErrorKind::TextTooLong { limit }));
        }
        let d = self.eol(Rg(ds, end), f);
        self.pos = end + 2;
        self.cur = Cur::Pi(
            Src {
                own: false,
                r: Rg(start, start + tlen),
            },
            d,
        );
        Ok(true)
    }

    /// A run of character data from `self.pos`: text, references and CDATA sections up to the
    /// next other markup. Outside the root only white space is allowed (and not reported).
    fn text_run(&mut self) -> Result<bool, ParseError> {
        let outside = self.open.is_empty();
        let limit = self.opts.max_text_len;
        let mut owned = false;
        self.text.clear();
        loop {
            let cdata = self.input.buf.as_bytes()[self.pos..].starts_with(b"<![CDATA[");
            if cdata {
                let piece_at = self.off(self.pos);
                if outside {
                    return Err(self.err_at(
                        piece_at,
                        ParseErrorKind::OutsideRoot("CDATA section".into()),
                    ));
                }
                let Some(end) = self.scan(|r| {
                    Ok(match r.find(r.pos + 9, b"]]>") {
                        Some(i) => Scan::Done(i),
                        None if r.input.buf.len() - r.pos > limit.saturating_add(12) => {
                            return Err(r.err(ParseErrorKind::TextTooLong { limit }));
                        }
                        None => Scan::More,
                    })
                })?
                else {
                    return Err(self.syntax(self.pos, "unterminated CDATA section"));
                };
                let raw = self.input.buf.get(self.pos + 9..end).unwrap_or("");
                let f = classes(raw.as_bytes());
                if needs_char_check(raw.as_bytes(), f) {
                    check_chars(raw).map_err(|k| self.err_at(piece_at, k))?;
                }
                push_eol(&mut self.text, raw);
                owned = true;
                self.pos = end + 3;
            } else {
                // Text up to the next '<', with 9 bytes after it to tell a CDATA section.
                let scanned = self.scan(|r| {
                    let b = r.input.buf.as_bytes();
                    let hay = &b[r.pos..];
                    match memchr::memchr(b'<', hay) {
                        Some(i) if r.pos + i + 9 <= b.len() || r.input.eof => {
                            Ok(Scan::Done((r.pos + i, classes(&hay[..i]))))
                        }
                        Some(_) => Ok(Scan::More),
                        None if hay.len() > limit => {
                            Err(r.err(ParseErrorKind::TextTooLong { limit }))
                        }
                        None if r.input.eof => Ok(Scan::Done((b.len(), classes(hay)))),
                        None => Ok(Scan::More),
                    }
                })?;
                let (lt, f) = match scanned {
                    Some(x) => x,
                    None => {
                        // The input ended (the window holds the rest).
                        let hay = &self.input.buf.as_bytes()[self.pos..];
                        (self.input.buf.len(), classes(hay))
                    }
                };
                let seg = Rg(self.pos, lt);
                self.text_piece(seg, f, outside)?;
                let next_cdata = self.input.buf.as_bytes()[lt..].starts_with(b"<![CDATA[");
                if !owned && !next_cdata && f & (C_AMP | C_CR) == 0 {
                    if outside {
                        self.pos = lt;
                        return Ok(false);
                    }
                    if lt - self.pos > limit {
                        return Err(self.err(ParseErrorKind::TextTooLong { limit }));
                    }
                    self.pos = lt;
                    self.cur = Cur::Text(Src { own: false, r: seg });
                    return Ok(true);
                }
                if !outside {
                    self.push_text(seg, f)?;
                    owned = true;
                }
                self.pos = lt;
            }
            if self.text.len() > limit {
                return Err(self.err(ParseErrorKind::TextTooLong { limit }));
            }
            // Does the run go on?
            self.ensure(9)?;
            let b = &self.input.buf.as_bytes()[self.pos..];
            if b.is_empty() || (b[0] == b'<' && !b.starts_with(b"<![CDATA[")) {
                break;
            }
        }
        if outside || self.text.is_empty() {
            return Ok(false);
        }
        self.cur = Cur::Text(Src {
            own: true,
            r: Rg(0, self.text.len()),
        });
        Ok(true)
    }

    /// Checks a text segment (no markup inside).
    fn text_piece(&self, seg: Rg, f: u8, outside: bool) -> Result<(), ParseError> {
        let raw = seg.of(&self.input.buf);
        let piece_at = self.off(seg.0);
        if outside {
            if raw.bytes().all(is_ws) {
                return Ok(());
            }
            let t = raw.trim_start_matches([' ', '\t', '\n', '\r']);
            let what = if t.starts_with('&') {
                "entity reference".to_owned()
            } else {
                let snippet: String = t.chars().take(20).collect();
                format!("text {snippet:?}")
            };
            return Err(self.err_at(piece_at, ParseErrorKind::OutsideRoot(what)));
        }
        if needs_char_check(raw.as_bytes(), f) {
            check_chars(raw).map_err(|k| self.err_at(piece_at, k))?;
        }
        if f & C_RSQB != 0 && memchr::memmem::find(raw.as_bytes(), b"]]>").is_some() {
            return Err(self.err_at(piece_at, ParseErrorKind::Syntax("']]>' in text".into())));
        }
        if f & C_AMP != 0 {
            // References are checked here so that a run that ends up borrowed has none.
            let b = raw.as_bytes();
            for amp in memchr::memchr_iter(b'&', b) {
                let Some(semi) = memchr::memchr(b';', &b[amp..]) else {
                    return Err(self.err_at(
                        piece_at + amp as u64,
                        ParseErrorKind::Syntax("unterminated reference".into()),
                    ));
                };
                resolve_ref(&raw[amp + 1..amp + semi])
                    .map_err(|k| self.err_at(piece_at + amp as u64, k))?;
            }
        }
        Ok(())
    }

    /// Appends a checked text segment to `self.text`, references resolved and line endings
    /// normalized (a reference is character data as it is: `&#13;` stays a CR).
    fn push_text(&mut self, seg: Rg, f: u8) -> Result<(), ParseError> {
        let raw = seg.of(&self.input.buf);
        if f & C_AMP == 0 {
            push_eol(&mut self.text, raw);
            return Ok(());
        }
        let mut rest = raw;
        while let Some(amp) = rest.find('&') {
            push_eol(&mut self.text, &rest[..amp]);
            let semi = rest[amp..].find(';').unwrap_or(rest.len() - amp);
            let name = rest.get(amp + 1..amp + semi).unwrap_or("");
            let c = resolve_ref(name).map_err(|k| self.err(k))?;
            self.text.push(c);
            rest = rest.get(amp + semi + 1..).unwrap_or("");
        }
        push_eol(&mut self.text, rest);
        Ok(())
    }

    #[inline]
    fn lookup(&self, prefix: &str) -> Option<Rg> {
        self.scope
            .iter()
            .rev()
            .find(|b| b.prefix.of(&self.scope_buf) == prefix)
            .map(|b| b.uri)
    }

    /// Scans a start tag from `self.pos` into `self.raw`: the end of its name, whether it is
    /// empty, and the index after its `>`.
    fn scan_start(&mut self) -> Result<Scan<StartScan>, ParseError> {
        self.raw.clear();
        let b = self.input.buf.as_bytes();
        let len = b.len();
        let (mut i, colon) = scan_qname(b, self.pos + 1);
        let name_end = i;
        if name_end == self.pos + 1 && i < len {
            return Err(self.syntax(self.pos, "'<' not followed by a name"));
        }
        if name_end - self.pos - 1 > self.opts.max_name_len {
            return Err(self.err(ParseErrorKind::NameTooLong {
                limit: self.opts.max_name_len,
            }));
        }
        loop {
            let ws_start = i;
            while i < len && is_ws(b[i]) {
                i += 1;
            }
            if i >= len {
                return Ok(Scan::More);
            }
            match b[i] {
                b'>' => {
                    return Ok(Scan::Done(StartScan {
                        name_end,
                        colon,
                        empty: false,
                        end: i + 1,
                    }));
                }
                b'/' => {
                    return match b.get(i + 1) {
                        None => Ok(Scan::More),
                        Some(b'>') => Ok(Scan::Done(StartScan {
                            name_end,
                            colon,
                            empty: true,
                            end: i + 2,
                        })),
                        Some(_) => Err(self.syntax(self.pos, "'/' not followed by '>' in a tag")),
                    };
                }
                _ => {}
            }
            if i == ws_start {
                return Err(if i == name_end {
                    let n = self.input.buf.get(self.pos + 1..=i).unwrap_or("");
                    self.err(ParseErrorKind::Syntax(format!("invalid name {n:?}")))
                } else {
                    self.syntax(self.pos, "missing whitespace before attribute")
                });
            }
            if self.raw.len() >= self.opts.max_attributes {
                return Err(self.err(ParseErrorKind::TooManyAttributes {
                    limit: self.opts.max_attributes,
                }));
            }
            let ks = i;
            let (ke, kcolon) = scan_qname(b, i);
            i = ke;
            if i == ks && i < len {
                return Err(self.syntax(self.pos, "attribute name expected"));
            }
            if i - ks > self.opts.max_name_len {
                return Err(self.err(ParseErrorKind::NameTooLong {
                    limit: self.opts.max_name_len,
                }));
            }
            let key = Rg(ks, i);
            while i < len && is_ws(b[i]) {
                i += 1;
            }
            if i >= len {
                return Ok(Scan::More);
            }
            if b[i] != b'=' {
                let k = key.of(&self.input.buf);
                return Err(self.err(ParseErrorKind::Syntax(format!(
                    "expected '=' after attribute name {k:?}"
                ))));
            }
            i += 1;
            while i < len && is_ws(b[i]) {
                i += 1;
            }
            if i >= len {
                return Ok(Scan::More);
            }
            let quote = b[i];
            if quote != b'"' && quote != b'\'' {
                let k = key.of(&self.input.buf);
                return Err(self.err(ParseErrorKind::Syntax(format!(
                    "unquoted value of attribute {k:?}"
                ))));
            }
            i += 1;
            let Some(vl) = memchr::memchr(quote, &b[i..]) else {
                return Ok(Scan::More);
            };
            self.raw.push(RawRec {
                key,
                colon: kcolon,
                value: Rg(i, i + vl),
            });
            i += vl + 1;
        }
    }

    /// A start tag at `self.pos`: checks and records its name, attributes and namespace
    /// declarations.
    fn start_tag(&mut self) -> Result<bool, ParseError> {
        if self.open.is_empty() && self.seen_root {
            return Err(self.err(ParseErrorKind::OutsideRoot("second root element".into())));
        }
        if self.elements >= self.opts.max_elements {
            return Err(self.err(ParseErrorKind::TooManyElements {
                limit: usize::try_from(self.opts.max_elements).unwrap_or(usize::MAX),
            }));
        }
        if self.open.len() >= self.opts.max_depth {
            return Err(self.err(ParseErrorKind::TooDeep {
                limit: self.opts.max_depth,
            }));
        }
        let Some(StartScan {
            name_end,
            colon,
            empty,
            end,
        }) = self.scan(Self::scan_start)?
        else {
            return Err(self.syntax(self.pos, "unterminated start tag"));
        };
        self.elements += 1;
        self.seen_root = true;
        let tag_start = self.pos;
        let win = self.input.buf.as_str();
        let qr = Rg(tag_start + 1, name_end);
        let qname = qr.of(win);
        let (prefix, _) = split_at_colon(win, qr, colon).map_err(|k| self.err(k))?;
        let prefix_len = prefix.len();
        let scope_len = self.scope.len();
        let scope_buf_len = self.scope_buf.len();
        self.tag.clear();
        self.attrs.clear();
        let mut prefixed = false;
        for n in 0..self.raw.len() {
            let RawRec { key, colon, value } = self.raw[n];
            let win = self.input.buf.as_str();
            let k = key.of(win);
            let (ap, al) = split_at_colon(win, key, colon).map_err(|e| self.err(e))?;
            let v = value.of(win);
            let f = classes(v.as_bytes());
            if needs_char_check(v.as_bytes(), f) {
                check_chars(v).map_err(|e| self.err(e))?;
            }
            let is_decl = ap.is_empty() && al == "xmlns" || ap == "xmlns";
            if is_decl {
                let p = if ap.is_empty() { "" } else { al };
                let pr = Rg::push(&mut self.scope_buf, p);
                let st = self.scope_buf.len();
                crate::tree::push_attr_value(&mut self.scope_buf, v).map_err(|e| self.err(e))?;
                let ur = Rg(st, self.scope_buf.len());
                check_ns_decl(p, ur.of(&self.scope_buf)).map_err(|e| self.err(e))?;
                if self.scope[scope_len..]
                    .iter()
                    .any(|b| b.prefix.of(&self.scope_buf) == p)
                {
                    return Err(self.err(ParseErrorKind::DuplicateAttribute(k.to_owned())));
                }
                self.scope.push(Binding {
                    prefix: pr,
                    uri: ur,
                });
                continue;
            }
            let value = if f & (C_AMP | C_LT | C_CTRL) == 0 {
                Src {
                    own: false,
                    r: value,
                }
            } else {
                let st = self.tag.len();
                crate::tree::push_attr_value(&mut self.tag, v).map_err(|e| self.err(e))?;
                Src {
                    own: true,
                    r: Rg(st, self.tag.len()),
                }
            };
            let (prefix, local) = if ap.is_empty() {
                (Rg(key.0, key.0), key)
            } else {
                (Rg(key.0, key.0 + ap.len()), Rg(key.0 + ap.len() + 1, key.1))
            };
            prefixed |= !ap.is_empty();
            self.attrs.push(AttrRec {
                prefix,
                local,
                ns: Ns::None,
                value,
            });
        }
        let win = self.input.buf.as_str();
        if prefixed {
            for n in 0..self.attrs.len() {
                let ap = self.attrs[n].prefix.of(win);
                if ap.is_empty() {
                    continue;
                }
                let ns = if ap == "xml" {
                    Ns::Xml
                } else {
                    match self.lookup(ap) {
                        Some(u) => Ns::Scope(u),
                        None => {
                            return Err(self.err(ParseErrorKind::UnboundPrefix(ap.to_owned())));
                        }
                    }
                };
                self.attrs[n].ns = ns;
            }
        }
        // Duplicate expanded names.
        for (n, a) in self.attrs.iter().enumerate() {
            let al = a.local.of(win);
            let ans = a.ns.of(&self.scope_buf);
            for b in &self.attrs[..n] {
                if al == b.local.of(win) && ans == b.ns.of(&self.scope_buf) {
                    let p = a.prefix.of(win);
                    let q = if p.is_empty() {
                        al.to_owned()
                    } else {
                        format!("{p}:{al}")
                    };
                    return Err(self.err(ParseErrorKind::DuplicateAttribute(q)));
                }
            }
        }
        // The default namespace: the parent's unless this tag declares namespaces.
        let dflt = match self.open.last() {
            Some(o) if self.scope.len() == scope_len => o.dflt,
            _ => match self.lookup("") {
                Some(r) if r.0 != r.1 => Ns::Scope(r),
                _ => Ns::None,
            },
        };
        let ns = if prefix.is_empty() {
            dflt
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
            prefix_len,
            ns,
            dflt,
            scope_len,
            scope_buf_len,
        });
        self.tag_at = self.at;
        self.tag_end = self.off(end);
        self.tag_empty = empty;
        self.pos = end;
        self.pending = if empty { Pending::End } else { Pending::None };
        self.cur = Cur::Start;
        Ok(true)
    }
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
