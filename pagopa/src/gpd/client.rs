//! The GPD REST client (feature `client`).

use chrono::{NaiveDate, Utc};
use pa_types::OrganizationFiscalCode;

use super::http::{ApiError, RetryPolicy, SubscriptionKey, encode_segment, execute, join_url};
use super::model::{
    DebtPosition, DebtPositionInfo, PositionStatus, PositionsPage, ValidationError,
};

/// Production base URL.
pub const GPD_PRODUCTION_URL: &str = "https://api.platform.pagopa.it/gpd/debt-positions-service/v1";
/// UAT (test) base URL.
pub const GPD_UAT_URL: &str = "https://api.uat.platform.pagopa.it/gpd/debt-positions-service/v1";

/// Errors of the GPD client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GpdError {
    /// The position breaks a GPD rule; nothing was sent.
    #[error("debt position not valid: {0}")]
    Invalid(#[from] ValidationError),
    /// The platform answered with an error, or could not be reached.
    #[error(transparent)]
    Api(#[from] ApiError),
}

/// Sort key of [`ListQuery`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderBy {
    /// `INSERTED_DATE` (default).
    InsertedDate,
    /// `IUPD`.
    Iupd,
    /// `STATUS`.
    Status,
    /// `COMPANY_NAME`.
    CompanyName,
}

/// Filters and paging of [`GpdClient::list`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// Page size, 1..=50.
    pub limit: u32,
    /// Page, from 0.
    pub page: u32,
    /// Due date from.
    pub due_date_from: Option<NaiveDate>,
    /// Due date to.
    pub due_date_to: Option<NaiveDate>,
    /// Payment date from.
    pub payment_date_from: Option<NaiveDate>,
    /// Payment date to.
    pub payment_date_to: Option<NaiveDate>,
    /// Status.
    pub status: Option<PositionStatus>,
    /// Sort key.
    pub order_by: Option<OrderBy>,
    /// Ascending (default descending).
    pub ascending: bool,
}

impl Default for ListQuery {
    fn default() -> Self {
        ListQuery {
            limit: 50,
            page: 0,
            due_date_from: None,
            due_date_to: None,
            payment_date_from: None,
            payment_date_to: None,
            status: None,
            order_by: None,
            ascending: false,
        }
    }
}

/// Client of the GPD debt positions API.
///
/// Reads, `PUT` and `DELETE` are retried with backoff on 429/5xx and transport errors; `POST`s
/// (create, publish, invalidate) are not, because repeating them is not safe.
#[derive(Debug, Clone)]
pub struct GpdClient {
    http: reqwest::Client,
    base_url: String,
    key: SubscriptionKey,
    retry: RetryPolicy,
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, GpdError> {
    serde_json::from_slice(body).map_err(|e| GpdError::Api(ApiError::Decode(e.to_string())))
}

impl GpdClient {
    /// A client for `base_url` ([`GPD_PRODUCTION_URL`], [`GPD_UAT_URL`] or a test server).
    #[must_use]
    pub fn new(base_url: impl Into<String>, key: SubscriptionKey) -> GpdClient {
        GpdClient {
            http: reqwest::Client::new(),
            base_url: base_url.into(),
            key,
            retry: RetryPolicy::default(),
        }
    }

    /// Uses another retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> GpdClient {
        self.retry = retry;
        self
    }

    /// Uses a configured reqwest client (timeouts, proxy, TLS).
    #[must_use]
    pub fn with_http_client(mut self, http: reqwest::Client) -> GpdClient {
        self.http = http;
        self
    }

    fn positions_url(&self, org: &OrganizationFiscalCode) -> String {
        join_url(
            &self.base_url,
            &format!("organizations/{}/debtpositions", org.as_str()),
        )
    }

    fn position_url(&self, org: &OrganizationFiscalCode, iupd: &str) -> String {
        format!("{}/{}", self.positions_url(org), encode_segment(iupd))
    }

    /// Creates a position (`POST`, `toPublish` to publish at once). Validated first.
    ///
    /// # Errors
    /// [`GpdError::Invalid`] before sending; [`ApiError::Conflict`] when the IUPD/IUV/NAV exists.
    pub async fn create(
        &self,
        org: &OrganizationFiscalCode,
        position: &DebtPosition,
        to_publish: bool,
    ) -> Result<DebtPositionInfo, GpdError> {
        position.validate(Utc::now())?;
        let url = self.positions_url(org);
        let body = position.to_json();
        let q = [("toPublish", to_publish.to_string())];
        let call = execute(&self.http, &self.key, &self.retry, false, |h| {
            h.post(&url).query(&q).json(&body)
        })
        .await?;
        decode(&call.body)
    }

    /// Replaces a position (`PUT`). Validated first.
    ///
    /// # Errors
    /// [`GpdError::Invalid`]; [`ApiError::NotFound`]; [`ApiError::Conflict`] when the position
    /// can no longer change.
    pub async fn update(
        &self,
        org: &OrganizationFiscalCode,
        position: &DebtPosition,
        to_publish: bool,
    ) -> Result<DebtPositionInfo, GpdError> {
        position.validate(Utc::now())?;
        let url = self.position_url(org, &position.iupd);
        let body = position.to_json();
        let q = [("toPublish", to_publish.to_string())];
        let call = execute(&self.http, &self.key, &self.retry, true, |h| {
            h.put(&url).query(&q).json(&body)
        })
        .await?;
        decode(&call.body)
    }

