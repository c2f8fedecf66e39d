/*
 * When an f16 forward call runs on the tensor-core kernel (matrix.ts) instead of the
 * fused one, and its program (one dispatch: the kernel writes O and LSE itself).
 *
 * It runs by default every call it can: f16, flash, no score or mask modifier, sinks,
 * per-batch positions or paged K/V, bound whole (one chunk), at least one workgroup's
 * rows of queries (fewer rows leave the matrix units idle; the fused kernel splits keys
 * for those), on a device that offers f16 → f32 subgroup matrices (caps.matrix).
 * `tensorCores: false` keeps the fused kernel; `true` or a MatrixTile insists, with an
 * AttentionInputError where the call cannot run on it.
 */
import { AttentionInputError } from '../tensor/errors.js';
import { blockParams } from './blockmask.js';
import type { AttentionCall, Caps } from './call.js';
import { FORWARD_PARAMS } from './forward-config.js';
import { boundInputs, boundValues, forwardBuffers, forwardLayout } from './forward-program.js';
import { matrixConfigProblem, matrixKernel, matrixSizes, matrixWorkgroupBytes, type MatrixConfig } from './matrix.js';
import type { MatrixShape } from './matrix-ops.js';
import type { Program } from './program.js';
import { chunkRanges } from './split.js';
import { lowerVariant } from './variant.js';

/** A forced tensor-core tile (tuning, tests): subgroups per workgroup and keys per K/V tile. */
export interface MatrixTile {
  readonly subgroups: number;
  readonly keys: number;
  /** Fetch the next K/V tile into registers while the current one computes (default false: slower on the H200). */
  readonly prefetch?: boolean;
}

/** What a device offers the tensor-core kernel (Caps.matrix). */
export interface MatrixCaps {
  /** The f16 → f32 multiply shape used (M × N result, K deep). */
  readonly shape: MatrixShape;
  /** Lanes per subgroup (fixed on the device). */
  readonly subgroupSize: number;
  /** The matrix operations emulated in workgroup memory (a testing aid: slow, runs anywhere). */
  readonly emulate?: boolean;
}

/**
 * The tile by head dim, as measured on the H200 (docs/PERF.md "Tensor-core forward"):
 * 16-key tiles, 8 subgroups (128 rows) at D ≤ 64 and in causal calls, 16 (256 rows) above.
 */
export function defaultMatrixTile(headDim: number, causal = false): MatrixTile {
  return { subgroups: headDim <= 64 || causal ? 8 : 16, keys: 16 };
}

/** How a call runs on the tensor-core kernel. */
export interface MatrixLayout {
  readonly cfg: MatrixConfig;
  readonly bound: ReturnType<typeof chunkRanges>;
}

/**
 * The tensor-core layout of a call, or undefined (another kernel runs it). `tensorCores`
 * true or a MatrixTile forces it (an AttentionInputError says why a call cannot run on
 * it), false keeps the other kernels, unset picks it for every call it can run.
 */
export function matrixLayout(c: AttentionCall, caps: Caps): MatrixLayout | undefined {
  if (c.tensorCores === false) return undefined;
  const plan = planMatrix(c, caps);
  if (typeof plan !== 'string') return plan;
  if (c.tensorCores === undefined) return undefined;
  throw new AttentionInputError(`tensorCores: this call cannot run on the tensor-core kernel: ${plan}`);
}

/**
 * Why a call cannot run on the matrix units at all (the forward kernel's and the backward
 * passes' shared conditions; `takes` names which in the message), or undefined.
 */
export function matrixCallProblem(c: AttentionCall, caps: Caps, takes: string): string | undefined {
  if (c.algorithm !== 'flash') return `algorithm '${c.algorithm}'`;
  if (c.dtype !== 'f16') return `dtype '${c.dtype}' (the matrix units take f16)`;
  if (!caps.matrix)
    return `this device offers no f16 subgroup matrices with f32 results that ${takes} (WebGPU feature chromium-experimental-subgroup-matrix, with shader-f16; 16×16×16 on subgroups of 32), or createAttention turned tensorCores off`;
  if (c.score || c.mask) return 'it has a score or mask modifier';
  if (c.pages) return 'its K/V are paged';
  if (lowerVariant(c).kernel) return 'it has learned sinks or per-batch positions';
  return undefined;
}

