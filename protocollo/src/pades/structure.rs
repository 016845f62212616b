//! The byte-level structure of a signed PDF: its revisions, its signature fields, and the
//! strict check of each signature's `/ByteRange` against them.

use std::collections::HashSet;

use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId};

use super::{
    DocMdp, MAX_PDF_REVISIONS, MAX_PDF_SIGNATURES, MAX_SIGNATURE_CONTENTS, PdfError,
    PdfSignatureError,
};

/// Deepest field hierarchy (`/Kids`) and `/Parent` chain followed.
const MAX_FIELD_DEPTH: usize = 32;

/// One revision: the file up to the end of its `%%EOF` line, loaded on its own.
pub(crate) struct Revision {
    /// Offset just after `%%EOF` and its end-of-line marker.
    pub(crate) end: usize,
    /// Offset just after `%%EOF` (a byte range may end here or at `end`).
    pub(crate) end_without_eol: usize,
    pub(crate) doc: Document,
}

/// A PDF read revision by revision.
pub(crate) struct PdfFile<'a> {
    pub(crate) bytes: &'a [u8],
    /// The revisions, oldest first; the last one is what a reader of the file sees.
    pub(crate) revisions: Vec<Revision>,
    /// Non-blank bytes after the last `%%EOF` (not part of any revision).
    pub(crate) garbage_after: bool,
}

/// A signature field with a signature value, as found in the newest revision.
pub(crate) struct SignatureField {
    pub(crate) name: String,
    /// The indirect object holding the signature dictionary.
    pub(crate) holder: Option<ObjectId>,
    pub(crate) sub_filter: String,
    pub(crate) byte_range: Option<[u64; 4]>,
    pub(crate) doc_time_stamp: bool,
    pub(crate) certification: Option<DocMdp>,
    pub(crate) lock: Option<DocMdp>,
    pub(crate) claimed_time: Option<String>,
}

/// A byte range found exact: the revision it signs, the signed bytes and the CMS.
pub(crate) struct CheckedRange {
    /// 1-based.
    pub(crate) revision: usize,
    pub(crate) signed: Vec<u8>,
    pub(crate) cms: Vec<u8>,
}

fn load(bytes: &[u8]) -> Result<Document, lopdf::Error> {
    Document::load_mem_with_options(
        bytes,
        LoadOptions {
            strict: true,
            ..LoadOptions::default()
        },
    )
}

fn is_blank(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\0' | b'\x0c')
}

/// Every `%%EOF` marker: (offset after it, offset after it and its end-of-line).
fn eof_markers(bytes: &[u8]) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = memfind(&bytes[from..], b"%%EOF") {
        let after = from + i + 5;
        let eol = match (bytes.get(after), bytes.get(after + 1)) {
            (Some(b'\r'), Some(b'\n')) => 2,
            (Some(b'\r' | b'\n'), _) => 1,
            _ => 0,
        };
        out.push((after, after + eol));
        from = after;
    }
    out
}

