//! Services management (`/manage/services…`): the models of the IO Services API's `Cms*`
//! schemas, validated when built and when read, and the sans-IO requests and parsers.
//!
//! These operations take the *manage* key of the institution ([`crate::ManageClient`]), not a
//! service's key.

use std::fmt;

use chrono::{DateTime, Utc};
use http::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::api::{self, Operation, json_request, path_segment, to_json};
use crate::client::SubscriptionKey;
use crate::deps::{CodiceFiscale, OrganizationFiscalCode};
use crate::error::{ApiError, TransportError, ValidationError};
use crate::logo::Logo;
use crate::message::check_len;
use crate::types::timestamp;

/// A text the API requires non-empty (`minLength: 1`), checked in UTF-16 units as the API does.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NonEmptyText(String);

impl NonEmptyText {
    /// Checks that `s` is not empty; `field` names it in the error.
    ///
    /// # Errors
    /// [`ValidationError::Length`] naming `field`.
    pub fn new(field: &'static str, s: impl Into<String>) -> Result<Self, ValidationError> {
        let s = s.into();
        check_len(field, &s, 1, usize::MAX)?;
        Ok(Self(s))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for NonEmptyText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for NonEmptyText {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Serialize for NonEmptyText {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for NonEmptyText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new("text", s).map_err(serde::de::Error::custom)
    }
}

/// The id of a service (`ServiceId`: a non-empty string, the service's subscription id).
/// Control characters are refused; the id is percent-encoded when put in a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceId(String);

impl ServiceId {
    /// Checks and wraps an id.
    ///
    /// # Errors
    /// [`ValidationError::Format`] for an empty id, one over 256 bytes or with control
    /// characters.
    pub fn new(id: impl Into<String>) -> Result<Self, ValidationError> {
        let id = id.into();
        if (1..=256).contains(&id.len()) && !id.chars().any(char::is_control) {
            Ok(Self(id))
        } else {
            Err(ValidationError::Format {
                field: "service_id",
                expected: "1..=256 bytes without control characters",
                found: id.chars().take(80).collect(),
            })
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps an id made by the mock (never empty).
    #[cfg(feature = "mock")]
    pub(crate) fn from_trusted(id: impl Into<String>) -> Self {
        Self(id.into())
    }
}

impl fmt::Display for ServiceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ServiceId {
    type Err = ValidationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl Serialize for ServiceId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ServiceId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// An IPv4 address or CIDR range allowed to call IO for a service (`CIDR`:
/// `^([0-9]{1,3}[.]){3}[0-9]{1,3}(/([0-9]|[1-2][0-9]|3[0-2]))?$`). Each octet must also be at
/// most 255.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cidr(String);

impl Cidr {
    /// Checks and wraps `a.b.c.d` or `a.b.c.d/n`.
    ///
    /// # Errors
    /// [`ValidationError::Format`] for `authorized_cidrs`.
    pub fn new(s: impl Into<String>) -> Result<Self, ValidationError> {
        let s = s.into();
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s.as_str(), None),
        };
        let octets: Vec<&str> = addr.split('.').collect();
        let octets_ok = octets.len() == 4
            && octets.iter().all(|o| {
                (1..=3).contains(&o.len())
                    && o.bytes().all(|b| b.is_ascii_digit())
                    && o.parse::<u16>().is_ok_and(|v| v <= 255)
            });
        let prefix_ok = prefix.is_none_or(|p| {
            (1..=2).contains(&p.len())
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u8>().is_ok_and(|v| v <= 32)
                && !(p.len() == 2 && p.starts_with('0'))
        });
        if octets_ok && prefix_ok {
            Ok(Self(s))
        } else {
            Err(ValidationError::Format {
                field: "authorized_cidrs",
                expected: "an IPv4 address or CIDR (a.b.c.d or a.b.c.d/0..32)",
                found: s.chars().take(60).collect(),
            })
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

open_enum! {
    /// Where a service operates (`CmsServiceBaseMetadata.scope`).
    ServiceScope {
        /// A local body.
        Local => "LOCAL",
        /// The whole country.
        National => "NATIONAL",
    }
}

open_enum! {
    /// Lifecycle status of a service (`CmsServiceLifecycleStatusType`).
    LifecycleStatus {
        /// Draft, editable.
        Draft => "draft",
        /// Sent to review; frozen.
        Submitted => "submitted",
        /// Approved by PagoPA; can be released.
        Approved => "approved",
        /// Rejected; must change before a new review.
        Rejected => "rejected",
        /// Deleted.
        Deleted => "deleted",
    }
}

open_enum! {
    /// Publication status of a service (`CmsServicePublicationStatusType`).
    PublicationStatus {
        /// Visible in the app.
        Published => "published",
        /// No longer visible.
        Unpublished => "unpublished",
    }
}

open_enum! {
    /// Kind of a history record (`CmsServiceHistoryStatusKind`).
    HistoryKind {
        /// A publication event.
        Publication => "publication",
        /// A lifecycle event.
        Lifecycle => "lifecycle",
    }
}

open_enum! {
    /// Status value of a history record (`CmsServiceHistoryStatusType`): a lifecycle or a
    /// publication status.
    HistoryStatus {
        /// Draft.
        Draft => "draft",
        /// Submitted.
        Submitted => "submitted",
        /// Approved.
        Approved => "approved",
        /// Rejected.
        Rejected => "rejected",
        /// Deleted.
        Deleted => "deleted",
        /// Published.
        Published => "published",
        /// Unpublished.
        Unpublished => "unpublished",
    }
}

/// The organization that runs a service (`CmsOrganization`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Organization {
    /// Name.
    pub name: NonEmptyText,
    /// Fiscal code.
    pub fiscal_code: OrganizationFiscalCode,
    /// Department.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department_name: Option<NonEmptyText>,
}

impl Organization {
    /// An organization with its name and fiscal code.
    ///
    /// # Errors
    /// [`ValidationError::Length`] for an empty name.
    pub fn new(
        name: impl Into<String>,
        fiscal_code: OrganizationFiscalCode,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            name: NonEmptyText::new("organization.name", name)?,
            fiscal_code,
            department_name: None,
        })
    }

    /// Sets the department.
    ///
    /// # Errors
    /// [`ValidationError::Length`] if empty.
    pub fn department(mut self, name: impl Into<String>) -> Result<Self, ValidationError> {
        self.department_name = Some(NonEmptyText::new("organization.department_name", name)?);
        Ok(self)
    }
}

/// The largest `max_allowed_payment_amount` (cents).
pub const MAX_PAYMENT_AMOUNT: u64 = 9_999_999_999;

/// Basic data of a service (`CmsServiceData`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceData {
    /// Name.
    pub name: NonEmptyText,
    /// Description.
    pub description: NonEmptyText,
    /// The organization.
    pub organization: Organization,
    /// Whether messages may carry only the subject in notifications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_secure_channel: Option<bool>,
    /// Fiscal codes that may receive messages while the service is in test.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorized_recipients: Vec<CodiceFiscale>,
    /// Source addresses allowed to call IO for the service (empty: any).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authorized_cidrs: Vec<Cidr>,
    /// Largest payment amount in cents, 0..=9999999999.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "amount_opt"
    )]
    pub max_allowed_payment_amount: Option<u64>,
}

