#!/usr/bin/env node
/*
 * Issue 17's bar on a shared machine: ours (CPU backend, wasm SIMD, $THREADS threads)
 * against onnxruntime-web's wasm backend with the same thread count, the calls
 * INTERLEAVED one by one on bench's inputs (bench --peers runs all of ours, then each
 * peer, so load that comes and goes lands on one side). Per shape: one checked warm-up
 * each, then $REPS (9) pairs; prints medians, bests, and the median of the per-pair
 * ratio ORT-web / ours (above 1: ours is faster), which drift in load affects least.
 * f32, B=1, H=8, D=64, N in $SEQ (512,2048), causal and not. Needs `npm run build` and
 * onnxruntime-web installed (an optional dev dependency).
 *
 *   THREADS=2 node bench/cpu-vs-ortweb.mjs
 */
import { createAttention } from '../dist/index.js';
import { benchInputs } from '../dist/harness/bench.js';
import { loadCpuPeers } from '../dist/harness/cpu-peers.js';

const threads = Number(process.env.THREADS ?? 1);
const reps = Number(process.env.REPS ?? 9);
const seqs = (process.env.SEQ ?? '512,2048').split(',').map(Number);
const peerName = process.env.PEER ?? 'onnxruntime-web';
const loaded = (await loadCpuPeers(threads)).find((l) => 'peer' in l && l.peer.name === peerName);
if (!loaded) throw new Error(`${peerName} did not load`);
const peer = loaded.peer;
const attn = await createAttention({ backend: 'cpu', cpu: { threads } });
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const pause = () => new Promise((r) => setTimeout(r, 20)); // lets the other side's threads go idle

for (const N of seqs)
  for (const causal of [false, true]) {
    const shape = { batch: 1, heads: 8, kvHeads: 8, seqQ: N, seqK: N, headDim: 64, causal };
    const inputs = benchInputs(shape, 'f32');
    const [q, k, v] = [inputs.q, inputs.k, inputs.v].map((h) => attn.tensor(h.data, [1, 8, N, 64]));
    const call = await peer.prepare(shape, inputs);
    await call.run();
    (await attn.forward(q, k, v, { causal })).out.destroy();
    const ours = [];
    const theirs = [];
    for (let i = 0; i < reps; i++) {
      // Alternate who goes first, so neither always follows the other.
      for (const side of i % 2 ? ['theirs', 'ours'] : ['ours', 'theirs']) {
        await pause();
        const t0 = performance.now();
        if (side === 'ours') (await attn.forward(q, k, v, { causal })).out.destroy();
        else await call.run();
        (side === 'ours' ? ours : theirs).push(performance.now() - t0);
      }
    }
    await call.release();
    [q, k, v].forEach((t) => t.destroy());
    const ratio = med(ours.map((o, i) => theirs[i] / o));
    console.log(
      `threads=${threads} N=${N}${causal ? ' causal' : ''}: ours ${med(ours).toFixed(1)} (best ${Math.min(...ours).toFixed(1)}) ms, ` +
        `${peer.name} ${med(theirs).toFixed(1)} (best ${Math.min(...theirs).toFixed(1)}) ms, paired ratio ${ratio.toFixed(2)}×`,
    );
  }
attn.destroy();
