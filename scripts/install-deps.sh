#!/usr/bin/env bash
# Installs what the demo and the tests need beyond the Rust toolchain:
# Debian's docker-registry (CNCF distribution), skopeo, htpasswd and openssl.
# With --tests (scripts/test.sh) also Node.js and npm, and the npm packages of
# the harness's cosign v3 bundle signer (tests/fixtures/sigstore-js) with
# `npm ci`, exactly as its package-lock.json pins them.
# Does nothing when they are already there.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
tests=false
case "${1:-}" in
  --tests) tests=true ;;
  "") ;;
  *) echo "usage: $0 [--tests]" >&2; exit 2 ;;
esac
need=()
command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if $tests; then
  command -v node >/dev/null 2>&1 || need+=(nodejs)
  command -v npm >/dev/null 2>&1 || need+=(npm)
fi
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  echo "installing: ${need[*]}" >&2
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

$tests || exit 0
# The pinned packages' `engines` ask for Node 20.17 or later.
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 17) ? 0 : 1)'; then
  echo "node $(node --version) is too old for tests/fixtures/sigstore-js: install Node.js 20.17 or later" >&2
  exit 1
fi
# Reinstalled whenever the lock file differs from the one last installed.
js="$root/tests/fixtures/sigstore-js"
stamp="$js/node_modules/.installed-package-lock.json"
if ! cmp -s "$js/package-lock.json" "$stamp"; then
  echo "installing sigstore-js (npm ci in tests/fixtures/sigstore-js)" >&2
  # No package there has an install script; refuse any that appears.
  (cd "$js" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  cp "$js/package-lock.json" "$stamp"
fi
