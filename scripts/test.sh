#!/usr/bin/env bash
# The whole test suite: unit tests, reference/digest vectors, and the
# end-to-end tests that run the real `images` binary against a real
# registry started on a free loopback port.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
cargo test --workspace --locked "$@"
