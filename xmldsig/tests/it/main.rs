//! Integration tests of the public API (one test binary).

mod c14n_lxml;
mod common;
mod dsig;
mod keyinfo_ref;
mod parse;
mod robustness;
mod stream;
mod wellformed_lxml;
mod xmlsec1;
