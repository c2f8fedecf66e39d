/*
 * Options of createAttention() and forward(), with their defaults.
 */
import type { BackwardTile } from '../kernels/backward.js';
import type { ForwardTile } from '../kernels/forward.js';
import type { DecodeTile } from '../kernels/decode-config.js';
import type { MatrixTile } from '../kernels/matrix-program.js';
import type { Sinks } from '../mods/builtins.js';
import type { Modifier } from '../mods/modifier.js';
import type { DType } from '../tensor/half.js';
import type { Layout } from '../tensor/shape.js';
import type { AttentionTensor } from './tensor.js';
import type { PagedKeys } from './paged-call.js';

/** Which backend createAttention() uses. */
export type BackendChoice = 'auto' | 'webgpu' | 'cpu' | { readonly device: GPUDevice };

export interface CreateOptions {
  /** 'auto' (default): WebGPU if an adapter exists, else the CPU (and says why in `fallbackReason`). */
  readonly backend?: BackendChoice;
  /** Node only: Dawn toggles passed to webgpu's create(). */
  readonly dawnFlags?: readonly string[];
  /**
   * Testing aid: fill every output with NaN before each run, so an element a kernel
   * fails to write shows up as NaN instead of a plausible zero. Default false.
   */
  readonly poisonOutputs?: boolean;
  /**
   * 'cached' (default): use tiles an earlier `bench --tune` found for this adapter and
   * library version (Node: read from ~/.cache/webgpu-attention/tuning.json, or
   * $WEBGPU_ATTENTION_CACHE); 'off': always the built-in defaults.
   */
  readonly tuning?: 'cached' | 'off';
  /**
   * Let the fused kernel reduce rows with subgroup shuffles where the adapter has
   * 'subgroups' wide enough (default true); false forces the workgroup-memory path.
   */
  readonly subgroups?: boolean;
  /**
   * f16 calls on a device with 'shader-f16': stage the fused forward's workgroup tiles
   * as f16 (half the workgroup memory; products and softmax stay f32). Default true;
   * false keeps f16 to storage (packed pairs widened at load). `info` names the tier.
   */
  readonly shaderF16?: boolean;
  /**
   * f16 forwards and backwards on the GPU's matrix units (kernels/matrix.ts, matrix-backward.ts) where the device offers
   * f16 subgroup matrices ('chromium-experimental-subgroup-matrix'; in Node, Dawn offers
   * it with dawnFlags ['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia']).
   * Default true; false keeps every call on the SIMT kernels. 'emulate' is a testing aid:
   * the same kernel with its matrix operations emulated in workgroup memory (slow, any adapter).
   */
  readonly tensorCores?: boolean | 'emulate';
  /**
   * Testing aid: split calls as if the device bound at most this many bytes per
   * binding (large calls are split by batch, then by head group, automatically).
   */
  readonly maxBindingBytes?: number;
  /**
   * CPU backend: `wasm: false` runs the plain JS kernel instead of the WebAssembly SIMD
   * one (default true where the engine has wasm SIMD; env WEBGPU_ATTENTION_CPU=js also
   * turns it off). Modifiers (score, mask) always run on the JS kernel. `threads`: worker
   * threads for the forward and backward (default: the available cores); 0 or 1 runs it on the calling thread.
   */
  readonly cpu?: CpuOptions;
}

/** Options of the CPU backend (see CreateOptions.cpu). */
export interface CpuOptions {
  /** Use the WebAssembly SIMD kernel where the engine has it. Default true. */
  readonly wasm?: boolean;
  /**
   * Worker threads (node:worker_threads, Web Workers) the fused forward is split over,
   * by batch × head (× 64-row query tiles when heads are few), and the backward by KV
   * head (inline when it wants table gradients), with bit-identical results; the
   * calling thread stays free. Default: the available cores. 0 or 1: run
   * inline, blocking the calling thread, as before. Small calls always run inline.
   */
  readonly threads?: number;
}

export { ALGORITHMS, type Algorithm } from '../kernels/call.js';
export { DTYPES, type DType } from '../tensor/half.js';
export type { ForwardTile } from '../kernels/forward.js';
export type { DecodeTile } from '../kernels/decode-config.js';
export type { MatrixTile } from '../kernels/matrix-program.js';
export type { BackwardTile } from '../kernels/backward.js';
import type { Algorithm } from '../kernels/call.js';

