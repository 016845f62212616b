//! A small federation served by axum on 127.0.0.1: Entity Configurations at
//! `/<name>/.well-known/openid-federation`, fetch endpoints at `/<name>/fetch?sub=…`, list
//! endpoints at `/<name>/list?entity_type=…`. Tests change what is served while it runs.
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, Uri, header};
use axum::response::Response;
use oidc_fed::{Alg, Jwks, ReqwestFetcher, SigningKey, TrustAnchor, TrustChainResolver};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub(crate) const NOW: i64 = 1_800_000_000;
pub(crate) const ES_TYP: &str = "application/entity-statement+jwt";
pub(crate) const TM_OP: &str = "https://registry.example.it/openid_provider/public/";

type Routes = Arc<RwLock<HashMap<String, (u16, String, Vec<u8>)>>>;

/// Route key: the path, then the query pairs decoded (`?k=v&…`).
fn key(path: &str, query: Option<&str>) -> String {
    match query {
        None | Some("") => path.to_owned(),
        Some(q) => {
            let pairs: Vec<String> = url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!("{path}?{}", pairs.join("&"))
        }
    }
}

async fn serve(State(routes): State<Routes>, uri: Uri) -> Response {
    let k = key(uri.path(), uri.query());
    let found = routes.read().unwrap().get(&k).cloned();
    match found {
        Some((status, ct, body)) => Response::builder()
            .status(status)
            .header(header::CONTENT_TYPE, ct)
            .body(Body::from(body))
            .unwrap(),
        None => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(r#"{"error":"not_found"}"#))
            .unwrap(),
    }
}

pub(crate) struct Fed {
    pub(crate) base: String,
    routes: Routes,
}

impl Fed {
    pub(crate) async fn start() -> Fed {
        let routes: Routes = Arc::default();
        let app = axum::Router::new()
            .fallback(serve)
            .with_state(routes.clone());
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
        Fed { base, routes }
    }
    pub(crate) fn id(&self, name: &str) -> String {
        format!("{}/{name}", self.base)
    }
    pub(crate) fn ec_key(name: &str) -> String {
        format!("/{name}/.well-known/openid-federation")
    }
    pub(crate) fn fetch_key(&self, issuer: &str, sub: &str) -> String {
        format!("/{issuer}/fetch?sub={}", self.id(sub))
    }
    pub(crate) fn put(&self, key: &str, ct: &str, body: &str) {
        self.put_status(key, 200, ct, body);
    }
    pub(crate) fn put_status(&self, key: &str, status: u16, ct: &str, body: &str) {
        self.routes
            .write()
            .unwrap()
            .insert(key.into(), (status, ct.into(), body.as_bytes().to_vec()));
    }
    pub(crate) fn get(&self, key: &str) -> String {
        let r = self.routes.read().unwrap();
        String::from_utf8(r[key].2.clone()).unwrap()
    }
    pub(crate) fn remove(&self, key: &str) {
        self.routes.write().unwrap().remove(key);
    }
    pub(crate) fn fetcher() -> ReqwestFetcher {
        ReqwestFetcher::new().unwrap().allow_loopback_http()
    }
}

pub(crate) fn sign(key: &SigningKey, claims: &Value) -> String {
    key.sign(Some("entity-statement+jwt"), claims.to_string().as_bytes())
        .unwrap()
}

pub(crate) fn jwks(k: &SigningKey) -> Jwks {
    Jwks {
        keys: vec![k.public_jwk()],
    }
}

/// Replaces the payload of a compact JWS, keeping header and signature.
pub(crate) fn tamper(jwt: &str, f: impl FnOnce(&mut Value)) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = jwt.split('.').collect();
    let mut v: Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    f(&mut v);
    format!("{}.{}.{}", parts[0], b64.encode(v.to_string()), parts[2])
}

/// TA → INT → OP, every claim editable before [`World::publish`].
pub(crate) struct World {
    pub(crate) ta: SigningKey,
    pub(crate) int: SigningKey,
    pub(crate) op: SigningKey,
    pub(crate) ta_ec: Value,
    pub(crate) int_ec: Value,
    pub(crate) op_ec: Value,
    pub(crate) ta_about_int: Value,
    pub(crate) int_about_op: Value,
    /// The OP's trust mark claims (signed by `tm_signer`, `ta` unless replaced).
    pub(crate) tm: Value,
    pub(crate) tm_typ: &'static str,
    pub(crate) tm_signer: Option<SigningKey>,
}

