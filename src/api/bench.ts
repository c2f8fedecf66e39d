/*
 * Benchmarks: for each shape and algorithm, validate against the float64
 * reference on a subset of rows, warm up, time (median of samples; GPU timing
 * in runtime/timing.ts), and report TFLOP/s and the IO model's bytes. The JSON
 * shape is the CLI contract of DESIGN.md.
 */
import { referenceForward, type HostTensor } from '../reference/forward.js';
import { timeDispatches } from '../runtime/timing.js';
import type { ForwardTile } from '../kernels/forward.js';
import type { BackwardTile } from '../kernels/backward.js';
import type { ForwardPlan, GpuVariant } from '../runtime/webgpu.js';
import type { Shape4 } from '../tensor/shape.js';
import { checkQkv, resolveScale, type Problem } from '../tensor/validate.js';
import { stridesOf } from '../tensor/shape.js';
import { referenceBackward } from '../reference/backward.js';
import { scoreGrad } from '../mods/grad.js';
import type { BackendForwardArgs } from './backends.js';
import type { VariantOptions } from './verify-variants.js';
import type { Attention } from './attention.js';
import { WebGpuBackend } from './backends.js';
import { compulsoryBytes, floorMs, forwardFlops, modelBytes, type FlashLayout } from './io-model.js';
import { devicePeaks } from '../runtime/probe.js';
import type { Algorithm } from './options.js';
import { randomData, rng } from './random.js';
import { benchVariant } from './bench-variants.js';
import { maskFn, scoreFn } from '../mods/emit-js.js';

/** Inputs smaller than this (about twice a large GPU's L2) are rotated among copies while timing. */
const ROTATE_BELOW_BYTES = 128 * 2 ** 20;

export interface BenchShape {
  readonly batch: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly seqQ: number;
  readonly seqK: number;
  readonly headDim: number;
  readonly causal: boolean;
}

/** One row of the bench JSON (contract fields first). */
export interface BenchResult extends BenchShape {
  readonly algorithm: Algorithm;
  readonly dtype: 'f32';
  readonly msMedian: number | null;
  readonly tflops: number | null;
  readonly modelBytes: number;
  readonly maxAbsErr: number | null;
  /**
   * The problem's floor on this device (its FLOPs at the measured FMA peak or its
   * compulsory bytes at the measured copy bandwidth, whichever is slower), ms, and
   * that floor as a percentage of the measured time. WebGPU only.
   */
  readonly floorMs?: number;
  readonly pctOfFloor?: number;
  /** Bytes of the IO model over the measured time, GB/s. */
  readonly modelGBps?: number | null;
  readonly timing?: string;
  readonly variant?: string;
  /** 'backward' when the backward pass was timed (TFLOP/s then counts 2.5 × the forward FLOPs). */
  readonly pass?: 'forward' | 'backward';
  /**
   * Backward: bytes of every device buffer the call holds at its peak (Q, K, V, O, LSE, dO,
   * dQ, dK, dV and the D scratch), and of the scratch alone (the O(N) extra memory).
   */
  readonly peakBytes?: number;
  readonly scratchBytes?: number;
  /** Milliseconds of each kernel timed alone (backward: preprocess, dK/dV, dQ), by label. */
  readonly kernelMs?: Readonly<Record<string, number>>;
  /** Why the case could not run (e.g. the naive N×N matrix does not fit). */
  readonly error?: string;
}

export interface BenchOptions {
  readonly seed?: number;
  readonly samples?: number;
  /** Rows checked against the reference per (first, last) head. Default 8. */
  readonly checkRows?: number;
  /** Force the fused kernel's tile (tuning). */
  readonly tile?: ForwardTile;
  /** Split-K ranges for the fused forward (default automatic). */
  readonly keySplits?: number;
  /** A named variant (bench-variants.ts). */
  readonly variant?: string;
  /** Time the backward pass instead of the forward (flash only). */
  readonly backward?: boolean;
  /** With backward: force the dQ pass's tile (sweeps). */
  readonly dqTile?: BackwardTile;
}

