//! Revocation checking of signer certificates: CRLs (RFC 5280 §5, given as files, carried in
//! the signature or fetched from the certificate's distribution point) and OCSP (RFC 6960,
//! with a nonce, RFC 8954), through an injectable [`RevocationFetcher`].
//!
//! Each certificate of a signer's chain but the trust anchor is checked against the sources
//! in this order, the first that decides winning: OCSP responses embedded in the signature
//! (CAdES-LT, `[1] other` with `id-ri-ocsp-response`), CRLs embedded in it, the CRLs given in
//! [`RevocationOptions::crls`], an OCSP request to the responder of the certificate's
//! authority information access (or [`RevocationOptions::ocsp_url`]), a CRL fetched from its
//! CRL distribution point. A source whose answer does not verify (signature, issuer,
//! freshness, nonce, certificate identifier) does not decide; the reasons are reported.
//!
//! Freshness, for a certificate judged at time `T` (a verified time-stamp, else the
//! verification time `now`): the information must not be from the future (`thisUpdate <= now
//! + skew`) and must cover `T` (`nextUpdate >= T - skew`, or, without `nextUpdate`,
//! `thisUpdate >= T - max_age`). A certificate revoked at or before `T` fails the signature;
//! one revoked after `T` is reported as such and accepted.
//!
//! OCSP responder certificates (the issuing CA itself, or a delegated responder with
//! `id-kp-OCSPSigning` issued by the same CA) are not themselves checked for revocation
//! (RFC 6960 §4.2.2.2.1 lets CAs mark them `id-pkix-ocsp-nocheck`).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use der::asn1::ObjectIdentifier;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{AuthorityInfoAccessSyntax, CrlDistributionPoints, ExtendedKeyUsage};
use x509_cert::spki::AlgorithmIdentifierOwned;

use crate::p7m::p7m_cms::{Tlv, children, read};
use crate::p7m::{P7mError, to_chrono};

const OID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const OID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
const OID_OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
const OID_OCSP_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");
const OID_AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
const OID_AIA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.1");
const OID_CRL_DP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.31");
const OID_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const OID_KP_OCSP_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");
const OID_CRL_REASON: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.21");
const OID_CRL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.20");
const OID_AKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
const OID_IDP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.28");
const OID_INVALIDITY_DATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.24");

/// Fetches revocation information over the network (injectable for tests and for callers
/// with their own HTTP stack or cache).
pub trait RevocationFetcher: Send + Sync + std::fmt::Debug {
    /// `GET url` (a CRL).
    ///
    /// # Errors
    /// A description of the failure (unreachable, status, too large).
    fn get(&self, url: &str) -> Result<Vec<u8>, String>;
    /// `POST url` with `body` of `content_type` (an OCSP request).
    ///
    /// # Errors
    /// As [`get`](Self::get).
    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String>;
}

/// A small HTTP/1.0 client for `http://` URLs (OCSP responders and CRL distribution points
/// are plain HTTP by convention: what they serve is signed), with a deadline per request and
/// a bound on the answer's size.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    /// Deadline for connecting, sending and reading the whole answer.
    pub timeout: Duration,
    /// Largest answer body accepted.
    pub max_bytes: usize,
}

impl Default for HttpFetcher {
    /// 10 s, 16 MiB.
    fn default() -> Self {
        HttpFetcher {
            timeout: Duration::from_secs(10),
            max_bytes: 16 << 20,
        }
    }
}

impl HttpFetcher {
    fn request(
        &self,
        method: &str,
        url: &str,
        extra: &str,
        body: &[u8],
    ) -> Result<Vec<u8>, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url}: only http:// URLs are fetched"))?;
        let (hostport, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if hostport.is_empty() || hostport.contains('@') {
            return Err(format!("{url}: malformed URL"));
        }
        let with_port = if hostport
            .rsplit_once(':')
            .is_some_and(|(_, p)| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            && !hostport.ends_with(']')
        {
            hostport.to_owned()
        } else {
            format!("{hostport}:80")
        };
        let start = Instant::now();
        let addrs: Vec<_> = with_port
            .to_socket_addrs()
            .map_err(|e| format!("{url}: {e}"))?
            .collect();
        let mut last = format!("{url}: no address");
        let mut stream = None;
        for a in addrs {
            match TcpStream::connect_timeout(&a, self.timeout) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = format!("{url}: {e}"),
            }
        }
        let mut s = stream.ok_or(last)?;
        let left = |start: Instant| {
            self.timeout
                .checked_sub(start.elapsed())
                .filter(|d| !d.is_zero())
                .ok_or_else(|| format!("{url}: timed out"))
        };
        s.set_write_timeout(Some(left(start)?))
            .map_err(|e| e.to_string())?;
        let head = format!(
            "{method} {path} HTTP/1.0\r\nHost: {hostport}\r\nConnection: close\r\n{extra}Content-Length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes())
            .and_then(|()| s.write_all(body))
            .map_err(|e| format!("{url}: {e}"))?;
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        let limit = self.max_bytes.saturating_add(64 * 1024);
        loop {
            s.set_read_timeout(Some(left(start)?))
                .map_err(|e| e.to_string())?;
            match s.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    if buf.len() > limit {
                        return Err(format!(
                            "{url}: answer larger than {} bytes",
                            self.max_bytes
                        ));
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("{url}: {e}")),
            }
        }
        let end = buf
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| format!("{url}: malformed HTTP answer"))?;
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines.next().unwrap_or_default();
        let code = status.split_whitespace().nth(1).unwrap_or_default();
        if code != "200" {
            return Err(format!("{url}: HTTP status `{status}`"));
        }
        let mut length = None;
        for l in lines {
            let Some((k, v)) = l.split_once(':') else {
                continue;
            };
            let (k, v) = (k.trim().to_ascii_lowercase(), v.trim());
            if k == "transfer-encoding" && !v.eq_ignore_ascii_case("identity") {
                return Err(format!("{url}: transfer-encoding {v} not supported"));
            }
            if k == "content-length" {
                length = Some(
                    v.parse::<usize>()
                        .map_err(|_| format!("{url}: bad Content-Length"))?,
                );
            }
        }
        let body = &buf[end + 4..];
        if body.len() > self.max_bytes {
            return Err(format!(
                "{url}: answer larger than {} bytes",
                self.max_bytes
            ));
        }
        match length {
            Some(n) if n != body.len() => Err(format!(
                "{url}: answer truncated ({} of {n} bytes)",
                body.len()
            )),
            _ => Ok(body.to_vec()),
        }
    }
}

