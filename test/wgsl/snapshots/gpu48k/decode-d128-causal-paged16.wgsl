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
const R = 8u;
const T = 256u;
const L = 4u;
const G = 64u;
const C = 128u;
const NV = 2u;
const KG = 8u;
const MASKED = -3.0e38;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<storage, read> aux: array<f32>;
@group(0) @binding(7) var<storage, read> pages: array<u32>;

fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn isNanV(x: vec4<f32>) -> vec4<bool> { return (bitcast<vec4<u32>>(x) & vec4<u32>(0x7fffffffu)) > vec4<u32>(0x7f800000u); }
fn finite4(x: vec4<f32>) -> bool { return all((bitcast<vec4<u32>>(x) & vec4<u32>(0x7fffffffu)) < vec4<u32>(0x7f800000u)); }
const PAGE = 16u;
// Logical key row n of the batch entry whose page ids start at pages[pageRow]: its page's
// start (pageStride elements per page) plus its row in the page.
fn pagedRow(pageRow: u32, n: u32, pageStride: u32, rowStride: u32) -> u32 {
  return pages[pageRow + n / PAGE] * pageStride + (n % PAGE) * rowStride;
}

// Floats ordered as u32, so a workgroup atomicMax finds each row's max.
fn orderedBits(x: f32) -> u32 {
  let u = bitcast<u32>(x);
  return select(u | 0x80000000u, ~u, (u & 0x80000000u) != 0u);
}
fn orderedFloat(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}

