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
