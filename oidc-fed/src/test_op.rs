//! A test federation (feature `simulator`): a Trust Anchor and OpenID Providers in process,
//! each with its own keys, as the `spid` crate's test IdP is for SAML. For demos and tests
//! only.
//!
//! [`TestFederation::router`] serves, under the federation's base URL:
//! - the Trust Anchor `{base}/ta`: Entity Configuration, `fetch` (Subordinate Statements of the
//!   OPs and of the registered RPs) and `list`;
//! - each OP `{base}/op/{name}`: Entity Configuration (its OIDC keys inline, or behind a
//!   `signed_jwks_uri` signed with its Federation Entity Key), `authorization` (verifies the
//!   signed request object with the RP's registered keys, then shows a form to pick who to be),
//!   `consent`, `token` (single-use code, PKCE S256, `private_key_jwt`), `userinfo` (a JWT
//!   signed by the OP, encrypted to the RP's `use: enc` key) and `revocation`.
//!
//! RPs are registered with their Entity Configuration ([`TestFederation::register_rp`]); the
//! Trust Anchor then issues their Subordinate Statement. [`TestFederation::transport`] answers
//! HTTP requests for the federation's URLs in process (a [`Fetcher`] and an [`OidcHttp`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use pa_types::CodiceFiscale;
use ring::rand::SecureRandom as _;
use serde_json::{Map, Value, json};

use crate::chain::{FetchError, Fetcher, HttpResponse, MAX_BODY, TrustAnchor};
use crate::jose::{self, Alg, Jwk, Jwks, SigningKey, VerifyOptions};
use crate::jwks_source::SIGNED_JWKS_TYP;
use crate::login::{CLIENT_ASSERTION_TYPE, OidcHttp, Scheme, at_hash, pkce_s256};
use crate::statement::{ENTITY_STATEMENT_TYP, verify_entity_configuration};

/// What went wrong in the test federation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("test OP: {0}")]
pub struct TestOpError(pub String);

fn err(e: impl std::fmt::Display) -> TestOpError {
    TestOpError(e.to_string())
}

/// An OP of the test federation.
#[derive(Debug, Clone)]
pub struct TestOpSpec {
    /// Path segment (`{base}/op/{name}`).
    pub name: String,
    /// `organization_name`.
    pub display_name: String,
    /// SPID or CIE id.
    pub scheme: Scheme,
    /// Publish the OIDC keys behind `signed_jwks_uri` instead of inline `jwks`.
    pub signed_jwks: bool,
}

/// Who the citizen chooses to be at the test OP.
#[derive(Debug, Clone)]
pub struct TestCitizen {
    /// `given_name`.
    pub given_name: String,
    /// `family_name`.
    pub family_name: String,
    /// The fiscal code (released as `TINIT-…`).
    pub fiscal_code: CodiceFiscale,
}

struct Op {
    spec: TestOpSpec,
    fed_key: SigningKey,
    oidc_key: SigningKey,
}

#[derive(Clone)]
struct Rp {
    fed_jwks: Jwks,
    oidc_jwks: Jwks,
    redirect_uris: Vec<String>,
}

/// A verified authorization request waiting for the citizen's choice.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    /// The OP (its path name).
    pub op: String,
    /// The RP.
    pub client_id: String,
    /// `redirect_uri`.
    pub redirect_uri: String,
    /// `state`.
    pub state: String,
    /// `nonce`.
    pub nonce: String,
    /// `code_challenge` (S256).
    pub code_challenge: String,
    /// `acr_values`, in order.
    pub acr_values: Vec<String>,
}

#[derive(Clone)]
struct Grant {
    req: AuthorizationRequest,
    citizen: TestCitizen,
}

struct Fed {
    base: String,
    ta_key: SigningKey,
    ops: Vec<Op>,
    rps: Mutex<HashMap<String, Rp>>,
    pending: Mutex<HashMap<String, AuthorizationRequest>>,
    codes: Mutex<HashMap<String, Grant>>,
    access: Mutex<HashMap<String, Grant>>,
    revoked: Mutex<Vec<String>>,
}

/// The test federation: a Trust Anchor and its OPs.
#[derive(Clone)]
pub struct TestFederation {
    fed: Arc<Fed>,
}

