#!/usr/bin/env bash
# The decode kernel (kernels/decode.ts) against the fused kernel on issue 15's decode shapes,
# in one GPU call: Nq=1, Hq=32, Hkv=8, D=128, f32 and f16, --decode-kernel on/off, paged
# 16-row pages, two kernel parameters (WEBGPU_ATTENTION_DECODE_TUNE), then PyTorch SDPA on the
# same shapes. usage (GPU machine): source .gpu/prelude.sh; OUT=$OUT bash bench/decode-kernel.sh
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cli="node dist/cli/main.js"
b() { # name, then bench flags
  local name=$1; shift
  timeout 60 $cli bench --backend webgpu --algorithms flash --heads 32 --kv-heads 8 --head-dim 128 --samples 5 "$@" \
    --json "$OUT/$name.json" 2>&1 | sed -n '3,$p' | sed "s|^|$name |" | tee -a "$OUT/decode-kernel.txt"
}
for dk in on off; do
  b "b1-$dk" --batch 1 --seq 1 --seq-k 16384,32768,131072 --dtype f32,f16 --decode-kernel $dk
  b "b8-$dk" --batch 8 --seq 1 --seq-k 16384,65536 --dtype f16 --decode-kernel $dk
done
b paged --batch 1 --seq 1 --seq-k 32768,131072 --dtype f16 --paged 16 --decode-kernel on
b paged-b8 --batch 8 --seq 1 --seq-k 65536 --dtype f16 --paged 16 --decode-kernel on
for t in lanes=16 threads=128; do
  WEBGPU_ATTENTION_DECODE_TUNE=$t b "tune-$t" --batch 1 --seq 1 --seq-k 32768 --dtype f16 --decode-kernel on
done
timeout 60 python3 bench/peers/decode.py --nq 1 --batch 1,8 --nk 16384,32768,65536,131072 --heads 32 --kv-heads 8 --head-dim 128 \
  --json "$OUT/sdpa-decode.json" 2>&1 | grep -E "flash|cudnn" | tee -a "$OUT/decode-kernel.txt"
