/*
 * Builds the one validated call (kernels/call.ts) from tensors and options whose
 * types api/check-options.ts has checked: shapes agree, the variant fits the problem
 * (one sink per query head, table reads in range), the scale is resolved. Every backend and kernel program reads only what this returns.
 */
import { type AttentionCall, type BackwardCall, type Operand } from '../kernels/call.js';
import { MAX_POSITION, resolvePositions, type OffsetOption, type Positions } from '../mods/positions.js';
import { outOfRangeRead } from '../mods/ranges.js';
import { AttentionInputError } from '../tensor/errors.js';
import type { DType } from '../tensor/half.js';
import { shapeToString, stridesOf } from '../tensor/shape.js';
import { checkQkv, resolveScale, type Problem } from '../tensor/validate.js';
import type { BackwardOptions, ForwardOptions } from './options.js';
import type { AttentionTensor } from './tensor.js';
import { checkPaged, pagedQueryOffset } from './paged-call.js';

function operand(t: AttentionTensor): Operand {
  return { layout: t.layout, strides: stridesOf(t.shape, t.layout) };
}

/** The forward call for q, k, v and `opts`. */
export function forwardCall(q: AttentionTensor, k: AttentionTensor, v: AttentionTensor, opts: ForwardOptions): AttentionCall {
  // Paged K/V: k and v are page pools; the problem sees the logical [B, Hkv, longest, D].
  const paged = opts.pages && checkPaged(q, k, v, opts.pages);
  const problem = checkQkv(q.shape, paged?.kShape ?? k.shape, paged?.kShape ?? v.shape);
  const dtype = checkDtypes({ q, k, v }, opts.dtype);
  const algorithm = opts.algorithm ?? 'flash';
  if (paged && algorithm !== 'flash') throw new AttentionInputError(`pages (paged K/V) run on the fused kernel only; algorithm '${algorithm}' has none`);
  const pagedDefault = paged && opts.queryOffset === undefined ? { queryOffset: pagedQueryOffset(paged.pages, problem.seqQ) } : {};
  const positions = checkPositions({ ...opts, ...pagedDefault }, problem);
  const { score, mask, sinks } = checkVariant(opts, problem, positions);
  if (algorithm === 'basic' && (score || mask || sinks)) {
    throw new AttentionInputError("algorithm 'basic' (the teaching kernel) has no score/mask modifiers or sinks; use 'flash'");
  }
  if (algorithm === 'basic' && positions) {
    throw new AttentionInputError("algorithm 'basic' (the teaching kernel) has no queryOffset/keyOffset; use 'flash'");
  }
  return {
    problem,
    q: operand(q),
    k: operand(k),
    v: operand(v),
    dtype,
    scale: resolveScale(opts.scale, problem.headDim),
    causal: opts.causal ?? false,
    positions,
    algorithm,
    score,
    mask,
    sinks,
    tile: opts.tile,
    keySplits: opts.keySplits,
    decodeKernel: opts.decodeKernel,
    tensorCores: opts.tensorCores,
    ...(paged ? { pages: paged.pages } : {}),
  };
}

/** What a backward needs of its forward: the inputs, and O and LSE (forward with returnLse). */
export interface SavedTensors {
  readonly q: AttentionTensor;
  readonly k: AttentionTensor;
  readonly v: AttentionTensor;
  readonly out: AttentionTensor;
  readonly lse: AttentionTensor;
}

/** The backward call: the forward's, with dOut and out shaped like q and lse [B, Hq, Nq, 1]. */
export function backwardCall(dOut: AttentionTensor, saved: SavedTensors, opts: BackwardOptions): BackwardCall {
  const { q, k, v, out, lse } = saved;
  if (opts.pages) throw new AttentionInputError('backward has no paged K/V (pages): it is a decoding feature; run training calls on contiguous K/V');
  const call = forwardCall(q, k, v, { ...opts, algorithm: 'flash' });
  const p = call.problem;
  for (const [name, t] of [
    ['dOut', dOut],
    ['out', out],
  ] as const) {
    if (shapeToString(t.shape) !== shapeToString(q.shape) || t.layout !== q.layout) {
      throw new AttentionInputError(
        `${name} must have q's shape ${shapeToString(q.shape)} and layout '${q.layout}', got ${shapeToString(t.shape)} '${t.layout}'`,
      );
    }
  }
  checkDtypes({ q, dOut, out }, undefined);
  checkStatsTensor(lse, 'lse');
  if (lse.shape.batch !== p.batch || lse.shape.heads !== p.headsQ || lse.shape.seq !== p.seqQ || lse.shape.headDim !== 1) {
    throw new AttentionInputError(`lse must be [${p.batch}, ${p.headsQ}, ${p.seqQ}, 1] (from forward), got ${shapeToString(lse.shape)}`);
  }
  return {
    ...call,
    tableGrads: (opts.tableGrads ?? true) && (opts.score?.tables.size ?? 0) > 0,
    backwardTile: opts.backwardTile,
    dqTile: opts.dqTile,
  };
}

