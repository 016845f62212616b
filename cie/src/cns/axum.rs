//! axum + rustls integration (feature `axum`): a TLS listener that requests a client certificate,
//! and the [`CardLogin`] extractor that verifies it.
//!
//! ```no_run
//! use std::sync::Arc;
//! use axum::{Router, routing::get};
//! use cie::cns::{CardVerifier, CrlChecker, IssuerList};
//! use cie::cns::axum::{CardLogin, serve_tls, server_config};
//!
//! # async fn run(chain: Vec<rustls_pki_types::CertificateDer<'static>>, key: rustls_pki_types::PrivateKeyDer<'static>) -> Result<(), Box<dyn std::error::Error>> {
//! let issuers = IssuerList::from_file("cns-issuers.pem")?;
//! let tls = server_config(chain, key, &issuers)?;
//! let verifier = Arc::new(CardVerifier::new(issuers, CrlChecker::from_files(["cns.crl"])?));
//! let app = Router::new()
//!     .route("/login/cns", get(|CardLogin(card): CardLogin| async move { card.fiscal_code.to_string() }))
//!     .with_state(verifier);
//! // a dedicated listener: every connection on it is asked for a card certificate
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8443").await?;
//! serve_tls(listener, Arc::new(tls), app).await;
//! # Ok(()) }
//! ```
//!
//! Browsers ask for a card only when the server requests a client certificate during the
//! handshake, and TLS 1.3 cannot request one later for a single path: give smart-card login a
//! dedicated listener (port or host name) served by [`serve_tls`], and use [`CardLogin`] on its
//! login path. Connections without a certificate are accepted (the request is optional), so the
//! extractor can answer with a readable page instead of a handshake failure.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, FromRef, FromRequestParts, OptionalFromRequestParts};
use axum::response::{IntoResponse, Response};
use http::request::Parts;
use http::{StatusCode, header};
use hyper_util::rt::TokioIo;
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use super::{
    CardIdentity, CardVerifier, Error, IdentityError, IssuerList, RevocationError, VerifyError,
};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);

/// A rustls server configuration (ring provider, TLS 1.2 and 1.3) that requests, without
/// requiring, a client certificate, naming the configured issuers so that browsers offer the card
/// certificate.
///
/// The handshake proves that the client holds the private key of the certificate it presents;
/// whether the certificate is trusted is decided later by [`CardVerifier`] (see [`CardLogin`]).
///
/// # Errors
/// [`rustls::Error`] when the server certificate and key do not fit together.
pub fn server_config(
    cert_chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    issuers: &IssuerList,
) -> Result<rustls::ServerConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = RequestClientCert {
        hints: issuers
            .subject_names_der()
            .map(|raw| DistinguishedName::from(raw.to_vec()))
            .collect(),
        algorithms: provider.signature_verification_algorithms,
    };
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(Arc::new(verifier))
        .with_single_cert(cert_chain, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Requests a client certificate, verifies the handshake signature made with its key, and leaves
/// trust to the application.
#[derive(Debug)]
struct RequestClientCert {
    hints: Vec<DistinguishedName>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for RequestClientCert {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        // Deferred on purpose: CardVerifier decides in the application, so that a bad card gets
        // an error page. The certificates reach handlers only as UnverifiedPeerCertificates.
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The certificates the client presented on this connection, **not verified** (only possession
/// of the key was proven). Put in every request's extensions by [`serve_tls`]; use [`CardLogin`]
/// to get a verified identity.
#[derive(Debug, Clone, Default)]
pub struct UnverifiedPeerCertificates(Arc<Vec<CertificateDer<'static>>>);

impl UnverifiedPeerCertificates {
    /// Wraps the certificates as presented (end entity first).
    pub fn new(certs: Vec<CertificateDer<'static>>) -> Self {
        UnverifiedPeerCertificates(Arc::new(certs))
    }

    /// `true` when the client presented no certificate.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The end-entity (card) certificate, DER.
    pub fn end_entity(&self) -> Option<&[u8]> {
        self.0.first().map(|c| c.as_ref())
    }

    /// The intermediates the client sent after the end entity, DER.
    pub fn intermediates(&self) -> Vec<&[u8]> {
        self.0.iter().skip(1).map(|c| c.as_ref()).collect()
    }
}

/// Serves `app` over TLS on `listener` with `tls` (see [`server_config`]), putting the client's
/// certificates in each request as [`UnverifiedPeerCertificates`] and the peer address as
/// [`ConnectInfo<SocketAddr>`]. Runs until the task is dropped.
pub async fn serve_tls(listener: TcpListener, tls: Arc<rustls::ServerConfig>, app: Router) {
    serve_tls_with_shutdown(listener, tls, app, std::future::pending()).await;
}

/// Same as [`serve_tls`], stopping to accept connections when `shutdown` completes (connections
/// already open finish on their own).
pub async fn serve_tls_with_shutdown(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: Router,
    shutdown: impl Future<Output = ()> + Send,
) {
    let acceptor = TlsAcceptor::from(tls);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => accepted,
        };
        let (tcp, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(s)) => s,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, error = %e, "TLS handshake failed");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let certs = UnverifiedPeerCertificates::new(
                stream
                    .get_ref()
                    .1
                    .peer_certificates()
                    .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
                    .unwrap_or_default(),
            );
            let service =
                hyper::service::service_fn(move |mut req: http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(certs.clone());
                    req.extensions_mut().insert(ConnectInfo(peer));
                    let app = app.clone();
                    async move { app.oneshot(req).await.map_err(|e: Infallible| match e {}) }
                });
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(%peer, error = %e, "connection error");
            }
        });
    }
}

