
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
const T = 128u;
const L = 1u;
const G = 128u;
const C = 256u;
const KG = 4u;
const AHEAD = 1u;
const MASKED = -3.0e38;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> k: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> v: array<vec2<u32>>;
@group(0) @binding(4) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
fn unpackHalf4(x: vec2<u32>) -> vec4<f32> { return vec4<f32>(unpack2x16float(x.x), unpack2x16float(x.y)); }
fn packHalf4(v: vec4<f32>) -> vec2<u32> { return vec2<u32>(pack2x16float(v.xy), pack2x16float(v.zw)); }
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }


// Floats ordered as u32, so a workgroup atomicMax finds each row's max.
fn orderedBits(x: f32) -> u32 {
  let u = bitcast<u32>(x);
  return select(u | 0x80000000u, ~u, (u & 0x80000000u) != 0u);
}
fn orderedFloat(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}

var<workgroup> qs: array<vec4<f32>, 128>;
var<workgroup> sc: array<f32, 1024>;
var<workgroup> meet: array<vec4<f32>, 96>;
var<workgroup> sums: array<f32, 16>;
var<workgroup> rowMax: array<atomic<u32>, 4>;

@compute @workgroup_size(128, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let part = wg.x;
  let hk = wg.y;
  let b = wg.z + params.batchBase;

  // This range's keys [lo, hi): fewer past the sequence's end.
  let lo = part * params.rangeKeys;
  var hi = min(lo + params.rangeKeys, params.seqK);
  let n = select(0u, hi - lo, hi > lo);

  // Q rows (every head of the group) to workgroup memory, scaled into the log2 frame.
  for (var e = t; e < R * D4; e += T) {
    let r = e / D4;
    let hr = hk * 4u + r / 1u;
    qs[e] = unpackHalf4(q[b * params.qsb + hr * params.qsh + (r % 1u) * params.qsn + e % D4 - params.qOff]) * params.qkScale;
  }
  if (t < R) { atomicStore(&rowMax[t], orderedBits(MASKED)); }
  workgroupBarrier();

  let lane = t % L;
  let g = t / L;
  var mx: array<f32, 4>;
  mx[0] = MASKED;
  mx[1] = MASKED;
  mx[2] = MASKED;
  mx[3] = MASKED;
  for (var k0 = 0u; k0 < n; k0 += G * AHEAD) {
    var kr: array<vec2<u32>, 32>;
    if (k0 + g + 0u * G < n) {
      let kb = b * params.ksb + hk * params.ksh + (lo + k0 + g + 0u * G) * params.ksn - params.kOff;
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
    {
      var d: array<f32, 4>;
      d[0] = 0.0;
      d[1] = 0.0;
      d[2] = 0.0;
      d[3] = 0.0;
      {
        let kv = unpackHalf4(kr[0]);
        d[0] += dot(qs[0u + lane + 0u], kv);
        d[1] += dot(qs[32u + lane + 0u], kv);
        d[2] += dot(qs[64u + lane + 0u], kv);
        d[3] += dot(qs[96u + lane + 0u], kv);
      }
      {
        let kv = unpackHalf4(kr[1]);
        d[0] += dot(qs[0u + lane + 1u], kv);
        d[1] += dot(qs[32u + lane + 1u], kv);
        d[2] += dot(qs[64u + lane + 1u], kv);
        d[3] += dot(qs[96u + lane + 1u], kv);
      }
      {
        let kv = unpackHalf4(kr[2]);
        d[0] += dot(qs[0u + lane + 2u], kv);
        d[1] += dot(qs[32u + lane + 2u], kv);
        d[2] += dot(qs[64u + lane + 2u], kv);
        d[3] += dot(qs[96u + lane + 2u], kv);
      }
      {
        let kv = unpackHalf4(kr[3]);
        d[0] += dot(qs[0u + lane + 3u], kv);
        d[1] += dot(qs[32u + lane + 3u], kv);
        d[2] += dot(qs[64u + lane + 3u], kv);
        d[3] += dot(qs[96u + lane + 3u], kv);
      }
      {
        let kv = unpackHalf4(kr[4]);
        d[0] += dot(qs[0u + lane + 4u], kv);
        d[1] += dot(qs[32u + lane + 4u], kv);
        d[2] += dot(qs[64u + lane + 4u], kv);
        d[3] += dot(qs[96u + lane + 4u], kv);
      }
      {
        let kv = unpackHalf4(kr[5]);
        d[0] += dot(qs[0u + lane + 5u], kv);
        d[1] += dot(qs[32u + lane + 5u], kv);
        d[2] += dot(qs[64u + lane + 5u], kv);
        d[3] += dot(qs[96u + lane + 5u], kv);
      }
      {
        let kv = unpackHalf4(kr[6]);
        d[0] += dot(qs[0u + lane + 6u], kv);
        d[1] += dot(qs[32u + lane + 6u], kv);
        d[2] += dot(qs[64u + lane + 6u], kv);
        d[3] += dot(qs[96u + lane + 6u], kv);
      }
      {
        let kv = unpackHalf4(kr[7]);
        d[0] += dot(qs[0u + lane + 7u], kv);
        d[1] += dot(qs[32u + lane + 7u], kv);
        d[2] += dot(qs[64u + lane + 7u], kv);
        d[3] += dot(qs[96u + lane + 7u], kv);
      }
      {
        let kv = unpackHalf4(kr[8]);
        d[0] += dot(qs[0u + lane + 8u], kv);
        d[1] += dot(qs[32u + lane + 8u], kv);
        d[2] += dot(qs[64u + lane + 8u], kv);
        d[3] += dot(qs[96u + lane + 8u], kv);
      }
      {
        let kv = unpackHalf4(kr[9]);
        d[0] += dot(qs[0u + lane + 9u], kv);
        d[1] += dot(qs[32u + lane + 9u], kv);
        d[2] += dot(qs[64u + lane + 9u], kv);
        d[3] += dot(qs[96u + lane + 9u], kv);
      }
      {
        let kv = unpackHalf4(kr[10]);
        d[0] += dot(qs[0u + lane + 10u], kv);
        d[1] += dot(qs[32u + lane + 10u], kv);
        d[2] += dot(qs[64u + lane + 10u], kv);
        d[3] += dot(qs[96u + lane + 10u], kv);
      }
      {
        let kv = unpackHalf4(kr[11]);
        d[0] += dot(qs[0u + lane + 11u], kv);
        d[1] += dot(qs[32u + lane + 11u], kv);
        d[2] += dot(qs[64u + lane + 11u], kv);
        d[3] += dot(qs[96u + lane + 11u], kv);
      }
      {
        let kv = unpackHalf4(kr[12]);
        d[0] += dot(qs[0u + lane + 12u], kv);
        d[1] += dot(qs[32u + lane + 12u], kv);
        d[2] += dot(qs[64u + lane + 12u], kv);
        d[3] += dot(qs[96u + lane + 12u], kv);
      }
      {
        let kv = unpackHalf4(kr[13]);
        d[0] += dot(qs[0u + lane + 13u], kv);
        d[1] += dot(qs[32u + lane + 13u], kv);
        d[2] += dot(qs[64u + lane + 13u], kv);
        d[3] += dot(qs[96u + lane + 13u], kv);
      }
      {
        let kv = unpackHalf4(kr[14]);
        d[0] += dot(qs[0u + lane + 14u], kv);
        d[1] += dot(qs[32u + lane + 14u], kv);
        d[2] += dot(qs[64u + lane + 14u], kv);
        d[3] += dot(qs[96u + lane + 14u], kv);
      }
      {
        let kv = unpackHalf4(kr[15]);
        d[0] += dot(qs[0u + lane + 15u], kv);
        d[1] += dot(qs[32u + lane + 15u], kv);
        d[2] += dot(qs[64u + lane + 15u], kv);
        d[3] += dot(qs[96u + lane + 15u], kv);
      }
      {
        let kv = unpackHalf4(kr[16]);
        d[0] += dot(qs[0u + lane + 16u], kv);
        d[1] += dot(qs[32u + lane + 16u], kv);
        d[2] += dot(qs[64u + lane + 16u], kv);
        d[3] += dot(qs[96u + lane + 16u], kv);
      }
      {
        let kv = unpackHalf4(kr[17]);
        d[0] += dot(qs[0u + lane + 17u], kv);
        d[1] += dot(qs[32u + lane + 17u], kv);
        d[2] += dot(qs[64u + lane + 17u], kv);
        d[3] += dot(qs[96u + lane + 17u], kv);
      }
      {
        let kv = unpackHalf4(kr[18]);
        d[0] += dot(qs[0u + lane + 18u], kv);
        d[1] += dot(qs[32u + lane + 18u], kv);
        d[2] += dot(qs[64u + lane + 18u], kv);
        d[3] += dot(qs[96u + lane + 18u], kv);
      }
      {
        let kv = unpackHalf4(kr[19]);
        d[0] += dot(qs[0u + lane + 19u], kv);
        d[1] += dot(qs[32u + lane + 19u], kv);
        d[2] += dot(qs[64u + lane + 19u], kv);
        d[3] += dot(qs[96u + lane + 19u], kv);
      }
      {
        let kv = unpackHalf4(kr[20]);
        d[0] += dot(qs[0u + lane + 20u], kv);
        d[1] += dot(qs[32u + lane + 20u], kv);
        d[2] += dot(qs[64u + lane + 20u], kv);
        d[3] += dot(qs[96u + lane + 20u], kv);
      }
      {
        let kv = unpackHalf4(kr[21]);
        d[0] += dot(qs[0u + lane + 21u], kv);
        d[1] += dot(qs[32u + lane + 21u], kv);
        d[2] += dot(qs[64u + lane + 21u], kv);
        d[3] += dot(qs[96u + lane + 21u], kv);
      }
      {
        let kv = unpackHalf4(kr[22]);
        d[0] += dot(qs[0u + lane + 22u], kv);
        d[1] += dot(qs[32u + lane + 22u], kv);
        d[2] += dot(qs[64u + lane + 22u], kv);
        d[3] += dot(qs[96u + lane + 22u], kv);
      }
      {
        let kv = unpackHalf4(kr[23]);
        d[0] += dot(qs[0u + lane + 23u], kv);
        d[1] += dot(qs[32u + lane + 23u], kv);
        d[2] += dot(qs[64u + lane + 23u], kv);
        d[3] += dot(qs[96u + lane + 23u], kv);
      }
      {
        let kv = unpackHalf4(kr[24]);
        d[0] += dot(qs[0u + lane + 24u], kv);
        d[1] += dot(qs[32u + lane + 24u], kv);
        d[2] += dot(qs[64u + lane + 24u], kv);
        d[3] += dot(qs[96u + lane + 24u], kv);
      }
      {
        let kv = unpackHalf4(kr[25]);
        d[0] += dot(qs[0u + lane + 25u], kv);
        d[1] += dot(qs[32u + lane + 25u], kv);
        d[2] += dot(qs[64u + lane + 25u], kv);
        d[3] += dot(qs[96u + lane + 25u], kv);
      }
      {
        let kv = unpackHalf4(kr[26]);
        d[0] += dot(qs[0u + lane + 26u], kv);
        d[1] += dot(qs[32u + lane + 26u], kv);
        d[2] += dot(qs[64u + lane + 26u], kv);
        d[3] += dot(qs[96u + lane + 26u], kv);
      }
      {
        let kv = unpackHalf4(kr[27]);
        d[0] += dot(qs[0u + lane + 27u], kv);
        d[1] += dot(qs[32u + lane + 27u], kv);
        d[2] += dot(qs[64u + lane + 27u], kv);
        d[3] += dot(qs[96u + lane + 27u], kv);
      }
      {
        let kv = unpackHalf4(kr[28]);
        d[0] += dot(qs[0u + lane + 28u], kv);
        d[1] += dot(qs[32u + lane + 28u], kv);
        d[2] += dot(qs[64u + lane + 28u], kv);
        d[3] += dot(qs[96u + lane + 28u], kv);
      }
      {
        let kv = unpackHalf4(kr[29]);
        d[0] += dot(qs[0u + lane + 29u], kv);
        d[1] += dot(qs[32u + lane + 29u], kv);
        d[2] += dot(qs[64u + lane + 29u], kv);
        d[3] += dot(qs[96u + lane + 29u], kv);
      }
      {
        let kv = unpackHalf4(kr[30]);
        d[0] += dot(qs[0u + lane + 30u], kv);
        d[1] += dot(qs[32u + lane + 30u], kv);
        d[2] += dot(qs[64u + lane + 30u], kv);
        d[3] += dot(qs[96u + lane + 30u], kv);
      }
      {
        let kv = unpackHalf4(kr[31]);
        d[0] += dot(qs[0u + lane + 31u], kv);
        d[1] += dot(qs[32u + lane + 31u], kv);
        d[2] += dot(qs[64u + lane + 31u], kv);
        d[3] += dot(qs[96u + lane + 31u], kv);
      }
      var s0 = d[0];
      var s1 = d[1];
      var s2 = d[2];
      var s3 = d[3];
      let j = k0 + g + 0u * G;
      if (j < n) {
        let m0 = s0;
        mx[0] = max(mx[0], m0);
        if (lane == 0u) { sc[0u * C + j] = m0; }
        let m1 = s1;
        mx[1] = max(mx[1], m1);
        if (lane == 0u) { sc[1u * C + j] = m1; }
        let m2 = s2;
        mx[2] = max(mx[2], m2);
        if (lane == 0u) { sc[2u * C + j] = m2; }
        let m3 = s3;
        mx[3] = max(mx[3], m3);
        if (lane == 0u) { sc[3u * C + j] = m3; }
      }
    }
  }
  if (lane == 0u && n > 0u) {
    atomicMax(&rowMax[0], orderedBits(mx[0]));
    atomicMax(&rowMax[1], orderedBits(mx[1]));
    atomicMax(&rowMax[2], orderedBits(mx[2]));
    atomicMax(&rowMax[3], orderedBits(mx[3]));
  }
  workgroupBarrier();

  // P = exp2(S − row max) in place; masked keys 0, a NaN score stays NaN.
  let rowM0 = orderedFloat(atomicLoad(&rowMax[0]));
  let rowM1 = orderedFloat(atomicLoad(&rowMax[1]));
  let rowM2 = orderedFloat(atomicLoad(&rowMax[2]));
  let rowM3 = orderedFloat(atomicLoad(&rowMax[3]));
  for (var j = t; j < n; j += T) {
    let s = sc[0u * C + j];
    sc[0u * C + j] = select(select(0.0, exp2(s - rowM0), s > MASKED), params.nan, isNan(s));
  }
  for (var j = t; j < n; j += T) {
    let s = sc[1u * C + j];
    sc[1u * C + j] = select(select(0.0, exp2(s - rowM1), s > MASKED), params.nan, isNan(s));
  }
  for (var j = t; j < n; j += T) {
    let s = sc[2u * C + j];
    sc[2u * C + j] = select(select(0.0, exp2(s - rowM2), s > MASKED), params.nan, isNan(s));
  }
  for (var j = t; j < n; j += T) {
    let s = sc[3u * C + j];
    sc[3u * C + j] = select(select(0.0, exp2(s - rowM3), s > MASKED), params.nan, isNan(s));
  }
  workgroupBarrier();
  let kg = t / D4;
  let c = t % D4;
  var acc: array<vec4<f32>, 4>;
  var l: array<f32, 4>;
  if (kg < KG) {
    for (var j0 = kg; j0 < n; j0 += KG * AHEAD) {
      var vr: array<vec2<u32>, 1>;
      if (j0 + 0u < n) { vr[0] = v[b * params.vsb + hk * params.vsh + (lo + j0 + 0u) * params.vsn - params.vOff + c]; }
      if (j0 + 0u < n) {
        let vv = unpackHalf4(vr[0]);
        { let p = sc[0u * C + j0 + 0u]; acc[0] += select(vec4<f32>(0.0), p * vv, p != 0.0); l[0] += p; }
        { let p = sc[1u * C + j0 + 0u]; acc[1] += select(vec4<f32>(0.0), p * vv, p != 0.0); l[1] += p; }
        { let p = sc[2u * C + j0 + 0u]; acc[2] += select(vec4<f32>(0.0), p * vv, p != 0.0); l[2] += p; }
        { let p = sc[3u * C + j0 + 0u]; acc[3] += select(vec4<f32>(0.0), p * vv, p != 0.0); l[3] += p; }
      }
    }
    if (c == 0u) {
      sums[kg * R + 0u] = l[0];
      sums[kg * R + 1u] = l[1];
      sums[kg * R + 2u] = l[2];
      sums[kg * R + 3u] = l[3];
    }
  }
  // Rows 0…0: the key groups' sums meet at group 0.
  if (kg > 0u && kg < KG) {
    meet[((kg - 1u) * 1u + 0u) * D4 + c] = acc[0];
  }
  workgroupBarrier();
  if (kg == 0u) {
    for (var gi = 1u; gi < KG; gi++) {
      acc[0] += meet[((gi - 1u) * 1u + 0u) * D4 + c];
    }
  }
  workgroupBarrier();
  // Rows 1…1: the key groups' sums meet at group 0.
  if (kg > 0u && kg < KG) {
    meet[((kg - 1u) * 1u + 0u) * D4 + c] = acc[1];
  }
  workgroupBarrier();
  if (kg == 0u) {
    for (var gi = 1u; gi < KG; gi++) {
      acc[1] += meet[((gi - 1u) * 1u + 0u) * D4 + c];
    }
  }
  workgroupBarrier();
  // Rows 2…2: the key groups' sums meet at group 0.
  if (kg > 0u && kg < KG) {
    meet[((kg - 1u) * 1u + 0u) * D4 + c] = acc[2];
  }
  workgroupBarrier();
  if (kg == 0u) {
    for (var gi = 1u; gi < KG; gi++) {
      acc[2] += meet[((gi - 1u) * 1u + 0u) * D4 + c];
    }
  }
  workgroupBarrier();
  // Rows 3…3: the key groups' sums meet at group 0.
  if (kg > 0u && kg < KG) {
    meet[((kg - 1u) * 1u + 0u) * D4 + c] = acc[3];
  }
  workgroupBarrier();
  if (kg == 0u) {
    for (var gi = 1u; gi < KG; gi++) {
      acc[3] += meet[((gi - 1u) * 1u + 0u) * D4 + c];
    }
  }
  workgroupBarrier();

  if (kg == 0u) {
    {
      var total = 0.0;
      for (var gi = 0u; gi < KG; gi++) { total += sums[gi * R + 0u]; }
      let hr = hk * 4u + 0u;
      let i = 0u;
      let inv = select(0.0, 1.0 / total, total > 0.0 || isNan(total));
      o[part * params.oPart + b * params.qsb + hr * params.qsh + i * params.qsn + c - params.qOff] = acc[0] * inv;
      if (c == 0u) {
        let at = part * params.statPart + 2u * ((b * params.headsQ + hr) * params.seqQ + i);
        lse[at] = rowM0;
        lse[at + 1u] = total;
      }
    }
    {
      var total = 0.0;
      for (var gi = 0u; gi < KG; gi++) { total += sums[gi * R + 1u]; }
      let hr = hk * 4u + 1u;
      let i = 0u;
      let inv = select(0.0, 1.0 / total, total > 0.0 || isNan(total));
      o[part * params.oPart + b * params.qsb + hr * params.qsh + i * params.qsn + c - params.qOff] = acc[1] * inv;
      if (c == 0u) {
        let at = part * params.statPart + 2u * ((b * params.headsQ + hr) * params.seqQ + i);
        lse[at] = rowM1;
        lse[at + 1u] = total;
      }
    }
    {
      var total = 0.0;
      for (var gi = 0u; gi < KG; gi++) { total += sums[gi * R + 2u]; }
      let hr = hk * 4u + 2u;
      let i = 0u;
      let inv = select(0.0, 1.0 / total, total > 0.0 || isNan(total));
      o[part * params.oPart + b * params.qsb + hr * params.qsh + i * params.qsn + c - params.qOff] = acc[2] * inv;
      if (c == 0u) {
        let at = part * params.statPart + 2u * ((b * params.headsQ + hr) * params.seqQ + i);
        lse[at] = rowM2;
        lse[at + 1u] = total;
      }
    }
    {
      var total = 0.0;
      for (var gi = 0u; gi < KG; gi++) { total += sums[gi * R + 3u]; }
      let hr = hk * 4u + 3u;
      let i = 0u;
      let inv = select(0.0, 1.0 / total, total > 0.0 || isNan(total));
      o[part * params.oPart + b * params.qsb + hr * params.qsh + i * params.qsn + c - params.qOff] = acc[3] * inv;
      if (c == 0u) {
        let at = part * params.statPart + 2u * ((b * params.headsQ + hr) * params.seqQ + i);
        lse[at] = rowM3;
        lse[at + 1u] = total;
      }
    }
  }
}
