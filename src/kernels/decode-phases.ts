/*
 * The decode kernel's phases as WGSL text (decode.ts puts them in its main): the K loads
 * and scores by groups of lanes, the V loads, P = exp2(S − max), P·V by column, and the
 * range's part for the combine. Each phase issues all of its loads before it uses any
 * (one round per range: the loads in flight are what the kernel is for), and every
 * register array is indexed by constants (the loops over keys are unrolled here), so a
 * shader compiler can keep them in registers.
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
  /** The type of a vector of a key's scores (`width` rows: f32, vec2 or vec4 of f32). */
  readonly sv: string;
  /** Row `r`'s component of the score vector `x` holding it. */
  row(x: string, r: number): string;
  /** A score vector of `f(0)` … `f(width − 1)` (vector `v`'s rows; padding rows get `pad`). */
  rowsOf(v: number, f: (r: number) => string, pad: string): string;
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
    sv: sizes.width === 1 ? 'f32' : `vec${sizes.width}<f32>`,
    row: (x, r) => (sizes.width === 1 ? x : `${x}.${'xyzw'[r % sizes.width]}`),
    rowsOf: (v, f, pad) => {
      const parts = Array.from({ length: sizes.width }, (_, i) => v * sizes.width + i).map((r) => (r < sizes.rows ? f(r) : pad));
      return sizes.width === 1 ? parts[0]! : `vec${sizes.width}<f32>(${parts.join(', ')})`;
    },
  };
}

/** Q rows (every head of the GQA group) to workgroup memory `qs`, scaled into the log2 frame; invocations t, t + `step`, … */
export function queryRows(g: DecodeGen, step: string): string {
  const { cfg, io } = g;
  return /* wgsl */ `  for (var e = t; e < R * D4; e += ${step}) {
    let r = e / D4;
    let hr = hk * ${cfg.pack}u + r / ${cfg.seqQ}u;
    qs[e] = ${io.load(`q[b * params.qsb + hr * params.qsh + (r % ${cfg.seqQ}u) * params.qsn + e % D4 - params.qOff]`)} * params.qkScale;
  }`;
}

/** `x` summed over `lanes` neighbouring lanes, one XOR shuffle per step (every lane ends with the total). */
function laneSum(x: string, lanes: number): string {
  return Array.from({ length: Math.log2(lanes) }, (_, i) => ` ${x} += subgroupShuffleXor(${x}, ${1 << i}u);`).join('');
}

/** K loads: lane group g takes keys g, g + G, …; each lane its columns of the row, straight to registers. */
export function keyLoads(g: DecodeGen): string {
  const { cfg, io, each } = g;
  const { units } = g.sizes;
  return /* wgsl */ `  let lane = t % L;
  let g = t / L;
  var kr: array<${io.reg}, ${cfg.keysAhead * units}>;
${each(
  cfg.keysAhead,
  (u) => `  if (g + ${u}u * G < n) {
    let kb = ${g.rowBase('k', `lo + g + ${u}u * G`)};
${each(units, (c) => `    ${g.guardColumn(c)}{ kr[${u * units + c}] = k[kb + ${g.column(c)}]; }`)}
  }`,
)}`;
}

/** Dot sums a lane of the S phase keeps at once (keys together × rows): a bound on its registers. */
const SCORE_SUMS = 16;

/** Keys whose dots the S phase takes together: the most, dividing KA, whose sums fit SCORE_SUMS. */
export function keysTogether(keysAhead: number, rows: number): number {
  let kb = Math.max(1, Math.min(keysAhead, Math.floor(SCORE_SUMS / rows)));
  while (keysAhead % kb !== 0) kb--;
  return kb;
}

/**
 * Scores: each lane dots its columns with Q (in workgroup memory, already in the log2
 * frame), KB keys together so that each Q vector it reads serves KB keys (units outer,
 * keys inner), and the L lanes sum by shuffles, every lane the same trip (keys past the
 * range hold zeros), so the shuffles see all their partners. Scores to `sc` (a key's rows
 * in vectors, padding rows MASKED); each row's max to the workgroup atomic, after a
 * subgroup max where the kernel has subgroups.
 */
