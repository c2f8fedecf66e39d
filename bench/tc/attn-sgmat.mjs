// f16 FlashAttention forward with WGSL subgroup matrices (tensor cores through
// chromium_experimental_subgroup_matrix → VK_KHR_cooperative_matrix), standalone: it imports only npm
// `webgpu` (dawn.node), like repro.mjs, and its siblings attn-sgmat-wgsl.mjs (the kernel text) and
// attn-sgmat-emul.mjs (emul=1). Issue 14: run it 100 times in a row on the H200 and check it.
// Kernel (one workgroup = SG subgroups × TM query rows of one head; K/V tiles of BC keys):
//   S = Q·Kᵀ   subgroupMatrixMultiplyAccumulate, f16 operands (Q held as left matrices for the whole
//              loop, Kᵀ loaded col_major from a row-major K tile), f32 result stored to workgroup memory;
//   softmax    by the subgroup's lanes in f32 (TM rows, SGS/TM lanes per row, row max by shuffles),
//              P = exp2(S·scale·log2e − m) written as f16 to workgroup memory;
//   O += P·V   P loaded back as left matrices, V as right matrices, O kept in f32 result matrices.
// Rescaling O (FlashAttention-4's conditional rescale): a row's running max m only moves when the
// tile's max exceeds it by more than `tau` (log2 units, default 8, so P ≤ 2^8 fits f16 with room);
// l is rescaled in registers; O only when some row of the workgroup moved (a workgroup flag read
// with workgroupUniformLoad, so the branch is uniform): O is stored to the S scratch, rows scaled by
// the lanes, and reloaded. The first tile never rescales (O is still zero).
//   node attn-sgmat.mjs [key=value ...]
//     n=4096 h=16 d=64 causal=0 runs=100 warmup=3 check=1 seed=1 amp=1 (inputs uniform in [−amp, amp))
//     out=f32|f16       output type          cfg=16x16x16     M×N×K (default: best f16→f32 config offered)
//     sg=4 bc=64|32     subgroups per workgroup, keys per tile (default bc 64 for d ≤ 64, else 32)
//     kv=smem|global    K/V tiles staged in workgroup memory, or read by the matrix loads from storage
//     stage=u32|vec4h   kv=smem: K/V read for staging as packed u32 pairs (default) or as vec4<f16> (run 10's text)
//     flag=vec4|u32     the workgroup rescale flag as vec4<u32> (default: every workgroup variable a 16-byte multiple) or
//                       u32 (runs 9-11's text: kS/vS read two halves early on the H200, docs/tensor-cores.md run 11)
//     tau=8             rescale threshold (0: rescale whenever a row max grows)
//     quant=0           1: leave Dawn's timestamp quantization on (default: disable_dawn timestamp_quantization)
//     emul=1            no subgroup matrices and no f16 (SwiftShader): the same kernel with the matrix
//                       builtins replaced by attn-sgmat-emul.mjs, f16 by rounding; checks the rest locally
//     wgsl=FILE         write the WGSL there           enable=a,b / disable=a,b  extra Dawn toggles
//     sync=legacy       the first H200 run's text (wrong there): `if (li == 0)` right before the P·V matrix ops,
//                       causal masks as branches right before the row-max shuffle (default: no divergent branch
//                       between the last barrier and a matrix op or shuffle; Dawn's subgroup_matrix.md: reconvergence
//                       after a branch is not reliable)
// Exit 2 when the adapter lacks subgroup matrices (or an f16→f32 config). Progress on stderr; one JSON line
// on stdout. Host rule (docs/tensor-cores.md): no allocation-heavy JS between a read-back and the next
// submit, so the float64 check runs only after all GPU work, with the device destroyed.
import { create, globals } from 'webgpu';
import { attentionWGSL } from './attn-sgmat-wgsl.mjs';

Object.assign(globalThis, globals);
const arg = Object.fromEntries(process.argv.slice(2).map((a) => a.split('=')));
const num = (k, d) => Number(arg[k] ?? d);
const N = num('n', 4096),
  H = num('h', 16),
  D = num('d', 64),
  RUNS = num('runs', 100),
  WARM = num('warmup', 3);
