//! The ente's certificate: loading (PEM or PKCS#12), what it says, and how long it has left.
//!
//! SIOPE+ client certificates last three years; once expired the ente is cut off from its
//! treasurer until a new one is installed, which takes days. [`CertInfo::status`] tells how
//! close that is.

use std::fmt;
use std::path::Path;

use chrono::{DateTime, Utc};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::error::CertError;
use crate::types::CodiceA2a;

/// Default warning window: 90 days before expiry.
pub const DEFAULT_WARN_DAYS: u32 = 90;

/// A certificate chain with its private key (the ente's "certificato di postazione").
pub struct ClientIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl fmt::Debug for ClientIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientIdentity")
            .field("certificates", &self.chain.len())
            .field("key", &"[redacted]")
            .finish()
    }
}

impl Clone for ClientIdentity {
    fn clone(&self) -> Self {
        ClientIdentity {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

fn is_pkcs12(bytes: &[u8]) -> bool {
    // DER SEQUENCE, not PEM text.
    bytes.first() == Some(&0x30)
}

impl ClientIdentity {
    /// From PEM text holding the certificate (then its chain) and the private key.
    ///
    /// # Errors
    /// [`CertError::NoCertificate`], [`CertError::NoKey`] or [`CertError::Pem`].
    pub fn from_pem(pem: &[u8]) -> Result<Self, CertError> {
        Self::from_pem_parts(pem, pem)
    }

    /// From a PEM certificate chain and a separate PEM private key.
    ///
    /// # Errors
    /// [`CertError::NoCertificate`], [`CertError::NoKey`] or [`CertError::Pem`].
    pub fn from_pem_parts(cert_pem: &[u8], key_pem: &[u8]) -> Result<Self, CertError> {
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| CertError::Pem(e.to_string()))?;
        if chain.is_empty() {
            return Err(CertError::NoCertificate);
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| match e {
            rustls_pki_types::pem::Error::NoItemsFound => CertError::NoKey,
            e => CertError::Pem(e.to_string()),
        })?;
        Ok(ClientIdentity { chain, key })
    }

    /// From a PKCS#12 (`.p12` / `.pfx`) archive.
    ///
    /// # Errors
    /// [`CertError::Pkcs12`] (wrong password, damaged file), [`CertError::NoKey`].
    pub fn from_pkcs12(der: &[u8], password: &str) -> Result<Self, CertError> {
        let ks = p12_keystore::KeyStore::from_pkcs12(
            der,
            password,
            p12_keystore::Pkcs12ImportPolicy::Relaxed,
        )
        .map_err(|e| CertError::Pkcs12(e.to_string()))?;
        let (_, chain) = ks.private_key_chain().ok_or(CertError::NoKey)?;
        let certs: Vec<CertificateDer<'static>> = chain
            .certs()
            .iter()
            .map(|c| CertificateDer::from(c.as_der().to_vec()))
            .collect();
        if certs.is_empty() {
            return Err(CertError::NoCertificate);
        }
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(chain.key().as_der().to_vec()));
        Ok(ClientIdentity { chain: certs, key })
    }

    /// From a file: PKCS#12 when binary, PEM otherwise.
    ///
    /// # Errors
    /// [`CertError::Read`] and the errors of the two formats.
    pub fn load(path: &Path, password: Option<&str>) -> Result<Self, CertError> {
        let bytes = read(path)?;
        if is_pkcs12(&bytes) {
            Self::from_pkcs12(&bytes, password.unwrap_or(""))
        } else {
            Self::from_pem(&bytes)
        }
    }

    /// The end-entity certificate.
    #[must_use]
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.chain[0]
    }

    /// The whole chain, end entity first.
    #[must_use]
    pub fn chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// The private key (DER). Handle with care.
    #[must_use]
    pub fn private_key(&self) -> &PrivateKeyDer<'static> {
        &self.key
    }

    /// What the end-entity certificate says.
    ///
    /// # Errors
    /// [`CertError::X509`] when it cannot be parsed.
    pub fn info(&self) -> Result<CertInfo, CertError> {
        CertInfo::from_der(self.certificate())
    }
}

fn read(path: &Path) -> Result<Vec<u8>, CertError> {
    std::fs::read(path).map_err(|e| CertError::Read {
        path: path.display().to_string(),
        detail: e.to_string(),
    })
}

