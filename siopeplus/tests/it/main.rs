//! Public-API tests of `siopeplus`.
#![allow(clippy::unwrap_used)]

mod a2a;
mod cert;
mod common;
mod coverage;
mod flow;
mod lifecycle;
mod messages;
mod outbox;
mod outbox_pg;
mod outbox_store;
mod props;
mod reconcile;
mod sign;
