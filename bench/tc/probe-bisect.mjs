// Probe of WebGPU subgroup matrices (tensor cores) on the GPU machine: which WGSL
// syntax compiles, whether workgroups of several subgroups run, GEMM throughput
// with operands staged in workgroup memory, and the accuracy of a split-f16
// product (a = hi + lo in f16, a·b ≈ hi·hi + hi·lo + lo·hi, like 3xTF32) against
// float64. One case per process (a crash must not take the others with it):
//   node bench/tc-probe.mjs CASE [N] [BM] [MODE]     CASE: info | direct | staged | split;  MODE: sg1 | diag | sgid
// Prints one JSON line per case. Not part of the library: evidence for docs/PERF.md.
//
// bench/tc copy for issue 14's bisection (bench/tc-probe.mjs crashes, bench/tc/repro.mjs does not):
// PB_FEATURES=min asks only for shader-f16 + subgroup-matrix (not subgroups, timestamp-query);
// PB_LIMITS=none asks for default limits (not the adapter's maxima); PB_TOGGLES adds Dawn toggles;
// PB_DESTROY=1 destroys the read-back buffer after unmap; PB_SHADER=repro uses bench/tc/repro.mjs's kernel text.
// Host-side switches (each turns one probe behaviour into repro.mjs's):
// PB_WRITE=repro: createBuffer of exactly byteLength and writeBuffer(buf, 0, typedArray), not the
//   padded size and the (arrayBuffer, byteOffset, byteLength) form;
// PB_SCOPE=repro: the validation error scope around createComputePipeline only, createBindGroup outside it;
// PB_ORDER=repro: create the output buffer C after the input buffers (the probe creates it first);
// PB_REF=skip: skip the CPU reference loop between the read-back and the warm-up submit.
// Follow-ups (PB_REF=skip stopped the crash; is it the loop's time or its garbage?), not yet run on the GPU:
// PB_REF=busy: skip the loop and block the main thread PB_REF_MS ms (default 300) with Atomics.wait (no allocation);
// PB_REF=gc: skip the loop and force PB_GCS (default 30) minor GCs (needs node --expose-gc).
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
// MODE: how subgroups of one workgroup get their own tiles while the matrix
// builtins' offsets stay "uniform": sg1 (one subgroup per workgroup), diag
// (local_invocation_index / 32 with the subgroup_uniformity diagnostic off), sgid
// (the subgroup_id builtin).
const [kind = 'info', nArg = '1024', bmArg = '64', mode = 'sg1'] = process.argv.slice(2);
const N = Number(nArg);
const BM = Number(bmArg);
const sgs = mode === 'sg1' ? 1 : 4;

// int8 matrices are offered without Dawn's f16-on-NVIDIA toggle: leave it off for them.
const gpu = create([
  `enable-dawn-features=allow_unsafe_apis${kind === 'int8' ? '' : ',vulkan_enable_f16_on_nvidia'}${process.env.PB_TOGGLES ? ',' + process.env.PB_TOGGLES : ''}`,
]);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
const want =
  process.env.PB_FEATURES === 'min'
    ? ['shader-f16', 'chromium-experimental-subgroup-matrix']
    : ['shader-f16', 'chromium-experimental-subgroup-matrix', 'subgroups', 'timestamp-query'];
const features = want.filter((f) => adapter.features.has(f));
const device = await adapter.requestDevice({
  requiredFeatures: features,
  requiredLimits:
    process.env.PB_LIMITS === 'none'
      ? {}
      : {
          maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize,
          maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
          maxBufferSize: adapter.limits.maxBufferSize,
        },
});
device.lost.then((info) => console.error('device lost:', info.reason, info.message));
device.addEventListener?.('uncapturederror', (e) => console.error('uncaptured:', e.error?.message));
const out = (o) => console.log(JSON.stringify({ case: kind, n: N, bm: BM, mode, ...o }));

if (kind === 'info') {
  const info = adapter.info ?? {};
  out({ features: [...adapter.features], configs: info.subgroupMatrixConfigs ?? null, subgroupMin: info.subgroupMinSize, subgroupMax: info.subgroupMaxSize });
  process.exit(0);
}