const causal = arg.causal === '1',
  emul = arg.emul === '1',
  outF16 = arg.out === 'f16',
  kvGlobal = arg.kv === 'global';
const SG = num('sg', 4),
  BC = num('bc', D <= 64 ? 64 : 32),
  TAU = num('tau', 8),
  AMP = num('amp', 1);
const STAGE = arg.stage ?? 'u32';
const kernelFlags = { D, N, SG, BC, causal, kvGlobal, outF16, tau: TAU, emul, sync: arg.sync ?? 'converged', stage: STAGE, flag: arg.flag ?? 'vec4' };
const log = (s) => process.stderr.write(`${s}\n`);
const fail = (code, msg) => {
  log(msg);
  console.log(JSON.stringify({ ok: false, error: msg }));
  process.exit(code);
};

// ---------------------------------------------------------------- f16 on the host
const f32 = new Float32Array(1),
  u32 = new Uint32Array(f32.buffer);
/** Float to f16 bits, round to nearest even (through float32). */ function halfBits(x) {
  f32[0] = x;
  const b = u32[0],
    s = (b >>> 16) & 0x8000,
    e = ((b >>> 23) & 0xff) - 112; // e: f16 biased exponent
  let m = b & 0x7fffff,
    h;
  if (e >= 31) return s | 0x7c00;
  if (e <= 0) {
    if (e < -10) return s;
    m |= 0x800000;
    const sh = 14 - e,
      rem = m & ((1 << sh) - 1),
      halfway = 1 << (sh - 1); // subnormal
    h = m >>> sh;
    if (rem > halfway || (rem === halfway && h & 1)) h++;
    return s | h;
  }
  h = (e << 10) | (m >>> 13);
  const rem = m & 0x1fff; // ties to even; a carry into the exponent is right, up to infinity
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return s | h;
}
const HALF = new Float32Array(65536).map((_, h) => {
  const e = (h >> 10) & 31,
    m = h & 1023,
    s = h & 0x8000 ? -1 : 1;
  return s * (e === 0 ? m * 2 ** -24 : e === 31 ? (m ? NaN : Infinity) : (1 + m / 1024) * 2 ** (e - 15));
});
const roundHalf = (x) => HALF[halfBits(x)];

// ---------------------------------------------------------------- data, before any GPU object: f16-rounded inputs
let seed = num('seed', 1) >>> 0;
const rand = () => {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};
const count = H * N * D,
  o16 = outF16 && !emul;
const bits = [0, 1, 2].map(() => Uint16Array.from({ length: count }, () => halfBits((rand() * 2 - 1) * AMP)));
// emul: f32 storage, but K/V staged from packed pairs (stage=u32) read the f16 bits themselves, as on the GPU
const packedKV = !kvGlobal && STAGE !== 'vec4h';
const inputs = emul ? bits.map((b, i) => (i > 0 && packedKV ? b : Float32Array.from(b, (h) => HALF[h]))) : bits;

