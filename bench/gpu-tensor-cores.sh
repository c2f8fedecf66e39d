#!/usr/bin/env bash
# The tensor-core forward (issues 13 and 14) through the library on the GPU machine, one call:
#   1. bench f16 at the shapes (B=1, H=16, N=4096, D 64/128, causal and not) on the
#      tensor-core kernel (default tile) and on the SIMT kernels (--tensor-cores off), each checked
#      against float64 by bench;
#   2. forced tiles (subgroups, keys per tile) at D 64/128;
#   3. ragged shapes (N=1000 and 3000, GQA 16:4, Nq≠Nk causal) through the kernel, checked;
#   4. a soak: 100 timed samples at the D=64 shape in one process (crash or not);
#   5. PyTorch SDPA f16 (flash, cuDNN) and onnxruntime WebGPU's MultiHeadAttention on the same
#      shapes (PEERS=0 skips them; ORT needs .tc/ort/ort-node.tar.xz carried).
# SIMT=0 skips the SIMT rows; TILES64 / TILES128 replace the forced tiles ('' for none); CAUSAL_TILES64 adds causal D=64 ones.
# Dawn offers subgroup matrices only with unsafe APIs, and f16 on NVIDIA only with its toggle.
# usage (GPU machine): source .gpu/prelude.sh; OUT=$OUT bash bench/gpu-tensor-cores.sh
set -uo pipefail
OUT=${OUT:-/tmp/out}; mkdir -p "$OUT"
J=/tmp/tc-json; rm -rf $J; mkdir -p $J
export WEBGPU_ATTENTION_DAWN_FLAGS="enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia"
cli="node dist/cli/main.js"
S=$OUT/tensor-cores.txt
b() { # name, then bench flags
  local name=$1; shift
  timeout 120 $cli bench --backend webgpu --algorithms flash --dtype f16 "$@" --json "$J/$name.json" > "$J/$name.out" 2>"$J/$name.err"
  local rc=$?
  python3 bench/tc-summary.py "$J/$name.json" "$name" "$rc" | tee -a "$S"
}
$cli info --backend webgpu > "$J/info.txt" 2>&1; grep -E 'tensor cores|features' "$J/info.txt" | tee -a "$S"
for d in 64 128; do
  for c in "" "--causal"; do
    b "d$d${c:+-causal}-tc" --seq 4096 --heads 16 --head-dim $d $c
    [ "${SIMT:-1}" != 0 ] && b "d$d${c:+-causal}-simt" --seq 4096 --heads 16 --head-dim $d $c --tensor-cores off
  done
done
for t in ${TILES64-4,16 16,16 4,32 8,32}; do b "d64-tile-${t//,/x}" --seq 4096 --heads 16 --head-dim 64 --tensor-cores $t; done
for t in ${TILES128-8,16 8,32 4,16}; do b "d128-tile-${t//,/x}" --seq 4096 --heads 16 --head-dim 128 --tensor-cores $t; done
for t in ${CAUSAL_TILES64-}; do b "d64-causal-tile-${t//,/x}" --seq 4096 --heads 16 --head-dim 64 --causal --tensor-cores $t; done
b ragged-1000 --seq 1000 --heads 16 --head-dim 64 --causal
b gqa-3000 --seq 3000 --heads 16 --kv-heads 4 --head-dim 128
b nq-nk-causal --seq 2048 --seq-k 4096 --heads 8 --head-dim 64 --causal
b soak-d64 --seq 4096 --heads 16 --head-dim 64 --samples 100
if [ "${PEERS:-1}" != 0 ]; then
  timeout 200 python3 bench/peers/sdpa.py --seq 4096 --head-dim 64,128 --heads 16 --causal-both --dtypes f16 --json "$OUT/sdpa.json" 2>&1 | tail -12 | tee -a "$S"
  [ -f .tc/ort/ort-node.tar.xz ] && DECODE='' OUT=$J/ort timeout 300 bash bench/ort-peer.sh > "$J/ort.log" 2>&1 && tail -12 "$J/ort/ort-mha.log" | tee -a "$S"
fi
tar -C $J -cJf "$OUT/tensor-cores.tar.xz" .
