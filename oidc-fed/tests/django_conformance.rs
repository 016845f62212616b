//! Conformance against the official Python/Django implementation `spid-cie-oidc`: a Trust
//! Anchor and an OpenID Provider of that package, which `.ci/check-oidc.sh` starts under
//! gunicorn over TLS on 127.0.0.1 (settings in `.ci/oidc`, test CA made by openssl).
//!
//! Our RP serves its Entity Configuration over TLS on 127.0.0.1 and is onboarded at the TA
//! (the TA fetches and validates it, then issues a Subordinate Statement for it); the OP's Trust
//! Chain is resolved through the TA's fetch endpoint; a whole login runs at the OP: signed
//! request object, the OP's login form and consent page driven by an HTTP client keeping the
//! cookies, the code at our redirect URI, token request with `private_key_jwt`, ID Token
//! validated, UserInfo decrypted and verified, `CitizenIdentity`. The OP is also discovered at
//! the TA's list endpoint, and the Trust Marks the TA issues (to the OP, and to our RP) in its
//! Subordinate Statements are verified and confirmed at its status endpoint. Negative cases use
//! the same live servers (wrong state, nonce, audience, replayed code, revoked token, tampered
//! statements fetched from the TA and the OP, expired chain, unknown Trust Anchor, a TA metadata
//! policy the OP violates).
//!
//! Run by `.ci/check-oidc.sh` only (`test = false`): with `CI` set and the servers' variables
//! missing, the test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use oidc_fed::{
    Alg, CallbackParams, ChainError, DecryptionKey, EntityConfigurationBuilder, FetchError,
    Fetcher, HttpResponse, IdTokenCheck, JoseError, Jwks, LoginError, LoginOptions,
    MemoryPendingLoginStore, OidcHttp, PendingLoginStore, Provider, RelyingParty, ReqwestFetcher,
    Scheme, SigningKey, TokenTypeHint, TrustAnchor, TrustChainResolver, UserInfoIssAud,
    validate_id_token, verify_trust_chain,
};
use pa_types::{AssuranceLevel, LoginMethod};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const FISCAL_CODE: &str = "RSSMRA85T10A562S";

/// What `.ci/check-oidc.sh` exports.
struct Live {
    ta: String,
    op: String,
    ca_pem: Vec<u8>,
    tls_cert: String,
    tls_key: String,
    ta_jwks: Jwks,
    admin: Vec<String>,
    user: String,
    password: String,
}

fn live() -> Option<Live> {
    let var = |n: &str| std::env::var(n).ok();
    let Some(ta) = var("OIDC_DJANGO_TA") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI is set but OIDC_DJANGO_TA is not: run .ci/check-oidc.sh, which starts the \
             spid-cie-oidc Trust Anchor and OP"
        );
        eprintln!("skipping: no spid-cie-oidc servers (run .ci/check-oidc.sh)");
        return None;
    };
    let need = |n: &str| var(n).unwrap_or_else(|| panic!("{n} not set"));
    let ta_jwks: Value =
        serde_json::from_str(&std::fs::read_to_string(need("OIDC_DJANGO_TA_JWKS")).unwrap())
            .unwrap();
    Some(Live {
        ta,
        op: need("OIDC_DJANGO_OP"),
        ca_pem: std::fs::read(need("OIDC_DJANGO_CA")).unwrap(),
        tls_cert: need("OIDC_DJANGO_TLS_CERT"),
        tls_key: need("OIDC_DJANGO_TLS_KEY"),
        ta_jwks: Jwks::from_json(&ta_jwks).unwrap(),
        admin: need("OIDC_DJANGO_ADMIN")
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        user: need("OIDC_DJANGO_USER"),
        password: need("OIDC_DJANGO_PASSWORD"),
    })
}

fn now() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

fn openssl_key(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .arg("genpkey")
        .args(args)
        .output()
        .expect("openssl must be installed");
    assert!(out.status.success(), "openssl genpkey failed");
    String::from_utf8(out.stdout).unwrap()
}

