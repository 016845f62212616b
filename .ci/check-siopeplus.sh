#!/usr/bin/env bash
# siopeplus oracles: xmllint (official OPI schemas) and xmlsec1 (signature interop).
# Needs apt packages libxml2-utils and xmlsec1. Schemas: $PA_SCHEMAS (default ../shared/schemas).
set -euo pipefail
cd "$(dirname "$0")/.."

command -v xmllint >/dev/null || { echo "xmllint missing (apt-get install libxml2-utils)"; exit 1; }
command -v xmlsec1 >/dev/null || { echo "xmlsec1 missing (apt-get install xmlsec1)"; exit 1; }

S="${PA_SCHEMAS:+$PA_SCHEMAS/siopeplus}"
S="${S:-siopeplus/tests/fixtures/xsd}"

# Hand-written fixtures of the treasurer's messages validate against their schemas.
F=siopeplus/tests/fixtures/messages
xmllint --noout --nonet --schema "$S/OPI_MSG_ACK_SIOPE_V_1_6_1.xsd" "$F/ack_ok.xml" "$F/ack_ko.xml"
xmllint --noout --nonet --schema "$S/OPI_MSG_RICEZIONE_FLUSSO_V_1_6_1.xsd" "$F/ricezione.xml"
xmllint --noout --nonet --schema "$S/OPI_MSG_RIFIUTO_FLUSSO_V_1_6_1.xsd" "$F/rifiuto.xml"
xmllint --noout --nonet --schema "$S/OPI_MSG_ESITO_APPLICATIVO_V_1_6_1.xsd" "$F/esito_applicativo.xml"
xmllint --noout --nonet --schema "$S/OPI_GIORNALE_DI_CASSA_V_1_7_1.xsd" "$F/giornale_di_cassa.xml"
xmllint --noout --nonet --schema "$S/OPI_DISPONIBILITA_LIQUIDE_V_1_7_1.xsd" "$F/disponibilita_liquide.xml"

# The crate's tests (xmllint on every flow they write, xmlsec1 both ways) and the
# `pa siopeplus` CLI tests run in the workspace test step, with CI set.
