//! Public-API tests of oidc-fed.
#![allow(clippy::unwrap_used)]

#[cfg(feature = "http")]
mod chain;
#[cfg(feature = "http")]
mod chain_oracle;
#[cfg(feature = "http")]
mod fed;
mod jose;
mod login;
#[cfg(feature = "http")]
mod login_http;
mod oracle;
mod policy;
mod statement;
mod userinfo;

use oidc_fed::{Alg, SigningKey};
use std::process::Command;

/// A fresh key made by openssl (RSA 2048) or ring (P-256), as PKCS#8 PEM for the oracle too.
pub(crate) fn key(alg: Alg) -> (SigningKey, String) {
    let out = match alg {
        Alg::ES256 => Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .output(),
        _ => Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "RSA",
                "-pkeyopt",
                "rsa_keygen_bits:2048",
            ])
            .output(),
    }
    .expect("openssl must be installed");
    assert!(out.status.success(), "openssl genpkey failed");
    let pem = String::from_utf8(out.stdout).unwrap();
    (SigningKey::from_pkcs8_pem(alg, &pem).unwrap(), pem)
}
