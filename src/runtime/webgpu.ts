/*
 * The WebGPU runner: owns one device and turns forward calls into prepared
 * plans (pipelines, bind groups, output buffers) that can be encoded once or
 * many times (benchmarks). Scratch buffers (the naive pipeline's score matrix)
 * come from a pool and go back to it, so repeated calls allocate nothing new.
 */
import { forwardKernel, FORWARD_PARAMS, tileRows, type ForwardTile, type KernelVariant } from '../kernels/forward.js';
import { emitWgsl, packTables, type TableLayout } from '../mods/emit-wgsl.js';
import { scoreGrad, tableTerms } from '../mods/grad.js';
import { shapeClass, type TunedTiles } from './tuning.js';
import { chunkRanges, keyRanges, packGroup, splitCall } from './split.js';
import { combineKernel, COMBINE_PARAMS } from '../kernels/combine.js';
import { subgroupLanesFollowIndex } from './probe.js';
import {
  backwardKernel, backwardPreprocessKernel, backwardTileFits, backwardTileRows, BACKWARD_PARAMS, chooseBackwardTile, chooseDqTile, type BackwardTile,
} from '../kernels/backward.js';
import { blockMaskDims } from '../mods/blockmask.js';
import { blockMaskKernel, BLOCKMASK_PARAMS } from '../kernels/blockmask.js';
import type { Modifier } from '../mods/modifier.js';
import {
  NAIVE_GEMM_TILE,
  NAIVE_PARAMS,
  naiveMaskKernel,
  naivePvKernel,
  naiveScoresKernel,
  naiveSoftmaxKernel,
} from '../kernels/naive.js';
import { packParams, type ParamLayout } from '../kernels/params.js';
import type { KernelSpec } from '../kernels/spec.js';
import { chooseForwardTile, tileFits, tileUsesSubgroups } from '../kernels/tiles.js';
import { AttentionBackendError, AttentionInputError, AttentionLimitError } from '../tensor/errors.js';
import type { Strides } from '../tensor/shape.js';
import type { Problem } from '../tensor/validate.js';
import type { AcquiredDevice } from './device.js';
import { encodeDispatches, prepareDispatch, type BindingResource, type PreparedDispatch } from './encode.js';
import { getPipeline } from './pipelines.js';

/** Everything a forward call needs, already validated. */
export interface GpuForwardArgs {
  readonly problem: Problem;
  readonly q: GPUBuffer;
  readonly k: GPUBuffer;
  readonly v: GPUBuffer;
  readonly qStrides: Strides;
  readonly kStrides: Strides;
  readonly vStrides: Strides;
  readonly scale: number;
  readonly causal: boolean;
  /** Override the default tile (tuning, tests). */
  readonly tile?: ForwardTile;
  /** Split each row's keys into this many ranges merged afterwards (tests, tuning); default automatic. */
  readonly keySplits?: number;
  /** Attention variant: score and mask modifiers, learned sink logits per query head. */
  readonly variant?: GpuVariant;
}

/** What flashLayout needs of a forward call. */
export type FlashLayoutArgs = Pick<GpuForwardArgs, 'problem' | 'qStrides' | 'kStrides' | 'vStrides' | 'causal' | 'tile' | 'keySplits' | 'variant'>;

export interface GpuVariant {
  readonly score?: Modifier;
  readonly mask?: Modifier;
  readonly sinks?: Float32Array;
}

/** A forward call ready to encode; `out` has q's layout, `lse` is [B, Hq, Nq]. */
export interface ForwardPlan {
  readonly out: GPUBuffer;
  readonly lse: GPUBuffer;
  readonly dispatches: readonly PreparedDispatch[];
  /** Labels of the kernels, in order. */
  readonly labels: readonly string[];
  /** Returns scratch and parameter buffers to the pool (not out/lse). */
  release(): void;
}

const STORAGE = 0x80 | 0x04 | 0x08; // STORAGE | COPY_SRC | COPY_DST
const UNIFORM = 0x40 | 0x08; // UNIFORM | COPY_DST

export class WebGpuRunner {
  readonly device: GPUDevice;
  readonly acquired: AcquiredDevice;
  private readonly pool = new Map<string, GPUBuffer[]>();
  private readonly owned = new Set<GPUBuffer>();
  /** Block-mask states by mask content, shape and tile; least recently used first (bounded). */
  private readonly blockCache = new Map<string, { buffer: GPUBuffer; bm: number; hm: number; nQ: number; nK: number; tables: Float32Array }>();

  /** Fill outputs with NaN before each run (testing: unwritten elements show up). */
  readonly poisonOutputs: boolean;

  /** Whether the forward kernel may reduce rows with subgroup shuffles (where the device allows). */
  readonly allowSubgroups: boolean;

  /** Set once the device is lost; every later GPU call rejects with it. */
  lostInfo: { readonly reason: string; readonly message: string } | undefined;
  /** Rejects when the device is lost, so no pending call waits forever on a dead device. */
  private readonly lostPromise: Promise<never>;
  /** Buffers this runner created and has not destroyed, with their bytes (leak tests, `liveBytes`). */
  private readonly live = new Map<GPUBuffer, number>();
  /** Error scopes are a device-wide stack: submissions take turns so each pops its own. */
  private submitting: Promise<unknown> = Promise.resolve();

  /** Testing aid: bind at most this many bytes at once, to exercise the splitting of large calls. */
  private readonly bindingLimit: number;

