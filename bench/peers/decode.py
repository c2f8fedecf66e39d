"""PyTorch SDPA on decoding shapes (few query rows against a long KV cache, GQA),
for comparison with our split-K forward in one run. f32 (math, memory-efficient)
and f16 (flash, cuDNN, efficient); each with K/V heads shared by their query heads
(enable_gqa) and expanded to the query heads ("-expanded", g times the K/V bytes).
CUDA events, median of repeats, after a warm-up that lets the GPU's clocks rise.

usage: python3 decode.py --nq 1 --nk 8192,32768 --heads 32 --kv-heads 8 --head-dim 64,128 --json out.json
"""
import argparse
import json
import torch
import torch.nn.functional as F
from torch.nn.attention import sdpa_kernel
from cuda_timing import SDPA_BACKENDS as BACKENDS, time_ms

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nq", type=int, default=1)
    ap.add_argument("--nk", default="8192,32768")
    ap.add_argument("--heads", type=int, default=32)
    ap.add_argument("--kv-heads", type=int, default=8)
    ap.add_argument("--head-dim", default="64,128")
    ap.add_argument("--batch", default="1")
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    rows = []
    shapes = [(b, d, nk) for b in map(int, a.batch.split(",")) for d in map(int, a.head_dim.split(",")) for nk in map(int, a.nk.split(","))]
    for b, d, nk in shapes:
            if b * nk > (1 << 20):  # the grid's cap (ours: one page pool per binding)
                continue
            for dtype in (torch.float32, torch.float16):
                q = torch.randn(b, a.heads, a.nq, d, device="cuda", dtype=dtype)
                k = torch.randn(b, a.kv_heads, nk, d, device="cuda", dtype=dtype)
                v = torch.randn(b, a.kv_heads, nk, d, device="cuda", dtype=dtype)
                g = a.heads // a.kv_heads
                ke, ve = k.repeat_interleave(g, dim=1), v.repeat_interleave(g, dim=1)
                # Each backend twice: K/V heads shared by their query heads (enable_gqa, reading K/V
                # once, as ours does), and K/V repeated per query head (g times the bytes).
                runs = [("", lambda: F.scaled_dot_product_attention(q, k, v, enable_gqa=True)),
                        ("-expanded", lambda: F.scaled_dot_product_attention(q, ke, ve))]
                for name, be in BACKENDS.items():
                    if dtype == torch.float32 and name in ("flash", "cudnn"):
                        continue
                    for suffix, fn in runs:
                        try:
                            with sdpa_kernel(be):
                                ms = time_ms(fn, reps=50)
                        except Exception as e:  # a backend that refuses the shape
                            print(f"{name}{suffix} {dtype} d{d} nk{nk}: {e}".splitlines()[0])
                            continue
                        flops = 4 * b * a.heads * a.nq * nk * d
                        rows.append(dict(algorithm=f"torch-sdpa-{name}{suffix}", dtype=str(dtype).split(".")[-1], batch=b, heads=a.heads,
                                         kvHeads=a.kv_heads, seqQ=a.nq, seqK=nk, headDim=d, causal=False,
                                         msMedian=ms, tflops=flops / ms / 1e9))
                        print(f"sdpa {name + suffix:18s} {str(dtype):14s} B={b} D={d} Nk={nk}: {ms:.4f} ms")
    with open(a.json, "w") as f:
        json.dump({"results": rows}, f, indent=1)


if __name__ == "__main__":
    main()
