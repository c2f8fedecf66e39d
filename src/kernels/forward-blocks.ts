/*
 * The vocabulary the forward kernel (forward.ts) is written in: each function returns
 * one WGSL block, a single template interpolating named constants and smaller snippets.
 * Per-invocation loops (rows r < RM, keys c < CN, output columns c < OC) are unrolled
 * here, so every register index is a constant (see codegen.ts).
 *
 * The names are the paper's: S (`s`, scores in registers), m and l (per-row running max
 * and denominator, log2 frame), P (`p`, probabilities), acc (unnormalised output), and
 * qkScale = scale·log2 e. Every byte of the text matters: the GPU speed was tuned on it.
 */
import { declareBindings, MASKED } from './spec.js';
import { paramStruct } from './params.js';
import { dot4, each, maxOf, shuffleReduce, sumOf, weightedFma } from './codegen.js';
import { FORWARD_PARAMS, kSlots } from './forward-config.js';
import type { ForwardPlan } from './forward-plan.js';
import { blockOrder, IS_NAN, LSE_OF, NEXT_TILE, positionLets } from './wgsl-common.js';
import { pagedLets, pagedScope } from './paged.js';

const SUBGROUPS = /* wgsl */ `enable subgroups;
// Every lane of a workgroup runs the same tiles (all branches are workgroup-uniform); the
// analysis cannot see that through the block-mask reads.
diagnostic(off, subgroup_uniformity);
`;

/** Module scope: features, the Params struct, tile constants, bindings, helper and modifier functions. */
export function moduleScope(plan: ForwardPlan): string {
  const { tile: t, variant: v } = plan;
  return /* wgsl */ `${plan.cfg.halfTiles ? 'enable f16;\n' : ''}${plan.subgroups ? SUBGROUPS : ''}
${paramStruct('Params', FORWARD_PARAMS)}

const TX = ${t.tx}u;
const TY = ${t.ty}u;
const RM = ${t.rm}u;
const NT = TX * TY;
const BR = ${plan.br}u;
const BC = ${plan.bc}u;
const D4 = ${plan.d4}u;
const KROW = D4 + 1u;
const CAUSAL = ${plan.cfg.causal};
const MASKED = ${MASKED};

${declareBindings(plan.bindings)}${
    plan.inRows.helpers &&
    `
${plan.inRows.helpers}`
  }
${v?.scoreFn ?? ''}
${v?.maskFn ?? ''}
${plan.blocks ? NEXT_TILE : ''}
${IS_NAN}
${LSE_OF}${plan.paged ? `\n${pagedScope(plan.cfg.pageSize!)}` : ''}`;
}

/** The tiles in workgroup memory: Q, K (also V when shared, P when pInK), V, P, and the row-reduction buffer. */
export function workgroupTiles(plan: ForwardPlan): string {
  const { tile: t, br, bc, d4, tileElem: e } = plan;
  return /* wgsl */ `var<workgroup> Qs: array<${e}, ${br * d4}>;
var<workgroup> Ks: array<${e}, ${kSlots(plan.cfg.headDim, t)}>;
${t.shareKv ? '' : `var<workgroup> Vs: array<${e}, ${bc * d4}>;`}
${t.pInK ? '' : `var<workgroup> Ps: array<${e}, ${(br * bc) / 4}>;`}
${plan.subgroups ? '' : `var<workgroup> red: array<f32, ${br * t.tx}>;`}`;
}

/** Who this workgroup is: batch b, query head h (K/V head hk), key range `part`, Q tile qt, and its K/V bases. */
export function workgroupIds(plan: ForwardPlan): string {
  const { pack } = plan;
  const heads =
    pack > 1
      ? `  let hk = g.y; // K/V head: its ${pack} query heads' rows are stacked in this workgroup's tiles
  let h = hk * ${pack}u; // the group's first query head (each row has its own: hr)`
      : '  let h = g.y + params.headBase;';
  // Causal, one key range (GQA-packed rows mix positions): every head's longest Q tiles first.
  const order = blockOrder(plan.cfg.causal && pack === 1, 'last', 'nwg.x == params.qTiles');
  return /* wgsl */ `  let tx = tid % TX;
  let ty = tid / TX;
  ${order}
  let b = g.z + params.batchBase;
${positionLets(plan.variant?.positionsAt, 'b')}${plan.paged ? pagedLets('b') : ''}${heads}
  let part = g.x / params.qTiles; // key range of a split-K call (0 otherwise)
  let qt = g.x % params.qTiles + params.tileBase; // Q tile index (a split call starts some dispatches further down)
  let kvLo = part * params.rangeKeys;
  let q0 = qt * BR;
${pack > 1 ? '' : '  let hk = h / params.groupSize;'}
${
  plan.paged
    ? `  // Paged: the pools are bound whole; each row adds its page's start (pagedRow).
  let kBase = hk * params.ksh;
  let vBase = hk * params.vsh;`
    : `  let kBase = b * params.ksb + hk * params.ksh - params.kOff;
  let vBase = b * params.vsb + hk * params.vsh - params.vOff;`
}`;
}

