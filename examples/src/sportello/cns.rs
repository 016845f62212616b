//! "Entra con CNS": smart-card login (CNS / TS-CNS, and the CIE's own certificate) on a
//! dedicated TLS listener that asks the browser for the card certificate, verified by `cie::cns`.
//!
//! On embedded defaults a demo PKI is generated at start: a CA standing for the card issuers,
//! the listener's server certificate, an empty CRL, and one CNS card for Mario Rossi written to
//! the data directory (`carta-cns-demo.crt` / `.key`, to import into a browser). Real issuer lists
//! and CRLs replace them by configuration.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cie::cns::axum::{CardLogin, serve_tls, server_config};
use cie::cns::{CardVerifier, CrlChecker, IssuerList};
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CustomExtension,
    DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::db::Db;
use super::{StartError, component};

/// Where a card login for one ente leads: its sessions, its area, its cookie path.
#[derive(Clone)]
pub(crate) struct CnsTarget {
    /// The ente's id (`/login/cns/{id}`).
    pub(crate) id: String,
    /// The ente's sessions.
    pub(crate) db: Arc<Db>,
    /// `…/area` of the ente.
    pub(crate) area_url: String,
    /// `Path` of the session cookie (the ente's prefix, `/` at the root).
    pub(crate) cookie_path: String,
}

/// The CNS authentication certificate policy (`1.3.76.16.2.1`) as a certificatePolicies value.
const CNS_POLICY_EXT: [u8; 11] = [
    0x30, 0x09, 0x30, 0x07, 0x06, 0x05, 0x2B, 0x4C, 0x10, 0x02, 0x01,
];

/// Where the demo card was written.
#[derive(Debug, Clone)]
pub struct DemoCard {
    /// PEM certificate of the card.
    pub certificate: PathBuf,
    /// PEM private key of the card.
    pub key: PathBuf,
    /// PEM certificate of the demo issuer CA (also the listener's trust anchor).
    pub ca: PathBuf,
}

#[derive(Clone)]
struct CnsState {
    verifier: Arc<CardVerifier>,
    targets: Arc<Vec<CnsTarget>>,
}

impl FromRef<CnsState> for Arc<CardVerifier> {
    fn from_ref(s: &CnsState) -> Self {
        Arc::clone(&s.verifier)
    }
}

fn dn(parts: &[(DnType, &str)]) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    for (t, v) in parts {
        d.push(t.clone(), *v);
    }
    d
}

