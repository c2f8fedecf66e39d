/*
 * webgpu-attention/tfjs: fused attention as a TensorFlow.js op on the 'webgpu'
 * backend (@tensorflow/tfjs-backend-webgpu 4.x), on tfjs's own GPUDevice, with no
 * copies: Q, K, V are bound where tfjs keeps them, O and LSE are written into buffers
 * tfjs allocates (and frees on dispose), and the gradient is registered with
 * tf.customGrad so tfjs optimizers train through it.
 *
 * Why not `tensor.dataToGPU()` and `tf.tensor({ buffer, zeroCopy: true })`: in tfjs
 * 4.22 dataToGPU copies the tensor into a new buffer on the GPU, and a zero-copy
 * tensor's buffer is never freed by tfjs (it is "external"), so every forward of a
 * training loop would leak its output. The backend's own public members (tensorMap,
 * makeTensorInfo, uploadToGPU, submitQueue) give both without a copy or a leak.
 *
 * tfjs ops are synchronous and tfjs submits the next op's work right after, so the
 * attention work is submitted before the op returns (api/immediate.ts); GPU errors
 * surface from the op's next call or from `settled()`.
 *
 * tfjs is not imported: the types below are the few members used, so the library
 * builds and loads without it.
 */
import { createAttention, type Attention } from '../api/attention.js';
import { backwardNow, forwardNow, type ImmediateOptions } from '../api/immediate.js';
import type { AttentionTensor } from '../api/tensor.js';
import { AttentionInputError } from '../tensor/errors.js';
import type { Layout } from '../tensor/shape.js';

/** The members of a tfjs Tensor used here. */
export interface TfTensorLike {
  readonly dataId: object;
  readonly shape: number[];
  readonly dtype: string;
}

/** The members of tfjs-backend-webgpu's WebGPUBackend used here (public in 4.x). */
export interface TfWebGpuBackendLike {
  readonly device: GPUDevice;
  readonly tensorMap: { get(dataId: object): { resource?: unknown } | undefined };
  makeTensorInfo(shape: number[], dtype: 'float32'): { dataId: object; shape: number[]; dtype: string };
  uploadToGPU(dataId: object): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
}

/** The members of the tfjs namespace (`import * as tf from '@tensorflow/tfjs-core'`) used here. */
export interface TfLike<T extends TfTensorLike> {
  getBackend(): string;
  backend(): unknown;
  engine(): { makeTensorFromTensorInfo(info: { dataId: object; shape: number[]; dtype: string }, backend?: unknown): T };
  customGrad(f: (...args: (T | ((save: T[]) => void))[]) => { value: T; gradFunc: (dy: T, saved: T[]) => T | T[] }): (...args: T[]) => T;
}

/** Options of the tfjs op: the forward's options (causal, scale, mask, score, offsets), and the layout. */
export interface TfAttentionOptions extends ImmediateOptions {
  /** Order of q, k, v and the result: 'bhnd' ([B, H, N, D], default) or 'bnhd' ([B, N, H, D]). */
  readonly layout?: Layout;
}

/** Fused attention on tfjs tensors; see attentionOp. */
export interface TfAttention<T extends TfTensorLike> {
  /**
   * softmax(scale·QKᵀ + mask)·V of float32 tfjs tensors on the 'webgpu' backend, differentiable.
   * @param q [B, Hq, Nq, D] ('bhnd') or [B, Nq, Hq, D] ('bnhd')
   * @param k [B, Hkv, Nk, D] or [B, Nk, Hkv, D]; Hq a multiple of Hkv (GQA)
   * @param v like k
   * @returns O, shaped like q
   */
  (q: T, k: T, v: T, options?: TfAttentionOptions): T;
  /** The Attention the op runs on (tfjs's device). */
  readonly attn: Attention;
  /** Resolves once WebGPU has checked every submission so far; rejects with the first GPU error. */
  settled(): Promise<void>;
}

/** The WebGPU backend tfjs is using now, or an error saying what is wrong. */
function webgpuBackend<T extends TfTensorLike>(tf: TfLike<T>): TfWebGpuBackendLike {
  const b = tf.backend() as Partial<TfWebGpuBackendLike> | undefined;
  if (tf.getBackend() !== 'webgpu' || !b?.device || !b.tensorMap || typeof b.uploadToGPU !== 'function') {
    throw new AttentionInputError(
      `webgpu-attention/tfjs needs tfjs's 'webgpu' backend (@tensorflow/tfjs-backend-webgpu 4.x, then tf.setBackend('webgpu')); the backend is '${tf.getBackend()}'`,
    );
  }
  return b as TfWebGpuBackendLike;
}

/**
 * A differentiable tfjs op running webgpu-attention's fused kernels on tfjs's GPUDevice.
 * Call after `await tf.setBackend('webgpu')`. Float32 tensors only (tfjs has no f16);
 * score modifiers' tables get no gradient; learned sinks work forward, but a gradient through them is refused.
 * @param tf the tfjs namespace (`@tensorflow/tfjs` or `@tensorflow/tfjs-core`)
 * @param attn an Attention on tfjs's device; default: one made on it
 */