// ---- f16 conversion on the CPU (round to nearest even)
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function toHalf(x) {
  f32[0] = x;
  const b = u32[0];
  const sign = (b >>> 16) & 0x8000;
  let e = ((b >>> 23) & 0xff) - 127 + 15;
  let m = b & 0x7fffff;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    m |= 0x800000;
    const shift = 14 - e;
    let h = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rem > half || (rem === half && h & 1)) h++;
    return sign | h;
  }
  let h = (e << 10) | (m >>> 13);
  const rem = m & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}
function fromHalf(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

// ---- inputs: A (N×N), B (N×N) row-major f32, split into hi/lo halves
function random(n, seed) {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    a[i] = (s / 4294967296) * 2 - 1;
  }
  return a;
}
const int8 = kind === 'int8';
const integers = (x) => x.map((v) => Math.round(v * 127)); // int8 inputs: exact integer products
const A = int8 ? integers(random(N * N, 1)) : random(N * N, 1);
const B = int8 ? integers(random(N * N, 2)) : random(N * N, 2);
function split(x) {
  const hi = new Uint16Array(x.length);
  const lo = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    hi[i] = toHalf(x[i]);
    lo[i] = toHalf(x[i] - fromHalf(hi[i]));
  }
  return { hi, lo };
}
const sa = split(A);
const sb = split(B);

