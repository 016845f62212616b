//! Sans-IO core of the client: builds [`http::Request`] values and reads [`http::Response`]
//! values for each operation, without doing any I/O. [`IoClient`](crate::IoClient) is a thin
//! async layer on top; another transport can reuse these functions.
//!
//! Requests carry no subscription key: the transport adds the `Ocp-Apim-Subscription-Key`
//! header ([`SUBSCRIPTION_KEY_HEADER`]).

use std::time::Duration;

use chrono::{DateTime, Utc};
use http::{HeaderMap, Method, Request, Response, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::deps::CodiceFiscale;
use crate::error::{ApiError, ForbiddenReason, TransportError};
use crate::message::NewMessage;
use crate::types::{
    Activation, ActivationStatus, CreatedMessage, LimitedProfile, MessageDetails, MessageId,
    ProblemJson,
};

/// The header that carries the subscription key.
pub const SUBSCRIPTION_KEY_HEADER: &str = "Ocp-Apim-Subscription-Key";

/// Production base URL.
pub const PRODUCTION_BASE_URL: &str = "https://api.io.pagopa.it/api/v1";

/// The operations this crate implements (the API's `operationId`s).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// `POST /profiles`.
    GetProfileByPost,
    /// `POST /messages`.
    SubmitMessage,
    /// `GET /messages/{fiscal_code}/{id}`.
    GetMessage,
    /// `POST /activations/`.
    GetServiceActivationByPost,
    /// `PUT /activations/`.
    UpsertServiceActivation,
    /// `POST /manage/services`.
    CmsCreateService,
    /// `GET /manage/services`.
    CmsGetServices,
    /// `GET /manage/services/topics`.
    GetServiceTopics,
    /// `GET /manage/services/{serviceId}`.
    CmsGetService,
    /// `PUT /manage/services/{serviceId}`.
    CmsUpdateService,
    /// `DELETE /manage/services/{serviceId}`.
    CmsDeleteService,
    /// `PUT /manage/services/{serviceId}/logo`.
    CmsUpdateServiceLogo,
    /// `GET /manage/services/{serviceId}/history`.
    CmsGetServiceHistory,
    /// `GET /manage/services/{serviceId}/keys`.
    CmsGetServiceKeys,
    /// `PUT /manage/services/{serviceId}/keys/{keyType}` (retrying yields another new key, which is as good).
    CmsRegenerateServiceKey,
    /// `PUT /manage/services/{serviceId}/review`.
    CmsReviewService,
    /// `POST /manage/services/{serviceId}/release`.
    CmsReleaseService,
    /// `GET /manage/services/{serviceId}/release`.
    CmsGetPublishedService,
    /// `DELETE /manage/services/{serviceId}/release`.
    CmsUnpublishService,
    /// `GET /subscriptions-feed/{date}`.
    GetSubscriptionsFeedForDate,
    /// `PUT /organizations/{organization_fiscal_code}/logo`.
    UploadOrganizationLogo,
    /// `POST /messages-sending/remote-contents/configurations`.
    CreateRcConfiguration,
    /// `GET /messages-sending/remote-contents/configurations`.
    ListRcConfiguration,
    /// `GET /messages-sending/remote-contents/configurations/{configurationId}`.
    GetRcConfiguration,
    /// `PUT /messages-sending/remote-contents/configurations/{configurationId}`.
    UpdateRcConfiguration,
}

impl Operation {
    /// The API's `operationId`.
    pub fn id(self) -> &'static str {
        match self {
            Self::GetProfileByPost => "getProfileByPOST",
            Self::SubmitMessage => "submitMessageforUserWithFiscalCodeInBody",
            Self::GetMessage => "getMessage",
            Self::GetServiceActivationByPost => "getServiceActivationByPOST",
            Self::UpsertServiceActivation => "upsertServiceActivation",
            Self::CmsCreateService => "cmsCreateService",
            Self::CmsGetServices => "cmsGetServices",
            Self::GetServiceTopics => "getServiceTopics",
            Self::CmsGetService => "cmsGetService",
            Self::CmsUpdateService => "cmsUpdateService",
            Self::CmsDeleteService => "cmsDeleteService",
            Self::CmsUpdateServiceLogo => "cmsUpdateServiceLogo",
            Self::CmsGetServiceHistory => "cmsGetServiceHistory",
            Self::CmsGetServiceKeys => "cmsGetServiceKeys",
            Self::CmsRegenerateServiceKey => "cmsRegenerateServiceKey",
            Self::CmsReviewService => "cmsReviewService",
            Self::CmsReleaseService => "cmsReleaseService",
            Self::CmsGetPublishedService => "cmsGetPublishedService",
            Self::CmsUnpublishService => "cmsUnpublishService",
            Self::GetSubscriptionsFeedForDate => "getSubscriptionsFeedForDate",
            Self::UploadOrganizationLogo => "uploadOrganizationLogo",
            Self::CreateRcConfiguration => "createRCConfiguration",
            Self::ListRcConfiguration => "listRCConfiguration",
            Self::GetRcConfiguration => "getRCConfiguration",
            Self::UpdateRcConfiguration => "updateRCConfiguration",
        }
    }

    /// Whether sending the request twice has the same effect as once. Message submission and
    /// the creation of a service or a remote-content configuration are not: the API has no
    /// idempotency key, each accepted POST creates a new resource.
    pub fn is_idempotent(self) -> bool {
        !matches!(
            self,
            Self::SubmitMessage | Self::CmsCreateService | Self::CreateRcConfiguration
        )
    }
}

