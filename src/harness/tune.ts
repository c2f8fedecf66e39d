/*
 * The timed tile search behind `bench --tune`: for one shape, every tile that
 * fits this device is planned and timed on random inputs (a few samples each),
 * and the fastest becomes the tile for that shape class (kernels/tile-policy.ts; saved by runtime/tuning.ts).
 */
import { BACKWARD_TILES, backwardTileFits, chooseBackwardTile, chooseDqTile, DQ_TILES, type BackwardTile } from '../kernels/backward.js';
import type { ForwardTile } from '../kernels/forward.js';
import { chooseForwardTile, FORWARD_TILES, tileFits } from '../kernels/tiles.js';
import { backwardTile, dqTile, shapeClass, type Pass } from '../kernels/tile-policy.js';
import type { Attention } from '../api/attention.js';
import type { AttentionTensor } from '../api/tensor.js';
import { forwardCall, gpuSeam } from '../api/internal.js';
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
 * default tile) — and records the winner in the Attention's tuned tiles.
 */
export async function tune(attn: Attention, shape: BenchShape, pass: Pass, onProgress?: (msg: string) => void): Promise<TuneResult> {
  const gpu = gpuSeam(attn);
  if (!gpu) throw new Error('tuning needs the WebGPU backend');
  const rand = rng(7);
  const tensor = (heads: number, seq: number) =>
    attn.tensor(randomData(shape.batch * heads * seq * shape.headDim, rand), [shape.batch, heads, seq, shape.headDim]);
  const [q, k, v, dout] = [
    tensor(shape.heads, shape.seqQ),
    tensor(shape.kvHeads, shape.seqK),
    tensor(shape.kvHeads, shape.seqK),
    tensor(shape.heads, shape.seqQ),
  ];
  const call = forwardCall(q!, k!, v!, { causal: shape.causal });
  const caps = gpu.caps;
  const fits = (t: BackwardTile) => backwardTileFits(shape.headDim, t, caps.limits);
  const candidates: (ForwardTile | BackwardTile)[] =
    pass === 'forward'
      ? FORWARD_TILES.filter((t) => tileFits(shape.headDim, t, caps.limits, caps.subgroupWidth))
      : pass === 'dq'
        ? [...DQ_TILES, ...BACKWARD_TILES].filter(fits)
        : BACKWARD_TILES.filter(fits);
  const key = shapeClass(pass, shape.headDim, shape.causal, shape.seqQ);
  // The dK/dV tile the dQ search runs beside: the one a call of this shape gets now.
  const dkdv = pass === 'dq' ? backwardTile(caps, shape.headDim, shape.causal, shape.seqQ) : undefined;
  const defaultTile =
    pass === 'forward'
      ? chooseForwardTile(shape.headDim, caps.limits, caps.subgroupWidth)
      : pass === 'dq' && dkdv
        ? (chooseDqTile(shape.headDim, caps.limits) ?? dkdv)
        : chooseBackwardTile(shape.headDim, caps.limits);
  const fwd = pass === 'forward' ? undefined : await gpu.prepare(gpu.forwardProgram(call), { q: q!, k: k!, v: v! });
  if (fwd) await gpu.run(fwd);
  const timed: { tile: ForwardTile | BackwardTile; ms?: number; error?: string }[] = [];
  try {
    for (const tile of candidates) {
      try {
        const program =
          pass === 'forward'
            ? gpu.forwardProgram({ ...call, tile: tile as ForwardTile })
            : gpu.backwardProgram({
                ...call,
                tableGrads: false,
                ...(pass === 'dq'
                  ? { backwardTile: dkdv, dqTile: tile as BackwardTile }
                  : // each dK/dV candidate beside the dQ tile the call will run with it
                    { backwardTile: tile as BackwardTile, dqTile: dqTile(caps, shape.headDim, tile as BackwardTile, shape.causal, shape.seqQ) }),
              });
        const tensors: Record<string, AttentionTensor | GPUBuffer> = {
          q: q!,
          k: k!,
          v: v!,
          ...(fwd ? { out: fwd.outputs.out!, lse: fwd.outputs.lse!, dout: dout! } : {}),
        };
        const prepared = await gpu.prepare(program, tensors);
        const t = await gpu.time([prepared], { samples: 3, minBatchMs: 50 });
        prepared.release();
        Object.values(prepared.outputs).forEach((b) => b.destroy());
        timed.push({ tile, ms: t.msMedian });
        onProgress?.(`  ${key}: tile ${JSON.stringify(tile)} ${t.msMedian.toPrecision(3)} ms`);
      } catch (e) {
        timed.push({ tile, error: e instanceof Error ? e.message : String(e) });
      }
    }
  } finally {
    if (fwd) {
      fwd.release();
      Object.values(fwd.outputs).forEach((b) => b.destroy());
    }
    [q, k, v, dout].forEach((t) => t!.destroy());
  }
  const ok = timed.filter((c): c is { tile: ForwardTile | BackwardTile; ms: number } => c.ms !== undefined);
  if (ok.length === 0) throw new Error(`tune ${key}: no tile ran (${timed.map((c) => c.error).join('; ')})`);
  const best = ok.reduce((a, b) => (b.ms < a.ms ? b : a));
  const same = (a: object, b: object | undefined) => JSON.stringify(a) === JSON.stringify(b);
  gpu.tuned.set(key, best.tile);
  return { shapeClass: key, tile: best.tile, ms: best.ms, defaultMs: ok.find((c) => same(c.tile, defaultTile))?.ms ?? NaN, candidates: timed };
}

/** The shape class a tuned tile of `pass` covers for `shape`. */
export function tuneKey(pass: Pass, shape: BenchShape): string {
  return shapeClass(pass, shape.headDim, shape.causal, shape.seqQ);
}

/** Saves the Attention's tuned tiles for its adapter and library version (Node); returns the file. */
export async function saveTunedTiles(attn: Attention): Promise<string | undefined> {
  return gpuSeam(attn)?.saveTuned();
}
