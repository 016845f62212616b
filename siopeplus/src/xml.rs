//! Hardened XML reading: a small element tree per unit (one order, one message), with bounded
//! depth and size, no DTDs, and a cursor that reads children in schema order.

use std::io::BufRead;
use std::str::FromStr;

use xmldsig::ParseErrorKind as XmlKind;
use xmldsig::stream::{Event, Reader, StreamOptions};

use crate::error::{ParseError, ParseErrorKind};

/// Limits applied while reading XML.
#[derive(Debug, Clone, Copy)]
pub struct XmlLimits {
    /// Deepest element nesting accepted.
    pub max_depth: usize,
    /// Largest unit (one order, or a whole message) in bytes.
    pub max_unit_bytes: u64,
}

impl Default for XmlLimits {
    fn default() -> Self {
        XmlLimits {
            max_depth: 64,
            max_unit_bytes: 64 * 1024 * 1024,
        }
    }
}

/// An element with its text and children. Attributes are not kept except `Id` (read separately).
#[derive(Debug, Clone, Default)]
pub(crate) struct Node {
    pub(crate) name: String,
    pub(crate) text: String,
    pub(crate) children: Vec<Node>,
    pub(crate) pos: u64,
}

/// Elements whose content is kept verbatim as XML (`anyTAG`).
pub(crate) fn is_raw(name: &str) -> bool {
    name.starts_with("dati_a_disposizione_ente") && !name.ends_with("_MIUR")
        || name == "dati_a_disposizione_BT"
}

