/*
 * Soak of the decode kernels' split-K merge (GPU machine): the same decoding call run many times
 * in a row, each result read back and compared bit for bit with the first (the merge order is
 * fixed, so any difference is a part read before it was written, or scratch left dirty), and the
 * first compared with the fused kernel's result (decodeKernel: false). Calls are submitted in
 * batches of QUEUE before their reads, so they overlap on the queue as a generator's would.
 * usage: node bench/decode-soak.mjs [DIST] ; env: RUNS (default 1000), SHAPES ("batch keys dtype", comma-separated)
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const dist = resolve(process.argv[2] ?? 'dist');
const { createAttention } = await import(pathToFileURL(`${dist}/index.js`).href);
const RUNS = Number(process.env.RUNS ?? 1000);
const QUEUE = 16;
const shapes = (process.env.SHAPES ?? '1 32768 f16,1 16384 f32,8 4096 f16,1 1000 f16').split(',').map((s) => s.trim().split(/\s+/));
const attn = await createAttention({ backend: 'webgpu' });
let bad = 0;
for (const [batch, keys, dtype] of shapes) {
  const [B, Hq, Hkv, D, Nk] = [Number(batch), 32, 8, 128, Number(keys)];
  const random = (n, seed) => Float32Array.from({ length: n }, (_, i) => Math.sin((i + 1) * seed) * 0.7);
  const q = attn.tensor(random(B * Hq * D, 12.9898), [B, Hq, 1, D], { dtype });
  const k = attn.tensor(random(B * Hkv * Nk * D, 78.233), [B, Hkv, Nk, D], { dtype });
  const v = attn.tensor(random(B * Hkv * Nk * D, 37.719), [B, Hkv, Nk, D], { dtype });
  const fused = await attn.forward(q, k, v, { decodeKernel: false });
  const want = await fused.out.read();
  fused.out.destroy();
  fused.lse?.destroy();
  let first;
  let differ = 0;
  let worst = 0;
  const t0 = performance.now();
  for (let done = 0; done < RUNS;) {
    const calls = [];
    for (let i = 0; i < QUEUE && done + i < RUNS; i++) calls.push(attn.forward(q, k, v));
    const results = await Promise.all(calls);
    for (const r of results) {
      const o = await r.out.read();
      r.out.destroy();
      r.lse?.destroy();
      if (!first) {
        first = o;
        for (let i = 0; i < o.length; i++) worst = Math.max(worst, Math.abs(o[i] - want[i]));
      } else if (!o.every((x, i) => Object.is(x, first[i]))) differ++;
    }
    done += results.length;
  }
  const nan = first.some((x) => Number.isNaN(x));
  const ok = differ === 0 && !nan && worst < (dtype === 'f16' ? 2e-3 : 1e-5);
  if (!ok) bad++;
  console.log(
    `B=${B} Nk=${Nk} ${dtype}: ${RUNS} calls in ${((performance.now() - t0) / 1000).toFixed(1)} s, ${differ} differ from the first, ` +
      `NaN ${nan}, max |decode − fused| ${worst.toExponential(2)} ${ok ? 'ok' : 'FAIL'}`,
  );
  for (const t of [q, k, v]) t.destroy();
}
attn.destroy();
process.exit(bad ? 1 : 0);
