#!/usr/bin/env bash
# Issue 15's decode grid in one GPU call: Nq=1, Hq=32, Hkv=8, D=128, f32 and f16, contiguous
# and paged (16-row pages, shuffled: bench --paged), batch 1/8/64 × context 1k–128k (capped at
# batch × context ≤ 1M keys, so one page pool fits one 2 GiB binding in f16), the "of floor"
# column being the share of the copy bandwidth measured in the same process; then PyTorch SDPA.
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cli="node dist/cli/main.js"
[ -n "${F16_FLAGS:-}" ] && export WEBGPU_ATTENTION_DAWN_FLAGS=$F16_FLAGS
for b in 1 8 64; do
  for nk in 1024 4096 16384 65536 131072; do
    [ $((b * nk)) -gt 1048576 ] && continue
    dt=f32,f16; [ $((b * nk)) -gt 524288 ] && dt=f16
    $cli bench --backend webgpu --algorithms flash --batch $b --seq 1 --seq-k $nk --heads 32 --kv-heads 8 --head-dim 128 \
      --dtype $dt --paged 16 --samples 10 --json "$OUT/decode-b$b-$nk.json" 2>&1 | sed -n '3,$p' | tee -a "$OUT/grid.txt"
  done
done
if [ "${PEERS:-1}" != 0 ]; then
  python3 bench/peers/decode.py --nq 1 --batch 1,8,64 --nk 1024,4096,16384,65536,131072 --heads 32 --kv-heads 8 --head-dim 128 \
    --json "$OUT/sdpa-decode.json" 2>&1 | grep -E "flash|cudnn" | tee -a "$OUT/grid.txt"
fi
