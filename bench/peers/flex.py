"""PyTorch FlexAttention on the variants our bench times, for comparison in one run.

Compiles flex_attention (a fresh torch.compile per shape) with the same
score/mask modifiers: none, causal, sliding window W (causal), ALiBi, written
as FlexAttention's score_mod/mask_mod with a BlockMask. f32 and f16, forward,
CUDA events, median of repeats.

usage: python3 flex.py --seq 8192,16384 --heads 16 --head-dim 64 --window 256 --json out.json
"""
import argparse
import json
import torch
from cuda_timing import time_ms
from torch.nn.attention.flex_attention import create_block_mask, flex_attention


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seq", default="8192,16384")
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--head-dim", type=int, default=64)
    ap.add_argument("--window", type=int, default=256)
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    torch._dynamo.config.cache_size_limit = 256
    H, D, W = a.heads, a.head_dim, a.window
    slopes = torch.tensor([2 ** (-8 * (i + 1) / H) for i in range(H)], device="cuda")
    variants = {
        "none": (None, None, 1.0),
        "causal": (None, lambda b, h, q, kv: q >= kv, 0.5),
        f"window:{W}": (None, lambda b, h, q, kv: (q >= kv) & (q - kv < W), None),
        "alibi": (lambda s, b, h, q, kv: s + slopes[h] * (kv - q), None, 1.0),
    }
    rows = []
    for n in [int(x) for x in a.seq.split(",")]:
        for dt, dtype in (("f32", torch.float32), ("f16", torch.float16)):
            q, k, v = (torch.rand(1, H, n, D, device="cuda", dtype=dtype) * 2 - 1 for _ in range(3))
            for name, (score_mod, mask_mod, frac) in variants.items():
                row = dict(algorithm="torch-flex", variant=name, batch=1, heads=H, kvHeads=H, seqQ=n, seqK=n, headDim=D, dtype=dt)
                try:
                    bm = create_block_mask(mask_mod, 1, 1, n, n, device="cuda") if mask_mod else None
                    f = torch.compile(flex_attention, dynamic=False)
                    ms = time_ms(lambda: f(q, k, v, score_mod=score_mod, block_mask=bm), reps=10)
                    visible = frac if frac is not None else min(1.0, (W * n - W * (W - 1) / 2) / (n * n))
                    row.update(msMedian=ms, tflops=4 * H * n * n * D * visible / (ms * 1e-3) / 1e12)
                except Exception as e:
                    row.update(msMedian=None, tflops=None, error=str(e).split("\n")[0][:200])
                rows.append(row)
                print(f"flex {name:12} {dt} N={n} ms={row['msMedian']} tflops={row['tflops']}", flush=True)
    with open(a.json, "w") as fh:
        json.dump({"device": torch.cuda.get_device_name(), "torch": torch.__version__, "results": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