impl std::fmt::Debug for TestFederation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestFederation")
            .field("base", &self.fed.base)
            .field(
                "ops",
                &self.fed.ops.iter().map(|o| &o.spec).collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn token() -> String {
    let mut b = [0u8; 24];
    // An RNG failure leaves zeros: this is a simulator, and the tokens are then unique by
    // no means; it does not happen on a working system.
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    B64.encode(b)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

const LIFETIME: i64 = 86_400;

impl TestFederation {
    /// A federation at `base` (e.g. `http://127.0.0.1:8000/test-fed`) with a SPID OP (`spid`,
    /// keys behind `signed_jwks_uri`) and a CIE id OP (`cie`, inline keys).
    ///
    /// # Errors
    /// [`TestOpError`] if a key cannot be made.
    pub fn new(base: &str) -> Result<TestFederation, TestOpError> {
        TestFederation::with_ops(
            base,
            vec![
                TestOpSpec {
                    name: "spid".into(),
                    display_name: "SPID di prova".into(),
                    scheme: Scheme::Spid,
                    signed_jwks: true,
                },
                TestOpSpec {
                    name: "cie".into(),
                    display_name: "CIE id di prova".into(),
                    scheme: Scheme::Cie,
                    signed_jwks: false,
                },
            ],
        )
    }

    /// A federation at `base` with these OPs.
    ///
    /// # Errors
    /// [`TestOpError`] if a key cannot be made.
    pub fn with_ops(base: &str, ops: Vec<TestOpSpec>) -> Result<TestFederation, TestOpError> {
        let ops = ops
            .into_iter()
            .map(|spec| {
                Ok(Op {
                    spec,
                    fed_key: SigningKey::generate_es256().map_err(err)?,
                    oidc_key: SigningKey::generate_es256().map_err(err)?,
                })
            })
            .collect::<Result<Vec<_>, TestOpError>>()?;
        Ok(TestFederation {
            fed: Arc::new(Fed {
                base: base.trim_end_matches('/').to_owned(),
                ta_key: SigningKey::generate_es256().map_err(err)?,
                ops,
                rps: Mutex::new(HashMap::new()),
                pending: Mutex::new(HashMap::new()),
                codes: Mutex::new(HashMap::new()),
                access: Mutex::new(HashMap::new()),
                revoked: Mutex::new(Vec::new()),
            }),
        })
    }

    /// The Trust Anchor's Entity Identifier (`{base}/ta`).
    pub fn trust_anchor_id(&self) -> String {
        format!("{}/ta", self.fed.base)
    }

    /// The Trust Anchor as an RP configures it.
    pub fn trust_anchor(&self) -> TrustAnchor {
        TrustAnchor {
            entity_id: self.trust_anchor_id(),
            jwks: Jwks {
                keys: vec![self.fed.ta_key.public_jwk()],
            },
        }
    }

    /// The Entity Identifier of the OP `name`.
    pub fn op_id(&self, name: &str) -> String {
        format!("{}/op/{name}", self.fed.base)
    }

    /// Every OP: Entity Identifier and scheme.
    pub fn ops(&self) -> Vec<(String, Scheme)> {
        self.fed
            .ops
            .iter()
            .map(|o| (self.op_id(&o.spec.name), o.spec.scheme))
            .collect()
    }

    /// Tokens revoked at the OPs so far.
    pub fn revoked_tokens(&self) -> Vec<String> {
        lock(&self.fed.revoked).clone()
    }

    /// Registers an RP with its Entity Configuration (verified: self-signed, not expired;
    /// `authority_hints` must name the Trust Anchor): the Trust Anchor then issues its
    /// Subordinate Statement and the OPs accept its request objects.
    ///
    /// # Errors
    /// [`TestOpError`] for a configuration that does not verify or lacks RP metadata.
    pub fn register_rp(&self, entity_configuration: &str) -> Result<String, TestOpError> {
        let (_, payload) = jose::decode_unverified(entity_configuration).map_err(err)?;
        let sub = serde_json::from_slice::<Value>(&payload)
            .ok()
            .and_then(|v| v.get("sub").and_then(Value::as_str).map(str::to_owned))
            .ok_or_else(|| err("no sub"))?;
        let st = verify_entity_configuration(entity_configuration, &sub, &Alg::ALL, now())
            .map_err(err)?;
        if !st.authority_hints.contains(&self.trust_anchor_id()) {
            return Err(err("authority_hints do not name the trust anchor"));
        }
        let rp = st
            .metadata
            .get("openid_relying_party")
            .and_then(Value::as_object)
            .ok_or_else(|| err("no openid_relying_party metadata"))?;
        let oidc_jwks =
            Jwks::from_json(rp.get("jwks").ok_or_else(|| err("no jwks"))?).map_err(err)?;
        let redirect_uris = rp
            .get("redirect_uris")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        lock(&self.fed.rps).insert(
            sub.clone(),
            Rp {
                fed_jwks: st.jwks,
                oidc_jwks,
                redirect_uris,
            },
        );
        Ok(sub)
    }

    fn op(&self, name: &str) -> Option<&Op> {
        self.fed.ops.iter().find(|o| o.spec.name == name)
    }

    fn sign_statement(key: &SigningKey, claims: &Value) -> Result<String, TestOpError> {
        key.sign(Some(ENTITY_STATEMENT_TYP), claims.to_string().as_bytes())
            .map_err(err)
    }

    /// The Trust Anchor's Entity Configuration.
    ///
    /// # Errors
    /// A signing failure.
    pub fn ta_configuration(&self, now: i64) -> Result<String, TestOpError> {
        let ta = self.trust_anchor_id();
        Self::sign_statement(
            &self.fed.ta_key,
            &json!({
                "iss": ta, "sub": ta, "iat": now, "exp": now + LIFETIME,
                "jwks": {"keys": [self.fed.ta_key.public_jwk().to_json()]},
                "metadata": {"federation_entity": {
                    "organization_name": "Trust Anchor di prova",
                    "federation_fetch_endpoint": format!("{ta}/fetch"),
                    "federation_list_endpoint": format!("{ta}/list"),
                }},
            }),
        )
    }

    /// The Trust Anchor's Subordinate Statement about `sub` (an OP, or a registered RP).
    ///
    /// # Errors
    /// [`TestOpError`] for an unknown subject.
    pub fn subordinate_statement(&self, sub: &str, now: i64) -> Result<String, TestOpError> {
        let jwks = match self
            .fed
            .ops
            .iter()
            .find(|o| self.op_id(&o.spec.name) == sub)
        {
            Some(op) => Jwks {
                keys: vec![op.fed_key.public_jwk()],
            },
            None => lock(&self.fed.rps)
                .get(sub)
                .map(|r| r.fed_jwks.clone())
                .ok_or_else(|| err(format!("unknown subordinate {sub}")))?,
        };
        Self::sign_statement(
            &self.fed.ta_key,
            &json!({
                "iss": self.trust_anchor_id(), "sub": sub, "iat": now, "exp": now + LIFETIME,
                "jwks": jwks.to_json(),
            }),
        )
    }

    /// The Entity Configuration of the OP `name`.
    ///
    /// # Errors
    /// [`TestOpError`] for an unknown OP or a signing failure.
    pub fn op_configuration(&self, name: &str, now: i64) -> Result<String, TestOpError> {
        let op = self.op(name).ok_or_else(|| err("unknown OP"))?;
        let id = self.op_id(name);
        let mut m = json!({
            "issuer": id,
            "authorization_endpoint": format!("{id}/authorization"),
            "token_endpoint": format!("{id}/token"),
            "userinfo_endpoint": format!("{id}/userinfo"),
            "revocation_endpoint": format!("{id}/revocation"),
            "scopes_supported": ["openid", "offline_access"],
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "acr_values_supported": [
                "https://www.spid.gov.it/SpidL1", "https://www.spid.gov.it/SpidL2",
                "https://www.spid.gov.it/SpidL3"
            ],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "userinfo_signing_alg_values_supported": ["ES256"],
            "userinfo_encryption_alg_values_supported": ["ECDH-ES", "RSA-OAEP-256"],
            "userinfo_encryption_enc_values_supported": ["A256GCM"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "request_parameter_supported": true,
            "code_challenge_methods_supported": ["S256"],
            "organization_name": op.spec.display_name,
        });
        if op.spec.signed_jwks {
            m["signed_jwks_uri"] = format!("{id}/jwks.jwt").into();
        } else {
            m["jwks"] = json!({"keys": [op.oidc_key.public_jwk().to_json()]});
        }
        Self::sign_statement(
            &op.fed_key,
            &json!({
                "iss": id, "sub": id, "iat": now, "exp": now + LIFETIME,
                "jwks": {"keys": [op.fed_key.public_jwk().to_json()]},
                "authority_hints": [self.trust_anchor_id()],
                "metadata": {
                    "openid_provider": m,
                    "federation_entity": {"organization_name": op.spec.display_name},
                },
            }),
        )
    }

    /// The OP's signed JWK Set (its `signed_jwks_uri`).
    ///
    /// # Errors
    /// [`TestOpError`] for an unknown OP or a signing failure.
    pub fn op_signed_jwks(&self, name: &str, now: i64) -> Result<String, TestOpError> {
        let op = self.op(name).ok_or_else(|| err("unknown OP"))?;
        let id = self.op_id(name);
        let c = json!({"iss": id, "sub": id, "iat": now,
            "keys": [op.oidc_key.public_jwk().to_json()]});
        op.fed_key
            .sign(Some(SIGNED_JWKS_TYP), c.to_string().as_bytes())
            .map_err(err)
    }

    /// Checks an authorization request (query of the `authorization_endpoint`) at the OP
    /// `name`: a registered RP's `client_id`, a request object signed with its OIDC keys,
    /// addressed to this OP, unexpired, `response_type=code`, `scope` with `openid`, a
    /// registered `redirect_uri`, PKCE S256, `state`, `nonce`, `acr_values`. Returns the
    /// one-time token of the consent form.
    ///
    /// # Errors
    /// [`TestOpError`] naming the failed check (the OP never redirects an unverified request).
    pub fn authorize(
        &self,
        name: &str,
        query: &HashMap<String, String>,
    ) -> Result<(String, AuthorizationRequest), TestOpError> {
        let id = self.op_id(name);
        self.op(name).ok_or_else(|| err("unknown OP"))?;
        let client_id = query.get("client_id").ok_or_else(|| err("no client_id"))?;
        let request = query
            .get("request")
            .ok_or_else(|| err("no request object"))?;
        let rp = lock(&self.fed.rps)
            .get(client_id)
            .cloned()
            .ok_or_else(|| err("unregistered client_id"))?;
        let v = jose::verify(
            request,
            &rp.oidc_jwks,
            VerifyOptions {
                algs: &Alg::ALL,
                typ: None,
            },
        )
        .map_err(|e| err(format!("request object: {e}")))?;
        let c: Map<String, Value> =
            serde_json::from_slice(&v.payload).map_err(|_| err("request object payload"))?;
        let s = |n: &str| c.get(n).and_then(Value::as_str).map(str::to_owned);
        let need = |n: &str| s(n).ok_or_else(|| err(format!("request object: no {n}")));
        if need("iss")? != *client_id || need("client_id")? != *client_id {
            return Err(err("request object: iss/client_id"));
        }
        let aud_ok = match c.get("aud") {
            Some(Value::String(a)) => *a == id,
            Some(Value::Array(a)) => a.iter().any(|x| x.as_str() == Some(&id)),
            _ => false,
        };
        if !aud_ok {
            return Err(err("request object: aud"));
        }
        if c.get("exp")
            .and_then(Value::as_i64)
            .is_none_or(|e| e <= now())
        {
            return Err(err("request object: expired"));
        }
        if need("response_type")? != "code" {
            return Err(err("response_type"));
        }
        if !need("scope")?.split(' ').any(|x| x == "openid") {
            return Err(err("scope"));
        }
        let redirect_uri = need("redirect_uri")?;
        if !rp.redirect_uris.contains(&redirect_uri) {
            return Err(err("redirect_uri not registered"));
        }
        if need("code_challenge_method")? != "S256" {
            return Err(err("code_challenge_method"));
        }
        let req = AuthorizationRequest {
            op: name.to_owned(),
            client_id: client_id.clone(),
            redirect_uri,
            state: need("state")?,
            nonce: need("nonce")?,
            code_challenge: need("code_challenge")?,
            acr_values: need("acr_values")?.split(' ').map(str::to_owned).collect(),
        };
        let t = token();
        lock(&self.fed.pending).insert(t.clone(), req.clone());
        Ok((t, req))
    }

    /// The citizen's answer to the request `token`: the URL the browser goes back to, with a
    /// single-use `code` (or `error=access_denied` when `citizen` is `None`), `state` and `iss`.
    ///
    /// # Errors
    /// [`TestOpError`] for an unknown or used token.
    pub fn consent(
        &self,
        token_: &str,
        citizen: Option<TestCitizen>,
    ) -> Result<String, TestOpError> {
        let req = lock(&self.fed.pending)
            .remove(token_)
            .ok_or_else(|| err("unknown or used request"))?;
        let mut u = url::Url::parse(&req.redirect_uri).map_err(err)?;
        let iss = self.op_id(&req.op);
        match citizen {
            Some(citizen) => {
                let code = token();
                u.query_pairs_mut()
                    .append_pair("code", &code)
                    .append_pair("state", &req.state)
                    .append_pair("iss", &iss);
                lock(&self.fed.codes).insert(code, Grant { req, citizen });
            }
            None => {
                u.query_pairs_mut()
                    .append_pair("error", "access_denied")
                    .append_pair("error_description", "the citizen refused")
                    .append_pair("state", &req.state)
                    .append_pair("iss", &iss);
            }
        }
        Ok(u.into())
    }

    fn client_ok(&self, form: &HashMap<String, String>, aud: &str) -> Option<String> {
        let client_id = form.get("client_id")?;
        if form.get("client_assertion_type").map(String::as_str) != Some(CLIENT_ASSERTION_TYPE) {
            return None;
        }
        let rp = lock(&self.fed.rps).get(client_id).cloned()?;
        let v = jose::verify(
            form.get("client_assertion")?,
            &rp.oidc_jwks,
            VerifyOptions {
                algs: &Alg::ALL,
                typ: None,
            },
        )
        .ok()?;
        let c: Value = serde_json::from_slice(&v.payload).ok()?;
        let ok = c["iss"] == client_id.as_str()
            && c["sub"] == client_id.as_str()
            && c["aud"] == aud
            && c["exp"].as_i64().is_some_and(|e| e > now());
        ok.then(|| client_id.clone())
    }

    /// The token endpoint of the OP `name`: `(status, JSON body)`.
    pub fn token_endpoint(&self, name: &str, form: &HashMap<String, String>) -> (u16, Value) {
        let bad = |e: &str| (400, json!({"error": e}));
        let Some(op) = self.op(name) else {
            return bad("invalid_request");
        };
        let id = self.op_id(name);
        if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
            return bad("unsupported_grant_type");
        }
        let Some(client_id) = self.client_ok(form, &format!("{id}/token")) else {
            return (401, json!({"error": "invalid_client"}));
        };
        // single use: removed whatever follows
        let Some(g) = form
            .get("code")
            .and_then(|c| lock(&self.fed.codes).remove(c))
        else {
            return bad("invalid_grant");
        };
        if g.req.client_id != client_id || g.req.op != name {
            return bad("invalid_grant");
        }
        let verifier_ok = form
            .get("code_verifier")
            .is_some_and(|v| pkce_s256(v) == g.req.code_challenge);
        if !verifier_ok {
            return bad("invalid_grant");
        }
        let at = token();
        let t = now();
        let acr = g.req.acr_values.first().cloned().unwrap_or_default();
        let idt = json!({
            "iss": id, "sub": subject(&g), "aud": [client_id], "iat": t, "exp": t + 600,
            "nonce": g.req.nonce, "acr": acr, "at_hash": at_hash(&at), "jti": token(),
        });
        let Ok(id_token) = op.oidc_key.sign(None, idt.to_string().as_bytes()) else {
            return (500, json!({"error": "server_error"}));
        };
        lock(&self.fed.access).insert(at.clone(), g);
        (
            200,
            json!({"access_token": at, "token_type": "Bearer", "expires_in": 600,
                "id_token": id_token}),
        )
    }

    /// The UserInfo endpoint of the OP `name` for the bearer `access_token`: `(status, body)`,
    /// the body a JWE (to the RP's `use: enc` key) of a JWT signed by the OP.
    pub fn userinfo(&self, name: &str, access_token: &str) -> (u16, String) {
        let Some(op) = self.op(name) else {
            return (404, String::new());
        };
        if lock(&self.fed.revoked).iter().any(|r| r == access_token) {
            return (401, String::new());
        }
        let Some(g) = lock(&self.fed.access).get(access_token).cloned() else {
            return (401, String::new());
        };
        if g.req.op != name {
            return (401, String::new());
        }
        let Some(enc) = lock(&self.fed.rps).get(&g.req.client_id).and_then(|rp| {
            rp.oidc_jwks
                .keys
                .iter()
                .find(|k| k.use_.as_deref() == Some("enc"))
                .cloned()
        }) else {
            return (400, String::new());
        };
        let t = now();
        let claims = json!({
            "iss": self.op_id(name), "aud": g.req.client_id, "sub": subject(&g), "iat": t,
            "exp": t + 600, "given_name": g.citizen.given_name,
            "family_name": g.citizen.family_name,
            crate::login::CLAIM_FISCAL_NUMBER: format!("TINIT-{}", g.citizen.fiscal_code),
        });
        match sign_and_encrypt(&op.oidc_key, &claims, &enc) {
            Ok(jwe) => (200, jwe),
            Err(_) => (500, String::new()),
        }
    }

    /// The revocation endpoint (RFC 7009) of the OP `name`: the status.
    pub fn revocation(&self, name: &str, form: &HashMap<String, String>) -> u16 {
        let id = self.op_id(name);
        if self.client_ok(form, &format!("{id}/revocation")).is_none() {
            return 401;
        }
        if let Some(t) = form.get("token") {
            lock(&self.fed.access).remove(t);
            lock(&self.fed.revoked).push(t.clone());
        }
        200
    }

    /// The routes, to serve at the federation's base URL.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/ta/.well-known/openid-federation", get(ta_ec))
            .route("/ta/fetch", get(ta_fetch))
            .route("/ta/list", get(ta_list))
            .route("/op/{name}/.well-known/openid-federation", get(op_ec))
            .route("/op/{name}/jwks.jwt", get(op_jwks))
            .route("/op/{name}/authorization", get(op_authorization))
            .route("/op/{name}/consent", post(op_consent))
            .route("/op/{name}/token", post(op_token))
            .route("/op/{name}/userinfo", get(op_userinfo))
            .route("/op/{name}/revocation", post(op_revocation))
            .with_state(self.clone())
    }

    /// HTTP to the federation's URLs answered in process by [`TestFederation::router`].
    pub fn transport(&self) -> InProcess {
        InProcess {
            base: self.fed.base.clone(),
            router: self.router(),
        }
    }
}

fn subject(g: &Grant) -> String {
    // pairwise: one value per citizen and RP
    let d = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{}|{}", g.citizen.fiscal_code, g.req.client_id).as_bytes(),
    );
    B64.encode(&d.as_ref()[..16])
}

