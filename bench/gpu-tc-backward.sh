#!/usr/bin/env bash
# The tensor-core backward (issue 14) on the GPU machine, one call:
#   1. verify's f16 cases (each runs forward, naive and backward; the backward ones on the matrix units);
#   2. bench --backward f16 at B=1, H=16, N=4096, D 64/128, causal and not: the tensor-core passes
#      (default subgroups, then each of TILES), the fused f32 passes between widen and narrow
#      (--tensor-cores off; SIMT=0 skips them), and the tensor-core forward for the ratio;
#   3. a soak: 100 timed backward samples at D=64 in one process;
#   4. PyTorch SDPA f16 backward (FlashAttention-2, cuDNN) on the same shapes (PEERS=0 skips it).
# usage (GPU machine): source .gpu/prelude.sh; OUT=$OUT TILES="4 8 16" bash bench/gpu-tc-backward.sh
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
J=/tmp/tc-bwd-json; rm -rf $J; mkdir -p $J
export WEBGPU_ATTENTION_DAWN_FLAGS="enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia"
cli="node dist/cli/main.js"
S=$OUT/tc-backward.txt
b() { # name, then bench flags
  local name=$1; shift
  timeout 120 $cli bench --backend webgpu --algorithms flash --dtype f16 "$@" --json "$J/$name.json" > "$J/$name.out" 2>"$J/$name.err"
  local rc=$?
  python3 bench/tc-summary.py "$J/$name.json" "$name" "$rc" | tee -a "$S"
}
$cli info --backend webgpu > "$J/info.txt" 2>&1; grep -E 'tensor cores|features' "$J/info.txt" | tee -a "$S"
if [ "${VERIFY:-1}" != 0 ]; then
  timeout 240 $cli verify --backend webgpu --filter f16 > "$OUT/verify-f16.txt" 2>&1; echo "verify rc=$?" | tee -a "$S"
  grep -E "backward|passed" "$OUT/verify-f16.txt" | tail -20 | tee -a "$S"
fi
for d in 64 128; do
  for c in "" "--causal"; do
    n="d$d${c:+-causal}"
    b "$n-tc" --seq 4096 --heads 16 --head-dim $d $c --backward
    for t in ${TILES-}; do b "$n-tc-sg$t" --seq 4096 --heads 16 --head-dim $d $c --backward --tensor-cores "$t,16"; done
    [ "${SIMT:-1}" != 0 ] && b "$n-simt" --seq 4096 --heads 16 --head-dim $d $c --backward --tensor-cores off
    [ "${FWD:-1}" != 0 ] && b "$n-fwd-tc" --seq 4096 --heads 16 --head-dim $d $c
  done
done
[ "${SOAK:-1}" != 0 ] && b soak-d64 --seq 4096 --heads 16 --head-dim 64 --backward --samples 100
if [ "${PEERS:-1}" != 0 ]; then
  timeout 200 python3 bench/peers/sdpa_bwd.py --seq 4096 --head-dim 64,128 --heads 16 --dtypes f16 --json "$OUT/sdpa-bwd-f16.json" 2>&1 | grep "^sdpa" | tee -a "$S"
fi
tar -C $J -cJf "$OUT/json.tar.xz" .
