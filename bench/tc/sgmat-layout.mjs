// Which memory layout does each subgroup-matrix load / store mode really use on this GPU? (issue 14)
// attn-sgmat.mjs's kernel gave wrong results on the H200 (err 5.8e-2, causal 1.9) although it follows
// Dawn's documented semantics; this settles in one short device call which mode (if any) differs.
// Standalone: imports only npm `webgpu` and its sibling sgmat-layout-cases.mjs (the kernels and the
// semantics they test; read that file's header for the method).
//   node sgmat-layout.mjs [wgsl=FILE] [selftest=1]
//     selftest=1   no GPU: feed the decoders synthetic results (standard and transposed) and check them
//     plumbing=1   any adapter (SwiftShader): every case's kernel replaced by a plain copy, to run the host side
// Prints one line per case (OK, or FAIL with the mapping the GPU used instead) on stdout, then one JSON
// line. Exit 0 when all cases hold, 1 when some fail, 2 when the adapter lacks subgroup matrices.
// Expected semantics (Dawn: docs/dawn/features/subgroup_matrix.md "Loading and storing"; Tint lowers the
// calls to OpCooperativeMatrixLoadKHR / StoreKHR with layout RowMajorKHR / ColumnMajorKHR, the pointer at
// array[offset] and the stride unchanged, src/tint/lang/spirv/writer/raise/builtin_polyfill.cc):
// element [r, c] of a matrix is at offset + r·stride + c (row_major) or offset + c·stride + r (col_major),
// offset and stride in array elements; left<T, K, M> has M rows and K columns, right<T, N, K> K × N,
// result<T, N, M> M × N.
import { create, globals } from 'webgpu';
import { cases, SMALL, KV, P0, ID, SRC_LEN, T } from './sgmat-layout-cases.mjs';

const arg = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')));
const log = (s) => process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------- inputs (exact in f16) and expectations
const small = (i) => ((Math.imul(i + 1, 2654435761) >>> 0) % 5) - 2; // −2..2, no symmetry
const src = new Float32Array(SRC_LEN).map((_, i) => (i < SMALL ? i : i >= ID ? ((i - ID) % (T + 1) === 0 ? 1 : 0) : small(i)));
const at = (base, stride) => (r, c) => src[base + r * stride + c];
const matmul = (a, b, n, m, k) =>
  Float64Array.from({ length: n * m }, (_, e) => [...Array(k).keys()].reduce((s, j) => s + a(Math.floor(e / m), j) * b(j, e % m), 0));
const EXPECT = {
  mma: matmul(at(SMALL, T), at(SMALL + 256, T), T, T, T),
  tileS: matmul(at(SMALL, 64), (d, j) => src[KV + j * 64 + d], T, 64, 64), // S = Q·Kᵀ
  tilePV: matmul(at(P0, 64), at(KV, 64), T, 64, 64), // O = P·V
};
EXPECT.tileS4 = Float64Array.from({ length: 4 * EXPECT.tileS.length }, (_, e) => EXPECT.tileS[e % EXPECT.tileS.length]); // one per subgroup
EXPECT.tilePV4 = Float64Array.from({ length: 4 * EXPECT.tilePV.length }, (_, e) => EXPECT.tilePV[e % EXPECT.tilePV.length]);

/** Candidate mappings of element [r, c] to a memory index, for a mode asked as (major, off, stride). */
function candidates(major, off, stride) {
  const list = [];
  for (const [mj, f] of [
    ['row_major', (o, s, r, c) => o + r * s + c],
    ['col_major', (o, s, r, c) => o + c * s + r],
  ])
    for (const [so, o] of [
      ['', off],
      [' offset×2', off * 2],
      [' offset÷2', off / 2],
      [' offset 0', 0],
    ])
      for (const [ss, s] of [
        ['', stride],
        [' stride 16', T],
        [' stride×2', stride * 2],
        [' stride÷2', stride / 2],
      ])
        list.push({ name: `${mj === major && !so && !ss ? 'as asked' : `as ${mj}${so}${ss}`}`, map: (r, c) => f(o, s, r, c) });
  return list;
}

/** A load case's result matrix (out[16r + c] = the memory index it read): which candidate holds. */
function decodeLoad(out, k) {
  const hit = candidates(k.major, k.off, k.stride).find((cand) => [...Array(T * T).keys()].every((e) => out[e] === cand.map(Math.floor(e / T), e % T)));
  if (hit) return hit.name === 'as asked' ? null : hit.name;
  const row0 = [...out.slice(0, 6)].join(','),
    col0 = [0, 1, 2, 3, 4, 5].map((r) => out[r * T]).join(',');
  return `unknown mapping: [0, 0..5] read ${row0}; [0..5, 0] read ${col0}`;
}

