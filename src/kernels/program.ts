/*
 * What a kernel program is: everything needed to run one call on a device, as
 * data. Each family (forward, naive, backward, combine, block mask) builds one
 * from a validated call and the adapter's caps; runtime/ allocates the buffers it
 * declares, binds each step's buffers by binding name, packs its uniform values
 * by field name, dispatches the grid, and knows nothing of what they mean.
 */
import { AttentionLimitError } from '../tensor/errors.js';
import type { AttentionCall } from './call.js';
import type { ParamLayout } from './params.js';
import type { KernelSpec } from './spec.js';

/**
 * A buffer a step binds: a name (a buffer the program declares, or a tensor the
 * caller passes: 'q', 'k', 'v', 'out', 'dout', 'lse'), whole or a byte range of it.
 */
export type BufferRef = string | { readonly name: string; readonly offset: number; readonly size: number };

/** One dispatch: the kernel, its uniform values by field name, its buffers by binding name, its grid. */
export interface Step {
  readonly spec: KernelSpec;
  readonly params: ParamLayout;
  readonly values: Readonly<Record<string, number>>;
  /** Every binding of `spec` but `params`, by its WGSL name. */
  readonly buffers: Readonly<Record<string, BufferRef>>;
  readonly grid: readonly [number, number, number];
}

/**
 * A buffer the program needs besides the caller's tensors:
 * - 'output': returned to the caller, who owns it (poisoned with NaN first in tests);
 * - 'scratch': lives for one run (pooled); `zeroed` ones are fresh, hence zero;
 * - 'upload': `data` written before the run (pooled);
 * - 'cached': made once by `build` (a program of its own whose output `build.output`
 *   this is) and kept by `key` for later calls, with `build`'s uploads compared on a hit.
 */
export type BufferDecl =
  | { readonly role: 'output' | 'scratch'; readonly bytes: number; readonly label: string; readonly zeroed?: boolean }
  | { readonly role: 'upload'; readonly data: Float32Array; readonly label: string }
  | { readonly role: 'cached'; readonly key: string; readonly build: Program; readonly output: string; readonly label: string };

/** Results computed on the host after the run from buffers read back (sink and table gradients). */
export interface HostStep {
  readonly reads: readonly string[];
  compute(read: Readonly<Record<string, ArrayBuffer>>): HostResults;
}

export interface HostResults {
  readonly dsinks?: Float32Array;
  readonly dtables?: Map<string, Float32Array>;
}

export interface Program {
  readonly buffers: Readonly<Record<string, BufferDecl>>;
  readonly steps: readonly Step[];
  /** What ran, for errors and benchmarks (a chunked or split call names it once). */
  readonly labels: readonly string[];
  readonly host?: HostStep;
}

/** Byte size rounded up to the 16 bytes every buffer and binding range here is a multiple of. */
export function padBytes(bytes: number): number {
  return Math.max(16, Math.ceil(bytes / 16) * 16);
}

/** Kernels that bind whole tensors (naive, backward) refuse ones past the binding limit, by name. */
export function checkWholeBindings(maxBindingBytes: number, what: string, bytes: Readonly<Record<string, number>>): void {
  for (const [name, n] of Object.entries(bytes)) {
    const size = padBytes(n);
    if (size > maxBindingBytes) {
      throw new AttentionLimitError(
        `${what} binds ${name} whole (${size} bytes), but this device binds at most ${maxBindingBytes} bytes ` +
          "(maxStorageBufferBindingSize); the fused 'flash' forward splits such calls, this path does not yet",
      );
    }
  }
}

/**
 * The uniform fields of Q's, K's and V's strides (batch, head, seq) in units of `unit`
 * elements: 4 for kernels reading vec4 rows, 1 for scalar ones.
 */
export function strideValues(c: Pick<AttentionCall, 'q' | 'k' | 'v'>, unit: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of ['q', 'k', 'v'] as const) {
    const s = c[name].strides;
    Object.assign(out, { [`${name}sb`]: s.batch / unit, [`${name}sh`]: s.head / unit, [`${name}sn`]: s.seq / unit });
  }
  return out;
}
