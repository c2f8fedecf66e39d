#!/usr/bin/env bash
# Backward A/B of two builds (default tiles) and a tile sweep of build B, one GPU call.
# usage: bash bench/bwd-tiles.sh DIST_A DIST_B "64:tx,ty,rm,cn … 128:…"; text in $OUT/bwd-tiles.txt
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
run() { node "$1/cli/main.js" bench --backend webgpu --algorithms flash --seq 4096 --heads 16 --backward "${@:2}" 2>/dev/null | sed -n '3,$p'; }
for rep in 1 2; do
  for pair in "a:$1" "b:$2"; do
    run "${pair#*:}" --head-dim 64,128 | sed "s|^|${pair%%:*} default: |" | tee -a "$OUT/bwd-tiles.txt"
    run "${pair#*:}" --head-dim 64,128 --causal | sed "s|^|${pair%%:*} default: |" | tee -a "$OUT/bwd-tiles.txt"
  done
done
for spec in $3; do
  run "$2" --head-dim "${spec%%:*}" --tile "${spec#*:}" | sed "s|^|b tile ${spec}: |" | tee -a "$OUT/bwd-tiles.txt"
done