/** Query rows checked against the reference: first and last few of the first and last head. */
function checkedRows(p: Problem, n: number) {
  const lastHead = p.batch * p.headsQ - 1;
  return (b: number, h: number, i: number) => {
    const z = b * p.headsQ + h;
    return (z === 0 || z === lastHead) && (i < n || i >= p.seqQ - n);
  };
}

/** Max |ours − reference| over the checked rows; NaN anywhere checked gives Infinity. */
function checkedError(out: Float32Array, ref: Float64Array): number {
  let err = 0;
  for (let i = 0; i < ref.length; i++) {
    if (Number.isNaN(ref[i]!)) continue; // row not checked
    const d = Math.abs(out[i]! - ref[i]!);
    err = Number.isNaN(d) ? Infinity : Math.max(err, d);
  }
  return err;
}

/**
 * How the fused kernel lays out a benchmark's call (the IO model's input): the GPU
 * runner's own plan (tile, GQA packing, key ranges); 16-row tiles on the CPU.
 */
export function flashLayoutOf(
  attn: Attention,
  problem: Problem,
  causal: boolean,
  opts: { tile?: ForwardTile; keySplits?: number; variant?: GpuVariant } = {},
): FlashLayout {
  if (!(attn.impl instanceof WebGpuBackend)) return { br: 16 };
  const strides = (heads: number, seq: number) => stridesOf({ batch: problem.batch, heads, seq, headDim: problem.headDim }, 'bhnd');
  const kv = strides(problem.headsKv, problem.seqK);
  const { br, pack, ranges } = attn.impl.runner.flashLayout({
    problem, causal, tile: opts.tile, keySplits: opts.keySplits, variant: opts.variant,
    qStrides: strides(problem.headsQ, problem.seqQ), kStrides: kv, vStrides: kv,
  });
  return { br, pack, ranges };
}

