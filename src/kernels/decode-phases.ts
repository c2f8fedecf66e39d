/*
 * The decode kernel's three phases as WGSL text (decode.ts puts them in its main):
 * scores by groups of lanes, P·V by column, and the range's part for the combine.
 * Every register array is indexed by constants (the loops over keys ahead are unrolled
 * here), so a shader compiler can keep them in registers.
 */
import type { DecodeConfig } from './decode-config.js';
import { decodeSizes } from './decode-config.js';
import { positionNames, rowType, type RowType } from './wgsl-common.js';

/** What the phases share: the config, its sizes and the text helpers. */
export interface DecodeGen {
  readonly cfg: DecodeConfig;
  readonly sizes: ReturnType<typeof decodeSizes>;
  readonly io: RowType;
  /** f(0) … f(n − 1), joined. */
  each(n: number, f: (i: number) => string, sep?: string): string;
  /** Where key row `n` of K or V starts (vec4 units; a paged row reads its page once). */
  rowBase(which: 'k' | 'v', n: string): string;
  /** The S phase's u-th vec4 column of a lane, and its guard where D/4 is not a multiple of the lanes. */
  column(u: number): string;
  guardColumn(u: number): string;
  /** Row r's causal limit: the last key index it sees. */
  causalRow(r: number): string;
}

/** The config's sizes and the text helpers its phases share. */
export function decodeGen(cfg: DecodeConfig): DecodeGen {
  const sizes = decodeSizes(cfg);
  const paged = cfg.pageSize !== undefined;
  const pos = positionNames(cfg.positionsAt);
  const column = (u: number) => `lane + ${cfg.lanes * u}u`;
  return {
    cfg,
    sizes,
    io: rowType(cfg.half),
    each: (n, f, sep = '\n') => Array.from({ length: n }, (_, i) => f(i)).join(sep),
    rowBase: (which, n) =>
      paged
        ? `pagedRow(pageRow, ${n}, params.${which}sb, params.${which}sn) + hk * params.${which}sh - params.${which}Off`
        : `b * params.${which}sb + hk * params.${which}sh + (${n}) * params.${which}sn - params.${which}Off`,
    column,
    guardColumn: (u) => ((u + 1) * cfg.lanes <= sizes.d4 ? '' : `if (${column(u)} < D4) `),
    causalRow: (r) => `i32(${r % cfg.seqQ}u) + ${pos.causal}`,
  };
}

/** `x` summed over `lanes` neighbouring lanes, one XOR shuffle per step (every lane ends with the total). */
function laneSum(x: string, lanes: number): string {
  return Array.from({ length: Math.log2(lanes) }, (_, i) => ` ${x} += subgroupShuffleXor(${x}, ${1 << i}u);`).join('');
}

/**
 * S phase: lanes [g·L, g·L + L) share each of their keys, AHEAD keys loaded before any
 * is used; every lane runs the same trip count, so the shuffles see all their partners.
 * Scores to `sc`, each row's max to the workgroup atomic; then P = exp2(S − max) in place.
 */
export function scoresPhase(g: DecodeGen): string {
  const { cfg, io, each } = g;
  const { rows, d4, units, ahead } = g.sizes;
  const key = (u: number) => `k0 + g + ${u}u * G`;
  return /* wgsl */ `  let lane = t % L;
  let g = t / L;
  var mx: array<f32, ${rows}>;
${each(rows, (r) => `  mx[${r}] = MASKED;`)}
  for (var k0 = 0u; k0 < n; k0 += G * AHEAD) {
    var kr: array<${io.reg}, ${ahead * units}>;
${each(ahead, (u) => `    if (${key(u)} < n) {\n      let kb = ${g.rowBase('k', `lo + ${key(u)}`)};\n${each(units, (c) => `      ${g.guardColumn(c)}{ kr[${u * units + c}] = k[kb + ${g.column(c)}]; }`)}\n    }`)}
${each(
  ahead,
  (u) => `    {
      var d: array<f32, ${rows}>;
${each(rows, (r) => `      d[${r}] = 0.0;`)}
${each(units, (c) => `      ${g.guardColumn(c)}{\n        let kv = ${io.load(`kr[${u * units + c}]`)};\n${each(rows, (r) => `        d[${r}] += dot(qs[${r * d4}u + ${g.column(c)}], kv);`)}\n      }`)}
${each(rows, (r) => `      var s${r} = d[${r}];${laneSum(`s${r}`, cfg.lanes)}`)}
      let j = ${key(u)};
      if (j < n) {
${each(rows, (r) => {
  const masked = cfg.causal && r % cfg.seqQ < cfg.seqQ - 1;
  const s = masked ? `select(s${r}, MASKED, i32(lo + j) > ${g.causalRow(r)})` : `s${r}`;
  return `        let m${r} = ${s};\n        mx[${r}] = max(mx[${r}], m${r});\n        if (lane == 0u) { sc[${r}u * C + j] = m${r}; }`;
})}
      }
    }`,
)}
  }
  if (lane == 0u && n > 0u) {
${each(rows, (r) => `    atomicMax(&rowMax[${r}], orderedBits(mx[${r}]));`)}
  }
  workgroupBarrier();

  // P = exp2(S − row max) in place; masked keys 0, a NaN score stays NaN.
${each(rows, (r) => `  let rowM${r} = orderedFloat(atomicLoad(&rowMax[${r}]));`)}
${each(
  rows,
  (r) => `  for (var j = t; j < n; j += T) {
    let s = sc[${r}u * C + j];
    sc[${r}u * C + j] = select(select(0.0, exp2(s - rowM${r}), s > MASKED), params.nan, isNan(s));
  }`,
)}
  workgroupBarrier();`;
}