  constructor(acquired: AcquiredDevice, poisonOutputs = false, allowSubgroups = true, bindingLimit = Infinity) {
    this.bindingLimit = bindingLimit;
    this.acquired = acquired;
    this.poisonOutputs = poisonOutputs;
    this.device = acquired.device;
    this.allowSubgroups = allowSubgroups;
    this.lostPromise = (acquired.device.lost ?? new Promise(() => {})).then((info) => {
      this.lostInfo = { reason: String(info.reason), message: info.message };
      throw this.lostError();
    });
    this.lostPromise.catch(() => {}); // observed by whoever awaits a GPU call; never an unhandled rejection
  }

  /** The error every call gets once the device is lost. */
  lostError(): AttentionBackendError {
    const why = this.lostInfo ? `${this.lostInfo.reason}${this.lostInfo.message ? `: ${this.lostInfo.message}` : ''}` : 'unknown';
    return new AttentionBackendError(`the GPU device was lost (${why}); call attn.recover() for a new device and upload the tensors again`);
  }

  /** Throws if the device is lost (before any work is encoded). */
  checkAlive(): void {
    if (this.lostInfo) throw this.lostError();
  }

  /** `p`, or a rejection as soon as the device is lost. */
  private guard<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.lostPromise]);
  }

  /** Whether `buf` was made by this runner and is not destroyed (a tensor from a lost device is not). */
  holds(buf: GPUBuffer): boolean {
    return this.live.has(buf);
  }

  /** Bytes of the buffers this runner created and has not destroyed (pooled ones included). */
  get liveBytes(): number {
    let n = 0;
    for (const b of this.live.values()) n += b;
    return n;
  }

  /** device.createBuffer, counted in liveBytes until destroyed. */
  private createBuffer(desc: GPUBufferDescriptor): GPUBuffer {
    this.checkAlive();
    const buf = this.device.createBuffer(desc);
    this.live.set(buf, desc.size);
    const destroy = buf.destroy.bind(buf);
    buf.destroy = () => {
      this.live.delete(buf);
      destroy();
    };
    return buf;
  }

  /**
   * Lanes of the smallest subgroup this device may run, when the forward kernel may use
   * subgroups here (0: it may not). Set by probeSubgroups(); tiles without a row-reduction
   * buffer fit only where it covers their width.
   */
  subgroupWidth = 0;

  /** Finds subgroupWidth: the feature, the adapter's minimum size, and lanes in index order. */
  async probeSubgroups(): Promise<number> {
    if (!this.allowSubgroups || !this.device.features.has('subgroups')) return (this.subgroupWidth = 0);
    const info = this.acquired.adapter?.info ?? (this.device as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
    const minSize = (info as { subgroupMinSize?: number } | undefined)?.subgroupMinSize ?? 0;
    return (this.subgroupWidth = minSize > 0 && (await subgroupLanesFollowIndex(this.device)) ? minSize : 0);
  }

  /** Largest range one storage binding may cover, in bytes. */
  get maxBindingBytes(): number {
    return Math.min(this.device.limits.maxStorageBufferBindingSize, this.device.limits.maxBufferSize, this.bindingLimit);
  }

  /** A storage buffer of `bytes`, checked against the device's largest buffer (calls split what exceeds a binding). */
  createStorage(bytes: number, label: string): GPUBuffer {
    const size = Math.max(16, Math.ceil(bytes / 16) * 16);
    if (size > this.device.limits.maxBufferSize) {
      throw new AttentionLimitError(
        `${label} needs ${size} bytes, but this device's largest buffer is ${this.device.limits.maxBufferSize} bytes (maxBufferSize)`,
      );
    }
    return this.createBuffer({ label, size, usage: STORAGE });
  }

  /** Uploads f32 data to a new storage buffer. */
  upload(data: Float32Array, label: string): GPUBuffer {
    const buf = this.createStorage(data.byteLength, label);
    this.device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
    return buf;
  }

  /** Reads `count` floats back from a storage buffer. */
  async read(buffer: GPUBuffer, count: number): Promise<Float32Array> {
    const bytes = count * 4;
    const staging = this.createBuffer({
      label: `${buffer.label} readback`,
      size: Math.max(16, Math.ceil(bytes / 16) * 16),
      usage: 0x01 | 0x08, // MAP_READ | COPY_DST
    });
    const enc = this.device.createCommandEncoder({ label: 'readback' });
    enc.copyBufferToBuffer(buffer, 0, staging, 0, staging.size);
    this.device.queue.submit([enc.finish()]);
    try {
      await this.guard(staging.mapAsync(0x0001)); // GPUMapMode.READ
      const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
      staging.unmap();
      return out;
    } catch (e) {
      throw this.lostInfo ? this.lostError() : e;
    } finally {
      staging.destroy();
    }
  }

  /** Fills a buffer with NaN (poison) so that unwritten outputs are detectable. */
  poison(buffer: GPUBuffer): void {
    const nan = new Float32Array(buffer.size / 4).fill(NaN);
    this.device.queue.writeBuffer(buffer, 0, nan);
  }

  private takeScratch(bytes: number, usage: number, label: string): GPUBuffer {
    const key = `${usage}:${bytes}`;
    const free = this.pool.get(key);
    const buf = free?.pop() ?? this.createBuffer({ label, size: bytes, usage });
    this.owned.add(buf);
    return buf;
  }

  private giveBack(buf: GPUBuffer): void {
    const key = `${buf.usage}:${buf.size}`;
    let free = this.pool.get(key);
    if (!free) this.pool.set(key, (free = []));
    free.push(buf);
  }

  private params(layout: ParamLayout, values: Record<string, number>, label: string): GPUBuffer {
    const data = packParams(layout, values);
    const buf = this.takeScratch(data.byteLength, UNIFORM, label);
    this.device.queue.writeBuffer(buf, 0, data);
    return buf;
  }

  private async dispatch(spec: KernelSpec, buffers: BindingResource[], wg: [number, number, number]) {
    const pipeline = await getPipeline(this.device, spec);
    return prepareDispatch(this.device, spec, pipeline, buffers, wg);
  }

  /**
   * The kernels' view of a variant (WGSL emitted from the modifiers' IR) and the
   * packed auxiliary tables, uploaded to a pooled buffer (none when nothing is read).
   */
  private variant(v: GpuVariant | undefined): { kernel?: KernelVariant; aux?: GPUBuffer; layout?: TableLayout } {
    if (!v || (!v.score && !v.mask && !v.sinks)) return {};
    const { data, layout } = packTables([v.score, v.mask]);
    const tableFloats = [...layout.values()].reduce((n, t) => n + t.length, 0);
    const all = new Float32Array(tableFloats + (v.sinks?.length ?? 0));
    all.set(data.subarray(0, tableFloats));
    if (v.sinks) all.set(v.sinks, tableFloats);
    const kernel: KernelVariant = {
      scoreFn: v.score && emitWgsl(v.score, layout),
      maskFn: v.mask && emitWgsl(v.mask, layout),
      sinkOffset: v.sinks ? tableFloats : undefined,
      readsTables: tableFloats > 0,
    };
    if (all.length === 0) return { kernel, layout };
    const aux = this.takeScratch(Math.ceil(all.byteLength / 16) * 16, STORAGE, 'attention aux tables');
    this.device.queue.writeBuffer(aux, 0, all);
    return { kernel, aux, layout };
  }

  /**
   * Block-mask states of `mask` at tile br×bc, computed on the GPU once per mask content
   * (IR and table values), shape and tile, and kept for later calls: a training loop that
   * makes the same mask anew every step reuses it. At most BLOCK_CACHE_SIZE are kept; the
   * oldest is freed once the queue has finished with it.
   */
  async blockStates(mask: Modifier, p: Problem, br: number, bc: number): Promise<{ buffer: GPUBuffer; bm: number; hm: number; nQ: number; nK: number }> {
    const shape = { batch: p.batch, heads: p.headsQ, seqQ: p.seqQ, seqK: p.seqK };
    const { data, layout } = packTables([mask]);
    const maskWgsl = emitWgsl(mask, layout);
    const key = `${shape.batch}x${shape.heads}x${shape.seqQ}x${shape.seqK}@${br}x${bc}|${hashFloats(data)}|${maskWgsl}`;
    const hit = this.blockCache.get(key);
    // The hash only finds the entry; the tables themselves must match (no collision can reuse a wrong mask).
    if (hit && hit.tables.length === data.length && hit.tables.every((x, i) => Object.is(x, data[i]))) {
      this.blockCache.delete(key); // re-insert: most recently used last
      this.blockCache.set(key, hit);
      return hit;
    }
    const { bm, hm } = blockMaskDims(mask, shape);
    const nQ = Math.ceil(p.seqQ / br);
    const nK = Math.ceil(p.seqK / bc);
    const buffer = this.createStorage(bm * hm * nQ * nK * 4, `attention block mask ${mask.label}`);
    this.owned.add(buffer);
    const spec = blockMaskKernel({ rowsPerTile: br, keysPerTile: bc, maskFn: maskWgsl, readsTables: mask.tables.size > 0 });
    const params = this.params(BLOCKMASK_PARAMS, { seqQ: p.seqQ, seqK: p.seqK, heads: hm, nQ, nK }, 'attention.blockmask params');
    const aux = mask.tables.size > 0 ? this.upload(data, 'attention.blockmask tables') : undefined;
    const d = await this.dispatch(spec, [params, buffer, ...(aux ? [aux] : [])], [nK, nQ, bm * hm]);
    const enc = this.device.createCommandEncoder({ label: spec.label });
    encodeDispatches(enc, [d]);
    this.device.queue.submit([enc.finish()]);
    this.giveBack(params);
    aux?.destroy();
    const entry = { buffer, bm, hm, nQ, nK, tables: data };
    const replaced = this.blockCache.get(key);
    if (replaced) this.retire(key, replaced.buffer);
    this.blockCache.set(key, entry);
    if (this.blockCache.size > BLOCK_CACHE_SIZE) {
      const [oldKey, old] = this.blockCache.entries().next().value!;
      this.retire(oldKey, old.buffer);
    }
    return entry;
  }

  /** Drops a block-mask entry; its buffer is freed once the queue has finished with it. */
  private retire(key: string, buffer: GPUBuffer): void {
    this.blockCache.delete(key);
    this.owned.delete(buffer);
    void this.device.queue.onSubmittedWorkDone().then(() => buffer.destroy());
  }

  /** Tiles found by a timed search (api/tune.ts), by shape class; they win over the defaults. */
  readonly tuned: TunedTiles = new Map();

  /**
   * The tile the fused kernel uses for a head dim and `seq` query rows on this device: a
   * tuned one for the shape class, else the default for `rows` rows per head (more than
   * `seq` where GQA packing stacks a group's heads).
   */
  forwardTile(headDim: number, causal: boolean, seq: number, rows = seq): ForwardTile {
    const tuned = this.tuned.get(shapeClass('forward', headDim, causal, seq)) as ForwardTile | undefined;
    if (tuned && tileFits(headDim, tuned, this.device.limits, this.subgroupWidth)) return tuned;
    const tile = chooseForwardTile(headDim, this.device.limits, this.subgroupWidth, rows);
    if (!tile) {
      throw new AttentionLimitError(
        `no forward tile fits head dim ${headDim} in ${this.device.limits.maxComputeWorkgroupStorageSize} bytes of workgroup memory`,
      );
    }
    return tile;
  }

  /**
   * How the fused kernel lays a call out: its tile, the chunks it binds in, the query
   * heads stacked per workgroup (GQA packing) and the key ranges (split-K). planFlash
   * follows it; the benchmark's IO model reads it.
   */
  flashLayout(a: FlashLayoutArgs) {
    const p = a.problem;
    // Few query rows and shared K/V heads: stack a group's query heads in one workgroup.
    const packable = packGroup(p, Boolean(a.variant?.score || a.variant?.mask));
    const tile = a.tile ?? this.forwardTile(p.headDim, a.causal, p.seqQ, p.seqQ * packable);
    if (a.tile && !tileFits(p.headDim, a.tile, this.device.limits, this.subgroupWidth)) {
      throw new AttentionLimitError(
        `tile ${JSON.stringify(a.tile)} does not fit head dim ${p.headDim} on this device ` +
          `(${this.device.limits.maxComputeWorkgroupStorageSize} bytes of workgroup memory, ` +
          `${this.device.limits.maxComputeInvocationsPerWorkgroup} invocations)`,
      );
    }
    const { br, bc } = tileRows(tile);
    const align = this.device.limits.minStorageBufferOffsetAlignment;
    const split = { problem: p, q: a.qStrides, k: a.kStrides, v: a.vStrides };
    const chunks = splitCall(split, this.maxBindingBytes, align, br);
    // Too few rows to fill the GPU: the keys run in ranges whose partial results a combine
    // pass merges (only for calls that bind whole; those are small by definition).
    const pack = chunks.length === 1 ? packable : 1;
    const rowsOf = pack > 1 ? { ...p, headsQ: p.headsKv, seqQ: p.seqQ * pack } : p; // workgroups' view of the rows
    const ranges = chunks.length === 1 ? keyRanges(rowsOf, br, bc, tile.tx * tile.ty, a.keySplits) : [[0, p.seqK] as [number, number]];
    return { tile, br, bc, split, align, chunks, pack, ranges };
  }

  /** Plans the fused forward kernel: one dispatch over (Q tiles, query heads, batch). */
  async planFlash(a: GpuForwardArgs): Promise<ForwardPlan> {
    const p = a.problem;
    const { tile, br, bc, split, align, chunks, pack, ranges } = this.flashLayout(a);
    const variant = this.variant(a.variant);
    // A mask modifier brings its block mask: empty tiles skipped, full tiles unmasked.
    const blocks = a.variant?.mask ? await this.blockStates(a.variant.mask, p, br, bc) : undefined;
    const kernelVariant = variant.kernel && { ...variant.kernel, blockMask: Boolean(blocks) };
    const subgroups = tileUsesSubgroups(tile, this.subgroupWidth);
    const out = this.createStorage(p.batch * p.headsQ * p.seqQ * p.headDim * 4, 'attention out');
    const lse = this.createStorage(p.batch * p.headsQ * p.seqQ * 4, 'attention lse');
    if (this.poisonOutputs) [out, lse].forEach((b) => this.poison(b));
    const v4 = (n: number) => n / 4;
    const parts = ranges.length > 1 ? this.keyParts(ranges.length, out.size, lse.size * 2) : undefined;
    // With parts, the sinks join in the combine (each range would otherwise count them once).
    const spec = forwardKernel({
      headDim: p.headDim, causal: a.causal, tile, subgroups, partial: Boolean(parts), pack,
      variant: kernelVariant && (parts ? { ...kernelVariant, sinkOffset: undefined } : kernelVariant),
    });
    const paramBufs: GPUBuffer[] = [];
    const dispatches: PreparedDispatch[] = [];
    // One dispatch per chunk; with key ranges, its x dimension runs over (range, Q tile).
    const rangeKeys = ranges[0]![1] - ranges[0]![0];
    for (const c of chunks) {
      const r = chunkRanges(split, c, align);
      const qTiles = Math.ceil(((c.n1 - c.n0) * pack) / br);
      const params = this.params(
        FORWARD_PARAMS,
        {
          ...common(p),
          qkScale: a.scale * Math.LOG2E,
          qsb: v4(a.qStrides.batch), qsh: v4(a.qStrides.head), qsn: v4(a.qStrides.seq),
          ksb: v4(a.kStrides.batch), ksh: v4(a.kStrides.head), ksn: v4(a.kStrides.seq),
          vsb: v4(a.vStrides.batch), vsh: v4(a.vStrides.head), vsn: v4(a.vStrides.seq),
          scale: a.scale,
          ...blockParams(blocks),
          headBase: c.h0, batchBase: c.b0, tileBase: c.n0 / br,
          qOff: r.q.offset / 16, kOff: r.k.offset / 16, vOff: r.v.offset / 16, lseOff: r.lse.offset / 4,
          qTiles, rangeKeys, oPart: parts ? parts.oStride / 16 : 0, statPart: parts ? parts.statsStride / 4 : 0,
        },
        'attention.forward params',
      );
      paramBufs.push(params);
      const [o, l] = parts ? [parts.o, parts.stats] : [{ buffer: out, ...r.q }, { buffer: lse, ...r.lse }];
      const buffers = [
        params, { buffer: a.q, ...r.q }, { buffer: a.k, ...r.k }, { buffer: a.v, ...r.v }, o, l,
        ...(variant.aux && bindsAux(spec) ? [variant.aux] : []), ...(blocks ? [blocks.buffer] : []),
      ];
      const heads = pack > 1 ? p.headsKv : c.h1 - c.h0;
      dispatches.push(await this.dispatch(spec, buffers, [qTiles * ranges.length, heads, c.b1 - c.b0]));
    }
    const labels = chunks.length > 1 ? [`${spec.label} ×${chunks.length} chunks`] : [spec.label];
    if (parts) {
      const combine = await this.planCombine(a, parts, ranges.length, out, lse, kernelVariant?.sinkOffset, variant.aux);
      paramBufs.push(combine.params, parts.o, parts.stats);
      dispatches.push(combine.dispatch);
      labels[0] = `${spec.label} ×${ranges.length} key ranges`;
      labels.push(combine.label);
    }
    return {
      out,
      lse,
      dispatches,
      labels,
      release: () => [...paramBufs, variant.aux].forEach((b) => b && this.giveBack(b)),
    };
  }

  /** The split-K combine: one invocation per (row, vec4 column) merges the parts into out and lse. */
  private async planCombine(
    a: GpuForwardArgs,
    parts: { o: GPUBuffer; stats: GPUBuffer; oStride: number; statsStride: number },
    splits: number,
    out: GPUBuffer,
    lse: GPUBuffer,
    sinkOffset: number | undefined,
    aux: GPUBuffer | undefined,
  ) {
    const p = a.problem;
    const spec = combineKernel(p.headDim, sinkOffset);
    const rows = p.batch * p.headsQ * p.seqQ;
    const v4 = (n: number) => n / 4;
    const params = this.params(
      COMBINE_PARAMS,
      {
        rows, seqQ: p.seqQ, headsQ: p.headsQ, splits,
        qsb: v4(a.qStrides.batch), qsh: v4(a.qStrides.head), qsn: v4(a.qStrides.seq),
        partVec4: parts.oStride / 16, partStats: parts.statsStride / 4, negInf: -Infinity, nan: NaN,
      },
      'attention.forward.combine params',
    );
    const groups = Math.ceil((rows * p.headDim) / 4 / 64);
    const wgx = Math.min(groups, 65535);
    const buffers = [params, parts.o, parts.stats, out, lse, ...(aux && bindsAux(spec) ? [aux] : [])];
    return { params, label: spec.label, dispatch: await this.dispatch(spec, buffers, [wgx, Math.ceil(groups / wgx), 1]) };
  }

  /** Scratch for the partial O and row (max, denominator) of `splits` key ranges, each part at an aligned offset. */
  private keyParts(splits: number, oBytes: number, statsBytes: number) {
    const align = this.device.limits.minStorageBufferOffsetAlignment;
    const up = (n: number) => Math.ceil(n / align) * align;
    const [oStride, statsStride] = [up(oBytes), up(statsBytes)];
    return {
      o: this.takeScratch(oStride * splits, STORAGE, 'attention.forward key-range parts'),
      stats: this.takeScratch(statsStride * splits, STORAGE, 'attention.forward key-range row stats'),
      oStride,
      statsStride,
    };
  }

  /** Query heads per naive chunk: as many N×N score matrices as fit one binding. */
  naiveChunkHeads(p: Problem): number {
    const perHead = p.seqQ * p.seqK * 4;
    const heads = Math.floor(this.maxBindingBytes / perHead);
    if (heads < 1) {
      throw new AttentionLimitError(
        `the naive pipeline needs ${perHead} bytes for one head's ${p.seqQ}×${p.seqK} score matrix, ` +
          `but this device binds at most ${this.maxBindingBytes} bytes; use the fused 'flash' algorithm`,
      );
    }
    return Math.min(heads, p.batch * p.headsQ);
  }

  /** Kernels that bind whole tensors (naive, backward) refuse ones past the binding limit by name. */
  private checkWholeBindings(what: string, buffers: Record<string, GPUBuffer>): void {
    for (const [name, b] of Object.entries(buffers)) {
      if (b.size > this.maxBindingBytes) {
        throw new AttentionLimitError(
          `${what} binds ${name} whole (${b.size} bytes), but this device binds at most ${this.maxBindingBytes} bytes ` +
            "(maxStorageBufferBindingSize); the fused 'flash' forward splits such calls, this path does not yet",
        );
      }
    }
  }

  /** Plans the naive pipeline: scores, mask (causal), softmax, P·V per chunk of heads. */
  async planNaive(a: GpuForwardArgs): Promise<ForwardPlan> {
    const p = a.problem;
    this.checkWholeBindings('the naive pipeline', { q: a.q, k: a.k, v: a.v });
    const totalHeads = p.batch * p.headsQ;
    const chunk = this.naiveChunkHeads(p);
    const out = this.createStorage(totalHeads * p.seqQ * p.headDim * 4, 'attention out');
    const lse = this.createStorage(totalHeads * p.seqQ * 4, 'attention lse');
    if (this.poisonOutputs) [out, lse].forEach((b) => this.poison(b));
    const sBytes = chunk * p.seqQ * p.seqK * 4;
    const s = this.takeScratch(Math.ceil(sBytes / 16) * 16, STORAGE, 'attention.naive scores');
    const variant = this.variant(a.variant);
    const v = variant.kernel;
    const specs = {
      scores: naiveScoresKernel(),
      mask: naiveMaskKernel(a.causal, v),
      softmax: naiveSoftmaxKernel(v),
      pv: naivePvKernel(),
    };
    const aux = variant.aux ? [variant.aux] : [];
    const maskStep = a.causal || Boolean(v?.scoreFn || v?.maskFn);
    const T = NAIVE_GEMM_TILE;
    const paramBufs: GPUBuffer[] = [];
    const dispatches: PreparedDispatch[] = [];
    for (let headBase = 0; headBase < totalHeads; headBase += chunk) {
      const n = Math.min(chunk, totalHeads - headBase);
      const params = this.params(
        NAIVE_PARAMS,
        {
          ...common(p),
          headBase,
          scale: a.scale,
          chunkRows: n * p.seqQ,
          headDim: p.headDim,
          qsb: a.qStrides.batch, qsh: a.qStrides.head, qsn: a.qStrides.seq,
          ksb: a.kStrides.batch, ksh: a.kStrides.head, ksn: a.kStrides.seq,
          vsb: a.vStrides.batch, vsh: a.vStrides.head, vsn: a.vStrides.seq,
        },
        'attention.naive params',
      );
      paramBufs.push(params);
      const rows = n * p.seqQ;
      const maxWg = this.device.limits.maxComputeWorkgroupsPerDimension;
      dispatches.push(await this.dispatch(specs.scores, [params, a.q, a.k, s], [Math.ceil(p.seqK / T), Math.ceil(p.seqQ / T), n]));
      if (maskStep) {
        dispatches.push(await this.dispatch(specs.mask, [params, s, ...(v?.readsTables ? aux : [])], [Math.min(Math.ceil((rows * p.seqK) / 256), maxWg), 1, 1]));
      }
      dispatches.push(await this.dispatch(specs.softmax, [params, s, lse, ...(v?.sinkOffset !== undefined ? aux : [])], [Math.min(rows, maxWg), 1, 1]));
      dispatches.push(await this.dispatch(specs.pv, [params, s, a.v, out], [Math.ceil(p.headDim / T), Math.ceil(p.seqQ / T), n]));
    }
    return {
      out,
      lse,
      dispatches,
      labels: [...new Set(dispatches.map((d) => d.spec.label))],
      release: () => {
        [s, ...aux, ...paramBufs].forEach((b) => this.giveBack(b));
      },
    };
  }

  /**
   * Fused backward: D = rowsum(dO∘O), then dK/dV per K/V tile and dQ per Q tile,
   * each recomputing P from Q, K and the saved LSE. Deterministic (no atomics).
   */
  async backward(a: GpuBackwardArgs): Promise<GpuGrads> {
    const plan = await this.planBackward(a);
    try {
      await this.run(plan);
      let dsinks: Float32Array | undefined;
      if (a.variant?.sinks) {
        // dsink_h = −Σ_i exp(sink_h − LSE_i) D_i: a per-head sum over rows, cheap on the host.
        const rows = a.problem.batch * a.problem.headsQ * a.problem.seqQ;
        const [D, lse] = await Promise.all([this.read(plan.dd, rows), this.read(a.lse, rows)]);
        dsinks = new Float32Array(a.problem.headsQ);
        for (let r = 0; r < rows; r++) {
          const h = Math.floor(r / a.problem.seqQ) % a.problem.headsQ;
          if (lse[r] !== -Infinity) dsinks[h] -= Math.exp(a.variant.sinks[h]! - lse[r]!) * D[r]!;
        }
      }
      let dtables: Map<string, Float32Array> | undefined;
      if (plan.tgrad) {
        const words = new Uint32Array((await this.read(plan.tgrad.buffer, plan.tgrad.buffer.size / 4)).buffer);
        const hi = new Int32Array(words.buffer);
        dtables = new Map();
        for (const t of plan.tgrad.tables) {
          dtables.set(t.id, Float32Array.from({ length: t.length }, (_, i) => hi[2 * (t.offset + i) + 1]! + words[2 * (t.offset + i)]! / 2 ** 32));
        }
      }
      return { dq: plan.dq, dk: plan.dk, dv: plan.dv, dsinks, dtables };
    } finally {
      plan.release();
    }
  }

  /** The tile of the backward kernels for a head dim (tuned for the shape class when a search found one). */
  backwardTile(headDim: number, causal = false, seq = 0): BackwardTile | undefined {
    const tuned = this.tuned.get(shapeClass('backward', headDim, causal, seq)) as BackwardTile | undefined;
    if (tuned && backwardTileFits(headDim, tuned, this.device.limits)) return tuned;
    return chooseBackwardTile(headDim, this.device.limits);
  }

  /**
   * The dQ pass's tile: a tuned one for the shape class, else its own default with dS in
   * the V tile where one fits, else the dK/dV pass's.
   */
  dqTile(headDim: number, dkdvTile: BackwardTile, causal = false, seq = 0): BackwardTile {
    const tuned = this.tuned.get(shapeClass('dq', headDim, causal, seq)) as BackwardTile | undefined;
    if (tuned && backwardTileFits(headDim, tuned, this.device.limits)) return tuned;
    return chooseDqTile(headDim, this.device.limits) ?? dkdvTile;
  }

  /** Plans the backward kernels (benchmarks encode the plan many times). */
  async planBackward(a: GpuBackwardArgs): Promise<BackwardPlan> {
    const p = a.problem;
    this.checkWholeBindings('the backward pass', { q: a.q, k: a.k, v: a.v, out: a.out, dOut: a.dout });
    const tile = a.backwardTile ?? this.backwardTile(p.headDim, a.causal, p.seqQ);
    if (!tile) throw new AttentionLimitError(`no backward tile fits head dim ${p.headDim} in this device's workgroup memory`);
    for (const [name, t] of [['backward tile', a.backwardTile], ['dQ tile', a.dqTile]] as const) {
      if (t && !backwardTileFits(p.headDim, t, this.device.limits)) {
        throw new AttentionLimitError(`${name} ${JSON.stringify(t)} does not fit head dim ${p.headDim} on this device`);
      }
    }
    if (tile.dsInY) throw new AttentionInputError(`backward tile ${JSON.stringify(tile)}: dsInY is for the dQ pass only (pass it as dqTile)`);
    // The dQ pass has its own default where dS fits in its V tile (room for a larger tile); a forced tile serves both.
    const dqTile = a.dqTile ?? (a.backwardTile ? tile : this.dqTile(p.headDim, tile, a.causal, p.seqQ));
    const variant = this.variant(a.variant);
    const scoreGradFn = a.variant?.score && variant.layout ? emitWgsl(scoreGrad(a.variant.score), variant.layout, 'scoreModGrad') : undefined;
    const v4 = (n: number) => n / 4;
    const rows = p.batch * p.headsQ * p.seqQ;
    const terms = a.tableGrads && a.variant?.score && variant.layout ? tableTerms(a.variant.score) : [];
    const layout = variant.layout;
    const tableGrads = terms.length && layout
      ? {
          fns: terms.map((t, k) => `${emitWgsl(t.index, layout, `tgIndex${k}`)}\n${emitWgsl(t.partial, layout, `tgPartial${k}`)}`).join('\n'),
          terms: terms.map((t) => layout.get(t.table)!),
        }
      : undefined;
    // Fixed-point (hi, lo) words per element of the packed tables; fresh buffers are zero.
    const tgrad = tableGrads && this.createStorage(8 * Math.max(...terms.map((t) => layout!.get(t.table)!.offset + t.length)), 'attention table grads');
    const shared = {
      seqQ: p.seqQ, seqK: p.seqK, groupSize: p.headsQ / p.headsKv, headsQ: p.headsQ, headsKv: p.headsKv,
      scale: a.scale, qkScale: a.scale * Math.LOG2E, causalOffset: p.seqK - p.seqQ, rows,
      qsb: v4(a.qStrides.batch), qsh: v4(a.qStrides.head), qsn: v4(a.qStrides.seq),
      ksb: v4(a.kStrides.batch), ksh: v4(a.kStrides.head), ksn: v4(a.kStrides.seq),
      vsb: v4(a.vStrides.batch), vsh: v4(a.vStrides.head), vsn: v4(a.vStrides.seq),
    };
    // Each pass has its own tile geometry (dq: Q rows outer; dkdv: keys outer), so its own block mask and params.
    const pass = async (which: 'dq' | 'dkdv') => {
      const passTile = which === 'dq' ? dqTile : tile;
      const { outer, inner } = backwardTileRows(passTile);
      const [br, bc] = which === 'dq' ? [outer, inner] : [inner, outer];
      const blocks = a.variant?.mask ? await this.blockStates(a.variant.mask, p, br, bc) : undefined;
      const params = this.params(
        BACKWARD_PARAMS,
        {
          ...shared,
          ...blockParams(blocks),
        },
        `attention.backward.${which} params`,
      );
      const kernel = backwardKernel(
        {
          headDim: p.headDim, causal: a.causal, tile: passTile, scoreGradFn,
          variant: variant.kernel && { ...variant.kernel, blockMask: Boolean(blocks) },
          tableGrads: which === 'dq' ? tableGrads : undefined,
        },
        which,
      );
      return { params, kernel, blocks: blocks ? [blocks.buffer] : [], outer };
    };
    const dqPass = await pass('dq');
    const kvPass = await pass('dkdv');
    const dd = this.takeScratch(Math.ceil((rows * 4) / 16) * 16, STORAGE, 'attention.backward D');
    const dq = this.createStorage(rows * p.headDim * 4, 'attention dq');
    const dk = this.createStorage(p.batch * p.headsKv * p.seqK * p.headDim * 4, 'attention dk');
    const dv = this.createStorage(p.batch * p.headsKv * p.seqK * p.headDim * 4, 'attention dv');
    if (this.poisonOutputs) [dq, dk, dv].forEach((b) => this.poison(b));
    const aux = variant.kernel?.readsTables && variant.aux ? [variant.aux] : [];
    const inputs = [a.q, a.k, a.v, a.dout, a.lse, dd];
    const groups = Math.ceil(rows / 64);
    const maxWg = this.device.limits.maxComputeWorkgroupsPerDimension;
    const dispatches = [
      await this.dispatch(backwardPreprocessKernel(p.headDim), [dqPass.params, a.out, a.dout, dd], [Math.min(groups, maxWg), Math.ceil(groups / maxWg), 1]),
      await this.dispatch(kvPass.kernel, [kvPass.params, ...inputs, dk, dv, ...aux, ...kvPass.blocks], [Math.ceil(p.seqK / kvPass.outer), p.headsKv, p.batch]),
      await this.dispatch(dqPass.kernel, [dqPass.params, ...inputs, dq, ...aux, ...(tgrad ? [tgrad] : []), ...dqPass.blocks], [Math.ceil(p.seqQ / dqPass.outer), p.headsQ, p.batch]),
    ];
    return {
      dq, dk, dv, dd,
      tgrad: tgrad && { buffer: tgrad, tables: terms.map((t) => ({ id: t.table, ...layout!.get(t.table)! })) },
      dispatches,
      labels: dispatches.map((d) => d.spec.label),
      release: () => {
        [dqPass.params, kvPass.params, dd, ...(variant.aux ? [variant.aux] : [])].forEach((b) => this.giveBack(b));
        tgrad?.destroy();
      },
    };
  }

  /**
   * Encodes and submits a plan inside error scopes; rejects with the kernel labels on a
   * validation or out-of-memory error, and with AttentionBackendError if the device is lost.
   */
  async run(plan: { readonly dispatches: readonly PreparedDispatch[]; readonly labels: readonly string[] }): Promise<void> {
    this.checkAlive();
    const turn = this.submitting.then(() => this.submitScoped(plan));
    this.submitting = turn.catch(() => {});
    return this.guard(turn);
  }

  private async submitScoped(plan: { readonly dispatches: readonly PreparedDispatch[]; readonly labels: readonly string[] }): Promise<void> {
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    const enc = this.device.createCommandEncoder({ label: plan.labels.join(' + ') });
    encodeDispatches(enc, plan.dispatches);
    this.device.queue.submit([enc.finish()]);
    const validation = await this.device.popErrorScope();
    const oom = await this.device.popErrorScope();
    const err = validation ?? oom;
    if (err) throw new AttentionBackendError(`GPU ${oom && !validation ? 'out of memory' : 'validation error'} in ${plan.labels.join(', ')}: ${err.message}`);
  }

  /** Frees pooled buffers and the device. */
  destroy(): void {
    for (const b of this.owned) b.destroy();
    this.owned.clear();
    this.pool.clear();
  }
}

