#!/usr/bin/env bash
# The whole test suite: unit tests, reference/digest vectors, and the
# end-to-end tests that run the real `images` binary against a real
# registry started on a free loopback port. The harness's own tests sign
# images there with sigstore-js, so Node.js and its npm packages are
# installed too (scripts/install-deps.sh --tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh --tests
cargo test --workspace --locked "$@"
