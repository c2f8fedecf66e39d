/*
 * The two backends behind Attention share this interface: WebGPU's (here: a kernel
 * program per call, run by runtime/) and the CPU's (cpu-backend.ts). Both take the one
 * validated call and return tensor storage.
 */
import type { Turn } from '../runtime/order.js';
import { backwardProgram } from '../kernels/backward-program.js';
import { matrixBackwardLayout, matrixBackwardProgram } from '../kernels/matrix-backward-program.js';
import { basicProgram } from '../kernels/basic-program.js';
import type { AttentionCall, BackwardCall } from '../kernels/call.js';
import { flashOrDecodeProgram } from '../kernels/decode-program.js';
import { poolBytes } from '../kernels/paged-program.js';
import { mergeProgram } from '../kernels/merge.js';
import { naiveProgram } from '../kernels/naive-program.js';
import { padBytes, type Program } from '../kernels/program.js';
import { viaF32 } from '../kernels/half-io.js';
import type { AdapterSummary } from '../runtime/device.js';
import { COPY_SRC, type BindingResource } from '../runtime/buffers.js';
import { WebGpuRunner } from '../runtime/runner.js';
import { AttentionBackendError, AttentionInputError } from '../tensor/errors.js';
import { stridesOf, type Layout, type Shape4 } from '../tensor/shape.js';
import { bytesOf, fromHalf, type DType } from '../tensor/half.js';
import type { HostData } from './host-data.js';
import { DESTROYED, type TensorOwner, type TensorStorage } from './tensor.js';

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

/** Gradient tensors results may be written into. */
export interface GradTensors {
  readonly dq?: TensorStorage;
  readonly dk?: TensorStorage;
  readonly dv?: TensorStorage;
}

export interface BackendGrads {
  readonly dq: TensorStorage;
  readonly dk: TensorStorage;
  readonly dv: TensorStorage;
  readonly dsinks?: Float32Array;
  /** By table id (mods/modifier.ts), with tableGrads. */
  readonly dtables?: Map<string, Float32Array>;
}

/** One partial result of attn.combine: O (the common shape and layout) and LSE ([B, H, N]). */
export interface PartTensors {
  readonly out: TensorStorage;
  readonly lse: TensorStorage;
}

export interface Backend extends TensorOwner {
  readonly kind: 'webgpu' | 'cpu';
  readonly adapter: AdapterSummary;
  /** A new tensor's storage holding `data` (f32 values or f16 bits). */
  store(data: HostData, label: string): TensorStorage;
  /** Returns O (q's layout; written into `into.out` when given) and LSE ([B, Hq, Nq]). */
  forward(call: AttentionCall, t: ForwardTensors, into?: { readonly out?: TensorStorage }): Promise<{ out: TensorStorage; lse: TensorStorage }>;
  /** Returns dQ (q's layout), dK, dV (k's and v's layouts; written into `into`'s where given) and sink-logit and table gradients. */
  backward(call: BackwardCall, t: BackwardTensors, into?: GradTensors): Promise<BackendGrads>;
  /** Merges partial results over disjoint key sets (checked: ≥ 1 part, O of `shape` in `layout`): new O and LSE. */
  combine(parts: readonly PartTensors[], shape: Shape4, layout: Layout, dtype: DType): Promise<{ out: TensorStorage; lse: TensorStorage }>;
  /** Throws if a tensor's storage cannot be used here (e.g. it lives on a lost device). */
  checkStorage(storage: TensorStorage, name: string): void;
  /** After a lost device: a new one (what can be recreated), or an error saying why not. */
  recover(): Promise<void>;
  /** Releases what the backend holds; every later use throws (checkLive). */
  destroy(): void;
  readonly destroyed: boolean;
}

/** Throws where `attn.destroy()` was called: nothing of an Attention works after it. */
export function checkLive(b: Backend): void {
  if (b.destroyed) throw new AttentionInputError(DESTROYED);
}

