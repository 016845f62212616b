//! An independent check of request bodies: the `jsonschema` crate (draft 4, which Swagger 2.0
//! schemas follow) fed the `definitions` of the official IO Services OpenAPI
//! (`../shared/schemas/appio/io-services-api.yaml`, read with `serde_norway`). Each request is
//! matched to its operation by method and path template, and its body validated against the
//! operation's `in: body` parameter schema. A request to an undocumented operation, a body
//! where none is documented, a missing required body or a body that breaks the schema fails.

use std::sync::{Arc, OnceLock};

use appio::mock::{MockConfig, RequestCheck};
use http::Method;
use serde_json::Value;

const SPEC: &str = "../../shared/schemas/appio/io-services-api.yaml";

struct Operation {
    method: Method,
    segments: Vec<Option<String>>,
    literal: usize,
    body: Option<(jsonschema::Validator, bool)>,
}

/// Operations of the spec with their body validators.
pub(crate) struct Spec {
    base_path: String,
    ops: Vec<Operation>,
}

fn spec_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(SPEC)
}

/// The spec, loaded once. Panics (fails the test) when the file is missing: this oracle is
/// required, in CI and locally.
pub(crate) fn spec() -> &'static Spec {
    static S: OnceLock<Spec> = OnceLock::new();
    S.get_or_init(|| {
        let text = std::fs::read_to_string(spec_path())
            .unwrap_or_else(|e| panic!("{}: {e}", spec_path().display()));
        Spec::from_yaml(&text)
    })
}

impl Spec {
    fn from_yaml(text: &str) -> Self {
        let doc: Value = serde_norway::from_str(text).expect("spec is YAML");
        let definitions = doc["definitions"].clone();
        assert!(definitions.is_object(), "spec has definitions");
        let base_path = doc["basePath"].as_str().unwrap_or("").to_owned();
        let mut ops = Vec::new();
        for (path, item) in doc["paths"].as_object().expect("paths") {
            let shared_params = item.get("parameters").cloned().unwrap_or(Value::Null);
            for (m, op) in item.as_object().unwrap() {
                let Ok(method) = m.to_uppercase().parse::<Method>() else {
                    continue;
                };
                if m == "parameters" {
                    continue;
                }
                let mut params: Vec<Value> = Vec::new();
                for list in [&shared_params, &op["parameters"]] {
                    if let Some(a) = list.as_array() {
                        params.extend(a.iter().map(|p| resolve_param(&doc, p)));
                    }
                }
                let body = params.iter().find(|p| p["in"] == "body").map(|p| {
                    let mut schema = p["schema"].clone();
                    schema["definitions"] = definitions.clone();
                    let v = jsonschema::options()
                        .with_draft(jsonschema::Draft::Draft4)
                        .build(&schema)
                        .unwrap_or_else(|e| panic!("{m} {path}: schema does not compile: {e}"));
                    (v, p["required"].as_bool().unwrap_or(false))
                });
                let segments: Vec<Option<String>> = path
                    .trim_matches('/')
                    .split('/')
                    .map(|s| (!s.starts_with('{')).then(|| s.to_owned()))
                    .collect();
                let literal = segments.iter().filter(|s| s.is_some()).count();
                ops.push(Operation {
                    method,
                    segments,
                    literal,
                    body,
                });
            }
        }
        Self { base_path, ops }
    }

    /// Checks one request as the module documentation says.
    pub(crate) fn check(&self, method: &Method, path: &str, body: &[u8]) -> Result<(), String> {
        let rel = path
            .strip_prefix(&self.base_path)
            .ok_or_else(|| format!("path outside the base path {}", self.base_path))?;
        let segs: Vec<&str> = rel.trim_matches('/').split('/').collect();
        let op = self
            .ops
            .iter()
            .filter(|o| o.method == *method && o.segments.len() == segs.len())
            .filter(|o| {
                o.segments.iter().zip(&segs).all(|(t, s)| match t {
                    Some(lit) => lit == s,
                    None => !s.is_empty(),
                })
            })
            .max_by_key(|o| o.literal)
            .ok_or_else(|| format!("no documented operation {method} {rel}"))?;
        match (&op.body, body.is_empty()) {
            (None, true) => Ok(()),
            (None, false) => Err("the operation documents no body".to_owned()),
            (Some((_, true)), true) => Err("the operation requires a body".to_owned()),
            (Some(_), true) => Ok(()),
            (Some((v, _)), false) => {
                let json: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
                let errors: Vec<String> = v
                    .iter_errors(&json)
                    .map(|e| format!("{} at {}", e, e.instance_path()))
                    .collect();
                if errors.is_empty() {
                    Ok(())
                } else {
                    Err(errors.join("; "))
                }
            }
        }
    }
}

