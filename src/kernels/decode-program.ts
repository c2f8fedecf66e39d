/*
 * When a forward call runs on the decode kernel (decode.ts) instead of the fused one,
 * and its program: the kernel over key ranges, then split-K's combine. The decode
 * kernel takes calls with few query rows per K/V head (group × Nq ≤ 16) over many keys
 * and no score or mask modifier, bound whole (one chunk). It runs every call that it
 * can (on the H200 it was faster than the fused kernel on every decoding shape measured,
 * docs/PERF.md "Decode kernel v2"); `decodeKernel: false` keeps the fused kernel, and
 * `decodeKernel: true` (or a DecodeTile) insists, with an AttentionInputError where the
 * call cannot run on it. Where the device's subgroups have 32 lanes, D = 128 and the call
 * has keys enough to fill the GPU, the subgroup decode kernel (decode-warp.ts) runs it
 * instead (pickWarp); `decodeKernel: 'subgroups'` insists on it, a DecodeTile keeps decode.ts.
 */
import { AttentionInputError } from '../tensor/errors.js';
import { blockParams } from './blockmask.js';
import type { AttentionCall, Caps } from './call.js';
import { decodeKernel, decodeSizes, decodeWorkgroupBytes, scoreVectors, type DecodeConfig, type DecodeTile } from './decode.js';
import { FORWARD_PARAMS } from './forward-config.js';
import { boundInputs, boundValues, flashProgram, forwardBuffers, forwardLayout } from './forward-program.js';
import { poolRange } from './paged-program.js';
import type { Program } from './program.js';
import { chunkRanges, SPLIT_TARGET_INVOCATIONS, type Chunk } from './split.js';
import { combineKernel } from './combine.js';
import { WARP, warpDecodeKernel, warpWorkgroupBytes, type WarpConfig } from './decode-warp.js';
import { matrixLayout, matrixProgram, type MatrixLayout } from './matrix-program.js';
import { combineStep, partBuffers, partStrides, type PartStrides } from './split-k.js';
import { lowerVariant, type LoweredVariant } from './variant.js';

/** Rows (group × Nq) a decode workgroup holds at most. */
export const DECODE_MAX_ROWS = 16;
/** Keys a range gets at least when ranges are split to fill the GPU. */
const MIN_RANGE_KEYS = 64;
const THREADS = 256;
/** Lanes per key row in the S phase (4 lanes of 8 bytes: one 32-byte sector of an f16 row per load). */
const LANES = 4;
/** Bytes each invocation keeps in flight per phase: 64 registers of loads, the rest for the sums. */
const LOAD_BYTES = 256;

/** How a call runs on the subgroup decode kernel (decode-warp.ts): its config, and the keys of each subgroup's range. */
export interface WarpLayout {
  readonly cfg: WarpConfig;
  readonly rangeKeys: number;
}

/** How a call runs on the decode kernel: its pipeline config, key ranges, variant tables and bound ranges. */
export interface DecodeLayout {
  readonly cfg: DecodeConfig;
  /** Where it runs on the subgroup decode kernel instead (then `ranges` are its workgroups' keys). */
  readonly warp?: WarpLayout;
  readonly ranges: readonly (readonly [number, number])[];
  readonly lowered: LoweredVariant;
  /** The fused layout's one chunk (the whole call) and the ranges it binds. */
  readonly chunk: Chunk;
  readonly bound: ReturnType<typeof chunkRanges>;
  readonly parts: PartStrides;
  /** The device's invocations per workgroup (the combine's size). */
  readonly maxThreads: number;
}

/**
 * The decode layout of a call, or undefined (the fused kernel runs it). `decodeKernel`
 * true or a DecodeTile forces the decode kernel (an AttentionInputError says why a call
 * cannot run on it), false keeps the fused one, and unset picks the decode kernel for
 * every call that can run on it (it measured faster on every decoding shape, docs/PERF.md).
 */
export function decodeLayout(c: AttentionCall, caps: Caps): DecodeLayout | undefined {
  if (c.decodeKernel === false) return undefined;
  const plan = planDecode(c, caps);
  if (typeof plan !== 'string') return plan;
  if (c.decodeKernel === undefined) return undefined; // every call it cannot run keeps the fused kernel
  throw new AttentionInputError(`decodeKernel: this call cannot run on the decode kernel: ${plan}`);
}

/**
 * The decode layout of a call, or why it cannot run on the decode kernel (a reason, not
 * an exception: unless forced, every flash call asks, and most prefills cannot).
 */
