#!/usr/bin/env bash
# Split-K on decoding and short calls (one GPU call): our forward with the defaults
# (small-row tile, automatic key ranges), unsplit (--key-splits 1) and forced range
# counts, then PyTorch SDPA on the same decoding shapes (PEERS=0 skips it).
# Results in $OUT (JSON of the default runs, decode.txt).
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cli="node dist/cli/main.js"
row() { sed -n '3,$p' | sed "s|^|$1: |" | tee -a "$OUT/decode.txt"; }
for d in 64 128; do
  for nk in 8192 32768; do
    shape="--seq 1 --seq-k $nk --heads 32 --kv-heads 8 --head-dim $d"
    $cli bench --backend webgpu --algorithms flash $shape --json "$OUT/decode-d$d-nk$nk.json" 2>/dev/null | row "default (auto)"
    for s in ${SPLITS:-1 8 16 32 64 128}; do
      $cli bench --backend webgpu --algorithms flash $shape --key-splits $s 2>/dev/null | row "key splits $s"
    done
  done
done
for hn in "4 1024" "4 2048" "16 1024"; do
  set -- $hn
  $cli bench --backend webgpu --algorithms flash --seq $2 --heads $1 --head-dim 64 --key-splits 1 2>/dev/null | row "short unsplit"
  $cli bench --backend webgpu --algorithms flash --seq $2 --heads $1 --head-dim 64 2>/dev/null | row "short default"
done
[ "${PEERS:-1}" = 0 ] || python3 bench/peers/decode.py --nq 1 --nk 8192,32768 --heads 32 --kv-heads 8 --head-dim 64,128 --json "$OUT/sdpa-decode.json" 2>&1 | tee -a "$OUT/decode.txt"