fn write(path: &Path, contents: &[u8]) -> Result<(), StartError> {
    std::fs::write(path, contents).map_err(|e| StartError::State {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

/// Generates the demo PKI, writes the demo card, and starts the card-login listener on
/// `127.0.0.1:port`. Returns the listener's address and the demo card's files.
pub(crate) async fn start(
    port: u16,
    data_dir: &Path,
    targets: Vec<CnsTarget>,
) -> Result<(SocketAddr, DemoCard), StartError> {
    let err = component("CNS");
    let e = |x: rcgen::Error| err(x.to_string());

    let ca_key = KeyPair::generate().map_err(e)?;
    let mut ca_params = CertificateParams::default();
    ca_params.distinguished_name = dn(&[
        (DnType::CountryName, "IT"),
        (DnType::OrganizationName, "Regione di Esempio"),
        (DnType::CommonName, "CA CNS di prova"),
    ]);
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca_params.self_signed(&ca_key).map_err(e)?;
    let ca_pem = ca_cert.pem();
    let ca = Issuer::new(ca_params, ca_key);

    // The listener's own certificate.
    let server_key = KeyPair::generate().map_err(e)?;
    let mut sp = CertificateParams::new(vec!["localhost".to_owned()]).map_err(e)?;
    sp.subject_alt_names
        .push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    sp.distinguished_name = dn(&[(DnType::CommonName, "sportello CNS")]);
    sp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = sp.signed_by(&server_key, &ca).map_err(e)?;

    // The demo card: CNS profile, fiscal code in the CN with card id and hash.
    let card_key = KeyPair::generate().map_err(e)?;
    let mut cp = CertificateParams::default();
    cp.distinguished_name = dn(&[
        (DnType::CountryName, "IT"),
        (DnType::OrganizationName, "Regione di Esempio"),
        (DnType::CustomDnType(vec![2, 5, 4, 4]), "ROSSI"),
        (DnType::CustomDnType(vec![2, 5, 4, 42]), "MARIO"),
        (
            DnType::CommonName,
            "RSSMRA85T10A562S/8039000100001234.ZGVtbyBjYXJkIGhhc2g=",
        ),
        (DnType::CustomDnType(vec![2, 5, 4, 46]), "8039000100001234"),
    ]);
    cp.serial_number = Some(SerialNumber::from(vec![0x1c, 0x00, 0x01]));
    cp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    cp.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    cp.custom_extensions.push(CustomExtension::from_oid_content(
        &[2, 5, 29, 32],
        CNS_POLICY_EXT.to_vec(),
    ));
    let card_cert = cp.signed_by(&card_key, &ca).map_err(e)?;

    // An empty CRL of the demo CA: revocation is checked, nothing is revoked.
    let now = rcgen::date_time_ymd(2020, 1, 1);
    let crl = CertificateRevocationListParams {
        this_update: now,
        next_update: rcgen::date_time_ymd(2040, 1, 1),
        crl_number: SerialNumber::from(vec![1]),
        issuing_distribution_point: None,
        revoked_certs: Vec::new(),
        key_identifier_method: KeyIdMethod::Sha256,
    }
    .signed_by(&ca)
    .map_err(e)?;

    let card = DemoCard {
        certificate: data_dir.join("carta-cns-demo.crt"),
        key: data_dir.join("carta-cns-demo.key"),
        ca: data_dir.join("ca-cns-demo.crt"),
    };
    write(&card.certificate, card_cert.pem().as_bytes())?;
    write(&card.key, card_key.serialize_pem().as_bytes())?;
    write(&card.ca, ca_pem.as_bytes())?;
    let crl_path = data_dir.join("ca-cns-demo.crl");
    write(&crl_path, crl.der())?;

    let issuers = IssuerList::from_pem(ca_pem.as_bytes()).map_err(|x| err(x.to_string()))?;
    let revocation = CrlChecker::from_files([&crl_path]).map_err(|x| err(x.to_string()))?;
    let key = PrivateKeyDer::from_pem_slice(server_key.serialize_pem().as_bytes())
        .map_err(|x| err(x.to_string()))?;
    let tls = server_config(
        vec![CertificateDer::from(server_cert.der().to_vec())],
        key,
        &issuers,
    )
    .map_err(|x| err(x.to_string()))?;
    let state = CnsState {
        verifier: Arc::new(CardVerifier::new(issuers, revocation)),
        targets: Arc::new(targets),
    };
    // `/login/cns` logs in to the first ente (the only one of the single-ente demo),
    // `/login/cns/{id}` to the ente `id`.
    let app = Router::new()
        .route("/login/cns", get(login_first))
        .route("/login/cns/{id}", get(login))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| StartError::Bind { port, source })?;
    let addr = listener
        .local_addr()
        .map_err(|source| StartError::Bind { port, source })?;
    tokio::spawn(serve_tls(listener, Arc::new(tls), app));
    Ok((addr, card))
}

async fn login_first(st: State<CnsState>, card: CardLogin) -> Response {
    let id = st.targets.first().map(|t| t.id.clone()).unwrap_or_default();
    login(st, axum::extract::Path(id), card).await
}

/// The card was verified by the extractor (chain, validity, usage, policy, CRL): open a session
/// at the ente `id`.
async fn login(
    State(st): State<CnsState>,
    axum::extract::Path(id): axum::extract::Path<String>,
    CardLogin(card): CardLogin,
) -> Response {
    let Some(target) = st.targets.iter().find(|t| t.id == id) else {
        return (axum::http::StatusCode::NOT_FOUND, "ente sconosciuto").into_response();
    };
    let citizen = pa_types::CitizenIdentity::from(card);
    let sid = uuid::Uuid::new_v4().simple().to_string();
    let json = serde_json::to_string(&citizen).unwrap_or_default();
    if target.db.put_session(&sid, &json).await.is_err() {
        return (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "sessione non disponibile",
        )
            .into_response();
    }
    let mut r = axum::http::StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(&target.area_url) {
        r.headers_mut().insert(axum::http::header::LOCATION, v);
    }
    // Cookies are shared by every port of a host: the session opened here is valid on the portal.
    if let Ok(v) = HeaderValue::from_str(&format!(
        "sportello_sid={sid}; Path={}; HttpOnly; SameSite=Lax",
        target.cookie_path
    )) {
        r.headers_mut().insert(SET_COOKIE, v);
    }
    r
}