/** Qs ← this workgroup's BR query rows (zero past the last). */
export function stageQ(plan: ForwardPlan): string {
  const { pack } = plan;
  return /* wgsl */ `  for (var i = tid; i < BR * D4; i += NT) {
    let pr = q0 + i / D4;
    var x = vec4<f32>(0.0);
    if (pr < ${pack}u * params.seqQ) {
      let hr = ${pack > 1 ? `hk * ${pack}u + pr / params.seqQ` : 'h'};
      x = ${plan.inRows.load(`q[b * params.qsb + hr * params.qsh - params.qOff + ${pack > 1 ? '(pr % params.seqQ)' : 'pr'} * params.qsn + i % D4]`)};
    }
    Qs[i] = ${plan.toTile('x')};
  }`;
}

/**
 * The K/V tiles this workgroup walks: keys [k0, kvEnd), ending early under causal masking
 * and at its key range's end, hopping over empty tiles of a block mask; the first tile fetched.
 */
export function keyRange(plan: ForwardPlan): string {
  const { blocks } = plan;
  return /* wgsl */ `  // Causal: no key past the one the tile's last row sees is ever loaded.
  var kvEnd = ${plan.seqK};
  if (CAUSAL) { kvEnd = u32(clamp(i32(${plan.pack > 1 ? 'params.seqQ' : 'q0 + BR'}) + ${plan.pos.causal}, 0, i32(${plan.seqK}))); }
  kvEnd = min(kvEnd, kvLo + params.rangeKeys);

  // K/V tiles pass through registers: tile t+1 is fetched while tile t is computed.
${plan.mover.declare('kr')}
${plan.mover.declare('vr')}
  // With a block mask, empty tiles are never visited: the loop hops to the next non-empty one.
  let blockRow = b * params.bmB + h * params.bmH + qt * params.bmRow;
  let tileEnd = (kvEnd + BC - 1u) / BC;
  var k0 = ${blocks ? 'nextTile(blockRow, kvLo / BC, tileEnd) * BC' : 'kvLo'};
${fetchTile(plan, 'k', 'k0')}
${fetchTile(plan, 'v', 'k0')}`;
}

/** Registers kr (or vr) ← the K (or V) rows [k0, k0 + BC), zero past the last key. */
export function fetchTile(plan: ForwardPlan, which: 'k' | 'v', k0: string): string {
  const paged = plan.paged ? (n: string) => `pagedRow(pageRow, ${n}, params.${which}sb, params.${which}sn)` : undefined;
  return plan.mover.fetch(`${which}r`, which, `${which}Base`, `params.${which}sn`, k0, plan.seqK, paged);
}

/** The workgroup K (or V) tile ← registers kr (or vr). */
export function stageTile(plan: ForwardPlan, which: 'k' | 'v'): string {
  return plan.mover.stage(`${which}r`, which === 'k' ? plan.kAt : plan.vAt, plan.toTile);
}

/** S = Q Kᵀ into registers: s[r·CN + c] for this invocation's RM rows × CN keys, by fma chains. */
export function scoresQK(plan: ForwardPlan): string {
  const { tile: t } = plan;
  return /* wgsl */ `    var s = array<f32, ${t.rm * t.cn}>();
    for (var d = 0u; d < D4; d++) {
${each(t.cn, (c) => `      let kv${c} = ${plan.widen(plan.kAt(plan.lane(c), 'd'))};`)}
${each(t.rm, (r) => `      let qv${r} = ${plan.widen(`Qs[(ty * RM + ${r}u) * D4 + d]`)};`)}
${each(t.rm * t.cn, (i) => `      s[${i}] = ${dot4(`qv${Math.floor(i / t.cn)}`, `kv${i % t.cn}`, `s[${i}]`)};`)}
    }`;
}

/**
 * Row r's total over the TX invocations that share it, step one: publish this
 * invocation's value `x`: by subgroup shuffles into the register array `reg`, or
 * into workgroup memory (`red`: TX values per row, read after a barrier).
 */
