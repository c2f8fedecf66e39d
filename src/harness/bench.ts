/*
 * Benchmarks: for each shape and algorithm, validate against the float64
 * reference on a subset of rows, warm up, time (median of samples; GPU timing
 * in runtime/timing.ts), and report TFLOP/s and the IO model's bytes. The JSON
 * shape is the CLI contract of DESIGN.md.
 */
import { AttentionLimitError } from '../tensor/errors.js';
import { referenceForward, type HostTensor } from '../reference/forward.js';
import type { ForwardTile } from '../kernels/forward.js';
import type { BackwardTile } from '../kernels/backward.js';
import type { DecodeTile } from '../kernels/decode-config.js';
import type { MatrixTile } from '../kernels/matrix-program.js';
import type { AttentionCall } from '../kernels/call.js';
import { BASIC_ROWS } from '../kernels/basic.js';
import { padBytes } from '../kernels/program.js';
import { pagedBenchInputs } from './bench-paged.js';
import { forwardCall, gpuSeam, type GpuSeam, type PreparedProgram } from '../api/internal.js';
import type { AttentionTensor } from '../api/tensor.js';
import type { Shape4 } from '../tensor/shape.js';
import { checkQkv, resolveScale, type Problem } from '../tensor/validate.js';
import { referenceBackward } from '../reference/backward.js';
import { scoreGrad } from '../mods/grad.js';
import type { VariantOptions } from './verify-variants.js';
import type { Attention } from '../api/attention.js';
import { compulsoryBytes, floorMs, forwardFlops, modelBytes } from './io-model.js';
import { flashLayoutOf } from './bench-layout.js';
import type { Algorithm } from '../api/options.js';
import { randomData, rng } from './random.js';
import { benchVariant } from './bench-variants.js';
import { maskFn, scoreFn } from '../mods/emit-js.js';
import { bytesOf, roundToHalf, type DType } from '../tensor/half.js';

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
  readonly dtype: DType;
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
  /** The forward program's steps as timed (kernel labels, e.g. which kernel ran a decode call). WebGPU only. */
  readonly kernels?: readonly string[];
  /** Each step of the forward program timed alone, ms (with --step-times). */
  readonly stepMs?: readonly number[];
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
  /** With `error`: true where the device's limits rule the case out (an AttentionLimitError), not a failure. */
  readonly beyondLimits?: boolean;
  /** Rows per page when K/V were read through a page table (bench --paged). */
  readonly pageSize?: number;
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
  /** The decode kernels: off, forced, the subgroup one forced, or the barrier one with a forced tile (default: where they can run). */
  readonly decodeKernel?: boolean | 'subgroups' | DecodeTile;
  /** The tensor-core kernel: off, forced, or with a forced tile (default: where it can run). */
  readonly tensorCores?: boolean | MatrixTile;
  /** Also time each step of the forward program alone (`stepMs`, in the order of `kernels`). */
  readonly stepTimes?: boolean;
  /** A named variant (bench-variants.ts). */
  readonly variant?: string;
  /** Time the backward pass instead of the forward (flash only). */
  readonly backward?: boolean;
  /** With backward: force the dQ pass's tile (sweeps). */
  readonly dqTile?: BackwardTile;
  /** Element type of Q, K, V, O (default 'f32'); f16 inputs are f16 values of the random draw. */
  readonly dtype?: DType;
  /** Read K and V through a page table of pages of this many rows (shuffled; bench-paged.ts), forward only. */
  readonly pageSize?: number;
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
export function checkedError(out: Float32Array, ref: Float64Array): number {
  let err = 0;
  for (let i = 0; i < ref.length; i++) {
    if (Number.isNaN(ref[i]!)) continue; // row not checked
    const d = Math.abs(out[i]! - ref[i]!);
    err = Number.isNaN(d) ? Infinity : Math.max(err, d);
  }
  return err;
}

/** The problem a bench shape describes (K and V share their shape). */
export function benchProblem(shape: BenchShape): Problem {
  const kv = { batch: shape.batch, heads: shape.kvHeads, seq: shape.seqK, headDim: shape.headDim };
  return checkQkv({ batch: shape.batch, heads: shape.heads, seq: shape.seqQ, headDim: shape.headDim }, kv, kv);
}

/**
 * The random Q, K, V a benchmark of `shape` runs on (bhnd, uniform draws from `seed`,
 * default 1234; f16 ones rounded to f16): the same for ours and the peers.
 */
export function benchInputs(shape: BenchShape, dtype: DType = 'f32', seed = 1234): { q: HostTensor; k: HostTensor; v: HostTensor } {
  const rand = rng(seed);
  const host = (s: Shape4): HostTensor => {
    const data = randomData(s.batch * s.heads * s.seq * s.headDim, rand);
    return { data: dtype === 'f16' ? roundToHalf(data) : data, shape: s, layout: 'bhnd' };
  };
  const kv: Shape4 = { batch: shape.batch, heads: shape.kvHeads, seq: shape.seqK, headDim: shape.headDim };
  return { q: host({ batch: shape.batch, heads: shape.heads, seq: shape.seqQ, headDim: shape.headDim }), k: host(kv), v: host(kv) };
}

