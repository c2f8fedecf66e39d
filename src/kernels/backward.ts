/*
 * Fused attention backward (FlashAttention-2 style), f32, deterministic.
 *
 *   preprocess  D_i = dO_i · O_i                          one invocation per row
 *   dkdv        per K/V tile, for every query head of its GQA group and every
 *               Q tile that can see it: recompute P = exp(s − LSE) and
 *               dS = P (dO·V − D) score'(z) for the block, then
 *               dV_j += Σ_i P_ij dO_i, dK_j += scale Σ_i dS_ij Q_i
 *   dq          per Q tile, over the K/V tiles it sees: the same block, then
 *               dQ_i += scale Σ_j dS_ij K_j
 *
 * dQ gets its own pass instead of atomics (WGSL has no float atomics, and a
 * compare-exchange loop would give different bits on every run), so every
 * gradient element is written by exactly one invocation in a fixed order: the
 * same bits on every run. Nothing N×N touches device memory.
 *
 * Both main passes are one generated kernel with the roles swapped. The
 * workgroup owns an "outer" tile it stages once (dq: Q and dO rows; dkdv: K and V
 * rows) and walks "inner" tiles fetched through registers one tile ahead (dq: K
 * and V; dkdv: Q, dO and their LSE and D). Each invocation computes RM outer × CN
 * inner elements of both S and dP in one pass over the head dim, writes P/dS to
 * workgroup memory, then accumulates RM outer rows × OC vec4 columns of its
 * gradient(s) from registers, exactly like the forward kernel's P·V.
 *
 * Versions (speed logged in docs/PERF.md):
 *   v1  scalar phases (one (row, key) pair per invocation for the block, vec4
 *       column slices per invocation for the accumulation). H100: 7.1 TFLOP/s
 *       at N=4096 D=64, backward/forward 7.4×.
 *   v2  register tiles (RM×CN block of S and dP, RM×OC gradient block per
 *       invocation), inner tiles prefetched into registers, fma chains, exp2,
 *       interior tiles unmasked, block masks skip empty tiles. H100: 13.0 TFLOP/s
 *       at N=4096 D=64 (13.3 ms), backward/forward 4.1×; each pass at about the
 *       forward's per-GEMM speed. (Padding the workgroup rows, tried next: no change;
 *       again with 8-wide invocation rows, 2026-11-27: no gain, fewer invocations lose.)
 *   v3  dQ pass with its own tile: dS written into the V tile once S and dP are done
 *       (dQ += dS·K no longer needs V), K/V rows swizzled instead of padded; the freed
 *       room takes 64×32 tiles of 256 invocations at D=64 and 32×16 with 4×1 blocks at
 *       D=128. H100: dQ pass 5.88 → 4.52 ms (D=64), 16.0 → 12.3 ms (D=128).
 */
import { AUX_BINDING, NEXT_TILE, type KernelVariant } from './forward.js';
import { dot4, each, tileMover } from './codegen.js';
import { paramStruct, type ParamLayout } from './params.js';
import { declareBindings, MASKED, PARAMS_BINDING, type Binding, type KernelSpec } from './spec.js';

/**
 * Tile shape of the backward kernels: TX×TY invocations, each owning RM outer
 * rows and CN inner rows (strided by TX). Outer tile RM·TY rows, inner CN·TX.
 */
export interface BackwardTile {
  readonly tx: number;
  readonly ty: number;
  readonly rm: number;
  readonly cn: number;
  /**
   * dQ pass only: dS written into the V tile once S and dP are done (one barrier more,
   * no dS buffer), with K/V rows unpadded and XOR-swizzled; frees room for larger tiles.
   */
  readonly dsInY?: boolean;
}

export const BACKWARD_PARAMS: ParamLayout = {
  fields: [
    ['seqQ', 'u32'], ['seqK', 'u32'], ['groupSize', 'u32'], ['headsQ', 'u32'],
    ['scale', 'f32'], ['causalOffset', 'i32'], ['headsKv', 'u32'], ['rows', 'u32'],
    // strides in vec4 units (q, out, dout and dq share q's; k, dk share k's; v, dv share v's)
    ['qsb', 'u32'], ['qsh', 'u32'], ['qsn', 'u32'],
    ['ksb', 'u32'], ['ksh', 'u32'], ['ksn', 'u32'],
    ['vsb', 'u32'], ['vsh', 'u32'], ['vsn', 'u32'],
    ['qkScale', 'f32'],
    // block mask strides (tiles): batch (0 if the mask ignores b), head (0 if it ignores h), row
    ['bmB', 'u32'], ['bmH', 'u32'], ['bmRow', 'u32'],
  ],
};

