//! FdR ("Flussi di Rendicontazione") REST client for creditors (feature `client`).

use chrono::{DateTime, Utc};
use pa_types::Amount;
use serde::{Deserialize, Deserializer};

use super::flow::OutcomeCode;
use super::reconcile::{PaymentKey, ReportedPayment};
use crate::gpd::http::{encode_segment, execute, join_url};
use crate::gpd::{ApiError, RetryPolicy, SubscriptionKey};

/// Errors of the FdR client.
pub type FdrError = ApiError;

/// Production base URL of the FdR API for creditors.
pub const FDR_PRODUCTION_URL: &str = "https://api.platform.pagopa.it/fdr-org/service/v1";

/// A page of results.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// Items of this page.
    pub items: Vec<T>,
    /// This page's number (1-based).
    pub page_number: u32,
    /// Total pages.
    pub total_pages: u32,
}

/// A published flow, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowSummary {
    /// Flow id.
    pub fdr: String,
    /// PSP.
    #[serde(default)]
    pub psp_id: Option<String>,
    /// Revision.
    pub revision: u64,
    /// Publication time.
    #[serde(default)]
    pub published: Option<String>,
    /// Flow date.
    #[serde(default)]
    pub flow_date: Option<String>,
}

/// A flow's details.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowInfo {
    /// Flow id.
    pub fdr: String,
    /// Revision.
    #[serde(default)]
    pub revision: Option<u64>,
    /// Status (`PUBLISHED`, ...).
    #[serde(default)]
    pub status: Option<String>,
    /// Settlement reference.
    #[serde(default)]
    pub regulation: Option<String>,
    /// Settlement date.
    #[serde(default)]
    pub regulation_date: Option<String>,
    /// BIC of the bank receiving the settlement.
    #[serde(default)]
    pub bic_code_pouring_bank: Option<String>,
    /// Declared number of payments.
    #[serde(default)]
    pub tot_payments: Option<u64>,
    /// Declared sum.
    #[serde(default, deserialize_with = "opt_decimal")]
    pub sum_payments: Option<Amount>,
    /// Computed number of payments.
    #[serde(default)]
    pub computed_tot_payments: Option<u64>,
    /// Computed sum.
    #[serde(default, deserialize_with = "opt_decimal")]
    pub computed_sum_payments: Option<Amount>,
}

/// `payStatus` of an FdR payment, with its XML outcome code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PayStatus {
    /// `EXECUTED` (0).
    Executed,
    /// `REVOKED` (3).
    Revoked,
    /// `STAND_IN` (4).
    StandIn,
    /// `STAND_IN_NO_RPT` (8).
    StandInNoRpt,
    /// `NO_RPT` (9).
    NoRpt,
    /// Unknown value.
    Other(String),
}

impl PayStatus {
    /// The equivalent `codiceEsitoSingoloPagamento`.
    #[must_use]
    pub fn outcome(&self) -> OutcomeCode {
        match self {
            PayStatus::Executed => OutcomeCode::Executed,
            PayStatus::Revoked => OutcomeCode::Revoked,
            PayStatus::StandIn => OutcomeCode::StandIn,
            PayStatus::StandInNoRpt => OutcomeCode::StandInNoRpt,
            PayStatus::NoRpt => OutcomeCode::NoRpt,
            PayStatus::Other(_) => OutcomeCode::Other(255),
        }
    }
}

impl<'de> Deserialize<'de> for PayStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "EXECUTED" => PayStatus::Executed,
            "REVOKED" => PayStatus::Revoked,
            "STAND_IN" => PayStatus::StandIn,
            "STAND_IN_NO_RPT" => PayStatus::StandInNoRpt,
            "NO_RPT" => PayStatus::NoRpt,
            _ => PayStatus::Other(s),
        })
    }
}

/// Converts a JSON number in euro (e.g. `100.95`) to exact cents. The shortest decimal form of
/// the number must have at most two decimals.
fn decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Amount, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    let s = n.to_string();
    let s = s.strip_suffix(".0").unwrap_or(&s);
    Amount::parse_decimal(s).map_err(serde::de::Error::custom)
}

fn opt_decimal<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Amount>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "decimal")] Amount);
    Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
}

/// A payment in a published flow.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FdrPayment {
    /// Index in the flow.
    pub index: u64,
    /// IUV.
    pub iuv: String,
    /// IUR.
    pub iur: String,
    /// Transfer index 1..5.
    pub id_transfer: u8,
    /// Amount.
    #[serde(deserialize_with = "decimal")]
    pub pay: Amount,
    /// Status.
    pub pay_status: PayStatus,
    /// Date.
    pub pay_date: String,
}