impl RevocationFetcher for HttpFetcher {
    fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        self.request("GET", url, "", &[])
    }

    fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, String> {
        self.request(
            "POST",
            url,
            &format!("Content-Type: {content_type}\r\n"),
            body,
        )
    }
}

/// The hash of an OCSP request's `CertID`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OcspHash {
    /// SHA-1 (what most responders expect; RFC 5019).
    #[default]
    Sha1,
    /// SHA-256.
    Sha256,
}

/// How revocation is checked.
///
/// Each certificate of a signer's chain but the trust anchor is checked against these
/// sources, the first that decides winning: OCSP responses embedded in the signature, CRLs
/// embedded in it, [`crls`](Self::crls), the OCSP responder ([`ocsp`](Self::ocsp)), the CRL
/// of its distribution point ([`fetch_crls`](Self::fetch_crls)). An answer whose signature,
/// issuer, freshness, nonce or certificate identifier does not verify does not decide. A
/// certificate is judged now: information must not be from the future and must cover now
/// (`nextUpdate`, or `thisUpdate` within [`max_age`](Self::max_age)), both with
/// [`skew`](Self::skew).
#[derive(Debug, Clone)]
pub struct RevocationOptions {
    /// CRLs given by the caller (DER or PEM `X509 CRL`).
    pub crls: Vec<Vec<u8>>,
    /// Use the revocation values carried in the signature (default true).
    pub use_embedded: bool,
    /// Ask the OCSP responder (AIA, or [`ocsp_url`](Self::ocsp_url)).
    pub ocsp: bool,
    /// OCSP responder used instead of the certificates' AIA.
    pub ocsp_url: Option<String>,
    /// The `CertID` hash of OCSP requests.
    pub ocsp_hash: OcspHash,
    /// Fetch CRLs from the certificates' CRL distribution points.
    pub fetch_crls: bool,
    /// Accept a certificate whose status no source decided (reported as
    /// [`RevocationStatus::Unknown`]); by default its signature fails.
    pub soft_fail: bool,
    /// Clock skew tolerated on `thisUpdate` / `nextUpdate` (default 5 minutes).
    pub skew: chrono::Duration,
    /// How old information without `nextUpdate` may be (default 1 day).
    pub max_age: chrono::Duration,
    /// The network access for OCSP and CRL fetching (default [`HttpFetcher`]).
    pub fetcher: Arc<dyn RevocationFetcher>,
}

impl Default for RevocationOptions {
    /// Embedded values only, fail closed.
    fn default() -> Self {
        RevocationOptions {
            crls: Vec::new(),
            use_embedded: true,
            ocsp: false,
            ocsp_url: None,
            ocsp_hash: OcspHash::Sha1,
            fetch_crls: false,
            soft_fail: false,
            skew: chrono::Duration::minutes(5),
            max_age: chrono::Duration::days(1),
            fetcher: Arc::new(HttpFetcher::default()),
        }
    }
}

/// `CRLReason` (RFC 5280 §5.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CrlReason {
    /// 0
    Unspecified,
    /// 1
    KeyCompromise,
    /// 2
    CaCompromise,
    /// 3
    AffiliationChanged,
    /// 4
    Superseded,
    /// 5
    CessationOfOperation,
    /// 6
    CertificateHold,
    /// 8
    RemoveFromCrl,
    /// 9
    PrivilegeWithdrawn,
    /// 10
    AaCompromise,
    /// Another value.
    Other(u8),
}

impl CrlReason {
    fn from_code(c: u8) -> Self {
        match c {
            0 => CrlReason::Unspecified,
            1 => CrlReason::KeyCompromise,
            2 => CrlReason::CaCompromise,
            3 => CrlReason::AffiliationChanged,
            4 => CrlReason::Superseded,
            5 => CrlReason::CessationOfOperation,
            6 => CrlReason::CertificateHold,
            8 => CrlReason::RemoveFromCrl,
            9 => CrlReason::PrivilegeWithdrawn,
            10 => CrlReason::AaCompromise,
            c => CrlReason::Other(c),
        }
    }
}

impl std::fmt::Display for CrlReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CrlReason::Unspecified => f.write_str("unspecified"),
            CrlReason::KeyCompromise => f.write_str("keyCompromise"),
            CrlReason::CaCompromise => f.write_str("cACompromise"),
            CrlReason::AffiliationChanged => f.write_str("affiliationChanged"),
            CrlReason::Superseded => f.write_str("superseded"),
            CrlReason::CessationOfOperation => f.write_str("cessationOfOperation"),
            CrlReason::CertificateHold => f.write_str("certificateHold"),
            CrlReason::RemoveFromCrl => f.write_str("removeFromCRL"),
            CrlReason::PrivilegeWithdrawn => f.write_str("privilegeWithdrawn"),
            CrlReason::AaCompromise => f.write_str("aACompromise"),
            CrlReason::Other(c) => write!(f, "reason {c}"),
        }
    }
}

