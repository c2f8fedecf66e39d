"""PyTorch SDPA on the same shapes as our bench, for comparison in one run.

Times torch.nn.functional.scaled_dot_product_attention with each backend that
accepts the dtype (f32: math, memory-efficient; f16: also flash and cuDNN) on
B x H x N x D inputs, forward only, CUDA events, median of repeats after a
warm-up. Writes a JSON file whose rows carry the same fields as our bench JSON.

usage: python3 sdpa.py --seq 1024,4096 --head-dim 64,128 --heads 16 [--causal-both] --json out.json
"""
import argparse
import json
import torch
from cuda_timing import SDPA_BACKENDS as BACKENDS, time_ms
from torch.nn.attention import sdpa_kernel

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seq", default="1024,4096")
    ap.add_argument("--head-dim", default="64")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--causal-both", action="store_true")
    ap.add_argument("--dtypes", default="f32,f16")
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    rows = []
    for d in [int(x) for x in a.head_dim.split(",")]:
        for n in [int(x) for x in a.seq.split(",")]:
            for causal in ([False, True] if a.causal_both else [False]):
                for dt in a.dtypes.split(","):
                    dtype = torch.float32 if dt == "f32" else torch.float16
                    g = torch.Generator(device="cuda").manual_seed(0)
                    q, k, v = (torch.rand(a.batch, a.heads, n, d, device="cuda", dtype=dtype, generator=g) * 2 - 1 for _ in range(3))
                    for name, be in BACKENDS.items():
                        if dt == "f32" and name in ("flash", "cudnn"):
                            continue
                        row = dict(algorithm=f"torch-sdpa-{name}", batch=a.batch, heads=a.heads, kvHeads=a.heads,
                                   seqQ=n, seqK=n, headDim=d, causal=causal, dtype=dt)
                        try:
                            with sdpa_kernel([be]):
                                fn = lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
                                ms = time_ms(fn)
                            flops = 4 * a.batch * a.heads * n * n * d * (0.5 if causal else 1.0)
                            row.update(msMedian=ms, tflops=flops / (ms * 1e-3) / 1e12)
                        except Exception as e:  # backend refuses the shape/dtype, or out of memory
                            row.update(msMedian=None, tflops=None, error=str(e).split("\n")[0][:200])
                        torch.cuda.empty_cache()
                        rows.append(row)
                        print(f"{row['algorithm']:22} {dt} N={n} D={d} causal={causal} ms={row['msMedian']} tflops={row['tflops']}", flush=True)
    with open(a.json, "w") as f:
        json.dump({"device": torch.cuda.get_device_name(), "torch": torch.__version__, "results": rows}, f, indent=2)


if __name__ == "__main__":
    main()
