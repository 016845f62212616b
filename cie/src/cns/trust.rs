//! The configured issuer CAs (the public list of CNS / CIE issuers, read from a file).

use std::path::Path;

use x509_parser::prelude::{FromDer, X509Certificate};

use super::cert::{name_to_string, pem_certificates};
use super::error::IssuerListError;

/// One configured issuer CA certificate.
#[derive(Clone)]
pub(crate) struct TrustedIssuer {
    pub(crate) der: Vec<u8>,
    pub(crate) subject_raw: Vec<u8>,
    pub(crate) subject: String,
}

/// The issuer CAs a card certificate must chain to. Loaded once from configuration; nothing is
/// fetched at run time.
///
/// Every entry must be a CA certificate (basicConstraints `cA`). An entry is a trust anchor: its
/// own issuer is not consulted, but its validity period is checked at each verification.
#[derive(Clone, Default)]
pub struct IssuerList {
    pub(crate) issuers: Vec<TrustedIssuer>,
}

impl std::fmt::Debug for IssuerList {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.issuers.iter().map(|i| &i.subject))
            .finish()
    }
}

impl IssuerList {
    /// Loads a PEM bundle (one or more `CERTIFICATE` blocks; other blocks are ignored).
    ///
    /// # Errors
    /// [`IssuerListError`] when no certificate is found, an entry does not decode or is not a CA.
    pub fn from_pem(pem: &[u8]) -> Result<Self, IssuerListError> {
        let ders = pem_certificates(pem).map_err(|e| IssuerListError::Malformed {
            index: 0,
            reason: e.to_string(),
        })?;
        Self::from_der_certificates(ders)
    }

    /// Loads a file: a PEM bundle, or a single DER certificate.
    ///
    /// # Errors
    /// [`IssuerListError::Io`] when the file cannot be read, otherwise as [`IssuerList::from_pem`].
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, IssuerListError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| IssuerListError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        if bytes.starts_with(&[0x30]) {
            Self::from_der_certificates([bytes])
        } else {
            Self::from_pem(&bytes)
        }
    }

    /// Builds the list from DER certificates.
    ///
    /// # Errors
    /// [`IssuerListError`] when the list is empty, an entry does not decode or is not a CA.
    pub fn from_der_certificates<I, D>(ders: I) -> Result<Self, IssuerListError>
    where
        I: IntoIterator<Item = D>,
        D: AsRef<[u8]>,
    {
        let mut issuers = Vec::new();
        for (index, der) in ders.into_iter().enumerate() {
            let der = der.as_ref();
            let (rest, cert) =
                X509Certificate::from_der(der).map_err(|e| IssuerListError::Malformed {
                    index,
                    reason: e.to_string(),
                })?;
            if !rest.is_empty() {
                return Err(IssuerListError::Malformed {
                    index,
                    reason: format!("{} bytes after the certificate", rest.len()),
                });
            }
            let subject = name_to_string(cert.subject());
            if !cert.is_ca() {
                return Err(IssuerListError::NotCa { index, subject });
            }
            issuers.push(TrustedIssuer {
                der: der.to_vec(),
                subject_raw: cert.subject().as_raw().to_vec(),
                subject,
            });
        }
        if issuers.is_empty() {
            return Err(IssuerListError::Empty);
        }
        Ok(IssuerList { issuers })
    }

    /// Number of configured issuers.
    pub fn len(&self) -> usize {
        self.issuers.len()
    }

    /// `true` when no issuer is configured.
    pub fn is_empty(&self) -> bool {
        self.issuers.is_empty()
    }

    /// The issuers' subject names as DER (what a TLS server sends as acceptable client CA names so
    /// that browsers offer the right card certificate).
    pub fn subject_names_der(&self) -> impl Iterator<Item = &[u8]> {
        self.issuers.iter().map(|i| i.subject_raw.as_slice())
    }

    /// The issuers' subject names as text.
    pub fn subjects(&self) -> impl Iterator<Item = &str> {
        self.issuers.iter().map(|i| i.subject.as_str())
    }

    pub(crate) fn by_subject<'s>(
        &'s self,
        raw: &'s [u8],
    ) -> impl Iterator<Item = &'s TrustedIssuer> + 's {
        self.issuers.iter().filter(move |i| i.subject_raw == raw)
    }
}

/// ETSI TS 119 612 service type of identity-verification services, under which the Italian
/// trusted list (`TSL-IT.xml`, published by AgID) lists the CAs issuing CNS / CIE authentication
/// certificates.
pub const SERVICE_TYPE_IDV: &str = "http://uri.etsi.org/TrstSvc/Svctype/IdV";

/// Service statuses of a trusted list that mean "in force" (current ETSI status and the older
/// national ones).
const ACTIVE_STATUSES: [&str; 4] = [
    "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted",
    "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/recognisedatnationallevel",
    "http://uri.etsi.org/TrstSvc/Svcstatus/undersupervision",
    "http://uri.etsi.org/TrstSvc/Svcstatus/accredited",
];

