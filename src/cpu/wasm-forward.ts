/*
 * The CPU forward through the WebAssembly SIMD kernel (asm/forward.ts, embedded
 * as base64 by scripts/build-wasm.mjs, loaded by wasm-kernel.ts). This file is the
 * host side: it lays out the kernel's memory, copies each head's Q, K, V in (any layout, D padded
 * to a multiple of 8 with zeros), packs K once per KV head (so a GQA group shares
 * it), runs the rows, and copies O and LSE out in q's layout.
 *
 * Score and mask modifiers stay on the JS kernel (src/cpu/forward.ts); plain,
 * causal, GQA, learned sinks and both layouts run here.
 */
import { rowOffset } from '../tensor/shape.js';
import { headRows } from './units.js';
import { cpuSetup, type CpuForwardArgs, type CpuForwardResult } from './forward.js';
import { copyRows, copyRowsOut, kernelFloats, layout, type KernelExports } from './wasm-kernel.js';

export { loadWasmKernel } from './wasm-kernel.js';

/** Keys per tile of the wasm kernel (K and V are padded to a multiple of it). */
const BC = 64;

/** Byte regions of the kernel's memory for one call: per-head buffers and scratch. */
function plan(Nq: number, Nk: number, Dp: number, scratchBytes: number) {
  const NkPad = Math.ceil(Math.max(Nk, 1) / BC) * BC;
  const sizes = { q: Nq * Dp, o: Nq * Dp, lse: Math.ceil(Nq / 8) * 8, k: Nk * Dp, v: NkPad * Dp, kp: NkPad * Dp, scratch: scratchBytes / 4 };
  return { ...layout(sizes), NkPad };
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
  const f32 = kernelFloats(kernel, end);
  const at = (byte: number) => byte / 4;
  // Padding columns are zeroed by copyRows; V's padding rows here. The kernel sets up its
  // scratch itself and packK writes every key of Kp, so nothing else needs clearing.
  f32.fill(0, at(p.v) + Nk * Dp, at(p.v) + NkPad * Dp);
  const scale2 = a.scale * Math.LOG2E;
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
      // Masked keys must add exactly 0 to O where V is not finite (the guarded P·V); with
      // a finite V both P·V paths give the same bits, so asking per KV head is exact.
      const guard = kernel.nonFinite(p.v, Nk * Dp);
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
        copyRowsOut(out, (n) => rowOffset(qs, b, h, r0 + n), f32, at(p.o) + r0 * Dp, r1 - r0, D, Dp);
        lse.set(f32.subarray(at(p.lse) + r0, at(p.lse) + r1), (b * Hq + h) * Nq + r0);
      }
    }
  }
  return { out, lse };
}