/** A store case's memory (−1 where untouched; 16r + c where [r, c] landed): which candidate holds. */
function decodeStore(mem, k) {
  const hit = candidates(k.major, k.off, k.stride).find((cand) => [...Array(T * T).keys()].every((e) => mem[cand.map(Math.floor(e / T), e % T)] === e));
  if (hit) return hit.name === 'as asked' ? null : hit.name;
  const where = [1, 2, 16, 17].map((v) => `${v}@${mem.indexOf(v)}`).join(' ');
  return `unknown mapping: values landed at ${where}`;
}

/** A multiply or tile case against its expectation (and, for the 16×16 multiply, transposed variants). */
function decodeProduct(out, kind) {
  const want = EXPECT[kind],
    n = want.length,
    cols = n / T;
  const bad = [...Array(n).keys()].filter((e) => out[e] !== want[e]);
  if (!bad.length) return null;
  const tr = cols === T && [...Array(n).keys()].every((e) => out[e] === want[(e % T) * T + Math.floor(e / T)]);
  const bRows = new Set(bad.map((e) => Math.floor(e / cols))),
    bBlocks = new Set(bad.map((e) => Math.floor((e % cols) / T)));
  return `${bad.length} of ${n} wrong${tr ? ' (the transpose of the right product)' : ''}; rows ${[...bRows].slice(0, 8).join(',')}, column blocks ${[...bBlocks].join(',')}; first [${Math.floor(bad[0] / cols)}, ${bad[0] % cols}] = ${out[bad[0]]}, want ${want[bad[0]]}`;
}

/** Four subgroups: ids as expected (subgroup_id = li / 32 is not required, only consistency) and per-subgroup copies. */
function decodeSubgroups(out, ids) {
  const errs = [];
  for (let li = 0; li < 128; li++) {
    const [sg, lane, l2, shx] = ids.slice(li * 4, li * 4 + 4);
    if (l2 !== li) errs.push(`li ${li} wrote ${l2}`);
    const partner = [...Array(128).keys()].find((j) => ids[j * 4] === sg && ids[j * 4 + 1] === (lane ^ 16));
    if (shx !== partner) errs.push(`shuffleXor 16 of li ${li} (sg ${sg} lane ${lane}) gave ${shx}, want ${partner}`);
  }
  const sgOf = [0, 32, 64, 96].map((li) => `${ids[li * 4]}`).join(',');
  for (let e = 0; e < 4 * 256; e++) if (out[e] !== e) errs.push(`copy by subgroup ${Math.floor(e / 256)}: [${e % 256}] = ${out[e]}`);
  return errs.length ? `${errs.length} errors, first: ${errs.slice(0, 2).join('; ')} (subgroup_id of li 0,32,64,96: ${sgOf})` : null;
}

function decode(k, out, ids) {
  if (k.kind === 'load') return decodeLoad(out, k);
  if (k.kind === 'store') return decodeStore(out, k);
  if (k.kind === 'subgroups') return decodeSubgroups(out, ids);
  return decodeProduct(out, k.kind);
}

// ---------------------------------------------------------------- selftest: the decoders on synthetic results
if (arg.selftest === '1') {
  const fails = [];
  for (const k of cases().filter((x) => x.kind === 'load' || x.kind === 'store')) {
    const flip = k.major === 'row_major' ? 'col_major' : 'row_major';
    for (const [mj, want] of [
      [k.major, null],
      [flip, `as ${flip}`],
    ]) {
      const map = (r, c) => (mj === 'row_major' ? k.off + r * k.stride + c : k.off + c * k.stride + r);
      const buf = new Float32Array(2048).fill(-1);
      for (let e = 0; e < T * T; e++) {
        if (k.kind === 'load') buf[e] = map(Math.floor(e / T), e % T);
        else buf[map(Math.floor(e / T), e % T)] = e;
      }
      const got = decode(k, buf);
      if (got !== want) fails.push(`${k.name} simulated ${mj}: decoded ${got}, want ${want}`);
    }
  }
  for (const kind of ['mma', 'tileS', 'tilePV', 'tileS4', 'tilePV4'])
    if (decode({ kind }, Float32Array.from(EXPECT[kind])) !== null) fails.push(`${kind}: right product not accepted`);
  if (
    decode(
      { kind: 'mma' },
      Float32Array.from(EXPECT.mma, (_, e) => EXPECT.mma[(e % T) * T + Math.floor(e / T)]),
    ) === null
  )
    fails.push('mma: transpose accepted');
  console.log(fails.length ? fails.join('\n') : `selftest: ${cases().length} cases, decoders ok`);
  process.exit(fails.length ? 1 : 0);
}

