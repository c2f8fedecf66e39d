#!/usr/bin/env bash
# The decode kernel v2 (kernels/decode.ts: one round of loads per key range) against the fused
# kernel, in one GPU call. Nq=1, Hq=32, Hkv=8, D=128. First a tile sweep at B=1, 32k keys (f16, then
# f32: --decode-kernel threads,lanes,loadBytes), then decode on/off at 4k–128k keys, f32 and f16,
# contiguous and paged (bench --paged 16 runs each case both ways), then B=8. The "of floor" column is
# the share of the copy bandwidth measured in the same process; the JSON names the kernels that ran.
# usage (GPU machine): source .gpu/prelude.sh; OUT=$OUT bash bench/decode-v2.sh
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cli="node dist/cli/main.js"
b() { # name, then bench flags
  local name=$1; shift
  timeout 90 $cli bench --backend webgpu --algorithms flash --heads 32 --kv-heads 8 --head-dim 128 --samples 7 --seq 1 "$@" \
    --json "$OUT/$name.json" 2>&1 | sed -n '3,$p' | grep -v '^---' | sed "s|^|$name |" | tee -a "$OUT/decode-v2.txt"
}
for t in on 128,4,256 256,4,128 256,4,512 256,8,256 512,4,256 256,2,256 64,4,256; do
  b "sweep-f16-${t//,/x}" --batch 1 --seq-k 32768 --dtype f16 --decode-kernel $t
done
for t in on 256,4,512 256,8,256 128,4,256; do
  b "sweep-f32-${t//,/x}" --batch 1 --seq-k 32768 --dtype f32 --decode-kernel $t
done
for nk in 4096 16384 32768 131072; do
  for dk in on off; do b "b1-$nk-$dk" --batch 1 --seq-k $nk --dtype f32,f16 --paged 16 --decode-kernel $dk; done
done
for nk in 16384 65536; do
  for dk in on off; do b "b8-$nk-$dk" --batch 8 --seq-k $nk --dtype f16 --paged 16 --decode-kernel $dk; done
done
