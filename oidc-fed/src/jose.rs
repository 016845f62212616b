//! JOSE on `ring` (already the workspace's signature library): JWK (RSA, EC P-256, RFC 7517/7518),
//! thumbprints (RFC 7638), JWS compact serialization (RFC 7515) for RS256, PS256 and ES256.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::rand::SystemRandom;
use ring::signature::{self, KeyPair as _};
use serde_json::{Map, Value};

/// Largest compact JWS accepted (bytes): bounds the work done on hostile input.
pub const MAX_JWS_LEN: usize = 64 * 1024;

/// What is wrong with a JWK, a JWKS or a JWS.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JoseError {
    /// The token is not three base64url parts separated by dots.
    #[error("malformed compact JWS: {0}")]
    Malformed(&'static str),
    /// The token is longer than [`MAX_JWS_LEN`].
    #[error("JWS too large: {0} bytes")]
    TooLarge(usize),
    /// A part is not valid unpadded base64url.
    #[error("invalid base64url in the JWS {0}")]
    Base64(&'static str),
    /// The header or a JWK is not the JSON expected.
    #[error("invalid JSON in {what}: {detail}")]
    Json {
        /// Which part.
        what: &'static str,
        /// The parser's message.
        detail: String,
    },
    /// `alg: none` (an unsigned token) is never accepted.
    #[error("alg \"none\" refused")]
    AlgNone,
    /// `alg` is not in the caller's allow-list.
    #[error("alg {0:?} not allowed")]
    AlgNotAllowed(String),
    /// The header has no `kid`.
    #[error("JWS header has no kid")]
    MissingKid,
    /// `kid` names no key of the trusted JWKS.
    #[error("kid {0:?} is not in the trusted JWKS")]
    UnknownKid(String),
    /// The key named by `kid` does not fit `alg`.
    #[error("key {kid:?} cannot verify alg {alg}")]
    KeyAlgMismatch {
        /// The key.
        kid: String,
        /// The header's algorithm.
        alg: String,
    },
    /// `typ` is missing or differs from the expected one.
    #[error("typ: expected {expected:?}, found {found:?}")]
    WrongTyp {
        /// Expected media type.
        expected: String,
        /// Found (None if absent).
        found: Option<String>,
    },
    /// The header has `crit` extensions, none of which we understand (RFC 7515 §4.1.11).
    #[error("unsupported crit header parameters")]
    UnsupportedCrit,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// A JWK is unusable.
    #[error("invalid JWK: {0}")]
    InvalidJwk(String),
    /// A private key is unusable.
    #[error("invalid private key: {0}")]
    InvalidPrivateKey(String),
}

/// A JWS algorithm this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Alg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PSS with SHA-256 and MGF1-SHA-256.
    PS256,
    /// ECDSA P-256 with SHA-256 (64-byte `r || s`).
    ES256,
}

impl Alg {
    /// The JOSE name.
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::RS256 => "RS256",
            Alg::PS256 => "PS256",
            Alg::ES256 => "ES256",
        }
    }
    /// All algorithms implemented.
    pub const ALL: [Alg; 3] = [Alg::RS256, Alg::PS256, Alg::ES256];
    fn parse(s: &str) -> Option<Alg> {
        Alg::ALL.into_iter().find(|a| a.as_str() == s)
    }
}

/// Public key material of a JWK.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    /// RSA modulus and exponent, big-endian without leading zeros.
    Rsa {
        /// Modulus.
        n: Vec<u8>,
        /// Public exponent.
        e: Vec<u8>,
    },
    /// EC P-256 point coordinates.
    P256 {
        /// x coordinate.
        x: [u8; 32],
        /// y coordinate.
        y: [u8; 32],
    },
}

/// A public JWK. Private parameters (`d`, `p`, ...) are refused when parsing: a published key set
/// that carries them is a leak, not a key set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jwk {
    /// Key id (required here: every key is chosen by `kid`).
    pub kid: String,
    /// The key.
    pub key: PublicKey,
    /// `alg`, if the key is bound to one.
    pub alg: Option<String>,
    /// `use` (`sig` or `enc`), if given.
    pub use_: Option<String>,
}

