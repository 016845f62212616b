//! Wire types of the IO Services API: statuses, profiles, activations, problems.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::deps::CodiceFiscale;
use crate::message::MessageContent;

/// Defines an open enum: known values plus `Other(String)` so that new values never break parsing.
macro_rules! open_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// The value as the API spells it.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $text,)+
                    Self::Other(s) => s,
                }
            }

            /// Reads a value as the API spells it; unknown values become `Other`.
            pub fn from_api(s: &str) -> Self {
                match s {
                    $($text => Self::$variant,)+
                    other => Self::Other(other.to_owned()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Ok(Self::from_api(&s))
            }
        }
    };
}

open_enum! {
    /// Processing status of a message (`MessageStatusValue`).
    MessageStatus {
        /// Accepted; will be processed for delivery.
        Accepted => "ACCEPTED",
        /// A temporary failure caused a retry; notifications may be delayed up to 7 days.
        Throttled => "THROTTLED",
        /// A permanent failure; no notification will be sent.
        Failed => "FAILED",
        /// Stored in the citizen's inbox.
        Processed => "PROCESSED",
        /// The recipient does not exist or blocked the sender.
        Rejected => "REJECTED",
    }
}

impl MessageStatus {
    /// Whether the status can no longer change (`PROCESSED`, `FAILED`, `REJECTED`).
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Processed | Self::Failed | Self::Rejected)
    }
}

open_enum! {
    /// Status of a notification on one channel (`NotificationChannelStatusValue`).
    NotificationStatus {
        /// Sent to the channel.
        Sent => "SENT",
        /// Delayed by a temporary failure.
        Throttled => "THROTTLED",
        /// The message expired before the notification could be sent.
        Expired => "EXPIRED",
        /// Permanent failure.
        Failed => "FAILED",
    }
}

open_enum! {
    /// Feature level of a message (`FeatureLevelType`).
    FeatureLevel {
        /// Normal message (the default).
        Standard => "STANDARD",
        /// Premium features: read and payment status, attachments.
        Advanced => "ADVANCED",
    }
}

open_enum! {
    /// Status of a service activation (`ActivationStatus`).
    ActivationStatus {
        /// The citizen activated the service.
        Active => "ACTIVE",
        /// The service is not active for the citizen.
        Inactive => "INACTIVE",
        /// Activation requested, not confirmed.
        Pending => "PENDING",
    }
}

open_enum! {
    /// Whether the citizen read an ADVANCED message (`ReadStatus`).
    ReadStatus {
        /// The citizen revoked access to the read status.
        Unavailable => "UNAVAILABLE",
        /// Not read.
        Unread => "UNREAD",
        /// Read.
        Read => "READ",
    }
}

open_enum! {
    /// Status of the payment notice of an ADVANCED payment message (`PaymentStatus`).
    PaymentStatus {
        /// Paid.
        Paid => "PAID",
        /// Not paid.
        NotPaid => "NOT_PAID",
    }
}

open_enum! {
    /// When a third-party message shows a precondition (`HasPrecondition`).
    HasPrecondition {
        /// Every time.
        Always => "ALWAYS",
        /// The first time.
        Once => "ONCE",
        /// Never.
        Never => "NEVER",
    }
}

/// An RFC 7807 problem, as IO Services reports errors. Azure API Management errors
/// (`{statusCode, message}`) are read into `status` and `detail`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ProblemJson {
    /// Problem type URI.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<String>,
    /// Short summary, for example `Recipient forbidden`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// HTTP status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// Explanation of this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// URI of this occurrence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
}

/// A citizen's profile as a service sees it (`LimitedProfile`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LimitedProfile {
    /// `false` when the citizen blocked this service.
    pub sender_allowed: bool,
    /// Preferred languages, for example `it_IT`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preferred_languages: Vec<String>,
}

/// A service activation (`Activation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activation {
    /// The service.
    pub service_id: String,
    /// The citizen.
    pub fiscal_code: CodiceFiscale,
    /// Activation status.
    pub status: ActivationStatus,
    /// Version, incremented at each change.
    pub version: u64,
}

/// Identifier of a created message (a ULID). [`MessageId::new`] takes only ASCII letters and
/// digits, 1..=64 characters; [`MessageId::as_given`] keeps an id of another form that IO
/// returned for a message it created (it is percent-encoded when put in a URL path).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(String);

