/*
 * End-to-end page for webgpu-attention/onnxruntime in a real browser: an
 * onnxruntime-web InferenceSession on the 'webgpu' execution provider projects X
 * onto Q, K, V (model.ts) with `preferredOutputLocation: 'gpu-buffer'`, so they come
 * out as GPU tensors on ORT's device; ortAttention runs on them in place; O is read
 * back and compared with the float64 reference of attention on the Q, K, V ORT
 * produced (whose own projection is checked against X·W in float64). Run for
 * float32 and float16; float16 is skipped, with ORT's reason, only where ORT cannot
 * build the session on this device. The result goes to #out as JSON
 * (data-state="done"), for web/e2e/e2e.mjs to check; nothing is asserted here.
 *
 * Offline: Vite bundles onnxruntime-web from node_modules and emits its wasm next to
 * the page (the bundle finds it with `new URL(..., import.meta.url)`); no CDN.
 */
import * as ort from 'onnxruntime-web/webgpu';
import { ortAttention } from '../../../src/adapters/onnxruntime.js';
import { requiredLimits } from '../../../src/runtime/device.js';
import { referenceForward, type HostTensor } from '../../../src/reference/forward.js';
import { rng } from '../../../src/harness/random.js';
import { fromHalf, roundHalf } from '../../../src/tensor/half.js';
import { outModel, project, qkvModel, stored, type QkvShape } from './model.js';

type OrtType = 'float32' | 'float16';
const SHAPE: QkvShape = { B: 1, N: 19, C: 24, H: 4, Hkv: 2, D: 32 };

/** What one run found, for e2e.mjs: `device` is whose GPUDevice ORT ran on ('caller': given in the EP option). */
type CaseResult =
  | { dtype: OrtType; device: 'caller' | 'ort'; status: 'skipped'; reason: string }
  | {
      dtype: OrtType;
      device: 'caller' | 'ort';
      status: 'ok';
      /** Whether ortAttention found ORT's device (through ort.env.webgpu.device). */
      onOrtDevice: boolean;
      /** Whether the op's bind groups bound ORT's own q, k, v buffers and O's buffer (no staging copies). */
      boundInPlace: boolean;
      /** Locations of ORT's q, k, v and of the op's O. */
      locations: string[];
      out: { type: string; dims: readonly number[] };
      /** Host traffic and buffer copies during the op: tensor-sized uploads (writeBuffer, or a buffer mapped at creation), mapAsync, copyBufferToBuffer. */
      traffic: { uploads: number; mapAsyncs: number; copies: number };
      /** ORT's Q, K, V against X·W in float64 (max |Δ|), and the allowance. */
      projErr: number;
      projTol: number;
      /** A second session's y = O·Wo, fed the op's O tensor as is, against O read back ·Wo in float64 (max |Δ|). */
      nextErr: number;
      /** O against the float64 reference on ORT's Q, K, V (max |Δ|), naive attention's error in the same dtype, the allowance. */
      err: number;
      naiveErr: number;
      tol: number;
    };

/** Uniform values in [−a, a), rounded to `dtype` so the model's stored values are exactly these. */
function uniform(n: number, a: number, rand: () => number, dtype: OrtType): Float64Array {
  const round = dtype === 'float16' ? roundHalf : Math.fround;
  return Float64Array.from({ length: n }, () => round((2 * rand() - 1) * a));
}

/** An ORT tensor's values as float64 (float16 comes as Uint16Array bits). */
async function values(t: ort.Tensor): Promise<Float64Array> {
  const data = await t.getData();
  return Float64Array.from(t.type === 'float16' ? fromHalf(data as Uint16Array) : (data as Float32Array));
}