impl IssuerList {
    /// Loads the CA certificates of the services of type `service_type` (usually
    /// [`SERVICE_TYPE_IDV`]) whose current status is in force, from an ETSI TS 119 612 trusted
    /// list such as the Italian `TSL-IT.xml`. Certificates of the services' history and
    /// certificates that are not CA certificates are skipped.
    ///
    /// The list's XML signature is **not** verified here: read the file from a source you trust
    /// (or verify it first with the `xmldsig` crate against the AgID signing certificate).
    ///
    /// # Errors
    /// [`IssuerListError::Malformed`] for XML that does not parse, a DOCTYPE, or a certificate
    /// that does not decode; [`IssuerListError::Empty`] when no service matches.
    pub fn from_trusted_list_xml(xml: &[u8], service_type: &str) -> Result<Self, IssuerListError> {
        let ders = trusted_list_certificates(xml, service_type)?;
        let mut issuers = Vec::new();
        for (index, der) in ders.iter().enumerate() {
            let (_, cert) =
                X509Certificate::from_der(der).map_err(|e| IssuerListError::Malformed {
                    index,
                    reason: format!("X509Certificate in trusted list: {e}"),
                })?;
            if cert.is_ca() {
                issuers.push(TrustedIssuer {
                    der: der.clone(),
                    subject_raw: cert.subject().as_raw().to_vec(),
                    subject: name_to_string(cert.subject()),
                });
            }
        }
        if issuers.is_empty() {
            return Err(IssuerListError::Empty);
        }
        Ok(IssuerList { issuers })
    }

    /// [`IssuerList::from_trusted_list_xml`] on a file.
    ///
    /// # Errors
    /// [`IssuerListError::Io`] when the file cannot be read, otherwise as
    /// [`IssuerList::from_trusted_list_xml`].
    pub fn from_trusted_list_file(
        path: impl AsRef<Path>,
        service_type: &str,
    ) -> Result<Self, IssuerListError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| IssuerListError::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_trusted_list_xml(&bytes, service_type)
    }
}

/// DER of the `X509Certificate` values in
/// `TSPService/ServiceInformation/ServiceDigitalIdentity/DigitalId` of matching, active services.
fn trusted_list_certificates(
    xml: &[u8],
    service_type: &str,
) -> Result<Vec<Vec<u8>>, IssuerListError> {
    use base64::Engine as _;
    use quick_xml::events::Event;

    let malformed = |reason: String| IssuerListError::Malformed { index: 0, reason };
    let mut reader = quick_xml::Reader::from_reader(xml);
    reader.config_mut().trim_text(true);
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();

    let mut out = Vec::new();
    let mut svc_type = String::new();
    let mut svc_status = String::new();
    let mut svc_certs: Vec<String> = Vec::new();

    loop {
        let event = reader
            .read_event_into(&mut buf)
            .map_err(|e| malformed(format!("XML at byte {}: {e}", reader.error_position())))?;
        match event {
            Event::DocType(_) => {
                return Err(malformed("DOCTYPE not allowed in a trusted list".into()));
            }
            Event::Start(e) => {
                if path.len() > 64 {
                    return Err(malformed("XML nested too deeply".into()));
                }
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                if name == "TSPService" {
                    svc_type.clear();
                    svc_status.clear();
                    svc_certs.clear();
                }
                path.push(name);
                text.clear();
            }
            Event::Text(t) => {
                text.push_str(&t.decode().map_err(|e| malformed(e.to_string()))?);
            }
            Event::CData(t) => {
                text.push_str(&String::from_utf8_lossy(&t));
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| malformed(e.to_string()))?;
                text.push(match name.as_ref() {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    other => {
                        return Err(malformed(format!("entity reference &{other}; not allowed")));
                    }
                });
            }
            Event::End(_) => {
                let in_info = |tail: &[&str]| {
                    path.len() > tail.len()
                        && path[path.len() - tail.len() - 1] == "ServiceInformation"
                        && path[path.len() - tail.len()..]
                            .iter()
                            .zip(tail)
                            .all(|(a, b)| a == b)
                };
                match path.last().map(String::as_str) {
                    Some("ServiceTypeIdentifier") if in_info(&["ServiceTypeIdentifier"]) => {
                        svc_type = text.trim().to_owned();
                    }
                    Some("ServiceStatus") if in_info(&["ServiceStatus"]) => {
                        svc_status = text.trim().to_owned();
                    }
                    Some("X509Certificate")
                        if in_info(&["ServiceDigitalIdentity", "DigitalId", "X509Certificate"]) =>
                    {
                        svc_certs.push(text.split_whitespace().collect());
                    }
                    Some("TSPService")
                        if svc_type == service_type
                            && ACTIVE_STATUSES.contains(&svc_status.as_str()) =>
                    {
                        for b64 in svc_certs.drain(..) {
                            let der = base64::engine::general_purpose::STANDARD
                                .decode(b64.as_bytes())
                                .map_err(|e| malformed(format!("X509Certificate base64: {e}")))?;
                            out.push(der);
                        }
                    }
                    _ => {}
                }
                path.pop();
                text.clear();
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    Ok(out)
}
