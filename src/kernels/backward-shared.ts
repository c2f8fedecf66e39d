/*
 * Building blocks the two main backward kernels (dQ and dK/dV) share: the uniform
 * block and bindings, the module header, staging of the outer tile, the element
 * layout of the inner tile, S and dP in one pass over the head dim, the masked
 * P and dS of one block, block-mask skipping, and the table-gradient flush.
 * Each returns a generated WGSL snippet; the kernels in backward-dq.ts and
 * backward-dkdv.ts put them together in their own order.
 *
 * Names: the workgroup keeps an "outer" tile of rows (dQ pass: Q and dO; dK/dV pass:
 * K and V) and walks "inner" tiles (dQ pass: K and V; dK/dV pass: Q and dO). The
 * score S pairs the outer tile's first operand with the inner tile's first (Q·Kᵀ or
 * K·Qᵀ), dP the second operands (dO·Vᵀ or V·dOᵀ). Element (r, c) of an invocation's
 * block is outer row ty·RM + r and inner row tx + TX·c.
 */
import { AUX_BINDING, NEXT_TILE, type KernelVariant } from './forward.js';
import { IS_NAN, positionNames, type PositionNames } from './wgsl-common.js';
import { dot4, each } from './codegen.js';
import { paramStruct, type ParamLayout } from './params.js';
import { declareBindings, MASKED, PARAMS_BINDING, type Binding } from './spec.js';
import { backwardTileRows, dsInYProblem, type BackwardTile } from './backward-tiles.js';

/** Uniforms of all three backward kernels (preprocess, dQ, dK/dV). */
export const BACKWARD_PARAMS: ParamLayout = {
  fields: [
    ['seqQ', 'u32'],
    ['seqK', 'u32'],
    ['groupSize', 'u32'],
    ['headsQ', 'u32'],
    ['scale', 'f32'],
    ['causalOffset', 'i32'],
    ['headsKv', 'u32'],
    ['rows', 'u32'],
    // strides in vec4 units (q, out, dout and dq share q's; k, dk share k's; v, dv share v's)
    ['qsb', 'u32'],
    ['qsh', 'u32'],
    ['qsn', 'u32'],
    ['ksb', 'u32'],
    ['ksh', 'u32'],
    ['ksn', 'u32'],
    ['vsb', 'u32'],
    ['vsh', 'u32'],
    ['vsn', 'u32'],
    ['qkScale', 'f32'],
    // block mask strides (tiles): batch (0 if the mask ignores b), head (0 if it ignores h), row
    ['bmB', 'u32'],
    ['bmH', 'u32'],
    ['bmRow', 'u32'],
  ],
};

/** One main backward kernel to generate: head dim D (a multiple of 4), causal or not, its tile, and an optional variant. */
export interface BackwardConfig {
  readonly headDim: number;
  readonly causal: boolean;
  readonly tile: BackwardTile;
  readonly variant?: KernelVariant;
  /** `fn scoreModGrad(score: f32, b, h, q, kv) -> f32`: d score / d z, with a score modifier. */
  readonly scoreGradFn?: string;
  /** dQ pass only: gradients of the tables the score modifier reads (binding `tgrad`). */
  readonly tableGrads?: TableGradCode;
}

/**
 * Table reads to differentiate: WGSL `fn tgIndex<k>(score, b, h, q, kv) -> i32` and
 * `fn tgPartial<k>(…) -> f32` per read k (emitted from IR), and where each table
 * sits in the packed aux layout (the gradient buffer uses the same layout).
 */
export interface TableGradCode {
  readonly fns: string;
  readonly terms: readonly { readonly offset: number; readonly length: number }[];
}

/** A storage binding of vec4 rows, or of f32 values. */
export const vec4Array = (name: string, kind: 'read' | 'read_write'): Binding => ({ name, kind, type: 'array<vec4<f32>>' });
export const f32Array = (name: string, kind: 'read' | 'read_write'): Binding => ({ name, kind, type: 'array<f32>' });

/** Row term of a query row that must contribute nothing: exp2(s − NO_ROW) = 0 for any score. */
export const NO_ROW = '3.0e38';

/** Sizes a generator needs, derived once from the config (and the dS-in-V option checked). */
export interface BackwardShape {
  readonly t: BackwardTile;
  readonly d4: number;
  /** Outer and inner rows per workgroup tile (WGSL `BO`, `BI`). */
  readonly outer: number;
  readonly inner: number;
  /** Invocations per workgroup. */
  readonly nt: number;
  /** vec4 gradient columns per invocation (columns tx + TX·c). */
  readonly oc: number;
  /** Whether a block mask lets the kernel skip empty tiles and unmask full ones. */
  readonly blocks: boolean;
  readonly dsInY: boolean;
  /** The causal shift and the positions modifiers see (uniform, or from a per-batch table). */
  readonly pos: PositionNames;
}

