#!/usr/bin/env bash
# A/B of two builds for a refactor that must not move speed (one GPU call): quick verify of
# build B, then forward (D=64/128, causal and not, a variant), backward and decoding, each
# shape run A, B, A, B so the spread between repeats is visible. Text in $OUT/refactor-ab.txt.
# usage: bash bench/refactor-ab.sh DIST_A DIST_B
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
log="$OUT/refactor-ab.txt"
node "$2/cli/main.js" verify --backend webgpu --quick 2>&1 | tail -1 | sed 's/^/verify B: /' | tee -a "$log"
bench() { node "$1/cli/main.js" bench --backend webgpu --algorithms flash "${@:2}" 2>/dev/null | sed -n '3,$p'; }
for rep in 1 2; do
  for pair in "a:$1" "b:$2"; do
    tag="${pair%%:*}$rep"; dist="${pair#*:}"
    bench "$dist" --seq 4096 --heads 16 --head-dim 64,128 | sed "s|^|$tag fwd: |" | tee -a "$log"
    bench "$dist" --seq 4096 --heads 16 --head-dim 64,128 --causal | sed "s|^|$tag fwd causal: |" | tee -a "$log"
    bench "$dist" --seq 4096 --heads 16 --head-dim 64 --causal --variant window:256 | sed "s|^|$tag fwd window: |" | tee -a "$log"
    bench "$dist" --seq 4096 --heads 16 --head-dim 64 --variant alibi | sed "s|^|$tag fwd alibi: |" | tee -a "$log"
    bench "$dist" --seq 4096 --heads 16 --head-dim 64,128 --backward | sed 's/device buffers.*score matrix would be [^)]*); //' | sed "s|^|$tag bwd: |" | tee -a "$log"
    bench "$dist" --seq 1 --seq-k 32768 --heads 32 --kv-heads 8 --head-dim 128 | sed "s|^|$tag decode: |" | tee -a "$log"
  done
done
