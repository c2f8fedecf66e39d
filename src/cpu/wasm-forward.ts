/*
 * The CPU forward through the WebAssembly SIMD kernel (asm/forward.ts, embedded
 * as base64 by scripts/build-wasm.mjs). This file is the host side: it loads the
 * module once (asynchronously, so browsers accept it on the main thread), lays
 * out the kernel's memory, copies each head's Q, K, V in (any layout, D padded
 * to a multiple of 8 with zeros), packs K once per KV head (so a GQA group shares
 * it), runs the rows, and copies O and LSE out in q's layout.
 *
 * Score and mask modifiers stay on the JS kernel (src/cpu/forward.ts); plain,
 * causal, GQA, learned sinks and both layouts run here.
 */
import { rowOffset } from '../tensor/shape.js';
import { headRows } from './units.js';
import { cpuSetup, type CpuForwardArgs, type CpuForwardResult } from './forward.js';
import { FORWARD_WASM_BASE64 } from './wasm-binary.gen.js';

/** Keys per tile of the wasm kernel (K and V are padded to a multiple of it). */
const BC = 64;
/** Below this byte address the module keeps its own constant tables. */
const HEAP_BASE = 65536;
const PAGE = 65536;

interface KernelExports {
  readonly memory: WebAssembly.Memory;
  packK(k: number, kp: number, Nk: number, NkPad: number, Dp: number): void;
  forwardRows(...args: number[]): void;
  scratchBytes(Dp: number): number;
}

let loading: Promise<KernelExports | undefined> | undefined;

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const text = atob(FORWARD_WASM_BASE64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/**
 * The kernel's exports, or undefined where this engine lacks WebAssembly or its SIMD
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

/** Whether a Float32Array holds a non-finite value (then masked keys need the guarded P·V). */
function hasNonFinite(a: Float32Array): boolean {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return true;
  return false;
}

/** Byte regions of the kernel's memory for one call: per-head buffers and scratch. */
function plan(Nq: number, Nk: number, Dp: number, scratchBytes: number) {
  const NkPad = Math.ceil(Math.max(Nk, 1) / BC) * BC;
  const sizes = { q: Nq * Dp, o: Nq * Dp, lse: Math.ceil(Nq / 8) * 8, k: Nk * Dp, v: NkPad * Dp, kp: NkPad * Dp, scratch: scratchBytes / 4 };
  let at = HEAP_BASE;
  const p = {} as Record<keyof typeof sizes, number>;
  for (const [name, floats] of Object.entries(sizes) as [keyof typeof sizes, number][]) {
    p[name] = at;
    at += floats * 4;
  }
  return { p, NkPad, end: at };
}

/** Copies `rows` rows of D floats from `src` (row r at rowAt(r)) into `dst` at float index `to`, row pitch Dp. */
function copyRows(dst: Float32Array, to: number, src: Float32Array, rows: number, D: number, Dp: number, rowAt: (r: number) => number) {
  for (let r = 0; r < rows; r++) {
    const at = rowAt(r);
    dst.set(src.subarray(at, at + D), to + r * Dp);
  }
}

/**
 * The fused forward on the wasm kernel; `kernel` from loadWasmKernel(). Same contract as
 * cpuForward, but without score and mask modifiers (the caller routes those to cpuForward).
 */
export function wasmForward(kernel: KernelExports, a: CpuForwardArgs): CpuForwardResult {
  if (a.score || a.mask) throw new Error('wasmForward: modifiers run on the JS kernel');
  const { batch: B, headsQ: Hq, headsKv: Hkv, seqQ: Nq, seqK: Nk, headDim: D } = a.problem;
  const { qs, ks, vs, pos, out, lse } = cpuSetup(a);
  const Dp = Math.ceil(D / 8) * 8;
  const { p, NkPad, end } = plan(Nq, Nk, Dp, kernel.scratchBytes(Dp));
  const mem = kernel.memory;
  if (mem.buffer.byteLength < end) mem.grow(Math.ceil((end - mem.buffer.byteLength) / PAGE));
  const f32 = new Float32Array(mem.buffer);
  const at = (byte: number) => byte / 4;
  // Zero padding columns and the padding rows of V.
  f32.fill(0, at(HEAP_BASE), at(end));
  const scale2 = a.scale * Math.LOG2E;
  const guard = hasNonFinite(a.v) ? 1 : 0;
  const group = Hq / Hkv;
  for (let b = 0; b < B; b++) {
    for (let hk = 0; hk < Hkv; hk++) {
      // A worker given a row range skips KV heads none of its query heads use.
      const rowsOf = (h: number) => headRows(a.units, b * Hq + h, Nq);
      let used = false;
      for (let h = hk * group; h < (hk + 1) * group; h++) used ||= rowsOf(h)[1] > rowsOf(h)[0];
      if (!used) continue;
      copyRows(f32, at(p.k), a.k, Nk, D, Dp, (n) => rowOffset(ks, b, hk, n));
      copyRows(f32, at(p.v), a.v, Nk, D, Dp, (n) => rowOffset(vs, b, hk, n));
      kernel.packK(p.k, p.kp, Nk, NkPad, Dp);
      for (let h = hk * group; h < (hk + 1) * group; h++) {
        const [r0, r1] = rowsOf(h);
        if (r1 <= r0) continue;
        copyRows(f32, at(p.q) + r0 * Dp, a.q, r1 - r0, D, Dp, (n) => rowOffset(qs, b, h, r0 + n));
        // Poison O and LSE per head so a row the kernel fails to write shows as NaN.
        if (a.poison) f32.fill(NaN, at(p.o), at(p.lse) + Nq);
        const sink2 = a.sinks ? a.sinks[h]! * Math.LOG2E : -Infinity;
        const causal = a.causal ? 1 : 0;
        // Causal: key j is visible from row i when j ≤ i + (query position − key position) of this batch entry.
        const offset = pos.query[b]! - pos.key[b]!;
        kernel.forwardRows(p.q, p.o, p.lse, p.kp, p.v, p.scratch, Nq, Nk, Dp, scale2, causal, offset, sink2, guard, r0, r1);
        for (let n = r0; n < r1; n++) {
          const o = rowOffset(qs, b, h, n);
          out.set(f32.subarray(at(p.o) + n * Dp, at(p.o) + n * Dp + D), o);
        }
        lse.set(f32.subarray(at(p.lse) + r0, at(p.lse) + r1), (b * Hq + h) * Nq + r0);
      }
    }
  }
  return { out, lse };
}
