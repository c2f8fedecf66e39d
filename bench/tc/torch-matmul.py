# PyTorch's f16 GEMM at 4096³ on the same card, beside bench/tc/gemm-ceiling.mjs: one JSON line each.
import json, torch
a = torch.randn(4096, 4096, device='cuda', dtype=torch.float16)
b = torch.randn(4096, 4096, device='cuda', dtype=torch.float16)
cases = [('torch f16 mm (f16 out)', lambda: a @ b), ('torch f16 mm, f32 out', lambda: torch.mm(a, b, out_dtype=torch.float32))]
for name, f in cases:
    try:
        for _ in range(3): f()
        torch.cuda.synchronize()
        s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        s.record()
        for _ in range(50): f()
        e.record(); torch.cuda.synchronize()
        ms = s.elapsed_time(e) / 50
        print(json.dumps({'name': name, 'ms': ms, 'tflops': 2 * 4096**3 / ms / 1e9}))
    except Exception as ex:
        print(json.dumps({'name': name, 'error': str(ex)[:200]}))
