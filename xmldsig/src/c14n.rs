//! Canonical XML 1.0 (inclusive) and Exclusive XML Canonicalization 1.0.

use crate::tree::{AttrData, Document, Element, Kind, NodeId, NsDecl, Span, XML_NS};

const NONE: u32 = u32::MAX;

/// A canonicalization algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum C14nAlgorithm {
    /// Canonical XML 1.0, comments removed (`http://www.w3.org/TR/2001/REC-xml-c14n-20010315`).
    Inclusive,
    /// Canonical XML 1.0 with comments.
    InclusiveWithComments,
    /// Exclusive XML Canonicalization 1.0, comments removed (`http://www.w3.org/2001/10/xml-exc-c14n#`).
    Exclusive,
    /// Exclusive XML Canonicalization 1.0 with comments.
    ExclusiveWithComments,
}

impl C14nAlgorithm {
    /// The algorithm's URI.
    pub fn uri(self) -> &'static str {
        match self {
            C14nAlgorithm::Inclusive => "http://www.w3.org/TR/2001/REC-xml-c14n-20010315",
            C14nAlgorithm::InclusiveWithComments => {
                "http://www.w3.org/TR/2001/REC-xml-c14n-20010315#WithComments"
            }
            C14nAlgorithm::Exclusive => "http://www.w3.org/2001/10/xml-exc-c14n#",
            C14nAlgorithm::ExclusiveWithComments => {
                "http://www.w3.org/2001/10/xml-exc-c14n#WithComments"
            }
        }
    }

    /// The algorithm with this URI, if it is one of the four supported.
    pub fn from_uri(uri: &str) -> Option<C14nAlgorithm> {
        [
            C14nAlgorithm::Inclusive,
            C14nAlgorithm::InclusiveWithComments,
            C14nAlgorithm::Exclusive,
            C14nAlgorithm::ExclusiveWithComments,
        ]
        .into_iter()
        .find(|a| a.uri() == uri)
    }

    /// True for the exclusive variants.
    pub fn is_exclusive(self) -> bool {
        matches!(
            self,
            C14nAlgorithm::Exclusive | C14nAlgorithm::ExclusiveWithComments
        )
    }

    /// True for the variants that keep comments.
    pub fn with_comments(self) -> bool {
        matches!(
            self,
            C14nAlgorithm::InclusiveWithComments | C14nAlgorithm::ExclusiveWithComments
        )
    }

    /// The same algorithm without comments.
    pub fn without_comments(self) -> C14nAlgorithm {
        match self {
            C14nAlgorithm::InclusiveWithComments => C14nAlgorithm::Inclusive,
            C14nAlgorithm::ExclusiveWithComments => C14nAlgorithm::Exclusive,
            other => other,
        }
    }
}

/// Options for [`canonicalize`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct C14nOptions {
    /// The algorithm.
    pub algorithm: C14nAlgorithm,
    /// Exclusive C14N `InclusiveNamespaces PrefixList` (`#default` for the default namespace).
    /// Ignored by inclusive C14N.
    pub inclusive_prefixes: Vec<String>,
    /// A subtree left out of the output (the enveloped-signature transform).
    pub exclude: Option<NodeId>,
}

impl Default for C14nOptions {
    fn default() -> Self {
        C14nOptions::new(C14nAlgorithm::Exclusive)
    }
}

impl C14nOptions {
    /// Options for `algorithm` with no prefix list and no exclusion.
    pub fn new(algorithm: C14nAlgorithm) -> Self {
        C14nOptions {
            algorithm,
            inclusive_prefixes: Vec::new(),
            exclude: None,
        }
    }

    /// Sets the subtree to leave out.
    #[must_use]
    pub fn excluding(mut self, node: NodeId) -> Self {
        self.exclude = Some(node);
        self
    }

    /// Sets the InclusiveNamespaces prefix list from its whitespace-separated text form.
    #[must_use]
    pub fn with_prefix_list(mut self, list: &str) -> Self {
        self.inclusive_prefixes = list.split_ascii_whitespace().map(str::to_owned).collect();
        self
    }
}

