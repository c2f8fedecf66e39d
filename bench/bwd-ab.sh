#!/usr/bin/env bash
# Backward A/B of two builds with their defaults (one GPU call): N=4096 D=64/128 causal and
# not, twice, then N=1024 and 16384 at D=64; quick verify of build B first. Text in $OUT/bwd-ab.txt.
# usage: bash bench/bwd-ab.sh DIST_A DIST_B
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
node "$2/cli/main.js" verify --backend webgpu --quick 2>&1 | tail -1 | tee "$OUT/verify.txt"
run() { node "$1/cli/main.js" bench --backend webgpu --algorithms flash --heads 16 --backward "${@:2}" 2>/dev/null | sed -n '3,$p' | sed 's/device buffers.*score matrix would be [^)]*); //'; }
for rep in 1 2; do
  for pair in "a:$1" "b:$2"; do
    for c in "" --causal; do
      run "${pair#*:}" --seq 4096 --head-dim 64,128 $c | sed "s|^|${pair%%:*} $c: |" | tee -a "$OUT/bwd-ab.txt"
    done
  done
done
for pair in "a:$1" "b:$2"; do
  run "${pair#*:}" --seq 1024,16384 --head-dim 64 | sed "s|^|${pair%%:*}: |" | tee -a "$OUT/bwd-ab.txt"
done
