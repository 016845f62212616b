//! XML-DSig enveloped signatures (with optional XAdES Baseline-B): signing and strict verification.

use std::time::SystemTime;

use base64::Engine as _;

use crate::c14n::{C14nAlgorithm, C14nOptions, canonicalize};
use crate::error::{Error, KeyError, RefTarget, SignError, VerifyError};
use crate::keys::{Certificate, DigestAlgorithm, SignatureAlgorithm, SigningKey, TrustedKey};
use crate::tree::{Document, Element, NodeId, NodeKind, ParseOptions};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// The XML-DSig namespace.
pub const DSIG_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// The XAdES 1.3.2 namespace.
pub const XADES_NS: &str = "http://uri.etsi.org/01903/v1.3.2#";
/// `Reference/@Type` of the reference to XAdES `SignedProperties`.
pub const XADES_SIGNED_PROPERTIES_TYPE: &str = "http://uri.etsi.org/01903#SignedProperties";
/// The enveloped-signature transform.
pub const ENVELOPED_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const EXC_C14N_NS: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";

// ---------------------------------------------------------------------------------------------
// Signing

/// Where the `ds:Signature` element goes inside the signed element.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Placement {
    /// As the first child.
    FirstChild,
    /// As the last child.
    LastChild,
    /// Right after the first child element with this namespace URI and local name (for SAML:
    /// after `saml:Issuer`, see [`Placement::after_saml_issuer`]).
    AfterChild {
        /// Namespace URI of the child.
        namespace: String,
        /// Local name of the child.
        local_name: String,
    },
    /// Right after the first child element with this qualified name, its prefix resolved with
    /// the namespace declarations in scope at the signed element.
    AfterQName(String),
}

impl Placement {
    /// After the child element `{namespace}local_name`.
    pub fn after(namespace: &str, local_name: &str) -> Self {
        Placement::AfterChild {
            namespace: namespace.to_owned(),
            local_name: local_name.to_owned(),
        }
    }

    /// After `saml:Issuer`, where SAML 2.0 requires the signature of a Response, Assertion,
    /// AuthnRequest or LogoutRequest/Response.
    pub fn after_saml_issuer() -> Self {
        Self::after("urn:oasis:names:tc:SAML:2.0:assertion", "Issuer")
    }
}

/// XAdES Baseline-B options for [`SignOptions::xades`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct XadesOptions {
    /// `SigningTime` as an `xsd:dateTime` (default: now, UTC, seconds precision).
    pub signing_time: Option<String>,
}

impl XadesOptions {
    /// XAdES with this `SigningTime` (an `xsd:dateTime`).
    pub fn with_signing_time(time: impl Into<String>) -> Self {
        XadesOptions {
            signing_time: Some(time.into()),
        }
    }
}

/// Options for [`sign_enveloped`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignOptions<'a> {
    /// ID value of the element to sign. Empty: sign the whole document with `Reference
    /// URI=""` (what Java's XMLENVELOPED signers produce); the signature goes in the root.
    pub id: &'a str,
    /// Where `ds:Signature` goes inside that element.
    pub placement: Placement,
    /// The private key.
    pub key: &'a SigningKey,
    /// Certificate written in `KeyInfo/X509Data/X509Certificate` (and digested by XAdES).
    pub certificate: Option<&'a Certificate>,
    /// Canonicalization for `SignedInfo` and the reference (default exclusive, no comments).
    pub c14n: C14nAlgorithm,
    /// Signature algorithm (default: the key's [`SigningKey::default_algorithm`]).
    pub signature_algorithm: Option<SignatureAlgorithm>,
    /// Digest algorithm (default SHA-256).
    pub digest: DigestAlgorithm,
    /// Parser options, including the ID attribute names (`ID`, `Id`, `id` by default).
    pub parse: ParseOptions,
    /// `Id` of the `ds:Signature` element (default none; with XAdES `xmldsig-<id>`).
    pub signature_id: Option<String>,
    /// Namespace prefix for the XML-DSig elements (default `ds`).
    pub prefix: String,
    /// Add XAdES Baseline-B signed properties (requires [`SignOptions::certificate`]).
    pub xades: Option<XadesOptions>,
}

impl<'a> SignOptions<'a> {
    /// Signs the element with ID `id` using `key`; the signature goes last inside it.
    pub fn new(id: &'a str, key: &'a SigningKey) -> Self {
        SignOptions {
            id,
            placement: Placement::LastChild,
            key,
            certificate: None,
            c14n: C14nAlgorithm::Exclusive,
            signature_algorithm: None,
            digest: DigestAlgorithm::Sha256,
            parse: ParseOptions::default(),
            signature_id: None,
            prefix: "ds".into(),
            xades: None,
        }
    }

    /// Sets the certificate written in `KeyInfo`.
    #[must_use]
    pub fn certificate(mut self, cert: &'a Certificate) -> Self {
        self.certificate = Some(cert);
        self
    }

    /// Sets the placement.
    #[must_use]
    pub fn placement(mut self, placement: Placement) -> Self {
        self.placement = placement;
        self
    }

    /// Sets the ID attribute names.
    #[must_use]
    pub fn id_attributes<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.parse = self.parse.with_id_attributes(names);
        self
    }

    /// Sets the canonicalization algorithm.
    #[must_use]
    pub fn c14n(mut self, alg: C14nAlgorithm) -> Self {
        self.c14n = alg;
        self
    }

    /// Sets the signature algorithm.
    #[must_use]
    pub fn signature_algorithm(mut self, alg: SignatureAlgorithm) -> Self {
        self.signature_algorithm = Some(alg);
        self
    }

    /// Sets the digest algorithm.
    #[must_use]
    pub fn digest(mut self, alg: DigestAlgorithm) -> Self {
        self.digest = alg;
        self
    }

    /// Enables XAdES Baseline-B.
    #[must_use]
    pub fn xades(mut self, xades: XadesOptions) -> Self {
        self.xades = Some(xades);
        self
    }
}

