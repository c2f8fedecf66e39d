/*
 * CPU backend forward: the same tiled online-softmax algorithm as the fused GPU
 * kernel, in TypeScript. For each tile of BR query rows it walks the key/value
 * tiles of BC keys, keeping per row the running max m, the running denominator
 * l and the unnormalised output acc; nothing of size N×N is ever allocated.
 * Causal tiles wholly above the diagonal are skipped, as on the GPU.
 */
import type { PagedKv } from '../kernels/paged.js';
import type { MaskFn, ScoreFn } from '../mods/emit-js.js';
import { resolvePositions, type Positions } from '../mods/positions.js';
import { rowOffset, stridesOf, type Layout, type Strides } from '../tensor/shape.js';
import type { Problem } from '../tensor/validate.js';
import { headRows, type UnitRange } from './units.js';

/** Tile sizes of the CPU loop (rows of Q, keys of K/V). */
export const CPU_TILE = { rows: 16, keys: 64 } as const;

export interface CpuForwardArgs {
  readonly problem: Problem;
  readonly q: Float32Array;
  readonly k: Float32Array;
  readonly v: Float32Array;
  readonly qLayout: Layout;
  readonly kLayout: Layout;
  readonly vLayout: Layout;
  readonly scale: number;
  readonly causal: boolean;
  /** Start outputs as NaN so an unwritten element is caught (testing). */
  readonly poison?: boolean;
  /** Score modifier (on the scaled score), mask modifier, learned sink logits per query head. */
  readonly score?: ScoreFn;
  readonly mask?: MaskFn;
  readonly sinks?: ArrayLike<number>;
  /** Where each batch entry's query rows and keys sit (causal and the modifiers see these). Default: bottom-right. */
  readonly positions?: Positions;
  /** Only these query rows (a worker's share, src/cpu/units.ts); default every row of every head. */
  readonly units?: UnitRange;
  /** Write O and LSE here (shared with other workers) instead of fresh arrays; not poisoned. */
  readonly into?: CpuForwardResult;
  /** Paged K/V (kernels/paged.ts): k and v are page pools, rows read through the table, keys up to each entry's length. */
  readonly pages?: PagedKv;
}

export interface CpuForwardResult {
  /** O in the layout of q. */
  readonly out: Float32Array;
  /** LSE [B, Hq, Nq] (natural log); −∞ for rows with every key masked. */
  readonly lse: Float32Array;
}

/** Strides of q, k, v and O and LSE arrays (`into`, or fresh ones NaN-filled when poisoning) for a CPU forward. */
export function cpuSetup(a: CpuForwardArgs) {
  const { batch: B, headsQ: Hq, headsKv: Hkv, seqQ: Nq, seqK: Nk, headDim: D } = a.problem;
  return {
    ...(a.into ?? fresh(a)),
    qs: stridesOf({ batch: B, heads: Hq, seq: Nq, headDim: D }, a.qLayout),
    // Paged: the pools' strides ([numPages, Hkv, pageSize, D] in their layout).
    ks: stridesOf(
      a.pages ? { batch: a.pages.numPages, heads: Hkv, seq: a.pages.pageSize, headDim: D } : { batch: B, heads: Hkv, seq: Nk, headDim: D },
      a.kLayout,
    ),
    vs: stridesOf(
      a.pages ? { batch: a.pages.numPages, heads: Hkv, seq: a.pages.pageSize, headDim: D } : { batch: B, heads: Hkv, seq: Nk, headDim: D },
      a.vLayout,
    ),
    pos: a.positions ?? resolvePositions(B, Nq, Nk),
  };
}

/** New O and LSE for a whole call, NaN-filled when poisoning. */
function fresh(a: CpuForwardArgs): CpuForwardResult {
  const { batch: B, headsQ: Hq, seqQ: Nq, headDim: D } = a.problem;
  return {
    out: new Float32Array(B * Hq * Nq * D).fill(a.poison ? NaN : 0),
    lse: new Float32Array(B * Hq * Nq).fill(a.poison ? NaN : 0),
  };
}

