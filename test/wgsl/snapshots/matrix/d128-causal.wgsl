enable f16;
enable subgroups;
enable chromium_experimental_subgroup_matrix;

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
@group(0) @binding(1) var<storage, read> q: array<f16>;
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
var<workgroup> kS: array<f16, 2176>;
var<workgroup> vS: array<f16, 2176>;
var<workgroup> pS: array<f16, 3072>; // P, f16, per subgroup m × BC
var<workgroup> sS: array<f32, 2560>;        // S (then O on its way out), f32, per subgroup m × BC
var<workgroup> rowA: array<f32, 128>;             // per row: the rescale factor, at the end 1 / l
// By tile parity (the next tile's are cleared while this one runs, after their last reads):
// .x some row of the workgroup moved its max, .y some V of the tile is inf or NaN.
var<workgroup> flags: array<vec4<u32>, 2>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_id) sg: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let wgLinear = wg.x + nwg.x * (wg.y + nwg.y * wg.z);
  let rank = wgLinear / (nwg.y * nwg.z);
  let g = select(wg, vec3<u32>(nwg.x - 1u - rank, wgLinear % nwg.y, (wgLinear / nwg.y) % nwg.z), true);
  let h = g.y;
  let b = g.z;
  let hk = h / params.groupSize;
  let q0 = g.x * 128u;
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
  let qa0 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&q, qBase + 0u, qStride);
  let qa1 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&q, qBase + 16u, qStride);
  let qa2 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&q, qBase + 32u, qStride);
  let qa3 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&q, qBase + 48u, qStride);
  let qa4 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&q, qBase + 64u, qStride);
  let qa5 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&q, qBase + 80u, qStride);
  let qa6 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&q, qBase + 96u, qStride);
  let qa7 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&q, qBase + 112u, qStride);
  var o0 = subgroup_matrix_result<f32, 16, 16>();
  var o1 = subgroup_matrix_result<f32, 16, 16>();
  var o2 = subgroup_matrix_result<f32, 16, 16>();
  var o3 = subgroup_matrix_result<f32, 16, 16>();
  var o4 = subgroup_matrix_result<f32, 16, 16>();
  var o5 = subgroup_matrix_result<f32, 16, 16>();
  var o6 = subgroup_matrix_result<f32, 16, 16>();
  var o7 = subgroup_matrix_result<f32, 16, 16>();
  var m = MASKED; var l = 0.0;
  let kRow = b * params.ksb + hk * params.ksh - params.kOff;
  let vRow = b * params.vsb + hk * params.vsh - params.vOff;
  let kTiles = (params.seqK + 15u) / 16u;
  // Tiles with a key some row of the workgroup sees (key j ≤ row + causalOffset).
  let lastKey = i32(min(q0 + 127u, params.seqQ - 1u)) + params.causalOffset;
  let nT = select(0u, min(kTiles, u32(lastKey) / 16u + 1u), lastKey >= 0);
  // Each invocation's share of a K/V tile: vec4 slot i is element li + i·T of the tile's BC × D/4.
  var kx: array<vec2<u32>, 2>;
  var vx: array<vec2<u32>, 2>;
  for (var t = 0u; t < nT; t++) {
    let k0 = t * 16u;
    workgroupBarrier(); // every subgroup's P·V of the last tile is done before its K/V is overwritten
    if (li == 0u) { flags[(t + 1u) % 2u] = vec4<u32>(); } // the next tile's: last read in the last tile
    // Fetch and stage this tile's K and V as f16.
    {
      let e = li + 0u; let j = e / 32u; let c4 = e % 32u;
      let key = k0 + j;
      let ok = key < params.seqK;
      let row = select(params.seqK - 1u, key, ok); // a row inside the tensor, its value dropped when past the end
      kx[0] = select(vec2<u32>(), k[kRow + row * params.ksn + c4], ok);
      vx[0] = select(vec2<u32>(), v[vRow + row * params.vsn + c4], ok);
    }
    {
      let e = li + 256u; let j = e / 32u; let c4 = e % 32u;
      let key = k0 + j;
      let ok = key < params.seqK;
      let row = select(params.seqK - 1u, key, ok); // a row inside the tensor, its value dropped when past the end
      kx[1] = select(vec2<u32>(), k[kRow + row * params.ksn + c4], ok);
      vx[1] = select(vec2<u32>(), v[vRow + row * params.vsn + c4], ok);
    }
    {
      let e = li + 0u; let j = e / 32u; let c4 = e % 32u;
      let vw = finiteHalves(vx[0]);
      if (any(vw != vx[0])) { flags[t % 2u].y = 1u; }
      let kh = vec4<f16>(bitcast<vec2<f16>>(kx[0].x), bitcast<vec2<f16>>(kx[0].y)); let vh = vec4<f16>(bitcast<vec2<f16>>(vw.x), bitcast<vec2<f16>>(vw.y));
      let w = j * 136u + c4 * 4u;
      kS[w] = kh.x; kS[w + 1u] = kh.y; kS[w + 2u] = kh.z; kS[w + 3u] = kh.w;
      vS[w] = vh.x; vS[w + 1u] = vh.y; vS[w + 2u] = vh.z; vS[w + 3u] = vh.w;
    }
    {
      let e = li + 256u; let j = e / 32u; let c4 = e % 32u;
      let vw = finiteHalves(vx[1]);
      if (any(vw != vx[1])) { flags[t % 2u].y = 1u; }
      let kh = vec4<f16>(bitcast<vec2<f16>>(kx[1].x), bitcast<vec2<f16>>(kx[1].y)); let vh = vec4<f16>(bitcast<vec2<f16>>(vw.x), bitcast<vec2<f16>>(vw.y));
      let w = j * 136u + c4 * 4u;
      kS[w] = kh.x; kS[w + 1u] = kh.y; kS[w + 2u] = kh.z; kS[w + 3u] = kh.w;
      vS[w] = vh.x; vS[w + 1u] = vh.y; vS[w + 2u] = vh.z; vS[w + 3u] = vh.w;
    }
    workgroupBarrier();
    {
      var s = subgroup_matrix_result<f32, 16, 16>();
      s = subgroupMatrixMultiplyAccumulate(qa0, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&kS, 0u, 136u), s);
      s = subgroupMatrixMultiplyAccumulate(qa1, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&kS, 16u, 136u), s);
      s = subgroupMatrixMultiplyAccumulate(qa2, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&kS, 32u, 136u), s);
      s = subgroupMatrixMultiplyAccumulate(qa3, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&kS, 48u, 136u), s);
      s = subgroupMatrixMultiplyAccumulate(qa4, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&kS, 64u, 136u), s);
      s = subgroupMatrixMultiplyAccumulate(qa5, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&kS, 80u, 136u), s);
      s = subgroupMatrixMultiplyAccumulate(qa6, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&kS, 96u, 136u), s);
      s = subgroupMatrixMultiplyAccumulate(qa7, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&kS, 112u, 136u), s);
      subgroupMatrixStore<row_major>(&sS, sOff + 0u, s, 20u);
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
    mt = max(mt, subgroupShuffleXor(mt, 16u));
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
      let ph = f16(exp2(x - m));
      pS[pOff + r * 24u + c] = ph;
      l = l + f32(ph);
    }
    } else {
      for (var i = 0u; i < 8u; i++) {
      let c = part + i * 2u;
      let x = sS[sOff + r * 20u + c] * params.qkScale;
      let ph = f16(select(0.0, exp2(x - m), k0 + c < params.seqK && i32(k0 + c) <= i32(qi) + params.causalOffset));
      pS[pOff + r * 24u + c] = ph;
      l = l + f32(ph);
    }
    }
    let tileFlags = workgroupUniformLoad(&flags[t % 2u]); // a barrier: P, rowA and the flags are visible
    if (tileFlags.x != 0u) {
      subgroupMatrixStore<row_major>(&sS, sOff + 0u, o0, 20u);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      sS[sOff + rr * 20u + cc] *= rowA[sg * 16u + rr];
    }
    workgroupBarrier();
    o0 = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&sS, sOff + 0u, 20u);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o1, 20u);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      sS[sOff + rr * 20u + cc] *= rowA[sg * 16u + rr];
    }
    workgroupBarrier();
    o1 = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&sS, sOff + 0u, 20u);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o2, 20u);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      sS[sOff + rr * 20u + cc] *= rowA[sg * 16u + rr];
    }
    workgroupBarrier();
    o2 = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&sS, sOff + 0u, 20u);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o3, 20u);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      sS[sOff + rr * 20u + cc] *= rowA[sg * 16u + rr];
    }
    workgroupBarrier();
    o3 = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&sS, sOff + 0u, 20u);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o4, 20u);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      sS[sOff + rr * 20u + cc] *= rowA[sg * 16u + rr];
    }
    workgroupBarrier();
    o4 = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&sS, sOff + 0u, 20u);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o5, 20u);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      sS[sOff + rr * 20u + cc] *= rowA[sg * 16u + rr];
    }
    workgroupBarrier();
    o5 = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&sS, sOff + 0u, 20u);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o6, 20u);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      sS[sOff + rr * 20u + cc] *= rowA[sg * 16u + rr];
    }
    workgroupBarrier();
    o6 = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&sS, sOff + 0u, 20u);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o7, 20u);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      sS[sOff + rr * 20u + cc] *= rowA[sg * 16u + rr];
    }
    workgroupBarrier();
    o7 = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&sS, sOff + 0u, 20u);
    }
    {
      let pl = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pS, pOff + 0u, 24u);
      o0 = subgroupMatrixMultiplyAccumulate(pl, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&vS, 0u, 136u), o0);
      o1 = subgroupMatrixMultiplyAccumulate(pl, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&vS, 16u, 136u), o1);
      o2 = subgroupMatrixMultiplyAccumulate(pl, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&vS, 32u, 136u), o2);
      o3 = subgroupMatrixMultiplyAccumulate(pl, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&vS, 48u, 136u), o3);
      o4 = subgroupMatrixMultiplyAccumulate(pl, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&vS, 64u, 136u), o4);
      o5 = subgroupMatrixMultiplyAccumulate(pl, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&vS, 80u, 136u), o5);
      o6 = subgroupMatrixMultiplyAccumulate(pl, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&vS, 96u, 136u), o6);
      o7 = subgroupMatrixMultiplyAccumulate(pl, subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&vS, 112u, 136u), o7);
    }
    // An inf or NaN in V went to the matrix units as 0 (a masked key's 0 · inf would be NaN in every
    // row): here the rows whose P for that key is not 0 get it, in f32 through the scratch.
    if (tileFlags.y != 0u) {
      subgroupMatrixStore<row_major>(&sS, sOff + 0u, o0, 20u);
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
    o0 = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&sS, sOff + 0u, 20u);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o1, 20u);
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
    o1 = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&sS, sOff + 0u, 20u);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o2, 20u);
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
    o2 = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&sS, sOff + 0u, 20u);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o3, 20u);
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
    o3 = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&sS, sOff + 0u, 20u);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o4, 20u);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      var extra = 0.0;
      for (var j = 0u; j < 16u; j++) {
        let p = f32(pS[pOff + rr * 24u + j]);
        let key = k0 + j;
        if (p != 0.0 && key < params.seqK) {
          let x = unpackHalf4(v[vRow + key * params.vsn + (64u + cc) / 4u])[(64u + cc) % 4u];
          if ((bitcast<u32>(x) & 0x7fffffffu) >= 0x7f800000u) { extra += p * x; }
        }
      }
      sS[sOff + rr * 20u + cc] += extra;
    }
    workgroupBarrier();
    o4 = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&sS, sOff + 0u, 20u);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o5, 20u);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      var extra = 0.0;
      for (var j = 0u; j < 16u; j++) {
        let p = f32(pS[pOff + rr * 24u + j]);
        let key = k0 + j;
        if (p != 0.0 && key < params.seqK) {
          let x = unpackHalf4(v[vRow + key * params.vsn + (80u + cc) / 4u])[(80u + cc) % 4u];
          if ((bitcast<u32>(x) & 0x7fffffffu) >= 0x7f800000u) { extra += p * x; }
        }
      }
      sS[sOff + rr * 20u + cc] += extra;
    }
    workgroupBarrier();
    o5 = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&sS, sOff + 0u, 20u);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o6, 20u);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      var extra = 0.0;
      for (var j = 0u; j < 16u; j++) {
        let p = f32(pS[pOff + rr * 24u + j]);
        let key = k0 + j;
        if (p != 0.0 && key < params.seqK) {
          let x = unpackHalf4(v[vRow + key * params.vsn + (96u + cc) / 4u])[(96u + cc) % 4u];
          if ((bitcast<u32>(x) & 0x7fffffffu) >= 0x7f800000u) { extra += p * x; }
        }
      }
      sS[sOff + rr * 20u + cc] += extra;
    }
    workgroupBarrier();
    o6 = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&sS, sOff + 0u, 20u);
    workgroupBarrier(); // the reloads above read what the stores below overwrite
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o7, 20u);
    workgroupBarrier();
    for (var e = lane; e < 256u; e += 32u) {
      let rr = e / 16u; let cc = e % 16u;
      var extra = 0.0;
      for (var j = 0u; j < 16u; j++) {
        let p = f32(pS[pOff + rr * 24u + j]);
        let key = k0 + j;
        if (p != 0.0 && key < params.seqK) {
          let x = unpackHalf4(v[vRow + key * params.vsn + (112u + cc) / 4u])[(112u + cc) % 4u];
          if ((bitcast<u32>(x) & 0x7fffffffu) >= 0x7f800000u) { extra += p * x; }
        }
      }
      sS[sOff + rr * 20u + cc] += extra;
    }
    workgroupBarrier();
    o7 = subgroupMatrixLoad<subgroup_matrix_result<f32, 16, 16>, row_major>(&sS, sOff + 0u, 20u);
    }
  }
  l = l + subgroupShuffleXor(l, 16u);
  // A row with a NaN score keeps its NaN (l is NaN), like the reference; a row that saw no key writes 0 and LSE −inf.
  if (part == 0u) {
    rowA[sg * 16u + r] = select(0.0, 1.0 / l, l > 0.0 || isNan(l));
    // Every row is a real one (row0 was moved back to end at the last row).
    lse[(b * params.headsQ + h) * params.seqQ + qi - params.lseOff] = select(select(params.negInf, lseOf(m, l), l > 0.0), params.nan, isNan(l));
  }
  workgroupBarrier();
  let oRow = b * params.qsb + h * params.qsh - params.qOff;
  subgroupMatrixStore<row_major>(&sS, sOff + 0u, o0, 20u);
    workgroupBarrier();
    for (var e = lane; e < 64u; e += 32u) {
      let rr = e / 4u; let c4 = e % 4u; let at = sOff + rr * 20u + c4 * 4u;
      o[oRow + (row0 + rr) * params.qsn + 0u + c4] = packHalf4(vec4<f32>(sS[at], sS[at + 1u], sS[at + 2u], sS[at + 3u]) * rowA[sg * 16u + rr]);
    }
    workgroupBarrier();
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o1, 20u);
    workgroupBarrier();
    for (var e = lane; e < 64u; e += 32u) {
      let rr = e / 4u; let c4 = e % 4u; let at = sOff + rr * 20u + c4 * 4u;
      o[oRow + (row0 + rr) * params.qsn + 4u + c4] = packHalf4(vec4<f32>(sS[at], sS[at + 1u], sS[at + 2u], sS[at + 3u]) * rowA[sg * 16u + rr]);
    }
    workgroupBarrier();
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o2, 20u);
    workgroupBarrier();
    for (var e = lane; e < 64u; e += 32u) {
      let rr = e / 4u; let c4 = e % 4u; let at = sOff + rr * 20u + c4 * 4u;
      o[oRow + (row0 + rr) * params.qsn + 8u + c4] = packHalf4(vec4<f32>(sS[at], sS[at + 1u], sS[at + 2u], sS[at + 3u]) * rowA[sg * 16u + rr]);
    }
    workgroupBarrier();
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o3, 20u);
    workgroupBarrier();
    for (var e = lane; e < 64u; e += 32u) {
      let rr = e / 4u; let c4 = e % 4u; let at = sOff + rr * 20u + c4 * 4u;
      o[oRow + (row0 + rr) * params.qsn + 12u + c4] = packHalf4(vec4<f32>(sS[at], sS[at + 1u], sS[at + 2u], sS[at + 3u]) * rowA[sg * 16u + rr]);
    }
    workgroupBarrier();
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o4, 20u);
    workgroupBarrier();
    for (var e = lane; e < 64u; e += 32u) {
      let rr = e / 4u; let c4 = e % 4u; let at = sOff + rr * 20u + c4 * 4u;
      o[oRow + (row0 + rr) * params.qsn + 16u + c4] = packHalf4(vec4<f32>(sS[at], sS[at + 1u], sS[at + 2u], sS[at + 3u]) * rowA[sg * 16u + rr]);
    }
    workgroupBarrier();
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o5, 20u);
    workgroupBarrier();
    for (var e = lane; e < 64u; e += 32u) {
      let rr = e / 4u; let c4 = e % 4u; let at = sOff + rr * 20u + c4 * 4u;
      o[oRow + (row0 + rr) * params.qsn + 20u + c4] = packHalf4(vec4<f32>(sS[at], sS[at + 1u], sS[at + 2u], sS[at + 3u]) * rowA[sg * 16u + rr]);
    }
    workgroupBarrier();
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o6, 20u);
    workgroupBarrier();
    for (var e = lane; e < 64u; e += 32u) {
      let rr = e / 4u; let c4 = e % 4u; let at = sOff + rr * 20u + c4 * 4u;
      o[oRow + (row0 + rr) * params.qsn + 24u + c4] = packHalf4(vec4<f32>(sS[at], sS[at + 1u], sS[at + 2u], sS[at + 3u]) * rowA[sg * 16u + rr]);
    }
    workgroupBarrier();
    subgroupMatrixStore<row_major>(&sS, sOff + 0u, o7, 20u);
    workgroupBarrier();
    for (var e = lane; e < 64u; e += 32u) {
      let rr = e / 4u; let c4 = e % 4u; let at = sOff + rr * 20u + c4 * 4u;
      o[oRow + (row0 + rr) * params.qsn + 28u + c4] = packHalf4(vec4<f32>(sS[at], sS[at + 1u], sS[at + 2u], sS[at + 3u]) * rowA[sg * 16u + rr]);
    }
}
