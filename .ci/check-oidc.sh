#!/usr/bin/env bash
# Conformance of oidc-fed's Relying Party against the official Python/Django implementation
# spid-cie-oidc: a Trust Anchor and an OpenID Provider of that package (settings in .ci/oidc)
# run under gunicorn over TLS on 127.0.0.1 with an openssl-made test CA; the Rust test
# (oidc-fed/tests/django_conformance.rs) onboards our RP at the TA and logs in at the OP.
# Django and its dependencies (pydantic 1, cryptojwt, aiohttp) live in their own venv so that
# they cannot clash with the oracles of the main venv.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
start=$(date +%s)

VENV="$ROOT/.venv-oidc"
if [ ! -x "$VENV/bin/gunicorn" ] || ! "$VENV/bin/python" -c 'import spid_cie_oidc' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check 'spid-cie-oidc==1.6.3' 'gunicorn>=22'
fi
PY="$VENV/bin/python"
"$PY" -c 'import importlib.metadata as m; print("spid-cie-oidc", m.version("spid-cie-oidc"), "Django", m.version("Django"), "gunicorn", m.version("gunicorn"))'

STATE="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$STATE"
}
trap cleanup EXIT

# test CA and a server certificate for 127.0.0.1 (used by gunicorn and by the test's RP)
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=oidc-fed test CA" \
  -keyout "$STATE/ca.key" -out "$STATE/ca.crt" \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$STATE/server.key" -out "$STATE/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n' > "$STATE/ext.cnf"
openssl x509 -req -in "$STATE/server.csr" -CA "$STATE/ca.crt" -CAkey "$STATE/ca.key" \
  -CAcreateserial -days 2 -extfile "$STATE/ext.cnf" -out "$STATE/server.crt" 2>/dev/null

free_port() { "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
TA_PORT=$(free_port)
OP_PORT=$(free_port)
while [ "$OP_PORT" = "$TA_PORT" ]; do OP_PORT=$(free_port); done
export OIDC_STATE="$STATE" OIDC_CA="$STATE/ca.crt"
export OIDC_TA_ID="https://127.0.0.1:$TA_PORT" OIDC_OP_ID="https://127.0.0.1:$OP_PORT/oidc/op"
OIDC_SECRET="$(openssl rand -hex 32)"
OIDC_USER_PASSWORD="$(openssl rand -hex 12)"
export OIDC_SECRET OIDC_USER_PASSWORD
export OIDC_USER_FISCAL_NUMBER="TINIT-RSSMRA85T10A562S"
export PYTHONPATH="$ROOT/.ci/oidc"

OIDC_ROLE=op "$PY" .ci/oidc/bootstrap.py op
OIDC_ROLE=ta "$PY" .ci/oidc/bootstrap.py ta

serve() { # role port
  # aiohttp is also called with ssl=True in places: its default context then trusts the test CA
  OIDC_ROLE="$1" SSL_CERT_FILE="$OIDC_CA" "$VENV/bin/gunicorn" --chdir "$ROOT/.ci/oidc" --bind "127.0.0.1:$2" \
    --certfile "$STATE/server.crt" --keyfile "$STATE/server.key" \
    --worker-class gthread --workers 1 --threads 8 --timeout 60 --no-control-socket \
    --error-logfile "$STATE/$1.log" --capture-output fedtest.wsgi >/dev/null 2>&1 &
  PIDS+=("$!")
}
serve ta "$TA_PORT"
serve op "$OP_PORT"
# wait (at most 30 s) until both answer their Entity Configuration over TLS with the test CA
"$PY" - "$OIDC_TA_ID/.well-known/openid-federation" "$OIDC_OP_ID/.well-known/openid-federation" <<'PY' || { cat "$STATE"/*.log; exit 1; }
import os, ssl, sys, time, urllib.request
ctx = ssl.create_default_context(cafile=os.environ["OIDC_CA"])
for url in sys.argv[1:]:
    for _ in range(150):
        try:
            if urllib.request.urlopen(url, context=ctx, timeout=2).status == 200:
                break
        except OSError:
            pass
        time.sleep(0.2)
    else:
        sys.exit(f"server at {url} did not start")
PY
echo "TA $OIDC_TA_ID, OP $OIDC_OP_ID up after $(( $(date +%s) - start )) s"

export OIDC_DJANGO_TA="$OIDC_TA_ID" OIDC_DJANGO_OP="$OIDC_OP_ID" OIDC_DJANGO_CA="$OIDC_CA"
export OIDC_DJANGO_TLS_CERT="$STATE/server.crt" OIDC_DJANGO_TLS_KEY="$STATE/server.key"
export OIDC_DJANGO_TA_JWKS="$STATE/ta_jwks.json"
export OIDC_DJANGO_ADMIN="$PY $ROOT/.ci/oidc/bootstrap.py"
export OIDC_DJANGO_USER=mario OIDC_DJANGO_PASSWORD="$OIDC_USER_PASSWORD"
status=0
cargo test -p oidc-fed --all-features --test django_conformance -- --test-threads=1 || status=$?
if [ "$status" != 0 ]; then
  echo "--- TA log"; tail -n 80 "$STATE/ta.log" || true
  echo "--- OP log"; tail -n 120 "$STATE/op.log" || true
fi
echo "check-oidc: $(( $(date +%s) - start )) s"
exit "$status"
