
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
const TY = 16u;
const RM = 4u;
const NT = 256u;
const BO = 64u;
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
@group(0) @binding(7) var<storage, read_write> dq: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read> aux: array<f32>;
@group(0) @binding(9) var<storage, read_write> tgrad: array<atomic<u32>>;
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
fn nextTile(row: u32, start: u32, end: u32) -> u32 {
  var t = start;
  loop {
    if (t >= end || blocks[row + t] != 0u) { break; }
    t++;
  }
  return t;
}
fn tgIndex0(score: f32, b: i32, h: i32, q: i32, kv: i32) -> i32 {
  let t0 = h;
  return t0;
}
fn tgPartial0(score: f32, b: i32, h: i32, q: i32, kv: i32) -> f32 {
  let t0 = kv;
  let t1 = q;
  let t2 = (t0 - t1);
  let t3 = f32(t2);
  return t3;
}
fn flushGrad(i: u32, v: f32) {
  if (i == 0xffffffffu || v == 0.0) { return; }
  let c = clamp(v, -2.0e9, 2.0e9);
  let whole = floor(c);
  let lo = u32((c - whole) * 4294967296.0);
  let old = atomicAdd(&tgrad[2u * i], lo);
  atomicAdd(&tgrad[2u * i + 1u], bitcast<u32>(i32(whole)) + select(0u, 1u, old + lo < old));
}

