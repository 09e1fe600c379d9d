#!/usr/bin/env bash
# Builds the `images` binary from this checkout into ROOT/bin, once per
# source: the GitHub Action (action.yml) and the pre-commit hooks
# (.pre-commit-hooks.yaml) both run it on the copy of this repository that
# they fetched at the revision the user pinned, so the binary is exactly that
# revision's.
#
#   scripts/install-images.sh --key    print the source key (cache key part)
#   scripts/install-images.sh ROOT     build into ROOT/bin unless ROOT holds
#                                      a build of this very source
#
# The key is a sha256 over what the binary is built from (Cargo.lock, the
# manifests and the crates' sources), so a cache restored under it can
# only hold a binary of this source, and ROOT/source-key records which
# source ROOT/bin/images was built from.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"

source_key() {
  (
    cd "$here"
    find Cargo.toml Cargo.lock crates -type f \
      \( -name Cargo.toml -o -name Cargo.lock -o -path 'crates/*/src/*' \) -print0 |
      LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
  )
}

case "${1:-}" in
  --key)
    source_key
    exit 0
    ;;
  "" | -*)
    echo "usage: $0 ROOT | --key" >&2
    exit 2
    ;;
esac
root="$1"
key="$(source_key)"
if [ -x "$root/bin/images" ] && [ "$(cat "$root/source-key" 2>/dev/null)" = "$key" ]; then
  exit 0
fi
if ! command -v cargo >/dev/null 2>&1; then
  echo "images: cargo not found: install Rust (https://rustup.rs) to build images from source" >&2
  exit 2
fi
echo "images: building from source into $root (first run for this revision only)" >&2
cargo install --locked --quiet --path "$here/crates/cli" --root "$root" --force
printf '%s\n' "$key" >"$root/source-key"
