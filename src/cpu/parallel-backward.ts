/*
 * The CPU backward spread over the worker pool, split by KV head: a worker takes a
 * range of KV heads (every batch of them) and runs the kernel the inline path would (wasm
 * or JS) on it, so the dK and dV rows it accumulates, the
 * dQ rows and the dsinks entries of its query heads are its own, summed in the same
 * order as the inline loop — bit-identical results. Each worker sends back its whole-
 * size gradients (zero outside its heads), whose heads are copied into place. Table
 * gradients sum over every head, so the backend keeps calls that want them inline
 * (as this does calls with a single KV head, which cannot be split this way).
 */
import { rowOffset, stridesOf, type Layout } from '../tensor/shape.js';
import type { CpuGrads } from './backward.js';
import { MIN_PARALLEL_WORK, shareable } from './parallel-forward.js';
import type { CpuPool } from './pool.js';
import type { WireBackwardArgs } from './worker-protocol.js';

/** Copies heads [h0, h1) (every batch) of a [B, H, N, D] tensor in `layout` from `src` to `dst`. */
function copyHeads(
  src: Float32Array,
  dst: Float32Array,
  shape: { batch: number; heads: number; seq: number; headDim: number },
  layout: Layout,
  h0: number,
  h1: number,
) {
  const s = stridesOf(shape, layout);
  for (let b = 0; b < shape.batch; b++)
    for (let h = h0; h < h1; h++)
      for (let n = 0; n < shape.seq; n++) {
        const o = rowOffset(s, b, h, n);
        dst.set(src.subarray(o, o + shape.headDim), o);
      }
}

/**
 * The backward on the pool's workers, or undefined when it should run inline; `wasm`: each
 * worker runs the wasm backward (the inline path's choice), else the JS one.
 */
export async function parallelBackward(pool: CpuPool, args: WireBackwardArgs, wasm: boolean): Promise<CpuGrads | undefined> {
  const p = args.problem;
  if (p.headsKv < 2 || p.batch * p.headsQ * p.seqQ * p.seqK * p.headDim < MIN_PARALLEL_WORK) return undefined;
  const slots = await pool.workers();
  if (slots.length < 2) return undefined;
  const n = Math.min(slots.length, p.headsKv);
  const cuts = Array.from({ length: n + 1 }, (_, i) => Math.round((i * p.headsKv) / n));
  const { q, k, v, out, dout, lse } = args;
  const sent = { ...args, q: shareable(q), k: shareable(k), v: shareable(v), out: shareable(out), dout: shareable(dout), lse: shareable(lse) };
  const replies = await Promise.all(cuts.slice(0, n).map((from, i) => pool.run(slots[i]!, { wasm, backward: sent, kvHeads: [from, cuts[i + 1]!] })));
  const grads = {
    dq: new Float32Array(q.length),
    dk: new Float32Array(k.length),
    dv: new Float32Array(v.length),
    dsinks: args.sinks && new Float32Array(p.headsQ),
  };
  const group = p.headsQ / p.headsKv;
  replies.forEach((r, i) => {
    if (!r.ok) throw new Error(`CPU worker: ${r.error}`);
    const g = r.grads!;
    const [h0, h1] = [cuts[i]!, cuts[i + 1]!];
    const kvShape = { batch: p.batch, heads: p.headsKv, seq: p.seqK, headDim: p.headDim };
    copyHeads(g.dq, grads.dq, { batch: p.batch, heads: p.headsQ, seq: p.seqQ, headDim: p.headDim }, args.qLayout, h0 * group, h1 * group);
    copyHeads(g.dk, grads.dk, kvShape, args.kLayout, h0, h1);
    copyHeads(g.dv, grads.dv, kvShape, args.vLayout, h0, h1);
    if (grads.dsinks) grads.dsinks.set(g.dsinks!.subarray(h0 * group, h1 * group), h0 * group);
  });
  return grads;
}
