#!/usr/bin/env bash
# Installs what PFStorer.Native needs from Debian, only what is missing (idempotent).
# Never touches apt sources: the optional CUDA compiler (NVRTC) is for CI or machines that already have it.
set -euo pipefail
packages=(libturbojpeg0 libspng0)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK (dotnet) is required: https://dot.net" >&2; exit 1; }
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=""; [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The pretrained face networks (metrics ID/LMSE, the faces verb), fetched once from the npm registry by exact version.
"$(dirname "$0")/weights/install-face-api.sh"
