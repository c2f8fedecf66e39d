/*
 * Fused attention forward (FlashAttention-2 style), f32.
 *
 * One workgroup owns BR query rows of one (batch, head). It stages its Q tile in
 * workgroup memory once, then walks the K/V tiles of BC keys (scores are scaled by
 * qkScale = scale·log2 e after the dot product, rounding once like the reference,
 * so the softmax uses exp2):
 *
 *   S   = qkScale·Q Kᵀ                        (each invocation: RM rows × CN keys, keys strided by TX)
 *   m'  = max(m, rowmax(S))           (per-row max through a small workgroup reduction)
 *   P   = exp2(S − m'),  α = exp2(m − m')
 *   l   = α·l + rowsum(P)             (kept per invocation as a partial sum, reduced once at the end)
 *   acc = α·acc + P V                 (each invocation: RM rows × OC vec4 columns)
 *
 * and finally O = acc / l, LSE = (m + log2 l)·ln 2. Nothing N×N touches device memory.
 * Causal tiles entirely above the diagonal are never loaded (the loop stops at kvEnd);
 * the diagonal and ragged last tiles are masked per element.
 *
 * The kernel is assembled from the WGSL blocks of forward-blocks.ts (stage a tile,
 * S = QKᵀ, scale and mask, the online-softmax update, acc += P·V, write a row), which
 * read a checked plan of the config (forward-plan.ts); kvLoop below is the algorithm.
 *
 * History (the kernel's changes, as docs/PERF.md names and measures them; only the
 * current text exists, the versions are not runnable):
 *   v1  register-tiled RM×CN scores and RM×4·OC outputs per invocation, Q/K/V/P staged
 *       in workgroup memory, K rows padded by one vec4 against bank conflicts,
 *       optional K/V sharing one staging buffer where workgroup memory is small.
 *       H100: 11.9 TFLOP/s at N=4096 D=64 (about the naive pipeline's 12.8).
 *   v2  the per-invocation loops (rows, keys, output columns, reductions) unrolled
 *       when the WGSL is generated, so every array index is a constant and the
 *       register arrays cannot fall back to local memory. H100: 11.8 (no change:
 *       the driver had unrolled v1 already).
 *   v3  K/V tiles fetched into registers one tile ahead (global latency hidden behind
 *       the current tile's math); explicit fma chains instead of dot() + add.
 *       H100: 18.6 (8×16 invocations), 19.7 (16×16, 4 rows × 2 keys each).
 *   v4  interior tiles (no ragged end, wholly below the causal diagonal) skip the
 *       per-element mask through a workgroup-uniform branch. H100: 21.1 TFLOP/s.
 *   v5  variants: score/mask modifiers emitted from IR, learned sinks in the epilogue,
 *       and a block mask: the K/V loop hops over empty tiles and full tiles skip the
 *       mask modifier.
 *   v6  row max and row sum by subgroup shuffles where a subgroup holds a row.
 *       H100: no change (21.1).
 *   v7  P written into the K buffer once S is done, K rows XOR-swizzled instead of
 *       padded: a 64×64 tile with 4×4 blocks per invocation fits 48 KiB.
 *       H100: 24.2 TFLOP/s at D=64 (+16%), 20.2 at D=128 (+3%).
 *   (v8 rows over 8-lane patches for fewer distinct K/V bytes per warp load: 15%
 *       slower, Q/P bank conflicts; removed.)
 *   v9  split-K: the x dimension runs over (key range, Q tile); `partial` writes each
 *       row's max and denominator for kernels/combine.ts. H100 decoding (1 row ×
 *       32 heads, 8192–32768 keys): 9–17× faster than one range per row.
 *   v10 GQA packing (`pack`): the query heads of one K/V head stacked in a workgroup's
 *       rows. H100 decoding (GQA 32:8): 1.5–2.4× over v9.
 */
import type { KernelSpec } from './spec.js';
import { each } from './codegen.js';
import { BLOCK_FULL } from './blockmask.js';
import { forwardWorkgroupBytes, type ForwardConfig } from './forward-config.js';
import { forwardPlan, type ForwardPlan } from './forward-plan.js';
import {
  accumulatePV,
  fetchTile,
  keyRange,
  moduleScope,
  onlineSoftmaxRow,
  reduceRowSums,
  scaleMaskRow,
  scoresQK,
  stageQ,
  stageTile,
  workgroupIds,
  workgroupTiles,
  writeRow,
} from './forward-blocks.js';

// The config, its sizes and the WGSL pieces other families share live in their own files;
// this module still exports them under the names other files import from it.
export {
  FORWARD_PARAMS,
  forwardAccFloats,
  forwardWorkgroupBytes,
  tileOptionsProblem,
  tileRows,
  type ForwardConfig,
  type ForwardTile,
  type KernelVariant,
} from './forward-config.js';
export { AUX_BINDING, IS_NAN, LSE_OF, NEXT_TILE } from './wgsl-common.js';

