// Standalone reproduction (no project code; needs only npm `webgpu`, i.e. dawn.node):
// an f16 GEMM C = A·B (N×N, f32 accumulate) with WGSL subgroup matrices
// (chromium_experimental_subgroup_matrix → VK_KHR_cooperative_matrix on Vulkan), one 16×16
// output tile per one-subgroup workgroup, operands straight from storage buffers, dispatched
// in a loop of submits. On an NVIDIA H200 (driver 580.159.04, npm webgpu 0.6.2) the process
// dies after the first few submits (SIGSEGV / SIGABRT "futex facility returned an unexpected
// error code" / glibc heap assertions); the same loop with a plain f32 kernel runs clean.
//
//   node repro.mjs [key=value ...]
//     kernel=sgmat|f32     the subgroup-matrix GEMM, or a plain f32 kernel of the same grid
//     n=1024               matrix size (multiple of 16)
//     submits=200          one dispatch per submit
//     wait=each|end        await queue.onSubmittedWorkDone() after every submit, or once at the end
//     enable=a,b           extra Dawn toggles to enable (always: allow_unsafe_apis,vulkan_enable_f16_on_nvidia)
//     disable=a,b          Dawn toggles to disable
//     compile=1            (with kernel=f32) also build, but never dispatch, the subgroup-matrix pipeline
//     churn=0              ArrayBuffers of 1 MiB allocated and dropped per submit (heap pressure)
//     per=1                dispatches per submit (one compute pass)
//     features=min|probe   probe: also ask for 'subgroups' and 'timestamp-query' (as bench/tc-probe.mjs does)
//     destroy=1            destroy the read-back buffer after unmap (0: leave it to the garbage collector)
//     heap=0               1: keep probe-sized JS arrays alive (two N×N Float32Array, four N×N Uint16Array)
//     data=int|rand        rand: random f16 fractions as in bench/tc-probe.mjs (no exact check then)
//     shader=repro|probe   probe: the kernel text of bench/tc-probe.mjs (unused local_invocation_index, tile index math)
//     limits=default|max   max: ask for the adapter's maxComputeWorkgroupStorageSize, maxStorageBufferBindingSize, maxBufferSize
//     gcs=0                minor GCs forced after each read-back check (needs node --expose-gc): the crashing probe's
//                          float reference loop causes ~27 scavenges there, this script's integer check none
// Prints progress to stderr and one JSON line to stdout at the end.
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const arg = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')));
const kernel = arg.kernel ?? 'sgmat';
const N = Number(arg.n ?? 1024);
const submits = Number(arg.submits ?? 200);
const wait = arg.wait ?? 'each';
const churn = Number(arg.churn ?? 0);
const per = Number(arg.per ?? 1);
const enable = ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia', ...(arg.enable ? arg.enable.split(',') : [])];
const flags = [`enable-dawn-features=${enable.join(',')}`];
if (arg.disable) flags.push(`disable-dawn-features=${arg.disable}`);
const log = (s) => process.stderr.write(`${s}\n`);

const gpu = create(flags);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
const want = ['shader-f16', 'chromium-experimental-subgroup-matrix', ...(arg.features === 'probe' ? ['subgroups', 'timestamp-query'] : [])];
const features = want.filter((f) => adapter.features.has(f));
const lim = adapter.limits;
const requiredLimits =
  arg.limits === 'max'
    ? {
        maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
        maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
        maxBufferSize: lim.maxBufferSize,
      }
    : {};
const device = await adapter.requestDevice({ requiredFeatures: features, requiredLimits });
device.lost.then((i) => log(`device lost: ${i.reason} ${i.message}`));
device.addEventListener?.('uncapturederror', (e) => log(`uncaptured error: ${e.error?.message}`));
log(`adapter ${adapter.info.vendor} ${adapter.info.device} ${adapter.info.description ?? ''}; features ${features.join(' ')}; flags ${flags.join(' ')}`);

// ---- inputs: small integers in f16, so every product and sum is exact in f32
const half = (x) => {
  // integer |x| <= 2048 to f16 bits
  if (x === 0) return 0;
  const s = x < 0 ? 0x8000 : 0;
  const a = Math.abs(x);
  const e = Math.floor(Math.log2(a));
  return s | ((e + 15) << 10) | Math.round((a / 2 ** e - 1) * 1024);
};
let seed = 12345;
const rnd = () => (((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) % 7) - 3; // -3..3
const A = new Int8Array(N * N).map(rnd);
const B = new Int8Array(N * N).map(rnd);
const rand = arg.data === 'rand';
const frac = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296) * 2 - 1;
const toHalfBits = (x) => {
  const f = new Float32Array([x]);
  const b = new Uint32Array(f.buffer)[0];
  const e = ((b >>> 23) & 0xff) - 112;
  return e <= 0 ? (b >>> 16) & 0x8000 : ((b >>> 16) & 0x8000) | (e << 10) | ((b >>> 13) & 0x3ff);
};
const heap =
  arg.heap === '1'
    ? [
        Float32Array.from({ length: N * N }, frac),
        Float32Array.from({ length: N * N }, frac),
        ...[0, 1, 2, 3].map(() => new Uint16Array(N * N).map(() => toHalfBits(frac()))),
      ]
    : [];
