//! The client of the services management API (the institution's *manage* key) and the key
//! rotation helper.

use std::time::Duration;

use http::{Method, StatusCode};

use crate::api::Operation;
use crate::client::IoClient;
use crate::error::{Error, RotationError};
use crate::logo::Logo;
use crate::services::{
    self, HistoryRequest, KeyType, PageRequest, ReviewRequest, ServiceHistory, ServiceId,
    ServiceKeys, ServiceLifecycle, ServicePage, ServicePayload, ServicePublication, Topic,
};

/// Client of `/manage/services…` and of the remote-content configurations, made from an
/// [`IoClient`] that holds the institution's *manage* key (`ManageSubscriptionKey`). The
/// retries, the 429 pause and the limits are the inner client's.
#[derive(Debug, Clone)]
pub struct ManageClient {
    io: IoClient,
}

impl ManageClient {
    /// Wraps a client built with the manage key.
    pub fn new(io: IoClient) -> Self {
        Self { io }
    }

    /// The inner client.
    pub fn io(&self) -> &IoClient {
        &self.io
    }

    fn base(&self) -> &str {
        self.io.base_url()
    }

    /// `cmsCreateService`: creates a service (a draft).
    ///
    /// # Errors
    /// [`Error::Validation`] before sending; [`crate::ApiError::BadRequest`] with IO's
    /// ProblemJson, [`crate::ApiError::Unauthorized`], [`crate::ApiError::Forbidden`], 429, 5xx.
    pub async fn create_service(&self, p: &ServicePayload) -> Result<ServiceLifecycle, Error> {
        let req = services::create_service_request(self.base(), p)?;
        self.io
            .execute(
                Operation::CmsCreateService,
                req,
                services::parse_created_service,
                None,
            )
            .await
    }

    /// `cmsUpdateService`.
    ///
    /// # Errors
    /// As [`create_service`](Self::create_service), plus [`crate::ApiError::NotFound`] and
    /// [`crate::ApiError::Conflict`] (the service's status does not allow an update).
    pub async fn update_service(
        &self,
        id: &ServiceId,
        p: &ServicePayload,
    ) -> Result<ServiceLifecycle, Error> {
        let req = services::update_service_request(self.base(), id, p)?;
        self.io
            .execute(
                Operation::CmsUpdateService,
                req,
                services::parse_updated_service,
                None,
            )
            .await
    }

    /// `cmsGetService`.
    ///
    /// # Errors
    /// [`crate::ApiError::NotFound`] for an unknown id; other [`Error`]s as for every call.
    pub async fn get_service(&self, id: &ServiceId) -> Result<ServiceLifecycle, Error> {
        let req = services::service_request(self.base(), Method::GET, id, "")?;
        self.io
            .execute(Operation::CmsGetService, req, services::parse_service, None)
            .await
    }

    /// `cmsDeleteService`.
    ///
    /// # Errors
    /// [`crate::ApiError::NotFound`]; other [`Error`]s as for every call.
    pub async fn delete_service(&self, id: &ServiceId) -> Result<(), Error> {
        let req = services::service_request(self.base(), Method::DELETE, id, "")?;
        self.io
            .execute(
                Operation::CmsDeleteService,
                req,
                |r| services::expect_status(Operation::CmsDeleteService, r, StatusCode::NO_CONTENT),
                None,
            )
            .await
    }

    /// `cmsGetServices`: one page.
    ///
    /// # Errors
    /// [`Error`]s as for every call.
    pub async fn list_services(&self, page: PageRequest) -> Result<ServicePage, Error> {
        let req = services::list_services_request(self.base(), page)?;
        self.io
            .execute(
                Operation::CmsGetServices,
                req,
                services::parse_services,
                None,
            )
            .await
    }

