/*
 * `webgpu-attention bench`: times the algorithms over a grid of sequence
 * lengths and head dims, prints a table (and flash's speed-up over naive per
 * shape), with --json writes the contract's JSON file, and with --plot an SVG
 * chart of TFLOP/s by N (also of --render's files). On the CPU backend, --threads
 * sets its worker threads and --peers times the CPU peers beside it (bench-peers.ts).
 */
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { benchOne, type BenchResult, type BenchShape } from '../harness/bench.js';
import { ALGORITHMS, type Algorithm, type BackwardTile, type DecodeTile, type ForwardTile, type MatrixTile } from '../api/options.js';
import { backend, int, intList, onOff, openBackend, outputPath, parse, UsageError, type Parsed } from './args.js';
import { progress } from './progress.js';
import { BENCH_HEAD_DIMS, benchShapeError, benchVariantError, timingCaveat } from '../harness/bench-check.js';
import { bytes, num, table } from './table.js';
import { readRows, renderRows } from './render.js';
import type { PlotRow } from '../harness/plot.js';
import { saveTunedTiles, tune, tuneKey } from '../harness/tune.js';
import { dtypeTiers } from '../harness/info.js';
import type { Attention } from '../api/attention.js';
import { DTYPES, type DType } from '../api/options.js';
import { runPeers } from './bench-peers.js';
import { checkGpuBackend, checkGpuFlags } from './bench-gpu-flags.js';

export const BENCH_FLAGS = {
  backend: { type: 'string' },
  algorithms: { type: 'string' },
  kernel: { type: 'string' },
  seq: { type: 'string' },
  'seq-k': { type: 'string' },
  batch: { type: 'string' },
  heads: { type: 'string' },
  'kv-heads': { type: 'string' },
  'head-dim': { type: 'string' },
  causal: { type: 'boolean' },
  dtype: { type: 'string' },
  samples: { type: 'string' },
  tile: { type: 'string' },
  'dq-tile': { type: 'string' },
  'key-splits': { type: 'string' },
  'decode-kernel': { type: 'string' },
  'tensor-cores': { type: 'string' },
  'step-times': { type: 'boolean' },
  paged: { type: 'string' },
  variant: { type: 'string' },
  backward: { type: 'boolean' },
  tune: { type: 'boolean' },
  render: { type: 'string' },
  json: { type: 'string' },
  plot: { type: 'string' },
  threads: { type: 'string' },
  peers: { type: 'boolean' },
} as const;

export interface BenchPlan {
  readonly algorithms: Algorithm[];
  readonly shapes: BenchShape[];
  readonly samples?: number;
  readonly tile?: ForwardTile;
  readonly dqTile?: BackwardTile;
  readonly keySplits?: number;
  readonly decodeKernel?: boolean | 'subgroups' | DecodeTile;
  readonly tensorCores?: boolean | MatrixTile;
  readonly stepTimes?: boolean;
  /** --paged PAGE_SIZE: K/V read through a page table of pages of this many rows. */
  readonly pageSize?: number;
  readonly variant?: string;
  readonly backward?: boolean;
  /** Element types to time each shape in (--dtype f32,f16). */
  readonly dtypes: DType[];
  /** CPU backend: worker threads (--threads; default the available cores). */
  readonly threads?: number;
  /** CPU backend: also time the CPU peers (--peers). */
  readonly peers?: boolean;
}

/**
 * "tx,ty,rm,cn[,word+word]" for a tile flag: the four sizes and the options named by
 * `words` (each word → the tile field it turns on); `usage` is the error's description.
 */
function parseTileSpec(value: string, flag: string, usage: string, words: Record<string, string>) {
  const parts = value.split(',');
  const [tx, ty, rm, cn] = intList(parts.slice(0, 4).join(','), flag, []);
  const named = parts[4]?.split('+') ?? [];
  if (parts.length < 4 || parts.length > 5 || !cn || named.some((w) => !(w in words))) {
    throw new UsageError(`${flag} takes ${usage}, got '${value}'`);
  }
  return { tx: tx!, ty: ty!, rm: rm!, cn, ...Object.fromEntries(named.map((w) => [words[w], true])) };
}

