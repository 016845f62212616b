//! Sealing a segnatura with an enveloped XAdES Baseline-B signature, and verifying a received
//! one with the anomaly codes of AgID Allegato 6.
//!
//! The segnatura schema gives `SegnaturaInformatica` no ID attribute, so the seal references the
//! whole document (`URI=""`, enveloped-signature and exclusive C14N transforms). Parsing,
//! canonicalization, key operations and the verification of the XML-DSig and XAdES structure are
//! `xmldsig`'s; the trust policy for seal certificates, the placement rule and the anomaly codes
//! are here, with XAdES-T (`SignatureTimeStamp` over the `SignatureValue`, verified with
//! [`crate::TimeStampVerifier`]; its time is when the seal certificate is judged) and the
//! revocation of the seal certificate ([`crate::RevocationOptions`]: XAdES-LT
//! `RevocationValues`, CRLs, OCSP; fail closed unless soft-failing).

use std::io::Read;
use std::path::Path;

use chrono::{DateTime, SecondsFormat, Utc};
use der::Decode;
use thiserror::Error;
use xmldsig::{
    C14nAlgorithm, C14nOptions, DSIG_NS, Document, NodeId, NodeKind,
    ParseOptions as DsigParseOptions, SignOptions, SignatureAlgorithm, SigningKey, TrustedKey,
    VerifyOptions, XADES_NS, XadesOptions, sign_enveloped,
};

use crate::error::WriteError;
use crate::impronta::Impronta;
use crate::messages::{CodiceAnomalia, MessaggioRicevuto, NotificaEccezione};
use crate::model::{Documento, SegnaturaInformatica};
use crate::p7m::P7mError;
use crate::parse::{Ctx, ParseOptions, RootNamespace, segnatura_from_element};
use crate::revocation::{CertRevocation, Embedded, RevocationOptions, Times};
use crate::tsp::{P7mTimeStamp, TimeStampVerifier, VerifiedTimeStamp};
use crate::write::{NS_PEC, NS_PROTOCOLLO};
use crate::xml;

const SIG_ID: &str = "segnatura-sigillo";

/// Why sealing failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SealError {
    /// The segnatura cannot be written as schema-valid XML.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The key or certificate was refused, or signing failed.
    #[error("seal key: {0}")]
    Key(String),
    /// Internal XML processing failed.
    #[error("seal XML processing: {0}")]
    Xml(String),
}

/// Options for [`seal_segnatura`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SealOptions {
    /// XAdES `SigningTime` (default: now).
    pub signing_time: Option<DateTime<Utc>>,
    /// Signature algorithm (default: RSA-SHA256 or ECDSA-SHA256/384 after the key).
    pub signature_algorithm: Option<SignatureAlgorithm>,
}

/// An anomaly found on a received message, with its AgID code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{codice}: {dettaglio}")]
pub struct Anomalia {
    /// The code.
    pub codice: CodiceAnomalia,
    /// What was found.
    pub dettaglio: String,
}

impl Anomalia {
    fn new(codice: CodiceAnomalia, dettaglio: impl Into<String>) -> Self {
        Anomalia {
            codice,
            dettaglio: dettaglio.into(),
        }
    }

    fn firma(d: impl Into<String>) -> Self {
        Anomalia::new(CodiceAnomalia::ValidazioneFirma, d)
    }

    /// The `NotificaEccezione` reporting this anomaly for `ricevuto`.
    pub fn notifica(&self, ricevuto: MessaggioRicevuto) -> NotificaEccezione {
        NotificaEccezione::anomalia(ricevuto, &self.codice, &self.dettaglio)
    }
}

