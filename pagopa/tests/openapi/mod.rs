//! The official pagoPA OpenAPI documents (`../shared/schemas/pagopa/*.json`) as JSON Schema
//! validators (the `jsonschema` crate, draft 4 semantics as OpenAPI 3.0 has them, formats
//! checked), to check the bodies this crate sends with a validator nobody here wrote.

use std::path::PathBuf;

use serde_json::{Value, json};

fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/schemas/pagopa")
}

/// The document `file` (e.g. `checkout_v2.json`). Panics when it is missing: the test's oracle
/// is not optional.
pub(crate) fn document(file: &str) -> Value {
    let path = schemas_dir().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("official schema {} is required: {e}", path.display()));
    serde_json::from_str(&text).expect("the OpenAPI document is JSON")
}

/// A validator for `components.schemas.<name>` of `file`, references resolved inside the
/// document.
pub(crate) fn validator(file: &str, name: &str) -> jsonschema::Validator {
    let doc = document(file);
    assert!(
        doc["components"]["schemas"][name].is_object(),
        "{file} has no schema {name}"
    );
    let schema = json!({
        "$ref": format!("#/components/schemas/{name}"),
        "components": doc["components"],
    });
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft4)
        .should_validate_formats(true)
        .build(&schema)
        .expect("the schema compiles")
}

/// The validation errors of `body`, as text (empty when valid).
pub(crate) fn errors(v: &jsonschema::Validator, body: &Value) -> Vec<String> {
    v.iter_errors(body)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// Asserts `body` is valid.
pub(crate) fn assert_valid(v: &jsonschema::Validator, body: &Value) {
    let errs = errors(v, body);
    assert!(errs.is_empty(), "schema errors: {errs:#?}\nbody: {body:#}");
}
