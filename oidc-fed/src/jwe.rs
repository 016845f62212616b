//! JWE compact serialization (RFC 7516), decryption only: what an RP needs to read the
//! encrypted UserInfo of the Italian profile. Key management `RSA-OAEP`, `RSA-OAEP-256`
//! (aws-lc-rs: constant-time and blinded, where the `rsa` crate's private-key operation is
//! variable-time, RUSTSEC-2023-0071, and four times slower), `ECDH-ES`, `ECDH-ES+A128KW`, `ECDH-ES+A256KW` (P-256 with the `p256` crate,
//! Concat KDF on ring's SHA-256, AES key wrap on the `aes` block cipher); content encryption
//! `A128GCM`, `A256GCM` (ring) and `A128CBC-HS256`, `A256CBC-HS512` (RFC 7518 §5.2: AES-CBC on the
//! `aes` block cipher, HMAC and SHA-2 from ring).

use crate::jose::{Jwk, PublicKey};
use aes::cipher::{BlockCipherDecrypt as _, KeyInit as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ring::rand::SecureRandom as _;
use rsa::traits::PublicKeyParts as _;
use serde_json::{Map, Value};

/// Largest compact JWE accepted (bytes).
pub const MAX_JWE_LEN: usize = 256 * 1024;

/// What is wrong with a JWE.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JweError {
    /// Not five base64url parts.
    #[error("malformed compact JWE: {0}")]
    Malformed(&'static str),
    /// Longer than [`MAX_JWE_LEN`].
    #[error("JWE too large: {0} bytes")]
    TooLarge(usize),
    /// The protected header is not a JSON object.
    #[error("invalid JWE header: {0}")]
    Header(String),
    /// `alg` is not a key management algorithm implemented (`dir`, `none`, ... refused).
    #[error("JWE alg {0:?} not supported")]
    UnsupportedAlg(String),
    /// `enc` is not a content encryption algorithm implemented.
    #[error("JWE enc {0:?} not supported")]
    UnsupportedEnc(String),
    /// `zip` or `crit` present.
    #[error("JWE header parameter {0:?} not supported")]
    UnsupportedHeader(&'static str),
    /// No key of ours fits the header (`kid` unknown, or key type unfit for `alg`).
    #[error("no decryption key for kid {0:?}")]
    NoKey(Option<String>),
    /// The ephemeral public key `epk` is missing or not a P-256 point.
    #[error("invalid epk")]
    BadEpk,
    /// Wrong IV, encrypted key or tag length.
    #[error("invalid {0} length")]
    Length(&'static str),
    /// Decryption failed: wrong key, tampered header, IV, ciphertext, tag or encrypted key.
    #[error("JWE decryption failed")]
    Decrypt,
    /// A private key is unusable.
    #[error("invalid private key: {0}")]
    InvalidKey(String),
}

enum Secret {
    Rsa(Box<RsaSecret>),
    P256(p256::SecretKey),
}

/// An RSA private key: the public parts for the JWK, the key for OAEP decryption.
struct RsaSecret {
    n: Vec<u8>,
    e: Vec<u8>,
    oaep: aws_lc_rs::rsa::OaepPrivateDecryptingKey,
}

impl RsaSecret {
    fn from_key(k: &rsa::RsaPrivateKey) -> Result<RsaSecret, JweError> {
        use rsa::pkcs8::EncodePrivateKey as _;
        let bad = |what: &str| JweError::InvalidKey(format!("RSA key: {what}"));
        let der = k.to_pkcs8_der().map_err(|_| bad("no PKCS#8 encoding"))?;
        let key = aws_lc_rs::rsa::PrivateDecryptingKey::from_pkcs8(der.as_bytes())
            .map_err(|e| bad(&e.to_string()))?;
        Ok(RsaSecret {
            n: k.n().to_bytes_be(),
            e: k.e().to_bytes_be(),
            oaep: aws_lc_rs::rsa::OaepPrivateDecryptingKey::new(key)
                .map_err(|_| bad("unfit for OAEP"))?,
        })
    }
}

/// A private encryption key of the RP (RSA for `RSA-OAEP*`, P-256 for `ECDH-ES*`), with its
/// `kid` (by default its RFC 7638 thumbprint). Publish [`DecryptionKey::public_jwk`] in the
/// RP's `jwks` with `use: enc`.
pub struct DecryptionKey {
    kid: String,
    secret: Secret,
}

impl std::fmt::Debug for DecryptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecryptionKey")
            .field("kid", &self.kid)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl DecryptionKey {
    /// From a PEM `PRIVATE KEY` (PKCS#8), RSA (at least 2048 bits) or EC P-256.
    ///
    /// # Errors
    /// [`JweError::InvalidKey`].
    pub fn from_pkcs8_pem(pem: &str) -> Result<DecryptionKey, JweError> {
        use rsa::pkcs8::DecodePrivateKey as _;
        let secret = if let Ok(k) = rsa::RsaPrivateKey::from_pkcs8_pem(pem) {
            if k.size() < 256 {
                return Err(JweError::InvalidKey("RSA key under 2048 bits".into()));
            }
            Secret::Rsa(Box::new(RsaSecret::from_key(&k)?))
        } else {
            Secret::P256(
                p256::SecretKey::from_pkcs8_pem(pem)
                    .map_err(|_| JweError::InvalidKey("neither RSA nor P-256 PKCS#8".into()))?,
            )
        };
        let mut k = DecryptionKey {
            kid: String::new(),
            secret,
        };
        k.kid = k.public_jwk().thumbprint();
        Ok(k)
    }

    /// A fresh P-256 key (for `ECDH-ES*`), e.g. for a development RP or a test.
    pub fn generate_p256() -> DecryptionKey {
        let mut k = DecryptionKey {
            kid: String::new(),
            secret: Secret::P256(p256::SecretKey::random(&mut rsa::rand_core::OsRng)),
        };
        k.kid = k.public_jwk().thumbprint();
        k
    }

    /// Replaces the `kid`.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> DecryptionKey {
        self.kid = kid.into();
        self
    }

    /// The `kid`.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK (`use: enc`, no `alg`).
    pub fn public_jwk(&self) -> Jwk {
        let key = match &self.secret {
            Secret::Rsa(k) => PublicKey::Rsa {
                n: k.n.clone(),
                e: k.e.clone(),
            },
            Secret::P256(k) => {
                use p256::elliptic_curve::sec1::ToEncodedPoint as _;
                let pt = k.public_key().to_encoded_point(false);
                let mut x = [0u8; 32];
                let mut y = [0u8; 32];
                if let (Some(px), Some(py)) = (pt.x(), pt.y()) {
                    x.copy_from_slice(px);
                    y.copy_from_slice(py);
                }
                PublicKey::P256 { x, y }
            }
        };
        Jwk {
            kid: self.kid.clone(),
            key,
            alg: None,
            use_: Some("enc".into()),
        }
    }
}

/// A decrypted JWE.
#[derive(Debug, Clone)]
pub struct Decrypted {
    /// The protected header.
    pub header: Map<String, Value>,
    /// The plaintext.
    pub plaintext: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Enc {
    A128CbcHs256,
    A256CbcHs512,
    A128Gcm,
    A256Gcm,
}

impl Enc {
    fn parse(s: &str) -> Option<Enc> {
        Some(match s {
            "A128CBC-HS256" => Enc::A128CbcHs256,
            "A256CBC-HS512" => Enc::A256CbcHs512,
            "A128GCM" => Enc::A128Gcm,
            "A256GCM" => Enc::A256Gcm,
            _ => return None,
        })
    }
    fn key_len(self) -> usize {
        match self {
            Enc::A128Gcm => 16,
            Enc::A128CbcHs256 | Enc::A256Gcm => 32,
            Enc::A256CbcHs512 => 64,
        }
    }
}

/// Key management algorithms implemented.
pub const JWE_ALGS: [&str; 5] = [
    "RSA-OAEP",
    "RSA-OAEP-256",
    "ECDH-ES",
    "ECDH-ES+A128KW",
    "ECDH-ES+A256KW",
];
/// Content encryption algorithms implemented.
pub const JWE_ENCS: [&str; 4] = ["A128CBC-HS256", "A256CBC-HS512", "A128GCM", "A256GCM"];

/// Decrypts a compact JWE with one of `keys` (chosen by the header's `kid`; without `kid`, the
/// only key fitting `alg`). RSA-OAEP failures go on with a random CEK (RFC 7516 §11.5), so
/// every wrong key or tampered part ends in [`JweError::Decrypt`].
///
/// # Errors
/// The [`JweError`] naming what is wrong.
pub fn decrypt(token: &str, keys: &[DecryptionKey]) -> Result<Decrypted, JweError> {
    if token.len() > MAX_JWE_LEN {
        return Err(JweError::TooLarge(token.len()));
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [h, ek, iv, ct, tag] = parts[..] else {
        return Err(JweError::Malformed("expected five parts"));
    };
    let d = |s: &str, what: &'static str| B64.decode(s).map_err(|_| JweError::Malformed(what));
    let hb = d(h, "header base64")?;
    let (ek, iv, ct, tag) = (
        d(ek, "encrypted key base64")?,
        d(iv, "iv base64")?,
        d(ct, "ciphertext base64")?,
        d(tag, "tag base64")?,
    );
    let header: Map<String, Value> =
        serde_json::from_slice(&hb).map_err(|e| JweError::Header(e.to_string()))?;
    for p in ["zip", "crit"] {
        if header.contains_key(p) {
            return Err(JweError::UnsupportedHeader(p));
        }
    }
    let hs = |n: &str| header.get(n).and_then(Value::as_str);
    let alg = hs("alg").ok_or_else(|| JweError::Header("no alg".into()))?;
    if !JWE_ALGS.contains(&alg) {
        return Err(JweError::UnsupportedAlg(alg.into()));
    }
    let enc_s = hs("enc").ok_or_else(|| JweError::Header("no enc".into()))?;
    let enc = Enc::parse(enc_s).ok_or_else(|| JweError::UnsupportedEnc(enc_s.into()))?;
    let rsa_alg = alg.starts_with("RSA");
    let fits = |k: &&DecryptionKey| matches!(k.secret, Secret::Rsa(_)) == rsa_alg;
    let kid = hs("kid");
    let key = match kid {
        Some(kid) => keys.iter().filter(fits).find(|k| k.kid == kid),
        None => {
            let mut it = keys.iter().filter(fits);
            match (it.next(), it.next()) {
                (Some(k), None) => Some(k),
                _ => None,
            }
        }
    }
    .ok_or_else(|| JweError::NoKey(kid.map(str::to_owned)))?;

    let cek = match (&key.secret, alg) {
        (Secret::Rsa(k), "RSA-OAEP" | "RSA-OAEP-256") => {
            let pad = if alg == "RSA-OAEP" {
                &aws_lc_rs::rsa::OAEP_SHA1_MGF1SHA1
            } else {
                &aws_lc_rs::rsa::OAEP_SHA256_MGF1SHA256
            };
            let mut out = vec![0u8; k.oaep.min_output_size()];
            // A wrong padding or CEK length goes on with a random CEK, so that the answer (a
            // failed tag check) and its timing do not tell which (RFC 7516 §11.5).
            match k.oaep.decrypt(pad, &ek, &mut out, None) {
                Ok(c) if c.len() == enc.key_len() => c.to_vec(),
                _ => random_key(enc.key_len())?,
            }
        }
        (Secret::P256(k), _) => {
            let z = ecdh(k, header.get("epk"))?;
            let apu = opt_b64(&header, "apu")?;
            let apv = opt_b64(&header, "apv")?;
            if alg == "ECDH-ES" {
                if !ek.is_empty() {
                    return Err(JweError::Length("encrypted key"));
                }
                concat_kdf(&z, enc_s, &apu, &apv, enc.key_len())
            } else {
                let kek_len = if alg == "ECDH-ES+A128KW" { 16 } else { 32 };
                let kek = concat_kdf(&z, alg, &apu, &apv, kek_len);
                let cek = aes_key_unwrap(&kek, &ek)?;
                if cek.len() != enc.key_len() {
                    return Err(JweError::Decrypt);
                }
                cek
            }
        }
        _ => return Err(JweError::NoKey(kid.map(str::to_owned))),
    };
    let plaintext = match enc {
        Enc::A128Gcm | Enc::A256Gcm => gcm_open(&cek, &iv, h.as_bytes(), &ct, &tag)?,
        Enc::A128CbcHs256 | Enc::A256CbcHs512 => cbc_hs_open(&cek, &iv, h.as_bytes(), &ct, &tag)?,
    };
    Ok(Decrypted { header, plaintext })
}

fn random_key(n: usize) -> Result<Vec<u8>, JweError> {
    let mut k = vec![0u8; n];
    ring::rand::SystemRandom::new()
        .fill(&mut k)
        .map_err(|_| JweError::Decrypt)?;
    Ok(k)
}

fn opt_b64(h: &Map<String, Value>, n: &'static str) -> Result<Vec<u8>, JweError> {
    match h.get(n) {
        None => Ok(Vec::new()),
        Some(Value::String(s)) => B64.decode(s).map_err(|_| JweError::Malformed(n)),
        Some(_) => Err(JweError::Header(format!("{n} is not a string"))),
    }
}

fn ecdh(k: &p256::SecretKey, epk: Option<&Value>) -> Result<Vec<u8>, JweError> {
    let jwk =
        Jwk::from_json(&with_kid(epk.ok_or(JweError::BadEpk)?)?).map_err(|_| JweError::BadEpk)?;
    let PublicKey::P256 { x, y } = jwk.key else {
        return Err(JweError::BadEpk);
    };
    let mut pt = Vec::with_capacity(65);
    pt.push(4);
    pt.extend_from_slice(&x);
    pt.extend_from_slice(&y);
    // from_sec1_bytes refuses points not on the curve (invalid-curve attacks)
    let pk = p256::PublicKey::from_sec1_bytes(&pt).map_err(|_| JweError::BadEpk)?;
    let shared = p256::ecdh::diffie_hellman(k.to_nonzero_scalar(), pk.as_affine());
    Ok(shared.raw_secret_bytes().to_vec())
}

/// `epk` usually has no `kid`; [`Jwk::from_json`] wants one.
fn with_kid(v: &Value) -> Result<Value, JweError> {
    let mut o = v.as_object().cloned().ok_or(JweError::BadEpk)?;
    o.entry("kid").or_insert_with(|| "epk".into());
    Ok(Value::Object(o))
}

/// Concat KDF (NIST SP 800-56A §5.8.1) as RFC 7518 §4.6.2 uses it, on SHA-256.
fn concat_kdf(z: &[u8], alg_id: &str, apu: &[u8], apv: &[u8], len: usize) -> Vec<u8> {
    let mut other = Vec::new();
    for f in [alg_id.as_bytes(), apu, apv] {
        other.extend_from_slice(&u32::try_from(f.len()).unwrap_or(u32::MAX).to_be_bytes());
        other.extend_from_slice(f);
    }
    other.extend_from_slice(&u32::try_from(len * 8).unwrap_or(u32::MAX).to_be_bytes());
    let mut out = Vec::with_capacity(len + 32);
    let mut counter = 1u32;
    while out.len() < len {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(&counter.to_be_bytes());
        ctx.update(z);
        ctx.update(&other);
        out.extend_from_slice(ctx.finish().as_ref());
        counter += 1;
    }
    out.truncate(len);
    out
}

enum Aes {
    A128(Box<aes::Aes128>),
    A256(Box<aes::Aes256>),
}

impl Aes {
    fn new(key: &[u8]) -> Result<Aes, JweError> {
        match key.len() {
            16 => aes::Aes128::new_from_slice(key).map(|c| Aes::A128(Box::new(c))),
            32 => aes::Aes256::new_from_slice(key).map(|c| Aes::A256(Box::new(c))),
            _ => return Err(JweError::Length("AES key")),
        }
        .map_err(|_| JweError::Length("AES key"))
    }
    fn decrypt(&self, b: &mut [u8; 16]) {
        let mut blk = aes::Block::from(*b);
        match self {
            Aes::A128(c) => c.decrypt_block(&mut blk),
            Aes::A256(c) => c.decrypt_block(&mut blk),
        }
        b.copy_from_slice(&blk);
    }
    #[cfg(test)]
    fn encrypt(&self, b: &mut [u8; 16]) {
        use aes::cipher::BlockCipherEncrypt as _;
        let mut blk = aes::Block::from(*b);
        match self {
            Aes::A128(c) => c.encrypt_block(&mut blk),
            Aes::A256(c) => c.encrypt_block(&mut blk),
        }
        b.copy_from_slice(&blk);
    }
}

/// AES Key Wrap unwrap (RFC 3394 §2.2.2), default IV `A6A6A6A6A6A6A6A6`.
fn aes_key_unwrap(kek: &[u8], wrapped: &[u8]) -> Result<Vec<u8>, JweError> {
    if !wrapped.len().is_multiple_of(8) || wrapped.len() < 24 {
        return Err(JweError::Length("encrypted key"));
    }
    let aes = Aes::new(kek)?;
    let n = wrapped.len() / 8 - 1;
    let mut a = [0u8; 8];
    a.copy_from_slice(&wrapped[..8]);
    let mut r: Vec<[u8; 8]> = wrapped[8..]
        .chunks_exact(8)
        .map(|c| {
            let mut x = [0u8; 8];
            x.copy_from_slice(c);
            x
        })
        .collect();
    for j in (0..6u64).rev() {
        for i in (1..=n).rev() {
            let t = (n as u64) * j + i as u64;
            let mut b = [0u8; 16];
            let at = u64::from_be_bytes(a) ^ t;
            b[..8].copy_from_slice(&at.to_be_bytes());
            b[8..].copy_from_slice(&r[i - 1]);
            aes.decrypt(&mut b);
            a.copy_from_slice(&b[..8]);
            r[i - 1].copy_from_slice(&b[8..]);
        }
    }
    if !ring_eq(&a, &[0xA6; 8]) {
        return Err(JweError::Decrypt);
    }
    Ok(r.concat())
}

fn ring_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn gcm_open(cek: &[u8], iv: &[u8], aad: &[u8], ct: &[u8], tag: &[u8]) -> Result<Vec<u8>, JweError> {
    use ring::aead;
    let alg = if cek.len() == 16 {
        &aead::AES_128_GCM
    } else {
        &aead::AES_256_GCM
    };
    let nonce = aead::Nonce::try_assume_unique_for_key(iv).map_err(|_| JweError::Length("iv"))?;
    if tag.len() != 16 {
        return Err(JweError::Length("tag"));
    }
    let key = aead::LessSafeKey::new(
        aead::UnboundKey::new(alg, cek).map_err(|_| JweError::Length("CEK"))?,
    );
    let mut buf = Vec::with_capacity(ct.len() + 16);
    buf.extend_from_slice(ct);
    buf.extend_from_slice(tag);
    let pt = key
        .open_in_place(nonce, aead::Aad::from(aad), &mut buf)
        .map_err(|_| JweError::Decrypt)?;
    Ok(pt.to_vec())
}

/// AES_CBC_HMAC_SHA2 (RFC 7518 §5.2.2.2): the tag is checked before any decryption.
fn cbc_hs_open(
    cek: &[u8],
    iv: &[u8],
    aad: &[u8],
    ct: &[u8],
    tag: &[u8],
) -> Result<Vec<u8>, JweError> {
    let half = cek.len() / 2;
    let (mac_key, enc_key) = cek.split_at(half);
    let hmac_alg = if half == 16 {
        ring::hmac::HMAC_SHA256
    } else {
        ring::hmac::HMAC_SHA512
    };
    if iv.len() != 16 {
        return Err(JweError::Length("iv"));
    }
    if tag.len() != half {
        return Err(JweError::Length("tag"));
    }
    if ct.is_empty() || !ct.len().is_multiple_of(16) {
        return Err(JweError::Decrypt);
    }
    let mut ctx = ring::hmac::Context::with_key(&ring::hmac::Key::new(hmac_alg, mac_key));
    ctx.update(aad);
    ctx.update(iv);
    ctx.update(ct);
    ctx.update(&(aad.len() as u64 * 8).to_be_bytes());
    let m = ctx.sign();
    if !ring_eq(&m.as_ref()[..half], tag) {
        return Err(JweError::Decrypt);
    }
    let aes = Aes::new(enc_key)?;
    let mut prev = [0u8; 16];
    prev.copy_from_slice(iv);
    let mut out = Vec::with_capacity(ct.len());
    for c in ct.chunks_exact(16) {
        let mut b = [0u8; 16];
        b.copy_from_slice(c);
        aes.decrypt(&mut b);
        for (x, p) in b.iter_mut().zip(prev) {
            *x ^= p;
        }
        out.extend_from_slice(&b);
        prev.copy_from_slice(c);
    }
    let pad = usize::from(*out.last().ok_or(JweError::Decrypt)?);
    if pad == 0
        || pad > 16
        || !out[out.len() - pad..]
            .iter()
            .all(|b| usize::from(*b) == pad)
    {
        return Err(JweError::Decrypt);
    }
    out.truncate(out.len() - pad);
    Ok(out)
}

/// Encrypts `plaintext` to `recipient` (P-256: `ECDH-ES`; RSA: `RSA-OAEP-256`) with `A256GCM`,
/// `cty` `JWT`: what the test OP's UserInfo needs.
#[cfg(feature = "simulator")]
pub(crate) fn encrypt_for(plaintext: &[u8], recipient: &Jwk) -> Result<String, JweError> {
    use ring::aead;
    let rng = ring::rand::SystemRandom::new();
    let mut header = Map::new();
    header.insert("enc".into(), "A256GCM".into());
    header.insert("kid".into(), recipient.kid.clone().into());
    header.insert("cty".into(), "JWT".into());
    let (cek, ek) = match &recipient.key {
        PublicKey::P256 { x, y } => {
            let mut pt = vec![4u8];
            pt.extend_from_slice(x);
            pt.extend_from_slice(y);
            let pk = p256::PublicKey::from_sec1_bytes(&pt).map_err(|_| JweError::BadEpk)?;
            let eph = p256::ecdh::EphemeralSecret::random(&mut rsa::rand_core::OsRng);
            let z = eph.diffie_hellman(&pk);
            use p256::elliptic_curve::sec1::ToEncodedPoint as _;
            let epk = eph.public_key().to_encoded_point(false);
            let (ex, ey) = (
                epk.x().ok_or(JweError::BadEpk)?,
                epk.y().ok_or(JweError::BadEpk)?,
            );
            header.insert("alg".into(), "ECDH-ES".into());
            header.insert(
                "epk".into(),
                serde_json::json!({"kty": "EC", "crv": "P-256", "x": B64.encode(ex), "y": B64.encode(ey)}),
            );
            (
                concat_kdf(z.raw_secret_bytes(), "A256GCM", &[], &[], 32),
                Vec::new(),
            )
        }
        PublicKey::Rsa { n, e } => {
            let pk = rsa::RsaPublicKey::new(
                rsa::BigUint::from_bytes_be(n),
                rsa::BigUint::from_bytes_be(e),
            )
            .map_err(|e| JweError::InvalidKey(e.to_string()))?;
            let cek = random_key(32)?;
            let ek = pk
                .encrypt(
                    &mut rsa::rand_core::OsRng,
                    rsa::Oaep::new::<rsa::sha2::Sha256>(),
                    &cek,
                )
                .map_err(|e| JweError::InvalidKey(e.to_string()))?;
            header.insert("alg".into(), "RSA-OAEP-256".into());
            (cek, ek)
        }
    };
    let h = B64.encode(Value::Object(header).to_string());
    let mut iv = [0u8; 12];
    rng.fill(&mut iv).map_err(|_| JweError::Decrypt)?;
    let key = aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_256_GCM, &cek).map_err(|_| JweError::Length("CEK"))?,
    );
    let mut buf = plaintext.to_vec();
    let tag = key
        .seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(iv),
            aead::Aad::from(h.as_bytes()),
            &mut buf,
        )
        .map_err(|_| JweError::Decrypt)?;
    Ok(format!(
        "{h}.{}.{}.{}.{}",
        B64.encode(ek),
        B64.encode(iv),
        B64.encode(buf),
        B64.encode(tag.as_ref())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3394_vector_unwraps() {
        // RFC 3394 §4.1: 128-bit key data with a 128-bit KEK
        let kek: Vec<u8> = (0u8..16).collect();
        let wrapped = [
            0x1F, 0xA6, 0x8B, 0x0A, 0x81, 0x12, 0xB4, 0x47, 0xAE, 0xF3, 0x4B, 0xD8, 0xFB, 0x5A,
            0x7B, 0x82, 0x9D, 0x3E, 0x86, 0x23, 0x71, 0xD2, 0xCF, 0xE5,
        ];
        let k = aes_key_unwrap(&kek, &wrapped).unwrap();
        let want: Vec<u8> = (0u8..16).map(|i| i * 0x11).collect();
        assert_eq!(k, want);
        let mut bad = wrapped;
        bad[5] ^= 1;
        assert_eq!(aes_key_unwrap(&kek, &bad), Err(JweError::Decrypt));
        // the block cipher round-trips
        let a = Aes::new(&kek).unwrap();
        let mut b = [7u8; 16];
        a.encrypt(&mut b);
        assert_ne!(b, [7u8; 16]);
        a.decrypt(&mut b);
        assert_eq!(b, [7u8; 16]);
    }
}
