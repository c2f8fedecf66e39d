// Does the subgroup decode kernel's memory access pattern alone cost bandwidth? Read-only probes
// over one f16 KV cache (K and V, [heads][keys][128] halves each), with the kernel's walk and none
// of its arithmetic: each subgroup takes a range of keys in chunks of CHUNK keys (16, the kernel's, or
// 32, its chunks until 2026-12-01), loads a chunk's K (then its V) into registers and folds them by
// XOR, as bench/dispatch-floor.mjs's read-only pass does.
//   k8:   K as the kernel reads it: 8-byte loads, lane group g (4 lanes) on keys g, g+8, …,
//         each lane a quarter of the row (one load instruction: 8 keys × 32 bytes, 8 lines);
//   kr:   K read as V is, one row a load instruction (2 whole lines), 8 bytes a lane;
//   k16:  the same with 16-byte loads (one load instruction: 8 keys × 64 bytes);
//   v8:   V as the kernel reads it: one row a load instruction, 8 bytes a lane;
//   v16:  16-byte loads, two rows a load instruction (lanes 0–15 and 16–31).
// Cases: "k8v8" (the kernel's), "krv8", "k16v16", "k8v8-together" and "krv8-together" (K and V
// loads issued before either is folded), and "flat" (dispatch-floor's read pass) over the same
// bytes. Not part of the library.
//   node bench/decode-pattern.mjs [keys=32768] [heads=8] [rangeKeys=256,64] [chunk=32]   (after npm run build)
import { acquireDevice } from '../dist/runtime/device.js';
import { declareBindings } from '../dist/kernels/spec.js';
import { prepareDispatch } from '../dist/runtime/encode.js';
import { getPipeline } from '../dist/runtime/pipelines.js';
import { timeDispatches } from '../dist/runtime/timing.js';

const keys = Number(process.argv[2] ?? 32768);
const heads = Number(process.argv[3] ?? 8);
const ranges = (process.argv[4] ?? '256,64').split(',').map(Number);
const CHUNK = Number(process.argv[5] ?? 32);
const SLOTS = CHUNK / 8;
const { device } = await acquireDevice();
const STORAGE = 0x80 | 0x08 | 0x04;
const rowBytes = 256;
const bytes = heads * keys * rowBytes;
const k = device.createBuffer({ label: 'k', size: bytes, usage: STORAGE });
const v = device.createBuffer({ label: 'v', size: bytes, usage: STORAGE });
const out = device.createBuffer({ label: 'out', size: 256, usage: STORAGE });
const W = 8;
const each = (n, f, sep = '\n') => Array.from({ length: n }, (_, i) => f(i)).join(sep);

/** K loads of a chunk into `kr`, 8- or 16-byte units (the row is 32 or 16 of them); `rows`: a row a load, as V. */
const kLoads = (wide, rows) => {
  if (rows) return `var kr = array<vec2<u32>, ${CHUNK}>();\n${each(CHUNK, (j) => `    kr[${j}] = k[(hk * KEYS + base + ${j}u) * 32u + lane];`)}`;
  const per = wide ? 16 : 32; // units a row
  const cols = per / 4; // a lane's units a key
  return `var kr = array<${wide ? 'vec4<u32>' : 'vec2<u32>'}, ${SLOTS * cols}>();
${each(SLOTS, (u) => `    { let kb = (hk * KEYS + base + g + ${8 * u}u) * ${per}u;\n${each(cols, (c) => `      kr[${u * cols + c}] = k[kb + lane4 + ${4 * c}u];`)} }`)}`;
};
const vLoads = (wide) =>
  wide
    ? `var vr = array<vec4<u32>, ${CHUNK / 2}>();
${each(CHUNK / 2, (j) => `    vr[${j}] = v[(hk * KEYS + base + ${2 * j}u + lane / 16u) * 16u + lane % 16u];`)}`
    : `var vr = array<vec2<u32>, ${CHUNK}>();
${each(CHUNK, (j) => `    vr[${j}] = v[(hk * KEYS + base + ${j}u) * 32u + lane];`)}`;
const fold = (name, n, wide) => `${each(n, (i) => `    acc ^= ${wide ? `${name}[${i}]` : `vec4<u32>(${name}[${i}], ${name}[${i}])`};`)}`;