/** Ordered from most reuse per staged byte to least; the first that fits wins. */
export const BACKWARD_TILES: readonly BackwardTile[] = [
  { tx: 16, ty: 8, rm: 4, cn: 2 }, // outer 32 × inner 32, 128 invocations
  { tx: 16, ty: 16, rm: 2, cn: 2 }, // 32 × 32, 256 invocations
  { tx: 16, ty: 8, rm: 2, cn: 2 }, // 16 × 32
  { tx: 16, ty: 8, rm: 2, cn: 1 }, // 16 × 16
  { tx: 8, ty: 8, rm: 2, cn: 2 }, // 16 × 16
  { tx: 16, ty: 4, rm: 1, cn: 1 }, // 4 × 16
  { tx: 8, ty: 4, rm: 1, cn: 1 }, // 4 × 8
];

/**
 * dQ-pass tiles with dS in the V tile (no dS buffer, swizzled K/V rows), best first (H100
 * sweep in docs/PERF.md): twice the rows of the dK/dV pass's tile, which needs K, V, Q,
 * dO, P and dS at once and has no such room.
 */
export const DQ_TILES: readonly BackwardTile[] = [
  { tx: 16, ty: 16, rm: 4, cn: 2, dsInY: true }, // 64 Q rows × 32 keys, 256 invocations (D ≥ 64)
  { tx: 16, ty: 8, rm: 4, cn: 4, dsInY: true }, // 32 × 64, 128 invocations
  { tx: 16, ty: 8, rm: 4, cn: 1, dsInY: true }, // 32 × 16 (D = 128)
];

/** The dQ pass's own tile where one with dS in the V tile fits; otherwise the dK/dV tile serves both. */
export function chooseDqTile(
  headDim: number,
  limits: { maxComputeWorkgroupStorageSize: number; maxComputeInvocationsPerWorkgroup: number },
): BackwardTile | undefined {
  return DQ_TILES.find((t) => backwardTileFits(headDim, t, limits));
}

export type BackwardPass = 'dq' | 'dkdv';

/** Outer and inner rows per workgroup tile. */
export function backwardTileRows(t: BackwardTile): { outer: number; inner: number } {
  return { outer: t.rm * t.ty, inner: t.cn * t.tx };
}

/** Workgroup bytes of the dK/dV kernel (the larger of the two passes), or of the dQ pass with dS in the V tile. */
export function backwardWorkgroupBytes(headDim: number, t: BackwardTile): number {
  const { outer, inner } = backwardTileRows(t);
  const d4 = headDim / 4;
  if (t.dsInY) return (2 * outer * d4 + 2 * inner * d4) * 16;
  return (2 * outer * d4 + 2 * inner * (d4 + 1)) * 16 + 2 * outer * inner * 4 + 2 * inner * 4;
}

/** Why a tile's dS-in-V option cannot apply at this head dim (rows must swizzle and dS fit the V tile), or undefined. */
export function dsInYProblem(headDim: number, t: BackwardTile): string | undefined {
  if (!t.dsInY) return undefined;
  const d4 = headDim / 4;
  if ((d4 & (d4 - 1)) !== 0) return `dS in the V tile swizzles its rows: D/4 must be a power of two, got ${d4}`;
  if (t.rm * t.ty > headDim) return `dS in the V tile needs outer rows ≤ D, got ${t.rm * t.ty} > ${headDim}`;
  return undefined;
}

/** Accumulator floats per invocation of the dK/dV kernel (two gradients). */
export function backwardAccFloats(headDim: number, t: BackwardTile): number {
  return 2 * t.rm * Math.ceil(headDim / 4 / t.tx) * 4;
}

