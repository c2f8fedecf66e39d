#!/usr/bin/env bash
# Subgroup-matrix (tensor core) probe on the GPU machine: one process per case,
# so a crash is recorded and the next case still runs. Results: $OUT/tc.jsonl, log $OUT/tc.log.
#   source .gpu/prelude.sh; bash bench/tc-probe.sh ["CASE N BM MODE" ...]
out=${OUT:-/tmp}
one() {
  timeout 120 node bench/tc-probe.mjs "$@" >>"$out/tc.jsonl" 2>>"$out/tc.log"
  local rc=$?
  [ $rc -eq 0 ] || echo "{\"case\":\"$1\",\"n\":${2:-0},\"bm\":${3:-0},\"mode\":\"${4:-}\",\"ok\":false,\"exit\":$rc}" >>"$out/tc.jsonl"
}
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(
  "info" "direct 1024 16 sg1" "direct 1024 16 diag" "direct 1024 16 sgid"
  "staged 1024 32 sg1" "staged 1024 64 sg1" "staged 1024 64 diag" "staged 1024 64 sgid" "split 1024 64 sg1" "split 1024 64 diag"
  "staged 4096 32 sg1" "staged 4096 64 sg1" "staged 4096 64 diag" "staged 4096 128 diag" "staged 4096 64 sgid"
  "split 4096 64 sg1" "split 4096 64 diag" "split 4096 128 diag" "direct 4096 16 sg1")
for c in "${cases[@]}"; do one $c; done
grep -v '"case":"info"' "$out/tc.jsonl"
grep -i "error\|abort\|futex" "$out/tc.log" | grep -v deprecated | sort | uniq -c | head -20
