
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
  cols: u32,
  negInf: f32,
  nan: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> oParts: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> stats: array<f32>;
@group(0) @binding(3) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> lse: array<f32>;
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn lseOf(m: f32, l: f32) -> f32 {
  return fma(m, 0.6931471824645996, fma(m, -1.904654323148236e-9, log(l)));
}

const D4 = 32u;
const THREADS = 256u;
// A lane's partial sums (per column), and its (m, l) and NaN flag (per lane), for the tree.
var<workgroup> sums: array<vec4<f32>, THREADS>;
var<workgroup> frames: array<vec2<f32>, THREADS>;
var<workgroup> nans: array<u32, THREADS>;

@compute @workgroup_size(THREADS, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) t: u32) {
  let blocks = D4 / params.cols; // workgroups per row
  let flat = wg.x + wg.y * nwg.x;
  let local = flat / blocks; // the chunk's row (the whole workgroup's)
  if (local >= params.rows) { return; }
  let sg = THREADS / params.cols; // split lanes
  let c = (flat % blocks) * params.cols + t % params.cols;
  let j = t / params.cols;
  let n = params.n0 + local % params.chunkRows;
  let h = params.h0 + (local / params.chunkRows) % params.chunkHeads;
  let b = params.b0 + local / (params.chunkRows * params.chunkHeads);
  let row = (b * params.headsQ + h) * params.seqQ + n - params.lseOff;
  let at = b * params.qsb + h * params.qsh + n * params.qsn + c - params.qOff;
  let last = params.splits - 1u;

  // This lane's parts in one pass, each trip rescaled once to the trip's max.
  var m = -3.0e38;
  var l = 0.0;
  var acc = vec4<f32>(0.0);
  var nan = false;
  for (var s0 = j; s0 < params.splits; s0 += 4u * sg) {
    let p0 = min(s0 + 0u * sg, last);
    let st0 = p0 * params.partStats + 2u * row;
    let m0 = stats[st0];
    let l0 = stats[st0 + 1u];
    let o0 = oParts[p0 * params.partVec4 + at];
    let live0 = s0 + 0u * sg < params.splits && l0 > 0.0;
    nan = nan || isNan(m0) || isNan(l0);
    let p1 = min(s0 + 1u * sg, last);
    let st1 = p1 * params.partStats + 2u * row;
    let m1 = stats[st1];
    let l1 = stats[st1 + 1u];
    let o1 = oParts[p1 * params.partVec4 + at];
    let live1 = s0 + 1u * sg < params.splits && l1 > 0.0;
    nan = nan || isNan(m1) || isNan(l1);
    let p2 = min(s0 + 2u * sg, last);
    let st2 = p2 * params.partStats + 2u * row;
    let m2 = stats[st2];
    let l2 = stats[st2 + 1u];
    let o2 = oParts[p2 * params.partVec4 + at];
    let live2 = s0 + 2u * sg < params.splits && l2 > 0.0;
    nan = nan || isNan(m2) || isNan(l2);
    let p3 = min(s0 + 3u * sg, last);
    let st3 = p3 * params.partStats + 2u * row;
    let m3 = stats[st3];
    let l3 = stats[st3 + 1u];
    let o3 = oParts[p3 * params.partVec4 + at];
    let live3 = s0 + 3u * sg < params.splits && l3 > 0.0;
    nan = nan || isNan(m3) || isNan(l3);
    var mt = m;
    mt = max(mt, select(m, m0, live0));
    mt = max(mt, select(m, m1, live1));
    mt = max(mt, select(m, m2, live2));
    mt = max(mt, select(m, m3, live3));
    let a = exp2(m - mt);
    let w0 = select(0.0, l0 * exp2(m0 - mt), live0);
    let w1 = select(0.0, l1 * exp2(m1 - mt), live1);
    let w2 = select(0.0, l2 * exp2(m2 - mt), live2);
    let w3 = select(0.0, l3 * exp2(m3 - mt), live3);
    l = l * a + w0 + w1 + w2 + w3;
    acc = acc * a + select(vec4<f32>(0.0), w0 * o0, live0) + select(vec4<f32>(0.0), w1 * o1, live1) + select(vec4<f32>(0.0), w2 * o2, live2) + select(vec4<f32>(0.0), w3 * o3, live3);
    m = mt;
  }

  // The lanes meet pairwise: lane j takes lane j + step's (m, l, acc), rescaled to their joint max.
  sums[t] = acc;
  if (t % params.cols == 0u) {
    frames[j] = vec2<f32>(m, l);
    nans[j] = select(0u, 1u, nan);
  }
  for (var step = 1u << firstLeadingBit(max(sg - 1u, 1u)); step > 0u; step >>= 1u) {
    workgroupBarrier();
    if (j < step && j + step < sg) {
      let f = frames[j + step];
      let mt = max(m, f.x);
      let a = exp2(m - mt);
      let e = exp2(f.x - mt);
      l = l * a + f.y * e;
      acc = acc * a + sums[t + step * params.cols] * e;
      m = mt;
      nan = nan || nans[j + step] != 0u;
      sums[t] = acc;
      if (t % params.cols == 0u) {
        frames[j] = vec2<f32>(m, l);
        nans[j] = select(0u, 1u, nan);
      }
    }
  }
  if (j != 0u) { return; }
  if (nan) {
    o[at] = vec4<f32>(params.nan);
    if (c == 0u) { lse[row] = params.nan; }
    return;
  }
  o[at] = select(vec4<f32>(0.0), acc / l, l > 0.0);
  // As in the fused kernel: a sink that is the row's frame gives LSE from its logit directly.
  if (c == 0u) { lse[row] = select(params.negInf, lseOf(m, l), l > 0.0); }
}