/// Canonicalizes the document (when `node` is [`NodeId::DOCUMENT`]) or the subtree rooted at the
/// element `node` (a document subset as used by same-document references), appending to `out`.
///
/// Any other kind of node produces no output.
pub fn canonicalize(doc: &Document, node: NodeId, opts: &C14nOptions, out: &mut Vec<u8>) {
    let mut c = Canon::new(doc, opts, out);
    let id = node.0;
    if Some(node) == opts.exclude {
        return;
    }
    match doc.nodes.get(id as usize).map(|n| n.kind) {
        Some(Kind::Document) => c.document(),
        Some(Kind::Element) => {
            c.init_apex_scope(id);
            c.subtree(id);
        }
        _ => {}
    }
}

/// Convenience: canonical form of the whole document.
pub fn canonicalize_document(doc: &Document, algorithm: C14nAlgorithm) -> Vec<u8> {
    let mut out = Vec::with_capacity(doc.buf.len() + doc.buf.len() / 4);
    canonicalize(
        doc,
        NodeId::DOCUMENT,
        &C14nOptions::new(algorithm),
        &mut out,
    );
    out
}

impl Element<'_> {
    /// Canonical form of this element's subtree.
    pub fn canonicalize(&self, opts: &C14nOptions) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.source_range().len() + 64);
        canonicalize(self.doc, self.id(), opts, &mut out);
        out
    }
}

struct Canon<'d, 'o> {
    doc: &'d Document,
    out: &'o mut Vec<u8>,
    exclusive: bool,
    comments: bool,
    prefixes: Vec<&'d [u8]>,
    exclude: u32,
    inscope: Vec<NsDecl>,
    rendered: Vec<NsDecl>,
    levels: Vec<(usize, usize)>,
    ns_scratch: Vec<NsDecl>,
    attr_scratch: Vec<AttrData>,
    inherited_xml: Vec<AttrData>,
}

fn lookup(doc: &Document, v: &[NsDecl], prefix: &[u8]) -> Option<Span> {
    v.iter()
        .rev()
        .find(|d| eq(doc.b(d.prefix), prefix))
        .map(|d| d.uri)
}

impl<'d, 'o> Canon<'d, 'o> {
    fn new(doc: &'d Document, opts: &'d C14nOptions, out: &'o mut Vec<u8>) -> Self {
        out.reserve(doc.buf.len());
        let prefixes = if opts.algorithm.is_exclusive() {
            opts.inclusive_prefixes
                .iter()
                .map(|p| {
                    if p == "#default" {
                        &b""[..]
                    } else {
                        p.as_bytes()
                    }
                })
                .collect()
        } else {
            Vec::new()
        };
        Canon {
            doc,
            out,
            exclusive: opts.algorithm.is_exclusive(),
            comments: opts.algorithm.with_comments(),
            prefixes,
            exclude: opts.exclude.map_or(NONE, |n| n.0),
            inscope: Vec::new(),
            rendered: Vec::new(),
            levels: Vec::new(),
            ns_scratch: Vec::new(),
            attr_scratch: Vec::new(),
            inherited_xml: Vec::new(),
        }
    }

    /// Namespace declarations (and, for inclusive C14N, xml:* attributes) of the apex's
    /// ancestors.
    fn init_apex_scope(&mut self, apex: u32) {
        let doc = self.doc;
        let mut chain = Vec::new();
        let mut cur = doc.n(apex).parent;
        while cur != NONE && doc.n(cur).kind == Kind::Element {
            chain.push(cur);
            cur = doc.n(cur).parent;
        }
        for &id in chain.iter().rev() {
            let (s, e) = doc.n(id).ns_decls;
            for d in &doc.ns_decls[s as usize..e as usize] {
                if doc.b(d.prefix) != b"xml" {
                    self.inscope.push(*d);
                }
            }
        }
        if !self.exclusive {
            // C14N 1.0: xml:* attributes of ancestors are inherited by the apex; nearest wins.
            for &id in &chain {
                let (s, e) = doc.n(id).attrs;
                for a in &doc.attrs[s as usize..e as usize] {
                    if doc.b(a.ns) == XML_NS.as_bytes()
                        && !self
                            .inherited_xml
                            .iter()
                            .any(|x| doc.b(x.local) == doc.b(a.local))
                    {
                        self.inherited_xml.push(*a);
                    }
                }
            }
        }
    }

