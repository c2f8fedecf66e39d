/*
 * The naive pipeline's program: per chunk of heads whose N×N score matrices fit
 * one binding, scores → mask (causal or a variant) → softmax → P·V, each step
 * reading and writing the score matrix through device memory (the baseline).
 */
import type { Problem } from '../tensor/validate.js';
import { AttentionLimitError } from '../tensor/errors.js';
import type { AttentionCall, Caps } from './call.js';
import { commonValues } from './forward-program.js';
import { NAIVE_GEMM_TILE, NAIVE_PARAMS, naiveMaskKernel, naivePvKernel, naiveScoresKernel, naiveSoftmaxKernel } from './naive.js';
import { checkWholeBindings, padBytes, strideValues, type BufferDecl, type Program, type Step } from './program.js';
import { lowerVariant } from './variant.js';

/** Query heads per naive chunk: as many N×N score matrices as fit one binding. */
export function naiveChunkHeads(caps: Caps, p: Problem): number {
  const perHead = p.seqQ * p.seqK * 4;
  const heads = Math.floor(caps.maxBindingBytes / perHead);
  if (heads < 1) {
    throw new AttentionLimitError(
      `the naive pipeline needs ${perHead} bytes for one head's ${p.seqQ}×${p.seqK} score matrix, ` +
        `but this device binds at most ${caps.maxBindingBytes} bytes; use the fused 'flash' algorithm`,
    );
  }
  return Math.min(heads, p.batch * p.headsQ);
}

/** The naive forward: outputs 'out' and 'lse' like the fused one; binds the caller's 'q', 'k', 'v' whole. */
export function naiveProgram(c: AttentionCall, caps: Caps): Program {
  const p = c.problem;
  const kvBytes = p.batch * p.headsKv * p.seqK * p.headDim * 4;
  checkWholeBindings(caps.maxBindingBytes, 'the naive pipeline', { q: p.batch * p.headsQ * p.seqQ * p.headDim * 4, k: kvBytes, v: kvBytes });
  const totalHeads = p.batch * p.headsQ;
  const chunk = naiveChunkHeads(caps, p);
  const lowered = lowerVariant(c);
  const v = lowered.kernel;
  const buffers: Record<string, BufferDecl> = {
    out: { role: 'output', bytes: totalHeads * p.seqQ * p.headDim * 4, label: 'attention out' },
    lse: { role: 'output', bytes: totalHeads * p.seqQ * 4, label: 'attention lse' },
    s: { role: 'scratch', bytes: padBytes(chunk * p.seqQ * p.seqK * 4), label: 'attention.naive scores' },
  };
  if (lowered.aux) buffers.aux = { role: 'upload', data: lowered.aux, label: 'attention aux tables' };
  const specs = { scores: naiveScoresKernel(), mask: naiveMaskKernel(c.causal, v), softmax: naiveSoftmaxKernel(v), pv: naivePvKernel() };
  const maskStep = c.causal || Boolean(v?.scoreFn || v?.maskFn);
  const T = NAIVE_GEMM_TILE;
  const maxWg = caps.limits.maxComputeWorkgroupsPerDimension;
  const steps: Step[] = [];
  for (let headBase = 0; headBase < totalHeads; headBase += chunk) {
    const n = Math.min(chunk, totalHeads - headBase);
    const values = {
      ...commonValues(p, c.positions),
      headBase,
      scale: c.scale,
      chunkRows: n * p.seqQ,
      headDim: p.headDim,
      ...strideValues(c, 1),
    };
    const rows = n * p.seqQ;
    const step = (spec: Step['spec'], grid: Step['grid']): Step => ({
      spec,
      params: NAIVE_PARAMS,
      values,
      grid,
      buffers: { q: 'q', k: 'k', v: 'v', s: 's', o: 'out', lse: 'lse', aux: 'aux' },
    });
    steps.push(step(specs.scores, [Math.ceil(p.seqK / T), Math.ceil(p.seqQ / T), n]));
    if (maskStep) steps.push(step(specs.mask, [Math.min(Math.ceil((rows * p.seqK) / 256), maxWg), 1, 1]));
    steps.push(step(specs.softmax, [Math.min(rows, maxWg), 1, 1]));
    steps.push(step(specs.pv, [Math.ceil(p.headDim / T), Math.ceil(p.seqQ / T), n]));
  }
  return { buffers, steps, labels: [...new Set(steps.map((s) => s.spec.label))] };
}
