#!/usr/bin/env bash
# One GPU call for the backward issue: verify (quick, includes backward cases), our fused
# backward at N=4096 D=64/128 (causal and not), forward at the same shapes for the ratio,
# and PyTorch SDPA f32 backward from the same call.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cli="node dist/cli/main.js"
$cli verify --backend webgpu --quick 2>&1 | grep -E "backward|passed" | tail -14
for c in "" --causal; do
  $cli bench --backend webgpu --algorithms flash --seq 4096 --heads 16 --head-dim 64,128 $c --backward --json "$OUT/bwd${c}.json" 2>/dev/null | sed -n '3,$p'
  $cli bench --backend webgpu --algorithms flash --seq 4096 --heads 16 --head-dim 64,128 $c --json "$OUT/fwd${c}.json" 2>/dev/null | sed -n '3,$p'
done
python3 bench/peers/sdpa_bwd.py --seq 4096 --head-dim 64,128 --heads 16 --json "$OUT/sdpa-bwd.json" 2>&1 | grep "^sdpa"
