"""One line per result of a `bench --json` file: name, algorithm, dtype, shape, ms, share of the copy
floor, each kernel alone (--step-times) and the first kernel's label. Used by the decode scripts.

usage: python3 bench/step-summary.py RESULT.json NAME
"""
import json
import sys

try:
    d = json.load(open(sys.argv[1]))
except Exception as e:
    print(sys.argv[2], 'no result', e)
    sys.exit()
for r in d['results']:
    if r.get('msMedian') is None:
        print(sys.argv[2], r['dtype'], r['algorithm'], 'error', r.get('error'))
        continue
    st = ' + '.join(f'{x:.4f}' for x in r.get('stepMs', []))
    k = (r.get('kernels') or ['?'])[0].split(' ×')[0]
    print(f"{sys.argv[2]:16s} {r['algorithm']:14s} {r['dtype']} B{r['batch']} Nk{r['seqK']:<6d} {r['msMedian']:.4f} ms "
          f"{r.get('pctOfFloor', 0):3.0f}% floor  steps {st}  [{k}]  err {r['maxAbsErr']:.1e}")