fn esc_attr(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '"' => o.push_str("&quot;"),
            '\t' => o.push_str("&#x9;"),
            '\n' => o.push_str("&#xA;"),
            '\r' => o.push_str("&#xD;"),
            c => o.push(c),
        }
    }
    o
}

fn esc_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Formats a time as `YYYY-MM-DDThh:mm:ssZ`.
pub(crate) fn format_utc(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil-from-days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

struct SigParts<'o> {
    opts: &'o SignOptions<'o>,
    alg: SignatureAlgorithm,
    sig_id: Option<String>,
    props_id: String,
    signing_time: String,
}

impl SigParts<'_> {
    fn build(&self, ref_digest: &str, props_digest: &str, sig_value: &str) -> String {
        let p = &self.opts.prefix;
        let pc = if p.is_empty() {
            String::new()
        } else {
            format!("{p}:")
        };
        let xmlns = if p.is_empty() {
            "xmlns".to_owned()
        } else {
            format!("xmlns:{p}")
        };
        let c14n = self.opts.c14n.uri();
        let dig = self.opts.digest.uri();
        let mut s = String::with_capacity(4096);
        s.push_str(&format!("<{pc}Signature {xmlns}=\"{DSIG_NS}\""));
        if let Some(id) = &self.sig_id {
            s.push_str(&format!(" Id=\"{}\"", esc_attr(id)));
        }
        s.push('>');
        s.push_str(&format!(
            "<{pc}SignedInfo><{pc}CanonicalizationMethod Algorithm=\"{c14n}\"/><{pc}SignatureMethod Algorithm=\"{}\"/>",
            self.alg.uri()
        ));
        s.push_str(&format!(
            "<{pc}Reference URI=\"{}\"><{pc}Transforms><{pc}Transform Algorithm=\"{ENVELOPED_SIGNATURE}\"/><{pc}Transform Algorithm=\"{c14n}\"/></{pc}Transforms><{pc}DigestMethod Algorithm=\"{dig}\"/><{pc}DigestValue>{ref_digest}</{pc}DigestValue></{pc}Reference>",
            if self.opts.id.is_empty() { String::new() } else { format!("#{}", esc_attr(self.opts.id)) }
        ));
        if self.opts.xades.is_some() {
            s.push_str(&format!(
                "<{pc}Reference Type=\"{XADES_SIGNED_PROPERTIES_TYPE}\" URI=\"#{}\"><{pc}Transforms><{pc}Transform Algorithm=\"{c14n}\"/></{pc}Transforms><{pc}DigestMethod Algorithm=\"{dig}\"/><{pc}DigestValue>{props_digest}</{pc}DigestValue></{pc}Reference>",
                esc_attr(&self.props_id)
            ));
        }
        s.push_str(&format!(
            "</{pc}SignedInfo><{pc}SignatureValue>{sig_value}</{pc}SignatureValue>"
        ));
        if let Some(cert) = self.opts.certificate {
            s.push_str(&format!(
                "<{pc}KeyInfo><{pc}X509Data><{pc}X509Certificate>{}</{pc}X509Certificate></{pc}X509Data></{pc}KeyInfo>",
                cert.to_base64()
            ));
        }
        if let (Some(_), Some(cert)) = (&self.opts.xades, self.opts.certificate) {
            let cert_digest = B64.encode(cert.digest(self.opts.digest));
            s.push_str(&format!(
                "<{pc}Object><xades:QualifyingProperties xmlns:xades=\"{XADES_NS}\" Target=\"#{}\"><xades:SignedProperties Id=\"{}\"><xades:SignedSignatureProperties><xades:SigningTime>{}</xades:SigningTime><xades:SigningCertificateV2><xades:Cert><xades:CertDigest><{pc}DigestMethod Algorithm=\"{dig}\"/><{pc}DigestValue>{cert_digest}</{pc}DigestValue></xades:CertDigest></xades:Cert></xades:SigningCertificateV2></xades:SignedSignatureProperties></xades:SignedProperties></xades:QualifyingProperties></{pc}Object>",
                esc_attr(self.sig_id.as_deref().unwrap_or_default()),
                esc_attr(&self.props_id),
                esc_text(&self.signing_time),
            ));
        }
        s.push_str(&format!("</{pc}Signature>"));
        s
    }
}

/// How to splice the signature into the source bytes.
struct Splice {
    /// Byte offset where the signature goes.
    at: usize,
    /// For `<a/>`: the range of `/>` to replace and the qualified name for the end tag.
    self_closing: Option<(std::ops::Range<usize>, String)>,
}

impl Splice {
    fn apply(&self, xml: &[u8], sig: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(xml.len() + sig.len() + 32);
        match &self.self_closing {
            None => {
                out.extend_from_slice(&xml[..self.at]);
                out.extend_from_slice(sig.as_bytes());
                out.extend_from_slice(&xml[self.at..]);
            }
            Some((range, qname)) => {
                out.extend_from_slice(&xml[..range.start]);
                out.push(b'>');
                out.extend_from_slice(sig.as_bytes());
                out.extend_from_slice(format!("</{qname}>").as_bytes());
                out.extend_from_slice(&xml[range.end..]);
            }
        }
        out
    }
}

