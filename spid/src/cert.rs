//! SP key pair and self-signed certificate per Avviso SPID n. 29 v3.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use rcgen::{
    CertificateParams, CustomExtension, DistinguishedName, DnType, DnValue, IsCa, KeyPair,
    KeyUsagePurpose, PKCS_RSA_SHA256, SerialNumber,
};
use rsa::pkcs8::EncodePrivateKey;

use crate::error::KeyError;

/// The SP's signing credentials: an RSA private key (PKCS#8) and its X.509 certificate.
///
/// `Debug` never shows the key.
#[derive(Clone)]
pub struct SpCredentials {
    key_pkcs8_der: Vec<u8>,
    cert_der: Vec<u8>,
    signing_key: std::sync::Arc<xmldsig::SigningKey>,
    certificate: xmldsig::Certificate,
}

impl fmt::Debug for SpCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpCredentials")
            .field("key", &"[redacted]")
            .field("cert_der_len", &self.cert_der.len())
            .finish()
    }
}

fn pem_body(pem: &str, labels: &[&str]) -> Result<(String, Vec<u8>), KeyError> {
    let dec = |d: String| KeyError::Decode {
        what: "PEM",
        detail: d,
    };
    let start = pem
        .find("-----BEGIN ")
        .ok_or_else(|| dec("no BEGIN line".into()))?;
    let rest = &pem[start + 11..];
    let end_label = rest
        .find("-----")
        .ok_or_else(|| dec("unterminated BEGIN line".into()))?;
    let label = rest[..end_label].to_owned();
    if !labels.contains(&label.as_str()) {
        return Err(dec(format!("unexpected label {label:?}")));
    }
    let body_start = end_label + 5;
    let end_marker = format!("-----END {label}-----");
    let body_end = rest[body_start..]
        .find(&end_marker)
        .map(|p| p + body_start)
        .ok_or_else(|| dec("no END line".into()))?;
    let body: String = rest[body_start..body_end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = B64
        .decode(body.as_bytes())
        .map_err(|e| dec(e.to_string()))?;
    Ok((label, der))
}

fn der_to_pem(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

impl SpCredentials {
    /// Loads a PEM private key (`PRIVATE KEY` PKCS#8 or `RSA PRIVATE KEY` PKCS#1) and a PEM
    /// certificate.
    ///
    /// # Errors
    /// [`KeyError::Decode`] when either PEM cannot be read or the key is not a usable RSA key.
    pub fn from_pem(key_pem: &str, cert_pem: &str) -> Result<Self, KeyError> {
        let (label, key_der) = pem_body(key_pem, &["PRIVATE KEY", "RSA PRIVATE KEY"])?;
        let key_pkcs8_der = if label == "RSA PRIVATE KEY" {
            use rsa::pkcs1::DecodeRsaPrivateKey;
            let k = rsa::RsaPrivateKey::from_pkcs1_der(&key_der).map_err(|e| KeyError::Decode {
                what: "PKCS#1 key",
                detail: e.to_string(),
            })?;
            k.to_pkcs8_der()
                .map_err(|e| KeyError::Decode {
                    what: "PKCS#1 key",
                    detail: e.to_string(),
                })?
                .as_bytes()
                .to_vec()
        } else {
            key_der
        };
        let (_, cert_der) = pem_body(cert_pem, &["CERTIFICATE"])?;
        Self::from_der(key_pkcs8_der, cert_der)
    }

    /// Builds credentials from a PKCS#8 DER RSA key and a DER certificate.
    ///
    /// # Errors
    /// [`KeyError::Decode`] when the key is not an RSA key `ring` accepts.
    pub fn from_der(key_pkcs8_der: Vec<u8>, cert_der: Vec<u8>) -> Result<Self, KeyError> {
        ring::signature::RsaKeyPair::from_pkcs8(&key_pkcs8_der).map_err(|e| KeyError::Decode {
            what: "RSA PKCS#8 key",
            detail: e.to_string(),
        })?;
        let signing_key =
            xmldsig::SigningKey::from_pkcs8_der(&key_pkcs8_der).map_err(|e| KeyError::Decode {
                what: "RSA PKCS#8 key",
                detail: e.to_string(),
            })?;
        let certificate =
            xmldsig::Certificate::from_der(&cert_der).map_err(|e| KeyError::Decode {
                what: "certificate",
                detail: e.to_string(),
            })?;
        Ok(SpCredentials {
            key_pkcs8_der,
            cert_der,
            signing_key: std::sync::Arc::new(signing_key),
            certificate,
        })
    }

    pub(crate) fn signing_key(&self) -> &xmldsig::SigningKey {
        &self.signing_key
    }

    pub(crate) fn certificate(&self) -> &xmldsig::Certificate {
        &self.certificate
    }

    /// The certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.cert_der
    }

    /// The certificate, base64 as in `ds:X509Certificate`.
    pub fn certificate_base64(&self) -> String {
        B64.encode(&self.cert_der)
    }

    /// The certificate, PEM.
    pub fn certificate_pem(&self) -> String {
        der_to_pem("CERTIFICATE", &self.cert_der)
    }

    /// The private key, PKCS#8 PEM. Handle with care.
    pub fn private_key_pem(&self) -> String {
        der_to_pem("PRIVATE KEY", &self.key_pkcs8_der)
    }

    /// The private key, PKCS#8 DER. Handle with care.
    pub fn private_key_der(&self) -> &[u8] {
        &self.key_pkcs8_der
    }

    /// RSA-SHA256 (PKCS#1 v1.5) signature of `data`.
    ///
    /// # Errors
    /// [`KeyError::Sign`] if the key is unusable.
    pub fn sign_rsa_sha256(&self, data: &[u8]) -> Result<Vec<u8>, KeyError> {
        xmldsig::sign_bytes(
            &self.signing_key,
            xmldsig::SignatureAlgorithm::RsaSha256,
            data,
        )
        .map_err(|e| KeyError::Sign(e.to_string()))
    }
}

/// The identifying data of an SP certificate (Avviso 29 v3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSubject {
    /// `CN`: the name of the service.
    pub common_name: String,
    /// `O`: the organization's full name.
    pub organization: String,
    /// `uri` (2.5.4.83): the SP entityID.
    pub entity_id: String,
    /// `organizationIdentifier` (2.5.4.97).
    pub organization_identifier: OrganizationIdentifier,
    /// `L`: locality.
    pub locality: String,
    /// `C`: ISO 3166 country code (default `IT`).
    pub country: String,
}