export function scores(g: DecodeGen): string {
  const { cfg, each } = g;
  const { rows } = g.sizes;
  const sub = cfg.lanes > 1;
  const kb = keysTogether(cfg.keysAhead, rows);
  return /* wgsl */ `  var mx: array<f32, ${rows}>;
${each(rows, (r) => `  mx[${r}] = MASKED;`)}
${each(cfg.keysAhead / kb, (block) => scoreBlock(g, block * kb, kb))}
${sub ? each(rows, (r) => `  mx[${r}] = subgroupMax(mx[${r}]);`) : ''}
  if (${sub ? 'sgLane' : 'lane'} == 0u && n > 0u) {
${each(rows, (r) => `    atomicMax(&rowMax[${r}], orderedBits(mx[${r}]));`)}
  }`;
}

/** The S phase for keys u0 … u0 + kb − 1 of a lane group: dot sums d[key · R + row], then each key's scores. */
function scoreBlock(g: DecodeGen, u0: number, kb: number): string {
  const { cfg, io, each } = g;
  const { rows, d4, units, vecs } = g.sizes;
  const unit = (c: number) => `    ${g.guardColumn(c)}{
${each(kb, (k) => `      let kv${k} = ${io.load(`kr[${(u0 + k) * units + c}]`)};`)}
${each(rows, (r) => `      { let qv = qs[${r * d4}u + ${g.column(c)}];${each(kb, (k) => ` d[${k * rows + r}] += dot(qv, kv${k});`, '')} }`)}
    }`;
  const key = (k: number) => `    {
${each(rows, (r) => `      var s${r} = d[${k * rows + r}];${laneSum(`s${r}`, cfg.lanes)}`)}
      let j = g + ${u0 + k}u * G;
      if (j < n) {
${each(rows, (r) => {
  const masked = cfg.causal && r % cfg.seqQ < cfg.seqQ - 1;
  const s = masked ? `select(s${r}, MASKED, i32(lo + j) > ${g.causalRow(r)})` : `s${r}`;
  return `        let m${r} = ${s};\n        mx[${r}] = max(mx[${r}], m${r});`;
})}
        if (lane == 0u) {
${each(vecs, (v) => `          sc[j * NV + ${v}u] = ${g.rowsOf(v, (r) => `m${r}`, 'MASKED')};`)}
        }
      }
    }`;
  return `  {
    var d: array<f32, ${kb * rows}>;
${each(units, unit)}
${each(kb, key)}
  }`;
}

/** V loads for the P·V phase (invocation (kg, c): keys kg, kg + KG, …, vec4 column c), issued before P is known. */
export function valueLoads(g: DecodeGen): string {
  const { io, each } = g;
  const { perGroup } = g.sizes;
  return /* wgsl */ `  let kg = t / D4;
  let c = t % D4;
  var vr: array<${io.reg}, ${perGroup}>;
  if (kg < KG) {
${each(perGroup, (i) => `    if (kg + ${i * g.sizes.keyGroups}u < n) { vr[${i}] = v[${g.rowBase('v', `lo + kg + ${i * g.sizes.keyGroups}u`)} + c]; }`)}
  }`;
}

/**
 * P = exp2(S − row max) in place, a key's score vectors at once, after the row maxima
 * are known; masked keys (and padding rows) 0, a NaN score stays NaN.
 */
export function probabilities(g: DecodeGen): string {
  const { each, sv } = g;
  const { vecs } = g.sizes;
  const splat = (x: string) => (sv === 'f32' ? x : `${sv}(${x})`);
  return /* wgsl */ `${each(vecs, (v) => `  let rowM${v} = ${g.rowsOf(v, (r) => `orderedFloat(atomicLoad(&rowMax[${r}]))`, '0.0')};`)}
  for (var j = t; j < n; j += T) {
${each(vecs, (v) => `    { let s = sc[j * NV + ${v}u]; sc[j * NV + ${v}u] = select(select(${splat('0.0')}, exp2(s - rowM${v}), s > ${splat('MASKED')}), ${splat('params.nan')}, isNanV(s)); }`)}
  }`;
}

/**
 * One key's P·V for every row of an invocation's column (`vv` its V, `j` its index):
 * `update(r, p)` adds row r's share, and the row sums take the key's P vectors when `sums`.
 */
