#!/usr/bin/env bash
# Checks what PFStorer.Native needs that NuGet cannot bring: the .NET 10 SDK. Images are decoded and encoded by
# SixLabors.ImageSharp (a managed NuGet package), so no system image library is needed.
# Never touches apt sources: the optional CUDA compiler (NVRTC) is for CI or machines that already have it.
set -euo pipefail
command -v dotnet >/dev/null || { echo "setup: the .NET 10 SDK (dotnet) is required: https://dot.net" >&2; exit 1; }
# The pretrained face networks (metrics ID/LMSE, the faces verb), fetched once from the npm registry by exact version.
"$(dirname "$0")/weights/install-face-api.sh"
