//! PAdES: signed PDF files (ETSI EN 319 142-1, ISO 32000-1 §12.8).
//!
//! A signed PDF holds one signature dictionary per signature field; its `/ByteRange` names the
//! signed bytes, which must be the whole file as it was when signed (one *revision*: up to
//! the end of its `%%EOF` line) except the `/Contents` hex string, which holds the detached
//! CMS signature. Each one is checked strictly here ([`PdfVerifier::verify`]):
//!
//! * the byte range starts at 0, its hole is exactly the `<...>` of that dictionary's
//!   `/Contents` (in the indirect object holding the dictionary), the ranges do not overlap
//!   and the second ends at the end of a revision;
//! * the CMS inside is verified by the same verifier as a detached `.p7s`
//!   ([`P7mVerifier::verify_detached`], content = the signed bytes), with its chain, legacy
//!   algorithm policy, revocation and signature time-stamps as configured there; a document
//!   time-stamp (`/Type /DocTimeStamp`, `ETSI.RFC3161`) with [`TimeStampVerifier`];
//! * every incremental update after the signed revision is compared object by object with
//!   the revision before it and the changes are reported ([`Change`]), graded like the
//!   permissions of ISO 32000-1 §12.8.2.2 ([`ModificationLevel`]); a certification signature
//!   (`/Perms /DocMDP`) fails when a later change exceeds its `/P` ([`DocMdp`]); any other
//!   signature is judged as if `/P 2`: only signing, form filling and signature maintenance
//!   (DSS, document time-stamps, metadata) may follow it.
//!
//! The PDF is read by `lopdf` in strict mode (no repair of a broken cross-reference table):
//! every revision is loaded on its own from its prefix of the file.

mod diff;
mod structure;

use chrono::{DateTime, Utc};
use thiserror::Error;

use crate::p7m::{P7mError, P7mVerifier, VerifiedP7m};
use crate::tsp::{TimeStampVerifier, VerifiedTimeStamp};

pub use diff::Change;

/// Most revisions (the original and its incremental updates) read from one file.
pub const MAX_PDF_REVISIONS: usize = 64;
/// Most signature fields examined in one file.
pub const MAX_PDF_SIGNATURES: usize = 64;
/// Largest `/Contents` hole accepted (hex digits between `<` and `>`).
pub const MAX_SIGNATURE_CONTENTS: usize = 1 << 20;

/// Why a PDF cannot be examined at all.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PdfError {
    /// The file (or its newest revision) is not a PDF the parser reads strictly.
    #[error("not a readable PDF: {0}")]
    Parse(String),
    /// An encrypted PDF (not supported).
    #[error("the PDF is encrypted")]
    Encrypted,
    /// More than [`MAX_PDF_REVISIONS`] revisions.
    #[error("more than {MAX_PDF_REVISIONS} revisions")]
    TooManyRevisions,
    /// More than [`MAX_PDF_SIGNATURES`] signature fields.
    #[error("more than {MAX_PDF_SIGNATURES} signature fields")]
    TooManySignatures,
    /// The interactive form is malformed (fields that are not dictionaries, cycles).
    #[error("malformed interactive form: {0}")]
    Form(String),
}

/// Why one signature of a PDF does not verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PdfSignatureError {
    /// The signature dictionary lacks an entry or has one of the wrong type.
    #[error("signature dictionary: {0}")]
    Dictionary(String),
    /// The `/ByteRange` does not cover the signed revision but the `/Contents` hole.
    #[error("ByteRange {range:?}: {reason}")]
    ByteRange {
        /// The byte range as found (offset, length, offset, length), when it is 4 integers.
        range: Option<[u64; 4]>,
        /// What is wrong.
        reason: String,
    },
    /// A `/SubFilter` this verifier does not implement (e.g. `adbe.pkcs7.sha1`).
    #[error("unsupported /SubFilter {0}")]
    SubFilter(String),
    /// The CMS signature does not verify.
    #[error("CMS: {0}")]
    Cms(P7mError),
    /// The document time-stamp does not verify.
    #[error("document time-stamp: {0}")]
    TimeStamp(P7mError),
    /// A document time-stamp and no [`PdfVerifier::with_tsa`].
    #[error("a document time-stamp: no time-stamping authority roots given")]
    NoTsa,
}

