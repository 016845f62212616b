//! Public-API tests of the `protocollo` crate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod legacy;
mod messages;
mod p7m;
mod p7m_cms;
mod pades;
mod props;
mod registry;
mod revocation;
mod seal;
mod segnatura;
mod textual;
mod tsp;
