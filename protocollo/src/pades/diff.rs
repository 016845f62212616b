//! What an incremental update changed: the objects of two revisions compared one by one,
//! each change graded by what ISO 32000-1 §12.8.2.2 (DocMDP) lets a later user do.

use std::collections::HashSet;

use lopdf::{Dictionary, Document, Object, ObjectId};

use super::structure::{PdfFile, deref, deref_dict, field_name};
use super::{ModificationLevel, RevisionUpdate};

/// Most changes listed for one update (the rest are counted in one [`Change::Other`]).
const MAX_CHANGES: usize = 256;

/// Catalog entries that signature maintenance may change (handled by their own rules or
/// harmless: `/AcroForm`, `/DSS`, `/Metadata`, `/Extensions`, `/MarkInfo`, `/Version`).
const CATALOG_UPDATABLE: &[&[u8]] = &[
    b"AcroForm",
    b"DSS",
    b"Metadata",
    b"Extensions",
    b"MarkInfo",
    b"Version",
];

/// One change an incremental update made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Change {
    /// A signature value put in a signature field (a new signature).
    SignatureAdded {
        /// The field name.
        field: String,
    },
    /// A document time-stamp added.
    DocTimeStampAdded {
        /// The field name.
        field: String,
    },
    /// An empty signature field added.
    SignatureFieldAdded {
        /// The field name.
        field: String,
    },
    /// A form field's value set or changed.
    FormFieldFilled {
        /// The field name.
        field: String,
    },
    /// The form's own entries or a widget's appearance updated (part of filling or signing).
    FormUpdated {
        /// What changed.
        what: String,
    },
    /// An annotation added to a page.
    AnnotationAdded {
        /// Its `/Subtype`.
        subtype: String,
    },
    /// An existing annotation modified.
    AnnotationModified {
        /// Its object.
        object: ObjectId,
    },
    /// An annotation removed from a page.
    AnnotationRemoved {
        /// Its object, when it was indirect.
        object: Option<ObjectId>,
    },
    /// Validation data (the `/DSS`) added or updated.
    ValidationData,
    /// Metadata (the `/Info` dictionary, the XMP stream, catalog `/Extensions` ...).
    Metadata {
        /// What changed.
        what: String,
    },
    /// Any other change: page content, page tree, catalog, fonts, a signature dictionary ...
    Other {
        /// The object changed, when one is.
        object: Option<ObjectId>,
        /// What changed.
        what: String,
    },
}

impl Change {
    /// The permission level this change needs.
    pub fn level(&self) -> ModificationLevel {
        match self {
            Change::DocTimeStampAdded { .. } | Change::ValidationData | Change::Metadata { .. } => {
                ModificationLevel::LtaUpdates
            }
            Change::SignatureAdded { .. }
            | Change::SignatureFieldAdded { .. }
            | Change::FormFieldFilled { .. }
            | Change::FormUpdated { .. } => ModificationLevel::FormFilling,
            Change::AnnotationAdded { .. }
            | Change::AnnotationModified { .. }
            | Change::AnnotationRemoved { .. } => ModificationLevel::Annotations,
            Change::Other { .. } => ModificationLevel::Other,
        }
    }
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Change::SignatureAdded { field } => write!(f, "signature added in field {field}"),
            Change::DocTimeStampAdded { field } => {
                write!(f, "document time-stamp added in field {field}")
            }
            Change::SignatureFieldAdded { field } => {
                write!(f, "empty signature field {field} added")
            }
            Change::FormFieldFilled { field } => write!(f, "form field {field} filled in"),
            Change::FormUpdated { what } => write!(f, "form updated: {what}"),
            Change::AnnotationAdded { subtype } => write!(f, "annotation /{subtype} added"),
            Change::AnnotationModified { object } => {
                write!(f, "annotation {} {} R modified", object.0, object.1)
            }
            Change::AnnotationRemoved { object: Some(o) } => {
                write!(f, "annotation {} {} R removed", o.0, o.1)
            }
            Change::AnnotationRemoved { object: None } => write!(f, "annotation removed"),
            Change::ValidationData => f.write_str("validation data (DSS) updated"),
            Change::Metadata { what } => write!(f, "metadata updated: {what}"),
            Change::Other {
                object: Some(o),
                what,
            } => write!(f, "object {} {} R: {what}", o.0, o.1),
            Change::Other { object: None, what } => f.write_str(what),
        }
    }
}