/** "tx,ty,rm,cn[,share+p-in-k+swizzle]" → a forward tile (tuning runs). */
export function parseTile(value: string | undefined): ForwardTile | undefined {
  const words = { share: 'shareKv', 'p-in-k': 'pInK', swizzle: 'swizzle' };
  const usage = `tx,ty,rm,cn[,options] with options from ${Object.keys(words).join(', ')} joined by '+'`;
  if (value === undefined) return undefined;
  const { tx, ty, rm, cn, ...options } = parseTileSpec(value, '--tile', usage, words);
  return { tx, ty, rm, cn, shareKv: false, ...options };
}

/** "tx,ty,rm,cn[,ds-in-v]" → the backward's dQ-pass tile (sweeps). */
export function parseDqTile(value: string | undefined): BackwardTile | undefined {
  return value === undefined ? undefined : parseTileSpec(value, '--dq-tile', 'tx,ty,rm,cn[,ds-in-v]', { 'ds-in-v': 'dsInY' });
}

/** --algorithms or --kernel, each a known algorithm; the backward times flash alone. */
function algorithmsOf(a: Parsed<typeof BENCH_FLAGS>): Algorithm[] {
  // --kernel K is --algorithms K for one kernel (e.g. `bench --kernel basic`, the teaching kernel).
  if (a.kernel !== undefined && a.algorithms !== undefined) throw new UsageError('--kernel and --algorithms exclude each other');
  const flag = a.kernel !== undefined ? '--kernel' : '--algorithms';
  const given = a.kernel ?? a.algorithms;
  const algorithms = (given ?? (a.backward ? 'flash' : 'naive,flash')).split(',').map((s) => s.trim()) as Algorithm[];
  for (const alg of algorithms) {
    if (!ALGORITHMS.includes(alg)) throw new UsageError(`${flag} takes ${ALGORITHMS.join(',')}, got '${alg}'`);
    if (a.backward && alg !== 'flash') throw new UsageError(`${flag} ${given}: --backward times the fused (flash) backward only`);
  }
  return algorithms;
}

/** The shapes: head dims × sequence lengths, each checked as the library would check it. */
function shapesOf(a: Parsed<typeof BENCH_FLAGS>): BenchShape[] {
  const heads = int(a.heads, '--heads', 8);
  const kvHeads = int(a['kv-heads'], '--kv-heads', heads);
  if (heads % kvHeads !== 0) throw new UsageError(`--kv-heads ${kvHeads} must divide --heads ${heads} (grouped-query attention)`);
  const headDims = intList(a['head-dim'], '--head-dim', [64], true);
  for (const d of headDims) {
    if (!BENCH_HEAD_DIMS.includes(d)) throw new UsageError(`--head-dim ${d}: unsupported head dim; supported: ${BENCH_HEAD_DIMS.join(', ')}`);
  }
  const seqs = intList(a.seq, '--seq', [256, 1024], true);
  const seqK = a['seq-k'] === undefined ? undefined : int(a['seq-k'], '--seq-k', 1);
  const batch = int(a.batch, '--batch', 1);
  const shapes = headDims.flatMap((headDim) =>
    seqs.map((seq) => ({ batch, heads, kvHeads, seqQ: seq, seqK: seqK ?? seq, headDim, causal: a.causal ?? false })),
  );
  // Anything else the library refuses (its own message), before a device opens rather than mid-run.
  for (const shape of shapes) {
    const why = benchShapeError(shape);
    if (why) throw new UsageError(why);
  }
  return shapes;
}