export async function benchOne(
  attn: Attention,
  shape: BenchShape,
  algorithm: Algorithm,
  opts: BenchOptions = {},
): Promise<BenchResult> {
  const sq: Shape4 = { batch: shape.batch, heads: shape.heads, seq: shape.seqQ, headDim: shape.headDim };
  const skv: Shape4 = { batch: shape.batch, heads: shape.kvHeads, seq: shape.seqK, headDim: shape.headDim };
  const problem = checkQkv(sq, skv, skv);
  const gpu = attn.impl instanceof WebGpuBackend ? attn.impl : undefined;
  // With --backward, --tile is the backward kernels' tile (tx,ty,rm,cn); the forward keeps its default.
  const fwdTile = opts.backward ? undefined : opts.tile;
  const variant = opts.variant ? benchVariant(opts.variant, shape.heads, shape.seqK) : {};
  const layout = flashLayoutOf(attn, problem, shape.causal, { tile: fwdTile, keySplits: opts.keySplits, variant: { score: variant.score, mask: variant.mask } });
  const base = {
    ...shape,
    ...(opts.variant ? { variant: opts.variant } : {}),
    pass: opts.backward ? ('backward' as const) : ('forward' as const),
    algorithm,
    dtype: 'f32' as const,
    modelBytes: modelBytes(problem, algorithm, shape.causal, layout),
  };
  const rand = rng(opts.seed ?? 1234);
  const host = (s: Shape4): HostTensor => ({
    data: randomData(s.batch * s.heads * s.seq * s.headDim, rand),
    shape: s,
    layout: 'bhnd',
  });
  const hq = host(sq);
  const hk = host(skv);
  const hv = host(skv);
  const dims = (s: Shape4) => [s.batch, s.heads, s.seq, s.headDim];
  const tensors = [hq, hk, hv].map((h) => attn.tensor(h.data as Float32Array, dims(h.shape)));
  const [q, k, v] = tensors as [typeof tensors[0], typeof tensors[0], typeof tensors[0]];
  const fopts = { causal: shape.causal, algorithm, scale: resolveScale(undefined, shape.headDim), tile: fwdTile, keySplits: opts.keySplits, ...variant };
  const plans: ForwardPlan[] = [];
  try {
    // Validate first.
    const { out } = await attn.forward(q, k, v, fopts);
    const o = await out.read();
    out.destroy();
    const ref = referenceForward(hq, hk, hv, {
      causal: shape.causal,
      rows: checkedRows(problem, opts.checkRows ?? 8),
      score: variant.score && scoreFn(variant.score),
      mask: variant.mask && maskFn(variant.mask),
    });
    const maxAbsErr = checkedError(o, ref.out);

    let ms: number;
    let timing: string;
    if (gpu) {
      const args = {
        problem,
        q: { storage: q.storage(), layout: q.layout },
        k: { storage: k.storage(), layout: k.layout },
        v: { storage: v.storage(), layout: v.layout },
        scale: fopts.scale,
        causal: shape.causal,
        algorithm,
        tile: fwdTile,
        keySplits: opts.keySplits,
        variant: { score: variant.score, mask: variant.mask },
      };
      // Inputs that fit in cache are rotated among copies, so one run does not warm the next.
      const inputBytes = 4 * (hq.data.length + hk.data.length + hv.data.length);
      const copies = inputBytes < ROTATE_BELOW_BYTES ? Math.min(4, Math.ceil(ROTATE_BELOW_BYTES / inputBytes)) : 1;
      if (opts.backward) {
        return await benchBackward(gpu, { ...args, algorithm: 'flash' }, hq, hk, hv, problem, base, opts, variant, shape.causal);
      }
      plans.push(await gpu.plan(args));
      for (let c = 1; c < copies; c++) {
        const extra = [hq, hk, hv].map((h) => attn.tensor(h.data as Float32Array, dims(h.shape)));
        tensors.push(...extra);
        const [cq, ck, cv] = extra.map((t) => ({ storage: t.storage(), layout: t.layout }));
        plans.push(await gpu.plan({ ...args, q: cq!, k: ck!, v: cv! }));
      }
      const t = await timeDispatches(gpu.runner.device, plans.map((p) => p.dispatches), { samples: opts.samples ?? 5 });
      ms = t.msMedian;
      timing = `${t.method}, median of ${t.msSamples.length} × ${t.repsPerSample} runs`;
    } else {
      const times: number[] = [];
      for (let i = 0; i < (opts.samples ?? 3); i++) {
        const t0 = performance.now();
        const r = await attn.forward(q, k, v, fopts);
        times.push(performance.now() - t0);
        r.out.destroy();
      }
      times.sort((a, b) => a - b);
      ms = times[Math.floor(times.length / 2)]!;
      timing = `host clock, median of ${times.length} runs`;
    }
    const floor = gpu ? floorMs(forwardFlops(problem, shape.causal), compulsoryBytes(problem), await devicePeaks(gpu.runner.device)) : undefined;
    return {
      ...base,
      ...(floor !== undefined ? { floorMs: floor, pctOfFloor: (100 * floor) / ms } : {}),
      msMedian: ms,
      tflops: forwardFlops(problem, shape.causal) / (ms * 1e-3) / 1e12,
      maxAbsErr,
      modelGBps: base.modelBytes / (ms * 1e-3) / 1e9,
      timing,
    };
  } catch (e) {
    return { ...base, msMedian: null, tflops: null, maxAbsErr: null, error: e instanceof Error ? e.message : String(e) };
  } finally {
    plans.forEach((p) => {
      p.release();
      p.out.destroy();
      p.lse.destroy();
    });
    tensors.forEach((t) => t.destroy());
  }
}