impl FdrPayment {
    /// As a reported payment of flow `fdr`, for [`reconcile`](super::reconcile).
    #[must_use]
    pub fn to_reported(&self, fdr: &str) -> ReportedPayment {
        ReportedPayment {
            key: PaymentKey {
                iuv: self.iuv.clone(),
                iur: self.iur.clone(),
                transfer_index: self.id_transfer,
            },
            amount: self.pay,
            outcome: self.pay_status.outcome(),
            flow_id: fdr.to_owned(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    #[serde(default)]
    page_number: u32,
    #[serde(default)]
    tot_page: u32,
}

#[derive(Deserialize)]
struct Paginated<T> {
    #[serde(default)]
    metadata: Metadata,
    #[serde(default = "Vec::new")]
    data: Vec<T>,
}

/// Filters of [`FdrClient::list_published`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowsQuery {
    /// Only this PSP.
    pub psp_id: Option<String>,
    /// Published after this instant.
    pub published_gt: Option<DateTime<Utc>>,
    /// Flow date.
    pub flow_date: Option<DateTime<Utc>>,
    /// Page (1-based; default 1).
    pub page: Option<u32>,
    /// Page size (1..1000; default 1000).
    pub size: Option<u32>,
}

/// Client of the FdR API (all calls are reads, so they are retried per the policy).
#[derive(Debug, Clone)]
pub struct FdrClient {
    http: reqwest::Client,
    base_url: String,
    key: SubscriptionKey,
    retry: RetryPolicy,
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::Decode(e.to_string()))
}

impl FdrClient {
    /// A client for `base_url` (e.g. [`FDR_PRODUCTION_URL`]).
    #[must_use]
    pub fn new(base_url: impl Into<String>, key: SubscriptionKey) -> FdrClient {
        FdrClient {
            http: reqwest::Client::new(),
            base_url: base_url.into(),
            key,
            retry: RetryPolicy::default(),
        }
    }

    /// Uses another retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> FdrClient {
        self.retry = retry;
        self
    }

    /// Uses a configured reqwest client (timeouts, proxy, TLS).
    #[must_use]
    pub fn with_http_client(mut self, http: reqwest::Client) -> FdrClient {
        self.http = http;
        self
    }

    async fn get(
        &self,
        path: String,
        query: Vec<(&'static str, String)>,
    ) -> Result<Vec<u8>, ApiError> {
        let url = join_url(&self.base_url, &path);
        let call = execute(&self.http, &self.key, &self.retry, true, |h| {
            h.get(&url).query(&query)
        })
        .await?;
        Ok(call.body)
    }

    /// `GET /organizations/{org}/fdrs`: published flows for a creditor.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn list_published(
        &self,
        organization: &str,
        q: &FlowsQuery,
    ) -> Result<Page<FlowSummary>, FdrError> {
        let mut query = Vec::new();
        if let Some(p) = &q.psp_id {
            query.push(("pspId", p.clone()));
        }
        if let Some(t) = q.published_gt {
            query.push((
                "publishedGt",
                t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ));
        }
        if let Some(t) = q.flow_date {
            query.push((
                "flowDate",
                t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            ));
        }
        query.push(("page", q.page.unwrap_or(1).max(1).to_string()));
        query.push(("size", q.size.unwrap_or(1000).clamp(1, 1000).to_string()));
        let body = self
            .get(
                format!("organizations/{}/fdrs", encode_segment(organization)),
                query,
            )
            .await?;
        let p: Paginated<FlowSummary> = decode(&body)?;
        Ok(Page {
            items: p.data,
            page_number: p.metadata.page_number,
            total_pages: p.metadata.tot_page,
        })
    }

    fn flow_path(organization: &str, fdr: &str, revision: u64, psp: &str) -> String {
        format!(
            "organizations/{}/fdrs/{}/revisions/{revision}/psps/{}",
            encode_segment(organization),
            encode_segment(fdr),
            encode_segment(psp)
        )
    }

    /// `GET .../fdrs/{fdr}/revisions/{revision}/psps/{psp}`: a flow's details.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn get_flow(
        &self,
        organization: &str,
        fdr: &str,
        revision: u64,
        psp: &str,
    ) -> Result<FlowInfo, FdrError> {
        let body = self
            .get(
                Self::flow_path(organization, fdr, revision, psp),
                Vec::new(),
            )
            .await?;
        decode(&body)
    }

    /// One page of a flow's payments.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn flow_payments_page(
        &self,
        organization: &str,
        fdr: &str,
        revision: u64,
        psp: &str,
        page: u32,
        size: u32,
    ) -> Result<Page<FdrPayment>, FdrError> {
        let body = self
            .get(
                format!(
                    "{}/payments",
                    Self::flow_path(organization, fdr, revision, psp)
                ),
                vec![
                    ("page", page.max(1).to_string()),
                    ("size", size.max(1).to_string()),
                ],
            )
            .await?;
        let p: Paginated<FdrPayment> = decode(&body)?;
        Ok(Page {
            items: p.data,
            page_number: p.metadata.page_number,
            total_pages: p.metadata.tot_page,
        })
    }

    /// All payments of a flow, page after page.
    ///
    /// # Errors
    /// [`ApiError`].
    pub async fn flow_payments(
        &self,
        organization: &str,
        fdr: &str,
        revision: u64,
        psp: &str,
    ) -> Result<Vec<FdrPayment>, FdrError> {
        let mut out = Vec::new();
        let mut page = 1u32;
        loop {
            let p = self
                .flow_payments_page(organization, fdr, revision, psp, page, 1000)
                .await?;
            let n = p.items.len();
            out.extend(p.items);
            if n == 0 || page >= p.total_pages {
                return Ok(out);
            }
            page += 1;
        }
    }
}
