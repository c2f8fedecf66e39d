/*
 * webgpu-attention/onnxruntime with onnxruntime-web 1.30's real Tensor class (its
 * Node entry: Tensor.fromGpuBuffer, tensor.gpuBuffer, getData, dispose) over Dawn
 * GPUBuffers on the device set as `ort.env.webgpu.device`. No ORT session runs
 * here: onnxruntime-web's Node entry has no WebGPU backend ("[webgpu] backend not
 * found"), and its browser build, loaded in Node on Dawn, fails in its first
 * GPUQueue.writeBuffer from the wasm's shared memory ("Invalid argument").
 * Checked: f32 'bhnd' and f16 'bnhd' calls equal the core API's on the same
 * buffers and the float64 reference, with no host traffic; dispose() frees O's
 * buffer; CPU tensors and other dtypes are refused by name.
 */
import * as ort from 'onnxruntime-web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ortAttention, type OrtAttention } from '../src/adapters/onnxruntime.js';
import { referenceForward } from '../src/reference/forward.js';
import { getGpu, requiredLimits } from '../src/runtime/device.js';
import { AttentionInputError } from '../src/tensor/errors.js';
import { toHalf } from '../src/tensor/half.js';
import { host, maxErr, permute, randomHost, rng, shape4, testSeed } from './helpers.js';

const USAGE = 0x80 | 0x08 | 0x04; // STORAGE | COPY_DST | COPY_SRC
let device: GPUDevice;
let op: OrtAttention<ort.Tensor>;

beforeAll(async () => {
  const adapter = (await (await getGpu())!.requestAdapter())!;
  device = await adapter.requestDevice({ requiredLimits: requiredLimits(adapter) });
  ort.env.webgpu.device = device; // as a page hands ORT its device before the first WebGPU session
  op = await ortAttention(ort);
});
afterAll(() => {
  op?.attn.destroy();
  device?.destroy();
});

/** An ORT GPU tensor over a new buffer holding `data` (f32 values, or f16 bits). */
function gpuTensor(data: Float32Array | Uint16Array, dims: number[]): ort.Tensor {
  const buffer = device.createBuffer({ size: Math.ceil(data.byteLength / 16) * 16, usage: USAGE });
  device.queue.writeBuffer(buffer, 0, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  return ort.Tensor.fromGpuBuffer(buffer, { dataType: data instanceof Uint16Array ? 'float16' : 'float32', dims, dispose: () => buffer.destroy() });
}

/** Counts tensor-sized writeBuffer calls and every mapAsync while `fn` runs. */
async function hostTraffic(fn: () => Promise<void>, minBytes: number): Promise<{ writes: number; mapAsyncs: number }> {
  const queue = device.queue;
  const write = queue.writeBuffer.bind(queue);
  const proto = Object.getPrototypeOf(device.createBuffer({ size: 16, usage: 0x08 })) as GPUBuffer;
  const mapAsync = proto.mapAsync;
  const counts = { writes: 0, mapAsyncs: 0 };
  queue.writeBuffer = ((...args: Parameters<GPUQueue['writeBuffer']>) => {
    if (((args[4] ?? (args[2] as ArrayBufferView).byteLength) as number) >= minBytes) counts.writes++;
    return write(...args);
  }) as GPUQueue['writeBuffer'];
  proto.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
    counts.mapAsyncs++;
    return mapAsync.apply(this, args);
  };
  try {
    await fn();
    await queue.onSubmittedWorkDone();
  } finally {
    queue.writeBuffer = write;
    proto.mapAsync = mapAsync;
  }
  return counts;
}

