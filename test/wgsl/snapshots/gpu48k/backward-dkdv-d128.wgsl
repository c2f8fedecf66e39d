
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
@group(0) @binding(7) var<storage, read_write> dk: array<vec4<f32>>;
@group(0) @binding(8) var<storage, read_write> dv: array<vec4<f32>>;






var<workgroup> Xa: array<vec4<f32>, 512>;
var<workgroup> Xb: array<vec4<f32>, 512>;
var<workgroup> Ya: array<vec4<f32>, 528>;
var<workgroup> Yb: array<vec4<f32>, 528>;
var<workgroup> dSs: array<vec4<f32>, 64>;
var<workgroup> Ps: array<vec4<f32>, 64>;
var<workgroup> Ls: array<f32, 16>;
var<workgroup> Dsh: array<f32, 16>;

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
      Xa[e] = x;
      Xb[e] = y;
    }
  }

  var acc1: array<vec4<f32>, 4>;
  var acc2: array<vec4<f32>, 4>;

  var qFirst = 0u;
  if (CAUSAL) { qFirst = u32(max(i32(o0) - params.causalOffset, 0)) / BI; }
  let nQt = max((params.seqQ + BI - 1u) / BI, qFirst) - qFirst;
  let steps = nQt * params.groupSize;
  let blockCol = b * params.bmB + wg.x;

  var ra: array<vec4<f32>, 4>;
  var rb: array<vec4<f32>, 4>;
  var lNext = 0.0;
  var dNext = 0.0;
  var st = 0u;
  if (st < steps) {
    {
      let h = hk * params.groupSize + st / nQt;
      let i0 = (qFirst + st % nQt) * BI;
      let qBase = b * params.qsb + h * params.qsh;
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      ra[0] = vec4<f32>(0.0);
      if (n < params.seqQ) { ra[0] = q[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = i0 + e / D4;
      ra[1] = vec4<f32>(0.0);
      if (n < params.seqQ) { ra[1] = q[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      ra[2] = vec4<f32>(0.0);
      if (n < params.seqQ) { ra[2] = q[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = i0 + e / D4;
      ra[3] = vec4<f32>(0.0);
      if (n < params.seqQ) { ra[3] = q[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      rb[0] = vec4<f32>(0.0);
      if (n < params.seqQ) { rb[0] = dout[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = i0 + e / D4;
      rb[1] = vec4<f32>(0.0);
      if (n < params.seqQ) { rb[1] = dout[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      rb[2] = vec4<f32>(0.0);
      if (n < params.seqQ) { rb[2] = dout[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = i0 + e / D4;
      rb[3] = vec4<f32>(0.0);
      if (n < params.seqQ) { rb[3] = dout[qBase + n * params.qsn + e % D4]; }
    }
      // This invocation's share of the Q tile's row terms (rows past Nq or fully masked contribute nothing).
      lNext = 3.0e38;
      dNext = 0.0;
      if (tid < BI && i0 + tid < params.seqQ) {
        let row = (b * params.headsQ + h) * params.seqQ + i0 + tid;
        let l = lse[row];
        if (l > MASKED) { lNext = l * 1.4426950408889634; }
        dNext = dd[row];
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
    { let e = tid + 0u; Ya[(e / D4) * YROW + e % D4] = ra[0]; }
    { let e = tid + 128u; Ya[(e / D4) * YROW + e % D4] = ra[1]; }
    { let e = tid + 256u; Ya[(e / D4) * YROW + e % D4] = ra[2]; }
    { let e = tid + 384u; Ya[(e / D4) * YROW + e % D4] = ra[3]; }
    { let e = tid + 0u; Yb[(e / D4) * YROW + e % D4] = rb[0]; }
    { let e = tid + 128u; Yb[(e / D4) * YROW + e % D4] = rb[1]; }
    { let e = tid + 256u; Yb[(e / D4) * YROW + e % D4] = rb[2]; }
    { let e = tid + 384u; Yb[(e / D4) * YROW + e % D4] = rb[3]; }
    if (tid < BI) { Ls[tid] = lNext; Dsh[tid] = dNext; }
    workgroupBarrier();
    if (stNext < steps) {
    {
      let h = hk * params.groupSize + stNext / nQt;
      let i0 = (qFirst + stNext % nQt) * BI;
      let qBase = b * params.qsb + h * params.qsh;
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      ra[0] = vec4<f32>(0.0);
      if (n < params.seqQ) { ra[0] = q[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = i0 + e / D4;
      ra[1] = vec4<f32>(0.0);
      if (n < params.seqQ) { ra[1] = q[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      ra[2] = vec4<f32>(0.0);
      if (n < params.seqQ) { ra[2] = q[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = i0 + e / D4;
      ra[3] = vec4<f32>(0.0);
      if (n < params.seqQ) { ra[3] = q[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 0u;
      let n = i0 + e / D4;
      rb[0] = vec4<f32>(0.0);
      if (n < params.seqQ) { rb[0] = dout[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 128u;
      let n = i0 + e / D4;
      rb[1] = vec4<f32>(0.0);
      if (n < params.seqQ) { rb[1] = dout[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 256u;
      let n = i0 + e / D4;
      rb[2] = vec4<f32>(0.0);
      if (n < params.seqQ) { rb[2] = dout[qBase + n * params.qsn + e % D4]; }
    }
    {
      let e = tid + 384u;
      let n = i0 + e / D4;
      rb[3] = vec4<f32>(0.0);
      if (n < params.seqQ) { rb[3] = dout[qBase + n * params.qsn + e % D4]; }
    }
      // This invocation's share of the Q tile's row terms (rows past Nq or fully masked contribute nothing).
      lNext = 3.0e38;
      dNext = 0.0;
      if (tid < BI && i0 + tid < params.seqQ) {
        let row = (b * params.headsQ + h) * params.seqQ + i0 + tid;
        let l = lse[row];
        if (l > MASKED) { lNext = l * 1.4426950408889634; }
        dNext = dd[row];
      }
    }
    }

    // S and dP for this invocation's RM outer × CN inner rows, one pass over the head dim.
    var sa = array<f32, 2>();
    var sb = array<f32, 2>();
    for (var d = 0u; d < D4; d++) {
      let ya0 = Ya[(tx + 0u) * YROW + d];
      let yb0 = Yb[(tx + 0u) * YROW + d];
      let xa0 = Xa[(ty * RM + 0u) * D4 + d];
      let xb0 = Xb[(ty * RM + 0u) * D4 + d];
      let xa1 = Xa[(ty * RM + 1u) * D4 + d];
      let xb1 = Xb[(ty * RM + 1u) * D4 + d];
      sa[0] = fma(xa0.w, ya0.w, fma(xa0.z, ya0.z, fma(xa0.y, ya0.y, fma(xa0.x, ya0.x, sa[0]))));
      sb[0] = fma(xb0.w, yb0.w, fma(xb0.z, yb0.z, fma(xb0.y, yb0.y, fma(xb0.x, yb0.x, sb[0]))));
      sa[1] = fma(xa1.w, ya0.w, fma(xa1.z, ya0.z, fma(xa1.y, ya0.y, fma(xa1.x, ya0.x, sa[1]))));
      sb[1] = fma(xb1.w, yb0.w, fma(xb1.z, yb0.z, fma(xb1.y, yb0.y, fma(xb1.x, yb0.x, sb[1]))));
    }

    // P = exp(s − LSE) and dS = P (dP − D) score'(z); only ragged and causal-diagonal tiles need the mask.
    if (o0 + BO <= params.seqK && (!CAUSAL || i32(o0 + BO - 1u) <= i32(i0) + params.causalOffset)) {
      {
        let z = sa[0] * params.scale;
        let p = exp2(sa[0] * params.qkScale - Ls[tx + 0u]);
        let g = p * (sb[0] - Dsh[tx + 0u]);
        dSs[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g;
        Ps[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = p;
      }
      {
        let z = sa[1] * params.scale;
        let p = exp2(sa[1] * params.qkScale - Ls[tx + 0u]);
        let g = p * (sb[1] - Dsh[tx + 0u]);
        dSs[(ty * RM + 1u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g;
        Ps[(ty * RM + 1u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = p;
      }
    } else {
      {
        let z = sa[0] * params.scale;
        let p = select(0.0, exp2(sa[0] * params.qkScale - Ls[tx + 0u]), o0 + ty * RM + 0u < params.seqK && (!CAUSAL || i32(o0 + ty * RM + 0u) <= i32(i0 + tx + 0u) + params.causalOffset));
        let g = p * (sb[0] - Dsh[tx + 0u]);
        dSs[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g;
        Ps[(ty * RM + 0u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = p;
      }
      {
        let z = sa[1] * params.scale;
        let p = select(0.0, exp2(sa[1] * params.qkScale - Ls[tx + 0u]), o0 + ty * RM + 1u < params.seqK && (!CAUSAL || i32(o0 + ty * RM + 1u) <= i32(i0 + tx + 0u) + params.causalOffset));
        let g = p * (sb[1] - Dsh[tx + 0u]);
        dSs[(ty * RM + 1u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = g;
        Ps[(ty * RM + 1u) * (BI / 4u) + (tx + 0u) / 4u][(tx + 0u) % 4u] = p;
      }
    }
    workgroupBarrier();

    // dK += dS·Q and dV += P·dO for RM outer rows × OC vec4 columns (columns tx + TX·c).
    for (var j4 = 0u; j4 < BI / 4u; j4++) {
      let ds0 = dSs[(ty * RM + 0u) * (BI / 4u) + j4];
      let p0 = Ps[(ty * RM + 0u) * (BI / 4u) + j4];
      let ds1 = dSs[(ty * RM + 1u) * (BI / 4u) + j4];
      let p1 = Ps[(ty * RM + 1u) * (BI / 4u) + j4];
      {
        let ya = Ya[(j4 * 4u + 0u) * YROW + tx + 0u];
        acc1[0] = fma(vec4<f32>(ds0.x), ya, acc1[0]);
        acc1[2] = fma(vec4<f32>(ds1.x), ya, acc1[2]);
        let yb = Yb[(j4 * 4u + 0u) * YROW + tx + 0u];
        acc2[0] = fma(vec4<f32>(p0.x), yb, acc2[0]);
        acc2[2] = fma(vec4<f32>(p1.x), yb, acc2[2]);
      }
      {
        let ya = Ya[(j4 * 4u + 0u) * YROW + tx + 16u];
        acc1[1] = fma(vec4<f32>(ds0.x), ya, acc1[1]);
        acc1[3] = fma(vec4<f32>(ds1.x), ya, acc1[3]);
        let yb = Yb[(j4 * 4u + 0u) * YROW + tx + 16u];
        acc2[1] = fma(vec4<f32>(p0.x), yb, acc2[1]);
        acc2[3] = fma(vec4<f32>(p1.x), yb, acc2[3]);
      }
      {
        let ya = Ya[(j4 * 4u + 1u) * YROW + tx + 0u];
        acc1[0] = fma(vec4<f32>(ds0.y), ya, acc1[0]);
        acc1[2] = fma(vec4<f32>(ds1.y), ya, acc1[2]);
        let yb = Yb[(j4 * 4u + 1u) * YROW + tx + 0u];
        acc2[0] = fma(vec4<f32>(p0.y), yb, acc2[0]);
        acc2[2] = fma(vec4<f32>(p1.y), yb, acc2[2]);
      }
      {
        let ya = Ya[(j4 * 4u + 1u) * YROW + tx + 16u];
        acc1[1] = fma(vec4<f32>(ds0.y), ya, acc1[1]);
        acc1[3] = fma(vec4<f32>(ds1.y), ya, acc1[3]);
        let yb = Yb[(j4 * 4u + 1u) * YROW + tx + 16u];
        acc2[1] = fma(vec4<f32>(p0.y), yb, acc2[1]);
        acc2[3] = fma(vec4<f32>(p1.y), yb, acc2[3]);
      }
      {
        let ya = Ya[(j4 * 4u + 2u) * YROW + tx + 0u];
        acc1[0] = fma(vec4<f32>(ds0.z), ya, acc1[0]);
        acc1[2] = fma(vec4<f32>(ds1.z), ya, acc1[2]);
        let yb = Yb[(j4 * 4u + 2u) * YROW + tx + 0u];
        acc2[0] = fma(vec4<f32>(p0.z), yb, acc2[0]);
        acc2[2] = fma(vec4<f32>(p1.z), yb, acc2[2]);
      }
      {
        let ya = Ya[(j4 * 4u + 2u) * YROW + tx + 16u];
        acc1[1] = fma(vec4<f32>(ds0.z), ya, acc1[1]);
        acc1[3] = fma(vec4<f32>(ds1.z), ya, acc1[3]);
        let yb = Yb[(j4 * 4u + 2u) * YROW + tx + 16u];
        acc2[1] = fma(vec4<f32>(p0.z), yb, acc2[1]);
        acc2[3] = fma(vec4<f32>(p1.z), yb, acc2[3]);
      }
      {
        let ya = Ya[(j4 * 4u + 3u) * YROW + tx + 0u];
        acc1[0] = fma(vec4<f32>(ds0.w), ya, acc1[0]);
        acc1[2] = fma(vec4<f32>(ds1.w), ya, acc1[2]);
        let yb = Yb[(j4 * 4u + 3u) * YROW + tx + 0u];
        acc2[0] = fma(vec4<f32>(p0.w), yb, acc2[0]);
        acc2[2] = fma(vec4<f32>(p1.w), yb, acc2[2]);
      }
      {
        let ya = Ya[(j4 * 4u + 3u) * YROW + tx + 16u];
        acc1[1] = fma(vec4<f32>(ds0.w), ya, acc1[1]);
        acc1[3] = fma(vec4<f32>(ds1.w), ya, acc1[3]);
        let yb = Yb[(j4 * 4u + 3u) * YROW + tx + 16u];
        acc2[1] = fma(vec4<f32>(p0.w), yb, acc2[1]);
        acc2[3] = fma(vec4<f32>(p1.w), yb, acc2[3]);
      }
    }
    st = stNext;
  }


  {
    let n = o0 + ty * RM + 0u;
    if (n < params.seqK) {
      {
        dk[kBase + n * params.ksn + tx + 0u] = acc1[0] * params.scale;
        dv[vBase + n * params.vsn + tx + 0u] = acc2[0];
      }
      {
        dk[kBase + n * params.ksn + tx + 16u] = acc1[1] * params.scale;
        dv[vBase + n * params.vsn + tx + 16u] = acc2[1];
      }
    }
  }
  {
    let n = o0 + ty * RM + 1u;
    if (n < params.seqK) {
      {
        dk[kBase + n * params.ksn + tx + 0u] = acc1[2] * params.scale;
        dv[vBase + n * params.vsn + tx + 0u] = acc2[2];
      }
      {
        dk[kBase + n * params.ksn + tx + 16u] = acc1[3] * params.scale;
        dv[vBase + n * params.vsn + tx + 16u] = acc2[3];
      }
    }
  }
}