var<workgroup> qs: array<vec4<f32>, 256>;
var<workgroup> sc: array<vec4<f32>, 256>; // key-major: key j's rows at sc[j * NV] …
var<workgroup> meet: array<vec4<f32>, 512>;
var<workgroup> sums: array<f32, 64>;
var<workgroup> rowMax: array<atomic<u32>, 8>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32, @builtin(subgroup_invocation_id) sgLane: u32) {
  let part = wg.x;
  let hk = wg.y;
  let b = wg.z + params.batchBase;
  // This batch entry's positions: query row i sits at qPos + i, key j at kPos + j.
  let qPos = i32(aux[0u + 2u * b]);
  let kPos = i32(aux[0u + 2u * b + 1u]);
  let causalOffset = qPos - kPos;
  // Paged K/V: this batch entry's key length and where its page ids start.
  let kLen = pages[2u * b];
  let pageRow = pages[2u * b + 1u];

  // This range's keys [lo, hi): fewer past the sequence's end and past the last row under causal masking.
  let lo = part * params.rangeKeys;
  var hi = min(lo + params.rangeKeys, kLen);
  hi = u32(clamp(i32(1u) + causalOffset + 1, i32(lo), i32(max(hi, lo))));
  let n = select(0u, hi - lo, hi > lo);

  let lane = t % L;
  let g = t / L;
  var kr: array<vec4<f32>, 16>;
  if (g + 0u * G < n) {
    let kb = pagedRow(pageRow, lo + g + 0u * G, params.ksb, params.ksn) + hk * params.ksh - params.kOff;
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
    let kb = pagedRow(pageRow, lo + g + 1u * G, params.ksb, params.ksn) + hk * params.ksh - params.kOff;
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
    let hr = hk * 4u + r / 2u;
    qs[e] = q[b * params.qsb + hr * params.qsh + (r % 2u) * params.qsn + e % D4 - params.qOff] * params.qkScale;
  }
  if (t < R) { atomicStore(&rowMax[t], orderedBits(MASKED)); }
  workgroupBarrier();

  var mx: array<f32, 8>;
  mx[0] = MASKED;
  mx[1] = MASKED;
  mx[2] = MASKED;
  mx[3] = MASKED;
  mx[4] = MASKED;
  mx[5] = MASKED;
  mx[6] = MASKED;
  mx[7] = MASKED;
  {
    var d: array<f32, 16>;
    {
      let kv0 = kr[0];
      let kv1 = kr[8];
      { let qv = qs[0u + lane + 0u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 0u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 0u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 0u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 0u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 0u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 0u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 0u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[1];
      let kv1 = kr[9];
      { let qv = qs[0u + lane + 4u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 4u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 4u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 4u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 4u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 4u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 4u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 4u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[2];
      let kv1 = kr[10];
      { let qv = qs[0u + lane + 8u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 8u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 8u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 8u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 8u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 8u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 8u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 8u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[3];
      let kv1 = kr[11];
      { let qv = qs[0u + lane + 12u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 12u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 12u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 12u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 12u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 12u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 12u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 12u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[4];
      let kv1 = kr[12];
      { let qv = qs[0u + lane + 16u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 16u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 16u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 16u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 16u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 16u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 16u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 16u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[5];
      let kv1 = kr[13];
      { let qv = qs[0u + lane + 20u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 20u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 20u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 20u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 20u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 20u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 20u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 20u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[6];
      let kv1 = kr[14];
      { let qv = qs[0u + lane + 24u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 24u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 24u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 24u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 24u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 24u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 24u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 24u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[7];
      let kv1 = kr[15];
      { let qv = qs[0u + lane + 28u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 28u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 28u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 28u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 28u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 28u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 28u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 28u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      var s0 = d[0]; s0 += subgroupShuffleXor(s0, 1u); s0 += subgroupShuffleXor(s0, 2u);
      var s1 = d[1]; s1 += subgroupShuffleXor(s1, 1u); s1 += subgroupShuffleXor(s1, 2u);
      var s2 = d[2]; s2 += subgroupShuffleXor(s2, 1u); s2 += subgroupShuffleXor(s2, 2u);
      var s3 = d[3]; s3 += subgroupShuffleXor(s3, 1u); s3 += subgroupShuffleXor(s3, 2u);
      var s4 = d[4]; s4 += subgroupShuffleXor(s4, 1u); s4 += subgroupShuffleXor(s4, 2u);
      var s5 = d[5]; s5 += subgroupShuffleXor(s5, 1u); s5 += subgroupShuffleXor(s5, 2u);
      var s6 = d[6]; s6 += subgroupShuffleXor(s6, 1u); s6 += subgroupShuffleXor(s6, 2u);
      var s7 = d[7]; s7 += subgroupShuffleXor(s7, 1u); s7 += subgroupShuffleXor(s7, 2u);
      let j = g + 0u * G;
      if (j < n) {
        let m0 = select(s0, MASKED, i32(lo + j) > i32(0u) + causalOffset);
        mx[0] = max(mx[0], m0);
        let m1 = s1;
        mx[1] = max(mx[1], m1);
        let m2 = select(s2, MASKED, i32(lo + j) > i32(0u) + causalOffset);
        mx[2] = max(mx[2], m2);
        let m3 = s3;
        mx[3] = max(mx[3], m3);
        let m4 = select(s4, MASKED, i32(lo + j) > i32(0u) + causalOffset);
        mx[4] = max(mx[4], m4);
        let m5 = s5;
        mx[5] = max(mx[5], m5);
        let m6 = select(s6, MASKED, i32(lo + j) > i32(0u) + causalOffset);
        mx[6] = max(mx[6], m6);
        let m7 = s7;
        mx[7] = max(mx[7], m7);
        if (lane == 0u) {
          sc[j * NV + 0u] = vec4<f32>(m0, m1, m2, m3);
          sc[j * NV + 1u] = vec4<f32>(m4, m5, m6, m7);
        }
      }
    }
    {
      var s0 = d[8]; s0 += subgroupShuffleXor(s0, 1u); s0 += subgroupShuffleXor(s0, 2u);
      var s1 = d[9]; s1 += subgroupShuffleXor(s1, 1u); s1 += subgroupShuffleXor(s1, 2u);
      var s2 = d[10]; s2 += subgroupShuffleXor(s2, 1u); s2 += subgroupShuffleXor(s2, 2u);
      var s3 = d[11]; s3 += subgroupShuffleXor(s3, 1u); s3 += subgroupShuffleXor(s3, 2u);
      var s4 = d[12]; s4 += subgroupShuffleXor(s4, 1u); s4 += subgroupShuffleXor(s4, 2u);
      var s5 = d[13]; s5 += subgroupShuffleXor(s5, 1u); s5 += subgroupShuffleXor(s5, 2u);
      var s6 = d[14]; s6 += subgroupShuffleXor(s6, 1u); s6 += subgroupShuffleXor(s6, 2u);
      var s7 = d[15]; s7 += subgroupShuffleXor(s7, 1u); s7 += subgroupShuffleXor(s7, 2u);
      let j = g + 1u * G;
      if (j < n) {
        let m0 = select(s0, MASKED, i32(lo + j) > i32(0u) + causalOffset);
        mx[0] = max(mx[0], m0);
        let m1 = s1;
        mx[1] = max(mx[1], m1);
        let m2 = select(s2, MASKED, i32(lo + j) > i32(0u) + causalOffset);
        mx[2] = max(mx[2], m2);
        let m3 = s3;
        mx[3] = max(mx[3], m3);
        let m4 = select(s4, MASKED, i32(lo + j) > i32(0u) + causalOffset);
        mx[4] = max(mx[4], m4);
        let m5 = s5;
        mx[5] = max(mx[5], m5);
        let m6 = select(s6, MASKED, i32(lo + j) > i32(0u) + causalOffset);
        mx[6] = max(mx[6], m6);
        let m7 = s7;
        mx[7] = max(mx[7], m7);
        if (lane == 0u) {
          sc[j * NV + 0u] = vec4<f32>(m0, m1, m2, m3);
          sc[j * NV + 1u] = vec4<f32>(m4, m5, m6, m7);
        }
      }
    }
  }
  mx[0] = subgroupMax(mx[0]);
  mx[1] = subgroupMax(mx[1]);
  mx[2] = subgroupMax(mx[2]);
  mx[3] = subgroupMax(mx[3]);
  mx[4] = subgroupMax(mx[4]);
  mx[5] = subgroupMax(mx[5]);
  mx[6] = subgroupMax(mx[6]);
  mx[7] = subgroupMax(mx[7]);
  if (sgLane == 0u && n > 0u) {
    atomicMax(&rowMax[0], orderedBits(mx[0]));
    atomicMax(&rowMax[1], orderedBits(mx[1]));
    atomicMax(&rowMax[2], orderedBits(mx[2]));
    atomicMax(&rowMax[3], orderedBits(mx[3]));
    atomicMax(&rowMax[4], orderedBits(mx[4]));
    atomicMax(&rowMax[5], orderedBits(mx[5]));
    atomicMax(&rowMax[6], orderedBits(mx[6]));
    atomicMax(&rowMax[7], orderedBits(mx[7]));
  }

  let kg = t / D4;
  let c = t % D4;
  var vr: array<vec4<f32>, 16>;
  if (kg < KG) {
    if (kg + 0u < n) { vr[0] = v[pagedRow(pageRow, lo + kg + 0u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 8u < n) { vr[1] = v[pagedRow(pageRow, lo + kg + 8u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 16u < n) { vr[2] = v[pagedRow(pageRow, lo + kg + 16u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 24u < n) { vr[3] = v[pagedRow(pageRow, lo + kg + 24u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 32u < n) { vr[4] = v[pagedRow(pageRow, lo + kg + 32u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 40u < n) { vr[5] = v[pagedRow(pageRow, lo + kg + 40u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 48u < n) { vr[6] = v[pagedRow(pageRow, lo + kg + 48u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 56u < n) { vr[7] = v[pagedRow(pageRow, lo + kg + 56u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 64u < n) { vr[8] = v[pagedRow(pageRow, lo + kg + 64u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 72u < n) { vr[9] = v[pagedRow(pageRow, lo + kg + 72u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 80u < n) { vr[10] = v[pagedRow(pageRow, lo + kg + 80u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 88u < n) { vr[11] = v[pagedRow(pageRow, lo + kg + 88u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 96u < n) { vr[12] = v[pagedRow(pageRow, lo + kg + 96u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 104u < n) { vr[13] = v[pagedRow(pageRow, lo + kg + 104u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 112u < n) { vr[14] = v[pagedRow(pageRow, lo + kg + 112u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 120u < n) { vr[15] = v[pagedRow(pageRow, lo + kg + 120u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
  }
  workgroupBarrier();

  let rowM0 = vec4<f32>(orderedFloat(atomicLoad(&rowMax[0])), orderedFloat(atomicLoad(&rowMax[1])), orderedFloat(atomicLoad(&rowMax[2])), orderedFloat(atomicLoad(&rowMax[3])));
  let rowM1 = vec4<f32>(orderedFloat(atomicLoad(&rowMax[4])), orderedFloat(atomicLoad(&rowMax[5])), orderedFloat(atomicLoad(&rowMax[6])), orderedFloat(atomicLoad(&rowMax[7])));
  for (var j = t; j < n; j += T) {
    { let s = sc[j * NV + 0u]; sc[j * NV + 0u] = select(select(vec4<f32>(0.0), exp2(s - rowM0), s > vec4<f32>(MASKED)), vec4<f32>(params.nan), isNanV(s)); }
    { let s = sc[j * NV + 1u]; sc[j * NV + 1u] = select(select(vec4<f32>(0.0), exp2(s - rowM1), s > vec4<f32>(MASKED)), vec4<f32>(params.nan), isNanV(s)); }
  }
  workgroupBarrier();

  var acc: array<vec4<f32>, 8>;
  var l: array<vec4<f32>, 2>;
  if (kg < KG) {
    if (kg + 0u < n) {
      let vv = vr[0];
      let j = kg + 0u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
      {
        let p = sc[j * NV + 1u];
        acc[4] = fma(vec4<f32>(p.x), vv, acc[4]);
        acc[5] = fma(vec4<f32>(p.y), vv, acc[5]);
        acc[6] = fma(vec4<f32>(p.z), vv, acc[6]);
        acc[7] = fma(vec4<f32>(p.w), vv, acc[7]);
        l[1] += p;
      }
    }
    if (kg + 8u < n) {
      let vv = vr[1];
      let j = kg + 8u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
      {
        let p = sc[j * NV + 1u];
        acc[4] = fma(vec4<f32>(p.x), vv, acc[4]);
        acc[5] = fma(vec4<f32>(p.y), vv, acc[5]);
        acc[6] = fma(vec4<f32>(p.z), vv, acc[6]);
        acc[7] = fma(vec4<f32>(p.w), vv, acc[7]);
        l[1] += p;
      }
    }
    if (kg + 16u < n) {
      let vv = vr[2];
      let j = kg + 16u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
      {
        let p = sc[j * NV + 1u];
        acc[4] = fma(vec4<f32>(p.x), vv, acc[4]);
        acc[5] = fma(vec4<f32>(p.y), vv, acc[5]);
        acc[6] = fma(vec4<f32>(p.z), vv, acc[6]);
        acc[7] = fma(vec4<f32>(p.w), vv, acc[7]);
        l[1] += p;
      }
    }
    if (kg + 24u < n) {
      let vv = vr[3];
      let j = kg + 24u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
      {
        let p = sc[j * NV + 1u];
        acc[4] = fma(vec4<f32>(p.x), vv, acc[4]);
        acc[5] = fma(vec4<f32>(p.y), vv, acc[5]);
        acc[6] = fma(vec4<f32>(p.z), vv, acc[6]);
        acc[7] = fma(vec4<f32>(p.w), vv, acc[7]);
        l[1] += p;
      }
    }
    if (kg + 32u < n) {
      let vv = vr[4];
      let j = kg + 32u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
      {
        let p = sc[j * NV + 1u];
        acc[4] = fma(vec4<f32>(p.x), vv, acc[4]);
        acc[5] = fma(vec4<f32>(p.y), vv, acc[5]);
        acc[6] = fma(vec4<f32>(p.z), vv, acc[6]);
        acc[7] = fma(vec4<f32>(p.w), vv, acc[7]);
        l[1] += p;
      }
    }
    if (kg + 40u < n) {
      let vv = vr[5];
      let j = kg + 40u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
      {
        let p = sc[j * NV + 1u];
        acc[4] = fma(vec4<f32>(p.x), vv, acc[4]);
        acc[5] = fma(vec4<f32>(p.y), vv, acc[5]);
        acc[6] = fma(vec4<f32>(p.z), vv, acc[6]);
        acc[7] = fma(vec4<f32>(p.w), vv, acc[7]);
        l[1] += p;
      }
    }
    if (kg + 48u < n) {
      let vv = vr[6];
      let j = kg + 48u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
      {
        let p = sc[j * NV + 1u];
        acc[4] = fma(vec4<f32>(p.x), vv, acc[4]);
        acc[5] = fma(vec4<f32>(p.y), vv, acc[5]);
        acc[6] = fma(vec4<f32>(p.z), vv, acc[6]);
        acc[7] = fma(vec4<f32>(p.w), vv, acc[7]);
        l[1] += p;
      }
    }
    if (kg + 56u < n) {
      let vv = vr[7];
      let j = kg + 56u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
      {
        let p = sc[j * NV + 1u];
        acc[4] = fma(vec4<f32>(p.x), vv, acc[4]);
        acc[5] = fma(vec4<f32>(p.y), vv, acc[5]);
        acc[6] = fma(vec4<f32>(p.z), vv, acc[6]);
        acc[7] = fma(vec4<f32>(p.w), vv, acc[7]);
        l[1] += p;
      }
    }
    if (kg + 64u < n) {
      let vv = vr[8];
      let j = kg + 64u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
      {
        let p = sc[j * NV + 1u];
        acc[4] = fma(vec4<f32>(p.x), vv, acc[4]);
        acc[5] = fma(vec4<f32>(p.y), vv, acc[5]);
        acc[6] = fma(vec4<f32>(p.z), vv, acc[6]);
        acc[7] = fma(vec4<f32>(p.w), vv, acc[7]);
        l[1] += p;
      }
    }
    if (kg + 72u < n) {
      let vv = vr[9];
      let j = kg + 72u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
      {
        let p = sc[j * NV + 1u];
        acc[4] = fma(vec4<f32>(p.x), vv, acc[4]);
        acc[5] = fma(vec4<f32>(p.y), vv, acc[5]);
        acc[6] = fma(vec4<f32>(p.z), vv, acc[6]);
        acc[7] = fma(vec4<f32>(p.w), vv, acc[7]);
        l[1] += p;
      }
    }
    if (kg + 80u < n) {
      let vv = vr[10];
      let j = kg + 80u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
      {
        let p = sc[j * NV + 1u];
        acc[4] = fma(vec4<f32>(p.x), vv, acc[4]);
        acc[5] = fma(vec4<f32>(p.y), vv, acc[5]);
        acc[6] = fma(vec4<f32>(p.z), vv, acc[6]);
        acc[7] = fma(vec4<f32>(p.w), vv, acc[7]);
        l[1] += p;
      }
    }
    if (kg + 88u < n) {
      let vv = vr[11];
      let j = kg + 88u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
      {
        let p = sc[j * NV + 1u];
        acc[4] = fma(vec4<f32>(p.x), vv, acc[4]);
        acc[5] = fma(vec4<f32>(p.y), vv, acc[5]);
        acc[6] = fma(vec4<f32>(p.z), vv, acc[6]);
        acc[7] = fma(vec4<f32>(p.w), vv, acc[7]);
        l[1] += p;
      }
    }
    if (kg + 96u < n) {
      let vv = vr[12];
      let j = kg + 96u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
      {
        let p = sc[j * NV + 1u];
        acc[4] = fma(vec4<f32>(p.x), vv, acc[4]);
        acc[5] = fma(vec4<f32>(p.y), vv, acc[5]);
        acc[6] = fma(vec4<f32>(p.z), vv, acc[6]);
        acc[7] = fma(vec4<f32>(p.w), vv, acc[7]);
        l[1] += p;
      }
    }
    if (kg + 104u < n) {
      let vv = vr[13];
      let j = kg + 104u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
      {
        let p = sc[j * NV + 1u];
        acc[4] = fma(vec4<f32>(p.x), vv, acc[4]);
        acc[5] = fma(vec4<f32>(p.y), vv, acc[5]);
        acc[6] = fma(vec4<f32>(p.z), vv, acc[6]);
        acc[7] = fma(vec4<f32>(p.w), vv, acc[7]);
        l[1] += p;
      }
    }
    if (kg + 112u < n) {
      let vv = vr[14];
      let j = kg + 112u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
      {
        let p = sc[j * NV + 1u];
        acc[4] = fma(vec4<f32>(p.x), vv, acc[4]);
        acc[5] = fma(vec4<f32>(p.y), vv, acc[5]);
        acc[6] = fma(vec4<f32>(p.z), vv, acc[6]);
        acc[7] = fma(vec4<f32>(p.w), vv, acc[7]);
        l[1] += p;
      }
    }
    if (kg + 120u < n) {
      let vv = vr[15];
      let j = kg + 120u;
      {
        let p = sc[j * NV + 0u];
        acc[0] = fma(vec4<f32>(p.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(p.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(p.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(p.w), vv, acc[3]);
        l[0] += p;
      }
      {
        let p = sc[j * NV + 1u];
        acc[4] = fma(vec4<f32>(p.x), vv, acc[4]);
        acc[5] = fma(vec4<f32>(p.y), vv, acc[5]);
        acc[6] = fma(vec4<f32>(p.z), vv, acc[6]);
        acc[7] = fma(vec4<f32>(p.w), vv, acc[7]);
        l[1] += p;
      }
    }
    if (!finite4(acc[0])) {
      acc = array<vec4<f32>, 8>();
      for (var i = 0u; i < 16u; i++) {
        let j = kg + i * KG;
        if (j < n) {
          let vv = v[pagedRow(pageRow, lo + j, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c];
          {
            let p = sc[j * NV + 0u];
            acc[0] += select(vec4<f32>(0.0), p.x * vv, p.x != 0.0);
            acc[1] += select(vec4<f32>(0.0), p.y * vv, p.y != 0.0);
            acc[2] += select(vec4<f32>(0.0), p.z * vv, p.z != 0.0);
            acc[3] += select(vec4<f32>(0.0), p.w * vv, p.w != 0.0);
          }
          {
            let p = sc[j * NV + 1u];
            acc[4] += select(vec4<f32>(0.0), p.x * vv, p.x != 0.0);
            acc[5] += select(vec4<f32>(0.0), p.y * vv, p.y != 0.0);
            acc[6] += select(vec4<f32>(0.0), p.z * vv, p.z != 0.0);
            acc[7] += select(vec4<f32>(0.0), p.w * vv, p.w != 0.0);
          }
        }
      }
    }
    if (c == 0u) {
      sums[kg * R + 0u] = l[0].x;
      sums[kg * R + 1u] = l[0].y;
      sums[kg * R + 2u] = l[0].z;
      sums[kg * R + 3u] = l[0].w;
      sums[kg * R + 4u] = l[1].x;
      sums[kg * R + 5u] = l[1].y;
      sums[kg * R + 6u] = l[1].z;
      sums[kg * R + 7u] = l[1].w;
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
    let hr = hk * 4u + r / 2u;
    let i = r % 2u;
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
    let hr = hk * 4u + r / 2u;
    let i = r % 2u;
    let inv = select(0.0, 1.0 / total, total > 0.0 || isNan(total));
    o[part * params.oPart + b * params.qsb + hr * params.qsh + i * params.qsn + col - params.qOff] = sum * inv;
    if (col == 0u) {
      let at = part * params.statPart + 2u * ((b * params.headsQ + hr) * params.seqQ + i);
      lse[at] = orderedFloat(atomicLoad(&rowMax[r]));
      lse[at + 1u] = total;
    }
  }
  workgroupBarrier(); // before the next round reuses `meet`
  // Rows 4…5.
  if (kg < KG) {
    meet[(kg * 2u + 0u) * D4 + c] = acc[4];
    meet[(kg * 2u + 1u) * D4 + c] = acc[5];
  }
  workgroupBarrier();
  if (t < 2u * D4) {
    let r = 4u + t / D4;
    let col = t % D4;
    var sum = vec4<f32>(0.0);
    var total = 0.0;
    for (var gi = 0u; gi < KG; gi++) {
      sum += meet[(gi * 2u + t / D4) * D4 + col];
      total += sums[gi * R + r];
    }
    let hr = hk * 4u + r / 2u;
    let i = r % 2u;
    let inv = select(0.0, 1.0 / total, total > 0.0 || isNan(total));
    o[part * params.oPart + b * params.qsb + hr * params.qsh + i * params.qsn + col - params.qOff] = sum * inv;
    if (col == 0u) {
      let at = part * params.statPart + 2u * ((b * params.headsQ + hr) * params.seqQ + i);
      lse[at] = orderedFloat(atomicLoad(&rowMax[r]));
      lse[at + 1u] = total;
    }
  }
  workgroupBarrier(); // before the next round reuses `meet`
  // Rows 6…7.
  if (kg < KG) {
    meet[(kg * 2u + 0u) * D4 + c] = acc[6];
    meet[(kg * 2u + 1u) * D4 + c] = acc[7];
  }
  workgroupBarrier();
  if (t < 2u * D4) {
    let r = 6u + t / D4;
    let col = t % D4;
    var sum = vec4<f32>(0.0);
    var total = 0.0;
    for (var gi = 0u; gi < KG; gi++) {
      sum += meet[(gi * 2u + t / D4) * D4 + col];
      total += sums[gi * R + r];
    }
    let hr = hk * 4u + r / 2u;
    let i = r % 2u;
    let inv = select(0.0, 1.0 / total, total > 0.0 || isNan(total));
    o[part * params.oPart + b * params.qsb + hr * params.qsh + i * params.qsn + col - params.qOff] = sum * inv;
    if (col == 0u) {
      let at = part * params.statPart + 2u * ((b * params.headsQ + hr) * params.seqQ + i);
      lse[at] = orderedFloat(atomicLoad(&rowMax[r]));
      lse[at + 1u] = total;
    }
  }
}
