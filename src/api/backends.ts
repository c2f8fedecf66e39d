/*
 * The two backends behind Attention: WebGPU (a kernel program per call, run by
 * runtime/) and the CPU (cpu/). Both take the one validated call and return
 * tensor storage.
 */
import { cpuBackward } from '../cpu/backward.js';
import { cpuForward } from '../cpu/forward.js';
import { cpuNaiveForward } from '../cpu/naive.js';
import { backwardProgram } from '../kernels/backward-program.js';
import { basicProgram } from '../kernels/basic-program.js';
import type { AttentionCall, BackwardCall } from '../kernels/call.js';
import { flashProgram } from '../kernels/forward-program.js';
import { naiveProgram } from '../kernels/naive-program.js';
import type { Program } from '../kernels/program.js';
import { maskFn, scoreFn } from '../mods/emit-js.js';
import { jsTableTerms, scoreGrad } from '../mods/grad.js';
import type { AdapterSummary } from '../runtime/device.js';
import { WebGpuRunner } from '../runtime/runner.js';
import { AttentionBackendError, AttentionInputError } from '../tensor/errors.js';
import type { TensorOwner, TensorStorage } from './tensor.js';

/** The forward's tensors by name. */
export interface ForwardTensors {
  readonly q: TensorStorage;
  readonly k: TensorStorage;
  readonly v: TensorStorage;
}

/** The backward's tensors by name: the forward's, plus O, dO and LSE. */
export interface BackwardTensors extends ForwardTensors {
  readonly out: TensorStorage;
  readonly dout: TensorStorage;
  readonly lse: TensorStorage;
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
  forward(call: AttentionCall, t: ForwardTensors): Promise<{ out: TensorStorage; lse: TensorStorage }>;
  /** Returns dQ (q's layout), dK, dV (k's and v's layouts) and sink-logit and table gradients. */
  backward(call: BackwardCall, t: BackwardTensors): Promise<BackendGrads>;
  /** Throws if a tensor's storage cannot be used here (e.g. it lives on a lost device). */
  checkStorage(storage: TensorStorage, name: string): void;
  /** After a lost device: a new one (what can be recreated), or an error saying why not. */
  recover(): Promise<void>;
  destroy(): void;
}

export const CPU_ADAPTER: AdapterSummary = { backend: 'cpu', vendor: 'cpu', device: 'TypeScript (tiled online softmax)' };

function hostData(s: TensorStorage): Float32Array {
  if (s.kind !== 'cpu') throw new Error('CPU backend given a GPU tensor');
  return s.data;
}

export class CpuBackend implements Backend {
  readonly kind = 'cpu';
  readonly adapter = CPU_ADAPTER;

  constructor(private readonly poison = false) {}

  store(data: Float32Array): TensorStorage {
    return { kind: 'cpu', data: new Float32Array(data) };
  }

  async readBack(storage: TensorStorage): Promise<Float32Array> {
    return new Float32Array(hostData(storage));
  }

  async forward(c: AttentionCall, t: ForwardTensors) {
    // The CPU's fused kernel is already the plain online softmax: 'basic' runs it too.
    const run = c.algorithm === 'naive' ? cpuNaiveForward : cpuForward;
    const r = run({
      problem: c.problem,
      q: hostData(t.q), k: hostData(t.k), v: hostData(t.v),
      qLayout: c.q.layout, kLayout: c.k.layout, vLayout: c.v.layout,
      scale: c.scale,
      causal: c.causal,
      poison: this.poison,
      score: c.score && scoreFn(c.score),
      mask: c.mask && maskFn(c.mask),
      sinks: c.sinks,
    });
    return { out: { kind: 'cpu', data: r.out } as const, lse: { kind: 'cpu', data: r.lse } as const };
  }

  async backward(c: BackwardCall, t: BackwardTensors): Promise<BackendGrads> {
    const g = cpuBackward({
      problem: c.problem,
      q: hostData(t.q), k: hostData(t.k), v: hostData(t.v), out: hostData(t.out), dout: hostData(t.dout), lse: hostData(t.lse),
      qLayout: c.q.layout, kLayout: c.k.layout, vLayout: c.v.layout,
      scale: c.scale,
      causal: c.causal,
      score: c.score && scoreFn(c.score),
      scoreGrad: c.score && scoreFn(scoreGrad(c.score)),
      mask: c.mask && maskFn(c.mask),
      sinks: c.sinks,
      tableTerms: c.tableGrads && c.score ? jsTableTerms(c.score) : undefined,
    });
    const cpu = (d: Float32Array) => ({ kind: 'cpu', data: d }) as const;
    return { dq: cpu(g.dq), dk: cpu(g.dk), dv: cpu(g.dv), dsinks: g.dsinks, dtables: g.dtables };
  }

  checkStorage(): void {}

  async recover(): Promise<void> {}

  destroy(): void {}
}

function gpuBuffer(s: TensorStorage): GPUBuffer {
  if (s.kind !== 'gpu') throw new Error('WebGPU backend given a CPU tensor');
  return s.buffer;
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
    this.runner.life.checkAlive();
    if (storage.kind !== 'gpu' || !this.runner.buffers.holds(storage.buffer)) {
      throw new AttentionInputError(`${name} lives on a GPU device that was lost and replaced (or was destroyed); upload it again with attn.tensor()`);
    }
  }

  async recover(): Promise<void> {
    if (!this.runner.life.lostInfo) return;
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
    return this.runner.read(gpuBuffer(storage), count);
  }

  /** The forward's kernel program for a call on this adapter. */
  forwardProgram(c: AttentionCall): Program {
    const build = { flash: flashProgram, naive: naiveProgram, basic: basicProgram }[c.algorithm];
    return build(c, this.runner.caps);
  }

  async forward(c: AttentionCall, t: ForwardTensors) {
    const { outputs } = await this.runner.execute(this.forwardProgram(c), { q: gpuBuffer(t.q), k: gpuBuffer(t.k), v: gpuBuffer(t.v) });
    return { out: { kind: 'gpu', buffer: outputs.out! } as const, lse: { kind: 'gpu', buffer: outputs.lse! } as const };
  }

  async backward(c: BackwardCall, t: BackwardTensors): Promise<BackendGrads> {
    const tensors = Object.fromEntries(Object.entries(t).map(([name, s]) => [name, gpuBuffer(s)]));
    const { outputs, host } = await this.runner.execute(backwardProgram(c, this.runner.caps), tensors);
    const gpu = (b: GPUBuffer) => ({ kind: 'gpu', buffer: b }) as const;
    return { dq: gpu(outputs.dq!), dk: gpu(outputs.dk!), dv: gpu(outputs.dv!), dsinks: host.dsinks, dtables: host.dtables };
  }

  destroy(): void {
    this.runner.destroy();
    if (this.ownsDevice) this.runner.device.destroy();
  }
}
