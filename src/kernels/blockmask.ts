/*
 * Block-mask classification: for every (Q tile, K/V tile) of a mask modifier,
 * is it empty (every element masked), full (none masked) or partial? One
 * workgroup per tile evaluates the mask on all BR×BC elements (elements past
 * Nq or Nk don't count). The fused kernel then skips empty tiles and does not
 * evaluate the mask on full ones.
 *
 * States: 0 empty, 1 partial, 2 full. Layout [Bm, Hm, nQ, nK] where Bm and Hm
 * are 1 when the mask ignores b or h. The mask sees positions (mods/positions.ts):
 * with a per-batch position table, tiles are classified per batch entry (Bm = B).
 */
import { declareBindings, PARAMS_BINDING, type KernelSpec } from './spec.js';
import { paramStruct, type ParamLayout } from './params.js';
import { AUX_BINDING, positionLets, positionNames } from './wgsl-common.js';
import { blockMaskDims } from '../mods/blockmask.js';
import type { Modifier } from '../mods/modifier.js';
import type { BufferDecl, Program } from './program.js';
import type { LoweredVariant } from './variant.js';

export const BLOCK_EMPTY = 0;
export const BLOCK_PARTIAL = 1;
export const BLOCK_FULL = 2;

export const BLOCKMASK_PARAMS: ParamLayout = {
  fields: [
    ['seqQ', 'u32'],
    ['seqK', 'u32'],
    ['heads', 'u32'],
    ['nQ', 'u32'],
    ['nK', 'u32'],
  ],
};

export interface BlockMaskConfig {
  readonly rowsPerTile: number;
  readonly keysPerTile: number;
  /** `fn maskMod(b: i32, h: i32, q: i32, kv: i32) -> bool`, emitted from IR. */
  readonly maskFn: string;
  readonly readsTables: boolean;
  /** Offset in `aux` of per-batch (query, key) position pairs, when the mask sees a call's positions. */
  readonly positionsAt?: number;
}

const THREADS = 64;

export function blockMaskKernel(cfg: BlockMaskConfig): KernelSpec {
  const usesAux = cfg.readsTables || cfg.positionsAt !== undefined;
  const bindings = [PARAMS_BINDING, { name: 'states', kind: 'read_write', type: 'array<u32>' } as const, ...(usesAux ? [AUX_BINDING] : [])];
  const pos = positionNames(cfg.positionsAt);
  const wgsl = /* wgsl */ `
${paramStruct('Params', BLOCKMASK_PARAMS)}
${declareBindings(bindings)}
${cfg.maskFn}

const BR = ${cfg.rowsPerTile}u;
const BC = ${cfg.keysPerTile}u;
var<workgroup> anyKept: atomic<u32>;
var<workgroup> anyMasked: atomic<u32>;

// workgroup (K/V tile, Q tile, b·Hm + h)
@compute @workgroup_size(${THREADS}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let b = i32(wg.z / params.heads);
  let h = i32(wg.z % params.heads);
${positionLets(cfg.positionsAt, 'u32(b)')}  let q0 = wg.y * BR;
  let k0 = wg.x * BC;
  var kept = false;
  var masked = false;
  for (var e = tid; e < BR * BC; e += ${THREADS}u) {
    let q = q0 + e / BC;
    let kv = k0 + e % BC;
    if (q < params.seqQ && kv < params.seqK) {
      let keep = maskMod(b, h, ${pos.q('i32(q)')}, ${pos.kv('i32(kv)')});
      kept = kept || keep;
      masked = masked || !keep;
    }
  }
  if (kept) { atomicOr(&anyKept, 1u); }
  if (masked) { atomicOr(&anyMasked, 1u); }
  workgroupBarrier();
  if (tid == 0u) {
    let k = atomicLoad(&anyKept) != 0u;
    let m = atomicLoad(&anyMasked) != 0u;
    states[(wg.z * params.nQ + wg.y) * params.nK + wg.x] = select(${BLOCK_EMPTY}u, select(${BLOCK_PARTIAL}u, ${BLOCK_FULL}u, !m), k);
  }
}
`;
  return {
    label: `attention.blockmask ${cfg.rowsPerTile}x${cfg.keysPerTile}`,
    wgsl,
    workgroupSize: [THREADS, 1, 1],
    bindings,
    workgroupBytes: 8,
  };
}

/** Batch, head, Q-tile and K/V-tile extents of a block mask (batch and head 1 where the mask ignores them). */
export interface BlockMaskDims {
  readonly bm: number;
  readonly hm: number;
  readonly nQ: number;
  readonly nK: number;
}

