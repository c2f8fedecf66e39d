/*
 * Attention calls that reach the GPU queue before they return, for the framework
 * adapters (src/adapters/). A framework such as tfjs runs its ops synchronously and
 * submits the next op's work to the same queue right after: forward() and
 * backward() await pipeline compilation and error scopes, so their dispatches could
 * land after a later op had already read the output. These submit in the same turn
 * (pipelines not compiled yet are created synchronously); what WebGPU reports
 * afterwards arrives through `done`. Not part of the public API.
 */
import { AttentionInputError } from '../tensor/errors.js';
import { shapeToString } from '../tensor/shape.js';
import type { Attention } from './attention.js';
import { WebGpuBackend } from './backends.js';
import { backwardCall, forwardCall, type SavedTensors } from './call.js';
import { checkBackwardOptions, checkForwardOptions } from './check-options.js';
import type { BackwardOptions } from './options.js';
import { AttentionTensor, checkApart, operandStorages, type TensorStorage } from './tensor.js';

/** Options of the immediate calls: the ordinary ones without `into` (results go to the `into` argument). */
export type ImmediateOptions = Omit<BackwardOptions, 'into' | 'tableGrads'>;

/** The immediate forward's results; `done` settles when WebGPU has checked the submission. */
export interface ImmediateForward {
  readonly out: AttentionTensor;
  readonly lse: AttentionTensor;
  readonly done: Promise<void>;
}

/** The immediate backward's results, as ImmediateForward. */
export interface ImmediateBackward {
  readonly dq: AttentionTensor;
  readonly dk: AttentionTensor;
  readonly dv: AttentionTensor;
  readonly done: Promise<void>;
}

/** The WebGPU backend of `attn`, or an error saying the adapters need one. */
function gpuBackend(attn: Attention): WebGpuBackend {
  if (!(attn.impl instanceof WebGpuBackend)) throw new AttentionInputError('framework adapters need a WebGPU Attention (this one runs on the CPU)');
  return attn.impl;
}

/** Each given tensor's storage, checked to be a live tensor of `backend` (entries left undefined are skipped). */
function storages<K extends string>(backend: WebGpuBackend, tensors: Readonly<Partial<Record<K, AttentionTensor>>>): Record<K, TensorStorage> {
  const given = Object.fromEntries(Object.entries(tensors).filter(([, t]) => t !== undefined)) as Partial<Record<K, AttentionTensor>>;
  return operandStorages(backend, given);
}

/** Refuses a result tensor not shaped `shape` (its layout and dtype those of `like`). */
function checkInto(t: AttentionTensor, name: string, like: AttentionTensor, shape = like.shape): void {
  if (shapeToString(t.shape) !== shapeToString(shape) || t.dtype !== (name === 'lse' ? 'f32' : like.dtype) || (name !== 'lse' && t.layout !== like.layout)) {
    throw new AttentionInputError(`${name} must have shape ${shapeToString(shape)}, got ${shapeToString(t.shape)} '${t.layout}' ${t.dtype}`);
  }
}

/**
 * Forward, submitted before returning, writing O into `into.out` and LSE into `into.lse`
 * (each a new tensor of the library's when not given).
 * @param into.lse [B, Hq, Nq, 1] f32
 */
export function forwardNow(
  attn: Attention,
  q: AttentionTensor,
  k: AttentionTensor,
  v: AttentionTensor,
  opts: ImmediateOptions,
  into: { readonly out?: AttentionTensor; readonly lse?: AttentionTensor } = {},
): ImmediateForward {
  const backend = gpuBackend(attn);
  const checked = checkForwardOptions(opts);
  const t = storages(backend, { q, k, v });
  const call = forwardCall(q, k, v, checked);
  const p = call.problem;
  const lseShape = { batch: p.batch, heads: p.headsQ, seq: p.seqQ, headDim: 1 };
  if (into.out) checkInto(into.out, 'out', q);
  if (into.lse) checkInto(into.lse, 'lse', q, lseShape);
  const intoT = storages(backend, into);
  if (into.out) checkApart('out', into.out, { q, k, v, lse: into.lse });
  if (into.lse) checkApart('lse', into.lse, { q, k, v });
  const r = backend.forwardNow(call, t, intoT);
  return {
    out: into.out ?? new AttentionTensor(backend, r.out, q.shape, q.layout, call.dtype),
    lse: into.lse ?? new AttentionTensor(backend, r.lse, lseShape, 'bhnd'),
    done: r.done,
  };
}

/**
 * Backward, submitted before returning, writing dQ, dK, dV into `into`'s tensors where
 * given. No gradients of sink logits or of a score modifier's tables: those are read
 * back to the host, which a synchronous op cannot wait for (learned sinks are refused;
 * tables are treated as constants).
 */
export function backwardNow(
  attn: Attention,
  dOut: AttentionTensor,
  saved: SavedTensors,
  opts: ImmediateOptions,
  into: { readonly dq?: AttentionTensor; readonly dk?: AttentionTensor; readonly dv?: AttentionTensor } = {},
): ImmediateBackward {
  const backend = gpuBackend(attn);
  const checked = checkBackwardOptions({ ...opts, tableGrads: false });
  if (checked.sinks) throw new AttentionInputError('learned sinks have no synchronous backward (their gradient is summed on the host); use attn.backward');
  const { q, k, v, out, lse } = saved;
  const t = storages(backend, { dout: dOut, q, k, v, out, lse });
  const call = backwardCall(dOut, { q, k, v, out, lse }, checked);
  for (const [name, like] of [
    ['dq', q],
    ['dk', k],
    ['dv', v],
  ] as const)
    if (into[name]) checkInto(into[name], name, like);
  const intoT = storages(backend, into);
  const { dq, dk, dv } = into;
  if (dq) checkApart('dq', dq, { dOut, q, k, v, out, lse, dk, dv });
  if (dk) checkApart('dk', dk, { dOut, q, k, v, out, lse, dv });
  if (dv) checkApart('dv', dv, { dOut, q, k, v, out, lse });
  const r = backend.backwardNow(call, t, intoT);
  return {
    dq: into.dq ?? new AttentionTensor(backend, r.dq, q.shape, q.layout, call.dtype),
    dk: into.dk ?? new AttentionTensor(backend, r.dk, k.shape, k.layout, call.dtype),
    dv: into.dv ?? new AttentionTensor(backend, r.dv, v.shape, v.layout, call.dtype),
    done: r.done,
  };
}