/// A certification signature's permissions (`/TransformParams /P`, ISO 32000-1 Table 254).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum DocMdp {
    /// `/P 1`: no changes.
    NoChanges = 1,
    /// `/P 2` (the default): filling in forms, instantiating page templates, signing.
    FillForms = 2,
    /// `/P 3`: as 2, plus creating, deleting and modifying annotations.
    Annotate = 3,
}

impl DocMdp {
    /// The greatest modification this permission allows.
    pub fn allows(self) -> ModificationLevel {
        match self {
            DocMdp::NoChanges => ModificationLevel::LtaUpdates,
            DocMdp::FillForms => ModificationLevel::FormFilling,
            DocMdp::Annotate => ModificationLevel::Annotations,
        }
    }
}

impl std::fmt::Display for DocMdp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DocMdp::NoChanges => "P=1 (no changes)",
            DocMdp::FillForms => "P=2 (form filling and signing)",
            DocMdp::Annotate => "P=3 (form filling, signing and annotations)",
        })
    }
}

/// How much the document changed after a signature, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ModificationLevel {
    /// Nothing (the signature covers the whole file).
    None,
    /// Signature maintenance only: DSS (validation data), document time-stamps, metadata.
    LtaUpdates,
    /// Also form filling and signing (new signatures).
    FormFilling,
    /// Also annotations added, modified or removed.
    Annotations,
    /// Anything else (page content, page tree, catalog entries ...): never allowed.
    Other,
}

impl std::fmt::Display for ModificationLevel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ModificationLevel::None => "none",
            ModificationLevel::LtaUpdates => "signature maintenance",
            ModificationLevel::FormFilling => "form filling and signing",
            ModificationLevel::Annotations => "annotations",
            ModificationLevel::Other => "other changes",
        })
    }
}

/// What kind of signature a signature dictionary is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureKind {
    /// An approval signature.
    Approval,
    /// A certification (author) signature: the document's `/Perms /DocMDP`.
    Certification(DocMdp),
    /// A document time-stamp (`/Type /DocTimeStamp`).
    DocTimeStamp,
}

/// What a signature's cryptographic check established.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureContent {
    /// A CMS signature (`ETSI.CAdES.detached`, `adbe.pkcs7.detached`).
    Cms(Box<VerifiedP7m>),
    /// A document time-stamp (`ETSI.RFC3161`).
    TimeStamp(Box<VerifiedTimeStamp>),
}

/// One incremental update: what it changed relative to the revision before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevisionUpdate {
    /// The revision it creates (1 = the original file).
    pub revision: usize,
    /// The changes found.
    pub changes: Vec<Change>,
}

impl RevisionUpdate {
    /// The greatest level of its changes.
    pub fn level(&self) -> ModificationLevel {
        self.changes
            .iter()
            .map(Change::level)
            .max()
            .unwrap_or(ModificationLevel::None)
    }
}

/// One signature field of a PDF and its verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PdfSignature {
    /// The field's fully qualified name (`/T` of it and its parents, joined by `.`).
    pub field: String,
    /// `/SubFilter`.
    pub sub_filter: String,
    /// Approval, certification or document time-stamp.
    pub kind: SignatureKind,
    /// `/M` (the claimed signing time) as written, if any.
    pub claimed_time: Option<String>,
    /// The `/ByteRange`, when it is 4 non-negative integers.
    pub byte_range: Option<[u64; 4]>,
    /// The revision it signs (1 = the original file), when the byte range ends at one.
    pub revision: Option<usize>,
    /// Whether it covers the whole file (no update after it).
    pub covers_whole_file: bool,
    /// The cryptographic and byte-range verdict.
    pub result: Result<SignatureContent, PdfSignatureError>,
    /// The incremental updates after the signed revision.
    pub updates_after: Vec<RevisionUpdate>,
    /// The greatest change after signing (also counting the net difference between the
    /// signed revision and the final file).
    pub modification_level: ModificationLevel,
    /// The permission of a certification signature (or of the field's `/Lock /P`).
    pub docmdp: Option<DocMdp>,
}

