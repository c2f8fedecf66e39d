// The same kind of work through another embedding of Dawn: onnxruntime-node's WebGPU execution
// provider (Dawn linked into libonnxruntime.so, its own toggles), on ONNX models built here in
// code (the tiny protobuf writer in ../peers/onnx-writer.mjs, no Python). onnxruntime 1.30 runs MatMulNBits (4-bit weights,
// block 32, f16 activations, M >= 128) as a subgroup-matrix kernel when the adapter offers the
// f16×f16→f16 16×16×16 config (NVIDIA's Vulkan driver does); plain f16 MatMul takes the
// subgroup-matrix path only for 8×16×16 (Intel). Profiling names the programs that ran.
//   ORT=/path/to/node_modules/onnxruntime-node node ort-nbits.mjs [runs=1000] [m=4096] [k=4096] [layers=4] [op=nbits|matmul] [acc=0] [profile=0] [ep=webgpu|cpu]
//     [log=2] (session log severity, 0 = verbose) [envlog=warning|verbose] (ORT's default logger, set before the first session)
// With profile=1 the JSON line also gives each GPU program's median time per dispatch (ORT's timestamp-query
// events, category "Api", named node&op&program) and its TFLOP/s when it is the GEMM.
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { attrInt, cat, DT, fromHalf, int, len, node, str, tensor, toHalf, valueInfo } from '../peers/onnx-writer.mjs';

const { FLOAT16, UINT8 } = DT;

const arg = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')));
const runs = Number(arg.runs ?? 1000);
const M = Number(arg.m ?? 4096);
const K = Number(arg.k ?? 4096);
const L = Number(arg.layers ?? 4);
const op = arg.op ?? 'nbits';
const profile = arg.profile === '1';
const require = createRequire(import.meta.url);
const ort = require(process.env.ORT);
if (arg.envlog) ort.env.logLevel = arg.envlog; // read when the first session initialises ORT
const log = (s) => process.stderr.write(`${s}\n`);

