//! Public-API tests of `siopeplus`.

mod common;
mod flow;
mod messages;
