#!/usr/bin/env bash
# PROTOTYPE A/B: the decode kernel against decode-warp.ts (WEBGPU_ATTENTION_DECODE_WARP=W[,vfirst]),
# each kernel timed alone (bench --step-times), Nq=1, Hq=32, Hkv=8, D=128, f16 unless DTYPE.
# env: SHAPES ("batch keys", comma-separated), WARPS (W or W,vfirst; space-separated), SPLITS (subgroup ranges
# per head, - for the planned number)
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
IFS=, read -ra shapes <<<"${SHAPES-1 32768,8 16384}"
run() { # name, then env assignments for node
  local name=$1; shift
  env "$@" timeout 100 node dist/cli/main.js bench --backend webgpu --algorithms flash --heads 32 --kv-heads 8 --head-dim 128 --samples 5 \
    --seq 1 --step-times --batch "$bt" --seq-k "$nk" --dtype "${DTYPE:-f16}" "${extra[@]}" --json "/tmp/$name.json" > /dev/null 2>&1
  python3 bench/step-summary.py "/tmp/$name.json" "$name" | tee -a "$OUT/decode-warp-ab.txt"
}
for shape in "${shapes[@]}"; do
  read -r bt nk <<<"$shape"
  extra=(); run "b$bt-$nk-shipped" X=1
  for w in ${WARPS-4 4,vfirst 8}; do
    for s in ${SPLITS--}; do
      extra=(); [ "$s" != - ] && extra=(--key-splits "$s")
      run "b$bt-$nk-warp$w-s$s" WEBGPU_ATTENTION_DECODE_WARP="$w"
    done
  done
done
