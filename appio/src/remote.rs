//! Remote content: the configurations IO keeps of where to fetch a sender's messages
//! (`/messages-sending/remote-contents/configurations`, with the manage key), and, with feature
//! `remote-content`, the sender's side that IO calls ([`server`]).

use std::fmt;

use http::{Method, Request, Response, StatusCode};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::api::{self, Operation, json_request, path_segment, to_json};
use crate::deps::CodiceFiscale;
use crate::error::{ApiError, Error, TransportError, ValidationError};
use crate::manage::ManageClient;
use crate::message::check_ulid;
use crate::services::NonEmptyText;
use crate::types::HasPrecondition;

#[cfg(feature = "remote-content")]
pub mod assertion;
#[cfg(feature = "remote-content")]
pub mod lollipop;
#[cfg(feature = "remote-content")]
pub mod server;
#[cfg(feature = "remote-content")]
mod sfv;

/// The id of a remote-content configuration (`RCConfigurationId`: a ULID).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConfigurationId(String);

impl ConfigurationId {
    /// Checks a ULID.
    ///
    /// # Errors
    /// [`ValidationError::Format`] for `configuration_id`.
    pub fn new(s: impl Into<String>) -> Result<Self, ValidationError> {
        let s = s.into();
        check_ulid("configuration_id", &s)?;
        Ok(Self(s))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConfigurationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for ConfigurationId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for ConfigurationId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::new(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// How IO authenticates its calls to the sender (`RCAuthenticationConfig`): it writes `key` in
/// the header `header_key_name`. `Debug` hides the key.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthenticationConfig {
    /// Header name, for example `X-Api-Key`.
    pub header_key_name: NonEmptyText,
    /// The secret IO sends.
    pub key: NonEmptyText,
    /// Kind of authentication (IO's examples use `API-KEY`).
    #[serde(rename = "type")]
    pub type_: NonEmptyText,
}

impl fmt::Debug for AuthenticationConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticationConfig")
            .field("header_key_name", &self.header_key_name)
            .field("key", &"[redacted]")
            .field("type", &self.type_)
            .finish()
    }
}

impl AuthenticationConfig {
    /// An `API-KEY` authentication in `header`.
    ///
    /// # Errors
    /// [`ValidationError::Length`] for an empty header name or key; [`ValidationError::Format`]
    /// for a header name that is not an HTTP token.
    pub fn api_key(
        header: impl Into<String>,
        key: impl Into<String>,
    ) -> Result<Self, ValidationError> {
        let header = header.into();
        if http::HeaderName::from_bytes(header.as_bytes()).is_err() {
            return Err(ValidationError::Format {
                field: "details_authentication.header_key_name",
                expected: "an HTTP header name",
                found: header.chars().take(60).collect(),
            });
        }
        Ok(Self {
            header_key_name: NonEmptyText::new("details_authentication.header_key_name", header)?,
            key: NonEmptyText::new("details_authentication.key", key)?,
            type_: NonEmptyText::new("details_authentication.type", "API-KEY")?,
        })
    }
}

/// Where IO fetches content in production (`RCConfigurationProdEnvironment`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProdEnvironment {
    /// Base URL of the sender's server.
    pub base_url: NonEmptyText,
    /// How IO authenticates.
    pub details_authentication: AuthenticationConfig,
}

/// Where IO fetches content for test users (`RCConfigurationTestEnvironment`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestEnvironment {
    /// Base URL of the sender's test server.
    pub base_url: NonEmptyText,
    /// How IO authenticates.
    pub details_authentication: AuthenticationConfig,
    /// Citizens served from this environment.
    pub test_users: Vec<CodiceFiscale>,
}

/// Body of `createRCConfiguration` and `updateRCConfiguration` (`NewRCConfigurationPublic`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewConfiguration {
    /// Name.
    pub name: NonEmptyText,
    /// Description.
    pub description: NonEmptyText,
    /// When IO shows a precondition.
    pub has_precondition: HasPrecondition,
    /// Citizens for whom Lollipop is off.
    pub disable_lollipop_for: Vec<CodiceFiscale>,
    /// Whether IO's calls carry Lollipop signatures.
    pub is_lollipop_enabled: bool,
    /// Test environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_environment: Option<TestEnvironment>,
    /// Production environment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prod_environment: Option<ProdEnvironment>,
}

impl NewConfiguration {
    /// A configuration without environments, Lollipop off.
    ///
    /// # Errors
    /// [`ValidationError::Length`] for an empty name or description.
    pub fn new(
        name: impl Into<String>,
        description: impl Into<String>,
        has_precondition: HasPrecondition,
    ) -> Result<Self, ValidationError> {
        Ok(Self {
            name: NonEmptyText::new("name", name)?,
            description: NonEmptyText::new("description", description)?,
            has_precondition,
            disable_lollipop_for: Vec::new(),
            is_lollipop_enabled: false,
            test_environment: None,
            prod_environment: None,
        })
    }