fn amount_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = Option::<u64>::deserialize(d)?;
    match v {
        Some(a) if a > MAX_PAYMENT_AMOUNT => Err(serde::de::Error::custom(format_args!(
            "max_allowed_payment_amount {a} above {MAX_PAYMENT_AMOUNT}"
        ))),
        v => Ok(v),
    }
}

impl ServiceData {
    /// Data with the required parts.
    ///
    /// # Errors
    /// [`ValidationError::Length`] for an empty name or description.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        organization: Organization,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            name: NonEmptyText::new("name", name)?,
            description: NonEmptyText::new("description", description)?,
            organization,
            require_secure_channel: None,
            authorized_recipients: Vec::new(),
            authorized_cidrs: Vec::new(),
            max_allowed_payment_amount: None,
        })
    }

    /// Sets the largest payment amount, in cents.
    ///
    /// # Errors
    /// [`ValidationError::Range`] above [`MAX_PAYMENT_AMOUNT`].
    pub fn max_allowed_payment_amount(mut self, cents: u64) -> Result<Self, ValidationError> {
        if cents > MAX_PAYMENT_AMOUNT {
            return Err(ValidationError::Range {
                field: "max_allowed_payment_amount",
                min: 0,
                max: MAX_PAYMENT_AMOUNT,
                found: cents,
            });
        }
        self.max_allowed_payment_amount = Some(cents);
        Ok(self)
    }
}