fn find_splice(
    el: &Element<'_>,
    placement: &Placement,
    xml: &[u8],
    id: &str,
) -> Result<Splice, SignError> {
    let d = el.doc.n(el.id);
    if d.self_closing {
        let end = d.src_end as usize;
        let slash = end
            .checked_sub(2)
            .filter(|&s| xml.get(s..end) == Some(b"/>"));
        let Some(start) = slash else {
            return Err(SignError::Internal(
                "cannot locate '/>' of the element".into(),
            ));
        };
        if !matches!(placement, Placement::FirstChild | Placement::LastChild) {
            return Err(placement_missing(placement, id));
        }
        return Ok(Splice {
            at: start,
            self_closing: Some((start..end, el.qname())),
        });
    }
    let at = match placement {
        Placement::FirstChild => d.start_tag_end as usize,
        Placement::LastChild => d.end_tag_start as usize,
        Placement::AfterChild {
            namespace,
            local_name,
        } => el
            .child(namespace, local_name)
            .map(|c| c.source_range().end)
            .ok_or_else(|| placement_missing(placement, id))?,
        Placement::AfterQName(q) => {
            let (prefix, local) = q.split_once(':').unwrap_or(("", q.as_str()));
            let ns = el.lookup_namespace(prefix).unwrap_or_default();
            if !prefix.is_empty() && ns.is_empty() {
                return Err(SignError::InvalidOptions(format!(
                    "prefix of {q:?} is not declared at the signed element"
                )));
            }
            el.child(ns, local)
                .map(|c| c.source_range().end)
                .ok_or_else(|| placement_missing(placement, id))?
        }
    };
    Ok(Splice {
        at,
        self_closing: None,
    })
}

fn placement_missing(p: &Placement, id: &str) -> SignError {
    let child = match p {
        Placement::AfterChild {
            namespace,
            local_name,
        } => format!("{{{namespace}}}{local_name}"),
        Placement::AfterQName(q) => q.clone(),
        _ => String::new(),
    };
    SignError::PlacementChildNotFound {
        id: id.to_owned(),
        child,
    }
}

fn internal(e: impl std::fmt::Display) -> Error {
    Error::Sign(SignError::Internal(e.to_string()))
}

/// Signs the element whose ID is `opts.id` with an enveloped XML-DSig signature and returns
/// the whole document with the `ds:Signature` inserted; every other byte is unchanged.
///
/// The reference uses `URI="#id"` with the transforms enveloped-signature and the chosen
/// canonicalization; `KeyInfo/X509Data/X509Certificate` is written when a certificate is given.
/// With [`SignOptions::xades`] the signature also carries XAdES Baseline-B signed properties
/// (`SigningTime`, `SigningCertificateV2`) referenced from `SignedInfo`.
///
/// # Errors
/// [`Error::Parse`] when the input is not acceptable XML; [`Error::Sign`] when the ID or the
/// placement child is not found, the element is already signed or the options conflict;
/// [`Error::Key`] when the key cannot sign with the algorithm.
pub fn sign_enveloped(xml: &[u8], opts: &SignOptions<'_>) -> Result<Vec<u8>, Error> {
    let doc = Document::parse_with(xml, &opts.parse)?;
    let el = if opts.id.is_empty() {
        doc.root()
    } else {
        doc.element_by_id(opts.id)
            .ok_or_else(|| SignError::IdNotFound(opts.id.to_owned()))?
    };
    if el.child(DSIG_NS, "Signature").is_some() {
        return Err(SignError::AlreadySigned(opts.id.to_owned()).into());
    }
    let alg = opts
        .signature_algorithm
        .unwrap_or_else(|| opts.key.default_algorithm());
    if alg.is_sha1() || opts.digest == DigestAlgorithm::Sha1 {
        return Err(SignError::InvalidOptions("SHA-1 is never used for signing".into()).into());
    }
    if opts.xades.is_some() && opts.certificate.is_none() {
        return Err(SignError::InvalidOptions("XAdES needs the signing certificate".into()).into());
    }
    if let Some(cert) = opts.certificate
        && !opts.key.matches(cert)
    {
        return Err(SignError::InvalidOptions(
            "the certificate does not match the private key".into(),
        )
        .into());
    }
    if opts.prefix.contains(':') || opts.prefix.contains(char::is_whitespace) {
        return Err(SignError::InvalidOptions(format!("invalid prefix {:?}", opts.prefix)).into());
    }
    let splice = find_splice(&el, &opts.placement, xml, opts.id)?;
    let sig_id = opts.signature_id.clone().or_else(|| {
        opts.xades.as_ref().map(|_| {
            format!(
                "xmldsig-{}",
                if opts.id.is_empty() { "doc" } else { opts.id }
            )
        })
    });
    let props_id = format!("{}-signedprops", sig_id.as_deref().unwrap_or(opts.id));
    let signing_time = opts
        .xades
        .as_ref()
        .and_then(|x| x.signing_time.clone())
        .unwrap_or_else(|| format_utc(SystemTime::now()));
    let parts = SigParts {
        opts,
        alg,
        sig_id,
        props_id,
        signing_time,
    };

    // The enveloped transform removes the signature, and nothing else changes, so the digest of
    // the element is the same before and after insertion.
    let c14n = C14nOptions::new(opts.c14n.without_comments());
    let mut buf = Vec::with_capacity(xml.len());
    let apex = if opts.id.is_empty() {
        NodeId::DOCUMENT
    } else {
        el.id()
    };
    canonicalize(&doc, apex, &c14n, &mut buf);
    let ref_digest = B64.encode(opts.digest.digest(&buf));
    let placeholder = B64.encode(opts.digest.digest(b""));

    let props_digest = if opts.xades.is_some() {
        let tmp = splice.apply(xml, &parts.build(&ref_digest, &placeholder, ""));
        let tdoc = Document::parse_with(&tmp, &opts.parse).map_err(internal)?;
        let props = tdoc
            .element_by_id(&parts.props_id)
            .ok_or_else(|| internal("SignedProperties not found"))?;
        buf.clear();
        canonicalize(&tdoc, props.id(), &c14n, &mut buf);
        B64.encode(opts.digest.digest(&buf))
    } else {
        placeholder
    };

    let unsigned = splice.apply(xml, &parts.build(&ref_digest, &props_digest, ""));
    let udoc = Document::parse_with(&unsigned, &opts.parse).map_err(internal)?;
    let uel = if opts.id.is_empty() {
        udoc.root()
    } else {
        udoc.element_by_id(opts.id)
            .ok_or_else(|| internal("signed element lost"))?
    };
    let sig = uel
        .child(DSIG_NS, "Signature")
        .ok_or_else(|| internal("signature not found"))?;
    let si = sig
        .child(DSIG_NS, "SignedInfo")
        .ok_or_else(|| internal("SignedInfo not found"))?;
    buf.clear();
    canonicalize(&udoc, si.id(), &C14nOptions::new(opts.c14n), &mut buf);
    let value = B64.encode(opts.key.sign(alg, &buf)?);
    Ok(splice.apply(xml, &parts.build(&ref_digest, &props_digest, &value)))
}

