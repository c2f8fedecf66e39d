#!/usr/bin/env bash
# Tile sweep of the fused forward kernel at N=4096, B·Hq=16 (one GPU call).
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cli="node dist/cli/main.js"
$cli verify --backend webgpu --quick 2>&1 | tail -3
run() { $cli bench --backend webgpu --algorithms flash --seq 4096 --heads 16 --head-dim "$1" --tile "$2" $3 --json "$OUT/tune-d$1-${2//,/_}$3.json" 2>/dev/null | sed -n 3p | sed "s/^/tile $2 $3: /"; }
for t in 8,16,4,4 8,16,4,4,share 16,8,4,4,share 8,8,8,4 16,8,4,2 8,8,4,4; do run 64 $t ""; done
run 64 8,16,4,4 --causal
for t in 16,8,4,2,share 8,8,4,4,share 16,16,2,2,share 8,16,4,2,share; do run 128 $t ""; done
