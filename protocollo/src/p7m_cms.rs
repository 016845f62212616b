//! A tolerant reader of CMS SignedData (RFC 5652) as real signers write it.
//!
//! The `cms` crate's DER decoder refuses what X.690 BER and RFC 5652 allow and what signing
//! software in the field produces: duplicate members of a SET OF (the same digest algorithm
//! listed twice in `digestAlgorithms` by multi-signer tools), SET OF members out of DER order,
//! `RevocationInfoChoice` forms other than a CRL (`[1] other`, e.g. an OCSP response,
//! RFC 5940), version-1 CRLs. This reader walks the structure field by field after BER
//! normalization ([`crate::ber`]) and decodes with the typed decoders only the parts that are
//! checked (certificates, algorithm identifiers, signer identifiers).
//!
//! What is signed is still checked exactly: the signed attributes are digested as the DER
//! encoding of a SET OF (RFC 5652 §5.4: "the DER encoding of the SignedAttrs value" with the
//! EXPLICIT SET OF tag), i.e. every member as received, sorted by encoding, duplicates kept.

use cms::signed_data::SignerIdentifier;
use der::Decode;
use der::asn1::ObjectIdentifier;
use x509_cert::Certificate;
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::p7m::{P7mError, RevocationInfo};

/// One DER element: its first tag byte, its content and its whole encoding.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) content: &'a [u8],
    pub(crate) raw: &'a [u8],
}

fn enc(what: &str) -> P7mError {
    P7mError::Encoding(what.to_owned())
}

/// Reads one definite-length element with a one-byte tag.
pub(crate) fn read<'a>(input: &'a [u8], pos: &mut usize) -> Result<Tlv<'a>, P7mError> {
    let start = *pos;
    let tag = *input.get(start).ok_or_else(|| enc("truncated element"))?;
    if tag & 0x1f == 0x1f {
        return Err(enc("multi-byte tags are not used by CMS"));
    }
    let l = *input
        .get(start + 1)
        .ok_or_else(|| enc("truncated length"))?;
    let mut p = start + 2;
    let len = if l < 0x80 {
        usize::from(l)
    } else if l == 0x80 {
        return Err(enc("indefinite length after normalization"));
    } else {
        let n = usize::from(l & 0x7f);
        if n > 4 {
            return Err(enc("length too long"));
        }
        let mut v = 0usize;
        for _ in 0..n {
            let b = *input.get(p).ok_or_else(|| enc("truncated length"))?;
            v = (v << 8) | usize::from(b);
            p += 1;
        }
        v
    };
    let end = p
        .checked_add(len)
        .filter(|e| *e <= input.len())
        .ok_or_else(|| enc("element overruns its container"))?;
    *pos = end;
    Ok(Tlv {
        tag,
        content: &input[p..end],
        raw: &input[start..end],
    })
}

/// The elements inside a constructed content.
pub(crate) fn children(content: &[u8]) -> Result<Vec<Tlv<'_>>, P7mError> {
    let mut pos = 0;
    let mut out = Vec::new();
    while pos < content.len() {
        out.push(read(content, &mut pos)?);
    }
    Ok(out)
}

fn expect<'a>(t: Option<&Tlv<'a>>, tag: u8, what: &str) -> Result<Tlv<'a>, P7mError> {
    match t {
        Some(t) if t.tag == tag => Ok(*t),
        _ => Err(P7mError::Encoding(format!(
            "{what}: expected tag {tag:#04x}"
        ))),
    }
}

fn oid(t: &Tlv<'_>, what: &str) -> Result<ObjectIdentifier, P7mError> {
    ObjectIdentifier::from_der(t.raw).map_err(|e| P7mError::Encoding(format!("{what}: {e}")))
}

fn alg_id(t: &Tlv<'_>, what: &str) -> Result<AlgorithmIdentifierOwned, P7mError> {
    AlgorithmIdentifierOwned::from_der(t.raw)
        .map_err(|e| P7mError::Encoding(format!("{what}: {e}")))
}

/// An attribute: its type and its values (raw).
#[derive(Debug, Clone)]
pub(crate) struct Attr<'a> {
    pub(crate) oid: ObjectIdentifier,
    pub(crate) values: Vec<Tlv<'a>>,
    /// The same values, decoded.
    pub(crate) any: Vec<der::Any>,
}

fn attributes<'a>(content: &'a [u8], what: &str) -> Result<Vec<Attr<'a>>, P7mError> {
    children(content)?
        .iter()
        .map(|a| {
            let parts = children(expect(Some(a), 0x30, what)?.content)?;
            if parts.len() != 2 {
                return Err(P7mError::Encoding(format!("{what}: malformed attribute")));
            }
            let oid = oid(&parts[0], what)?;
            let values = children(expect(parts.get(1), 0x31, what)?.content)?;
            let any = values
                .iter()
                .map(|v| der::Any::from_der(v.raw))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| P7mError::Encoding(format!("{what}: {e}")))?;
            Ok(Attr { oid, values, any })
        })
        .collect()
}