/// Service metadata shared by requests and answers (`CmsServiceBaseMetadata`). Every text is
/// optional and, when given, non-empty; `scope` is required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseMetadata {
    /// Web site.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_url: Option<NonEmptyText>,
    /// iOS app link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_ios: Option<NonEmptyText>,
    /// Android app link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_android: Option<NonEmptyText>,
    /// Terms of service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tos_url: Option<NonEmptyText>,
    /// Privacy notice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub privacy_url: Option<NonEmptyText>,
    /// Address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<NonEmptyText>,
    /// Phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<NonEmptyText>,
    /// E-mail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<NonEmptyText>,
    /// PEC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pec: Option<NonEmptyText>,
    /// Call to action (front matter).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cta: Option<NonEmptyText>,
    /// Deprecated by IO; kept for reading.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_name: Option<NonEmptyText>,
    /// Support page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support_url: Option<NonEmptyText>,
    /// Scope (closed in the spec: `LOCAL` or `NATIONAL`; an unknown value read from IO is
    /// kept, and refused when sent).
    pub scope: ServiceScope,
}

impl BaseMetadata {
    /// Metadata with only the scope.
    pub fn new(scope: ServiceScope) -> Self {
        Self {
            web_url: None,
            app_ios: None,
            app_android: None,
            tos_url: None,
            privacy_url: None,
            address: None,
            phone: None,
            email: None,
            pec: None,
            cta: None,
            token_name: None,
            support_url: None,
            scope,
        }
    }
}

/// A topic a service belongs to (`CmsServiceTopic`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topic {
    /// Topic id.
    #[serde(deserialize_with = "number_u64")]
    pub id: u64,
    /// Topic name.
    pub name: String,
}

/// Reads a JSON `number` that must be a non-negative integer (`3` or `3.0`).
fn number_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = serde_json::Number::deserialize(d)?;
    if let Some(v) = n.as_u64() {
        return Ok(v);
    }
    match n.as_f64() {
        Some(f) if f >= 0.0 && f.fract() == 0.0 && f < 9.0e15 => Ok(f as u64),
        _ => Err(serde::de::Error::custom(format_args!(
            "expected a non-negative integer, found {n}"
        ))),
    }
}

fn number_u64_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    #[derive(Deserialize)]
    struct W(#[serde(deserialize_with = "number_u64")] u64);
    Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
}

/// Metadata of a service as IO returns it (`CmsServiceMetadata`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceMetadata {
    /// The shared fields.
    #[serde(flatten)]
    pub base: BaseMetadata,
    /// The topic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<Topic>,
}

/// Metadata sent when creating or updating a service (`CmsServicePayloadMetadata`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayloadMetadata {
    /// The shared fields.
    #[serde(flatten)]
    pub base: BaseMetadata,
    /// The topic id (see [`crate::ManageClient::topics`]).
    pub topic_id: u64,
}

/// Body of `cmsCreateService` and `cmsUpdateService` (`CmsServicePayload`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePayload {
    /// Metadata with the topic id.
    pub metadata: PayloadMetadata,
    /// The service data.
    #[serde(flatten)]
    pub data: ServiceData,
}

impl ServicePayload {
    /// A payload.
    pub fn new(data: ServiceData, metadata: PayloadMetadata) -> Self {
        Self { metadata, data }
    }

    /// Checks what the types cannot: the scope must be one the API knows.
    ///
    /// # Errors
    /// [`ValidationError::Format`] for `metadata.scope`.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let ServiceScope::Other(v) = &self.metadata.base.scope {
            return Err(ValidationError::Format {
                field: "metadata.scope",
                expected: "LOCAL or NATIONAL",
                found: v.clone(),
            });
        }
        Ok(())
    }
}

/// Lifecycle status with its reason (`CmsServiceLifecycleStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleState {
    /// The status.
    pub value: LifecycleStatus,
    /// Why (for example a rejection's reason).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A service in the back office (`CmsServiceLifecycle`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceLifecycle {
    /// Id.
    pub id: ServiceId,
    /// Lifecycle status.
    pub status: LifecycleState,
    /// Last change.
    #[serde(with = "timestamp")]
    pub last_update: DateTime<Utc>,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ServiceMetadata>,
    /// Data.
    #[serde(flatten)]
    pub data: ServiceData,
}