describe('webgpu-attention/onnxruntime on ORT GPU tensors', () => {
  for (const [dtype, layout] of [
    ['float32', 'bhnd'],
    ['float16', 'bnhd'],
  ] as const) {
    it(`${dtype} '${layout}': O as an ORT GPU tensor, no host traffic, equal to the core API and the reference`, async () => {
      const seed = testSeed();
      const rand = rng(seed);
      const [B, H, Hkv, N, D] = [1, 4, 2, 19, 32];
      const [hq, hk, hv] = [randomHost([B, H, N, D], rand), randomHost([B, Hkv, N, D], rand), randomHost([B, Hkv, N, D], rand)];
      // Host data in the test's layout; f16 inputs are the f32 data rounded, and the reference sees the rounded values.
      const data = (t: typeof hq) => {
        const ordered = layout === 'bhnd' ? Float32Array.from(t.data) : permute(t.data, t.shape);
        return dtype === 'float16' ? toHalf(ordered) : ordered;
      };
      const dims = (h: number) => (layout === 'bhnd' ? [B, h, N, D] : [B, N, h, D]);
      const [q, k, v] = [gpuTensor(data(hq), dims(H)), gpuTensor(data(hk), dims(Hkv)), gpuTensor(data(hv), dims(Hkv))];
      let result!: { out: ort.Tensor; lse?: ort.Tensor };
      const traffic = await hostTraffic(
        async () => {
          result = await op(q, k, v, { causal: true, layout, returnLse: true });
        },
        N * D * 2,
      );
      expect(traffic).toEqual({ writes: 0, mapAsyncs: 0 });
      const { out, lse } = result;
      expect([out.location, out.type, out.dims]).toEqual(['gpu-buffer', dtype, dims(H)]);
      expect([lse!.type, lse!.dims]).toEqual(['float32', [B, H, N]]); // LSE is [B, Hq, Nq] in either layout

      // The same call through the core API on the same buffers, and the float64 reference.
      const wrap = (t: ort.Tensor, h: number) => op.attn.tensor(t.gpuBuffer as GPUBuffer, [B, h, N, D], { dtype: dtype === 'float16' ? 'f16' : 'f32', layout });
      const direct = await (await op.attn.forward(wrap(q, H), wrap(k, Hkv), wrap(v, Hkv), { causal: true })).out.read();
      const got = Float32Array.from((await out.getData()) as ArrayLike<number>, (x) => x);
      if (dtype === 'float16') expect(Array.from(toHalf(direct))).toEqual(Array.from(got as unknown as Uint16Array));
      else expect(Array.from(got)).toEqual(Array.from(direct));
      const hostOf = async (t: ort.Tensor, h: number) => {
        const values = await op.attn.tensor(t.gpuBuffer as GPUBuffer, [B, h, N, D], { dtype: dtype === 'float16' ? 'f16' : 'f32', layout }).read();
        return host(values, [B, h, N, D], layout);
      };
      const inputs = [hostOf(q, H), hostOf(k, Hkv), hostOf(v, Hkv)];
      const [rq, rk, rv] = await Promise.all(inputs);
      const want = referenceForward(rq!, rk!, rv!, { causal: true }).out;
      const tolerance = dtype === 'float16' ? 2e-3 : 1e-5;
      expect(maxErr(layout === 'bhnd' ? direct : permute(direct, shape4([B, H, N, D]), true), want).err, `[seed ${seed}]`).toBeLessThan(tolerance);

      // dispose() frees O's buffer: the tensor is gone, and so is the library's tensor behind it.
      const destroyed: GPUBuffer[] = [];
      const buf = out.gpuBuffer as GPUBuffer;
      const destroy = buf.destroy.bind(buf);
      buf.destroy = () => (destroyed.push(buf), destroy());
      out.dispose();
      lse!.dispose();
      expect(destroyed).toEqual([buf]);
      [q, k, v].forEach((t) => t.dispose());
    });
  }

  it('refuses CPU tensors and other types, by name', async () => {
    const cpu = new ort.Tensor('float32', new Float32Array(32), [1, 1, 1, 32]);
    await expect(op(cpu, cpu, cpu)).rejects.toThrow(AttentionInputError);
    await expect(op(cpu, cpu, cpu)).rejects.toThrow(/q: an ORT tensor in a GPU buffer is needed .* got location 'cpu'/);
    const ints = ort.Tensor.fromGpuBuffer(device.createBuffer({ size: 128, usage: USAGE }), { dataType: 'int32', dims: [1, 1, 1, 32] });
    await expect(op(ints, ints, ints)).rejects.toThrow(/'float32' or 'float16', got 'int32'/);
  });
});
