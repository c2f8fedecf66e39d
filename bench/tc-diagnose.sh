#!/usr/bin/env bash
# Issue 14, step 1 in ONE device call: where does the subgroup-matrix crash of bench/tc-probe.mjs
# come from? Runs each diagnosis step against the crashing probe, cheapest first, every run in its
# own process under a timeout (a crash or hang of one run never stops the next), within a total
# time budget; logs go to $OUT/<step>/, one line per run to $OUT/summary.txt (printed at the end).
#   e  baseline: the probe as it is (3 runs) and with its CPU reference loop skipped (control)
#   d  Dawn's dump_shaders toggle on the probe: the WGSL and the SPIR-V that Tint emits (d/shader-*)
#   a  Vulkan validation layer (Debian chromium's, carried in .tc/vvl): core, synchronization,
#      GPU-assisted; settings both by vk_layer_settings.txt (VK_LAYER_SETTINGS_PATH) and VK_LAYER_* env
#   b  glibc heap checking: libc_malloc_debug.so.0 preloaded, GLIBC_TUNABLES=glibc.malloc.check=3
#   c  onnxruntime-node's WebGPU EP (its own Dawn): f16 MatMul 4096^3 (verbose log, profile, WGSL
#      dump; then 1000 runs), MultiHeadAttention f16 N=4096 (WGSL dump: which kernel it runs), and
#      the subgroup-matrix MatMulNBits 1000 runs
# Run on the GPU machine with carry [".gpu", "dist", ".tc"] (make .tc with bench/tc/make-carry.sh):
#   source .gpu/prelude.sh; bash bench/tc-diagnose.sh
# env: STEPS ("env e d a b c"), BUDGET (470 s for all), PROBE_CMD (the probe command line; default
# "node bench/tc-probe.mjs direct 1024 16 sg1"), DUMP_CMD, PROBE_REPS (50). Locally, on SwiftShader
# (no subgroup matrices), PROBE_CMD="node bench/tc/repro.mjs kernel=f32 submits=20" exercises the plumbing.
set -u
OUT=${OUT:-/tmp/tc-diagnose}
mkdir -p "$OUT"
S=$OUT/summary.txt
: >"$S"
T0=$SECONDS
BUDGET=${BUDGET:-470}
read -r -a PROBE <<<"${PROBE_CMD:-node bench/tc-probe.mjs direct 1024 16 sg1}"
# probe-bisect.mjs is tc-probe.mjs plus switches (all off by default); PB_TOGGLES adds Dawn toggles
read -r -a DUMP <<<"${DUMP_CMD:-node bench/tc/probe-bisect.mjs direct 1024 16 sg1}"
export PROBE_REPS=${PROBE_REPS:-50}
note() { echo "$*" | tee -a "$S"; }

# one STEP NAME TIMEOUT CMD...: run CMD (env assignments via `env`), record its exit, the stage the
# probe reached (its stderr markers), its last JSON line and any crash signs, in $S.
one() {
  local step=$1 name=$2 t=$3 left
  shift 3
  mkdir -p "$OUT/$step"
  left=$((BUDGET - (SECONDS - T0)))
  if [ "$left" -lt 15 ]; then note "$step/$name skipped (budget)"; return; fi
  [ "$t" -gt $((left - 8)) ] && t=$((left - 8))
  local o=$OUT/$step/$name.out e=$OUT/$step/$name.err t1=$SECONDS rc sig=""
  timeout -k 5 "$t" "$@" >"$o" 2>"$e"
  rc=$?
  [ $rc -eq 124 ] && sig="(timeout ${t}s)"
  [ $rc -gt 128 ] && [ $rc -ne 137 ] && sig="(signal $((rc - 128)))"
  local stage runs signs
  stage=$(grep -E 'first dispatch|read back|reference done|warm-up of|timing sample|^submit .* done' "$e" | tail -1 | cut -c1-40)
  runs=$(grep -cE '^run [0-9]+' "$e")
  signs=$(cat "$o" "$e" | grep -aiE 'futex|system_error|malloc|corrupt|double free|assert|Segmentation|Aborted|device lost|uncaptured|^(Validation )?Error' |
    grep -v 'wgsl warning' | cut -c1-120 | sort | uniq -c | sort -rn | head -3 | tr -s ' ' | tr '\n' ';')
  [ "$runs" -gt 0 ] && runs=" runs=$runs" || runs=""
  note "$step/$name rc=$rc$sig $((SECONDS - t1))s stage='${stage}'$runs $(grep -ah '^{' "$o" | tail -1 | cut -c1-260) ${signs}"
}

