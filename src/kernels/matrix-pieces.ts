/*
 * The tensor-core forward's generated pieces (matrix.ts puts them in its main): the Q
 * matrices and O accumulators, S = Q·Kᵀ and O += P·V as multiply-accumulates, O through
 * the S scratch (rescale, write-out), the lanes' softmax loop, and the K/V staging
 * through registers.
 */
import type { MatrixConfig } from './matrix.js';
import { matrixSizes } from './matrix.js';
import { EMULATED_SUBGROUP, type MatrixOps } from './matrix-ops.js';

/** An unsigned WGSL literal. */
export const u = (x: number | string) => `${x}u`;
/** 0 … n − 1. */
export const seq = (n: number) => [...Array(n).keys()];

/** The entry point's parameters after the workgroup id, and `sg`/`lane` (computed from the invocation index where emulated). */
export function subgroupIds(emulate: boolean | undefined): string {
  return emulate
    ? `@builtin(local_invocation_index) li: u32) {\n  let sg = li / ${u(EMULATED_SUBGROUP)}; let lane = li % ${u(EMULATED_SUBGROUP)};`
    : '@builtin(local_invocation_index) li: u32,\n        @builtin(subgroup_id) sg: u32, @builtin(subgroup_invocation_id) lane: u32) {';
}

/** A packed vec2<u32> of four f16 as the tiles' element vector (f32 values where emulated). */
export function halvesOf(emulate: boolean | undefined, x: string): string {
  return emulate ? `unpackHalf4(${x})` : `vec4<f16>(bitcast<vec2<f16>>(${x}.x), bitcast<vec2<f16>>(${x}.y))`;
}

/** The matrix products and the softmax loop's text pieces. */
export function products(cfg: MatrixConfig, ops: MatrixOps) {
  const { headDim: D, keys: BC, shape: s } = cfg;
  const { W, KSTR, PSTR, SSTR, LPR } = matrixSizes(cfg);
  const qLoads = seq(D / s.k).map((kd) => `let qa${kd} = ${ops.load('left', 'q', 'row_major', `qBase + ${u(kd * s.k)}`, 'qStride')};`);
  const oVars = seq(D / s.n).map((ob) => `var o${ob} = ${ops.zero};`);
  const score = seq(BC / s.n).flatMap((jb) => [
    '{',
    `  var s = ${ops.zero};`,
    ...seq(D / s.k).map((kd) => `  s = ${ops.mma(`qa${kd}`, ops.load('right', 'kS', 'col_major', u(jb * s.n * KSTR + kd * s.k), u(KSTR)), 's')};`),
    `  ${ops.store('sS', `sOff + ${u(jb * s.n)}`, 's', u(SSTR))};`,
    '}',
  ]);
  const pv = seq(BC / s.k).flatMap((kk) => [
    '{',
    `  let pl = ${ops.load('left', 'pS', 'row_major', `pOff + ${u(kk * s.k)}`, u(PSTR))};`,
    ...seq(D / s.n).map((ob) => `  o${ob} = ${ops.mma('pl', ops.load('right', 'vS', 'row_major', u(kk * s.k * KSTR + ob * s.n), u(KSTR)), `o${ob}`)};`),
    '}',
  ]);
  // O through the S scratch W columns at a time: store, barrier, `body` per (rr, cc), barrier (then reload).
  const perPass = W / s.n;
  const throughScratch = (each: string, count: number, body: (c0: number) => string, reload: boolean) =>
    seq(D / W)
      .flatMap((g) => [
        g > 0 && reload ? 'workgroupBarrier(); // the reloads above read what the stores below overwrite' : '',
        ...seq(perPass).map((j) => `${ops.store('sS', `sOff + ${u(j * s.n)}`, `o${g * perPass + j}`, u(SSTR))};`),
        'workgroupBarrier();',
        `for (var e = lane; e < ${u(count)}; e += ${u(cfg.subgroupSize)}) {`,
        `  ${each}`,
        `  ${body(g * W)}`,
        '}',
        reload || g < D / W - 1 ? 'workgroupBarrier();' : '',
        ...(reload ? seq(perPass).map((j) => `o${g * perPass + j} = ${ops.load('result', 'sS', 'row_major', `sOff + ${u(j * s.n)}`, u(SSTR))};`) : []),
      ])
      .filter(Boolean)
      .join('\n    ');
  // This lane's share of a row: columns part, part + LPR, …; x the scaled score.
  const colLoop = (inner: string) => `for (var i = 0u; i < ${u(BC / LPR)}; i++) {
      let c = part + i * ${u(LPR)};
      let x = sS[sOff + r * ${u(SSTR)} + c] * params.qkScale;
      ${inner}
    }`;
  const visible = `k0 + c < params.seqK${cfg.causal ? ' && i32(k0 + c) <= i32(qi) + params.causalOffset' : ''}`;
  const lanesXor = (f: (mask: number) => string) =>
    seq(Math.log2(LPR))
      .map((i) => f(s.m << i))
      .join('\n    ');
  return { qLoads, oVars, score, pv, throughScratch, colLoop, visible, lanesXor };
}