impl World {
    pub(crate) fn new(fed: &Fed) -> World {
        let ta = SigningKey::generate_es256().unwrap();
        let int = SigningKey::generate_es256().unwrap();
        let (op, _) = super::key(Alg::RS256);
        let (ta_id, int_id, op_id) = (fed.id("ta"), fed.id("int"), fed.id("op"));
        let ta_ec = json!({
            "iss": ta_id, "sub": ta_id, "iat": NOW - 10, "exp": NOW + 7200,
            "jwks": jwks(&ta).to_json(),
            "metadata": {"federation_entity": {
                "federation_fetch_endpoint": format!("{ta_id}/fetch"),
                "federation_list_endpoint": format!("{ta_id}/list"),
                "organization_name": "Trust Anchor"
            }},
            "trust_mark_issuers": { TM_OP: [ta_id] }
        });
        let int_ec = json!({
            "iss": int_id, "sub": int_id, "iat": NOW - 10, "exp": NOW + 7200,
            "jwks": jwks(&int).to_json(),
            "authority_hints": [ta_id],
            "metadata": {"federation_entity": {
                "federation_fetch_endpoint": format!("{int_id}/fetch")
            }}
        });
        let op_ec = json!({
            "iss": op_id, "sub": op_id, "iat": NOW - 10, "exp": NOW + 86400,
            "jwks": jwks(&op).to_json(),
            "authority_hints": [int_id],
            "metadata": {
                "openid_provider": {
                    "issuer": op_id,
                    "authorization_endpoint": format!("{op_id}/authorization"),
                    "subject_types_supported": ["pairwise", "public"],
                    "id_token_signing_alg_values_supported": ["RS256", "ES256", "HS256"],
                    "token_endpoint_auth_methods_supported": ["private_key_jwt"],
                    "contacts": ["ops@op.example.it"]
                },
                "federation_entity": {"organization_name": "OP"}
            }
        });
        let ta_about_int = json!({
            "iss": ta_id, "sub": int_id, "iat": NOW - 10, "exp": NOW + 3600,
            "jwks": jwks(&int).to_json(),
            "metadata_policy": {"openid_provider": {
                "subject_types_supported": {"subset_of": ["pairwise"]},
                "id_token_signing_alg_values_supported": {
                    "subset_of": ["RS256", "ES256", "PS256"], "superset_of": ["RS256"]
                }
            }}
        });
        let int_about_op = json!({
            "iss": int_id, "sub": op_id, "iat": NOW - 10, "exp": NOW + 5000,
            "jwks": jwks(&op).to_json(),
            "metadata": {"openid_provider": {"op_policy_uri": format!("{int_id}/policy")}},
            "metadata_policy": {"openid_provider": {
                "token_endpoint_auth_methods_supported": {"superset_of": ["private_key_jwt"]},
                "contacts": {"add": ["helpdesk@int.example.it"]}
            }}
        });
        let tm = json!({
            "iss": ta_id, "sub": op_id, "trust_mark_type": TM_OP,
            "iat": NOW - 10, "exp": NOW + 7200
        });
        World {
            ta,
            int,
            op,
            ta_ec,
            int_ec,
            op_ec,
            ta_about_int,
            int_about_op,
            tm,
            tm_typ: "trust-mark+jwt",
            tm_signer: None,
        }
    }

    pub(crate) fn trust_mark(&self) -> String {
        let k = self.tm_signer.as_ref().unwrap_or(&self.ta);
        k.sign(Some(self.tm_typ), self.tm.to_string().as_bytes())
            .unwrap()
    }

    pub(crate) fn publish(&self, fed: &Fed) {
        let mut op_ec = self.op_ec.clone();
        if op_ec.get("trust_marks").is_none() {
            op_ec["trust_marks"] = json!([{
                "trust_mark_type": self.tm["trust_mark_type"],
                "trust_mark": self.trust_mark()
            }]);
        }
        fed.put(&Fed::ec_key("ta"), ES_TYP, &sign(&self.ta, &self.ta_ec));
        fed.put(&Fed::ec_key("int"), ES_TYP, &sign(&self.int, &self.int_ec));
        fed.put(&Fed::ec_key("op"), ES_TYP, &sign(&self.op, &op_ec));
        fed.put(
            &fed.fetch_key("ta", "int"),
            ES_TYP,
            &sign(&self.ta, &self.ta_about_int),
        );
        fed.put(
            &fed.fetch_key("int", "op"),
            ES_TYP,
            &sign(&self.int, &self.int_about_op),
        );
        fed.put(
            "/ta/list?entity_type=openid_provider",
            "application/json",
            &json!([fed.id("op")]).to_string(),
        );
    }

    pub(crate) fn anchor(&self, fed: &Fed) -> TrustAnchor {
        TrustAnchor {
            entity_id: fed.id("ta"),
            jwks: jwks(&self.ta),
        }
    }

    pub(crate) fn resolver(&self, fed: &Fed) -> TrustChainResolver<ReqwestFetcher> {
        TrustChainResolver::new(Fed::fetcher(), vec![self.anchor(fed)])
    }
}
