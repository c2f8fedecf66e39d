#!/usr/bin/env bash
# A/B of two builds on one GPU call: forward and backward at N=4096, B·Hq=16, D=64 and 128.
# usage: bash bench/ab.sh DIST_A DIST_B [extra bench flags]; JSON in $OUT/ab-{a,b}-{fwd,bwd}.json
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
for pair in "a:$1" "b:$2"; do
  name=${pair%%:*}; dist=${pair#*:}
  for pass in fwd bwd; do
    flag=$([ $pass = bwd ] && echo --backward)
    node "$dist/cli/main.js" bench --backend webgpu --algorithms flash --seq 4096 --heads 16 --head-dim 64,128 $flag "${@:3}" \
      --json "$OUT/ab-$name-$pass.json" 2>/dev/null | sed -n '3,$p' | sed "s|^|$name ($dist) $pass: |"
  done
done
