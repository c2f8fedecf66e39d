#!/usr/bin/env bash
# A/B of two or more builds' tensor-core forward, interleaved (A, B, A, B): f16, B=1, H=16, N=4096,
# D 64 and 128, causal and not, each checked against float64 by bench. Lines in $OUT/tc-ab.txt.
# usage (GPU machine): source .gpu/prelude.sh; OUT=$OUT bash bench/tc-ab.sh DIST_A DIST_B [...]
# env: REPS (default 2), SHAPES (replaces the four shapes: "name|bench flags" entries, ';'-separated,
# e.g. "d64b|--head-dim 64 --backward"), EXTRA (more such entries, run on every build)
# DTYPE (default f16), WEBGPU_ATTENTION_DAWN_FLAGS: Dawn toggles (default: the f16 and subgroup-matrix ones)
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
J=/tmp/tc-ab-json; rm -rf $J; mkdir -p $J
export WEBGPU_ATTENTION_DAWN_FLAGS="${WEBGPU_ATTENTION_DAWN_FLAGS:-enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia}"
IFS=';' read -ra extra <<<"${EXTRA-}"
IFS=';' read -ra shapes <<<"${SHAPES-d64|--head-dim 64;d64c|--head-dim 64 --causal;d128|--head-dim 128;d128c|--head-dim 128 --causal}"
for rep in $(seq 1 "${REPS:-2}"); do
  for shape in "${shapes[@]}" "${extra[@]}"; do
    [ -z "$shape" ] && continue
    for dist in "$@"; do
      name="r$rep-${shape%%|*}-$(basename "$dist")"
      timeout 100 node "$dist/cli/main.js" bench --backend webgpu --algorithms flash --dtype "${DTYPE:-f16}" --batch 1 --heads 16 --seq 4096 ${shape#*|} \
        --json "$J/$name.json" > /dev/null 2>&1
      python3 bench/tc-summary.py "$J/$name.json" "$name" | tee -a "$OUT/tc-ab.txt"
    done
  done
done
