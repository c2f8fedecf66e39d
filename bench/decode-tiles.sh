#!/usr/bin/env bash
# Decode tile sweep (one GPU call): Nq=1, Hq=32, Hkv=8 (GQA packing stacks 4 rows), D=128,
# f16, 8k–128k keys, over forced 4-row tiles with more keys per tile than the default
# 4×16, each at the automatic key-range count. Both f16 tiers (F16_FLAGS on: f16-shader).
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cli="node dist/cli/main.js"
[ -n "${F16_FLAGS:-}" ] && export WEBGPU_ATTENTION_DAWN_FLAGS=$F16_FLAGS
for nk in ${NKS:-32768 131072 8192}; do
  for tile in default ${TILES:-16,4,1,2 16,4,1,4 32,4,1,1 32,4,1,2 32,4,1,4 8,4,1,4 32,1,4,2 16,2,2,4}; do
    flag=""; [ "$tile" != default ] && flag="--tile $tile"
    $cli bench --backend webgpu --algorithms flash --seq 1 --seq-k $nk --heads 32 --kv-heads 8 --head-dim 128 --dtype ${DTYPE:-f16} --samples 10 $flag 2>&1 \
      | sed -n '3,$p' | sed "s|^|nk=$nk tile=$tile: |" | tee -a "$OUT/decode-tiles.txt"
  done
done
