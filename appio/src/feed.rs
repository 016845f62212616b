//! The subscriptions feed (`getSubscriptionsFeedForDate`) and the organization logo
//! (`uploadOrganizationLogo`), both with the service's key.

use std::fmt;

use chrono::NaiveDate;
use http::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::api::{self, Operation, json_request, to_json};
use crate::client::IoClient;
use crate::deps::{CodiceFiscale, OrganizationFiscalCode};
use crate::error::{ApiError, Error, TransportError, ValidationError};
use crate::logo::Logo;

/// The hash by which the feed names a citizen (`FiscalCodeHash`):
/// `lowercase(hex(sha256(uppercase(fiscal code))))`, 64 lowercase hex digits.
///
/// The spec gives this schema `minLength`/`maxLength` 16 next to the pattern `[0-9a-f]{64}`
/// and the 64-digit example; the 64 digits of a SHA-256 are what is read and checked here.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FiscalCodeHash(String);

impl FiscalCodeHash {
    /// The hash of a citizen's fiscal code.
    pub fn of(cf: &CodiceFiscale) -> Self {
        let d = ring::digest::digest(
            &ring::digest::SHA256,
            cf.as_str().to_ascii_uppercase().as_bytes(),
        );
        let mut s = String::with_capacity(64);
        for b in d.as_ref() {
            s.push_str(&format!("{b:02x}"));
        }
        Self(s)
    }

    /// Checks a hash as the feed gives it.
    ///
    /// # Errors
    /// [`ValidationError::Format`] unless it is 64 lowercase hex digits.
    pub fn new(s: &str) -> Result<Self, ValidationError> {
        if s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValidationError::Format {
                field: "subscriptions",
                expected: "64 lowercase hex digits (SHA-256)",
                found: s.chars().take(80).collect(),
            })
        }
    }

    /// The hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for FiscalCodeHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for FiscalCodeHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for FiscalCodeHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Who subscribed to and unsubscribed from the service on one UTC day (`SubscriptionsFeed`).
/// The feed is one document per day; the API does not paginate it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionsFeed {
    /// The day (`dateUTC`, `YYYY-MM-DD`).
    #[serde(rename = "dateUTC", with = "date_utc")]
    pub date: NaiveDate,
    /// Citizens who subscribed.
    pub subscriptions: Vec<FiscalCodeHash>,
    /// Citizens who unsubscribed.
    pub unsubscriptions: Vec<FiscalCodeHash>,
}

/// `DateUTC`: `YYYY-MM-DD`, exactly 10 characters.
mod date_utc {
    use super::*;

    pub(super) fn serialize<S: Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&d.format("%Y-%m-%d").to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map_err(serde::de::Error::custom)
    }

    pub(super) fn parse(s: &str) -> Result<NaiveDate, ValidationError> {
        let bad = || ValidationError::Format {
            field: "dateUTC",
            expected: "a date YYYY-MM-DD",
            found: s.chars().take(40).collect(),
        };
        if s.len() != 10 {
            return Err(bad());
        }
        NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad())
    }
}

/// `GET /subscriptions-feed/{date}`.
///
/// # Errors
/// [`TransportError::Url`] for a bad base URL.
pub fn subscriptions_feed_request(
    base_url: &str,
    date: NaiveDate,
) -> Result<Request<Vec<u8>>, TransportError> {
    let path = format!("/subscriptions-feed/{}", date.format("%Y-%m-%d"));
    json_request(Method::GET, base_url, &path, None)
}

/// Reads the answer to [`subscriptions_feed_request`].
///
/// # Errors
/// [`ApiError::NotFound`] when the day's feed is not available yet; [`ApiError`] by status;
/// [`ApiError::MalformedResponse`] for a bad hash or date, or a feed of another day.
pub fn parse_subscriptions_feed(
    date: NaiveDate,
    resp: &Response<Vec<u8>>,
) -> Result<SubscriptionsFeed, ApiError> {
    let op = Operation::GetSubscriptionsFeedForDate;
    check_day(date, api::expect_json(op, resp, StatusCode::OK)?)
}

fn check_day(date: NaiveDate, feed: SubscriptionsFeed) -> Result<SubscriptionsFeed, ApiError> {
    if feed.date != date {
        return Err(ApiError::MalformedResponse {
            operation: Operation::GetSubscriptionsFeedForDate.id(),
            reason: format!("asked the feed of {date}, got the one of {}", feed.date),
        });
    }
    Ok(feed)
}

/// `PUT /organizations/{organization_fiscal_code}/logo` with `{logo}`.
///
/// # Errors
/// [`TransportError::Url`] for a bad base URL.
pub fn organization_logo_request(
    base_url: &str,
    organization: &OrganizationFiscalCode,
    logo: &Logo,
) -> Result<Request<Vec<u8>>, TransportError> {
    // The organization fiscal code is 11 digits by its type.
    let path = format!("/organizations/{}/logo", organization.as_str());
    json_request(Method::PUT, base_url, &path, Some(to_json(&logo.payload())))
}

impl IoClient {
    /// `getSubscriptionsFeedForDate`: the hashes of the citizens who subscribed to or
    /// unsubscribed from this service on `date` (UTC). Compare with [`FiscalCodeHash::of`].
    ///
    /// # Errors
    /// [`ApiError::NotFound`] when the feed of that day is not available yet;
    /// [`ApiError::Forbidden`] for a service not allowed to read the feed; other [`Error`]s.
    pub async fn subscriptions_feed(&self, date: NaiveDate) -> Result<SubscriptionsFeed, Error> {
        let req = subscriptions_feed_request(self.base_url(), date)?;
        // The parser needs the date asked; `execute` takes plain functions, so the check of
        // the day is done on the parsed feed.
        let feed = self
            .execute(
                Operation::GetSubscriptionsFeedForDate,
                req,
                |r| {
                    api::expect_json::<SubscriptionsFeed>(
                        Operation::GetSubscriptionsFeedForDate,
                        r,
                        StatusCode::OK,
                    )
                },
                None,
            )
            .await?;
        Ok(check_day(date, feed)?)
    }

    /// `uploadOrganizationLogo`: uploads a checked PNG ([`Logo::png`]) for an organization.
    ///
    /// # Errors
    /// [`ApiError::BadRequest`], [`ApiError::Forbidden`]; other [`Error`]s.
    pub async fn upload_organization_logo(
        &self,
        organization: &OrganizationFiscalCode,
        logo: &Logo,
    ) -> Result<(), Error> {
        let req = organization_logo_request(self.base_url(), organization, logo)?;
        self.execute(
            Operation::UploadOrganizationLogo,
            req,
            |r| {
                crate::services::expect_status(
                    Operation::UploadOrganizationLogo,
                    r,
                    StatusCode::ACCEPTED,
                )
            },
            None,
        )
        .await
    }
}

/// Parses a `YYYY-MM-DD` date as the feed's path and `dateUTC` take it.
///
/// # Errors
/// [`ValidationError::Format`] for anything else.
pub fn parse_date_utc(s: &str) -> Result<NaiveDate, ValidationError> {
    date_utc::parse(s)
}
