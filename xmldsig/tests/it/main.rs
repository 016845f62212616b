//! Integration tests of the public API (one test binary).

mod c14n_lxml;
mod common;
mod dsig;
mod parse;
mod robustness;
mod stream;
mod wellformed_lxml;
mod xmlsec1;