fn b64_field(o: &Map<String, Value>, name: &str) -> Result<Vec<u8>, JoseError> {
    let s = o
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| JoseError::InvalidJwk(format!("missing string member {name:?}")))?;
    B64.decode(s)
        .map_err(|_| JoseError::InvalidJwk(format!("{name:?} is not base64url")))
}

impl Jwk {
    /// Parses a public JWK from its JSON object.
    ///
    /// # Errors
    /// [`JoseError::InvalidJwk`] naming the member at fault.
    pub fn from_json(v: &Value) -> Result<Jwk, JoseError> {
        let o = v
            .as_object()
            .ok_or_else(|| JoseError::InvalidJwk("not an object".into()))?;
        for p in ["d", "p", "q", "dp", "dq", "qi", "oth", "k"] {
            if o.contains_key(p) {
                return Err(JoseError::InvalidJwk(format!(
                    "private member {p:?} in a public key"
                )));
            }
        }
        let kid = o
            .get("kid")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| JoseError::InvalidJwk("missing kid".into()))?
            .to_owned();
        let key = match o.get("kty").and_then(Value::as_str) {
            Some("RSA") => {
                let n = b64_field(o, "n")?;
                let e = b64_field(o, "e")?;
                if n.first() == Some(&0) || e.first() == Some(&0) || n.len() < 256 || e.is_empty() {
                    return Err(JoseError::InvalidJwk(
                        "RSA n must be >= 2048 bits, n and e without leading zeros".into(),
                    ));
                }
                PublicKey::Rsa { n, e }
            }
            Some("EC") => {
                if o.get("crv").and_then(Value::as_str) != Some("P-256") {
                    return Err(JoseError::InvalidJwk("only crv P-256 is supported".into()));
                }
                let x: [u8; 32] = b64_field(o, "x")?
                    .try_into()
                    .map_err(|_| JoseError::InvalidJwk("x is not 32 bytes".into()))?;
                let y: [u8; 32] = b64_field(o, "y")?
                    .try_into()
                    .map_err(|_| JoseError::InvalidJwk("y is not 32 bytes".into()))?;
                PublicKey::P256 { x, y }
            }
            other => return Err(JoseError::InvalidJwk(format!("unsupported kty {other:?}"))),
        };
        let s = |n: &str| o.get(n).and_then(Value::as_str).map(str::to_owned);
        Ok(Jwk {
            kid,
            key,
            alg: s("alg"),
            use_: s("use"),
        })
    }

    /// The JSON object of this public key.
    pub fn to_json(&self) -> Value {
        let mut o = Map::new();
        match &self.key {
            PublicKey::Rsa { n, e } => {
                o.insert("kty".into(), "RSA".into());
                o.insert("n".into(), B64.encode(n).into());
                o.insert("e".into(), B64.encode(e).into());
            }
            PublicKey::P256 { x, y } => {
                o.insert("kty".into(), "EC".into());
                o.insert("crv".into(), "P-256".into());
                o.insert("x".into(), B64.encode(x).into());
                o.insert("y".into(), B64.encode(y).into());
            }
        }
        o.insert("kid".into(), self.kid.clone().into());
        if let Some(a) = &self.alg {
            o.insert("alg".into(), a.clone().into());
        }
        if let Some(u) = &self.use_ {
            o.insert("use".into(), u.clone().into());
        }
        Value::Object(o)
    }

    /// RFC 7638 thumbprint (SHA-256, base64url): the required members in lexicographic order,
    /// no whitespace.
    pub fn thumbprint(&self) -> String {
        let canon = match &self.key {
            PublicKey::Rsa { n, e } => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                B64.encode(e),
                B64.encode(n)
            ),
            PublicKey::P256 { x, y } => format!(
                r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
                B64.encode(x),
                B64.encode(y)
            ),
        };
        B64.encode(ring::digest::digest(
            &ring::digest::SHA256,
            canon.as_bytes(),
        ))
    }

    fn verify(&self, alg: Alg, msg: &[u8], sig: &[u8]) -> Result<(), JoseError> {
        let mismatch = || JoseError::KeyAlgMismatch {
            kid: self.kid.clone(),
            alg: alg.as_str().into(),
        };
        if self.alg.as_deref().is_some_and(|a| a != alg.as_str()) {
            return Err(mismatch());
        }
        if self.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(mismatch());
        }
        let ok = match (&self.key, alg) {
            (PublicKey::Rsa { n, e }, Alg::RS256 | Alg::PS256) => {
                let params = if alg == Alg::RS256 {
                    &signature::RSA_PKCS1_2048_8192_SHA256
                } else {
                    &signature::RSA_PSS_2048_8192_SHA256
                };
                signature::RsaPublicKeyComponents { n, e }.verify(params, msg, sig)
            }
            (PublicKey::P256 { x, y }, Alg::ES256) => {
                let mut point = Vec::with_capacity(65);
                point.push(4);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                signature::UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point)
                    .verify(msg, sig)
            }
            _ => return Err(mismatch()),
        };
        ok.map_err(|_| JoseError::BadSignature)
    }
}

