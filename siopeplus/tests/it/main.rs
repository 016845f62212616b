//! Public-API tests of `siopeplus`.

mod a2a;
mod cert;
mod common;
mod flow;
mod messages;
mod outbox;
mod sign;