    /// Every service, reading pages of `page_size` (1..=100) until the count IO gives, or an
    /// empty or short page.
    ///
    /// # Errors
    /// [`crate::ValidationError::Range`] for a bad page size; [`crate::ApiError::MalformedResponse`]
    /// when a service comes twice (a server that ignores the offset); [`Error`]s of the calls.
    pub async fn all_services(&self, page_size: u32) -> Result<Vec<ServiceLifecycle>, Error> {
        let mut out: Vec<ServiceLifecycle> = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        let mut offset = 0u64;
        loop {
            let page = self
                .list_services(PageRequest::new(page_size, offset)?)
                .await?;
            let n = page.value.len() as u64;
            // A server that ignored the offset would give the same page forever.
            if let Some(dup) = page.value.iter().find(|s| !seen.insert(s.id.clone())) {
                return Err(crate::ApiError::MalformedResponse {
                    operation: Operation::CmsGetServices.id(),
                    reason: format!("service {} came twice while paging", dup.id),
                }
                .into());
            }
            out.extend(page.value);
            offset += n;
            let done = n == 0
                || n < u64::from(page_size)
                || page.pagination.count.is_some_and(|c| offset >= c);
            if done {
                return Ok(out);
            }
        }
    }

    /// `getServiceTopics`.
    ///
    /// # Errors
    /// [`Error`]s as for every call.
    pub async fn topics(&self) -> Result<Vec<Topic>, Error> {
        let req = services::topics_request(self.base())?;
        self.io
            .execute(
                Operation::GetServiceTopics,
                req,
                services::parse_topics,
                None,
            )
            .await
    }

    /// `cmsUpdateServiceLogo`: uploads a checked PNG ([`Logo::png`]).
    ///
    /// # Errors
    /// [`crate::ApiError::BadRequest`], [`crate::ApiError::NotFound`]; other [`Error`]s.
    pub async fn upload_service_logo(&self, id: &ServiceId, logo: &Logo) -> Result<(), Error> {
        let req = services::service_logo_request(self.base(), id, logo)?;
        self.io
            .execute(
                Operation::CmsUpdateServiceLogo,
                req,
                |r| {
                    services::expect_status(
                        Operation::CmsUpdateServiceLogo,
                        r,
                        StatusCode::NO_CONTENT,
                    )
                },
                None,
            )
            .await
    }

    /// `cmsReviewService`: sends the service to review.
    ///
    /// # Errors
    /// [`crate::ApiError::Conflict`] when its status does not allow a review; other [`Error`]s.
    pub async fn request_review(&self, id: &ServiceId, auto_publish: bool) -> Result<(), Error> {
        let req = services::review_request(self.base(), id, ReviewRequest { auto_publish })?;
        self.io
            .execute(
                Operation::CmsReviewService,
                req,
                |r| services::expect_status(Operation::CmsReviewService, r, StatusCode::NO_CONTENT),
                None,
            )
            .await
    }

    /// `cmsReleaseService`: publishes an approved service.
    ///
    /// # Errors
    /// [`crate::ApiError::Conflict`] when it is not approved; other [`Error`]s.
    pub async fn release(&self, id: &ServiceId) -> Result<(), Error> {
        let req = services::service_request(self.base(), Method::POST, id, "/release")?;
        self.io
            .execute(
                Operation::CmsReleaseService,
                req,
                |r| {
                    services::expect_status(Operation::CmsReleaseService, r, StatusCode::NO_CONTENT)
                },
                None,
            )
            .await
    }

    /// `cmsGetPublishedService`: the released version.
    ///
    /// # Errors
    /// [`crate::ApiError::NotFound`] when never released; other [`Error`]s.
    pub async fn published(&self, id: &ServiceId) -> Result<ServicePublication, Error> {
        let req = services::service_request(self.base(), Method::GET, id, "/release")?;
        self.io
            .execute(
                Operation::CmsGetPublishedService,
                req,
                services::parse_publication,
                None,
            )
            .await
    }

    /// `cmsUnpublishService`.
    ///
    /// # Errors
    /// [`crate::ApiError::NotFound`]; other [`Error`]s.
    pub async fn unpublish(&self, id: &ServiceId) -> Result<(), Error> {
        let req = services::service_request(self.base(), Method::DELETE, id, "/release")?;
        self.io
            .execute(
                Operation::CmsUnpublishService,
                req,
                |r| {
                    services::expect_status(
                        Operation::CmsUnpublishService,
                        r,
                        StatusCode::NO_CONTENT,
                    )
                },
                None,
            )
            .await
    }

