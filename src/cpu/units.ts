/*
 * How a CPU forward is shared between workers. The work is a row of units: unit
 * u is query-row tile t of head bh = b·Hq + h (u = bh·T + t, T tiles per head of
 * `rowsPerUnit` rows). Each worker gets a contiguous range of units, so it sees
 * each head as one contiguous range of rows. Tiles are whole multiples of 64 rows
 * (the wasm kernel's row block and a multiple of the JS kernel's 16), so every row
 * is computed exactly as the single-threaded call computes it: bit-identical results.
 */
import type { Problem } from '../tensor/validate.js';

/** Units [from, to) of tiles of `rowsPerUnit` query rows. */
export interface UnitRange {
  readonly from: number;
  readonly to: number;
  readonly rowsPerUnit: number;
}

/** Rows per tile when heads are split (a multiple of every kernel's row block). */
export const UNIT_ROWS = 64;

/** Query rows [start, end) of head bh (= b·Hq + h) inside `units`; every row when undefined. */
export function headRows(units: UnitRange | undefined, bh: number, Nq: number): [number, number] {
  if (!units) return [0, Nq];
  const T = Math.max(1, Math.ceil(Nq / units.rowsPerUnit));
  const t0 = Math.min(T, Math.max(0, units.from - bh * T));
  const t1 = Math.min(T, Math.max(0, units.to - bh * T));
  if (t1 <= t0) return [0, 0];
  return [t0 * units.rowsPerUnit, Math.min(Nq, t1 * units.rowsPerUnit)];
}

/** Keys rows [r0, r1) score (the work of a tile): all Nk, or the visible ones under a causal mask. */
function tileCost(r0: number, r1: number, Nq: number, Nk: number, causal: boolean): number {
  let cost = 0;
  for (let i = r0; i < r1; i++) cost += causal ? Math.min(Nk, Math.max(0, i + Nk - Nq + 1)) : Nk;
  return cost + (r1 - r0); // every row costs something, even a fully masked one
}

/**
 * At most `parts` unit ranges of about equal work covering the whole call. Whole heads
 * when they divide evenly between the parts (the common case: 8 heads, 2 or 4 cores);
 * else 64-row tiles, cut where the running work (visible keys per row) passes each share.
 */
export function planUnits(p: Problem, causal: boolean, parts: number): UnitRange[] {
  const heads = p.batch * p.headsQ;
  const rowsPerUnit = heads % parts === 0 || heads >= 4 * parts ? Math.max(1, p.seqQ) : UNIT_ROWS;
  const T = Math.max(1, Math.ceil(p.seqQ / rowsPerUnit));
  const costs = Array.from({ length: T }, (_, t) => tileCost(t * rowsPerUnit, Math.min(p.seqQ, (t + 1) * rowsPerUnit), p.seqQ, p.seqK, causal));
  const total = heads * costs.reduce((s, c) => s + c, 0);
  const n = Math.min(parts, heads * T);
  const ranges: UnitRange[] = [];
  let from = 0;
  let done = 0;
  for (let u = 0; u < heads * T && ranges.length < n - 1; u++) {
    done += costs[u % T]!;
    if (done >= (total * (ranges.length + 1)) / n) {
      ranges.push({ from, to: u + 1, rowsPerUnit });
      from = u + 1;
    }
  }
  ranges.push({ from, to: heads * T, rowsPerUnit });
  return ranges.filter((r) => r.to > r.from);
}