/// The released version of a service (`CmsServicePublication`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServicePublication {
    /// Id.
    pub id: ServiceId,
    /// Publication status.
    pub status: PublicationStatus,
    /// Last change.
    #[serde(with = "timestamp")]
    pub last_update: DateTime<Utc>,
    /// Metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ServiceMetadata>,
    /// Data.
    #[serde(flatten)]
    pub data: ServiceData,
}

/// Page position of a list (`CmsPaginationResultSet`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Pagination {
    /// Offset of the page.
    #[serde(default, deserialize_with = "number_u64_opt")]
    pub offset: Option<u64>,
    /// Size asked.
    #[serde(default, deserialize_with = "number_u64_opt")]
    pub limit: Option<u64>,
    /// Total number of services.
    #[serde(default, deserialize_with = "number_u64_opt")]
    pub count: Option<u64>,
}

/// A page of services (`CmsServicePagination`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ServicePage {
    /// The services.
    #[serde(default)]
    pub value: Vec<ServiceLifecycle>,
    /// Position.
    #[serde(default)]
    pub pagination: Pagination,
}

/// Which page of `cmsGetServices` to read: `limit` 1..=100 (default 20), `offset` ≥ 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    limit: u32,
    offset: u64,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            limit: 20,
            offset: 0,
        }
    }
}

impl PageRequest {
    /// A page.
    ///
    /// # Errors
    /// [`ValidationError::Range`] for a limit outside 1..=100.
    pub fn new(limit: u32, offset: u64) -> Result<Self, ValidationError> {
        check_limit(limit)?;
        Ok(Self { limit, offset })
    }

    /// Page size.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// Offset.
    pub fn offset(&self) -> u64 {
        self.offset
    }
}

fn check_limit(limit: u32) -> Result<(), ValidationError> {
    if (1..=100).contains(&limit) {
        Ok(())
    } else {
        Err(ValidationError::Range {
            field: "limit",
            min: 1,
            max: 100,
            found: u64::from(limit),
        })
    }
}

/// Order of a history (`order`: `ASC` or `DESC`, default `DESC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HistoryOrder {
    /// Oldest first.
    Asc,
    /// Newest first (the default).
    #[default]
    Desc,
}

/// Which page of `cmsGetServiceHistory` to read.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HistoryRequest {
    order: HistoryOrder,
    limit: Option<u32>,
    continuation_token: Option<String>,
}

impl HistoryRequest {
    /// The first page in `order`, of at most `limit` records (1..=100; `None`: IO's default 10).
    ///
    /// # Errors
    /// [`ValidationError::Range`] for a limit outside 1..=100.
    pub fn new(order: HistoryOrder, limit: Option<u32>) -> Result<Self, ValidationError> {
        if let Some(l) = limit {
            check_limit(l)?;
        }
        Ok(Self {
            order,
            limit,
            continuation_token: None,
        })
    }

    /// The page after the one that returned `token`.
    #[must_use]
    pub fn after(mut self, token: impl Into<String>) -> Self {
        self.continuation_token = Some(token.into());
        self
    }
}

/// Status of a history record (`CmsServiceHistoryItemStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryState {
    /// Lifecycle or publication event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<HistoryKind>,
    /// The status.
    pub value: HistoryStatus,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A record of a service's history (`CmsServiceHistoryItem`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryItem {
    /// Service id.
    pub id: ServiceId,
    /// Status then.
    pub status: HistoryState,
    /// When.
    #[serde(with = "timestamp")]
    pub last_update: DateTime<Utc>,
    /// Metadata then.
    pub metadata: ServiceMetadata,
    /// Data then.
    #[serde(flatten)]
    pub data: ServiceData,
}

/// A page of history (`CmsServiceHistory`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ServiceHistory {
    /// Token of the next page; `None` on the last one.
    #[serde(
        rename = "continuationToken",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub continuation_token: Option<String>,
    /// Records.
    #[serde(default)]
    pub items: Vec<HistoryItem>,
}

/// Which key of a service (path `keyType`: `primary` or `secondary`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// The primary key.
    Primary,
    /// The secondary key.
    Secondary,
}

