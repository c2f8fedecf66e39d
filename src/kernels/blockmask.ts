/*
 * Block-mask classification: for every (Q tile, K/V tile) of a mask modifier,
 * is it empty (every element masked), full (none masked) or partial? One
 * workgroup per tile evaluates the mask on all BR×BC elements (elements past
 * Nq or Nk don't count). The fused kernel then skips empty tiles and does not
 * evaluate the mask on full ones.
 *
 * States: 0 empty, 1 partial, 2 full. Layout [Bm, Hm, nQ, nK] where Bm and Hm
 * are 1 when the mask ignores b or h.
 */
import { declareBindings, PARAMS_BINDING, type KernelSpec } from './spec.js';
import { paramStruct, type ParamLayout } from './params.js';
import { AUX_BINDING } from './wgsl-common.js';

export const BLOCK_EMPTY = 0;
export const BLOCK_PARTIAL = 1;
export const BLOCK_FULL = 2;

export const BLOCKMASK_PARAMS: ParamLayout = {
  fields: [['seqQ', 'u32'], ['seqK', 'u32'], ['heads', 'u32'], ['nQ', 'u32'], ['nK', 'u32']],
};

export interface BlockMaskConfig {
  readonly rowsPerTile: number;
  readonly keysPerTile: number;
  /** `fn maskMod(b: i32, h: i32, q: i32, kv: i32) -> bool`, emitted from IR. */
  readonly maskFn: string;
  readonly readsTables: boolean;
}

const THREADS = 64;

export function blockMaskKernel(cfg: BlockMaskConfig): KernelSpec {
  const bindings = [
    PARAMS_BINDING,
    { name: 'states', kind: 'read_write', type: 'array<u32>' } as const,
    ...(cfg.readsTables ? [AUX_BINDING] : []),
  ];
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
  let q0 = wg.y * BR;
  let k0 = wg.x * BC;
  var kept = false;
  var masked = false;
  for (var e = tid; e < BR * BC; e += ${THREADS}u) {
    let q = q0 + e / BC;
    let kv = k0 + e % BC;
    if (q < params.seqQ && kv < params.seqK) {
      let keep = maskMod(b, h, i32(q), i32(kv));
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
