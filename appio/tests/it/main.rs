//! Public-API tests of `appio`.

#![allow(clippy::unwrap_used)]

mod bulk;
mod client;
mod common;
mod journal_contract;
mod mock;
mod props;
mod validation;