const kernel = (wide, together, rangeKeys, rows) => {
  const t = wide ? 'vec4<u32>' : 'vec2<u32>';
  const bindings = [
    { name: 'k', kind: 'read', type: `array<${t}>` },
    { name: 'v', kind: 'read', type: `array<${t}>` },
    { name: 'out', kind: 'read_write', type: 'array<u32>' },
  ];
  const nk = wide ? CHUNK / 2 : CHUNK;
  const nv = wide ? CHUNK / 2 : CHUNK;
  const body = together
    ? `    ${kLoads(wide, rows)}\n    ${vLoads(wide)}\n${fold('kr', nk, wide)}\n${fold('vr', nv, wide)}`
    : `    {\n    ${kLoads(wide, rows)}\n${fold('kr', nk, wide)}\n    }\n    {\n    ${vLoads(wide)}\n${fold('vr', nv, wide)}\n    }`;
  return {
    label: `pattern.${rows ? 'rows' : wide ? 16 : 8}${together ? '.together' : ''}`,
    wgsl: `enable subgroups;
${declareBindings(bindings)}
const KEYS = ${keys}u;
@compute @workgroup_size(${W * 32}, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let hk = wg.y;
  let sg = t / 32u;
  let lane = t % 32u;
  let lane4 = lane % 4u;
  let g = lane / 4u;
  let lo = (wg.x * ${W}u + sg) * ${rangeKeys}u;
  var acc = vec4<u32>(0u);
  for (var base = lo; base < lo + ${rangeKeys}u; base += ${CHUNK}u) {
${body}
  }
  if (all(acc == vec4<u32>(0xdeadbeefu))) { out[0] = lo; }
}`,
    workgroupSize: [W * 32, 1, 1],
    bindings,
    workgroupBytes: 0,
  };
};

const flatBindings = [
  { name: 'k', kind: 'read', type: 'array<vec4<u32>>' },
  { name: 'v', kind: 'read', type: 'array<vec4<u32>>' },
  { name: 'out', kind: 'read_write', type: 'array<u32>' },
];
const flat = {
  label: 'pattern.flat',
  wgsl: `${declareBindings(flatBindings)}
@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let block = (wg.x + wg.y * nwg.x) * 1024u + t;
  var sum = vec4<u32>(0u);
  for (var i = 0u; i < 4u; i++) { sum ^= k[block + i * 256u] ^ v[block + i * 256u]; }
  if (all(sum == vec4<u32>(0xdeadbeefu))) { out[0] = block; }
}`,
  workgroupSize: [256, 1, 1],
  bindings: flatBindings,
  workgroupBytes: 0,
};

const time = async (run) => (await timeDispatches(device, [[run]], { samples: 5 })).msMedian;
const report = (name, rangeKeys, ms) => console.log(JSON.stringify({ case: name, keys, heads, rangeKeys, chunk: CHUNK, ms, TBs: (2 * bytes) / ms / 1e9 }));
const flatGroups = bytes / 16 / 1024;
const maxWg = device.limits.maxComputeWorkgroupsPerDimension;
report(
  'flat',
  0,
  await time(prepareDispatch(device, flat, await getPipeline(device, flat), { k, v, out }, [Math.min(flatGroups, maxWg), Math.ceil(flatGroups / maxWg), 1])),
);
for (const rangeKeys of ranges) {
  for (const [name, wide, together, rows] of [
    ['k8v8', false, false, false],
    ['krv8', false, false, true],
    ['k16v16', true, false, false],
    ['k8v8-together', false, true, false],
    ['krv8-together', false, true, true],
  ]) {
    const spec = kernel(wide, together, rangeKeys, rows);
    const run = prepareDispatch(device, spec, await getPipeline(device, spec), { k, v, out }, [keys / (rangeKeys * W), heads, 1]);
    report(name, rangeKeys, await time(run));
  }
}
process.exit(0);
