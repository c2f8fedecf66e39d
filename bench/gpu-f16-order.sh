#!/usr/bin/env bash
# Is the f16 forward's occasional 2–5× slowdown tied to f16, or to running second in a
# process? The same decode shape four times in each order, then the N=4096 D=64 forward.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cli="node dist/cli/main.js"
row() { sed -n '3,$p' | sed "s|^|$1: |" | tee -a "$OUT/order.txt"; }
shape="--algorithms flash --seq 1 --seq-k 32768 --heads 32 --kv-heads 8 --head-dim 128 --samples 10"
for i in 1 2 3 4; do
  $cli bench --backend webgpu $shape --dtype f16,f32 2>/dev/null | row "f16 first #$i"
  $cli bench --backend webgpu $shape --dtype f32,f16 2>/dev/null | row "f32 first #$i"
done
for i in 1 2; do
  $cli bench --backend webgpu --algorithms flash --seq 4096 --heads 16 --head-dim 64 --dtype f16,f32 2>/dev/null | row "fwd f16 first #$i"
done
