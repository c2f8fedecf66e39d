
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
@group(0) @binding(2) var<storage, read_write> lse: array<f32>;
@group(0) @binding(3) var<storage, read> aux: array<f32>;

const T = 256u;
var<workgroup> red: array<f32, T>;

// Tree reduction of red[] (max when isMax, else sum); every invocation returns the result.
fn reduce(tid: u32, isMax: bool) -> f32 {
  for (var w = T / 2u; w > 0u; w /= 2u) {
    workgroupBarrier();
    if (tid < w) {
      let a = red[tid];
      let b = red[tid + w];
      red[tid] = select(a + b, max(a, b), isMax);
    }
  }
  workgroupBarrier();
  let result = red[0];
  workgroupBarrier();
  return result;
}

@compute @workgroup_size(T, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let tid = lid.x;
  for (var row = wg.x; row < params.chunkRows; row += nwg.x) {
    let base = row * params.seqK;
    var mx = MASKED;
    for (var j = tid; j < params.seqK; j += T) { mx = max(mx, s[base + j]); }
    red[tid] = mx;
    let sink = aux[8u + (params.headBase + row / params.seqQ) % params.headsQ];
    let m = max(reduce(tid, true), sink);
    // The sink's term enters the sum once (invocation 0), not once per invocation.
    var sum = select(0.0, exp(sink - m), sink > MASKED && tid == 0u);
    for (var j = tid; j < params.seqK; j += T) {
      let x = s[base + j];
      // A NaN score makes the row NaN (through the sum), as in the reference.
      sum += select(select(0.0, exp(x - m), x > MASKED), params.nan, isNan(x));
    }
    red[tid] = sum;
    let l = reduce(tid, false);
    let inv = select(select(0.0, 1.0 / l, l > 0.0), params.nan, isNan(l));
    for (var j = tid; j < params.seqK; j += T) {
      let x = s[base + j];
      s[base + j] = select(0.0, exp(x - m) * inv, x > MASKED || isNan(inv));
    }
    if (tid == 0u) {
      let zg = params.headBase + row / params.seqQ;
      lse[zg * params.seqQ + row % params.seqQ] = select(select(params.negInf, m + log(l), l > 0.0), params.nan, isNan(l));
    }
  }
}
