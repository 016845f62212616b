//! axum integration (feature `server`).

use std::sync::Arc;

use std::pin::Pin;

use axum::Router;
use axum::body::{Body, HttpBody};
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
/// `SOAPAction` header. A body larger than the service's `max_body_bytes` is answered like any
/// request the schema refuses, with `PAA_SINTASSI_EXTRAXSD` in the operation's own response
/// (the operation told by `SOAPAction` or the start of the body), or a SOAP `Fault` when neither
/// tells it — never a plain-text 413 a SOAP client cannot read. Only the first
/// `max_body_bytes + 1` bytes are kept; the rest is read and dropped (up to 16 times the limit,
/// then the connection is closed) so that the client gets to read the answer.
pub fn router<H, S>(service: Arc<PaForNodeService<H, S>>) -> Router
where
    H: PaForNodeHost + 'static,
    S: ReceiptStore + 'static,
{
    Router::new()
        .route("/", post(handle::<H, S>))
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(service)
}

/// Reads at most `keep` bytes of `body`, dropping the rest up to `drain` bytes in all.
async fn read_bounded(mut body: Body, keep: usize, drain: usize) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
        let frame = frame.map_err(|e| e.to_string())?;
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len());
            let room = keep.saturating_sub(buf.len());
            buf.extend_from_slice(&data[..data.len().min(room)]);
            if seen > drain {
                break;
            }
        }
    }
    Ok(buf)
}

async fn handle<H, S>(
    State(service): State<Arc<PaForNodeService<H, S>>>,
    headers: HeaderMap,
    body: Body,
) -> Response
where
    H: PaForNodeHost + 'static,
    S: ReceiptStore + 'static,
{
    let max = service.config().max_body_bytes;
    let keep = max.saturating_add(1);
    let body = match read_bounded(body, keep, max.saturating_mul(16).max(keep)).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "paForNode: request body could not be read");
            return (StatusCode::BAD_REQUEST, "request body could not be read").into_response();
        }
    };
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