fn resolve_param(doc: &Value, p: &Value) -> Value {
    match p.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let name = r.strip_prefix("#/parameters/").expect("parameter ref");
            doc["parameters"][name].clone()
        }
        None => p.clone(),
    }
}

/// A mock configuration whose every request is checked against the spec.
pub(crate) fn checked(mut config: MockConfig) -> MockConfig {
    config.request_check = Some(RequestCheck(Arc::new(|m, p, b| spec().check(m, p, b))));
    config
}

#[test]
fn the_validator_refuses_bodies_that_break_the_schema() {
    let s = spec();
    let ok = serde_json::json!({
        "name": "TARI", "description": "Tassa rifiuti",
        "organization": {"name": "Comune", "fiscal_code": "00488410010"},
        "metadata": {"scope": "LOCAL", "topic_id": 3}
    });
    let body = |v: &Value| serde_json::to_vec(v).unwrap();
    s.check(&Method::POST, "/api/v1/manage/services", &body(&ok))
        .unwrap();
    // Missing `organization` (required by CmsServiceData).
    let mut v = ok.clone();
    v.as_object_mut().unwrap().remove("organization");
    let e = s
        .check(&Method::POST, "/api/v1/manage/services", &body(&v))
        .unwrap_err();
    assert!(e.contains("organization"), "{e}");
    // Empty name (minLength 1).
    let mut v = ok.clone();
    v["name"] = "".into();
    assert!(
        s.check(&Method::PUT, "/api/v1/manage/services/S1", &body(&v))
            .is_err()
    );
    // A scope outside the enum, a topic id that is not a number, a bad CIDR.
    let mut v = ok.clone();
    v["metadata"]["scope"] = "REGIONAL".into();
    assert!(
        s.check(&Method::POST, "/api/v1/manage/services", &body(&v))
            .is_err()
    );
    let mut v = ok.clone();
    v["metadata"]["topic_id"] = "3".into();
    assert!(
        s.check(&Method::POST, "/api/v1/manage/services", &body(&v))
            .is_err()
    );
    let mut v = ok.clone();
    v["authorized_cidrs"] = serde_json::json!(["10.0.0.0/33"]);
    assert!(
        s.check(&Method::POST, "/api/v1/manage/services", &body(&v))
            .is_err()
    );
    // A review request without auto_publish; a logo with an empty string.
    assert!(
        s.check(&Method::PUT, "/api/v1/manage/services/S1/review", b"{}")
            .is_err()
    );
    assert!(
        s.check(
            &Method::PUT,
            "/api/v1/organizations/00488410010/logo",
            br#"{"logo":""}"#
        )
        .is_err()
    );
    // A message whose subject is too short (NewMessage: MessageContent.subject 10..=120).
    let m = serde_json::json!({"fiscal_code": "RSSMRA85T10A562S",
        "content": {"subject": "short", "markdown": "x".repeat(100)}});
    assert!(
        s.check(&Method::POST, "/api/v1/messages", &body(&m))
            .is_err()
    );
    // No body where one is required, a body where none is documented, an undocumented route.
    assert!(
        s.check(&Method::POST, "/api/v1/manage/services", b"")
            .is_err()
    );
    assert!(
        s.check(&Method::GET, "/api/v1/manage/services/S1", b"{}")
            .is_err()
    );
    assert!(
        s.check(&Method::PATCH, "/api/v1/manage/services/S1", b"")
            .is_err()
    );
    assert!(s.check(&Method::GET, "/api/v1/nowhere", b"").is_err());
    // The topics route is the literal one, not `{serviceId}`; a key type of the enum path.
    s.check(&Method::GET, "/api/v1/manage/services/topics", b"")
        .unwrap();
}

#[tokio::test]
async fn the_checked_mock_refuses_and_records_a_bad_body() {
    let mock = appio::mock::MockServer::start(checked(MockConfig::default()))
        .await
        .unwrap();
    let r = reqwest::Client::new()
        .post(format!("{}/manage/services", mock.base_url()))
        .header("Ocp-Apim-Subscription-Key", "k")
        .body(r#"{"name":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v = mock.request_violations();
    assert_eq!(v.len(), 1, "{v:?}");
    assert!(v[0].starts_with("POST /api/v1/manage/services"), "{v:?}");
}
