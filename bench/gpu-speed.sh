#!/usr/bin/env bash
# One GPU call for the speed issue: subgroup A/B of the forward, tile search
# (bench --tune) for forward and backward, the tuned grid, backward with table
# gradients, and PyTorch (SDPA all backends, FlexAttention) on the same shapes,
# merged into one JSON and one table (bench --render). Results in $OUT.
# usage: bash bench/gpu-speed.sh [ours|peers|all]  (two stages fit the 10-minute call limit)
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
export WEBGPU_ATTENTION_CACHE="$OUT/tuning.json"
cli="node dist/cli/main.js"
seqs=${SEQS:-1024,4096,16384}
run() { echo "+ $*" >&2; "$@"; }
stage=${1:-all}
if [ "$stage" != peers ]; then
# A/B: subgroup row reductions off, then on (defaults, untuned).
WEBGPU_ATTENTION_SUBGROUPS=off WEBGPU_ATTENTION_CACHE=/nonexistent run $cli bench --backend webgpu --algorithms flash --seq 4096 --heads 16 --head-dim 64,128 --json "$OUT/ab-sg-off.json" 2>/dev/null | sed 's/^/sg off: /'
WEBGPU_ATTENTION_CACHE=/nonexistent run $cli bench --backend webgpu --algorithms flash --seq 4096 --heads 16 --head-dim 64,128 --json "$OUT/ab-sg-on.json" 2>/dev/null | sed 's/^/sg on:  /'
# Tile search per shape class, then the grid with the tuned tiles (naive too: the baseline).
for c in "" --causal; do
  run $cli bench --backend webgpu --algorithms naive,flash --seq "$seqs" --heads 16 --head-dim 64,128 $c --tune \
    --json "$OUT/ours-fwd${c}.json" 2>"$OUT/tune-fwd${c}.log"
done
run $cli bench --backend webgpu --algorithms flash --seq 4096 --heads 16 --head-dim 64,128 --backward --tune \
  --json "$OUT/ours-bwd.json" 2>"$OUT/tune-bwd.log"
run $cli bench --backend webgpu --algorithms flash --seq 4096 --heads 16 --head-dim 64 --backward --variant alibi \
  --json "$OUT/ours-bwd-alibi.json" 2>/dev/null
fi
if [ "$stage" != ours ]; then
python3 bench/peers/sdpa.py --seq "$seqs" --head-dim 64,128 --heads 16 --causal-both --json "$OUT/sdpa.json" > "$OUT/sdpa.log" 2>&1
python3 bench/peers/sdpa_bwd.py --seq 4096 --head-dim 64,128 --heads 16 --json "$OUT/sdpa-bwd.json" > "$OUT/sdpa-bwd.log" 2>&1
python3 bench/peers/flex.py --seq 4096,16384 --heads 16 --head-dim 64 --json "$OUT/flex.json" > "$OUT/flex.log" 2>&1
fi
files=$(ls "$OUT"/ours-*.json "$OUT"/sdpa*.json "$OUT"/flex.json 2>/dev/null | paste -sd, -)
$cli bench --render "$files" --json "$OUT/all.json" | tee "$OUT/all.txt"