impl KeyType {
    /// As the path spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Primary => "primary",
            Self::Secondary => "secondary",
        }
    }

    /// The other one.
    pub fn other(self) -> Self {
        match self {
            Self::Primary => Self::Secondary,
            Self::Secondary => Self::Primary,
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A service's two keys (`CmsSubscriptionKeys`). `Debug` prints them redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceKeys {
    /// Primary key.
    pub primary: SubscriptionKey,
    /// Secondary key.
    pub secondary: SubscriptionKey,
}

impl ServiceKeys {
    /// The key of that type.
    pub fn get(&self, t: KeyType) -> &SubscriptionKey {
        match t {
            KeyType::Primary => &self.primary,
            KeyType::Secondary => &self.secondary,
        }
    }

    /// Which of the two `key` is.
    pub fn which(&self, key: &SubscriptionKey) -> Option<KeyType> {
        if key == &self.primary {
            Some(KeyType::Primary)
        } else if key == &self.secondary {
            Some(KeyType::Secondary)
        } else {
            None
        }
    }
}

impl<'de> Deserialize<'de> for ServiceKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct W {
            primary_key: String,
            secondary_key: String,
        }
        let w = W::deserialize(d)?;
        Ok(Self {
            primary: SubscriptionKey::new(w.primary_key),
            secondary: SubscriptionKey::new(w.secondary_key),
        })
    }
}

impl Serialize for ServiceKeys {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct W<'a> {
            primary_key: &'a str,
            secondary_key: &'a str,
        }
        W {
            primary_key: self.primary.expose_secret(),
            secondary_key: self.secondary.expose_secret(),
        }
        .serialize(s)
    }
}

/// Body of `cmsReviewService` (`CmsReviewRequest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewRequest {
    /// Publish as soon as the service is approved.
    pub auto_publish: bool,
}

#[derive(Deserialize)]
struct TopicList {
    #[serde(default)]
    topics: Vec<Topic>,
}

// ---- sans-IO requests and parsers ----

fn service_path(id: &ServiceId, tail: &str) -> String {
    format!("/manage/services/{}{tail}", path_segment(id.as_str()))
}

/// `POST /manage/services`.
///
/// # Errors
/// [`crate::Error::Validation`] for a payload [`ServicePayload::validate`] refuses,
/// [`crate::Error::Transport`] for a bad base URL.
pub fn create_service_request(
    base_url: &str,
    payload: &ServicePayload,
) -> Result<Request<Vec<u8>>, crate::Error> {
    payload.validate()?;
    Ok(json_request(
        Method::POST,
        base_url,
        "/manage/services",
        Some(to_json(payload)),
    )?)
}

/// `PUT /manage/services/{serviceId}`.
///
/// # Errors
/// As [`create_service_request`].
pub fn update_service_request(
    base_url: &str,
    id: &ServiceId,
    payload: &ServicePayload,
) -> Result<Request<Vec<u8>>, crate::Error> {
    payload.validate()?;
    Ok(json_request(
        Method::PUT,
        base_url,
        &service_path(id, ""),
        Some(to_json(payload)),
    )?)
}

/// `GET /manage/services?limit=&offset=`.
///
/// # Errors
/// [`TransportError::Url`] for a bad base URL.
pub fn list_services_request(
    base_url: &str,
    page: PageRequest,
) -> Result<Request<Vec<u8>>, TransportError> {
    let path = format!(
        "/manage/services?limit={}&offset={}",
        page.limit, page.offset
    );
    json_request(Method::GET, base_url, &path, None)
}

/// A request without body on a service path (`GET`/`DELETE`/`POST` of `tail`).
///
/// # Errors
/// [`TransportError::Url`] for a bad base URL.
pub fn service_request(
    base_url: &str,
    method: Method,
    id: &ServiceId,
    tail: &str,
) -> Result<Request<Vec<u8>>, TransportError> {
    json_request(method, base_url, &service_path(id, tail), None)
}

/// `GET /manage/services/{serviceId}/history` with the query of `req`.
///
/// # Errors
/// [`TransportError::Url`] for a bad base URL.
pub fn history_request(
    base_url: &str,
    id: &ServiceId,
    req: &HistoryRequest,
) -> Result<Request<Vec<u8>>, TransportError> {
    let mut q = format!(
        "?order={}",
        match req.order {
            HistoryOrder::Asc => "ASC",
            HistoryOrder::Desc => "DESC",
        }
    );
    if let Some(l) = req.limit {
        q.push_str(&format!("&limit={l}"));
    }
    if let Some(t) = &req.continuation_token {
        q.push_str("&continuationToken=");
        q.push_str(&path_segment(t));
    }
    json_request(
        Method::GET,
        base_url,
        &service_path(id, &format!("/history{q}")),
        None,
    )
}

