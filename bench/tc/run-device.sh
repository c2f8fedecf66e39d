#!/usr/bin/env bash
# Issue 14, step 1 on the GPU machine: where does the subgroup-matrix crash come from?
# One process per experiment (a crash must not take the others with it); logs in $OUT/tc-logs.tar.xz,
# one line per experiment in $OUT/summary.txt (printed last).
#   run with carry [".gpu", ".tc"]:  source .gpu/prelude.sh; bash bench/tc/run-device.sh [GROUP ...]
# GROUPs: env base vmm ort malloc val dump gdb bisect gc shader probeval host host2 (default: all, in that order); DEADLINE=seconds skips
# (or shortens) experiments that would end after it.
set -u
L=/tmp/tc-logs; mkdir -p "$L"; S=$L/summary.txt; : >"$S"
R="node bench/tc/repro.mjs"
one() { # one NAME TIMEOUT CMD...: run, record exit status, submits reached and the last JSON line
  local name=$1 t=$2; shift 2
  if [ $((SECONDS + t)) -gt "${DEADLINE:-100000}" ] && [ $((SECONDS + 30)) -gt "${DEADLINE:-100000}" ]; then echo "$name skipped (deadline)" >>"$S"; return; fi
  [ $((SECONDS + t)) -gt "${DEADLINE:-100000}" ] && t=$((DEADLINE - SECONDS))
  local t0=$SECONDS
  timeout "$t" "$@" >"$L/$name.out" 2>"$L/$name.err"
  local rc=$? subs
  subs=$(grep -cE '^submit .* done|timing sample|warm-up of' "$L/$name.err")
  local sig=""; [ $rc -gt 128 ] && [ $rc -ne 124 ] && sig="(signal $((rc - 128)))"
  echo "$name rc=$rc$sig submits_done=$subs $((SECONDS - t0))s $(grep -h '^{' "$L/$name.out" | tail -1 | cut -c1-220) $(grep -hiE 'futex|system_error|malloc|corrupt|double free|assert|Segmentation|Aborted|error' "$L/$name.err" | grep -v 'wgsl warning' | sort | uniq -c | head -3 | tr '\n' ' ' | cut -c1-300)" >>"$S"
}
groups=("$@"); [ ${#groups[@]} -gt 0 ] || groups=(env base vmm ort malloc val dump gdb)
for g in "${groups[@]}"; do case $g in
env)
  { nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; ldd --version | head -1; node --version
    ls -la /usr/lib/x86_64-linux-gnu/libc_malloc_debug.so* 2>&1
    python3 -c 'import onnxruntime as o; print("python onnxruntime", o.__version__, o.get_available_providers())' 2>&1 | tail -1
  } >"$L/env.txt" 2>&1; cat "$L/env.txt" >>"$S" ;;
base)
  for i in 1 2; do one base$i 60 $R kernel=sgmat submits=200; done
  one base-waitend 60 $R kernel=sgmat submits=200 wait=end
  one control-f32 60 $R kernel=f32 submits=200 churn=4
  for i in 1 2; do one compile-only$i 60 $R kernel=f32 compile=1 submits=200 churn=4; done ;;
vmm)
  for i in 1 2; do one vmm$i 90 $R kernel=sgmat submits=1000 enable=use_vulkan_memory_model; done
  one vmm-churn 90 $R kernel=sgmat submits=1000 churn=4 enable=use_vulkan_memory_model
  one vmm-waitend 90 $R kernel=sgmat submits=1000 wait=end enable=use_vulkan_memory_model
  one vmm-4096 120 $R kernel=sgmat n=4096 submits=100 enable=use_vulkan_memory_model
  one base-4096 120 $R kernel=sgmat n=4096 submits=100 ;;
val)
  mkdir -p /tmp/vvl; xz -dc .tc/vvl/libVkLayer_khronos_validation.so.xz >/tmp/vvl/libVkLayer_khronos_validation.so
  cp .tc/vvl/VkLayer_khronos_validation.json /tmp/vvl/
  V=(env VK_LAYER_PATH=/tmp/vvl "VK_LOADER_LAYERS_ENABLE=*validation" VK_LAYER_REPORT_FLAGS=error,warn)
  one val-core 120 "${V[@]}" VK_LOADER_DEBUG=error,warn,layer $R kernel=sgmat submits=50
  one val-gpuav 180 "${V[@]}" VK_LAYER_GPUAV_ENABLE=1 $R kernel=sgmat submits=50
  one val-sync 120 "${V[@]}" VK_LAYER_VALIDATE_SYNC=1 $R kernel=sgmat submits=50
  one val-core-vmm 120 "${V[@]}" $R kernel=sgmat submits=50 enable=use_vulkan_memory_model
  one val-core-f32 120 "${V[@]}" $R kernel=f32 submits=50
  # the layer prints "Error: VUID-..." / "Warning: ..." lines on the process's output streams
  for n in val-core val-gpuav val-sync val-core-vmm val-core-f32; do echo "$n: $(cat "$L/$n.out" "$L/$n.err" | grep -cE '^(Validation )?Error') errors, $(cat "$L/$n.out" "$L/$n.err" | grep -cE '^(Validation )?Warning') warnings; ids: $(cat "$L/$n.out" "$L/$n.err" | grep -oE '^(Validation )?(Error|Warning): [^ ]*' | sort | uniq -c | head -6 | tr '\n' ' ')" >>"$S"; done ;;
