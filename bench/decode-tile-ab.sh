#!/usr/bin/env bash
# Decode-kernel tiles side by side in one GPU call, each kernel timed alone (bench --step-times):
# Nq=1, Hq=32, Hkv=8, D=128, for each shape every tile in TILES (`--decode-kernel` values: on, or
# threads,lanes,loadBytes), interleaved per shape so a slow stretch shows as an outlier.
# Lines in $OUT/decode-tile-ab.txt.
# usage (GPU machine): source .gpu/prelude.sh; OUT=$OUT bash bench/decode-tile-ab.sh
# env: SHAPES ("batch keys" pairs, comma-separated), TILES (space-separated), SPLITS (key ranges per
# head, space-separated, - for the planned number; default -), DTYPE (default f16), REPS (default 1),
# EXTRA (more bench flags, e.g. --paged 16)
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
J=/tmp/decode-tile-ab-json; rm -rf $J; mkdir -p $J
IFS=, read -ra shapes <<<"${SHAPES-1 32768,1 131072,8 16384}"
for rep in $(seq 1 "${REPS:-1}"); do
  for shape in "${shapes[@]}"; do
    read -r bt nk <<<"$shape"
    for tile in ${TILES-on 256,4,128 128,4,256}; do
      for split in ${SPLITS:--}; do
        name="r$rep-b$bt-$nk-${tile//,/_}-s$split"
        extra=(); [ "$split" != - ] && extra=(--key-splits "$split")
        timeout 100 node dist/cli/main.js bench --backend webgpu --algorithms flash --heads 32 --kv-heads 8 --head-dim 128 --samples 5 \
          --seq 1 --step-times --batch "$bt" --seq-k "$nk" --dtype "${DTYPE:-f16}" --decode-kernel "$tile" "${extra[@]}" ${EXTRA-} --json "$J/$name.json" > /dev/null 2>&1
        python3 bench/step-summary.py "$J/$name.json" "$name" | tee -a "$OUT/decode-tile-ab.txt"
      done
    done
  done
done
tar -C $J -cJf "$OUT/decode-tile-ab.tar.xz" .