/// Appends `[i]` (an XPath position) to `path` without going through `fmt`.
pub(crate) fn push_index(path: &mut String, i: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut n = i;
    loop {
        at -= 1;
        // `n % 10` is below 10, so the cast cannot truncate.
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    path.push('[');
    for &d in &digits[at..] {
        path.push(char::from(d));
    }
    path.push(']');
}

pub(crate) struct XmlIn<R: BufRead> {
    pub(crate) reader: Reader<R>,
    pub(crate) limits: XmlLimits,
    /// Spare nodes (cleared on reuse) with their allocations.
    pool: Vec<Node>,
    /// The open elements while reading a node (kept for its allocation).
    stack: Vec<Node>,
}

/// A start tag read by [`XmlIn::next`]: the local name.
#[derive(Debug, Clone)]
pub(crate) struct Start {
    pub(crate) local: String,
}

/// Most nodes kept in the pool (enough for an order of a few hundred beneficiaries).
const MAX_POOLED_NODES: usize = 16 * 1024;
/// Text buffers larger than this are not kept in the pool.
const MAX_POOLED_TEXT: usize = 4096;
/// Child lists longer than this are not kept in the pool.
const MAX_POOLED_CHILDREN: usize = 1024;

/// A cleared node from the pool (or a new one) with the given name and position.
fn fresh_from(pool: &mut Vec<Node>, name: &str, pos: u64) -> Node {
    let mut n = pool.pop().unwrap_or_default();
    n.name.clear();
    n.name.push_str(name);
    n.text.clear();
    n.children.clear();
    n.pos = pos;
    n
}

/// The shared reader's error as this crate's, at `path`.
pub(crate) fn xml_error(path: &str, position: u64, e: xmldsig::ParseError) -> ParseError {
    let kind = match e.kind {
        XmlKind::Doctype => ParseErrorKind::Dtd,
        XmlKind::TooDeep { limit } => ParseErrorKind::TooDeep(limit),
        _ => ParseErrorKind::Xml(e.to_string()),
    };
    ParseError {
        path: path.to_owned(),
        position,
        kind,
    }
}

impl<R: BufRead> XmlIn<R> {
    pub(crate) fn new(r: R, limits: XmlLimits) -> Self {
        let opts = StreamOptions::default()
            .with_max_size(u64::MAX)
            .with_max_depth(limits.max_depth)
            .with_max_text_len(usize::try_from(limits.max_unit_bytes).unwrap_or(usize::MAX));
        XmlIn {
            reader: Reader::with_options(r, opts),
            limits,
            pool: Vec::new(),
            stack: Vec::new(),
        }
    }

    pub(crate) fn pos(&self) -> u64 {
        self.reader.end_offset()
    }

    pub(crate) fn err(&self, path: &str, kind: ParseErrorKind) -> ParseError {
        ParseError {
            path: path.to_owned(),
            position: self.pos(),
            kind,
        }
    }

    /// The next structural event: a start tag, an end tag, text, or end of file. Comments and
    /// processing instructions are skipped; a DTD is refused.
    pub(crate) fn next(&mut self, path: &str) -> Result<Ev, ParseError> {
        loop {
            let at = self.reader.offset();
            let ev = self.reader.next().map_err(|e| xml_error(path, at, e))?;
            return Ok(match ev {
                Event::Start(s) => Ev::Start(Start {
                    local: s.name().local.to_owned(),
                }),
                Event::End(_) => Ev::End,
                Event::Text(t) => Ev::Text(t.to_owned()),
                Event::Eof => Ev::Eof,
                _ => continue,
            });
        }
    }

    /// Reads the element whose start tag was just read, with all its content, into a [`Node`].
    ///
    /// Nodes come from a pool that [`XmlIn::recycle`] refills, so a reader that hands each unit
    /// back does not allocate a name, a text and a child list per element once warm.
    pub(crate) fn read_node(&mut self, start: &Start, path: &str) -> Result<Node, ParseError> {
        let begin = self.pos();
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        let r = self.read_node_into(&mut stack, &start.local, begin, path);
        // Whatever is left (an error midway) goes back to the pool.
        for n in stack.drain(..) {
            self.recycle(n);
        }
        self.stack = stack;
        r
    }

    fn read_node_into(
        &mut self,
        stack: &mut Vec<Node>,
        root_name: &str,
        begin: u64,
        path: &str,
    ) -> Result<Node, ParseError> {
        let root = fresh_from(&mut self.pool, root_name, begin);
        let mut top_raw = is_raw(&root.name);
        stack.push(root);
        loop {
            if self.pos().saturating_sub(begin) > self.limits.max_unit_bytes {
                return Err(self.err(path, ParseErrorKind::TooLarge(self.limits.max_unit_bytes)));
            }
            if top_raw {
                top_raw = false;
                let raw = self.read_raw(path)?;
                let mut node = stack.pop().unwrap_or_default();
                node.text = raw;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => return Ok(node),
                }
                continue;
            }
            let XmlIn { reader, pool, .. } = self;
            let at = reader.offset();
            let ev = reader.next().map_err(|e| xml_error(path, at, e))?;
            match ev {
                Event::Start(s) => {
                    let name = s.name().local;
                    top_raw = is_raw(name);
                    let pos = s.end_offset();
                    stack.push(fresh_from(pool, name, pos));
                }
                Event::End(_) => {
                    let node = stack.pop().unwrap_or_default();
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(node),
                        None => return Ok(node),
                    }
                }
                Event::Text(t) => {
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(t);
                    }
                }
                Event::Eof => {
                    return Err(self.err(
                        path,
                        ParseErrorKind::Xml("unexpected end of document".into()),
                    ));
                }
                _ => {}
            }
        }
    }

    /// Hands a tree that is no longer needed back to the node pool.
    pub(crate) fn recycle(&mut self, node: Node) {
        let pool = &mut self.pool;
        let mut i = pool.len();
        pool.push(node);
        while i < pool.len() {
            let mut children = std::mem::take(&mut pool[i].children);
            pool.append(&mut children);
            let n = &mut pool[i];
            n.children = children;
            if n.text.capacity() > MAX_POOLED_TEXT {
                n.text = String::new();
            }
            if n.children.capacity() > MAX_POOLED_CHILDREN {
                n.children = Vec::new();
            }
            i += 1;
        }
        pool.truncate(MAX_POOLED_NODES);
    }

    /// Copies the content of the current element (re-serialised: references resolved and
    /// escaped again, empty elements written with an end tag) up to its end tag.
    fn read_raw(&mut self, path: &str) -> Result<String, ParseError> {
        let mut out = String::new();
        let mut depth = 0usize;
        loop {
            let at = self.reader.offset();
            let ev = self.reader.next().map_err(|e| xml_error(path, at, e))?;
            match ev {
                Event::Start(s) => {
                    depth += 1;
                    out.push('<');
                    out.push_str(s.qname());
                    for (p, u) in s.namespace_declarations() {
                        out.push_str(" xmlns");
                        if !p.is_empty() {
                            out.push(':');
                            out.push_str(p);
                        }
                        out.push_str("=\"");
                        escape_into(&mut out, u);
                        out.push('"');
                    }
                    for a in s.attributes() {
                        out.push(' ');
                        if !a.prefix.is_empty() {
                            out.push_str(a.prefix);
                            out.push(':');
                        }
                        out.push_str(a.local_name);
                        out.push_str("=\"");
                        escape_into(&mut out, a.value);
                        out.push('"');
                    }
                    out.push('>');
                }
                Event::End(_) if depth == 0 => break,
                Event::End(n) => {
                    depth -= 1;
                    out.push_str("</");
                    if !n.prefix.is_empty() {
                        out.push_str(n.prefix);
                        out.push(':');
                    }
                    out.push_str(n.local);
                    out.push('>');
                }
                Event::Text(t) => escape_into(&mut out, t),
                Event::Comment(c) => {
                    out.push_str("<!--");
                    out.push_str(c);
                    out.push_str("-->");
                }
                Event::Eof => {
                    return Err(self.err(
                        path,
                        ParseErrorKind::Xml("unexpected end of document".into()),
                    ));
                }
                _ => {}
            }
            if self.pos().saturating_sub(at) > self.limits.max_unit_bytes {
                return Err(self.err(path, ParseErrorKind::TooLarge(self.limits.max_unit_bytes)));
            }
        }
        Ok(out)
    }
}

