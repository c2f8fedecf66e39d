/*
 * The public entry point: createAttention() picks a backend, and the returned
 * Attention object makes tensors and runs forward passes on it.
 *
 *   const attn = await createAttention();                  // WebGPU, else CPU
 *   const q = attn.tensor(qData, [B, Hq, Nq, D]);
 *   const { out, lse } = await attn.forward(q, k, v, { causal: true, returnLse: true });
 *   const o = await out.read();                             // Float32Array, q's layout
 */
import { acquireDevice, wrapDevice, type AcquiredDevice, type AdapterSummary } from '../runtime/device.js';
import { WebGpuRunner } from '../runtime/runner.js';
import { loadTuned } from '../runtime/tuning.js';
import { selfTest } from '../runtime/probe.js';
import { BlockMask, blockMaskOnCpu, blockMaskPositions, type BlockMaskShape } from '../mods/blockmask.js';
import { outOfRangeRead } from '../mods/ranges.js';
import type { Modifier } from '../mods/modifier.js';
import { tableName } from '../mods/grad.js';
import { CPU_TILE } from '../cpu/forward.js';
import { tileRows } from '../kernels/forward.js';
import { blockMaskProgram } from '../kernels/blockmask.js';
import { forwardTile } from '../kernels/tile-policy.js';
import { lowerVariant } from '../kernels/variant.js';
import { AttentionBackendError, AttentionInputError } from '../tensor/errors.js';
import { bytesOf } from '../tensor/half.js';
import { numel, shapeToString } from '../tensor/shape.js';
import { checkLayout, shapeFromDims } from '../tensor/validate.js';
import { checkLive, WebGpuBackend, type Backend } from './backends.js';
import { CpuBackend } from './cpu-backend.js';
import { backwardCall, checkStatsTensor, forwardCall, type SavedTensors } from './call.js';
import { checkBackwardOptions, checkBlockMaskArgs, checkCreateOptions, checkForwardOptions, checkKVCacheOptions, checkTensorOptions } from './check-options.js';
import { decodeOver, type DecodeOptions } from './decode.js';
import { DEFAULT_CAPACITY, KVCache } from './kv-cache.js';
import type { KVCacheLike, KVCacheOptions, StreamingOptions } from './kv-cache-types.js';
import { StreamingKVCache } from './streaming-cache.js';
import { hostData, type TensorData } from './host-data.js';
import { type BackwardOptions, type CreateOptions, type ForwardOptions, type TensorOptions } from './options.js';
import { AttentionTensor, operandStorages, checkApart, type TensorStorage } from './tensor.js';
import { PagedKVCache, type PagedKVCacheOptions } from './paged-cache.js';

export interface ForwardResult {
  /** O, same shape and layout as q. */
  readonly out: AttentionTensor;
  /** Natural-log LSE per query row, [B, Hq, Nq, 1]; −∞ for rows with every key masked. Only with returnLse. */
  readonly lse?: AttentionTensor;
}

export interface BackwardResult {
  readonly dq: AttentionTensor;
  readonly dk: AttentionTensor;
  readonly dv: AttentionTensor;
  /** ∂L/∂sink logit, one per query head, when forward used learnedSinks. */
  readonly dsinks?: Float32Array;
  /**
   * ∂L/∂table for each table the score modifier reads (e.g. `slopes` of alibi, `bias`
   * of relativeBias), by table name; a name used by two composed modifiers gets
   * `name`, `name_2`, …. Present unless `tableGrads: false` or no table is read.
   */
  readonly dtables?: Readonly<Record<string, Float32Array>>;
}

export class Attention {
  /** @internal */
  readonly impl: Backend;
  /** Why 'auto' fell back to the CPU, if it did. */
  readonly fallbackReason?: string;

  /** @internal Use createAttention(). */
  constructor(impl: Backend, fallbackReason?: string) {
    this.impl = impl;
    this.fallbackReason = fallbackReason;
  }

  /** 'webgpu' or 'cpu'. */
  get backend(): 'webgpu' | 'cpu' {
    return this.impl.kind;
  }

  /** Vendor and device of the adapter in use. */
  get adapter(): AdapterSummary {
    return this.impl.adapter;
  }

  /** The GPUDevice, when the backend is WebGPU. */
  get device(): GPUDevice | undefined {
    return this.impl instanceof WebGpuBackend ? this.impl.runner.device : undefined;
  }