export function publishRow(plan: ForwardPlan, r: number, x: string, op: 'max' | 'add', reg: string): string {
  return plan.subgroups ? `${reg}[${r}] = ${shuffleReduce(x, plan.tile.tx, op)};` : `red[${redSlot(r)} + tx] = ${x};`;
}

/** Row r's total, step two (after publishRow, and a barrier without subgroups): the expression. */
export function rowTotal(plan: ForwardPlan, r: number, op: 'max' | 'add', reg: string): string {
  return plan.subgroups ? `${reg}[${r}]` : (op === 'max' ? maxOf : sumOf)(plan.tile.tx, (x) => `red[${redSlot(r)} + ${x}u]`);
}

const redSlot = (r: number) => `(ty * RM + ${r}u) * TX`;

/**
 * S in the log2 frame, one row: qkScale·s (or the score modifier on scale·s, then ·log2 e),
 * MASKED where a key is out of range, above the causal diagonal (`masked` tiles only) or
 * masked by the variant; this invocation's row max published into `mxr`.
 */
export function scaleMaskRow(plan: ForwardPlan, r: number, masked: boolean): string {
  const { tile: t, variant: v } = plan;
  const scoreAt = (c: number) => {
    const e = `s[${r * t.cn + c}]`;
    const key = `k0 + ${plan.lane(c)}`;
    const kv = plan.pos.kv(`i32(${key})`);
    const maskMod = `maskMod(i32(b), i32(h), qi, ${kv})`;
    const conds = [
      ...(masked ? [`${key} < ${plan.seqK}`, `(!CAUSAL || i32(${key}) <= i)`] : []),
      ...(v?.maskFn ? [plan.blocks ? `(full || ${maskMod})` : maskMod] : []),
    ];
    // Modifiers see the natural-units score (scale·q·k); exp2 wants it times log2 e.
    const scaled = v?.scoreFn ? `scoreMod(${e} * params.scale, i32(b), i32(h), qi, ${kv}) * ${Math.LOG2E}` : `${e} * params.qkScale`;
    const value = conds.length ? `select(MASKED, ${scaled}, ${conds.join(' && ')})` : scaled;
    return `        ${e} = ${value};\n        mx = max(mx, ${e});`;
  };
  const causalRow = masked ? `\n        let i = i32(${plan.rowQ(r)}) + ${plan.pos.causal};` : '';
  const queryIndex = plan.modded ? `\n        let qi = ${plan.pos.q(`i32(${plan.rowQ(r)})`)};` : '';
  return /* wgsl */ `      {${causalRow}${queryIndex}
        var mx = MASKED;
${each(t.cn, scoreAt)}
        ${publishRow(plan, r, 'mx', 'max', 'mxr')}
      }`;
}

/**
 * The online-softmax update of row r, with m' = mNew and α = alpha:
 *   m' = max(m, rowmax S);  P = exp2(S − m'), α = exp2(m − m');  l = α·l + rowsum P;  acc = α·acc
 * (P·V is added once P is in workgroup memory: accumulatePV). l stays this invocation's
 * partial sum over its CN keys until the end (reduceRowSums).
 */
export function onlineSoftmaxRow(plan: ForwardPlan, r: number): string {
  const { tile: t, oc } = plan;
  return /* wgsl */ `    {
      let mNew = max(m[${r}], ${rowTotal(plan, r, 'max', 'mxr')});
      let alpha = exp2(m[${r}] - mNew);
      m[${r}] = mNew;
      var rowSum = 0.0;
${each(t.cn, (c) => probability(plan, r, c))}
      l[${r}] = l[${r}] * alpha + rowSum;
${each(oc, (c) => `      acc[${r * oc + c}] *= alpha;`)}
    }`;
}

/** P[r, c] = exp2(S − m') into the P buffer, summed into rowSum. */
function probability(plan: ForwardPlan, r: number, c: number): string {
  return /* wgsl */ `      {
        let sc = s[${r * plan.tile.cn + c}];
        // Masked scores (exactly MASKED) give 0; a NaN score stays NaN, as in the reference
        // (stated explicitly: some exp2 approximations turn NaN into inf).
        let p = select(select(0.0, exp2(sc - mNew), sc > MASKED), params.nan, isNan(sc));
        rowSum += p;
        let key = ${plan.lane(c)};
        ${plan.pBuf}[(ty * RM + ${r}u) * (BC / 4u) + key / 4u][key % 4u] = ${plan.toTile('p', true)};
      }`;
}

