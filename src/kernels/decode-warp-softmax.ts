/*
 * The subgroup decode kernel's scores and softmax (decode-warp.ts has the walk around them).
 * A lane group of 4 lanes dots its two keys of the chunk (slots 0 and 1: keys g and g + 8)
 * with every row, each lane over a quarter of the row: 2 · R partial sums a lane. They are
 * summed over the 4 lanes by halving, each step trading the half a lane gives away for its
 * partner's half of what it keeps: lane4 / 2 keeps slot `mine` (one shuffle a row), then
 * lane4 % 2 keeps half the rows (one shuffle per kept row). So a lane ends with E = R / 2
 * scores (R = 1: one, its pair summed plainly), rows `rowsHi · R/2 + i` of its own key: 6
 * shuffles a chunk at R = 4 where summing every score in every lane took 16, and E exp2s
 * where it took 2 · R. P·V takes each key's P from the lane that holds it (pSource). An odd
 * R > 1 is halved as R + 1 rows (keptRows), the last one a row of zeros whose scores are
 * masked: it keeps the max MASKED and its P 0, and nothing reads its sums.
 */
import type { DecodeGen } from './decode-phases.js';
import { positionNames } from './wgsl-common.js';

/** Rows the halving runs over: R, or R + 1 for an odd R > 1 (the last a padding row). */
export function keptRows(R: number): number {
  return R === 1 ? 1 : R + (R % 2);
}

/** Scores (and then P) a lane keeps per chunk: its key's rows rowsHi · H + i (H = keptRows / 2). */
export function keptScores(R: number): number {
  return Math.max(1, keptRows(R) / 2);
}

/** Row of a lane's i-th kept score (WGSL u32). */
function rowOf(R: number, i: number): string {
  return R === 1 ? '0u' : `rowsHi * ${keptScores(R)}u + ${i}u`;
}

/** Row `r`'s running max in a lane keeping its i-th score there (for the lane's own rows). */
function mOf(R: number, i: number): string {
  return R === 1 ? 'm[0]' : `select(m[${i}], m[${keptScores(R) + i}], rowsHi == 1u)`;
}

/** The lane holding key `key` (0 … 15 of the chunk, a WGSL u32 expression of constants and `odd`) row r's P, and which of its kept values. */
export function pSource(R: number, key: { lane: string }, r: number): { lane: string; index: number } {
  const H = keptScores(R);
  const half = R === 1 ? 0 : Math.floor(r / H);
  return { lane: half ? `${key.lane} + ${half}u` : key.lane, index: r % H };
}

/** The lane (WGSL) whose group holds chunk key k: group k % 8, the slot k / 8 in its lane4 / 2. */
export function keyLane(k: number): string {
  return `${(k % 8) * 4 + 2 * Math.floor(k / 8)}u`;
}

/** `lets` of the halved layout: which slot and which rows a lane keeps. */
export const KEPT_LETS = `
  let mine = lane4 / 2u; // the slot (key g or g + 8) whose scores this lane keeps
  let rowsHi = lane4 % 2u; // and which half of the rows`;

/**
 * Scores of the chunk: each lane's partial dots `s[u · R + r]` (by `dots`), summed by halving
 * into `sc[i]` (key g + 8 · mine, row rowOf(i)); masked keys MASKED.
 */