/// `PUT /manage/services/{serviceId}/logo` with `{logo}`.
///
/// # Errors
/// [`TransportError::Url`] for a bad base URL.
pub fn service_logo_request(
    base_url: &str,
    id: &ServiceId,
    logo: &Logo,
) -> Result<Request<Vec<u8>>, TransportError> {
    json_request(
        Method::PUT,
        base_url,
        &service_path(id, "/logo"),
        Some(to_json(&logo.payload())),
    )
}

/// `PUT /manage/services/{serviceId}/keys/{keyType}`.
///
/// # Errors
/// [`TransportError::Url`] for a bad base URL.
pub fn regenerate_key_request(
    base_url: &str,
    id: &ServiceId,
    key: KeyType,
) -> Result<Request<Vec<u8>>, TransportError> {
    json_request(
        Method::PUT,
        base_url,
        &service_path(id, &format!("/keys/{}", key.as_str())),
        None,
    )
}

/// `PUT /manage/services/{serviceId}/review` with `{auto_publish}`.
///
/// # Errors
/// [`TransportError::Url`] for a bad base URL.
pub fn review_request(
    base_url: &str,
    id: &ServiceId,
    review: ReviewRequest,
) -> Result<Request<Vec<u8>>, TransportError> {
    json_request(
        Method::PUT,
        base_url,
        &service_path(id, "/review"),
        Some(to_json(&review)),
    )
}

/// `GET /manage/services/topics`.
///
/// # Errors
/// [`TransportError::Url`] for a bad base URL.
pub fn topics_request(base_url: &str) -> Result<Request<Vec<u8>>, TransportError> {
    json_request(Method::GET, base_url, "/manage/services/topics", None)
}

pub(crate) fn parse_created_service(r: &Response<Vec<u8>>) -> Result<ServiceLifecycle, ApiError> {
    api::expect_json(Operation::CmsCreateService, r, StatusCode::CREATED)
}
pub(crate) fn parse_updated_service(r: &Response<Vec<u8>>) -> Result<ServiceLifecycle, ApiError> {
    api::expect_json(Operation::CmsUpdateService, r, StatusCode::OK)
}
pub(crate) fn parse_service(r: &Response<Vec<u8>>) -> Result<ServiceLifecycle, ApiError> {
    api::expect_json(Operation::CmsGetService, r, StatusCode::OK)
}
pub(crate) fn parse_services(r: &Response<Vec<u8>>) -> Result<ServicePage, ApiError> {
    api::expect_json(Operation::CmsGetServices, r, StatusCode::OK)
}
pub(crate) fn parse_topics(r: &Response<Vec<u8>>) -> Result<Vec<Topic>, ApiError> {
    api::expect_json::<TopicList>(Operation::GetServiceTopics, r, StatusCode::OK).map(|t| t.topics)
}
pub(crate) fn parse_history(r: &Response<Vec<u8>>) -> Result<ServiceHistory, ApiError> {
    api::expect_json(Operation::CmsGetServiceHistory, r, StatusCode::OK)
}
pub(crate) fn parse_keys(r: &Response<Vec<u8>>) -> Result<ServiceKeys, ApiError> {
    api::expect_json(Operation::CmsGetServiceKeys, r, StatusCode::OK)
}
pub(crate) fn parse_regenerated(r: &Response<Vec<u8>>) -> Result<ServiceKeys, ApiError> {
    api::expect_json(Operation::CmsRegenerateServiceKey, r, StatusCode::OK)
}
pub(crate) fn parse_publication(r: &Response<Vec<u8>>) -> Result<ServicePublication, ApiError> {
    api::expect_json(Operation::CmsGetPublishedService, r, StatusCode::OK)
}

/// Expects `ok` with any (ignored) body.
pub(crate) fn expect_status(
    op: Operation,
    r: &Response<Vec<u8>>,
    ok: StatusCode,
) -> Result<(), ApiError> {
    if r.status() == ok {
        Ok(())
    } else {
        Err(api::error_from_response(op, r))
    }
}