/** acc += P·V for this invocation's RM rows × OC vec4 columns; `guarded`: see weightedFma. */
export function accumulatePV(plan: ForwardPlan, guarded: boolean): string {
  const { tile: t, oc } = plan;
  const column = (jj: number, c: number) => /* wgsl */ `      ${plan.columnGuard(c)}{
        let vv = ${plan.widen(plan.vAt(`j4 * 4u + ${jj}u`, plan.lane(c)))};
${each(t.rm, (r) => `        ${weightedFma(`acc[${r * oc + c}]`, `pv${r}.${'xyzw'[jj]}`, 'vv', guarded)}`)}
      }`;
  return /* wgsl */ `    for (var j4 = 0u; j4 < BC / 4u; j4++) {
${each(t.rm, (r) => `      let pv${r} = ${plan.widen(`${plan.pBuf}[(ty * RM + ${r}u) * (BC / 4u) + j4]`)};`)}
${each(4, (jj) => each(oc, (c) => column(jj, c)))}
    }`;
}

/** l summed over the TX invocations of each row (into `lr` with subgroups, else through `red`). */
export function reduceRowSums(plan: ForwardPlan): string {
  const publish = each(plan.tile.rm, (r) => `  ${publishRow(plan, r, `l[${r}]`, 'add', 'lr')}`);
  return plan.subgroups
    ? /* wgsl */ `  var lr: array<f32, ${plan.tile.rm}>;
${publish}`
    : /* wgsl */ `  workgroupBarrier();
${publish}
  workgroupBarrier();`;
}

/**
 * Row r's end: its final frame and denominator, O = acc / l into its output row, and
 * its LSE (natural units), or for a part of a split-K call the row's (m, l) pair.
 */
export function writeRow(plan: ForwardPlan, r: number): string {
  const { oc } = plan;
  return /* wgsl */ `  {
    let i = ${plan.rowQ(r)};
    let hr = ${plan.rowH(r)};
    let lt = ${rowTotal(plan, r, 'add', 'lr')};
${finalStats(plan, r)}
    if (${plan.rowOk(r)}) {
      let rowBase = b * params.qsb + hr * params.qsh - params.qOff + i * params.qsn;
      // A row with a NaN score keeps its NaN (lF is NaN), like the reference.
      let inv = select(0.0, keep / lF, lF > 0.0 || isNan(lF));
${each(oc, (c) => `      ${plan.columnGuard(c)}{ o[part * params.oPart + rowBase + ${plan.lane(c)}] = ${plan.outRows.store(`acc[${r * oc + c}] * inv`)}; }`)}
      if (tx == 0u) {
${plan.cfg.partial ? PART_STATS : LSE}
      }
    }
  }`;
}

const LSE = /* wgsl */ `        lse[(b * params.headsQ + hr) * params.seqQ + i - params.lseOff] =
          select(select(params.negInf, lseF, lF > 0.0), params.nan, isNan(lF));`;

const PART_STATS = /* wgsl */ `        // A part of a split-K call: the row's max (log2 frame) and denominator, for the combine
        // (rows counted from its LSE range's start, lseOff, as LSE: each chunk has its own parts).
        let at = part * params.statPart + 2u * ((b * params.headsQ + hr) * params.seqQ + i - params.lseOff);
        lse[at] = mF;
        lse[at + 1u] = lF;`;

/**
 * Row r's final frame mF, denominator lF (from the summed l, `lt`), the factor `keep` that
 * moves acc into that frame, and LSE. Learned sinks join the denominator here, in the row's
 * running frame. When the sink is the row's frame, LSE starts from the sink logit itself:
 * going through its log2-frame value (logit·log2 e, rounded) would cost up to an ulp of LSE.
 */
function finalStats(plan: ForwardPlan, r: number): string {
  const sinkOffset = plan.variant?.sinkOffset;
  if (sinkOffset === undefined) {
    return /* wgsl */ `    let mF = m[${r}];
    let keep = 1.0;
    let lF = lt;
    let lseF = lseOf(mF, lF);`;
  }
  return /* wgsl */ `    let sinkLogit = aux[${sinkOffset}u + ${plan.rowH(r)}];
    let sink = sinkLogit * ${Math.LOG2E};
    let mF = max(m[${r}], sink);
    let keep = select(0.0, exp2(m[${r}] - mF), lt > 0.0);
    let lF = lt * keep + exp2(sink - mF);
    let lseF = select(lseOf(mF, lF), sinkLogit + log(lF), mF == sink);`;
}