    fn document(&mut self) {
        let doc = self.doc;
        let mut seen_root = false;
        let mut c = doc.nodes[0].first_child;
        while c != NONE {
            let n = doc.n(c);
            match n.kind {
                Kind::Element => {
                    if c != self.exclude {
                        self.subtree(c);
                    }
                    seen_root = true;
                }
                Kind::Comment | Kind::Pi
                    if c != self.exclude && (n.kind == Kind::Pi || self.comments) =>
                {
                    if seen_root {
                        self.out.push(b'\n');
                    }
                    self.leaf(c);
                    if !seen_root {
                        self.out.push(b'\n');
                    }
                }
                _ => {}
            }
            c = n.next_sibling;
        }
    }

    fn next_sib(&self, id: u32) -> u32 {
        let mut s = self.doc.n(id).next_sibling;
        if s == self.exclude && s != NONE {
            s = self.doc.n(s).next_sibling;
        }
        s
    }

    fn first_child(&self, id: u32) -> u32 {
        let c = self.doc.n(id).first_child;
        if c == self.exclude && c != NONE {
            self.next_sib(c)
        } else {
            c
        }
    }

    fn subtree(&mut self, apex: u32) {
        let doc = self.doc;
        let mut cur = apex;
        'outer: loop {
            if doc.n(cur).kind == Kind::Element {
                self.open(cur, cur == apex);
                let fc = self.first_child(cur);
                if fc != NONE {
                    cur = fc;
                    continue 'outer;
                }
                self.close(cur);
            } else {
                self.leaf(cur);
            }
            loop {
                if cur == apex {
                    return;
                }
                let ns = self.next_sib(cur);
                if ns != NONE {
                    cur = ns;
                    continue 'outer;
                }
                cur = doc.n(cur).parent;
                self.close(cur);
            }
        }
    }

    fn leaf(&mut self, id: u32) {
        let doc = self.doc;
        let n = doc.n(id);
        match n.kind {
            Kind::Text => escape_text(self.out, doc.b(n.a)),
            Kind::Comment if self.comments => {
                self.out.extend_from_slice(b"<!--");
                self.out.extend_from_slice(doc.b(n.a));
                self.out.extend_from_slice(b"-->");
            }
            Kind::Pi => {
                self.out.extend_from_slice(b"<?");
                self.out.extend_from_slice(doc.b(n.a));
                if n.b.len > 0 {
                    self.out.push(b' ');
                    self.out.extend_from_slice(doc.b(n.b));
                }
                self.out.extend_from_slice(b"?>");
            }
            _ => {}
        }
    }

    fn add_candidate(&mut self, prefix: &[u8]) {
        let doc = self.doc;
        if prefix == b"xml" || self.ns_scratch.iter().any(|d| eq(doc.b(d.prefix), prefix)) {
            return;
        }
        let uri = lookup(doc, &self.inscope, prefix);
        let uri_b = uri.map_or(&b""[..], |u| doc.b(u));
        let rend = lookup(doc, &self.rendered, prefix);
        let rend_b = rend.map_or(&b""[..], |u| doc.b(u));
        let emit = if prefix.is_empty() {
            uri_b != rend_b
        } else {
            uri.is_some() && !uri_b.is_empty() && (rend.is_none() || rend_b != uri_b)
        };
        if emit {
            // Find the span of the prefix: reuse the in-scope declaration's prefix span, or an
            // empty span for the default namespace.
            let pspan = if prefix.is_empty() {
                Span::default()
            } else {
                self.inscope
                    .iter()
                    .rev()
                    .find(|d| eq(doc.b(d.prefix), prefix))
                    .map_or(Span::default(), |d| d.prefix)
            };
            self.ns_scratch.push(NsDecl {
                prefix: pspan,
                uri: uri.unwrap_or_default(),
            });
        }
    }

    /// [`Canon::add_candidate`] for the prefix of an element or attribute, whose binding the
    /// parser already resolved (`uri`, the same declaration the in-scope stack holds).
    fn add_resolved(&mut self, pspan: Span, uri: Span) {
        let doc = self.doc;
        let prefix = doc.b(pspan);
        if prefix == b"xml" || self.ns_scratch.iter().any(|d| eq(doc.b(d.prefix), prefix)) {
            return;
        }
        let uri_b = doc.b(uri);
        let rend = lookup(doc, &self.rendered, prefix);
        let same = |r: Span| r == uri || doc.b(r) == uri_b;
        let emit = if prefix.is_empty() {
            match rend {
                Some(r) => !same(r),
                None => !uri_b.is_empty(),
            }
        } else {
            !uri_b.is_empty() && rend.is_none_or(|r| !same(r))
        };
        if emit {
            self.ns_scratch.push(NsDecl {
                prefix: if prefix.is_empty() {
                    Span::default()
                } else {
                    pspan
                },
                uri,
            });
        }
    }

    fn open(&mut self, id: u32, is_apex: bool) {
        let doc = self.doc;
        let n = doc.n(id);
        self.levels.push((self.inscope.len(), self.rendered.len()));
        let (ds, de) = n.ns_decls;
        for d in &doc.ns_decls[ds as usize..de as usize] {
            if doc.b(d.prefix) != b"xml" {
                self.inscope.push(*d);
            }
        }
        self.ns_scratch.clear();
        let (as_, ae) = n.attrs;
        let attrs = &doc.attrs[as_ as usize..ae as usize];
        if self.exclusive {
            self.add_resolved(n.a, n.ns);
            for a in attrs {
                if a.prefix.len > 0 {
                    self.add_resolved(a.prefix, a.ns);
                }
            }
            for i in 0..self.prefixes.len() {
                let p = self.prefixes[i];
                self.add_candidate(p);
            }
        } else if is_apex {
            for i in (0..self.inscope.len()).rev() {
                let p = self.inscope[i].prefix;
                self.add_candidate(doc.b(p));
            }
        } else {
            for d in &doc.ns_decls[ds as usize..de as usize] {
                self.add_candidate(doc.b(d.prefix));
            }
        }
        if self.ns_scratch.len() > 1 {
            self.ns_scratch
                .sort_unstable_by(|x, y| doc.b(x.prefix).cmp(doc.b(y.prefix)));
        }

        let out = &mut *self.out;
        out.push(b'<');
        write_qname_spans(out, doc, n.a, n.b);
        for d in &self.ns_scratch {
            if d.prefix.len == 0 {
                out.extend_from_slice(b" xmlns=\"");
            } else {
                out.extend_from_slice(b" xmlns:");
                out.extend_from_slice(doc.b(d.prefix));
                out.extend_from_slice(b"=\"");
            }
            escape_attr(out, doc.b(d.uri));
            out.push(b'"');
        }
        self.rendered.extend_from_slice(&self.ns_scratch);

        let inherit = is_apex && !self.inherited_xml.is_empty();
        if attrs.len() == 1 && !inherit {
            write_attr(out, doc, &attrs[0]);
        } else if !attrs.is_empty() || inherit {
            self.attr_scratch.clear();
            self.attr_scratch.extend_from_slice(attrs);
            if inherit {
                for x in &self.inherited_xml {
                    if !attrs.iter().any(|a| {
                        doc.b(a.ns) == XML_NS.as_bytes() && doc.b(a.local) == doc.b(x.local)
                    }) {
                        self.attr_scratch.push(*x);
                    }
                }
            }
            // By namespace URI, then local name (unprefixed attributes, with no namespace, first).
            // Insertion sort: lists are short and often nearly sorted.
            let less = |x: &AttrData, y: &AttrData| {
                if x.ns.len == 0 && y.ns.len == 0 {
                    doc.b(x.local) < doc.b(y.local)
                } else {
                    (doc.b(x.ns), doc.b(x.local)) < (doc.b(y.ns), doc.b(y.local))
                }
            };
            let v = &mut self.attr_scratch;
            for i in 1..v.len() {
                let mut j = i;
                while j > 0 && less(&v[j], &v[j - 1]) {
                    v.swap(j, j - 1);
                    j -= 1;
                }
            }
            for a in &self.attr_scratch {
                write_attr(out, doc, a);
            }
        }
        out.push(b'>');
    }

    fn close(&mut self, id: u32) {
        let doc = self.doc;
        let n = doc.n(id);
        self.out.extend_from_slice(b"</");
        write_qname_spans(self.out, doc, n.a, n.b);
        self.out.push(b'>');
        if let Some((i, r)) = self.levels.pop() {
            self.inscope.truncate(i);
            self.rendered.truncate(r);
        }
    }
}