/** What a block mask covers: the call's batch, query heads and lengths. */
export interface BlockMaskExtent {
  readonly batch: number;
  readonly heads: number;
  readonly seqQ: number;
  readonly seqK: number;
}

/**
 * The program that classifies every (Q tile, K/V tile) of `mask` at tile br×bc into
 * its output 'states' ([bm, hm, nQ, nK] u32). `v` is the call's lowering of the mask:
 * its mask function, and the mask's tables at the start of `aux`.
 */
export function blockMaskProgram(
  mask: Modifier,
  v: LoweredVariant,
  extent: BlockMaskExtent,
  br: number,
  bc: number,
): { program: Program; dims: BlockMaskDims } {
  const { bm: maskBm, hm } = blockMaskDims(mask, extent);
  // Per-batch positions make every batch entry's tiles its own, whether or not the mask reads b.
  const bm = v.positions ? extent.batch : maskBm;
  const dims = { bm, hm, nQ: Math.ceil(extent.seqQ / br), nK: Math.ceil(extent.seqK / bc) };
  const readsTables = mask.tables.size > 0;
  const positionsAt = v.positions ? v.maskFloats : undefined;
  const spec = blockMaskKernel({ rowsPerTile: br, keysPerTile: bc, maskFn: v.kernel!.maskFn!, readsTables, positionsAt });
  const buffers: Record<string, BufferDecl> = {
    states: { role: 'output', bytes: bm * hm * dims.nQ * dims.nK * 4, label: `attention block mask ${mask.label}` },
  };
  const aux = maskAux(v);
  if (aux.length) buffers.aux = { role: 'upload', data: aux, label: 'attention.blockmask tables' };
  const program: Program = {
    buffers,
    steps: [
      {
        spec,
        params: BLOCKMASK_PARAMS,
        values: { seqQ: extent.seqQ, seqK: extent.seqK, heads: hm, nQ: dims.nQ, nK: dims.nK },
        buffers: aux.length ? { states: 'states', aux: 'aux' } : { states: 'states' },
        grid: [dims.nK, dims.nQ, bm * hm],
      },
    ],
    labels: [spec.label],
  };
  return { program, dims };
}

/**
 * The block mask as a buffer a fused kernel binds, computed once per mask content
 * (IR and table values), extent and tile, and kept by the runtime for later calls: a
 * training loop that makes the same mask anew every step reuses it.
 */
export function cachedBlockMask(mask: Modifier, v: LoweredVariant, extent: BlockMaskExtent, br: number, bc: number): { decl: BufferDecl; dims: BlockMaskDims } {
  const { program, dims } = blockMaskProgram(mask, v, extent, br, bc);
  const tables = maskAux(v); // the mask's tables, then any per-batch positions: both decide the states
  const key = `${extent.batch}x${extent.heads}x${extent.seqQ}x${extent.seqK}@${br}x${bc}|${hashFloats(tables)}|${v.kernel!.maskFn}`;
  return { decl: { role: 'cached', key, build: program, output: 'states', label: `attention block mask ${mask.label}` }, dims };
}

/** What the classifier reads from `aux`: the mask's tables, then the per-batch positions when the call has them. */
function maskAux(v: LoweredVariant): Float32Array {
  const tables = v.aux ? v.aux.subarray(0, v.maskFloats) : new Float32Array(0);
  if (!v.positions) return tables;
  const out = new Float32Array(tables.length + v.positions.length);
  out.set(tables);
  out.set(v.positions, tables.length);
  return out;
}

/** Block-mask strides (in tiles) for the kernels' params: row; head and batch are 0 where the mask ignores them. */
export function blockParams(blocks: BlockMaskDims | undefined) {
  return {
    bmRow: blocks?.nK ?? 0,
    bmH: blocks && blocks.hm > 1 ? blocks.nQ * blocks.nK : 0,
    bmB: blocks && blocks.bm > 1 ? blocks.hm * blocks.nQ * blocks.nK : 0,
  };
}

/** FNV-1a over the bits of `data`: the table part of a block-mask cache key. */
function hashFloats(data: Float32Array): string {
  const words = new Uint32Array(data.buffer, data.byteOffset, data.length);
  let h = 0x811c9dc5;
  for (const w of words) h = Math.imul(h ^ w, 0x01000193) >>> 0;
  return `${data.length}:${h.toString(16)}`;
}
