// TEMPORARY scratch: smallest failing cases (to be deleted)
import { it } from 'vitest';
import { createAttention } from '../src/api/attention.js';
import type { VerifyCase } from '../src/api/verify.js';
import { runMode, type VerifyMode } from '../src/api/verify-backward.js';

const base: VerifyCase = { name: 'min', batch: 1, headsQ: 1, headsKv: 1, seqQ: 1, seqK: 1, headDim: 32, causal: false, layout: 'bhnd', amplitude: 1 };

async function search(backend: 'cpu' | 'webgpu', variant: string, mode: VerifyMode, amps: number[], sizes: [number, number][], seeds: number) {
  const attn = await createAttention({ backend, poisonOutputs: true });
  let tried = 0;
  for (const [seqQ, seqK] of sizes) for (const amplitude of amps) {
    let fails = 0; let first = '';
    for (let seed = 0; seed < seeds; seed++) {
      const c = { ...base, seqQ, seqK, amplitude, variant, name: `B=1,Hq=1,Hkv=1,Nq=${seqQ},Nk=${seqK},D=32,bhnd,variant=${variant},amplitude=${amplitude}` };
      const r = await runMode(attn, c, mode, seed); tried++;
      if (!r.ok) { fails++; if (!first) first = `seed=${seed} ${JSON.stringify(c)} :: ${r.message}`; }
    }
    if (fails) { console.log(`MIN ${backend} ${mode} Nq=${seqQ} Nk=${seqK} amp=${amplitude}: ${fails}/${seeds} fail; first ${first}`); attn.destroy(); return; }
  }
  console.log(`MIN ${backend} ${mode} ${variant}: none failed in ${tried}`);
  attn.destroy();
}

const grid = (ns: number[]) => ns.flatMap((a) => ns.map((b) => [a, b] as [number, number])).sort((x, y) => x[0] * x[1] - y[0] * y[1] || x[0] - y[0]);

it('min', async () => {
  const which = process.env.MIN ?? 'tables';
  if (which === 'tables') {
    for (const backend of ['cpu', 'webgpu'] as const) await search(backend, 'alibi', 'backward', [10, 40, 170], grid([1, 2, 3, 4, 8, 16, 32, 64]), 10);
  } else {
    const sizes: [number, number][] = [1, 2, 4, 8, 16, 32, 64, 128, 192, 256, 300].flatMap((q) => [1, 2, 4].map((k) => [q, k] as [number, number]));
    await search('webgpu', 'alibi', 'flash', [1], sizes, 20);
    await search('cpu', 'alibi', 'flash', [1], sizes, 20);
  }
}, 3_600_000);