#[derive(Serialize)]
struct FiscalCodePayload<'a> {
    fiscal_code: &'a CodiceFiscale,
}

#[derive(Serialize)]
struct ActivationPayload<'a> {
    fiscal_code: &'a CodiceFiscale,
    status: &'a ActivationStatus,
}

pub(crate) fn join(base: &str, path: &str) -> Result<http::Uri, TransportError> {
    let url = format!("{}{}", base.trim_end_matches('/'), path);
    url.parse::<http::Uri>()
        .map_err(|e| TransportError::Url(format!("{url}: {e}")))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub(crate) fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) fn json_request(
    method: Method,
    base: &str,
    path: &str,
    body: Option<Vec<u8>>,
) -> Result<Request<Vec<u8>>, TransportError> {
    let mut b = Request::builder()
        .method(method)
        .uri(join(base, path)?)
        .header(header::ACCEPT, "application/json");
    if body.is_some() {
        b = b.header(header::CONTENT_TYPE, "application/json");
    }
    b.body(body.unwrap_or_default())
        .map_err(|e| TransportError::Url(e.to_string()))
}

pub(crate) fn to_json<T: Serialize>(v: &T) -> Vec<u8> {
    // The payload types here only hold strings, numbers and booleans: serialization cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

/// `POST /profiles` with `{fiscal_code}`.
///
/// # Errors
/// [`TransportError::Url`] if `base_url` does not make a valid URL.
pub fn get_profile_request(
    base_url: &str,
    fiscal_code: &CodiceFiscale,
) -> Result<Request<Vec<u8>>, TransportError> {
    let body = to_json(&FiscalCodePayload { fiscal_code });
    json_request(Method::POST, base_url, "/profiles", Some(body))
}

/// Reads the answer to [`get_profile_request`].
///
/// # Errors
/// [`ApiError::ProfileNotFound`] on 404 (the citizen is not on IO), the other [`ApiError`]s by
/// status, [`ApiError::MalformedResponse`] for an unreadable 200 body.
pub fn parse_get_profile(resp: &Response<Vec<u8>>) -> Result<LimitedProfile, ApiError> {
    expect_json(Operation::GetProfileByPost, resp, StatusCode::OK)
}

/// `POST /messages` with the message (fiscal code in the body).
///
/// # Errors
/// [`TransportError::Url`] if `base_url` does not make a valid URL.
pub fn submit_message_request(
    base_url: &str,
    message: &NewMessage,
) -> Result<Request<Vec<u8>>, TransportError> {
    json_request(Method::POST, base_url, "/messages", Some(to_json(message)))
}

/// Reads the answer to [`submit_message_request`]: `201 {id}` and `Location`.
///
/// # Errors
/// [`ApiError`] by status; [`ApiError::MalformedResponse`] if the 201 body has no valid id.
pub fn parse_submit_message(resp: &Response<Vec<u8>>) -> Result<CreatedMessage, ApiError> {
    #[derive(serde::Deserialize)]
    struct Created {
        id: String,
    }
    let op = Operation::SubmitMessage;
    let created: Created = expect_json(op, resp, StatusCode::CREATED)?;
    // The message exists once IO answered 201: an id of another form than documented is kept as
    // given (treating the answer as a failure would invite sending the message again).
    let id = match MessageId::new(&created.id) {
        Ok(id) => id,
        Err(_) => {
            let id = MessageId::as_given(&created.id).map_err(|e| ApiError::MalformedResponse {
                operation: op.id(),
                reason: e.to_string(),
            })?;
            tracing::warn!(id = %id, "IO created a message with an id that is not a ULID");
            id
        }
    };
    let location = resp
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    Ok(CreatedMessage { id, location })
}

/// `GET /messages/{fiscal_code}/{id}`.
///
/// # Errors
/// [`TransportError::Url`] if `base_url` does not make a valid URL.
pub fn get_message_request(
    base_url: &str,
    fiscal_code: &CodiceFiscale,
    id: &MessageId,
) -> Result<Request<Vec<u8>>, TransportError> {
    // The fiscal code is letters and digits by its type; an id kept as given is percent-encoded.
    let path = format!(
        "/messages/{}/{}",
        fiscal_code.as_str(),
        path_segment(id.as_str())
    );
    json_request(Method::GET, base_url, &path, None)
}

/// Reads the answer to [`get_message_request`].
///
/// # Errors
/// [`ApiError::NotFound`] on 404, the other [`ApiError`]s by status.
pub fn parse_get_message(resp: &Response<Vec<u8>>) -> Result<MessageDetails, ApiError> {
    expect_json(Operation::GetMessage, resp, StatusCode::OK)
}

/// `POST /activations/` with `{fiscal_code}`.
///
/// # Errors
/// [`TransportError::Url`] if `base_url` does not make a valid URL.
pub fn get_activation_request(
    base_url: &str,
    fiscal_code: &CodiceFiscale,
) -> Result<Request<Vec<u8>>, TransportError> {
    let body = to_json(&FiscalCodePayload { fiscal_code });
    json_request(Method::POST, base_url, "/activations/", Some(body))
}

/// `PUT /activations/` with `{fiscal_code, status}`.
///
/// # Errors
/// [`TransportError::Url`] if `base_url` does not make a valid URL.
pub fn upsert_activation_request(
    base_url: &str,
    fiscal_code: &CodiceFiscale,
    status: &ActivationStatus,
) -> Result<Request<Vec<u8>>, TransportError> {
    let body = to_json(&ActivationPayload {
        fiscal_code,
        status,
    });
    json_request(Method::PUT, base_url, "/activations/", Some(body))
}

/// Reads the answer to [`get_activation_request`].
///
/// # Errors
/// [`ApiError::NotFound`] on 404, the other [`ApiError`]s by status.
pub fn parse_get_activation(resp: &Response<Vec<u8>>) -> Result<Activation, ApiError> {
    expect_json(Operation::GetServiceActivationByPost, resp, StatusCode::OK)
}

/// Reads the answer to [`upsert_activation_request`].
///
/// # Errors
/// [`ApiError`] by status.
pub fn parse_upsert_activation(resp: &Response<Vec<u8>>) -> Result<Activation, ApiError> {
    expect_json(Operation::UpsertServiceActivation, resp, StatusCode::OK)
}

pub(crate) fn expect_json<T: DeserializeOwned>(
    op: Operation,
    resp: &Response<Vec<u8>>,
    ok: StatusCode,
) -> Result<T, ApiError> {
    if resp.status() != ok {
        return Err(error_from_response(op, resp));
    }
    serde_json::from_slice(resp.body()).map_err(|e| ApiError::MalformedResponse {
        operation: op.id(),
        reason: e.to_string(),
    })
}

/// Reads a problem from an error body: RFC 7807 ProblemJson, or Azure API Management's
/// `{statusCode, message}`.
pub fn parse_problem(body: &[u8]) -> Option<ProblemJson> {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Apim {
        status_code: u16,
        message: String,
    }
    if let Ok(p) = serde_json::from_slice::<ProblemJson>(body)
        && (p.title.is_some() || p.detail.is_some() || p.status.is_some())
    {
        return Some(p);
    }
    serde_json::from_slice::<Apim>(body)
        .ok()
        .map(|a| ProblemJson {
            status: Some(a.status_code),
            detail: Some(a.message),
            ..ProblemJson::default()
        })
}

fn forbidden_reason(problem: Option<&ProblemJson>) -> ForbiddenReason {
    let title = problem.and_then(|p| p.title.as_deref()).unwrap_or("");
    let detail = problem.and_then(|p| p.detail.as_deref()).unwrap_or("");
    match title {
        "Recipient forbidden" => ForbiddenReason::RecipientForbidden,
        "You are not allowed here" => ForbiddenReason::NotAllowed,
        "Production call forbidden" => ForbiddenReason::ProductionCallForbidden,
        "Call forbidden" => ForbiddenReason::DefaultAddressesForbidden,
        _ if detail.contains("issue requests for the recipient") => {
            ForbiddenReason::RecipientForbidden
        }
        _ if detail.contains("not have enough permission") => ForbiddenReason::NotAllowed,
        "" => ForbiddenReason::Other(detail.to_owned()),
        other => ForbiddenReason::Other(other.to_owned()),
    }
}

/// Classifies an error answer of `op`.
pub fn error_from_response(op: Operation, resp: &Response<Vec<u8>>) -> ApiError {
    let status = resp.status().as_u16();
    let problem = parse_problem(resp.body()).map(Box::new);
    match status {
        400 => ApiError::BadRequest { problem },
        401 => ApiError::Unauthorized { problem },
        403 => ApiError::Forbidden {
            reason: forbidden_reason(problem.as_deref()),
            problem,
        },
        404 if op == Operation::GetProfileByPost => ApiError::ProfileNotFound { problem },
        404 => ApiError::NotFound { problem },
        409 => ApiError::Conflict { problem },
        429 => ApiError::Throttled {
            retry_after: retry_after(resp.headers(), Utc::now()),
        },
        500..=599 => ApiError::Server { status, problem },
        _ => {
            let body = resp.body();
            let cut = body.len().min(512);
            ApiError::UnexpectedStatus {
                status,
                body: String::from_utf8_lossy(&body[..cut]).into_owned(),
            }
        }
    }
}

/// Reads `Retry-After`: delay in seconds or an HTTP date (relative to `now`; a past date is zero).
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let v = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

pub use crate::feed::{
    organization_logo_request, parse_subscriptions_feed, subscriptions_feed_request,
};
