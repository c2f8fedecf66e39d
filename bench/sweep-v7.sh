#!/usr/bin/env bash
# Forward v7 tile sweep (P in the K buffer, swizzled K rows, wider key tiles) against
# the v6 defaults, N=4096, B·Hq=16, one GPU call. Results in $OUT/tune.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
bash bench/tune.sh "64:16,16,4,2 64:16,16,4,2,swizzle 64:16,16,4,2,p-in-k+swizzle \
 64:16,16,4,4,p-in-k+swizzle 64:16,16,4,4,share+swizzle 64:16,8,8,4,p-in-k+swizzle \
 64:8,16,4,8,p-in-k+swizzle 64:16,16,2,4,p-in-k+swizzle 64:16,8,8,2,swizzle 64:16,8,8,2,p-in-k+swizzle \
 128:16,8,4,2,share 128:16,8,4,2,share+swizzle 128:16,8,4,2,p-in-k+swizzle 128:16,16,2,2,p-in-k+swizzle \
 128:8,8,4,4,p-in-k+swizzle 128:16,8,4,1,p-in-k+swizzle"
