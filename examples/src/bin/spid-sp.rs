//! `spid-sp`: a SPID Service Provider on 127.0.0.1, the target of the `spid-sp-test` run.
//!
//! ```text
//! cargo run -p examples --bin spid-sp -- --port 8000 --idp-metadata idp.xml [--idp-metadata ...]
//! ```
//!
//! With `--aggregator pub-ag-full|pub-ag-lite|pri-ag-full|pri-ag-lite` the SP identity is an
//! aggregated entity's, published by a technology partner (Avviso SPID n. 19 v4): entityID
//! `BASE/<activity code>/<IPA code or VAT number>`, `spid:aggregator` and `spid:aggregated`
//! contacts; the aggregator kind sets the sector (`pub-*` public, `pri-*` private). Light kinds
//! publish the SP certificate as the aggregator's validation certificate.
//!
//! With `--cie` the same routes run "Entra con CIE" (the `cie` crate): CIE metadata, CIE
//! request and response rules.
//!
//! Routes: `GET /spid/metadata` (signed SP metadata), `GET /spid/login?idp=ENTITYID` (signed
//! AuthnRequest, HTTP-Redirect by default, `--binding post` for the POST form; sets a session
//! cookie), `POST /spid/acs` (200 with the identity as JSON; 4xx with the reason otherwise).
//! The SP key and certificate come from `--key`/`--cert` or are generated at start-up.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use clap::{Parser, ValueEnum};
use spid::{
    AuthnOptions, AuthnRequestMessage, Binding, CertificateSubject, Error, IdpMetadata,
    OrganizationIdentifier, ResponseError, RsaKeySize, ServiceProvider, SpConfig, SpCredentials,
};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Sector {
    Public,
    Private,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BindingArg {
    Redirect,
    Post,
}

/// A SPID Service Provider for conformance tests and demos.
#[derive(Debug, Parser)]
#[command(name = "spid-sp", version, about)]
struct Args {
    /// TCP port on 127.0.0.1.
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// IdP metadata file to trust (repeatable).
    #[arg(long = "idp-metadata", required = true)]
    idp_metadata: Vec<PathBuf>,
    /// Public base URL (default http://127.0.0.1:PORT); entityID is BASE/spid/metadata.
    #[arg(long)]
    base_url: Option<String>,
    /// Sector of the SP (metadata extensions and certificate policy).
    #[arg(long, value_enum, default_value_t = Sector::Public)]
    sector: Sector,
    /// Binding of the AuthnRequest.
    #[arg(long, value_enum, default_value_t = BindingArg::Redirect)]
    binding: BindingArg,
    /// SP private key (PEM); generated when absent.
    #[arg(long, requires = "cert")]
    key: Option<PathBuf>,
    /// SP certificate (PEM); generated when absent.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// Aggregator mode: the activity code of the aggregator kind (`pub-ag-full`, `pub-ag-lite`,
    /// `pri-ag-full`, `pri-ag-lite`); overrides `--sector`.
    #[arg(long, value_parser = parse_aggregator, conflicts_with = "cie")]
    aggregator: Option<spid::AggregatorKind>,
    /// "Entra con CIE" mode: CIE metadata at /spid/metadata, CIE rules at /spid/login and
    /// /spid/acs (the `cie` crate on the same engine).
    #[arg(long)]
    cie: bool,
}

struct AppState {
    sp: ServiceProvider,
    /// Set in `--cie` mode: then it serves every route instead of `sp`.
    cie: Option<cie::CieServiceProvider>,
    binding: Binding,
    secure_cookie: bool,
}

fn parse_aggregator(code: &str) -> Result<spid::AggregatorKind, String> {
    spid::AggregatorKind::from_activity_code(code).ok_or_else(|| {
        let codes: Vec<_> = spid::AggregatorKind::ALL
            .iter()
            .map(|k| k.activity_code())
            .collect();
        format!(
            "unknown aggregator kind {code:?}; one of {}",
            codes.join(", ")
        )
    })
}

fn fail(msg: String) -> std::process::ExitCode {
    eprintln!("spid-sp: {msg}");
    std::process::ExitCode::FAILURE
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    let base = args
        .base_url
        .clone()
        .unwrap_or_else(|| format!("http://127.0.0.1:{}", args.port));
    let base = base.trim_end_matches('/').to_owned();
    let mut config = match (args.aggregator, args.sector) {
        (Some(kind), _) => SpConfig::example_aggregated(&base, kind),
        (None, Sector::Public) => SpConfig::example_public(&base),
        (None, Sector::Private) => SpConfig::example_private(&base),
    };
    let creds = match (&args.key, &args.cert) {
        (Some(k), Some(c)) => {
            let (k, c) = match (std::fs::read_to_string(k), std::fs::read_to_string(c)) {
                (Ok(k), Ok(c)) => (k, c),
                (Err(e), _) | (_, Err(e)) => return fail(format!("reading key/cert: {e}")),
            };
            match SpCredentials::from_pem(&k, &c) {
                Ok(c) => c,
                Err(e) => return fail(e.to_string()),
            }
        }
        _ => {
            let org_id = match &config.sector {
                spid::Sector::Public { ipa_code, .. } => {
                    OrganizationIdentifier::PublicAdministration(ipa_code.clone())
                }
                spid::Sector::Private {
                    vat_number: Some(v),
                    ..
                } => OrganizationIdentifier::Vat(v.clone()),
                spid::Sector::Private { .. } => {
                    return fail("private example needs a VAT number".into());
                }
            };
            let subject = CertificateSubject {
                common_name: "spid-sp example".into(),
                organization: config.organization.names[0].value.clone(),
                entity_id: config.entity_id.clone(),
                organization_identifier: org_id,
                locality: "Roma".into(),
                country: "IT".into(),
            };
            match spid::generate_sp_certificate(&subject, RsaKeySize::Rsa2048, 365) {
                Ok(c) => c,
                Err(e) => return fail(e.to_string()),
            }
        }
    };
    if let Some(ag) = config.aggregator.as_mut()
        && ag.kind.is_light()
    {
        ag.validation_certificate = Some(creds.certificate_pem());
    }
    let mut cie_sp = if args.cie {
        let cie_config = match args.sector {
            Sector::Public => cie::CieSpConfig::example_public(&base),
            Sector::Private => cie::CieSpConfig::example_private(&base),
        };
        match cie::CieServiceProvider::new(cie_config, creds.clone()) {
            Ok(c) => Some(c),
            Err(e) => return fail(e.to_string()),
        }
    } else {
        None
    };
    let mut sp = match ServiceProvider::new(config, creds) {
        Ok(sp) => sp,
        Err(e) => return fail(e.to_string()),
    };
    for path in &args.idp_metadata {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => return fail(format!("{}: {e}", path.display())),
        };
        let idps = match IdpMetadata::parse_all(&bytes) {
            Ok(i) => i,
            Err(e) => return fail(format!("{}: {e}", path.display())),
        };
        for idp in idps {
            eprintln!("spid-sp: trusting IdP {}", idp.entity_id);
            if let Some(c) = cie_sp.as_mut()
                && let Err(e) = c.add_idp(idp.clone())
            {
                return fail(e.to_string());
            }
            if let Err(e) = sp.add_idp(idp) {
                return fail(e.to_string());
            }
        }
    }
    let state = Arc::new(AppState {
        sp,
        cie: cie_sp,
        binding: match args.binding {
            BindingArg::Redirect => Binding::HttpRedirect,
            BindingArg::Post => Binding::HttpPost,
        },
        secure_cookie: base.starts_with("https://"),
    });
    let entity_id = state.sp.config().entity_id.clone();
    let app = Router::new()
        .route("/spid/metadata", get(metadata))
        .route("/spid/login", get(login))
        .route("/spid/acs", post(acs))
        .with_state(state);
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(l) => l,
        Err(e) => return fail(format!("bind {addr}: {e}")),
    };
    eprintln!("spid-sp: listening on {base} (entityID {entity_id})");
    if let Err(e) = axum::serve(listener, app).await {
        return fail(e.to_string());
    }
    std::process::ExitCode::SUCCESS
}

