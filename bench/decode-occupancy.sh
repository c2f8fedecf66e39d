#!/usr/bin/env bash
# Does the f16 decode kernel wait on its own latency (few workgroups resident per SM) rather than on
# memory? One GPU call: bench --step-times (each kernel alone, warm) over forced decode tiles with
# fewer keys per workgroup (fewer registers per invocation, so more workgroups resident), f16,
# Nq=1, Hq=32, Hkv=8, D=128, B=1 32k and B=8 16k keys; the default tile and f32 for reference.
# Lines in $OUT/occupancy.txt, JSON in $OUT/occupancy.tar.xz.
# usage (GPU machine): source .gpu/prelude.sh; OUT=$OUT bash bench/decode-occupancy.sh
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
J=/tmp/occupancy-json; rm -rf $J; mkdir -p $J
cli="node dist/cli/main.js"
b() { # name, then bench flags
  local name=$1; shift
  timeout 90 $cli bench --backend webgpu --algorithms flash --heads 32 --kv-heads 8 --head-dim 128 --samples 5 --seq 1 --step-times "$@" \
    --json "$J/$name.json" > /dev/null 2>"$J/$name.err"
  python3 bench/step-summary.py "$J/$name.json" "$name" | tee -a "$OUT/occupancy.txt"
}
for t in ${TILES:-on 256,4,128 128,4,256 128,4,128 256,4,64 256,8,128 64,4,256 128,8,128}; do
  b "f16-b1-32k-${t//,/x}" --batch 1 --seq-k 32768 --dtype f16 --decode-kernel $t
done
for t in on 256,4,128 128,4,128; do
  b "f16-b8-16k-${t//,/x}" --batch 8 --seq-k 16384 --dtype f16 --decode-kernel $t
done
b "f32-b1-32k-on" --batch 1 --seq-k 32768 --dtype f32 --decode-kernel on
tar -C $J -cJf "$OUT/occupancy.tar.xz" .
