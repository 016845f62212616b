//! Public-API tests of the `protocollo` crate.

mod common;
mod messages;
mod registry;
mod segnatura;
mod textual;
