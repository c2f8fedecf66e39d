/*
 * The CPU backward through the WebAssembly SIMD kernel (asm/backward.ts). This is
 * the host side: per KV head it copies K and V into the kernel's memory (D padded
 * to a multiple of 8 with zeros) and packs both once; per query head of its group
 * it copies Q and dO, computes D_i = dO_i·O_i in float64 (and the learned sinks'
 * gradient, −Σ_i exp(sink − LSE_i)·D_i, here too), runs the kernel, and copies dQ
 * out; dK and dV, summed over the group in the kernel's memory, go out last.
 *
 * The kernel covers what the fused wasm forward covers: plain, causal, GQA, Nq ≠ Nk,
 * per-batch positions, learned sinks, both layouts. Score and mask modifiers (and
 * the table gradients that need one) stay on the JS backward (src/cpu/backward.ts),
 * as does a call the kernel would not compute as the JS loop does (wasmBackwardFits).
 */
import { resolvePositions } from '../mods/positions.js';
import { rowOffset, stridesOf } from '../tensor/shape.js';
import type { CpuBackwardArgs, CpuGrads } from './backward.js';
import { copyRows, hasNonFinite, HEAP_BASE, kernelFloats, layout, type KernelExports } from './wasm-kernel.js';

/** Keys per tile of the kernel (K, V, dK, dV are padded to a multiple of it). */
const BC = 64;
/** The widest padded head the kernel's fixed row pitch holds (asm/common.ts QB_PITCH / 4). */
const MAX_DP = 256;

export interface WasmBackwardArgs extends CpuBackwardArgs {
  /** Start the gradients as NaN so an unwritten element is caught (testing; whole calls only). */
  readonly poison?: boolean;
}

/**
 * Whether the kernel computes this backward as the JS loop does: no score or mask
 * modifier and no table gradients (the modifiers' JS emitter has no wasm twin), a head
 * dim of at most 256, and finite Q, K, V, O and dO — the JS loop skips a masked key while
 * the kernel multiplies it by an exact 0, which an inf or NaN would turn into NaN.
 */
export function wasmBackwardFits(a: CpuBackwardArgs): boolean {
  if (a.score || a.scoreGrad || a.mask || a.tableTerms) return false;
  if (Math.ceil(a.problem.headDim / 8) * 8 > MAX_DP) return false;
  return ![a.q, a.k, a.v, a.out, a.dout].some(hasNonFinite);
}

/** Byte regions of the kernel's memory for one call: one KV head's arrays, one query head's, scratch. */
function plan(Nq: number, Nk: number, Dp: number, scratchBytes: number) {
  const Nq4 = Math.ceil(Nq / 4) * 4;
  const NkPad = Math.ceil(Math.max(Nk, 1) / BC) * BC;
  const [rows, keys] = [Nq4 * Dp, NkPad * Dp];
  const sizes = { q: rows, dout: rows, dq: rows, lse2: Nq4, dd: Nq4, k: keys, v: keys, kp: keys, vp: keys, dk: keys, dv: keys, scratch: scratchBytes / 4 };
  return { ...layout(sizes), Nq4, NkPad };
}

/**
 * The backward on the wasm kernel; `kernel` from loadWasmKernel(). Same contract as
 * cpuBackward (kvHeads included), for calls wasmBackwardFits accepts.
 */