/** Counts host traffic and copies, and collects the buffers bound, while `fn` runs (prototype hooks, restored after). */
async function watch(
  device: GPUDevice,
  minBytes: number,
  fn: () => Promise<void>,
): Promise<{ traffic: { uploads: number; mapAsyncs: number; copies: number }; bound: Set<GPUBuffer> }> {
  const traffic = { uploads: 0, mapAsyncs: 0, copies: 0 };
  const bound = new Set<GPUBuffer>();
  const hooks: [object, string, (orig: (...a: never[]) => unknown) => (...a: never[]) => unknown][] = [
    [
      GPUQueue.prototype,
      'writeBuffer',
      (f) =>
        function (this: GPUQueue, ...a: Parameters<GPUQueue['writeBuffer']>) {
          if ((a[4] ?? (ArrayBuffer.isView(a[2]) ? a[2].byteLength : a[2].byteLength)) >= minBytes) traffic.uploads++;
          return f.apply(this, a as never);
        },
    ],
    [
      GPUDevice.prototype,
      'createBuffer',
      (f) =>
        function (this: GPUDevice, d: GPUBufferDescriptor) {
          if (d.mappedAtCreation && d.size >= minBytes) traffic.uploads++; // how ORT's native EP uploads
          return f.call(this, d as never);
        },
    ],
    [
      GPUBuffer.prototype,
      'mapAsync',
      (f) =>
        function (this: GPUBuffer, ...a: never[]) {
          traffic.mapAsyncs++;
          return f.apply(this, a);
        },
    ],
    [
      GPUCommandEncoder.prototype,
      'copyBufferToBuffer',
      (f) =>
        function (this: GPUCommandEncoder, ...a: never[]) {
          traffic.copies++;
          return f.apply(this, a);
        },
    ],
    [
      GPUDevice.prototype,
      'createBindGroup',
      (f) =>
        function (this: GPUDevice, d: GPUBindGroupDescriptor) {
          for (const e of d.entries) if ('buffer' in e.resource) bound.add(e.resource.buffer);
          return f.call(this, d as never);
        },
    ],
  ];
  const saved = hooks.map(([proto, name, wrap]) => {
    const orig = (proto as Record<string, (...a: never[]) => unknown>)[name]!;
    (proto as Record<string, unknown>)[name] = wrap(orig);
    return () => ((proto as Record<string, unknown>)[name] = orig);
  });
  try {
    await fn();
    await device.queue.onSubmittedWorkDone();
  } finally {
    saved.forEach((restore) => restore());
  }
  return { traffic, bound };
}

/** Max |got − want| over [B, N, H, D] ('bnhd', got) against [B, H, N, D] ('bhnd', want). */
function maxDiff(got: Float64Array | Float32Array, want: Float64Array, s: QkvShape): number {
  let m = 0;
  for (let n = 0; n < s.N; n++)
    for (let h = 0; h < s.H; h++) for (let d = 0; d < s.D; d++) m = Math.max(m, Math.abs(got[(n * s.H + h) * s.D + d]! - want[(h * s.N + n) * s.D + d]!));
  return Number.isNaN(m) ? Infinity : m;
}

/** The model's data: input and the four projections, float64 values exact in `dtype`. */
function problem(dtype: OrtType, seed: number) {
  const s = SHAPE;
  const rand = rng(seed);
  const x = uniform(s.B * s.N * s.C, 1, rand, dtype);
  const [wq, wk, wv] = [s.H, s.Hkv, s.Hkv].map((h) => uniform(s.C * h * s.D, 1 / Math.sqrt(s.C), rand, dtype)) as [Float64Array, Float64Array, Float64Array];
  const wo = uniform(s.H * s.D * s.C, 1 / Math.sqrt(s.H * s.D), rand, dtype);
  return { x, wq, wk, wv, wo };
}

/**
 * One run: `device` given, ORT runs on the caller's device (the EP option; 1.30's 'webgpu'
 * build, the native WebGPU EP, takes a caller's device there and does not read
 * ort.env.webgpu.device); undefined, on the device ORT makes itself, which it then
 * publishes as ort.env.webgpu.device.
 */
async function runCase(dtype: OrtType, given: GPUDevice | undefined, seed: number): Promise<CaseResult> {
  const s = SHAPE;
  const { x, wq, wk, wv, wo } = problem(dtype, seed);
  const options = {
    executionProviders: [given ? { name: 'webgpu', device: given } : 'webgpu'],
    // Every node on WebGPU or no session: a node ORT quietly ran on its CPU EP would hide a missing kernel.
    extra: { session: { disable_cpu_ep_fallback: '1' } },
  } satisfies ort.InferenceSession.SessionOptions;
  const session = await ort.InferenceSession.create(qkvModel(s, { wq, wk, wv }, dtype), { ...options, preferredOutputLocation: 'gpu-buffer' });
  const next = await ort.InferenceSession.create(outModel(s, wo, dtype), options);
  const device = given ?? (await ort.env.webgpu.device);
  const feeds = { x: new ort.Tensor(dtype, stored(x, dtype), [s.B, s.N, s.C]) };
  let q: ort.Tensor, k: ort.Tensor, v: ort.Tensor;
  try {
    ({ q, k, v } = (await session.run(feeds)) as Record<'q' | 'k' | 'v', ort.Tensor>);
  } catch (e) {
    // ORT's WebGPU kernels generate f16 WGSL only on a device with shader-f16 (its MatMul says so when run).
    if (dtype === 'float32' || device.features.has('shader-f16')) throw e;
    await Promise.all([session.release(), next.release()]);
    return {
      dtype,
      device: given ? 'caller' : 'ort',
      status: 'skipped',
      reason: `ORT cannot run float16 on this device (no shader-f16): ${e instanceof Error ? e.message : String(e)}`,
    };
  }
  const op = await ortAttention(ort);
  let out!: ort.Tensor;
  const { traffic, bound } = await watch(device, s.N * s.D * 2, async () => {
    ({ out } = await op(q, k, v, { causal: true, layout: 'bnhd' }));
  });
  const placement = {
    onOrtDevice: op.attn.device === device,
    boundInPlace: [q, k, v, out].every((t) => bound.has(t.gpuBuffer as GPUBuffer)),
    locations: [q, k, v, out].map((t) => t.location), // before getData(), which moves a tensor to 'cpu'
    out: { type: out.type, dims: out.dims },
  };
  const { y } = (await next.run({ o: out })) as { y: ort.Tensor }; // the next layer reads O where the op wrote it
  const errors = await compare(dtype, { x, wq, wk, wv, wo }, [q, k, v, out, y]);
  [q, k, v, out, y].forEach((t) => t.dispose());
  op.attn.destroy();
  await Promise.all([session.release(), next.release()]);
  return { dtype, device: given ? 'caller' : 'ort', status: 'ok', ...placement, traffic, ...errors };
}