/// Signs `data` with `key` (the raw primitive, e.g. for the SAML HTTP-Redirect binding, which
/// signs `SAMLRequest=...&RelayState=...&SigAlg=...`).
///
/// # Errors
/// [`KeyError`] when the algorithm does not fit the key.
pub fn sign_bytes(
    key: &SigningKey,
    alg: SignatureAlgorithm,
    data: &[u8],
) -> Result<Vec<u8>, KeyError> {
    key.sign(alg, data)
}

/// Verifies a raw signature over `data` with any of the trusted keys; returns the index of the
/// key that verified. SHA-1 is refused unless `allow_sha1`.
///
/// # Errors
/// [`VerifyError::Sha1Refused`], [`VerifyError::NoUsableKey`] or
/// [`VerifyError::SignatureInvalid`].
pub fn verify_bytes(
    trusted: &[TrustedKey],
    alg: SignatureAlgorithm,
    data: &[u8],
    signature: &[u8],
    allow_sha1: bool,
) -> Result<usize, VerifyError> {
    if alg.is_sha1() && !allow_sha1 {
        return Err(VerifyError::Sha1Refused(alg.uri().into()));
    }
    let mut any = false;
    for (i, k) in trusted.iter().enumerate() {
        if !k.fits(alg) {
            continue;
        }
        any = true;
        if k.public_key().verify(alg, data, signature).is_ok() {
            return Ok(i);
        }
    }
    if any {
        Err(VerifyError::SignatureInvalid(String::new()))
    } else {
        Err(VerifyError::NoUsableKey(alg.uri().into()))
    }
}

// ---------------------------------------------------------------------------------------------
// Verification

/// What to do about XAdES signed properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum XadesPolicy {
    /// Check them when the signature references them (default).
    #[default]
    IfPresent,
    /// Require them (XAdES Baseline-B).
    Required,
}

/// Verification policy. The default is strict: exclusive C14N only, no SHA-1, every RSA and
/// ECDSA algorithm with SHA-256/384/512 allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Also accept inclusive C14N 1.0 (for `SignedInfo` and references), as OPI and segnatura
    /// signers use. Default false.
    pub allow_inclusive_c14n: bool,
    /// Accept SHA-1 digests and RSA-SHA1. Default false; named for what it is.
    pub insecure_allow_sha1: bool,
    /// Signature algorithms accepted.
    pub allowed_signature_algorithms: Vec<SignatureAlgorithm>,
    /// XAdES handling.
    pub xades: XadesPolicy,
    /// Accept `ds:Signature` elements whose `KeyInfo` names a certificate that is not trusted,
    /// trying the trusted keys instead. Default false: such a signature is rejected.
    pub ignore_untrusted_key_info: bool,
    /// Accept a content reference with `URI=""` (the whole document, comments removed) when
    /// the signature is a child of the root element; [`Verified::element`] is then the root
    /// and [`Verified::id`] is empty. Default false.
    pub allow_whole_document_reference: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            allow_inclusive_c14n: false,
            insecure_allow_sha1: false,
            allowed_signature_algorithms: vec![
                SignatureAlgorithm::RsaSha256,
                SignatureAlgorithm::RsaSha384,
                SignatureAlgorithm::RsaSha512,
                SignatureAlgorithm::EcdsaSha256,
                SignatureAlgorithm::EcdsaSha384,
            ],
            xades: XadesPolicy::IfPresent,
            ignore_untrusted_key_info: false,
            allow_whole_document_reference: false,
        }
    }
}

impl VerifyOptions {
    /// Accept inclusive C14N too.
    #[must_use]
    pub fn allow_inclusive_c14n(mut self) -> Self {
        self.allow_inclusive_c14n = true;
        self
    }

    /// Accept `Reference URI=""` (whole document) for a signature in the root element.
    #[must_use]
    pub fn allow_whole_document_reference(mut self) -> Self {
        self.allow_whole_document_reference = true;
        self
    }

    /// Require XAdES signed properties.
    #[must_use]
    pub fn require_xades(mut self) -> Self {
        self.xades = XadesPolicy::Required;
        self
    }

    /// Accept SHA-1 (insecure; for legacy peers only).
    #[must_use]
    pub fn insecure_allow_sha1(mut self) -> Self {
        self.insecure_allow_sha1 = true;
        if !self
            .allowed_signature_algorithms
            .contains(&SignatureAlgorithm::RsaSha1)
        {
            self.allowed_signature_algorithms
                .push(SignatureAlgorithm::RsaSha1);
        }
        self
    }
}

/// XAdES signed properties that were verified.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct XadesInfo {
    /// `SigningTime` as written.
    pub signing_time: String,
    /// Digest algorithm of the `CertDigest` that matched the signing certificate.
    pub cert_digest_algorithm: DigestAlgorithm,
}

/// A verified signature: the handle of the exact element it covers.
///
/// Read the signed content only through [`Verified::element`]; any other copy of the data in
/// the document is unsigned.
#[derive(Debug, Clone)]
pub struct Verified<'a> {
    element: Element<'a>,
    signature: Element<'a>,
    id: &'a str,
    key_index: usize,
    algorithm: SignatureAlgorithm,
    c14n: C14nAlgorithm,
    digest: DigestAlgorithm,
    xades: Option<XadesInfo>,
}

