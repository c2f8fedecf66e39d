// onnxruntime's WebGPU execution provider as a benchmark peer: its com.microsoft.MultiHeadAttention
// (onnxruntime-node 1.30 ships the WebGPU EP with its own Dawn) on the shapes our bench runs, so
// one GPU call can put its numbers beside ours and PyTorch's (bench/peers/sdpa.py). Models are
// built in code (./onnx-writer.mjs); nothing is downloaded.
//
//   ORT=/path/to/node_modules/onnxruntime-node node bench/peers/ort-mha.mjs --batch 1 --heads 16 \
//     --seq 4096 --head-dim 64,128 --dtype f32,f16 --causal 0,1 --ep webgpu --json out.json
//   options: --layers L (8) --warmup W (3) --runs R (15) --check 1|0 (1) --validation MODE
//            --decode 8192,32768 (query length 1 over these key lengths, --decode-heads 32, D from --head-dim)
//
// What is timed. Each config builds two graphs: L MultiHeadAttention nodes chained (node l's
// output is node l+1's query; K and V are shared) and the same with one node. The graph's only
// output is one element sliced from the last node's output, so a run ends with a 4-byte read-back
// that waits for the GPU queue (ORT's node binding cannot read a GPU output back) and the big
// output never crosses to the host. Q, K, V are put on the GPU once, by a separate Identity
// session whose outputs stay there (preferredOutputLocation 'gpu-buffer'), and fed to every run as
// GPU tensors, so no run uploads them. A sample is one session.run (submit, kernels, 4-byte sync);
// per-op ms = (median over runs of the L-node run - median of the 1-node run) / (L - 1), after W
// warm-up runs of each. That difference removes the fixed per-run cost (ORT's run setup, the slice
// and the read-back) and keeps everything ORT does per attention node: all its kernels for the op
// (its log on SwiftShader, per node: CopyKVCache, which copies K and V into its BNSH present-KV
// buffers, then FlashAttention; for decoding FlashAttentionDecodeQKV + FlashAttentionDecodeVxReduce
// after the copy) and its per-dispatch host work (uniform writes, bind groups), which overlaps
// the GPU when kernels are long. The copy is small beside prefill's N^2 work but not beside
// decoding's single pass over K/V, so decode rows' kvGBps (K+V bytes once / ms) understates what
// its attention kernel alone streams.
// Not timed: session creation (shader compilation), the uploads, the correctness check.
// FLOPs = 4*B*H*Nq*Nk*D, halved when causal (the convention of bench/peers/sdpa.py).
//
// SwiftShader (VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json) runs the f32 configs,
// for smoke tests only: its adapter has no shader-f16 (f16 configs fail with "requires f16"), and
// its subgroups are 4 lanes wide while ORT's prefill FlashAttention shuffles values across 16
// lanes, so the prefill check is off by 2e-2..2e-1 there (the decode path's check is exact). The
// CPU EP (--ep cpu) agrees with the float64 reference to 1e-7 (f32) on the same models.
//
// WebGPU settings. The node binding accepts these `webgpu` EP options: preferredLayout,
// validationMode ('disabled' | 'wgpuOnly' | 'basic' | 'full'), storageBufferCacheMode,
// uniformBufferCacheMode, queryResolveBufferCacheMode, defaultBufferCacheMode, enableRobustness,
// forceCpuNodeNames; other EP settings are session config entries `ep.webgpuexecutionprovider.*`
// (e.g. maxNumPendingDispatches, powerPreference, dawnBackendType), reachable through the session
// option `extra`. Dawn toggles are not among them: ORT sets its own (strings in libonnxruntime.so
// 1.30: use_dxc, allow_unsafe_apis, decompose_uniform_buffers, use_vulkan_memory_model,
// vulkan_enable_f16_on_nvidia, disable_robustness, skip_validation when validationMode is
// 'disabled'), so f16 is offered on NVIDIA's Vulkan driver without anything from us. CPU fallback
// is disabled (session.disable_cpu_ep_fallback), so a node the EP cannot take fails the config
// instead of silently running on the CPU.
import { createRequire } from 'node:module';
import { writeFileSync } from 'node:fs';
import { attrInt, DT, fromHalf, model, node, tensor, toHalf, valueInfo } from './onnx-writer.mjs';

const log = (s) => process.stderr.write(`${s}\n`);
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : dflt;
};
const list = (name, dflt) => String(opt(name, dflt)).split(',').filter(Boolean);
const nums = (name, dflt) => list(name, dflt).map(Number);

