#![doc = include_str!("../README.md")]

mod attributes;
mod authn;
mod cert;
mod citizen;
mod config;
mod dsig;
mod error;
mod error_code;
mod idp;
mod level;
mod metadata;
mod profile;
#[cfg(feature = "redis")]
mod redis_store;
mod registry;
mod response;
mod session;
mod slo;
mod sp;
mod store;
#[cfg(feature = "test-idp")]
mod test_idp;
#[cfg(feature = "axum")]
mod web;
mod xml;

pub use attributes::{AttributeValueError, Gender, SpidAttribute, SpidIdentity, UnknownAttribute};
pub use authn::{RSA_SHA256, quote_plus};
pub use cert::{
    CertificateSubject, OrganizationIdentifier, POLICY_AGID_CERT, POLICY_SPID_PRIVATE_SP,
    POLICY_SPID_PUBLIC_SP, RsaKeySize, SpCredentials, certificate_for_key, generate_rsa_key,
    generate_sp_certificate,
};
pub use citizen::NoFiscalNumber;
pub use config::{
    Aggregator, AggregatorKind, AssertionConsumerService, AttributeConsumingService,
    BillingContact, Binding, ContactPerson, Localized, Organization, Sector, SingleLogoutService,
    SpConfig,
};
pub use error::{
    ConfigError, Error, KeyError, MetadataError, RequestError, ResponseError, StoreError,
};
pub use error_code::SpidErrorCode;
pub use idp::{Endpoint, IdpMetadata};
pub use level::{Comparison, SpidLevel};
pub use profile::Profile;
#[cfg(feature = "redis")]
pub use redis_store::RedisStore;
#[cfg(feature = "http")]
pub use registry::HttpFetcher;
pub use registry::{
    FetchError, FileFetcher, IdpRegistry, KnownIdp, MetadataFetcher, RegistryError, SPID_IDPS,
    SPID_REGISTRY_METADATA_URL, known_idp,
};
pub use response::Authenticated;
pub use session::{MemorySessionStore, SessionStore, SpSession};
pub use slo::{IdpLogoutRequest, IncomingMessage, LogoutCompleted, LogoutError, LogoutMessage};
pub use sp::{AuthnOptions, AuthnRequestMessage, ServiceProvider};
pub use store::{
    AssertionStore, MemoryAssertionStore, MemoryPendingStore, PendingRequest, PendingRequestStore,
};
#[cfg(feature = "test-idp")]
pub use test_idp::{
    AssertionTemplate, ReceivedRequest, ResponseTemplate, TestIdp, TestIdpError, TestUser,
};
#[cfg(feature = "axum")]
pub use web::{HostRouter, SpidUser, SpidWeb, WebOptions, safe_next};