function planDecode(c: AttentionCall, caps: Caps): DecodeLayout | string {
  const p = c.problem;
  if (c.algorithm !== 'flash') return `algorithm '${c.algorithm}'`;
  if (c.score || c.mask) return 'it has a score or mask modifier';
  if (c.tile) return 'a fused-kernel tile is forced';
  const pack = p.headsQ / p.headsKv;
  if (pack * p.seqQ > DECODE_MAX_ROWS) return `${pack * p.seqQ} query rows per K/V head (group × Nq) exceed ${DECODE_MAX_ROWS}`;
  const d4 = p.headDim / 4;
  const fused = forwardLayout(c, caps);
  if (fused.chunks.length > 1) return 'it does not fit one storage binding';
  const lowered = lowerVariant(c);
  const forced = typeof c.decodeKernel === 'object' ? c.decodeKernel : undefined;
  const lanes = forced?.lanes ?? (caps.subgroupWidth > 0 ? Math.min(LANES, caps.subgroupWidth, 2 ** Math.floor(Math.log2(d4))) : 1);
  const threads = forced?.threads ?? Math.min(THREADS, caps.limits.maxComputeInvocationsPerWorkgroup);
  const badTile = forced && tileProblem(forced, d4, pack * p.seqQ, caps);
  if (badTile) return badTile;
  if (d4 > threads) return `head dim ${p.headDim} is too large`;
  const base = { headDim: p.headDim, seqQ: p.seqQ, pack, causal: c.causal, half: c.dtype === 'f16', threads, lanes };
  const limit = caps.limits.maxComputeWorkgroupStorageSize;
  const cfg = fitWorkgroup({ ...base, positionsAt: lowered.kernel?.positionsAt, pageSize: c.pages?.pageSize }, limit, forced?.loadBytes ?? LOAD_BYTES);
  if (!cfg) return 'its rows do not fit workgroup memory';
  const sub = pickWarp(c, caps, cfg);
  if (typeof sub === 'string') return sub;
  const ranges = sub?.ranges ?? decodeRanges(p.seqK, p.batch * p.headsKv, decodeSizes(cfg).keys, threads, c.keySplits);
  if (ranges.length > caps.limits.maxComputeWorkgroupsPerDimension) {
    return `${ranges.length} key ranges exceed this device's ${caps.limits.maxComputeWorkgroupsPerDimension} workgroups per dimension`;
  }
  const align = caps.limits.minStorageBufferOffsetAlignment;
  const chunk = fused.chunks[0]!;
  const bound = poolRange(c, chunkRanges(fused.split, chunk, align));
  const maxThreads = caps.limits.maxComputeInvocationsPerWorkgroup;
  return {
    cfg,
    warp: sub?.warp && widen(sub.warp, bound),
    ranges,
    lowered,
    chunk,
    bound,
    parts: partStrides(fused.split, fused.chunks, align),
    maxThreads,
  };
}

/** Subgroups the subgroup decode kernel aims for in all (enough warps per SM on a large GPU to keep loads in flight). */
const WARP_TARGET = 2048;

/**
 * The subgroup decode kernel's plan where the call runs on it, undefined where the barrier
 * kernel (decode.ts) does, or why a call that asked for it cannot run on it. Unless asked
 * for ('subgroups') or kept out (a DecodeTile), it runs every call that it can and whose
 * keys give it at least WARP_TARGET / 2 subgroups (tuned on the H200, the only 32-lane device
 * measured): there it took 13–18% less time over f16 K/V from B = 1 at 16k keys up, f32 level
 * or faster, and the barrier kernel was faster below (B = 1 4k: 0.0132 against 0.0164 ms),
 * where its few subgroups leave most of the GPU idle (docs/PERF.md).
 */
function pickWarp(c: AttentionCall, caps: Caps, base: DecodeConfig): ReturnType<typeof planWarp> | undefined {
  if (c.decodeKernel === 'subgroups') return planWarp(c, caps, base);
  if (c.decodeKernel !== undefined && c.decodeKernel !== true) return undefined;
  // Which kernel, from the automatic plan: `keySplits` then shapes that kernel's ranges, and does not pick it.
  const auto = planWarp({ ...c, keySplits: undefined }, caps, base);
  if (typeof auto === 'string') return undefined;
  const subgroups = auto.ranges.length * auto.warp.cfg.subgroups * c.problem.batch * c.problem.headsKv;
  if (subgroups < WARP_TARGET / 2) return undefined;
  return c.keySplits === undefined ? auto : planWarp(c, caps, base);
}

/**
 * The subgroup decode kernel's config and key ranges (one per workgroup, W subgroups of
 * `rangeKeys` keys each), or why it cannot run:
 * it needs subgroups of exactly 32 lanes, D = 128 and at most 8 rows. About WARP_TARGET
 * subgroups in all, and no more ranges than one per 64 keys before they are rounded up to
 * whole workgroups (so a short call's subgroups take fewer keys); `keySplits` asks for
 * subgroup ranges per head.
 */