/// Where a certificate's revocation status came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationSource {
    /// An OCSP response carried in the signature.
    EmbeddedOcsp,
    /// A CRL carried in the signature.
    EmbeddedCrl,
    /// [`RevocationOptions::crls`], by index.
    GivenCrl(usize),
    /// An OCSP responder asked now.
    Ocsp(String),
    /// A CRL fetched now from this distribution point.
    FetchedCrl(String),
}

impl std::fmt::Display for RevocationSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RevocationSource::EmbeddedOcsp => f.write_str("embedded OCSP response"),
            RevocationSource::EmbeddedCrl => f.write_str("embedded CRL"),
            RevocationSource::GivenCrl(i) => write!(f, "given CRL #{}", i + 1),
            RevocationSource::Ocsp(u) => write!(f, "OCSP {u}"),
            RevocationSource::FetchedCrl(u) => write!(f, "CRL {u}"),
        }
    }
}

/// A certificate's revocation status at the time it was judged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RevocationStatus {
    /// Not revoked.
    Good,
    /// Revoked after the time it was judged at (a signature made before is valid).
    RevokedLater {
        /// When.
        time: DateTime<Utc>,
        /// Why, when given.
        reason: Option<CrlReason>,
    },
    /// No source decided (accepted only with [`RevocationOptions::soft_fail`]).
    Unknown,
}

/// The revocation check of one certificate of a signer's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertRevocation {
    /// The certificate's subject (RFC 4514).
    pub subject: String,
    /// Its serial number (hex).
    pub serial: String,
    /// The status.
    pub status: RevocationStatus,
    /// The source that decided (None when [`RevocationStatus::Unknown`]).
    pub source: Option<RevocationSource>,
    /// Why the sources tried before (or instead) did not decide.
    pub notes: Vec<String>,
}

impl std::fmt::Display for CertRevocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.status {
            RevocationStatus::Good => write!(f, "`{}`: good", self.subject)?,
            RevocationStatus::RevokedLater { time, reason } => write!(
                f,
                "`{}`: revoked later, at {time}{}",
                self.subject,
                reason.map(|r| format!(" ({r})")).unwrap_or_default()
            )?,
            RevocationStatus::Unknown => write!(
                f,
                "`{}`: status UNKNOWN (soft-fail): {}",
                self.subject,
                self.notes.join("; ")
            )?,
        }
        if let Some(s) = &self.source {
            write!(f, " by {s}")?;
        }
        Ok(())
    }
}

/// What a source said about a certificate.
enum Verdict {
    Good,
    Revoked(DateTime<Utc>, Option<CrlReason>),
}

/// The times the check is done at: `now` for "not from the future", `at` the time judged.
#[derive(Clone, Copy)]
pub(crate) struct Times {
    pub(crate) now: DateTime<Utc>,
    pub(crate) at: DateTime<Utc>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

fn time_of(t: &Tlv<'_>, what: &str) -> Result<DateTime<Utc>, String> {
    x509_cert::time::Time::from_der(t.raw)
        .map(to_chrono)
        .map_err(|e| format!("{what}: {e}"))
}

fn fresh(
    o: &RevocationOptions,
    times: Times,
    this_update: DateTime<Utc>,
    next_update: Option<DateTime<Utc>>,
) -> Result<(), String> {
    if this_update > times.now + o.skew {
        return Err(format!("thisUpdate {this_update} is in the future"));
    }
    match next_update {
        Some(n) if n + o.skew < times.at => Err(format!(
            "stale: nextUpdate {n} is before the time judged {}",
            times.at
        )),
        None if this_update + o.max_age < times.at => Err(format!(
            "stale: thisUpdate {this_update} without nextUpdate is older than {} h at {}",
            o.max_age.num_hours(),
            times.at
        )),
        _ => Ok(()),
    }
}

fn extension(cert: &Certificate, oid: ObjectIdentifier) -> Option<&[u8]> {
    cert.tbs_certificate
        .extensions
        .as_ref()
        .and_then(|exts| exts.iter().find(|e| e.extn_id == oid))
        .map(|e| e.extn_value.as_bytes())
}

fn uri(n: &GeneralName) -> Option<String> {
    match n {
        GeneralName::UniformResourceIdentifier(s) => Some(s.as_str().to_owned()),
        _ => None,
    }
}

/// The OCSP responder URLs of a certificate's authority information access.
pub fn ocsp_urls(cert: &Certificate) -> Vec<String> {
    extension(cert, OID_AIA)
        .and_then(|v| AuthorityInfoAccessSyntax::from_der(v).ok())
        .map(|aia| {
            aia.0
                .iter()
                .filter(|a| a.access_method == OID_AD_OCSP)
                .filter_map(|a| uri(&a.access_location))
                .collect()
        })
        .unwrap_or_default()
}

/// The CRL distribution point URLs of a certificate.
pub fn crl_urls(cert: &Certificate) -> Vec<String> {
    extension(cert, OID_CRL_DP)
        .and_then(|v| CrlDistributionPoints::from_der(v).ok())
        .map(|dps| {
            dps.0
                .iter()
                .filter_map(|dp| match &dp.distribution_point {
                    Some(DistributionPointName::FullName(names)) => {
                        Some(names.iter().filter_map(uri).collect::<Vec<_>>())
                    }
                    _ => None,
                })
                .flatten()
                .collect()
        })
        .unwrap_or_default()
}

fn decode_pem_or_der(bytes: &[u8], label: &str) -> Result<Vec<u8>, String> {
    if bytes.first() == Some(&0x30) {
        return Ok(bytes.to_vec());
    }
    use base64::Engine;
    let text = std::str::from_utf8(bytes).map_err(|_| format!("{label}: neither DER nor PEM"))?;
    let body: String = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("-----"))
        .flat_map(|l| l.chars())
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| format!("{label}: invalid base64"))
}

