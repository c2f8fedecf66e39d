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
@group(0) @binding(1) var<storage, read> q: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> k: array<f16>;
@group(0) @binding(3) var<storage, read> v: array<f16>;
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
  return vec4<f32>(f32(v[i]), f32(v[i + 1u]), f32(v[i + 2u]), f32(v[i + 3u]));
}

const MASKED = -3.0e38;
var<workgroup> qS: array<f16, 2176>;        // Q, 16 rows (past R zero)
var<workgroup> sS: array<f32, 2560>;          // per subgroup: a tile of S, at the end its O block
var<workgroup> sc: array<f32, 1024>; // scores, row-major by key slot
var<workgroup> pS: array<f16, 4224>;        // P, 16 rows (past R zero)
var<workgroup> lsums: array<f32, 128>;              // per subgroup and row: its share of the row's sum
var<workgroup> rowMax: array<atomic<u32>, 16>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) li: u32,
        @builtin(subgroup_id) sg: u32, @builtin(subgroup_invocation_id) lane: u32) {
  let part = wg.x;
  let hk = wg.y;
  let b = wg.z + params.batchBase;

  // This range's keys [lo, hi): fewer past the sequence's end.
  let lo = part * params.rangeKeys;
  var hi = min(lo + params.rangeKeys, params.seqK);
  let kStride = params.ksn * 4u;
  let vStride = params.vsn * 4u;

  // Q's rows (every head of the group) to workgroup memory as f16, the rows past R zero, and P's too.
  for (var e = li; e < 512u; e += 256u) {
    let r = e / 32u; let c4 = e % 32u;
    var x = vec2<u32>();
    if (r < 4u) { x = q[b * params.qsb + (hk * 4u + r / 1u) * params.qsh + (r % 1u) * params.qsn + c4 - params.qOff]; }
    let h4 = vec4<f16>(bitcast<vec2<f16>>(x.x), bitcast<vec2<f16>>(x.y));
    let w = r * 136u + c4 * 4u;
    qS[w] = h4.x; qS[w + 1u] = h4.y; qS[w + 2u] = h4.z; qS[w + 3u] = h4.w;
  }
  for (var e = li; e < 3168u; e += 256u) { pS[1056u + e] = f16(0.0); }
  if (li < 16u) { atomicStore(&rowMax[li], orderedBits(MASKED)); }
  workgroupBarrier();
  let qa0 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&qS, 0u, 136u);
  let qa1 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&qS, 16u, 136u);
  let qa2 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&qS, 32u, 136u);
  let qa3 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&qS, 48u, 136u);
  let qa4 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&qS, 64u, 136u);
  let qa5 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&qS, 80u, 136u);
  let qa6 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&qS, 96u, 136u);
  let qa7 = subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&qS, 112u, 136u);

  // S: this subgroup's tiles, every Kᵀ load issued before the first product.
  let t0 = lo + (sg + 0u) * 16u;
  let key0 = min(t0, params.seqK - 16u);
  let kb0 = (b * params.ksb + hk * params.ksh + (key0) * params.ksn - params.kOff) * 4u;
  let k0_0 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&k, kb0 + 0u, kStride);
  let k0_1 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&k, kb0 + 16u, kStride);
  let k0_2 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&k, kb0 + 32u, kStride);
  let k0_3 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&k, kb0 + 48u, kStride);
  let k0_4 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&k, kb0 + 64u, kStride);
  let k0_5 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&k, kb0 + 80u, kStride);
  let k0_6 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&k, kb0 + 96u, kStride);
  let k0_7 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&k, kb0 + 112u, kStride);
  let t1 = lo + (sg + 8u) * 16u;
  let key1 = min(t1, params.seqK - 16u);
  let kb1 = (b * params.ksb + hk * params.ksh + (key1) * params.ksn - params.kOff) * 4u;
  let k1_0 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&k, kb1 + 0u, kStride);
  let k1_1 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&k, kb1 + 16u, kStride);
  let k1_2 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&k, kb1 + 32u, kStride);
  let k1_3 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&k, kb1 + 48u, kStride);
  let k1_4 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&k, kb1 + 64u, kStride);
  let k1_5 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&k, kb1 + 80u, kStride);
  let k1_6 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&k, kb1 + 96u, kStride);
  let k1_7 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, col_major>(&k, kb1 + 112u, kStride);
  let sOff = sg * 320u;
  var mx: array<f32, 2>;
  mx[0] = MASKED;
  mx[1] = MASKED;
  {
    var s = subgroup_matrix_result<f32, 16, 16>();
    s = subgroupMatrixMultiplyAccumulate(qa0, k0_0, s);
    s = subgroupMatrixMultiplyAccumulate(qa1, k0_1, s);
    s = subgroupMatrixMultiplyAccumulate(qa2, k0_2, s);
    s = subgroupMatrixMultiplyAccumulate(qa3, k0_3, s);
    s = subgroupMatrixMultiplyAccumulate(qa4, k0_4, s);
    s = subgroupMatrixMultiplyAccumulate(qa5, k0_5, s);
    s = subgroupMatrixMultiplyAccumulate(qa6, k0_6, s);
    s = subgroupMatrixMultiplyAccumulate(qa7, k0_7, s);
    subgroupMatrixStore<row_major>(&sS, sOff, s, 20u);
    workgroupBarrier();
    // The R real rows, scaled into the log2 frame and masked, to the key slots of tile sg + 0·SG.
    {
      let r = lane / 16u + 0u; let c = lane % 16u;
      let key = key0 + c;
      if (r < 4u) {
        let visible = key >= t0 && key < hi;
        let x = select(MASKED, sS[sOff + r * 20u + c] * params.qkScale, visible);
        sc[r * 256u + t0 - lo + c] = x;
        mx[0] = max(mx[0], x);
      }
    }
    {
      let r = lane / 16u + 2u; let c = lane % 16u;
      let key = key0 + c;
      if (r < 4u) {
        let visible = key >= t0 && key < hi;
        let x = select(MASKED, sS[sOff + r * 20u + c] * params.qkScale, visible);
        sc[r * 256u + t0 - lo + c] = x;
        mx[1] = max(mx[1], x);
      }
    }
    workgroupBarrier(); // before the next tile's store overwrites the scratch
  }
  {
    var s = subgroup_matrix_result<f32, 16, 16>();
    s = subgroupMatrixMultiplyAccumulate(qa0, k1_0, s);
    s = subgroupMatrixMultiplyAccumulate(qa1, k1_1, s);
    s = subgroupMatrixMultiplyAccumulate(qa2, k1_2, s);
    s = subgroupMatrixMultiplyAccumulate(qa3, k1_3, s);
    s = subgroupMatrixMultiplyAccumulate(qa4, k1_4, s);
    s = subgroupMatrixMultiplyAccumulate(qa5, k1_5, s);
    s = subgroupMatrixMultiplyAccumulate(qa6, k1_6, s);
    s = subgroupMatrixMultiplyAccumulate(qa7, k1_7, s);
    subgroupMatrixStore<row_major>(&sS, sOff, s, 20u);
    workgroupBarrier();
    // The R real rows, scaled into the log2 frame and masked, to the key slots of tile sg + 1·SG.
    {
      let r = lane / 16u + 0u; let c = lane % 16u;
      let key = key1 + c;
      if (r < 4u) {
        let visible = key >= t1 && key < hi;
        let x = select(MASKED, sS[sOff + r * 20u + c] * params.qkScale, visible);
        sc[r * 256u + t1 - lo + c] = x;
        mx[0] = max(mx[0], x);
      }
    }
    {
      let r = lane / 16u + 2u; let c = lane % 16u;
      let key = key1 + c;
      if (r < 4u) {
        let visible = key >= t1 && key < hi;
        let x = select(MASKED, sS[sOff + r * 20u + c] * params.qkScale, visible);
        sc[r * 256u + t1 - lo + c] = x;
        mx[1] = max(mx[1], x);
      }
    }
    workgroupBarrier(); // before the next tile's store overwrites the scratch
  }
  // Each row's max: the 16 lanes that hold it, then the subgroups by a workgroup atomic.
  mx[0] = max(mx[0], subgroupShuffleXor(mx[0], 1u)); mx[0] = max(mx[0], subgroupShuffleXor(mx[0], 2u)); mx[0] = max(mx[0], subgroupShuffleXor(mx[0], 4u)); mx[0] = max(mx[0], subgroupShuffleXor(mx[0], 8u));
  if (lane % 16u == 0u && lane / 16u + 0u < 4u) { atomicMax(&rowMax[lane / 16u + 0u], orderedBits(mx[0])); }
  mx[1] = max(mx[1], subgroupShuffleXor(mx[1], 1u)); mx[1] = max(mx[1], subgroupShuffleXor(mx[1], 2u)); mx[1] = max(mx[1], subgroupShuffleXor(mx[1], 4u)); mx[1] = max(mx[1], subgroupShuffleXor(mx[1], 8u));
  if (lane % 16u == 0u && lane / 16u + 2u < 4u) { atomicMax(&rowMax[lane / 16u + 2u], orderedBits(mx[1])); }

  workgroupBarrier();

  // P = exp2(S − max) as f16 (masked keys 0, a NaN score NaN), and each row's sum of the rounded P.
  {
    let m = orderedFloat(atomicLoad(&rowMax[0]));
    var ls = 0.0;
    for (var j = li; j < 256u; j += 256u) {
      let s = sc[0u + j];
      let ph = f16(select(select(0.0, exp2(s - m), s > MASKED), params.nan, isNan(s)));
      pS[0u + j] = ph;
      ls += f32(ph);
    }
    ls = ls + subgroupShuffleXor(ls, 1u); ls = ls + subgroupShuffleXor(ls, 2u); ls = ls + subgroupShuffleXor(ls, 4u); ls = ls + subgroupShuffleXor(ls, 8u); ls = ls + subgroupShuffleXor(ls, 16u);
    if (lane == 0u) { lsums[sg * 16u + 0u] = ls; }
  }
  {
    let m = orderedFloat(atomicLoad(&rowMax[1]));
    var ls = 0.0;
    for (var j = li; j < 256u; j += 256u) {
      let s = sc[256u + j];
      let ph = f16(select(select(0.0, exp2(s - m), s > MASKED), params.nan, isNan(s)));
      pS[264u + j] = ph;
      ls += f32(ph);
    }
    ls = ls + subgroupShuffleXor(ls, 1u); ls = ls + subgroupShuffleXor(ls, 2u); ls = ls + subgroupShuffleXor(ls, 4u); ls = ls + subgroupShuffleXor(ls, 8u); ls = ls + subgroupShuffleXor(ls, 16u);
    if (lane == 0u) { lsums[sg * 16u + 1u] = ls; }
  }
  {
    let m = orderedFloat(atomicLoad(&rowMax[2]));
    var ls = 0.0;
    for (var j = li; j < 256u; j += 256u) {
      let s = sc[512u + j];
      let ph = f16(select(select(0.0, exp2(s - m), s > MASKED), params.nan, isNan(s)));
      pS[528u + j] = ph;
      ls += f32(ph);
    }
    ls = ls + subgroupShuffleXor(ls, 1u); ls = ls + subgroupShuffleXor(ls, 2u); ls = ls + subgroupShuffleXor(ls, 4u); ls = ls + subgroupShuffleXor(ls, 8u); ls = ls + subgroupShuffleXor(ls, 16u);
    if (lane == 0u) { lsums[sg * 16u + 2u] = ls; }
  }
  {
    let m = orderedFloat(atomicLoad(&rowMax[3]));
    var ls = 0.0;
    for (var j = li; j < 256u; j += 256u) {
      let s = sc[768u + j];
      let ph = f16(select(select(0.0, exp2(s - m), s > MASKED), params.nan, isNan(s)));
      pS[792u + j] = ph;
      ls += f32(ph);
    }
    ls = ls + subgroupShuffleXor(ls, 1u); ls = ls + subgroupShuffleXor(ls, 2u); ls = ls + subgroupShuffleXor(ls, 4u); ls = ls + subgroupShuffleXor(ls, 8u); ls = ls + subgroupShuffleXor(ls, 16u);
    if (lane == 0u) { lsums[sg * 16u + 3u] = ls; }
  }
  workgroupBarrier();

  // O's columns 16·sg … 16·sg + 15: P·V over the range's tiles.
  var acc = subgroup_matrix_result<f32, 16, 16>();
  let v0 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&v, (b * params.vsb + hk * params.vsh + (min(lo + 0u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride);
  let v1 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&v, (b * params.vsb + hk * params.vsh + (min(lo + 16u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride);
  let v2 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&v, (b * params.vsb + hk * params.vsh + (min(lo + 32u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride);
  let v3 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&v, (b * params.vsb + hk * params.vsh + (min(lo + 48u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride);
  let v4 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&v, (b * params.vsb + hk * params.vsh + (min(lo + 64u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride);
  let v5 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&v, (b * params.vsb + hk * params.vsh + (min(lo + 80u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride);
  let v6 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&v, (b * params.vsb + hk * params.vsh + (min(lo + 96u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride);
  let v7 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&v, (b * params.vsb + hk * params.vsh + (min(lo + 112u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride);
  let v8 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&v, (b * params.vsb + hk * params.vsh + (min(lo + 128u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride);
  let v9 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&v, (b * params.vsb + hk * params.vsh + (min(lo + 144u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride);
  let v10 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&v, (b * params.vsb + hk * params.vsh + (min(lo + 160u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride);
  let v11 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&v, (b * params.vsb + hk * params.vsh + (min(lo + 176u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride);
  let v12 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&v, (b * params.vsb + hk * params.vsh + (min(lo + 192u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride);
  let v13 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&v, (b * params.vsb + hk * params.vsh + (min(lo + 208u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride);
  let v14 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&v, (b * params.vsb + hk * params.vsh + (min(lo + 224u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride);
  let v15 = subgroupMatrixLoad<subgroup_matrix_right<f16, 16, 16>, row_major>(&v, (b * params.vsb + hk * params.vsh + (min(lo + 240u, params.seqK - 16u)) * params.vsn - params.vOff) * 4u + sg * 16u, vStride);
  acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pS, 0u, 264u), v0, acc);
  acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pS, 16u, 264u), v1, acc);
  acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pS, 32u, 264u), v2, acc);
  acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pS, 48u, 264u), v3, acc);
  acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pS, 64u, 264u), v4, acc);
  acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pS, 80u, 264u), v5, acc);
  acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pS, 96u, 264u), v6, acc);
  acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pS, 112u, 264u), v7, acc);
  acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pS, 128u, 264u), v8, acc);
  acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pS, 144u, 264u), v9, acc);
  acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pS, 160u, 264u), v10, acc);
  acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pS, 176u, 264u), v11, acc);
  acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pS, 192u, 264u), v12, acc);
  acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pS, 208u, 264u), v13, acc);
  acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pS, 224u, 264u), v14, acc);
  acc = subgroupMatrixMultiplyAccumulate(subgroupMatrixLoad<subgroup_matrix_left<f16, 16, 16>, row_major>(&pS, 240u, 264u), v15, acc);
  subgroupMatrixStore<row_major>(&sS, sOff, acc, 20u);
  workgroupBarrier();

  // The part: lanes (row, vec4 column) write the normalised O, and subgroup 0 the row's (max, sum).
  for (var e = lane; e < 16u; e += 32u) {
    let r = e / 4u; let c4 = e % 4u;
    var total = 0.0;
    for (var s = 0u; s < 8u; s++) { total += lsums[s * 16u + r]; }
    let at = sOff + r * 20u + c4 * 4u;
    var x = vec4<f32>(sS[at], sS[at + 1u], sS[at + 2u], sS[at + 3u]);
    if (!finite4(x)) {
      // Sum again in f32, skipping keys whose P is 0 (a masked key's inf or NaN V adds nothing).
      x = vec4<f32>(0.0);
      for (var kk = 0u; kk < 16u; kk++) {
        let key0 = min(lo + kk * 16u, params.seqK - 16u);
        for (var c = 0u; c < 16u; c++) {
          let p = f32(pS[r * 264u + kk * 16u + c]);
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
