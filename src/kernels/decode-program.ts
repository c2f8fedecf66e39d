/*
 * When a forward call runs on the decode kernel (decode.ts) instead of the fused one,
 * and its program: the kernel over key ranges, then split-K's combine. The decode
 * kernel takes calls with few query rows per K/V head (group × Nq ≤ 32) over many keys
 * and no score or mask modifier, bound whole (one chunk); `decodeKernel` in the call
 * forces it on (an error where it cannot run) or off.
 */
import { AttentionInputError } from '../tensor/errors.js';
import { bytesOf } from '../tensor/half.js';
import { blockParams } from './blockmask.js';
import type { AttentionCall, Caps } from './call.js';
import { decodeKernel, decodeWorkgroupBytes, type DecodeConfig } from './decode.js';
import { FORWARD_PARAMS } from './forward-config.js';
import { commonValues, flashProgram, forwardLayout } from './forward-program.js';
import { pagedBuffers, poolRange } from './paged-program.js';
import { padBytes, strideValues, type BufferDecl, type Program } from './program.js';
import { chunkRanges, SPLIT_TARGET_INVOCATIONS } from './split.js';
import { combineKernel } from './combine.js';
import { combineStep, keyParts } from './split-k.js';
import { lowerVariant } from './variant.js';

/** Rows (group × Nq) a decode workgroup holds at most. */
export const DECODE_MAX_ROWS = 16;
/** Keys a range gets at least when ranges are split to fill the GPU. */
const MIN_RANGE_KEYS = 64;
const THREADS = 128;

/** How a call runs on the decode kernel: its pipeline config and key ranges. */
export interface DecodeLayout {
  readonly cfg: DecodeConfig;
  readonly ranges: readonly (readonly [number, number])[];
}

/** The decode layout of a call that asks for the decode kernel, or undefined (the fused kernel runs it). */
export function decodeLayout(c: AttentionCall, caps: Caps): DecodeLayout | undefined {
  if (!c.decodeKernel) return undefined;
  const why = whyNot(c, caps);
  if (why) throw new AttentionInputError(`decodeKernel: this call cannot run on the decode kernel: ${why}`);
  const p = c.problem;
  const pack = p.headsQ / p.headsKv;
  const d4 = p.headDim / 4;
  const lanes = caps.subgroupWidth > 0 ? Math.min(8, caps.subgroupWidth, 2 ** Math.floor(Math.log2(d4))) : 1;
  const base = { headDim: p.headDim, seqQ: p.seqQ, pack, causal: c.causal, half: c.dtype === 'f16', threads: THREADS, lanes };
  const positionsAt = lowerVariant(c).kernel?.positionsAt;
  const cfg = fitWorkgroup({ ...base, positionsAt, pageSize: c.pages?.pageSize }, caps.limits.maxComputeWorkgroupStorageSize)!;
  const ranges = decodeRanges(p.seqK, p.batch * p.headsKv, cfg.keys, c.keySplits);
  if (ranges.length > caps.limits.maxComputeWorkgroupsPerDimension) {
    throw new AttentionInputError(
      `decodeKernel: ${ranges.length} key ranges exceed this device's ${caps.limits.maxComputeWorkgroupsPerDimension} workgroups per dimension`,
    );
  }
  return { cfg, ranges };
}

/** Why a call cannot run on the decode kernel, or undefined. */
function whyNot(c: AttentionCall, caps: Caps): string | undefined {
  const p = c.problem;
  if (c.algorithm !== 'flash') return `algorithm '${c.algorithm}'`;
  if (c.score || c.mask) return 'it has a score or mask modifier';
  if (c.tile) return 'a fused-kernel tile is forced';
  const rows = (p.headsQ / p.headsKv) * p.seqQ;
  if (rows > DECODE_MAX_ROWS) return `${rows} query rows per K/V head (group × Nq) exceed ${DECODE_MAX_ROWS}`;
  if (p.headDim / 4 > THREADS) return `head dim ${p.headDim} is too large`;
  if (forwardLayout(c, caps).chunks.length > 1) return 'it does not fit one storage binding';
  const probe = { headDim: p.headDim, seqQ: p.seqQ, pack: p.headsQ / p.headsKv, causal: c.causal, half: false, threads: THREADS, lanes: 1 };
  if (!fitWorkgroup(probe, caps.limits.maxComputeWorkgroupStorageSize)) return 'its rows do not fit workgroup memory';
  return undefined;
}

