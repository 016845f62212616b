//! Public-API tests of the `protocollo` crate.
#![allow(clippy::unwrap_used)]

mod common;
mod legacy;
mod messages;
mod p7m;
mod props;
mod registry;
mod seal;
mod segnatura;
mod textual;
