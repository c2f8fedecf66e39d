
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
const TY = 8u;
const RM = 2u;
const NT = TX * TY;
const BR = 16u;
const BC = 32u;
const D4 = 32u;
const KROW = D4 + 1u;
const CAUSAL = true;
const MASKED = -3.0e38;

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
@group(0) @binding(6) var<storage, read> aux: array<f32>;
@group(0) @binding(7) var<storage, read> blocks: array<u32>;
fn scoreMod(score: f32, b: i32, h: i32, q: i32, kv: i32) -> f32 {
  let t0 = score;
  let t1 = h;
  let t2 = aux[0u + u32(clamp(t1, 0i, 7i))];
  let t3 = kv;
  let t4 = q;
  let t5 = (t3 - t4);
  let t6 = f32(t5);
  let t7 = (t2 * t6);
  let t8 = (t0 + t7);
  return t8;
}
fn maskMod(b: i32, h: i32, q: i32, kv: i32) -> bool {
  let t0 = kv;
  let t1 = q;
  let t2 = (t0 <= t1);
  let t3 = (t1 - t0);
  let t4 = i32(64);
  let t5 = (t3 < t4);
  let t6 = (t2 && t5);
  return t6;
}
fn nextTile(row: u32, start: u32, end: u32) -> u32 {
  var t = start;
  loop {
    if (t >= end || blocks[row + t] != 0u) { break; }
    t++;
  }
  return t;
}
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn lseOf(m: f32, l: f32) -> f32 {
  return fma(m, 0.6931471824645996, fma(m, -1.904654323148236e-9, log(l)));
}

var<workgroup> Qs: array<vec4<f32>, 512>;
var<workgroup> Ks: array<vec4<f32>, 1056>;

