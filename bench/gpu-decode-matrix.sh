#!/usr/bin/env bash
# The tensor-core decode kernel (kernels/decode-matrix.ts) against the SIMT decode kernel, in one GPU
# call: Nq=1, Hq=32, Hkv=8, D=128, f16, contiguous and paged (16-row shuffled pages: bench --paged runs
# both), each kernel also timed alone (--step-times). Variants interleaved per shape so a slow stretch
# shows as an outlier: SIMT (--tensor-cores off), the default (256 keys per range), and the TILES list
# (subgroups,keys[,prefetch]: keys per range; prefetch issues the first V loads before the softmax).
# The "of floor" column is the share of the copy bandwidth measured in the same process.
# Lines: $OUT/decode-matrix.txt; JSON: $OUT/decode-matrix.tar.xz.
# usage (GPU machine): source .gpu/prelude.sh; OUT=$OUT bash bench/gpu-decode-matrix.sh
# env: SHAPES ("batch keys" pairs, comma-separated), TILES, REPS (default 1)
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
J=/tmp/decode-matrix-json; rm -rf $J; mkdir -p $J
export WEBGPU_ATTENTION_DAWN_FLAGS="enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia"
IFS=, read -ra shapes <<<"${SHAPES-1 16384,1 32768,1 65536,1 131072,8 16384,8 32768,64 1024,64 4096}"
for rep in $(seq 1 "${REPS:-1}"); do
  for shape in "${shapes[@]}"; do
    read -r bt nk <<<"$shape"
    for tc in off on ${TILES-8,128 8,512 8,256,prefetch}; do
      name="r$rep-b$bt-$nk-${tc//,/_}"
      timeout 100 node dist/cli/main.js bench --backend webgpu --algorithms flash --heads 32 --kv-heads 8 --head-dim 128 --samples 5 \
        --seq 1 --step-times --paged 16 --batch "$bt" --seq-k "$nk" --dtype f16 --tensor-cores "$tc" --json "$J/$name.json" > /dev/null 2>&1
      python3 bench/step-summary.py "$J/$name.json" "$name" | tee -a "$OUT/decode-matrix.txt"
    done
  done
done
tar -C $J -cJf "$OUT/decode-matrix.tar.xz" .
