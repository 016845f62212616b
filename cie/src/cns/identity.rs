//! The identity read from a CNS / TS-CNS / CIE authentication certificate, and the common identity
//! type that every login method (SPID, CIE SAML, smart card) converts into.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use pa_types::{CitizenIdentity, CodiceFiscale, LoginMethod};
use x509_parser::prelude::X509Certificate;

use super::cert::{
    OID_CN, OID_DN_QUALIFIER, OID_GIVEN_NAME, OID_ORGANIZATION, OID_SERIAL_NUMBER, OID_SURNAME,
    first_attr_lossy, name_to_string, parse_der, serial_hex, single_attr, to_utc,
};
use super::error::{CertRole, Error, FiscalCodeSource, IdentityError, VerifyError};

/// Certificate policy of CNS authentication certificates (AgID: `{uninfo(76) agid(16)
/// authentication(2) cns(1)}`).
pub const POLICY_CNS: &str = "1.3.76.16.2.1";
/// Certificate policy of CIE authentication certificates (Ministero dell'Interno, `1.3.76.47.4`).
pub const POLICY_CIE: &str = "1.3.76.47.4";

/// Which card profile a certificate follows, read from its certificate policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum CardProfile {
    /// Carta Nazionale dei Servizi, including the TS-CNS (the health card that is also a CNS):
    /// policy [`POLICY_CNS`]. The TS-CNS uses the same certificate profile as every CNS.
    Cns,
    /// Carta d'Identità Elettronica: policy [`POLICY_CIE`].
    Cie,
    /// Neither policy (a "CNS-like" authentication certificate of a commercial CA); accepted only
    /// when the verifier is told to accept its policy.
    Other,
}

impl std::fmt::Display for CardProfile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CardProfile::Cns => "CNS",
            CardProfile::Cie => "CIE",
            CardProfile::Other => "other",
        })
    }
}

/// The holder's identity as read from a card authentication certificate.
///
/// Built by [`CardIdentity::from_der`] (parsing only: no trust decision) or, after full verification,
/// by [`CardVerifier::verify`](super::CardVerifier::verify).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CardIdentity {
    /// The holder's fiscal code.
    pub fiscal_code: CodiceFiscale,
    /// Which attribute the fiscal code was read from.
    pub fiscal_code_source: FiscalCodeSource,
    /// `givenName`, when present.
    pub given_name: Option<String>,
    /// `surname`, when present.
    pub family_name: Option<String>,
    /// The subject `commonName`, when present.
    pub common_name: Option<String>,
    /// The card identifier from a CNS commonName `<CF>/<card id>.<hash>`.
    pub card_id: Option<String>,
    /// The hash part of a CNS commonName, as written (base64 text).
    pub card_id_hash: Option<String>,
    /// The subject `dnQualifier`, when present (a unique holder or card identifier set by the CA).
    pub dn_qualifier: Option<String>,
    /// The card profile, from the certificate policies.
    pub profile: CardProfile,
    /// The certificate policies, dotted OIDs.
    pub policies: Vec<String>,
    /// Issuer distinguished name, as text.
    pub issuer: String,
    /// Issuer `commonName`, when present.
    pub issuer_common_name: Option<String>,
    /// Issuer `organizationName`, when present (the administration that issued the card).
    pub issuer_organization: Option<String>,
    /// Certificate serial number, upper-case hex.
    pub certificate_serial: String,
    /// Start of validity.
    pub not_before: DateTime<Utc>,
    /// End of validity.
    pub not_after: DateTime<Utc>,
}

impl CardIdentity {
    /// Reads the identity from a DER certificate. This does **not** verify anything: use
    /// [`CardVerifier`](super::CardVerifier) before trusting the result.
    ///
    /// # Errors
    /// [`Error::Certificate`] when the bytes are not a certificate, [`Error::Identity`] when no
    /// valid fiscal code can be read or the subject is ambiguous.
    pub fn from_der(der: &[u8]) -> Result<Self, Error> {
        let cert = parse_der(der, CertRole::Card)?;
        Self::from_parsed(&cert)
    }

    /// Reads the identity from the first certificate of a PEM input (see [`CardIdentity::from_der`]).
    ///
    /// # Errors
    /// As [`CardIdentity::from_der`], plus [`Error::Certificate`] for PEM without a certificate.
    pub fn from_pem(pem: &[u8]) -> Result<Self, Error> {
        let ders = super::cert::pem_certificates(pem)?;
        let first = ders.first().map(Vec::as_slice).unwrap_or_default();
        Self::from_der(first)
    }

