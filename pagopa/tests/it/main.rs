//! Public-API tests of the `pagopa` crate.
#![allow(clippy::unwrap_used)]

mod alloc;
mod codes;
mod notice;
