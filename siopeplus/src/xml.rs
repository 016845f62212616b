//! Hardened XML reading: a small element tree per unit (one order, one message), with bounded
//! depth and size, no DTDs, and a cursor that reads children in schema order.

use std::io::BufRead;
use std::str::FromStr;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

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
fn is_raw(name: &str) -> bool {
    name.starts_with("dati_a_disposizione_ente") && !name.ends_with("_MIUR")
        || name == "dati_a_disposizione_BT"
}

pub(crate) fn local_name(qname: &[u8]) -> &[u8] {
    // Eight bytes at a time: most names have no prefix and are 10 to 40 bytes long.
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const COLONS: u64 = ONES * b':' as u64;
    let mut from = 0;
    for chunk in qname.chunks_exact(8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w) ^ COLONS;
        if x.wrapping_sub(ONES) & !x & HIGH != 0 {
            break;
        }
        from += 8;
    }
    match qname[from..].iter().position(|&b| b == b':') {
        Some(i) => &qname[from + i + 1..],
        None => qname,
    }
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
    buf: Vec<u8>,
    pub(crate) limits: XmlLimits,
    /// Spare nodes (cleared on reuse) with their allocations.
    pool: Vec<Node>,
    /// The open elements while reading a node (kept for its allocation).
    stack: Vec<Node>,
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

impl<R: BufRead> XmlIn<R> {
    pub(crate) fn new(r: R, limits: XmlLimits) -> Self {
        let mut reader = Reader::from_reader(r);
        let cfg = reader.config_mut();
        cfg.trim_text(false);
        cfg.check_end_names = true;
        cfg.expand_empty_elements = true;
        XmlIn {
            reader,
            buf: Vec::with_capacity(4096),
            limits,
            pool: Vec::new(),
            stack: Vec::new(),
        }
    }

    pub(crate) fn pos(&self) -> u64 {
        self.reader.buffer_position()
    }

    pub(crate) fn err(&self, path: &str, kind: ParseErrorKind) -> ParseError {
        ParseError {
            path: path.to_owned(),
            position: self.pos(),
            kind,
        }
    }

    /// The next structural event: a start tag (owned), an end tag, text, or end of file.
    /// Declarations, comments and processing instructions are skipped; a DTD is refused.
    pub(crate) fn next(&mut self, path: &str) -> Result<Ev, ParseError> {
        loop {
            self.buf.clear();
            let ev = self
                .reader
                .read_event_into(&mut self.buf)
                .map_err(|e| ParseError {
                    path: path.to_owned(),
                    position: self.reader.error_position(),
                    kind: ParseErrorKind::Xml(e.to_string()),
                })?;
            return Ok(match ev {
                Event::Start(s) => Ev::Start(s.into_owned()),
                Event::End(_) => Ev::End,
                Event::Text(t) => {
                    let s = t.decode().map_err(|e| ParseError {
                        path: path.to_owned(),
                        position: self.reader.buffer_position(),
                        kind: ParseErrorKind::Xml(e.to_string()),
                    })?;
                    Ev::Text(s.into_owned())
                }
                Event::GeneralRef(r) => {
                    let name = r.decode().map_err(|e| ParseError {
                        path: path.to_owned(),
                        position: self.reader.buffer_position(),
                        kind: ParseErrorKind::Xml(e.to_string()),
                    })?;
                    match resolve_ref(&name) {
                        Some(c) => Ev::Text(c.to_string()),
                        None => {
                            return Err(ParseError {
                                path: path.to_owned(),
                                position: self.reader.buffer_position(),
                                kind: ParseErrorKind::Xml(format!("unknown entity &{name};")),
                            });
                        }
                    }
                }
                Event::CData(c) => Ev::Text(String::from_utf8_lossy(&c).into_owned()),
                Event::DocType(_) => {
                    return Err(self.err(path, ParseErrorKind::Dtd));
                }
                Event::Eof => Ev::Eof,
                Event::Empty(_) => {
                    // `expand_empty_elements` turns empty elements into Start + End.
                    return Err(self.err(
                        path,
                        ParseErrorKind::Xml("unexpected empty element event".into()),
                    ));
                }
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) => continue,
            });
        }
    }

    /// Reads the element whose start tag was just read, with all its content, into a [`Node`].
    ///
    /// Nodes come from a pool that [`XmlIn::recycle`] refills, so a reader that hands each unit
    /// back does not allocate a name, a text and a child list per element once warm.
    pub(crate) fn read_node(
        &mut self,
        start: &BytesStart<'_>,
        path: &str,
    ) -> Result<Node, ParseError> {
        let begin = self.pos();
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        let r = self.read_node_into(&mut stack, start, begin, path);
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
        start: &BytesStart<'_>,
        begin: u64,
        path: &str,
    ) -> Result<Node, ParseError> {
        let qname = start.name();
        let root_name = String::from_utf8_lossy(local_name(qname.as_ref()));
        let root = self.fresh(&root_name, begin);
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
            let XmlIn {
                reader,
                buf,
                limits,
                pool,
                ..
            } = self;
            buf.clear();
            let ev = reader.read_event_into(buf).map_err(|e| ParseError {
                path: path.to_owned(),
                position: reader.error_position(),
                kind: ParseErrorKind::Xml(e.to_string()),
            })?;
            let at = |kind| ParseError {
                path: path.to_owned(),
                position: reader.buffer_position(),
                kind,
            };
            match ev {
                Event::Start(s) => {
                    if stack.len() >= limits.max_depth {
                        return Err(at(ParseErrorKind::TooDeep(limits.max_depth)));
                    }
                    let pos = reader.buffer_position();
                    let qname = s.name();
                    let name = match std::str::from_utf8(local_name(qname.as_ref())) {
                        Ok(n) => n,
                        Err(e) => return Err(at(ParseErrorKind::Xml(e.to_string()))),
                    };
                    top_raw = is_raw(name);
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
                    let t = t
                        .decode()
                        .map_err(|e| at(ParseErrorKind::Xml(e.to_string())))?;
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(&t);
                    }
                }
                Event::GeneralRef(r) => {
                    let name = r
                        .decode()
                        .map_err(|e| at(ParseErrorKind::Xml(e.to_string())))?;
                    let Some(c) = resolve_ref(&name) else {
                        return Err(at(ParseErrorKind::Xml(format!("unknown entity &{name};"))));
                    };
                    if let Some(top) = stack.last_mut() {
                        top.text.push(c);
                    }
                }
                Event::CData(c) => {
                    let t = std::str::from_utf8(&c)
                        .map_err(|e| at(ParseErrorKind::Xml(e.to_string())))?;
                    if let Some(top) = stack.last_mut() {
                        top.text.push_str(t);
                    }
                }
                Event::DocType(_) => return Err(at(ParseErrorKind::Dtd)),
                Event::Empty(_) => {
                    return Err(at(ParseErrorKind::Xml(
                        "unexpected empty element event".into(),
                    )));
                }
                Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
                Event::Eof => {
                    return Err(at(ParseErrorKind::Xml("unexpected end of document".into())));
                }
            }
        }
    }

    fn fresh(&mut self, name: &str, pos: u64) -> Node {
        fresh_from(&mut self.pool, name, pos)
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

    /// Copies the content of the current element verbatim (re-serialised) up to its end tag.
    fn read_raw(&mut self, path: &str) -> Result<String, ParseError> {
        use quick_xml::Writer;
        let mut w = Writer::new(Vec::new());
        let mut depth = 0usize;
        loop {
            self.buf.clear();
            let ev = self
                .reader
                .read_event_into(&mut self.buf)
                .map_err(|e| ParseError {
                    path: path.to_owned(),
                    position: self.reader.error_position(),
                    kind: ParseErrorKind::Xml(e.to_string()),
                })?;
            match ev {
                Event::Start(_) => {
                    depth += 1;
                    if depth > self.limits.max_depth {
                        return Err(self.err(path, ParseErrorKind::TooDeep(self.limits.max_depth)));
                    }
                }
                Event::End(_) if depth == 0 => break,
                Event::End(_) => depth -= 1,
                Event::DocType(_) => return Err(self.err(path, ParseErrorKind::Dtd)),
                Event::Eof => {
                    return Err(self.err(
                        path,
                        ParseErrorKind::Xml("unexpected end of document".into()),
                    ));
                }
                Event::PI(_) | Event::Decl(_) => continue,
                _ => {}
            }
            w.write_event(ev)
                .map_err(|e| self.err(path, ParseErrorKind::Xml(e.to_string())))?;
        }
        String::from_utf8(w.into_inner())
            .map_err(|e| self.err(path, ParseErrorKind::Xml(e.to_string())))
    }
}

