/*
 * The page's one door into the library: the public API (src/index.ts) plus the
 * few internals the CLI uses too — the IO model and the bench harness
 * (src/harness/, shipped for the CLI, not part of the public API) and the JS
 * emitters that turn a modifier into the float64 reference's functions. Every
 * other file of web/src imports from here, so what the page relies on is
 * listed in one place.
 */
export {
  createAttention,
  blockMaskOnCpu,
  referenceForward,
  scoreMod,
  maskMod,
  where,
  causal,
  slidingWindow,
  documentMask,
  SUPPORTED_HEAD_DIMS,
  type Attention,
  type BlockMask,
  type Expr,
  type Modifier,
  type HostTensor,
} from '../../src/index.js';
export { ioSteps, type IoStep, type FlashLayout } from '../../src/harness/io-model.js';
export { benchOne, benchProblem, type BenchResult, type BenchShape } from '../../src/harness/bench.js';
export { flashLayoutOf } from '../../src/harness/bench-layout.js';
export { timingCaveat } from '../../src/harness/bench-check.js';
export { maskFn, scoreFn } from '../../src/mods/emit-js.js';
export { randomData, rng } from '../../src/harness/random.js';
