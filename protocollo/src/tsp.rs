//! RFC 3161 time-stamps: `TimeStampToken` (a CMS SignedData over a `TSTInfo`) verified
//! against TSA trust roots, the CAdES-T signature-time-stamp attribute, `.tsd` files
//! (RFC 5544 `TimeStampedData`) and `.m7m` files (MIME multipart with a `.p7m` and a
//! `.tsr`, the Italian format).

use base64::Engine;
use chrono::{DateTime, Utc};
use der::Decode;
use der::asn1::ObjectIdentifier;
use x509_cert::Certificate;
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::p7m::p7m_cms::{Tlv, children, read};
use crate::p7m::{P7mError, P7mSigner, P7mVerifier, VerifiedP7m, to_chrono};

/// `id-ct-TSTInfo`.
pub const OID_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// `id-aa-signatureTimeStampToken` (CAdES-T).
pub const OID_SIGNATURE_TIME_STAMP: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// `id-ct-timestampedData` (RFC 5544).
pub const OID_TIMESTAMPED_DATA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.31");
const OID_KP_TIME_STAMPING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
const OID_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
const OID_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");

/// A verified time-stamp token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTimeStamp {
    /// The time the TSA vouches for.
    pub gen_time: DateTime<Utc>,
    /// The TSA's policy.
    pub policy: ObjectIdentifier,
    /// The token's serial number (hex).
    pub serial: String,
    /// The digest algorithm of the message imprint.
    pub imprint_algorithm: ObjectIdentifier,
    /// The TSA (its certificate chains to the TSA roots at `gen_time`).
    pub tsa: P7mSigner,
}

impl std::fmt::Display for VerifiedTimeStamp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "time-stamp {} by {} (serial {}, policy {})",
            self.gen_time, self.tsa.subject, self.serial, self.policy
        )
    }
}

/// A time-stamp found on a signer or a file, verified or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct P7mTimeStamp {
    /// The verified token, or why it does not verify (then its time is not used).
    pub result: Result<VerifiedTimeStamp, P7mError>,
}

/// The container of a time-stamped file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeStampedFormat {
    /// RFC 5544 `TimeStampedData` (`.tsd`).
    Tsd,
    /// MIME multipart with a `.p7m` and a `.tsr` (`.m7m`).
    M7m,
}

/// A verified `.tsd` or `.m7m`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedTimeStamped {
    /// Which container.
    pub format: TimeStampedFormat,
    /// The time-stamped data (a `.p7m` usually).
    pub data: Vec<u8>,
    /// The time-stamps over it (the first over the data; RFC 5544 renewals after it).
    pub timestamps: Vec<VerifiedTimeStamp>,
    /// The signed document when the data is a `.p7m`, verified with the time-stamp's time
    /// as the trusted time.
    pub p7m: Option<VerifiedP7m>,
}

impl VerifiedTimeStamped {
    /// The innermost content: the signed document, or the data when it is not signed.
    pub fn content(&self) -> &[u8] {
        self.p7m.as_ref().map_or(&self.data, |v| &v.content)
    }
}

fn ts_err(m: impl Into<String>) -> P7mError {
    P7mError::TimeStamp(m.into())
}

fn digest(oid: &ObjectIdentifier, data: &[u8]) -> Result<Vec<u8>, P7mError> {
    let a = match *oid {
        // SHA-1 imprints are still produced by TSAs for legacy clients; the TSA's own
        // signature is judged with the usual (non-legacy) rules.
        OID_SHA1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        OID_SHA256 => &ring::digest::SHA256,
        OID_SHA384 => &ring::digest::SHA384,
        OID_SHA512 => &ring::digest::SHA512,
        ref o => {
            return Err(P7mError::UnsupportedAlgorithm(format!(
                "imprint digest {o}"
            )));
        }
    };
    Ok(ring::digest::digest(a, data).as_ref().to_vec())
}

/// A `TSTInfo`, read.
struct TstInfo {
    policy: ObjectIdentifier,
    imprint_alg: ObjectIdentifier,
    imprint: Vec<u8>,
    serial: String,
    gen_time: DateTime<Utc>,
}

