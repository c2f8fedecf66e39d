// What one call over a given number of bytes can cost at best on this device, timed as bench
// times a call (batches of back-to-back repetitions between GPU timestamps): an empty dispatch,
// two dependent empty dispatches (a split-K decode's kernel + combine), the library's copy probe
// at several sizes, and a read-only pass (what a decode kernel must at least do) over the bytes
// of the f16 decode grid's caches. The copy probe at 64 MiB is the "copy floor" bench divides by.
// Not part of the library: evidence for docs/PERF.md.
//   node bench/dispatch-floor.mjs [MiB,...]      (after npm run build; prints JSON lines)
import { acquireDevice } from '../dist/runtime/device.js';
import { copyProbeKernel } from '../dist/kernels/probe.js';
import { declareBindings } from '../dist/kernels/spec.js';
import { prepareDispatch } from '../dist/runtime/encode.js';
import { getPipeline } from '../dist/runtime/pipelines.js';
import { timeDispatches } from '../dist/runtime/timing.js';

const sizesMiB = (process.argv[2] ?? '4,16,32,64,128,256').split(',').map(Number);
const { device } = await acquireDevice();
const STORAGE = 0x80 | 0x08 | 0x04;
const buffer = (label, size) => device.createBuffer({ label, size, usage: STORAGE });
const THREADS = 256;
const PER_THREAD = 4; // vec4<u32> loads in flight per invocation

const emptyBindings = [{ name: 'out', kind: 'read_write', type: 'array<u32>' }];
const empty = {
  label: 'floor.empty',
  wgsl: `${declareBindings(emptyBindings)}
@compute @workgroup_size(32, 1, 1)
fn main(@builtin(local_invocation_index) t: u32) { if (t == 0u) { out[0] = out[0] + 1u; } }`,
  workgroupSize: [32, 1, 1],
  bindings: emptyBindings,
  workgroupBytes: 0,
};
const readBindings = [
  { name: 'src', kind: 'read', type: 'array<vec4<u32>>' },
  { name: 'out', kind: 'read_write', type: 'array<u32>' },
];
// Each invocation sums PER_THREAD coalesced vec4 loads and writes only where the sum is a value
// the data never holds, so the loads stay and the writes do not count.
const read = {
  label: 'floor.read',
  wgsl: `${declareBindings(readBindings)}
@compute @workgroup_size(${THREADS}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let block = (wg.x + wg.y * nwg.x) * ${THREADS * PER_THREAD}u + t;
  var sum = vec4<u32>(0u);
  for (var i = 0u; i < ${PER_THREAD}u; i++) { sum ^= src[block + i * ${THREADS}u]; }
  if (all(sum == vec4<u32>(0xdeadbeefu))) { out[0] = block; }
}`,
  workgroupSize: [THREADS, 1, 1],
  bindings: readBindings,
  workgroupBytes: 0,
};

const time = async (runs) => (await timeDispatches(device, [runs], { samples: 5 })).msMedian;
const grid = (groups) => {
  const maxWg = device.limits.maxComputeWorkgroupsPerDimension;
  return [Math.min(groups, maxWg), Math.ceil(groups / maxWg), 1];
};
const out = buffer('out', 256);
const emptyRun = prepareDispatch(device, empty, await getPipeline(device, empty), { out }, [1, 1, 1]);
console.log(JSON.stringify({ case: 'empty', dispatches: 1, ms: await time([emptyRun]) }));
console.log(JSON.stringify({ case: 'empty', dispatches: 2, ms: await time([emptyRun, emptyRun]) }));

const copy = copyProbeKernel();
for (const mib of sizesMiB) {
  const bytes = mib * 2 ** 20;
  const src = buffer('src', bytes);
  const dst = buffer('dst', bytes);
  const copyRun = prepareDispatch(device, copy, await getPipeline(device, copy), { src, dst }, grid(Math.ceil(bytes / 16 / 256)));
  const readRun = prepareDispatch(device, read, await getPipeline(device, read), { src, out }, grid(bytes / 16 / (THREADS * PER_THREAD)));
  const copyMs = await time([copyRun]);
  const readMs = await time([readRun]);
  console.log(JSON.stringify({ case: 'bytes', mib, copyMs, copyTBs: (2 * bytes) / copyMs / 1e9, readMs, readTBs: bytes / readMs / 1e9 }));
  src.destroy();
  dst.destroy();
}
process.exit(0);