async fn metadata(State(st): State<Arc<AppState>>) -> Response {
    let xml = match &st.cie {
        Some(c) => c.metadata().map_err(|e| e.to_string()),
        None => st.sp.metadata().map_err(|e| e.to_string()),
    };
    match xml {
        Ok(xml) => (
            [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
            xml,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

fn session_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.split(';')
                .find_map(|kv| kv.trim().strip_prefix("spid_session=").map(str::to_owned))
        })
}

fn new_session() -> String {
    let bytes: [u8; 16] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

async fn login(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(idp) = q.get("idp") else {
        return (StatusCode::BAD_REQUEST, "missing idp parameter").into_response();
    };
    let session = session_of(&headers).unwrap_or_else(new_session);
    let mut opts = AuthnOptions::new(idp.clone(), session.clone());
    opts.binding = st.binding;
    let msg = match &st.cie {
        Some(c) => c.authn_request(opts).await.map_err(|e| e.to_string()),
        None => st.sp.authn_request(opts).await.map_err(|e| e.to_string()),
    };
    let msg = match msg {
        Ok(m) => m,
        Err(e) => return (StatusCode::BAD_REQUEST, e).into_response(),
    };
    // The IdP posts the response cross-site: over HTTPS the cookie must be SameSite=None;
    // Secure. Over plain HTTP (local demos) no SameSite attribute is set, since browsers drop
    // SameSite=None without Secure.
    let cookie = if st.secure_cookie {
        format!("spid_session={session}; Path=/; HttpOnly; Secure; SameSite=None")
    } else {
        format!("spid_session={session}; Path=/; HttpOnly")
    };
    let mut resp = match msg {
        AuthnRequestMessage::Redirect { url, .. } => {
            let mut r = StatusCode::FOUND.into_response();
            match HeaderValue::from_str(&url) {
                Ok(v) => {
                    r.headers_mut().insert(header::LOCATION, v);
                }
                Err(e) => {
                    return (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response();
                }
            }
            r
        }
        AuthnRequestMessage::Post { html, .. } => Html(html).into_response(),
        _ => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        resp.headers_mut().insert(header::SET_COOKIE, v);
    }
    resp
}

async fn acs(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let Some(saml) = form.get("SAMLResponse") else {
        return (StatusCode::BAD_REQUEST, "missing SAMLResponse").into_response();
    };
    let Some(session) = session_of(&headers) else {
        return (
            StatusCode::FORBIDDEN,
            "no session cookie: start from /spid/login",
        )
            .into_response();
    };
    if let Some(c) = &st.cie {
        return cie_acs(c, saml, &session).await;
    }
    match st.sp.process_response(saml, &session).await {
        Ok(auth) => {
            let body = serde_json::json!({
                "idp": auth.idp_entity_id,
                "level": auth.level.to_string(),
                "session_index": auth.session_index,
                "attributes": auth.identity.released(),
            });
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(Error::Response(e)) => response_error(&e),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

/// The error page of a refused response: 403 for IdP anomalies and signature failures, 400 for
/// malformed responses, with AgID's message for the anomaly codes.
fn response_error(e: &ResponseError) -> Response {
    let status = match e {
        ResponseError::Status { .. } => StatusCode::FORBIDDEN,
        ResponseError::Signature(_) | ResponseError::AssertionNotSigned => StatusCode::FORBIDDEN,
        ResponseError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let text = match e.spid_error_code() {
        Some(code) => format!("{}\n\n({e})", code.user_message()),
        None => format!("Accesso non riuscito: {e}"),
    };
    (status, text).into_response()
}

/// The ACS in `--cie` mode: the CIE identity as JSON, or the same error pages as SPID.
async fn cie_acs(c: &cie::CieServiceProvider, saml: &str, session: &str) -> Response {
    match c.process_response(saml, session).await {
        Ok(auth) => {
            let body = serde_json::json!({
                "idp": auth.idp_entity_id,
                "level": auth.level.to_string(),
                "session_index": auth.session_index,
                "identity": auth.identity,
                "citizen": cie::CitizenIdentity::from(&auth),
            });
            (StatusCode::OK, axum::Json(body)).into_response()
        }
        Err(cie::CieError::Engine(Error::Response(e))) => response_error(&e),
        Err(e @ cie::CieError::MissingAttribute(_)) => (
            StatusCode::BAD_REQUEST,
            format!("Accesso non riuscito: {e}"),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}
