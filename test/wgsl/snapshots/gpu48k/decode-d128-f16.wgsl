enable subgroups;
diagnostic(off, subgroup_uniformity);

struct Params {
  seqQ: u32,
  seqK: u32,
  groupSize: u32,
  headsQ: u32,
  qkScale: f32,
  causalOffset: i32,
  negInf: f32,
  headBase: u32,
  qsb: u32,
  qsh: u32,
  qsn: u32,
  ksb: u32,
  ksh: u32,
  ksn: u32,
  vsb: u32,
  vsh: u32,
  vsn: u32,
  scale: f32,
  bmB: u32,
  bmH: u32,
  bmRow: u32,
  nan: f32,
  batchBase: u32,
  tileBase: u32,
  qOff: u32,
  kOff: u32,
  vOff: u32,
  lseOff: u32,
  qTiles: u32,
  rangeKeys: u32,
  oPart: u32,
  statPart: u32,
}

const D4 = 32u;
const R = 4u;
const T = 256u;
const L = 4u;
const G = 64u;
const C = 128u;
const NV = 1u;
const KG = 8u;
const MASKED = -3.0e38;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> k: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> v: array<vec2<u32>>;
@group(0) @binding(4) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
fn unpackHalf4(x: vec2<u32>) -> vec4<f32> { return vec4<f32>(unpack2x16float(x.x), unpack2x16float(x.y)); }
fn packHalf(x: f32) -> u32 {
  let a = bitcast<u32>(x) & 0x7fffffffu;
  let sign = (bitcast<u32>(x) >> 16u) & 0x8000u;
  let fits = a <= 0x477fe000u; // within the f16 range: 65504 and below
  let rounded = pack2x16float(vec2<f32>(select(0.0, x, fits), 0.0)) & 0xffffu;
  let past = select(sign | 0x7bffu, sign | 0x7c00u, a >= 0x477ff000u); // 65504 below 65520, else inf
  return select(select(past, rounded, fits), 0x7e00u, a > 0x7f800000u);
}
fn packHalf4(v: vec4<f32>) -> vec2<u32> {
  return vec2<u32>(packHalf(v.x) | (packHalf(v.y) << 16u), packHalf(v.z) | (packHalf(v.w) << 16u));
}
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn isNanV(x: vec4<f32>) -> vec4<bool> { return (bitcast<vec4<u32>>(x) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u); }
fn finite4(x: vec4<f32>) -> bool { return all((bitcast<vec4<u32>>(x) & vec4<u32>(0x7fffffffu)) < vec4<u32>(0x7f800000u)); }


// Floats ordered as u32, so a workgroup atomicMax finds each row's max.
fn orderedBits(x: f32) -> u32 {
  let u = bitcast<u32>(x);
  return select(u | 0x80000000u, ~u, (u & 0x80000000u) != 0u);
}
fn orderedFloat(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}

