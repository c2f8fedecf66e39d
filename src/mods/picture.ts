/*
 * ASCII pictures of a mask: '█' kept, '·' masked, rows are queries, columns keys.
 */
import { maskFn } from './emit-js.js';
import { expectModifiers, type Modifier } from './modifier.js';

/** The mask for batch b, head h over an n×n (or nq×nk) grid. */
export function maskPicture(mask: Modifier, nq = 16, nk = nq, b = 0, h = 0): string {
  expectModifiers([mask], 'mask', 'maskPicture');
  const keep = maskFn(mask);
  const rows: string[] = [];
  for (let q = 0; q < nq; q++) {
    let row = '';
    for (let kv = 0; kv < nk; kv++) row += keep(b, h, q, kv) ? '█' : '·';
    rows.push(row);
  }
  return rows.join('\n');
}
