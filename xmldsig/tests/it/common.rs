//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// Path of a fixture file.
pub(crate) fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

/// Reads a fixture file.
pub(crate) fn read_fixture(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap_or_else(|e| panic!("fixture {rel}: {e}"))
}

/// True when running under CI (oracles must be present there).
pub(crate) fn in_ci() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty() && v != "0" && v != "false")
}

/// Returns true if `xmlsec1` is runnable. Panics when it is missing under CI.
pub(crate) fn have_xmlsec1() -> bool {
    let ok = Command::new("xmlsec1")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(!in_ci(), "xmlsec1 is required when CI is set");
        eprintln!("xmlsec1 not found: skipping interop check");
    }
    ok
}

/// The Python interpreter with lxml (`$PA_PY`, default `python3`), if lxml is importable.
/// Panics when it is missing under CI.
pub(crate) fn python_with_lxml() -> Option<String> {
    let py = std::env::var("PA_PY").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&py)
        .args(["-c", "import lxml.etree"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(py)
    } else {
        assert!(!in_ci(), "{py} with lxml is required when CI is set");
        eprintln!("{py} with lxml not found: skipping differential check");
        None
    }
}
