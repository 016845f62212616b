//! Public-API tests of the `protocollo` crate.

mod common;
mod legacy;
mod messages;
mod p7m;
mod registry;
mod seal;
mod segnatura;
mod textual;