#[inline]
fn write_qname(out: &mut Vec<u8>, prefix: &[u8], local: &[u8]) {
    if !prefix.is_empty() {
        out.extend_from_slice(prefix);
        out.push(b':');
    }
    out.extend_from_slice(local);
}

/// [`write_qname`] for spans of the document: a name as written in the source (`prefix`, `:`
/// and `local` adjacent, as the parser records them) is copied in one piece.
#[inline]
fn write_qname_spans(out: &mut Vec<u8>, doc: &Document, prefix: Span, local: Span) {
    let whole = if prefix.len == 0 {
        local
    } else {
        let colon = (prefix.start + prefix.len) as usize;
        if colon + 1 != local.start as usize || doc.buf.as_bytes().get(colon) != Some(&b':') {
            write_qname(out, doc.b(prefix), doc.b(local));
            return;
        }
        Span {
            start: prefix.start,
            len: prefix.len + 1 + local.len,
        }
    };
    out.extend_from_slice(doc.b(whole));
}

#[inline]
fn write_attr(out: &mut Vec<u8>, doc: &Document, a: &AttrData) {
    out.push(b' ');
    write_qname_spans(out, doc, a.prefix, a.local);
    out.extend_from_slice(b"=\"");
    if a.plain {
        out.extend_from_slice(doc.b(a.value));
    } else {
        escape_attr(out, doc.b(a.value));
    }
    out.push(b'"');
}

