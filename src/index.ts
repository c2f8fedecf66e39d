/*
 * webgpu-attention: exact, IO-aware fused attention through WebGPU, with a CPU fallback.
 * This file only re-exports the public surface.
 *
 * The reference below puts the WebGPU types (GPUDevice, GPUBuffer, …, from the
 * @webgpu/types dependency) into a consumer's program, so that this package's
 * .d.ts compile under a default tsconfig; `preserve` keeps it in dist/index.d.ts.
 */
/// <reference types="@webgpu/types" preserve="true" />
export { createAttention, Attention, type ForwardResult, type BackwardResult } from './api/attention.js';
export type { SavedTensors } from './api/call.js';
export { AttentionTensor, type GpuBufferView } from './api/tensor.js';
export { KVCache } from './api/kv-cache.js';
export { StreamingKVCache } from './api/streaming-cache.js';
export type { DecodeOptions } from './api/decode.js';
export type { KVCacheLike, KVCacheOptions, StreamingOptions, AppendOptions, AppendData, CachePart, CacheReadPlan } from './api/kv-cache-types.js';
export { PagedKVCache, type PagedKVCacheOptions } from './api/paged-cache.js';
export type { PagedSelection } from './api/paged-selection.js';
export type { PagedKeys } from './api/paged-call.js';
export { combineHost, type HostPart } from './cpu/combine.js';
export type {
  CreateOptions,
  ForwardOptions,
  BackwardOptions,
  TensorOptions,
  IntoTensors,
  Algorithm,
  BackendChoice,
  DecodeTile,
  MatrixTile,
} from './api/options.js';
export { AttentionInputError, AttentionLimitError, AttentionBackendError } from './tensor/errors.js';
export { SUPPORTED_HEAD_DIMS, type Layout, type Shape4 } from './tensor/shape.js';
export { DTYPES, toHalf, fromHalf, type DType } from './tensor/half.js';
export type { TensorData } from './api/host-data.js';
export { referenceForward, type HostTensor, type ReferenceOptions } from './reference/forward.js';
export { requiredLimits, requiredFeatures, type AdapterSummary } from './runtime/device.js';
export { scoreMod, maskMod, and, or, not, compose, isModifier, type Modifier, type AuxInputs, type Tables } from './mods/modifier.js';
export { Expr, where, AuxTable, type ExprLike } from './mods/trace.js';
export {
  causal,
  slidingWindow,
  alibi,
  alibiSlopes,
  softcap,
  documentMask,
  prefixLM,
  keyPadding,
  relativeBias,
  streamingSinks,
  learnedSinks,
  isSinks,
  type Sinks,
} from './mods/builtins.js';
export { maskPicture } from './mods/picture.js';
export { BlockMask, blockMaskOnCpu, type BlockMaskShape } from './mods/blockmask.js';