pub(crate) fn memfind(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || hay.len() < needle.len() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

impl<'a> PdfFile<'a> {
    /// Reads the file and each of its revisions.
    pub(crate) fn read(bytes: &'a [u8]) -> Result<Self, PdfError> {
        if !bytes.starts_with(b"%PDF-") {
            return Err(PdfError::Parse("no %PDF- header".into()));
        }
        let whole = load(bytes).map_err(|e| PdfError::Parse(e.to_string()))?;
        if whole.trailer.has(b"Encrypt") || whole.encryption_state.is_some() {
            return Err(PdfError::Encrypted);
        }
        // The whole file is the last revision. When it ends in blanks after an `%%EOF`, the
        // revision ends at that `%%EOF` line; other bytes after it make a revision of their
        // own (some readers read them).
        let markers = eof_markers(bytes);
        let (last_end, last_without_eol, garbage_after) = match markers.last() {
            Some(&(w, e)) if bytes[e..].iter().all(|b| is_blank(*b)) => (e, w, false),
            _ => (bytes.len(), bytes.len(), true),
        };
        let mut revisions: Vec<Revision> = Vec::new();
        for (end_without_eol, end) in markers {
            if end >= last_end {
                break;
            }
            // An earlier revision is a prefix that loads on its own, whose cross-reference
            // section lies after the previous revision (an `%%EOF` inside a stream is none).
            let Ok(doc) = load(&bytes[..end]) else {
                continue;
            };
            if revisions
                .last()
                .is_some_and(|prev| doc.xref_start < prev.end)
            {
                continue;
            }
            if revisions.len() + 1 >= MAX_PDF_REVISIONS {
                return Err(PdfError::TooManyRevisions);
            }
            revisions.push(Revision {
                end,
                end_without_eol,
                doc,
            });
        }
        revisions.push(Revision {
            end: last_end,
            end_without_eol: last_without_eol,
            doc: whole,
        });
        Ok(PdfFile {
            bytes,
            revisions,
            garbage_after,
        })
    }

    /// The end of the last revision.
    pub(crate) fn last_end(&self) -> usize {
        self.revisions.last().map_or(self.bytes.len(), |r| r.end)
    }

    /// What a reader of the file sees.
    pub(crate) fn newest(&self) -> Option<&Document> {
        self.revisions.last().map(|r| &r.doc)
    }

    /// Every signature field with a value, in form order.
    pub(crate) fn signature_fields(&self) -> Result<Vec<SignatureField>, PdfError> {
        let Some(doc) = self.newest() else {
            return Ok(Vec::new());
        };
        let catalog = doc
            .catalog()
            .map_err(|e| PdfError::Parse(format!("catalog: {e}")))?;
        let Some(acroform) = deref_dict(doc, catalog.get(b"AcroForm").ok()) else {
            return Ok(Vec::new());
        };
        let certified = deref_dict(doc, catalog.get(b"Perms").ok())
            .and_then(|p| p.get(b"DocMDP").ok())
            .and_then(|o| o.as_reference().ok());
        let Some(fields) = deref(doc, acroform.get(b"Fields").ok()).and_then(|f| f.as_array().ok())
        else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        // (field, parent name, inherited /FT, depth)
        let mut stack: Vec<(&Object, String, Option<Vec<u8>>, usize)> = fields
            .iter()
            .rev()
            .map(|f| (f, String::new(), None, 0))
            .collect();
        while let Some((obj, parent, inherited_ft, depth)) = stack.pop() {
            if depth > MAX_FIELD_DEPTH {
                return Err(PdfError::Form("field hierarchy too deep".into()));
            }
            let own_id = obj.as_reference().ok();
            if let Some(id) = own_id
                && !seen.insert(id)
            {
                return Err(PdfError::Form(format!(
                    "field {} {} R appears twice",
                    id.0, id.1
                )));
            }
            let Some(field) = deref_dict(doc, Some(obj)) else {
                return Err(PdfError::Form("a field is not a dictionary".into()));
            };
            let name = match field.get(b"T").ok().and_then(|t| t.as_str().ok()) {
                Some(t) if parent.is_empty() => text_string(t),
                Some(t) => format!("{parent}.{}", text_string(t)),
                None => parent.clone(),
            };
            let ft = field
                .get(b"FT")
                .ok()
                .and_then(|f| f.as_name().ok())
                .map(<[u8]>::to_vec)
                .or(inherited_ft);
            if let Some(kids) = deref(doc, field.get(b"Kids").ok()).and_then(|k| k.as_array().ok())
            {
                for k in kids.iter().rev() {
                    stack.push((k, name.clone(), ft.clone(), depth + 1));
                }
            }
            if ft.as_deref() != Some(b"Sig") {
                continue;
            }
            let Ok(v) = field.get(b"V") else {
                continue;
            };
            let holder = match v {
                Object::Reference(id) => Some(*id),
                _ => own_id,
            };
            let Some(sig) = deref_dict(doc, Some(v)) else {
                continue;
            };
            if out.len() >= MAX_PDF_SIGNATURES {
                return Err(PdfError::TooManySignatures);
            }
            let lock = deref_dict(doc, field.get(b"Lock").ok())
                .and_then(|l| l.get(b"P").ok())
                .and_then(|p| p.as_i64().ok())
                .and_then(docmdp_of);
            let mut certification = docmdp_in_reference(doc, sig);
            if certification.is_none() && certified.is_some() && certified == holder {
                certification = Some(DocMdp::FillForms);
            }
            out.push(SignatureField {
                name,
                holder,
                sub_filter: sig
                    .get(b"SubFilter")
                    .ok()
                    .and_then(|s| s.as_name().ok())
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .unwrap_or_default(),
                byte_range: byte_range(sig),
                doc_time_stamp: sig.has_type(b"DocTimeStamp"),
                certification,
                lock,
                claimed_time: sig
                    .get(b"M")
                    .ok()
                    .and_then(|m| m.as_str().ok())
                    .map(text_string),
            });
        }
        Ok(out)
    }

    /// Checks the signature's byte range strictly and extracts what it signs.
    pub(crate) fn check_signature(
        &self,
        field: &SignatureField,
    ) -> Result<CheckedRange, PdfSignatureError> {
        let range = field.byte_range;
        let bad = |reason: &str| PdfSignatureError::ByteRange {
            range,
            reason: reason.to_owned(),
        };
        let [a, b, c, d] = range.ok_or_else(|| bad("not an array of 4 non-negative integers"))?;
        let to = |v: u64| usize::try_from(v).map_err(|_| bad("offset too large"));
        let (a, b, c, d) = (to(a)?, to(b)?, to(c)?, to(d)?);
        if a != 0 {
            return Err(bad("the first range does not start at byte 0"));
        }
        if c <= b || c - b < 2 {
            return Err(bad("the ranges overlap or leave no room for /Contents"));
        }
        let end = c
            .checked_add(d)
            .ok_or_else(|| bad("the second range overflows"))?;
        if end > self.bytes.len() {
            return Err(bad("the second range ends past the end of the file"));
        }
        let revision = self
            .revisions
            .iter()
            .position(|r| r.end == end || r.end_without_eol == end)
            .ok_or_else(|| bad("the signed bytes do not end at the end of a revision (%%EOF)"))?;
        let rev = &self.revisions[revision];
        // The hole is exactly one hex string.
        let hole = &self.bytes[b..c];
        if hole.first() != Some(&b'<') || hole.last() != Some(&b'>') {
            return Err(bad("the hole is not a <...> hex string"));
        }
        let hex = &hole[1..hole.len() - 1];
        if hex.len() > MAX_SIGNATURE_CONTENTS {
            return Err(bad("the /Contents hole is larger than the limit"));
        }
        if !hex.len().is_multiple_of(2) || !hex.iter().all(u8::is_ascii_hexdigit) {
            return Err(bad(
                "the hole holds other than an even number of hex digits",
            ));
        }
        let contents = decode_hex(hex);
        // ... the /Contents of this signature dictionary, in the object holding it.
        let holder = field.holder.ok_or_else(|| {
            PdfSignatureError::Dictionary(
                "the signature dictionary is not an indirect object".into(),
            )
        })?;
        let offset = match rev.doc.reference_table.get(holder.0) {
            Some(lopdf::xref::XrefEntry::Normal { offset, generation })
                if *generation == holder.1 =>
            {
                *offset as usize
            }
            Some(lopdf::xref::XrefEntry::Compressed { .. }) => {
                return Err(bad("the signature dictionary is inside an object stream"));
            }
            _ => {
                return Err(bad(
                    "the signature dictionary is not an object of the signed revision",
                ));
            }
        };
        if offset >= b || !starts_object(&self.bytes[offset..], holder) {
            return Err(bad(
                "the hole is not inside the signature dictionary's object",
            ));
        }
        if memfind(&self.bytes[offset..b], b"endobj").is_some()
            || memfind(&self.bytes[offset..b], b"stream").is_some()
        {
            return Err(bad(
                "the hole is not inside the signature dictionary's object",
            ));
        }
        let before = trim_end(&self.bytes[offset..b]);
        if !before.ends_with(b"/Contents") {
            return Err(bad("the hole is not the value of /Contents"));
        }
        let sig_then = rev
            .doc
            .get_object(holder)
            .ok()
            .and_then(|o| o.as_dict().ok())
            .ok_or_else(|| bad("the signed revision has no such signature dictionary"))?;
        match sig_then.get(b"Contents") {
            Ok(Object::String(s, _)) if *s == contents => {}
            _ => {
                return Err(bad(
                    "the hole is not the /Contents of the signature dictionary",
                ));
            }
        }
        if byte_range(sig_then) != field.byte_range {
            return Err(bad("the signed revision's /ByteRange differs"));
        }
        let cms = strip_padding(&contents)?;
        let mut signed = Vec::with_capacity(b + d);
        signed.extend_from_slice(&self.bytes[..b]);
        signed.extend_from_slice(&self.bytes[c..end]);
        Ok(CheckedRange {
            revision: revision + 1,
            signed,
            cms,
        })
    }
}

/// `N G obj` at the start of `bytes`.
fn starts_object(bytes: &[u8], id: ObjectId) -> bool {
    let head = format!("{} {} obj", id.0, id.1);
    let head = head.as_bytes();
    bytes.starts_with(head)
        && bytes
            .get(head.len())
            .is_none_or(|b| is_blank(*b) || matches!(b, b'<' | b'[' | b'/' | b'%'))
}

fn trim_end(mut s: &[u8]) -> &[u8] {
    while let Some((last, rest)) = s.split_last() {
        if is_blank(*last) {
            s = rest;
        } else {
            break;
        }
    }
    s
}

fn decode_hex(hex: &[u8]) -> Vec<u8> {
    let v = |c: u8| match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c.wrapping_sub(b'A').wrapping_add(10) & 0x0f,
    };
    hex.chunks_exact(2)
        .map(|p| (v(p[0]) << 4) | v(p[1]))
        .collect()
}

