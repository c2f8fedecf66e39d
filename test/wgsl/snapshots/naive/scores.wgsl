
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
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read_write> s: array<f32>;

var<workgroup> As: array<f32, 1024>; // [kk][row]
var<workgroup> Bs: array<f32, 1024>; // [kk][col]

// scores: C = A·B, 64×64 tile per workgroup, invocation (tx, ty) owns rows ty+16r, cols tx+16c.
@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * 16u + tx;
  let zl = wg.z;
  let zg = params.headBase + zl;
  let b = zg / params.headsQ;
  let h = zg % params.headsQ;
  let hk = h / params.groupSize;
  let M = params.seqQ;
  let N = params.seqK;
  let K = params.headDim;
  let row0 = wg.y * 64u;
  let col0 = wg.x * 64u;
  var acc: array<f32, 16>;
  for (var k0 = 0u; k0 < K; k0 += 16u) {
    for (var t = 0u; t < 4u; t++) {
      let e = tid + 256u * t;
      {
        let kk = e % 16u;
        let row = e / 16u;
        var x = 0.0;
        if (row0 + row < M && k0 + kk < K) { x = q[b * params.qsb + h * params.qsh + (row0 + row) * params.qsn + (k0 + kk)]; }
        As[kk * 64u + row] = x;
      }
      {
        let kk = e % 16u; let col = e / 16u;
        var x = 0.0;
        if (col0 + col < N && k0 + kk < K) { x = k[b * params.ksb + hk * params.ksh + (col0 + col) * params.ksn + (k0 + kk)]; }
        Bs[kk * 64u + col] = x;
      }
    }
    workgroupBarrier();
    for (var kk = 0u; kk < 16u; kk++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var r = 0u; r < 4u; r++) { av[r] = As[kk * 64u + ty + 16u * r]; }
      for (var c = 0u; c < 4u; c++) { bv[c] = Bs[kk * 64u + tx + 16u * c]; }
      for (var r = 0u; r < 4u; r++) {
        for (var c = 0u; c < 4u; c++) { acc[r * 4u + c] += av[r] * bv[c]; }
      }
    }
    workgroupBarrier();
  }
  for (var r = 0u; r < 4u; r++) {
    for (var c = 0u; c < 4u; c++) {
      let row = row0 + ty + 16u * r;
      let col = col0 + tx + 16u * c;
      if (row < M && col < N) {
        let value = acc[r * 4u + c];
        s[(zl * params.seqQ + row) * params.seqK + col] = value * params.scale;
      }
    }
  }
}
