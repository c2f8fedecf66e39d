/*
 * What every kernel builder returns: the complete description of one compute
 * pipeline, with no device calls. The runtime compiles `wgsl` (the pipeline
 * cache is keyed by it), binds `bindings` in order and dispatches.
 */

/** How a binding is declared in the shader. */
export type BindingKind = 'uniform' | 'read' | 'read_write';

export interface KernelSpec {
  /** Human-readable name, used as the label of every GPU object made for it. */
  readonly label: string;
  /** The complete WGSL module; also the pipeline cache key. */
  readonly wgsl: string;
  /** Workgroup size [x, y, z]. */
  readonly workgroupSize: readonly [number, number, number];
  /** Bindings of group 0 in binding order. */
  readonly bindings: readonly Binding[];
  /** Workgroup memory the kernel declares, in bytes. */
  readonly workgroupBytes: number;
}

/** One binding of group 0: its WGSL name, access and type. */
export interface Binding {
  readonly name: string;
  readonly kind: BindingKind;
  readonly type: string;
}

/** WGSL declarations of `bindings`, numbered in order: the one list both the shader and the runtime use. */
export function declareBindings(bindings: readonly Binding[]): string {
  return bindings
    .map(({ name, kind, type }, i) => {
      const space = kind === 'uniform' ? 'uniform' : `storage, ${kind}`;
      return `@group(0) @binding(${i}) var<${space}> ${name}: ${type};`;
    })
    .join('\n');
}

/** The uniform parameter block every kernel binds first. */
export const PARAMS_BINDING: Binding = { name: 'params', kind: 'uniform', type: 'Params' };

/** Sentinel for a masked score: finite, so no shader ever depends on infinities. */
export const MASKED = '-3.0e38';
