#!/usr/bin/env bash
# The checks a lent GPU session runs, in one call (device time is scarce: one prepared script, a short table last).
# Here, before the call: move tests/fixtures out of the checkout (the GPU tests do not read it), run
# ../shared/gpu/pack.sh (tests and benchmarks plus a .NET runtime into .gpu/), then on the device machine, from the
# repository root, with `.gpu` carried:   bash tools/device-check.sh
# Full logs go under $OUT (or /tmp/device-check); the table at the end says what passed and what the figures are.
set -uo pipefail
out=${OUT:-/tmp/device-check}
mkdir -p "$out"
run() { bash .gpu/run.sh "$@"; }

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader > "$out/gpu.txt" 2>&1

# Every kernel against the CPU reference (BackendParityTests), the arena, NVRTC, the face networks, the direct load.
timeout 420 bash -c 'bash .gpu/run.sh PFStorer.Kernels.Tests' > "$out/kernels-tests.txt" 2>&1
tests_rc=$?

# The 512 model's f16 checkpoint straight onto the GPU: time, host pool peak, peak RSS (second run: file cached).
timeout 120 bash -c 'bash .gpu/run.sh PFStorer.Benchmarks load-write /tmp/w.safetensors f16' > "$out/load.txt" 2>&1
for i in 1 2; do timeout 60 bash -c 'bash .gpu/run.sh PFStorer.Benchmarks load-time /tmp/w.safetensors cuda' >> "$out/load.txt" 2>&1; done
rm -f /tmp/w.safetensors

echo "== device check =="
cat "$out/gpu.txt"
echo "kernel tests (rc $tests_rc): $(grep -E 'Total:' "$out/kernels-tests.txt" | tail -1 | sed 's/^[^A-Za-z]*//')"
grep -E '\[FAIL\]' "$out/kernels-tests.txt" | head -20
echo "load onto cuda: $(grep 'loaded onto' "$out/load.txt" | tail -1)"
