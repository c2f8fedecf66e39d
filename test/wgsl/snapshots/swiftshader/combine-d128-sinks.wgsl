
struct Params {
  rows: u32,
  seqQ: u32,
  headsQ: u32,
  splits: u32,
  b0: u32,
  h0: u32,
  n0: u32,
  chunkHeads: u32,
  chunkRows: u32,
  qOff: u32,
  lseOff: u32,
  qsb: u32,
  qsh: u32,
  qsn: u32,
  partVec4: u32,
  partStats: u32,
  negInf: f32,
  nan: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> oParts: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
@group(0) @binding(5) var<storage, read> aux: array<f32>;
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn lseOf(m: f32, l: f32) -> f32 {
  return fma(m, 0.6931471824645996, fma(m, -1.904654323148236e-9, log(l)));
}

const D4 = 32u;
const SG = 8u;
var<workgroup> sums: array<vec4<f32>, 256>;
var<workgroup> lanes: array<f32, 8>;
var<workgroup> nans: array<u32, 8>;

@compute @workgroup_size(256, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let local = wg.x + wg.y * nwg.x; // the chunk's row (the whole workgroup's)
  if (local >= params.rows) { return; }
  let c = t % D4;
  let j = t / D4;
  let n = params.n0 + local % params.chunkRows;
  let h = params.h0 + (local / params.chunkRows) % params.chunkHeads;
  let b = params.b0 + local / (params.chunkRows * params.chunkHeads);
  let row = (b * params.headsQ + h) * params.seqQ + n - params.lseOff;
  let at = b * params.qsb + h * params.qsh + n * params.qsn + c - params.qOff;
  let last = params.splits - 1u;

  // The row's max over all parts (and whether any part is NaN).
  var mx = -3.0e38;
  var nan = false;
  for (var s0 = j; s0 < params.splits; s0 += 4u * SG) {
    let s0 = min(s0 + 0u, last);
    let st0 = s0 * params.partStats + 2u * row;
    nan = nan || isNan(stats[st0 + 1u]);
    mx = max(mx, stats[st0]);
    let s1 = min(s0 + 8u, last);
    let st1 = s1 * params.partStats + 2u * row;
    nan = nan || isNan(stats[st1 + 1u]);
    mx = max(mx, stats[st1]);
    let s2 = min(s0 + 16u, last);
    let st2 = s2 * params.partStats + 2u * row;
    nan = nan || isNan(stats[st2 + 1u]);
    mx = max(mx, stats[st2]);
    let s3 = min(s0 + 24u, last);
    let st3 = s3 * params.partStats + 2u * row;
    nan = nan || isNan(stats[st3 + 1u]);
    mx = max(mx, stats[st3]);
  }
  if (c == 0u) {
    lanes[j] = mx;
    nans[j] = select(0u, 1u, nan);
  }
  workgroupBarrier();
  for (var i = 0u; i < SG; i++) {
    mx = max(mx, lanes[i]);
    nan = nan || nans[i] != 0u;
  }
  workgroupBarrier(); // every lane has read `lanes` before it holds sums
  let sinkLogit = aux[12u + h];
  let sink = sinkLogit * 1.4426950408889634;
  mx = max(mx, sink);
  // This lane's parts, weighted into the row's frame.
  var l = 0.0;
  var acc = vec4<f32>(0.0);
  for (var s0 = j; s0 < params.splits; s0 += 4u * SG) {
    let s0 = min(s0 + 0u, last);
    let st0 = s0 * params.partStats + 2u * row;
    let w0 = select(0.0, stats[st0 + 1u] * exp2(stats[st0] - mx), s0 + 0u < params.splits);
    let o0 = oParts[s0 * params.partVec4 + at];
    l += w0;
    if (w0 != 0.0) { acc += w0 * o0; }
    let s1 = min(s0 + 8u, last);
    let st1 = s1 * params.partStats + 2u * row;
    let w1 = select(0.0, stats[st1 + 1u] * exp2(stats[st1] - mx), s0 + 8u < params.splits);
    let o1 = oParts[s1 * params.partVec4 + at];
    l += w1;
    if (w1 != 0.0) { acc += w1 * o1; }
    let s2 = min(s0 + 16u, last);
    let st2 = s2 * params.partStats + 2u * row;
    let w2 = select(0.0, stats[st2 + 1u] * exp2(stats[st2] - mx), s0 + 16u < params.splits);
    let o2 = oParts[s2 * params.partVec4 + at];
    l += w2;
    if (w2 != 0.0) { acc += w2 * o2; }
    let s3 = min(s0 + 24u, last);
    let st3 = s3 * params.partStats + 2u * row;
    let w3 = select(0.0, stats[st3 + 1u] * exp2(stats[st3] - mx), s0 + 24u < params.splits);
    let o3 = oParts[s3 * params.partVec4 + at];
    l += w3;
    if (w3 != 0.0) { acc += w3 * o3; }
  }
  sums[t] = acc;
  if (c == 0u) { lanes[j] = l; }
  workgroupBarrier();
  if (j != 0u) { return; }
  l = exp2(sink - mx);
  acc = vec4<f32>(0.0);
  for (var i = 0u; i < SG; i++) {
    l += lanes[i];
    acc += sums[i * D4 + c];
  }
  if (nan) {
    o[at] = vec4<f32>(params.nan);
    if (c == 0u) { lse[row] = params.nan; }
    return;
  }
  o[at] = select(vec4<f32>(0.0), acc / l, l > 0.0);
  // As in the fused kernel: a sink that is the row's frame gives LSE from its logit directly.
  if (c == 0u) { lse[row] = select(params.negInf, select(lseOf(mx, l), sinkLogit + log(l), mx == sink), l > 0.0); }
}