fn rsa_pem() -> String {
    openssl_key(&["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
}

/// Runs `bootstrap.py <args>` as the Trust Anchor (Django management of the live TA).
fn ta_admin(l: &Live, args: &[&str]) -> Result<String, String> {
    let out = Command::new(&l.admin[0])
        .args(&l.admin[1..])
        .args(args)
        .env("OIDC_ROLE", "ta")
        .output()
        .expect("the TA's bootstrap.py must run");
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// Our RP: its keys, its Entity Configuration served over TLS on 127.0.0.1.
struct Rp {
    id: String,
    redirect_uri: String,
    fed_key: SigningKey,
    oidc_pem: String,
    oidc_key: SigningKey,
    enc: DecryptionKey,
    /// What the server answers at `/.well-known/openid-federation`.
    ec: Arc<Mutex<String>>,
}

impl Rp {
    async fn start(l: &Live) -> Rp {
        let tls = server_tls(l);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let id = format!(
            "https://127.0.0.1:{}",
            listener.local_addr().unwrap().port()
        );
        let ec = Arc::new(Mutex::new(String::new()));
        tokio::spawn(serve_ec(listener, tls, ec.clone()));
        let fed_key = SigningKey::from_pkcs8_pem(Alg::RS256, &rsa_pem()).unwrap();
        let oidc_pem = rsa_pem();
        let oidc_key = SigningKey::from_pkcs8_pem(Alg::RS256, &oidc_pem).unwrap();
        let enc = DecryptionKey::from_pkcs8_pem(&rsa_pem()).unwrap();
        let rp = Rp {
            redirect_uri: format!("{id}/oidc/rp/callback"),
            id,
            fed_key,
            oidc_pem,
            oidc_key,
            enc,
            ec,
        };
        *rp.ec.lock().unwrap() = rp.entity_configuration(l, now());
        rp
    }

    fn oidc_jwks(&self) -> Jwks {
        let mut enc = self.enc.public_jwk();
        // the OP picks the UserInfo encryption key by `use`
        enc.use_ = Some("enc".into());
        Jwks {
            keys: vec![self.oidc_key.public_jwk(), enc],
        }
    }

    fn entity_configuration(&self, l: &Live, iat: i64) -> String {
        let m = json!({
            "client_id": self.id,
            "client_name": "RP oidc-fed",
            "organization_name": "Comune di prova",
            "redirect_uris": [self.redirect_uri],
            "response_types": ["code"],
            "grant_types": ["authorization_code"],
            "client_registration_types": ["automatic"],
            "token_endpoint_auth_method": "private_key_jwt",
            "userinfo_encrypted_response_alg": "RSA-OAEP",
            "userinfo_encrypted_response_enc": "A256CBC-HS512",
            "contacts": ["ops@rp.invalid"],
        });
        let fe = json!({"organization_name": "Comune di prova", "homepage_uri": self.id,
            "contacts": ["ops@rp.invalid"]});
        EntityConfigurationBuilder::new(
            &self.id,
            std::slice::from_ref(&self.fed_key),
            self.oidc_jwks(),
        )
        .rp_metadata(m.as_object().unwrap().clone())
        .federation_entity(fe.as_object().unwrap().clone())
        .authority_hints(vec![l.ta.clone()])
        .sign(iat)
        .unwrap()
    }

    /// Registers us at the live TA, which first fetches and validates our Entity Configuration.
    fn onboard(&self, l: &Live) -> Result<String, String> {
        let path = std::env::temp_dir().join(format!(
            "oidc-fed-rp-{}.json",
            self.id.rsplit(':').next().unwrap()
        ));
        let jwks = Jwks {
            keys: vec![self.fed_key.public_jwk()],
        };
        std::fs::write(&path, jwks.to_json().to_string()).unwrap();
        let r = ta_admin(l, &["onboard", &self.id, path.to_str().unwrap()]);
        let _ = std::fs::remove_file(&path);
        r
    }

    /// The OIDC side of our RP (its own copy of the OIDC signing key).
    fn relying_party(&self) -> RelyingParty {
        let key = SigningKey::from_pkcs8_pem(Alg::RS256, &self.oidc_pem).unwrap();
        RelyingParty::new(self.id.clone(), vec![self.redirect_uri.clone()], key).unwrap()
    }
}

fn server_tls(l: &Live) -> Arc<rustls::ServerConfig> {
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&l.tls_cert)
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(&l.tls_key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .unwrap(),
    )
}

/// A minimal HTTPS server: GET /.well-known/openid-federation answers `ec`, anything else 404.
async fn serve_ec(
    listener: tokio::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    ec: Arc<Mutex<String>>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let acceptor = acceptor.clone();
        let ec = ec.clone();
        tokio::spawn(async move {
            let Ok(mut s) = acceptor.accept(tcp).await else {
                return;
            };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 2048];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16_384 {
                match s.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&buf);
            let path = head.split_whitespace().nth(1).unwrap_or("");
            let (status, body) = if path.split('?').next() == Some("/.well-known/openid-federation")
            {
                ("200 OK", ec.lock().unwrap().clone())
            } else {
                ("404 Not Found", String::new())
            };
            let resp = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/entity-statement+jwt\r\n\
                 content-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes()).await;
            let _ = s.shutdown().await;
        });
    }
}

