#!/usr/bin/env bash
# Installs the pretrained face networks (detector, 68-point landmarks, 128-D recognition) of the npm package
# @vladmandic/face-api at one exact version into weights/face-api/, checking the package and every file by sha256.
# Idempotent: files already present with the right checksum are kept. Needs npm and the npm registry once;
# nothing is fetched at run time. Usage: weights/install-face-api.sh [target-dir]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
target="${1:-$here/face-api}"
package="@vladmandic/face-api@1.7.15"
package_sha256="0d77fffeef362ef9c0939cf6c567f3a2e8e177f114fa257a3270cbd2e509b031"
# file name, sha256 (as published in the package's model/ folder)
files=(
  "tiny_face_detector_model-weights_manifest.json 5d1af4849ac48d5b985f4a9b16010c512353ddd6fcc63d50fd0bc9e9e64296e5"
  "tiny_face_detector_model.bin b7503ce7df31039b1c43316a9b865cab6a70dd748cc602d3fa28b551503c3871"
  "face_landmark_68_model-weights_manifest.json ca4886639f86e99b39fed0c155f81b63317225773bd9616716e887b0153389c9"
  "face_landmark_68_model.bin 4611ef65c87d836d03d684b30eec4d195d8b219fa1dd58fc58945831c6b9299b"
  "face_recognition_model-weights_manifest.json cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b"
  "face_recognition_model.bin b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589"
)

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

all_present=1
for entry in "${files[@]}"; do
  set -- $entry
  [ -f "$target/$1" ] && [ "$(sha_of "$target/$1")" = "$2" ] || all_present=0
done
[ "$all_present" = 1 ] && exit 0

command -v npm >/dev/null || { echo "install-face-api: npm is required to fetch $package from the npm registry" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "install-face-api: fetching $package"
(cd "$work" && npm pack --silent "$package" >/dev/null)
tarball="$(ls "$work"/*.tgz)"
actual="$(sha_of "$tarball")"
[ "$actual" = "$package_sha256" ] || { echo "install-face-api: $package tarball has sha256 $actual, expected $package_sha256" >&2; exit 1; }
tar -xzf "$tarball" -C "$work" package/model package/LICENSE
mkdir -p "$target"
cp "$work/package/LICENSE" "$target/LICENSE"
for entry in "${files[@]}"; do
  set -- $entry
  actual="$(sha_of "$work/package/model/$1")"
  [ "$actual" = "$2" ] || { echo "install-face-api: $1 has sha256 $actual, expected $2" >&2; exit 1; }
  cp "$work/package/model/$1" "$target/$1.tmp" && mv "$target/$1.tmp" "$target/$1"
done
echo "install-face-api: installed into $target"