/** The shape of `cfg`'s kernel; throws (prefixed with `name`) where its tile's dS-in-V option cannot apply. */
export function backwardShape(cfg: BackwardConfig, name: string): BackwardShape {
  const t = cfg.tile;
  const problem = dsInYProblem(cfg.headDim, t);
  if (problem) throw new Error(`${name}: ${problem}`);
  const d4 = cfg.headDim / 4;
  const { outer, inner } = backwardTileRows(t);
  const v = cfg.variant;
  return {
    t,
    d4,
    outer,
    inner,
    nt: t.tx * t.ty,
    oc: Math.ceil(d4 / t.tx),
    blocks: Boolean(v?.blockMask && v.maskFn),
    dsInY: Boolean(t.dsInY),
    pos: positionNames(v?.positionsAt),
  };
}

/** Inputs every main pass reads, then its gradients, then the optional aux, table-gradient and block-mask buffers. */
export function backwardBindings(cfg: BackwardConfig, sh: BackwardShape, grads: readonly Binding[], tableGrads: boolean): Binding[] {
  return [
    PARAMS_BINDING,
    vec4Array('q', 'read'),
    vec4Array('k', 'read'),
    vec4Array('v', 'read'),
    vec4Array('dout', 'read'),
    f32Array('lse', 'read'),
    f32Array('dd', 'read'),
    ...grads,
    ...(cfg.variant?.readsTables || cfg.variant?.positionsAt !== undefined ? [AUX_BINDING] : []),
    ...(tableGrads ? [{ name: 'tgrad', kind: 'read_write', type: 'array<atomic<u32>>' } as const] : []),
    ...(sh.blocks ? [{ name: 'blocks', kind: 'read', type: 'array<u32>' } as const] : []),
  ];
}

/** Uniform struct, tile constants, bindings and helper functions: everything before the workgroup tiles. */
export function backwardHeader(cfg: BackwardConfig, sh: BackwardShape, bindings: readonly Binding[], fns: readonly string[]): string {
  const { t } = sh;
  return `${paramStruct('Params', BACKWARD_PARAMS)}
const TX = ${t.tx}u;
const TY = ${t.ty}u;
const RM = ${t.rm}u;
const NT = ${sh.nt}u;
const BO = ${sh.outer}u;
const BI = ${sh.inner}u;
const D4 = ${sh.d4}u;
const YROW = D4 + 1u;
const CAUSAL = ${cfg.causal};
const MASKED = ${MASKED};
${declareBindings(bindings)}
${IS_NAN}
${cfg.variant?.scoreFn ?? ''}
${cfg.scoreGradFn ?? ''}
${cfg.variant?.maskFn ?? ''}
${fns.join('\n')}`;
}

/**
 * Element (row, vec4 column) of an inner tile: padded rows (YROW vec4 each), or with
 * dS in the V tile unpadded rows whose columns are XOR-swizzled by the row.
 */
export function innerTileAt(sh: BackwardShape): (tile: string, row: string, col: string) => string {
  return (tile, row, col) => (sh.dsInY ? `${tile}[(${row}) * D4 + ((${col}) ^ ((${row}) & (D4 - 1u)))]` : `${tile}[(${row}) * YROW + ${col}]`);
}

/** Where a tile row comes from: storage buffer, base offset and row stride (WGSL expressions). */
export interface RowSource {
  readonly tile: string;
  readonly src: string;
  readonly base: string;
  readonly stride: string;
}

/** Stages the outer tile's two operands (rows o0 … o0 + BO, zero past `limit`) once, before the walk. */
export function stageOuterTile(prelude: string, a: RowSource, b: RowSource, limit: string): string {
  return `  {
    ${prelude}
    for (var e = tid; e < BO * D4; e += NT) {
      let n = o0 + e / D4;
      var x = vec4<f32>(0.0);
      var y = vec4<f32>(0.0);
      if (n < ${limit}) {
        x = ${a.src}[${a.base} + n * ${a.stride} + e % D4];
        y = ${b.src}[${b.base} + n * ${b.stride} + e % D4];
      }
      ${a.tile}[e] = x;
      ${b.tile}[e] = y;
    }
  }`;
}

