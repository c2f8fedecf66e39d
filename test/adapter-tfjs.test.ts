/*
 * webgpu-attention/tfjs on tfjs's real 'webgpu' backend (tfjs-backend-webgpu 4.22 on
 * Dawn, SwiftShader here): a tiny attention model trained a few steps with our op
 * and with tfjs's own matMul/softmax attention from the same initial weights gives
 * the same losses and weights; the op's forward and gradient move nothing through
 * the host (counted: tensor-sized writeBuffer, mappedAtCreation uploads, mapAsync);
 * results read back agree with tfjs's; the wrong backend is refused by name.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients (the @tensorflow/tfjs bundle does).
import '@tensorflow/tfjs-core/dist/register_all_gradients.js';
import { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attentionOp, type TfAttention } from '../src/adapters/tfjs.js';
import { getGpu, requiredLimits } from '../src/runtime/device.js';
import { AttentionInputError } from '../src/tensor/errors.js';
import { rng, testSeed } from './helpers.js';

let device: GPUDevice;
let op: TfAttention<tf.Tensor>;

beforeAll(async () => {
  // Our device, with the limits the kernels use, handed to tfjs (its own factory asks for fewer).
  const gpu = (await getGpu())!;
  const adapter = (await gpu.requestAdapter())!;
  device = await adapter.requestDevice({ requiredLimits: requiredLimits(adapter) });
  // WebGPUBackend checks for navigator.gpu, which Node (Dawn through npm 'webgpu') lacks.
  Object.defineProperty(globalThis, 'navigator', { value: { ...globalThis.navigator, gpu }, configurable: true });
  tf.registerBackend('webgpu', async () => new WebGPUBackend(device), 10);
  expect(await tf.setBackend('webgpu')).toBe(true);
  op = await attentionOp(tf);
});
afterAll(() => {
  op?.attn.destroy();
  tf.removeBackend('webgpu');
  device?.destroy();
});

/** tfjs's own attention of [B, N, H, D] tensors: matMul, a causal mask, softmax, matMul. */
function tfjsAttention(q: tf.Tensor, k: tf.Tensor, v: tf.Tensor, causal: boolean): tf.Tensor {
  const [qh, kh, vh] = [q, k, v].map((t) => tf.transpose(t, [0, 2, 1, 3]));
  const [n, d] = [q.shape[1]!, q.shape[3]!];
  let s = tf.mul(tf.matMul(qh!, kh!, false, true), 1 / Math.sqrt(d));
  if (causal) s = tf.add(s, tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([n, n]), -1, 0)), -1e9));
  return tf.transpose(tf.matMul(tf.softmax(s), vh!), [0, 2, 1, 3]);
}

/** Seeded weights, one array per name. */
function initWeights(seed: number, dm: number, hd: number): Record<string, Float32Array> {
  const rand = rng(seed);
  const w = (n: number, s: number) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * s);
  return { wq: w(dm * hd, 0.5), wk: w(dm * hd, 0.5), wv: w(dm * hd, 0.5), wo: w(hd * dm, 0.3) };
}

/** Trains a one-layer attention model `steps` SGD steps with `attention`; returns the losses and the final weights. */
async function train(
  attention: (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => tf.Tensor,
  init: Record<string, Float32Array>,
  x: tf.Tensor,
  y: tf.Tensor,
  dims: { B: number; N: number; H: number; D: number; dm: number },
  steps: number,
): Promise<{ losses: number[]; weights: Record<string, Float32Array> }> {
  const { B, N, H, D, dm } = dims;
  const vars = {
    wq: tf.variable(tf.tensor2d(init.wq!, [dm, H * D])),
    wk: tf.variable(tf.tensor2d(init.wk!, [dm, H * D])),
    wv: tf.variable(tf.tensor2d(init.wv!, [dm, H * D])),
    wo: tf.variable(tf.tensor2d(init.wo!, [H * D, dm])),
  };
  const optimizer = tf.train.sgd(0.5);
  const losses: number[] = [];
  const x2 = tf.reshape(x, [B * N, dm]);
  for (let i = 0; i < steps; i++) {
    const loss = optimizer.minimize(() => {
      // Projections come out [B, N, H, D]: the 'bnhd' layout, no transpose.
      const [q, k, v] = [vars.wq, vars.wk, vars.wv].map((w) => tf.reshape(tf.matMul(x2, w), [B, N, H, D]));
      const o = tf.reshape(attention(q!, k!, v!), [B * N, H * D]);
      return tf.mean(tf.squaredDifference(tf.reshape(tf.matMul(o, vars.wo), [B, N, dm]), y)) as tf.Scalar;
    }, true)!;
    losses.push((await loss.data())[0]!);
    loss.dispose();
  }
  const weights = Object.fromEntries(await Promise.all(Object.entries(vars).map(async ([n, w]) => [n, (await w.data()) as Float32Array] as const)));
  Object.values(vars).forEach((w) => w.dispose());
  x2.dispose();
  return { losses, weights };
}

const maxAbs = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]!)), 0);

