
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
const RM = 4u;
const NT = 128u;
const BO = 32u;
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
@group(0) @binding(9) var<storage, read> aux: array<f32>;
@group(0) @binding(10) var<storage, read> blocks: array<u32>;
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
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
fn scoreModGrad(score: f32, b: i32, h: i32, q: i32, kv: i32) -> f32 {
  let t0 = f32(1.0f);
  return t0;
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
// First step ≥ start whose (query head, Q tile) block is not empty, or end.
fn nextStep(col: u32, hk: u32, qFirst: u32, nQt: u32, start: u32, end: u32) -> u32 {
  var st = start;
  loop {
    if (st >= end) { break; }
    let h = hk * params.groupSize + st / nQt;
    if (blocks[col + h * params.bmH + (qFirst + st % nQt) * params.bmRow] != 0u) { break; }
    st++;
  }
  return st;
}


var<workgroup> Ks: array<vec4<f32>, 512>;
var<workgroup> Vs: array<vec4<f32>, 512>;
var<workgroup> Qs: array<vec4<f32>, 544>;
var<workgroup> dOs: array<vec4<f32>, 544>;
var<workgroup> dSs: array<vec4<f32>, 256>;
var<workgroup> Ps: array<vec4<f32>, 256>;
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

  var dkAcc: array<vec4<f32>, 4>;
  var dvAcc: array<vec4<f32>, 4>;

  var qFirst = 0u;
  if (CAUSAL) { qFirst = u32(max(i32(o0) - params.causalOffset, 0)) / BI; }
  let nQt = max((params.seqQ + BI - 1u) / BI, qFirst) - qFirst;
  let steps = nQt * params.groupSize;
  let blockCol = b * params.bmB + wg.x;

  var qr: array<vec4<f32>, 4>;
  var dOr: array<vec4<f32>, 4>;
  var lseNext = 0.0;
  var deltaNext = 0.0;
  var st = nextStep(blockCol, hk, qFirst, nQt, 0u, steps);
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
    let stNext = nextStep(blockCol, hk, qFirst, nQt, st + 1u, steps);
    let full = blocks[blockCol + (hk * params.groupSize + st / nQt) * params.bmH + (qFirst + st % nQt) * params.bmRow] == 2u;
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
    var s = array<f32, 8>();
    var dp = array<f32, 8>();
    for (var d = 0u; d < D4; d++) {
      let q0 = Qs[(tx + 0u) * YROW + d];
      let dO0 = dOs[(tx + 0u) * YROW + d];
      let q1 = Qs[(tx + 16u) * YROW + d];
      let dO1 = dOs[(tx + 16u) * YROW + d];
      let k0 = Ks[(ty * RM + 0u) * D4 + d];
      let v0 = Vs[(ty * RM + 0u) * D4 + d];
      let k1 = Ks[(ty * RM + 1u) * D4 + d];
      let v1 = Vs[(ty * RM + 1u) * D4 + d];
      let k2 = Ks[(ty * RM + 2u) * D4 + d];
      let v2 = Vs[(ty * RM + 2u) * D4 + d];
      let k3 = Ks[(ty * RM + 3u) * D4 + d];
      let v3 = Vs[(ty * RM + 3u) * D4 + d];
      s[0] = fma(k0.w, q0.w, fma(k0.z, q0.z, fma(k0.y, q0.y, fma(k0.x, q0.x, s[0]))));
      dp[0] = fma(v0.w, dO0.w, fma(v0.z, dO0.z, fma(v0.y, dO0.y, fma(v0.x, dO0.x, dp[0]))));
      s[1] = fma(k0.w, q1.w, fma(k0.z, q1.z, fma(k0.y, q1.y, fma(k0.x, q1.x, s[1]))));
      dp[1] = fma(v0.w, dO1.w, fma(v0.z, dO1.z, fma(v0.y, dO1.y, fma(v0.x, dO1.x, dp[1]))));
      s[2] = fma(k1.w, q0.w, fma(k1.z, q0.z, fma(k1.y, q0.y, fma(k1.x, q0.x, s[2]))));
      dp[2] = fma(v1.w, dO0.w, fma(v1.z, dO0.z, fma(v1.y, dO0.y, fma(v1.x, dO0.x, dp[2]))));
      s[3] = fma(k1.w, q1.w, fma(k1.z, q1.z, fma(k1.y, q1.y, fma(k1.x, q1.x, s[3]))));
      dp[3] = fma(v1.w, dO1.w, fma(v1.z, dO1.z, fma(v1.y, dO1.y, fma(v1.x, dO1.x, dp[3]))));
      s[4] = fma(k2.w, q0.w, fma(k2.z, q0.z, fma(k2.y, q0.y, fma(k2.x, q0.x, s[4]))));
      dp[4] = fma(v2.w, dO0.w, fma(v2.z, dO0.z, fma(v2.y, dO0.y, fma(v2.x, dO0.x, dp[4]))));
      s[5] = fma(k2.w, q1.w, fma(k2.z, q1.z, fma(k2.y, q1.y, fma(k2.x, q1.x, s[5]))));
      dp[5] = fma(v2.w, dO1.w, fma(v2.z, dO1.z, fma(v2.y, dO1.y, fma(v2.x, dO1.x, dp[5]))));
      s[6] = fma(k3.w, q0.w, fma(k3.z, q0.z, fma(k3.y, q0.y, fma(k3.x, q0.x, s[6]))));
      dp[6] = fma(v3.w, dO0.w, fma(v3.z, dO0.z, fma(v3.y, dO0.y, fma(v3.x, dO0.x, dp[6]))));
      s[7] = fma(k3.w, q1.w, fma(k3.z, q1.z, fma(k3.y, q1.y, fma(k3.x, q1.x, s[7]))));
      dp[7] = fma(v3.w, dO1.w, fma(v3.z, dO1.z, fma(v3.y, dO1.y, fma(v3.x, dO1.x, dp[7]))));
    }

    // P = exp(s − LSE) and dS = P (dP − D) score'(z); only ragged and causal-diagonal tiles need the mask.
    let interior = o0 + BO <= params.seqK && (!CAUSAL || i32(o0 + BO - 1u) <= i32(i0) + params.causalOffset);
    if (interior) {
      {
        let z = s[0] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 0u)) * 1.4426950408889634 - lseTile[tx + 0u]), (full || maskMod(i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 0u))));
        let g = select(0.0, p * (dp[0] - deltaTile[tx + 0u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 0u));
        Ps[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = p;
      }
      {
        let z = s[1] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 0u)) * 1.4426950408889634 - lseTile[tx + 16u]), (full || maskMod(i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 0u))));
        let g = select(0.0, p * (dp[1] - deltaTile[tx + 16u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 0u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 0u));
        Ps[(ty * RM + 0u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = p;
      }
      {
        let z = s[2] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 1u)) * 1.4426950408889634 - lseTile[tx + 0u]), (full || maskMod(i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 1u))));
        let g = select(0.0, p * (dp[2] - deltaTile[tx + 0u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 1u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 1u));
        Ps[(ty * RM + 1u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = p;
      }
      {
        let z = s[3] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 1u)) * 1.4426950408889634 - lseTile[tx + 16u]), (full || maskMod(i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 1u))));
        let g = select(0.0, p * (dp[3] - deltaTile[tx + 16u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 1u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 1u));
        Ps[(ty * RM + 1u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = p;
      }
      {
        let z = s[4] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 2u)) * 1.4426950408889634 - lseTile[tx + 0u]), (full || maskMod(i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 2u))));
        let g = select(0.0, p * (dp[4] - deltaTile[tx + 0u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 2u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 2u));
        Ps[(ty * RM + 2u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = p;
      }
      {
        let z = s[5] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 2u)) * 1.4426950408889634 - lseTile[tx + 16u]), (full || maskMod(i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 2u))));
        let g = select(0.0, p * (dp[5] - deltaTile[tx + 16u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 2u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 2u));
        Ps[(ty * RM + 2u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = p;
      }
      {
        let z = s[6] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 3u)) * 1.4426950408889634 - lseTile[tx + 0u]), (full || maskMod(i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 3u))));
        let g = select(0.0, p * (dp[6] - deltaTile[tx + 0u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 3u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 3u));
        Ps[(ty * RM + 3u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = p;
      }
      {
        let z = s[7] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 3u)) * 1.4426950408889634 - lseTile[tx + 16u]), (full || maskMod(i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 3u))));
        let g = select(0.0, p * (dp[7] - deltaTile[tx + 16u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 3u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 3u));
        Ps[(ty * RM + 3u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = p;
      }
    } else {
      {
        let z = s[0] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 0u)) * 1.4426950408889634 - lseTile[tx + 0u]), o0 + ty * RM + 0u < params.seqK && (!CAUSAL || i32(o0 + ty * RM + 0u) <= i32(i0 + tx + 0u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 0u))));
        let g = select(0.0, p * (dp[0] - deltaTile[tx + 0u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 0u));
        Ps[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = p;
      }
      {
        let z = s[1] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 0u)) * 1.4426950408889634 - lseTile[tx + 16u]), o0 + ty * RM + 0u < params.seqK && (!CAUSAL || i32(o0 + ty * RM + 0u) <= i32(i0 + tx + 16u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 0u))));
        let g = select(0.0, p * (dp[1] - deltaTile[tx + 16u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 0u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 0u));
        Ps[(ty * RM + 0u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = p;
      }
      {
        let z = s[2] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 1u)) * 1.4426950408889634 - lseTile[tx + 0u]), o0 + ty * RM + 1u < params.seqK && (!CAUSAL || i32(o0 + ty * RM + 1u) <= i32(i0 + tx + 0u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 1u))));
        let g = select(0.0, p * (dp[2] - deltaTile[tx + 0u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 1u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 1u));
        Ps[(ty * RM + 1u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = p;
      }
      {
        let z = s[3] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 1u)) * 1.4426950408889634 - lseTile[tx + 16u]), o0 + ty * RM + 1u < params.seqK && (!CAUSAL || i32(o0 + ty * RM + 1u) <= i32(i0 + tx + 16u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 1u))));
        let g = select(0.0, p * (dp[3] - deltaTile[tx + 16u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 1u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 1u));
        Ps[(ty * RM + 1u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = p;
      }
      {
        let z = s[4] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 2u)) * 1.4426950408889634 - lseTile[tx + 0u]), o0 + ty * RM + 2u < params.seqK && (!CAUSAL || i32(o0 + ty * RM + 2u) <= i32(i0 + tx + 0u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 2u))));
        let g = select(0.0, p * (dp[4] - deltaTile[tx + 0u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 2u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 2u));
        Ps[(ty * RM + 2u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = p;
      }
      {
        let z = s[5] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 2u)) * 1.4426950408889634 - lseTile[tx + 16u]), o0 + ty * RM + 2u < params.seqK && (!CAUSAL || i32(o0 + ty * RM + 2u) <= i32(i0 + tx + 16u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 2u))));
        let g = select(0.0, p * (dp[5] - deltaTile[tx + 16u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 2u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 2u));
        Ps[(ty * RM + 2u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = p;
      }
      {
        let z = s[6] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 3u)) * 1.4426950408889634 - lseTile[tx + 0u]), o0 + ty * RM + 3u < params.seqK && (!CAUSAL || i32(o0 + ty * RM + 3u) <= i32(i0 + tx + 0u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 3u))));
        let g = select(0.0, p * (dp[6] - deltaTile[tx + 0u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 3u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(i0 + tx + 0u), i32(o0 + ty * RM + 3u));
        Ps[(ty * RM + 3u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = p;
      }
      {
        let z = s[7] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 3u)) * 1.4426950408889634 - lseTile[tx + 16u]), o0 + ty * RM + 3u < params.seqK && (!CAUSAL || i32(o0 + ty * RM + 3u) <= i32(i0 + tx + 16u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 3u))));
        let g = select(0.0, p * (dp[7] - deltaTile[tx + 16u]), bitcast<u32>(p) != 0u);
        dSs[(ty * RM + 3u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(i0 + tx + 16u), i32(o0 + ty * RM + 3u));
        Ps[(ty * RM + 3u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = p;
      }
    }
    workgroupBarrier();

    // A masked pair's Q and dO must not reach the key even when inf or NaN: tiles with masked pairs skip them explicitly.
    if (interior && full) {
    // dK += dS·Q and dV += P·dO for RM outer rows × OC vec4 columns (columns tx + TX·c).
    for (var j4 = 0u; j4 < BI / 4u; j4++) {
      let ds0 = dSs[(ty * RM + 0u) * (BI / 4u) + j4];
      let p0 = Ps[(ty * RM + 0u) * (BI / 4u) + j4];
      let ds1 = dSs[(ty * RM + 1u) * (BI / 4u) + j4];
      let p1 = Ps[(ty * RM + 1u) * (BI / 4u) + j4];
      let ds2 = dSs[(ty * RM + 2u) * (BI / 4u) + j4];
      let p2 = Ps[(ty * RM + 2u) * (BI / 4u) + j4];
      let ds3 = dSs[(ty * RM + 3u) * (BI / 4u) + j4];
      let p3 = Ps[(ty * RM + 3u) * (BI / 4u) + j4];
      {
        let qRow = Qs[(j4 * 4u + 0u) * YROW + tx + 0u];
        dkAcc[0] = fma(vec4<f32>(ds0.x), qRow, dkAcc[0]);
        dkAcc[1] = fma(vec4<f32>(ds1.x), qRow, dkAcc[1]);
        dkAcc[2] = fma(vec4<f32>(ds2.x), qRow, dkAcc[2]);
        dkAcc[3] = fma(vec4<f32>(ds3.x), qRow, dkAcc[3]);
        let dORow = dOs[(j4 * 4u + 0u) * YROW + tx + 0u];
        dvAcc[0] = fma(vec4<f32>(p0.x), dORow, dvAcc[0]);
        dvAcc[1] = fma(vec4<f32>(p1.x), dORow, dvAcc[1]);
        dvAcc[2] = fma(vec4<f32>(p2.x), dORow, dvAcc[2]);
        dvAcc[3] = fma(vec4<f32>(p3.x), dORow, dvAcc[3]);
      }
      {
        let qRow = Qs[(j4 * 4u + 1u) * YROW + tx + 0u];
        dkAcc[0] = fma(vec4<f32>(ds0.y), qRow, dkAcc[0]);
        dkAcc[1] = fma(vec4<f32>(ds1.y), qRow, dkAcc[1]);
        dkAcc[2] = fma(vec4<f32>(ds2.y), qRow, dkAcc[2]);
        dkAcc[3] = fma(vec4<f32>(ds3.y), qRow, dkAcc[3]);
        let dORow = dOs[(j4 * 4u + 1u) * YROW + tx + 0u];
        dvAcc[0] = fma(vec4<f32>(p0.y), dORow, dvAcc[0]);
        dvAcc[1] = fma(vec4<f32>(p1.y), dORow, dvAcc[1]);
        dvAcc[2] = fma(vec4<f32>(p2.y), dORow, dvAcc[2]);
        dvAcc[3] = fma(vec4<f32>(p3.y), dORow, dvAcc[3]);
      }
      {
        let qRow = Qs[(j4 * 4u + 2u) * YROW + tx + 0u];
        dkAcc[0] = fma(vec4<f32>(ds0.z), qRow, dkAcc[0]);
        dkAcc[1] = fma(vec4<f32>(ds1.z), qRow, dkAcc[1]);
        dkAcc[2] = fma(vec4<f32>(ds2.z), qRow, dkAcc[2]);
        dkAcc[3] = fma(vec4<f32>(ds3.z), qRow, dkAcc[3]);
        let dORow = dOs[(j4 * 4u + 2u) * YROW + tx + 0u];
        dvAcc[0] = fma(vec4<f32>(p0.z), dORow, dvAcc[0]);
        dvAcc[1] = fma(vec4<f32>(p1.z), dORow, dvAcc[1]);
        dvAcc[2] = fma(vec4<f32>(p2.z), dORow, dvAcc[2]);
        dvAcc[3] = fma(vec4<f32>(p3.z), dORow, dvAcc[3]);
      }
      {
        let qRow = Qs[(j4 * 4u + 3u) * YROW + tx + 0u];
        dkAcc[0] = fma(vec4<f32>(ds0.w), qRow, dkAcc[0]);
        dkAcc[1] = fma(vec4<f32>(ds1.w), qRow, dkAcc[1]);
        dkAcc[2] = fma(vec4<f32>(ds2.w), qRow, dkAcc[2]);
        dkAcc[3] = fma(vec4<f32>(ds3.w), qRow, dkAcc[3]);
        let dORow = dOs[(j4 * 4u + 3u) * YROW + tx + 0u];
        dvAcc[0] = fma(vec4<f32>(p0.w), dORow, dvAcc[0]);
        dvAcc[1] = fma(vec4<f32>(p1.w), dORow, dvAcc[1]);
        dvAcc[2] = fma(vec4<f32>(p2.w), dORow, dvAcc[2]);
        dvAcc[3] = fma(vec4<f32>(p3.w), dORow, dvAcc[3]);
      }
    }
    } else {
    // dK += dS·Q and dV += P·dO for RM outer rows × OC vec4 columns (columns tx + TX·c).
    for (var j4 = 0u; j4 < BI / 4u; j4++) {
      let ds0 = dSs[(ty * RM + 0u) * (BI / 4u) + j4];
      let p0 = Ps[(ty * RM + 0u) * (BI / 4u) + j4];
      let ds1 = dSs[(ty * RM + 1u) * (BI / 4u) + j4];
      let p1 = Ps[(ty * RM + 1u) * (BI / 4u) + j4];
      let ds2 = dSs[(ty * RM + 2u) * (BI / 4u) + j4];
      let p2 = Ps[(ty * RM + 2u) * (BI / 4u) + j4];
      let ds3 = dSs[(ty * RM + 3u) * (BI / 4u) + j4];
      let p3 = Ps[(ty * RM + 3u) * (BI / 4u) + j4];
      {
        let qRow = Qs[(j4 * 4u + 0u) * YROW + tx + 0u];
        dkAcc[0] = fma(vec4<f32>(ds0.x), select(vec4<f32>(0.0), qRow, ds0.x != 0.0), dkAcc[0]);
        dkAcc[1] = fma(vec4<f32>(ds1.x), select(vec4<f32>(0.0), qRow, ds1.x != 0.0), dkAcc[1]);
        dkAcc[2] = fma(vec4<f32>(ds2.x), select(vec4<f32>(0.0), qRow, ds2.x != 0.0), dkAcc[2]);
        dkAcc[3] = fma(vec4<f32>(ds3.x), select(vec4<f32>(0.0), qRow, ds3.x != 0.0), dkAcc[3]);
        let dORow = dOs[(j4 * 4u + 0u) * YROW + tx + 0u];
        dvAcc[0] = fma(vec4<f32>(p0.x), select(vec4<f32>(0.0), dORow, p0.x != 0.0), dvAcc[0]);
        dvAcc[1] = fma(vec4<f32>(p1.x), select(vec4<f32>(0.0), dORow, p1.x != 0.0), dvAcc[1]);
        dvAcc[2] = fma(vec4<f32>(p2.x), select(vec4<f32>(0.0), dORow, p2.x != 0.0), dvAcc[2]);
        dvAcc[3] = fma(vec4<f32>(p3.x), select(vec4<f32>(0.0), dORow, p3.x != 0.0), dvAcc[3]);
      }
      {
        let qRow = Qs[(j4 * 4u + 1u) * YROW + tx + 0u];
        dkAcc[0] = fma(vec4<f32>(ds0.y), select(vec4<f32>(0.0), qRow, ds0.y != 0.0), dkAcc[0]);
        dkAcc[1] = fma(vec4<f32>(ds1.y), select(vec4<f32>(0.0), qRow, ds1.y != 0.0), dkAcc[1]);
        dkAcc[2] = fma(vec4<f32>(ds2.y), select(vec4<f32>(0.0), qRow, ds2.y != 0.0), dkAcc[2]);
        dkAcc[3] = fma(vec4<f32>(ds3.y), select(vec4<f32>(0.0), qRow, ds3.y != 0.0), dkAcc[3]);
        let dORow = dOs[(j4 * 4u + 1u) * YROW + tx + 0u];
        dvAcc[0] = fma(vec4<f32>(p0.y), select(vec4<f32>(0.0), dORow, p0.y != 0.0), dvAcc[0]);
        dvAcc[1] = fma(vec4<f32>(p1.y), select(vec4<f32>(0.0), dORow, p1.y != 0.0), dvAcc[1]);
        dvAcc[2] = fma(vec4<f32>(p2.y), select(vec4<f32>(0.0), dORow, p2.y != 0.0), dvAcc[2]);
        dvAcc[3] = fma(vec4<f32>(p3.y), select(vec4<f32>(0.0), dORow, p3.y != 0.0), dvAcc[3]);
      }
      {
        let qRow = Qs[(j4 * 4u + 2u) * YROW + tx + 0u];
        dkAcc[0] = fma(vec4<f32>(ds0.z), select(vec4<f32>(0.0), qRow, ds0.z != 0.0), dkAcc[0]);
        dkAcc[1] = fma(vec4<f32>(ds1.z), select(vec4<f32>(0.0), qRow, ds1.z != 0.0), dkAcc[1]);
        dkAcc[2] = fma(vec4<f32>(ds2.z), select(vec4<f32>(0.0), qRow, ds2.z != 0.0), dkAcc[2]);
        dkAcc[3] = fma(vec4<f32>(ds3.z), select(vec4<f32>(0.0), qRow, ds3.z != 0.0), dkAcc[3]);
        let dORow = dOs[(j4 * 4u + 2u) * YROW + tx + 0u];
        dvAcc[0] = fma(vec4<f32>(p0.z), select(vec4<f32>(0.0), dORow, p0.z != 0.0), dvAcc[0]);
        dvAcc[1] = fma(vec4<f32>(p1.z), select(vec4<f32>(0.0), dORow, p1.z != 0.0), dvAcc[1]);
        dvAcc[2] = fma(vec4<f32>(p2.z), select(vec4<f32>(0.0), dORow, p2.z != 0.0), dvAcc[2]);
        dvAcc[3] = fma(vec4<f32>(p3.z), select(vec4<f32>(0.0), dORow, p3.z != 0.0), dvAcc[3]);
      }
      {
        let qRow = Qs[(j4 * 4u + 3u) * YROW + tx + 0u];
        dkAcc[0] = fma(vec4<f32>(ds0.w), select(vec4<f32>(0.0), qRow, ds0.w != 0.0), dkAcc[0]);
        dkAcc[1] = fma(vec4<f32>(ds1.w), select(vec4<f32>(0.0), qRow, ds1.w != 0.0), dkAcc[1]);
        dkAcc[2] = fma(vec4<f32>(ds2.w), select(vec4<f32>(0.0), qRow, ds2.w != 0.0), dkAcc[2]);
        dkAcc[3] = fma(vec4<f32>(ds3.w), select(vec4<f32>(0.0), qRow, ds3.w != 0.0), dkAcc[3]);
        let dORow = dOs[(j4 * 4u + 3u) * YROW + tx + 0u];
        dvAcc[0] = fma(vec4<f32>(p0.w), select(vec4<f32>(0.0), dORow, p0.w != 0.0), dvAcc[0]);
        dvAcc[1] = fma(vec4<f32>(p1.w), select(vec4<f32>(0.0), dORow, p1.w != 0.0), dvAcc[1]);
        dvAcc[2] = fma(vec4<f32>(p2.w), select(vec4<f32>(0.0), dORow, p2.w != 0.0), dvAcc[2]);
        dvAcc[3] = fma(vec4<f32>(p3.w), select(vec4<f32>(0.0), dORow, p3.w != 0.0), dvAcc[3]);
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
  {
    let n = o0 + ty * RM + 2u;
    if (n < params.seqK) {
      {
        dk[kBase + n * params.ksn + tx + 0u] = dkAcc[2] * params.scale;
        dv[vBase + n * params.vsn + tx + 0u] = dvAcc[2];
      }
    }
  }
  {
    let n = o0 + ty * RM + 3u;
    if (n < params.seqK) {
      {
        dk[kBase + n * params.ksn + tx + 0u] = dkAcc[3] * params.scale;
        dv[vBase + n * params.vsn + tx + 0u] = dvAcc[3];
      }
    }
  }
}
