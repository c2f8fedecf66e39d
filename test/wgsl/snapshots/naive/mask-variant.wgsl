
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
@group(0) @binding(2) var<storage, read> aux: array<f32>;
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
    s[idx] = select(MASKED, scoreMod(x, b, h, i32(i), i32(j)), i32(j) <= i32(i) + params.causalOffset && maskMod(b, h, i32(i), i32(j)));
  }
}