var<workgroup> qs: array<vec4<f32>, 128>;
var<workgroup> sc: array<vec4<f32>, 128>; // key-major: key j's rows at sc[j * NV] …
var<workgroup> meet: array<vec4<f32>, 512>;
var<workgroup> sums: array<f32, 32>;
var<workgroup> rowMax: array<atomic<u32>, 4>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32, @builtin(subgroup_invocation_id) sgLane: u32) {
  let part = wg.x;
  let hk = wg.y;
  let b = wg.z + params.batchBase;

  // This range's keys [lo, hi): fewer past the sequence's end.
  let lo = part * params.rangeKeys;
  var hi = min(lo + params.rangeKeys, params.seqK);
  let n = select(0u, hi - lo, hi > lo);

  let lane = t % L;
  let g = t / L;
  var kr: array<vec2<u32>, 16>;
  if (g + 0u * G < n) {
    let kb = b * params.ksb + hk * params.ksh + (lo + g + 0u * G) * params.ksn - params.kOff;
    { kr[0] = k[kb + lane + 0u]; }
    { kr[1] = k[kb + lane + 4u]; }
    { kr[2] = k[kb + lane + 8u]; }
    { kr[3] = k[kb + lane + 12u]; }
    { kr[4] = k[kb + lane + 16u]; }
    { kr[5] = k[kb + lane + 20u]; }
    { kr[6] = k[kb + lane + 24u]; }
    { kr[7] = k[kb + lane + 28u]; }
  }
  if (g + 1u * G < n) {
    let kb = b * params.ksb + hk * params.ksh + (lo + g + 1u * G) * params.ksn - params.kOff;
    { kr[8] = k[kb + lane + 0u]; }
    { kr[9] = k[kb + lane + 4u]; }
    { kr[10] = k[kb + lane + 8u]; }
    { kr[11] = k[kb + lane + 12u]; }
    { kr[12] = k[kb + lane + 16u]; }
    { kr[13] = k[kb + lane + 20u]; }
    { kr[14] = k[kb + lane + 24u]; }
    { kr[15] = k[kb + lane + 28u]; }
  }

  // Q rows (every head of the group) to workgroup memory while the K rows arrive, scaled into the log2 frame.
  for (var e = t; e < R * D4; e += T) {
    let r = e / D4;
    let hr = hk * 4u + r / 1u;
    qs[e] = unpackHalf4(q[b * params.qsb + hr * params.qsh + (r % 1u) * params.qsn + e % D4 - params.qOff]) * params.qkScale;
  }
  if (t < R) { atomicStore(&rowMax[t], orderedBits(MASKED)); }
  workgroupBarrier();

  var mx: array<f32, 4>;
  mx[0] = MASKED;
  mx[1] = MASKED;
  mx[2] = MASKED;
  mx[3] = MASKED;
  {
    var d: array<f32, 8>;
    {
      let kv0 = unpackHalf4(kr[0]);
      let kv1 = unpackHalf4(kr[8]);
      { let qv = qs[0u + lane + 0u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 0u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 0u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 0u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[1]);
      let kv1 = unpackHalf4(kr[9]);
      { let qv = qs[0u + lane + 4u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 4u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 4u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 4u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[2]);
      let kv1 = unpackHalf4(kr[10]);
      { let qv = qs[0u + lane + 8u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 8u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 8u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 8u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[3]);
      let kv1 = unpackHalf4(kr[11]);
      { let qv = qs[0u + lane + 12u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 12u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 12u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 12u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[4]);
      let kv1 = unpackHalf4(kr[12]);
      { let qv = qs[0u + lane + 16u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 16u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 16u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 16u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[5]);
      let kv1 = unpackHalf4(kr[13]);
      { let qv = qs[0u + lane + 20u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 20u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 20u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 20u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[6]);
      let kv1 = unpackHalf4(kr[14]);
      { let qv = qs[0u + lane + 24u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 24u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 24u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 24u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[7]);
      let kv1 = unpackHalf4(kr[15]);
      { let qv = qs[0u + lane + 28u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 28u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 28u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 28u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      var s0 = d[0]; s0 += subgroupShuffleXor(s0, 1u); s0 += subgroupShuffleXor(s0, 2u);
      var s1 = d[1]; s1 += subgroupShuffleXor(s1, 1u); s1 += subgroupShuffleXor(s1, 2u);
      var s2 = d[2]; s2 += subgroupShuffleXor(s2, 1u); s2 += subgroupShuffleXor(s2, 2u);
      var s3 = d[3]; s3 += subgroupShuffleXor(s3, 1u); s3 += subgroupShuffleXor(s3, 2u);
      let j = g + 0u * G;
      if (j < n) {
        let m0 = s0;
        mx[0] = max(mx[0], m0);
        let m1 = s1;
        mx[1] = max(mx[1], m1);
        let m2 = s2;
        mx[2] = max(mx[2], m2);
        let m3 = s3;
        mx[3] = max(mx[3], m3);
        if (lane == 0u) {
          sc[j * NV + 0u] = vec4<f32>(m0, m1, m2, m3);
        }
      }
    }
    {
      var s0 = d[4]; s0 += subgroupShuffleXor(s0, 1u); s0 += subgroupShuffleXor(s0, 2u);
      var s1 = d[5]; s1 += subgroupShuffleXor(s1, 1u); s1 += subgroupShuffleXor(s1, 2u);
      var s2 = d[6]; s2 += subgroupShuffleXor(s2, 1u); s2 += subgroupShuffleXor(s2, 2u);
      var s3 = d[7]; s3 += subgroupShuffleXor(s3, 1u); s3 += subgroupShuffleXor(s3, 2u);
      let j = g + 1u * G;
      if (j < n) {
        let m0 = s0;
        mx[0] = max(mx[0], m0);
        let m1 = s1;
        mx[1] = max(mx[1], m1);
        let m2 = s2;
        mx[2] = max(mx[2], m2);
        let m3 = s3;
        mx[3] = max(mx[3], m3);
        if (lane == 0u) {
          sc[j * NV + 0u] = vec4<f32>(m0, m1, m2, m3);
        }
      }
    }
  }
  mx[0] = subgroupMax(mx[0]);
  mx[1] = subgroupMax(mx[1]);
  mx[2] = subgroupMax(mx[2]);
  mx[3] = subgroupMax(mx[3]);
  if (sgLane == 0u && n > 0u) {
    atomicMax(&rowMax[0], orderedBits(mx[0]));
    atomicMax(&rowMax[1], orderedBits(mx[1]));
    atomicMax(&rowMax[2], orderedBits(mx[2]));
    atomicMax(&rowMax[3], orderedBits(mx[3]));
  }

  let kg = t / D4;
  let c = t % D4;
  var vr: array<vec2<u32>, 16>;
  if (kg < KG) {
    if (kg + 0u < n) { vr[0] = v[b * params.vsb + hk * params.vsh + (lo + kg + 0u) * params.vsn - params.vOff + c]; }
    if (kg + 8u < n) { vr[1] = v[b * params.vsb + hk * params.vsh + (lo + kg + 8u) * params.vsn - params.vOff + c]; }
    if (kg + 16u < n) { vr[2] = v[b * params.vsb + hk * params.vsh + (lo + kg + 16u) * params.vsn - params.vOff + c]; }
    if (kg + 24u < n) { vr[3] = v[b * params.vsb + hk * params.vsh + (lo + kg + 24u) * params.vsn - params.vOff + c]; }
    if (kg + 32u < n) { vr[4] = v[b * params.vsb + hk * params.vsh + (lo + kg + 32u) * params.vsn - params.vOff + c]; }
    if (kg + 40u < n) { vr[5] = v[b * params.vsb + hk * params.vsh + (lo + kg + 40u) * params.vsn - params.vOff + c]; }
    if (kg + 48u < n) { vr[6] = v[b * params.vsb + hk * params.vsh + (lo + kg + 48u) * params.vsn - params.vOff + c]; }
    if (kg + 56u < n) { vr[7] = v[b * params.vsb + hk * params.vsh + (lo + kg + 56u) * params.vsn - params.vOff + c]; }
    if (kg + 64u < n) { vr[8] = v[b * params.vsb + hk * params.vsh + (lo + kg + 64u) * params.vsn - params.vOff + c]; }
    if (kg + 72u < n) { vr[9] = v[b * params.vsb + hk * params.vsh + (lo + kg + 72u) * params.vsn - params.vOff + c]; }
    if (kg + 80u < n) { vr[10] = v[b * params.vsb + hk * params.vsh + (lo + kg + 80u) * params.vsn - params.vOff + c]; }
    if (kg + 88u < n) { vr[11] = v[b * params.vsb + hk * params.vsh + (lo + kg + 88u) * params.vsn - params.vOff + c]; }
    if (kg + 96u < n) { vr[12] = v[b * params.vsb + hk * params.vsh + (lo + kg + 96u) * params.vsn - params.vOff + c]; }
    if (kg + 104u < n) { vr[13] = v[b * params.vsb + hk * params.vsh + (lo + kg + 104u) * params.vsn - params.vOff + c]; }
    if (kg + 112u < n) { vr[14] = v[b * params.vsb + hk * params.vsh + (lo + kg + 112u) * params.vsn - params.vOff + c]; }
    if (kg + 120u < n) { vr[15] = v[b * params.vsb + hk * params.vsh + (lo + kg + 120u) * params.vsn - params.vOff + c]; }
  }
  workgroupBarrier();

  let rowM0 = vec4<f32>(orderedFloat(atomicLoad(&rowMax[0])), orderedFloat(atomicLoad(&rowMax[1])), orderedFloat(atomicLoad(&rowMax[2])), orderedFloat(atomicLoad(&rowMax[3])));
  for (var j = t; j < n; j += T) {
    { let s = sc[j * NV + 0u]; sc[j * NV + 0u] = select(select(vec4<f32>(0.0), exp2(s - rowM0), s > vec4<f32>(MASKED)), vec4<f32>(params.nan), isNanV(s)); }
  }
  workgroupBarrier();

  var acc: array<vec4<f32>, 4>;
  var l: array<vec4<f32>, 1>;
  if (kg < KG) {
    if (kg + 0u < n) {
      let vv = unpackHalf4(vr[0]);
      let j = kg + 0u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 8u < n) {
      let vv = unpackHalf4(vr[1]);
      let j = kg + 8u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 16u < n) {
      let vv = unpackHalf4(vr[2]);
      let j = kg + 16u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 24u < n) {
      let vv = unpackHalf4(vr[3]);
      let j = kg + 24u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 32u < n) {
      let vv = unpackHalf4(vr[4]);
      let j = kg + 32u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 40u < n) {
      let vv = unpackHalf4(vr[5]);
      let j = kg + 40u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 48u < n) {
      let vv = unpackHalf4(vr[6]);
      let j = kg + 48u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 56u < n) {
      let vv = unpackHalf4(vr[7]);
      let j = kg + 56u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 64u < n) {
      let vv = unpackHalf4(vr[8]);
      let j = kg + 64u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 72u < n) {
      let vv = unpackHalf4(vr[9]);
      let j = kg + 72u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 80u < n) {
      let vv = unpackHalf4(vr[10]);
      let j = kg + 80u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 88u < n) {
      let vv = unpackHalf4(vr[11]);
      let j = kg + 88u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 96u < n) {
      let vv = unpackHalf4(vr[12]);
      let j = kg + 96u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 104u < n) {
      let vv = unpackHalf4(vr[13]);
      let j = kg + 104u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 112u < n) {
      let vv = unpackHalf4(vr[14]);
      let j = kg + 112u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 120u < n) {
      let vv = unpackHalf4(vr[15]);
      let j = kg + 120u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (!finite4(acc[0])) {
      acc = array<vec4<f32>, 4>();
      for (var i = 0u; i < 16u; i++) {
        let j = kg + i * KG;
        if (j < n) {
          let vv = unpackHalf4(v[b * params.vsb + hk * params.vsh + (lo + j) * params.vsn - params.vOff + c]);
          {
            let p = sc[j * NV + 0u];
            acc[0] += select(vec4<f32>(0.0), p.x * vv, p.x != 0.0);
            acc[1] += select(vec4<f32>(0.0), p.y * vv, p.y != 0.0);
            acc[2] += select(vec4<f32>(0.0), p.z * vv, p.z != 0.0);
            acc[3] += select(vec4<f32>(0.0), p.w * vv, p.w != 0.0);
          }
        }
      }
    }
    if (c == 0u) {
      sums[kg * R + 0u] = l[0].x;
      sums[kg * R + 1u] = l[0].y;
      sums[kg * R + 2u] = l[0].z;
      sums[kg * R + 3u] = l[0].w;
    }
  }

  // Rows 0…1.
  if (kg < KG) {
    meet[(kg * 2u + 0u) * D4 + c] = acc[0];
    meet[(kg * 2u + 1u) * D4 + c] = acc[1];
  }
  workgroupBarrier();
  if (t < 2u * D4) {
    let r = 0u + t / D4;
    let col = t % D4;
    var sum = vec4<f32>(0.0);
    var total = 0.0;
    for (var gi = 0u; gi < KG; gi++) {
      sum += meet[(gi * 2u + t / D4) * D4 + col];
      total += sums[gi * R + r];
    }
    let hr = hk * 4u + r / 1u;
    let i = r % 1u;
    let inv = select(0.0, 1.0 / total, total > 0.0 || isNan(total));
    o[part * params.oPart + b * params.qsb + hr * params.qsh + i * params.qsn + col - params.qOff] = sum * inv;
    if (col == 0u) {
      let at = part * params.statPart + 2u * ((b * params.headsQ + hr) * params.seqQ + i);
      lse[at] = orderedFloat(atomicLoad(&rowMax[r]));
      lse[at + 1u] = total;
    }
  }
  workgroupBarrier(); // before the next round reuses `meet`
  // Rows 2…3.
  if (kg < KG) {
    meet[(kg * 2u + 0u) * D4 + c] = acc[2];
    meet[(kg * 2u + 1u) * D4 + c] = acc[3];
  }
  workgroupBarrier();
  if (t < 2u * D4) {
    let r = 2u + t / D4;
    let col = t % D4;
    var sum = vec4<f32>(0.0);
    var total = 0.0;
    for (var gi = 0u; gi < KG; gi++) {
      sum += meet[(gi * 2u + t / D4) * D4 + col];
      total += sums[gi * R + r];
    }
    let hr = hk * 4u + r / 1u;
    let i = r % 1u;
    let inv = select(0.0, 1.0 / total, total > 0.0 || isNan(total));
    o[part * params.oPart + b * params.qsb + hr * params.qsh + i * params.qsn + col - params.qOff] = sum * inv;
    if (col == 0u) {
      let at = part * params.statPart + 2u * ((b * params.headsQ + hr) * params.seqQ + i);
      lse[at] = orderedFloat(atomicLoad(&rowMax[r]));
      lse[at + 1u] = total;
    }
  }
}
