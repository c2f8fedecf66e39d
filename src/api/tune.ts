/*
 * The timed tile search behind `bench --tune`: for one shape, every tile that
 * fits this device is planned and timed on random inputs (a few samples each),
 * and the fastest becomes the runner's tile for that shape class (runtime/tuning.ts).
 */
import { BACKWARD_TILES, backwardTileFits, chooseBackwardTile, chooseDqTile, DQ_TILES, type BackwardTile } from '../kernels/backward.js';
import type { ForwardTile } from '../kernels/forward.js';
import { chooseForwardTile, FORWARD_TILES, tileFits } from '../kernels/tiles.js';
import { stridesOf } from '../tensor/shape.js';
import { checkQkv } from '../tensor/validate.js';
import { timeDispatches } from '../runtime/timing.js';
import { shapeClass, type Pass } from '../runtime/tuning.js';
import type { WebGpuRunner } from '../runtime/webgpu.js';
import { randomData, rng } from './random.js';
import type { BenchShape } from './bench.js';

export interface TuneResult {
  readonly shapeClass: string;
  readonly tile: ForwardTile | BackwardTile;
  readonly ms: number;
  /** The default tile's time, for the report. */
  readonly defaultMs: number;
  /** Every candidate with its time (ms), or the error that ruled it out. */
  readonly candidates: readonly { readonly tile: ForwardTile | BackwardTile; readonly ms?: number; readonly error?: string }[];
}

/**
 * Searches the tiles of one pass for `shape` — the forward kernel, the backward's dK/dV
 * pass (its dQ pass at its default), or the dQ pass (the dK/dV pass at its tuned or
 * default tile) — and records the winner in `runner.tuned`.
 */
export async function tune(runner: WebGpuRunner, shape: BenchShape, pass: Pass, onProgress?: (msg: string) => void): Promise<TuneResult> {
  const sq = { batch: shape.batch, heads: shape.heads, seq: shape.seqQ, headDim: shape.headDim };
  const skv = { batch: shape.batch, heads: shape.kvHeads, seq: shape.seqK, headDim: shape.headDim };
  const problem = checkQkv(sq, skv, skv);
  const rand = rng(7);
  const upload = (n: number, label: string) => runner.upload(randomData(n, rand), label);
  const nq = shape.batch * shape.heads * shape.seqQ * shape.headDim;
  const nkv = shape.batch * shape.kvHeads * shape.seqK * shape.headDim;
  const [q, k, v, dout] = [upload(nq, 'tune q'), upload(nkv, 'tune k'), upload(nkv, 'tune v'), upload(nq, 'tune dout')];
  const args = {
    problem, q: q!, k: k!, v: v!,
    qStrides: stridesOf(sq, 'bhnd'), kStrides: stridesOf(skv, 'bhnd'), vStrides: stridesOf(skv, 'bhnd'),
    scale: 1 / Math.sqrt(shape.headDim), causal: shape.causal,
  };
  const limits = runner.device.limits;
  const fits = (t: BackwardTile) => backwardTileFits(shape.headDim, t, limits);
  const candidates: (ForwardTile | BackwardTile)[] =
    pass === 'forward'
      ? FORWARD_TILES.filter((t) => tileFits(shape.headDim, t, limits, runner.subgroupWidth))
      : pass === 'dq' ? [...DQ_TILES, ...BACKWARD_TILES].filter(fits) : BACKWARD_TILES.filter(fits);
  const key = shapeClass(pass, shape.headDim, shape.causal, shape.seqQ);
  // The dK/dV tile the dQ search runs beside: the one a call of this shape gets now.
  const dkdv = pass === 'dq' ? runner.backwardTile(shape.headDim, shape.causal, shape.seqQ) : undefined;
  const defaultTile =
    pass === 'forward' ? chooseForwardTile(shape.headDim, limits, runner.subgroupWidth)
      : pass === 'dq' && dkdv ? chooseDqTile(shape.headDim, limits) ?? dkdv
        : chooseBackwardTile(shape.headDim, limits);
  const fwd = pass === 'forward' ? undefined : await runner.planFlash(args);
  if (fwd) await runner.run(fwd);
  const timed: { tile: ForwardTile | BackwardTile; ms?: number; error?: string }[] = [];
  try {
    for (const tile of candidates) {
      try {
        const plan =
          pass === 'forward'
            ? await runner.planFlash({ ...args, tile: tile as ForwardTile })
            : await runner.planBackward({
                ...args, out: fwd!.out, lse: fwd!.lse, dout: dout!,
                ...(pass === 'dq'
                  ? { backwardTile: dkdv, dqTile: tile as BackwardTile }
                  // each dK/dV candidate beside the dQ tile the call will run with it
                  : { backwardTile: tile as BackwardTile, dqTile: runner.dqTile(shape.headDim, tile as BackwardTile, shape.causal, shape.seqQ) }),
              });
        const t = await timeDispatches(runner.device, [plan.dispatches], { samples: 3, minBatchMs: 50 });
        plan.release();
        if ('dq' in plan) [plan.dq, plan.dk, plan.dv].forEach((b) => b.destroy());
        else [plan.out, plan.lse].forEach((b) => b.destroy());
        timed.push({ tile, ms: t.msMedian });
        onProgress?.(`  ${key}: tile ${JSON.stringify(tile)} ${t.msMedian.toPrecision(3)} ms`);
      } catch (e) {
        timed.push({ tile, error: e instanceof Error ? e.message : String(e) });
      }
    }
  } finally {
    if (fwd) {
      fwd.release();
      [fwd.out, fwd.lse].forEach((b) => b.destroy());
    }
    [q, k, v, dout].forEach((b) => b!.destroy());
  }
  const ok = timed.filter((c): c is { tile: ForwardTile | BackwardTile; ms: number } => c.ms !== undefined);
  if (ok.length === 0) throw new Error(`tune ${key}: no tile ran (${timed.map((c) => c.error).join('; ')})`);
  const best = ok.reduce((a, b) => (b.ms < a.ms ? b : a));
  const same = (a: object, b: object | undefined) => JSON.stringify(a) === JSON.stringify(b);
  runner.tuned.set(key, best.tile);
  return { shapeClass: key, tile: best.tile, ms: best.ms, defaultMs: ok.find((c) => same(c.tile, defaultTile))?.ms ?? NaN, candidates: timed };
}
