//! One client per service: rows of several enti (each with its own IO service and key) in one
//! bulk job, each sent with the key of its ente's service.

use std::collections::BTreeMap;

use super::RowOutcome;
use super::journal::FailureReason;
use super::template::BulkRow;
use crate::client::IoClient;

/// The default column naming a row's service.
pub const SERVICE_COLUMN: &str = "service";

/// Clients by service (or ente) name, picked for each row by the value of one column.
///
/// A row whose column is missing or names a service without a client fails with
/// [`FailureReason::NoServiceKey`] and is never sent with another service's key: a message
/// sent with the wrong key would come from the wrong sender. Such a row is tried again by a
/// later run (once its key is configured).
#[derive(Debug, Clone, Default)]
pub struct ServiceClients {
    column: String,
    clients: BTreeMap<String, IoClient>,
}

impl ServiceClients {
    /// No clients yet; rows are routed by the column [`SERVICE_COLUMN`].
    pub fn new() -> Self {
        Self {
            column: SERVICE_COLUMN.to_owned(),
            clients: BTreeMap::new(),
        }
    }

    /// Routes rows by another column.
    #[must_use]
    pub fn column(mut self, name: impl Into<String>) -> Self {
        self.column = name.into();
        self
    }

    /// Adds (or replaces) the client of a service. Each client has its own key, rate limit and
    /// 429 pause; a key rotation ([`crate::rotate_keys`]) of one service touches only its
    /// client.
    #[must_use]
    pub fn with(mut self, service: impl Into<String>, client: IoClient) -> Self {
        self.clients.insert(service.into(), client);
        self
    }

    /// The client of a service.
    pub fn get(&self, service: &str) -> Option<&IoClient> {
        self.clients.get(service)
    }

    /// The services configured.
    pub fn services(&self) -> impl Iterator<Item = &str> {
        self.clients.keys().map(String::as_str)
    }

    /// The service a row names (the value of the routing column), if any.
    pub fn service_of<'r>(&self, row: &'r BulkRow) -> Option<&'r str> {
        row.fields.get(&self.column).map(String::as_str)
    }

    /// The client for a row, or the outcome recorded for it.
    pub(crate) fn for_row(&self, row: &BulkRow) -> Result<&IoClient, RowOutcome> {
        let Some(service) = row.fields.get(&self.column) else {
            return Err(RowOutcome::Failed {
                reason: FailureReason::NoServiceKey,
                detail: format!("row {:?} has no column {:?}", row.key, self.column),
            });
        };
        self.clients.get(service).ok_or_else(|| RowOutcome::Failed {
            reason: FailureReason::NoServiceKey,
            detail: format!("no key is configured for service {service:?}"),
        })
    }
}