var<workgroup> Qs: array<vec4<f32>, 1024>;
var<workgroup> dOs: array<vec4<f32>, 1024>;
var<workgroup> Ks: array<vec4<f32>, 512>;
var<workgroup> Vs: array<vec4<f32>, 512>;



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
  var lseRow: array<f32, 4>;
  var deltaRow: array<f32, 4>;
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
  {
    let n = o0 + ty * RM + 1u;
    lseRow[1] = 3.0e38;
    deltaRow[1] = 0.0;
    if (n < params.seqQ) {
      let row = (b * params.headsQ + h) * params.seqQ + n;
      if (lse[row] > MASKED || isNan(lse[row])) { lseRow[1] = lse[row] * 1.4426950408889634; } // a NaN row stays NaN
      deltaRow[1] = dd[row];
    }
  }
  {
    let n = o0 + ty * RM + 2u;
    lseRow[2] = 3.0e38;
    deltaRow[2] = 0.0;
    if (n < params.seqQ) {
      let row = (b * params.headsQ + h) * params.seqQ + n;
      if (lse[row] > MASKED || isNan(lse[row])) { lseRow[2] = lse[row] * 1.4426950408889634; } // a NaN row stays NaN
      deltaRow[2] = dd[row];
    }
  }
  {
    let n = o0 + ty * RM + 3u;
    lseRow[3] = 3.0e38;
    deltaRow[3] = 0.0;
    if (n < params.seqQ) {
      let row = (b * params.headsQ + h) * params.seqQ + n;
      if (lse[row] > MASKED || isNan(lse[row])) { lseRow[3] = lse[row] * 1.4426950408889634; } // a NaN row stays NaN
      deltaRow[3] = dd[row];
    }
  }
  var dqAcc: array<vec4<f32>, 4>;


  var kvEnd = params.seqK;
  if (CAUSAL) { kvEnd = u32(clamp(i32(o0 + BO) + params.causalOffset, 0, i32(params.seqK))); }
  let steps = (kvEnd + BI - 1u) / BI;
  let blockRow = b * params.bmB + h * params.bmH + g.x * params.bmRow;
  var tgI = array<u32, 1>(0xffffffffu);
  var tgA: array<f32, 1>;
  var kr: array<vec4<f32>, 2>;
  var vr: array<vec4<f32>, 2>;

  var st = nextTile(blockRow, 0u, steps);
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
      let e = tid + 256u;
      let n = i0 + e / D4;
      kr[1] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[1] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      vr[0] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[0] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      vr[1] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[1] = v[vBase + n * params.vsn + e % D4]; }
    }
    }
  }
  loop {
    if (st >= steps) { break; }
    let i0 = st * BI;
    let stNext = nextTile(blockRow, st + 1u, steps);
    let full = blocks[blockRow + st] == 2u;
    workgroupBarrier();
    { let e = tid + 0u; Ks[(e / D4) * D4 + ((e % D4) ^ ((e / D4) & (D4 - 1u)))] = kr[0]; }
    { let e = tid + 256u; Ks[(e / D4) * D4 + ((e % D4) ^ ((e / D4) & (D4 - 1u)))] = kr[1]; }
    { let e = tid + 0u; Vs[(e / D4) * D4 + ((e % D4) ^ ((e / D4) & (D4 - 1u)))] = vr[0]; }
    { let e = tid + 256u; Vs[(e / D4) * D4 + ((e % D4) ^ ((e / D4) & (D4 - 1u)))] = vr[1]; }

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
      let e = tid + 256u;
      let n = i0 + e / D4;
      kr[1] = vec4<f32>(0.0);
      if (n < params.seqK) { kr[1] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      vr[0] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[0] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      vr[1] = vec4<f32>(0.0);
      if (n < params.seqK) { vr[1] = v[vBase + n * params.vsn + e % D4]; }
    }
    }
    }

    // S and dP for this invocation's RM outer × CN inner rows, one pass over the head dim.
    var s = array<f32, 8>();
    var dp = array<f32, 8>();
    for (var d = 0u; d < D4; d++) {
      let k0 = Ks[(tx + 0u) * D4 + ((d) ^ ((tx + 0u) & (D4 - 1u)))];
      let v0 = Vs[(tx + 0u) * D4 + ((d) ^ ((tx + 0u) & (D4 - 1u)))];
      let k1 = Ks[(tx + 16u) * D4 + ((d) ^ ((tx + 16u) & (D4 - 1u)))];
      let v1 = Vs[(tx + 16u) * D4 + ((d) ^ ((tx + 16u) & (D4 - 1u)))];
      let q0 = Qs[(ty * RM + 0u) * D4 + d];
      let dO0 = dOs[(ty * RM + 0u) * D4 + d];
      let q1 = Qs[(ty * RM + 1u) * D4 + d];
      let dO1 = dOs[(ty * RM + 1u) * D4 + d];
      let q2 = Qs[(ty * RM + 2u) * D4 + d];
      let dO2 = dOs[(ty * RM + 2u) * D4 + d];
      let q3 = Qs[(ty * RM + 3u) * D4 + d];
      let dO3 = dOs[(ty * RM + 3u) * D4 + d];
      s[0] = fma(q0.w, k0.w, fma(q0.z, k0.z, fma(q0.y, k0.y, fma(q0.x, k0.x, s[0]))));
      dp[0] = fma(dO0.w, v0.w, fma(dO0.z, v0.z, fma(dO0.y, v0.y, fma(dO0.x, v0.x, dp[0]))));
      s[1] = fma(q0.w, k1.w, fma(q0.z, k1.z, fma(q0.y, k1.y, fma(q0.x, k1.x, s[1]))));
      dp[1] = fma(dO0.w, v1.w, fma(dO0.z, v1.z, fma(dO0.y, v1.y, fma(dO0.x, v1.x, dp[1]))));
      s[2] = fma(q1.w, k0.w, fma(q1.z, k0.z, fma(q1.y, k0.y, fma(q1.x, k0.x, s[2]))));
      dp[2] = fma(dO1.w, v0.w, fma(dO1.z, v0.z, fma(dO1.y, v0.y, fma(dO1.x, v0.x, dp[2]))));
      s[3] = fma(q1.w, k1.w, fma(q1.z, k1.z, fma(q1.y, k1.y, fma(q1.x, k1.x, s[3]))));
      dp[3] = fma(dO1.w, v1.w, fma(dO1.z, v1.z, fma(dO1.y, v1.y, fma(dO1.x, v1.x, dp[3]))));
      s[4] = fma(q2.w, k0.w, fma(q2.z, k0.z, fma(q2.y, k0.y, fma(q2.x, k0.x, s[4]))));
      dp[4] = fma(dO2.w, v0.w, fma(dO2.z, v0.z, fma(dO2.y, v0.y, fma(dO2.x, v0.x, dp[4]))));
      s[5] = fma(q2.w, k1.w, fma(q2.z, k1.z, fma(q2.y, k1.y, fma(q2.x, k1.x, s[5]))));
      dp[5] = fma(dO2.w, v1.w, fma(dO2.z, v1.z, fma(dO2.y, v1.y, fma(dO2.x, v1.x, dp[5]))));
      s[6] = fma(q3.w, k0.w, fma(q3.z, k0.z, fma(q3.y, k0.y, fma(q3.x, k0.x, s[6]))));
      dp[6] = fma(dO3.w, v0.w, fma(dO3.z, v0.z, fma(dO3.y, v0.y, fma(dO3.x, v0.x, dp[6]))));
      s[7] = fma(q3.w, k1.w, fma(q3.z, k1.z, fma(q3.y, k1.y, fma(q3.x, k1.x, s[7]))));
      dp[7] = fma(dO3.w, v1.w, fma(dO3.z, v1.z, fma(dO3.y, v1.y, fma(dO3.x, v1.x, dp[7]))));
    }

    // P = exp(s − LSE) and dS = P (dP − D) score'(z); only ragged and causal-diagonal tiles need the mask.
    workgroupBarrier(); // every invocation is done reading V: dS goes into its tile
    let interior = i0 + BI <= params.seqK && (!CAUSAL || i32(i0 + BI - 1u) <= i32(o0) + params.causalOffset);
    if (interior) {
      {
        let z = s[0] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 0u)) * 1.4426950408889634 - lseRow[0]), (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 0u))));
        let g = select(0.0, p * (dp[0] - deltaRow[0]), bitcast<u32>(p) != 0u);
        Vs[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 0u));
        {
          let ti = 0u + u32(clamp(tgIndex0(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 0u)), 0i, 7i));
          let tv = select(0.0, g * tgPartial0(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 0u)), g != 0.0);
          if (tv != 0.0) {
            if (ti != tgI[0]) { flushGrad(tgI[0], tgA[0]); tgI[0] = ti; tgA[0] = 0.0; }
            tgA[0] += tv;
          }
        }
      }
      {
        let z = s[1] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 16u)) * 1.4426950408889634 - lseRow[0]), (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 16u))));
        let g = select(0.0, p * (dp[1] - deltaRow[0]), bitcast<u32>(p) != 0u);
        Vs[(ty * RM + 0u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 16u));
        {
          let ti = 0u + u32(clamp(tgIndex0(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 16u)), 0i, 7i));
          let tv = select(0.0, g * tgPartial0(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 16u)), g != 0.0);
          if (tv != 0.0) {
            if (ti != tgI[0]) { flushGrad(tgI[0], tgA[0]); tgI[0] = ti; tgA[0] = 0.0; }
            tgA[0] += tv;
          }
        }
      }
      {
        let z = s[2] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 0u)) * 1.4426950408889634 - lseRow[1]), (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 0u))));
        let g = select(0.0, p * (dp[2] - deltaRow[1]), bitcast<u32>(p) != 0u);
        Vs[(ty * RM + 1u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 0u));
        {
          let ti = 0u + u32(clamp(tgIndex0(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 0u)), 0i, 7i));
          let tv = select(0.0, g * tgPartial0(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 0u)), g != 0.0);
          if (tv != 0.0) {
            if (ti != tgI[0]) { flushGrad(tgI[0], tgA[0]); tgI[0] = ti; tgA[0] = 0.0; }
            tgA[0] += tv;
          }
        }
      }
      {
        let z = s[3] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 16u)) * 1.4426950408889634 - lseRow[1]), (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 16u))));
        let g = select(0.0, p * (dp[3] - deltaRow[1]), bitcast<u32>(p) != 0u);
        Vs[(ty * RM + 1u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 16u));
        {
          let ti = 0u + u32(clamp(tgIndex0(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 16u)), 0i, 7i));
          let tv = select(0.0, g * tgPartial0(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 16u)), g != 0.0);
          if (tv != 0.0) {
            if (ti != tgI[0]) { flushGrad(tgI[0], tgA[0]); tgI[0] = ti; tgA[0] = 0.0; }
            tgA[0] += tv;
          }
        }
      }
      {
        let z = s[4] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 0u)) * 1.4426950408889634 - lseRow[2]), (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 0u))));
        let g = select(0.0, p * (dp[4] - deltaRow[2]), bitcast<u32>(p) != 0u);
        Vs[(ty * RM + 2u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 0u));
        {
          let ti = 0u + u32(clamp(tgIndex0(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 0u)), 0i, 7i));
          let tv = select(0.0, g * tgPartial0(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 0u)), g != 0.0);
          if (tv != 0.0) {
            if (ti != tgI[0]) { flushGrad(tgI[0], tgA[0]); tgI[0] = ti; tgA[0] = 0.0; }
            tgA[0] += tv;
          }
        }
      }
      {
        let z = s[5] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 16u)) * 1.4426950408889634 - lseRow[2]), (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 16u))));
        let g = select(0.0, p * (dp[5] - deltaRow[2]), bitcast<u32>(p) != 0u);
        Vs[(ty * RM + 2u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 16u));
        {
          let ti = 0u + u32(clamp(tgIndex0(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 16u)), 0i, 7i));
          let tv = select(0.0, g * tgPartial0(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 16u)), g != 0.0);
          if (tv != 0.0) {
            if (ti != tgI[0]) { flushGrad(tgI[0], tgA[0]); tgI[0] = ti; tgA[0] = 0.0; }
            tgA[0] += tv;
          }
        }
      }
      {
        let z = s[6] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 0u)) * 1.4426950408889634 - lseRow[3]), (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 0u))));
        let g = select(0.0, p * (dp[6] - deltaRow[3]), bitcast<u32>(p) != 0u);
        Vs[(ty * RM + 3u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 0u));
        {
          let ti = 0u + u32(clamp(tgIndex0(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 0u)), 0i, 7i));
          let tv = select(0.0, g * tgPartial0(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 0u)), g != 0.0);
          if (tv != 0.0) {
            if (ti != tgI[0]) { flushGrad(tgI[0], tgA[0]); tgI[0] = ti; tgA[0] = 0.0; }
            tgA[0] += tv;
          }
        }
      }
      {
        let z = s[7] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 16u)) * 1.4426950408889634 - lseRow[3]), (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 16u))));
        let g = select(0.0, p * (dp[7] - deltaRow[3]), bitcast<u32>(p) != 0u);
        Vs[(ty * RM + 3u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 16u));
        {
          let ti = 0u + u32(clamp(tgIndex0(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 16u)), 0i, 7i));
          let tv = select(0.0, g * tgPartial0(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 16u)), g != 0.0);
          if (tv != 0.0) {
            if (ti != tgI[0]) { flushGrad(tgI[0], tgA[0]); tgI[0] = ti; tgA[0] = 0.0; }
            tgA[0] += tv;
          }
        }
      }
    } else {
      {
        let z = s[0] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 0u)) * 1.4426950408889634 - lseRow[0]), i0 + tx + 0u < params.seqK && (!CAUSAL || i32(i0 + tx + 0u) <= i32(o0 + ty * RM + 0u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 0u))));
        let g = select(0.0, p * (dp[0] - deltaRow[0]), bitcast<u32>(p) != 0u);
        Vs[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 0u));
        {
          let ti = 0u + u32(clamp(tgIndex0(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 0u)), 0i, 7i));
          let tv = select(0.0, g * tgPartial0(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 0u)), g != 0.0);
          if (tv != 0.0) {
            if (ti != tgI[0]) { flushGrad(tgI[0], tgA[0]); tgI[0] = ti; tgA[0] = 0.0; }
            tgA[0] += tv;
          }
        }
      }
      {
        let z = s[1] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 16u)) * 1.4426950408889634 - lseRow[0]), i0 + tx + 16u < params.seqK && (!CAUSAL || i32(i0 + tx + 16u) <= i32(o0 + ty * RM + 0u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 16u))));
        let g = select(0.0, p * (dp[1] - deltaRow[0]), bitcast<u32>(p) != 0u);
        Vs[(ty * RM + 0u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 16u));
        {
          let ti = 0u + u32(clamp(tgIndex0(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 16u)), 0i, 7i));
          let tv = select(0.0, g * tgPartial0(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 16u)), g != 0.0);
          if (tv != 0.0) {
            if (ti != tgI[0]) { flushGrad(tgI[0], tgA[0]); tgI[0] = ti; tgA[0] = 0.0; }
            tgA[0] += tv;
          }
        }
      }
      {
        let z = s[2] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 0u)) * 1.4426950408889634 - lseRow[1]), i0 + tx + 0u < params.seqK && (!CAUSAL || i32(i0 + tx + 0u) <= i32(o0 + ty * RM + 1u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 0u))));
        let g = select(0.0, p * (dp[2] - deltaRow[1]), bitcast<u32>(p) != 0u);
        Vs[(ty * RM + 1u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 0u));
        {
          let ti = 0u + u32(clamp(tgIndex0(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 0u)), 0i, 7i));
          let tv = select(0.0, g * tgPartial0(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 0u)), g != 0.0);
          if (tv != 0.0) {
            if (ti != tgI[0]) { flushGrad(tgI[0], tgA[0]); tgI[0] = ti; tgA[0] = 0.0; }
            tgA[0] += tv;
          }
        }
      }
      {
        let z = s[3] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 16u)) * 1.4426950408889634 - lseRow[1]), i0 + tx + 16u < params.seqK && (!CAUSAL || i32(i0 + tx + 16u) <= i32(o0 + ty * RM + 1u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 16u))));
        let g = select(0.0, p * (dp[3] - deltaRow[1]), bitcast<u32>(p) != 0u);
        Vs[(ty * RM + 1u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 16u));
        {
          let ti = 0u + u32(clamp(tgIndex0(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 16u)), 0i, 7i));
          let tv = select(0.0, g * tgPartial0(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 16u)), g != 0.0);
          if (tv != 0.0) {
            if (ti != tgI[0]) { flushGrad(tgI[0], tgA[0]); tgI[0] = ti; tgA[0] = 0.0; }
            tgA[0] += tv;
          }
        }
      }
      {
        let z = s[4] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 0u)) * 1.4426950408889634 - lseRow[2]), i0 + tx + 0u < params.seqK && (!CAUSAL || i32(i0 + tx + 0u) <= i32(o0 + ty * RM + 2u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 0u))));
        let g = select(0.0, p * (dp[4] - deltaRow[2]), bitcast<u32>(p) != 0u);
        Vs[(ty * RM + 2u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 0u));
        {
          let ti = 0u + u32(clamp(tgIndex0(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 0u)), 0i, 7i));
          let tv = select(0.0, g * tgPartial0(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 0u)), g != 0.0);
          if (tv != 0.0) {
            if (ti != tgI[0]) { flushGrad(tgI[0], tgA[0]); tgI[0] = ti; tgA[0] = 0.0; }
            tgA[0] += tv;
          }
        }
      }
      {
        let z = s[5] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 16u)) * 1.4426950408889634 - lseRow[2]), i0 + tx + 16u < params.seqK && (!CAUSAL || i32(i0 + tx + 16u) <= i32(o0 + ty * RM + 2u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 16u))));
        let g = select(0.0, p * (dp[5] - deltaRow[2]), bitcast<u32>(p) != 0u);
        Vs[(ty * RM + 2u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 16u));
        {
          let ti = 0u + u32(clamp(tgIndex0(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 16u)), 0i, 7i));
          let tv = select(0.0, g * tgPartial0(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 16u)), g != 0.0);
          if (tv != 0.0) {
            if (ti != tgI[0]) { flushGrad(tgI[0], tgA[0]); tgI[0] = ti; tgA[0] = 0.0; }
            tgA[0] += tv;
          }
        }
      }
      {
        let z = s[6] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 0u)) * 1.4426950408889634 - lseRow[3]), i0 + tx + 0u < params.seqK && (!CAUSAL || i32(i0 + tx + 0u) <= i32(o0 + ty * RM + 3u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 0u))));
        let g = select(0.0, p * (dp[6] - deltaRow[3]), bitcast<u32>(p) != 0u);
        Vs[(ty * RM + 3u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 0u));
        {
          let ti = 0u + u32(clamp(tgIndex0(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 0u)), 0i, 7i));
          let tv = select(0.0, g * tgPartial0(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 0u)), g != 0.0);
          if (tv != 0.0) {
            if (ti != tgI[0]) { flushGrad(tgI[0], tgA[0]); tgI[0] = ti; tgA[0] = 0.0; }
            tgA[0] += tv;
          }
        }
      }
      {
        let z = s[7] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 16u)) * 1.4426950408889634 - lseRow[3]), i0 + tx + 16u < params.seqK && (!CAUSAL || i32(i0 + tx + 16u) <= i32(o0 + ty * RM + 3u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 16u))));
        let g = select(0.0, p * (dp[7] - deltaRow[3]), bitcast<u32>(p) != 0u);
        Vs[(ty * RM + 3u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 16u));
        {
          let ti = 0u + u32(clamp(tgIndex0(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 16u)), 0i, 7i));
          let tv = select(0.0, g * tgPartial0(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 16u)), g != 0.0);
          if (tv != 0.0) {
            if (ti != tgI[0]) { flushGrad(tgI[0], tgA[0]); tgI[0] = ti; tgA[0] = 0.0; }
            tgA[0] += tv;
          }
        }
      }
    }
    workgroupBarrier();

    // A masked pair's K must not reach the row even when it is inf or NaN: tiles with masked pairs skip it explicitly.
    if (interior && full) {
    // dQ += dS·K for RM outer rows × OC vec4 columns (columns tx + TX·c).
    for (var j4 = 0u; j4 < BI / 4u; j4++) {
      let ds0 = Vs[(ty * RM + 0u) * (BI / 4u) + j4];
      let ds1 = Vs[(ty * RM + 1u) * (BI / 4u) + j4];
      let ds2 = Vs[(ty * RM + 2u) * (BI / 4u) + j4];
      let ds3 = Vs[(ty * RM + 3u) * (BI / 4u) + j4];
      {
        let kRow = Ks[(j4 * 4u + 0u) * D4 + ((tx + 0u) ^ ((j4 * 4u + 0u) & (D4 - 1u)))];
        dqAcc[0] = fma(vec4<f32>(ds0.x), kRow, dqAcc[0]);
        dqAcc[1] = fma(vec4<f32>(ds1.x), kRow, dqAcc[1]);
        dqAcc[2] = fma(vec4<f32>(ds2.x), kRow, dqAcc[2]);
        dqAcc[3] = fma(vec4<f32>(ds3.x), kRow, dqAcc[3]);
      }
      {
        let kRow = Ks[(j4 * 4u + 1u) * D4 + ((tx + 0u) ^ ((j4 * 4u + 1u) & (D4 - 1u)))];
        dqAcc[0] = fma(vec4<f32>(ds0.y), kRow, dqAcc[0]);
        dqAcc[1] = fma(vec4<f32>(ds1.y), kRow, dqAcc[1]);
        dqAcc[2] = fma(vec4<f32>(ds2.y), kRow, dqAcc[2]);
        dqAcc[3] = fma(vec4<f32>(ds3.y), kRow, dqAcc[3]);
      }
      {
        let kRow = Ks[(j4 * 4u + 2u) * D4 + ((tx + 0u) ^ ((j4 * 4u + 2u) & (D4 - 1u)))];
        dqAcc[0] = fma(vec4<f32>(ds0.z), kRow, dqAcc[0]);
        dqAcc[1] = fma(vec4<f32>(ds1.z), kRow, dqAcc[1]);
        dqAcc[2] = fma(vec4<f32>(ds2.z), kRow, dqAcc[2]);
        dqAcc[3] = fma(vec4<f32>(ds3.z), kRow, dqAcc[3]);
      }
      {
        let kRow = Ks[(j4 * 4u + 3u) * D4 + ((tx + 0u) ^ ((j4 * 4u + 3u) & (D4 - 1u)))];
        dqAcc[0] = fma(vec4<f32>(ds0.w), kRow, dqAcc[0]);
        dqAcc[1] = fma(vec4<f32>(ds1.w), kRow, dqAcc[1]);
        dqAcc[2] = fma(vec4<f32>(ds2.w), kRow, dqAcc[2]);
        dqAcc[3] = fma(vec4<f32>(ds3.w), kRow, dqAcc[3]);
      }
    }
    } else {
    // dQ += dS·K for RM outer rows × OC vec4 columns (columns tx + TX·c).
    for (var j4 = 0u; j4 < BI / 4u; j4++) {
      let ds0 = Vs[(ty * RM + 0u) * (BI / 4u) + j4];
      let ds1 = Vs[(ty * RM + 1u) * (BI / 4u) + j4];
      let ds2 = Vs[(ty * RM + 2u) * (BI / 4u) + j4];
      let ds3 = Vs[(ty * RM + 3u) * (BI / 4u) + j4];
      {
        let kRow = Ks[(j4 * 4u + 0u) * D4 + ((tx + 0u) ^ ((j4 * 4u + 0u) & (D4 - 1u)))];
        dqAcc[0] = fma(vec4<f32>(ds0.x), select(vec4<f32>(0.0), kRow, ds0.x != 0.0), dqAcc[0]);
        dqAcc[1] = fma(vec4<f32>(ds1.x), select(vec4<f32>(0.0), kRow, ds1.x != 0.0), dqAcc[1]);
        dqAcc[2] = fma(vec4<f32>(ds2.x), select(vec4<f32>(0.0), kRow, ds2.x != 0.0), dqAcc[2]);
        dqAcc[3] = fma(vec4<f32>(ds3.x), select(vec4<f32>(0.0), kRow, ds3.x != 0.0), dqAcc[3]);
      }
      {
        let kRow = Ks[(j4 * 4u + 1u) * D4 + ((tx + 0u) ^ ((j4 * 4u + 1u) & (D4 - 1u)))];
        dqAcc[0] = fma(vec4<f32>(ds0.y), select(vec4<f32>(0.0), kRow, ds0.y != 0.0), dqAcc[0]);
        dqAcc[1] = fma(vec4<f32>(ds1.y), select(vec4<f32>(0.0), kRow, ds1.y != 0.0), dqAcc[1]);
        dqAcc[2] = fma(vec4<f32>(ds2.y), select(vec4<f32>(0.0), kRow, ds2.y != 0.0), dqAcc[2]);
        dqAcc[3] = fma(vec4<f32>(ds3.y), select(vec4<f32>(0.0), kRow, ds3.y != 0.0), dqAcc[3]);
      }
      {
        let kRow = Ks[(j4 * 4u + 2u) * D4 + ((tx + 0u) ^ ((j4 * 4u + 2u) & (D4 - 1u)))];
        dqAcc[0] = fma(vec4<f32>(ds0.z), select(vec4<f32>(0.0), kRow, ds0.z != 0.0), dqAcc[0]);
        dqAcc[1] = fma(vec4<f32>(ds1.z), select(vec4<f32>(0.0), kRow, ds1.z != 0.0), dqAcc[1]);
        dqAcc[2] = fma(vec4<f32>(ds2.z), select(vec4<f32>(0.0), kRow, ds2.z != 0.0), dqAcc[2]);
        dqAcc[3] = fma(vec4<f32>(ds3.z), select(vec4<f32>(0.0), kRow, ds3.z != 0.0), dqAcc[3]);
      }
      {
        let kRow = Ks[(j4 * 4u + 3u) * D4 + ((tx + 0u) ^ ((j4 * 4u + 3u) & (D4 - 1u)))];
        dqAcc[0] = fma(vec4<f32>(ds0.w), select(vec4<f32>(0.0), kRow, ds0.w != 0.0), dqAcc[0]);
        dqAcc[1] = fma(vec4<f32>(ds1.w), select(vec4<f32>(0.0), kRow, ds1.w != 0.0), dqAcc[1]);
        dqAcc[2] = fma(vec4<f32>(ds2.w), select(vec4<f32>(0.0), kRow, ds2.w != 0.0), dqAcc[2]);
        dqAcc[3] = fma(vec4<f32>(ds3.w), select(vec4<f32>(0.0), kRow, ds3.w != 0.0), dqAcc[3]);
      }
    }
    }
    st = stNext;
  }
  flushGrad(tgI[0], tgA[0]);

  {
    let n = o0 + ty * RM + 0u;
    if (n < params.seqQ) {
      { dq[b * params.qsb + h * params.qsh + n * params.qsn + tx + 0u] = dqAcc[0] * params.scale; }
    }
  }
  {
    let n = o0 + ty * RM + 1u;
    if (n < params.seqQ) {
      { dq[b * params.qsb + h * params.qsh + n * params.qsn + tx + 0u] = dqAcc[1] * params.scale; }
    }
  }
  {
    let n = o0 + ty * RM + 2u;
    if (n < params.seqQ) {
      { dq[b * params.qsb + h * params.qsh + n * params.qsn + tx + 0u] = dqAcc[2] * params.scale; }
    }
  }
  {
    let n = o0 + ty * RM + 3u;
    if (n < params.seqQ) {
      { dq[b * params.qsb + h * params.qsh + n * params.qsn + tx + 0u] = dqAcc[3] * params.scale; }
    }
  }
}
