
struct Params {
  seqQ: u32,
  seqK: u32,
  headsQ: u32,
  groupSize: u32,
  causal: u32,
  scale: f32,
  negInf: f32,
  qsb: u32,
  qsh: u32,
  qsn: u32,
  ksb: u32,
  ksh: u32,
  ksn: u32,
  vsb: u32,
  vsh: u32,
  vsn: u32,
  osb: u32,
  osh: u32,
  osn: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<f32>;
@group(0) @binding(2) var<storage, read> k: array<f32>;
@group(0) @binding(3) var<storage, read> v: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;

const D = 64u;
const BC = 16u;
const ROWS = 64u;
// A masked score: finite, so no arithmetic below ever meets an infinity.
const MASKED = -3.0e38;

var<workgroup> Ks: array<f32, 1024>;
var<workgroup> Vs: array<f32, 1024>;

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let i = wg.x * ROWS + lid;      // this invocation's query row
  let h = wg.y;
  let b = wg.z;
  let hk = h / params.groupSize;  // GQA: Hq / Hkv query heads share one K/V head
  // Rows past Nq still help load tiles: every invocation must reach every barrier.
  let inRange = i < params.seqQ;
  // Causal, bottom-right aligned: key j is visible iff j ≤ i + Nk − Nq.
  let lastKey = i32(i) + i32(params.seqK) - i32(params.seqQ);

  var qRow: array<f32, D>;
  if (inRange) {
    for (var d = 0u; d < D; d++) { qRow[d] = q[b * params.qsb + h * params.qsh + i * params.qsn + d]; }
  }
  var m = MASKED;
  var l = 0.0;
  var acc: array<f32, D>;  // zeros: WGSL initialises every var

  for (var t = 0u; t < params.seqK; t += BC) {
    // Stage the tile's BC keys and values; zeros past Nk.
    for (var e = lid; e < BC * D; e += ROWS) {
      let j = t + e / D;
      let d = e % D;
      Ks[e] = 0.0;
      Vs[e] = 0.0;
      if (j < params.seqK) {
        Ks[e] = k[b * params.ksb + hk * params.ksh + j * params.ksn + d];
        Vs[e] = v[b * params.vsb + hk * params.vsh + j * params.vsn + d];
      }
    }
    workgroupBarrier();

    if (inRange) {
      // S = scale · q·kⱼ for the tile's keys (rounded once after the dot product, like the reference).
      var s: array<f32, BC>;
      var tileMax = MASKED;
      for (var c = 0u; c < BC; c++) {
        let j = t + c;
        s[c] = MASKED;
        if (j < params.seqK && (params.causal == 0u || i32(j) <= lastKey)) {
          var dot = 0.0;
          for (var d = 0u; d < D; d++) { dot += qRow[d] * Ks[c * D + d]; }
          s[c] = dot * params.scale;
        }
        tileMax = max(tileMax, s[c]);
      }
      // The online softmax: a new max m', the old sums rescaled to it by α, the tile added.
      let mNew = max(m, tileMax);                    // m' = max(m, rowmax(S))
      let alpha = exp(m - mNew);                     // α = exp(m − m')
      var p: array<f32, BC>;
      var rowSum = 0.0;
      for (var c = 0u; c < BC; c++) {
        // A masked key weighs exactly 0 (in an all-masked tile exp(s − m') would be exp(0) = 1).
        p[c] = select(0.0, exp(s[c] - mNew), s[c] > MASKED);   // P = exp(S − m')
        rowSum += p[c];
      }
      l = alpha * l + rowSum;                        // l = α·l + rowsum(P)
      for (var d = 0u; d < D; d++) {                 // acc = α·acc + P·V
        var a = alpha * acc[d];
        for (var c = 0u; c < BC; c++) { a += p[c] * Vs[c * D + d]; }
        acc[d] = a;
      }
      m = mNew;
    }
    // The next tile overwrites Ks and Vs: wait until every row is done with them.
    workgroupBarrier();
  }

  if (!inRange) { return; }
  // A row that saw no key has l = 0: O = 0 and LSE = −∞, never 0/0.
  let seen = l > 0.0;
  for (var d = 0u; d < D; d++) {
    out[b * params.osb + h * params.osh + i * params.osn + d] = select(0.0, acc[d] / l, seen);
  }
  lse[(b * params.headsQ + h) * params.seqQ + i] = select(params.negInf, m + log(l), seen);
}
