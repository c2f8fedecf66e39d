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
  /** Bindings of group 0 in binding order: name and kind. */
  readonly bindings: readonly { readonly name: string; readonly kind: BindingKind }[];
  /** Workgroup memory the kernel declares, in bytes. */
  readonly workgroupBytes: number;
}

/** The WGSL type of a binding of kind `kind` holding `type`. */
export function bindingDecl(index: number, name: string, kind: BindingKind, type: string): string {
  const space = kind === 'uniform' ? 'uniform' : `storage, ${kind}`;
  return `@group(0) @binding(${index}) var<${space}> ${name}: ${type};`;
}

/** Sentinel for a masked score: finite, so no shader ever depends on infinities. */
export const MASKED = '-3.0e38';