/// The CMS element at the start of `/Contents`; the rest (the reserved space) must be zeros.
fn strip_padding(contents: &[u8]) -> Result<Vec<u8>, PdfSignatureError> {
    let len = crate::ber::element_len(contents)
        .map_err(|e| PdfSignatureError::Cms(crate::p7m::P7mError::Encoding(e)))?;
    if contents[len..].iter().any(|b| *b != 0) {
        return Err(PdfSignatureError::Dictionary(
            "/Contents holds data after the CMS signature".into(),
        ));
    }
    Ok(contents[..len].to_vec())
}

fn byte_range(sig: &Dictionary) -> Option<[u64; 4]> {
    let arr = sig.get(b"ByteRange").ok()?.as_array().ok()?;
    let mut out = [0u64; 4];
    if arr.len() != 4 {
        return None;
    }
    for (o, v) in out.iter_mut().zip(arr) {
        *o = u64::try_from(v.as_i64().ok()?).ok()?;
    }
    Some(out)
}

fn docmdp_of(p: i64) -> Option<DocMdp> {
    match p {
        1 => Some(DocMdp::NoChanges),
        2 => Some(DocMdp::FillForms),
        3 => Some(DocMdp::Annotate),
        _ => None,
    }
}

/// The DocMDP permission of a signature dictionary's `/Reference` (a certification).
fn docmdp_in_reference(doc: &Document, sig: &Dictionary) -> Option<DocMdp> {
    let refs = deref(doc, sig.get(b"Reference").ok())?.as_array().ok()?;
    refs.iter().find_map(|r| {
        let r = deref_dict(doc, Some(r))?;
        if r.get(b"TransformMethod").ok()?.as_name().ok()? != b"DocMDP" {
            return None;
        }
        let p = deref_dict(doc, r.get(b"TransformParams").ok())
            .and_then(|t| t.get(b"P").ok())
            .and_then(|p| p.as_i64().ok());
        // An invalid /P is read as the strictest permission.
        Some(p.map_or(DocMdp::FillForms, |p| {
            docmdp_of(p).unwrap_or(DocMdp::NoChanges)
        }))
    })
}

