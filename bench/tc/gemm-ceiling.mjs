// What WGSL subgroup matrices can reach on this GPU at all: an f16 GEMM C = A·B (N×N,
// f16 operands, f32 results) tiled as a GEMM library would tile it, several tilings timed in
// one process. Issue 14 asks the attention forward for 150 TFLOP/s; attention puts a softmax
// between its two products, so its ceiling is a fraction of this one. Standalone (imports only
// npm `webgpu`).
//
//   node bench/tc/gemm-ceiling.mjs [n=4096] [reps=20] [configs=all|name,name] [toggles=a,b]
//
// A config: `direct` loads every matrix straight from storage (L1/L2); `smem` stages BM×BK of A
// and BK×BN of B in workgroup memory per step (`pre`: the next step's tile fetched into
// registers while this one multiplies). WR×WC subgroups, each TR×TC 16×16 result matrices.
// Inputs are small integers, so every result is exact in f32; rows are checked against the
// host's sums. Prints one JSON line per config to stdout, progress to stderr.
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const arg = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')));
const N = Number(arg.n ?? 4096);
const REPS = Number(arg.reps ?? 20);
const log = (s) => process.stderr.write(`${s}\n`);

const CONFIGS = {
  'direct-2x2-2x2': { mode: 'direct', wr: 2, wc: 2, tr: 2, tc: 2 },
  'direct-2x2-4x4': { mode: 'direct', wr: 2, wc: 2, tr: 4, tc: 4 },
  'smem-2x2-2x2-bk32': { mode: 'smem', wr: 2, wc: 2, tr: 2, tc: 2, bk: 32 },
  'smem-2x2-4x4-bk32': { mode: 'smem', wr: 2, wc: 2, tr: 4, tc: 4, bk: 32 },
  'smem-4x2-2x4-bk32': { mode: 'smem', wr: 4, wc: 2, tr: 2, tc: 4, bk: 32 },
  'smem-2x4-4x2-bk32': { mode: 'smem', wr: 2, wc: 4, tr: 4, tc: 2, bk: 32 },
  'smem-2x2-4x4-bk64': { mode: 'smem', wr: 2, wc: 2, tr: 4, tc: 4, bk: 64 },
  'pre-2x2-4x4-bk32': { mode: 'smem', wr: 2, wc: 2, tr: 4, tc: 4, bk: 32, pre: true },
  'pre-4x2-2x4-bk32': { mode: 'smem', wr: 4, wc: 2, tr: 2, tc: 4, bk: 32, pre: true },
  'pre-2x2-4x4-bk16': { mode: 'smem', wr: 2, wc: 2, tr: 4, tc: 4, bk: 16, pre: true },
  'smem-2x2-4x4-bk16': { mode: 'smem', wr: 2, wc: 2, tr: 4, tc: 4, bk: 16 },
  'pre-1x4-8x2-bk16': { mode: 'smem', wr: 1, wc: 4, tr: 8, tc: 2, bk: 16, pre: true },
  'pre-4x1-2x8-bk16': { mode: 'smem', wr: 4, wc: 1, tr: 2, tc: 8, bk: 16, pre: true },
  'pre-4x2-4x4-bk16': { mode: 'smem', wr: 4, wc: 2, tr: 4, tc: 4, bk: 16, pre: true },
  'pre-2x4-4x4-bk16': { mode: 'smem', wr: 2, wc: 4, tr: 4, tc: 4, bk: 16, pre: true },
  'pre-2x2-4x8-bk16': { mode: 'smem', wr: 2, wc: 2, tr: 4, tc: 8, bk: 16, pre: true },
  'pre-2x2-2x4-bk16': { mode: 'smem', wr: 2, wc: 2, tr: 2, tc: 4, bk: 16, pre: true },
};
const names = !arg.configs || arg.configs === 'all' ? Object.keys(CONFIGS) : arg.configs.split(',');

// toggles=a,b: more Dawn toggles to enable (e.g. disable_robustness, as onnxruntime's WebGPU provider does).
const toggles = ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia', ...(arg.toggles ? arg.toggles.split(',') : [])];
const gpu = create([`enable-dawn-features=${toggles.join(',')}`]);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
const need = ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix'];
const missing = need.filter((f) => !adapter.features.has(f));
if (missing.length) throw new Error(`adapter lacks ${missing.join(', ')}`);
const device = await adapter.requestDevice({
  requiredFeatures: need,
  requiredLimits: {
    maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
  },
});
device.lost.then((i) => log(`device lost: ${i.reason} ${i.message}`));
log(`adapter ${adapter.info.vendor} ${adapter.info.device}`);