/// A JWK Set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

impl Jwks {
    /// Parses `{"keys": [...]}`; every key must parse and `kid`s must be unique.
    ///
    /// # Errors
    /// [`JoseError::InvalidJwk`].
    pub fn from_json(v: &Value) -> Result<Jwks, JoseError> {
        let arr = v
            .get("keys")
            .and_then(Value::as_array)
            .ok_or_else(|| JoseError::InvalidJwk("JWKS has no keys array".into()))?;
        let keys = arr
            .iter()
            .map(Jwk::from_json)
            .collect::<Result<Vec<_>, _>>()?;
        for (i, k) in keys.iter().enumerate() {
            if keys[..i].iter().any(|o| o.kid == k.kid) {
                return Err(JoseError::InvalidJwk(format!("duplicate kid {:?}", k.kid)));
            }
        }
        Ok(Jwks { keys })
    }
    /// `{"keys": [...]}`.
    pub fn to_json(&self) -> Value {
        serde_json::json!({ "keys": self.keys.iter().map(Jwk::to_json).collect::<Vec<_>>() })
    }
    /// The key with this `kid`.
    pub fn get(&self, kid: &str) -> Option<&Jwk> {
        self.keys.iter().find(|k| k.kid == kid)
    }
}

/// What a verifier requires of a JWS beyond its signature.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// Algorithms accepted.
    pub algs: &'a [Alg],
    /// Required `typ` (compared case-insensitively, `application/` prefix optional, RFC 7515
    /// §4.1.9), or None to not check it.
    pub typ: Option<&'a str>,
}

/// A verified JWS: header and payload bytes, read only after the signature checked.
#[derive(Debug, Clone)]
pub struct Verified {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The payload.
    pub payload: Vec<u8>,
    /// The `kid` of the key that verified it.
    pub kid: String,
}

fn typ_eq(found: &str, expected: &str) -> bool {
    let strip = |s: &str| {
        let l = s.to_ascii_lowercase();
        l.strip_prefix("application/")
            .map(str::to_owned)
            .unwrap_or(l)
    };
    strip(found) == strip(expected)
}

/// Splits and decodes a compact JWS without verifying it (to read a self-signed statement's keys).
///
/// # Errors
/// [`JoseError::Malformed`], [`JoseError::Base64`], [`JoseError::Json`].
pub fn decode_unverified(token: &str) -> Result<(Map<String, Value>, Vec<u8>), JoseError> {
    let (h, p, _, _) = split(token)?;
    Ok((h, p))
}

type Parts<'t> = (Map<String, Value>, Vec<u8>, Vec<u8>, &'t str);