/// Follows references (a bounded number of times).
pub(crate) fn deref<'d>(doc: &'d Document, mut o: Option<&'d Object>) -> Option<&'d Object> {
    for _ in 0..MAX_FIELD_DEPTH {
        match o? {
            Object::Reference(id) => o = doc.objects.get(id),
            other => return Some(other),
        }
    }
    None
}

pub(crate) fn deref_dict<'d>(doc: &'d Document, o: Option<&'d Object>) -> Option<&'d Dictionary> {
    match deref(doc, o)? {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

/// A PDF text string: UTF-16BE with a byte-order mark, else PDFDocEncoding (read as
/// Latin-1, which it equals for the printable characters).
pub(crate) fn text_string(s: &[u8]) -> String {
    if let Some(rest) = s.strip_prefix(&[0xfe, 0xff]) {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|p| u16::from_be_bytes([p[0], p[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    s.iter().map(|b| char::from(*b)).collect()
}

/// The fully qualified name of a field (its `/T` and its parents').
pub(crate) fn field_name(doc: &Document, field: &Dictionary) -> String {
    let mut parts = Vec::new();
    let mut cur = Some(field);
    for _ in 0..MAX_FIELD_DEPTH {
        let Some(f) = cur else { break };
        if let Some(t) = f.get(b"T").ok().and_then(|t| t.as_str().ok()) {
            parts.push(text_string(t));
        }
        cur = deref_dict(doc, f.get(b"Parent").ok());
    }
    parts.reverse();
    parts.join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PLACEHOLDER: &str = "[0 0000000000 0000000000 0000000000]";

    /// A PDF with one signature field whose dictionary holds `/Fake` and `/Contents` hex
    /// strings of the same length, a hex string in another object before it, and a
    /// `/ByteRange` whose hole is the string `target` names ("Contents", "Fake", "Other").
    fn pdf(target: &str) -> Vec<u8> {
        let hex = format!("3000{}", "0".repeat(60));
        let objects = [
            "<< /Type /Catalog /Pages 2 0 R /AcroForm 6 0 R >>".to_owned(),
            "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_owned(),
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 10 10] /Annots [5 0 R] >>".to_owned(),
            format!(
                "<< /Type /Sig /SubFilter /ETSI.CAdES.detached /ByteRange {PLACEHOLDER} \
                 /Fake <{hex}> /Contents <{hex}> >>"
            ),
            "<< /FT /Sig /T (Firma) /V 4 0 R /Subtype /Widget /Rect [0 0 0 0] /P 3 0 R >>"
                .to_owned(),
            "<< /Fields [5 0 R] /SigFlags 3 >>".to_owned(),
            format!("<< /Other <{hex}> >>"),
        ];
        let mut out = b"%PDF-1.7\n".to_vec();
        let mut offsets = Vec::new();
        for (i, o) in objects.iter().enumerate() {
            offsets.push(out.len());
            out.extend_from_slice(format!("{} 0 obj\n{o}\nendobj\n", i + 1).as_bytes());
        }
        let xref = out.len();
        out.extend_from_slice(
            format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
        );
        for o in offsets {
            out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
        }
        out.extend_from_slice(
            format!(
                "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
                objects.len() + 1
            )
            .as_bytes(),
        );
        let key = format!("/{target} <");
        let b = memfind(&out, key.as_bytes()).unwrap_or(0) + key.len() - 1;
        let c = b + hex.len() + 2;
        let range = format!("[0 {b:010} {c:010} {:010}]", out.len() - c);
        let at = memfind(&out, PLACEHOLDER.as_bytes()).unwrap_or(0);
        out[at..at + range.len()].copy_from_slice(range.as_bytes());
        out
    }

    fn check(bytes: &[u8]) -> Result<CheckedRange, PdfSignatureError> {
        let file = PdfFile::read(bytes).unwrap();
        let fields = file.signature_fields().unwrap();
        assert_eq!(fields.len(), 1);
        assert_eq!(fields[0].name, "Firma");
        file.check_signature(&fields[0])
    }

    fn reason(r: Result<CheckedRange, PdfSignatureError>) -> String {
        match r {
            Err(PdfSignatureError::ByteRange { reason, .. }) => reason,
            Err(e) => panic!("not a ByteRange error: {e}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn the_contents_hole_is_accepted() {
        let bytes = pdf("Contents");
        let c = check(&bytes).unwrap();
        assert_eq!(c.revision, 1);
        assert_eq!(c.cms, vec![0x30, 0x00]);
        assert_eq!(c.signed.len(), bytes.len() - 66);
    }

    #[test]
    fn a_hole_over_another_entry_of_the_dictionary_is_refused() {
        let r = reason(check(&pdf("Fake")));
        assert!(r.contains("not the value of /Contents"), "{r}");
    }

    #[test]
    fn a_hole_in_another_object_is_refused() {
        let r = reason(check(&pdf("Other")));
        assert!(r.contains("not inside the signature dictionary"), "{r}");
    }

    #[test]
    fn a_hole_that_is_not_hex_is_refused() {
        let mut bytes = pdf("Contents");
        let at = memfind(&bytes, b"/Contents <30").unwrap() + 13;
        bytes[at] = b'g';
        // lopdf refuses the hex string itself, or the check does
        match PdfFile::read(&bytes) {
            Err(_) => {}
            Ok(file) => {
                if let Some(f) = file.signature_fields().unwrap().first() {
                    assert!(file.check_signature(f).is_err());
                }
            }
        }
    }
}