  /**
   * A [B, H, N, D] tensor on this backend, in `layout` order (default 'bhnd'), of
   * `dtype` 'f32' or 'f16' (default: 'f16' for f16 data, else 'f32'):
   * - from host data, uploaded once: a Float32Array or numbers (converted to f16, to
   *   nearest, when dtype is 'f16'), a Uint16Array of f16 bit patterns, or a
   *   Float16Array where the runtime has one;
   * - from a caller's GPUBuffer on this Attention's device (WebGPU only): wrapped with no
   *   copy, starting at `byteOffset`, holding `dtype` elements. The buffer stays the
   *   caller's: it needs STORAGE usage and room for the tensor; `destroy()` on the tensor
   *   leaves it alone, and the caller must not destroy it while a call that reads or
   *   writes it is pending.
   * @param dims [batch, heads, seq, headDim]
   */
  tensor(data: TensorData | GPUBuffer, dims: readonly number[], opts: TensorOptions = {}): AttentionTensor {
    checkLive(this.impl);
    const shape = shapeFromDims(dims, 'dims'); // first: attn.tensor(data, 1, 2, 8, 32) is a dims mistake, not an options one
    opts = checkTensorOptions(opts);
    const layout = checkLayout(opts.layout ?? 'bhnd', 'layout');
    if (isGpuBuffer(data)) {
      if (!(this.impl instanceof WebGpuBackend))
        throw new AttentionInputError('a GPUBuffer can only be wrapped by a WebGPU Attention (this one runs on the CPU)');
      const dtype = opts.dtype ?? 'f32';
      const storage = this.impl.wrap(data, opts.byteOffset ?? 0, numel(shape) * bytesOf(dtype), 'tensor');
      return new AttentionTensor(this.impl, storage, shape, layout, dtype);
    }
    if (opts.byteOffset !== undefined) throw new AttentionInputError('byteOffset applies to a GPUBuffer, not to host data');
    const host = hostData(data, opts.dtype);
    if (host.length !== numel(shape)) {
      throw new AttentionInputError(`data has ${host.length} elements, but dims ${shapeToString(shape)} need ${numel(shape)}`);
    }
    return new AttentionTensor(this.impl, this.impl.store(host, `tensor ${shapeToString(shape)}`), shape, layout, host.dtype);
  }

  /**
   * After the GPU device was lost (every call then rejects with AttentionBackendError
   * saying so): acquires a new device so the next calls work. Tensors made before are
   * gone with the old device; upload them again. A no-op when nothing was lost; an
   * error for a device the caller passed in (make a new Attention with a new device).
   */
  async recover(): Promise<void> {
    await this.impl.recover();
  }

  /** Attention forward: O = softmax(scale·QKᵀ + mask)·V, and optionally LSE. */
  async forward(q: AttentionTensor, k: AttentionTensor, v: AttentionTensor, opts: ForwardOptions = {}): Promise<ForwardResult> {
    checkLive(this.impl);
    opts = checkForwardOptions(opts);
    const t = this.operands({ q, k, v });
    const call = forwardCall(q, k, v, opts);
    const into = opts.into?.out && this.intoTensor(opts.into.out, 'into.out', q, { q, k, v });
    const { out, lse } = await this.impl.forward(call, t, into && { out: this.operands({ 'into.out': into })['into.out'] });
    const outT = into ?? new AttentionTensor(this.impl, out, q.shape, q.layout, call.dtype);
    const p = call.problem;
    const lseT = new AttentionTensor(this.impl, lse, { batch: p.batch, heads: p.headsQ, seq: p.seqQ, headDim: 1 }, 'bhnd');
    if (opts.returnLse) return { out: outT, lse: lseT };
    lseT.destroy();
    return { out: outT };
  }

