#!/usr/bin/env bash
# Issue 14 on the GPU machine: the subgroup-matrix FlashAttention forward (bench/tc/attn-sgmat.mjs),
# each run in its own process under a timeout (a crash or hang of one never stops the next), within a
# total budget (BUDGET, default 330 s, so the whole call stays under 6 minutes):
#   0. which subgroup-matrix load/store layouts hold on this GPU (bench/tc/sgmat-layout.mjs, seconds;
#      every FAIL line goes to the summary; its "staged by 4 subgroups" cases read K as f16 / vec4<f16> /
#      u32 pairs), then the kernel on one workgroup's tiles (n=64, h=1, every row checked), with K/V
#      staged from packed u32 pairs (default) and from vec4<f16> (stage=vec4h: run 10's text), and with
#      the 4-byte u32 rescale flag of runs 9-11 (flag=u32; default vec4<u32>: run 11's diagnosis);
#   1. the grid: n=4096 h=16, d 64/128 × causal 0/1, 100 runs each (one submit per run), checked;
#      then d=64 with stage=vec4h, 10 runs (the A/B);
#   2. d=64 again under glibc heap checking (libc_malloc_debug.so.0 preloaded, malloc.check=3), as
#      bench/tc-diagnose.sh step b does;
#   3. if time is left: the rescale path forced on (tau=0), K/V read from storage (kv=global),
#      d=128 with 8 subgroups, the 16x8x16 config, f16 output.
# Writes $OUT/sgmat-summary.txt (one line per run: exit status or signal, TFLOP/s median / best,
# error against float64 and naive f16's, crash signs) and $OUT/sgmat-logs.tar.xz (each run's stdout,
# stderr and WGSL: few files come back from the GPU machine).
# Run with carry [".gpu"] (no build needed: the script imports only npm webgpu):
#   source .gpu/prelude.sh; bash bench/tc/attn-sgmat.sh
# Locally (SwiftShader: no subgroup matrices) the plumbing runs with the emulated kernel on small shapes:
#   ATTN_CMD="node bench/tc/attn-sgmat.mjs emul=1" EXTRA="n=128 h=2 sg=2 bc=16 runs=2" \
#     LAYOUT_CMD="node bench/tc/sgmat-layout.mjs plumbing=1" bash bench/tc/attn-sgmat.sh
set -u
OUT=${OUT:-/tmp/sgmat-out}
L=/tmp/sgmat-logs
rm -rf "$L"
mkdir -p "$L" "$OUT"
S=$OUT/sgmat-summary.txt
: >"$S"
T0=$SECONDS
BUDGET=${BUDGET:-330}
A=${ATTN_CMD:-node bench/tc/attn-sgmat.mjs}
note() { echo "$*" | tee -a "$S"; }

