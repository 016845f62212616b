//! The GPD v3 client (feature `client`): positions with several payment options, each with
//! its installments ([`crate::position::Position`]).
//!
//! Answers are decoded leniently: the fields this crate uses are read (a missing `iupd` or
//! `iuv` is an error), every other field is ignored whatever its value, and a used field with a
//! value out of its range (a negative amount, an unknown status) becomes `None` / `Other`
//! rather than failing the whole answer.

use chrono::Utc;
use pa_types::{Amount, OrganizationFiscalCode};
use serde_json::Value;

use super::client::{GpdError, ListQuery, OrderBy};
use super::http::{ApiError, RetryPolicy, SubscriptionKey, encode_segment, execute, join_url};
use super::model::{PageInfo, PositionStatus, ValidationError};
use crate::position::Position;

/// Production base URL of GPD v3.
pub const GPD_V3_PRODUCTION_URL: &str =
    "https://api.platform.pagopa.it/gpd/debt-positions-service/v3";
/// UAT base URL of GPD v3.
pub const GPD_V3_UAT_URL: &str = "https://api.uat.platform.pagopa.it/gpd/debt-positions-service/v3";

/// An installment as GPD v3 returns it (`InstallmentModelResponse`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallmentInfo {
    /// IUV.
    pub iuv: String,
    /// Notice number.
    pub nav: Option<String>,
    /// Amount (`None` when absent or not a non-negative integer of cents).
    pub amount: Option<Amount>,
    /// Description.
    pub description: Option<String>,
    /// Due date, as sent.
    pub due_date: Option<String>,
    /// Payment date, once paid.
    pub payment_date: Option<String>,
    /// `UNPAID`, `PAID`, `PARTIALLY_REPORTED`, `REPORTED`, `UNPAYABLE`, `EXPIRED`.
    pub status: Option<String>,
    /// Receipt id, once paid.
    pub id_receipt: Option<String>,
}

/// A payment option as GPD v3 returns it (`PaymentOptionModelResponseV3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentOptionInfoV3 {
    /// Expires after the due date.
    pub switch_to_expired: Option<bool>,
    /// Validity date, as sent.
    pub validity_date: Option<String>,
    /// Installments.
    pub installments: Vec<InstallmentInfo>,
}

/// A position as GPD v3 returns it (`PaymentPositionModelResponseV3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionInfoV3 {
    /// IUPD.
    pub iupd: String,
    /// Creditor.
    pub organization_fiscal_code: Option<String>,
    /// Creditor name.
    pub company_name: Option<String>,
    /// Status (`UNPAYABLE` is [`PositionStatus::Other`]).
    pub status: Option<PositionStatus>,
    /// Payment date.
    pub payment_date: Option<String>,
    /// Options.
    pub options: Vec<PaymentOptionInfoV3>,
}

/// A page of v3 positions (`PaymentPositionsInfoV3`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionsPageV3 {
    /// Positions.
    pub positions: Vec<PositionInfoV3>,
    /// Paging.
    pub page_info: PageInfo,
}

fn text(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(Value::as_str).map(str::to_owned)
}

fn cents(v: &Value, k: &str) -> Option<Amount> {
    v.get(k).and_then(Value::as_u64).map(Amount::from_cents)
}

fn arr<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn bad(what: &str) -> GpdError {
    GpdError::Api(ApiError::Decode(format!("missing or not a string: {what}")))
}