fn tst_info(der: &[u8]) -> Result<TstInfo, P7mError> {
    let mut pos = 0;
    let top = read(der, &mut pos)?;
    if top.tag != 0x30 || pos != der.len() {
        return Err(ts_err("TSTInfo: not one SEQUENCE"));
    }
    let f = children(top.content)?;
    let get = |i: usize, tag: u8, what: &str| -> Result<Tlv<'_>, P7mError> {
        f.get(i)
            .filter(|t| t.tag == tag)
            .copied()
            .ok_or_else(|| ts_err(format!("TSTInfo: {what} missing or malformed")))
    };
    if get(0, 0x02, "version")?.content != [1] {
        return Err(ts_err("TSTInfo: version is not 1"));
    }
    let policy = ObjectIdentifier::from_der(get(1, 0x06, "policy")?.raw)
        .map_err(|e| ts_err(format!("TSTInfo policy: {e}")))?;
    let mi = children(get(2, 0x30, "messageImprint")?.content)?;
    let (Some(alg), Some(h)) = (mi.first(), mi.get(1).filter(|t| t.tag == 0x04)) else {
        return Err(ts_err("TSTInfo: malformed messageImprint"));
    };
    let imprint_alg = AlgorithmIdentifierOwned::from_der(alg.raw)
        .map_err(|e| ts_err(format!("TSTInfo messageImprint: {e}")))?
        .oid;
    let serial = get(3, 0x02, "serialNumber")?
        .content
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    let gen_time = x509_cert::time::Time::from_der(get(4, 0x18, "genTime")?.raw)
        .map(to_chrono)
        .or_else(|_| {
            // genTime may carry fractions of a second, which the X.509 profile forbids.
            generalized_with_fraction(get(4, 0x18, "genTime")?.content)
        })?;
    Ok(TstInfo {
        policy,
        imprint_alg,
        imprint: h.content.to_vec(),
        serial,
        gen_time,
    })
}

/// `YYYYMMDDHHMMSS[.f+]Z`.
fn generalized_with_fraction(s: &[u8]) -> Result<DateTime<Utc>, P7mError> {
    let s = std::str::from_utf8(s).map_err(|_| ts_err("genTime: not text"))?;
    let t = s
        .strip_suffix('Z')
        .ok_or_else(|| ts_err("genTime: not UTC"))?;
    let (main, frac) = t.split_once('.').unwrap_or((t, ""));
    let dt = chrono::NaiveDateTime::parse_from_str(main, "%Y%m%d%H%M%S")
        .map_err(|_| ts_err(format!("genTime `{s}` malformed")))?;
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ts_err(format!("genTime `{s}` malformed")));
    }
    let nanos: u32 = format!("{frac:0<9}")
        .get(..9)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Ok(dt.and_utc() + chrono::Duration::nanoseconds(i64::from(nanos)))
}

/// The token of a `TimeStampResp` (`.tsr`: status then token) or a bare token.
fn token_of(input: &[u8]) -> Result<&[u8], P7mError> {
    let mut pos = 0;
    let top = read(input, &mut pos)?;
    let f = children(top.content)?;
    match f.first() {
        Some(t) if t.tag == 0x06 => Ok(top.raw),
        Some(status) if status.tag == 0x30 => {
            let st = children(status.content)?;
            let granted = st
                .first()
                .filter(|t| t.tag == 0x02)
                .is_some_and(|t| t.content == [0] || t.content == [1]);
            if !granted {
                return Err(ts_err("the TSA did not grant the time-stamp"));
            }
            f.get(1)
                .map(|t| t.raw)
                .ok_or_else(|| ts_err("TimeStampResp without a token"))
        }
        _ => Err(ts_err("neither a TimeStampToken nor a TimeStampResp")),
    }
}

/// Verifies RFC 3161 time-stamp tokens against TSA trust roots.
#[derive(Debug, Clone)]
pub struct TimeStampVerifier {
    roots: Vec<Certificate>,
    intermediates: Vec<Certificate>,
}

