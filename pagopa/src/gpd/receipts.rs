//! Receipts kept by GPD for positions it manages (the GPD "payments" service, feature `client`).

use serde::Deserialize;

use super::http::{ApiError, RetryPolicy, SubscriptionKey, encode_segment, execute, join_url};
use super::model::PageInfo;

/// A receipt as listed by GPD.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptSummary {
    /// Creditor.
    #[serde(default, deserialize_with = "super::model::lenient")]
    pub organization_fiscal_code: Option<String>,
    /// IUV.
    pub iuv: String,
    /// Debtor fiscal code.
    #[serde(default, deserialize_with = "super::model::lenient")]
    pub debtor: Option<String>,
    /// When it was paid.
    #[serde(default, deserialize_with = "super::model::lenient")]
    pub payment_date_time: Option<String>,
    /// Receipt status.
    #[serde(default, deserialize_with = "super::model::lenient")]
    pub status: Option<String>,
}

/// A page of receipts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ReceiptsPage {
    /// Receipts.
    #[serde(alias = "receiptsList", default)]
    pub receipts_list: Vec<ReceiptSummary>,
    /// Paging.
    #[serde(default)]
    pub page_info: Option<PageInfo>,
}

/// Filters of [`GpdReceiptsClient::list`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReceiptsQuery {
    /// Page, from 0.
    pub page: Option<u32>,
    /// Page size.
    pub limit: Option<u32>,
    /// Debtor fiscal code.
    pub debtor: Option<String>,
    /// Service.
    pub service: Option<String>,
    /// From date (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// To date (`YYYY-MM-DD`).
    pub to: Option<String>,
}

/// Client of GPD's receipts (`/payments/{organization}/receipts[/{iuv}]`). Reads only, retried per
/// the policy. The base URL is the GPD payments service of the environment.
#[derive(Debug, Clone)]
pub struct GpdReceiptsClient {
    http: reqwest::Client,
    base_url: String,
    key: SubscriptionKey,
    retry: RetryPolicy,
}

impl GpdReceiptsClient {
    /// A client for `base_url`.
    #[must_use]
    pub fn new(base_url: impl Into<String>, key: SubscriptionKey) -> GpdReceiptsClient {
        GpdReceiptsClient {
            http: reqwest::Client::new(),
            base_url: base_url.into(),
            key,
            retry: RetryPolicy::default(),
        }
    }

    /// Uses another retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> GpdReceiptsClient {
        self.retry = retry;
        self
    }

    /// Lists receipts of a creditor.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn list(
        &self,
        organization: &str,
        q: &ReceiptsQuery,
    ) -> Result<ReceiptsPage, ApiError> {
        let url = join_url(
            &self.base_url,
            &format!("payments/{}/receipts", encode_segment(organization)),
        );
        let mut query: Vec<(&str, String)> = Vec::new();
        if let Some(p) = q.page {
            query.push(("page", p.to_string()));
        }
        if let Some(l) = q.limit {
            query.push(("limit", l.to_string()));
        }
        for (k, v) in [
            ("debtor", &q.debtor),
            ("service", &q.service),
            ("from", &q.from),
            ("to", &q.to),
        ] {
            if let Some(v) = v {
                query.push((k, v.clone()));
            }
        }
        let call = execute(&self.http, &self.key, &self.retry, true, |h| {
            h.get(&url)
                .query(&query)
                .header("Accept", "application/json")
        })
        .await?;
        serde_json::from_slice(&call.body).map_err(|e| ApiError::Decode(e.to_string()))
    }

    /// The receipt of a paid IUV, as the XML document GPD keeps.
    ///
    /// # Errors
    /// [`ApiError::NotFound`] when there is no receipt, and the others.
    pub async fn get_xml(&self, organization: &str, iuv: &str) -> Result<String, ApiError> {
        let url = join_url(
            &self.base_url,
            &format!(
                "payments/{}/receipts/{}",
                encode_segment(organization),
                encode_segment(iuv)
            ),
        );
        let call = execute(&self.http, &self.key, &self.retry, true, |h| {
            h.get(&url).header("Accept", "application/xml")
        })
        .await?;
        String::from_utf8(call.body).map_err(|e| ApiError::Decode(e.to_string()))
    }
}
