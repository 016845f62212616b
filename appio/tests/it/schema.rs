//! An independent check of request bodies: the `jsonschema` crate (draft 4, which Swagger 2.0
//! schemas follow) fed the `definitions` of the official IO Services OpenAPI
//! (`../shared/schemas/appio/io-services-api.yaml`, read with `serde_norway`). Each request is
//! matched to its operation by method and path template, and its body validated against the
//! operation's `in: body` parameter schema; its path and query parameters against their
//! declared type, bounds, enum and pattern. A request to an undocumented operation, a body
//! where none is documented, a missing required body, a body that breaks the schema, an
//! undocumented or missing required query parameter, or a parameter out of its bounds fails.

use std::sync::{Arc, OnceLock};

use appio::mock::{MockConfig, RequestCheck};
use http::Method;
use serde_json::Value;

const SPEC: &str = "../../shared/schemas/appio/io-services-api.yaml";

struct Param {
    name: String,
    required: bool,
    kind: String,
    validator: jsonschema::Validator,
}

struct Operation {
    method: Method,
    segments: Vec<Option<String>>,
    literal: usize,
    body: Option<(jsonschema::Validator, bool)>,
    path_params: Vec<Param>,
    query: Vec<Param>,
}

/// A validator of a non-body parameter: its own keywords are a schema.
fn param(p: &Value) -> Param {
    let mut schema = serde_json::Map::new();
    for k in [
        "type",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "enum",
        "pattern",
        "minLength",
        "maxLength",
    ] {
        if let Some(v) = p.get(k) {
            schema.insert(k.to_owned(), v.clone());
        }
    }
    Param {
        name: p["name"].as_str().unwrap_or("").to_owned(),
        required: p["required"].as_bool().unwrap_or(false),
        kind: p["type"].as_str().unwrap_or("string").to_owned(),
        validator: jsonschema::options()
            .with_draft(jsonschema::Draft::Draft4)
            .build(&Value::Object(schema))
            .expect("parameter schema compiles"),
    }
}

impl Param {
    fn check(&self, raw: &str) -> Result<(), String> {
        let v = match self.kind.as_str() {
            "integer" => raw
                .parse::<i64>()
                .map(Value::from)
                .map_err(|_| format!("{}={raw:?} is not an integer", self.name))?,
            "number" => raw
                .parse::<f64>()
                .map(Value::from)
                .map_err(|_| format!("{}={raw:?} is not a number", self.name))?,
            "boolean" => raw
                .parse::<bool>()
                .map(Value::from)
                .map_err(|_| format!("{}={raw:?} is not a boolean", self.name))?,
            _ => Value::String(raw.to_owned()),
        };
        let errors: Vec<String> = self
            .validator
            .iter_errors(&v)
            .map(|e| e.to_string())
            .collect();
        if errors.is_empty() {
            Ok(())
        } else {
            Err(format!("{}: {}", self.name, errors.join("; ")))
        }
    }
}

