//! Sealing a segnatura with an enveloped XAdES Baseline-B signature, and verifying a received
//! one with the anomaly codes of AgID Allegato 6.
//!
//! The segnatura schema gives `SegnaturaInformatica` no ID attribute, so the seal references the
//! whole document (`URI=""`, enveloped-signature and exclusive C14N transforms). Parsing,
//! canonicalization and key operations are `xmldsig`'s; the reference handling is here.

use std::io::Read;
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, SecondsFormat, Utc};
use der::Decode;
use thiserror::Error;
use xmldsig::{
    C14nAlgorithm, C14nOptions, DSIG_NS, DigestAlgorithm, Document, ENVELOPED_SIGNATURE, NodeId,
    NodeKind, ParseOptions as DsigParseOptions, SignatureAlgorithm, SigningKey, XADES_NS,
    XADES_SIGNED_PROPERTIES_TYPE, canonicalize,
};

use crate::error::WriteError;
use crate::impronta::Impronta;
use crate::messages::{CodiceAnomalia, MessaggioRicevuto, NotificaEccezione};
use crate::model::{Documento, SegnaturaInformatica};
use crate::parse::{Ctx, ParseOptions, RootNamespace, segnatura_from_element};
use crate::write::{NS_PEC, NS_PROTOCOLLO};
use crate::xml;

const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
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

struct Parts<'a> {
    alg: SignatureAlgorithm,
    cert_b64: String,
    cert_digest: String,
    signing_time: &'a str,
}

impl Parts<'_> {
    fn build(&self, doc_digest: &str, props_digest: &str, value: &str) -> String {
        let dig = DigestAlgorithm::Sha256.uri();
        format!(
            "<ds:Signature xmlns:ds=\"{DSIG_NS}\" Id=\"{SIG_ID}\"><ds:SignedInfo>\
<ds:CanonicalizationMethod Algorithm=\"{EXC_C14N}\"/><ds:SignatureMethod Algorithm=\"{alg}\"/>\
<ds:Reference Id=\"{SIG_ID}-ref0\" URI=\"\"><ds:Transforms><ds:Transform Algorithm=\"{ENVELOPED_SIGNATURE}\"/>\
<ds:Transform Algorithm=\"{EXC_C14N}\"/></ds:Transforms><ds:DigestMethod Algorithm=\"{dig}\"/>\
<ds:DigestValue>{doc_digest}</ds:DigestValue></ds:Reference>\
<ds:Reference Type=\"{XADES_SIGNED_PROPERTIES_TYPE}\" URI=\"#{SIG_ID}-signedprops\"><ds:Transforms>\
<ds:Transform Algorithm=\"{EXC_C14N}\"/></ds:Transforms><ds:DigestMethod Algorithm=\"{dig}\"/>\
<ds:DigestValue>{props_digest}</ds:DigestValue></ds:Reference></ds:SignedInfo>\
<ds:SignatureValue>{value}</ds:SignatureValue><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate>\
</ds:X509Data></ds:KeyInfo><ds:Object><xades:QualifyingProperties xmlns:xades=\"{XADES_NS}\" Target=\"#{SIG_ID}\">\
<xades:SignedProperties Id=\"{SIG_ID}-signedprops\"><xades:SignedSignatureProperties>\
<xades:SigningTime>{time}</xades:SigningTime><xades:SigningCertificateV2><xades:Cert><xades:CertDigest>\
<ds:DigestMethod Algorithm=\"{dig}\"/><ds:DigestValue>{cert_digest}</ds:DigestValue></xades:CertDigest>\
</xades:Cert></xades:SigningCertificateV2></xades:SignedSignatureProperties><xades:SignedDataObjectProperties>\
<xades:DataObjectFormat ObjectReference=\"#{SIG_ID}-ref0\"><xades:MimeType>text/xml</xades:MimeType>\
</xades:DataObjectFormat></xades:SignedDataObjectProperties></xades:SignedProperties>\
</xades:QualifyingProperties></ds:Object></ds:Signature>",
            alg = self.alg.uri(),
            cert = self.cert_b64,
            cert_digest = self.cert_digest,
            time = self.signing_time,
        )
    }
}