/// Seals a segnatura: writes it and adds the enveloped XAdES Baseline-B `ds:Signature` as the
/// last child of `SegnaturaInformatica` (reference `URI=""`, exclusive C14N, SHA-256, signing
/// certificate in `KeyInfo` and in `SigningCertificateV2`), with [`xmldsig::sign_enveloped`].
///
/// # Errors
/// [`SealError::Write`] for a model that is not schema-valid, [`SealError::Key`] when the
/// certificate does not match the key or signing fails.
pub fn seal_segnatura(
    segnatura: &SegnaturaInformatica,
    key: &SigningKey,
    certificate: &xmldsig::Certificate,
    opts: &SealOptions,
) -> Result<String, SealError> {
    let xml = segnatura.to_xml()?;
    let time = opts
        .signing_time
        .unwrap_or_else(Utc::now)
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    // An empty ID signs the whole document (`URI=""`); the signature goes last in the root.
    let mut sign = SignOptions::new("", key)
        .certificate(certificate)
        .xades(XadesOptions::with_signing_time(time));
    if let Some(alg) = opts.signature_algorithm {
        sign = sign.signature_algorithm(alg);
    }
    sign.signature_id = Some(SIG_ID.to_owned());
    let signed = sign_enveloped(xml.as_bytes(), &sign).map_err(|e| match e {
        xmldsig::Error::Parse(e) => SealError::Xml(e.to_string()),
        xmldsig::Error::Sign(xmldsig::SignError::Internal(e)) => SealError::Xml(e),
        e => SealError::Key(e.to_string()),
    })?;
    String::from_utf8(signed).map_err(|e| SealError::Xml(e.to_string()))
}

/// A received segnatura whose seal verified.
#[derive(Debug, Clone)]
pub struct VerifiedSegnatura {
    /// The segnatura, read from the signed document.
    pub segnatura: SegnaturaInformatica,
    /// Root namespace used.
    pub root: RootNamespace,
    /// The XAdES signing time.
    pub signing_time: DateTime<Utc>,
    /// Subject DN of the seal certificate.
    pub signer_subject: String,
    /// The seal certificate (DER).
    pub signer_certificate: Vec<u8>,
    /// The XAdES-T `SignatureTimeStamp`s over the `SignatureValue`, in document order: each
    /// verified against [`SealVerifyOptions::tsa`], or, without TSA trust, reported as not
    /// verified (then its time is not used).
    pub time_stamps: Vec<P7mTimeStamp>,
    /// The earliest verified time-stamp's time: the seal existed then, and its certificate
    /// (validity, chain, revocation) was judged at that time.
    pub trusted_time: Option<DateTime<Utc>>,
    /// The revocation check of the seal certificate and its chain but the trust anchor
    /// (None when [`SealVerifyOptions::revocation`] is not set; empty when the seal
    /// certificate is itself a trust anchor).
    pub revocation: Option<Vec<CertRevocation>>,
}

/// Options for [`verify_segnatura`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct SealVerifyOptions {
    /// How the segnatura itself is read.
    pub parse: ParseOptions,
    /// Accept inclusive C14N 1.0 (the seal we write uses exclusive C14N).
    pub allow_inclusive_c14n: bool,
    /// When the seal certificate (and its chain) must be valid. Default: now. The XAdES
    /// `SigningTime` of a Baseline-B seal is asserted by the signer, not attested, so it is not
    /// used for this check; a verified XAdES-T time-stamp's time is (see
    /// [`SealVerifyOptions::tsa`]).
    pub validation_time: Option<DateTime<Utc>>,
    /// The TSA trust roots for XAdES-T `SignatureTimeStamp`s. When set, every time-stamp
    /// present must verify (TSA signature and chain, message imprint over the canonicalized
    /// `ds:SignatureValue`) or the seal fails; the earliest time is then the time at which the
    /// seal certificate is judged. When not set, time-stamps are reported as not verified.
    pub tsa: Option<TimeStampVerifier>,
    /// Check the revocation of the seal certificate (and of its chain but the trust anchor)
    /// with these options: revocation values embedded in the seal (XAdES-LT
    /// `RevocationValues`), given CRLs, OCSP, fetched CRLs. A revoked certificate fails the
    /// seal, and so does an unknown status unless [`RevocationOptions::soft_fail`]. Not
    /// checked when None (the default); [`VerifiedSegnatura::revocation`] says which.
    pub revocation: Option<RevocationOptions>,
}

impl SealVerifyOptions {
    /// Checks certificates at `time` instead of now.
    #[must_use]
    pub fn at(mut self, time: DateTime<Utc>) -> Self {
        self.validation_time = Some(time);
        self
    }