# one NAME TIMEOUT CMD...: run CMD, record exit status, the JSON's numbers and crash signs in $S
one() {
  local name=$1 t=$2 left rc sig="" json sum signs
  shift 2
  left=$((BUDGET - (SECONDS - T0)))
  if [ "$left" -lt 20 ]; then note "$name skipped (budget)"; return; fi
  [ "$t" -gt $((left - 5)) ] && t=$((left - 5))
  local t1=$SECONDS
  # shellcheck disable=SC2086 # EXTRA: more key=value arguments, split on purpose
  timeout -k 5 "$t" "$@" ${EXTRA:-} wgsl="$L/$name.wgsl" >"$L/$name.out" 2>"$L/$name.err"
  rc=$?
  [ $rc -eq 124 ] && sig=" (timeout ${t}s)"
  [ $rc -gt 128 ] && [ $rc -ne 137 ] && sig=" (signal $((rc - 128)))"
  [ $rc -eq 137 ] && sig=" (killed)"
  json=$(grep -a '^{' "$L/$name.out" | tail -1)
  sum=$(node -e '
    const j = JSON.parse(process.argv[1] || "{}");
    if (j.error) { console.log("error: " + j.error.slice(0, 160)); process.exit(0); }
    const e = (x) => (x === undefined ? "-" : x === null || typeof x === "string" ? String(x) : Number(x).toExponential(2));
    console.log(`${j.cfg ?? "?"} TFLOP/s median ${j.tflopsMedian ?? "-"} best ${j.tflopsBest ?? "-"} (${j.msMedian ?? "-"} ms, ${j.timing ?? "-"}, host ${j.hostMsMedian ?? "-"} ms)` +
      ` err ${e(j.maxAbsErr)} naive-f16 ${e(j.naiveF16Err)} ratio ${j.errRatio ?? "-"} NaN ${j.nan ?? "-"} ${j.ok === true ? "ok" : j.ok === false ? "FAIL" : ""}` +
      (j.badRows === undefined ? "" : ` bad rows ${j.badRows}/${j.rowsChecked} by subgroup ${j.badBySubgroup} worst ${JSON.stringify(j.worst)}`));
  ' "$json" 2>&1 | head -1)
  signs=$(grep -aiE 'futex|system_error|malloc|corrupt|double free|assert|Segmentation|Aborted|device lost: [^d]|uncaptured|wgsl error|^run [0-9]+/' "$L/$name.err" |
    grep -v '^run [0-9]*/' | cut -c1-120 | sort | uniq -c | sort -rn | head -3 | tr -s ' ' | tr '\n' ';')
  note "$name rc=$rc$sig $((SECONDS - t1))s reached=$(grep -ao "^run [0-9]*/[0-9]*" "$L/$name.err" | tail -1 | cut -c5-) $sum ${signs}"
}

{
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>&1
  node --version
  ldd --version | head -1
} >"$L/env.txt" 2>&1
note "env: $(tr '\n' ' ' <"$L/env.txt")"

# CASES=FILE: run only its cases (one per line: a name, then attn-sgmat.mjs's key=value arguments), a
# config sweep instead of the diagnosis below
if [ -n "${CASES:-}" ]; then
  while read -r name args; do
    [ -z "$name" ] || [ "${name:0:1}" = "#" ] && continue
    # shellcheck disable=SC2086 # args: key=value words, split on purpose
    one "$name" 60 $A $args
  done <"$CASES"
  note "total $((SECONDS - T0))s of budget ${BUDGET}s"
  tar -C /tmp -cJf "$OUT/sgmat-logs.tar.xz" sgmat-logs
  exit 0
fi

# 0. layouts, then one workgroup's worth of rows (n=64: one key tile; every row checked)
t1=$SECONDS
timeout -k 5 60 ${LAYOUT_CMD:-node bench/tc/sgmat-layout.mjs} wgsl="$L/layout.wgsl" >"$L/layout.out" 2>"$L/layout.err"
rc=$?
note "layout rc=$rc $((SECONDS - t1))s: $(grep -ao '"failed":[0-9]*,"of":[0-9]*' "$L/layout.out" | tail -1) $(grep -aiE 'error|lost' "$L/layout.err" | head -2 | cut -c1-160 | tr '\n' ';')"
grep -a '^FAIL' "$L/layout.out" | cut -c1-220 | sed 's/^/  layout /' | tee -a "$S"
for c in 0 1; do one "d64-n64-causal$c" 30 $A n=64 h=1 d=64 causal=$c runs=3 warmup=1; done
# run 10's staging (K/V read from storage as vec4<f16>), the A/B for the packed-u32 staging now default
one d64-n64-causal0-vec4h 30 $A n=64 h=1 d=64 causal=0 runs=3 warmup=1 stage=vec4h
one d64-n64-causal0-flagu32 30 $A n=64 h=1 d=64 causal=0 runs=3 warmup=1 flag=u32 # runs 9-11's text (A/B)

# 1. the grid, then the A/B: the same d=64 shapes with the first run's text
for d in 64 128; do
  for c in 0 1; do one "d$d-causal$c" 60 $A n=4096 h=16 d=$d causal=$c runs=100; done
done
one d64-causal0-vec4h 40 $A n=4096 h=16 d=64 causal=0 runs=10 stage=vec4h
one d64-causal0-flagu32 40 $A n=4096 h=16 d=64 causal=0 runs=10 flag=u32

# 2. heap checking (the machine's own malloc-debug, or the carried one when its glibc matches)
MD=/usr/lib/x86_64-linux-gnu/libc_malloc_debug.so.0
if [ ! -f "$MD" ]; then
  MD=""
  [ "$(ldd --version | head -1 | grep -oE '[0-9]+\.[0-9]+$')" = "$(cat .tc/malloc/glibc-version 2>/dev/null)" ] && MD=$PWD/.tc/malloc/libc_malloc_debug.so.0
fi
if [ -n "$MD" ]; then
  one d64-malloc-check3 120 env LD_PRELOAD="$MD" GLIBC_TUNABLES=glibc.malloc.check=3 $A n=4096 h=16 d=64 causal=0 runs=100
else
  note "d64-malloc-check3 skipped: no libc_malloc_debug.so.0 for this glibc"
fi

# 3. variants, while the budget lasts
one d64-causal1-tau0 60 $A n=4096 h=16 d=64 causal=1 tau=0 amp=3 runs=20
one d64-kvglobal 60 $A n=4096 h=16 d=64 kv=global runs=100
one d128-kvglobal 60 $A n=4096 h=16 d=128 kv=global runs=100
one d128-sg8 60 $A n=4096 h=16 d=128 sg=8 runs=100
one d64-16x8x16 60 $A n=4096 h=16 d=64 cfg=16x8x16 runs=100
one d64-outf16 60 $A n=4096 h=16 d=64 out=f16 runs=100

note "total $((SECONDS - T0))s of budget ${BUDGET}s"
tar -C /tmp -cJf "$OUT/sgmat-logs.tar.xz" sgmat-logs