fn splice(xml: &str, at: usize, sig: &str) -> String {
    let mut s = String::with_capacity(xml.len() + sig.len());
    s.push_str(&xml[..at]);
    s.push_str(sig);
    s.push_str(&xml[at..]);
    s
}

fn c14n_element(doc: &Document, id: NodeId) -> Vec<u8> {
    let mut out = Vec::new();
    canonicalize(
        doc,
        id,
        &C14nOptions::new(C14nAlgorithm::Exclusive),
        &mut out,
    );
    out
}

/// Seals a segnatura: writes it and adds the enveloped XAdES Baseline-B `ds:Signature` as the
/// last child of `SegnaturaInformatica` (reference `URI=""`, exclusive C14N, SHA-256, signing
/// certificate in `KeyInfo` and in `SigningCertificateV2`).
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
    if !key.matches(certificate) {
        return Err(SealError::Key(
            "the certificate does not match the private key".into(),
        ));
    }
    let alg = opts
        .signature_algorithm
        .unwrap_or_else(|| key.default_algorithm());
    if alg.is_sha1() {
        return Err(SealError::Key("SHA-1 is never used for sealing".into()));
    }
    let xml = segnatura.to_xml()?;
    let at = xml
        .rfind("</prot:SegnaturaInformatica>")
        .ok_or_else(|| SealError::Xml("root end tag not found".into()))?;
    let time = opts
        .signing_time
        .unwrap_or_else(Utc::now)
        .to_rfc3339_opts(SecondsFormat::Secs, true);
    let parts = Parts {
        alg,
        cert_b64: certificate.to_base64(),
        cert_digest: STANDARD.encode(certificate.digest(DigestAlgorithm::Sha256)),
        signing_time: &time,
    };
    let popts = DsigParseOptions::default();
    let doc0 =
        Document::parse_with(xml.as_bytes(), &popts).map_err(|e| SealError::Xml(e.to_string()))?;
    let mut buf = Vec::new();
    canonicalize(
        &doc0,
        NodeId::DOCUMENT,
        &C14nOptions::new(C14nAlgorithm::Exclusive),
        &mut buf,
    );
    let doc_digest = STANDARD.encode(DigestAlgorithm::Sha256.digest(&buf));

    let tmp = splice(&xml, at, &parts.build(&doc_digest, "", ""));
    let tdoc =
        Document::parse_with(tmp.as_bytes(), &popts).map_err(|e| SealError::Xml(e.to_string()))?;
    let props = tdoc
        .element_by_id(&format!("{SIG_ID}-signedprops"))
        .ok_or_else(|| SealError::Xml("SignedProperties not found".into()))?;
    let props_digest =
        STANDARD.encode(DigestAlgorithm::Sha256.digest(&c14n_element(&tdoc, props.id())));

    let tmp = splice(&xml, at, &parts.build(&doc_digest, &props_digest, ""));
    let tdoc =
        Document::parse_with(tmp.as_bytes(), &popts).map_err(|e| SealError::Xml(e.to_string()))?;
    let si = tdoc
        .root()
        .child(DSIG_NS, "Signature")
        .and_then(|s| s.child(DSIG_NS, "SignedInfo"))
        .ok_or_else(|| SealError::Xml("SignedInfo not found".into()))?;
    let value = key
        .sign(alg, &c14n_element(&tdoc, si.id()))
        .map_err(|e| SealError::Key(e.to_string()))?;
    Ok(splice(
        &xml,
        at,
        &parts.build(&doc_digest, &props_digest, &STANDARD.encode(value)),
    ))
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
    /// used for this check.
    pub validation_time: Option<DateTime<Utc>>,
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
}

fn elements<'a>(
    e: xmldsig::Element<'a>,
    what: &str,
) -> Result<Vec<xmldsig::Element<'a>>, Anomalia> {
    let mut v = Vec::new();
    for c in e.children() {
        match c.kind() {
            NodeKind::Element(el) => v.push(el),
            NodeKind::Text(t) if !t.trim().is_empty() => {
                return Err(Anomalia::firma(format!("unexpected text in {what}")));
            }
            _ => {}
        }
    }
    Ok(v)
}

