#!/usr/bin/env bash
# Runs the whole test suite (after installing what is missing) and closes with one summary line.
set -uo pipefail
cd "$(dirname "$0")"
./setup.sh || exit 1
log=$(mktemp)
dotnet test PFStorer.Native.sln -c Release --nologo "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
# Sum the per-assembly "Failed: a, Passed: b, Skipped: c" lines of the VSTest summary.
awk -F'[:,]' '/Failed:.*Passed:.*Skipped:/ {
    for (i = 1; i <= NF; i++) { k = $i; gsub(/.*[ !-]/, "", k); v = $(i+1) + 0
      if (k == "Failed") f += v; else if (k == "Passed") p += v; else if (k == "Skipped") s += v }
  } END { printf "%d passed, %d failed, %d skipped\n", p, f, s }' "$log"
rm -f "$log"
exit "$status"
