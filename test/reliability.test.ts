/*
 * GPU failure modes become clear, tested outcomes (docs/reliability.md): a lost
 * device rejects pending and later calls instead of hanging and can be replaced;
 * GPU validation errors reject with the kernel's label; buffers are released
 * (GPU memory stays flat over a long loop); concurrent calls from independent
 * callers give the same bits as serial ones.
 */
import { describe, expect, it } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import { WebGpuBackend } from '../src/api/backends.js';
import { alibi, alibiSlopes, slidingWindow } from '../src/mods/builtins.js';
import { stridesOf } from '../src/tensor/shape.js';
import { flashProgram } from '../src/kernels/forward-program.js';
import { AttentionBackendError, AttentionInputError } from '../src/tensor/errors.js';
import { checkAgainstReference, errorOf, randomHost, rng, testSeed } from './helpers.js';
import type { ForwardOptions } from '../src/api/options.js';

type Dims = [number, number, number, number];
const runnerOf = (a: Attention) => (a.impl as WebGpuBackend).runner;

async function forwardRead(attn: Attention, seed: number, dims: Dims, opts: ForwardOptions = {}) {
  const rand = rng(seed);
  const hosts = [randomHost(dims, rand), randomHost(dims, rand), randomHost(dims, rand)];
  const t = hosts.map((h) => attn.tensor(Float32Array.from(h.data), dims));
  const { out, lse } = await attn.forward(t[0]!, t[1]!, t[2]!, { ...opts, returnLse: true });
  const [o, l] = [await out.read(), await lse!.read()];
  [...t, out, lse!].forEach((x) => x.destroy());
  return { o, l, hosts };
}

describe('device loss', () => {
  it('a device destroyed mid-run rejects the pending call (no hang), later calls say so, and recover() brings a working device', async () => {
    const attn = await createAttention({ backend: 'webgpu' });
    const dims: Dims = [1, 4, 512, 64];
    const data = new Float32Array(4 * 512 * 64).fill(0.01);
    const t = [attn.tensor(data, dims), attn.tensor(data, dims), attn.tensor(data, dims)];
    const cache = attn.kvCache({ batch: 1, heads: 4, headDim: 64, capacity: 8 });
    const pending = attn.forward(t[0]!, t[1]!, t[2]!).then((r) => r.out.read());
    attn.device!.destroy();
    const e = await errorOf(() => pending);
    expect(e).toBeInstanceOf(AttentionBackendError);
    expect(e.message).toMatch(/device was lost.*attn\.recover\(\)/);
    expect(await errorOf(() => attn.tensor(data, dims))).toBeInstanceOf(AttentionBackendError);
    expect(await errorOf(() => attn.forward(t[0]!, t[1]!, t[2]!))).toBeInstanceOf(AttentionBackendError);

    await attn.recover();
    // Tensors of the lost device are refused by name; new ones work.
    const old = await errorOf(() => attn.forward(t[0]!, t[1]!, t[2]!));
    expect(old).toBeInstanceOf(AttentionInputError);
    expect(old.message).toContain('q lives on a GPU device that was lost');
    // So is a cache of the lost device (its appends wrote nothing, silently, once).
    const row = new Float32Array(4 * 64);
    const stale = await errorOf(async () => cache.append(row, row));
    expect(stale).toBeInstanceOf(AttentionInputError);
    expect(stale.message).toMatch(/^this cache lives on a GPU device that was lost and replaced \(attn\.recover\(\)\); make a new cache/);
    const seed = testSeed();
    const { o, l, hosts } = await forwardRead(attn, seed, [1, 2, 33, 64], { causal: true });
    expect(checkAgainstReference(o, l, hosts[0]!, hosts[1]!, hosts[2]!, true), `[seed ${seed}]`).toBeUndefined();
    await attn.recover(); // nothing lost: a no-op
    attn.destroy();
  });

  it("a caller's own device, once lost, cannot be replaced by us: recover() says what to do", async () => {
    const own = await createAttention({ backend: 'webgpu' });
    const attn = await createAttention({ backend: { device: own.device! } });
    own.device!.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const e = await errorOf(() => attn.recover());
    expect(e).toBeInstanceOf(AttentionBackendError);
    expect(e.message).toContain('create a new Attention with a new device');
    // and a call says the same, not "call attn.recover()" (which cannot help here)
    const call = await errorOf(async () => attn.tensor(new Float32Array(512), [1, 1, 16, 32]));
    expect(call.message).toMatch(/it is the device passed to createAttention, so make a new device and a new Attention on it/);
    expect(call.message).not.toMatch(/recover\(\)/);
  });
});

