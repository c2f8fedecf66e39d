/*
 * The onnxruntime peers of `bench --peers`: onnxruntime-node's CPU execution
 * provider (native, the ceiling) and onnxruntime-web's wasm backend run in Node
 * (SIMD, the browser peer), both on one model built in code (onnx-proto.ts): the
 * ONNX opset-23 `Attention` op on 4-D [B, H, N, D] inputs — our bhnd layout, so
 * no transposes, and grouped-query K/V as they are. Causal uses the op's
 * `is_causal` when Nq = Nk; otherwise an additive mask aligned bottom-right like
 * ours (`is_causal` aligns top-left). Threads: intraOpNumThreads (node),
 * env.wasm.numThreads (web, worker threads in Node).
 */
import type { BenchShape } from './bench.js';
import { importPeer, type CpuPeer, type PeerCall, type PeerInputs, type PeerSpec } from './cpu-peer.js';
import { attrFloat, attrInt, DT, model, node, tensor, valueInfo } from './onnx-proto.js';

/** The part of onnxruntime's JS API (common to -node and -web) used here. */
interface OrtTensor {
  readonly data: unknown;
}
interface OrtSession {
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface Ort {
  readonly InferenceSession: { create(model: Uint8Array, options?: object): Promise<OrtSession> };
  readonly Tensor: new (type: 'float32', data: Float32Array, dims: readonly number[]) => OrtTensor;
  readonly env: { versions?: Record<string, string>; wasm?: { numThreads?: number } };
}

/** The opset-23 Attention model of one bench shape: Q [B,Hq,Nq,D], K, V [B,Hkv,Nk,D] → Y [B,Hq,Nq,D]. */
export function attentionModel(shape: BenchShape): Uint8Array {
  const { batch: B, heads, kvHeads, seqQ, seqK, headDim: D, causal } = shape;
  const attrs = [attrFloat('scale', 1 / Math.sqrt(D))];
  const inits = [];
  let mask = '';
  if (causal && seqQ === seqK) attrs.push(attrInt('is_causal', 1));
  else if (causal) {
    // Query i sits at position Nk − Nq + i and sees keys at or before it (ours, bottom-right).
    const bias = new Float32Array(seqQ * seqK);
    for (let i = 0; i < seqQ; i++) bias.fill(-Infinity, i * seqK + Math.max(0, seqK - seqQ + i + 1), (i + 1) * seqK);
    inits.push(tensor('mask', DT.FLOAT, [seqQ, seqK], bias));
    mask = 'mask';
  }
  const kv = [B, kvHeads, seqK, D];
  return model({
    opset: 23,
    nodes: [node(['Q', 'K', 'V', ...(mask ? [mask] : [])], ['Y'], 'Attention', '', attrs)],
    inits,
    inputs: [valueInfo('Q', DT.FLOAT, [B, heads, seqQ, D]), valueInfo('K', DT.FLOAT, kv), valueInfo('V', DT.FLOAT, kv)],
    outputs: [valueInfo('Y', DT.FLOAT, [B, heads, seqQ, D])],
  });
}

/** An onnxruntime module's API, whether the import gave named exports or a CommonJS default. */
function ortOf(mod: unknown): Ort {
  const m = mod as Partial<Ort> & { default?: Ort };
  return m.InferenceSession ? (m as Ort) : m.default!;
}

/** A peer around one onnxruntime package; `sessionOptions` carries its thread setting. */
function ortPeer(ort: Ort, name: string, version: string, threads: number, how: string, sessionOptions: object): CpuPeer {
  return {
    name,
    version,
    threads,
    how,
    async prepare(shape: BenchShape, inputs: PeerInputs): Promise<PeerCall> {
      const session = await ort.InferenceSession.create(attentionModel(shape), sessionOptions);
      const t = (h: PeerInputs['q']) => new ort.Tensor('float32', h.data as Float32Array, [h.shape.batch, h.shape.heads, h.shape.seq, h.shape.headDim]);
      const feeds = { Q: t(inputs.q), K: t(inputs.k), V: t(inputs.v) };
      return {
        run: async () => (await session.run(feeds)).Y!.data as Float32Array,
        release: () => session.release(),
      };
    },
  };
}

/** onnxruntime-node, CPU execution provider, intraOpNumThreads = threads. */
const ortNode: PeerSpec = {
  name: 'onnxruntime-node',
  packages: ['onnxruntime-node@1.30.0'],
  async load(threads) {
    const ort = ortOf(await importPeer('onnxruntime-node'));
    const version = ort.env.versions?.node ?? ort.env.versions?.common ?? '?';
    const options = { executionProviders: ['cpu'], intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential' };
    return ortPeer(ort, 'onnxruntime-node', version, threads, 'native CPU EP, opset-23 Attention', options);
  },
};

/** onnxruntime-web's wasm backend in Node, env.wasm.numThreads = threads (set before its first session). */
const ortWeb: PeerSpec = {
  name: 'onnxruntime-web',
  packages: ['onnxruntime-web@1.30.0'],
  async load(threads) {
    const ort = ortOf(await importPeer('onnxruntime-web'));
    if (ort.env.wasm) ort.env.wasm.numThreads = threads;
    const version = ort.env.versions?.web ?? ort.env.versions?.common ?? '?';
    return ortPeer(ort, 'onnxruntime-web', version, threads, 'wasm SIMD, opset-23 Attention', { executionProviders: ['wasm'] });
  },
};

/** Both onnxruntime peers, in table order (the browser one first). */
export const onnxPeers: readonly PeerSpec[] = [ortWeb, ortNode];