function buffer(data, usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST) {
  if (process.env.PB_WRITE === 'repro') {
    const buf = device.createBuffer({ size: data.byteLength, usage });
    device.queue.writeBuffer(buf, 0, data);
    return buf;
  }
  const size = Math.ceil(data.byteLength / 16) * 16;
  const buf = device.createBuffer({ size, usage });
  device.queue.writeBuffer(buf, 0, data.buffer, data.byteOffset, data.byteLength);
  return buf;
}
const makeC = () => device.createBuffer({ size: N * N * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
let C = process.env.PB_ORDER === 'repro' ? null : makeC();

// The row_major template form; the older (ptr, offset, false, stride) form compiles with a deprecation warning.
const load = (type, ptr, off, stride) => `subgroupMatrixLoad<${type}, row_major>(${ptr}, ${off}, ${stride})`;
const store = (ptr, off, m, stride) => `subgroupMatrixStore<row_major>(${ptr}, ${off}, ${m}, ${stride})`;
const L = 'subgroup_matrix_left<f16, 16, 16>';
const R = 'subgroup_matrix_right<f16, 16, 16>';
const RES = 'subgroup_matrix_result<f32, 16, 16>';
const HEADER = `enable f16;\nenable chromium_experimental_subgroup_matrix;\n${mode === 'sgid' ? 'enable subgroups;\n' : ''}${mode === 'diag' ? 'diagnostic(off, subgroup_uniformity);\n' : ''}`;
const SG_ARG = mode === 'sgid' ? ', @builtin(subgroup_id) sgid: u32' : '';
const SG = mode === 'sgid' ? 'sgid' : mode === 'diag' ? 'li / 32u' : '0u';

/** One 16×16 output tile per subgroup, operands straight from storage; WG subgroups per workgroup. */
function directKernel() {
  const wgSubgroups = sgs;
  return `${HEADER}
@group(0) @binding(0) var<storage, read> a: array<f16>;
@group(0) @binding(1) var<storage, read> b: array<f16>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(${32 * wgSubgroups})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32${SG_ARG}) {
  let tile = wg.y * ${N / 16}u + wg.x * ${wgSubgroups}u + ${SG};
  let r0 = (tile / ${N / 16}u) * 16u;
  let c0 = (tile % ${N / 16}u) * 16u;
  var acc = ${RES}();
  for (var k = 0u; k < ${N}u; k += 16u) {
    let l = ${load(L, '&a', `r0 * ${N}u + k`, `${N}u`)};
    let r = ${load(R, '&b', `k * ${N}u + c0`, `${N}u`)};
    acc = subgroupMatrixMultiplyAccumulate(l, r, acc);
  }
  ${store('&c', `r0 * ${N}u + c0`, 'acc', `${N}u`)};
}`;
}

/**
 * BM×BM output tile per workgroup of 4 subgroups (2×2, each (BM/2)² = T×T tiles of 16²) or of one,
 * K in steps of 32 staged in workgroup memory. parts = 1 (f16) or 3 (split: hi·hi + hi·lo + lo·hi).
 */
function stagedKernel(parts) {
  const T = sgs === 1 ? BM / 16 : BM / 32; // 16×16 tiles per subgroup side
  const NT = 32 * sgs;
  const BK = 32;
  const PAD = 8; // f16 of padding per staged row
  const AS = BK + PAD; // A tile row stride (BM rows × BK)
  const BS = BM + PAD; // B tile row stride (BK rows × BM)
  const ops = parts === 1 ? ['hi'] : ['hi', 'lo'];
  const decl = ops.map((o) => `var<workgroup> A${o}: array<f16, ${BM * AS}>;\nvar<workgroup> B${o}: array<f16, ${BK * BS}>;`).join('\n');
  const binds = ops
    .map(
      (o, i) =>
        `@group(0) @binding(${2 * i}) var<storage, read> a${o}: array<vec4<f16>>;\n@group(0) @binding(${2 * i + 1}) var<storage, read> b${o}: array<vec4<f16>>;`,
    )
    .join('\n');
  const stage = ops
    .map(
      (o) => `
    for (var e = li; e < ${(BM * BK) / 4}u; e += ${NT}u) {
      let r = e / ${BK / 4}u; let c4 = e % ${BK / 4}u;
      let v = a${o}[((m0 + r) * ${N}u + k + c4 * 4u) / 4u];
      let s = r * ${AS}u + c4 * 4u;
      A${o}[s] = v.x; A${o}[s + 1u] = v.y; A${o}[s + 2u] = v.z; A${o}[s + 3u] = v.w;
    }
    for (var e = li; e < ${(BK * BM) / 4}u; e += ${NT}u) {
      let r = e / ${BM / 4}u; let c4 = e % ${BM / 4}u;
      let v = b${o}[((k + r) * ${N}u + n0 + c4 * 4u) / 4u];
      let s = r * ${BS}u + c4 * 4u;
      B${o}[s] = v.x; B${o}[s + 1u] = v.y; B${o}[s + 2u] = v.z; B${o}[s + 3u] = v.w;
    }`,
    )
    .join('');
  const idx = [];
  for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) idx.push([i, j]);
  const products =
    parts === 1
      ? [['hi', 'hi']]
      : [
          ['hi', 'hi'],
          ['hi', 'lo'],
          ['lo', 'hi'],
        ];
  const mma = [];
  for (let kk = 0; kk < BK / 16; kk++) {
    mma.push('{');
    const ls = new Set(products.map((p) => p[0]));
    const rs = new Set(products.map((p) => p[1]));
    for (let i = 0; i < T; i++) for (const o of ls) mma.push(`let l${o}${i} = ${load(L, `&A${o}`, `(sr + ${16 * i}u) * ${AS}u + ${16 * kk}u`, `${AS}u`)};`);
    for (let j = 0; j < T; j++) for (const o of rs) mma.push(`let r${o}${j} = ${load(R, `&B${o}`, `${16 * kk}u * ${BS}u + sc + ${16 * j}u`, `${BS}u`)};`);
    for (const [i, j] of idx) for (const [x, y] of products) mma.push(`acc${i}_${j} = subgroupMatrixMultiplyAccumulate(l${x}${i}, r${y}${j}, acc${i}_${j});`);
    mma.push('}');
  }
  return `${HEADER}
${binds}
@group(0) @binding(${2 * ops.length}) var<storage, read_write> c: array<f32>;
${decl}
@compute @workgroup_size(${NT})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32${SG_ARG}) {
  let m0 = wg.y * ${BM}u;
  let n0 = wg.x * ${BM}u;
  let sg = ${SG};
  let sr = (sg / 2u) * ${BM / 2}u;
  let sc = (sg % 2u) * ${BM / 2}u;
${idx.map(([i, j]) => `  var acc${i}_${j} = ${RES}();`).join('\n')}
  for (var k = 0u; k < ${N}u; k += ${BK}u) {
    workgroupBarrier();${stage}
    workgroupBarrier();
    {
      ${mma.join('\n      ')}
    }
  }
${idx.map(([i, j]) => `  ${store('&c', `(m0 + sr + ${16 * i}u) * ${N}u + n0 + sc + ${16 * j}u`, `acc${i}_${j}`, `${N}u`)};`).join('\n')}
}`;
}

async function compile(code) {
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  const errors = info.messages.filter((m) => m.type === 'error').map((m) => `${m.lineNum}:${m.linePos} ${m.message}`);
  const warnings = info.messages
    .filter((m) => m.type !== 'error')
    .map((m) => m.message)
    .slice(0, 2);
  return { module, errors, warnings };
}

let code;
let buffers;
let grid;
if (kind === 'int8') {
  // one 16×16 i32 tile per one-subgroup workgroup, K in steps of 32, operands i8 packed four to an i32
  code = `enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read> a: array<i32>;
@group(0) @binding(1) var<storage, read> b: array<i32>;
@group(0) @binding(2) var<storage, read_write> c: array<i32>;
@compute @workgroup_size(32)
fn main(@builtin(workgroup_id) wg: vec3<u32>) {
  let r0 = wg.y * 16u;
  let c0 = wg.x * 16u;
  var acc = subgroup_matrix_result<i32, 16, 16>();
  for (var k = 0u; k < ${N}u; k += 32u) {
    let l = subgroupMatrixLoad<subgroup_matrix_left<i8, 32, 16>, row_major>(&a, r0 * ${N}u + k, ${N}u);
    let r = subgroupMatrixLoad<subgroup_matrix_right<i8, 16, 32>, row_major>(&b, k * ${N}u + c0, ${N}u);
    acc = subgroupMatrixMultiplyAccumulate(l, r, acc);
  }
  subgroupMatrixStore<row_major>(&c, r0 * ${N}u + c0, acc, ${N}u);
}`;
  buffers = [buffer(Int8Array.from(A)), buffer(Int8Array.from(B))];
  grid = [N / 16, N / 16];
} else if (kind === 'direct') {
  code = directKernel();
  if (process.env.PB_SHADER === 'repro') {
    // bench/tc/repro.mjs's text of the same kernel (no unused builtin, no tile index math)
    code =
      code.slice(0, code.indexOf('fn main(')) +
      'fn main(@builtin(workgroup_id) wg: vec3<u32>) {\n  let r0 = wg.y * 16u;\n  let c0 = wg.x * 16u;\n' +
      code.slice(code.indexOf('  var acc'));
    if (code.includes('tile')) throw new Error('repro shader substitution failed');
  }
  buffers = [buffer(sa.hi), buffer(sb.hi)];
  grid = [N / 16 / sgs, N / 16];
} else if (kind === 'control') {
  // the same device, bindings and timing loop with a plain f32 kernel: does the crash need subgroup matrices?
  code = `@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) g: vec3<u32>) { let i = g.y * ${N * 16}u + g.x; c[i] = a[i] * b[i]; }`;
  buffers = [buffer(A), buffer(B)];
  grid = [(N * 16) / 256, N / 16];
} else if (kind === 'staged' || kind === 'split') {
  const parts = kind === 'split' ? 3 : 1;
  code = stagedKernel(parts);
  buffers = parts === 1 ? [buffer(sa.hi), buffer(sb.hi)] : [buffer(sa.hi), buffer(sb.hi), buffer(sa.lo), buffer(sb.lo)];
  grid = [N / BM, N / BM];
} else {
  throw new Error(`unknown case ${kind}`);
}
C ??= makeC(); // PB_ORDER=repro: after the input buffers
const { module, errors, warnings } = await compile(code);
if (errors.length) {
  out({ ok: false, stage: 'compile', errors: errors.slice(0, 3) });
  process.exit(0);
}
device.pushErrorScope('validation');
const pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
const scopeBind = process.env.PB_SCOPE !== 'repro';
const makeBind = () =>
  device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [...buffers, C].map((buf, i) => ({ binding: i, resource: { buffer: buf } })),
  });
