
struct Params {
  seqQ: u32,
  seqK: u32,
  heads: u32,
  nQ: u32,
  nK: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> states: array<u32>;
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

const BR = 32u;
const BC = 32u;
var<workgroup> anyKept: atomic<u32>;
var<workgroup> anyMasked: atomic<u32>;

// workgroup (K/V tile, Q tile, b·Hm + h)
@compute @workgroup_size(64, 1, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let b = i32(wg.z / params.heads);
  let h = i32(wg.z % params.heads);
  let q0 = wg.y * BR;
  let k0 = wg.x * BC;
  var kept = false;
  var masked = false;
  for (var e = tid; e < BR * BC; e += 64u) {
    let q = q0 + e / BC;
    let kv = k0 + e % BC;
    if (q < params.seqQ && kv < params.seqK) {
      let keep = maskMod(b, h, i32(q), i32(kv));
      kept = kept || keep;
      masked = masked || !keep;
    }
  }
  if (kept) { atomicOr(&anyKept, 1u); }
  if (masked) { atomicOr(&anyMasked, 1u); }
  workgroupBarrier();
  if (tid == 0u) {
    let k = atomicLoad(&anyKept) != 0u;
    let m = atomicLoad(&anyMasked) != 0u;
    states[(wg.z * params.nQ + wg.y) * params.nK + wg.x] = select(0u, select(1u, 2u, !m), k);
  }
}
