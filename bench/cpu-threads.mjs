#!/usr/bin/env node
/*
 * CPU forward, 1 vs more worker threads (issue 17 item 2): B=1, H=8, D=64, N=$N (2048),
 * causal and not, f32, median of $REPS (7) calls after a warm-up. The thread counts
 * ($THREADS, "1,2") run interleaved, call by call, so load drift on a shared machine
 * hits them alike. Needs `npm run build` (imports dist/).
 */
import { createAttention } from '../dist/index.js';
const [B, H, N, D] = [1, 8, Number(process.env.N ?? 2048), 64];
const data = Float32Array.from({ length: B * H * N * D }, (_, i) => Math.sin(i * 12.9898) * 0.5);
const threadsList = (process.env.THREADS ?? '1,2').split(',').map(Number);
for (const causal of [false, true]) {
  const runs = await Promise.all(
    threadsList.map(async (threads) => {
      const attn = await createAttention({ backend: 'cpu', cpu: { threads } });
      const x = attn.tensor(data, [B, H, N, D]);
      await attn.forward(x, x, x, { causal });
      return { threads, attn, x, ms: [] };
    }),
  );
  for (let i = 0; i < Number(process.env.REPS ?? 7); i++)
    for (const r of runs) {
      const t0 = performance.now();
      await r.attn.forward(r.x, r.x, r.x, { causal });
      r.ms.push(performance.now() - t0);
    }
  for (const r of runs) {
    r.ms.sort((a, b) => a - b);
    const med = r.ms[r.ms.length >> 1];
    const flops = 4 * B * H * N * N * D * (causal ? 0.5 : 1);
    console.log(
      `N=${N} causal=${causal} threads=${r.threads}: median ${med.toFixed(0)} ms (min ${r.ms[0].toFixed(0)}), ${(flops / med / 1e6).toFixed(1)} GFLOP/s`,
    );
    r.attn.destroy();
  }
}
