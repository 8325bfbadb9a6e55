#!/usr/bin/env bash
# Re-makes tests/fixtures/faces: the photos (from Debian's python3-skimage) and face-api's own results on them
# (reference.json), computed by face-api 1.7.15 in node on tfjs's pure-JavaScript CPU backend. npm installs the
# pinned packages into a temporary folder; the weights are the ones weights/install-face-api.sh installs.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
fixtures="$root/tests/fixtures/faces"
"$root/weights/install-face-api.sh"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$here/images.py" "$fixtures" "$work/raw"
cp "$here/package.json" "$here/reference.cjs" "$work/"
(cd "$work" && npm install --ignore-scripts --no-audit --no-fund --silent)
node "$work/reference.cjs" "$root/weights/face-api" "$work/raw" astronaut camera pair > "$work/reference.json"
mv "$work/reference.json" "$fixtures/reference.json"
echo "make-reference: wrote $fixtures"
