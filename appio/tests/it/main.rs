//! Public-API tests of `appio`.

#![allow(clippy::unwrap_used)]

mod bulk;
mod client;
mod common;
mod feed;
mod journal_contract;
mod lollipop;
mod lollipop_assertion;
mod manage;
mod mock;
mod per_service;
#[cfg(feature = "postgres")]
mod pg_workers;
mod props;
mod remote;
mod rotation;
mod schema;
mod validation;
