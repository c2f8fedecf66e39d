/*
 * webgpu-attention/onnxruntime: fused attention on onnxruntime-web tensors that live
 * on the GPU (location 'gpu-buffer': a session's outputs with
 * `preferredOutputLocation: 'gpu-buffer'`, or Tensor.fromGpuBuffer), on ORT's own
 * GPUDevice (`ort.env.webgpu.device`), with no copies: Q, K, V are bound where ORT
 * keeps them, and O comes back as an ORT GPU tensor over the library's buffer,
 * freed by the tensor's dispose().
 *
 * Between session runs the flow is asynchronous (each run resolves after ORT has
 * submitted its work), so the ordinary forward() is used: its work reaches the queue
 * before the returned promise resolves, ahead of the next run that reads O.
 *
 * onnxruntime-web is not imported: the types below are the few members used.
 */
import { createAttention, type Attention } from '../api/attention.js';
import type { ForwardOptions } from '../api/options.js';
import type { AttentionTensor } from '../api/tensor.js';
import { AttentionInputError } from '../tensor/errors.js';
import { toHalf, type DType } from '../tensor/half.js';
import type { Layout } from '../tensor/shape.js';

/** The members of an onnxruntime-web Tensor used here. */
export interface OrtTensorLike {
  readonly type: string;
  readonly dims: readonly number[];
  readonly location: string;
  readonly gpuBuffer: unknown;
}

/** The members of the onnxruntime-web namespace (`import * as ort from 'onnxruntime-web/webgpu'`) used here. */
export interface OrtLike<T extends OrtTensorLike> {
  readonly env: { readonly webgpu: { readonly device: Promise<GPUDevice> | GPUDevice } };
  readonly Tensor: {
    fromGpuBuffer(
      buffer: GPUBuffer,
      options: { dataType: 'float32' | 'float16'; dims: readonly number[]; download?(): Promise<Float32Array | Uint16Array>; dispose?(): void },
    ): T;
  };
}

/** Options of the onnxruntime op: the forward's options without `into` (see ForwardOptions), and the layout. */
export interface OrtAttentionOptions extends Omit<ForwardOptions, 'into' | 'dtype'> {
  /** Order of q, k, v and O: 'bhnd' ([B, H, N, D], default) or 'bnhd' ([B, N, H, D], ORT's MultiHeadAttention order). */
  readonly layout?: Layout;
}

/** Fused attention on ORT GPU tensors; see ortAttention. */
export interface OrtAttention<T extends OrtTensorLike> {
  /**
   * softmax(scale·QKᵀ + mask)·V of 'float32' or 'float16' ORT tensors in GPU buffers.
   * @param q [B, Hq, Nq, D] ('bhnd') or [B, Nq, Hq, D] ('bnhd')
   * @param k [B, Hkv, Nk, D] or [B, Nk, Hkv, D]; Hq a multiple of Hkv (GQA)
   * @param v like k
   * @returns `out`: O as an ORT GPU tensor shaped like q (dispose() frees its buffer); `lse` ([B, Hq, Nq] in either layout, float32) with returnLse
   */
  (q: OrtTensorLike, k: OrtTensorLike, v: OrtTensorLike, options?: OrtAttentionOptions): Promise<{ out: T; lse?: T }>;
  /** The Attention the op runs on (ORT's device). */
  readonly attn: Attention;
}

const DTYPES: Readonly<Record<string, DType>> = { float32: 'f32', float16: 'f16' };

/**
 * Attention on onnxruntime-web GPU tensors, on ORT's WebGPU device as
 * `ort.env.webgpu.device` holds it. Either give ORT a device made with
 * `requiredLimits(adapter)` (for every call to fit) in the EP option,
 * `executionProviders: [{ name: 'webgpu', device }]`, and set `ort.env.webgpu.device`
 * to it too (onnxruntime-web 1.30's 'webgpu' build does not read it from there); or
 * call this after a plain 'webgpu' session, which puts ORT's own device there.
 * docs/interop.md has a browser example; `npm run test:e2e` runs it.
 * @param ort the onnxruntime-web namespace (its 'webgpu' or 'all' build)
 * @param attn an Attention on ORT's device; default: one made on it
 */
export async function ortAttention<T extends OrtTensorLike>(ort: OrtLike<T>, attn?: Attention): Promise<OrtAttention<T>> {
  const device = await ort.env.webgpu.device;
  if (!device)
    throw new AttentionInputError("webgpu-attention/onnxruntime needs ORT's WebGPU device (ort.env.webgpu.device): create a WebGPU session first, or set it");
  attn ??= await createAttention({ backend: { device } });
  if (attn.device !== device)
    throw new AttentionInputError("ortAttention: attn must run on ORT's GPUDevice (createAttention({ backend: { device: await ort.env.webgpu.device } }))");
  const a = attn;

  const op = async (q: OrtTensorLike, k: OrtTensorLike, v: OrtTensorLike, options: OrtAttentionOptions = {}): Promise<{ out: T; lse?: T }> => {
    const { layout = 'bhnd', ...opts } = options;
    const wrap = (t: OrtTensorLike, name: string): AttentionTensor => {
      if (t?.location !== 'gpu-buffer')
        throw new AttentionInputError(`${name}: an ORT tensor in a GPU buffer is needed (location 'gpu-buffer'), got location '${t?.location}'`);
      const dtype = DTYPES[t.type];
      if (!dtype) throw new AttentionInputError(`${name}: ORT tensor type must be 'float32' or 'float16', got '${t.type}'`);
      if (t.dims.length !== 4) throw new AttentionInputError(`${name}: a rank-4 ORT tensor is needed, got dims [${t.dims.join(', ')}]`);
      const [b, x, y, d] = t.dims as [number, number, number, number];
      return a.tensor(t.gpuBuffer as GPUBuffer, layout === 'bhnd' ? [b, x, y, d] : [b, y, x, d], { dtype, layout });
    };
    const [aq, ak, av] = [wrap(q, 'q'), wrap(k, 'k'), wrap(v, 'v')];
    const { out, lse } = await a.forward(aq, ak, av, { ...opts, returnLse: true });
    const give = (t: AttentionTensor, dims: readonly number[], type: 'float32' | 'float16'): T =>
      ort.Tensor.fromGpuBuffer(t.gpuBuffer!.buffer, {
        dataType: type,
        dims,
        download: async () => (type === 'float16' ? toHalf(await t.read()) : t.read()),
        dispose: () => t.destroy(),
      });
    const result = { out: give(out, q.dims, q.type as 'float32' | 'float16') };
    if (!opts.returnLse) {
      lse!.destroy();
      return result;
    }
    return { ...result, lse: give(lse!, layout === 'bhnd' ? q.dims.slice(0, 3) : [q.dims[0]!, q.dims[2]!, q.dims[1]!], 'float32') };
  };
  return Object.assign(op, { attn: a });
}
