/*
 * The WebGPU runner: the one object that owns a device for the library. It runs
 * kernel programs (kernels/program.ts) and knows nothing of what they compute:
 * it allocates the buffers a program declares, binds each step's buffers and
 * uniform values by name, dispatches, submits inside error scopes, reads back,
 * and turns a lost device into one clear error.
 */
import { scopeError } from './scope-error.js';
import { SubmitOrder, type Turn } from './order.js';
import type { Caps, TunedTiles } from '../kernels/call.js';
import { packParams } from '../kernels/params.js';
import { padBytes, type BufferDecl, type BufferRef, type HostResults, type Program } from '../kernels/program.js';
import { AttentionInputError } from '../tensor/errors.js';
import { Buffers, STORAGE, UNIFORM, type BindingResource } from './buffers.js';
import { ResultCache } from './cache.js';
import { kernelLimits, type AcquiredDevice } from './device.js';
import { DeviceLife } from './device-life.js';
import { checkBindingCount, encodeDispatches, prepareDispatch, type PreparedDispatch } from './encode.js';
import { getPipeline, pipelineNow } from './pipelines.js';
import { subgroupLanesFollowIndex } from './probe.js';
import { EMULATED_MATRIX, matrixCaps } from './matrix-caps.js';
import type { MatrixCaps } from '../kernels/matrix-program.js';

export interface RunnerOptions {
  /** Fill outputs with NaN before each run (testing: unwritten elements show up). Default false. */
  readonly poisonOutputs?: boolean;
  /** Whether kernels may reduce with subgroup shuffles where the device allows. Default true. */
  readonly allowSubgroups?: boolean;
  /** Testing aid: bind at most this many bytes at once, to exercise the splitting of large calls. */
  readonly bindingLimit?: number;
  /** Whether f16 calls may stage f16 workgroup tiles where the device has 'shader-f16'. Default true. */
  readonly halfTiles?: boolean;
  /**
   * f16 forwards on the matrix units where the device offers f16 subgroup matrices
   * (default true); 'emulate' is a testing aid: the tensor-core kernel with its matrix
   * operations emulated in workgroup memory, on any adapter.
   */
  readonly tensorCores?: boolean | 'emulate';
}

/** A program ready to encode (once, or many times in benchmarks). */
export interface PreparedProgram {
  readonly dispatches: readonly PreparedDispatch[];
  readonly labels: readonly string[];
  /** The program's outputs, owned by the caller from here on. */
  readonly outputs: Readonly<Record<string, GPUBuffer>>;
  /** @internal What each name resolves to (host reads). */
  readonly resolve: (name: string) => BindingResource;
  /** Returns scratch, uploads and uniforms to the pool (not the outputs). */
  release(): void;
}

/** Results kept between calls (block masks), per runner. */
const CACHE_SIZE = 64;

export class WebGpuRunner {
  readonly device: GPUDevice;
  readonly acquired: AcquiredDevice;
  readonly life: DeviceLife;
  readonly buffers: Buffers;
  readonly poisonOutputs: boolean;
  readonly allowSubgroups: boolean;
  /** f16 calls stage f16 workgroup tiles (the 'f16-shader' tier): the option and the device's 'shader-f16'. */
  readonly halfTiles: boolean;
  /** What the tensor-core forward can use here (undefined: nothing, or turned off). */
  readonly matrix?: MatrixCaps;
  /** Tiles found by a timed search (harness/tune.ts), by shape class; they win over the defaults. */
  readonly tuned: TunedTiles = new Map();
  /** Lanes of the smallest subgroup kernels may rely on (0: none); set by probeSubgroups(). */
  subgroupWidth = 0;
  /** Lanes of every subgroup where the adapter's smallest and largest agree (0: they differ, or none); set by probeSubgroups(). */
  subgroupExact = 0;
  private readonly bindingLimit: number;
  private readonly cache: ResultCache;
  /** Calls submit in the order they were made (order.ts). */
  readonly order = new SubmitOrder();