/// The `organizationIdentifier` value, which also selects the sector's policy OID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrganizationIdentifier {
    /// Public sector: `PA:IT-<IPA code>`.
    PublicAdministration(pa_types::CodiceIpa),
    /// Private sector by VAT number: `VATIT-<11 digits>`.
    Vat(pa_types::PartitaIva),
    /// Private sector by personal fiscal code: `CF:IT-<16 characters>`.
    FiscalCode(pa_types::CodiceFiscale),
}

impl OrganizationIdentifier {
    /// The attribute value.
    pub fn value(&self) -> String {
        match self {
            OrganizationIdentifier::PublicAdministration(ipa) => format!("PA:IT-{ipa}"),
            OrganizationIdentifier::Vat(v) => format!("VATIT-{v}"),
            OrganizationIdentifier::FiscalCode(cf) => format!("CF:IT-{cf}"),
        }
    }

    /// `true` for the public sector.
    pub fn is_public(&self) -> bool {
        matches!(self, OrganizationIdentifier::PublicAdministration(_))
    }
}

/// RSA modulus size of a generated key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RsaKeySize {
    /// 2048 bits.
    Rsa2048,
    /// 3072 bits (the size AgID recommends).
    #[default]
    Rsa3072,
    /// 4096 bits.
    Rsa4096,
}

impl RsaKeySize {
    fn bits(self) -> usize {
        match self {
            RsaKeySize::Rsa2048 => 2048,
            RsaKeySize::Rsa3072 => 3072,
            RsaKeySize::Rsa4096 => 4096,
        }
    }
}

/// Generates a new RSA key (PKCS#8 DER).
///
/// # Errors
/// [`KeyError::Generate`] if the generator fails.
pub fn generate_rsa_key(size: RsaKeySize) -> Result<Vec<u8>, KeyError> {
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, size.bits())
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    let doc = key
        .to_pkcs8_der()
        .map_err(|e| KeyError::Generate(e.to_string()))?;
    Ok(doc.as_bytes().to_vec())
}

// ---- minimal DER writer for the CertificatePolicies extension ----

fn der_len(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    der_len(content.len(), &mut out);
    out.extend_from_slice(content);
    out
}

