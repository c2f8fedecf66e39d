
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
@group(0) @binding(1) var<storage, read> q: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> k: array<u32>;
@group(0) @binding(3) var<storage, read> v: array<u32>;
@group(0) @binding(4) var<storage, read_write> o: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> lse: array<f32>;
fn unpackHalf4(x: vec2<u32>) -> vec4<f32> { return vec4<f32>(unpack2x16float(x.x), unpack2x16float(x.y)); }
fn packHalf4(v: vec4<f32>) -> vec2<u32> { return vec2<u32>(pack2x16float(v.xy), pack2x16float(v.zw)); }
fn isNan(x: f32) -> bool { return (bitcast<u32>(x) & 0x7fffffffu) > 0x7f800000u; }
fn finite4(x: vec4<f32>) -> bool { return all((bitcast<vec4<u32>>(x) & vec4<u32>(0x7fffffffu)) < vec4<u32>(0x7f800000u)); }
fn orderedBits(x: f32) -> u32 {
  let u = bitcast<u32>(x);
  return select(u | 0x80000000u, ~u, (u & 0x80000000u) != 0u);
}
fn orderedFloat(k: u32) -> f32 {
  return bitcast<f32>(select(~k, k & 0x7fffffffu, (k & 0x80000000u) != 0u));
}

// Four f16 elements of V from element i (a multiple of 4), as f32.
fn readV4(i: u32) -> vec4<f32> {
  return vec4<f32>(unpack2x16float(v[i / 2u]), unpack2x16float(v[i / 2u + 1u]));
}