/** Per operand of S and dP: its workgroup tile and the prefix of its per-row registers. */
export interface ProductNames {
  /** S = sOuter · sInner, dP = dpOuter · dpInner, per element (outer row, inner row). */
  readonly sOuter: readonly [tile: string, reg: string];
  readonly sInner: readonly [tile: string, reg: string];
  readonly dpOuter: readonly [tile: string, reg: string];
  readonly dpInner: readonly [tile: string, reg: string];
}

/** S and dP (registers `s`, `dp`) for the invocation's RM outer × CN inner rows, in one pass over the head dim (fma chains). */
export function scoresAndDp(sh: BackwardShape, n: ProductNames): string {
  const { t } = sh;
  const at = innerTileAt(sh);
  const inner = (c: number) => `tx + ${t.tx * c}u`;
  const outer = (tile: string, r: number) => `${tile}[(ty * RM + ${r}u) * D4 + d]`;
  return `    // S and dP for this invocation's RM outer × CN inner rows, one pass over the head dim.
    var s = array<f32, ${t.rm * t.cn}>();
    var dp = array<f32, ${t.rm * t.cn}>();
    for (var d = 0u; d < D4; d++) {
${each(t.cn, (c) => `      let ${n.sInner[1]}${c} = ${at(n.sInner[0], inner(c), 'd')};\n      let ${n.dpInner[1]}${c} = ${at(n.dpInner[0], inner(c), 'd')};`)}
${each(t.rm, (r) => `      let ${n.sOuter[1]}${r} = ${outer(n.sOuter[0], r)};\n      let ${n.dpOuter[1]}${r} = ${outer(n.dpOuter[0], r)};`)}
${each(t.rm * t.cn, (i) => {
  const [r, c] = [Math.floor(i / t.cn), i % t.cn];
  return `      s[${i}] = ${dot4(`${n.sOuter[1]}${r}`, `${n.sInner[1]}${c}`, `s[${i}]`)};
      dp[${i}] = ${dot4(`${n.dpOuter[1]}${r}`, `${n.dpInner[1]}${c}`, `dp[${i}]`)};`;
})}
    }`;
}

/** How the P/dS block addresses element (r, c): its query and key index, its row's LSE·log2 e and Delta, where P and dS go. */
export interface BlockRoles {
  readonly query: (r: number, c: number) => string;
  readonly key: (r: number, c: number) => string;
  readonly lse: (r: number, c: number) => string;
  readonly delta: (r: number, c: number) => string;
  /** Workgroup tile dS goes to, [outer row][inner row] packed in vec4. */
  readonly dsTile: string;
  /** dK/dV pass: workgroup tile P goes to (same layout). */
  readonly pTile?: string;
  readonly tableGrads?: TableGradCode;
}

/**
 * P = exp2(S − LSE·log2 e) and dS = P∘(dP − Delta)·score′ for every element of the
 * invocation's block (from registers `s`, `dp`; S = qkScale·s, or with a score modifier
 * log2 e·scoreMod(scale·s)), written to workgroup memory. `masked` adds the
 * sequence-end and causal tests (ragged and diagonal tiles only); a mask modifier is
 * always tested unless the block mask says the tile is full. A masked pair's dS is 0
 * even when its dP is inf or NaN (a V the row does not see), tested on P's bits (a
 * compiler may fold a float compare as if NaN did not exist).
 */