var<workgroup> Ps: array<vec4<f32>, 128>;
var<workgroup> red: array<f32, 256>;

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
      x = q[b * params.qsb + hr * params.qsh - params.qOff + pr * params.qsn + i % D4];
    }
    Qs[i] = x;
  }

  var m: array<f32, RM>;
  var l: array<f32, RM>;
  var acc: array<vec4<f32>, 4>;
  m[0] = MASKED;
  m[1] = MASKED;

  // Causal: no key past the one the tile's last row sees is ever loaded.
  var kvEnd = params.seqK;
  if (CAUSAL) { kvEnd = u32(clamp(i32(q0 + BR) + params.causalOffset, 0, i32(params.seqK))); }
  kvEnd = min(kvEnd, kvLo + params.rangeKeys);

  // K/V tiles pass through registers: tile t+1 is fetched while tile t is computed.
  var kr: array<vec4<f32>, 8>;
  var vr: array<vec4<f32>, 8>;
  // With a block mask, empty tiles are never visited: the loop hops to the next non-empty one.
  let blockRow = b * params.bmB + h * params.bmH + qt * params.bmRow;
  let tileEnd = (kvEnd + BC - 1u) / BC;
  var k0 = nextTile(blockRow, kvLo / BC, tileEnd) * BC;
    {
      let e = tid + 0u;
      let n = k0 + e / D4;
      kr[0] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[0] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = k0 + e / D4;
      kr[1] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[1] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = k0 + e / D4;
      kr[2] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[2] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = k0 + e / D4;
      kr[3] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[3] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 512u;
      let n = k0 + e / D4;
      kr[4] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[4] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 640u;
      let n = k0 + e / D4;
      kr[5] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[5] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 768u;
      let n = k0 + e / D4;
      kr[6] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[6] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 896u;
      let n = k0 + e / D4;
      kr[7] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[7] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 0u;
      let n = k0 + e / D4;
      vr[0] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[0] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = k0 + e / D4;
      vr[1] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[1] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = k0 + e / D4;
      vr[2] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[2] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = k0 + e / D4;
      vr[3] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[3] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 512u;
      let n = k0 + e / D4;
      vr[4] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[4] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 640u;
      let n = k0 + e / D4;
      vr[5] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[5] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 768u;
      let n = k0 + e / D4;
      vr[6] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[6] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 896u;
      let n = k0 + e / D4;
      vr[7] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[7] = v[vBase + n * params.vsn + e % D4]; }
    }
  loop {
    if (k0 >= kvEnd) { break; }
    let kNext = nextTile(blockRow, k0 / BC + 1u, tileEnd) * BC;
    let full = blocks[blockRow + k0 / BC] == 2u;
    workgroupBarrier();
    { let e = tid + 0u; Ks[(e / D4) * KROW + e % D4] = kr[0]; }
    { let e = tid + 128u; Ks[(e / D4) * KROW + e % D4] = kr[1]; }
    { let e = tid + 256u; Ks[(e / D4) * KROW + e % D4] = kr[2]; }
    { let e = tid + 384u; Ks[(e / D4) * KROW + e % D4] = kr[3]; }
    { let e = tid + 512u; Ks[(e / D4) * KROW + e % D4] = kr[4]; }
    { let e = tid + 640u; Ks[(e / D4) * KROW + e % D4] = kr[5]; }
    { let e = tid + 768u; Ks[(e / D4) * KROW + e % D4] = kr[6]; }
    { let e = tid + 896u; Ks[(e / D4) * KROW + e % D4] = kr[7]; }

    workgroupBarrier();
    if (kNext < kvEnd) {
    {
      let e = tid + 0u;
      let n = kNext + e / D4;
      kr[0] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[0] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = kNext + e / D4;
      kr[1] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[1] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = kNext + e / D4;
      kr[2] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[2] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = kNext + e / D4;
      kr[3] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[3] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 512u;
      let n = kNext + e / D4;
      kr[4] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[4] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 640u;
      let n = kNext + e / D4;
      kr[5] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[5] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 768u;
      let n = kNext + e / D4;
      kr[6] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[6] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 896u;
      let n = kNext + e / D4;
      kr[7] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[7] = k[kBase + n * params.ksn + e % D4]; }
    }

    }

    // S = Q Kᵀ for this invocation's RM rows × CN keys (keys tx + TX·c).
    var s = array<f32, 4>();
    for (var d = 0u; d < D4; d++) {
      let kv0 = Ks[(tx + 0u) * KROW + d];
      let kv1 = Ks[(tx + 16u) * KROW + d];
      let qv0 = Qs[(ty * RM + 0u) * D4 + d];
      let qv1 = Qs[(ty * RM + 1u) * D4 + d];
      s[0] = fma(qv0.w, kv0.w, fma(qv0.z, kv0.z, fma(qv0.y, kv0.y, fma(qv0.x, kv0.x, s[0]))));
      s[1] = fma(qv0.w, kv1.w, fma(qv0.z, kv1.z, fma(qv0.y, kv1.y, fma(qv0.x, kv1.x, s[1]))));
      s[2] = fma(qv1.w, kv0.w, fma(qv1.z, kv0.z, fma(qv1.y, kv0.y, fma(qv1.x, kv0.x, s[2]))));
      s[3] = fma(qv1.w, kv1.w, fma(qv1.z, kv1.z, fma(qv1.y, kv1.y, fma(qv1.x, kv1.x, s[3]))));
    }

    // Scale, mask (only ragged-end and causal-diagonal tiles need it), and this
    // invocation's share of each row max.
    let interior = k0 + BC <= params.seqK && (!CAUSAL || i32(k0 + BC - 1u) <= i32(q0) + params.causalOffset);

    if (interior) {
      {
        let qi = i32((q0 + ty * RM + 0u));
        var mx = MASKED;
        s[0] = select(MASKED, scoreMod(s[0] * params.scale, i32(b), i32(h), qi, i32(k0 + tx + 0u)) * 1.4426950408889634, (full || maskMod(i32(b), i32(h), qi, i32(k0 + tx + 0u))));
        mx = max(mx, s[0]);
        s[1] = select(MASKED, scoreMod(s[1] * params.scale, i32(b), i32(h), qi, i32(k0 + tx + 16u)) * 1.4426950408889634, (full || maskMod(i32(b), i32(h), qi, i32(k0 + tx + 16u))));
        mx = max(mx, s[1]);
        red[(ty * RM + 0u) * TX + tx] = mx;
      }
      {
        let qi = i32((q0 + ty * RM + 1u));
        var mx = MASKED;
        s[2] = select(MASKED, scoreMod(s[2] * params.scale, i32(b), i32(h), qi, i32(k0 + tx + 0u)) * 1.4426950408889634, (full || maskMod(i32(b), i32(h), qi, i32(k0 + tx + 0u))));
        mx = max(mx, s[2]);
        s[3] = select(MASKED, scoreMod(s[3] * params.scale, i32(b), i32(h), qi, i32(k0 + tx + 16u)) * 1.4426950408889634, (full || maskMod(i32(b), i32(h), qi, i32(k0 + tx + 16u))));
        mx = max(mx, s[3]);
        red[(ty * RM + 1u) * TX + tx] = mx;
      }
    } else {
      {
        let i = i32((q0 + ty * RM + 0u)) + params.causalOffset;
        let qi = i32((q0 + ty * RM + 0u));
        var mx = MASKED;
        s[0] = select(MASKED, scoreMod(s[0] * params.scale, i32(b), i32(h), qi, i32(k0 + tx + 0u)) * 1.4426950408889634, k0 + tx + 0u < params.seqK && (!CAUSAL || i32(k0 + tx + 0u) <= i) && (full || maskMod(i32(b), i32(h), qi, i32(k0 + tx + 0u))));
        mx = max(mx, s[0]);
        s[1] = select(MASKED, scoreMod(s[1] * params.scale, i32(b), i32(h), qi, i32(k0 + tx + 16u)) * 1.4426950408889634, k0 + tx + 16u < params.seqK && (!CAUSAL || i32(k0 + tx + 16u) <= i) && (full || maskMod(i32(b), i32(h), qi, i32(k0 + tx + 16u))));
        mx = max(mx, s[1]);
        red[(ty * RM + 0u) * TX + tx] = mx;
      }
      {
        let i = i32((q0 + ty * RM + 1u)) + params.causalOffset;
        let qi = i32((q0 + ty * RM + 1u));
        var mx = MASKED;
        s[2] = select(MASKED, scoreMod(s[2] * params.scale, i32(b), i32(h), qi, i32(k0 + tx + 0u)) * 1.4426950408889634, k0 + tx + 0u < params.seqK && (!CAUSAL || i32(k0 + tx + 0u) <= i) && (full || maskMod(i32(b), i32(h), qi, i32(k0 + tx + 0u))));
        mx = max(mx, s[2]);
        s[3] = select(MASKED, scoreMod(s[3] * params.scale, i32(b), i32(h), qi, i32(k0 + tx + 16u)) * 1.4426950408889634, k0 + tx + 16u < params.seqK && (!CAUSAL || i32(k0 + tx + 16u) <= i) && (full || maskMod(i32(b), i32(h), qi, i32(k0 + tx + 16u))));
        mx = max(mx, s[3]);
        red[(ty * RM + 1u) * TX + tx] = mx;
      }
    }
    workgroupBarrier(); // row maxima visible; V or P may go into Ks next, which every invocation has just read

    // Online softmax: new row max, rescale l and acc, P to workgroup memory.
    {
      let mNew = max(m[0], max(max(max(max(max(max(max(max(max(max(max(max(max(max(max(red[(ty * RM + 0u) * TX + 0u], red[(ty * RM + 0u) * TX + 1u]), red[(ty * RM + 0u) * TX + 2u]), red[(ty * RM + 0u) * TX + 3u]), red[(ty * RM + 0u) * TX + 4u]), red[(ty * RM + 0u) * TX + 5u]), red[(ty * RM + 0u) * TX + 6u]), red[(ty * RM + 0u) * TX + 7u]), red[(ty * RM + 0u) * TX + 8u]), red[(ty * RM + 0u) * TX + 9u]), red[(ty * RM + 0u) * TX + 10u]), red[(ty * RM + 0u) * TX + 11u]), red[(ty * RM + 0u) * TX + 12u]), red[(ty * RM + 0u) * TX + 13u]), red[(ty * RM + 0u) * TX + 14u]), red[(ty * RM + 0u) * TX + 15u]));
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
      {
        let sc = s[1];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 16u;
        Ps[(ty * RM + 0u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      l[0] = l[0] * alpha + rowSum;
      acc[0] *= alpha;
      acc[1] *= alpha;
    }
    {
      let mNew = max(m[1], max(max(max(max(max(max(max(max(max(max(max(max(max(max(max(red[(ty * RM + 1u) * TX + 0u], red[(ty * RM + 1u) * TX + 1u]), red[(ty * RM + 1u) * TX + 2u]), red[(ty * RM + 1u) * TX + 3u]), red[(ty * RM + 1u) * TX + 4u]), red[(ty * RM + 1u) * TX + 5u]), red[(ty * RM + 1u) * TX + 6u]), red[(ty * RM + 1u) * TX + 7u]), red[(ty * RM + 1u) * TX + 8u]), red[(ty * RM + 1u) * TX + 9u]), red[(ty * RM + 1u) * TX + 10u]), red[(ty * RM + 1u) * TX + 11u]), red[(ty * RM + 1u) * TX + 12u]), red[(ty * RM + 1u) * TX + 13u]), red[(ty * RM + 1u) * TX + 14u]), red[(ty * RM + 1u) * TX + 15u]));
      let alpha = exp2(m[1] - mNew);
      m[1] = mNew;
      var rowSum = 0.0;
      {
        let sc = s[2];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 0u;
        Ps[(ty * RM + 1u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      {
        let sc = s[3];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = tx + 16u;
        Ps[(ty * RM + 1u) * (BC / 4u) + key / 4u][key % 4u] = p;
      }
      l[1] = l[1] * alpha + rowSum;
      acc[2] *= alpha;
      acc[3] *= alpha;
    }
    { let e = tid + 0u; Ks[(e / D4) * KROW + e % D4] = vr[0]; }
    { let e = tid + 128u; Ks[(e / D4) * KROW + e % D4] = vr[1]; }
    { let e = tid + 256u; Ks[(e / D4) * KROW + e % D4] = vr[2]; }
    { let e = tid + 384u; Ks[(e / D4) * KROW + e % D4] = vr[3]; }
    { let e = tid + 512u; Ks[(e / D4) * KROW + e % D4] = vr[4]; }
    { let e = tid + 640u; Ks[(e / D4) * KROW + e % D4] = vr[5]; }
    { let e = tid + 768u; Ks[(e / D4) * KROW + e % D4] = vr[6]; }
    { let e = tid + 896u; Ks[(e / D4) * KROW + e % D4] = vr[7]; }
    if (kNext < kvEnd) {
    {
      let e = tid + 0u;
      let n = kNext + e / D4;
      vr[0] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[0] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = kNext + e / D4;
      vr[1] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[1] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = kNext + e / D4;
      vr[2] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[2] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = kNext + e / D4;
      vr[3] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[3] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 512u;
      let n = kNext + e / D4;
      vr[4] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[4] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 640u;
      let n = kNext + e / D4;
      vr[5] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[5] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 768u;
      let n = kNext + e / D4;
      vr[6] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[6] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 896u;
      let n = kNext + e / D4;
      vr[7] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[7] = v[vBase + n * params.vsn + e % D4]; }
    }
    }
    workgroupBarrier();

    // acc += P V for this invocation's RM rows × OC vec4 columns (columns tx + TX·c).
    // Where keys can be masked, a masked key's V must not reach the row even when it is
    // inf or NaN (0·inf = NaN would be invented): those tiles skip it explicitly.
    if (interior && full) {
    for (var j4 = 0u; j4 < BC / 4u; j4++) {
      let pv0 = Ps[(ty * RM + 0u) * (BC / 4u) + j4];
      let pv1 = Ps[(ty * RM + 1u) * (BC / 4u) + j4];
      {
        let vv = Ks[(j4 * 4u + 0u) * KROW + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.x), vv, acc[0]);
        acc[2] = fma(vec4<f32>(pv1.x), vv, acc[2]);
      }
      {
        let vv = Ks[(j4 * 4u + 0u) * KROW + tx + 16u];
        acc[1] = fma(vec4<f32>(pv0.x), vv, acc[1]);
        acc[3] = fma(vec4<f32>(pv1.x), vv, acc[3]);
      }
      {
        let vv = Ks[(j4 * 4u + 1u) * KROW + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.y), vv, acc[0]);
        acc[2] = fma(vec4<f32>(pv1.y), vv, acc[2]);
      }
      {
        let vv = Ks[(j4 * 4u + 1u) * KROW + tx + 16u];
        acc[1] = fma(vec4<f32>(pv0.y), vv, acc[1]);
        acc[3] = fma(vec4<f32>(pv1.y), vv, acc[3]);
      }
      {
        let vv = Ks[(j4 * 4u + 2u) * KROW + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.z), vv, acc[0]);
        acc[2] = fma(vec4<f32>(pv1.z), vv, acc[2]);
      }
      {
        let vv = Ks[(j4 * 4u + 2u) * KROW + tx + 16u];
        acc[1] = fma(vec4<f32>(pv0.z), vv, acc[1]);
        acc[3] = fma(vec4<f32>(pv1.z), vv, acc[3]);
      }
      {
        let vv = Ks[(j4 * 4u + 3u) * KROW + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.w), vv, acc[0]);
        acc[2] = fma(vec4<f32>(pv1.w), vv, acc[2]);
      }
      {
        let vv = Ks[(j4 * 4u + 3u) * KROW + tx + 16u];
        acc[1] = fma(vec4<f32>(pv0.w), vv, acc[1]);
        acc[3] = fma(vec4<f32>(pv1.w), vv, acc[3]);
      }
    }
    } else {
    for (var j4 = 0u; j4 < BC / 4u; j4++) {
      let pv0 = Ps[(ty * RM + 0u) * (BC / 4u) + j4];
      let pv1 = Ps[(ty * RM + 1u) * (BC / 4u) + j4];
      {
        let vv = Ks[(j4 * 4u + 0u) * KROW + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.x), select(vec4<f32>(0.0), vv, pv0.x != 0.0), acc[0]);
        acc[2] = fma(vec4<f32>(pv1.x), select(vec4<f32>(0.0), vv, pv1.x != 0.0), acc[2]);
      }
      {
        let vv = Ks[(j4 * 4u + 0u) * KROW + tx + 16u];
        acc[1] = fma(vec4<f32>(pv0.x), select(vec4<f32>(0.0), vv, pv0.x != 0.0), acc[1]);
        acc[3] = fma(vec4<f32>(pv1.x), select(vec4<f32>(0.0), vv, pv1.x != 0.0), acc[3]);
      }
      {
        let vv = Ks[(j4 * 4u + 1u) * KROW + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.y), select(vec4<f32>(0.0), vv, pv0.y != 0.0), acc[0]);
        acc[2] = fma(vec4<f32>(pv1.y), select(vec4<f32>(0.0), vv, pv1.y != 0.0), acc[2]);
      }
      {
        let vv = Ks[(j4 * 4u + 1u) * KROW + tx + 16u];
        acc[1] = fma(vec4<f32>(pv0.y), select(vec4<f32>(0.0), vv, pv0.y != 0.0), acc[1]);
        acc[3] = fma(vec4<f32>(pv1.y), select(vec4<f32>(0.0), vv, pv1.y != 0.0), acc[3]);
      }
      {
        let vv = Ks[(j4 * 4u + 2u) * KROW + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.z), select(vec4<f32>(0.0), vv, pv0.z != 0.0), acc[0]);
        acc[2] = fma(vec4<f32>(pv1.z), select(vec4<f32>(0.0), vv, pv1.z != 0.0), acc[2]);
      }
      {
        let vv = Ks[(j4 * 4u + 2u) * KROW + tx + 16u];
        acc[1] = fma(vec4<f32>(pv0.z), select(vec4<f32>(0.0), vv, pv0.z != 0.0), acc[1]);
        acc[3] = fma(vec4<f32>(pv1.z), select(vec4<f32>(0.0), vv, pv1.z != 0.0), acc[3]);
      }
      {
        let vv = Ks[(j4 * 4u + 3u) * KROW + tx + 0u];
        acc[0] = fma(vec4<f32>(pv0.w), select(vec4<f32>(0.0), vv, pv0.w != 0.0), acc[0]);
        acc[2] = fma(vec4<f32>(pv1.w), select(vec4<f32>(0.0), vv, pv1.w != 0.0), acc[2]);
      }
      {
        let vv = Ks[(j4 * 4u + 3u) * KROW + tx + 16u];
        acc[1] = fma(vec4<f32>(pv0.w), select(vec4<f32>(0.0), vv, pv0.w != 0.0), acc[1]);
        acc[3] = fma(vec4<f32>(pv1.w), select(vec4<f32>(0.0), vv, pv1.w != 0.0), acc[3]);
      }
    }
    }
    k0 = kNext;
  }

  // Reduce the partial denominators of each row, then O = acc / l and LSE.
  workgroupBarrier();
  red[(ty * RM + 0u) * TX + tx] = l[0];
  red[(ty * RM + 1u) * TX + tx] = l[1];
  workgroupBarrier();
  {
    let i = (q0 + ty * RM + 0u);
    let hr = h;
    let lt = red[(ty * RM + 0u) * TX + 0u] + red[(ty * RM + 0u) * TX + 1u] + red[(ty * RM + 0u) * TX + 2u] + red[(ty * RM + 0u) * TX + 3u] + red[(ty * RM + 0u) * TX + 4u] + red[(ty * RM + 0u) * TX + 5u] + red[(ty * RM + 0u) * TX + 6u] + red[(ty * RM + 0u) * TX + 7u] + red[(ty * RM + 0u) * TX + 8u] + red[(ty * RM + 0u) * TX + 9u] + red[(ty * RM + 0u) * TX + 10u] + red[(ty * RM + 0u) * TX + 11u] + red[(ty * RM + 0u) * TX + 12u] + red[(ty * RM + 0u) * TX + 13u] + red[(ty * RM + 0u) * TX + 14u] + red[(ty * RM + 0u) * TX + 15u];
    let sinkLogit = aux[8u + h];
    let sink = sinkLogit * 1.4426950408889634;
    let mF = max(m[0], sink);
    let keep = select(0.0, exp2(m[0] - mF), lt > 0.0);
    let lF = lt * keep + exp2(sink - mF);
    let lseF = select(lseOf(mF, lF), sinkLogit + log(lF), mF == sink);
    if ((q0 + ty * RM + 0u) < params.seqQ) {
      let rowBase = b * params.qsb + hr * params.qsh - params.qOff + i * params.qsn;
      // A row with a NaN score keeps its NaN (lF is NaN), like the reference.
      let inv = select(0.0, keep / lF, lF > 0.0 || isNan(lF));
      { o[part * params.oPart + rowBase + tx + 0u] = acc[0] * inv; }
      { o[part * params.oPart + rowBase + tx + 16u] = acc[1] * inv; }
      if (tx == 0u) {
        lse[(b * params.headsQ + hr) * params.seqQ + i - params.lseOff] =
          select(select(params.negInf, lseF, lF > 0.0), params.nan, isNan(lF));
      }
    }
  }
  {
    let i = (q0 + ty * RM + 1u);
    let hr = h;
    let lt = red[(ty * RM + 1u) * TX + 0u] + red[(ty * RM + 1u) * TX + 1u] + red[(ty * RM + 1u) * TX + 2u] + red[(ty * RM + 1u) * TX + 3u] + red[(ty * RM + 1u) * TX + 4u] + red[(ty * RM + 1u) * TX + 5u] + red[(ty * RM + 1u) * TX + 6u] + red[(ty * RM + 1u) * TX + 7u] + red[(ty * RM + 1u) * TX + 8u] + red[(ty * RM + 1u) * TX + 9u] + red[(ty * RM + 1u) * TX + 10u] + red[(ty * RM + 1u) * TX + 11u] + red[(ty * RM + 1u) * TX + 12u] + red[(ty * RM + 1u) * TX + 13u] + red[(ty * RM + 1u) * TX + 14u] + red[(ty * RM + 1u) * TX + 15u];
    let sinkLogit = aux[8u + h];
    let sink = sinkLogit * 1.4426950408889634;
    let mF = max(m[1], sink);
    let keep = select(0.0, exp2(m[1] - mF), lt > 0.0);
    let lF = lt * keep + exp2(sink - mF);
    let lseF = select(lseOf(mF, lF), sinkLogit + log(lF), mF == sink);
    if ((q0 + ty * RM + 1u) < params.seqQ) {
      let rowBase = b * params.qsb + hr * params.qsh - params.qOff + i * params.qsn;
      // A row with a NaN score keeps its NaN (lF is NaN), like the reference.
      let inv = select(0.0, keep / lF, lF > 0.0 || isNan(lF));
      { o[part * params.oPart + rowBase + tx + 0u] = acc[2] * inv; }
      { o[part * params.oPart + rowBase + tx + 16u] = acc[3] * inv; }
      if (tx == 0u) {
        lse[(b * params.headsQ + hr) * params.seqQ + i - params.lseOff] =
          select(select(params.negInf, lseF, lF > 0.0), params.nan, isNan(lF));
      }
    }
  }
}
