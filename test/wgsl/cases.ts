/*
 * The WGSL of every kernel family at its default tiles, for two device profiles
 * (a 48 KiB GPU with 32-lane subgroups, and SwiftShader's 32 KiB without), with
 * and without a variant. The pipeline cache is keyed by this text, so the same
 * text means the same behaviour: a refactor that changes it must say why.
 */
import { backwardKernel, backwardPreprocessKernel, chooseBackwardTile, chooseDqTile } from '../../src/kernels/backward.js';
import { basicKernel } from '../../src/kernels/basic.js';
import { blockMaskKernel } from '../../src/kernels/blockmask.js';
import { combineKernel } from '../../src/kernels/combine.js';
import { decodeKernel } from '../../src/kernels/decode.js';
import { forwardKernel, type KernelVariant } from '../../src/kernels/forward.js';
import { matrixKernel } from '../../src/kernels/matrix.js';
import { defaultMatrixTile } from '../../src/kernels/matrix-program.js';
import { mergeKernel } from '../../src/kernels/merge.js';
import { naiveMaskKernel, naivePvKernel, naiveScoresKernel, naiveSoftmaxKernel } from '../../src/kernels/naive.js';
import { chooseForwardTile, tileUsesSubgroups } from '../../src/kernels/tiles.js';
import { alibi, alibiSlopes, slidingWindow } from '../../src/mods/builtins.js';
import { emitWgsl, packTables } from '../../src/mods/emit-wgsl.js';
import { scoreGrad, tableTerms } from '../../src/mods/grad.js';

const PROFILES = {
  gpu48k: { limits: { maxComputeWorkgroupStorageSize: 49152, maxComputeInvocationsPerWorkgroup: 1024 }, subgroupWidth: 32 },
  swiftshader: { limits: { maxComputeWorkgroupStorageSize: 32768, maxComputeInvocationsPerWorkgroup: 256 }, subgroupWidth: 0 },
} as const;

/** ALiBi over 8 heads and a causal window of 64 keys, with learned sinks: the variant every family compiles. */
function variant(sinks: boolean) {
  const score = alibi(alibiSlopes(8));
  const mask = slidingWindow(64);
  const { layout } = packTables([score, mask]);
  const tableFloats = [...layout.values()].reduce((n, t) => n + t.length, 0);
  const kernel: KernelVariant = {
    scoreFn: emitWgsl(score, layout),
    maskFn: emitWgsl(mask, layout),
    sinkOffset: sinks ? tableFloats : undefined,
    readsTables: true,
  };
  const terms = tableTerms(score);
  const tableGrads = {
    fns: terms.map((t, k) => `${emitWgsl(t.index, layout, `tgIndex${k}`)}\n${emitWgsl(t.partial, layout, `tgPartial${k}`)}`).join('\n'),
    terms: terms.map((t) => layout.get(t.table)!),
  };
  return { kernel, tableGrads, scoreGradFn: emitWgsl(scoreGrad(score), layout, 'scoreModGrad'), maskWgsl: emitWgsl(mask, layout) };
}