  /**
   * Attention backward: gradients of a loss L with respect to q, k, v (and the sink
   * logits), given dOut = ∂L/∂O and what forward saved. Pass the same options as
   * the forward call. Nothing N×N is stored; dK/dV of a GQA group are summed over
   * its query heads; the result is deterministic.
   * @param dOut [B, Hq, Nq, D], same shape and layout as q
   * @param saved q, k, v, and out and lse from forward(…, { returnLse: true })
   * @returns dq (q's shape and layout), dk, dv (k's and v's), dsinks (one per query head, with sinks),
   *   dtables (the score modifier's tables, unless `tableGrads: false`)
   */
  async backward(
    dOut: AttentionTensor,
    saved: Omit<SavedTensors, 'lse'> & { readonly lse?: AttentionTensor },
    opts: BackwardOptions = {},
  ): Promise<BackwardResult> {
    checkLive(this.impl);
    opts = checkBackwardOptions(opts);
    const { q, k, v, out, lse } = saved ?? ({} as never);
    if (!lse) throw new AttentionInputError('backward needs saved.lse: run forward with { returnLse: true }');
    const t = this.operands({ dOut, q, k, v, out, lse });
    const call = backwardCall(dOut, { q, k, v, out, lse }, opts);
    const into: { dq?: AttentionTensor; dk?: AttentionTensor; dv?: AttentionTensor } = {};
    for (const [name, like] of [
      ['dq', q],
      ['dk', k],
      ['dv', v],
    ] as const) {
      const x = opts.into?.[name];
      const taken = { dOut, q, k, v, out, lse, ...Object.fromEntries(Object.entries(into).map(([n, t]) => [`into.${n}`, t])) };
      if (x) into[name] = this.intoTensor(x, `into.${name}`, like, taken);
    }
    const g = await this.impl.backward(call, { ...t, dout: t.dOut }, this.operands(into));
    return {
      dq: into.dq ?? new AttentionTensor(this.impl, g.dq, q.shape, q.layout, call.dtype),
      dk: into.dk ?? new AttentionTensor(this.impl, g.dk, k.shape, k.layout, call.dtype),
      dv: into.dv ?? new AttentionTensor(this.impl, g.dv, v.shape, v.layout, call.dtype),
      ...(g.dsinks ? { dsinks: g.dsinks } : {}),
      ...(g.dtables ? { dtables: byName(g.dtables) } : {}),
    };
  }

  /**
   * Merges partial results computed over disjoint key sets into the exact result, as
   * one forward over all their keys would give (the online softmax's rescaling):
   * LSE = log Σ_i exp(LSE_i), O = Σ_i exp(LSE_i − LSE)·O_i. A part whose LSE is −∞ (it saw
   * no key of the row) weighs nothing; a row no part saw gives O = 0, LSE = −∞; NaN
   * propagates. For context-parallel and ring attention: each device computes
   * `forward(q, kᵢ, vᵢ, { returnLse: true })` over its keys, and this merges them.
   * @param parts `{ out, lse }` of this Attention: every `out` of one shape and layout,
   *   every `lse` [B, H, N, 1] ('bhnd', as forward returns it)
   * @returns new tensors: `out` (the parts' shape and layout) and `lse` ([B, H, N, 1])
   */
  async combine(parts: readonly { readonly out: AttentionTensor; readonly lse: AttentionTensor }[]): Promise<{ out: AttentionTensor; lse: AttentionTensor }> {
    checkLive(this.impl);
    if (!Array.isArray(parts) || parts.length < 1) throw new AttentionInputError('combine needs a non-empty array of { out, lse } parts');
    const storages = parts.map((p, i) => {
      const t = this.operands({ [`parts[${i}].out`]: p?.out, [`parts[${i}].lse`]: p?.lse });
      return { out: t[`parts[${i}].out`]!, lse: t[`parts[${i}].lse`]! };
    });
    const { shape, layout, dtype } = parts[0]!.out;
    const lseShape = { ...shape, headDim: 1 };
    parts.forEach(({ out, lse }, i) => {
      if (shapeToString(out.shape) !== shapeToString(shape) || out.layout !== layout || out.dtype !== dtype) {
        throw new AttentionInputError(
          `parts[${i}].out is ${shapeToString(out.shape)} '${out.layout}' ${out.dtype}, but parts[0].out is ${shapeToString(shape)} '${layout}' ${dtype}`,
        );
      }
      checkStatsTensor(lse, `parts[${i}].lse`);
      if (shapeToString(lse.shape) !== shapeToString(lseShape) || (lse.layout !== 'bhnd' && shape.heads > 1 && shape.seq > 1)) {
        throw new AttentionInputError(`parts[${i}].lse must have shape ${shapeToString(lseShape)} 'bhnd', got ${shapeToString(lse.shape)} '${lse.layout}'`);
      }
    });
    if (this.impl.kind === 'webgpu' && shape.headDim % 4 !== 0) {
      throw new AttentionInputError(`combine on WebGPU needs a head dim that is a multiple of 4, got ${shape.headDim}`);
    }
    const r = await this.impl.combine(storages, shape, layout, dtype);
    return { out: new AttentionTensor(this.impl, r.out, shape, layout, dtype), lse: new AttentionTensor(this.impl, r.lse, lseShape, 'bhnd') };
  }

