/*
 * The CPU forward on worker threads (src/cpu/parallel-forward.ts, pool.ts): results
 * bit-identical to the inline call (a control case, then causal, GQA, a score and a
 * mask modifier, sinks, the bnhd layout, few heads split into query tiles, and the
 * copying path without SharedArrayBuffer), and the backward's gradients the same way; the event loop keeps ticking during a long
 * call; destroy() — or no destroy at all — lets the Node process exit.
 *
 * Tests run from the TypeScript sources, so the worker entry is bundled here with
 * esbuild and the pool pointed at it (WEBGPU_ATTENTION_CPU_WORKER).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAttention } from '../src/api/attention.js';
import type { ForwardOptions } from '../src/api/options.js';
import { randomData, rng } from '../src/harness/random.js';
import { alibi, alibiSlopes, learnedSinks, slidingWindow } from '../src/mods/builtins.js';

const root = fileURLToPath(new URL('..', import.meta.url));
let scratch = '';

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'cpu-workers-'));
  const worker = join(scratch, 'cpu-worker.mjs');
  await build({ entryPoints: [join(root, 'src/cpu/cpu-worker.ts')], bundle: true, platform: 'node', format: 'esm', outfile: worker, logLevel: 'error' });
  process.env.WEBGPU_ATTENTION_CPU_WORKER = worker;
});

afterAll(() => {
  delete process.env.WEBGPU_ATTENTION_CPU_WORKER;
  rmSync(scratch, { recursive: true, force: true });
});

interface Case {
  readonly b?: number;
  readonly hq?: number;
  readonly hkv?: number;
  readonly n?: number;
  readonly d?: number;
  readonly layout?: 'bhnd' | 'bnhd';
  readonly opts?: ForwardOptions;
  readonly wasm?: boolean;
  /** Backward only. */
  readonly tableGrads?: boolean;
}

/** O and LSE of one call, run with `threads` workers (1: inline). */
async function run(c: Case, threads: number) {
  const { b = 1, hq = 4, hkv = hq, n = 256, d = 32, layout = 'bhnd' } = c;
  const attn = await createAttention({ backend: 'cpu', poisonOutputs: true, cpu: { threads, wasm: c.wasm } });
  try {
    const rand = rng(17);
    const dims = (h: number) => [b, h, n, d];
    const q = attn.tensor(randomData(b * hq * n * d, rand), dims(hq), { layout });
    const k = attn.tensor(randomData(b * hkv * n * d, rand), dims(hkv), { layout });
    const v = attn.tensor(randomData(b * hkv * n * d, rand), dims(hkv), { layout });
    const r = await attn.forward(q, k, v, { ...c.opts, returnLse: true });
    return { out: await r.out.read(), lse: await r.lse!.read() };
  } finally {
    attn.destroy();
  }
}

/** Bitwise equality of two Float32Arrays (NaN patterns included), naming the first difference. */
function expectBitwise(got: Float32Array, want: Float32Array, what: string) {
  const [g, w] = [new Uint32Array(got.buffer, got.byteOffset, got.length), new Uint32Array(want.buffer, want.byteOffset, want.length)];
  expect(g.length, what).toBe(w.length);
  const i = g.findIndex((x, j) => x !== w[j]);
  expect(i, `${what}: first difference at ${i}: ${got[i]} vs ${want[i]}`).toBe(-1);
}

const CASES: Record<string, Case> = {
  control: {},
  causal: { opts: { causal: true } },
  gqa: { hq: 8, hkv: 2, opts: { causal: true } },
  'score modifier (ALiBi)': { opts: { score: alibi(alibiSlopes(4)) } },
  'mask modifier (sliding window)': { opts: { mask: slidingWindow(48, { causal: true }) } },
  'learned sinks': { opts: { sinks: learnedSinks([0.5, -1, 2, 0]) } },
  'bnhd layout, batch 2': { b: 2, hq: 2, layout: 'bnhd' },
  'one head (query tiles), causal, odd N': { hq: 1, n: 1000, opts: { causal: true } },
  'JS kernel': { wasm: false, hq: 2, opts: { causal: true } },
};

describe('CPU workers: bit-identical to the inline forward', () => {
  for (const [name, c] of Object.entries(CASES)) {
    it(name, async () => {
      const [inline, workers] = [await run(c, 1), await run(c, 2)];
      expectBitwise(workers.out, inline.out, 'O');
      expectBitwise(workers.lse, inline.lse, 'LSE');
    });
  }

  it('copying fallback (no SharedArrayBuffer)', async () => {
    const c: Case = { hq: 3, opts: { causal: true } };
    const inline = await run(c, 1);
    vi.stubGlobal('SharedArrayBuffer', undefined);
    try {
      const workers = await run(c, 2);
      expectBitwise(workers.out, inline.out, 'O');
      expectBitwise(workers.lse, inline.lse, 'LSE');
    } finally {
      vi.unstubAllGlobals();
    }
  });
});

