/*
 * `webgpu-attention explain`: for one shape, the device-memory bytes each
 * algorithm must move by the IO model, step by step, next to its measured
 * time — the lectures' argument (naive pays for N×N round trips) in numbers.
 */
import { benchOne, benchProblem } from '../harness/bench.js';
import { flashLayoutOf } from '../harness/bench-layout.js';
import { timingCaveat } from '../harness/bench-check.js';
import { ioSteps } from '../harness/io-model.js';
import { backend, openBackend, parse } from './args.js';
import { BENCH_FLAGS, benchPlan } from './bench.js';
import { progress } from './progress.js';
import { bytes, num, table } from './table.js';

/** The bench flags explain reads (the shape, the algorithms, the samples); the others would be ignored, so they are refused. */
const EXPLAIN_KEYS = ['backend', 'algorithms', 'kernel', 'seq', 'seq-k', 'batch', 'heads', 'kv-heads', 'head-dim', 'causal', 'dtype', 'samples'] as const;
const EXPLAIN_FLAGS = Object.fromEntries(EXPLAIN_KEYS.map((k) => [k, BENCH_FLAGS[k]])) as Pick<typeof BENCH_FLAGS, (typeof EXPLAIN_KEYS)[number]>;

export async function explainCommand(argv: string[]): Promise<number> {
  const a = parse(argv, EXPLAIN_FLAGS);
  const plan = benchPlan({ ...a, seq: a.seq ?? '1024' });
  const attn = await openBackend(backend(a.backend));
  const caveat = timingCaveat(attn.adapter);
  if (caveat) console.error(caveat);
  const bar = progress(plan.shapes.length * plan.algorithms.length);
  try {
    for (const shape of plan.shapes) {
      const problem = benchProblem(shape);
      const layout = flashLayoutOf(attn, problem, shape.causal);
      const title = `B=${shape.batch} Hq=${shape.heads} Hkv=${shape.kvHeads} Nq=${shape.seqQ} Nk=${shape.seqK} D=${shape.headDim}${shape.causal ? ' causal' : ''}`;
      const rows: string[][] = [];
      for (const alg of plan.algorithms) {
        bar.next(`${alg} ${title}`);
        const steps = ioSteps(problem, alg, shape.causal, layout);
        const r = await benchOne(attn, shape, alg, { samples: plan.samples });
        const total = steps.reduce((s, x) => s + x.readBytes + x.writeBytes, 0);
        for (const s of steps) rows.push([alg, s.step, bytes(s.readBytes), bytes(s.writeBytes), '', '']);
        rows.push([alg, 'total', '', '', bytes(total), r.msMedian === null ? `(${r.error})` : `${num(r.msMedian)} ms`]);
      }
      bar.line(`\n${title}, f32, on ${attn.adapter.vendor} ${attn.adapter.device}`);
      bar.line(table(['algorithm', 'step', 'reads', 'writes', 'bytes moved', 'measured'], rows));
    }
  } finally {
    bar.stop();
  }
  attn.destroy();
  return 0;
}