fn split(token: &str) -> Result<Parts<'_>, JoseError> {
    if token.len() > MAX_JWS_LEN {
        return Err(JoseError::TooLarge(token.len()));
    }
    let mut it = token.split('.');
    let (Some(h), Some(p), Some(s), None) = (it.next(), it.next(), it.next(), it.next()) else {
        return Err(JoseError::Malformed("expected three parts"));
    };
    let hb = B64.decode(h).map_err(|_| JoseError::Base64("header"))?;
    let pb = B64.decode(p).map_err(|_| JoseError::Base64("payload"))?;
    let sb = B64.decode(s).map_err(|_| JoseError::Base64("signature"))?;
    let header: Map<String, Value> = serde_json::from_slice(&hb).map_err(|e| JoseError::Json {
        what: "JWS header",
        detail: e.to_string(),
    })?;
    Ok((header, pb, sb, &token[..h.len() + 1 + p.len()]))
}

/// Verifies a compact JWS against trusted keys. Checks, in order: shape and size, `alg` (never
/// `none`, must be allowed), no `crit`, `typ`, `kid` present and in `jwks`, key fits `alg`,
/// signature. Header members `jwk`, `jku`, `x5u`, `x5c` are never used to find keys.
///
/// # Errors
/// The [`JoseError`] naming the first check that failed.
pub fn verify(token: &str, jwks: &Jwks, opts: VerifyOptions<'_>) -> Result<Verified, JoseError> {
    let (header, payload, sig, signing_input) = split(token)?;
    let alg_s = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(JoseError::Malformed("header has no string alg"))?;
    if alg_s.eq_ignore_ascii_case("none") {
        return Err(JoseError::AlgNone);
    }
    let alg = Alg::parse(alg_s)
        .filter(|a| opts.algs.contains(a))
        .ok_or_else(|| JoseError::AlgNotAllowed(alg_s.to_owned()))?;
    if header.contains_key("crit") {
        return Err(JoseError::UnsupportedCrit);
    }
    if let Some(expected) = opts.typ {
        let found = header.get("typ").and_then(Value::as_str);
        if !found.is_some_and(|f| typ_eq(f, expected)) {
            return Err(JoseError::WrongTyp {
                expected: expected.to_owned(),
                found: found.map(str::to_owned),
            });
        }
    }
    let kid = header
        .get("kid")
        .and_then(Value::as_str)
        .ok_or(JoseError::MissingKid)?;
    let key = jwks
        .get(kid)
        .ok_or_else(|| JoseError::UnknownKid(kid.to_owned()))?;
    key.verify(alg, signing_input.as_bytes(), &sig)?;
    let kid = kid.to_owned();
    Ok(Verified {
        header,
        payload,
        kid,
    })
}

enum Pair {
    Rsa(signature::RsaKeyPair),
    Ec(signature::EcdsaKeyPair),
}

/// A private signing key with its `kid` (by default its RFC 7638 thumbprint) and algorithm.
pub struct SigningKey {
    kid: String,
    alg: Alg,
    pair: Pair,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl SigningKey {
    /// From a PKCS#8 DER private key (RSA for RS256/PS256, P-256 for ES256).
    ///
    /// # Errors
    /// [`JoseError::InvalidPrivateKey`].
    pub fn from_pkcs8_der(alg: Alg, der: &[u8]) -> Result<SigningKey, JoseError> {
        let bad = |e: ring::error::KeyRejected| JoseError::InvalidPrivateKey(e.to_string());
        let pair = match alg {
            Alg::RS256 | Alg::PS256 => {
                Pair::Rsa(signature::RsaKeyPair::from_pkcs8(der).map_err(bad)?)
            }
            Alg::ES256 => Pair::Ec(
                signature::EcdsaKeyPair::from_pkcs8(
                    &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    der,
                    &SystemRandom::new(),
                )
                .map_err(bad)?,
            ),
        };
        let mut k = SigningKey {
            kid: String::new(),
            alg,
            pair,
        };
        k.kid = k.public_jwk_with_kid(String::new()).thumbprint();
        Ok(k)
    }

    /// From a PEM `PRIVATE KEY` (PKCS#8) block.
    ///
    /// # Errors
    /// [`JoseError::InvalidPrivateKey`].
    pub fn from_pkcs8_pem(alg: Alg, pem: &str) -> Result<SigningKey, JoseError> {
        let body = pem
            .split("-----BEGIN PRIVATE KEY-----")
            .nth(1)
            .and_then(|r| r.split("-----END PRIVATE KEY-----").next())
            .ok_or_else(|| JoseError::InvalidPrivateKey("no PRIVATE KEY PEM block".into()))?;
        let b64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|_| JoseError::InvalidPrivateKey("PEM body is not base64".into()))?;
        SigningKey::from_pkcs8_der(alg, &der)
    }