/** Turns bench flags into algorithms × shapes (head dims × sequence lengths), every flag checked. */
export function benchPlan(a: Parsed<typeof BENCH_FLAGS>): BenchPlan {
  const algorithms = algorithmsOf(a);
  const dtypes = (a.dtype ?? 'f32').split(',').map((s) => s.trim()) as DType[];
  for (const d of dtypes) if (!DTYPES.includes(d)) throw new UsageError(`--dtype takes ${DTYPES.join(',')} (a comma list), got '${d}'`);
  const shapes = shapesOf(a);
  for (const shape of a.variant === undefined ? [] : shapes) {
    const why = benchVariantError(a.variant!, shape.heads, shape.seqK);
    if (why) throw new UsageError(why);
  }
  const samples = a.samples === undefined ? undefined : int(a.samples, '--samples', 5);
  const keySplits = a['key-splits'] === undefined ? undefined : int(a['key-splits'], '--key-splits', 1);
  const decodeKernel = decodeKernelFlag(a['decode-kernel']);
  const tensorCores = tensorCoresFlag(a['tensor-cores']);
  const pageSize = a.paged === undefined ? undefined : int(a.paged, '--paged', 1);
  if (pageSize !== undefined && a.backward) throw new UsageError('--paged times the forward only (paged K/V have no backward)');
  if (a['dq-tile'] !== undefined && !a.backward) throw new UsageError('--dq-tile is a backward tile: add --backward');
  const tile = parseTile(a.tile);
  const dqTile = parseDqTile(a['dq-tile']);
  // Combinations last, so a malformed value is named before a conflict.
  if (a.tune && a.tile !== undefined) throw new UsageError('--tune and --tile exclude each other');
  // Tiles, the backward and the kernels' flags are GPU matters; 'auto' is checked again once the backend is known.
  checkGpuFlags(a, { tile, dqTile, tensorCores, dtypes, headDims: [...new Set(shapes.map((s) => s.headDim))] });
  const threads = a.threads === undefined ? undefined : int(a.threads, '--threads', 1);
  checkCpuFlags(a, dtypes);
  return {
    algorithms,
    shapes,
    samples,
    tile,
    dqTile,
    keySplits,
    decodeKernel,
    tensorCores,
    stepTimes: a['step-times'],
    pageSize,
    variant: a.variant,
    backward: a.backward,
    dtypes,
    threads,
    peers: a.peers,
  };
}

/** --threads and --peers are CPU-backend matters, and the peers run plain f32 attention. */
function checkCpuFlags(a: Parsed<typeof BENCH_FLAGS>, dtypes: readonly DType[]): void {
  if (a.threads !== undefined && a.backend !== 'cpu') throw new UsageError("--threads sets the CPU backend's worker threads: add --backend cpu");
  if (!a.peers) return;
  if (a.backend !== 'cpu') {
    throw new UsageError(
      '--peers times the CPU peers (onnxruntime-web wasm, onnxruntime-node CPU, tfjs-wasm) beside the CPU backend: add --backend cpu ' +
        '(GPU peers run from bench/peers/ and are compared with bench --render)',
    );
  }
  if (a.variant !== undefined) throw new UsageError('--peers times plain attention (causal or not), not --variant');
  if (!dtypes.includes('f32')) throw new UsageError('--peers compares f32: add f32 to --dtype');
}

export function resultRow(r: BenchResult): string[] {
  return [
    `${r.algorithm}${r.variant ? `+${r.variant}` : ''}${r.pageSize ? ` paged${r.pageSize}` : ''}${r.pass === 'backward' ? ' (bwd)' : ''}`,
    r.dtype,
    String(r.batch),
    String(r.heads),
    String(r.kvHeads),
    String(r.seqQ),
    String(r.seqK),
    String(r.headDim),
    r.causal ? 'yes' : 'no',
    num(r.msMedian),
    num(r.tflops),
    r.pctOfFloor === undefined ? '-' : `${r.pctOfFloor.toFixed(0)}%`,
    bytes(r.modelBytes),
    num(r.modelGBps ?? null),
    r.maxAbsErr === null ? '-' : r.maxAbsErr.toExponential(1),
    r.error ?? '',
  ];
}

export const RESULT_HEADER = [
  'algorithm',
  'dtype',
  'B',
  'Hq',
  'Hkv',
  'Nq',
  'Nk',
  'D',
  'causal',
  'ms',
  'TFLOP/s',
  'of floor',
  'model bytes',
  'GB/s',
  'max err',
  'note',
];

