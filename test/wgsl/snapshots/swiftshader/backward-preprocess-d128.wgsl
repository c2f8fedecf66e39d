
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
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> o: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> dout: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> dd: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * 64u;
  if (row >= params.rows) { return; }
  let i = row % params.seqQ;
  let bh = row / params.seqQ;
  let base = (bh / params.headsQ) * params.qsb + (bh % params.headsQ) * params.qsh + i * params.qsn;
  var acc = 0.0;
  for (var c = 0u; c < 32u; c++) { acc += dot(o[base + c], dout[base + c]); }
  dd[row] = acc;
}
