#!/usr/bin/env bash
# The story `images` exists for, end to end on this machine:
#   a registry on 127.0.0.1:5055, images pushed to it, the repository's own
#   images.toml locked, then an attacker overwrites `acme/api:v1.2.11` and
#   `images verify` catches it; then a signed release is locked with its
#   signature checked, and an unsigned overwrite is reported as not signed.
# Everything stays on loopback; the registry is stopped when the demo ends.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
scripts/install-deps.sh
echo "building images..." >&2
cargo build --quiet --locked -p images-cli -p images-testkit
images="$root/target/debug/images"
testkit="$root/target/debug/images-testkit"

# The repository's images.toml names 127.0.0.1:5055; its images.lock was made
# by `images lock` against exactly the content pushed below.
port=5055
registry="127.0.0.1:$port"
work=$(mktemp -d)
registry_pid=""
cleanup() {
  local rc=$?
  if [ -n "$registry_pid" ]; then
    kill "$registry_pid" 2>/dev/null || true
    wait "$registry_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

"$testkit" registry --port "$port" --storage "$work/storage" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 100); do
  grep -q '^ready' "$work/registry.log" 2>/dev/null && break
  kill -0 "$registry_pid" 2>/dev/null || { cat "$work/registry.log" >&2; echo "the registry did not start (is port $port free?)" >&2; exit 1; }
  sleep 0.1
done
grep -q '^ready' "$work/registry.log" || { cat "$work/registry.log" >&2; exit 1; }

bold="" plain=""
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m' plain=$'\033[0m'; fi
say() { printf '\n%s## %s%s\n' "$bold" "$*" "$plain"; }
run() {
  printf '$ %s\n' "$*"
  set +e
  "$@"
  status=$?
  set -e
  printf '(exit %s)\n' "$status"
  return 0
}
push() { "$testkit" push --registry "$registry" --image "$1" --kind "$2" --seed "$3" >/dev/null; }

say "A registry on $registry, with four images of the four manifest kinds"
"$testkit" push-demo --registry "$registry"
echo "pushed demo/web:1.27 (OCI index), acme/api:v1.2.11 (Docker v2), acme/worker:2.0 (Docker list), demo/base:latest (OCI manifest)"

cp images.toml images.lock "$work/"
cd "$work"
say "The repository's images.toml"
cat images.toml

say "images lock: nothing changed, so nothing is contacted and the lock stays byte-identical"
run "$images" lock
cmp -s images.lock "$root/images.lock" && echo "images.lock unchanged"

say "images verify: every tag still points where the lock says"
run "$images" verify
first=$status

say "An attacker with a leaked push credential overwrites acme/api:v1.2.11, and base:latest moves"
push acme/api:v1.2.11 docker-v2s2 attacker-build
push demo/base:latest oci-manifest base-2

say "images verify catches it (exit 1); the mutable base only warns"
run "$images" verify
second=$status

say "The same report for machines"
run "$images" verify --format json --quiet

say "A publisher that signs: acme/app:v3.1.0, signed with cosign's legacy format by the sigstore crate"
push acme/app:v3.1.0 oci-manifest app-3.1.0
mkdir -p "$work/signed/keys"
"$testkit" sign --registry "$registry" --image acme/app:v3.1.0 --public-key-out "$work/signed/keys/acme.pub" >/dev/null
cd "$work/signed"
printf '[images]\napp = { image = "%s/acme/app:v3.1.0", signed-by = "acme" }\n\n[signers.acme]\nkeys = ["keys/acme.pub"]\n' "$registry" > images.toml
cat images.toml

say "images lock checks the signature at the moment of trust and records who signed"
run "$images" lock
third=$status
run "$images" list

say "The attacker overwrites acme/app:v3.1.0 too, but has no key: images verify says the new digest is not signed"
push acme/app:v3.1.0 oci-manifest attacker-app
run "$images" verify
fourth=$status

if [ "$first" -eq 0 ] && [ "$second" -eq 1 ] && [ "$third" -eq 0 ] && [ "$fourth" -eq 1 ]; then
  printf '\n%sdemo ok:%s verify passed on the locked registry, failed (exit 1) once a tag was overwritten, and said the overwrite was not signed\n' "$bold" "$plain"
else
  echo "demo FAILED: expected exits 0, 1, 0, 1; got $first, $second, $third, $fourth" >&2
  exit 1
fi