// ---------------------------------------------------------------- device, as repro.mjs makes it
const enable = ['allow_unsafe_apis', 'vulkan_enable_f16_on_nvidia', ...(arg.enable ? arg.enable.split(',') : [])];
const disable = [...(arg.quant === '1' ? [] : ['timestamp_quantization']), ...(arg.disable ? arg.disable.split(',') : [])];
const flags = [`enable-dawn-features=${enable.join(',')}`, ...(disable.length ? [`disable-dawn-features=${disable.join(',')}`] : [])];
const gpu = create(flags); // keep the GPU object alive
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) fail(2, 'no WebGPU adapter');
const info = adapter.info;
const configs = [...(info.subgroupMatrixConfigs ?? [])].map((x) => ({ ab: x.componentType, c: x.resultComponentType, name: `${x.M}x${x.N}x${x.K}` }));
log(`adapter ${info.vendor} ${info.device} ${info.description ?? ''}; subgroups ${info.subgroupMinSize}..${info.subgroupMaxSize}; flags ${flags.join(' ')}`);
log(`subgroup-matrix configs: ${configs.map((x) => `${x.ab}->${x.c} ${x.name}`).join(', ') || 'none'}`);
const need = emul ? [] : ['shader-f16', 'subgroups', 'chromium-experimental-subgroup-matrix'];
const missing = need.filter((f) => !adapter.features.has(f));
if (missing.length) {
  // still write the kernel text asked for (subgroups of 32, as on NVIDIA), for review
  const [tm, tn, tk] = (arg.cfg ?? '16x16x16').split('x').map(Number);
  if (arg.wgsl) (await import('node:fs')).writeFileSync(arg.wgsl, attentionWGSL({ ...kernelFlags, TM: tm, TN: tn, TK: tk, SGS: 32, WG: SG * 32 }));
  fail(2, `adapter lacks ${missing.join(', ')}: subgroup-matrix kernels cannot run here (emul=1 runs an emulation)`);
}
const usable = configs.filter((x) => x.ab === 'f16' && x.c === 'f32').map((x) => x.name);
const cfgName = emul ? (arg.cfg ?? '16x16x16') : ['16x16x16', '16x8x16', '8x8x8', ...usable].find((p) => (!arg.cfg || p === arg.cfg) && usable.includes(p));
if (!cfgName) fail(2, `no f16→f32 subgroup-matrix config${arg.cfg ? ` ${arg.cfg}` : ''} offered`);
const [TM, TN, TK] = cfgName.split('x').map(Number);
const SGS = emul ? 32 : info.subgroupMaxSize;
if (!emul && info.subgroupMinSize !== SGS) log(`warning: subgroup size ${info.subgroupMinSize}..${SGS}; the kernel assumes ${SGS}`);
const BR = SG * TM;
const bad = [N % BR, N % BC, BC % 16, D % 16, BC % (SGS / TM), SGS % TM].some((x) => x !== 0) || ![64, 128].includes(D);
if (!['u32', 'vec4h'].includes(STAGE)) fail(1, `unsupported: stage=${STAGE} (u32|vec4h)`);
if (bad || TAU < 0 || TAU > 12) fail(1, `unsupported: n=${N} (multiple of ${BR} and ${BC}), d=${D} (64|128), bc=${BC}, tau=${TAU} (0..12)`);
const lim = adapter.limits;
const device = await adapter.requestDevice({
  requiredFeatures: [...need, ...['timestamp-query', 'subgroups'].filter((f) => adapter.features.has(f) && !need.includes(f))],
  requiredLimits: {
    maxComputeWorkgroupStorageSize: lim.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: lim.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: lim.maxComputeWorkgroupSizeX,
  },
});
device.lost.then((i) => log(`device lost: ${i.reason} ${i.message}`));
const code = attentionWGSL({ ...kernelFlags, TM, TN, TK, SGS, WG: SG * SGS });
if (arg.wgsl) (await import('node:fs')).writeFileSync(arg.wgsl, code);
const module = device.createShaderModule({ label: 'attn-sgmat', code });
for (const m of (await module.getCompilationInfo()).messages) log(`wgsl ${m.type} ${m.lineNum}:${m.linePos}: ${m.message}`);
device.pushErrorScope('validation');
const pipe = device.createComputePipeline({ label: 'attn-sgmat', layout: 'auto', compute: { module, entryPoint: 'main' } });
const perr = await device.popErrorScope();
if (perr) fail(1, `pipeline: ${perr.message}`);
const buffer = (size, usage, data) => {
  const b = device.createBuffer({ size, usage });
  if (data) device.queue.writeBuffer(b, 0, data);
  return b;
};
const oBytes = count * (o16 ? 2 : 4);
const bufs = inputs.map((x) => buffer(x.byteLength, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, x));
const poison = o16 ? new Uint16Array(count).fill(0x7e00) : new Float32Array(count).fill(NaN);
bufs.push(buffer(oBytes, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST, poison));
const bind = device.createBindGroup({ layout: pipe.getBindGroupLayout(0), entries: bufs.map((b, binding) => ({ binding, resource: { buffer: b } })) });