/// What a certificate says, for the expiry watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertInfo {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Serial number (hex).
    pub serial: String,
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity.
    pub not_after: DateTime<Utc>,
    /// The A2A code (`A2A-nnnnnnnn`) when the subject carries one.
    pub a2a_code: Option<CodiceA2a>,
}

/// Where a certificate stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatus {
    /// Valid, with more days left than the warning window.
    Valid {
        /// Whole days left.
        days_left: i64,
    },
    /// Valid, but expiring within the warning window: start the renewal.
    ExpiringSoon {
        /// Whole days left.
        days_left: i64,
    },
    /// Expired: SIOPE+ refuses every request.
    Expired {
        /// Whole days since expiry.
        days_ago: i64,
    },
    /// Not valid yet.
    NotYetValid,
}

impl CertInfo {
    /// Reads a DER certificate.
    ///
    /// # Errors
    /// [`CertError::X509`] when it cannot be parsed.
    pub fn from_der(der: &[u8]) -> Result<Self, CertError> {
        let (_, cert) =
            x509_parser::parse_x509_certificate(der).map_err(|e| CertError::X509(e.to_string()))?;
        let subject = cert.subject().to_string();
        let ts = |t: x509_parser::time::ASN1Time| {
            DateTime::<Utc>::from_timestamp(t.timestamp(), 0)
                .ok_or_else(|| CertError::X509("validity date out of range".into()))
        };
        Ok(CertInfo {
            a2a_code: find_a2a(&subject),
            issuer: cert.issuer().to_string(),
            serial: cert.raw_serial_as_string(),
            not_before: ts(cert.validity().not_before)?,
            not_after: ts(cert.validity().not_after)?,
            subject,
        })
    }

    /// Reads the certificate of a PEM or PKCS#12 file (no key needed for PEM).
    ///
    /// # Errors
    /// [`CertError::Read`], [`CertError::Pkcs12`], [`CertError::Pem`], [`CertError::X509`].
    pub fn load(path: &Path, password: Option<&str>) -> Result<Self, CertError> {
        let bytes = read(path)?;
        if is_pkcs12(&bytes) {
            ClientIdentity::from_pkcs12(&bytes, password.unwrap_or(""))?.info()
        } else {
            let der = CertificateDer::from_pem_slice(&bytes).map_err(|e| match e {
                rustls_pki_types::pem::Error::NoItemsFound => CertError::NoCertificate,
                e => CertError::Pem(e.to_string()),
            })?;
            Self::from_der(&der)
        }
    }

    /// Whole days from `now` to expiry (negative once expired).
    #[must_use]
    pub fn days_left(&self, now: DateTime<Utc>) -> i64 {
        (self.not_after - now).num_days()
    }

    /// The status at `now` with a warning window of `warn_days`.
    #[must_use]
    pub fn status(&self, now: DateTime<Utc>, warn_days: u32) -> CertStatus {
        if now < self.not_before {
            return CertStatus::NotYetValid;
        }
        if now > self.not_after {
            return CertStatus::Expired {
                days_ago: (now - self.not_after).num_days(),
            };
        }
        let days_left = self.days_left(now);
        if days_left < i64::from(warn_days) {
            CertStatus::ExpiringSoon { days_left }
        } else {
            CertStatus::Valid { days_left }
        }
    }
}

fn find_a2a(s: &str) -> Option<CodiceA2a> {
    let b = s.as_bytes();
    (0..b.len().saturating_sub(11)).find_map(|i| s.get(i..i + 12).and_then(|c| c.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a2a_code_in_subject() {
        assert_eq!(
            find_a2a("CN=A2A-12345678, O=Comune").map(|c| c.to_string()),
            Some("A2A-12345678".to_owned())
        );
        assert_eq!(
            find_a2a("CN=postazione, OU=A2A-00000001"),
            "A2A-00000001".parse().ok()
        );
        assert_eq!(find_a2a("CN=nessuno"), None);
        assert_eq!(find_a2a("A2A-1234"), None);
        assert_eq!(
            find_a2a("CN=àèìòù A2A-12345678"),
            "A2A-12345678".parse().ok()
        );
    }
}