  constructor(acquired: AcquiredDevice, opts: RunnerOptions = {}) {
    this.acquired = acquired;
    this.device = acquired.device;
    this.poisonOutputs = opts.poisonOutputs ?? false;
    this.allowSubgroups = opts.allowSubgroups ?? true;
    this.bindingLimit = opts.bindingLimit ?? Infinity;
    this.halfTiles = (opts.halfTiles ?? true) && acquired.device.features.has('shader-f16');
    const info = acquired.adapter?.info ?? (acquired.device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    const tc = opts.tensorCores ?? true;
    this.matrix = tc === 'emulate' ? EMULATED_MATRIX : tc ? matrixCaps(acquired.device, info) : undefined;
    this.life = new DeviceLife(acquired.device);
    this.buffers = new Buffers(acquired.device, this.life);
    this.cache = new ResultCache(this.buffers, CACHE_SIZE);
  }

  /** What kernel programs need to know of this adapter. */
  get caps(): Caps {
    const l = this.device.limits;
    return {
      limits: kernelLimits(l),
      maxBindingBytes: Math.min(l.maxStorageBufferBindingSize, l.maxBufferSize, this.bindingLimit),
      subgroupWidth: this.subgroupWidth,
      subgroupExact: this.subgroupExact,
      tuned: this.tuned,
      halfTiles: this.halfTiles,
      matrix: this.matrix,
    };
  }

  /** Finds subgroupWidth: the feature, the adapter's minimum size, and lanes in index order. */
  async probeSubgroups(): Promise<number> {
    if (!this.allowSubgroups || !this.device.features.has('subgroups')) return (this.subgroupExact = this.subgroupWidth = 0);
    const info = this.acquired.adapter?.info ?? (this.device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    const sizes = info as { subgroupMinSize?: number; subgroupMaxSize?: number } | undefined;
    const minSize = sizes?.subgroupMinSize ?? 0;
    this.subgroupWidth = minSize > 0 && (await subgroupLanesFollowIndex(this.device)) ? minSize : 0;
    this.subgroupExact = this.subgroupWidth > 0 && sizes?.subgroupMaxSize === minSize ? minSize : 0;
    return this.subgroupWidth;
  }

  /**
   * Allocates what `program` declares, compiles its kernels and binds them; `tensors`
   * are the caller's buffers by name ('q', 'k', …), whole or as ranges; an output given
   * among them is written there instead of a new buffer.
   */
  async prepare(program: Program, tensors: Readonly<Record<string, BindingResource>>): Promise<PreparedProgram> {
    this.life.checkAlive();
    // Compile and build first, with errors that name the kernel; then bind with no waiting.
    for (const decl of Object.values(program.buffers)) if (decl.role === 'cached') await this.buildCached(decl, false);
    for (const step of program.steps) {
      checkBindingCount(this.device, step.spec);
      await getPipeline(this.device, step.spec);
    }
    return this.prepareNow(program, tensors);
  }

  /**
   * prepare() without waiting: a pipeline not compiled yet is created synchronously, and
   * a cached buffer not built yet is built by a submission of its own, now.
   */
  prepareNow(program: Program, tensors: Readonly<Record<string, BindingResource>>): PreparedProgram {
    this.life.checkAlive();
    const own: Record<string, GPUBuffer> = {};
    // An output the caller passes ('out' into its own buffer) is bound, not allocated.
    const outputs: Record<string, GPUBuffer> = {};
    const pooled: GPUBuffer[] = [];
    const fresh: GPUBuffer[] = [];
    const pinned: GPUBuffer[] = []; // kept results it binds: not freed (if evicted meanwhile) before it has submitted
    const release = () => {
      pooled.forEach((b) => this.buffers.giveBack(b));
      fresh.forEach((b) => b.destroy());
      pinned.forEach((b) => this.cache.unpin(b));
    };
    try {
      for (const [name, decl] of Object.entries(program.buffers)) {
        if (decl.role === 'output' && tensors[name]) continue;
        own[name] = this.allocate(decl, { pooled, fresh, pinned });
        if (decl.role === 'output') outputs[name] = own[name]!;
      }
      const resolve = (name: string): BindingResource => {
        const r = own[name] ?? tensors[name];
        if (!r) throw new Error(`program binds '${name}', which it neither declares nor was given`);
        return r;
      };
      const bind = (ref: BufferRef): BindingResource => {
        if (typeof ref === 'string') return resolve(ref);
        const r = resolve(ref.name);
        return 'offset' in r ? { buffer: r.buffer, offset: r.offset + ref.offset, size: ref.size } : { buffer: r, offset: ref.offset, size: ref.size };
      };
      const uniforms = new Map<object, GPUBuffer>(); // steps sharing one values object share one buffer
      const dispatches: PreparedDispatch[] = [];
      for (const step of program.steps) {
        let params = uniforms.get(step.values);
        if (!params) {
          const data = packParams(step.params, step.values);
          params = this.buffers.take(data.byteLength, UNIFORM, `${step.spec.label} params`);
          pooled.push(params);
          this.device.queue.writeBuffer(params, 0, data);
          uniforms.set(step.values, params);
        }
        const resources: Record<string, BindingResource> = { params };
        for (const b of step.spec.bindings) if (b.name in step.buffers) resources[b.name] = bind(step.buffers[b.name]!);
        checkBindingCount(this.device, step.spec);
        dispatches.push(prepareDispatch(this.device, step.spec, pipelineNow(this.device, step.spec), resources, step.grid));
      }
      return { dispatches, labels: program.labels, outputs, resolve, release };
    } catch (e) {
      release();
      Object.values(outputs).forEach((b) => b.destroy());
      throw e;
    }
  }

  private allocate(decl: BufferDecl, lists: { pooled: GPUBuffer[]; fresh: GPUBuffer[]; pinned: GPUBuffer[] }): GPUBuffer {
    switch (decl.role) {
      case 'output': {
        const b = this.buffers.storage(decl.bytes, decl.label);
        if (this.poisonOutputs) this.buffers.poison(b);
        return b;
      }
      case 'scratch': {
        // Zeroed scratch is fresh (new buffers are zero); the rest comes from the pool.
        const b = decl.zeroed ? this.buffers.storage(decl.bytes, decl.label) : this.buffers.take(padBytes(decl.bytes), STORAGE, decl.label);
        (decl.zeroed ? lists.fresh : lists.pooled).push(b);
        return b;
      }
      case 'upload': {
        const b = this.buffers.take(padBytes(decl.data.byteLength), STORAGE, decl.label);
        lists.pooled.push(b);
        this.device.queue.writeBuffer(b, 0, decl.data.buffer, decl.data.byteOffset, decl.data.byteLength);
        return b;
      }
      case 'cached': {
        const b = this.buildCached(decl, true);
        this.cache.pin(b);
        lists.pinned.push(b);
        return b;
      }
    }
  }

  /** A cached buffer (a block mask): kept from an earlier call, or built now and kept. */
  private buildCached(decl: Extract<BufferDecl, { role: 'cached' }>, now: true): GPUBuffer;
  private buildCached(decl: Extract<BufferDecl, { role: 'cached' }>, now: false): Promise<GPUBuffer>;
  private buildCached(decl: Extract<BufferDecl, { role: 'cached' }>, now: boolean): GPUBuffer | Promise<GPUBuffer> {
    const uploads = Object.values(decl.build.buffers).flatMap((d) => (d.role === 'upload' ? [d.data] : []));
    const hit = this.cache.get(decl.key, uploads);
    if (hit) return now ? hit : Promise.resolve(hit);
    const keep = (outputs: Readonly<Record<string, GPUBuffer>>): GPUBuffer => {
      for (const [name, b] of Object.entries(outputs)) if (name !== decl.output) b.destroy();
      this.cache.set(decl.key, outputs[decl.output]!, uploads);
      return outputs[decl.output]!;
    };
    if (now) {
      const { outputs, done } = this.executeNow(decl.build, {});
      void done.catch(() => {}); // its failure fails the call that binds the mask
      return keep(outputs);
    }
    // A build of this key under way (calls made at once with one mask): wait for it, then look again.
    const under = this.building.get(decl.key);
    if (under) return under.then(() => this.buildCached(decl, false));
    const built = this.execute(decl.build, {}, null).then(({ outputs }) => keep(outputs));
    const settled = built.then(
      () => {},
      () => {},
    );
    this.building.set(decl.key, settled);
    void settled.then(() => this.building.get(decl.key) === settled && this.building.delete(decl.key));
    return built;
  }
  /** Block-mask builds under way, by key: settled (whatever their outcome) once kept or failed. */
  private readonly building = new Map<string, Promise<void>>();

  /**
   * Encodes and submits a prepared program inside error scopes; rejects with the kernel
   * labels on a validation or out-of-memory error, and with AttentionBackendError if the
   * device is lost.
   */
  async run(prepared: Pick<PreparedProgram, 'dispatches' | 'labels'>, turn: Turn | null = this.order.take()): Promise<void> {
    try {
      this.life.checkAlive();
      if (turn) await turn.before;
      this.life.checkAlive();
      const submitted = this.submitScoped(prepared);
      turn?.done();
      return await this.life.guard(submitted);
    } finally {
      turn?.done();
    }
  }

  /** Pushes the scopes, submits and pops them in one synchronous stretch (so no other submission's scopes interleave). */
  private async submitScoped(prepared: Pick<PreparedProgram, 'dispatches' | 'labels'>): Promise<void> {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    let failure: unknown;
    try {
      const enc = this.device.createCommandEncoder({ label: prepared.labels.join(' + ') });
      encodeDispatches(enc, prepared.dispatches);
      this.device.queue.submit([enc.finish()]);
    } catch (e) {
      failure = e ?? new Error('submission failed');
    }
    const validation = this.device.popErrorScope();
    const oom = this.device.popErrorScope();
    if (failure !== undefined) {
      [validation, oom].forEach((p) => p.catch(() => {})); // the failure is the error
      throw failure;
    }
    const [v, o] = await Promise.all([validation, oom]);
    const err = scopeError(prepared.labels.join(', '), v, o, this.buffers.labels);
    if (err) throw err;
  }

  /**
   * Prepares, runs and releases `program`; returns its outputs and what its host step computed.
   * It submits in `turn` (by default a place taken now); null: out of line, for work whose
   * order does not matter (a block mask's build writes only a buffer of its own).
   */
  async execute(
    program: Program,
    tensors: Readonly<Record<string, BindingResource>>,
    turn: Turn | null = this.order.take(),
  ): Promise<{ outputs: Record<string, GPUBuffer>; host: HostResults }> {
    let prepared: PreparedProgram;
    try {
      prepared = await this.prepare(program, tensors);
    } catch (e) {
      turn?.done();
      throw e;
    }
    try {
      await this.run(prepared, turn);
      const host = program.host;
      if (!host) return { outputs: { ...prepared.outputs }, host: {} };
      const reads = await Promise.all(host.reads.map((name) => this.readResource(prepared.resolve(name))));
      return { outputs: { ...prepared.outputs }, host: host.compute(Object.fromEntries(host.reads.map((n, i) => [n, reads[i]!]))) };
    } catch (e) {
      Object.values(prepared.outputs).forEach((b) => b.destroy());
      throw e;
    } finally {
      prepared.release();
    }
  }

  /**
   * Prepares, encodes and submits `program` before returning, for callers that cannot
   * wait (a framework's synchronous op, whose next op the framework submits right
   * after): its outputs, and `done`, which rejects like run() on a validation or
   * out-of-memory error or a lost device. A program with a host step (it reads
   * results back) cannot run this way.
   */
  executeNow(program: Program, tensors: Readonly<Record<string, BindingResource>>): { outputs: Record<string, GPUBuffer>; done: Promise<void> } {
    if (program.host) throw new AttentionInputError(`${program.labels.join(', ')} reads results back to the host and cannot run synchronously`);
    // Scopes pushed and popped in this one synchronous turn nest inside any other submission's.
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    let prepared: PreparedProgram | undefined;
    let failure: unknown;
    try {
      prepared = this.prepareNow(program, tensors);
      const enc = this.device.createCommandEncoder({ label: prepared.labels.join(' + ') });
      encodeDispatches(enc, prepared.dispatches);
      this.device.queue.submit([enc.finish()]);
    } catch (e) {
      failure = e;
      if (prepared) Object.values(prepared.outputs).forEach((b) => b.destroy());
    }
    prepared?.release();
    const scopes = [this.device.popErrorScope(), this.device.popErrorScope()] as const;
    if (failure !== undefined || !prepared) {
      scopes.forEach((p) => p.catch(() => {}));
      throw failure;
    }
    const labels = program.labels.join(', ');
    const done = Promise.all(scopes).then(([validation, oom]) => {
      const err = scopeError(labels, validation, oom, this.buffers.labels);
      if (err) throw err;
    });
    return { outputs: { ...prepared.outputs }, done: this.life.guard(done) };
  }

  private readResource(r: BindingResource): Promise<ArrayBuffer> {
    return 'offset' in r ? this.buffers.read(r.buffer, r.size, r.offset) : this.buffers.read(r, r.size);
  }

  /** Uploads data (f32 values, f16 bits) to a new storage buffer (owned by the caller). */
  upload(data: Float32Array | Uint16Array, label: string): GPUBuffer {
    return this.buffers.upload(data, label);
  }

  /** Reads `count` floats back from the start of a storage buffer. */
  async read(buffer: GPUBuffer, count: number): Promise<Float32Array> {
    return new Float32Array(await this.buffers.read(buffer, count * 4));
  }

  /** Frees pooled and cached buffers (not the device: the backend decides). */
  destroy(): void {
    this.buffers.destroyAll();
  }
}
