#!/usr/bin/env bash
# dQ-pass tiles (dS in the V tile): backward A/B of two builds with their defaults, then
# build B with each dQ tile forced (bench --dq-tile; the 2026-11-27 sweep used a prototype
# hook with the same effect). One GPU call.
# usage: bash bench/dq-tiles.sh DIST_A DIST_B "64:tx,ty,rm,cn[,ds-in-v] … 128:…"; text in $OUT/dq-tiles.txt
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
run() { node "$1/cli/main.js" bench --backend webgpu --algorithms flash --seq 4096 --heads 16 --backward "${@:2}" 2>/dev/null | sed -n '3,$p' | sed 's/device buffers.*score matrix would be [^)]*); //'; }
for rep in 1 2; do
  for pair in "a:$1" "b:$2"; do
    for c in "" --causal; do
      for d in 64 128; do run "${pair#*:}" --head-dim $d $c | sed "s|^|${pair%%:*} default D$d $c: |" | tee -a "$OUT/dq-tiles.txt"; done
    done
  done
done
for spec in $3; do
  run "$2" --head-dim "${spec%%:*}" --dq-tile "${spec#*:}" | sed "s|^|b dq ${spec}: |" | tee -a "$OUT/dq-tiles.txt"
done