impl<'a> Verified<'a> {
    /// The signed element (the one the single content `Reference` resolved to).
    pub fn element(&self) -> Element<'a> {
        self.element
    }

    /// The `ds:Signature` element.
    pub fn signature(&self) -> Element<'a> {
        self.signature
    }

    /// The ID value of the signed element.
    pub fn id(&self) -> &'a str {
        self.id
    }

    /// Index, in the `trusted` slice given to the verifier, of the key that verified.
    pub fn key_index(&self) -> usize {
        self.key_index
    }

    /// The signature algorithm.
    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.algorithm
    }

    /// The canonicalization algorithm of `SignedInfo`.
    pub fn c14n(&self) -> C14nAlgorithm {
        self.c14n
    }

    /// The digest algorithm of the content reference.
    pub fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digest
    }

    /// The verified XAdES properties, when present.
    pub fn xades(&self) -> Option<&XadesInfo> {
        self.xades.as_ref()
    }
}

/// Verifies the only `ds:Signature` of the document.
///
/// Fails if the document has no signature or more than one (for SAML responses with both a
/// Response and an Assertion signature use [`verify_element`] on each).
///
/// # Errors
/// [`VerifyError`] saying exactly which rule failed.
pub fn verify<'a>(
    doc: &'a Document,
    trusted: &[TrustedKey],
    opts: &VerifyOptions,
) -> Result<Verified<'a>, VerifyError> {
    let mut sigs = doc.find_all(DSIG_NS, "Signature");
    let first = sigs
        .next()
        .ok_or_else(|| VerifyError::NoSignature(" in the document".into()))?;
    let rest = sigs.count();
    if rest > 0 {
        return Err(VerifyError::MultipleSignatures {
            count: rest + 1,
            context: " in the document".into(),
        });
    }
    verify_signature(doc, first, trusted, opts)
}

/// Verifies that `element` is signed by a `ds:Signature` that is its direct child and whose
/// reference points to `element` itself.
///
/// # Errors
/// [`VerifyError::NoSignature`] when `element` has no signature child,
/// [`VerifyError::MultipleSignatures`] when it has several, [`VerifyError::WrongElement`] when
/// the signature covers another element, and every error of [`verify_signature`].
pub fn verify_element<'a>(
    element: Element<'a>,
    trusted: &[TrustedKey],
    opts: &VerifyOptions,
) -> Result<Verified<'a>, VerifyError> {
    let mut sigs = element.children_named(DSIG_NS, "Signature");
    let ctx = || format!(" in <{}>", element.qname());
    let sig = sigs.next().ok_or_else(|| VerifyError::NoSignature(ctx()))?;
    let rest = sigs.count();
    if rest > 0 {
        return Err(VerifyError::MultipleSignatures {
            count: rest + 1,
            context: ctx(),
        });
    }
    let v = verify_signature(element.doc, sig, trusted, opts)?;
    if v.element != element {
        return Err(VerifyError::WrongElement {
            signed_id: v.id.to_owned(),
        });
    }
    Ok(v)
}

fn ws_only(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
}

/// The element children of `e` in the XML-DSig structure: rejects non-whitespace text.
fn struct_children<'a>(
    e: Element<'a>,
    name: &'static str,
) -> Result<Vec<Element<'a>>, VerifyError> {
    let mut v = Vec::new();
    for c in e.children() {
        match c.kind() {
            NodeKind::Element(el) => v.push(el),
            NodeKind::Text(t) if !ws_only(t) => return Err(VerifyError::UnexpectedText(name)),
            _ => {}
        }
    }
    Ok(v)
}

fn expect_ds<'a>(
    it: &mut std::iter::Peekable<std::vec::IntoIter<Element<'a>>>,
    parent: &'static str,
    local: &'static str,
) -> Result<Element<'a>, VerifyError> {
    match it.next() {
        Some(e) if e.is(DSIG_NS, local) => Ok(e),
        Some(e) => Err(VerifyError::UnexpectedElement {
            parent,
            found: e.qname(),
        }),
        None => Err(VerifyError::MissingElement {
            parent,
            expected: local,
        }),
    }
}

fn algorithm_attr(e: &Element<'_>, name: &'static str) -> Result<String, VerifyError> {
    e.attr("Algorithm")
        .map(str::to_owned)
        .ok_or(VerifyError::MissingAttribute {
            element: name,
            attribute: "Algorithm",
        })
}

fn decode_b64(text: &str, what: &'static str) -> Result<Vec<u8>, VerifyError> {
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    B64.decode(clean).map_err(|_| VerifyError::Base64(what))
}

struct C14nSpec {
    alg: C14nAlgorithm,
    prefixes: Option<String>,
}

/// Reads a `CanonicalizationMethod` or c14n `Transform` element.
fn c14n_spec(
    e: Element<'_>,
    what: &'static str,
    opts: &VerifyOptions,
) -> Result<C14nSpec, VerifyError> {
    let uri = algorithm_attr(&e, what)?;
    let alg = C14nAlgorithm::from_uri(&uri)
        .filter(|a| a.is_exclusive() || opts.allow_inclusive_c14n)
        .ok_or(VerifyError::AlgorithmNotAllowed {
            what: "canonicalization",
            uri,
        })?;
    let mut prefixes = None;
    for c in struct_children(e, what)? {
        if alg.is_exclusive() && c.is(EXC_C14N_NS, "InclusiveNamespaces") && prefixes.is_none() {
            prefixes = Some(c.attr("PrefixList").unwrap_or_default().to_owned());
        } else {
            return Err(VerifyError::UnexpectedElement {
                parent: what,
                found: c.qname(),
            });
        }
    }
    Ok(C14nSpec { alg, prefixes })
}

fn c14n_options(spec: &C14nSpec, with_comments: bool) -> C14nOptions {
    let alg = if with_comments {
        spec.alg
    } else {
        spec.alg.without_comments()
    };
    let mut o = C14nOptions::new(alg);
    if let Some(p) = &spec.prefixes {
        o = o.with_prefix_list(p);
    }
    o
}

fn digest_alg(uri: String, opts: &VerifyOptions) -> Result<DigestAlgorithm, VerifyError> {
    match DigestAlgorithm::from_uri(&uri) {
        Some(DigestAlgorithm::Sha1) if !opts.insecure_allow_sha1 => {
            Err(VerifyError::Sha1Refused(uri))
        }
        Some(a) => Ok(a),
        None => Err(VerifyError::AlgorithmNotAllowed {
            what: "digest",
            uri,
        }),
    }
}

