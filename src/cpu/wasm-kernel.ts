/*
 * The CPU backend's WebAssembly SIMD module (asm/forward.ts and asm/backward.ts,
 * embedded as base64 by scripts/build-wasm.mjs): loading it once (asynchronously,
 * so browsers accept it on the main thread) and the host-side helpers both kernels'
 * glue (wasm-forward.ts, wasm-backward.ts) share: the memory's first free byte,
 * growing it, and copying strided rows into its zero-padded row layout.
 */
import { KERNEL_WASM_BASE64 } from './wasm-binary.gen.js';

/** Below this byte address the module keeps its own constant tables. */
export const HEAP_BASE = 65536;
const PAGE = 65536;

/** What the module exports (byte addresses and counts are plain numbers). */
export interface KernelExports {
  readonly memory: WebAssembly.Memory;
  packK(k: number, kp: number, Nk: number, NkPad: number, Dp: number): void;
  /** Whether any of the `n` floats at byte address `p` is not finite (1 or 0). */
  nonFinite(p: number, n: number): number;
  forwardRows(...args: number[]): void;
  scratchBytes(Dp: number): number;
  backwardHead(...args: number[]): void;
  backwardScratchBytes(): number;
}

let loading: Promise<KernelExports | undefined> | undefined;

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const text = atob(KERNEL_WASM_BASE64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * The kernels' exports, or undefined where this engine lacks WebAssembly or its SIMD
 * proposal (validating the module itself is the feature test). Loaded once.
 */
export function loadWasmKernel(): Promise<KernelExports | undefined> {
  loading ??= (async () => {
    if (typeof WebAssembly !== 'object') return undefined;
    const bytes = moduleBytes();
    if (!WebAssembly.validate(bytes)) return undefined;
    const { instance } = await WebAssembly.instantiate(bytes);
    return instance.exports as unknown as KernelExports;
  })().catch(() => undefined);
  return loading;
}

/** The module's memory as floats, grown first to hold `end` bytes. */
export function kernelFloats(kernel: KernelExports, end: number): Float32Array {
  const mem = kernel.memory;
  if (mem.buffer.byteLength < end) mem.grow(Math.ceil((end - mem.buffer.byteLength) / PAGE));
  return new Float32Array(mem.buffer);
}

/**
 * Byte regions for named arrays of `floats` each, from HEAP_BASE in order (every size a
 * multiple of 4 floats, so each region stays 16-byte aligned); `end` the first byte past them.
 */
export function layout<K extends string>(sizes: Record<K, number>): { p: Record<K, number>; end: number } {
  let at = HEAP_BASE;
  const p = {} as Record<K, number>;
  for (const [name, floats] of Object.entries(sizes) as [K, number][]) {
    p[name] = at;
    at += floats * 4;
  }
  return { p, end: at };
}

/** Whether a Float32Array holds a non-finite value. */
export function hasNonFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return true;
  return false;
}

/*
 * The two row copies below run on every call, in workers too, where the first calls run
 * before the JIT has compiled them: a subarray per row (tens of thousands a call) cost
 * as much as a third of the kernel's time at N = 512. Rows that lie back to back on both
 * sides (D = Dp and a 'bhnd' source) go as one block; others row by row.
 */

/**
 * Copies `rows` rows of D floats from `src` (row r at rowAt(r), which must be affine in r,
 * as rowOffset is) into `dst` at float index `to`, row pitch Dp; padding columns are zeroed.
 */
export function copyRows(dst: Float32Array, to: number, src: Float32Array, rows: number, D: number, Dp: number, rowAt: (r: number) => number) {
  if (rows <= 0) return;
  const first = rowAt(0);
  if (D === Dp && (rows === 1 || rowAt(1) - first === D)) {
    dst.set(src.subarray(first, first + rows * D), to);
    return;
  }
  for (let r = 0; r < rows; r++) {
    const at = rowAt(r);
    dst.set(src.subarray(at, at + D), to + r * Dp);
    if (Dp > D) dst.fill(0, to + r * Dp + D, to + (r + 1) * Dp);
  }
}

/** The reverse of copyRows: `rows` rows of D floats at float index `from` (pitch Dp) of `src` into `dst` at rowAt(r). */
export function copyRowsOut(dst: Float32Array, rowAt: (r: number) => number, src: Float32Array, from: number, rows: number, D: number, Dp: number) {
  if (rows <= 0) return;
  const first = rowAt(0);
  if (D === Dp && (rows === 1 || rowAt(1) - first === D)) {
    dst.set(src.subarray(from, from + rows * D), first);
    return;
  }
  for (let r = 0; r < rows; r++) dst.set(src.subarray(from + r * Dp, from + r * Dp + D), rowAt(r));
}