/** The K/V staging: each invocation's slots of a tile, fetched into registers and stored as f16. */
export function staging(cfg: MatrixConfig) {
  const { headDim: D, keys: BC } = cfg;
  const { KSTR, threads } = matrixSizes(cfg);
  const halves = (x: string) => halvesOf(cfg.emulate, x);
  // K/V tiles through registers: slot i of an invocation is vec4 element li + i·T of the tile
  // (the last slot clamped where T does not divide the tile: two invocations then stage the
  // same element), keys past the sequence zeros. No branch: the matrix ops follow with no
  // barrier between, and on the H200 a divergent branch right before them went wrong.
  const total = (BC * D) / 4;
  const slots = Math.ceil(total / threads);
  const prefetch = cfg.prefetch ?? false;
  const each = (n: number, f: (i: number) => string) => seq(n).map(f).join('\n');
  const slotLets = (i: number) => {
    const e = (i + 1) * threads <= total ? `li + ${u(i * threads)}` : `min(li + ${u(i * threads)}, ${u(total - 1)})`;
    return `let e = ${e}; let j = e / ${u(D / 4)}; let c4 = e % ${u(D / 4)};`;
  };
  const fetchSlot = (i: number, start: string) => `    {
      ${slotLets(i)}
      let key = ${start} + j;
      let ok = key < params.seqK;
      let row = select(params.seqK - 1u, key, ok); // a row inside the tensor, its value dropped when past the end
      kx[${i}] = select(vec2<u32>(), k[kRow + row * params.ksn + c4], ok);
      vx[${i}] = select(vec2<u32>(), v[vRow + row * params.vsn + c4], ok);
    }`;
  const stageSlot = (i: number) => `    {
      ${slotLets(i)}
      let vw = finiteHalves(vx[${i}]);
      if (any(vw != vx[${i}])) { flags[t % 2u].y = 1u; }
      let kh = ${halves(`kx[${i}]`)}; let vh = ${halves('vw')};
      let w = j * ${u(KSTR)} + c4 * 4u;
      kS[w] = kh.x; kS[w + 1u] = kh.y; kS[w + 2u] = kh.z; kS[w + 3u] = kh.w;
      vS[w] = vh.x; vS[w + 1u] = vh.y; vS[w + 2u] = vh.z; vS[w + 3u] = vh.w;
    }`;
  return { slots, prefetch, each, fetchSlot, stageSlot };
}

/** A tile's K/V staging in the loop: from the registers fetched during the last tile (prefetch), or fetched here. */
export function stageTile(cfg: MatrixConfig): string {
  const { slots, prefetch, each, fetchSlot, stageSlot } = staging(cfg);
  return prefetch
    ? `    // Stage this tile's K and V (in registers since the last tile) as f16, then fetch the next
    // tile's while this one computes.
${each(slots, (i) => stageSlot(i))}
    workgroupBarrier();
    if (t + 1u < nT) {
${each(slots, (i) => fetchSlot(i, `k0 + ${u(cfg.keys)}`))}
    }`
    : `    // Fetch and stage this tile's K and V as f16.
${each(slots, (i) => fetchSlot(i, 'k0'))}
${each(slots, (i) => stageSlot(i))}
    workgroupBarrier();`;
}

/** Row rr's terms p · v over the tile's keys for column c0 + cc where v is inf or NaN (read again from V), added to the scratch. */
export function nonFiniteTerms(cfg: MatrixConfig, c0: number): string {
  const { PSTR, SSTR } = matrixSizes(cfg);
  return `var extra = 0.0;
      for (var j = 0u; j < ${u(cfg.keys)}; j++) {
        let p = f32(pS[pOff + rr * ${u(PSTR)} + j]);
        let key = k0 + j;
        if (p != 0.0 && key < params.seqK) {
          let x = unpackHalf4(v[vRow + key * params.vsn + (${u(c0)} + cc) / 4u])[(${u(c0)} + cc) % 4u];
          if ((bitcast<u32>(x) & 0x7fffffffu) >= 0x7f800000u) { extra += p * x; }
        }
      }
      sS[sOff + rr * ${u(SSTR)} + cc] += extra;`;
}
