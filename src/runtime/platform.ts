/*
 * Where the library runs. Node's modules (node:os, node:fs, the `webgpu` package) load only
 * where this says Node: in a page they are absent, or stubbed out by a bundler.
 */

/** Whether this is Node (or a runtime that speaks for it through `process.versions.node`: Deno, Bun). */
export function isNode(): boolean {
  return typeof process !== 'undefined' && Boolean(process.versions?.node);
}

/** Whether this is Deno (which also passes for Node: isNode()). */
export function isDeno(): boolean {
  return typeof (globalThis as { Deno?: unknown }).Deno === 'object';
}