/// A SignerInfo, read without re-encoding.
#[derive(Debug, Clone)]
pub(crate) struct SignerInfoRef<'a> {
    pub(crate) sid: SignerIdentifier,
    pub(crate) digest_alg: AlgorithmIdentifierOwned,
    pub(crate) signed_attrs: Option<Vec<Attr<'a>>>,
    /// `SET OF` tag + the members as received, sorted by encoding (duplicates kept): the bytes
    /// the signature covers (RFC 5652 §5.4).
    pub(crate) signed_attrs_der: Option<Vec<u8>>,
    pub(crate) signature_alg: AlgorithmIdentifierOwned,
    pub(crate) signature: &'a [u8],
    pub(crate) unsigned_attrs: Vec<Attr<'a>>,
}

/// The DER encoding of a SET OF with these members (X.690 §11.6: ascending order of the
/// encodings; equal members stay, they are not merged).
pub(crate) fn der_set_of(members: &[&[u8]]) -> Vec<u8> {
    let mut sorted: Vec<&[u8]> = members.to_vec();
    sorted.sort();
    let body: Vec<u8> = sorted.concat();
    let mut out = vec![0x31];
    push_len(&mut out, body.len());
    out.extend_from_slice(&body);
    out
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

pub(crate) fn signer_info<'a>(t: &Tlv<'a>) -> Result<SignerInfoRef<'a>, P7mError> {
    const W: &str = "SignerInfo";
    let f = children(expect(Some(t), 0x30, W)?.content)?;
    let mut it = f.iter().peekable();
    expect(it.next(), 0x02, "SignerInfo version")?;
    let sid_t = it.next().ok_or_else(|| enc("SignerInfo: no sid"))?;
    let sid = SignerIdentifier::from_der(sid_t.raw)
        .map_err(|e| P7mError::Encoding(format!("SignerInfo sid: {e}")))?;
    let digest_alg = alg_id(&expect(it.next(), 0x30, W)?, "digestAlgorithm")?;
    let (mut signed_attrs, mut signed_attrs_der) = (None, None);
    if let Some(sa) = it.next_if(|t| t.tag == 0xa0) {
        let attrs = attributes(sa.content, "signedAttrs")?;
        let members = children(sa.content)?;
        let raws: Vec<&[u8]> = members.iter().map(|m| m.raw).collect();
        signed_attrs_der = Some(der_set_of(&raws));
        signed_attrs = Some(attrs);
    }
    let signature_alg = alg_id(&expect(it.next(), 0x30, W)?, "signatureAlgorithm")?;
    let signature = expect(it.next(), 0x04, "signature")?.content;
    let unsigned_attrs = match it.next_if(|t| t.tag == 0xa1) {
        Some(ua) => attributes(ua.content, "unsignedAttrs")?,
        None => Vec::new(),
    };
    if it.next().is_some() {
        return Err(enc("SignerInfo: unexpected trailing field"));
    }
    Ok(SignerInfoRef {
        sid,
        digest_alg,
        signed_attrs,
        signed_attrs_der,
        signature_alg,
        signature,
        unsigned_attrs,
    })
}

/// A SignedData as found.
#[derive(Debug, Clone)]
pub(crate) struct SignedDataRef<'a> {
    pub(crate) econtent_type: ObjectIdentifier,
    pub(crate) econtent: Option<&'a [u8]>,
    /// Certificates with their encoding as found (the signing-certificate hash is over it).
    pub(crate) certificates: Vec<(Certificate, Vec<u8>)>,
    pub(crate) revocation_info: Vec<RevocationInfo>,
    pub(crate) signer_infos: Vec<SignerInfoRef<'a>>,
}

/// Reads a ContentInfo { contentType, [0] EXPLICIT content } from normalized DER.
pub(crate) fn content_info(der: &[u8]) -> Result<(ObjectIdentifier, Tlv<'_>), P7mError> {
    let mut pos = 0;
    let top = read(der, &mut pos)?;
    if pos != der.len() {
        return Err(enc("trailing data after the ContentInfo"));
    }
    let f = children(expect(Some(&top), 0x30, "ContentInfo")?.content)?;
    let ct = oid(&expect(f.first(), 0x06, "ContentInfo")?, "contentType")?;
    let explicit = expect(f.get(1), 0xa0, "ContentInfo content")?;
    let inner = children(explicit.content)?;
    if inner.len() != 1 || f.len() != 2 {
        return Err(enc("ContentInfo: malformed content"));
    }
    Ok((ct, inner[0]))
}

