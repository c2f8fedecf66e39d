#!/usr/bin/env bash
# Tile sweep of the fused forward kernel at N=4096, B·Hq=16 (one GPU call).
# usage: bash bench/tune.sh "64:tx,ty,rm,cn[,share] 128:…" ; results in $OUT/tune.txt
# BACKWARD=1 sweeps the backward kernels' tile (tx,ty,rm,cn) instead.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cli="node dist/cli/main.js"
for spec in $1; do
  d=${spec%%:*}; t=${spec#*:}
  for c in "" --causal; do
    $cli bench --backend webgpu --algorithms flash --seq ${SEQ:-4096} --heads 16 --head-dim "$d" --tile "$t" $c ${BACKWARD:+--backward} 2>/dev/null \
      | sed -n 3p | sed "s/^/tile $t: /" | tee -a "$OUT/tune.txt"
  done
done
