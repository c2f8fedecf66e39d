enable subgroups;
// Every lane of a workgroup runs the same tiles (all branches are workgroup-uniform); the
// analysis cannot see that through the block-mask reads.
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

const TX = 16u;
const TY = 16u;
const RM = 4u;
const NT = TX * TY;
const BR = 64u;
const BC = 64u;
const D4 = 16u;
const KROW = D4 + 1u;
const CAUSAL = true;
const MASKED = -3.0e38;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> k: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> v: array<vec2<u32>>;
@group(0) @binding(4) var<storage, read_write> o: array<vec2<u32>>;
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
fn lseOf(m: f32, l: f32) -> f32 {
  return fma(m, 0.6931471824645996, fma(m, -1.904654323148236e-9, log(l)));
}

var<workgroup> Qs: array<vec4<f32>, 1024>;
var<workgroup> Ks: array<vec4<f32>, 1024>;
var<workgroup> Vs: array<vec4<f32>, 1024>;



@compute @workgroup_size(TX, TY, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let tx = tid % TX;
  let ty = tid / TX;
  let wgLinear = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  let rank = wgLinear / (nwg.y * nwg.z);
  let g = select(wg, vec3<u32>(nwg.x - 1u - rank, wgLinear % nwg.y, (wgLinear / nwg.y) % nwg.z), nwg.x == params.qTiles);
  let b = g.z + params.batchBase;
  let h = g.y + params.headBase;
  let part = g.x / params.qTiles; // key range of a split-K call (0 otherwise)
  let qt = g.x % params.qTiles + params.tileBase; // Q tile index (a split call starts some dispatches further down)
  let kvLo = part * params.rangeKeys;
  let q0 = qt * BR;
  let hk = h / params.groupSize;
  let kBase = b * params.ksb + hk * params.ksh - params.kOff;
  let vBase = b * params.vsb + hk * params.vsh - params.vOff;

  for (var i = tid; i < BR * D4; i += NT) {
    let pr = q0 + i / D4;
    var x = vec4<f32>(0.0);
    if (pr < 1u * params.seqQ) {
      let hr = h;
      x = unpackHalf4(q[b * params.qsb + hr * params.qsh - params.qOff + pr * params.qsn + i % D4]);
    }
    Qs[i] = x;
  }

  var m: array<f32, RM>;
  var l: array<f32, RM>;
  var acc: array<vec4<f32>, 4>;
  m[0] = MASKED;
  m[1] = MASKED;
  m[2] = MASKED;
  m[3] = MASKED;

  // Causal: no key past the one the tile's last row sees is ever loaded.
  var kvEnd = params.seqK;
  if (CAUSAL) { kvEnd = u32(clamp(i32(q0 + BR) + params.causalOffset, 0, i32(params.seqK))); }
  kvEnd = min(kvEnd, kvLo + params.rangeKeys);

  // K/V tiles pass through registers: tile t+1 is fetched while tile t is computed.
  var kr: array<vec2<u32>, 4>;
  var vr: array<vec2<u32>, 4>;
  // With a block mask, empty tiles are never visited: the loop hops to the next non-empty one.
  let blockRow = b * params.bmB + h * params.bmH + qt * params.bmRow;
  let tileEnd = (kvEnd + BC - 1u) / BC;
  var k0 = kvLo;
    {
      let e = tid + 0u;
      let n = k0 + e / D4;
      kr[0] = vec2<u32>();
      if (n < params.seqK) { kr[0] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = k0 + e / D4;
      kr[1] = vec2<u32>();
      if (n < params.seqK) { kr[1] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 512u;
      let n = k0 + e / D4;
      kr[2] = vec2<u32>();
      if (n < params.seqK) { kr[2] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 768u;
      let n = k0 + e / D4;
      kr[3] = vec2<u32>();
      if (n < params.seqK) { kr[3] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 0u;
      let n = k0 + e / D4;
      vr[0] = vec2<u32>();
      if (n < params.seqK) { vr[0] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = k0 + e / D4;
      vr[1] = vec2<u32>();
      if (n < params.seqK) { vr[1] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 512u;
      let n = k0 + e / D4;
      vr[2] = vec2<u32>();
      if (n < params.seqK) { vr[2] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 768u;
      let n = k0 + e / D4;
      vr[3] = vec2<u32>();
      if (n < params.seqK) { vr[3] = v[vBase + n * params.vsn + e % D4]; }
    }
  loop {
    if (k0 >= kvEnd) { break; }
    let kNext = k0 + BC;
    let full = false;
    workgroupBarrier();
    { let e = tid + 0u; Ks[(e / D4) * D4 + ((e % D4) ^ ((e / D4) & (D4 - 1u)))] = unpackHalf4(kr[0]); }
    { let e = tid + 256u; Ks[(e / D4) * D4 + ((e % D4) ^ ((e / D4) & (D4 - 1u)))] = unpackHalf4(kr[1]); }
    { let e = tid + 512u; Ks[(e / D4) * D4 + ((e % D4) ^ ((e / D4) & (D4 - 1u)))] = unpackHalf4(kr[2]); }
    { let e = tid + 768u; Ks[(e / D4) * D4 + ((e % D4) ^ ((e / D4) & (D4 - 1u)))] = unpackHalf4(kr[3]); }
    { let e = tid + 0u; Vs[(e / D4) * D4 + e % D4] = unpackHalf4(vr[0]); }
    { let e = tid + 256u; Vs[(e / D4) * D4 + e % D4] = unpackHalf4(vr[1]); }
    { let e = tid + 512u; Vs[(e / D4) * D4 + e % D4] = unpackHalf4(vr[2]); }
    { let e = tid + 768u; Vs[(e / D4) * D4 + e % D4] = unpackHalf4(vr[3]); }
    workgroupBarrier();
    if (kNext < kvEnd) {
    {
      let e = tid + 0u;
      let n = kNext + e / D4;
      kr[0] = vec2<u32>();
      if (n < params.seqK) { kr[0] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = kNext + e / D4;
      kr[1] = vec2<u32>();
      if (n < params.seqK) { kr[1] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 512u;
      let n = kNext + e / D4;
      kr[2] = vec2<u32>();
      if (n < params.seqK) { kr[2] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 768u;
      let n = kNext + e / D4;
      kr[3] = vec2<u32>();
      if (n < params.seqK) { kr[3] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 0u;
      let n = kNext + e / D4;
      vr[0] = vec2<u32>();
      if (n < params.seqK) { vr[0] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = kNext + e / D4;
      vr[1] = vec2<u32>();
      if (n < params.seqK) { vr[1] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 512u;
      let n = kNext + e / D4;
      vr[2] = vec2<u32>();
      if (n < params.seqK) { vr[2] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 768u;
      let n = kNext + e / D4;
      vr[3] = vec2<u32>();
      if (n < params.seqK) { vr[3] = v[vBase + n * params.vsn + e % D4]; }
    }
    }

    // S = Q Kᵀ for this invocation's RM rows × CN keys (keys tx + TX·c).
    var s = array<f32, 16>();
    for (var d = 0u; d < D4; d++) {
      let kv0 = Ks[(tx + 0u) * D4 + ((d) ^ ((tx + 0u) & (D4 - 1u)))];
      let kv1 = Ks[(tx + 16u) * D4 + ((d) ^ ((tx + 16u) & (D4 - 1u)))];
      let kv2 = Ks[(tx + 32u) * D4 + ((d) ^ ((tx + 32u) & (D4 - 1u)))];
      let kv3 = Ks[(tx + 48u) * D4 + ((d) ^ ((tx + 48u) & (D4 - 1u)))];
      let qv0 = Qs[(ty * RM + 0u) * D4 + d];
      let qv1 = Qs[(ty * RM + 1u) * D4 + d];
      let qv2 = Qs[(ty * RM + 2u) * D4 + d];
      let qv3 = Qs[(ty * RM + 3u) * D4 + d];
      s[0] = fma(qv0.w, kv0.w, fma(qv0.z, kv0.z, fma(qv0.y, kv0.y, fma(qv0.x, kv0.x, s[0]))));
      s[1] = fma(qv0.w, kv1.w, fma(qv0.z, kv1.z, fma(qv0.y, kv1.y, fma(qv0.x, kv1.x, s[1]))));
      s[2] = fma(qv0.w, kv2.w, fma(qv0.z, kv2.z, fma(qv0.y, kv2.y, fma(qv0.x, kv2.x, s[2]))));
      s[3] = fma(qv0.w, kv3.w, fma(qv0.z, kv3.z, fma(qv0.y, kv3.y, fma(qv0.x, kv3.x, s[3]))));
      s[4] = fma(qv1.w, kv0.w, fma(qv1.z, kv0.z, fma(qv1.y, kv0.y, fma(qv1.x, kv0.x, s[4]))));
      s[5] = fma(qv1.w, kv1.w, fma(qv1.z, kv1.z, fma(qv1.y, kv1.y, fma(qv1.x, kv1.x, s[5]))));
      s[6] = fma(qv1.w, kv2.w, fma(qv1.z, kv2.z, fma(qv1.y, kv2.y, fma(qv1.x, kv2.x, s[6]))));
      s[7] = fma(qv1.w, kv3.w, fma(qv1.z, kv3.z, fma(qv1.y, kv3.y, fma(qv1.x, kv3.x, s[7]))));
      s[8] = fma(qv2.w, kv0.w, fma(qv2.z, kv0.z, fma(qv2.y, kv0.y, fma(qv2.x, kv0.x, s[8]))));
      s[9] = fma(qv2.w, kv1.w, fma(qv2.z, kv1.z, fma(qv2.y, kv1.y, fma(qv2.x, kv1.x, s[9]))));
      s[10] = fma(qv2.w, kv2.w, fma(qv2.z, kv2.z, fma(qv2.y, kv2.y, fma(qv2.x, kv2.x, s[10]))));
      s[11] = fma(qv2.w, kv3.w, fma(qv2.z, kv3.z, fma(qv2.y, kv3.y, fma(qv2.x, kv3.x, s[11]))));
      s[12] = fma(qv3.w, kv0.w, fma(qv3.z, kv0.z, fma(qv3.y, kv0.y, fma(qv3.x, kv0.x, s[12]))));
      s[13] = fma(qv3.w, kv1.w, fma(qv3.z, kv1.z, fma(qv3.y, kv1.y, fma(qv3.x, kv1.x, s[13]))));
      s[14] = fma(qv3.w, kv2.w, fma(qv3.z, kv2.z, fma(qv3.y, kv2.y, fma(qv3.x, kv2.x, s[14]))));
      s[15] = fma(qv3.w, kv3.w, fma(qv3.z, kv3.z, fma(qv3.y, kv3.y, fma(qv3.x, kv3.x, s[15]))));
    }

    // Scale, mask (only ragged-end and causal-diagonal tiles need it), and this
    // invocation's share of each row max.
    let interior = k0 + BC <= params.seqK && (!CAUSAL || i32(k0 + BC - 1u) <= i32(q0) + params.causalOffset);
    var mxr: array<f32, 4>;
    if (interior) {
      {
        var mx = MASKED;
        s[0] = s[0] * params.qkScale;
        mx = max(mx, s[0]);
        s[1] = s[1] * params.qkScale;
        mx = max(mx, s[1]);
        s[2] = s[2] * params.qkScale;
        mx = max(mx, s[2]);
        s[3] = s[3] * params.qkScale;
        mx = max(mx, s[3]);
        mxr[0] = max(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), subgroupShuffleXor(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), 8u));
      }
      {
        var mx = MASKED;
        s[4] = s[4] * params.qkScale;
        mx = max(mx, s[4]);
        s[5] = s[5] * params.qkScale;
        mx = max(mx, s[5]);
        s[6] = s[6] * params.qkScale;
        mx = max(mx, s[6]);
        s[7] = s[7] * params.qkScale;
        mx = max(mx, s[7]);
        mxr[1] = max(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), subgroupShuffleXor(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), 8u));
      }
      {
        var mx = MASKED;
        s[8] = s[8] * params.qkScale;
        mx = max(mx, s[8]);
        s[9] = s[9] * params.qkScale;
        mx = max(mx, s[9]);
        s[10] = s[10] * params.qkScale;
        mx = max(mx, s[10]);
        s[11] = s[11] * params.qkScale;
        mx = max(mx, s[11]);
        mxr[2] = max(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), subgroupShuffleXor(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), 8u));
      }
      {
        var mx = MASKED;
        s[12] = s[12] * params.qkScale;
        mx = max(mx, s[12]);
        s[13] = s[13] * params.qkScale;
        mx = max(mx, s[13]);
        s[14] = s[14] * params.qkScale;
        mx = max(mx, s[14]);
        s[15] = s[15] * params.qkScale;
        mx = max(mx, s[15]);
        mxr[3] = max(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), subgroupShuffleXor(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), 8u));
      }
    } else {
      {
        let i = i32((q0 + ty * RM + 0u)) + params.causalOffset;
        var mx = MASKED;
        s[0] = select(MASKED, s[0] * params.qkScale, k0 + tx + 0u < params.seqK && (!CAUSAL || i32(k0 + tx + 0u) <= i));
        mx = max(mx, s[0]);
        s[1] = select(MASKED, s[1] * params.qkScale, k0 + tx + 16u < params.seqK && (!CAUSAL || i32(k0 + tx + 16u) <= i));
        mx = max(mx, s[1]);
        s[2] = select(MASKED, s[2] * params.qkScale, k0 + tx + 32u < params.seqK && (!CAUSAL || i32(k0 + tx + 32u) <= i));
        mx = max(mx, s[2]);
        s[3] = select(MASKED, s[3] * params.qkScale, k0 + tx + 48u < params.seqK && (!CAUSAL || i32(k0 + tx + 48u) <= i));
        mx = max(mx, s[3]);
        mxr[0] = max(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), subgroupShuffleXor(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), 8u));
      }
      {
        let i = i32((q0 + ty * RM + 1u)) + params.causalOffset;
        var mx = MASKED;
        s[4] = select(MASKED, s[4] * params.qkScale, k0 + tx + 0u < params.seqK && (!CAUSAL || i32(k0 + tx + 0u) <= i));
        mx = max(mx, s[4]);
        s[5] = select(MASKED, s[5] * params.qkScale, k0 + tx + 16u < params.seqK && (!CAUSAL || i32(k0 + tx + 16u) <= i));
        mx = max(mx, s[5]);
        s[6] = select(MASKED, s[6] * params.qkScale, k0 + tx + 32u < params.seqK && (!CAUSAL || i32(k0 + tx + 32u) <= i));
        mx = max(mx, s[6]);
        s[7] = select(MASKED, s[7] * params.qkScale, k0 + tx + 48u < params.seqK && (!CAUSAL || i32(k0 + tx + 48u) <= i));
        mx = max(mx, s[7]);
        mxr[1] = max(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), subgroupShuffleXor(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), 8u));
      }
      {
        let i = i32((q0 + ty * RM + 2u)) + params.causalOffset;
        var mx = MASKED;
        s[8] = select(MASKED, s[8] * params.qkScale, k0 + tx + 0u < params.seqK && (!CAUSAL || i32(k0 + tx + 0u) <= i));
        mx = max(mx, s[8]);
        s[9] = select(MASKED, s[9] * params.qkScale, k0 + tx + 16u < params.seqK && (!CAUSAL || i32(k0 + tx + 16u) <= i));
        mx = max(mx, s[9]);
        s[10] = select(MASKED, s[10] * params.qkScale, k0 + tx + 32u < params.seqK && (!CAUSAL || i32(k0 + tx + 32u) <= i));
        mx = max(mx, s[10]);
        s[11] = select(MASKED, s[11] * params.qkScale, k0 + tx + 48u < params.seqK && (!CAUSAL || i32(k0 + tx + 48u) <= i));
        mx = max(mx, s[11]);
        mxr[2] = max(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), subgroupShuffleXor(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), 8u));
      }
      {
        let i = i32((q0 + ty * RM + 3u)) + params.causalOffset;
        var mx = MASKED;
        s[12] = select(MASKED, s[12] * params.qkScale, k0 + tx + 0u < params.seqK && (!CAUSAL || i32(k0 + tx + 0u) <= i));
        mx = max(mx, s[12]);
        s[13] = select(MASKED, s[13] * params.qkScale, k0 + tx + 16u < params.seqK && (!CAUSAL || i32(k0 + tx + 16u) <= i));
        mx = max(mx, s[13]);
        s[14] = select(MASKED, s[14] * params.qkScale, k0 + tx + 32u < params.seqK && (!CAUSAL || i32(k0 + tx + 32u) <= i));
        mx = max(mx, s[14]);
        s[15] = select(MASKED, s[15] * params.qkScale, k0 + tx + 48u < params.seqK && (!CAUSAL || i32(k0 + tx + 48u) <= i));
        mx = max(mx, s[15]);
        mxr[3] = max(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), subgroupShuffleXor(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), 8u));
      }
    }
    workgroupBarrier(); // row maxima visible; V or P may go into Ks next, which every invocation has just read

    // Online softmax: new row max, rescale l and acc, P to workgroup memory.
    {
      let mNew = max(m[0], mxr[0]);
      let alpha = exp2(m[0] - mNew);
      m[0] = mNew;
      var rowSum = 0.0;
      {
        let sc = s[0];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 0u;
        Ks[(ty * RM + 0u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      {
        let sc = s[1];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 16u;
        Ks[(ty * RM + 0u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      {
        let sc = s[2];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 32u;
        Ks[(ty * RM + 0u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      {
        let sc = s[3];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 48u;
        Ks[(ty * RM + 0u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      l[0] = l[0] * alpha + rowSum;
      acc[0] *= alpha;
    }
    {
      let mNew = max(m[1], mxr[1]);
      let alpha = exp2(m[1] - mNew);
      m[1] = mNew;
      var rowSum = 0.0;
      {
        let sc = s[4];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 0u;
        Ks[(ty * RM + 1u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      {
        let sc = s[5];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 16u;
        Ks[(ty * RM + 1u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      {
        let sc = s[6];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 32u;
        Ks[(ty * RM + 1u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      {
        let sc = s[7];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 48u;
        Ks[(ty * RM + 1u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      l[1] = l[1] * alpha + rowSum;
      acc[1] *= alpha;
    }
    {
      let mNew = max(m[2], mxr[2]);
      let alpha = exp2(m[2] - mNew);
      m[2] = mNew;
      var rowSum = 0.0;
      {
        let sc = s[8];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 0u;
        Ks[(ty * RM + 2u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      {
        let sc = s[9];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 16u;
        Ks[(ty * RM + 2u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      {
        let sc = s[10];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 32u;
        Ks[(ty * RM + 2u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      {
        let sc = s[11];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 48u;
        Ks[(ty * RM + 2u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      l[2] = l[2] * alpha + rowSum;
      acc[2] *= alpha;
    }
    {
      let mNew = max(m[3], mxr[3]);
      let alpha = exp2(m[3] - mNew);
      m[3] = mNew;
      var rowSum = 0.0;
      {
        let sc = s[12];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 0u;
        Ks[(ty * RM + 3u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      {
        let sc = s[13];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 16u;
        Ks[(ty * RM + 3u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      {
        let sc = s[14];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 32u;
        Ks[(ty * RM + 3u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      {
        let sc = s[15];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 48u;
        Ks[(ty * RM + 3u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      l[3] = l[3] * alpha + rowSum;
      acc[3] *= alpha;
    }


    workgroupBarrier();

    // acc += P V for this invocation's RM rows × OC vec4 columns (columns tx + TX·c).
    // Where keys can be masked, a masked key's V must not reach the row even when it is
    // inf or NaN (0·inf = NaN would be invented): those tiles skip it explicitly.
    if (interior) {
    for (var j4 = 0u; j4 < BC / 4u; j4++) {
      let pv0 = Ks[(ty * RM + 0u) * (BC / 4u) + j4];
      let pv1 = Ks[(ty * RM + 1u) * (BC / 4u) + j4];
      let pv2 = Ks[(ty * RM + 2u) * (BC / 4u) + j4];
      let pv3 = Ks[(ty * RM + 3u) * (BC / 4u) + j4];
      {
        let vv = Vs[(j4 * 4u + 0u) * D4 + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.x), vv, acc[0]);
        acc[1] = fma(vec4<f32>(pv1.x), vv, acc[1]);
        acc[2] = fma(vec4<f32>(pv2.x), vv, acc[2]);
        acc[3] = fma(vec4<f32>(pv3.x), vv, acc[3]);
      }
      {
        let vv = Vs[(j4 * 4u + 1u) * D4 + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.y), vv, acc[0]);
        acc[1] = fma(vec4<f32>(pv1.y), vv, acc[1]);
        acc[2] = fma(vec4<f32>(pv2.y), vv, acc[2]);
        acc[3] = fma(vec4<f32>(pv3.y), vv, acc[3]);
      }
      {
        let vv = Vs[(j4 * 4u + 2u) * D4 + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.z), vv, acc[0]);
        acc[1] = fma(vec4<f32>(pv1.z), vv, acc[1]);
        acc[2] = fma(vec4<f32>(pv2.z), vv, acc[2]);
        acc[3] = fma(vec4<f32>(pv3.z), vv, acc[3]);
      }
      {
        let vv = Vs[(j4 * 4u + 3u) * D4 + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.w), vv, acc[0]);
        acc[1] = fma(vec4<f32>(pv1.w), vv, acc[1]);
        acc[2] = fma(vec4<f32>(pv2.w), vv, acc[2]);
        acc[3] = fma(vec4<f32>(pv3.w), vv, acc[3]);
      }
    }
    } else {
    for (var j4 = 0u; j4 < BC / 4u; j4++) {
      let pv0 = Ks[(ty * RM + 0u) * (BC / 4u) + j4];
      let pv1 = Ks[(ty * RM + 1u) * (BC / 4u) + j4];
      let pv2 = Ks[(ty * RM + 2u) * (BC / 4u) + j4];
      let pv3 = Ks[(ty * RM + 3u) * (BC / 4u) + j4];
      {
        let vv = Vs[(j4 * 4u + 0u) * D4 + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.x), select(vec4<f32>(0.0), vv, pv0.x != 0.0), acc[0]);
        acc[1] = fma(vec4<f32>(pv1.x), select(vec4<f32>(0.0), vv, pv1.x != 0.0), acc[1]);
        acc[2] = fma(vec4<f32>(pv2.x), select(vec4<f32>(0.0), vv, pv2.x != 0.0), acc[2]);
        acc[3] = fma(vec4<f32>(pv3.x), select(vec4<f32>(0.0), vv, pv3.x != 0.0), acc[3]);
      }
      {
        let vv = Vs[(j4 * 4u + 1u) * D4 + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.y), select(vec4<f32>(0.0), vv, pv0.y != 0.0), acc[0]);
        acc[1] = fma(vec4<f32>(pv1.y), select(vec4<f32>(0.0), vv, pv1.y != 0.0), acc[1]);
        acc[2] = fma(vec4<f32>(pv2.y), select(vec4<f32>(0.0), vv, pv2.y != 0.0), acc[2]);
        acc[3] = fma(vec4<f32>(pv3.y), select(vec4<f32>(0.0), vv, pv3.y != 0.0), acc[3]);
      }
      {
        let vv = Vs[(j4 * 4u + 2u) * D4 + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.z), select(vec4<f32>(0.0), vv, pv0.z != 0.0), acc[0]);
        acc[1] = fma(vec4<f32>(pv1.z), select(vec4<f32>(0.0), vv, pv1.z != 0.0), acc[1]);
        acc[2] = fma(vec4<f32>(pv2.z), select(vec4<f32>(0.0), vv, pv2.z != 0.0), acc[2]);
        acc[3] = fma(vec4<f32>(pv3.z), select(vec4<f32>(0.0), vv, pv3.z != 0.0), acc[3]);
      }
      {
        let vv = Vs[(j4 * 4u + 3u) * D4 + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.w), select(vec4<f32>(0.0), vv, pv0.w != 0.0), acc[0]);
        acc[1] = fma(vec4<f32>(pv1.w), select(vec4<f32>(0.0), vv, pv1.w != 0.0), acc[1]);
        acc[2] = fma(vec4<f32>(pv2.w), select(vec4<f32>(0.0), vv, pv2.w != 0.0), acc[2]);
        acc[3] = fma(vec4<f32>(pv3.w), select(vec4<f32>(0.0), vv, pv3.w != 0.0), acc[3]);
      }
    }
    }
    k0 = kNext;
  }

  // Reduce the partial denominators of each row, then O = acc / l and LSE.
  var lr: array<f32, 4>;
  lr[0] = l[0] + subgroupShuffleXor(l[0], 1u) + subgroupShuffleXor(l[0] + subgroupShuffleXor(l[0], 1u), 2u) + subgroupShuffleXor(l[0] + subgroupShuffleXor(l[0], 1u) + subgroupShuffleXor(l[0] + subgroupShuffleXor(l[0], 1u), 2u), 4u) + subgroupShuffleXor(l[0] + subgroupShuffleXor(l[0], 1u) + subgroupShuffleXor(l[0] + subgroupShuffleXor(l[0], 1u), 2u) + subgroupShuffleXor(l[0] + subgroupShuffleXor(l[0], 1u) + subgroupShuffleXor(l[0] + subgroupShuffleXor(l[0], 1u), 2u), 4u), 8u);
  lr[1] = l[1] + subgroupShuffleXor(l[1], 1u) + subgroupShuffleXor(l[1] + subgroupShuffleXor(l[1], 1u), 2u) + subgroupShuffleXor(l[1] + subgroupShuffleXor(l[1], 1u) + subgroupShuffleXor(l[1] + subgroupShuffleXor(l[1], 1u), 2u), 4u) + subgroupShuffleXor(l[1] + subgroupShuffleXor(l[1], 1u) + subgroupShuffleXor(l[1] + subgroupShuffleXor(l[1], 1u), 2u) + subgroupShuffleXor(l[1] + subgroupShuffleXor(l[1], 1u) + subgroupShuffleXor(l[1] + subgroupShuffleXor(l[1], 1u), 2u), 4u), 8u);
  lr[2] = l[2] + subgroupShuffleXor(l[2], 1u) + subgroupShuffleXor(l[2] + subgroupShuffleXor(l[2], 1u), 2u) + subgroupShuffleXor(l[2] + subgroupShuffleXor(l[2], 1u) + subgroupShuffleXor(l[2] + subgroupShuffleXor(l[2], 1u), 2u), 4u) + subgroupShuffleXor(l[2] + subgroupShuffleXor(l[2], 1u) + subgroupShuffleXor(l[2] + subgroupShuffleXor(l[2], 1u), 2u) + subgroupShuffleXor(l[2] + subgroupShuffleXor(l[2], 1u) + subgroupShuffleXor(l[2] + subgroupShuffleXor(l[2], 1u), 2u), 4u), 8u);
  lr[3] = l[3] + subgroupShuffleXor(l[3], 1u) + subgroupShuffleXor(l[3] + subgroupShuffleXor(l[3], 1u), 2u) + subgroupShuffleXor(l[3] + subgroupShuffleXor(l[3], 1u) + subgroupShuffleXor(l[3] + subgroupShuffleXor(l[3], 1u), 2u), 4u) + subgroupShuffleXor(l[3] + subgroupShuffleXor(l[3], 1u) + subgroupShuffleXor(l[3] + subgroupShuffleXor(l[3], 1u), 2u) + subgroupShuffleXor(l[3] + subgroupShuffleXor(l[3], 1u) + subgroupShuffleXor(l[3] + subgroupShuffleXor(l[3], 1u), 2u), 4u), 8u);
  {
    let i = (q0 + ty * RM + 0u);
    let hr = h;
    let lt = lr[0];
    let mF = m[0];
    let keep = 1.0;
    let lF = lt;
    let lseF = lseOf(mF, lF);
    if ((q0 + ty * RM + 0u) < params.seqQ) {
      let rowBase = b * params.qsb + hr * params.qsh - params.qOff + i * params.qsn;
      // A row with a NaN score keeps its NaN (lF is NaN), like the reference.
      let inv = select(0.0, keep / lF, lF > 0.0 || isNan(lF));
      { o[part * params.oPart + rowBase + tx + 0u] = packHalf4(acc[0] * inv); }
      if (tx == 0u) {
        lse[(b * params.headsQ + hr) * params.seqQ + i - params.lseOff] =
          select(select(params.negInf, lseF, lF > 0.0), params.nan, isNan(lF));
      }
    }
  }
  {
    let i = (q0 + ty * RM + 1u);
    let hr = h;
    let lt = lr[1];
    let mF = m[1];
    let keep = 1.0;
    let lF = lt;
    let lseF = lseOf(mF, lF);
    if ((q0 + ty * RM + 1u) < params.seqQ) {
      let rowBase = b * params.qsb + hr * params.qsh - params.qOff + i * params.qsn;
      // A row with a NaN score keeps its NaN (lF is NaN), like the reference.
      let inv = select(0.0, keep / lF, lF > 0.0 || isNan(lF));
      { o[part * params.oPart + rowBase + tx + 0u] = packHalf4(acc[1] * inv); }
      if (tx == 0u) {
        lse[(b * params.headsQ + hr) * params.seqQ + i - params.lseOff] =
          select(select(params.negInf, lseF, lF > 0.0), params.nan, isNan(lF));
      }
    }
  }
  {
    let i = (q0 + ty * RM + 2u);
    let hr = h;
    let lt = lr[2];
    let mF = m[2];
    let keep = 1.0;
    let lF = lt;
    let lseF = lseOf(mF, lF);
    if ((q0 + ty * RM + 2u) < params.seqQ) {
      let rowBase = b * params.qsb + hr * params.qsh - params.qOff + i * params.qsn;
      // A row with a NaN score keeps its NaN (lF is NaN), like the reference.
      let inv = select(0.0, keep / lF, lF > 0.0 || isNan(lF));
      { o[part * params.oPart + rowBase + tx + 0u] = packHalf4(acc[2] * inv); }
      if (tx == 0u) {
        lse[(b * params.headsQ + hr) * params.seqQ + i - params.lseOff] =
          select(select(params.negInf, lseF, lF > 0.0), params.nan, isNan(lF));
      }
    }
  }
  {
    let i = (q0 + ty * RM + 3u);
    let hr = h;
    let lt = lr[3];
    let mF = m[3];
    let keep = 1.0;
    let lF = lt;
    let lseF = lseOf(mF, lF);
    if ((q0 + ty * RM + 3u) < params.seqQ) {
      let rowBase = b * params.qsb + hr * params.qsh - params.qOff + i * params.qsn;
      // A row with a NaN score keeps its NaN (lF is NaN), like the reference.
      let inv = select(0.0, keep / lF, lF > 0.0 || isNan(lF));
      { o[part * params.oPart + rowBase + tx + 0u] = packHalf4(acc[3] * inv); }
      if (tx == 0u) {
        lse[(b * params.headsQ + hr) * params.seqQ + i - params.lseOff] =
          select(select(params.negInf, lseF, lF > 0.0), params.nan, isNan(lF));
      }
    }
  }
}
