#![doc = include_str!("../README.md")]

// First: its `open_enum!` macro is used by the modules below.
#[macro_use]
mod types;

pub mod api;
pub mod bulk;
mod client;
mod deps;
mod error;
mod feed;
mod logo;
mod manage;
mod message;
#[cfg(feature = "mock")]
pub mod mock;
pub mod remote;
pub mod services;

/// The schema of the PostgreSQL bulk journal ([`bulk::PgJournal`]), component `appio`.
#[cfg(feature = "postgres")]
pub use bulk::PG_MIGRATIONS;
pub use client::{IoClient, IoClientBuilder, RetiredKey, RetryPolicy, SubscriptionKey};
pub use deps::{Amount, CodiceFiscale, NoticeNumber, OrganizationFiscalCode};
pub use error::{
    ApiError, Error, ForbiddenReason, InputError, JournalError, LogoError, RotationError,
    TransportError, ValidationError,
};
pub use feed::{FiscalCodeHash, SubscriptionsFeed, parse_date_utc};
pub use logo::{Logo, LogoRules};
pub use manage::{ManageClient, Rotation, rotate_keys};
pub use message::{
    EmailAddress, EuCovidCert, Markdown, MessageContent, NewMessage, NewMessageBuilder,
    PaymentData, PrescriptionData, Subject, ThirdPartyData, TimeToLive, api_len,
};
pub use types::{
    Activation, ActivationStatus, CreatedMessage, CreatedMessageWithContent, FeatureLevel,
    HasPrecondition, LimitedProfile, MessageDetails, MessageId, MessageStatus, NotificationStatus,
    NotificationStatuses, PaymentStatus, ProblemJson, ReadStatus, timestamp,
};