fn sign_and_encrypt(key: &SigningKey, claims: &Value, to: &Jwk) -> Result<String, TestOpError> {
    let jws = key.sign(None, claims.to_string().as_bytes()).map_err(err)?;
    crate::jwe::encrypt_for(jws.as_bytes(), to).map_err(err)
}

fn jwt(ct: &'static str, r: Result<String, TestOpError>) -> Response {
    match r {
        Ok(j) => ([(header::CONTENT_TYPE, ct)], j).into_response(),
        Err(e) => (StatusCode::NOT_FOUND, e.to_string()).into_response(),
    }
}

const ES_JWT: &str = "application/entity-statement+jwt";

async fn ta_ec(State(f): State<TestFederation>) -> Response {
    jwt(ES_JWT, f.ta_configuration(now()))
}

async fn ta_fetch(
    State(f): State<TestFederation>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let Some(sub) = q.get("sub") else {
        return (StatusCode::BAD_REQUEST, "no sub").into_response();
    };
    jwt(ES_JWT, f.subordinate_statement(sub, now()))
}

async fn ta_list(
    State(f): State<TestFederation>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let list: Vec<String> = match q.get("entity_type").map(String::as_str) {
        None | Some("openid_provider") => f.ops().into_iter().map(|(id, _)| id).collect(),
        Some("openid_relying_party") => lock(&f.fed.rps).keys().cloned().collect(),
        Some(_) => Vec::new(),
    };
    (
        [(header::CONTENT_TYPE, "application/json")],
        Value::from(list).to_string(),
    )
        .into_response()
}