impl PdfSignature {
    /// The permission the later changes are judged by: the certification's DocMDP (or the
    /// field's `/Lock /P`), else [`DocMdp::FillForms`]: after an approval signature only
    /// signing, form filling and signature maintenance are accepted, annotations only
    /// under an explicit `/P 3`.
    pub fn permission(&self) -> DocMdp {
        self.docmdp.unwrap_or(DocMdp::FillForms)
    }

    /// Whether the later changes are allowed by [`permission`](Self::permission) (never
    /// when one is [`ModificationLevel::Other`]).
    pub fn modifications_allowed(&self) -> bool {
        self.modification_level <= self.permission().allows()
    }

    /// Valid: the byte range and the CMS (or time-stamp) verify and the later changes are
    /// allowed.
    pub fn is_valid(&self) -> bool {
        self.result.is_ok() && self.modifications_allowed()
    }

    /// Why it is not valid (None when it is).
    pub fn failure(&self) -> Option<String> {
        match &self.result {
            Err(e) => Some(e.to_string()),
            Ok(_) if self.modification_level == ModificationLevel::Other => Some(
                "the document was changed after signing beyond signing, form filling and annotations"
                    .into(),
            ),
            Ok(_) if self.modifications_allowed() => None,
            Ok(_) => Some(match self.docmdp {
                Some(p) => format!(
                    "DocMDP violation: the signature allows {p}, the document was changed by {}",
                    self.modification_level
                ),
                None => format!(
                    "the document was changed after signing by {} (an approval signature allows signing and form filling)",
                    self.modification_level
                ),
            }),
        }
    }
}

/// The signatures of a PDF, each verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPdf {
    /// The file length at the end of each revision (1 = the original file).
    pub revision_ends: Vec<u64>,
    /// Bytes after the end of the last revision (not part of any revision).
    pub trailing_bytes: u64,
    /// Each signature field with a signature value, the one signing the oldest revision
    /// first (form order among equals).
    pub signatures: Vec<PdfSignature>,
    /// What each incremental update changed (revision 2 onwards).
    pub updates: Vec<RevisionUpdate>,
}

impl VerifiedPdf {
    /// True when there is at least one signature and every one is valid.
    pub fn all_valid(&self) -> bool {
        !self.signatures.is_empty() && self.signatures.iter().all(PdfSignature::is_valid)
    }
}

/// Verifies the signatures of PDF files.
#[derive(Debug, Clone)]
pub struct PdfVerifier {
    cms: P7mVerifier,
    tsa: Option<TimeStampVerifier>,
}

impl PdfVerifier {
    /// Verifies each CMS signature with `cms` (its trust anchors, intermediates, legacy
    /// policy, revocation and signature time-stamp roots).
    pub fn new(cms: P7mVerifier) -> Self {
        PdfVerifier { cms, tsa: None }
    }

    /// Verifies document time-stamps (`/Type /DocTimeStamp`) against these TSA roots.
    #[must_use]
    pub fn with_tsa(mut self, tsa: TimeStampVerifier) -> Self {
        self.tsa = Some(tsa);
        self
    }

    /// The time at which signatures without a trusted time are judged (default: now), as
    /// [`P7mVerifier::at`].
    #[must_use]
    pub fn at(mut self, now: DateTime<Utc>) -> Self {
        self.cms = self.cms.at(now);
        self
    }