/// Percent-decodes a query or path component (`+` stays as it is: the client never uses it).
fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
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
                let path_params = params
                    .iter()
                    .filter(|p| p["in"] == "path")
                    .map(param)
                    .collect();
                let query = params
                    .iter()
                    .filter(|p| p["in"] == "query")
                    .map(param)
                    .collect();
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
                    path_params,
                    query,
                });
            }
        }
        Self { base_path, ops }
    }

    /// Checks one request as the module documentation says.
    pub(crate) fn check(&self, method: &Method, target: &str, body: &[u8]) -> Result<(), String> {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
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
        // Path parameters, in the order of the template's `{...}` segments.
        let values = op
            .segments
            .iter()
            .zip(&segs)
            .filter(|(t, _)| t.is_none())
            .map(|(_, s)| decode(s));
        for (p, v) in op.path_params.iter().zip(values) {
            p.check(&v)?;
        }
        let mut given = Vec::new();
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let (k, v) = (decode(k), decode(v));
            let p = op
                .query
                .iter()
                .find(|p| p.name == k)
                .ok_or_else(|| format!("undocumented query parameter {k:?}"))?;
            p.check(&v)?;
            given.push(k);
        }
        if let Some(p) = op
            .query
            .iter()
            .find(|p| p.required && !given.contains(&p.name))
        {
            return Err(format!("missing query parameter {:?}", p.name));
        }
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
    // The topics route is the literal one, not `{serviceId}`.
    s.check(&Method::GET, "/api/v1/manage/services/topics", b"")
        .unwrap();
    // Path and query parameters: the key type's enum, the date's pattern, limits' bounds.
    s.check(&Method::PUT, "/api/v1/manage/services/S1/keys/primary", b"")
        .unwrap();
    assert!(
        s.check(
            &Method::PUT,
            "/api/v1/manage/services/S1/keys/PRIMARY_KEY",
            b""
        )
        .is_err()
    );
    s.check(&Method::GET, "/api/v1/subscriptions-feed/2025-03-01", b"")
        .unwrap();
    assert!(
        s.check(&Method::GET, "/api/v1/subscriptions-feed/2025-3-1", b"")
            .is_err()
    );
    s.check(
        &Method::GET,
        "/api/v1/manage/services?limit=100&offset=0",
        b"",
    )
    .unwrap();
    for q in ["limit=101", "limit=0", "offset=-1", "limit=x", "page=2"] {
        assert!(
            s.check(&Method::GET, &format!("/api/v1/manage/services?{q}"), b"")
                .is_err(),
            "{q}"
        );
    }
    s.check(
        &Method::GET,
        "/api/v1/manage/services/S1/history?order=ASC&limit=4&continuationToken=a%2Fb",
        b"",
    )
    .unwrap();
    assert!(
        s.check(
            &Method::GET,
            "/api/v1/manage/services/S1/history?order=asc",
            b""
        )
        .is_err()
    );
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

#[tokio::test]
async fn every_kind_of_message_the_client_sends_matches_the_schema() {
    use appio::{
        ActivationStatus, Amount, EmailAddress, FeatureLevel, HasPrecondition, Markdown,
        NewMessage, PaymentData, PrescriptionData, Subject, ThirdPartyData, TimeToLive,
    };
    use chrono::TimeZone;

    use crate::common::{cf, client, notice, payee, text};

    let mock = appio::mock::MockServer::start(checked(MockConfig::default()))
        .await
        .unwrap();
    let c = client(&mock.base_url());
    let base = || {
        NewMessage::builder(
            cf(5),
            Subject::new("Avviso di pagamento è pronto").unwrap(),
            Markdown::new(text(200)).unwrap(),
        )
    };
    let due = chrono::Utc
        .with_ymd_and_hms(2025, 12, 31, 22, 59, 0)
        .unwrap();
    let messages = vec![
        base().build().unwrap(),
        base()
            .payment_data(
                PaymentData::new(notice(7), Amount::from_cents(1250), payee())
                    .unwrap()
                    .invalid_after_due_date(true),
            )
            .due_date(due)
            .time_to_live(TimeToLive::from_secs(7200).unwrap())
            .feature_level(FeatureLevel::Advanced)
            .build()
            .unwrap(),
        base()
            .third_party_data(
                ThirdPartyData::new("remote-42")
                    .unwrap()
                    .original_sender("Comune di Prova")
                    .unwrap()
                    .original_receipt_date(due)
                    .has_attachments(true)
                    .has_remote_content(true)
                    .has_precondition(HasPrecondition::Once)
                    .summary("Un riassunto")
                    .unwrap()
                    .configuration_id("01ARZ3NDEKTSV4RRFFQ69G5FAV")
                    .unwrap(),
            )
            .feature_level(FeatureLevel::Advanced)
            .build()
            .unwrap(),
        base()
            .prescription_data(
                PrescriptionData::new(
                    "050A00000000001",
                    Some("0123456789ABCDEF".into()),
                    Some(cf(2)),
                )
                .unwrap(),
            )
            .require_secure_channels(true)
            .default_email(EmailAddress::new("cittadino@example.org").unwrap())
            .build()
            .unwrap(),
    ];
    for m in &messages {
        let created = c.submit_message(m).await.unwrap();
        c.get_message(m.fiscal_code(), &created.id).await.unwrap();
    }
    c.get_profile(&cf(5)).await.unwrap();
    c.upsert_activation(&cf(5), ActivationStatus::Active)
        .await
        .unwrap();
    c.get_activation(&cf(5)).await.unwrap();
    assert_eq!(mock.messages().len(), messages.len());
    assert!(
        mock.request_violations().is_empty(),
        "{:?}",
        mock.request_violations()
    );
}