// ------------------------------------------------------------------------------------- CRL

/// Checks `cert` against a CRL. `Ok(None)`: the CRL is not about this certificate's issuer.
fn check_crl(
    der: &[u8],
    cert: &Certificate,
    issuer: &Certificate,
    o: &RevocationOptions,
    times: Times,
) -> Result<Option<Verdict>, String> {
    let der = decode_pem_or_der(der, "CRL")?;
    let e = |m: P7mError| m.to_string();
    let mut pos = 0;
    let top = read(&der, &mut pos).map_err(e)?;
    if top.tag != 0x30 || pos != der.len() {
        return Err("CRL: not one SEQUENCE".into());
    }
    let f = children(top.content).map_err(e)?;
    let [tbs, alg, sig] = f.as_slice() else {
        return Err("CRL: malformed CertificateList".into());
    };
    if tbs.tag != 0x30 || sig.tag != 0x03 {
        return Err("CRL: malformed CertificateList".into());
    }
    let t = children(tbs.content).map_err(e)?;
    let mut it = t.iter().peekable();
    let v2 = match it.next_if(|t| t.tag == 0x02) {
        Some(v) if v.content == [1] => true,
        Some(_) => return Err("CRL: version is not v2".into()),
        None => false,
    };
    let inner_alg = it.next().ok_or("CRL: no signature algorithm")?;
    if inner_alg.raw != alg.raw {
        return Err("CRL: the two signature algorithms differ".into());
    }
    let name = it.next().ok_or("CRL: no issuer")?;
    let name = x509_cert::name::Name::from_der(name.raw).map_err(|x| format!("CRL issuer: {x}"))?;
    if name != cert.tbs_certificate.issuer {
        return Ok(None);
    }
    let this_update = time_of(it.next().ok_or("CRL: no thisUpdate")?, "CRL thisUpdate")?;
    let next_update = match it.next_if(|t| t.tag == 0x17 || t.tag == 0x18) {
        Some(n) => Some(time_of(n, "CRL nextUpdate")?),
        None => None,
    };
    let revoked = it.next_if(|t| t.tag == 0x30);
    if let Some(exts) = it.next_if(|t| t.tag == 0xa0) {
        if !v2 {
            return Err("CRL: extensions in a v1 CRL".into());
        }
        for ext in extensions(exts)? {
            match ext.0 {
                OID_CRL_NUMBER | OID_AKI => {}
                OID_IDP => check_idp(ext.2, cert)?,
                o if ext.1 => return Err(format!("CRL: unsupported critical extension {o}")),
                _ => {}
            }
        }
    }
    if it.next().is_some() {
        return Err("CRL: unexpected field".into());
    }
    // The issuer signed it and may sign CRLs.
    if crate::p7m::key_usage(issuer).is_some_and(|ku| !ku.crl_sign()) {
        return Err(format!(
            "CRL: issuer `{}` has no cRLSign key usage",
            issuer.tbs_certificate.subject
        ));
    }
    let (unused, sigval) = sig.content.split_first().ok_or("CRL: empty signature")?;
    if *unused != 0 {
        return Err("CRL: malformed signature".into());
    }
    let alg = AlgorithmIdentifierOwned::from_der(alg.raw).map_err(|x| format!("CRL: {x}"))?;
    crate::p7m::verify_plain(
        &issuer.tbs_certificate.subject_public_key_info,
        &alg,
        tbs.raw,
        sigval,
    )
    .map_err(|x| format!("CRL signature by `{}`: {x}", issuer.tbs_certificate.subject))?;
    fresh(o, times, this_update, next_update).map_err(|x| format!("CRL: {x}"))?;
    let serial = cert.tbs_certificate.serial_number.as_bytes();
    if let Some(list) = revoked {
        for entry in children(list.content).map_err(e)? {
            let parts = children(entry.content).map_err(e)?;
            let (Some(s), Some(date)) = (parts.first(), parts.get(1)) else {
                return Err("CRL: malformed entry".into());
            };
            if s.tag != 0x02 || s.content != serial {
                continue;
            }
            let mut time = time_of(date, "CRL revocationDate")?;
            let mut reason = None;
            if let Some(exts) = parts.get(2) {
                for ext in extensions_seq(exts)? {
                    match ext.0 {
                        OID_CRL_REASON => reason = Some(enumerated(ext.2)?),
                        OID_INVALIDITY_DATE => {
                            // The key may have been compromised earlier than the revocation.
                            let mut p = 0;
                            if let Ok(d) = read(ext.2, &mut p)
                                && let Ok(d) = time_of(&d, "invalidityDate")
                                && d < time
                            {
                                time = d;
                            }
                        }
                        o if ext.1 => {
                            return Err(format!("CRL entry: unsupported critical extension {o}"));
                        }
                        _ => {}
                    }
                }
            }
            if reason == Some(CrlReason::RemoveFromCrl) {
                return Ok(Some(Verdict::Good));
            }
            return Ok(Some(Verdict::Revoked(time, reason)));
        }
    }
    Ok(Some(Verdict::Good))
}

