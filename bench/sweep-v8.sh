#!/usr/bin/env bash
# Forward v8 sweep: rows spread over px-lane patches (px8) on the v6/v7 tiles, against
# v7's best, N=4096, B·Hq=16, one GPU call. Results in $OUT/tune.txt.
set -uo pipefail
cd "$(dirname "$0")/.."
bash bench/tune.sh "64:16,16,4,4,p-in-k+swizzle 64:16,16,4,2 64:16,16,4,2,px8 64:16,16,4,2,swizzle+px8 \
 64:16,16,4,2,p-in-k+swizzle+px8 64:16,14,4,4,p-in-k+swizzle+px8 64:16,12,4,4,p-in-k+swizzle+px8 \
 64:16,16,4,3,p-in-k+swizzle+px8 64:16,16,4,3,p-in-k+swizzle 64:8,32,2,8,p-in-k+swizzle 64:16,14,4,4,p-in-k+swizzle \
 128:16,8,4,2,p-in-k+swizzle 128:16,8,4,2,share+px8 128:16,8,4,2,share"
