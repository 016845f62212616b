#!/usr/bin/env bash
# pagopa: payment notice symbols decoded by independent decoders.
# Needs (apt): zbar-tools (zbarimg, QR) and dmtx-utils (dmtxread, Data Matrix).
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in zbarimg dmtxread; do
    command -v "$tool" >/dev/null || { echo "check-pagopa: $tool not installed" >&2; exit 1; }
done

# The crate's symbol tests run the decoders and fail when CI is set and a decoder is missing.
# (the pagopa symbol tests run in the workspace test step, with CI set)

# End to end through the CLI: draw with `pa`, read back with the external decoders.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo build -q --workspace --all-features --bin pa
pa="${CARGO_TARGET_DIR:-target}/debug/pa"
$pa pagopa qr --notice 301000000000000144 --creditor 80016350821 --amount 12.34 --out "$tmp/qr.png" >/dev/null
got=$(zbarimg --raw -q "$tmp/qr.png")
[ "$got" = "PAGOPA|002|301000000000000144|80016350821|1234" ] || { echo "zbarimg read: $got" >&2; exit 1; }
payload=$($pa pagopa datamatrix --notice 302123456789012356 --creditor 80016350821 --amount 123.45 \
    --postal-account 1234567 --debtor RSSMRA80A01H501U --debtor-name "Mario Rossi" \
    --causale "TARI 2026" --out "$tmp/dm.png")
got=$(dmtxread "$tmp/dm.png")
[ "$got" = "$payload" ] || { echo "dmtxread read: $got" >&2; exit 1; }
echo "check-pagopa: QR and Data Matrix read back by zbarimg and dmtxread"