fn u32_of(v: &Value, k: &str) -> u32 {
    v.get(k)
        .and_then(Value::as_u64)
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

pub(crate) fn status(s: &str) -> PositionStatus {
    match s {
        "DRAFT" => PositionStatus::Draft,
        "PUBLISHED" => PositionStatus::Published,
        "VALID" => PositionStatus::Valid,
        "INVALID" => PositionStatus::Invalid,
        "EXPIRED" => PositionStatus::Expired,
        "PARTIALLY_PAID" => PositionStatus::PartiallyPaid,
        "PAID" => PositionStatus::Paid,
        "REPORTED" => PositionStatus::Reported,
        o => PositionStatus::Other(o.to_owned()),
    }
}

impl PositionInfoV3 {
    /// Reads a position from a decoded answer.
    ///
    /// # Errors
    /// When `iupd`, or an installment's `iuv`, is missing.
    pub fn from_value(v: &Value) -> Result<PositionInfoV3, GpdError> {
        let iupd = text(v, "iupd").ok_or_else(|| bad("iupd"))?;
        let mut options = Vec::new();
        for (i, o) in arr(v, "paymentOption").iter().enumerate() {
            let mut installments = Vec::new();
            for (j, inst) in arr(o, "installments").iter().enumerate() {
                installments.push(InstallmentInfo {
                    iuv: text(inst, "iuv")
                        .ok_or_else(|| bad(&format!("paymentOption[{i}].installments[{j}].iuv")))?,
                    nav: text(inst, "nav"),
                    amount: cents(inst, "amount"),
                    description: text(inst, "description"),
                    due_date: text(inst, "dueDate"),
                    payment_date: text(inst, "paymentDate"),
                    status: text(inst, "status"),
                    id_receipt: text(inst, "idReceipt"),
                });
            }
            options.push(PaymentOptionInfoV3 {
                switch_to_expired: o.get("switchToExpired").and_then(Value::as_bool),
                validity_date: text(o, "validityDate"),
                installments,
            });
        }
        Ok(PositionInfoV3 {
            iupd,
            organization_fiscal_code: text(v, "organizationFiscalCode"),
            company_name: text(v, "companyName"),
            status: text(v, "status").map(|s| status(&s)),
            payment_date: text(v, "paymentDate"),
            options,
        })
    }
}

fn decode_value(body: &[u8]) -> Result<Value, GpdError> {
    serde_json::from_slice(body).map_err(|e| GpdError::Api(ApiError::Decode(e.to_string())))
}

fn decode_position(body: &[u8]) -> Result<PositionInfoV3, GpdError> {
    PositionInfoV3::from_value(&decode_value(body)?)
}

/// Client of the GPD v3 debt positions API.
///
/// Reads, `PUT` and `DELETE` are retried with backoff on 429/5xx and transport errors; `POST`s
/// (create, publish) are not.
#[derive(Debug, Clone)]
pub struct GpdV3Client {
    http: reqwest::Client,
    base_url: String,
    key: SubscriptionKey,
    retry: RetryPolicy,
}

impl GpdV3Client {
    /// A client for `base_url` ([`GPD_V3_PRODUCTION_URL`], [`GPD_V3_UAT_URL`] or a test
    /// server).
    #[must_use]
    pub fn new(base_url: impl Into<String>, key: SubscriptionKey) -> GpdV3Client {
        GpdV3Client {
            http: reqwest::Client::new(),
            base_url: base_url.into(),
            key,
            retry: RetryPolicy::default(),
        }
    }

    /// Uses another retry policy.
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> GpdV3Client {
        self.retry = retry;
        self
    }

    /// Uses a configured reqwest client (timeouts, proxy, TLS).
    #[must_use]
    pub fn with_http_client(mut self, http: reqwest::Client) -> GpdV3Client {
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

    /// Creates `position` for its creditor (`POST`, `toPublish` to publish at once), after
    /// [`Position::validate`].
    ///
    /// # Errors
    /// [`GpdError::Invalid`] before sending; [`ApiError::Conflict`] when the IUPD/IUV/NAV exists.
    pub async fn create(
        &self,
        position: &Position,
        to_publish: bool,
    ) -> Result<PositionInfoV3, GpdError> {
        position.validate(Utc::now())?;
        let url = self.positions_url(&position.creditor);
        let body = position.to_gpd_v3_json();
        let q = [("toPublish", to_publish.to_string())];
        let call = execute(&self.http, &self.key, &self.retry, false, |h| {
            h.post(&url).query(&q).json(&body)
        })
        .await?;
        decode_position(&call.body)
    }

    /// Replaces a position (`PUT`), after [`Position::validate`].
    ///
    /// # Errors
    /// [`GpdError::Invalid`]; [`ApiError::NotFound`]; [`ApiError::Conflict`] when the position
    /// can no longer change.
    pub async fn update(
        &self,
        position: &Position,
        to_publish: bool,
    ) -> Result<PositionInfoV3, GpdError> {
        position.validate(Utc::now())?;
        let url = self.position_url(&position.creditor, &position.iupd);
        let body = position.to_gpd_v3_json();
        let q = [("toPublish", to_publish.to_string())];
        let call = execute(&self.http, &self.key, &self.retry, true, |h| {
            h.put(&url).query(&q).json(&body)
        })
        .await?;
        decode_position(&call.body)
    }

    /// Reads a position.
    ///
    /// # Errors
    /// [`ApiError::NotFound`] and the others.
    pub async fn get(
        &self,
        org: &OrganizationFiscalCode,
        iupd: &str,
    ) -> Result<PositionInfoV3, GpdError> {
        let url = self.position_url(org, iupd);
        let call = execute(&self.http, &self.key, &self.retry, true, |h| h.get(&url)).await?;
        decode_position(&call.body)
    }

    /// Publishes a draft position (not retried).
    ///
    /// # Errors
    /// [`ApiError::Conflict`] if it is not a draft, and the others.
    pub async fn publish(
        &self,
        org: &OrganizationFiscalCode,
        iupd: &str,
    ) -> Result<PositionInfoV3, GpdError> {
        let url = format!("{}/publish", self.position_url(org, iupd));
        let call = execute(&self.http, &self.key, &self.retry, false, |h| h.post(&url)).await?;
        decode_position(&call.body)
    }

    /// Deletes a position (GPD v3 has no separate invalidation: a position that can no longer
    /// be deleted answers [`ApiError::Conflict`]).
    ///
    /// # Errors
    /// [`ApiError::NotFound`], [`ApiError::Conflict`] and the others.
    pub async fn delete(&self, org: &OrganizationFiscalCode, iupd: &str) -> Result<(), GpdError> {
        let url = self.position_url(org, iupd);
        execute(&self.http, &self.key, &self.retry, true, |h| h.delete(&url)).await?;
        Ok(())
    }

    /// One page of positions.
    ///
    /// # Errors
    /// [`GpdError::Invalid`] for a limit outside 1..=100; [`ApiError`].
    pub async fn list(
        &self,
        org: &OrganizationFiscalCode,
        q: &ListQuery,
    ) -> Result<PositionsPageV3, GpdError> {
        if !(1..=100).contains(&q.limit) {
            return Err(ValidationError {
                path: "limit".into(),
                problem: format!("expected 1 to 100, found {}", q.limit),
            }
            .into());
        }
        let mut query: Vec<(&str, String)> =
            vec![("limit", q.limit.to_string()), ("page", q.page.to_string())];
        for (k, v) in [
            ("due_date_from", q.due_date_from),
            ("due_date_to", q.due_date_to),
            ("payment_date_from", q.payment_date_from),
            ("payment_date_to", q.payment_date_to),
        ] {
            if let Some(v) = v {
                query.push((k, v.format("%Y-%m-%d").to_string()));
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
        let v = decode_value(&call.body)?;
        let positions = arr(&v, "payment_position_list")
            .iter()
            .map(PositionInfoV3::from_value)
            .collect::<Result<Vec<_>, _>>()?;
        let pi = v.get("page_info").cloned().unwrap_or(Value::Null);
        Ok(PositionsPageV3 {
            positions,
            page_info: PageInfo {
                page: u32_of(&pi, "page"),
                limit: u32_of(&pi, "limit"),
                items_found: u32_of(&pi, "items_found"),
                total_pages: u32_of(&pi, "total_pages"),
            },
        })
    }
}
