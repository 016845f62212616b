//! Public-API tests of the `pagopa` crate.
#![allow(clippy::unwrap_used)]

mod alloc;
#[cfg(feature = "avviso")]
mod avviso;
mod codes;
mod notice;
