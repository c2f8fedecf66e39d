#!/usr/bin/env bash
# A/B of two builds' split-K combine, each kernel timed alone (bench --step-times), interleaved
# (A, B, A, B): decoding Nq=1, Hq=32, Hkv=8, D=128, f32 and f16, B=1 at 8k–128k keys (32 to 512
# parts a row) and B=8 at 32k. The combine is the second step. Lines in $OUT/combine-ab.txt.
# usage (GPU machine): source .gpu/prelude.sh; OUT=$OUT bash bench/combine-ab.sh DIST_A DIST_B
# env: REPS (default 2), DTYPES (default f32,f16), SHAPES ("batch keys" pairs, comma-separated)
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
J=/tmp/combine-ab-json; rm -rf $J; mkdir -p $J
IFS=, read -ra shapes <<<"${SHAPES-1 8192,1 32768,1 65536,1 131072,8 32768}"
for rep in $(seq 1 "${REPS:-2}"); do
  for shape in "${shapes[@]}"; do
    read -r bt nk <<<"$shape"
    for dist in "$1" "$2"; do
      name="r$rep-b$bt-$nk-$(basename "$dist")"
      timeout 100 node "$dist/cli/main.js" bench --backend webgpu --algorithms flash --heads 32 --kv-heads 8 --head-dim 128 --samples 7 \
        --seq 1 --step-times --batch "$bt" --seq-k "$nk" --dtype "${DTYPES:-f32,f16}" --json "$J/$name.json" > /dev/null 2>&1
      python3 bench/step-summary.py "$J/$name.json" "$name" | tee -a "$OUT/combine-ab.txt"
    done
  done
done
tar -C $J -cJf "$OUT/combine-ab.tar.xz" .
