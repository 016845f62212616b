//! Where an OP's OIDC keys come from: its metadata gives exactly one of `jwks` (inline),
//! `signed_jwks_uri` (a JWT signed with one of the entity's Federation Entity Keys, the keys
//! its Trust Chain establishes, `typ` `jwk-set+jwt`, OpenID Federation 1.0 §5.2.1) or
//! `jwks_uri` (a plain JWK Set over HTTPS, trusted only through the TLS of that URL).

use crate::chain::{Fetcher, TrustChain};
use crate::jose::{self, Alg, Jwks, VerifyOptions};
use crate::login::{LoginError, Provider};
use crate::statement::CLOCK_SKEW;
use serde_json::{Map, Value};

/// `typ` of a signed JWK Set.
pub const SIGNED_JWKS_TYP: &str = "jwk-set+jwt";

/// Which of the three the metadata uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeySource<'a> {
    Inline,
    Signed(&'a str),
    Uri(&'a str),
}

/// The key source of `openid_provider` metadata: exactly one of `jwks`, `signed_jwks_uri`,
/// `jwks_uri`.
pub(crate) fn key_source(m: &Map<String, Value>) -> Result<KeySource<'_>, LoginError> {
    let uri = |n: &'static str| match m.get(n) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.as_str())),
        Some(_) => Err(LoginError::ProviderMetadata(n)),
    };
    let signed = uri("signed_jwks_uri")?;
    let plain = uri("jwks_uri")?;
    let inline = m.contains_key("jwks");
    match (inline, signed, plain) {
        (true, None, None) => Ok(KeySource::Inline),
        (false, Some(s), None) => Ok(KeySource::Signed(s)),
        (false, None, Some(u)) => Ok(KeySource::Uri(u)),
        (false, None, None) => Err(LoginError::ProviderMetadata("jwks")),
        // OpenID Federation 1.0 §5.2.1: an entity using one of them must not use the others.
        _ => Err(LoginError::ProviderMetadata(
            "jwks (only one of jwks, jwks_uri, signed_jwks_uri)",
        )),
    }
}

/// Verifies a signed JWK Set of `entity_id`: signed with one of `federation_jwks` (the
/// entity's Federation Entity Keys as its Trust Chain establishes them, never keys the JWT
/// carries), `typ` `jwk-set+jwt`, `iss` and `sub` the entity, `iat` not in the future, `exp`
/// (when present) not past; returns its `keys`.
///
/// # Errors
/// [`LoginError::Jose`] for a signature that does not verify with a federation key (e.g. a
/// JWK Set signed with the OIDC key it publishes), [`LoginError::Jwks`] for the claims.
pub fn verify_signed_jwks(
    token: &str,
    entity_id: &str,
    federation_jwks: &Jwks,
    algs: &[Alg],
    now: i64,
) -> Result<Jwks, LoginError> {
    let v = jose::verify(
        token,
        federation_jwks,
        VerifyOptions {
            algs,
            typ: Some(SIGNED_JWKS_TYP),
        },
    )?;
    let bad = |reason: &str| LoginError::Jwks {
        origin: "signed_jwks_uri",
        reason: reason.into(),
    };
    let claims: Map<String, Value> =
        serde_json::from_slice(&v.payload).map_err(|_| bad("payload is not a JSON object"))?;
    if claims.get("iss").and_then(Value::as_str) != Some(entity_id) {
        return Err(bad("iss is not the entity"));
    }
    if claims.get("sub").and_then(Value::as_str) != Some(entity_id) {
        return Err(bad("sub is not the entity"));
    }
    match claims.get("iat") {
        None => {}
        Some(i) => match i.as_i64() {
            Some(iat) if iat <= now + CLOCK_SKEW => {}
            _ => return Err(bad("iat in the future or not a number")),
        },
    }
    match claims.get("exp") {
        None => {}
        Some(e) => match e.as_i64() {
            Some(exp) if exp > now => {}
            _ => return Err(bad("expired")),
        },
    }
    Jwks::from_json(&Value::Object(claims)).map_err(|e| bad(&e.to_string()))
}