/** Reads ORT's Q, K, V, the op's O and the next layer's y, and measures each against float64. */
async function compare(dtype: OrtType, w: ReturnType<typeof problem>, tensors: ort.Tensor[]) {
  const s = SHAPE;
  const [rq, rk, rv, o, y] = (await Promise.all(tensors.map(values))) as Float64Array[] as [
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
    Float64Array,
  ];
  const rows = s.B * s.N;
  const diff = (got: Float64Array, want: Float64Array) => got.reduce((m, g, i) => Math.max(m, Math.abs(g - want[i]!)), 0);
  const projErr = Math.max(
    diff(rq, project(w.x, w.wq, rows, s.C, s.H * s.D)),
    diff(rk, project(w.x, w.wk, rows, s.C, s.Hkv * s.D)),
    diff(rv, project(w.x, w.wv, rows, s.C, s.Hkv * s.D)),
  );
  const host = (data: Float64Array, heads: number): HostTensor => ({ data, shape: { batch: s.B, heads, seq: s.N, headDim: s.D }, layout: 'bnhd' });
  const [hq, hk, hv] = [host(rq, s.H), host(rk, s.Hkv), host(rv, s.Hkv)];
  const want = referenceForward(hq, hk, hv, { causal: true }).out;
  const naiveErr = diff(referenceForward(hq, hk, hv, { causal: true, precision: dtype === 'float16' ? 'f16' : 'f32' }).out, want);
  return {
    projErr,
    // f32: a C-term dot product of values ≤ 1 in float32; f16: ORT's float16 MatMul rounds its output to f16 (2⁻¹¹ relative).
    projTol: dtype === 'float16' ? 4e-3 : 1e-5,
    nextErr: diff(y, project(o, w.wo, rows, s.H * s.D, s.C)),
    err: maxDiff(o, want, s),
    naiveErr,
    // DESIGN.md's rule for f32 (2× naive f32 + 1e-6) and test/f16.test.ts's for f16 (3× naive f16).
    tol: dtype === 'float16' ? 3 * naiveErr + 1e-6 : 2 * naiveErr + 1e-6,
  };
}

async function main(): Promise<void> {
  const line = document.getElementById('out')!;
  ort.env.wasm.numThreads = 1; // no cross-origin isolation here, so no SharedArrayBuffer threads
  const adapter = await navigator.gpu.requestAdapter();
  if (!adapter) throw new Error('no WebGPU adapter');
  const device = await adapter.requestDevice({
    requiredLimits: requiredLimits(adapter),
    requiredFeatures: adapter.features.has('shader-f16') ? ['shader-f16'] : [],
  });
  ort.env.webgpu.device = device; // for ortAttention: ORT itself takes the device through the EP option
  const seed = Number(new URLSearchParams(location.search).get('seed') ?? 20250);
  const cases: CaseResult[] = [];
  for (const dtype of ['float32', 'float16'] as const) cases.push(await runCase(dtype, device, seed));
  // Last: ORT's own device, which a session without a device makes and puts in ort.env.webgpu.device.
  cases.push(await runCase('float32', undefined, seed));
  const ortOwnDevice = (await ort.env.webgpu.device) !== device; // ORT replaced the caller's device in ort.env with its own
  const report = { ort: ort.env.versions.web, shaderF16: device.features.has('shader-f16'), seed, ortOwnDevice, cases };
  line.textContent = JSON.stringify(report, null, 2);
  line.dataset.state = 'done';
}

main().catch((e: unknown) => {
  const line = document.getElementById('out')!;
  line.textContent = e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e);
  line.dataset.state = 'failed';
});
