"""PyTorch SDPA backward on our backward bench's shapes: f32 (math, memory-efficient) and,
with --dtypes f16, f16 (FlashAttention-2, cuDNN).

FLOPs = 2.5 x forward (4·B·H·N²·D, ×½ causal). Times loss.backward() only, with
CUDA events, median of repeats, and the peak memory allocated during it.

usage: python3 sdpa_bwd.py --seq 4096 --head-dim 64 --heads 16 [--dtypes f32,f16] --json out.json
"""
import argparse
import json
import statistics

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seq", default="4096")
    ap.add_argument("--head-dim", default="64")
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--dtypes", default="f32")
    ap.add_argument("--json", required=True)
    a = ap.parse_args()
    rows = []
    for d in [int(x) for x in a.head_dim.split(",")]:
        for n in [int(x) for x in a.seq.split(",")]:
            for causal in (False, True):
                backends = {
                    "f32": (("math", SDPBackend.MATH), ("efficient", SDPBackend.EFFICIENT_ATTENTION)),
                    "f16": (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)),
                }
                for dt, name, be in ((dt, name, be) for dt in a.dtypes.split(",") for name, be in backends[dt]):
                    tt = torch.float16 if dt == "f16" else torch.float32
                    q, k, v = (torch.rand(1, a.heads, n, d, device="cuda", dtype=tt) * 2 - 1 for _ in range(3))
                    q, k, v = (t.detach().requires_grad_() for t in (q, k, v))
                    do = torch.rand(1, a.heads, n, d, device="cuda", dtype=tt)
                    row = dict(algorithm=f"torch-sdpa-{name}", batch=1, heads=a.heads, kvHeads=a.heads, seqQ=n, seqK=n, headDim=d, causal=causal, dtype=dt, **{"pass": "backward"})
                    try:
                        times = []
                        with sdpa_kernel([be]):
                            for it in range(8):
                                out = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
                                torch.cuda.synchronize()
                                torch.cuda.reset_peak_memory_stats()
                                s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                                s.record()
                                out.backward(do)
                                e.record()
                                torch.cuda.synchronize()
                                if it >= 2:
                                    times.append(s.elapsed_time(e))
                                q.grad = k.grad = v.grad = None
                        ms = statistics.median(times)
                        flops = 2.5 * 4 * a.heads * n * n * d * (0.5 if causal else 1.0)
                        row.update(msMedian=ms, tflops=flops / (ms * 1e-3) / 1e12, peakBytes=torch.cuda.max_memory_allocated())
                    except Exception as ex:
                        row.update(msMedian=None, tflops=None, error=str(ex).split("\n")[0][:200])
                    rows.append(row)
                    print(f"sdpa-bwd {dt} {name:10} N={n} D={d} causal={causal} ms={row['msMedian']} tflops={row['tflops']}", flush=True)
    with open(a.json, "w") as fh:
        json.dump({"device": torch.cuda.get_device_name(), "torch": torch.__version__, "results": rows}, fh, indent=2)


if __name__ == "__main__":
    main()
