
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
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn lseOf(m: f32, l: f32) -> f32 {
  return fma(m, 0.6931471824645996, fma(m, -1.904654323148236e-9, log(l)));
}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = gid.x + gid.y * nwg.x * 64u;
  if (e >= params.rows * 16u) { return; }
  let local = e / 16u; // the chunk's row
  let c = e % 16u;
  let n = params.n0 + local % params.chunkRows;
  let h = params.h0 + (local / params.chunkRows) % params.chunkHeads;
  let b = params.b0 + local / (params.chunkRows * params.chunkHeads);
  let row = (b * params.headsQ + h) * params.seqQ + n - params.lseOff;
  let at = b * params.qsb + h * params.qsh + n * params.qsn + c - params.qOff;
  var mx = -3.0e38;
  var nan = false;
  for (var s = 0u; s < params.splits; s++) {
    let st = s * params.partStats + 2u * row;
    nan = nan || isNan(stats[st + 1u]);
    mx = max(mx, stats[st]);
  }

  var l = 0.0;
  var acc = vec4<f32>(0.0);
  for (var s = 0u; s < params.splits; s++) {
    let st = s * params.partStats + 2u * row;
    let w = stats[st + 1u] * exp2(stats[st] - mx);
    l += w;
    if (w != 0.0) { acc += w * oParts[s * params.partVec4 + at]; }
  }
  if (nan) {
    o[at] = vec4<f32>(params.nan);
    if (c == 0u) { lse[row] = params.nan; }
    return;
  }
  o[at] = select(vec4<f32>(0.0), acc / l, l > 0.0);
  // As in the fused kernel: a sink that is the row's frame gives LSE from its logit directly.
  if (c == 0u) { lse[row] = select(params.negInf, lseOf(mx, l), l > 0.0); }
}
