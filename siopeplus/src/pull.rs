//! Mapping straight from the shared reader's events: a [`Cursor`] reads the children of one
//! element in schema order with one child of lookahead, so an order is mapped as it streams
//! by, with no element tree and no allocation per element (names are compared in a reused
//! buffer, leaf text is gathered in another).
//!
//! The outcome is the one of reading each unit (an order, the header, a signature) whole and
//! then mapping it: an XML or size error anywhere in the unit wins over a mapping error found
//! earlier in it, because after a mapping error the rest of the unit is still read (see
//! [`Pull::unit`]).

use std::io::BufRead;
use std::str::FromStr;

use xmldsig::stream::{Event, Reader, StreamOptions};

use crate::error::{ParseError, ParseErrorKind};
use crate::xml::{XmlLimits, escape_into, is_raw, parse_leaf, push_index, xml_error};

/// The lookahead of a [`Cursor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Peek {
    /// Not read yet.
    Unread,
    /// A child's start tag: its local name is in [`Pull::name`].
    Child,
    /// The end tag of the element whose children are read.
    End,
}

/// The reader with what every event needs: the unit size limit, the depth count and the path
/// named in errors of the reader.
pub(crate) struct Src<R: BufRead> {
    reader: Reader<R>,
    limits: XmlLimits,
    /// Open elements, counted from the events (inside the root: 1).
    depth: usize,
    /// Stream offset where the current unit began (`u64::MAX`: between units, no limit).
    unit_begin: u64,
    /// Position among the root's children of the unit being read, for the path of errors of
    /// the reader (`root/*[n]`); 0 names the root itself.
    xml_index: usize,
    root: &'static str,
    /// Set once the reader failed: it is not read further.
    broken: bool,
}

impl<R: BufRead> Src<R> {
    fn xml_path(&self) -> String {
        let mut p = String::from(self.root);
        if self.xml_index > 0 {
            p.push_str("/*");
            push_index(&mut p, self.xml_index);
        }
        p
    }

    pub(crate) fn pos(&self) -> u64 {
        self.reader.end_offset()
    }

    /// An error of the structure at the reader's position with the path of errors of the
    /// reader.
    pub(crate) fn err_here(&self, kind: ParseErrorKind) -> ParseError {
        ParseError {
            path: self.xml_path(),
            position: self.pos(),
            kind,
        }
    }

    /// An error at the reader's position, with the path of errors of the reader.
    fn fail(&mut self, kind: ParseErrorKind) -> ParseError {
        self.broken = true;
        self.err_here(kind)
    }

    /// The next event of the reader (comments and processing instructions included), after
    /// the unit size check. Inlined, so that the event is not copied on its way.
    #[inline(always)]
    pub(crate) fn next(&mut self) -> Result<Event<'_>, ParseError> {
        let pos = self.reader.end_offset();
        if pos.saturating_sub(self.unit_begin) > self.limits.max_unit_bytes {
            let max = self.limits.max_unit_bytes;
            return Err(self.fail(ParseErrorKind::TooLarge(max)));
        }
        let at = self.reader.offset();
        match self.reader.next() {
            Ok(ev) => {
                match ev {
                    Event::Start(_) => self.depth += 1,
                    Event::End(_) => self.depth = self.depth.saturating_sub(1),
                    _ => {}
                }
                Ok(ev)
            }
            Err(e) => {
                self.broken = true;
                let path = {
                    let mut p = String::from(self.root);
                    if self.xml_index > 0 {
                        p.push_str("/*");
                        push_index(&mut p, self.xml_index);
                    }
                    p
                };
                Err(xml_error(&path, at, e))
            }
        }
    }
}

/// The streaming state shared by the cursors of one document.
pub(crate) struct Pull<R: BufRead> {
    pub(crate) src: Src<R>,
    peeked: Peek,
    /// Offset just after the lookahead child's start tag.
    next_pos: u64,
    /// Text of the leaf read last.
    text: String,
    /// Path of the element whose children are read (for mapping errors).
    pub(crate) path: String,
}

