/*
 * The CPU forward spread over the worker pool: the call's units (units.ts) are cut
 * into one range per worker, every worker runs the same kernel the inline path
 * would on its range, and the main thread only waits — its event loop stays free.
 * With SharedArrayBuffer (Node; browsers only when cross-origin isolated) Q, K, V,
 * O and LSE are shared and workers write O and LSE in place; without it each worker
 * gets copies and sends back its O and LSE, whose rows are copied into place.
 */
import { rowOffset, stridesOf } from '../tensor/shape.js';
import type { CpuForwardResult } from './forward.js';
import type { CpuPool } from './pool.js';
import { canShareMemory } from './threads-node.js';
import { headRows, planUnits, type UnitRange } from './units.js';
import type { WireForwardArgs } from './worker-protocol.js';

/** Below this much work (B·Hq·Nq·Nk·D multiply-adds) a call runs inline: messages would cost more. */
export const MIN_PARALLEL_WORK = 1 << 21;

/**
 * `a` on a SharedArrayBuffer where workers can share memory (`a` itself if it is one
 * already, else a shared copy), so workers read it in place; elsewhere `a`. The backend
 * stores its tensors this way when it has workers, so a call copies no input.
 */
export function shareable(a: Float32Array): Float32Array {
  if (!canShareMemory() || a.buffer instanceof SharedArrayBuffer) return a;
  const s = new Float32Array(new SharedArrayBuffer(a.byteLength));
  s.set(a);
  return s;
}

/** Copies the rows of `units` from a worker's whole-size O and LSE into the call's. */
function copyUnits(args: WireForwardArgs, units: UnitRange, from: CpuForwardResult, to: CpuForwardResult): void {
  const { batch: B, headsQ: Hq, seqQ: Nq, headDim: D } = args.problem;
  const qs = stridesOf({ batch: B, heads: Hq, seq: Nq, headDim: D }, args.qLayout);
  for (let b = 0; b < B; b++) {
    for (let h = 0; h < Hq; h++) {
      const [r0, r1] = headRows(units, b * Hq + h, Nq);
      for (let n = r0; n < r1; n++) {
        const o = rowOffset(qs, b, h, n);
        to.out.set(from.out.subarray(o, o + D), o);
      }
      const l = (b * Hq + h) * Nq;
      to.lse.set(from.lse.subarray(l + r0, l + r1), l + r0);
    }
  }
}

/** Timings of the last forward split over workers (ms), read by bench/cpu-split.mjs. */
export const lastSplit = { wallMs: 0, beforeMs: 0, afterMs: 0, busyMs: [] as number[] };

/**
 * The forward on the pool's workers, or undefined when it should run inline (no
 * workers, or too little work to be worth the messages). Bit-identical to the inline call.
 */
export async function parallelForward(pool: CpuPool, args: WireForwardArgs, wasm: boolean): Promise<CpuForwardResult | undefined> {
  const p = args.problem;
  if (p.batch * p.headsQ * p.seqQ * p.seqK * p.headDim < MIN_PARALLEL_WORK) return undefined;
  const slots = await pool.workers();
  if (slots.length < 2) return undefined;
  const t0 = performance.now();
  const ranges = planUnits(p, args.causal, slots.length);
  const [nOut, nLse] = [p.batch * p.headsQ * p.seqQ * p.headDim, p.batch * p.headsQ * p.seqQ];
  const share = canShareMemory();
  const alloc = (n: number) => {
    const a = share ? new Float32Array(new SharedArrayBuffer(n * 4)) : new Float32Array(n);
    return args.poison ? a.fill(NaN) : a;
  };
  const result: CpuForwardResult = { out: alloc(nOut), lse: alloc(nLse) };
  const sent: WireForwardArgs = share ? { ...args, q: shareable(args.q), k: shareable(args.k), v: shareable(args.v) } : args;
  const t1 = performance.now();
  const replies = await Promise.all(ranges.map((units, i) => pool.run(slots[i]!, { wasm, args: sent, units, into: share ? result : undefined })));
  const t2 = performance.now();
  replies.forEach((r, i) => {
    if (!r.ok) throw new Error(`CPU worker: ${r.error}`);
    if (r.result) copyUnits(args, ranges[i]!, r.result, result);
  });
  const t3 = performance.now();
  Object.assign(lastSplit, { wallMs: t3 - t0, beforeMs: t1 - t0, afterMs: t3 - t2, busyMs: replies.map((r) => (r.ok && r.busyMs) || 0) });
  return result;
}