fn check_idp(value: &[u8], cert: &Certificate) -> Result<(), String> {
    let mut p = 0;
    let seq = read(value, &mut p).map_err(|e| e.to_string())?;
    let is_ca = crate::p7m::is_ca(cert);
    for f in children(seq.content).map_err(|e| e.to_string())? {
        let set = f.content.first().is_some_and(|b| *b != 0);
        match f.tag {
            0xa0 => {}
            0x81 if set && is_ca => return Err("CRL: only for end-entity certificates".into()),
            0x82 if set && !is_ca => return Err("CRL: only for CA certificates".into()),
            0x81 | 0x82 => {}
            0x83 => return Err("CRL: partitioned by reasons (onlySomeReasons)".into()),
            0x84 if set => return Err("CRL: indirect CRLs are not supported".into()),
            0x85 if set => return Err("CRL: only for attribute certificates".into()),
            0x84 | 0x85 => {}
            _ => return Err("CRL: malformed issuingDistributionPoint".into()),
        }
    }
    Ok(())
}

/// `[0] EXPLICIT Extensions` → (oid, critical, value).
fn extensions<'a>(t: &Tlv<'a>) -> Result<Vec<Ext<'a>>, String> {
    let inner = children(t.content).map_err(|e| e.to_string())?;
    match inner.as_slice() {
        [seq] => extensions_seq(seq),
        _ => Err("malformed extensions".into()),
    }
}

/// An extension: its id, whether critical, its value.
type Ext<'a> = (ObjectIdentifier, bool, &'a [u8]);

fn extensions_seq<'a>(seq: &Tlv<'a>) -> Result<Vec<Ext<'a>>, String> {
    if seq.tag != 0x30 {
        return Err("malformed extensions".into());
    }
    children(seq.content)
        .map_err(|e| e.to_string())?
        .iter()
        .map(|ext| {
            let p = children(ext.content).map_err(|e| e.to_string())?;
            let oid = p
                .first()
                .filter(|o| o.tag == 0x06)
                .and_then(|o| ObjectIdentifier::from_der(o.raw).ok())
                .ok_or("malformed extension")?;
            let (critical, value) = match p.as_slice() {
                [_, v] if v.tag == 0x04 => (false, v.content),
                [_, c, v] if c.tag == 0x01 && v.tag == 0x04 => {
                    (c.content.first().is_some_and(|b| *b != 0), v.content)
                }
                _ => return Err("malformed extension".into()),
            };
            Ok((oid, critical, value))
        })
        .collect()
}

fn enumerated(value: &[u8]) -> Result<CrlReason, String> {
    let mut p = 0;
    let t = read(value, &mut p).map_err(|e| e.to_string())?;
    match (t.tag, t.content) {
        (0x0a, [c]) => Ok(CrlReason::from_code(*c)),
        _ => Err("malformed CRLReason".into()),
    }
}

// ------------------------------------------------------------------------------------ OCSP

fn hash_of(alg: OcspHash, data: &[u8]) -> Vec<u8> {
    let a = match alg {
        OcspHash::Sha1 => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        OcspHash::Sha256 => &ring::digest::SHA256,
    };
    ring::digest::digest(a, data).as_ref().to_vec()
}

fn cert_id(alg: OcspHash, cert: &Certificate, issuer: &Certificate) -> Result<Vec<u8>, String> {
    let oid = match alg {
        OcspHash::Sha1 => OID_SHA1,
        OcspHash::Sha256 => OID_SHA256,
    };
    let name = cert
        .tbs_certificate
        .issuer
        .to_der()
        .map_err(|e| e.to_string())?;
    let key = issuer
        .tbs_certificate
        .subject_public_key_info
        .subject_public_key
        .raw_bytes();
    let oid_der = oid.to_der().map_err(|e| e.to_string())?;
    let alg_id = tlv(0x30, &[oid_der, vec![0x05, 0x00]].concat());
    Ok(tlv(
        0x30,
        &[
            alg_id,
            tlv(0x04, &hash_of(alg, &name)),
            tlv(0x04, &hash_of(alg, key)),
            tlv(0x02, cert.tbs_certificate.serial_number.as_bytes()),
        ]
        .concat(),
    ))
}

/// An OCSP request for `cert` (issued by `issuer`) with a nonce extension (RFC 8954): the
/// DER request and the nonce extension's value, which the response must echo.
///
/// # Errors
/// A description when the certificates do not encode.
pub fn ocsp_request(
    cert: &Certificate,
    issuer: &Certificate,
    alg: OcspHash,
) -> Result<(Vec<u8>, Vec<u8>), String> {
    use ring::rand::SecureRandom;
    let mut nonce = [0u8; 16];
    ring::rand::SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| "no random source".to_owned())?;
    let nonce_value = tlv(0x04, &nonce);
    let ext = tlv(
        0x30,
        &[
            OID_OCSP_NONCE.to_der().map_err(|e| e.to_string())?,
            tlv(0x04, &nonce_value),
        ]
        .concat(),
    );
    let request = tlv(0x30, &cert_id(alg, cert, issuer)?);
    let tbs = tlv(
        0x30,
        &[tlv(0x30, &request), tlv(0xa2, &tlv(0x30, &ext))].concat(),
    );
    Ok((tlv(0x30, &tbs), nonce_value))
}