/** Block masks kept per runner (each a few bytes per tile pair). */
const BLOCK_CACHE_SIZE = 64;

/** FNV-1a over the bits of `data`: the table part of a block-mask cache key. */
function hashFloats(data: Float32Array): string {
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length);
  let h = 0x811c9dc5;
  for (const w of words) h = Math.imul(h ^ w, 0x01000193) >>> 0;
  return `${data.length}:${h.toString(16)}`;
}

/** Whether a kernel binds the packed tables (a split-K part leaves the sinks to the combine). */
function bindsAux(spec: KernelSpec): boolean {
  return spec.bindings.some((b) => b.name === 'aux');
}

/** Block-mask strides (tiles) for the kernels' params: row; head and batch are 0 where the mask ignores them. */
function blockParams(blocks: { bm: number; hm: number; nQ: number; nK: number } | undefined) {
  return {
    bmRow: blocks?.nK ?? 0,
    bmH: blocks && blocks.hm > 1 ? blocks.nQ * blocks.nK : 0,
    bmB: blocks && blocks.bm > 1 ? blocks.hm * blocks.nQ * blocks.nK : 0,
  };
}

/** Parameter fields both kernel families share. */
function common(p: Problem) {
  return {
    seqQ: p.seqQ,
    seqK: p.seqK,
    groupSize: p.headsQ / p.headsKv,
    headsQ: p.headsQ,
    causalOffset: p.seqK - p.seqQ,
    negInf: -Infinity,
    nan: NaN,
    headBase: 0,
  };
}

