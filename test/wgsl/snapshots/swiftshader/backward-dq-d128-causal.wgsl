
struct Params {
  seqQ: u32,
  seqK: u32,
  groupSize: u32,
  headsQ: u32,
  scale: f32,
  causalOffset: i32,
  headsKv: u32,
  rows: u32,
  qsb: u32,
  qsh: u32,
  qsn: u32,
  ksb: u32,
  ksh: u32,
  ksn: u32,
  vsb: u32,
  vsh: u32,
  vsn: u32,
  qkScale: f32,
  bmB: u32,
  bmH: u32,
  bmRow: u32,
}
const TX = 16u;
const TY = 4u;
const RM = 1u;
const NT = 64u;
const BO = 4u;
const BI = 16u;
const D4 = 32u;
const YROW = D4 + 1u;
const CAUSAL = true;
const MASKED = -3.0e38;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> dd: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<vec4<f32>>;
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }






var<workgroup> Qs: array<vec4<f32>, 128>;
var<workgroup> dOs: array<vec4<f32>, 128>;
var<workgroup> Ks: array<vec4<f32>, 528>;
var<workgroup> Vs: array<vec4<f32>, 528>;
var<workgroup> dSs: array<vec4<f32>, 16>;


@compute @workgroup_size(TX, TY, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * TX + tx;
  let wgLinear = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  let rank = wgLinear / (nwg.y * nwg.z);
  let g = select(wg, vec3<u32>(nwg.x - 1u - rank, wgLinear % nwg.y, (wgLinear / nwg.y) % nwg.z), true); // causal: the last query blocks (the most keys) first
  let b = g.z;
  let o0 = g.x * BO;
  let h = g.y;
  let hk = h / params.groupSize;
  let kBase = b * params.ksb + hk * params.ksh;
  let vBase = b * params.vsb + hk * params.vsh;
  {
    let qBase = b * params.qsb + h * params.qsh;
    for (var e = tid; e < BO * D4; e += NT) {
      let n = o0 + e / D4;
      var x = vec4<f32>(0.0);
      var y = vec4<f32>(0.0);
      if (n < params.seqQ) {
        x = q[qBase + n * params.qsn + e % D4];
        y = dout[qBase + n * params.qsn + e % D4];
      }
      Qs[e] = x;
      dOs[e] = y;
    }
  }
  // Row terms of this invocation's rows: LSE·log2 e (rows past Nq or fully masked contribute nothing) and D.
  var lseRow: array<f32, 1>;
  var deltaRow: array<f32, 1>;
  {
    let n = o0 + ty * RM + 0u;
    lseRow[0] = 3.0e38;
    deltaRow[0] = 0.0;
    if (n < params.seqQ) {
      let row = (b * params.headsQ + h) * params.seqQ + n;
      if (lse[row] > MASKED || isNan(lse[row])) { lseRow[0] = lse[row] * 1.4426950408889634; } // a NaN row stays NaN
      deltaRow[0] = dd[row];
    }
  }
  var dqAcc: array<vec4<f32>, 2>;


  var kvEnd = params.seqK;
  if (CAUSAL) { kvEnd = u32(clamp(i32(o0 + BO) + params.causalOffset, 0, i32(params.seqK))); }
  let steps = (kvEnd + BI - 1u) / BI;
  let blockRow = b * params.bmB + h * params.bmH + g.x * params.bmRow;

  var kr: array<vec4<f32>, 8>;
  var vr: array<vec4<f32>, 8>;

  var st = 0u;
  if (st < steps) {
    {
      let i0 = st * BI;
      let qBase = b * params.qsb + h * params.qsh;
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      kr[0] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[0] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 64u;
      let n = i0 + e / D4;
      kr[1] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[1] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = i0 + e / D4;
      kr[2] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[2] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 192u;
      let n = i0 + e / D4;
      kr[3] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[3] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      kr[4] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[4] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 320u;
      let n = i0 + e / D4;
      kr[5] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[5] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = i0 + e / D4;
      kr[6] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[6] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 448u;
      let n = i0 + e / D4;
      kr[7] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[7] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      vr[0] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[0] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 64u;
      let n = i0 + e / D4;
      vr[1] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[1] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = i0 + e / D4;
      vr[2] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[2] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 192u;
      let n = i0 + e / D4;
      vr[3] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[3] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      vr[4] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[4] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 320u;
      let n = i0 + e / D4;
      vr[5] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[5] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = i0 + e / D4;
      vr[6] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[6] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 448u;
      let n = i0 + e / D4;
      vr[7] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[7] = v[vBase + n * params.vsn + e % D4]; }
    }
    }
  }
  loop {
    if (st >= steps) { break; }
    let i0 = st * BI;
    let stNext = st + 1u;
    let full = false;
    workgroupBarrier();
    { let e = tid + 0u; Ks[(e / D4) * YROW + e % D4] = kr[0]; }
    { let e = tid + 64u; Ks[(e / D4) * YROW + e % D4] = kr[1]; }
    { let e = tid + 128u; Ks[(e / D4) * YROW + e % D4] = kr[2]; }
    { let e = tid + 192u; Ks[(e / D4) * YROW + e % D4] = kr[3]; }
    { let e = tid + 256u; Ks[(e / D4) * YROW + e % D4] = kr[4]; }
    { let e = tid + 320u; Ks[(e / D4) * YROW + e % D4] = kr[5]; }
    { let e = tid + 384u; Ks[(e / D4) * YROW + e % D4] = kr[6]; }
    { let e = tid + 448u; Ks[(e / D4) * YROW + e % D4] = kr[7]; }
    { let e = tid + 0u; Vs[(e / D4) * YROW + e % D4] = vr[0]; }
    { let e = tid + 64u; Vs[(e / D4) * YROW + e % D4] = vr[1]; }
    { let e = tid + 128u; Vs[(e / D4) * YROW + e % D4] = vr[2]; }
    { let e = tid + 192u; Vs[(e / D4) * YROW + e % D4] = vr[3]; }
    { let e = tid + 256u; Vs[(e / D4) * YROW + e % D4] = vr[4]; }
    { let e = tid + 320u; Vs[(e / D4) * YROW + e % D4] = vr[5]; }
    { let e = tid + 384u; Vs[(e / D4) * YROW + e % D4] = vr[6]; }
    { let e = tid + 448u; Vs[(e / D4) * YROW + e % D4] = vr[7]; }

    workgroupBarrier();
    if (stNext < steps) {
    {
      let i0 = stNext * BI;
      let qBase = b * params.qsb + h * params.qsh;
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      kr[0] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[0] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 64u;
      let n = i0 + e / D4;
      kr[1] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[1] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = i0 + e / D4;
      kr[2] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[2] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 192u;
      let n = i0 + e / D4;
      kr[3] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[3] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      kr[4] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[4] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 320u;
      let n = i0 + e / D4;
      kr[5] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[5] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = i0 + e / D4;
      kr[6] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[6] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 448u;
      let n = i0 + e / D4;
      kr[7] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[7] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      vr[0] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[0] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 64u;
      let n = i0 + e / D4;
      vr[1] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[1] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = i0 + e / D4;
      vr[2] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[2] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 192u;
      let n = i0 + e / D4;
      vr[3] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[3] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      vr[4] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[4] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 320u;
      let n = i0 + e / D4;
      vr[5] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[5] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = i0 + e / D4;
      vr[6] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[6] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 448u;
      let n = i0 + e / D4;
      vr[7] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[7] = v[vBase + n * params.vsn + e % D4]; }
    }
    }
    }

    // S and dP for this invocation's RM outer × CN inner rows, one pass over the head dim.
    var s = array<f32, 1>();
    var dp = array<f32, 1>();
    for (var d = 0u; d < D4; d++) {
      let k0 = Ks[(tx + 0u) * YROW + d];
      let v0 = Vs[(tx + 0u) * YROW + d];
      let q0 = Qs[(ty * RM + 0u) * D4 + d];
      let dO0 = dOs[(ty * RM + 0u) * D4 + d];
      s[0] = fma(q0.w, k0.w, fma(q0.z, k0.z, fma(q0.y, k0.y, fma(q0.x, k0.x, s[0]))));
      dp[0] = fma(dO0.w, v0.w, fma(dO0.z, v0.z, fma(dO0.y, v0.y, fma(dO0.x, v0.x, dp[0]))));
    }

    // P = exp(s − LSE) and dS = P (dP − D) score'(z); only ragged and causal-diagonal tiles need the mask.
    let interior = i0 + BI <= params.seqK && (!CAUSAL || i32(i0 + BI - 1u) <= i32(o0) + params.causalOffset);
    if (interior) {
      {
        let z = s[0] * params.scale;
        let p = exp2(s[0] * params.qkScale - lseRow[0]);
        let g = p * (dp[0] - deltaRow[0]);
        dSs[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g;
      }
    } else {
      {
        let z = s[0] * params.scale;
        let p = select(0.0, exp2(s[0] * params.qkScale - lseRow[0]), i0 + tx + 0u < params.seqK && (!CAUSAL || i32(i0 + tx + 0u) <= i32(o0 + ty * RM + 0u) + params.causalOffset));
        let g = select(0.0, p * (dp[0] - deltaRow[0]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g;
      }
    }
    workgroupBarrier();

    // A masked pair's K must not reach the row even when it is inf or NaN: tiles with masked pairs skip it explicitly.
    if (interior) {
    // dQ += dS·K for RM outer rows × OC vec4 columns (columns tx + TX·c).
    for (var j4 = 0u; j4 < BI / 4u; j4++) {
      let ds0 = dSs[(ty * RM + 0u) * (BI / 4u) + j4];
      {
        let kRow = Ks[(j4 * 4u + 0u) * YROW + tx + 0u];
        dqAcc[0] = fma(vec4<f32>(ds0.x), kRow, dqAcc[0]);
      }
      {
        let kRow = Ks[(j4 * 4u + 0u) * YROW + tx + 16u];
        dqAcc[1] = fma(vec4<f32>(ds0.x), kRow, dqAcc[1]);
      }
      {
        let kRow = Ks[(j4 * 4u + 1u) * YROW + tx + 0u];
        dqAcc[0] = fma(vec4<f32>(ds0.y), kRow, dqAcc[0]);
      }
      {
        let kRow = Ks[(j4 * 4u + 1u) * YROW + tx + 16u];
        dqAcc[1] = fma(vec4<f32>(ds0.y), kRow, dqAcc[1]);
      }
      {
        let kRow = Ks[(j4 * 4u + 2u) * YROW + tx + 0u];
        dqAcc[0] = fma(vec4<f32>(ds0.z), kRow, dqAcc[0]);
      }
      {
        let kRow = Ks[(j4 * 4u + 2u) * YROW + tx + 16u];
        dqAcc[1] = fma(vec4<f32>(ds0.z), kRow, dqAcc[1]);
      }
      {
        let kRow = Ks[(j4 * 4u + 3u) * YROW + tx + 0u];
        dqAcc[0] = fma(vec4<f32>(ds0.w), kRow, dqAcc[0]);
      }
      {
        let kRow = Ks[(j4 * 4u + 3u) * YROW + tx + 16u];
        dqAcc[1] = fma(vec4<f32>(ds0.w), kRow, dqAcc[1]);
      }
    }
    } else {
    // dQ += dS·K for RM outer rows × OC vec4 columns (columns tx + TX·c).
    for (var j4 = 0u; j4 < BI / 4u; j4++) {
      let ds0 = dSs[(ty * RM + 0u) * (BI / 4u) + j4];
      {
        let kRow = Ks[(j4 * 4u + 0u) * YROW + tx + 0u];
        dqAcc[0] = fma(vec4<f32>(ds0.x), select(vec4<f32>(0.0), kRow, ds0.x != 0.0), dqAcc[0]);
      }
      {
        let kRow = Ks[(j4 * 4u + 0u) * YROW + tx + 16u];
        dqAcc[1] = fma(vec4<f32>(ds0.x), select(vec4<f32>(0.0), kRow, ds0.x != 0.0), dqAcc[1]);
      }
      {
        let kRow = Ks[(j4 * 4u + 1u) * YROW + tx + 0u];
        dqAcc[0] = fma(vec4<f32>(ds0.y), select(vec4<f32>(0.0), kRow, ds0.y != 0.0), dqAcc[0]);
      }
      {
        let kRow = Ks[(j4 * 4u + 1u) * YROW + tx + 16u];
        dqAcc[1] = fma(vec4<f32>(ds0.y), select(vec4<f32>(0.0), kRow, ds0.y != 0.0), dqAcc[1]);
      }
      {
        let kRow = Ks[(j4 * 4u + 2u) * YROW + tx + 0u];
        dqAcc[0] = fma(vec4<f32>(ds0.z), select(vec4<f32>(0.0), kRow, ds0.z != 0.0), dqAcc[0]);
      }
      {
        let kRow = Ks[(j4 * 4u + 2u) * YROW + tx + 16u];
        dqAcc[1] = fma(vec4<f32>(ds0.z), select(vec4<f32>(0.0), kRow, ds0.z != 0.0), dqAcc[1]);
      }
      {
        let kRow = Ks[(j4 * 4u + 3u) * YROW + tx + 0u];
        dqAcc[0] = fma(vec4<f32>(ds0.w), select(vec4<f32>(0.0), kRow, ds0.w != 0.0), dqAcc[0]);
      }
      {
        let kRow = Ks[(j4 * 4u + 3u) * YROW + tx + 16u];
        dqAcc[1] = fma(vec4<f32>(ds0.w), select(vec4<f32>(0.0), kRow, ds0.w != 0.0), dqAcc[1]);
      }
    }
    }
    st = stNext;
  }


  {
    let n = o0 + ty * RM + 0u;
    if (n < params.seqQ) {
      { dq[b * params.qsb + h * params.qsh + n * params.qsn + tx + 0u] = dqAcc[0] * params.scale; }
      { dq[b * params.qsb + h * params.qsh + n * params.qsn + tx + 16u] = dqAcc[1] * params.scale; }
    }
  }
}