fn expect<'a>(
    it: &mut std::iter::Peekable<std::vec::IntoIter<xmldsig::Element<'a>>>,
    ns: &str,
    name: &str,
    parent: &str,
) -> Result<xmldsig::Element<'a>, Anomalia> {
    match it.next() {
        Some(e) if e.is(ns, name) => Ok(e),
        Some(e) => Err(Anomalia::firma(format!(
            "{parent}: expected {name}, found {}",
            e.qname()
        ))),
        None => Err(Anomalia::firma(format!("{parent}: missing {name}"))),
    }
}

fn algorithm<'a>(e: &xmldsig::Element<'a>) -> Result<&'a str, Anomalia> {
    e.attr("Algorithm")
        .ok_or_else(|| Anomalia::firma(format!("{} without Algorithm", e.local_name())))
}

fn b64(text: &str, what: &str) -> Result<Vec<u8>, Anomalia> {
    crate::impronta::decode_b64(text).map_err(|_| Anomalia::firma(format!("{what} is not base64")))
}

struct Reference<'a> {
    uri: &'a str,
    type_: Option<&'a str>,
    transforms: Vec<&'a str>,
    digest: DigestAlgorithm,
    value: Vec<u8>,
}

fn reference<'a>(r: xmldsig::Element<'a>) -> Result<Reference<'a>, Anomalia> {
    let uri = r
        .attr("URI")
        .ok_or_else(|| Anomalia::firma("Reference without URI"))?;
    let mut it = elements(r, "Reference")?.into_iter().peekable();
    let mut transforms = Vec::new();
    if it.peek().is_some_and(|e| e.is(DSIG_NS, "Transforms")) {
        let t = it.next().ok_or_else(|| Anomalia::firma("Transforms"))?;
        for tr in elements(t, "Transforms")? {
            if !tr.is(DSIG_NS, "Transform") || !elements(tr, "Transform")?.is_empty() {
                return Err(Anomalia::firma("unsupported Transform content"));
            }
            transforms.push(algorithm(&tr)?);
        }
    }
    let dm = expect(&mut it, DSIG_NS, "DigestMethod", "Reference")?;
    let digest = match DigestAlgorithm::from_uri(algorithm(&dm)?) {
        Some(DigestAlgorithm::Sha1) | None => {
            return Err(Anomalia::firma(format!(
                "digest algorithm {} refused",
                algorithm(&dm)?
            )));
        }
        Some(a) => a,
    };
    let dv = expect(&mut it, DSIG_NS, "DigestValue", "Reference")?;
    if let Some(e) = it.next() {
        return Err(Anomalia::firma(format!(
            "unexpected {} in Reference",
            e.qname()
        )));
    }
    Ok(Reference {
        uri,
        type_: r.attr("Type"),
        transforms,
        digest,
        value: b64(&dv.text(), "DigestValue")?,
    })
}

