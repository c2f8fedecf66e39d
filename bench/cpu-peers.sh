#!/usr/bin/env bash
# Issue 17's "done when" in one run on this machine: f32, B=1, H=8, D=64, N=512 and 2048,
# causal and not, 1 and 2 threads: ours (wasm SIMD, worker threads) beside onnxruntime-web
# wasm, onnxruntime-node CPU and tfjs-wasm (bench --peers), JSON per case in $OUT.
set -uo pipefail
OUT=${OUT:-bench/results/cpu-peers}; mkdir -p "$OUT"
for t in 1 2; do
  for c in "" "--causal"; do
    node dist/cli/main.js bench --backend cpu --algorithms flash --seq 512,2048 --heads 8 --head-dim 64 $c \
      --threads $t --peers --samples ${SAMPLES:-3} --json "$OUT/t$t${c:+-causal}.json" 2>/dev/null | tee -a "$OUT/peers.txt"
  done
done
