/*
 * The tfjs peer of `bench --peers`: @tensorflow/tfjs-core with the wasm backend
 * (@tensorflow/tfjs-backend-wasm: XNNPACK with wasm SIMD), attention written the
 * way a tfjs user writes it — S = (Q·scale) Kᵀ, plus an additive causal mask,
 * softmax, P V — materialising the N×N scores. Query heads sharing a K/V head are
 * stacked into one matrix, so grouped-query K/V are not repeated. tfjs-wasm runs
 * threads only where the page offers SharedArrayBuffer workers to its emscripten
 * build, which it does not use in Node: there it is one thread whatever is asked.
 */
import type { BenchShape } from './bench.js';
import { importPeer, type CpuPeer, type PeerCall, type PeerInputs, type PeerSpec } from './cpu-peer.js';

/** The part of tfjs-core's API used here. */
interface TfTensor {
  data(): Promise<ArrayLike<number>>;
  dispose(): void;
}
interface Tf {
  readonly version_core: string;
  setBackend(name: string): Promise<boolean>;
  ready(): Promise<void>;
  env(): { getBool(flag: string): boolean };
  tensor3d(data: Float32Array, shape: [number, number, number]): TfTensor;
  tensor2d(data: Float32Array, shape: [number, number]): TfTensor;
  tidy<T extends TfTensor>(fn: () => T): T;
  matMul(a: TfTensor, b: TfTensor, transposeA?: boolean, transposeB?: boolean): TfTensor;
  mul(a: TfTensor, b: number): TfTensor;
  add(a: TfTensor, b: TfTensor): TfTensor;
  softmax(x: TfTensor): TfTensor;
}
interface TfWasm {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

/** Causal bias for g stacked query heads: row r is query r mod Nq at position Nk − Nq + (r mod Nq). */
function causalBias(group: number, seqQ: number, seqK: number): Float32Array {
  const bias = new Float32Array(group * seqQ * seqK);
  for (let r = 0; r < group * seqQ; r++) {
    const first = Math.max(0, seqK - seqQ + (r % seqQ) + 1);
    bias.fill(-Infinity, r * seqK + first, (r + 1) * seqK);
  }
  return bias;
}

function tfPeer(tf: Tf, threads: number, how: string): CpuPeer {
  return {
    name: 'tfjs-wasm',
    version: tf.version_core,
    threads,
    how,
    async prepare(shape: BenchShape, inputs: PeerInputs): Promise<PeerCall> {
      const { batch, heads, kvHeads, seqQ, seqK, headDim: D, causal } = shape;
      const g = heads / kvHeads;
      // bhnd with heads h = kvh·g + j: the g query heads of one K/V head are g·Nq consecutive rows.
      const q = tf.tensor3d(inputs.q.data as Float32Array, [batch * kvHeads, g * seqQ, D]);
      const k = tf.tensor3d(inputs.k.data as Float32Array, [batch * kvHeads, seqK, D]);
      const v = tf.tensor3d(inputs.v.data as Float32Array, [batch * kvHeads, seqK, D]);
      const mask = causal ? tf.tensor2d(causalBias(g, seqQ, seqK), [g * seqQ, seqK]) : undefined;
      const scale = 1 / Math.sqrt(D);
      return {
        async run() {
          const o = tf.tidy(() => {
            const s = tf.matMul(tf.mul(q, scale), k, false, true);
            return tf.matMul(tf.softmax(mask ? tf.add(s, mask) : s), v);
          });
          const data = await o.data();
          o.dispose();
          return data as Float32Array;
        },
        release: async () => [q, k, v, mask].forEach((t) => t?.dispose()),
      };
    },
  };
}

/** tfjs-core + tfjs-backend-wasm, threads asked for with setThreadsCount before the backend starts. */
export const tfjsPeer: PeerSpec = {
  name: 'tfjs-wasm',
  packages: ['@tensorflow/tfjs-core@4.22.0', '@tensorflow/tfjs-backend-wasm@4.22.0'],
  async load(threads) {
    const tf = (await importPeer('@tensorflow/tfjs-core')) as Tf;
    // Importing the backend registers it with this tfjs-core instance.
    const wasm = (await importPeer('@tensorflow/tfjs-backend-wasm')) as TfWasm;
    wasm.setThreadsCount(threads);
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs could not start its wasm backend');
    await tf.ready();
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT');
    const threaded = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT');
    const used = threaded ? wasm.getThreadsCount() : 1;
    const how = `wasm ${simd ? 'SIMD' : 'no SIMD'}, matMul/softmax${used < threads ? '; no threads in Node' : ''}`;
    return tfPeer(tf, used, how);
  },
};
