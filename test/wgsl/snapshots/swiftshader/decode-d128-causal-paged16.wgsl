
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
const L = 1u;
const G = 256u;
const C = 512u;
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
var<workgroup> sc: array<vec4<f32>, 1024>; // key-major: key j's rows at sc[j * NV] …
var<workgroup> meet: array<vec4<f32>, 512>;
var<workgroup> sums: array<f32, 64>;
var<workgroup> rowMax: array<atomic<u32>, 8>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
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
  var kr: array<vec4<f32>, 64>;
  if (g + 0u * G < n) {
    let kb = pagedRow(pageRow, lo + g + 0u * G, params.ksb, params.ksn) + hk * params.ksh - params.kOff;
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
    let kb = pagedRow(pageRow, lo + g + 1u * G, params.ksb, params.ksn) + hk * params.ksh - params.kOff;
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
      let kv1 = kr[32];
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
      let kv1 = kr[33];
      { let qv = qs[0u + lane + 1u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 1u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 1u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 1u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 1u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 1u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 1u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 1u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[2];
      let kv1 = kr[34];
      { let qv = qs[0u + lane + 2u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 2u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 2u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 2u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 2u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 2u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 2u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 2u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[3];
      let kv1 = kr[35];
      { let qv = qs[0u + lane + 3u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 3u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 3u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 3u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 3u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 3u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 3u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 3u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[4];
      let kv1 = kr[36];
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
      let kv0 = kr[5];
      let kv1 = kr[37];
      { let qv = qs[0u + lane + 5u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 5u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 5u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 5u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 5u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 5u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 5u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 5u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[6];
      let kv1 = kr[38];
      { let qv = qs[0u + lane + 6u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 6u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 6u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 6u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 6u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 6u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 6u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 6u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[7];
      let kv1 = kr[39];
      { let qv = qs[0u + lane + 7u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 7u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 7u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 7u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 7u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 7u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 7u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 7u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[8];
      let kv1 = kr[40];
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
      let kv0 = kr[9];
      let kv1 = kr[41];
      { let qv = qs[0u + lane + 9u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 9u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 9u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 9u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 9u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 9u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 9u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 9u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[10];
      let kv1 = kr[42];
      { let qv = qs[0u + lane + 10u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 10u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 10u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 10u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 10u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 10u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 10u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 10u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[11];
      let kv1 = kr[43];
      { let qv = qs[0u + lane + 11u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 11u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 11u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 11u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 11u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 11u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 11u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 11u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[12];
      let kv1 = kr[44];
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
      let kv0 = kr[13];
      let kv1 = kr[45];
      { let qv = qs[0u + lane + 13u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 13u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 13u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 13u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 13u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 13u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 13u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 13u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[14];
      let kv1 = kr[46];
      { let qv = qs[0u + lane + 14u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 14u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 14u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 14u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 14u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 14u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 14u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 14u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[15];
      let kv1 = kr[47];
      { let qv = qs[0u + lane + 15u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 15u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 15u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 15u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 15u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 15u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 15u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 15u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[16];
      let kv1 = kr[48];
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
      let kv0 = kr[17];
      let kv1 = kr[49];
      { let qv = qs[0u + lane + 17u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 17u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 17u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 17u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 17u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 17u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 17u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 17u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[18];
      let kv1 = kr[50];
      { let qv = qs[0u + lane + 18u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 18u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 18u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 18u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 18u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 18u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 18u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 18u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[19];
      let kv1 = kr[51];
      { let qv = qs[0u + lane + 19u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 19u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 19u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 19u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 19u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 19u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 19u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 19u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[20];
      let kv1 = kr[52];
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
      let kv0 = kr[21];
      let kv1 = kr[53];
      { let qv = qs[0u + lane + 21u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 21u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 21u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 21u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 21u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 21u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 21u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 21u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[22];
      let kv1 = kr[54];
      { let qv = qs[0u + lane + 22u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 22u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 22u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 22u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 22u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 22u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 22u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 22u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[23];
      let kv1 = kr[55];
      { let qv = qs[0u + lane + 23u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 23u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 23u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 23u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 23u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 23u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 23u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 23u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[24];
      let kv1 = kr[56];
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
      let kv0 = kr[25];
      let kv1 = kr[57];
      { let qv = qs[0u + lane + 25u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 25u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 25u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 25u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 25u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 25u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 25u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 25u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[26];
      let kv1 = kr[58];
      { let qv = qs[0u + lane + 26u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 26u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 26u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 26u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 26u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 26u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 26u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 26u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[27];
      let kv1 = kr[59];
      { let qv = qs[0u + lane + 27u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 27u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 27u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 27u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 27u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 27u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 27u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 27u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[28];
      let kv1 = kr[60];
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
      let kv0 = kr[29];
      let kv1 = kr[61];
      { let qv = qs[0u + lane + 29u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 29u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 29u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 29u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 29u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 29u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 29u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 29u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[30];
      let kv1 = kr[62];
      { let qv = qs[0u + lane + 30u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 30u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 30u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 30u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 30u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 30u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 30u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 30u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      let kv0 = kr[31];
      let kv1 = kr[63];
      { let qv = qs[0u + lane + 31u]; d[0] += dot(qv, kv0); d[8] += dot(qv, kv1); }
      { let qv = qs[32u + lane + 31u]; d[1] += dot(qv, kv0); d[9] += dot(qv, kv1); }
      { let qv = qs[64u + lane + 31u]; d[2] += dot(qv, kv0); d[10] += dot(qv, kv1); }
      { let qv = qs[96u + lane + 31u]; d[3] += dot(qv, kv0); d[11] += dot(qv, kv1); }
      { let qv = qs[128u + lane + 31u]; d[4] += dot(qv, kv0); d[12] += dot(qv, kv1); }
      { let qv = qs[160u + lane + 31u]; d[5] += dot(qv, kv0); d[13] += dot(qv, kv1); }
      { let qv = qs[192u + lane + 31u]; d[6] += dot(qv, kv0); d[14] += dot(qv, kv1); }
      { let qv = qs[224u + lane + 31u]; d[7] += dot(qv, kv0); d[15] += dot(qv, kv1); }
    }
    {
      var s0 = d[0];
      var s1 = d[1];
      var s2 = d[2];
      var s3 = d[3];
      var s4 = d[4];
      var s5 = d[5];
      var s6 = d[6];
      var s7 = d[7];
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
      var s0 = d[8];
      var s1 = d[9];
      var s2 = d[10];
      var s3 = d[11];
      var s4 = d[12];
      var s5 = d[13];
      var s6 = d[14];
      var s7 = d[15];
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

  if (lane == 0u && n > 0u) {
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
  var vr: array<vec4<f32>, 64>;
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
    if (kg + 128u < n) { vr[16] = v[pagedRow(pageRow, lo + kg + 128u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 136u < n) { vr[17] = v[pagedRow(pageRow, lo + kg + 136u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 144u < n) { vr[18] = v[pagedRow(pageRow, lo + kg + 144u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 152u < n) { vr[19] = v[pagedRow(pageRow, lo + kg + 152u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 160u < n) { vr[20] = v[pagedRow(pageRow, lo + kg + 160u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 168u < n) { vr[21] = v[pagedRow(pageRow, lo + kg + 168u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 176u < n) { vr[22] = v[pagedRow(pageRow, lo + kg + 176u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 184u < n) { vr[23] = v[pagedRow(pageRow, lo + kg + 184u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 192u < n) { vr[24] = v[pagedRow(pageRow, lo + kg + 192u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 200u < n) { vr[25] = v[pagedRow(pageRow, lo + kg + 200u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 208u < n) { vr[26] = v[pagedRow(pageRow, lo + kg + 208u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 216u < n) { vr[27] = v[pagedRow(pageRow, lo + kg + 216u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 224u < n) { vr[28] = v[pagedRow(pageRow, lo + kg + 224u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 232u < n) { vr[29] = v[pagedRow(pageRow, lo + kg + 232u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 240u < n) { vr[30] = v[pagedRow(pageRow, lo + kg + 240u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 248u < n) { vr[31] = v[pagedRow(pageRow, lo + kg + 248u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 256u < n) { vr[32] = v[pagedRow(pageRow, lo + kg + 256u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 264u < n) { vr[33] = v[pagedRow(pageRow, lo + kg + 264u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 272u < n) { vr[34] = v[pagedRow(pageRow, lo + kg + 272u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 280u < n) { vr[35] = v[pagedRow(pageRow, lo + kg + 280u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 288u < n) { vr[36] = v[pagedRow(pageRow, lo + kg + 288u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 296u < n) { vr[37] = v[pagedRow(pageRow, lo + kg + 296u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 304u < n) { vr[38] = v[pagedRow(pageRow, lo + kg + 304u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 312u < n) { vr[39] = v[pagedRow(pageRow, lo + kg + 312u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 320u < n) { vr[40] = v[pagedRow(pageRow, lo + kg + 320u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 328u < n) { vr[41] = v[pagedRow(pageRow, lo + kg + 328u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 336u < n) { vr[42] = v[pagedRow(pageRow, lo + kg + 336u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 344u < n) { vr[43] = v[pagedRow(pageRow, lo + kg + 344u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 352u < n) { vr[44] = v[pagedRow(pageRow, lo + kg + 352u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 360u < n) { vr[45] = v[pagedRow(pageRow, lo + kg + 360u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 368u < n) { vr[46] = v[pagedRow(pageRow, lo + kg + 368u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 376u < n) { vr[47] = v[pagedRow(pageRow, lo + kg + 376u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 384u < n) { vr[48] = v[pagedRow(pageRow, lo + kg + 384u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 392u < n) { vr[49] = v[pagedRow(pageRow, lo + kg + 392u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 400u < n) { vr[50] = v[pagedRow(pageRow, lo + kg + 400u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 408u < n) { vr[51] = v[pagedRow(pageRow, lo + kg + 408u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 416u < n) { vr[52] = v[pagedRow(pageRow, lo + kg + 416u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 424u < n) { vr[53] = v[pagedRow(pageRow, lo + kg + 424u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 432u < n) { vr[54] = v[pagedRow(pageRow, lo + kg + 432u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 440u < n) { vr[55] = v[pagedRow(pageRow, lo + kg + 440u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 448u < n) { vr[56] = v[pagedRow(pageRow, lo + kg + 448u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 456u < n) { vr[57] = v[pagedRow(pageRow, lo + kg + 456u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 464u < n) { vr[58] = v[pagedRow(pageRow, lo + kg + 464u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 472u < n) { vr[59] = v[pagedRow(pageRow, lo + kg + 472u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 480u < n) { vr[60] = v[pagedRow(pageRow, lo + kg + 480u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 488u < n) { vr[61] = v[pagedRow(pageRow, lo + kg + 488u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 496u < n) { vr[62] = v[pagedRow(pageRow, lo + kg + 496u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
    if (kg + 504u < n) { vr[63] = v[pagedRow(pageRow, lo + kg + 504u, params.vsb, params.vsn) + hk * params.vsh - params.vOff + c]; }
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
    if (kg + 128u < n) {
      let vv = vr[16];
      let j = kg + 128u;
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
    if (kg + 136u < n) {
      let vv = vr[17];
      let j = kg + 136u;
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
    if (kg + 144u < n) {
      let vv = vr[18];
      let j = kg + 144u;
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
    if (kg + 152u < n) {
      let vv = vr[19];
      let j = kg + 152u;
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
    if (kg + 160u < n) {
      let vv = vr[20];
      let j = kg + 160u;
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
    if (kg + 168u < n) {
      let vv = vr[21];
      let j = kg + 168u;
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
    if (kg + 176u < n) {
      let vv = vr[22];
      let j = kg + 176u;
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
    if (kg + 184u < n) {
      let vv = vr[23];
      let j = kg + 184u;
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
    if (kg + 192u < n) {
      let vv = vr[24];
      let j = kg + 192u;
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
    if (kg + 200u < n) {
      let vv = vr[25];
      let j = kg + 200u;
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
    if (kg + 208u < n) {
      let vv = vr[26];
      let j = kg + 208u;
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
    if (kg + 216u < n) {
      let vv = vr[27];
      let j = kg + 216u;
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
    if (kg + 224u < n) {
      let vv = vr[28];
      let j = kg + 224u;
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
    if (kg + 232u < n) {
      let vv = vr[29];
      let j = kg + 232u;
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
    if (kg + 240u < n) {
      let vv = vr[30];
      let j = kg + 240u;
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
    if (kg + 248u < n) {
      let vv = vr[31];
      let j = kg + 248u;
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
    if (kg + 256u < n) {
      let vv = vr[32];
      let j = kg + 256u;
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
    if (kg + 264u < n) {
      let vv = vr[33];
      let j = kg + 264u;
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
    if (kg + 272u < n) {
      let vv = vr[34];
      let j = kg + 272u;
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
    if (kg + 280u < n) {
      let vv = vr[35];
      let j = kg + 280u;
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
    if (kg + 288u < n) {
      let vv = vr[36];
      let j = kg + 288u;
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
    if (kg + 296u < n) {
      let vv = vr[37];
      let j = kg + 296u;
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
    if (kg + 304u < n) {
      let vv = vr[38];
      let j = kg + 304u;
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
    if (kg + 312u < n) {
      let vv = vr[39];
      let j = kg + 312u;
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
    if (kg + 320u < n) {
      let vv = vr[40];
      let j = kg + 320u;
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
    if (kg + 328u < n) {
      let vv = vr[41];
      let j = kg + 328u;
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
    if (kg + 336u < n) {
      let vv = vr[42];
      let j = kg + 336u;
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
    if (kg + 344u < n) {
      let vv = vr[43];
      let j = kg + 344u;
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
    if (kg + 352u < n) {
      let vv = vr[44];
      let j = kg + 352u;
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
    if (kg + 360u < n) {
      let vv = vr[45];
      let j = kg + 360u;
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
    if (kg + 368u < n) {
      let vv = vr[46];
      let j = kg + 368u;
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
    if (kg + 376u < n) {
      let vv = vr[47];
      let j = kg + 376u;
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
    if (kg + 384u < n) {
      let vv = vr[48];
      let j = kg + 384u;
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
    if (kg + 392u < n) {
      let vv = vr[49];
      let j = kg + 392u;
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
    if (kg + 400u < n) {
      let vv = vr[50];
      let j = kg + 400u;
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
    if (kg + 408u < n) {
      let vv = vr[51];
      let j = kg + 408u;
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
    if (kg + 416u < n) {
      let vv = vr[52];
      let j = kg + 416u;
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
    if (kg + 424u < n) {
      let vv = vr[53];
      let j = kg + 424u;
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
    if (kg + 432u < n) {
      let vv = vr[54];
      let j = kg + 432u;
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
    if (kg + 440u < n) {
      let vv = vr[55];
      let j = kg + 440u;
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
    if (kg + 448u < n) {
      let vv = vr[56];
      let j = kg + 448u;
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
    if (kg + 456u < n) {
      let vv = vr[57];
      let j = kg + 456u;
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
    if (kg + 464u < n) {
      let vv = vr[58];
      let j = kg + 464u;
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
    if (kg + 472u < n) {
      let vv = vr[59];
      let j = kg + 472u;
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
    if (kg + 480u < n) {
      let vv = vr[60];
      let j = kg + 480u;
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
    if (kg + 488u < n) {
      let vv = vr[61];
      let j = kg + 488u;
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
    if (kg + 496u < n) {
      let vv = vr[62];
      let j = kg + 496u;
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
    if (kg + 504u < n) {
      let vv = vr[63];
      let j = kg + 504u;
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
      for (var i = 0u; i < 64u; i++) {
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