fn der_oid(arcs: &[u64]) -> Vec<u8> {
    let mut content = Vec::new();
    let mut push_arc = |mut v: u64| {
        let mut tmp = vec![(v & 0x7f) as u8];
        v >>= 7;
        while v > 0 {
            tmp.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        tmp.reverse();
        content.extend_from_slice(&tmp);
    };
    push_arc(arcs[0] * 40 + arcs[1]);
    for a in &arcs[2..] {
        push_arc(*a);
    }
    der_tlv(0x06, &content)
}

/// PolicyInformation with a UserNotice explicitText qualifier.
fn policy_with_notice(oid: &[u64], text: &str) -> Vec<u8> {
    let user_notice = der_tlv(0x30, &der_tlv(0x0c, text.as_bytes()));
    let mut qualifier_info = der_oid(&[1, 3, 6, 1, 5, 5, 7, 2, 2]);
    qualifier_info.extend_from_slice(&user_notice);
    let qualifiers = der_tlv(0x30, &der_tlv(0x30, &qualifier_info));
    let mut info = der_oid(oid);
    info.extend_from_slice(&qualifiers);
    der_tlv(0x30, &info)
}

/// OID of the AgID certificate policy (`agIDcert`).
pub const POLICY_AGID_CERT: &str = "1.3.76.16.6";
/// OID of the SPID public-sector SP policy.
pub const POLICY_SPID_PUBLIC_SP: &str = "1.3.76.16.4.2.1";
/// OID of the SPID private-sector SP policy.
pub const POLICY_SPID_PRIVATE_SP: &str = "1.3.76.16.4.3.1";

/// Generates a new key and an Avviso-29-v3 self-signed certificate valid for `validity_days`.
///
/// Subject: CN, O, `uri` = entityID, `organizationIdentifier`, L, C and nothing personal.
/// Extensions: basicConstraints CA:FALSE (not critical), keyUsage critical digitalSignature +
/// nonRepudiation, certificatePolicies `agIDcert` plus the public or private SP policy.
/// Signature: RSA with SHA-256.
///
/// # Errors
/// [`KeyError`] if key or certificate generation fails.
pub fn generate_sp_certificate(
    subject: &CertificateSubject,
    size: RsaKeySize,
    validity_days: u32,
) -> Result<SpCredentials, KeyError> {
    let key = generate_rsa_key(size)?;
    certificate_for_key(subject, key, validity_days)
}

/// Like [`generate_sp_certificate`] for an existing PKCS#8 DER RSA key.
///
/// # Errors
/// [`KeyError`] if the key is unusable or certificate generation fails.
pub fn certificate_for_key(
    subject: &CertificateSubject,
    key_pkcs8_der: Vec<u8>,
    validity_days: u32,
) -> Result<SpCredentials, KeyError> {
    let cert_err = |e: rcgen::Error| KeyError::Certificate(e.to_string());
    let der = rustls_pki_types_pkcs8(&key_pkcs8_der);
    let key_pair =
        KeyPair::from_pkcs8_der_and_sign_algo(&der, &PKCS_RSA_SHA256).map_err(cert_err)?;

    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(
        DnType::CommonName,
        DnValue::Utf8String(subject.common_name.clone()),
    );
    dn.push(
        DnType::OrganizationName,
        DnValue::Utf8String(subject.organization.clone()),
    );
    dn.push(
        DnType::CustomDnType(vec![2, 5, 4, 83]),
        DnValue::Utf8String(subject.entity_id.clone()),
    );
    dn.push(
        DnType::CustomDnType(vec![2, 5, 4, 97]),
        DnValue::Utf8String(subject.organization_identifier.value()),
    );
    dn.push(
        DnType::LocalityName,
        DnValue::Utf8String(subject.locality.clone()),
    );
    dn.push(
        DnType::CountryName,
        DnValue::PrintableString(subject.country.clone().try_into().map_err(cert_err)?),
    );
    params.distinguished_name = dn;
    params.is_ca = IsCa::NoCa;
    params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::ContentCommitment,
    ];
    params.use_authority_key_identifier_extension = false;
    let now = time_now();
    params.not_before = now;
    params.not_after = now + rcgen_duration_days(validity_days);
    let mut serial = [0u8; 16];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut serial)
        .map_err(|_| KeyError::Certificate("random serial".into()))?;
    serial[0] &= 0x7f;
    params.serial_number = Some(SerialNumber::from_slice(&serial));

    // basicConstraints CA:FALSE, not critical (rcgen marks its own critical).
    params
        .custom_extensions
        .push(CustomExtension::from_oid_content(
            &[2, 5, 29, 19],
            vec![0x30, 0x00],
        ));
    let (sector_oid, sector_text): (&[u64], &str) = if subject.organization_identifier.is_public() {
        (&[1, 3, 76, 16, 4, 2, 1], "cert_SP_Pub")
    } else {
        (&[1, 3, 76, 16, 4, 3, 1], "cert_SP_Priv")
    };
    let mut policies = policy_with_notice(&[1, 3, 76, 16, 6], "agIDcert");
    policies.extend_from_slice(&policy_with_notice(sector_oid, sector_text));
    params
        .custom_extensions
        .push(CustomExtension::from_oid_content(
            &[2, 5, 29, 32],
            der_tlv(0x30, &policies),
        ));

    let cert = params.self_signed(&key_pair).map_err(cert_err)?;
    SpCredentials::from_der(key_pkcs8_der, cert.der().to_vec())
}

fn rustls_pki_types_pkcs8(der: &[u8]) -> rustls_pki_types::PrivatePkcs8KeyDer<'static> {
    rustls_pki_types::PrivatePkcs8KeyDer::from(der.to_vec())
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn rcgen_duration_days(days: u32) -> time::Duration {
    time::Duration::days(i64::from(days))
}