const ep = opt('ep', 'webgpu');
const L = Number(opt('layers', 8));
const warmup = Number(opt('warmup', 3));
const runs = Number(opt('runs', 15));
const validation = opt('validation', undefined);
const require = createRequire(import.meta.url);
const ort = require(process.env.ORT ?? 'onnxruntime-node');

const epOptions = () => {
  if (ep === 'cpu') return ['cpu'];
  return [{ name: 'webgpu', ...(validation ? { validationMode: validation } : {}) }];
};
const sessionOptions = (gpuOut) => ({
  executionProviders: epOptions(),
  logSeverityLevel: Number(opt('log', 3)),
  ...(ep === 'cpu' ? {} : { extra: { session: { disable_cpu_ep_fallback: '1' } } }),
  ...(gpuOut && ep !== 'cpu' ? { preferredOutputLocation: 'gpu-buffer' } : {}),
});

// ---- models
/**
 * L chained MultiHeadAttention nodes. Q and every node output are [B, Nq, H*D] (BSD); K, V are
 * [B, Nk, H*D] (BSD) or, with kvLayout 'bnsh', [B, H, Nk, D] (the op's other accepted K/V form,
 * the layout of a KV cache: used for decoding).
 * out 'probe': the graph output is the one element Y[0, 0, 0] (see the top comment); 'full': Y.
 */
function attentionModel({ dtype, B, H, Nq, Nk, D, causal, layers, kvLayout, out }) {
  const type = dtype === 'f16' ? DT.FLOAT16 : DT.FLOAT;
  const kvDims = kvLayout === 'bnsh' ? [B, H, Nk, D] : [B, Nk, H * D];
  const attrs = [attrInt('num_heads', H), ...(causal ? [attrInt('unidirectional', 1)] : [])];
  const nodes = [];
  for (let l = 0; l < layers; l++) nodes.push(node([l ? `Y${l - 1}` : 'Q', 'K', 'V'], [`Y${l}`], 'MultiHeadAttention', 'com.microsoft', attrs));
  const last = `Y${layers - 1}`;
  const inits = [];
  if (out === 'probe') {
    const i64 = (a) => new BigInt64Array(a.map(BigInt));
    inits.push(tensor('s0', DT.INT64, [3], i64([0, 0, 0])), tensor('s1', DT.INT64, [3], i64([1, 1, 1])), tensor('ax', DT.INT64, [3], i64([0, 1, 2])));
    nodes.push(node([last, 's0', 's1', 'ax'], ['P'], 'Slice', ''));
  }
  return model({
    nodes,
    inits,
    inputs: [valueInfo('Q', type, [B, Nq, H * D]), valueInfo('K', type, kvDims), valueInfo('V', type, kvDims)],
    outputs: [out === 'probe' ? valueInfo('P', type, [1, 1, 1]) : valueInfo(last, type, [B, Nq, H * D])],
  });
}

/** Identity per input: run with GPU outputs, it leaves the inputs on ORT's WebGPU device. */
const uploadModel = (type, shapes) =>
  model({
    nodes: Object.keys(shapes).map((n) => node([`${n}_host`], [n], 'Identity', '')),
    inputs: Object.entries(shapes).map(([n, d]) => valueInfo(`${n}_host`, type, d)),
    outputs: Object.entries(shapes).map(([n, d]) => valueInfo(n, type, d)),
  });

// ---- data: uniform in [-1, 1) like sdpa.py; f16 data rounded once, the reference sees the rounded values
let seed = 12345;
const rnd = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296;
const FRESH = 1 << 24; // beyond this many elements (decode K/V), the random block repeats
/** Random data of one dtype; `values` (float64 of exactly what the GPU sees) only when asked. */
function randomTensor(dtype, count, withValues) {
  const values = withValues ? new Float64Array(count) : null;
  const data = dtype === 'f16' ? new Uint16Array(count) : new Float32Array(count);
  const fresh = Math.min(count, withValues ? count : FRESH);
  for (let i = 0; i < fresh; i++) {
    const x = rnd() * 2 - 1;
    data[i] = dtype === 'f16' ? toHalf(x) : x;
    if (values) values[i] = dtype === 'f16' ? fromHalf(data[i]) : data[i];
  }
  for (let i = fresh; i < count; i += fresh) data.copyWithin(i, 0, Math.min(fresh, count - i));
  return { data, values };
}
const ortType = (dtype) => (dtype === 'f16' ? 'float16' : 'float32');