// ---------------------------------------------------------------- device, as attn-sgmat.mjs makes it
Object.assign(globalThis, globals);
const gpu = create(['enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia']);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
const plumbing = arg.plumbing === '1';
const need = plumbing ? [] : ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix'];
if (!adapter || need.some((f) => !adapter.features.has(f))) {
  console.log(JSON.stringify({ ok: false, error: `adapter lacks ${need.filter((f) => !adapter?.features.has(f)).join(', ')}` }));
  process.exit(2);
}
log(
  `adapter ${adapter.info.vendor} ${adapter.info.device} ${adapter.info.description ?? ''}; subgroups ${adapter.info.subgroupMinSize}..${adapter.info.subgroupMaxSize}`,
);
// the adapter's whole workgroup memory: the kernel-frame cases declare the kernel's 45,316 bytes
const device = await adapter.requestDevice({
  requiredFeatures: need,
  requiredLimits: { maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize },
});
device.lost.then((i) => log(`device lost: ${i.reason} ${i.message}`));
const buffer = (size, usage, data) => {
  const b = device.createBuffer({ size, usage });
  if (data) device.queue.writeBuffer(b, 0, data);
  return b;
};
const S = GPUBufferUsage.STORAGE,
  CD = GPUBufferUsage.COPY_DST,
  CS = GPUBufferUsage.COPY_SRC;
const halves = new Uint16Array(SRC_LEN + (SRC_LEN % 2));
{
  const f = new Float32Array(1),
    w = new Uint32Array(f.buffer); // exact small integers: no rounding needed
  src.forEach((x, i) => {
    f[0] = x;
    const b = w[0];
    halves[i] = x === 0 ? 0 : ((b >>> 16) & 0x8000) | ((((b >>> 23) & 0xff) - 112) << 10) | ((b >>> 13) & 0x3ff);
  });
}
const bufs = [buffer(halves.byteLength, S | CD, halves), buffer(src.byteLength, S | CD, src), buffer(4 * 4096, S | CS | CD), buffer(4 * 512, S | CS | CD)];
const list = cases();
// an explicit layout: with 'auto', a binding a case never touches would be missing from it
const layout = device.createBindGroupLayout({
  entries: ['read-only-storage', 'read-only-storage', 'storage', 'storage', 'read-only-storage'].map((type, binding) => ({
    binding,
    visibility: GPUShaderStage.COMPUTE,
    buffer: { type },
  })),
});
// binding 4: the f16 source again, for the cases that read it as vec4<f16> or u32 pairs
const bind = device.createBindGroup({ layout, entries: [...bufs, bufs[0]].map((b, binding) => ({ binding, resource: { buffer: b } })) });
const pipeLayout = device.createPipelineLayout({ bindGroupLayouts: [layout] });
const PLUMBING = `@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<storage, read_write> ids: array<u32>;
@compute @workgroup_size(32) fn main(@builtin(local_invocation_index) li: u32) {
  for (var i = li; i < 4096u; i += 32u) { out[i] = b[i]; }
  for (var i = li; i < 512u; i += 32u) { ids[i] = a[i]; }
}`;
const raw = [];
if (arg.wgsl) (await import('node:fs')).writeFileSync(arg.wgsl, list.map((k) => `// ---- ${k.name}\n${k.wgsl}`).join('\n\n'));
for (const k of list) {
  device.pushErrorScope('validation');
  const module = device.createShaderModule({ code: plumbing ? PLUMBING : k.wgsl });
  const pipe = device.createComputePipeline({ layout: pipeLayout, compute: { module, entryPoint: 'main' } });
  const err = await device.popErrorScope();
  if (err) {
    raw.push({ error: err.message.split('\n')[0] });
    continue;
  }
  const read = buffer(4 * 4096 + 4 * 512, GPUBufferUsage.MAP_READ | CD);
  const enc = device.createCommandEncoder();
  enc.clearBuffer(bufs[2]);
  enc.clearBuffer(bufs[3]);
  const pass = enc.beginComputePass();
  pass.setPipeline(pipe);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(1);
  pass.end();
  enc.copyBufferToBuffer(bufs[2], 0, read, 0, 4 * 4096);
  enc.copyBufferToBuffer(bufs[3], 0, read, 4 * 4096, 4 * 512);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  raw.push({ bytes: read.getMappedRange().slice(0) }); // copied once; decoded after all GPU work
  read.unmap();
  read.destroy();
}
device.destroy();

// ---------------------------------------------------------------- report (host only from here)
const results = list.map((k, i) => {
  if (raw[i].error) return { name: k.name, ok: false, why: `pipeline: ${raw[i].error}` };
  const why = decode(k, new Float32Array(raw[i].bytes, 0, 4096), new Uint32Array(raw[i].bytes, 4 * 4096, 512));
  return { name: k.name, ok: why === null, ...(why ? { why } : {}) };
});
for (const r of results) console.log(`${r.ok ? 'OK  ' : 'FAIL'} ${r.name}${r.why ? `: ${r.why}` : ''}`);
const ok = results.every((r) => r.ok);
console.log(JSON.stringify({ ok, failed: results.filter((r) => !r.ok).length, of: results.length, results }));
process.exit(ok ? 0 : 1);
