#!/usr/bin/env bash
# Where a decode call's time goes, in one GPU call: bench --step-times (each kernel of the forward
# alone: the decode or fused kernel, then the combine) for the decode kernel's tiles and the fused
# kernel, Nq=1, Hq=32, Hkv=8, D=128, each case in REPEAT fresh processes (interleaved, so a slow
# process shows as one outlier, not as a trend), with nvidia-smi sampling the GPU's utilization and
# clocks all along (another tenant on the GPU would show as utilization while we are idle).
# Everything lands in $OUT/steps.txt and $OUT/steps.tar.xz (the device returns few files).
# usage (GPU machine): source .gpu/prelude.sh; OUT=$OUT bash bench/decode-steps.sh
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
J=/tmp/steps-json; rm -rf $J; mkdir -p $J
REPEAT=${REPEAT:-2}
cli="node dist/cli/main.js"
nvidia-smi --query-gpu=timestamp,utilization.gpu,utilization.memory,clocks.sm,clocks.mem,power.draw --format=csv -lms 250 > $J/smi.csv 2>&1 &
SMI=$!
b() { # name, then bench flags
  local name=$1; shift
  timeout 90 $cli bench --backend webgpu --algorithms flash --heads 32 --kv-heads 8 --head-dim 128 --samples 5 --seq 1 --step-times "$@" \
    --json "$J/$name.json" > /dev/null 2>&1
  python3 bench/step-summary.py "$J/$name.json" "$name" | tee -a "$OUT/steps.txt"
}
for t in on 512,4,256 512,4,128 1024,4,128 512,8,256 512,2,256; do
  b "f16-32k-${t//,/x}" --batch 1 --seq-k 32768 --dtype f16 --decode-kernel $t
done
b "f32-32k-512x4x256" --batch 1 --seq-k 32768 --dtype f32 --decode-kernel 512,4,256
for rep in $(seq 1 $REPEAT); do
  for nk in 16384 32768 131072; do
    for dk in on off; do b "r$rep-b1-$nk-$dk" --batch 1 --seq-k $nk --dtype f32,f16 --decode-kernel $dk; done
  done
done
for dk in on off; do b "b8-32k-$dk" --batch 8 --seq-k 32768 --dtype f16 --decode-kernel $dk; done
kill $SMI 2>/dev/null
tar -C $J -cJf "$OUT/steps.tar.xz" .