/// Extractor: the verified identity of the card presented on this connection.
///
/// Needs an `Arc<CardVerifier>` in the router state (directly or through [`FromRef`]) and the
/// connection served by [`serve_tls`]. Rejects with [`CardLoginRejection`], which renders an error
/// page: 401 when no card was presented, 403 when the card was refused. `Option<CardLogin>` gives
/// `None` when no card was presented and still rejects a bad card.
#[derive(Debug, Clone)]
pub struct CardLogin(pub CardIdentity);

impl<S> FromRequestParts<S> for CardLogin
where
    S: Send + Sync,
    Arc<CardVerifier>: FromRef<S>,
{
    type Rejection = CardLoginRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match extract(parts, state).await {
            Ok(Some(id)) => Ok(CardLogin(id)),
            Ok(None) => Err(CardLoginRejection::NoCertificate),
            Err(e) => Err(e),
        }
    }
}

impl<S> OptionalFromRequestParts<S> for CardLogin
where
    S: Send + Sync,
    Arc<CardVerifier>: FromRef<S>,
{
    type Rejection = CardLoginRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(extract(parts, state).await?.map(CardLogin))
    }
}

async fn extract<S>(parts: &Parts, state: &S) -> Result<Option<CardIdentity>, CardLoginRejection>
where
    Arc<CardVerifier>: FromRef<S>,
{
    let Some(certs) = parts.extensions.get::<UnverifiedPeerCertificates>() else {
        return Ok(None);
    };
    let Some(card) = certs.end_entity() else {
        return Ok(None);
    };
    let verifier = Arc::<CardVerifier>::from_ref(state);
    let intermediates = certs.intermediates();
    match verifier.verify(card, &intermediates).await {
        Ok(id) => Ok(Some(id)),
        Err(e) => {
            tracing::info!(error = %e, "card certificate refused");
            Err(CardLoginRejection::Refused(e))
        }
    }
}

/// Why [`CardLogin`] could not give an identity. Renders as an HTML error page.
#[derive(Debug)]
#[non_exhaustive]
pub enum CardLoginRejection {
    /// The client presented no certificate (no card in the reader, or the user cancelled).
    NoCertificate,
    /// The certificate was refused.
    Refused(Error),
}

impl CardLoginRejection {
    /// The HTTP status of the error page.
    pub fn status(&self) -> StatusCode {
        match self {
            CardLoginRejection::NoCertificate => StatusCode::UNAUTHORIZED,
            CardLoginRejection::Refused(_) => StatusCode::FORBIDDEN,
        }
    }

    /// The sentence shown to the citizen (Italian), without technical detail.
    pub fn user_message(&self) -> &'static str {
        match self {
            CardLoginRejection::NoCertificate => {
                "Nessuna carta presentata. Inserisci la CNS, la TS-CNS o la CIE nel lettore, verifica che il software della carta sia installato e riprova; quando il browser lo chiede, scegli il certificato della carta."
            }
            CardLoginRejection::Refused(e) => match e {
                Error::Verify(VerifyError::Expired { .. }) => {
                    "Il certificato della carta è scaduto. Rinnova la carta presso l'ente che l'ha rilasciata."
                }
                Error::Verify(VerifyError::NotYetValid { .. }) => {
                    "Il certificato della carta non è ancora valido."
                }
                Error::Verify(VerifyError::Revoked { .. }) => {
                    "Il certificato della carta è stato revocato o sospeso."
                }
                Error::Verify(
                    VerifyError::UnknownIssuer { .. } | VerifyError::BadSignature { .. },
                ) => {
                    "La carta non è stata rilasciata da un ente riconosciuto per l'accesso con CNS o CIE."
                }
                Error::Verify(
                    VerifyError::MissingClientAuthUsage { .. }
                    | VerifyError::MissingExtendedKeyUsage
                    | VerifyError::KeyUsageNotDigitalSignature
                    | VerifyError::PolicyNotAccepted { .. }
                    | VerifyError::CardIsCa,
                ) => {
                    "Il certificato scelto non è un certificato di autenticazione CNS o CIE. Riprova scegliendo il certificato di autenticazione della carta."
                }
                Error::Identity(IdentityError::NoFiscalCode { .. }) => {
                    "Il certificato della carta non riporta un codice fiscale."
                }
                Error::Identity(_) => {
                    "Il certificato della carta non riporta un'identità leggibile."
                }
                Error::Revocation(RevocationError::Unavailable { .. }) => {
                    "Non è stato possibile verificare lo stato della carta. Riprova più tardi."
                }
                _ => "Il certificato della carta non è stato accettato.",
            },
        }
    }
}

impl std::fmt::Display for CardLoginRejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CardLoginRejection::NoCertificate => f.write_str("no client certificate presented"),
            CardLoginRejection::Refused(e) => write!(f, "card certificate refused: {e}"),
        }
    }
}

impl std::error::Error for CardLoginRejection {}

impl IntoResponse for CardLoginRejection {
    fn into_response(self) -> Response {
        let detail = match &self {
            CardLoginRejection::NoCertificate => String::new(),
            CardLoginRejection::Refused(e) => {
                format!(
                    "<p class=\"detail\">Dettaglio tecnico: <code>{}</code></p>",
                    escape_html(&e.to_string())
                )
            }
        };
        let body = format!(
            "<!DOCTYPE html>\n<html lang=\"it\"><head><meta charset=\"utf-8\"><title>Accesso con CNS / CIE non riuscito</title></head>\n<body><main><h1>Accesso con CNS / CIE non riuscito</h1>\n<p>{}</p>\n{}</main></body></html>\n",
            escape_html(self.user_message()),
            detail
        );
        (
            self.status(),
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            body,
        )
            .into_response()
    }
}

/// Escapes text for HTML element content and attribute values.
fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The peer address type put in request extensions by [`serve_tls`].
pub type PeerAddr = ConnectInfo<SocketAddr>;
