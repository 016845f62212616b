#![doc = include_str!("../README.md")]

pub mod api;
pub mod bulk;
mod client;
mod deps;
mod error;
mod message;
#[cfg(feature = "mock")]
pub mod mock;
mod types;

/// The schema of the PostgreSQL bulk journal ([`bulk::PgJournal`]), component `appio`.
#[cfg(feature = "postgres")]
pub use bulk::PG_MIGRATIONS;
pub use client::{IoClient, IoClientBuilder, RetryPolicy, SubscriptionKey};
pub use deps::{Amount, CodiceFiscale, NoticeNumber, OrganizationFiscalCode};
pub use error::{
    ApiError, Error, ForbiddenReason, InputError, JournalError, TransportError, ValidationError,
};
pub use message::{
    EmailAddress, EuCovidCert, Markdown, MessageContent, NewMessage, NewMessageBuilder,
    PaymentData, PrescriptionData, Subject, ThirdPartyData, TimeToLive, api_len,
};
pub use types::{
    Activation, ActivationStatus, CreatedMessage, CreatedMessageWithContent, FeatureLevel,
    HasPrecondition, LimitedProfile, MessageDetails, MessageId, MessageStatus, NotificationStatus,
    NotificationStatuses, PaymentStatus, ProblemJson, ReadStatus, timestamp,
};