export function wasmBackward(kernel: KernelExports, a: WasmBackwardArgs): CpuGrads {
  if (!wasmBackwardFits(a)) throw new Error('wasmBackward: this call runs on the JS backward');
  const { batch: B, headsQ: Hq, headsKv: Hkv, seqQ: Nq, seqK: Nk, headDim: D } = a.problem;
  const qs = stridesOf({ batch: B, heads: Hq, seq: Nq, headDim: D }, a.qLayout);
  const ks = stridesOf({ batch: B, heads: Hkv, seq: Nk, headDim: D }, a.kLayout);
  const vs = stridesOf({ batch: B, heads: Hkv, seq: Nk, headDim: D }, a.vLayout);
  const pos = a.positions ?? resolvePositions(B, Nq, Nk);
  const Dp = Math.ceil(D / 8) * 8;
  const { p, end, Nq4, NkPad } = plan(Nq, Nk, Dp, kernel.backwardScratchBytes());
  const f32 = kernelFloats(kernel, end);
  const at = (byte: number) => byte / 4;
  // Zero padding columns and rows; padding query rows get LSE +∞ (P = 0), D = 0.
  f32.fill(0, at(HEAP_BASE), at(end));
  f32.fill(Infinity, at(p.lse2) + Nq, at(p.lse2) + Nq4);
  const poison = a.poison && !a.kvHeads;
  const dq = new Float32Array(a.q.length).fill(poison ? NaN : 0);
  const dk = new Float32Array(a.k.length).fill(poison ? NaN : 0);
  const dv = new Float32Array(a.v.length).fill(poison ? NaN : 0);
  const dsinks = a.sinks ? new Float64Array(Hq) : undefined;
  const group = Hq / Hkv;
  const [kv0, kv1] = a.kvHeads ?? [0, Hkv];
  for (let b = 0; b < B; b++) {
    // Causal: key j is visible from row i when j ≤ i + (query position − key position) of this batch entry.
    const offset = pos.query[b]! - pos.key[b]!;
    for (let hk = kv0; hk < kv1; hk++) {
      copyRows(f32, at(p.k), a.k, Nk, D, Dp, (n) => rowOffset(ks, b, hk, n));
      copyRows(f32, at(p.v), a.v, Nk, D, Dp, (n) => rowOffset(vs, b, hk, n));
      kernel.packK(p.k, p.kp, Nk, NkPad, Dp);
      kernel.packK(p.v, p.vp, Nk, NkPad, Dp);
      f32.fill(0, at(p.dk), at(p.dk) + NkPad * Dp);
      f32.fill(0, at(p.dv), at(p.dv) + NkPad * Dp);
      for (let h = hk * group; h < (hk + 1) * group; h++) {
        copyRows(f32, at(p.q), a.q, Nq, D, Dp, (n) => rowOffset(qs, b, h, n));
        copyRows(f32, at(p.dout), a.dout, Nq, D, Dp, (n) => rowOffset(qs, b, h, n));
        rowTerms(a, f32, at(p.lse2), at(p.dd), dsinks, b, h, qs);
        f32.fill(0, at(p.dq), at(p.dq) + Nq4 * Dp);
        kernel.backwardHead(
          p.q,
          p.dout,
          p.lse2,
          p.dd,
          p.dq,
          p.k,
          p.kp,
          p.vp,
          p.dk,
          p.dv,
          p.scratch,
          Nq,
          Nk,
          Dp,
          a.scale * Math.LOG2E,
          a.scale,
          a.causal ? 1 : 0,
          offset,
        );
        for (let n = 0; n < Nq; n++) dq.set(f32.subarray(at(p.dq) + n * Dp, at(p.dq) + n * Dp + D), rowOffset(qs, b, h, n));
      }
      for (let n = 0; n < Nk; n++) {
        dk.set(f32.subarray(at(p.dk) + n * Dp, at(p.dk) + n * Dp + D), rowOffset(ks, b, hk, n));
        dv.set(f32.subarray(at(p.dv) + n * Dp, at(p.dv) + n * Dp + D), rowOffset(vs, b, hk, n));
      }
    }
  }
  return { dq, dk, dv, dsinks: dsinks && Float32Array.from(dsinks) };
}

/**
 * Per row of query head (b, h): LSE·log2 e (+∞ where LSE = −∞: every key masked, zero
 * gradient) and D_i = dO_i·O_i, in float64 and stored as f32 at float indices lse2, dd;
 * the row's term of the sink gradient joins dsinks[h].
 */
function rowTerms(
  a: CpuBackwardArgs,
  f32: Float32Array,
  lse2: number,
  dd: number,
  dsinks: Float64Array | undefined,
  b: number,
  h: number,
  qs: ReturnType<typeof stridesOf>,
) {
  const { headsQ: Hq, seqQ: Nq, headDim: D } = a.problem;
  for (let i = 0; i < Nq; i++) {
    const lse = a.lse[(b * Hq + h) * Nq + i]!;
    const o = rowOffset(qs, b, h, i);
    let Di = 0;
    for (let d = 0; d < D; d++) Di += a.dout[o + d]! * a.out[o + d]!;
    f32[lse2 + i] = lse === -Infinity ? Infinity : lse * Math.LOG2E;
    f32[dd + i] = Di;
    if (dsinks && lse !== -Infinity) dsinks[h] -= Math.exp(a.sinks![h]! - lse) * Di;
  }
}