/// Appends `s` escaped for element content and double-quoted attribute values.
pub(crate) fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\r' => out.push_str("&#13;"),
            c => out.push(c),
        }
    }
}

pub(crate) enum Ev {
    Start(Start),
    End,
    Text(String),
    Eof,
}

/// Whether `s` is a well-formed XML fragment (elements and text, balanced) without DTD or
/// processing instructions, read by the shared hardened reader inside a wrapper element.
pub(crate) fn check_fragment(s: &str) -> bool {
    let wrapped = format!("<f>{s}</f>");
    let mut r = Reader::new(wrapped.as_bytes());
    loop {
        match r.next() {
            Ok(Event::Eof) => return true,
            Ok(Event::ProcessingInstruction { .. }) | Err(_) => return false,
            Ok(_) => {}
        }
    }
}

/// Reads a node's children in order, schema style.
pub(crate) struct Cursor<'a> {
    node: &'a Node,
    idx: usize,
    pub(crate) path: String,
}

/// The text of a leaf parsed as `T` (surrounding whitespace ignored), or `Invalid` with the
/// first 80 characters of the text and the parser's reason: the one rule of both cursors (this
/// tree one and the streaming [`crate::pull::Cursor`]).
pub(crate) fn parse_leaf<T>(text: &str) -> Result<T, ParseErrorKind>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    text.trim()
        .parse::<T>()
        .map_err(|e| ParseErrorKind::Invalid {
            value: text.chars().take(80).collect(),
            reason: e.to_string(),
        })
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(node: &'a Node, path: String) -> Self {
        Cursor { node, idx: 0, path }
    }

    fn child_path(&self, name: &str) -> String {
        format!("{}/{}", self.path, name)
    }

    pub(crate) fn err_at(&self, name: &str, pos: u64, kind: ParseErrorKind) -> ParseError {
        ParseError {
            path: self.child_path(name),
            position: pos,
            kind,
        }
    }

    pub(crate) fn peek(&self) -> Option<&'a str> {
        self.node.children.get(self.idx).map(|n| n.name.as_str())
    }

    pub(crate) fn opt(&mut self, name: &str) -> Option<&'a Node> {
        let n = self.node.children.get(self.idx)?;
        if n.name == name {
            self.idx += 1;
            Some(n)
        } else {
            None
        }
    }

    pub(crate) fn req(&mut self, name: &str) -> Result<&'a Node, ParseError> {
        match self.opt(name) {
            Some(n) => Ok(n),
            None => {
                let found = self.peek().map(str::to_owned);
                let pos = self
                    .node
                    .children
                    .get(self.idx)
                    .map_or(self.node.pos, |n| n.pos);
                Err(self.err_at(
                    name,
                    pos,
                    ParseErrorKind::Missing {
                        expected: name.to_owned(),
                        found,
                    },
                ))
            }
        }
    }

    pub(crate) fn text(&mut self, name: &str) -> Result<&'a str, ParseError> {
        self.req(name).map(|n| n.text.as_str())
    }

    pub(crate) fn opt_text(&mut self, name: &str) -> Option<String> {
        self.opt(name).map(|n| n.text.clone())
    }

    pub(crate) fn string(&mut self, name: &str) -> Result<String, ParseError> {
        self.text(name).map(str::to_owned)
    }

    pub(crate) fn parse<T>(&mut self, name: &str) -> Result<T, ParseError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        let n = self.req(name)?;
        self.convert(name, n)
    }

    pub(crate) fn opt_parse<T>(&mut self, name: &str) -> Result<Option<T>, ParseError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match self.opt(name) {
            Some(n) => self.convert(name, n).map(Some),
            None => Ok(None),
        }
    }

    pub(crate) fn convert<T>(&self, name: &str, n: &Node) -> Result<T, ParseError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        parse_leaf(&n.text).map_err(|kind| self.err_at(name, n.pos, kind))
    }

    pub(crate) fn with<T>(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Cursor<'a>) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        let n = self.req(name)?;
        let len = self.path.len();
        self.path.push('/');
        self.path.push_str(name);
        let mut c = Cursor::new(n, std::mem::take(&mut self.path));
        let v = f(&mut c).and_then(|v| c.end().map(|()| v));
        self.path = c.path;
        self.path.truncate(len);
        v
    }

    pub(crate) fn opt_with<T>(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Cursor<'a>) -> Result<T, ParseError>,
    ) -> Result<Option<T>, ParseError> {
        if self.peek() == Some(name) {
            self.with(name, f).map(Some)
        } else {
            Ok(None)
        }
    }

    pub(crate) fn many_with<T>(
        &mut self,
        name: &str,
        mut f: impl FnMut(&mut Cursor<'a>) -> Result<T, ParseError>,
    ) -> Result<Vec<T>, ParseError> {
        let mut v = Vec::new();
        let mut i = 1;
        let len = self.path.len();
        while self.peek() == Some(name) {
            let n = self.req(name)?;
            self.path.push('/');
            self.path.push_str(name);
            push_index(&mut self.path, i);
            let mut c = Cursor::new(n, std::mem::take(&mut self.path));
            let r = f(&mut c).and_then(|x| c.end().map(|()| x));
            self.path = c.path;
            self.path.truncate(len);
            v.push(r?);
            i += 1;
        }
        Ok(v)
    }

    /// Fails when children remain that the schema does not allow here.
    pub(crate) fn end(&self) -> Result<(), ParseError> {
        match self.node.children.get(self.idx) {
            None => Ok(()),
            Some(n) => Err(ParseError {
                path: self.child_path(&n.name),
                position: n.pos,
                kind: ParseErrorKind::Unexpected(n.name.clone()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(x: &mut XmlIn<&[u8]>) -> Node {
        loop {
            match x.next("t").unwrap() {
                Ev::Start(s) => return x.read_node(&s, "t").unwrap(),
                Ev::Text(_) => {}
                Ev::End | Ev::Eof => panic!("no unit"),
            }
        }
    }

    #[test]
    fn positions_in_paths() {
        for i in [0, 1, 9, 10, 99, 100, 12345, usize::MAX] {
            let mut p = String::from("a");
            push_index(&mut p, i);
            assert_eq!(p, format!("a[{i}]"));
        }
    }

    #[test]
    fn recycled_nodes_keep_nothing_of_the_previous_unit() {
        let xml = b"<r><u><a>one &amp; two</a><b><c>x</c><c>y</c></b></u>\
                    <u><b/><a></a></u><u><a>3</a></u></r>";
        let mut x = XmlIn::new(&xml[..], XmlLimits::default());
        let Ev::Start(_) = x.next("t").unwrap() else {
            panic!("root")
        };
        let first = unit(&mut x);
        assert_eq!(first.children[0].text, "one & two");
        assert_eq!(first.children[1].children.len(), 2);
        x.recycle(first);
        let second = unit(&mut x);
        assert_eq!(second.name, "u");
        let names: Vec<_> = second.children.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["b", "a"]);
        assert!(second.children.iter().all(|n| n.text.is_empty()));
        assert!(second.children.iter().all(|n| n.children.is_empty()));
        x.recycle(second);
        let third = unit(&mut x);
        assert_eq!(third.children.len(), 1);
        assert_eq!(third.children[0].text, "3");
        assert!(third.text.is_empty());
    }

    #[test]
    fn an_error_midway_leaves_the_pool_usable() {
        let mut x = XmlIn::new(
            &b"<r><u><a>1</a><b>&bogus;</b></u>"[..],
            XmlLimits::default(),
        );
        let Ev::Start(_) = x.next("t").unwrap() else {
            panic!("root")
        };
        let Ev::Start(s) = x.next("t").unwrap() else {
            panic!("unit")
        };
        assert!(x.read_node(&s, "t").is_err());
        let mut y = XmlIn::new(&b"<u><a>2</a></u>"[..], XmlLimits::default());
        y.pool = std::mem::take(&mut x.pool);
        let n = unit(&mut y);
        assert_eq!(n.children.len(), 1);
        assert_eq!(n.children[0].text, "2");
    }
}