fn c14n_alg(uri: &str, opts: &SealVerifyOptions) -> Result<C14nAlgorithm, Anomalia> {
    C14nAlgorithm::from_uri(uri)
        .filter(|a| !a.with_comments() && (a.is_exclusive() || opts.allow_inclusive_c14n))
        .ok_or_else(|| Anomalia::firma(format!("canonicalization {uri} not allowed")))
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
    let mut it = elements(sig, "Signature")?.into_iter().peekable();
    let si = expect(&mut it, DSIG_NS, "SignedInfo", "Signature")?;
    let sv = expect(&mut it, DSIG_NS, "SignatureValue", "Signature")?;
    let key_info = if it.peek().is_some_and(|e| e.is(DSIG_NS, "KeyInfo")) {
        it.next()
    } else {
        None
    };
    let objects: Vec<_> = it.collect();
    if objects.iter().any(|o| !o.is(DSIG_NS, "Object")) {
        return Err(Anomalia::firma("unexpected element in ds:Signature"));
    }

    // SignedInfo
    let mut sit = elements(si, "SignedInfo")?.into_iter().peekable();
    let cm = expect(&mut sit, DSIG_NS, "CanonicalizationMethod", "SignedInfo")?;
    let si_c14n = c14n_alg(algorithm(&cm)?, opts)?;
    if !elements(cm, "CanonicalizationMethod")?.is_empty() {
        return Err(Anomalia::firma("InclusiveNamespaces is not supported here"));
    }
    let sm = expect(&mut sit, DSIG_NS, "SignatureMethod", "SignedInfo")?;
    let sig_alg = SignatureAlgorithm::from_uri(algorithm(&sm)?)
        .filter(|a| !a.is_sha1())
        .ok_or_else(|| {
            Anomalia::firma(format!(
                "signature algorithm {} refused",
                algorithm(&sm).unwrap_or("")
            ))
        })?;
    let refs = sit.map(reference).collect::<Result<Vec<_>, _>>()?;
    if refs.len() != 2 {
        return Err(Anomalia::firma(format!(
            "expected 2 references (document and XAdES SignedProperties), found {}",
            refs.len()
        )));
    }
    let doc_ref = refs
        .iter()
        .find(|r| r.uri.is_empty())
        .ok_or_else(|| Anomalia::firma("no Reference URI=\"\" to the whole segnatura"))?;
    let props_ref = refs
        .iter()
        .find(|r| r.type_ == Some(XADES_SIGNED_PROPERTIES_TYPE))
        .ok_or_else(|| Anomalia::firma("no reference to XAdES SignedProperties"))?;
    if doc_ref.type_.is_some() {
        return Err(Anomalia::firma("the document reference has a Type"));
    }

    // Reference to the whole document: enveloped-signature, then a canonicalization.
    let doc_c14n = match doc_ref.transforms.as_slice() {
        [env, c] if *env == ENVELOPED_SIGNATURE => c14n_alg(c, opts)?,
        [env] if *env == ENVELOPED_SIGNATURE => {
            if opts.allow_inclusive_c14n {
                C14nAlgorithm::Inclusive
            } else {
                return Err(Anomalia::firma("document reference without exclusive C14N"));
            }
        }
        _ => {
            return Err(Anomalia::firma(
                "document reference transforms must be enveloped-signature and C14N",
            ));
        }
    };
    let mut buf = Vec::new();
    canonicalize(
        &doc,
        NodeId::DOCUMENT,
        &C14nOptions::new(doc_c14n).excluding(sig.id()),
        &mut buf,
    );
    if doc_ref.digest.digest(&buf) != doc_ref.value {
        return Err(Anomalia::firma(
            "the segnatura does not match the seal (digest of the document differs)",
        ));
    }

    // XAdES SignedProperties, inside this signature's Object/QualifyingProperties.
    let pid = props_ref
        .uri
        .strip_prefix('#')
        .ok_or_else(|| Anomalia::firma("SignedProperties reference is not same-document"))?;
    let props = doc
        .element_by_id(pid)
        .filter(|p| p.is(XADES_NS, "SignedProperties"))
        .ok_or_else(|| Anomalia::firma(format!("SignedProperties #{pid} not found")))?;
    let qp = props
        .parent()
        .filter(|q| q.is(XADES_NS, "QualifyingProperties"))
        .ok_or_else(|| Anomalia::firma("SignedProperties outside QualifyingProperties"))?;
    if !qp.parent().is_some_and(|o| objects.contains(&o)) {
        return Err(Anomalia::firma(
            "QualifyingProperties outside this signature's Object",
        ));
    }
    match (sig.attr("Id"), qp.attr("Target")) {
        (Some(id), Some(t)) if t.strip_prefix('#') == Some(id) => {}
        _ => {
            return Err(Anomalia::firma(
                "QualifyingProperties Target does not point to this signature",
            ));
        }
    }
    let props_c14n = match props_ref.transforms.as_slice() {
        [c] => c14n_alg(c, opts)?,
        [] if opts.allow_inclusive_c14n => C14nAlgorithm::Inclusive,
        _ => return Err(Anomalia::firma("SignedProperties reference transforms")),
    };
    buf.clear();
    canonicalize(&doc, props.id(), &C14nOptions::new(props_c14n), &mut buf);
    if props_ref.digest.digest(&buf) != props_ref.value {
        return Err(Anomalia::firma(
            "XAdES SignedProperties do not match their digest",
        ));
    }

    // The signer certificate: from KeyInfo, accepted only through `trust`.
    let cert_der = key_info
        .and_then(|ki| ki.child(DSIG_NS, "X509Data"))
        .and_then(|xd| xd.child(DSIG_NS, "X509Certificate"))
        .map(|c| b64(&c.text(), "X509Certificate"))
        .transpose()?;
    let ssp = props
        .child(XADES_NS, "SignedSignatureProperties")
        .ok_or_else(|| Anomalia::firma("no SignedSignatureProperties"))?;
    let st = ssp
        .child(XADES_NS, "SigningTime")
        .ok_or_else(|| Anomalia::firma("no XAdES SigningTime"))?
        .text();
    let signing_time = DateTime::parse_from_rfc3339(st.trim())
        .map_err(|_| Anomalia::firma(format!("SigningTime `{st}` is not a dateTime")))?
        .with_timezone(&Utc);
    let validation_time = opts.validation_time.unwrap_or_else(Utc::now);
    let candidates: Vec<Vec<u8>> = match &cert_der {
        Some(der) => vec![der.clone()],
        None => trust
            .iter()
            .filter_map(|c| der::Encode::to_der(c).ok())
            .collect(),
    };
    let mut last_err = Anomalia::firma("no trusted seal certificate");
    for der in candidates {
        let x509 = match x509_cert::Certificate::from_der(&der) {
            Ok(c) => c,
            Err(e) => {
                last_err = Anomalia::firma(format!("X509Certificate: {e}"));
                continue;
            }
        };
        if let Err(e) = crate::p7m::check_signing_usage(&x509)
            .and_then(|()| crate::p7m::build_chain(&x509, &[], trust, validation_time))
        {
            last_err = Anomalia::firma(format!("seal certificate: {e}"));
            continue;
        }
        let cert = match xmldsig::Certificate::from_der(&der) {
            Ok(c) => c,
            Err(e) => {
                last_err = Anomalia::firma(format!("seal certificate: {e}"));
                continue;
            }
        };
        // SigningCertificateV2 must name this certificate.
        let cd = ssp
            .child(XADES_NS, "SigningCertificateV2")
            .or_else(|| ssp.child(XADES_NS, "SigningCertificate"))
            .and_then(|s| s.child(XADES_NS, "Cert"))
            .and_then(|c| c.child(XADES_NS, "CertDigest"))
            .ok_or_else(|| Anomalia::firma("no XAdES SigningCertificateV2/Cert/CertDigest"))?;
        let dm = cd
            .child(DSIG_NS, "DigestMethod")
            .ok_or_else(|| Anomalia::firma("CertDigest without DigestMethod"))?;
        let calg = DigestAlgorithm::from_uri(algorithm(&dm)?)
            .filter(|a| *a != DigestAlgorithm::Sha1)
            .ok_or_else(|| Anomalia::firma("CertDigest algorithm refused"))?;
        let dv = cd
            .child(DSIG_NS, "DigestValue")
            .ok_or_else(|| Anomalia::firma("CertDigest without DigestValue"))?;
        if cert.digest(calg) != b64(&dv.text(), "CertDigest")? {
            last_err = Anomalia::firma("SigningCertificateV2 does not match the seal certificate");
            continue;
        }
        buf.clear();
        canonicalize(&doc, si.id(), &C14nOptions::new(si_c14n), &mut buf);
        let value = b64(&sv.text(), "SignatureValue")?;
        if let Err(e) = cert.public_key().verify(sig_alg, &buf, &value) {
            last_err = Anomalia::firma(format!("the signature value does not verify: {e}"));
            continue;
        }
        // Verified: read the segnatura from the signed tree, without the signature.
        let signed = convert(root, sig.id());
        let ctx = Ctx { opts: opts.parse };
        let (segnatura, root_ns, _) = segnatura_from_element(&ctx, &signed)
            .map_err(|e| irricevibile(format!("segnatura: {e}")))?;
        return Ok(VerifiedSegnatura {
            segnatura,
            root: root_ns,
            signing_time,
            signer_subject: x509.tbs_certificate.subject.to_string(),
            signer_certificate: der,
        });
    }
    Err(last_err)
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
