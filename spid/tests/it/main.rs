//! Public-API tests of the `spid` crate.
#![allow(clippy::unwrap_used)]

mod aggregator;
mod authn;
mod cert;
mod config;
mod idp_metadata;
mod metadata;
mod response;

use std::path::PathBuf;
use std::process::Command;

use spid::{
    AuthnOptions, AuthnRequestMessage, ReceivedRequest, ServiceProvider, SpConfig, SpCredentials,
    TestIdp,
};

pub(crate) const BASE: &str = "http://127.0.0.1:8000";
pub(crate) const ACS: &str = "http://127.0.0.1:8000/spid/acs";
pub(crate) const SP_ENTITY: &str = "http://127.0.0.1:8000/spid/metadata";
pub(crate) const IDP_ENTITY: &str = "https://idp.test.example";

pub(crate) fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn creds(name: &str) -> SpCredentials {
    let dir = fixtures().join("keys");
    let key = std::fs::read_to_string(dir.join(format!("{name}.key"))).unwrap();
    let cert = std::fs::read_to_string(dir.join(format!("{name}.crt"))).unwrap();
    SpCredentials::from_pem(&key, &cert).unwrap()
}

pub(crate) fn sp_creds() -> SpCredentials {
    creds("sp")
}

pub(crate) fn other_creds() -> SpCredentials {
    creds("other")
}

pub(crate) fn idp() -> TestIdp {
    TestIdp::new(IDP_ENTITY, "https://idp.test.example/sso", creds("idp"))
}

pub(crate) fn sp_with(config: SpConfig) -> ServiceProvider {
    let mut sp = ServiceProvider::new(config, sp_creds()).unwrap();
    sp.add_idp(idp().metadata().unwrap()).unwrap();
    sp
}

pub(crate) fn sp() -> ServiceProvider {
    sp_with(SpConfig::example_public(BASE))
}

/// Starts a login for `session` with the Redirect binding and returns what the IdP received.
pub(crate) async fn login(
    sp: &ServiceProvider,
    session: &str,
    opts: Option<AuthnOptions>,
) -> ReceivedRequest {
    let opts = opts.unwrap_or_else(|| AuthnOptions::new(IDP_ENTITY, session));
    match sp.authn_request(opts).await.unwrap() {
        AuthnRequestMessage::Redirect { url, .. } => {
            idp().read_redirect(url.split_once('?').unwrap().1).unwrap()
        }
        AuthnRequestMessage::Post {
            saml_request,
            relay_state,
            ..
        } => idp().read_post(&saml_request, Some(&relay_state)).unwrap(),
        _ => unreachable!(),
    }
}

/// `true` when the external tool is installed; in CI (env `CI`) its absence is a failure.
pub(crate) fn oracle(bin: &str) -> bool {
    let present = Command::new(bin).arg("--version").output().is_ok();
    if !present && std::env::var_os("CI").is_some() {
        panic!("{bin} is required in CI");
    }
    present
}

/// Validates `xml` with xmllint against one of the fixture schemas; `None` when xmllint is
/// absent outside CI.
pub(crate) fn xmllint(xml: &str, schema: &str) -> Option<Result<(), String>> {
    if !oracle("xmllint") {
        return None;
    }
    let dir = std::env::temp_dir().join(format!(
        "spid-xmllint-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("doc.xml");
    std::fs::write(&file, xml).unwrap();
    let out = Command::new("xmllint")
        .current_dir(fixtures().join("schemas"))
        .args(["--noout", "--schema", schema])
        .arg(&file)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    })
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}