/** Feeds for Q, K, V: GPU-resident tensors on the webgpu EP (uploaded once), host tensors on cpu. */
async function makeFeeds(dtype, shapes, host) {
  const hostTensors = Object.fromEntries(Object.entries(shapes).map(([n, d]) => [n, new ort.Tensor(ortType(dtype), host[n].data, d)]));
  if (ep === 'cpu') return { feeds: hostTensors, release: async () => {} };
  const type = dtype === 'f16' ? DT.FLOAT16 : DT.FLOAT;
  const up = await ort.InferenceSession.create(uploadModel(type, shapes), sessionOptions(true));
  const outs = await up.run(Object.fromEntries(Object.entries(hostTensors).map(([n, t]) => [`${n}_host`, t])));
  for (const t of Object.values(outs)) if (t.location !== 'gpu-buffer') throw new Error(`upload left ${t.location} tensor`);
  return {
    feeds: outs,
    release: async () => {
      for (const t of Object.values(outs)) t.dispose();
      await up.release();
    },
  };
}

// ---- float64 reference: O = softmax(Q K^T / sqrt(D) [+ causal mask]) V per (b, h)
function reference({ B, H, Nq, Nk, D, causal, kvLayout }, q, k, v) {
  const o = new Float64Array(B * Nq * H * D);
  const s = new Float64Array(Nk);
  const kvAt = (b, h, j, d) => (kvLayout === 'bnsh' ? ((b * H + h) * Nk + j) * D + d : (b * Nk + j) * H * D + h * D + d);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < Nq; i++) {
        const qo = (b * Nq + i) * H * D + h * D;
        const last = causal ? Nk - Nq + i : Nk - 1; // bottom-right aligned, as ORT's past + current
        let m = -Infinity;
        for (let j = 0; j <= last; j++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[qo + d] * k[kvAt(b, h, j, d)];
          s[j] = dot / Math.sqrt(D);
          m = Math.max(m, s[j]);
        }
        let l = 0;
        for (let j = 0; j <= last; j++) l += s[j] = Math.exp(s[j] - m);
        for (let d = 0; d < D; d++) {
          let acc = 0;
          for (let j = 0; j <= last; j++) acc += s[j] * v[kvAt(b, h, j, d)];
          o[qo + d] = acc / l;
        }
      }
  return o;
}

const shapesOf = ({ B, H, Nq, Nk, D, kvLayout }) => {
  const kv = kvLayout === 'bnsh' ? [B, H, Nk, D] : [B, Nk, H * D];
  return { Q: [B, Nq, H * D], K: kv, V: kv };
};
const hostData = (cfg, withValues) => {
  const count = (d) => d.reduce((a, x) => a * x, 1);
  return Object.fromEntries(Object.entries(shapesOf(cfg)).map(([n, d]) => [n, randomTensor(cfg.dtype, count(d), withValues)]));
};

/** One node on a small shape against the float64 reference: max |error| and max |reference|. */
async function check(cfg) {
  const host = hostData(cfg, true);
  const { feeds, release } = await makeFeeds(cfg.dtype, shapesOf(cfg), host);
  const s = await ort.InferenceSession.create(attentionModel({ ...cfg, layers: 1, out: 'full' }), sessionOptions(false));
  const y = (await s.run(feeds)).Y0.data;
  await s.release();
  await release();
  const ref = reference(cfg, host.Q.values, host.K.values, host.V.values);
  let maxErr = 0;
  let maxRef = 0;
  for (let i = 0; i < ref.length; i++) {
    const got = cfg.dtype === 'f16' ? fromHalf(y[i]) : y[i];
    maxErr = Math.max(maxErr, Math.abs(got - ref[i]));
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
  }
  return { maxErr, maxRef };
}

const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** Median ms of one session.run over `runs` samples after `warmup` runs (see the top comment). */
async function timeRuns(session, feeds) {
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  const t = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    await session.run(feeds);
    t.push(performance.now() - t0);
  }
  return median(t);
}

