"""Shared by the PyTorch peer scripts: timing (CUDA events around `reps` calls, after
0.3 s of warm-up calls, median over `samples`) and the SDPA backends by name."""
import statistics
import time

import torch
from torch.nn.attention import SDPBackend

SDPA_BACKENDS = {
    "math": SDPBackend.MATH,
    "efficient": SDPBackend.EFFICIENT_ATTENTION,
    "flash": SDPBackend.FLASH_ATTENTION,
    "cudnn": SDPBackend.CUDNN_ATTENTION,
}


def time_ms(fn, reps=20, samples=5, warm_s=0.3):
    # An idle GPU runs at idle clocks for the first ~100 ms of work: warm it first.
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < warm_s:
        for _ in range(reps):
            fn()
        torch.cuda.synchronize()
    out = []
    for _ in range(samples):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(reps):
            fn()
        end.record()
        torch.cuda.synchronize()
        out.append(start.elapsed_time(end) / reps)
    return statistics.median(out)