/** The one element type of `tensors` (the first's), checked against the others and against `want` (the dtype option). */
function checkDtypes(tensors: Readonly<Record<string, AttentionTensor>>, want: DType | undefined): DType {
  const [[first, t0], ...rest] = Object.entries(tensors) as [string, AttentionTensor][];
  for (const [name, t] of rest) {
    if (t.dtype !== t0!.dtype) throw new AttentionInputError(`${name} is ${t.dtype} but ${first} is ${t0!.dtype}: every tensor of a call has one dtype`);
  }
  if (want !== undefined && want !== t0!.dtype) {
    throw new AttentionInputError(
      `dtype '${want}' was asked for, but the tensors are ${t0!.dtype}: make them with attn.tensor(data, dims, { dtype: '${want}' })`,
    );
  }
  return t0!.dtype;
}

/** LSE and the other statistics are f32 whatever the call's dtype. */
export function checkStatsTensor(t: AttentionTensor, name: string): void {
  if (t.dtype !== 'f32') throw new AttentionInputError(`${name} must be f32 (as forward returns it), got ${t.dtype}`);
}

/**
 * The call's positions when queryOffset or keyOffset is set (undefined: the default): an
 * array must have one entry per batch entry, and the last position must stay below 2^24
 * (kernels read per-batch positions as exact f32 integers).
 */
function checkPositions(opts: ForwardOptions, p: Problem): Positions | undefined {
  if (opts.queryOffset === undefined && opts.keyOffset === undefined) return undefined;
  const count = (name: string, o: OffsetOption | undefined) => {
    if (typeof o === 'object' && o.length !== p.batch) {
      throw new AttentionInputError(`${name} has ${o.length} entries, but the batch has ${p.batch} (one offset each, or one number for all)`);
    }
  };
  count('queryOffset', opts.queryOffset);
  count('keyOffset', opts.keyOffset);
  const pos = resolvePositions(p.batch, p.seqQ, p.seqK, opts.queryOffset, opts.keyOffset);
  pos.query.forEach((q, b) => {
    const last = Math.max(q + p.seqQ, pos.key[b]! + p.seqK);
    if (last > MAX_POSITION) throw new AttentionInputError(`positions reach ${last} in batch entry ${b}; they must stay below ${MAX_POSITION}`);
  });
  return pos;
}

/** Checks the variant options: modifiers of the right kind, one sink per query head, table reads in range. */
function checkVariant(opts: ForwardOptions, problem: Problem, positions: Positions | undefined): Pick<AttentionCall, 'score' | 'mask' | 'sinks'> {
  const { score, mask, sinks } = opts;
  if (score !== undefined && score?.kind !== 'score') {
    throw new AttentionInputError(`score must be a score modifier (alibi, softcap, scoreMod(…)), got ${describe(score)}`);
  }
  if (mask !== undefined && mask?.kind !== 'mask') {
    throw new AttentionInputError(`mask must be a mask modifier (slidingWindow, documentMask, maskMod(…)), got ${describe(mask)}`);
  }
  if (sinks !== undefined) {
    if (sinks?.kind !== 'sinks') throw new AttentionInputError(`sinks must come from learnedSinks(logits), got ${describe(sinks)}`);
    if (sinks.logits.length !== problem.headsQ) {
      throw new AttentionInputError(`sinks has ${sinks.logits.length} logits, but there are ${problem.headsQ} query heads (one each)`);
    }
  }
  for (const m of [score, mask]) {
    const bad = m && outOfRangeRead(m, problem, positions ?? resolvePositions(problem.batch, problem.seqQ, problem.seqK), opts.causal ?? false);
    if (bad) throw new AttentionInputError(bad);
  }
  return { score, mask, sinks: sinks?.logits };
}

/** How a rejected option value is described in errors. */
export function describe(x: unknown): string {
  const kind = (x as { kind?: unknown })?.kind;
  return kind ? `a ${String(kind)} modifier` : typeof x;
}