/** One benchmark row: per-op ms from the L-node and 1-node graphs. */
async function bench(cfg) {
  const { dtype, B, H, Nq, Nk, D, causal } = cfg;
  const row = {
    impl: ep === 'cpu' ? 'onnxruntime-cpu' : 'onnxruntime-webgpu',
    dtype,
    batch: B,
    heads: H,
    kvHeads: H,
    seq: Nq,
    seqK: Nk,
    headDim: D,
    causal: !!causal,
    layers: L,
  };
  try {
    const { feeds, release } = await makeFeeds(dtype, shapesOf(cfg), hostData(cfg, false));
    const msOf = async (layers) => {
      const s = await ort.InferenceSession.create(attentionModel({ ...cfg, layers, out: 'probe' }), sessionOptions(false));
      const ms = await timeRuns(s, feeds);
      await s.release();
      return ms;
    };
    const msRunL = await msOf(L);
    const msRun1 = await msOf(1);
    await release();
    const ms = L > 1 ? (msRunL - msRun1) / (L - 1) : msRun1;
    const flops = 4 * B * H * Nq * Nk * D * (causal ? 0.5 : 1);
    Object.assign(row, { ms, tflops: flops / (ms * 1e-3) / 1e12, msRunL, msRun1, runs, warmup });
    if (Nq === 1) row.kvGBps = (2 * B * H * Nk * D * (dtype === 'f16' ? 2 : 4)) / (ms * 1e-3) / 1e9;
  } catch (e) {
    Object.assign(row, {
      ms: null,
      tflops: null,
      error: String(e.message ?? e)
        .split('\n')[0]
        .slice(0, 300),
    });
  }
  return row;
}

async function main() {
  const B = Number(opt('batch', 1));
  const H = Number(opt('heads', 16));
  const dtypes = list('dtype', 'f32');
  const dims = nums('head-dim', '64');
  const causals = nums('causal', '0');
  const seqs = nums('seq', '4096');
  const checks = [];
  const runCheck = async (cfg) => {
    const r = await check(cfg).catch((e) => ({
      error: String(e.message ?? e)
        .split('\n')[0]
        .slice(0, 300),
    }));
    checks.push({ dtype: cfg.dtype, heads: cfg.H, seq: cfg.Nq, seqK: cfg.Nk, headDim: cfg.D, causal: !!cfg.causal, ...r });
    const what = r.error ? `error ${r.error}` : `max |err| ${r.maxErr.toExponential(2)} (max |ref| ${r.maxRef.toFixed(3)})`;
    log(`check ${cfg.dtype} H=${cfg.H} N=${cfg.Nq}x${cfg.Nk} D=${cfg.D} causal=${cfg.causal}: ${what}`);
  };
  if (opt('check', '1') !== '0') {
    // small shapes, one node, against the float64 reference: the prefill path, then the decode path
    for (const dtype of seqs.length ? dtypes : [])
      for (const D of dims) for (const causal of causals) await runCheck({ dtype, B: 1, H: 2, Nq: 96, Nk: 96, D, causal, kvLayout: 'bsd' });
    for (const dtype of list('decode', '').length ? dtypes : [])
      for (const D of dims) await runCheck({ dtype, B: 1, H: 2, Nq: 1, Nk: 300, D, causal: 0, kvLayout: 'bnsh' });
  }
  const rows = [];
  const print = (r) =>
    log(
      `${r.impl} ${r.dtype} B=${r.batch} H=${r.heads} N=${r.seq}x${r.seqK} D=${r.headDim} causal=${r.causal} ms=${r.ms?.toFixed(3) ?? '-'} tflops=${r.tflops?.toFixed(1) ?? '-'}${r.kvGBps ? ` kvGB/s=${r.kvGBps.toFixed(0)}` : ''}${r.error ? ` error: ${r.error}` : ''}`,
    );
  for (const N of seqs)
    for (const D of dims)
      for (const causal of causals)
        for (const dtype of dtypes) {
          rows.push(await bench({ dtype, B, H, Nq: N, Nk: N, D, causal, kvLayout: 'bsd' }));
          print(rows.at(-1));
        }
  for (const Nk of nums('decode', ''))
    for (const D of dims)
      for (const dtype of dtypes) {
        rows.push(await bench({ dtype, B, H: Number(opt('decode-heads', 32)), Nq: 1, Nk, D, causal: 0, kvLayout: 'bnsh' }));
        print(rows.at(-1));
      }
  const json = opt('json', undefined);
  const out = { ort: ort.env.versions, ep, argv, checks, results: rows };
  if (json) writeFileSync(json, JSON.stringify(out, null, 2));
  else console.log(JSON.stringify(out));
}

await main();
process.exit(0);
