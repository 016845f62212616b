//! Public-API tests of `siopeplus`.

mod a2a;
mod common;
mod flow;
mod messages;
mod outbox;
