//! Criterion benchmarks of the pa-rs crates.
//!
//! The benchmarks live in `benches/`; each group also times a reference implementation on the same
//! input (xmlsec1, samael, xmllint, openssl) so that ratios are read from one run.
//!
//! This library holds the inputs that several benchmarks share, so that each bench file keeps
//! only what it measures.

pub mod node;
pub mod opi;
pub mod pyworker;