function upload(data) {
  const buf = device.createBuffer({ size: data.byteLength, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buf, 0, data);
  return buf;
}
const a16 = upload(rand ? new Uint16Array(N * N).map(() => toHalfBits(frac())) : Uint16Array.from(A, half));
const b16 = upload(rand ? new Uint16Array(N * N).map(() => toHalfBits(frac())) : Uint16Array.from(B, half));
const a32 = upload(Float32Array.from(A));
const b32 = upload(Float32Array.from(B));
const C = device.createBuffer({ size: N * N * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });

const T = N / 16;
const SGMAT = `enable f16;
enable chromium_experimental_subgroup_matrix;
@group(0) @binding(0) var<storage, read> a: array<f16>;
@group(0) @binding(1) var<storage, read> b: array<f16>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(32)
fn main(@builtin(workgroup_id) wg: vec3<u32>) {
  let r0 = wg.y * 16u;
  let c0 = wg.x * 16u;
  var acc = subgroup_matrix_result<f32, 16, 16>();
  for (var k = 0u; k < ${N}u; k += 16u) {
    let l = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&a, r0 * ${N}u + k, ${N}u);
    let r = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&b, k * ${N}u + c0, ${N}u);
    acc = subgroupMatrixMultiplyAccumulate(l, r, acc);
  }
  subgroupMatrixStore<row_major>(&c, r0 * ${N}u + c0, acc, ${N}u);
}`;
const SGMAT_PROBE = SGMAT.replace(
  'fn main(@builtin(workgroup_id) wg: vec3<u32>) {\n  let r0 = wg.y * 16u;\n  let c0 = wg.x * 16u;',
  `fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {\n  let tile = wg.y * ${T}u + wg.x * 1u + 0u;\n  let r0 = (tile / ${T}u) * 16u;\n  let c0 = (tile % ${T}u) * 16u;`,
);
if (arg.shader === 'probe' && SGMAT_PROBE === SGMAT) throw new Error('probe shader substitution failed');
// same grid and buffers, plain f32 SIMT: invocation i of a workgroup computes 8 elements of the tile
const F32 = `
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;
@compute @workgroup_size(32)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  for (var e = li; e < 256u; e += 32u) {
    let row = wg.y * 16u + e / 16u;
    let col = wg.x * 16u + e % 16u;
    var s = 0.0;
    for (var k = 0u; k < ${N}u; k++) { s += a[row * ${N}u + k] * b[k * ${N}u + col]; }
    c[row * ${N}u + col] = s;
  }
}`;

async function pipeline(code) {
  const module = device.createShaderModule({ code });
  const info = await module.getCompilationInfo();
  for (const m of info.messages) log(`wgsl ${m.type}: ${m.message}`);
  device.pushErrorScope('validation');
  const p = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const err = await device.popErrorScope();
  if (err) throw new Error(`pipeline: ${err.message}`);
  return p;
}
const sg = kernel === 'sgmat' || arg.compile === '1' ? await pipeline(arg.shader === 'probe' ? SGMAT_PROBE : SGMAT) : null;
log('subgroup-matrix pipeline ' + (sg ? 'built' : 'not built'));
const pipe = kernel === 'sgmat' ? sg : await pipeline(F32);
const bind = device.createBindGroup({
  layout: pipe.getBindGroupLayout(0),
  entries: (kernel === 'sgmat' ? [a16, b16, C] : [a32, b32, C]).map((buffer, binding) => ({ binding, resource: { buffer } })),
});

async function check(tag) {
  const read = device.createBuffer({ size: N * N * 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  enc.copyBufferToBuffer(C, 0, read, 0, N * N * 4);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const got = new Float32Array(read.getMappedRange().slice(0));
  read.unmap();
  if (arg.destroy !== '0') read.destroy();
  heap.push(got);
  for (let i = 0; i < Number(arg.gcs ?? 0); i++) globalThis.gc({ type: 'minor' });
  if (rand) return 0;
  let bad = 0;
  for (const i of [0, 1, N / 2, N - 1]) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < N; k++) s += A[i * N + k] * B[k * N + j];
      if (got[i * N + j] !== s) bad++;
    }
  }
  log(`${tag}: ${bad} wrong of ${4 * N} checked`);
  return bad;
}

const t0 = performance.now();
let bad = 0;
let keep = [];
for (let s = 0; s < submits; s++) {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipe);
  pass.setBindGroup(0, bind);
  for (let d = 0; d < per; d++) pass.dispatchWorkgroups(T, T);
  pass.end();
  device.queue.submit([enc.finish()]);
  if (wait === 'each') await device.queue.onSubmittedWorkDone();
  for (let i = 0; i < churn; i++) keep.push(new ArrayBuffer(1 << 20));
  if (keep.length > 64) keep = [];
  log(`submit ${s} done`);
  if (s === 0) bad += await check('after submit 0');
}
await device.queue.onSubmittedWorkDone();
bad += await check(`after submit ${submits - 1}`);
const ms = performance.now() - t0;
console.log(
  JSON.stringify({
    kernel,
    n: N,
    submits,
    per,
    shader: arg.shader ?? 'repro',
    destroy: arg.destroy ?? '1',
    heap: arg.heap ?? '0',
    data: arg.data ?? 'int',
    features: arg.features ?? 'min',
    limits: arg.limits ?? 'default',
    wait,
    enable,
    disable: arg.disable ?? '',
    churn,
    gcs: Number(arg.gcs ?? 0),
    ok: bad === 0,
    wrong: bad,
    ms: Math.round(ms),
  }),
);
device.destroy();
process.exit(0);