export function cpuForward(a: CpuForwardArgs): CpuForwardResult {
  const { batch: B, headsQ: Hq, headsKv: Hkv, seqQ: Nq, seqK: Nk, headDim: D } = a.problem;
  const { qs, ks, vs, pos, out, lse } = cpuSetup(a);
  const BR = CPU_TILE.rows;
  const BC = CPU_TILE.keys;
  const group = Hq / Hkv;
  const keyRow = a.pages ? pagedRowOffset(a.pages) : rowOffset;

  const m = new Float64Array(BR);
  const l = new Float64Array(BR);
  const acc = new Float64Array(BR * D);
  const s = new Float64Array(BC);

  for (let b = 0; b < B; b++) {
    const [qPos, kPos] = [pos.query[b]!, pos.key[b]!];
    const offset = qPos - kPos; // causal: key j visible from query i iff j <= i + offset
    const keys = a.pages ? a.pages.lengths[b]! : Nk; // a paged entry's own length
    for (let h = 0; h < Hq; h++) {
      const hk = Math.floor(h / group);
      const [rowStart, rowEnd] = headRows(a.units, b * Hq + h, Nq);
      for (let q0 = rowStart; q0 < rowEnd; q0 += BR) {
        const rows = Math.min(BR, rowEnd - q0);
        m.fill(-Infinity);
        l.fill(0);
        acc.fill(0);
        // Last key any row of this tile can see: tiles past it are skipped, not masked.
        const kvEnd = a.causal ? Math.max(0, Math.min(keys, q0 + rows - 1 + offset + 1)) : keys;
        for (let k0 = 0; k0 < kvEnd; k0 += BC) {
          const tileKeys = Math.min(BC, kvEnd - k0);
          for (let r = 0; r < rows; r++) {
            const i = q0 + r;
            const qo = rowOffset(qs, b, h, i);
            const last = a.causal ? Math.min(tileKeys, i + offset - k0 + 1) : tileKeys;
            if (last <= 0) continue;
            let tileMax = -Infinity;
            for (let c = 0; c < last; c++) {
              if (a.mask && !a.mask(b, h, qPos + i, kPos + k0 + c)) {
                s[c] = -Infinity;
                continue;
              }
              const ko = keyRow(ks, b, hk, k0 + c);
              let dot = 0;
              for (let d = 0; d < D; d++) dot += a.q[qo + d]! * a.k[ko + d]!;
              s[c] = a.score ? a.score(dot * a.scale, b, h, qPos + i, kPos + k0 + c) : dot * a.scale;
              if (s[c]! > tileMax || Number.isNaN(s[c])) tileMax = Number.isNaN(tileMax) ? tileMax : s[c]!; // NaN sticks
            }
            if (tileMax === -Infinity) continue; // every key of this tile masked for this row
            const mNew = Math.max(m[r]!, tileMax);
            const alpha = Math.exp(m[r]! - mNew); // 0 when m was −∞
            const ar = r * D;
            for (let d = 0; d < D; d++) acc[ar + d]! *= alpha;
            let sum = 0;
            for (let c = 0; c < last; c++) {
              if (s[c] === -Infinity) continue;
              const p = Math.exp(s[c]! - mNew);
              sum += p;
              const vo = keyRow(vs, b, hk, k0 + c);
              for (let d = 0; d < D; d++) acc[ar + d]! += p * a.v[vo + d]!;
            }
            l[r] = l[r]! * alpha + sum;
            m[r] = mNew;
          }
        }
        for (let r = 0; r < rows; r++) {
          const i = q0 + r;
          const oo = rowOffset(qs, b, h, i);
          // A learned sink adds exp(sink) to the denominator, in the row's running frame.
          const sink = a.sinks ? a.sinks[h]! : -Infinity;
          const mFinal = Math.max(m[r]!, sink);
          const scaleOld = l[r]! > 0 ? Math.exp(m[r]! - mFinal) : 0;
          const lFinal = l[r]! * scaleOld + (sink === -Infinity ? 0 : Math.exp(sink - mFinal));
          // A NaN score (NaN in q or a visible k) makes the row NaN, as in the reference.
          const nan = Number.isNaN(m[r]!) || Number.isNaN(l[r]!);
          const inv = nan ? NaN : lFinal > 0 ? scaleOld / lFinal : 0;
          for (let d = 0; d < D; d++) out[oo + d] = acc[r * D + d]! * inv;
          lse[(b * Hq + h) * Nq + i] = nan ? NaN : lFinal > 0 ? mFinal + Math.log(lFinal) : -Infinity;
        }
      }
    }
  }
  return { out, lse };
}

/** Where key row n of batch entry b, head h starts in a page pool of strides `st`: in page table[b][⌊n / pageSize⌋]. */
function pagedRowOffset(pages: PagedKv): (st: Strides, b: number, h: number, n: number) => number {
  const size = pages.pageSize;
  return (st, b, h, n) => rowOffset(st, pages.table[b]![Math.floor(n / size)]!, h, n % size);
}
