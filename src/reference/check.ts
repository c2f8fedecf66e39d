/*
 * The reference's inputs checked before any arithmetic: it is exported, and a user who
 * hands it a plain array, a wrong shape or mismatched heads should read which tensor and
 * why, not a TypeError from inside its loops or a silently garbled result.
 */
import { AttentionInputError } from '../tensor/errors.js';
import { LAYOUTS, type Shape4 } from '../tensor/shape.js';
import type { HostTensor } from './forward.js';

const DIMS = ['batch', 'heads', 'seq', 'headDim'] as const;

function checkTensor(t: unknown, name: string): Shape4 {
  const h = t as Partial<HostTensor> | null;
  const fail = (why: string): never => {
    throw new AttentionInputError(`referenceForward/referenceBackward: ${name} ${why}`);
  };
  if (typeof h !== 'object' || h === null) fail('must be a HostTensor { data, shape, layout }');
  if (!(h!.data instanceof Float32Array || h!.data instanceof Float64Array)) fail('.data must be a Float32Array or Float64Array');
  const shape = h!.shape as Partial<Shape4> | undefined;
  if (typeof shape !== 'object' || shape === null) fail('.shape must be { batch, heads, seq, headDim }');
  for (const d of DIMS) {
    const n = shape![d];
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) fail(`.shape.${d} must be a positive integer, got ${String(n)}`);
  }
  if (!LAYOUTS.includes(h!.layout as never)) fail(`.layout must be one of ${LAYOUTS.join(', ')}, got ${String(h!.layout)}`);
  const s = shape as Shape4;
  const count = s.batch * s.heads * s.seq * s.headDim;
  if (h!.data!.length !== count) fail(`.data has ${h!.data!.length} elements, but its shape [${DIMS.map((d) => s[d]).join(', ')}] needs ${count}`);
  return s;
}

/** Throws AttentionInputError unless q, k, v (and dout, shaped like q) are consistent host tensors. */
export function checkReferenceInputs(q: unknown, k: unknown, v: unknown, dout?: unknown): void {
  const [sq, sk, sv] = [checkTensor(q, 'q'), checkTensor(k, 'k'), checkTensor(v, 'v')];
  const fail = (why: string): never => {
    throw new AttentionInputError(`referenceForward/referenceBackward: ${why}`);
  };
  if (DIMS.some((d) => sk[d] !== sv[d])) fail('k and v must have the same shape');
  if (sq.batch !== sk.batch || sq.headDim !== sk.headDim) fail('q and k must have the same batch and head dim');
  if (sq.heads % sk.heads !== 0) fail(`q's ${sq.heads} heads must be a multiple of k's ${sk.heads}`);
  if (dout !== undefined) {
    const sd = checkTensor(dout, 'dout');
    if (DIMS.some((d) => sd[d] !== sq[d])) fail('dout must have the shape of q (and of the output)');
  }
}