malloc)
  MD=$(ls /usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0 2>/dev/null)
  M=(env LD_PRELOAD=$MD GLIBC_TUNABLES=glibc.malloc.check=3 MALLOC_PERTURB_=165)
  for i in 1; do one malloc$i 90 "${M[@]}" $R kernel=sgmat submits=200; done
  one malloc-compile-only 90 "${M[@]}" $R kernel=f32 compile=1 submits=200 churn=4
  one malloc-vmm 90 "${M[@]}" $R kernel=sgmat submits=1000 enable=use_vulkan_memory_model
  ;;
gdb)
  MD=$(ls /usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0 2>/dev/null)
  one gdb-malloc 200 cuda-gdb -q -batch -ex "set environment LD_PRELOAD=$MD" -ex 'set environment GLIBC_TUNABLES=glibc.malloc.check=3' \
    -ex 'set environment MALLOC_PERTURB_=165' -ex 'handle SIGPIPE nostop noprint' -ex run -ex 'thread apply all bt 30' --args "$(command -v node)" bench/tc/repro.mjs kernel=sgmat submits=200
  one gdb-plain 200 cuda-gdb -q -batch -ex 'handle SIGPIPE nostop noprint' -ex run -ex 'thread apply all bt 30' --args "$(command -v node)" bench/tc/repro.mjs kernel=sgmat submits=200 ;;
dump)
  one dump-base 60 $R kernel=sgmat submits=1 n=64 enable=dump_shaders,disable_symbol_renaming
  one dump-vmm 60 $R kernel=sgmat submits=1 n=64 enable=dump_shaders,disable_symbol_renaming,use_vulkan_memory_model ;;
bisect) # bench/tc-probe.mjs crashed where repro.mjs did not: which difference matters?
  P="node bench/tc/probe-bisect.mjs direct 1024 16 sg1"
  for i in 1 2 3; do one probe$i 60 env PROBE_REPS=50 $P; done
  for i in 1 2; do one probe-featmin$i 60 env PROBE_REPS=50 PB_FEATURES=min $P; done
  for i in 1 2; do one probe-nolimits$i 60 env PROBE_REPS=50 PB_LIMITS=none $P; done
  for i in 1 2; do one probe-min-min$i 60 env PROBE_REPS=50 PB_FEATURES=min PB_LIMITS=none $P; done
  for i in 1 2; do one probe-reps1-$i 60 env PROBE_REPS=1 $P; done
  one probe-control 60 env PROBE_REPS=50 node bench/tc/probe-bisect.mjs control 1024 16 sg1
  for i in 1 2; do one repro-all$i 60 $R kernel=sgmat submits=20 per=50 features=probe limits=max; done
  one repro-per50 60 $R kernel=sgmat submits=20 per=50
  one repro-feat 60 $R kernel=sgmat submits=200 features=probe
  one repro-limits 60 $R kernel=sgmat submits=200 limits=max ;;
gc) # what separates the crashing probe from the clean repro: the read-back buffer's fate, JS heap, data?
  P="node bench/tc/probe-bisect.mjs direct 1024 16 sg1"
  for i in 1 2 3; do one probe-destroy$i 40 env PROBE_REPS=50 PB_DESTROY=1 $P; done
  for i in 1 2; do one repro-nodestroy$i 40 $R kernel=sgmat submits=10 per=50 destroy=0; done
  for i in 1 2; do one repro-heap$i 40 $R kernel=sgmat submits=10 per=50 heap=1; done
  for i in 1 2; do one repro-rand$i 40 $R kernel=sgmat submits=10 per=50 data=rand; done
  for i in 1 2; do one repro-like-probe$i 40 $R kernel=sgmat submits=10 per=50 destroy=0 heap=1 data=rand; done
  for i in 1 2; do one repro-nodestroy-heap$i 40 $R kernel=sgmat submits=10 per=50 destroy=0 heap=1; done ;;
shader) # same kernel, two texts: does the WGSL text decide?
  P="node bench/tc/probe-bisect.mjs direct 1024 16 sg1"
  for i in 1 2 3; do one probe-shader-repro$i 40 env PROBE_REPS=50 PB_SHADER=repro $P; done
  for i in 1 2 3; do one repro-shader-probe$i 40 $R kernel=sgmat submits=10 per=50 shader=probe; done
  one probe-again 40 env PROBE_REPS=50 $P ;;