    pub(crate) fn from_parsed(cert: &X509Certificate<'_>) -> Result<Self, Error> {
        let subject = cert.subject();
        let cn = single_attr(subject, OID_CN, "commonName")?;
        let serial_number = single_attr(subject, OID_SERIAL_NUMBER, "serialNumber")?;
        let given_name = single_attr(subject, OID_GIVEN_NAME, "givenName")?.map(str::to_owned);
        let family_name = single_attr(subject, OID_SURNAME, "surname")?.map(str::to_owned);
        let dn_qualifier =
            single_attr(subject, OID_DN_QUALIFIER, "dnQualifier")?.map(str::to_owned);

        let mut found: Vec<(CodiceFiscale, FiscalCodeSource)> = Vec::new();
        if let Some(sn) = serial_number {
            if let Some(code) = sn.strip_prefix("TINIT-") {
                found.push((
                    parse_cf(code, FiscalCodeSource::SerialNumberTinit)?,
                    FiscalCodeSource::SerialNumberTinit,
                ));
            } else if let Some(code) = sn.strip_prefix("IT:") {
                found.push((
                    parse_cf(code, FiscalCodeSource::SerialNumberIt)?,
                    FiscalCodeSource::SerialNumberIt,
                ));
            }
        }
        let mut card_id = None;
        let mut card_id_hash = None;
        if let Some(cn) = cn {
            if let Some((code, rest)) = cn.split_once('/') {
                if looks_like_cf(code) {
                    let cf = parse_cf(code, FiscalCodeSource::CommonNameCns)?;
                    let (id, hash) = match rest.split_once('.') {
                        Some((id, hash)) => (id, Some(hash)),
                        None => (rest, None),
                    };
                    if id.is_empty() {
                        return Err(IdentityError::MalformedCnsCommonName {
                            value: cn.to_owned(),
                        }
                        .into());
                    }
                    card_id = Some(id.to_owned());
                    card_id_hash = hash.filter(|h| !h.is_empty()).map(str::to_owned);
                    found.push((cf, FiscalCodeSource::CommonNameCns));
                }
            } else if looks_like_cf(cn) {
                found.push((
                    parse_cf(cn, FiscalCodeSource::CommonName)?,
                    FiscalCodeSource::CommonName,
                ));
            }
        }

        let mut iter = found.into_iter();
        let Some((fiscal_code, fiscal_code_source)) = iter.next() else {
            return Err(IdentityError::NoFiscalCode {
                subject: name_to_string(subject),
            }
            .into());
        };
        for (other, other_source) in iter {
            if other != fiscal_code {
                return Err(IdentityError::ConflictingFiscalCodes {
                    first: fiscal_code.to_string(),
                    first_source: fiscal_code_source,
                    second: other.to_string(),
                    second_source: other_source,
                }
                .into());
            }
        }

        let policies = policies(cert)?;
        let profile = if policies.iter().any(|p| p == POLICY_CNS) {
            CardProfile::Cns
        } else if policies.iter().any(|p| p == POLICY_CIE) {
            CardProfile::Cie
        } else {
            CardProfile::Other
        };

        let validity = cert.validity();
        Ok(CardIdentity {
            fiscal_code,
            fiscal_code_source,
            given_name,
            family_name,
            common_name: cn.map(str::to_owned),
            card_id,
            card_id_hash,
            dn_qualifier,
            profile,
            policies,
            issuer: name_to_string(cert.issuer()),
            issuer_common_name: first_attr_lossy(cert.issuer(), OID_CN),
            issuer_organization: first_attr_lossy(cert.issuer(), OID_ORGANIZATION),
            certificate_serial: serial_hex(cert.raw_serial()),
            not_before: to_utc(validity.not_before),
            not_after: to_utc(validity.not_after),
        })
    }

    /// The common identity of this login (same as `CitizenIdentity::from(identity.clone())`).
    pub fn to_citizen_identity(&self) -> CitizenIdentity {
        CitizenIdentity::from(self.clone())
    }
}

/// The certificate policies as dotted OIDs (empty when the extension is absent).
pub(crate) fn policies(cert: &X509Certificate<'_>) -> Result<Vec<String>, VerifyError> {
    use x509_parser::extensions::ParsedExtension;
    let mut out = Vec::new();
    for ext in cert.extensions() {
        if ext.oid.to_id_string() == "2.5.29.32" {
            match ext.parsed_extension() {
                ParsedExtension::CertificatePolicies(p) => {
                    out.extend(p.iter().map(|pi| pi.policy_id.to_id_string()));
                }
                _ => {
                    return Err(VerifyError::MalformedExtension {
                        role: CertRole::Card,
                        reason: "certificatePolicies does not decode".into(),
                    });
                }
            }
        }
    }
    Ok(out)
}

/// Sixteen ASCII letters and digits: the shape of a personal fiscal code (omocodia included).
fn looks_like_cf(s: &str) -> bool {
    s.len() == 16 && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

fn parse_cf(value: &str, source: FiscalCodeSource) -> Result<CodiceFiscale, IdentityError> {
    CodiceFiscale::from_str(value).map_err(|e| IdentityError::InvalidFiscalCode {
        source_field: source,
        value: value.to_owned(),
        reason: e.to_string(),
    })
}

impl From<CardIdentity> for CitizenIdentity {
    fn from(card: CardIdentity) -> Self {
        let method = match card.profile {
            CardProfile::Cns => LoginMethod::Cns,
            CardProfile::Cie => LoginMethod::CieCard,
            CardProfile::Other => LoginMethod::OtherCard,
        };
        CitizenIdentity::new(card.fiscal_code, method, card.issuer)
            .with_names(card.given_name, card.family_name)
    }
}
