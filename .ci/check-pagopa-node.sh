#!/usr/bin/env bash
# pagopa (issue 8): the workspace test run already covers the paForNode, simulator, GPD and
# reporting tests with all features (xmllint-checked under CI). What remains here: the smallest
# feature set must build warning-free too.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo clippy -p pagopa --no-default-features -- -D warnings
