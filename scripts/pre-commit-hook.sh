#!/usr/bin/env bash
# The entry of the hooks in .pre-commit-hooks.yaml: runs `images ARGS…` in
# the user's repository (pre-commit's working directory) with a binary built
# from the hook repository's own checkout, at the `rev` the user pinned.
# The build is kept inside that checkout, which pre-commit caches per
# revision, so only the first run of a revision compiles.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
root="$here/.images-bin"
"$here/scripts/install-images.sh" "$root"
exec "$root/bin/images" "$@"