function planWarp(c: AttentionCall, caps: Caps, base: DecodeConfig): { warp: WarpLayout; ranges: [number, number][] } | string {
  const p = c.problem;
  const rows = base.pack * base.seqQ;
  const why = `decodeKernel: 'subgroups' needs subgroups of exactly ${WARP} lanes, head dim ${4 * WARP} and at most 8 rows (group × Nq)`;
  if (caps.subgroupExact !== WARP || p.headDim !== 4 * WARP || rows > 8) {
    return `${why}; here: ${caps.subgroupExact ? `${caps.subgroupExact}-lane subgroups` : 'no subgroups of one width'}, head dim ${p.headDim}, ${rows} rows`;
  }
  const limit = caps.limits.maxComputeWorkgroupStorageSize;
  const maxThreads = caps.limits.maxComputeInvocationsPerWorkgroup;
  const fits = (subgroups: number) => subgroups * WARP <= maxThreads && warpWorkgroupBytes({ ...base, subgroups }) <= limit;
  const subgroups = [8, 4, 2, 1].find(fits);
  if (!subgroups) return `${why}, within this device's workgroup memory`;
  const cfg: WarpConfig = {
    seqQ: base.seqQ,
    pack: base.pack,
    causal: base.causal,
    half: base.half,
    positionsAt: base.positionsAt,
    pageSize: base.pageSize,
    subgroups,
  };
  const most = Math.max(1, Math.ceil(p.seqK / 64));
  const wanted = c.keySplits ?? Math.round(WARP_TARGET / (p.batch * p.headsKv));
  const count = Math.ceil(Math.max(1, Math.min(most, wanted)) / subgroups) * subgroups;
  const rangeKeys = Math.ceil(p.seqK / count);
  return { warp: { cfg, rangeKeys }, ranges: splitKeys(p.seqK, subgroups * rangeKeys) };
}

/**
 * f16 K and V are read 16 bytes a lane (decode-warp.ts): 4–6% faster on the H200 than 8
 * (docs/PERF.md "16-byte loads"). The kernel indexes them in 16-byte units from its bound
 * offsets, which therefore must be multiples of 16 (bindings start at multiples of 256 with
 * WebGPU's default alignment; a device allowing less keeps 8-byte loads where they are not).
 */
function widen(w: WarpLayout, bound: { readonly [K in 'k' | 'v']: { readonly offset: number } }): WarpLayout {
  if (!w.cfg.half || bound.k.offset % 16 !== 0 || bound.v.offset % 16 !== 0) return w;
  return { ...w, cfg: { ...w.cfg, wideK: true, wideV: true } };
}

/** Why this device cannot run a forced tile, or undefined. */
function tileProblem(t: DecodeTile, d4: number, rows: number, caps: Caps): string | undefined {
  const pow2 = (n: number) => (n & (n - 1)) === 0;
  if (!pow2(t.threads) || t.threads > caps.limits.maxComputeInvocationsPerWorkgroup) {
    return `decodeKernel.threads must be a power of two ≤ ${caps.limits.maxComputeInvocationsPerWorkgroup} (this device's invocations per workgroup), got ${t.threads}`;
  }
  // One invocation per row sets up its max, and one per vec4 column sums a row's P·V.
  if (t.threads < Math.max(rows, d4)) {
    return `decodeKernel.threads ${t.threads} cannot hold ${rows} query rows (group × Nq) and ${d4} vec4 columns of a row: at least ${Math.max(rows, d4)}`;
  }
  const most = caps.subgroupWidth > 0 ? Math.min(caps.subgroupWidth, t.threads) : 1;
  if (!pow2(t.lanes) || t.lanes > most || t.lanes > d4) {
    return `decodeKernel.lanes must be a power of two ≤ ${Math.min(most, d4)} (${caps.subgroupWidth > 0 ? 'the subgroup and the head dim / 4' : 'no usable subgroups here'}), got ${t.lanes}`;
  }
  return undefined;
}

/**
 * The config whose loads fill LOAD_BYTES per invocation (keys ahead per lane group) and
 * whose workgroup memory fits `limit`: fewer keys ahead where the scores do not fit.
 */
