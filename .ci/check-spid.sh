#!/usr/bin/env bash
# SPID conformance: runs AgID's `spid-sp-test` (PyPI) against the example SP (`spid-sp`) for the
# spid-sp-public and spid-sp-private profiles and, with the SP in aggregator mode, the
# spid-sp-ag-public-full, -public-lite, -private-full and -private-lite profiles: metadata +
# AuthnRequest + all response tests (`--extra -tr`), and fails on any failed check. Also checks the SP certificate with AgID's
# certificate validator (spid-compliant-certificates, pulled in by spid-sp-test) and the
# metadata with xmllint against saml-schema-metadata-sp-spid-av29.xsd (and, for aggregators,
# saml-schema-metadata-aggregated-spid.xsd).
#
# Needs: xmlsec1, xmllint and openssl (Debian xmlsec1, libxml2-utils, openssl; spid-sp-test
# calls xmlsec1 and openssl), a python venv at $PA_PY (one is created under target/ when PA_PY
# is unset); installs spid-sp-test (PyPI) into that venv.
set -euo pipefail
cd "$(dirname "$0")/.."
CHECK=check-spid
# shellcheck source=lib/spid-sp-test.sh
source .ci/lib/spid-sp-test.sh
# Official SAML/SPID schemas (xml.xsd import pointed at the local copy: no network).
SCHEMAS="$ROOT/spid/tests/fixtures/schemas"

status=0
# profile:binding:sector:aggregator kind ("-" for none); Redirect is the default binding, POST is
# checked once as well.
for run in spid-sp-public:redirect:public:- spid-sp-private:redirect:private:- spid-sp-public:post:public:- \
           spid-sp-ag-public-full:redirect:public:pub-ag-full spid-sp-ag-public-lite:redirect:public:pub-ag-lite \
           spid-sp-ag-private-full:redirect:private:pri-ag-full spid-sp-ag-private-lite:redirect:private:pri-ag-lite; do
  IFS=: read -r profile binding sector aggregator <<<"$run"
  sp_args=(--sector "$sector" --binding "$binding")
  if [ "$aggregator" != "-" ]; then sp_args+=(--aggregator "$aggregator"); fi
  port="$(free_port)"
  base="http://127.0.0.1:$port"
  tag="$profile-$binding"
  start_sp "$tag" "$port" "${sp_args[@]}"

  # av29 allows two ContactPerson elements; a private aggregator's metadata has three (aggregator,
  # aggregated, billing), which the aggregated-metadata schema allows.
  if [ "${aggregator#pri-}" = "$aggregator" ]; then
    echo "check-spid: xmllint $profile metadata against saml-schema-metadata-sp-spid-av29.xsd"
    (cd "$SCHEMAS" && xmllint --noout --schema saml-schema-metadata-sp-spid-av29.xsd "$WORK/metadata-$tag.xml")
  fi
  if [ "$aggregator" != "-" ]; then
    echo "check-spid: xmllint $profile metadata against saml-schema-metadata-aggregated-spid.xsd"
    (cd "$SCHEMAS" && xmllint --noout --schema saml-schema-metadata-aggregated-spid.xsd "$WORK/metadata-$tag.xml")
  fi

  echo "check-spid: AgID certificate validator ($sector)"
  "$PY" - "$WORK/metadata-$tag.xml" "$sector" <<'EOF'
import re, sys, tempfile
from lxml import etree
from spid_sp_test.compliant_certificates import check_certificate
doc = etree.parse(sys.argv[1])
ns = {"md": "urn:oasis:names:tc:SAML:2.0:metadata", "ds": "http://www.w3.org/2000/09/xmldsig#"}
certs = doc.xpath('//md:SPSSODescriptor/md:KeyDescriptor[@use="signing"]//ds:X509Certificate/text()', namespaces=ns)
assert certs, "no signing certificate in metadata"
failed = 0
for c in certs:
    with tempfile.NamedTemporaryFile(suffix=".pem") as f:
        f.write(("-----BEGIN CERTIFICATE-----\n" + re.sub(r"\s", "", c) + "\n-----END CERTIFICATE-----\n").encode())
        f.flush()
        for check in check_certificate(f.name, sys.argv[2]):
            if check["result"] != "success":
                failed += 1
                print("  FAILED:", check["description"], check["value"])
print(f"  certificate checks: {'all passed' if not failed else str(failed) + ' failed'}")
sys.exit(1 if failed else 0)
EOF

  echo "check-spid: spid-sp-test --profile $profile --extra -tr (AuthnRequest binding $binding)"
  (cd "$WORK" && "$SPID_SP_TEST" \
      --metadata-url "$base/spid/metadata" \
      --authn-url "$base/spid/login?idp=https://localhost:8443" \
      --extra -tr -pr "$profile" -rf json -o "$WORK/report-$tag.json" -d CRITICAL --exit-zero \
      >"$WORK/spid-sp-test-$tag.log" 2>&1) || true
  if ! "$PY" "$ROOT/.ci/lib/spid_sp_test_report.py" "$WORK/report-$tag.json" "$profile" 111
  then
    status=1
    echo "--- spid-sp-test log ($profile)"; tail -50 "$WORK/spid-sp-test-$tag.log"
    echo "--- SP log ($profile)"; tail -20 "$WORK/sp-$tag.log"
  fi
  stop_sp
done

if [ "$status" -ne 0 ]; then
  echo "check-spid: FAILED" >&2
  exit 1
fi
echo "check-spid: spid-sp-test green for spid-sp-public, spid-sp-private (Redirect and POST AuthnRequests), spid-sp-ag-public-full, -public-lite, -private-full and -private-lite"
