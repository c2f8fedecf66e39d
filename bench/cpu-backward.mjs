#!/usr/bin/env node
/*
 * CPU backward timing for docs/PERF.md ("CPU backward (wasm)"): the backward on the
 * WebAssembly SIMD kernel and on the plain JS loop, one thread, f32, B=1, H=8, D=64,
 * N=512 and 2048, causal and not. Median and best of repeats after a warm-up; GFLOP/s
 * counts 2.5× the forward's FLOPs, 10·B·H·N²·D (×½ causal). Only the backward call is
 * timed (O and LSE come from one forward per case). Needs `npm run build` first.
 *
 *   node bench/cpu-backward.mjs [--kernels wasm,js] [--seq 512,2048] [--repeats 5] [--js-repeats 1]
 */
import { createAttention } from '../dist/index.js';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const kernels = arg('kernels', 'wasm,js').split(',');
const seqs = arg('seq', '512,2048').split(',').map(Number);
const repeats = Number(arg('repeats', '5'));
const jsRepeats = Number(arg('js-repeats', '1'));
const [B, H, D] = [1, 8, 64];

const rand = (n) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
console.log('kernel  N     causal  ms(median)  GFLOP/s  ms(best)  GFLOP/s(best)  runs');
for (const kernel of kernels) {
  const attn = await createAttention({ backend: 'cpu', cpu: { wasm: kernel === 'wasm', threads: 1 } });
  for (const N of seqs) {
    const dims = [B, H, N, D];
    const [q, k, v, dOut] = [0, 1, 2, 3].map(() => attn.tensor(rand(B * H * N * D), dims));
    for (const causal of [false, true]) {
      const { out, lse } = await attn.forward(q, k, v, { causal, returnLse: true });
      const reps = kernel === 'js' ? jsRepeats : repeats;
      const once = async () => {
        const t0 = performance.now();
        const g = await attn.backward(dOut, { q, k, v, out, lse }, { causal });
        const ms = performance.now() - t0;
        [g.dq, g.dk, g.dv].forEach((t) => t.destroy());
        return ms;
      };
      if (kernel !== 'js') await once(); // warm-up (the JS loop is too slow to spend one on)
      const ms = [];
      for (let i = 0; i < reps; i++) ms.push(await once());
      ms.sort((a, b) => a - b);
      const med = ms[Math.floor(ms.length / 2)];
      const flops = 10 * B * H * N * N * D * (causal ? 0.5 : 1);
      const gf = (t) => (flops / t / 1e6).toFixed(2).padStart(7);
      const cols = [
        kernel.padEnd(7),
        String(N).padEnd(5),
        String(causal).padEnd(7),
        med.toFixed(1).padStart(10),
        gf(med),
        ms[0].toFixed(1).padStart(8),
        gf(ms[0]),
        String(reps).padStart(13),
      ];
      console.log(cols.join(' '));
    }
  }
  attn.destroy();
}