impl<R: BufRead> Pull<R> {
    pub(crate) fn new(r: R, limits: XmlLimits, root: &'static str) -> Self {
        let opts = StreamOptions::default()
            .with_max_size(u64::MAX)
            .with_max_depth(limits.max_depth)
            .with_max_text_len(usize::try_from(limits.max_unit_bytes).unwrap_or(usize::MAX));
        Pull {
            src: Src {
                reader: Reader::with_options(r, opts),
                limits,
                depth: 0,
                unit_begin: u64::MAX,
                xml_index: 0,
                root,
                broken: false,
            },
            peeked: Peek::Unread,
            next_pos: 0,
            text: String::with_capacity(256),
            path: String::with_capacity(128),
        }
    }

    /// Whether the reader failed (it must not be read again).
    pub(crate) fn broken(&self) -> bool {
        self.src.broken
    }

    /// An error of the structure at the reader's position with the path of errors of the
    /// reader (the reader itself is fine).
    pub(crate) fn err_here(&self, kind: ParseErrorKind) -> ParseError {
        self.src.err_here(kind)
    }

    /// Reads the lookahead when it is not read yet. Text between children is ignored, except
    /// directly inside the root, where only white space may stand between the units.
    fn fill(&mut self) -> Result<Peek, ParseError> {
        if self.peeked != Peek::Unread {
            return Ok(self.peeked);
        }
        loop {
            let in_root = self.src.depth == 1;
            match self.src.next()? {
                Event::Start(s) => {
                    self.next_pos = s.end_offset();
                    self.peeked = Peek::Child;
                    return Ok(Peek::Child);
                }
                Event::End(_) => {
                    self.peeked = Peek::End;
                    return Ok(Peek::End);
                }
                Event::Text(t) if in_root && !t.trim().is_empty() => {
                    return Err(self.err_here(ParseErrorKind::Xml(
                        "text where elements are expected".into(),
                    )));
                }
                Event::Eof => {
                    let e = self.err_here(ParseErrorKind::Xml("unexpected end of document".into()));
                    self.src.broken = true;
                    return Err(e);
                }
                _ => {}
            }
        }
    }

    /// The lookahead child's local name (meaningful while the lookahead is a child): the
    /// reader's innermost open element, which the lookahead start tag opened.
    #[inline]
    fn name(&self) -> &str {
        self.src.reader.current_name().local
    }

    /// The lookahead child's local name, `None` at the end of the parent.
    pub(crate) fn peek(&mut self) -> Result<Option<&str>, ParseError> {
        Ok(match self.fill()? {
            Peek::Child => Some(self.name()),
            _ => None,
        })
    }

    /// Offset just after the lookahead child's start tag.
    pub(crate) fn next_pos(&self) -> u64 {
        self.next_pos
    }

    /// Consumes the end tag of the parent (the lookahead must be it).
    pub(crate) fn consume_end(&mut self) {
        self.peeked = Peek::Unread;
    }

    /// Consumes the lookahead child as a leaf: its own text (text of nested elements is not
    /// part of it) or, for an element kept as XML, its content re-serialised.
    fn take_leaf(&mut self) -> Result<(), ParseError> {
        self.peeked = Peek::Unread;
        self.text.clear();
        if is_raw(self.name()) {
            return self.read_raw();
        }
        let base = self.src.depth;
        loop {
            let d = self.src.depth;
            match self.src.next()? {
                Event::Text(t) if d == base => self.text.push_str(t),
                Event::End(_) if d == base => return Ok(()),
                Event::Eof => {
                    let e = self.err_here(ParseErrorKind::Xml("unexpected end of document".into()));
                    self.src.broken = true;
                    return Err(e);
                }
                _ => {}
            }
        }
    }

    /// Skips the lookahead child and everything in it.
    pub(crate) fn skip(&mut self) -> Result<(), ParseError> {
        self.peeked = Peek::Unread;
        let base = self.src.depth;
        self.drain(base)
    }

