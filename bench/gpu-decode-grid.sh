#!/usr/bin/env bash
# Issue 15's decode grid in one GPU call: Nq=1, Hq=32, Hkv=8, D=128, contiguous and paged (16-row
# pages, shuffled: bench --paged runs each case both ways), batch 1 (1k-128k keys), 8 (1k-32k) and
# 64 (1k-4k), f32 and f16 (B=64: f16, and f32 at 1k), each kernel also timed alone (--step-times);
# the fused kernel (--decode-kernel off) at a few points for the A/B; then PyTorch SDPA (flash, cuDNN,
# efficient, math) on the same shapes. The "of floor" column is the share of the copy bandwidth
# measured in the same process. Summary: $OUT/grid.txt; JSON: $OUT/grid.tar.xz (few files come back).
# usage (GPU machine): source .gpu/prelude.sh; OUT=$OUT bash bench/gpu-decode-grid.sh
# env: B1_NKS, B8_NKS, B64_NKS (key counts per batch size), DTYPES (default f32,f16), FUSED=0 (no fused A/B),
# PEERS=0 (no PyTorch), PEER_ARGS (decode.py's shapes, ';'-separated)
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
J=/tmp/grid-json; rm -rf $J; mkdir -p $J
cli="node dist/cli/main.js"
b() { # name, then bench flags
  local name=$1; shift
  timeout 100 $cli bench --backend webgpu --algorithms flash --heads 32 --kv-heads 8 --head-dim 128 --samples 5 --seq 1 --step-times --paged 16 "$@" \
    --json "$J/$name.json" > /dev/null 2>&1
  python3 bench/step-summary.py "$J/$name.json" "$name" | tee -a "$OUT/grid.txt"
}
for nk in ${B1_NKS-1024 4096 16384 32768 65536 131072}; do b "b1-$nk" --batch 1 --seq-k $nk --dtype "${DTYPES:-f32,f16}"; done
for nk in ${B8_NKS-1024 4096 16384 32768}; do b "b8-$nk" --batch 8 --seq-k $nk --dtype "${DTYPES:-f32,f16}"; done
for nk in ${B64_NKS-1024 4096}; do b "b64-$nk" --batch 64 --seq-k $nk --dtype "${DTYPES:-f32,f16}"; done
if [ "${FUSED:-1}" != 0 ]; then
  b "b1-32768-fused" --batch 1 --seq-k 32768 --dtype f32,f16 --decode-kernel off
  b "b1-131072-fused" --batch 1 --seq-k 131072 --dtype f16 --decode-kernel off
  b "b8-32768-fused" --batch 8 --seq-k 32768 --dtype f16 --decode-kernel off
  b "b64-4096-fused" --batch 64 --seq-k 4096 --dtype f16 --decode-kernel off
fi
if [ "${PEERS:-1}" != 0 ]; then
  IFS=';' read -ra peer_args <<<"${PEER_ARGS-"--batch 1,8 --nk 1024,4096,16384,32768;--batch 1 --nk 65536,131072;--batch 64 --nk 1024,4096"}"
  for args in "${peer_args[@]}"; do
    timeout 120 python3 bench/peers/decode.py --nq 1 $args --heads 32 --kv-heads 8 --head-dim 128 \
      --json "$J/sdpa-$(echo $args | tr -dc '0-9')".json 2>&1 | grep -E "flash|cudnn" | tee -a "$OUT/grid.txt"
  done
fi
tar -C $J -cJf "$OUT/grid.tar.xz" .