/// A fresh RP onboarded at the live TA.
async fn onboarded_rp(l: &Live) -> Rp {
    let rp = Rp::start(l).await;
    let out = rp.onboard(l).expect("the TA must onboard our RP");
    assert!(out.contains(&rp.id), "{out}");
    rp
}

fn anchors(l: &Live) -> Vec<TrustAnchor> {
    vec![TrustAnchor {
        entity_id: l.ta.clone(),
        jwks: l.ta_jwks.clone(),
    }]
}

fn fetcher(l: &Live) -> ReqwestFetcher {
    ReqwestFetcher::with_root_certificates_pem(&l.ca_pem).unwrap()
}

/// How [`Tamper`] spoils the statements of matching URLs.
#[derive(Clone, Copy, Debug)]
enum Spoil {
    /// One bit of the signature flipped.
    Signature,
    /// Header replaced by `{"alg":"none"}`, signature dropped.
    AlgNone,
    /// Header `kid` replaced by one in no JWKS.
    UnknownKid,
}

/// A fetcher over the live servers that spoils what one URL answers.
struct Tamper {
    inner: ReqwestFetcher,
    url_contains: String,
    how: Spoil,
}

fn b64(b: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn unb64(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

fn spoil(jws: &str, how: Spoil) -> String {
    let p: Vec<&str> = jws.trim().split('.').collect();
    assert_eq!(p.len(), 3, "not a compact JWS: {jws}");
    match how {
        Spoil::Signature => {
            let mut sig = unb64(p[2]);
            sig[10] ^= 0x01;
            format!("{}.{}.{}", p[0], p[1], b64(&sig))
        }
        Spoil::AlgNone => format!(
            "{}.{}.",
            b64(br#"{"alg":"none","typ":"entity-statement+jwt"}"#),
            p[1]
        ),
        Spoil::UnknownKid => {
            let mut h: Value = serde_json::from_slice(&unb64(p[0])).unwrap();
            h["kid"] = "not-a-key-of-this-federation".into();
            format!("{}.{}.{}", b64(h.to_string().as_bytes()), p[1], p[2])
        }
    }
}

#[async_trait::async_trait]
impl Fetcher for Tamper {
    async fn get(&self, url: &str) -> Result<HttpResponse, FetchError> {
        let mut r = self.inner.get(url).await?;
        if url.contains(&self.url_contains) && r.status == 200 {
            r.body = spoil(std::str::from_utf8(&r.body).unwrap(), self.how).into_bytes();
        }
        Ok(r)
    }
}

fn has(e: &ChainError, what: &str) -> bool {
    format!("{e:?}").contains(what)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trust_chains_through_the_live_trust_anchor() {
    let Some(l) = live() else { return };
    let rp = onboarded_rp(&l).await;
    let t = now();
    let resolver = TrustChainResolver::new(fetcher(&l), anchors(&l));

    // the OP's chain: its Entity Configuration, the TA's Subordinate Statement, the TA's EC
    let chain = resolver.resolve(&l.op, t).await.unwrap();
    assert_eq!(chain.subject, l.op);
    assert_eq!(chain.trust_anchor, l.ta);
    assert_eq!(chain.statements.len(), 3);
    assert!(chain.exp > t);
    let op_md = chain.metadata_of("openid_provider").unwrap();
    assert_eq!(op_md["issuer"], l.op.as_str());
    let provider = Provider::from_chain(&chain).unwrap();
    assert_eq!(provider.token_endpoint, format!("{}/token", l.op));
    assert!(!provider.jwks.keys.is_empty());
    // the chain re-verifies offline until its exp, not after
    verify_trust_chain(&chain.statements, &anchors(&l), &Alg::ALL, t).unwrap();
    let e =
        verify_trust_chain(&chain.statements, &anchors(&l), &Alg::ALL, chain.exp + 1).unwrap_err();
    assert!(has(&e, "Expired"), "{e:?}");
    // resolved with a clock past the statements' exp: expired
    let e = resolver.resolve(&l.op, chain.exp + 1).await.unwrap_err();
    assert!(has(&e, "Expired"), "{e:?}");

    // our own chain: the Subordinate Statement the TA issued at onboarding names our key
    let ours = resolver.resolve(&rp.id, t).await.unwrap();
    assert_eq!(ours.trust_anchor, l.ta);
    assert!(ours.jwks.get(rp.fed_key.kid()).is_some());
    assert_eq!(
        ours.metadata_of("openid_relying_party").unwrap()["client_id"],
        rp.id.as_str()
    );

    // unknown trust anchors: another entity id, or the TA's id with keys it does not use
    let other = vec![TrustAnchor {
        entity_id: "https://127.0.0.1:9".into(),
        jwks: l.ta_jwks.clone(),
    }];
    let e = TrustChainResolver::new(fetcher(&l), other)
        .resolve(&l.op, t)
        .await
        .unwrap_err();
    assert!(!has(&e, "Expired"), "{e:?}");
    let stranger = SigningKey::from_pkcs8_pem(Alg::RS256, &rsa_pem()).unwrap();
    let wrong_keys = vec![TrustAnchor {
        entity_id: l.ta.clone(),
        jwks: Jwks {
            keys: vec![stranger.public_jwk()],
        },
    }];
    let e = TrustChainResolver::new(fetcher(&l), wrong_keys)
        .resolve(&l.op, t)
        .await
        .unwrap_err();
    assert!(has(&e, "UnknownKid"), "{e:?}");

    // tampered statements from the live servers, at each level
    let ec_op = format!("{}/.well-known/openid-federation", l.op);
    let fetch_op = "/fetch?sub=".to_owned();
    let ec_ta = format!("{}/.well-known/openid-federation", l.ta);
    let cases = [
        (ec_op.as_str(), Spoil::Signature, "BadSignature"),
        (fetch_op.as_str(), Spoil::Signature, "BadSignature"),
        (ec_ta.as_str(), Spoil::Signature, "BadSignature"),
        (ec_op.as_str(), Spoil::AlgNone, "AlgNone"),
        (fetch_op.as_str(), Spoil::AlgNone, "AlgNone"),
        (ec_op.as_str(), Spoil::UnknownKid, "UnknownKid"),
        (fetch_op.as_str(), Spoil::UnknownKid, "UnknownKid"),
        (ec_ta.as_str(), Spoil::UnknownKid, "UnknownKid"),
    ];
    for (url, how, want) in cases {
        let f = Tamper {
            inner: fetcher(&l),
            url_contains: url.to_owned(),
            how,
        };
        let e = TrustChainResolver::new(f, anchors(&l))
            .resolve(&l.op, t)
            .await
            .unwrap_err();
        assert!(has(&e, want), "{url} {how:?}: {e:?}");
    }

    // metadata policy set at the live TA for the OP: applied, and a violation refused
    let restore = PolicyGuard { l: &l, sub: &l.op };
    ta_admin(
        &l,
        &[
            "policy",
            &l.op,
            r#"{"openid_provider": {"id_token_signing_alg_values_supported": {"subset_of": ["RS256"]}}}"#,
        ],
    )
    .unwrap();
    let c = resolver.resolve(&l.op, now()).await.unwrap();
    assert_eq!(
        c.metadata_of("openid_provider").unwrap()["id_token_signing_alg_values_supported"],
        json!(["RS256"])
    );
    ta_admin(
        &l,
        &[
            "policy",
            &l.op,
            r#"{"openid_provider": {"id_token_signing_alg_values_supported": {"superset_of": ["PS512"]}}}"#,
        ],
    )
    .unwrap();
    let e = resolver.resolve(&l.op, now()).await.unwrap_err();
    assert!(has(&e, "Policy") && has(&e, "superset_of"), "{e:?}");
    drop(restore);
    resolver.resolve(&l.op, now()).await.unwrap();
}

/// Puts the OP's metadata policy at the TA back to none, even when an assertion failed.
struct PolicyGuard<'a> {
    l: &'a Live,
    sub: &'a str,
}

impl Drop for PolicyGuard<'_> {
    fn drop(&mut self) {
        let _ = ta_admin(self.l, &["policy", self.sub, "{}"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_refuses_a_badly_signed_entity_configuration() {
    let Some(l) = live() else { return };
    let rp = Rp::start(&l).await;
    let good = rp.entity_configuration(&l, now());
    *rp.ec.lock().unwrap() = spoil(&good, Spoil::Signature);
    let e = rp.onboard(&l).unwrap_err();
    assert!(e.contains("ValidationError"), "{e}");
    // the same RP with its real Entity Configuration is onboarded
    *rp.ec.lock().unwrap() = good;
    rp.onboard(&l).unwrap();
}

/// Trust mark types the live TA issues (`.ci/oidc/bootstrap.py`).
const OP_PROFILE: &str = "https://www.spid.gov.it/openid_provider/public";
const RP_PROFILE: &str = "https://www.spid.gov.it/openid_relying_party/public";

/// The TA's Trust Mark Status endpoint on `trust_mark`: its signed answer, verified with the
/// TA's keys, must say `active` for that very mark.
async fn trust_mark_status_is_active(l: &Live, trust_mark: &str) {
    let http = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&l.ca_pem).unwrap())
        .build()
        .unwrap();
    let r = http
        .post(format!("{}/trust_mark_status", l.ta))
        .form(&[("trust_mark", trust_mark)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    let v = oidc_fed::verify(
        body.trim(),
        &l.ta_jwks,
        oidc_fed::VerifyOptions {
            algs: &Alg::ALL,
            typ: Some("trust-mark-status-response+jwt"),
        },
    )
    .unwrap();
    let claims: Value = serde_json::from_slice(&v.payload).unwrap();
    assert_eq!(claims["iss"], l.ta.as_str());
    assert_eq!(claims["status"], "active");
    assert_eq!(claims["trust_mark"], trust_mark);
}

/// OP discovery as the Italian profile lays it out: the OPs the TA lists at its
/// `federation_list_endpoint`, each with its Trust Chain. The live TA lists only entities it
/// issued a profile (a Trust Mark) to, and publishes those marks in its Subordinate Statement
/// about each: they are verified (issuer listed in the TA's `trust_mark_issuers`, signed with
/// the TA's keys, `sub`), for the OP and, once the TA issued it, for our RP; the TA's Trust Mark
/// Status endpoint confirms each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn op_discovery_and_trust_marks_through_the_live_trust_anchor() {
    let Some(l) = live() else { return };
    let t = now();
    let resolver = || TrustChainResolver::new(fetcher(&l), anchors(&l));
    let found = resolver().discover_providers(&l.ta, t).await.unwrap();
    let ids: Vec<&str> = found.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, [l.op.as_str()], "the TA lists its one OP");
    let chain = found[0].1.as_ref().unwrap();
    assert_eq!(chain.trust_anchor, l.ta);
    assert_eq!(chain.statements.len(), 3);
    let provider = Provider::from_chain(chain).unwrap();
    assert_eq!(provider.issuer, l.op);
    assert!(
        chain.rejected_trust_marks.is_empty(),
        "{:?}",
        chain.rejected_trust_marks
    );
    let tm = chain
        .trust_marks
        .iter()
        .find(|m| m.trust_mark_type == OP_PROFILE)
        .expect("the OP's trust mark, from the TA's statement about it");
    assert_eq!(
        (tm.iss.as_str(), tm.sub.as_str()),
        (l.ta.as_str(), l.op.as_str())
    );
    // it satisfies a requirement of that mark; a mark the OP does not have does not
    resolver()
        .require_trust_marks(vec![OP_PROFILE.into()])
        .resolve(&l.op, t)
        .await
        .unwrap();
    let e = resolver()
        .require_trust_marks(vec![RP_PROFILE.into()])
        .resolve(&l.op, t)
        .await
        .unwrap_err();
    assert!(has(&e, "MissingTrustMark"), "{e:?}");
    let (_, payload) = oidc_fed::decode_unverified(&chain.statements[1]).unwrap();
    let ss: Value = serde_json::from_slice(&payload).unwrap();
    let op_mark = ss["trust_marks"][0]["trust_mark"]
        .as_str()
        .unwrap()
        .to_owned();
    trust_mark_status_is_active(&l, &op_mark).await;

    // our RP: onboarded without a profile, it has no mark and is not listed
    let rp = onboarded_rp(&l).await;
    let rps = resolver()
        .list_subordinates(&l.ta, "openid_relying_party", t)
        .await
        .unwrap();
    assert!(!rps.contains(&rp.id), "{rps:?}");
    let e = resolver()
        .require_trust_marks(vec![RP_PROFILE.into()])
        .resolve(&rp.id, t)
        .await
        .unwrap_err();
    assert!(has(&e, "MissingTrustMark"), "{e:?}");
    // the TA issues it the RP mark
    ta_admin(&l, &["trust-mark", &rp.id]).unwrap();
    let c = resolver()
        .require_trust_marks(vec![RP_PROFILE.into()])
        .resolve(&rp.id, now())
        .await
        .unwrap();
    let tm = c
        .trust_marks
        .iter()
        .find(|m| m.trust_mark_type == RP_PROFILE)
        .unwrap();
    assert_eq!(
        (tm.iss.as_str(), tm.sub.as_str()),
        (l.ta.as_str(), rp.id.as_str())
    );
    assert_eq!(tm.claims["organization_type"], "public");
    let rps = resolver()
        .list_subordinates(&l.ta, "openid_relying_party", now())
        .await
        .unwrap();
    assert!(rps.contains(&rp.id), "{rps:?}");
    let (_, payload) = oidc_fed::decode_unverified(&c.statements[1]).unwrap();
    let ss: Value = serde_json::from_slice(&payload).unwrap();
    trust_mark_status_is_active(&l, ss["trust_marks"][0]["trust_mark"].as_str().unwrap()).await;
    // the RP mark does not pass for the OP's chain's subject: resolved for the OP it is absent
    let op_again = resolver().resolve(&l.op, now()).await.unwrap();
    assert!(op_again.trust_marks.iter().all(|m| m.sub == l.op));
}

/// A browser with a cookie jar for one host, not following redirects.
struct Browser {
    http: reqwest::Client,
    cookies: HashMap<String, String>,
    origin: String,
}

struct Page {
    status: u16,
    location: Option<String>,
    body: String,
}

impl Browser {
    fn new(l: &Live) -> Browser {
        let ca = reqwest::Certificate::from_pem(&l.ca_pem).unwrap();
        let u = url::Url::parse(&l.op).unwrap();
        Browser {
            http: reqwest::Client::builder()
                .add_root_certificate(ca)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
            origin: u.origin().ascii_serialization(),
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let r = req
            .header("cookie", cookie)
            .header("origin", &self.origin)
            .send()
            .await
            .unwrap();
        for v in r.headers().get_all("set-cookie") {
            let v = v.to_str().unwrap();
            let kv = v.split(';').next().unwrap();
            if let Some((k, val)) = kv.split_once('=') {
                self.cookies.insert(k.trim().to_owned(), val.to_owned());
            }
        }
        Page {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_owned()),
            body: r.text().await.unwrap(),
        }
    }

    async fn get(&mut self, url: &str) -> Page {
        let req = self.http.get(url);
        self.send(req).await
    }

    async fn post(&mut self, url: &str, referer: &str, form: &[(&str, &str)]) -> Page {
        let body: String = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let req = self
            .http
            .post(url)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("referer", referer)
            .body(body);
        self.send(req).await
    }
}

/// The `value` of the input named `name` in a Django-rendered form.
fn input_value(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no input {name} in {html}"));
    let start = html[..at].rfind('<').unwrap();
    let tag_end = start + html[start..].find('>').unwrap();
    let tag = &html[start..tag_end];
    let v = tag.find("value=\"").unwrap_or_else(|| panic!("{tag}")) + 7;
    let end = v + tag[v..].find('"').unwrap();
    tag[v..end].replace("&amp;", "&")
}

fn absolute(l: &Live, location: &str) -> String {
    if location.starts_with("https://") {
        location.to_owned()
    } else {
        let u = url::Url::parse(&l.op).unwrap();
        u.join(location).unwrap().to_string()
    }
}

/// Drives the OP's login form and consent page; returns where the OP sends the browser back.
async fn log_in_at_op(l: &Live, authorization_url: &str) -> String {
    let mut b = Browser::new(l);
    let login = b.get(authorization_url).await;
    assert_eq!(login.status, 200, "login page: {}", login.body);
    let csrf = input_value(&login.body, "csrfmiddlewaretoken");
    let authz = input_value(&login.body, "authz_request_object");
    let post_url = format!("{}/authorization", l.op);
    let r = b
        .post(
            &post_url,
            authorization_url,
            &[
                ("csrfmiddlewaretoken", &csrf),
                ("username", &l.user),
                ("password", &l.password),
                ("authz_request_object", &authz),
            ],
        )
        .await;
    assert_eq!(r.status, 302, "login: {}", r.body);
    let consent_url = absolute(l, r.location.as_deref().unwrap());
    let consent = b.get(&consent_url).await;
    assert_eq!(consent.status, 200, "consent page: {}", consent.body);
    let csrf = input_value(&consent.body, "csrfmiddlewaretoken");
    let agree = input_value(&consent.body, "agree");
    let r = b
        .post(
            &consent_url,
            &consent_url,
            &[("csrfmiddlewaretoken", &csrf), ("agree", &agree)],
        )
        .await;
    assert_eq!(r.status, 302, "consent: {}", r.body);
    r.location.unwrap()
}

fn callback_query(rp: &Rp, location: &str) -> String {
    let (base, q) = location.split_once('?').unwrap();
    assert_eq!(
        base, rp.redirect_uri,
        "the OP must redirect to our redirect_uri"
    );
    q.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_at_the_live_op() {
    let Some(l) = live() else { return };
    let rp = onboarded_rp(&l).await;
    let http = fetcher(&l);
    let resolver = TrustChainResolver::new(fetcher(&l), anchors(&l));
    let provider = Provider::from_chain(&resolver.resolve(&l.op, now()).await.unwrap()).unwrap();
    let client = rp.relying_party();
    let store = MemoryPendingLoginStore::new();
    let opts = LoginOptions::default();

    // authorization: our signed request object, the OP's login and consent
    let start = client
        .start_login(&provider, &opts, "browser-1", &store, now())
        .await
        .unwrap();
    let pending = start.pending.clone();
    let location = log_in_at_op(&l, &start.url).await;
    let q = callback_query(&rp, &location);
    let cb = CallbackParams::from_query(&q);
    assert_eq!(cb.state.as_deref(), Some(pending.state.as_str()));
    assert_eq!(cb.iss.as_deref(), Some(l.op.as_str()));
    let code = cb.code.clone().unwrap();

    // a callback with a state we never issued, or from another browser session
    let forged = CallbackParams::from_query(&format!("code={code}&state=not-ours"));
    assert_eq!(
        client
            .complete_login(&provider, &forged, "browser-1", &store, &http, now())
            .await
            .unwrap_err(),
        LoginError::UnknownState
    );

    // token request with private_key_jwt, ID Token validated
    let (tokens, id) = client
        .complete_login(&provider, &cb, "browser-1", &store, &http, now())
        .await
        .unwrap();
    assert_eq!(id.level, Some(AssuranceLevel::L2));
    // the official OP signs a UserInfo without iss and aud: a strict RP refuses it ...
    assert_eq!(
        client
            .userinfo(
                &provider,
                &tokens,
                &id,
                std::slice::from_ref(&rp.enc),
                Scheme::Spid,
                &http,
            )
            .await
            .unwrap_err(),
        LoginError::UserInfoClaim("iss")
    );
    // ... one accepting their absence reads it: decrypted with our key, signature checked with
    // the OP's keys, sub = the ID Token's
    let client = client.userinfo_iss_aud(UserInfoIssAud::IfPresent);
    let who = client
        .userinfo(
            &provider,
            &tokens,
            &id,
            std::slice::from_ref(&rp.enc),
            Scheme::Spid,
            &http,
        )
        .await
        .unwrap();
    assert_eq!(who.fiscal_code.as_str(), FISCAL_CODE);
    assert_eq!(who.given_name.as_deref(), Some("Mario"));
    assert_eq!(who.family_name.as_deref(), Some("Rossi"));
    assert_eq!(
        who.method,
        LoginMethod::Spid {
            level: AssuranceLevel::L2
        }
    );

    // the same callback again: the pending login was taken
    assert_eq!(
        client
            .complete_login(&provider, &cb, "browser-1", &store, &http, now())
            .await
            .unwrap_err(),
        LoginError::UnknownState
    );
    // the OP's real ID Token checked for another audience, or another nonce
    let check = IdTokenCheck {
        client_id: "https://127.0.0.1:9/another-rp",
        nonce: &pending.nonce,
        acr_values: &pending.acr_values,
        access_token: Some(&tokens.access_token),
    };
    assert!(matches!(
        validate_id_token(&tokens.id_token, &provider, &check, now()).unwrap_err(),
        LoginError::WrongAudience(_)
    ));
    let check = IdTokenCheck {
        client_id: &rp.id,
        nonce: "another-nonce-another-nonce-another",
        ..check
    };
    assert_eq!(
        validate_id_token(&tokens.id_token, &provider, &check, now()).unwrap_err(),
        LoginError::WrongNonce
    );
    // with an access token it was not issued with
    let check = IdTokenCheck {
        nonce: &pending.nonce,
        access_token: Some("another-access-token"),
        ..check
    };
    assert_eq!(
        validate_id_token(&tokens.id_token, &provider, &check, now()).unwrap_err(),
        LoginError::WrongAtHash
    );
    // the OP's real ID Token tampered: a flipped signature bit, alg none, a kid not in the
    // OP's JWKS
    let good = IdTokenCheck {
        client_id: &rp.id,
        nonce: &pending.nonce,
        acr_values: &pending.acr_values,
        access_token: Some(&tokens.access_token),
    };
    validate_id_token(&tokens.id_token, &provider, &good, now()).unwrap();
    for (how, want) in [
        (Spoil::Signature, JoseError::BadSignature),
        (Spoil::AlgNone, JoseError::AlgNone),
        (
            Spoil::UnknownKid,
            JoseError::UnknownKid("not-a-key-of-this-federation".into()),
        ),
    ] {
        let t = spoil(&tokens.id_token, how);
        assert_eq!(
            validate_id_token(&t, &provider, &good, now()).unwrap_err(),
            LoginError::Jose(want),
            "{how:?}"
        );
    }
    // a UserInfo we cannot decrypt (another key)
    let other = DecryptionKey::from_pkcs8_pem(&rsa_pem()).unwrap();
    assert!(matches!(
        client
            .userinfo(&provider, &tokens, &id, &[other], Scheme::Spid, &http)
            .await
            .unwrap_err(),
        LoginError::Jwe(_)
    ));
    // the UserInfo verified against keys that are not the OP's
    let mut not_op = provider.clone();
    not_op.jwks = Jwks {
        keys: vec![rp.oidc_key.public_jwk()],
    };
    assert!(matches!(
        client
            .userinfo(
                &not_op,
                &tokens,
                &id,
                std::slice::from_ref(&rp.enc),
                Scheme::Spid,
                &http
            )
            .await
            .unwrap_err(),
        LoginError::Jose(_)
    ));

    // the code replayed in a new login (new state, new PKCE verifier): the OP refuses it
    let again = client
        .start_login(&provider, &opts, "browser-1", &store, now())
        .await
        .unwrap();
    let replay = CallbackParams::from_query(&format!("code={code}&state={}", again.pending.state));
    assert!(matches!(
        client
            .complete_login(&provider, &replay, "browser-1", &store, &http, now())
            .await
            .unwrap_err(),
        LoginError::TokenEndpoint(_)
    ));

    // logout: the access token revoked at the OP (RFC 7009, private_key_jwt) ...
    client
        .revoke(
            &provider,
            &tokens.access_token,
            TokenTypeHint::AccessToken,
            &http,
            now(),
        )
        .await
        .unwrap();
    // ... after which the UserInfo endpoint refuses it
    let e = client
        .userinfo(
            &provider,
            &tokens,
            &id,
            std::slice::from_ref(&rp.enc),
            Scheme::Spid,
            &http,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, LoginError::TokenEndpoint(ref m) if m.contains("403")),
        "{e:?}"
    );
    // ... and the code, even with its own PKCE verifier, gets no tokens
    let form = client
        .token_request_form(&provider, &code, &pending, now())
        .unwrap();
    let r = http
        .post_form(&provider.token_endpoint, &form, None)
        .await
        .unwrap();
    assert_ne!(r.status, 200, "replayed code after logout answered 200");

    // a second whole login of the same RP works (fresh state, nonce, code)
    let start = client
        .start_login(&provider, &opts, "browser-2", &store, now())
        .await
        .unwrap();
    let location = log_in_at_op(&l, &start.url).await;
    let cb2 = CallbackParams::from_query(&callback_query(&rp, &location));
    assert_ne!(cb2.code.as_deref(), Some(code.as_str()));
    // its pending login's nonce altered (as if the OP had answered another request)
    let mut p = store
        .take(&start.pending.state, "browser-2", now())
        .await
        .unwrap()
        .unwrap();
    p.nonce = "a-nonce-we-did-not-send-a-nonce-we-did-not".into();
    store.put(p).await.unwrap();
    assert_eq!(
        client
            .complete_login(&provider, &cb2, "browser-2", &store, &http, now())
            .await
            .unwrap_err(),
        LoginError::WrongNonce
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_op_refuses_a_request_object_signed_with_a_key_not_in_our_jwks() {
    let Some(l) = live() else { return };
    let rp = onboarded_rp(&l).await;
    let resolver = TrustChainResolver::new(fetcher(&l), anchors(&l));
    let provider = Provider::from_chain(&resolver.resolve(&l.op, now()).await.unwrap()).unwrap();
    // signed with our OIDC key, the request object gets the OP's login form ...
    let ours = rp.relying_party();
    let store = MemoryPendingLoginStore::new();
    let start = ours
        .start_login(&provider, &LoginOptions::default(), "b", &store, now())
        .await
        .unwrap();
    let r = Browser::new(&l).get(&start.url).await;
    assert_eq!(r.status, 200, "{:?}", r.location);
    assert!(r.body.contains("authz_request_object"));
    // ... with the same client_id but a key our metadata does not publish, it does not
    let stranger = SigningKey::from_pkcs8_pem(Alg::RS256, &rsa_pem()).unwrap();
    let client = RelyingParty::new(rp.id.clone(), vec![rp.redirect_uri.clone()], stranger).unwrap();
    let store = MemoryPendingLoginStore::new();
    let start = client
        .start_login(&provider, &LoginOptions::default(), "b", &store, now())
        .await
        .unwrap();
    let mut b = Browser::new(&l);
    let r = b.get(&start.url).await;
    // the OP answers at our redirect_uri with an error, not with its login form
    assert_eq!(r.status, 302, "{}", r.body);
    let q = callback_query(&rp, r.location.as_deref().unwrap());
    let cb = CallbackParams::from_query(&q);
    assert_eq!(cb.error.as_deref(), Some("invalid_request"));
    let http = fetcher(&l);
    assert!(matches!(
        client
            .complete_login(&provider, &cb, "b", &store, &http, now())
            .await
            .unwrap_err(),
        LoginError::OpError { .. }
    ));
}