    /// Reads events until the element open at depth `level` is closed.
    fn drain(&mut self, level: usize) -> Result<(), ParseError> {
        while self.src.depth >= level {
            if let Event::Eof = self.src.next()? {
                let e = self.err_here(ParseErrorKind::Xml("unexpected end of document".into()));
                self.src.broken = true;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Copies the content of the current element (re-serialised: references resolved and
    /// escaped again, empty elements written with an end tag) up to its end tag, into
    /// `self.text`.
    fn read_raw(&mut self) -> Result<(), ParseError> {
        let out = &mut self.text;
        let mut depth = 0usize;
        loop {
            match self.src.next()? {
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
                        escape_into(out, u);
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
                        escape_into(out, a.value);
                        out.push('"');
                    }
                    out.push('>');
                }
                Event::End(_) if depth == 0 => return Ok(()),
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
                Event::Text(t) => escape_into(out, t),
                Event::Comment(c) => {
                    out.push_str("<!--");
                    out.push_str(c);
                    out.push_str("-->");
                }
                Event::Eof => {
                    self.src.broken = true;
                    return Err(self
                        .src
                        .err_here(ParseErrorKind::Xml("unexpected end of document".into())));
                }
                _ => {}
            }
        }
    }

    /// Reads the lookahead child (a child of the root) as one unit: `f` maps its children,
    /// then nothing may be left. `xml_index` is its position among the root's children (for
    /// errors of the reader), `self.path` must name it (for mapping errors). After a mapping
    /// error the rest of the unit is read, so that an XML or size error in it is the one
    /// reported, and the next unit can be read.
    pub(crate) fn unit<T>(
        &mut self,
        xml_index: usize,
        f: impl FnOnce(&mut Cursor<'_, R>) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        debug_assert_eq!(
            self.peeked,
            Peek::Child,
            "a unit starts at the lookahead child"
        );
        let pos = self.next_pos;
        let level = self.src.depth;
        self.src.unit_begin = pos;
        self.src.xml_index = xml_index;
        self.peeked = Peek::Unread;
        let r = {
            let mut c = Cursor { p: self, pos };
            f(&mut c).and_then(|v| c.end().map(|()| v))
        };
        let r = match r {
            Ok(v) => {
                self.consume_end();
                Ok(v)
            }
            Err(e) if self.src.broken => Err(e),
            Err(e) => {
                self.peeked = Peek::Unread;
                self.drain(level).map(|()| Err(e))?
            }
        };
        self.src.unit_begin = u64::MAX;
        self.src.xml_index = 0;
        r
    }

    /// Skips the lookahead child (a child of the root) as a unit: with its size limit and
    /// `xml_index` in the path of errors of the reader.
    pub(crate) fn skip_unit(&mut self, xml_index: usize) -> Result<(), ParseError> {
        self.src.unit_begin = self.next_pos;
        self.src.xml_index = xml_index;
        let r = self.skip();
        self.src.unit_begin = u64::MAX;
        self.src.xml_index = 0;
        r
    }

    /// Reads the lookahead child (a child of the root) as a leaf unit and parses it as `T`;
    /// mapping errors name `self.path`/`name`.
    pub(crate) fn leaf_unit<T>(&mut self, name: &str) -> Result<T, ParseError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        self.src.unit_begin = self.next_pos;
        let pos = self.next_pos;
        let mut c = Cursor { p: self, pos };
        let r = c.parse(name);
        self.src.unit_begin = u64::MAX;
        r
    }
}

/// Reads the children of one element in order, schema style, from the stream.
pub(crate) struct Cursor<'p, R: BufRead> {
    p: &'p mut Pull<R>,
    /// Offset just after the element's start tag.
    pos: u64,
}