async fn op_ec(State(f): State<TestFederation>, Path(name): Path<String>) -> Response {
    jwt(ES_JWT, f.op_configuration(&name, now()))
}

async fn op_jwks(State(f): State<TestFederation>, Path(name): Path<String>) -> Response {
    jwt("application/jwk-set+jwt", f.op_signed_jwks(&name, now()))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn op_authorization(
    State(f): State<TestFederation>,
    Path(name): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (t, req) = match f.authorize(&name, &q) {
        Ok(v) => v,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Html(format!("<p>Richiesta non valida: {}</p>", esc(&e.0))),
            )
                .into_response();
        }
    };
    let label = f
        .op(&name)
        .map(|o| o.spec.display_name.clone())
        .unwrap_or_default();
    Html(format!(
        r#"<!DOCTYPE html><html lang="it"><head><meta charset="utf-8"><title>{label}</title></head><body><main>
<h1>{label}</h1><p>OpenID Provider di prova: scegli l'identità con cui entrare in <strong>{client}</strong> (livello richiesto: {acr}).</p>
<form method="post" action="{action}">
<input type="hidden" name="token" value="{t}">
<label for="nome">Nome</label><input id="nome" name="given_name" value="Mario" required>
<label for="cognome">Cognome</label><input id="cognome" name="family_name" value="Rossi" required>
<label for="cf">Codice fiscale</label><input id="cf" name="fiscal_code" value="RSSMRA85T10A562S" required>
<button type="submit" id="op-accedi" name="consent" value="yes">Accedi</button>
<button type="submit" id="op-nega" name="consent" value="no">Annulla</button>
</form></main></body></html>"#,
        label = esc(&label),
        client = esc(&req.client_id),
        acr = esc(&req.acr_values.join(" ")),
        action = esc(&format!("{}/consent", f.op_id(&name))),
        t = esc(&t),
    ))
    .into_response()
}

