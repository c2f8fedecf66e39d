#!/usr/bin/env node
/*
 * Where a CPU forward's time goes, 1 thread (inline) vs the worker split (issue 17):
 * per call the wall time, and for the split the main thread's share before posting and
 * after the replies, each worker's busy time (its own clock, message in to reply out),
 * and — on Linux — the CPU time every thread of the process actually got
 * (/proc/self/task/<tid>/schedstat), so a worker that was descheduled by other load
 * (busy ≫ CPU) is told apart from one that computes slowly (busy ≈ CPU, both high).
 * f32, B=1, H=8, D=64; $SEQ (512,2048), causal and not; thread counts $THREADS (1,2)
 * interleaved call by call; $REPS (7) calls after $WARM (2) warm-ups; medians, and bests
 * of wall. Needs `npm run build` (imports dist/).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createAttention } from '../dist/index.js';
import { lastSplit } from '../dist/cpu/parallel-forward.js';

const [B, H, D] = [1, 8, 64];
const seqs = (process.env.SEQ ?? '512,2048').split(',').map(Number);
const threadsList = (process.env.THREADS ?? '1,2').split(',').map(Number);
const [reps, warm] = [Number(process.env.REPS ?? 7), Number(process.env.WARM ?? 2)];

/** CPU ms per thread id (Linux; empty elsewhere). */
function threadCpu() {
  try {
    return Object.fromEntries(
      readdirSync('/proc/self/task').map((t) => {
        try {
          return [t, Number(readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]) / 1e6];
        } catch {
          return [t, 0];
        }
      }),
    );
  } catch {
    return {};
  }
}
const mainTid = String(process.pid);
const med = (a) => (a.length ? [...a].sort((x, y) => x - y)[a.length >> 1] : NaN);
const f = (x) => (Number.isFinite(x) ? x.toFixed(1) : '-');

const attns = await Promise.all(threadsList.map((threads) => createAttention({ backend: 'cpu', cpu: { threads } })));
for (const N of seqs) {
  const rand = () => Float32Array.from({ length: B * H * N * D }, () => Math.random() * 2 - 1);
  const data = [rand(), rand(), rand()];
  const inputs = attns.map((a) => data.map((d) => a.tensor(d, [B, H, N, D])));
  for (const causal of [false, true]) {
    const rows = attns.map(() => ({ wall: [], mainCpu: [], otherCpu: [], before: [], after: [], busy: [], workerCpu: [] }));
    for (let i = 0; i < warm + reps; i++) {
      for (let j = 0; j < attns.length; j++) {
        const c0 = threadCpu();
        const t0 = performance.now();
        const { out } = await attns[j].forward(...inputs[j], { causal });
        const wall = performance.now() - t0;
        const c1 = threadCpu();
        out.destroy();
        if (i < warm) continue;
        const r = rows[j];
        r.wall.push(wall);
        const d = Object.entries(c1).map(([t, ms]) => [t, ms - (c0[t] ?? ms)]);
        r.mainCpu.push(d.find(([t]) => t === mainTid)?.[1] ?? NaN);
        // The workers: the threads with the most CPU in this call, one per worker.
        const others = d
          .filter(([t]) => t !== mainTid)
          .map(([, ms]) => ms)
          .sort((a, b) => b - a);
        if (threadsList[j] > 1) {
          r.workerCpu.push(others.slice(0, threadsList[j]));
          r.otherCpu.push(others.slice(threadsList[j]).reduce((s, x) => s + x, 0));
          r.before.push(lastSplit.beforeMs);
          r.after.push(lastSplit.afterMs);
          r.busy.push(lastSplit.busyMs);
        } else r.otherCpu.push(others.reduce((s, x) => s + x, 0));
      }
    }
    rows.forEach((r, j) => {
      const t = threadsList[j];
      const flops = 4 * B * H * N * N * D * (causal ? 0.5 : 1);
      let line = `N=${N} causal=${causal ? 'y' : 'n'} threads=${t}: wall med ${f(med(r.wall))} best ${f(Math.min(...r.wall))} ms (${(flops / med(r.wall) / 1e6).toFixed(1)} GFLOP/s med)`;
      line += ` | CPU main ${f(med(r.mainCpu))} other ${f(med(r.otherCpu))}`;
      if (t > 1) {
        const per = (k, w) => f(med(r[k].map((x) => x[w] ?? NaN)));
        line += ` | before ${f(med(r.before))} after ${f(med(r.after))} | busy ${Array.from({ length: t }, (_, w) => per('busy', w)).join('/')}`;
        line += ` CPU ${Array.from({ length: t }, (_, w) => per('workerCpu', w)).join('/')}`;
      }
      console.log(line);
    });
  }
}
attns.forEach((a) => a.destroy());