// ---------------------------------------------------------------- runs: one submit each, awaited; timestamps read at the end
const qs = device.features.has('timestamp-query') && RUNS <= 2048 ? device.createQuerySet({ type: 'timestamp', count: 2 * RUNS }) : null;
const hostMs = new Float64Array(RUNS);
const flops = 4 * N * N * D * H * (causal ? 0.5 : 1);
for (let i = -WARM; i < RUNS; i++) {
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass(
    qs && i >= 0 ? { timestampWrites: { querySet: qs, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 } } : {},
  );
  pass.setPipeline(pipe);
  pass.setBindGroup(0, bind);
  pass.dispatchWorkgroups(N / BR, H);
  pass.end();
  const t0 = performance.now();
  device.queue.submit([enc.finish()]);
  await device.queue.onSubmittedWorkDone();
  if (i >= 0) hostMs[i] = performance.now() - t0;
  if (i >= 0 && (i + 1) % 10 === 0)
    log(`run ${i + 1}/${RUNS}: host ${hostMs[i].toFixed(3)} ms (${(flops / hostMs[i] / 1e9).toFixed(1)} TFLOP/s with the submit)`);
}
// last submit: resolve the timestamps, copy O out; read both back, copy them once, destroy the device; only then compute
const enc = device.createCommandEncoder();
const tsRead = qs && buffer(16 * RUNS, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
if (qs) {
  const resolve = buffer(16 * RUNS, GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC);
  enc.resolveQuerySet(qs, 0, 2 * RUNS, resolve, 0);
  enc.copyBufferToBuffer(resolve, 0, tsRead, 0, 16 * RUNS);
}
const oRead = buffer(oBytes, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
enc.copyBufferToBuffer(bufs[3], 0, oRead, 0, oBytes);
device.queue.submit([enc.finish()]);
const readBack = async (b) => {
  await b.mapAsync(GPUMapMode.READ);
  const copy = b.getMappedRange().slice(0);
  b.unmap();
  return copy;
};
const oRaw = await readBack(oRead);
const tsRaw = tsRead && (await readBack(tsRead));
device.destroy();
await Promise.race([device.lost, new Promise((res) => setTimeout(res, 1000))]);

// ---------------------------------------------------------------- summary and check (host only from here)
const stamps = tsRaw && new BigUint64Array(tsRaw);
const gpuMs = stamps && Float64Array.from({ length: RUNS }, (_, i) => Number(stamps[2 * i + 1] - stamps[2 * i]) / 1e6);
const tsOk = gpuMs && gpuMs.every((x, i) => x > 0 && x <= hostMs[i] * 1.05); // else the clock is quantized or broken
const times = Float64Array.from(tsOk ? gpuMs : hostMs).sort();
const ms = (x) => +x.toFixed(4),
  tf = (x) => +(flops / x / 1e9).toFixed(2);
const res = {
  kernel: emul ? 'emulated' : 'subgroup-matrix',
  cfg: cfgName,
  n: N,
  h: H,
  d: D,
  causal,
  out: outF16 ? 'f16' : 'f32',
  sg: SG,
  bc: BC,
  kv: kvGlobal ? 'global' : 'smem',
  stage: kvGlobal ? '-' : STAGE,
  tau: TAU,
  runs: RUNS,
  timing: tsOk ? 'timestamp-query' : 'host clock',
  msMedian: ms(times[RUNS >> 1]),
  msBest: ms(times[0]),
  tflopsMedian: tf(times[RUNS >> 1]),
  tflopsBest: tf(times[0]),
  hostMsMedian: ms(hostMs.slice().sort()[RUNS >> 1]),
};
log(`${RUNS} runs: median ${res.msMedian} ms = ${res.tflopsMedian} TFLOP/s, best ${res.msBest} ms = ${res.tflopsBest} TFLOP/s (${res.timing})`);
if (arg.check !== '0') Object.assign(res, check(o16 ? Float32Array.from(new Uint16Array(oRaw), (h) => HALF[h]) : new Float32Array(oRaw)));
console.log(JSON.stringify(res));
process.exit(res.ok === false ? 1 : 0);

/** One head (the last) against float64 on 64 rows, beside naive f16 attention (S, P, O stored in f16, f32 math). */
function check(o) {
  let nan = 0,
    err = 0,
    err16 = 0;
  for (let i = 0; i < o.length; i++) if (Number.isNaN(o[i])) nan++;
  const hd = H - 1,
    base = hd * N * D,
    scale = 1 / Math.sqrt(D),
    fr = Math.fround;
  const [Q, K, V] = bits.map((b) => Float64Array.from(b.subarray(base, base + N * D), (h) => HALF[h]));
  // only rows that exist: at n = BR the fixed list named row N (past the end), whose NaN reference made
  // err and err16 NaN (JSON null, printed 0.00e+0), every row "good" (e > NaN is false) and `worst` stale
  const rows = new Set([0, 1, TM - 1, TM, BR - 1, BR, N / 2, N - 2, N - 1].filter((i) => i < N));
  while (rows.size < Math.min(N, 64)) rows.add(Math.floor(rand() * N));
  const s = new Float64Array(N),
    s16 = new Float64Array(N);
  const rowErr = new Map(); // row → its max error: where the errors sit (which subgroup's rows, which tile)
  let worst = null;
  for (const i of rows) {
    const nk = causal ? i + 1 : N;
    let mx = -Infinity,
      mx16 = -Infinity,
      sum = 0,
      sum16 = 0;
    for (let j = 0; j < nk; j++) {
      let dot = 0,
        dot32 = 0;
      for (let d = 0; d < D; d++) {
        const p = Q[i * D + d] * K[j * D + d];
        dot += p;
        dot32 = fr(dot32 + fr(p));
      }
      s[j] = dot * scale;
      s16[j] = roundHalf(fr(dot32 * scale));
      mx = Math.max(mx, s[j]);
      mx16 = Math.max(mx16, s16[j]);
    }
    for (let j = 0; j < nk; j++) {
      sum += s[j] = Math.exp(s[j] - mx);
      sum16 = fr(sum16 + (s16[j] = fr(Math.exp(fr(s16[j] - mx16)))));
    }
    for (let j = 0; j < nk; j++) s16[j] = roundHalf(fr(s16[j] / sum16));
    for (let d = 0; d < D; d++) {
      let acc = 0,
        acc16 = 0;
      for (let j = 0; j < nk; j++) {
        acc += s[j] * V[j * D + d];
        acc16 = fr(acc16 + fr(s16[j] * V[j * D + d]));
      }
      const ref = acc / sum,
        got = o[base + i * D + d];
      const e = Number.isNaN(got) || Number.isNaN(ref) ? Infinity : Math.abs(got - ref); // NaN never hides in max()
      if (e > err) worst = { row: i, col: d, got, ref };
      err = Math.max(err, e);
      rowErr.set(i, Math.max(rowErr.get(i) ?? 0, e));
      err16 = Math.max(err16, Math.abs(roundHalf(acc16) - ref));
    }
  }
  const ok = nan === 0 && err <= 3 * err16; // the f16 rule of verify.ts: at most 3× naive f16's error
  const bad = [...rowErr].filter(([, e]) => e > 3 * err16).map(([i]) => i);
  const badBySubgroup = [...Array(SG).keys()].map(
    (g) => `${bad.filter((i) => Math.floor((i % BR) / TM) === g).length}/${[...rows].filter((i) => Math.floor((i % BR) / TM) === g).length}`,
  );
  if (!ok)
    log(
      `bad rows ${bad.length} of ${rows.size}, by subgroup (bad/checked) ${badBySubgroup.join(' ')}; first ${bad.slice(0, 12).join(',')}; worst ${JSON.stringify(worst)}`,
    );
  log(
    `check head ${hd}, ${rows.size} rows: max |O − f64| ${err.toExponential(3)}, naive f16 ${err16.toExponential(3)} (ratio ${(err / err16).toFixed(2)}), NaN ${nan} of ${o.length}: ${ok ? 'ok' : 'FAIL'}`,
  );
  const where = ok ? {} : { badRows: bad.length, badBySubgroup: badBySubgroup.join(' '), worst };
  // Infinity would print as null in JSON: a NaN output is counted in `nan`, the error says "inf"
  return {
    head: hd,
    rowsChecked: rows.size,
    maxAbsErr: Number.isFinite(err) ? err : 'inf',
    naiveF16Err: err16,
    errRatio: +(err / err16).toFixed(3),
    nan,
    ok,
    ...where,
  };
}
