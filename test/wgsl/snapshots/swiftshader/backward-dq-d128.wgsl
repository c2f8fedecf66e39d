
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
const CAUSAL = false;
const MASKED = -3.0e38;
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> k: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> v: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> lse: array<f32>;
@group(0) @binding(6) var<storage, read> dd: array<f32>;
@group(0) @binding(7) var<storage, read_write> dq: array<vec4<f32>>;






var<workgroup> Xa: array<vec4<f32>, 128>;
var<workgroup> Xb: array<vec4<f32>, 128>;
var<workgroup> Ya: array<vec4<f32>, 528>;
var<workgroup> Yb: array<vec4<f32>, 528>;
var<workgroup> dSs: array<vec4<f32>, 16>;


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
  var lr: array<f32, 1>;
  var dr: array<f32, 1>;
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
  var acc1: array<vec4<f32>, 2>;


  var kvEnd = params.seqK;
  if (CAUSAL) { kvEnd = u32(clamp(i32(o0 + BO) + params.causalOffset, 0, i32(params.seqK))); }
  let steps = (kvEnd + BI - 1u) / BI;
  let blockRow = b * params.bmB + h * params.bmH + wg.x * params.bmRow;

  var ra: array<vec4<f32>, 8>;
  var rb: array<vec4<f32>, 8>;

  var st = 0u;
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
      let e = tid + 64u;
      let n = i0 + e / D4;
      ra[1] = vec4<f32>(0.0);
      if (n < params.seqK) { ra[1] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = i0 + e / D4;
      ra[2] = vec4<f32>(0.0);
      if (n < params.seqK) { ra[2] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 192u;
      let n = i0 + e / D4;
      ra[3] = vec4<f32>(0.0);
      if (n < params.seqK) { ra[3] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      ra[4] = vec4<f32>(0.0);
      if (n < params.seqK) { ra[4] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 320u;
      let n = i0 + e / D4;
      ra[5] = vec4<f32>(0.0);
      if (n < params.seqK) { ra[5] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = i0 + e / D4;
      ra[6] = vec4<f32>(0.0);
      if (n < params.seqK) { ra[6] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 448u;
      let n = i0 + e / D4;
      ra[7] = vec4<f32>(0.0);
      if (n < params.seqK) { ra[7] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      rb[0] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[0] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 64u;
      let n = i0 + e / D4;
      rb[1] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[1] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = i0 + e / D4;
      rb[2] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[2] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 192u;
      let n = i0 + e / D4;
      rb[3] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[3] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      rb[4] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[4] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 320u;
      let n = i0 + e / D4;
      rb[5] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[5] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = i0 + e / D4;
      rb[6] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[6] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 448u;
      let n = i0 + e / D4;
      rb[7] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[7] = v[vBase + n * params.vsn + e % D4]; }
    }
    }
  }
  loop {
    if (st >= steps) { break; }
    let i0 = st * BI;
    let stNext = st + 1u;
    let full = false;
    workgroupBarrier();
    { let e = tid + 0u; Ya[(e / D4) * YROW + e % D4] = ra[0]; }
    { let e = tid + 64u; Ya[(e / D4) * YROW + e % D4] = ra[1]; }
    { let e = tid + 128u; Ya[(e / D4) * YROW + e % D4] = ra[2]; }
    { let e = tid + 192u; Ya[(e / D4) * YROW + e % D4] = ra[3]; }
    { let e = tid + 256u; Ya[(e / D4) * YROW + e % D4] = ra[4]; }
    { let e = tid + 320u; Ya[(e / D4) * YROW + e % D4] = ra[5]; }
    { let e = tid + 384u; Ya[(e / D4) * YROW + e % D4] = ra[6]; }
    { let e = tid + 448u; Ya[(e / D4) * YROW + e % D4] = ra[7]; }
    { let e = tid + 0u; Yb[(e / D4) * YROW + e % D4] = rb[0]; }
    { let e = tid + 64u; Yb[(e / D4) * YROW + e % D4] = rb[1]; }
    { let e = tid + 128u; Yb[(e / D4) * YROW + e % D4] = rb[2]; }
    { let e = tid + 192u; Yb[(e / D4) * YROW + e % D4] = rb[3]; }
    { let e = tid + 256u; Yb[(e / D4) * YROW + e % D4] = rb[4]; }
    { let e = tid + 320u; Yb[(e / D4) * YROW + e % D4] = rb[5]; }
    { let e = tid + 384u; Yb[(e / D4) * YROW + e % D4] = rb[6]; }
    { let e = tid + 448u; Yb[(e / D4) * YROW + e % D4] = rb[7]; }

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
      let e = tid + 64u;
      let n = i0 + e / D4;
      ra[1] = vec4<f32>(0.0);
      if (n < params.seqK) { ra[1] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = i0 + e / D4;
      ra[2] = vec4<f32>(0.0);
      if (n < params.seqK) { ra[2] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 192u;
      let n = i0 + e / D4;
      ra[3] = vec4<f32>(0.0);
      if (n < params.seqK) { ra[3] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      ra[4] = vec4<f32>(0.0);
      if (n < params.seqK) { ra[4] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 320u;
      let n = i0 + e / D4;
      ra[5] = vec4<f32>(0.0);
      if (n < params.seqK) { ra[5] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = i0 + e / D4;
      ra[6] = vec4<f32>(0.0);
      if (n < params.seqK) { ra[6] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 448u;
      let n = i0 + e / D4;
      ra[7] = vec4<f32>(0.0);
      if (n < params.seqK) { ra[7] = k[kBase + n * params.ksn + e % D4]; }
    }
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      rb[0] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[0] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 64u;
      let n = i0 + e / D4;
      rb[1] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[1] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = i0 + e / D4;
      rb[2] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[2] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 192u;
      let n = i0 + e / D4;
      rb[3] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[3] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      rb[4] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[4] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 320u;
      let n = i0 + e / D4;
      rb[5] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[5] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = i0 + e / D4;
      rb[6] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[6] = v[vBase + n * params.vsn + e % D4]; }
    }
    {
      let e = tid + 448u;
      let n = i0 + e / D4;
      rb[7] = vec4<f32>(0.0);
      if (n < params.seqK) { rb[7] = v[vBase + n * params.vsn + e % D4]; }
    }
    }
    }

    // S and dP for this invocation's RM outer × CN inner rows, one pass over the head dim.
    var sa = array<f32, 1>();
    var sb = array<f32, 1>();
    for (var d = 0u; d < D4; d++) {
      let ya0 = Ya[(tx + 0u) * YROW + d];
      let yb0 = Yb[(tx + 0u) * YROW + d];
      let xa0 = Xa[(ty * RM + 0u) * D4 + d];
      let xb0 = Xb[(ty * RM + 0u) * D4 + d];
      sa[0] = fma(xa0.w, ya0.w, fma(xa0.z, ya0.z, fma(xa0.y, ya0.y, fma(xa0.x, ya0.x, sa[0]))));
      sb[0] = fma(xb0.w, yb0.w, fma(xb0.z, yb0.z, fma(xb0.y, yb0.y, fma(xb0.x, yb0.x, sb[0]))));
    }

    // P = exp(s − LSE) and dS = P (dP − D) score'(z); only ragged and causal-diagonal tiles need the mask.
    if (i0 + BI <= params.seqK && (!CAUSAL || i32(i0 + BI - 1u) <= i32(o0) + params.causalOffset)) {
      {
        let z = sa[0] * params.scale;
        let p = exp2(sa[0] * params.qkScale - lr[0]);
        let g = p * (sb[0] - dr[0]);
        dSs[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g;
      }
    } else {
      {
        let z = sa[0] * params.scale;
        let p = select(0.0, exp2(sa[0] * params.qkScale - lr[0]), i0 + tx + 0u < params.seqK && (!CAUSAL || i32(i0 + tx + 0u) <= i32(o0 + ty * RM + 0u) + params.causalOffset));
        let g = p * (sb[0] - dr[0]);
        dSs[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g;
      }
    }
    workgroupBarrier();

    // dQ += dS·K for RM outer rows × OC vec4 columns (columns tx + TX·c).
    for (var j4 = 0u; j4 < BI / 4u; j4++) {
      let ds0 = dSs[(ty * RM + 0u) * (BI / 4u) + j4];
      {
        let ya = Ya[(j4 * 4u + 0u) * YROW + tx + 0u];
        acc1[0] = fma(vec4<f32>(ds0.x), ya, acc1[0]);
      }
      {
        let ya = Ya[(j4 * 4u + 0u) * YROW + tx + 16u];
        acc1[1] = fma(vec4<f32>(ds0.x), ya, acc1[1]);
      }
      {
        let ya = Ya[(j4 * 4u + 1u) * YROW + tx + 0u];
        acc1[0] = fma(vec4<f32>(ds0.y), ya, acc1[0]);
      }
      {
        let ya = Ya[(j4 * 4u + 1u) * YROW + tx + 16u];
        acc1[1] = fma(vec4<f32>(ds0.y), ya, acc1[1]);
      }
      {
        let ya = Ya[(j4 * 4u + 2u) * YROW + tx + 0u];
        acc1[0] = fma(vec4<f32>(ds0.z), ya, acc1[0]);
      }
      {
        let ya = Ya[(j4 * 4u + 2u) * YROW + tx + 16u];
        acc1[1] = fma(vec4<f32>(ds0.z), ya, acc1[1]);
      }
      {
        let ya = Ya[(j4 * 4u + 3u) * YROW + tx + 0u];
        acc1[0] = fma(vec4<f32>(ds0.w), ya, acc1[0]);
      }
      {
        let ya = Ya[(j4 * 4u + 3u) * YROW + tx + 16u];
        acc1[1] = fma(vec4<f32>(ds0.w), ya, acc1[1]);
      }
    }
    st = stNext;
  }


  {
    let n = o0 + ty * RM + 0u;
    if (n < params.seqQ) {
      { dq[b * params.qsb + h * params.qsh + n * params.qsn + tx + 0u] = acc1[0] * params.scale; }
      { dq[b * params.qsb + h * params.qsh + n * params.qsn + tx + 16u] = acc1[1] * params.scale; }
    }
  }
}
