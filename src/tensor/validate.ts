/*
 * Validation of forward() arguments, before any GPU or CPU work, with errors
 * that name the argument, the value and the rule.
 */
import { AttentionInputError } from './errors.js';
import { LAYOUTS, SUPPORTED_HEAD_DIMS, shapeToString, type Layout, type Shape4 } from './shape.js';

/** Checks a [B, H, N, D] dims array and returns the shape. */
export function shapeFromDims(dims: readonly number[], name = 'shape'): Shape4 {
  if (!Array.isArray(dims) || dims.length !== 4) {
    throw new AttentionInputError(`${name} must be [batch, heads, seq, headDim] (rank 4), got ${JSON.stringify(dims)}`);
  }
  for (const [i, v] of dims.entries()) {
    if (!Number.isInteger(v) || v < 1) {
      throw new AttentionInputError(`${name}[${i}] must be a positive integer, got ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`);
    }
  }
  const [batch, heads, seq, headDim] = dims as [number, number, number, number];
  return { batch, heads, seq, headDim };
}

export function checkLayout(layout: unknown, name = 'layout'): Layout {
  if (!LAYOUTS.includes(layout as Layout)) {
    throw new AttentionInputError(`${name} must be one of ${LAYOUTS.join(', ')}, got ${JSON.stringify(layout)}`);
  }
  return layout as Layout;
}

/** The derived problem size of one attention call. */
export interface Problem {
  readonly batch: number;
  readonly headsQ: number;
  readonly headsKv: number;
  readonly seqQ: number;
  readonly seqK: number;
  readonly headDim: number;
}

/** Checks that q, k, v agree (batch, head dim, GQA grouping, K/V lengths) and returns the problem size. */
export function checkQkv(q: Shape4, k: Shape4, v: Shape4): Problem {
  const fail = (msg: string) => {
    throw new AttentionInputError(`${msg} (q ${shapeToString(q)}, k ${shapeToString(k)}, v ${shapeToString(v)})`);
  };
  if (k.batch !== q.batch || v.batch !== q.batch) fail('q, k and v must have the same batch size');
  if (k.headDim !== q.headDim || v.headDim !== q.headDim) fail('q, k and v must have the same head dim');
  if (k.heads !== v.heads) fail('k and v must have the same number of heads');
  if (k.seq !== v.seq) fail('k and v must have the same sequence length');
  if (q.heads % k.heads !== 0) {
    fail(`query heads (${q.heads}) must be a multiple of key/value heads (${k.heads}) for grouped-query attention`);
  }
  if (!SUPPORTED_HEAD_DIMS.includes(q.headDim)) {
    throw new AttentionInputError(`head dim ${q.headDim} is not supported; supported head dims: ${SUPPORTED_HEAD_DIMS.join(', ')}`);
  }
  return { batch: q.batch, headsQ: q.heads, headsKv: k.heads, seqQ: q.seq, seqK: k.seq, headDim: q.headDim };
}

/** Checks the softmax scale; undefined means 1/sqrt(D). */
export function resolveScale(scale: number | undefined, headDim: number): number {
  if (scale === undefined) return 1 / Math.sqrt(headDim);
  if (typeof scale !== 'number' || !Number.isFinite(scale)) {
    throw new AttentionInputError(`scale must be a finite number, got ${scale}`);
  }
  return scale;
}
