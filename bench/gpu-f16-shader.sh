#!/usr/bin/env bash
# The f16 tiers side by side (one GPU call): f16-storage (Dawn's default on NVIDIA: no
# shader-f16) and f16-shader (Dawn toggle vulkan_enable_f16_on_nvidia offers shader-f16,
# so the fused forward keeps f16 workgroup tiles), at the issue-13 forward shapes (B=1,
# H=16, N=4096, D 64/128, causal and not) and decoding (Nq=1, Hq=32, Hkv=8, D=128,
# 8k–128k keys). Then PyTorch SDPA f16 on the same shapes (PEERS=0 skips it).
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
cli="node dist/cli/main.js"
F16_FLAGS="enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia"
log() { tee -a "$OUT/tiers.txt"; }
for tier in storage shader; do
  if [ $tier = shader ]; then export WEBGPU_ATTENTION_DAWN_FLAGS=$F16_FLAGS; else unset WEBGPU_ATTENTION_DAWN_FLAGS; fi
  echo "== tier $tier" | log
  $cli info 2>&1 | grep -E "dtypes|tiles" | log
  for rep in 1 2; do
    for d in 64 128; do
      for c in "" "--causal"; do
        $cli bench --backend webgpu --algorithms flash --seq 4096 --heads 16 --head-dim $d $c --dtype f16 \
          --json "$OUT/$tier-fwd-d$d${c:+-causal}-$rep.json" 2>/dev/null | sed -n '3,$p' | sed "s|^|$tier D$d${c:+ causal} #$rep: |" | log
      done
    done
  done
  for nk in 8192 32768 131072; do
    $cli bench --backend webgpu --algorithms flash --seq 1 --seq-k $nk --heads 32 --kv-heads 8 --head-dim 128 --dtype f16 --samples 10 \
      --json "$OUT/$tier-decode-$nk.json" 2>/dev/null | sed -n '3,$p' | sed "s|^|$tier decode $nk: |" | log
  done
done
unset WEBGPU_ATTENTION_DAWN_FLAGS
if [ "${PEERS:-1}" != 0 ]; then
  python3 bench/peers/sdpa.py --seq 4096 --head-dim 64,128 --heads 16 --causal-both --dtypes f16 --json "$OUT/sdpa.json" 2>&1 | log
  python3 bench/peers/decode.py --nq 1 --nk 8192,32768,131072 --heads 32 --kv-heads 8 --head-dim 128 --json "$OUT/sdpa-decode.json" 2>&1 | log
fi