impl MessageId {
    /// Checks and wraps an id.
    ///
    /// # Errors
    /// [`ValidationError::Format`](crate::ValidationError::Format) if it is empty, too long or
    /// has characters other than ASCII letters and digits.
    pub fn new(id: &str) -> Result<Self, crate::ValidationError> {
        if (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(id.to_owned()))
        } else {
            Err(crate::ValidationError::Format {
                field: "id",
                expected: "1..=64 ASCII letters and digits (a ULID)",
                found: id.chars().take(80).collect(),
            })
        }
    }

    /// Wraps an id as the server gave it for a message it created, even when it is not a ULID:
    /// the message exists, so its id is recorded as it came. Only an empty id, one longer than
    /// 256 bytes, one with control characters, or one made only of dots (a path segment that
    /// URL parsers remove) is refused.
    ///
    /// # Errors
    /// [`ValidationError::Format`](crate::ValidationError::Format) for those.
    pub fn as_given(id: &str) -> Result<Self, crate::ValidationError> {
        if (1..=256).contains(&id.len())
            && !id.chars().any(char::is_control)
            && !id.bytes().all(|b| b == b'.')
        {
            Ok(Self(id.to_owned()))
        } else {
            Err(crate::ValidationError::Format {
                field: "id",
                expected: "1..=256 bytes without control characters, not only dots",
                found: id.chars().take(80).collect(),
            })
        }
    }

    /// Whether the id has the documented form (ASCII letters and digits, as [`MessageId::new`]
    /// requires).
    pub fn is_well_formed(&self) -> bool {
        (1..=64).contains(&self.0.len()) && self.0.bytes().all(|b| b.is_ascii_alphanumeric())
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Wraps an id that is known to be letters and digits (ids this crate generates).
    #[cfg_attr(not(feature = "mock"), allow(dead_code))]
    pub(crate) fn from_trusted(id: String) -> Self {
        debug_assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        Self(id)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for MessageId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for MessageId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::new(&s).map_err(serde::de::Error::custom)
    }
}

/// Answer to a message submission: the new message's id and its `Location`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedMessage {
    /// Id of the new message.
    pub id: MessageId,
    /// The `Location` header, when given.
    pub location: Option<String>,
}

/// Notification status per channel (`MessageResponseNotificationStatus`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct NotificationStatuses {
    /// E-mail channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<NotificationStatus>,
    /// Webhook (push) channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<NotificationStatus>,
}

/// A created message as `getMessage` returns it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreatedMessageWithContent {
    /// Message id.
    pub id: MessageId,
    /// Recipient.
    pub fiscal_code: CodiceFiscale,
    /// Time to live in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_live: Option<u32>,
    /// Creation time.
    #[serde(with = "timestamp")]
    pub created_at: DateTime<Utc>,
    /// Content (absent in some answers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<MessageContent>,
    /// The sending service.
    pub sender_service_id: String,
    /// Feature level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature_level_type: Option<FeatureLevel>,
}

/// Answer of `getMessage` (`ExternalMessageResponseWithContent`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageDetails {
    /// The message.
    pub message: CreatedMessageWithContent,
    /// Notification status per channel.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<NotificationStatuses>,
    /// Processing status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MessageStatus>,
    /// Read status (ADVANCED messages only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_status: Option<ReadStatus>,
    /// Payment status (ADVANCED payment messages only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_status: Option<PaymentStatus>,
}

/// Serde for `Timestamp`: ISO 8601 in UTC, written with milliseconds and `Z`
/// (`2018-10-13T00:00:00.000Z`); reading accepts any RFC 3339 offset and converts to UTC.
pub mod timestamp {
    use super::*;

    /// Writes `2018-10-13T00:00:00.000Z`.
    ///
    /// # Errors
    /// Only the serializer's own.
    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(t))
    }

    /// Reads an RFC 3339 date-time.
    ///
    /// # Errors
    /// When the text is not an RFC 3339 date-time.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| serde::de::Error::custom(format_args!("invalid timestamp {s:?}: {e}")))
    }

    /// The API's text form of a UTC instant.
    pub fn format(t: &DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    /// Same, for optional fields.
    pub mod option {
        use super::*;

        /// Writes `Some` as a timestamp (callers skip `None`).
        ///
        /// # Errors
        /// Only the serializer's own.
        pub fn serialize<S: Serializer>(
            t: &Option<DateTime<Utc>>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.serialize_str(&format(t)),
                None => s.serialize_none(),
            }
        }

        /// Reads an optional RFC 3339 date-time.
        ///
        /// # Errors
        /// When present and not an RFC 3339 date-time.
        pub fn deserialize<'de, D: Deserializer<'de>>(
            d: D,
        ) -> Result<Option<DateTime<Utc>>, D::Error> {
            let s = Option::<String>::deserialize(d)?;
            s.map(|s| {
                DateTime::parse_from_rfc3339(&s)
                    .map(|t| t.with_timezone(&Utc))
                    .map_err(|e| {
                        serde::de::Error::custom(format_args!("invalid timestamp {s:?}: {e}"))
                    })
            })
            .transpose()
        }
    }
}