impl TimeStampVerifier {
    /// Trusting these TSA roots (or TSA certificates).
    pub fn new(roots: Vec<Certificate>) -> Self {
        TimeStampVerifier {
            roots,
            intermediates: Vec::new(),
        }
    }

    /// Adds intermediate CA certificates for TSA chains.
    #[must_use]
    pub fn with_intermediates(mut self, certs: Vec<Certificate>) -> Self {
        self.intermediates.extend(certs);
        self
    }

    /// Verifies a token (or a `.tsr` holding one) over `data`: the TSA signature, its
    /// certificate's critical `id-kp-timeStamping` extended key usage, its chain to the
    /// roots at `genTime`, and the message imprint.
    ///
    /// # Errors
    /// [`P7mError::TimeStampImprint`] for a token over other data,
    /// [`P7mError::TsaUsage`] for a certificate that is not a TSA's,
    /// [`P7mError::TimeStampSigner`] when the token's signature or chain fails,
    /// [`P7mError::TimeStamp`] for a malformed token.
    pub fn verify(&self, token: &[u8], data: &[u8]) -> Result<VerifiedTimeStamp, P7mError> {
        let token = token_of(token)?;
        // The TSTInfo first (unverified) for its genTime, at which the TSA is judged.
        let unverified = P7mVerifier::insecure_without_chain_check();
        let (ct, econtent) = unverified.signed_content(token)?;
        if ct != OID_TST_INFO {
            return Err(ts_err(format!("eContentType is {ct}, not id-ct-TSTInfo")));
        }
        let info = tst_info(&econtent)?;
        let verifier = P7mVerifier::new(self.roots.clone())
            .with_intermediates(self.intermediates.clone())
            .at(info.gen_time);
        let (_, signers) = verifier
            .verify_single_layer(token)
            .map_err(|e| P7mError::TimeStampSigner(Box::new(e)))?;
        let [tsa] = <[P7mSigner; 1]>::try_from(signers)
            .map_err(|_| ts_err("a time-stamp token has exactly one signer"))?;
        let cert = Certificate::from_der(&tsa.certificate_der)
            .map_err(|e| ts_err(format!("TSA certificate: {e}")))?;
        check_tsa_usage(&cert)?;
        let actual = digest(&info.imprint_alg, data)?;
        if actual != info.imprint {
            return Err(P7mError::TimeStampImprint);
        }
        Ok(VerifiedTimeStamp {
            gen_time: info.gen_time,
            policy: info.policy,
            serial: info.serial,
            imprint_algorithm: info.imprint_alg,
            tsa,
        })
    }

    /// Verifies a `.tsd` (RFC 5544, DER or base64/PEM) or `.m7m` file: its time-stamps and,
    /// when the data is a `.p7m`, the signatures with `p7m` judged at the first
    /// time-stamp's time.
    ///
    /// # Errors
    /// [`P7mError::TimeStamp`] for a malformed container, the token's errors as by
    /// [`verify`](Self::verify), the `.p7m`'s as by [`P7mVerifier::verify`].
    pub fn verify_timestamped(
        &self,
        input: &[u8],
        p7m: &P7mVerifier,
    ) -> Result<VerifiedTimeStamped, P7mError> {
        let (format, data, mut covered, tokens) = if looks_like_mime(input) {
            let (data, tsr) = m7m_parts(input)?;
            (
                TimeStampedFormat::M7m,
                data.clone(),
                data,
                vec![(tsr, Vec::new())],
            )
        } else {
            let der = crate::p7m::decode_input(input)?;
            let der = crate::ber::to_der(&der).map_err(P7mError::Encoding)?;
            let (data, first, tokens) = tsd_parts(&der)?;
            (TimeStampedFormat::Tsd, data, first, tokens)
        };
        let mut timestamps = Vec::new();
        for (token, element) in tokens {
            timestamps.push(self.verify(&token, &covered)?);
            // A renewal time-stamp covers the previous TimeStampAndCRL (RFC 5544 §4.2).
            covered = element;
        }
        let first = timestamps
            .first()
            .map(|t| t.gen_time)
            .ok_or_else(|| ts_err("no time-stamp"))?;
        let p7m = if crate::p7m::is_signed_data(&data) {
            Some(p7m.verify_at_trusted_time(&data, first)?)
        } else {
            None
        };
        Ok(VerifiedTimeStamped {
            format,
            data,
            timestamps,
            p7m,
        })
    }
}

