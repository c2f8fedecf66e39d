
struct Params {
  seqQ: u32,
  seqK: u32,
  groupSize: u32,
  headsQ: u32,
  scale: f32,
  causalOffset: i32,
  negInf: f32,
  headBase: u32,
  chunkRows: u32,
  headDim: u32,
  qsb: u32,
  qsh: u32,
  qsn: u32,
  ksb: u32,
  ksh: u32,
  ksn: u32,
  vsb: u32,
  vsh: u32,
  vsn: u32,
  nan: f32,
}
const MASKED = -3.0e38;
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> s: array<f32>;



@compute @workgroup_size(256, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let total = params.chunkRows * params.seqK;
  let stride = nwg.x * 256u;
  for (var idx = gid.x; idx < total; idx += stride) {
    let i = (idx / params.seqK) % params.seqQ;
    let j = idx % params.seqK;
    let zg = params.headBase + idx / (params.seqK * params.seqQ);
    let b = i32(zg / params.headsQ);
    let h = i32(zg % params.headsQ);
    let x = s[idx];
    s[idx] = select(MASKED, x, i32(j) <= i32(i) + params.causalOffset);
  }
}
