#!/usr/bin/env bash
# f16 vs f32 decoding (one GPU call): Nq=1, Hq=32, Hkv=8, D=128 over 8k–128k keys, the
# default key-range count and a forced sweep, 10 samples each; then N=4096 D=128 forward.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cli="node dist/cli/main.js"
row() { sed -n '3,$p' | sed "s|^|$1: |" | tee -a "$OUT/decode.txt"; }
for nk in 8192 16384 32768 65536 131072; do
  shape="--seq 1 --seq-k $nk --heads 32 --kv-heads 8 --head-dim 128 --samples 10"
  $cli bench --backend webgpu --algorithms flash $shape --dtype f32,f16 --json "$OUT/decode-$nk.json" 2>/dev/null | row "auto"
  for s in ${SPLITS:-16 32 64 128}; do
    $cli bench --backend webgpu --algorithms flash $shape --dtype f32,f16 --key-splits $s 2>/dev/null | row "splits $s"
  done
done
$cli bench --backend webgpu --algorithms flash --seq 4096 --heads 16 --head-dim 64,128 --dtype f32,f16 2>/dev/null | tee -a "$OUT/decode.txt"