impl<R: BufRead> Cursor<'_, R> {
    /// Path of the element whose children are read.
    pub(crate) fn path(&self) -> &str {
        &self.p.path
    }

    fn child_path(&self, name: &str) -> String {
        let mut p = String::with_capacity(self.p.path.len() + 1 + name.len());
        p.push_str(&self.p.path);
        p.push('/');
        p.push_str(name);
        p
    }

    pub(crate) fn err_at(&self, name: &str, pos: u64, kind: ParseErrorKind) -> ParseError {
        ParseError {
            path: self.child_path(name),
            position: pos,
            kind,
        }
    }

    /// The next child's local name (`None` at the end of the element).
    #[cfg(test)]
    pub(crate) fn peek(&mut self) -> Result<Option<&str>, ParseError> {
        self.p.peek()
    }

    /// Whether the next child is `name`.
    pub(crate) fn is(&mut self, name: &str) -> Result<bool, ParseError> {
        Ok(self.p.peek()? == Some(name))
    }

    fn missing(&self, name: &str) -> ParseError {
        let (found, pos) = match self.p.peeked {
            Peek::Child => (Some(self.p.name().to_owned()), self.p.next_pos),
            _ => (None, self.pos),
        };
        self.err_at(
            name,
            pos,
            ParseErrorKind::Missing {
                expected: name.to_owned(),
                found,
            },
        )
    }

    /// Reads the next child as a leaf when it is `name`: its position, the text in
    /// [`Cursor::leaf`].
    pub(crate) fn opt(&mut self, name: &str) -> Result<Option<u64>, ParseError> {
        if !self.is(name)? {
            return Ok(None);
        }
        let pos = self.p.next_pos;
        self.p.take_leaf()?;
        Ok(Some(pos))
    }

    /// As [`Cursor::opt`] for a required child.
    pub(crate) fn req(&mut self, name: &str) -> Result<u64, ParseError> {
        match self.opt(name)? {
            Some(pos) => Ok(pos),
            None => Err(self.missing(name)),
        }
    }

    /// The text of the leaf read last.
    pub(crate) fn leaf(&self) -> &str {
        &self.p.text
    }

    pub(crate) fn text(&mut self, name: &str) -> Result<&str, ParseError> {
        self.req(name)?;
        Ok(&self.p.text)
    }

    pub(crate) fn opt_text(&mut self, name: &str) -> Result<Option<String>, ParseError> {
        Ok(self.opt(name)?.map(|_| self.p.text.clone()))
    }

    pub(crate) fn string(&mut self, name: &str) -> Result<String, ParseError> {
        self.text(name).map(str::to_owned)
    }

    pub(crate) fn parse<T>(&mut self, name: &str) -> Result<T, ParseError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        let pos = self.req(name)?;
        self.convert(name, pos)
    }

    pub(crate) fn opt_parse<T>(&mut self, name: &str) -> Result<Option<T>, ParseError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        match self.opt(name)? {
            Some(pos) => self.convert(name, pos).map(Some),
            None => Ok(None),
        }
    }

    /// Parses the leaf read last.
    fn convert<T>(&self, name: &str, pos: u64) -> Result<T, ParseError>
    where
        T: FromStr,
        T::Err: std::fmt::Display,
    {
        parse_leaf(&self.p.text).map_err(|kind| self.err_at(name, pos, kind))
    }

    /// Reads the next child, which must be `name`, with `f` on its children.
    pub(crate) fn with<T>(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Cursor<'_, R>) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        if !self.is(name)? {
            return Err(self.missing(name));
        }
        let len = self.p.path.len();
        self.p.path.push('/');
        self.p.path.push_str(name);
        let v = self.descend(f);
        self.p.path.truncate(len);
        v
    }

    /// Runs `f` on the children of the lookahead child (its path already pushed), then checks
    /// that nothing is left and consumes its end tag.
    fn descend<T>(
        &mut self,
        f: impl FnOnce(&mut Cursor<'_, R>) -> Result<T, ParseError>,
    ) -> Result<T, ParseError> {
        let pos = self.p.next_pos;
        self.p.peeked = Peek::Unread;
        let mut c = Cursor {
            p: &mut *self.p,
            pos,
        };
        let v = f(&mut c)?;
        c.end()?;
        self.p.consume_end();
        Ok(v)
    }

    pub(crate) fn opt_with<T>(
        &mut self,
        name: &str,
        f: impl FnOnce(&mut Cursor<'_, R>) -> Result<T, ParseError>,
    ) -> Result<Option<T>, ParseError> {
        if self.is(name)? {
            self.with(name, f).map(Some)
        } else {
            Ok(None)
        }
    }

    pub(crate) fn many_with<T>(
        &mut self,
        name: &str,
        mut f: impl FnMut(&mut Cursor<'_, R>) -> Result<T, ParseError>,
    ) -> Result<Vec<T>, ParseError> {
        let mut v = Vec::new();
        let mut i = 1;
        let len = self.p.path.len();
        while self.is(name)? {
            self.p.path.push('/');
            self.p.path.push_str(name);
            push_index(&mut self.p.path, i);
            let r = self.descend(&mut f);
            self.p.path.truncate(len);
            v.push(r?);
            i += 1;
        }
        Ok(v)
    }

    /// Fails when a child remains that the schema does not allow here.
    pub(crate) fn end(&mut self) -> Result<(), ParseError> {
        match self.p.fill()? {
            Peek::Child => Err(self.err_at(
                self.p.name(),
                self.p.next_pos,
                ParseErrorKind::Unexpected(self.p.name().to_owned()),
            )),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pull(xml: &'static [u8]) -> Pull<&'static [u8]> {
        let mut p = Pull::new(xml, XmlLimits::default(), "r");
        loop {
            if let Event::Start(_) = p.src.next().unwrap() {
                return p;
            }
        }
    }

    #[test]
    fn leaves_children_and_lookahead() {
        let mut p = pull(
            b"<r> <u><a>one &amp; <x>skipped</x>two</a><!--c--><b><c>x</c><c> y </c></b></u></r>",
        );
        assert_eq!(p.peek().unwrap(), Some("u"));
        p.path.push_str("r/u");
        let (a, cs) = p
            .unit(1, |c| {
                let a = c.string("a")?;
                let cs = c.with("b", |c| c.many_with("c", |c| Ok(c.path().to_owned())))?;
                assert_eq!(c.peek()?, None);
                Ok((a, cs))
            })
            .unwrap();
        assert_eq!(a, "one & two");
        assert_eq!(cs, ["r/u/b/c[1]", "r/u/b/c[2]"]);
        assert_eq!(p.peek().unwrap(), None);
    }

    #[test]
    fn missing_unexpected_and_invalid_name_the_child() {
        let mut p = pull(b"<r><u><a>x</a><b/></u><u><n>12</n></u><u><n>1x</n></u></r>");
        p.path.push_str("r/u");
        assert_eq!(p.peek().unwrap(), Some("u"));
        let e = p.unit(1, |c| c.string("b")).unwrap_err();
        assert_eq!(e.path, "r/u/b");
        assert_eq!(
            e.kind,
            ParseErrorKind::Missing {
                expected: "b".into(),
                found: Some("a".into())
            }
        );
        // The rest of the unit was read: the next one follows.
        assert_eq!(p.peek().unwrap(), Some("u"));
        let e = p.unit(2, |c| Ok(c.peek()?.is_some())).unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::Unexpected("n".into()));
        assert_eq!(p.peek().unwrap(), Some("u"));
        let e = p.unit(3, |c| c.parse::<u32>("n")).unwrap_err();
        assert!(
            matches!(&e.kind, ParseErrorKind::Invalid { value, .. } if value == "1x"),
            "{e}"
        );
        assert_eq!(p.peek().unwrap(), None);
    }

    #[test]
    fn an_xml_error_later_in_the_unit_wins_over_a_mapping_error() {
        let mut p = pull(b"<r><u><a>x</a><b>&bogus;</b></u></r>");
        p.path.push_str("r/u");
        assert_eq!(p.peek().unwrap(), Some("u"));
        let e = p.unit(1, |c| c.string("z")).unwrap_err();
        assert_eq!(e.path, "r/*[1]");
        assert!(
            matches!(&e.kind, ParseErrorKind::Xml(m) if m.contains("bogus")),
            "{e}"
        );
        assert!(p.broken());
    }

    #[test]
    fn raw_content_is_re_serialised() {
        let mut p = pull(
            b"<r><u><dati_a_disposizione_BT>t &lt; <p:x xmlns:p='urn:p' a='1'>y</p:x><e/></dati_a_disposizione_BT></u></r>",
        );
        p.path.push_str("r/u");
        assert_eq!(p.peek().unwrap(), Some("u"));
        let raw = p.unit(1, |c| c.string("dati_a_disposizione_BT")).unwrap();
        assert_eq!(raw, "t &lt; <p:x xmlns:p=\"urn:p\" a=\"1\">y</p:x><e></e>");
    }

    #[test]
    fn units_are_bounded_in_size() {
        let xml = format!("<r><u>{}</u></r>", "<a>x</a>".repeat(500));
        let xml: &'static [u8] = Box::leak(xml.into_bytes().into_boxed_slice());
        let mut p = Pull::new(
            xml,
            XmlLimits {
                max_depth: 64,
                max_unit_bytes: 1000,
            },
            "r",
        );
        while !matches!(p.src.next().unwrap(), Event::Start(_)) {}
        assert_eq!(p.peek().unwrap(), Some("u"));
        p.path.push_str("r/u");
        let e = p
            .unit(1, |c| c.many_with("a", |c| Ok(c.path().len())))
            .unwrap_err();
        assert_eq!(e.kind, ParseErrorKind::TooLarge(1000));
        assert_eq!(e.path, "r/*[1]");
    }
}