/// RFC 3161 §2.3: the TSA certificate has exactly one extended key usage, id-kp-timeStamping,
/// in a critical extension.
fn check_tsa_usage(cert: &Certificate) -> Result<(), P7mError> {
    let subject = cert.tbs_certificate.subject.to_string();
    let bad = |why: &'static str| P7mError::TsaUsage {
        subject: subject.clone(),
        why,
    };
    let ext = cert
        .tbs_certificate
        .extensions
        .as_ref()
        .and_then(|exts| exts.iter().find(|e| e.extn_id == OID_EKU))
        .ok_or_else(|| bad("no extended key usage"))?;
    if !ext.critical {
        return Err(bad("the extended key usage is not critical"));
    }
    let eku = ExtendedKeyUsage::from_der(ext.extn_value.as_bytes())
        .map_err(|_| bad("malformed extended key usage"))?;
    if eku.0 != [OID_KP_TIME_STAMPING] {
        return Err(bad(
            "the extended key usage is not id-kp-timeStamping alone",
        ));
    }
    Ok(())
}

/// Each token with the encoding of its TimeStampAndCRL (what a renewal covers).
type Tokens = Vec<(Vec<u8>, Vec<u8>)>;

/// `.tsd`: ContentInfo { id-ct-timestampedData, TimeStampedData }. Returns the content, the
/// bytes the first token covers, and the tokens.
fn tsd_parts(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>, Tokens), P7mError> {
    let (ct, inner) = crate::p7m::p7m_cms::content_info(der)?;
    if ct != OID_TIMESTAMPED_DATA {
        return Err(ts_err(format!(
            "content type {ct} is not id-ct-timestampedData"
        )));
    }
    let f = children(inner.content)?;
    let mut it = f.iter().peekable();
    if it.next().filter(|t| t.tag == 0x02).map(|t| t.content) != Some(&[1]) {
        return Err(ts_err("TimeStampedData: version is not 1"));
    }
    let _data_uri = it.next_if(|t| t.tag == 0x16);
    let mut meta_der = None;
    if let Some(meta) = it.next_if(|t| t.tag == 0x30) {
        let m = children(meta.content)?;
        let hash_protected = m
            .first()
            .filter(|t| t.tag == 0x01)
            .ok_or_else(|| ts_err("MetaData: no hashProtected"))?
            .content
            .first()
            .is_some_and(|b| *b != 0);
        if hash_protected {
            meta_der = Some(meta.raw.to_vec());
        }
    }
    let content = it
        .next_if(|t| t.tag == 0x04)
        .map(|t| t.content.to_vec())
        .ok_or_else(|| ts_err("TimeStampedData without content (detached data not supported)"))?;
    let evidence = it
        .next()
        .filter(|t| t.tag == 0xa0)
        .ok_or_else(|| ts_err("TimeStampedData: no time-stamp token evidence"))?;
    if it.next().is_some() {
        return Err(ts_err("TimeStampedData: unexpected field"));
    }
    let mut tokens = Vec::new();
    for ts_and_crl in children(evidence.content)? {
        let parts = children(ts_and_crl.content)?;
        let token = parts
            .first()
            .filter(|t| t.tag == 0x30)
            .ok_or_else(|| ts_err("TimeStampAndCRL: no token"))?;
        tokens.push((token.raw.to_vec(), ts_and_crl.raw.to_vec()));
    }
    if tokens.is_empty() {
        return Err(ts_err("TimeStampedData: no time-stamp"));
    }
    // hashProtected: the first imprint is over the MetaData's DER then the content.
    let first_covered = match meta_der {
        Some(mut m) => {
            m.extend_from_slice(&content);
            m
        }
        None => content.clone(),
    };
    Ok((content, first_covered, tokens))
}