    /// Reads the segnatura with `parse` options.
    #[must_use]
    pub fn parse_options(mut self, parse: ParseOptions) -> Self {
        self.parse = parse;
        self
    }

    /// Verifies XAdES-T time-stamps with these TSA roots.
    #[must_use]
    pub fn with_tsa(mut self, tsa: TimeStampVerifier) -> Self {
        self.tsa = Some(tsa);
        self
    }

    /// Checks the seal certificate's revocation (fail closed unless `options.soft_fail`).
    #[must_use]
    pub fn with_revocation(mut self, options: RevocationOptions) -> Self {
        self.revocation = Some(options);
        self
    }
}

/// The `xades:UnsignedSignatureProperties` of `sig`'s `QualifyingProperties` (whose `Target`
/// must name `sig`), if any.
fn unsigned_signature_properties<'a>(
    sig: xmldsig::Element<'a>,
    sid: &str,
) -> Result<Vec<xmldsig::Element<'a>>, Anomalia> {
    let mut out = Vec::new();
    for o in sig.children_named(DSIG_NS, "Object") {
        for qp in o.children_named(XADES_NS, "QualifyingProperties") {
            let usp: Vec<_> = qp
                .children_named(XADES_NS, "UnsignedProperties")
                .flat_map(|up| {
                    up.children_named(XADES_NS, "UnsignedSignatureProperties")
                        .collect::<Vec<_>>()
                })
                .collect();
            if usp.is_empty() {
                continue;
            }
            if qp.attr("Target") != Some(format!("#{sid}").as_str()) {
                return Err(Anomalia::firma(
                    "UnsignedProperties in a QualifyingProperties whose Target is not this signature",
                ));
            }
            out.extend(usp);
        }
    }
    Ok(out)
}