/** Times the fused backward (forward run once first for O and LSE); checks dQ of a few rows. */
async function benchBackward(
  gpu: WebGpuBackend,
  args: BackendForwardArgs,
  hq: HostTensor,
  hk: HostTensor,
  hv: HostTensor,
  problem: Problem,
  base: Omit<BenchResult, 'msMedian' | 'tflops' | 'maxAbsErr'>,
  opts: BenchOptions,
  variant: VariantOptions,
  causal: boolean,
): Promise<BenchResult> {
  const runner = gpu.runner;
  const fwd = await gpu.plan(args);
  await runner.run(fwd);
  const dout = randomData(hq.data.length, rng((opts.seed ?? 1234) + 1));
  const dOutBuf = runner.upload(dout, 'bench dout');
  const buf = (o: BackendForwardArgs['q']) => {
    if (o.storage.kind !== 'gpu') throw new Error('backward bench needs GPU tensors');
    return o.storage.buffer;
  };
  const gargs = {
    problem,
    q: buf(args.q), k: buf(args.k), v: buf(args.v),
    qStrides: stridesOf(hq.shape, 'bhnd'), kStrides: stridesOf(hk.shape, 'bhnd'), vStrides: stridesOf(hv.shape, 'bhnd'),
    scale: args.scale, causal, variant: args.variant,
    out: fwd.out, dout: dOutBuf, lse: fwd.lse,
    backwardTile: opts.tile && { tx: opts.tile.tx, ty: opts.tile.ty, rm: opts.tile.rm, cn: opts.tile.cn },
    dqTile: opts.dqTile,
    // What a user gets by default: the gradients of the tables a score modifier reads.
    tableGrads: (variant.score?.tables.size ?? 0) > 0,
  };
  const plan = await runner.planBackward(gargs);
  try {
    await runner.run(plan);
    const dq = await runner.read(plan.dq, hq.data.length);
    const rows = checkedRows(problem, opts.checkRows ?? 8);
    const ref = referenceBackward(hq, hk, hv, { data: dout, shape: hq.shape, layout: 'bhnd' }, {
      causal, rows,
      score: variant.score && scoreFn(variant.score),
      scoreGrad: variant.score && scoreFn(scoreGrad(variant.score)),
      mask: variant.mask && maskFn(variant.mask),
    });
    // Rows not run by the reference are zero there: compare only the checked ones.
    const refRows = Float64Array.from(ref.dq, (x, i) => {
      const n = Math.floor(i / problem.headDim) % problem.seqQ;
      const z = Math.floor(i / (problem.headDim * problem.seqQ));
      return rows(Math.floor(z / problem.headsQ), z % problem.headsQ, n) ? x : NaN;
    });
    const maxAbsErr = checkedError(dq, refRows);
    const t = await timeDispatches(runner.device, [plan.dispatches], { samples: opts.samples ?? 5 });
    const ms = t.msMedian;
    const kernelMs: Record<string, number> = {};
    for (const d of plan.dispatches) kernelMs[d.spec.label] = (await timeDispatches(runner.device, [[d]], { samples: 3 })).msMedian;
    const floor = floorMs(2.5 * forwardFlops(problem, causal), compulsoryBytes(problem, 'backward'), await devicePeaks(runner.device));
    return {
      ...base,
      floorMs: floor,
      pctOfFloor: (100 * floor) / ms,
      msMedian: ms,
      kernelMs,
      peakBytes: [buf(args.q), buf(args.k), buf(args.v), fwd.out, fwd.lse, dOutBuf, plan.dq, plan.dk, plan.dv, plan.dd]
        .reduce((n, b) => n + b.size, 0),
      scratchBytes: plan.dd.size,
      tflops: (2.5 * forwardFlops(problem, causal)) / (ms * 1e-3) / 1e12,
      maxAbsErr,
      timing: `${t.method}, median of ${t.msSamples.length} × ${t.repsPerSample} runs (backward; dQ of checked rows vs reference)`,
    };
  } finally {
    plan.release();
    fwd.release();
    [plan.dq, plan.dk, plan.dv, fwd.out, fwd.lse, dOutBuf].forEach((b) => b.destroy());
  }
}