/** name → WGSL for every case. */
export function wgslCases(): Map<string, string> {
  const cases = new Map<string, string>();
  for (const [profile, { limits, subgroupWidth }] of Object.entries(PROFILES)) {
    for (const d of [64, 128]) {
      const tile = chooseForwardTile(d, limits, subgroupWidth)!;
      const subgroups = tileUsesSubgroups(tile, subgroupWidth);
      for (const causal of [false, true]) {
        cases.set(`${profile}/forward-d${d}${causal ? '-causal' : ''}`, forwardKernel({ headDim: d, causal, tile, subgroups }).wgsl);
      }
      const v = variant(true);
      cases.set(
        `${profile}/forward-d${d}-variant`,
        forwardKernel({ headDim: d, causal: true, tile, subgroups, variant: { ...v.kernel, blockMask: true } }).wgsl,
      );
      const small = chooseForwardTile(d, limits, subgroupWidth, 4)!;
      cases.set(
        `${profile}/forward-d${d}-decode-packed-split`,
        forwardKernel({ headDim: d, causal: false, tile: small, subgroups: tileUsesSubgroups(small, subgroupWidth), partial: true, pack: 4 }).wgsl,
      );
      // Paged K/V: decoding (packed, split) at 16-row pages, and causal few-row chunks with per-batch positions at 7-row pages.
      const paged = { headDim: d, tile: small, subgroups: tileUsesSubgroups(small, subgroupWidth) };
      cases.set(`${profile}/forward-d${d}-decode-paged16`, forwardKernel({ ...paged, causal: false, partial: true, pack: 4, pageSize: 16 }).wgsl);
      cases.set(
        `${profile}/forward-d${d}-causal-paged7-f16`,
        forwardKernel({ ...paged, causal: true, half: true, pageSize: 7, variant: { readsTables: false, positionsAt: 0 } }).wgsl,
      );
      // The decode kernel: GQA 4 × 1 row, f16; and 2 causal rows at per-batch positions over 16-row pages.
      const lanes = subgroupWidth > 0 ? Math.min(4, subgroupWidth) : 1;
      const dk = { headDim: d, pack: 4, threads: 256, lanes, keysAhead: 2, roundRows: 2 };
      cases.set(`${profile}/decode-d${d}-f16`, decodeKernel({ ...dk, seqQ: 1, causal: false, half: true }).wgsl);
      cases.set(`${profile}/decode-d${d}-causal-paged16`, decodeKernel({ ...dk, seqQ: 2, causal: true, half: false, positionsAt: 0, pageSize: 16 }).wgsl);
      cases.set(`${profile}/combine-d${d}`, combineKernel(d).wgsl);
      cases.set(`${profile}/combine-d${d}-sinks`, combineKernel(d, 12).wgsl);
      const bt = chooseBackwardTile(d, limits)!;
      const dqt = chooseDqTile(d, limits) ?? bt;
      cases.set(`${profile}/backward-preprocess-d${d}`, backwardPreprocessKernel(d).wgsl);
      for (const causal of [false, true]) {
        const tag = `d${d}${causal ? '-causal' : ''}`;
        cases.set(`${profile}/backward-dq-${tag}`, backwardKernel({ headDim: d, causal, tile: dqt }, 'dq').wgsl);
        cases.set(`${profile}/backward-dkdv-${tag}`, backwardKernel({ headDim: d, causal, tile: bt }, 'dkdv').wgsl);
      }
      const v2 = variant(false);
      const withVariant = { headDim: d, causal: true, scoreGradFn: v2.scoreGradFn, variant: { ...v2.kernel, blockMask: true } };
      cases.set(`${profile}/backward-dq-d${d}-variant`, backwardKernel({ ...withVariant, tile: dqt, tableGrads: v2.tableGrads }, 'dq').wgsl);
      cases.set(`${profile}/backward-dkdv-d${d}-variant`, backwardKernel({ ...withVariant, tile: bt }, 'dkdv').wgsl);
    }
  }
  const v = variant(true);
  // The tensor-core forward at its default tiles (NVIDIA's 16x16x16, subgroups of 32), and emulated as CI runs it.
  const shape = { m: 16, n: 16, k: 16 };
  for (const d of [64, 128]) {
    for (const causal of [false, true]) {
      const tile = defaultMatrixTile(d, causal);
      cases.set(`matrix/d${d}${causal ? '-causal' : ''}`, matrixKernel({ headDim: d, causal, ...tile, shape, subgroupSize: 32 }).wgsl);
    }
  }
  cases.set('matrix/d64-causal-emulated', matrixKernel({ headDim: 64, causal: true, subgroups: 2, keys: 16, shape, subgroupSize: 32, emulate: true }).wgsl);
  cases.set('basic/d64', basicKernel(64).wgsl);
  cases.set('naive/scores', naiveScoresKernel().wgsl);
  cases.set('naive/pv', naivePvKernel().wgsl);
  cases.set('naive/mask-causal', naiveMaskKernel(true).wgsl);
  cases.set('naive/mask-variant', naiveMaskKernel(true, v.kernel).wgsl);
  cases.set('naive/softmax', naiveSoftmaxKernel().wgsl);
  cases.set('naive/softmax-variant', naiveSoftmaxKernel(v.kernel).wgsl);
  cases.set('merge/d64', mergeKernel(64).wgsl);
  cases.set('merge/d128', mergeKernel(128).wgsl);
  cases.set('blockmask/window-64x64', blockMaskKernel({ rowsPerTile: 64, keysPerTile: 64, maskFn: v.maskWgsl, readsTables: false }).wgsl);
  // f16 tensors: packed pairs widened at load (every adapter), and with f16 workgroup tiles (shader-f16).
  const g = PROFILES.gpu48k;
  const t64 = chooseForwardTile(64, g.limits, g.subgroupWidth)!;
  const f16 = { headDim: 64, causal: true, tile: t64, subgroups: tileUsesSubgroups(t64, g.subgroupWidth), half: true };
  cases.set('f16/forward-d64-causal', forwardKernel(f16).wgsl);
  cases.set('f16/forward-d64-causal-tiles', forwardKernel({ ...f16, halfTiles: true }).wgsl);
  cases.set('blockmask/window-32x32', blockMaskKernel({ rowsPerTile: 32, keysPerTile: 32, maskFn: v.maskWgsl, readsTables: false }).wgsl);
  return cases;
}
