/*
 * The messages between the CPU backend and its workers (cpu-worker.ts). Only
 * structured-cloneable data crosses: typed arrays (shared ones by reference, others
 * copied), the problem, and modifiers as their IR and tables, from which the worker
 * compiles its own score and mask functions — closures never cross.
 */
import type { Modifier } from '../mods/modifier.js';
import type { CpuBackwardArgs, CpuGrads } from './backward.js';
import type { CpuForwardArgs, CpuForwardResult } from './forward.js';
import type { UnitRange } from './units.js';

/** A modifier as it crosses to a worker: the traced IR and its tables. */
export type WireModifier = Pick<Modifier, 'ir' | 'tables'>;

/** A forward's arguments without functions; score and mask as IR. */
export interface WireForwardArgs extends Omit<CpuForwardArgs, 'score' | 'mask' | 'units' | 'into'> {
  readonly score?: WireModifier;
  readonly mask?: WireModifier;
}

/** One worker's share of a forward. */
export interface ForwardTask {
  readonly id: number;
  /** Run the wasm kernel (true) or the JS one: the same choice the inline path makes. */
  readonly wasm: boolean;
  readonly args: WireForwardArgs;
  readonly units: UnitRange;
  /** Shared O and LSE to write in place; absent: the worker returns its own whole-size arrays. */
  readonly into?: CpuForwardResult;
}

/** A backward's arguments without functions (and without table gradients, which stay inline). */
export interface WireBackwardArgs extends Omit<CpuBackwardArgs, 'score' | 'scoreGrad' | 'mask' | 'kvHeads' | 'tableTerms'> {
  readonly score?: WireModifier;
  readonly scoreGrad?: WireModifier;
  readonly mask?: WireModifier;
}

/** One worker's share of a backward: KV heads [from, to). */
export interface BackwardTask {
  readonly id: number;
  /** Run the wasm backward (true) or the JS one: the same choice the inline path makes. */
  readonly wasm: boolean;
  readonly backward: WireBackwardArgs;
  readonly kvHeads: readonly [number, number];
}

/** Any task, before the pool numbers it. */
export type TaskBody = Omit<ForwardTask, 'id'> | Omit<BackwardTask, 'id'>;

/** A worker's answer: done (with O and LSE when they were not shared, or the gradients) or failed. */
export type TaskReply =
  | { readonly id: number; readonly ok: true; readonly result?: CpuForwardResult; readonly grads?: CpuGrads; readonly busyMs?: number }
  | { readonly id: number; readonly ok: false; readonly error: string };

/** The first message of a started worker. */
export const READY = 'webgpu-attention:cpu-worker-ready';