step_env() {
  mkdir -p "$OUT/env"
  {
    nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1
    ldd --version | head -1
    node --version
    ls -l /usr/lib/x86_64-linux-gnu/libvulkan.so.1* /usr/lib/x86_64-linux-gnu/libc_malloc_debug.so* 2>&1
    echo "carried malloc-debug glibc: $(cat .tc/malloc/glibc-version 2>/dev/null || echo none)"
    ls -l .tc/*/ 2>&1
  } >"$OUT/env/env.txt" 2>&1
  cat "$OUT/env/env.txt" >>"$S"
  one env adapter-info 30 node bench/tc-probe.mjs info
}

step_e() {
  for i in 1 2 3; do one e probe$i 20 "${PROBE[@]}"; done
  one e control-refskip 20 env PB_REF=skip "${DUMP[@]}" # no CPU reference loop: ran clean 3/3 on 2026-11-29
}

step_d() {
  one d dump 30 env PROBE_STOP=dispatch PB_TOGGLES=dump_shaders,disable_symbol_renaming "${DUMP[@]}"
  # Dawn prints each dump on stdout after an "info:" line: "// Dumped WGSL:" or "/* Dumped SPIRV disassembly */"
  awk -v dir="$OUT/d" '
    /^\/\/ Dumped WGSL:/ { n++; f = sprintf("%s/shader-%02d.wgsl", dir, n); next }
    /^\/\* Dumped SPIRV disassembly \*\// { f = sprintf("%s/shader-%02d.spvasm", dir, n); next }
    /^info:$/ || /^\{/ { f = ""; next }
    f != "" { print > f }' "$OUT/d/dump.out"
  note "d/files: $(cd "$OUT/d" && ls shader-* 2>/dev/null | tr '\n' ' ')" \
    "cooperative-matrix ops in SPIR-V: $(cat "$OUT"/d/shader-*.spvasm 2>/dev/null | grep -cE 'OpCooperativeMatrix(Load|Store|MulAdd)KHR')" \
    "memory model: $(cat "$OUT"/d/shader-*.spvasm 2>/dev/null | grep -m1 -o 'OpMemoryModel.*')"
}

step_a() {
  local d=/tmp/tc-vvl
  mkdir -p "$d"
  if ! { [ -f "$d/libVkLayer_khronos_validation.so" ] || xz -dc .tc/vvl/libVkLayer_khronos_validation.so.xz >"$d/libVkLayer_khronos_validation.so"; }; then
    note "a skipped: .tc/vvl missing (bench/tc/make-carry.sh)"
    return
  fi
  cp .tc/vvl/VkLayer_khronos_validation.json "$d/"
  local mode
  mkdir -p "$OUT/a"
  for mode in core sync gpuav; do
    mkdir -p "$d/$mode"
    { # the layer reads khronos_validation.* keys from VK_LAYER_SETTINGS_PATH (a file or its folder)
      echo "khronos_validation.report_flags = error,warn"
      echo "khronos_validation.duplicate_message_limit = 20"
      [ $mode = sync ] && echo "khronos_validation.validate_sync = true" && echo "khronos_validation.syncval_submit_time_validation = true"
      [ $mode = gpuav ] && echo "khronos_validation.gpuav_enable = true"
    } >"$d/$mode/vk_layer_settings.txt"
    cp "$d/$mode/vk_layer_settings.txt" "$OUT/a/$mode-vk_layer_settings.txt"
  done
  # the loader's warnings ("forced enabled due to env var") show the layer was inserted
  local V=(env VK_LAYER_PATH="$d" "VK_LOADER_LAYERS_ENABLE=*validation" VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation VK_LAYER_REPORT_FLAGS=error,warn VK_LOADER_DEBUG=error,warn)
  one a core 30 "${V[@]}" VK_LAYER_SETTINGS_PATH="$d/core/vk_layer_settings.txt" "${PROBE[@]}"
  one a sync 30 "${V[@]}" VK_LAYER_SETTINGS_PATH="$d/sync/vk_layer_settings.txt" VK_LAYER_VALIDATE_SYNC=1 "${PROBE[@]}"
  one a gpuav 45 "${V[@]}" VK_LAYER_SETTINGS_PATH="$d/gpuav/vk_layer_settings.txt" VK_LAYER_GPUAV_ENABLE=1 "${PROBE[@]}"
  local n f
  for n in core sync gpuav; do
    f=("$OUT/a/$n.out" "$OUT/a/$n.err")
    note "a/$n: layer loaded: $(cat "${f[@]}" | grep -ciE 'forced enabled|Insert(ing)? instance layer') loader lines;" \
      "$(cat "${f[@]}" | grep -caE '^(Validation )?Error') errors, $(cat "${f[@]}" | grep -caE '^(Validation )?Warning') warnings;" \
      "ids: $(cat "${f[@]}" | grep -aoE '^(Validation )?(Error|Warning): \[? ?[A-Za-z0-9_-]+' | sort | uniq -c | sort -rn | head -6 | tr -s ' ' | tr '\n' ' ')"
  done
}

step_b() {
  local md=/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0 dev
  dev=$(ldd --version | head -1 | grep -oE '[0-9]+\.[0-9]+$')
  if [ ! -f "$md" ]; then # fall back to the carried copy only when it belongs to this glibc
    md=""
    [ "$dev" = "$(cat .tc/malloc/glibc-version 2>/dev/null)" ] && md=$PWD/.tc/malloc/libc_malloc_debug.so.0
  fi
  [ -n "$md" ] || { note "b skipped: no libc_malloc_debug.so.0 for glibc $dev"; return; }
  note "b: glibc $dev, preloading $md"
  local M=(env LD_PRELOAD="$md" GLIBC_TUNABLES=glibc.malloc.check=3)
  one b check3 20 "${M[@]}" "${PROBE[@]}"
  one b check3-perturb 20 "${M[@]}" MALLOC_PERTURB_=165 "${PROBE[@]}"
}

step_c() {
  local tmp=/tmp/tc-ort
  mkdir -p "$tmp/prof" "$OUT/c"
  if ! { [ -d "$tmp/node_modules/onnxruntime-node" ] || tar -C "$tmp" -xJf .tc/ort/ort-node.tar.xz; }; then
    note "c skipped: .tc/ort/ort-node.tar.xz missing"
    return
  fi
  export ORT=$tmp/node_modules/onnxruntime-node PROF_DIR=$tmp/prof
  note "c: onnxruntime-node $(node -e "console.log(require(process.env.ORT + '/package.json').version)")"
  local N=bench/tc/ort-nbits.mjs
  # 1. plain f16 MatMul: which program does ORT pick, does it request/offer subgroup matrices?
  one c matmul-verbose 60 env ORT_WEBGPU_EP_SHADER_DUMP_FILE="$OUT/c/matmul.wgsl" node $N op=matmul runs=5 layers=1 profile=1 log=0 envlog=verbose
  # 2. its attention: the WGSL of the MultiHeadAttention kernels it runs on this card (f16, D 64/128)
  one c mha-f16 120 env ORT_WEBGPU_EP_SHADER_DUMP_FILE="$OUT/c/mha-f16.wgsl" node bench/peers/ort-mha.mjs --batch 1 --heads 16 --seq 4096 \
    --head-dim 64,128 --dtype f16 --causal 0,1 --layers 4 --runs 5 --warmup 2 --ep webgpu --json "$OUT/c/mha-f16.json"
  # 3. the issue's test: f16 MatMul 4096^3, 1000 runs, first and last outputs compared
  one c matmul-1000 150 node $N op=matmul runs=1000 layers=1
  # 4. ORT's own subgroup-matrix GEMM (MatMulNBits), 1000 runs
  one c nbits-1000 120 node $N op=nbits runs=1000 layers=1
  local f
  for f in matmul-verbose mha-f16; do
    note "c/$f: log lines naming subgroup/matrix: $(grep -ciE 'subgroup|matrix' "$OUT/c/$f.err")," \
      "programs dumped: $(grep -c '^@compute' "$OUT/c/${f%-verbose}.wgsl" 2>/dev/null)," \
      "subgroup-matrix shaders: $(grep -c 'enable chromium_experimental_subgroup_matrix' "$OUT/c/${f%-verbose}.wgsl" 2>/dev/null)," \
      "qk_precision: $(grep -ho 'alias qk_precision = [a-z0-9_]*' "$OUT/c/${f%-verbose}.wgsl" 2>/dev/null | sort | uniq -c | tr -s ' ' | tr '\n' ' ')"
  done
  grep -iE 'subgroup|matrix|feature|toggle|adapter|vendor' "$OUT/c/matmul-verbose.err" | head -200 >"$OUT/c/matmul-verbose-grep.txt"
  note "c/matmul-verbose programs started: $(grep -o 'Starting program "[A-Za-z0-9_]*' "$OUT/c/matmul-verbose.err" | cut -d'"' -f2 | sort | uniq -c | tr -s ' ' | tr '\n' ' ')"
  node -e 'for (const r of require(process.argv[1]).results ?? []) console.log(`c/mha-f16 D=${r.headDim} causal=${r.causal} ms=${r.ms} tflops=${r.tflops}${r.error ? " error: " + r.error.slice(0, 100) : ""}`)' \
    "$OUT/c/mha-f16.json" 2>&1 | tee -a "$S"
  cp "$tmp"/prof/*.json "$OUT/c/" 2>/dev/null
}

for s in ${STEPS:-env e d a b c}; do
  "step_$s"
done
# big logs (ORT verbose, validation floods) come back compressed
find "$OUT" -type f -size +2M ! -name '*.xz' -exec xz -T2 -6 {} \;
note "total $((SECONDS - T0))s of budget ${BUDGET}s"
(cd "$OUT" && find . -type f | sort >files.txt)
cat "$S"
