"""Shared timing for the PyTorch peer scripts: CUDA events around `reps` calls,
after one warm-up call, median over `samples`."""
import statistics

import torch


def time_ms(fn, reps=20, samples=5):
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