export function scores(g: DecodeGen, R: number, dots: string): string {
  const { each, cfg } = g;
  const E = keptScores(R);
  const P = keptRows(R);
  const causal = positionNames(cfg.positionsAt).causal;
  const masked = (i: number) => {
    // Past the chunk's keys, the padding row, and (causal) rows short of a query group's last
    // (the last one's limit is hi).
    const past = `g + 8u * mine >= n${P > R ? ` || ${rowOf(R, i)} >= ${R}u` : ''}`;
    return cfg.causal && cfg.seqQ > 1 ? `${past} || i32(base + g + 8u * mine) > i32((${rowOf(R, i)}) % ${cfg.seqQ}u) + ${causal}` : past;
  };
  const H = E;
  const sAt = (u: number, r: number) => (r < R ? `s[${u * R + r}]` : '0.0');
  const byRows =
    R === 1
      ? `    sc[0] = t[0] + subgroupShuffleXor(t[0], 1u);`
      : each(H, (i) => `    sc[${i}] = select(t[${i}], t[${H + i}], rowsHi == 1u) + subgroupShuffleXor(select(t[${H + i}], t[${i}], rowsHi == 1u), 1u);`);
  return `    var s = array<f32, ${2 * R}>();
${dots}
    var t = array<f32, ${P}>(); // slot \`mine\`'s sums over 2 lanes
${each(P, (r) => `    t[${r}] = select(${sAt(0, r)}, ${sAt(1, r)}, mine == 1u) + subgroupShuffleXor(select(${sAt(1, r)}, ${sAt(0, r)}, mine == 1u), 2u);`)}
    var sc = array<f32, ${E}>(); // over 4 lanes, the rows this lane keeps
${byRows}
${each(E, (i) => `    sc[${i}] = select(sc[${i}], MASKED, ${masked(i)});`)}`;
}

/**
 * P = exp2(S − max) in place of the kept scores, masked keys 0 and NaN scores NaN, summed
 * into the lane's row sums `ls`. Where any kept score passed its row's running max by LAZY,
 * every row's max moves first to the subgroup's (the lanes keeping a row meet by 4 shuffles,
 * then the two halves of the rows trade by one), and the running sums are rescaled to it (a
 * factor that underflowed to 0 drops them whole, inf or not).
 */
export function probabilities(g: DecodeGen, R: number, accs: string[]): string {
  const { each } = g;
  const E = keptScores(R);
  const H = E;
  const meet = (i: number) => `      var x${i} = sc[${i}];${[2, 4, 8, 16].map((s) => ` x${i} = max(x${i}, subgroupShuffleXor(x${i}, ${s}u));`).join('')}`;
  const rowMax = (r: number) => {
    if (R === 1) return 'x0';
    const i = r % H;
    return r < H ? `select(x${i}, subgroupShuffleXor(x${i}, 1u), rowsHi == 1u)` : `select(subgroupShuffleXor(x${i}, 1u), x${i}, rowsHi == 1u)`;
  };
  return `    if (subgroupAny(${each(E, (i) => `sc[${i}] > ${mOf(R, i)} + LAZY`, ' || ')})) {
${each(E, meet)}
${each(
  keptRows(R),
  (r) => `      let max${r} = max(m[${r}], ${rowMax(r)});
      let alpha${r} = exp2(m[${r}] - max${r});
      m[${r}] = max${r};
${r < R ? accs.map((a) => `      ${a}[${r}] = select(vec4<f32>(0.0), ${a}[${r}] * alpha${r}, alpha${r} != 0.0);`).join('\n') : '      // (the padding row has no sums)'}`,
)}
${each(E, (i) => `      ls[${i}] *= ${R === 1 ? 'alpha0' : `select(alpha${i}, alpha${H + i}, rowsHi == 1u)`};`)}
    }
${each(
  E,
  (i) => `    sc[${i}] = select(select(0.0, exp2(sc[${i}] - ${mOf(R, i)}), sc[${i}] > MASKED), params.nan, isNan(sc[${i}]));
    ls[${i}] += sc[${i}];`,
)}`;
}

/** Row r's sum over the subgroup's keys: the lanes keeping it add their `ls` (R = 1: both halves keep the same). */
export function rowTotal(R: number, r: number): string {
  const H = keptScores(R);
  const hi = R === 1 ? 0 : Math.floor(r / H);
  return `subgroupAdd(select(0.0, ls[${r % H}], rowsHi == ${hi}u))`;
}