/// The XAdES-T `SignatureTimeStamp`s of the seal: each over the `ds:SignatureValue` element,
/// canonicalized with its `ds:CanonicalizationMethod` (inclusive C14N 1.0 when absent).
fn signature_time_stamps(
    sig: xmldsig::Element<'_>,
    usp: &[xmldsig::Element<'_>],
    tsa: Option<&TimeStampVerifier>,
) -> Result<Vec<P7mTimeStamp>, Anomalia> {
    let ts_err = |m: String| Anomalia::firma(format!("SignatureTimeStamp: {m}"));
    let sv = sig
        .child(DSIG_NS, "SignatureValue")
        .ok_or_else(|| Anomalia::firma("ds:Signature without SignatureValue"))?;
    let mut out = Vec::new();
    for ts in usp.iter().flat_map(|u| {
        u.children_named(XADES_NS, "SignatureTimeStamp")
            .collect::<Vec<_>>()
    }) {
        let alg = match ts.child(DSIG_NS, "CanonicalizationMethod") {
            None => C14nAlgorithm::Inclusive,
            Some(cm) => {
                let uri = cm.attr("Algorithm").unwrap_or_default();
                C14nAlgorithm::from_uri(uri)
                    .ok_or_else(|| ts_err(format!("canonicalization {uri:?} not supported")))?
            }
        };
        let tokens: Vec<_> = ts
            .children_named(XADES_NS, "EncapsulatedTimeStamp")
            .collect();
        let [token] = tokens.as_slice() else {
            return Err(ts_err(format!(
                "{} EncapsulatedTimeStamp elements (exactly one is supported)",
                tokens.len()
            )));
        };
        let der = crate::impronta::decode_b64(&token.text())
            .map_err(|_| ts_err("EncapsulatedTimeStamp is not base64".into()))?;
        let result = match tsa {
            Some(v) => {
                let data = sv.canonicalize(&C14nOptions::new(alg));
                Ok(v.verify(&der, &data).map_err(|e| ts_err(e.to_string()))?)
            }
            None => Err(P7mError::TimeStamp(
                "not verified: no TSA trust given".into(),
            )),
        };
        out.push(P7mTimeStamp { result });
    }
    Ok(out)
}

/// XAdES-LT `RevocationValues` of the seal: encapsulated CRLs and OCSP responses.
fn embedded_revocation_values(usp: &[xmldsig::Element<'_>]) -> Result<Embedded, Anomalia> {
    let mut e = Embedded::default();
    let decode = |el: xmldsig::Element<'_>| {
        crate::impronta::decode_b64(&el.text())
            .map_err(|_| Anomalia::firma(format!("{} is not base64", el.local_name())))
    };
    for rv in usp.iter().flat_map(|u| {
        u.children_named(XADES_NS, "RevocationValues")
            .collect::<Vec<_>>()
    }) {
        for c in rv.children_named(XADES_NS, "CRLValues") {
            for v in c.children_named(XADES_NS, "EncapsulatedCRLValue") {
                e.crls.push(decode(v)?);
            }
        }
        for o in rv.children_named(XADES_NS, "OCSPValues") {
            for v in o.children_named(XADES_NS, "EncapsulatedOCSPValue") {
                e.ocsp.push(decode(v)?);
            }
        }
    }
    Ok(e)
}

/// The seal certificate `der` (from `KeyInfo`, or one of `trust` when `KeyInfo` names none)
/// under protocollo's trust policy: usable for signing, one of `trust` or chaining to one, and
/// valid (with its chain) at `at`.
fn seal_certificate(
    der: &[u8],
    trust: &[x509_cert::Certificate],
    at: DateTime<Utc>,
) -> Result<(x509_cert::Certificate, xmldsig::Certificate), Anomalia> {
    let x509 = x509_cert::Certificate::from_der(der)
        .map_err(|e| Anomalia::firma(format!("X509Certificate: {e}")))?;
    crate::p7m::check_signing_usage(&x509)
        .and_then(|()| crate::p7m::build_chain(&x509, &[], trust, at))
        .map_err(|e| Anomalia::firma(format!("seal certificate: {e}")))?;
    let cert = xmldsig::Certificate::from_der(der)
        .map_err(|e| Anomalia::firma(format!("seal certificate: {e}")))?;
    Ok((x509, cert))
}

fn convert(e: xmldsig::Element<'_>, skip: NodeId) -> xml::Element {
    let mut children = Vec::new();
    for c in e.children() {
        match c.kind() {
            NodeKind::Element(el) if el.id() != skip => {
                children.push(xml::Node::Element(convert(el, skip)));
            }
            NodeKind::Text(t) => children.push(xml::Node::Text(t.to_owned())),
            _ => {}
        }
    }
    xml::Element {
        ns: Some(e.namespace())
            .filter(|n| !n.is_empty())
            .map(str::to_owned),
        name: e.local_name().to_owned(),
        attrs: e
            .attributes()
            .map(|a| xml::Attr {
                ns: Some(a.namespace)
                    .filter(|n| !n.is_empty())
                    .map(str::to_owned),
                name: a.local_name.to_owned(),
                value: a.value.to_owned(),
            })
            .collect(),
        children,
        pos: u64::from(e.position().offset),
    }
}

/// Verifies the seal of a received segnatura, then reads it from the signed document.
///
/// `trust` holds the certificates accepted for seals: the sender's seal certificate itself, or
/// the CAs that issue seal certificates (the certificate in `KeyInfo` must then chain to one of
/// them). Certificates must be valid at [`SealVerifyOptions::validation_time`] (default now). Keys come from `trust`, never from the message alone.
///
/// The XML-DSig and XAdES checks are `xmldsig`'s ([`xmldsig::verify`] with the whole-document
/// reference allowed and XAdES required); the trust policy, the placement of the seal and the
/// anomaly codes are here.
///
/// # Errors
/// An [`Anomalia`]: `000_Irricevibile` when the document is not a segnatura,
/// `001_ValidazioneFirma` for any problem with the seal.
pub fn verify_segnatura(
    xml_bytes: &[u8],
    trust: &[x509_cert::Certificate],
    opts: &SealVerifyOptions,
) -> Result<VerifiedSegnatura, Anomalia> {
    let irricevibile = |d: String| Anomalia::new(CodiceAnomalia::Irricevibile, d);
    let doc = Document::parse_with(xml_bytes, &DsigParseOptions::default())
        .map_err(|e| irricevibile(format!("XML: {e}")))?;
    let root = doc.root();
    if !(root.is(NS_PROTOCOLLO, "SegnaturaInformatica") || root.is(NS_PEC, "SegnaturaInformatica"))
    {
        return Err(irricevibile(format!(
            "root element {} is not SegnaturaInformatica",
            root.qname()
        )));
    }
    // Exactly one signature, the last child of the root.
    if doc.find_all(DSIG_NS, "Signature").count() != 1 {
        return Err(Anomalia::firma("exactly one ds:Signature is required"));
    }
    let sig = root
        .child_elements()
        .last()
        .filter(|e| e.is(DSIG_NS, "Signature"))
        .ok_or_else(|| {
            Anomalia::firma("ds:Signature is not the last child of SegnaturaInformatica")
        })?;
    // xmldsig checks QualifyingProperties/@Target only when the signature has an Id; XAdES
    // requires the Target, so the Id must be there.
    let Some(sid) = sig.attr("Id") else {
        return Err(Anomalia::firma(
            "ds:Signature has no Id for the XAdES QualifyingProperties Target",
        ));
    };

    // XAdES-T: time-stamps over the SignatureValue give the time the seal is judged at.
    let usp = unsigned_signature_properties(sig, sid)?;
    let time_stamps = signature_time_stamps(sig, &usp, opts.tsa.as_ref())?;
    let trusted_time = time_stamps
        .iter()
        .filter_map(|t| {
            t.result
                .as_ref()
                .ok()
                .map(|v: &VerifiedTimeStamp| v.gen_time)
        })
        .min();
    let now = opts.validation_time.unwrap_or_else(Utc::now);

    // The keys: the certificate in KeyInfo (a hint until it passes the trust policy) or,
    // without one, the trusted certificates themselves.
    let validation_time = trusted_time.unwrap_or(now);
    let key_info_cert = sig
        .child(DSIG_NS, "KeyInfo")
        .and_then(|ki| ki.child(DSIG_NS, "X509Data"))
        .and_then(|xd| xd.child(DSIG_NS, "X509Certificate"))
        .map(|c| {
            crate::impronta::decode_b64(&c.text())
                .map_err(|_| Anomalia::firma("X509Certificate is not base64"))
        })
        .transpose()?;
    let candidates: Vec<Vec<u8>> = match key_info_cert {
        Some(der) => vec![der],
        None => trust
            .iter()
            .filter_map(|c| der::Encode::to_der(c).ok())
            .collect(),
    };
    let mut accepted = Vec::new();
    let mut keys = Vec::new();
    let mut last_err = Anomalia::firma("no trusted seal certificate");
    for der in candidates {
        match seal_certificate(&der, trust, validation_time) {
            Ok((x509, cert)) => {
                keys.push(TrustedKey::from_certificate(cert));
                accepted.push((x509, der));
            }
            Err(e) => last_err = e,
        }
    }
    if keys.is_empty() {
        return Err(last_err);
    }

    let mut vopts = VerifyOptions::default()
        .allow_whole_document_reference()
        .require_xades();
    if opts.allow_inclusive_c14n {
        vopts = vopts.allow_inclusive_c14n();
    }
    let verified =
        xmldsig::verify(&doc, &keys, &vopts).map_err(|e| Anomalia::firma(e.to_string()))?;
    if verified.signature() != sig || verified.element() != root || !verified.id().is_empty() {
        return Err(Anomalia::firma(
            "the seal does not reference the whole segnatura (Reference URI=\"\")",
        ));
    }
    let st = verified
        .xades()
        .map(|x| x.signing_time.as_str())
        .ok_or_else(|| Anomalia::firma("no XAdES SignedProperties"))?;
    let signing_time = DateTime::parse_from_rfc3339(st.trim())
        .map_err(|_| Anomalia::firma(format!("SigningTime `{st}` is not a dateTime")))?
        .with_timezone(&Utc);
    let (x509, der) = accepted
        .into_iter()
        .nth(verified.key_index())
        .ok_or_else(|| Anomalia::firma("verifying key not found"))?;

    // Revocation of the seal certificate, judged at the trusted time (or now).
    let revocation = match &opts.revocation {
        None => None,
        Some(ro) => {
            let times = Times {
                now,
                at: validation_time,
            };
            let mut checked = Vec::new();
            if !trust.contains(&x509) {
                let issuer = trust
                    .iter()
                    .find(|a| crate::p7m::signed_by_plain(&x509, a))
                    .ok_or_else(|| Anomalia::firma("seal certificate: its issuer is not known"))?;
                let embedded = embedded_revocation_values(&usp)?;
                checked.push(
                    crate::revocation::check(&x509, issuer, &embedded, ro, times)
                        .map_err(|e| Anomalia::firma(format!("seal certificate: {e}")))?,
                );
            }
            Some(checked)
        }
    };

    // Verified: read the segnatura from the signed tree, without the signature.
    let signed = convert(verified.element(), verified.signature().id());
    let ctx = Ctx { opts: opts.parse };
    let (segnatura, root_ns, _) = segnatura_from_element(&ctx, &signed)
        .map_err(|e| irricevibile(format!("segnatura: {e}")))?;
    Ok(VerifiedSegnatura {
        segnatura,
        root: root_ns,
        signing_time,
        signer_subject: x509.tbs_certificate.subject.to_string(),
        signer_certificate: der,
        time_stamps,
        trusted_time,
        revocation,
    })
}

impl VerifiedSegnatura {
    /// Checks every document's `Impronta` with content from `open` (called with each
    /// document; an error means the document cannot be read). Returns the anomalies found:
    /// `003_DocumentoAllegatiNonLeggibili` for unreadable documents, `002_AnomaliaImpronta`
    /// for digests that differ or cannot be checked.
    pub fn check_documents<F, R>(&self, mut open: F) -> Vec<Anomalia>
    where
        F: FnMut(&Documento) -> std::io::Result<R>,
        R: Read,
    {
        check_documents(&self.segnatura, &mut open)
    }

    /// [`VerifiedSegnatura::check_documents`] with the documents as files named `nomeFile` in
    /// `dir`. A `nomeFile` with a path (`/`, `\`, `..`) is refused (`003`).
    pub fn check_documents_in_dir(&self, dir: &Path) -> Vec<Anomalia> {
        check_documents_in_dir(&self.segnatura, dir)
    }
}

/// Checks the `Impronta` of every document of a segnatura (see
/// [`VerifiedSegnatura::check_documents`]).
pub fn check_documents<F, R>(segnatura: &SegnaturaInformatica, mut open: F) -> Vec<Anomalia>
where
    F: FnMut(&Documento) -> std::io::Result<R>,
    R: Read,
{
    let mut out = Vec::new();
    for d in segnatura.descrizione.documenti() {
        match open(d) {
            Err(e) => out.push(Anomalia::new(
                CodiceAnomalia::DocumentoAllegatiNonLeggibili,
                format!("{}: {e}", d.nome_file),
            )),
            Ok(r) => {
                if let Err(e) = d.impronta.check_reader(&d.nome_file, r) {
                    let codice = match e {
                        crate::error::ImprontaError::Io { .. } => {
                            CodiceAnomalia::DocumentoAllegatiNonLeggibili
                        }
                        _ => CodiceAnomalia::AnomaliaImpronta,
                    };
                    out.push(Anomalia::new(codice, e.to_string()));
                }
            }
        }
    }
    out
}

/// Checks the `Impronta` of every document against files in `dir`.
pub fn check_documents_in_dir(segnatura: &SegnaturaInformatica, dir: &Path) -> Vec<Anomalia> {
    check_documents(segnatura, |d| {
        let n = &d.nome_file;
        if n.is_empty() || n.contains(['/', '\\']) || n == ".." || n == "." || n.contains('\0') {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "file name with a path refused",
            ));
        }
        std::fs::File::open(dir.join(n))
    })
}

/// Computes the `Impronta` of a file (SHA-256), for building a segnatura.
///
/// # Errors
/// The file cannot be read.
pub fn impronta_of_file(path: &Path) -> Result<Impronta, crate::error::ImprontaError> {
    let name = path.display().to_string();
    let f = std::fs::File::open(path).map_err(|e| crate::error::ImprontaError::Io {
        nome_file: name.clone(),
        message: e.to_string(),
    })?;
    Impronta::compute_reader(crate::impronta::DigestAlgorithm::Sha256, &name, f)
}