/// Checks `cert` against an OCSP response. `nonce`: the value sent (None for an embedded
/// response). `Ok(None)`: the response is not about this certificate.
fn check_ocsp(
    der: &[u8],
    cert: &Certificate,
    issuer: &Certificate,
    nonce: Option<&[u8]>,
    o: &RevocationOptions,
    times: Times,
) -> Result<Option<Verdict>, String> {
    let e = |m: P7mError| m.to_string();
    let mut pos = 0;
    let top = read(der, &mut pos).map_err(e)?;
    if top.tag != 0x30 || pos != der.len() {
        return Err("OCSP response: not one SEQUENCE".into());
    }
    let f = children(top.content).map_err(e)?;
    let status = f
        .first()
        .filter(|t| t.tag == 0x0a)
        .and_then(|t| t.content.first().copied())
        .ok_or("OCSP response: no responseStatus")?;
    if status != 0 {
        return Err(format!(
            "OCSP responder answered {}",
            match status {
                1 => "malformedRequest",
                2 => "internalError",
                3 => "tryLater",
                5 => "sigRequired",
                6 => "unauthorized",
                _ => "an unknown status",
            }
        ));
    }
    let rb = f
        .get(1)
        .filter(|t| t.tag == 0xa0)
        .ok_or("OCSP response: no responseBytes")?;
    let rb = children(rb.content).map_err(e)?;
    let rb = rb.first().ok_or("OCSP response: no responseBytes")?;
    let rb = children(rb.content).map_err(e)?;
    let (Some(rt), Some(resp)) = (rb.first(), rb.get(1)) else {
        return Err("OCSP response: malformed responseBytes".into());
    };
    if ObjectIdentifier::from_der(rt.raw).ok() != Some(OID_OCSP_BASIC) || resp.tag != 0x04 {
        return Err("OCSP response: not a BasicOCSPResponse".into());
    }
    let mut p = 0;
    let basic = read(resp.content, &mut p).map_err(e)?;
    let b = children(basic.content).map_err(e)?;
    let (Some(tbs), Some(alg), Some(sig)) = (b.first(), b.get(1), b.get(2)) else {
        return Err("OCSP response: malformed BasicOCSPResponse".into());
    };
    if tbs.tag != 0x30 || sig.tag != 0x03 {
        return Err("OCSP response: malformed BasicOCSPResponse".into());
    }
    let mut certs = Vec::new();
    if let Some(c) = b.get(3).filter(|t| t.tag == 0xa0) {
        for seq in children(c.content).map_err(e)? {
            for cd in children(seq.content).map_err(e)? {
                certs.push(
                    Certificate::from_der(cd.raw)
                        .map_err(|x| format!("OCSP responder certificate: {x}"))?,
                );
            }
        }
    }
    let rd = children(tbs.content).map_err(e)?;
    let mut it = rd.iter().peekable();
    if let Some(v) = it.next_if(|t| t.tag == 0xa0)
        && v.content != [0x02, 0x01, 0x00]
    {
        return Err("OCSP response: unknown version".into());
    }
    let rid = it.next().ok_or("OCSP response: no responderID")?;
    let produced = it
        .next()
        .filter(|t| t.tag == 0x18)
        .ok_or("OCSP response: no producedAt")?;
    let _produced_at = time_of(produced, "producedAt")?;
    let responses = it
        .next()
        .filter(|t| t.tag == 0x30)
        .ok_or("OCSP response: no responses")?;
    let mut resp_nonce = None;
    if let Some(exts) = it.next_if(|t| t.tag == 0xa1) {
        for ext in extensions(exts)? {
            if ext.0 == OID_OCSP_NONCE {
                resp_nonce = Some(ext.2);
            } else if ext.1 {
                return Err(format!(
                    "OCSP response: unsupported critical extension {}",
                    ext.0
                ));
            }
        }
    }
    // The single response for this certificate.
    let mut single = None;
    for sr in children(responses.content).map_err(e)? {
        let parts = children(sr.content).map_err(e)?;
        let Some(id) = parts.first() else {
            return Err("OCSP response: malformed SingleResponse".into());
        };
        if matches_cert_id(id, cert, issuer) {
            single = Some(parts);
            break;
        }
    }
    let Some(single) = single else {
        return Ok(None);
    };
    // Who signed it: the CA itself or a responder it authorised.
    let signer = responder(rid, issuer, &certs, times)?;
    let (unused, sigval) = sig.content.split_first().ok_or("OCSP: empty signature")?;
    if *unused != 0 {
        return Err("OCSP response: malformed signature".into());
    }
    let alg = AlgorithmIdentifierOwned::from_der(alg.raw).map_err(|x| format!("OCSP: {x}"))?;
    crate::p7m::verify_plain(
        &signer.tbs_certificate.subject_public_key_info,
        &alg,
        tbs.raw,
        sigval,
    )
    .map_err(|x| {
        format!(
            "OCSP response signature by `{}`: {x}",
            signer.tbs_certificate.subject
        )
    })?;
    if let Some(n) = nonce {
        match resp_nonce {
            Some(r) if r == n => {}
            Some(_) => return Err("OCSP response: the nonce differs from the request's".into()),
            None => return Err("OCSP response: the request's nonce is not echoed".into()),
        }
    }
    let status = single.get(1).ok_or("OCSP response: no certStatus")?;
    let this_update = time_of(
        single
            .get(2)
            .filter(|t| t.tag == 0x18)
            .ok_or("OCSP response: no thisUpdate")?,
        "thisUpdate",
    )?;
    let next_update = match single.get(3).filter(|t| t.tag == 0xa0) {
        Some(n) => {
            let inner = children(n.content).map_err(e)?;
            Some(time_of(
                inner.first().ok_or("OCSP: empty nextUpdate")?,
                "nextUpdate",
            )?)
        }
        None => None,
    };
    fresh(o, times, this_update, next_update).map_err(|x| format!("OCSP response: {x}"))?;
    match status.tag {
        0x80 => Ok(Some(Verdict::Good)),
        0xa1 => {
            let ri = children(status.content).map_err(e)?;
            let time = time_of(
                ri.first().ok_or("OCSP: no revocationTime")?,
                "revocationTime",
            )?;
            let reason = match ri.get(1).filter(|t| t.tag == 0xa0) {
                Some(r) => Some(enumerated(r.content)?),
                None => None,
            };
            Ok(Some(Verdict::Revoked(time, reason)))
        }
        0x82 => Err(OCSP_STATUS_UNKNOWN.into()),
        _ => Err("OCSP response: malformed certStatus".into()),
    }
}