// ---- data
let seed = 7;
const rnd = () => (seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296;
const blocks = K / 32;
const scale = 1 / (Math.sqrt(K) * 4.6); // keeps the activations' size through the layers
const nibbles = new Uint8Array(K * (K / 2)); // B[N=K][blocks][16]: two 4-bit weights a byte, low nibble first
for (let i = 0; i < nibbles.length; i++) nibbles[i] = Math.floor(rnd() * 256);
const scales = new Uint16Array(K * blocks).fill(toHalf(scale));
const wAt = (n, k) => (((nibbles[n * (K / 2) + (k >> 1)] >> ((k & 1) * 4)) & 15) - 8) * fromHalf(scales[0]); // W[k][n]
const dense = new Uint16Array(op === 'matmul' ? K * K : 0); // plain MatMul weight, row-major [K, N], the same values
if (op === 'matmul') for (let k = 0; k < K; k++) for (let n = 0; n < K; n++) dense[k * K + n] = toHalf(wAt(n, k));

const nodes = [];
const inits = [];
if (op === 'nbits') {
  inits.push(tensor('B', UINT8, [K, blocks, 16], nibbles), tensor('S', FLOAT16, [K * blocks], scales));
  for (let l = 0; l < L; l++) {
    const attrs = [attrInt('K', K), attrInt('N', K), attrInt('bits', 4), attrInt('block_size', 32), attrInt('accuracy_level', Number(arg.acc ?? 0))];
    nodes.push(node([l ? `Y${l - 1}` : 'A', 'B', 'S'], [l === L - 1 ? 'Y' : `Y${l}`], 'MatMulNBits', 'com.microsoft', attrs));
  }
} else {
  inits.push(tensor('W', FLOAT16, [K, K], dense));
  for (let l = 0; l < L; l++) nodes.push(node([l ? `Y${l - 1}` : 'A', 'W'], [l === L - 1 ? 'Y' : `Y${l}`], 'MatMul'));
}
const graph = cat([
  ...nodes.map((n) => len(1, n)),
  str(2, 'g'),
  ...inits.map((t) => len(5, t)),
  len(11, valueInfo('A', FLOAT16, [M, K])),
  len(12, valueInfo('Y', FLOAT16, [M, K])),
]);
const model = new Uint8Array(
  cat([int(1, 8), str(2, 'tc-probe'), len(7, graph), len(8, cat([str(1, ''), int(2, 17)])), len(8, cat([str(1, 'com.microsoft'), int(2, 1)]))]),
);
log(`model ${op}: ${L} layers of ${M}x${K}x${K}, ${(model.length / 1e6).toFixed(1)} MB`);

const a = new Uint16Array(M * K);
for (let i = 0; i < a.length; i++) a[i] = toHalf(rnd() * 2 - 1);
const opts = { executionProviders: [arg.ep === 'cpu' ? 'cpu' : { name: 'webgpu' }], logSeverityLevel: Number(arg.log ?? 2) };
if (profile) Object.assign(opts, { enableProfiling: true, profileFilePrefix: `${process.env.PROF_DIR ?? '/tmp'}/ort-${op}` });
const session = await ort.InferenceSession.create(model, opts);
const feeds = { A: new ort.Tensor('float16', a, [M, K]) };

// reference for layer 1 on a few rows (exact products, f64 sums); later layers only compared run to run
async function runOnce() {
  const out = await session.run(feeds);
  return out.Y.data;
}
const first = await runOnce();
let maxErr = 0;
let maxRef = 0;
if (L === 1) {
  for (const i of [0, 1, M - 1]) {
    for (let n = 0; n < K; n += 7) {
      let s = 0;
      for (let k = 0; k < K; k++) s += fromHalf(a[i * K + k]) * (op === 'nbits' ? wAt(n, k) : fromHalf(dense[k * K + n]));
      maxErr = Math.max(maxErr, Math.abs(fromHalf(first[i * K + n]) - s));
      maxRef = Math.max(maxRef, Math.abs(s));
    }
  }
}
const t0 = performance.now();
let differ = 0;
let last = first;
for (let r = 1; r < runs; r++) {
  last = await runOnce();
  if (r % 100 === 0) log(`run ${r}`);
}
const ms = (performance.now() - t0) / Math.max(1, runs - 1);
for (let i = 0; i < first.length; i++) if (first[i] !== last[i]) differ++;
let profiled = null;
let gpuKernels = null;
if (profile) {
  session.endProfiling?.();
  await session.release();
  const dir = process.env.PROF_DIR ?? '/tmp';
  const names = {};
  const durs = {}; // GPU program -> durations in microseconds
  for (const f of readdirSync(dir).filter((f) => f.startsWith(`ort-${op}`))) {
    const text = readFileSync(`${dir}/${f}`, 'utf8');
    for (const m of text.matchAll(/"name"\s*:\s*"([^"]*)"/g)) names[m[1]] = (names[m[1]] ?? 0) + 1;
    let events = [];
    try {
      events = JSON.parse(text);
    } catch {
      log(`profile ${f}: not JSON`);
    }
    for (const e of events) if (e.cat === 'Api' && typeof e.dur === 'number') (durs[e.name] ??= []).push(e.dur);
  }
  profiled = Object.entries(names)
    .filter(([n]) => /subgroup|matmul|nbits|prepack|layout|dp4a|quantize/i.test(n))
    .slice(0, 20);
  const median = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
  gpuKernels = Object.entries(durs).map(([name, d]) => {
    const us = median(d);
    const gemm = /matmul|gemm|nbits/i.test(name) && !/prepack|layout|pad|quantize/i.test(name);
    return { name, dispatches: d.length, medianUs: us, tflops: gemm && us > 0 ? +((2 * M * K * K) / us / 1e6).toFixed(1) : undefined };
  });
}
const flop = 2 * M * K * K * L;
console.log(
  JSON.stringify({
    op,
    runs,
    m: M,
    k: K,
    layers: L,
    msPerRun: +ms.toFixed(3),
    tflopsIncludingIO: +(flop / ms / 1e9).toFixed(1),
    relErrLayer1: L === 1 ? maxErr / maxRef : null,
    firstVsLastDiffer: differ,
    profiled,
    gpuKernels,
  }),
);
process.exit(0);
