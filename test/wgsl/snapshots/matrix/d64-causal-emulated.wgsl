
struct Params {
  seqQ: u32,
  seqK: u32,
  groupSize: u32,
  headsQ: u32,
  qkScale: f32,
  causalOffset: i32,
  negInf: f32,
  headBase: u32,
  qsb: u32,
  qsh: u32,
  qsn: u32,
  ksb: u32,
  ksh: u32,
  ksn: u32,
  vsb: u32,
  vsh: u32,
  vsn: u32,
  scale: f32,
  bmB: u32,
  bmH: u32,
  bmRow: u32,
  nan: f32,
  batchBase: u32,
  tileBase: u32,
  qOff: u32,
  kOff: u32,
  vOff: u32,
  lseOff: u32,
  qTiles: u32,
  rangeKeys: u32,
  oPart: u32,
  statPart: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> q: array<u32>;
@group(0) @binding(2) var<storage, read> k: array<vec2<u32>>;
@group(0) @binding(3) var<storage, read> v: array<vec2<u32>>;
@group(0) @binding(4) var<storage, read_write> o: array<vec2<u32>>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
fn unpackHalf4(x: vec2<u32>) -> vec4<f32> { return vec4<f32>(unpack2x16float(x.x), unpack2x16float(x.y)); }
fn packHalf(x: f32) -> u32 {
  let a = bitcast<u32>(x) & 0x7fffffffu;
  let sign = (bitcast<u32>(x) >> 16u) & 0x8000u;
  let fits = a <= 0x477fe000u; // within the f16 range: 65504 and below
  let rounded = pack2x16float(vec2<f32>(select(0.0, x, fits), 0.0)) & 0xffffu;
  let past = select(sign | 0x7bffu, sign | 0x7c00u, a >= 0x477ff000u); // 65504 below 65520, else inf
  return select(select(past, rounded, fits), 0x7e00u, a > 0x7f800000u);
}
fn packHalf4(v: vec4<f32>) -> vec2<u32> {
  return vec2<u32>(packHalf(v.x) | (packHalf(v.y) << 16u), packHalf(v.z) | (packHalf(v.w) << 16u));
}
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn lseOf(m: f32, l: f32) -> f32 {
  return fma(m, 0.6931471824645996, fma(m, -1.904654323148236e-9, log(l)));
}

const MASKED = -3.0e38;

// The halves of packed pairs whose exponent is all ones (inf, NaN) replaced by 0.
fn finiteHalves(w: vec2<u32>) -> vec2<u32> {
  let lo = (w & vec2<u32>(0x7c00u)) == vec2<u32>(0x7c00u);
  let hi = (w & vec2<u32>(0x7c000000u)) == vec2<u32>(0x7c000000u);
  return w & select(vec2<u32>(0xffffffffu), vec2<u32>(0xffff0000u), lo) & select(vec2<u32>(0xffffffffu), vec2<u32>(0x0000ffffu), hi);
}
var<workgroup> kS: array<f32, 1152>;
var<workgroup> vS: array<f32, 1152>;
var<workgroup> pS: array<f32, 768>; // P, f16, per subgroup m × BC
var<workgroup> sS: array<f32, 640>;        // S (then O on its way out), f32, per subgroup m × BC
var<workgroup> rowA: array<f32, 32>;             // per row: the rescale factor, at the end 1 / l
// By tile parity (the next tile's are cleared while this one runs, after their last reads):
// .x some row of the workgroup moved its max, .y some V of the tile is inf or NaN.
var<workgroup> flags: array<vec4<u32>, 2>;
var<workgroup> mA: array<f32, 512>;
var<workgroup> mB: array<f32, 512>;
fn mma(a: array<f32, 8>, b: array<f32, 8>, acc: array<f32, 8>, sg: u32, lane: u32) -> array<f32, 8> {
  var A = a; var B = b; var C = acc;
  for (var i = 0u; i < 8u; i++) { mA[sg * 256u + lane + i * 32u] = A[i]; }
  for (var i = 0u; i < 8u; i++) { mB[sg * 256u + lane + i * 32u] = B[i]; }
  workgroupBarrier();
  for (var i = 0u; i < 8u; i++) {
    let e = lane + i * 32u; let r = e / 16u; let c = e % 16u;
    var t = C[i];
    for (var k = 0u; k < 16u; k++) { t += mA[sg * 256u + r * 16u + k] * mB[sg * 256u + k * 16u + c]; }
    C[i] = t;
  }
  workgroupBarrier();
  return C;
}
var<workgroup> xch: array<f32, 64>;
fn shx(x: f32, m: u32, li: u32) -> f32 {
  xch[li] = x; workgroupBarrier(); let y = xch[li ^ m]; workgroupBarrier(); return y;
}
fn roundHalf(x: f32) -> f32 { return unpack2x16float(pack2x16float(vec2<f32>(x, 0.0))).x; }
fn ld_q_left_row_major(off: u32, stride: u32, lane: u32) -> array<f32, 8> {
  var m: array<f32, 8>;
  let inBounds = off + 15u * stride + 15u < 2u * arrayLength(&q);
  for (var i = 0u; i < 8u; i++) {
    let e = lane + i * 32u; let r = e / 16u; let c = e % 16u;
    m[i] = select(params.nan, unpack2x16float(q[(off + r * stride + c) / 2u])[(off + r * stride + c) % 2u], inBounds);
  }
  return m;
}
fn ld_kS_right_col_major(off: u32, stride: u32, lane: u32) -> array<f32, 8> {
  var m: array<f32, 8>;
  for (var i = 0u; i < 8u; i++) {
    let e = lane + i * 32u; let r = e / 16u; let c = e % 16u;
    m[i] = kS[off + c * stride + r];
  }
  return m;
}
fn st_sS(off: u32, v: array<f32, 8>, stride: u32, lane: u32) {
  var M = v;
  for (var i = 0u; i < 8u; i++) { let e = lane + i * 32u; sS[off + (e / 16u) * stride + e % 16u] = M[i]; }
}
fn ld_pS_left_row_major(off: u32, stride: u32, lane: u32) -> array<f32, 8> {
  var m: array<f32, 8>;
  for (var i = 0u; i < 8u; i++) {
    let e = lane + i * 32u; let r = e / 16u; let c = e % 16u;
    m[i] = pS[off + r * stride + c];
  }
  return m;
}
fn ld_vS_right_row_major(off: u32, stride: u32, lane: u32) -> array<f32, 8> {
  var m: array<f32, 8>;
  for (var i = 0u; i < 8u; i++) {
    let e = lane + i * 32u; let r = e / 16u; let c = e % 16u;
    m[i] = vS[off + r * stride + c];
  }
  return m;
}
fn ld_sS_result_row_major(off: u32, stride: u32, lane: u32) -> array<f32, 8> {
  var m: array<f32, 8>;
  for (var i = 0u; i < 8u; i++) {
    let e = lane + i * 32u; let r = e / 16u; let c = e % 16u;
    m[i] = sS[off + r * stride + c];
  }
  return m;
}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let sg = li / 32u; let lane = li % 32u;
  let wgLinear = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  let rank = wgLinear / (nwg.y * nwg.z);
  let g = select(wg, vec3<u32>(nwg.x - 1u - rank, wgLinear % nwg.y, (wgLinear / nwg.y) % nwg.z), true);
  let h = g.y;
  let b = g.z;
  let hk = h / params.groupSize;
  let q0 = g.x * 32u;
  // The subgroup's m rows, moved back to end at the last row where they would pass it (why: kernels/matrix.ts).
  let row0 = min(q0 + sg * 16u, params.seqQ - 16u);
  let qLow = min(q0, params.seqQ - 16u); // the workgroup's first row, for the causal interior test
  let r = lane % 16u; let part = lane / 16u; // this lane's row and its share of the columns
  let qi = row0 + r;
  let sOff = sg * 320u; let pOff = sg * 384u;
  // Q as left matrices straight from storage, in f16 elements (offsets and strides are
  // multiples of 8: matrix-program.ts checks).
  let qBase = (b * params.qsb + h * params.qsh + row0 * params.qsn - params.qOff) * 4u;
  let qStride = params.qsn * 4u;
  let qa0 = ld_q_left_row_major(qBase + 0u, qStride, lane);
  let qa1 = ld_q_left_row_major(qBase + 16u, qStride, lane);
  let qa2 = ld_q_left_row_major(qBase + 32u, qStride, lane);
  let qa3 = ld_q_left_row_major(qBase + 48u, qStride, lane);
  var o0 = array<f32, 8>();
  var o1 = array<f32, 8>();
  var o2 = array<f32, 8>();
  var o3 = array<f32, 8>();
  var m = MASKED; var l = 0.0;
  let kRow = b * params.ksb + hk * params.ksh - params.kOff;
  let vRow = b * params.vsb + hk * params.vsh - params.vOff;
  let kTiles = (params.seqK + 15u) / 16u;
  // Tiles with a key some row of the workgroup sees (key j ≤ row + causalOffset).
  let lastKey = i32(min(q0 + 31u, params.seqQ - 1u)) + params.causalOffset;
  let nT = select(0u, min(kTiles, u32(lastKey) / 16u + 1u), lastKey >= 0);
  // Each invocation's share of a K/V tile: vec4 slot i is element li + i·T of the tile's BC × D/4.
  var kx: array<vec2<u32>, 4>;
  var vx: array<vec2<u32>, 4>;
  for (var t = 0u; t < nT; t++) {
    let k0 = t * 16u;
    workgroupBarrier(); // every subgroup's P·V of the last tile is done before its K/V is overwritten
    if (li == 0u) { flags[(t + 1u) % 2u] = vec4<u32>(); } // the next tile's: last read in the last tile
    // Fetch and stage this tile's K and V as f16.
    {
      let e = li + 0u; let j = e / 16u; let c4 = e % 16u;
      let key = k0 + j;
      let ok = key < params.seqK;
      let row = select(params.seqK - 1u, key, ok); // a row inside the tensor, its value dropped when past the end
      kx[0] = select(vec2<u32>(), k[kRow + row * params.ksn + c4], ok);
      vx[0] = select(vec2<u32>(), v[vRow + row * params.vsn + c4], ok);
    }
    {
      let e = li + 64u; let j = e / 16u; let c4 = e % 16u;
      let key = k0 + j;
      let ok = key < params.seqK;
      let row = select(params.seqK - 1u, key, ok); // a row inside the tensor, its value dropped when past the end
      kx[1] = select(vec2<u32>(), k[kRow + row * params.ksn + c4], ok);
      vx[1] = select(vec2<u32>(), v[vRow + row * params.vsn + c4], ok);
    }
    {
      let e = li + 128u; let j = e / 16u; let c4 = e % 16u;
      let key = k0 + j;
      let ok = key < params.seqK;
      let row = select(params.seqK - 1u, key, ok); // a row inside the tensor, its value dropped when past the end
      kx[2] = select(vec2<u32>(), k[kRow + row * params.ksn + c4], ok);
      vx[2] = select(vec2<u32>(), v[vRow + row * params.vsn + c4], ok);
    }
    {
      let e = li + 192u; let j = e / 16u; let c4 = e % 16u;
      let key = k0 + j;
      let ok = key < params.seqK;
      let row = select(params.seqK - 1u, key, ok); // a row inside the tensor, its value dropped when past the end
      kx[3] = select(vec2<u32>(), k[kRow + row * params.ksn + c4], ok);
      vx[3] = select(vec2<u32>(), v[vRow + row * params.vsn + c4], ok);
    }
    {
      let e = li + 0u; let j = e / 16u; let c4 = e % 16u;
      let vw = finiteHalves(vx[0]);
      if (any(vw != vx[0])) { flags[t % 2u].y = 1u; }
      let kh = unpackHalf4(kx[0]); let vh = unpackHalf4(vw);
      let w = j * 72u + c4 * 4u;
      kS[w] = kh.x; kS[w + 1u] = kh.y; kS[w + 2u] = kh.z; kS[w + 3u] = kh.w;
      vS[w] = vh.x; vS[w + 1u] = vh.y; vS[w + 2u] = vh.z; vS[w + 3u] = vh.w;
    }
    {
      let e = li + 64u; let j = e / 16u; let c4 = e % 16u;
      let vw = finiteHalves(vx[1]);
      if (any(vw != vx[1])) { flags[t % 2u].y = 1u; }
      let kh = unpackHalf4(kx[1]); let vh = unpackHalf4(vw);
      let w = j * 72u + c4 * 4u;
      kS[w] = kh.x; kS[w + 1u] = kh.y; kS[w + 2u] = kh.z; kS[w + 3u] = kh.w;
      vS[w] = vh.x; vS[w + 1u] = vh.y; vS[w + 2u] = vh.z; vS[w + 3u] = vh.w;
    }
    {
      let e = li + 128u; let j = e / 16u; let c4 = e % 16u;
      let vw = finiteHalves(vx[2]);
      if (any(vw != vx[2])) { flags[t % 2u].y = 1u; }
      let kh = unpackHalf4(kx[2]); let vh = unpackHalf4(vw);
      let w = j * 72u + c4 * 4u;
      kS[w] = kh.x; kS[w + 1u] = kh.y; kS[w + 2u] = kh.z; kS[w + 3u] = kh.w;
      vS[w] = vh.x; vS[w + 1u] = vh.y; vS[w + 2u] = vh.z; vS[w + 3u] = vh.w;
    }
    {
      let e = li + 192u; let j = e / 16u; let c4 = e % 16u;
      let vw = finiteHalves(vx[3]);
      if (any(vw != vx[3])) { flags[t % 2u].y = 1u; }
      let kh = unpackHalf4(kx[3]); let vh = unpackHalf4(vw);
      let w = j * 72u + c4 * 4u;
      kS[w] = kh.x; kS[w + 1u] = kh.y; kS[w + 2u] = kh.z; kS[w + 3u] = kh.w;
      vS[w] = vh.x; vS[w + 1u] = vh.y; vS[w + 2u] = vh.z; vS[w + 3u] = vh.w;
    }
    workgroupBarrier();
    {
      var s = array<f32, 8>();
      s = mma(qa0, ld_kS_right_col_major(0u, 72u, lane), s, sg, lane);
      s = mma(qa1, ld_kS_right_col_major(16u, 72u, lane), s, sg, lane);
      s = mma(qa2, ld_kS_right_col_major(32u, 72u, lane), s, sg, lane);
      s = mma(qa3, ld_kS_right_col_major(48u, 72u, lane), s, sg, lane);
      st_sS(sOff + 0u, s, 20u, lane);
    }
    workgroupBarrier();
    // Tiles where every key is visible to every row of the workgroup skip the mask.
    let interior = k0 + 16u <= params.seqK && i32(k0 + 15u) <= i32(qLow) + params.causalOffset;
    var mt = MASKED;
    if (interior) {
      for (var i = 0u; i < 8u; i++) {
      let c = part + i * 2u;
      let x = sS[sOff + r * 20u + c] * params.qkScale;
      mt = max(mt, x);
    }
    } else {
      for (var i = 0u; i < 8u; i++) {
      let c = part + i * 2u;
      let x = sS[sOff + r * 20u + c] * params.qkScale;
      mt = select(mt, max(mt, x), k0 + c < params.seqK && i32(k0 + c) <= i32(qi) + params.causalOffset);
    }
    }
    mt = max(mt, shx(mt, 16u, li));
    let grow = mt > m + 8.0;
    let mNew = select(m, mt, grow);
    let alpha = exp2(m - mNew);
    if (grow && m > MASKED) { flags[t % 2u].x = 1u; }
    if (part == 0u) { rowA[sg * 16u + r] = alpha; }
    l = l * alpha;
    m = mNew;
    if (interior) {
      for (var i = 0u; i < 8u; i++) {
      let c = part + i * 2u;
      let x = sS[sOff + r * 20u + c] * params.qkScale;
      let ph = roundHalf(exp2(x - m));
      pS[pOff + r * 24u + c] = ph;
      l = l + f32(ph);
    }
    } else {
      for (var i = 0u; i < 8u; i++) {
      let c = part + i * 2u;
      let x = sS[sOff + r * 20u + c] * params.qkScale;
      let ph = roundHalf(select(0.0, exp2(x - m), k0 + c < params.seqK && i32(k0 + c) <= i32(qi) + params.causalOffset));
      pS[pOff + r * 24u + c] = ph;
      l = l + f32(ph);
    }
    }
    let tileFlags = workgroupUniformLoad(&flags[t % 2u]); // a barrier: P, rowA and the flags are visible
    if (tileFlags.x != 0u) {
      st_sS(sOff + 0u, o0, 20u, lane);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      sS[sOff + rr * 20u + cc] *= rowA[sg * 16u + rr];
    }
    workgroupBarrier();
    o0 = ld_sS_result_row_major(sOff + 0u, 20u, lane);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    st_sS(sOff + 0u, o1, 20u, lane);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      sS[sOff + rr * 20u + cc] *= rowA[sg * 16u + rr];
    }
    workgroupBarrier();
    o1 = ld_sS_result_row_major(sOff + 0u, 20u, lane);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    st_sS(sOff + 0u, o2, 20u, lane);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      sS[sOff + rr * 20u + cc] *= rowA[sg * 16u + rr];
    }
    workgroupBarrier();
    o2 = ld_sS_result_row_major(sOff + 0u, 20u, lane);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    st_sS(sOff + 0u, o3, 20u, lane);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      sS[sOff + rr * 20u + cc] *= rowA[sg * 16u + rr];
    }
    workgroupBarrier();
    o3 = ld_sS_result_row_major(sOff + 0u, 20u, lane);
    }
    {
      let pl = ld_pS_left_row_major(pOff + 0u, 24u, lane);
      o0 = mma(pl, ld_vS_right_row_major(0u, 72u, lane), o0, sg, lane);
      o1 = mma(pl, ld_vS_right_row_major(16u, 72u, lane), o1, sg, lane);
      o2 = mma(pl, ld_vS_right_row_major(32u, 72u, lane), o2, sg, lane);
      o3 = mma(pl, ld_vS_right_row_major(48u, 72u, lane), o3, sg, lane);
    }
    // An inf or NaN in V went to the matrix units as 0 (a masked key's 0 · inf would be NaN in every
    // row): here the rows whose P for that key is not 0 get it, in f32 through the scratch.
    if (tileFlags.y != 0u) {
      st_sS(sOff + 0u, o0, 20u, lane);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      var extra = 0.0;
      for (var j = 0u; j < 16u; j++) {
        let p = f32(pS[pOff + rr * 24u + j]);
        let key = k0 + j;
        if (p != 0.0 && key < params.seqK) {
          let x = unpackHalf4(v[vRow + key * params.vsn + (0u + cc) / 4u])[(0u + cc) % 4u];
          if ((bitcast<u32>(x) & 0x7fffffffu) >= 0x7f800000u) { extra += p * x; }
        }
      }
      sS[sOff + rr * 20u + cc] += extra;
    }
    workgroupBarrier();
    o0 = ld_sS_result_row_major(sOff + 0u, 20u, lane);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    st_sS(sOff + 0u, o1, 20u, lane);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      var extra = 0.0;
      for (var j = 0u; j < 16u; j++) {
        let p = f32(pS[pOff + rr * 24u + j]);
        let key = k0 + j;
        if (p != 0.0 && key < params.seqK) {
          let x = unpackHalf4(v[vRow + key * params.vsn + (16u + cc) / 4u])[(16u + cc) % 4u];
          if ((bitcast<u32>(x) & 0x7fffffffu) >= 0x7f800000u) { extra += p * x; }
        }
      }
      sS[sOff + rr * 20u + cc] += extra;
    }
    workgroupBarrier();
    o1 = ld_sS_result_row_major(sOff + 0u, 20u, lane);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    st_sS(sOff + 0u, o2, 20u, lane);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      var extra = 0.0;
      for (var j = 0u; j < 16u; j++) {
        let p = f32(pS[pOff + rr * 24u + j]);
        let key = k0 + j;
        if (p != 0.0 && key < params.seqK) {
          let x = unpackHalf4(v[vRow + key * params.vsn + (32u + cc) / 4u])[(32u + cc) % 4u];
          if ((bitcast<u32>(x) & 0x7fffffffu) >= 0x7f800000u) { extra += p * x; }
        }
      }
      sS[sOff + rr * 20u + cc] += extra;
    }
    workgroupBarrier();
    o2 = ld_sS_result_row_major(sOff + 0u, 20u, lane);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    st_sS(sOff + 0u, o3, 20u, lane);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      var extra = 0.0;
      for (var j = 0u; j < 16u; j++) {
        let p = f32(pS[pOff + rr * 24u + j]);
        let key = k0 + j;
        if (p != 0.0 && key < params.seqK) {
          let x = unpackHalf4(v[vRow + key * params.vsn + (48u + cc) / 4u])[(48u + cc) % 4u];
          if ((bitcast<u32>(x) & 0x7fffffffu) >= 0x7f800000u) { extra += p * x; }
        }
      }
      sS[sOff + rr * 20u + cc] += extra;
    }
    workgroupBarrier();
    o3 = ld_sS_result_row_major(sOff + 0u, 20u, lane);
    }
  }
  l = l + shx(l, 16u, li);
  // A row with a NaN score keeps its NaN (l is NaN), like the reference; a row that saw no key writes 0 and LSE −inf.
  if (part == 0u) {
    rowA[sg * 16u + r] = select(0.0, 1.0 / l, l > 0.0 || isNan(l));
    // Every row is a real one (row0 was moved back to end at the last row).
    lse[(b * params.headsQ + h) * params.seqQ + qi - params.lseOff] = select(select(params.negInf, lseOf(m, l), l > 0.0), params.nan, isNan(l));
  }
  workgroupBarrier();
  let oRow = b * params.qsb + h * params.qsh - params.qOff;
  st_sS(sOff + 0u, o0, 20u, lane);
    workgroupBarrier();
    for (var e = lane; e < 64u; e += 32u) {
      let rr = e / 4u; let c4 = e % 4u; let at = sOff + rr * 20u + c4 * 4u;
      o[oRow + (row0 + rr) * params.qsn + 0u + c4] = packHalf4(vec4<f32>(sS[at], sS[at + 1u], sS[at + 2u], sS[at + 3u]) * rowA[sg * 16u + rr]);
    }
    workgroupBarrier();
    st_sS(sOff + 0u, o1, 20u, lane);
    workgroupBarrier();
    for (var e = lane; e < 64u; e += 32u) {
      let rr = e / 4u; let c4 = e % 4u; let at = sOff + rr * 20u + c4 * 4u;
      o[oRow + (row0 + rr) * params.qsn + 4u + c4] = packHalf4(vec4<f32>(sS[at], sS[at + 1u], sS[at + 2u], sS[at + 3u]) * rowA[sg * 16u + rr]);
    }
    workgroupBarrier();
    st_sS(sOff + 0u, o2, 20u, lane);
    workgroupBarrier();
    for (var e = lane; e < 64u; e += 32u) {
      let rr = e / 4u; let c4 = e % 4u; let at = sOff + rr * 20u + c4 * 4u;
      o[oRow + (row0 + rr) * params.qsn + 8u + c4] = packHalf4(vec4<f32>(sS[at], sS[at + 1u], sS[at + 2u], sS[at + 3u]) * rowA[sg * 16u + rr]);
    }
    workgroupBarrier();
    st_sS(sOff + 0u, o3, 20u, lane);
    workgroupBarrier();
    for (var e = lane; e < 64u; e += 32u) {
      let rr = e / 4u; let c4 = e % 4u; let at = sOff + rr * 20u + c4 * 4u;
      o[oRow + (row0 + rr) * params.qsn + 12u + c4] = packHalf4(vec4<f32>(sS[at], sS[at + 1u], sS[at + 2u], sS[at + 3u]) * rowA[sg * 16u + rr]);
    }
}