async fn op_consent(
    State(f): State<TestFederation>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let t = form.get("token").cloned().unwrap_or_default();
    let citizen = if form.get("consent").map(String::as_str) == Some("no") {
        None
    } else {
        let cf = match form.get("fiscal_code").map(|c| c.parse::<CodiceFiscale>()) {
            Some(Ok(cf)) => cf,
            _ => return (StatusCode::BAD_REQUEST, "codice fiscale non valido").into_response(),
        };
        Some(TestCitizen {
            given_name: form.get("given_name").cloned().unwrap_or_default(),
            family_name: form.get("family_name").cloned().unwrap_or_default(),
            fiscal_code: cf,
        })
    };
    match f.consent(&t, citizen) {
        Ok(url) => (StatusCode::FOUND, [(header::LOCATION, url)]).into_response(),
        Err(e) => (StatusCode::BAD_REQUEST, e.0).into_response(),
    }
}

async fn op_token(
    State(f): State<TestFederation>,
    Path(name): Path<String>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    let (status, body) = f.token_endpoint(&name, &form);
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

async fn op_userinfo(
    State(f): State<TestFederation>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let (status, body) = f.userinfo(&name, bearer);
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "application/jwt")],
        body,
    )
        .into_response()
}

async fn op_revocation(
    State(f): State<TestFederation>,
    Path(name): Path<String>,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    StatusCode::from_u16(f.revocation(&name, &form))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        .into_response()
}

