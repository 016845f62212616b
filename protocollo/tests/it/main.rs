//! Public-API tests of the `protocollo` crate.

mod common;
mod legacy;
mod messages;
mod registry;
mod segnatura;
mod textual;