pub(crate) fn signed_data<'a>(t: &Tlv<'a>) -> Result<SignedDataRef<'a>, P7mError> {
    let f = children(expect(Some(t), 0x30, "SignedData")?.content)?;
    let mut it = f.iter().peekable();
    expect(it.next(), 0x02, "SignedData version")?;
    // digestAlgorithms: a SET OF whose members may repeat (several signers with the same
    // digest); only their form is checked, each signer names its own digest.
    for a in children(expect(it.next(), 0x31, "digestAlgorithms")?.content)? {
        alg_id(&a, "digestAlgorithms")?;
    }
    let eci = children(expect(it.next(), 0x30, "encapContentInfo")?.content)?;
    let econtent_type = oid(&expect(eci.first(), 0x06, "eContentType")?, "eContentType")?;
    let econtent = match eci.get(1) {
        None => None,
        Some(e) => {
            let e = expect(Some(e), 0xa0, "eContent")?;
            let inner = children(e.content)?;
            match inner.as_slice() {
                [os] if os.tag == 0x04 => Some(os.content),
                _ => return Err(enc("eContent: not one OCTET STRING")),
            }
        }
    };
    if eci.len() > 2 {
        return Err(enc("encapContentInfo: unexpected field"));
    }
    let mut certificates = Vec::new();
    if let Some(c) = it.next_if(|t| t.tag == 0xa0) {
        for (n, cert) in children(c.content)?.iter().enumerate() {
            // Only the `certificate` choice is used; attribute and other certificates
            // ([1], [2], [3]) are skipped.
            if cert.tag == 0x30 {
                let parsed = Certificate::from_der(cert.raw)
                    .map_err(|e| P7mError::Encoding(format!("certificate {n}: {e}")))?;
                certificates.push((parsed, cert.raw.to_vec()));
            }
        }
    }
    let mut revocation_info = Vec::new();
    if let Some(c) = it.next_if(|t| t.tag == 0xa1) {
        for (n, r) in children(c.content)?.iter().enumerate() {
            revocation_info.push(revocation(r).map_err(|e| match e {
                P7mError::Encoding(m) => P7mError::Encoding(format!("crls item {n}: {m}")),
                e => e,
            })?);
        }
    }
    let signer_infos = children(expect(it.next(), 0x31, "signerInfos")?.content)?
        .iter()
        .map(signer_info)
        .collect::<Result<Vec<_>, _>>()?;
    if it.next().is_some() {
        return Err(enc("SignedData: unexpected trailing field"));
    }
    Ok(SignedDataRef {
        econtent_type,
        econtent,
        certificates,
        revocation_info,
        signer_infos,
    })
}

/// One `RevocationInfoChoice`: a CRL (v1 or v2, RFC 5280 §5.1) or `[1] other`
/// (`OtherRevocationInfoFormat`, e.g. `id-ri-ocsp-response`, RFC 5940).
fn revocation(t: &Tlv<'_>) -> Result<RevocationInfo, P7mError> {
    match t.tag {
        0x30 => {
            let f = children(t.content)?;
            let tbs = children(expect(f.first(), 0x30, "tbsCertList")?.content)?;
            expect(f.get(1), 0x30, "CRL signatureAlgorithm")?;
            expect(f.get(2), 0x03, "CRL signature")?;
            let mut it = tbs.iter().peekable();
            // version is OPTIONAL: absent means v1 (RFC 5280 §5.1.2.1).
            let version = match it.next_if(|t| t.tag == 0x02) {
                Some(v) => match v.content {
                    [1] => 2,
                    _ => return Err(enc("CRL version is not v2")),
                },
                None => 1,
            };
            expect(it.next(), 0x30, "CRL signature algorithm")?;
            let issuer = expect(it.next(), 0x30, "CRL issuer")?;
            let issuer = x509_cert::name::Name::from_der(issuer.raw)
                .map_err(|e| P7mError::Encoding(format!("CRL issuer: {e}")))?;
            let this_update = it.next().ok_or_else(|| enc("CRL thisUpdate missing"))?;
            let this_update = x509_cert::time::Time::from_der(this_update.raw)
                .map_err(|e| P7mError::Encoding(format!("CRL thisUpdate: {e}")))?;
            Ok(RevocationInfo::Crl {
                issuer: issuer.to_string(),
                version,
                this_update: crate::p7m::to_chrono(this_update),
                der: t.raw.to_vec(),
            })
        }
        0xa1 => {
            let f = children(t.content)?;
            let format = oid(&expect(f.first(), 0x06, "otherRevInfoFormat")?, "other")?;
            if f.len() != 2 {
                return Err(enc("OtherRevocationInfoFormat: malformed"));
            }
            Ok(RevocationInfo::Other {
                format,
                info_der: f[1].raw.to_vec(),
            })
        }
        _ => Err(P7mError::Encoding(format!(
            "unknown RevocationInfoChoice tag {:#04x}",
            t.tag
        ))),
    }
}