// Inputs: integers −3…3 (exact in f16, every sum exact in f32).
let seed = 12345;
const rnd = () => (((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) % 7) - 3;
const A = new Int8Array(N * N).map(rnd);
const B = new Int8Array(N * N).map(rnd);
const HALF = { '-3': 0xc200, '-2': 0xc000, '-1': 0xbc00, 0: 0, 1: 0x3c00, 2: 0x4000, 3: 0x4200 };
const upload = (data) => {
  const buf = device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buf, 0, data);
  return buf;
};
const a16 = upload(Uint16Array.from(A, (x) => HALF[x]));
const b16 = upload(Uint16Array.from(B, (x) => HALF[x]));
const C = device.createBuffer({ size: N * N * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });

const seq = (n) => [...Array(n).keys()];
const LEFT = 'subgroup_matrix_left<f16, 16, 16>';
const RIGHT = 'subgroup_matrix_right<f16, 16, 16>';
const RESULT = 'subgroup_matrix_result<f32, 16, 16>';

function kernel(cfg) {
  const { wr, wc, tr, tc } = cfg;
  const BM = wr * tr * 16;
  const BN = wc * tc * 16;
  const threads = wr * wc * 32;
  const accs = seq(tr).flatMap((i) => seq(tc).map((j) => [i, j]));
  const head = `enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;`;
  const prologue = `  let wr = sg / ${wc}u; let wc = sg % ${wc}u;
  let m0 = wg.y * ${BM}u; let n0 = wg.x * ${BN}u;
  let rowA = m0 + wr * ${tr * 16}u; let colB = n0 + wc * ${tc * 16}u;
${accs.map(([i, j]) => `  var acc${i}_${j} = ${RESULT}();`).join('\n')}`;
  const epilogue = accs
    .map(([i, j]) => `  subgroupMatrixStore<row_major>(&c, (rowA + ${i * 16}u) * ${N}u + colB + ${j * 16}u, acc${i}_${j}, ${N}u);`)
    .join('\n');
  const products = (lefts, rights) =>
    [
      ...seq(tr).map((i) => `    let l${i} = ${lefts(i)};`),
      ...seq(tc).map((j) => `    let r${j} = ${rights(j)};`),
      ...accs.map(([i, j]) => `    acc${i}_${j} = subgroupMatrixMultiplyAccumulate(l${i}, r${j}, acc${i}_${j});`),
    ].join('\n');
  const entry = `@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32, @builtin(subgroup_id) sg: u32) {`;
  if (cfg.mode === 'direct') {
    return {
      BM,
      BN,
      threads,
      wgsl: `${head}
@group(0) @binding(0) var<storage, read> a: array<f16>;
@group(0) @binding(1) var<storage, read> b: array<f16>;
${entry}
${prologue}
  for (var k = 0u; k < ${N}u; k += 16u) {
${products(
  (i) => `subgroupMatrixLoad<${LEFT}, row_major>(&a, (rowA + ${i * 16}u) * ${N}u + k, ${N}u)`,
  (j) => `subgroupMatrixLoad<${RIGHT}, row_major>(&b, k * ${N}u + colB + ${j * 16}u, ${N}u)`,
)}
  }
${epilogue}
}`,
    };
  }
  const BK = cfg.bk;
  const ASTR = BK + 8;
  const BSTR = BN + 8;
  // vec4<u32> = 8 halves; slots per invocation for each tile
  const aVec = (BM * BK) / 8;
  const bVec = (BK * BN) / 8;
  const aSlots = Math.ceil(aVec / threads);
  const bSlots = Math.ceil(bVec / threads);
  if (aVec % threads || bVec % threads) throw new Error(`tile not a multiple of the workgroup: ${JSON.stringify(cfg)}`);
  const fetch = (k) =>
    [
      ...seq(aSlots).map((s) => `    { let e = li + ${s * threads}u; ra[${s}] = a[((m0 + e / ${BK / 8}u) * ${N}u + ${k}) / 8u + e % ${BK / 8}u]; }`),
      ...seq(bSlots).map((s) => `    { let e = li + ${s * threads}u; rb[${s}] = b[((${k}) + e / ${BN / 8}u) * ${N / 8}u + n0 / 8u + e % ${BN / 8}u]; }`),
    ].join('\n');
  const halves8 = (dst, at, w) =>
    seq(4)
      .map((q) => `let h${q} = bitcast<vec2<f16>>(${w}[${q}]); ${dst}[${at} + ${2 * q}u] = h${q}.x; ${dst}[${at} + ${2 * q + 1}u] = h${q}.y;`)
      .join('\n      ');
  const store = [
    ...seq(aSlots).map(
      (s) => `    { let e = li + ${s * threads}u; let at = (e / ${BK / 8}u) * ${ASTR}u + (e % ${BK / 8}u) * 8u;\n      ${halves8('aS', 'at', `ra[${s}]`)} }`,
    ),
    ...seq(bSlots).map(
      (s) => `    { let e = li + ${s * threads}u; let at = (e / ${BN / 8}u) * ${BSTR}u + (e % ${BN / 8}u) * 8u;\n      ${halves8('bS', 'at', `rb[${s}]`)} }`,
    ),
  ].join('\n');
  const compute = seq(BK / 16)
    .map((kk) =>
      [
        '    {',
        products(
          (i) => `subgroupMatrixLoad<${LEFT}, row_major>(&aS, (wr * ${tr * 16}u + ${i * 16}u) * ${ASTR}u + ${kk * 16}u, ${ASTR}u)`,
          (j) => `subgroupMatrixLoad<${RIGHT}, row_major>(&bS, ${kk * 16 * BSTR}u + wc * ${tc * 16}u + ${j * 16}u, ${BSTR}u)`,
        ),
        '    }',
      ].join('\n'),
    )
    .join('\n');
  const loop = cfg.pre
    ? `${fetch('0u')}
  for (var k = 0u; k < ${N}u; k += ${BK}u) {
${store}
    workgroupBarrier();
    if (k + ${BK}u < ${N}u) {
${fetch(`k + ${BK}u`)}
    }
${compute}
    workgroupBarrier();
  }`
    : `  for (var k = 0u; k < ${N}u; k += ${BK}u) {
${fetch('k')}
${store}
    workgroupBarrier();
${compute}
    workgroupBarrier();
  }`;
  return {
    BM,
    BN,
    threads,
    wgsl: `${head}
@group(0) @binding(0) var<storage, read> a: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read> b: array<vec4<u32>>;
var<workgroup> aS: array<f16, ${BM * ASTR}>;
var<workgroup> bS: array<f16, ${BK * BSTR}>;
${entry}
${prologue}
  var ra: array<vec4<u32>, ${aSlots}>;
  var rb: array<vec4<u32>, ${bSlots}>;
${loop}
${epilogue}
}`,
  };
}