export async function benchCommand(argv: string[]): Promise<number> {
  const a = parse(argv, BENCH_FLAGS);
  const json = outputPath(a.json, '--json');
  const plot = outputPath(a.plot, '--plot');
  if (a.render !== undefined) {
    // --render measures nothing: a measuring flag beside it would be silently ignored.
    const ignored = Object.keys(a).filter((k) => !['render', 'json', 'plot'].includes(k));
    if (ignored.length)
      throw new UsageError(
        `--render draws saved results and measures nothing; it takes only --json and --plot, not ${ignored.map((k) => `--${k}`).join(', ')}`,
      );
    const rows = readRows(a.render.split(','));
    console.log(renderRows(rows));
    if (json) writeFileSync(json, JSON.stringify({ sources: a.render.split(','), results: rows }, null, 2) + '\n');
    if (plot) await writePlot(plot, rows, `bench --render ${a.render}`);
    return 0;
  }
  const plan = benchPlan(a);
  const attn = await openBackend(backend(a.backend), plan.threads === undefined ? undefined : { threads: plan.threads });
  checkGpuBackend(attn.backend, a);
  if (a.tune) await tuneShapes(attn, plan);
  const results = await runPlan(attn, plan);
  const caveat = timingCaveat(attn.adapter);
  if (caveat) console.error(caveat);
  console.log(table(RESULT_HEADER, results.map(resultRow)));
  for (const shape of plan.shapes) printShapeSummary(shape, results);
  // Peers use as many threads as ours: --threads, else the CPU backend's default (the available cores).
  const threads = plan.threads ?? availableParallelism();
  const peers = plan.peers ? await runPeers(plan.shapes, results, threads, plan.samples) : undefined;
  if (json) {
    const cpu = peers ? { cpu: { threads }, peers } : {};
    writeFileSync(json, JSON.stringify({ adapter: attn.adapter, dtypes: dtypeTiers(attn), results, ...cpu }, null, 2) + '\n');
    console.error(`wrote ${json}`);
  }
  if (plot) await writePlot(plot, results, `bench on ${attn.adapter.backend}: ${attn.adapter.device || attn.adapter.vendor}`);
  attn.destroy();
  // A case that failed to run is a failure (one the device's limits rule out is not); so is a wrong result.
  // f16 outputs carry f16 rounding (2⁻¹¹ relative): their bar is 10× the f32 one.
  const failed = results.filter((r) => r.error !== undefined && !r.beyondLimits).length;
  if (failed) console.error(`${failed} case${failed > 1 ? 's' : ''} failed to run: see the note column`);
  return failed || results.some((r) => r.maxAbsErr !== null && !(r.maxAbsErr < (r.dtype === 'f16' ? 1e-2 : 1e-3))) ? 1 : 0;
}

/** `--plot FILE`: the rows as an SVG chart (src/harness/plot.ts, the demo page's chart too). */
async function writePlot(file: string, rows: readonly PlotRow[], title: string): Promise<void> {
  // Loaded on use: d3 stays out of every other command's start-up.
  const { plotSvg } = await import('../harness/plot.js');
  writeFileSync(file, plotSvg(rows, title));
  console.error(`wrote ${file}`);
}

/** Every algorithm on every shape, with a progress bar on a terminal (the old "[i/n] …" lines elsewhere). */
async function runPlan(attn: Attention, plan: BenchPlan): Promise<BenchResult[]> {
  const results: BenchResult[] = [];
  // --paged: each flash case also runs on its K/V scattered over pages, right after the contiguous one.
  const runs = plan.algorithms.flatMap(
    (alg) =>
      (alg === 'flash' && plan.pageSize
        ? [
            [alg, undefined],
            [alg, plan.pageSize],
          ]
        : [[alg, undefined]]) as [Algorithm, number | undefined][],
  );
  const total = plan.shapes.length * runs.length * plan.dtypes.length;
  const bar = progress(total, (label, i) => console.error(`[${i + 1}/${total}] ${label} …`));
  try {
    for (const shape of plan.shapes) {
      for (const dtype of plan.dtypes) {
        for (const [alg, pageSize] of runs) {
          bar.next(
            `${alg}${pageSize ? ` paged${pageSize}` : ''} ${dtype} B=${shape.batch} Hq=${shape.heads} N=${shape.seqQ} D=${shape.headDim}${shape.causal ? ' causal' : ''}`,
          );
          const { samples, tile, dqTile, keySplits, decodeKernel, tensorCores, stepTimes, variant, backward } = plan;
          const opts = { samples, tile, dqTile, keySplits, decodeKernel, tensorCores, stepTimes, variant, backward, dtype, pageSize };
          results.push(await benchOne(attn, shape, alg, opts));
        }
      }
    }
  } finally {
    bar.stop();
  }
  return results;
}