/**
 * The float64 reference output of a plain (no variant) benchmark on `inputs`, on the
 * checked rows only (first and last `checkRows` rows of the first and last head; NaN elsewhere).
 */
export function benchReference(shape: BenchShape, inputs: ReturnType<typeof benchInputs>, checkRows = 8): Float64Array {
  const rows = checkedRows(benchProblem(shape), checkRows);
  return referenceForward(inputs.q, inputs.k, inputs.v, { causal: shape.causal, rows }).out;
}

export async function benchOne(attn: Attention, shape: BenchShape, algorithm: Algorithm, opts: BenchOptions = {}): Promise<BenchResult> {
  const sq: Shape4 = { batch: shape.batch, heads: shape.heads, seq: shape.seqQ, headDim: shape.headDim };
  const skv: Shape4 = { batch: shape.batch, heads: shape.kvHeads, seq: shape.seqK, headDim: shape.headDim };
  const problem = checkQkv(sq, skv, skv);
  const gpu = gpuSeam(attn);
  // With --backward, --tile is the backward kernels' tile (tx,ty,rm,cn); the forward keeps its default.
  const fwdTile = opts.backward ? undefined : opts.tile;
  const dtype = opts.dtype ?? 'f32';
  const eb = bytesOf(dtype);
  const variant = opts.variant ? benchVariant(opts.variant, shape.heads, shape.seqK) : {};
  const layout = algorithm === 'basic' ? { br: BASIC_ROWS } : flashLayoutOf(attn, problem, shape.causal, { ...opts, ...variant, tile: fwdTile, dtype });
  const base = {
    ...shape,
    ...(opts.variant ? { variant: opts.variant } : {}),
    ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
    pass: opts.backward ? ('backward' as const) : ('forward' as const),
    algorithm,
    dtype,
    modelBytes: modelBytes(problem, algorithm, shape.causal, layout, eb),
  };
  const { q: hq, k: hk, v: hv } = benchInputs(shape, dtype, opts.seed);
  const dims = (s: Shape4) => [s.batch, s.heads, s.seq, s.headDim];
  // --paged: the same K and V on shuffled pages of a pool, read through a page table.
  const paged = opts.pageSize ? pagedBenchInputs(hk, hv, opts.pageSize, rng((opts.seed ?? 1234) + 1)) : undefined;
  const inputs = [hq, paged?.k ?? hk, paged?.v ?? hv];
  const tensors = inputs.map((h) => attn.tensor(h.data as Float32Array, dims(h.shape), { dtype }));
  const [q, k, v] = tensors as [(typeof tensors)[0], (typeof tensors)[0], (typeof tensors)[0]];
  const fopts = {
    causal: shape.causal,
    algorithm,
    scale: resolveScale(undefined, shape.headDim),
    tile: fwdTile,
    keySplits: opts.keySplits,
    decodeKernel: opts.decodeKernel,
    tensorCores: opts.tensorCores,
    ...variant,
    ...(paged ? { pages: paged.pages } : {}),
  };
  const plans: PreparedProgram[] = [];
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
    let kernels: readonly string[] | undefined;
    let stepMs: number[] | undefined;
    if (gpu) {
      const call = forwardCall(q, k, v, fopts);
      // Inputs that fit in cache are rotated among copies, so one run does not warm the next.
      const inputBytes = eb * (hq.data.length + hk.data.length + hv.data.length);
      const copies = inputBytes < ROTATE_BELOW_BYTES ? Math.min(4, Math.ceil(ROTATE_BELOW_BYTES / inputBytes)) : 1;
      if (opts.backward) {
        return await benchBackward(gpu, attn, call, { q, k, v }, hq, hk, hv, base, opts, variant);
      }
      const program = gpu.forwardProgram(call);
      kernels = program.labels;
      plans.push(await gpu.prepare(program, { q, k, v }));
      for (let c = 1; c < copies; c++) {
        const extra = inputs.map((h) => attn.tensor(h.data as Float32Array, dims(h.shape), { dtype }));
        tensors.push(...extra);
        plans.push(await gpu.prepare(program, { q: extra[0]!, k: extra[1]!, v: extra[2]! }));
      }
      const t = await gpu.time(plans, { samples: opts.samples ?? 5 });
      ms = t.msMedian;
      timing = `${t.method}, median of ${t.msSamples.length} × ${t.repsPerSample} runs`;
      if (opts.stepTimes) {
        stepMs = [];
        for (let i = 0; i < plans[0]!.dispatches.length; i++) {
          const alone = plans.map((p) => ({ ...p, dispatches: [p.dispatches[i]!] }));
          stepMs.push((await gpu.time(alone, { samples: opts.samples ?? 5 })).msMedian);
        }
      }
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
    const floor = gpu ? floorMs(forwardFlops(problem, shape.causal), compulsoryBytes(problem, 'forward', eb), await gpu.peaks()) : undefined;
    return {
      ...base,
      ...(floor !== undefined ? { floorMs: floor, pctOfFloor: (100 * floor) / ms } : {}),
      msMedian: ms,
      tflops: forwardFlops(problem, shape.causal) / (ms * 1e-3) / 1e12,
      maxAbsErr,
      modelGBps: base.modelBytes / (ms * 1e-3) / 1e9,
      timing,
      ...(kernels ? { kernels } : {}),
      ...(stepMs ? { stepMs } : {}),
    };
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    return { ...base, msMedian: null, tflops: null, maxAbsErr: null, error, ...(e instanceof AttentionLimitError ? { beyondLimits: true } : {}) };
  } finally {
    plans.forEach((p) => {
      p.release();
      Object.values(p.outputs).forEach((b) => b.destroy());
    });
    tensors.forEach((t) => t.destroy());
  }
}