/// The changes of each update (revision 2 onwards) relative to the revision before it.
pub(crate) fn updates(file: &PdfFile<'_>) -> Vec<RevisionUpdate> {
    let mut out: Vec<RevisionUpdate> = file
        .revisions
        .windows(2)
        .enumerate()
        .map(|(i, w)| RevisionUpdate {
            revision: i + 2,
            changes: changes(&w[0].doc, &w[1].doc),
        })
        .collect();
    if file.garbage_after
        && let Some(last) = out
            .last_mut()
            .filter(|u| u.revision == file.revisions.len())
    {
        last.changes.push(garbage());
    }
    out
}

fn garbage() -> Change {
    Change::Other {
        object: None,
        what: "bytes after the last %%EOF".into(),
    }
}

/// The changes from revision `r` (1-based) to the newest one, in one comparison.
pub(crate) fn net_changes(file: &PdfFile<'_>, r: usize) -> Vec<Change> {
    let (Some(old), Some(new)) = (file.revisions.get(r - 1), file.revisions.last()) else {
        return Vec::new();
    };
    if r == file.revisions.len() {
        return Vec::new();
    }
    let mut out = changes(&old.doc, &new.doc);
    if file.garbage_after {
        out.push(garbage());
    }
    out
}

/// What the old revision's structure is, to recognise its objects.
struct OldView<'a> {
    root: Option<ObjectId>,
    acroform: Option<ObjectId>,
    fields_array: Option<ObjectId>,
    info: Option<ObjectId>,
    dss: Option<ObjectId>,
    annots_arrays: HashSet<ObjectId>,
    referenced: HashSet<ObjectId>,
    doc: &'a Document,
}

fn reference(o: Option<&Object>) -> Option<ObjectId> {
    o.and_then(|o| o.as_reference().ok())
}

impl<'a> OldView<'a> {
    fn new(doc: &'a Document) -> Self {
        let root = reference(doc.trailer.get(b"Root").ok());
        let catalog = root
            .and_then(|r| doc.objects.get(&r))
            .and_then(|o| o.as_dict().ok());
        let acroform = catalog.and_then(|c| reference(c.get(b"AcroForm").ok()));
        let fields_array = deref_dict(doc, catalog.and_then(|c| c.get(b"AcroForm").ok()))
            .and_then(|a| reference(a.get(b"Fields").ok()));
        let dss = catalog.and_then(|c| reference(c.get(b"DSS").ok()));
        let mut annots_arrays = HashSet::new();
        let mut referenced = HashSet::new();
        for obj in doc.objects.values() {
            if let Some(d) = dict_of(obj)
                && d.has_type(b"Page")
                && let Some(a) = reference(d.get(b"Annots").ok())
            {
                annots_arrays.insert(a);
            }
            collect_refs(obj, &mut referenced, 0);
        }
        OldView {
            root,
            acroform,
            fields_array,
            info: reference(doc.trailer.get(b"Info").ok()),
            dss,
            annots_arrays,
            referenced,
            doc,
        }
    }
}

fn collect_refs(o: &Object, out: &mut HashSet<ObjectId>, depth: usize) {
    if depth > 64 {
        return;
    }
    match o {
        Object::Reference(id) => {
            out.insert(*id);
        }
        Object::Array(a) => a.iter().for_each(|v| collect_refs(v, out, depth + 1)),
        Object::Dictionary(d) => d.iter().for_each(|(_, v)| collect_refs(v, out, depth + 1)),
        Object::Stream(s) => s
            .dict
            .iter()
            .for_each(|(_, v)| collect_refs(v, out, depth + 1)),
        _ => {}
    }
}

fn dict_of(o: &Object) -> Option<&Dictionary> {
    match o {
        Object::Dictionary(d) => Some(d),
        Object::Stream(s) => Some(&s.dict),
        _ => None,
    }
}

/// Cross-reference and object streams: containers, not content.
fn is_container(o: &Object) -> bool {
    matches!(o, Object::Stream(s) if s.dict.has_type(b"XRef") || s.dict.has_type(b"ObjStm"))
}