async function pipeline(code) {
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error');
  if (errors.length) throw new Error(`wgsl: ${errors.map((m) => `${m.lineNum}:${m.linePos} ${m.message}`).join('; ')}`);
  device.pushErrorScope('validation');
  const p = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const err = await device.popErrorScope();
  if (err) throw new Error(`pipeline: ${err.message}`);
  return p;
}

async function readRows(rows) {
  const read = device.createBuffer({ size: N * 4 * rows.length, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  rows.forEach((r, i) => enc.copyBufferToBuffer(C, r * N * 4, read, i * N * 4, N * 4));
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const got = new Float32Array(read.getMappedRange().slice(0));
  read.destroy();
  return got;
}

function wrongIn(got, rows) {
  let bad = 0;
  rows.forEach((i, ri) => {
    const want = new Float64Array(N);
    for (let k = 0; k < N; k++) {
      const x = A[i * N + k];
      if (x) for (let j = 0; j < N; j++) want[j] += x * B[k * N + j];
    }
    for (let j = 0; j < N; j++) if (got[ri * N + j] !== want[j]) bad++;
  });
  return bad;
}

// The GPU idles at low clocks: the first config of a process ran 3.7× slower than in a later
// process. Warm it with the first config for about a second before timing anything.
let warm = true;
for (const name of [names[0], ...names]) {
  const cfg = CONFIGS[name];
  if (!cfg) throw new Error(`unknown config ${name}; known: ${Object.keys(CONFIGS).join(', ')}`);
  try {
    const k = kernel(cfg);
    const pipe = await pipeline(k.wgsl);
    const bind = device.createBindGroup({
      layout: pipe.getBindGroupLayout(0),
      entries: [a16, b16, C].map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const run = async (times) => {
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      pass.setPipeline(pipe);
      pass.setBindGroup(0, bind);
      for (let i = 0; i < times; i++) pass.dispatchWorkgroups(N / k.BN, N / k.BM);
      pass.end();
      device.queue.submit([enc.finish()]);
      const t0 = performance.now();
      await device.queue.onSubmittedWorkDone();
      return performance.now() - t0;
    };
    // Poison C, run once, check rows at the top, middle and bottom.
    device.queue.writeBuffer(C, 0, new Float32Array(N * N).fill(NaN));
    await run(1);
    const rows = [0, 1, N / 2 + 3, N - 1];
    const wrong = wrongIn(await readRows(rows), rows);
    await run(3);
    if (warm) {
      warm = false;
      for (const t0 = performance.now(); performance.now() - t0 < 1000;) await run(REPS);
      continue;
    }
    const samples = [];
    for (let s = 0; s < 5; s++) {
      const t0 = performance.now();
      await run(REPS);
      samples.push((performance.now() - t0) / REPS);
    }
    samples.sort((x, y) => x - y);
    const ms = samples[2];
    const tflops = (2 * N ** 3) / (ms * 1e-3) / 1e12;
    log(`${name}: ${ms.toFixed(3)} ms, ${tflops.toFixed(1)} TFLOP/s, ${wrong} wrong of ${rows.length * N}`);
    console.log(JSON.stringify({ name, ...cfg, toggles, n: N, ms, tflops, samples, wrong, checked: rows.length * N }));
  } catch (e) {
    log(`${name}: ${e.message}`);
    console.log(JSON.stringify({ name, ...cfg, n: N, error: String(e.message) }));
  }
}
device.destroy();
