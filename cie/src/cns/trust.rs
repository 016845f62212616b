//! The configured issuer CAs (the public list of CNS / CIE issuers, read from a file): a PEM
//! bundle, or an ETSI TS 119 612 trusted list whose XML signature is verified before any of its
//! CAs is trusted.

use std::path::Path;

use chrono::{DateTime, Utc};

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

/// ETSI TS 119 612 service type of CAs issuing qualified certificates.
pub const SERVICE_TYPE_CA_QC: &str = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC";

/// Namespace of ETSI TS 119 612 trusted lists.
pub const TSL_NS: &str = "http://uri.etsi.org/02231/v2#";

/// Service statuses of a trusted list that mean "in force" (current ETSI status and the older
/// national ones). Any other status (`withdrawn`, `deprecatedatnationallevel`, ...) is not.
const ACTIVE_STATUSES: [&str; 4] = [
    "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted",
    "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/recognisedatnationallevel",
    "http://uri.etsi.org/TrstSvc/Svcstatus/undersupervision",
    "http://uri.etsi.org/TrstSvc/Svcstatus/accredited",
];

/// Which services of a signed trusted list are trusted, and when their status is judged.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrustedListOptions {
    /// `ServiceTypeIdentifier` values taken (e.g. [`SERVICE_TYPE_IDV`], [`SERVICE_TYPE_CA_QC`]).
    pub service_types: Vec<String>,
    /// The time at which the list must be current (`NextUpdate`) and the services' status is
    /// judged (the status whose `StatusStartingTime` is the latest not after it). Default: now.
    pub at: Option<DateTime<Utc>>,
}

impl TrustedListOptions {
    /// Services of these types, judged now.
    pub fn new<I, S>(service_types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        TrustedListOptions {
            service_types: service_types.into_iter().map(Into::into).collect(),
            at: None,
        }
    }

    /// Judges the list and the services' status at `time` instead of now.
    #[must_use]
    pub fn at(mut self, time: DateTime<Utc>) -> Self {
        self.at = Some(time);
        self
    }
}