struct RefInfo<'a> {
    uri: &'a str,
    is_xades: bool,
    transforms: Vec<Element<'a>>,
    digest: DigestAlgorithm,
    value: Vec<u8>,
}

fn read_reference<'a>(r: Element<'a>, opts: &VerifyOptions) -> Result<RefInfo<'a>, VerifyError> {
    let uri = r.attr("URI").ok_or(VerifyError::MissingAttribute {
        element: "Reference",
        attribute: "URI",
    })?;
    let is_xades = r.attr("Type") == Some(XADES_SIGNED_PROPERTIES_TYPE);
    let mut it = struct_children(r, "Reference")?.into_iter().peekable();
    let mut transforms = Vec::new();
    if it.peek().is_some_and(|e| e.is(DSIG_NS, "Transforms"))
        && let Some(ts) = it.next()
    {
        for t in struct_children(ts, "Transforms")? {
            if !t.is(DSIG_NS, "Transform") {
                return Err(VerifyError::UnexpectedElement {
                    parent: "Transforms",
                    found: t.qname(),
                });
            }
            transforms.push(t);
        }
    }
    let dm = expect_ds(&mut it, "Reference", "DigestMethod")?;
    if let Some(c) = struct_children(dm, "DigestMethod")?.first() {
        return Err(VerifyError::UnexpectedElement {
            parent: "DigestMethod",
            found: c.qname(),
        });
    }
    let digest = digest_alg(algorithm_attr(&dm, "DigestMethod")?, opts)?;
    let dv = expect_ds(&mut it, "Reference", "DigestValue")?;
    if let Some(e) = it.next() {
        return Err(VerifyError::UnexpectedElement {
            parent: "Reference",
            found: e.qname(),
        });
    }
    let value = decode_b64(&dv.text(), "DigestValue")?;
    Ok(RefInfo {
        uri,
        is_xades,
        transforms,
        digest,
        value,
    })
}

fn resolve_uri<'a>(doc: &'a Document, uri: &str) -> Result<Element<'a>, VerifyError> {
    let id = uri
        .strip_prefix('#')
        .filter(|i| !i.is_empty() && !i.contains('('))
        .ok_or_else(|| VerifyError::ReferenceUri(uri.to_owned()))?;
    doc.element_by_id(id)
        .ok_or_else(|| VerifyError::ReferenceNotFound(uri.to_owned()))
}

fn check_digest(
    doc: &Document,
    apex: NodeId,
    target: Element<'_>,
    r: &RefInfo<'_>,
    c14n: &C14nOptions,
    buf: &mut Vec<u8>,
) -> Result<(), VerifyError> {
    buf.clear();
    canonicalize(doc, apex, c14n, buf);
    let got = ring::digest::digest(r.digest.ring(), buf);
    if got.as_ref() == r.value.as_slice() {
        Ok(())
    } else {
        Err(VerifyError::DigestMismatch(RefTarget {
            uri: r.uri.to_owned(),
            element: Some(target.qname()),
        }))
    }
}

