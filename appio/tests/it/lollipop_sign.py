# Test oracle of appio's Lollipop verifier: signs requests as the IO app does, with software
# not written here: `http-message-signatures` (RFC 9421 signature base, Signature-Input and
# Signature fields, Content-Digest), `cryptography` (keys, signatures) and `jwcrypto` (JWK
# export and RFC 7638 thumbprints).
#
# stdin: a JSON list of cases; stdout: a JSON list, for each case {"headers": [[name, value]...]}.
# A case: key (a name: cases naming the same key share it), kty ("EC" or "RSA"), alg, der
# (ECDSA signature as DER instead of r||s), user, method, url, created (Unix seconds), expires,
# nonce, covered (component names), extra (headers to add before signing), body (text), digest
# ("sha-256" or "sha-512"), thumb_hash ("sha256", "sha384", "sha512"), keyid ("aref", none or a
# string), label.
import base64
import datetime
import json
import sys

import requests
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from http_message_signatures import HTTPMessageSigner, HTTPSignatureKeyResolver, algorithms
from http_message_signatures.digests import ContentDigest
from jwcrypto import jwk


class RsaPssSha256(algorithms.RSA_PSS_SHA512):
    """The name the IO app gives RSA-PSS with SHA-256 (salt of 32 bytes)."""

    algorithm_id = "rsa-pss-sha256"

    def __init__(self, public_key=None, private_key=None, password=None):
        super().__init__(public_key=public_key, private_key=private_key, password=password)
        self.padding = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
        self.hash_algorithm = hashes.SHA256()


ALGS = {
    "ecdsa-p256-sha256": algorithms.ECDSA_P256_SHA256,
    "rsa-pss-sha512": algorithms.RSA_PSS_SHA512,
    "rsa-v1_5-sha256": algorithms.RSA_V1_5_SHA256,
    "rsa-pss-sha256": RsaPssSha256,
}
HASHES = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}


class Resolver(HTTPSignatureKeyResolver):
    def __init__(self, key):
        self.key = key

    def resolve_private_key(self, key_id):
        return self.key

    def resolve_public_key(self, key_id):
        return self.key.public_key()


def b64url(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


keys = {}


def key_for(case):
    name = case.get("key", "default")
    if name not in keys:
        if case.get("kty", "EC") == "EC":
            keys[name] = ec.generate_private_key(ec.SECP256R1())
        else:
            keys[name] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return keys[name]


def sign(case):
    key = key_for(case)
    pub = jwk.JWK.from_pyca(key.public_key())
    pub_json = pub.export_public()
    thumb_hash = case.get("thumb_hash", "sha256")
    aref = thumb_hash + "-" + pub.thumbprint(HASHES[thumb_hash])
    alg = case.get("alg", "ecdsa-p256-sha256")
    headers = {
        "x-pagopa-lollipop-original-method": case.get("method", "GET"),
        "x-pagopa-lollipop-original-url": case["url"],
        "x-pagopa-lollipop-public-key": b64url(pub_json.encode()),
        "x-pagopa-lollipop-assertion-ref": aref,
        "x-pagopa-lollipop-assertion-type": "SAML",
        "x-pagopa-lollipop-user-id": case["user"],
        "x-pagopa-lollipop-auth-jwt": "eyJhbGciOiJSUzI1NiJ9.e30.c2ln",
    }
    headers.update(case.get("extra", {}))
    body = case.get("body")
    req = requests.Request("GET", "https://rc.comune.example/io/messages/m1", headers=headers).prepare()
    signer = HTTPMessageSigner(signature_algorithm=ALGS[alg], key_resolver=Resolver(key))
    if case.get("digest") == "sha-512":
        signer.content_digest_class = type("Sha512Digest", (ContentDigest,), {"algorithm": "sha-512"})
    covered = case.get(
        "covered", ["x-pagopa-lollipop-original-method", "x-pagopa-lollipop-original-url"]
    )
    keyid = case.get("keyid", "aref")
    utc = datetime.timezone.utc
    kwargs = dict(
        key_id=aref if keyid == "aref" else (keyid or ""),
        created=datetime.datetime.fromtimestamp(case["created"], tz=utc),
        nonce=case.get("nonce"),
        label=case.get("label", "sig1"),
        covered_component_ids=covered,
        body=body.encode() if body is not None else None,
    )
    if case.get("expires") is not None:
        kwargs["expires"] = datetime.datetime.fromtimestamp(case["expires"], tz=utc)
    prepared = signer.prepare(req, **kwargs)
    base = prepared.signature_base
    if alg == "ecdsa-p256-sha256" and case.get("der"):
        der = key.sign(base, ec.ECDSA(hashes.SHA256()))
        signer.apply(req, prepared, algorithms.ECDSA_P256_SHA256.signature_from_der(der))
        req.headers["Signature"] = "%s=:%s:" % (prepared.label, base64.b64encode(der).decode())
    else:
        signer.apply(req, prepared, ALGS[alg](private_key=key).sign(base))
    out = [[k.lower(), v] for k, v in req.headers.items()]
    if keyid is None:
        # Drop the keyid parameter (the library always writes one): re-sign without it.
        sig_input = req.headers["Signature-Input"]
        label, rest = sig_input.split("=", 1)
        params = ";".join(p for p in rest.split(";") if not p.startswith("keyid="))
        new_base = base.decode().rsplit('"@signature-params": ', 1)[0] + '"@signature-params": ' + params
        raw = ALGS[alg](private_key=key).sign(new_base.encode())
        out = [[k, v] for k, v in out if k not in ("signature-input", "signature")]
        out.append(["signature-input", label + "=" + params])
        out.append(["signature", "%s=:%s:" % (label, base64.b64encode(raw).decode())])
    return {"headers": out, "aref": aref, "base": base.decode()}


cases = json.load(sys.stdin)
print(json.dumps([sign(c) for c in cases]))
