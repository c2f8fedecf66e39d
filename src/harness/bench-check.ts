/*
 * What a benchmark's shape and variant must satisfy, checked before any device
 * opens: the CLI refuses a bad flag at once (exit 2) instead of after a device
 * start or deep inside a run. The rules stay the library's own (tensor/'s head
 * dims and shape checks, the variant parser); the CLI may not import those
 * layers itself, so this file hands them over. Also the caveat for timings
 * that come from a software rasterizer or the CPU.
 */
import type { Attention } from '../api/attention.js';
import type { BackwardTile, ForwardTile } from '../api/options.js';
import { backwardTileProblem } from '../kernels/backward-tiles.js';
import { forwardTileProblem } from '../kernels/tiles.js';
import { AttentionInputError } from '../tensor/errors.js';
import { SUPPORTED_HEAD_DIMS } from '../tensor/shape.js';
import { benchProblem, type BenchShape } from './bench.js';
import { benchVariant } from './bench-variants.js';

/** Head dims the kernels support (the library's list). */
export const BENCH_HEAD_DIMS: readonly number[] = SUPPORTED_HEAD_DIMS;

/** The library's own message for an input error thrown by `check`, or undefined when it passes. */
function inputError(check: () => unknown): string | undefined {
  try {
    check();
    return undefined;
  } catch (e) {
    if (e instanceof AttentionInputError) return e.message;
    throw e;
  }
}

/** Why `shape` cannot run (batch, heads, GQA grouping, head dim), or undefined. */
export function benchShapeError(shape: BenchShape): string | undefined {
  return inputError(() => benchProblem(shape));
}

/** Why `--variant spec` cannot be built for this many heads and keys, or undefined. */
export function benchVariantError(spec: string, heads: number, seqK: number): string | undefined {
  return inputError(() => benchVariant(spec, heads, seqK));
}

/**
 * One line saying the timings say nothing about GPU speed, when they come from the
 * CPU backend or from SwiftShader (Dawn's CPU Vulkan); undefined on a real GPU.
 */
export function timingCaveat(adapter: Attention['adapter']): string | undefined {
  if (adapter.backend === 'cpu') return 'note: these timings come from the CPU backend; they say nothing about GPU speed';
  const summary = [adapter.vendor, adapter.device, adapter.architecture, adapter.description].join(' ').toLowerCase();
  if (summary.includes('swiftshader')) {
    return 'note: these timings come from SwiftShader, a software renderer on the CPU; they say nothing about GPU speed';
  }
  return undefined;
}

/** Why a forced tile cannot run at `headDim` on any device (a forward one, or with `backward` the backward passes'), or undefined. */
export function benchTileError(headDim: number, tile: ForwardTile | BackwardTile, backward = false): string | undefined {
  return backward ? backwardTileProblem(headDim, tile) : forwardTileProblem(headDim, tile as ForwardTile);
}
