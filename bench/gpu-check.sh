#!/usr/bin/env bash
# One GPU call after a correctness change to the kernels: quick verify and the decode cases, then the
# forward grid (naive and flash, causal and not) and the backward at N=4096, to
# see what the change cost. Results in $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cli="node dist/cli/main.js"
$cli verify --backend webgpu --quick 2>&1 | tail -1 | tee "$OUT/verify.txt"
# The decode cases, some forced onto the subgroup decode kernel (32-lane subgroups: the GPU machine only).
$cli verify --backend webgpu --filter decode > "$OUT/verify-decode.txt" 2>&1; tail -2 "$OUT/verify-decode.txt"
for c in "" --causal; do
  $cli bench --backend webgpu --algorithms naive,flash --seq ${SEQS:-1024,4096,16384} --heads 16 --head-dim 64,128 $c \
    --json "$OUT/fwd${c}.json" 2>/dev/null | sed -n '3,$p'
done
$cli bench --backend webgpu --algorithms flash --seq 4096 --heads 16 --head-dim 64 --backward --json "$OUT/bwd.json" 2>/dev/null | sed -n '3,$p'