fn same(a: &Object, b: &Object) -> bool {
    match (a, b) {
        (Object::Stream(x), Object::Stream(y)) => x.dict == y.dict && x.content == y.content,
        _ => a == b,
    }
}

fn name_of(d: &Dictionary, key: &[u8]) -> Option<String> {
    d.get(key)
        .ok()
        .and_then(|n| n.as_name().ok())
        .map(|n| String::from_utf8_lossy(n).into_owned())
}

fn key_str(k: &[u8]) -> String {
    String::from_utf8_lossy(k).into_owned()
}

/// The keys whose values differ between two dictionaries.
fn changed_keys<'k>(old: &'k Dictionary, new: &'k Dictionary) -> Vec<&'k [u8]> {
    let mut keys: Vec<&[u8]> = Vec::new();
    for (k, v) in old.iter() {
        if new.get(k).map_or(true, |nv| !same(v, nv)) {
            keys.push(k);
        }
    }
    for (k, _) in new.iter() {
        if !old.has(k) {
            keys.push(k);
        }
    }
    keys
}

/// The field type of a field dictionary, inherited through `/Parent`.
fn field_type(doc: &Document, d: &Dictionary) -> Option<Vec<u8>> {
    let mut cur = Some(d);
    for _ in 0..32 {
        let f = cur?;
        if let Ok(ft) = f.get(b"FT").and_then(Object::as_name) {
            return Some(ft.to_vec());
        }
        cur = deref_dict(doc, f.get(b"Parent").ok());
    }
    None
}

fn is_field(doc: &Document, d: &Dictionary) -> bool {
    field_type(doc, d).is_some() || d.has(b"T") && (d.has(b"Kids") || d.has(b"Parent"))
}

fn is_annotation(d: &Dictionary) -> bool {
    d.has(b"Subtype") && d.has(b"Rect") && (!d.has(b"Type") || d.has_type(b"Annot"))
}

fn is_widget(d: &Dictionary) -> bool {
    d.get(b"Subtype").and_then(Object::as_name).ok() == Some(b"Widget".as_slice())
}

struct Diff<'a> {
    old: OldView<'a>,
    new: &'a Document,
    out: Vec<Change>,
    dropped: usize,
}

/// The changes from `old` to `new`.
pub(crate) fn changes(old: &Document, new: &Document) -> Vec<Change> {
    let mut d = Diff {
        old: OldView::new(old),
        new,
        out: Vec::new(),
        dropped: 0,
    };
    d.run();
    if d.dropped > 0 {
        d.out.push(Change::Other {
            object: None,
            what: format!("{} more changes", d.dropped),
        });
    }
    d.out
}

