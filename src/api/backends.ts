/*
 * The two backends behind Attention: WebGPU (through runtime/) and the CPU
 * (through cpu/). Both take validated arguments and return tensor storage.
 */
import { cpuForward } from '../cpu/forward.js';
import { cpuNaiveForward } from '../cpu/naive.js';
import type { ForwardTile } from '../kernels/forward.js';
import type { AdapterSummary } from '../runtime/device.js';
import { maskFn, scoreFn } from '../mods/emit-js.js';
import { jsTableTerms, scoreGrad } from '../mods/grad.js';
import type { BackwardTile } from '../kernels/backward.js';
import { AttentionBackendError, AttentionInputError } from '../tensor/errors.js';
import { cpuBackward } from '../cpu/backward.js';
import { WebGpuRunner, type ForwardPlan, type GpuForwardArgs, type GpuVariant } from '../runtime/webgpu.js';
import { stridesOf, type Layout } from '../tensor/shape.js';
import type { Problem } from '../tensor/validate.js';
import type { Algorithm } from './options.js';
import type { TensorOwner, TensorStorage } from './tensor.js';

/** One operand of a validated forward call. */
export interface Operand {
  readonly storage: TensorStorage;
  readonly layout: Layout;
}

export interface BackendForwardArgs {
  readonly problem: Problem;
  readonly q: Operand;
  readonly k: Operand;
  readonly v: Operand;
  readonly scale: number;
  readonly causal: boolean;
  readonly algorithm: Algorithm;
  readonly tile?: ForwardTile;
  readonly keySplits?: number;
  readonly variant?: GpuVariant;
}

/** A validated backward call: the forward's operands plus O, dO and LSE. */
export interface BackendBackwardArgs extends BackendForwardArgs {
  readonly out: Operand;
  readonly dout: Operand;
  readonly lse: Operand;
  /** Also the gradients of the tables the score modifier reads. */
  readonly tableGrads: boolean;
  readonly backwardTile?: BackwardTile;
  readonly dqTile?: BackwardTile;
}

export interface BackendGrads {
  readonly dq: TensorStorage;
  readonly dk: TensorStorage;
  readonly dv: TensorStorage;
  readonly dsinks?: Float32Array;
  /** By table id (mods/modifier.ts), with tableGrads. */
  readonly dtables?: Map<string, Float32Array>;
}

export interface Backend extends TensorOwner {
  readonly kind: 'webgpu' | 'cpu';
  readonly adapter: AdapterSummary;
  store(data: Float32Array, label: string): TensorStorage;
  /** Returns O (q's layout) and LSE ([B, Hq, Nq]). */
  forward(a: BackendForwardArgs): Promise<{ out: TensorStorage; lse: TensorStorage }>;
  /** Returns dQ (q's layout), dK, dV (k's and v's layouts) and sink-logit gradients. */
  backward(a: BackendBackwardArgs): Promise<BackendGrads>;
  /** Throws if a tensor's storage cannot be used here (e.g. it lives on a lost device). */
  checkStorage(storage: TensorStorage, name: string): void;
  /** After a lost device: a new one (what can be recreated), or an error saying why not. */
  recover(): Promise<void>;
  destroy(): void;
}

export const CPU_ADAPTER: AdapterSummary = { backend: 'cpu', vendor: 'cpu', device: 'TypeScript (tiled online softmax)' };

export class CpuBackend implements Backend {
  readonly kind = 'cpu';
  readonly adapter = CPU_ADAPTER;

  constructor(private readonly poison = false) {}

  store(data: Float32Array): TensorStorage {
    return { kind: 'cpu', data: new Float32Array(data) };
  }

  async readBack(storage: TensorStorage): Promise<Float32Array> {
    if (storage.kind !== 'cpu') throw new Error('CPU backend given a GPU tensor');
    return new Float32Array(storage.data);
  }

  async forward(a: BackendForwardArgs) {
    const data = (o: Operand) => {
      if (o.storage.kind !== 'cpu') throw new Error('CPU backend given a GPU tensor');
      return o.storage.data;
    };
    const run = a.algorithm === 'naive' ? cpuNaiveForward : cpuForward;
    const r = run({
      problem: a.problem,
      q: data(a.q),
      k: data(a.k),
      v: data(a.v),
      qLayout: a.q.layout,
      kLayout: a.k.layout,
      vLayout: a.v.layout,
      scale: a.scale,
      causal: a.causal,
      poison: this.poison,
      score: a.variant?.score && scoreFn(a.variant.score),
      mask: a.variant?.mask && maskFn(a.variant.mask),
      sinks: a.variant?.sinks,
    });
    return { out: { kind: 'cpu', data: r.out } as const, lse: { kind: 'cpu', data: r.lse } as const };
  }

