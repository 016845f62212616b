//! Runnable examples of the pa-rs crates.
//!
//! The programs live in `src/bin/`; the main one will be the "sportello" demo web app that runs
//! every crate together on embedded defaults.