impl Diff<'_> {
    fn push(&mut self, c: Change) {
        if self.out.len() < MAX_CHANGES {
            if !self.out.contains(&c) {
                self.out.push(c);
            }
        } else {
            self.dropped += 1;
        }
    }

    fn other(&mut self, object: Option<ObjectId>, what: impl Into<String>) {
        self.push(Change::Other {
            object,
            what: what.into(),
        });
    }

    fn run(&mut self) {
        let old_doc = self.old.doc;
        let new_doc = self.new;
        for key in [b"Root".as_slice(), b"Encrypt"] {
            let (o, n) = (old_doc.trailer.get(key).ok(), new_doc.trailer.get(key).ok());
            if o != n {
                self.other(None, format!("the trailer's /{} changed", key_str(key)));
            }
        }
        if old_doc.trailer.get(b"Info").ok() != new_doc.trailer.get(b"Info").ok() {
            self.push(Change::Metadata {
                what: "the /Info dictionary replaced".into(),
            });
        }
        for (id, o) in &old_doc.objects {
            match new_doc.objects.get(id) {
                None if is_container(o) => {}
                None => self.other(Some(*id), "object removed"),
                Some(n) if same(o, n) => {}
                Some(n) => self.modified(*id, o, n),
            }
        }
        for id in new_doc.objects.keys() {
            if !old_doc.objects.contains_key(id) && self.old.referenced.contains(id) {
                self.other(
                    Some(*id),
                    "defines an object the signed revision referenced without defining",
                );
            }
        }
    }

    fn modified(&mut self, id: ObjectId, old: &Object, new: &Object) {
        if is_container(old) || is_container(new) {
            return;
        }
        if Some(id) == self.old.root {
            return self.catalog(id, old, new);
        }
        if Some(id) == self.old.acroform {
            return self.acroform(dict_of(old), dict_of(new), Some(id));
        }
        if Some(id) == self.old.fields_array {
            return self.fields(old.as_array().ok(), new.as_array().ok());
        }
        if self.old.annots_arrays.contains(&id) {
            return self.annots(old.as_array().ok(), new.as_array().ok(), Some(id));
        }
        if Some(id) == self.old.info {
            return self.push(Change::Metadata {
                what: "/Info".into(),
            });
        }
        if Some(id) == self.old.dss {
            return self.push(Change::ValidationData);
        }
        let (Some(od), Some(nd)) = (dict_of(old), dict_of(new)) else {
            return self.other(Some(id), "modified");
        };
        if od.has_type(b"Sig") || od.has_type(b"DocTimeStamp") {
            return self.other(Some(id), "signature dictionary modified");
        }
        if od.has_type(b"Metadata") {
            return self.push(Change::Metadata {
                what: "XMP metadata".into(),
            });
        }
        if od.has_type(b"Page") {
            return self.page(id, od, nd);
        }
        if is_field(self.old.doc, od) || is_widget(od) {
            return self.field(id, od, nd);
        }
        if is_annotation(od) {
            return self.push(Change::AnnotationModified { object: id });
        }
        let what = match name_of(od, b"Type").or_else(|| name_of(od, b"Subtype")) {
            Some(t) => format!("/{t} modified"),
            None => "modified".into(),
        };
        self.other(Some(id), what);
    }

    fn catalog(&mut self, id: ObjectId, old: &Object, new: &Object) {
        let (Some(od), Some(nd)) = (dict_of(old), dict_of(new)) else {
            return self.other(Some(id), "the catalog is not a dictionary");
        };
        for k in changed_keys(od, nd) {
            match k {
                b"AcroForm" => {
                    let (o, n) = (od.get(k).ok(), nd.get(k).ok());
                    let (od_af, nd_af) = (deref_dict(self.old.doc, o), deref_dict(self.new, n));
                    match nd_af {
                        Some(naf) => self.acroform(od_af, Some(naf), reference(n)),
                        None => self.other(Some(id), "the interactive form removed"),
                    }
                }
                b"DSS" => self.push(Change::ValidationData),
                k if CATALOG_UPDATABLE.contains(&k) => self.push(Change::Metadata {
                    what: format!("catalog /{}", key_str(k)),
                }),
                k => self.other(Some(id), format!("catalog /{} changed", key_str(k))),
            }
        }
    }

    fn acroform(
        &mut self,
        old: Option<&Dictionary>,
        new: Option<&Dictionary>,
        id: Option<ObjectId>,
    ) {
        let Some(new) = new else {
            return self.other(id, "the interactive form is not a dictionary");
        };
        let empty = Dictionary::new();
        let old = old.unwrap_or(&empty);
        for k in changed_keys(old, new) {
            match k {
                b"Fields" => {
                    let o = deref(self.old.doc, old.get(k).ok()).and_then(|f| f.as_array().ok());
                    let n = deref(self.new, new.get(k).ok()).and_then(|f| f.as_array().ok());
                    self.fields(o, n);
                }
                b"SigFlags" | b"DR" | b"DA" | b"NeedAppearances" => {
                    self.push(Change::FormUpdated {
                        what: format!("/AcroForm /{}", key_str(k)),
                    });
                }
                k => self.other(id, format!("/AcroForm /{} changed", key_str(k))),
            }
        }
    }

    fn fields(&mut self, old: Option<&Vec<Object>>, new: Option<&Vec<Object>>) {
        let empty = Vec::new();
        let old = old.unwrap_or(&empty);
        let Some(new) = new else {
            return self.other(None, "the form's /Fields is not an array");
        };
        for o in old {
            if !new.iter().any(|n| same(n, o)) {
                self.other(reference(Some(o)), "form field removed");
            }
        }
        for n in new {
            if old.iter().any(|o| same(n, o)) {
                continue;
            }
            let Some(f) = deref_dict(self.new, Some(n)) else {
                self.other(reference(Some(n)), "a new field is not a dictionary");
                continue;
            };
            self.new_field(reference(Some(n)), f);
        }
    }

    /// A field added to the form (only signature fields may be).
    fn new_field(&mut self, id: Option<ObjectId>, f: &Dictionary) {
        let name = field_name(self.new, f);
        if field_type(self.new, f).as_deref() != Some(b"Sig") {
            return self.other(id, format!("form field {name} added"));
        }
        match deref_dict(self.new, f.get(b"V").ok()) {
            Some(v) if v.has_type(b"DocTimeStamp") => {
                self.push(Change::DocTimeStampAdded { field: name });
            }
            Some(_) => self.push(Change::SignatureAdded { field: name }),
            None => self.push(Change::SignatureFieldAdded { field: name }),
        }
    }

    fn page(&mut self, id: ObjectId, old: &Dictionary, new: &Dictionary) {
        for k in changed_keys(old, new) {
            if k == b"Annots" {
                let o = deref(self.old.doc, old.get(k).ok()).and_then(|a| a.as_array().ok());
                let n = deref(self.new, new.get(k).ok()).and_then(|a| a.as_array().ok());
                self.annots(o, n, Some(id));
            } else {
                self.other(Some(id), format!("page /{} changed", key_str(k)));
            }
        }
    }

    fn annots(
        &mut self,
        old: Option<&Vec<Object>>,
        new: Option<&Vec<Object>>,
        id: Option<ObjectId>,
    ) {
        let empty = Vec::new();
        let (old, new) = (old.unwrap_or(&empty), new.unwrap_or(&empty));
        for o in old {
            if new.iter().any(|n| same(n, o)) {
                continue;
            }
            match deref_dict(self.old.doc, Some(o)) {
                Some(d) if is_widget(d) => self.other(reference(Some(o)), "widget removed"),
                _ => self.push(Change::AnnotationRemoved {
                    object: reference(Some(o)),
                }),
            }
        }
        for n in new {
            if old.iter().any(|o| same(n, o)) {
                continue;
            }
            match deref_dict(self.new, Some(n)) {
                Some(d) if is_widget(d) && is_field(self.new, d) => {
                    let field = field_name(self.new, d);
                    let doc_ts = deref_dict(self.new, d.get(b"V").ok())
                        .is_some_and(|v| v.has_type(b"DocTimeStamp"));
                    if doc_ts {
                        // the (invisible) widget of a document time-stamp is part of it
                        self.push(Change::DocTimeStampAdded { field });
                    } else {
                        self.push(Change::FormUpdated {
                            what: format!("widget of field {field} placed"),
                        });
                    }
                }
                Some(d) if is_annotation(d) && !is_widget(d) => {
                    self.push(Change::AnnotationAdded {
                        subtype: name_of(d, b"Subtype").unwrap_or_default(),
                    });
                }
                _ => self.other(
                    id,
                    "a page's /Annots gained something that is not an annotation",
                ),
            }
        }
    }

    /// An existing field or widget modified.
    fn field(&mut self, id: ObjectId, old: &Dictionary, new: &Dictionary) {
        let name = field_name(self.new, new);
        let sig = field_type(self.old.doc, old).as_deref() == Some(b"Sig");
        for k in changed_keys(old, new) {
            match k {
                b"V" if sig && !old.has(b"V") => match deref_dict(self.new, new.get(b"V").ok()) {
                    Some(v) if v.has_type(b"DocTimeStamp") => {
                        self.push(Change::DocTimeStampAdded {
                            field: name.clone(),
                        });
                    }
                    _ => self.push(Change::SignatureAdded {
                        field: name.clone(),
                    }),
                },
                b"V" if sig => self.other(Some(id), format!("signature of {name} replaced")),
                b"V" => self.push(Change::FormFieldFilled {
                    field: name.clone(),
                }),
                b"AP" | b"AS" | b"MK" => self.push(Change::FormUpdated {
                    what: format!("appearance of field {name}"),
                }),
                k => self.other(Some(id), format!("field {name}: /{} changed", key_str(k))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use lopdf::{Stream, dictionary};

    use super::*;

    /// A one-page document; the page's `/Contents` names object 9, which it lacks.
    fn base() -> Document {
        let mut doc = Document::with_version("1.7");
        doc.objects.insert(
            (1, 0),
            Object::Dictionary(dictionary! {
                "Type" => "Catalog", "Pages" => Object::Reference((2, 0)),
            }),
        );
        doc.objects.insert(
            (2, 0),
            Object::Dictionary(dictionary! {
                "Type" => "Pages", "Kids" => vec![Object::Reference((3, 0))], "Count" => 1,
            }),
        );
        doc.objects.insert(
            (3, 0),
            Object::Dictionary(dictionary! {
                "Type" => "Page", "Parent" => Object::Reference((2, 0)),
                "Contents" => vec![Object::Reference((4, 0)), Object::Reference((9, 0))],
            }),
        );
        doc.objects.insert(
            (4, 0),
            Object::Stream(Stream::new(dictionary! {}, b"q Q".to_vec())),
        );
        doc.objects.insert(
            (5, 0),
            Object::Dictionary(dictionary! {
                "Type" => "Sig", "Contents" => Object::string_literal("x"),
            }),
        );
        doc.trailer.set("Root", Object::Reference((1, 0)));
        doc
    }

    fn levels(new: &Document) -> Vec<ModificationLevel> {
        changes(&base(), new).iter().map(Change::level).collect()
    }

    #[test]
    fn unchanged_is_no_change() {
        assert!(changes(&base(), &base()).is_empty());
    }

    #[test]
    fn defining_an_object_the_signed_revision_lacked_is_other() {
        let mut new = base();
        new.objects.insert(
            (9, 0),
            Object::Stream(Stream::new(dictionary! {}, b"BT (x) Tj ET".to_vec())),
        );
        assert_eq!(levels(&new), vec![ModificationLevel::Other]);
    }

    #[test]
    fn page_content_and_signature_dictionary_changes_are_other() {
        let mut new = base();
        new.objects.insert(
            (4, 0),
            Object::Stream(Stream::new(dictionary! {}, b"q 1 0 0 RG Q".to_vec())),
        );
        assert_eq!(levels(&new), vec![ModificationLevel::Other]);
        let mut new = base();
        new.objects.insert(
            (5, 0),
            Object::Dictionary(dictionary! {
                "Type" => "Sig", "Contents" => Object::string_literal("y"),
            }),
        );
        assert_eq!(levels(&new), vec![ModificationLevel::Other]);
        let mut new = base();
        new.objects.remove(&(4, 0));
        assert_eq!(levels(&new), vec![ModificationLevel::Other]);
        let mut new = base();
        new.trailer.set("Root", Object::Reference((7, 0)));
        assert!(levels(&new).contains(&ModificationLevel::Other));
    }

    #[test]
    fn an_annotation_added_to_a_page_is_annotations() {
        let mut new = base();
        new.objects.insert((8, 0), Object::Dictionary(dictionary! {
            "Type" => "Annot", "Subtype" => "FreeText", "Rect" => vec![0.into(), 0.into(), 9.into(), 9.into()],
        }));
        if let Some(Object::Dictionary(page)) = new.objects.get_mut(&(3, 0)) {
            page.set("Annots", vec![Object::Reference((8, 0))]);
        }
        assert_eq!(
            changes(&base(), &new),
            vec![Change::AnnotationAdded {
                subtype: "FreeText".into()
            }]
        );
    }

    #[test]
    fn a_new_non_signature_field_is_other() {
        let mut old = base();
        if let Some(Object::Dictionary(c)) = old.objects.get_mut(&(1, 0)) {
            c.set("AcroForm", dictionary! { "Fields" => Vec::<Object>::new() });
        }
        let mut new = old.clone();
        new.objects.insert(
            (8, 0),
            Object::Dictionary(
                dictionary! { "FT" => "Tx", "T" => Object::string_literal("importo") },
            ),
        );
        if let Some(Object::Dictionary(c)) = new.objects.get_mut(&(1, 0)) {
            c.set(
                "AcroForm",
                dictionary! { "Fields" => vec![Object::Reference((8, 0))] },
            );
        }
        let got = changes(&old, &new);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].level(), ModificationLevel::Other, "{got:?}");
    }
}
