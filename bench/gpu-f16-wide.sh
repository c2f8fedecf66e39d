#!/usr/bin/env bash
# f16 K/V read 16 bytes per load (F16_WIDE) vs f32: decode over 8k–128k keys at the default
# range count and 32/64 ranges, each twice (separate processes), and the N=4096 forward.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cli="node dist/cli/main.js"
row() { sed -n '3,$p' | sed "s|^|$1: |" | tee -a "$OUT/wide.txt"; }
for nk in 8192 32768 131072; do
  shape="--algorithms flash --seq 1 --seq-k $nk --heads 32 --kv-heads 8 --head-dim 128 --samples 10"
  for i in 1 2; do $cli bench --backend webgpu $shape --dtype f32,f16 --json "$OUT/decode-$nk-$i.json" 2>/dev/null | row "auto #$i"; done
  for s in 32 64; do $cli bench --backend webgpu $shape --dtype f16 --key-splits $s 2>/dev/null | row "splits $s"; done
done
for c in "" "--causal"; do
  $cli bench --backend webgpu --algorithms flash --seq 4096 --heads 16 --head-dim 64,128 $c --dtype f32,f16 2>/dev/null | tee -a "$OUT/wide.txt"
done
