//! Test PKI for smart-card login: CAs, card certificates of each profile, CRLs (all generated with
//! rcgen at test time; nothing here is a real card).
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CrlDistributionPoint,
    CustomExtension, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod,
    KeyPair, KeyUsagePurpose, RevocationReason, RevokedCertParams, SerialNumber, date_time_ymd,
};

/// Valid CFs (check character computed).
pub const CF_ROSSI: &str = "RSSMRA80A01H501U";
pub const CF_BIANCHI: &str = "BNCLCU85M41F205T";
pub const CF_VERDI: &str = "VRDGPP70T10L219Z";
pub const CF_NERI: &str = "NRELSN90C45A944D";

pub const CNS_POLICY: &[u64] = &[1, 3, 76, 16, 2, 1];
pub const CIE_POLICY: &[u64] = &[1, 3, 76, 47, 4];

/// "Now" for every test: 2026-06-01.
pub fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339("2026-06-01T12:00:00Z")
        .unwrap()
        .to_utc()
}

pub struct Ca {
    pub der: Vec<u8>,
    pub pem: String,
    pub issuer: Issuer<'static, KeyPair>,
}

fn dn(parts: &[(DnType, &str)]) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    for (t, v) in parts {
        d.push(t.clone(), *v);
    }
    d
}

fn ca_params(cn: &str, org: &str) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(&[
        (DnType::CountryName, "IT"),
        (DnType::OrganizationName, org),
        (DnType::CommonName, cn),
    ]);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    p.not_before = date_time_ymd(2020, 1, 1);
    p.not_after = date_time_ymd(2040, 1, 1);
    p
}

