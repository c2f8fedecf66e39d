#!/usr/bin/env bash
# A/B of two or more builds' decode programs, each kernel timed alone (bench --step-times: the decode
# kernel, then the split-K combine), interleaved (A, B, A, B) so a slow stretch shows as an
# outlier, not a trend: Nq=1, Hq=32, Hkv=8, D=128; by default f16 at B=1 32k and 128k keys and
# B=8 16k, f32 at B=1 32k. Lines in $OUT/decode-ab.txt.
# usage (GPU machine): source .gpu/prelude.sh; OUT=$OUT bash bench/decode-ab-steps.sh DIST_A DIST_B [DIST_C ...]
# env: SHAPES ("dtype batch keys" triples, comma-separated), REPS (default 2), SAMPLES (default 5)
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
J=/tmp/decode-ab-json; rm -rf $J; mkdir -p $J
IFS=, read -ra shapes <<<"${SHAPES-f16 1 32768,f16 1 131072,f16 8 16384,f32 1 32768}"
for rep in $(seq 1 "${REPS:-2}"); do
  for shape in "${shapes[@]}"; do
    read -r dt bt nk <<<"$shape"
    for dist in "$@"; do
      name="r$rep-$dt-b$bt-$nk-$(basename "$dist")"
      timeout 100 node "$dist/cli/main.js" bench --backend webgpu --algorithms flash --heads 32 --kv-heads 8 --head-dim 128 --samples "${SAMPLES:-5}" \
        --seq 1 --step-times --batch "$bt" --seq-k "$nk" --dtype "$dt" --json "$J/$name.json" > /dev/null 2>&1
      python3 bench/step-summary.py "$J/$name.json" "$name" | tee -a "$OUT/decode-ab.txt"
    done
  done
done
tar -C $J -cJf "$OUT/decode-ab.tar.xz" .