  /**
   * A KV cache on this backend for B sequences of Hkv heads: K and V live on the device
   * (GPU buffers on WebGPU) and decode() reads them in place. Contiguous by default
   * (`capacity` slots per sequence, doubling when an append needs more); with
   * `streaming: { sinks, window }` a fixed-size StreamingLLM cache.
   */
  kvCache(opts: KVCacheOptions & { readonly streaming: StreamingOptions }): StreamingKVCache;
  kvCache(opts: KVCacheOptions & { readonly streaming?: undefined }): KVCache;
  kvCache(opts: KVCacheOptions): KVCache | StreamingKVCache;
  kvCache(opts: KVCacheOptions): KVCache | StreamingKVCache {
    checkLive(this.impl);
    const o = checkKVCacheOptions(opts); // a supported head dim, so a multiple of 4 as the kernels need
    const sizes = { batch: o.batch, heads: o.heads, headDim: o.headDim, dtype: o.dtype ?? 'f32' } as const;
    return o.streaming ? new StreamingKVCache(this.impl, sizes, o.streaming) : new KVCache(this.impl, sizes, o.capacity ?? DEFAULT_CAPACITY);
  }

  /**
   * Attention of the newest tokens' queries over a KV cache, read in place: q is
   * [B, Hq, Nq, D] (Nq 1 … 16: a decoding step, speculative tokens, a prefill chunk; Hq a
   * multiple of the cache's heads), row i of sequence b at position
   * lengths[b] − counts[b] + i. Causal (inside the chunk too); modifiers see those
   * positions; learned sinks work with every cache kind. Append the tokens' K and V first.
   * @returns O like q (and LSE [B, Hq, Nq, 1] with returnLse); rows past counts[b] are padding
   */
  async decode(q: AttentionTensor, cache: KVCacheLike, opts: DecodeOptions = {}): Promise<ForwardResult> {
    checkLive(this.impl);
    return decodeOver(this, q, cache, opts);
  }

  /** A tensor results go into: a live one of this instance's, shaped and laid out like `like`, and apart from `taken` (checkApart). */
  private intoTensor(t: AttentionTensor, name: string, like: AttentionTensor, taken: Readonly<Record<string, AttentionTensor>>): AttentionTensor {
    if (this.impl.kind !== 'webgpu') throw new AttentionInputError(`${name}: writing into a given tensor needs the WebGPU backend`);
    if (shapeToString(t.shape) !== shapeToString(like.shape) || t.layout !== like.layout || t.dtype !== like.dtype) {
      throw new AttentionInputError(
        `${name} must have shape ${shapeToString(like.shape)}, layout '${like.layout}' and dtype ${like.dtype}, got ${shapeToString(t.shape)} '${t.layout}' ${t.dtype}`,
      );
    }
    this.operands({ [name]: t });
    checkApart(name, t, taken);
    return t;
  }

  /** Each argument's storage, checked to be a live tensor of this instance. */
  private operands<K extends string>(tensors: Partial<Record<K, AttentionTensor>>): Record<K, TensorStorage> {
    return operandStorages(this.impl, tensors);
  }

  /**
   * The block mask of `mask` at this backend's tile size: which (Q tile, K/V tile) pairs
   * are empty, partial or full (computed on the GPU, where forward() computes and caches
   * the same one). Rows and keys sit at forward()'s positions: by default the queries are the
   * last seqQ of seqK positions; `queryOffset` and `keyOffset` move them as in forward().
   * `toString()` draws it.
   */
  async blockMask(mask: Modifier, shape: BlockMaskShape & { readonly headDim?: number }): Promise<BlockMask> {
    checkLive(this.impl);
    checkBlockMaskArgs(mask, shape); // a mask modifier made here; batch, heads, seqQ, seqK positive integers
    const problem = { batch: shape.batch, headsQ: shape.heads, headsKv: shape.heads, seqQ: shape.seqQ, seqK: shape.seqK, headDim: shape.headDim ?? 64 };
    const positions = blockMaskPositions(shape);
    // forward() refuses a table read that can leave its table; so does its map.
    const outside = outOfRangeRead(mask, problem, positions);
    if (outside) throw new AttentionInputError(outside);
    if (!(this.impl instanceof WebGpuBackend)) return blockMaskOnCpu(mask, shape, CPU_TILE.rows, CPU_TILE.keys);
    const runner = this.impl.runner;
    const { br, bc } = tileRows(forwardTile(runner.caps, problem.headDim, false, shape.seqQ));
    const { program, dims } = blockMaskProgram(
      mask,
      lowerVariant({ mask, problem, positions }),
      { batch: shape.batch, heads: shape.heads, seqQ: shape.seqQ, seqK: shape.seqK },
      br,
      bc,
    );
    const { outputs } = await runner.execute(program, {});
    try {
      const states = new Uint32Array((await runner.read(outputs.states!, dims.bm * dims.hm * dims.nQ * dims.nK)).buffer);
      return new BlockMask(mask, Object.freeze({ ...shape }), br, bc, states);
    } finally {
      outputs.states!.destroy();
    }
  }