describe('GPU errors and resources', () => {
  it('a GPU validation error rejects with the kernel label, not a bare Dawn message', async () => {
    const attn = await createAttention({ backend: 'webgpu' });
    const runner = runnerOf(attn);
    const dims = { batch: 1, heads: 1, seq: 16, headDim: 32 };
    const [q, k, v] = [0, 1, 2].map(() => runner.upload(new Float32Array(16 * 32), 'test input'));
    const o = { layout: 'bhnd' as const, strides: stridesOf(dims, 'bhnd') };
    const call = {
      problem: { batch: 1, headsQ: 1, headsKv: 1, seqQ: 16, seqK: 16, headDim: 32 },
      q: o,
      k: o,
      v: o,
      dtype: 'f32' as const,
      scale: 1,
      causal: false,
      algorithm: 'flash' as const,
    };
    const plan = await runner.prepare(flashProgram(call, runner.caps), { q: q!, k: k!, v: v! });
    k!.destroy(); // submitting work that binds a destroyed buffer is a validation error
    const e = await errorOf(() => runner.run(plan));
    expect(e).toBeInstanceOf(AttentionBackendError);
    expect(e.message).toMatch(/validation error in attention\.forward/);
    attn.destroy();
  });

  it('a long loop of forward and backward calls keeps GPU memory flat (every buffer released)', async () => {
    const attn = await createAttention({ backend: 'webgpu' });
    const runner = runnerOf(attn);
    const dims: Dims = [1, 2, 40, 32];
    const data = Float32Array.from({ length: 2 * 40 * 32 }, (_, i) => Math.sin(i));
    const once = async () => {
      const [q, k, v, dOut] = [0, 1, 2, 3].map(() => attn.tensor(data, dims));
      const opts = { causal: true, score: alibi(alibiSlopes(2)), mask: slidingWindow(16) };
      const { out, lse } = await attn.forward(q!, k!, v!, { ...opts, returnLse: true });
      await out.read();
      const g = await attn.backward(dOut!, { q: q!, k: k!, v: v!, out, lse }, opts);
      await g.dq.read();
      [q, k, v, dOut, out, lse, g.dq, g.dk, g.dv].forEach((x) => x!.destroy());
    };
    for (let i = 0; i < 3; i++) await once(); // pools and caches warm up
    const warm = runner.buffers.liveBytes;
    for (let i = 0; i < 40; i++) await once();
    expect(runner.buffers.liveBytes).toBe(warm);
    attn.destroy();
  });
});

describe('concurrency', () => {
  it('many forward calls in flight at once give the same bits as the same calls one by one', async () => {
    const attn = await createAttention({ backend: 'webgpu' });
    const seed = testSeed();
    const calls: [number, Dims, ForwardOptions][] = Array.from({ length: 12 }, (_, i) => [
      seed + i,
      [1 + (i % 2), 2, 17 + 9 * i, 32] as Dims,
      [{}, { causal: true }, { mask: slidingWindow(7) }, { score: alibi(alibiSlopes(2)) }][i % 4]!,
    ]);
    const serial: Awaited<ReturnType<typeof forwardRead>>[] = [];
    for (const [s, d, o] of calls) serial.push(await forwardRead(attn, s, d, o));
    const parallel = await Promise.all(calls.map(([s, d, o]) => forwardRead(attn, s, d, o)));
    parallel.forEach((p, i) => {
      expect(Buffer.from(p.o.buffer).equals(Buffer.from(serial[i]!.o.buffer)), `call ${i} [seed ${seed}]`).toBe(true);
      expect(Buffer.from(p.l.buffer).equals(Buffer.from(serial[i]!.l.buffer)), `call ${i} LSE`).toBe(true);
    });
    attn.destroy();
  });
});

describe('adapters that lie', () => {
  it("Dawn's null backend (returns garbage) is caught by the self-test at creation: refused for 'webgpu', CPU fallback for 'auto'", async () => {
    const e = await errorOf(() => createAttention({ backend: 'webgpu', dawnFlags: ['backend=null'] }));
    expect(e).toBeInstanceOf(AttentionBackendError);
    expect(e.message).toMatch(/failed the self-test: element \d+ is .*, expected/);
    const auto = await createAttention({ backend: 'auto', dawnFlags: ['backend=null'] });
    expect(auto.backend).toBe('cpu');
    expect(auto.fallbackReason).toContain('self-test');
    // A real adapter passes (and a later plain call is not served by the null instance).
    expect((await createAttention({ backend: 'webgpu' })).backend).toBe('webgpu');
  });
});