impl IssuerList {
    /// Loads the CA certificates of an ETSI TS 119 612 trusted list (such as the Italian
    /// `TSL-IT.xml`) **after verifying its signature**.
    ///
    /// `operator_certificates` (PEM bundle or one DER certificate) are the scheme operator's
    /// signing certificates, pinned by the caller (for `TSL-IT.xml`, AgID's, as published in the
    /// EU list of trusted lists). The list must carry exactly one enveloped XML signature, the
    /// last child of `TrustServiceStatusList`, whose content reference covers the whole list
    /// (`URI=""` or the list's `Id`), made with one of these certificates' keys (`KeyInfo` only
    /// selects among them); XAdES signed properties are checked when referenced. Nothing of
    /// the list is read before the signature verifies, and only what it covers is read (never
    /// the inside of `ds:Signature`).
    ///
    /// The list must be current at [`TrustedListOptions::at`] (`NextUpdate` not before it; a
    /// closed list, without `NextUpdate/dateTime`, is refused). A service is taken when, at that
    /// time, its status in force (the current `ServiceInformation` or a `ServiceHistoryInstance`,
    /// whichever has the latest `StatusStartingTime` not after the time) is in force (`granted`
    /// or the older national equivalents) and its type is one of
    /// [`TrustedListOptions::service_types`]: a service `withdrawn` since then still counts
    /// when judged before the withdrawal, one granted later does not. Its certificates are the
    /// current `ServiceDigitalIdentity`'s; those that are not CA certificates are skipped.
    ///
    /// # Errors
    /// [`IssuerListError::Operator`] when no operator certificate decodes,
    /// [`IssuerListError::Malformed`] for XML that does not parse (a DOCTYPE, limits), a root
    /// that is not a trusted list or a field that does not decode,
    /// [`IssuerListError::Signature`] when the signature is missing or does not verify,
    /// [`IssuerListError::Stale`] for a list past its `NextUpdate`, and
    /// [`IssuerListError::Empty`] when no service matches.
    pub fn from_trusted_list_xml(
        xml: &[u8],
        operator_certificates: &[u8],
        opts: &TrustedListOptions,
    ) -> Result<Self, IssuerListError> {
        let keys = operator_keys(operator_certificates)?;
        let doc = xmldsig::Document::parse(xml).map_err(|e| malformed(format!("XML: {e}")))?;
        let root = doc.root();
        if !root.is(TSL_NS, "TrustServiceStatusList") {
            return Err(malformed(format!(
                "root element <{}> is not a TS 119 612 TrustServiceStatusList",
                root.qname()
            )));
        }
        verify_list_signature(&doc, &keys)?;
        let at = opts.at.unwrap_or_else(Utc::now);
        check_next_update(root, at)?;
        let ders = trusted_list_certificates(root, opts, at)?;
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

    /// [`IssuerList::from_trusted_list_xml`] on files: the list and the operator certificates.
    ///
    /// # Errors
    /// [`IssuerListError::Io`] when a file cannot be read, otherwise as
    /// [`IssuerList::from_trusted_list_xml`].
    pub fn from_trusted_list_file(
        path: impl AsRef<Path>,
        operator_certificates: impl AsRef<Path>,
        opts: &TrustedListOptions,
    ) -> Result<Self, IssuerListError> {
        let read = |p: &Path| {
            std::fs::read(p).map_err(|e| IssuerListError::Io {
                path: p.display().to_string(),
                reason: e.to_string(),
            })
        };
        let xml = read(path.as_ref())?;
        let certs = read(operator_certificates.as_ref())?;
        Self::from_trusted_list_xml(&xml, &certs, opts)
    }
}

fn malformed(reason: String) -> IssuerListError {
    IssuerListError::Malformed { index: 0, reason }
}

/// The scheme operator's certificates as verification keys.
fn operator_keys(bytes: &[u8]) -> Result<Vec<xmldsig::TrustedKey>, IssuerListError> {
    let operator = |reason: String| IssuerListError::Operator { reason };
    let certs = if bytes.first() == Some(&0x30) {
        vec![xmldsig::Certificate::from_der(bytes).map_err(|e| operator(e.to_string()))?]
    } else {
        xmldsig::Certificate::chain_from_pem(bytes).map_err(|e| operator(e.to_string()))?
    };
    if certs.is_empty() {
        return Err(operator("no certificate given".into()));
    }
    Ok(certs
        .into_iter()
        .map(|c| {
            let name = c.subject().to_owned();
            xmldsig::TrustedKey::from_certificate(c).with_name(name)
        })
        .collect())
}

/// The list's only signature, enveloped in the root and covering the whole list.
fn verify_list_signature(
    doc: &xmldsig::Document,
    keys: &[xmldsig::TrustedKey],
) -> Result<(), IssuerListError> {
    let signature = |reason: String| IssuerListError::Signature { reason };
    let root = doc.root();
    let last = root
        .child_elements()
        .last()
        .filter(|e| e.is(xmldsig::DSIG_NS, "Signature"));
    if last.is_none() {
        return Err(signature(
            "the list is not signed (no ds:Signature as the last child of TrustServiceStatusList)"
                .into(),
        ));
    }
    let vopts = xmldsig::VerifyOptions::default()
        .allow_whole_document_reference()
        .allow_inclusive_c14n();
    let verified = xmldsig::verify(doc, keys, &vopts).map_err(|e| signature(e.to_string()))?;
    if verified.element() != root || Some(verified.signature()) != last {
        return Err(signature(
            "the signature does not cover the whole TrustServiceStatusList".into(),
        ));
    }
    Ok(())
}

fn tsl_child<'a>(e: xmldsig::Element<'a>, name: &str) -> Option<xmldsig::Element<'a>> {
    e.child(TSL_NS, name)
}

fn tsl_children<'a>(e: xmldsig::Element<'a>, name: &str) -> Vec<xmldsig::Element<'a>> {
    e.children_named(TSL_NS, name).collect()
}

