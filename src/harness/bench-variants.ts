/*
 * Named variants for `bench --variant`: "alibi", "user-alibi" (the same bias
 * written as a user modifier), "softcap:C", "window:W" (causal sliding window),
 * "document:L" (packed documents of L tokens).
 */
import { alibi, alibiSlopes, documentMask, slidingWindow, softcap } from '../mods/builtins.js';
import { scoreMod } from '../mods/modifier.js';
import { AttentionInputError } from '../tensor/errors.js';
import type { VariantOptions } from './verify-variants.js';

export const BENCH_VARIANTS = ['alibi', 'user-alibi', 'softcap:C', 'window:W', 'document:L'] as const;

export function benchVariant(spec: string, heads: number, seqK: number): VariantOptions {
  const [name, arg] = spec.split(':');
  const n = Number(arg);
  const needs = () => {
    if (!Number.isFinite(n) || n <= 0) throw new AttentionInputError(`--variant ${spec}: '${name}' needs a positive number after ':'`);
    return n;
  };
  switch (name) {
    case 'alibi':
      return { score: alibi(alibiSlopes(heads)) };
    case 'user-alibi':
      return { score: scoreMod((s, _b, h, q, kv, t) => s.add(t.slope!.at(h).mul(kv.sub(q))), { slope: alibiSlopes(heads) }, 'user alibi') };
    case 'softcap':
      return { score: softcap(needs()) };
    case 'window':
      return { mask: slidingWindow(needs()) };
    case 'document': {
      const len = needs();
      return { mask: documentMask(Array.from({ length: seqK }, (_, i) => Math.floor(i / len))) };
    }
    default:
      throw new AttentionInputError(`--variant ${spec}: unknown; choose from ${BENCH_VARIANTS.join(', ')}`);
  }
}
