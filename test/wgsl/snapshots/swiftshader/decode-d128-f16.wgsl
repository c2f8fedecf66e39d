
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
const L = 1u;
const G = 256u;
const C = 512u;
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
var<workgroup> sc: array<vec4<f32>, 512>; // key-major: key j's rows at sc[j * NV] …
var<workgroup> meet: array<vec4<f32>, 512>;
var<workgroup> sums: array<f32, 32>;
var<workgroup> rowMax: array<atomic<u32>, 4>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let part = wg.x;
  let hk = wg.y;
  let b = wg.z + params.batchBase;

  // This range's keys [lo, hi): fewer past the sequence's end.
  let lo = part * params.rangeKeys;
  var hi = min(lo + params.rangeKeys, params.seqK);
  let n = select(0u, hi - lo, hi > lo);

  let lane = t % L;
  let g = t / L;
  var kr: array<vec2<u32>, 64>;
  if (g + 0u * G < n) {
    let kb = b * params.ksb + hk * params.ksh + (lo + g + 0u * G) * params.ksn - params.kOff;
    { kr[0] = k[kb + lane + 0u]; }
    { kr[1] = k[kb + lane + 1u]; }
    { kr[2] = k[kb + lane + 2u]; }
    { kr[3] = k[kb + lane + 3u]; }
    { kr[4] = k[kb + lane + 4u]; }
    { kr[5] = k[kb + lane + 5u]; }
    { kr[6] = k[kb + lane + 6u]; }
    { kr[7] = k[kb + lane + 7u]; }
    { kr[8] = k[kb + lane + 8u]; }
    { kr[9] = k[kb + lane + 9u]; }
    { kr[10] = k[kb + lane + 10u]; }
    { kr[11] = k[kb + lane + 11u]; }
    { kr[12] = k[kb + lane + 12u]; }
    { kr[13] = k[kb + lane + 13u]; }
    { kr[14] = k[kb + lane + 14u]; }
    { kr[15] = k[kb + lane + 15u]; }
    { kr[16] = k[kb + lane + 16u]; }
    { kr[17] = k[kb + lane + 17u]; }
    { kr[18] = k[kb + lane + 18u]; }
    { kr[19] = k[kb + lane + 19u]; }
    { kr[20] = k[kb + lane + 20u]; }
    { kr[21] = k[kb + lane + 21u]; }
    { kr[22] = k[kb + lane + 22u]; }
    { kr[23] = k[kb + lane + 23u]; }
    { kr[24] = k[kb + lane + 24u]; }
    { kr[25] = k[kb + lane + 25u]; }
    { kr[26] = k[kb + lane + 26u]; }
    { kr[27] = k[kb + lane + 27u]; }
    { kr[28] = k[kb + lane + 28u]; }
    { kr[29] = k[kb + lane + 29u]; }
    { kr[30] = k[kb + lane + 30u]; }
    { kr[31] = k[kb + lane + 31u]; }
  }
  if (g + 1u * G < n) {
    let kb = b * params.ksb + hk * params.ksh + (lo + g + 1u * G) * params.ksn - params.kOff;
    { kr[32] = k[kb + lane + 0u]; }
    { kr[33] = k[kb + lane + 1u]; }
    { kr[34] = k[kb + lane + 2u]; }
    { kr[35] = k[kb + lane + 3u]; }
    { kr[36] = k[kb + lane + 4u]; }
    { kr[37] = k[kb + lane + 5u]; }
    { kr[38] = k[kb + lane + 6u]; }
    { kr[39] = k[kb + lane + 7u]; }
    { kr[40] = k[kb + lane + 8u]; }
    { kr[41] = k[kb + lane + 9u]; }
    { kr[42] = k[kb + lane + 10u]; }
    { kr[43] = k[kb + lane + 11u]; }
    { kr[44] = k[kb + lane + 12u]; }
    { kr[45] = k[kb + lane + 13u]; }
    { kr[46] = k[kb + lane + 14u]; }
    { kr[47] = k[kb + lane + 15u]; }
    { kr[48] = k[kb + lane + 16u]; }
    { kr[49] = k[kb + lane + 17u]; }
    { kr[50] = k[kb + lane + 18u]; }
    { kr[51] = k[kb + lane + 19u]; }
    { kr[52] = k[kb + lane + 20u]; }
    { kr[53] = k[kb + lane + 21u]; }
    { kr[54] = k[kb + lane + 22u]; }
    { kr[55] = k[kb + lane + 23u]; }
    { kr[56] = k[kb + lane + 24u]; }
    { kr[57] = k[kb + lane + 25u]; }
    { kr[58] = k[kb + lane + 26u]; }
    { kr[59] = k[kb + lane + 27u]; }
    { kr[60] = k[kb + lane + 28u]; }
    { kr[61] = k[kb + lane + 29u]; }
    { kr[62] = k[kb + lane + 30u]; }
    { kr[63] = k[kb + lane + 31u]; }
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
      let kv1 = unpackHalf4(kr[32]);
      { let qv = qs[0u + lane + 0u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 0u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 0u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 0u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[1]);
      let kv1 = unpackHalf4(kr[33]);
      { let qv = qs[0u + lane + 1u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 1u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 1u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 1u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[2]);
      let kv1 = unpackHalf4(kr[34]);
      { let qv = qs[0u + lane + 2u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 2u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 2u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 2u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[3]);
      let kv1 = unpackHalf4(kr[35]);
      { let qv = qs[0u + lane + 3u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 3u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 3u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 3u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[4]);
      let kv1 = unpackHalf4(kr[36]);
      { let qv = qs[0u + lane + 4u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 4u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 4u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 4u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[5]);
      let kv1 = unpackHalf4(kr[37]);
      { let qv = qs[0u + lane + 5u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 5u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 5u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 5u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[6]);
      let kv1 = unpackHalf4(kr[38]);
      { let qv = qs[0u + lane + 6u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 6u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 6u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 6u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[7]);
      let kv1 = unpackHalf4(kr[39]);
      { let qv = qs[0u + lane + 7u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 7u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 7u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 7u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[8]);
      let kv1 = unpackHalf4(kr[40]);
      { let qv = qs[0u + lane + 8u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 8u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 8u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 8u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[9]);
      let kv1 = unpackHalf4(kr[41]);
      { let qv = qs[0u + lane + 9u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 9u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 9u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 9u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[10]);
      let kv1 = unpackHalf4(kr[42]);
      { let qv = qs[0u + lane + 10u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 10u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 10u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 10u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[11]);
      let kv1 = unpackHalf4(kr[43]);
      { let qv = qs[0u + lane + 11u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 11u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 11u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 11u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[12]);
      let kv1 = unpackHalf4(kr[44]);
      { let qv = qs[0u + lane + 12u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 12u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 12u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 12u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[13]);
      let kv1 = unpackHalf4(kr[45]);
      { let qv = qs[0u + lane + 13u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 13u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 13u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 13u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[14]);
      let kv1 = unpackHalf4(kr[46]);
      { let qv = qs[0u + lane + 14u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 14u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 14u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 14u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[15]);
      let kv1 = unpackHalf4(kr[47]);
      { let qv = qs[0u + lane + 15u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 15u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 15u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 15u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[16]);
      let kv1 = unpackHalf4(kr[48]);
      { let qv = qs[0u + lane + 16u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 16u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 16u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 16u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[17]);
      let kv1 = unpackHalf4(kr[49]);
      { let qv = qs[0u + lane + 17u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 17u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 17u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 17u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[18]);
      let kv1 = unpackHalf4(kr[50]);
      { let qv = qs[0u + lane + 18u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 18u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 18u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 18u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[19]);
      let kv1 = unpackHalf4(kr[51]);
      { let qv = qs[0u + lane + 19u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 19u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 19u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 19u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[20]);
      let kv1 = unpackHalf4(kr[52]);
      { let qv = qs[0u + lane + 20u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 20u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 20u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 20u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[21]);
      let kv1 = unpackHalf4(kr[53]);
      { let qv = qs[0u + lane + 21u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 21u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 21u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 21u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[22]);
      let kv1 = unpackHalf4(kr[54]);
      { let qv = qs[0u + lane + 22u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 22u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 22u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 22u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[23]);
      let kv1 = unpackHalf4(kr[55]);
      { let qv = qs[0u + lane + 23u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 23u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 23u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 23u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[24]);
      let kv1 = unpackHalf4(kr[56]);
      { let qv = qs[0u + lane + 24u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 24u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 24u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 24u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[25]);
      let kv1 = unpackHalf4(kr[57]);
      { let qv = qs[0u + lane + 25u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 25u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 25u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 25u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[26]);
      let kv1 = unpackHalf4(kr[58]);
      { let qv = qs[0u + lane + 26u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 26u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 26u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 26u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[27]);
      let kv1 = unpackHalf4(kr[59]);
      { let qv = qs[0u + lane + 27u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 27u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 27u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 27u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[28]);
      let kv1 = unpackHalf4(kr[60]);
      { let qv = qs[0u + lane + 28u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 28u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 28u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 28u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[29]);
      let kv1 = unpackHalf4(kr[61]);
      { let qv = qs[0u + lane + 29u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 29u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 29u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 29u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[30]);
      let kv1 = unpackHalf4(kr[62]);
      { let qv = qs[0u + lane + 30u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 30u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 30u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 30u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      let kv0 = unpackHalf4(kr[31]);
      let kv1 = unpackHalf4(kr[63]);
      { let qv = qs[0u + lane + 31u]; d[0] += dot(qv, kv0); d[4] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 31u]; d[1] += dot(qv, kv0); d[5] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 31u]; d[2] += dot(qv, kv0); d[6] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 31u]; d[3] += dot(qv, kv0); d[7] += dot(qv, kv1); }
    }
    {
      var s0 = d[0];
      var s1 = d[1];
      var s2 = d[2];
      var s3 = d[3];
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
      var s0 = d[4];
      var s1 = d[5];
      var s2 = d[6];
      var s3 = d[7];
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

  if (lane == 0u && n > 0u) {
    atomicMax(&rowMax[0], orderedBits(mx[0]));
    atomicMax(&rowMax[1], orderedBits(mx[1]));
    atomicMax(&rowMax[2], orderedBits(mx[2]));
    atomicMax(&rowMax[3], orderedBits(mx[3]));
  }

  let kg = t / D4;
  let c = t % D4;
  var vr: array<vec2<u32>, 64>;
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
    if (kg + 128u < n) { vr[16] = v[b * params.vsb + hk * params.vsh + (lo + kg + 128u) * params.vsn - params.vOff + c]; }
    if (kg + 136u < n) { vr[17] = v[b * params.vsb + hk * params.vsh + (lo + kg + 136u) * params.vsn - params.vOff + c]; }
    if (kg + 144u < n) { vr[18] = v[b * params.vsb + hk * params.vsh + (lo + kg + 144u) * params.vsn - params.vOff + c]; }
    if (kg + 152u < n) { vr[19] = v[b * params.vsb + hk * params.vsh + (lo + kg + 152u) * params.vsn - params.vOff + c]; }
    if (kg + 160u < n) { vr[20] = v[b * params.vsb + hk * params.vsh + (lo + kg + 160u) * params.vsn - params.vOff + c]; }
    if (kg + 168u < n) { vr[21] = v[b * params.vsb + hk * params.vsh + (lo + kg + 168u) * params.vsn - params.vOff + c]; }
    if (kg + 176u < n) { vr[22] = v[b * params.vsb + hk * params.vsh + (lo + kg + 176u) * params.vsn - params.vOff + c]; }
    if (kg + 184u < n) { vr[23] = v[b * params.vsb + hk * params.vsh + (lo + kg + 184u) * params.vsn - params.vOff + c]; }
    if (kg + 192u < n) { vr[24] = v[b * params.vsb + hk * params.vsh + (lo + kg + 192u) * params.vsn - params.vOff + c]; }
    if (kg + 200u < n) { vr[25] = v[b * params.vsb + hk * params.vsh + (lo + kg + 200u) * params.vsn - params.vOff + c]; }
    if (kg + 208u < n) { vr[26] = v[b * params.vsb + hk * params.vsh + (lo + kg + 208u) * params.vsn - params.vOff + c]; }
    if (kg + 216u < n) { vr[27] = v[b * params.vsb + hk * params.vsh + (lo + kg + 216u) * params.vsn - params.vOff + c]; }
    if (kg + 224u < n) { vr[28] = v[b * params.vsb + hk * params.vsh + (lo + kg + 224u) * params.vsn - params.vOff + c]; }
    if (kg + 232u < n) { vr[29] = v[b * params.vsb + hk * params.vsh + (lo + kg + 232u) * params.vsn - params.vOff + c]; }
    if (kg + 240u < n) { vr[30] = v[b * params.vsb + hk * params.vsh + (lo + kg + 240u) * params.vsn - params.vOff + c]; }
    if (kg + 248u < n) { vr[31] = v[b * params.vsb + hk * params.vsh + (lo + kg + 248u) * params.vsn - params.vOff + c]; }
    if (kg + 256u < n) { vr[32] = v[b * params.vsb + hk * params.vsh + (lo + kg + 256u) * params.vsn - params.vOff + c]; }
    if (kg + 264u < n) { vr[33] = v[b * params.vsb + hk * params.vsh + (lo + kg + 264u) * params.vsn - params.vOff + c]; }
    if (kg + 272u < n) { vr[34] = v[b * params.vsb + hk * params.vsh + (lo + kg + 272u) * params.vsn - params.vOff + c]; }
    if (kg + 280u < n) { vr[35] = v[b * params.vsb + hk * params.vsh + (lo + kg + 280u) * params.vsn - params.vOff + c]; }
    if (kg + 288u < n) { vr[36] = v[b * params.vsb + hk * params.vsh + (lo + kg + 288u) * params.vsn - params.vOff + c]; }
    if (kg + 296u < n) { vr[37] = v[b * params.vsb + hk * params.vsh + (lo + kg + 296u) * params.vsn - params.vOff + c]; }
    if (kg + 304u < n) { vr[38] = v[b * params.vsb + hk * params.vsh + (lo + kg + 304u) * params.vsn - params.vOff + c]; }
    if (kg + 312u < n) { vr[39] = v[b * params.vsb + hk * params.vsh + (lo + kg + 312u) * params.vsn - params.vOff + c]; }
    if (kg + 320u < n) { vr[40] = v[b * params.vsb + hk * params.vsh + (lo + kg + 320u) * params.vsn - params.vOff + c]; }
    if (kg + 328u < n) { vr[41] = v[b * params.vsb + hk * params.vsh + (lo + kg + 328u) * params.vsn - params.vOff + c]; }
    if (kg + 336u < n) { vr[42] = v[b * params.vsb + hk * params.vsh + (lo + kg + 336u) * params.vsn - params.vOff + c]; }
    if (kg + 344u < n) { vr[43] = v[b * params.vsb + hk * params.vsh + (lo + kg + 344u) * params.vsn - params.vOff + c]; }
    if (kg + 352u < n) { vr[44] = v[b * params.vsb + hk * params.vsh + (lo + kg + 352u) * params.vsn - params.vOff + c]; }
    if (kg + 360u < n) { vr[45] = v[b * params.vsb + hk * params.vsh + (lo + kg + 360u) * params.vsn - params.vOff + c]; }
    if (kg + 368u < n) { vr[46] = v[b * params.vsb + hk * params.vsh + (lo + kg + 368u) * params.vsn - params.vOff + c]; }
    if (kg + 376u < n) { vr[47] = v[b * params.vsb + hk * params.vsh + (lo + kg + 376u) * params.vsn - params.vOff + c]; }
    if (kg + 384u < n) { vr[48] = v[b * params.vsb + hk * params.vsh + (lo + kg + 384u) * params.vsn - params.vOff + c]; }
    if (kg + 392u < n) { vr[49] = v[b * params.vsb + hk * params.vsh + (lo + kg + 392u) * params.vsn - params.vOff + c]; }
    if (kg + 400u < n) { vr[50] = v[b * params.vsb + hk * params.vsh + (lo + kg + 400u) * params.vsn - params.vOff + c]; }
    if (kg + 408u < n) { vr[51] = v[b * params.vsb + hk * params.vsh + (lo + kg + 408u) * params.vsn - params.vOff + c]; }
    if (kg + 416u < n) { vr[52] = v[b * params.vsb + hk * params.vsh + (lo + kg + 416u) * params.vsn - params.vOff + c]; }
    if (kg + 424u < n) { vr[53] = v[b * params.vsb + hk * params.vsh + (lo + kg + 424u) * params.vsn - params.vOff + c]; }
    if (kg + 432u < n) { vr[54] = v[b * params.vsb + hk * params.vsh + (lo + kg + 432u) * params.vsn - params.vOff + c]; }
    if (kg + 440u < n) { vr[55] = v[b * params.vsb + hk * params.vsh + (lo + kg + 440u) * params.vsn - params.vOff + c]; }
    if (kg + 448u < n) { vr[56] = v[b * params.vsb + hk * params.vsh + (lo + kg + 448u) * params.vsn - params.vOff + c]; }
    if (kg + 456u < n) { vr[57] = v[b * params.vsb + hk * params.vsh + (lo + kg + 456u) * params.vsn - params.vOff + c]; }
    if (kg + 464u < n) { vr[58] = v[b * params.vsb + hk * params.vsh + (lo + kg + 464u) * params.vsn - params.vOff + c]; }
    if (kg + 472u < n) { vr[59] = v[b * params.vsb + hk * params.vsh + (lo + kg + 472u) * params.vsn - params.vOff + c]; }
    if (kg + 480u < n) { vr[60] = v[b * params.vsb + hk * params.vsh + (lo + kg + 480u) * params.vsn - params.vOff + c]; }
    if (kg + 488u < n) { vr[61] = v[b * params.vsb + hk * params.vsh + (lo + kg + 488u) * params.vsn - params.vOff + c]; }
    if (kg + 496u < n) { vr[62] = v[b * params.vsb + hk * params.vsh + (lo + kg + 496u) * params.vsn - params.vOff + c]; }
    if (kg + 504u < n) { vr[63] = v[b * params.vsb + hk * params.vsh + (lo + kg + 504u) * params.vsn - params.vOff + c]; }
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
    if (kg + 128u < n) {
      let vv = unpackHalf4(vr[16]);
      let j = kg + 128u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 136u < n) {
      let vv = unpackHalf4(vr[17]);
      let j = kg + 136u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 144u < n) {
      let vv = unpackHalf4(vr[18]);
      let j = kg + 144u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 152u < n) {
      let vv = unpackHalf4(vr[19]);
      let j = kg + 152u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 160u < n) {
      let vv = unpackHalf4(vr[20]);
      let j = kg + 160u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 168u < n) {
      let vv = unpackHalf4(vr[21]);
      let j = kg + 168u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 176u < n) {
      let vv = unpackHalf4(vr[22]);
      let j = kg + 176u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 184u < n) {
      let vv = unpackHalf4(vr[23]);
      let j = kg + 184u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 192u < n) {
      let vv = unpackHalf4(vr[24]);
      let j = kg + 192u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 200u < n) {
      let vv = unpackHalf4(vr[25]);
      let j = kg + 200u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 208u < n) {
      let vv = unpackHalf4(vr[26]);
      let j = kg + 208u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 216u < n) {
      let vv = unpackHalf4(vr[27]);
      let j = kg + 216u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 224u < n) {
      let vv = unpackHalf4(vr[28]);
      let j = kg + 224u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 232u < n) {
      let vv = unpackHalf4(vr[29]);
      let j = kg + 232u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 240u < n) {
      let vv = unpackHalf4(vr[30]);
      let j = kg + 240u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 248u < n) {
      let vv = unpackHalf4(vr[31]);
      let j = kg + 248u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 256u < n) {
      let vv = unpackHalf4(vr[32]);
      let j = kg + 256u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 264u < n) {
      let vv = unpackHalf4(vr[33]);
      let j = kg + 264u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 272u < n) {
      let vv = unpackHalf4(vr[34]);
      let j = kg + 272u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 280u < n) {
      let vv = unpackHalf4(vr[35]);
      let j = kg + 280u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 288u < n) {
      let vv = unpackHalf4(vr[36]);
      let j = kg + 288u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 296u < n) {
      let vv = unpackHalf4(vr[37]);
      let j = kg + 296u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 304u < n) {
      let vv = unpackHalf4(vr[38]);
      let j = kg + 304u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 312u < n) {
      let vv = unpackHalf4(vr[39]);
      let j = kg + 312u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 320u < n) {
      let vv = unpackHalf4(vr[40]);
      let j = kg + 320u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 328u < n) {
      let vv = unpackHalf4(vr[41]);
      let j = kg + 328u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 336u < n) {
      let vv = unpackHalf4(vr[42]);
      let j = kg + 336u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 344u < n) {
      let vv = unpackHalf4(vr[43]);
      let j = kg + 344u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 352u < n) {
      let vv = unpackHalf4(vr[44]);
      let j = kg + 352u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 360u < n) {
      let vv = unpackHalf4(vr[45]);
      let j = kg + 360u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 368u < n) {
      let vv = unpackHalf4(vr[46]);
      let j = kg + 368u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 376u < n) {
      let vv = unpackHalf4(vr[47]);
      let j = kg + 376u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 384u < n) {
      let vv = unpackHalf4(vr[48]);
      let j = kg + 384u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 392u < n) {
      let vv = unpackHalf4(vr[49]);
      let j = kg + 392u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 400u < n) {
      let vv = unpackHalf4(vr[50]);
      let j = kg + 400u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 408u < n) {
      let vv = unpackHalf4(vr[51]);
      let j = kg + 408u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 416u < n) {
      let vv = unpackHalf4(vr[52]);
      let j = kg + 416u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 424u < n) {
      let vv = unpackHalf4(vr[53]);
      let j = kg + 424u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 432u < n) {
      let vv = unpackHalf4(vr[54]);
      let j = kg + 432u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 440u < n) {
      let vv = unpackHalf4(vr[55]);
      let j = kg + 440u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 448u < n) {
      let vv = unpackHalf4(vr[56]);
      let j = kg + 448u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 456u < n) {
      let vv = unpackHalf4(vr[57]);
      let j = kg + 456u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 464u < n) {
      let vv = unpackHalf4(vr[58]);
      let j = kg + 464u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 472u < n) {
      let vv = unpackHalf4(vr[59]);
      let j = kg + 472u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 480u < n) {
      let vv = unpackHalf4(vr[60]);
      let j = kg + 480u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 488u < n) {
      let vv = unpackHalf4(vr[61]);
      let j = kg + 488u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 496u < n) {
      let vv = unpackHalf4(vr[62]);
      let j = kg + 496u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
    }
    if (kg + 504u < n) {
      let vv = unpackHalf4(vr[63]);
      let j = kg + 504u;
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
      for (var i = 0u; i < 64u; i++) {
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