/// Verifies one `ds:Signature` element (found by the caller, e.g. with
/// [`Document::find_all`]) under the strict rules: exactly one content reference with
/// `URI="#id"` resolving to the signature's parent element (besides it, at most one
/// XAdES `SignedProperties` reference and one reference to the signature's own `KeyInfo`,
/// each with a single c14n transform and its digest checked), transforms exactly
/// enveloped-signature + exclusive C14N (inclusive only if allowed), allowed algorithms only,
/// a trusted key (KeyInfo only selects among `trusted`).
///
/// # Errors
/// [`VerifyError`] saying exactly which rule failed.
pub fn verify_signature<'a>(
    doc: &'a Document,
    signature: Element<'a>,
    trusted: &[TrustedKey],
    opts: &VerifyOptions,
) -> Result<Verified<'a>, VerifyError> {
    if !signature.is(DSIG_NS, "Signature") || !std::ptr::eq(signature.doc, doc) {
        return Err(VerifyError::NotASignature);
    }
    let mut it = struct_children(signature, "Signature")?
        .into_iter()
        .peekable();
    let si = expect_ds(&mut it, "Signature", "SignedInfo")?;
    let sv = expect_ds(&mut it, "Signature", "SignatureValue")?;
    let key_info = if it.peek().is_some_and(|e| e.is(DSIG_NS, "KeyInfo")) {
        it.next()
    } else {
        None
    };
    let mut objects = Vec::new();
    for e in it {
        if e.is(DSIG_NS, "Object") {
            objects.push(e);
        } else {
            return Err(VerifyError::UnexpectedElement {
                parent: "Signature",
                found: e.qname(),
            });
        }
    }

    // SignedInfo.
    let mut sit = struct_children(si, "SignedInfo")?.into_iter().peekable();
    let cm = expect_ds(&mut sit, "SignedInfo", "CanonicalizationMethod")?;
    let si_c14n = c14n_spec(cm, "CanonicalizationMethod", opts)?;
    let sm = expect_ds(&mut sit, "SignedInfo", "SignatureMethod")?;
    if let Some(c) = struct_children(sm, "SignatureMethod")?.first() {
        return Err(VerifyError::UnexpectedElement {
            parent: "SignatureMethod",
            found: c.qname(),
        });
    }
    let sm_uri = algorithm_attr(&sm, "SignatureMethod")?;
    let alg = match SignatureAlgorithm::from_uri(&sm_uri) {
        Some(a) if a.is_sha1() && !opts.insecure_allow_sha1 => {
            return Err(VerifyError::Sha1Refused(sm_uri));
        }
        Some(a) if opts.allowed_signature_algorithms.contains(&a) => a,
        _ => {
            return Err(VerifyError::AlgorithmNotAllowed {
                what: "signature",
                uri: sm_uri,
            });
        }
    };
    let mut refs = Vec::new();
    for r in sit {
        if !r.is(DSIG_NS, "Reference") {
            return Err(VerifyError::UnexpectedElement {
                parent: "SignedInfo",
                found: r.qname(),
            });
        }
        refs.push(read_reference(r, opts)?);
    }
    // A reference that resolves to this signature's own KeyInfo (xmlsec1 and DSS write one to
    // sign the key hint) is neither content nor XAdES; only the first one is taken as such, any
    // other counts as content. An element elsewhere named or identified like it does not count.
    let key_info_ref = key_info.and_then(|ki| {
        refs.iter().position(|r| {
            !r.is_xades
                && r.uri
                    .strip_prefix('#')
                    .filter(|id| !id.is_empty())
                    .and_then(|id| doc.element_by_id(id))
                    == Some(ki)
        })
    });
    let content_refs = refs
        .iter()
        .enumerate()
        .filter(|(i, r)| !r.is_xades && Some(*i) != key_info_ref)
        .count();
    if content_refs != 1 {
        return Err(VerifyError::ReferenceCount {
            found: content_refs,
        });
    }
    let xades_refs = refs.iter().filter(|r| r.is_xades).count();
    if xades_refs > 1 {
        return Err(VerifyError::Xades(format!(
            "{xades_refs} SignedProperties references"
        )));
    }
    if xades_refs == 0 && opts.xades == XadesPolicy::Required {
        return Err(VerifyError::Xades(
            "no SignedProperties reference in SignedInfo".into(),
        ));
    }

    // Signature value with a trusted key.
    let mut buf = Vec::with_capacity(doc.buf.len() + 1024);
    canonicalize(doc, si.id(), &c14n_options(&si_c14n, true), &mut buf);
    let sig_bytes = decode_b64(&sv.text(), "SignatureValue")?;
    // KeyInfo only selects among the trusted keys: first by exact certificate bytes (no
    // parsing), then by public key.
    let key_ders: Vec<Vec<u8>> = match key_info {
        Some(ki) => ki
            .descendants()
            .filter(|e| e.is(DSIG_NS, "X509Certificate"))
            .filter_map(|e| decode_b64(&e.text(), "X509Certificate").ok())
            .collect(),
        None => Vec::new(),
    };
    let mut candidates: Vec<usize> = (0..trusted.len())
        .filter(|&i| trusted[i].fits(alg))
        .collect();
    if candidates.is_empty() {
        return Err(VerifyError::NoUsableKey(alg.uri().into()));
    }
    if !key_ders.is_empty() {
        let mut selected: Vec<usize> = candidates
            .iter()
            .copied()
            .filter(|&i| {
                trusted[i]
                    .certificate()
                    .is_some_and(|c| key_ders.iter().any(|d| d == c.der()))
            })
            .collect();
        if selected.is_empty() {
            let parsed: Vec<Certificate> = key_ders
                .iter()
                .filter_map(|d| Certificate::from_der(d).ok())
                .collect();
            if !parsed.is_empty() {
                selected = candidates
                    .iter()
                    .copied()
                    .filter(|&i| {
                        parsed
                            .iter()
                            .any(|c| c.public_key() == trusted[i].public_key())
                    })
                    .collect();
                if selected.is_empty() && !opts.ignore_untrusted_key_info {
                    return Err(VerifyError::UntrustedKeyInfo);
                }
            }
        }
        if !selected.is_empty() {
            candidates = selected;
        }
    }
    let key_index = candidates
        .iter()
        .copied()
        .find(|&i| {
            trusted[i]
                .public_key()
                .verify(alg, &buf, &sig_bytes)
                .is_ok()
        })
        .ok_or_else(|| {
            VerifyError::SignatureInvalid(match candidates.as_slice() {
                [i] => trusted[*i]
                    .name()
                    .map(|n| format!(" {n:?}"))
                    .unwrap_or_default(),
                _ => format!(" (tried {} keys)", candidates.len()),
            })
        })?;

    // Content reference.
    let cref = refs
        .iter()
        .enumerate()
        .find(|(i, r)| !r.is_xades && Some(*i) != key_info_ref)
        .map(|(_, r)| r)
        .ok_or(VerifyError::ReferenceCount { found: 0 })?;
    let whole = cref.uri.is_empty() && opts.allow_whole_document_reference;
    let target = if whole {
        doc.root()
    } else {
        resolve_uri(doc, cref.uri)?
    };
    let id = cref.uri.get(1..).unwrap_or_default();
    let target_ref = || RefTarget {
        uri: cref.uri.to_owned(),
        element: Some(target.qname()),
    };
    if signature.parent() != Some(target) {
        return Err(VerifyError::NotEnveloped {
            element: target.qname(),
            id: id.to_owned(),
        });
    }
    let ts = &cref.transforms;
    let bad = |detail: &str| VerifyError::Transforms {
        target: target_ref(),
        detail: detail.to_owned(),
    };
    let first = ts
        .first()
        .ok_or_else(|| bad("no transforms (enveloped-signature is required)"))?;
    if algorithm_attr(first, "Transform")? != ENVELOPED_SIGNATURE {
        return Err(bad(&format!(
            "first transform must be enveloped-signature, found {:?}",
            first.attr("Algorithm").unwrap_or_default()
        )));
    }
    if !struct_children(*first, "Transform")?.is_empty() {
        return Err(bad("enveloped-signature transform has content"));
    }
    let ref_c14n = match ts.len() {
        1 if opts.allow_inclusive_c14n => C14nSpec {
            alg: C14nAlgorithm::Inclusive,
            prefixes: None,
        },
        1 => {
            return Err(bad(
                "a canonicalization transform must follow enveloped-signature",
            ));
        }
        2 => c14n_spec(ts[1], "Transform", opts).map_err(|e| match e {
            VerifyError::AlgorithmNotAllowed { uri, .. } => {
                bad(&format!("transform {uri:?} is not allowed"))
            }
            other => other,
        })?,
        n => {
            return Err(bad(&format!(
                "{n} transforms; only enveloped-signature + c14n are allowed"
            )));
        }
    };
    // A bare-name "#id" reference selects a node-set without comments.
    let mut c14n = c14n_options(&ref_c14n, false);
    c14n.exclude = Some(signature.id());
    let apex = if whole { NodeId::DOCUMENT } else { target.id() };
    check_digest(doc, apex, target, cref, &c14n, &mut buf)?;

    // The reference to KeyInfo: one c14n transform (none only when inclusive C14N is allowed).
    if let (Some(i), Some(ki)) = (key_info_ref, key_info) {
        let kr = &refs[i];
        let spec = single_c14n_transform(kr, ki, "KeyInfo", opts)?;
        check_digest(doc, ki.id(), ki, kr, &c14n_options(&spec, false), &mut buf)?;
    }

    // XAdES.
    let xades = match refs.iter().find(|r| r.is_xades) {
        None => None,
        Some(xr) => Some(verify_xades(
            doc,
            signature,
            &objects,
            xr,
            trusted[key_index].certificate(),
            &key_ders,
            &trusted[key_index],
            opts,
            &mut buf,
        )?),
    };

    Ok(Verified {
        element: target,
        signature,
        id,
        key_index,
        algorithm: alg,
        c14n: si_c14n.alg,
        digest: cref.digest,
        xades,
    })
}