/** Flash's speed-up over naive for one shape, and the backward's memory and per-kernel times. */
function printShapeSummary(shape: BenchShape, results: readonly BenchResult[]): void {
  const of = (alg: Algorithm, dtype: DType) => results.find((r) => r.algorithm === alg && r.dtype === dtype && sameShape(r, shape));
  for (const dtype of DTYPES) {
    const [f, n] = [of('flash', dtype), of('naive', dtype)];
    if (f?.msMedian && n?.msMedian)
      console.log(`N=${shape.seqQ} D=${shape.headDim} ${dtype}: flash speed-up over naive ${(n.msMedian / f.msMedian).toFixed(2)}×`);
  }
  const f = of('flash', 'f32') ?? of('flash', 'f16');
  if (f?.peakBytes !== undefined) {
    const kernels = Object.entries(f.kernelMs ?? {})
      .map(([label, ms]) => `${label.split(' ')[0]} ${ms.toFixed(2)} ms`)
      .join(', ');
    console.log(
      `N=${shape.seqQ} D=${shape.headDim}${shape.causal ? ' causal' : ''} backward: device buffers at peak ${bytes(f.peakBytes)} ` +
        `(extra scratch ${bytes(f.scratchBytes ?? 0)}; an N×N score matrix would be ${bytes(4 * shape.batch * shape.heads * shape.seqQ * shape.seqK)})` +
        (kernels ? `; ${kernels}` : ''),
    );
  }
}

function sameShape(r: BenchShape, s: BenchShape): boolean {
  return r.seqQ === s.seqQ && r.seqK === s.seqK && r.headDim === s.headDim && r.heads === s.heads && r.batch === s.batch;
}

/** `--tune`: a timed tile search per shape class before the timing runs; the picks are saved for later runs. */
async function tuneShapes(attn: Attention, plan: BenchPlan): Promise<void> {
  // The backward tunes its dK/dV pass first, then its dQ pass beside the chosen dK/dV tile.
  const passes = plan.backward ? (['backward', 'dq'] as const) : (['forward'] as const);
  const done = new Set<string>();
  for (const shape of plan.shapes) {
    for (const pass of passes) {
      const key = tuneKey(pass, shape);
      if (done.has(key)) continue;
      done.add(key);
      console.error(`tuning ${key} at N=${shape.seqQ} …`);
      const r = await tune(attn, shape, pass, (m) => console.error(m));
      const gain = r.defaultMs / r.ms;
      console.log(
        `tuned ${r.shapeClass}: tile ${JSON.stringify(r.tile)} ${num(r.ms)} ms (default ${num(r.defaultMs)} ms, ${gain.toFixed(2)}×; ${r.candidates.length} candidates)`,
      );
    }
  }
  const file = await saveTunedTiles(attn);
  if (file) console.log(`saved tuned tiles to ${file} (used by later runs on this adapter and version)`);
}

/** `--tensor-cores on|off|S,K`: the tensor-core kernel off, forced, or forced with a tile (subgroups, keys per tile). */
function tensorCoresFlag(value: string | undefined): boolean | MatrixTile | undefined {
  if (value === undefined || value === 'on' || value === 'off') return onOff(value, '--tensor-cores');
  const [s, k, extra, ...rest] = value.split(',').map((x) => x.trim());
  const nums = [Number(s), Number(k)];
  if (rest.length || !nums.every((n) => Number.isInteger(n) && n >= 1) || (extra !== undefined && extra !== 'prefetch')) {
    throw new UsageError(`--tensor-cores takes on, off or subgroups,keys[,prefetch] (two positive integers), got '${value}'`);
  }
  return { subgroups: nums[0]!, keys: nums[1]!, ...(extra ? { prefetch: true } : {}) };
}

/** `--decode-kernel on|off|subgroups|T,L,B`: the decode kernel off, on, the subgroup one, or on with a forced tile (invocations, lanes per key, load bytes). */
function decodeKernelFlag(value: string | undefined): boolean | 'subgroups' | DecodeTile | undefined {
  if (value === undefined || value === 'on' || value === 'off') return onOff(value, '--decode-kernel');
  if (value === 'subgroups') return value;
  const parts = value.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 3 || !parts.every((n) => Number.isInteger(n) && n >= 1)) {
    throw new UsageError(`--decode-kernel takes on, off, subgroups or threads,lanes,loadBytes (three positive integers), got '${value}'`);
  }
  const [threads, lanes, loadBytes] = parts as [number, number, number];
  return { threads, lanes, loadBytes };
}