fn resolve_ref(name: &str) -> Option<char> {
    match name {
        "lt" => Some('<'),
        "gt" => Some('>'),
        "amp" => Some('&'),
        "apos" => Some('\''),
        "quot" => Some('"'),
        _ => {
            let n = if let Some(h) = name.strip_prefix("#x") {
                u32::from_str_radix(h, 16).ok()?
            } else if let Some(d) = name.strip_prefix('#') {
                d.parse().ok()?
            } else {
                return None;
            };
            char::from_u32(n)
        }
    }
}

pub(crate) enum Ev {
    Start(BytesStart<'static>),
    End,
    Text(String),
    Eof,
}

/// Whether `s` is a well-formed XML fragment without DTD or processing instructions.
pub(crate) fn check_fragment(s: &str) -> bool {
    let mut r = Reader::from_str(s);
    r.config_mut().check_end_names = true;
    let mut depth = 0i64;
    loop {
        match r.read_event() {
            Ok(Event::Start(_)) => depth += 1,
            Ok(Event::End(_)) => {
                depth -= 1;
                if depth < 0 {
                    return false;
                }
            }
            Ok(Event::Eof) => return depth == 0,
            Ok(Event::DocType(_) | Event::PI(_) | Event::Decl(_)) | Err(_) => return false,
            Ok(Event::GeneralRef(g)) => {
                if g.decode().ok().and_then(|n| resolve_ref(&n)).is_none() {
                    return false;
                }
            }
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
        n.text.trim().parse::<T>().map_err(|e| {
            self.err_at(
                name,
                n.pos,
                ParseErrorKind::Invalid {
                    value: n.text.chars().take(80).collect(),
                    reason: e.to_string(),
                },
            )
        })
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
        assert_eq!(local_name(b"ds:Signature"), b"Signature");
        assert_eq!(local_name(b"mandato"), b"mandato");
        assert_eq!(local_name(b"a:b:c"), b"b:c");
        let long = b"dati_a_disposizione_ente_reversale_MIUR";
        for i in 0..=long.len() {
            let mut q = long.to_vec();
            q.insert(i, b':');
            assert_eq!(local_name(&q), &long[i..], "colon at {i}");
        }
        assert_eq!(local_name(long), long);
        assert_eq!(local_name(b""), b"");
        // Bytes that differ from ':' only in the high bit, or next to it, are not colons.
        assert_eq!(local_name(b"abcdefgh\xbaijklmnop"), b"abcdefgh\xbaijklmnop");
        assert_eq!(
            local_name(b"\xba;9;9;9;9;9;9;9;9;"),
            b"\xba;9;9;9;9;9;9;9;9;"
        );
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