/// The transforms of a reference to a part of the signature (`SignedProperties`, `KeyInfo`):
/// exactly one c14n transform, or none (inclusive C14N) when inclusive C14N is allowed.
fn single_c14n_transform(
    r: &RefInfo<'_>,
    target: Element<'_>,
    what: &str,
    opts: &VerifyOptions,
) -> Result<C14nSpec, VerifyError> {
    match r.transforms.as_slice() {
        [] if opts.allow_inclusive_c14n => Ok(C14nSpec {
            alg: C14nAlgorithm::Inclusive,
            prefixes: None,
        }),
        [t] => c14n_spec(*t, "Transform", opts),
        _ => Err(VerifyError::Transforms {
            target: RefTarget {
                uri: r.uri.to_owned(),
                element: Some(target.qname()),
            },
            detail: format!("{what} reference must have exactly one c14n transform"),
        }),
    }
}

#[allow(clippy::too_many_arguments)]
fn verify_xades(
    doc: &Document,
    signature: Element<'_>,
    objects: &[Element<'_>],
    xr: &RefInfo<'_>,
    trusted_cert: Option<&Certificate>,
    key_ders: &[Vec<u8>],
    key: &TrustedKey,
    opts: &VerifyOptions,
    buf: &mut Vec<u8>,
) -> Result<XadesInfo, VerifyError> {
    let x = |m: &str| VerifyError::Xades(m.to_owned());
    let props = resolve_uri(doc, xr.uri)?;
    if !props.is(XADES_NS, "SignedProperties") {
        return Err(x(&format!(
            "reference {:?} does not point to xades:SignedProperties",
            xr.uri
        )));
    }
    if !objects.iter().any(|o| props.is_inside(o)) {
        return Err(x(
            "SignedProperties is not inside a ds:Object of this signature",
        ));
    }
    let spec = single_c14n_transform(xr, props, "SignedProperties", opts)?;
    check_digest(doc, props.id(), props, xr, &c14n_options(&spec, false), buf)?;
    let qp = props
        .parent()
        .filter(|p| p.is(XADES_NS, "QualifyingProperties"))
        .ok_or_else(|| x("SignedProperties is not inside QualifyingProperties"))?;
    // ETSI EN 319 132-1: Target refers to the Id of the signature. Without an Id (which sits
    // outside SignedInfo and can be stripped) the binding cannot be checked: refuse.
    let sid = signature
        .attr("Id")
        .ok_or_else(|| x("ds:Signature has no Id for QualifyingProperties/@Target to point to"))?;
    if qp.attr("Target") != Some(format!("#{sid}").as_str()) {
        return Err(x(
            "QualifyingProperties/@Target does not point to this signature",
        ));
    }
    let ssp = props
        .child(XADES_NS, "SignedSignatureProperties")
        .ok_or_else(|| x("missing SignedSignatureProperties"))?;
    let signing_time = ssp
        .child(XADES_NS, "SigningTime")
        .ok_or_else(|| x("missing SigningTime"))?
        .text();
    let sc = ssp
        .child(XADES_NS, "SigningCertificateV2")
        .or_else(|| ssp.child(XADES_NS, "SigningCertificate"))
        .ok_or_else(|| x("missing SigningCertificateV2"))?;
    // The signing certificate: the trusted one, or the KeyInfo one carrying the trusted key.
    let from_key_info = match trusted_cert {
        Some(_) => None,
        None => key_ders
            .iter()
            .filter_map(|d| Certificate::from_der(d).ok())
            .find(|c| c.public_key() == key.public_key()),
    };
    let cert = trusted_cert.or(from_key_info.as_ref()).ok_or_else(|| {
        x("cannot check SigningCertificateV2: no certificate for the signing key")
    })?;
    let mut matched = None;
    for c in sc.children_named(XADES_NS, "Cert") {
        let cd = c
            .child(XADES_NS, "CertDigest")
            .ok_or_else(|| x("Cert without CertDigest"))?;
        let dm = cd
            .child(DSIG_NS, "DigestMethod")
            .ok_or_else(|| x("CertDigest without DigestMethod"))?;
        let dv = cd
            .child(DSIG_NS, "DigestValue")
            .ok_or_else(|| x("CertDigest without DigestValue"))?;
        let alg = digest_alg(algorithm_attr(&dm, "DigestMethod")?, opts)?;
        if decode_b64(&dv.text(), "DigestValue")? == cert.digest(alg) {
            matched = Some(alg);
            break;
        }
    }
    let cert_digest_algorithm = matched
        .ok_or_else(|| x("SigningCertificateV2 digest does not match the signing certificate"))?;
    Ok(XadesInfo {
        signing_time,
        cert_digest_algorithm,
    })
}
