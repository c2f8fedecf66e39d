/*
 * `bench --backend cpu --peers`: after our own rows, the CPU peers (onnxruntime-web
 * wasm, onnxruntime-node CPU, tfjs-wasm; src/harness/cpu-peers.ts) on every shape,
 * with the same inputs, thread count and timing, printed as one table per run:
 * ours (flash, f32) first, then each peer with its time as a multiple of ours
 * (above 1: we are faster), GFLOP/s and its error against the float64 reference.
 * A peer whose package is missing is one stderr line saying what to install.
 */
import type { BenchResult, BenchShape } from '../harness/bench.js';
import type { PeerResult } from '../harness/cpu-peers.js';
import { progress } from './progress.js';
import { num, table } from './table.js';

/** A peer row as written to the JSON: the peer's result plus its time over ours. */
export interface PeerRow extends PeerResult {
  /** The peer's median ms over ours (flash, f32, same shape); above 1 means we are faster. */
  readonly timeOverOurs: number | null;
}

/** The error above which a row is flagged (bench's own bar for f32). */
const F32_ERROR_BAR = 1e-3;

const sameShape = (a: BenchShape, b: BenchShape) =>
  a.batch === b.batch &&
  a.heads === b.heads &&
  a.kvHeads === b.kvHeads &&
  a.seqQ === b.seqQ &&
  a.seqK === b.seqK &&
  a.headDim === b.headDim &&
  a.causal === b.causal;

/** Our row a peer is compared with: flash in f32 on the same shape (else any f32 row). */
function oursFor(shape: BenchShape, ours: readonly BenchResult[]): BenchResult | undefined {
  const f32 = ours.filter((r) => r.dtype === 'f32' && sameShape(r, shape) && r.msMedian !== null);
  return f32.find((r) => r.algorithm === 'flash') ?? f32[0];
}

/** Loads the peers, times them on every shape, prints the table; returns the rows for the JSON. */
export async function runPeers(shapes: readonly BenchShape[], ours: readonly BenchResult[], threads: number, samples?: number): Promise<PeerRow[]> {
  // Loaded on use: the peers' code stays out of every other command's start-up.
  const { benchPeers, loadCpuPeers } = await import('../harness/cpu-peers.js');
  const loaded = await loadCpuPeers(threads);
  for (const l of loaded) {
    if ('missing' in l) console.error(l.missing);
    else if ('error' in l) console.error(`peer ${l.name} could not start: ${l.error}`);
  }
  const peers = loaded.flatMap((l) => ('peer' in l ? [l.peer] : []));
  const rows: PeerRow[] = [];
  const bar = progress(shapes.length, (label, i) => console.error(`[peers ${i + 1}/${shapes.length}] ${label} …`));
  try {
    for (const shape of shapes) {
      bar.next(`${peers.map((p) => p.name).join(', ')} N=${shape.seqQ} D=${shape.headDim}${shape.causal ? ' causal' : ''}`);
      const base = oursFor(shape, ours);
      for (const r of await benchPeers(peers, shape, { samples })) {
        rows.push({ ...r, timeOverOurs: base?.msMedian && r.msMedian ? r.msMedian / base.msMedian : null });
      }
    }
  } finally {
    bar.stop();
  }
  if (peers.length) console.log(`\nCPU peers (${threads} thread${threads === 1 ? '' : 's'} asked for each; time / ours above 1 means ours is faster):\n`);
  if (peers.length) console.log(peerTable(shapes, ours, rows, threads));
  return rows;
}

const GFLOPS = (tflops: number | null) => num(tflops === null ? null : tflops * 1e3);

/** Per shape: our row, then each peer's. */
function peerTable(shapes: readonly BenchShape[], ours: readonly BenchResult[], rows: readonly PeerRow[], threads: number): string {
  const shapeCells = (s: BenchShape) => [
    String(s.batch),
    String(s.heads),
    String(s.kvHeads),
    String(s.seqQ),
    String(s.seqK),
    String(s.headDim),
    s.causal ? 'yes' : 'no',
  ];
  const err = (e: number | null) => (e === null ? '-' : e.toExponential(1));
  const body = shapes.flatMap((shape) => {
    const base = oursFor(shape, ours);
    const mine = base
      ? [
          [
            `ours (${base.algorithm})`,
            String(threads),
            ...shapeCells(shape),
            num(base.msMedian),
            GFLOPS(base.tflops),
            err(base.maxAbsErr),
            '1.00×',
            base.error ?? '',
          ],
        ]
      : [];
    const theirs = rows
      .filter((r) => sameShape(r, shape))
      .map((r) => {
        const flagged = r.maxAbsErr !== null && !(r.maxAbsErr < F32_ERROR_BAR) ? `error above ${F32_ERROR_BAR}; ` : '';
        return [
          `${r.algorithm} ${r.version}`,
          String(r.threads),
          ...shapeCells(r),
          num(r.msMedian),
          GFLOPS(r.tflops),
          err(r.maxAbsErr),
          r.timeOverOurs === null ? '-' : `${r.timeOverOurs.toFixed(2)}×`,
          flagged + (r.error ?? r.note ?? ''),
        ];
      });
    return [...mine, ...theirs];
  });
  return table(['impl', 'threads', 'B', 'Hq', 'Hkv', 'Nq', 'Nk', 'D', 'causal', 'ms', 'GFLOP/s', 'max err', 'time / ours', 'note'], body);
}