function keyRows(g: DecodeGen, indent: string, update: (r: number, p: string) => string, sums: boolean): string {
  const { rows, vecs, width } = g.sizes;
  return g.each(
    vecs,
    (v) => `${indent}{
${indent}  let p = sc[j * NV + ${v}u];
${g.each(Math.min(width, rows - v * width), (k) => `${indent}  ${update(v * width + k, g.row('p', k))}`)}${sums ? `\n${indent}  l[${v}] += p;` : ''}
${indent}}`,
  );
}

/**
 * P·V: each invocation sums its keys' P·V for its column, and its rows' P sums. A key
 * whose P is 0 (masked, or underflowed) must add nothing even when its V is inf or NaN,
 * where a plain fma would add 0 · inf = NaN; but a finite V times 0 adds exactly 0, so
 * the keys go by plain fma, and only an invocation that met a non-finite V sums its
 * column again, key by key with the zero-P guard (V read again from device memory, so
 * the registers of the first pass are not indexed at run time). It knows by row 0 alone:
 * an inf or NaN V makes acc[0] inf or NaN whatever row 0's P (0 · inf and NaN · x are
 * NaN, p · inf is inf), and nothing added later makes it finite again. Row 0 non-finite
 * for its own reasons (a NaN score, an overflow) takes the second pass too, which is
 * then the same sum.
 */
export function values(g: DecodeGen): string {
  const { io, each, sv } = g;
  const { rows, perGroup, keyGroups, vecs, width } = g.sizes;
  const guarded = (r: number, p: string) => `acc[${r}] += select(vec4<f32>(0.0), ${p} * vv, ${p} != 0.0);`;
  return /* wgsl */ `  var acc: array<vec4<f32>, ${rows}>;
  var l: array<${sv}, ${vecs}>;
  if (kg < KG) {
${each(
  perGroup,
  (i) => `    if (kg + ${i * keyGroups}u < n) {
      let vv = ${io.load(`vr[${i}]`)};
      let j = kg + ${i * keyGroups}u;
${keyRows(g, '      ', (r, p) => `acc[${r}] = fma(vec4<f32>(${p}), vv, acc[${r}]);`, true)}
    }`,
)}
    if (!finite4(acc[0])) {
      acc = array<vec4<f32>, ${rows}>();
      for (var i = 0u; i < ${perGroup}u; i++) {
        let j = kg + i * KG;
        if (j < n) {
          let vv = ${io.load(`v[${g.rowBase('v', 'lo + j')} + c]`)};
${keyRows(g, '          ', guarded, false)}
        }
      }
    }
    if (c == 0u) {
${each(rows, (r) => `      sums[kg * R + ${r}u] = ${g.row(`l[${Math.floor(r / width)}]`, r)};`)}
    }
  }`;
}

/**
 * The range's part, `roundRows` rows at a time: the key groups' sums meet in workgroup
 * memory, and invocation (row, column) adds them up and writes the normalised O and, at
 * column 0, the row's (max, sum), where the combine reads them.
 */
export function writePart(g: DecodeGen): string {
  const { cfg, each } = g;
  const { rows } = g.sizes;
  const rr = cfg.roundRows;
  return each(
    rows / rr,
    (round) => `  // Rows ${round * rr}…${round * rr + rr - 1}.
  if (kg < KG) {
${each(rr, (i) => `    meet[(kg * ${rr}u + ${i}u) * D4 + c] = acc[${round * rr + i}];`)}
  }
  workgroupBarrier();
  if (t < ${rr}u * D4) {
    let r = ${round * rr}u + t / D4;
    let col = t % D4;
    var sum = vec4<f32>(0.0);
    var total = 0.0;
    for (var gi = 0u; gi < KG; gi++) {
      sum += meet[(gi * ${rr}u + t / D4) * D4 + col];
      total += sums[gi * R + r];
    }
    let hr = hk * ${cfg.pack}u + r / ${cfg.seqQ}u;
    let i = r % ${cfg.seqQ}u;
    let inv = select(0.0, 1.0 / total, total > 0.0 || isNan(total));
    o[part * params.oPart + b * params.qsb + hr * params.qsh + i * params.qsn + col - params.qOff] = sum * inv;
    if (col == 0u) {
      let at = part * params.statPart + 2u * ((b * params.headsQ + hr) * params.seqQ + i);
      lse[at] = orderedFloat(atomicLoad(&rowMax[r]));
      lse[at + 1u] = total;
    }
  }${round < rows / rr - 1 ? '\n  workgroupBarrier(); // before the next round reuses `meet`' : ''}`,
  );
}