fn media_type(ct: Option<&str>) -> String {
    ct.and_then(|c| c.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .unwrap_or_default()
}

impl Provider {
    /// From a verified Trust Chain whose subject is the OP, fetching its OIDC keys when the
    /// metadata gives `signed_jwks_uri` (verified with the Federation Entity Keys of the
    /// chain, [`verify_signed_jwks`]) or `jwks_uri` (an `application/json` JWK Set) instead of
    /// an inline `jwks`.
    ///
    /// # Errors
    /// [`LoginError::ProviderMetadata`] for missing members or several key sources,
    /// [`LoginError::Http`] when the fetch fails, [`LoginError::Jwks`] for a bad answer, the
    /// errors of [`verify_signed_jwks`].
    pub async fn from_chain_fetching(
        chain: &TrustChain,
        fetcher: &dyn Fetcher,
        now: i64,
    ) -> Result<Provider, LoginError> {
        let m = chain
            .metadata_of("openid_provider")
            .ok_or(LoginError::ProviderMetadata("openid_provider"))?;
        let (source, url) = match key_source(m)? {
            KeySource::Inline => return Provider::from_metadata(&chain.subject, m),
            KeySource::Signed(u) => ("signed_jwks_uri", u),
            KeySource::Uri(u) => ("jwks_uri", u),
        };
        let bad = |reason: String| LoginError::Jwks {
            origin: source,
            reason,
        };
        let r = fetcher.get(url).await?;
        if r.status != 200 {
            return Err(bad(format!("HTTP {}", r.status)));
        }
        let mt = media_type(r.content_type.as_deref());
        let jwks = if source == "signed_jwks_uri" {
            if mt != "application/jwk-set+jwt" {
                return Err(bad(format!(
                    "content type {mt:?}, expected application/jwk-set+jwt"
                )));
            }
            let body = std::str::from_utf8(&r.body).map_err(|_| bad("not UTF-8".into()))?;
            verify_signed_jwks(body.trim(), &chain.subject, &chain.jwks, &Alg::ALL, now)?
        } else {
            if mt != "application/json" && mt != "application/jwk-set+json" {
                return Err(bad(format!(
                    "content type {mt:?}, expected application/json"
                )));
            }
            let v: Value = serde_json::from_slice(&r.body).map_err(|_| bad("not JSON".into()))?;
            Jwks::from_json(&v).map_err(|e| bad(e.to_string()))?
        };
        if jwks.keys.is_empty() {
            return Err(bad("no keys".into()));
        }
        Provider::from_metadata_with_jwks(&chain.subject, m, jwks)
    }
}

#[cfg(test)]
mod tests {
    //! The oracle is Python `jwcrypto` (PA_PY) signing the JWK Sets with keys openssl made;
    //! with `CI` set a missing oracle fails.
    use super::*;
    use crate::chain::{FetchError, HttpResponse};
    use crate::jose::{JoseError, SigningKey};
    use std::io::Write as _;
    use std::process::{Command, Stdio};

    const OP: &str = "https://op.example.it";
    const NOW: i64 = 1_800_000_000;

    fn python() -> Option<String> {
        let p = std::env::var("PA_PY").ok()?;
        let ok = Command::new(&p)
            .args(["-c", "import jwcrypto"])
            .output()
            .is_ok_and(|o| o.status.success());
        ok.then_some(p)
    }

    fn oracle() -> Option<String> {
        let p = python();
        if p.is_none() {
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but no Python with jwcrypto (PA_PY) was found"
            );
            eprintln!("skipping: no Python with jwcrypto (set PA_PY)");
        }
        p
    }

    fn p256_pem() -> String {
        let out = Command::new("openssl")
            .args([
                "genpkey",
                "-algorithm",
                "EC",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
            ])
            .output()
            .expect("openssl must be installed");
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    }

    const SIGN: &str = r#"
import sys, json
from jwcrypto import jwk, jws
req = json.load(sys.stdin)
s = jws.JWS(json.dumps(req["claims"]).encode())
s.add_signature(jwk.JWK.from_pem(req["pem"].encode()), None,
    json.dumps({"alg": "ES256", "kid": req["kid"], "typ": req["typ"]}))
print(s.serialize(compact=True))
"#;

    /// jwcrypto signs `claims` with the PEM key, header kid and typ as given.
    fn jwcrypto_sign(py: &str, pem: &str, kid: &str, typ: &str, claims: &Value) -> String {
        let mut c = Command::new(py)
            .args(["-c", SIGN])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let req = serde_json::json!({"pem": pem, "kid": kid, "typ": typ, "claims": claims});
        c.stdin
            .take()
            .unwrap()
            .write_all(req.to_string().as_bytes())
            .unwrap();
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "jwcrypto failed");
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    }

    struct Keys {
        fed_pem: String,
        fed: SigningKey,
        oidc_pem: String,
        oidc: SigningKey,
    }

    fn keys() -> Keys {
        let (fed_pem, oidc_pem) = (p256_pem(), p256_pem());
        Keys {
            fed: SigningKey::from_pkcs8_pem(Alg::ES256, &fed_pem).unwrap(),
            oidc: SigningKey::from_pkcs8_pem(Alg::ES256, &oidc_pem).unwrap(),
            fed_pem,
            oidc_pem,
        }
    }

    fn claims(k: &Keys) -> Value {
        serde_json::json!({"iss": OP, "sub": OP, "iat": NOW - 10,
            "keys": [k.oidc.public_jwk().to_json()]})
    }

    fn fed_jwks(k: &Keys) -> Jwks {
        Jwks {
            keys: vec![k.fed.public_jwk()],
        }
    }

    #[test]
    fn jwcrypto_signed_jwks_verifies_with_the_federation_keys() {
        let Some(py) = oracle() else { return };
        let k = keys();
        let t = jwcrypto_sign(&py, &k.fed_pem, k.fed.kid(), SIGNED_JWKS_TYP, &claims(&k));
        let jwks = verify_signed_jwks(&t, OP, &fed_jwks(&k), &Alg::ALL, NOW).unwrap();
        assert_eq!(jwks.keys, vec![k.oidc.public_jwk()]);
    }

    #[test]
    fn signed_by_a_key_outside_the_federation_jwks_is_refused() {
        let Some(py) = oracle() else { return };
        let k = keys();
        // the OP's (or an attacker's) OIDC key signs its own key set
        let t = jwcrypto_sign(&py, &k.oidc_pem, k.oidc.kid(), SIGNED_JWKS_TYP, &claims(&k));
        assert!(matches!(
            verify_signed_jwks(&t, OP, &fed_jwks(&k), &Alg::ALL, NOW),
            Err(LoginError::Jose(JoseError::UnknownKid(_)))
        ));
        // the same, claiming the federation key's kid
        let t = jwcrypto_sign(&py, &k.oidc_pem, k.fed.kid(), SIGNED_JWKS_TYP, &claims(&k));
        assert!(matches!(
            verify_signed_jwks(&t, OP, &fed_jwks(&k), &Alg::ALL, NOW),
            Err(LoginError::Jose(JoseError::BadSignature))
        ));
    }

    #[test]
    fn wrong_typ_entity_or_time_is_refused() {
        let Some(py) = oracle() else { return };
        let k = keys();
        let jwks = fed_jwks(&k);
        let t = jwcrypto_sign(
            &py,
            &k.fed_pem,
            k.fed.kid(),
            "entity-statement+jwt",
            &claims(&k),
        );
        assert!(matches!(
            verify_signed_jwks(&t, OP, &jwks, &Alg::ALL, NOW),
            Err(LoginError::Jose(JoseError::WrongTyp { .. }))
        ));
        let mut c = claims(&k);
        c["iss"] = "https://other.example.it".into();
        let t = jwcrypto_sign(&py, &k.fed_pem, k.fed.kid(), SIGNED_JWKS_TYP, &c);
        assert!(matches!(
            verify_signed_jwks(&t, OP, &jwks, &Alg::ALL, NOW),
            Err(LoginError::Jwks { .. })
        ));
        let mut c = claims(&k);
        c["exp"] = (NOW - 1).into();
        let t = jwcrypto_sign(&py, &k.fed_pem, k.fed.kid(), SIGNED_JWKS_TYP, &c);
        assert!(matches!(
            verify_signed_jwks(&t, OP, &jwks, &Alg::ALL, NOW),
            Err(LoginError::Jwks { .. })
        ));
        let mut c = claims(&k);
        c["iat"] = (NOW + 3600).into();
        let t = jwcrypto_sign(&py, &k.fed_pem, k.fed.kid(), SIGNED_JWKS_TYP, &c);
        assert!(verify_signed_jwks(&t, OP, &jwks, &Alg::ALL, NOW).is_err());
    }

    /// Answers one URL with a fixed response.
    struct One(String, HttpResponse);

    #[async_trait::async_trait]
    impl Fetcher for One {
        async fn get(&self, url: &str) -> Result<HttpResponse, FetchError> {
            if url == self.0 {
                Ok(self.1.clone())
            } else {
                Err(FetchError {
                    url: url.into(),
                    reason: "unexpected".into(),
                })
            }
        }
    }

    fn chain(k: &Keys, md: Value) -> TrustChain {
        TrustChain {
            subject: OP.into(),
            trust_anchor: "https://ta.example.it".into(),
            statements: Vec::new(),
            exp: NOW + 3600,
            metadata: serde_json::json!({"openid_provider": md})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            jwks: fed_jwks(k),
            trust_marks: Vec::new(),
            rejected_trust_marks: Vec::new(),
        }
    }

    fn md(extra: Value) -> Value {
        let mut m = serde_json::json!({"issuer": OP, "authorization_endpoint": format!("{OP}/auth"),
            "token_endpoint": format!("{OP}/token")});
        for (k, v) in extra.as_object().cloned().unwrap_or_default() {
            m[k] = v;
        }
        m
    }

    fn answer(ct: &str, body: &str) -> HttpResponse {
        HttpResponse {
            status: 200,
            content_type: Some(ct.into()),
            body: body.as_bytes().to_vec(),
        }
    }

    #[tokio::test]
    async fn provider_keys_from_signed_jwks_uri_and_the_attack() {
        let Some(py) = oracle() else { return };
        let k = keys();
        let url = format!("{OP}/jwks.jwt");
        let c = chain(&k, md(serde_json::json!({"signed_jwks_uri": url})));
        let good = jwcrypto_sign(&py, &k.fed_pem, k.fed.kid(), SIGNED_JWKS_TYP, &claims(&k));
        let f = One(url.clone(), answer("application/jwk-set+jwt", &good));
        let p = Provider::from_chain_fetching(&c, &f, NOW).await.unwrap();
        assert_eq!(p.jwks.keys, vec![k.oidc.public_jwk()]);
        // signed with the OIDC key instead of a federation key: the chain's keys decide
        let evil = jwcrypto_sign(&py, &k.oidc_pem, k.oidc.kid(), SIGNED_JWKS_TYP, &claims(&k));
        let f = One(url.clone(), answer("application/jwk-set+jwt", &evil));
        assert!(matches!(
            Provider::from_chain_fetching(&c, &f, NOW).await,
            Err(LoginError::Jose(JoseError::UnknownKid(_)))
        ));
        // a plain key set where a signed one is due
        let plain = Jwks {
            keys: vec![k.oidc.public_jwk()],
        }
        .to_json()
        .to_string();
        let f = One(url, answer("application/json", &plain));
        assert!(matches!(
            Provider::from_chain_fetching(&c, &f, NOW).await,
            Err(LoginError::Jwks { .. })
        ));
    }

    #[tokio::test]
    async fn provider_keys_from_jwks_uri_and_one_source_only() {
        let k = keys();
        let url = format!("{OP}/jwks.json");
        let plain = Jwks {
            keys: vec![k.oidc.public_jwk()],
        }
        .to_json()
        .to_string();
        let c = chain(&k, md(serde_json::json!({"jwks_uri": url})));
        let f = One(url.clone(), answer("application/json", &plain));
        let p = Provider::from_chain_fetching(&c, &f, NOW).await.unwrap();
        assert_eq!(p.jwks.keys, vec![k.oidc.public_jwk()]);
        let f = One(url.clone(), answer("text/html", &plain));
        assert!(Provider::from_chain_fetching(&c, &f, NOW).await.is_err());
        // two sources at once, or none
        let both = chain(
            &k,
            md(
                serde_json::json!({"jwks_uri": url, "jwks": serde_json::from_str::<Value>(&plain).unwrap()}),
            ),
        );
        assert!(matches!(
            Provider::from_chain_fetching(&both, &f, NOW).await,
            Err(LoginError::ProviderMetadata(_))
        ));
        let none = chain(&k, md(serde_json::json!({})));
        assert_eq!(
            Provider::from_chain_fetching(&none, &f, NOW).await.err(),
            Some(LoginError::ProviderMetadata("jwks"))
        );
    }
}