/** dQ, dK, dV (and dsinks) of one backward, run with `threads` workers (1: inline). */
async function runBackward(c: Case, threads: number) {
  const { b = 1, hq = 4, hkv = hq, n = 192, d = 32, layout = 'bhnd' } = c;
  const attn = await createAttention({ backend: 'cpu', poisonOutputs: true, cpu: { threads } });
  try {
    const rand = rng(29);
    const t = (h: number) => attn.tensor(randomData(b * h * n * d, rand), [b, h, n, d], { layout });
    const [q, k, v, dOut] = [t(hq), t(hkv), t(hkv), t(hq)];
    const opts = { ...c.opts, returnLse: true } as const;
    const f = await attn.forward(q, k, v, opts);
    const g = await attn.backward(dOut, { q, k, v, out: f.out, lse: f.lse! }, { ...opts, tableGrads: c.tableGrads });
    return { dq: await g.dq.read(), dk: await g.dk.read(), dv: await g.dv.read(), dsinks: g.dsinks };
  } finally {
    attn.destroy();
  }
}

const BACKWARD_CASES: Record<string, Case> = {
  control: {},
  'causal GQA': { hq: 8, hkv: 2, opts: { causal: true } },
  'score modifier (ALiBi, frozen slopes)': { opts: { score: alibi(alibiSlopes(4)) }, tableGrads: false },
  // No modifier: the wasm backward on the workers and inline.
  'sinks, causal, bnhd, batch 2, gqa 2:1': { b: 2, hkv: 2, layout: 'bnhd', opts: { causal: true, sinks: learnedSinks([0.5, -1, 2, 0]) } },
  'mask modifier and sinks, bnhd, batch 2': { b: 2, layout: 'bnhd', opts: { mask: slidingWindow(40, { causal: true }), sinks: learnedSinks([0.5, -1, 2, 0]) } },
};

describe('CPU workers: bit-identical to the inline backward', () => {
  for (const [name, c] of Object.entries(BACKWARD_CASES)) {
    it(name, async () => {
      const [inline, workers] = [await runBackward(c, 1), await runBackward(c, 2)];
      for (const key of ['dq', 'dk', 'dv'] as const) expectBitwise(workers[key], inline[key], key);
      if (inline.dsinks) expectBitwise(new Float32Array(workers.dsinks!), new Float32Array(inline.dsinks), 'dsinks');
    });
  }
});

describe('CPU workers: the calling thread stays free', () => {
  /** setTimeout(0) ticks the event loop gets while one forward of N=1024 runs. */
  async function ticksDuring(threads: number): Promise<number> {
    const attn = await createAttention({ backend: 'cpu', cpu: { threads } });
    try {
      const [B, H, N, D] = [1, 8, 1024, 64];
      const x = attn.tensor(randomData(B * H * N * D, rng(3)), [B, H, N, D]);
      await attn.forward(x, x, x, { causal: true }); // starts the workers
      let ticks = 0;
      let running = true;
      const tick = () => {
        ticks++;
        if (running) setTimeout(tick, 0);
      };
      setTimeout(tick, 0);
      await attn.forward(x, x, x);
      running = false;
      return ticks;
    } finally {
      attn.destroy();
    }
  }

  it('the event loop ticks during a long forward with workers, not inline', async () => {
    const inline = await ticksDuring(1);
    const workers = await ticksDuring(2);
    expect(inline).toBeLessThanOrEqual(2);
    expect(workers).toBeGreaterThan(20);
  });
});

describe('CPU workers: the process exits', () => {
  // With destroy(): a second, long call is in flight when destroy() comes; it must fail
  // (its workers were terminated, not left to finish) and the process must still exit.
  const script = (destroy: boolean) => `
    import { createAttention } from ${JSON.stringify(join(root, 'src/index.ts'))};
    const attn = await createAttention({ backend: 'cpu', cpu: { threads: 2 } });
    const x = attn.tensor(new Float32Array(4 * 256 * 32).fill(0.25), [1, 4, 256, 32]);
    const { out } = await attn.forward(x, x, x);
    console.log('done', (await out.read())[0]);
    ${
      destroy
        ? `const big = attn.tensor(new Float32Array(8 * 2048 * 64).fill(0.5), [1, 8, 2048, 64]);
           const pending = attn.forward(big, big, big).then(() => 'finished', (e) => 'aborted: ' + e.message);
           setTimeout(() => attn.destroy(), 20);
           console.log(await pending);`
        : ''
    }
  `;

  for (const destroy of [true, false]) {
    it(destroy ? 'after destroy()' : 'without destroy() (idle workers do not hold it)', async () => {
      const entry = join(scratch, `exit-${destroy}.mjs`);
      writeFileSync(join(scratch, `exit-${destroy}.ts`), script(destroy));
      await build({
        entryPoints: [join(scratch, `exit-${destroy}.ts`)],
        bundle: true,
        platform: 'node',
        format: 'esm',
        outfile: entry,
        logLevel: 'error',
        external: ['webgpu'],
      });
      const r = spawnSync(process.execPath, [entry], { encoding: 'utf8', timeout: 30_000, env: { ...process.env } });
      expect(r.signal, `killed: the process did not exit\n${r.stderr}`).toBeNull();
      expect(r.status, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toBe('done 0.25');
      if (destroy) expect(lines[1]).toMatch(/^aborted: this Attention was destroyed \(attn\.destroy\(\)\); this call was still under way/);
    });
  }
});
