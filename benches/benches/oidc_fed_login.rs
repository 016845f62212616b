//! What the Relying Party checks per SPID / CIE id login once the code is exchanged: the ID
//! Token (RS256, as the SPID and CIE OPs sign) through `validate_id_token` — signature with the
//! OP's `jwks`, `iss`, `aud`, `exp`, `iat` window, `nonce`, `acr` among the requested, `at_hash`
//! of the access token — and the UserInfo through `read_userinfo` — a JWE to the RP's `use: enc`
//! key (RSA-OAEP-256 or ECDH-ES, A256GCM or A128CBC-HS256, algorithms the Italian profile lists)
//! wrapping a JWT signed by the OP, checked for `iss`, `aud`, `sub`.
//!
//! The reference in the same run: the same tokens validated in a persistent Python worker the
//! way spid-cie-oidc-django's RP does it, PyJWT for the ID Token (`jwt.decode` with audience,
//! issuer and required claims, then nonce, `acr`, `iat` window and `at_hash` by hand) and
//! jwcrypto for the UserInfo (JWE decryption with the RP's key chosen by `kid`, inner JWS
//! verification with the OP's key, `iss`/`aud`/`sub`); one pipe round trip per login is in its
//! time. The JWEs are made by jwcrypto at bench time (an encryptor independent of ours), so the
//! UserInfo half needs that Python (PA_PY or the project venv with jwcrypto and pyjwt);
//! without it only our ID Token validation is measured.

use std::hint::black_box;
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use benches::pyworker::{Worker, python_with};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use oidc_fed::{
    Alg, DecryptionKey, IdTokenCheck, Jwks, Provider, SigningKey, at_hash, read_userinfo,
    validate_id_token,
};
use serde_json::{Map, Value, json};

const OP: &str = "https://op.example.it";
const RP: &str = "https://rp.example.it";
const NONCE: &str = "wb0XNYfL1yAmHNgwZKhbbQnG5y9dO7ZxN3oCc1yJxoo";
const ACCESS_TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.an-opaque-enough-access-token.c2ln";
const SUB: &str = "e6b06083c2cf4ea6b3c1f8d54bb4d4b2";

fn openssl_key(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .arg("genpkey")
        .args(args)
        .output()
        .expect("openssl genpkey");
    assert!(out.status.success(), "openssl genpkey failed");
    String::from_utf8(out.stdout).expect("PEM")
}

fn rsa_pem() -> String {
    openssl_key(&["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"])
}

fn p256_pem() -> String {
    openssl_key(&["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"])
}

const WORKER: &str = r#"
import sys, json, time, hmac, hashlib, base64
import jwt
from jwcrypto import jwk, jwe, jws

req = json.loads(sys.stdin.readline())
op_keys = jwk.JWKSet.from_json(json.dumps(req["op_jwks"]))
# PyJWT gets the same OP key set (kid -> key), as an RP holding the OP's jwks
pyjwt_keys = {k["kid"]: jwt.PyJWK(k).key for k in req["op_jwks"]["keys"]}
rp_keys = jwk.JWKSet()
for k in req["rp_keys"]:
    d = jwk.JWK.from_pem(k["pem"].encode()).export(private_key=True, as_dict=True)
    rp_keys.add(jwk.JWK(**dict(d, kid=k["kid"])))
client_id, issuer, nonce = req["client_id"], req["issuer"], req["nonce"]
acr_values, access_token = req["acr_values"], req["access_token"]
jwe_algs = ["RSA-OAEP-256", "RSA-OAEP", "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A256KW",
            "A256GCM", "A128CBC-HS256", "A256CBC-HS512"]

# the UserInfo JWEs, made by jwcrypto to the RP's public keys
userinfos = []
for v in req["variants"]:
    pub = jwk.JWK(**v["rp_public_jwk"])
    t = jwe.JWE(req["userinfo_jws"].encode(),
                protected=json.dumps({"alg": v["alg"], "enc": v["enc"], "kid": pub["kid"], "cty": "JWT"}))
    t.add_recipient(pub)
    userinfos.append(t.serialize(compact=True))
print(json.dumps(userinfos), flush=True)

def at_hash(at):
    d = hashlib.sha256(at.encode("ascii")).digest()
    return base64.urlsafe_b64encode(d[:16]).rstrip(b"=").decode()

def login(id_token, userinfo):
    header = jwt.get_unverified_header(id_token)
    claims = jwt.decode(id_token, pyjwt_keys[header["kid"]], algorithms=["RS256", "PS256", "ES256"],
                        audience=client_id, issuer=issuer,
                        options={"require": ["iss", "aud", "exp", "iat", "sub", "nonce", "acr", "at_hash"]})
    aud = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if (len(aud) > 1 or "azp" in claims) and claims.get("azp") != client_id:
        raise ValueError("azp")
    now = int(time.time())
    if not (now - 600 <= claims["iat"] <= now + 60):
        raise ValueError("iat")
    if not hmac.compare_digest(claims["nonce"], nonce):
        raise ValueError("nonce")
    if claims["acr"] not in acr_values:
        raise ValueError("acr")
    if not hmac.compare_digest(claims["at_hash"], at_hash(access_token)):
        raise ValueError("at_hash")
    t = jwe.JWE()
    t.allowed_algs = jwe_algs
    t.deserialize(userinfo, key=rp_keys)
    s = jws.JWS()
    s.allowed_algs = ["RS256", "PS256", "ES256"]
    s.deserialize(t.payload.decode())
    s.verify(op_keys.get_key(s.jose_header["kid"]))
    info = json.loads(s.payload)
    info_aud = info["aud"] if isinstance(info["aud"], list) else [info["aud"]]
    if info["iss"] != issuer or client_id not in info_aud or info["sub"] != claims["sub"]:
        raise ValueError("userinfo claims")
    return info

