#!/usr/bin/env node
/*
 * CPU backend timing for docs/PERF.md ("CPU"): the fused forward on the WebAssembly
 * SIMD kernel and on the plain JS kernel, one thread, f32, B=1, H=8, D=64, N=512 and
 * 2048, causal and not. Median and best of repeats after a warm-up (the best shows the
 * kernel on a machine other processes share); GFLOP/s counts
 * 4·B·H·N²·D (×½ causal). Needs `npm run build` first.
 *
 *   node bench/cpu-kernels.mjs [--kernels wasm,js] [--seq 512,2048] [--repeats 5]
 */
import { createAttention } from '../dist/index.js';

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : def;
};
const kernels = arg('kernels', 'wasm,js').split(',');
const seqs = arg('seq', '512,2048').split(',').map(Number);
const repeats = Number(arg('repeats', '5'));
const [B, H, D] = [1, 8, 64];

const rand = (n) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
console.log('kernel  N     causal  ms(median)  GFLOP/s  ms(best)  GFLOP/s(best)');
for (const kernel of kernels) {
  const attn = await createAttention({ backend: 'cpu', cpu: { wasm: kernel === 'wasm' } });
  for (const N of seqs) {
    const dims = [B, H, N, D];
    const [q, k, v] = [0, 1, 2].map(() => attn.tensor(rand(B * H * N * D), dims));
    for (const causal of [false, true]) {
      const reps = kernel === 'js' && N > 1024 ? Math.min(repeats, 2) : repeats;
      await attn.forward(q, k, v, { causal }); // warm-up
      const ms = [];
      for (let i = 0; i < reps; i++) {
        const t0 = performance.now();
        await attn.forward(q, k, v, { causal });
        ms.push(performance.now() - t0);
      }
      ms.sort((a, b) => a - b);
      const med = ms[Math.floor(ms.length / 2)];
      const flops = 4 * B * H * N * N * D * (causal ? 0.5 : 1);
      const gf = (t) => (flops / t / 1e6).toFixed(2).padStart(7);
      const cols = [
        kernel.padEnd(7),
        String(N).padEnd(5),
        String(causal).padEnd(7),
        med.toFixed(1).padStart(10),
        gf(med),
        ms[0].toFixed(1).padStart(8),
        gf(ms[0]),
      ];
      console.log(cols.join(' '));
    }
  }
}
