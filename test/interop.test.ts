/*
 * Inside a real model: Q, K, V as GPUBuffers a caller made on its own device,
 * wrapped without copies; forward and backward write into the caller's buffers
 * with no host round trip (no tensor-sized writeBuffer, no mapAsync), and agree
 * with the float64 reference and, bit for bit, with the same call on uploaded
 * tensors. Then every way a wrapped buffer can be wrong, each refused before
 * any GPU work, and a default-limits device refused by the limit's name.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttention, type Attention } from '../src/api/attention.js';
import { backwardNow, forwardNow } from '../src/api/immediate.js';
import type { AttentionTensor } from '../src/api/tensor.js';
import { alibi, alibiSlopes } from '../src/mods/builtins.js';
import { referenceBackward } from '../src/reference/backward.js';
import { getGpu, requiredFeatures, requiredLimits } from '../src/runtime/device.js';
import { AttentionInputError, AttentionLimitError } from '../src/tensor/errors.js';
import { checkAgainstReference, errorOf, maxErr, randomHost, rng, testSeed } from './helpers.js';

const USAGE = 0x80 | 0x08 | 0x04; // STORAGE | COPY_DST | COPY_SRC

let adapter: GPUAdapter;
let device: GPUDevice;
let attn: Attention;

beforeAll(async () => {
  adapter = (await (await getGpu())!.requestAdapter())!;
  device = await adapter.requestDevice({ requiredLimits: requiredLimits(adapter), requiredFeatures: requiredFeatures(adapter) });
  attn = await createAttention({ backend: { device } });
});
afterAll(() => {
  attn?.destroy();
  device?.destroy();
});

/** A second device with WebGPU's default limits (an adapter makes one device only). */
async function freshDevice(): Promise<GPUDevice> {
  return (await (await getGpu())!.requestAdapter())!.requestDevice();
}

/** A caller's buffer of `bytes` holding `data` at `offset` (written before anything is counted). */
function callerBuffer(bytes: number, data?: Float32Array, offset = 0, usage = USAGE): GPUBuffer {
  const b = device.createBuffer({ label: 'caller buffer', size: bytes, usage });
  if (data) device.queue.writeBuffer(b, offset, data as Float32Array<ArrayBuffer>);
  return b;
}

/** Reads `count` floats at `offset` of a caller's buffer the caller's way. */
async function readBuffer(b: GPUBuffer, count: number, offset = 0): Promise<Float32Array> {
  const staging = device.createBuffer({ size: count * 4, usage: 0x01 | 0x08 });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(b, offset, staging, 0, count * 4);
  device.queue.submit([enc.finish()]);
  await staging.mapAsync(0x0001);
  const out = new Float32Array(staging.getMappedRange().slice(0));
  staging.destroy();
  return out;
}

/** Counts tensor-sized uploads and every read-back while `fn` runs. */
async function countHostTraffic(fn: () => Promise<void>, minBytes: number): Promise<{ uploads: number; mapAsyncs: number }> {
  const queue = device.queue;
  const write = queue.writeBuffer.bind(queue);
  const proto = Object.getPrototypeOf(device.createBuffer({ size: 16, usage: 0x08 })) as GPUBuffer;
  const mapAsync = proto.mapAsync;
  let uploads = 0;
  let mapAsyncs = 0;
  queue.writeBuffer = ((...args: Parameters<GPUQueue['writeBuffer']>) => {
    const [, , data, , size] = args;
    const bytes = size ?? (data as ArrayBufferView).byteLength ?? (data as ArrayBuffer).byteLength;
    if ((bytes as number) >= minBytes) uploads++;
    return write(...args);
  }) as GPUQueue['writeBuffer'];
  proto.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
    mapAsyncs++;
    return mapAsync.apply(this, args);
  };
  try {
    await fn();
    await device.queue.onSubmittedWorkDone();
  } finally {
    queue.writeBuffer = write;
    proto.mapAsync = mapAsync;
  }
  return { uploads, mapAsyncs };
}