export function backwardTileFits(
  headDim: number,
  t: BackwardTile,
  limits: { maxComputeWorkgroupStorageSize: number; maxComputeInvocationsPerWorkgroup: number },
): boolean {
  return (
    t.tx <= headDim / 4 &&
    (t.cn * t.tx) % 4 === 0 &&
    t.cn <= t.ty && // each inner row's LSE and D is fetched by one invocation
    dsInYProblem(headDim, t) === undefined &&
    t.tx * t.ty <= limits.maxComputeInvocationsPerWorkgroup &&
    backwardWorkgroupBytes(headDim, t) <= limits.maxComputeWorkgroupStorageSize &&
    backwardAccFloats(headDim, t) <= 64
  );
}

export function chooseBackwardTile(
  headDim: number,
  limits: { maxComputeWorkgroupStorageSize: number; maxComputeInvocationsPerWorkgroup: number },
): BackwardTile | undefined {
  return BACKWARD_TILES.find((t) => backwardTileFits(headDim, t, limits));
}

const vec4Array = (name: string, kind: 'read' | 'read_write'): Binding => ({ name, kind, type: 'array<vec4<f32>>' });
const f32Array = (name: string, kind: 'read' | 'read_write'): Binding => ({ name, kind, type: 'array<f32>' });

/** D_i = dO_i · O_i for every row (b, h, i); D is [B, Hq, Nq]. */
export function backwardPreprocessKernel(headDim: number): KernelSpec {
  const bindings = [PARAMS_BINDING, vec4Array('o', 'read'), vec4Array('dout', 'read'), f32Array('dd', 'read_write')];
  const wgsl = /* wgsl */ `
${paramStruct('Params', BACKWARD_PARAMS)}
${declareBindings(bindings)}

@compute @workgroup_size(64, 1, 1)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let row = gid.x + gid.y * nwg.x * 64u;
  if (row >= params.rows) { return; }
  let i = row % params.seqQ;
  let bh = row / params.seqQ;
  let base = (bh / params.headsQ) * params.qsb + (bh % params.headsQ) * params.qsh + i * params.qsn;
  var acc = 0.0;
  for (var c = 0u; c < ${headDim / 4}u; c++) { acc += dot(o[base + c], dout[base + c]); }
  dd[row] = acc;
}
`;
  return { label: 'attention.backward.preprocess', wgsl, workgroupSize: [64, 1, 1], bindings, workgroupBytes: 0 };
}

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

/** Row term of a query row that must contribute nothing: exp2(s − NO_ROW) = 0 for any score. */
const NO_ROW = '3.0e38';