  async backward(a: BackendBackwardArgs): Promise<BackendGrads> {
    const data = (o: Operand) => {
      if (o.storage.kind !== 'cpu') throw new Error('CPU backend given a GPU tensor');
      return o.storage.data;
    };
    const g = cpuBackward({
      problem: a.problem,
      q: data(a.q), k: data(a.k), v: data(a.v), out: data(a.out), dout: data(a.dout), lse: data(a.lse),
      qLayout: a.q.layout, kLayout: a.k.layout, vLayout: a.v.layout,
      scale: a.scale,
      causal: a.causal,
      score: a.variant?.score && scoreFn(a.variant.score),
      scoreGrad: a.variant?.score && scoreFn(scoreGrad(a.variant.score)),
      mask: a.variant?.mask && maskFn(a.variant.mask),
      sinks: a.variant?.sinks,
      tableTerms: a.tableGrads && a.variant?.score ? jsTableTerms(a.variant.score) : undefined,
    });
    const cpu = (d: Float32Array) => ({ kind: 'cpu', data: d }) as const;
    return { dq: cpu(g.dq), dk: cpu(g.dk), dv: cpu(g.dv), dsinks: g.dsinks, dtables: g.dtables };
  }

  checkStorage(): void {}

  async recover(): Promise<void> {}

  destroy(): void {}
}

export class WebGpuBackend implements Backend {
  readonly kind = 'webgpu';
  /** Replaced by recover() after a device loss. */
  runner: WebGpuRunner;
  /** Whether destroy() may destroy the device: false for a device the caller passed in. */
  private readonly ownsDevice: boolean;
  /** Makes a runner on a fresh device (the same options as the first); only for devices we own. */
  private readonly renew?: () => Promise<WebGpuRunner>;

  constructor(runner: WebGpuRunner, ownsDevice: boolean, renew?: () => Promise<WebGpuRunner>) {
    this.runner = runner;
    this.ownsDevice = ownsDevice;
    this.renew = renew;
  }

  checkStorage(storage: TensorStorage, name: string): void {
    this.runner.checkAlive();
    if (storage.kind !== 'gpu' || !this.runner.holds(storage.buffer)) {
      throw new AttentionInputError(`${name} lives on a GPU device that was lost and replaced (or was destroyed); upload it again with attn.tensor()`);
    }
  }

  async recover(): Promise<void> {
    if (!this.runner.lostInfo) return;
    if (!this.ownsDevice || !this.renew) {
      throw new AttentionBackendError('the GPU device passed to createAttention was lost; create a new Attention with a new device');
    }
    this.runner.destroy();
    this.runner = await this.renew();
  }

  get adapter(): AdapterSummary {
    return this.runner.acquired.summary;
  }

  store(data: Float32Array, label: string): TensorStorage {
    return { kind: 'gpu', buffer: this.runner.upload(data, label) };
  }

  readBack(storage: TensorStorage, count: number): Promise<Float32Array> {
    if (storage.kind !== 'gpu') throw new Error('WebGPU backend given a CPU tensor');
    return this.runner.read(storage.buffer, count);
  }

  /** Plans a forward call without running it (benchmarks encode plans many times). */
  plan(a: BackendForwardArgs): Promise<ForwardPlan> {
    const args = this.gpuArgs(a);
    return a.algorithm === 'naive' ? this.runner.planNaive(args) : this.runner.planFlash(args);
  }

  private gpuArgs(a: BackendForwardArgs): GpuForwardArgs {
    const p = a.problem;
    const buf = (o: Operand) => {
      if (o.storage.kind !== 'gpu') throw new Error('WebGPU backend given a CPU tensor');
      return o.storage.buffer;
    };
    const args: GpuForwardArgs = {
      problem: p,
      q: buf(a.q),
      k: buf(a.k),
      v: buf(a.v),
      qStrides: stridesOf({ batch: p.batch, heads: p.headsQ, seq: p.seqQ, headDim: p.headDim }, a.q.layout),
      kStrides: stridesOf({ batch: p.batch, heads: p.headsKv, seq: p.seqK, headDim: p.headDim }, a.k.layout),
      vStrides: stridesOf({ batch: p.batch, heads: p.headsKv, seq: p.seqK, headDim: p.headDim }, a.v.layout),
      scale: a.scale,
      causal: a.causal,
      tile: a.tile,
      keySplits: a.keySplits,
      variant: a.variant,
    };
    return args;
  }

  async backward(a: BackendBackwardArgs): Promise<BackendGrads> {
    const args = this.gpuArgs(a);
    const buf = (o: Operand) => {
      if (o.storage.kind !== 'gpu') throw new Error('WebGPU backend given a CPU tensor');
      return o.storage.buffer;
    };
    const g = await this.runner.backward({ ...args, out: buf(a.out), dout: buf(a.dout), lse: buf(a.lse), tableGrads: a.tableGrads, backwardTile: a.backwardTile, dqTile: a.dqTile });
    const gpu = (b: GPUBuffer) => ({ kind: 'gpu', buffer: b }) as const;
    return { dq: gpu(g.dq), dk: gpu(g.dk), dv: gpu(g.dv), dsinks: g.dsinks, dtables: g.dtables };
  }

  async forward(a: BackendForwardArgs) {
    const plan = await this.plan(a);
    try {
      await this.runner.run(plan);
    } finally {
      plan.release();
    }
    return { out: { kind: 'gpu', buffer: plan.out } as const, lse: { kind: 'gpu', buffer: plan.lse } as const };
  }

  destroy(): void {
    this.runner.destroy();
    if (this.ownsDevice) this.runner.device.destroy();
  }
}