const MASKED = -3.0e38;
var<workgroup> qS: array<f32, 1152>;        // Q, 16 rows (past R zero)
var<workgroup> sS: array<f32, 1280>;          // per subgroup: a tile of S, at the end its O block
var<workgroup> sc: array<f32, 256>; // scores, row-major by key slot
var<workgroup> pS: array<f32, 1152>;        // P, 16 rows (past R zero)
var<workgroup> lsums: array<f32, 64>;              // per subgroup and row: its share of the row's sum
var<workgroup> rowMax: array<atomic<u32>, 16>;
var<workgroup> mA: array<f32, 1024>;
var<workgroup> mB: array<f32, 1024>;
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
var<workgroup> xch: array<f32, 128>;
fn shx(x: f32, m: u32, li: u32) -> f32 {
  xch[li] = x; workgroupBarrier(); let y = xch[li ^ m]; workgroupBarrier(); return y;
}
fn roundHalf(x: f32) -> f32 { return unpack2x16float(pack2x16float(vec2<f32>(x, 0.0))).x; }
fn ld_qS_left_row_major(off: u32, stride: u32, lane: u32) -> array<f32, 8> {
  var m: array<f32, 8>;
  for (var i = 0u; i < 8u; i++) {
    let e = lane + i * 32u; let r = e / 16u; let c = e % 16u;
    m[i] = qS[off + r * stride + c];
  }
  return m;
}
fn ld_k_right_col_major(off: u32, stride: u32, lane: u32) -> array<f32, 8> {
  var m: array<f32, 8>;
  let inBounds = off + 15u * stride + 15u < 2u * arrayLength(&k);
  for (var i = 0u; i < 8u; i++) {
    let e = lane + i * 32u; let r = e / 16u; let c = e % 16u;
    m[i] = select(params.nan, unpack2x16float(k[(off + c * stride + r) / 2u])[(off + c * stride + r) % 2u], inBounds);
  }
  return m;
}
fn st_sS(off: u32, v: array<f32, 8>, stride: u32, lane: u32) {
  var M = v;
  for (var i = 0u; i < 8u; i++) { let e = lane + i * 32u; sS[off + (e / 16u) * stride + e % 16u] = M[i]; }
}
fn ld_v_right_row_major(off: u32, stride: u32, lane: u32) -> array<f32, 8> {
  var m: array<f32, 8>;
  let inBounds = off + 15u * stride + 15u < 2u * arrayLength(&v);
  for (var i = 0u; i < 8u; i++) {
    let e = lane + i * 32u; let r = e / 16u; let c = e % 16u;
    m[i] = select(params.nan, unpack2x16float(v[(off + r * stride + c) / 2u])[(off + r * stride + c) % 2u], inBounds);
  }
  return m;
}
fn ld_pS_left_row_major(off: u32, stride: u32, lane: u32) -> array<f32, 8> {
  var m: array<f32, 8>;
  for (var i = 0u; i < 8u; i++) {
    let e = lane + i * 32u; let r = e / 16u; let c = e % 16u;
    m[i] = pS[off + r * stride + c];
  }
  return m;
}
@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32) {
  let sg = li / 32u; let lane = li % 32u;
  let part = wg.x;
  let hk = wg.y;
  let b = wg.z + params.batchBase;

  // This range's keys [lo, hi): fewer past the sequence's end.
  let lo = part * params.rangeKeys;
  var hi = min(lo + params.rangeKeys, params.seqK);
  let kStride = params.ksn * 4u;
  let vStride = params.vsn * 4u;

  // Q's rows (every head of the group) to workgroup memory as f16, the rows past R zero, and P's too.
  for (var e = li; e < 256u; e += 128u) {
    let r = e / 16u; let c4 = e % 16u;
    var x = vec2<u32>();
    if (r < 4u) { x = q[b * params.qsb + (hk * 4u + r / 1u) * params.qsh + (r % 1u) * params.qsn + c4 - params.qOff]; }
    let h4 = unpackHalf4(x);
    let w = r * 72u + c4 * 4u;
    qS[w] = h4.x; qS[w + 1u] = h4.y; qS[w + 2u] = h4.z; qS[w + 3u] = h4.w;
  }
  for (var e = li; e < 864u; e += 128u) { pS[288u + e] = roundHalf(0.0); }
  if (li < 16u) { atomicStore(&rowMax[li], orderedBits(MASKED)); }
  workgroupBarrier();
  let qa0 = ld_qS_left_row_major(0u, 72u, lane);
  let qa1 = ld_qS_left_row_major(16u, 72u, lane);
  let qa2 = ld_qS_left_row_major(32u, 72u, lane);
  let qa3 = ld_qS_left_row_major(48u, 72u, lane);

  // S: this subgroup's tiles, every Kᵀ load issued before the first product.
  let t0 = lo + (sg + 0u) * 16u;
  let key0 = min(t0, params.seqK - 16u);
  let kb0 = (b * params.ksb + hk * params.ksh + (key0) * params.ksn - params.kOff) * 4u;
  let k0_0 = ld_k_right_col_major(kb0 + 0u, kStride, lane);
  let k0_1 = ld_k_right_col_major(kb0 + 16u, kStride, lane);
  let k0_2 = ld_k_right_col_major(kb0 + 32u, kStride, lane);
  let k0_3 = ld_k_right_col_major(kb0 + 48u, kStride, lane);
  let sOff = sg * 320u;
  var mx: array<f32, 2>;
  mx[0] = MASKED;
  mx[1] = MASKED;
  {
    var s = array<f32, 8>();
    s = mma(qa0, k0_0, s, sg, lane);
    s = mma(qa1, k0_1, s, sg, lane);
    s = mma(qa2, k0_2, s, sg, lane);
    s = mma(qa3, k0_3, s, sg, lane);
    st_sS(sOff, s, 20u, lane);
    workgroupBarrier();
    // The R real rows, scaled into the log2 frame and masked, to the key slots of tile sg + 0·SG.
    {
      let r = lane / 16u + 0u; let c = lane % 16u;
      let key = key0 + c;
      if (r < 4u) {
        let visible = key >= t0 && key < hi;
        let x = select(MASKED, sS[sOff + r * 20u + c] * params.qkScale, visible);
        sc[r * 64u + t0 - lo + c] = x;
        mx[0] = max(mx[0], x);
      }
    }
    {
      let r = lane / 16u + 2u; let c = lane % 16u;
      let key = key0 + c;
      if (r < 4u) {
        let visible = key >= t0 && key < hi;
        let x = select(MASKED, sS[sOff + r * 20u + c] * params.qkScale, visible);
        sc[r * 64u + t0 - lo + c] = x;
        mx[1] = max(mx[1], x);
      }
    }
    workgroupBarrier(); // before the next tile's store overwrites the scratch
  }
  // Each row's max: the 16 lanes that hold it, then the subgroups by a workgroup atomic.
  mx[0] = max(mx[0], shx(mx[0], 1u, li)); mx[0] = max(mx[0], shx(mx[0], 2u, li)); mx[0] = max(mx[0], shx(mx[0], 4u, li)); mx[0] = max(mx[0], shx(mx[0], 8u, li));
  if (lane % 16u == 0u && lane / 16u + 0u < 4u) { atomicMax(&rowMax[lane / 16u + 0u], orderedBits(mx[0])); }
  mx[1] = max(mx[1], shx(mx[1], 1u, li)); mx[1] = max(mx[1], shx(mx[1], 2u, li)); mx[1] = max(mx[1], shx(mx[1], 4u, li)); mx[1] = max(mx[1], shx(mx[1], 8u, li));
  if (lane % 16u == 0u && lane / 16u + 2u < 4u) { atomicMax(&rowMax[lane / 16u + 2u], orderedBits(mx[1])); }

  workgroupBarrier();

  // P = exp2(S − max) as f16 (masked keys 0, a NaN score NaN), and each row's sum of the rounded P.
  {
    let m = orderedFloat(atomicLoad(&rowMax[0]));
    var ls = 0.0;
    for (var j = li; j < 64u; j += 128u) {
      let s = sc[0u + j];
      let ph = roundHalf(select(select(0.0, exp2(s - m), s > MASKED), params.nan, isNan(s)));
      pS[0u + j] = ph;
      ls += f32(ph);
    }
    ls = ls + shx(ls, 1u, li); ls = ls + shx(ls, 2u, li); ls = ls + shx(ls, 4u, li); ls = ls + shx(ls, 8u, li); ls = ls + shx(ls, 16u, li);
    if (lane == 0u) { lsums[sg * 16u + 0u] = ls; }
  }
  {
    let m = orderedFloat(atomicLoad(&rowMax[1]));
    var ls = 0.0;
    for (var j = li; j < 64u; j += 128u) {
      let s = sc[64u + j];
      let ph = roundHalf(select(select(0.0, exp2(s - m), s > MASKED), params.nan, isNan(s)));
      pS[72u + j] = ph;
      ls += f32(ph);
    }
    ls = ls + shx(ls, 1u, li); ls = ls + shx(ls, 2u, li); ls = ls + shx(ls, 4u, li); ls = ls + shx(ls, 8u, li); ls = ls + shx(ls, 16u, li);
    if (lane == 0u) { lsums[sg * 16u + 1u] = ls; }
  }
  {
    let m = orderedFloat(atomicLoad(&rowMax[2]));
    var ls = 0.0;
    for (var j = li; j < 64u; j += 128u) {
      let s = sc[128u + j];
      let ph = roundHalf(select(select(0.0, exp2(s - m), s > MASKED), params.nan, isNan(s)));
      pS[144u + j] = ph;
      ls += f32(ph);
    }
    ls = ls + shx(ls, 1u, li); ls = ls + shx(ls, 2u, li); ls = ls + shx(ls, 4u, li); ls = ls + shx(ls, 8u, li); ls = ls + shx(ls, 16u, li);
    if (lane == 0u) { lsums[sg * 16u + 2u] = ls; }
  }
  {
    let m = orderedFloat(atomicLoad(&rowMax[3]));
    var ls = 0.0;
    for (var j = li; j < 64u; j += 128u) {
      let s = sc[192u + j];
      let ph = roundHalf(select(select(0.0, exp2(s - m), s > MASKED), params.nan, isNan(s)));
      pS[216u + j] = ph;
      ls += f32(ph);
    }
    ls = ls + shx(ls, 1u, li); ls = ls + shx(ls, 2u, li); ls = ls + shx(ls, 4u, li); ls = ls + shx(ls, 8u, li); ls = ls + shx(ls, 16u, li);
    if (lane == 0u) { lsums[sg * 16u + 3u] = ls; }
  }
  workgroupBarrier();

  // O's columns 16·sg … 16·sg + 15: P·V over the range's tiles.
  var acc = array<f32, 8>();
  let v0 = ld_v_right_row_major((b * params.vsb + hk * params.vsh + (min(lo + 0u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride, lane);
  let v1 = ld_v_right_row_major((b * params.vsb + hk * params.vsh + (min(lo + 16u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride, lane);
  let v2 = ld_v_right_row_major((b * params.vsb + hk * params.vsh + (min(lo + 32u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride, lane);
  let v3 = ld_v_right_row_major((b * params.vsb + hk * params.vsh + (min(lo + 48u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride, lane);
  acc = mma(ld_pS_left_row_major(0u, 72u, lane), v0, acc, sg, lane);
  acc = mma(ld_pS_left_row_major(16u, 72u, lane), v1, acc, sg, lane);
  acc = mma(ld_pS_left_row_major(32u, 72u, lane), v2, acc, sg, lane);
  acc = mma(ld_pS_left_row_major(48u, 72u, lane), v3, acc, sg, lane);
  st_sS(sOff, acc, 20u, lane);
  workgroupBarrier();

  // The part: lanes (row, vec4 column) write the normalised O, and subgroup 0 the row's (max, sum).
  for (var e = lane; e < 16u; e += 32u) {
    let r = e / 4u; let c4 = e % 4u;
    var total = 0.0;
    for (var s = 0u; s < 4u; s++) { total += lsums[s * 16u + r]; }
    let at = sOff + r * 20u + c4 * 4u;
    var x = vec4<f32>(sS[at], sS[at + 1u], sS[at + 2u], sS[at + 3u]);
    if (!finite4(x)) {
      // Sum again in f32, skipping keys whose P is 0 (a masked key's inf or NaN V adds nothing).
      x = vec4<f32>(0.0);
      for (var kk = 0u; kk < 4u; kk++) {
        let key0 = min(lo + kk * 16u, params.seqK - 16u);
        for (var c = 0u; c < 16u; c++) {
          let p = f32(pS[r * 72u + kk * 16u + c]);
          if (p != 0.0) { x += p * readV4((b * params.vsb + hk * params.vsh + (key0 + c) * params.vsn - params.vOff) * 4u + sg * 16u + c4 * 4u); }
        }
      }
    }
    let hr = hk * 4u + r / 1u;
    let i = r % 1u;
    let inv = select(0.0, 1.0 / total, total > 0.0 || isNan(total));
    o[part * params.oPart + b * params.qsb + hr * params.qsh + i * params.qsn + sg * 4u + c4 - params.qOff] = x * inv;
    if (sg == 0u && c4 == 0u) {
      let st = part * params.statPart + 2u * ((b * params.headsQ + hr) * params.seqQ + i);
      lse[st] = orderedFloat(atomicLoad(&rowMax[r]));
      lse[st + 1u] = total;
    }
  }
}