const OCSP_STATUS_UNKNOWN: &str = "OCSP responder: status unknown";

fn matches_cert_id(id: &Tlv<'_>, cert: &Certificate, issuer: &Certificate) -> bool {
    let Ok(parts) = children(id.content) else {
        return false;
    };
    let Some(alg) = parts
        .first()
        .and_then(|a| AlgorithmIdentifierOwned::from_der(a.raw).ok())
    else {
        return false;
    };
    let h = match alg.oid {
        OID_SHA1 => OcspHash::Sha1,
        OID_SHA256 => OcspHash::Sha256,
        _ => return false,
    };
    let Ok(mine) = cert_id(h, cert, issuer) else {
        return false;
    };
    let mut p = 0;
    let Ok(mine) = read(&mine, &mut p).and_then(|t| children(t.content)) else {
        return false;
    };
    parts.len() == 4 && (1..4).all(|i| parts[i].raw == mine[i].raw)
}

fn responder<'a>(
    rid: &Tlv<'_>,
    issuer: &'a Certificate,
    certs: &'a [Certificate],
    times: Times,
) -> Result<&'a Certificate, String> {
    let names = |c: &Certificate| -> bool {
        match rid.tag {
            0xa1 => children(rid.content)
                .ok()
                .and_then(|k| k.first().copied())
                .is_some_and(|n| {
                    x509_cert::name::Name::from_der(n.raw)
                        .is_ok_and(|n| n == c.tbs_certificate.subject)
                }),
            0xa2 => children(rid.content)
                .ok()
                .and_then(|k| k.first().copied())
                .is_some_and(|k| {
                    k.tag == 0x04
                        && k.content
                            == hash_of(
                                OcspHash::Sha1,
                                c.tbs_certificate
                                    .subject_public_key_info
                                    .subject_public_key
                                    .raw_bytes(),
                            )
                            .as_slice()
                }),
            _ => false,
        }
    };
    if names(issuer) {
        return Ok(issuer);
    }
    let Some(r) = certs.iter().find(|c| names(c)) else {
        return Err("OCSP response: signed by neither the issuing CA nor a responder certificate it carries".into());
    };
    let subject = r.tbs_certificate.subject.to_string();
    if r.tbs_certificate.subject_public_key_info == issuer.tbs_certificate.subject_public_key_info
        && r.tbs_certificate.subject == issuer.tbs_certificate.subject
    {
        return Ok(issuer);
    }
    if !crate::p7m::signed_by_plain(r, issuer) {
        return Err(format!(
            "OCSP responder `{subject}` is not issued by `{}`, the certificate's CA",
            issuer.tbs_certificate.subject
        ));
    }
    let ocsp_signing = extension(r, OID_EKU)
        .and_then(|v| ExtendedKeyUsage::from_der(v).ok())
        .is_some_and(|eku| eku.0.contains(&OID_KP_OCSP_SIGNING));
    if !ocsp_signing {
        return Err(format!(
            "OCSP responder `{subject}` is not authorised: no id-kp-OCSPSigning extended key usage"
        ));
    }
    let v = &r.tbs_certificate.validity;
    if times.now < to_chrono(v.not_before) || times.now > to_chrono(v.not_after) {
        return Err(format!("OCSP responder `{subject}` is not valid now"));
    }
    Ok(r)
}

// ------------------------------------------------------------------------------- the check

/// Revocation values carried in a signature.
#[derive(Debug, Clone, Default)]
pub(crate) struct Embedded {
    pub(crate) crls: Vec<Vec<u8>>,
    pub(crate) ocsp: Vec<Vec<u8>>,
}

/// Checks `cert`, issued by `issuer`.
///
/// # Errors
/// [`P7mError::Revoked`], or [`P7mError::RevocationUnknown`] unless soft-failing.
pub(crate) fn check(
    cert: &Certificate,
    issuer: &Certificate,
    embedded: &Embedded,
    o: &RevocationOptions,
    times: Times,
) -> Result<CertRevocation, P7mError> {
    let subject = cert.tbs_certificate.subject.to_string();
    let serial = hex(cert.tbs_certificate.serial_number.as_bytes());
    let mut notes = Vec::new();
    let mut decided = None;
    let mut try_source = |src: RevocationSource,
                          r: Result<Option<Verdict>, String>,
                          notes: &mut Vec<String>| {
        match r {
            Ok(Some(v)) => {
                decided = Some((v, src));
                true
            }
            Ok(None) => false,
            Err(e) => {
                notes.push(format!("{src}: {e}"));
                false
            }
        }
    };
    'sources: {
        if o.use_embedded {
            for r in &embedded.ocsp {
                let v = check_ocsp(r, cert, issuer, None, o, times);
                if try_source(RevocationSource::EmbeddedOcsp, v, &mut notes) {
                    break 'sources;
                }
            }
            for c in &embedded.crls {
                let v = check_crl(c, cert, issuer, o, times);
                if try_source(RevocationSource::EmbeddedCrl, v, &mut notes) {
                    break 'sources;
                }
            }
        }
        for (i, c) in o.crls.iter().enumerate() {
            let v = check_crl(c, cert, issuer, o, times);
            if try_source(RevocationSource::GivenCrl(i), v, &mut notes) {
                break 'sources;
            }
        }
        if o.ocsp {
            let urls = match &o.ocsp_url {
                Some(u) => vec![u.clone()],
                None => ocsp_urls(cert),
            };
            if urls.is_empty() {
                notes.push("OCSP: the certificate names no responder".into());
            }
            for url in urls {
                let v = ocsp_request(cert, issuer, o.ocsp_hash).and_then(|(req, nonce)| {
                    let resp = o.fetcher.post(&url, "application/ocsp-request", &req)?;
                    check_ocsp(&resp, cert, issuer, Some(&nonce), o, times)
                        .and_then(|v| v.ok_or_else(|| "no response for this certificate".into()))
                        .map(Some)
                });
                if try_source(RevocationSource::Ocsp(url), v, &mut notes) {
                    break 'sources;
                }
            }
        }
        if o.fetch_crls {
            let urls = crl_urls(cert);
            if urls.is_empty() {
                notes.push("CRL: the certificate names no distribution point".into());
            }
            for url in urls {
                let v = o.fetcher.get(&url).and_then(|c| {
                    check_crl(&c, cert, issuer, o, times).and_then(|v| {
                        v.ok_or_else(|| "the CRL is of another issuer".into())
                            .map(Some)
                    })
                });
                if try_source(RevocationSource::FetchedCrl(url), v, &mut notes) {
                    break 'sources;
                }
            }
        }
    }
    match decided {
        Some((Verdict::Good, src)) => Ok(CertRevocation {
            subject,
            serial,
            status: RevocationStatus::Good,
            source: Some(src),
            notes,
        }),
        Some((Verdict::Revoked(time, reason), src)) if time > times.at => Ok(CertRevocation {
            subject,
            serial,
            status: RevocationStatus::RevokedLater { time, reason },
            source: Some(src),
            notes,
        }),
        Some((Verdict::Revoked(time, reason), src)) => Err(P7mError::Revoked {
            subject,
            serial,
            time,
            reason: reason.map(|r| r.to_string()),
            decided_by: src.to_string(),
        }),
        None if o.soft_fail => Ok(CertRevocation {
            subject,
            serial,
            status: RevocationStatus::Unknown,
            source: None,
            notes,
        }),
        None => Err(P7mError::RevocationUnknown {
            subject,
            reason: if notes.is_empty() {
                "no revocation information (give CRLs or enable OCSP)".into()
            } else {
                notes.join("; ")
            },
        }),
    }
}