/// HTTP for the federation's URLs, answered by its router in process; any other URL fails.
#[derive(Clone)]
pub struct InProcess {
    base: String,
    router: Router,
}

impl std::fmt::Debug for InProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InProcess")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl InProcess {
    async fn call(
        &self,
        req: axum::http::Request<axum::body::Body>,
    ) -> Result<HttpResponse, FetchError> {
        use tower::ServiceExt as _;
        let url = req.uri().to_string();
        let fail = |reason: String| FetchError {
            url: url.clone(),
            reason,
        };
        let r = match self.router.clone().oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        };
        let status = r.status().as_u16();
        let content_type = r
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = axum::body::to_bytes(r.into_body(), MAX_BODY)
            .await
            .map_err(|e| fail(e.to_string()))?;
        Ok(HttpResponse {
            status,
            content_type,
            body: body.to_vec(),
        })
    }

    fn path(&self, url: &str) -> Result<String, FetchError> {
        url.strip_prefix(&self.base)
            .filter(|p| p.starts_with('/'))
            .map(str::to_owned)
            .ok_or_else(|| FetchError {
                url: url.into(),
                reason: "not a URL of the test federation".into(),
            })
    }

    fn request(
        method: &str,
        path: &str,
        headers: &[(header::HeaderName, String)],
        body: String,
    ) -> Result<axum::http::Request<axum::body::Body>, FetchError> {
        let mut b = axum::http::Request::builder().method(method).uri(path);
        for (k, v) in headers {
            b = b.header(k, v);
        }
        b.body(axum::body::Body::from(body))
            .map_err(|e| FetchError {
                url: path.into(),
                reason: e.to_string(),
            })
    }
}

