#!/usr/bin/env bash
# Issue 13 item 7 on the GPU machine: onnxruntime-node 1.30's WebGPU execution provider
# (com.microsoft.MultiHeadAttention, its own Dawn) on the grid of the table, so its numbers
# sit beside ours and PyTorch's from the same call. ORT comes from .tc/ort/ort-node.tar.xz (a
# trimmed linux-x64 onnxruntime-node with the WebGPU EP, git-ignored), unpacked into a temp dir;
# node comes from .gpu/prelude.sh. Nothing is built here.
#   run with carry [".gpu", "dist", ".tc/ort/ort-node.tar.xz"] (dist: the f16 conversion):
#     source .gpu/prelude.sh; bash bench/ort-peer.sh
#   env: LAYERS (8) RUNS (15) WARMUP (3) DECODE (8192,32768,131072; empty skips decoding);
#   HEADS (16) SEQ (4096) DECODE_HEADS (32) only to shrink it for a smoke test on SwiftShader
# Writes $OUT/ort-mha.json (prefill grid: B=1 H=16 N=4096, D 64/128, f32/f16, causal 0/1),
# $OUT/ort-mha-decode.json (query length 1, 32 heads, D=128, f16; MultiHeadAttention has no GQA,
# so K/V have 32 heads too: 4x the bytes of the Hkv=8 shape), the logs, and ort-env.txt.
set -u
out=${OUT:-/tmp/ort-peer}; mkdir -p "$out"
tmp=$(mktemp -d)
tar -C "$tmp" -xJf .tc/ort/ort-node.tar.xz || { echo "ort-peer: cannot unpack .tc/ort/ort-node.tar.xz (carry it)" >&2; exit 1; }
export ORT=$tmp/node_modules/onnxruntime-node
{ nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1; node --version
  node -e "console.log('onnxruntime-node', require(process.env.ORT + '/package.json').version)"; } >"$out/ort-env.txt"
cat "$out/ort-env.txt"
common=(--layers "${LAYERS:-8}" --runs "${RUNS:-15}" --warmup "${WARMUP:-3}" --ep webgpu)
timeout 360 node bench/peers/ort-mha.mjs --batch 1 --heads "${HEADS:-16}" --seq "${SEQ:-4096}" --head-dim 64,128 --dtype f32,f16 --causal 0,1 \
  "${common[@]}" --json "$out/ort-mha.json" 2>&1 | tee "$out/ort-mha.log"
echo "prefill exit: ${PIPESTATUS[0]}"
if [ -n "${DECODE-8192,32768,131072}" ]; then
  timeout 150 node bench/peers/ort-mha.mjs --batch 1 --seq '' --decode "${DECODE-8192,32768,131072}" --decode-heads "${DECODE_HEADS:-32}" \
    --head-dim 128 --dtype f16 "${common[@]}" --json "$out/ort-mha-decode.json" 2>&1 | tee "$out/ort-mha-decode.log"
  echo "decode exit: ${PIPESTATUS[0]}"
fi
rm -rf "$tmp"
