"""One line per result of a `bench --json` file: name, the exit status (if given), dtype, shape,
ms, TFLOP/s, error against float64, the kernels that ran and each kernel's own time
(--step-times). Used by the tensor-core scripts (tc-ab.sh, gpu-tensor-cores.sh, gpu-tc-backward.sh).

usage: python3 bench/tc-summary.py RESULT.json NAME [RC]
"""
import json
import sys

path, name = sys.argv[1:3]
head = f"{name:28s}" + (f" rc={sys.argv[3]}" if len(sys.argv) > 3 else '')
try:
    d = json.load(open(path))
except Exception as e:
    print(f"{head} no result ({e})")
    sys.exit()
for r in d['results']:
    if r.get('msMedian') is None:
        print(f"{head} error {r.get('error')}")
        continue
    kernels = ' + '.join(r.get('kernels') or ['?'])
    steps = ' '.join(f"{ms:.3f}" for ms in (r.get('kernelMs') or {}).values())
    print(f"{head} {r['dtype']} H{r['heads']} N{r['seqQ']}/{r['seqK']} D{r['headDim']} {'causal' if r['causal'] else 'full  '} "
          f"{r['msMedian']:.4f} ms {r.get('tflops', 0):6.1f} TFLOP/s err {r['maxAbsErr']:.1e} [{kernels}] {steps}")