/** Times the fused backward (forward run once first for O and LSE); checks dQ of a few rows. */
async function benchBackward(
  gpu: GpuSeam,
  attn: Attention,
  call: AttentionCall,
  t: { q: AttentionTensor; k: AttentionTensor; v: AttentionTensor },
  hq: HostTensor,
  hk: HostTensor,
  hv: HostTensor,
  base: Omit<BenchResult, 'msMedian' | 'tflops' | 'maxAbsErr'>,
  opts: BenchOptions,
  variant: VariantOptions,
): Promise<BenchResult> {
  const { problem, causal } = call;
  const fwd = await gpu.prepare(gpu.forwardProgram(call), t);
  await gpu.run(fwd);
  const dtype = call.dtype;
  const dout = randomData(hq.data.length, rng((opts.seed ?? 1234) + 1));
  if (dtype === 'f16') roundToHalf(dout);
  const dOut = attn.tensor(dout, [problem.batch, problem.headsQ, problem.seqQ, problem.headDim], { dtype });
  const program = gpu.backwardProgram({
    ...call,
    backwardTile: opts.tile && { tx: opts.tile.tx, ty: opts.tile.ty, rm: opts.tile.rm, cn: opts.tile.cn },
    dqTile: opts.dqTile,
    // What a user gets by default: the gradients of the tables a score modifier reads.
    tableGrads: (variant.score?.tables.size ?? 0) > 0,
  });
  const plan = await gpu.prepare(program, { ...t, out: fwd.outputs.out!, lse: fwd.outputs.lse!, dout: dOut });
  const grads = plan.outputs as Readonly<Record<'dq' | 'dk' | 'dv', GPUBuffer>>;
  try {
    await gpu.run(plan);
    const dq = await gpu.read(grads.dq, hq.data.length, dtype);
    const rows = checkedRows(problem, opts.checkRows ?? 8);
    const ref = referenceBackward(
      hq,
      hk,
      hv,
      { data: dout, shape: hq.shape, layout: 'bhnd' },
      {
        causal,
        rows,
        score: variant.score && scoreFn(variant.score),
        scoreGrad: variant.score && scoreFn(scoreGrad(variant.score)),
        mask: variant.mask && maskFn(variant.mask),
      },
    );
    // Rows not run by the reference are zero there: compare only the checked ones.
    const refRows = Float64Array.from(ref.dq, (x, i) => {
      const n = Math.floor(i / problem.headDim) % problem.seqQ;
      const z = Math.floor(i / (problem.headDim * problem.seqQ));
      return rows(Math.floor(z / problem.headsQ), z % problem.headsQ, n) ? x : NaN;
    });
    const maxAbsErr = checkedError(dq, refRows);
    const timed = await gpu.time([plan], { samples: opts.samples ?? 5 });
    const ms = timed.msMedian;
    const kernelMs: Record<string, number> = {};
    for (const d of plan.dispatches) kernelMs[d.spec.label] = (await gpu.time([{ ...plan, dispatches: [d] }], { samples: 3 })).msMedian;
    const floor = floorMs(2.5 * forwardFlops(problem, causal), compulsoryBytes(problem, 'backward', bytesOf(dtype)), await gpu.peaks());
    const scratchBytes = Object.values(program.buffers).reduce((n, d) => n + (d.role === 'scratch' ? padBytes(d.bytes) : 0), 0);
    const tensorBytes = [t.q, t.k, t.v, dOut].reduce((n, x) => n + padBytes(bytesOf(dtype) * x.shape.batch * x.shape.heads * x.shape.seq * x.shape.headDim), 0);
    return {
      ...base,
      floorMs: floor,
      pctOfFloor: (100 * floor) / ms,
      msMedian: ms,
      kernels: program.labels,
      kernelMs,
      peakBytes: tensorBytes + [fwd.outputs.out!, fwd.outputs.lse!, grads.dq, grads.dk, grads.dv].reduce((n, b) => n + b.size, 0) + scratchBytes,
      scratchBytes,
      tflops: (2.5 * forwardFlops(problem, causal)) / (ms * 1e-3) / 1e12,
      maxAbsErr,
      timing: `${timed.method}, median of ${timed.msSamples.length} × ${timed.repsPerSample} runs (backward; dQ of checked rows vs reference)`,
    };
  } finally {
    plan.release();
    fwd.release();
    [...Object.values(plan.outputs), ...Object.values(fwd.outputs)].forEach((b) => b.destroy());
    dOut.destroy();
  }
}
