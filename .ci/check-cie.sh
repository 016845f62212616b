#!/usr/bin/env bash
# "Entra con CIE" conformance: runs AgID's `spid-sp-test` (PyPI) against the example SP in
# `--cie` mode for the cie-sp-public and cie-sp-private profiles, metadata + AuthnRequest + all
# response tests (`--extra -tr`), and fails on any failed check. Also validates the served
# metadata with xmllint against saml-schema-metadata-sp-cie.xsd.
#
# One documented divergence, checked precisely rather than skipped: spid-sp-test drops response
# tests 70/71 (assertion Issuer without Format) for cie-sp-public because in CIE the Format is
# not mandatory, but its cie-sp-private profile falls back to the SPID list and still expects a
# refusal for test 71 (Format attribute absent). The CIE rule does not depend on the sector, so
# our SP answers 200 there; the script requires exactly that outcome for test 71 of
# cie-sp-private and treats every other failure as a failure.
#
# Needs: xmlsec1 and xmllint (Debian xmlsec1, libxml2-utils), a python venv at $PA_PY (one
# is created under target/ when PA_PY is unset); installs spid-sp-test into that venv.
set -euo pipefail
cd "$(dirname "$0")/.."
CHECK=check-cie
# shellcheck source=lib/spid-sp-test.sh
source .ci/lib/spid-sp-test.sh
KEYS="$ROOT/cie/tests/fixtures/cie/keys"
SCHEMAS="$ROOT/cie/tests/fixtures/cie/schemas"

status=0
# sector:binding of the AuthnRequest (Redirect is the default; POST checked once as well).
for run in public:redirect private:redirect public:post; do
  sector="${run%%:*}"
  binding="${run##*:}"
  profile="cie-sp-$sector"
  tag="$sector-$binding"
  port="$(free_port)"
  base="http://127.0.0.1:$port"
  start_sp "$tag" "$port" --cie --sector "$sector" --binding "$binding" \
      --key "$KEYS/sp.key" --cert "$KEYS/sp.crt"

  echo "check-cie: xmllint $profile metadata against saml-schema-metadata-sp-cie.xsd"
  (cd "$SCHEMAS" && xmllint --noout --schema saml-schema-metadata-sp-cie.xsd "$WORK/metadata-$tag.xml")
  grep -q '<md:ContactPerson contactType="administrative"><md:Extensions><cie:' "$WORK/metadata-$tag.xml"

  echo "check-cie: spid-sp-test --profile $profile --extra -tr (AuthnRequest binding $binding)"
  (cd "$WORK" && "$SPID_SP_TEST" \
      --metadata-url "$base/spid/metadata" \
      --authn-url "$base/spid/login?idp=https://localhost:8443" \
      --extra -tr -pr "$profile" -rf json -o "$WORK/report-$tag.json" -d CRITICAL --exit-zero \
      >"$WORK/spid-sp-test-$tag.log" 2>&1) || true
  if ! "$PY" - "$WORK/report-$tag.json" "$profile" <<'PYEOF'
import json, re, sys
report = json.load(open(sys.argv[1]))
profile = sys.argv[2]
counts, failures = {}, []
def walk(node, path):
    if isinstance(node, dict):
        for k, v in node.items():
            walk(v, path + [k])
    elif isinstance(node, list):
        for item in node:
            if isinstance(item, dict) and "result" in item:
                cat = path[-2] if len(path) > 1 else "?"
                counts.setdefault(cat, {}).setdefault(item["result"], 0)
                counts[cat][item["result"]] += 1
                if item["result"] == "failure":
                    failures.append((cat, item.get("test"), item.get("value")))
walk(report, [])
for cat, c in sorted(counts.items()):
    print(f"  {profile} {cat}: {c}")
# The one documented divergence (see the header of this script).
expected_divergence = []
if profile == "cie-sp-private":
    expected_divergence = [
        f for f in failures
        if f[0] == "response" and re.match(r"Test \[71\] ", f[1] or "") and "200" in str(f[2])
    ]
    if expected_divergence:
        print("  note: test 71 (assertion Issuer without Format) answered 200: CIE rule, see header")
failures = [f for f in failures if f not in expected_divergence]
responses = counts.get("response", {})
total = sum(responses.values())
want = 109 if profile == "cie-sp-public" else 111
if total != want:
    failures.append(("response", f"expected {want} response tests, found {total}", ""))
for cat in ("metadata", "authnrequest"):
    if not any(k.startswith(cat) and sum(v.values()) > 0 for k, v in counts.items()):
        failures.append((cat, "no checks ran", ""))
for f in failures:
    print("  FAILED:", *f)
sys.exit(1 if failures else 0)
PYEOF
  then
    status=1
    echo "--- spid-sp-test log ($profile, $binding)"; tail -50 "$WORK/spid-sp-test-$tag.log"
    echo "--- SP log ($profile, $binding)"; tail -20 "$WORK/sp-$tag.log"
  fi
  stop_sp
done

if [ "$status" -ne 0 ]; then
  echo "check-cie: FAILED" >&2
  exit 1
fi
echo "check-cie: spid-sp-test green for cie-sp-public and cie-sp-private (Redirect and POST AuthnRequests)"
