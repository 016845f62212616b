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
  want_responses=111
  if [ "$profile" = cie-sp-public ]; then want_responses=109; fi
  if ! "$PY" "$ROOT/.ci/lib/spid_sp_test_report.py" "$WORK/report-$tag.json" "$profile" "$want_responses" --require-categories
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
