#!/usr/bin/env bash
# One GPU call for the variants issue: causal vs full at N=8192, sliding window 256
# vs full at N=16384, built-in vs user-written ALiBi, and FlexAttention on the same.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cli="node dist/cli/main.js"
b() { $cli bench --backend webgpu --algorithms flash --heads 16 --head-dim 64 "$@" 2>/dev/null | sed -n '3,$p' | grep -v speed-up | tee -a "$OUT/variants.txt"; }
$cli verify --backend webgpu --quick 2>&1 | tail -8
b --seq 8192 --json "$OUT/v-8192.json"
b --seq 8192 --causal --json "$OUT/v-8192-causal.json"
b --seq 16384 --json "$OUT/v-16384.json"
b --seq 16384 --variant window:256 --json "$OUT/v-16384-window.json"
b --seq 4096,16384 --variant alibi --json "$OUT/v-alibi.json"
b --seq 4096,16384 --variant user-alibi --json "$OUT/v-user-alibi.json"
python3 bench/peers/flex.py --seq 8192,16384 --heads 16 --head-dim 64 --window 256 --json "$OUT/flex.json" 2>&1 | grep "^flex"
