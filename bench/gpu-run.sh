#!/usr/bin/env bash
# One call on the GPU machine: info, a quick verify, the foundation bench grid
# (ours, naive and flash), N=65536 with one head, and PyTorch SDPA on the same
# shapes. Results land in $OUT. Usage (after `source .gpu/prelude.sh`):
#   bash bench/gpu-run.sh [quick]
set -uo pipefail
OUT=${OUT:-/tmp/out}
mkdir -p "$OUT"
cli="node dist/cli/main.js"
$cli info 2>&1 | tee "$OUT/info.txt"
$cli verify --backend webgpu --quick 2>&1 | tee "$OUT/verify.txt"
seqs=${SEQS:-1024,4096,16384}
for causal in "" "--causal"; do
  $cli bench --backend webgpu --algorithms naive,flash --seq "$seqs" --batch 1 --heads 16 --head-dim 64,128 \
    $causal --json "$OUT/bench${causal:+-causal}.json" 2>&1 | tee -a "$OUT/bench.txt"
done
$cli bench --backend webgpu --algorithms naive,flash --seq 65536 --heads 1 --head-dim 64 --samples 3 \
  --json "$OUT/bench-65536.json" 2>&1 | tee -a "$OUT/bench.txt"
python3 bench/peers/sdpa.py --seq "$seqs" --head-dim 64,128 --heads 16 --causal-both --json "$OUT/sdpa.json" 2>&1 | tail -40
