#!/usr/bin/env bash
# A/B of two builds on decoding shapes (one GPU call): B=1, 1 or 4 query rows, GQA 32:8 and 64:8,
# D=64/128, against 8192 and 32768 cached keys; then forced range counts on the second build.
# usage: bash bench/decode-ab.sh DIST_A DIST_B ; lines on stdout
set -uo pipefail
row() { sed -n 3p | sed "s|^|$1: |"; }
for d in 64 128; do for nk in 8192 32768; do
  for dist in "$1" "$2"; do
    node "$dist/cli/main.js" bench --backend webgpu --algorithms flash --seq 1 --seq-k $nk --heads 32 --kv-heads 8 --head-dim $d 2>/dev/null | row "$dist"
  done
  for s in ${SPLITS:-16 32 64 128}; do
    node "$2/cli/main.js" bench --backend webgpu --algorithms flash --seq 1 --seq-k $nk --heads 32 --kv-heads 8 --head-dim $d --key-splits $s 2>/dev/null | row "$2 splits $s"
  done
done; done
for dist in "$1" "$2"; do
  node "$dist/cli/main.js" bench --backend webgpu --algorithms flash --seq 4 --seq-k 8192 --heads 32 --kv-heads 8 --head-dim 128 --causal 2>/dev/null | row "$dist Nq=4 causal"
  node "$dist/cli/main.js" bench --backend webgpu --algorithms flash --seq 1 --seq-k 8192 --heads 64 --kv-heads 8 --head-dim 128 2>/dev/null | row "$dist GQA 64:8"
done
