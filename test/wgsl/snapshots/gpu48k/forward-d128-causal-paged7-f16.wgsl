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
const TY = 4u;
const RM = 1u;
const NT = TX * TY;
const BR = 4u;
const BC = 16u;
const D4 = 32u;
const KROW = D4 + 1u;
const CAUSAL = true;
const MASKED = -3.0e38;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> k: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> v: array<vec2<u32>>;
@group(0) @binding(4) var<storage, read_write> o: array<vec2<u32>>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<storage, read> aux: array<f32>;
@group(0) @binding(7) var<storage, read> pages: array<u32>;
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
const PAGE = 7u;
// Logical key row n of the batch entry whose page ids start at pages[pageRow]: its page's
// start (pageStride elements per page) plus its row in the page.
fn pagedRow(pageRow: u32, n: u32, pageStride: u32, rowStride: u32) -> u32 {
  return pages[pageRow + n / PAGE] * pageStride + (n % PAGE) * rowStride;
}

var<workgroup> Qs: array<vec4<f32>, 128>;
var<workgroup> Ks: array<vec4<f32>, 528>;

var<workgroup> Ps: array<vec4<f32>, 16>;


@compute @workgroup_size(TX, TY, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let tx = tid % TX;
  let ty = tid / TX;
  let wgLinear = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  let rank = wgLinear / (nwg.y * nwg.z);
  let g = select(wg, vec3<u32>(nwg.x - 1u - rank, wgLinear % nwg.y, (wgLinear / nwg.y) % nwg.z), nwg.x == params.qTiles);
  let b = g.z + params.batchBase;
  // This batch entry's positions: query row i sits at qPos + i, key j at kPos + j.
  let qPos = i32(aux[0u + 2u * b]);
  let kPos = i32(aux[0u + 2u * b + 1u]);
  let causalOffset = qPos - kPos;
  // Paged K/V: this batch entry's key length and where its page ids start.
  let kLen = pages[2u * b];
  let pageRow = pages[2u * b + 1u];
  let h = g.y + params.headBase;
  let part = g.x / params.qTiles; // key range of a split-K call (0 otherwise)
  let qt = g.x % params.qTiles + params.tileBase; // Q tile index (a split call starts some dispatches further down)
  let kvLo = part * params.rangeKeys;
  let q0 = qt * BR;
  let hk = h / params.groupSize;
  // Paged: the pools are bound whole; each row adds its page's start (pagedRow).
  let kBase = hk * params.ksh;
  let vBase = hk * params.vsh;

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
  var acc: array<vec4<f32>, 2>;
  m[0] = MASKED;

  // Causal: no key past the one the tile's last row sees is ever loaded.
  var kvEnd = kLen;
  if (CAUSAL) { kvEnd = u32(clamp(i32(q0 + BR) + causalOffset, 0, i32(kLen))); }
  kvEnd = min(kvEnd, kvLo + params.rangeKeys);

  // K/V tiles pass through registers: tile t+1 is fetched while tile t is computed.
  var kr: array<vec2<u32>, 8>;
  var vr: array<vec2<u32>, 8>;
  // With a block mask, empty tiles are never visited: the loop hops to the next non-empty one.
  let blockRow = b * params.bmB + h * params.bmH + qt * params.bmRow;
  let tileEnd = (kvEnd + BC - 1u) / BC;
  var k0 = kvLo;
    {
      let e = tid + 0u;
      let n = k0 + e / D4;
      kr[0] = vec2<u32>();
      if (n < kLen) { kr[0] = k[kBase + pagedRow(pageRow, n, params.ksb, params.ksn) + e % D4]; }
    }
    {
      let e = tid + 64u;
      let n = k0 + e / D4;
      kr[1] = vec2<u32>();
      if (n < kLen) { kr[1] = k[kBase + pagedRow(pageRow, n, params.ksb, params.ksn) + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = k0 + e / D4;
      kr[2] = vec2<u32>();
      if (n < kLen) { kr[2] = k[kBase + pagedRow(pageRow, n, params.ksb, params.ksn) + e % D4]; }
    }
    {
      let e = tid + 192u;
      let n = k0 + e / D4;
      kr[3] = vec2<u32>();
      if (n < kLen) { kr[3] = k[kBase + pagedRow(pageRow, n, params.ksb, params.ksn) + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = k0 + e / D4;
      kr[4] = vec2<u32>();
      if (n < kLen) { kr[4] = k[kBase + pagedRow(pageRow, n, params.ksb, params.ksn) + e % D4]; }
    }
    {
      let e = tid + 320u;
      let n = k0 + e / D4;
      kr[5] = vec2<u32>();
      if (n < kLen) { kr[5] = k[kBase + pagedRow(pageRow, n, params.ksb, params.ksn) + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = k0 + e / D4;
      kr[6] = vec2<u32>();
      if (n < kLen) { kr[6] = k[kBase + pagedRow(pageRow, n, params.ksb, params.ksn) + e % D4]; }
    }
    {
      let e = tid + 448u;
      let n = k0 + e / D4;
      kr[7] = vec2<u32>();
      if (n < kLen) { kr[7] = k[kBase + pagedRow(pageRow, n, params.ksb, params.ksn) + e % D4]; }
    }
    {
      let e = tid + 0u;
      let n = k0 + e / D4;
      vr[0] = vec2<u32>();
      if (n < kLen) { vr[0] = v[vBase + pagedRow(pageRow, n, params.vsb, params.vsn) + e % D4]; }
    }
    {
      let e = tid + 64u;
      let n = k0 + e / D4;
      vr[1] = vec2<u32>();
      if (n < kLen) { vr[1] = v[vBase + pagedRow(pageRow, n, params.vsb, params.vsn) + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = k0 + e / D4;
      vr[2] = vec2<u32>();
      if (n < kLen) { vr[2] = v[vBase + pagedRow(pageRow, n, params.vsb, params.vsn) + e % D4]; }
    }
    {
      let e = tid + 192u;
      let n = k0 + e / D4;
      vr[3] = vec2<u32>();
      if (n < kLen) { vr[3] = v[vBase + pagedRow(pageRow, n, params.vsb, params.vsn) + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = k0 + e / D4;
      vr[4] = vec2<u32>();
      if (n < kLen) { vr[4] = v[vBase + pagedRow(pageRow, n, params.vsb, params.vsn) + e % D4]; }
    }
    {
      let e = tid + 320u;
      let n = k0 + e / D4;
      vr[5] = vec2<u32>();
      if (n < kLen) { vr[5] = v[vBase + pagedRow(pageRow, n, params.vsb, params.vsn) + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = k0 + e / D4;
      vr[6] = vec2<u32>();
      if (n < kLen) { vr[6] = v[vBase + pagedRow(pageRow, n, params.vsb, params.vsn) + e % D4]; }
    }
    {
      let e = tid + 448u;
      let n = k0 + e / D4;
      vr[7] = vec2<u32>();
      if (n < kLen) { vr[7] = v[vBase + pagedRow(pageRow, n, params.vsb, params.vsn) + e % D4]; }
    }
  loop {
    if (k0 >= kvEnd) { break; }
    let kNext = k0 + BC;
    let full = false;
    workgroupBarrier();
    { let e = tid + 0u; Ks[(e / D4) * KROW + e % D4] = unpackHalf4(kr[0]); }
    { let e = tid + 64u; Ks[(e / D4) * KROW + e % D4] = unpackHalf4(kr[1]); }
    { let e = tid + 128u; Ks[(e / D4) * KROW + e % D4] = unpackHalf4(kr[2]); }
    { let e = tid + 192u; Ks[(e / D4) * KROW + e % D4] = unpackHalf4(kr[3]); }
    { let e = tid + 256u; Ks[(e / D4) * KROW + e % D4] = unpackHalf4(kr[4]); }
    { let e = tid + 320u; Ks[(e / D4) * KROW + e % D4] = unpackHalf4(kr[5]); }
    { let e = tid + 384u; Ks[(e / D4) * KROW + e % D4] = unpackHalf4(kr[6]); }
    { let e = tid + 448u; Ks[(e / D4) * KROW + e % D4] = unpackHalf4(kr[7]); }

    workgroupBarrier();
    if (kNext < kvEnd) {
    {
      let e = tid + 0u;
      let n = kNext + e / D4;
      kr[0] = vec2<u32>();
      if (n < kLen) { kr[0] = k[kBase + pagedRow(pageRow, n, params.ksb, params.ksn) + e % D4]; }
    }
    {
      let e = tid + 64u;
      let n = kNext + e / D4;
      kr[1] = vec2<u32>();
      if (n < kLen) { kr[1] = k[kBase + pagedRow(pageRow, n, params.ksb, params.ksn) + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = kNext + e / D4;
      kr[2] = vec2<u32>();
      if (n < kLen) { kr[2] = k[kBase + pagedRow(pageRow, n, params.ksb, params.ksn) + e % D4]; }
    }
    {
      let e = tid + 192u;
      let n = kNext + e / D4;
      kr[3] = vec2<u32>();
      if (n < kLen) { kr[3] = k[kBase + pagedRow(pageRow, n, params.ksb, params.ksn) + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = kNext + e / D4;
      kr[4] = vec2<u32>();
      if (n < kLen) { kr[4] = k[kBase + pagedRow(pageRow, n, params.ksb, params.ksn) + e % D4]; }
    }
    {
      let e = tid + 320u;
      let n = kNext + e / D4;
      kr[5] = vec2<u32>();
      if (n < kLen) { kr[5] = k[kBase + pagedRow(pageRow, n, params.ksb, params.ksn) + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = kNext + e / D4;
      kr[6] = vec2<u32>();
      if (n < kLen) { kr[6] = k[kBase + pagedRow(pageRow, n, params.ksb, params.ksn) + e % D4]; }
    }
    {
      let e = tid + 448u;
      let n = kNext + e / D4;
      kr[7] = vec2<u32>();
      if (n < kLen) { kr[7] = k[kBase + pagedRow(pageRow, n, params.ksb, params.ksn) + e % D4]; }
    }

    }

    // S = Q Kᵀ for this invocation's RM rows × CN keys (keys tx + TX·c).
    var s = array<f32, 1>();
    for (var d = 0u; d < D4; d++) {
      let kv0 = Ks[(tx + 0u) * KROW + d];
      let qv0 = Qs[(ty * RM + 0u) * D4 + d];
      s[0] = fma(qv0.w, kv0.w, fma(qv0.z, kv0.z, fma(qv0.y, kv0.y, fma(qv0.x, kv0.x, s[0]))));
    }

    // Scale, mask (only ragged-end and causal-diagonal tiles need it), and this
    // invocation's share of each row max.
    let interior = k0 + BC <= kLen && (!CAUSAL || i32(k0 + BC - 1u) <= i32(q0) + causalOffset);
    var mxr: array<f32, 1>;
    if (interior) {
      {
        var mx = MASKED;
        s[0] = s[0] * params.qkScale;
        mx = max(mx, s[0]);
        mxr[0] = max(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), subgroupShuffleXor(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), 8u));
      }
    } else {
      {
        let i = i32((q0 + ty * RM + 0u)) + causalOffset;
        var mx = MASKED;
        s[0] = select(MASKED, s[0] * params.qkScale, k0 + tx + 0u < kLen && (!CAUSAL || i32(k0 + tx + 0u) <= i));
        mx = max(mx, s[0]);
        mxr[0] = max(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), subgroupShuffleXor(max(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), subgroupShuffleXor(max(max(mx, subgroupShuffleXor(mx, 1u)), subgroupShuffleXor(max(mx, subgroupShuffleXor(mx, 1u)), 2u)), 4u)), 8u));
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
        Ps[(ty * RM + 0u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      l[0] = l[0] * alpha + rowSum;
      acc[0] *= alpha;
      acc[1] *= alpha;
    }
    { let e = tid + 0u; Ks[(e / D4) * KROW + e % D4] = unpackHalf4(vr[0]); }
    { let e = tid + 64u; Ks[(e / D4) * KROW + e % D4] = unpackHalf4(vr[1]); }
    { let e = tid + 128u; Ks[(e / D4) * KROW + e % D4] = unpackHalf4(vr[2]); }
    { let e = tid + 192u; Ks[(e / D4) * KROW + e % D4] = unpackHalf4(vr[3]); }
    { let e = tid + 256u; Ks[(e / D4) * KROW + e % D4] = unpackHalf4(vr[4]); }
    { let e = tid + 320u; Ks[(e / D4) * KROW + e % D4] = unpackHalf4(vr[5]); }
    { let e = tid + 384u; Ks[(e / D4) * KROW + e % D4] = unpackHalf4(vr[6]); }
    { let e = tid + 448u; Ks[(e / D4) * KROW + e % D4] = unpackHalf4(vr[7]); }
    if (kNext < kvEnd) {
    {
      let e = tid + 0u;
      let n = kNext + e / D4;
      vr[0] = vec2<u32>();
      if (n < kLen) { vr[0] = v[vBase + pagedRow(pageRow, n, params.vsb, params.vsn) + e % D4]; }
    }
    {
      let e = tid + 64u;
      let n = kNext + e / D4;
      vr[1] = vec2<u32>();
      if (n < kLen) { vr[1] = v[vBase + pagedRow(pageRow, n, params.vsb, params.vsn) + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = kNext + e / D4;
      vr[2] = vec2<u32>();
      if (n < kLen) { vr[2] = v[vBase + pagedRow(pageRow, n, params.vsb, params.vsn) + e % D4]; }
    }
    {
      let e = tid + 192u;
      let n = kNext + e / D4;
      vr[3] = vec2<u32>();
      if (n < kLen) { vr[3] = v[vBase + pagedRow(pageRow, n, params.vsb, params.vsn) + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = kNext + e / D4;
      vr[4] = vec2<u32>();
      if (n < kLen) { vr[4] = v[vBase + pagedRow(pageRow, n, params.vsb, params.vsn) + e % D4]; }
    }
    {
      let e = tid + 320u;
      let n = kNext + e / D4;
      vr[5] = vec2<u32>();
      if (n < kLen) { vr[5] = v[vBase + pagedRow(pageRow, n, params.vsb, params.vsn) + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = kNext + e / D4;
      vr[6] = vec2<u32>();
      if (n < kLen) { vr[6] = v[vBase + pagedRow(pageRow, n, params.vsb, params.vsn) + e % D4]; }
    }
    {
      let e = tid + 448u;
      let n = kNext + e / D4;
      vr[7] = vec2<u32>();
      if (n < kLen) { vr[7] = v[vBase + pagedRow(pageRow, n, params.vsb, params.vsn) + e % D4]; }
    }
    }
    workgroupBarrier();

    // acc += P V for this invocation's RM rows × OC vec4 columns (columns tx + TX·c).
    // Where keys can be masked, a masked key's V must not reach the row even when it is
    // inf or NaN (0·inf = NaN would be invented): those tiles skip it explicitly.
    if (interior) {
    for (var j4 = 0u; j4 < BC / 4u; j4++) {
      let pv0 = Ps[(ty * RM + 0u) * (BC / 4u) + j4];
      {
        let vv = Ks[(j4 * 4u + 0u) * KROW + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.x), vv, acc[0]);
      }
      {
        let vv = Ks[(j4 * 4u + 0u) * KROW + tx + 16u];
        acc[1] = fma(vec4<f32>(pv0.x), vv, acc[1]);
      }
      {
        let vv = Ks[(j4 * 4u + 1u) * KROW + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.y), vv, acc[0]);
      }
      {
        let vv = Ks[(j4 * 4u + 1u) * KROW + tx + 16u];
        acc[1] = fma(vec4<f32>(pv0.y), vv, acc[1]);
      }
      {
        let vv = Ks[(j4 * 4u + 2u) * KROW + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.z), vv, acc[0]);
      }
      {
        let vv = Ks[(j4 * 4u + 2u) * KROW + tx + 16u];
        acc[1] = fma(vec4<f32>(pv0.z), vv, acc[1]);
      }
      {
        let vv = Ks[(j4 * 4u + 3u) * KROW + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.w), vv, acc[0]);
      }
      {
        let vv = Ks[(j4 * 4u + 3u) * KROW + tx + 16u];
        acc[1] = fma(vec4<f32>(pv0.w), vv, acc[1]);
      }
    }
    } else {
    for (var j4 = 0u; j4 < BC / 4u; j4++) {
      let pv0 = Ps[(ty * RM + 0u) * (BC / 4u) + j4];
      {
        let vv = Ks[(j4 * 4u + 0u) * KROW + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.x), select(vec4<f32>(0.0), vv, pv0.x != 0.0), acc[0]);
      }
      {
        let vv = Ks[(j4 * 4u + 0u) * KROW + tx + 16u];
        acc[1] = fma(vec4<f32>(pv0.x), select(vec4<f32>(0.0), vv, pv0.x != 0.0), acc[1]);
      }
      {
        let vv = Ks[(j4 * 4u + 1u) * KROW + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.y), select(vec4<f32>(0.0), vv, pv0.y != 0.0), acc[0]);
      }
      {
        let vv = Ks[(j4 * 4u + 1u) * KROW + tx + 16u];
        acc[1] = fma(vec4<f32>(pv0.y), select(vec4<f32>(0.0), vv, pv0.y != 0.0), acc[1]);
      }
      {
        let vv = Ks[(j4 * 4u + 2u) * KROW + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.z), select(vec4<f32>(0.0), vv, pv0.z != 0.0), acc[0]);
      }
      {
        let vv = Ks[(j4 * 4u + 2u) * KROW + tx + 16u];
        acc[1] = fma(vec4<f32>(pv0.z), select(vec4<f32>(0.0), vv, pv0.z != 0.0), acc[1]);
      }
      {
        let vv = Ks[(j4 * 4u + 3u) * KROW + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.w), select(vec4<f32>(0.0), vv, pv0.w != 0.0), acc[0]);
      }
      {
        let vv = Ks[(j4 * 4u + 3u) * KROW + tx + 16u];
        acc[1] = fma(vec4<f32>(pv0.w), select(vec4<f32>(0.0), vv, pv0.w != 0.0), acc[1]);
      }
    }
    }
    k0 = kNext;
  }

  // Reduce the partial denominators of each row, then O = acc / l and LSE.
  var lr: array<f32, 1>;
  lr[0] = l[0] + subgroupShuffleXor(l[0], 1u) + subgroupShuffleXor(l[0] + subgroupShuffleXor(l[0], 1u), 2u) + subgroupShuffleXor(l[0] + subgroupShuffleXor(l[0], 1u) + subgroupShuffleXor(l[0] + subgroupShuffleXor(l[0], 1u), 2u), 4u) + subgroupShuffleXor(l[0] + subgroupShuffleXor(l[0], 1u) + subgroupShuffleXor(l[0] + subgroupShuffleXor(l[0], 1u), 2u) + subgroupShuffleXor(l[0] + subgroupShuffleXor(l[0], 1u) + subgroupShuffleXor(l[0] + subgroupShuffleXor(l[0], 1u), 2u), 4u), 8u);
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
      { o[part * params.oPart + rowBase + tx + 16u] = packHalf4(acc[1] * inv); }
      if (tx == 0u) {
        lse[(b * params.headsQ + hr) * params.seqQ + i - params.lseOff] =
          select(select(params.negInf, lseF, lF > 0.0), params.nan, isNan(lF));
      }
    }
  }
}
