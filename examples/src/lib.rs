//! Runnable examples of the pa-rs crates.
//!
//! The programs live in `src/bin/`:
//!
//! - `sportello`: the demo "sportello telematico" that runs every crate together on embedded
//!   defaults (see [`sportello`]);
//! - `spid-sp`: an example SPID Service Provider, the target of the `spid-sp-test` conformance run.

pub mod sportello;