const bindInScope = scopeBind ? makeBind() : null;
const verr = await device.popErrorScope();
const bind = bindInScope ?? makeBind(); // PB_SCOPE=repro: outside the error scope
if (verr) {
  out({ ok: false, stage: 'pipeline', errors: [verr.message.slice(0, 300)] });
  process.exit(0);
}
function encode(times) {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bind);
  for (let i = 0; i < times; i++) pass.dispatchWorkgroups(grid[0], grid[1]);
  pass.end();
  return enc.finish();
}
if (process.env.PROBE_STOP === 'pipeline') {
  console.error('stop after pipeline');
  process.exit(0);
}
console.error(
  `${kind} N=${N}: first dispatch; features ${features.join(' ')}; limits ${process.env.PB_LIMITS ?? 'max'}; host ${['PB_WRITE', 'PB_SCOPE', 'PB_ORDER', 'PB_REF'].map((k) => `${k}=${process.env[k] ?? '-'}`).join(' ')}`,
);
device.queue.submit([encode(1)]);
await device.queue.onSubmittedWorkDone();
console.error(`${kind} N=${N}: first dispatch done`);
if (process.env.PROBE_STOP === 'dispatch') process.exit(0);

// accuracy on a sample of rows against float64, for the product the kernel forms
const read = device.createBuffer({ size: N * N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
const enc = device.createCommandEncoder();
enc.copyBufferToBuffer(C, 0, read, 0, N * N * 4);
device.queue.submit([enc.finish()]);
await read.mapAsync(GPUMapMode.READ);
const got = int8 ? Float64Array.from(new Int32Array(read.getMappedRange().slice(0))) : new Float32Array(read.getMappedRange().slice(0));
read.unmap();
if (process.env.PB_DESTROY === '1') read.destroy();
console.error(`${kind} N=${N}: read back`);
if (process.env.PROBE_STOP === 'read') process.exit(0);
let maxErr = 0;
let maxRef = 0;
let maxErrHalfInputs = 0;
const ref = process.env.PB_REF ?? 'loop';
const rows = ref === 'loop' ? [0, 1, 17, N / 2 - 1, N - 1] : [];
if (ref === 'busy') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(process.env.PB_REF_MS ?? 300));
if (ref === 'gc') for (let i = 0; i < Number(process.env.PB_GCS ?? 30); i++) globalThis.gc({ type: 'minor' });
const refStart = performance.now();
for (const i of rows) {
  for (let j = 0; j < N; j += Math.max(1, N / 256)) {
    let exact = 0;
    let halves = 0;
    for (let k = 0; k < N; k++) {
      exact += A[i * N + k] * B[k * N + j];
      halves += fromHalf(sa.hi[i * N + k]) * fromHalf(sb.hi[k * N + j]);
    }
    maxErr = Math.max(maxErr, Math.abs(got[i * N + j] - exact));
    maxErrHalfInputs = Math.max(maxErrHalfInputs, Math.abs(got[i * N + j] - halves));
    maxRef = Math.max(maxRef, Math.abs(exact));
  }
}

console.error(
  `${kind} N=${N}: reference done`,
  JSON.stringify({ refMs: Math.round(performance.now() - refStart), maxErr, maxRef, relErr: maxErr / maxRef, maxErrVsHalfInputs: maxErrHalfInputs }),
);
// throughput: warm up, then the median of 5 submits of `reps` dispatches
const reps = Number(process.env.PROBE_REPS ?? Math.max(1, Math.round(2e11 / (2 * N * N * N))));
const perSubmit = process.env.PROBE_ONE === '1';
device.queue.submit([encode(reps)]);
await device.queue.onSubmittedWorkDone();
console.error(`warm-up of ${reps} done`);
const ms = [];
for (let s = 0; s < 5; s++) {
  const t0 = performance.now();
  if (perSubmit) for (let i = 0; i < reps; i++) device.queue.submit([encode(1)]);
  else device.queue.submit([encode(reps)]);
  await device.queue.onSubmittedWorkDone();
  console.error(`timing sample ${s} done`);
  ms.push((performance.now() - t0) / reps);
}
ms.sort((x, y) => x - y);
const med = ms[2];
const parts = kind === 'split' ? 3 : 1;
out({
  ok: true,
  warnings,
  ms: med,
  tflops: (2 * N * N * N) / med / 1e9,
  tensorTflops: (2 * N * N * N * parts) / med / 1e9,
  maxErr,
  maxRef,
  relErr: maxErr / maxRef,
  maxErrVsHalfInputs: maxErrHalfInputs,
});
process.exit(0);
