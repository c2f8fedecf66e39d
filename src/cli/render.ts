/*
 * `bench --render a.json,b.json`: our bench JSON and the peers' (bench/peers/*.py
 * write the same row fields) merged into one table, each row with its time as a
 * multiple of ours (flash, f32, same pass and shape): above 1 means we are faster.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { UsageError } from './args.js';
import { num, table } from './table.js';

export interface Row {
  readonly algorithm: string;
  readonly batch?: number;
  readonly heads: number;
  readonly seqQ: number;
  readonly seqK?: number;
  readonly headDim: number;
  readonly causal?: boolean;
  readonly dtype?: string;
  readonly variant?: string;
  readonly pass?: string;
  readonly msMedian: number | null;
  readonly tflops: number | null;
  readonly error?: string;
  /** The file a row came from (and its backend, where the file names one). */
  readonly source?: string;
}

/** Every row of every file, in file order. */
export function readRows(files: readonly string[]): Row[] {
  return files.flatMap((f) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(f, 'utf8'));
    } catch (e) {
      throw new UsageError(`--render: cannot read ${f}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const { results: rows, adapter } = parsed as { results?: unknown; adapter?: { backend?: string } };
    if (!Array.isArray(rows)) throw new UsageError(`--render: ${f} has no "results" array (bench --json or bench/peers output)`);
    const source = basename(f) + (adapter?.backend ? ` (${adapter.backend})` : '');
    return (rows as Row[]).map((r) => ({ ...r, source: r.source ?? source })); // a merged file keeps its rows' sources
  });
}

/** FlexAttention's rows name "none" and "causal" as variants; ours use no variant and the causal flag. */
function normalized(r: Row): Row {
  if (r.variant === 'none') return { ...r, variant: undefined };
  if (r.variant === 'causal') return { ...r, variant: undefined, causal: true };
  return r;
}

const shapeKey = (r: Row) =>
  [r.pass ?? 'forward', r.batch ?? 1, r.heads, r.seqQ, r.seqK ?? r.seqQ, r.headDim, r.causal ? 'causal' : '', r.variant ?? ''].join('|');

export function renderRows(given: readonly Row[]): string {
  const rows = given.map(normalized);
  // Ours: the first file's flash f32 row of a shape (file order), when several files have one.
  const ours = new Map<string, Row>();
  let several = false;
  for (const r of rows) {
    if (r.algorithm !== 'flash' || (r.dtype ?? 'f32') !== 'f32' || !r.msMedian) continue;
    if (ours.has(shapeKey(r))) several = true;
    else ours.set(shapeKey(r), r);
  }
  const sources = new Set(rows.map((r) => r.source));
  const sorted = [...rows].sort((a, b) => shapeKey(a).localeCompare(shapeKey(b)));
  const body = sorted.map((r) => {
    const base = ours.get(shapeKey(r));
    const ratio = base?.msMedian && r.msMedian ? r.msMedian / base.msMedian : null;
    return [
      ...(sources.size > 1 ? [r.source ?? ''] : []),
      r.algorithm + (r.variant ? `+${r.variant}` : ''),
      r.pass ?? 'forward',
      r.dtype ?? 'f32',
      String(r.heads),
      String(r.seqQ),
      String(r.headDim),
      r.causal ? 'yes' : 'no',
      num(r.msMedian),
      num(r.tflops),
      ratio === null ? '-' : `${ratio.toFixed(2)}×`,
      r.error ? r.error.slice(0, 60) : '',
    ];
  });
  const head = [...(sources.size > 1 ? ['source'] : []), 'algorithm', 'pass', 'dtype', 'H', 'N', 'D', 'causal', 'ms', 'TFLOP/s', 'time / ours', 'note'];
  const note = several ? "\ntime / ours: against the first file's flash f32 row of each shape (several files have one)" : '';
  return table(head, body) + note;
}