const fn table(special: &[u8]) -> [bool; 256] {
    let mut t = [false; 256];
    let mut i = 0;
    while i < special.len() {
        t[special[i] as usize] = true;
        i += 1;
    }
    t
}

static TEXT_SPECIAL: [bool; 256] = table(b"&<>\r");
static ATTR_SPECIAL: [bool; 256] = table(b"&<\"\t\n\r");

/// Byte-slice equality without a `memcmp` call: the slices compared here (prefixes, names) are
/// short.
#[inline]
fn eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

#[inline]
fn escape_text(out: &mut Vec<u8>, s: &[u8]) {
    // Long text: a branch-free scan first (vectorizes), most text has nothing to escape.
    if s.len() >= 32
        && !s.iter().fold(false, |acc, &b| {
            acc | (b == b'&') | (b == b'<') | (b == b'>') | (b == b'\r')
        })
    {
        out.extend_from_slice(s);
        return;
    }
    let mut rest = s;
    while let Some(p) = rest.iter().position(|&b| TEXT_SPECIAL[b as usize]) {
        out.extend_from_slice(&rest[..p]);
        out.extend_from_slice(match rest[p] {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'>' => b"&gt;",
            _ => b"&#xD;",
        });
        rest = &rest[p + 1..];
    }
    out.extend_from_slice(rest);
}

#[inline]
fn escape_attr(out: &mut Vec<u8>, s: &[u8]) {
    // Branch-free scan first (vectorizes); `< 0x20` covers tab, LF and CR (the parser lets no
    // other control character through).
    let special = s.iter().fold(false, |acc, &b| {
        acc | (b < 0x20) | (b == b'&') | (b == b'<') | (b == b'"')
    });
    if !special {
        out.extend_from_slice(s);
        return;
    }
    let mut rest = s;
    while let Some(p) = rest.iter().position(|&b| ATTR_SPECIAL[b as usize]) {
        out.extend_from_slice(&rest[..p]);
        out.extend_from_slice(match rest[p] {
            b'&' => b"&amp;",
            b'<' => b"&lt;",
            b'"' => b"&quot;",
            b'\t' => b"&#x9;",
            b'\n' => b"&#xA;",
            _ => b"&#xD;",
        });
        rest = &rest[p + 1..];
    }
    out.extend_from_slice(rest);
}
