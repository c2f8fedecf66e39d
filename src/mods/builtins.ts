/*
 * Built-in variants, each a few lines on top of scoreMod/maskMod. q and kv are
 * positions in the sequence (mods/positions.ts: by default keys at 0 … Nk−1 and
 * queries at Nk−Nq … Nk−1; queryOffset and keyOffset move them). Pictures of each mask are in
 * docs/variants.md (drawn by maskPicture).
 */
import { AttentionInputError } from '../tensor/errors.js';
import { maskMod, scoreMod, type Modifier } from './modifier.js';

function positiveInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 1) throw new AttentionInputError(`${what} must be a positive integer, got ${v}`);
  return v;
}

/** Causal: query q sees keys kv ≤ q, on positions. (The `causal: true` option is the same and faster: it skips tiles.) */
export function causal(): Modifier {
  return maskMod((_b, _h, q, kv) => kv.le(q), {}, 'causal');
}

/**
 * Sliding window of `window` keys: causal (q − window < kv ≤ q) by default, or
 * symmetric (|q − kv| < window) with { causal: false }.
 */
export function slidingWindow(window: number, opts: { causal?: boolean } = {}): Modifier {
  positiveInt(window, 'slidingWindow: window');
  if (opts.causal === false) {
    return maskMod((_b, _h, q, kv) => q.sub(kv).abs().lt(window), {}, `slidingWindow(${window}, symmetric)`);
  }
  return maskMod((_b, _h, q, kv) => kv.le(q).and(q.sub(kv).lt(window)), {}, `slidingWindow(${window})`);
}

/** The standard ALiBi slopes for `heads` heads: 2^(−8(i+1)/heads). */
export function alibiSlopes(heads: number): Float32Array {
  positiveInt(heads, 'alibiSlopes: heads');
  return Float32Array.from({ length: heads }, (_, i) => 2 ** ((-8 * (i + 1)) / heads));
}

/** ALiBi: score + slope[h]·(kv − q), one slope per query head. */
export function alibi(slopes: ArrayLike<number>): Modifier {
  return scoreMod((s, _b, h, q, kv, t) => s.add(t.slopes!.at(h).mul(kv.sub(q))), { slopes }, 'alibi');
}

/** Tanh soft-capping (Gemma 2, Grok): cap · tanh(score / cap). */
export function softcap(cap: number): Modifier {
  if (!(cap > 0) || !Number.isFinite(cap)) throw new AttentionInputError(`softcap: cap must be a positive number, got ${cap}`);
  return scoreMod((s) => s.div(cap).tanh().mul(cap), {}, `softcap(${cap})`);
}

/**
 * Packed documents: a query sees only keys of its own document. `docIds` has one id
 * per token; with `seqLen`, it holds [batch, seqLen] ids (varlen batches).
 */
export function documentMask(docIds: ArrayLike<number>, seqLen?: number): Modifier {
  if (seqLen === undefined) {
    return maskMod((_b, _h, q, kv, t) => t.doc!.at(q).eq(t.doc!.at(kv)), { doc: docIds }, 'documentMask');
  }
  positiveInt(seqLen, 'documentMask: seqLen');
  return maskMod((b, _h, q, kv, t) => t.doc!.at(b.mul(seqLen).add(q)).eq(t.doc!.at(b.mul(seqLen).add(kv))), { doc: docIds }, 'documentMask');
}

/** Prefix-LM: the first `prefixLen` keys are visible to every query, the rest causally. */
export function prefixLM(prefixLen: number): Modifier {
  positiveInt(prefixLen, 'prefixLM: prefixLen');
  return maskMod((_b, _h, q, kv) => kv.lt(prefixLen).or(kv.le(q)), {}, `prefixLM(${prefixLen})`);
}

/** Key padding: batch b has `lengths[b]` real keys; later keys are masked. */
export function keyPadding(lengths: ArrayLike<number>): Modifier {
  return maskMod((b, _h, _q, kv, t) => kv.lt(t.lengths!.at(b)), { lengths }, 'keyPadding');
}

/**
 * Relative position bias: score + table[kv − q + M], where the table holds 2M+1
 * biases for distances −M … M (clamped beyond). With `heads`, the table is
 * [heads, 2M+1], one row per query head.
 */
export function relativeBias(table: ArrayLike<number>, heads = 1): Modifier {
  positiveInt(heads, 'relativeBias: heads');
  const width = table.length / heads;
  if (!Number.isInteger(width) || width % 2 !== 1) {
    throw new AttentionInputError(`relativeBias: table length ${table.length} must be heads × (2M + 1)`);
  }
  const m = (width - 1) / 2;
  return scoreMod(
    (s, _b, h, q, kv, t) => {
      const at = kv.sub(q).max(-m).min(m).add(m);
      // One shared row (heads = 1) serves every query head; otherwise row h.
      return s.add(t.bias!.at(heads === 1 ? at : at.add(h.mul(width))));
    },
    { bias: table },
    'relativeBias',
  );
}

/** StreamingLLM: the first `nSink` keys plus a causal window of `window` keys. */
export function streamingSinks(nSink: number, window: number): Modifier {
  positiveInt(nSink, 'streamingSinks: nSink');
  positiveInt(window, 'streamingSinks: window');
  return maskMod((_b, _h, q, kv) => kv.le(q).and(kv.lt(nSink).or(q.sub(kv).lt(window))), {}, `streamingSinks(${nSink}, ${window})`);
}

/** Learned attention sinks (gpt-oss): one logit per query head added to the softmax denominator. */
export interface Sinks {
  readonly kind: 'sinks';
  readonly logits: Float32Array;
}

/** Every Sinks made by learnedSinks(); a hand-built { kind: 'sinks' } is not one. */
const madeSinks = new WeakSet<object>();

/** Learned sinks from one logit per query head (finite numbers). */
export function learnedSinks(logits: ArrayLike<number>): Sinks {
  const arr = typeof logits === 'object' && logits !== null ? Float32Array.from(logits) : new Float32Array(0);
  if (arr.length === 0 || !arr.every(Number.isFinite)) {
    throw new AttentionInputError('learnedSinks: logits must be a non-empty array of finite numbers, one per query head');
  }
  const sinks: Sinks = Object.freeze({ kind: 'sinks', logits: arr });
  madeSinks.add(sinks);
  return sinks;
}

/** True for sinks made by learnedSinks(); false for anything else. */
export function isSinks(x: unknown): x is Sinks {
  return typeof x === 'object' && x !== null && madeSinks.has(x);
}