  /**
   * A paged K/V cache on this backend (as vLLM's PagedAttention): pages from a free list, a
   * page table per sequence, fork() for shared prefixes with copy-on-write. A KVCacheLike:
   * append/truncate/reset/lengths as attn.kvCache()'s, and decode() reads the pages in place.
   * See docs/decoding.md, "Paged cache".
   */
  pagedKVCache(opts: PagedKVCacheOptions): PagedKVCache {
    checkLive(this.impl);
    return new PagedKVCache(this, opts);
  }

  /**
   * Releases the device (when the library created it), pooled buffers and worker threads. Every
   * later use of this Attention, its tensors or its caches throws AttentionInputError; calling it
   * again does nothing.
   */
  destroy(): void {
    this.impl.destroy();
  }
}

/** Whether `x` is a GPUBuffer (WebGPU's interface, from any implementation). */
function isGpuBuffer(x: unknown): x is GPUBuffer {
  const b = x as GPUBuffer | null;
  return typeof b === 'object' && b !== null && typeof b.mapAsync === 'function' && typeof b.usage === 'number' && typeof b.size === 'number';
}

/** Creates an Attention instance on the chosen backend ('auto' by default). */
export async function createAttention(opts: CreateOptions = {}): Promise<Attention> {
  opts = checkCreateOptions(opts);
  const choice = opts.backend ?? 'auto';
  const poison = opts.poisonOutputs ?? false;
  const cpuBackend = () => new CpuBackend(poison, opts.cpu?.wasm ?? undefined, opts.cpu?.threads);
  if (choice === 'cpu') return new Attention(cpuBackend());
  if (typeof choice === 'object') {
    if (!choice.device) throw new AttentionInputError('backend: { device } needs a GPUDevice');
    return new Attention(new WebGpuBackend(await runnerOn(wrapDevice(choice.device), opts), false));
  }
  if (choice !== 'auto' && choice !== 'webgpu') {
    throw new AttentionInputError(`backend must be 'auto', 'webgpu', 'cpu' or { device }, got ${JSON.stringify(choice)}`);
  }
  try {
    const make = async () => runnerOn(await acquireDevice({ dawnFlags: opts.dawnFlags }), opts);
    return new Attention(new WebGpuBackend(await make(), true, make));
  } catch (e) {
    if (choice === 'webgpu') throw e instanceof AttentionBackendError ? e : new AttentionBackendError(String(e));
    return new Attention(cpuBackend(), e instanceof Error ? e.message : String(e));
  }
}

/** Table gradients keyed by the user's table names (a repeated name gets _2, _3, …). */
function byName(grads: ReadonlyMap<string, Float32Array>): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [id, g] of grads) {
    const name = tableName(id);
    let key = name;
    for (let n = 2; key in out; n++) key = `${name}_${n}`;
    out[key] = g;
  }
  return out;
}

/**
 * A runner on `acquired` with the create options: refuses a device that computes wrong
 * results, then loads the tiles an earlier search saved, unless tuning is off.
 */
async function runnerOn(acquired: AcquiredDevice, opts: CreateOptions): Promise<WebGpuRunner> {
  const runner = new WebGpuRunner(acquired, {
    poisonOutputs: opts.poisonOutputs,
    allowSubgroups: opts.subgroups,
    bindingLimit: opts.maxBindingBytes,
    halfTiles: opts.shaderF16,
    tensorCores: opts.tensorCores,
  });
  const wrong = await selfTest(runner.device);
  if (wrong) {
    const a = runner.acquired.summary;
    throw new AttentionBackendError(
      `the WebGPU adapter (${[a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' ') || 'unnamed'}) failed the self-test: ` +
        `${wrong}; it does not compute correct results (a null or broken backend)`,
    );
  }
  await runner.probeSubgroups();
  if (opts.tuning !== 'off') for (const [k, t] of await loadTuned(runner.acquired.summary)) runner.tuned.set(k, t);
  return runner;
}
