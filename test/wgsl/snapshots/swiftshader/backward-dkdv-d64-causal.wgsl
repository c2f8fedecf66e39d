
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
const TY = 8u;
const RM = 2u;
const NT = 128u;
const BO = 16u;
const BI = 32u;
const D4 = 16u;
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
@group(0) @binding(7) var<storage, read_write> dk: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dv: array<vec4<f32>>;
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }






var<workgroup> Ks: array<vec4<f32>, 256>;
var<workgroup> Vs: array<vec4<f32>, 256>;
var<workgroup> Qs: array<vec4<f32>, 544>;
var<workgroup> dOs: array<vec4<f32>, 544>;
var<workgroup> dSs: array<vec4<f32>, 128>;
var<workgroup> Ps: array<vec4<f32>, 128>;
var<workgroup> lseTile: array<f32, 32>;
var<workgroup> deltaTile: array<f32, 32>;

@compute @workgroup_size(TX, TY, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * TX + tx;
  let b = wg.z;
  let o0 = wg.x * BO;
  let hk = wg.y;
  let kBase = b * params.ksb + hk * params.ksh;
  let vBase = b * params.vsb + hk * params.vsh;
  {
    
    for (var e = tid; e < BO * D4; e += NT) {
      let n = o0 + e / D4;
      var x = vec4<f32>(0.0);
      var y = vec4<f32>(0.0);
      if (n < params.seqK) {
        x = k[kBase + n * params.ksn + e % D4];
        y = v[vBase + n * params.vsn + e % D4];
      }
      Ks[e] = x;
      Vs[e] = y;
    }
  }

  var dkAcc: array<vec4<f32>, 2>;
  var dvAcc: array<vec4<f32>, 2>;

  var qFirst = 0u;
  if (CAUSAL) { qFirst = u32(max(i32(o0) - params.causalOffset, 0)) / BI; }
  let nQt = max((params.seqQ + BI - 1u) / BI, qFirst) - qFirst;
  let steps = nQt * params.groupSize;
  let blockCol = b * params.bmB + wg.x;

  var qr: array<vec4<f32>, 4>;
  var dOr: array<vec4<f32>, 4>;
  var lseNext = 0.0;
  var deltaNext = 0.0;
  var st = 0u;
  if (st < steps) {
    {
      let h = hk * params.groupSize + st / nQt;
      let i0 = (qFirst + st % nQt) * BI;
      let qBase = b * params.qsb + h * params.qsh;
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      qr[0] = vec4<f32>(0.0);
      if (n < params.seqQ) { qr[0] = q[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = i0 + e / D4;
      qr[1] = vec4<f32>(0.0);
      if (n < params.seqQ) { qr[1] = q[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      qr[2] = vec4<f32>(0.0);
      if (n < params.seqQ) { qr[2] = q[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = i0 + e / D4;
      qr[3] = vec4<f32>(0.0);
      if (n < params.seqQ) { qr[3] = q[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      dOr[0] = vec4<f32>(0.0);
      if (n < params.seqQ) { dOr[0] = dout[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = i0 + e / D4;
      dOr[1] = vec4<f32>(0.0);
      if (n < params.seqQ) { dOr[1] = dout[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      dOr[2] = vec4<f32>(0.0);
      if (n < params.seqQ) { dOr[2] = dout[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = i0 + e / D4;
      dOr[3] = vec4<f32>(0.0);
      if (n < params.seqQ) { dOr[3] = dout[qBase + n * params.qsn + e % D4]; }
    }
      // This invocation's share of the Q tile's row terms (rows past Nq or fully masked contribute nothing).
      lseNext = 3.0e38;
      deltaNext = 0.0;
      if (tid < BI && i0 + tid < params.seqQ) {
        let row = (b * params.headsQ + h) * params.seqQ + i0 + tid;
        let l = lse[row];
        if (l > MASKED || isNan(l)) { lseNext = l * 1.4426950408889634; } // a NaN row stays NaN
        deltaNext = dd[row];
      }
    }
  }
  loop {
    if (st >= steps) { break; }
    let h = hk * params.groupSize + st / nQt;
    let i0 = (qFirst + st % nQt) * BI;
    let stNext = st + 1u;
    let full = false;
    workgroupBarrier();
    { let e = tid + 0u; Qs[(e / D4) * YROW + e % D4] = qr[0]; }
    { let e = tid + 128u; Qs[(e / D4) * YROW + e % D4] = qr[1]; }
    { let e = tid + 256u; Qs[(e / D4) * YROW + e % D4] = qr[2]; }
    { let e = tid + 384u; Qs[(e / D4) * YROW + e % D4] = qr[3]; }
    { let e = tid + 0u; dOs[(e / D4) * YROW + e % D4] = dOr[0]; }
    { let e = tid + 128u; dOs[(e / D4) * YROW + e % D4] = dOr[1]; }
    { let e = tid + 256u; dOs[(e / D4) * YROW + e % D4] = dOr[2]; }
    { let e = tid + 384u; dOs[(e / D4) * YROW + e % D4] = dOr[3]; }
    if (tid < BI) { lseTile[tid] = lseNext; deltaTile[tid] = deltaNext; }
    workgroupBarrier();
    if (stNext < steps) {
    {
      let h = hk * params.groupSize + stNext / nQt;
      let i0 = (qFirst + stNext % nQt) * BI;
      let qBase = b * params.qsb + h * params.qsh;
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      qr[0] = vec4<f32>(0.0);
      if (n < params.seqQ) { qr[0] = q[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = i0 + e / D4;
      qr[1] = vec4<f32>(0.0);
      if (n < params.seqQ) { qr[1] = q[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      qr[2] = vec4<f32>(0.0);
      if (n < params.seqQ) { qr[2] = q[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = i0 + e / D4;
      qr[3] = vec4<f32>(0.0);
      if (n < params.seqQ) { qr[3] = q[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      dOr[0] = vec4<f32>(0.0);
      if (n < params.seqQ) { dOr[0] = dout[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = i0 + e / D4;
      dOr[1] = vec4<f32>(0.0);
      if (n < params.seqQ) { dOr[1] = dout[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      dOr[2] = vec4<f32>(0.0);
      if (n < params.seqQ) { dOr[2] = dout[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = i0 + e / D4;
      dOr[3] = vec4<f32>(0.0);
      if (n < params.seqQ) { dOr[3] = dout[qBase + n * params.qsn + e % D4]; }
    }
      // This invocation's share of the Q tile's row terms (rows past Nq or fully masked contribute nothing).
      lseNext = 3.0e38;
      deltaNext = 0.0;
      if (tid < BI && i0 + tid < params.seqQ) {
        let row = (b * params.headsQ + h) * params.seqQ + i0 + tid;
        let l = lse[row];
        if (l > MASKED || isNan(l)) { lseNext = l * 1.4426950408889634; } // a NaN row stays NaN
        deltaNext = dd[row];
      }
    }
    }

    // S and dP for this invocation's RM outer × CN inner rows, one pass over the head dim.
    var s = array<f32, 4>();
    var dp = array<f32, 4>();
    for (var d = 0u; d < D4; d++) {
      let q0 = Qs[(tx + 0u) * YROW + d];
      let dO0 = dOs[(tx + 0u) * YROW + d];
      let q1 = Qs[(tx + 16u) * YROW + d];
      let dO1 = dOs[(tx + 16u) * YROW + d];
      let k0 = Ks[(ty * RM + 0u) * D4 + d];
      let v0 = Vs[(ty * RM + 0u) * D4 + d];
      let k1 = Ks[(ty * RM + 1u) * D4 + d];
      let v1 = Vs[(ty * RM + 1u) * D4 + d];
      s[0] = fma(k0.w, q0.w, fma(k0.z, q0.z, fma(k0.y, q0.y, fma(k0.x, q0.x, s[0]))));
      dp[0] = fma(v0.w, dO0.w, fma(v0.z, dO0.z, fma(v0.y, dO0.y, fma(v0.x, dO0.x, dp[0]))));
      s[1] = fma(k0.w, q1.w, fma(k0.z, q1.z, fma(k0.y, q1.y, fma(k0.x, q1.x, s[1]))));
      dp[1] = fma(v0.w, dO1.w, fma(v0.z, dO1.z, fma(v0.y, dO1.y, fma(v0.x, dO1.x, dp[1]))));
      s[2] = fma(k1.w, q0.w, fma(k1.z, q0.z, fma(k1.y, q0.y, fma(k1.x, q0.x, s[2]))));
      dp[2] = fma(v1.w, dO0.w, fma(v1.z, dO0.z, fma(v1.y, dO0.y, fma(v1.x, dO0.x, dp[2]))));
      s[3] = fma(k1.w, q1.w, fma(k1.z, q1.z, fma(k1.y, q1.y, fma(k1.x, q1.x, s[3]))));
      dp[3] = fma(v1.w, dO1.w, fma(v1.z, dO1.z, fma(v1.y, dO1.y, fma(v1.x, dO1.x, dp[3]))));
    }

    // P = exp(s − LSE) and dS = P (dP − D) score'(z); only ragged and causal-diagonal tiles need the mask.
    let interior = o0 + BO <= params.seqK && (!CAUSAL || i32(o0 + BO - 1u) <= i32(i0) + params.causalOffset);
    if (interior) {
      {
        let z = s[0] * params.scale;
        let p = exp2(s[0] * params.qkScale - lseTile[tx + 0u]);
        let g = p * (dp[0] - deltaTile[tx + 0u]);
        dSs[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g;
        Ps[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = p;
      }
      {
        let z = s[1] * params.scale;
        let p = exp2(s[1] * params.qkScale - lseTile[tx + 16u]);
        let g = p * (dp[1] - deltaTile[tx + 16u]);
        dSs[(ty * RM + 0u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g;
        Ps[(ty * RM + 0u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = p;
      }
      {
        let z = s[2] * params.scale;
        let p = exp2(s[2] * params.qkScale - lseTile[tx + 0u]);
        let g = p * (dp[2] - deltaTile[tx + 0u]);
        dSs[(ty * RM + 1u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g;
        Ps[(ty * RM + 1u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = p;
      }
      {
        let z = s[3] * params.scale;
        let p = exp2(s[3] * params.qkScale - lseTile[tx + 16u]);
        let g = p * (dp[3] - deltaTile[tx + 16u]);
        dSs[(ty * RM + 1u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g;
        Ps[(ty * RM + 1u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = p;
      }
    } else {
      {
        let z = s[0] * params.scale;
        let p = select(0.0, exp2(s[0] * params.qkScale - lseTile[tx + 0u]), o0 + ty * RM + 0u < params.seqK && (!CAUSAL || i32(o0 + ty * RM + 0u) <= i32(i0 + tx + 0u) + params.causalOffset));
        let g = select(0.0, p * (dp[0] - deltaTile[tx + 0u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g;
        Ps[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = p;
      }
      {
        let z = s[1] * params.scale;
        let p = select(0.0, exp2(s[1] * params.qkScale - lseTile[tx + 16u]), o0 + ty * RM + 0u < params.seqK && (!CAUSAL || i32(o0 + ty * RM + 0u) <= i32(i0 + tx + 16u) + params.causalOffset));
        let g = select(0.0, p * (dp[1] - deltaTile[tx + 16u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 0u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g;
        Ps[(ty * RM + 0u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = p;
      }
      {
        let z = s[2] * params.scale;
        let p = select(0.0, exp2(s[2] * params.qkScale - lseTile[tx + 0u]), o0 + ty * RM + 1u < params.seqK && (!CAUSAL || i32(o0 + ty * RM + 1u) <= i32(i0 + tx + 0u) + params.causalOffset));
        let g = select(0.0, p * (dp[2] - deltaTile[tx + 0u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 1u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g;
        Ps[(ty * RM + 1u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = p;
      }
      {
        let z = s[3] * params.scale;
        let p = select(0.0, exp2(s[3] * params.qkScale - lseTile[tx + 16u]), o0 + ty * RM + 1u < params.seqK && (!CAUSAL || i32(o0 + ty * RM + 1u) <= i32(i0 + tx + 16u) + params.causalOffset));
        let g = select(0.0, p * (dp[3] - deltaTile[tx + 16u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 1u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g;
        Ps[(ty * RM + 1u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = p;
      }
    }
    workgroupBarrier();

    // A masked pair's Q and dO must not reach the key even when inf or NaN: tiles with masked pairs skip them explicitly.
    if (interior) {
    // dK += dS·Q and dV += P·dO for RM outer rows × OC vec4 columns (columns tx + TX·c).
    for (var j4 = 0u; j4 < BI / 4u; j4++) {
      let ds0 = dSs[(ty * RM + 0u) * (BI / 4u) + j4];
      let p0 = Ps[(ty * RM + 0u) * (BI / 4u) + j4];
      let ds1 = dSs[(ty * RM + 1u) * (BI / 4u) + j4];
      let p1 = Ps[(ty * RM + 1u) * (BI / 4u) + j4];
      {
        let qRow = Qs[(j4 * 4u + 0u) * YROW + tx + 0u];
        dkAcc[0] = fma(vec4<f32>(ds0.x), qRow, dkAcc[0]);
        dkAcc[1] = fma(vec4<f32>(ds1.x), qRow, dkAcc[1]);
        let dORow = dOs[(j4 * 4u + 0u) * YROW + tx + 0u];
        dvAcc[0] = fma(vec4<f32>(p0.x), dORow, dvAcc[0]);
        dvAcc[1] = fma(vec4<f32>(p1.x), dORow, dvAcc[1]);
      }
      {
        let qRow = Qs[(j4 * 4u + 1u) * YROW + tx + 0u];
        dkAcc[0] = fma(vec4<f32>(ds0.y), qRow, dkAcc[0]);
        dkAcc[1] = fma(vec4<f32>(ds1.y), qRow, dkAcc[1]);
        let dORow = dOs[(j4 * 4u + 1u) * YROW + tx + 0u];
        dvAcc[0] = fma(vec4<f32>(p0.y), dORow, dvAcc[0]);
        dvAcc[1] = fma(vec4<f32>(p1.y), dORow, dvAcc[1]);
      }
      {
        let qRow = Qs[(j4 * 4u + 2u) * YROW + tx + 0u];
        dkAcc[0] = fma(vec4<f32>(ds0.z), qRow, dkAcc[0]);
        dkAcc[1] = fma(vec4<f32>(ds1.z), qRow, dkAcc[1]);
        let dORow = dOs[(j4 * 4u + 2u) * YROW + tx + 0u];
        dvAcc[0] = fma(vec4<f32>(p0.z), dORow, dvAcc[0]);
        dvAcc[1] = fma(vec4<f32>(p1.z), dORow, dvAcc[1]);
      }
      {
        let qRow = Qs[(j4 * 4u + 3u) * YROW + tx + 0u];
        dkAcc[0] = fma(vec4<f32>(ds0.w), qRow, dkAcc[0]);
        dkAcc[1] = fma(vec4<f32>(ds1.w), qRow, dkAcc[1]);
        let dORow = dOs[(j4 * 4u + 3u) * YROW + tx + 0u];
        dvAcc[0] = fma(vec4<f32>(p0.w), dORow, dvAcc[0]);
        dvAcc[1] = fma(vec4<f32>(p1.w), dORow, dvAcc[1]);
      }
    }
    } else {
    // dK += dS·Q and dV += P·dO for RM outer rows × OC vec4 columns (columns tx + TX·c).
    for (var j4 = 0u; j4 < BI / 4u; j4++) {
      let ds0 = dSs[(ty * RM + 0u) * (BI / 4u) + j4];
      let p0 = Ps[(ty * RM + 0u) * (BI / 4u) + j4];
      let ds1 = dSs[(ty * RM + 1u) * (BI / 4u) + j4];
      let p1 = Ps[(ty * RM + 1u) * (BI / 4u) + j4];
      {
        let qRow = Qs[(j4 * 4u + 0u) * YROW + tx + 0u];
        dkAcc[0] = fma(vec4<f32>(ds0.x), select(vec4<f32>(0.0), qRow, ds0.x != 0.0), dkAcc[0]);
        dkAcc[1] = fma(vec4<f32>(ds1.x), select(vec4<f32>(0.0), qRow, ds1.x != 0.0), dkAcc[1]);
        let dORow = dOs[(j4 * 4u + 0u) * YROW + tx + 0u];
        dvAcc[0] = fma(vec4<f32>(p0.x), select(vec4<f32>(0.0), dORow, p0.x != 0.0), dvAcc[0]);
        dvAcc[1] = fma(vec4<f32>(p1.x), select(vec4<f32>(0.0), dORow, p1.x != 0.0), dvAcc[1]);
      }
      {
        let qRow = Qs[(j4 * 4u + 1u) * YROW + tx + 0u];
        dkAcc[0] = fma(vec4<f32>(ds0.y), select(vec4<f32>(0.0), qRow, ds0.y != 0.0), dkAcc[0]);
        dkAcc[1] = fma(vec4<f32>(ds1.y), select(vec4<f32>(0.0), qRow, ds1.y != 0.0), dkAcc[1]);
        let dORow = dOs[(j4 * 4u + 1u) * YROW + tx + 0u];
        dvAcc[0] = fma(vec4<f32>(p0.y), select(vec4<f32>(0.0), dORow, p0.y != 0.0), dvAcc[0]);
        dvAcc[1] = fma(vec4<f32>(p1.y), select(vec4<f32>(0.0), dORow, p1.y != 0.0), dvAcc[1]);
      }
      {
        let qRow = Qs[(j4 * 4u + 2u) * YROW + tx + 0u];
        dkAcc[0] = fma(vec4<f32>(ds0.z), select(vec4<f32>(0.0), qRow, ds0.z != 0.0), dkAcc[0]);
        dkAcc[1] = fma(vec4<f32>(ds1.z), select(vec4<f32>(0.0), qRow, ds1.z != 0.0), dkAcc[1]);
        let dORow = dOs[(j4 * 4u + 2u) * YROW + tx + 0u];
        dvAcc[0] = fma(vec4<f32>(p0.z), select(vec4<f32>(0.0), dORow, p0.z != 0.0), dvAcc[0]);
        dvAcc[1] = fma(vec4<f32>(p1.z), select(vec4<f32>(0.0), dORow, p1.z != 0.0), dvAcc[1]);
      }
      {
        let qRow = Qs[(j4 * 4u + 3u) * YROW + tx + 0u];
        dkAcc[0] = fma(vec4<f32>(ds0.w), select(vec4<f32>(0.0), qRow, ds0.w != 0.0), dkAcc[0]);
        dkAcc[1] = fma(vec4<f32>(ds1.w), select(vec4<f32>(0.0), qRow, ds1.w != 0.0), dkAcc[1]);
        let dORow = dOs[(j4 * 4u + 3u) * YROW + tx + 0u];
        dvAcc[0] = fma(vec4<f32>(p0.w), select(vec4<f32>(0.0), dORow, p0.w != 0.0), dvAcc[0]);
        dvAcc[1] = fma(vec4<f32>(p1.w), select(vec4<f32>(0.0), dORow, p1.w != 0.0), dvAcc[1]);
      }
    }
    }
    st = stNext;
  }


  {
    let n = o0 + ty * RM + 0u;
    if (n < params.seqK) {
      {
        dk[kBase + n * params.ksn + tx + 0u] = dkAcc[0] * params.scale;
        dv[vBase + n * params.vsn + tx + 0u] = dvAcc[0];
      }
    }
  }
  {
    let n = o0 + ty * RM + 1u;
    if (n < params.seqK) {
      {
        dk[kBase + n * params.ksn + tx + 0u] = dkAcc[1] * params.scale;
        dv[vBase + n * params.vsn + tx + 0u] = dvAcc[1];
      }
    }
  }
}
