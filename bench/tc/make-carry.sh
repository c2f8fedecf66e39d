#!/usr/bin/env bash
# Makes the git-ignored .tc/ folder that bench/tc-diagnose.sh carries to the GPU machine, from
# what this (CPU) machine has: Debian chromium's Khronos validation layer with a loader manifest
# (.tc/vvl/), glibc's malloc-debug library with the glibc version it belongs to (.tc/malloc/), and
# a check that onnxruntime-node (.tc/ort/ort-node.tar.xz, made for bench/ort-peer.sh) is there.
# The GPU machine has no package registry, so these travel with the command. Run in the project root:
#   bash bench/tc/make-carry.sh          (then carry [".gpu", "dist", ".tc"])
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
grep -qx '/.tc/' "$(git rev-parse --git-common-dir)/info/exclude" 2>/dev/null ||
  echo '/.tc/' >>"$(git rev-parse --git-common-dir)/info/exclude"
mkdir -p .tc/vvl .tc/malloc

# 1. Validation layer. The .so is ~23 MB; xz brings it to ~4 MB (the carry cap is 64 MiB in all).
# The layer reports no version string of its own; it knows Vulkan 1.4 entry points (vkMapMemory2,
# VK_KHR_maintenance9), but the manifest keeps api_version 1.3.296, the value with which NVIDIA's
# loader on the GPU machine loaded it on 2026-11-29 (the loader only warns when a layer's version is
# below the application's). file_format_version 1.2.0 is the loader's format for one layer.
so=/usr/lib/chromium/libVkLayer_khronos_validation.so
[ -f "$so" ] || { echo "make-carry: $so missing (Debian package chromium)" >&2; exit 1; }
if [ ! -f .tc/vvl/libVkLayer_khronos_validation.so.xz ] || [ "$so" -nt .tc/vvl/libVkLayer_khronos_validation.so.xz ]; then
  xz -T2 -9 -c "$so" >.tc/vvl/libVkLayer_khronos_validation.so.xz
fi
cat >.tc/vvl/VkLayer_khronos_validation.json <<EOF
{
  "file_format_version": "1.2.0",
  "layer": {
    "name": "VK_LAYER_KHRONOS_validation",
    "type": "GLOBAL",
    "library_path": "./libVkLayer_khronos_validation.so",
    "api_version": "1.3.296",
    "implementation_version": "1",
    "description": "Khronos validation layer (binary from Debian's chromium $(dpkg-query -W -f='${Version}' chromium 2>/dev/null || echo '?') package)"
  }
}
EOF

# 2. glibc heap checking: libc_malloc_debug.so.0 only works with the glibc it was built with, so its
# version travels beside it; tc-diagnose.sh prefers the GPU machine's own copy and uses this one only
# when the versions match.
cp /usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0 .tc/malloc/
ldd --version | head -1 | grep -oE '[0-9]+\.[0-9]+$' >.tc/malloc/glibc-version

# 3. onnxruntime-node with its WebGPU execution provider (made for bench/ort-peer.sh).
[ -f .tc/ort/ort-node.tar.xz ] || echo "make-carry: .tc/ort/ort-node.tar.xz missing: step c of tc-diagnose.sh will be skipped" >&2
du -sh .tc/* .gpu dist 2>/dev/null