for line in sys.stdin:
    i = int(line)
    login(req["id_token"], userinfos[i])
    print("ok", flush=True)
"#;

struct Variant {
    name: &'static str,
    alg: &'static str,
    enc: &'static str,
    pem: String,
}

fn bench(c: &mut Criterion) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let op_key = SigningKey::from_pkcs8_pem(Alg::RS256, &rsa_pem()).expect("OP key");
    let op_jwks = Jwks {
        keys: vec![op_key.public_jwk()],
    };
    let metadata: Map<String, Value> = json!({
        "issuer": OP,
        "authorization_endpoint": format!("{OP}/authorization"),
        "token_endpoint": format!("{OP}/token"),
        "userinfo_endpoint": format!("{OP}/userinfo"),
        "jwks": op_jwks.to_json(),
    })
    .as_object()
    .expect("object")
    .clone();
    let provider = Provider::from_metadata(OP, &metadata).expect("provider");
    let acr_values = vec![
        "https://www.spid.gov.it/SpidL2".to_owned(),
        "https://www.spid.gov.it/SpidL3".to_owned(),
    ];
    let id_claims = json!({
        "iss": OP, "sub": SUB, "aud": [RP], "azp": RP, "iat": now - 5, "exp": now + 3600,
        "nonce": NONCE, "acr": "https://www.spid.gov.it/SpidL2", "at_hash": at_hash(ACCESS_TOKEN),
        "jti": "7a2c2b1e-5f7d-4c35-9d43-0c8f0c9d3a51"
    });
    let id_token = op_key
        .sign(Some("JWT"), id_claims.to_string().as_bytes())
        .expect("sign");
    let userinfo_jws = op_key
        .sign(
            Some("JWT"),
            json!({
                "iss": OP, "aud": RP, "sub": SUB, "iat": now - 4, "exp": now + 3600,
                "given_name": "Mario", "family_name": "Rossi",
                "email": "mario.rossi@example.it",
                "https://attributes.eid.gov.it/fiscal_number": "TINIT-RSSMRA80A01H501U"
            })
            .to_string()
            .as_bytes(),
        )
        .expect("sign");
    let check = IdTokenCheck {
        client_id: RP,
        nonce: NONCE,
        acr_values: &acr_values,
        access_token: Some(ACCESS_TOKEN),
    };
    // the token must validate before it is measured
    let id = validate_id_token(&id_token, &provider, &check, now).expect("ID Token");
    assert_eq!(id.sub, SUB);

    let variants = [
        Variant {
            name: "RSA-OAEP-256 + A256GCM",
            alg: "RSA-OAEP-256",
            enc: "A256GCM",
            pem: rsa_pem(),
        },
        Variant {
            name: "ECDH-ES + A256GCM",
            alg: "ECDH-ES",
            enc: "A256GCM",
            pem: p256_pem(),
        },
        Variant {
            name: "RSA-OAEP-256 + A128CBC-HS256",
            alg: "RSA-OAEP-256",
            enc: "A128CBC-HS256",
            pem: rsa_pem(),
        },
    ];
    let rp_keys: Vec<DecryptionKey> = variants
        .iter()
        .map(|v| DecryptionKey::from_pkcs8_pem(&v.pem).expect("RP key"))
        .collect();

    let mut g = c.benchmark_group("oidc_fed_login");
    g.throughput(Throughput::Elements(1));
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("pa-rs: validate_id_token (RS256, all claims)", |b| {
        b.iter(|| {
            validate_id_token(black_box(&id_token), &provider, &check, now).expect("ID Token")
        })
    });

    let Some(py) = python_with(&["jwcrypto", "jwt"]) else {
        eprintln!(
            "no Python with jwcrypto and pyjwt (PA_PY): UserInfo JWEs not made, reference not measured"
        );
        g.finish();
        return;
    };
    let setup = json!({
        "op_jwks": op_jwks.to_json(),
        "rp_keys": variants.iter().zip(&rp_keys).map(|(v, k)| json!({"pem": v.pem, "kid": k.kid()})).collect::<Vec<_>>(),
        "variants": variants.iter().zip(&rp_keys).map(|(v, k)| json!({
            "alg": v.alg, "enc": v.enc, "rp_public_jwk": k.public_jwk().to_json()
        })).collect::<Vec<_>>(),
        "client_id": RP, "issuer": OP, "nonce": NONCE, "acr_values": acr_values,
        "access_token": ACCESS_TOKEN, "id_token": id_token, "userinfo_jws": userinfo_jws,
    });
    let mut worker = Worker::start(&py, WORKER, &setup.to_string());
    let userinfos: Vec<String> = serde_json::from_str(worker.answer()).expect("JWEs");
    for (i, (v, jwe)) in variants.iter().zip(&userinfos).enumerate() {
        // both sides accept this login before it is measured
        let info = read_userinfo(jwe, &provider, RP, SUB, &rp_keys).expect("UserInfo");
        assert_eq!(info["family_name"], "Rossi");
        assert_eq!(worker.ask(&i.to_string()), "ok");
        g.bench_function(
            format!("pa-rs: ID Token + UserInfo {} (read_userinfo)", v.name),
            |b| {
                b.iter(|| {
                    let id = validate_id_token(black_box(&id_token), &provider, &check, now)
                        .expect("ID Token");
                    read_userinfo(black_box(jwe), &provider, RP, &id.sub, &rp_keys)
                        .expect("UserInfo")
                })
            },
        );
        let line = i.to_string();
        g.bench_function(
            format!(
                "reference: PyJWT + jwcrypto, same tokens, {} (worker)",
                v.name
            ),
            |b| b.iter(|| assert_eq!(worker.ask(&line), "ok", "the reference refused the login")),
        );
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