/// A self-signed root CA.
pub fn root_ca(cn: &str, org: &str) -> Ca {
    let key = KeyPair::generate().unwrap();
    let params = ca_params(cn, org);
    let cert = params.self_signed(&key).unwrap();
    Ca {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// A CA with custom params, signed by `parent`.
pub fn sub_ca_with(parent: &Ca, params: CertificateParams) -> Ca {
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &parent.issuer).unwrap();
    Ca {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        issuer: Issuer::new(params, key),
    }
}

/// An intermediate CA signed by `parent`.
pub fn sub_ca(parent: &Ca, cn: &str, org: &str) -> Ca {
    sub_ca_with(parent, ca_params(cn, org))
}

pub fn ca_params_pub(cn: &str, org: &str) -> CertificateParams {
    ca_params(cn, org)
}

/// DER of certificatePolicies with these policy OIDs.
fn policies_ext(oids: &[&[u64]]) -> CustomExtension {
    let mut inner = Vec::new();
    for oid in oids {
        let o = oid_der(oid);
        inner.push(0x30);
        inner.push(o.len() as u8);
        inner.extend(o);
    }
    let mut content = vec![0x30, inner.len() as u8];
    content.extend(inner);
    CustomExtension::from_oid_content(&[2, 5, 29, 32], content)
}

fn oid_der(arcs: &[u64]) -> Vec<u8> {
    let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for &a in &arcs[2..] {
        let mut tmp = vec![(a & 0x7f) as u8];
        let mut v = a >> 7;
        while v > 0 {
            tmp.push(((v & 0x7f) as u8) | 0x80);
            v >>= 7;
        }
        tmp.reverse();
        body.extend(tmp);
    }
    let mut out = vec![0x06, body.len() as u8];
    out.extend(body);
    out
}

/// What a card certificate looks like.
#[derive(Clone)]
pub struct CardSpec {
    pub subject: Vec<(DnType, String)>,
    pub policies: Vec<&'static [u64]>,
    pub eku: Vec<ExtendedKeyUsagePurpose>,
    pub key_usages: Vec<KeyUsagePurpose>,
    pub not_before: (i32, u8, u8),
    pub not_after: (i32, u8, u8),
    pub serial: u16,
    pub is_ca: bool,
    pub crl_dp: Option<String>,
    pub extra: Vec<CustomExtension>,
}

pub fn sn() -> DnType {
    DnType::CustomDnType(vec![2, 5, 4, 5])
}
pub fn surname() -> DnType {
    DnType::CustomDnType(vec![2, 5, 4, 4])
}
pub fn given_name() -> DnType {
    DnType::CustomDnType(vec![2, 5, 4, 42])
}
pub fn dn_qualifier() -> DnType {
    DnType::CustomDnType(vec![2, 5, 4, 46])
}

impl CardSpec {
    fn base(subject: Vec<(DnType, String)>, policy: &'static [u64], serial: u16) -> Self {
        CardSpec {
            subject,
            policies: vec![policy],
            eku: vec![ExtendedKeyUsagePurpose::ClientAuth],
            key_usages: vec![KeyUsagePurpose::DigitalSignature],
            not_before: (2025, 1, 1),
            not_after: (2030, 1, 1),
            serial,
            is_ca: false,
            crl_dp: None,
            extra: Vec::new(),
        }
    }

    /// CNS authentication certificate profile: CN `<CF>/<card id>.<hash>`, dnQualifier.
    pub fn cns(serial: u16) -> Self {
        Self::base(
            vec![
                (DnType::CountryName, "IT".into()),
                (DnType::OrganizationName, "Regione Test".into()),
                (surname(), "ROSSI".into()),
                (given_name(), "MARIO".into()),
                (
                    DnType::CommonName,
                    format!("{CF_ROSSI}/7420000100012345.Y2FyZCBpZCBoYXNoIGZvciB0ZXN0cw=="),
                ),
                (dn_qualifier(), "7420000100012345".into()),
            ],
            CNS_POLICY,
            serial,
        )
    }

    /// A TS-CNS (health card issued by a region): CNS profile, card id of a health card.
    pub fn ts_cns(serial: u16) -> Self {
        Self::base(
            vec![
                (DnType::CountryName, "IT".into()),
                (DnType::OrganizationName, "Regione Lazio Test".into()),
                (surname(), "BIANCHI".into()),
                (given_name(), "LUCIA".into()),
                (
                    DnType::CommonName,
                    format!("{CF_BIANCHI}/8038000000123456.aGVhbHRoIGNhcmQgaGFzaA=="),
                ),
                (dn_qualifier(), "8038000000123456".into()),
            ],
            CNS_POLICY,
            serial,
        )
    }

    /// Newer CNS profile: serialNumber `TINIT-<CF>`, CN the holder's name.
    pub fn cns_tinit(serial: u16) -> Self {
        Self::base(
            vec![
                (DnType::CountryName, "IT".into()),
                (surname(), "VERDI".into()),
                (given_name(), "GIUSEPPE".into()),
                (sn(), format!("TINIT-{CF_VERDI}")),
                (DnType::CommonName, "GIUSEPPE VERDI".into()),
                (dn_qualifier(), "WSREF-1234567".into()),
            ],
            CNS_POLICY,
            serial,
        )
    }

    /// CIE authentication certificate: CN the fiscal code, names, CIE policy.
    pub fn cie(serial: u16) -> Self {
        Self::base(
            vec![
                (DnType::CountryName, "IT".into()),
                (surname(), "NERI".into()),
                (given_name(), "ALESSANDRA".into()),
                (DnType::CommonName, CF_NERI.into()),
            ],
            CIE_POLICY,
            serial,
        )
    }

    /// A certificate with a name only: no fiscal code anywhere.
    pub fn no_fiscal_code(serial: u16) -> Self {
        Self::base(
            vec![
                (DnType::CountryName, "IT".into()),
                (surname(), "ROSSI".into()),
                (given_name(), "MARIO".into()),
                (DnType::CommonName, "MARIO ROSSI".into()),
            ],
            CNS_POLICY,
            serial,
        )
    }

    pub fn params(&self) -> CertificateParams {
        let mut p = CertificateParams::default();
        let mut d = DistinguishedName::new();
        for (t, v) in &self.subject {
            d.push(t.clone(), v.as_str());
        }
        p.distinguished_name = d;
        p.serial_number = Some(SerialNumber::from(vec![
            0x1c,
            (self.serial >> 8) as u8,
            self.serial as u8,
        ]));
        p.extended_key_usages = self.eku.clone();
        p.key_usages = self.key_usages.clone();
        p.not_before = date_time_ymd(self.not_before.0, self.not_before.1, self.not_before.2);
        p.not_after = date_time_ymd(self.not_after.0, self.not_after.1, self.not_after.2);
        if self.is_ca {
            p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        }
        if !self.policies.is_empty() {
            p.custom_extensions.push(policies_ext(&self.policies));
        }
        p.custom_extensions.extend(self.extra.iter().cloned());
        if let Some(uri) = &self.crl_dp {
            p.crl_distribution_points = vec![CrlDistributionPoint {
                uris: vec![uri.clone()],
            }];
        }
        p
    }
}

pub struct Card {
    pub der: Vec<u8>,
    pub cert_pem: String,
    pub key_pem: String,
}

impl Card {
    /// cert + key PEM, the form reqwest's `Identity::from_pem` reads.
    pub fn identity_pem(&self) -> Vec<u8> {
        format!("{}{}", self.cert_pem, self.key_pem).into_bytes()
    }
}

pub fn issue(ca: &Ca, spec: &CardSpec) -> Card {
    let key = KeyPair::generate().unwrap();
    let cert = spec.params().signed_by(&key, &ca.issuer).unwrap();
    Card {
        der: cert.der().to_vec(),
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}

/// A CRL of `ca` revoking `serials` (with keyCompromise), valid 2026-01-01 .. `next_update`.
pub fn crl(ca: &Ca, serials: &[u16], next_update: (i32, u8, u8)) -> (Vec<u8>, String) {
    let params = CertificateRevocationListParams {
        this_update: date_time_ymd(2026, 1, 1),
        next_update: date_time_ymd(next_update.0, next_update.1, next_update.2),
        crl_number: SerialNumber::from(vec![1]),
        issuing_distribution_point: None,
        revoked_certs: serials
            .iter()
            .map(|s| RevokedCertParams {
                serial_number: SerialNumber::from(vec![0x1c, (s >> 8) as u8, *s as u8]),
                revocation_time: date_time_ymd(2026, 2, 1),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let crl = params.signed_by(&ca.issuer).unwrap();
    (crl.der().to_vec(), crl.pem().unwrap())
}
