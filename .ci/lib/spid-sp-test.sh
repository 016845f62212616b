# Sourced by check-spid.sh and check-cie.sh: what both need to run AgID's `spid-sp-test` against
# the example SP (`spid-sp`). Expects `set -euo pipefail`, the repository root as the current
# directory and CHECK (the script's name, for messages). Sets ROOT, PY, SPID_SP_TEST, SP_BIN,
# WORK (removed on exit, with the SP started by start_sp), SP_PID; writes $WORK/idp.xml (the
# test IdP's metadata); defines free_port, start_sp and stop_sp.
export PYTHONWARNINGS=ignore
ROOT="$PWD"

PY="${PA_PY:-}"
if [ -z "$PY" ]; then
  python3 -m venv "target/venv-$CHECK"
  PY="$ROOT/target/venv-$CHECK/bin/python"
fi
"$PY" -m pip install -q --disable-pip-version-check spid-sp-test
SPID_SP_TEST="$(dirname "$PY")/spid_sp_test"
for tool in xmlsec1 xmllint openssl; do
  command -v "$tool" >/dev/null || { echo "$CHECK: $tool is required" >&2; exit 1; }
done

cargo build -q --workspace --all-features --bin spid-sp
SP_BIN="$ROOT/target/debug/spid-sp"

WORK="$(mktemp -d)"
SP_PID=""
cleanup() {
  if [ -n "$SP_PID" ]; then kill "$SP_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

(cd "$WORK" && "$SPID_SP_TEST" --idp-metadata 2>/dev/null) > "$WORK/idp.xml"
grep -q 'entityID="https://localhost:8443"' "$WORK/idp.xml"

free_port() {
  "$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_sp TAG PORT ARGS...: starts the SP on 127.0.0.1:PORT with ARGS trusting the test IdP, waits until
# its metadata answers and saves it to $WORK/metadata-TAG.xml (log in $WORK/sp-TAG.log).
start_sp() {
  local tag="$1" port="$2"
  shift 2
  "$SP_BIN" --port "$port" "$@" --idp-metadata "$WORK/idp.xml" >"$WORK/sp-$tag.log" 2>&1 &
  SP_PID=$!
  for _ in $(seq 1 120); do
    if "$PY" -c 'import sys, urllib.request; open(sys.argv[2], "wb").write(urllib.request.urlopen(sys.argv[1], timeout=5).read())' \
        "http://127.0.0.1:$port/spid/metadata" "$WORK/metadata-$tag.xml" 2>/dev/null; then return 0; fi
    if ! kill -0 "$SP_PID" 2>/dev/null; then cat "$WORK/sp-$tag.log" >&2; exit 1; fi
    sleep 1
  done
  echo "$CHECK: the SP did not answer on port $port" >&2
  exit 1
}

stop_sp() {
  kill "$SP_PID" 2>/dev/null || true
  wait "$SP_PID" 2>/dev/null || true
  SP_PID=""
}