// ------------------------------------------------------------------- one certificate, OCSP

/// What an OCSP responder said about a certificate ([`ocsp_status`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OcspStatus {
    /// `good`.
    Good,
    /// `revoked`.
    Revoked {
        /// `revocationTime`.
        time: DateTime<Utc>,
        /// `revocationReason`, when given.
        reason: Option<CrlReason>,
    },
    /// `unknown`: the responder does not know the certificate.
    Unknown,
}

/// Why [`ocsp_status`] has no verified answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OcspError {
    /// The certificate or its issuer does not decode.
    #[error("OCSP: {0}")]
    Certificate(String),
    /// No responder configured and none in the certificate's authority information access.
    #[error("OCSP: the certificate names no responder and none is configured")]
    NoResponder,
    /// The request could not be sent or the answer not read.
    #[error("OCSP {url}: {reason}")]
    Unreachable {
        /// The responder.
        url: String,
        /// What happened.
        reason: String,
    },
    /// The answer does not decode or does not verify (signature, responder authorisation,
    /// nonce, freshness, certificate identifier), or the responder refused the request.
    #[error("OCSP {url}: {reason}")]
    Invalid {
        /// The responder.
        url: String,
        /// What is wrong.
        reason: String,
    },
}

/// Asks an OCSP responder about one certificate (DER `cert_der`, issued by `issuer_der`,
/// whose signature on it the caller has verified), judged at `now`.
///
/// The responder is [`RevocationOptions::ocsp_url`], else each of the certificate's
/// authority information access responders in turn until one gives a verified answer. The
/// request carries a nonce the response must echo; the response must be signed by the
/// issuing CA or by a responder certificate it issued with `id-kp-OCSPSigning`, valid at
/// `now`, and be fresh ([`RevocationOptions::skew`], [`RevocationOptions::max_age`]). Only
/// `ocsp_url`, `ocsp_hash`, `skew`, `max_age` and `fetcher` of `options` are used.
///
/// # Errors
/// [`OcspError`]: the last responder's failure when none gave a verified answer.
pub fn ocsp_status(
    cert_der: &[u8],
    issuer_der: &[u8],
    options: &RevocationOptions,
    now: DateTime<Utc>,
) -> Result<OcspStatus, OcspError> {
    let cert = Certificate::from_der(cert_der)
        .map_err(|e| OcspError::Certificate(format!("certificate: {e}")))?;
    let issuer = Certificate::from_der(issuer_der)
        .map_err(|e| OcspError::Certificate(format!("issuer certificate: {e}")))?;
    let urls = match &options.ocsp_url {
        Some(u) => vec![u.clone()],
        None => ocsp_urls(&cert),
    };
    let times = Times { now, at: now };
    let mut last = OcspError::NoResponder;
    for url in urls {
        let (request, nonce) =
            ocsp_request(&cert, &issuer, options.ocsp_hash).map_err(OcspError::Certificate)?;
        let answer = match options
            .fetcher
            .post(&url, "application/ocsp-request", &request)
        {
            Ok(a) => a,
            Err(reason) => {
                last = OcspError::Unreachable { url, reason };
                continue;
            }
        };
        match check_ocsp(&answer, &cert, &issuer, Some(&nonce), options, times) {
            Ok(Some(Verdict::Good)) => return Ok(OcspStatus::Good),
            Ok(Some(Verdict::Revoked(time, reason))) => {
                return Ok(OcspStatus::Revoked { time, reason });
            }
            Err(reason) if reason == OCSP_STATUS_UNKNOWN => return Ok(OcspStatus::Unknown),
            Ok(None) => {
                last = OcspError::Invalid {
                    url,
                    reason: "no response for this certificate".into(),
                };
            }
            Err(reason) => last = OcspError::Invalid { url, reason },
        }
    }
    Err(last)
}
