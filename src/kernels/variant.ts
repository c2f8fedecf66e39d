/*
 * Lowering a call's variant (score and mask modifiers, learned sinks) to what the
 * kernels compile and bind, once per call: WGSL functions emitted from the
 * modifiers' IR (never user text) and one packed table array `aux`. The mask's
 * tables are packed first, so the block-mask classifier binds just that prefix
 * with the very same mask function: a training step that changes only score
 * tables (ALiBi slopes) finds its block mask in the cache. Per-batch positions,
 * when a call needs them (mods/positions.ts needsPositionTable), go last.
 */
import { emitWgsl, packTables, type TableLayout } from '../mods/emit-wgsl.js';
import { scoreGrad, tableTerms } from '../mods/grad.js';
import { needsPositionTable, positionPairs } from '../mods/positions.js';
import { callPositions, type AttentionCall } from './call.js';
import type { TableGradCode } from './backward.js';
import type { KernelVariant } from './forward.js';

export interface LoweredVariant {
  /** The kernels' view; undefined when the call has no variant. */
  readonly kernel?: KernelVariant;
  /** Packed tables then sink logits, when anything is read (binding `aux`). */
  readonly aux?: Float32Array;
  /** Floats at the start of `aux` that the mask reads (the block mask's tables). */
  readonly maskFloats: number;
  readonly layout?: TableLayout;
  /** The per-batch (query, key) position pairs at `kernel.positionsAt`, when the kernels read them. */
  readonly positions?: Float32Array;
}

/**
 * Lowers the call's modifiers, sinks and (where kernels need them per batch entry)
 * positions. Without `problem` (a block mask on its own) positions are the call's indices.
 */
export function lowerVariant(
  c: Pick<AttentionCall, 'score' | 'mask' | 'sinks' | 'positions'> & { readonly problem?: AttentionCall['problem'] },
): LoweredVariant {
  const modded = Boolean(c.score || c.mask);
  const pos = c.problem && callPositions({ problem: c.problem, positions: c.positions });
  const pairs = pos && needsPositionTable(pos, modded) ? positionPairs(pos) : undefined;
  if (!modded && !c.sinks && !pairs) return { maskFloats: 0 };
  const { data, layout } = packTables([c.mask, c.score]);
  const tableFloats = [...layout.values()].reduce((n, t) => n + t.length, 0);
  const maskFloats = c.mask ? [...c.mask.tables.keys()].reduce((n, id) => n + layout.get(id)!.length, 0) : 0;
  const sinkFloats = c.sinks?.length ?? 0;
  const all = new Float32Array(tableFloats + sinkFloats + (pairs?.length ?? 0));
  all.set(data.subarray(0, tableFloats));
  if (c.sinks) all.set(c.sinks, tableFloats);
  if (pairs) all.set(pairs, tableFloats + sinkFloats);
  const kernel: KernelVariant = {
    scoreFn: c.score && emitWgsl(c.score, layout),
    maskFn: c.mask && emitWgsl(c.mask, layout),
    sinkOffset: c.sinks ? tableFloats : undefined,
    readsTables: tableFloats > 0,
    positionsAt: pairs ? tableFloats + sinkFloats : undefined,
  };
  return { kernel, aux: all.length ? all : undefined, maskFloats, layout, positions: pairs };
}

/** `fn scoreModGrad(score, b, h, q, kv) -> f32` (d score / d z) for the backward, with a score modifier. */
export function lowerScoreGrad(c: AttentionCall, v: LoweredVariant): string | undefined {
  return c.score && v.layout ? emitWgsl(scoreGrad(c.score), v.layout, 'scoreModGrad') : undefined;
}

/** The table reads to differentiate, as WGSL and places in `aux`, with each table's id. */
export function lowerTableGrads(
  c: AttentionCall,
  v: LoweredVariant,
): { code: TableGradCode; tables: { readonly id: string; readonly offset: number; readonly length: number }[] } | undefined {
  const layout = v.layout;
  const terms = c.score && layout ? tableTerms(c.score) : [];
  if (!terms.length || !layout) return undefined;
  return {
    code: {
      fns: terms.map((t, k) => `${emitWgsl(t.index, layout, `tgIndex${k}`)}\n${emitWgsl(t.partial, layout, `tgPartial${k}`)}`).join('\n'),
      terms: terms.map((t) => layout.get(t.table)!),
    },
    tables: terms.map((t) => ({ id: t.table, ...layout.get(t.table)! })),
  };
}