/** The dQ pass (one workgroup per Q tile, head, batch) or the dK/dV pass (per K/V tile, kv head, batch). */
export function backwardKernel(cfg: BackwardConfig, pass: BackwardPass): KernelSpec {
  const { headDim, causal, tile: t } = cfg;
  const v = cfg.variant;
  const kv = pass === 'dkdv';
  const d4 = headDim / 4;
  const { outer: BO, inner: BI } = backwardTileRows(t);
  const nt = t.tx * t.ty;
  const oc = Math.ceil(d4 / t.tx);
  const blocks = Boolean(v?.blockMask && v.maskFn);
  const tg = kv ? undefined : cfg.tableGrads;
  const mover = tileMover(BI, nt, d4);
  const grads = kv ? [vec4Array('dk', 'read_write'), vec4Array('dv', 'read_write')] : [vec4Array('dq', 'read_write')];
  const bindings: Binding[] = [
    PARAMS_BINDING,
    vec4Array('q', 'read'), vec4Array('k', 'read'), vec4Array('v', 'read'), vec4Array('dout', 'read'),
    f32Array('lse', 'read'), f32Array('dd', 'read'),
    ...grads,
    ...(v?.readsTables ? [AUX_BINDING] : []),
    ...(tg ? [{ name: 'tgrad', kind: 'read_write', type: 'array<atomic<u32>>' } as const] : []),
    ...(blocks ? [{ name: 'blocks', kind: 'read', type: 'array<u32>' } as const] : []),
  ];
  // Roles: X = outer tile (a: scores' left operand, b: dP's), Y = inner tile.
  const [xa, xb, ya, yb] = kv ? ['k', 'v', 'q', 'dout'] : ['q', 'dout', 'k', 'v'];
  const xBase = kv ? ['kBase', 'vBase'] : ['qBase', 'qBase'];
  const yBase = kv ? ['qBase', 'qBase'] : ['kBase', 'vBase'];
  const xStride = kv ? ['params.ksn', 'params.vsn'] : ['params.qsn', 'params.qsn'];
  const yStride = kv ? ['params.qsn', 'params.qsn'] : ['params.ksn', 'params.vsn'];
  const xLimit = kv ? 'params.seqK' : 'params.seqQ';
  const yLimit = kv ? 'params.seqQ' : 'params.seqK';
  // Query and key index of element (r, c): outer row r, inner row c.
  const outerIdx = (r: number) => `o0 + ty * RM + ${r}u`;
  const innerIdx = (c: number) => `i0 + tx + ${t.tx * c}u`;
  const qIdx = (r: number, c: number) => (kv ? innerIdx(c) : outerIdx(r));
  const kIdx = (r: number, c: number) => (kv ? outerIdx(r) : innerIdx(c));
  // LSE (times log2 e) and D of the query row of element (r, c).
  const lseOf = (r: number, c: number) => (kv ? `Ls[tx + ${t.tx * c}u]` : `lr[${r}]`);
  const dOf = (r: number, c: number) => (kv ? `Dsh[tx + ${t.tx * c}u]` : `dr[${r}]`);

  const dsInY = Boolean(t.dsInY);
  if (dsInY && kv) throw new Error('backwardKernel: dS in the V tile is for the dQ pass');
  const optionProblem = dsInYProblem(headDim, t);
  if (optionProblem) throw new Error(`backwardKernel: ${optionProblem}`);
  // Element (row, vec4 column) of a Y tile: padded rows, or (dS in Y) unpadded rows with swizzled columns.
  const yAt = (buf: string, row: string, col: string) => (dsInY ? `${buf}[(${row}) * D4 + ((${col}) ^ ((${row}) & (D4 - 1u)))]` : `${buf}[(${row}) * YROW + ${col}]`);
  const dsBuf = dsInY ? 'Yb' : 'dSs';
  const block = (masked: boolean) =>
    each(t.rm, (r) =>
      each(t.cn, (c) => {
        const e = r * t.cn + c;
        const qi = `i32(${qIdx(r, c)})`;
        const kj = `i32(${kIdx(r, c)})`;
        const conds = [
          ...(masked ? [`${kIdx(r, c)} < params.seqK`, `(!CAUSAL || ${kj} <= ${qi} + params.causalOffset)`] : []),
          ...(v?.maskFn ? [blocks ? `(full || maskMod(i32(b), i32(h), ${qi}, ${kj}))` : `maskMod(i32(b), i32(h), ${qi}, ${kj})`] : []),
        ];
        const s2 = v?.scoreFn ? `scoreMod(z, i32(b), i32(h), ${qi}, ${kj}) * ${Math.LOG2E}` : `sa[${e}] * params.qkScale`;
        const p = `exp2(${s2} - ${lseOf(r, c)})`;
        const grad = cfg.scoreGradFn ? ` * scoreModGrad(z, i32(b), i32(h), ${qi}, ${kj})` : '';
        const at = `(ty * RM + ${r}u) * (BI / 4u) + (tx + ${t.tx * c}u) / 4u][(tx + ${t.tx * c}u) % 4u]`;
        // Table gradients: runs of elements reading the same table element are summed in a register first.
        const tgTerms = (tg?.terms ?? []).map(({ offset, length }, k) => `
        {
          let ti = ${offset}u + u32(clamp(tgIndex${k}(z, i32(b), i32(h), ${qi}, ${kj}), 0i, ${length - 1}i));
          let tv = select(0.0, g * tgPartial${k}(z, i32(b), i32(h), ${qi}, ${kj}), g != 0.0);
          if (tv != 0.0) {
            if (ti != tgI[${k}]) { flushGrad(tgI[${k}], tgA[${k}]); tgI[${k}] = ti; tgA[${k}] = 0.0; }
            tgA[${k}] += tv;
          }
        }`).join('');
        return `      {
        let z = sa[${e}] * params.scale;
        let p = ${conds.length ? `select(0.0, ${p}, ${conds.join(' && ')})` : p};
        let g = p * (sb[${e}] - ${dOf(r, c)});
        ${dsBuf}[${at} = g${grad};${kv ? `\n        Ps[${at} = p;` : ''}${tgTerms}
      }`;
      }),
    );

  // Inner-tile loop: dq walks K/V tiles of its row; dkdv walks (query head of the group, Q tile).
  const loop = kv
    ? {
        setup: /* wgsl */ `
  var qFirst = 0u;
  if (CAUSAL) { qFirst = u32(max(i32(o0) - params.causalOffset, 0)) / BI; }
  let nQt = max((params.seqQ + BI - 1u) / BI, qFirst) - qFirst;
  let steps = nQt * params.groupSize;
  let blockCol = b * params.bmB + wg.x;`,
        first: blocks ? 'nextStep(blockCol, hk, qFirst, nQt, 0u, steps)' : '0u',
        next: blocks ? 'nextStep(blockCol, hk, qFirst, nQt, st + 1u, steps)' : 'st + 1u',
        place: (st: string) => `let h = hk * params.groupSize + ${st} / nQt;\n    let i0 = (qFirst + ${st} % nQt) * BI;`,
        full: blocks ? `blocks[blockCol + (hk * params.groupSize + st / nQt) * params.bmH + (qFirst + st % nQt) * params.bmRow] == 2u` : 'false',
        interior: `o0 + BO <= params.seqK && (!CAUSAL || i32(o0 + BO - 1u) <= i32(i0) + params.causalOffset)`,
      }
    : {
        setup: /* wgsl */ `
  var kvEnd = params.seqK;
  if (CAUSAL) { kvEnd = u32(clamp(i32(o0 + BO) + params.causalOffset, 0, i32(params.seqK))); }
  let steps = (kvEnd + BI - 1u) / BI;
  let blockRow = b * params.bmB + h * params.bmH + wg.x * params.bmRow;`,
        first: blocks ? 'nextTile(blockRow, 0u, steps)' : '0u',
        next: blocks ? 'nextTile(blockRow, st + 1u, steps)' : 'st + 1u',
        place: (st: string) => `let i0 = ${st} * BI;`,
        full: blocks ? 'blocks[blockRow + st] == 2u' : 'false',
        interior: `i0 + BI <= params.seqK && (!CAUSAL || i32(i0 + BI - 1u) <= i32(o0) + params.causalOffset)`,
      };
  const nextFns = !blocks
    ? ''
    : kv
      ? /* wgsl */ `// First step ≥ start whose (query head, Q tile) block is not empty, or end.
fn nextStep(col: u32, hk: u32, qFirst: u32, nQt: u32, start: u32, end: u32) -> u32 {
  var st = start;
  loop {
    if (st >= end) { break; }
    let h = hk * params.groupSize + st / nQt;
    if (blocks[col + h * params.bmH + (qFirst + st % nQt) * params.bmRow] != 0u) { break; }
    st++;
  }
  return st;
}`
      : NEXT_TILE;

  const fetchInner = (st: string) => `    {
      ${loop.place(st).replace(/\n\s*/g, '\n      ')}
      let qBase = b * params.qsb + h * params.qsh;
${mover.fetch('ra', ya, yBase[0]!, yStride[0]!, 'i0', yLimit)}
${mover.fetch('rb', yb, yBase[1]!, yStride[1]!, 'i0', yLimit)}${kv ? `
      // This invocation's share of the Q tile's row terms (rows past Nq or fully masked contribute nothing).
      lNext = ${NO_ROW};
      dNext = 0.0;
      if (tid < BI && i0 + tid < params.seqQ) {
        let row = (b * params.headsQ + h) * params.seqQ + i0 + tid;
        let l = lse[row];
        if (l > MASKED) { lNext = l * ${Math.LOG2E}; }
        dNext = dd[row];
      }` : ''}
    }`;

  const wgsl = /* wgsl */ `
${paramStruct('Params', BACKWARD_PARAMS)}
const TX = ${t.tx}u;
const TY = ${t.ty}u;
const RM = ${t.rm}u;
const NT = ${nt}u;
const BO = ${BO}u;
const BI = ${BI}u;
const D4 = ${d4}u;
const YROW = D4 + 1u;
const CAUSAL = ${causal};
const MASKED = ${MASKED};
${declareBindings(bindings)}
${v?.scoreFn ?? ''}
${cfg.scoreGradFn ?? ''}
${v?.maskFn ?? ''}
${nextFns}
${tg ? `${tg.fns}\n${FLUSH_GRAD}` : ''}

var<workgroup> Xa: array<vec4<f32>, ${BO * d4}>;
var<workgroup> Xb: array<vec4<f32>, ${BO * d4}>;
var<workgroup> Ya: array<vec4<f32>, ${BI * (d4 + (dsInY ? 0 : 1))}>;
var<workgroup> Yb: array<vec4<f32>, ${BI * (d4 + (dsInY ? 0 : 1))}>;
${dsInY ? '' : `var<workgroup> dSs: array<vec4<f32>, ${(BO * BI) / 4}>;`}
${kv ? `var<workgroup> Ps: array<vec4<f32>, ${(BO * BI) / 4}>;
var<workgroup> Ls: array<f32, ${BI}>;
var<workgroup> Dsh: array<f32, ${BI}>;` : ''}

@compute @workgroup_size(TX, TY, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let tx = lid.x;
  let ty = lid.y;
  let tid = ty * TX + tx;
  let b = wg.z;
  let o0 = wg.x * BO;
  ${kv ? 'let hk = wg.y;' : 'let h = wg.y;\n  let hk = h / params.groupSize;'}
  let kBase = b * params.ksb + hk * params.ksh;
  let vBase = b * params.vsb + hk * params.vsh;
  {
    ${kv ? '' : 'let qBase = b * params.qsb + h * params.qsh;'}
    for (var e = tid; e < BO * D4; e += NT) {
      let n = o0 + e / D4;
      var x = vec4<f32>(0.0);
      var y = vec4<f32>(0.0);
      if (n < ${xLimit}) {
        x = ${xa}[${xBase[0]} + n * ${xStride[0]} + e % D4];
        y = ${xb}[${xBase[1]} + n * ${xStride[1]} + e % D4];
      }
      Xa[e] = x;
      Xb[e] = y;
    }
  }
${kv ? '' : `  // Row terms of this invocation's rows: LSE·log2 e (rows past Nq or fully masked contribute nothing) and D.
  var lr: array<f32, ${t.rm}>;
  var dr: array<f32, ${t.rm}>;
${each(t.rm, (r) => `  {
    let n = ${outerIdx(r)};
    lr[${r}] = ${NO_ROW};
    dr[${r}] = 0.0;
    if (n < params.seqQ) {
      let row = (b * params.headsQ + h) * params.seqQ + n;
      if (lse[row] > MASKED) { lr[${r}] = lse[row] * ${Math.LOG2E}; }
      dr[${r}] = dd[row];
    }
  }`)}`}
  var acc1: array<vec4<f32>, ${t.rm * oc}>;
${kv ? `  var acc2: array<vec4<f32>, ${t.rm * oc}>;` : ''}
${loop.setup}
${tg ? `  var tgI = array<u32, ${tg.terms.length}>(${tg.terms.map(() => '0xffffffffu').join(', ')});\n  var tgA: array<f32, ${tg.terms.length}>;` : ''}
  var ra: array<vec4<f32>, ${mover.per}>;
  var rb: array<vec4<f32>, ${mover.per}>;
${kv ? `  var lNext = 0.0;\n  var dNext = 0.0;` : ''}
  var st = ${loop.first};
  if (st < steps) {
${fetchInner('st')}
  }
  loop {
    if (st >= steps) { break; }
    ${loop.place('st')}
    let stNext = ${loop.next};
    let full = ${loop.full};
    workgroupBarrier();
${mover.stage('ra', (r, c) => yAt('Ya', r, c))}
${mover.stage('rb', (r, c) => yAt('Yb', r, c))}
${kv ? '    if (tid < BI) { Ls[tid] = lNext; Dsh[tid] = dNext; }' : ''}
    workgroupBarrier();
    if (stNext < steps) {
${fetchInner('stNext')}
    }

    // S and dP for this invocation's RM outer × CN inner rows, one pass over the head dim.
    var sa = array<f32, ${t.rm * t.cn}>();
    var sb = array<f32, ${t.rm * t.cn}>();
    for (var d = 0u; d < D4; d++) {
${each(t.cn, (c) => `      let ya${c} = ${yAt('Ya', `tx + ${t.tx * c}u`, 'd')};\n      let yb${c} = ${yAt('Yb', `tx + ${t.tx * c}u`, 'd')};`)}
${each(t.rm, (r) => `      let xa${r} = Xa[(ty * RM + ${r}u) * D4 + d];\n      let xb${r} = Xb[(ty * RM + ${r}u) * D4 + d];`)}
${each(t.rm * t.cn, (i) => `      sa[${i}] = ${dot4(`xa${Math.floor(i / t.cn)}`, `ya${i % t.cn}`, `sa[${i}]`)};
      sb[${i}] = ${dot4(`xb${Math.floor(i / t.cn)}`, `yb${i % t.cn}`, `sb[${i}]`)};`)}
    }

    // P = exp(s − LSE) and dS = P (dP − D) score'(z); only ragged and causal-diagonal tiles need the mask.
${dsInY ? '    workgroupBarrier(); // every invocation is done reading V: dS goes into its tile\n' : ''}    if (${loop.interior}) {
${block(false)}
    } else {
${block(true)}
    }
    workgroupBarrier();

    // ${kv ? 'dK += dS·Q and dV += P·dO' : 'dQ += dS·K'} for RM outer rows × OC vec4 columns (columns tx + TX·c).
    for (var j4 = 0u; j4 < BI / 4u; j4++) {
${each(t.rm, (r) => `      let ds${r} = ${dsBuf}[(ty * RM + ${r}u) * (BI / 4u) + j4];${kv ? `\n      let p${r} = Ps[(ty * RM + ${r}u) * (BI / 4u) + j4];` : ''}`)}
${each(4, (jj) => each(oc, (c) => `      ${(c + 1) * t.tx <= d4 ? '' : `if (tx + ${t.tx * c}u < D4) `}{
        let ya = ${yAt('Ya', `j4 * 4u + ${jj}u`, `tx + ${t.tx * c}u`)};
${each(t.rm, (r) => `        acc1[${r * oc + c}] = fma(vec4<f32>(ds${r}.${'xyzw'[jj]}), ya, acc1[${r * oc + c}]);`)}${kv ? `
        let yb = ${yAt('Yb', `j4 * 4u + ${jj}u`, `tx + ${t.tx * c}u`)};
${each(t.rm, (r) => `        acc2[${r * oc + c}] = fma(vec4<f32>(p${r}.${'xyzw'[jj]}), yb, acc2[${r * oc + c}]);`)}` : ''}
      }`))}
    }
    st = stNext;
  }
${tg ? tg.terms.map((_, k) => `  flushGrad(tgI[${k}], tgA[${k}]);`).join('\n') : ''}

${each(t.rm, (r) => `  {
    let n = ${outerIdx(r)};
    if (n < ${xLimit}) {
${each(oc, (c) => {
  const col = `tx + ${t.tx * c}u`;
  const guard = (c + 1) * t.tx <= d4 ? '' : `if (${col} < D4) `;
  return kv
    ? `      ${guard}{
        dk[kBase + n * params.ksn + ${col}] = acc1[${r * oc + c}] * params.scale;
        dv[vBase + n * params.vsn + ${col}] = acc2[${r * oc + c}];
      }`
    : `      ${guard}{ dq[b * params.qsb + h * params.qsh + n * params.qsn + ${col}] = acc1[${r * oc + c}] * params.scale; }`;
})}
    }
  }`)}
}
`;
  return {
    label: `attention.backward.${pass}.${dsInY ? 'v3' : 'v2'} d${headDim}${causal ? ' causal' : ''}${v ? ' variant' : ''}${blocks ? ' blocks' : ''}${tg ? ' tablegrads' : ''} ${BO}x${BI} ${t.tx}x${t.ty}${dsInY ? ' dS-in-V' : ''}`,
    wgsl,
    workgroupSize: [t.tx, t.ty, 1],
    bindings,
    workgroupBytes: backwardWorkgroupBytes(headDim, t),
  };
}