/** A GPU tensor as the runner binds it: the library's own buffer whole, a caller's as its range. */
function gpuResource(s: TensorStorage, bytes: number): BindingResource {
  if (s.kind !== 'gpu') throw new Error('WebGPU backend given a CPU tensor');
  if (s.owned && s.offset === 0) return s.buffer;
  // A caller's buffer may end right after the tensor (an f16 one 8 bytes short of the 16 padBytes rounds to).
  return { buffer: s.buffer, offset: s.offset, size: Math.min(padBytes(bytes), Math.floor((s.buffer.size - s.offset) / 4) * 4) };
}

const owned = (buffer: GPUBuffer): TensorStorage => ({ kind: 'gpu', buffer, offset: 0, owned: true });

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
    runner.life.recoverable = ownsDevice && renew !== undefined;
  }

  destroyed = false;

  checkStorage(storage: TensorStorage, name: string): void {
    checkLive(this);
    this.runner.life.checkAlive();
    if (storage.kind !== 'gpu') throw new AttentionInputError(`${name} is a host tensor; this Attention runs on WebGPU`);
    if (storage.owned && !this.runner.buffers.holds(storage.buffer)) {
      throw new AttentionInputError(`${name} lives on a GPU device that was lost and replaced (or was destroyed); upload it again with attn.tensor()`);
    }
    if (!storage.owned && storage.buffer.mapState !== 'unmapped') {
      throw new AttentionInputError(`${name}: the caller's GPUBuffer is ${storage.buffer.mapState}; unmap it before attention uses it`);
    }
  }

  /**
   * Wraps a caller's buffer as tensor storage without a copy, after the checks that need
   * no GPU work: STORAGE usage, an offset the device can bind at, room for `bytes`.
   */
  wrap(buffer: GPUBuffer, byteOffset: number, bytes: number, name: string): TensorStorage {
    this.runner.life.checkAlive();
    if ((buffer.usage & 0x80) === 0) {
      throw new AttentionInputError(`${name}: the GPUBuffer lacks STORAGE usage (usage 0x${buffer.usage.toString(16)}); create it with GPUBufferUsage.STORAGE`);
    }
    const align = this.runner.device.limits.minStorageBufferOffsetAlignment;
    if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % align !== 0) {
      throw new AttentionInputError(`${name}: byteOffset must be a multiple of ${align} (minStorageBufferOffsetAlignment), got ${byteOffset}`);
    }
    if (byteOffset + bytes > buffer.size) {
      throw new AttentionInputError(
        `${name}: the GPUBuffer has ${buffer.size} bytes, but the tensor needs ${bytes} bytes from byteOffset ${byteOffset} (${byteOffset + bytes} in all)`,
      );
    }
    return { kind: 'gpu', buffer, offset: byteOffset, owned: false };
  }

  /** Rejects a caller's buffer that belongs to another device (one cheap validation, once per buffer). */
  private async checkDevices(tensors: Readonly<Record<string, TensorStorage>>): Promise<void> {
    for (const [name, s] of Object.entries(tensors)) {
      if (s.kind !== 'gpu' || s.owned) continue;
      const why = await this.runner.buffers.foreign(s.buffer);
      if (why) {
        const reason = /associated with/.test(why) ? 'it was made on another GPUDevice' : why.split('\n')[0]!.trim();
        throw new AttentionInputError(
          `${name}: the GPUBuffer cannot be used on this Attention's device (${reason}); make it on the device passed to createAttention({ backend: { device } })`,
        );
      }
    }
  }

  async recover(): Promise<void> {
    checkLive(this);
    if (!this.runner.life.lostInfo) return;
    if (!this.ownsDevice || !this.renew) {
      throw new AttentionBackendError('the GPU device passed to createAttention was lost; create a new Attention with a new device');
    }
    this.runner.destroy();
    this.runner = await this.renew();
    this.runner.life.recoverable = true;
  }

  get adapter(): AdapterSummary {
    return this.runner.acquired.summary;
  }

  store(data: HostData, label: string): TensorStorage {
    if (data.dtype === 'f32') return owned(this.runner.upload(data.values, label));
    // writeBuffer moves whole 4-byte words: an odd count of f16s gets a zero after it.
    const bits = data.bits.length % 2 ? Uint16Array.from({ length: data.bits.length + 1 }, (_, i) => data.bits[i] ?? 0) : data.bits;
    return owned(this.runner.upload(bits, label));
  }

  readBack(storage: TensorStorage, count: number, dtype: DType): Promise<Float32Array> {
    checkLive(this);
    if (storage.kind !== 'gpu') throw new Error('WebGPU backend given a CPU tensor');
    const { buffer, offset } = storage;
    if (!(buffer.usage & COPY_SRC)) {
      throw new AttentionInputError(
        `read(): the tensor's GPUBuffer lacks COPY_SRC usage (usage 0x${buffer.usage.toString(16)}), so it cannot be copied out to the host; create it with GPUBufferUsage.COPY_SRC, or read it with your own code`,
      );
    }
    const runner = this.runner;
    const bytes = Math.ceil((count * bytesOf(dtype)) / 4) * 4; // mapped ranges come in whole 4-byte words
    const values = (b: ArrayBuffer) => (dtype === 'f16' ? fromHalf(new Uint16Array(b, 0, count)) : new Float32Array(b));
    // Nothing in line: the copy is submitted now, before the caller's next statement (a destroy(), a synchronous op).
    if (runner.order.idle) return runner.buffers.read(buffer, bytes, offset).then(values);
    return runner.order.inTurn(async (turn) => {
      await turn.before; // after the calls made before it, which may write this tensor
      const reading = runner.buffers.read(buffer, bytes, offset); // submits its copy before it first waits
      turn.done();
      return values(await reading);
    });
  }

  /** The forward's kernel program for a call on this adapter. */
  forwardProgram(c: AttentionCall): Program {
    const caps = this.runner.caps;
    if (c.algorithm === 'flash') return flashOrDecodeProgram(c, caps);
    // The baselines compute in f32: an f16 call widens its inputs and narrows O around them.
    const build = c.algorithm === 'naive' ? naiveProgram : basicProgram;
    return viaF32(c, (f32) => build(f32, caps), { inputs: ['q', 'k', 'v'], outputs: ['out'] }, caps.limits.maxComputeWorkgroupsPerDimension);
  }

  /** The backward's kernel program: an f16 call on the tensor-core passes where it can, else the f32 passes between a widen and a narrow. */
  backwardProgram(c: BackwardCall): Program {
    const caps = this.runner.caps;
    const tc = matrixBackwardLayout(c, caps);
    if (tc) return matrixBackwardProgram(c, tc, caps);
    const names = { inputs: ['q', 'k', 'v', 'out', 'dout'], outputs: ['dq', 'dk', 'dv'] };
    return viaF32(c, (f32) => backwardProgram(f32, caps), names, caps.limits.maxComputeWorkgroupsPerDimension);
  }

  /** The call's tensors as the runner binds them, by name. */
  private bindings(c: AttentionCall, t: Readonly<Record<string, TensorStorage>>): Record<string, BindingResource> {
    const p = c.problem;
    const eb = bytesOf(c.dtype);
    const bytes: Record<string, number> = {
      q: p.batch * p.headsQ * p.seqQ * p.headDim * eb,
      k: c.pages ? poolBytes(c) : p.batch * p.headsKv * p.seqK * p.headDim * eb,
      lse: p.batch * p.headsQ * p.seqQ * 4,
    };
    const sizeOf = (name: string) => bytes[{ v: 'k', out: 'q', dout: 'q', dq: 'q', dk: 'k', dv: 'k' }[name] ?? name]!;
    return Object.fromEntries(Object.entries(t).map(([name, s]) => [name, gpuResource(s, sizeOf(name))]));
  }

  // forward, backward, combine and readBack take their place in the submission order when called (runtime/order.ts).
  forward(c: AttentionCall, t: ForwardTensors, into: { readonly out?: TensorStorage } = {}) {
    const runner = this.runner; // the one whose line the call takes its place in (recover() may replace it meanwhile)
    return runner.order.inTurn(async (turn) => {
      await this.checkDevices({ ...t, ...named('into.', into) });
      const { outputs } = await runner.execute(this.forwardProgram(c), this.bindings(c, { ...t, ...into }), turn);
      return { out: into.out ?? owned(outputs.out!), lse: owned(outputs.lse!) };
    });
  }

  /**
   * forward() submitted before returning, for a framework's synchronous op; `into` may
   * also hold `lse`. Caller's buffers are not checked against the device (the caller
   * guarantees it); `done` rejects on a GPU error.
   */
  forwardNow(c: AttentionCall, t: ForwardTensors, into: { readonly out?: TensorStorage; readonly lse?: TensorStorage } = {}) {
    const { outputs, done } = this.runner.executeNow(this.forwardProgram(c), this.bindings(c, { ...t, ...into }));
    return { out: into.out ?? owned(outputs.out!), lse: into.lse ?? owned(outputs.lse!), done };
  }

  backward(c: BackwardCall, t: BackwardTensors, into: GradTensors = {}): Promise<BackendGrads> {
    const runner = this.runner;
    return runner.order.inTurn(async (turn) => {
      await this.checkDevices({ ...t, ...named('into.', into) });
      const { outputs, host } = await runner.execute(this.backwardProgram(c), this.bindings(c, { ...t, ...into }), turn);
      const grad = (name: 'dq' | 'dk' | 'dv') => into[name] ?? owned(outputs[name]!);
      return { dq: grad('dq'), dk: grad('dk'), dv: grad('dv'), dsinks: host.dsinks, dtables: host.dtables };
    });
  }

  /** backward() submitted before returning, as forwardNow(); no sink or table gradients (they are read back). */
  backwardNow(c: BackwardCall, t: BackwardTensors, into: GradTensors = {}) {
    const { outputs, done } = this.runner.executeNow(this.backwardProgram(c), this.bindings(c, { ...t, ...into }));
    const grad = (name: 'dq' | 'dk' | 'dv') => into[name] ?? owned(outputs[name]!);
    return { dq: grad('dq'), dk: grad('dk'), dv: grad('dv'), done };
  }

  combine(parts: readonly PartTensors[], shape: Shape4, layout: Layout, dtype: DType) {
    const runner = this.runner;
    return runner.order.inTurn((turn) => this.combineIn(runner, turn, parts, shape, layout, dtype));
  }

  private async combineIn(runner: WebGpuRunner, turn: Turn, parts: readonly PartTensors[], shape: Shape4, layout: Layout, dtype: DType) {
    const rows = shape.batch * shape.heads * shape.seq;
    const tensors: Record<string, TensorStorage> = {};
    parts.forEach((p, i) => Object.assign(tensors, { [`o${i}`]: p.out, [`lse${i}`]: p.lse }));
    await this.checkDevices(
      Object.fromEntries(
        parts.flatMap((p, i) => [
          [`parts[${i}].out`, p.out],
          [`parts[${i}].lse`, p.lse],
        ]),
      ),
    );
    const bytes = (name: string) => (name.startsWith('o') ? rows * shape.headDim * bytesOf(dtype) : rows * 4);
    const resources = Object.fromEntries(Object.entries(tensors).map(([name, s]) => [name, gpuResource(s, bytes(name))]));
    const program = mergeProgram({ parts: parts.length, ...shape, strides: stridesOf(shape, layout), dtype }, this.runner.caps);
    const { outputs } = await runner.execute(program, resources, turn);
    return { out: owned(outputs.out!), lse: owned(outputs.lse!) };
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.runner.life.destroyed = true;
    this.runner.destroy();
    if (this.ownsDevice) this.runner.device.destroy();
  }
}

/** `tensors` with each name prefixed, as messages call them (e.g. 'into.out'). */
function named(prefix: string, tensors: object): Record<string, TensorStorage> {
  const entries = Object.entries(tensors) as [string, TensorStorage | undefined][];
  return Object.fromEntries(entries.flatMap(([name, s]) => (s ? [[`${prefix}${name}`, s]] : [])));
}
