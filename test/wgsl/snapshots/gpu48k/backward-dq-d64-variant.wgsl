
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

var<workgroup> Xa: array<vec4<f32>, 1024>;
var<workgroup> Xb: array<vec4<f32>, 1024>;
var<workgroup> Ya: array<vec4<f32>, 512>;
var<workgroup> Yb: array<vec4<f32>, 512>;



@compute @workgroup_size(TX, TY, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * TX + tx;
  let b = wg.z;
  let o0 = wg.x * BO;
  let h = wg.y;
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
      Xa[e] = x;
      Xb[e] = y;
    }
  }
  // Row terms of this invocation's rows: LSE·log2 e (rows past Nq or fully masked contribute nothing) and D.
  var lr: array<f32, 4>;
  var dr: array<f32, 4>;
  {
    let n = o0 + ty * RM + 0u;
    lr[0] = 3.0e38;
    dr[0] = 0.0;
    if (n < params.seqQ) {
      let row = (b * params.headsQ + h) * params.seqQ + n;
      if (lse[row] > MASKED) { lr[0] = lse[row] * 1.4426950408889634; }
      dr[0] = dd[row];
    }
  }
  {
    let n = o0 + ty * RM + 1u;
    lr[1] = 3.0e38;
    dr[1] = 0.0;
    if (n < params.seqQ) {
      let row = (b * params.headsQ + h) * params.seqQ + n;
      if (lse[row] > MASKED) { lr[1] = lse[row] * 1.4426950408889634; }
      dr[1] = dd[row];
    }
  }
  {
    let n = o0 + ty * RM + 2u;
    lr[2] = 3.0e38;
    dr[2] = 0.0;
    if (n < params.seqQ) {
      let row = (b * params.headsQ + h) * params.seqQ + n;
      if (lse[row] > MASKED) { lr[2] = lse[row] * 1.4426950408889634; }
      dr[2] = dd[row];
    }
  }
  {
    let n = o0 + ty * RM + 3u;
    lr[3] = 3.0e38;
    dr[3] = 0.0;
    if (n < params.seqQ) {
      let row = (b * params.headsQ + h) * params.seqQ + n;
      if (lse[row] > MASKED) { lr[3] = lse[row] * 1.4426950408889634; }
      dr[3] = dd[row];
    }
  }
  var acc1: array<vec4<f32>, 4>;


  var kvEnd = params.seqK;
  if (CAUSAL) { kvEnd = u32(clamp(i32(o0 + BO) + params.causalOffset, 0, i32(params.seqK))); }
  let steps = (kvEnd + BI - 1u) / BI;
  let blockRow = b * params.bmB + h * params.bmH + wg.x * params.bmRow;
  var tgI = array<u32, 1>(0xffffffffu);
  var tgA: array<f32, 1>;
  var ra: array<vec4<f32>, 2>;
  var rb: array<vec4<f32>, 2>;

  var st = nextTile(blockRow, 0u, steps);
  if (st < steps) {
    {
      let i0 = st * BI;
      let qBase = b * params.qsb + h * params.qsh;
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      ra[0] = vec4<f32>(0.0);
      if (n < params.seqK) { ra[0] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      ra[1] = vec4<f32>(0.0);
      if (n < params.seqK) { ra[1] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      rb[0] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[0] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      rb[1] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[1] = v[vBase + n * params.vsn + e % D4]; }
    }
    }
  }
  loop {
    if (st >= steps) { break; }
    let i0 = st * BI;
    let stNext = nextTile(blockRow, st + 1u, steps);
    let full = blocks[blockRow + st] == 2u;
    workgroupBarrier();
    { let e = tid + 0u; Ya[(e / D4) * D4 + ((e % D4) ^ ((e / D4) & (D4 - 1u)))] = ra[0]; }
    { let e = tid + 256u; Ya[(e / D4) * D4 + ((e % D4) ^ ((e / D4) & (D4 - 1u)))] = ra[1]; }
    { let e = tid + 0u; Yb[(e / D4) * D4 + ((e % D4) ^ ((e / D4) & (D4 - 1u)))] = rb[0]; }
    { let e = tid + 256u; Yb[(e / D4) * D4 + ((e % D4) ^ ((e / D4) & (D4 - 1u)))] = rb[1]; }

    workgroupBarrier();
    if (stNext < steps) {
    {
      let i0 = stNext * BI;
      let qBase = b * params.qsb + h * params.qsh;
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      ra[0] = vec4<f32>(0.0);
      if (n < params.seqK) { ra[0] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      ra[1] = vec4<f32>(0.0);
      if (n < params.seqK) { ra[1] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      rb[0] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[0] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      rb[1] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[1] = v[vBase + n * params.vsn + e % D4]; }
    }
    }
    }

    // S and dP for this invocation's RM outer × CN inner rows, one pass over the head dim.
    var sa = array<f32, 8>();
    var sb = array<f32, 8>();
    for (var d = 0u; d < D4; d++) {
      let ya0 = Ya[(tx + 0u) * D4 + ((d) ^ ((tx + 0u) & (D4 - 1u)))];
      let yb0 = Yb[(tx + 0u) * D4 + ((d) ^ ((tx + 0u) & (D4 - 1u)))];
      let ya1 = Ya[(tx + 16u) * D4 + ((d) ^ ((tx + 16u) & (D4 - 1u)))];
      let yb1 = Yb[(tx + 16u) * D4 + ((d) ^ ((tx + 16u) & (D4 - 1u)))];
      let xa0 = Xa[(ty * RM + 0u) * D4 + d];
      let xb0 = Xb[(ty * RM + 0u) * D4 + d];
      let xa1 = Xa[(ty * RM + 1u) * D4 + d];
      let xb1 = Xb[(ty * RM + 1u) * D4 + d];
      let xa2 = Xa[(ty * RM + 2u) * D4 + d];
      let xb2 = Xb[(ty * RM + 2u) * D4 + d];
      let xa3 = Xa[(ty * RM + 3u) * D4 + d];
      let xb3 = Xb[(ty * RM + 3u) * D4 + d];
      sa[0] = fma(xa0.w, ya0.w, fma(xa0.z, ya0.z, fma(xa0.y, ya0.y, fma(xa0.x, ya0.x, sa[0]))));
      sb[0] = fma(xb0.w, yb0.w, fma(xb0.z, yb0.z, fma(xb0.y, yb0.y, fma(xb0.x, yb0.x, sb[0]))));
      sa[1] = fma(xa0.w, ya1.w, fma(xa0.z, ya1.z, fma(xa0.y, ya1.y, fma(xa0.x, ya1.x, sa[1]))));
      sb[1] = fma(xb0.w, yb1.w, fma(xb0.z, yb1.z, fma(xb0.y, yb1.y, fma(xb0.x, yb1.x, sb[1]))));
      sa[2] = fma(xa1.w, ya0.w, fma(xa1.z, ya0.z, fma(xa1.y, ya0.y, fma(xa1.x, ya0.x, sa[2]))));
      sb[2] = fma(xb1.w, yb0.w, fma(xb1.z, yb0.z, fma(xb1.y, yb0.y, fma(xb1.x, yb0.x, sb[2]))));
      sa[3] = fma(xa1.w, ya1.w, fma(xa1.z, ya1.z, fma(xa1.y, ya1.y, fma(xa1.x, ya1.x, sa[3]))));
      sb[3] = fma(xb1.w, yb1.w, fma(xb1.z, yb1.z, fma(xb1.y, yb1.y, fma(xb1.x, yb1.x, sb[3]))));
      sa[4] = fma(xa2.w, ya0.w, fma(xa2.z, ya0.z, fma(xa2.y, ya0.y, fma(xa2.x, ya0.x, sa[4]))));
      sb[4] = fma(xb2.w, yb0.w, fma(xb2.z, yb0.z, fma(xb2.y, yb0.y, fma(xb2.x, yb0.x, sb[4]))));
      sa[5] = fma(xa2.w, ya1.w, fma(xa2.z, ya1.z, fma(xa2.y, ya1.y, fma(xa2.x, ya1.x, sa[5]))));
      sb[5] = fma(xb2.w, yb1.w, fma(xb2.z, yb1.z, fma(xb2.y, yb1.y, fma(xb2.x, yb1.x, sb[5]))));
      sa[6] = fma(xa3.w, ya0.w, fma(xa3.z, ya0.z, fma(xa3.y, ya0.y, fma(xa3.x, ya0.x, sa[6]))));
      sb[6] = fma(xb3.w, yb0.w, fma(xb3.z, yb0.z, fma(xb3.y, yb0.y, fma(xb3.x, yb0.x, sb[6]))));
      sa[7] = fma(xa3.w, ya1.w, fma(xa3.z, ya1.z, fma(xa3.y, ya1.y, fma(xa3.x, ya1.x, sa[7]))));
      sb[7] = fma(xb3.w, yb1.w, fma(xb3.z, yb1.z, fma(xb3.y, yb1.y, fma(xb3.x, yb1.x, sb[7]))));
    }

    // P = exp(s − LSE) and dS = P (dP − D) score'(z); only ragged and causal-diagonal tiles need the mask.
    workgroupBarrier(); // every invocation is done reading V: dS goes into its tile
    if (i0 + BI <= params.seqK && (!CAUSAL || i32(i0 + BI - 1u) <= i32(o0) + params.causalOffset)) {
      {
        let z = sa[0] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 0u)) * 1.4426950408889634 - lr[0]), (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 0u))));
        let g = p * (sb[0] - dr[0]);
        Yb[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 0u));
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
        let z = sa[1] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 16u)) * 1.4426950408889634 - lr[0]), (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 16u))));
        let g = p * (sb[1] - dr[0]);
        Yb[(ty * RM + 0u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 16u));
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
        let z = sa[2] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 0u)) * 1.4426950408889634 - lr[1]), (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 0u))));
        let g = p * (sb[2] - dr[1]);
        Yb[(ty * RM + 1u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 0u));
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
        let z = sa[3] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 16u)) * 1.4426950408889634 - lr[1]), (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 16u))));
        let g = p * (sb[3] - dr[1]);
        Yb[(ty * RM + 1u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 16u));
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
        let z = sa[4] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 0u)) * 1.4426950408889634 - lr[2]), (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 0u))));
        let g = p * (sb[4] - dr[2]);
        Yb[(ty * RM + 2u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 0u));
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
        let z = sa[5] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 16u)) * 1.4426950408889634 - lr[2]), (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 16u))));
        let g = p * (sb[5] - dr[2]);
        Yb[(ty * RM + 2u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 16u));
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
        let z = sa[6] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 0u)) * 1.4426950408889634 - lr[3]), (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 0u))));
        let g = p * (sb[6] - dr[3]);
        Yb[(ty * RM + 3u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 0u));
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
        let z = sa[7] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 16u)) * 1.4426950408889634 - lr[3]), (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 16u))));
        let g = p * (sb[7] - dr[3]);
        Yb[(ty * RM + 3u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 16u));
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
        let z = sa[0] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 0u)) * 1.4426950408889634 - lr[0]), i0 + tx + 0u < params.seqK && (!CAUSAL || i32(i0 + tx + 0u) <= i32(o0 + ty * RM + 0u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 0u))));
        let g = p * (sb[0] - dr[0]);
        Yb[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 0u));
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
        let z = sa[1] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 16u)) * 1.4426950408889634 - lr[0]), i0 + tx + 16u < params.seqK && (!CAUSAL || i32(i0 + tx + 16u) <= i32(o0 + ty * RM + 0u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 16u))));
        let g = p * (sb[1] - dr[0]);
        Yb[(ty * RM + 0u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 0u), i32(i0 + tx + 16u));
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
        let z = sa[2] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 0u)) * 1.4426950408889634 - lr[1]), i0 + tx + 0u < params.seqK && (!CAUSAL || i32(i0 + tx + 0u) <= i32(o0 + ty * RM + 1u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 0u))));
        let g = p * (sb[2] - dr[1]);
        Yb[(ty * RM + 1u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 0u));
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
        let z = sa[3] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 16u)) * 1.4426950408889634 - lr[1]), i0 + tx + 16u < params.seqK && (!CAUSAL || i32(i0 + tx + 16u) <= i32(o0 + ty * RM + 1u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 16u))));
        let g = p * (sb[3] - dr[1]);
        Yb[(ty * RM + 1u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 1u), i32(i0 + tx + 16u));
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
        let z = sa[4] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 0u)) * 1.4426950408889634 - lr[2]), i0 + tx + 0u < params.seqK && (!CAUSAL || i32(i0 + tx + 0u) <= i32(o0 + ty * RM + 2u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 0u))));
        let g = p * (sb[4] - dr[2]);
        Yb[(ty * RM + 2u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 0u));
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
        let z = sa[5] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 16u)) * 1.4426950408889634 - lr[2]), i0 + tx + 16u < params.seqK && (!CAUSAL || i32(i0 + tx + 16u) <= i32(o0 + ty * RM + 2u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 16u))));
        let g = p * (sb[5] - dr[2]);
        Yb[(ty * RM + 2u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 2u), i32(i0 + tx + 16u));
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
        let z = sa[6] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 0u)) * 1.4426950408889634 - lr[3]), i0 + tx + 0u < params.seqK && (!CAUSAL || i32(i0 + tx + 0u) <= i32(o0 + ty * RM + 3u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 0u))));
        let g = p * (sb[6] - dr[3]);
        Yb[(ty * RM + 3u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 0u));
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
        let z = sa[7] * params.scale;
        let p = select(0.0, exp2(scoreMod(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 16u)) * 1.4426950408889634 - lr[3]), i0 + tx + 16u < params.seqK && (!CAUSAL || i32(i0 + tx + 16u) <= i32(o0 + ty * RM + 3u) + params.causalOffset) && (full || maskMod(i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 16u))));
        let g = p * (sb[7] - dr[3]);
        Yb[(ty * RM + 3u) * (BI / 4u) + (tx + 16u) / 4u][(tx + 16u) % 4u] = g * scoreModGrad(z, i32(b), i32(h), i32(o0 + ty * RM + 3u), i32(i0 + tx + 16u));
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

    // dQ += dS·K for RM outer rows × OC vec4 columns (columns tx + TX·c).
    for (var j4 = 0u; j4 < BI / 4u; j4++) {
      let ds0 = Yb[(ty * RM + 0u) * (BI / 4u) + j4];
      let ds1 = Yb[(ty * RM + 1u) * (BI / 4u) + j4];
      let ds2 = Yb[(ty * RM + 2u) * (BI / 4u) + j4];
      let ds3 = Yb[(ty * RM + 3u) * (BI / 4u) + j4];
      {
        let ya = Ya[(j4 * 4u + 0u) * D4 + ((tx + 0u) ^ ((j4 * 4u + 0u) & (D4 - 1u)))];
        acc1[0] = fma(vec4<f32>(ds0.x), ya, acc1[0]);
        acc1[1] = fma(vec4<f32>(ds1.x), ya, acc1[1]);
        acc1[2] = fma(vec4<f32>(ds2.x), ya, acc1[2]);
        acc1[3] = fma(vec4<f32>(ds3.x), ya, acc1[3]);
      }
      {
        let ya = Ya[(j4 * 4u + 1u) * D4 + ((tx + 0u) ^ ((j4 * 4u + 1u) & (D4 - 1u)))];
        acc1[0] = fma(vec4<f32>(ds0.y), ya, acc1[0]);
        acc1[1] = fma(vec4<f32>(ds1.y), ya, acc1[1]);
        acc1[2] = fma(vec4<f32>(ds2.y), ya, acc1[2]);
        acc1[3] = fma(vec4<f32>(ds3.y), ya, acc1[3]);
      }
      {
        let ya = Ya[(j4 * 4u + 2u) * D4 + ((tx + 0u) ^ ((j4 * 4u + 2u) & (D4 - 1u)))];
        acc1[0] = fma(vec4<f32>(ds0.z), ya, acc1[0]);
        acc1[1] = fma(vec4<f32>(ds1.z), ya, acc1[1]);
        acc1[2] = fma(vec4<f32>(ds2.z), ya, acc1[2]);
        acc1[3] = fma(vec4<f32>(ds3.z), ya, acc1[3]);
      }
      {
        let ya = Ya[(j4 * 4u + 3u) * D4 + ((tx + 0u) ^ ((j4 * 4u + 3u) & (D4 - 1u)))];
        acc1[0] = fma(vec4<f32>(ds0.w), ya, acc1[0]);
        acc1[1] = fma(vec4<f32>(ds1.w), ya, acc1[1]);
        acc1[2] = fma(vec4<f32>(ds2.w), ya, acc1[2]);
        acc1[3] = fma(vec4<f32>(ds3.w), ya, acc1[3]);
      }
    }
    st = stNext;
  }
  flushGrad(tgI[0], tgA[0]);

  {
    let n = o0 + ty * RM + 0u;
    if (n < params.seqQ) {
      { dq[b * params.qsb + h * params.qsh + n * params.qsn + tx + 0u] = acc1[0] * params.scale; }
    }
  }
  {
    let n = o0 + ty * RM + 1u;
    if (n < params.seqQ) {
      { dq[b * params.qsb + h * params.qsh + n * params.qsn + tx + 0u] = acc1[1] * params.scale; }
    }
  }
  {
    let n = o0 + ty * RM + 2u;
    if (n < params.seqQ) {
      { dq[b * params.qsb + h * params.qsh + n * params.qsn + tx + 0u] = acc1[2] * params.scale; }
    }
  }
  {
    let n = o0 + ty * RM + 3u;
    if (n < params.seqQ) {
      { dq[b * params.qsb + h * params.qsh + n * params.qsn + tx + 0u] = acc1[3] * params.scale; }
    }
  }
}