fn looks_like_mime(input: &[u8]) -> bool {
    let head = &input[..input.len().min(4096)];
    let text = String::from_utf8_lossy(head).to_ascii_lowercase();
    text.contains("content-type:") && text.contains("multipart/")
}

fn header_value<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Unfolds MIME header continuation lines.
fn unfold(h: &str) -> String {
    h.replace("\r\n", "\n")
        .replace("\n ", " ")
        .replace("\n\t", " ")
}

/// `.m7m`: the `.p7m` part and the `.tsr` part of a MIME multipart.
fn m7m_parts(input: &[u8]) -> Result<(Vec<u8>, Vec<u8>), P7mError> {
    let text = String::from_utf8_lossy(input).into_owned();
    let split = |s: &str| -> Option<(String, String)> {
        let s = s.replace("\r\n", "\n");
        let (h, b) = s.split_once("\n\n")?;
        Some((unfold(h), b.to_owned()))
    };
    let (headers, body) = split(&text).ok_or_else(|| ts_err("m7m: no MIME header"))?;
    let ct =
        header_value(&headers, "content-type").ok_or_else(|| ts_err("m7m: no Content-Type"))?;
    let boundary = ct
        .split(';')
        .find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("boundary")
                .then(|| v.trim().trim_matches('"').to_owned())
        })
        .ok_or_else(|| ts_err("m7m: no multipart boundary"))?;
    let delim = format!("--{boundary}");
    let (mut p7m, mut tsr) = (None, None);
    for part in body.split(&delim).skip(1) {
        if part.starts_with("--") {
            break;
        }
        let part = part.trim_start_matches(['\r', '\n']);
        let Some((h, b)) = split(part) else { continue };
        let ctype = header_value(&h, "content-type")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let cte = header_value(&h, "content-transfer-encoding")
            .unwrap_or("7bit")
            .to_ascii_lowercase();
        if cte != "base64" {
            return Err(ts_err(format!("m7m: part encoding {cte} not supported")));
        }
        let clean: String = b.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(clean)
            .map_err(|_| ts_err("m7m: a part is not base64"))?;
        if ctype.contains("timestamp-reply") || ctype.contains("timestamp-token") {
            tsr = Some(bytes);
        } else if ctype.contains("pkcs7-mime") || ctype.contains("x-pkcs7") {
            p7m = Some(bytes);
        } else if token_of(&bytes).is_ok() && !crate::p7m::is_signed_data(&bytes) {
            tsr = Some(bytes);
        } else {
            p7m = Some(bytes);
        }
    }
    match (p7m, tsr) {
        (Some(p), Some(t)) => Ok((p, t)),
        _ => Err(ts_err(
            "m7m: a .p7m part and a time-stamp part are required",
        )),
    }
}

/// The signature-time-stamp tokens of a signer's unsigned attributes, each verified over
/// `signature` (the signer's signature value).
pub(crate) fn signature_time_stamps(
    tokens: &[&[u8]],
    signature: &[u8],
    tsa: Option<&TimeStampVerifier>,
) -> Vec<P7mTimeStamp> {
    tokens
        .iter()
        .map(|t| P7mTimeStamp {
            result: match tsa {
                Some(v) => v.verify(t, signature),
                None => Err(ts_err("not checked: no TSA trust roots given")),
            },
        })
        .collect()
}

/// Whether `input` looks like a `.tsd` (RFC 5544) or `.m7m` file rather than a `.p7m`.
pub fn is_timestamped(input: &[u8]) -> bool {
    looks_like_mime(input)
        || crate::p7m::decode_input(input).is_ok_and(|der| {
            crate::ber::to_der(&der).is_ok_and(|n| {
                crate::p7m::p7m_cms::content_info(&n)
                    .is_ok_and(|(ct, _)| ct == OID_TIMESTAMPED_DATA)
            })
        })
}
