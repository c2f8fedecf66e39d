#!/usr/bin/env bash
# f16 storage on the GPU machine (one call): the fused forward in f32 and f16 at the
# issue-13 shapes (B=1, H=16, N=4096, D 64/128, causal and not), decoding (Nq=1,
# Hq=32, Hkv=8, D=128, context 8k–128k), the f16 backward at N=4096 D=64, then
# PyTorch SDPA on the same shapes (PEERS=0 skips it). JSON and a log in $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cli="node dist/cli/main.js"
log() { tee -a "$OUT/f16.txt"; }
for d in 64 128; do
  for c in "" "--causal"; do
    $cli bench --backend webgpu --algorithms flash --seq 4096 --heads 16 --head-dim $d $c --dtype f32,f16 \
      --json "$OUT/fwd-d$d${c:+-causal}.json" 2>/dev/null | log
  done
done
for nk in 8192 32768 131072; do
  $cli bench --backend webgpu --algorithms flash --seq 1 --seq-k $nk --heads 32 --kv-heads 8 --head-dim 128 --dtype f32,f16 \
    --json "$OUT/decode-$nk.json" 2>/dev/null | log
done
$cli bench --backend webgpu --backward --seq 4096 --heads 16 --head-dim 64 --dtype f32,f16 --json "$OUT/bwd.json" 2>/dev/null | log
if [ "${PEERS:-1}" != 0 ]; then
  python3 bench/peers/sdpa.py --seq 4096 --head-dim 64,128 --heads 16 --causal-both --dtypes f32,f16 --json "$OUT/sdpa.json" 2>&1 | log
  python3 bench/peers/decode.py --nq 1 --nk 8192,32768,131072 --heads 32 --kv-heads 8 --head-dim 128 --json "$OUT/sdpa-decode.json" 2>&1 | log
fi