/** Everything a backward call needs, already validated; out, dout and dq share q's layout. */
export interface GpuBackwardArgs extends GpuForwardArgs {
  readonly out: GPUBuffer;
  readonly dout: GPUBuffer;
  readonly lse: GPUBuffer;
  /** Override the default backward tile (tuning, tests); without dqTile, for both passes. */
  readonly backwardTile?: BackwardTile;
  /** Override the dQ pass's tile (tuning, tests). */
  readonly dqTile?: BackwardTile;
  /** Also the gradients of the tables the score modifier reads. */
  readonly tableGrads?: boolean;
}

export interface GpuGrads {
  readonly dq: GPUBuffer;
  readonly dk: GPUBuffer;
  readonly dv: GPUBuffer;
  /** Per query head, when the variant has learned sinks (computed on the host from D and LSE). */
  readonly dsinks?: Float32Array;
  /** By table id, with tableGrads. */
  readonly dtables?: Map<string, Float32Array>;
}

/** A backward call ready to encode; `dd` holds D = rowsum(dO∘O) (scratch until release). */
export interface BackwardPlan {
  readonly dq: GPUBuffer;
  readonly dk: GPUBuffer;
  readonly dv: GPUBuffer;
  readonly dd: GPUBuffer;
  /** With table gradients: the fixed-point accumulator and where each table sits in it. */
  readonly tgrad?: { readonly buffer: GPUBuffer; readonly tables: readonly { readonly id: string; readonly offset: number; readonly length: number }[] };
  readonly dispatches: readonly PreparedDispatch[];
  readonly labels: readonly string[];
  release(): void;
}
