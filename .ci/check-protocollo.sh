#!/usr/bin/env bash
# protocollo: segnatura and AOO messages checked by xmllint against the AgID schemas, the XAdES
# seal cross-checked with xmlsec1 both ways, CAdES .p7m files made by `openssl cms -sign`.
# Needs (apt): libxml2-utils (xmllint), xmlsec1, openssl.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in xmllint xmlsec1 openssl; do
    command -v "$tool" >/dev/null || { echo "check-protocollo: $tool not installed" >&2; exit 1; }
done

# The crate's tests run the oracles and fail when CI is set and one is missing.
# (the protocollo and pa-cli tests run in the workspace test step, with CI set)

# End to end through the CLI.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
schemas=protocollo/tests/fixtures/schemas
bash protocollo/tests/fixtures/p7m/make-p7m.sh "$tmp/pki" >/dev/null
cargo build -q --workspace --all-features --bin pa
pa="${CARGO_TARGET_DIR:-target}/debug/pa"

mkdir "$tmp/docs"
printf '%%PDF-1.7 istanza' > "$tmp/docs/istanza.pdf"
cat > "$tmp/s.json" <<'JSON'
{
  "intestazione": {
    "identificatore": {
      "codice_amministrazione": { "codice": "c_h501" },
      "codice_aoo": { "codice": "A1B2C3D" },
      "codice_registro": "PROT",
      "numero_registrazione": "0000042",
      "data_registrazione": "2025-03-30"
    },
    "oggetto": "Istanza",
    "classifica": { "denominazione": "Affari generali", "codice": { "flat": "1.6" } }
  },
  "descrizione": {
    "mittente": { "amministrazione": { "denominazione": "Comune di Roma", "codice_ipa": { "codice": "c_h501" } } },
    "destinatari": [ { "soggetto": { "amministrazione": { "denominazione": "Regione Marche", "codice_ipa": { "codice": "r_marche" } } } } ],
    "documento_primario": { "nome_file": "istanza.pdf", "mime_type": "application/pdf",
      "impronta": { "algoritmo": "SHA-256", "valore": "AAAA" } }
  }
}
JSON
$pa protocollo segnatura --in "$tmp/s.json" --key "$tmp/pki/seal.key" --cert "$tmp/pki/seal.pem" \
    --documents "$tmp/docs" --out "$tmp/Segnatura.xml"
xmllint --noout --nonet --schema "$schemas/segnatura_protocollo.xsd" "$tmp/Segnatura.xml"
xmlsec1 --verify --trusted-pem "$tmp/pki/seal.pem" \
    --id-attr:Id "http://uri.etsi.org/01903/v1.3.2#:SignedProperties" "$tmp/Segnatura.xml"
$pa protocollo verify "$tmp/Segnatura.xml" --trust "$tmp/pki/seal.pem" --documents "$tmp/docs"

# A tampered document gives 002 and a schema-valid NotificaEccezione.
printf 'altered' > "$tmp/docs/istanza.pdf"
if $pa protocollo verify "$tmp/Segnatura.xml" --trust "$tmp/pki/seal.pem" --documents "$tmp/docs" \
    --eccezione "$tmp/Eccezione.xml" > "$tmp/out.txt"; then
    echo "check-protocollo: tampered document accepted" >&2; exit 1
fi
grep -q 002_AnomaliaImpronta "$tmp/out.txt"
xmllint --noout --nonet --schema "$schemas/pec_message.xsd" "$tmp/Eccezione.xml"

# .p7m made by openssl: verified, content extracted identical to what openssl extracts.
$pa p7m verify "$tmp/pki/nested.p7m.p7m" --trust "$tmp/pki/ca.pem" --extract "$tmp/ours.txt"
openssl cms -verify -binary -inform DER -in "$tmp/pki/nested.p7m.p7m" -CAfile "$tmp/pki/ca.pem" \
    -out "$tmp/inner.p7m" 2>/dev/null
openssl cms -verify -binary -inform DER -in "$tmp/inner.p7m" -CAfile "$tmp/pki/ca.pem" \
    -out "$tmp/theirs.txt" 2>/dev/null
cmp "$tmp/ours.txt" "$tmp/theirs.txt"
if $pa p7m verify "$tmp/pki/untrusted.p7m" --trust "$tmp/pki/ca.pem" 2>/dev/null; then
    echo "check-protocollo: untrusted .p7m accepted" >&2; exit 1
fi
echo "check-protocollo: xmllint, xmlsec1 and openssl agree"