#[async_trait::async_trait]
impl Fetcher for InProcess {
    async fn get(&self, url: &str) -> Result<HttpResponse, FetchError> {
        let p = self.path(url)?;
        self.call(Self::request("GET", &p, &[], String::new())?)
            .await
    }
}

#[async_trait::async_trait]
impl OidcHttp for InProcess {
    async fn post_form(
        &self,
        url: &str,
        form: &[(String, String)],
        bearer: Option<&str>,
    ) -> Result<HttpResponse, FetchError> {
        let p = self.path(url)?;
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let mut h = vec![(
            header::CONTENT_TYPE,
            "application/x-www-form-urlencoded".to_owned(),
        )];
        if let Some(t) = bearer {
            h.push((header::AUTHORIZATION, format!("Bearer {t}")));
        }
        self.call(Self::request("POST", &p, &h, body)?).await
    }

    async fn get_bearer(&self, url: &str, token: &str) -> Result<HttpResponse, FetchError> {
        let p = self.path(url)?;
        let h = [(header::AUTHORIZATION, format!("Bearer {token}"))];
        self.call(Self::request("GET", &p, &h, String::new())?)
            .await
    }
}

#[cfg(test)]
mod tests {
    //! The test OP's JWE is checked by Python `jwcrypto` (PA_PY): it decrypts what the OP
    //! encrypts to keys openssl made. With `CI` set a missing oracle fails.
    use super::*;
    use crate::jwe::DecryptionKey;
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    fn python() -> Option<String> {
        let p = std::env::var("PA_PY").ok().filter(|p| {
            Command::new(p)
                .args(["-c", "import jwcrypto"])
                .output()
                .is_ok_and(|o| o.status.success())
        });
        if p.is_none() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but no Python with jwcrypto (PA_PY) was found"
            );
            eprintln!("skipping: no Python with jwcrypto (set PA_PY)");
        }
        p
    }

    fn pem(args: &[&str]) -> String {
        let out = Command::new("openssl")
            .args(args)
            .output()
            .expect("openssl must be installed");
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }

    const DECRYPT: &str = r#"
