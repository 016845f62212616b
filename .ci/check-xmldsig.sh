#!/usr/bin/env bash
# xmldsig conformance with external oracles: lxml C14N (via $PA_PY) and xmlsec1 both ways,
# through the library tests and end to end through the `pa xmldsig` command.
# Needs: apt xmlsec1; a python with lxml at $PA_PY (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
export CI="${CI:-true}"
export PA_PY="${PA_PY:-python3}"

command -v xmlsec1 >/dev/null || { echo "xmlsec1 is required" >&2; exit 1; }
"$PA_PY" -c 'import lxml.etree' || { echo "$PA_PY needs lxml" >&2; exit 1; }

# The lxml C14N differential and xmlsec1 interop tests run in the workspace test step (CI set,
# PA_PY exported by .ci/run).

echo "--- pa xmldsig sign -> xmlsec1 --verify, xmlsec1 --sign -> pa xmldsig verify"
cargo build -q --workspace --all-features --bin pa
PA=target/debug/pa
FX=xmldsig/tests/fixtures
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
ASSERTION=urn:oasis:names:tc:SAML:2.0:assertion:Assertion

for k in rsa ec256 ec384; do
  "$PA" xmldsig sign --key "$FX/keys/$k.key.pem" --cert "$FX/keys/$k.crt.pem" --id _assert1 \
    --after-child saml:Issuer "$FX/c14n/06-saml.xml" > "$TMP/ours-$k.xml"
  xmlsec1 --verify --pubkey-cert-pem "$FX/keys/$k.crt.pem" --id-attr:ID "$ASSERTION" "$TMP/ours-$k.xml" 2>"$TMP/log" \
    || { cat "$TMP/log"; echo "xmlsec1 rejected our $k signature" >&2; exit 1; }
  "$PA" xmldsig verify --cert "$FX/keys/$k.crt.pem" "$TMP/ours-$k.xml"
  # A tampered copy fails in both.
  sed 's/TINIT-RSSMRA80A01H501U/TINIT-RSSMRA80A01H501V/' "$TMP/ours-$k.xml" > "$TMP/bad.xml"
  if xmlsec1 --verify --pubkey-cert-pem "$FX/keys/$k.crt.pem" --id-attr:ID "$ASSERTION" "$TMP/bad.xml" 2>/dev/null; then
    echo "xmlsec1 accepted a tampered document" >&2; exit 1
  fi
  if "$PA" xmldsig verify --cert "$FX/keys/$k.crt.pem" "$TMP/bad.xml"; then
    echo "pa accepted a tampered document" >&2; exit 1
  fi
done

for t in rsa-sha256 prefixlist; do
  xmlsec1 --sign --privkey-pem "$FX/keys/rsa.key.pem,$FX/keys/rsa.crt.pem" --id-attr:ID "$ASSERTION" \
    --output "$TMP/xmlsec-$t.xml" "$FX/xmlsec1/$t.tmpl.xml"
  "$PA" xmldsig verify --cert "$FX/keys/rsa.crt.pem" "$TMP/xmlsec-$t.xml"
done
xmlsec1 --sign --privkey-pem "$FX/keys/ec256.key.pem,$FX/keys/ec256.crt.pem" --id-attr:ID "$ASSERTION" \
  --output "$TMP/xmlsec-ec.xml" "$FX/xmlsec1/ecdsa-p256.tmpl.xml"
"$PA" xmldsig verify --cert "$FX/keys/ec256.crt.pem" "$TMP/xmlsec-ec.xml"
xmlsec1 --sign --privkey-pem "$FX/keys/rsa.key.pem,$FX/keys/rsa.crt.pem" --id-attr:ID "$ASSERTION" \
  --output "$TMP/xmlsec-sha1.xml" "$FX/xmlsec1/rsa-sha1.tmpl.xml"
if "$PA" xmldsig verify --cert "$FX/keys/rsa.crt.pem" "$TMP/xmlsec-sha1.xml"; then
  echo "pa accepted SHA-1" >&2; exit 1
fi
echo "xmldsig checks: ok"
