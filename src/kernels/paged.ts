/*
 * Paged K/V (as vLLM's PagedAttention): K and V live in pools of fixed-size pages,
 * and sequence b's logical key row r sits in page table[b][⌊r / pageSize⌋], row
 * r mod pageSize of that page. Each sequence has its own key length; keys at
 * r ≥ lengths[b] are masked and their tiles never visited.
 *
 * The pools are ordinary tensors [numPages, Hkv, pageSize, D]: the tensor's batch
 * axis runs over pages, so the kernels read a page's rows with the strides they
 * already have (ksb is the page stride). Layout 'bhnd' keeps one head's rows of a
 * page contiguous (pageSize·D elements): a K/V tile of one head is one or a few
 * contiguous runs, as in a contiguous cache, which is what the decode kernel's
 * bandwidth depends on. ('bnhd', [numPages, pageSize, Hkv, D], also works through
 * the same strides: one token's heads together, rows strided by Hkv·D.)
 *
 * The kernels read the table from one u32 binding `pages`: per batch entry its
 * length and where its page ids start, then the page ids,
 *   [len_0, start_0, len_1, start_1, …, ids…]
 * so the rows may be ragged and no uniform field changes (the default kernels'
 * text stays as it was). The page size is a WGSL constant (PAGE): one pipeline
 * per page size, and the division a shift for the usual powers of two.
 */
import type { Binding } from './spec.js';

/** A call's paged K/V, validated (api/paged-call.ts): the page table and each sequence's key length. */
export interface PagedKv {
  /** Rows per page (the pools' seq axis). */
  readonly pageSize: number;
  /** Pages in the pools (their batch axis). */
  readonly numPages: number;
  /** Keys of each batch entry; keys at r ≥ lengths[b] are masked. */
  readonly lengths: readonly number[];
  /** Each batch entry's page ids, at least ⌈lengths[b] / pageSize⌉ of them, each in [0, numPages). */
  readonly table: readonly (readonly number[])[];
}

/** The table as the kernels read it (u32 words: lengths and row starts, then the page ids). */
export function pageWords(p: PagedKv): Uint32Array {
  const B = p.lengths.length;
  const used = p.lengths.map((n) => Math.ceil(n / p.pageSize));
  const words = new Uint32Array(
    2 * B +
      Math.max(
        1,
        used.reduce((s, n) => s + n, 0),
      ),
  );
  let at = 2 * B;
  p.table.forEach((row, b) => {
    words[2 * b] = p.lengths[b]!;
    words[2 * b + 1] = at;
    for (let i = 0; i < used[b]!; i++) words[at++] = row[i]!;
  });
  return words;
}

/** The page-table binding of a paged forward kernel. */
export const PAGES_BINDING: Binding = { name: 'pages', kind: 'read', type: 'array<u32>' };

/** Module scope of a paged kernel: the page size and the row-address helper. */
export function pagedScope(pageSize: number): string {
  return /* wgsl */ `const PAGE = ${pageSize}u;
// Logical key row n of the batch entry whose page ids start at pages[pageRow]: its page's
// start (pageStride elements per page) plus its row in the page.
fn pagedRow(pageRow: u32, n: u32, pageStride: u32, rowStride: u32) -> u32 {
  return pages[pageRow + n / PAGE] * pageStride + (n % PAGE) * rowStride;
}`;
}

/** Batch entry `b`'s key length `kLen` and the start of its page ids `pageRow`. */
export function pagedLets(b: string, indent = '  '): string {
  return `${indent}// Paged K/V: this batch entry's key length and where its page ids start.
${indent}let kLen = pages[2u * ${b}];
${indent}let pageRow = pages[2u * ${b} + 1u];
`;
}