fn date_time(e: xmldsig::Element<'_>, what: &str) -> Result<DateTime<Utc>, IssuerListError> {
    let text = e.text();
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| malformed(format!("{what} `{}` is not a dateTime", text.trim())))
}

/// `SchemeInformation/NextUpdate/dateTime` must not be before `at`.
fn check_next_update(root: xmldsig::Element<'_>, at: DateTime<Utc>) -> Result<(), IssuerListError> {
    let next = tsl_child(root, "SchemeInformation")
        .and_then(|si| tsl_child(si, "NextUpdate"))
        .ok_or_else(|| malformed("SchemeInformation/NextUpdate missing".into()))?;
    let Some(dt) = tsl_child(next, "dateTime") else {
        return Err(IssuerListError::Stale {
            reason: "the list is closed (NextUpdate has no dateTime)".into(),
        });
    };
    let next_update = date_time(dt, "NextUpdate")?;
    if next_update < at {
        return Err(IssuerListError::Stale {
            reason: format!("NextUpdate {next_update} is before {at}"),
        });
    }
    Ok(())
}

/// Type, status and status starting time of a `ServiceInformation` or a
/// `ServiceHistoryInstance`.
fn service_state(
    e: xmldsig::Element<'_>,
) -> Result<(String, String, DateTime<Utc>), IssuerListError> {
    let field = |name: &str| {
        tsl_child(e, name).ok_or_else(|| malformed(format!("{} without {name}", e.local_name())))
    };
    let ty = field("ServiceTypeIdentifier")?.text().trim().to_owned();
    let status = field("ServiceStatus")?.text().trim().to_owned();
    let start = date_time(field("StatusStartingTime")?, "StatusStartingTime")?;
    Ok((ty, status, start))
}

/// DER of the `X509Certificate` values of the current `ServiceDigitalIdentity` of the services
/// (`TrustServiceProviderList/TrustServiceProvider/TSPServices/TSPService`) selected at `at`.
fn trusted_list_certificates(
    root: xmldsig::Element<'_>,
    opts: &TrustedListOptions,
    at: DateTime<Utc>,
) -> Result<Vec<Vec<u8>>, IssuerListError> {
    use base64::Engine as _;

    let mut out = Vec::new();
    let Some(providers) = tsl_child(root, "TrustServiceProviderList") else {
        return Ok(out);
    };
    let services = providers
        .children_named(TSL_NS, "TrustServiceProvider")
        .collect::<Vec<_>>()
        .into_iter()
        .filter_map(|p| tsl_child(p, "TSPServices"))
        .flat_map(|s| tsl_children(s, "TSPService"));
    for service in services {
        let info = tsl_child(service, "ServiceInformation")
            .ok_or_else(|| malformed("TSPService without ServiceInformation".into()))?;
        let mut in_force: Option<(String, String, DateTime<Utc>)> = None;
        let history = tsl_child(service, "ServiceHistory")
            .into_iter()
            .flat_map(|h| tsl_children(h, "ServiceHistoryInstance"));
        for state in std::iter::once(info).chain(history) {
            let s = service_state(state)?;
            if s.2 <= at && in_force.as_ref().is_none_or(|f| s.2 > f.2) {
                in_force = Some(s);
            }
        }
        let Some((ty, status, _)) = in_force else {
            continue;
        };
        if !opts.service_types.contains(&ty) || !ACTIVE_STATUSES.contains(&status.as_str()) {
            continue;
        }
        let ids = tsl_child(info, "ServiceDigitalIdentity")
            .into_iter()
            .flat_map(|sdi| tsl_children(sdi, "DigitalId"))
            .flat_map(|d| tsl_children(d, "X509Certificate"));
        for c in ids {
            let b64: String = c.text().split_whitespace().collect();
            let der = base64::engine::general_purpose::STANDARD
                .decode(b64.as_bytes())
                .map_err(|e| malformed(format!("X509Certificate base64: {e}")))?;
            out.push(der);
        }
    }
    Ok(out)
}
