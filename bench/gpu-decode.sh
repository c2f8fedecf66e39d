#!/usr/bin/env bash
# Split-K on decoding and short calls (one GPU call): our forward unsplit (--key-splits 1)
# and split (automatic), with the default and small-row tiles, then PyTorch SDPA on the
# same decoding shapes. Results in $OUT (JSON per run, decode.txt).
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cli="node dist/cli/main.js"
row() { sed -n '3,$p' | sed "s|^|$1: |" | tee -a "$OUT/decode.txt"; }
for d in 64 128; do
  for nk in 8192 32768; do
    shape="--seq 1 --seq-k $nk --heads 32 --kv-heads 8 --head-dim $d"
    $cli bench --backend webgpu --algorithms flash $shape --key-splits 1 2>/dev/null | row "unsplit default"
    $cli bench --backend webgpu --algorithms flash $shape --json "$OUT/decode-d$d-nk$nk.json" 2>/dev/null | row "split default"
    for t in 16,4,1,1,share 16,8,1,1,share 16,8,2,2,share; do
      $cli bench --backend webgpu --algorithms flash $shape --tile $t 2>/dev/null | row "split tile $t"
    done
  done
done
for n in 1024 2048; do
  $cli bench --backend webgpu --algorithms flash --seq $n --heads 4 --head-dim 64 --key-splits 1 2>/dev/null | row "short unsplit"
  $cli bench --backend webgpu --algorithms flash --seq $n --heads 4 --head-dim 64 2>/dev/null | row "short split"
done
python3 bench/peers/decode.py --nq 1 --nk 8192,32768 --heads 32 --kv-heads 8 --head-dim 64,128 --json "$OUT/sdpa-decode.json" 2>&1 | tee -a "$OUT/decode.txt"