    /// Verifies every signature of `pdf`.
    ///
    /// A signature that fails is reported in its [`PdfSignature::result`] (and
    /// [`PdfSignature::is_valid`]); an error is returned only when the file cannot be read
    /// as a PDF at all.
    ///
    /// # Errors
    /// [`PdfError`] when the newest revision does not parse, is encrypted, or holds more
    /// revisions or signature fields than the limits.
    pub fn verify(&self, pdf: &[u8]) -> Result<VerifiedPdf, PdfError> {
        let file = structure::PdfFile::read(pdf)?;
        let updates = diff::updates(&file);
        let mut signatures = Vec::new();
        for found in file.signature_fields()? {
            signatures.push(self.verify_one(&file, &updates, found));
        }
        // oldest signed revision first; a signature whose range ends at no revision last
        signatures.sort_by_key(|s: &PdfSignature| s.revision.unwrap_or(usize::MAX));
        Ok(VerifiedPdf {
            revision_ends: file.revisions.iter().map(|r| r.end as u64).collect(),
            trailing_bytes: (pdf.len() - file.last_end()) as u64,
            signatures,
            updates,
        })
    }

    fn verify_one(
        &self,
        file: &structure::PdfFile<'_>,
        updates: &[RevisionUpdate],
        found: structure::SignatureField,
    ) -> PdfSignature {
        let checked = file.check_signature(&found);
        let revision = checked.as_ref().ok().map(|c| c.revision);
        let result = checked.and_then(|c| self.verify_crypto(&found, &c));
        // Updates after the signed revision (when the range does not end at a revision,
        // everything after the range counts: the result is already an error).
        let (updates_after, net) = match revision {
            Some(r) => (
                updates
                    .iter()
                    .filter(|u| u.revision > r)
                    .cloned()
                    .collect::<Vec<_>>(),
                diff::net_changes(file, r),
            ),
            None => (updates.to_vec(), Vec::new()),
        };
        let last = file.revisions.len();
        let covers_whole_file = revision == Some(last) && file.last_end() == file.bytes.len();
        let modification_level = updates_after
            .iter()
            .map(RevisionUpdate::level)
            .chain(net.iter().map(Change::level))
            .max()
            .unwrap_or(ModificationLevel::None);
        let kind = match (&found.doc_time_stamp, found.certification) {
            (true, _) => SignatureKind::DocTimeStamp,
            (false, Some(p)) => SignatureKind::Certification(p),
            (false, None) => SignatureKind::Approval,
        };
        PdfSignature {
            field: found.name.clone(),
            sub_filter: found.sub_filter.clone(),
            kind,
            claimed_time: found.claimed_time.clone(),
            byte_range: found.byte_range,
            revision,
            covers_whole_file,
            result,
            updates_after,
            modification_level,
            docmdp: found.certification.or(found.lock),
        }
    }

    fn verify_crypto(
        &self,
        found: &structure::SignatureField,
        checked: &structure::CheckedRange,
    ) -> Result<SignatureContent, PdfSignatureError> {
        match found.sub_filter.as_str() {
            "ETSI.CAdES.detached" | "adbe.pkcs7.detached" if !found.doc_time_stamp => self
                .cms
                .verify_detached(&checked.cms, &checked.signed)
                .map(|v| SignatureContent::Cms(Box::new(v)))
                .map_err(PdfSignatureError::Cms),
            "ETSI.RFC3161" if found.doc_time_stamp => {
                let tsa = self.tsa.as_ref().ok_or(PdfSignatureError::NoTsa)?;
                tsa.verify(&checked.cms, &checked.signed)
                    .map(|v| SignatureContent::TimeStamp(Box::new(v)))
                    .map_err(PdfSignatureError::TimeStamp)
            }
            other => Err(PdfSignatureError::SubFilter(format!(
                "{other}{}",
                if found.doc_time_stamp {
                    " for a /DocTimeStamp"
                } else {
                    ""
                }
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_ordered_as_the_permissions() {
        assert!(DocMdp::NoChanges.allows() < DocMdp::FillForms.allows());
        assert!(DocMdp::FillForms.allows() < DocMdp::Annotate.allows());
        assert!(DocMdp::Annotate.allows() < ModificationLevel::Other);
    }
}