/** The layout of a call, or why it cannot run on the tensor-core kernel. */
function planMatrix(c: AttentionCall, caps: Caps): MatrixLayout | string {
  const p = c.problem;
  const why = matrixCallProblem(c, caps, 'the kernel takes');
  if (why) return why;
  const m = caps.matrix!; // checked there
  if (c.tile) return 'a fused-kernel tile is forced';
  if (c.keySplits !== undefined && c.keySplits > 1) return 'key splits are asked for';
  const forced = typeof c.tensorCores === 'object' ? c.tensorCores : undefined;
  const base = { headDim: p.headDim, causal: c.causal, shape: m.shape, subgroupSize: m.subgroupSize, emulate: m.emulate };
  let cfg: MatrixConfig = { ...base, ...(forced ?? defaultMatrixTile(p.headDim, c.causal)) };
  // Where the default does not fit the device, fewer subgroups (a forced tile stays as asked).
  const fits = (x: MatrixConfig) =>
    matrixWorkgroupBytes(x) <= caps.limits.maxComputeWorkgroupStorageSize && matrixSizes(x).threads <= caps.limits.maxComputeInvocationsPerWorkgroup;
  while (!forced && !fits(cfg) && cfg.subgroups > 1) cfg = { ...cfg, subgroups: cfg.subgroups / 2 };
  const { BR, threads } = matrixSizes(cfg);
  if (!forced && c.tensorCores === undefined && p.seqQ < BR) return `${p.seqQ} query rows are fewer than a workgroup's ${BR}`;
  const problem = matrixConfigProblem(cfg);
  if (problem) return problem;
  if (p.seqQ < m.shape.m) return `${p.seqQ} query rows are fewer than a subgroup matrix's ${m.shape.m}`;
  if (threads > caps.limits.maxComputeInvocationsPerWorkgroup)
    return `${threads} invocations per workgroup exceed this device's ${caps.limits.maxComputeInvocationsPerWorkgroup}`;
  const bytes = matrixWorkgroupBytes(cfg);
  if (bytes > caps.limits.maxComputeWorkgroupStorageSize)
    return `${bytes} bytes of workgroup memory exceed this device's ${caps.limits.maxComputeWorkgroupStorageSize}`;
  const fused = forwardLayout({ ...c, tile: undefined }, caps);
  if (fused.chunks.length > 1) return 'it does not fit one storage binding';
  const bound = chunkRanges(fused.split, fused.chunks[0]!, caps.limits.minStorageBufferOffsetAlignment);
  // Q is read by matrix loads straight from storage: every row must start 16-byte aligned.
  const s = c.q.strides;
  if ([s.batch, s.head, s.seq].some((x) => x % 8 !== 0) || bound.q.offset % 16 !== 0)
    return 'its Q rows do not start 16-byte aligned (strides and offset in multiples of 8 halves)';
  const grid = Math.ceil(p.seqQ / BR);
  if (Math.max(grid, p.headsQ, p.batch) > caps.limits.maxComputeWorkgroupsPerDimension) return "its grid exceeds this device's workgroups per dimension";
  return { cfg, bound };
}

/** The tensor-core program: outputs 'out' and 'lse' like the fused forward's. */
export function matrixProgram(c: AttentionCall, layout: MatrixLayout): Program {
  const p = c.problem;
  const { cfg, bound } = layout;
  const spec = matrixKernel(cfg);
  const { BR } = matrixSizes(cfg);
  const step = {
    spec,
    params: FORWARD_PARAMS,
    values: { ...boundValues(c, bound), ...blockParams(undefined), batchBase: 0, tileBase: 0, qTiles: 1, rangeKeys: p.seqK, oPart: 0, statPart: 0 },
    buffers: { ...boundInputs(bound), o: { name: 'out', ...bound.q }, lse: { name: 'lse', ...bound.lse } },
    grid: [Math.ceil(p.seqQ / BR), p.headsQ, p.batch] as [number, number, number],
  };
  return { buffers: forwardBuffers(c, lowerVariant(c)), steps: [step], labels: [spec.label] };
}
