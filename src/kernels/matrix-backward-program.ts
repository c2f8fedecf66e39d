/*
 * When an f16 backward call runs on the tensor-core passes (matrix-backward.ts) instead of
 * the fused f32 ones between a widen and a narrow, and its program: Δ = rowsum(dO∘O) read
 * from f16, then the dK/dV pass and the dQ pass, every tensor read and written in f16.
 *
 * It runs by default every call it can, as the tensor-core forward (matrix-program.ts):
 * f16, flash, no score or mask modifier, sinks or per-batch positions, no forced fused tile,
 * at least 16 query rows and 16 keys, rows 16-byte aligned, on a device offering f16 → f32
 * subgroup matrices. `tensorCores: false` keeps the fused passes; `true` or a MatrixTile
 * (its `subgroups`; the backward's tiles are 16 rows) insists, with an AttentionInputError
 * saying why a call cannot run on it.
 */
import { AttentionInputError } from '../tensor/errors.js';
import type { BackwardCall, Caps } from './call.js';
import {
  matrixBackwardBytes,
  matrixBackwardKernel,
  matrixBackwardProblem,
  matrixBackwardSizes,
  MATRIX_BACKWARD_PARAMS,
  type MatrixBackwardConfig,
  type MatrixBackwardPass,
} from './matrix-backward.js';
import { backwardFrame } from './backward-program.js';
import type { Program, Step } from './program.js';
import { matrixCallProblem } from './matrix-program.js';

/**
 * Subgroups per workgroup (128 outer rows), as measured on the H200 at D = 64 and 128 (docs/PERF.md
 * "Tensor-core backward": 4 cost 13% at D = 64 and 41% at D = 128); fewer where the device's
 * workgroup memory is smaller (D = 256 takes 4 within 48 KiB).
 */
export const DEFAULT_BACKWARD_SUBGROUPS = 8;

/**
 * The tensor-core config of a backward call, or undefined (the fused passes run it).
 * `tensorCores` true or a MatrixTile forces it: an AttentionInputError says why a call cannot run on it.
 */
export function matrixBackwardLayout(c: BackwardCall, caps: Caps): MatrixBackwardConfig | undefined {
  if (c.tensorCores === false) return undefined;
  const plan = planBackward(c, caps);
  if (typeof plan !== 'string') return plan;
  if (c.tensorCores === undefined) return undefined;
  throw new AttentionInputError(`tensorCores: this backward call cannot run on the tensor-core passes: ${plan}`);
}

function planBackward(c: BackwardCall, caps: Caps): MatrixBackwardConfig | string {
  const p = c.problem;
  const why = matrixCallProblem(c, caps, 'the passes take');
  if (why) return why;
  const m = caps.matrix!; // checked there
  if (c.backwardTile || c.dqTile) return 'a fused-pass tile is forced';
  if (p.seqQ < 16) return `${p.seqQ} query rows are fewer than a subgroup matrix's 16`;
  if (p.seqK < 16) return `${p.seqK} keys are fewer than a subgroup matrix's 16`;
  const forced = typeof c.tensorCores === 'object' ? c.tensorCores.subgroups : undefined;
  const base = { headDim: p.headDim, causal: c.causal, shape: m.shape, subgroupSize: m.subgroupSize, emulate: m.emulate };
  let cfg: MatrixBackwardConfig = { ...base, subgroups: forced ?? DEFAULT_BACKWARD_SUBGROUPS };
  const bytes = (x: MatrixBackwardConfig) => Math.max(matrixBackwardBytes(x, 'dq'), matrixBackwardBytes(x, 'dkdv'));
  const fits = (x: MatrixBackwardConfig) =>
    bytes(x) <= caps.limits.maxComputeWorkgroupStorageSize && matrixBackwardSizes(x).threads <= caps.limits.maxComputeInvocationsPerWorkgroup;
  while (forced === undefined && !fits(cfg) && cfg.subgroups > 1) cfg = { ...cfg, subgroups: cfg.subgroups / 2 };
  const problem = matrixBackwardProblem(cfg);
  if (problem) return problem;
  const { threads, outer } = matrixBackwardSizes(cfg);
  if (threads > caps.limits.maxComputeInvocationsPerWorkgroup)
    return `${threads} invocations per workgroup exceed this device's ${caps.limits.maxComputeInvocationsPerWorkgroup}`;
  if (bytes(cfg) > caps.limits.maxComputeWorkgroupStorageSize)
    return `${bytes(cfg)} bytes of workgroup memory exceed this device's ${caps.limits.maxComputeWorkgroupStorageSize}`;
  // Q, dO, K and V are read by matrix loads straight from storage: every row must start 16-byte aligned.
  if ([c.q, c.k, c.v].some((o) => [o.strides.batch, o.strides.head, o.strides.seq].some((x) => x % 8 !== 0)))
    return 'its rows do not start 16-byte aligned (strides in multiples of 8 halves)';
  const grid = Math.max(Math.ceil(p.seqQ / outer), Math.ceil(p.seqK / outer), p.headsQ, p.batch);
  if (grid > caps.limits.maxComputeWorkgroupsPerDimension) return "its grid exceeds this device's workgroups per dimension";
  return cfg;
}

/** The tensor-core backward's program: outputs 'dq', 'dk', 'dv' (f16), like the fused backward's. */
export function matrixBackwardProgram(c: BackwardCall, cfg: MatrixBackwardConfig, caps: Caps): Program {
  const p = c.problem;
  const frame = backwardFrame(c, caps);
  const values = { ...frame.values, nan: NaN }; // per-batch positions never come here
  const { outer } = matrixBackwardSizes(cfg);
  const inputs = { q: 'q', k: 'k', v: 'v', dout: 'dout', lse: 'lse', dd: 'dd' };
  const pass = (which: MatrixBackwardPass): Step => ({
    spec: matrixBackwardKernel(cfg, which),
    params: MATRIX_BACKWARD_PARAMS,
    values,
    buffers: which === 'dq' ? { ...inputs, dq: 'dq' } : { ...inputs, dk: 'dk', dv: 'dv' },
    grid: which === 'dq' ? [Math.ceil(p.seqQ / outer), p.headsQ, p.batch] : [Math.ceil(p.seqK / outer), p.headsKv, p.batch],
  });
  const steps = [frame.preprocess, pass('dkdv'), pass('dq')];
  return { buffers: frame.buffers, steps, labels: steps.map((s) => s.spec.label) };
}
