//! axum integration (feature `server`).

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use super::service::{PaForNodeHost, PaForNodeService};
use super::store::ReceiptStore;

/// A router answering paForNode SOAP requests with `POST /`. Mount it where the node calls you,
/// e.g. `Router::new().nest("/pagopa/paForNode", router(service))`.
///
/// The operation is taken from the body element and, when present, checked against the
/// `SOAPAction` header. Bodies larger than the service's `max_body_bytes` are refused.
pub fn router<H, S>(service: Arc<PaForNodeService<H, S>>) -> Router
where
    H: PaForNodeHost + 'static,
    S: ReceiptStore + 'static,
{
    let limit = service.config().max_body_bytes.saturating_add(1);
    Router::new()
        .route("/", post(handle::<H, S>))
        .layer(axum::extract::DefaultBodyLimit::max(limit))
        .with_state(service)
}

async fn handle<H, S>(
    State(service): State<Arc<PaForNodeService<H, S>>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response
where
    H: PaForNodeHost + 'static,
    S: ReceiptStore + 'static,
{
    let action = headers
        .get("soapaction")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let reply = service.handle(action.as_deref(), &body).await;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "text/xml; charset=utf-8")],
        reply.body,
    )
        .into_response()
}