/** The config with the most keys per range (≤ 1024, ≥ 64) whose workgroup memory fits `limit`. */
function fitWorkgroup(base: Omit<DecodeConfig, 'keys' | 'roundRows'>, limit: number): DecodeConfig | undefined {
  const rows = base.pack * base.seqQ;
  for (let keys = 1024; keys >= 64; keys /= 2) {
    // As many rows meet per round as fit a quarter of the memory (fewer barriers), at least one.
    for (let roundRows = rows; roundRows >= 1; roundRows--) {
      if (rows % roundRows !== 0) continue;
      const cfg = { ...base, keys, roundRows };
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
export function decodeRanges(seqK: number, workgroups: number, keys: number, forced?: number): [number, number][] {
  const fewest = Math.ceil(seqK / keys);
  const most = Math.max(fewest, Math.ceil(seqK / MIN_RANGE_KEYS));
  const target = Math.ceil(SPLIT_TARGET_INVOCATIONS / THREADS / workgroups);
  const count = Math.min(most, Math.max(fewest, forced ?? target));
  const per = Math.ceil(seqK / count);
  const ranges: [number, number][] = [];
  for (let lo = 0; lo < seqK; lo += per) ranges.push([lo, Math.min(seqK, lo + per)]);
  return ranges.length ? ranges : [[0, seqK]];
}

/** The decode program: outputs 'out' and 'lse' like the fused forward's, through split-K parts. */
export function decodeProgram(c: AttentionCall, caps: Caps, layout: DecodeLayout): Program {
  const p = c.problem;
  const { cfg, ranges } = layout;
  const lowered = lowerVariant(c);
  const outBytes = p.batch * p.headsQ * p.seqQ * p.headDim * bytesOf(c.dtype);
  const lseBytes = p.batch * p.headsQ * p.seqQ * 4;
  const buffers: Record<string, BufferDecl> = {
    out: { role: 'output', bytes: outBytes, label: 'attention out' },
    lse: { role: 'output', bytes: lseBytes, label: 'attention lse' },
  };
  if (lowered.aux) buffers.aux = { role: 'upload', data: lowered.aux, label: 'attention aux tables' };
  if (c.pages) Object.assign(buffers, pagedBuffers(c.pages));
  const parts = keyParts(caps, ranges.length, padBytes(p.batch * p.headsQ * p.seqQ * p.headDim * 4), padBytes(lseBytes) * 2);
  Object.assign(buffers, parts.buffers);
  const spec = decodeKernel(cfg);
  const fused = forwardLayout(c, caps);
  const r = poolRange(c, chunkRanges(fused.split, fused.chunks[0]!, caps.limits.minStorageBufferOffsetAlignment));
  const vecBytes = 4 * bytesOf(c.dtype);
  const step = {
    spec,
    params: FORWARD_PARAMS,
    values: {
      ...commonValues(p, c.positions),
      qkScale: c.scale * Math.LOG2E,
      ...strideValues(c, 4),
      scale: c.scale,
      ...blockParams(undefined),
      batchBase: 0,
      tileBase: 0,
      qOff: r.q.offset / vecBytes,
      kOff: r.k.offset / vecBytes,
      vOff: r.v.offset / vecBytes,
      lseOff: 0,
      qTiles: 1,
      rangeKeys: ranges[0]![1] - ranges[0]![0],
      oPart: parts.oStride / 16,
      statPart: parts.statsStride / 4,
    },
    buffers: {
      q: { name: 'q', ...r.q },
      k: { name: 'k', ...r.k },
      v: { name: 'v', ...r.v },
      o: 'oParts',
      lse: 'stats',
      aux: 'aux',
      pages: 'pages',
    },
    grid: [ranges.length, p.headsKv, p.batch] as [number, number, number],
  };
  const combine = combineStep(c, combineKernel(p.headDim, lowered.kernel?.sinkOffset, c.dtype === 'f16'), parts, ranges.length, fused.chunks[0]!, r);
  return { buffers, steps: [step, combine], labels: [`${spec.label} ×${ranges.length} key ranges`, combine.spec.label] };
}

/** A flash call's program: on the decode kernel where the call asks for it, else the fused kernel's. */
export function flashOrDecodeProgram(c: AttentionCall, caps: Caps): Program {
  const decode = decodeLayout(c, caps);
  return decode ? decodeProgram(c, caps, decode) : flashProgram(c, caps);
}