    /// Checks what the types cannot: the precondition must be one the API knows, and at least
    /// one environment is given.
    ///
    /// # Errors
    /// [`ValidationError::Format`] for `has_precondition`; [`ValidationError::Missing`] when
    /// there is no environment.
    pub fn validate(&self) -> Result<(), ValidationError> {
        if let HasPrecondition::Other(v) = &self.has_precondition {
            return Err(ValidationError::Format {
                field: "has_precondition",
                expected: "ALWAYS, ONCE or NEVER",
                found: v.clone(),
            });
        }
        if self.test_environment.is_none() && self.prod_environment.is_none() {
            return Err(ValidationError::Missing {
                field: "prod_environment",
            });
        }
        Ok(())
    }
}

/// A configuration as IO returns it (`RCConfigurationResponse`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Configuration {
    /// Its id.
    pub configuration_id: ConfigurationId,
    /// The owner.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// The rest.
    #[serde(flatten)]
    pub config: NewConfiguration,
}

#[derive(Deserialize)]
struct ConfigurationList {
    #[serde(rename = "rcConfigList", default)]
    list: Vec<Configuration>,
}

const RC_PATH: &str = "/messages-sending/remote-contents/configurations";

/// `POST /messages-sending/remote-contents/configurations`.
///
/// # Errors
/// [`Error::Validation`] for a configuration [`NewConfiguration::validate`] refuses;
/// [`Error::Transport`] for a bad base URL.
pub fn create_configuration_request(
    base_url: &str,
    c: &NewConfiguration,
) -> Result<Request<Vec<u8>>, Error> {
    c.validate()?;
    Ok(json_request(
        Method::POST,
        base_url,
        RC_PATH,
        Some(to_json(c)),
    )?)
}

/// `PUT /messages-sending/remote-contents/configurations/{configurationId}`.
///
/// # Errors
/// As [`create_configuration_request`].
pub fn update_configuration_request(
    base_url: &str,
    id: &ConfigurationId,
    c: &NewConfiguration,
) -> Result<Request<Vec<u8>>, Error> {
    c.validate()?;
    let path = format!("{RC_PATH}/{}", path_segment(id.as_str()));
    Ok(json_request(
        Method::PUT,
        base_url,
        &path,
        Some(to_json(c)),
    )?)
}

/// `GET` of one configuration, or of the list (`id` `None`).
///
/// # Errors
/// [`TransportError::Url`] for a bad base URL.
pub fn get_configuration_request(
    base_url: &str,
    id: Option<&ConfigurationId>,
) -> Result<Request<Vec<u8>>, TransportError> {
    match id {
        Some(id) => json_request(
            Method::GET,
            base_url,
            &format!("{RC_PATH}/{}", path_segment(id.as_str())),
            None,
        ),
        None => json_request(Method::GET, base_url, RC_PATH, None),
    }
}

fn parse_created(r: &Response<Vec<u8>>) -> Result<Configuration, ApiError> {
    api::expect_json(Operation::CreateRcConfiguration, r, StatusCode::CREATED)
}

fn parse_one(r: &Response<Vec<u8>>) -> Result<Configuration, ApiError> {
    api::expect_json(Operation::GetRcConfiguration, r, StatusCode::OK)
}

fn parse_list(r: &Response<Vec<u8>>) -> Result<Vec<Configuration>, ApiError> {
    api::expect_json::<ConfigurationList>(Operation::ListRcConfiguration, r, StatusCode::OK)
        .map(|l| l.list)
}

impl ManageClient {
    /// `createRCConfiguration`.
    ///
    /// # Errors
    /// [`Error::Validation`] before sending; [`ApiError::BadRequest`] and other [`Error`]s.
    pub async fn create_remote_configuration(
        &self,
        c: &NewConfiguration,
    ) -> Result<Configuration, Error> {
        let req = create_configuration_request(self.io().base_url(), c)?;
        self.io()
            .execute(Operation::CreateRcConfiguration, req, parse_created, None)
            .await
    }

    /// `updateRCConfiguration`.
    ///
    /// # Errors
    /// As [`create_remote_configuration`](Self::create_remote_configuration), plus
    /// [`ApiError::NotFound`].
    pub async fn update_remote_configuration(
        &self,
        id: &ConfigurationId,
        c: &NewConfiguration,
    ) -> Result<(), Error> {
        let req = update_configuration_request(self.io().base_url(), id, c)?;
        self.io()
            .execute(
                Operation::UpdateRcConfiguration,
                req,
                |r| {
                    crate::services::expect_status(
                        Operation::UpdateRcConfiguration,
                        r,
                        StatusCode::NO_CONTENT,
                    )
                },
                None,
            )
            .await
    }

    /// `getRCConfiguration`.
    ///
    /// # Errors
    /// [`ApiError::NotFound`] and other [`Error`]s.
    pub async fn remote_configuration(&self, id: &ConfigurationId) -> Result<Configuration, Error> {
        let req = get_configuration_request(self.io().base_url(), Some(id))?;
        self.io()
            .execute(Operation::GetRcConfiguration, req, parse_one, None)
            .await
    }

    /// `listRCConfiguration`.
    ///
    /// # Errors
    /// [`Error`]s as for every call.
    pub async fn remote_configurations(&self) -> Result<Vec<Configuration>, Error> {
        let req = get_configuration_request(self.io().base_url(), None)?;
        self.io()
            .execute(Operation::ListRcConfiguration, req, parse_list, None)
            .await
    }
}
