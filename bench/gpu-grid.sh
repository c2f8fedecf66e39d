#!/usr/bin/env bash
# The speed issue's shape grid with the current defaults (no tuning), naive and flash,
# plus PyTorch SDPA on the same shapes, merged by bench --render (one GPU call).
# usage: bash bench/gpu-grid.sh ; results in $OUT (grid.txt, all.json)
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cli="node dist/cli/main.js"
seqs=${SEQS:-1024,4096,16384}
for c in "" --causal; do
  $cli bench --backend webgpu --algorithms naive,flash --seq "$seqs" --heads 16 --head-dim 64,128 $c --json "$OUT/ours-fwd${c}.json" 2>/dev/null | sed -n '3,$p'
done
python3 bench/peers/sdpa.py --seq "$seqs" --head-dim 64,128 --heads 16 --causal-both --dtypes f32 --json "$OUT/sdpa.json" > "$OUT/sdpa.log" 2>&1
$cli bench --render "$OUT/ours-fwd.json,$OUT/ours-fwd--causal.json,$OUT/sdpa.json" --json "$OUT/all.json" | tee "$OUT/grid.txt"
