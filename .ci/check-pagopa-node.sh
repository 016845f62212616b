#!/usr/bin/env bash
# pagopa issue 8 checks that need the feature set beyond the defaults and an external oracle:
# every paForNode answer the tests emit is validated with xmllint against paForNode.xsd
# (Debian package libxml2-utils); with CI set, the tests fail when xmllint is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v xmllint >/dev/null || { echo "xmllint (libxml2-utils) is required" >&2; exit 1; }
export CI="${CI:-1}"

# All features: server (axum) + simulator + sqlite + client.
cargo test -p pagopa --all-features --test node --test node_simulator --test gpd --test reporting
cargo test -p pagopa --all-features --lib node::
cargo clippy -p pagopa --all-targets --all-features -- -D warnings
# The smallest build must stay warning-free too.
cargo clippy -p pagopa --no-default-features -- -D warnings