function fitWorkgroup(base: Omit<DecodeConfig, 'keysAhead' | 'roundRows'>, limit: number, loadBytes: number): DecodeConfig | undefined {
  const rows = base.pack * base.seqQ;
  const laneBytes = Math.ceil(base.headDim / 4 / base.lanes) * (base.half ? 8 : 16); // one key's loads per lane
  // No more keys ahead than the scores alone leave room for (a forced loadBytes may ask for millions).
  const { width, vecs } = scoreVectors(rows);
  const most = Math.floor(limit / (4 * width * vecs * (base.threads / base.lanes)));
  for (let keysAhead = Math.max(1, Math.min(most, Math.floor(loadBytes / laneBytes))); keysAhead >= 1; keysAhead--) {
    // As many rows meet per round as fit a quarter of the memory (fewer barriers), at least one.
    for (let roundRows = rows; roundRows >= 1; roundRows--) {
      // Invocation (row, column) adds a round's sums up: the round's rows × D/4 fit the workgroup.
      if (rows % roundRows !== 0 || roundRows * (base.headDim / 4) > base.threads) continue;
      const cfg = { ...base, keysAhead, roundRows };
      const meet = decodeWorkgroupBytes(cfg) - decodeWorkgroupBytes({ ...cfg, roundRows: 0 });
      if ((meet <= limit / 4 || roundRows === 1) && decodeWorkgroupBytes(cfg) <= limit) return cfg;
    }
  }
  return undefined;
}

/**
 * Key ranges of a decode call: each at most `keys` (its scores fit workgroup memory), and
 * more, down to MIN_RANGE_KEYS each, while the call has fewer workgroups than split-K's
 * target. `forced` (tests, tuning) asks for a number of ranges, within those bounds.
 */
export function decodeRanges(seqK: number, workgroups: number, keys: number, threads: number, forced?: number): [number, number][] {
  const fewest = Math.ceil(seqK / keys);
  const most = Math.max(fewest, Math.ceil(seqK / MIN_RANGE_KEYS));
  const target = Math.ceil(SPLIT_TARGET_INVOCATIONS / threads / workgroups);
  const count = Math.min(most, Math.max(fewest, forced ?? target));
  return splitKeys(seqK, Math.ceil(seqK / count));
}

/** Keys [0, seqK) in ranges of `per` (the last one shorter); one empty range when there are no keys. */
function splitKeys(seqK: number, per: number): [number, number][] {
  const ranges: [number, number][] = [];
  for (let lo = 0; lo < seqK; lo += per) ranges.push([lo, Math.min(seqK, lo + per)]);
  return ranges.length ? ranges : [[0, seqK]];
}

/** The decode program: outputs 'out' and 'lse' like the fused forward's, through split-K parts. */
export function decodeProgram(c: AttentionCall, layout: DecodeLayout): Program {
  const p = c.problem;
  const { cfg, warp, ranges, lowered, bound, parts } = layout;
  const buffers = { ...forwardBuffers(c, lowered), ...partBuffers(parts, ranges.length) };
  const spec = warp ? warpDecodeKernel(warp.cfg) : decodeKernel(cfg);
  const step = {
    spec,
    params: FORWARD_PARAMS,
    values: {
      ...boundValues(c, bound),
      ...blockParams(undefined),
      batchBase: 0,
      tileBase: 0,
      qTiles: 1,
      rangeKeys: warp?.rangeKeys ?? ranges[0]![1] - ranges[0]![0],
      oPart: parts.oStride / 16,
      statPart: parts.statsStride / 4,
    },
    buffers: { ...boundInputs(bound), o: 'oParts', lse: 'stats', aux: 'aux', pages: 'pages' },
    grid: [ranges.length, p.headsKv, p.batch] as [number, number, number],
  };
  const combine = combineStep(
    c,
    combineKernel(p.headDim, lowered.kernel?.sinkOffset, c.dtype === 'f16', layout.maxThreads),
    parts,
    ranges.length,
    layout.chunk,
    bound,
  );
  return { buffers, steps: [step, combine], labels: [`${spec.label} ×${ranges.length} key ranges`, combine.spec.label] };
}

/**
 * A flash call's program: on the decode kernel where it can run (few rows over many
 * keys), else on the tensor-core kernel where it can (f16 with enough rows), else on the
 * fused kernel. A forced tensor-core call skips the decode kernel.
 */
export function flashOrDecodeProgram(c: AttentionCall, caps: Caps): Program {
  const kernel = flashKernelOf(c, caps);
  if ('decode' in kernel) return decodeProgram(c, kernel.decode);
  return 'matrix' in kernel ? matrixProgram(c, kernel.matrix) : flashProgram(c, caps);
}

/** The kernel that runs a flash call, with its layout: the decode kernel, the tensor-core one, or the fused one. */
export type FlashKernel = { readonly decode: DecodeLayout } | { readonly matrix: MatrixLayout } | { readonly fused: true };

/** Which kernel runs a flash call (flashOrDecodeProgram's choice, and the IO model's); throws where a forced kernel cannot run it. */
export function flashKernelOf(c: AttentionCall, caps: Caps): FlashKernel {
  const matrixForced = c.tensorCores !== undefined && c.tensorCores !== false;
  const decode = matrixForced ? undefined : decodeLayout(c, caps);
  if (decode) return { decode };
  const matrix = matrixLayout(c, caps);
  return matrix ? { matrix } : { fused: true };
}