export function probsAndDs(cfg: BackwardConfig, sh: BackwardShape, roles: BlockRoles, masked: boolean): string {
  const { t } = sh;
  const v = cfg.variant;
  return each(t.rm, (r) =>
    each(t.cn, (c) => {
      const e = r * t.cn + c;
      const qi = `i32(${roles.query(r, c)})`;
      const kj = `i32(${roles.key(r, c)})`;
      const args = `i32(b), i32(h), ${sh.pos.q(qi)}, ${sh.pos.kv(kj)}`;
      const conds = [
        ...(masked ? [`${roles.key(r, c)} < params.seqK`, `(!CAUSAL || ${kj} <= ${qi} + ${sh.pos.causal})`] : []),
        ...(v?.maskFn ? [sh.blocks ? `(full || maskMod(${args}))` : `maskMod(${args})`] : []),
      ];
      const s2 = v?.scoreFn ? `scoreMod(z, ${args}) * ${Math.LOG2E}` : `s[${e}] * params.qkScale`;
      const p = `exp2(${s2} - ${roles.lse(r, c)})`;
      const grad = cfg.scoreGradFn ? ` * scoreModGrad(z, ${args})` : '';
      const at = `(ty * RM + ${r}u) * (BI / 4u) + (tx + ${t.tx * c}u) / 4u][(tx + ${t.tx * c}u) % 4u]`;
      return `      {
        let z = s[${e}] * params.scale;
        let p = ${conds.length ? `select(0.0, ${p}, ${conds.join(' && ')})` : p};
        let g = ${conds.length ? `select(0.0, p * (dp[${e}] - ${roles.delta(r, c)}), bitcast<u32>(p) != 0u)` : `p * (dp[${e}] - ${roles.delta(r, c)})`};
        ${roles.dsTile}[${at} = g${grad};${roles.pTile ? `\n        ${roles.pTile}[${at} = p;` : ''}${tableGradTerms(roles.tableGrads, args)}
      }`;
    }),
  );
}

/**
 * Table gradients of one element: g times each table read's partial, summed in a
 * register while consecutive elements read the same table element, flushed on change.
 */
function tableGradTerms(tg: TableGradCode | undefined, args: string): string {
  return (tg?.terms ?? [])
    .map(
      ({ offset, length }, k) => `
        {
          let ti = ${offset}u + u32(clamp(tgIndex${k}(z, ${args}), 0i, ${length - 1}i));
          let tv = select(0.0, g * tgPartial${k}(z, ${args}), g != 0.0);
          if (tv != 0.0) {
            if (ti != tgI[${k}]) { flushGrad(tgI[${k}], tgA[${k}]); tgI[${k}] = ti; tgA[${k}] = 0.0; }
            tgA[${k}] += tv;
          }
        }`,
    )
    .join('');
}

/**
 * Adds v to element i of the table-gradient buffer: 64-bit fixed point (32
 * fraction bits) in two u32 words, lo then hi with the carry. Integer addition
 * is exact and commutative, so the sum is the same bits whatever order the
 * invocations flush in: the table gradients stay deterministic without float atomics.
 */
const FLUSH_GRAD = /* wgsl */ `fn flushGrad(i: u32, v: f32) {
  if (i == 0xffffffffu || v == 0.0) { return; }
  let c = clamp(v, -2.0e9, 2.0e9);
  let whole = floor(c);
  let lo = u32((c - whole) * 4294967296.0);
  let old = atomicAdd(&tgrad[2u * i], lo);
  atomicAdd(&tgrad[2u * i + 1u], bitcast<u32>(i32(whole)) + select(0u, 1u, old + lo < old));
}`;

/** Table-gradient helpers for the header: the IR-emitted index/partial functions and flushGrad. */
export function tableGradFns(tg: TableGradCode | undefined): string {
  return tg ? `${tg.fns}\n${FLUSH_GRAD}` : '';
}

/** The run registers (one element index and partial sum per table read), declared before the walk. */
export function tableGradRegisters(tg: TableGradCode | undefined): string {
  return tg ? `  var tgI = array<u32, ${tg.terms.length}>(${tg.terms.map(() => '0xffffffffu').join(', ')});\n  var tgA: array<f32, ${tg.terms.length}>;` : '';
}

/** After the walk: flush every run still held in registers. */
export function flushTableGrads(tg: TableGradCode | undefined): string {
  return tg ? tg.terms.map((_, k) => `  flushGrad(tgI[${k}], tgA[${k}]);`).join('\n') : '';
}

/** Block-mask skipping of the dQ pass: `nextTile(row, start, end)`, the forward kernel's walk over one block row. */
export const NEXT_KV_TILE = NEXT_TILE;

/** Block-mask skipping of the dK/dV pass: steps are (query head of the GQA group, Q tile) pairs of one block column. */
export const NEXT_Q_STEP = /* wgsl */ `// First step ≥ start whose (query head, Q tile) block is not empty, or end.
fn nextStep(col: u32, hk: u32, qFirst: u32, nQt: u32, start: u32, end: u32) -> u32 {
  var st = start;
  loop {
    if (st >= end) { break; }
    let h = hk * params.groupSize + st / nQt;
    if (blocks[col + h * params.bmH + (qFirst + st % nQt) * params.bmRow] != 0u) { break; }
    st++;
  }
  return st;
}`;

/**
 * Whether a tile's products may skip the masked-pair guard: every pair of the tile counted
 * (`interior`: no ragged end, no causal diagonal) and no mask modifier left to test.
 */
export function unguarded(cfg: BackwardConfig, sh: BackwardShape): string {
  return sh.blocks ? 'interior && full' : cfg.variant?.maskFn ? 'false' : 'interior';
}
