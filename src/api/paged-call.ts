/*
 * The `pages` option of forward(): K and V are page pools (kernels/paged.ts) and a page
 * table says where each sequence's keys are. Checked here once, before any GPU work,
 * into the call's PagedKv: a page id outside the pools, a table too short for its
 * length or a pool pair that disagrees is an AttentionInputError naming the entry.
 */
import type { PagedKv } from '../kernels/paged.js';
import { AttentionInputError } from '../tensor/errors.js';
import { shapeToString, type Shape4 } from '../tensor/shape.js';
import type { AttentionTensor } from './tensor.js';

/**
 * Paged K/V for forward(): pass the K and V page pools as k and v, each
 * [numPages, Hkv, pageSize, D] (layout 'bhnd'; 'bnhd' is [numPages, pageSize, Hkv, D]),
 * and here which pages each query batch entry reads. Logical key row r of entry b is
 * row r mod pageSize of page table[b][⌊r / pageSize⌋].
 */
export interface PagedKeys {
  /**
   * Page ids per batch entry: one array each (rows may differ in length), or one
   * Int32Array/Uint32Array of B equal rows, row-major [B, maxPages]. Only the first
   * ⌈lengths[b] / pageSize⌉ ids of a row are read; each must be in [0, numPages).
   */
  readonly table: readonly ArrayLike<number>[] | Int32Array | Uint32Array;
  /**
   * Keys of each batch entry (one number for all, or one per entry): keys at r ≥ lengths[b]
   * are masked and their tiles skipped. Default query positions put each entry's Nq query
   * rows at its last keys (queryOffset = lengths[b] − Nq), as in decoding.
   */
  readonly lengths: number | readonly number[];
}

function fail(msg: string): never {
  throw new AttentionInputError(`pages: ${msg}`);
}

const isIndex = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;

/** Type check of the option (check-options.ts): a plain { table, lengths } of the right kinds; returns a frozen copy. */
export function checkPagesOption(v: unknown): PagedKeys {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`must be { table, lengths }, got ${typeof v}`);
  const { table, lengths, ...rest } = v as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length) fail(`unknown key '${extra[0]}' (valid: table, lengths)`);
  const flat = table instanceof Int32Array || table instanceof Uint32Array;
  if (!flat && !Array.isArray(table)) fail('table must be an array of page-id arrays (one per batch entry) or an Int32Array/Uint32Array [B, maxPages]');
  if (!isIndex(lengths) && !(Array.isArray(lengths) && lengths.length > 0)) fail('lengths must be an integer ≥ 0 or an array of them, one per batch entry');
  return Object.freeze({ table: table as PagedKeys['table'], lengths: lengths as PagedKeys['lengths'] });
}

/**
 * The call's paged K/V and the logical K/V shape ([B, Hkv, longest length, D]) that the
 * problem is checked against, from q, the pools k and v, and the option.
 */
export function checkPaged(q: AttentionTensor, k: AttentionTensor, v: AttentionTensor, opt: PagedKeys): { pages: PagedKv; kShape: Shape4 } {
  if (shapeToString(k.shape) !== shapeToString(v.shape) || k.layout !== v.layout) {
    fail(`the K and V pools must have one shape and layout, got k ${shapeToString(k.shape)} '${k.layout}', v ${shapeToString(v.shape)} '${v.layout}'`);
  }
  const B = q.shape.batch;
  const { batch: numPages, seq: pageSize } = k.shape;
  const lengths = typeof opt.lengths === 'number' ? Array.from({ length: B }, () => opt.lengths as number) : [...opt.lengths];
  if (lengths.length !== B) fail(`lengths has ${lengths.length} entries, but q's batch has ${B}`);
  lengths.forEach((n, b) => isIndex(n) || fail(`lengths[${b}] must be an integer ≥ 0, got ${String(n)}`));
  const table = tableRows(opt.table, B);
  table.forEach((row, b) => {
    const used = Math.ceil(lengths[b]! / pageSize);
    if (row.length < used) fail(`table[${b}] has ${row.length} pages, but lengths[${b}] = ${lengths[b]} needs ${used} pages of ${pageSize} rows`);
    for (let i = 0; i < used; i++) {
      const id = row[i];
      if (!isIndex(id) || id >= numPages) fail(`table[${b}][${i}] = ${String(id)} is not a page of the pools (0 … ${numPages - 1})`);
    }
  });
  const seqK = Math.max(1, ...lengths);
  return {
    pages: Object.freeze({ pageSize, numPages, lengths: Object.freeze(lengths), table: Object.freeze(table) }),
    kShape: { batch: B, heads: k.shape.heads, seq: seqK, headDim: k.shape.headDim },
  };
}

/** The table as B rows of page ids (copied, so a caller changing it later cannot change the call). */
function tableRows(table: PagedKeys['table'], B: number): number[][] {
  if (table instanceof Int32Array || table instanceof Uint32Array) {
    if (table.length % B !== 0 || table.length === 0) fail(`a flat table must hold B = ${B} equal rows, got ${table.length} entries`);
    const per = table.length / B;
    return Array.from({ length: B }, (_, b) => Array.from(table.subarray(b * per, (b + 1) * per)));
  }
  if (table.length !== B) fail(`table has ${table.length} rows, but q's batch has ${B} (one row of page ids each)`);
  return table.map((row, b) => {
    if (typeof row !== 'object' || row === null || typeof row.length !== 'number') fail(`table[${b}] must be an array of page ids`);
    return Array.from(row);
  });
}

/**
 * Per-entry query offsets of a paged call when none were given: each entry's rows are its
 * last keys (lengths[b] − Nq), which must not be negative.
 */
export function pagedQueryOffset(pages: PagedKv, seqQ: number): number[] {
  return pages.lengths.map((n, b) => {
    if (n < seqQ) fail(`lengths[${b}] = ${n} is less than the ${seqQ} query rows: pass queryOffset to say where they sit`);
    return n - seqQ;
  });
}