    /// `cmsGetServiceHistory`: one page; follow [`ServiceHistory::continuation_token`] with
    /// [`HistoryRequest::after`].
    ///
    /// # Errors
    /// [`crate::ApiError::NotFound`]; other [`Error`]s.
    pub async fn history(
        &self,
        id: &ServiceId,
        req: &HistoryRequest,
    ) -> Result<ServiceHistory, Error> {
        let r = services::history_request(self.base(), id, req)?;
        self.io
            .execute(
                Operation::CmsGetServiceHistory,
                r,
                services::parse_history,
                None,
            )
            .await
    }

    /// `cmsGetServiceKeys`.
    ///
    /// # Errors
    /// [`crate::ApiError::NotFound`]; other [`Error`]s.
    pub async fn keys(&self, id: &ServiceId) -> Result<ServiceKeys, Error> {
        let req = services::service_request(self.base(), Method::GET, id, "/keys")?;
        self.io
            .execute(
                Operation::CmsGetServiceKeys,
                req,
                services::parse_keys,
                None,
            )
            .await
    }

    /// `cmsRegenerateServiceKey`: replaces one key (the old one stops working at once) and
    /// returns both keys.
    ///
    /// # Errors
    /// [`crate::ApiError::NotFound`]; other [`Error`]s.
    pub async fn regenerate_key(&self, id: &ServiceId, key: KeyType) -> Result<ServiceKeys, Error> {
        let req = services::regenerate_key_request(self.base(), id, key)?;
        self.io
            .execute(
                Operation::CmsRegenerateServiceKey,
                req,
                services::parse_regenerated,
                None,
            )
            .await
    }
}

/// Result of a completed [`rotate_keys`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    /// The key the client used before.
    pub was_using: KeyType,
    /// The key the client uses now (the other one).
    pub now_using: KeyType,
    /// Both keys after the rotation, both new.
    pub keys: ServiceKeys,
}

/// Rotates both keys of a service under a running client without losing a request:
///
/// 1. reads the keys and finds which one `client` uses (say primary);
/// 2. regenerates the other one (secondary), which nobody uses;
/// 3. switches `client` (every clone) to the new secondary at once ([`IoClient::set_key`]);
/// 4. waits until every request written with the old primary has its answer, at most `drain`;
/// 5. regenerates the primary, which revokes the old one.
///
/// A request that a rotation elsewhere refused with 401 after the switch is sent again with the
/// new key (the client does that for any 401 answered to a replaced key). Every other instance
/// that uses the old key must be switched too before step 5: run the rotation where the only
/// users of the key are clones of `client`.
///
/// # Errors
/// [`RotationError::KeyNotOfService`] if the client's key is neither; [`RotationError::Step`]
/// with the failing call; [`RotationError::DrainTimeout`] when requests with the old key were
/// still in flight (then the old key is left valid and the client already uses the new one).
pub async fn rotate_keys(
    manage: &ManageClient,
    service: &ServiceId,
    client: &IoClient,
    drain: Duration,
) -> Result<Rotation, Error> {
    let step = |step: &'static str| {
        move |e: Error| {
            Error::Rotation(RotationError::Step {
                step,
                source: Box::new(e),
            })
        }
    };
    let keys = manage.keys(service).await.map_err(step("get keys"))?;
    let was_using = keys
        .which(&client.key())
        .ok_or_else(|| RotationError::KeyNotOfService {
            service_id: service.to_string(),
        })?;
    let now_using = was_using.other();
    let fresh = manage
        .regenerate_key(service, now_using)
        .await
        .map_err(step(match now_using {
            KeyType::Primary => "regenerate primary",
            KeyType::Secondary => "regenerate secondary",
        }))?;
    let retired = client.set_key(fresh.get(now_using).clone());
    if !retired.drained(drain).await {
        return Err(RotationError::DrainTimeout {
            in_flight: retired.in_flight(),
            waited: drain,
        }
        .into());
    }
    let keys = manage
        .regenerate_key(service, was_using)
        .await
        .map_err(step(match was_using {
            KeyType::Primary => "regenerate primary",
            KeyType::Secondary => "regenerate secondary",
        }))?;
    Ok(Rotation {
        was_using,
        now_using,
        keys,
    })
}