describe('webgpu-attention/tfjs on the webgpu backend', () => {
  it("trains a tiny model like tfjs's own matMul/softmax attention (same losses and weights)", async () => {
    const seed = testSeed();
    const dims = { B: 2, N: 17, H: 2, D: 32, dm: 16 };
    const rand = rng(seed + 1);
    const data = (n: number) => Float32Array.from({ length: n }, () => rand() * 2 - 1);
    const x = tf.tensor3d(data(dims.B * dims.N * dims.dm), [dims.B, dims.N, dims.dm]);
    const y = tf.tensor3d(data(dims.B * dims.N * dims.dm), [dims.B, dims.N, dims.dm]);
    const init = initWeights(seed, dims.dm, dims.H * dims.D);
    const ours = await train((q, k, v) => op(q, k, v, { causal: true, layout: 'bnhd' }), init, x, y, dims, 4);
    const theirs = await train((q, k, v) => tfjsAttention(q, k, v, true), init, x, y, dims, 4);
    await op.settled();
    console.log(`[seed ${seed}] losses ours ${ours.losses.map((l) => l.toFixed(6)).join(' ')}, tfjs ${theirs.losses.map((l) => l.toFixed(6)).join(' ')}`);
    expect(ours.losses[3], 'the loss falls').toBeLessThan(ours.losses[0]!);
    for (let i = 0; i < 4; i++)
      expect(Math.abs(ours.losses[i]! - theirs.losses[i]!), `[seed ${seed}] step ${i} loss`).toBeLessThan(1e-5 * theirs.losses[i]! + 1e-7);
    for (const name of Object.keys(init)) {
      const moved = maxAbs(theirs.weights[name]!, init[name]!);
      expect(moved, `${name} was trained`).toBeGreaterThan(1e-4);
      expect(maxAbs(ours.weights[name]!, theirs.weights[name]!), `[seed ${seed}] ${name} after training`).toBeLessThan(1e-4 * moved + 1e-6);
    }
    tf.dispose([x, y]);
  });

  it('forward and gradient bind tfjs buffers: no host traffic, results equal to tfjs attention', async () => {
    const [B, H, N, D] = [1, 4, 33, 64];
    const rand = rng(testSeed());
    // Tensors computed on the GPU, as a model's are (a tensor made from host data is uploaded on first use).
    const make = () =>
      tf.mul(
        tf.tensor4d(
          Float32Array.from({ length: B * H * N * D }, () => rand() * 2 - 1),
          [B, H, N, D],
        ),
        1,
      );
    const [q, k, v, w] = [make(), make(), make(), make()];
    await device.queue.onSubmittedWorkDone();
    const counts = { writes: 0, mapped: 0, mapAsyncs: 0 };
    const queue = device.queue;
    const [write, create] = [queue.writeBuffer.bind(queue), device.createBuffer.bind(device)];
    const proto = Object.getPrototypeOf(create({ size: 16, usage: 0x08 })) as GPUBuffer;
    const mapAsync = proto.mapAsync;
    queue.writeBuffer = ((...args: Parameters<GPUQueue['writeBuffer']>) => {
      if (((args[4] ?? (args[2] as ArrayBufferView).byteLength) as number) >= N * D * 4) counts.writes++;
      return write(...args);
    }) as GPUQueue['writeBuffer'];
    device.createBuffer = (d: GPUBufferDescriptor) => {
      if (d.mappedAtCreation && d.size >= N * D * 4) counts.mapped++;
      return create(d);
    };
    proto.mapAsync = function (this: GPUBuffer, ...args: Parameters<GPUBuffer['mapAsync']>) {
      counts.mapAsyncs++;
      return mapAsync.apply(this, args);
    };
    let grads: tf.Tensor[];
    try {
      // The op alone, with dO = w given: nothing of tfjs's own runs in between.
      grads = tf.grads((q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => op(q, k, v))([q, k, v], w);
      await device.queue.onSubmittedWorkDone();
    } finally {
      [queue.writeBuffer, device.createBuffer, proto.mapAsync] = [write, create, mapAsync];
    }
    expect(counts).toEqual({ writes: 0, mapped: 0, mapAsyncs: 0 });
    await op.settled();
    // tfjs's attention in [B, N, H, D] order, and its gradients, on the same data.
    const bnhd = (t: tf.Tensor) => tf.transpose(t, [0, 2, 1, 3]);
    const ref = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor) => bnhd(tfjsAttention(bnhd(q), bnhd(k), bnhd(v), false));
    const want = tf.grads(ref)([q, k, v], w);
    expect(maxAbs(await op(q, k, v).data(), await bnhd(tfjsAttention(bnhd(q), bnhd(k), bnhd(v), false)).data())).toBeLessThan(2e-6);
    for (let i = 0; i < 3; i++) expect(maxAbs(await grads[i]!.data(), await want[i]!.data()), `d${'qkv'[i]}`).toBeLessThan(1e-5);
  });

  it("refuses another backend and another device's Attention, by name", async () => {
    const other = await (await (await getGpu())!.requestAdapter())!.requestDevice();
    const { createAttention } = await import('../src/api/attention.js');
    const elsewhere = await createAttention({ backend: { device: other } });
    await expect(attentionOp(tf, elsewhere)).rejects.toThrow(/tfjs's GPUDevice/);
    elsewhere.destroy();
    other.destroy();
    // A tfjs on another backend (the namespace as tfjs's 'cpu' backend would show it).
    const onCpu = { ...tf, getBackend: () => 'cpu', backend: () => ({}) } as unknown as typeof tf;
    await expect(attentionOp(onCpu)).rejects.toThrow(AttentionInputError);
    await expect(attentionOp(onCpu)).rejects.toThrow(/'webgpu' backend .* the backend is 'cpu'/);
  });
});