describe('limits: calls too large to bind at once are split', () => {
  it('by batch, head group, head, then Q rows, with the same bits as unsplit (layouts, GQA, causal, masks); a clear error when the keys of one head cannot fit', async () => {
    const whole = await createAttention({ backend: 'webgpu' });
    const seed = testSeed();
    const rand = rng(seed);
    // q is 2 × 4 × 70 × 32 floats = 71,680 bytes: 40 KiB forces one batch per dispatch; 20 KiB one K/V head
    // group (2 query heads) per dispatch, which only 'bhnd' can bind alone ('bnhd' interleaves the heads).
    for (const [limit, layouts] of [
      [40 * 1024, ['bhnd', 'bnhd']],
      [20 * 1024, ['bhnd']],
    ] as const) {
      const split = await createAttention({ backend: 'webgpu', maxBindingBytes: limit });
      for (const layout of layouts) {
        for (const opts of [{ causal: true }, { mask: slidingWindow(9) }] as ForwardOptions[]) {
          const q = Float32Array.from({ length: 2 * 4 * 70 * 32 }, () => rand() * 2 - 1);
          const kv = () => Float32Array.from({ length: 2 * 2 * 70 * 32 }, () => rand() * 2 - 1);
          const [k, v] = [kv(), kv()];
          const run = async (attn: Attention) => {
            const t = [attn.tensor(q, [2, 4, 70, 32], { layout }), attn.tensor(k, [2, 2, 70, 32], { layout }), attn.tensor(v, [2, 2, 70, 32], { layout })];
            const { out, lse } = await attn.forward(t[0]!, t[1]!, t[2]!, { ...opts, returnLse: true });
            const r = [await out.read(), await lse!.read()];
            [...t, out, lse!].forEach((x) => x.destroy());
            return r;
          };
          const [a, b] = [await run(whole), await run(split)];
          const what = `limit ${limit}, ${layout}, ${JSON.stringify(opts)} [seed ${seed}]`;
          expect(Buffer.from(b[0]!.buffer).equals(Buffer.from(a[0]!.buffer)), `O ${what}`).toBe(true);
          expect(Buffer.from(b[1]!.buffer).equals(Buffer.from(a[1]!.buffer)), `LSE ${what}`).toBe(true);
        }
      }
      split.destroy();
    }
    // Then single query heads, then runs of Q tiles: Nq = 200 rows of 128 bytes per head against 40 keys.
    const rows = await createAttention({ backend: 'webgpu', maxBindingBytes: 10 * 1024 });
    for (const opts of [{ causal: true }, { mask: slidingWindow(9) }, {}] as ForwardOptions[]) {
      const q = Float32Array.from({ length: 2 * 200 * 32 }, () => rand() * 2 - 1);
      const k = Float32Array.from({ length: 40 * 32 }, () => rand() * 2 - 1);
      const v = Float32Array.from({ length: 40 * 32 }, () => rand() * 2 - 1);
      const run = async (attn: Attention) => {
        const t = [attn.tensor(q, [1, 2, 200, 32]), attn.tensor(k, [1, 1, 40, 32]), attn.tensor(v, [1, 1, 40, 32])];
        const { out, lse } = await attn.forward(t[0]!, t[1]!, t[2]!, { ...opts, returnLse: true });
        const r = [await out.read(), await lse!.read()];
        [...t, out, lse!].forEach((x) => x.destroy());
        return r;
      };
      const [a, b] = [await run(whole), await run(rows)];
      expect(Buffer.from(b[0]!.buffer).equals(Buffer.from(a[0]!.buffer)), `O rows ${JSON.stringify(opts)} [seed ${seed}]`).toBe(true);
      expect(Buffer.from(b[1]!.buffer).equals(Buffer.from(a[1]!.buffer)), `LSE rows ${JSON.stringify(opts)}`).toBe(true);
    }
    rows.destroy();
    const tiny = await createAttention({ backend: 'webgpu', maxBindingBytes: 4096 });
    const t = (h: number) => tiny.tensor(new Float32Array(h * 70 * 32), [1, h, 70, 32]);
    const e = await errorOf(() => tiny.forward(t(2), t(1), t(1)));
    expect(e.name).toBe('AttentionLimitError');
    expect(e.message).toMatch(/one Q tile of one head still binds \d+ bytes at once .* its keys alone exceed the 4096 bytes/);
    whole.destroy();
  });
});