/** The fused forward kernel for `cfg` (throws naming the problem when the config cannot build). */
export function forwardKernel(cfg: ForwardConfig): KernelSpec {
  const plan = forwardPlan(cfg);
  const { tile: t, oc } = plan;
  const wgsl = /* wgsl */ `${moduleScope(plan)}

${workgroupTiles(plan)}

@compute @workgroup_size(TX, TY, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
${workgroupIds(plan)}

${stageQ(plan)}

  var m: array<f32, RM>;
  var l: array<f32, RM>;
  var acc: array<vec4<f32>, ${t.rm * oc}>;
${each(t.rm, (r) => `  m[${r}] = MASKED;`)}

${keyRange(plan)}
${kvLoop(plan)}

  // Reduce the partial denominators of each row, then O = acc / l and LSE.
${reduceRowSums(plan)}
${each(t.rm, (r) => writeRow(plan, r))}
}
`;
  return {
    label: forwardLabel(plan),
    wgsl,
    workgroupSize: [t.tx, t.ty, 1],
    bindings: plan.bindings,
    workgroupBytes: forwardWorkgroupBytes(cfg.headDim, t, plan.subgroups, cfg.halfTiles),
  };
}

/**
 * The main loop over K/V tiles: stage K (and V), S = Q Kᵀ, scale and mask S, the
 * online-softmax update of m, l, acc with P to workgroup memory, then acc += P·V.
 */
function kvLoop(plan: ForwardPlan): string {
  const { tile: t, blocks, pack, variant: v } = plan;
  const rows = (f: (r: number) => string) => each(t.rm, f);
  // Row maxima in `red` must be visible; V or P is about to overwrite Ks, which every invocation has just read.
  const sDone =
    plan.subgroups && !t.shareKv && !t.pInK
      ? ''
      : '    workgroupBarrier(); // row maxima visible; V or P may go into Ks next, which every invocation has just read';
  return /* wgsl */ `  loop {
    if (k0 >= kvEnd) { break; }
    let kNext = ${blocks ? 'nextTile(blockRow, k0 / BC + 1u, tileEnd) * BC' : 'k0 + BC'};
    let full = ${blocks ? `blocks[blockRow + k0 / BC] == ${BLOCK_FULL}u` : 'false'};
    workgroupBarrier();
${stageTile(plan, 'k')}
${t.shareKv ? '' : stageTile(plan, 'v')}
    workgroupBarrier();
    if (kNext < kvEnd) {
${fetchTile(plan, 'k', 'kNext')}
${t.shareKv ? '' : fetchTile(plan, 'v', 'kNext')}
    }

    // S = Q Kᵀ for this invocation's RM rows × CN keys (keys tx + TX·c).
${scoresQK(plan)}

    // Scale, mask (only ragged-end and causal-diagonal tiles need it), and this
    // invocation's share of each row max.
    let interior = k0 + BC <= ${plan.seqK} && (!CAUSAL || i32(k0 + BC - 1u) <= i32(${pack > 1 ? '0u' : 'q0'}) + ${plan.pos.causal});
${plan.subgroups ? `    var mxr: array<f32, ${t.rm}>;` : ''}
    if (interior) {
${rows((r) => scaleMaskRow(plan, r, false))}
    } else {
${rows((r) => scaleMaskRow(plan, r, true))}
    }
${sDone}

    // Online softmax: new row max, rescale l and acc, P to workgroup memory.
${rows((r) => onlineSoftmaxRow(plan, r))}
${t.shareKv ? stageTile(plan, 'v') : ''}
${t.shareKv ? `    if (kNext < kvEnd) {\n${fetchTile(plan, 'v', 'kNext')}\n    }` : ''}
    workgroupBarrier();

    // acc += P V for this invocation's RM rows × OC vec4 columns (columns tx + TX·c).
    // Where keys can be masked, a masked key's V must not reach the row even when it is
    // inf or NaN (0·inf = NaN would be invented): those tiles skip it explicitly.
    if (${blocks ? 'interior && full' : v?.maskFn ? 'false' : 'interior'}) {
${accumulatePV(plan, false)}
    } else {
${accumulatePV(plan, true)}
    }
    k0 = kNext;
  }`;
}

/** The kernel's label (names its GPU objects): the config's parts, nothing else. */
function forwardLabel(plan: ForwardPlan): string {
  const { cfg, tile: t, pack } = plan;
  const parts = [
    'attention.forward',
    plan.subgroups && 'subgroups',
    `d${cfg.headDim}`,
    cfg.half && 'f16',
    cfg.halfTiles && 'f16tiles',
    cfg.causal && 'causal',
    cfg.variant && 'variant',
    cfg.variant?.positionsAt !== undefined && 'positions',
    plan.blocks && 'blocks',
    cfg.partial && 'partial',
    pack > 1 && `gqa-packed${pack}`,
    cfg.pageSize !== undefined && `paged${cfg.pageSize}`,
    `br${plan.br}`,
    `bc${plan.bc}`,
    `${t.tx}x${t.ty}`,
    t.shareKv && 'sharedKV',
    t.pInK && 'pInK',
    t.swizzle && 'swizzle',
  ];
  return parts.filter(Boolean).join(' ');
}