    /// Reads a position.
    ///
    /// # Errors
    /// [`ApiError::NotFound`] and the others.
    pub async fn get(
        &self,
        org: &OrganizationFiscalCode,
        iupd: &str,
    ) -> Result<DebtPositionInfo, GpdError> {
        let url = self.position_url(org, iupd);
        let call = execute(&self.http, &self.key, &self.retry, true, |h| h.get(&url)).await?;
        decode(&call.body)
    }

    /// One page of positions.
    ///
    /// # Errors
    /// [`GpdError::Invalid`] for a limit outside 1..=50; [`ApiError`].
    pub async fn list(
        &self,
        org: &OrganizationFiscalCode,
        q: &ListQuery,
    ) -> Result<PositionsPage, GpdError> {
        if !(1..=50).contains(&q.limit) {
            return Err(ValidationError {
                path: "limit".into(),
                problem: format!("expected 1 to 50, found {}", q.limit),
            }
            .into());
        }
        let mut query: Vec<(&str, String)> =
            vec![("limit", q.limit.to_string()), ("page", q.page.to_string())];
        let d = |x: NaiveDate| x.format("%Y-%m-%d").to_string();
        for (k, v) in [
            ("due_date_from", q.due_date_from),
            ("due_date_to", q.due_date_to),
            ("payment_date_from", q.payment_date_from),
            ("payment_date_to", q.payment_date_to),
        ] {
            if let Some(v) = v {
                query.push((k, d(v)));
            }
        }
        if let Some(s) = &q.status {
            query.push(("status", s.as_str().to_owned()));
        }
        if let Some(o) = q.order_by {
            query.push((
                "orderby",
                match o {
                    OrderBy::InsertedDate => "INSERTED_DATE",
                    OrderBy::Iupd => "IUPD",
                    OrderBy::Status => "STATUS",
                    OrderBy::CompanyName => "COMPANY_NAME",
                }
                .to_owned(),
            ));
        }
        query.push((
            "ordering",
            if q.ascending { "ASC" } else { "DESC" }.to_owned(),
        ));
        let url = self.positions_url(org);
        let call = execute(&self.http, &self.key, &self.retry, true, |h| {
            h.get(&url).query(&query)
        })
        .await?;
        decode(&call.body)
    }

    /// Every position matching `q`, page after page.
    ///
    /// # Errors
    /// As [`GpdClient::list`].
    pub async fn list_all(
        &self,
        org: &OrganizationFiscalCode,
        q: &ListQuery,
    ) -> Result<Vec<DebtPositionInfo>, GpdError> {
        let mut q = q.clone();
        let mut out = Vec::new();
        loop {
            let p = self.list(org, &q).await?;
            let n = p.payment_position_list.len();
            out.extend(p.payment_position_list);
            if n == 0 || q.page + 1 >= p.page_info.total_pages {
                return Ok(out);
            }
            q.page += 1;
        }
    }

    /// Deletes a position (only before publication). Retried; a 404 on a retry (the first
    /// attempt went through) counts as done.
    ///
    /// # Errors
    /// [`ApiError::NotFound`] (first attempt), [`ApiError::Conflict`] if it cannot be deleted.
    pub async fn delete(&self, org: &OrganizationFiscalCode, iupd: &str) -> Result<(), GpdError> {
        let url = self.position_url(org, iupd);
        let first = execute(&self.http, &self.key, &RetryPolicy::none(), true, |h| {
            h.delete(&url)
        })
        .await;
        match first {
            Ok(_) => Ok(()),
            Err(
                e @ (ApiError::Server { .. }
                | ApiError::Transport(_)
                | ApiError::TooManyRequests { .. }),
            ) if self.retry.max_retries > 0 => {
                tracing::warn!(error = %e, "GPD delete: retrying");
                tokio::time::sleep(self.retry.backoff(0, None)).await;
                let retry = RetryPolicy {
                    max_retries: self.retry.max_retries - 1,
                    ..self.retry
                };
                match execute(&self.http, &self.key, &retry, true, |h| h.delete(&url)).await {
                    Ok(_) | Err(ApiError::NotFound(_)) => Ok(()),
                    Err(e) => Err(e.into()),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Publishes a draft position (not retried).
    ///
    /// # Errors
    /// [`ApiError::Conflict`] if it is not a draft, and the others.
    pub async fn publish(
        &self,
        org: &OrganizationFiscalCode,
        iupd: &str,
    ) -> Result<DebtPositionInfo, GpdError> {
        self.post_action(org, iupd, "publish").await
    }

    /// Invalidates (cancels) a position (not retried).
    ///
    /// # Errors
    /// [`ApiError::Conflict`] if it cannot be invalidated, and the others.
    pub async fn invalidate(
        &self,
        org: &OrganizationFiscalCode,
        iupd: &str,
    ) -> Result<DebtPositionInfo, GpdError> {
        self.post_action(org, iupd, "invalidate").await
    }

    async fn post_action(
        &self,
        org: &OrganizationFiscalCode,
        iupd: &str,
        action: &str,
    ) -> Result<DebtPositionInfo, GpdError> {
        let url = format!("{}/{action}", self.position_url(org, iupd));
        let call = execute(&self.http, &self.key, &self.retry, false, |h| h.post(&url)).await?;
        decode(&call.body)
    }
}