export interface ForwardOptions {
  /**
   * The tensors' element type, if the caller wants it checked: the call runs in the
   * dtype its tensors have (attn.tensor(…, { dtype })), and a mismatch is an error.
   */
  readonly dtype?: DType;
  /**
   * Causal mask: a key is visible when its position is ≤ the query's (see queryOffset).
   * With the default positions that is the bottom-right alignment when Nq ≠ Nk. Default false.
   */
  readonly causal?: boolean;
  /**
   * Position of query row 0 in its sequence: row i sits at queryOffset + i. One integer ≥ 0,
   * or one per batch entry (ragged batches). `causal` compares positions, and score/mask
   * modifiers see positions as q and kv, so a sequence gives the same result in one call,
   * in chunks of rows or token by token. Default Nk − Nq (the queries are the last rows of
   * the keys' sequence, as in decoding).
   */
  readonly queryOffset?: number | readonly number[];
  /** Position of key 0: key j sits at keyOffset + j. One integer ≥ 0, or one per batch entry. Default 0. */
  readonly keyOffset?: number | readonly number[];
  /** Softmax scale. Default 1/√D. */
  readonly scale?: number;
  /** Default 'flash'. */
  readonly algorithm?: Algorithm;
  /** Also return the log-sum-exp per row ([B, Hq, Nq, 1]). Default false. */
  readonly returnLse?: boolean;
  /** WebGPU only (ignored on the CPU backend): force a tile shape (tuning and tests). */
  readonly tile?: ForwardTile;
  /**
   * WebGPU, flash only (ignored on the CPU backend): run each row's keys in this many ranges and merge them (split-K).
   * Default: automatic — on the fused kernel only when the call has too few rows to fill
   * the GPU (short prompts with long caches); on the decode kernel as many as fill the GPU,
   * and at least enough that each range fits its workgroup memory. 1 never splits on the
   * fused kernel; the decode kernel still splits keys that do not fit one range. On the
   * subgroup decode kernel a range is one subgroup's (8 to a workgroup; rounded up to whole
   * workgroups); which decode kernel runs does not depend on it.
   */
  readonly keySplits?: number;
  /**
   * WebGPU, flash only (ignored on the CPU backend): the decode kernel, made for few query rows per K/V head
   * (group × Nq ≤ 16) over many keys without score or mask modifiers. Default: used for
   * every call it can run, the fused kernel for the rest. false: always the fused kernel.
   * true, or a DecodeTile (threads, lanes per key row, load bytes; for tuning): always the
   * decode kernel, an AttentionInputError where the call cannot run on it; a DecodeTile picks
   * the barrier-synchronised decode kernel. By default (and with true) a call runs on the
   * subgroup decode kernel, whose subgroups never wait for each other, where the device's
   * subgroups have exactly 32 lanes, D = 128, at most 8 rows and keys enough to fill the GPU
   * (docs/decoding.md); 'subgroups' insists on it, an AttentionInputError where it cannot run.
   */
  readonly decodeKernel?: boolean | 'subgroups' | DecodeTile;
  /**
   * WebGPU, flash, f16 (ignored on the CPU backend): the tensor-core kernels (S = QKᵀ and P·V on the
   * matrix units; in backward(), both passes' products, with at least 16 query rows and 16 keys). Default:
   * used for every call it can run where the device has them (no modifiers, sinks, per-batch
   * positions or paged K/V, no forced `tile` or `keySplits`, at least one workgroup's rows of
   * queries; calls the decode kernel takes stay there). false: never. true, or a MatrixTile
   * (subgroups per workgroup, keys per tile; for tuning): always for flash calls on WebGPU
   * (ahead of the decode kernel), an AttentionInputError where the call or the device cannot
   * run it (backward() takes a MatrixTile's `subgroups`; its tiles are 16 rows). Independent of `shaderF16`.
   */
  readonly tensorCores?: boolean | MatrixTile;
  /** Score modifier (alibi, softcap, relativeBias, scoreMod(…), compose(…)), applied to the scaled score. */
  readonly score?: Modifier;
  /** Mask modifier (slidingWindow, documentMask, maskMod(…), and/or/not …); combined with `causal`. */
  readonly mask?: Modifier;
  /** Learned attention sinks: learnedSinks(logits) with one logit per query head. */
  readonly sinks?: Sinks;
  /**
   * Write results into these tensors instead of new ones (e.g. a caller's GPUBuffer
   * wrapped with attn.tensor(buffer, dims)): forward() writes `out` (q's shape and
   * layout); backward() writes `dq`, `dk`, `dv` (q's, k's, v's). Each is returned as the result.
   * WebGPU only: the CPU backend refuses it with an AttentionInputError.
   */
  readonly into?: IntoTensors;
  /**
   * Paged K/V (as vLLM's PagedAttention): k and v are page pools [numPages, Hkv, pageSize, D],
   * and `pages` says which pages each batch entry reads and how many keys it has (see
   * PagedKeys, docs/decoding.md "Paged cache"). Forward only, on the fused kernel.
   */
  readonly pages?: PagedKeys;
}

/** Tensors results are written into (see `into`). */
export interface IntoTensors {
  readonly out?: AttentionTensor;
  readonly dq?: AttentionTensor;
  readonly dk?: AttentionTensor;
  readonly dv?: AttentionTensor;
}

/** Options of backward(): the forward call's options, plus what to differentiate. */
export interface BackwardOptions extends ForwardOptions {
  /**
   * Gradients of the tables the score modifier reads (ALiBi slopes, relative-bias
   * tables, any table of a user's scoreMod), returned as `dtables`. Default true
   * when the score modifier reads a table; false skips the work for frozen tables.
   */
  readonly tableGrads?: boolean;
  /** WebGPU only: force the backward kernels' tile shape (tuning and tests). */
  readonly backwardTile?: BackwardTile;
  /**
   * WebGPU only: force the dQ pass's tile (tests and sweeps). Default: the dQ pass's
   * own tile with dS in the V tile where one fits, else `backwardTile` or the default.
   */
  readonly dqTile?: BackwardTile;
}

export interface TensorOptions {
  /** Memory order of `data`. Default 'bhnd'. */
  readonly layout?: Layout;
  /**
   * Element type: 'f32', or 'f16' (2 bytes per element on the GPU, computed in f32).
   * Default: 'f16' for a Uint16Array (f16 bits) or Float16Array, else 'f32'.
   */
  readonly dtype?: DType;
  /**
   * With a GPUBuffer: where the tensor starts in it, in bytes (a multiple of the device's
   * minStorageBufferOffsetAlignment, usually 256). Default 0.
   */
  readonly byteOffset?: number;
}