describe("GPU tensors on the caller's device", () => {
  it("forward and backward on wrapped buffers: no host round trip, results in the caller's buffers, equal to the reference and to uploaded tensors", async () => {
    const seed = testSeed();
    const rand = rng(seed);
    const [B, H, Hkv, N, D] = [1, 4, 2, 40, 32];
    const [hq, hk, hv, hdo] = [
      randomHost([B, H, N, D], rand),
      randomHost([B, Hkv, N, D], rand),
      randomHost([B, Hkv, N, D], rand),
      randomHost([B, H, N, D], rand),
    ];
    const qBytes = B * H * N * D * 4;
    const kvBytes = B * Hkv * N * D * 4;
    // K and V share one buffer, V at an aligned offset; the outputs go into one more.
    const align = device.limits.minStorageBufferOffsetAlignment;
    const vOffset = Math.ceil(kvBytes / align) * align;
    const qBuf = callerBuffer(qBytes, hq.data as Float32Array);
    const kvBuf = callerBuffer(vOffset + kvBytes, hk.data as Float32Array);
    device.queue.writeBuffer(kvBuf, vOffset, hv.data as Float32Array<ArrayBuffer>);
    const doBuf = callerBuffer(qBytes, hdo.data as Float32Array);
    const outBuf = callerBuffer(qBytes);
    const gradBuf = callerBuffer(3 * vOffset + qBytes);
    const dims = (h: number) => [B, h, N, D];
    const q = attn.tensor(qBuf, dims(H));
    const k = attn.tensor(kvBuf, dims(Hkv));
    const v = attn.tensor(kvBuf, dims(Hkv), { byteOffset: vOffset });
    const dOut = attn.tensor(doBuf, dims(H));
    const into = { out: attn.tensor(outBuf, dims(H)) };
    const grads = {
      dq: attn.tensor(gradBuf, dims(H)),
      dk: attn.tensor(gradBuf, dims(Hkv), { byteOffset: 2 * vOffset }),
      dv: attn.tensor(gradBuf, dims(Hkv), { byteOffset: 3 * vOffset }),
    };
    expect(q.wrapsCallerBuffer && v.gpuBuffer).toEqual({ buffer: kvBuf, byteOffset: vOffset, byteLength: kvBytes });
    const opts = { causal: true, score: alibi(alibiSlopes(H)) };

    let fwd!: { out: AttentionTensor; lse?: AttentionTensor };
    let bwd!: { dq: AttentionTensor; dk: AttentionTensor; dv: AttentionTensor };
    const traffic = await countHostTraffic(async () => {
      fwd = await attn.forward(q, k, v, { ...opts, returnLse: true, into });
      bwd = await attn.backward(dOut, { q, k, v, out: fwd.out, lse: fwd.lse }, { ...opts, tableGrads: false, into: grads });
    }, kvBytes);
    expect(traffic).toEqual({ uploads: 0, mapAsyncs: 0 });
    expect(fwd.out).toBe(into.out);
    expect(bwd.dq).toBe(grads.dq);

    // The caller reads its own buffers.
    const o = await readBuffer(outBuf, qBytes / 4);
    const lse = await fwd.lse!.read();
    const problem = checkAgainstReferenceWithAlibi(o, lse, hq, hk, hv, H);
    expect(problem, `[seed ${seed}]`).toBeUndefined();
    const ref = referenceBackward(hq, hk, hv, hdo, { causal: true, score: alibiFn(H), scoreGrad: (s) => 1 + 0 * s });
    for (const [name, got, want] of [
      ['dQ', await readBuffer(gradBuf, qBytes / 4), ref.dq],
      ['dK', await readBuffer(gradBuf, kvBytes / 4, 2 * vOffset), ref.dk],
      ['dV', await readBuffer(gradBuf, kvBytes / 4, 3 * vOffset), ref.dv],
    ] as const) {
      const scale = maxErr(new Float64Array(want.length), want).err;
      expect(maxErr(got, want).err, `${name} [seed ${seed}]`).toBeLessThan(1e-4 * scale + 1e-6);
    }

    // The same call on uploaded tensors gives the same bits.
    const up = [hq, hk, hv, hdo].map((h) => attn.tensor(h.data as Float32Array, [h.shape.batch, h.shape.heads, h.shape.seq, h.shape.headDim]));
    const f2 = await attn.forward(up[0]!, up[1]!, up[2]!, { ...opts, returnLse: true });
    const g2 = await attn.backward(up[3]!, { q: up[0]!, k: up[1]!, v: up[2]!, out: f2.out, lse: f2.lse }, { ...opts, tableGrads: false });
    expect(Buffer.from((await f2.out.read()).buffer).equals(Buffer.from(o.buffer))).toBe(true);
    expect(Buffer.from((await g2.dk.read()).buffer).equals(Buffer.from((await bwd.dk.read()).buffer))).toBe(true);

    // Destroying a wrapped tensor leaves the caller's buffer usable.
    [q, k, v, dOut, into.out, ...Object.values(grads)].forEach((t) => t.destroy());
    expect((await readBuffer(qBuf, 4))[0]).toBe(hq.data[0]);
    [qBuf, kvBuf, doBuf, outBuf, gradBuf].forEach((b) => b.destroy());
  });

  it('a buffer from another device, without STORAGE usage, too small, or at an unaligned offset is refused before any GPU work', async () => {
    const other = await freshDevice();
    const dims = [1, 1, 16, 32];
    const bytes = 16 * 32 * 4;
    const good = [0, 1].map(() => attn.tensor(callerBuffer(bytes), dims));
    const foreign = attn.tensor(other.createBuffer({ size: bytes, usage: USAGE }), dims);
    const e1 = await errorOf(() => attn.forward(foreign, good[0]!, good[1]!));
    expect(e1).toBeInstanceOf(AttentionInputError);
    expect(e1.message).toMatch(/q: the GPUBuffer cannot be used on this Attention's device \(it was made on another GPUDevice\)/);
    const intoForeign = attn.tensor(other.createBuffer({ size: bytes, usage: USAGE }), dims);
    const e4 = await errorOf(() => attn.forward(good[0]!, good[0]!, good[1]!, { into: { out: intoForeign } }));
    expect(e4).toBeInstanceOf(AttentionInputError);
    expect(e4.message).toMatch(/^into\.out: the GPUBuffer cannot be used/);
    expect(e4.message).not.toMatch(/\n|BindGroup|buffer check/);
    other.destroy();

    // A caller's buffer destroyed before the call submits its work: the caller's doing, said so.
    const doomedBuf = callerBuffer(bytes);
    const doomed = attn.tensor(doomedBuf, dims);
    doomedBuf.destroy();
    const e5 = await errorOf(() => attn.forward(doomed, good[0]!, good[1]!));
    expect(e5).toBeInstanceOf(AttentionInputError);
    expect(e5.message).toMatch(
      /^a GPUBuffer "caller buffer" that the call reads or writes was destroyed before the call submitted its work \(its GPU work: attention\./,
    );
    expect((await attn.forward(good[0]!, good[0]!, good[1]!)).out).toBeDefined(); // the Attention stays usable

    const noStorage = device.createBuffer({ size: bytes, usage: 0x08 | 0x04 });
    expect(() => attn.tensor(noStorage, dims)).toThrow(/lacks STORAGE usage/);
    // Without COPY_SRC a buffer still binds, but read() and a cache's append cannot copy it out:
    // once they came back as zeros, silently.
    const noCopySrc = attn.tensor(device.createBuffer({ size: bytes, usage: 0x80 | 0x08 }), dims);
    expect((await errorOf(() => noCopySrc.read())).message).toMatch(/read\(\): the tensor's GPUBuffer lacks COPY_SRC usage/);
    const cache = attn.kvCache({ batch: 1, heads: 1, headDim: 32, capacity: 32 });
    const eAppend = await errorOf(async () => cache.append(noCopySrc, good[1]!));
    expect(eAppend).toBeInstanceOf(AttentionInputError);
    expect(eAppend.message).toMatch(/^k: its GPUBuffer lacks COPY_SRC usage/);
    expect(cache.lengths).toEqual([0]); // nothing appended
    cache.destroy();
    expect(() => attn.tensor(callerBuffer(bytes - 4), dims)).toThrow(/has 2044 bytes, but the tensor needs 2048 bytes/);
    expect(() => attn.tensor(callerBuffer(2 * bytes), dims, { byteOffset: 4 })).toThrow(/byteOffset must be a multiple of/);
    expect(() => attn.tensor(callerBuffer(bytes), dims, { byteOffset: -256 })).toThrow(AttentionInputError);
    const cpu = await createAttention({ backend: 'cpu' });
    expect(() => cpu.tensor(callerBuffer(bytes), dims)).toThrow(/can only be wrapped by a WebGPU Attention/);
    expect(() => cpu.tensor(new Float32Array(16 * 32), dims, { byteOffset: 0 })).toThrow(/byteOffset applies to a GPUBuffer/);
    const e2 = await errorOf(() => attn.forward(good[0]!, good[0]!, good[1]!, { into: { out: good[0]! } }));
    expect(e2.message).toMatch(/into.out shares memory with q/);
    const e3 = await errorOf(() => attn.forward(good[0]!, good[0]!, good[1]!, { into: { out: attn.tensor(callerBuffer(2 * bytes), [1, 2, 16, 32]) } }));
    expect(e3.message).toMatch(/into.out must have shape \[1, 1, 16, 32\]/);
  });

  it("a cache's append of a buffer destroyed or of another device writes nothing and says so: decode rejects, later calls throw until reset()", async () => {
    // The append's device copy is validated on the device after append() returns; once, the
    // lengths grew, nothing was written and the next decode returned zeros, silently.
    const [H, n, D] = [2, 4, 32];
    const rand = rng(testSeed());
    const host = (count: number) => Float32Array.from({ length: count }, () => rand() * 2 - 1);
    const [kd, vd] = [host(H * n * D), host(H * n * D)];
    const q = attn.tensor(host(H * D), [1, H, 1, D]);
    const dims = [1, H, n, D];
    const want = await (await attn.forward(q, attn.tensor(kd, dims), attn.tensor(vd, dims))).out.read();
    const other = await freshDevice();
    const caches = {
      contiguous: () => attn.kvCache({ batch: 1, heads: H, headDim: D }),
      paged: () => attn.pagedKVCache({ batch: 1, heads: H, headDim: D, pageSize: 2, numPages: 8 }),
      streaming: () => attn.kvCache({ batch: 1, heads: H, headDim: D, streaming: { sinks: 1, window: 8 } }),
    };
    for (const [kind, make] of Object.entries(caches)) {
      for (const bad of ['destroyed', 'another device'] as const) {
        const cache = make();
        const buf = bad === 'destroyed' ? callerBuffer(kd.byteLength, kd) : other.createBuffer({ size: kd.byteLength, usage: USAGE });
        if (bad === 'destroyed') buf.destroy();
        cache.append(attn.tensor(buf, dims), vd); // no throw: the device has not seen the copy yet
        const e = await errorOf(() => attn.decode(q, cache));
        expect(e, `${kind}, ${bad}`).toBeInstanceOf(AttentionInputError);
        const why = bad === 'destroyed' ? 'its GPUBuffer was destroyed before the copy ran' : 'its GPUBuffer was made on another GPUDevice';
        expect(e.message, `${kind}, ${bad}`).toContain(`an append into this KV cache wrote nothing: copying k into it failed on the GPU (${why})`);
        expect(() => cache.append(kd, vd), `${kind}, ${bad}`).toThrow(
          /reset\(\) the whole cache \(a paged one: its own reset\(\), not a selection.s\) or make a new one/,
        );
        cache.reset();
        cache.append(kd, vd);
        const { out } = await attn.decode(q, cache);
        expect(maxErr(await out.read(), want).err, `${kind}, ${bad}`).toBeLessThan(1e-6);
        cache.destroy();
      }
    }
    other.destroy();
    // A decode answers for the appends before it: a bad one made while it is pending is the next decode's to report.
    const cache = caches.contiguous();
    cache.append(kd, vd);
    const pending = attn.decode(q, cache);
    const doomed = callerBuffer(kd.byteLength, kd);
    doomed.destroy();
    cache.append(attn.tensor(doomed, dims), vd);
    expect(maxErr(await (await pending).out.read(), want).err).toBeLessThan(1e-6);
    expect((await errorOf(() => attn.decode(q, cache))).message).toMatch(/wrote nothing: copying k into it failed on the GPU \(its GPUBuffer was destroyed/);
    cache.destroy();
  });

  it('results must not go where an input or another output lies: the same tensor, or overlapping ranges of one buffer', async () => {
    const rand = rng(testSeed());
    const dims = [1, 2, 16, 32];
    const bytes = 2 * 16 * 32 * 4; // 4096: a multiple of the 256-byte offset alignment
    const [hq, hk, hv] = [0, 1, 2].map(() => randomHost(dims as [number, number, number, number], rand));
    const [q, k] = [hq!, hk!].map((h) => attn.tensor(h.data as Float32Array, dims));
    // V and the output in one caller's buffer: overlapping (V at 0, O at 256) and side by side (O at 4096).
    const shared = callerBuffer(2 * bytes, Float32Array.from(hv!.data));
    const v = attn.tensor(shared, dims);
    const overlapping = attn.tensor(shared, dims, { byteOffset: 256 });
    const beside = attn.tensor(shared, dims, { byteOffset: bytes });
    for (const [out, other] of [
      [v, 'v'],
      [overlapping, 'v'],
      [k, 'k'],
    ] as const) {
      const e = await errorOf(() => attn.forward(q!, k!, v, { into: { out } }));
      expect(e).toBeInstanceOf(AttentionInputError);
      expect(e.message).toMatch(new RegExp(`into.out shares memory with ${other}`));
    }
    // Nq = 1 takes the decode kernel: refused there too, before any GPU work.
    const q1 = attn.tensor(hq!.data.slice(0, 64) as unknown as Float32Array, [1, 2, 1, 32]);
    const e1 = await errorOf(() => attn.forward(q1, k!, v, { into: { out: attn.tensor(shared, [1, 2, 1, 32], { byteOffset: 512 }) } }));
    expect(e1.message).toMatch(/into.out shares memory with v/);
    const { out, lse } = await attn.forward(q!, k!, v, { into: { out: beside }, returnLse: true });
    expect(out).toBe(beside);
    expect(checkAgainstReference(await out.read(), await lse!.read(), hq!, hk!, hv!, false)).toBeUndefined();
    // Backward: two gradients into one tensor, or a gradient over a saved input.
    const dq = attn.tensor(callerBuffer(bytes), dims);
    const saved = { q: q!, k: k!, v, out, lse: lse! };
    const e2 = await errorOf(() => attn.backward(q!, saved, { into: { dq, dk: dq } }));
    expect(e2.message).toMatch(/into.dk shares memory with into.dq/);
    const e3 = await errorOf(() => attn.backward(q!, saved, { into: { dv: overlapping } }));
    expect(e3.message).toMatch(/into.dv shares memory with v/);
    // The synchronous path the framework adapters use checks the same, before it submits anything.
    expect(() => forwardNow(attn, q!, k!, v, {}, { out: overlapping })).toThrow(/out shares memory with v/);
    expect(() => backwardNow(attn, q!, saved, {}, { dq, dk: dq })).toThrow(/dq shares memory with dk/);
    [q!, k!, v, overlapping, beside, q1, dq].forEach((t) => t.destroy());
    shared.destroy();
  });

  it('on a device with default limits, forward runs and a backward that needs more storage buffers names the limit', async () => {
    const plain = await freshDevice();
    const small = await createAttention({ backend: { device: plain } });
    const rand = rng(testSeed());
    const [hq, hk, hv] = [0, 1, 2].map(() => randomHost([1, 2, 24, 32], rand));
    const [q, k, v] = [hq!, hk!, hv!].map((h) => small.tensor(h.data as Float32Array, [1, 2, 24, 32]));
    const opts = { causal: true, score: alibi(alibiSlopes(2)) };
    const { out, lse } = await small.forward(q!, k!, v!, { ...opts, returnLse: true });
    expect(checkAgainstReferenceWithAlibi(await out.read(), await lse!.read(), hq!, hk!, hv!, 2)).toBeUndefined();
    if (plain.limits.maxStorageBuffersPerShaderStage < 9) {
      const e = await errorOf(() => small.backward(q!, { q: q!, k: k!, v: v!, out, lse }, opts));
      expect(e).toBeInstanceOf(AttentionLimitError);
      expect(e.message).toMatch(/binds 9 storage buffers, but this device allows 8 \(maxStorageBuffersPerShaderStage\)/);
    }
    if (plain.limits.maxComputeWorkgroupStorageSize <= 16384) {
      // D = 256's backward tiles need more than the default workgroup memory: the error names the limit.
      const d256 = [1, 1, 16, 256];
      const [q2, k2, v2] = [0, 1, 2].map(() => small.tensor(new Float32Array(16 * 256).fill(0.1), d256));
      const fwd = await small.forward(q2!, k2!, v2!, { returnLse: true });
      const e = await errorOf(() => small.backward(q2!, { q: q2!, k: k2!, v: v2!, out: fwd.out, lse: fwd.lse }));
      expect(e).toBeInstanceOf(AttentionLimitError);
      expect(e.message).toMatch(/no backward tile fits head dim 256 in this device's 16384 bytes of workgroup memory \(maxComputeWorkgroupStorageSize\)/);
    }
    small.destroy();
    plain.destroy();
  });
});

/** ALiBi as the reference's score function: score + slope[h]·(kv − q). */
function alibiFn(heads: number) {
  const slopes = alibiSlopes(heads);
  return (s: number, _b: number, h: number, q: number, kv: number) => s + Math.fround(slopes[h]!) * (kv - q);
}

function checkAgainstReferenceWithAlibi(
  o: Float32Array,
  lse: Float32Array,
  hq: ReturnType<typeof randomHost>,
  hk: ReturnType<typeof randomHost>,
  hv: ReturnType<typeof randomHost>,
  heads: number,
) {
  return checkAgainstReference(o, lse, hq, hk, hv, true, { score: alibiFn(heads) });
}