/**
 * P·V phase: invocation (kg, c) sums P·V over keys kg, kg + KG, … for vec4 column c (one
 * coalesced V row per subgroup per key); a key whose P is 0 (masked) adds nothing even
 * when its V is inf or NaN. The key groups' sums then meet at group 0, `roundRows` rows
 * at a time.
 */
export function valuesPhase(g: DecodeGen): string {
  const { cfg, io, each } = g;
  const { rows, ahead, keyGroups } = g.sizes;
  const { roundRows } = cfg;
  const key = (u: number) => `j0 + ${u * keyGroups}u`;
  return /* wgsl */ `  let kg = t / D4;
  let c = t % D4;
  var acc: array<vec4<f32>, ${rows}>;
  var l: array<f32, ${rows}>;
  if (kg < KG) {
    for (var j0 = kg; j0 < n; j0 += KG * AHEAD) {
      var vr: array<${io.reg}, ${ahead}>;
${each(ahead, (u) => `      if (${key(u)} < n) { vr[${u}] = v[${g.rowBase('v', `lo + ${key(u)}`)} + c]; }`)}
${each(
  ahead,
  (u) => `      if (${key(u)} < n) {
        let vv = ${io.load(`vr[${u}]`)};
${each(rows, (r) => `        { let p = sc[${r}u * C + ${key(u)}]; acc[${r}] += select(vec4<f32>(0.0), p * vv, p != 0.0); l[${r}] += p; }`)}
      }`,
)}
    }
    if (c == 0u) {
${each(rows, (r) => `      sums[kg * R + ${r}u] = l[${r}];`)}
    }
  }
${each(
  rows / roundRows,
  (round) => `  // Rows ${round * roundRows}…${round * roundRows + roundRows - 1}: the key groups' sums meet at group 0.
  if (kg > 0u && kg < KG) {
${each(roundRows, (rr) => `    meet[((kg - 1u) * ${roundRows}u + ${rr}u) * D4 + c] = acc[${round * roundRows + rr}];`)}
  }
  workgroupBarrier();
  if (kg == 0u) {
    for (var gi = 1u; gi < KG; gi++) {
${each(roundRows, (rr) => `      acc[${round * roundRows + rr}] += meet[((gi - 1u) * ${roundRows}u + ${rr}u) * D4 + c];`)}
    }
  }
  workgroupBarrier();`,
)}`;
}

/** This range's part: normalised O and each row's (max, sum), where the combine reads them. */
export function writePart(g: DecodeGen): string {
  const { cfg, each } = g;
  return /* wgsl */ `  if (kg == 0u) {
${each(
  g.sizes.rows,
  (r) => `    {
      var total = 0.0;
      for (var gi = 0u; gi < KG; gi++) { total += sums[gi * R + ${r}u]; }
      let hr = hk * ${cfg.pack}u + ${Math.floor(r / cfg.seqQ)}u;
      let i = ${r % cfg.seqQ}u;
      let inv = select(0.0, 1.0 / total, total > 0.0 || isNan(total));
      o[part * params.oPart + b * params.qsb + hr * params.qsh + i * params.qsn + c - params.qOff] = acc[${r}] * inv;
      if (c == 0u) {
        let at = part * params.statPart + 2u * ((b * params.headsQ + hr) * params.seqQ + i);
        lse[at] = rowM${r};
        lse[at + 1u] = total;
      }
    }`,
)}
  }`;
}
