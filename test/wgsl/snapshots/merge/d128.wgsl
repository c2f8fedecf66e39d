
struct Params {
  rows: u32,
  seq: u32,
  heads: u32,
  osb: u32,
  osh: u32,
  osn: u32,
  hasB: u32,
  negInf: f32,
  nan: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> oA: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> lseA: array<f32>;
@group(0) @binding(3) var<storage, read> oB: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> lseB: array<f32>;
@group(0) @binding(5) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> lse: array<f32>;
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
// −∞ tested on the bits, like NaN: a compiler may assume no infinities in float compares.
fn isNegInf(x: f32) -> bool { return bitcast<u32>(x) == 0xff800000u; }
fn isPosInf(x: f32) -> bool { return bitcast<u32>(x) == 0x7f800000u; }

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= params.rows * 32u) { return; }
  let row = e / 32u;
  let c = e % 32u;
  let n = row % params.seq;
  let h = (row / params.seq) % params.heads;
  let b = row / (params.seq * params.heads);
  let at = b * params.osb + h * params.osh + n * params.osn + c;
  let la = lseA[row];
  let lb = select(params.negInf, lseB[row], params.hasB != 0u);
  if (isNan(la) || isNan(lb)) {
    o[at] = vec4<f32>(params.nan);
    if (c == 0u) { lse[row] = params.nan; }
    return;
  }
  // A part with LSE +∞ makes the sum +∞ and leaves O undefined (∞/∞): said outright, not left to exp(∞ − ∞).
  if (isPosInf(la) || isPosInf(lb)) {
    o[at] = vec4<f32>(params.nan);
    if (c == 0u) { lse[row] = -params.negInf; }
    return;
  }
  let seenA = !isNegInf(la);
  let seenB = !isNegInf(lb);
  if (!seenA && !seenB) {
    o[at] = vec4<f32>(0.0);
    if (c == 0u) { lse[row] = params.negInf; }
    return;
  }
  // The larger LSE is the frame: both weights are at most 1, the larger exactly 1.
  let mx = max(select(-3.0e38, la, seenA), select(-3.0e38, lb, seenB));
  let wa = select(0.0, exp(la - mx), seenA);
  let wb = select(0.0, exp(lb - mx), seenB);
  let l = wa + wb;
  var acc = vec4<f32>(0.0);
  if (wa != 0.0) { acc += wa * oA[at]; }
  if (wb != 0.0) { acc += wb * oB[at]; }
  o[at] = acc / l;
  if (c == 0u) { lse[row] = mx + log(l); }
}