    /// A fresh P-256 key for ES256.
    ///
    /// # Errors
    /// [`JoseError::InvalidPrivateKey`] if the system RNG fails.
    pub fn generate_es256() -> Result<SigningKey, JoseError> {
        let doc = signature::EcdsaKeyPair::generate_pkcs8(
            &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &SystemRandom::new(),
        )
        .map_err(|_| JoseError::InvalidPrivateKey("RNG failure".into()))?;
        SigningKey::from_pkcs8_der(Alg::ES256, doc.as_ref())
    }

    /// Replaces the `kid`.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> SigningKey {
        self.kid = kid.into();
        self
    }
    /// The `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }
    /// The algorithm.
    pub fn alg(&self) -> Alg {
        self.alg
    }

    fn public_jwk_with_kid(&self, kid: String) -> Jwk {
        let key = match &self.pair {
            Pair::Rsa(p) => {
                let c = signature::RsaPublicKeyComponents::<Vec<u8>>::from(p.public());
                PublicKey::Rsa { n: c.n, e: c.e }
            }
            Pair::Ec(p) => {
                let pt = p.public_key().as_ref();
                let mut x = [0u8; 32];
                let mut y = [0u8; 32];
                x.copy_from_slice(&pt[1..33]);
                y.copy_from_slice(&pt[33..65]);
                PublicKey::P256 { x, y }
            }
        };
        Jwk {
            kid,
            key,
            alg: Some(self.alg.as_str().into()),
            use_: Some("sig".into()),
        }
    }

    /// The public JWK (with `kid`, `alg`, `use: sig`).
    pub fn public_jwk(&self) -> Jwk {
        self.public_jwk_with_kid(self.kid.clone())
    }

    /// Signs `payload` as a compact JWS with header `{alg, kid, typ?}`.
    ///
    /// # Errors
    /// [`JoseError::InvalidPrivateKey`] if the signing primitive fails.
    pub fn sign(&self, typ: Option<&str>, payload: &[u8]) -> Result<String, JoseError> {
        let mut h = Map::new();
        h.insert("alg".into(), self.alg.as_str().into());
        h.insert("kid".into(), self.kid.clone().into());
        if let Some(t) = typ {
            h.insert("typ".into(), t.into());
        }
        let hj = Value::Object(h).to_string();
        let input = format!("{}.{}", B64.encode(hj), B64.encode(payload));
        let rng = SystemRandom::new();
        let fail = |_| JoseError::InvalidPrivateKey("signing failed".into());
        let sig = match &self.pair {
            Pair::Rsa(p) => {
                let mut s = vec![0u8; p.public().modulus_len()];
                let pad: &dyn signature::RsaEncoding = if self.alg == Alg::RS256 {
                    &signature::RSA_PKCS1_SHA256
                } else {
                    &signature::RSA_PSS_SHA256
                };
                p.sign(pad, &rng, input.as_bytes(), &mut s).map_err(fail)?;
                s
            }
            Pair::Ec(p) => p
                .sign(&rng, input.as_bytes())
                .map_err(fail)?
                .as_ref()
                .to_vec(),
        };
        Ok(format!("{input}.{}", B64.encode(sig)))
    }
}
