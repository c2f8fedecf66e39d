/*
 * `webgpu-attention explain`: for one shape, the device-memory bytes each
 * algorithm must move by the IO model, step by step, next to its measured
 * time — the lectures' argument (naive pays for N×N round trips) in numbers.
 */
import { benchOne, benchProblem, flashLayoutOf } from '../harness/bench.js';
import { ioSteps } from '../harness/io-model.js';
import { openBackend, parse } from './args.js';
import { BENCH_FLAGS, benchPlan } from './bench.js';
import { bytes, num, table } from './table.js';

export async function explainCommand(argv: string[]): Promise<number> {
  const a = parse(argv, BENCH_FLAGS);
  const plan = benchPlan({ ...a, seq: a.seq ?? '1024' });
  const attn = await openBackend(a.backend);
  for (const shape of plan.shapes) {
    const problem = benchProblem(shape);
    const layout = flashLayoutOf(attn, problem, shape.causal);
    console.log(`\nB=${shape.batch} Hq=${shape.heads} Hkv=${shape.kvHeads} Nq=${shape.seqQ} Nk=${shape.seqK} D=${shape.headDim}${shape.causal ? ' causal' : ''}, f32, on ${attn.adapter.vendor} ${attn.adapter.device}`);
    const rows: string[][] = [];
    for (const alg of plan.algorithms) {
      const steps = ioSteps(problem, alg, shape.causal, layout);
      const r = await benchOne(attn, shape, alg, { samples: plan.samples });
      const total = steps.reduce((s, x) => s + x.readBytes + x.writeBytes, 0);
      for (const s of steps) rows.push([alg, s.step, bytes(s.readBytes), bytes(s.writeBytes), '', '']);
      rows.push([alg, 'total', '', '', bytes(total), r.msMedian === null ? `(${r.error})` : `${num(r.msMedian)} ms`]);
    }
    console.log(table(['algorithm', 'step', 'reads', 'writes', 'bytes moved', 'measured'], rows));
  }
  attn.destroy();
  return 0;
}