host) # the four host-side differences left by the bisection above, one per process, 3 runs each
  P="node bench/tc/probe-bisect.mjs direct 1024 16 sg1"; T=${HOST_T:-20}
  for i in 1 2 3; do one host-base$i $T env PROBE_REPS=50 $P; done
  for sw in PB_WRITE=repro PB_SCOPE=repro PB_ORDER=repro PB_REF=skip; do
    n=$(echo "${sw%%=*}" | tr 'A-Z_' 'a-z-'); for i in 1 2 3; do one host-$n$i $T env PROBE_REPS=50 $sw $P; done
  done
  for i in 1 2 3; do one host-all4-$i $T env PROBE_REPS=50 PB_WRITE=repro PB_SCOPE=repro PB_ORDER=repro PB_REF=skip $P; done ;;
host2) # follow-up to host (not yet run): the reference loop's time or its garbage? and can the repro be made to crash?
  P="node --expose-gc bench/tc/probe-bisect.mjs direct 1024 16 sg1"; T=${HOST_T:-20}
  for i in 1 2 3; do one host2-base$i $T env PROBE_REPS=50 $P; done
  for i in 1 2 3; do one host2-busy$i $T env PROBE_REPS=50 PB_REF=busy $P; done
  for i in 1 2 3; do one host2-gc$i $T env PROBE_REPS=50 PB_REF=gc $P; done
  for i in 1 2 3; do one host2-repro-gc$i $T node --expose-gc bench/tc/repro.mjs kernel=sgmat submits=10 per=50 gcs=30; done ;;
probeval)
  mkdir -p /tmp/vvl; [ -f /tmp/vvl/libVkLayer_khronos_validation.so ] || xz -dc .tc/vvl/libVkLayer_khronos_validation.so.xz >/tmp/vvl/libVkLayer_khronos_validation.so
  cp .tc/vvl/VkLayer_khronos_validation.json /tmp/vvl/
  V=(env VK_LAYER_PATH=/tmp/vvl "VK_LOADER_LAYERS_ENABLE=*validation" VK_LAYER_REPORT_FLAGS=error,warn PROBE_REPS=50)
  P="node bench/tc/probe-bisect.mjs direct 1024 16 sg1"
  one pval-core 120 "${V[@]}" $P
  one pval-gpuav 180 "${V[@]}" VK_LAYER_GPUAV_ENABLE=1 $P
  one pval-sync 120 "${V[@]}" VK_LAYER_VALIDATE_SYNC=1 $P
  for n in pval-core pval-gpuav pval-sync; do echo "$n: $(cat "$L/$n.out" "$L/$n.err" | grep -cE '^(Validation )?Error') errors, $(cat "$L/$n.out" "$L/$n.err" | grep -cE '^(Validation )?Warning') warnings; ids: $(cat "$L/$n.out" "$L/$n.err" | grep -oE '^(Validation )?(Error|Warning): [^ ]*' | sort | uniq -c | head -6 | tr '\n' ' ')" >>"$S"; done
  MD=$(ls /usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0 2>/dev/null)
  for i in 1 2; do one pmalloc$i 90 env LD_PRELOAD=$MD GLIBC_TUNABLES=glibc.malloc.check=3 MALLOC_PERTURB_=165 PROBE_REPS=50 $P; done
  one pgdb-malloc 200 env PROBE_REPS=50 cuda-gdb -q -batch -ex "set environment LD_PRELOAD=$MD" -ex 'set environment GLIBC_TUNABLES=glibc.malloc.check=3' \
    -ex 'set environment MALLOC_PERTURB_=165' -ex 'handle SIGPIPE nostop noprint' -ex run -ex 'thread apply all bt 30' --args "$(command -v node)" bench/tc/probe-bisect.mjs direct 1024 16 sg1 ;;
ort)
  mkdir -p /tmp/ortrun /tmp/prof; tar -C /tmp/ortrun -xJf .tc/ort/ort-node.tar.xz
  export ORT=/tmp/ortrun/node_modules/onnxruntime-node PROF_DIR=/tmp/prof
  one ort-nbits-prof 180 node bench/tc/ort-nbits.mjs op=nbits runs=5 layers=1 profile=1 log=1
  one ort-matmul-prof 180 node bench/tc/ort-nbits.mjs op=matmul runs=5 layers=1 profile=1 log=1
  one ort-nbits-1000 300 node bench/tc/ort-nbits.mjs op=nbits runs=1000 layers=4
  cp /tmp/prof/* "$L/" 2>/dev/null ;;
esac; done
tar -C /tmp -cJf "$OUT/tc-logs.tar.xz" tc-logs
cp "$S" "$OUT/summary.txt"
cat "$S"