export async function attentionOp<T extends TfTensorLike>(tf: TfLike<T>, attn?: Attention): Promise<TfAttention<T>> {
  const device = webgpuBackend(tf).device;
  attn ??= await createAttention({ backend: { device } });
  if (attn.device !== device)
    throw new AttentionInputError("attentionOp: attn must run on tfjs's GPUDevice (createAttention({ backend: { device: tf.backend().device } }))");
  const a = attn;
  let pending: Promise<void> = Promise.resolve();
  let failure: unknown;
  const track = (done: Promise<void>) => {
    done.catch((e: unknown) => (failure ??= e));
    pending = Promise.all([pending, done]).then(() => {});
  };

  const op = (q: T, k: T, v: T, options: TfAttentionOptions = {}): T => {
    if (failure !== undefined) throw failure;
    const { layout = 'bhnd', ...opts } = options;
    const f = tf.customGrad((...args) => {
      const [q, k, v, save] = args as [T, T, T, (ts: T[]) => void];
      const io = new TfIo(tf, a, layout);
      const [aq, ak, av] = io.inputs(q, k, v);
      const out = io.empty(q.shape);
      const lseShape = layout === 'bhnd' ? q.shape.slice(0, 3) : [q.shape[0]!, q.shape[2]!, q.shape[1]!];
      const lse = io.empty(lseShape);
      track(forwardNow(a, aq!, ak!, av!, opts, { out: io.wrap(out), lse: io.wrap(lse, [...lseShape, 1], 'bhnd') }).done);
      save([q, k, v, out, lse]);
      const gradFunc = (dy: T, saved: T[]): T[] => {
        const [sq, sk, sv, so, sl] = saved as [T, T, T, T, T];
        const g = new TfIo(tf, a, layout);
        const [dOut, q2, k2, v2, o2] = g.inputs(dy, sq, sk, sv, so);
        const lse2 = g.wrap(sl, [...sl.shape, 1], 'bhnd');
        const [dq, dk, dv] = [g.empty(sq.shape), g.empty(sk.shape), g.empty(sv.shape)];
        const into = { dq: g.wrap(dq), dk: g.wrap(dk), dv: g.wrap(dv) };
        track(backwardNow(a, dOut!, { q: q2!, k: k2!, v: v2!, out: o2!, lse: lse2 }, opts, into).done);
        return [dq, dk, dv];
      };
      return { value: out, gradFunc };
    });
    return f(q, k, v);
  };
  return Object.assign(op, { attn: a, settled: () => pending.then(() => (failure === undefined ? undefined : Promise.reject(failure))) });
}

/** One op call's traffic with tfjs: its buffers wrapped as attention tensors, and new tfjs tensors. */
class TfIo<T extends TfTensorLike> {
  private readonly backend: TfWebGpuBackendLike;

  constructor(
    private readonly tf: TfLike<T>,
    private readonly attn: Attention,
    private readonly layout: Layout,
  ) {
    this.backend = webgpuBackend(tf);
  }

  /**
   * The tensors as attention tensors over tfjs's own buffers. tfjs records ops into a
   * command encoder it submits later: it is submitted here, so the work that computes
   * these tensors reaches the queue before the attention that reads them.
   */
  inputs(...ts: T[]): AttentionTensor[] {
    for (const t of ts) this.backend.uploadToGPU(t.dataId); // a no-op for data already on the GPU
    this.backend.ensureCommandEncoderReady();
    this.backend.endComputePassEncoder();
    this.backend.submitQueue();
    return ts.map((t) => this.wrap(t));
  }

  /** A new float32 tfjs tensor of `shape` whose buffer tfjs allocates (contents undefined until written). */
  empty(shape: number[]): T {
    const info = this.backend.makeTensorInfo(shape, 'float32');
    const t = this.tf.engine().makeTensorFromTensorInfo(info, this.backend);
    this.backend.uploadToGPU(t.dataId);
    return t;
  }

  /** `t`'s buffer as an attention tensor of `dims` (default: t's shape in this op's layout), no copy. */
  wrap(t: T, dims: readonly number[] = t.shape, layout: Layout = this.layout): AttentionTensor {
    if (t.dtype !== 'float32') throw new AttentionInputError(`webgpu-attention/tfjs takes float32 tensors, got ${t.dtype}`);
    if (dims.length !== 4) throw new AttentionInputError(`webgpu-attention/tfjs takes rank-4 tensors, got shape [${t.shape.join(', ')}]`);
    const buffer = this.backend.tensorMap.get(t.dataId)?.resource as GPUBuffer | undefined;
    if (!buffer || typeof buffer.usage !== 'number')
      throw new AttentionInputError('webgpu-attention/tfjs: a tensor is not held in a GPUBuffer by the webgpu backend');
    // tfjs orders dims as the layout says; the library names them [B, H, N, D].
    const [b, x, y, d] = dims as [number, number, number, number];
    return this.attn.tensor(buffer, layout === 'bhnd' ? [b, x, y, d] : [b, y, x, d], { layout });
  }
}
