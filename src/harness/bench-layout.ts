/*
 * The layout the IO model (io-model.ts) reads for a benchmark's call: how the kernel that
 * the GPU runner picks for it lays it out, so the model counts that kernel's traffic.
 */
import type { Attention } from '../api/attention.js';
import { gpuSeam } from '../api/internal.js';
import type { AttentionCall } from '../kernels/call.js';
import { flashKernelOf, type FlashKernel } from '../kernels/decode-program.js';
import { forwardLayout } from '../kernels/forward-program.js';
import { matrixSizes } from '../kernels/matrix.js';
import { stridesOf } from '../tensor/shape.js';
import type { Problem } from '../tensor/validate.js';
import type { FlashLayout } from './io-model.js';

/**
 * How the kernel that runs a benchmark's call lays it out (the IO model's input): the GPU
 * runner's own plan — the decode kernel's rows and key ranges, the tensor-core kernel's
 * row blocks, else the fused kernel's tile, GQA packing and key ranges; 16-row tiles on the CPU.
 */
export function flashLayoutOf(
  attn: Attention,
  problem: Problem,
  causal: boolean,
  opts: Partial<Pick<AttentionCall, 'tile' | 'keySplits' | 'score' | 'mask' | 'decodeKernel' | 'tensorCores' | 'dtype'>> = {},
): FlashLayout {
  const gpu = gpuSeam(attn);
  if (!gpu) return { br: 16 };
  const operand = (heads: number, seq: number) => ({
    layout: 'bhnd' as const,
    strides: stridesOf({ batch: problem.batch, heads, seq, headDim: problem.headDim }, 'bhnd'),
  });
  const kv = operand(problem.headsKv, problem.seqK);
  const { tile, keySplits, score, mask, decodeKernel, tensorCores, dtype = 'f32' } = opts;
  const picked = { tile, keySplits, score, mask, decodeKernel, tensorCores, dtype };
  const call: AttentionCall = { problem, q: operand(problem.headsQ, problem.seqQ), k: kv, v: kv, scale: 1, causal, algorithm: 'flash', ...picked };
  let kernel: FlashKernel;
  try {
    kernel = flashKernelOf(call, gpu.caps);
  } catch {
    kernel = { fused: true }; // a forced kernel that cannot run: the call itself will say why
  }
  if ('decode' in kernel) {
    const { cfg, ranges } = kernel.decode;
    return { br: cfg.pack * cfg.seqQ, pack: cfg.pack, ranges };
  }
  if ('matrix' in kernel) return { br: matrixSizes(kernel.matrix.cfg).BR };
  const { br, pack, ranges } = forwardLayout(call, gpu.caps);
  return { br, pack, ranges };
}