import sys, json
from jwcrypto import jwk, jwe
req = json.load(sys.stdin)
e = jwe.JWE()
e.deserialize(req["jwe"], key=jwk.JWK.from_pem(req["pem"].encode()))
print(json.dumps({"plaintext": e.payload.decode(), "header": json.loads(e.objects["protected"])}))
"#;

    fn jwcrypto_decrypt(py: &str, jwe: &str, pem: &str) -> Value {
        let mut c = Command::new(py)
            .args(["-c", DECRYPT])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        c.stdin
            .take()
            .unwrap()
            .write_all(json!({"jwe": jwe, "pem": pem}).to_string().as_bytes())
            .unwrap();
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "jwcrypto could not decrypt");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    #[test]
    fn jwcrypto_decrypts_the_test_op_userinfo_jwe() {
        let Some(py) = python() else { return };
        let ec = pem(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ]);
        let rsa = pem(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ]);
        for (key_pem, alg) in [(ec, "ECDH-ES"), (rsa, "RSA-OAEP-256")] {
            let k = DecryptionKey::from_pkcs8_pem(&key_pem).unwrap();
            let jwe = crate::jwe::encrypt_for(b"a.signed.jwt", &k.public_jwk()).unwrap();
            let out = jwcrypto_decrypt(&py, &jwe, &key_pem);
            assert_eq!(out["plaintext"], "a.signed.jwt");
            assert_eq!(out["header"]["alg"], alg);
            assert_eq!(out["header"]["enc"], "A256GCM");
            assert_eq!(out["header"]["kid"], k.kid());
            // and our own reader agrees
            let d = crate::jwe::decrypt(&jwe, &[k]).unwrap();
            assert_eq!(d.plaintext, b"a.signed.jwt");
        }
    }

    #[test]
    fn unregistered_rp_or_tampered_request_object_is_refused() {
        let fed = TestFederation::new("https://fed.example.it").unwrap();
        let mut q = HashMap::new();
        q.insert("client_id".to_owned(), "https://rp.example.it".to_owned());
        q.insert("request".to_owned(), "a.b.c".to_owned());
        assert_eq!(
            fed.authorize("spid", &q).unwrap_err(),
            err("unregistered client_id")
        );
        assert!(fed.consent("no-such-token", None).is_err());
        let (status, body) = fed.token_endpoint("spid", &HashMap::new());
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("unsupported_grant_type"))
        );
        assert_eq!(fed.userinfo("spid", "unknown").0, 401);
    }
}
