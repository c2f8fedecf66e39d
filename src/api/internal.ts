/*
 * The one internal seam between the library and its harness (verify, bench, tune,
 * the IO model; src/harness/): what a benchmark needs of a live Attention beyond
 * the public API — the validated calls forward() and backward() would run, their
 * kernel programs, prepared once and encoded many times, timing and the device's
 * measured peaks. Not exported from the package; nothing else reaches inside.
 */
import type { AttentionCall, BackwardCall, Caps, TunedTiles } from '../kernels/call.js';
import type { Program } from '../kernels/program.js';
import type { AdapterSummary } from '../runtime/device.js';
import { devicePeaks, type DevicePeaks } from '../runtime/probe.js';
import type { PreparedProgram } from '../runtime/runner.js';
import { timeDispatches, type TimingOptions, type TimingResult } from '../runtime/timing.js';
import { loadTuned, saveTuned } from '../runtime/tuning.js';
import type { Attention } from './attention.js';
import { WebGpuBackend } from './backends.js';
import type { AttentionTensor } from './tensor.js';
import type { DType } from '../tensor/half.js';

export { backwardCall, forwardCall } from './call.js';
export type { PreparedProgram } from '../runtime/runner.js';
export { getGpu } from '../runtime/device.js';

/** A WebGPU Attention as the harness sees it. */
export interface GpuSeam {
  readonly device: GPUDevice;
  readonly adapter: AdapterSummary;
  /** The adapter as kernel programs see it. */
  readonly caps: Caps;
  /** Tiles a search found, by shape class; setting one changes what later calls run. */
  readonly tuned: TunedTiles;
  /** The forward's program for a call (fused or naive, by `call.algorithm`). */
  forwardProgram(call: AttentionCall): Program;
  backwardProgram(call: BackwardCall): Program;
  /** Prepares `program` on tensors of this Attention, by the names the program binds ('q', 'k', 'v', 'out', 'dout', 'lse'). */
  prepare(program: Program, tensors: Readonly<Record<string, AttentionTensor | GPUBuffer>>): Promise<PreparedProgram>;
  run(prepared: PreparedProgram): Promise<void>;
  /** `count` elements of `dtype` (default f32) from the start of `buffer`, as f32 values. */
  read(buffer: GPUBuffer, count: number, dtype?: DType): Promise<Float32Array>;
  /** Times prepared dispatch lists, rotating among them (timestamp queries where present). */
  time(prepared: readonly PreparedProgram[], opts?: TimingOptions): Promise<TimingResult>;
  /** Measured f32 FMA rate and copy bandwidth of this device. */
  peaks(): Promise<DevicePeaks>;
  /** Writes the tuned tiles to the disk cache (Node); returns the file. */
  saveTuned(): Promise<string | undefined>;
  /** Replaces the tuned tiles with the disk cache's for this adapter. */
  reloadTuned(): Promise<void>;
}

/** The seam of a WebGPU Attention, or undefined on the CPU backend. */
export function gpuSeam(attn: Attention): GpuSeam | undefined {
  const backend = attn.impl;
  if (!(backend instanceof WebGpuBackend)) return undefined;
  const runner = () => backend.runner;
  return {
    get device() {
      return runner().device;
    },
    get adapter() {
      return runner().acquired.summary;
    },
    get caps() {
      return runner().caps;
    },
    get tuned() {
      return runner().tuned;
    },
    forwardProgram: (call) => backend.forwardProgram(call),
    backwardProgram: (call) => backend.backwardProgram(call),
    prepare: (program, tensors) =>
      runner().prepare(program, Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, 'storage' in t ? gpuStorage(t, name) : t]))),
    run: (prepared) => runner().run(prepared),
    read: (buffer, count, dtype = 'f32') => backend.readBack({ kind: 'gpu', buffer, offset: 0, owned: true }, count, dtype),
    time: (prepared, opts) =>
      timeDispatches(
        runner().device,
        prepared.map((p) => p.dispatches),
        opts,
      ),
    peaks: () => devicePeaks(runner().device),
    saveTuned: () => saveTuned(runner().acquired.summary, runner().tuned),
    reloadTuned: async () => {
      runner().tuned.clear();
      for (const [k, t] of await loadTuned(runner().acquired.summary)) runner().tuned.set(k, t);
    },
  };
}

function gpuStorage(t: AttentionTensor, name: string): GPUBuffer {
  const s = t.storage(name);
  if (s.kind !== 'gpu') throw new Error(`${name} is not a GPU tensor`);
  return s.buffer;
}
